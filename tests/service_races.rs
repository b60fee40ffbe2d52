//! The races of moving a partition between coordinators (issue 12): unload
//! must be prompt even when an append hangs, there are never two live shards
//! for one partition, and a concurrent load returns the real outcome.
//!
//! Each test reproduces a bug of the service before the pure shard: see the
//! comment on each for what it used to do.

mod service_support;

use std::time::Duration;

use service_support::*;
use streams_coordinator::protocol::{ErrorCode, StreamsGroupDescribeRequest};
use streams_coordinator::service::{Service, ServiceError};

/// A describe of the group, sent in the background.
fn spawn_describe(
    service: &Service,
) -> tokio::task::JoinHandle<streams_coordinator::protocol::StreamsGroupDescribeResponse> {
    let s = service.clone();
    tokio::spawn(async move {
        s.describe(
            &client_ctx(),
            StreamsGroupDescribeRequest {
                group_ids: vec![GROUP.into()],
                ..Default::default()
            },
        )
        .await
    })
}

/// A join of client `i`, sent in the background.
fn spawn_join(
    service: &Service,
    i: usize,
) -> tokio::task::JoinHandle<streams_coordinator::protocol::StreamsGroupHeartbeatResponse> {
    let s = service.clone();
    tokio::spawn(async move {
        let mut c = client(i);
        s.heartbeat(&client_ctx(), c.heartbeat(s.now_ms())).await
    })
}

/// Before: with an append in flight and a describe waiting for it, the shard
/// read no request, so `unload` took as long as the append (forever if it
/// hangs, and `shutdown` with it). Now unload completes at once and both
/// requests get NOT_COORDINATOR.
#[tokio::test(start_paused = true)]
async fn unload_is_prompt_while_an_append_hangs() {
    let broker = broker();
    let service = started(&broker).await;
    let p = service.partition_for(GROUP);
    // An hour stands for "never" on the paused clock.
    broker
        .records
        .set_append_delay(Some(Duration::from_secs(3_600)));
    let join = spawn_join(&service, 0);
    tokio::time::sleep(Duration::from_millis(10)).await;
    let described = spawn_describe(&service);
    tokio::time::sleep(Duration::from_millis(10)).await;

    let unloaded = tokio::time::timeout(Duration::from_secs(1), service.unload(p)).await;
    assert!(unloaded.is_ok(), "unload waited for the hung append");
    let join = join.await.expect("join task");
    assert_eq!(join.error_code, ErrorCode::NOT_COORDINATOR.0);
    let described = described.await.expect("describe task");
    assert_eq!(described.groups.len(), 1);
    assert_eq!(
        described.groups[0].error_code,
        ErrorCode::GROUP_ID_NOT_FOUND.0,
        "the describe is answered at the committed state, where the join is not durable: {:?}",
        described.groups[0]
    );
    // Nothing of the abandoned append became durable.
    assert!(broker
        .records
        .records(p)
        .iter()
        .all(|r| r.key.member_id() != Some("member-0")));
    let shut = tokio::time::timeout(Duration::from_secs(1), service.shutdown()).await;
    assert!(shut.is_ok(), "shutdown hangs");
}

/// Before: `load(p)` while `unload(p)` still ran started a second shard while
/// the first still answered: a join answered with success by the old shard
/// was unknown to the new one. Now load waits for the old shard to stop, so
/// every success answered is known to the shard that serves afterwards.
#[tokio::test(start_paused = true)]
async fn load_while_unload_runs_never_leaves_two_live_shards() {
    let broker = broker();
    let service = started(&broker).await;
    let p = service.partition_for(GROUP);
    broker
        .records
        .set_append_delay(Some(Duration::from_secs(3)));
    let join = spawn_join(&service, 0);
    tokio::time::sleep(Duration::from_millis(10)).await;
    let described = spawn_describe(&service);
    tokio::time::sleep(Duration::from_millis(10)).await;

    let s = service.clone();
    let unload = tokio::spawn(async move { s.unload(p).await });
    tokio::time::sleep(Duration::from_millis(10)).await;
    service.load(p).await.expect("reload");
    broker.records.set_append_delay(None);

    let join = join.await.expect("join task");
    let _ = described.await.expect("describe task");
    unload.await.expect("unload task");
    let now = describe(&service, GROUP).await;
    let known = now
        .as_ref()
        .is_some_and(|g| g.members.iter().any(|m| m.member_id == "member-0"));
    if join.error_code == 0 {
        assert!(
            known,
            "a join answered with success is unknown to the shard now serving: {now:?}"
        );
    } else {
        assert_eq!(join.error_code, ErrorCode::NOT_COORDINATOR.0);
    }
    service.shutdown().await;
}

/// The variant: the old and the new shard each admit a member and both are
/// answered with success, each granted the group's tasks. With one live shard
/// at a time, at most one of them can own a task.
#[tokio::test(start_paused = true)]
async fn load_while_unload_runs_never_grants_a_task_twice() {
    let broker = broker();
    let mut cfg = config();
    cfg.coordinator.initial_rebalance_delay_ms = 0;
    // The changelog exists, so the first join is granted the group's tasks.
    broker.metadata.set(metadata().with_topic(
        streams_coordinator::protocol::Uuid([8; 16]),
        "app-store-changelog",
        INPUT_PARTITIONS,
    ));
    let service = Service::new(cfg, broker.hooks());
    let p = service.partition_for(GROUP);
    service.load(p).await.expect("load");
    broker
        .records
        .set_append_delay(Some(Duration::from_secs(3)));
    let old = spawn_join(&service, 0);
    tokio::time::sleep(Duration::from_millis(10)).await;
    let described = spawn_describe(&service);
    tokio::time::sleep(Duration::from_millis(10)).await;
    let s = service.clone();
    let unload = tokio::spawn(async move { s.unload(p).await });
    tokio::time::sleep(Duration::from_millis(10)).await;
    service.load(p).await.expect("reload");
    let new = spawn_join(&service, 1);

    let old = old.await.expect("old join");
    let new = new.await.expect("new join");
    let _ = described.await;
    unload.await.expect("unload task");
    let tasks = |r: &streams_coordinator::protocol::StreamsGroupHeartbeatResponse| {
        r.active_tasks
            .iter()
            .flatten()
            .flat_map(|t| {
                t.partitions
                    .iter()
                    .map(move |p| (t.subtopology_id.clone(), *p))
            })
            .collect::<std::collections::BTreeSet<_>>()
    };
    if old.error_code == 0 && new.error_code == 0 {
        let shared: Vec<_> = tasks(&old).intersection(&tasks(&new)).cloned().collect();
        assert!(
            shared.is_empty(),
            "two members were granted the same tasks: {shared:?}"
        );
    }
    service.shutdown().await;
}

/// Before: a second `load(p)` while the first was loading returned Ok at once,
/// even when the first then failed. Now both return the real outcome.
#[tokio::test(start_paused = true)]
async fn a_concurrent_load_returns_the_real_outcome() {
    let broker = slow_loading_broker();
    broker.records.set_read_failing(true);
    let service = Service::new(config(), broker.hooks());
    let p = service.partition_for(GROUP);
    let s = service.clone();
    let first = tokio::spawn(async move { s.load(p).await });
    tokio::time::sleep(Duration::from_millis(100)).await;
    let second = service.load(p).await;
    let first = first.await.expect("first load");
    assert!(
        matches!(first, Err(ServiceError::Load(_))),
        "the first load fails: {first:?}"
    );
    assert!(
        matches!(second, Err(ServiceError::Load(_))),
        "the second load returned {second:?} while the load it joined failed"
    );
}

/// The success variant: a second load returns only once the partition serves.
#[tokio::test(start_paused = true)]
async fn a_concurrent_load_returns_once_loaded() {
    let broker = slow_loading_broker();
    let service = Service::new(config(), broker.hooks());
    let loader = start_loading(&service).await;
    service
        .load(service.partition_for(GROUP))
        .await
        .expect("second load");
    let mut c = client(0);
    let resp = service
        .heartbeat(&client_ctx(), c.heartbeat(service.now_ms()))
        .await;
    assert_eq!(
        resp.error_code, 0,
        "the partition serves once the second load returned"
    );
    loader.await.expect("join").expect("first load");
}

/// The RecordSink fence: every read starts a new load epoch, and an append
/// of an older epoch (a former coordinator's late write) is refused and
/// stores nothing.
#[tokio::test(start_paused = true)]
async fn the_memory_sink_refuses_a_stale_write() {
    use harness::memory::MemoryRecordSink;
    use streams_coordinator::service::{RecordSink, SinkError};
    let broker = broker();
    let service = started(&broker).await;
    let p = service.partition_for(GROUP);
    let mut c = client(0);
    let resp = service.heartbeat(&client_ctx(), c.heartbeat(0)).await;
    assert_eq!(resp.error_code, 0);
    let records = broker.records.records(p);
    assert!(!records.is_empty());

    let sink = MemoryRecordSink::new();
    let first = sink.read(p).await.expect("read");
    sink.append(p, first.epoch, records.clone())
        .await
        .expect("append of the current epoch");
    let second = sink.read(p).await.expect("read");
    assert!(second.epoch > first.epoch);
    let late = sink.append(p, first.epoch, records.clone()).await;
    assert!(
        matches!(late, Err(SinkError::NotLeader { .. })),
        "a stale write is refused: {late:?}"
    );
    assert_eq!(sink.records(p), records, "and stores nothing");
    assert_eq!(sink.fenced_count(), 1);
    sink.append(p, second.epoch, Vec::new())
        .await
        .expect("the current epoch appends");
    service.shutdown().await;
}

/// End to end: once another coordinator loaded the partition from the same
/// log, the former one's writes are fenced (its client gets NOT_COORDINATOR)
/// and the successor's log holds none of them.
#[tokio::test(start_paused = true)]
async fn a_former_coordinator_cannot_write_after_its_successor_loaded() {
    let broker = broker();
    let former = started(&broker).await;
    let p = former.partition_for(GROUP);
    let successor = Service::new(config(), broker.hooks());
    successor.load(p).await.expect("successor load");
    let mut c = client(0);
    let resp = former.heartbeat(&client_ctx(), c.heartbeat(0)).await;
    assert_eq!(resp.error_code, ErrorCode::NOT_COORDINATOR.0);
    assert_eq!(broker.records.fenced_count(), 1);
    assert!(broker
        .records
        .records(p)
        .iter()
        .all(|r| r.key.member_id() != Some("member-0")));
    let mut c = client(0);
    let resp = successor.heartbeat(&client_ctx(), c.heartbeat(0)).await;
    assert_eq!(resp.error_code, 0, "the successor serves");
    former.shutdown().await;
    successor.shutdown().await;
}
