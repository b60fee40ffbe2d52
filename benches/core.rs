//! Benches of the coordinator core (issue 5 item 9), figures in
//! docs/benchmarks.md ("## Core").
//!
//! * `heartbeat_noop_1000_members`: one heartbeat that changes nothing, in a
//!   Stable group of 1,000 members and 10,000 tasks. Target: < 1 µs median and
//!   no allocation (counted by the counting global allocator below and printed
//!   before the timing).
//! * `scale_out_1000_to_1001`: a 1,001st member joins the Stable group; every
//!   member then heartbeats, acknowledging revocations, until the group is
//!   Stable again. Target: < 20 ms of coordinator CPU for the whole scale-out.
//! * `new_target/join_1000_to_1001`: only the join of that scale-out, the
//!   heartbeat that computes a new target assignment (assignor run included);
//!   more samples than the whole scale-out, so changes on that path show.
//!
//! Before timing it prints the bytes the Stable group holds (a global
//! allocator counting live bytes; issue 14 item 2).

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, BatchSize, Criterion};
use streams_coordinator::group::{GroupCoordinator, GroupState};
use streams_coordinator::protocol::StreamsGroupHeartbeatRequest;

#[path = "support/group.rs"]
mod group;
#[path = "support/requests.rs"]
mod requests;
use group::{join, member_id, Client, GROUP};
use requests::ctx;

/// Counts allocations made by the current thread.
struct Counting;

thread_local! {
    static ALLOCS: Cell<u64> = const { Cell::new(0) };
}

/// Bytes held by live allocations (all threads): the memory of the Stable
/// group (issue 14 item 2).
static LIVE: AtomicI64 = AtomicI64::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let _ = ALLOCS.try_with(|c| c.set(c.get() + 1));
        LIVE.fetch_add(layout.size() as i64, Ordering::Relaxed);
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size() as i64, Ordering::Relaxed);
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let _ = ALLOCS.try_with(|c| c.set(c.get() + 1));
        LIVE.fetch_add(new_size as i64 - layout.size() as i64, Ordering::Relaxed);
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

fn live_bytes() -> i64 {
    LIVE.load(Ordering::Relaxed)
}

#[global_allocator]
static GLOBAL: Counting = Counting;

fn allocs() -> u64 {
    ALLOCS.with(Cell::get)
}

const MEMBERS: usize = 1000;
const TASKS: i32 = 10_000;

fn bench(cr: &mut Criterion) {
    let before = live_bytes();
    let (base, clients) = group::stable_group(MEMBERS, TASKS);
    // The group's memory: what building it left allocated, less the
    // simulated clients (measured as the size of a copy of them).
    let built = live_bytes() - before;
    let at = live_bytes();
    let copy = clients.clone();
    let clients_bytes = live_bytes() - at;
    drop(copy);
    let held = built - clients_bytes;
    println!(
        "memory: a Stable group of {MEMBERS} members over {TASKS} tasks holds {held} bytes = {} per member",
        held / MEMBERS as i64
    );

    // --- a heartbeat that changes nothing ---
    let mut c = base.clone();
    let probe = &clients[MEMBERS / 2];
    let noop = StreamsGroupHeartbeatRequest {
        group_id: GROUP.into(),
        member_id: probe.id.clone(),
        member_epoch: probe.epoch,
        ..StreamsGroupHeartbeatRequest::default()
    };
    let context = ctx(4000);
    // Warm up, then count the allocations of one call.
    let _ = c.heartbeat(&context, noop.clone());
    let req = noop.clone();
    let before = allocs();
    let out = c.heartbeat(&context, req);
    let after = allocs();
    assert!(out.records.is_empty());
    assert_eq!(out.response.error_code, 0);
    drop(out);
    println!(
        "heartbeat_noop_1000_members: allocations per heartbeat = {}",
        after - before
    );

    cr.bench_function("heartbeat_noop_1000_members", |b| {
        b.iter_batched(
            || noop.clone(),
            |req| c.heartbeat(&context, req),
            BatchSize::SmallInput,
        )
    });

    // --- scale-out by one member until Stable ---
    // Only the coordinator's calls are timed (`iter_custom`): building the
    // clients' requests and reading their responses is the clients' work.
    let mut g = cr.benchmark_group("scale_out");
    g.sample_size(10);
    let mut heartbeats = 0;
    let mut join_time = Duration::ZERO;
    g.bench_function("scale_out_1000_to_1001", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                let (mut c, mut cls) = (base.clone(), clients.clone());
                let req = join(MEMBERS);
                let start = Instant::now();
                let r = c.heartbeat(&ctx(5000), req).response;
                join_time = start.elapsed();
                total += join_time;
                cls.push(Client {
                    id: member_id(MEMBERS),
                    epoch: r.member_epoch,
                    owned: vec![],
                });
                let (n, t) = converge_timed(&mut c, &mut cls, 5000);
                heartbeats = 1 + n;
                total += t;
                drop(c);
            }
            total
        })
    });
    g.finish();
    println!(
        "scale_out_1000_to_1001: heartbeats until Stable = {heartbeats}; the join (with the assignor run) took {join_time:?}"
    );

    // --- the heartbeat that computes a new target, alone ---
    let mut g = cr.benchmark_group("new_target");
    g.sample_size(30);
    g.bench_function("join_1000_to_1001", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                let mut c = base.clone();
                let req = join(MEMBERS);
                let start = Instant::now();
                let out = c.heartbeat(&ctx(5000), req);
                total += start.elapsed();
                assert_eq!(out.response.error_code, 0);
                drop(out);
                drop(c);
            }
            total
        })
    });
    g.finish();
}

/// As [`group::converge`], timing only the coordinator calls.
fn converge_timed(c: &mut GroupCoordinator, clients: &mut [Client], now: i64) -> (usize, Duration) {
    let mut n = 0;
    let mut t = Duration::ZERO;
    for _round in 0..20 {
        for cl in clients.iter_mut() {
            let req = cl.request();
            let start = Instant::now();
            let out = c.heartbeat(&ctx(now), req);
            t += start.elapsed();
            let r = out.response;
            assert_eq!(r.error_code, 0, "{:?}", r.error_message);
            cl.epoch = r.member_epoch;
            if let Some(active) = r.active_tasks {
                cl.owned = active;
            }
            n += 1;
        }
        let start = Instant::now();
        let stable = c.group_state(GROUP) == Some(GroupState::Stable);
        t += start.elapsed();
        if stable {
            return (n, t);
        }
    }
    panic!("group did not converge");
}

criterion_group!(benches, bench);
criterion_main!(benches);
