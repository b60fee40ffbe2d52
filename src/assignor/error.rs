//! Typed errors of the assignor module.

use thiserror::Error;

/// Everything that can go wrong when building assignor inputs, selecting an
/// assignor, or computing an assignment.
///
/// The coordinator turns an error from [`TaskAssignor::assign`](super::TaskAssignor::assign)
/// into `UNKNOWN_SERVER_ERROR` for the heartbeat that triggered the computation
/// (spec 05 §2); the `Display` text is what Kafka puts after
/// `Failed to compute a new target assignment for epoch <n>: `.
#[derive(Clone, Debug, Error, PartialEq, Eq)]
#[non_exhaustive]
pub enum AssignorError {
    /// A task space listed the same subtopology id twice.
    #[error("Subtopology {id} appears more than once in the task space.")]
    DuplicateSubtopology {
        /// The repeated subtopology id.
        id: String,
    },
    /// A task space or an assignment is larger than the documented limits.
    #[error("{what} is {value}, above the limit of {limit}.")]
    LimitExceeded {
        /// What was counted (for example "the number of tasks").
        what: &'static str,
        /// The value found.
        value: u64,
        /// The documented limit.
        limit: u64,
    },
    /// A subtopology id is not part of the task space.
    #[error("Unknown subtopology {id}.")]
    UnknownSubtopology {
        /// The unknown subtopology id.
        id: String,
    },
    /// A partition is outside `0 .. numberOfTasks` of its subtopology.
    #[error("Task {partition} of subtopology {subtopology} is outside the task space ({num_tasks} tasks).")]
    PartitionOutOfRange {
        /// The subtopology id.
        subtopology: String,
        /// The offending partition.
        partition: i32,
        /// The number of tasks of the subtopology.
        num_tasks: u32,
    },
    /// Two members of a group spec share one member id.
    #[error("Member {member_id} appears more than once in the group spec.")]
    DuplicateMember {
        /// The repeated member id.
        member_id: String,
    },
    /// A member id is not part of the group spec.
    #[error("Unknown member {member_id}.")]
    UnknownMember {
        /// The unknown member id.
        member_id: String,
    },
    /// An assignment config has a value the assignors cannot use.
    #[error("Invalid value {value:?} for assignment config {name}: {reason}.")]
    InvalidConfig {
        /// The config name (`num.standby.replicas`, ...).
        name: String,
        /// The value given.
        value: String,
        /// Why it was rejected.
        reason: &'static str,
    },
    /// There are tasks to assign but no process (no member) to take them.
    #[error("No process available to assign active task {task}.")]
    NoProcessAvailable {
        /// The task, written `<subtopologyId>_<partition>`.
        task: String,
    },
    /// Two assignors with one name were registered.
    #[error("An assignor named {name} is already registered.")]
    DuplicateAssignor {
        /// The name.
        name: String,
    },
    /// No assignor of that name is registered (or the registry is empty).
    #[error("No assignor named {name} is registered.")]
    UnknownAssignor {
        /// The requested name.
        name: String,
    },
    /// A custom assignor failed for its own reasons.
    #[error("{message}")]
    Failed {
        /// What went wrong.
        message: String,
    },
}
