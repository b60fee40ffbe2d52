//! In-memory implementations of the broker traits the service calls, with
//! fault injection, for tests, benches and demos: the `__consumer_offsets`
//! log, cluster metadata, topic creation, an allow-list authorizer, and a
//! whole [`MemoryBroker`].

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex, MutexGuard, RwLock};
use std::time::Duration;

use tokio::sync::watch;

use streams_coordinator::protocol::CoordinatorRecord;
use streams_coordinator::service::{
    check_load_epoch, AclOperation, AllowAll, Authorizer, BoxFuture, Broker, LoadedLog,
    MetadataSource, RecordSink, Resource, SinkError, TopicCreation, TopicCreator,
};
use streams_coordinator::topology::{ClusterMetadata, InternalTopic};

#[derive(Debug, Default)]
struct SinkState {
    /// Shared with the [`LoadedLog`]s handed out: a read copies no record.
    /// An append while a read's log is still held copies the log once
    /// (copy-on-write); a load drops it once replayed.
    logs: BTreeMap<i32, Arc<Vec<CoordinatorRecord>>>,
    /// The epoch of the latest read of each partition.
    epochs: BTreeMap<i32, u64>,
    faults: Faults,
}

/// The injected faults and the counts of an in-memory log: of
/// [`MemoryRecordSink`] and of the harness's [`MemoryLog`](crate::MemoryLog).
#[derive(Clone, Debug, Default)]
pub(crate) struct Faults {
    /// Appends still to fail.
    pub(crate) fail_next: u32,
    /// Every append fails.
    pub(crate) failing: bool,
    /// Every read fails.
    pub(crate) read_failing: bool,
    /// Successful appends.
    pub(crate) appends: u64,
    /// Appends refused as stale.
    pub(crate) fenced: u64,
}

impl Faults {
    /// Whether an append of load `epoch` to `partition`, whose latest read
    /// started load epoch `current`, may store its records: fenced when
    /// stale ([`check_load_epoch`]), else failed when a failure is injected;
    /// counted either way.
    pub(crate) fn admit_append(
        &mut self,
        partition: i32,
        epoch: u64,
        current: u64,
    ) -> Result<(), SinkError> {
        if let Err(fenced) = check_load_epoch(partition, epoch, current) {
            self.fenced += 1;
            return Err(fenced);
        }
        if self.failing || self.fail_next > 0 {
            self.fail_next = self.fail_next.saturating_sub(1);
            return Err(SinkError::Storage {
                partition,
                detail: "injected append failure".into(),
            });
        }
        self.appends += 1;
        Ok(())
    }

    /// Whether a read of `partition` may happen (not when failures are
    /// injected).
    pub(crate) fn admit_read(&self, partition: i32) -> Result<(), SinkError> {
        if self.read_failing {
            return Err(SinkError::Storage {
                partition,
                detail: "injected read failure".into(),
            });
        }
        Ok(())
    }
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
            s.faults.fail_next = n;
        }
    }

    /// Makes every append fail (`true`) until called with `false`.
    pub fn set_failing(&self, failing: bool) {
        if let Ok(mut s) = self.state.lock() {
            s.faults.failing = failing;
        }
    }

    /// Makes every read fail (`true`) until called with `false`.
    pub fn set_read_failing(&self, failing: bool) {
        if let Ok(mut s) = self.state.lock() {
            s.faults.read_failing = failing;
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
            .map(|s| {
                s.logs
                    .get(&partition)
                    .map(|l| l.to_vec())
                    .unwrap_or_default()
            })
            .unwrap_or_default()
    }

    /// Number of successful appends so far.
    pub fn append_count(&self) -> u64 {
        self.state.lock().map(|s| s.faults.appends).unwrap_or(0)
    }

    /// Number of appends refused because their epoch was stale.
    pub fn fenced_count(&self) -> u64 {
        self.state.lock().map(|s| s.faults.fenced).unwrap_or(0)
    }

    /// The epoch of the latest read of `partition` (0 before any).
    pub fn epoch(&self, partition: i32) -> u64 {
        self.state
            .lock()
            .map(|s| s.epochs.get(&partition).copied().unwrap_or(0))
            .unwrap_or(0)
    }

    /// The log's state, once the injected `delay` (of appends or of reads)
    /// has passed.
    async fn state_after(
        &self,
        delay: &Mutex<Option<Duration>>,
        partition: i32,
    ) -> Result<MutexGuard<'_, SinkState>, SinkError> {
        let delay = delay.lock().ok().and_then(|d| *d);
        if let Some(d) = delay {
            tokio::time::sleep(d).await;
        }
        self.state.lock().map_err(|_| SinkError::Storage {
            partition,
            detail: "in-memory log poisoned".into(),
        })
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
            let mut s = self.state_after(&self.delay, partition).await?;
            let current = s.epochs.get(&partition).copied().unwrap_or(0);
            s.faults.admit_append(partition, epoch, current)?;
            Arc::make_mut(s.logs.entry(partition).or_default()).extend(records);
            Ok(())
        })
    }

    fn read(&self, partition: i32) -> BoxFuture<'_, Result<LoadedLog, SinkError>> {
        Box::pin(async move {
            let mut s = self.state_after(&self.read_delay, partition).await?;
            s.faults.admit_read(partition)?;
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
pub fn topic_id_for(name: &str) -> streams_coordinator::protocol::Uuid {
    streams_coordinator::protocol::Uuid(xxhash_rust::xxh3::xxh3_128(name.as_bytes()).to_be_bytes())
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

    /// The hooks to start a [`Service`](streams_coordinator::service::Service) with, allowing everything.
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

/// The resource half of an ACL entry held by [`MemoryAuthorizer`].
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum AclResource {
    /// A group id; `"*"` matches every group.
    Group(String),
    /// A topic name; `"*"` matches every topic.
    Topic(String),
    /// The cluster.
    Cluster,
}

/// An in-memory allow-list authorizer for tests and the demo: a request is
/// allowed iff an entry (principal or `"*"`, host or `"*"`, operation,
/// resource or `"*"`) exists, as Kafka's ACLs match. Nothing is allowed by
/// default.
#[derive(Debug, Default)]
pub struct MemoryAuthorizer {
    allowed: RwLock<BTreeSet<(String, String, AclOperation, AclResource)>>,
}

impl MemoryAuthorizer {
    /// An authorizer that denies everything until entries are added.
    pub fn new() -> Self {
        Self::default()
    }

    /// Allows `principal` (or `"*"`) from any host to perform `operation` on
    /// `resource`.
    pub fn allow(&self, principal: &str, operation: AclOperation, resource: AclResource) {
        self.allow_from(principal, "*", operation, resource);
    }

    /// Allows `principal` (or `"*"`) connecting from `host` (or `"*"`) to
    /// perform `operation` on `resource`.
    pub fn allow_from(
        &self,
        principal: &str,
        host: &str,
        operation: AclOperation,
        resource: AclResource,
    ) {
        if let Ok(mut set) = self.allowed.write() {
            set.insert((principal.to_owned(), host.to_owned(), operation, resource));
        }
    }

    /// Removes an entry added by [`allow`](Self::allow).
    pub fn revoke(&self, principal: &str, operation: AclOperation, resource: AclResource) {
        if let Ok(mut set) = self.allowed.write() {
            set.remove(&(principal.to_owned(), "*".to_owned(), operation, resource));
        }
    }
}

impl Authorizer for MemoryAuthorizer {
    fn authorize(
        &self,
        principal: &str,
        host: &str,
        operation: AclOperation,
        resource: Resource<'_>,
    ) -> bool {
        let Ok(set) = self.allowed.read() else {
            return false;
        };
        let candidates: [AclResource; 2] = match resource {
            Resource::Group(g) => [
                AclResource::Group(g.to_owned()),
                AclResource::Group("*".into()),
            ],
            Resource::Topic(t) => [
                AclResource::Topic(t.to_owned()),
                AclResource::Topic("*".into()),
            ],
            Resource::Cluster => [AclResource::Cluster, AclResource::Cluster],
        };
        [principal, "*"].iter().any(|p| {
            [host, "*"].iter().any(|h| {
                candidates.iter().any(|r| {
                    set.contains(&((*p).to_owned(), (*h).to_owned(), operation, r.clone()))
                })
            })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn memory_authorizer_matches_entries_and_wildcards() {
        let a = MemoryAuthorizer::new();
        assert!(!a.authorize("User:x", "h1", AclOperation::Read, Resource::Group("g")));
        a.allow("User:x", AclOperation::Read, AclResource::Group("g".into()));
        assert!(a.authorize("User:x", "h1", AclOperation::Read, Resource::Group("g")));
        assert!(!a.authorize("User:x", "h1", AclOperation::Read, Resource::Group("h")));
        assert!(!a.authorize("User:y", "h1", AclOperation::Read, Resource::Group("g")));
        a.allow("*", AclOperation::Describe, AclResource::Topic("*".into()));
        assert!(a.authorize("User:y", "h1", AclOperation::Describe, Resource::Topic("t")));
        assert!(!a.authorize("User:y", "h1", AclOperation::Create, Resource::Cluster));
        a.revoke("User:x", AclOperation::Read, AclResource::Group("g".into()));
        assert!(!a.authorize("User:x", "h1", AclOperation::Read, Resource::Group("g")));
        // Host-scoped: only from 10.0.0.1.
        a.allow_from(
            "User:x",
            "10.0.0.1",
            AclOperation::Read,
            AclResource::Group("g".into()),
        );
        assert!(a.authorize(
            "User:x",
            "10.0.0.1",
            AclOperation::Read,
            Resource::Group("g")
        ));
        assert!(!a.authorize(
            "User:x",
            "10.0.0.2",
            AclOperation::Read,
            Resource::Group("g")
        ));
    }
}
