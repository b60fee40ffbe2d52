//! What the broker supplies: the traits the service calls, and in-memory
//! implementations of each for tests and the demo.

use std::collections::BTreeMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::watch;

use super::auth::{AllowAll, Authorizer};
use crate::protocol::CoordinatorRecord;
pub use crate::shard::{LoadedLog, SinkError};
use crate::topology::{ClusterMetadata, InternalTopic};

/// A boxed, sendable future: what the broker traits return, so that they stay
/// object safe (`Arc<dyn RecordSink>`).
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// The broker's `__consumer_offsets` log, one partition per shard.
///
/// Guarantees the service relies on:
/// * `append` is atomic: either every record of the call becomes durable, in
///   order, after everything appended before, or none does and it fails.
/// * `append` resolves `Ok` only once the records are durable (replicated as
///   the broker requires for committed data); a later `read` returns them.
/// * `read` returns every durable record of the partition in log order (after
///   compaction only the latest value per key may remain; tombstones may go),
///   and the load epoch under which the reader appends
///   ([`LoadedLog::epoch`]).
/// * Fencing: an `append` whose `epoch` is older than the epoch of the
///   latest `read` of the partition fails with [`SinkError::NotLeader`] and
///   stores nothing. So a late write of a former coordinator (one that was
///   unloaded, here or on another broker) cannot land after its successor
///   read the log. A broker over a replicated log gives the partition
///   leader epoch as the load epoch, as Kafka's coordinator writes under it.
///
/// What the service does in return:
/// * At most one `append` per partition at a time, never reordered, each
///   carrying the epoch of the `read` that loaded the shard.
/// * On unload it drops the future of the append in flight: the append is
///   abandoned. It may still become durable (the sink decides; a dropped
///   future of [`MemoryRecordSink`] stores nothing) but the requests waiting
///   on it were answered NOT_COORDINATOR, and the fence above keeps it from
///   landing after the next load's read.
pub trait RecordSink: Send + Sync + 'static {
    /// Appends `records` to `partition` under load `epoch`; resolves when
    /// they are durable.
    fn append(
        &self,
        partition: i32,
        epoch: u64,
        records: Vec<CoordinatorRecord>,
    ) -> BoxFuture<'_, Result<(), SinkError>>;
    /// Reads back all durable records of `partition`, in order, for a load:
    /// starts a new load epoch (fencing appends of older ones).
    fn read(&self, partition: i32) -> BoxFuture<'_, Result<LoadedLog, SinkError>>;
}

/// The broker's view of cluster metadata (topics, ids, partitions, racks).
///
/// Guarantee: the receiver always holds the latest metadata, and a new value
/// is published (`watch::Sender::send`) whenever topics appear, disappear or
/// change partition count or racks. The service re-reads it on every change
/// and hands it to every loaded shard.
pub trait MetadataSource: Send + Sync + 'static {
    /// A receiver of the current metadata and its changes.
    fn subscribe(&self) -> watch::Receiver<Arc<ClusterMetadata>>;
}

/// The outcome of creating one topic: `Err(message)` if creation failed
/// (an already existing topic is success).
pub type TopicCreation = (String, Result<(), String>);

/// Creates the internal topics (repartition and changelog topics) a streams
/// group needs. Guarantee: creation is idempotent, and once a created topic
/// is usable it appears in the [`MetadataSource`].
pub trait TopicCreator: Send + Sync + 'static {
    /// Creates `topics`, resolving with the outcome per topic.
    fn create_topics(&self, topics: Vec<InternalTopic>) -> BoxFuture<'_, Vec<TopicCreation>>;
}

/// Everything the broker hands the service.
#[derive(Clone)]
pub struct Broker {
    /// The `__consumer_offsets` log.
    pub records: Arc<dyn RecordSink>,
    /// Cluster metadata and its changes.
    pub metadata: Arc<dyn MetadataSource>,
    /// Internal-topic creation.
    pub topics: Arc<dyn TopicCreator>,
    /// Authorization (group READ/DESCRIBE, topic DESCRIBE/CREATE).
    pub authorizer: Arc<dyn Authorizer>,
}

impl std::fmt::Debug for Broker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Broker { .. }")
    }
}

#[derive(Debug, Default)]
struct SinkState {
    logs: BTreeMap<i32, Vec<CoordinatorRecord>>,
    /// The epoch of the latest read of each partition.
    epochs: BTreeMap<i32, u64>,
    fenced: u64,
    fail_next: u32,
    failing: bool,
    reads_failing: bool,
    appends: u64,
}

/// An in-memory [`RecordSink`] with fault injection: appends can be made to
/// fail (atomically: a failed append stores nothing) and to take time. It
/// fences stale appends: each read starts a new epoch of its partition.
#[derive(Debug, Default)]
pub struct MemoryRecordSink {
    state: Mutex<SinkState>,
    delay: Mutex<Option<Duration>>,
    read_delay: Mutex<Option<Duration>>,
}

impl MemoryRecordSink {
    /// An empty log.
    pub fn new() -> Self {
        Self::default()
    }

    /// Makes the next `n` appends fail with a storage error.
    pub fn fail_next_appends(&self, n: u32) {
        if let Ok(mut s) = self.state.lock() {
            s.fail_next = n;
        }
    }

    /// Makes every append fail (`true`) until called with `false`.
    pub fn set_failing(&self, failing: bool) {
        if let Ok(mut s) = self.state.lock() {
            s.failing = failing;
        }
    }

    /// Makes every read fail (`true`) until called with `false`.
    pub fn set_read_failing(&self, failing: bool) {
        if let Ok(mut s) = self.state.lock() {
            s.reads_failing = failing;
        }
    }

    /// Makes every append take `delay` before it completes (a slow disk).
    pub fn set_append_delay(&self, delay: Option<Duration>) {
        if let Ok(mut d) = self.delay.lock() {
            *d = delay;
        }
    }

    /// Makes every read take `delay` (a slow load).
    pub fn set_read_delay(&self, delay: Option<Duration>) {
        if let Ok(mut d) = self.read_delay.lock() {
            *d = delay;
        }
    }

    /// The durable records of `partition`.
    pub fn records(&self, partition: i32) -> Vec<CoordinatorRecord> {
        self.state
            .lock()
            .map(|s| s.logs.get(&partition).cloned().unwrap_or_default())
            .unwrap_or_default()
    }

    /// Number of successful appends so far.
    pub fn append_count(&self) -> u64 {
        self.state.lock().map(|s| s.appends).unwrap_or(0)
    }

    /// Number of appends refused because their epoch was stale.
    pub fn fenced_count(&self) -> u64 {
        self.state.lock().map(|s| s.fenced).unwrap_or(0)
    }

    /// The epoch of the latest read of `partition` (0 before any).
    pub fn epoch(&self, partition: i32) -> u64 {
        self.state
            .lock()
            .map(|s| s.epochs.get(&partition).copied().unwrap_or(0))
            .unwrap_or(0)
    }
}

impl RecordSink for MemoryRecordSink {
    fn append(
        &self,
        partition: i32,
        epoch: u64,
        records: Vec<CoordinatorRecord>,
    ) -> BoxFuture<'_, Result<(), SinkError>> {
        Box::pin(async move {
            let delay = self.delay.lock().ok().and_then(|d| *d);
            if let Some(d) = delay {
                tokio::time::sleep(d).await;
            }
            let mut s = self.state.lock().map_err(|_| SinkError::Storage {
                partition,
                detail: "in-memory log poisoned".into(),
            })?;
            let current = s.epochs.get(&partition).copied().unwrap_or(0);
            if epoch < current {
                s.fenced += 1;
                return Err(SinkError::NotLeader {
                    partition,
                    detail: format!("append of load epoch {epoch}, the partition is at {current}"),
                });
            }
            if s.failing || s.fail_next > 0 {
                s.fail_next = s.fail_next.saturating_sub(1);
                return Err(SinkError::Storage {
                    partition,
                    detail: "injected append failure".into(),
                });
            }
            s.appends += 1;
            s.logs.entry(partition).or_default().extend(records);
            Ok(())
        })
    }

    fn read(&self, partition: i32) -> BoxFuture<'_, Result<LoadedLog, SinkError>> {
        Box::pin(async move {
            let delay = self.read_delay.lock().ok().and_then(|d| *d);
            if let Some(d) = delay {
                tokio::time::sleep(d).await;
            }
            let mut s = self.state.lock().map_err(|_| SinkError::Storage {
                partition,
                detail: "in-memory log poisoned".into(),
            })?;
            if s.reads_failing {
                return Err(SinkError::Storage {
                    partition,
                    detail: "injected read failure".into(),
                });
            }
            let epoch = s.epochs.get(&partition).copied().unwrap_or(0) + 1;
            s.epochs.insert(partition, epoch);
            Ok(LoadedLog {
                epoch,
                records: s.logs.get(&partition).cloned().unwrap_or_default(),
            })
        })
    }
}

/// An in-memory [`MetadataSource`]: publish a new [`ClusterMetadata`] with
/// [`set`](Self::set).
#[derive(Debug)]
pub struct MemoryMetadata {
    tx: watch::Sender<Arc<ClusterMetadata>>,
}

impl MemoryMetadata {
    /// A source holding `initial`.
    pub fn new(initial: ClusterMetadata) -> Self {
        let (tx, _) = watch::channel(Arc::new(initial));
        Self { tx }
    }

    /// Publishes new metadata to every subscriber.
    pub fn set(&self, metadata: ClusterMetadata) {
        self.tx.send_replace(Arc::new(metadata));
    }

    /// The current metadata.
    pub fn current(&self) -> Arc<ClusterMetadata> {
        self.tx.borrow().clone()
    }
}

impl MetadataSource for MemoryMetadata {
    fn subscribe(&self) -> watch::Receiver<Arc<ClusterMetadata>> {
        self.tx.subscribe()
    }
}

/// An in-memory [`TopicCreator`] that adds created topics to a
/// [`MemoryMetadata`] (with the requested partition count, or
/// `default_partitions` when the request leaves it to the broker).
#[derive(Debug)]
pub struct MemoryTopicCreator {
    metadata: Arc<MemoryMetadata>,
    default_partitions: i32,
    created: Mutex<Vec<String>>,
}

impl MemoryTopicCreator {
    /// A creator publishing into `metadata`.
    pub fn new(metadata: Arc<MemoryMetadata>, default_partitions: i32) -> Self {
        Self {
            metadata,
            default_partitions,
            created: Mutex::new(Vec::new()),
        }
    }

    /// Names of the topics created so far, in creation order.
    pub fn created(&self) -> Vec<String> {
        self.created.lock().map(|c| c.clone()).unwrap_or_default()
    }
}

impl TopicCreator for MemoryTopicCreator {
    fn create_topics(&self, topics: Vec<InternalTopic>) -> BoxFuture<'_, Vec<TopicCreation>> {
        Box::pin(async move {
            let current = self.metadata.current();
            let mut next = (*current).clone();
            let mut out = Vec::with_capacity(topics.len());
            let mut changed = false;
            for t in topics {
                if next.partition_count(&t.name).is_none() {
                    let n = if t.partitions > 0 {
                        t.partitions
                    } else {
                        self.default_partitions
                    };
                    next = add_topic(next, &t.name, n);
                    changed = true;
                    if let Ok(mut c) = self.created.lock() {
                        c.push(t.name.clone());
                    }
                }
                out.push((t.name, Ok(())));
            }
            if changed {
                self.metadata.set(next);
            }
            out
        })
    }
}

/// A topic id derived from the topic name (stable, distinct per name): how
/// the in-memory broker names the topics it creates and the demo's topics.
pub fn topic_id_for(name: &str) -> crate::protocol::Uuid {
    crate::protocol::Uuid(xxhash_rust::xxh3::xxh3_128(name.as_bytes()).to_be_bytes())
}

fn add_topic(metadata: ClusterMetadata, name: &str, partitions: i32) -> ClusterMetadata {
    metadata.with_topic(topic_id_for(name), name, partitions)
}

/// A whole in-memory broker: log, metadata, topic creation, and an
/// authorizer (allow-all unless replaced).
#[derive(Clone, Debug)]
pub struct MemoryBroker {
    /// The log.
    pub records: Arc<MemoryRecordSink>,
    /// The metadata.
    pub metadata: Arc<MemoryMetadata>,
    /// The topic creator.
    pub topics: Arc<MemoryTopicCreator>,
}

impl MemoryBroker {
    /// An in-memory broker whose cluster holds `metadata`; internal topics it
    /// creates get `default_partitions` when the request does not fix a count.
    pub fn new(metadata: ClusterMetadata, default_partitions: i32) -> Self {
        let metadata = Arc::new(MemoryMetadata::new(metadata));
        Self {
            records: Arc::new(MemoryRecordSink::new()),
            topics: Arc::new(MemoryTopicCreator::new(
                metadata.clone(),
                default_partitions,
            )),
            metadata,
        }
    }

    /// The hooks to start a [`Service`](super::Service) with, allowing everything.
    pub fn hooks(&self) -> Broker {
        self.hooks_with(Arc::new(AllowAll))
    }

    /// The hooks with a given authorizer.
    pub fn hooks_with(&self, authorizer: Arc<dyn Authorizer>) -> Broker {
        Broker {
            records: self.records.clone(),
            metadata: self.metadata.clone(),
            topics: self.topics.clone(),
            authorizer,
        }
    }
}
