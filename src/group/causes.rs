//! Why a group epoch was bumped: the typed cause of every rebalance, its
//! structured log event, the per-cause counts and a bounded per-group history
//! (in memory only; docs/behaviour.md).
//!
//! Kafka logs "Bumped streams group epoch to N" without saying why; every bump
//! site of the core passes a [`BumpCause`] instead.

use std::collections::{BTreeMap, VecDeque};
use std::fmt;
use std::sync::Arc;

use super::assign::View;
use super::member::Member;
use super::tasks::{self, ActiveTasks, TaskSet, Tasks};

/// How many bumps each group's history keeps (the oldest is dropped first).
pub const HISTORY_LEN: usize = 32;

/// A member-metadata field whose change bumps the group epoch (spec 02 §5).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum MetadataField {
    /// `RackId`.
    Rack,
    /// `ClientTags`.
    ClientTags,
    /// `ProcessId`.
    ProcessId,
    /// `UserEndpoint`.
    Endpoint,
    /// The topology epoch the member runs.
    TopologyEpoch,
    /// `InstanceId`.
    InstanceId,
    /// `RebalanceTimeoutMs`.
    RebalanceTimeout,
    /// The connection's `client.id`.
    ClientId,
    /// The connection's host.
    ClientHost,
}

impl MetadataField {
    /// The field's name in logs and metrics.
    pub fn name(self) -> &'static str {
        match self {
            MetadataField::Rack => "rack",
            MetadataField::ClientTags => "client tags",
            MetadataField::ProcessId => "process id",
            MetadataField::Endpoint => "endpoint",
            MetadataField::TopologyEpoch => "topology epoch",
            MetadataField::InstanceId => "instance id",
            MetadataField::RebalanceTimeout => "rebalance timeout",
            MetadataField::ClientId => "client id",
            MetadataField::ClientHost => "client host",
        }
    }
}

/// Why a member was fenced (removed by the coordinator).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum FenceReason {
    /// No heartbeat within the session timeout.
    SessionTimeout,
    /// Revoked tasks not acknowledged within the rebalance timeout.
    RebalanceTimeout,
    /// A static member re-joined under a new member id and replaced it.
    StaticMemberReplaced,
}

/// Why a group epoch was bumped. Several triggers can fire in one request; the
/// cause is the first in spec 02 §8's order.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum BumpCause {
    /// A new member joined.
    MemberJoined,
    /// A member left with a leave heartbeat (epoch −1, or a static member's −1).
    MemberLeft,
    /// The coordinator removed a member.
    Fenced(FenceReason),
    /// A member changed metadata that the assignment depends on.
    MemberMetadataChanged(MetadataField),
    /// The metadata of a topic the topology uses changed (`None`: the
    /// metadata hash changed without a named topic, e.g. after a rebuild).
    TopicMetadataChanged(Option<String>),
    /// A group setting of the assignment configuration changed (its key).
    GroupConfigChanged(String),
    /// The topology became configured (`true`, ready) or stopped being so.
    TopologyConfigured(bool),
    /// A warm-up caught up: a refinement step moves its active task.
    WarmupPromoted,
}

impl BumpCause {
    /// A short stable label, the metrics' `cause` dimension.
    pub fn label(&self) -> &'static str {
        match self {
            BumpCause::MemberJoined => "member_joined",
            BumpCause::MemberLeft => "member_left",
            BumpCause::Fenced(FenceReason::SessionTimeout) => "fenced_session_timeout",
            BumpCause::Fenced(FenceReason::RebalanceTimeout) => "fenced_rebalance_timeout",
            BumpCause::Fenced(FenceReason::StaticMemberReplaced) => "static_member_replaced",
            BumpCause::MemberMetadataChanged(_) => "member_metadata_changed",
            BumpCause::TopicMetadataChanged(_) => "topic_metadata_changed",
            BumpCause::GroupConfigChanged(_) => "group_config_changed",
            BumpCause::TopologyConfigured(_) => "topology_configured",
            BumpCause::WarmupPromoted => "warmup_promoted",
        }
    }
}

impl fmt::Display for BumpCause {
    /// The cause as a reader says it, without the member: "left (leave
    /// heartbeat)", "metadata changed (rack)".
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BumpCause::MemberJoined => f.write_str("joined"),
            BumpCause::MemberLeft => f.write_str("left (leave heartbeat)"),
            BumpCause::Fenced(FenceReason::SessionTimeout) => {
                f.write_str("fenced (session timeout)")
            }
            BumpCause::Fenced(FenceReason::RebalanceTimeout) => {
                f.write_str("fenced (rebalance timeout)")
            }
            BumpCause::Fenced(FenceReason::StaticMemberReplaced) => {
                f.write_str("replaced a static member")
            }
            BumpCause::MemberMetadataChanged(field) => {
                write!(f, "metadata changed ({})", field.name())
            }
            BumpCause::TopicMetadataChanged(Some(t)) => write!(f, "topic {t} changed"),
            BumpCause::TopicMetadataChanged(None) => f.write_str("topic metadata changed"),
            BumpCause::GroupConfigChanged(key) => write!(f, "group config {key} changed"),
            BumpCause::TopologyConfigured(true) => f.write_str("topology configured"),
            BumpCause::TopologyConfigured(false) => f.write_str("topology no longer ready"),
            BumpCause::WarmupPromoted => f.write_str("warm-up caught up (promoted)"),
        }
    }
}

/// One group-epoch bump.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rebalance {
    /// When (the request's or the timer's time, ms).
    pub time_ms: i64,
    /// The new group epoch.
    pub epoch: i32,
    /// Why.
    pub cause: BumpCause,
    /// The member whose request or timer caused it (none for a group-wide cause).
    pub member_id: Option<String>,
    /// Active tasks whose target owner changed when the target of this epoch
    /// was computed (or the refinement step moved); `None` until then, and
    /// for bumps folded into a later epoch's computation.
    pub tasks_moved: Option<usize>,
}

impl fmt::Display for Rebalance {
    /// "epoch 7 ← member-2 left (leave heartbeat)".
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "epoch {} ← ", self.epoch)?;
        match (&self.member_id, &self.cause) {
            (Some(m), _) => write!(f, "{m} {}", self.cause)?,
            (None, c) => write!(f, "{c}")?,
        }
        if let Some(n) = self.tasks_moved {
            write!(f, ", {n} tasks moved")?;
        }
        Ok(())
    }
}

/// The bumps of every group of a shard, bounded per group, and the counts by cause.
#[derive(Clone, Debug, Default)]
pub(super) struct RebalanceLog {
    groups: BTreeMap<String, VecDeque<Rebalance>>,
    by_cause: BTreeMap<&'static str, u64>,
}

impl RebalanceLog {
    /// Records a bump of `group_id`, logged and counted by [`super::audit`].
    pub(super) fn record(&mut self, group_id: &str, rebalance: Rebalance) {
        super::audit::epoch_bumped(group_id, &rebalance);
        *self.by_cause.entry(rebalance.cause.label()).or_default() += 1;
        let h = self.groups.entry(group_id.to_string()).or_default();
        if h.len() == HISTORY_LEN {
            h.pop_front();
        }
        h.push_back(rebalance);
    }

    /// Notes the tasks a target computation (or refinement step) of `epoch` moved,
    /// on the group's bump of that epoch.
    pub(super) fn tasks_moved(&mut self, group_id: &str, epoch: i32, moved: usize) {
        if let Some(r) = self
            .groups
            .get_mut(group_id)
            .and_then(|h| h.iter_mut().rev().find(|r| r.epoch == epoch))
        {
            r.tasks_moved = Some(moved);
        }
    }

    /// The last bumps of a group, oldest first.
    pub(super) fn history(&self, group_id: &str) -> Vec<Rebalance> {
        self.groups
            .get(group_id)
            .map(|h| h.iter().cloned().collect())
            .unwrap_or_default()
    }

    /// Rebalances counted by cause label, in label order.
    pub(super) fn counts(&self) -> Vec<(&'static str, u64)> {
        self.by_cause.iter().map(|(k, v)| (*k, *v)).collect()
    }

    /// Forgets a deleted group's history.
    pub(super) fn forget(&mut self, group_id: &str) {
        self.groups.remove(group_id);
    }
}

/// The active tasks a member held before, as [`moved`] reads them: the
/// tasks of `parts` (partitions of `subtopology`) it did not hold.
pub(super) trait HeldActive {
    /// How many of `parts` (ascending) were not held.
    fn not_held(&self, subtopology: &str, parts: &[i32]) -> usize;
}

impl HeldActive for TaskSet {
    fn not_held(&self, subtopology: &str, parts: &[i32]) -> usize {
        match self.get(subtopology) {
            Some(had) => tasks::count_missing(parts, had),
            None => parts.len(),
        }
    }
}

impl HeldActive for ActiveTasks {
    fn not_held(&self, subtopology: &str, parts: &[i32]) -> usize {
        match self.partitions_of(subtopology) {
            Some(had) => tasks::count_missing(parts, had),
            None => parts.len(),
        }
    }
}

/// Active tasks of `next` that their member did not have before (`before(member)`
/// gives what it held): the tasks a new target or refinement step moves. One
/// lookup per member and per subtopology, not per task.
pub(super) fn moved<'b, H: HeldActive + 'b>(
    next: &BTreeMap<String, Arc<Tasks>>,
    before: impl Fn(&str) -> Option<&'b H>,
) -> usize {
    next.iter()
        .map(|(id, t)| match before(id) {
            Some(had) => t
                .active
                .iter()
                .map(|(s, parts)| had.not_held(s, parts))
                .sum::<usize>(),
            None => t.active.len(),
        })
        .sum()
}

/// Active tasks of a new target `next` that the member's stored target did
/// not hold (see [`moved`]).
pub(super) fn moved_from_targets(view: &View<'_>, next: &BTreeMap<String, Arc<Tasks>>) -> usize {
    moved(next, |id| view.old_target(id).map(|o| &o.active))
}

/// The first metadata field that differs between two values of a member, in
/// the order the assignment cares about them.
pub(super) fn changed_field(old: &Member, new: &Member) -> MetadataField {
    if old.rack_id != new.rack_id {
        MetadataField::Rack
    } else if old.client_tags != new.client_tags {
        MetadataField::ClientTags
    } else if old.process_id != new.process_id {
        MetadataField::ProcessId
    } else if old.user_endpoint != new.user_endpoint {
        MetadataField::Endpoint
    } else if old.topology_epoch != new.topology_epoch {
        MetadataField::TopologyEpoch
    } else if old.instance_id != new.instance_id {
        MetadataField::InstanceId
    } else if old.rebalance_timeout_ms != new.rebalance_timeout_ms {
        MetadataField::RebalanceTimeout
    } else if old.client_id != new.client_id {
        MetadataField::ClientId
    } else {
        MetadataField::ClientHost
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bump(epoch: i32, cause: BumpCause, member: Option<&str>) -> Rebalance {
        Rebalance {
            time_ms: i64::from(epoch),
            epoch,
            cause,
            member_id: member.map(str::to_string),
            tasks_moved: None,
        }
    }

    #[test]
    fn a_bump_reads_as_the_operator_says_it() {
        let mut r = bump(7, BumpCause::MemberLeft, Some("member-2"));
        assert_eq!(r.to_string(), "epoch 7 ← member-2 left (leave heartbeat)");
        r.tasks_moved = Some(3);
        assert_eq!(
            r.to_string(),
            "epoch 7 ← member-2 left (leave heartbeat), 3 tasks moved"
        );
        let r = bump(
            8,
            BumpCause::TopicMetadataChanged(Some("input".into())),
            None,
        );
        assert_eq!(r.to_string(), "epoch 8 ← topic input changed");
        let r = bump(
            9,
            BumpCause::MemberMetadataChanged(MetadataField::Rack),
            Some("m1"),
        );
        assert_eq!(r.to_string(), "epoch 9 ← m1 metadata changed (rack)");
    }

    #[test]
    fn the_history_is_bounded_and_counts_by_cause() {
        let mut log = RebalanceLog::default();
        for e in 0..(HISTORY_LEN as i32 + 5) {
            log.record("g", bump(e, BumpCause::MemberJoined, Some("m")));
        }
        log.record("g", bump(100, BumpCause::WarmupPromoted, None));
        let h = log.history("g");
        assert_eq!(h.len(), HISTORY_LEN);
        assert_eq!(h.last().map(|r| r.epoch), Some(100));
        assert_eq!(h.first().map(|r| r.epoch), Some(6));
        log.tasks_moved("g", 100, 2);
        assert_eq!(log.history("g").last().and_then(|r| r.tasks_moved), Some(2));
        assert_eq!(
            log.counts(),
            vec![
                ("member_joined", HISTORY_LEN as u64 + 5),
                ("warmup_promoted", 1)
            ]
        );
        log.forget("g");
        assert!(log.history("g").is_empty());
    }
}
