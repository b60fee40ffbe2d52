//! Property tests of the sticky assignors: random group specs (up to 2,000
//! members, 20,000 tasks, 0–2 standbys, 1–50 members per process, random
//! current assignments and reported offsets) must satisfy every invariant of
//! spec 05 §7, give the same output whatever the member order, and be sticky.
//!
//! Inputs are generated from a few proptest-chosen parameters and a seed, so
//! failures shrink on the parameters and replay exactly.

mod assignor_util;

use std::collections::BTreeMap;

use assignor_util::*;
use harness::Rng;
use proptest::prelude::*;
use streams_coordinator::assignor::*;

#[derive(Clone, Copy, Debug)]
struct Params {
    members: usize,
    tasks: usize,
    subtopologies: usize,
    standbys: u32,
    max_per_process: usize,
    /// 0 fresh, 1 random current tasks, 2 a real previous assignment perturbed.
    history: u8,
    offsets: bool,
    seed: u64,
}

fn params(max_members: usize, max_tasks: usize) -> impl Strategy<Value = Params> {
    (
        1..=max_members,
        0..=max_tasks,
        1usize..=50,
        0u32..=2,
        1usize..=50,
        0u8..=2,
        any::<bool>(),
        any::<u64>(),
    )
        .prop_map(
            |(members, tasks, subtopologies, standbys, max_per_process, history, offsets, seed)| {
                Params {
                    members,
                    tasks,
                    subtopologies,
                    standbys,
                    max_per_process,
                    history,
                    offsets,
                    seed,
                }
            },
        )
}

struct Fixture {
    space: TaskSpace,
    configs: AssignmentConfigs,
    members: Vec<Member>,
}

fn fixture(p: &Params) -> Fixture {
    let mut rng = Rng::new(p.seed);
    // Split the tasks over the subtopologies at random cut points.
    let mut cuts: Vec<usize> = (0..p.subtopologies - 1)
        .map(|_| rng.below(p.tasks as u64 + 1) as usize)
        .collect();
    cuts.push(0);
    cuts.push(p.tasks);
    cuts.sort_unstable();
    let subs: Vec<(String, u32, bool)> = cuts
        .windows(2)
        .enumerate()
        .map(|(i, w)| {
            (
                format!("{}-{i}", rng.below(1000)),
                (w[1] - w[0]) as u32,
                rng.percent(60),
            )
        })
        .collect();
    let space = TaskSpace::new(subs.clone()).unwrap();
    let configs = AssignmentConfigs {
        num_standby_replicas: p.standbys,
        ..Default::default()
    };
    // Members with random ids, grouped into processes of 1..=max_per_process.
    let mut members = Vec::with_capacity(p.members);
    let mut left_in_process = 0;
    let mut process = String::new();
    for i in 0..p.members {
        if left_in_process == 0 {
            left_in_process = 1 + rng.below(p.max_per_process as u64) as usize;
            process = format!("proc-{:x}-{i}", rng.below(1 << 20));
        }
        left_in_process -= 1;
        members.push(Member::new(
            &format!("{:x}-{i}", rng.below(1 << 32)),
            &process,
        ));
    }
    let all_tasks: Vec<(&str, i32)> = subs
        .iter()
        .flat_map(|(id, n, _)| (0..*n as i32).map(move |p| (id.as_str(), p)))
        .collect();
    let mut fx = Fixture {
        space,
        configs,
        members,
    };
    match p.history {
        1 => {
            for &(s, part) in &all_tasks {
                if rng.percent(80) {
                    let m = rng.below(p.members as u64) as usize;
                    fx.members[m] = std::mem::take(&mut fx.members[m]).active(s, &[part]);
                    if rng.percent(3) {
                        // Conflicting claim.
                        let m = rng.below(p.members as u64) as usize;
                        fx.members[m] = std::mem::take(&mut fx.members[m]).active(s, &[part]);
                    }
                }
                for _ in 0..p.standbys {
                    if rng.percent(50) {
                        let m = rng.below(p.members as u64) as usize;
                        fx.members[m] = std::mem::take(&mut fx.members[m]).standby(s, &[part]);
                    }
                }
            }
            // Tasks that no longer exist.
            fx.members[0] = std::mem::take(&mut fx.members[0])
                .active("gone", &[0, 1])
                .standby("gone", &[2]);
        }
        2 => {
            let prev = {
                let g = group(&fx.members, &fx.configs);
                let a = StickyAssignor::new().assign(&g, &fx.space).unwrap();
                feed_back(&fx.members, &a)
            };
            // Drop a few members, add a few new ones.
            let mut next: Vec<Member> = prev.into_iter().filter(|_| !rng.percent(10)).collect();
            for j in 0..1 + rng.below(5) {
                next.push(Member::new(
                    &format!("new-{j}"),
                    &format!("proc-new-{}", rng.below(3)),
                ));
            }
            fx.members = next;
        }
        _ => {}
    }
    if p.offsets && !all_tasks.is_empty() {
        let n = fx.members.len();
        for i in 0..n {
            for _ in 0..rng.below(8) {
                let (s, part) = all_tasks[rng.below(all_tasks.len() as u64) as usize];
                let off = rng.below(1_000_000) as i64;
                fx.members[i] = std::mem::take(&mut fx.members[i]).offset(s, part, off);
            }
        }
    }
    fx
}

fn check_all(assignor: &StickyAssignor, fx: &Fixture) -> Result<(), TestCaseError> {
    let g = group(&fx.members, &fx.configs);
    let a = assignor
        .assign(&g, &fx.space)
        .map_err(|e| TestCaseError::fail(e.to_string()))?;
    if let Err(e) = invariants::check(&g, &fx.space, &a) {
        return Err(TestCaseError::fail(e.to_string()));
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 160, ..ProptestConfig::default() })]

    #[test]
    fn small_groups_satisfy_every_invariant(p in params(40, 300)) {
        let fx = fixture(&p);
        check_all(&StickyAssignor::new(), &fx)?;
    }

    #[test]
    fn output_is_independent_of_member_order(p in params(40, 300), rot in 0usize..40) {
        let mut fx = fixture(&p);
        let first = {
            let g = group(&fx.members, &fx.configs);
            StickyAssignor::new().assign(&g, &fx.space).unwrap().to_maps()
        };
        fx.members.reverse();
        let n = fx.members.len();
        fx.members.rotate_left(rot % n);
        let g = group(&fx.members, &fx.configs);
        let second = StickyAssignor::new().assign(&g, &fx.space).unwrap().to_maps();
        prop_assert_eq!(first, second);
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 32, ..ProptestConfig::default() })]

    #[test]
    fn large_groups_satisfy_every_invariant(p in params(2000, 20_000)) {
        let fx = fixture(&p);
        check_all(&StickyAssignor::new(), &fx)?;
    }

    #[test]
    fn rack_aware_satisfies_every_invariant(p in params(300, 3000), zones in 1u64..5, racks in 1u64..4) {
        let mut fx = fixture(&p);
        fx.configs.rack_aware_assignment_tags = vec!["zone".into(), "rack".into()];
        let mut rng = Rng::new(p.seed ^ 0xABCD);
        let mut by_process: BTreeMap<String, (String, String)> = BTreeMap::new();
        for m in fx.members.iter_mut() {
            let (z, r) = by_process
                .entry(m.process.clone())
                .or_insert_with(|| (format!("z{}", rng.below(zones)), format!("r{}", rng.below(racks))))
                .clone();
            m.tags.insert("zone".into(), z);
            if !rng.percent(5) {
                m.tags.insert("rack".into(), r);
            }
        }
        check_all(&StickyAssignor::rack_aware(), &fx)?;
    }
}

/// Tasks whose active owner differs, and standby (member, task) pairs added.
fn moves(before: &GroupAssignment<'_>, after: &GroupAssignment<'_>) -> (Vec<String>, Vec<String>) {
    let owners = |a: &GroupAssignment<'_>| -> BTreeMap<String, String> {
        a.members()
            .flat_map(|m| {
                m.active()
                    .iter()
                    .map(move |t| (t.to_string(), m.member_id().to_owned()))
            })
            .collect()
    };
    let (ob, oa) = (owners(before), owners(after));
    let moved_active = oa
        .iter()
        .filter(|(t, m)| ob.get(*t) != Some(*m))
        .map(|(t, _)| t.clone())
        .collect();
    let sb = |a: &GroupAssignment<'_>| -> std::collections::BTreeSet<(String, String)> {
        a.members()
            .flat_map(|m| {
                m.standby()
                    .iter()
                    .map(move |t| (m.member_id().to_owned(), t.to_string()))
            })
            .collect()
    };
    let (sbb, sba) = (sb(before), sb(after));
    let new_standbys = sba
        .difference(&sbb)
        .map(|(m, t)| format!("{m}:{t}"))
        .collect();
    (moved_active, new_standbys)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, ..ProptestConfig::default() })]

    /// Feeding a fresh assignment back as the current one moves no active
    /// task. (Standbys are not asserted: trunk's least-loaded standby step
    /// ignores the task quota, so a fresh run can leave a member one task
    /// above `ceil(total / M)`; the re-run's quota-checked sticky step then
    /// moves that standby. Found by this test, kept as trunk behaviour.)
    #[test]
    fn rerun_on_own_output_moves_no_active(mut p in params(60, 600)) {
        p.history = 0;
        p.offsets = false;
        let fx = fixture(&p);
        let g = group(&fx.members, &fx.configs);
        let first = StickyAssignor::new().assign(&g, &fx.space).unwrap();
        let fed = feed_back(&fx.members, &first);
        let g2 = group(&fed, &fx.configs);
        let second = StickyAssignor::new().assign(&g2, &fx.space).unwrap();
        prop_assert_eq!(actives(&first), actives(&second));
        if p.standbys == 0 {
            prop_assert_eq!(first.to_maps(), second.to_maps());
        }
    }

    /// A member joining a balanced group (in its own process) takes tasks;
    /// every other active task stays where it was.
    #[test]
    fn a_new_member_moves_only_what_it_receives(mut p in params(60, 600)) {
        p.history = 0;
        p.offsets = false;
        let fx = fixture(&p);
        let g = group(&fx.members, &fx.configs);
        let before = StickyAssignor::new().assign(&g, &fx.space).unwrap();
        let mut fed = feed_back(&fx.members, &before);
        fed.push(Member::new("zz-new", "zz-new-process"));
        let g2 = group(&fed, &fx.configs);
        let after = StickyAssignor::new().assign(&g2, &fx.space).unwrap();
        invariants::check(&g2, &fx.space, &after).map_err(|e| TestCaseError::fail(e.to_string()))?;
        let (moved, _) = moves(&before, &after);
        let received: Vec<String> = after.member("zz-new").unwrap().active().iter().map(|t| t.to_string()).collect();
        for t in &moved {
            prop_assert!(received.contains(t), "task {} moved between old members", t);
        }
    }

    /// A member leaving: only its tasks move.
    #[test]
    fn a_leaving_member_moves_only_its_tasks(mut p in params(60, 600), which in any::<prop::sample::Index>()) {
        p.history = 0;
        p.offsets = false;
        prop_assume!(p.members >= 2);
        let fx = fixture(&p);
        let g = group(&fx.members, &fx.configs);
        let before = StickyAssignor::new().assign(&g, &fx.space).unwrap();
        let mut fed = feed_back(&fx.members, &before);
        let gone = fed.remove(which.index(fed.len()));
        let g2 = group(&fed, &fx.configs);
        let after = StickyAssignor::new().assign(&g2, &fx.space).unwrap();
        invariants::check(&g2, &fx.space, &after).map_err(|e| TestCaseError::fail(e.to_string()))?;
        let (moved, _) = moves(&before, &after);
        let had: Vec<String> = before.member(&gone.id).unwrap().active().iter().map(|t| t.to_string()).collect();
        for t in &moved {
            prop_assert!(had.contains(t), "task {} moved though its owner stayed", t);
        }
    }
}
