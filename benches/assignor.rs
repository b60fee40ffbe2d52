//! The assignor grid of Kafka's `StreamsStickyAssignorBenchmark` (spec 05 §5.1),
//! case for case: `assign/{full|incremental}/m{M}_p{P}_s{S}_sb{B}_pp{K}_{none|dormant}`.
//!
//! Fixtures are built the way that benchmark builds them: subtopology
//! `topic-<i>_subtopology` with P tasks, stateful when `i` is even; members
//! `member-<i>` in process `process-<i / K>`; OWNED_AND_DORMANT offsets: every
//! stateful task (in subtopology-id order) reported by two members round-robin
//! over the sorted member ids, `2_000_000 + taskIndex` by the first and
//! `1_000_000 + taskIndex` by the next; INCREMENTAL: one assignment for M − 1
//! members without offsets is fed back as their current tasks (plus the
//! offsets), and `newMember` joins in `process-newMember`.
//!
//! Timed, as in Kafka's benchmark: one `assign` call on a prepared group spec,
//! plus dropping its result. (Building the `GroupSpec` itself is one small
//! struct of references per member, O(members), done once per fixture here.)
//! Members are kept in a `BTreeMap` by id, as a coordinator would.
//!
//! Clock: the calling thread's CPU time by default (on a shared machine the
//! wall clock mostly measures the other tenants); `ASSIGNOR_BENCH_CLOCK=wall`
//! measures wall time instead.
//!
//! Run a case: `cargo bench --bench assignor -- 'assign/full/m1000_p100_s100_sb0_pp1_none$'`.

use std::hint::black_box;
use std::time::Duration;

use criterion::measurement::Measurement;
use criterion::Criterion;
use streams_coordinator::assignor::*;

#[cfg(target_os = "linux")]
#[path = "support/cpu.rs"]
mod cpu;
#[cfg(target_os = "linux")]
use cpu::CpuTime;

#[path = "support/assignor_case.rs"]
mod assignor_case;
use assignor_case::{Case, Fixture};

fn grid() -> Vec<Case> {
    let mut cases = Vec::new();
    for incremental in [false, true] {
        for members in [100, 1000] {
            for partitions in [10, 100] {
                for subtopologies in [10, 100] {
                    for standbys in [0, 1] {
                        for per_process in [1, 50] {
                            for dormant in [false, true] {
                                cases.push(Case {
                                    incremental,
                                    members,
                                    partitions,
                                    subtopologies,
                                    standbys,
                                    per_process,
                                    dormant,
                                });
                            }
                        }
                    }
                }
            }
        }
    }
    cases
}

fn bench<M: Measurement>(c: &mut Criterion<M>) {
    let assignor = StickyAssignor::new();
    let mut group = c.benchmark_group("assign");
    for case in grid() {
        let name = case.name();
        // Build fixtures lazily: criterion skips filtered-out ids without
        // running the closure.
        let mut fixture: Option<Fixture> = None;
        group.bench_function(name.as_str(), |b| {
            let fx = fixture.get_or_insert_with(|| case.fixture());
            let g = fx.spec();
            b.iter(|| {
                let a = assignor.assign(black_box(&g), &fx.space).expect("assign");
                black_box(a.len())
            })
        });
    }
    group.finish();
}

fn configure<M: Measurement>(c: Criterion<M>) -> Criterion<M> {
    c.sample_size(20)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(1))
        .configure_from_args()
}

fn main() {
    let wall = std::env::var("ASSIGNOR_BENCH_CLOCK").is_ok_and(|v| v == "wall");
    #[cfg(target_os = "linux")]
    if !wall {
        let mut c = configure(Criterion::default().with_measurement(CpuTime));
        bench(&mut c);
        c.final_summary();
        return;
    }
    let _ = wall;
    let mut c = configure(Criterion::default());
    bench(&mut c);
    c.final_summary();
}
