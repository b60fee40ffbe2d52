//! The partitions-by-endpoint answer of spec 02 §12, built once per state of
//! a group's members and shared by the responses (issue 14 item 5).
//!
//! Every member whose endpoint-information epoch is stale gets the entries of
//! all members with an endpoint: with 1,000 such members over 100,000
//! partitions, rebuilding them per response made a rebalance round cost
//! 10^8 partition conversions. A group keeps the last answer it gave with
//! each member's entry ([`EndpointCache`], in memory only, like the epoch):
//! a heartbeat that changes no member answers it as is (one reference count);
//! one that changes its member answers a copy of the entry list with that
//! member's entry rebuilt. Any record applied to the group drops the cache
//! (its members may have changed); the heartbeat that applied records stores
//! the answer it built, which is the group's state after them. Entries are
//! in member-id order.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use crate::protocol::heartbeat::{
    Endpoint, EndpointAnswer, EndpointEntry, EndpointToPartitions, TopicPartition,
};
use crate::topology::{ClusterMetadata, ConfiguredTopology};

use super::member::Member;
use super::state::{Configured, GroupCore};
use super::tasks;
use super::GroupCoordinator;

/// The answer a group gave last, and what it was built from.
#[derive(Debug)]
pub(super) struct EndpointCache {
    configured: Arc<Configured>,
    metadata: Arc<ClusterMetadata>,
    /// The entry of every member with an endpoint, in member-id order.
    entries: Vec<(String, EndpointEntry)>,
    answer: Arc<Vec<EndpointEntry>>,
}

impl EndpointCache {
    fn new(
        configured: &Arc<Configured>,
        metadata: &Arc<ClusterMetadata>,
        entries: Vec<(String, EndpointEntry)>,
    ) -> Self {
        let answer = Arc::new(entries.iter().map(|(_, e)| e.clone()).collect());
        EndpointCache {
            configured: configured.clone(),
            metadata: metadata.clone(),
            entries,
            answer,
        }
    }
}

/// The answer to a member whose endpoint epoch is stale, as the group will be
/// once the heartbeat's records are applied: `current` is the member as the
/// heartbeat leaves it, `changed` tells whether the heartbeat changed it (or
/// `replaced` a static member). Returns the cache to keep once those records
/// are applied (`None`: the group's cache is still right).
pub(super) fn answer(
    group: &GroupCore,
    cache: Option<&EndpointCache>,
    current: &Member,
    changed: bool,
    replaced: Option<&str>,
    configured: &Arc<Configured>,
    metadata: &Arc<ClusterMetadata>,
) -> (EndpointAnswer, Option<Arc<EndpointCache>>) {
    let cache = cache
        .filter(|c| Arc::ptr_eq(&c.configured, configured) && Arc::ptr_eq(&c.metadata, metadata));
    if let (Some(c), false) = (cache, changed) {
        return (EndpointAnswer::from_shared(c.answer.clone()), None);
    }
    let topology = configured
        .subtopologies
        .as_ref()
        .map(|_| configured.topology());
    let mine = |id: &str| id == current.member_id || Some(id) == replaced;
    let mut entries: Vec<(String, EndpointEntry)> = match cache {
        // Only `current` (and the replaced member) changed since the cache.
        Some(c) => c
            .entries
            .iter()
            .filter(|(id, _)| !mine(id))
            .cloned()
            .collect(),
        None => group
            .members
            .values()
            .filter(|m| !mine(&m.member_id))
            .filter_map(|m| {
                entry(m, topology, metadata).map(|e| (m.member_id.clone(), EndpointEntry::new(e)))
            })
            .collect(),
    };
    if let Some(e) = entry(current, topology, metadata) {
        let at = entries
            .binary_search_by(|(id, _)| id.as_str().cmp(&current.member_id))
            .unwrap_or_else(|at| at);
        entries.insert(at, (current.member_id.clone(), EndpointEntry::new(e)));
    }
    let kept = Arc::new(EndpointCache::new(configured, metadata, entries));
    (EndpointAnswer::from_shared(kept.answer.clone()), Some(kept))
}

/// The `PartitionsByUserEndpoint` entry of one member (spec 02 §12).
fn entry(
    m: &Member,
    configured: Option<&ConfiguredTopology>,
    metadata: &ClusterMetadata,
) -> Option<EndpointToPartitions> {
    let ep = m.user_endpoint.as_ref()?;
    let group = |set: &tasks::TaskSet| -> Vec<TopicPartition> {
        let Some(c) = configured else {
            return Vec::new();
        };
        let mut by_topic: BTreeMap<&str, BTreeSet<i32>> = BTreeMap::new();
        for (topic, parts) in c.input_partitions_for_tasks(&set.to_map(), metadata) {
            by_topic.entry(topic).or_default().extend(parts);
        }
        by_topic
            .into_iter()
            .map(|(t, p)| TopicPartition {
                topic: t.to_string(),
                partitions: p.into_iter().collect(),
            })
            .collect()
    };
    let active = m.assigned.active.partitions();
    let standby = m.assigned.standby.union(&m.assigned.warmup);
    Some(EndpointToPartitions {
        user_endpoint: Endpoint {
            host: ep.host.clone(),
            port: ep.port,
        },
        active_partitions: group(&active),
        standby_partitions: group(&standby),
    })
}

impl GroupCoordinator {
    /// Keeps the answer a successful heartbeat built, once its records are
    /// applied (they dropped the group's previous one).
    pub(super) fn keep_endpoints(&mut self, group_id: &str, keep: Arc<EndpointCache>) {
        if let Some(g) = self.groups.get_mut(group_id) {
            Arc::make_mut(g).transient.endpoints = Some(keep);
        }
    }
}
