//! The tokio driver a broker embeds.
//!
//! The broker hands the [`Service`] decoded requests and gets responses back;
//! the service does persistence, ordering, timers and sharding:
//!
//! * Groups are sharded like Kafka's `__consumer_offsets`: group id →
//!   partition by [`partition::partition_for`]. Each loaded partition is owned
//!   by one tokio task holding one [`GroupCoordinator`](crate::group::GroupCoordinator);
//!   partitions run concurrently.
//! * A response leaves only after its records are durable in the broker's
//!   [`RecordSink`]. If an append fails, the shard is rebuilt from the durable
//!   records and the requests in flight get a retriable error
//!   (NOT_COORDINATOR for a storage error, spec 01 §6 for the others).
//! * [`Service::load`] replays a partition (requests meanwhile get
//!   COORDINATOR_LOAD_IN_PROGRESS), [`Service::unload`] resigns it; requests
//!   for partitions not owned get NOT_COORDINATOR.
//! * Timers run on tokio time, driven by the core's deadlines; metadata
//!   changes from the [`MetadataSource`] reach every shard.
//! * The broker's own OffsetCommit / OffsetFetch handlers ask
//!   [`Service::validate_offset_commit`] / [`Service::validate_offset_fetch`]
//!   whether a streams member may commit or fetch (spec 07 §4); `streams.*`
//!   group-config changes (SET and DELETE) go to
//!   [`Service::alter_group_config`], which keeps them for every later load of
//!   the group's partition (spec 07 §5).
//! * Each request runs in a `tracing` span; [`Service::metrics`] returns a
//!   snapshot to export.
//!
//! See `docs/embedding.md` for the glue a broker writes.

mod admin;
pub mod auth;
pub mod broker;
mod metrics;
mod namespace;
pub mod net;
pub mod partition;
mod shard;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use dashmap::DashMap;
use tokio::sync::{mpsc, oneshot, watch};
use tokio::task::JoinHandle;
use tracing::Instrument;

pub use crate::shard::LoadError;
pub use admin::{GroupConfigError, GroupConfigUpdate, OffsetCommitValidation};
pub use auth::{AclOperation, AllowAll, Authorizer, Resource};
pub use broker::{
    check_load_epoch, BoxFuture, Broker, LoadedLog, MetadataSource, RecordSink, SinkError,
    TopicCreation, TopicCreator,
};
pub use metrics::ServiceMetrics;

use crate::assignor::AssignorRegistry;
use crate::group::{CoordinatorConfig, ListedGroup, RequestContext, StateFilter};
use crate::protocol::describe::{DescribedGroup, AUTHORIZED_OPERATIONS_NOT_REQUESTED};
use crate::protocol::heartbeat::Status;
use crate::protocol::{
    ErrorCode, StatusCode, StreamsGroupDescribeRequest, StreamsGroupDescribeResponse,
    StreamsGroupHeartbeatRequest, StreamsGroupHeartbeatResponse,
};
use crate::shard::Request;
use crate::topology::SubtopologyTopics;
use metrics::Counters;
use shard::{Failure, Responder, ShardRequest, ACTIVE, LOADING};

/// Settings of the service.
#[derive(Clone)]
pub struct ServiceConfig {
    /// Partitions of `__consumer_offsets` (`offsets.topic.num.partitions`, default 50).
    pub partition_count: i32,
    /// The core's settings (Kafka's `group.streams.*` names).
    pub coordinator: CoordinatorConfig,
    /// The task assignors.
    pub assignors: Arc<AssignorRegistry>,
    /// Bound of each shard's request queue (back-pressure beyond it).
    pub shard_queue_capacity: usize,
}

impl Default for ServiceConfig {
    fn default() -> Self {
        Self {
            partition_count: 50,
            coordinator: CoordinatorConfig::default(),
            assignors: Arc::new(AssignorRegistry::default()),
            shard_queue_capacity: 4096,
        }
    }
}

impl std::fmt::Debug for ServiceConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServiceConfig")
            .field("partition_count", &self.partition_count)
            .field("coordinator", &self.coordinator)
            .field("shard_queue_capacity", &self.shard_queue_capacity)
            .finish_non_exhaustive()
    }
}

/// Who sent a request, as the broker's network layer knows it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ClientContext {
    /// The authenticated principal, e.g. `User:alice` (`User:ANONYMOUS` without auth).
    pub principal: String,
    /// The request header's client id.
    pub client_id: String,
    /// The client's address.
    pub client_host: String,
    /// The request's API version.
    pub api_version: i16,
}

/// Errors of partition management.
#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    /// The partition number is outside `0..partition_count`.
    #[error("partition {partition} is outside 0..{partition_count}")]
    NoSuchPartition {
        /// The partition asked for.
        partition: i32,
        /// The configured partition count.
        partition_count: i32,
    },
    /// Loading failed.
    #[error(transparent)]
    Load(#[from] LoadError),
}

/// Wall-clock milliseconds mapped onto tokio's clock, so that timers follow
/// tokio time (and paused time in tests).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Clock {
    base: tokio::time::Instant,
    base_ms: i64,
}

impl Clock {
    fn new() -> Self {
        let base_ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_millis() as i64)
            .unwrap_or(0);
        Self {
            base: tokio::time::Instant::now(),
            base_ms,
        }
    }

    pub(crate) fn now_ms(&self) -> i64 {
        self.base_ms + self.base.elapsed().as_millis() as i64
    }

    pub(crate) fn instant_at(&self, ms: i64) -> tokio::time::Instant {
        let offset = ms.saturating_sub(self.base_ms).max(0) as u64;
        self.base + Duration::from_millis(offset)
    }
}

/// What every shard shares.
pub(crate) struct Env {
    pub(crate) sink: Arc<dyn RecordSink>,
    pub(crate) coordinator: CoordinatorConfig,
    pub(crate) assignors: Arc<AssignorRegistry>,
    pub(crate) clock: Clock,
    pub(crate) counters: Arc<Counters>,
    /// Times assignor runs in every shard (logs and metrics only).
    pub(crate) stopwatch: Arc<dyn crate::group::Stopwatch>,
    /// The `streams.*` group configs, applied by each shard when it loads.
    pub(crate) group_configs: admin::GroupConfigStore,
    /// The broker's word on the ids its other group types hold, applied by
    /// each shard when it loads.
    pub(crate) foreign_groups: namespace::ForeignGroupStore,
}

/// The router's side of one shard task. The entry stays in the map until
/// the task has stopped, so a partition never has two live shards.
struct ShardHandle {
    tx: mpsc::Sender<ShardRequest>,
    state: Arc<AtomicU8>,
    /// Set by `unload` before it signals the task: requests are refused.
    stopping: AtomicBool,
    stop: Mutex<Option<oneshot::Sender<()>>>,
    /// The outcome of the load, once known.
    loaded: watch::Receiver<shard::LoadOutcome>,
    task: Mutex<Option<JoinHandle<()>>>,
    /// Resolves (with an error: the sender is dropped) once the task stopped.
    stopped: watch::Receiver<()>,
}

impl ShardHandle {
    async fn wait_stopped(&self) {
        let mut stopped = self.stopped.clone();
        while stopped.changed().await.is_ok() {}
    }

    async fn load_outcome(&self, partition: i32) -> Result<(), LoadError> {
        let mut loaded = self.loaded.clone();
        let outcome = match loaded.wait_for(Option::is_some).await {
            Ok(outcome) => outcome.clone(),
            Err(_) => None,
        };
        outcome.unwrap_or(Err(LoadError::Unloaded(partition)))
    }
}

struct Inner {
    config: ServiceConfig,
    broker: Broker,
    env: Arc<Env>,
    shards: DashMap<i32, Arc<ShardHandle>>,
    creating: Mutex<BTreeSet<String>>,
    creation_errors: Mutex<BTreeMap<String, (String, i64)>>,
}

/// The streams-group coordinator service. Cheap to clone; all clones share
/// the same shards. Must be created inside a tokio runtime.
#[derive(Clone)]
pub struct Service {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Service {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Service")
            .field("partition_count", &self.inner.config.partition_count)
            .field("loaded", &self.inner.shards.len())
            .finish()
    }
}

fn heartbeat_error(failure: Failure) -> StreamsGroupHeartbeatResponse {
    StreamsGroupHeartbeatResponse {
        error_code: failure.code.0,
        error_message: failure.message,
        ..Default::default()
    }
}

fn describe_error(group_id: &str, failure: &Failure) -> DescribedGroup {
    DescribedGroup {
        group_id: group_id.to_owned(),
        error_code: failure.code.0,
        error_message: failure.message.clone(),
        ..Default::default()
    }
}

/// A write run on a shard's coordinator at `now`: its answer and the records
/// to make durable before the answer leaves.
trait CoreWrite<T>:
    FnOnce(&mut crate::group::GroupCoordinator, i64) -> (T, Vec<crate::protocol::CoordinatorRecord>)
    + Send
    + 'static
{
}

impl<T, F> CoreWrite<T> for F where
    F: FnOnce(
            &mut crate::group::GroupCoordinator,
            i64,
        ) -> (T, Vec<crate::protocol::CoordinatorRecord>)
        + Send
        + 'static
{
}

impl Service {
    /// Starts a service over the broker's hooks. No partition is loaded yet:
    /// call [`load`](Self::load) for each `__consumer_offsets` partition this
    /// broker leads.
    pub fn new(config: ServiceConfig, broker: Broker) -> Self {
        let env = Arc::new(Env {
            sink: broker.records.clone(),
            coordinator: config.coordinator.clone(),
            assignors: config.assignors.clone(),
            clock: Clock::new(),
            counters: Arc::new(Counters::default()),
            stopwatch: Arc::new(crate::group::MonotonicStopwatch::new()),
            group_configs: admin::GroupConfigStore::default(),
            foreign_groups: namespace::ForeignGroupStore::default(),
        });
        Self {
            inner: Arc::new(Inner {
                config,
                broker,
                env,
                shards: DashMap::new(),
                creating: Mutex::new(BTreeSet::new()),
                creation_errors: Mutex::new(BTreeMap::new()),
            }),
        }
    }

    /// The partition that owns `group_id`.
    pub fn partition_for(&self, group_id: &str) -> i32 {
        partition::partition_for(group_id, self.inner.config.partition_count).unwrap_or(0)
    }

    /// The service's current time in ms (wall clock at start + tokio time since).
    pub fn now_ms(&self) -> i64 {
        self.inner.env.clock.now_ms()
    }

    /// Becomes coordinator of `partition`: replays its records, re-arms timers,
    /// then serves it. Resolves once loaded; requests meanwhile get
    /// COORDINATOR_LOAD_IN_PROGRESS. Loading a loaded partition does nothing;
    /// loading one whose shard failed (see [`ServiceMetrics`]) starts it afresh.
    pub async fn load(&self, partition: i32) -> Result<(), ServiceError> {
        let count = self.inner.config.partition_count;
        if !(0..count).contains(&partition) {
            return Err(ServiceError::NoSuchPartition {
                partition,
                partition_count: count,
            });
        }
        loop {
            let handle = match self.inner.shards.entry(partition) {
                dashmap::Entry::Occupied(e) => e.get().clone(),
                dashmap::Entry::Vacant(v) => v.insert(self.spawn_shard(partition)).clone(),
            };
            // A shard being unloaded, or one that gave up (its log could not
            // be re-read), is replaced once its task has stopped.
            if handle.stopping.load(Ordering::Acquire)
                || handle.state.load(Ordering::Acquire) == shard::FAILED
            {
                handle.wait_stopped().await;
                self.inner
                    .shards
                    .remove_if(&partition, |_, h| Arc::ptr_eq(h, &handle));
                continue;
            }
            // Every caller of a load in progress gets its real outcome.
            return match handle.load_outcome(partition).await {
                Ok(()) => Ok(()),
                Err(e) => {
                    handle.wait_stopped().await;
                    self.inner
                        .shards
                        .remove_if(&partition, |_, h| Arc::ptr_eq(h, &handle));
                    Err(e.into())
                }
            };
        }
    }

    fn spawn_shard(&self, partition: i32) -> Arc<ShardHandle> {
        let (tx, rx) = mpsc::channel(self.inner.config.shard_queue_capacity.max(1));
        let state = Arc::new(AtomicU8::new(LOADING));
        let (stop_tx, stop) = oneshot::channel();
        let (loaded_tx, loaded) = watch::channel(None);
        let (stopped_tx, stopped) = watch::channel(());
        let links = shard::Links {
            rx,
            stop,
            metadata: self.inner.broker.metadata.subscribe(),
            state: state.clone(),
            loaded: loaded_tx,
        };
        let env = self.inner.env.clone();
        let task = tokio::spawn(
            async move {
                shard::run(partition, env, links).await;
                drop(stopped_tx);
            }
            .instrument(tracing::info_span!("streams_shard", partition)),
        );
        Arc::new(ShardHandle {
            tx,
            state,
            stopping: AtomicBool::new(false),
            stop: Mutex::new(Some(stop_tx)),
            loaded,
            task: Mutex::new(Some(task)),
            stopped,
        })
    }

    /// Resigns `partition`: requests in flight and queued get NOT_COORDINATOR
    /// at once, later ones too; an append in flight is abandoned (see
    /// [`RecordSink`]). Resolves once the shard task has stopped, without
    /// waiting for that append. A load of the partition meanwhile waits for
    /// it.
    pub async fn unload(&self, partition: i32) {
        let Some(handle) = self.inner.shards.get(&partition).map(|h| h.clone()) else {
            return;
        };
        handle.stopping.store(true, Ordering::Release);
        let stop = handle.stop.lock().ok().and_then(|mut s| s.take());
        if let Some(stop) = stop {
            let _ = stop.send(());
        }
        handle.wait_stopped().await;
        let task = handle.task.lock().ok().and_then(|mut t| t.take());
        if let Some(task) = task {
            let _ = task.await;
        }
        self.inner
            .shards
            .remove_if(&partition, |_, h| Arc::ptr_eq(h, &handle));
    }

    /// Unloads every partition.
    pub async fn shutdown(&self) {
        let partitions: Vec<i32> = self.inner.shards.iter().map(|e| *e.key()).collect();
        for p in partitions {
            self.unload(p).await;
        }
    }

    /// The partitions currently loaded or loading, ascending.
    pub fn partitions(&self) -> Vec<i32> {
        let mut v: Vec<i32> = self.inner.shards.iter().map(|e| *e.key()).collect();
        v.sort_unstable();
        v
    }

    /// The shard queue of `partition` if it is active, else the error to answer.
    fn route(&self, partition: i32) -> Result<mpsc::Sender<ShardRequest>, Failure> {
        let Some(handle) = self.inner.shards.get(&partition) else {
            return Err(Failure::new(ErrorCode::NOT_COORDINATOR));
        };
        if handle.stopping.load(Ordering::Acquire) {
            return Err(Failure::new(ErrorCode::NOT_COORDINATOR));
        }
        match handle.state.load(Ordering::Acquire) {
            ACTIVE => Ok(handle.tx.clone()),
            LOADING => Err(Failure::new(ErrorCode::COORDINATOR_LOAD_IN_PROGRESS)),
            _ => Err(Failure::new(ErrorCode::NOT_COORDINATOR)),
        }
    }

    /// The core's rule (one owner: `CoordinatorConfig::streams_enabled`).
    fn streams_enabled(&self) -> bool {
        self.inner.config.coordinator.streams_enabled()
    }

    fn core_context(client: &ClientContext) -> RequestContext {
        RequestContext {
            api_version: client.api_version,
            client_id: client.client_id.clone(),
            client_host: client.client_host.clone(),
            now_ms: 0,
        }
    }

    /// Handles a StreamsGroupHeartbeat (API key 88): the broker-layer checks of
    /// spec 02 §1, then the group's shard; the response is returned once its
    /// records are durable. Internal topics the group needs are created (if
    /// the principal may CREATE them) without delaying the response.
    pub async fn heartbeat(
        &self,
        client: &ClientContext,
        request: StreamsGroupHeartbeatRequest,
    ) -> StreamsGroupHeartbeatResponse {
        // A DEBUG span, like the one event in it: at INFO it is disabled and
        // costs a callsite check, not a span with formatted fields per
        // heartbeat (the core's audit events run on the shard's span).
        let span = tracing::debug_span!(
            "streams_group_heartbeat",
            group_id = %request.group_id,
            member_id = %request.member_id,
            member_epoch = request.member_epoch,
            partition = tracing::field::Empty,
            error = tracing::field::Empty,
            response_epoch = tracing::field::Empty,
        );
        let started = std::time::Instant::now();
        let mut response = self
            .heartbeat_inner(client, request)
            .instrument(span.clone())
            .await;
        metrics::heartbeat_done(started, response.error_code);
        response.truncate_texts();
        if response.error_code != 0 {
            self.inner
                .env
                .counters
                .error(ErrorCode(response.error_code));
            span.record("error", ErrorCode(response.error_code).name());
        } else {
            span.record("response_epoch", response.member_epoch);
        }
        tracing::debug!(parent: &span, error_code = response.error_code, member_epoch = response.member_epoch, "heartbeat answered");
        response
    }

    async fn heartbeat_inner(
        &self,
        client: &ClientContext,
        request: StreamsGroupHeartbeatRequest,
    ) -> StreamsGroupHeartbeatResponse {
        Counters::incr(&self.inner.env.counters.heartbeats);
        let authorizer = &self.inner.broker.authorizer;
        let checked =
            auth::check_heartbeat_request(&self.inner.config.coordinator, &request, |op, r| {
                authorizer.authorize(&client.principal, &client.client_host, op, r)
            });
        if let Err(f) = checked {
            return heartbeat_error(f);
        }
        let partition = self.partition_for(&request.group_id);
        tracing::Span::current().record("partition", partition);
        let tx = match self.route(partition) {
            Ok(tx) => tx,
            Err(f) => return heartbeat_error(f),
        };
        let (reply, rx) = oneshot::channel();
        let msg = ShardRequest {
            request: Request::Heartbeat(Self::core_context(client), Box::new(request)),
            responder: Responder::Heartbeat(reply),
        };
        if tx.send(msg).await.is_err() {
            return heartbeat_error(Failure::new(ErrorCode::NOT_COORDINATOR));
        }
        let done = match rx.await {
            Ok(Ok(done)) => done,
            Ok(Err(f)) => return heartbeat_error(f),
            Err(_) => return heartbeat_error(Failure::new(ErrorCode::NOT_COORDINATOR)),
        };
        let mut response = done.response;
        if response.error_code == 0 && !done.internal_topics.is_empty() {
            self.create_internal_topics(client, &mut response, done.internal_topics);
        }
        response
    }

    /// Kafka's broker-layer handling of the topics a heartbeat asks for.
    fn create_internal_topics(
        &self,
        client: &ClientContext,
        response: &mut StreamsGroupHeartbeatResponse,
        topics: Vec<crate::topology::InternalTopic>,
    ) {
        let authorizer = &self.inner.broker.authorizer;
        let unauthorized: Vec<&str> = if authorizer.authorize(
            &client.principal,
            &client.client_host,
            AclOperation::Create,
            Resource::Cluster,
        ) {
            Vec::new()
        } else {
            topics
                .iter()
                .map(|t| t.name.as_str())
                .filter(|t| {
                    !authorizer.authorize(
                        &client.principal,
                        &client.client_host,
                        AclOperation::Create,
                        Resource::Topic(t),
                    )
                })
                .collect()
        };
        let missing = StatusCode::MISSING_INTERNAL_TOPICS.0;
        let status = response.status.get_or_insert_with(Vec::new);
        if !unauthorized.is_empty() {
            let detail = format!(
                "Unauthorized to CREATE on topics {}.",
                unauthorized.join(", ")
            );
            match status.iter_mut().find(|s| s.status_code == missing) {
                Some(s) => s.status_detail = format!("{}; {detail}", s.status_detail),
                None => status.push(Status {
                    status_code: missing,
                    status_detail: detail,
                }),
            }
            return;
        }
        let now = self.now_ms();
        let names: Vec<String> = topics.iter().map(|t| t.name.clone()).collect();
        if let Some(s) = status.iter_mut().find(|s| s.status_code == missing) {
            let errors: Vec<String> = self
                .inner
                .creation_errors
                .lock()
                .map(|m| {
                    names
                        .iter()
                        .filter_map(|n| {
                            m.get(n)
                                .filter(|(_, until)| *until > now)
                                .map(|(e, _)| format!("{n} ({e})"))
                        })
                        .collect()
                })
                .unwrap_or_default();
            if !errors.is_empty() {
                let shown = errors
                    .iter()
                    .take(3)
                    .cloned()
                    .collect::<Vec<_>>()
                    .join(", ");
                let more = if errors.len() > 3 {
                    format!("{shown} and {} more", errors.len() - 3)
                } else {
                    shown
                };
                s.status_detail = format!("{}; Creation failed: {more}.", s.status_detail);
            }
        }
        let to_create: Vec<crate::topology::InternalTopic> = match self.inner.creating.lock() {
            Ok(mut creating) => topics
                .into_iter()
                .filter(|t| creating.insert(t.name.clone()))
                .collect(),
            Err(_) => return,
        };
        if to_create.is_empty() {
            return;
        }
        let ttl = 2 * i64::from(response.heartbeat_interval_ms.max(1));
        let inner = self.inner.clone();
        tokio::spawn(async move {
            let outcome = inner.broker.topics.create_topics(to_create.clone()).await;
            let now = inner.env.clock.now_ms();
            if let Ok(mut errors) = inner.creation_errors.lock() {
                errors.retain(|_, (_, until)| *until > now);
                for (name, result) in outcome {
                    match result {
                        Ok(()) => {
                            errors.remove(&name);
                        }
                        Err(e) => {
                            tracing::warn!(topic = %name, error = %e, "internal topic creation failed");
                            errors.insert(name, (e, now + ttl));
                        }
                    }
                }
            }
            if let Ok(mut creating) = inner.creating.lock() {
                for t in &to_create {
                    creating.remove(&t.name);
                }
            }
        });
    }

    /// Handles a StreamsGroupDescribe (API key 89), per spec 07 §1.1: group
    /// DESCRIBE authorization, then each group read from its shard's committed
    /// state, then the authorized operations and the topic DESCRIBE check.
    pub async fn describe(
        &self,
        client: &ClientContext,
        request: StreamsGroupDescribeRequest,
    ) -> StreamsGroupDescribeResponse {
        let span = tracing::info_span!("streams_group_describe", groups = request.group_ids.len());
        let mut response = self.describe_inner(client, request).instrument(span).await;
        response.truncate_texts();
        for g in &response.groups {
            if g.error_code != 0 {
                self.inner.env.counters.error(ErrorCode(g.error_code));
            }
        }
        response
    }

    async fn describe_inner(
        &self,
        client: &ClientContext,
        request: StreamsGroupDescribeRequest,
    ) -> StreamsGroupDescribeResponse {
        Counters::incr(&self.inner.env.counters.describes);
        let mut groups = Vec::with_capacity(request.group_ids.len());
        if !self.streams_enabled() {
            let f = Failure::new(ErrorCode::UNSUPPORTED_VERSION);
            groups.extend(request.group_ids.iter().map(|g| describe_error(g, &f)));
            return StreamsGroupDescribeResponse {
                throttle_time_ms: 0,
                groups,
            };
        }
        let authorizer = &self.inner.broker.authorizer;
        let mut by_partition: BTreeMap<i32, Vec<String>> = BTreeMap::new();
        for id in &request.group_ids {
            if !authorizer.authorize(
                &client.principal,
                &client.client_host,
                AclOperation::Describe,
                Resource::Group(id),
            ) {
                groups.push(describe_error(
                    id,
                    &Failure::new(ErrorCode::GROUP_AUTHORIZATION_FAILED),
                ));
            } else if id.is_empty() {
                groups.push(describe_error(
                    id,
                    &Failure::new(ErrorCode::INVALID_GROUP_ID),
                ));
            } else {
                by_partition
                    .entry(self.partition_for(id))
                    .or_default()
                    .push(id.clone());
            }
        }
        // Ask every shard first, then collect, so shards work concurrently.
        let mut waiting = Vec::new();
        for (partition, ids) in by_partition {
            let sub = StreamsGroupDescribeRequest {
                group_ids: ids.clone(),
                ..request.clone()
            };
            let sent = match self.route(partition) {
                Err(f) => Err(f),
                Ok(tx) => {
                    let (reply, rx) = oneshot::channel();
                    let msg = ShardRequest {
                        request: Request::Describe(Self::core_context(client), sub),
                        responder: Responder::Describe(reply),
                    };
                    match tx.send(msg).await {
                        Ok(()) => Ok(rx),
                        Err(_) => Err(Failure::new(ErrorCode::NOT_COORDINATOR)),
                    }
                }
            };
            waiting.push((ids, sent));
        }
        for (ids, sent) in waiting {
            let result = match sent {
                Ok(rx) => rx
                    .await
                    .unwrap_or(Err(Failure::new(ErrorCode::NOT_COORDINATOR))),
                Err(f) => Err(f),
            };
            match result {
                Ok(described) => groups.extend(described),
                Err(f) => groups.extend(ids.iter().map(|g| describe_error(g, &f))),
            }
        }
        for g in groups.iter_mut().filter(|g| g.error_code == 0) {
            if request.include_authorized_operations {
                g.authorized_operations = AclOperation::GROUP_OPERATIONS
                    .iter()
                    .filter(|op| {
                        authorizer.authorize(
                            &client.principal,
                            &client.client_host,
                            **op,
                            Resource::Group(&g.group_id),
                        )
                    })
                    .fold(0i32, |bits, op| bits | (1 << op.code()));
            } else {
                g.authorized_operations = AUTHORIZED_OPERATIONS_NOT_REQUESTED;
            }
            let denied = g.topology.as_ref().is_some_and(|t| {
                t.subtopologies.iter().flatten().any(|s| {
                    s.topic_names().any(|t| {
                        !authorizer.authorize(
                            &client.principal,
                            &client.client_host,
                            AclOperation::Describe,
                            Resource::Topic(t),
                        )
                    })
                })
            });
            if denied {
                *g = DescribedGroup {
                    group_id: std::mem::take(&mut g.group_id),
                    error_code: ErrorCode::TOPIC_AUTHORIZATION_FAILED.0,
                    error_message: Some(
                        "The described group uses topics that the client is not authorized to describe.".into(),
                    ),
                    ..Default::default()
                };
            }
        }
        StreamsGroupDescribeResponse {
            throttle_time_ms: 0,
            groups,
        }
    }

    /// Runs a read on `partition`'s committed state.
    async fn read<T: Send + 'static>(
        &self,
        partition: i32,
        op: impl FnOnce(&crate::group::GroupCoordinator) -> T + Send + 'static,
    ) -> Result<T, Failure> {
        let tx = self.route(partition)?;
        let (reply, rx) = oneshot::channel();
        let op: shard::ReadOp = Box::new(move |core| {
            let _ = reply.send(op(core));
        });
        tx.send(ShardRequest {
            request: Request::Read(op),
            responder: Responder::Read,
        })
        .await
        .map_err(|_| Failure::new(ErrorCode::NOT_COORDINATOR))?;
        rx.await
            .map_err(|_| Failure::new(ErrorCode::NOT_COORDINATOR))
    }

    /// Runs a write on `partition`; its answer is returned once its records are durable.
    async fn write<T: Send + 'static>(
        &self,
        partition: i32,
        op: impl CoreWrite<T>,
    ) -> Result<T, Failure> {
        self.write_via(self.route(partition)?, op).await
    }

    /// Runs a write on the shard behind `tx` (whatever its state: a loading
    /// shard runs it once loaded); its answer is returned once its records
    /// are durable.
    async fn write_via<T: Send + 'static>(
        &self,
        tx: mpsc::Sender<ShardRequest>,
        op: impl CoreWrite<T>,
    ) -> Result<T, Failure> {
        let slot = Arc::new(Mutex::new(None));
        let out = slot.clone();
        let op: shard::WriteOp = Box::new(move |core, now| {
            let (answer, records) = op(core, now);
            if let Ok(mut s) = out.lock() {
                *s = Some(answer);
            }
            records
        });
        let (done, rx) = oneshot::channel();
        tx.send(ShardRequest {
            request: Request::Write(op),
            responder: Responder::Write(done),
        })
        .await
        .map_err(|_| Failure::new(ErrorCode::NOT_COORDINATOR))?;
        rx.await
            .map_err(|_| Failure::new(ErrorCode::NOT_COORDINATOR))??;
        let answer = slot.lock().ok().and_then(|mut s| s.take());
        answer.ok_or_else(|| Failure::new(ErrorCode::UNKNOWN_SERVER_ERROR))
    }

    /// ListGroups for streams groups: the groups of every active partition
    /// (committed state) whose state passes `filter` (parse the request's
    /// strings with [`StateFilter::from_names`]). Sorted by group id.
    pub async fn list_groups(&self, filter: &StateFilter) -> Vec<ListedGroup> {
        let mut out = Vec::new();
        for partition in self.partitions() {
            let filter = filter.clone();
            if let Ok(groups) = self
                .read(partition, move |core| core.list_groups(&filter))
                .await
            {
                out.extend(groups);
            }
        }
        out.sort_by(|a, b| a.group_id.cmp(&b.group_id));
        out
    }

    /// DeleteGroups for streams groups: needs DELETE on each group
    /// (GROUP_AUTHORIZATION_FAILED otherwise); a group must be Empty
    /// (NON_EMPTY_GROUP) and exist (GROUP_ID_NOT_FOUND). The tombstones are
    /// durable before the answer; partitions not owned answer their error.
    pub async fn delete_groups(
        &self,
        client: &ClientContext,
        group_ids: &[String],
    ) -> Vec<(String, ErrorCode)> {
        let authorizer = &self.inner.broker.authorizer;
        let mut out = Vec::with_capacity(group_ids.len());
        let mut by_partition: BTreeMap<i32, Vec<String>> = BTreeMap::new();
        for id in group_ids {
            if authorizer.authorize(
                &client.principal,
                &client.client_host,
                AclOperation::Delete,
                Resource::Group(id),
            ) {
                by_partition
                    .entry(self.partition_for(id))
                    .or_default()
                    .push(id.clone());
            } else {
                out.push((id.clone(), ErrorCode::GROUP_AUTHORIZATION_FAILED));
            }
        }
        for (partition, ids) in by_partition {
            let request = ids.clone();
            let result = self
                .write(partition, move |core, now| {
                    let o = core.delete_groups(&request, now);
                    (o.response, o.records)
                })
                .await;
            match result {
                Ok(codes) => out.extend(codes),
                Err(f) => out.extend(ids.into_iter().map(|id| (id, f.code))),
            }
        }
        out
    }

    /// A snapshot of the service's metrics and every active shard's core metrics.
    pub async fn metrics(&self) -> ServiceMetrics {
        let mut m = ServiceMetrics::from_counters(&self.inner.env.counters);
        let handles: Vec<(i32, Arc<ShardHandle>)> = self
            .inner
            .shards
            .iter()
            .map(|e| (*e.key(), e.value().clone()))
            .collect();
        for (partition, handle) in handles {
            match handle.state.load(Ordering::Acquire) {
                ACTIVE => {
                    m.partitions_active += 1;
                    let (reply, rx) = oneshot::channel();
                    if handle
                        .tx
                        .send(ShardRequest {
                            request: Request::Metrics,
                            responder: Responder::Metrics(reply),
                        })
                        .await
                        .is_ok()
                    {
                        if let Ok(cm) = rx.await {
                            m.shards.insert(partition, cm);
                        }
                    }
                }
                LOADING => m.partitions_loading += 1,
                _ => {}
            }
        }
        m
    }
}
