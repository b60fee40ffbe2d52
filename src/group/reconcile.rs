//! Member reconciliation: one step of a member toward its target assignment
//! (spec 03). Pure: reads the member, its target, the tasks it reports owning and
//! the group's ownership index, and returns the next member value.

use super::member::{Member, MemberState};
use super::ownership::Ownership;
use super::tasks::{self, ActiveBuilder, ActiveTasks, SetBuilder, TaskSet, Tasks, TasksWithEpochs};

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
            || (self.owners.standby_held_by(s, p, self.pid()) && !cur.standby.contains(s, p))
            || (self.owners.warmup_held_by(s, p, self.pid()) && !cur.warmup.contains(s, p))
    }

    fn unreleased_standby(&self, s: &str, p: i32) -> bool {
        let cur = &self.member.assigned;
        (self.owners.active_owner(s, p) == Some(self.pid()) && !cur.active.contains(s, p))
            || self.owners.standby_held_by(s, p, self.pid())
            || (self.owners.warmup_held_by(s, p, self.pid()) && !cur.warmup.contains(s, p))
    }

    fn unreleased_warmup(&self, s: &str, p: i32) -> bool {
        let cur = &self.member.assigned;
        self.owners.active_owner(s, p) == Some(self.pid())
            || (self.owners.standby_held_by(s, p, self.pid()) && !cur.standby.contains(s, p))
            || self.owners.warmup_held_by(s, p, self.pid())
    }

    fn diff_active(&self) -> Diff<ActiveTasks> {
        let current = &self.member.assigned.active;
        let target = &self.target.active;
        let mut kept = ActiveBuilder::default();
        let mut revoke = ActiveBuilder::default();
        let mut grant = ActiveBuilder::default();
        let mut held_back = false;
        let (mut k, mut r, mut g) = (Vec::new(), Vec::new(), Vec::new());
        for s in tasks::merged_ids_of(current, target) {
            let (cur, epochs) = current.get(s).unwrap_or((&[], &[]));
            let tgt = target.get(s).unwrap_or(&[]);
            k.clear();
            r.clear();
            g.clear();
            for (&p, &e) in cur.iter().zip(epochs) {
                if tgt.binary_search(&p).is_ok() {
                    k.push((p, e));
                } else {
                    r.push((p, e));
                }
            }
            for &p in tgt {
                if cur.binary_search(&p).is_err() {
                    if self.unreleased_active(s, p) {
                        held_back = true;
                    } else {
                        g.push((p, self.target_epoch));
                    }
                }
            }
            kept.push(s, &k);
            revoke.push(s, &r);
            grant.push(s, &g);
        }
        Diff {
            kept: kept.build(),
            revoke: revoke.build(),
            grant: grant.build(),
            held_back,
        }
    }

    fn diff_set(
        &self,
        current: &TaskSet,
        target: &TaskSet,
        unreleased: impl Fn(&str, i32) -> bool,
    ) -> Diff<TaskSet> {
        let mut kept = SetBuilder::default();
        let mut revoke = SetBuilder::default();
        let mut grant = SetBuilder::default();
        let mut held_back = false;
        if current.is_empty() && target.is_empty() {
            return Diff {
                kept: TaskSet::default(),
                revoke: TaskSet::default(),
                grant: TaskSet::default(),
                held_back,
            };
        }
        let (mut k, mut r, mut g) = (Vec::new(), Vec::new(), Vec::new());
        for s in tasks::merged_set_ids(current, target) {
            let cur = current.get(s).unwrap_or(&[]);
            let tgt = target.get(s).unwrap_or(&[]);
            k.clear();
            r.clear();
            g.clear();
            for &p in cur {
                if tgt.binary_search(&p).is_ok() {
                    k.push(p);
                } else {
                    r.push(p);
                }
            }
            for &p in tgt {
                if cur.binary_search(&p).is_err() {
                    if unreleased(s, p) {
                        held_back = true;
                    } else {
                        g.push(p);
                    }
                }
            }
            kept.push(s, &k);
            revoke.push(s, &r);
            grant.push(s, &g);
        }
        Diff {
            kept: kept.build(),
            revoke: revoke.build(),
            grant: grant.build(),
            held_back,
        }
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
        if !standby.grant.is_empty() {
            for (s, parts, _) in cur.active.iter() {
                for &p in parts {
                    if standby.grant.remove(s, p) {
                        standby.kept.insert(s, p);
                    }
                }
            }
        }
        // 2. Standby -> warm-up and warm-up -> standby: granted now, no
        //    acknowledgement of the old role.
        for (s, parts) in cur.standby.iter() {
            for &p in parts {
                if warmup.grant.remove(s, p) {
                    warmup.kept.insert(s, p);
                    standby.revoke.remove(s, p);
                }
            }
        }
        for (s, parts) in cur.warmup.iter() {
            for &p in parts {
                if standby.grant.remove(s, p) {
                    standby.kept.insert(s, p);
                    warmup.revoke.remove(s, p);
                }
            }
        }
        // 3. Standby or warm-up -> active: never revoked; kept until the active
        //    can be granted in a step without other outstanding revocations.
        for (s, parts) in cur.standby.iter().chain(cur.warmup.iter()) {
            for &p in parts {
                if self.target.active.contains(s, p) {
                    standby.revoke.remove(s, p);
                    warmup.revoke.remove(s, p);
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
            for (s, parts) in from.iter() {
                for &p in parts {
                    let promoted_now = !must_revoke && active.grant.contains(s, p);
                    if self.target.active.contains(s, p) && !promoted_now {
                        kept.insert(s, p);
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
            assigned.active = assigned.active.union(&active.grant);
            assigned.standby = assigned.standby.union(&standby.grant);
            assigned.warmup = assigned.warmup.union(&warmup.grant);
        }
        next.assigned = assigned;
        next
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::group::tasks::build::{active, active_stamped, set};

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
        let mut m3 = member("m3", "p3", 0, ActiveTasks::default());
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
        let expect = active_stamped(&[("s1", 2, 11), ("s1", 3, 10), ("s2", 2, 10)]);
        assert_eq!(n.assigned.active, expect);
        apply(&mut own, &mut m2, n);
        // 10: m3 gets the rest.
        let n = reconcile(&m3, 11, &t3, Some(&owned(&[("s2", &[1])])), &own).unwrap();
        assert_eq!(n.state, MemberState::Stable);
        let expect = active(&[("s1", &[4, 5]), ("s2", &[1])], 11);
        assert_eq!(n.assigned.active, expect);
    }

    /// Spec 03 §8.4: a standby promoted in place once the active is released.
    #[test]
    fn standby_promoted_in_place() {
        let mut m1 = member("m1", "P", 20, ActiveTasks::default());
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
        let mut m = member("m", "p", 3, ActiveTasks::default());
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
