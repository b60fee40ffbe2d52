//! Member reconciliation: one step of a member toward its target assignment
//! (spec 03). Pure: reads the member, its target, the tasks it reports owning and
//! the group's ownership index, and returns the next member value.

use std::collections::{BTreeMap, BTreeSet};

use super::member::{Member, MemberState};
use super::ownership::Ownership;
use super::tasks::{self, ActiveTasks, TaskSet, Tasks, TasksWithEpochs};

/// The member is in a state this coordinator does not know and reported owned
/// tasks (or none at all): it must drop everything and rejoin.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct UnknownStateFenced;

impl UnknownStateFenced {
    /// Kafka's message for this fencing.
    pub(super) const MESSAGE: &'static str =
        "The streams group member is in a unknown state. The member must abandon all its tasks and rejoin.";
}

/// Computes the member's next state (spec 03 §4). Returns the member unchanged
/// (a clone) when no step applies.
pub(super) fn reconcile(
    member: &Member,
    target_epoch: i32,
    target: &Tasks,
    owned: Option<&Tasks>,
    owners: &Ownership,
) -> Result<Member, UnknownStateFenced> {
    let step = Step {
        member,
        target_epoch,
        target,
        owned,
        owners,
    };
    match member.state {
        MemberState::Stable => {
            if member.member_epoch != target_epoch {
                Ok(step.next(member.member_epoch))
            } else {
                Ok(member.clone())
            }
        }
        MemberState::UnrevokedTasks => {
            if step.not_released(&member.pending_revocation) {
                Ok(member.clone())
            } else {
                Ok(step.next(member.member_epoch.saturating_add(1)))
            }
        }
        MemberState::UnreleasedTasks => Ok(step.next(member.member_epoch)),
        MemberState::Unknown => match owned {
            Some(o) if o.is_empty() => Ok(step.next(target_epoch)),
            _ => Err(UnknownStateFenced),
        },
    }
}

struct Step<'a> {
    member: &'a Member,
    target_epoch: i32,
    target: &'a Tasks,
    owned: Option<&'a Tasks>,
    owners: &'a Ownership,
}

/// Result of the per-role difference.
struct Diff<T> {
    kept: T,
    revoke: T,
    grant: T,
    held_back: bool,
}

impl Step<'_> {
    fn not_released(&self, pending: &TasksWithEpochs) -> bool {
        match self.owned {
            None => true,
            Some(owned) => owned.contains_any(pending),
        }
    }

    fn pid(&self) -> &str {
        &self.member.process_id
    }

    fn unreleased_active(&self, s: &str, p: i32) -> bool {
        let cur = &self.member.assigned;
        self.owners.active_owner(s, p).is_some()
            || (self.owners.standby_held_by(s, p, self.pid())
                && !tasks::contains(&cur.standby, s, p))
            || (self.owners.warmup_held_by(s, p, self.pid()) && !tasks::contains(&cur.warmup, s, p))
    }

    fn unreleased_standby(&self, s: &str, p: i32) -> bool {
        let cur = &self.member.assigned;
        (self.owners.active_owner(s, p) == Some(self.pid())
            && !tasks::contains_active(&cur.active, s, p))
            || self.owners.standby_held_by(s, p, self.pid())
            || (self.owners.warmup_held_by(s, p, self.pid()) && !tasks::contains(&cur.warmup, s, p))
    }

    fn unreleased_warmup(&self, s: &str, p: i32) -> bool {
        let cur = &self.member.assigned;
        self.owners.active_owner(s, p) == Some(self.pid())
            || (self.owners.standby_held_by(s, p, self.pid())
                && !tasks::contains(&cur.standby, s, p))
            || self.owners.warmup_held_by(s, p, self.pid())
    }

    fn diff_active(&self) -> Diff<ActiveTasks> {
        let current = &self.member.assigned.active;
        let target = &self.target.active;
        let mut d = Diff {
            kept: ActiveTasks::new(),
            revoke: ActiveTasks::new(),
            grant: ActiveTasks::new(),
            held_back: false,
        };
        let subs: BTreeSet<&String> = current.keys().chain(target.keys()).collect();
        let empty_t = BTreeSet::new();
        let empty_c = BTreeMap::new();
        for s in subs {
            let cur = current.get(s).unwrap_or(&empty_c);
            let tgt = target.get(s).unwrap_or(&empty_t);
            let mut kept = BTreeMap::new();
            let mut revoke = BTreeMap::new();
            for (&p, &e) in cur {
                if tgt.contains(&p) {
                    kept.insert(p, e);
                } else {
                    revoke.insert(p, e);
                }
            }
            let mut grant = BTreeMap::new();
            for &p in tgt {
                if !kept.contains_key(&p) {
                    if self.unreleased_active(s, p) {
                        d.held_back = true;
                    } else {
                        grant.insert(p, self.target_epoch);
                    }
                }
            }
            put(&mut d.kept, s, kept);
            put(&mut d.revoke, s, revoke);
            put(&mut d.grant, s, grant);
        }
        d
    }

    fn diff_set(
        &self,
        current: &TaskSet,
        target: &TaskSet,
        unreleased: impl Fn(&str, i32) -> bool,
    ) -> Diff<TaskSet> {
        let mut d = Diff {
            kept: TaskSet::new(),
            revoke: TaskSet::new(),
            grant: TaskSet::new(),
            held_back: false,
        };
        let subs: BTreeSet<&String> = current.keys().chain(target.keys()).collect();
        let empty = BTreeSet::new();
        for s in subs {
            let cur = current.get(s).unwrap_or(&empty);
            let tgt = target.get(s).unwrap_or(&empty);
            let kept: BTreeSet<i32> = cur.intersection(tgt).copied().collect();
            let revoke: BTreeSet<i32> = cur.difference(&kept).copied().collect();
            let mut grant = BTreeSet::new();
            for &p in tgt {
                if !kept.contains(&p) {
                    if unreleased(s, p) {
                        d.held_back = true;
                    } else {
                        grant.insert(p);
                    }
                }
            }
            put(&mut d.kept, s, kept);
            put(&mut d.revoke, s, revoke);
            put(&mut d.grant, s, grant);
        }
        d
    }

    /// `next(e, current)` of spec 03 §5.
    fn next(&self, epoch: i32) -> Member {
        let cur = &self.member.assigned;
        let active = self.diff_active();
        let mut standby = self.diff_set(&cur.standby, &self.target.standby, |s, p| {
            self.unreleased_standby(s, p)
        });
        let mut warmup = self.diff_set(&cur.warmup, &self.target.warmup, |s, p| {
            self.unreleased_warmup(s, p)
        });

        // 1. Active -> standby on this member: the standby is granted now; the
        //    active stays in the revocation set.
        for (s, parts) in &cur.active {
            for &p in parts.keys() {
                if tasks::remove(&mut standby.grant, s, p) {
                    tasks::insert(&mut standby.kept, s, p);
                }
            }
        }
        // 2. Standby -> warm-up and warm-up -> standby: granted now, no
        //    acknowledgement of the old role.
        for (s, parts) in &cur.standby {
            for &p in parts {
                if tasks::remove(&mut warmup.grant, s, p) {
                    tasks::insert(&mut warmup.kept, s, p);
                    tasks::remove(&mut standby.revoke, s, p);
                }
            }
        }
        for (s, parts) in &cur.warmup {
            for &p in parts {
                if tasks::remove(&mut standby.grant, s, p) {
                    tasks::insert(&mut standby.kept, s, p);
                    tasks::remove(&mut warmup.revoke, s, p);
                }
            }
        }
        // 3. Standby or warm-up -> active: never revoked; kept until the active
        //    can be granted in a step without other outstanding revocations.
        for (s, parts) in cur.standby.iter().chain(cur.warmup.iter()) {
            for &p in parts {
                if tasks::contains(&self.target.active, s, p) {
                    tasks::remove(&mut standby.revoke, s, p);
                    tasks::remove(&mut warmup.revoke, s, p);
                }
            }
        }
        let pending = TasksWithEpochs {
            active: active.revoke,
            standby: standby.revoke,
            warmup: warmup.revoke,
        };
        let must_revoke = !pending.is_empty() && self.not_released(&pending);
        let keep_promoted = |from: &TaskSet, kept: &mut TaskSet| {
            for (s, parts) in from {
                for &p in parts {
                    let promoted_now = !must_revoke && tasks::contains_active(&active.grant, s, p);
                    if tasks::contains(&self.target.active, s, p) && !promoted_now {
                        tasks::insert(kept, s, p);
                    }
                }
            }
        };
        keep_promoted(&cur.standby, &mut standby.kept);
        keep_promoted(&cur.warmup, &mut warmup.kept);

        let held_back = active.held_back || standby.held_back || warmup.held_back;
        let mut next = self.member.clone();
        next.previous_member_epoch = self.member.member_epoch;
        let kept = TasksWithEpochs {
            active: active.kept,
            standby: standby.kept,
            warmup: warmup.kept,
        };
        if must_revoke {
            next.state = MemberState::UnrevokedTasks;
            next.member_epoch = epoch;
            next.assigned = kept;
            next.pending_revocation = pending;
            return next;
        }
        let grants_nothing =
            active.grant.is_empty() && standby.grant.is_empty() && warmup.grant.is_empty();
        next.member_epoch = self.target_epoch;
        next.pending_revocation = TasksWithEpochs::default();
        next.state = if held_back {
            MemberState::UnreleasedTasks
        } else {
            MemberState::Stable
        };
        let mut assigned = kept;
        if !grants_nothing {
            merge_active(&mut assigned.active, active.grant);
            merge_set(&mut assigned.standby, standby.grant);
            merge_set(&mut assigned.warmup, warmup.grant);
        }
        next.assigned = assigned;
        next
    }
}

fn put<V: IsEmpty>(map: &mut BTreeMap<String, V>, s: &str, v: V) {
    if !v.empty() {
        map.insert(s.to_string(), v);
    }
}

trait IsEmpty {
    fn empty(&self) -> bool;
}
impl IsEmpty for BTreeSet<i32> {
    fn empty(&self) -> bool {
        self.is_empty()
    }
}
impl IsEmpty for BTreeMap<i32, i32> {
    fn empty(&self) -> bool {
        self.is_empty()
    }
}

fn merge_active(into: &mut ActiveTasks, from: ActiveTasks) {
    for (s, parts) in from {
        into.entry(s).or_default().extend(parts);
    }
}

fn merge_set(into: &mut TaskSet, from: TaskSet) {
    for (s, parts) in from {
        into.entry(s).or_default().extend(parts);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(entries: &[(&str, &[i32])]) -> TaskSet {
        entries
            .iter()
            .map(|(s, p)| (s.to_string(), p.iter().copied().collect()))
            .collect()
    }

    fn active(entries: &[(&str, &[i32])], epoch: i32) -> ActiveTasks {
        entries
            .iter()
            .map(|(s, p)| (s.to_string(), p.iter().map(|&x| (x, epoch)).collect()))
            .collect()
    }

    fn member(id: &str, pid: &str, epoch: i32, act: ActiveTasks) -> Member {
        let mut m = Member::new(id);
        m.process_id = pid.into();
        m.member_epoch = epoch;
        m.previous_member_epoch = epoch;
        m.assigned.active = act;
        m
    }

    fn target(act: &[(&str, &[i32])]) -> Tasks {
        Tasks {
            active: set(act),
            ..Tasks::default()
        }
    }

    fn owned(act: &[(&str, &[i32])]) -> Tasks {
        target(act)
    }

    /// Spec 03 §8.1, the worked example, step by step.
    #[test]
    fn third_member_joins() {
        let mut m1 = member(
            "m1",
            "p1",
            10,
            active(&[("s1", &[0, 1, 2]), ("s2", &[0, 1])], 10),
        );
        let mut m2 = member(
            "m2",
            "p2",
            10,
            active(&[("s1", &[3, 4, 5]), ("s2", &[2])], 10),
        );
        let mut m3 = member("m3", "p3", 0, ActiveTasks::new());
        let t1 = target(&[("s1", &[0, 1]), ("s2", &[0])]);
        let t2 = target(&[("s1", &[2, 3]), ("s2", &[2])]);
        let t3 = target(&[("s1", &[4, 5]), ("s2", &[1])]);
        let mut own = Ownership::default();
        own.add(&m1);
        own.add(&m2);
        let apply = |own: &mut Ownership, old: &mut Member, new: Member| {
            own.remove(old);
            own.add(&new);
            *old = new;
        };
        // 1: m3 joins with empty lists.
        let n = reconcile(&m3, 11, &t3, Some(&Tasks::default()), &own).unwrap();
        assert_eq!(n.state, MemberState::UnreleasedTasks);
        assert_eq!((n.member_epoch, n.previous_member_epoch), (11, 0));
        assert!(n.assigned.is_empty());
        apply(&mut own, &mut m3, n);
        // 2: m1 heartbeats with null owned tasks.
        let n = reconcile(&m1, 11, &t1, None, &own).unwrap();
        assert_eq!(n.state, MemberState::UnrevokedTasks);
        assert_eq!(n.member_epoch, 10);
        assert_eq!(
            n.assigned.active,
            active(&[("s1", &[0, 1]), ("s2", &[0])], 10)
        );
        assert_eq!(
            n.pending_revocation.active,
            active(&[("s1", &[2]), ("s2", &[1])], 10)
        );
        apply(&mut own, &mut m1, n);
        // 3: m2.
        let n = reconcile(&m2, 11, &t2, None, &own).unwrap();
        assert_eq!(n.state, MemberState::UnrevokedTasks);
        assert_eq!(n.pending_revocation.active, active(&[("s1", &[4, 5])], 10));
        apply(&mut own, &mut m2, n);
        // 4: m3 again: only the previous epoch changes.
        let n = reconcile(&m3, 11, &t3, None, &own).unwrap();
        assert_eq!((n.member_epoch, n.previous_member_epoch), (11, 11));
        assert!(n.assigned.is_empty());
        assert!(n.assignment_differs(&m3));
        apply(&mut own, &mut m3, n);
        // 5: m1 acknowledges.
        let n = reconcile(
            &m1,
            11,
            &t1,
            Some(&owned(&[("s1", &[0, 1]), ("s2", &[0])])),
            &own,
        )
        .unwrap();
        assert_eq!(n.state, MemberState::Stable);
        assert_eq!((n.member_epoch, n.previous_member_epoch), (11, 10));
        assert!(n.pending_revocation.is_empty());
        apply(&mut own, &mut m1, n);
        // 6: m2 without owned tasks: unchanged.
        let n = reconcile(&m2, 11, &t2, None, &own).unwrap();
        assert!(!n.assignment_differs(&m2));
        // 7: m3 gets s2:1.
        let n = reconcile(&m3, 11, &t3, None, &own).unwrap();
        assert_eq!(n.state, MemberState::UnreleasedTasks);
        assert_eq!(n.assigned.active, active(&[("s2", &[1])], 11));
        apply(&mut own, &mut m3, n);
        // 8: unchanged.
        let n = reconcile(&m3, 11, &t3, None, &own).unwrap();
        assert!(!n.assignment_differs(&m3));
        // 9: m2 acknowledges and gets s1:2@11.
        let n = reconcile(
            &m2,
            11,
            &t2,
            Some(&owned(&[("s1", &[3]), ("s2", &[2])])),
            &own,
        )
        .unwrap();
        assert_eq!(n.state, MemberState::Stable);
        let mut expect = active(&[("s1", &[3]), ("s2", &[2])], 10);
        expect.get_mut("s1").unwrap().insert(2, 11);
        assert_eq!(n.assigned.active, expect);
        apply(&mut own, &mut m2, n);
        // 10: m3 gets the rest.
        let n = reconcile(&m3, 11, &t3, Some(&owned(&[("s2", &[1])])), &own).unwrap();
        assert_eq!(n.state, MemberState::Stable);
        let mut expect = active(&[("s1", &[4, 5])], 11);
        expect.insert("s2".into(), BTreeMap::from([(1, 11)]));
        assert_eq!(n.assigned.active, expect);
    }

    /// Spec 03 §8.4: a standby promoted in place once the active is released.
    #[test]
    fn standby_promoted_in_place() {
        let mut m1 = member("m1", "P", 20, ActiveTasks::new());
        m1.assigned.standby = set(&[("s1", &[0])]);
        let mut m2 = member("m2", "Q", 20, active(&[("s1", &[0])], 20));
        let mut own = Ownership::default();
        own.add(&m1);
        own.add(&m2);
        let t1 = target(&[("s1", &[0])]);
        let owned_standby = Tasks {
            standby: set(&[("s1", &[0])]),
            ..Tasks::default()
        };
        let n = reconcile(&m1, 21, &t1, Some(&owned_standby), &own).unwrap();
        assert_eq!(n.state, MemberState::UnreleasedTasks);
        assert_eq!(n.member_epoch, 21);
        assert_eq!(n.assigned.standby, set(&[("s1", &[0])]));
        assert!(n.assigned.active.is_empty());
        assert!(n.pending_revocation.is_empty());
        own.remove(&m1);
        own.add(&n);
        m1 = n;
        let n = reconcile(&m2, 21, &Tasks::default(), None, &own).unwrap();
        assert_eq!(n.state, MemberState::UnrevokedTasks);
        own.remove(&m2);
        own.add(&n);
        m2 = n;
        let n = reconcile(&m2, 21, &Tasks::default(), Some(&Tasks::default()), &own).unwrap();
        assert_eq!((n.state, n.member_epoch), (MemberState::Stable, 21));
        own.remove(&m2);
        own.add(&n);
        let n = reconcile(&m1, 21, &t1, Some(&owned_standby), &own).unwrap();
        assert_eq!((n.state, n.member_epoch), (MemberState::Stable, 21));
        assert_eq!(n.assigned.active, active(&[("s1", &[0])], 21));
        assert!(n.assigned.standby.is_empty());
    }

    #[test]
    fn unknown_state_requires_empty_owned() {
        let mut m = member("m", "p", 3, ActiveTasks::new());
        m.state = MemberState::Unknown;
        let own = Ownership::default();
        assert!(reconcile(&m, 4, &Tasks::default(), None, &own).is_err());
        let n = reconcile(&m, 4, &Tasks::default(), Some(&Tasks::default()), &own).unwrap();
        assert_eq!((n.state, n.member_epoch), (MemberState::Stable, 4));
    }

    #[test]
    fn early_release_moves_straight_to_target() {
        let m = member("m", "p", 5, active(&[("a", &[0, 1])], 5));
        let mut own = Ownership::default();
        own.add(&m);
        let n = reconcile(
            &m,
            6,
            &target(&[("a", &[0])]),
            Some(&owned(&[("a", &[0])])),
            &own,
        )
        .unwrap();
        assert_eq!((n.state, n.member_epoch), (MemberState::Stable, 6));
        assert_eq!(n.assigned.active, active(&[("a", &[0])], 5));
    }
}
