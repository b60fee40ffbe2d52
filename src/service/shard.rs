//! One shard: a tokio task owning one loaded `__consumer_offsets` partition and
//! the core coordinator of its groups.
//!
//! Write path (Kafka's ordering): a request runs on the core, its records join
//! the pending batch, and its response waits for that batch to be durable. At
//! most one append per partition is in flight; requests arriving meanwhile
//! are group-committed in the next append. A request that writes nothing still
//! waits for the writes it observed. If an append fails, every request whose
//! response waits on uncommitted records is failed, and the core is rebuilt by
//! replaying the durable records, so nothing half-applied survives.
//!
//! Reads (describe) see committed state only: a describe arriving while writes
//! are uncommitted is parked, and the shard takes no new request until those
//! writes are durable (or failed and rolled back).

use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{mpsc, oneshot, watch};

use super::broker::{BoxFuture, SinkError};
use super::metrics::Counters;
use super::Env;
use crate::group::{CoordinatorMetrics, GroupCoordinator, RequestContext};
use crate::protocol::describe::DescribedGroup;
use crate::protocol::{
    CoordinatorRecord, ErrorCode, StreamsGroupDescribeRequest, StreamsGroupHeartbeatRequest,
    StreamsGroupHeartbeatResponse,
};
use crate::topology::{ClusterMetadata, InternalTopic};

/// Shard state as seen by the router.
pub(crate) const LOADING: u8 = 0;
pub(crate) const ACTIVE: u8 = 1;
pub(crate) const FAILED: u8 = 2;

/// Most requests taken from the queue in one turn (they share one append).
const MAX_REQUESTS_PER_TURN: usize = 256;
/// Attempts to re-read the log after a failed append before giving up.
const REBUILD_ATTEMPTS: u32 = 50;
/// Pause between those attempts.
const REBUILD_BACKOFF: Duration = Duration::from_millis(100);

/// Why a request failed before reaching a response of the core.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Failure {
    pub code: ErrorCode,
    pub message: Option<String>,
}

impl Failure {
    pub(crate) fn new(code: ErrorCode) -> Self {
        Self {
            code,
            message: None,
        }
    }
}

impl From<&SinkError> for Failure {
    fn from(e: &SinkError) -> Self {
        Self {
            code: e.error_code(),
            message: e.error_message(),
        }
    }
}

/// A heartbeat's answer once its records are durable.
#[derive(Debug)]
pub(crate) struct HeartbeatDone {
    pub response: StreamsGroupHeartbeatResponse,
    pub internal_topics: Vec<InternalTopic>,
}

/// Messages to a shard task.
pub(crate) enum ShardRequest {
    Heartbeat {
        ctx: RequestContext,
        req: Box<StreamsGroupHeartbeatRequest>,
        reply: oneshot::Sender<Result<HeartbeatDone, Failure>>,
    },
    Describe {
        ctx: RequestContext,
        req: StreamsGroupDescribeRequest,
        reply: oneshot::Sender<Result<Vec<DescribedGroup>, Failure>>,
    },
    Metrics {
        reply: oneshot::Sender<CoordinatorMetrics>,
    },
    /// A read of committed state; the closure sends its own answer (dropping
    /// it unanswered, e.g. on unload, tells the caller NOT_COORDINATOR).
    Read(ReadOp),
    /// A write: the closure runs on the core at `now` and returns its records;
    /// `done` learns when they are durable (the closure keeps its answer
    /// until then).
    Write {
        op: WriteOp,
        done: oneshot::Sender<Result<(), Failure>>,
    },
    Unload,
}

/// See [`ShardRequest::Read`].
pub(crate) type ReadOp = Box<dyn FnOnce(&GroupCoordinator) + Send>;
/// See [`ShardRequest::Write`].
pub(crate) type WriteOp =
    Box<dyn FnOnce(&mut GroupCoordinator, i64) -> Vec<CoordinatorRecord> + Send>;

/// A response waiting for its batch to be durable. Heartbeats are the
/// common case; boxing them to shrink the rare `Write` variant would cost an
/// allocation per heartbeat.
#[allow(clippy::large_enum_variant)]
enum Waiter {
    Heartbeat {
        reply: oneshot::Sender<Result<HeartbeatDone, Failure>>,
        done: HeartbeatDone,
    },
    Write(oneshot::Sender<Result<(), Failure>>),
}

impl Waiter {
    fn complete(self) {
        match self {
            Waiter::Heartbeat { reply, done } => {
                let _ = reply.send(Ok(done));
            }
            Waiter::Write(done) => {
                let _ = done.send(Ok(()));
            }
        }
    }

    fn fail(self, failure: Failure) {
        match self {
            Waiter::Heartbeat { reply, .. } => {
                let _ = reply.send(Err(failure));
            }
            Waiter::Write(done) => {
                let _ = done.send(Err(failure));
            }
        }
    }
}

/// A read parked until the writes it would observe are durable.
enum ParkedRead {
    Describe {
        ctx: RequestContext,
        req: StreamsGroupDescribeRequest,
        reply: oneshot::Sender<Result<Vec<DescribedGroup>, Failure>>,
    },
    Op(ReadOp),
}

#[derive(Default)]
struct Batch {
    records: Vec<CoordinatorRecord>,
    waiters: Vec<Waiter>,
}

impl Batch {
    fn is_empty(&self) -> bool {
        self.records.is_empty() && self.waiters.is_empty()
    }
}

struct Inflight {
    append: BoxFuture<'static, Result<(), SinkError>>,
    waiters: Vec<Waiter>,
    records: usize,
}

/// Why a partition could not be (re)loaded.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// The log could not be read.
    #[error("reading partition {partition}: {source}")]
    Sink {
        /// The partition.
        partition: i32,
        /// The sink's error.
        source: SinkError,
    },
    /// A record could not be replayed: the log is corrupt.
    #[error("replaying record {index} of partition {partition}: {detail}")]
    Replay {
        /// The partition.
        partition: i32,
        /// Position of the record in the log.
        index: usize,
        /// The core's error.
        detail: String,
    },
    /// The partition was unloaded before loading finished.
    #[error("partition {0} was unloaded while loading")]
    Unloaded(i32),
}

/// Reads and replays `partition` into a fresh core, applies the stored group
/// configs of its groups, then re-arms its timers.
async fn load_core(env: &Env, partition: i32) -> Result<GroupCoordinator, LoadError> {
    let records = env
        .sink
        .read(partition)
        .await
        .map_err(|source| LoadError::Sink { partition, source })?;
    let mut core = GroupCoordinator::new(env.coordinator.clone(), env.assignors.clone());
    for (index, r) in records.iter().enumerate() {
        core.replay(r).map_err(|e| LoadError::Replay {
            partition,
            index,
            detail: e.to_string(),
        })?;
    }
    // Group configs live in the broker's metadata, not in this log: apply
    // the stored ones before the timers are armed with their session timeouts.
    let now = env.clock.now_ms();
    for (group_id, configs) in env.group_configs.of_partition(partition) {
        if let Err(e) = core.replace_group_config(&group_id, &configs, now) {
            tracing::warn!(group_id, error = %e, "a stored group config was refused; broker defaults apply");
        }
    }
    core.on_loaded(now);
    Ok(core)
}

pub(crate) struct Shard {
    partition: i32,
    env: Arc<Env>,
    core: GroupCoordinator,
    rx: mpsc::Receiver<ShardRequest>,
    metadata: watch::Receiver<Arc<ClusterMetadata>>,
    metadata_open: bool,
    state: Arc<AtomicU8>,
    inflight: Option<Inflight>,
    pending: Batch,
    parked: Vec<ParkedRead>,
}

enum Event {
    Appended(Result<(), SinkError>),
    Metadata(bool),
    Timer,
    Request(Option<ShardRequest>),
}

async fn wait_inflight(inflight: &mut Option<Inflight>) -> Result<(), SinkError> {
    match inflight {
        Some(i) => (&mut i.append).await,
        None => std::future::pending().await,
    }
}

impl Shard {
    /// Loads `partition` and then serves it until unloaded. `loaded` learns
    /// the outcome of the initial load.
    pub(crate) async fn run(
        partition: i32,
        env: Arc<Env>,
        mut rx: mpsc::Receiver<ShardRequest>,
        metadata: watch::Receiver<Arc<ClusterMetadata>>,
        state: Arc<AtomicU8>,
        loaded: oneshot::Sender<Result<(), LoadError>>,
    ) {
        let core = match load_core(&env, partition).await {
            Ok(core) => core,
            Err(e) => {
                tracing::error!(error = %e, "loading failed");
                state.store(FAILED, Ordering::Release);
                let _ = loaded.send(Err(e));
                drain(&mut rx);
                return;
            }
        };
        let mut shard = Shard {
            partition,
            env,
            core,
            rx,
            metadata,
            metadata_open: true,
            state,
            inflight: None,
            pending: Batch::default(),
            parked: Vec::new(),
        };
        shard.apply_metadata();
        shard.state.store(ACTIVE, Ordering::Release);
        Counters::incr(&shard.env.counters.loads);
        tracing::info!(partition, "partition loaded");
        let _ = loaded.send(Ok(()));
        shard.serve().await;
        shard.shutdown();
    }

    async fn serve(&mut self) {
        loop {
            self.maybe_start_append();
            self.answer_parked();
            let deadline = self
                .core
                .next_deadline()
                .map(|ms| self.env.clock.instant_at(ms));
            let accepting = self.parked.is_empty();
            let event = tokio::select! {
                biased;
                r = wait_inflight(&mut self.inflight) => Event::Appended(r),
                r = self.metadata.changed(), if self.metadata_open => Event::Metadata(r.is_ok()),
                _ = sleep_until_opt(deadline), if deadline.is_some() => Event::Timer,
                m = self.rx.recv(), if accepting => Event::Request(m),
            };
            match event {
                Event::Appended(result) => {
                    if !self.on_appended(result).await {
                        return;
                    }
                }
                Event::Metadata(open) => {
                    if open {
                        self.apply_metadata();
                    } else {
                        self.metadata_open = false;
                    }
                }
                Event::Timer => {
                    let out = self.core.advance_time(self.env.clock.now_ms());
                    self.push_write(out.records, None);
                }
                Event::Request(None) | Event::Request(Some(ShardRequest::Unload)) => return,
                Event::Request(Some(first)) => {
                    if !self.handle(first) {
                        return;
                    }
                    for _ in 1..MAX_REQUESTS_PER_TURN {
                        if !self.parked.is_empty() {
                            break;
                        }
                        match self.rx.try_recv() {
                            Ok(ShardRequest::Unload) => return,
                            Ok(m) => {
                                if !self.handle(m) {
                                    return;
                                }
                            }
                            Err(_) => break,
                        }
                    }
                }
            }
        }
    }

    fn apply_metadata(&mut self) {
        let metadata = self.metadata.borrow_and_update().clone();
        let out = self.core.update_metadata(metadata, self.env.clock.now_ms());
        self.push_write(out.records, None);
    }

    /// Handles one request; `false` when the shard must stop.
    fn handle(&mut self, msg: ShardRequest) -> bool {
        match msg {
            ShardRequest::Heartbeat {
                mut ctx,
                req,
                reply,
            } => {
                ctx.now_ms = self.env.clock.now_ms();
                let out = self.core.heartbeat(&ctx, *req);
                let waiter = Waiter::Heartbeat {
                    reply,
                    done: HeartbeatDone {
                        response: out.response,
                        internal_topics: out.internal_topics,
                    },
                };
                self.push_write(out.records, Some(waiter));
            }
            ShardRequest::Describe {
                mut ctx,
                req,
                reply,
            } => {
                ctx.now_ms = self.env.clock.now_ms();
                self.parked.push(ParkedRead::Describe { ctx, req, reply });
            }
            ShardRequest::Read(op) => self.parked.push(ParkedRead::Op(op)),
            ShardRequest::Write { op, done } => {
                let records = op(&mut self.core, self.env.clock.now_ms());
                self.push_write(records, Some(Waiter::Write(done)));
            }
            ShardRequest::Metrics { reply } => {
                let _ = reply.send(self.core.metrics());
            }
            ShardRequest::Unload => return false,
        }
        true
    }

    fn push_write(&mut self, records: Vec<CoordinatorRecord>, waiter: Option<Waiter>) {
        if records.is_empty() && self.inflight.is_none() && self.pending.is_empty() {
            if let Some(w) = waiter {
                w.complete();
            }
            return;
        }
        self.pending.records.extend(records);
        if let Some(w) = waiter {
            self.pending.waiters.push(w);
        }
    }

    fn maybe_start_append(&mut self) {
        if self.inflight.is_some() || self.pending.is_empty() {
            return;
        }
        let batch = std::mem::take(&mut self.pending);
        if batch.records.is_empty() {
            batch.waiters.into_iter().for_each(Waiter::complete);
            return;
        }
        let sink = self.env.sink.clone();
        let partition = self.partition;
        let records = batch.records.len();
        let to_append = batch.records;
        self.inflight = Some(Inflight {
            append: Box::pin(async move { sink.append(partition, to_append).await }),
            waiters: batch.waiters,
            records,
        });
    }

    /// Completes the in-flight append; `false` if the shard can no longer serve.
    async fn on_appended(&mut self, result: Result<(), SinkError>) -> bool {
        let Some(inflight) = self.inflight.take() else {
            return true;
        };
        match result {
            Ok(()) => {
                let c = &self.env.counters;
                Counters::incr(&c.appends);
                Counters::add(&c.records_appended, inflight.records as u64);
                inflight.waiters.into_iter().for_each(Waiter::complete);
                true
            }
            Err(e) => {
                tracing::warn!(partition = self.partition, error = %e, "append failed; rebuilding the shard from durable records");
                Counters::incr(&self.env.counters.append_failures);
                let failure = Failure::from(&e);
                let pending = std::mem::take(&mut self.pending);
                for w in inflight.waiters.into_iter().chain(pending.waiters) {
                    w.fail(failure.clone());
                }
                self.rebuild().await
            }
        }
    }

    /// Replaces the core by one rebuilt from the durable records.
    async fn rebuild(&mut self) -> bool {
        self.state.store(LOADING, Ordering::Release);
        for attempt in 1..=REBUILD_ATTEMPTS {
            match load_core(&self.env, self.partition).await {
                Ok(core) => {
                    self.core = core;
                    Counters::incr(&self.env.counters.rebuilds);
                    self.apply_metadata();
                    self.state.store(ACTIVE, Ordering::Release);
                    return true;
                }
                Err(LoadError::Sink { source, .. }) => {
                    tracing::warn!(attempt, error = %source, "re-reading the log failed; retrying");
                    tokio::time::sleep(REBUILD_BACKOFF).await;
                }
                Err(e) => {
                    tracing::error!(error = %e, "rebuilding failed; giving the partition up");
                    break;
                }
            }
        }
        self.state.store(FAILED, Ordering::Release);
        false
    }

    fn answer_parked(&mut self) {
        if self.parked.is_empty() || self.inflight.is_some() || !self.pending.is_empty() {
            return;
        }
        for read in std::mem::take(&mut self.parked) {
            match read {
                ParkedRead::Describe { ctx, req, reply } => {
                    let _ = reply.send(Ok(self.core.describe(&ctx, &req).groups));
                }
                ParkedRead::Op(op) => op(&self.core),
            }
        }
    }

    /// Fails everything still waiting, then refuses queued requests.
    fn shutdown(mut self) {
        let failure = Failure::new(ErrorCode::NOT_COORDINATOR);
        if let Some(inflight) = self.inflight.take() {
            inflight
                .waiters
                .into_iter()
                .for_each(|w| w.fail(failure.clone()));
        }
        let pending = std::mem::take(&mut self.pending);
        pending
            .waiters
            .into_iter()
            .for_each(|w| w.fail(failure.clone()));
        for read in std::mem::take(&mut self.parked) {
            if let ParkedRead::Describe { reply, .. } = read {
                let _ = reply.send(Err(failure.clone()));
            }
        }
        if self.state.load(Ordering::Acquire) != FAILED {
            self.state.store(FAILED, Ordering::Release);
        }
        Counters::incr(&self.env.counters.unloads);
        drain(&mut self.rx);
        tracing::info!(partition = self.partition, "partition unloaded");
    }
}

/// Closes the queue and answers whatever is in it with NOT_COORDINATOR.
fn drain(rx: &mut mpsc::Receiver<ShardRequest>) {
    rx.close();
    let failure = Failure::new(ErrorCode::NOT_COORDINATOR);
    while let Ok(m) = rx.try_recv() {
        match m {
            ShardRequest::Heartbeat { reply, .. } => {
                let _ = reply.send(Err(failure.clone()));
            }
            ShardRequest::Describe { reply, .. } => {
                let _ = reply.send(Err(failure.clone()));
            }
            ShardRequest::Write { done, .. } => {
                let _ = done.send(Err(failure.clone()));
            }
            ShardRequest::Metrics { .. } | ShardRequest::Read(_) | ShardRequest::Unload => {}
        }
    }
}

async fn sleep_until_opt(deadline: Option<tokio::time::Instant>) {
    match deadline {
        Some(d) => tokio::time::sleep_until(d).await,
        None => std::future::pending().await,
    }
}
