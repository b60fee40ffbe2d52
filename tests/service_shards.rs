//! The service over the real core: routing, loading, durability ordering,
//! append failures, unload/reload under traffic, timers, authorization.
//! Everything runs on tokio's paused clock, so timeouts take no real time.

mod service_support;

use std::sync::Arc;
use std::time::Duration;

use harness::memory::{AclResource, MemoryAuthorizer};
use service_support::*;
use streams_coordinator::group::{ForeignGroupKind, GroupState, StateFilter};
use streams_coordinator::protocol::{ErrorCode, StatusCode, StreamsGroupDescribeRequest};
use streams_coordinator::service::{AclOperation, ClientContext, Service};

#[tokio::test(start_paused = true)]
async fn clients_join_and_converge() {
    let broker = broker();
    let service = started(&broker).await;
    let mut fleet = Fleet::new(3);
    fleet.run_until_stable(&service, 60_000).await;
    assert_eq!(fleet.fenced, 0);
    assert!(!broker
        .records
        .records(service.partition_for(GROUP))
        .is_empty());
    let m = service.metrics().await;
    assert!(m.heartbeats > 0);
    assert_eq!(m.partitions_active, 1);
    assert_eq!(m.shards.values().map(|s| s.group_count).sum::<usize>(), 1);
}

#[tokio::test(start_paused = true)]
async fn partitions_not_owned_answer_not_coordinator() {
    let broker = broker();
    let service = Service::new(config(), broker.hooks());
    let mut c = client(0);
    let resp = service.heartbeat(&client_ctx(), c.heartbeat(0)).await;
    assert_eq!(resp.error_code, ErrorCode::NOT_COORDINATOR.0);
    let d = service
        .describe(
            &client_ctx(),
            StreamsGroupDescribeRequest {
                group_ids: vec![GROUP.into(), "".into()],
                ..Default::default()
            },
        )
        .await;
    let codes: Vec<(String, i16)> = d
        .groups
        .iter()
        .map(|g| (g.group_id.clone(), g.error_code))
        .collect();
    assert!(codes.contains(&(GROUP.to_string(), ErrorCode::NOT_COORDINATOR.0)));
    assert!(codes.contains(&(String::new(), ErrorCode::INVALID_GROUP_ID.0)));
    assert!(
        service.load(PARTITIONS).await.is_err(),
        "partition out of range"
    );
}

#[tokio::test(start_paused = true)]
async fn loading_partition_answers_load_in_progress() {
    let broker = slow_loading_broker();
    let service = Service::new(config(), broker.hooks());
    let loader = start_loading(&service).await;
    let mut c = client(0);
    let resp = service.heartbeat(&client_ctx(), c.heartbeat(0)).await;
    assert_eq!(resp.error_code, ErrorCode::COORDINATOR_LOAD_IN_PROGRESS.0);
    loader.await.expect("join").expect("load");
    let resp = service
        .heartbeat(&client_ctx(), c.heartbeat(service.now_ms()))
        .await;
    assert_eq!(resp.error_code, 0);
    assert!(resp.member_epoch > 0);
}

#[tokio::test(start_paused = true)]
async fn response_waits_for_durable_records() {
    let broker = broker();
    let service = started(&broker).await;
    let p = service.partition_for(GROUP);
    broker
        .records
        .set_append_delay(Some(Duration::from_millis(250)));
    let before = broker.records.records(p).len();
    let start = service.now_ms();
    let mut c = client(0);
    let resp = service.heartbeat(&client_ctx(), c.heartbeat(start)).await;
    assert_eq!(resp.error_code, 0);
    assert!(
        service.now_ms() - start >= 250,
        "answered before the append completed"
    );
    let after = broker.records.records(p);
    assert!(
        after.len() > before,
        "the join's records are durable when it is answered"
    );
    assert!(after.iter().any(|r| r.key.member_id() == Some("member-0")));
}

/// The fault test: the sink fails in the middle of a rebalance. Requests in
/// flight get a retriable error, the shard is rebuilt from what is durable
/// (identical to a fresh load of the same log), and once the sink recovers
/// the group converges with every task owned exactly once.
#[tokio::test(start_paused = true)]
async fn append_failure_mid_rebalance_loses_nothing_and_converges() {
    let broker = broker();
    let service = started(&broker).await;
    let mut fleet = Fleet::new(3);
    fleet.run_until_stable(&service, 60_000).await;

    // Scale out, let the rebalance start, then break the log.
    fleet.clients.push(client(3));
    fleet.step(&service).await;
    broker.records.set_failing(true);
    // Longer than one heartbeat interval (5 s), so every member writes while the log is
    // broken (with warm-ups the new member's own heartbeats may write nothing).
    fleet.run_for(&service, 6_000).await;
    assert!(
        fleet.errors.contains(&ErrorCode::NOT_COORDINATOR.0),
        "requests in flight during the failure get NOT_COORDINATOR: {:?}",
        fleet.errors
    );
    let m = service.metrics().await;
    assert!(m.append_failures > 0 && m.rebuilds > 0);

    // What the live shard holds equals a fresh replay of the durable log.
    let live = describe(&service, GROUP).await.expect("describe live");
    // The replica reads a copy of the log: loading the same log would start
    // a new load epoch and fence the live shard.
    let copy = service_support::broker();
    let p = service.partition_for(GROUP);
    streams_coordinator::service::RecordSink::append(
        &*copy.records,
        p,
        0,
        broker.records.records(p),
    )
    .await
    .expect("copy the log");
    let other = Service::new(config(), copy.hooks());
    other.load(p).await.expect("load replica");
    let replayed = describe(&other, GROUP).await.expect("describe replayed");
    assert_eq!(strip(live), strip(replayed));
    other.shutdown().await;

    broker.records.set_failing(false);
    fleet.run_until_stable(&service, 120_000).await;
    assert_eq!(fleet.live().count(), 4);
}

/// Task offsets are in-memory only and lost on rebuild by design (spec 06 §4.1):
/// the persisted view of a described group.
fn strip(
    mut g: streams_coordinator::protocol::describe::DescribedGroup,
) -> streams_coordinator::protocol::describe::DescribedGroup {
    streams_coordinator::group::clear_not_persisted(&mut g);
    g
}

#[tokio::test(start_paused = true)]
async fn unload_and_reload_under_traffic() {
    let broker = broker();
    let service = started(&broker).await;
    let p = service.partition_for(GROUP);
    let mut fleet = Fleet::new(3);
    fleet.run_until_stable(&service, 60_000).await;

    // Resign while clients keep heartbeating; a scale-out lands meanwhile.
    service.unload(p).await;
    fleet.clients.push(client(3));
    fleet.run_for(&service, 500).await;
    assert!(fleet
        .errors
        .iter()
        .all(|e| *e == ErrorCode::NOT_COORDINATOR.0));
    assert!(!fleet.errors.is_empty());

    // Another broker takes over from the same log.
    let successor = Service::new(config(), broker.hooks());
    successor.load(p).await.expect("reload");
    fleet.run_until_stable(&successor, 120_000).await;
    assert_eq!(
        fleet.fenced, 0,
        "members keep their epochs across the fail-over"
    );
    assert_eq!(fleet.live().count(), 4);
}

#[tokio::test(start_paused = true)]
async fn crashed_member_is_fenced_by_the_session_timer() {
    let broker = broker();
    let service = started(&broker).await;
    let mut fleet = Fleet::new(3);
    fleet.run_until_stable(&service, 60_000).await;
    fleet.dead.insert(1);
    let took = fleet.run_until_stable(&service, 120_000).await;
    assert!(
        took >= 45_000,
        "fenced only after the default 45 s session timeout, took {took}"
    );
    let g = describe(&service, GROUP).await.expect("describe");
    assert_eq!(g.members.len(), 2);
}

#[tokio::test(start_paused = true)]
async fn authorization_and_topology_name_checks() {
    let broker = broker();
    let (service, acl) = started_with_acl(&broker).await;
    let ctx = client_ctx();
    let mut c = client(0);

    let r = service.heartbeat(&ctx, c.heartbeat(0)).await;
    assert_eq!(r.error_code, ErrorCode::GROUP_AUTHORIZATION_FAILED.0);

    acl.allow(
        "User:test",
        AclOperation::Read,
        AclResource::Group(GROUP.into()),
    );
    let r = service.heartbeat(&ctx, c.heartbeat(0)).await;
    assert_eq!(r.error_code, ErrorCode::TOPIC_AUTHORIZATION_FAILED.0);

    let mut bad = c.heartbeat(0);
    if let Some(t) = bad.topology.as_mut() {
        t.subtopologies[0]
            .source_topics
            .push("__consumer_offsets".into());
    }
    let r = service.heartbeat(&ctx, bad).await;
    assert_eq!(r.error_code, ErrorCode::STREAMS_INVALID_TOPOLOGY.0);
    assert_eq!(
        r.error_message.as_deref(),
        Some("Use of Kafka internal topics __consumer_offsets in a Kafka Streams topology is prohibited.")
    );

    // Topics may be described but not created: the join works and the
    // missing changelog is reported as not creatable.
    acl.allow(
        "User:test",
        AclOperation::Describe,
        AclResource::Topic("*".into()),
    );
    let r = service.heartbeat(&ctx, c.heartbeat(0)).await;
    assert_eq!(r.error_code, 0);
    let status = r.status.unwrap_or_default();
    let missing = status
        .iter()
        .find(|s| s.status_code == StatusCode::MISSING_INTERNAL_TOPICS.0)
        .expect("status 3");
    assert!(
        missing
            .status_detail
            .ends_with("Unauthorized to CREATE on topics app-store-changelog."),
        "{}",
        missing.status_detail
    );
    assert!(broker.topics.created().is_empty());

    // Describe needs DESCRIBE on the group.
    let req = StreamsGroupDescribeRequest {
        group_ids: vec![GROUP.into()],
        include_authorized_operations: true,
        ..Default::default()
    };
    let d = service.describe(&ctx, req.clone()).await;
    assert_eq!(
        d.groups[0].error_code,
        ErrorCode::GROUP_AUTHORIZATION_FAILED.0
    );
    acl.allow(
        "User:test",
        AclOperation::Describe,
        AclResource::Group(GROUP.into()),
    );
    let d = service.describe(&ctx, req).await;
    assert_eq!(d.groups[0].error_code, 0);
    assert_eq!(
        d.groups[0].authorized_operations,
        (1 << 3) | (1 << 8),
        "READ and DESCRIBE"
    );
}

#[tokio::test(start_paused = true)]
async fn internal_topics_are_created_and_the_group_becomes_ready() {
    let broker = broker();
    let service = started(&broker).await;
    let mut fleet = Fleet::new(2);
    fleet.run_until_stable(&service, 60_000).await;
    assert_eq!(
        broker.topics.created(),
        vec!["app-store-changelog".to_string()]
    );
    assert_eq!(
        broker
            .metadata
            .current()
            .partition_count("app-store-changelog"),
        Some(INPUT_PARTITIONS)
    );
}

/// Requests arriving while an append is in flight share the next append
/// (group commit): ten joins over a 100 ms log take two appends, not ten.
#[tokio::test(start_paused = true)]
async fn concurrent_writes_share_appends() {
    let broker = broker();
    let service = started(&broker).await;
    broker
        .records
        .set_append_delay(Some(Duration::from_millis(100)));
    let appends_before = broker.records.append_count();
    let start = service.now_ms();
    let mut joins = Vec::new();
    for i in 0..10 {
        let s = service.clone();
        joins.push(tokio::spawn(async move {
            let mut c = client(i);
            s.heartbeat(&client_ctx(), c.heartbeat(0)).await
        }));
    }
    for j in joins {
        assert_eq!(j.await.expect("join").error_code, 0);
    }
    let took = service.now_ms() - start;
    let appends = broker.records.append_count() - appends_before;
    assert!(appends <= 3, "{appends} appends for 10 concurrent joins");
    assert!(took < 400, "took {took} ms");
}

/// A metadata change reaches the shard: the group's source topic is missing
/// (NotReady, MISSING_SOURCE_TOPICS) until the broker publishes it; then the
/// group configures, gets its changelog created and converges.
#[tokio::test(start_paused = true)]
async fn metadata_changes_reach_the_groups() {
    let broker = harness::memory::MemoryBroker::new(
        streams_coordinator::topology::ClusterMetadata::new(),
        INPUT_PARTITIONS,
    );
    let service = started(&broker).await;
    let mut fleet = Fleet::new(2);
    fleet.run_for(&service, 10_000).await;
    let g = describe(&service, GROUP).await.expect("describe");
    assert_eq!(g.group_state, "NotReady");
    assert!(fleet.live().all(|c| c.active.is_empty()));
    broker.metadata.set(metadata());
    fleet.run_until_stable(&service, 120_000).await;
}

/// ListGroups and DeleteGroups through the service: a live group lists as
/// Stable and cannot be deleted; once every member left it is Empty, its
/// deletion is durable (a fresh load of the log no longer has it), and
/// DELETE is authorized per group.
#[tokio::test(start_paused = true)]
async fn list_and_delete_groups() {
    let broker = broker();
    let service = started(&broker).await;
    for p in 0..PARTITIONS {
        service.load(p).await.expect("load");
    }
    let mut fleet = Fleet::new(2);
    fleet.run_until_stable(&service, 60_000).await;

    let listed = service.list_groups(&StateFilter::Any).await;
    assert_eq!(listed.len(), 1);
    assert_eq!(
        (listed[0].group_id.as_str(), listed[0].group_state),
        (GROUP, GroupState::Stable)
    );
    assert!(service
        .list_groups(&StateFilter::from_names(["empty"]))
        .await
        .is_empty());

    let ctx = client_ctx();
    let r = service
        .delete_groups(&ctx, &[GROUP.to_string(), "unknown".to_string()])
        .await;
    assert!(r.contains(&(GROUP.to_string(), ErrorCode::NON_EMPTY_GROUP)));
    assert!(r.contains(&("unknown".to_string(), ErrorCode::GROUP_ID_NOT_FOUND)));

    let now = service.now_ms();
    for c in fleet.clients.iter_mut() {
        c.leave(now);
    }
    fleet.run_for(&service, 100).await;
    assert_eq!(
        service
            .list_groups(&StateFilter::from_names(["Empty"]))
            .await
            .len(),
        1
    );

    // Authorization is checked before routing. Another service on the same
    // log would fence this one (its load starts a new epoch): it gets a log
    // of its own.
    let acl = Arc::new(MemoryAuthorizer::new());
    let denied = Service::new(config(), service_support::broker().hooks_with(acl));
    denied
        .load(denied.partition_for(GROUP))
        .await
        .expect("load");
    let r = denied.delete_groups(&ctx, &[GROUP.to_string()]).await;
    assert_eq!(
        r,
        vec![(GROUP.to_string(), ErrorCode::GROUP_AUTHORIZATION_FAILED)]
    );
    denied.shutdown().await;

    let r = service.delete_groups(&ctx, &[GROUP.to_string()]).await;
    assert_eq!(r, vec![(GROUP.to_string(), ErrorCode::NONE)]);
    assert!(service.list_groups(&StateFilter::Any).await.is_empty());
    let fresh = Service::new(config(), broker.hooks());
    fresh.load(fresh.partition_for(GROUP)).await.expect("load");
    assert!(
        fresh.list_groups(&StateFilter::Any).await.is_empty(),
        "the deletion is durable"
    );
}

/// The log stays down: appends and re-reads fail until the shard gives the
/// partition up (NOT_COORDINATOR); once the log is back, loading it again
/// serves the group from what was durable.
#[tokio::test(start_paused = true)]
async fn a_shard_that_gave_up_can_be_loaded_again() {
    let broker = broker();
    let service = started(&broker).await;
    let p = service.partition_for(GROUP);
    let mut fleet = Fleet::new(2);
    fleet.run_until_stable(&service, 60_000).await;
    broker.records.set_failing(true);
    broker.records.set_read_failing(true);
    fleet.clients.push(client(2));
    fleet.run_for(&service, 10_000).await;
    let mut probe = client(9);
    let r = service
        .heartbeat(&client_ctx(), probe.heartbeat(service.now_ms()))
        .await;
    assert_eq!(r.error_code, ErrorCode::NOT_COORDINATOR.0);
    assert_eq!(service.metrics().await.partitions_active, 0);

    broker.records.set_failing(false);
    broker.records.set_read_failing(false);
    service
        .load(p)
        .await
        .expect("reload after the log recovered");
    fleet.run_until_stable(&service, 120_000).await;
    assert_eq!(fleet.live().count(), 3);
}

#[tokio::test(start_paused = true)]
async fn the_authorizer_sees_the_client_host() {
    let (service, acl) = started_with_acl(&broker()).await;
    acl.allow_from(
        "User:test",
        "10.0.0.1",
        AclOperation::Read,
        AclResource::Group(GROUP.into()),
    );
    acl.allow(
        "User:test",
        AclOperation::Describe,
        AclResource::Topic("*".into()),
    );
    let from = |host: &str| ClientContext {
        client_host: host.into(),
        ..client_ctx()
    };
    let mut c = client(0);
    let r = service.heartbeat(&from("10.0.0.2"), c.heartbeat(0)).await;
    assert_eq!(r.error_code, ErrorCode::GROUP_AUTHORIZATION_FAILED.0);
    let r = service.heartbeat(&from("10.0.0.1"), c.heartbeat(0)).await;
    assert_eq!(r.error_code, 0, "{:?}", r.error_message);
}

#[tokio::test(start_paused = true)]
async fn the_service_and_the_broker_keep_one_group_namespace() {
    let broker = broker();
    let service = started(&broker).await;
    let p = service.partition_for(GROUP);
    // A consumer group of the broker holds the id: no streams group on it.
    service
        .set_foreign_group(GROUP, Some(ForeignGroupKind::Consumer), false)
        .await;
    let mut c = client(0);
    let refused = |r: &streams_coordinator::protocol::StreamsGroupHeartbeatResponse| {
        r.error_code == ErrorCode::GROUP_ID_NOT_FOUND.0
            && r.error_message.as_deref() == Some("Group app is not a streams group.")
    };
    let r = service.heartbeat(&client_ctx(), c.heartbeat(0)).await;
    assert!(refused(&r), "{r:?}");
    assert_eq!(service.holds_group(GROUP).await, Ok(false));
    // The broker's word is kept across a reload of the partition.
    service.unload(p).await;
    service.load(p).await.expect("reload");
    let r = service.heartbeat(&client_ctx(), c.heartbeat(0)).await;
    assert!(refused(&r), "after a reload: {r:?}");
    // The consumer group is deleted: the streams group may take the id, and
    // the service says it holds it.
    service.set_foreign_group(GROUP, None, false).await;
    let r = service.heartbeat(&client_ctx(), c.heartbeat(0)).await;
    assert_eq!(r.error_code, 0, "{:?}", r.error_message);
    assert_eq!(service.holds_group(GROUP).await, Ok(true));
    service.unload(p).await;
    assert_eq!(
        service.holds_group(GROUP).await,
        Err(ErrorCode::NOT_COORDINATOR)
    );
}
