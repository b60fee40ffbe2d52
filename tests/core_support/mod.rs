//! Helpers shared by the core integration tests (tests/core_*.rs, and the
//! observability and shard tests): requests, metadata, and the coordinator
//! driven on the project harness ([`Harness`]: the pure shard on a simulated
//! clock over an in-memory log, the one driver loop of the deterministic
//! runs). The helpers only shape the harness's answers as the core's
//! [`Output`], so that a test reads as a sequence of core calls.
//!
//! The harness answers reads at the latest state ([`Reads::Latest`]): these
//! tests pin the core's own answers, as the scenario files do; a broker's
//! reads at the committed state are tested in tests/shard.rs.
#![allow(dead_code)]

use std::sync::Arc;

use harness::{GroupConfigError, Harness, MemoryLog, Reads};
use streams_coordinator::assignor::AssignorRegistry;
use streams_coordinator::group::{CoordinatorConfig, GroupCoordinator, Output, RequestContext};
use streams_coordinator::protocol::heartbeat::{Subtopology, TaskIds, TopicInfo, Topology};
use streams_coordinator::protocol::{
    CoordinatorRecord, StreamsGroupHeartbeatRequest, StreamsGroupHeartbeatResponse, Uuid,
};
use streams_coordinator::topology::ClusterMetadata;

/// Broker settings with immediate assignment (no initial delay, no
/// interval), then `extra`.
pub fn config(extra: &[(&str, &str)]) -> CoordinatorConfig {
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
    config
}

/// A bare coordinator with [`config`]`(extra)`, for the tests of replay
/// itself (records fed by hand, no driver).
pub fn coordinator(extra: &[(&str, &str)]) -> GroupCoordinator {
    GroupCoordinator::new(config(extra), Arc::new(AssignorRegistry::default()))
}

/// A harness with [`config`]`(extra)` and the default assignors, at time 0.
pub fn harness(extra: &[(&str, &str)]) -> Harness {
    harness_with(config(extra), AssignorRegistry::default())
}

/// A harness with `config` and `assignors`, at time 0.
pub fn harness_with(config: CoordinatorConfig, assignors: AssignorRegistry) -> Harness {
    Harness::with_log(
        config,
        Arc::new(assignors),
        MemoryLog::default(),
        Reads::Latest,
    )
}

/// A harness whose log holds `records`, loaded at `now` with the cluster
/// metadata `md` in place, as a broker loads a partition after a fail-over.
pub fn loaded_from(records: Vec<CoordinatorRecord>, md: Arc<ClusterMetadata>, now: i64) -> Harness {
    let mut h = harness(&[]);
    h.update_metadata(md);
    at(&mut h, now);
    *h.log() = MemoryLog::with_records(records);
    h.fail_over();
    h
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

/// Moves the harness's clock to `now` for a request. The records written
/// before (metadata changes, config changes) are durable and stay in the
/// log; timers due by `now` must not write anything: a test that expects
/// them to calls [`advance`] first, to see what they wrote.
pub fn at(h: &mut Harness, now: i64) {
    h.take_written();
    h.advance_to(now).expect("timers settle");
    let fired = h.take_written();
    assert!(
        fired.is_empty(),
        "timers due by {now} wrote {:?}: advance to them first",
        names(&fired)
    );
}

/// A heartbeat at `now`, answered once its records are durable: the
/// response, those records, the internal topics to create and the
/// coordinator's next deadline, as the core's [`Output`].
pub fn hb(
    h: &mut Harness,
    now: i64,
    req: StreamsGroupHeartbeatRequest,
) -> Output<StreamsGroupHeartbeatResponse> {
    at(h, now);
    let done = h.heartbeat(&ctx(now), req).expect("the shard serves");
    Output {
        response: done.response,
        records: h.take_written(),
        internal_topics: done.internal_topics,
        next_deadline_ms: h.coordinator().next_deadline(),
    }
}

/// Moves the clock to `now`, firing each due timer at its own deadline:
/// what they wrote and the next deadline, as the core's [`Output`].
pub fn advance(h: &mut Harness, now: i64) -> Output<()> {
    h.take_written();
    h.advance_to(now).expect("timers settle");
    Output {
        response: (),
        records: h.take_written(),
        internal_topics: Vec::new(),
        next_deadline_ms: h.coordinator().next_deadline(),
    }
}

/// The records of a core call's result.
pub trait Written {
    /// The records to persist.
    fn records(&self) -> Vec<CoordinatorRecord>;
}

impl<R> Written for Output<R> {
    fn records(&self) -> Vec<CoordinatorRecord> {
        self.records.clone()
    }
}

impl<R, E> Written for Result<Output<R>, E> {
    fn records(&self) -> Vec<CoordinatorRecord> {
        self.as_ref().map(Written::records).unwrap_or_default()
    }
}

/// Runs the core call `op` at `now` as a write through the harness (its
/// records appended); returns its result once they are durable.
pub fn write<R, F>(h: &mut Harness, now: i64, op: F) -> R
where
    R: Written + Send + 'static,
    F: FnOnce(&mut GroupCoordinator, i64) -> R + Send + 'static,
{
    at(h, now);
    let out = h
        .write(move |c, now| {
            let out = op(c, now);
            let records = out.records();
            (out, records)
        })
        .expect("the shard serves");
    h.take_written();
    out
}

/// Changes the dynamic settings of `group` at `now`, as an operator does
/// (the harness keeps them, as a broker, for every later load): the
/// records written, or why the change was refused.
pub fn configure(
    h: &mut Harness,
    now: i64,
    group: &str,
    settings: &[(&str, &str)],
) -> Result<Vec<CoordinatorRecord>, GroupConfigError> {
    at(h, now);
    let settings: Vec<(String, String)> = settings
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    h.update_group_config(group, &settings)?;
    Ok(h.take_written())
}

/// The replay check: a coordinator rebuilt from the harness's durable log
/// (with what the broker keeps outside it) describes `group` as the live
/// one does, except for the fields that are not persisted.
pub fn assert_replay_matches(h: &Harness, group: &str) {
    let (live, rebuilt) = h
        .persisted_views(&[group.to_string()])
        .expect("the log replays");
    assert_eq!(live, rebuilt, "replayed state differs from the live state");
}
