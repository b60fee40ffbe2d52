//! Helpers shared by the core integration tests (tests/core_*.rs).
#![allow(dead_code)]

use std::sync::Arc;

use streams_coordinator::assignor::AssignorRegistry;
use streams_coordinator::group::{CoordinatorConfig, GroupCoordinator, Output, RequestContext};
use streams_coordinator::protocol::heartbeat::{Subtopology, TaskIds, TopicInfo, Topology};
use streams_coordinator::protocol::{
    CoordinatorRecord, StreamsGroupDescribeRequest, StreamsGroupHeartbeatRequest,
    StreamsGroupHeartbeatResponse, Uuid,
};
use streams_coordinator::topology::ClusterMetadata;

/// A coordinator with immediate assignment (no initial delay, no interval).
pub fn coordinator(extra: &[(&str, &str)]) -> GroupCoordinator {
    let mut config = CoordinatorConfig::default();
    config
        .set("group.streams.initial.rebalance.delay.ms", "0")
        .unwrap();
    config
        .set("group.streams.assignment.interval.ms", "0")
        .unwrap();
    for (k, v) in extra {
        config.set(k, v).unwrap();
    }
    GroupCoordinator::new(config, Arc::new(AssignorRegistry::default()))
}

/// Cluster metadata with the given topics.
pub fn metadata(topics: &[(&str, i32)]) -> Arc<ClusterMetadata> {
    let mut m = ClusterMetadata::new();
    for (i, (name, parts)) in topics.iter().enumerate() {
        m = m.with_topic(Uuid::from_u64_pair(1, i as u64 + 1), *name, *parts);
    }
    Arc::new(m)
}

/// A one-subtopology stateless topology reading `source`.
pub fn simple_topology(source: &str) -> Topology {
    Topology {
        epoch: 0,
        subtopologies: vec![Subtopology {
            subtopology_id: "0".into(),
            source_topics: vec![source.into()],
            ..Subtopology::default()
        }],
    }
}

/// A one-subtopology stateful topology reading `source` with changelog `changelog`.
pub fn stateful_topology(source: &str, changelog: &str) -> Topology {
    Topology {
        epoch: 0,
        subtopologies: vec![Subtopology {
            subtopology_id: "0".into(),
            source_topics: vec![source.into()],
            state_changelog_topics: vec![TopicInfo {
                name: changelog.into(),
                ..TopicInfo::default()
            }],
            ..Subtopology::default()
        }],
    }
}

pub fn ctx(now: i64) -> RequestContext {
    RequestContext {
        api_version: 1,
        client_id: "client".into(),
        client_host: "/127.0.0.1".into(),
        now_ms: now,
    }
}

pub fn join(group: &str, member: &str, topology: Topology) -> StreamsGroupHeartbeatRequest {
    StreamsGroupHeartbeatRequest {
        group_id: group.into(),
        member_id: member.into(),
        member_epoch: 0,
        rebalance_timeout_ms: 30000,
        process_id: Some(format!("process-{member}")),
        topology: Some(topology),
        active_tasks: Some(vec![]),
        standby_tasks: Some(vec![]),
        warmup_tasks: Some(vec![]),
        ..StreamsGroupHeartbeatRequest::default()
    }
}

pub fn beat(group: &str, member: &str, epoch: i32) -> StreamsGroupHeartbeatRequest {
    StreamsGroupHeartbeatRequest {
        group_id: group.into(),
        member_id: member.into(),
        member_epoch: epoch,
        ..StreamsGroupHeartbeatRequest::default()
    }
}

/// A heartbeat reporting owned tasks.
pub fn beat_owning(
    group: &str,
    member: &str,
    epoch: i32,
    active: Vec<TaskIds>,
) -> StreamsGroupHeartbeatRequest {
    StreamsGroupHeartbeatRequest {
        active_tasks: Some(active),
        standby_tasks: Some(vec![]),
        warmup_tasks: Some(vec![]),
        ..beat(group, member, epoch)
    }
}

pub fn tasks(sub: &str, parts: &[i32]) -> Vec<TaskIds> {
    vec![TaskIds {
        subtopology_id: sub.into(),
        partitions: parts.to_vec(),
    }]
}

/// Record type names, tombstones with a leading `-` (spec 08's form).
pub fn names(records: &[CoordinatorRecord]) -> Vec<String> {
    records
        .iter()
        .map(|r| {
            let n = r.key.type_name();
            if r.value.is_none() {
                format!("-{n}")
            } else {
                n.to_string()
            }
        })
        .collect()
}

/// Replays `log` into a fresh coordinator and checks that describing `group`
/// gives the same answer as `live` except for the fields that are not persisted.
pub fn assert_replay_matches(live: &GroupCoordinator, log: &[CoordinatorRecord], group: &str) {
    let mut rebuilt = coordinator(&[]);
    for r in log {
        rebuilt.replay(r).unwrap();
    }
    let req = StreamsGroupDescribeRequest {
        group_ids: vec![group.into()],
        ..Default::default()
    };
    let mut a = live.describe(&ctx(0), &req);
    let mut b = rebuilt.describe(&ctx(0), &req);
    for g in a.groups.iter_mut().chain(b.groups.iter_mut()) {
        streams_coordinator::group::clear_not_persisted(g);
    }
    assert_eq!(a, b, "replayed state differs from the live state");
}

/// Runs a heartbeat, appends its records to `log`, returns the response.
pub fn hb(
    c: &mut GroupCoordinator,
    log: &mut Vec<CoordinatorRecord>,
    now: i64,
    req: StreamsGroupHeartbeatRequest,
) -> Output<StreamsGroupHeartbeatResponse> {
    let out = c.heartbeat(&ctx(now), req);
    log.extend(out.records.iter().cloned());
    out
}
