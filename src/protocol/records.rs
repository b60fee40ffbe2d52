//! The streams-group records persisted in `__consumer_offsets` (spec 06 §2): record types
//! 17 and 19–23, their keys and values.
//!
//! Keys are version 0, not flexible (legacy int16-length strings); values are version 0 and
//! flexible. In the log a key is prefixed by its record type (int16) and a value by its
//! version (int16); a tombstone is a key with no value.

use serde::{Deserialize, Serialize};

pub use super::heartbeat::{Endpoint, KeyValue, Subtopology, TaskIds, TopicInfo};

/// One persisted record: a key and a value, or a tombstone (`value == None`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CoordinatorRecord {
    /// The record key.
    pub key: RecordKey,
    /// The record value; `None` is a tombstone.
    pub value: Option<RecordValue>,
}

/// The key of a streams-group record, one variant per record type.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum RecordKey {
    /// Type 17.
    GroupMetadata(StreamsGroupMetadataKey),
    /// Type 19.
    MemberMetadata(StreamsGroupMemberMetadataKey),
    /// Type 20.
    TargetAssignmentMetadata(StreamsGroupTargetAssignmentMetadataKey),
    /// Type 21.
    TargetAssignmentMember(StreamsGroupTargetAssignmentMemberKey),
    /// Type 22.
    CurrentMemberAssignment(StreamsGroupCurrentMemberAssignmentKey),
    /// Type 23.
    Topology(StreamsGroupTopologyKey),
}

/// The value of a streams-group record, one variant per record type.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RecordValue {
    /// Type 17.
    GroupMetadata(StreamsGroupMetadataValue),
    /// Type 19.
    MemberMetadata(StreamsGroupMemberMetadataValue),
    /// Type 20.
    TargetAssignmentMetadata(StreamsGroupTargetAssignmentMetadataValue),
    /// Type 21.
    TargetAssignmentMember(StreamsGroupTargetAssignmentMemberValue),
    /// Type 22.
    CurrentMemberAssignment(StreamsGroupCurrentMemberAssignmentValue),
    /// Type 23.
    Topology(StreamsGroupTopologyValue),
}

/// Record type numbers (the key's int16 prefix in `__consumer_offsets`).
pub mod record_type {
    /// `StreamsGroupMetadata`.
    pub const GROUP_METADATA: i16 = 17;
    /// `StreamsGroupMemberMetadata`.
    pub const MEMBER_METADATA: i16 = 19;
    /// `StreamsGroupTargetAssignmentMetadata`.
    pub const TARGET_ASSIGNMENT_METADATA: i16 = 20;
    /// `StreamsGroupTargetAssignmentMember`.
    pub const TARGET_ASSIGNMENT_MEMBER: i16 = 21;
    /// `StreamsGroupCurrentMemberAssignment`.
    pub const CURRENT_MEMBER_ASSIGNMENT: i16 = 22;
    /// `StreamsGroupTopology`.
    pub const TOPOLOGY: i16 = 23;
}

/// The name of a record type (spec 08's names, e.g. `"StreamsGroupMetadata"`), or `None`
/// for a type that is not a streams-group record.
pub fn record_type_name(record_type: i16) -> Option<&'static str> {
    Some(match record_type {
        record_type::GROUP_METADATA => "StreamsGroupMetadata",
        record_type::MEMBER_METADATA => "StreamsGroupMemberMetadata",
        record_type::TARGET_ASSIGNMENT_METADATA => "StreamsGroupTargetAssignmentMetadata",
        record_type::TARGET_ASSIGNMENT_MEMBER => "StreamsGroupTargetAssignmentMember",
        record_type::CURRENT_MEMBER_ASSIGNMENT => "StreamsGroupCurrentMemberAssignment",
        record_type::TOPOLOGY => "StreamsGroupTopology",
        _ => return None,
    })
}

impl RecordKey {
    /// The record type number (17, 19–23).
    pub fn record_type(&self) -> i16 {
        match self {
            RecordKey::GroupMetadata(_) => record_type::GROUP_METADATA,
            RecordKey::MemberMetadata(_) => record_type::MEMBER_METADATA,
            RecordKey::TargetAssignmentMetadata(_) => record_type::TARGET_ASSIGNMENT_METADATA,
            RecordKey::TargetAssignmentMember(_) => record_type::TARGET_ASSIGNMENT_MEMBER,
            RecordKey::CurrentMemberAssignment(_) => record_type::CURRENT_MEMBER_ASSIGNMENT,
            RecordKey::Topology(_) => record_type::TOPOLOGY,
        }
    }

    /// The record type name of spec 08 (e.g. `"StreamsGroupMetadata"`).
    pub fn type_name(&self) -> &'static str {
        match self {
            RecordKey::GroupMetadata(_) => "StreamsGroupMetadata",
            RecordKey::MemberMetadata(_) => "StreamsGroupMemberMetadata",
            RecordKey::TargetAssignmentMetadata(_) => "StreamsGroupTargetAssignmentMetadata",
            RecordKey::TargetAssignmentMember(_) => "StreamsGroupTargetAssignmentMember",
            RecordKey::CurrentMemberAssignment(_) => "StreamsGroupCurrentMemberAssignment",
            RecordKey::Topology(_) => "StreamsGroupTopology",
        }
    }

    /// The group id every key carries.
    pub fn group_id(&self) -> &str {
        match self {
            RecordKey::GroupMetadata(k) => &k.group_id,
            RecordKey::MemberMetadata(k) => &k.group_id,
            RecordKey::TargetAssignmentMetadata(k) => &k.group_id,
            RecordKey::TargetAssignmentMember(k) => &k.group_id,
            RecordKey::CurrentMemberAssignment(k) => &k.group_id,
            RecordKey::Topology(k) => &k.group_id,
        }
    }

    /// The member id, for the per-member record types.
    pub fn member_id(&self) -> Option<&str> {
        match self {
            RecordKey::MemberMetadata(k) => Some(&k.member_id),
            RecordKey::TargetAssignmentMember(k) => Some(&k.member_id),
            RecordKey::CurrentMemberAssignment(k) => Some(&k.member_id),
            _ => None,
        }
    }
}

impl RecordValue {
    /// The record type number (17, 19–23) of this value.
    pub fn record_type(&self) -> i16 {
        match self {
            RecordValue::GroupMetadata(_) => record_type::GROUP_METADATA,
            RecordValue::MemberMetadata(_) => record_type::MEMBER_METADATA,
            RecordValue::TargetAssignmentMetadata(_) => record_type::TARGET_ASSIGNMENT_METADATA,
            RecordValue::TargetAssignmentMember(_) => record_type::TARGET_ASSIGNMENT_MEMBER,
            RecordValue::CurrentMemberAssignment(_) => record_type::CURRENT_MEMBER_ASSIGNMENT,
            RecordValue::Topology(_) => record_type::TOPOLOGY,
        }
    }
}

impl CoordinatorRecord {
    /// A record with a value.
    pub fn record(key: RecordKey, value: RecordValue) -> Self {
        CoordinatorRecord {
            key,
            value: Some(value),
        }
    }

    /// A tombstone for `key`.
    pub fn tombstone(key: RecordKey) -> Self {
        CoordinatorRecord { key, value: None }
    }

    /// True if this record is a tombstone.
    pub fn is_tombstone(&self) -> bool {
        self.value.is_none()
    }
}

fn is_minus_one_i32(v: &i32) -> bool {
    *v == -1
}

fn is_zero_i64(v: &i64) -> bool {
    *v == 0
}

fn is_empty_some<T>(v: &Option<Vec<T>>) -> bool {
    matches!(v, Some(list) if list.is_empty())
}

fn empty_some<T>() -> Option<Vec<T>> {
    Some(Vec::new())
}

/// Key of `StreamsGroupMetadata` (type 17).
#[derive(Clone, Debug, PartialEq, Eq, Default, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default, deny_unknown_fields)]
pub struct StreamsGroupMetadataKey {
    /// The group id.
    pub group_id: String,
}

/// Value of `StreamsGroupMetadata` (type 17).
///
/// `last_assignment_configs` follows Kafka's quirk for a tagged nullable array declared with
/// a JSON `null` default: its default is an **empty** list (`Some(vec![])`), which is not
/// written; `None` is written explicitly as a null.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default, deny_unknown_fields)]
pub struct StreamsGroupMetadataValue {
    /// The group epoch.
    pub epoch: i32,
    /// The metadata hash of the required topics.
    pub metadata_hash: i64,
    /// Tag 0, default −1: the topology epoch whose topics were validated.
    #[serde(skip_serializing_if = "is_minus_one_i32")]
    pub validated_topology_epoch: i32,
    /// Tag 1, default empty: the assignment configuration of the last epoch bump.
    #[serde(skip_serializing_if = "is_empty_some", default = "empty_some")]
    pub last_assignment_configs: Option<Vec<KeyValue>>,
    /// Tag 2, default −1: topology epoch the description plugin holds (−2 uncertain).
    #[serde(skip_serializing_if = "is_minus_one_i32")]
    pub stored_description_topology_epoch: i32,
    /// Tag 3, default −1: topology epoch the plugin permanently rejected.
    #[serde(skip_serializing_if = "is_minus_one_i32")]
    pub failed_description_topology_epoch: i32,
}

impl Default for StreamsGroupMetadataValue {
    fn default() -> Self {
        StreamsGroupMetadataValue {
            epoch: 0,
            metadata_hash: 0,
            validated_topology_epoch: -1,
            last_assignment_configs: Some(Vec::new()),
            stored_description_topology_epoch: -1,
            failed_description_topology_epoch: -1,
        }
    }
}

/// Key of `StreamsGroupTopology` (type 23).
#[derive(Clone, Debug, PartialEq, Eq, Default, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default, deny_unknown_fields)]
pub struct StreamsGroupTopologyKey {
    /// The group id.
    pub group_id: String,
}

/// Value of `StreamsGroupTopology` (type 23): a verbatim copy of the join request's topology.
#[derive(Clone, Debug, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default, deny_unknown_fields)]
pub struct StreamsGroupTopologyValue {
    /// The topology epoch.
    pub epoch: i32,
    /// The subtopologies.
    pub subtopologies: Vec<Subtopology>,
}

impl From<super::heartbeat::Topology> for StreamsGroupTopologyValue {
    fn from(t: super::heartbeat::Topology) -> Self {
        StreamsGroupTopologyValue {
            epoch: t.epoch,
            subtopologies: t.subtopologies,
        }
    }
}

impl From<StreamsGroupTopologyValue> for super::heartbeat::Topology {
    fn from(t: StreamsGroupTopologyValue) -> Self {
        super::heartbeat::Topology {
            epoch: t.epoch,
            subtopologies: t.subtopologies,
        }
    }
}

/// Key of `StreamsGroupMemberMetadata` (type 19).
#[derive(Clone, Debug, PartialEq, Eq, Default, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default, deny_unknown_fields)]
pub struct StreamsGroupMemberMetadataKey {
    /// The group id.
    pub group_id: String,
    /// The member id.
    pub member_id: String,
}

/// Value of `StreamsGroupMemberMetadata` (type 19).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default, deny_unknown_fields)]
pub struct StreamsGroupMemberMetadataValue {
    /// The static instance id, or null.
    pub instance_id: Option<String>,
    /// The rack id, or null.
    pub rack_id: Option<String>,
    /// The client id.
    pub client_id: String,
    /// The client host.
    pub client_host: String,
    /// The rebalance timeout (default −1).
    pub rebalance_timeout_ms: i32,
    /// The member's topology epoch.
    pub topology_epoch: i32,
    /// The process id.
    pub process_id: String,
    /// The IQ endpoint, or null.
    pub user_endpoint: Option<Endpoint>,
    /// Client tags, sorted by key.
    pub client_tags: Vec<KeyValue>,
}

impl Default for StreamsGroupMemberMetadataValue {
    fn default() -> Self {
        StreamsGroupMemberMetadataValue {
            instance_id: None,
            rack_id: None,
            client_id: String::new(),
            client_host: String::new(),
            rebalance_timeout_ms: -1,
            topology_epoch: 0,
            process_id: String::new(),
            user_endpoint: None,
            client_tags: Vec::new(),
        }
    }
}

/// Key of `StreamsGroupTargetAssignmentMetadata` (type 20).
#[derive(Clone, Debug, PartialEq, Eq, Default, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default, deny_unknown_fields)]
pub struct StreamsGroupTargetAssignmentMetadataKey {
    /// The group id.
    pub group_id: String,
}

/// Value of `StreamsGroupTargetAssignmentMetadata` (type 20).
#[derive(Clone, Debug, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default, deny_unknown_fields)]
pub struct StreamsGroupTargetAssignmentMetadataValue {
    /// The assignment epoch.
    pub assignment_epoch: i32,
    /// Tag 0, default 0: wall-clock ms when the computation finished (0 = unknown).
    #[serde(skip_serializing_if = "is_zero_i64")]
    pub assignment_timestamp: i64,
}

/// Key of `StreamsGroupTargetAssignmentMember` (type 21).
#[derive(Clone, Debug, PartialEq, Eq, Default, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default, deny_unknown_fields)]
pub struct StreamsGroupTargetAssignmentMemberKey {
    /// The group id.
    pub group_id: String,
    /// The member id.
    pub member_id: String,
}

/// Value of `StreamsGroupTargetAssignmentMember` (type 21).
#[derive(Clone, Debug, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default, deny_unknown_fields)]
pub struct StreamsGroupTargetAssignmentMemberValue {
    /// Target active tasks (subtopologies sorted by id, partitions ascending).
    pub active_tasks: Vec<TaskIds>,
    /// Target standby tasks.
    pub standby_tasks: Vec<TaskIds>,
    /// Target warm-up tasks.
    pub warmup_tasks: Vec<TaskIds>,
}

/// Key of `StreamsGroupCurrentMemberAssignment` (type 22).
#[derive(Clone, Debug, PartialEq, Eq, Default, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default, deny_unknown_fields)]
pub struct StreamsGroupCurrentMemberAssignmentKey {
    /// The group id.
    pub group_id: String,
    /// The member id.
    pub member_id: String,
}

/// `StreamsGroupCurrentMemberAssignmentValue.State` values (spec 06 §2.6).
pub mod member_state {
    /// The member owns exactly its target (or nothing to do).
    pub const STABLE: i8 = 1;
    /// The member must revoke tasks first.
    pub const UNREVOKED_TASKS: i8 = 2;
    /// The member waits for tasks other members still hold.
    pub const UNRELEASED_TASKS: i8 = 3;
}

/// Value of `StreamsGroupCurrentMemberAssignment` (type 22).
#[derive(Clone, Debug, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default, deny_unknown_fields)]
pub struct StreamsGroupCurrentMemberAssignmentValue {
    /// The member epoch.
    pub member_epoch: i32,
    /// The previous member epoch.
    pub previous_member_epoch: i32,
    /// The member state (see [`member_state`]).
    pub state: i8,
    /// Assigned active tasks (with per-task assignment epochs).
    pub active_tasks: Vec<CurrentAssignmentTaskIds>,
    /// Assigned standby tasks.
    pub standby_tasks: Vec<CurrentAssignmentTaskIds>,
    /// Assigned warm-up tasks.
    pub warmup_tasks: Vec<CurrentAssignmentTaskIds>,
    /// Active tasks pending revocation.
    pub active_tasks_pending_revocation: Vec<CurrentAssignmentTaskIds>,
    /// Standby tasks pending revocation.
    pub standby_tasks_pending_revocation: Vec<CurrentAssignmentTaskIds>,
    /// Warm-up tasks pending revocation.
    pub warmup_tasks_pending_revocation: Vec<CurrentAssignmentTaskIds>,
}

/// `StreamsGroupCurrentMemberAssignmentValue.TaskIds`: tasks of one subtopology plus, for
/// active tasks, the epoch at which each was assigned.
///
/// `assignment_epochs` (tag 0) follows Kafka's quirk for a tagged nullable array declared with
/// a JSON `null` default: its default is an **empty** list (`Some(vec![])`, not written, and
/// what [`Default`] gives); `None` is written explicitly as a null; a record without the tag
/// decodes to `Some(vec![])`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default, deny_unknown_fields)]
pub struct CurrentAssignmentTaskIds {
    /// The subtopology id.
    pub subtopology_id: String,
    /// The partitions, ascending.
    pub partitions: Vec<i32>,
    /// Tag 0: per-partition assignment epochs, parallel to `partitions` (active tasks only).
    #[serde(skip_serializing_if = "is_empty_some", default = "empty_some")]
    pub assignment_epochs: Option<Vec<i32>>,
}

impl Default for CurrentAssignmentTaskIds {
    fn default() -> Self {
        CurrentAssignmentTaskIds {
            subtopology_id: String::new(),
            partitions: Vec::new(),
            assignment_epochs: Some(Vec::new()),
        }
    }
}
