//! StreamsGroupDescribe (API key 89): the request, the response and their nested structs
//! (spec 01 §7–§8).
//!
//! The common structs whose fields are identical to the heartbeat's (`TaskIds`, `KeyValue`,
//! `TopicInfo`, `Endpoint`, `TaskOffset`) are re-exported from [`crate::protocol::heartbeat`].
//! `Topology` and `Subtopology` here are the describe variants (different fields and order).

use serde::{Deserialize, Serialize};

pub use super::heartbeat::{Endpoint, KeyValue, TaskIds, TaskOffset, TopicInfo};

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
