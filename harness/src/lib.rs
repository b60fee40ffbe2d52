//! The test harness of streams-coordinator, as raft-rs's `harness` crate or
//! quinn-proto's test `Pair`: what the project's deterministic runs, tests,
//! benches and demos drive the coordinator with, kept out of the library's
//! public surface.
//!
//! * [`Harness`]: the pure shard on a simulated clock over an in-memory log
//!   ([`MemoryLog`], with failed, delayed and held appends), delivering the
//!   replies. The one driver loop of the scenario runner, the simulation
//!   test, the core tests and the fleet demo in process.
//! * [`Rng`]: the one seeded random number generator.
//! * [`sim`]: a simulated Kafka Streams client (sans I/O).
//! * [`memory`]: in-memory implementations of the broker traits the service
//!   calls (log, metadata, topic creation, authorizer), with fault injection.
//! * [`net`]: a TCP listener over the service and the matching client.
//!
//! The main crate dev-depends on this one, which depends on the main crate
//! (cargo permits that cycle for dev-dependencies): the integration tests,
//! examples and benches use it; the library's own unit tests cannot.
#![deny(missing_docs)]
#![warn(unreachable_pub)]

mod driver;
pub mod memory;
pub mod net;
mod rng;
pub mod sim;

pub use driver::{
    GroupConfigError, Harness, MemoryLog, Reads, RebuildError, Token, MAX_TIMERS_PER_ADVANCE,
};
pub use rng::Rng;
