//! What all nodes of the example broker share: the topics and their logs, the
//! committed offsets, the `__consumer_offsets` records of the streams
//! coordinator, and where each coordinator partition lives. It implements the
//! three traits through which the service reaches the broker
//! ([`MetadataSource`], [`TopicCreator`], [`RecordSink`]).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use streams_coordinator::protocol::records::CurrentAssignmentTaskIds;
use streams_coordinator::protocol::{CoordinatorRecord, RecordKey, RecordValue, Uuid};
use streams_coordinator::service::broker::TopicCreation;
use streams_coordinator::service::{
    check_load_epoch, AllowAll, BoxFuture, Broker, LoadedLog, MetadataSource, RecordSink, Service,
    SinkError, TopicCreator,
};
use streams_coordinator::topology::{ClusterMetadata, InternalTopic};
use tokio::sync::{watch, Notify};

use crate::log::PartitionLog;

/// One broker node's address.
#[derive(Clone, Debug)]
pub struct NodeAddr {
    /// Node id (0..N).
    pub id: i32,
    /// Host clients connect to.
    pub host: String,
    /// Port clients connect to.
    pub port: u16,
}

/// A topic: its id and its partitions' logs.
pub struct Topic {
    /// The topic id (derived from the name, stable across restarts).
    pub id: Uuid,
    /// One log per partition.
    pub partitions: Vec<PartitionLog>,
}

/// A committed offset of one partition.
#[derive(Clone, Debug)]
pub struct Committed {
    /// The offset.
    pub offset: i64,
    /// The leader epoch the client saw, -1 for none.
    pub leader_epoch: i32,
    /// The client's metadata string.
    pub metadata: String,
}

/// The committed offsets of one group, by topic and partition.
pub type GroupOffsets = BTreeMap<(String, i32), Committed>;

/// The shared state of every node.
pub struct Cluster {
    /// Every node, by id.
    pub nodes: Vec<NodeAddr>,
    /// Partitions of `__consumer_offsets` (the coordinator's shards).
    pub offsets_partitions: i32,
    /// Partitions of an internal topic whose creation request leaves the count to the broker.
    pub default_partitions: i32,
    topics: Mutex<BTreeMap<String, Topic>>,
    metadata: watch::Sender<Arc<ClusterMetadata>>,
    /// Woken on every append, for long-polling fetches.
    pub appended: Notify,
    offsets: Mutex<BTreeMap<String, GroupOffsets>>,
    coordinator_log: Arc<CoordinatorLog>,
    /// Node id of each `__consumer_offsets` partition's coordinator.
    coordinators: Mutex<Vec<i32>>,
    next_producer_id: AtomicI64,
}

/// A topic id derived from its name: stable and distinct per name.
pub fn topic_id(name: &str) -> Uuid {
    Uuid(xxhash_rust::xxh3::xxh3_128(name.as_bytes()).to_be_bytes())
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic while holding one of these locks leaves plain data behind
    // (nothing is half-updated across an await), so keep serving.
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl Cluster {
    /// A cluster of `nodes` holding `topics` (name, partitions).
    pub fn new(
        nodes: Vec<NodeAddr>,
        offsets_partitions: i32,
        default_partitions: i32,
        topics: &[(String, i32)],
    ) -> Arc<Self> {
        let mut logs = BTreeMap::new();
        let mut metadata = ClusterMetadata::new();
        for (name, n) in topics {
            metadata = metadata.with_topic(topic_id(name), name.as_str(), *n);
            logs.insert(
                name.clone(),
                Topic {
                    id: topic_id(name),
                    partitions: (0..*n).map(|_| PartitionLog::default()).collect(),
                },
            );
        }
        let node_count = nodes.len().max(1) as i32;
        Arc::new(Self {
            nodes,
            offsets_partitions,
            default_partitions,
            topics: Mutex::new(logs),
            metadata: watch::channel(Arc::new(metadata)).0,
            appended: Notify::new(),
            offsets: Mutex::new(BTreeMap::new()),
            coordinator_log: Arc::new(CoordinatorLog::default()),
            coordinators: Mutex::new((0..offsets_partitions).map(|p| p % node_count).collect()),
            next_producer_id: AtomicI64::new(1000),
        })
    }

    /// The hooks a node's [`Service`] is started with.
    pub fn hooks(self: &Arc<Self>) -> Broker {
        Broker {
            records: self.coordinator_log.clone(),
            metadata: self.clone(),
            topics: self.clone(),
            authorizer: Arc::new(AllowAll),
        }
    }

    /// The leader of a data partition: spread over the nodes, fixed.
    pub fn leader(&self, topic: &str, partition: i32) -> i32 {
        let n = self.nodes.len().max(1) as u64;
        ((u64::from(topic_id(topic).0[0]) + partition as u64) % n) as i32
    }

    /// The node coordinating `__consumer_offsets` partition `partition`.
    pub fn coordinator(&self, partition: i32) -> i32 {
        lock(&self.coordinators)
            .get(partition as usize)
            .copied()
            .unwrap_or(0)
    }

    /// Runs `f` on the topics and their logs.
    pub fn with_topics<T>(&self, f: impl FnOnce(&mut BTreeMap<String, Topic>) -> T) -> T {
        f(&mut lock(&self.topics))
    }

    /// Runs `f` on one partition's log; `None` if there is no such partition.
    pub fn with_log<T>(
        &self,
        topic: &str,
        partition: i32,
        f: impl FnOnce(&mut PartitionLog) -> T,
    ) -> Option<T> {
        let mut topics = lock(&self.topics);
        let log = topics
            .get_mut(topic)?
            .partitions
            .get_mut(usize::try_from(partition).ok()?)?;
        Some(f(log))
    }

    /// Runs `f` on the committed offsets of every group.
    pub fn with_offsets<T>(&self, f: impl FnOnce(&mut BTreeMap<String, GroupOffsets>) -> T) -> T {
        f(&mut lock(&self.offsets))
    }

    /// A new producer id (InitProducerId without a transactional id).
    pub fn new_producer_id(&self) -> i64 {
        self.next_producer_id.fetch_add(1, Ordering::Relaxed)
    }

    /// Moves every coordinator partition to the next node, as a leadership
    /// change does in a cluster: the old node unloads it (its requests in
    /// flight get NOT_COORDINATOR), then the new node loads it by replaying
    /// the partition's records. One partition at a time, so there is never
    /// more than one live coordinator for a partition.
    pub async fn move_coordinators(&self, services: &[Service]) {
        let n = services.len() as i32;
        for p in 0..self.offsets_partitions {
            let from = self.coordinator(p);
            let to = (from + 1) % n;
            let started = std::time::Instant::now();
            services[from as usize].unload(p).await;
            if let Some(slot) = lock(&self.coordinators).get_mut(p as usize) {
                *slot = to;
            }
            match services[to as usize].load(p).await {
                Ok(()) => tracing::info!(
                    partition = p,
                    from,
                    to,
                    records = self.coordinator_log.len(p),
                    ms = started.elapsed().as_millis() as u64,
                    "coordinator moved"
                ),
                Err(e) => {
                    tracing::error!(partition = p, from, to, error = %e, "coordinator move: load failed")
                }
            }
        }
    }

    fn create_topic(&self, topic: &InternalTopic) -> bool {
        let mut topics = lock(&self.topics);
        if topics.contains_key(&topic.name) {
            return false;
        }
        let n = if topic.partitions > 0 {
            topic.partitions
        } else {
            self.default_partitions
        };
        topics.insert(
            topic.name.clone(),
            Topic {
                id: topic_id(&topic.name),
                partitions: (0..n).map(|_| PartitionLog::default()).collect(),
            },
        );
        self.metadata.send_modify(|m| {
            *m = Arc::new(
                (**m)
                    .clone()
                    .with_topic(topic_id(&topic.name), topic.name.as_str(), n),
            );
        });
        tracing::info!(topic = %topic.name, partitions = n, "internal topic created");
        true
    }
}

impl MetadataSource for Cluster {
    fn subscribe(&self) -> watch::Receiver<Arc<ClusterMetadata>> {
        self.metadata.subscribe()
    }
}

impl TopicCreator for Cluster {
    fn create_topics(&self, topics: Vec<InternalTopic>) -> BoxFuture<'_, Vec<TopicCreation>> {
        Box::pin(async move {
            topics
                .into_iter()
                .map(|t| {
                    self.create_topic(&t);
                    (t.name, Ok(()))
                })
                .collect()
        })
    }
}

/// The streams coordinator's `__consumer_offsets` records, per partition,
/// shared by every node (the stand-in for a replicated log). Each append logs
/// what its records say that the crate's own events (`group::audit`: joins,
/// leaves, fences, epoch bumps, targets) do not: deleted groups, stored
/// topologies and members' assignments (INFO), the rest at DEBUG.
#[derive(Default)]
pub struct CoordinatorLog {
    /// Shared with the loads that read it: a read copies no record.
    logs: Mutex<BTreeMap<i32, Arc<Vec<CoordinatorRecord>>>>,
    /// The load epoch of each partition's latest read: older appends are
    /// fenced (the `RecordSink` contract).
    epochs: Mutex<BTreeMap<i32, u64>>,
}

impl CoordinatorLog {
    fn len(&self, partition: i32) -> usize {
        lock(&self.logs).get(&partition).map_or(0, |l| l.len())
    }
}

fn tasks(t: &[CurrentAssignmentTaskIds]) -> usize {
    t.iter().map(|s| s.partitions.len()).sum()
}

/// Logs what one persisted record says the coordinator did, where the
/// coordinator's own events (`group::audit`) do not already say it.
fn log_event(partition: i32, record: &CoordinatorRecord) {
    match (&record.key, &record.value) {
        (RecordKey::GroupMetadata(k), None) => {
            tracing::info!(partition, group = %k.group_id, "group deleted")
        }
        (RecordKey::CurrentMemberAssignment(k), Some(RecordValue::CurrentMemberAssignment(v))) => {
            tracing::info!(
                partition,
                group = %k.group_id,
                member = %k.member_id,
                epoch = v.member_epoch,
                active = tasks(&v.active_tasks),
                standby = tasks(&v.standby_tasks),
                warmup = tasks(&v.warmup_tasks),
                revoking = tasks(&v.active_tasks_pending_revocation),
                "member assignment"
            )
        }
        (RecordKey::Topology(k), Some(RecordValue::Topology(v))) => tracing::info!(
            partition,
            group = %k.group_id,
            epoch = v.epoch,
            subtopologies = v.subtopologies.len(),
            "topology stored"
        ),
        (key, _) => tracing::debug!(partition, ?key, "coordinator record"),
    }
}

impl RecordSink for CoordinatorLog {
    fn append(
        &self,
        partition: i32,
        epoch: u64,
        records: Vec<CoordinatorRecord>,
    ) -> BoxFuture<'_, Result<(), SinkError>> {
        Box::pin(async move {
            let current = lock(&self.epochs).get(&partition).copied().unwrap_or(0);
            check_load_epoch(partition, epoch, current)?;
            for r in &records {
                log_event(partition, r);
            }
            Arc::make_mut(lock(&self.logs).entry(partition).or_default()).extend(records);
            Ok(())
        })
    }

    fn read(&self, partition: i32) -> BoxFuture<'_, Result<LoadedLog, SinkError>> {
        Box::pin(async move {
            let epoch = {
                let mut epochs = lock(&self.epochs);
                let e = epochs.entry(partition).or_insert(0);
                *e += 1;
                *e
            };
            let records = lock(&self.logs)
                .get(&partition)
                .cloned()
                .unwrap_or_default();
            Ok(LoadedLog { epoch, records })
        })
    }
}

/// Names of the groups that have committed offsets (for listing simple groups).
pub fn offset_groups(offsets: &BTreeMap<String, GroupOffsets>) -> BTreeSet<String> {
    offsets
        .iter()
        .filter(|(_, o)| !o.is_empty())
        .map(|(g, _)| g.clone())
        .collect()
}
