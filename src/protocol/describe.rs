//! StreamsGroupDescribe (API key 89): the request, the response and their nested structs
//! (spec 01 §7–§8).
//!
//! The common structs whose fields are identical to the heartbeat's (`TaskIds`, `KeyValue`,
//! `TopicInfo`, `Endpoint`, `TaskOffset`) are re-exported from [`crate::protocol::heartbeat`].
//! `Topology` and `Subtopology` here are the describe variants (different fields and order).

use serde::{Deserialize, Serialize};

use super::heartbeat::{Endpoint, KeyValue, TaskIds, TaskOffset, TopicInfo};

/// StreamsGroupDescribe request, versions 0–1.
#[derive(Clone, Debug, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default, deny_unknown_fields)]
pub struct StreamsGroupDescribeRequest {
    /// The ids of the groups to describe.
    pub group_ids: Vec<String>,
    /// Whether to include authorized operations.
    pub include_authorized_operations: bool,
    /// v1+: whether to include the topology description.
    pub include_topology_description: bool,
}

/// StreamsGroupDescribe response, versions 0–1.
#[derive(Clone, Debug, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default, deny_unknown_fields)]
pub struct StreamsGroupDescribeResponse {
    /// Throttle time in ms.
    pub throttle_time_ms: i32,
    /// One entry per described group.
    pub groups: Vec<DescribedGroup>,
}

impl StreamsGroupDescribeResponse {
    /// Cuts every group's error message to the wire's string limit
    /// (32,767 bytes, cut at a character boundary), so that a message quoting a long group
    /// id still encodes. The coordinator and the service call it on every response.
    pub fn truncate_texts(&mut self) {
        for g in &mut self.groups {
            if let Some(m) = &mut g.error_message {
                super::wire::truncate_text(m);
            }
        }
    }
}

/// `DescribedGroup.AuthorizedOperations` default: INT32_MIN, "not requested".
pub const AUTHORIZED_OPERATIONS_NOT_REQUESTED: i32 = i32::MIN;

/// One described group.
///
/// `topology_description`, `topology_description_status` and `assignor_name` (ignorable)
/// exist only in v1+.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default, deny_unknown_fields)]
pub struct DescribedGroup {
    /// The describe error code, 0 if none.
    pub error_code: i16,
    /// The error message, or null.
    pub error_message: Option<String>,
    /// The group id.
    pub group_id: String,
    /// The group state ("Empty", "NotReady", "Assigning", "Reconciling", "Stable", "Dead", or "").
    pub group_state: String,
    /// The group epoch.
    pub group_epoch: i32,
    /// The assignment epoch.
    pub assignment_epoch: i32,
    /// The topology as configured, or null.
    pub topology: Option<Topology>,
    /// The members.
    pub members: Vec<Member>,
    /// Authorized-operations bit field; default [`AUTHORIZED_OPERATIONS_NOT_REQUESTED`].
    pub authorized_operations: i32,
    /// v1+: the topology description; non-null iff the status is 3 (AVAILABLE).
    pub topology_description: Option<TopologyDescription>,
    /// v1+: 0 NOT_REQUESTED, 1 NOT_STORED, 2 ERROR, 3 AVAILABLE.
    pub topology_description_status: i8,
    /// v1+ (ignorable): the assignor the next assignment will use; null on error.
    pub assignor_name: Option<String>,
}

impl Default for DescribedGroup {
    fn default() -> Self {
        DescribedGroup {
            error_code: 0,
            error_message: None,
            group_id: String::new(),
            group_state: String::new(),
            group_epoch: 0,
            assignment_epoch: 0,
            topology: None,
            members: Vec::new(),
            authorized_operations: AUTHORIZED_OPERATIONS_NOT_REQUESTED,
            topology_description: None,
            topology_description_status: 0,
            assignor_name: None,
        }
    }
}

/// `DescribedGroup.TopologyDescriptionStatus` values.
pub mod topology_description_status {
    /// The client did not ask for the description.
    pub const NOT_REQUESTED: i8 = 0;
    /// No description is recorded for this group.
    pub const NOT_STORED: i8 = 1;
    /// The broker failed to fetch the description.
    pub const ERROR: i8 = 2;
    /// The description is present.
    pub const AVAILABLE: i8 = 3;
}

/// The configured topology of a described group.
#[derive(Clone, Debug, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default, deny_unknown_fields)]
pub struct Topology {
    /// The topology epoch.
    pub epoch: i32,
    /// The configured subtopologies; null if uninitialised or not configurable.
    pub subtopologies: Option<Vec<Subtopology>>,
}

/// A configured subtopology (describe variant: sink topics precede changelog topics).
#[derive(Clone, Debug, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default, deny_unknown_fields)]
pub struct Subtopology {
    /// The subtopology id.
    pub subtopology_id: String,
    /// The source topics.
    pub source_topics: Vec<String>,
    /// The repartition sink topics.
    pub repartition_sink_topics: Vec<String>,
    /// The state changelog topics.
    pub state_changelog_topics: Vec<TopicInfo>,
    /// The repartition source topics.
    pub repartition_source_topics: Vec<TopicInfo>,
}

/// One member of a described group.
#[derive(Clone, Debug, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default, deny_unknown_fields)]
pub struct Member {
    /// The member id.
    pub member_id: String,
    /// The member epoch.
    pub member_epoch: i32,
    /// The static instance id, or null.
    pub instance_id: Option<String>,
    /// The rack id, or null.
    pub rack_id: Option<String>,
    /// The client id.
    pub client_id: String,
    /// The client host.
    pub client_host: String,
    /// The member's topology epoch.
    pub topology_epoch: i32,
    /// The process id.
    pub process_id: String,
    /// The IQ endpoint, or null.
    pub user_endpoint: Option<Endpoint>,
    /// Client tags.
    pub client_tags: Vec<KeyValue>,
    /// Changelog offsets per task.
    pub task_offsets: Vec<TaskOffset>,
    /// Changelog end offsets per task.
    pub task_end_offsets: Vec<TaskOffset>,
    /// The current assignment.
    pub assignment: Assignment,
    /// The target assignment.
    pub target_assignment: Assignment,
    /// True for classic members not yet upgraded.
    pub is_classic: bool,
}

/// A member's tasks.
#[derive(Clone, Debug, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default, deny_unknown_fields)]
pub struct Assignment {
    /// Active tasks.
    pub active_tasks: Vec<TaskIds>,
    /// Standby tasks.
    pub standby_tasks: Vec<TaskIds>,
    /// Warm-up tasks.
    pub warmup_tasks: Vec<TaskIds>,
}

/// v1+: the full topology description of a group.
#[derive(Clone, Debug, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default, deny_unknown_fields)]
pub struct TopologyDescription {
    /// The subtopologies.
    pub subtopologies: Vec<TopologyDescriptionSubtopology>,
    /// The global stores.
    pub global_stores: Vec<TopologyDescriptionGlobalStore>,
}

/// v1+: one subtopology of a topology description.
#[derive(Clone, Debug, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default, deny_unknown_fields)]
pub struct TopologyDescriptionSubtopology {
    /// The subtopology id.
    pub subtopology_id: String,
    /// Its processing nodes.
    pub nodes: Vec<TopologyDescriptionNode>,
}

/// v1+: one node of a topology description.
#[derive(Clone, Debug, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default, deny_unknown_fields)]
pub struct TopologyDescriptionNode {
    /// The node name.
    pub name: String,
    /// 1 SOURCE, 2 PROCESSOR, 3 SINK.
    pub node_type: i8,
    /// Source topics (source nodes).
    pub source_topics: Vec<String>,
    /// Sink topic (sink nodes), or null.
    pub sink_topic: Option<String>,
    /// State stores (processor nodes).
    pub stores: Vec<String>,
    /// Successor node names.
    pub successors: Vec<String>,
}

/// v1+: a global store of a topology description.
#[derive(Clone, Debug, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default, deny_unknown_fields)]
pub struct TopologyDescriptionGlobalStore {
    /// The source node.
    pub source: TopologyDescriptionNode,
    /// The processor node.
    pub processor: TopologyDescriptionNode,
}

// ---------------------------------------------------------------------------------------
// Codec (spec 01 §7–§8)
// ---------------------------------------------------------------------------------------

use bytes::BufMut;

use super::message::{Message, VersionedField};
use super::wire::{wire_struct, DecodeError, EncodeError, Reader, Wire};

impl Wire for StreamsGroupDescribeRequest {
    const MIN_SIZE: usize = 3;

    fn read(r: &mut Reader<'_>, v: i16) -> Result<Self, DecodeError> {
        let value = StreamsGroupDescribeRequest {
            group_ids: Wire::read(r, v).map_err(|e| e.at("groupIds"))?,
            include_authorized_operations: Wire::read(r, v)
                .map_err(|e| e.at("includeAuthorizedOperations"))?,
            include_topology_description: if v >= 1 {
                Wire::read(r, v).map_err(|e| e.at("includeTopologyDescription"))?
            } else {
                false
            },
        };
        r.skip_tagged_fields()?;
        Ok(value)
    }

    fn size(&self, v: i16) -> Result<usize, EncodeError> {
        let mut n = self.group_ids.size(v).map_err(|e| e.at("groupIds"))? + 1 + 1;
        if v >= 1 {
            n += 1;
        } else if self.include_topology_description {
            return Err(EncodeError::NonDefaultField {
                field: "includeTopologyDescription".to_string(),
                version: v,
            });
        }
        Ok(n)
    }

    fn write<B: BufMut>(&self, v: i16, buf: &mut B) {
        self.group_ids.write(v, buf);
        self.include_authorized_operations.write(v, buf);
        if v >= 1 {
            self.include_topology_description.write(v, buf);
        }
        buf.put_u8(0);
    }
}

impl Message for StreamsGroupDescribeRequest {
    const NAME: &'static str = "StreamsGroupDescribeRequest";
    const API_KEY: i16 = 89;
    const LOWEST_VERSION: i16 = 0;
    const HIGHEST_VERSION: i16 = 1;
    const VERSIONED_FIELDS: &'static [VersionedField] = &[VersionedField {
        within: &[],
        field: "includeTopologyDescription",
        since: 1,
        until: None,
    }];
}

wire_struct!(StreamsGroupDescribeResponse {
    throttle_time_ms: i32 = "throttleTimeMs",
    groups: Vec<DescribedGroup> = "groups",
});

impl Message for StreamsGroupDescribeResponse {
    const NAME: &'static str = "StreamsGroupDescribeResponse";
    const API_KEY: i16 = 89;
    const LOWEST_VERSION: i16 = 0;
    const HIGHEST_VERSION: i16 = 1;
    const VERSIONED_FIELDS: &'static [VersionedField] = &[
        VersionedField {
            within: &["groups", "*"],
            field: "topologyDescription",
            since: 1,
            until: None,
        },
        VersionedField {
            within: &["groups", "*"],
            field: "topologyDescriptionStatus",
            since: 1,
            until: None,
        },
        VersionedField {
            within: &["groups", "*"],
            field: "assignorName",
            since: 1,
            until: None,
        },
    ];
}

impl Wire for DescribedGroup {
    // errorCode 2, errorMessage 1, groupId 1, groupState 1, epochs 8, topology 1,
    // members 1, authorizedOperations 4, tagged fields 1
    const MIN_SIZE: usize = 20;

    fn read(r: &mut Reader<'_>, v: i16) -> Result<Self, DecodeError> {
        let value = DescribedGroup {
            error_code: Wire::read(r, v).map_err(|e| e.at("errorCode"))?,
            error_message: Wire::read(r, v).map_err(|e| e.at("errorMessage"))?,
            group_id: Wire::read(r, v).map_err(|e| e.at("groupId"))?,
            group_state: Wire::read(r, v).map_err(|e| e.at("groupState"))?,
            group_epoch: Wire::read(r, v).map_err(|e| e.at("groupEpoch"))?,
            assignment_epoch: Wire::read(r, v).map_err(|e| e.at("assignmentEpoch"))?,
            topology: Wire::read(r, v).map_err(|e| e.at("topology"))?,
            members: Wire::read(r, v).map_err(|e| e.at("members"))?,
            authorized_operations: Wire::read(r, v).map_err(|e| e.at("authorizedOperations"))?,
            topology_description: if v >= 1 {
                Wire::read(r, v).map_err(|e| e.at("topologyDescription"))?
            } else {
                None
            },
            topology_description_status: if v >= 1 {
                Wire::read(r, v).map_err(|e| e.at("topologyDescriptionStatus"))?
            } else {
                0
            },
            assignor_name: if v >= 1 {
                Wire::read(r, v).map_err(|e| e.at("assignorName"))?
            } else {
                None
            },
        };
        r.skip_tagged_fields()?;
        Ok(value)
    }

    fn size(&self, v: i16) -> Result<usize, EncodeError> {
        let non_default = |field: &str| EncodeError::NonDefaultField {
            field: field.to_string(),
            version: v,
        };
        let mut n = 2 + 4 + 4 + 4 + 1;
        n += self
            .error_message
            .size(v)
            .map_err(|e| e.at("errorMessage"))?;
        n += self.group_id.size(v).map_err(|e| e.at("groupId"))?;
        n += self.group_state.size(v).map_err(|e| e.at("groupState"))?;
        n += self.topology.size(v).map_err(|e| e.at("topology"))?;
        n += self.members.size(v).map_err(|e| e.at("members"))?;
        if v >= 1 {
            n += self
                .topology_description
                .size(v)
                .map_err(|e| e.at("topologyDescription"))?;
            n += 1;
            n += self
                .assignor_name
                .size(v)
                .map_err(|e| e.at("assignorName"))?;
        } else {
            if self.topology_description.is_some() {
                return Err(non_default("topologyDescription"));
            }
            if self.topology_description_status != 0 {
                return Err(non_default("topologyDescriptionStatus"));
            }
            // assignorName is ignorable: silently dropped.
        }
        Ok(n)
    }

    fn write<B: BufMut>(&self, v: i16, buf: &mut B) {
        buf.put_i16(self.error_code);
        self.error_message.write(v, buf);
        self.group_id.write(v, buf);
        self.group_state.write(v, buf);
        buf.put_i32(self.group_epoch);
        buf.put_i32(self.assignment_epoch);
        self.topology.write(v, buf);
        self.members.write(v, buf);
        buf.put_i32(self.authorized_operations);
        if v >= 1 {
            self.topology_description.write(v, buf);
            buf.put_i8(self.topology_description_status);
            self.assignor_name.write(v, buf);
        }
        buf.put_u8(0);
    }
}

wire_struct!(Topology {
    epoch: i32 = "epoch",
    subtopologies: Option<Vec<Subtopology>> = "subtopologies",
});

wire_struct!(Subtopology {
    subtopology_id: String = "subtopologyId",
    source_topics: Vec<String> = "sourceTopics",
    repartition_sink_topics: Vec<String> = "repartitionSinkTopics",
    state_changelog_topics: Vec<TopicInfo> = "stateChangelogTopics",
    repartition_source_topics: Vec<TopicInfo> = "repartitionSourceTopics",
});

wire_struct!(Member {
    member_id: String = "memberId",
    member_epoch: i32 = "memberEpoch",
    instance_id: Option<String> = "instanceId",
    rack_id: Option<String> = "rackId",
    client_id: String = "clientId",
    client_host: String = "clientHost",
    topology_epoch: i32 = "topologyEpoch",
    process_id: String = "processId",
    user_endpoint: Option<Endpoint> = "userEndpoint",
    client_tags: Vec<KeyValue> = "clientTags",
    task_offsets: Vec<TaskOffset> = "taskOffsets",
    task_end_offsets: Vec<TaskOffset> = "taskEndOffsets",
    assignment: Assignment = "assignment",
    target_assignment: Assignment = "targetAssignment",
    is_classic: bool = "isClassic",
});

wire_struct!(Assignment {
    active_tasks: Vec<TaskIds> = "activeTasks",
    standby_tasks: Vec<TaskIds> = "standbyTasks",
    warmup_tasks: Vec<TaskIds> = "warmupTasks",
});

wire_struct!(TopologyDescription {
    subtopologies: Vec<TopologyDescriptionSubtopology> = "subtopologies",
    global_stores: Vec<TopologyDescriptionGlobalStore> = "globalStores",
});

wire_struct!(TopologyDescriptionSubtopology {
    subtopology_id: String = "subtopologyId",
    nodes: Vec<TopologyDescriptionNode> = "nodes",
});

wire_struct!(TopologyDescriptionNode {
    name: String = "name",
    node_type: i8 = "nodeType",
    source_topics: Vec<String> = "sourceTopics",
    sink_topic: Option<String> = "sinkTopic",
    stores: Vec<String> = "stores",
    successors: Vec<String> = "successors",
});

wire_struct!(TopologyDescriptionGlobalStore {
    source: TopologyDescriptionNode = "source",
    processor: TopologyDescriptionNode = "processor",
});
