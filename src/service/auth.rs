//! The broker's authorizer hook and the broker-layer checks of spec 02 §1 /
//! 04 §2.1 that run before a request reaches a shard.

use std::collections::BTreeSet;

use crate::group::CoordinatorConfig;
use crate::protocol::{ErrorCode, StreamsGroupHeartbeatRequest};
use crate::shard::Failure;
use crate::topology::topology_topic_names;

/// An ACL operation, numbered as Kafka's `AclOperation` codes (the bit
/// positions of `AuthorizedOperations` in StreamsGroupDescribe).
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum AclOperation {
    /// READ (3): join or heartbeat a group.
    Read = 3,
    /// CREATE (5): create a topic (on the topic, or cluster-wide).
    Create = 5,
    /// DELETE (6): delete a group.
    Delete = 6,
    /// DESCRIBE (8): describe a group or a topic.
    Describe = 8,
    /// DESCRIBE_CONFIGS (10).
    DescribeConfigs = 10,
    /// ALTER_CONFIGS (11).
    AlterConfigs = 11,
}

impl AclOperation {
    /// Kafka's numeric code of the operation.
    pub fn code(self) -> i8 {
        self as i8
    }

    /// The operations a GROUP resource supports, in code order (spec 07 §1.1).
    pub const GROUP_OPERATIONS: [AclOperation; 5] = [
        AclOperation::Read,
        AclOperation::Delete,
        AclOperation::Describe,
        AclOperation::DescribeConfigs,
        AclOperation::AlterConfigs,
    ];
}

/// A resource an operation is checked against.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum Resource<'a> {
    /// A consumer / streams group, by group id.
    Group(&'a str),
    /// A topic, by name.
    Topic(&'a str),
    /// The cluster itself (cluster-wide CREATE).
    Cluster,
}

/// The broker's authorizer. Called synchronously on the request path, so it
/// must be fast and must not block (Kafka's authorizer has the same contract).
pub trait Authorizer: Send + Sync + 'static {
    /// Whether `principal` (the broker's principal string, e.g. `User:alice`)
    /// connecting from `host` (the client's address as the broker's network
    /// layer gives it in [`ClientContext::client_host`](super::ClientContext),
    /// e.g. `10.0.0.7`: Kafka's ACLs name a host or `*`) may perform
    /// `operation` on `resource`.
    fn authorize(
        &self,
        principal: &str,
        host: &str,
        operation: AclOperation,
        resource: Resource<'_>,
    ) -> bool;
}

/// An authorizer that allows everything (a broker without an authorizer).
#[derive(Copy, Clone, Debug, Default)]
pub struct AllowAll;

impl Authorizer for AllowAll {
    fn authorize(&self, _: &str, _: &str, _: AclOperation, _: Resource<'_>) -> bool {
        true
    }
}

/// Kafka's internal topics, which a streams topology may not use (04 §2.1).
pub(crate) const KAFKA_INTERNAL_TOPICS: [&str; 3] = [
    "__consumer_offsets",
    "__transaction_state",
    "__share_group_state",
];

/// Longest legal topic name, in characters (Kafka's `Topic.MAX_NAME_LENGTH`).
pub(crate) const MAX_TOPIC_NAME_LENGTH: usize = 249;

/// Whether `name` is a legal Kafka topic name: non-empty, at most 249
/// characters of `[a-zA-Z0-9._-]`, and neither `.` nor `..`.
pub(crate) fn is_legal_topic_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= MAX_TOPIC_NAME_LENGTH
        && name != "."
        && name != ".."
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'_' || b == b'-')
}

/// Why the broker layer rejects a heartbeat's topology before the coordinator
/// sees it (04 §2.1); both map to STREAMS_INVALID_TOPOLOGY (130).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum TopologyRejection {
    /// The topology names Kafka-internal topics.
    #[error("Use of Kafka internal topics {} in a Kafka Streams topology is prohibited.", .0.join(","))]
    InternalTopics(Vec<String>),
    /// The topology names topics that are not legal topic names.
    #[error("Topic names {} are not valid topic names.", .0.join(","))]
    InvalidNames(Vec<String>),
}

/// The broker-layer name checks of 04 §2.1 over the de-duplicated topic names
/// of a topology (first occurrence order kept, as Kafka reports them).
pub fn check_topology_topic_names<'a>(
    names: impl IntoIterator<Item = &'a str>,
) -> Result<Vec<&'a str>, TopologyRejection> {
    let mut seen = BTreeSet::new();
    let mut unique = Vec::new();
    for n in names {
        if seen.insert(n) {
            unique.push(n);
        }
    }
    let internal: Vec<String> = unique
        .iter()
        .filter(|n| KAFKA_INTERNAL_TOPICS.contains(n))
        .map(|n| (*n).to_owned())
        .collect();
    if !internal.is_empty() {
        return Err(TopologyRejection::InternalTopics(internal));
    }
    let invalid: Vec<String> = unique
        .iter()
        .filter(|n| !is_legal_topic_name(n))
        .map(|n| (*n).to_owned())
        .collect();
    if !invalid.is_empty() {
        return Err(TopologyRejection::InvalidNames(invalid));
    }
    Ok(unique)
}

/// The broker layer's checks of a StreamsGroupHeartbeat before it reaches
/// the coordinator (spec 02 §1, 04 §2.1), in Kafka's order, the one copy the
/// service and the scenario runner share: the streams protocol enabled
/// (UNSUPPORTED_VERSION), READ on the group (GROUP_AUTHORIZATION_FAILED), the
/// topology's topic names legal and not Kafka-internal
/// (STREAMS_INVALID_TOPOLOGY), DESCRIBE on each of them
/// (TOPIC_AUTHORIZATION_FAILED). `authorize` answers for the client.
pub fn check_heartbeat_request(
    config: &CoordinatorConfig,
    request: &StreamsGroupHeartbeatRequest,
    mut authorize: impl FnMut(AclOperation, Resource<'_>) -> bool,
) -> Result<(), Failure> {
    if !config.streams_enabled() {
        return Err(Failure::new(ErrorCode::UNSUPPORTED_VERSION));
    }
    if !authorize(AclOperation::Read, Resource::Group(&request.group_id)) {
        return Err(Failure::new(ErrorCode::GROUP_AUTHORIZATION_FAILED));
    }
    let Some(topology) = &request.topology else {
        return Ok(());
    };
    let names =
        check_topology_topic_names(topology_topic_names(topology)).map_err(|rejection| {
            Failure {
                code: ErrorCode::STREAMS_INVALID_TOPOLOGY,
                message: Some(rejection.to_string()),
            }
        })?;
    if names
        .iter()
        .any(|t| !authorize(AclOperation::Describe, Resource::Topic(t)))
    {
        return Err(Failure::new(ErrorCode::TOPIC_AUTHORIZATION_FAILED));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn legal_topic_names() {
        assert!(is_legal_topic_name("orders-v1.x_y"));
        assert!(is_legal_topic_name(&"a".repeat(249)));
        assert!(!is_legal_topic_name(&"a".repeat(250)));
        for bad in ["", ".", "..", "a b", "a/b", "t\u{e9}"] {
            assert!(!is_legal_topic_name(bad), "{bad:?}");
        }
    }

    #[test]
    fn topology_names_checked_internal_first() {
        let r = check_topology_topic_names(["in", "__consumer_offsets", "bad name", "in"]);
        assert_eq!(
            r.unwrap_err().to_string(),
            "Use of Kafka internal topics __consumer_offsets in a Kafka Streams topology is prohibited."
        );
        let r = check_topology_topic_names(["in", "bad name", "x/y", "bad name"]);
        assert_eq!(
            r.unwrap_err().to_string(),
            "Topic names bad name,x/y are not valid topic names."
        );
        assert_eq!(
            check_topology_topic_names(["a", "b", "a"]).unwrap(),
            vec!["a", "b"]
        );
    }
}
