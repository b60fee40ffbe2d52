//! The errors of the shard's persistence protocol: what the broker's log
//! reports, and why a partition could not be loaded.

use std::sync::Arc;

use crate::protocol::{CoordinatorRecord, ErrorCode};

/// Why the broker could not append to (or read) a `__consumer_offsets`
/// partition. Each kind maps to the error code Kafka answers with (spec 01 §6).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SinkError {
    /// This broker is no longer the partition's leader.
    #[error("partition {partition}: this broker is not the leader: {detail}")]
    NotLeader {
        /// The partition.
        partition: i32,
        /// The broker's explanation.
        detail: String,
    },
    /// The log could not be written or read.
    #[error("partition {partition}: storage error: {detail}")]
    Storage {
        /// The partition.
        partition: i32,
        /// The broker's explanation.
        detail: String,
    },
    /// The partition does not exist (yet).
    #[error("partition {partition}: unknown topic or partition")]
    UnknownPartition {
        /// The partition.
        partition: i32,
    },
    /// Too few in-sync replicas to accept the write.
    #[error("partition {partition}: not enough replicas")]
    NotEnoughReplicas {
        /// The partition.
        partition: i32,
    },
    /// The write was not acknowledged in time.
    #[error("partition {partition}: request timed out")]
    Timeout {
        /// The partition.
        partition: i32,
    },
    /// The batch exceeds the broker's size limit.
    #[error("partition {partition}: record batch too large: {detail}")]
    TooLarge {
        /// The partition.
        partition: i32,
        /// The broker's explanation.
        detail: String,
    },
    /// A network failure between replicas.
    #[error("partition {partition}: network error: {detail}")]
    Network {
        /// The partition.
        partition: i32,
        /// The broker's explanation.
        detail: String,
    },
}

impl SinkError {
    /// The error code a request affected by this failure is answered with
    /// (spec 01 §6: storage failures to client errors).
    pub fn error_code(&self) -> ErrorCode {
        match self {
            SinkError::UnknownPartition { .. }
            | SinkError::NotEnoughReplicas { .. }
            | SinkError::Timeout { .. } => ErrorCode::COORDINATOR_NOT_AVAILABLE,
            SinkError::NotLeader { .. } | SinkError::Storage { .. } => ErrorCode::NOT_COORDINATOR,
            SinkError::TooLarge { .. } => ErrorCode::UNKNOWN_SERVER_ERROR,
            SinkError::Network { .. } => ErrorCode::COORDINATOR_LOAD_IN_PROGRESS,
        }
    }

    /// The error message sent with [`error_code`](Self::error_code): this
    /// error's text, except none for UNKNOWN_SERVER_ERROR (as Kafka does).
    pub fn error_message(&self) -> Option<String> {
        if self.error_code() == ErrorCode::UNKNOWN_SERVER_ERROR {
            None
        } else {
            Some(self.to_string())
        }
    }
}

/// What a load reads: every durable record of the partition, and the load
/// epoch its appends carry (see [`RecordSink`](crate::service::RecordSink)).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct LoadedLog {
    /// The epoch under which this load may append. A sink refuses appends of
    /// an older epoch than the latest load's, so a former coordinator's late
    /// write cannot land after a newer one read the log.
    pub epoch: u64,
    /// The durable records, in log order. Shared: a sink that keeps its log
    /// in memory hands it out without copying a record (a load reads every
    /// record once and drops the log after replaying it).
    pub records: Arc<Vec<CoordinatorRecord>>,
}

/// Why a request was answered with an error before (or instead of) a
/// response of the core.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Failure {
    /// The error code.
    pub code: ErrorCode,
    /// Its message, if any.
    pub message: Option<String>,
}

impl Failure {
    /// A failure with no message.
    pub fn new(code: ErrorCode) -> Self {
        Self {
            code,
            message: None,
        }
    }
}

impl From<&SinkError> for Failure {
    fn from(e: &SinkError) -> Self {
        Self {
            code: e.error_code(),
            message: e.error_message(),
        }
    }
}

/// Why a partition could not be (re)loaded.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum LoadError {
    /// The log could not be read.
    #[error("reading partition {partition}: {source}")]
    Sink {
        /// The partition.
        partition: i32,
        /// The sink's error.
        source: SinkError,
    },
    /// A record could not be replayed: the log is corrupt.
    #[error("replaying record {index} of partition {partition}: {detail}")]
    Replay {
        /// The partition.
        partition: i32,
        /// Position of the record in the log.
        index: usize,
        /// The core's error.
        detail: String,
    },
    /// The partition was unloaded before loading finished.
    #[error("partition {0} was unloaded while loading")]
    Unloaded(i32),
}
