//! The heartbeat path of the core: join, assignment, no-op heartbeats, leave,
//! fencing, static membership, with replay checked after each step.

mod core_support;

use std::sync::{Arc, Mutex};

use core_support::*;
use harness::Harness;
use streams_coordinator::assignor::{
    AssignorError, AssignorRegistry, GroupAssignment, GroupSpec, TaskAssignor, TaskSpace,
};
use streams_coordinator::group::{ForeignGroupKind, GroupState};
use streams_coordinator::protocol::heartbeat::KeyValue;
use streams_coordinator::protocol::{
    CoordinatorRecord, ErrorCode, RecordValue, StatusCode, StreamsGroupHeartbeatRequest,
};

/// m1 joins group "app" at t=0 and m2 at t=10, both with the simple topology
/// reading "input".
fn join_m1_then_m2(c: &mut Harness) {
    hb(c, 0, join("app", "m1", simple_topology("input")));
    hb(c, 10, join("app", "m2", simple_topology("input")));
}

#[test]
fn single_member_gets_every_task_and_replay_matches() {
    let mut c = harness(&[]);
    c.update_metadata(metadata(&[("input", 4)]));
    let out = hb(&mut c, 0, join("app", "m1", simple_topology("input")));
    let r = &out.response;
    assert_eq!(r.error_code, 0, "{:?}", r.error_message);
    assert_eq!(r.member_epoch, 2);
    assert_eq!(r.active_tasks, Some(tasks("0", &[0, 1, 2, 3])));
    assert_eq!(r.standby_tasks, Some(vec![]));
    assert_eq!(r.heartbeat_interval_ms, 5000);
    assert_eq!(r.status, Some(vec![]));
    assert_eq!(
        names(&out.records),
        [
            "StreamsGroupMemberMetadata",
            "StreamsGroupTopology",
            "StreamsGroupMetadata",
            "StreamsGroupTargetAssignmentMember",
            "StreamsGroupTargetAssignmentMetadata",
            "StreamsGroupCurrentMemberAssignment"
        ]
    );
    assert_eq!(out.next_deadline_ms, Some(45000));
    assert_eq!(c.coordinator().group_state("app"), Some(GroupState::Stable));
    assert_replay_matches(&c, "app");

    // A heartbeat that changes nothing writes nothing and answers tasks = null.
    let out = hb(&mut c, 5000, beat("app", "m1", 2));
    assert_eq!(out.response.error_code, 0);
    assert!(out.records.is_empty());
    assert_eq!(out.response.active_tasks, None);
    assert_eq!(out.response.member_epoch, 2);
    assert_eq!(out.next_deadline_ms, Some(50000));

    // Leave: tombstones, epoch bump, last member => target metadata timestamp 0.
    let out = hb(&mut c, 6000, beat("app", "m1", -1));
    assert_eq!(out.response.member_epoch, -1);
    assert_eq!(
        names(&out.records),
        [
            "-StreamsGroupCurrentMemberAssignment",
            "-StreamsGroupTargetAssignmentMember",
            "-StreamsGroupMemberMetadata",
            "StreamsGroupMetadata",
            "StreamsGroupTargetAssignmentMetadata"
        ]
    );
    assert_eq!(c.coordinator().group_state("app"), Some(GroupState::Empty));
    assert_eq!(out.next_deadline_ms, None);
    assert_replay_matches(&c, "app");
}

#[test]
fn initial_delay_holds_back_the_first_assignment() {
    let mut c = harness(&[("group.streams.initial.rebalance.delay.ms", "3000")]);
    c.update_metadata(metadata(&[("input", 2)]));
    let out = hb(&mut c, 0, join("app", "m1", simple_topology("input")));
    let r = &out.response;
    assert_eq!(r.member_epoch, 1);
    assert_eq!(r.active_tasks, Some(vec![]));
    let st = r.status.as_ref().unwrap();
    assert_eq!(st.len(), 1);
    assert_eq!(st[0].status_code, StatusCode::ASSIGNMENT_DELAYED.0);
    assert_eq!(out.next_deadline_ms, Some(3000));
    // The delay expires: the creating join's configured topology was transient,
    // so the expiry computes nothing.
    let t = advance(&mut c, 3000);
    assert!(t.records.is_empty());
    assert_eq!(
        c.coordinator().group_state("app"),
        Some(GroupState::Assigning)
    );
    let out = hb(&mut c, 5000, beat("app", "m1", 1));
    assert_eq!(out.response.member_epoch, 2);
    assert_eq!(out.response.active_tasks, Some(tasks("0", &[0, 1])));
    assert_eq!(c.coordinator().group_state("app"), Some(GroupState::Stable));
    assert_replay_matches(&c, "app");
}

#[test]
fn second_member_triggers_revocation_before_assignment() {
    let mut c = harness(&[]);
    c.update_metadata(metadata(&[("input", 4)]));
    hb(&mut c, 0, join("app", "m1", simple_topology("input")));
    let out = hb(&mut c, 100, join("app", "m2", simple_topology("input")));
    assert_eq!(out.response.member_epoch, 3);
    // m2's tasks are still owned by m1.
    assert_eq!(out.response.active_tasks, Some(vec![]));
    assert_eq!(
        c.coordinator().group_state("app"),
        Some(GroupState::Reconciling)
    );
    // m1 learns that it must revoke: no new epoch yet.
    let out = hb(&mut c, 200, beat("app", "m1", 2));
    assert_eq!(out.response.member_epoch, 2);
    let kept = out.response.active_tasks.clone().unwrap();
    assert_eq!(kept[0].partitions.len(), 2);
    assert!(out.next_deadline_ms.is_some());
    // m1 acknowledges.
    let out = hb(&mut c, 300, beat_owning("app", "m1", 2, kept.clone()));
    assert_eq!(out.response.member_epoch, 3);
    assert_eq!(out.response.active_tasks, None);
    // m2 receives the released tasks.
    let out = hb(&mut c, 400, beat("app", "m2", 3));
    assert_eq!(out.response.member_epoch, 3);
    let got = out.response.active_tasks.unwrap();
    assert_eq!(got[0].partitions.len(), 2);
    assert!(got[0]
        .partitions
        .iter()
        .all(|p| !kept[0].partitions.contains(p)));
    assert_eq!(c.coordinator().group_state("app"), Some(GroupState::Stable));
    assert_replay_matches(&c, "app");
}

#[test]
fn session_timeout_fences_and_revocation_timeout_fences() {
    let mut c = harness(&[]);
    c.update_metadata(metadata(&[("input", 2)]));
    join_m1_then_m2(&mut c);
    // m1 is told to revoke at t=20, then never acknowledges: fenced at 20+30000.
    let out = hb(&mut c, 20, beat("app", "m1", 2));
    assert_eq!(out.response.member_epoch, 2);
    // m2 keeps heartbeating; m1 too, without acknowledging.
    for t in [5000, 10000, 15000, 20000, 25000, 30000] {
        let o = hb(&mut c, t, beat("app", "m2", 3));
        assert_eq!(o.response.error_code, 0);
        let o = hb(&mut c, t, beat("app", "m1", 2));
        assert!(o.records.is_empty());
    }
    let t = advance(&mut c, 30020);
    assert_eq!(
        names(&t.records),
        [
            "-StreamsGroupCurrentMemberAssignment",
            "-StreamsGroupTargetAssignmentMember",
            "-StreamsGroupMemberMetadata",
            "StreamsGroupMetadata"
        ]
    );
    let o = hb(&mut c, 30100, beat("app", "m1", 2));
    assert_eq!(o.response.error_code, ErrorCode::UNKNOWN_MEMBER_ID.0);
    // m2 now gets everything at a new epoch.
    let o = hb(&mut c, 30200, beat("app", "m2", 3));
    assert_eq!(o.response.member_epoch, 4);
    assert_eq!(o.response.active_tasks, Some(tasks("0", &[0, 1])));
    assert_replay_matches(&c, "app");
    // m2 stops: its session expires 45 s after its last heartbeat.
    let t = advance(&mut c, 30200 + 45000);
    assert_eq!(names(&t.records).len(), 5, "{:?}", names(&t.records));
    assert_eq!(c.coordinator().group_state("app"), Some(GroupState::Empty));
    assert_replay_matches(&c, "app");
}

#[test]
fn validation_in_kafkas_order() {
    let mut c = harness(&[]);
    let mut req = join("app", "", simple_topology("input"));
    req.group_id = String::new();
    let r = hb(&mut c, 0, req).response;
    assert_eq!(r.error_code, ErrorCode::INVALID_REQUEST.0);
    assert_eq!(r.error_message.as_deref(), Some("MemberId can't be empty."));
    let mut req = join("app", "m", simple_topology("input"));
    req.rebalance_timeout_ms = -1;
    let r = hb(&mut c, 0, req).response;
    assert_eq!(
        r.error_message.as_deref(),
        Some("RebalanceTimeoutMs must be provided in first request.")
    );
    let mut req = beat("app", "m", 3);
    req.active_tasks = Some(vec![]);
    let r = hb(&mut c, 0, req).response;
    assert_eq!(
        r.error_message.as_deref(),
        Some("If one task-type is non-null, all must be non-null.")
    );
    let r = hb(&mut c, 0, beat("app", "m", -3)).response;
    assert_eq!(r.error_code, ErrorCode::INVALID_REQUEST.0);
    let r = hb(&mut c, 0, beat("app", "m", 3)).response;
    assert_eq!(r.error_code, ErrorCode::GROUP_ID_NOT_FOUND.0);
    assert_eq!(
        r.error_message.as_deref(),
        Some("Streams group app not found.")
    );
    assert_eq!(r.status, Some(vec![]));
}

#[test]
fn foreign_groups_conflict() {
    let mut c = harness(&[]);
    c.update_metadata(metadata(&[("input", 1)]));
    c.set_foreign_group("g", Some(ForeignGroupKind::Consumer), true)
        .expect("written");
    let r = hb(&mut c, 0, join("g", "m", simple_topology("input"))).response;
    assert_eq!(r.error_code, ErrorCode::GROUP_ID_NOT_FOUND.0);
    assert_eq!(
        r.error_message.as_deref(),
        Some("Group g is not a streams group.")
    );
    c.set_foreign_group("g", Some(ForeignGroupKind::Classic), true)
        .expect("written");
    let r = hb(&mut c, 0, join("g", "m", simple_topology("input"))).response;
    assert_eq!(r.error_code, 0);
    assert_eq!(c.coordinator().group_state("g"), Some(GroupState::Stable));
}

#[test]
fn max_size_is_enforced_on_join() {
    let mut c = harness(&[("group.streams.max.size", "1")]);
    c.update_metadata(metadata(&[("input", 1)]));
    assert_eq!(
        hb(&mut c, 0, join("g", "a", simple_topology("input")))
            .response
            .error_code,
        0
    );
    let r = hb(&mut c, 0, join("g", "b", simple_topology("input"))).response;
    assert_eq!(r.error_code, ErrorCode::GROUP_MAX_SIZE_REACHED.0);
    // A known member may re-join.
    let r = hb(&mut c, 1, join("g", "a", simple_topology("input"))).response;
    assert_eq!(r.error_code, 0);
}

#[test]
fn static_member_leaves_temporarily_and_is_replaced() {
    let mut c = harness(&[]);
    c.update_metadata(metadata(&[("input", 2)]));
    let mut j = join("app", "a1", simple_topology("input"));
    j.instance_id = Some("i".into());
    let out = hb(&mut c, 0, j);
    assert_eq!(out.response.member_epoch, 2);
    // Temporary leave.
    let mut l = beat("app", "a1", -2);
    l.instance_id = Some("i".into());
    let out = hb(&mut c, 100, l);
    assert_eq!(out.response.member_epoch, -2);
    assert_eq!(names(&out.records), ["StreamsGroupCurrentMemberAssignment"]);
    assert_replay_matches(&c, "app");
    // Another member id with the same instance id takes over its tasks.
    let mut j = join("app", "a2", simple_topology("input"));
    j.instance_id = Some("i".into());
    j.process_id = Some("process-a1".into());
    let out = hb(&mut c, 200, j);
    assert_eq!(
        out.response.error_code, 0,
        "{:?}",
        out.response.error_message
    );
    assert_eq!(out.response.member_epoch, 2);
    assert_eq!(out.response.active_tasks, Some(tasks("0", &[0, 1])));
    assert_eq!(
        &names(&out.records)[..6],
        [
            "-StreamsGroupCurrentMemberAssignment",
            "-StreamsGroupTargetAssignmentMember",
            "-StreamsGroupMemberMetadata",
            "StreamsGroupMemberMetadata",
            "StreamsGroupTargetAssignmentMember",
            "StreamsGroupCurrentMemberAssignment"
        ]
    );
    assert_replay_matches(&c, "app");
    // The instance is owned: a third id cannot join.
    let mut j = join("app", "a3", simple_topology("input"));
    j.instance_id = Some("i".into());
    let r = hb(&mut c, 300, j).response;
    assert_eq!(r.error_code, ErrorCode::UNRELEASED_INSTANCE_ID.0);
    // The old id is fenced.
    let mut b = beat("app", "a1", 2);
    b.instance_id = Some("i".into());
    let r = hb(&mut c, 300, b).response;
    assert_eq!(r.error_code, ErrorCode::FENCED_INSTANCE_ID.0);
}

#[test]
fn missing_source_topic_is_a_status_and_not_ready() {
    let mut c = harness(&[]);
    let out = hb(&mut c, 0, join("app", "m1", simple_topology("input")));
    assert_eq!(out.response.error_code, 0);
    let st = out.response.status.clone().unwrap();
    assert_eq!(st[0].status_code, StatusCode::MISSING_SOURCE_TOPICS.0);
    assert_eq!(
        c.coordinator().group_state("app"),
        Some(GroupState::NotReady)
    );
    // The topic appears: the next heartbeat reconfigures and assigns.
    at(&mut c, 10);
    c.update_metadata(metadata(&[("input", 3)]));
    let out = hb(&mut c, 20, beat("app", "m1", out.response.member_epoch));
    assert_eq!(out.response.error_code, 0);
    assert_eq!(out.response.active_tasks, Some(tasks("0", &[0, 1, 2])));
    assert_eq!(c.coordinator().group_state("app"), Some(GroupState::Stable));
    assert_replay_matches(&c, "app");
}

#[test]
fn internal_topics_are_requested() {
    let mut c = harness(&[]);
    c.update_metadata(metadata(&[("input", 3)]));
    let out = hb(
        &mut c,
        0,
        join(
            "app",
            "m1",
            stateful_topology("input", "app-store-changelog"),
        ),
    );
    assert_eq!(out.response.error_code, 0);
    assert_eq!(out.internal_topics.len(), 1);
    assert_eq!(out.internal_topics[0].name, "app-store-changelog");
    assert_eq!(out.internal_topics[0].partitions, 3);
    let st = out.response.status.unwrap();
    assert_eq!(st[0].status_code, StatusCode::MISSING_INTERNAL_TOPICS.0);
}

#[test]
fn shutdown_request_is_reported_to_everyone() {
    let mut c = harness(&[]);
    c.update_metadata(metadata(&[("input", 2)]));
    hb(&mut c, 0, join("app", "m1", simple_topology("input")));
    hb(&mut c, 0, join("app", "m2", simple_topology("input")));
    let req = StreamsGroupHeartbeatRequest {
        shutdown_application: true,
        ..beat("app", "m1", 2)
    };
    let r = hb(&mut c, 10, req).response;
    let codes: Vec<i8> = r.status.unwrap().iter().map(|s| s.status_code).collect();
    assert!(codes.contains(&StatusCode::SHUTDOWN_APPLICATION.0));
    let r = hb(&mut c, 20, beat("app", "m2", 3)).response;
    let st = r.status.unwrap();
    assert!(st
        .iter()
        .any(|s| s.status_code == StatusCode::SHUTDOWN_APPLICATION.0
            && s.status_detail.contains("m1")));
}

/// Kafka keeps a group's stored assignment configs as the record lists them:
/// an entry it does not know survives replay and is written back unchanged
/// by the next metadata record that keeps the epoch's configs (a leave), and
/// it differs from the current configs, so a heartbeat bumps the epoch.
#[test]
fn stored_assignment_configs_survive_replay_byte_exact() {
    let mut c = harness(&[]);
    c.update_metadata(metadata(&[("input", 2)]));
    hb(&mut c, 0, join("app", "m1", simple_topology("input")));
    let m2 = hb(&mut c, 10, join("app", "m2", simple_topology("input")));
    let m2_epoch = m2.response.member_epoch;
    let stored = vec![
        KeyValue {
            key: "a.future.config".into(),
            value: "x".into(),
        },
        KeyValue {
            key: "num.standby.replicas".into(),
            value: "0".into(),
        },
    ];
    let configs = |r: &CoordinatorRecord| match &r.value {
        Some(RecordValue::GroupMetadata(v)) => v.last_assignment_configs.clone(),
        _ => None,
    };
    let log: Vec<CoordinatorRecord> = c
        .records()
        .iter()
        .map(|r| {
            let mut r = r.clone();
            if let Some(RecordValue::GroupMetadata(v)) = &mut r.value {
                v.last_assignment_configs = Some(stored.clone());
            }
            r
        })
        .collect();
    let mut rebuilt = loaded_from(log, metadata(&[("input", 2)]), 20);
    let out = hb(&mut rebuilt, 30, beat("app", "m1", -1));
    assert_eq!(out.response.member_epoch, -1);
    let written: Vec<_> = out.records.iter().filter_map(configs).collect();
    assert_eq!(written, [stored]);
    // The stored map is not the current one: m2's next heartbeat bumps and
    // writes the current configs.
    let out = hb(&mut rebuilt, 40, beat("app", "m2", m2_epoch));
    assert_eq!(out.response.error_code, 0);
    let written: Vec<_> = out.records.iter().filter_map(configs).collect();
    assert_eq!(
        written,
        [vec![KeyValue {
            key: "num.standby.replicas".into(),
            value: "0".into(),
        }]]
    );
}

#[test]
fn failover_rebuilds_state_and_rearms_timers_without_a_rebalance() {
    let mut c = harness(&[]);
    c.update_metadata(metadata(&[("input", 4)]));
    join_m1_then_m2(&mut c);
    // m1 is left revoking.
    let out = hb(&mut c, 20, beat("app", "m1", 2));
    assert_eq!(out.response.member_epoch, 2);

    assert_replay_matches(&c, "app");
    // The fail-over: a new shard loads the durable log at t=1000.
    at(&mut c, 1000);
    c.fail_over();
    let mut rebuilt = c;
    // Session timers (45 s) for both, the revocation timer (30 s) for m1.
    assert_eq!(rebuilt.coordinator().next_deadline(), Some(31_000));
    // The first heartbeat after fail-over recomputes the configured topology
    // and the metadata hash, which did not change: no epoch bump.
    let out = hb(&mut rebuilt, 2000, beat("app", "m2", 3));
    assert_eq!(out.response.error_code, 0);
    assert!(!names(&out.records).contains(&"StreamsGroupMetadata".to_string()));
    // m1 never acknowledges: the re-armed revocation timer fences it.
    let t = advance(&mut rebuilt, 31_000);
    assert_eq!(names(&t.records)[0], "-StreamsGroupCurrentMemberAssignment");
    assert_eq!(
        rebuilt.coordinator().group_state("app"),
        Some(GroupState::Assigning)
    );
}

#[test]
fn initial_delay_expiry_assigns_when_a_heartbeat_configured_the_topology() {
    let mut c = harness(&[("group.streams.initial.rebalance.delay.ms", "3000")]);
    c.update_metadata(metadata(&[("input", 2)]));
    hb(&mut c, 0, join("app", "m1", simple_topology("input")));
    // A second join during the delay holds the configured topology in memory.
    let out = hb(&mut c, 1000, join("app", "m2", simple_topology("input")));
    assert_eq!(out.response.member_epoch, 1);
    let t = advance(&mut c, 3000);
    assert_eq!(
        names(&t.records),
        [
            "StreamsGroupTargetAssignmentMember",
            "StreamsGroupTargetAssignmentMember",
            "StreamsGroupTargetAssignmentMetadata"
        ]
    );
    assert_eq!(
        c.coordinator().group_state("app"),
        Some(GroupState::Reconciling)
    );
    let out = hb(&mut c, 3100, beat("app", "m1", 1));
    assert_eq!(out.response.member_epoch, 3);
    assert_eq!(
        out.response.active_tasks.map(|t| t[0].partitions.len()),
        Some(1)
    );
    assert_replay_matches(&c, "app");
}

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

/// A harness with [`config`]`(extra)` over `input` (2 partitions) whose
/// group `group` runs the [`Failing`] assignor.
fn failing_harness(extra: &[(&str, &str)], group: &str) -> Harness {
    let mut registry = AssignorRegistry::default();
    registry.register(Arc::new(Failing)).unwrap();
    let mut c = harness_with(config(extra), registry);
    c.update_metadata(metadata(&[("input", 2)]));
    configure(&mut c, 0, group, &[("streams.assignor.name", "failing")]).unwrap();
    c
}

/// The WARN and ERROR events emitted while a closure runs, as
/// `LEVEL field=value ...` text.
#[derive(Clone, Default)]
struct Warnings(Arc<Mutex<Vec<String>>>);

struct FieldText(String);

impl tracing::field::Visit for FieldText {
    fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn std::fmt::Debug) {
        self.0.push_str(&format!("{}={:?} ", field.name(), value));
    }
}

impl tracing::Subscriber for Warnings {
    fn enabled(&self, _: &tracing::Metadata<'_>) -> bool {
        true
    }
    fn new_span(&self, _: &tracing::span::Attributes<'_>) -> tracing::span::Id {
        tracing::span::Id::from_u64(1)
    }
    fn record(&self, _: &tracing::span::Id, _: &tracing::span::Record<'_>) {}
    fn record_follows_from(&self, _: &tracing::span::Id, _: &tracing::span::Id) {}
    fn event(&self, event: &tracing::Event<'_>) {
        let level = *event.metadata().level();
        if level == tracing::Level::WARN || level == tracing::Level::ERROR {
            let mut text = FieldText(format!("{level} "));
            event.record(&mut text);
            self.0
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .push(text.0);
        }
    }
    fn enter(&self, _: &tracing::span::Id) {}
    fn exit(&self, _: &tracing::span::Id) {}
}

#[test]
fn initial_delay_expiry_with_a_failing_assignor_warns_and_writes_nothing() {
    let mut c = failing_harness(
        &[("group.streams.initial.rebalance.delay.ms", "3000")],
        "app",
    );
    hb(&mut c, 0, join("app", "m1", simple_topology("input")));
    // A second join during the delay holds the configured topology in memory,
    // so the expiry runs the assignor.
    let out = hb(&mut c, 1000, join("app", "m2", simple_topology("input")));
    assert_eq!(out.response.error_code, 0, "the delay runs no assignor");
    let warnings = Warnings::default();
    let t = tracing::subscriber::with_default(warnings.clone(), || advance(&mut c, 3000));
    assert!(
        t.records.is_empty(),
        "nothing written: {:?}",
        names(&t.records)
    );
    assert_eq!(
        c.coordinator().group_state("app"),
        Some(GroupState::Assigning)
    );
    let seen = warnings.0.lock().unwrap_or_else(|e| e.into_inner()).clone();
    assert_eq!(seen.len(), 1, "{seen:?}");
    assert!(seen[0].contains("group_id=\"app\""), "{seen:?}");
    assert!(seen[0].contains("out of luck"), "{seen:?}");
    assert!(seen[0].starts_with("WARN "), "{seen:?}");
    // The next heartbeat runs the assignor again and fails with it, logged
    // at ERROR as Kafka does.
    let errors = Warnings::default();
    let out = tracing::subscriber::with_default(errors.clone(), || {
        hb(&mut c, 3100, beat("app", "m1", 1))
    });
    assert_eq!(out.response.error_code, ErrorCode::UNKNOWN_SERVER_ERROR.0);
    assert!(out.records.is_empty());
    assert_eq!(
        c.coordinator().group_state("app"),
        Some(GroupState::Assigning)
    );
    let seen = errors.0.lock().unwrap_or_else(|e| e.into_inner()).clone();
    assert_eq!(seen.len(), 1, "{seen:?}");
    assert!(seen[0].starts_with("ERROR "), "{seen:?}");
    assert!(seen[0].contains("group_id=app"), "{seen:?}");
    assert!(seen[0].contains("out of luck"), "{seen:?}");
}

// Found with the `heartbeat` fuzz target's encode check (docs/fuzzing.md), on a hand-made
// input: an error message quoting a group id and a member id, each within the 32,767-byte
// limit, was longer than a wire string may be, so the response could not be encoded and the
// client got no answer.
#[test]
fn error_messages_quoting_long_ids_still_encode() {
    use streams_coordinator::protocol::{Message, StreamsGroupDescribeRequest};
    let group = "g".repeat(20_000);
    let mut c = harness(&[]);
    c.update_metadata(metadata(&[("input", 2)]));
    let out = hb(&mut c, 0, join(&group, "m1", simple_topology("input")));
    assert_eq!(out.response.error_code, 0);

    let stranger = "m".repeat(20_000);
    let out = hb(&mut c, 10, beat(&group, &stranger, 5));
    assert_eq!(out.response.error_code, ErrorCode::UNKNOWN_MEMBER_ID.0);
    let message = out.response.error_message.clone().expect("a message");
    assert!(message.starts_with("Member mmm"), "{}", &message[..20]);
    assert!(out.response.to_bytes(0).is_ok() && out.response.to_bytes(1).is_ok());

    let missing = "x".repeat(32_767);
    let describe = c.coordinator().describe(
        &ctx(20),
        &StreamsGroupDescribeRequest {
            group_ids: vec![missing.clone()],
            include_authorized_operations: false,
            include_topology_description: false,
        },
    );
    assert_eq!(describe.groups[0].group_id, missing);
    assert_eq!(
        describe.groups[0].error_code,
        ErrorCode::GROUP_ID_NOT_FOUND.0
    );
    assert!(describe.to_bytes(1).is_ok());
}

/// `streams-group-rebalance-count` counts epoch bumps that happened: a join
/// whose target assignment fails (the assignor errs) bumps nothing, writes
/// nothing and is not counted (before, it was counted before the assignor ran).
#[test]
fn a_failed_heartbeat_is_not_counted_as_a_rebalance() {
    let mut c = failing_harness(&[], "failing-app");
    let out = tracing::subscriber::with_default(Warnings::default(), || {
        hb(
            &mut c,
            0,
            join("failing-app", "m1", simple_topology("input")),
        )
    });
    assert_eq!(out.response.error_code, ErrorCode::UNKNOWN_SERVER_ERROR.0);
    assert!(out.records.is_empty());
    assert_eq!(
        c.coordinator().metrics().rebalance_count,
        0,
        "a failed heartbeat counted"
    );
    // A join that succeeds is counted once.
    let out = hb(&mut c, 10, join("app", "m1", simple_topology("input")));
    assert_eq!(out.response.error_code, 0);
    assert_eq!(c.coordinator().metrics().rebalance_count, 1);
}

/// The partitions-by-endpoint answer a group keeps and shares between
/// responses is, at every step (joins, assignment, reconciliation, a leave),
/// the answer a coordinator rebuilt from the log builds afresh.
#[test]
fn kept_endpoint_answer_equals_a_fresh_one() {
    use streams_coordinator::protocol::heartbeat::Endpoint;

    let topics = [("input", 6)];
    let mut c = harness(&[]);
    c.update_metadata(metadata(&topics));
    let check = |c: &mut Harness, member: &str, epoch: i32, now: i64| {
        // A coordinator rebuilt from the durable log, as after a fail-over.
        let mut fresh = c.successor();
        // A stale endpoint epoch asks for the whole answer.
        let req = StreamsGroupHeartbeatRequest {
            endpoint_information_epoch: -1,
            ..beat("app", member, epoch)
        };
        let kept = hb(c, now, req.clone()).response;
        let built = hb(&mut fresh, now, req).response;
        assert_eq!(kept.error_code, 0, "{:?}", kept.error_message);
        assert!(kept.partitions_by_user_endpoint.is_some());
        assert_eq!(
            kept.partitions_by_user_endpoint, built.partitions_by_user_endpoint,
            "{member} at {now}"
        );
        kept.member_epoch
    };
    let names = ["m1", "m2", "m3"];
    let mut epochs = Vec::new();
    for m in names {
        let req = StreamsGroupHeartbeatRequest {
            user_endpoint: Some(Endpoint {
                host: format!("{m}.example"),
                port: 1,
            }),
            ..join("app", m, simple_topology("input"))
        };
        let r = hb(&mut c, 0, req).response;
        assert_eq!(r.error_code, 0, "{:?}", r.error_message);
        epochs.push((r.member_epoch, Vec::new()));
    }
    for now in [10, 20, 30] {
        for (i, m) in names.iter().enumerate() {
            let (epoch, owned) = epochs[i].clone();
            let r = hb(&mut c, now, beat_owning("app", m, epoch, owned)).response;
            assert_eq!(r.error_code, 0, "{:?}", r.error_message);
            epochs[i].0 = r.member_epoch;
            if let Some(active) = r.active_tasks {
                epochs[i].1 = active;
            }
            for (j, other) in names.iter().enumerate() {
                epochs[j].0 = check(&mut c, other, epochs[j].0, now);
            }
        }
    }
    // m2 leaves: the others' answer no longer lists it.
    let r = hb(&mut c, 40, beat("app", "m2", -1)).response;
    assert_eq!(r.error_code, 0);
    for j in [0, 2] {
        epochs[j].0 = check(&mut c, names[j], epochs[j].0, 40);
        let answer = hb(
            &mut c,
            40,
            StreamsGroupHeartbeatRequest {
                endpoint_information_epoch: -1,
                ..beat("app", names[j], epochs[j].0)
            },
        )
        .response
        .partitions_by_user_endpoint
        .expect("an answer");
        assert!(answer.iter().all(|e| e.user_endpoint.host != "m2.example"));
        assert_eq!(answer.len(), 2);
    }
}

/// A static member replaced while it has not yet reached the group's epoch
/// (a scale-out moved one of its tasks): the new member id takes over the old
/// one's target, with the warm-up refinement on (the default) as without it
/// (Kafka's behaviour).
#[test]
fn static_member_replaced_mid_rebalance_keeps_its_target() {
    let run = |extra: &[(&str, &str)]| {
        let mut c = harness(extra);
        c.update_metadata(metadata(&[("input", 2)]));
        let mut j = join("app", "a1", simple_topology("input"));
        j.instance_id = Some("i".into());
        let r = hb(&mut c, 0, j).response;
        assert_eq!(r.member_epoch, 2);
        assert_eq!(r.active_tasks, Some(tasks("0", &[0, 1])));
        // m2 joins: epoch 3, one task moves from a1 to m2 once a1 revokes it.
        let r = hb(&mut c, 10, join("app", "m2", simple_topology("input"))).response;
        assert_eq!(r.member_epoch, 3);
        // a1 leaves temporarily before it heartbeats at epoch 3.
        let mut l = beat("app", "a1", -2);
        l.instance_id = Some("i".into());
        assert_eq!(hb(&mut c, 20, l).response.member_epoch, -2);
        // Its replacement takes over a1's tasks and target.
        let mut j = join("app", "a2", simple_topology("input"));
        j.instance_id = Some("i".into());
        j.process_id = Some("process-a1".into());
        let r = hb(&mut c, 30, j).response;
        assert_eq!(r.error_code, 0, "{:?}", r.error_message);
        assert_replay_matches(&c, "app");
        (r.member_epoch, r.active_tasks)
    };
    let kafka = run(&[("group.streams.num.warmup.replicas", "0")]);
    assert_eq!(kafka.0, 3);
    assert_eq!(
        kafka.1,
        Some(tasks("0", &[0])),
        "a1's target after the move"
    );
    let ours = run(&[]);
    assert_eq!(ours, kafka, "the refinement of epoch 3 knows a1's slice");
}
