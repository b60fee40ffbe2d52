//! A heartbeat that fails in a late phase leaves the coordinator as it was
//! (issue 12 item 5): its records and every other change are applied only
//! on success.

use std::sync::Arc;

use super::{CoordinatorConfig, GroupCoordinator, RequestContext};
use crate::assignor::{
    AssignorError, AssignorRegistry, GroupAssignment, GroupSpec, TaskAssignor, TaskSpace,
};
use crate::protocol::heartbeat::{Endpoint, Subtopology, TaskOffset, TopicInfo, Topology};
use crate::protocol::{ErrorCode, StreamsGroupHeartbeatRequest, Uuid};
use crate::topology::ClusterMetadata;

/// An assignor that always fails, as a plug-in could.
struct Failing;

impl TaskAssignor for Failing {
    fn name(&self) -> &str {
        "failing"
    }
    fn assign<'a>(
        &self,
        _group: &GroupSpec<'a>,
        _space: &'a TaskSpace,
    ) -> Result<GroupAssignment<'a>, AssignorError> {
        Err(AssignorError::Failed {
            message: "out of luck".into(),
        })
    }
}

/// A request context at `now_ms` (also used by the member table's tests).
pub(super) fn ctx(now_ms: i64) -> RequestContext {
    RequestContext {
        api_version: 1,
        client_id: "client".into(),
        client_host: "/127.0.0.1".into(),
        now_ms,
    }
}

fn metadata(input_partitions: i32) -> Arc<ClusterMetadata> {
    Arc::new(
        ClusterMetadata::new()
            .with_topic(Uuid::from_u64_pair(1, 1), "input", input_partitions)
            .with_topic(
                Uuid::from_u64_pair(1, 2),
                "app-store-changelog",
                input_partitions,
            ),
    )
}

fn join(member: &str) -> StreamsGroupHeartbeatRequest {
    StreamsGroupHeartbeatRequest {
        group_id: "app".into(),
        member_id: member.into(),
        member_epoch: 0,
        rebalance_timeout_ms: 30000,
        process_id: Some(format!("process-{member}")),
        topology: Some(Topology {
            epoch: 0,
            subtopologies: vec![Subtopology {
                subtopology_id: "0".into(),
                source_topics: vec!["input".into()],
                state_changelog_topics: vec![TopicInfo {
                    name: "app-store-changelog".into(),
                    ..TopicInfo::default()
                }],
                ..Subtopology::default()
            }],
        }),
        active_tasks: Some(vec![]),
        standby_tasks: Some(vec![]),
        warmup_tasks: Some(vec![]),
        ..StreamsGroupHeartbeatRequest::default()
    }
}

fn offsets(partitions: i32, offset: i64) -> Option<Vec<TaskOffset>> {
    Some(
        (0..partitions)
            .map(|partition| TaskOffset {
                subtopology_id: "0".into(),
                partition,
                offset,
            })
            .collect(),
    )
}

/// Heartbeats every member until none writes a record.
fn settle(c: &mut GroupCoordinator, now: &mut i64) {
    for _ in 0..20 {
        let mut wrote = false;
        for id in ["m1", "m2"] {
            *now += 100;
            let epoch = c.groups["app"].members[id].member_epoch;
            let req = StreamsGroupHeartbeatRequest {
                group_id: "app".into(),
                member_id: id.into(),
                member_epoch: epoch,
                ..StreamsGroupHeartbeatRequest::default()
            };
            let out = c.heartbeat(&ctx(*now), req);
            assert_eq!(
                out.response.error_code, 0,
                "{:?}",
                out.response.error_message
            );
            wrote |= !out.records.is_empty();
        }
        if !wrote {
            return;
        }
    }
    panic!("the group did not settle");
}

/// The whole coordinator state, as text: groups (records' state and the
/// in-memory state), timers, counters, rebalance history, pre-images.
fn dump(c: &GroupCoordinator) -> String {
    format!(
        "{:#?}",
        (
            &c.groups,
            &c.group_configs,
            &c.foreign,
            &c.timers,
            c.rebalance_count,
            &c.rebalances,
            &c.commits,
        )
    )
}

#[test]
fn a_heartbeat_failing_in_its_assignor_phase_changes_nothing() {
    let mut registry = AssignorRegistry::default();
    registry.register(Arc::new(Failing)).expect("a new name");
    let mut config = CoordinatorConfig::default();
    config
        .set("group.streams.initial.rebalance.delay.ms", "0")
        .expect("a valid setting");
    config
        .set("group.streams.assignment.interval.ms", "0")
        .expect("a valid setting");
    let mut c = GroupCoordinator::new(config, Arc::new(registry));
    c.update_metadata(metadata(4), 0);
    let mut now = 0;
    for id in ["m1", "m2"] {
        now += 10;
        let out = c.heartbeat(&ctx(now), join(id));
        assert_eq!(
            out.response.error_code, 0,
            "{:?}",
            out.response.error_message
        );
    }
    settle(&mut c, &mut now);
    // From now on the group's assignor fails; the partition count of its input
    // changes, so the next heartbeat reconfigures the topology, bumps the
    // epoch and runs the assignor.
    c.update_group_config(
        "app",
        &[("streams.assignor.name".into(), "failing".into())],
        now,
    )
    .expect("a valid group config");
    c.update_metadata(metadata(6), now);
    c.track_commits();
    let before = dump(&c);
    let count = c.metrics().rebalance_count;
    let epoch = c.groups["app"].members["m1"].member_epoch;
    let req = StreamsGroupHeartbeatRequest {
        group_id: "app".into(),
        member_id: "m1".into(),
        member_epoch: epoch,
        rack_id: Some("rack-2".into()),
        user_endpoint: Some(Endpoint {
            host: "m1.example".into(),
            port: 8080,
        }),
        task_offsets: offsets(4, 10),
        task_end_offsets: offsets(4, 100),
        shutdown_application: true,
        ..StreamsGroupHeartbeatRequest::default()
    };
    let out = c.heartbeat(&ctx(now + 100), req);
    assert_eq!(out.response.error_code, ErrorCode::UNKNOWN_SERVER_ERROR.0);
    assert!(out.records.is_empty(), "a failed heartbeat wrote records");
    assert!(out.internal_topics.is_empty());
    assert_eq!(dump(&c), before, "a failed heartbeat changed the state");
    assert_eq!(c.metrics().rebalance_count, count);

    // The same heartbeat with a working assignor succeeds and does change it.
    c.update_group_config(
        "app",
        &[("streams.assignor.name".into(), "sticky".into())],
        now,
    )
    .expect("a valid group config");
    let req = StreamsGroupHeartbeatRequest {
        group_id: "app".into(),
        member_id: "m1".into(),
        member_epoch: epoch,
        task_offsets: offsets(4, 10),
        task_end_offsets: offsets(4, 100),
        ..StreamsGroupHeartbeatRequest::default()
    };
    let out = c.heartbeat(&ctx(now + 200), req);
    assert_eq!(
        out.response.error_code, 0,
        "{:?}",
        out.response.error_message
    );
    assert!(!out.records.is_empty());
    assert!(c.groups["app"].transient.task_offsets.contains_key("m1"));
}
