//! What the coordinator tells an operator: every lifecycle event, log line
//! and metric of the core is emitted here, so that their levels, names and
//! fields are decided in one place (docs/observability.md lists them).
//!
//! Levels follow Kafka's group coordinator: a member joining, leaving or
//! being fenced, a static member replacing another, an epoch bump and a new
//! target assignment are INFO; the rest (a member's new assignment state, a
//! timer that found nothing to do) is DEBUG. Kafka's own lines carry the
//! group and member in a `[GroupId g][MemberId m]` prefix; ours are
//! structured fields (`group_id`, `member_id`, `epoch`, `cause`, ...).
//!
//! Metrics go through the [`metrics`] facade: without an installed recorder
//! every call is a no-op.
//!
//! The core reads no clock. The assignor's time is measured with a
//! [`Stopwatch`] the driver installs
//! ([`GroupCoordinator::set_stopwatch`](super::GroupCoordinator::set_stopwatch));
//! it is read only for the log line and the histogram, never reaches a state,
//! a record or a response, so replay and simulation stay deterministic.
//! Without one the time is not reported.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use crate::protocol::CoordinatorRecord;

use super::causes::{BumpCause, FenceReason, Rebalance};
use super::member::Member;
use super::state::StreamsGroup;

/// Metric names (docs/observability.md has the table).
pub mod names {
    /// Counter, label `cause`: group-epoch bumps by [`BumpCause::label`](crate::group::BumpCause::label).
    pub const REBALANCES: &str = "streams_coordinator_rebalances_total";
    /// Counter: active tasks whose owner changed in a new target (or refinement step).
    pub const TASKS_MOVED: &str = "streams_coordinator_tasks_moved_total";
    /// Histogram (seconds), label `assignor`: one target-assignment computation.
    pub const ASSIGNOR_SECONDS: &str = "streams_coordinator_assignor_seconds";
    /// Gauge, label `group`: members of the group.
    pub const GROUP_MEMBERS: &str = "streams_coordinator_group_members";
    /// Gauge, label `group`: the group epoch.
    pub const GROUP_EPOCH: &str = "streams_coordinator_group_epoch";
    /// Gauge, label `group`: active tasks in the group's target assignment.
    pub const GROUP_TASKS: &str = "streams_coordinator_group_tasks";
    /// Gauge, label `group`: warm-up tasks of the group's refined assignment
    /// (in flight until promoted or dropped).
    pub const GROUP_WARMUPS: &str = "streams_coordinator_group_warmups";
    /// Histogram (seconds), label `result` (`ok` or the error name): one
    /// StreamsGroupHeartbeat through the service, records durable included.
    pub const HEARTBEAT_SECONDS: &str = "streams_coordinator_heartbeat_seconds";
    /// Histogram (seconds), label `result` (`ok` or `failed`): one append to
    /// the record sink, from the shard handing it out to its outcome.
    pub const APPEND_SECONDS: &str = "streams_coordinator_append_seconds";
}

/// A monotonic time source the driver hands the core, read only to report
/// how long the assignor ran (see the module docs).
pub trait Stopwatch: Send + Sync {
    /// Time since an arbitrary fixed origin; never goes back.
    fn now(&self) -> Duration;
}

/// The [`Stopwatch`] of a real process: `std::time::Instant` since creation.
#[derive(Clone, Copy, Debug)]
pub struct MonotonicStopwatch(std::time::Instant);

impl MonotonicStopwatch {
    /// A stopwatch started now.
    pub fn new() -> Self {
        Self(std::time::Instant::now())
    }
}

impl Default for MonotonicStopwatch {
    fn default() -> Self {
        Self::new()
    }
}

impl Stopwatch for MonotonicStopwatch {
    fn now(&self) -> Duration {
        self.0.elapsed()
    }
}

/// What the per-group gauges last showed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Gauged {
    members: usize,
    group_epoch: i32,
    /// The assignment epoch and refinement epoch the task gauges were
    /// computed for.
    tasks_for: (i32, Option<i32>),
}

/// The coordinator's observability settings, and what its gauges last showed.
#[derive(Clone, Default)]
pub(super) struct Audit {
    stopwatch: Option<Arc<dyn Stopwatch>>,
    /// By group: what its gauges last showed. A gauge is set only when its
    /// value changes (building a gauge's labelled key costs an allocation and
    /// a hash), and counting tasks walks every member, so it is done once per
    /// new target or refinement, not per written heartbeat.
    gauged: BTreeMap<String, Gauged>,
}

impl std::fmt::Debug for Audit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Audit")
            .field("stopwatch", &self.stopwatch.is_some())
            .finish()
    }
}

/// One run of the assignor: which, and for how long (`None` without a stopwatch).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct AssignorRun {
    pub(super) assignor: String,
    pub(super) took: Option<Duration>,
}

impl Audit {
    pub(super) fn set_stopwatch(&mut self, stopwatch: Arc<dyn Stopwatch>) {
        self.stopwatch = Some(stopwatch);
    }

    /// Runs `f` (a target computation by `assignor`), timing it.
    pub(super) fn time<T>(&self, assignor: &str, f: impl FnOnce() -> T) -> (T, AssignorRun) {
        let start = self.stopwatch.as_ref().map(|s| s.now());
        let out = f();
        let took = match (&self.stopwatch, start) {
            (Some(s), Some(t0)) => Some(s.now().saturating_sub(t0)),
            _ => None,
        };
        let run = AssignorRun {
            assignor: assignor.to_string(),
            took,
        };
        (out, run)
    }

    /// Updates the per-group gauges of every group `records` touched (after
    /// they were applied): a deleted group reads zero.
    #[inline]
    pub(super) fn groups_changed<'a>(
        &mut self,
        records: &[CoordinatorRecord],
        group: impl Fn(&str) -> Option<&'a StreamsGroup>,
    ) {
        // Most heartbeats write nothing: one test, inline.
        if records.is_empty() {
            return;
        }
        let mut last: Option<&str> = None;
        for r in records {
            let id = r.key.group_id();
            if last == Some(id) {
                continue;
            }
            last = Some(id);
            self.group_gauges(id, group(id));
        }
    }

    /// Sets the gauges of every group (after a load). The groups come from
    /// the coordinator's tree (distinct ids, ascending): when no gauge was set
    /// yet, as after a load, what they show is kept in a map built at once.
    pub(super) fn all_groups<'a>(&mut self, groups: impl Iterator<Item = &'a StreamsGroup>) {
        if !self.gauged.is_empty() {
            for g in groups {
                self.group_gauges(&g.group_id, Some(g));
            }
            return;
        }
        let shown: Vec<(String, Gauged)> = groups
            .map(|g| (g.group_id.clone(), show_gauges(&g.group_id, g, None)))
            .collect();
        self.gauged = shown.into_iter().collect();
    }

    fn group_gauges(&mut self, group_id: &str, g: Option<&StreamsGroup>) {
        let Some(g) = g else {
            self.gauged.remove(group_id);
            let label = [("group", group_id.to_string())];
            for name in [
                names::GROUP_MEMBERS,
                names::GROUP_EPOCH,
                names::GROUP_TASKS,
                names::GROUP_WARMUPS,
            ] {
                metrics::gauge!(name, &label).set(0.0);
            }
            return;
        };
        let last = self.gauged.get(group_id).copied();
        let now = show_gauges(group_id, g, last);
        if last == Some(now) {
            return;
        }
        match self.gauged.get_mut(group_id) {
            Some(l) => *l = now,
            None => {
                self.gauged.insert(group_id.to_string(), now);
            }
        }
    }
}

/// Sets the gauges of group `g` whose values differ from what they `last`
/// showed (all of them when `None`); returns what they show now.
fn show_gauges(group_id: &str, g: &StreamsGroup, last: Option<Gauged>) -> Gauged {
    let refined = g.transient.refined.as_deref();
    let now = Gauged {
        members: g.members.len(),
        group_epoch: g.group_epoch,
        tasks_for: (g.assignment_epoch, refined.map(|r| r.epoch)),
    };
    if last == Some(now) {
        return now;
    }
    let label = [("group", group_id.to_string())];
    if last.is_none_or(|l| l.members != now.members) {
        metrics::gauge!(names::GROUP_MEMBERS, &label).set(now.members as f64);
    }
    if last.is_none_or(|l| l.group_epoch != now.group_epoch) {
        metrics::gauge!(names::GROUP_EPOCH, &label).set(f64::from(now.group_epoch));
    }
    if last.is_none_or(|l| l.tasks_for != now.tasks_for) {
        let tasks: usize = g.targets.values().map(|t| t.active.len()).sum();
        let warmups: usize =
            refined.map_or(0, |r| r.assignment.values().map(|t| t.warmup.len()).sum());
        metrics::gauge!(names::GROUP_TASKS, &label).set(tasks as f64);
        metrics::gauge!(names::GROUP_WARMUPS, &label).set(warmups as f64);
    }
    now
}

/// Lifecycle events of one heartbeat, emitted only if it succeeds.
#[derive(Debug, Default)]
pub(super) struct Pending {
    joined: Option<Joined>,
}

#[derive(Debug)]
struct Joined {
    member_id: String,
    instance_id: Option<String>,
    replaced: Option<String>,
    client_id: String,
    process_id: String,
}

impl Pending {
    /// A member (re-)joins with epoch 0 from `client_id` and process
    /// `process_id`; `replaced`: the static member it replaces.
    pub(super) fn joined(
        &mut self,
        member_id: &str,
        instance_id: Option<&str>,
        replaced: Option<&str>,
        client_id: &str,
        process_id: &str,
    ) {
        self.joined = Some(Joined {
            member_id: member_id.to_string(),
            instance_id: instance_id.map(str::to_string),
            replaced: replaced.map(str::to_string),
            client_id: client_id.to_string(),
            process_id: process_id.to_string(),
        });
    }

    /// The heartbeat succeeded: logs what it did. Inline, so that the usual
    /// heartbeat, which joined nothing, pays one test.
    #[inline]
    pub(super) fn emit(self, group_id: &str, member_epoch: i32) {
        if let Some(j) = self.joined {
            j.emit(group_id, member_epoch);
        }
    }
}

impl Joined {
    #[inline(never)]
    fn emit(self, group_id: &str, member_epoch: i32) {
        let j = self;
        let instance_id = j.instance_id.as_deref().unwrap_or("");
        match &j.replaced {
            Some(old) => tracing::info!(
                group_id,
                member_id = %j.member_id,
                instance_id,
                replaced_member_id = %old,
                member_epoch,
                client_id = %j.client_id,
                process_id = %j.process_id,
                "static member re-joined under a new member id and replaced the old one"
            ),
            None => tracing::info!(
                group_id,
                member_id = %j.member_id,
                instance_id,
                member_epoch,
                client_id = %j.client_id,
                process_id = %j.process_id,
                "member joined the streams group"
            ),
        }
    }
}

/// A member removed from its group by a leave heartbeat or a timer.
pub(super) fn member_removed(
    group_id: &str,
    member_id: &str,
    m: Option<&Member>,
    cause: &BumpCause,
) {
    let instance_id = m.and_then(|m| m.instance_id.as_deref()).unwrap_or("");
    let member_epoch = m.map_or(-1, |m| m.member_epoch);
    match cause {
        BumpCause::Fenced(FenceReason::SessionTimeout) => tracing::info!(
            group_id,
            member_id,
            instance_id,
            member_epoch,
            cause = cause.label(),
            "member fenced: no heartbeat within its session timeout"
        ),
        BumpCause::Fenced(FenceReason::RebalanceTimeout) => tracing::info!(
            group_id,
            member_id,
            instance_id,
            member_epoch,
            rebalance_timeout_ms = m.map_or(-1, |m| m.rebalance_timeout_ms),
            cause = cause.label(),
            "member fenced: it did not revoke its tasks within its rebalance timeout"
        ),
        _ => tracing::info!(
            group_id,
            member_id,
            instance_id,
            member_epoch,
            cause = cause.label(),
            "member left the streams group"
        ),
    }
}

/// A static member left with epoch −2: it keeps its place until its session ends.
pub(super) fn static_member_paused(group_id: &str, member_id: &str, instance_id: &str) {
    tracing::info!(
        group_id,
        member_id,
        instance_id,
        "static member left for now (epoch -2); it keeps its tasks until its session times out"
    );
}

/// A group epoch was bumped (the history entry of [`Rebalance`]).
pub(super) fn epoch_bumped(group_id: &str, rebalance: &Rebalance) {
    tracing::info!(
        group_id,
        epoch = rebalance.epoch,
        cause = rebalance.cause.label(),
        member_id = rebalance.member_id.as_deref().unwrap_or(""),
        "Bumped streams group epoch: {rebalance}"
    );
    metrics::counter!(names::REBALANCES, "cause" => rebalance.cause.label()).increment(1);
}

/// A new target assignment for `epoch` (`run`: `None` for a refinement step,
/// which runs no assignor), moving `tasks_moved` active tasks.
pub(super) fn target_computed(
    group_id: &str,
    epoch: i32,
    run: Option<&AssignorRun>,
    tasks_moved: usize,
) {
    metrics::counter!(names::TASKS_MOVED).increment(tasks_moved as u64);
    let Some(run) = run else {
        tracing::info!(
            group_id,
            epoch,
            tasks_moved,
            "Refined the target assignment: a warm-up caught up"
        );
        return;
    };
    match run.took {
        Some(took) => {
            metrics::histogram!(names::ASSIGNOR_SECONDS, "assignor" => run.assignor.clone())
                .record(took.as_secs_f64());
            tracing::info!(
                group_id,
                epoch,
                assignor = %run.assignor,
                assignor_us = took.as_micros() as u64,
                tasks_moved,
                "Computed a new target assignment"
            );
        }
        None => tracing::info!(
            group_id,
            epoch,
            assignor = %run.assignor,
            tasks_moved,
            "Computed a new target assignment"
        ),
    }
}

/// A member's reconciled assignment changed (Kafka logs this at INFO; DEBUG here).
pub(super) fn assignment_changed(group_id: &str, m: &Member) {
    tracing::debug!(
        group_id,
        member_id = %m.member_id,
        member_epoch = m.member_epoch,
        previous_member_epoch = m.previous_member_epoch,
        state = m.state.name(),
        "member's new assignment state"
    );
}
