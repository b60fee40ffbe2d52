//! Describe, list, delete, offset validation, group configs and metrics of the
//! core (spec 07).

mod core_support;

use core_support::*;
use harness::Harness;
use streams_coordinator::group::{
    CommitApi, ConfigError, GroupConfigOp, GroupState, OffsetCommitCheck, StateFilter,
};
use streams_coordinator::protocol::{ErrorCode, StatusCode, StreamsGroupDescribeRequest};

fn describe(
    c: &Harness,
    ids: &[&str],
) -> Vec<streams_coordinator::protocol::describe::DescribedGroup> {
    c.coordinator()
        .describe(
            &ctx(0),
            &StreamsGroupDescribeRequest {
                group_ids: ids.iter().map(|s| s.to_string()).collect(),
                ..Default::default()
            },
        )
        .groups
}

#[test]
fn describe_reports_groups_members_and_errors() {
    let mut c = harness(&[]);
    c.update_metadata(metadata(&[("input", 3), ("app-changelog", 3)]));
    let offsets = Some(vec![streams_coordinator::protocol::heartbeat::TaskOffset {
        subtopology_id: "0".into(),
        partition: 1,
        offset: 42,
    }]);
    let mut j = join("app", "m1", stateful_topology("input", "app-changelog"));
    j.task_offsets = offsets.clone();
    let r = hb(&mut c, 0, j).response;
    assert_eq!(r.error_code, 0, "{:?}", r.error_message);
    // Offsets sent by the join that created the group are lost with its
    // transient group object (spec 02 §3); a later heartbeat stores them.
    assert!(describe(&c, &["app"])[0].members[0].task_offsets.is_empty());
    let mut b = beat("app", "m1", 2);
    b.task_offsets = offsets;
    assert_eq!(hb(&mut c, 1, b).response.error_code, 0);
    let d = describe(&c, &["app", "", "nope"]);
    assert_eq!(d.len(), 3);
    let g = &d[0];
    assert_eq!(g.error_code, 0);
    assert_eq!(g.group_state, "Stable");
    assert_eq!((g.group_epoch, g.assignment_epoch), (2, 2));
    assert_eq!(g.assignor_name.as_deref(), Some("sticky"));
    let t = g.topology.as_ref().unwrap();
    // The configured topology carries the computed changelog partition count.
    assert_eq!(
        t.subtopologies.as_ref().unwrap()[0].state_changelog_topics[0].partitions,
        3
    );
    let m = &g.members[0];
    assert_eq!(m.member_id, "m1");
    assert_eq!(m.client_host, "/127.0.0.1");
    assert_eq!(m.assignment.active_tasks, tasks("0", &[0, 1, 2]));
    assert_eq!(m.target_assignment.active_tasks, tasks("0", &[0, 1, 2]));
    assert_eq!(m.task_offsets.len(), 1);
    assert_eq!(m.task_offsets[0].offset, 42);
    assert_eq!(d[1].error_code, ErrorCode::INVALID_GROUP_ID.0);
    assert_eq!(d[2].error_code, ErrorCode::GROUP_ID_NOT_FOUND.0);
    assert_eq!(d[2].error_message.as_deref(), Some("Group nope not found."));
}

#[test]
fn list_filters_by_lower_case_state() {
    let mut c = harness(&[]);
    c.update_metadata(metadata(&[("input", 1)]));
    hb(&mut c, 0, join("a", "m", simple_topology("input")));
    hb(&mut c, 0, join("b", "m", simple_topology("missing")));
    let list = |names: &[&str]| c.coordinator().list_groups(&StateFilter::from_names(names));
    assert_eq!(list(&[]).len(), 2);
    let nr = list(&[" NOT_READY\t"]);
    assert_eq!(nr.len(), 1);
    assert_eq!(nr[0].group_id, "b");
    assert_eq!(nr[0].group_state, GroupState::NotReady);
    assert_eq!(nr[0].group_state.name(), "NotReady");
    assert_eq!(nr[0].protocol_type, "streams");
    // Lower-cased first, so the display name of NotReady matches nothing.
    assert!(list(&["NotReady"]).is_empty());
    assert_eq!(list(&["stable"])[0].group_id, "a");
    assert_eq!(list(&["Stable", "nonsense"])[0].group_id, "a");
    // A filter naming no streams state lists nothing (it is not "no filter").
    assert!(list(&["PreparingRebalance", "nonsense"]).is_empty());
    assert_eq!(
        c.coordinator()
            .list_groups(&StateFilter::Only(
                [GroupState::NotReady, GroupState::Stable].into()
            ))
            .len(),
        2
    );
}

#[test]
fn delete_requires_an_empty_group_and_writes_tombstones() {
    let mut c = harness(&[]);
    c.update_metadata(metadata(&[("input", 1)]));
    hb(&mut c, 0, join("app", "m", simple_topology("input")));
    let out = write(&mut c, 10, |c, now| {
        c.delete_groups(&["app".into(), "zzz".into()], now)
    });
    assert_eq!(out.response[0].1, ErrorCode::NON_EMPTY_GROUP);
    assert_eq!(out.response[1].1, ErrorCode::GROUP_ID_NOT_FOUND);
    assert!(out.records.is_empty());
    hb(&mut c, 20, beat("app", "m", -1));
    let out = write(&mut c, 30, |c, now| c.delete_groups(&["app".into()], now));
    assert_eq!(out.response[0].1, ErrorCode::NONE);
    assert_eq!(
        names(&out.records),
        [
            "-StreamsGroupTargetAssignmentMetadata",
            "-StreamsGroupMetadata",
            "-StreamsGroupTopology"
        ]
    );
    assert_eq!(c.coordinator().group_count(), 0);
    // The log replays to nothing.
    let rebuilt = c.rebuilt().expect("the log replays");
    assert_eq!(rebuilt.group_count(), 0);
    // A new join starts again at epoch 1 -> 2.
    let r = hb(&mut c, 40, join("app", "m", simple_topology("input"))).response;
    assert_eq!(r.member_epoch, 2);
}

#[test]
fn offset_commit_and_fetch_validation() {
    let mut c = harness(&[]);
    c.update_metadata(metadata(&[("input", 2)]));
    hb(&mut c, 0, join("app", "m1", simple_topology("input")));
    let parts = [("input", 0), ("input", 1)];
    let check = |api, v| OffsetCommitCheck {
        api,
        api_version: v,
        instance_id: None,
        partitions: &parts,
    };
    let oc = CommitApi::OffsetCommit;
    assert_eq!(
        c.coordinator()
            .validate_offset_commit("app", "m1", 2, &check(oc, 9)),
        Ok(())
    );
    assert_eq!(
        c.coordinator()
            .validate_offset_commit("app", "m1", 3, &check(oc, 9)),
        Err(ErrorCode::STALE_MEMBER_EPOCH)
    );
    assert_eq!(
        c.coordinator()
            .validate_offset_commit("app", "m1", 2, &check(oc, 8)),
        Err(ErrorCode::UNSUPPORTED_VERSION)
    );
    assert_eq!(
        c.coordinator()
            .validate_offset_commit("app", "x", 2, &check(oc, 9)),
        Err(ErrorCode::UNKNOWN_MEMBER_ID)
    );
    assert_eq!(
        c.coordinator()
            .validate_offset_commit("nope", "x", 2, &check(oc, 9)),
        Err(ErrorCode::GROUP_ID_NOT_FOUND)
    );
    assert_eq!(
        c.coordinator()
            .validate_offset_commit("nope", "x", 2, &check(oc, 8)),
        Err(ErrorCode::ILLEGAL_GENERATION)
    );
    // An older epoch is accepted for tasks owned since at or before it (stamped 2).
    assert_eq!(
        c.coordinator()
            .validate_offset_commit("app", "m1", 1, &check(oc, 9)),
        Err(ErrorCode::STALE_MEMBER_EPOCH)
    );
    // A second member joins: m1's epoch stays 2 while it revokes, then 3.
    hb(&mut c, 10, join("app", "m2", simple_topology("input")));
    hb(&mut c, 20, beat("app", "m1", 2));
    let owned = c
        .coordinator()
        .describe(
            &ctx(0),
            &StreamsGroupDescribeRequest {
                group_ids: vec!["app".into()],
                ..Default::default()
            },
        )
        .groups[0]
        .members[0]
        .assignment
        .active_tasks
        .clone();
    let r = hb(&mut c, 30, beat_owning("app", "m1", 2, owned)).response;
    assert_eq!(r.member_epoch, 3);
    // Txn commit with epoch -1 and no member is accepted without checks.
    let txn = OffsetCommitCheck {
        api: CommitApi::TxnOffsetCommit,
        api_version: 3,
        instance_id: None,
        partitions: &parts,
    };
    assert_eq!(
        c.coordinator().validate_offset_commit("app", "", -1, &txn),
        Ok(())
    );
    assert_eq!(
        c.coordinator().validate_offset_commit("app", "m1", 9, &txn),
        Err(ErrorCode::ILLEGAL_GENERATION)
    );
    // Fetch: exact epoch only.
    assert_eq!(
        c.coordinator().validate_offset_fetch("app", Some("m1"), 3),
        Ok(())
    );
    assert_eq!(
        c.coordinator().validate_offset_fetch("app", Some("m1"), 2),
        Err(ErrorCode::STALE_MEMBER_EPOCH)
    );
    assert_eq!(
        c.coordinator().validate_offset_fetch("app", None, -1),
        Ok(())
    );
    assert!(c.coordinator().is_subscribed_to_topic("app", "input"));
    assert!(!c.coordinator().is_subscribed_to_topic("app", "other"));
}

#[test]
fn group_configs_are_validated_and_take_effect_at_the_next_heartbeat() {
    let mut c = harness(&[]);
    c.update_metadata(metadata(&[("input", 2), ("cl", 2)]));
    assert!(configure(&mut c, 0, "app", &[("streams.session.timeout.ms", "1")]).is_err());
    assert!(configure(&mut c, 0, "app", &[("streams.unknown", "1")]).is_err());
    let out = configure(
        &mut c,
        0,
        "app",
        &[("streams.heartbeat.interval.ms", "7000")],
    )
    .unwrap();
    assert!(out.is_empty());
    let r = hb(
        &mut c,
        0,
        join("app", "m1", stateful_topology("input", "cl")),
    )
    .response;
    assert_eq!(r.heartbeat_interval_ms, 7000);
    assert_eq!(r.member_epoch, 2);
    // Standby replicas change the assignment configuration: the next heartbeat bumps.
    configure(&mut c, 5, "app", &[("streams.num.standby.replicas", "1")]).unwrap();
    let out = hb(&mut c, 10, beat("app", "m1", 2));
    assert_eq!(out.response.member_epoch, 3);
    assert!(names(&out.records).contains(&"StreamsGroupMetadata".to_string()));
    assert_eq!(c.coordinator().metrics().rebalance_count, 2);
    // Rack-aware tags drive MISSING_CLIENT_TAGS (v1+).
    configure(
        &mut c,
        20,
        "app",
        &[("streams.rack.aware.assignment.tags", "zone")],
    )
    .unwrap();
    let r = hb(&mut c, 30, beat("app", "m1", 3)).response;
    let st = r.status.unwrap();
    assert!(st
        .iter()
        .any(|s| s.status_code == StatusCode::MISSING_CLIENT_TAGS.0
            && s.status_detail.contains("[zone]")));
}

#[test]
fn metrics_count_groups_by_state() {
    let mut c = harness(&[]);
    c.update_metadata(metadata(&[("input", 1)]));
    hb(&mut c, 0, join("a", "m", simple_topology("input")));
    hb(&mut c, 0, join("b", "m", simple_topology("missing")));
    let m = c.coordinator().metrics();
    assert_eq!(m.group_count, 2);
    let count = |s| {
        m.groups_by_state
            .iter()
            .find(|(x, _)| *x == s)
            .map(|(_, n)| *n)
    };
    assert_eq!(count(GroupState::Stable), Some(1));
    assert_eq!(count(GroupState::NotReady), Some(1));
    assert_eq!(count(GroupState::Dead), Some(0));
}

fn set(name: &str, value: &str) -> GroupConfigOp {
    GroupConfigOp::Set {
        name: name.into(),
        value: value.into(),
    }
}

fn delete(name: &str) -> GroupConfigOp {
    GroupConfigOp::Delete { name: name.into() }
}

/// Standby partitions in the target assignments of every member of `group`.
fn target_standbys(c: &Harness, group: &str) -> usize {
    describe(c, &[group])[0]
        .members
        .iter()
        .flat_map(|m| m.target_assignment.standby_tasks.iter())
        .map(|t| t.partitions.len())
        .sum()
}

#[test]
fn deleting_a_group_config_returns_to_the_broker_default_at_the_next_heartbeat() {
    let mut c = harness(&[]);
    c.update_metadata(metadata(&[("input", 2), ("cl", 2)]));
    let topology = stateful_topology("input", "cl");
    write(&mut c, 0, |c, now| {
        c.alter_group_config("app", &[set("streams.num.standby.replicas", "1")], now)
    })
    .unwrap();
    hb(&mut c, 0, join("app", "m1", topology.clone()));
    let r = hb(&mut c, 1, join("app", "m2", topology.clone())).response;
    assert_eq!(r.error_code, 0, "{:?}", r.error_message);
    assert_eq!(r.member_epoch, 3);
    assert_eq!(target_standbys(&c, "app"), 2, "one standby per task");

    // DELETE: nothing is written, the group falls back to the broker default (0).
    let out = write(&mut c, 10, |c, now| {
        c.alter_group_config("app", &[delete("streams.num.standby.replicas")], now)
    })
    .unwrap();
    assert!(out.records.is_empty());
    assert_eq!(
        c.coordinator().group_config("app"),
        None,
        "no override left: no entry"
    );
    assert_eq!(
        target_standbys(&c, "app"),
        2,
        "no effect before a heartbeat"
    );
    let out = hb(&mut c, 20, beat("app", "m2", 3));
    let r = &out.response;
    assert_eq!(r.error_code, 0, "{:?}", r.error_message);
    let g = &describe(&c, &["app"])[0];
    assert_eq!(
        (g.group_epoch, g.assignment_epoch),
        (4, 4),
        "the assignment configs changed: a rebalance"
    );
    assert!(names(&out.records).contains(&"StreamsGroupMetadata".to_string()));
    assert_eq!(target_standbys(&c, "app"), 0);

    // Deleting what is not overridden is a no-op, and creates no entry.
    let out = write(&mut c, 30, |c, now| {
        c.alter_group_config("app", &[delete("streams.num.standby.replicas")], now)
    })
    .unwrap();
    assert!(out.records.is_empty());
    assert_eq!(c.coordinator().group_config("app"), None);
    let r = hb(&mut c, 40, beat("app", "m1", 2)).response;
    assert_eq!(r.error_code, 0, "{:?}", r.error_message);
    assert_eq!(describe(&c, &["app"])[0].group_epoch, 4, "no rebalance");
}

#[test]
fn a_group_config_delete_is_validated_like_a_set() {
    // Bounds that allow a heartbeat interval above the default session timeout.
    let mut c = coordinator(&[("group.streams.max.heartbeat.interval.ms", "50000")]);
    let hb = "streams.heartbeat.interval.ms";
    let st = "streams.session.timeout.ms";
    c.alter_group_config("app", &[set(st, "55000"), set(hb, "48000")], 0)
        .unwrap();
    let before = c.group_config("app").cloned();
    assert_eq!(
        before.as_ref().and_then(|g| g.heartbeat_interval_ms),
        Some(48000)
    );

    // Unknown names are the typed error of a SET, and change nothing.
    let err = c
        .alter_group_config("app", &[delete(hb), delete("streams.nope")], 0)
        .unwrap_err();
    assert_eq!(err, ConfigError::Unknown("streams.nope".into()));
    assert_eq!(c.group_config("app").cloned(), before);
    // Falling back to the default session timeout (45000) would leave the
    // heartbeat interval (48000) above it.
    let err = c.alter_group_config("app", &[delete(st)], 0).unwrap_err();
    assert!(matches!(err, ConfigError::Inconsistent(_)), "{err}");
    assert_eq!(c.group_config("app").cloned(), before);
    // Both in one request: consistent, and nothing is left.
    c.alter_group_config("app", &[delete(st), delete(hb)], 0)
        .unwrap();
    assert_eq!(c.group_config("app"), None);
    // An unknown name on a group with no entry is refused too.
    assert!(matches!(
        c.alter_group_config("other", &[delete("streams.nope")], 0),
        Err(ConfigError::Unknown(_))
    ));
    // Operations apply in order: SET then DELETE of the same name leaves nothing.
    c.alter_group_config("app", &[set(hb, "6000"), delete(hb)], 0)
        .unwrap();
    assert_eq!(c.group_config("app"), None);
}

#[test]
fn replacing_group_configs_resets_the_names_not_listed() {
    let mut c = coordinator(&[]);
    c.update_group_config(
        "app",
        &[
            ("streams.num.standby.replicas".into(), "1".into()),
            ("streams.heartbeat.interval.ms".into(), "7000".into()),
        ],
        0,
    )
    .unwrap();
    c.replace_group_config(
        "app",
        &[("streams.heartbeat.interval.ms".into(), "8000".into())],
        0,
    )
    .unwrap();
    let g = c.group_config("app").cloned().unwrap_or_default();
    assert_eq!(g.num_standby_replicas, None);
    assert_eq!(g.heartbeat_interval_ms, Some(8000));
    // A refused replacement keeps the old settings.
    assert!(c
        .replace_group_config("app", &[("streams.x".into(), "1".into())], 0)
        .is_err());
    assert_eq!(c.group_config("app"), Some(&g));
    c.replace_group_config("app", &[], 0).unwrap();
    assert_eq!(c.group_config("app"), None);
}
