//! StreamsGroupHeartbeat handling (spec 02), leaving and fencing (02 §11),
//! and timer expiry (06 §1).

use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use crate::protocol::heartbeat::{
    Endpoint, EndpointToPartitions, KeyValue, Status, TaskIds, TaskOffset, TopicPartition,
};
use crate::protocol::{
    CoordinatorRecord, ErrorCode, StatusCode, StreamsGroupHeartbeatRequest,
    StreamsGroupHeartbeatResponse,
};
use crate::topology::{
    check_changelog_partitions, check_unsupported_features, configure, metadata_hash,
    ClusterMetadata, ConfiguredTopology, InternalTopic, StreamsTopology,
};

use super::assign;
use super::audit;
use super::causes::{self, BumpCause, FenceReason, Rebalance};
use super::config::{self, Effective};
use super::convert;
use super::limits;
use super::member::{Member, MemberState, UserEndpoint};
use super::reconcile::{reconcile, UnknownStateFenced};
use super::records;
use super::state::{Configured, GroupCore, MemberOffsets, StreamsGroup};
use super::tasks::{self, Tasks};
use super::timers::{Fired, TimerKind};
use super::warmup;
use super::{ApiError, ForeignGroupKind, GroupCoordinator, Output, RequestContext};

/// Refresh interval set with every epoch bump (Kafka's `Integer.MAX_VALUE` ms).
const METADATA_REFRESH_INTERVAL_MS: i64 = i32::MAX as i64;

fn invalid(msg: impl Into<String>) -> ApiError {
    ApiError::new(ErrorCode::INVALID_REQUEST, msg)
}

fn is_blank(s: &str) -> bool {
    s.trim().is_empty()
}

fn too_long(s: &str) -> bool {
    s.len() > limits::MAX_ID_BYTES
}

/// Request validation of spec 02 §2, in Kafka's order (no state read).
fn validate(req: &StreamsGroupHeartbeatRequest) -> Result<(), ApiError> {
    if let Some(t) = &req.topology {
        check_unsupported_features(t).map_err(|e| ApiError::new(e.error_code(), e.message()))?;
    }
    if is_blank(&req.member_id) {
        return Err(invalid("MemberId can't be empty."));
    }
    if is_blank(&req.group_id) {
        return Err(invalid("GroupId can't be empty."));
    }
    if req.instance_id.as_deref().is_some_and(is_blank) {
        return Err(invalid("InstanceId can't be empty."));
    }
    if req.rack_id.as_deref().is_some_and(is_blank) {
        return Err(invalid("RackId can't be empty."));
    }
    let empty_or_null = |l: &Option<Vec<TaskIds>>| l.as_ref().is_none_or(|v| !v.is_empty());
    match req.member_epoch {
        0 => {
            if req.rebalance_timeout_ms == -1 {
                return Err(invalid(
                    "RebalanceTimeoutMs must be provided in first request.",
                ));
            }
            if empty_or_null(&req.active_tasks) {
                return Err(invalid("ActiveTasks must be empty when (re-)joining."));
            }
            if empty_or_null(&req.standby_tasks) {
                return Err(invalid("StandbyTasks must be empty when (re-)joining."));
            }
            if empty_or_null(&req.warmup_tasks) {
                return Err(invalid("WarmupTasks must be empty when (re-)joining."));
            }
            let Some(t) = &req.topology else {
                return Err(invalid("Topology must be non-null when (re-)joining."));
            };
            check_changelog_partitions(t)
                .map_err(|e| ApiError::new(e.error_code(), e.message()))?;
        }
        -2 if req.instance_id.is_none() => {
            return Err(invalid("InstanceId can't be null."));
        }
        e if e < -2 => {
            return Err(invalid(format!(
                "MemberEpoch is {e}, but must be greater than or equal to -2."
            )));
        }
        _ => {}
    }
    let nulls = [&req.active_tasks, &req.standby_tasks, &req.warmup_tasks]
        .iter()
        .filter(|l| l.is_none())
        .count();
    if nulls != 0 && nulls != 3 {
        return Err(invalid(
            "If one task-type is non-null, all must be non-null.",
        ));
    }
    if req.member_epoch != 0 && req.topology.is_some() {
        return Err(invalid("Topology can only be provided when (re-)joining."));
    }
    // Limits of this crate (docs: group::limits).
    let ids = [
        Some(req.member_id.as_str()),
        Some(req.group_id.as_str()),
        req.instance_id.as_deref(),
        req.rack_id.as_deref(),
        req.process_id.as_deref(),
    ];
    if ids.iter().flatten().any(|s| too_long(s)) {
        return Err(invalid(format!(
            "An id is longer than {} bytes.",
            limits::MAX_ID_BYTES
        )));
    }
    if let Some(tags) = &req.client_tags {
        if tags.len() > limits::MAX_CLIENT_TAGS
            || tags
                .iter()
                .any(|kv| too_long(&kv.key) || too_long(&kv.value))
        {
            return Err(invalid(format!(
                "ClientTags exceed the limit of {} tags of at most {} bytes.",
                limits::MAX_CLIENT_TAGS,
                limits::MAX_ID_BYTES
            )));
        }
    }
    for list in [&req.task_offsets, &req.task_end_offsets]
        .into_iter()
        .flatten()
    {
        if list.len() > limits::MAX_TASK_OFFSETS {
            return Err(invalid(format!(
                "Task offsets exceed the limit of {} entries.",
                limits::MAX_TASK_OFFSETS
            )));
        }
    }
    for list in [&req.active_tasks, &req.standby_tasks, &req.warmup_tasks]
        .into_iter()
        .flatten()
    {
        if list.iter().map(|t| t.partitions.len()).sum::<usize>() > limits::MAX_OWNED_TASKS {
            return Err(invalid(format!(
                "Owned tasks exceed the limit of {} tasks per role.",
                limits::MAX_OWNED_TASKS
            )));
        }
    }
    Ok(())
}

/// The error of the member-epoch check (spec 02 §4c); `None` when accepted.
fn check_member_epoch(
    member: &Member,
    epoch: i32,
    req: &StreamsGroupHeartbeatRequest,
) -> Result<(), ApiError> {
    if epoch == 0 {
        return Ok(());
    }
    if epoch > member.member_epoch {
        return Err(ApiError::new(
            ErrorCode::FENCED_MEMBER_EPOCH,
            format!(
                "The streams group member has a greater member epoch ({epoch}) than the one known by the group coordinator ({}). The member must abandon all its partitions and rejoin.",
                member.member_epoch
            ),
        ));
    }
    if epoch < member.member_epoch {
        let contained = |owned: &Option<Vec<TaskIds>>, assigned: &dyn Fn(&str, i32) -> bool| {
            owned.as_ref().is_some_and(|list| {
                list.iter()
                    .all(|t| t.partitions.iter().all(|p| assigned(&t.subtopology_id, *p)))
            })
        };
        let ok = epoch == member.previous_member_epoch
            && contained(&req.active_tasks, &|s, p| {
                tasks::contains_active(&member.assigned.active, s, p)
            })
            && contained(&req.standby_tasks, &|s, p| {
                tasks::contains(&member.assigned.standby, s, p)
            })
            && contained(&req.warmup_tasks, &|s, p| {
                tasks::contains(&member.assigned.warmup, s, p)
            });
        if !ok {
            return Err(ApiError::new(
                ErrorCode::FENCED_MEMBER_EPOCH,
                format!(
                    "The streams group member has a smaller member epoch ({epoch}) than the one known by the group coordinator ({}). The member must abandon all its partitions and rejoin.",
                    member.member_epoch
                ),
            ));
        }
    }
    Ok(())
}

/// Client tags of a request, checked for duplicate keys without allocating
/// for small lists. Kafka collects them into a map and fails the heartbeat
/// with an internal error on a duplicate key.
fn has_duplicate_keys(tags: &[KeyValue]) -> bool {
    if tags.len() <= 32 {
        tags.iter()
            .enumerate()
            .any(|(i, kv)| tags[..i].iter().any(|o| o.key == kv.key))
    } else {
        let mut seen = BTreeSet::new();
        !tags.iter().all(|kv| seen.insert(kv.key.as_str()))
    }
}

fn tags_equal(stored: &BTreeMap<String, String>, req: &[KeyValue]) -> bool {
    stored.len() == req.len()
        && req
            .iter()
            .all(|kv| stored.get(&kv.key).is_some_and(|v| *v == kv.value))
}

fn endpoint_equal(stored: &Option<UserEndpoint>, req: &Option<Endpoint>) -> bool {
    match (stored, req) {
        (None, None) => true,
        (Some(a), Some(b)) => a.host == b.host && a.port == b.port,
        _ => false,
    }
}

/// True when the member-update rules of spec 02 §5 change any field.
fn metadata_changes(
    m: &Member,
    req: &StreamsGroupHeartbeatRequest,
    ctx: &RequestContext,
    joining: bool,
) -> bool {
    req.instance_id
        .as_ref()
        .is_some_and(|v| m.instance_id.as_ref() != Some(v))
        || req
            .rack_id
            .as_ref()
            .is_some_and(|v| m.rack_id.as_ref() != Some(v))
        || (req.rebalance_timeout_ms != -1 && req.rebalance_timeout_ms != m.rebalance_timeout_ms)
        || req
            .topology
            .as_ref()
            .is_some_and(|t| t.epoch != m.topology_epoch)
        || m.client_id != ctx.client_id
        || m.client_host != ctx.client_host
        || req.process_id.as_ref().is_some_and(|p| *p != m.process_id)
        || req
            .client_tags
            .as_ref()
            .is_some_and(|t| !tags_equal(&m.client_tags, t))
        || if joining {
            !endpoint_equal(&m.user_endpoint, &req.user_endpoint)
        } else {
            req.user_endpoint.is_some() && !endpoint_equal(&m.user_endpoint, &req.user_endpoint)
        }
}

fn apply_metadata(
    m: &mut Member,
    req: &StreamsGroupHeartbeatRequest,
    ctx: &RequestContext,
    joining: bool,
) {
    if let Some(v) = &req.instance_id {
        m.instance_id = Some(v.clone());
    }
    if let Some(v) = &req.rack_id {
        m.rack_id = Some(v.clone());
    }
    if req.rebalance_timeout_ms != -1 {
        m.rebalance_timeout_ms = req.rebalance_timeout_ms;
    }
    if let Some(t) = &req.topology {
        m.topology_epoch = t.epoch;
    }
    m.client_id.clone_from(&ctx.client_id);
    m.client_host.clone_from(&ctx.client_host);
    if let Some(p) = &req.process_id {
        m.process_id.clone_from(p);
    }
    if let Some(t) = &req.client_tags {
        m.client_tags = convert::map_from(t);
    }
    let endpoint = req.user_endpoint.as_ref().map(|e| UserEndpoint {
        host: e.host.clone(),
        port: e.port,
    });
    if joining || endpoint.is_some() {
        m.user_endpoint = endpoint;
    }
}

/// Changes of a static member that bump the group epoch.
fn epoch_relevant_change(old: &Member, new: &Member) -> bool {
    old.topology_epoch != new.topology_epoch
        || old.rack_id != new.rack_id
        || old.client_tags != new.client_tags
        || old.process_id != new.process_id
}

fn owned_tasks(req: &StreamsGroupHeartbeatRequest) -> Option<Tasks> {
    match (&req.active_tasks, &req.standby_tasks, &req.warmup_tasks) {
        (Some(a), Some(s), Some(w)) => Some(Tasks {
            active: convert::task_set_from(a),
            standby: convert::task_set_from(s),
            warmup: convert::task_set_from(w),
        }),
        _ => None,
    }
}

fn check_tasks_exist(
    configured: &ConfiguredTopology,
    list: &Option<Vec<TaskIds>>,
) -> Result<(), ApiError> {
    let Some(list) = list else {
        return Ok(());
    };
    for t in list {
        let Some(n) = configured.number_of_tasks(&t.subtopology_id) else {
            return Err(invalid(format!(
                "Subtopology {} does not exist in the topology.",
                t.subtopology_id
            )));
        };
        for &p in &t.partitions {
            if p < 0 || p >= n {
                return Err(invalid(format!(
                    "Task {p} for subtopology {} is invalid. Number of tasks for this subtopology: {n}",
                    t.subtopology_id
                )));
            }
        }
    }
    Ok(())
}

fn offsets_map(list: &[TaskOffset]) -> Result<BTreeMap<String, BTreeMap<i32, i64>>, ApiError> {
    let mut out: BTreeMap<String, BTreeMap<i32, i64>> = BTreeMap::new();
    for t in list {
        let parts = out.entry(t.subtopology_id.clone()).or_default();
        if parts.insert(t.partition, t.offset).is_some() {
            return Err(invalid(format!(
                "Task offsets contain a duplicate entry for subtopology {} and partition {}.",
                t.subtopology_id, t.partition
            )));
        }
    }
    Ok(out)
}

fn status(code: StatusCode, detail: impl Into<String>) -> Status {
    Status {
        status_code: code.0,
        status_detail: detail.into(),
    }
}

/// True when the metadata refresh deadline has passed (spec 02 §7).
fn expired(deadline: (i64, i32), group_epoch: i32, now_ms: i64) -> bool {
    now_ms >= deadline.0 || group_epoch < deadline.1
}

/// True when the assignment interval allows a new computation (spec 02 §9).
fn interval_elapsed(timestamp: i64, interval_ms: i32, now_ms: i64) -> bool {
    timestamp == 0 || interval_ms == 0 || now_ms >= timestamp.saturating_add(i64::from(interval_ms))
}

/// The `PartitionsByUserEndpoint` entry of one member (spec 02 §12).
fn endpoint_entry(
    m: &Member,
    configured: Option<&ConfiguredTopology>,
    metadata: &ClusterMetadata,
) -> Option<EndpointToPartitions> {
    let ep = m.user_endpoint.as_ref()?;
    let group = |set: &tasks::TaskSet| -> Vec<TopicPartition> {
        let Some(c) = configured else {
            return Vec::new();
        };
        let mut by_topic: BTreeMap<&str, BTreeSet<i32>> = BTreeMap::new();
        for (topic, parts) in c.input_partitions_for_tasks(set, metadata) {
            by_topic.entry(topic).or_default().extend(parts);
        }
        by_topic
            .into_iter()
            .map(|(t, p)| TopicPartition {
                topic: t.to_string(),
                partitions: p.into_iter().collect(),
            })
            .collect()
    };
    let active: tasks::TaskSet = m
        .assigned
        .active
        .iter()
        .map(|(s, p)| (s.clone(), p.keys().copied().collect()))
        .collect();
    let mut standby = m.assigned.standby.clone();
    for (s, p) in &m.assigned.warmup {
        standby
            .entry(s.clone())
            .or_default()
            .extend(p.iter().copied());
    }
    Some(EndpointToPartitions {
        user_endpoint: Endpoint {
            host: ep.host.clone(),
            port: ep.port,
        },
        active_partitions: group(&active),
        standby_partitions: group(&standby),
    })
}

/// State changes of a heartbeat kept aside until it succeeds (its records
/// are the others: they are applied only on success too).
#[derive(Debug, Default)]
struct Effects {
    /// The group epoch was bumped (`streams-group-rebalance-count`).
    epoch_bumped: bool,
    /// Why, for the rebalance history.
    rebalance: Option<Rebalance>,
    /// Active tasks the target (or refinement step) of an epoch moved.
    tasks_moved: Option<(i32, usize)>,
    /// The assignor run that computed that target, if one did.
    assignor_run: Option<audit::AssignorRun>,
    /// Lifecycle events to log once the heartbeat succeeds.
    lifecycle: audit::Pending,
}

impl GroupCoordinator {
    /// Handles one StreamsGroupHeartbeat request (spec 02).
    pub fn heartbeat(
        &mut self,
        ctx: &RequestContext,
        req: StreamsGroupHeartbeatRequest,
    ) -> Output<StreamsGroupHeartbeatResponse> {
        let mut records = Vec::new();
        let mut internal_topics = Vec::new();
        let mut effects = Effects::default();
        let mut response =
            match self.handle(ctx, &req, &mut records, &mut internal_topics, &mut effects) {
                Ok(mut r) => {
                    r.member_id = req.member_id;
                    effects.lifecycle.emit(&req.group_id, r.member_epoch);
                    // Counted only now: a heartbeat that fails after deciding to
                    // bump the epoch (its assignor failed, say) bumped nothing.
                    if effects.epoch_bumped {
                        self.rebalance_count += 1;
                    }
                    if let Some(b) = effects.rebalance.take() {
                        self.rebalances.record(&req.group_id, b);
                    }
                    if let Some((epoch, n)) = effects.tasks_moved {
                        self.rebalances.tasks_moved(&req.group_id, epoch, n);
                        audit::target_computed(
                            &req.group_id,
                            epoch,
                            effects.assignor_run.as_ref(),
                            n,
                        );
                    }
                    r
                }
                Err(e) => {
                    records.clear();
                    internal_topics.clear();
                    StreamsGroupHeartbeatResponse {
                        error_code: e.code.0,
                        error_message: if e.code == ErrorCode::UNKNOWN_SERVER_ERROR {
                            None
                        } else {
                            e.message
                        },
                        ..StreamsGroupHeartbeatResponse::default()
                    }
                }
            };
        response.truncate_texts();
        self.apply_all(&records);
        self.output(response, records, internal_topics)
    }

    fn handle(
        &mut self,
        ctx: &RequestContext,
        req: &StreamsGroupHeartbeatRequest,
        records: &mut Vec<CoordinatorRecord>,
        internal_topics: &mut Vec<InternalTopic>,
        effects: &mut Effects,
    ) -> Result<StreamsGroupHeartbeatResponse, ApiError> {
        validate(req)?;
        if req.member_epoch < 0 {
            return self.leave(req, ctx.now_ms, records);
        }
        let now = ctx.now_ms;
        let joining = req.member_epoch == 0;
        let gid = req.group_id.as_str();
        let mid = req.member_id.as_str();

        // The request's topology, validated structurally (join only).
        let request_topology = match &req.topology {
            Some(t) => Some(
                StreamsTopology::new(t.clone())
                    .map_err(|e| ApiError::new(e.error_code(), e.message()))?,
            ),
            None => None,
        };

        // §3 group lookup / creation.
        let mut fresh: Option<StreamsGroup> = None;
        if !self.groups.contains_key(gid) {
            match self.foreign.get(gid) {
                Some(f) if !(joining && f.kind == ForeignGroupKind::Classic && f.empty) => {
                    return Err(ApiError::new(
                        ErrorCode::GROUP_ID_NOT_FOUND,
                        format!("Group {gid} is not a streams group."),
                    ));
                }
                _ => {}
            }
            if !joining {
                return Err(ApiError::new(
                    ErrorCode::GROUP_ID_NOT_FOUND,
                    format!("Streams group {gid} not found."),
                ));
            }
            fresh = Some(StreamsGroup::new(gid));
        }
        let creating = fresh.is_some();
        let group: &mut StreamsGroup = match fresh.as_mut() {
            Some(g) => g,
            None => {
                super::tracked_mut(&mut self.groups, &mut self.commits, gid).ok_or_else(|| {
                    ApiError::new(
                        ErrorCode::GROUP_ID_NOT_FOUND,
                        format!("Streams group {gid} not found."),
                    )
                })?
            }
        };
        let StreamsGroup {
            core: group,
            transient,
        } = group;
        let group: &GroupCore = group;
        let eff = Effective::resolve(&self.config, self.group_configs.get(gid));

        if joining {
            let is_static = req
                .instance_id
                .as_deref()
                .is_some_and(|i| group.static_members.contains_key(i));
            let max = (self.config.max_size.max(1) as usize).min(limits::MAX_MEMBERS);
            if !is_static && group.members.len() >= max && !group.members.contains_key(mid) {
                return Err(ApiError::new(
                    ErrorCode::GROUP_MAX_SIZE_REACHED,
                    format!(
                        "The streams group has reached its maximum capacity of {} members.",
                        self.config.max_size
                    ),
                ));
            }
        }

        // §4 member lookup / creation.
        let mut replaced: Option<String> = None;
        let mut is_new = false;
        let base: Cow<'_, Member> = match &req.instance_id {
            None => {
                let m = match group.members.get(mid) {
                    Some(m) => Cow::Borrowed(m),
                    None if joining => {
                        is_new = true;
                        Cow::Owned(Member::new(mid))
                    }
                    None => {
                        return Err(ApiError::new(
                            ErrorCode::UNKNOWN_MEMBER_ID,
                            format!("Member {mid} is not a member of group {gid}."),
                        ))
                    }
                };
                check_member_epoch(&m, req.member_epoch, req)?;
                m
            }
            Some(inst) => {
                let existing = group.static_member(inst);
                if joining {
                    match existing {
                        None => match group.members.get(mid) {
                            Some(m) => Cow::Borrowed(m),
                            None => {
                                is_new = true;
                                Cow::Owned(Member::new(mid))
                            }
                        },
                        Some(s) => {
                            if s.member_epoch != -2 {
                                return Err(ApiError::new(
                                    ErrorCode::UNRELEASED_INSTANCE_ID,
                                    format!(
                                        "Static member {mid} with instance id {inst} cannot join the group because the instance id is owned by {} member.",
                                        s.member_id
                                    ),
                                ));
                            }
                            // Replacement: a copy of S under the new member id.
                            let mut copy = s.clone();
                            copy.member_id = mid.to_string();
                            copy.member_epoch = 0;
                            copy.previous_member_epoch = 0;
                            records::member_tombstones(gid, &s.member_id, records);
                            records.push(records::member_metadata(gid, &copy));
                            let old_target =
                                group.targets.get(&s.member_id).cloned().unwrap_or_default();
                            records.push(records::target_member(gid, mid, &old_target));
                            records.push(records::current_assignment(gid, &copy));
                            if s.member_id != mid {
                                replaced = Some(s.member_id.clone());
                            }
                            Cow::Owned(copy)
                        }
                    }
                } else {
                    let Some(s) = existing else {
                        return Err(ApiError::new(
                            ErrorCode::UNKNOWN_MEMBER_ID,
                            format!("Instance id {inst} is unknown."),
                        ));
                    };
                    if s.member_id != mid {
                        return Err(ApiError::new(
                            ErrorCode::FENCED_INSTANCE_ID,
                            format!(
                                "Static member {mid} with instance id {inst} was fenced by member {}.",
                                s.member_id
                            ),
                        ));
                    }
                    check_member_epoch(s, req.member_epoch, req)?;
                    Cow::Borrowed(s)
                }
            }
        };

        if joining {
            effects
                .lifecycle
                .joined(mid, req.instance_id.as_deref(), replaced.as_deref());
        }

        // §5 member update.
        if req.client_tags.as_deref().is_some_and(has_duplicate_keys) {
            return Err(ApiError::bare(ErrorCode::UNKNOWN_SERVER_ERROR));
        }
        let mut bump = false;
        // The first trigger of spec 02 §8 that fires names the bump.
        let mut cause: Option<BumpCause> = None;
        let updated: Cow<'_, Member> = if is_new || metadata_changes(&base, req, ctx, joining) {
            let mut m = base.as_ref().clone();
            apply_metadata(&mut m, req, ctx, joining);
            if is_new || m.metadata_differs(&base) {
                records.push(records::member_metadata(gid, &m));
                bump = req.instance_id.is_none() || epoch_relevant_change(&base, &m);
                if bump {
                    cause = Some(if is_new {
                        BumpCause::MemberJoined
                    } else if replaced.is_some() {
                        BumpCause::Fenced(FenceReason::StaticMemberReplaced)
                    } else {
                        BumpCause::MemberMetadataChanged(causes::changed_field(&base, &m))
                    });
                }
            }
            Cow::Owned(m)
        } else {
            Cow::Borrowed(base.as_ref())
        };

        // §6 topology.
        let group_topology = group.topology.clone();
        let topology: Arc<StreamsTopology> = match (request_topology, &group_topology) {
            (Some(t), None) => {
                records.push(records::topology(gid, t.to_record()));
                Arc::new(t)
            }
            (Some(t), Some(g)) => {
                if g.epoch() > t.epoch() || **g == t {
                    g.clone()
                } else {
                    return Err(invalid("Topology updates are not supported yet."));
                }
            }
            (None, Some(g)) => g.clone(),
            (None, None) => return Err(ApiError::bare(ErrorCode::UNKNOWN_SERVER_ERROR)),
        };
        let mut statuses: Vec<Status> = Vec::new();
        if let Some(g) = &group_topology {
            if updated.topology_epoch < g.epoch() {
                statuses.push(status(
                    StatusCode::STALE_TOPOLOGY,
                    format!(
                        "The member's topology epoch {} is behind the group's topology epoch {}.",
                        updated.topology_epoch,
                        g.epoch()
                    ),
                ));
            }
        }

        // §7 metadata hash and configured topology.
        let mut reconfigure = group_topology.is_none();
        let mut hash = group.metadata_hash;
        let configured: Arc<Configured> = match &transient.configured {
            Some(c)
                if !reconfigure && !expired(transient.refresh_deadline, group.group_epoch, now) =>
            {
                c.clone()
            }
            cached => {
                let cached = cached.clone();
                hash = metadata_hash(&topology, &self.metadata);
                let changed_topic = transient.changed_topic.take();
                if hash != group.metadata_hash {
                    bump = true;
                    reconfigure = true;
                    cause.get_or_insert(BumpCause::TopicMetadataChanged(changed_topic));
                }
                match cached {
                    Some(c) if !reconfigure => c,
                    _ => {
                        let c = Arc::new(Configured::new(
                            configure(&topology, &self.metadata)
                                .map_err(|e| ApiError::new(e.error_code(), e.message()))?,
                        ));
                        transient.configured = Some(c.clone());
                        c
                    }
                }
            }
        };
        let validated = if configured.is_ready() {
            check_tasks_exist(&configured, &req.active_tasks)?;
            check_tasks_exist(&configured, &req.standby_tasks)?;
            check_tasks_exist(&configured, &req.warmup_tasks)?;
            topology.epoch()
        } else {
            -1
        };
        // §10 task offsets: stored now, never undone.
        if req.task_offsets.is_some() || req.task_end_offsets.is_some() {
            let offsets = req.task_offsets.as_deref().map(offsets_map).transpose()?;
            let end_offsets = req
                .task_end_offsets
                .as_deref()
                .map(offsets_map)
                .transpose()?;
            let entry = transient
                .task_offsets
                .entry(mid.to_string())
                .or_insert_with(MemberOffsets::default);
            if let Some(o) = offsets {
                entry.offsets = o;
            }
            if let Some(o) = end_offsets {
                entry.end_offsets = o;
            }
        }
        if validated != group.validated_topology_epoch {
            bump = true;
            cause.get_or_insert(BumpCause::TopologyConfigured(validated >= 0));
        }
        if !bump
            && !config::assignment_configs_match(
                &group.last_assignment_configs,
                eff.num_standby_replicas,
                eff.rack_aware_assignment_tags,
            )
        {
            bump = true;
            let standby = eff.num_standby_replicas.to_string();
            let key = if group
                .last_assignment_configs
                .get(config::NUM_STANDBY_REPLICAS_KEY)
                != Some(&standby)
            {
                "streams.num.standby.replicas"
            } else {
                "streams.rack.aware.assignment.tags"
            };
            cause = Some(BumpCause::GroupConfigChanged(key.to_string()));
        }
        // Refinement step (spec 02 §8 trigger 5, live with warm-ups): a settled group whose
        // refinement changed with the reported lags (a warm-up caught up) starts a new
        // assignment epoch without running the assignor.
        let mut refine_step: Option<warmup::Refined> = None;
        if !bump
            && !creating
            && eff.num_warmup_replicas > 0
            && (req.task_offsets.is_some() || req.task_end_offsets.is_some())
            && configured.is_ready()
            && group.state() == super::GroupState::Stable
        {
            let view = assign::View {
                group,
                updated: Some(&updated),
                replaced: replaced.as_deref(),
            };
            let fresh = warmup::derive(
                &view,
                |id| view.old_target(id),
                &configured,
                &transient.task_offsets,
                &eff,
            );
            if warmup::differs_from_current(&view, &fresh) {
                bump = true;
                cause = Some(BumpCause::WarmupPromoted);
                refine_step = Some(fresh);
            }
        }

        // §8 epoch bump.
        let mut group_epoch = group.group_epoch;
        if bump {
            group_epoch = group_epoch.saturating_add(1);
            records.push(records::group_metadata(
                gid,
                group_epoch,
                hash,
                validated,
                &assign::configs(eff.num_standby_replicas, eff.rack_aware_assignment_tags).to_map(),
                group.stored_description_epoch,
                group.failed_description_epoch,
            ));
            effects.epoch_bumped = true;
            effects.rebalance = Some(Rebalance {
                time_ms: now,
                epoch: group_epoch,
                cause: cause.take().unwrap_or(BumpCause::MemberJoined),
                member_id: Some(mid.to_string()),
                tasks_moved: None,
            });
            transient.refresh_deadline = (
                now.saturating_add(METADATA_REFRESH_INTERVAL_MS),
                group_epoch,
            );
        }

        // §9 initial delay and target assignment.
        if group.members.is_empty() && eff.initial_rebalance_delay_ms > 0 {
            self.timers.schedule_if_absent(
                TimerKind::InitialDelay,
                gid,
                "",
                now.saturating_add(i64::from(eff.initial_rebalance_delay_ms)),
            );
        }
        let empty_target = Tasks::default();
        let mut computed: Option<BTreeMap<String, Tasks>> = None;
        let mut delayed = false;
        let mut refinement: Option<Arc<warmup::EpochRefinement>> = None;
        let target_epoch;
        let view_target = || -> &Tasks {
            let key = replaced.as_deref().unwrap_or(mid);
            group.targets.get(key).unwrap_or(&empty_target)
        };
        // `None`: the member's slice of the stored target (looked up only if needed).
        let target: Option<&Tasks> = if self.timers.is_scheduled(TimerKind::InitialDelay, gid, "") {
            statuses.push(status(
                StatusCode::ASSIGNMENT_DELAYED,
                "Assignment delayed due to the configured initial rebalance delay.",
            ));
            target_epoch = group.assignment_epoch;
            delayed = true;
            Some(&empty_target)
        } else if group.assignment_epoch >= group_epoch {
            target_epoch = group.assignment_epoch;
            None
        } else if let Some(assignment) = refine_step.take() {
            let moved = causes::moved(&assignment, |id, s, p| {
                group
                    .members
                    .get(id)
                    .is_some_and(|m| tasks::contains_active(&m.assigned.active, s, p))
            });
            effects.tasks_moved = Some((group_epoch, moved));
            records.push(records::target_metadata(
                gid,
                group_epoch,
                group.assignment_timestamp,
            ));
            target_epoch = group_epoch;
            refinement = Some(Arc::new(warmup::EpochRefinement {
                epoch: group_epoch,
                assignment,
            }));
            None
        } else if !interval_elapsed(group.assignment_timestamp, eff.assignment_interval_ms, now) {
            statuses.push(status(
                StatusCode::ASSIGNMENT_DELAYED,
                "Assignment delayed due to the configured assignment interval.",
            ));
            target_epoch = group.assignment_epoch;
            None
        } else {
            let assignor = assign::select(&self.assignors, &self.config, eff.assignor_name)
                .ok_or_else(|| {
                    tracing::error!(
                        group_id = %group.group_id,
                        assignor = ?eff.assignor_name,
                        "no such assignor is registered; cannot compute a target assignment"
                    );
                    ApiError::bare(ErrorCode::UNKNOWN_SERVER_ERROR)
                })?;
            let configs = assign::configs(eff.num_standby_replicas, eff.rack_aware_assignment_tags);
            let view = assign::View {
                group,
                updated: Some(&updated),
                replaced: replaced.as_deref(),
            };
            let (t, run) = self.audit.time(assignor.name(), || {
                assign::compute_target(
                    &view,
                    group_epoch,
                    &configured,
                    assignor.as_ref(),
                    &configs,
                    &transient.task_offsets,
                    now,
                    records,
                )
            });
            effects.assignor_run = Some(run);
            let t = t.map_err(|e| {
                // Kafka logs this at ERROR ("Failed to compute a new target
                // assignment for epoch N") and fails the heartbeat.
                tracing::error!(
                    group_id = %group.group_id,
                    epoch = group_epoch,
                    assignor = assignor.name(),
                    error = %e,
                    "failed to compute a new target assignment"
                );
                ApiError::bare(ErrorCode::UNKNOWN_SERVER_ERROR)
            })?;
            let moved = causes::moved_from_targets(&view, &t);
            effects.tasks_moved = Some((group_epoch, moved));
            computed = Some(t);
            target_epoch = group_epoch;
            computed
                .as_ref()
                .map(|all| all.get(mid).unwrap_or(&empty_target))
        };
        // Warm-up refinement (src/group/warmup.rs): derived once per assignment epoch, for
        // the whole group, and frozen for it; off with `num.warmup.replicas` 0.
        if refinement.is_none() && eff.num_warmup_replicas > 0 && !delayed && configured.is_ready()
        {
            refinement = match &transient.refined {
                Some(r) if r.epoch == target_epoch => Some(r.clone()),
                _ => {
                    let view = assign::View {
                        group,
                        updated: Some(&updated),
                        replaced: replaced.as_deref(),
                    };
                    let assignment = match &computed {
                        Some(all) => warmup::derive(
                            &view,
                            |id| all.get(id),
                            &configured,
                            &transient.task_offsets,
                            &eff,
                        ),
                        None => warmup::derive(
                            &view,
                            |id| view.old_target(id),
                            &configured,
                            &transient.task_offsets,
                            &eff,
                        ),
                    };
                    Some(Arc::new(warmup::EpochRefinement {
                        epoch: target_epoch,
                        assignment,
                    }))
                }
            };
        }
        let refined_target = refinement
            .as_ref()
            .map(|r| r.assignment.get(mid).unwrap_or(&empty_target));

        // §10 reconciliation.
        let mut current = updated;
        if !current.is_reconciled_to(target_epoch) {
            let owned = owned_tasks(req);
            let target = refined_target.or(target).unwrap_or_else(view_target);
            let next = reconcile(
                &current,
                target_epoch,
                target,
                owned.as_ref(),
                &group.owners,
            )
            .map_err(|UnknownStateFenced| {
                ApiError::new(ErrorCode::FENCED_MEMBER_EPOCH, UnknownStateFenced::MESSAGE)
            })?;
            if next.assignment_differs(&current) {
                records.push(records::current_assignment(gid, &next));
                audit::assignment_changed(gid, &next);
                if next.state == MemberState::UnrevokedTasks {
                    self.timers.schedule(
                        TimerKind::Rebalance,
                        gid,
                        mid,
                        now.saturating_add(i64::from(next.rebalance_timeout_ms)),
                        next.member_epoch,
                    );
                } else {
                    self.timers.cancel(TimerKind::Rebalance, gid, mid);
                }
                current = Cow::Owned(next);
            }
        }
        if !creating {
            transient.refined = refinement;
        }
        self.timers.schedule(
            TimerKind::Session,
            gid,
            mid,
            now.saturating_add(i64::from(eff.session_timeout_ms)),
            0,
        );
        if req.shutdown_application && transient.shutdown_requested_by.is_none() {
            transient.shutdown_requested_by = Some(mid.to_string());
        }

        // §12 response.
        let unchanged = std::ptr::eq::<Member>(current.as_ref(), base.as_ref());
        let assigned_changed = !unchanged && current.assigned != base.assigned;
        let mut response = StreamsGroupHeartbeatResponse {
            member_epoch: current.member_epoch,
            heartbeat_interval_ms: eff.heartbeat_interval_ms,
            task_offset_interval_ms: eff.task_offset_interval_ms,
            acceptable_recovery_lag: eff.acceptable_recovery_lag,
            ..StreamsGroupHeartbeatResponse::default()
        };
        if joining || assigned_changed {
            response.active_tasks = Some(convert::active_task_ids(&current.assigned.active));
            response.standby_tasks = Some(convert::task_ids(&current.assigned.standby));
            response.warmup_tasks = Some(convert::task_ids(&current.assigned.warmup));
        }
        let endpoint_changed = !unchanged && current.user_endpoint != base.user_endpoint;
        if endpoint_changed || (assigned_changed && current.user_endpoint.is_some()) {
            transient.endpoint_epoch = transient.endpoint_epoch.wrapping_add(1);
        }
        if transient.endpoint_epoch != req.endpoint_information_epoch {
            let configured_ref = configured
                .subtopologies
                .as_ref()
                .map(|_| configured.topology());
            let mut entries = Vec::new();
            for m in group.members.values() {
                if m.member_id == mid || replaced.as_deref() == Some(m.member_id.as_str()) {
                    continue;
                }
                entries.extend(endpoint_entry(m, configured_ref, &self.metadata));
            }
            entries.extend(endpoint_entry(&current, configured_ref, &self.metadata));
            response.partitions_by_user_endpoint = Some(entries);
        }
        if !creating {
            response.endpoint_information_epoch = transient.endpoint_epoch;
        }
        if let Some(st) = &configured.status {
            internal_topics.extend(configured.internal_topics_to_create.iter().cloned());
            statuses.push(status(st.code(), st.detail()));
        }
        if let Some(who) = &transient.shutdown_requested_by {
            statuses.push(status(
                StatusCode::SHUTDOWN_APPLICATION,
                format!("Streams group member {who} encountered a fatal error and requested a shutdown for the entire application."),
            ));
        }
        if ctx.api_version >= 1 && !eff.rack_aware_assignment_tags.is_empty() {
            let missing: Vec<&str> = eff
                .rack_aware_assignment_tags
                .iter()
                .filter(|t| !current.client_tags.contains_key(t.as_str()))
                .map(String::as_str)
                .collect();
            if !missing.is_empty() {
                statuses.push(status(
                    StatusCode::MISSING_CLIENT_TAGS,
                    format!(
                        "Missing required client tags for rack-aware standby assignment: [{}]. Configure them via 'client.tag.<tagKey>' in your Streams config.",
                        missing.join(", ")
                    ),
                ));
            }
        }
        response.status = Some(statuses);
        Ok(response)
    }

    /// Leave heartbeats, epoch −1 / −2 (spec 02 §11).
    fn leave(
        &mut self,
        req: &StreamsGroupHeartbeatRequest,
        now: i64,
        records: &mut Vec<CoordinatorRecord>,
    ) -> Result<StreamsGroupHeartbeatResponse, ApiError> {
        let gid = req.group_id.as_str();
        let mid = req.member_id.as_str();
        let Some(group) = super::tracked_mut(&mut self.groups, &mut self.commits, gid) else {
            let msg = if self.foreign.contains_key(gid) {
                format!("Group {gid} is not a streams group.")
            } else {
                format!("Group {gid} not found.")
            };
            return Err(ApiError::new(ErrorCode::GROUP_ID_NOT_FOUND, msg));
        };
        if req.shutdown_application && group.transient.shutdown_requested_by.is_none() {
            group.transient.shutdown_requested_by = Some(mid.to_string());
        }
        let response = StreamsGroupHeartbeatResponse {
            member_id: req.member_id.clone(),
            member_epoch: req.member_epoch,
            acceptable_recovery_lag: StreamsGroupHeartbeatResponse::default()
                .acceptable_recovery_lag,
            ..StreamsGroupHeartbeatResponse::default()
        };
        let target_id: String = match &req.instance_id {
            None => {
                if !group.members.contains_key(mid) {
                    return Err(ApiError::new(
                        ErrorCode::UNKNOWN_MEMBER_ID,
                        format!("Member {mid} is not a member of group {gid}."),
                    ));
                }
                mid.to_string()
            }
            Some(inst) => {
                let Some(s) = group.static_member(inst) else {
                    return Err(ApiError::new(
                        ErrorCode::UNKNOWN_MEMBER_ID,
                        format!("Instance id {inst} is unknown."),
                    ));
                };
                if s.member_id != mid {
                    return Err(ApiError::new(
                        ErrorCode::FENCED_INSTANCE_ID,
                        format!(
                            "Static member {mid} with instance id {inst} was fenced by member {}.",
                            s.member_id
                        ),
                    ));
                }
                if req.member_epoch == -2 {
                    audit::static_member_paused(gid, mid, inst);
                    let mut left = s.clone();
                    left.member_epoch = -2;
                    left.pending_revocation = Default::default();
                    for parts in left.assigned.active.values_mut() {
                        for e in parts.values_mut() {
                            *e = 0;
                        }
                    }
                    records.push(records::current_assignment(gid, &left));
                    return Ok(StreamsGroupHeartbeatResponse {
                        member_id: s.member_id.clone(),
                        ..response
                    });
                }
                s.member_id.clone()
            }
        };
        self.fence(gid, &target_id, BumpCause::MemberLeft, now, records);
        Ok(response)
    }

    /// Fences (removes) a member: spec 02 §11 / 06 §3.2. Cancels its timers.
    fn fence(
        &mut self,
        gid: &str,
        member_id: &str,
        cause: BumpCause,
        now: i64,
        records: &mut Vec<CoordinatorRecord>,
    ) {
        let Some(group) = self.groups.get(gid) else {
            return;
        };
        audit::member_removed(gid, member_id, group.members.get(member_id), &cause);
        self.rebalances.record(
            gid,
            Rebalance {
                time_ms: now,
                epoch: group.group_epoch.saturating_add(1),
                cause,
                member_id: Some(member_id.to_string()),
                tasks_moved: None,
            },
        );
        records::member_tombstones(gid, member_id, records);
        let epoch = group.group_epoch.saturating_add(1);
        records.push(records::group_metadata(
            gid,
            epoch,
            group.metadata_hash,
            group.validated_topology_epoch,
            &group.last_assignment_configs,
            group.stored_description_epoch,
            group.failed_description_epoch,
        ));
        let last = group.members.len() == 1 && group.members.contains_key(member_id);
        if last {
            records.push(records::target_metadata(gid, epoch, 0));
        }
        self.timers.cancel(TimerKind::Session, gid, member_id);
        self.timers.cancel(TimerKind::Rebalance, gid, member_id);
    }

    /// Runs one due timer (spec 06 §1).
    pub(super) fn fire(&mut self, fired: &Fired, now: i64, records: &mut Vec<CoordinatorRecord>) {
        let gid = fired.group_id.as_str();
        let Some(group) = self.groups.get(gid) else {
            return;
        };
        match fired.kind {
            TimerKind::Session => {
                if group.members.contains_key(&fired.member_id) {
                    let cause = BumpCause::Fenced(FenceReason::SessionTimeout);
                    self.fence(gid, &fired.member_id, cause, now, records);
                }
            }
            TimerKind::Rebalance => {
                if group
                    .members
                    .get(&fired.member_id)
                    .is_some_and(|m| m.member_epoch == fired.epoch)
                {
                    let cause = BumpCause::Fenced(FenceReason::RebalanceTimeout);
                    self.fence(gid, &fired.member_id, cause, now, records);
                }
            }
            TimerKind::InitialDelay => {
                if group.members.is_empty() || group.group_epoch <= group.assignment_epoch {
                    return;
                }
                let Some(configured) = group.transient.configured.clone() else {
                    return;
                };
                let eff = Effective::resolve(&self.config, self.group_configs.get(gid));
                if !interval_elapsed(group.assignment_timestamp, eff.assignment_interval_ms, now) {
                    return;
                }
                let Some(assignor) =
                    assign::select(&self.assignors, &self.config, eff.assignor_name)
                else {
                    tracing::warn!(
                        group_id = gid,
                        epoch = group.group_epoch,
                        "initial rebalance delay expired but no assignor is registered; nothing written"
                    );
                    return;
                };
                let configs = assign::configs_from_map(&group.last_assignment_configs);
                let view = assign::View {
                    group: &group.core,
                    updated: None,
                    replaced: None,
                };
                let mut out = Vec::new();
                let (result, run) = self.audit.time(assignor.name(), || {
                    assign::compute_target(
                        &view,
                        group.group_epoch,
                        &configured,
                        assignor.as_ref(),
                        &configs,
                        &group.transient.task_offsets,
                        now,
                        &mut out,
                    )
                });
                match result {
                    Ok(t) => {
                        let moved = causes::moved_from_targets(&view, &t);
                        self.rebalances.tasks_moved(gid, group.group_epoch, moved);
                        audit::target_computed(gid, group.group_epoch, Some(&run), moved);
                        records.extend(out)
                    }
                    // As in Kafka, a failed timer operation writes nothing
                    // and is not retried; the group stays ASSIGNING and its
                    // next heartbeat runs the assignor again (failing with
                    // UNKNOWN_SERVER_ERROR if the assignor still fails).
                    Err(e) => tracing::warn!(
                        group_id = gid,
                        epoch = group.group_epoch,
                        assignor = assignor.name(),
                        error = %e,
                        "initial rebalance delay expired but the target assignment failed; nothing written"
                    ),
                }
            }
        }
    }
}
