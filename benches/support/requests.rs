//! The requests the benches of the core send (`#[path]` module): one
//! context, one stateless topology, a join and a heartbeat reporting owned
//! tasks.
#![allow(dead_code)]

use streams_coordinator::group::RequestContext;
use streams_coordinator::protocol::heartbeat::{Subtopology, TaskIds, Topology};
use streams_coordinator::protocol::StreamsGroupHeartbeatRequest;

/// The context of a request at `now`.
pub fn ctx(now: i64) -> RequestContext {
    RequestContext {
        api_version: 1,
        client_id: "client".into(),
        client_host: "/10.0.0.1".into(),
        now_ms: now,
    }
}

/// One subtopology reading `topic`, no state.
pub fn stateless_topology(topic: &str) -> Topology {
    Topology {
        epoch: 0,
        subtopologies: vec![Subtopology {
            subtopology_id: "0".into(),
            source_topics: vec![topic.into()],
            ..Subtopology::default()
        }],
    }
}

/// The join of `member` (process `process`) to `group`, whose topology
/// reads `topic`.
pub fn join(group: &str, member: &str, process: &str, topic: &str) -> StreamsGroupHeartbeatRequest {
    StreamsGroupHeartbeatRequest {
        group_id: group.into(),
        member_id: member.into(),
        member_epoch: 0,
        rebalance_timeout_ms: 60_000,
        process_id: Some(process.into()),
        topology: Some(stateless_topology(topic)),
        active_tasks: Some(vec![]),
        standby_tasks: Some(vec![]),
        warmup_tasks: Some(vec![]),
        ..StreamsGroupHeartbeatRequest::default()
    }
}

/// A heartbeat of `member` at `epoch` reporting that it owns `active`.
pub fn owning(
    group: &str,
    member: &str,
    epoch: i32,
    active: Vec<TaskIds>,
) -> StreamsGroupHeartbeatRequest {
    StreamsGroupHeartbeatRequest {
        group_id: group.into(),
        member_id: member.into(),
        member_epoch: epoch,
        active_tasks: Some(active),
        standby_tasks: Some(vec![]),
        warmup_tasks: Some(vec![]),
        ..StreamsGroupHeartbeatRequest::default()
    }
}
