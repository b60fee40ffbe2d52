//! Every group-epoch bump carries its cause (src/group/causes.rs): the history the core keeps
//! per group, and the counts by cause in the metrics.

mod core_support;

use core_support::*;
use streams_coordinator::group::{BumpCause, FenceReason, MetadataField, Rebalance};

fn history(c: &harness::Harness) -> Vec<(i32, BumpCause, Option<String>)> {
    c.coordinator()
        .rebalance_history("app")
        .into_iter()
        .map(|r: Rebalance| (r.epoch, r.cause, r.member_id))
        .collect()
}

#[test]
fn joins_metadata_changes_leaves_and_timeouts_are_named() {
    let mut c = harness(&[]);
    c.update_metadata(metadata(&[("input", 4)]));
    let r = hb(&mut c, 0, join("app", "m1", simple_topology("input"))).response;
    assert_eq!(r.member_epoch, 2);
    let r = hb(&mut c, 10, join("app", "m2", simple_topology("input"))).response;
    assert_eq!(r.member_epoch, 3);
    let mut rack = beat("app", "m2", 3);
    rack.rack_id = Some("r1".into());
    hb(&mut c, 20, rack);
    // A partition more on the input topic.
    at(&mut c, 30);
    c.update_metadata(metadata(&[("input", 5)]));
    hb(&mut c, 40, beat("app", "m1", 2));
    hb(&mut c, 50, beat("app", "m2", -1));
    // m1 goes silent while it still has to revoke (the new partition's target moved tasks):
    // its rebalance timeout (30 s) fires before its session timeout (45 s).
    let out = advance(&mut c, 100_000);
    assert!(!out.records.is_empty());
    let app = |m: &str| Some(m.to_string());
    assert_eq!(
        history(&c),
        vec![
            (2, BumpCause::MemberJoined, app("m1")),
            (3, BumpCause::MemberJoined, app("m2")),
            (
                4,
                BumpCause::MemberMetadataChanged(MetadataField::Rack),
                app("m2")
            ),
            (
                5,
                BumpCause::TopicMetadataChanged(Some("input".into())),
                app("m1")
            ),
            (6, BumpCause::MemberLeft, app("m2")),
            (
                7,
                BumpCause::Fenced(FenceReason::RebalanceTimeout),
                app("m1")
            ),
        ]
    );
    let h = c.coordinator().rebalance_history("app");
    assert_eq!(h[1].to_string(), "epoch 3 ← m2 joined, 2 tasks moved");
    assert_eq!(h[4].to_string(), "epoch 6 ← m2 left (leave heartbeat)");
    let counts = c.coordinator().metrics().rebalances_by_cause;
    assert_eq!(
        counts,
        vec![
            ("fenced_rebalance_timeout", 1),
            ("member_joined", 2),
            ("member_left", 1),
            ("member_metadata_changed", 1),
            ("topic_metadata_changed", 1),
        ]
    );
    // In memory only: a rebuilt coordinator has no history.
    let rebuilt = c.rebuilt().expect("replay");
    assert!(rebuilt.rebalance_history("app").is_empty());
}

#[test]
fn a_silent_member_is_fenced_by_its_session_timeout() {
    let mut c = harness(&[]);
    c.update_metadata(metadata(&[("input", 2)]));
    hb(&mut c, 0, join("app", "m1", simple_topology("input")));
    let _ = advance(&mut c, 100_000);
    let h = c.coordinator().rebalance_history("app");
    assert_eq!(
        h.last().map(|r| r.cause.clone()),
        Some(BumpCause::Fenced(FenceReason::SessionTimeout))
    );
    // Stamped with the time the timer ran: the harness fires it at its
    // deadline, the session timeout (45 s) after the join...
    assert_eq!(h.last().map(|r| r.time_ms), Some(45_000));
    // ... and a driver that runs it late (a bare core called at 100 s)
    // stamps that time (`advance_time`'s now), not the deadline.
    let mut core = coordinator(&[]);
    let _ = core.update_metadata(metadata(&[("input", 2)]), 0);
    let _ = core.heartbeat(&ctx(0), join("app", "m1", simple_topology("input")));
    let _ = core.advance_time(100_000);
    let late = core.rebalance_history("app");
    assert_eq!(late.last().map(|r| r.time_ms), Some(100_000));
}

#[test]
fn config_changes_and_warm_up_promotions_are_named() {
    let mut c = harness(&[("group.streams.acceptable.recovery.lag", "0")]);
    c.update_metadata(metadata(&[("input", 2), ("cl", 2)]));
    let topology = stateful_topology("input", "cl");
    hb(&mut c, 0, join("app", "m1", topology.clone()));
    configure(&mut c, 5, "app", &[("streams.num.standby.replicas", "1")]).unwrap();
    let r = hb(&mut c, 10, beat("app", "m1", 2)).response;
    assert_eq!(r.member_epoch, 3);
    let r = hb(&mut c, 20, join("app", "m2", topology)).response;
    assert_eq!(r.member_epoch, 4);
    let warm = r.warmup_tasks.expect("join lists");
    assert_eq!(warm.len(), 1, "one move, one warm-up: {warm:?}");
    hb(&mut c, 30, beat("app", "m1", 3));
    let mut caught_up = beat("app", "m2", 4);
    let p = warm[0].partitions[0];
    let off = |o| {
        Some(vec![streams_coordinator::protocol::heartbeat::TaskOffset {
            subtopology_id: "0".into(),
            partition: p,
            offset: o,
        }])
    };
    caught_up.task_offsets = off(7);
    caught_up.task_end_offsets = off(7);
    let r = hb(&mut c, 40, caught_up).response;
    assert_eq!(r.member_epoch, 5);
    let h = c.coordinator().rebalance_history("app");
    assert_eq!(
        h.iter().map(|r| r.cause.clone()).collect::<Vec<_>>(),
        vec![
            BumpCause::MemberJoined,
            BumpCause::GroupConfigChanged("streams.num.standby.replicas".into()),
            BumpCause::MemberJoined,
            BumpCause::WarmupPromoted,
        ]
    );
    assert_eq!(h[3].tasks_moved, Some(1));
    assert_eq!(
        h[3].to_string(),
        "epoch 5 ← m2 warm-up caught up (promoted), 1 tasks moved"
    );
}
