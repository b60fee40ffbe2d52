//! The streams-group records persisted in `__consumer_offsets` (spec 06 §2): record types
//! 17 and 19–23, their keys and values.
//!
//! Keys are version 0, not flexible (legacy int16-length strings); values are version 0 and
//! flexible. In the log a key is prefixed by its record type (int16) and a value by its
//! version (int16); a tombstone is a key with no value.

use serde::{Deserialize, Serialize};

use super::heartbeat::{Endpoint, KeyValue, Subtopology, TaskIds};

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

// ---------------------------------------------------------------------------------------
// Codec (spec 06 §2): keys are version 0, not flexible; values version 0, flexible.
// ---------------------------------------------------------------------------------------

use bytes::BufMut;

use super::message::Message;
use super::wire::{
    legacy_string_size, put_legacy_nullable_string, put_uvarint, uvarint_size, wire_struct,
    DecodeError, DecodeErrorKind, EncodeError, Reader, Wire,
};

/// The only version of every streams-group record key and value.
pub(crate) const RECORD_VERSION: i16 = 0;

macro_rules! record_key {
    ($ty:ident, $rt:expr, $name:literal { $($field:ident = $json:literal),* }) => {
        impl Wire for $ty {
            const MIN_SIZE: usize = 0 $(+ { let _ = $json; 2 })*;
            fn read(r: &mut Reader<'_>, _v: i16) -> Result<Self, DecodeError> {
                Ok($ty { $($field: r.legacy_string().map_err(|e| e.at($json))?,)* })
            }
            fn size(&self, _v: i16) -> Result<usize, EncodeError> {
                let mut n = 0;
                $(n += legacy_string_size(&self.$field).map_err(|e| e.at($json))?;)*
                Ok(n)
            }
            fn write<B: BufMut>(&self, _v: i16, buf: &mut B) {
                $(put_legacy_nullable_string(buf, Some(&self.$field));)*
            }
        }
        impl Message for $ty {
            const NAME: &'static str = $name;
            const API_KEY: i16 = $rt;
            const LOWEST_VERSION: i16 = 0;
            const HIGHEST_VERSION: i16 = 0;
        }
    };
}

record_key!(StreamsGroupMetadataKey, record_type::GROUP_METADATA, "StreamsGroupMetadataKey" {
    group_id = "groupId"
});
record_key!(StreamsGroupMemberMetadataKey, record_type::MEMBER_METADATA,
    "StreamsGroupMemberMetadataKey" { group_id = "groupId", member_id = "memberId" });
record_key!(StreamsGroupTargetAssignmentMetadataKey, record_type::TARGET_ASSIGNMENT_METADATA,
    "StreamsGroupTargetAssignmentMetadataKey" { group_id = "groupId" });
record_key!(StreamsGroupTargetAssignmentMemberKey, record_type::TARGET_ASSIGNMENT_MEMBER,
    "StreamsGroupTargetAssignmentMemberKey" { group_id = "groupId", member_id = "memberId" });
record_key!(StreamsGroupCurrentMemberAssignmentKey, record_type::CURRENT_MEMBER_ASSIGNMENT,
    "StreamsGroupCurrentMemberAssignmentKey" { group_id = "groupId", member_id = "memberId" });
record_key!(StreamsGroupTopologyKey, record_type::TOPOLOGY, "StreamsGroupTopologyKey" {
    group_id = "groupId"
});

macro_rules! record_value_message {
    ($ty:ident, $rt:expr, $name:literal) => {
        impl Message for $ty {
            const NAME: &'static str = $name;
            const API_KEY: i16 = $rt;
            const LOWEST_VERSION: i16 = 0;
            const HIGHEST_VERSION: i16 = 0;
        }
    };
}

record_value_message!(
    StreamsGroupMetadataValue,
    record_type::GROUP_METADATA,
    "StreamsGroupMetadataValue"
);
record_value_message!(
    StreamsGroupMemberMetadataValue,
    record_type::MEMBER_METADATA,
    "StreamsGroupMemberMetadataValue"
);
record_value_message!(
    StreamsGroupTargetAssignmentMetadataValue,
    record_type::TARGET_ASSIGNMENT_METADATA,
    "StreamsGroupTargetAssignmentMetadataValue"
);
record_value_message!(
    StreamsGroupTargetAssignmentMemberValue,
    record_type::TARGET_ASSIGNMENT_MEMBER,
    "StreamsGroupTargetAssignmentMemberValue"
);
record_value_message!(
    StreamsGroupCurrentMemberAssignmentValue,
    record_type::CURRENT_MEMBER_ASSIGNMENT,
    "StreamsGroupCurrentMemberAssignmentValue"
);
record_value_message!(
    StreamsGroupTopologyValue,
    record_type::TOPOLOGY,
    "StreamsGroupTopologyValue"
);

/// Encoded size of one tagged field whose value takes `value_size` bytes.
fn tagged_size(tag: u32, value_size: usize) -> usize {
    uvarint_size(tag) + uvarint_size(value_size as u32) + value_size
}

fn put_tag<B: BufMut>(buf: &mut B, tag: u32, value_size: usize) {
    put_uvarint(buf, tag);
    put_uvarint(buf, value_size as u32);
}

impl Wire for StreamsGroupMetadataValue {
    const MIN_SIZE: usize = 13;

    fn read(r: &mut Reader<'_>, v: i16) -> Result<Self, DecodeError> {
        let mut value = StreamsGroupMetadataValue {
            epoch: r.i32().map_err(|e| e.at("epoch"))?,
            metadata_hash: r.i64().map_err(|e| e.at("metadataHash"))?,
            ..StreamsGroupMetadataValue::default()
        };
        r.tagged_fields(|tag, t| {
            match tag {
                0 => {
                    value.validated_topology_epoch =
                        t.i32().map_err(|e| e.at("validatedTopologyEpoch"))?
                }
                1 => {
                    value.last_assignment_configs =
                        Wire::read(t, v).map_err(|e| e.at("lastAssignmentConfigs"))?
                }
                2 => {
                    value.stored_description_topology_epoch = t
                        .i32()
                        .map_err(|e| e.at("storedDescriptionTopologyEpoch"))?
                }
                3 => {
                    value.failed_description_topology_epoch = t
                        .i32()
                        .map_err(|e| e.at("failedDescriptionTopologyEpoch"))?
                }
                _ => return Ok(false),
            }
            Ok(true)
        })?;
        Ok(value)
    }

    fn size(&self, v: i16) -> Result<usize, EncodeError> {
        let mut n = 4 + 8;
        let mut tags = 0u32;
        if self.validated_topology_epoch != -1 {
            tags += 1;
            n += tagged_size(0, 4);
        }
        if !is_empty_some(&self.last_assignment_configs) {
            tags += 1;
            let size = self
                .last_assignment_configs
                .size(v)
                .map_err(|e| e.at("lastAssignmentConfigs"))?;
            n += tagged_size(1, size);
        }
        if self.stored_description_topology_epoch != -1 {
            tags += 1;
            n += tagged_size(2, 4);
        }
        if self.failed_description_topology_epoch != -1 {
            tags += 1;
            n += tagged_size(3, 4);
        }
        Ok(n + uvarint_size(tags))
    }

    fn write<B: BufMut>(&self, v: i16, buf: &mut B) {
        buf.put_i32(self.epoch);
        buf.put_i64(self.metadata_hash);
        let configs = !is_empty_some(&self.last_assignment_configs);
        let tags = u32::from(self.validated_topology_epoch != -1)
            + u32::from(configs)
            + u32::from(self.stored_description_topology_epoch != -1)
            + u32::from(self.failed_description_topology_epoch != -1);
        put_uvarint(buf, tags);
        if self.validated_topology_epoch != -1 {
            put_tag(buf, 0, 4);
            buf.put_i32(self.validated_topology_epoch);
        }
        if configs {
            // size() succeeded before write(), so this cannot fail.
            let size = self.last_assignment_configs.size(v).unwrap_or(0);
            put_tag(buf, 1, size);
            self.last_assignment_configs.write(v, buf);
        }
        if self.stored_description_topology_epoch != -1 {
            put_tag(buf, 2, 4);
            buf.put_i32(self.stored_description_topology_epoch);
        }
        if self.failed_description_topology_epoch != -1 {
            put_tag(buf, 3, 4);
            buf.put_i32(self.failed_description_topology_epoch);
        }
    }
}

impl Wire for StreamsGroupTargetAssignmentMetadataValue {
    const MIN_SIZE: usize = 5;

    fn read(r: &mut Reader<'_>, _v: i16) -> Result<Self, DecodeError> {
        let mut value = StreamsGroupTargetAssignmentMetadataValue {
            assignment_epoch: r.i32().map_err(|e| e.at("assignmentEpoch"))?,
            assignment_timestamp: 0,
        };
        r.tagged_fields(|tag, t| {
            if tag == 0 {
                value.assignment_timestamp = t.i64().map_err(|e| e.at("assignmentTimestamp"))?;
                Ok(true)
            } else {
                Ok(false)
            }
        })?;
        Ok(value)
    }

    fn size(&self, _v: i16) -> Result<usize, EncodeError> {
        Ok(4 + if self.assignment_timestamp != 0 {
            1 + tagged_size(0, 8)
        } else {
            1
        })
    }

    fn write<B: BufMut>(&self, _v: i16, buf: &mut B) {
        buf.put_i32(self.assignment_epoch);
        if self.assignment_timestamp != 0 {
            put_uvarint(buf, 1);
            put_tag(buf, 0, 8);
            buf.put_i64(self.assignment_timestamp);
        } else {
            buf.put_u8(0);
        }
    }
}

impl Wire for CurrentAssignmentTaskIds {
    const MIN_SIZE: usize = 3;

    fn read(r: &mut Reader<'_>, v: i16) -> Result<Self, DecodeError> {
        let mut value = CurrentAssignmentTaskIds {
            subtopology_id: Wire::read(r, v).map_err(|e| e.at("subtopologyId"))?,
            partitions: Wire::read(r, v).map_err(|e| e.at("partitions"))?,
            assignment_epochs: Some(Vec::new()),
        };
        r.tagged_fields(|tag, t| {
            if tag == 0 {
                value.assignment_epochs = Wire::read(t, v).map_err(|e| e.at("assignmentEpochs"))?;
                Ok(true)
            } else {
                Ok(false)
            }
        })?;
        Ok(value)
    }

    fn size(&self, v: i16) -> Result<usize, EncodeError> {
        let mut n = self
            .subtopology_id
            .size(v)
            .map_err(|e| e.at("subtopologyId"))?
            + self.partitions.size(v).map_err(|e| e.at("partitions"))?;
        if is_empty_some(&self.assignment_epochs) {
            n += 1;
        } else {
            let size = self
                .assignment_epochs
                .size(v)
                .map_err(|e| e.at("assignmentEpochs"))?;
            n += 1 + tagged_size(0, size);
        }
        Ok(n)
    }

    fn write<B: BufMut>(&self, v: i16, buf: &mut B) {
        self.subtopology_id.write(v, buf);
        self.partitions.write(v, buf);
        if is_empty_some(&self.assignment_epochs) {
            buf.put_u8(0);
        } else {
            put_uvarint(buf, 1);
            let size = self.assignment_epochs.size(v).unwrap_or(0);
            put_tag(buf, 0, size);
            self.assignment_epochs.write(v, buf);
        }
    }
}

impl super::wire::WireStruct for CurrentAssignmentTaskIds {}

wire_struct!(StreamsGroupTopologyValue {
    epoch: i32 = "epoch",
    subtopologies: Vec<Subtopology> = "subtopologies",
});

wire_struct!(StreamsGroupMemberMetadataValue {
    instance_id: Option<String> = "instanceId",
    rack_id: Option<String> = "rackId",
    client_id: String = "clientId",
    client_host: String = "clientHost",
    rebalance_timeout_ms: i32 = "rebalanceTimeoutMs",
    topology_epoch: i32 = "topologyEpoch",
    process_id: String = "processId",
    user_endpoint: Option<Endpoint> = "userEndpoint",
    client_tags: Vec<KeyValue> = "clientTags",
});

wire_struct!(StreamsGroupTargetAssignmentMemberValue {
    active_tasks: Vec<TaskIds> = "activeTasks",
    standby_tasks: Vec<TaskIds> = "standbyTasks",
    warmup_tasks: Vec<TaskIds> = "warmupTasks",
});

wire_struct!(StreamsGroupCurrentMemberAssignmentValue {
    member_epoch: i32 = "memberEpoch",
    previous_member_epoch: i32 = "previousMemberEpoch",
    state: i8 = "state",
    active_tasks: Vec<CurrentAssignmentTaskIds> = "activeTasks",
    standby_tasks: Vec<CurrentAssignmentTaskIds> = "standbyTasks",
    warmup_tasks: Vec<CurrentAssignmentTaskIds> = "warmupTasks",
    active_tasks_pending_revocation: Vec<CurrentAssignmentTaskIds> = "activeTasksPendingRevocation",
    standby_tasks_pending_revocation: Vec<CurrentAssignmentTaskIds> = "standbyTasksPendingRevocation",
    warmup_tasks_pending_revocation: Vec<CurrentAssignmentTaskIds> = "warmupTasksPendingRevocation",
});

fn unknown_record_type(record_type: i16, offset: usize) -> DecodeError {
    DecodeError::new(DecodeErrorKind::UnknownRecordType(record_type), offset)
}

/// Decodes a key or value body the way Kafka's record deserializer does: from the start of
/// the buffer, ignoring bytes after it.
fn body<M: Message>(bytes: &[u8], version: i16) -> Result<M, DecodeError> {
    M::decode_prefix(bytes, version).map(|(m, _)| m)
}

fn prefixed<M: Message>(prefix: i16, msg: &M) -> Result<Vec<u8>, EncodeError> {
    let len = msg.encoded_len(RECORD_VERSION)?;
    let mut out = Vec::with_capacity(2 + len);
    out.put_i16(prefix);
    msg.write(RECORD_VERSION, &mut out);
    Ok(out)
}

fn prefix(bytes: &[u8]) -> Result<(i16, &[u8]), DecodeError> {
    let mut r = Reader::new(bytes);
    let p = r.i16()?;
    Ok((p, r.rest()))
}

fn shift(e: DecodeError) -> DecodeError {
    e.shifted(2)
}

impl RecordKey {
    /// The stored form: the record type (int16) followed by the key (Kafka's
    /// `MessageUtil.toCoordinatorTypePrefixedBytes`).
    pub fn to_bytes(&self) -> Result<Vec<u8>, EncodeError> {
        let t = self.record_type();
        match self {
            RecordKey::GroupMetadata(k) => prefixed(t, k),
            RecordKey::MemberMetadata(k) => prefixed(t, k),
            RecordKey::TargetAssignmentMetadata(k) => prefixed(t, k),
            RecordKey::TargetAssignmentMember(k) => prefixed(t, k),
            RecordKey::CurrentMemberAssignment(k) => prefixed(t, k),
            RecordKey::Topology(k) => prefixed(t, k),
        }
    }

    /// Decodes a key body (without the type prefix) of record type `record_type`. A type
    /// that is not a streams-group record gives [`DecodeErrorKind::UnknownRecordType`]
    /// (Kafka's loader skips such records); bytes after the key are ignored, as in Kafka.
    pub(crate) fn decode_body(record_type: i16, bytes: &[u8]) -> Result<Self, DecodeError> {
        Ok(match record_type {
            record_type::GROUP_METADATA => RecordKey::GroupMetadata(body(bytes, 0)?),
            record_type::MEMBER_METADATA => RecordKey::MemberMetadata(body(bytes, 0)?),
            record_type::TARGET_ASSIGNMENT_METADATA => {
                RecordKey::TargetAssignmentMetadata(body(bytes, 0)?)
            }
            record_type::TARGET_ASSIGNMENT_MEMBER => {
                RecordKey::TargetAssignmentMember(body(bytes, 0)?)
            }
            record_type::CURRENT_MEMBER_ASSIGNMENT => {
                RecordKey::CurrentMemberAssignment(body(bytes, 0)?)
            }
            record_type::TOPOLOGY => RecordKey::Topology(body(bytes, 0)?),
            other => return Err(unknown_record_type(other, 0)),
        })
    }

    /// Decodes the stored form (type prefix + key).
    pub fn decode(bytes: &[u8]) -> Result<Self, DecodeError> {
        let (t, body) = prefix(bytes).map_err(|e| e.at("recordType"))?;
        RecordKey::decode_body(t, body).map_err(shift)
    }
}

impl RecordValue {
    /// The stored form: the value version (int16, always 0) followed by the value (Kafka's
    /// `MessageUtil.toVersionPrefixedBytes`).
    pub fn to_bytes(&self) -> Result<Vec<u8>, EncodeError> {
        match self {
            RecordValue::GroupMetadata(v) => prefixed(RECORD_VERSION, v),
            RecordValue::MemberMetadata(v) => prefixed(RECORD_VERSION, v),
            RecordValue::TargetAssignmentMetadata(v) => prefixed(RECORD_VERSION, v),
            RecordValue::TargetAssignmentMember(v) => prefixed(RECORD_VERSION, v),
            RecordValue::CurrentMemberAssignment(v) => prefixed(RECORD_VERSION, v),
            RecordValue::Topology(v) => prefixed(RECORD_VERSION, v),
        }
    }

    /// Decodes a value body (without the version prefix) of record type `record_type` at
    /// value version `version` (only 0 exists; another version is an error, fatal for
    /// Kafka's loader). Bytes after the value are ignored, as in Kafka.
    pub(crate) fn decode_body(
        record_type: i16,
        bytes: &[u8],
        version: i16,
    ) -> Result<Self, DecodeError> {
        Ok(match record_type {
            record_type::GROUP_METADATA => RecordValue::GroupMetadata(body(bytes, version)?),
            record_type::MEMBER_METADATA => RecordValue::MemberMetadata(body(bytes, version)?),
            record_type::TARGET_ASSIGNMENT_METADATA => {
                RecordValue::TargetAssignmentMetadata(body(bytes, version)?)
            }
            record_type::TARGET_ASSIGNMENT_MEMBER => {
                RecordValue::TargetAssignmentMember(body(bytes, version)?)
            }
            record_type::CURRENT_MEMBER_ASSIGNMENT => {
                RecordValue::CurrentMemberAssignment(body(bytes, version)?)
            }
            record_type::TOPOLOGY => RecordValue::Topology(body(bytes, version)?),
            other => return Err(unknown_record_type(other, 0)),
        })
    }

    /// Decodes the stored form (version prefix + value) of record type `record_type`.
    pub fn decode(record_type: i16, bytes: &[u8]) -> Result<Self, DecodeError> {
        let (version, body) = prefix(bytes).map_err(|e| e.at("valueVersion"))?;
        RecordValue::decode_body(record_type, body, version).map_err(shift)
    }
}

impl CoordinatorRecord {
    /// The stored key bytes (type prefix + key).
    pub fn key_bytes(&self) -> Result<Vec<u8>, EncodeError> {
        self.key.to_bytes()
    }

    /// The stored value bytes (version prefix + value), `None` for a tombstone.
    pub fn value_bytes(&self) -> Result<Option<Vec<u8>>, EncodeError> {
        self.value.as_ref().map(RecordValue::to_bytes).transpose()
    }

    /// Decodes a stored record: key bytes and value bytes (`None` for a tombstone).
    pub fn decode(key: &[u8], value: Option<&[u8]>) -> Result<Self, DecodeError> {
        let key = RecordKey::decode(key)?;
        let value = match value {
            Some(bytes) => Some(RecordValue::decode(key.record_type(), bytes)?),
            None => None,
        };
        Ok(CoordinatorRecord { key, value })
    }
}
