//! The tokio driver a broker embeds (under construction): group partitioning
//! and the broker-layer authorization checks.

pub mod auth;
pub mod partition;
