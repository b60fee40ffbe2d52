//! Warm-up refinement through the coordinator (src/group/warmup.rs; docs/behaviour.md): a
//! stateful move waits for its warm-up, a caught-up lag promotes it in a refinement step, and a
//! coordinator rebuilt from the records reaches the same decisions.

mod core_support;

use core_support::*;
use harness::Harness;
use streams_coordinator::protocol::heartbeat::{TaskIds, TaskOffset};
use streams_coordinator::protocol::StreamsGroupHeartbeatRequest;

fn parts(list: &Option<Vec<TaskIds>>) -> Option<Vec<i32>> {
    list.as_ref().map(|l| {
        l.iter()
            .flat_map(|t| t.partitions.iter().copied())
            .collect()
    })
}

fn offsets(entries: &[(i32, i64)]) -> Option<Vec<TaskOffset>> {
    Some(
        entries
            .iter()
            .map(|(p, o)| TaskOffset {
                subtopology_id: "0".into(),
                partition: *p,
                offset: *o,
            })
            .collect(),
    )
}

/// A heartbeat reporting the lag of `tasks` (end offset 1000).
fn reporting(
    mut req: StreamsGroupHeartbeatRequest,
    lags: &[(i32, i64)],
) -> StreamsGroupHeartbeatRequest {
    let off: Vec<(i32, i64)> = lags.iter().map(|(p, l)| (*p, 1000 - l)).collect();
    let end: Vec<(i32, i64)> = lags.iter().map(|(p, _)| (*p, 1000)).collect();
    req.task_offsets = offsets(&off);
    req.task_end_offsets = offsets(&end);
    req
}

const LAG: &[(&str, &str)] = &[("group.streams.acceptable.recovery.lag", "10")];

/// m1 owns all four tasks; m2 (another process) joins and the sticky target
/// moves two tasks to it. Returns the partitions warming up on m2.
fn scale_out(c: &mut Harness) -> Vec<i32> {
    c.update_metadata(metadata(&[("input", 4), ("app-changelog", 4)]));
    let topology = stateful_topology("input", "app-changelog");
    let r = hb(c, 0, join("app", "m1", topology.clone())).response;
    assert_eq!(r.member_epoch, 2);
    assert_eq!(parts(&r.active_tasks), Some(vec![0, 1, 2, 3]));
    let r = hb(c, 10, join("app", "m2", topology)).response;
    assert_eq!(r.member_epoch, 3);
    assert_eq!(
        parts(&r.active_tasks),
        Some(vec![]),
        "nothing moves before warming up"
    );
    let warm = parts(&r.warmup_tasks).expect("full lists on a join");
    assert_eq!(warm.len(), 2, "two moved tasks, two warm-ups (budget 2)");
    // m1 keeps all four and reaches the new epoch without revoking anything.
    let r = hb(c, 20, beat("app", "m1", 2)).response;
    assert_eq!(r.member_epoch, 3);
    assert_eq!(r.active_tasks, None, "m1's tasks are unchanged");
    warm
}

#[test]
fn a_warm_up_is_promoted_once_it_caught_up() {
    let mut c = harness(LAG);
    let warm = scale_out(&mut c);
    let (a, b) = (warm[0], warm[1]);
    // Behind by more than the acceptable lag: nothing happens.
    let out = hb(
        &mut c,
        30,
        reporting(beat("app", "m2", 3), &[(a, 500), (b, 11)]),
    );
    assert_eq!(out.response.member_epoch, 3);
    assert!(out.records.is_empty());
    // One caught up: a refinement step (epoch 4, no assignor run) moves that one only.
    let out = hb(
        &mut c,
        40,
        reporting(beat("app", "m2", 3), &[(a, 500), (b, 10)]),
    );
    assert_eq!(out.response.member_epoch, 4);
    assert_eq!(
        names(&out.records),
        [
            "StreamsGroupMetadata",
            "StreamsGroupTargetAssignmentMetadata",
            "StreamsGroupCurrentMemberAssignment"
        ]
    );
    let r = hb(&mut c, 50, beat("app", "m1", 3)).response;
    assert_eq!(r.member_epoch, 3, "m1 revokes the promoted task first");
    let kept = parts(&r.active_tasks).expect("m1's tasks changed");
    assert!(!kept.contains(&b) && kept.contains(&a) && kept.len() == 3);
    let r = hb(&mut c, 60, beat_owning("app", "m1", 3, tasks("0", &kept))).response;
    assert_eq!(r.member_epoch, 4);
    let r = hb(&mut c, 70, beat("app", "m2", 4)).response;
    assert_eq!(parts(&r.active_tasks), Some(vec![b]));
    assert_eq!(
        parts(&r.warmup_tasks),
        Some(vec![a]),
        "the other one still warms up"
    );
    assert_replay_matches(&c, "app");
}

#[test]
fn a_rebuilt_coordinator_reaches_the_same_decisions() {
    let mut live = harness(LAG);
    let warm = scale_out(&mut live);
    // Fail-over: the rebuilt coordinator has no offsets and no refinement in memory; it derives
    // the same warm-ups from the persisted assignments. Every next request gets the same answer
    // from both, promotion included.
    let mut other = live.successor();
    let steps = [
        beat("app", "m2", 3),
        beat("app", "m1", 3),
        reporting(beat("app", "m2", 3), &[(warm[0], 0), (warm[1], 0)]),
        beat("app", "m1", 3),
        beat_owning("app", "m1", 3, tasks("0", &[])),
        beat("app", "m2", 4),
    ];
    for (i, req) in steps.into_iter().enumerate() {
        let now = 100 + i as i64 * 10;
        let a = hb(&mut live, now, req.clone());
        let b = hb(&mut other, now, req);
        assert_eq!(a.response, b.response, "step {i}");
        assert_eq!(a.records, b.records, "step {i}");
    }
}

#[test]
fn without_warm_ups_the_task_moves_as_in_kafka() {
    let mut c = harness(&[("group.streams.num.warmup.replicas", "0")]);
    c.update_metadata(metadata(&[("input", 4), ("app-changelog", 4)]));
    let topology = stateful_topology("input", "app-changelog");
    hb(&mut c, 0, join("app", "m1", topology.clone()));
    let r = hb(&mut c, 10, join("app", "m2", topology)).response;
    assert_eq!(parts(&r.warmup_tasks), Some(vec![]));
    let r = hb(&mut c, 20, beat("app", "m1", 2)).response;
    assert_eq!(r.member_epoch, 2, "m1 must revoke at once");
    assert_eq!(parts(&r.active_tasks).map(|p| p.len()), Some(2));
}
