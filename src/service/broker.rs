//! What the broker supplies: the traits the service calls. In-memory
//! implementations of each, for tests and demos, are in the workspace's
//! `harness` crate (`harness::memory`).

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use tokio::sync::watch;

use super::auth::Authorizer;
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
///   [`check_load_epoch`] is that rule, for a sink to call.
///
/// What the service does in return:
/// * At most one `append` per partition at a time, never reordered, each
///   carrying the epoch of the `read` that loaded the shard.
/// * On unload it drops the future of the append in flight: the append is
///   abandoned. It may still become durable (the sink decides; a dropped
///   future of the harness's in-memory sink stores nothing) but the requests waiting
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

/// The fence of the [`RecordSink`] contract, for a sink to call before it
/// stores anything: an append of load `epoch` to `partition`, whose latest
/// read started load epoch `current`, is refused with
/// [`SinkError::NotLeader`] when `epoch` is older (a late write of a former
/// coordinator).
pub fn check_load_epoch(partition: i32, epoch: u64, current: u64) -> Result<(), SinkError> {
    if epoch < current {
        return Err(SinkError::NotLeader {
            partition,
            detail: format!("append of load epoch {epoch}, the partition is at {current}"),
        });
    }
    Ok(())
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
