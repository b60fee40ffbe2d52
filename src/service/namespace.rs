//! One group-id namespace for the whole broker. Consumer, classic and share
//! groups live in the broker, streams groups here; an id belongs to one
//! group. The core refuses a streams group on an id the broker says another
//! type holds (spec 02 §3, `GroupCoordinator::set_foreign_group`); the
//! service keeps that word per `__consumer_offsets` partition and hands it to
//! the shard at every load and rebuild, and it answers the broker's question
//! the other way round ([`Service::holds_group`]).

use std::collections::BTreeMap;
use std::sync::{Mutex, PoisonError};

use super::Service;
use crate::group::ForeignGroupKind;
use crate::protocol::ErrorCode;

/// What the broker said about an id: the type of the group holding it, and
/// whether that group is empty.
type Mark = (ForeignGroupKind, bool);

/// The ids held by the broker's other group types, by partition.
#[derive(Debug, Default)]
pub(crate) struct ForeignGroupStore {
    by_partition: Mutex<BTreeMap<i32, BTreeMap<String, Mark>>>,
}

impl ForeignGroupStore {
    /// Every mark of `partition`, sorted by group id.
    pub(crate) fn of_partition(&self, partition: i32) -> Vec<(String, ForeignGroupKind, bool)> {
        let map = self
            .by_partition
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        map.get(&partition)
            .map(|ids| {
                ids.iter()
                    .map(|(id, (kind, empty))| (id.clone(), *kind, *empty))
                    .collect()
            })
            .unwrap_or_default()
    }

    fn of_group(&self, partition: i32, group_id: &str) -> Option<Mark> {
        let map = self
            .by_partition
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        map.get(&partition)
            .and_then(|ids| ids.get(group_id).copied())
    }

    /// Sets (or with `None` clears) the mark of `group_id`, and under the
    /// same lock asks `shard` for the loaded shard to tell: a shard loading
    /// meanwhile reads the store after this change.
    fn set<R>(
        &self,
        partition: i32,
        group_id: &str,
        mark: Option<Mark>,
        shard: impl FnOnce() -> R,
    ) -> R {
        let mut map = self
            .by_partition
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let ids = map.entry(partition).or_default();
        match mark {
            Some(m) => {
                ids.insert(group_id.to_owned(), m);
            }
            None => {
                ids.remove(group_id);
            }
        }
        shard()
    }
}

impl Service {
    /// Takes the broker's word that a group of another type (`kind`:
    /// consumer, classic, share) holds `group_id`, and whether that group is
    /// empty; `None` when no other group holds it any more. Call it whenever
    /// the broker creates, empties or deletes such a group. A streams
    /// heartbeat for that id is then answered as Kafka does (GROUP_ID_NOT_FOUND
    /// or, for an empty classic group, the group is replaced), and the word
    /// is kept for every later load of the id's partition, here or not yet
    /// loaded.
    pub async fn set_foreign_group(
        &self,
        group_id: &str,
        kind: Option<ForeignGroupKind>,
        empty: bool,
    ) {
        let partition = self.partition_for(group_id);
        let env = &self.inner.env;
        let shard = env
            .foreign_groups
            .set(partition, group_id, kind.map(|k| (k, empty)), || {
                self.inner.shards.get(&partition).map(|h| h.tx.clone())
            });
        let Some(tx) = shard else {
            return;
        };
        // The shard applies the store as it is when the write runs, so
        // concurrent changes land in the store's order.
        let (group, env) = (group_id.to_owned(), env.clone());
        let _ = self
            .write_via(tx, move |core, _| {
                let mark = env.foreign_groups.of_group(partition, &group);
                core.set_foreign_group(&group, mark.map(|m| m.0), mark.is_some_and(|m| m.1));
                ((), Vec::new())
            })
            .await;
    }

    /// Whether a streams group of this service holds `group_id`, so the
    /// broker keeps one namespace: it asks before it creates a group of
    /// another type with that id. Answered from the latest state of the id's
    /// shard (a group being created counts), once what it observed is
    /// durable. `Err` with NOT_COORDINATOR or COORDINATOR_LOAD_IN_PROGRESS
    /// when the id's partition is not served here yet.
    pub async fn holds_group(&self, group_id: &str) -> Result<bool, ErrorCode> {
        let partition = self.partition_for(group_id);
        let group = group_id.to_owned();
        self.write(partition, move |core, _| {
            (core.group_state(&group).is_some(), Vec::new())
        })
        .await
        .map_err(|f| f.code)
    }
}
