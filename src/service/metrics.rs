//! Counters of the service and the snapshot a broker exports, and the
//! service's latency histograms through the `metrics` facade (the core's
//! metrics are in [`crate::group::audit`]; docs/observability.md lists all).

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Instant;

use crate::group::audit::names;
use crate::group::CoordinatorMetrics;
use crate::protocol::ErrorCode;

/// Service-wide counters (lock-free on the success path).
#[derive(Debug, Default)]
pub(crate) struct Counters {
    pub(crate) heartbeats: AtomicU64,
    pub(crate) describes: AtomicU64,
    pub(crate) offset_commit_validations: AtomicU64,
    pub(crate) offset_fetch_validations: AtomicU64,
    pub(crate) group_config_updates: AtomicU64,
    pub(crate) appends: AtomicU64,
    pub(crate) records_appended: AtomicU64,
    pub(crate) append_failures: AtomicU64,
    pub(crate) rebuilds: AtomicU64,
    pub(crate) loads: AtomicU64,
    pub(crate) unloads: AtomicU64,
    pub(crate) errors: Mutex<BTreeMap<i16, u64>>,
}

impl Counters {
    pub(crate) fn incr(c: &AtomicU64) {
        c.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn add(c: &AtomicU64, n: u64) {
        c.fetch_add(n, Ordering::Relaxed);
    }

    pub(crate) fn error(&self, code: ErrorCode) {
        if let Ok(mut m) = self.errors.lock() {
            *m.entry(code.0).or_default() += 1;
        }
    }
}

/// A point-in-time snapshot of the service's metrics, for the broker to
/// export. The per-shard coordinator metrics carry spec 07 §6
/// (`group-count protocol=streams`, `streams-group-count` per state,
/// `streams-group-rebalance-count`).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ServiceMetrics {
    /// Partitions loaded and serving.
    pub partitions_active: usize,
    /// Partitions loading (or rebuilding after an append failure).
    pub partitions_loading: usize,
    /// StreamsGroupHeartbeat requests received.
    pub heartbeats: u64,
    /// StreamsGroupDescribe requests received.
    pub describes: u64,
    /// Offset-commit validations asked for.
    pub offset_commit_validations: u64,
    /// Offset-fetch validations asked for.
    pub offset_fetch_validations: u64,
    /// Group-config changes asked for.
    pub group_config_updates: u64,
    /// Successful appends to the record sink.
    pub appends: u64,
    /// Records made durable.
    pub records_appended: u64,
    /// Failed appends (each followed by a shard rebuild).
    pub append_failures: u64,
    /// Shards rebuilt from durable records.
    pub rebuilds: u64,
    /// Partition loads completed.
    pub loads: u64,
    /// Partition unloads.
    pub unloads: u64,
    /// Error responses by Kafka error code (heartbeat top-level, describe per
    /// group, refused offset validations and group-config changes).
    pub errors: BTreeMap<i16, u64>,
    /// The core's metrics of every active shard, by partition.
    pub shards: BTreeMap<i32, CoordinatorMetrics>,
}

impl ServiceMetrics {
    pub(crate) fn from_counters(c: &Counters) -> Self {
        let l = |a: &AtomicU64| a.load(Ordering::Relaxed);
        Self {
            heartbeats: l(&c.heartbeats),
            describes: l(&c.describes),
            offset_commit_validations: l(&c.offset_commit_validations),
            offset_fetch_validations: l(&c.offset_fetch_validations),
            group_config_updates: l(&c.group_config_updates),
            appends: l(&c.appends),
            records_appended: l(&c.records_appended),
            append_failures: l(&c.append_failures),
            rebuilds: l(&c.rebuilds),
            loads: l(&c.loads),
            unloads: l(&c.unloads),
            errors: c.errors.lock().map(|m| m.clone()).unwrap_or_default(),
            ..Self::default()
        }
    }
}

/// Records one heartbeat's latency, labelled `ok` or with its error's name.
pub(crate) fn heartbeat_done(started: Instant, error_code: i16) {
    let seconds = started.elapsed().as_secs_f64();
    if error_code == 0 {
        // Literal labels: the key's labels are static, not a vector per heartbeat.
        ::metrics::histogram!(names::HEARTBEAT_SECONDS, "result" => "ok").record(seconds);
    } else {
        let result = ErrorCode(error_code).name();
        ::metrics::histogram!(names::HEARTBEAT_SECONDS, "result" => result).record(seconds);
    }
}

/// Records one append's round trip to the record sink.
pub(crate) fn append_done(started: Instant, ok: bool) {
    let result = if ok { "ok" } else { "failed" };
    ::metrics::histogram!(names::APPEND_SECONDS, "result" => result)
        .record(started.elapsed().as_secs_f64());
}
