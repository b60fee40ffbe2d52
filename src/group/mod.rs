//! The pure coordinator state machine of streams groups (KIP-1071).
//!
//! A [`GroupCoordinator`] owns the streams groups of one shard (one
//! `__consumer_offsets` partition). It does no I/O and reads no clock: every
//! input — a decoded request with its [`RequestContext`], a change of cluster
//! metadata or group configuration, "now is T", a persisted record — is an
//! argument, and every output is returned as plain data in an [`Output`]: the
//! response, the records to persist (in order), the internal topics the broker
//! should create, and the next deadline at which [`GroupCoordinator::advance_time`]
//! must be called.
//!
//! # How state changes
//!
//! As in Kafka, a request handler reads the state as it was before the request
//! and produces records; the coordinator then applies those records with the
//! same code that replays them after a fail-over ([`GroupCoordinator::replay`]).
//! Replaying a shard's records into a fresh coordinator therefore rebuilds the
//! same groups by construction. The caller must persist `records` before it
//! sends `response`; if persisting fails it rebuilds the shard from what is
//! durable (replay, then [`GroupCoordinator::on_loaded`]).
//!
//! A few things are deliberately held in memory only, exactly as Kafka holds
//! them (spec 06 §4.1): the configured topology, the metadata refresh deadline,
//! task offsets, the endpoint-information epoch, the shutdown request and the
//! timers. docs/behaviour.md lists them and what a rebuilt coordinator shows
//! instead; [`clear_not_persisted`] removes the describe fields they affect, to
//! compare a rebuilt coordinator with the live one. docs/state-machine.md walks
//! through one rebalance.
//!
//! # Limits
//!
//! Every size a request controls is bounded (see [`limits`]); a request beyond
//! a limit is answered with `INVALID_REQUEST`. No request and no record makes
//! the coordinator panic.

mod assign;
pub mod audit;
mod causes;
mod config;
mod convert;
mod describe;
mod endpoints;
mod heartbeat;
#[cfg(test)]
mod heartbeat_tests;
pub mod limits;
mod load;
mod member;
mod member_table;
mod ownership;
mod reconcile;
mod records;
mod state;
mod stored_configs;
mod tasks;
mod timers;
mod warmup;

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::assignor::AssignorRegistry;
use crate::protocol::{CoordinatorRecord, ErrorCode};
use crate::topology::{ClusterMetadata, InternalTopic};

pub use audit::{MonotonicStopwatch, Stopwatch};
pub use causes::{BumpCause, FenceReason, MetadataField, Rebalance, HISTORY_LEN};
pub use config::{ConfigError, CoordinatorConfig, GroupConfig, GroupConfigOp, RebalanceProtocol};
pub use describe::{clear_not_persisted, CommitApi, ListedGroup, OffsetCommitCheck};
pub use member::MemberState;
pub use records::ReplayError;
pub use state::{GroupState, StateFilter};

use records::GroupStore;
use state::StreamsGroup;
use timers::Timers;

/// The context of one request.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RequestContext {
    /// API version of the request.
    pub api_version: i16,
    /// `client.id` of the connection.
    pub client_id: String,
    /// Address of the client, Kafka's string form (e.g. `/127.0.0.1`).
    pub client_host: String,
    /// Current time, milliseconds.
    pub now_ms: i64,
}

/// Every output of one call, to be handled in order: persist `records`
/// (durably), then send `response`; ask the broker to create
/// `internal_topics`; call [`GroupCoordinator::advance_time`] again at
/// `next_deadline_ms`.
#[derive(Clone, Debug, PartialEq)]
pub struct Output<R> {
    /// The response.
    pub response: R,
    /// Records to persist, in order.
    pub records: Vec<CoordinatorRecord>,
    /// Internal topics the broker should create.
    pub internal_topics: Vec<InternalTopic>,
    /// Earliest time at which `advance_time` must be called (it may find
    /// nothing due).
    pub next_deadline_ms: Option<i64>,
}

/// The type of a group of another protocol that holds an id on this shard.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ForeignGroupKind {
    /// A consumer group (KIP-848).
    Consumer,
    /// A classic group.
    Classic,
    /// A share group.
    Share,
}

/// A snapshot of the coordinator metrics of spec 07 §6.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CoordinatorMetrics {
    /// `group-count{protocol=streams}`.
    pub group_count: usize,
    /// `streams-group-count{state=...}`, every state listed (zero included).
    pub groups_by_state: Vec<(GroupState, usize)>,
    /// `streams-group-rebalance-count`: group-epoch bumps made by heartbeats.
    pub rebalance_count: u64,
    /// Every group-epoch bump (heartbeats and timers) counted by cause
    /// ([`BumpCause::label`]), in label order.
    pub rebalances_by_cause: Vec<(&'static str, u64)>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Foreign {
    kind: ForeignGroupKind,
    empty: bool,
}

/// The streams groups of one shard. Pure: no I/O, no clock. Cloning gives an
/// independent copy (timers included), e.g. to fork a simulation.
pub struct GroupCoordinator {
    config: CoordinatorConfig,
    assignors: Arc<AssignorRegistry>,
    metadata: Arc<ClusterMetadata>,
    /// Shared with the pre-images of [`Commits`] (copy on write), so a read
    /// at the committed state costs no copy of a group that did not change.
    groups: BTreeMap<String, Arc<StreamsGroup>>,
    group_configs: BTreeMap<String, GroupConfig>,
    foreign: BTreeMap<String, Foreign>,
    timers: Timers,
    rebalance_count: u64,
    /// Why each group epoch was bumped (in memory only).
    rebalances: causes::RebalanceLog,
    /// Logs and metrics settings (the assignor's stopwatch).
    audit: audit::Audit,
    /// `Some` when reads answer at the committed state (see
    /// [`track_commits`](Self::track_commits)).
    commits: Option<Commits>,
}

/// The group ids changed since a point, each with its image as it was then
/// (`None`: the group did not exist).
type PreImages = BTreeMap<String, Option<Arc<StreamsGroup>>>;

/// What reads at the committed state need: the pre-image of every group
/// changed since the last durable append. Kafka's coordinator keeps a
/// snapshot per offset of its timeline structures; a shard has at most one
/// append in flight, so two generations suffice.
#[derive(Clone, Debug, Default)]
struct Commits {
    /// Changes sealed into the append in flight: their pre-images are the
    /// committed state.
    sealed: Option<PreImages>,
    /// Changes since the last seal (records pending, or changes that write
    /// none and become visible once a later append is durable).
    open: PreImages,
}

/// Records the pre-image of `id` before its first change since the last seal.
fn note_change(
    commits: &mut Option<Commits>,
    groups: &BTreeMap<String, Arc<StreamsGroup>>,
    id: &str,
) {
    if let Some(c) = commits {
        if !c.open.contains_key(id) {
            c.open.insert(id.to_string(), groups.get(id).cloned());
        }
    }
}

/// The live group `id`, to change (its pre-image kept first when reads are
/// at the committed state).
fn tracked_mut<'a>(
    groups: &'a mut BTreeMap<String, Arc<StreamsGroup>>,
    commits: &mut Option<Commits>,
    id: &str,
) -> Option<&'a mut StreamsGroup> {
    note_change(commits, groups, id);
    groups.get_mut(id).map(Arc::make_mut)
}

impl Clone for GroupCoordinator {
    /// A deep copy: the groups and their members are copied now, not shared
    /// copy-on-write, so the copy costs what it did before groups were shared
    /// and neither side pays for the other's first change.
    fn clone(&self) -> Self {
        GroupCoordinator {
            config: self.config.clone(),
            assignors: self.assignors.clone(),
            metadata: self.metadata.clone(),
            groups: self
                .groups
                .iter()
                .map(|(id, g)| (id.clone(), Arc::new(g.unshared_copy())))
                .collect(),
            group_configs: self.group_configs.clone(),
            foreign: self.foreign.clone(),
            timers: self.timers.clone(),
            rebalance_count: self.rebalance_count,
            rebalances: self.rebalances.clone(),
            audit: self.audit.clone(),
            commits: self.commits.clone(),
        }
    }
}

impl std::fmt::Debug for GroupCoordinator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GroupCoordinator")
            .field("groups", &self.groups.len())
            .field("timers", &self.timers.len())
            .finish_non_exhaustive()
    }
}

/// Before a streams group is created under `group_id`: an empty classic
/// group holding the id is replaced; any other group of another type makes
/// the record a conflict.
fn claim_foreign_id(
    foreign: &mut BTreeMap<String, Foreign>,
    group_id: &str,
) -> Result<(), ReplayError> {
    if let Some(f) = foreign.get(group_id) {
        if f.kind == ForeignGroupKind::Classic && f.empty {
            // An empty classic group is replaced by the streams group.
            foreign.remove(group_id);
        } else {
            return Err(ReplayError::GroupTypeConflict {
                group_id: group_id.to_string(),
            });
        }
    }
    Ok(())
}

impl GroupStore for GroupCoordinator {
    fn group_mut(&mut self, group_id: &str) -> Option<&mut StreamsGroup> {
        tracked_mut(&mut self.groups, &mut self.commits, group_id).map(StreamsGroup::changed)
    }

    fn group_or_create(&mut self, group_id: &str) -> Result<&mut StreamsGroup, ReplayError> {
        if self.commits.is_none() {
            // No pre-images to keep: one walk of the group tree per applied
            // record, a second only when it creates the group, and no copy of
            // the key (a load replays through `replay_all`, which holds its
            // group for a whole run of records: issue 14 item 1).
            if !self.groups.contains_key(group_id) {
                claim_foreign_id(&mut self.foreign, group_id)?;
                self.groups
                    .insert(group_id.to_string(), Arc::new(StreamsGroup::new(group_id)));
            }
            let g = self
                .groups
                .get_mut(group_id)
                .expect("the group was just found or inserted");
            return Ok(Arc::make_mut(g).changed());
        }
        if !self.groups.contains_key(group_id) {
            claim_foreign_id(&mut self.foreign, group_id)?;
            note_change(&mut self.commits, &self.groups, group_id);
            self.groups
                .insert(group_id.to_string(), Arc::new(StreamsGroup::new(group_id)));
        }
        tracked_mut(&mut self.groups, &mut self.commits, group_id)
            .map(StreamsGroup::changed)
            .ok_or_else(|| ReplayError::GroupTypeConflict {
                group_id: group_id.to_string(),
            })
    }

    fn remove_group(&mut self, group_id: &str) {
        note_change(&mut self.commits, &self.groups, group_id);
        self.groups.remove(group_id);
        self.rebalances.forget(group_id);
    }
}

impl GroupCoordinator {
    /// A coordinator with no groups, the given broker settings and assignors,
    /// and empty cluster metadata.
    pub fn new(config: CoordinatorConfig, assignors: Arc<AssignorRegistry>) -> Self {
        GroupCoordinator {
            config,
            assignors,
            metadata: Arc::new(ClusterMetadata::new()),
            groups: BTreeMap::new(),
            group_configs: BTreeMap::new(),
            foreign: BTreeMap::new(),
            timers: Timers::default(),
            rebalance_count: 0,
            rebalances: causes::RebalanceLog::default(),
            audit: audit::Audit::default(),
            commits: None,
        }
    }

    /// From now on the reads ([`describe`](Self::describe),
    /// [`list_groups`](Self::list_groups),
    /// [`validate_offset_fetch`](Self::validate_offset_fetch)) answer at the
    /// committed state: each group as it was at the last
    /// [`commit_sealed`](Self::commit_sealed) before its later changes.
    /// Without it they read the current state. The [`shard`](crate::shard)
    /// turns it on; its caller only then knows what is durable.
    pub(crate) fn track_commits(&mut self) {
        self.commits.get_or_insert_with(Commits::default);
    }

    /// The changes so far belong to the append now starting (at most one is
    /// in flight).
    pub(crate) fn seal_changes(&mut self) {
        if let Some(c) = &mut self.commits {
            let open = std::mem::take(&mut c.open);
            match &mut c.sealed {
                // Not expected (one append at a time): the older pre-image wins.
                Some(sealed) => {
                    for (id, image) in open {
                        sealed.entry(id).or_insert(image);
                    }
                }
                None => c.sealed = Some(open),
            }
        }
    }

    /// The append of the sealed changes is durable: they are committed.
    pub(crate) fn commit_sealed(&mut self) {
        if let Some(c) = &mut self.commits {
            c.sealed = None;
        }
    }

    /// Group `id` at the committed state (the current state unless
    /// [`track_commits`](Self::track_commits) is on and it changed since).
    fn committed_group(&self, id: &str) -> Option<&StreamsGroup> {
        if let Some(c) = &self.commits {
            if let Some(image) = c.sealed.as_ref().and_then(|s| s.get(id)) {
                return image.as_deref();
            }
            if let Some(image) = c.open.get(id) {
                return image.as_deref();
            }
        }
        self.groups.get(id).map(|g| &**g)
    }

    /// Every group at the committed state, by id.
    fn committed_groups(&self) -> Vec<&StreamsGroup> {
        match &self.commits {
            Some(c) if c.sealed.as_ref().is_some_and(|s| !s.is_empty()) || !c.open.is_empty() => {
                let mut ids: std::collections::BTreeSet<&str> =
                    self.groups.keys().map(String::as_str).collect();
                ids.extend(c.open.keys().map(String::as_str));
                ids.extend(c.sealed.iter().flat_map(|s| s.keys().map(String::as_str)));
                ids.into_iter()
                    .filter_map(|id| self.committed_group(id))
                    .collect()
            }
            _ => self.groups.values().map(|g| &**g).collect(),
        }
    }

    /// Installs the stopwatch that times each assignor run, for the INFO
    /// line of a new target assignment and the
    /// [`ASSIGNOR_SECONDS`](audit::names::ASSIGNOR_SECONDS) histogram only
    /// (the core reads no clock of its own; see [`audit`]).
    pub fn set_stopwatch(&mut self, stopwatch: Arc<dyn Stopwatch>) {
        self.audit.set_stopwatch(stopwatch);
    }

    /// The broker settings.
    pub fn config(&self) -> &CoordinatorConfig {
        &self.config
    }

    /// Applies one persisted record (spec 06 §4). A record for a group id held
    /// by a group of another type (other than an empty classic group), and a
    /// tombstone that would orphan state, are reported as corrupt.
    pub fn replay(&mut self, record: &CoordinatorRecord) -> Result<(), ReplayError> {
        records::apply(self, record)
    }

    /// Replays `records` in order, as [`replay`](Self::replay) would one by
    /// one, faster for a whole log (a load): a run of records of one group
    /// looks the group up once. Stops at the first record that cannot be
    /// applied, with its index; the records before it stay applied.
    pub fn replay_all(
        &mut self,
        records: &[CoordinatorRecord],
    ) -> Result<(), (usize, ReplayError)> {
        load::replay_all(self, records)
    }

    /// After a shard was rebuilt by replay: re-arms the session timer of every
    /// member and the revocation timer of every member in UNREVOKED_TASKS
    /// (spec 06 §1.5). Returns the next deadline.
    pub fn on_loaded(&mut self, now_ms: i64) -> Option<i64> {
        let (config, group_configs) = (&self.config, &self.group_configs);
        self.timers.schedule_loaded(self.groups.values().map(|g| {
            let eff = config::Effective::resolve(config, group_configs.get(&g.group_id));
            let session = now_ms.saturating_add(i64::from(eff.session_timeout_ms));
            let members = g.members.values().map(move |m| {
                let rebalance = (m.state == MemberState::UnrevokedTasks).then(|| {
                    (
                        now_ms.saturating_add(i64::from(m.rebalance_timeout_ms)),
                        m.member_epoch,
                    )
                });
                (m.member_id.as_str(), session, rebalance)
            });
            (g.group_id.as_str(), members)
        }));
        self.audit.all_groups(self.groups.values().map(|g| &**g));
        self.timers.next_deadline()
    }

    /// The earliest timer deadline (waking at it may find nothing due).
    pub fn next_deadline(&self) -> Option<i64> {
        self.timers.peek_deadline()
    }

    /// Tells the coordinator that a group of another type holds `group_id`
    /// (`None` when it no longer does), and whether that group is empty.
    pub fn set_foreign_group(
        &mut self,
        group_id: &str,
        kind: Option<ForeignGroupKind>,
        empty: bool,
    ) {
        match kind {
            Some(kind) => {
                self.foreign
                    .insert(group_id.to_string(), Foreign { kind, empty });
            }
            None => {
                self.foreign.remove(group_id);
            }
        }
    }

    /// Replaces the cluster metadata. Every group whose required topics changed
    /// has its metadata refresh deadline reset, so its next heartbeat
    /// recomputes the metadata hash (spec 02 §7). Writes no records.
    pub fn update_metadata(&mut self, metadata: Arc<ClusterMetadata>, _now_ms: i64) -> Output<()> {
        let changed: std::collections::BTreeSet<String> = self
            .metadata
            .changed_topics(&metadata)
            .into_iter()
            .map(str::to_string)
            .collect();
        if !changed.is_empty() {
            // The refresh deadline is not shown by reads: no pre-image needed.
            for g in self.groups.values_mut() {
                let affected = g.topology.as_ref().and_then(|t| {
                    t.required_topics()
                        .iter()
                        .find(|name| changed.contains(*name))
                        .cloned()
                });
                if let Some(topic) = affected {
                    let t = &mut Arc::make_mut(g).transient;
                    t.refresh_deadline = (0, 0);
                    // Named by the bump cause if the metadata hash turns out changed.
                    t.changed_topic = Some(topic);
                }
            }
        }
        self.metadata = metadata;
        self.output((), Vec::new(), Vec::new())
    }

    /// Changes (sets or overrides) per-group settings of `group_id`; each is
    /// validated against the broker bounds. Settings not named keep their
    /// values. Nothing is written: every effect happens at the group's next
    /// heartbeat or timer (spec 07 §5). Shorthand for
    /// [`alter_group_config`](Self::alter_group_config) with only SETs.
    pub fn update_group_config(
        &mut self,
        group_id: &str,
        configs: &[(String, String)],
        now_ms: i64,
    ) -> Result<Output<()>, ConfigError> {
        let changes = configs.iter().map(|(n, v)| (n.as_str(), Some(v.as_str())));
        self.change_group_config(group_id, false, changes, now_ms)
    }

    /// Applies IncrementalAlterConfigs operations on `group_id`'s settings, in
    /// order and all or nothing: a SET overrides a setting (validated against
    /// the broker bounds), a DELETE removes the override so the broker default
    /// applies again (a setting that is not overridden stays so). An unknown
    /// name, a bad value, or a result whose heartbeat interval is not below
    /// its session timeout is a [`ConfigError`] and changes nothing. A group
    /// left with no override has no entry any more. Nothing is written: every
    /// effect happens at the group's next heartbeat or timer (spec 07 §5).
    pub fn alter_group_config(
        &mut self,
        group_id: &str,
        ops: &[GroupConfigOp],
        now_ms: i64,
    ) -> Result<Output<()>, ConfigError> {
        let changes = ops.iter().map(|op| (op.name(), op.value()));
        self.change_group_config(group_id, false, changes, now_ms)
    }

    /// Replaces all per-group settings of `group_id` with `configs`: settings
    /// not listed fall back to the broker default (Kafka's group config
    /// manager is handed the whole set in the same way). Validated as
    /// [`update_group_config`](Self::update_group_config); an empty list
    /// removes every override.
    pub fn replace_group_config(
        &mut self,
        group_id: &str,
        configs: &[(String, String)],
        now_ms: i64,
    ) -> Result<Output<()>, ConfigError> {
        let changes = configs.iter().map(|(n, v)| (n.as_str(), Some(v.as_str())));
        self.change_group_config(group_id, true, changes, now_ms)
    }

    /// The one path of every group-config change: starts from the group's
    /// settings (or none when `from_default`), applies each `(name, value)`
    /// (`None` removes the override), validates the result and keeps it only
    /// then; an empty result drops the group's entry.
    fn change_group_config<'a>(
        &mut self,
        group_id: &str,
        from_default: bool,
        changes: impl IntoIterator<Item = (&'a str, Option<&'a str>)>,
        _now_ms: i64,
    ) -> Result<Output<()>, ConfigError> {
        let mut next = if from_default {
            GroupConfig::default()
        } else {
            self.group_configs
                .get(group_id)
                .cloned()
                .unwrap_or_default()
        };
        for (name, value) in changes {
            match value {
                Some(value) => next.set(name, value, &self.config, |n| {
                    self.assignors.get(n).is_some()
                })?,
                None => next.remove(name)?,
            }
        }
        next.validate(&self.config)?;
        if next.is_empty() {
            self.group_configs.remove(group_id);
        } else {
            self.group_configs.insert(group_id.to_string(), next);
        }
        Ok(self.output((), Vec::new(), Vec::new()))
    }

    /// The per-group settings of a group; `None` when none is overridden.
    pub fn group_config(&self, group_id: &str) -> Option<&GroupConfig> {
        self.group_configs.get(group_id)
    }

    /// Fires every timer due at `now_ms`, in deadline order.
    pub fn advance_time(&mut self, now_ms: i64) -> Output<()> {
        let mut records = Vec::new();
        while let Some(fired) = self.timers.pop_due(now_ms) {
            tracing::debug!(timer = %fired.key(), now_ms, "timer fired");
            let start = records.len();
            self.fire(&fired, now_ms, &mut records);
            self.apply_all(&records[start..]);
        }
        self.output((), records, Vec::new())
    }

    /// The metrics snapshot of spec 07 §6.
    pub fn metrics(&self) -> CoordinatorMetrics {
        let mut counts: BTreeMap<GroupState, usize> = BTreeMap::new();
        for g in self.groups.values() {
            *counts.entry(g.state()).or_default() += 1;
        }
        CoordinatorMetrics {
            group_count: self.groups.len(),
            groups_by_state: GroupState::ALL
                .iter()
                .map(|s| (*s, counts.get(s).copied().unwrap_or(0)))
                .collect(),
            rebalance_count: self.rebalance_count,
            rebalances_by_cause: self.rebalances.counts(),
        }
    }

    /// The last group-epoch bumps of a group (at most [`HISTORY_LEN`]), oldest
    /// first, each with its time, cause, member and the tasks its target moved.
    /// Held in memory only: a rebuilt coordinator starts with none.
    pub fn rebalance_history(&self, group_id: &str) -> Vec<Rebalance> {
        self.rebalances.history(group_id)
    }

    /// The state of a group, if it exists.
    pub fn group_state(&self, group_id: &str) -> Option<GroupState> {
        self.groups.get(group_id).map(|g| g.state())
    }

    /// Number of streams groups on this shard.
    pub fn group_count(&self) -> usize {
        self.groups.len()
    }

    fn apply_all(&mut self, records: &[CoordinatorRecord]) {
        for r in records {
            if let Err(e) = records::apply(self, r) {
                // The coordinator only applies records it produced itself; a
                // failure here is a bug, reported but never a panic.
                tracing::error!(error = %e, "failed to apply a record the coordinator produced");
            }
        }
        self.audit
            .groups_changed(records, |id| self.groups.get(id).map(|g| &**g));
    }

    fn output<R>(
        &mut self,
        response: R,
        records: Vec<CoordinatorRecord>,
        internal_topics: Vec<InternalTopic>,
    ) -> Output<R> {
        Output {
            response,
            records,
            internal_topics,
            next_deadline_ms: self.timers.next_deadline(),
        }
    }
}

/// An error answer of a request: code and optional message.
#[derive(Clone, Debug, PartialEq, Eq)]
struct ApiError {
    code: ErrorCode,
    message: Option<String>,
}

impl ApiError {
    fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        ApiError {
            code,
            message: Some(message.into()),
        }
    }

    fn bare(code: ErrorCode) -> Self {
        ApiError {
            code,
            message: None,
        }
    }
}
