//! The error of topology validation and configuration.

use crate::protocol::ErrorCode;

/// A topology the coordinator must refuse: the heartbeat that carried it (or that triggered
/// its configuration) fails with [`TopologyError::error_code`] and the error message
/// [`TopologyError::message`] (the `Display` form is the message, verbatim).
///
/// Problems with the *cluster* (missing or mis-partitioned topics) are not errors: they are
/// statuses of a [`ConfiguredTopology`](super::ConfiguredTopology).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum TopologyError {
    /// `STREAMS_INVALID_TOPOLOGY` (130): the topology is self-contradictory or names topics it
    /// may not use.
    #[error("{0}")]
    InvalidTopology(String),
    /// `INVALID_REQUEST` (42): the request uses a feature Kafka does not support (source-topic
    /// regular expressions).
    #[error("{0}")]
    InvalidRequest(String),
}

impl TopologyError {
    /// The Kafka error code the heartbeat response carries.
    pub fn error_code(&self) -> ErrorCode {
        match self {
            TopologyError::InvalidTopology(_) => ErrorCode::STREAMS_INVALID_TOPOLOGY,
            TopologyError::InvalidRequest(_) => ErrorCode::INVALID_REQUEST,
        }
    }

    /// The error message the heartbeat response carries.
    pub fn message(&self) -> &str {
        match self {
            TopologyError::InvalidTopology(m) | TopologyError::InvalidRequest(m) => m,
        }
    }
}
