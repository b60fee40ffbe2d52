//! One `__consumer_offsets` partition's coordinator and its persistence
//! protocol, as a pure state machine: no tokio, no clock, no I/O.
//!
//! A [`Shard`] is driven like raft-rs's `RawNode` or quinn-proto's
//! `Connection`: the driver feeds it inputs (requests with a reply token,
//! time, metadata, the outcome of each log read and append, unload) and polls
//! its outputs (a log read to perform, an append to perform, replies ready to
//! send, the next deadline). The rules of durability are properties of the
//! state machine, not of its driver:
//!
//! * A reply leaves only once the append holding the records it depends on
//!   is acknowledged: a request's reply is held with the batch its records
//!   joined, and released by [`Shard::on_appended`] of that batch's sequence
//!   number. A request that writes nothing but observed uncommitted writes
//!   waits for them the same way.
//! * At most one append is in flight. Requests arriving meanwhile join the
//!   next batch (group commit), which [`Shard::poll_append`] hands out once
//!   the one in flight is acknowledged.
//! * A failed append fails every waiting request with the retriable error
//!   Kafka uses for that failure ([`SinkError::error_code`]), discards the
//!   uncommitted state and asks for the log again ([`Shard::poll_read`]): the
//!   coordinator is rebuilt from the durable records, so nothing half-applied
//!   survives. An append refused as fenced ([`SinkError::NotLeader`]: a newer
//!   coordinator loaded the partition) fails the shard instead.
//! * Reads (describe, list, offset-fetch validation) are answered at once
//!   from the committed state, the state as of the last durable append,
//!   while writes keep flowing (see [`GroupCoordinator`] and
//!   docs/behaviour.md).
//! * [`Shard::unload`] answers everything waiting with NOT_COORDINATOR at
//!   once; the append in flight is abandoned (its outcome is ignored).
//!
//! Internal topics to create travel with the heartbeat answer
//! ([`HeartbeatDone::internal_topics`]): whether they may be created depends
//! on the requesting principal, which the driver knows.

mod error;

use std::collections::VecDeque;
use std::sync::Arc;

pub use error::{Failure, LoadError, LoadedLog, SinkError};

use crate::assignor::AssignorRegistry;
use crate::group::{
    CoordinatorConfig, CoordinatorMetrics, GroupCoordinator, RequestContext, Stopwatch,
};
use crate::protocol::describe::DescribedGroup;
use crate::protocol::{
    CoordinatorRecord, ErrorCode, StreamsGroupDescribeRequest, StreamsGroupHeartbeatRequest,
    StreamsGroupHeartbeatResponse,
};
use crate::topology::{ClusterMetadata, InternalTopic};

/// Attempts to re-read the log after a failed append before giving up.
pub const REBUILD_ATTEMPTS: u32 = 50;
/// Pause between those attempts, in ms.
pub const REBUILD_BACKOFF_MS: i64 = 100;

/// A read of the coordinator at the committed state; it sends its own answer.
pub type ReadOp = Box<dyn FnOnce(&GroupCoordinator) + Send>;
/// A write run on the coordinator at `now`: returns its records (the closure
/// keeps its own answer, to release when its reply says the records are
/// durable).
pub type WriteOp = Box<dyn FnOnce(&mut GroupCoordinator, i64) -> Vec<CoordinatorRecord> + Send>;

/// A request to the shard.
pub enum Request {
    /// A StreamsGroupHeartbeat.
    Heartbeat(RequestContext, Box<StreamsGroupHeartbeatRequest>),
    /// A StreamsGroupDescribe of groups of this partition.
    Describe(RequestContext, StreamsGroupDescribeRequest),
    /// The core's metrics.
    Metrics,
    /// A read at the committed state (answered at once, [`Answer::Read`]).
    Read(ReadOp),
    /// A write; answered [`Answer::Written`] once its records are durable. A
    /// write sent while the shard loads runs once it is loaded.
    Write(WriteOp),
}

impl std::fmt::Debug for Request {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Request::Heartbeat(_, r) => f.debug_tuple("Heartbeat").field(&r.group_id).finish(),
            Request::Describe(_, r) => f.debug_tuple("Describe").field(&r.group_ids).finish(),
            Request::Metrics => f.write_str("Metrics"),
            Request::Read(_) => f.write_str("Read"),
            Request::Write(_) => f.write_str("Write"),
        }
    }
}

/// A heartbeat's answer once its records are durable.
#[derive(Clone, Debug, PartialEq)]
pub struct HeartbeatDone {
    /// The response to send.
    pub response: StreamsGroupHeartbeatResponse,
    /// Internal topics the group needs (to create if the principal may).
    pub internal_topics: Vec<InternalTopic>,
}

/// The successful answer of a [`Request`].
#[derive(Clone, Debug, PartialEq)]
pub enum Answer {
    /// To [`Request::Heartbeat`].
    Heartbeat(HeartbeatDone),
    /// To [`Request::Describe`].
    Described(Vec<DescribedGroup>),
    /// To [`Request::Metrics`].
    Metrics(CoordinatorMetrics),
    /// To [`Request::Read`]: the read ran (and sent its own answer).
    Read,
    /// To [`Request::Write`]: its records are durable.
    Written,
}

/// A reply ready to send: the request's token and its outcome.
#[derive(Debug)]
pub struct Reply<T> {
    /// The token the request came with.
    pub token: T,
    /// The answer, or why the request failed.
    pub result: Result<Answer, Failure>,
}

/// An append to perform: `records` to `partition` under `epoch`; report its
/// outcome with [`Shard::on_appended`]`(seq, ..)`.
#[derive(Clone, Debug, PartialEq)]
pub struct Append {
    /// Sequence number of this append (increasing, per shard).
    pub seq: u64,
    /// The load epoch the append carries (from the [`LoadedLog`] it follows).
    pub epoch: u64,
    /// The records, in order.
    pub records: Vec<CoordinatorRecord>,
}

/// Where a shard is in its life.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Phase {
    /// Reading the log for the first time.
    Loading,
    /// Serving.
    Active,
    /// Re-reading the log after a failed append.
    Rebuilding,
    /// The log could not be loaded, or rebuilding gave up.
    Failed,
    /// Unloaded.
    Unloaded,
}

/// What [`Shard::on_log`] did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Loaded {
    /// The first load finished: the shard serves.
    Initial,
    /// The coordinator was rebuilt after a failed append: the shard serves.
    Rebuilt,
    /// Re-reading failed; the shard reads again after a pause.
    Retrying,
}

/// A reply held until the batch it depends on is durable.
struct Waiter<T> {
    token: T,
    answer: Answer,
}

struct Batch<T> {
    records: Vec<CoordinatorRecord>,
    waiters: Vec<Waiter<T>>,
}

impl<T> Default for Batch<T> {
    fn default() -> Self {
        Self {
            records: Vec::new(),
            waiters: Vec::new(),
        }
    }
}

impl<T> Batch<T> {
    fn is_empty(&self) -> bool {
        self.records.is_empty() && self.waiters.is_empty()
    }
}

struct Inflight<T> {
    seq: u64,
    waiters: Vec<Waiter<T>>,
}

/// Where the log read stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum ReadState {
    /// No read needed.
    Idle,
    /// A read is needed from this time on (ms).
    Wanted(i64),
    /// Handed out by [`Shard::poll_read`], outcome not yet reported.
    Reading,
}

/// One partition's coordinator and its persistence protocol. `T` is the
/// driver's reply token (a channel, an id, ...).
pub struct Shard<T> {
    partition: i32,
    config: CoordinatorConfig,
    assignors: Arc<AssignorRegistry>,
    core: GroupCoordinator,
    /// Times the assignor (logs and metrics only); handed to every rebuilt core.
    stopwatch: Option<Arc<dyn Stopwatch>>,
    metadata: Arc<ClusterMetadata>,
    phase: Phase,
    epoch: u64,
    read: ReadState,
    rebuild_attempts: u32,
    next_seq: u64,
    inflight: Option<Inflight<T>>,
    pending: Batch<T>,
    /// Writes that arrived before the shard served.
    deferred: Vec<(T, WriteOp)>,
    replies: VecDeque<Reply<T>>,
    /// Reads answer at the latest state instead of the committed one.
    reads_latest: bool,
}

impl<T> std::fmt::Debug for Shard<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Shard")
            .field("partition", &self.partition)
            .field("phase", &self.phase)
            .field("epoch", &self.epoch)
            .field("inflight", &self.inflight.as_ref().map(|i| i.seq))
            .field("pending_records", &self.pending.records.len())
            .finish_non_exhaustive()
    }
}

impl<T> Shard<T> {
    /// A shard for `partition`, about to load: [`poll_read`](Self::poll_read)
    /// asks for the log at once.
    pub fn new(
        partition: i32,
        config: CoordinatorConfig,
        assignors: Arc<AssignorRegistry>,
        metadata: Arc<ClusterMetadata>,
    ) -> Self {
        let core = GroupCoordinator::new(config.clone(), assignors.clone());
        Self {
            partition,
            config,
            assignors,
            core,
            stopwatch: None,
            metadata,
            phase: Phase::Loading,
            epoch: 0,
            read: ReadState::Wanted(i64::MIN),
            rebuild_attempts: 0,
            next_seq: 1,
            inflight: None,
            pending: Batch::default(),
            deferred: Vec::new(),
            replies: VecDeque::new(),
            reads_latest: false,
        }
    }

    /// Installs the stopwatch that times assignor runs (see
    /// [`GroupCoordinator::set_stopwatch`]), now and after every rebuild.
    pub fn set_stopwatch(&mut self, stopwatch: Arc<dyn Stopwatch>) {
        self.core.set_stopwatch(stopwatch.clone());
        self.stopwatch = Some(stopwatch);
    }

    /// Makes the reads answer at the latest state, as the core alone does,
    /// instead of the committed state; call it before the first
    /// [`on_log`](Self::on_log). For a driver that pins the core's own
    /// answers (the scenario runner: spec 08's files describe record-less
    /// changes at once); a broker never does, and replies still wait for
    /// their appends.
    pub fn reading_latest(mut self) -> Self {
        self.reads_latest = true;
        self
    }

    /// The partition.
    pub fn partition(&self) -> i32 {
        self.partition
    }

    /// Where the shard is in its life.
    pub fn phase(&self) -> Phase {
        self.phase
    }

    /// The load epoch of the current log read (0 before the first).
    pub fn epoch(&self) -> u64 {
        self.epoch
    }

    /// The live coordinator (for inspection: its reads answer at the
    /// committed state).
    pub fn coordinator(&self) -> &GroupCoordinator {
        &self.core
    }

    /// True when a log read is wanted at `now`: the driver reads the log and
    /// reports with [`on_log`](Self::on_log). Handed out once per read.
    pub fn poll_read(&mut self, now_ms: i64) -> bool {
        match self.read {
            ReadState::Wanted(at) if at <= now_ms => {
                self.read = ReadState::Reading;
                true
            }
            _ => false,
        }
    }

    /// The outcome of the log read: replays the records into a fresh
    /// coordinator, applies the stored group configs (`(group id, settings)`,
    /// kept by the broker, not in this log) and re-arms the timers. An error
    /// of the first load fails the shard ([`Phase::Failed`]); a sink error
    /// while rebuilding is retried after [`REBUILD_BACKOFF_MS`], up to
    /// [`REBUILD_ATTEMPTS`] times.
    pub fn on_log(
        &mut self,
        log: Result<LoadedLog, SinkError>,
        group_configs: &[(String, Vec<(String, String)>)],
        now_ms: i64,
    ) -> Result<Loaded, LoadError> {
        if self.read != ReadState::Reading {
            // Not asked for (or the shard was unloaded meanwhile).
            return Err(LoadError::Unloaded(self.partition));
        }
        self.read = ReadState::Idle;
        let partition = self.partition;
        let result = log
            .map_err(|source| LoadError::Sink { partition, source })
            .and_then(|log| {
                self.replay(&log.records, group_configs, now_ms)
                    .map(|core| (log.epoch, core))
            });
        match (result, self.phase) {
            (Ok((epoch, core)), phase) => {
                self.core = core;
                self.epoch = epoch;
                self.core.update_metadata(self.metadata.clone(), now_ms);
                self.phase = Phase::Active;
                self.rebuild_attempts = 0;
                for (token, op) in std::mem::take(&mut self.deferred) {
                    self.write(token, op, now_ms);
                }
                Ok(if phase == Phase::Loading {
                    Loaded::Initial
                } else {
                    Loaded::Rebuilt
                })
            }
            (Err(e @ LoadError::Sink { .. }), Phase::Rebuilding)
                if self.rebuild_attempts + 1 < REBUILD_ATTEMPTS =>
            {
                self.rebuild_attempts += 1;
                tracing::warn!(partition, attempt = self.rebuild_attempts, error = %e, "re-reading the log failed; retrying");
                self.read = ReadState::Wanted(now_ms.saturating_add(REBUILD_BACKOFF_MS));
                Ok(Loaded::Retrying)
            }
            (Err(e), _) => {
                tracing::error!(partition, error = %e, "loading failed; giving the partition up");
                self.fail_all(Failure::new(ErrorCode::NOT_COORDINATOR));
                self.phase = Phase::Failed;
                Err(e)
            }
        }
    }

    fn replay(
        &self,
        records: &[CoordinatorRecord],
        group_configs: &[(String, Vec<(String, String)>)],
        now_ms: i64,
    ) -> Result<GroupCoordinator, LoadError> {
        let mut core = GroupCoordinator::new(self.config.clone(), self.assignors.clone());
        if let Some(s) = &self.stopwatch {
            core.set_stopwatch(s.clone());
        }
        core.replay_all(records)
            .map_err(|(index, e)| LoadError::Replay {
                partition: self.partition,
                index,
                detail: e.to_string(),
            })?;
        for (group_id, configs) in group_configs {
            if let Err(e) = core.replace_group_config(group_id, configs, now_ms) {
                tracing::warn!(group_id, error = %e, "a stored group config was refused; broker defaults apply");
            }
        }
        core.on_loaded(now_ms);
        if !self.reads_latest {
            core.track_commits();
        }
        Ok(core)
    }

    /// Handles one request at `now`. Its reply is ready at once (reads,
    /// refusals, writes that observed nothing uncommitted) or once the batch
    /// it joined is durable.
    pub fn handle(&mut self, token: T, request: Request, now_ms: i64) {
        match self.phase {
            Phase::Active => {}
            Phase::Loading | Phase::Rebuilding => {
                if let Request::Write(op) = request {
                    self.deferred.push((token, op));
                } else {
                    self.refuse(token, ErrorCode::COORDINATOR_LOAD_IN_PROGRESS);
                }
                return;
            }
            Phase::Failed | Phase::Unloaded => {
                self.refuse(token, ErrorCode::NOT_COORDINATOR);
                return;
            }
        }
        match request {
            Request::Heartbeat(mut ctx, req) => {
                ctx.now_ms = now_ms;
                let out = self.core.heartbeat(&ctx, *req);
                let answer = Answer::Heartbeat(HeartbeatDone {
                    response: out.response,
                    internal_topics: out.internal_topics,
                });
                self.push_write(out.records, Some(Waiter { token, answer }));
            }
            Request::Describe(mut ctx, req) => {
                ctx.now_ms = now_ms;
                let groups = self.core.describe(&ctx, &req).groups;
                self.ready(token, Ok(Answer::Described(groups)));
            }
            Request::Metrics => {
                let m = self.core.metrics();
                self.ready(token, Ok(Answer::Metrics(m)));
            }
            Request::Read(op) => {
                op(&self.core);
                self.ready(token, Ok(Answer::Read));
            }
            Request::Write(op) => self.write(token, op, now_ms),
        }
    }

    fn write(&mut self, token: T, op: WriteOp, now_ms: i64) {
        let records = op(&mut self.core, now_ms);
        self.push_write(
            records,
            Some(Waiter {
                token,
                answer: Answer::Written,
            }),
        );
    }

    /// New cluster metadata (kept for every later rebuild too).
    pub fn update_metadata(&mut self, metadata: Arc<ClusterMetadata>, now_ms: i64) {
        self.metadata = metadata;
        if self.phase == Phase::Active {
            let out = self.core.update_metadata(self.metadata.clone(), now_ms);
            self.push_write(out.records, None);
        }
    }

    /// Fires the core's timers due at `now`.
    pub fn advance_time(&mut self, now_ms: i64) {
        if self.phase == Phase::Active {
            let out = self.core.advance_time(now_ms);
            self.push_write(out.records, None);
        }
    }

    /// The earliest time at which [`advance_time`](Self::advance_time) (or
    /// [`poll_read`](Self::poll_read)) must be called again.
    pub fn next_deadline(&self) -> Option<i64> {
        match (self.phase, self.read) {
            (_, ReadState::Wanted(at)) => Some(at),
            (Phase::Active, _) => self.core.next_deadline(),
            _ => None,
        }
    }

    /// The next append to perform, if one is due: the pending batch, once no
    /// append is in flight. Each append is handed out once.
    pub fn poll_append(&mut self) -> Option<Append> {
        if self.inflight.is_some() || self.phase != Phase::Active || self.pending.is_empty() {
            return None;
        }
        let batch = std::mem::take(&mut self.pending);
        if batch.records.is_empty() {
            // Only requests that observed writes now durable.
            for w in batch.waiters {
                self.ready(w.token, Ok(w.answer));
            }
            return None;
        }
        let seq = self.next_seq;
        self.next_seq += 1;
        self.core.seal_changes();
        self.inflight = Some(Inflight {
            seq,
            waiters: batch.waiters,
        });
        Some(Append {
            seq,
            epoch: self.epoch,
            records: batch.records,
        })
    }

    /// The outcome of append `seq`. Success commits it and releases its
    /// replies; failure fails every waiting request and asks for the log
    /// again. The outcome of an append that is not in flight (abandoned by
    /// unload, or of an earlier life) is ignored.
    pub fn on_appended(&mut self, seq: u64, result: Result<(), SinkError>, now_ms: i64) {
        if self.inflight.as_ref().map(|i| i.seq) != Some(seq) || self.phase != Phase::Active {
            return;
        }
        let Some(inflight) = self.inflight.take() else {
            return;
        };
        match result {
            Ok(()) => {
                self.core.commit_sealed();
                for w in inflight.waiters {
                    self.ready(w.token, Ok(w.answer));
                }
                if self.pending.records.is_empty() {
                    for w in std::mem::take(&mut self.pending.waiters) {
                        self.ready(w.token, Ok(w.answer));
                    }
                }
            }
            Err(e) => {
                let failure = Failure::from(&e);
                let pending = std::mem::take(&mut self.pending);
                for w in inflight.waiters.into_iter().chain(pending.waiters) {
                    self.ready(w.token, Err(failure.clone()));
                }
                if matches!(e, SinkError::NotLeader { .. }) {
                    // Fenced: another coordinator loaded the partition.
                    // Re-reading would start yet another epoch and fence it
                    // in turn; the shard gives the partition up instead.
                    tracing::warn!(partition = self.partition, error = %e, "append fenced; giving the partition up");
                    self.fail_all(failure);
                    self.phase = Phase::Failed;
                    return;
                }
                tracing::warn!(partition = self.partition, error = %e, "append failed; rebuilding the shard from durable records");
                self.phase = Phase::Rebuilding;
                self.rebuild_attempts = 0;
                self.read = ReadState::Wanted(now_ms);
            }
        }
    }

    /// Resigns the partition: everything waiting (in flight, pending, and
    /// writes deferred to the load) is answered NOT_COORDINATOR at once, the
    /// append in flight is abandoned, and every later request is refused.
    pub fn unload(&mut self) {
        self.fail_all(Failure::new(ErrorCode::NOT_COORDINATOR));
        self.read = ReadState::Idle;
        self.phase = Phase::Unloaded;
    }

    /// The next reply ready to send.
    pub fn poll_reply(&mut self) -> Option<Reply<T>> {
        self.replies.pop_front()
    }

    /// True when no append is in flight and nothing waits to be appended.
    pub fn is_idle(&self) -> bool {
        self.inflight.is_none() && self.pending.is_empty()
    }

    fn fail_all(&mut self, failure: Failure) {
        let inflight = self.inflight.take().map(|i| i.waiters).unwrap_or_default();
        let pending = std::mem::take(&mut self.pending).waiters;
        for w in inflight.into_iter().chain(pending) {
            self.ready(w.token, Err(failure.clone()));
        }
        for (token, _) in std::mem::take(&mut self.deferred) {
            self.ready(token, Err(failure.clone()));
        }
    }

    fn refuse(&mut self, token: T, code: ErrorCode) {
        self.ready(token, Err(Failure::new(code)));
    }

    fn ready(&mut self, token: T, result: Result<Answer, Failure>) {
        self.replies.push_back(Reply { token, result });
    }

    /// Adds `records` (and the reply that depends on them) to the pending
    /// batch. A reply with no records of its own waits too if it observed
    /// uncommitted writes; otherwise it is ready at once.
    fn push_write(&mut self, records: Vec<CoordinatorRecord>, waiter: Option<Waiter<T>>) {
        if records.is_empty() && self.is_idle() {
            if let Some(w) = waiter {
                self.ready(w.token, Ok(w.answer));
            }
            return;
        }
        self.pending.records.extend(records);
        if let Some(w) = waiter {
            self.pending.waiters.push(w);
        }
    }
}
