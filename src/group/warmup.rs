//! Warm-up refinement: from the assignor's target assignment to the
//! *intermediate* assignment the members reconcile toward (spec 05 §6 describes
//! the design Kafka documents and leaves unimplemented; docs/behaviour.md says
//! how ours behaves).
//!
//! When the target moves a stateful active task to a member whose process has
//! not caught up on its state, the task stays with the member that holds it and
//! the new owner gets a warm-up copy to restore the state in the background. A
//! later refinement step (a group epoch of its own, see `heartbeat.rs`) moves
//! the task once the warm-up's lag is within `acceptable.recovery.lag`.
//!
//! [`refine`] is a pure function of the members' current assignments (which
//! are persisted), the target (persisted) and the reported lags (in memory):
//!
//! * it is derived for the whole group at once (the budget and the
//!   one-copy-per-process rule are group-wide);
//! * it is stable along the way the members reconcile toward it: deriving it
//!   again from any intermediate state with the same lags gives the same
//!   result, so a replayed coordinator re-derives the same decisions (a move
//!   already under way stays a move, a warm-up already granted keeps its
//!   place in the budget);
//! * with a budget of 0, or when no stateful task moves between processes,
//!   it is the target unchanged.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use super::assign::View;
use super::config::Effective;
use super::member::Member;
use super::state::{Configured, OffsetsView};
use super::tasks::{SubId, TaskSet, Tasks};

/// The intermediate assignment of every member, by member id. A member whose
/// slice is its target shares the target's value (most members, and every
/// member of a group without warm-ups): the refinement costs a pointer per
/// member, not a copy of every target (issue 14 item 2).
pub(super) type Refined = BTreeMap<String, Arc<Tasks>>;

/// The refinement of one assignment epoch, derived once and frozen while the
/// members reconcile toward it (in memory only).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct EpochRefinement {
    /// The assignment epoch it was derived for.
    pub(super) epoch: i32,
    /// Every member's slice.
    pub(super) assignment: Refined,
}

/// Derives the refinement of the group as `view` sees it, toward `target`, with
/// the group's effective warm-up settings.
pub(super) fn derive<'a>(
    view: &View<'a>,
    target: impl Fn(&str) -> Option<&'a Arc<Tasks>>,
    configured: &Configured,
    offsets: OffsetsView<'a>,
    eff: &Effective<'_>,
) -> Refined {
    let stateful: BTreeSet<String> = configured
        .task_counts()
        .filter(|(_, _, stateful)| *stateful)
        .map(|(id, _, _)| id.to_string())
        .collect();
    let members = view.members();
    let expected: usize = members
        .iter()
        .filter_map(|m| target(&m.member_id))
        .map(|t| t.active.len())
        .sum();
    let refined = refine(
        &members,
        &target,
        offsets,
        Settings {
            stateful: &stateful,
            num_warmup_replicas: u32::try_from(eff.num_warmup_replicas).unwrap_or(0),
            acceptable_recovery_lag: eff.acceptable_recovery_lag,
        },
    );
    debug_assert!(
        warmup_count(&refined) <= usize::try_from(eff.num_warmup_replicas).unwrap_or(0),
        "the refinement exceeds the warm-up budget"
    );
    debug_assert_eq!(
        active_count(&refined),
        expected,
        "the refinement lost or duplicated an active task"
    );
    refined
}

/// True when some member of `view` does not hold exactly its slice of `refined`
/// (a refinement step is due when the group is otherwise settled).
pub(super) fn differs_from_current(view: &View<'_>, refined: &Refined) -> bool {
    view.members().iter().any(|m| {
        refined
            .get(&m.member_id)
            .is_none_or(|t| **t != m.assigned_tasks())
    })
}

/// The inputs of one refinement, besides the members and their targets.
#[derive(Clone, Copy, Debug)]
pub(super) struct Settings<'a> {
    /// Subtopology ids with state (changelog topics); only their tasks warm up.
    pub(super) stateful: &'a BTreeSet<String>,
    /// `num.warmup.replicas`: warm-ups the group runs at a time at most.
    pub(super) num_warmup_replicas: u32,
    /// `acceptable.recovery.lag`: the lag at or below which a process is caught up.
    pub(super) acceptable_recovery_lag: i64,
}

/// A task as `(subtopology id, partition)`.
type Task<'a> = (&'a str, i32);

/// The lag of each process on each task it reported both offsets for: the
/// smallest `end offset − offset` (at least 0) over the process's members.
/// Tasks a process reported no pair for have no lag (not caught up).
pub(super) fn process_lags<'a>(
    members: &[&'a Member],
    offsets: OffsetsView<'a>,
) -> BTreeMap<(&'a str, Task<'a>), i64> {
    let mut lags: BTreeMap<(&'a str, Task<'a>), i64> = BTreeMap::new();
    for m in members {
        let Some(o) = offsets.get(&m.member_id) else {
            continue;
        };
        for (s, parts) in &o.offsets {
            let Some(ends) = o.end_offsets.get(s) else {
                continue;
            };
            for (p, off) in parts {
                let Some(end) = ends.get(p) else {
                    continue;
                };
                let lag = end.saturating_sub(*off).max(0);
                lags.entry((&*m.process_id, (s.as_str(), *p)))
                    .and_modify(|l| *l = (*l).min(lag))
                    .or_insert(lag);
            }
        }
    }
    lags
}

/// One stateful active task the target moves to a process that is not caught up.
struct Held<'a> {
    task: Task<'a>,
    /// The task's subtopology id, shared.
    sub: &'a SubId,
    /// The member the target gives the task to.
    to: &'a Member,
    /// The member that holds it now (and keeps it for this step).
    from: &'a Member,
    lag: Option<i64>,
    /// The destination process already holds a warm-up of the task.
    warming: bool,
}

/// A role of a member's slice.
#[derive(Clone, Copy)]
enum Role {
    Active,
    Standby,
    Warmup,
}

impl Role {
    fn of(self, t: &Tasks) -> &TaskSet {
        match self {
            Role::Active => &t.active,
            Role::Standby => &t.standby,
            Role::Warmup => &t.warmup,
        }
    }

    fn of_mut(self, t: &mut Tasks) -> &mut TaskSet {
        match self {
            Role::Active => &mut t.active,
            Role::Standby => &mut t.standby,
            Role::Warmup => &mut t.warmup,
        }
    }
}

/// Adds `task` to (or removes it from) one role of a member's slice. The
/// slice shares its target's value until it changes: it is copied then, and
/// only then (not when the task is already where it should be).
fn edit(slice: &mut Arc<Tasks>, role: Role, sub: &SubId, p: i32, add: bool) {
    if role.of(slice).contains(sub, p) == add {
        return;
    }
    let set = role.of_mut(Arc::make_mut(slice));
    if add {
        set.insert(sub, p);
    } else {
        set.remove(sub, p);
    }
}

/// Refines `target` (a member absent from it has an empty target) for
/// `members` (the group as the computation sees it). Deterministic: members
/// in id order, tasks in (subtopology, partition) order, no hash order.
pub(super) fn refine<'a>(
    members: &[&'a Member],
    target: impl Fn(&str) -> Option<&'a Arc<Tasks>>,
    offsets: OffsetsView<'a>,
    settings: Settings<'_>,
) -> Refined {
    let none = Arc::new(Tasks::default());
    let mut out: Refined = members
        .iter()
        .map(|m| {
            let t = target(&m.member_id).unwrap_or(&none);
            (m.member_id.clone(), t.clone())
        })
        .collect();
    if settings.num_warmup_replicas == 0 {
        return out;
    }
    // Who holds each stateful active task now (assigned; a task only pending
    // revocation is already on its way out and moves at once). Only stateful
    // tasks are ever held back, so only they are looked up.
    let mut holder: BTreeMap<Task<'a>, &'a Member> = BTreeMap::new();
    for m in members {
        for (s, parts, _) in m.assigned.active.iter() {
            if !settings.stateful.contains(&**s) {
                continue;
            }
            for p in parts {
                holder.insert((&**s, *p), m);
            }
        }
    }
    if holder.is_empty() {
        return out;
    }
    let lags = process_lags(members, offsets);
    let warming: BTreeSet<(&str, Task<'a>)> = members
        .iter()
        .flat_map(|m| {
            m.assigned
                .warmup
                .iter()
                .flat_map(move |(s, parts)| parts.iter().map(move |p| (&*m.process_id, (&**s, *p))))
        })
        .collect();
    let mut held: Vec<Held<'a>> = Vec::new();
    for m in members {
        let Some(t) = target(&m.member_id) else {
            continue;
        };
        for (s, parts) in t.active.iter() {
            if !settings.stateful.contains(&**s) {
                continue;
            }
            for p in parts {
                let task = (&**s, *p);
                let Some(from) = holder.get(&task).copied() else {
                    continue;
                };
                if from.member_id == m.member_id || from.process_id == m.process_id {
                    continue;
                }
                let lag = lags.get(&(&*m.process_id, task)).copied();
                if lag.is_some_and(|l| l <= settings.acceptable_recovery_lag) {
                    continue;
                }
                held.push(Held {
                    task,
                    sub: s,
                    to: m,
                    from,
                    lag,
                    warming: warming.contains(&(&*m.process_id, task)),
                });
            }
        }
    }
    if held.is_empty() {
        return out;
    }
    // Every held task stays active where it is; its current process holds no
    // other copy of it in this step.
    for h in &held {
        if let Some(t) = out.get_mut(&h.to.member_id) {
            edit(t, Role::Active, h.sub, h.task.1, false);
        }
        for m in members.iter().filter(|m| m.process_id == h.from.process_id) {
            if let Some(t) = out.get_mut(&m.member_id) {
                edit(t, Role::Standby, h.sub, h.task.1, false);
            }
        }
        if let Some(t) = out.get_mut(&h.from.member_id) {
            edit(t, Role::Active, h.sub, h.task.1, true);
        }
    }
    // The budget goes first to warm-ups already running (so a step does not
    // undo the last one's choice), then to the smallest known lag, then in
    // task order.
    held.sort_by(|a, b| {
        (!a.warming, a.lag.is_none(), a.lag, a.task).cmp(&(
            !b.warming,
            b.lag.is_none(),
            b.lag,
            b.task,
        ))
    });
    let budget = usize::try_from(settings.num_warmup_replicas).unwrap_or(usize::MAX);
    let mut used = 0usize;
    for h in &held {
        if used == budget {
            break;
        }
        let has_standby = members
            .iter()
            .filter(|m| m.process_id == h.to.process_id)
            .any(|m| {
                out.get(&m.member_id)
                    .is_some_and(|t| t.standby.contains(h.task.0, h.task.1))
            });
        if has_standby {
            // A standby on that process restores the state already.
            continue;
        }
        if let Some(t) = out.get_mut(&h.to.member_id) {
            edit(t, Role::Warmup, h.sub, h.task.1, true);
            used += 1;
        }
    }
    out
}

/// Number of active tasks in an assignment (the safety check: a refinement
/// never loses or duplicates an active task).
pub(super) fn active_count(assignment: &Refined) -> usize {
    assignment.values().map(|t| t.active.len()).sum()
}

/// Number of warm-up tasks in an assignment.
pub(super) fn warmup_count(assignment: &Refined) -> usize {
    assignment.values().map(|t| t.warmup.len()).sum()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::group::state::MemberOffsets;
    use crate::group::tasks::build::{add, add_active, stamped};
    use crate::group::tasks::TasksWithEpochs;
    use proptest::prelude::*;

    fn member(id: &str, process: &str, active: &[(&str, i32)], warmup: &[(&str, i32)]) -> Member {
        let mut m = Member::new(id);
        m.process_id = process.into();
        let mut a = TasksWithEpochs::default();
        for (s, p) in active {
            add_active(&mut a.active, s, *p, 1);
        }
        for t in warmup {
            add(&mut a.warmup, t.0, t.1);
        }
        m.assigned = a;
        m
    }

    fn tasks(active: &[(&str, i32)], standby: &[(&str, i32)]) -> Arc<Tasks> {
        let mut t = Tasks::default();
        for x in active {
            add(&mut t.active, x.0, x.1);
        }
        for x in standby {
            add(&mut t.standby, x.0, x.1);
        }
        Arc::new(t)
    }

    fn offsets(entries: &[(&str, &str, i32, i64, i64)]) -> BTreeMap<String, MemberOffsets> {
        let mut out: BTreeMap<String, MemberOffsets> = BTreeMap::new();
        for (m, s, p, off, end) in entries {
            let o = out.entry(m.to_string()).or_default();
            o.offsets.entry(s.to_string()).or_default().insert(*p, *off);
            o.end_offsets
                .entry(s.to_string())
                .or_default()
                .insert(*p, *end);
        }
        out
    }

    fn stateful(ids: &[&str]) -> BTreeSet<String> {
        ids.iter().map(|s| s.to_string()).collect()
    }

    fn run(
        members: &[Member],
        target: &Refined,
        offs: &BTreeMap<String, MemberOffsets>,
        stateful: &BTreeSet<String>,
        budget: u32,
        lag: i64,
    ) -> Refined {
        let refs: Vec<&Member> = members.iter().collect();
        refine(
            &refs,
            |id| target.get(id),
            offs.into(),
            Settings {
                stateful,
                num_warmup_replicas: budget,
                acceptable_recovery_lag: lag,
            },
        )
    }

    #[test]
    fn a_stateful_move_to_a_process_behind_keeps_the_active_and_warms_up_the_new_owner() {
        let members = [
            member("m1", "p1", &[("0", 0), ("0", 1)], &[]),
            member("m2", "p2", &[], &[]),
        ];
        let target = BTreeMap::from([
            ("m1".to_string(), tasks(&[("0", 0)], &[])),
            ("m2".to_string(), tasks(&[("0", 1)], &[])),
        ]);
        let r = run(
            &members,
            &target,
            &BTreeMap::new(),
            &stateful(&["0"]),
            2,
            100,
        );
        assert_eq!(r["m1"].active, tasks(&[("0", 0), ("0", 1)], &[]).active);
        assert!(r["m2"].active.is_empty());
        assert!(r["m2"].warmup.contains("0", 1));
    }

    #[test]
    fn a_caught_up_process_takes_the_task_at_once() {
        let members = [
            member("m1", "p1", &[("0", 0), ("0", 1)], &[]),
            member("m2", "p2", &[], &[("0", 1)]),
        ];
        let target = BTreeMap::from([
            ("m1".to_string(), tasks(&[("0", 0)], &[])),
            ("m2".to_string(), tasks(&[("0", 1)], &[])),
        ]);
        let offs = offsets(&[("m2", "0", 1, 950, 1000)]);
        let r = run(&members, &target, &offs, &stateful(&["0"]), 2, 100);
        assert_eq!(r, target);
        // 51 behind with an acceptable lag of 50: not yet.
        let offs = offsets(&[("m2", "0", 1, 949, 1000)]);
        let r = run(&members, &target, &offs, &stateful(&["0"]), 2, 50);
        assert!(r["m1"].active.contains("0", 1));
        assert!(r["m2"].warmup.contains("0", 1));
    }

    #[test]
    fn stateless_tasks_moves_under_way_and_tasks_without_owner_move_at_once() {
        let mut leaving = member("m1", "p1", &[("1", 0)], &[]);
        add_active(&mut leaving.pending_revocation.active, "0", 2, 1);
        let members = [leaving, member("m2", "p2", &[], &[])];
        let target = BTreeMap::from([
            ("m1".to_string(), Arc::default()),
            (
                "m2".to_string(),
                tasks(&[("0", 0), ("0", 2), ("1", 0)], &[]),
            ),
        ]);
        // "1" is stateless, 0_0 has no owner, 0_2 is only pending revocation.
        let r = run(&members, &target, &BTreeMap::new(), &stateful(&["0"]), 2, 0);
        assert_eq!(r, target);
    }

    #[test]
    fn the_budget_bounds_the_warm_ups_and_prefers_running_ones_then_small_lags() {
        let members = [
            member("m1", "p1", &[("0", 0), ("0", 1), ("0", 2), ("0", 3)], &[]),
            member("m2", "p2", &[], &[("0", 3)]),
        ];
        let target = BTreeMap::from([
            ("m1".to_string(), Arc::default()),
            (
                "m2".to_string(),
                tasks(&[("0", 0), ("0", 1), ("0", 2), ("0", 3)], &[]),
            ),
        ]);
        let offs = offsets(&[("m2", "0", 2, 0, 500), ("m2", "0", 1, 0, 900)]);
        let r = run(&members, &target, &offs, &stateful(&["0"]), 2, 10);
        assert_eq!(warmup_count(&r), 2);
        assert!(r["m2"].warmup.contains("0", 3));
        assert!(r["m2"].warmup.contains("0", 2));
        assert_eq!(active_count(&r), 4);
        assert_eq!(r["m1"].active.get("0").map(<[i32]>::len), Some(4));
    }

    #[test]
    fn the_holding_process_drops_a_standby_of_the_task_it_keeps() {
        let members = [
            member("m1", "p1", &[("0", 0)], &[]),
            member("m2", "p2", &[], &[]),
        ];
        let target = BTreeMap::from([
            ("m1".to_string(), tasks(&[], &[("0", 0)])),
            ("m2".to_string(), tasks(&[("0", 0)], &[])),
        ]);
        let r = run(&members, &target, &BTreeMap::new(), &stateful(&["0"]), 1, 0);
        assert_eq!(r["m1"], tasks(&[("0", 0)], &[]));
        assert!(r["m2"].warmup.contains("0", 0));
    }

    #[test]
    fn no_budget_or_the_same_process_gives_the_target() {
        let members = [
            member("m1", "p1", &[("0", 0)], &[]),
            member("m2", "p1", &[], &[]),
            member("m3", "p2", &[], &[]),
        ];
        let target = BTreeMap::from([
            ("m1".to_string(), Arc::default()),
            ("m2".to_string(), tasks(&[("0", 0)], &[])),
            ("m3".to_string(), Arc::default()),
        ]);
        assert_eq!(
            run(&members, &target, &BTreeMap::new(), &stateful(&["0"]), 2, 0),
            target
        );
        let target = BTreeMap::from([
            ("m1".to_string(), Arc::default()),
            ("m2".to_string(), Arc::default()),
            ("m3".to_string(), tasks(&[("0", 0)], &[])),
        ]);
        assert_eq!(
            run(&members, &target, &BTreeMap::new(), &stateful(&["0"]), 0, 0),
            target
        );
    }

    // ---- properties ----

    const PROCESSES: [&str; 3] = ["p0", "p1", "p2"];
    const TASKS: i32 = 6;

    /// A random group: 1..=5 members on up to 3 processes, each task of
    /// subtopologies "0" (stateful) and "1" (stateless) actively owned by at
    /// most one member, a random target that is a valid assignment (each task
    /// active once, standbys on other processes), random lags.
    #[derive(Debug, Clone)]
    struct Case {
        members: Vec<Member>,
        target: Refined,
        offsets: BTreeMap<String, MemberOffsets>,
        budget: u32,
        lag: i64,
    }

    fn case() -> impl Strategy<Value = Case> {
        (1usize..=5)
            .prop_flat_map(|n| {
                (
                    proptest::collection::vec(0usize..3, n),
                    proptest::collection::vec(proptest::option::of(0usize..n), 2 * TASKS as usize),
                    proptest::collection::vec(0usize..n, 2 * TASKS as usize),
                    proptest::collection::vec(proptest::option::of(0usize..n), TASKS as usize),
                    proptest::collection::vec((0usize..n, 0i32..TASKS, 0i64..200), 0..12),
                    0u32..4,
                    0i64..150,
                )
            })
            .prop_map(|(procs, owners, dest, standby, lags, budget, lag)| {
                let mut members: Vec<Member> = procs
                    .iter()
                    .enumerate()
                    .map(|(i, p)| member(&format!("m{i}"), PROCESSES[*p], &[], &[]))
                    .collect();
                let mut target: Refined = members
                    .iter()
                    .map(|m| (m.member_id.clone(), Arc::default()))
                    .collect();
                for i in 0..(2 * TASKS) {
                    let s = if i < TASKS { "0" } else { "1" };
                    let p = i % TASKS;
                    let idx = usize::try_from(i).unwrap_or(0);
                    if let Some(o) = owners[idx] {
                        add_active(&mut members[o].assigned.active, s, p, 1);
                    }
                    let d = &members[dest[idx]];
                    let (did, dproc) = (d.member_id.clone(), d.process_id.clone());
                    add(
                        &mut Arc::make_mut(target.get_mut(&did).expect("member")).active,
                        s,
                        p,
                    );
                    if s == "0" {
                        if let Some(sb) = standby[usize::try_from(p).unwrap_or(0)] {
                            let sm = &members[sb];
                            if sm.process_id != dproc {
                                let sid = sm.member_id.clone();
                                add(
                                    &mut Arc::make_mut(target.get_mut(&sid).expect("member"))
                                        .standby,
                                    s,
                                    p,
                                );
                            }
                        }
                    }
                }
                let mut offsets: BTreeMap<String, MemberOffsets> = BTreeMap::new();
                for (m, p, l) in lags {
                    let o = offsets.entry(format!("m{m}")).or_default();
                    o.offsets.entry("0".into()).or_default().insert(p, 1000);
                    o.end_offsets
                        .entry("0".into())
                        .or_default()
                        .insert(p, 1000 + l);
                }
                Case {
                    members,
                    target,
                    offsets,
                    budget,
                    lag,
                }
            })
    }

    fn refine_case(c: &Case) -> Refined {
        run(
            &c.members,
            &c.target,
            &c.offsets,
            &stateful(&["0"]),
            c.budget,
            c.lag,
        )
    }

    /// Moves every member to its slice of `r` in one go (what reconciliation
    /// reaches when everyone acknowledges).
    fn reconciled(members: &[Member], r: &Refined) -> Vec<Member> {
        members
            .iter()
            .map(|m| {
                let t = r.get(&m.member_id).cloned().unwrap_or_default();
                let mut n = m.clone();
                n.assigned = TasksWithEpochs {
                    active: stamped(&t.active, 1),
                    standby: t.standby.clone(),
                    warmup: t.warmup.clone(),
                };
                n.pending_revocation = TasksWithEpochs::default();
                n
            })
            .collect()
    }

    proptest! {
        #[test]
        fn refinement_invariants_hold(c in case()) {
            let r = refine_case(&c);
            // Same inputs, same output.
            prop_assert_eq!(&r, &refine_case(&c));
            // No task active twice, none lost.
            let mut active: BTreeMap<(String, i32), usize> = BTreeMap::new();
            for t in r.values() {
                for (s, parts) in t.active.iter() {
                    for p in parts {
                        *active.entry((s.to_string(), *p)).or_default() += 1;
                    }
                }
            }
            prop_assert!(active.values().all(|n| *n == 1));
            prop_assert_eq!(active_count(&r), active_count(&c.target));
            // No process holds a task twice.
            let mut copies: BTreeMap<(String, String, i32), usize> = BTreeMap::new();
            for m in &c.members {
                let t = &r[&m.member_id];
                for set in [&t.active, &t.standby, &t.warmup] {
                    for (s, parts) in set.iter() {
                        for p in parts {
                            *copies.entry((m.process_id.to_string(), s.to_string(), *p)).or_default() += 1;
                        }
                    }
                }
            }
            prop_assert!(copies.values().all(|n| *n == 1), "{:?}", copies);
            // The budget.
            prop_assert!(warmup_count(&r) <= c.budget as usize);
            // Stateless tasks are never held or warmed up.
            for (id, t) in &r {
                prop_assert_eq!(t.active.get("1"), c.target[id].active.get("1"));
                prop_assert!(t.warmup.get("1").is_none());
            }
            if c.budget == 0 {
                prop_assert_eq!(&r, &c.target);
            }
        }

        #[test]
        fn deriving_again_after_reconciliation_gives_the_same_refinement(c in case()) {
            // A replayed coordinator derives the refinement from the reconciled
            // current assignments: with the same lags it must decide the same.
            let r = refine_case(&c);
            let again = Case { members: reconciled(&c.members, &r), ..c.clone() };
            prop_assert_eq!(refine_case(&again), r);
        }

        #[test]
        fn caught_up_warm_ups_are_promoted_and_the_group_converges(c in case()) {
            // Steps of refine-then-reconcile; after each, every warm-up catches
            // up (its process reports lag 0). The group reaches the target.
            let mut members = c.members.clone();
            let mut offsets = c.offsets.clone();
            let mut reached = false;
            for _ in 0..(2 * TASKS as usize + 2) {
                let step = Case { members: members.clone(), offsets: offsets.clone(), ..c.clone() };
                let r = refine_case(&step);
                if r == c.target {
                    reached = true;
                    break;
                }
                // Every warm-up of this step is promoted at the next one.
                for (id, t) in &r {
                    for (s, parts) in t.warmup.iter() {
                        for p in parts {
                            let o = offsets.entry(id.clone()).or_default();
                            o.offsets.entry(s.to_string()).or_default().insert(*p, 5);
                            o.end_offsets.entry(s.to_string()).or_default().insert(*p, 5);
                        }
                    }
                }
                members = reconciled(&members, &r);
                let next = refine_case(&Case { members: members.clone(), offsets: offsets.clone(), ..c.clone() });
                for (id, t) in &r {
                    for (s, parts) in t.warmup.iter() {
                        for p in parts {
                            prop_assert!(next[id].active.contains(s, *p), "warm-up {}_{} of {} not promoted", s, p, id);
                        }
                    }
                }
            }
            if c.budget > 0 {
                prop_assert!(reached, "did not converge to the target");
            }
            // With lags that stop changing (no catching up), a fixed point.
            let r = refine_case(&c);
            let members = reconciled(&c.members, &r);
            let fixed = refine_case(&Case { members: members.clone(), ..c.clone() });
            prop_assert_eq!(refine_case(&Case { members: reconciled(&members, &fixed), ..c.clone() }), fixed);
        }
    }
}
