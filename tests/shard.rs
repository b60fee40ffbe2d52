//! The shard's persistence protocol, driven deterministically without tokio:
//! replies only after their append is acknowledged, group commit, rebuild
//! after a failed append, reads at the committed state, unload.

mod core_support;

use std::sync::Arc;

use core_support::*;
use streams_coordinator::assignor::AssignorRegistry;
use streams_coordinator::group::StateFilter;
use streams_coordinator::protocol::describe::DescribedGroup;
use streams_coordinator::protocol::{CoordinatorRecord, ErrorCode, StreamsGroupDescribeRequest};
use streams_coordinator::shard::{
    Answer, Append, Failure, Loaded, LoadedLog, Phase, Reply, Request, Shard, SinkError,
    REBUILD_BACKOFF_MS,
};
use streams_coordinator::topology::ClusterMetadata;

const G: &str = "app";

fn cluster() -> Arc<ClusterMetadata> {
    metadata(&[("input", 4), ("app-store-changelog", 4)])
}

/// A shard loaded from `log` (epoch 1).
fn loaded(log: Vec<CoordinatorRecord>) -> Shard<u32> {
    let mut shard = Shard::new(
        0,
        config(&[]),
        Arc::new(AssignorRegistry::default()),
        cluster(),
    );
    assert_eq!(shard.phase(), Phase::Loading);
    assert!(shard.poll_read(0), "a new shard asks for the log");
    let outcome = shard.on_log(
        Ok(LoadedLog {
            epoch: 1,
            records: Arc::new(log),
        }),
        &[],
        0,
    );
    assert_eq!(outcome, Ok(Loaded::Initial));
    assert_eq!(shard.phase(), Phase::Active);
    shard
}

fn heartbeat(
    shard: &mut Shard<u32>,
    token: u32,
    req: streams_coordinator::protocol::StreamsGroupHeartbeatRequest,
    now: i64,
) {
    shard.handle(token, Request::Heartbeat(ctx(now), Box::new(req)), now);
}

fn replies(shard: &mut Shard<u32>) -> Vec<Reply<u32>> {
    std::iter::from_fn(|| shard.poll_reply()).collect()
}

fn tokens(replies: &[Reply<u32>]) -> Vec<u32> {
    replies.iter().map(|r| r.token).collect()
}

fn member_epoch(reply: &Reply<u32>) -> i32 {
    match &reply.result {
        Ok(Answer::Heartbeat(done)) => {
            assert_eq!(done.response.error_code, 0, "{:?}", done.response);
            done.response.member_epoch
        }
        other => panic!("not a heartbeat answer: {other:?}"),
    }
}

fn describe(shard: &mut Shard<u32>, token: u32) -> DescribedGroup {
    let req = StreamsGroupDescribeRequest {
        group_ids: vec![G.into()],
        ..Default::default()
    };
    shard.handle(token, Request::Describe(ctx(0), req), 0);
    // Replies released earlier are ahead of it (and not looked at here).
    let r = replies(shard)
        .into_iter()
        .find(|r| r.token == token)
        .expect("a describe is answered at once");
    match r.result {
        Ok(Answer::Described(mut groups)) => groups.remove(0),
        other => panic!("not a describe answer: {other:?}"),
    }
}

fn members(g: &DescribedGroup) -> Vec<String> {
    g.members.iter().map(|m| m.member_id.clone()).collect()
}

/// Performs the due append successfully; returns it.
fn ack(shard: &mut Shard<u32>, log: &mut Vec<CoordinatorRecord>, now: i64) -> Append {
    let append = shard.poll_append().expect("an append is due");
    log.extend(append.records.iter().cloned());
    shard.on_appended(append.seq, Ok(()), now);
    append
}

#[test]
fn a_reply_leaves_only_once_its_append_is_acknowledged() {
    let mut log = Vec::new();
    let mut shard = loaded(Vec::new());
    heartbeat(&mut shard, 1, join(G, "a", simple_topology("input")), 0);
    assert!(replies(&mut shard).is_empty(), "answered before durable");
    let append = shard.poll_append().expect("the join's records");
    assert_eq!((append.seq, append.epoch), (1, 1));
    assert!(!append.records.is_empty());
    assert!(shard.poll_append().is_none(), "handed out once");
    assert!(replies(&mut shard).is_empty(), "answered while in flight");
    log.extend(append.records);
    shard.on_appended(1, Ok(()), 0);
    let r = replies(&mut shard);
    assert_eq!(tokens(&r), vec![1]);
    assert!(member_epoch(&r[0]) > 0);
    assert!(shard.is_idle());
}

#[test]
fn requests_arriving_during_an_append_share_the_next_one() {
    let mut log = Vec::new();
    let mut shard = loaded(Vec::new());
    heartbeat(&mut shard, 1, join(G, "a", simple_topology("input")), 0);
    let first = shard.poll_append().expect("first append");
    heartbeat(&mut shard, 2, join(G, "b", simple_topology("input")), 1);
    heartbeat(&mut shard, 3, join(G, "c", simple_topology("input")), 1);
    assert!(
        shard.poll_append().is_none(),
        "at most one append in flight"
    );
    log.extend(first.records);
    shard.on_appended(first.seq, Ok(()), 2);
    assert_eq!(tokens(&replies(&mut shard)), vec![1]);
    let second = ack(&mut shard, &mut log, 3);
    assert_eq!(second.seq, 2);
    for m in ["b", "c"] {
        assert!(
            second.records.iter().any(|r| r.key.member_id() == Some(m)),
            "the join of {m} is in the group-committed append"
        );
    }
    assert_eq!(tokens(&replies(&mut shard)), vec![2, 3]);
}

#[test]
fn a_request_writing_nothing_waits_for_the_writes_it_observed() {
    let mut log = Vec::new();
    let mut shard = loaded(Vec::new());
    heartbeat(&mut shard, 1, join(G, "a", simple_topology("input")), 0);
    let first = ack(&mut shard, &mut log, 0);
    let epoch = member_epoch(&replies(&mut shard)[0]);
    // b's join is pending; a's heartbeat writes nothing but sees b.
    heartbeat(&mut shard, 2, join(G, "b", simple_topology("input")), 1);
    let second = shard.poll_append().expect("b's join");
    assert!(second.seq > first.seq);
    heartbeat(&mut shard, 3, beat(G, "a", epoch), 1);
    assert!(replies(&mut shard).is_empty());
    shard.on_appended(second.seq, Ok(()), 2);
    // a's heartbeat may have written records of its own (a new target for
    // both members): then it waits for that append too.
    let mut answered = tokens(&replies(&mut shard));
    if !answered.contains(&3) {
        ack(&mut shard, &mut log, 3);
        answered.extend(tokens(&replies(&mut shard)));
    }
    assert_eq!(answered, vec![2, 3]);
}

#[test]
fn a_stale_or_unknown_append_outcome_is_ignored() {
    let mut shard = loaded(Vec::new());
    heartbeat(&mut shard, 1, join(G, "a", simple_topology("input")), 0);
    let append = shard.poll_append().expect("append");
    shard.on_appended(append.seq + 7, Ok(()), 0);
    shard.on_appended(append.seq - 1, Err(storage()), 0);
    assert!(replies(&mut shard).is_empty());
    assert_eq!(shard.phase(), Phase::Active);
    shard.on_appended(append.seq, Ok(()), 0);
    assert_eq!(tokens(&replies(&mut shard)), vec![1]);
}

fn storage() -> SinkError {
    SinkError::Storage {
        partition: 0,
        detail: "disk".into(),
    }
}

#[test]
fn a_failed_append_answers_a_retriable_error_and_rebuilds_from_the_log() {
    let mut log = Vec::new();
    let mut shard = loaded(Vec::new());
    heartbeat(&mut shard, 1, join(G, "a", simple_topology("input")), 0);
    ack(&mut shard, &mut log, 0);
    replies(&mut shard);
    heartbeat(&mut shard, 2, join(G, "b", simple_topology("input")), 1);
    let failed = shard.poll_append().expect("b's join");
    heartbeat(&mut shard, 3, join(G, "c", simple_topology("input")), 1);
    shard.on_appended(failed.seq, Err(storage()), 2);
    let r = replies(&mut shard);
    assert_eq!(tokens(&r), vec![2, 3]);
    for reply in &r {
        assert_eq!(
            reply.result.as_ref().err().map(|f| f.code),
            Some(ErrorCode::NOT_COORDINATOR),
            "Kafka's code for a storage error"
        );
    }
    assert_eq!(shard.phase(), Phase::Rebuilding);
    // Meanwhile requests are told to retry.
    heartbeat(&mut shard, 4, join(G, "d", simple_topology("input")), 2);
    let r = replies(&mut shard);
    assert_eq!(
        r[0].result.as_ref().err(),
        Some(&Failure::new(ErrorCode::COORDINATOR_LOAD_IN_PROGRESS))
    );

    // The first re-read fails: retried after the backoff.
    assert!(shard.poll_read(2));
    assert_eq!(shard.on_log(Err(storage()), &[], 2), Ok(Loaded::Retrying));
    assert!(!shard.poll_read(2), "not before the backoff");
    assert_eq!(shard.next_deadline(), Some(2 + REBUILD_BACKOFF_MS));
    assert!(shard.poll_read(2 + REBUILD_BACKOFF_MS));
    let rebuilt = shard.on_log(
        Ok(LoadedLog {
            epoch: 2,
            records: Arc::new(log.clone()),
        }),
        &[],
        200,
    );
    assert_eq!(rebuilt, Ok(Loaded::Rebuilt));
    assert_eq!(shard.epoch(), 2);
    assert_eq!(members(&describe(&mut shard, 5)), vec!["a".to_string()]);
    // Later appends carry the new epoch.
    heartbeat(&mut shard, 6, join(G, "b", simple_topology("input")), 300);
    assert_eq!(shard.poll_append().expect("append").epoch, 2);
}

#[test]
fn a_describe_answers_at_the_committed_state_while_writes_go_on() {
    let mut log = Vec::new();
    let mut shard = loaded(Vec::new());
    heartbeat(&mut shard, 1, join(G, "a", simple_topology("input")), 0);
    // In flight, not durable: the group does not exist at the committed state.
    let first = shard.poll_append().expect("a's join");
    let d = describe(&mut shard, 10);
    assert_eq!(d.error_code, ErrorCode::GROUP_ID_NOT_FOUND.0);
    log.extend(first.records);
    shard.on_appended(first.seq, Ok(()), 0);
    replies(&mut shard);
    assert_eq!(members(&describe(&mut shard, 11)), vec!["a".to_string()]);

    // b's join in flight and c's pending: describe still shows a alone, and
    // the shard keeps taking writes.
    heartbeat(&mut shard, 2, join(G, "b", simple_topology("input")), 1);
    let second = shard.poll_append().expect("b's join");
    assert_eq!(members(&describe(&mut shard, 12)), vec!["a".to_string()]);
    heartbeat(&mut shard, 3, join(G, "c", simple_topology("input")), 1);
    assert_eq!(members(&describe(&mut shard, 13)), vec!["a".to_string()]);
    log.extend(second.records);
    shard.on_appended(second.seq, Ok(()), 2);
    assert_eq!(
        members(&describe(&mut shard, 14)),
        vec!["a".to_string(), "b".to_string()],
        "b is durable, c is not"
    );
    ack(&mut shard, &mut log, 3);
    assert_eq!(members(&describe(&mut shard, 15)).len(), 3);
    // Lists and offset-fetch validation read the same state.
    let seen = Arc::new(std::sync::Mutex::new(None));
    let slot = seen.clone();
    let probe: streams_coordinator::shard::ReadOp = Box::new(move |core| {
        *slot.lock().expect("slot") = Some(core.list_groups(&StateFilter::Any).len());
    });
    shard.handle(16, Request::Read(probe), 4);
    assert_eq!(*seen.lock().expect("slot"), Some(1), "the read ran at once");
}

#[test]
fn a_topology_configured_without_a_record_shows_once_a_later_write_is_durable() {
    // A durable log of a stateful group of one member.
    let mut core = harness(&[]);
    core.update_metadata(cluster());
    let joined = hb(
        &mut core,
        0,
        join(G, "a", stateful_topology("input", "app-store-changelog")),
    );
    let log = core.records().to_vec();
    let epoch = joined.response.member_epoch;
    let changelog_partitions = |g: &DescribedGroup| {
        g.topology
            .as_ref()
            .and_then(|t| t.subtopologies.as_ref())
            .map(|s| s[0].state_changelog_topics[0].partitions)
    };

    // A shard rebuilt from it has no configured topology: describe shows
    // the recorded partition count.
    let mut shard = loaded(log.clone());
    let recorded = changelog_partitions(&describe(&mut shard, 1));
    assert_eq!(recorded, Some(0));

    // a's heartbeat configures the topology and writes nothing.
    heartbeat(&mut shard, 2, beat(G, "a", epoch), 10);
    assert!(shard.poll_append().is_none(), "no record written");
    assert_eq!(tokens(&replies(&mut shard)), vec![2]);
    assert_eq!(
        changelog_partitions(&describe(&mut shard, 3)),
        recorded,
        "not shown before a later write is durable"
    );

    // A later write (b joins) becomes durable: now it shows.
    heartbeat(
        &mut shard,
        4,
        join(G, "b", stateful_topology("input", "app-store-changelog")),
        20,
    );
    let append = shard.poll_append().expect("b's join");
    assert_eq!(changelog_partitions(&describe(&mut shard, 5)), recorded);
    shard.on_appended(append.seq, Ok(()), 30);
    assert_eq!(changelog_partitions(&describe(&mut shard, 6)), Some(4));
}

#[test]
fn unload_answers_everything_at_once_and_abandons_the_append() {
    let mut log = Vec::new();
    let mut shard = loaded(Vec::new());
    heartbeat(&mut shard, 1, join(G, "a", simple_topology("input")), 0);
    ack(&mut shard, &mut log, 0);
    replies(&mut shard);
    heartbeat(&mut shard, 2, join(G, "b", simple_topology("input")), 1);
    let abandoned = shard.poll_append().expect("b's join");
    heartbeat(&mut shard, 3, join(G, "c", simple_topology("input")), 1);
    shard.unload();
    let r = replies(&mut shard);
    assert_eq!(tokens(&r), vec![2, 3]);
    assert!(r
        .iter()
        .all(|r| r.result.as_ref().err() == Some(&Failure::new(ErrorCode::NOT_COORDINATOR))));
    assert_eq!(shard.phase(), Phase::Unloaded);
    // The abandoned append's outcome changes nothing.
    shard.on_appended(abandoned.seq, Ok(()), 2);
    assert!(replies(&mut shard).is_empty());
    heartbeat(&mut shard, 4, join(G, "d", simple_topology("input")), 3);
    assert_eq!(
        replies(&mut shard)[0].result.as_ref().err(),
        Some(&Failure::new(ErrorCode::NOT_COORDINATOR))
    );
    assert!(shard.poll_append().is_none() && !shard.poll_read(10));
}

#[test]
fn a_write_sent_while_loading_runs_once_loaded() {
    let mut shard: Shard<u32> = Shard::new(
        0,
        config(&[]),
        Arc::new(AssignorRegistry::default()),
        cluster(),
    );
    let op: streams_coordinator::shard::WriteOp = Box::new(|core, now| {
        core.update_group_config(
            G,
            &[(
                "streams.heartbeat.interval.ms".to_string(),
                "6000".to_string(),
            )],
            now,
        )
        .expect("valid config")
        .records
    });
    shard.handle(1, Request::Write(op), 0);
    heartbeat(&mut shard, 2, join(G, "a", simple_topology("input")), 0);
    let r = replies(&mut shard);
    assert_eq!(tokens(&r), vec![2], "the heartbeat is told to retry");
    assert_eq!(
        r[0].result.as_ref().err(),
        Some(&Failure::new(ErrorCode::COORDINATOR_LOAD_IN_PROGRESS))
    );
    assert!(shard.poll_read(0));
    shard
        .on_log(Ok(LoadedLog::default()), &[], 0)
        .expect("loaded");
    let r = replies(&mut shard);
    assert_eq!(tokens(&r), vec![1]);
    assert!(matches!(r[0].result, Ok(Answer::Written)));
    assert!(shard.coordinator().group_config(G).is_some());
}

#[test]
fn a_failed_first_load_fails_the_shard() {
    let mut shard: Shard<u32> = Shard::new(
        0,
        config(&[]),
        Arc::new(AssignorRegistry::default()),
        cluster(),
    );
    assert!(shard.poll_read(0));
    assert!(shard.on_log(Err(storage()), &[], 0).is_err());
    assert_eq!(shard.phase(), Phase::Failed);
    assert!(!shard.poll_read(1_000));
}
