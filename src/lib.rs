//! # streams-coordinator
//!
//! A broker-side coordinator for Kafka Streams groups: the "streams" rebalance
//! protocol of KIP-1071 (`group.protocol=streams`).
//!
//! The crate is laid out in rooms whose dependencies point one way
//! (`service -> shard -> group -> {topology, assignor, protocol}`):
//!
//! * [`protocol`]: the wire messages of API keys 88 (StreamsGroupHeartbeat) and
//!   89 (StreamsGroupDescribe), the persisted records, and their byte-exact codec.
//! * [`topology`]: the streams topology model and its configuration against
//!   cluster metadata.
//! * [`assignor`]: the `TaskAssignor` trait, the sticky assignor and the
//!   assignment invariants.
//! * [`group`]: the pure coordinator state machine (no I/O, no clock).
//! * [`shard`]: one partition's coordinator and its persistence protocol
//!   (appends, group commit, replies after durability, rebuilds), pure too.
//! * [`service`]: the tokio driver a broker embeds, a thin pump over shards.
//! * [`interop`]: glue for brokers built on a Kafka protocol library
//!   (`kafka-protocol`, behind the cargo feature of that name).
#![deny(missing_docs)]
#![warn(unreachable_pub)]

pub mod assignor;
pub mod group;
pub mod interop;
pub mod protocol;
pub mod service;
pub mod shard;
pub mod topology;
