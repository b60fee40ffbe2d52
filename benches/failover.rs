//! Fail-over (issue 14 item 1), figures in docs/benchmarks.md ("## Fail-over").
//!
//! One coordinator partition holding 10,000 streams groups of 10 members
//! sharing 100 tasks each (one subtopology over a 100-partition topic, one
//! process per member), every group Stable. Its records are made once by
//! driving the core as clients would (joins, the assignment, every member
//! heartbeating until it owns its tasks): the whole uncompacted log of that
//! history, in order. The bench then loads the partition the way a broker
//! does on fail-over: a fresh `Service` over a `MemoryRecordSink` holding the
//! records, `Service::load` (read the log, replay every record into a new
//! core, re-arm the timers, start serving), timed until it resolves.
//!
//! Before timing, the bench prints the records, their encoded bytes (key +
//! value, the bytes a real log would hold), one timed load, the phases of a
//! load on the core alone (CPU time; the replay's is the process's) and the bytes the loaded core
//! holds (a counting global allocator: issue 14 item 2, memory per group and
//! per member).
//! Targets: ≥ 1,000,000 records replayed per second, the whole load < 1 s on
//! 2 cores.
//!
//! Run: `cargo bench --bench failover` (criterion: 10 samples, one load each).

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

#[path = "support/cpu.rs"]
mod cpu;
use cpu::{process_cpu_ns, thread_cpu_ns};
#[path = "support/requests.rs"]
mod requests;
use requests::ctx;

use criterion::{criterion_group, criterion_main, Criterion};
use harness::memory::MemoryBroker;
use streams_coordinator::assignor::AssignorRegistry;
use streams_coordinator::group::{CoordinatorConfig, GroupCoordinator, GroupState};
use streams_coordinator::protocol::heartbeat::TaskIds;
use streams_coordinator::protocol::records::CoordinatorRecord;
use streams_coordinator::protocol::{StreamsGroupHeartbeatRequest, Uuid};
use streams_coordinator::service::{RecordSink, Service, ServiceConfig};
use streams_coordinator::topology::ClusterMetadata;

/// Groups in the partition (`FAILOVER_GROUPS` overrides it, e.g. for a
/// quicker run under callgrind).
fn groups() -> usize {
    std::env::var("FAILOVER_GROUPS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10_000)
}
/// Counts the bytes held by live allocations (all threads), to give the
/// memory a loaded partition holds (issue 14 item 2), while `COUNTING` is
/// set: a counter shared by every thread's allocations would make threads
/// replaying one log contend for its cache line, so timed loads run without.
struct LiveBytes;

static LIVE: AtomicI64 = AtomicI64::new(0);
static COUNTING: AtomicBool = AtomicBool::new(false);

fn count(delta: i64) {
    if COUNTING.load(Ordering::Relaxed) {
        LIVE.fetch_add(delta, Ordering::Relaxed);
    }
}

unsafe impl GlobalAlloc for LiveBytes {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        count(layout.size() as i64);
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        count(-(layout.size() as i64));
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        count(new_size as i64 - layout.size() as i64);
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: LiveBytes = LiveBytes;

fn live_bytes() -> i64 {
    LIVE.load(Ordering::Relaxed)
}

const MEMBERS: usize = 10;
const TASKS: i32 = 100;
const TOPIC: &str = "input";

fn group_id(g: usize) -> String {
    format!("group-{g:05}")
}

fn metadata() -> ClusterMetadata {
    ClusterMetadata::new().with_topic(Uuid::from_u64_pair(7, 7), TOPIC, TASKS)
}

fn coordinator_config() -> CoordinatorConfig {
    let mut config = CoordinatorConfig::default();
    config
        .set("group.streams.initial.rebalance.delay.ms", "3000")
        .expect("initial delay");
    config
        .set("group.streams.assignment.interval.ms", "0")
        .expect("assignment interval");
    config
}

fn join(g: &str, member: &str, process: &str) -> StreamsGroupHeartbeatRequest {
    requests::join(g, member, process, TOPIC)
}

struct Client {
    group: String,
    id: String,
    epoch: i32,
    owned: Vec<TaskIds>,
}

/// The records of `GROUPS` Stable groups, in the order the core wrote them.
fn build_log() -> Vec<CoordinatorRecord> {
    let mut core =
        GroupCoordinator::new(coordinator_config(), Arc::new(AssignorRegistry::default()));
    let mut log = core.update_metadata(Arc::new(metadata()), 0).records;
    let groups = groups();
    let mut clients = Vec::with_capacity(groups * MEMBERS);
    for g in 0..groups {
        let gid = group_id(g);
        for i in 0..MEMBERS {
            let member = format!("{gid}-member-{i}");
            let out = core.heartbeat(&ctx(0), join(&gid, &member, &format!("{member}-process")));
            assert_eq!(
                out.response.error_code, 0,
                "{:?}",
                out.response.error_message
            );
            log.extend(out.records);
            clients.push(Client {
                group: gid.clone(),
                id: member,
                epoch: out.response.member_epoch,
                owned: vec![],
            });
        }
    }
    // The initial delay expires: one assignment per group.
    log.extend(core.advance_time(3000).records);
    for round in 0.. {
        assert!(round < 20, "groups did not converge");
        for cl in clients.iter_mut() {
            let req = requests::owning(&cl.group, &cl.id, cl.epoch, cl.owned.clone());
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
        if (0..groups).all(|g| core.group_state(&group_id(g)) == Some(GroupState::Stable)) {
            break;
        }
    }
    log
}

fn encoded_bytes(log: &[CoordinatorRecord]) -> usize {
    log.iter()
        .map(|r| {
            r.key_bytes().expect("key").len()
                + r.value_bytes().expect("value").map_or(0, |v| v.len())
        })
        .sum()
}

/// One fail-over: a fresh service over the broker's log loads partition 0.
async fn load_once(broker: &MemoryBroker) -> Duration {
    let config = ServiceConfig {
        partition_count: 1,
        coordinator: coordinator_config(),
        ..ServiceConfig::default()
    };
    let service = Service::new(config, broker.hooks());
    let start = Instant::now();
    service.load(0).await.expect("load");
    let took = start.elapsed();
    service.unload(0).await;
    took
}

fn bench(c: &mut Criterion) {
    let t = Instant::now();
    let log = build_log();
    let records = log.len();
    let bytes = encoded_bytes(&log);
    let mut by_type = std::collections::BTreeMap::<i16, usize>::new();
    for r in &log {
        *by_type.entry(r.key.record_type()).or_default() += 1;
    }
    let broker = MemoryBroker::new(metadata(), 1);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(broker.records.append(0, broker.records.epoch(0), log))
        .expect("append the log");
    println!(
        "failover: {} groups x {MEMBERS} members x {TASKS} tasks: {records} records, \
         {bytes} bytes encoded (built in {:?})",
        groups(),
        t.elapsed()
    );
    println!("failover: records by type (record type: count): {by_type:?}");
    let once = rt.block_on(load_once(&broker));
    println!(
        "failover: one load took {once:?} = {:.0} records/s",
        records as f64 / once.as_secs_f64()
    );

    // Where a load's time goes, on this thread's CPU clock (wall time on a
    // shared machine mostly measures the other tenants): the log read (the
    // in-memory sink shares its records: no copy), the replay into a fresh
    // core, re-arming the timers.
    let cpu = |f: &mut dyn FnMut()| {
        let t = thread_cpu_ns();
        f();
        Duration::from_nanos(thread_cpu_ns() - t)
    };
    let mut log_read = Arc::default();
    let read = cpu(&mut || {
        log_read = rt
            .block_on(broker.records.read(0))
            .expect("read the log")
            .records
    });
    let mut core =
        GroupCoordinator::new(coordinator_config(), Arc::new(AssignorRegistry::default()));
    // The replay (`replay_all`, on this thread): the process's CPU time (the
    // runtime's threads are idle), and the wall time.
    let (cpu_before, wall_before) = (process_cpu_ns(), Instant::now());
    core.replay_all(&log_read).expect("replay");
    let replay_wall = wall_before.elapsed();
    let replay = Duration::from_nanos(process_cpu_ns() - cpu_before);
    let rearm = cpu(&mut || {
        core.on_loaded(3000);
    });
    println!(
        "failover: phases of one load, core alone: read {read:?} (thread CPU), replay \
         {replay:?} of CPU (available parallelism {}: {:.0} records/s of CPU), {replay_wall:?} wall \
         ({:.0} records/s), re-arm timers {rearm:?} (thread CPU); CPU total {:?}",
        std::thread::available_parallelism().map_or(1, |n| n.get()),
        records as f64 / replay.as_secs_f64(),
        records as f64 / replay_wall.as_secs_f64(),
        read + replay + rearm
    );
    drop(core);
    // The loaded core's memory: every group, member, assignment, index and
    // timer it holds after the load (allocator bytes, not counting the
    // allocator's own overhead), from a second load with the counter on.
    COUNTING.store(true, Ordering::Relaxed);
    let before = live_bytes();
    let mut core =
        GroupCoordinator::new(coordinator_config(), Arc::new(AssignorRegistry::default()));
    core.replay_all(&log_read).expect("replay");
    core.on_loaded(3000);
    let held = live_bytes() - before;
    COUNTING.store(false, Ordering::Relaxed);
    println!(
        "failover: the loaded core holds {held} bytes = {} per group, {} per member",
        held / groups() as i64,
        held / (groups() * MEMBERS) as i64
    );
    drop(core);
    drop(log_read);

    let mut g = c.benchmark_group("failover");
    g.sample_size(10);
    g.bench_function(
        format!("load_{}_groups_x_{MEMBERS}_members", groups()),
        |b| {
            b.iter_custom(|iters| {
                let mut total = Duration::ZERO;
                for _ in 0..iters {
                    total += rt.block_on(load_once(&broker));
                }
                total
            })
        },
    );
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
