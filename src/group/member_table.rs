//! The group's member table, kept with its members: the assignor's
//! [`MemberTable`] (member ids in order, processes numbered), updated where a
//! member is added, moved to another process or removed
//! ([`GroupCore::put_member`](super::state::GroupCore::put_member),
//! [`StreamsGroup::drop_member`](super::state::StreamsGroup::drop_member)),
//! so that a target computation hands it to the assignor instead of having
//! it sort the members and intern their processes (src/group/assign.rs).
//!
//! Derived state like the ownership index: rebuilt by the record replay as
//! the members are. Shared behind an `Arc` between copies of the group (a
//! pre-image, the committed-state copy), copied at the first change of a
//! shared table: the strings are stored back to back, so a copy is a few
//! buffer copies, not one allocation per member.

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::assignor::{MemberSpec, MemberTable};

use super::member::Member;

/// The table of a group; `None` once an update failed (more member-id bytes
/// than the table indexes): target computations then go without it.
pub(super) type Slot = Option<Arc<MemberTable>>;

/// The table of a new group.
pub(super) fn new_slot() -> Slot {
    Some(Arc::new(MemberTable::new()))
}

/// The table of a group's members built at once (the end of a load, which
/// leaves the tables out while it replays: src/group/load.rs); `None` when
/// the members exceed the table's limits, as after a failed update.
pub(super) fn rebuilt(members: &BTreeMap<String, Arc<Member>>) -> Slot {
    MemberTable::from_members(
        members
            .values()
            .map(|m| (m.member_id.as_str(), &*m.process_id)),
    )
    .ok()
    .map(Arc::new)
}

/// `member_id` is in the group, in `process_id`.
pub(super) fn put(slot: &mut Slot, member_id: &str, process_id: &str) {
    let Some(table) = slot else {
        return;
    };
    if table
        .position(member_id)
        .is_some_and(|i| table.process_id(i) == process_id)
    {
        return;
    }
    if Arc::make_mut(table).put(member_id, process_id).is_err() {
        *slot = None;
    }
}

/// `member_id` left the group.
pub(super) fn remove(slot: &mut Slot, member_id: &str) {
    if let Some(table) = slot {
        if table.position(member_id).is_some() {
            Arc::make_mut(table).remove(member_id);
        }
    }
}

/// Walks the table along a target computation's members (ascending ids),
/// giving each member the table's strings when the table holds it with the
/// same process (then the assignor takes its order and process from the
/// table). A member the table does not hold yet (the joining member of the
/// request) or holds with another process keeps its own strings.
pub(super) struct Cursor<'t> {
    table: &'t MemberTable,
    next: usize,
}

impl<'t> Cursor<'t> {
    /// A cursor at the table's first member.
    pub(super) fn new(table: &'t MemberTable) -> Self {
        Cursor { table, next: 0 }
    }

    /// The member spec for the next member of the computation: the table's
    /// strings if it holds the member with this process, else its own.
    pub(super) fn spec<'a>(&mut self, member_id: &'a str, process_id: &'a str) -> MemberSpec<'a>
    where
        't: 'a,
    {
        let t = self.table;
        while self.next < t.len() {
            let i = self.next;
            // The usual case: the next table member, same process.
            if t.is_entry(i, member_id, process_id) {
                self.next += 1;
                return t.member_spec(i);
            }
            let id = t.member_id(i);
            if id == member_id {
                // Moved to another process: its own strings.
                self.next += 1;
                break;
            }
            if id > member_id {
                break;
            }
            // In the table, not in the computation (a replaced member).
            self.next += 1;
        }
        MemberSpec::new(member_id, process_id)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use crate::assignor::{AssignorRegistry, MemberTable};
    use crate::group::heartbeat_tests::ctx;
    use crate::group::{CoordinatorConfig, GroupCoordinator};
    use crate::protocol::heartbeat::{Subtopology, Topology};
    use crate::protocol::{StreamsGroupHeartbeatRequest, Uuid};
    use crate::topology::ClusterMetadata;

    fn join(member: &str, process: &str) -> StreamsGroupHeartbeatRequest {
        StreamsGroupHeartbeatRequest {
            group_id: "app".into(),
            member_id: member.into(),
            member_epoch: 0,
            rebalance_timeout_ms: 30000,
            process_id: Some(process.into()),
            topology: Some(Topology {
                epoch: 0,
                subtopologies: vec![Subtopology {
                    subtopology_id: "0".into(),
                    source_topics: vec!["input".into()],
                    ..Subtopology::default()
                }],
            }),
            active_tasks: Some(vec![]),
            standby_tasks: Some(vec![]),
            warmup_tasks: Some(vec![]),
            ..StreamsGroupHeartbeatRequest::default()
        }
    }

    /// The group's table, and one built from scratch over its members.
    fn tables(c: &GroupCoordinator) -> (MemberTable, MemberTable) {
        let g = &c.groups["app"];
        let kept = MemberTable::clone(g.member_table.as_deref().expect("a table"));
        let fresh = MemberTable::from_members(
            g.members
                .values()
                .map(|m| (m.member_id.as_str(), &*m.process_id)),
        )
        .expect("unique ids");
        (kept, fresh)
    }

    /// Joins, a move to another process, a leave: the kept table stays the
    /// members' table, live and after a replay of the records.
    #[test]
    fn the_table_follows_joins_moves_and_leaves_live_and_replayed() {
        let mut config = CoordinatorConfig::default();
        config
            .set("group.streams.initial.rebalance.delay.ms", "0")
            .expect("a valid setting");
        let registry = Arc::new(AssignorRegistry::default());
        let mut c = GroupCoordinator::new(config.clone(), Arc::clone(&registry));
        let metadata =
            Arc::new(ClusterMetadata::new().with_topic(Uuid::from_u64_pair(1, 1), "input", 8));
        c.update_metadata(Arc::clone(&metadata), 0);
        let mut records = Vec::new();
        let mut now = 0;
        let mut beat = |c: &mut GroupCoordinator, req: StreamsGroupHeartbeatRequest| {
            now += 10;
            let out = c.heartbeat(&ctx(now), req);
            assert_eq!(
                out.response.error_code, 0,
                "{:?}",
                out.response.error_message
            );
            records.extend(out.records);
        };
        for (m, p) in [("m3", "p-b"), ("m1", "p-a"), ("m2", "p-b"), ("m4", "p-c")] {
            beat(&mut c, join(m, p));
        }
        let (kept, fresh) = tables(&c);
        assert_eq!(kept, fresh);
        assert_eq!(kept.len(), 4);
        assert_eq!(kept.num_processes(), 3);
        // m1 comes back in another process (a restarted instance).
        beat(&mut c, join("m1", "p-d"));
        let epoch = c.groups["app"].members["m4"].member_epoch;
        beat(
            &mut c,
            StreamsGroupHeartbeatRequest {
                group_id: "app".into(),
                member_id: "m4".into(),
                member_epoch: -1,
                ..StreamsGroupHeartbeatRequest::default()
            },
        );
        assert!(epoch >= 0);
        let (kept, fresh) = tables(&c);
        assert_eq!(kept, fresh);
        assert_eq!(
            kept.iter().collect::<Vec<_>>(),
            [("m1", "p-d"), ("m2", "p-b"), ("m3", "p-b")]
        );
        let mut replayed = GroupCoordinator::new(config.clone(), Arc::clone(&registry));
        for r in &records {
            replayed.replay(r).expect("replayable");
        }
        assert_eq!(tables(&replayed).0, kept);
        // A load replays without the table and builds it at the end.
        let mut loaded = GroupCoordinator::new(config, registry);
        loaded.replay_all(&records).expect("replayable");
        assert_eq!(tables(&loaded).0, kept);
    }
}
