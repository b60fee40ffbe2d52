//! Kafka's numeric error codes and the streams status codes, as typed newtypes.

use std::fmt;

/// A Kafka error code (`int16` on the wire), with Kafka's names as associated constants.
///
/// The numbers are those of Kafka's `Errors` table. Any `i16` is representable, so a code
/// this crate does not know still round-trips; [`ErrorCode::name`] then returns `"UNKNOWN"`.
#[derive(Copy, Clone, PartialEq, Eq, Hash, Debug, Default, PartialOrd, Ord)]
pub struct ErrorCode(pub i16);

impl ErrorCode {
    /// Kafka error `UNKNOWN_SERVER_ERROR` (-1).
    pub const UNKNOWN_SERVER_ERROR: ErrorCode = ErrorCode(-1);
    /// Kafka error `NONE` (0).
    pub const NONE: ErrorCode = ErrorCode(0);
    /// Kafka error `OFFSET_OUT_OF_RANGE` (1).
    pub const OFFSET_OUT_OF_RANGE: ErrorCode = ErrorCode(1);
    /// Kafka error `CORRUPT_MESSAGE` (2).
    pub const CORRUPT_MESSAGE: ErrorCode = ErrorCode(2);
    /// Kafka error `UNKNOWN_TOPIC_OR_PARTITION` (3).
    pub const UNKNOWN_TOPIC_OR_PARTITION: ErrorCode = ErrorCode(3);
    /// Kafka error `INVALID_FETCH_SIZE` (4).
    pub const INVALID_FETCH_SIZE: ErrorCode = ErrorCode(4);
    /// Kafka error `LEADER_NOT_AVAILABLE` (5).
    pub const LEADER_NOT_AVAILABLE: ErrorCode = ErrorCode(5);
    /// Kafka error `NOT_LEADER_OR_FOLLOWER` (6).
    pub const NOT_LEADER_OR_FOLLOWER: ErrorCode = ErrorCode(6);
    /// Kafka error `REQUEST_TIMED_OUT` (7).
    pub const REQUEST_TIMED_OUT: ErrorCode = ErrorCode(7);
    /// Kafka error `BROKER_NOT_AVAILABLE` (8).
    pub const BROKER_NOT_AVAILABLE: ErrorCode = ErrorCode(8);
    /// Kafka error `REPLICA_NOT_AVAILABLE` (9).
    pub const REPLICA_NOT_AVAILABLE: ErrorCode = ErrorCode(9);
    /// Kafka error `MESSAGE_TOO_LARGE` (10).
    pub const MESSAGE_TOO_LARGE: ErrorCode = ErrorCode(10);
    /// Kafka error `STALE_CONTROLLER_EPOCH` (11).
    pub const STALE_CONTROLLER_EPOCH: ErrorCode = ErrorCode(11);
    /// Kafka error `OFFSET_METADATA_TOO_LARGE` (12).
    pub const OFFSET_METADATA_TOO_LARGE: ErrorCode = ErrorCode(12);
    /// Kafka error `NETWORK_EXCEPTION` (13).
    pub const NETWORK_EXCEPTION: ErrorCode = ErrorCode(13);
    /// Kafka error `COORDINATOR_LOAD_IN_PROGRESS` (14).
    pub const COORDINATOR_LOAD_IN_PROGRESS: ErrorCode = ErrorCode(14);
    /// Kafka error `COORDINATOR_NOT_AVAILABLE` (15).
    pub const COORDINATOR_NOT_AVAILABLE: ErrorCode = ErrorCode(15);
    /// Kafka error `NOT_COORDINATOR` (16).
    pub const NOT_COORDINATOR: ErrorCode = ErrorCode(16);
    /// Kafka error `INVALID_TOPIC_EXCEPTION` (17).
    pub const INVALID_TOPIC_EXCEPTION: ErrorCode = ErrorCode(17);
    /// Kafka error `RECORD_LIST_TOO_LARGE` (18).
    pub const RECORD_LIST_TOO_LARGE: ErrorCode = ErrorCode(18);
    /// Kafka error `NOT_ENOUGH_REPLICAS` (19).
    pub const NOT_ENOUGH_REPLICAS: ErrorCode = ErrorCode(19);
    /// Kafka error `NOT_ENOUGH_REPLICAS_AFTER_APPEND` (20).
    pub const NOT_ENOUGH_REPLICAS_AFTER_APPEND: ErrorCode = ErrorCode(20);
    /// Kafka error `INVALID_REQUIRED_ACKS` (21).
    pub const INVALID_REQUIRED_ACKS: ErrorCode = ErrorCode(21);
    /// Kafka error `ILLEGAL_GENERATION` (22).
    pub const ILLEGAL_GENERATION: ErrorCode = ErrorCode(22);
    /// Kafka error `INCONSISTENT_GROUP_PROTOCOL` (23).
    pub const INCONSISTENT_GROUP_PROTOCOL: ErrorCode = ErrorCode(23);
    /// Kafka error `INVALID_GROUP_ID` (24).
    pub const INVALID_GROUP_ID: ErrorCode = ErrorCode(24);
    /// Kafka error `UNKNOWN_MEMBER_ID` (25).
    pub const UNKNOWN_MEMBER_ID: ErrorCode = ErrorCode(25);
    /// Kafka error `INVALID_SESSION_TIMEOUT` (26).
    pub const INVALID_SESSION_TIMEOUT: ErrorCode = ErrorCode(26);
    /// Kafka error `REBALANCE_IN_PROGRESS` (27).
    pub const REBALANCE_IN_PROGRESS: ErrorCode = ErrorCode(27);
    /// Kafka error `INVALID_COMMIT_OFFSET_SIZE` (28).
    pub const INVALID_COMMIT_OFFSET_SIZE: ErrorCode = ErrorCode(28);
    /// Kafka error `TOPIC_AUTHORIZATION_FAILED` (29).
    pub const TOPIC_AUTHORIZATION_FAILED: ErrorCode = ErrorCode(29);
    /// Kafka error `GROUP_AUTHORIZATION_FAILED` (30).
    pub const GROUP_AUTHORIZATION_FAILED: ErrorCode = ErrorCode(30);
    /// Kafka error `CLUSTER_AUTHORIZATION_FAILED` (31).
    pub const CLUSTER_AUTHORIZATION_FAILED: ErrorCode = ErrorCode(31);
    /// Kafka error `INVALID_TIMESTAMP` (32).
    pub const INVALID_TIMESTAMP: ErrorCode = ErrorCode(32);
    /// Kafka error `UNSUPPORTED_SASL_MECHANISM` (33).
    pub const UNSUPPORTED_SASL_MECHANISM: ErrorCode = ErrorCode(33);
    /// Kafka error `ILLEGAL_SASL_STATE` (34).
    pub const ILLEGAL_SASL_STATE: ErrorCode = ErrorCode(34);
    /// Kafka error `UNSUPPORTED_VERSION` (35).
    pub const UNSUPPORTED_VERSION: ErrorCode = ErrorCode(35);
    /// Kafka error `TOPIC_ALREADY_EXISTS` (36).
    pub const TOPIC_ALREADY_EXISTS: ErrorCode = ErrorCode(36);
    /// Kafka error `INVALID_PARTITIONS` (37).
    pub const INVALID_PARTITIONS: ErrorCode = ErrorCode(37);
    /// Kafka error `INVALID_REPLICATION_FACTOR` (38).
    pub const INVALID_REPLICATION_FACTOR: ErrorCode = ErrorCode(38);
    /// Kafka error `INVALID_REPLICA_ASSIGNMENT` (39).
    pub const INVALID_REPLICA_ASSIGNMENT: ErrorCode = ErrorCode(39);
    /// Kafka error `INVALID_CONFIG` (40).
    pub const INVALID_CONFIG: ErrorCode = ErrorCode(40);
    /// Kafka error `NOT_CONTROLLER` (41).
    pub const NOT_CONTROLLER: ErrorCode = ErrorCode(41);
    /// Kafka error `INVALID_REQUEST` (42).
    pub const INVALID_REQUEST: ErrorCode = ErrorCode(42);
    /// Kafka error `UNSUPPORTED_FOR_MESSAGE_FORMAT` (43).
    pub const UNSUPPORTED_FOR_MESSAGE_FORMAT: ErrorCode = ErrorCode(43);
    /// Kafka error `POLICY_VIOLATION` (44).
    pub const POLICY_VIOLATION: ErrorCode = ErrorCode(44);
    /// Kafka error `OUT_OF_ORDER_SEQUENCE_NUMBER` (45).
    pub const OUT_OF_ORDER_SEQUENCE_NUMBER: ErrorCode = ErrorCode(45);
    /// Kafka error `DUPLICATE_SEQUENCE_NUMBER` (46).
    pub const DUPLICATE_SEQUENCE_NUMBER: ErrorCode = ErrorCode(46);
    /// Kafka error `INVALID_PRODUCER_EPOCH` (47).
    pub const INVALID_PRODUCER_EPOCH: ErrorCode = ErrorCode(47);
    /// Kafka error `INVALID_TXN_STATE` (48).
    pub const INVALID_TXN_STATE: ErrorCode = ErrorCode(48);
    /// Kafka error `INVALID_PRODUCER_ID_MAPPING` (49).
    pub const INVALID_PRODUCER_ID_MAPPING: ErrorCode = ErrorCode(49);
    /// Kafka error `INVALID_TRANSACTION_TIMEOUT` (50).
    pub const INVALID_TRANSACTION_TIMEOUT: ErrorCode = ErrorCode(50);
    /// Kafka error `CONCURRENT_TRANSACTIONS` (51).
    pub const CONCURRENT_TRANSACTIONS: ErrorCode = ErrorCode(51);
    /// Kafka error `TRANSACTION_COORDINATOR_FENCED` (52).
    pub const TRANSACTION_COORDINATOR_FENCED: ErrorCode = ErrorCode(52);
    /// Kafka error `TRANSACTIONAL_ID_AUTHORIZATION_FAILED` (53).
    pub const TRANSACTIONAL_ID_AUTHORIZATION_FAILED: ErrorCode = ErrorCode(53);
    /// Kafka error `SECURITY_DISABLED` (54).
    pub const SECURITY_DISABLED: ErrorCode = ErrorCode(54);
    /// Kafka error `OPERATION_NOT_ATTEMPTED` (55).
    pub const OPERATION_NOT_ATTEMPTED: ErrorCode = ErrorCode(55);
    /// Kafka error `KAFKA_STORAGE_ERROR` (56).
    pub const KAFKA_STORAGE_ERROR: ErrorCode = ErrorCode(56);
    /// Kafka error `LOG_DIR_NOT_FOUND` (57).
    pub const LOG_DIR_NOT_FOUND: ErrorCode = ErrorCode(57);
    /// Kafka error `SASL_AUTHENTICATION_FAILED` (58).
    pub const SASL_AUTHENTICATION_FAILED: ErrorCode = ErrorCode(58);
    /// Kafka error `UNKNOWN_PRODUCER_ID` (59).
    pub const UNKNOWN_PRODUCER_ID: ErrorCode = ErrorCode(59);
    /// Kafka error `REASSIGNMENT_IN_PROGRESS` (60).
    pub const REASSIGNMENT_IN_PROGRESS: ErrorCode = ErrorCode(60);
    /// Kafka error `DELEGATION_TOKEN_AUTH_DISABLED` (61).
    pub const DELEGATION_TOKEN_AUTH_DISABLED: ErrorCode = ErrorCode(61);
    /// Kafka error `DELEGATION_TOKEN_NOT_FOUND` (62).
    pub const DELEGATION_TOKEN_NOT_FOUND: ErrorCode = ErrorCode(62);
    /// Kafka error `DELEGATION_TOKEN_OWNER_MISMATCH` (63).
    pub const DELEGATION_TOKEN_OWNER_MISMATCH: ErrorCode = ErrorCode(63);
    /// Kafka error `DELEGATION_TOKEN_REQUEST_NOT_ALLOWED` (64).
    pub const DELEGATION_TOKEN_REQUEST_NOT_ALLOWED: ErrorCode = ErrorCode(64);
    /// Kafka error `DELEGATION_TOKEN_AUTHORIZATION_FAILED` (65).
    pub const DELEGATION_TOKEN_AUTHORIZATION_FAILED: ErrorCode = ErrorCode(65);
    /// Kafka error `DELEGATION_TOKEN_EXPIRED` (66).
    pub const DELEGATION_TOKEN_EXPIRED: ErrorCode = ErrorCode(66);
    /// Kafka error `INVALID_PRINCIPAL_TYPE` (67).
    pub const INVALID_PRINCIPAL_TYPE: ErrorCode = ErrorCode(67);
    /// Kafka error `NON_EMPTY_GROUP` (68).
    pub const NON_EMPTY_GROUP: ErrorCode = ErrorCode(68);
    /// Kafka error `GROUP_ID_NOT_FOUND` (69).
    pub const GROUP_ID_NOT_FOUND: ErrorCode = ErrorCode(69);
    /// Kafka error `FETCH_SESSION_ID_NOT_FOUND` (70).
    pub const FETCH_SESSION_ID_NOT_FOUND: ErrorCode = ErrorCode(70);
    /// Kafka error `INVALID_FETCH_SESSION_EPOCH` (71).
    pub const INVALID_FETCH_SESSION_EPOCH: ErrorCode = ErrorCode(71);
    /// Kafka error `LISTENER_NOT_FOUND` (72).
    pub const LISTENER_NOT_FOUND: ErrorCode = ErrorCode(72);
    /// Kafka error `TOPIC_DELETION_DISABLED` (73).
    pub const TOPIC_DELETION_DISABLED: ErrorCode = ErrorCode(73);
    /// Kafka error `FENCED_LEADER_EPOCH` (74).
    pub const FENCED_LEADER_EPOCH: ErrorCode = ErrorCode(74);
    /// Kafka error `UNKNOWN_LEADER_EPOCH` (75).
    pub const UNKNOWN_LEADER_EPOCH: ErrorCode = ErrorCode(75);
    /// Kafka error `UNSUPPORTED_COMPRESSION_TYPE` (76).
    pub const UNSUPPORTED_COMPRESSION_TYPE: ErrorCode = ErrorCode(76);
    /// Kafka error `STALE_BROKER_EPOCH` (77).
    pub const STALE_BROKER_EPOCH: ErrorCode = ErrorCode(77);
    /// Kafka error `OFFSET_NOT_AVAILABLE` (78).
    pub const OFFSET_NOT_AVAILABLE: ErrorCode = ErrorCode(78);
    /// Kafka error `MEMBER_ID_REQUIRED` (79).
    pub const MEMBER_ID_REQUIRED: ErrorCode = ErrorCode(79);
    /// Kafka error `PREFERRED_LEADER_NOT_AVAILABLE` (80).
    pub const PREFERRED_LEADER_NOT_AVAILABLE: ErrorCode = ErrorCode(80);
    /// Kafka error `GROUP_MAX_SIZE_REACHED` (81).
    pub const GROUP_MAX_SIZE_REACHED: ErrorCode = ErrorCode(81);
    /// Kafka error `FENCED_INSTANCE_ID` (82).
    pub const FENCED_INSTANCE_ID: ErrorCode = ErrorCode(82);
    /// Kafka error `ELIGIBLE_LEADERS_NOT_AVAILABLE` (83).
    pub const ELIGIBLE_LEADERS_NOT_AVAILABLE: ErrorCode = ErrorCode(83);
    /// Kafka error `ELECTION_NOT_NEEDED` (84).
    pub const ELECTION_NOT_NEEDED: ErrorCode = ErrorCode(84);
    /// Kafka error `NO_REASSIGNMENT_IN_PROGRESS` (85).
    pub const NO_REASSIGNMENT_IN_PROGRESS: ErrorCode = ErrorCode(85);
    /// Kafka error `GROUP_SUBSCRIBED_TO_TOPIC` (86).
    pub const GROUP_SUBSCRIBED_TO_TOPIC: ErrorCode = ErrorCode(86);
    /// Kafka error `INVALID_RECORD` (87).
    pub const INVALID_RECORD: ErrorCode = ErrorCode(87);
    /// Kafka error `UNSTABLE_OFFSET_COMMIT` (88).
    pub const UNSTABLE_OFFSET_COMMIT: ErrorCode = ErrorCode(88);
    /// Kafka error `THROTTLING_QUOTA_EXCEEDED` (89).
    pub const THROTTLING_QUOTA_EXCEEDED: ErrorCode = ErrorCode(89);
    /// Kafka error `PRODUCER_FENCED` (90).
    pub const PRODUCER_FENCED: ErrorCode = ErrorCode(90);
    /// Kafka error `RESOURCE_NOT_FOUND` (91).
    pub const RESOURCE_NOT_FOUND: ErrorCode = ErrorCode(91);
    /// Kafka error `DUPLICATE_RESOURCE` (92).
    pub const DUPLICATE_RESOURCE: ErrorCode = ErrorCode(92);
    /// Kafka error `UNACCEPTABLE_CREDENTIAL` (93).
    pub const UNACCEPTABLE_CREDENTIAL: ErrorCode = ErrorCode(93);
    /// Kafka error `INCONSISTENT_VOTER_SET` (94).
    pub const INCONSISTENT_VOTER_SET: ErrorCode = ErrorCode(94);
    /// Kafka error `INVALID_UPDATE_VERSION` (95).
    pub const INVALID_UPDATE_VERSION: ErrorCode = ErrorCode(95);
    /// Kafka error `FEATURE_UPDATE_FAILED` (96).
    pub const FEATURE_UPDATE_FAILED: ErrorCode = ErrorCode(96);
    /// Kafka error `PRINCIPAL_DESERIALIZATION_FAILURE` (97).
    pub const PRINCIPAL_DESERIALIZATION_FAILURE: ErrorCode = ErrorCode(97);
    /// Kafka error `SNAPSHOT_NOT_FOUND` (98).
    pub const SNAPSHOT_NOT_FOUND: ErrorCode = ErrorCode(98);
    /// Kafka error `POSITION_OUT_OF_RANGE` (99).
    pub const POSITION_OUT_OF_RANGE: ErrorCode = ErrorCode(99);
    /// Kafka error `UNKNOWN_TOPIC_ID` (100).
    pub const UNKNOWN_TOPIC_ID: ErrorCode = ErrorCode(100);
    /// Kafka error `DUPLICATE_BROKER_REGISTRATION` (101).
    pub const DUPLICATE_BROKER_REGISTRATION: ErrorCode = ErrorCode(101);
    /// Kafka error `BROKER_ID_NOT_REGISTERED` (102).
    pub const BROKER_ID_NOT_REGISTERED: ErrorCode = ErrorCode(102);
    /// Kafka error `INCONSISTENT_TOPIC_ID` (103).
    pub const INCONSISTENT_TOPIC_ID: ErrorCode = ErrorCode(103);
    /// Kafka error `INCONSISTENT_CLUSTER_ID` (104).
    pub const INCONSISTENT_CLUSTER_ID: ErrorCode = ErrorCode(104);
    /// Kafka error `TRANSACTIONAL_ID_NOT_FOUND` (105).
    pub const TRANSACTIONAL_ID_NOT_FOUND: ErrorCode = ErrorCode(105);
    /// Kafka error `FETCH_SESSION_TOPIC_ID_ERROR` (106).
    pub const FETCH_SESSION_TOPIC_ID_ERROR: ErrorCode = ErrorCode(106);
    /// Kafka error `INELIGIBLE_REPLICA` (107).
    pub const INELIGIBLE_REPLICA: ErrorCode = ErrorCode(107);
    /// Kafka error `NEW_LEADER_ELECTED` (108).
    pub const NEW_LEADER_ELECTED: ErrorCode = ErrorCode(108);
    /// Kafka error `OFFSET_MOVED_TO_TIERED_STORAGE` (109).
    pub const OFFSET_MOVED_TO_TIERED_STORAGE: ErrorCode = ErrorCode(109);
    /// Kafka error `FENCED_MEMBER_EPOCH` (110).
    pub const FENCED_MEMBER_EPOCH: ErrorCode = ErrorCode(110);
    /// Kafka error `UNRELEASED_INSTANCE_ID` (111).
    pub const UNRELEASED_INSTANCE_ID: ErrorCode = ErrorCode(111);
    /// Kafka error `UNSUPPORTED_ASSIGNOR` (112).
    pub const UNSUPPORTED_ASSIGNOR: ErrorCode = ErrorCode(112);
    /// Kafka error `STALE_MEMBER_EPOCH` (113).
    pub const STALE_MEMBER_EPOCH: ErrorCode = ErrorCode(113);
    /// Kafka error `MISMATCHED_ENDPOINT_TYPE` (114).
    pub const MISMATCHED_ENDPOINT_TYPE: ErrorCode = ErrorCode(114);
    /// Kafka error `UNSUPPORTED_ENDPOINT_TYPE` (115).
    pub const UNSUPPORTED_ENDPOINT_TYPE: ErrorCode = ErrorCode(115);
    /// Kafka error `UNKNOWN_CONTROLLER_ID` (116).
    pub const UNKNOWN_CONTROLLER_ID: ErrorCode = ErrorCode(116);
    /// Kafka error `UNKNOWN_SUBSCRIPTION_ID` (117).
    pub const UNKNOWN_SUBSCRIPTION_ID: ErrorCode = ErrorCode(117);
    /// Kafka error `TELEMETRY_TOO_LARGE` (118).
    pub const TELEMETRY_TOO_LARGE: ErrorCode = ErrorCode(118);
    /// Kafka error `INVALID_REGISTRATION` (119).
    pub const INVALID_REGISTRATION: ErrorCode = ErrorCode(119);
    /// Kafka error `TRANSACTION_ABORTABLE` (120).
    pub const TRANSACTION_ABORTABLE: ErrorCode = ErrorCode(120);
    /// Kafka error `INVALID_RECORD_STATE` (121).
    pub const INVALID_RECORD_STATE: ErrorCode = ErrorCode(121);
    /// Kafka error `SHARE_SESSION_NOT_FOUND` (122).
    pub const SHARE_SESSION_NOT_FOUND: ErrorCode = ErrorCode(122);
    /// Kafka error `INVALID_SHARE_SESSION_EPOCH` (123).
    pub const INVALID_SHARE_SESSION_EPOCH: ErrorCode = ErrorCode(123);
    /// Kafka error `FENCED_STATE_EPOCH` (124).
    pub const FENCED_STATE_EPOCH: ErrorCode = ErrorCode(124);
    /// Kafka error `INVALID_VOTER_KEY` (125).
    pub const INVALID_VOTER_KEY: ErrorCode = ErrorCode(125);
    /// Kafka error `DUPLICATE_VOTER` (126).
    pub const DUPLICATE_VOTER: ErrorCode = ErrorCode(126);
    /// Kafka error `VOTER_NOT_FOUND` (127).
    pub const VOTER_NOT_FOUND: ErrorCode = ErrorCode(127);
    /// Kafka error `INVALID_REGULAR_EXPRESSION` (128).
    pub const INVALID_REGULAR_EXPRESSION: ErrorCode = ErrorCode(128);
    /// Kafka error `REBOOTSTRAP_REQUIRED` (129).
    pub const REBOOTSTRAP_REQUIRED: ErrorCode = ErrorCode(129);
    /// Kafka error `STREAMS_INVALID_TOPOLOGY` (130).
    pub const STREAMS_INVALID_TOPOLOGY: ErrorCode = ErrorCode(130);
    /// Kafka error `STREAMS_INVALID_TOPOLOGY_EPOCH` (131).
    pub const STREAMS_INVALID_TOPOLOGY_EPOCH: ErrorCode = ErrorCode(131);
    /// Kafka error `STREAMS_TOPOLOGY_FENCED` (132).
    pub const STREAMS_TOPOLOGY_FENCED: ErrorCode = ErrorCode(132);
    /// Kafka error `SHARE_SESSION_LIMIT_REACHED` (133).
    pub const SHARE_SESSION_LIMIT_REACHED: ErrorCode = ErrorCode(133);
    /// Kafka error `GROUP_DELETION_FAILED` (134).
    pub const GROUP_DELETION_FAILED: ErrorCode = ErrorCode(134);
    /// Kafka error `STREAMS_TOPOLOGY_DESCRIPTION_UPDATE_FAILED` (135).
    pub const STREAMS_TOPOLOGY_DESCRIPTION_UPDATE_FAILED: ErrorCode = ErrorCode(135);
    /// Kafka error `CONTROLLER_ID_NOT_REGISTERED` (136).
    pub const CONTROLLER_ID_NOT_REGISTERED: ErrorCode = ErrorCode(136);

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
