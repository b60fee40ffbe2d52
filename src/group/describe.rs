//! StreamsGroupDescribe, list, delete and offset validation (spec 07).

use crate::protocol::describe::{
    Assignment, DescribedGroup, Member as DescribedMember, Topology as DescribedTopology,
};
use crate::protocol::heartbeat::{Endpoint, TaskOffset};
use crate::protocol::{ErrorCode, StreamsGroupDescribeRequest, StreamsGroupDescribeResponse};
use crate::topology::{ConfiguredTopology, StreamsTopology};

use super::config::Effective;
use super::convert;
use super::member::Member;
use super::records;
use super::state::{Configured, GroupState, StateFilter, StreamsGroup};
use super::tasks::Tasks;
use super::timers::TimerKind;
use super::{GroupCoordinator, Output, RequestContext};

/// One streams group in a ListGroups answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ListedGroup {
    /// Group id.
    pub group_id: String,
    /// Always `"streams"`.
    pub protocol_type: &'static str,
    /// Always `"streams"`.
    pub group_type: &'static str,
    /// The state ([`GroupState::name`] is its wire name).
    pub group_state: GroupState,
}

/// Which API commits the offsets being validated.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CommitApi {
    /// OffsetCommit.
    OffsetCommit,
    /// TxnOffsetCommit.
    TxnOffsetCommit,
}

/// The request-level facts an offset-commit validation needs (spec 07 §4).
#[derive(Clone, Copy, Debug)]
pub struct OffsetCommitCheck<'a> {
    /// Which API.
    pub api: CommitApi,
    /// Its version.
    pub api_version: i16,
    /// `GroupInstanceId` of the request.
    pub instance_id: Option<&'a str>,
    /// The `(topic, partition)` pairs committed.
    pub partitions: &'a [(&'a str, i32)],
}

/// The described topology (spec 07 §1.2): the configured one when it is ready, otherwise the
/// recorded one; both views (sorting, computed counts) are the topology module's.
fn described_topology(
    recorded: &StreamsTopology,
    configured: Option<&ConfiguredTopology>,
) -> DescribedTopology {
    match configured.filter(|c| c.is_ready() && c.subtopologies.is_some()) {
        Some(c) => c.to_describe(),
        None => recorded.to_describe(),
    }
}

/// Clears from a described group what a coordinator rebuilt by replay deliberately cannot
/// reproduce, so the live and the rebuilt describe answers can be compared (spec 06 §4.1; the
/// table "State that is not persisted" of docs/behaviour.md lists the state behind it):
///
/// * every member's `TaskOffsets` and `TaskEndOffsets` (held in memory only; emptied);
/// * the partition counts of the described topology's changelog and repartition source topics
///   (the configured topology is recomputed at the group's next heartbeat; until then the
///   recorded counts are shown; set to 0).
///
/// Everything else a describe answer shows is rebuilt by replay. This is the one place that
/// knows which described fields are not persisted: the scenario runner's replay check and the
/// simulation test both use it, so a new non-persisted field is added here and in that table.
pub fn clear_not_persisted(group: &mut DescribedGroup) {
    for m in &mut group.members {
        m.task_offsets.clear();
        m.task_end_offsets.clear();
    }
    if let Some(subs) = group
        .topology
        .as_mut()
        .and_then(|t| t.subtopologies.as_mut())
    {
        for s in subs {
            for t in s
                .state_changelog_topics
                .iter_mut()
                .chain(s.repartition_source_topics.iter_mut())
            {
                t.partitions = 0;
            }
        }
    }
}

fn assignment_of(t: &Tasks) -> Assignment {
    Assignment {
        active_tasks: convert::task_ids(&t.active),
        standby_tasks: convert::task_ids(&t.standby),
        warmup_tasks: convert::task_ids(&t.warmup),
    }
}

fn offsets_list(
    map: &std::collections::BTreeMap<String, std::collections::BTreeMap<i32, i64>>,
) -> Vec<TaskOffset> {
    map.iter()
        .flat_map(|(s, parts)| {
            parts.iter().map(move |(p, o)| TaskOffset {
                subtopology_id: s.clone(),
                partition: *p,
                offset: *o,
            })
        })
        .collect()
}

fn described_member(g: &StreamsGroup, m: &Member) -> DescribedMember {
    let offsets = g.transient.task_offsets.get(&m.member_id);
    DescribedMember {
        member_id: m.member_id.clone(),
        member_epoch: m.member_epoch,
        instance_id: m.instance_id.clone(),
        rack_id: m.rack_id.clone(),
        client_id: m.client_id.clone(),
        client_host: m.client_host.clone(),
        topology_epoch: m.topology_epoch,
        process_id: m.process_id.to_string(),
        user_endpoint: m.user_endpoint.as_ref().map(|e| Endpoint {
            host: e.host.clone(),
            port: e.port,
        }),
        client_tags: convert::key_values(&m.client_tags),
        task_offsets: offsets
            .map(|o| offsets_list(&o.offsets))
            .unwrap_or_default(),
        task_end_offsets: offsets
            .map(|o| offsets_list(&o.end_offsets))
            .unwrap_or_default(),
        assignment: assignment_of(&m.assigned_tasks()),
        target_assignment: g
            .targets
            .get(&m.member_id)
            .map(|t| assignment_of(t))
            .unwrap_or_default(),
        is_classic: false,
    }
}

impl GroupCoordinator {
    /// Answers a StreamsGroupDescribe request (spec 07 §1). Authorization and
    /// the protocol-enabled check are the broker's; `AuthorizedOperations` is
    /// left at its default for the broker to fill in.
    pub fn describe(
        &self,
        ctx: &RequestContext,
        req: &StreamsGroupDescribeRequest,
    ) -> StreamsGroupDescribeResponse {
        let groups = req
            .group_ids
            .iter()
            .map(|id| self.describe_one(ctx, id))
            .collect();
        let mut response = StreamsGroupDescribeResponse {
            throttle_time_ms: 0,
            groups,
        };
        response.truncate_texts();
        response
    }

    fn describe_one(&self, ctx: &RequestContext, id: &str) -> DescribedGroup {
        if id.is_empty() {
            return DescribedGroup {
                group_id: String::new(),
                error_code: ErrorCode::INVALID_GROUP_ID.0,
                ..DescribedGroup::default()
            };
        }
        let Some(g) = self.committed_group(id) else {
            let message = if self.foreign.contains_key(id) {
                format!("Group {id} is not a streams group.")
            } else {
                format!("Group {id} not found.")
            };
            return DescribedGroup {
                group_id: id.to_string(),
                error_code: ErrorCode::GROUP_ID_NOT_FOUND.0,
                error_message: Some(message),
                ..DescribedGroup::default()
            };
        };
        let eff = Effective::resolve(&self.config, self.group_configs.get(id));
        DescribedGroup {
            group_id: id.to_string(),
            group_state: g.state().name().to_string(),
            group_epoch: g.group_epoch,
            assignment_epoch: g.assignment_epoch,
            topology: g.topology.as_ref().map(|t| {
                described_topology(
                    t,
                    g.transient.configured.as_deref().map(Configured::topology),
                )
            }),
            members: g.members.values().map(|m| described_member(g, m)).collect(),
            assignor_name: if ctx.api_version >= 1 {
                self.assignors
                    .select_for(eff.assignor_name, &self.config.assignors)
                    .ok()
                    .map(|a| a.name().to_string())
            } else {
                None
            },
            ..DescribedGroup::default()
        }
    }

    /// The streams groups whose state passes `filter`, sorted by group id.
    pub fn list_groups(&self, filter: &StateFilter) -> Vec<ListedGroup> {
        self.committed_groups()
            .into_iter()
            .filter_map(|g| {
                let state = g.state();
                if !filter.matches(state) {
                    return None;
                }
                Some(ListedGroup {
                    group_id: g.group_id.clone(),
                    protocol_type: "streams",
                    group_type: "streams",
                    group_state: state,
                })
            })
            .collect()
    }

    /// Deletes Empty streams groups (spec 07 §3): per id `GROUP_ID_NOT_FOUND`,
    /// `NON_EMPTY_GROUP`, or `NONE` with the group tombstones written and its
    /// initial-delay timer cancelled. Committed offsets are the broker's: it
    /// must tombstone them too.
    pub fn delete_groups(
        &mut self,
        group_ids: &[String],
        _now_ms: i64,
    ) -> Output<Vec<(String, ErrorCode)>> {
        let mut results = Vec::with_capacity(group_ids.len());
        let mut all = Vec::new();
        for id in group_ids {
            let code = match self.groups.get(id) {
                None => ErrorCode::GROUP_ID_NOT_FOUND,
                Some(g) if g.state() != GroupState::Empty => ErrorCode::NON_EMPTY_GROUP,
                Some(g) => {
                    let start = all.len();
                    records::group_tombstones(g, &mut all);
                    self.timers.cancel(TimerKind::InitialDelay, id, "");
                    self.timers.cancel_group(id);
                    self.apply_all(&all[start..]);
                    ErrorCode::NONE
                }
            };
            results.push((id.clone(), code));
        }
        self.output(results, all, Vec::new())
    }

    /// Validates an OffsetCommit / TxnOffsetCommit of a streams group (spec
    /// 07 §4.1–4.2). `Ok` means accepted; an error applies to the whole request.
    /// For a group id this shard does not hold as a streams group, `Ok` is
    /// returned only where Kafka accepts the commit (negative epoch: the
    /// broker creates a simple classic group).
    pub fn validate_offset_commit(
        &self,
        group_id: &str,
        member_id: &str,
        member_epoch: i32,
        check: &OffsetCommitCheck<'_>,
    ) -> Result<(), ErrorCode> {
        let txn = check.api == CommitApi::TxnOffsetCommit;
        if txn && member_epoch == -1 && member_id.is_empty() && check.instance_id.is_none() {
            return Ok(());
        }
        let Some(g) = self.groups.get(group_id) else {
            if member_epoch < 0 && !txn {
                return Ok(());
            }
            let new_enough = if txn {
                check.api_version >= 6
            } else {
                check.api_version >= 9
            };
            return Err(if new_enough {
                ErrorCode::GROUP_ID_NOT_FOUND
            } else {
                ErrorCode::ILLEGAL_GENERATION
            });
        };
        if member_epoch < 0 && g.members.is_empty() {
            return Ok(());
        }
        let Some(m) = g.members.get(member_id) else {
            return Err(ErrorCode::UNKNOWN_MEMBER_ID);
        };
        if !txn && check.api_version < 9 {
            return Err(ErrorCode::UNSUPPORTED_VERSION);
        }
        let stale = if txn && check.api_version < 6 {
            ErrorCode::ILLEGAL_GENERATION
        } else {
            ErrorCode::STALE_MEMBER_EPOCH
        };
        if member_epoch == m.member_epoch {
            return Ok(());
        }
        if member_epoch > m.member_epoch {
            return Err(stale);
        }
        let Some(topology) = &g.topology else {
            return Err(stale);
        };
        for (topic, partition) in check.partitions {
            let Some(task) = topology.task_for_partition(topic, *partition) else {
                return Err(stale);
            };
            let stamp = m
                .assigned
                .active
                .epoch(task.subtopology_id, *partition)
                .or_else(|| {
                    m.pending_revocation
                        .active
                        .epoch(task.subtopology_id, *partition)
                });
            match stamp {
                Some(e) if member_epoch >= e => {}
                _ => return Err(stale),
            }
        }
        Ok(())
    }

    /// Validates an OffsetFetch of a streams group (spec 07 §4.3).
    pub fn validate_offset_fetch(
        &self,
        group_id: &str,
        member_id: Option<&str>,
        member_epoch: i32,
    ) -> Result<(), ErrorCode> {
        if member_id.is_none_or(str::is_empty) && member_epoch < 0 {
            return Ok(());
        }
        let Some(g) = self.committed_group(group_id) else {
            return Err(ErrorCode::GROUP_ID_NOT_FOUND);
        };
        let Some(m) = member_id.and_then(|id| g.members.get(id)) else {
            return Err(ErrorCode::UNKNOWN_MEMBER_ID);
        };
        if m.member_epoch != member_epoch {
            return Err(ErrorCode::STALE_MEMBER_EPOCH);
        }
        Ok(())
    }

    /// True when OffsetDelete must refuse `topic` for this group with
    /// `GROUP_SUBSCRIBED_TO_TOPIC` (spec 07 §4.4): the group is not Empty and
    /// the topic is a source or repartition source topic of its topology.
    pub fn is_subscribed_to_topic(&self, group_id: &str, topic: &str) -> bool {
        self.groups.get(group_id).is_some_and(|g| {
            g.state() != GroupState::Empty
                && g.topology
                    .as_ref()
                    .is_some_and(|t| t.task_for_partition(topic, 0).is_some())
        })
    }
}
