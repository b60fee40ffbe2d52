//! Task sets: the value types the state machine moves between members.
//!
//! A task is `(subtopology id, partition)`. A set keeps its subtopologies in
//! one boxed slice sorted by id (ascending as strings), each entry with its
//! partitions ascending in one boxed slice, followed for active tasks by their
//! assignment epochs in the same order. Iteration follows that order, which is
//! also the order records and responses carry them in. An empty subtopology
//! entry is never stored, so two sets holding the same tasks compare equal.
//!
//! Why not a `BTreeMap<String, BTreeSet<i32>>`: a B-tree allocates a whole
//! node (11 slots) for its first entry, so a member's tasks of one subtopology
//! took a 544-byte leaf before any partition, and every member holds several
//! such sets (issue 14 item 2). Here a set of one subtopology is two
//! allocations: the entry and its partitions. Subtopology ids are shared
//! `Arc<str>`s: a group interns them once ([`SubIds`]), so its sets hold a
//! pointer each, not a copy of the id.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use crate::assignor::{TaskList, TaskSource};

/// A subtopology id, shared by the sets that name it.
pub(super) type SubId = Arc<str>;

/// The subtopology ids of a group, each allocated once and shared by its
/// sets. Grows with the ids its sets name (those of its topology).
#[derive(Clone, Debug, Default)]
pub(super) struct SubIds {
    /// Ascending.
    ids: Vec<SubId>,
}

impl SubIds {
    /// The shared id equal to `s`, made on first use.
    pub(super) fn get(&mut self, s: &str) -> SubId {
        match self.ids.binary_search_by(|x| (**x).cmp(s)) {
            Ok(i) => self.ids[i].clone(),
            Err(i) => {
                let id: SubId = Arc::from(s);
                self.ids.insert(i, id.clone());
                id
            }
        }
    }
}

/// One subtopology of a set.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Entry {
    id: SubId,
    /// The partitions ascending (never none), then for active tasks their
    /// epochs in the same order.
    data: Box<[i32]>,
}

impl Entry {
    /// The partitions of an entry of a plain set.
    fn parts(&self) -> &[i32] {
        &self.data
    }

    /// The partitions and the epochs of an entry of an active set.
    fn parts_epochs(&self) -> (&[i32], &[i32]) {
        self.data.split_at(self.data.len() / 2)
    }
}

/// The entry of `s` in `entries` (sorted by id): its index, or where it goes.
fn position(entries: &[Entry], s: &str) -> Result<usize, usize> {
    entries.binary_search_by(|e| (*e.id).cmp(s))
}

/// Walks the ids of two sets together, ascending, each id once.
fn merged_ids<'a>(a: &'a [Entry], b: &'a [Entry]) -> Vec<&'a SubId> {
    let mut out = Vec::with_capacity(a.len().max(b.len()));
    let (mut i, mut j) = (0, 0);
    loop {
        match (a.get(i), b.get(j)) {
            (Some(x), Some(y)) => match x.id.cmp(&y.id) {
                std::cmp::Ordering::Less => {
                    out.push(&x.id);
                    i += 1;
                }
                std::cmp::Ordering::Greater => {
                    out.push(&y.id);
                    j += 1;
                }
                std::cmp::Ordering::Equal => {
                    out.push(&x.id);
                    i += 1;
                    j += 1;
                }
            },
            (Some(x), None) => {
                out.push(&x.id);
                i += 1;
            }
            (None, Some(y)) => {
                out.push(&y.id);
                j += 1;
            }
            (None, None) => return out,
        }
    }
}

/// The subtopology ids of an active set and a plain set, ascending, each once.
pub(super) fn merged_ids_of<'a>(a: &'a ActiveTasks, b: &'a TaskSet) -> Vec<&'a SubId> {
    merged_ids(&a.0, &b.0)
}

/// The subtopology ids of two sets, ascending, each once.
pub(super) fn merged_set_ids<'a>(a: &'a TaskSet, b: &'a TaskSet) -> Vec<&'a SubId> {
    merged_ids(&a.0, &b.0)
}

/// True when two ascending slices share an element.
fn share_any(a: &[i32], b: &[i32]) -> bool {
    let (mut i, mut j) = (0, 0);
    while let (Some(x), Some(y)) = (a.get(i), b.get(j)) {
        match x.cmp(y) {
            std::cmp::Ordering::Less => i += 1,
            std::cmp::Ordering::Greater => j += 1,
            std::cmp::Ordering::Equal => return true,
        }
    }
    false
}

/// The elements of ascending `a` not in ascending `b`.
pub(super) fn count_missing(a: &[i32], b: &[i32]) -> usize {
    a.iter().filter(|p| b.binary_search(p).is_err()).count()
}

/// Partitions per subtopology, without epochs (standby / warm-up tasks,
/// targets, owned tasks reported by a member).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(super) struct TaskSet(Box<[Entry]>);

/// Active tasks with their per-task assignment epoch (spec 03 §1): the epoch
/// at which the task was granted.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(super) struct ActiveTasks(Box<[Entry]>);

/// Builds a [`TaskSet`] from subtopologies given in ascending id order.
#[derive(Debug, Default)]
pub(super) struct SetBuilder(Vec<Entry>);

impl SetBuilder {
    /// Adds subtopology `id` (after every id added before) with `parts`
    /// (ascending, no duplicates); nothing when `parts` is empty.
    pub(super) fn push(&mut self, id: &SubId, parts: &[i32]) {
        debug_assert!(self.0.last().is_none_or(|e| e.id < *id), "ids ascending");
        debug_assert!(
            parts.windows(2).all(|w| w[0] < w[1]),
            "partitions ascending"
        );
        if !parts.is_empty() {
            self.0.push(Entry {
                id: id.clone(),
                data: parts.into(),
            });
        }
    }

    /// The set.
    pub(super) fn build(self) -> TaskSet {
        TaskSet(self.0.into_boxed_slice())
    }
}

/// Builds an [`ActiveTasks`] from subtopologies given in ascending id order.
#[derive(Debug, Default)]
pub(super) struct ActiveBuilder(Vec<Entry>);

impl ActiveBuilder {
    /// Adds subtopology `id` (after every id added before) with its
    /// `(partition, epoch)` pairs (partitions ascending, no duplicates);
    /// nothing when there are none.
    pub(super) fn push(&mut self, id: &SubId, pairs: &[(i32, i32)]) {
        debug_assert!(self.0.last().is_none_or(|e| e.id < *id), "ids ascending");
        debug_assert!(
            pairs.windows(2).all(|w| w[0].0 < w[1].0),
            "partitions ascending"
        );
        if pairs.is_empty() {
            return;
        }
        let mut data = Vec::with_capacity(2 * pairs.len());
        data.extend(pairs.iter().map(|&(p, _)| p));
        data.extend(pairs.iter().map(|&(_, e)| e));
        self.0.push(Entry {
            id: id.clone(),
            data: data.into_boxed_slice(),
        });
    }

    /// The set.
    pub(super) fn build(self) -> ActiveTasks {
        ActiveTasks(self.0.into_boxed_slice())
    }
}

impl TaskSet {
    /// True when the set holds no task.
    pub(super) fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Number of tasks.
    pub(super) fn len(&self) -> usize {
        self.0.iter().map(|e| e.data.len()).sum()
    }

    /// The subtopologies ascending, each with its partitions ascending.
    pub(super) fn iter(&self) -> impl Iterator<Item = (&SubId, &[i32])> + Clone + '_ {
        self.0.iter().map(|e| (&e.id, e.parts()))
    }

    /// The partitions of subtopology `s` (ascending), if it has any.
    pub(super) fn get(&self, s: &str) -> Option<&[i32]> {
        position(&self.0, s).ok().map(|i| self.0[i].parts())
    }

    /// True when the set holds `(s, p)`.
    pub(super) fn contains(&self, s: &str, p: i32) -> bool {
        self.get(s).is_some_and(|ps| ps.binary_search(&p).is_ok())
    }

    /// Adds a task; false when it was there already.
    pub(super) fn insert(&mut self, s: &SubId, p: i32) -> bool {
        match position(&self.0, s) {
            Ok(i) => {
                let e = &mut self.0[i];
                let Err(at) = e.data.binary_search(&p) else {
                    return false;
                };
                let mut data = Vec::with_capacity(e.data.len() + 1);
                data.extend_from_slice(&e.data[..at]);
                data.push(p);
                data.extend_from_slice(&e.data[at..]);
                e.data = data.into_boxed_slice();
            }
            Err(i) => {
                let mut entries = std::mem::take(&mut self.0).into_vec();
                entries.insert(
                    i,
                    Entry {
                        id: s.clone(),
                        data: Box::new([p]),
                    },
                );
                self.0 = entries.into_boxed_slice();
            }
        }
        true
    }

    /// Removes a task, dropping the subtopology entry when it empties; false
    /// when it was not there.
    pub(super) fn remove(&mut self, s: &str, p: i32) -> bool {
        let Ok(i) = position(&self.0, s) else {
            return false;
        };
        let e = &mut self.0[i];
        let Ok(at) = e.data.binary_search(&p) else {
            return false;
        };
        if e.data.len() == 1 {
            let mut entries = std::mem::take(&mut self.0).into_vec();
            entries.remove(i);
            self.0 = entries.into_boxed_slice();
        } else {
            let mut data = e.data.to_vec();
            data.remove(at);
            e.data = data.into_boxed_slice();
        }
        true
    }

    /// True when the two sets share a task.
    pub(super) fn intersects(&self, other: &TaskSet) -> bool {
        self.iter()
            .any(|(s, pa)| other.get(s).is_some_and(|pb| share_any(pa, pb)))
    }

    /// The tasks of either set.
    pub(super) fn union(&self, other: &TaskSet) -> TaskSet {
        if other.is_empty() {
            return self.clone();
        }
        if self.is_empty() {
            return other.clone();
        }
        let mut b = SetBuilder::default();
        let mut parts = Vec::new();
        for s in merged_ids(&self.0, &other.0) {
            parts.clear();
            let (a, o) = (self.get(s).unwrap_or(&[]), other.get(s).unwrap_or(&[]));
            parts.extend_from_slice(a);
            parts.extend_from_slice(o);
            parts.sort_unstable();
            parts.dedup();
            b.push(s, &parts);
        }
        b.build()
    }

    /// The set from task lists in any order (duplicates collapse); ids
    /// interned in `ids`. Lists come sorted from our own records and
    /// responses: then the set is built straight from them.
    pub(super) fn from_lists<'x>(
        lists: impl Iterator<Item = (&'x str, &'x [i32])> + Clone,
        ids: &mut SubIds,
    ) -> TaskSet {
        let sorted = {
            let mut last: Option<&str> = None;
            lists.clone().filter(|(_, p)| !p.is_empty()).all(|(s, p)| {
                let ok = last.is_none_or(|l| l < s) && p.windows(2).all(|w| w[0] < w[1]);
                last = Some(s);
                ok
            })
        };
        let mut b = SetBuilder::default();
        if sorted {
            for (s, p) in lists {
                if !p.is_empty() {
                    b.push(&ids.get(s), p);
                }
            }
        } else {
            let mut map: BTreeMap<&str, BTreeSet<i32>> = BTreeMap::new();
            for (s, p) in lists {
                if !p.is_empty() {
                    map.entry(s).or_default().extend(p.iter().copied());
                }
            }
            for (s, p) in map {
                let p: Vec<i32> = p.into_iter().collect();
                b.push(&ids.get(s), &p);
            }
        }
        b.build()
    }

    /// The tasks of an assignor's task list; ids interned in `ids`.
    pub(super) fn from_task_list(list: &TaskList<'_>, ids: &mut SubIds) -> TaskSet {
        let mut entries: Vec<Entry> = list
            .by_subtopology()
            .map(|g| Entry {
                id: ids.get(g.subtopology_id),
                data: g.partitions().collect(),
            })
            .filter(|e| !e.data.is_empty())
            .collect();
        // The list groups by the task space's subtopology order; a set is
        // ordered by id.
        if !entries.windows(2).all(|w| w[0].id < w[1].id) {
            entries.sort_unstable_by(|a, b| a.id.cmp(&b.id));
        }
        TaskSet(entries.into_boxed_slice())
    }

    /// The set as a `subtopology -> partitions` map.
    pub(super) fn to_map(&self) -> BTreeMap<String, BTreeSet<i32>> {
        self.iter()
            .map(|(s, p)| (String::from(&**s), p.iter().copied().collect()))
            .collect()
    }
}

impl ActiveTasks {
    /// True when no task is held.
    pub(super) fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The subtopologies ascending, each with its partitions ascending and
    /// their epochs in the same order.
    pub(super) fn iter(&self) -> impl Iterator<Item = (&SubId, &[i32], &[i32])> + '_ {
        self.0.iter().map(|e| {
            let (p, ep) = e.parts_epochs();
            (&e.id, p, ep)
        })
    }

    /// The partitions (ascending) and their epochs of subtopology `s`.
    pub(super) fn get(&self, s: &str) -> Option<(&[i32], &[i32])> {
        position(&self.0, s).ok().map(|i| self.0[i].parts_epochs())
    }

    /// The partitions of subtopology `s` (ascending), if it has any.
    pub(super) fn partitions_of(&self, s: &str) -> Option<&[i32]> {
        self.get(s).map(|(p, _)| p)
    }

    /// True when `(s, p)` is held.
    pub(super) fn contains(&self, s: &str, p: i32) -> bool {
        self.partitions_of(s)
            .is_some_and(|ps| ps.binary_search(&p).is_ok())
    }

    /// The epoch at which `(s, p)` was granted, if it is held.
    pub(super) fn epoch(&self, s: &str, p: i32) -> Option<i32> {
        let (ps, es) = self.get(s)?;
        ps.binary_search(&p).ok().and_then(|i| es.get(i).copied())
    }

    /// The same tasks without their epochs.
    pub(super) fn partitions(&self) -> TaskSet {
        TaskSet(
            self.0
                .iter()
                .map(|e| Entry {
                    id: e.id.clone(),
                    data: e.parts_epochs().0.into(),
                })
                .collect(),
        )
    }

    /// True when both hold the same tasks (epochs ignored).
    pub(super) fn same_tasks(&self, other: &ActiveTasks) -> bool {
        self.0.len() == other.0.len()
            && self
                .0
                .iter()
                .zip(other.0.iter())
                .all(|(a, b)| a.id == b.id && a.parts_epochs().0 == b.parts_epochs().0)
    }

    /// The same tasks, every one stamped with `epoch`.
    pub(super) fn with_epoch(&self, epoch: i32) -> ActiveTasks {
        let mut out = self.clone();
        for e in out.0.iter_mut() {
            let n = e.data.len() / 2;
            for x in e.data[n..].iter_mut() {
                *x = epoch;
            }
        }
        out
    }

    /// The tasks of both; a task of `other` keeps `other`'s epoch.
    pub(super) fn union(&self, other: &ActiveTasks) -> ActiveTasks {
        if other.is_empty() {
            return self.clone();
        }
        if self.is_empty() {
            return other.clone();
        }
        let mut b = ActiveBuilder::default();
        let mut pairs: Vec<(i32, i32)> = Vec::new();
        for s in merged_ids(&self.0, &other.0) {
            pairs.clear();
            let (op, oe) = other.get(s).unwrap_or((&[], &[]));
            if let Some((sp, se)) = self.get(s) {
                pairs.extend(
                    sp.iter()
                        .zip(se)
                        .filter(|(p, _)| op.binary_search(p).is_err())
                        .map(|(&p, &e)| (p, e)),
                );
            }
            pairs.extend(op.iter().zip(oe).map(|(&p, &e)| (p, e)));
            pairs.sort_unstable_by_key(|&(p, _)| p);
            b.push(s, &pairs);
        }
        b.build()
    }

    /// The active tasks of record entries `(subtopology, partitions,
    /// epochs)` in any order; a later stamp of a partition wins. Ids interned
    /// in `ids`.
    pub(super) fn from_lists<'x>(
        lists: impl Iterator<Item = (&'x str, &'x [i32], Option<&'x [i32]>)> + Clone,
        default_epoch: i32,
        ids: &mut SubIds,
    ) -> ActiveTasks {
        let stamp = |epochs: Option<&[i32]>, i: usize| {
            epochs
                .and_then(|e| e.get(i).copied())
                .unwrap_or(default_epoch)
        };
        let sorted = {
            let mut last: Option<&str> = None;
            lists
                .clone()
                .filter(|(_, p, _)| !p.is_empty())
                .all(|(s, p, _)| {
                    let ok = last.is_none_or(|l| l < s) && p.windows(2).all(|w| w[0] < w[1]);
                    last = Some(s);
                    ok
                })
        };
        let mut b = ActiveBuilder::default();
        if sorted {
            let mut pairs: Vec<(i32, i32)> = Vec::new();
            for (s, p, e) in lists {
                if p.is_empty() {
                    continue;
                }
                pairs.clear();
                pairs.extend(p.iter().enumerate().map(|(i, &p)| (p, stamp(e, i))));
                b.push(&ids.get(s), &pairs);
            }
        } else {
            let mut map: BTreeMap<&str, BTreeMap<i32, i32>> = BTreeMap::new();
            for (s, p, e) in lists {
                if p.is_empty() {
                    continue;
                }
                let parts = map.entry(s).or_default();
                for (i, &p) in p.iter().enumerate() {
                    parts.insert(p, stamp(e, i));
                }
            }
            for (s, parts) in map {
                let pairs: Vec<(i32, i32)> = parts.into_iter().collect();
                b.push(&ids.get(s), &pairs);
            }
        }
        b.build()
    }
}

/// The assignor reads a member's tasks straight from the set: one call per
/// subtopology with its partitions.
impl TaskSource for TaskSet {
    fn visit(&self, f: &mut dyn FnMut(&str, &[i32])) {
        for e in self.0.iter() {
            f(&e.id, e.parts());
        }
    }
}

/// Active tasks as plain task ids (epochs left out).
impl TaskSource for ActiveTasks {
    fn visit(&self, f: &mut dyn FnMut(&str, &[i32])) {
        for e in self.0.iter() {
            f(&e.id, e.parts_epochs().0);
        }
    }
}

/// Active, standby and warm-up task sets without epochs (a target assignment,
/// or the tasks a member reports it owns).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(super) struct Tasks {
    /// Active tasks.
    pub(super) active: TaskSet,
    /// Standby tasks.
    pub(super) standby: TaskSet,
    /// Warm-up tasks.
    pub(super) warmup: TaskSet,
}

/// Active tasks with assignment epochs, standby and warm-up task sets (a
/// member's assigned tasks or tasks pending revocation).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(super) struct TasksWithEpochs {
    /// Active tasks and their assignment epochs.
    pub(super) active: ActiveTasks,
    /// Standby tasks.
    pub(super) standby: TaskSet,
    /// Warm-up tasks.
    pub(super) warmup: TaskSet,
}

impl Tasks {
    /// True when no role holds any task.
    pub(super) fn is_empty(&self) -> bool {
        self.active.is_empty() && self.standby.is_empty() && self.warmup.is_empty()
    }

    /// True when this tuple holds any task of `other`, role by role.
    pub(super) fn contains_any(&self, other: &TasksWithEpochs) -> bool {
        self.active.iter().any(|(s, pa)| {
            other
                .active
                .partitions_of(s)
                .is_some_and(|pb| share_any(pa, pb))
        }) || self.standby.intersects(&other.standby)
            || self.warmup.intersects(&other.warmup)
    }
}

impl TasksWithEpochs {
    /// True when no role holds any task.
    pub(super) fn is_empty(&self) -> bool {
        self.active.is_empty() && self.standby.is_empty() && self.warmup.is_empty()
    }

    /// The same tasks without the active-task epochs.
    pub(super) fn without_epochs(&self) -> Tasks {
        Tasks {
            active: self.active.partitions(),
            standby: self.standby.clone(),
            warmup: self.warmup.clone(),
        }
    }

    /// True when both hold the same tasks in every role (epochs ignored).
    pub(super) fn same_tasks(&self, other: &TasksWithEpochs) -> bool {
        self.standby == other.standby
            && self.warmup == other.warmup
            && self.active.same_tasks(&other.active)
    }
}

/// Test-only constructors.
#[cfg(test)]
pub(super) mod build {
    use super::*;

    /// A set of `(subtopology, partitions)` in any order.
    pub(crate) fn set(entries: &[(&str, &[i32])]) -> TaskSet {
        TaskSet::from_lists(
            entries.iter().map(|(s, p)| (*s, *p)),
            &mut SubIds::default(),
        )
    }

    /// Active tasks of `(subtopology, partitions)`, every one at `epoch`.
    pub(crate) fn active(entries: &[(&str, &[i32])], epoch: i32) -> ActiveTasks {
        ActiveTasks::from_lists(
            entries.iter().map(|(s, p)| (*s, *p, None)),
            epoch,
            &mut SubIds::default(),
        )
    }

    /// Active tasks of `(subtopology, partition, epoch)` in any order.
    pub(crate) fn active_stamped(entries: &[(&str, i32, i32)]) -> ActiveTasks {
        let lists: Vec<(&str, [i32; 1], [i32; 1])> =
            entries.iter().map(|(s, p, e)| (*s, [*p], [*e])).collect();
        ActiveTasks::from_lists(
            lists.iter().map(|(s, p, e)| (*s, &p[..], Some(&e[..]))),
            0,
            &mut SubIds::default(),
        )
    }

    /// Adds `(s, p)` to a set.
    pub(crate) fn add(set: &mut TaskSet, s: &str, p: i32) {
        set.insert(&Arc::from(s), p);
    }

    /// Adds the active task `(s, p)` granted at `epoch` (a stamp it had is replaced).
    pub(crate) fn add_active(set: &mut ActiveTasks, s: &str, p: i32, epoch: i32) {
        *set = set.union(&active_stamped(&[(s, p, epoch)]));
    }

    /// The tasks of `set`, all active at `epoch`.
    pub(crate) fn stamped(set: &TaskSet, epoch: i32) -> ActiveTasks {
        ActiveTasks::from_lists(
            set.iter().map(|(s, p)| (&**s, p, None)),
            epoch,
            &mut SubIds::default(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::build::*;
    use super::*;

    #[test]
    fn remove_drops_empty_subtopology() {
        let mut s = set(&[("a", &[1])]);
        assert!(s.remove("a", 1));
        assert!(s.is_empty());
        assert_eq!(s, TaskSet::default());
        assert!(!s.remove("a", 1));
    }

    #[test]
    fn insert_and_remove_keep_the_order() {
        let mut s = set(&[("b", &[1, 5])]);
        let a: SubId = Arc::from("a");
        let b: SubId = Arc::from("b");
        assert!(s.insert(&b, 3));
        assert!(!s.insert(&b, 3));
        assert!(s.insert(&a, 9));
        assert_eq!(s, set(&[("a", &[9]), ("b", &[1, 3, 5])]));
        assert!(s.remove("b", 1));
        assert_eq!(s, set(&[("b", &[3, 5]), ("a", &[9])]));
        assert_eq!(s.len(), 3);
        assert!(s.contains("b", 5) && !s.contains("b", 1) && !s.contains("c", 5));
    }

    #[test]
    fn lists_in_any_order_give_the_sorted_set() {
        let s = set(&[("b", &[5, 1, 5]), ("a", &[2]), ("b", &[3]), ("c", &[])]);
        let got: Vec<(String, Vec<i32>)> =
            s.iter().map(|(s, p)| (s.to_string(), p.to_vec())).collect();
        assert_eq!(
            got,
            vec![("a".into(), vec![2]), ("b".into(), vec![1, 3, 5])]
        );
        // Ids order as strings: "10" before "9".
        let s = set(&[("9", &[0]), ("10", &[0])]);
        let ids: Vec<&str> = s.iter().map(|(s, _)| &**s).collect();
        assert_eq!(ids, ["10", "9"]);
    }

    #[test]
    fn unions_and_epochs() {
        let a = active(&[("a", &[1, 2])], 5);
        let g = active(&[("a", &[2, 3]), ("b", &[0])], 7);
        let u = a.union(&g);
        assert_eq!(u.epoch("a", 1), Some(5));
        assert_eq!(u.epoch("a", 2), Some(7), "the other side's stamp wins");
        assert_eq!(u.epoch("a", 3), Some(7));
        assert_eq!(u.epoch("b", 0), Some(7));
        assert_eq!(u.partitions().len(), 4);
        assert!(u.same_tasks(&active(&[("a", &[1, 2, 3]), ("b", &[0])], 0)));
        assert_eq!(
            u.with_epoch(0),
            active(&[("a", &[1, 2, 3]), ("b", &[0])], 0)
        );
        assert_eq!(
            set(&[("a", &[1])]).union(&set(&[("a", &[0, 1]), ("c", &[4])])),
            set(&[("a", &[0, 1]), ("c", &[4])])
        );
        assert_eq!(
            active_stamped(&[("a", 3, 1), ("a", 1, 2), ("a", 3, 9)]),
            ActiveTasks::from_lists(
                [("a", &[1, 3][..], Some(&[2, 9][..]))].into_iter(),
                0,
                &mut SubIds::default()
            ),
            "a later stamp wins"
        );
    }

    #[test]
    fn contains_any_compares_role_by_role() {
        let t = TasksWithEpochs {
            active: active_stamped(&[("a", 1, 5), ("a", 2, 7)]),
            ..TasksWithEpochs::default()
        };
        let plain = Tasks {
            active: set(&[("a", &[2, 3])]),
            ..Tasks::default()
        };
        assert!(plain.contains_any(&t));
        let standby = Tasks {
            standby: set(&[("a", &[1, 2])]),
            ..Tasks::default()
        };
        assert!(!standby.contains_any(&t));
        assert_eq!(t.without_epochs().active, set(&[("a", &[1, 2])]));
    }

    #[test]
    fn interned_ids_are_shared() {
        let mut ids = SubIds::default();
        let a = TaskSet::from_lists([("x", &[1][..])].into_iter(), &mut ids);
        let b = TaskSet::from_lists([("x", &[2][..])].into_iter(), &mut ids);
        let (ia, _) = a.iter().next().expect("one entry");
        let (ib, _) = b.iter().next().expect("one entry");
        assert!(Arc::ptr_eq(ia, ib));
    }
}
