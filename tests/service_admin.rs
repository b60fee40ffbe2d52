//! The service's wrappers for a broker's other group APIs: offset-commit and
//! offset-fetch validation of streams members (spec 07 §4) and `streams.*`
//! group-config changes (spec 07 §5), routed like every other call. Runs on
//! tokio's paused clock.

mod service_support;

use std::time::Duration;

use service_support::*;
use streams_coordinator::group::{CommitApi, ConfigError, GroupConfigOp};
use streams_coordinator::protocol::describe::DescribedGroup;
use streams_coordinator::protocol::ErrorCode;
use streams_coordinator::service::{
    GroupConfigError, GroupConfigUpdate, OffsetCommitValidation, Service,
};

/// An OffsetCommit v9 of `member` at `epoch` for `partitions` of group `app`.
fn commit(member: &str, epoch: i32, partitions: &[(&str, i32)]) -> OffsetCommitValidation {
    OffsetCommitValidation {
        group_id: GROUP.into(),
        member_id: member.into(),
        member_epoch: epoch,
        instance_id: None,
        api: CommitApi::OffsetCommit,
        api_version: 9,
        partitions: partitions.iter().map(|(t, p)| ((*t).into(), *p)).collect(),
    }
}

/// A group id whose partition is not the one of [`GROUP`].
fn group_elsewhere(service: &Service) -> String {
    (0..100)
        .map(|i| format!("other-{i}"))
        .find(|g| service.partition_for(g) != service.partition_for(GROUP))
        .expect("some id maps to another partition")
}

fn set(name: &str, value: &str) -> Vec<(String, String)> {
    vec![(name.into(), value.into())]
}

fn standby_count(g: &DescribedGroup) -> usize {
    g.members
        .iter()
        .flat_map(|m| &m.assignment.standby_tasks)
        .map(|t| t.partitions.len())
        .sum()
}

#[tokio::test(start_paused = true)]
async fn offset_commit_is_validated_against_member_epochs() {
    let broker = broker();
    let service = started(&broker).await;
    let mut fleet = Fleet::new(2);
    fleet.run_until_stable(&service, 60_000).await;
    let member = fleet.clients[0].clone();
    let epoch = member.member_epoch;
    assert!(epoch > 0);
    let owned: Vec<(&str, i32)> = member
        .active
        .values()
        .flatten()
        .map(|p| ("input", *p))
        .collect();
    assert!(!owned.is_empty());

    // The current member at its epoch may commit.
    assert_eq!(
        service
            .validate_offset_commit(commit(&member.member_id, epoch, &owned))
            .await,
        Ok(())
    );
    // A newer epoch than the member's, or an older one for a topic that is
    // not a source topic of the group, is stale.
    assert_eq!(
        service
            .validate_offset_commit(commit(&member.member_id, epoch + 1, &owned))
            .await,
        Err(ErrorCode::STALE_MEMBER_EPOCH)
    );
    assert_eq!(
        service
            .validate_offset_commit(commit(&member.member_id, epoch - 1, &[("elsewhere", 0)]))
            .await,
        Err(ErrorCode::STALE_MEMBER_EPOCH)
    );
    // Not a member.
    assert_eq!(
        service
            .validate_offset_commit(commit("stranger", epoch, &owned))
            .await,
        Err(ErrorCode::UNKNOWN_MEMBER_ID)
    );
    // OffsetCommit below v9 cannot serve a streams member.
    let old = OffsetCommitValidation {
        api_version: 8,
        ..commit(&member.member_id, epoch, &owned)
    };
    assert_eq!(
        service.validate_offset_commit(old).await,
        Err(ErrorCode::UNSUPPORTED_VERSION)
    );
    // A transactional producer's commit (epoch -1, no member) needs no member.
    let txn = OffsetCommitValidation {
        api: CommitApi::TxnOffsetCommit,
        api_version: 4,
        ..commit("", -1, &owned)
    };
    assert_eq!(service.validate_offset_commit(txn).await, Ok(()));

    let m = service.metrics().await;
    assert_eq!(m.offset_commit_validations, 6);
    assert_eq!(m.errors.get(&ErrorCode::STALE_MEMBER_EPOCH.0), Some(&2));
    assert_eq!(m.errors.get(&ErrorCode::UNKNOWN_MEMBER_ID.0), Some(&1));
}

#[tokio::test(start_paused = true)]
async fn offset_fetch_needs_the_exact_member_epoch() {
    let broker = broker();
    let service = started(&broker).await;
    let mut fleet = Fleet::new(1);
    fleet.run_until_stable(&service, 60_000).await;
    let member = fleet.clients[0].clone();
    let epoch = member.member_epoch;
    let id = Some(member.member_id.as_str());

    assert_eq!(
        service.validate_offset_fetch(GROUP, id, epoch).await,
        Ok(())
    );
    assert_eq!(
        service.validate_offset_fetch(GROUP, id, epoch - 1).await,
        Err(ErrorCode::STALE_MEMBER_EPOCH)
    );
    assert_eq!(
        service
            .validate_offset_fetch(GROUP, Some("stranger"), epoch)
            .await,
        Err(ErrorCode::UNKNOWN_MEMBER_ID)
    );
    // An admin fetch (no member, negative epoch) is accepted.
    assert_eq!(service.validate_offset_fetch(GROUP, None, -1).await, Ok(()));
    assert_eq!(service.metrics().await.offset_fetch_validations, 4);
}

#[tokio::test(start_paused = true)]
async fn validations_are_routed_like_every_other_call() {
    let broker = slow_loading_broker();
    let service = Service::new(config(), broker.hooks());
    let p = service.partition_for(GROUP);

    // Not loaded here.
    assert_eq!(
        service.validate_offset_commit(commit("m", 1, &[])).await,
        Err(ErrorCode::NOT_COORDINATOR)
    );
    assert_eq!(
        service.validate_offset_fetch(GROUP, Some("m"), 1).await,
        Err(ErrorCode::NOT_COORDINATOR)
    );

    // Loading.
    let loader = start_loading(&service).await;
    assert_eq!(
        service.validate_offset_commit(commit("m", 1, &[])).await,
        Err(ErrorCode::COORDINATOR_LOAD_IN_PROGRESS)
    );
    assert_eq!(
        service.validate_offset_fetch(GROUP, Some("m"), 1).await,
        Err(ErrorCode::COORDINATOR_LOAD_IN_PROGRESS)
    );
    loader.await.expect("join").expect("load");

    // Loaded: the group does not exist yet (v9 commit: GROUP_ID_NOT_FOUND);
    // a group of another, unloaded partition is still not ours.
    assert_eq!(
        service.validate_offset_commit(commit("m", 1, &[])).await,
        Err(ErrorCode::GROUP_ID_NOT_FOUND)
    );
    assert_eq!(
        service.validate_offset_fetch(GROUP, Some("m"), 1).await,
        Err(ErrorCode::GROUP_ID_NOT_FOUND)
    );
    let elsewhere = OffsetCommitValidation {
        group_id: group_elsewhere(&service),
        ..commit("m", 1, &[])
    };
    assert_eq!(
        service
            .validate_offset_fetch(&elsewhere.group_id, Some("m"), 1)
            .await,
        Err(ErrorCode::NOT_COORDINATOR)
    );
    assert_eq!(
        service.validate_offset_commit(elsewhere).await,
        Err(ErrorCode::NOT_COORDINATOR)
    );

    // Resigned.
    service.unload(p).await;
    assert_eq!(
        service.validate_offset_commit(commit("m", 1, &[])).await,
        Err(ErrorCode::NOT_COORDINATOR)
    );
}

/// A commit is validated against the latest state (like Kafka's commit, a
/// write operation) and answered only once the writes it observed are
/// durable, so an epoch it accepted can never be rolled back.
#[tokio::test(start_paused = true)]
async fn commit_validation_waits_for_the_writes_it_observed() {
    let broker = broker();
    let service = started(&broker).await;
    broker
        .records
        .set_append_delay(Some(Duration::from_millis(250)));
    let start = service.now_ms();
    let mut c = client(0);
    let join = {
        let s = service.clone();
        let req = c.heartbeat(start);
        tokio::spawn(async move { s.heartbeat(&client_ctx(), req).await })
    };
    tokio::time::sleep(Duration::from_millis(1)).await;
    // The join is applied but not durable yet: the member exists (a stale
    // epoch, not GROUP_ID_NOT_FOUND), and the answer waits for the append.
    assert_eq!(
        service
            .validate_offset_commit(commit(&c.member_id, 1_000, &[]))
            .await,
        Err(ErrorCode::STALE_MEMBER_EPOCH)
    );
    assert!(
        service.now_ms() - start >= 250,
        "answered before the join it observed was durable"
    );
    let resp = join.await.expect("join");
    assert_eq!(resp.error_code, 0);
    c.on_response(service.now_ms(), &resp);
    assert_eq!(
        service
            .validate_offset_commit(commit(&c.member_id, c.member_epoch, &[]))
            .await,
        Ok(())
    );
}

/// A config change refused because `name` is unknown: INVALID_CONFIG.
fn assert_refused_as_unknown(r: Result<GroupConfigUpdate, GroupConfigError>, name: &str) {
    assert_eq!(
        r,
        Err(GroupConfigError::Invalid {
            group_id: GROUP.into(),
            source: ConfigError::Unknown(name.into()),
        })
    );
    assert_eq!(
        r.err().map(|e| e.error_code()),
        Some(ErrorCode::INVALID_CONFIG)
    );
}

#[tokio::test(start_paused = true)]
async fn invalid_group_configs_are_refused_and_change_nothing() {
    let broker = broker();
    let service = started(&broker).await;
    let unknown = service
        .update_group_config(GROUP, &set("streams.no.such.config", "1"))
        .await;
    assert_refused_as_unknown(unknown, "streams.no.such.config");
    // Below the broker's minimum session timeout (45 s).
    let low = service
        .update_group_config(GROUP, &set("streams.session.timeout.ms", "1000"))
        .await;
    assert!(matches!(
        low,
        Err(GroupConfigError::Invalid {
            source: ConfigError::InvalidValue { .. },
            ..
        })
    ));
    // A batch is all or nothing: a valid interval beside an out-of-bounds
    // standby count (max 2) is refused with it.
    assert_eq!(
        service
            .update_group_config(GROUP, &set("streams.heartbeat.interval.ms", "7000"))
            .await,
        Ok(GroupConfigUpdate::Applied)
    );
    let clash = service
        .update_group_config(
            GROUP,
            &[
                ("streams.session.timeout.ms".into(), "46000".into()),
                ("streams.heartbeat.interval.ms".into(), "15000".into()),
                ("streams.num.standby.replicas".into(), "9".into()),
            ],
        )
        .await;
    assert_eq!(
        clash.err().map(|e| e.error_code()),
        Some(ErrorCode::INVALID_CONFIG)
    );
    let empty = service
        .update_group_config("", &set("streams.num.standby.replicas", "1"))
        .await;
    assert_eq!(empty, Err(GroupConfigError::EmptyGroupId));
    assert_eq!(
        empty.err().map(|e| e.error_code()),
        Some(ErrorCode::INVALID_REQUEST)
    );

    // Only the accepted interval is in force, from the next heartbeat on.
    let mut c = client(0);
    let resp = service
        .heartbeat(&client_ctx(), c.heartbeat(service.now_ms()))
        .await;
    assert_eq!(resp.error_code, 0);
    assert_eq!(resp.heartbeat_interval_ms, 7000);
    let m = service.metrics().await;
    assert_eq!(m.group_config_updates, 5);
    assert_eq!(m.errors.get(&ErrorCode::INVALID_CONFIG.0), Some(&3));
}

/// The acceptance test of group configs: a change that calls for a rebalance
/// (standby replicas) is seen by the next heartbeats, and survives an unload
/// and reload of the partition — the rebalance's records replay from the
/// log, and the config itself (not a record) comes back from the service.
#[tokio::test(start_paused = true)]
async fn a_standby_change_rebalances_and_survives_reload() {
    let broker = broker();
    let service = started(&broker).await;
    // Brokers that take over later, created now so that their clocks agree
    // with this one's (each maps wall-clock start + tokio time).
    let successor = Service::new(config(), broker.hooks());
    let uninformed = Service::new(config(), broker.hooks());
    let p = service.partition_for(GROUP);
    let mut fleet = Fleet::new(2);
    fleet.run_until_stable(&service, 60_000).await;
    let before = describe(&service, GROUP).await.expect("describe");
    assert_eq!(standby_count(&before), 0);

    let appends = broker.records.append_count();
    assert_eq!(
        service
            .update_group_config(GROUP, &set("streams.num.standby.replicas", "1"))
            .await,
        Ok(GroupConfigUpdate::Applied)
    );
    assert_eq!(
        broker.records.append_count(),
        appends,
        "a config change writes nothing by itself"
    );
    fleet.run_until_stable(&service, 60_000).await;
    let after = describe(&service, GROUP).await.expect("describe");
    assert!(after.group_epoch > before.group_epoch, "rebalanced");
    assert_eq!(
        standby_count(&after),
        INPUT_PARTITIONS as usize,
        "one standby per stateful task"
    );
    assert!(fleet.live().all(|c| !c.standby.is_empty()));

    // Unload and reload the partition on the same broker.
    service.unload(p).await;
    service.load(p).await.expect("reload");
    let reloaded = describe(&service, GROUP).await.expect("describe");
    assert_eq!(reloaded.group_epoch, after.group_epoch);
    assert_eq!(standby_count(&reloaded), INPUT_PARTITIONS as usize);
    // Heartbeats after the reload find the assignment configuration
    // unchanged: no rebalance back to zero standbys.
    fleet.run_for(&service, 20_000).await;
    assert!(fleet.is_stable(&service).await);
    let later = describe(&service, GROUP).await.expect("describe");
    assert_eq!(later.group_epoch, after.group_epoch);
    assert_eq!(standby_count(&later), INPUT_PARTITIONS as usize);

    // Another broker given the config (as its metadata would) before it
    // takes over keeps it too; the change waits for the load there.
    service.unload(p).await;
    assert_eq!(
        successor
            .update_group_config(GROUP, &set("streams.num.standby.replicas", "1"))
            .await,
        Ok(GroupConfigUpdate::Deferred)
    );
    successor.load(p).await.expect("take over");
    fleet.run_for(&successor, 20_000).await;
    assert!(
        successor.metrics().await.heartbeats >= 6,
        "the members heartbeat to it"
    );
    assert_eq!(fleet.fenced, 0);
    let there = describe(&successor, GROUP).await.expect("describe");
    assert_eq!(there.group_epoch, after.group_epoch);
    assert_eq!(standby_count(&there), INPUT_PARTITIONS as usize);

    // A broker never told about it falls back to the broker default (no
    // standbys): the config is not in the log.
    successor.unload(p).await;
    uninformed.load(p).await.expect("take over");
    fleet.run_until_stable(&uninformed, 60_000).await;
    fleet.run_for(&uninformed, 10_000).await;
    let reset = describe(&uninformed, GROUP).await.expect("describe");
    assert!(reset.group_epoch > after.group_epoch);
    assert_eq!(standby_count(&reset), 0);
}

/// A change to a partition that is loading is queued behind the load and in
/// force once it finishes; one for a partition loaded later is applied by
/// that load (session timeouts re-armed from it).
#[tokio::test(start_paused = true)]
async fn config_changes_reach_loading_and_later_loaded_partitions() {
    let broker = slow_loading_broker();
    let service = Service::new(config(), broker.hooks());
    let loader = start_loading(&service).await;
    assert_eq!(
        service
            .update_group_config(GROUP, &set("streams.heartbeat.interval.ms", "6000"))
            .await,
        Ok(GroupConfigUpdate::Applied)
    );
    loader.await.expect("join").expect("load");
    let mut c = client(0);
    let resp = service
        .heartbeat(&client_ctx(), c.heartbeat(service.now_ms()))
        .await;
    assert_eq!(resp.heartbeat_interval_ms, 6000);

    let other = group_elsewhere(&service);
    let q = service.partition_for(&other);
    assert_eq!(
        service
            .update_group_config(&other, &set("streams.heartbeat.interval.ms", "8000"))
            .await,
        Ok(GroupConfigUpdate::Deferred)
    );
    service.load(q).await.expect("load");
    let mut d = harness::sim::SimClient::new(
        &other,
        "member-x",
        "process-x",
        harness::sim::demo_topology(&other, &["input"], false),
    );
    let resp = service
        .heartbeat(&client_ctx(), d.heartbeat(service.now_ms()))
        .await;
    assert_eq!(resp.error_code, 0);
    assert_eq!(resp.heartbeat_interval_ms, 8000);
}

/// Spec 07 §4.1 step 7 through the service: after a scale-out a member's
/// epoch has advanced, yet a commit at its older epoch is still accepted for
/// the tasks it kept since then, and refused for tasks it gained later.
#[tokio::test(start_paused = true)]
async fn an_older_epoch_may_commit_the_tasks_kept_since_then() {
    let broker = broker();
    let service = started(&broker).await;
    let mut fleet = Fleet::new(2);
    fleet.run_until_stable(&service, 60_000).await;
    let old = fleet.clients[0].clone();
    fleet.clients.push(client(2));
    fleet.run_until_stable(&service, 60_000).await;
    let now = fleet.clients[0].clone();
    assert!(now.member_epoch > old.member_epoch);
    let partitions = |c: &harness::sim::SimClient| -> Vec<i32> {
        c.active.values().flatten().copied().collect()
    };
    let kept: Vec<(&str, i32)> = partitions(&now)
        .into_iter()
        .filter(|p| partitions(&old).contains(p))
        .map(|p| ("input", p))
        .collect();
    assert!(!kept.is_empty(), "a sticky assignor keeps some tasks");
    assert_eq!(
        service
            .validate_offset_commit(commit(&now.member_id, old.member_epoch, &kept))
            .await,
        Ok(())
    );
    // Tasks it no longer owns (moved to the new member) are stale at that epoch.
    let moved: Vec<(&str, i32)> = partitions(&old)
        .into_iter()
        .filter(|p| !partitions(&now).contains(p))
        .map(|p| ("input", p))
        .collect();
    assert!(!moved.is_empty(), "the scale-out moved some of its tasks");
    assert_eq!(
        service
            .validate_offset_commit(commit(&now.member_id, old.member_epoch, &moved))
            .await,
        Err(ErrorCode::STALE_MEMBER_EPOCH)
    );
}

/// A reloaded shard applies the stored configs before it re-arms the session
/// timers: a member that died across the reload is fenced after the group's
/// 60 s session timeout, not the broker's 45 s.
#[tokio::test(start_paused = true)]
async fn a_reload_arms_session_timers_with_the_group_timeout() {
    let broker = broker();
    let service = started(&broker).await;
    let p = service.partition_for(GROUP);
    let mut fleet = Fleet::new(2);
    fleet.run_until_stable(&service, 60_000).await;
    assert_eq!(
        service
            .update_group_config(GROUP, &set("streams.session.timeout.ms", "60000"))
            .await,
        Ok(GroupConfigUpdate::Applied)
    );
    service.unload(p).await;
    service.load(p).await.expect("reload");
    fleet.dead.insert(1);
    let took = fleet.run_until_stable(&service, 120_000).await;
    assert!(
        (60_000..65_000).contains(&took),
        "fenced after {took} ms, expected the group's 60 s session timeout"
    );
    assert_eq!(
        describe(&service, GROUP).await.map(|g| g.members.len()),
        Some(1)
    );
}

/// DELETE of a group config (IncrementalAlterConfigs): removing the standby
/// override rebalances back to the broker default (no standbys) at the next
/// heartbeats, and the removal survives an unload and reload — the reloaded
/// partition does not bring the old override back.
#[tokio::test(start_paused = true)]
async fn removing_the_standby_override_returns_to_the_default_and_survives_reload() {
    let broker = broker();
    let service = started(&broker).await;
    let p = service.partition_for(GROUP);
    let standby = "streams.num.standby.replicas".to_string();
    let mut fleet = Fleet::new(2);
    fleet.run_until_stable(&service, 60_000).await;
    assert_eq!(
        service
            .update_group_config(GROUP, &set(&standby, "1"))
            .await,
        Ok(GroupConfigUpdate::Applied)
    );
    fleet.run_until_stable(&service, 60_000).await;
    let with = describe(&service, GROUP).await.expect("describe");
    assert_eq!(standby_count(&with), INPUT_PARTITIONS as usize);

    let appends = broker.records.append_count();
    assert_eq!(
        service
            .remove_group_config(GROUP, std::slice::from_ref(&standby))
            .await,
        Ok(GroupConfigUpdate::Applied)
    );
    assert_eq!(
        broker.records.append_count(),
        appends,
        "a removal writes nothing by itself"
    );
    fleet.run_until_stable(&service, 60_000).await;
    let without = describe(&service, GROUP).await.expect("describe");
    assert!(without.group_epoch > with.group_epoch, "rebalanced");
    assert_eq!(standby_count(&without), 0, "the broker default (0)");
    assert!(fleet.live().all(|c| c.standby.is_empty()));

    // Unknown names are refused, alone or beside a valid operation, and
    // change nothing.
    let unknown = service
        .remove_group_config(GROUP, &["streams.no.such.config".to_string()])
        .await;
    assert_refused_as_unknown(unknown, "streams.no.such.config");
    let mixed = service
        .alter_group_config(
            GROUP,
            &[
                GroupConfigOp::Set {
                    name: standby.clone(),
                    value: "1".into(),
                },
                GroupConfigOp::Delete {
                    name: "streams.no.such.config".into(),
                },
            ],
        )
        .await;
    assert_eq!(
        mixed.err().map(|e| e.error_code()),
        Some(ErrorCode::INVALID_CONFIG)
    );

    // Reload: the default still applies, no rebalance back to standbys.
    service.unload(p).await;
    service.load(p).await.expect("reload");
    fleet.run_for(&service, 20_000).await;
    assert!(fleet.is_stable(&service).await);
    let reloaded = describe(&service, GROUP).await.expect("describe");
    assert_eq!(reloaded.group_epoch, without.group_epoch);
    assert_eq!(standby_count(&reloaded), 0);

    // While the partition is not loaded here, a SET then a DELETE are both
    // kept (Deferred) and the load applies their result: the default.
    service.unload(p).await;
    assert_eq!(
        service
            .update_group_config(GROUP, &set(&standby, "2"))
            .await,
        Ok(GroupConfigUpdate::Deferred)
    );
    assert_eq!(
        service
            .remove_group_config(GROUP, std::slice::from_ref(&standby))
            .await,
        Ok(GroupConfigUpdate::Deferred)
    );
    service.load(p).await.expect("reload");
    fleet.run_for(&service, 20_000).await;
    assert!(fleet.is_stable(&service).await);
    let later = describe(&service, GROUP).await.expect("describe");
    assert_eq!(later.group_epoch, without.group_epoch);
    assert_eq!(standby_count(&later), 0);
    assert_eq!(fleet.fenced, 0);

    let m = service.metrics().await;
    assert_eq!(m.group_config_updates, 6, "every call is counted");
    assert_eq!(m.errors.get(&ErrorCode::INVALID_CONFIG.0), Some(&2));
}
