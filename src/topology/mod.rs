//! The Kafka Streams topology of a group and its configuration against the cluster
//! (spec 04). Pure: no I/O, no clock; every output is a deterministic function of the inputs.
//!
//! # The pieces
//!
//! * [`StreamsTopology`]: the topology a member sends when it joins, validated. A topology
//!   is a set of *subtopologies*; each reads *source topics* (the application's input topics,
//!   which must exist) and *repartition source topics* (internal topics written by another
//!   subtopology, listed there as *repartition sink topics*), and keeps its state in
//!   *changelog topics*. Repartition and changelog topics are *internal*: the coordinator
//!   decides their partition counts and asks the broker to create them.
//! * [`ClusterMetadata`]: what the broker knows about existing topics (id, partition count,
//!   replica racks), built by the embedder.
//! * [`configure`]: the topology laid onto the cluster, a [`ConfiguredTopology`]: how many
//!   tasks each subtopology has, which internal topics must be created, and whether the group
//!   can be assigned tasks yet.
//! * [`metadata_hash`]: a fingerprint of the topics the topology needs. The group reconfigures
//!   only when it changes.
//!
//! # How a topology is configured
//!
//! A task reads one partition number of every input topic of its subtopology, so a
//! subtopology has as many tasks as its largest input topic has partitions. Source topics are
//! given. Internal topics get partition counts in this order:
//!
//! 1. If a source topic is missing, nothing can be decided. The group waits with status
//!    `MISSING_SOURCE_TOPICS`.
//! 2. A repartition topic with a count fixed by the application keeps it. A flexible one gets
//!    as many partitions as the largest input of the subtopology that *writes* it. That
//!    writer may itself read repartition topics, so counts spread along chains of
//!    subtopologies until every repartition topic has one. If that cannot finish (a loop, or a
//!    chain with no start), or a repartition topic is read but never written, the topology
//!    contradicts itself and the heartbeat fails with `STREAMS_INVALID_TOPOLOGY`.
//! 3. Topics that must be *copartitioned* (joined by key) must have equal counts. Source
//!    topics in such a group must already agree (else `INCORRECTLY_PARTITIONED_TOPICS`). The
//!    group's repartition topics are forced to their count, and a fixed repartition topic
//!    that disagrees is also `INCORRECTLY_PARTITIONED_TOPICS`.
//! 4. Every changelog topic gets one partition per task of its subtopology.
//! 5. Internal topics that do not exist are listed for creation. The group waits with status
//!    `MISSING_INTERNAL_TOPICS` until they exist. An existing internal topic with a different
//!    count is `INCORRECTLY_PARTITIONED_TOPICS`. Once everything exists with the right count,
//!    the topology is *ready* and tasks can be assigned.
//!
//! The spec leaves the visiting order open where Kafka iterates a hash map. Here
//! subtopologies are always visited in ascending id order, so equal inputs give equal
//! results.
//!
//! # Limits
//!
//! The module sets no caps of its own: a topology is as large as the request that carried it
//! (wire strings are at most 32,767 bytes, and the request is bounded by the broker's maximum
//! request size). Validation and configuration run in O(n log n) in the number of topics and
//! subtopologies. The repartition fix-point is event-driven, not pass-by-pass. A topology of
//! 10,000 subtopologies or with 10,000-character topic names configures without blow-up
//! (`tests/topology_limits.rs`). Topic names are interned once per topology, on its first
//! configuration, so reconfiguring after a metadata change works on arrays. A topic's hash
//! costs O(partitions) and is computed once, when its [`TopicMetadata`] is built.

mod configure;
mod error;
mod hash;
mod metadata;
mod model;
mod names;
mod plan;

pub use configure::{
    configure, ConfiguredInternalTopic, ConfiguredSubtopology, ConfiguredTopology, InternalTopic,
    TopicConfigurationStatus,
};
pub use error::TopologyError;
pub use hash::metadata_hash;
pub use metadata::{ClusterMetadata, TopicMetadata};
pub(crate) use model::check_changelog_partitions;
pub use model::{check_unsupported_features, StreamsTopology, TaskRef};
pub(crate) use names::{topology_topic_names, SubtopologyTopics};
