//! Growth (issue 14 item 8): how the cost of the assignor, of the heartbeat
//! that changes nothing and of the join that computes a new target grows with
//! the group (100, 1,000, 10,000 members) and the task count (1,000 to
//! 1,000,000). Figures and the reading of them in docs/benchmarks.md
//! ("Growth").
//!
//! Cases, for every members × tasks pair with at least one task per member:
//!
//! * `growth/assign/m{M}_t{T}`: one `sticky` `assign` call when a member
//!   joins a balanced group: M − 1 members hold their previous target, one
//!   subtopology of T tasks, no standbys (the fixture of `benches/assignor.rs`,
//!   its INCREMENTAL form).
//! * `growth/noop/m{M}_t{T}`: a heartbeat that changes nothing in a Stable
//!   group of M members over T tasks (one subtopology reading a
//!   T-partition topic), built through heartbeats (`support/group.rs`, the
//!   group of `benches/core.rs`).
//! * `growth/join/m{M}_t{T}`: the join of member M + 1 to that group: the
//!   heartbeat that computes a new target (assignor run, target records and
//!   their application). The copy of the Stable group each join starts from
//!   is not timed.
//!
//! Clock: the thread's CPU time (the machine is shared). For instruction
//! counts, each timed call goes through an `#[inline(never)]` function
//! (`timed_assign`, `timed_noop`, `timed_join`), and the bench prints how many
//! calls each made when it ends:
//!
//! ```sh
//! valgrind --tool=callgrind --toggle-collect='*timed_join*' \
//!     <growth bench binary> --bench --profile-time 1 'growth/join/m1000_t10000$'
//! ```

use std::cell::Cell;
use std::hint::black_box;
use std::time::Duration;

use criterion::{BatchSize, BenchmarkGroup, Criterion};
use streams_coordinator::assignor::{GroupSpec, StickyAssignor, TaskAssignor, TaskSpace};
use streams_coordinator::group::{GroupCoordinator, Output, RequestContext};
use streams_coordinator::protocol::{StreamsGroupHeartbeatRequest, StreamsGroupHeartbeatResponse};

#[path = "support/cpu.rs"]
mod cpu;
use cpu::{thread_cpu_ns, CpuTime};

#[path = "support/group.rs"]
mod group;
#[path = "support/requests.rs"]
mod requests;
use group::{join, stable_group, GROUP};
use requests::ctx;

#[path = "support/assignor_case.rs"]
mod assignor_case;
use assignor_case::Case;

/// Group sizes and task counts of the grid.
const MEMBERS: [usize; 3] = [100, 1_000, 10_000];
const TASKS: [u32; 4] = [1_000, 10_000, 100_000, 1_000_000];

thread_local! {
    static CALLS: [Cell<u64>; 3] = const { [Cell::new(0), Cell::new(0), Cell::new(0)] };
}

fn count(i: usize) {
    CALLS.with(|c| c[i].set(c[i].get() + 1));
}

#[inline(never)]
fn timed_assign<'a>(g: &GroupSpec<'a>, space: &'a TaskSpace) -> usize {
    count(0);
    let a = StickyAssignor::new().assign(g, space).expect("assign");
    a.len()
}

#[inline(never)]
fn timed_noop(
    c: &mut GroupCoordinator,
    context: &RequestContext,
    req: StreamsGroupHeartbeatRequest,
) -> Output<StreamsGroupHeartbeatResponse> {
    count(1);
    c.heartbeat(context, req)
}

#[inline(never)]
fn timed_join(
    c: &mut GroupCoordinator,
    context: &RequestContext,
    req: StreamsGroupHeartbeatRequest,
) -> Output<StreamsGroupHeartbeatResponse> {
    count(2);
    c.heartbeat(context, req)
}

fn name(m: usize, t: u32) -> String {
    format!("m{m}_t{t}")
}

fn cases() -> impl Iterator<Item = (usize, u32)> {
    MEMBERS
        .into_iter()
        .flat_map(|m| TASKS.into_iter().map(move |t| (m, t)))
        .filter(|&(m, t)| t as usize >= m)
}

fn assign_cases(g: &mut BenchmarkGroup<'_, CpuTime>) {
    for (m, t) in cases() {
        let case = Case {
            incremental: true,
            members: m,
            partitions: t,
            subtopologies: 1,
            standbys: 0,
            per_process: 1,
            dormant: false,
        };
        // Built only when the case runs (criterion skips filtered-out ids).
        g.bench_function(format!("assign/{}", name(m, t)), |b| {
            let fx = case.fixture();
            let spec = fx.spec();
            b.iter(|| black_box(timed_assign(black_box(&spec), &fx.space)))
        });
    }
}

fn core_cases(g: &mut BenchmarkGroup<'_, CpuTime>) {
    for (m, t) in cases() {
        let tasks = i32::try_from(t).expect("task count");
        let mut built: Option<(GroupCoordinator, Vec<group::Client>)> = None;
        g.bench_function(format!("noop/{}", name(m, t)), |b| {
            let (base, clients) = built.get_or_insert_with(|| stable_group(m, tasks));
            let mut c = base.clone();
            let probe = &clients[m / 2];
            let noop = StreamsGroupHeartbeatRequest {
                group_id: GROUP.into(),
                member_id: probe.id.clone(),
                member_epoch: probe.epoch,
                ..StreamsGroupHeartbeatRequest::default()
            };
            let context = ctx(4000);
            b.iter_batched(
                || noop.clone(),
                |req| timed_noop(&mut c, &context, req),
                BatchSize::SmallInput,
            )
        });
        g.bench_function(format!("join/{}", name(m, t)), |b| {
            let (base, _) = built.get_or_insert_with(|| stable_group(m, tasks));
            let context = ctx(5000);
            b.iter_custom(|iters| {
                let mut total = 0;
                for _ in 0..iters {
                    let mut c = base.clone();
                    let req = join(m);
                    let start = thread_cpu_ns();
                    let out = timed_join(&mut c, &context, req);
                    total += thread_cpu_ns() - start;
                    assert_eq!(out.response.error_code, 0);
                    drop(out);
                    drop(c);
                }
                total
            })
        });
        // The next case builds its own group; free this one first.
        drop(built);
    }
}

fn main() {
    let mut c = Criterion::default()
        .with_measurement(CpuTime)
        .sample_size(10)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
        .configure_from_args();
    let mut g = c.benchmark_group("growth");
    assign_cases(&mut g);
    core_cases(&mut g);
    g.finish();
    c.final_summary();
    CALLS.with(|calls| {
        eprintln!(
            "timed calls: assign {}, noop {}, join {}",
            calls[0].get(),
            calls[1].get(),
            calls[2].get()
        )
    });
}
