//! The cluster-metadata view the embedder provides: topic name -> id, partition count, racks.

use std::collections::BTreeMap;

use crate::protocol::Uuid;

use super::hash::topic_hash;

/// What the coordinator needs to know about one existing topic.
///
/// The Kafka topic hash of spec 04 §5 is computed once, when the value is built, so hashing a
/// group's metadata costs one lookup per required topic however many partitions they have.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TopicMetadata {
    id: Uuid,
    name: String,
    partition_count: i32,
    racks: Vec<Vec<String>>,
    hash: i64,
}

impl TopicMetadata {
    /// A topic without rack information. A negative `partition_count` is taken as 0.
    pub fn new(id: Uuid, name: impl Into<String>, partition_count: i32) -> TopicMetadata {
        TopicMetadata::build(id, name.into(), partition_count.max(0), Vec::new())
    }

    /// A topic with, for each partition (index = partition number), the racks of its replicas:
    /// one entry per replica whose broker has a rack, duplicates kept, in any order (they are
    /// sorted here). The partition count is `racks.len()` (saturated at `i32::MAX`).
    pub fn with_racks(id: Uuid, name: impl Into<String>, racks: Vec<Vec<String>>) -> TopicMetadata {
        let count = i32::try_from(racks.len()).unwrap_or(i32::MAX);
        TopicMetadata::build(id, name.into(), count, racks)
    }

    fn build(
        id: Uuid,
        name: String,
        partition_count: i32,
        mut racks: Vec<Vec<String>>,
    ) -> TopicMetadata {
        racks.truncate(usize::try_from(partition_count).unwrap_or(0));
        for r in &mut racks {
            // Java sorts racks with String.compareTo: UTF-16 code unit order.
            r.sort_by(|a, b| a.encode_utf16().cmp(b.encode_utf16()));
        }
        let hash = topic_hash(&id, &name, partition_count, &racks);
        TopicMetadata {
            id,
            name,
            partition_count,
            racks,
            hash,
        }
    }

    /// The topic id.
    pub fn id(&self) -> Uuid {
        self.id
    }

    /// The topic name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The number of partitions.
    pub fn partition_count(&self) -> i32 {
        self.partition_count
    }

    /// The sorted replica racks of `partition` (empty if unknown).
    pub fn partition_racks(&self, partition: i32) -> &[String] {
        usize::try_from(partition)
            .ok()
            .and_then(|p| self.racks.get(p))
            .map_or(&[], Vec::as_slice)
    }

    /// Kafka's topic hash (spec 04 §5): XXH3-64 over the magic byte 0, the topic id, name,
    /// partition count and per-partition sorted racks, in hash4j's byte layout.
    pub fn hash(&self) -> i64 {
        self.hash
    }
}

/// The cluster metadata a streams group is configured against: the existing topics by name.
///
/// Built by hand by the embedder (or a test) and meant to be shared behind an `Arc`: the
/// coordinator only reads it. Iteration is in ascending topic-name order.
///
/// ```
/// use streams_coordinator::protocol::Uuid;
/// use streams_coordinator::topology::ClusterMetadata;
///
/// let metadata = ClusterMetadata::new()
///     .with_topic(Uuid::from_u64_pair(1, 1), "orders", 4)
///     .with_topic(Uuid::from_u64_pair(1, 2), "payments", 3);
/// assert_eq!(metadata.partition_count("orders"), Some(4));
/// assert_eq!(metadata.partition_count("clicks"), None);
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ClusterMetadata {
    topics: BTreeMap<String, TopicMetadata>,
}

impl ClusterMetadata {
    /// No topics.
    pub fn new() -> ClusterMetadata {
        ClusterMetadata::default()
    }

    /// Adds (or replaces) a topic without rack information; builder style.
    pub fn with_topic(
        mut self,
        id: Uuid,
        name: impl Into<String>,
        partition_count: i32,
    ) -> ClusterMetadata {
        self.insert(TopicMetadata::new(id, name, partition_count));
        self
    }

    /// Adds (or replaces) a topic; returns the topic it replaced.
    pub fn insert(&mut self, topic: TopicMetadata) -> Option<TopicMetadata> {
        self.topics.insert(topic.name.clone(), topic)
    }

    /// Removes a topic; returns it.
    pub fn remove(&mut self, name: &str) -> Option<TopicMetadata> {
        self.topics.remove(name)
    }

    /// The topic with this name, if it exists.
    pub fn topic(&self, name: &str) -> Option<&TopicMetadata> {
        self.topics.get(name)
    }

    /// The partition count of the topic with this name, if it exists.
    pub fn partition_count(&self, name: &str) -> Option<i32> {
        self.topics.get(name).map(|t| t.partition_count)
    }

    /// All topics, ascending by name.
    pub fn topics(&self) -> impl Iterator<Item = &TopicMetadata> + '_ {
        self.topics.values()
    }

    /// The number of topics.
    pub fn len(&self) -> usize {
        self.topics.len()
    }

    /// Whether there is no topic.
    pub fn is_empty(&self) -> bool {
        self.topics.is_empty()
    }

    /// The names of the topics that differ between `self` (older) and `newer`: created,
    /// deleted, or changed in id, partition count or racks. Ascending, each once. This is the
    /// "created/changed or deleted topic" set of spec 04 §5 whose groups must refresh.
    pub fn changed_topics<'a>(&'a self, newer: &'a ClusterMetadata) -> Vec<&'a str> {
        let mut changed = Vec::new();
        let mut old = self.topics.iter().peekable();
        let mut new = newer.topics.iter().peekable();
        loop {
            match (old.peek(), new.peek()) {
                (None, None) => break,
                (Some((name, _)), None) => {
                    changed.push(name.as_str());
                    old.next();
                }
                (None, Some((name, _))) => {
                    changed.push(name.as_str());
                    new.next();
                }
                (Some((a, ta)), Some((b, tb))) => match a.cmp(b) {
                    std::cmp::Ordering::Less => {
                        changed.push(a.as_str());
                        old.next();
                    }
                    std::cmp::Ordering::Greater => {
                        changed.push(b.as_str());
                        new.next();
                    }
                    std::cmp::Ordering::Equal => {
                        if ta != tb {
                            changed.push(a.as_str());
                        }
                        old.next();
                        new.next();
                    }
                },
            }
        }
        changed
    }
}
