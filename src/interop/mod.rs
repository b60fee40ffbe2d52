//! Glue for brokers that decode Kafka's other APIs with a protocol library.
//!
//! * [`kafka_protocol`] (cargo feature `kafka-protocol`): for brokers built on
//!   the [`kafka-protocol`](https://docs.rs/kafka-protocol) crate, which has no
//!   messages for API keys 88 and 89.

#[cfg(feature = "kafka-protocol")]
pub mod kafka_protocol;
