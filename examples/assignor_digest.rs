//! Prints one digest line per seeded random group spec: the output of the
//! `sticky` and `sticky-rack-aware` assignors (or the error) hashed.
//!
//! An equivalence check between two builds of the assignor: run it on both and
//! diff the output. It is how a change meant to keep the assignor's behaviour
//! is checked against the build before it (docs/assignor.md):
//!
//! ```sh
//! cargo run --release --example assignor_digest -- 20000 > after.txt
//! git stash; cargo run --release --example assignor_digest -- 20000 > before.txt; git stash pop
//! diff before.txt after.txt
//! ```
//!
//! The inputs cover what the sticky assignor branches on: fresh groups,
//! random (conflicting, out-of-range) current tasks, fed-back previous
//! assignments with members gone and joined, reported offsets, 0–3 standbys,
//! processes of equal and of mixed sizes (1 to 60 members, so the process
//! queues of every kind are taken), process ids that ascend with the member
//! ids and ones that do not, client tags for the rack-aware variant, and the
//! shapes of the benchmark grid.

use std::collections::BTreeMap;

use harness::Rng;
use streams_coordinator::assignor::*;

#[derive(Default, Clone)]
struct Member {
    id: String,
    process: String,
    active: BTreeMap<String, Vec<i32>>,
    standby: BTreeMap<String, Vec<i32>>,
    offsets: BTreeMap<String, BTreeMap<i32, i64>>,
    tags: BTreeMap<String, String>,
}

fn spec<'a>(members: &'a [Member], configs: &'a AssignmentConfigs) -> GroupSpec<'a> {
    let mut g = GroupSpec::with_capacity(configs, members.len());
    for m in members {
        let mut s = MemberSpec::new(&m.id, &m.process);
        s.active_tasks = &m.active;
        s.standby_tasks = &m.standby;
        s.task_offsets = &m.offsets;
        s.client_tags = &m.tags;
        g.members.push(s);
    }
    g
}

/// FNV-1a over the assignment (or the error text).
fn digest(r: &Result<GroupAssignment<'_>, AssignorError>) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    let mut eat = |b: &[u8]| {
        for &x in b {
            h ^= u64::from(x);
            h = h.wrapping_mul(0x100_0000_01b3);
        }
    };
    match r {
        Err(e) => eat(e.to_string().as_bytes()),
        Ok(a) => {
            for m in a.members() {
                eat(m.member_id().as_bytes());
                eat(b"|a");
                for &t in m.active().indices() {
                    eat(&t.to_le_bytes());
                }
                eat(b"|s");
                for &t in m.standby().indices() {
                    eat(&t.to_le_bytes());
                }
            }
        }
    }
    h
}

fn case(seed: u64) -> (TaskSpace, AssignmentConfigs, Vec<Member>) {
    let mut rng = Rng::new(seed);
    let shape = rng.below(10);
    let (n_members, n_tasks, n_subs) = match shape {
        // Small groups, the shapes the bench grid's small cases have.
        0..=3 => (
            1 + rng.below(120) as usize,
            rng.below(300) as usize,
            1 + rng.below(12) as usize,
        ),
        4..=7 => (
            1 + rng.below(400) as usize,
            rng.below(3000) as usize,
            1 + rng.below(40) as usize,
        ),
        _ => (
            1 + rng.below(1200) as usize,
            rng.below(12000) as usize,
            1 + rng.below(120) as usize,
        ),
    };
    let mut cuts: Vec<usize> = (0..n_subs - 1)
        .map(|_| rng.below(n_tasks as u64 + 1) as usize)
        .collect();
    cuts.push(0);
    cuts.push(n_tasks);
    cuts.sort_unstable();
    let subs: Vec<(String, u32, bool)> = cuts
        .windows(2)
        .enumerate()
        .map(|(i, w)| {
            (
                format!("topic-{i}_subtopology"),
                (w[1] - w[0]) as u32,
                rng.percent(60),
            )
        })
        .collect();
    let space = TaskSpace::new(subs.clone()).expect("task space");
    let mut configs = AssignmentConfigs {
        num_standby_replicas: rng.below(4) as u32,
        ..Default::default()
    };
    if rng.percent(30) {
        configs.rack_aware_assignment_tags = vec!["zone".to_owned(), "rack".to_owned()];
    }
    // Processes: equal sizes (often) or mixed; ids ascending with the member
    // ids (bench-like `member-i` / `process-i/K`) or scattered.
    let uniform = rng.percent(50);
    let per = 1 + rng.below(60) as usize;
    let bench_ids = rng.percent(50);
    let mut members = Vec::with_capacity(n_members);
    let mut left = 0usize;
    let mut process = String::new();
    for i in 0..n_members {
        if left == 0 {
            left = if uniform {
                per
            } else {
                1 + rng.below(per as u64) as usize
            };
            process = if bench_ids {
                format!("process-{}", i / per.max(1))
            } else {
                format!("p{:x}-{i}", rng.below(1 << 20))
            };
        }
        left -= 1;
        let id = if bench_ids {
            format!("member-{i}")
        } else {
            format!("{:x}-{i}", rng.below(1 << 32))
        };
        let mut m = Member {
            id,
            process: process.clone(),
            ..Default::default()
        };
        if rng.percent(70) {
            m.tags
                .insert("zone".to_owned(), format!("z{}", rng.below(3)));
        }
        if rng.percent(50) {
            m.tags
                .insert("rack".to_owned(), format!("r{}", rng.below(5)));
        }
        members.push(m);
    }
    let all: Vec<(usize, i32)> = subs
        .iter()
        .enumerate()
        .flat_map(|(s, (_, n, _))| (0..*n as i32).map(move |p| (s, p)))
        .collect();
    match rng.below(3) {
        1 => {
            for &(s, p) in &all {
                let sub = &subs[s].0;
                if rng.percent(80) {
                    let m = rng.below(n_members as u64) as usize;
                    members[m].active.entry(sub.clone()).or_default().push(p);
                    if rng.percent(3) {
                        let m = rng.below(n_members as u64) as usize;
                        members[m].active.entry(sub.clone()).or_default().push(p);
                    }
                }
                for _ in 0..configs.num_standby_replicas {
                    if rng.percent(50) {
                        let m = rng.below(n_members as u64) as usize;
                        members[m].standby.entry(sub.clone()).or_default().push(p);
                    }
                }
            }
            members[0]
                .active
                .entry("gone".to_owned())
                .or_default()
                .extend([0, 1]);
            members[0]
                .standby
                .entry("gone".to_owned())
                .or_default()
                .push(2 + n_tasks as i32);
        }
        2 => {
            let prev: Vec<(TaskMap, TaskMap)> = {
                let g = spec(&members, &configs);
                match StickyAssignor::new().assign(&g, &space) {
                    Ok(a) => members
                        .iter()
                        .map(|m| {
                            let x = a.member(&m.id).expect("every member");
                            (x.active().to_map(), x.standby().to_map())
                        })
                        .collect(),
                    Err(_) => vec![Default::default(); members.len()],
                }
            };
            for (m, (act, sb)) in members.iter_mut().zip(prev) {
                m.active = act
                    .into_iter()
                    .map(|(k, v)| (k, v.into_iter().collect()))
                    .collect();
                m.standby = sb
                    .into_iter()
                    .map(|(k, v)| (k, v.into_iter().collect()))
                    .collect();
            }
            let keep = rng.below(20);
            let drop: Vec<bool> = (0..members.len()).map(|_| rng.below(100) < keep).collect();
            let mut i = 0;
            members.retain(|_| {
                i += 1;
                !drop[i - 1]
            });
            for j in 0..rng.below(6) {
                let p = if rng.percent(50) {
                    "process-newMember".to_owned()
                } else {
                    format!("process-new-{}", rng.below(3))
                };
                members.push(Member {
                    id: format!("newMember-{j}"),
                    process: p,
                    ..Default::default()
                });
            }
        }
        _ => {}
    }
    if rng.percent(50) && !all.is_empty() && !members.is_empty() {
        let dormant_like = rng.percent(50);
        for m in members.iter_mut() {
            let k = if dormant_like { 2 } else { rng.below(8) };
            for _ in 0..k {
                let (s, p) = all[rng.below(all.len() as u64) as usize];
                let range = if rng.percent(30) { 3 } else { 1_000_000 };
                let off = rng.below(range) as i64;
                m.offsets
                    .entry(subs[s].0.clone())
                    .or_default()
                    .insert(p, off);
            }
        }
    }
    if rng.percent(30) {
        // Members in a scrambled order (the assignor sorts them).
        for i in (1..members.len()).rev() {
            let j = rng.below(i as u64 + 1) as usize;
            members.swap(i, j);
        }
    }
    (space, configs, members)
}

/// A member table for `members`, as a coordinator keeps one: exactly theirs,
/// or (`stray`) one that strays from them as the coordinator's does when a
/// request joins, moves or replaces members not yet applied to it: a few
/// members missing, a few it holds that are not in the group, a few in
/// another process; now and then many (the assignor then numbers from
/// scratch).
fn table_for(members: &[Member], rng: &mut Rng, stray: bool) -> MemberTable {
    let mut pairs: Vec<(String, String)> = members
        .iter()
        .map(|m| (m.id.clone(), m.process.clone()))
        .collect();
    if stray && !pairs.is_empty() {
        let many = rng.percent(5);
        let k = if many {
            pairs.len() / 2
        } else {
            rng.below(4) as usize
        };
        for _ in 0..k.min(pairs.len()) {
            let i = rng.below(pairs.len() as u64) as usize;
            pairs.swap_remove(i);
        }
        let extra = if many { 80 } else { rng.below(4) };
        for j in 0..extra {
            let p = match (
                rng.below(3),
                members.get(rng.below(members.len() as u64) as usize),
            ) {
                (0, Some(m)) => m.process.clone(),
                (1, _) => format!("gone-process-{}", rng.below(3)),
                _ => "process-0".to_owned(),
            };
            pairs.push((format!("gone-{j}"), p));
        }
        for _ in 0..rng.below(3) {
            if pairs.is_empty() {
                break;
            }
            let i = rng.below(pairs.len() as u64) as usize;
            pairs[i].1 = if rng.percent(50) {
                format!("moved-{}", rng.below(2))
            } else {
                "process-1".to_owned()
            };
        }
    }
    MemberTable::from_members(pairs.iter().map(|(a, b)| (a.as_str(), b.as_str())))
        .expect("unique ids")
}

/// The group spec over `table`, as the coordinator builds it: members in
/// ascending id order, those the table holds with the same process with the
/// table's strings.
fn spec_over<'a>(
    members: &'a [Member],
    table: &'a MemberTable,
    configs: &'a AssignmentConfigs,
) -> GroupSpec<'a> {
    let mut sorted: Vec<&Member> = members.iter().collect();
    sorted.sort_by(|a, b| a.id.cmp(&b.id));
    let mut g = GroupSpec::with_table(configs, table, members.len());
    for m in sorted {
        let mut s = match table.position(&m.id) {
            Some(i) if table.process_id(i) == m.process => table.member_spec(i),
            _ => MemberSpec::new(&m.id, &m.process),
        };
        // As the coordinator does: an empty collection stays `NOTHING`.
        if !m.active.is_empty() {
            s.active_tasks = &m.active;
        }
        if !m.standby.is_empty() {
            s.standby_tasks = &m.standby;
        }
        if !m.offsets.is_empty() {
            s.task_offsets = &m.offsets;
        }
        s.client_tags = &m.tags;
        g.members.push(s);
    }
    g
}

fn main() {
    let n: u64 = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(5000);
    let sticky = StickyAssignor::new();
    let rack = StickyAssignor::rack_aware();
    for seed in 0..n {
        let (space, configs, members) = case(seed);
        let g = spec(&members, &configs);
        let a = digest(&sticky.assign(&g, &space));
        let b = digest(&rack.assign(&g, &space));
        // The same group over a member table must give the same output
        // (its own generator, so the cases above stay as they were).
        let mut trng = Rng::new(seed ^ 0x7AB1_E5EE_D000_0000);
        for stray in [false, true] {
            let table = table_for(&members, &mut trng, stray);
            let g = spec_over(&members, &table, &configs);
            assert_eq!(
                digest(&sticky.assign(&g, &space)),
                a,
                "seed {seed}: sticky over a member table (stray: {stray})"
            );
            assert_eq!(
                digest(&rack.assign(&g, &space)),
                b,
                "seed {seed}: sticky-rack-aware over a member table (stray: {stray})"
            );
        }
        println!("{seed} {a:016x} {b:016x}");
    }
}
