//! The invariants every valid assignment satisfies (spec 05 §7), as a public
//! checker any assignor's output can be run through.

use std::fmt;

use super::{GroupAssignment, GroupSpec, TaskSpace};
use crate::assignor::index::StrIndex;

/// Most violations one [`check`] reports (the first ones found).
pub const MAX_REPORTED_VIOLATIONS: usize = 32;

/// One broken invariant. Tasks are written `<subtopologyId>_<partition>`.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Violation {
    /// A member of the group spec is absent from the assignment.
    MissingMember {
        /// The member id.
        member_id: String,
    },
    /// The assignment has a member that is not in the group spec.
    UnknownMember {
        /// The member id.
        member_id: String,
    },
    /// A task of the task space has no active owner (group has members).
    Unassigned {
        /// The task.
        task: String,
    },
    /// A task is active on more than one member.
    ActiveTwice {
        /// The task.
        task: String,
        /// How many members run it.
        owners: usize,
    },
    /// A process holds two copies of one task (active + standby, or two standbys).
    TwoCopiesOnProcess {
        /// The task.
        task: String,
        /// The process id.
        process_id: String,
    },
    /// A task has the wrong number of standby replicas: `min(num.standby.replicas,
    /// processes − 1)` for stateful tasks, 0 for stateless ones.
    StandbyCount {
        /// The task.
        task: String,
        /// Expected replicas.
        expected: usize,
        /// Replicas found.
        actual: usize,
    },
    /// A member holds more active tasks than the initial active quota `ceil(T / M)`.
    ActiveQuotaExceeded {
        /// The member id.
        member_id: String,
        /// Its active tasks.
        active: usize,
        /// `ceil(T / M)`.
        quota: usize,
    },
    /// In a fresh assignment (no current tasks, no reported offsets) active
    /// counts are further apart than the sticky assignor allows: 1 inside a
    /// process and across processes of equal size, 2 otherwise.
    Unbalanced {
        /// Lowest active count (in the scope).
        min: usize,
        /// Highest active count (in the scope).
        max: usize,
        /// The process id when the imbalance is inside one process.
        process_id: Option<String>,
    },
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Violation::MissingMember { member_id } => write!(f, "member {member_id} has no entry"),
            Violation::UnknownMember { member_id } => {
                write!(f, "member {member_id} is not in the group")
            }
            Violation::Unassigned { task } => write!(f, "task {task} has no active owner"),
            Violation::ActiveTwice { task, owners } => {
                write!(f, "task {task} is active on {owners} members")
            }
            Violation::TwoCopiesOnProcess { task, process_id } => {
                write!(f, "process {process_id} holds task {task} twice")
            }
            Violation::StandbyCount {
                task,
                expected,
                actual,
            } => {
                write!(f, "task {task} has {actual} standbys, expected {expected}")
            }
            Violation::ActiveQuotaExceeded {
                member_id,
                active,
                quota,
            } => {
                write!(
                    f,
                    "member {member_id} has {active} active tasks, above ceil(T/M) = {quota}"
                )
            }
            Violation::Unbalanced {
                min,
                max,
                process_id,
            } => match process_id {
                Some(p) => write!(f, "active counts in process {p} range from {min} to {max}"),
                None => write!(f, "active counts range from {min} to {max}"),
            },
        }
    }
}

/// The violations found by [`check`] (at most [`MAX_REPORTED_VIOLATIONS`]).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("assignment breaks {} invariant(s): {}", .violations.len(), join(.violations))]
pub struct InvariantViolations {
    /// The violations, in the order found.
    pub violations: Vec<Violation>,
}

fn join(v: &[Violation]) -> String {
    v.iter()
        .map(|x| x.to_string())
        .collect::<Vec<_>>()
        .join("; ")
}

/// Which invariants [`check_with`] asserts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Checks {
    /// Standby count per task = `min(num.standby.replicas, processes − 1)`
    /// (stateful) / 0 (stateless). Off for assignors that may legally place fewer.
    pub standby_count: bool,
    /// The sticky assignor's balance bounds (spec 05 §7.6).
    pub balance: bool,
}

impl Default for Checks {
    fn default() -> Self {
        Checks {
            standby_count: true,
            balance: true,
        }
    }
}

/// Checks every invariant of spec 05 §7 (coverage, range, process
/// exclusivity, standby count, membership, balance). Range holds by
/// construction ([`GroupAssignment`] can only hold tasks of its task space).
pub fn check(
    group: &GroupSpec<'_>,
    space: &TaskSpace,
    assignment: &GroupAssignment<'_>,
) -> Result<(), InvariantViolations> {
    check_with(group, space, assignment, Checks::default())
}

/// [`check`] with a choice of the optional invariants.
pub fn check_with(
    group: &GroupSpec<'_>,
    space: &TaskSpace,
    assignment: &GroupAssignment<'_>,
    checks: Checks,
) -> Result<(), InvariantViolations> {
    let mut out = Vec::new();
    let mut push = |v: Violation| {
        if out.len() < MAX_REPORTED_VIOLATIONS {
            out.push(v);
        }
    };
    // Membership.
    let mut ids: Vec<(&str, &str)> = group
        .members
        .iter()
        .map(|m| (m.member_id, m.process_id))
        .collect();
    ids.sort_unstable();
    let mut pindex = StrIndex::with_capacity(ids.len());
    let mut pids: Vec<&str> = Vec::new();
    let mut member_proc = vec![u32::MAX; assignment.len()];
    let mut proc_cap: Vec<usize> = Vec::new();
    for m in &ids {
        if assignment.member(m.0).is_none() {
            push(Violation::MissingMember {
                member_id: m.0.to_owned(),
            });
        }
    }
    for (i, a) in assignment.members().enumerate() {
        match ids.binary_search_by(|x| x.0.cmp(a.member_id())) {
            Ok(j) => {
                let (p, new) = pindex.get_or_insert(ids[j].1, |k| pids[k as usize]);
                if new {
                    pids.push(ids[j].1);
                    proc_cap.push(0);
                }
                proc_cap[p as usize] += 1;
                member_proc[i] = p;
            }
            Err(_) => push(Violation::UnknownMember {
                member_id: a.member_id().to_owned(),
            }),
        }
    }
    // Coverage, exclusivity, standby count.
    let t_total = space.total_tasks();
    let mut active = vec![0u32; t_total];
    let mut standby = vec![0u32; t_total];
    let mut copies: Vec<Vec<u32>> = vec![Vec::new(); t_total];
    for (i, a) in assignment.members().enumerate() {
        for &t in a.active().indices() {
            active[t as usize] += 1;
            copies[t as usize].push(member_proc[i]);
        }
        for &t in a.standby().indices() {
            standby[t as usize] += 1;
            copies[t as usize].push(member_proc[i]);
        }
    }
    let expected_standbys =
        (group.configs.num_standby_replicas as usize).min(pids.len().saturating_sub(1));
    for t in 0..t_total {
        let name = || space.task_name(t as u32);
        if !ids.is_empty() && active[t] == 0 {
            push(Violation::Unassigned { task: name() });
        }
        if active[t] > 1 {
            push(Violation::ActiveTwice {
                task: name(),
                owners: active[t] as usize,
            });
        }
        let c = &mut copies[t];
        c.sort_unstable();
        if let Some(w) = c.windows(2).find(|w| w[0] == w[1] && w[0] != u32::MAX) {
            push(Violation::TwoCopiesOnProcess {
                task: name(),
                process_id: pids[w[0] as usize].to_owned(),
            });
        }
        if checks.standby_count {
            let expected = if space.task_stateful(t as u32) {
                expected_standbys
            } else {
                0
            };
            if standby[t] as usize != expected {
                push(Violation::StandbyCount {
                    task: name(),
                    expected,
                    actual: standby[t] as usize,
                });
            }
        }
    }
    // Balance.
    if checks.balance && !assignment.is_empty() {
        let m = assignment.len();
        let quota = t_total.div_ceil(m);
        for a in assignment.members() {
            if a.active().len() > quota {
                push(Violation::ActiveQuotaExceeded {
                    member_id: a.member_id().to_owned(),
                    active: a.active().len(),
                    quota,
                });
            }
        }
        if is_fresh(group) {
            let counts: Vec<usize> = assignment.members().map(|a| a.active().len()).collect();
            let (lo, hi) = (
                counts.iter().copied().min().unwrap_or(0),
                counts.iter().copied().max().unwrap_or(0),
            );
            let equal_caps = proc_cap.windows(2).all(|w| w[0] == w[1]);
            if hi - lo > if equal_caps { 1 } else { 2 } {
                push(Violation::Unbalanced {
                    min: lo,
                    max: hi,
                    process_id: None,
                });
            }
            for (p, pid) in pids.iter().enumerate() {
                let in_p = counts
                    .iter()
                    .zip(&member_proc)
                    .filter(|(_, &mp)| mp == p as u32)
                    .map(|(&c, _)| c);
                let (lo, hi) = in_p.fold((usize::MAX, 0), |(lo, hi), c| (lo.min(c), hi.max(c)));
                if hi > lo + 1 {
                    push(Violation::Unbalanced {
                        min: lo,
                        max: hi,
                        process_id: Some((*pid).to_owned()),
                    });
                }
            }
        }
    }
    if out.is_empty() {
        Ok(())
    } else {
        Err(InvariantViolations { violations: out })
    }
}

/// No member reports current active/standby tasks or task offsets.
fn is_fresh(group: &GroupSpec<'_>) -> bool {
    group.members.iter().all(|m| {
        let mut any = false;
        m.active_tasks.visit(&mut |_, p| any |= !p.is_empty());
        m.standby_tasks.visit(&mut |_, p| any |= !p.is_empty());
        m.task_offsets.visit(&mut |_, p| any |= !p.is_empty());
        !any
    })
}
