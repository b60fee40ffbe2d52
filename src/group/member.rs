//! A member of a streams group: its metadata (member-metadata record) and its
//! reconciliation state (current-assignment record).

use std::collections::BTreeMap;
use std::sync::Arc;

use super::tasks::{Tasks, TasksWithEpochs};

/// Reconciliation state of a member (spec 03 §1).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum MemberState {
    /// Reconciled (or moving to the target without waiting).
    Stable,
    /// Waiting for the member to acknowledge revoked tasks.
    UnrevokedTasks,
    /// Waiting for other members to release tasks.
    UnreleasedTasks,
    /// A state byte this coordinator does not know.
    Unknown,
}

impl MemberState {
    /// The byte written to the current-assignment record.
    pub fn value(self) -> i8 {
        match self {
            MemberState::Stable => 1,
            MemberState::UnrevokedTasks => 2,
            MemberState::UnreleasedTasks => 3,
            MemberState::Unknown => 127,
        }
    }

    /// The state for a byte read from a record; unknown bytes map to `Unknown`.
    pub fn from_value(v: i8) -> Self {
        match v {
            1 => MemberState::Stable,
            2 => MemberState::UnrevokedTasks,
            3 => MemberState::UnreleasedTasks,
            _ => MemberState::Unknown,
        }
    }

    /// Kafka's name of the state.
    pub fn name(self) -> &'static str {
        match self {
            MemberState::Stable => "STABLE",
            MemberState::UnrevokedTasks => "UNREVOKED_TASKS",
            MemberState::UnreleasedTasks => "UNRELEASED_TASKS",
            MemberState::Unknown => "UNKNOWN",
        }
    }
}

/// An interactive-queries endpoint of a member.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct UserEndpoint {
    /// Host name.
    pub(super) host: String,
    /// Port.
    pub(super) port: u16,
}

/// One member of a streams group.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct Member {
    /// Member id (chosen by the client).
    pub(super) member_id: String,
    /// Static membership instance id.
    pub(super) instance_id: Option<String>,
    /// Rack id.
    pub(super) rack_id: Option<String>,
    /// Client id of the member's last heartbeat.
    pub(super) client_id: String,
    /// Client host of the member's last heartbeat.
    pub(super) client_host: String,
    /// Rebalance (revocation) timeout, −1 when never given.
    pub(super) rebalance_timeout_ms: i32,
    /// Topology epoch the member runs.
    pub(super) topology_epoch: i32,
    /// Process id (members of one Kafka Streams instance share it); shared
    /// with the ownership index, which keys the member's tasks by it.
    pub(super) process_id: Arc<str>,
    /// Interactive-queries endpoint.
    pub(super) user_endpoint: Option<UserEndpoint>,
    /// Client tags, sorted by key.
    pub(super) client_tags: BTreeMap<String, String>,
    /// Member epoch.
    pub(super) member_epoch: i32,
    /// Member epoch before the last reconciliation step.
    pub(super) previous_member_epoch: i32,
    /// Reconciliation state.
    pub(super) state: MemberState,
    /// Tasks the member has been told it owns.
    pub(super) assigned: TasksWithEpochs,
    /// Tasks the member must give up.
    pub(super) pending_revocation: TasksWithEpochs,
}

impl Member {
    /// A new member with Kafka's defaults (spec 02 §4a).
    pub(super) fn new(member_id: &str) -> Self {
        Member {
            member_id: member_id.to_string(),
            instance_id: None,
            rack_id: None,
            client_id: String::new(),
            client_host: String::new(),
            rebalance_timeout_ms: -1,
            topology_epoch: -1,
            process_id: Arc::from(""),
            user_endpoint: None,
            client_tags: BTreeMap::new(),
            member_epoch: 0,
            previous_member_epoch: 0,
            state: MemberState::Stable,
            assigned: TasksWithEpochs::default(),
            pending_revocation: TasksWithEpochs::default(),
        }
    }

    /// `isReconciledTo(e)` of spec 03 §1.
    pub(super) fn is_reconciled_to(&self, epoch: i32) -> bool {
        self.state == MemberState::Stable && self.member_epoch == epoch
    }

    /// True when the metadata persisted by a member-metadata record differs.
    pub(super) fn metadata_differs(&self, other: &Member) -> bool {
        self.instance_id != other.instance_id
            || self.rack_id != other.rack_id
            || self.client_id != other.client_id
            || self.client_host != other.client_host
            || self.rebalance_timeout_ms != other.rebalance_timeout_ms
            || self.topology_epoch != other.topology_epoch
            || self.process_id != other.process_id
            || self.user_endpoint != other.user_endpoint
            || self.client_tags != other.client_tags
    }

    /// True when the reconciliation state persisted by a current-assignment
    /// record differs.
    pub(super) fn assignment_differs(&self, other: &Member) -> bool {
        self.member_epoch != other.member_epoch
            || self.previous_member_epoch != other.previous_member_epoch
            || self.state != other.state
            || self.assigned != other.assigned
            || self.pending_revocation != other.pending_revocation
    }

    /// The member's assigned tasks without epochs (assignor input).
    pub(super) fn assigned_tasks(&self) -> Tasks {
        self.assigned.without_epochs()
    }
}
