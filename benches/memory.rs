//! Memory of the coordinator core (issue 14 items 2 and 3), counted with a
//! global allocator (`support/alloc.rs`); figures in docs/benchmarks.md
//! ("## Memory"). Not a timing bench: it prints one line per figure.
//!
//! * `steady`: bytes per member and per group in steady state, every member
//!   Stable and owning its assignment, built through `GroupCoordinator`
//!   heartbeats as clients would: (a) one group of 1,000 members over 10,000
//!   tasks, (b) 10,000 groups of 10 members over 100 tasks each; (b) also
//!   rebuilt from its records (a fail-over load). Counted: everything the
//!   core holds (groups, members, target and current assignments, the
//!   configured topologies and task spaces, the ownership indexes, timers,
//!   the rebalance history). Not counted: the cluster metadata (created
//!   before, shared with the broker), the records (they belong to the log),
//!   the simulated clients.
//! * `join`: the memory a first join with a large topology adds: a member
//!   joins an empty group with a topology of N subtopologies (the shape of
//!   Kafka Streams' one-source-topic subtopology: a short id and one source
//!   topic, about 21 bytes each on the wire), against the request's encoded
//!   size. Printed: the decoded request, the bytes the core holds after the
//!   join, the most it held during the call, and the output records.
//!
//! Run: `cargo bench --bench memory` (both), `-- steady` or `-- join`;
//! `MEMORY_STEADY_CASES=1x1000x10000,10000x10x100` (groups x members x
//! tasks per group) and `MEMORY_JOIN_SUBTOPOLOGIES=10000,300000` set the
//! sizes.

use std::sync::Arc;

#[path = "support/alloc.rs"]
mod alloc;
use alloc::{allocations, live_bytes, peak_bytes, reset_peak};

#[global_allocator]
static GLOBAL: alloc::Counting = alloc::Counting;

#[path = "support/requests.rs"]
mod requests;
use requests::{ctx, join, owning};

use streams_coordinator::assignor::AssignorRegistry;
use streams_coordinator::group::{CoordinatorConfig, GroupCoordinator, GroupState};
use streams_coordinator::protocol::heartbeat::{Subtopology, TaskIds, Topology};
use streams_coordinator::protocol::records::CoordinatorRecord;
use streams_coordinator::protocol::{Message, StreamsGroupHeartbeatRequest, Uuid};
use streams_coordinator::topology::ClusterMetadata;

const TOPIC: &str = "input";

fn config(initial_delay_ms: i64) -> CoordinatorConfig {
    let mut config = CoordinatorConfig::default();
    config
        .set(
            "group.streams.initial.rebalance.delay.ms",
            &initial_delay_ms.to_string(),
        )
        .expect("initial delay");
    config
        .set("group.streams.assignment.interval.ms", "0")
        .expect("assignment interval");
    config
}

/// A simulated client: its group, id, epoch and owned tasks.
struct Client {
    group: String,
    id: String,
    epoch: i32,
    owned: Vec<TaskIds>,
}

/// `groups` Stable groups of `members` members sharing `tasks` tasks each,
/// built through heartbeats (the joins fall in the initial delay, one
/// assignment per group when it expires, then every member heartbeats with
/// what it owns until its group is Stable). Returns the core and the
/// records it wrote, in order.
fn stable_groups(
    metadata: &Arc<ClusterMetadata>,
    groups: usize,
    members: usize,
) -> (GroupCoordinator, Vec<CoordinatorRecord>) {
    let mut core = GroupCoordinator::new(config(3000), Arc::new(AssignorRegistry::default()));
    let mut log = core.update_metadata(metadata.clone(), 0).records;
    let mut clients = Vec::with_capacity(groups * members);
    for g in 0..groups {
        let gid = format!("group-{g:05}");
        for i in 0..members {
            let id = format!("{gid}-member-{i:04}");
            let process = format!("{id}-process");
            let out = core.heartbeat(&ctx(0), join(&gid, &id, &process, TOPIC));
            assert_eq!(
                out.response.error_code, 0,
                "{:?}",
                out.response.error_message
            );
            log.extend(out.records);
            clients.push(Client {
                group: gid.clone(),
                id,
                epoch: out.response.member_epoch,
                owned: vec![],
            });
        }
    }
    log.extend(core.advance_time(3000).records);
    for round in 0.. {
        assert!(round < 20, "groups did not converge");
        for cl in clients.iter_mut() {
            let req = owning(&cl.group, &cl.id, cl.epoch, cl.owned.clone());
            let out = core.heartbeat(&ctx(3000), req);
            assert_eq!(
                out.response.error_code, 0,
                "{:?}",
                out.response.error_message
            );
            log.extend(out.records);
            cl.epoch = out.response.member_epoch;
            if let Some(active) = out.response.active_tasks {
                cl.owned = active;
            }
        }
        let stable = clients
            .iter()
            .step_by(members)
            .all(|cl| core.group_state(&cl.group) == Some(GroupState::Stable));
        if stable {
            break;
        }
    }
    // Every member owns its target: the tasks the clients hold add up to
    // every task of every group, once.
    let owned: usize = clients
        .iter()
        .flat_map(|cl| &cl.owned)
        .map(|t| t.partitions.len())
        .sum();
    let total = metadata.partition_count(TOPIC).unwrap_or(0) as usize * groups;
    assert_eq!(owned, total, "every task owned once");
    (core, log)
}

/// With `MEMORY_PAUSE` set, waits for a line on stdin: a heap profiler can
/// snapshot the state then (e.g. `vgdb detailed_snapshot` under massif).
fn pause(what: &str) {
    if std::env::var_os("MEMORY_PAUSE").is_some() {
        eprintln!("memory: paused at {what}; press enter");
        let _ = std::io::stdin().read_line(&mut String::new());
    }
}

fn per(bytes: i64, n: usize) -> i64 {
    bytes / n as i64
}

fn steady_case(groups: usize, members: usize, tasks: i32) {
    let metadata =
        Arc::new(ClusterMetadata::new().with_topic(Uuid::from_u64_pair(7, 7), TOPIC, tasks));
    let before = live_bytes();
    let (core, log) = stable_groups(&metadata, groups, members);
    // The log's bytes are the log's, not the core's: counted without it.
    let with_log = live_bytes() - before;
    let at = live_bytes();
    let records = log.len();
    drop(log);
    let log_bytes = at - live_bytes();
    let held = live_bytes() - before;
    println!(
        "memory/steady: {groups} groups x {members} members x {tasks} tasks, built by heartbeats: \
         the core holds {held} bytes = {} per group, {} per member ({records} records written, \
         {log_bytes} bytes of them in memory, not counted; {with_log} with them)",
        per(held, groups),
        per(held, groups * members),
    );
    pause("the core built by heartbeats");
    // A deep copy (`Clone`): the same state with no spare capacity in its
    // vectors and freshly built maps.
    let at = live_bytes();
    let copy = core.clone();
    let copied = live_bytes() - at;
    drop(copy);
    println!(
        "memory/steady: {groups} groups x {members} members x {tasks} tasks, a deep copy of \
         that core holds {copied} bytes = {} per group, {} per member",
        per(copied, groups),
        per(copied, groups * members),
    );
    drop(core);

    // The same groups rebuilt from their records, as a fail-over load does.
    let (core, log) = stable_groups(&metadata, groups, members);
    drop(core);
    let before = live_bytes();
    let mut loaded = GroupCoordinator::new(config(3000), Arc::new(AssignorRegistry::default()));
    loaded.update_metadata(metadata.clone(), 0);
    loaded.replay_all(&log).expect("replay");
    loaded.on_loaded(3000);
    let held = live_bytes() - before;
    drop(log);
    pause("the core loaded from its records");
    println!(
        "memory/steady: {groups} groups x {members} members x {tasks} tasks, loaded from its \
         records: the core holds {held} bytes = {} per group, {} per member",
        per(held, groups),
        per(held, groups * members),
    );
}

/// A topology of `n` subtopologies, each with a short id and the one
/// source topic.
fn wide_topology(n: usize) -> Topology {
    Topology {
        epoch: 0,
        subtopologies: (0..n)
            .map(|i| Subtopology {
                subtopology_id: i.to_string(),
                source_topics: vec![TOPIC.into()],
                ..Subtopology::default()
            })
            .collect(),
    }
}

/// `join` with the topology of [`wide_topology`].
fn with_topology(mut join: StreamsGroupHeartbeatRequest, n: usize) -> StreamsGroupHeartbeatRequest {
    join.topology = Some(wide_topology(n));
    join
}

fn mb(bytes: i64) -> String {
    format!("{:.1} MB", bytes as f64 / 1e6)
}

fn join_case(subtopologies: usize) {
    let metadata = Arc::new(ClusterMetadata::new().with_topic(Uuid::from_u64_pair(7, 7), TOPIC, 1));
    let mut core = GroupCoordinator::new(config(0), Arc::new(AssignorRegistry::default()));
    core.update_metadata(metadata, 0);
    let at = live_bytes();
    let request = with_topology(join("big", "member-1", "process-1", TOPIC), subtopologies);
    let decoded = live_bytes() - at;
    let encoded = request.encoded_len(1).expect("encodes") as i64;

    reset_peak();
    let before = live_bytes();
    let allocs = allocations();
    let out = core.heartbeat(&ctx(0), request);
    let allocs = allocations() - allocs;
    let with_output = live_bytes() - before;
    let peak = peak_bytes() - before;
    assert_eq!(
        out.response.error_code, 0,
        "{:?}",
        out.response.error_message
    );
    let assigned: usize = out
        .response
        .active_tasks
        .iter()
        .flatten()
        .map(|t| t.partitions.len())
        .sum();
    let records = out.records.len();
    let record_bytes: usize = out
        .records
        .iter()
        .map(|r| {
            r.key_bytes().expect("key").len()
                + r.value_bytes().expect("value").map_or(0, |v| v.len())
        })
        .sum();
    drop(out);
    let retained = live_bytes() - before;
    let ratio = |b: i64| b as f64 / encoded as f64;
    println!(
        "memory/join: {subtopologies} subtopologies, request {encoded} bytes encoded ({}), \
         {} decoded ({:.1}x); the first join: holds {} after ({:.1}x), peak {} during the call \
         ({:.1}x), {} with its output ({records} records, {} encoded); {assigned} tasks assigned; \
         {allocs} allocations",
        mb(encoded),
        mb(decoded),
        ratio(decoded),
        mb(retained),
        ratio(retained),
        mb(peak),
        ratio(peak),
        mb(with_output),
        mb(record_bytes as i64),
    );

    // A second member joins the group with the same topology (every member
    // sends it on its first heartbeat).
    let request = with_topology(join("big", "member-2", "process-2", TOPIC), subtopologies);
    reset_peak();
    let before = live_bytes();
    let out = core.heartbeat(&ctx(1), request);
    assert_eq!(
        out.response.error_code, 0,
        "{:?}",
        out.response.error_message
    );
    let peak = peak_bytes() - before;
    drop(out);
    let retained = live_bytes() - before;
    println!(
        "memory/join: {subtopologies} subtopologies, a second member's join with the same \
         topology: holds {} more after ({:.1}x; its request was {} decoded, now consumed), \
         peak {} during the call ({:.1}x)",
        mb(retained),
        ratio(retained),
        mb(decoded),
        mb(peak),
        ratio(peak),
    );
}

fn main() {
    // `cargo bench` passes `--bench`; a bare word picks the part.
    let parts: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .collect();
    let run = |p: &str| parts.is_empty() || parts.iter().any(|a| a == p);
    if run("steady") {
        let cases = std::env::var("MEMORY_STEADY_CASES")
            .unwrap_or_else(|_| "1x1000x10000,10000x10x100".into());
        for case in cases.split(',') {
            let n: Vec<usize> = case
                .split('x')
                .filter_map(|s| s.trim().parse().ok())
                .collect();
            let [groups, members, tasks] = n[..] else {
                panic!("MEMORY_STEADY_CASES: GROUPSxMEMBERSxTASKS,... (got {case:?})");
            };
            steady_case(groups, members, tasks as i32);
        }
    }
    if run("join") {
        let sizes =
            std::env::var("MEMORY_JOIN_SUBTOPOLOGIES").unwrap_or_else(|_| "10000,300000".into());
        for n in sizes.split(',').filter_map(|s| s.trim().parse().ok()) {
            join_case(n);
        }
    }
}
