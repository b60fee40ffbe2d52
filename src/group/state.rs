//! A streams group: the state rebuilt from its records, the derived indexes,
//! and the few in-memory-only fields (spec 06 §4.1).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use super::member::{Member, MemberState};
use super::member_table;
use super::ownership::Ownership;
use super::stored_configs::StoredAssignmentConfigs;
use super::tasks::{SubIds, Tasks, TasksWithEpochs};
use crate::assignor::{AssignorError, TaskSpace};
use crate::topology::{ConfiguredTopology, StreamsTopology};

/// The state of a streams group (spec 02 §13).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum GroupState {
    /// No members.
    Empty,
    /// No topology, or the topology is not configured for the cluster.
    NotReady,
    /// The group epoch is ahead of the target assignment.
    Assigning,
    /// Some member has not reached the target assignment.
    Reconciling,
    /// Every member is reconciled to the target assignment.
    Stable,
    /// Never entered (a deleted group is removed); listed for filters and metrics.
    Dead,
}

impl GroupState {
    /// The name used by describe and list ("Empty", "NotReady", ...).
    pub fn name(self) -> &'static str {
        match self {
            GroupState::Empty => "Empty",
            GroupState::NotReady => "NotReady",
            GroupState::Assigning => "Assigning",
            GroupState::Reconciling => "Reconciling",
            GroupState::Stable => "Stable",
            GroupState::Dead => "Dead",
        }
    }

    /// The lower-case form list filters compare with ("not_ready", ...).
    pub fn lower_name(self) -> &'static str {
        match self {
            GroupState::Empty => "empty",
            GroupState::NotReady => "not_ready",
            GroupState::Assigning => "assigning",
            GroupState::Reconciling => "reconciling",
            GroupState::Stable => "stable",
            GroupState::Dead => "dead",
        }
    }

    /// Every state, in declaration order.
    pub const ALL: [GroupState; 6] = [
        GroupState::Empty,
        GroupState::NotReady,
        GroupState::Assigning,
        GroupState::Reconciling,
        GroupState::Stable,
        GroupState::Dead,
    ];

    /// The state a ListGroups filter entry names, by Kafka's rule: the entry
    /// is lower-cased and trimmed (Java's `trim`: characters up to U+0020),
    /// then compared with the [lower-case names](Self::lower_name). So
    /// `" Stable "` and `"NOT_READY"` name a state, `"NotReady"` does not
    /// (it lower-cases to `notready`); `None` for a name no streams group
    /// state has.
    pub fn from_filter_name(name: &str) -> Option<GroupState> {
        let name = name.to_lowercase();
        let name = name.trim_matches(|c: char| c <= ' ');
        GroupState::ALL.into_iter().find(|s| s.lower_name() == name)
    }
}

/// The state filter of a ListGroups request, for streams groups.
///
/// Parse the request's `StatesFilter` strings with
/// [`from_names`](Self::from_names) at the edge; the coordinator and the
/// service only see the typed filter.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum StateFilter {
    /// No filter (an empty `StatesFilter`): every group.
    #[default]
    Any,
    /// The groups in one of these states. An empty set lists nothing: a
    /// filter naming only states no streams group has (another group type's
    /// `PreparingRebalance`, a typo) matches no streams group, as in Kafka.
    Only(BTreeSet<GroupState>),
}

impl StateFilter {
    /// The filter of a request's `StatesFilter` entries (Kafka's rules, see
    /// [`GroupState::from_filter_name`]): no entries is [`Any`](Self::Any);
    /// otherwise the states named, names of no streams group state ignored.
    pub fn from_names<I, S>(names: I) -> StateFilter
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let mut names = names.into_iter().peekable();
        if names.peek().is_none() {
            return StateFilter::Any;
        }
        StateFilter::Only(
            names
                .filter_map(|n| GroupState::from_filter_name(n.as_ref()))
                .collect(),
        )
    }

    /// True when a group in `state` passes the filter.
    pub fn matches(&self, state: GroupState) -> bool {
        match self {
            StateFilter::Any => true,
            StateFilter::Only(states) => states.contains(&state),
        }
    }
}

/// Offsets a member last reported (in memory only).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(super) struct MemberOffsets {
    /// Changelog offset sums per task: subtopology -> partition -> offset sum.
    pub(super) offsets: BTreeMap<String, BTreeMap<i32, i64>>,
    /// Changelog end-offset sums per task.
    pub(super) end_offsets: BTreeMap<String, BTreeMap<i32, i64>>,
}

/// The task offsets of a group's members as one heartbeat sees them: the
/// stored ones, with the requesting member's new report laid over them (it
/// is stored only if the heartbeat succeeds).
#[derive(Clone, Copy, Debug)]
pub(super) struct OffsetsView<'a> {
    stored: &'a BTreeMap<String, MemberOffsets>,
    pending: Option<(&'a str, &'a MemberOffsets)>,
}

impl<'a> OffsetsView<'a> {
    /// The stored offsets, with `pending` (member id, its report) over them.
    pub(super) fn new(
        stored: &'a BTreeMap<String, MemberOffsets>,
        pending: Option<(&'a str, &'a MemberOffsets)>,
    ) -> Self {
        OffsetsView { stored, pending }
    }

    /// The offsets `member_id` reported last.
    pub(super) fn get(&self, member_id: &str) -> Option<&'a MemberOffsets> {
        match self.pending {
            Some((id, o)) if id == member_id => Some(o),
            _ => self.stored.get(member_id),
        }
    }
}

impl<'a> From<&'a BTreeMap<String, MemberOffsets>> for OffsetsView<'a> {
    fn from(stored: &'a BTreeMap<String, MemberOffsets>) -> Self {
        OffsetsView::new(stored, None)
    }
}

/// The state of a group that its records define, plus the ownership index
/// derived from it.
#[derive(Clone, Debug)]
pub(super) struct GroupCore {
    /// Group id.
    pub(super) group_id: String,
    // ---- persisted (group-metadata record) ----
    /// Group epoch.
    pub(super) group_epoch: i32,
    /// Metadata hash of the required topics.
    pub(super) metadata_hash: i64,
    /// Topology epoch found valid against the cluster, −1 if not ready.
    pub(super) validated_topology_epoch: i32,
    /// Assignment configuration used for the last epoch bump.
    pub(super) last_assignment_configs: StoredAssignmentConfigs,
    /// Topology-description plugin bookkeeping (carried over unchanged).
    pub(super) stored_description_epoch: i32,
    /// Topology-description plugin bookkeeping (carried over unchanged).
    pub(super) failed_description_epoch: i32,
    // ---- persisted (topology record) ----
    /// The group topology (a verbatim copy of the topology record).
    pub(super) topology: Option<Arc<StreamsTopology>>,
    // ---- persisted (member records) ----
    /// Members by id.
    pub(super) members: BTreeMap<String, Arc<Member>>,
    /// Instance id -> member id of static members.
    pub(super) static_members: BTreeMap<String, String>,
    /// Target assignment per member.
    pub(super) targets: BTreeMap<String, Arc<Tasks>>,
    // ---- persisted (target-assignment metadata record) ----
    /// Epoch of the target assignment.
    pub(super) assignment_epoch: i32,
    /// Time at which the target assignment was computed (0 = unknown).
    pub(super) assignment_timestamp: i64,
    // ---- derived from the above ----
    /// Who owns which task (spec 03 §2).
    pub(super) owners: Ownership,
    /// The members' ids and processes as the assignor indexes them
    /// (src/group/member_table.rs).
    pub(super) member_table: member_table::Slot,
    /// The subtopology ids the group's task sets share (src/group/tasks.rs).
    pub(super) sub_ids: SubIds,
}

/// A topology configured against the cluster metadata, with the assignor's task space derived
/// from it. The space is built once, with the configured topology, and dropped with it: every
/// target computation of this configuration shares it instead of re-interning the subtopology
/// ids. Derived state, in memory only like the configured topology itself (a rebuilt coordinator
/// recomputes both at the group's next heartbeat).
#[derive(Debug)]
pub(super) struct Configured {
    topology: ConfiguredTopology,
    /// `None` while the topology is not ready; the error of an unbuildable space is kept, so
    /// every computation of this configuration fails the same way.
    space: Option<Result<TaskSpace, AssignorError>>,
}

impl Configured {
    /// Wraps a configured topology, building its task space when it is ready.
    pub(super) fn new(topology: ConfiguredTopology) -> Self {
        let space = topology.is_ready().then(|| {
            TaskSpace::new(
                topology
                    .task_counts()
                    .map(|(id, n, stateful)| (id, u32::try_from(n).unwrap_or(0), stateful)),
            )
        });
        Configured { topology, space }
    }

    /// The configured topology.
    pub(super) fn topology(&self) -> &ConfiguredTopology {
        &self.topology
    }

    /// The task space of a ready topology (`None` when not ready), or why it cannot be built.
    pub(super) fn task_space(&self) -> Option<Result<&TaskSpace, AssignorError>> {
        self.space
            .as_ref()
            .map(|r| r.as_ref().map_err(Clone::clone))
    }
}

impl std::ops::Deref for Configured {
    type Target = ConfiguredTopology;
    fn deref(&self) -> &ConfiguredTopology {
        &self.topology
    }
}

/// What a group holds in memory only (spec 06 §4.1).
#[derive(Clone, Debug, Default)]
pub(super) struct Transient {
    /// The topology configured against the cluster metadata, with its task space.
    pub(super) configured: Option<Arc<Configured>>,
    /// Metadata refresh deadline `(time, group epoch)`.
    pub(super) refresh_deadline: (i64, i32),
    /// Task offsets members reported.
    pub(super) task_offsets: BTreeMap<String, MemberOffsets>,
    /// Endpoint-information epoch.
    pub(super) endpoint_epoch: i32,
    /// The last partitions-by-endpoint answer, shared by the responses until
    /// a record changes the group (src/group/endpoints.rs).
    pub(super) endpoints: Option<Arc<super::endpoints::EndpointCache>>,
    /// Member that requested an application shutdown.
    pub(super) shutdown_requested_by: Option<String>,
    /// The warm-up refinement of the current assignment epoch, frozen for that
    /// epoch (derived again after a rebuild; src/group/warmup.rs).
    pub(super) refined: Option<Arc<super::warmup::EpochRefinement>>,
    /// A required topic whose metadata changed since the hash was last computed.
    pub(super) changed_topic: Option<String>,
}

/// One streams group: its recorded state and its in-memory-only state.
#[derive(Clone, Debug)]
pub(super) struct StreamsGroup {
    /// State defined by the records.
    pub(super) core: GroupCore,
    /// State held in memory only.
    pub(super) transient: Transient,
}

impl StreamsGroup {
    /// A copy that shares no member with `self`: records change members in
    /// place (copy-on-write), so a shallow copy would make each side copy
    /// every member at its first change. Targets are replaced whole by
    /// records, never changed in place, so they stay shared.
    pub(super) fn unshared_copy(&self) -> StreamsGroup {
        let mut copy = self.clone();
        for m in copy.core.members.values_mut() {
            *m = Arc::new(Member::clone(m));
        }
        copy
    }

    /// The group, about to be changed by a record: what is derived from its
    /// members in memory only (the endpoint answer) is dropped.
    pub(super) fn changed(&mut self) -> &mut Self {
        self.transient.endpoints = None;
        self
    }
}

impl std::ops::Deref for StreamsGroup {
    type Target = GroupCore;
    fn deref(&self) -> &GroupCore {
        &self.core
    }
}

impl std::ops::DerefMut for StreamsGroup {
    fn deref_mut(&mut self) -> &mut GroupCore {
        &mut self.core
    }
}

impl StreamsGroup {
    /// A new, empty group with the defaults of spec 02 §3.
    pub(super) fn new(group_id: &str) -> Self {
        StreamsGroup {
            core: GroupCore {
                group_id: group_id.to_string(),
                group_epoch: 1,
                metadata_hash: 0,
                validated_topology_epoch: -1,
                last_assignment_configs: StoredAssignmentConfigs::default(),
                stored_description_epoch: -1,
                failed_description_epoch: -1,
                topology: None,
                members: BTreeMap::new(),
                static_members: BTreeMap::new(),
                targets: BTreeMap::new(),
                assignment_epoch: 1,
                assignment_timestamp: 0,
                owners: Ownership::default(),
                member_table: member_table::new_slot(),
                sub_ids: SubIds::default(),
            },
            transient: Transient::default(),
        }
    }
}

impl GroupCore {
    /// The group state derived from persisted state (spec 02 §13).
    pub(super) fn state(&self) -> GroupState {
        if self.members.is_empty() {
            return GroupState::Empty;
        }
        match &self.topology {
            None => return GroupState::NotReady,
            Some(t) if t.epoch() != self.validated_topology_epoch => return GroupState::NotReady,
            _ => {}
        }
        if self.group_epoch > self.assignment_epoch {
            return GroupState::Assigning;
        }
        if self
            .members
            .values()
            .any(|m| !m.is_reconciled_to(self.assignment_epoch))
        {
            return GroupState::Reconciling;
        }
        GroupState::Stable
    }

    /// Member registered for a static instance id.
    pub(super) fn static_member(&self, instance_id: &str) -> Option<&Member> {
        self.static_members
            .get(instance_id)
            .and_then(|id| self.members.get(id))
            .map(|m| &**m)
    }

    /// Sets a member's reconciliation state in place, keeping the ownership
    /// index in step (untouched when the owned tasks do not change).
    pub(super) fn set_assignment(
        &mut self,
        member_id: &str,
        epoch: i32,
        previous_epoch: i32,
        state: MemberState,
        assigned: TasksWithEpochs,
        pending: TasksWithEpochs,
    ) {
        let Some(m) = self.members.get_mut(member_id) else {
            return;
        };
        // Copies the member only if a pre-image shares it.
        let m = Arc::make_mut(m);
        let same_tasks =
            m.assigned.same_tasks(&assigned) && m.pending_revocation.same_tasks(&pending);
        if !same_tasks {
            self.owners.remove(m);
        }
        m.member_epoch = epoch;
        m.previous_member_epoch = previous_epoch;
        m.state = state;
        m.assigned = assigned;
        m.pending_revocation = pending;
        if !same_tasks {
            self.owners.add(m);
        }
    }

    /// Replaces a member (assignment fields included), keeping the ownership
    /// index and the static index in step.
    pub(super) fn put_member(&mut self, member: Member) {
        if let Some(old) = self.members.get(&member.member_id) {
            self.owners.remove(old);
            if let Some(old_instance) = &old.instance_id {
                if member.instance_id.as_ref() != Some(old_instance)
                    && self.static_members.get(old_instance) == Some(&member.member_id)
                {
                    self.static_members.remove(old_instance);
                }
            }
        }
        self.owners.add(&member);
        member_table::put(
            &mut self.member_table,
            &member.member_id,
            &member.process_id,
        );
        if let Some(instance) = &member.instance_id {
            self.static_members
                .insert(instance.clone(), member.member_id.clone());
        }
        self.members
            .insert(member.member_id.clone(), Arc::new(member));
    }
}

impl StreamsGroup {
    /// Removes a member and everything derived from it.
    pub(super) fn drop_member(&mut self, member_id: &str) {
        if let Some(old) = self.members.remove(member_id) {
            self.owners.remove(&old);
            member_table::remove(&mut self.member_table, member_id);
            if let Some(instance) = &old.instance_id {
                if self.static_members.get(instance).map(String::as_str) == Some(member_id) {
                    self.static_members.remove(instance);
                }
            }
        }
        self.transient.task_offsets.remove(member_id);
        if self.members.is_empty() {
            self.transient.shutdown_requested_by = None;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::heartbeat::{Subtopology, Topology};
    use crate::protocol::Uuid;
    use crate::topology::{configure, ClusterMetadata};

    fn configured(partitions: Option<i32>) -> Configured {
        let topology = StreamsTopology::new(Topology {
            epoch: 0,
            subtopologies: vec![Subtopology {
                subtopology_id: "0".into(),
                source_topics: vec!["input".into()],
                ..Subtopology::default()
            }],
        })
        .expect("valid topology");
        let mut metadata = ClusterMetadata::new();
        if let Some(n) = partitions {
            metadata = metadata.with_topic(Uuid::from_u64_pair(1, 1), "input", n);
        }
        Configured::new(configure(&topology, &metadata).expect("configurable"))
    }

    #[test]
    fn the_task_space_is_built_with_a_ready_topology_and_follows_its_task_counts() {
        let c = configured(Some(3));
        assert!(c.is_ready());
        let space = c.task_space().expect("ready").expect("buildable");
        assert_eq!(space.total_tasks(), 3);
        assert_eq!(
            configured(Some(5))
                .task_space()
                .map(|s| s.map(|s| s.total_tasks())),
            Some(Ok(5))
        );
    }

    #[test]
    fn a_topology_that_is_not_ready_has_no_task_space() {
        let c = configured(None);
        assert!(!c.is_ready());
        assert!(c.task_space().is_none());
    }
}
