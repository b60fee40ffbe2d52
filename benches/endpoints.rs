//! IQ endpoints (issue 14 item 5), figures in docs/benchmarks.md ("## IQ
//! endpoints"): a counting harness, not a criterion bench.
//!
//! `ENDPOINT_MEMBERS` members (default 1,000), each with a user endpoint,
//! join one group whose topology reads a topic of `ENDPOINT_PARTITIONS`
//! partitions (default 100,000: one subtopology, one task per partition, one
//! process per member). They all join at once; when the initial rebalance
//! delay expires the target is computed, and every member heartbeats
//! (reporting the tasks it owns and the endpoint-information epoch it last
//! got) until the group is Stable and every member owns its target: what
//! "all 1,000 joins" takes. Every heartbeat is timed (the core alone, the
//! calling thread's CPU clock, with the encoding of its response, as the
//! service does both), and the partitions-by-endpoint answers are
//! counted: how many responses carried one, and their encoded bytes.
//!
//! Target: all the joins under 2 s in total.
//!
//! Run: `cargo bench --bench endpoints`.

use std::sync::Arc;
use std::time::Duration;

#[path = "support/cpu.rs"]
mod cpu;
use cpu::thread_cpu_ns;
#[path = "support/requests.rs"]
mod requests;
use requests::ctx;

use streams_coordinator::assignor::AssignorRegistry;
use streams_coordinator::group::{CoordinatorConfig, GroupCoordinator, GroupState};
use streams_coordinator::protocol::heartbeat::{Endpoint, TaskIds};
use streams_coordinator::protocol::{
    Message, StreamsGroupHeartbeatRequest, StreamsGroupHeartbeatResponse, Uuid,
};
use streams_coordinator::topology::ClusterMetadata;

const GROUP: &str = "iq";
const TOPIC: &str = "input";

fn env(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

struct Client {
    id: String,
    epoch: i32,
    endpoint_epoch: i32,
    owned: Vec<TaskIds>,
}

/// Totals over the heartbeats made.
#[derive(Default)]
struct Tally {
    heartbeats: u64,
    cpu_ns: u64,
    answers: u64,
    answer_bytes: u64,
}

fn beat(
    core: &mut GroupCoordinator,
    tally: &mut Tally,
    now: i64,
    req: StreamsGroupHeartbeatRequest,
) -> StreamsGroupHeartbeatResponse {
    // The heartbeat and the encoding of its response, as the service does both.
    let t = thread_cpu_ns();
    let out = core.heartbeat(&ctx(now), req);
    let bytes = out.response.to_bytes(1).expect("encodable response");
    tally.cpu_ns += thread_cpu_ns() - t;
    tally.heartbeats += 1;
    let r = out.response;
    assert_eq!(r.error_code, 0, "{:?}", r.error_message);
    if r.partitions_by_user_endpoint.is_some() {
        tally.answers += 1;
        // The field's bytes: the response's against the same with the field
        // null (one byte).
        let without = StreamsGroupHeartbeatResponse {
            partitions_by_user_endpoint: None,
            ..r.clone()
        };
        let null = without.to_bytes(1).expect("encodable response").len();
        tally.answer_bytes += (bytes.len() + 1 - null) as u64;
    }
    drop(bytes);
    r
}

fn main() {
    // `cargo bench` passes `--bench`; a filter argument that is not ours
    // (e.g. another bench's name) skips the run.
    if std::env::args()
        .skip(1)
        .any(|a| !a.starts_with('-') && !"endpoints".contains(a.as_str()))
    {
        return;
    }
    let members = env("ENDPOINT_MEMBERS", 1000);
    let partitions = env("ENDPOINT_PARTITIONS", 100_000) as i32;
    let mut config = CoordinatorConfig::default();
    config
        .set("group.streams.initial.rebalance.delay.ms", "3000")
        .expect("initial delay");
    let mut core = GroupCoordinator::new(config, Arc::new(AssignorRegistry::default()));
    let metadata = ClusterMetadata::new().with_topic(Uuid::from_u64_pair(1, 1), TOPIC, partitions);
    core.update_metadata(Arc::new(metadata), 0);
    let mut tally = Tally::default();
    let mut clients = Vec::with_capacity(members);
    for i in 0..members {
        let id = format!("member-{i:05}");
        let req = StreamsGroupHeartbeatRequest {
            user_endpoint: Some(Endpoint {
                host: format!("host-{i:05}.example"),
                port: 8080,
            }),
            ..requests::join(GROUP, &id, &format!("process-{i:05}"), TOPIC)
        };
        let r = beat(&mut core, &mut tally, 0, req);
        clients.push(Client {
            id,
            epoch: r.member_epoch,
            endpoint_epoch: r.endpoint_information_epoch,
            owned: vec![],
        });
    }
    let t = thread_cpu_ns();
    core.advance_time(3000);
    let target_ns = thread_cpu_ns() - t;
    let mut rounds = 0;
    loop {
        assert!(rounds < 20, "the group did not become Stable");
        rounds += 1;
        for c in clients.iter_mut() {
            let req = StreamsGroupHeartbeatRequest {
                endpoint_information_epoch: c.endpoint_epoch,
                ..requests::owning(GROUP, &c.id, c.epoch, c.owned.clone())
            };
            let r = beat(&mut core, &mut tally, 3000, req);
            c.epoch = r.member_epoch;
            c.endpoint_epoch = r.endpoint_information_epoch;
            if let Some(active) = r.active_tasks {
                c.owned = active;
            }
        }
        let owned: usize = clients
            .iter()
            .map(|c| c.owned.iter().map(|t| t.partitions.len()).sum::<usize>())
            .sum();
        if core.group_state(GROUP) == Some(GroupState::Stable) && owned == partitions as usize {
            break;
        }
    }
    let total = Duration::from_nanos(tally.cpu_ns + target_ns);
    println!(
        "endpoints: {members} members with endpoints, {partitions} partitions: Stable after {rounds} \
         rounds of heartbeats; {} heartbeats took {:?} of CPU (+ {:?} for the target at the \
         initial delay) = {total:?} for all the joins",
        tally.heartbeats,
        Duration::from_nanos(tally.cpu_ns),
        Duration::from_nanos(target_ns),
    );
    println!(
        "endpoints: {} responses carried the partitions-by-endpoint answer, {} bytes encoded \
         ({:.1} MB; {} bytes per answer on average)",
        tally.answers,
        tally.answer_bytes,
        tally.answer_bytes as f64 / 1e6,
        tally.answer_bytes / tally.answers.max(1)
    );
}
