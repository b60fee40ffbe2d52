//! StreamsGroupHeartbeat handling (spec 02), leaving and fencing (02 §11),
//! and timer expiry (06 §1).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use crate::protocol::heartbeat::{Endpoint, KeyValue, Status, TaskIds, TaskOffset, Topology};
use crate::protocol::{
    CoordinatorRecord, ErrorCode, StatusCode, StreamsGroupHeartbeatRequest,
    StreamsGroupHeartbeatResponse,
};
use crate::topology::{
    check_changelog_partitions, check_unsupported_features, configure, metadata_hash,
    ConfiguredTopology, InternalTopic, StreamsTopology,
};

use super::assign;
use super::audit;
use super::causes::{self, BumpCause, FenceReason, Rebalance};
use super::config::Effective;
use super::convert;
use super::endpoints;
use super::limits;
use super::member::{Member, MemberState, UserEndpoint};
use super::reconcile::{reconcile, UnknownStateFenced};
use super::records;
use super::state::{Configured, GroupCore, MemberOffsets, OffsetsView, StreamsGroup, Transient};
use super::stored_configs::StoredAssignmentConfigs;
use super::tasks::{SubIds, Tasks};
use super::timers::{Fired, TimerKind};
use super::warmup;
use super::{ApiError, ForeignGroupKind, GroupCoordinator, Output, RequestContext};

/// The member as a phase sees it: the stored one, or a changed copy. The copy
/// is boxed so that handing the member from phase to phase moves a pointer,
/// not the whole struct (a `Cow<Member>` is as large as a `Member`, and the
/// steady heartbeat moved it four times).
enum MemberView<'a> {
    /// The member as stored in the group (or as the previous phase left it).
    Stored(&'a Member),
    /// A copy the heartbeat changed (or a member it creates).
    Changed(Box<Member>),
}

impl MemberView<'_> {
    fn changed(m: Member) -> Self {
        MemberView::Changed(Box::new(m))
    }
}

impl std::ops::Deref for MemberView<'_> {
    type Target = Member;
    fn deref(&self) -> &Member {
        match self {
            MemberView::Stored(m) => m,
            MemberView::Changed(m) => m,
        }
    }
}

/// Refresh interval set with every epoch bump (Kafka's `Integer.MAX_VALUE` ms).
const METADATA_REFRESH_INTERVAL_MS: i64 = i32::MAX as i64;

fn invalid(msg: impl Into<String>) -> ApiError {
    ApiError::new(ErrorCode::INVALID_REQUEST, msg)
}

/// Java's `String.isBlank`: empty or only white space (stops at the first
/// other character, where `trim` would scan from both ends).
fn is_blank(s: &str) -> bool {
    s.chars().all(char::is_whitespace)
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
                member.assigned.active.contains(s, p)
            })
            && contained(&req.standby_tasks, &|s, p| {
                member.assigned.standby.contains(s, p)
            })
            && contained(&req.warmup_tasks, &|s, p| {
                member.assigned.warmup.contains(s, p)
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

/// The member registered for static instance id `inst` (`existing`, from
/// [`GroupCore::static_member`]), checked as the request of member `mid`
/// that is not a join: an unknown instance id is UNKNOWN_MEMBER_ID, an
/// instance id owned by another member id is FENCED_INSTANCE_ID. Shared by
/// the heartbeat of a known member and the leave.
fn static_owner<'g>(
    existing: Option<&'g Member>,
    inst: &str,
    mid: &str,
) -> Result<&'g Member, ApiError> {
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
    Ok(s)
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
        || req
            .process_id
            .as_deref()
            .is_some_and(|p| p != &*m.process_id)
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
        if **p != *m.process_id {
            m.process_id = Arc::from(p.as_str());
        }
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
        (Some(a), Some(s), Some(w)) => {
            let ids = &mut SubIds::default();
            Some(Tasks {
                active: convert::task_set_from(a, ids),
                standby: convert::task_set_from(s, ids),
                warmup: convert::task_set_from(w, ids),
            })
        }
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

/// The request's topology, validated structurally (join only). Its
/// subtopologies move into the model (not copied: a large topology is not held
/// twice, issue 14 item 3); the request keeps the epoch only, which is all the
/// member update reads.
fn parse_topology(
    req: &mut StreamsGroupHeartbeatRequest,
) -> Result<Option<StreamsTopology>, ApiError> {
    req.topology
        .as_mut()
        .map(|t| {
            let topology = Topology {
                epoch: t.epoch,
                subtopologies: std::mem::take(&mut t.subtopologies),
            };
            StreamsTopology::new(topology).map_err(|e| ApiError::new(e.error_code(), e.message()))
        })
        .transpose()
}

/// §4: the member, found or created; a static re-join replaces the member
/// that held its instance id (writing the replacement's records).
fn resolve_member<'a>(
    b: &Beat<'a>,
    records: &mut Vec<CoordinatorRecord>,
) -> Result<Resolved<'a>, ApiError> {
    let (group, req, gid, mid, joining) = (b.group, b.req, b.gid, b.mid, b.joining);
    let mut replaced: Option<String> = None;
    let mut is_new = false;
    let base: MemberView<'a> = match &req.instance_id {
        None => {
            let m = match group.members.get(mid) {
                Some(m) => MemberView::Stored(m),
                None if joining => {
                    is_new = true;
                    MemberView::changed(Member::new(mid))
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
                        Some(m) => MemberView::Stored(m),
                        None => {
                            is_new = true;
                            MemberView::changed(Member::new(mid))
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
                        MemberView::changed(copy)
                    }
                }
            } else {
                let s = static_owner(existing, inst, mid)?;
                check_member_epoch(s, req.member_epoch, req)?;
                MemberView::Stored(s)
            }
        }
    };
    Ok(Resolved {
        base,
        is_new,
        replaced,
    })
}

/// §5: the request's metadata applied to the member; a change writes a
/// member-metadata record and may trigger a bump.
fn update_member<'m>(
    b: &Beat<'_>,
    resolved: &'m Resolved<'_>,
    records: &mut Vec<CoordinatorRecord>,
    bump: &mut Bump,
) -> Result<MemberView<'m>, ApiError> {
    let (req, base, is_new) = (b.req, &*resolved.base, resolved.is_new);
    if req.client_tags.as_deref().is_some_and(has_duplicate_keys) {
        return Err(ApiError::bare(ErrorCode::UNKNOWN_SERVER_ERROR));
    }
    if !is_new && !metadata_changes(base, req, b.ctx, b.joining) {
        return Ok(MemberView::Stored(base));
    }
    let mut m = base.clone();
    apply_metadata(&mut m, req, b.ctx, b.joining);
    if is_new || m.metadata_differs(base) {
        records.push(records::member_metadata(b.gid, &m));
        if req.instance_id.is_none() || epoch_relevant_change(base, &m) {
            bump.bump = true;
            // The first trigger of spec 02 §8 that fires names the bump.
            bump.cause = Some(if is_new {
                BumpCause::MemberJoined
            } else if resolved.replaced.is_some() {
                BumpCause::Fenced(FenceReason::StaticMemberReplaced)
            } else {
                BumpCause::MemberMetadataChanged(causes::changed_field(base, &m))
            });
        }
    }
    Ok(MemberView::changed(m))
}

/// §6: the group's topology (the first joiner's becomes it); a member behind
/// the group's topology epoch gets STALE_TOPOLOGY.
fn resolve_topology(
    b: &Beat<'_>,
    request_topology: Option<StreamsTopology>,
    updated: &Member,
    records: &mut Vec<CoordinatorRecord>,
    statuses: &mut Vec<Status>,
) -> Result<Arc<StreamsTopology>, ApiError> {
    let group_topology = &b.group.topology;
    let topology: Arc<StreamsTopology> = match (request_topology, group_topology) {
        (Some(t), None) => {
            records.push(records::topology(b.gid, t.to_record()));
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
    if let Some(g) = group_topology {
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
    Ok(topology)
}

/// §10 task offsets: the member's offsets with this request's report, if it
/// carries one (kept on success, and seen by this heartbeat's computations).
fn reported_offsets(b: &Beat<'_>) -> Result<Option<MemberOffsets>, ApiError> {
    let req = b.req;
    if req.task_offsets.is_none() && req.task_end_offsets.is_none() {
        return Ok(None);
    }
    let offsets = req.task_offsets.as_deref().map(offsets_map).transpose()?;
    let end_offsets = req
        .task_end_offsets
        .as_deref()
        .map(offsets_map)
        .transpose()?;
    let mut entry = match (&offsets, &end_offsets) {
        (Some(_), Some(_)) => MemberOffsets::default(),
        _ => b
            .transient
            .task_offsets
            .get(b.mid)
            .cloned()
            .unwrap_or_default(),
    };
    if let Some(o) = offsets {
        entry.offsets = o;
    }
    if let Some(o) = end_offsets {
        entry.end_offsets = o;
    }
    Ok(Some(entry))
}

/// §8 triggers after the member and topology phases: a new validated
/// topology epoch, changed assignment configs, and (live with warm-ups) the
/// refinement step of a settled group, whose new refinement it returns.
fn decide_bump(
    b: &Beat<'_>,
    view: &assign::View<'_>,
    c: &ConfiguredPhase,
    offsets: OffsetsView<'_>,
    bump: &mut Bump,
) -> Option<warmup::Refined> {
    let (group, eff, req) = (b.group, &b.eff, b.req);
    if c.validated != group.validated_topology_epoch {
        bump.bump = true;
        bump.cause
            .get_or_insert(BumpCause::TopologyConfigured(c.validated >= 0));
    }
    if !bump.bump
        && !group
            .last_assignment_configs
            .matches(eff.num_standby_replicas, eff.rack_aware_assignment_tags)
    {
        bump.bump = true;
        let key = if !group
            .last_assignment_configs
            .standby_is(eff.num_standby_replicas)
        {
            "streams.num.standby.replicas"
        } else {
            "streams.rack.aware.assignment.tags"
        };
        bump.cause = Some(BumpCause::GroupConfigChanged(key.to_string()));
    }
    // Refinement step (spec 02 §8 trigger 5, live with warm-ups): a settled group whose
    // refinement changed with the reported lags (a warm-up caught up) starts a new
    // assignment epoch without running the assignor.
    if !bump.bump
        && !b.creating
        && eff.num_warmup_replicas > 0
        && (req.task_offsets.is_some() || req.task_end_offsets.is_some())
        && c.configured.is_ready()
        && group.state() == super::GroupState::Stable
    {
        let fresh = warmup::derive(view, |id| view.old_target(id), &c.configured, offsets, eff);
        if warmup::differs_from_current(view, &fresh) {
            bump.bump = true;
            bump.cause = Some(BumpCause::WarmupPromoted);
            return Some(fresh);
        }
    }
    None
}

/// §8 epoch bump: a group-metadata record for the new epoch; returns the
/// group epoch after the heartbeat.
fn bump_epoch(
    b: &Beat<'_>,
    c: &ConfiguredPhase,
    bump: Bump,
    records: &mut Vec<CoordinatorRecord>,
    effects: &mut Effects,
) -> i32 {
    let (group, eff, now) = (b.group, &b.eff, b.now);
    if !bump.bump {
        return group.group_epoch;
    }
    let group_epoch = group.group_epoch.saturating_add(1);
    records.push(records::group_metadata(
        b.gid,
        group_epoch,
        c.hash,
        c.validated,
        &StoredAssignmentConfigs::current(eff.num_standby_replicas, eff.rack_aware_assignment_tags),
        group.stored_description_epoch,
        group.failed_description_epoch,
    ));
    effects.epoch_bumped = true;
    effects.rebalance = Some(Rebalance {
        time_ms: now,
        epoch: group_epoch,
        cause: bump.cause.unwrap_or(BumpCause::MemberJoined),
        member_id: Some(b.mid.to_string()),
        tasks_moved: None,
    });
    effects.transient.refresh_deadline = Some((
        now.saturating_add(METADATA_REFRESH_INTERVAL_MS),
        group_epoch,
    ));
    group_epoch
}

/// Warm-up refinement (src/group/warmup.rs): derived once per assignment
/// epoch, for the whole group, and frozen for it; off with
/// `num.warmup.replicas` 0.
fn refine(
    b: &Beat<'_>,
    view: &assign::View<'_>,
    configured: &Configured,
    offsets: OffsetsView<'_>,
    target: &mut TargetPhase,
) {
    if target.refinement.is_some()
        || b.eff.num_warmup_replicas <= 0
        || target.delayed
        || !configured.is_ready()
    {
        return;
    }
    target.refinement = match &b.transient.refined {
        Some(r) if r.epoch == target.epoch => match view.replaced {
            // A static member replaced under a new member id takes over its
            // predecessor's target (spec 02 §4b), so its slice of the frozen
            // refinement moves to the new id too.
            Some(old) if r.assignment.contains_key(old) => {
                let mut assignment = r.assignment.clone();
                if let Some(slice) = assignment.remove(old) {
                    assignment.insert(b.mid.to_string(), slice);
                }
                Some(Arc::new(warmup::EpochRefinement {
                    epoch: r.epoch,
                    assignment,
                }))
            }
            _ => Some(r.clone()),
        },
        _ => {
            let assignment = match &target.computed {
                Some(all) => warmup::derive(view, |id| all.get(id), configured, offsets, &b.eff),
                None => warmup::derive(view, |id| view.old_target(id), configured, offsets, &b.eff),
            };
            Some(Arc::new(warmup::EpochRefinement {
                epoch: target.epoch,
                assignment,
            }))
        }
    };
}

/// §10 reconciliation: one step of the member toward its target (its slice
/// of the refinement, else of the target); arms or cancels its revocation
/// timer.
fn reconcile_member<'m>(
    b: &Beat<'_>,
    replaced: Option<&str>,
    updated: MemberView<'m>,
    target: &TargetPhase,
    records: &mut Vec<CoordinatorRecord>,
    effects: &mut Effects,
) -> Result<MemberView<'m>, ApiError> {
    if updated.is_reconciled_to(target.epoch) {
        return Ok(updated);
    }
    let empty = Tasks::default();
    let slice: &Tasks = if let Some(r) = &target.refinement {
        r.assignment.get(b.mid).map_or(&empty, |t| &**t)
    } else if target.delayed {
        &empty
    } else if let Some(all) = &target.computed {
        all.get(b.mid).map_or(&empty, |t| &**t)
    } else {
        b.group
            .targets
            .get(replaced.unwrap_or(b.mid))
            .map_or(&empty, |t| &**t)
    };
    let owned = owned_tasks(b.req);
    let next = reconcile(
        &updated,
        target.epoch,
        slice,
        owned.as_ref(),
        &b.group.owners,
    )
    .map_err(|UnknownStateFenced| {
        ApiError::new(ErrorCode::FENCED_MEMBER_EPOCH, UnknownStateFenced::MESSAGE)
    })?;
    if !next.assignment_differs(&updated) {
        return Ok(updated);
    }
    records.push(records::current_assignment(b.gid, &next));
    audit::assignment_changed(b.gid, &next);
    effects.timers.rebalance = Some(if next.state == MemberState::UnrevokedTasks {
        Some((
            b.now.saturating_add(i64::from(next.rebalance_timeout_ms)),
            next.member_epoch,
        ))
    } else {
        None
    });
    Ok(MemberView::changed(next))
}

/// The timer changes of a heartbeat, made with its records once it succeeds
/// (fields, not a list: a heartbeat changes at most these three, and the
/// no-op heartbeat allocates nothing for them).
#[derive(Debug, Default)]
struct TimerChanges {
    /// Arm the group's initial rebalance delay (deadline) unless it is running.
    initial_delay: Option<i64>,
    /// The member's revocation timer: armed `Some((deadline, member epoch))`
    /// or cancelled `None`.
    rebalance: Option<Option<(i64, i32)>>,
    /// Re-arm the member's session timer (deadline).
    session: Option<i64>,
}

/// The in-memory group state a heartbeat changes (spec 06 §4.1). Applied only
/// to a group that existed before the heartbeat: a group the heartbeat creates
/// starts from an empty one, rebuilt by its records.
#[derive(Debug, Default)]
struct TransientChanges {
    /// The topology configured again (the metadata may have changed).
    configured: Option<Arc<Configured>>,
    /// The changed topic that named the bump cause was read.
    clear_changed_topic: bool,
    /// The metadata refresh deadline set by an epoch bump.
    refresh_deadline: Option<(i64, i32)>,
    /// The member's task offsets with this heartbeat's report.
    task_offsets: Option<MemberOffsets>,
    /// The warm-up refinement of the member's assignment epoch (replaces the stored one).
    refined: Option<Arc<warmup::EpochRefinement>>,
    /// The endpoint-information epoch after this heartbeat.
    endpoint_epoch: i32,
    /// The member requested an application shutdown, the first to do so.
    shutdown_requested: bool,
}

impl TransientChanges {
    /// Whether applying these changes for member `mid` would change `t`.
    fn changes(&self, mid: &str, t: &Transient) -> bool {
        fn differs<T: PartialEq>(a: &Option<Arc<T>>, b: &Option<Arc<T>>) -> bool {
            match (a, b) {
                (None, None) => false,
                (Some(a), Some(b)) => !Arc::ptr_eq(a, b) && **a != **b,
                _ => true,
            }
        }
        self.configured
            .as_ref()
            .is_some_and(|c| !t.configured.as_ref().is_some_and(|o| Arc::ptr_eq(o, c)))
            || (self.clear_changed_topic && t.changed_topic.is_some())
            || self
                .refresh_deadline
                .is_some_and(|d| d != t.refresh_deadline)
            || self
                .task_offsets
                .as_ref()
                .is_some_and(|o| t.task_offsets.get(mid) != Some(o))
            || differs(&self.refined, &t.refined)
            || self.endpoint_epoch != t.endpoint_epoch
            || self.shutdown_requested
    }
}

/// Every state change of a heartbeat besides its records, collected while its
/// phases run and applied with the records only when it succeeds: a
/// heartbeat that fails leaves the coordinator exactly as it was.
#[derive(Debug, Default)]
struct Effects {
    /// The group epoch was bumped (`streams-group-rebalance-count`).
    epoch_bumped: bool,
    /// Why, for the rebalance history.
    rebalance: Option<Rebalance>,
    /// Active tasks the target (or refinement step) of an epoch moved.
    tasks_moved: Option<(i32, usize)>,
    /// The endpoint answer to keep once the records are applied.
    endpoints: Option<Arc<endpoints::EndpointCache>>,
    /// The assignor run that computed that target, if one did.
    assignor_run: Option<audit::AssignorRun>,
    /// Lifecycle events to log once the heartbeat succeeds.
    lifecycle: audit::Pending,
    /// Timer changes.
    timers: TimerChanges,
    /// In-memory group state.
    transient: TransientChanges,
}

/// What every phase of one (non-leave) heartbeat reads: the request, and the
/// group as it was before the heartbeat. The phases only read the coordinator;
/// what they change is collected in records and [`Effects`].
struct Beat<'a> {
    ctx: &'a RequestContext,
    req: &'a StreamsGroupHeartbeatRequest,
    gid: &'a str,
    mid: &'a str,
    now: i64,
    joining: bool,
    /// The group does not exist yet: this heartbeat's records create it.
    creating: bool,
    group: &'a GroupCore,
    transient: &'a Transient,
    eff: Effective<'a>,
}

/// The member a heartbeat is for (spec 02 §4), before its update.
struct Resolved<'a> {
    /// The stored member, a new one, or (static replacement) a copy of the
    /// replaced member under the new id.
    base: MemberView<'a>,
    is_new: bool,
    /// The member id a static re-join replaces.
    replaced: Option<String>,
}

/// The epoch-bump decision (spec 02 §8), built up by the phases that can
/// trigger it; the first trigger names the cause.
#[derive(Debug, Default)]
struct Bump {
    bump: bool,
    cause: Option<BumpCause>,
}

/// The configured topology as the heartbeat sees it (spec 02 §7).
struct ConfiguredPhase {
    configured: Arc<Configured>,
    /// The metadata hash (recomputed or stored).
    hash: i64,
    /// The topology epoch validated against the metadata, −1 when not ready.
    validated: i32,
}

/// The assignment epoch the member is reconciled toward (spec 02 §9), and
/// where its target comes from.
struct TargetPhase {
    epoch: i32,
    /// The target was computed by this heartbeat.
    computed: Option<BTreeMap<String, Arc<Tasks>>>,
    /// The initial rebalance delay holds the assignment back: empty target.
    delayed: bool,
    /// The warm-up refinement of `epoch`, if any.
    refinement: Option<Arc<warmup::EpochRefinement>>,
}

impl GroupCoordinator {
    /// Handles one StreamsGroupHeartbeat request (spec 02).
    pub fn heartbeat(
        &mut self,
        ctx: &RequestContext,
        mut req: StreamsGroupHeartbeatRequest,
    ) -> Output<StreamsGroupHeartbeatResponse> {
        let mut records = Vec::new();
        let mut internal_topics = Vec::new();
        let mut effects = Effects::default();
        let mut keep_endpoints = None;
        let result = match validate(&req) {
            Err(e) => Err(e),
            Ok(()) if req.member_epoch < 0 => self.leave(&req, ctx.now_ms, &mut records),
            Ok(()) => {
                let handled = parse_topology(&mut req).and_then(|topology| {
                    self.handle(
                        ctx,
                        &req,
                        topology,
                        &mut records,
                        &mut internal_topics,
                        &mut effects,
                    )
                });
                match handled {
                    Ok((response, creating)) => {
                        self.apply_effects(&req, creating, response.member_epoch, &mut effects);
                        keep_endpoints = effects.endpoints.take();
                        Ok(response)
                    }
                    Err(e) => Err(e),
                }
            }
        };
        let mut response = match result {
            Ok(mut r) => {
                r.member_id = req.member_id;
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
        if let Some(keep) = keep_endpoints {
            self.keep_endpoints(&req.group_id, keep);
        }
        self.output(response, records, internal_topics)
    }

    /// Applies the effects of a heartbeat that succeeded (before its records,
    /// as the handler once changed them in place).
    fn apply_effects(
        &mut self,
        req: &StreamsGroupHeartbeatRequest,
        creating: bool,
        member_epoch: i32,
        effects: &mut Effects,
    ) {
        let gid = req.group_id.as_str();
        let mid = req.member_id.as_str();
        // A join is logged before its bump and target.
        std::mem::take(&mut effects.lifecycle).emit(gid, member_epoch);
        // Counted only now: a heartbeat that fails after deciding to bump the
        // epoch (its assignor failed, say) bumped nothing.
        if effects.epoch_bumped {
            self.rebalance_count += 1;
        }
        if let Some(b) = effects.rebalance.take() {
            self.rebalances.record(gid, b);
        }
        if let Some((epoch, n)) = effects.tasks_moved {
            self.rebalances.tasks_moved(gid, epoch, n);
            audit::target_computed(gid, epoch, effects.assignor_run.as_ref(), n);
        }
        let timers = &effects.timers;
        if let Some(deadline) = timers.initial_delay {
            self.timers
                .schedule_if_absent(TimerKind::InitialDelay, gid, "", deadline);
        }
        match timers.rebalance {
            Some(Some((deadline, epoch))) => {
                self.timers
                    .schedule(TimerKind::Rebalance, gid, mid, deadline, epoch);
            }
            Some(None) => self.timers.cancel(TimerKind::Rebalance, gid, mid),
            None => {}
        }
        if let Some(deadline) = timers.session {
            self.timers
                .schedule(TimerKind::Session, gid, mid, deadline, 0);
        }
        if creating {
            return;
        }
        let c = std::mem::take(&mut effects.transient);
        // Most heartbeats leave the in-memory state as it was; the group is
        // then not touched at all, so no pre-image is taken and a group shared
        // with one is not copied (a no-op heartbeat costs no group copy).
        match self.groups.get(gid) {
            Some(g) if !c.changes(mid, &g.transient) => return,
            None => return,
            Some(_) => {}
        }
        let Some(group) = super::tracked_mut(&mut self.groups, &mut self.commits, gid) else {
            return;
        };
        let t = &mut group.transient;
        if let Some(configured) = c.configured {
            t.configured = Some(configured);
        }
        if c.clear_changed_topic {
            t.changed_topic = None;
        }
        if let Some(deadline) = c.refresh_deadline {
            t.refresh_deadline = deadline;
        }
        if let Some(offsets) = c.task_offsets {
            t.task_offsets.insert(mid.to_string(), offsets);
        }
        t.refined = c.refined;
        t.endpoint_epoch = c.endpoint_epoch;
        if c.shutdown_requested {
            t.shutdown_requested_by = Some(mid.to_string());
        }
    }

    /// A join or a heartbeat of a member (epoch ≥ 0), phase by phase. Reads
    /// the coordinator only; returns the response and whether the group is
    /// new (then its in-memory state starts empty).
    fn handle(
        &self,
        ctx: &RequestContext,
        req: &StreamsGroupHeartbeatRequest,
        request_topology: Option<StreamsTopology>,
        records: &mut Vec<CoordinatorRecord>,
        internal_topics: &mut Vec<InternalTopic>,
        effects: &mut Effects,
    ) -> Result<(StreamsGroupHeartbeatResponse, bool), ApiError> {
        let joining = req.member_epoch == 0;
        let fresh;
        let (group, creating) = match self.find_group(req, joining)? {
            Some(g) => (g, false),
            None => {
                fresh = StreamsGroup::new(&req.group_id);
                (&fresh, true)
            }
        };
        let b = Beat {
            ctx,
            req,
            gid: req.group_id.as_str(),
            mid: req.member_id.as_str(),
            now: ctx.now_ms,
            joining,
            creating,
            group: &group.core,
            transient: &group.transient,
            eff: Effective::resolve(&self.config, self.group_configs.get(req.group_id.as_str())),
        };
        if joining {
            self.check_capacity(&b)?;
        }
        let resolved = resolve_member(&b, records)?;
        if joining {
            effects.lifecycle.joined(
                b.mid,
                req.instance_id.as_deref(),
                resolved.replaced.as_deref(),
                &ctx.client_id,
                req.process_id.as_deref().unwrap_or_default(),
            );
        }
        let mut bump = Bump::default();
        let updated = update_member(&b, &resolved, records, &mut bump)?;
        let mut statuses: Vec<Status> = Vec::new();
        let topology = resolve_topology(&b, request_topology, &updated, records, &mut statuses)?;
        let configured = self.configure_topology(&b, &topology, &mut bump, effects)?;
        let reported = reported_offsets(&b)?;
        let offsets = OffsetsView::new(
            &b.transient.task_offsets,
            reported.as_ref().map(|o| (b.mid, o)),
        );
        let view = assign::View {
            group: b.group,
            updated: Some(&updated),
            replaced: resolved.replaced.as_deref(),
        };
        let refine_step = decide_bump(&b, &view, &configured, offsets, &mut bump);
        let group_epoch = bump_epoch(&b, &configured, bump, records, effects);
        let mut target = self.target(
            &b,
            &view,
            group_epoch,
            &configured.configured,
            offsets,
            refine_step,
            records,
            &mut statuses,
            effects,
        )?;
        refine(&b, &view, &configured.configured, offsets, &mut target);
        let current = reconcile_member(
            &b,
            resolved.replaced.as_deref(),
            updated,
            &target,
            records,
            effects,
        )?;
        effects.transient.task_offsets = reported;
        effects.transient.refined = target.refinement;
        effects.timers.session = Some(b.now.saturating_add(i64::from(b.eff.session_timeout_ms)));
        effects.transient.shutdown_requested =
            req.shutdown_application && b.transient.shutdown_requested_by.is_none();
        let response = self.respond(
            &b,
            &resolved,
            &current,
            &configured.configured,
            statuses,
            internal_topics,
            effects,
        );
        Ok((response, b.creating))
    }

    /// §3: the group, `None` when a join creates it.
    fn find_group(
        &self,
        req: &StreamsGroupHeartbeatRequest,
        joining: bool,
    ) -> Result<Option<&StreamsGroup>, ApiError> {
        let gid = req.group_id.as_str();
        if let Some(g) = self.groups.get(gid) {
            return Ok(Some(g));
        }
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
        Ok(None)
    }

    /// The group size limit of a join.
    fn check_capacity(&self, b: &Beat<'_>) -> Result<(), ApiError> {
        let is_static = b
            .req
            .instance_id
            .as_deref()
            .is_some_and(|i| b.group.static_members.contains_key(i));
        let max = (self.config.max_size.max(1) as usize).min(limits::MAX_MEMBERS);
        if !is_static && b.group.members.len() >= max && !b.group.members.contains_key(b.mid) {
            return Err(ApiError::new(
                ErrorCode::GROUP_MAX_SIZE_REACHED,
                format!(
                    "The streams group has reached its maximum capacity of {} members.",
                    self.config.max_size
                ),
            ));
        }
        Ok(())
    }

    /// §7: the metadata hash and the configured topology; a changed hash or
    /// readiness triggers a bump. Checks the reported tasks exist.
    fn configure_topology(
        &self,
        b: &Beat<'_>,
        topology: &StreamsTopology,
        bump: &mut Bump,
        effects: &mut Effects,
    ) -> Result<ConfiguredPhase, ApiError> {
        let (group, transient) = (b.group, b.transient);
        let mut reconfigure = group.topology.is_none();
        let mut hash = group.metadata_hash;
        let configured: Arc<Configured> = match &transient.configured {
            Some(c)
                if !reconfigure
                    && !expired(transient.refresh_deadline, group.group_epoch, b.now) =>
            {
                c.clone()
            }
            cached => {
                hash = metadata_hash(topology, &self.metadata);
                effects.transient.clear_changed_topic = true;
                if hash != group.metadata_hash {
                    bump.bump = true;
                    reconfigure = true;
                    bump.cause.get_or_insert_with(|| {
                        BumpCause::TopicMetadataChanged(transient.changed_topic.clone())
                    });
                }
                match cached {
                    Some(c) if !reconfigure => c.clone(),
                    _ => {
                        let c = Arc::new(Configured::new(
                            configure(topology, &self.metadata)
                                .map_err(|e| ApiError::new(e.error_code(), e.message()))?,
                        ));
                        effects.transient.configured = Some(c.clone());
                        c
                    }
                }
            }
        };
        let validated = if configured.is_ready() {
            check_tasks_exist(&configured, &b.req.active_tasks)?;
            check_tasks_exist(&configured, &b.req.standby_tasks)?;
            check_tasks_exist(&configured, &b.req.warmup_tasks)?;
            topology.epoch()
        } else {
            -1
        };
        Ok(ConfiguredPhase {
            configured,
            hash,
            validated,
        })
    }

    /// §9: the initial delay, and the target the member is reconciled toward:
    /// the stored one, the refinement step's, or a new one from the assignor.
    #[allow(clippy::too_many_arguments)]
    fn target(
        &self,
        b: &Beat<'_>,
        view: &assign::View<'_>,
        group_epoch: i32,
        configured: &Configured,
        offsets: OffsetsView<'_>,
        refine_step: Option<warmup::Refined>,
        records: &mut Vec<CoordinatorRecord>,
        statuses: &mut Vec<Status>,
        effects: &mut Effects,
    ) -> Result<TargetPhase, ApiError> {
        let (group, eff, now) = (b.group, &b.eff, b.now);
        let arm_delay = group.members.is_empty() && eff.initial_rebalance_delay_ms > 0;
        if arm_delay {
            effects.timers.initial_delay =
                Some(now.saturating_add(i64::from(eff.initial_rebalance_delay_ms)));
        }
        let mut target = TargetPhase {
            epoch: group.assignment_epoch,
            computed: None,
            delayed: false,
            refinement: None,
        };
        if arm_delay || self.timers.is_scheduled(TimerKind::InitialDelay, b.gid, "") {
            statuses.push(status(
                StatusCode::ASSIGNMENT_DELAYED,
                "Assignment delayed due to the configured initial rebalance delay.",
            ));
            target.delayed = true;
        } else if group.assignment_epoch >= group_epoch {
        } else if let Some(assignment) = refine_step {
            let moved = causes::moved(&assignment, |id| {
                group.members.get(id).map(|m| &m.assigned.active)
            });
            effects.tasks_moved = Some((group_epoch, moved));
            records.push(records::target_metadata(
                b.gid,
                group_epoch,
                group.assignment_timestamp,
            ));
            target.epoch = group_epoch;
            target.refinement = Some(Arc::new(warmup::EpochRefinement {
                epoch: group_epoch,
                assignment,
            }));
        } else if !interval_elapsed(group.assignment_timestamp, eff.assignment_interval_ms, now) {
            statuses.push(status(
                StatusCode::ASSIGNMENT_DELAYED,
                "Assignment delayed due to the configured assignment interval.",
            ));
        } else {
            let assignor = self
                .assignors
                .select_for(eff.assignor_name, &self.config.assignors)
                .ok()
                .ok_or_else(|| {
                    tracing::error!(
                        group_id = %group.group_id,
                        assignor = ?eff.assignor_name,
                        "no such assignor is registered; cannot compute a target assignment"
                    );
                    ApiError::bare(ErrorCode::UNKNOWN_SERVER_ERROR)
                })?;
            let configs = assign::configs(eff.num_standby_replicas, eff.rack_aware_assignment_tags);
            let (t, run) = self.audit.time(assignor.name(), || {
                assign::compute_target(
                    view,
                    group_epoch,
                    configured,
                    assignor.as_ref(),
                    &configs,
                    offsets,
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
            let moved = causes::moved_from_targets(view, &t);
            effects.tasks_moved = Some((group_epoch, moved));
            target.computed = Some(t);
            target.epoch = group_epoch;
        }
        Ok(target)
    }

    /// §12: the response.
    #[allow(clippy::too_many_arguments)]
    fn respond(
        &self,
        b: &Beat<'_>,
        resolved: &Resolved<'_>,
        current: &Member,
        configured: &Arc<Configured>,
        mut statuses: Vec<Status>,
        internal_topics: &mut Vec<InternalTopic>,
        effects: &mut Effects,
    ) -> StreamsGroupHeartbeatResponse {
        let (eff, base) = (&b.eff, &*resolved.base);
        let unchanged = std::ptr::eq::<Member>(current, base);
        let assigned_changed = !unchanged && current.assigned != base.assigned;
        let mut response = StreamsGroupHeartbeatResponse {
            member_epoch: current.member_epoch,
            heartbeat_interval_ms: eff.heartbeat_interval_ms,
            task_offset_interval_ms: eff.task_offset_interval_ms,
            acceptable_recovery_lag: eff.acceptable_recovery_lag,
            ..StreamsGroupHeartbeatResponse::default()
        };
        if b.joining || assigned_changed {
            response.active_tasks = Some(convert::active_task_ids(&current.assigned.active));
            response.standby_tasks = Some(convert::task_ids(&current.assigned.standby));
            response.warmup_tasks = Some(convert::task_ids(&current.assigned.warmup));
        }
        let endpoint_changed = !unchanged && current.user_endpoint != base.user_endpoint;
        let mut endpoint_epoch = b.transient.endpoint_epoch;
        if endpoint_changed || (assigned_changed && current.user_endpoint.is_some()) {
            endpoint_epoch = endpoint_epoch.wrapping_add(1);
        }
        effects.transient.endpoint_epoch = endpoint_epoch;
        if endpoint_epoch != b.req.endpoint_information_epoch {
            let (answer, keep) = endpoints::answer(
                b.group,
                b.transient.endpoints.as_deref(),
                current,
                !unchanged || resolved.replaced.is_some(),
                resolved.replaced.as_deref(),
                configured,
                &self.metadata,
            );
            response.partitions_by_user_endpoint = Some(answer);
            effects.endpoints = keep;
        }
        if !b.creating {
            response.endpoint_information_epoch = endpoint_epoch;
        }
        if let Some(st) = &configured.status {
            internal_topics.extend(configured.internal_topics_to_create.iter().cloned());
            statuses.push(status(st.code(), st.detail()));
        }
        let shutdown_by = match &b.transient.shutdown_requested_by {
            Some(who) => Some(who.as_str()),
            None => effects.transient.shutdown_requested.then_some(b.mid),
        };
        if let Some(who) = shutdown_by {
            statuses.push(status(
                StatusCode::SHUTDOWN_APPLICATION,
                format!("Streams group member {who} encountered a fatal error and requested a shutdown for the entire application."),
            ));
        }
        if b.ctx.api_version >= 1 && !eff.rack_aware_assignment_tags.is_empty() {
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
        response
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
                let s = static_owner(group.static_member(inst), inst, mid)?;
                if req.member_epoch == -2 {
                    audit::static_member_paused(gid, mid, inst);
                    let mut left = s.clone();
                    left.member_epoch = -2;
                    left.pending_revocation = Default::default();
                    left.assigned.active = left.assigned.active.with_epoch(0);
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
        audit::member_removed(
            gid,
            member_id,
            group.members.get(member_id).map(|m| &**m),
            &cause,
        );
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
                let Some(assignor) = self
                    .assignors
                    .select_for(eff.assignor_name, &self.config.assignors)
                    .ok()
                    .cloned()
                else {
                    tracing::warn!(
                        group_id = gid,
                        epoch = group.group_epoch,
                        "initial rebalance delay expired but no assignor is registered; nothing written"
                    );
                    return;
                };
                let configs = group.last_assignment_configs.assignor_configs();
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
                        OffsetsView::from(&group.transient.task_offsets),
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
