//! Kafka's numeric error codes and the streams status codes, as typed newtypes.

use std::fmt;

/// A Kafka error code (`int16` on the wire).
///
/// The numbers are those of Kafka's `Errors` table. The associated constants name the codes
/// this crate answers with or a broker passes to it; any other is `ErrorCode(n)`, and
/// [`ErrorCode::name`] knows every name of Kafka's table (`"UNKNOWN"` for a number it does
/// not have), so any `i16` round-trips and prints.
#[derive(Copy, Clone, PartialEq, Eq, Hash, Debug, Default, PartialOrd, Ord)]
pub struct ErrorCode(pub i16);

impl ErrorCode {
    /// Kafka error `UNKNOWN_SERVER_ERROR` (-1).
    pub const UNKNOWN_SERVER_ERROR: ErrorCode = ErrorCode(-1);
    /// Kafka error `NONE` (0).
    pub const NONE: ErrorCode = ErrorCode(0);
    /// Kafka error `COORDINATOR_LOAD_IN_PROGRESS` (14).
    pub const COORDINATOR_LOAD_IN_PROGRESS: ErrorCode = ErrorCode(14);
    /// Kafka error `COORDINATOR_NOT_AVAILABLE` (15).
    pub const COORDINATOR_NOT_AVAILABLE: ErrorCode = ErrorCode(15);
    /// Kafka error `NOT_COORDINATOR` (16).
    pub const NOT_COORDINATOR: ErrorCode = ErrorCode(16);
    /// Kafka error `ILLEGAL_GENERATION` (22).
    pub const ILLEGAL_GENERATION: ErrorCode = ErrorCode(22);
    /// Kafka error `INVALID_GROUP_ID` (24).
    pub const INVALID_GROUP_ID: ErrorCode = ErrorCode(24);
    /// Kafka error `UNKNOWN_MEMBER_ID` (25).
    pub const UNKNOWN_MEMBER_ID: ErrorCode = ErrorCode(25);
    /// Kafka error `TOPIC_AUTHORIZATION_FAILED` (29).
    pub const TOPIC_AUTHORIZATION_FAILED: ErrorCode = ErrorCode(29);
    /// Kafka error `GROUP_AUTHORIZATION_FAILED` (30).
    pub const GROUP_AUTHORIZATION_FAILED: ErrorCode = ErrorCode(30);
    /// Kafka error `UNSUPPORTED_VERSION` (35).
    pub const UNSUPPORTED_VERSION: ErrorCode = ErrorCode(35);
    /// Kafka error `INVALID_CONFIG` (40).
    pub const INVALID_CONFIG: ErrorCode = ErrorCode(40);
    /// Kafka error `INVALID_REQUEST` (42).
    pub const INVALID_REQUEST: ErrorCode = ErrorCode(42);
    /// Kafka error `NON_EMPTY_GROUP` (68).
    pub const NON_EMPTY_GROUP: ErrorCode = ErrorCode(68);
    /// Kafka error `GROUP_ID_NOT_FOUND` (69).
    pub const GROUP_ID_NOT_FOUND: ErrorCode = ErrorCode(69);
    /// Kafka error `GROUP_MAX_SIZE_REACHED` (81).
    pub const GROUP_MAX_SIZE_REACHED: ErrorCode = ErrorCode(81);
    /// Kafka error `FENCED_INSTANCE_ID` (82).
    pub const FENCED_INSTANCE_ID: ErrorCode = ErrorCode(82);
    /// Kafka error `GROUP_SUBSCRIBED_TO_TOPIC` (86).
    pub const GROUP_SUBSCRIBED_TO_TOPIC: ErrorCode = ErrorCode(86);
    /// Kafka error `FENCED_MEMBER_EPOCH` (110).
    pub const FENCED_MEMBER_EPOCH: ErrorCode = ErrorCode(110);
    /// Kafka error `UNRELEASED_INSTANCE_ID` (111).
    pub const UNRELEASED_INSTANCE_ID: ErrorCode = ErrorCode(111);
    /// Kafka error `STALE_MEMBER_EPOCH` (113).
    pub const STALE_MEMBER_EPOCH: ErrorCode = ErrorCode(113);
    /// Kafka error `STREAMS_INVALID_TOPOLOGY` (130).
    pub const STREAMS_INVALID_TOPOLOGY: ErrorCode = ErrorCode(130);
    /// Kafka error `STREAMS_INVALID_TOPOLOGY_EPOCH` (131).
    pub const STREAMS_INVALID_TOPOLOGY_EPOCH: ErrorCode = ErrorCode(131);
    /// Kafka error `STREAMS_TOPOLOGY_FENCED` (132).
    pub const STREAMS_TOPOLOGY_FENCED: ErrorCode = ErrorCode(132);
    /// Kafka error `STREAMS_TOPOLOGY_DESCRIPTION_UPDATE_FAILED` (135).
    pub const STREAMS_TOPOLOGY_DESCRIPTION_UPDATE_FAILED: ErrorCode = ErrorCode(135);

    /// Kafka's name of this error code (e.g. `"FENCED_MEMBER_EPOCH"`), or `"UNKNOWN"`.
    pub fn name(self) -> &'static str {
        match self.0 {
            -1 => "UNKNOWN_SERVER_ERROR",
            0 => "NONE",
            1 => "OFFSET_OUT_OF_RANGE",
            2 => "CORRUPT_MESSAGE",
            3 => "UNKNOWN_TOPIC_OR_PARTITION",
            4 => "INVALID_FETCH_SIZE",
            5 => "LEADER_NOT_AVAILABLE",
            6 => "NOT_LEADER_OR_FOLLOWER",
            7 => "REQUEST_TIMED_OUT",
            8 => "BROKER_NOT_AVAILABLE",
            9 => "REPLICA_NOT_AVAILABLE",
            10 => "MESSAGE_TOO_LARGE",
            11 => "STALE_CONTROLLER_EPOCH",
            12 => "OFFSET_METADATA_TOO_LARGE",
            13 => "NETWORK_EXCEPTION",
            14 => "COORDINATOR_LOAD_IN_PROGRESS",
            15 => "COORDINATOR_NOT_AVAILABLE",
            16 => "NOT_COORDINATOR",
            17 => "INVALID_TOPIC_EXCEPTION",
            18 => "RECORD_LIST_TOO_LARGE",
            19 => "NOT_ENOUGH_REPLICAS",
            20 => "NOT_ENOUGH_REPLICAS_AFTER_APPEND",
            21 => "INVALID_REQUIRED_ACKS",
            22 => "ILLEGAL_GENERATION",
            23 => "INCONSISTENT_GROUP_PROTOCOL",
            24 => "INVALID_GROUP_ID",
            25 => "UNKNOWN_MEMBER_ID",
            26 => "INVALID_SESSION_TIMEOUT",
            27 => "REBALANCE_IN_PROGRESS",
            28 => "INVALID_COMMIT_OFFSET_SIZE",
            29 => "TOPIC_AUTHORIZATION_FAILED",
            30 => "GROUP_AUTHORIZATION_FAILED",
            31 => "CLUSTER_AUTHORIZATION_FAILED",
            32 => "INVALID_TIMESTAMP",
            33 => "UNSUPPORTED_SASL_MECHANISM",
            34 => "ILLEGAL_SASL_STATE",
            35 => "UNSUPPORTED_VERSION",
            36 => "TOPIC_ALREADY_EXISTS",
            37 => "INVALID_PARTITIONS",
            38 => "INVALID_REPLICATION_FACTOR",
            39 => "INVALID_REPLICA_ASSIGNMENT",
            40 => "INVALID_CONFIG",
            41 => "NOT_CONTROLLER",
            42 => "INVALID_REQUEST",
            43 => "UNSUPPORTED_FOR_MESSAGE_FORMAT",
            44 => "POLICY_VIOLATION",
            45 => "OUT_OF_ORDER_SEQUENCE_NUMBER",
            46 => "DUPLICATE_SEQUENCE_NUMBER",
            47 => "INVALID_PRODUCER_EPOCH",
            48 => "INVALID_TXN_STATE",
            49 => "INVALID_PRODUCER_ID_MAPPING",
            50 => "INVALID_TRANSACTION_TIMEOUT",
            51 => "CONCURRENT_TRANSACTIONS",
            52 => "TRANSACTION_COORDINATOR_FENCED",
            53 => "TRANSACTIONAL_ID_AUTHORIZATION_FAILED",
            54 => "SECURITY_DISABLED",
            55 => "OPERATION_NOT_ATTEMPTED",
            56 => "KAFKA_STORAGE_ERROR",
            57 => "LOG_DIR_NOT_FOUND",
            58 => "SASL_AUTHENTICATION_FAILED",
            59 => "UNKNOWN_PRODUCER_ID",
            60 => "REASSIGNMENT_IN_PROGRESS",
            61 => "DELEGATION_TOKEN_AUTH_DISABLED",
            62 => "DELEGATION_TOKEN_NOT_FOUND",
            63 => "DELEGATION_TOKEN_OWNER_MISMATCH",
            64 => "DELEGATION_TOKEN_REQUEST_NOT_ALLOWED",
            65 => "DELEGATION_TOKEN_AUTHORIZATION_FAILED",
            66 => "DELEGATION_TOKEN_EXPIRED",
            67 => "INVALID_PRINCIPAL_TYPE",
            68 => "NON_EMPTY_GROUP",
            69 => "GROUP_ID_NOT_FOUND",
            70 => "FETCH_SESSION_ID_NOT_FOUND",
            71 => "INVALID_FETCH_SESSION_EPOCH",
            72 => "LISTENER_NOT_FOUND",
            73 => "TOPIC_DELETION_DISABLED",
            74 => "FENCED_LEADER_EPOCH",
            75 => "UNKNOWN_LEADER_EPOCH",
            76 => "UNSUPPORTED_COMPRESSION_TYPE",
            77 => "STALE_BROKER_EPOCH",
            78 => "OFFSET_NOT_AVAILABLE",
            79 => "MEMBER_ID_REQUIRED",
            80 => "PREFERRED_LEADER_NOT_AVAILABLE",
            81 => "GROUP_MAX_SIZE_REACHED",
            82 => "FENCED_INSTANCE_ID",
            83 => "ELIGIBLE_LEADERS_NOT_AVAILABLE",
            84 => "ELECTION_NOT_NEEDED",
            85 => "NO_REASSIGNMENT_IN_PROGRESS",
            86 => "GROUP_SUBSCRIBED_TO_TOPIC",
            87 => "INVALID_RECORD",
            88 => "UNSTABLE_OFFSET_COMMIT",
            89 => "THROTTLING_QUOTA_EXCEEDED",
            90 => "PRODUCER_FENCED",
            91 => "RESOURCE_NOT_FOUND",
            92 => "DUPLICATE_RESOURCE",
            93 => "UNACCEPTABLE_CREDENTIAL",
            94 => "INCONSISTENT_VOTER_SET",
            95 => "INVALID_UPDATE_VERSION",
            96 => "FEATURE_UPDATE_FAILED",
            97 => "PRINCIPAL_DESERIALIZATION_FAILURE",
            98 => "SNAPSHOT_NOT_FOUND",
            99 => "POSITION_OUT_OF_RANGE",
            100 => "UNKNOWN_TOPIC_ID",
            101 => "DUPLICATE_BROKER_REGISTRATION",
            102 => "BROKER_ID_NOT_REGISTERED",
            103 => "INCONSISTENT_TOPIC_ID",
            104 => "INCONSISTENT_CLUSTER_ID",
            105 => "TRANSACTIONAL_ID_NOT_FOUND",
            106 => "FETCH_SESSION_TOPIC_ID_ERROR",
            107 => "INELIGIBLE_REPLICA",
            108 => "NEW_LEADER_ELECTED",
            109 => "OFFSET_MOVED_TO_TIERED_STORAGE",
            110 => "FENCED_MEMBER_EPOCH",
            111 => "UNRELEASED_INSTANCE_ID",
            112 => "UNSUPPORTED_ASSIGNOR",
            113 => "STALE_MEMBER_EPOCH",
            114 => "MISMATCHED_ENDPOINT_TYPE",
            115 => "UNSUPPORTED_ENDPOINT_TYPE",
            116 => "UNKNOWN_CONTROLLER_ID",
            117 => "UNKNOWN_SUBSCRIPTION_ID",
            118 => "TELEMETRY_TOO_LARGE",
            119 => "INVALID_REGISTRATION",
            120 => "TRANSACTION_ABORTABLE",
            121 => "INVALID_RECORD_STATE",
            122 => "SHARE_SESSION_NOT_FOUND",
            123 => "INVALID_SHARE_SESSION_EPOCH",
            124 => "FENCED_STATE_EPOCH",
            125 => "INVALID_VOTER_KEY",
            126 => "DUPLICATE_VOTER",
            127 => "VOTER_NOT_FOUND",
            128 => "INVALID_REGULAR_EXPRESSION",
            129 => "REBOOTSTRAP_REQUIRED",
            130 => "STREAMS_INVALID_TOPOLOGY",
            131 => "STREAMS_INVALID_TOPOLOGY_EPOCH",
            132 => "STREAMS_TOPOLOGY_FENCED",
            133 => "SHARE_SESSION_LIMIT_REACHED",
            134 => "GROUP_DELETION_FAILED",
            135 => "STREAMS_TOPOLOGY_DESCRIPTION_UPDATE_FAILED",
            136 => "CONTROLLER_ID_NOT_REGISTERED",
            _ => "UNKNOWN",
        }
    }

    /// The code as it goes on the wire.
    pub fn code(self) -> i16 {
        self.0
    }

    /// True for [`ErrorCode::NONE`].
    pub fn is_none(self) -> bool {
        self.0 == 0
    }
}

impl From<ErrorCode> for i16 {
    fn from(code: ErrorCode) -> i16 {
        code.0
    }
}

impl From<i16> for ErrorCode {
    fn from(code: i16) -> ErrorCode {
        ErrorCode(code)
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.name(), self.0)
    }
}

/// A streams group status code (`Status.StatusCode`, `int8` on the wire), spec 01 §5.
#[derive(Copy, Clone, PartialEq, Eq, Hash, Debug, Default, PartialOrd, Ord)]
pub struct StatusCode(pub i8);

impl StatusCode {
    /// 0: the member's topology epoch is lower than the group's.
    pub const STALE_TOPOLOGY: StatusCode = StatusCode(0);
    /// 1: source topic(s) are missing.
    pub const MISSING_SOURCE_TOPICS: StatusCode = StatusCode(1);
    /// 2: copartitioning or internal-topic partition counts are violated.
    pub const INCORRECTLY_PARTITIONED_TOPICS: StatusCode = StatusCode(2);
    /// 3: internal topics are missing; the broker tries to create them.
    pub const MISSING_INTERNAL_TOPICS: StatusCode = StatusCode(3);
    /// 4: some member requested application shutdown.
    pub const SHUTDOWN_APPLICATION: StatusCode = StatusCode(4);
    /// 5: the assignment computation was delayed (trunk only).
    pub const ASSIGNMENT_DELAYED: StatusCode = StatusCode(5);
    /// 6: the member lacks client tags named by the rack-aware tag config (response v1+ only).
    pub const MISSING_CLIENT_TAGS: StatusCode = StatusCode(6);

    /// Kafka's name of this status code, or `"UNKNOWN"`.
    pub fn name(self) -> &'static str {
        match self.0 {
            0 => "STALE_TOPOLOGY",
            1 => "MISSING_SOURCE_TOPICS",
            2 => "INCORRECTLY_PARTITIONED_TOPICS",
            3 => "MISSING_INTERNAL_TOPICS",
            4 => "SHUTDOWN_APPLICATION",
            5 => "ASSIGNMENT_DELAYED",
            6 => "MISSING_CLIENT_TAGS",
            _ => "UNKNOWN",
        }
    }

    /// The code as it goes on the wire.
    pub fn code(self) -> i8 {
        self.0
    }

    /// The lowest heartbeat response version a broker may send this code in
    /// (`MISSING_CLIENT_TAGS` needs v1, spec 01 §5).
    pub fn min_response_version(self) -> i16 {
        if self == StatusCode::MISSING_CLIENT_TAGS {
            1
        } else {
            0
        }
    }
}

impl From<StatusCode> for i8 {
    fn from(code: StatusCode) -> i8 {
        code.0
    }
}

impl From<i8> for StatusCode {
    fn from(code: i8) -> StatusCode {
        StatusCode(code)
    }
}

impl fmt::Display for StatusCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.name(), self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_match_numbers() {
        assert_eq!(ErrorCode::FENCED_MEMBER_EPOCH.0, 110);
        assert_eq!(ErrorCode(130).name(), "STREAMS_INVALID_TOPOLOGY");
        assert_eq!(ErrorCode::UNKNOWN_SERVER_ERROR.0, -1);
        assert_eq!(ErrorCode(-100).name(), "UNKNOWN");
        assert_eq!(StatusCode(6), StatusCode::MISSING_CLIENT_TAGS);
        assert_eq!(StatusCode::ASSIGNMENT_DELAYED.name(), "ASSIGNMENT_DELAYED");
        assert_eq!(ErrorCode::NONE.to_string(), "NONE (0)");
    }
}
