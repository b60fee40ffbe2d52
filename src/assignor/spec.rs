//! The assignor's input: the group (members, their current tasks and reported
//! offsets) and the assignment configs (spec 05 §2, §3).
//!
//! Everything is borrowed from the coordinator's own state: a [`GroupSpec`] is
//! a vector of small [`MemberSpec`] structs holding references, built in O(M)
//! for every target-assignment computation. Task and offset collections are
//! read through the [`TaskSource`] / [`OffsetSource`] traits, implemented here
//! for the usual map and list shapes, so the coordinator never converts its
//! state to hand it over. A spec may be built over a [`MemberTable`] the
//! caller keeps between computations ([`GroupSpec::with_table`]): the
//! members' order and process numbering then come from the table.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::fmt;
use std::hash::BuildHasher;

use super::{AssignorError, MemberTable};

/// A read-only set of tasks keyed by subtopology id (a member's current active,
/// standby or warm-up tasks).
///
/// `visit` calls `f` with a subtopology id and some of its partitions; a
/// subtopology may come in several calls. Partitions outside the task space are
/// ignored by the assignors.
pub trait TaskSource {
    /// Calls `f(subtopology_id, partitions)` for every group of tasks.
    fn visit(&self, f: &mut dyn FnMut(&str, &[i32]));
}

/// A read-only set of reported offset sums keyed by subtopology id and
/// partition (a member's `task_offsets` or `task_end_offsets`).
pub trait OffsetSource {
    /// Calls `f(subtopology_id, [(partition, offset_sum)])` for every group.
    fn visit(&self, f: &mut dyn FnMut(&str, &[PartitionOffset]));
}

/// One reported `(partition, offset sum)`.
pub type PartitionOffset = (i32, i64);

/// A member's client tags (`client.tag.<key>` of the Streams config).
pub trait ClientTags {
    /// The value of tag `key`, if the member has it.
    fn tag(&self, key: &str) -> Option<&str>;
}

/// A collection of partitions, the value side of a [`TaskSource`] map.
pub trait Partitions {
    /// Calls `f` with the partitions, in one or more slices.
    fn with_slices(&self, f: &mut dyn FnMut(&[i32]));

    /// The partitions as one slice, when they are stored contiguously (then
    /// a visit passes it on without going through [`Partitions::with_slices`]).
    fn as_slice(&self) -> Option<&[i32]> {
        None
    }
}

/// A collection of `(partition, offset)` pairs, the value side of an
/// [`OffsetSource`] map.
pub trait PartitionOffsets {
    /// Calls `f` with the pairs, in one or more slices.
    fn with_slices(&self, f: &mut dyn FnMut(&[PartitionOffset]));
}

/// Elements per slice when a container is not contiguous (small: the buffer is
/// initialised on every call, and most groups hold a few partitions).
const CHUNK: usize = 16;

fn chunked<T: Copy + Default, I: Iterator<Item = T>>(iter: I, f: &mut dyn FnMut(&[T])) {
    let mut buf = [T::default(); CHUNK];
    let mut n = 0;
    for x in iter {
        buf[n] = x;
        n += 1;
        if n == CHUNK {
            f(&buf);
            n = 0;
        }
    }
    if n > 0 {
        f(&buf[..n]);
    }
}

impl Partitions for [i32] {
    fn with_slices(&self, f: &mut dyn FnMut(&[i32])) {
        f(self)
    }
    fn as_slice(&self) -> Option<&[i32]> {
        Some(self)
    }
}
impl Partitions for Vec<i32> {
    fn with_slices(&self, f: &mut dyn FnMut(&[i32])) {
        f(self)
    }
    fn as_slice(&self) -> Option<&[i32]> {
        Some(self)
    }
}
impl Partitions for BTreeSet<i32> {
    fn with_slices(&self, f: &mut dyn FnMut(&[i32])) {
        // One or two partitions (common) without a tree iterator or a buffer.
        match self.len() {
            0 => {}
            1 => {
                if let Some(&p) = self.first() {
                    f(&[p])
                }
            }
            2 => {
                if let (Some(&a), Some(&b)) = (self.first(), self.last()) {
                    f(&[a, b])
                }
            }
            _ => chunked(self.iter().copied(), f),
        }
    }
}
impl<H: BuildHasher> Partitions for HashSet<i32, H> {
    fn with_slices(&self, f: &mut dyn FnMut(&[i32])) {
        chunked(self.iter().copied(), f)
    }
}

impl PartitionOffsets for [(i32, i64)] {
    fn with_slices(&self, f: &mut dyn FnMut(&[PartitionOffset])) {
        f(self)
    }
}
impl PartitionOffsets for Vec<(i32, i64)> {
    fn with_slices(&self, f: &mut dyn FnMut(&[PartitionOffset])) {
        f(self)
    }
}
impl PartitionOffsets for BTreeMap<i32, i64> {
    fn with_slices(&self, f: &mut dyn FnMut(&[PartitionOffset])) {
        // One or two reported tasks per subtopology (common: a task's owner
        // and a dormant copy) without a tree iterator or a buffer.
        match self.len() {
            0 => {}
            1 => {
                if let Some((&p, &o)) = self.first_key_value() {
                    f(&[(p, o)])
                }
            }
            2 => {
                if let (Some((&p, &o)), Some((&q, &r))) =
                    (self.first_key_value(), self.last_key_value())
                {
                    f(&[(p, o), (q, r)])
                }
            }
            _ => chunked(self.iter().map(|(&p, &o)| (p, o)), f),
        }
    }
}
impl<H: BuildHasher> PartitionOffsets for HashMap<i32, i64, H> {
    fn with_slices(&self, f: &mut dyn FnMut(&[PartitionOffset])) {
        chunked(self.iter().map(|(&p, &o)| (p, o)), f)
    }
}

/// The source with nothing in it that the assignors recognise without
/// calling it (by its address): [`MemberSpec::new`] sets every task and offset
/// source to it, and a caller whose member holds nothing of a kind should
/// leave it so (an empty map works too, at the cost of a call to visit it:
/// most members of a group have no standbys, no warm-ups and no reported
/// offsets, and an assignment call visits three sources per member).
pub static NOTHING: Nothing = Nothing { _byte: 0 };

/// The type of [`NOTHING`]: a [`TaskSource`], [`OffsetSource`] and
/// [`ClientTags`] with nothing in it. Not zero-sized, so that the static has
/// an address of its own.
#[derive(Debug)]
pub struct Nothing {
    _byte: u8,
}

impl TaskSource for Nothing {
    fn visit(&self, _: &mut dyn FnMut(&str, &[i32])) {}
}
impl OffsetSource for Nothing {
    fn visit(&self, _: &mut dyn FnMut(&str, &[PartitionOffset])) {}
}
impl ClientTags for Nothing {
    fn tag(&self, _: &str) -> Option<&str> {
        None
    }
}

/// Whether a task source is [`NOTHING`] (its address; any other source,
/// empty or not, is visited).
#[inline(always)]
pub(crate) fn is_nothing(source: &dyn TaskSource) -> bool {
    std::ptr::addr_eq(source, &NOTHING)
}

/// Whether an offset source is [`NOTHING`].
#[inline(always)]
pub(crate) fn is_no_offsets(source: &dyn OffsetSource) -> bool {
    std::ptr::addr_eq(source, &NOTHING)
}

/// The empty collection: `&()` is a [`TaskSource`], an [`OffsetSource`] and
/// [`ClientTags`] with nothing in it.
impl TaskSource for () {
    fn visit(&self, _: &mut dyn FnMut(&str, &[i32])) {}
}
impl OffsetSource for () {
    fn visit(&self, _: &mut dyn FnMut(&str, &[PartitionOffset])) {}
}
impl ClientTags for () {
    fn tag(&self, _: &str) -> Option<&str> {
        None
    }
}

/// Visits `(key, partitions)` pairs. Kept out of line so that the `visit` of
/// an empty map is a length check and a return (most members have no
/// standbys and most sources are empty: an assignment call visits three
/// sources per member).
#[inline(never)]
fn visit_tasks<'x, K: AsRef<str> + 'x, V: Partitions + ?Sized + 'x>(
    pairs: impl Iterator<Item = (&'x K, &'x V)>,
    f: &mut dyn FnMut(&str, &[i32]),
) {
    for (k, v) in pairs {
        visit_one(k.as_ref(), v, f);
    }
}

/// Visits one `(key, partitions)` pair: contiguous partitions go to `f`
/// directly, others through [`Partitions::with_slices`].
#[inline(always)]
fn visit_one<V: Partitions + ?Sized>(k: &str, v: &V, f: &mut dyn FnMut(&str, &[i32])) {
    match v.as_slice() {
        Some(ps) => f(k, ps),
        None => v.with_slices(&mut |ps| f(k, ps)),
    }
}

/// [`visit_tasks`] for offset sources.
#[inline(never)]
fn visit_offsets<'x, K: AsRef<str> + 'x, V: PartitionOffsets + ?Sized + 'x>(
    pairs: impl Iterator<Item = (&'x K, &'x V)>,
    f: &mut dyn FnMut(&str, &[PartitionOffset]),
) {
    for (k, v) in pairs {
        let k = k.as_ref();
        v.with_slices(&mut |ps| f(k, ps));
    }
}

impl<K: AsRef<str> + Ord, V: Partitions> TaskSource for BTreeMap<K, V> {
    fn visit(&self, f: &mut dyn FnMut(&str, &[i32])) {
        match self.len() {
            0 => {}
            // One subtopology (common: a member's tasks of one subtopology)
            // without setting up a tree iterator.
            1 => {
                if let Some((k, v)) = self.first_key_value() {
                    visit_one(k.as_ref(), v, f);
                }
            }
            _ => visit_tasks(self.iter(), f),
        }
    }
}
impl<K: AsRef<str>, V: Partitions> TaskSource for [(K, V)] {
    fn visit(&self, f: &mut dyn FnMut(&str, &[i32])) {
        if !self.is_empty() {
            visit_tasks(self.iter().map(|(k, v)| (k, v)), f)
        }
    }
}
impl<K: AsRef<str>, V: Partitions> TaskSource for Vec<(K, V)> {
    fn visit(&self, f: &mut dyn FnMut(&str, &[i32])) {
        self.as_slice().visit(f)
    }
}
impl<K: AsRef<str>, V: Partitions, H: BuildHasher> TaskSource for HashMap<K, V, H> {
    fn visit(&self, f: &mut dyn FnMut(&str, &[i32])) {
        if !self.is_empty() {
            visit_tasks(self.iter(), f)
        }
    }
}

impl<K: AsRef<str> + Ord, V: PartitionOffsets> OffsetSource for BTreeMap<K, V> {
    fn visit(&self, f: &mut dyn FnMut(&str, &[PartitionOffset])) {
        match self.len() {
            0 => {}
            1 => {
                if let Some((k, v)) = self.first_key_value() {
                    let k = k.as_ref();
                    v.with_slices(&mut |ps| f(k, ps));
                }
            }
            _ => visit_offsets(self.iter(), f),
        }
    }
}
impl<K: AsRef<str>, V: PartitionOffsets> OffsetSource for [(K, V)] {
    fn visit(&self, f: &mut dyn FnMut(&str, &[PartitionOffset])) {
        if !self.is_empty() {
            visit_offsets(self.iter().map(|(k, v)| (k, v)), f)
        }
    }
}
impl<K: AsRef<str>, V: PartitionOffsets> OffsetSource for Vec<(K, V)> {
    fn visit(&self, f: &mut dyn FnMut(&str, &[PartitionOffset])) {
        self.as_slice().visit(f)
    }
}
impl<K: AsRef<str>, V: PartitionOffsets, H: BuildHasher> OffsetSource for HashMap<K, V, H> {
    fn visit(&self, f: &mut dyn FnMut(&str, &[PartitionOffset])) {
        if !self.is_empty() {
            visit_offsets(self.iter(), f)
        }
    }
}

/// A flat list of `(subtopology id, partition, offset sum)`, the shape of the
/// heartbeat's `TaskOffsets` field.
impl<K: AsRef<str>> OffsetSource for [(K, i32, i64)] {
    fn visit(&self, f: &mut dyn FnMut(&str, &[PartitionOffset])) {
        for (k, p, o) in self {
            f(k.as_ref(), &[(*p, *o)]);
        }
    }
}
impl<K: AsRef<str>> OffsetSource for Vec<(K, i32, i64)> {
    fn visit(&self, f: &mut dyn FnMut(&str, &[PartitionOffset])) {
        self.as_slice().visit(f)
    }
}

impl<K: AsRef<str> + Ord + std::borrow::Borrow<str>, V: AsRef<str>> ClientTags for BTreeMap<K, V> {
    fn tag(&self, key: &str) -> Option<&str> {
        self.get(key).map(|v| v.as_ref())
    }
}
impl<K, V, H> ClientTags for HashMap<K, V, H>
where
    K: std::hash::Hash + Eq + std::borrow::Borrow<str>,
    V: AsRef<str>,
    H: BuildHasher,
{
    fn tag(&self, key: &str) -> Option<&str> {
        self.get(key).map(|v| v.as_ref())
    }
}
impl<K: AsRef<str>, V: AsRef<str>> ClientTags for [(K, V)] {
    fn tag(&self, key: &str) -> Option<&str> {
        self.iter()
            .find(|(k, _)| k.as_ref() == key)
            .map(|(_, v)| v.as_ref())
    }
}
impl<K: AsRef<str>, V: AsRef<str>> ClientTags for Vec<(K, V)> {
    fn tag(&self, key: &str) -> Option<&str> {
        self.as_slice().tag(key)
    }
}

/// One member of the group as the assignor sees it (Kafka's
/// `MemberMetadata` + `MemberAssignmentState`, spec 05 §2).
///
/// Build with [`MemberSpec::new`] and set the fields that apply; the defaults
/// are "nothing" (no tasks, no offsets, no tags).
#[derive(Clone, Copy)]
pub struct MemberSpec<'a> {
    /// The member id (unique in the group).
    pub member_id: &'a str,
    /// The process (Streams instance) the member belongs to.
    pub process_id: &'a str,
    /// The static-membership instance id, if any.
    pub instance_id: Option<&'a str>,
    /// The member's rack, if any.
    pub rack_id: Option<&'a str>,
    /// The member's client tags.
    pub client_tags: &'a dyn ClientTags,
    /// Active tasks the member currently owns (its current assignment).
    pub active_tasks: &'a dyn TaskSource,
    /// Standby tasks the member currently owns.
    pub standby_tasks: &'a dyn TaskSource,
    /// Warm-up tasks the member currently owns.
    pub warmup_tasks: &'a dyn TaskSource,
    /// The latest reported changelog offset sums per task (may include
    /// dormant tasks the member does not own).
    pub task_offsets: &'a dyn OffsetSource,
    /// The latest reported changelog end-offset sums per task.
    pub task_end_offsets: &'a dyn OffsetSource,
}

impl<'a> MemberSpec<'a> {
    /// A member with no tasks, offsets, tags, rack or instance id.
    pub fn new(member_id: &'a str, process_id: &'a str) -> Self {
        MemberSpec {
            member_id,
            process_id,
            instance_id: None,
            rack_id: None,
            client_tags: &NOTHING,
            active_tasks: &NOTHING,
            standby_tasks: &NOTHING,
            warmup_tasks: &NOTHING,
            task_offsets: &NOTHING,
            task_end_offsets: &NOTHING,
        }
    }
}

impl fmt::Debug for MemberSpec<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MemberSpec")
            .field("member_id", &self.member_id)
            .field("process_id", &self.process_id)
            .field("instance_id", &self.instance_id)
            .field("rack_id", &self.rack_id)
            .finish_non_exhaustive()
    }
}

/// The group handed to an assignor: its members (any order; ids unique) and
/// the assignment configs, optionally with the [`MemberTable`] the caller
/// keeps for the group.
#[derive(Clone, Debug)]
pub struct GroupSpec<'a> {
    /// Every current member of the group.
    pub members: Vec<MemberSpec<'a>>,
    /// The assignment configs in force for this computation.
    pub configs: &'a AssignmentConfigs,
    /// The kept membership the members were mostly taken from.
    table: Option<&'a MemberTable>,
}

impl<'a> GroupSpec<'a> {
    /// An empty group spec with room for `members` members.
    pub fn with_capacity(configs: &'a AssignmentConfigs, members: usize) -> Self {
        GroupSpec {
            members: Vec::with_capacity(members),
            configs,
            table: None,
        }
    }

    /// An empty group spec over a kept member table, with room for `members`
    /// members. Push the members in ascending id order; a member that is in
    /// the table with the same process should be pushed as
    /// [`MemberTable::member_spec`] (or with the table's strings otherwise),
    /// which lets the `sticky` assignors take the member order and process
    /// numbering from the table. Members not in the table, and table members
    /// left out, are allowed (a join or leave the table does not hold yet):
    /// a few cost a little each, many make the assignor compute the order and
    /// numbering itself, as without a table. The result never depends on the
    /// table, only on `members`.
    pub fn with_table(
        configs: &'a AssignmentConfigs,
        table: &'a MemberTable,
        members: usize,
    ) -> Self {
        GroupSpec {
            members: Vec::with_capacity(members),
            configs,
            table: Some(table),
        }
    }

    /// A group spec of every member of `table`, in its order, with no tasks
    /// or offsets yet (set them on `members[i]`, member `i` of the table).
    pub fn from_table(configs: &'a AssignmentConfigs, table: &'a MemberTable) -> Self {
        let mut g = GroupSpec::with_table(configs, table, table.len());
        g.members
            .extend((0..table.len()).map(|i| table.member_spec(i)));
        g
    }

    /// The member table the spec was built over, if any.
    pub fn table(&self) -> Option<&'a MemberTable> {
        self.table
    }

    /// The member with this id (Kafka's `memberMetadata` / `memberAssignmentState`).
    pub fn member(&self, member_id: &str) -> Result<&MemberSpec<'a>, AssignorError> {
        self.members
            .iter()
            .find(|m| m.member_id == member_id)
            .ok_or_else(|| AssignorError::UnknownMember {
                member_id: member_id.to_owned(),
            })
    }
}

/// Most members a group may hold: the one limit of the crate, enforced by the
/// coordinator at a join (`group::limits::MAX_MEMBERS`, whatever
/// `group.streams.max.size` says) and by the assignors on a group spec (it
/// bounds their dense `u32` indices).
pub const MAX_MEMBERS: usize = 1_000_000;

/// Largest `num.standby.replicas` the assignors accept.
///
/// Kafka bounds it by the broker's `group.streams.max.standby.replicas`
/// (default 2); this crate-wide cap only keeps the working memory bounded.
pub const MAX_STANDBY_REPLICAS: u32 = 64;

/// Largest number of `rack.aware.assignment.tags` entries.
pub const MAX_RACK_AWARE_TAGS: usize = 64;

/// The assignment configs (Kafka's `AssignmentConfigs`, spec 05 §3), parsed
/// from the assignment-config map stored with the group epoch.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AssignmentConfigs {
    /// `num.standby.replicas`: standby replicas per stateful task.
    pub num_standby_replicas: u32,
    /// `rack.aware.assignment.tags`: client-tag keys to spread standbys over.
    /// The `sticky` assignor ignores them (as trunk does); `sticky-rack-aware`
    /// uses them; the coordinator derives MISSING_CLIENT_TAGS from them.
    pub rack_aware_assignment_tags: Vec<String>,
}

impl AssignmentConfigs {
    /// Key of the standby count in the assignment-config map.
    pub const NUM_STANDBY_REPLICAS: &'static str = "num.standby.replicas";
    /// Key of the rack-aware tag list in the assignment-config map.
    pub const RACK_AWARE_ASSIGNMENT_TAGS: &'static str = "rack.aware.assignment.tags";

    /// Parses the assignment-config map (`{"num.standby.replicas": "1",
    /// "rack.aware.assignment.tags": "zone,cluster"}`). Absent keys take the
    /// defaults (0, no tags); unknown keys are ignored; the tag list is split
    /// on commas with surrounding blanks trimmed, and an empty value means no
    /// tags.
    pub fn from_map<'k, I>(entries: I) -> Result<Self, AssignorError>
    where
        I: IntoIterator<Item = (&'k str, &'k str)>,
    {
        let mut configs = AssignmentConfigs::default();
        for (key, value) in entries {
            match key {
                Self::NUM_STANDBY_REPLICAS => {
                    let n: i64 = value
                        .trim()
                        .parse()
                        .map_err(|_| invalid(key, value, "not an integer"))?;
                    if n < 0 {
                        return Err(invalid(key, value, "must be at least 0"));
                    }
                    if n > i64::from(MAX_STANDBY_REPLICAS) {
                        return Err(invalid(key, value, "above the crate's limit of 64"));
                    }
                    configs.num_standby_replicas = n as u32;
                }
                Self::RACK_AWARE_ASSIGNMENT_TAGS => {
                    configs.rack_aware_assignment_tags = split_tags(value);
                    if configs.rack_aware_assignment_tags.len() > MAX_RACK_AWARE_TAGS {
                        return Err(invalid(key, value, "more than 64 tags"));
                    }
                }
                _ => {}
            }
        }
        Ok(configs)
    }

    /// The assignment-config map: `num.standby.replicas` always, the tag list
    /// only when non-empty (spec 05 §3).
    pub fn to_map(&self) -> BTreeMap<String, String> {
        let mut map = BTreeMap::new();
        map.insert(
            Self::NUM_STANDBY_REPLICAS.to_owned(),
            self.num_standby_replicas.to_string(),
        );
        if !self.rack_aware_assignment_tags.is_empty() {
            map.insert(
                Self::RACK_AWARE_ASSIGNMENT_TAGS.to_owned(),
                self.rack_aware_assignment_tags.join(","),
            );
        }
        map
    }
}

fn invalid(name: &str, value: &str, reason: &'static str) -> AssignorError {
    AssignorError::InvalidConfig {
        name: name.to_owned(),
        value: value.to_owned(),
        reason,
    }
}

/// Splits a tag list the way Kafka does (`trim`, then split on `\s*,\s*`);
/// an empty or blank value is no tags.
pub fn split_tags(value: &str) -> Vec<String> {
    let value = value.trim();
    if value.is_empty() {
        return Vec::new();
    }
    value.split(',').map(|t| t.trim().to_owned()).collect()
}

/// The required tag keys a member lacks, in the order of `required`
/// (input to the MISSING_CLIENT_TAGS status, spec 02).
pub fn missing_client_tags<'r>(required: &'r [String], tags: &dyn ClientTags) -> Vec<&'r str> {
    required
        .iter()
        .filter(|k| tags.tag(k).is_none())
        .map(|k| k.as_str())
        .collect()
}

/// Kafka's MISSING_CLIENT_TAGS status detail for a member lacking `missing`
/// (`None` when nothing is missing):
/// `Missing required client tags for rack-aware standby assignment: [a, b]. Configure them via 'client.tag.<tagKey>' in your Streams config.`
pub fn missing_client_tags_detail(missing: &[&str]) -> Option<String> {
    if missing.is_empty() {
        return None;
    }
    Some(format!(
        "Missing required client tags for rack-aware standby assignment: [{}]. \
         Configure them via 'client.tag.<tagKey>' in your Streams config.",
        missing.join(", ")
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn configs_round_trip_and_defaults() {
        let c = AssignmentConfigs::from_map([]).unwrap();
        assert_eq!(c, AssignmentConfigs::default());
        let c = AssignmentConfigs::from_map([
            ("num.standby.replicas", "2"),
            ("rack.aware.assignment.tags", " zone , cluster"),
        ])
        .unwrap();
        assert_eq!(c.num_standby_replicas, 2);
        assert_eq!(c.rack_aware_assignment_tags, ["zone", "cluster"]);
        let map = c.to_map();
        assert_eq!(map["rack.aware.assignment.tags"], "zone,cluster");
        let pairs: Vec<(&str, &str)> = map.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        assert_eq!(AssignmentConfigs::from_map(pairs).unwrap(), c);
        assert!(AssignmentConfigs::from_map([("num.standby.replicas", "-1")]).is_err());
        assert!(AssignmentConfigs::from_map([("num.standby.replicas", "x")]).is_err());
        let c = AssignmentConfigs::from_map([("rack.aware.assignment.tags", "")]).unwrap();
        assert!(c.rack_aware_assignment_tags.is_empty());
        assert_eq!(AssignmentConfigs::default().to_map().len(), 1);
    }

    #[test]
    fn missing_tags() {
        let required = vec!["zone".to_owned(), "cluster".to_owned()];
        let tags: BTreeMap<String, String> = [("zone".to_owned(), "a".to_owned())].into();
        let missing = missing_client_tags(&required, &tags);
        assert_eq!(missing, ["cluster"]);
        assert_eq!(
            missing_client_tags_detail(&missing).unwrap(),
            "Missing required client tags for rack-aware standby assignment: [cluster]. \
             Configure them via 'client.tag.<tagKey>' in your Streams config."
        );
        assert!(missing_client_tags_detail(&missing_client_tags(
            &required,
            &vec![("zone", "a"), ("cluster", "b")]
        ))
        .is_none());
    }

    #[test]
    fn sources_visit_everything() {
        let mut seen = Vec::new();
        let m: BTreeMap<String, BTreeSet<i32>> = [("a".to_owned(), (0..300).collect())].into();
        m.visit(&mut |s, ps| seen.extend(ps.iter().map(|&p| (s.to_owned(), p))));
        assert_eq!(seen.len(), 300);
        let two: BTreeMap<String, BTreeMap<i32, i64>> =
            [("a".to_owned(), [(3, 30), (1, 10)].into())].into();
        let mut pairs = Vec::new();
        two.visit(&mut |s, ps| pairs.extend(ps.iter().map(|&po| (s.to_owned(), po))));
        assert_eq!(
            pairs,
            [("a".to_owned(), (1, 10)), ("a".to_owned(), (3, 30))]
        );
        let two: BTreeMap<&str, BTreeSet<i32>> = [("b", [7, 2].into())].into();
        let mut parts = Vec::new();
        two.visit(&mut |_, ps| parts.extend_from_slice(ps));
        assert_eq!(parts, [2, 7]);
        let flat = vec![("a", 1, 10i64), ("b", 2, 20)];
        let mut got = Vec::new();
        flat.visit(&mut |s, ps| got.push((s.to_owned(), ps.to_vec())));
        assert_eq!(
            got,
            [
                ("a".to_owned(), vec![(1, 10)]),
                ("b".to_owned(), vec![(2, 20)])
            ]
        );
    }
}
