//! [`Harness`]: the pure shard ([`streams_coordinator::shard::Shard`]) on a
//! simulated clock, over an in-memory record log, as the broker around it.
//!
//! This is the one driver loop of the project's deterministic runs (the
//! scenario runner, the simulation test, the core tests, the fleet demo in
//! process): it hands the shard's log reads and appends to a [`MemoryLog`],
//! feeds the outcomes back, and collects the replies by token. Appends are
//! acknowledged at once unless the log is told otherwise: failed
//! ([`MemoryLog::fail_next_appends`], [`MemoryLog::set_failing`]), delayed
//! by simulated time ([`MemoryLog::set_append_delay`]) or held until
//! released ([`MemoryLog::hold_appends`], [`Harness::release`]).
//!
//! Like the broker, the harness keeps what the shard's log does not hold:
//! the cluster metadata, the groups' dynamic configs and the groups of other
//! types, re-applied at every load and rebuild and used by
//! [`Harness::rebuilt`], the replay check of every driver.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, PoisonError};

use streams_coordinator::assignor::AssignorRegistry;
use streams_coordinator::group::{
    clear_not_persisted, ConfigError, CoordinatorConfig, ForeignGroupKind, GroupCoordinator,
    ReplayError, RequestContext, Stopwatch,
};
use streams_coordinator::protocol::describe::DescribedGroup;
use streams_coordinator::protocol::{
    CoordinatorRecord, ErrorCode, Message, StreamsGroupDescribeRequest,
    StreamsGroupDescribeResponse, StreamsGroupHeartbeatRequest, StreamsGroupHeartbeatResponse,
};
use streams_coordinator::shard::{
    Answer, Append, Failure, HeartbeatDone, LoadError, Loaded, LoadedLog, Phase, Request, Shard,
    SinkError,
};
use streams_coordinator::topology::ClusterMetadata;

use crate::memory::Faults;

/// Most timers one [`Harness::advance_to`] fires (a coordinator re-arming a
/// timer at the same instant forever would otherwise hang the driver).
pub const MAX_TIMERS_PER_ADVANCE: usize = 1_000_000;

/// The reply token of a request handed to the harness.
pub type Token = u64;

/// The in-memory `__consumer_offsets` partition under the harness, with
/// fault injection. It follows the `RecordSink` contract of the service: an
/// append is atomic (a failed one stores nothing), each read starts a new
/// load epoch and an append of an older epoch is fenced
/// ([`SinkError::NotLeader`]).
#[derive(Clone, Debug, Default)]
pub struct MemoryLog {
    records: Vec<CoordinatorRecord>,
    epoch: u64,
    faults: Faults,
    hold: bool,
    delay_ms: i64,
}

impl MemoryLog {
    /// A log holding `records`.
    pub fn with_records(records: Vec<CoordinatorRecord>) -> Self {
        MemoryLog {
            records,
            ..MemoryLog::default()
        }
    }

    /// The durable records, in order.
    pub fn records(&self) -> &[CoordinatorRecord] {
        &self.records
    }

    /// The epoch of the latest read (0 before any).
    pub fn epoch(&self) -> u64 {
        self.epoch
    }

    /// Successful appends so far.
    pub fn append_count(&self) -> u64 {
        self.faults.appends
    }

    /// Appends refused because their epoch was stale.
    pub fn fenced_count(&self) -> u64 {
        self.faults.fenced
    }

    /// Makes the next `n` appends fail with a storage error.
    pub fn fail_next_appends(&mut self, n: u32) {
        self.faults.fail_next = n;
    }

    /// Makes every append fail (`true`) until called with `false`.
    pub fn set_failing(&mut self, failing: bool) {
        self.faults.failing = failing;
    }

    /// Makes every read fail (`true`) until called with `false`.
    pub fn set_read_failing(&mut self, failing: bool) {
        self.faults.read_failing = failing;
    }

    /// Makes every append complete `ms` of simulated time after it was
    /// handed out (0: at once).
    pub fn set_append_delay(&mut self, ms: i64) {
        self.delay_ms = ms.max(0);
    }

    /// Holds every append in flight until [`Harness::release`] (`true`), or
    /// completes them again (`false`).
    pub fn hold_appends(&mut self, hold: bool) {
        self.hold = hold;
    }

    fn read(&mut self, partition: i32) -> Result<LoadedLog, SinkError> {
        self.faults.admit_read(partition)?;
        self.epoch += 1;
        Ok(LoadedLog {
            epoch: self.epoch,
            records: Arc::new(self.records.clone()),
        })
    }

    fn append(&mut self, partition: i32, append: &Append) -> Result<(), SinkError> {
        self.faults
            .admit_append(partition, append.epoch, self.epoch)?;
        self.records.extend(append.records.iter().cloned());
        Ok(())
    }
}

/// A mark the broker gave about a group of another type, and how many
/// records the log held then (for the replay check).
#[derive(Clone, Debug)]
struct ForeignMark {
    after_records: usize,
    group_id: String,
    kind: Option<ForeignGroupKind>,
    empty: bool,
}

/// The append in flight and when it completes (`None`: held).
struct Inflight {
    append: Append,
    due: Option<i64>,
}

/// Which state the shard's reads (describe, list, offset-fetch validation)
/// answer at.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Reads {
    /// The committed state, as in a broker (docs/behaviour.md).
    #[default]
    Committed,
    /// The latest state, as the core alone answers: for the scenario files,
    /// which pin the core's answers (a record-less change is described at
    /// once).
    Latest,
}

/// Why [`Harness::rebuilt`] could not rebuild a coordinator from the log.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RebuildError {
    /// A stored group config was refused.
    Config {
        /// The group.
        group_id: String,
        /// Why.
        error: ConfigError,
    },
    /// A record did not replay.
    Replay {
        /// Its index in the log.
        index: usize,
        /// The record.
        record: Box<CoordinatorRecord>,
        /// Why.
        error: ReplayError,
    },
}

impl std::fmt::Display for RebuildError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RebuildError::Config { group_id, error } => {
                write!(f, "group config of {group_id}: {error}")
            }
            RebuildError::Replay { index, error, .. } => write!(f, "record {index}: {error}"),
        }
    }
}

impl std::error::Error for RebuildError {}

/// Why a group config change did not apply.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum GroupConfigError {
    /// The coordinator refused a setting.
    Config(ConfigError),
    /// The shard refused the request (not loaded, append failed).
    Refused(Failure),
}

impl std::fmt::Display for GroupConfigError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            GroupConfigError::Config(e) => e.fmt(f),
            GroupConfigError::Refused(failure) => write!(f, "refused: {}", failure.code.name()),
        }
    }
}

impl std::error::Error for GroupConfigError {}

/// One shard of one partition, driven on a simulated clock over a
/// [`MemoryLog`]. See the [module documentation](self).
pub struct Harness {
    partition: i32,
    reads: Reads,
    config: CoordinatorConfig,
    assignors: Arc<AssignorRegistry>,
    shard: Shard<Token>,
    log: MemoryLog,
    inflight: Option<Inflight>,
    now: i64,
    next_token: Token,
    replies: BTreeMap<Token, Result<Answer, Failure>>,
    metadata: Arc<ClusterMetadata>,
    group_configs: BTreeMap<String, Vec<(String, String)>>,
    foreign: Vec<ForeignMark>,
    written: Vec<CoordinatorRecord>,
    last_load: Option<Result<Loaded, LoadError>>,
    stopwatch: Option<Arc<dyn Stopwatch>>,
}

impl std::fmt::Debug for Harness {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Harness")
            .field("now", &self.now)
            .field("shard", &self.shard)
            .field("records", &self.log.records.len())
            .finish_non_exhaustive()
    }
}

impl Harness {
    /// A harness over an empty log, loaded at time 0; reads answer at the
    /// committed state, as in a broker.
    pub fn new(config: CoordinatorConfig, assignors: Arc<AssignorRegistry>) -> Self {
        Self::with_log(config, assignors, MemoryLog::default(), Reads::Committed)
    }

    /// A harness over `log`, loaded (or failed to load) at time 0.
    pub fn with_log(
        config: CoordinatorConfig,
        assignors: Arc<AssignorRegistry>,
        log: MemoryLog,
        reads: Reads,
    ) -> Self {
        let metadata = Arc::new(ClusterMetadata::new());
        let partition = 0;
        let mut h = Harness {
            partition,
            shard: Self::new_shard(partition, &config, &assignors, &metadata, reads),
            reads,
            config,
            assignors,
            log,
            inflight: None,
            now: 0,
            next_token: 1,
            replies: BTreeMap::new(),
            metadata,
            group_configs: BTreeMap::new(),
            foreign: Vec::new(),
            written: Vec::new(),
            last_load: None,
            stopwatch: None,
        };
        h.pump();
        h
    }

    /// A second harness as a fail-over to another broker starts it: over a
    /// copy of this one's durable log, with what the broker keeps outside
    /// the log (metadata, group configs, groups of other types), its shard
    /// loaded at this one's current time. Driving both with the same
    /// requests compares a rebuilt coordinator's answers with the live
    /// one's.
    pub fn successor(&self) -> Harness {
        let mut h = Harness {
            partition: self.partition,
            shard: Self::new_shard(
                self.partition,
                &self.config,
                &self.assignors,
                &self.metadata,
                self.reads,
            ),
            reads: self.reads,
            config: self.config.clone(),
            assignors: Arc::clone(&self.assignors),
            log: MemoryLog::with_records(self.log.records.clone()),
            inflight: None,
            now: self.now,
            next_token: 1,
            replies: BTreeMap::new(),
            metadata: Arc::clone(&self.metadata),
            group_configs: self.group_configs.clone(),
            foreign: self.foreign.clone(),
            written: Vec::new(),
            last_load: None,
            stopwatch: self.stopwatch.clone(),
        };
        if let Some(s) = &h.stopwatch {
            h.shard.set_stopwatch(Arc::clone(s));
        }
        h.pump();
        h
    }

    /// Installs the stopwatch that times assignor runs (logs and metrics,
    /// see [`Shard::set_stopwatch`]), kept for every later shard.
    pub fn set_stopwatch(&mut self, stopwatch: Arc<dyn Stopwatch>) {
        self.shard.set_stopwatch(Arc::clone(&stopwatch));
        self.stopwatch = Some(stopwatch);
    }

    /// The simulated time, ms.
    pub fn now(&self) -> i64 {
        self.now
    }

    /// The broker settings.
    pub fn config(&self) -> &CoordinatorConfig {
        &self.config
    }

    /// The shard (its phase, epoch, idleness).
    pub fn shard(&self) -> &Shard<Token> {
        &self.shard
    }

    /// The coordinator, for reads: they answer at the committed state.
    pub fn coordinator(&self) -> &GroupCoordinator {
        self.shard.coordinator()
    }

    /// The log, to inject faults or look at what is durable.
    pub fn log(&mut self) -> &mut MemoryLog {
        &mut self.log
    }

    /// The durable records, in order.
    pub fn records(&self) -> &[CoordinatorRecord] {
        &self.log.records
    }

    /// The records made durable since the last call, in order.
    pub fn take_written(&mut self) -> Vec<CoordinatorRecord> {
        std::mem::take(&mut self.written)
    }

    /// The outcome of the latest load or rebuild.
    pub fn last_load(&self) -> Option<&Result<Loaded, LoadError>> {
        self.last_load.as_ref()
    }

    /// The cluster metadata the broker publishes.
    pub fn metadata(&self) -> &Arc<ClusterMetadata> {
        &self.metadata
    }

    /// The groups' dynamic configs the broker keeps, merged per group.
    pub fn group_configs(&self) -> &BTreeMap<String, Vec<(String, String)>> {
        &self.group_configs
    }

    /// Moves the clock to `at` (never back), firing every due timer at its
    /// own deadline, in order, and completing delayed appends as their time
    /// comes. Returns how many timer deadlines were reached, or `Err` with
    /// [`MAX_TIMERS_PER_ADVANCE`] if more were due.
    pub fn advance_to(&mut self, at: i64) -> Result<usize, usize> {
        let mut fired = 0usize;
        loop {
            let timer = self.shard.next_deadline().filter(|d| *d <= at);
            let append = self
                .inflight
                .as_ref()
                .and_then(|i| i.due)
                .filter(|d| *d <= at);
            match (timer, append) {
                (Some(t), a) if a.is_none_or(|a| t <= a) => {
                    fired += 1;
                    if fired > MAX_TIMERS_PER_ADVANCE {
                        return Err(MAX_TIMERS_PER_ADVANCE);
                    }
                    self.now = self.now.max(t);
                    self.shard.advance_time(self.now);
                    self.pump();
                }
                (_, Some(a)) => {
                    self.now = self.now.max(a);
                    self.pump();
                }
                _ => break,
            }
        }
        self.now = self.now.max(at);
        self.pump();
        Ok(fired)
    }

    /// Hands `request` to the shard at the current time and runs the shard
    /// until nothing moves; the reply is then taken with
    /// [`reply`](Self::reply) (it waits while an append is held or delayed).
    pub fn submit(&mut self, request: Request) -> Token {
        let token = self.next_token;
        self.next_token += 1;
        self.shard.handle(token, request, self.now);
        self.pump();
        token
    }

    /// The reply to `token`, once it is ready (taken once).
    pub fn reply(&mut self, token: Token) -> Option<Result<Answer, Failure>> {
        self.replies.remove(&token)
    }

    /// Submits `request` and returns its reply.
    ///
    /// # Panics
    /// If the reply waits for an append that is held or delayed: use
    /// [`submit`](Self::submit) and [`reply`](Self::reply) then.
    pub fn call(&mut self, request: Request) -> Result<Answer, Failure> {
        let token = self.submit(request);
        self.reply(token)
            .expect("the reply waits for a held or delayed append: use submit and reply")
    }

    /// A StreamsGroupHeartbeat; its answer once its records are durable.
    pub fn heartbeat(
        &mut self,
        ctx: &RequestContext,
        request: StreamsGroupHeartbeatRequest,
    ) -> Result<HeartbeatDone, Failure> {
        match self.call(Request::Heartbeat(ctx.clone(), Box::new(request)))? {
            Answer::Heartbeat(done) => Ok(done),
            other => panic!("a heartbeat answered {other:?}"),
        }
    }

    /// A StreamsGroupHeartbeat answered as a broker sends it: a request the
    /// shard refused (not loaded, append failed) is a response carrying the
    /// failure's error code and message, with no internal topics to create.
    pub fn heartbeat_response(
        &mut self,
        ctx: &RequestContext,
        request: StreamsGroupHeartbeatRequest,
    ) -> HeartbeatDone {
        self.heartbeat(ctx, request)
            .unwrap_or_else(|failure| HeartbeatDone {
                response: StreamsGroupHeartbeatResponse {
                    error_code: failure.code.0,
                    error_message: failure.message,
                    ..StreamsGroupHeartbeatResponse::default()
                },
                internal_topics: Vec::new(),
            })
    }

    /// A StreamsGroupDescribe, answered at the committed state.
    pub fn describe(
        &mut self,
        ctx: &RequestContext,
        request: StreamsGroupDescribeRequest,
    ) -> Result<Vec<DescribedGroup>, Failure> {
        match self.call(Request::Describe(ctx.clone(), request))? {
            Answer::Described(groups) => Ok(groups),
            other => panic!("a describe answered {other:?}"),
        }
    }

    /// Runs `op` on the coordinator as a write: its records are appended and
    /// its result returned once they are durable.
    pub fn write<R, F>(&mut self, op: F) -> Result<R, Failure>
    where
        R: Send + 'static,
        F: FnOnce(&mut GroupCoordinator, i64) -> (R, Vec<CoordinatorRecord>) + Send + 'static,
    {
        let slot = Arc::new(Mutex::new(None));
        let out = Arc::clone(&slot);
        let request = Request::Write(Box::new(move |core, now| {
            let (result, records) = op(core, now);
            *out.lock().unwrap_or_else(PoisonError::into_inner) = Some(result);
            records
        }));
        self.call(request)?;
        let result = slot.lock().unwrap_or_else(PoisonError::into_inner).take();
        result.ok_or_else(|| Failure::new(ErrorCode::NOT_COORDINATOR))
    }

    /// Publishes new cluster metadata (the shard keeps it for rebuilds).
    pub fn update_metadata(&mut self, metadata: Arc<ClusterMetadata>) {
        self.metadata = Arc::clone(&metadata);
        self.shard.update_metadata(metadata, self.now);
        self.pump();
    }

    /// Changes the dynamic settings of `group_id` (`group.streams.*`
    /// names, as an operator's IncrementalAlterConfigs SET); on success the
    /// broker keeps them merged with the earlier ones for every later load.
    pub fn update_group_config(
        &mut self,
        group_id: &str,
        configs: &[(String, String)],
    ) -> Result<(), GroupConfigError> {
        let (id, list) = (group_id.to_owned(), configs.to_vec());
        self.write(
            move |core, now| match core.update_group_config(&id, &list, now) {
                Ok(out) => (Ok(()), out.records),
                Err(e) => (Err(e), Vec::new()),
            },
        )
        .map_err(GroupConfigError::Refused)?
        .map_err(GroupConfigError::Config)?;
        let merged = self.group_configs.entry(group_id.to_owned()).or_default();
        for (k, v) in configs {
            merged.retain(|(old, _)| old != k);
            merged.push((k.clone(), v.clone()));
        }
        Ok(())
    }

    /// The broker's word that a group of another type holds `group_id`
    /// (`None`: no longer), and whether that group is empty.
    pub fn set_foreign_group(
        &mut self,
        group_id: &str,
        kind: Option<ForeignGroupKind>,
        empty: bool,
    ) -> Result<(), Failure> {
        self.foreign.push(ForeignMark {
            after_records: self.log.records.len(),
            group_id: group_id.to_owned(),
            kind,
            empty,
        });
        let id = group_id.to_owned();
        self.write(move |core, _| {
            core.set_foreign_group(&id, kind, empty);
            ((), Vec::new())
        })
    }

    /// Completes the append in flight (held or delayed) now; false if none.
    pub fn release(&mut self) -> bool {
        let Some(inflight) = self.inflight.as_mut() else {
            return false;
        };
        inflight.due = Some(self.now);
        self.pump();
        true
    }

    /// A fail-over: the shard resigns (everything waiting is answered
    /// NOT_COORDINATOR, the append in flight is abandoned) and a new one
    /// loads the durable log under the next epoch.
    pub fn fail_over(&mut self) {
        self.shard.unload();
        self.inflight = None;
        self.collect_replies();
        self.shard = Self::new_shard(
            self.partition,
            &self.config,
            &self.assignors,
            &self.metadata,
            self.reads,
        );
        if let Some(s) = &self.stopwatch {
            self.shard.set_stopwatch(Arc::clone(s));
        }
        self.pump();
    }

    fn new_shard(
        partition: i32,
        config: &CoordinatorConfig,
        assignors: &Arc<AssignorRegistry>,
        metadata: &Arc<ClusterMetadata>,
        reads: Reads,
    ) -> Shard<Token> {
        let shard = Shard::new(
            partition,
            config.clone(),
            Arc::clone(assignors),
            Arc::clone(metadata),
        );
        match reads {
            Reads::Committed => shard,
            Reads::Latest => shard.reading_latest(),
        }
    }

    /// A coordinator rebuilt from the durable log as a fail-over would
    /// (the metadata, the group configs and the groups of other types the
    /// broker keeps; each foreign mark at its place in the log), its timers
    /// re-armed at the current time.
    pub fn rebuilt(&self) -> Result<GroupCoordinator, RebuildError> {
        let mut rebuilt = GroupCoordinator::new(self.config.clone(), Arc::clone(&self.assignors));
        let _ = rebuilt.update_metadata(Arc::clone(&self.metadata), self.now);
        for (group_id, configs) in &self.group_configs {
            if let Err(error) = rebuilt.update_group_config(group_id, configs, self.now) {
                return Err(RebuildError::Config {
                    group_id: group_id.clone(),
                    error,
                });
            }
        }
        let mut foreign = self.foreign.iter().peekable();
        for (index, record) in self.log.records.iter().enumerate() {
            while let Some(f) = foreign.next_if(|f| f.after_records <= index) {
                rebuilt.set_foreign_group(&f.group_id, f.kind, f.empty);
            }
            if let Err(error) = rebuilt.replay(record) {
                return Err(RebuildError::Replay {
                    index,
                    record: Box::new(record.clone()),
                    error,
                });
            }
        }
        for f in foreign {
            rebuilt.set_foreign_group(&f.group_id, f.kind, f.empty);
        }
        let _ = rebuilt.on_loaded(self.now);
        Ok(rebuilt)
    }

    /// The replay check: describes `group_ids` on the shard (committed
    /// state) and on [`rebuilt`](Self::rebuilt), both with the fields that
    /// are deliberately not persisted cleared ([`clear_not_persisted`]).
    /// They must be equal.
    pub fn persisted_views(
        &self,
        group_ids: &[String],
    ) -> Result<(StreamsGroupDescribeResponse, StreamsGroupDescribeResponse), RebuildError> {
        let rebuilt = self.rebuilt()?;
        let request = StreamsGroupDescribeRequest {
            group_ids: group_ids.to_vec(),
            include_authorized_operations: false,
            include_topology_description: false,
        };
        let ctx = RequestContext {
            api_version: StreamsGroupDescribeRequest::HIGHEST_VERSION,
            client_id: "client".into(),
            client_host: "/127.0.0.1".into(),
            now_ms: self.now,
        };
        let view = |c: &GroupCoordinator| {
            let mut d = c.describe(&ctx, &request);
            d.groups.iter_mut().for_each(clear_not_persisted);
            d
        };
        Ok((view(self.coordinator()), view(&rebuilt)))
    }

    /// The driver loop: performs the shard's log read and appends and
    /// collects its replies until nothing moves.
    fn pump(&mut self) {
        loop {
            let mut moved = false;
            if self.shard.poll_read(self.now) {
                moved = true;
                let log = self.log.read(self.partition);
                let configs: Vec<(String, Vec<(String, String)>)> = self
                    .group_configs
                    .iter()
                    .map(|(g, c)| (g.clone(), c.clone()))
                    .collect();
                let outcome = self.shard.on_log(log, &configs, self.now);
                if outcome.is_ok() && self.shard.phase() == Phase::Active {
                    self.reapply_foreign();
                }
                self.last_load = Some(outcome);
            }
            if self.inflight.is_none() {
                if let Some(append) = self.shard.poll_append() {
                    moved = true;
                    let due = (!self.log.hold).then(|| self.now + self.log.delay_ms);
                    self.inflight = Some(Inflight { append, due });
                }
            }
            if self
                .inflight
                .as_ref()
                .is_some_and(|i| i.due.is_some_and(|d| d <= self.now))
            {
                moved = true;
                if let Some(Inflight { append, .. }) = self.inflight.take() {
                    let result = self.log.append(self.partition, &append);
                    if result.is_ok() {
                        self.written.extend(append.records.iter().cloned());
                    }
                    self.shard.on_appended(append.seq, result, self.now);
                }
            }
            moved |= self.collect_replies();
            if !moved {
                break;
            }
        }
    }

    fn collect_replies(&mut self) -> bool {
        let mut any = false;
        while let Some(reply) = self.shard.poll_reply() {
            any = true;
            self.replies.insert(reply.token, reply.result);
        }
        any
    }

    /// After a load: the broker's latest word on each foreign group id.
    fn reapply_foreign(&mut self) {
        let mut latest: BTreeMap<&str, &ForeignMark> = BTreeMap::new();
        for f in &self.foreign {
            latest.insert(&f.group_id, f);
        }
        let marks: Vec<(String, Option<ForeignGroupKind>, bool)> = latest
            .values()
            .map(|f| (f.group_id.clone(), f.kind, f.empty))
            .collect();
        if marks.is_empty() {
            return;
        }
        let token = self.next_token;
        self.next_token += 1;
        self.shard.handle(
            token,
            Request::Write(Box::new(move |core, _| {
                for (id, kind, empty) in &marks {
                    core.set_foreign_group(id, *kind, *empty);
                }
                Vec::new()
            })),
            self.now,
        );
        self.collect_replies();
        self.replies.remove(&token);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use streams_coordinator::protocol::heartbeat::{Subtopology, Topology};
    use streams_coordinator::protocol::Uuid;

    fn harness() -> Harness {
        let mut config = CoordinatorConfig::default();
        config
            .set("group.streams.initial.rebalance.delay.ms", "0")
            .expect("valid");
        let mut h = Harness::new(config, Arc::new(AssignorRegistry::default()));
        h.update_metadata(Arc::new(ClusterMetadata::new().with_topic(
            Uuid::from_u64_pair(1, 1),
            "input",
            4,
        )));
        h
    }

    fn ctx() -> RequestContext {
        RequestContext {
            api_version: 1,
            client_id: "c".into(),
            client_host: "/127.0.0.1".into(),
            now_ms: 0,
        }
    }

    fn join(member: &str) -> Request {
        Request::Heartbeat(
            ctx(),
            Box::new(StreamsGroupHeartbeatRequest {
                group_id: "app".into(),
                member_id: member.into(),
                member_epoch: 0,
                rebalance_timeout_ms: 30_000,
                process_id: Some(format!("p-{member}")),
                topology: Some(Topology {
                    epoch: 0,
                    subtopologies: vec![Subtopology {
                        subtopology_id: "0".into(),
                        source_topics: vec!["input".into()],
                        ..Subtopology::default()
                    }],
                }),
                active_tasks: Some(vec![]),
                standby_tasks: Some(vec![]),
                warmup_tasks: Some(vec![]),
                ..StreamsGroupHeartbeatRequest::default()
            }),
        )
    }

    fn epoch(answer: &Result<Answer, Failure>) -> i32 {
        match answer {
            Ok(Answer::Heartbeat(done)) => done.response.member_epoch,
            other => panic!("not a heartbeat answer: {other:?}"),
        }
    }

    #[test]
    fn appends_are_acknowledged_at_once_and_their_records_kept() {
        let mut h = harness();
        assert_eq!(h.shard().phase(), Phase::Active);
        let r = h.call(join("a"));
        assert_eq!(epoch(&r), 2);
        let written = h.take_written();
        assert!(!written.is_empty());
        assert_eq!(h.records(), written.as_slice());
        assert_eq!(h.log().append_count(), 1);
        assert!(h.take_written().is_empty(), "taken once");
    }

    #[test]
    fn a_held_append_holds_its_reply_and_group_commits_the_next_requests() {
        let mut h = harness();
        h.log().hold_appends(true);
        let a = h.submit(join("a"));
        let b = h.submit(join("b"));
        assert!(
            h.reply(a).is_none() && h.reply(b).is_none(),
            "not durable yet"
        );
        assert!(h.release());
        assert_eq!(epoch(&h.reply(a).expect("a is durable")), 2);
        assert!(h.reply(b).is_none(), "b's records are in the next append");
        assert!(h.release());
        assert!(epoch(&h.reply(b).expect("b is durable")) > 2);
        assert_eq!(h.log().append_count(), 2);
        assert!(!h.release(), "nothing in flight");
    }

    #[test]
    fn a_delayed_append_completes_when_its_simulated_time_comes() {
        let mut h = harness();
        h.log().set_append_delay(500);
        let a = h.submit(join("a"));
        h.advance_to(499).expect("few timers");
        assert!(h.reply(a).is_none());
        h.advance_to(500).expect("few timers");
        assert_eq!(epoch(&h.reply(a).expect("durable at 500")), 2);
    }

    #[test]
    fn a_failed_append_answers_retriable_and_the_shard_rebuilds_from_the_log() {
        let mut h = harness();
        assert_eq!(epoch(&h.call(join("a"))), 2);
        h.log().fail_next_appends(1);
        let failed = h.call(join("b"));
        assert_eq!(
            failed.err().map(|f| f.code),
            Some(ErrorCode::NOT_COORDINATOR)
        );
        // Rebuilt at once from the durable log: only a is a member.
        assert_eq!(h.shard().phase(), Phase::Active);
        assert!(matches!(h.last_load(), Some(Ok(Loaded::Rebuilt))));
        let groups = h
            .describe(
                &ctx(),
                StreamsGroupDescribeRequest {
                    group_ids: vec!["app".into()],
                    ..Default::default()
                },
            )
            .expect("described");
        let members: Vec<&str> = groups[0]
            .members
            .iter()
            .map(|m| m.member_id.as_str())
            .collect();
        assert_eq!(members, vec!["a"]);
    }

    #[test]
    fn an_append_of_a_former_shard_is_fenced_after_a_fail_over() {
        let mut h = harness();
        h.log().hold_appends(true);
        let a = h.submit(join("a"));
        let stale = h.inflight.as_ref().map(|i| i.append.clone()).expect("held");
        h.fail_over();
        assert_eq!(
            h.reply(a).and_then(Result::err).map(|f| f.code),
            Some(ErrorCode::NOT_COORDINATOR)
        );
        assert_eq!(h.log().epoch(), 2);
        assert!(matches!(
            h.log.append(0, &stale),
            Err(SinkError::NotLeader { .. })
        ));
        assert_eq!(h.log().fenced_count(), 1);
        assert!(h.records().is_empty());
    }

    #[test]
    fn the_replay_check_sees_what_the_broker_keeps_outside_the_log() {
        let mut h = harness();
        h.call(join("a")).expect("joined");
        h.update_group_config(
            "app",
            &[("streams.num.standby.replicas".into(), "1".into())],
        )
        .expect("valid config");
        h.set_foreign_group("orders", Some(ForeignGroupKind::Consumer), false)
            .expect("written");
        let ids = vec!["app".to_string(), "orders".to_string()];
        let (live, rebuilt) = h.persisted_views(&ids).expect("rebuilt");
        assert_eq!(live, rebuilt);
        assert_eq!(
            live.groups[1].error_message.as_deref(),
            Some("Group orders is not a streams group.")
        );
        assert_eq!(
            h.update_group_config(
                "app",
                &[("streams.num.standby.replicas".into(), "x".into())]
            )
            .map_err(|e| matches!(e, GroupConfigError::Config(_))),
            Err(true)
        );
    }
}
