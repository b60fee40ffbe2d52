//! Wire messages of API keys 88 (StreamsGroupHeartbeat) and 89 (StreamsGroupDescribe), the
//! persisted streams-group records, error and status codes, and their byte-exact codec
//! (spec 01 and spec 06 §2).
//!
//! Messages are plain structs with public fields; their serde form is Kafka's JSON form
//! (lowerCamelCase field names, the form Kafka's generated JSON converters print).
//! `protocol` knows nothing of groups.

pub mod api_versions;
mod codes;
pub mod describe;
mod endpoint_answer;
pub mod frame;
pub mod heartbeat;
mod message;
pub mod records;
mod uuid;
pub(crate) mod wire;

pub use codes::{ErrorCode, StatusCode};
pub use describe::{StreamsGroupDescribeRequest, StreamsGroupDescribeResponse};
pub use heartbeat::{StreamsGroupHeartbeatRequest, StreamsGroupHeartbeatResponse};
pub use message::{JsonError, Message, VersionedField};
pub use records::{CoordinatorRecord, RecordKey, RecordValue};
pub use uuid::{Uuid, UuidParseError};
pub use wire::{DecodeError, DecodeErrorKind, EncodeError};

/// API key of StreamsGroupHeartbeat.
pub const STREAMS_GROUP_HEARTBEAT_API_KEY: i16 = 88;
/// API key of StreamsGroupDescribe.
pub const STREAMS_GROUP_DESCRIBE_API_KEY: i16 = 89;

/// The ApiVersions entries a trunk-compatible broker advertises for keys 88 and 89 on its
/// broker listeners (spec 01 §1.1): `(88, 0, 1)` and `(89, 0, 1)`, listed whether or not
/// streams groups are enabled (that is checked per request).
pub const STREAMS_API_VERSIONS: [api_versions::ApiVersion; 2] = [
    api_versions::ApiVersion {
        api_key: STREAMS_GROUP_HEARTBEAT_API_KEY,
        min_version: 0,
        max_version: 1,
    },
    api_versions::ApiVersion {
        api_key: STREAMS_GROUP_DESCRIBE_API_KEY,
        min_version: 0,
        max_version: 1,
    },
];
