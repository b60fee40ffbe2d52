//! Bounds on every size a request controls. A heartbeat beyond one of these is
//! answered with `INVALID_REQUEST` and changes nothing.
//!
//! Kafka has no such bounds beyond the request size; these are generous enough
//! for any real Kafka Streams application and keep one request from making the
//! coordinator hold unbounded memory.

/// Longest group id, member id, instance id, rack id, process id or client tag
/// key/value, in bytes: record keys carry ids as int16-length strings, so a
/// longer id could not be persisted.
pub const MAX_ID_BYTES: usize = 32_767;

/// Most client tags one member may report.
pub const MAX_CLIENT_TAGS: usize = 1_024;

/// Most entries in one `TaskOffsets` or `TaskEndOffsets` list.
pub const MAX_TASK_OFFSETS: usize = 1_000_000;

/// Most partitions, summed over a role, in one owned-task list of a heartbeat.
pub const MAX_OWNED_TASKS: usize = 1_000_000;

/// Most members in one group, whatever `group.streams.max.size` says (the
/// assignors' limit too: one constant).
pub use crate::assignor::MAX_MEMBERS;
