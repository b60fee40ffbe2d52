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

use std::collections::BTreeMap;
use std::hint::black_box;
use std::time::Duration;

use criterion::measurement::{Measurement, ValueFormatter};
use criterion::{Criterion, Throughput};
use streams_coordinator::assignor::*;

#[cfg(target_os = "linux")]
#[path = "support/cpu.rs"]
mod cpu;
#[cfg(target_os = "linux")]
use cpu::thread_cpu_ns;

/// Criterion measurement: thread CPU time.
struct CpuTime;

struct NsFormatter;

impl ValueFormatter for NsFormatter {
    fn scale_values(&self, typical: f64, values: &mut [f64]) -> &'static str {
        let (factor, unit) = if typical < 1e3 {
            (1.0, "ns")
        } else if typical < 1e6 {
            (1e-3, "µs")
        } else if typical < 1e9 {
            (1e-6, "ms")
        } else {
            (1e-9, "s")
        };
        for v in values {
            *v *= factor;
        }
        unit
    }
    fn scale_throughputs(
        &self,
        _typical: f64,
        _t: &Throughput,
        values: &mut [f64],
    ) -> &'static str {
        for v in values {
            *v = 1e9 / *v;
        }
        "op/s"
    }
    fn scale_for_machines(&self, _values: &mut [f64]) -> &'static str {
        "ns"
    }
}

#[cfg(target_os = "linux")]
impl Measurement for CpuTime {
    type Intermediate = u64;
    type Value = u64;
    fn start(&self) -> u64 {
        thread_cpu_ns()
    }
    fn end(&self, start: u64) -> u64 {
        thread_cpu_ns().saturating_sub(start)
    }
    fn add(&self, a: &u64, b: &u64) -> u64 {
        a + b
    }
    fn zero(&self) -> u64 {
        0
    }
    fn to_f64(&self, v: &u64) -> f64 {
        *v as f64
    }
    fn formatter(&self) -> &dyn ValueFormatter {
        &NsFormatter
    }
}

#[derive(Default)]
struct Member {
    process: String,
    active: BTreeMap<String, Vec<i32>>,
    standby: BTreeMap<String, Vec<i32>>,
    offsets: BTreeMap<String, BTreeMap<i32, i64>>,
}

struct Fixture {
    space: TaskSpace,
    configs: AssignmentConfigs,
    members: BTreeMap<String, Member>,
}

impl Fixture {
    fn spec(&self) -> GroupSpec<'_> {
        let mut g = GroupSpec::with_capacity(&self.configs, self.members.len());
        for (id, m) in &self.members {
            let mut s = MemberSpec::new(id, &m.process);
            s.active_tasks = &m.active;
            s.standby_tasks = &m.standby;
            s.task_offsets = &m.offsets;
            g.members.push(s);
        }
        g
    }
}

#[derive(Clone, Copy)]
struct Case {
    incremental: bool,
    members: usize,
    partitions: u32,
    subtopologies: usize,
    standbys: u32,
    per_process: usize,
    dormant: bool,
}

impl Case {
    fn name(&self) -> String {
        format!(
            "{}/m{}_p{}_s{}_sb{}_pp{}_{}",
            if self.incremental {
                "incremental"
            } else {
                "full"
            },
            self.members,
            self.partitions,
            self.subtopologies,
            self.standbys,
            self.per_process,
            if self.dormant { "dormant" } else { "none" }
        )
    }

    fn fixture(&self) -> Fixture {
        let space = TaskSpace::new((0..self.subtopologies).map(|i| {
            (
                format!("topic-{i}_subtopology"),
                self.partitions,
                i % 2 == 0,
            )
        }))
        .expect("task space");
        let configs = AssignmentConfigs {
            num_standby_replicas: self.standbys,
            ..Default::default()
        };
        let n = if self.incremental {
            self.members - 1
        } else {
            self.members
        };
        let mut members: BTreeMap<String, Member> = (0..n)
            .map(|i| {
                (
                    format!("member-{i}"),
                    Member {
                        process: format!("process-{}", i / self.per_process),
                        ..Default::default()
                    },
                )
            })
            .collect();
        // OWNED_AND_DORMANT: the owner and one dormant copy per stateful task.
        let mut offsets: BTreeMap<String, BTreeMap<String, BTreeMap<i32, i64>>> = BTreeMap::new();
        if self.dormant {
            let ids: Vec<&String> = members.keys().collect();
            let mut task_index = 0usize;
            for s in space.subtopologies().filter(|s| s.stateful) {
                for p in 0..s.num_tasks as i32 {
                    for replica in 0..=1usize {
                        let id = ids[(task_index + replica) % ids.len()];
                        let off = (2 - replica as i64) * 1_000_000 + task_index as i64;
                        offsets
                            .entry(id.clone())
                            .or_default()
                            .entry(s.id.to_owned())
                            .or_default()
                            .insert(p, off);
                    }
                    task_index += 1;
                }
            }
        }
        let mut fx = Fixture {
            space,
            configs,
            members: BTreeMap::new(),
        };
        if self.incremental {
            fx.members = members;
            let assignment: Vec<(String, TaskMap, TaskMap)> = {
                let g = fx.spec();
                let a = StickyAssignor::new()
                    .assign(&g, &fx.space)
                    .expect("setup assignment");
                a.members()
                    .map(|m| {
                        (
                            m.member_id().to_owned(),
                            m.active().to_map(),
                            m.standby().to_map(),
                        )
                    })
                    .collect()
            };
            for (id, act, sb) in assignment {
                let m = fx.members.get_mut(&id).expect("member");
                m.active = act
                    .into_iter()
                    .map(|(k, v)| (k, v.into_iter().collect()))
                    .collect();
                m.standby = sb
                    .into_iter()
                    .map(|(k, v)| (k, v.into_iter().collect()))
                    .collect();
                m.offsets = offsets.remove(&id).unwrap_or_default();
            }
            fx.members.insert(
                "newMember".to_owned(),
                Member {
                    process: "process-newMember".to_owned(),
                    ..Default::default()
                },
            );
        } else {
            for (id, m) in members.iter_mut() {
                m.offsets = offsets.remove(id).unwrap_or_default();
            }
            fx.members = members;
        }
        fx
    }
}

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
