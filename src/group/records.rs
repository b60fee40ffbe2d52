//! Records of spec 06 §2: building them from state, and applying them to state
//! (replay, spec 06 §4). Every state change of the coordinator goes through
//! [`apply`], so replaying the records rebuilds the same state by construction.

use std::sync::Arc;

use thiserror::Error;

use crate::protocol::heartbeat::Endpoint;
use crate::protocol::records::*;
use crate::topology::StreamsTopology;

use super::convert;
use super::member::{Member, MemberState, UserEndpoint};
use super::state::StreamsGroup;
use super::stored_configs::StoredAssignmentConfigs;
use super::tasks::{Tasks, TasksWithEpochs};

/// A record could not be applied: the log is corrupt (spec 06 §4).
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ReplayError {
    /// A group-metadata tombstone while the group still has members or an assignment epoch.
    #[error("group {group_id}: group tombstone while the group still has members or a target assignment")]
    GroupNotEmpty {
        /// Group id.
        group_id: String,
    },
    /// A member tombstone while the member still has an epoch or a target.
    #[error("group {group_id}: member {member_id} tombstoned before its assignment records")]
    MemberNotCleared {
        /// Group id.
        group_id: String,
        /// Member id.
        member_id: String,
    },
    /// A target-assignment metadata tombstone while member targets remain.
    #[error("group {group_id}: target assignment metadata tombstoned while member targets remain")]
    TargetsRemain {
        /// Group id.
        group_id: String,
    },
    /// A record whose value is of another type than its key.
    #[error("group {group_id}: record value of type {value_type} under a key of type {key_type}")]
    KeyValueMismatch {
        /// Group id.
        group_id: String,
        /// Record type of the key.
        key_type: i16,
        /// Record type of the value.
        value_type: i16,
    },
    /// A topology record whose topology is structurally invalid.
    #[error("group {group_id}: invalid topology record: {reason}")]
    InvalidTopology {
        /// Group id.
        group_id: String,
        /// Why it is invalid (the topology model's own error, not its text).
        #[source]
        reason: crate::topology::TopologyError,
    },
    /// A streams record for an id held by a group of another type.
    #[error("group {group_id}: streams record for a group of another type")]
    GroupTypeConflict {
        /// Group id.
        group_id: String,
    },
}

fn gm_key(g: &str) -> RecordKey {
    RecordKey::GroupMetadata(StreamsGroupMetadataKey {
        group_id: g.to_string(),
    })
}
fn topo_key(g: &str) -> RecordKey {
    RecordKey::Topology(StreamsGroupTopologyKey {
        group_id: g.to_string(),
    })
}
fn mm_key(g: &str, m: &str) -> RecordKey {
    RecordKey::MemberMetadata(StreamsGroupMemberMetadataKey {
        group_id: g.to_string(),
        member_id: m.to_string(),
    })
}
fn tam_key(g: &str) -> RecordKey {
    RecordKey::TargetAssignmentMetadata(StreamsGroupTargetAssignmentMetadataKey {
        group_id: g.to_string(),
    })
}
fn ta_key(g: &str, m: &str) -> RecordKey {
    RecordKey::TargetAssignmentMember(StreamsGroupTargetAssignmentMemberKey {
        group_id: g.to_string(),
        member_id: m.to_string(),
    })
}
fn ca_key(g: &str, m: &str) -> RecordKey {
    RecordKey::CurrentMemberAssignment(StreamsGroupCurrentMemberAssignmentKey {
        group_id: g.to_string(),
        member_id: m.to_string(),
    })
}

/// `StreamsGroupMetadata` record.
pub(super) fn group_metadata(
    group_id: &str,
    epoch: i32,
    metadata_hash: i64,
    validated_topology_epoch: i32,
    assignment_configs: &StoredAssignmentConfigs,
    stored_description_epoch: i32,
    failed_description_epoch: i32,
) -> CoordinatorRecord {
    CoordinatorRecord::record(
        gm_key(group_id),
        RecordValue::GroupMetadata(StreamsGroupMetadataValue {
            epoch,
            metadata_hash,
            validated_topology_epoch,
            last_assignment_configs: Some(assignment_configs.to_record()),
            stored_description_topology_epoch: stored_description_epoch,
            failed_description_topology_epoch: failed_description_epoch,
        }),
    )
}

/// `StreamsGroupTopology` record.
pub(super) fn topology(group_id: &str, value: StreamsGroupTopologyValue) -> CoordinatorRecord {
    CoordinatorRecord::record(topo_key(group_id), RecordValue::Topology(value))
}

/// `StreamsGroupMemberMetadata` record.
pub(super) fn member_metadata(group_id: &str, m: &Member) -> CoordinatorRecord {
    CoordinatorRecord::record(
        mm_key(group_id, &m.member_id),
        RecordValue::MemberMetadata(StreamsGroupMemberMetadataValue {
            instance_id: m.instance_id.clone(),
            rack_id: m.rack_id.clone(),
            client_id: m.client_id.clone(),
            client_host: m.client_host.clone(),
            rebalance_timeout_ms: m.rebalance_timeout_ms,
            topology_epoch: m.topology_epoch,
            process_id: m.process_id.to_string(),
            user_endpoint: m.user_endpoint.as_ref().map(|e| Endpoint {
                host: e.host.clone(),
                port: e.port,
            }),
            client_tags: convert::key_values(&m.client_tags),
        }),
    )
}

/// `StreamsGroupTargetAssignmentMember` record.
pub(super) fn target_member(group_id: &str, member_id: &str, t: &Tasks) -> CoordinatorRecord {
    CoordinatorRecord::record(
        ta_key(group_id, member_id),
        RecordValue::TargetAssignmentMember(StreamsGroupTargetAssignmentMemberValue {
            active_tasks: convert::task_ids(&t.active),
            standby_tasks: convert::task_ids(&t.standby),
            warmup_tasks: convert::task_ids(&t.warmup),
        }),
    )
}

/// `StreamsGroupTargetAssignmentMetadata` record.
pub(super) fn target_metadata(group_id: &str, epoch: i32, timestamp: i64) -> CoordinatorRecord {
    CoordinatorRecord::record(
        tam_key(group_id),
        RecordValue::TargetAssignmentMetadata(StreamsGroupTargetAssignmentMetadataValue {
            assignment_epoch: epoch,
            assignment_timestamp: timestamp,
        }),
    )
}

/// `StreamsGroupCurrentMemberAssignment` record.
pub(super) fn current_assignment(group_id: &str, m: &Member) -> CoordinatorRecord {
    CoordinatorRecord::record(
        ca_key(group_id, &m.member_id),
        RecordValue::CurrentMemberAssignment(StreamsGroupCurrentMemberAssignmentValue {
            member_epoch: m.member_epoch,
            previous_member_epoch: m.previous_member_epoch,
            state: m.state.value(),
            active_tasks: convert::record_active(&m.assigned.active),
            standby_tasks: convert::record_set(&m.assigned.standby),
            warmup_tasks: convert::record_set(&m.assigned.warmup),
            active_tasks_pending_revocation: convert::record_active(&m.pending_revocation.active),
            standby_tasks_pending_revocation: convert::record_set(&m.pending_revocation.standby),
            warmup_tasks_pending_revocation: convert::record_set(&m.pending_revocation.warmup),
        }),
    )
}

/// The three tombstones that remove a member, in the required order.
pub(super) fn member_tombstones(group_id: &str, member_id: &str, out: &mut Vec<CoordinatorRecord>) {
    out.push(CoordinatorRecord::tombstone(ca_key(group_id, member_id)));
    out.push(CoordinatorRecord::tombstone(ta_key(group_id, member_id)));
    out.push(CoordinatorRecord::tombstone(mm_key(group_id, member_id)));
}

/// The tombstones that delete a group (spec 06 §3.5), in order.
pub(super) fn group_tombstones(g: &StreamsGroup, out: &mut Vec<CoordinatorRecord>) {
    let id = &g.group_id;
    for m in g.members.keys() {
        out.push(CoordinatorRecord::tombstone(ca_key(id, m)));
    }
    for m in g.members.keys() {
        out.push(CoordinatorRecord::tombstone(ta_key(id, m)));
    }
    out.push(CoordinatorRecord::tombstone(tam_key(id)));
    for m in g.members.keys() {
        out.push(CoordinatorRecord::tombstone(mm_key(id, m)));
    }
    out.push(CoordinatorRecord::tombstone(gm_key(id)));
    out.push(CoordinatorRecord::tombstone(topo_key(id)));
}

/// What a group map must provide for replay: creation on demand, and a
/// check for groups of other types holding the id.
pub(super) trait GroupStore {
    /// The group, if present.
    fn group_mut(&mut self, group_id: &str) -> Option<&mut StreamsGroup>;
    /// The group, created (empty, defaults) if absent. Fails when a group of
    /// another type holds the id.
    fn group_or_create(&mut self, group_id: &str) -> Result<&mut StreamsGroup, ReplayError>;
    /// Removes the group.
    fn remove_group(&mut self, group_id: &str);
}

/// Copies the fields of a member-metadata record value into `m`.
fn set_member_metadata(m: &mut Member, v: &StreamsGroupMemberMetadataValue) {
    m.instance_id.clone_from(&v.instance_id);
    m.rack_id.clone_from(&v.rack_id);
    m.client_id.clone_from(&v.client_id);
    m.client_host.clone_from(&v.client_host);
    m.rebalance_timeout_ms = v.rebalance_timeout_ms;
    m.topology_epoch = v.topology_epoch;
    if *m.process_id != *v.process_id {
        m.process_id = Arc::from(v.process_id.as_str());
    }
    m.user_endpoint = v.user_endpoint.as_ref().map(|e| UserEndpoint {
        host: e.host.clone(),
        port: e.port,
    });
    m.client_tags = convert::map_from(&v.client_tags);
}

/// Applies one record (spec 06 §4).
pub(super) fn apply(
    store: &mut impl GroupStore,
    record: &CoordinatorRecord,
) -> Result<(), ReplayError> {
    let gid = record.key.group_id();
    match (&record.key, &record.value) {
        (RecordKey::GroupMetadata(_), Some(RecordValue::GroupMetadata(v))) => {
            let g = store.group_or_create(gid)?;
            g.group_epoch = v.epoch;
            g.metadata_hash = v.metadata_hash;
            g.validated_topology_epoch = v.validated_topology_epoch;
            g.stored_description_epoch = v.stored_description_topology_epoch;
            g.failed_description_epoch = v.failed_description_topology_epoch;
            // Every epoch bump repeats the configs: parse them only when
            // they changed.
            let configs = v.last_assignment_configs.as_deref().unwrap_or_default();
            if !g.last_assignment_configs.is_recorded_as(configs) {
                g.last_assignment_configs = StoredAssignmentConfigs::from_record(configs);
            }
        }
        (RecordKey::GroupMetadata(_), None) => {
            if let Some(g) = store.group_mut(gid) {
                if !g.members.is_empty() || g.assignment_epoch != -1 {
                    return Err(ReplayError::GroupNotEmpty {
                        group_id: gid.to_string(),
                    });
                }
                store.remove_group(gid);
            }
        }
        (RecordKey::Topology(_), Some(RecordValue::Topology(v))) => {
            let model = StreamsTopology::from_record(v.clone()).map_err(|e| {
                ReplayError::InvalidTopology {
                    group_id: gid.to_string(),
                    reason: e,
                }
            })?;
            let g = store.group_or_create(gid)?;
            g.topology = Some(Arc::new(model));
            g.transient.configured = None;
        }
        (RecordKey::Topology(_), None) => {
            if let Some(g) = store.group_mut(gid) {
                g.topology = None;
                g.transient.configured = None;
            }
        }
        (RecordKey::MemberMetadata(k), Some(RecordValue::MemberMetadata(v))) => {
            let g = store.group_or_create(gid)?;
            match g.members.get_mut(&k.member_id) {
                // Same process and instance: neither the ownership index nor
                // the static-member index changes, so the member is updated
                // in place (no copy of its task maps, no index churn).
                Some(m) if *m.process_id == *v.process_id && m.instance_id == v.instance_id => {
                    set_member_metadata(Arc::make_mut(m), v);
                }
                existing => {
                    let mut m = existing
                        .map(|m| Member::clone(m))
                        .unwrap_or_else(|| Member::new(&k.member_id));
                    set_member_metadata(&mut m, v);
                    g.put_member(m);
                }
            }
        }
        (RecordKey::MemberMetadata(k), None) => {
            if let Some(g) = store.group_mut(gid) {
                if let Some(m) = g.members.get(&k.member_id) {
                    if m.member_epoch != -1 || g.targets.contains_key(&k.member_id) {
                        return Err(ReplayError::MemberNotCleared {
                            group_id: gid.to_string(),
                            member_id: k.member_id.clone(),
                        });
                    }
                    g.drop_member(&k.member_id);
                }
            }
        }
        (
            RecordKey::TargetAssignmentMetadata(_),
            Some(RecordValue::TargetAssignmentMetadata(v)),
        ) => {
            let g = store.group_or_create(gid)?;
            g.assignment_epoch = v.assignment_epoch;
            g.assignment_timestamp = v.assignment_timestamp;
        }
        (RecordKey::TargetAssignmentMetadata(_), None) => {
            if let Some(g) = store.group_mut(gid) {
                if !g.targets.is_empty() {
                    return Err(ReplayError::TargetsRemain {
                        group_id: gid.to_string(),
                    });
                }
                g.assignment_epoch = -1;
                g.assignment_timestamp = 0;
            }
        }
        (RecordKey::TargetAssignmentMember(k), Some(RecordValue::TargetAssignmentMember(v))) => {
            let g = store.group_or_create(gid)?;
            let ids = &mut g.sub_ids;
            let t = Tasks {
                active: convert::task_set_from(&v.active_tasks, ids),
                standby: convert::task_set_from(&v.standby_tasks, ids),
                warmup: convert::task_set_from(&v.warmup_tasks, ids),
            };
            // The warm-up refinement (in memory) already holds the new target
            // as the member's slice when the heartbeat that computed it
            // derived it: the target shares that value instead of a copy.
            let t = match g
                .transient
                .refined
                .as_deref()
                .and_then(|r| r.assignment.get(&k.member_id))
            {
                Some(slice) if **slice == t => slice.clone(),
                _ => Arc::new(t),
            };
            g.targets.insert(k.member_id.clone(), t);
        }
        (RecordKey::TargetAssignmentMember(k), None) => {
            if let Some(g) = store.group_mut(gid) {
                g.targets.remove(&k.member_id);
            }
        }
        (RecordKey::CurrentMemberAssignment(k), Some(RecordValue::CurrentMemberAssignment(v))) => {
            let g = store.group_or_create(gid)?;
            let ids = &mut g.sub_ids;
            let assigned = TasksWithEpochs {
                active: convert::active_from_record(&v.active_tasks, v.member_epoch, ids),
                standby: convert::set_from_record(&v.standby_tasks, ids),
                warmup: convert::set_from_record(&v.warmup_tasks, ids),
            };
            let pending = TasksWithEpochs {
                active: convert::active_from_record(
                    &v.active_tasks_pending_revocation,
                    v.member_epoch,
                    ids,
                ),
                standby: convert::set_from_record(&v.standby_tasks_pending_revocation, ids),
                warmup: convert::set_from_record(&v.warmup_tasks_pending_revocation, ids),
            };
            if !g.members.contains_key(&k.member_id) {
                g.put_member(Member::new(&k.member_id));
            }
            g.set_assignment(
                &k.member_id,
                v.member_epoch,
                v.previous_member_epoch,
                MemberState::from_value(v.state),
                assigned,
                pending,
            );
        }
        (RecordKey::CurrentMemberAssignment(k), None) => {
            if let Some(g) = store.group_mut(gid) {
                if let Some(old) = g.members.get(&k.member_id) {
                    let state = old.state;
                    g.set_assignment(
                        &k.member_id,
                        -1,
                        -1,
                        state,
                        Default::default(),
                        Default::default(),
                    );
                }
            }
        }
        (key, Some(value)) => {
            return Err(ReplayError::KeyValueMismatch {
                group_id: gid.to_string(),
                key_type: key.record_type(),
                value_type: value.record_type(),
            })
        }
    }
    Ok(())
}
