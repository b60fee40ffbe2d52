//! A metrics summary in the broker's log. The crate records through the
//! `metrics` facade (docs/observability.md); a real broker installs an
//! exporter (Prometheus, StatsD, ...). This one installs metrics-util's
//! debugging recorder and logs, every minute and at exit, what was recorded
//! since the last summary: each histogram's count and quantiles in ms, each
//! counter. The per-group gauges are left out (one series per group).

use std::time::Duration;

use metrics_util::debugging::{DebugValue, DebuggingRecorder, Snapshotter};

/// How often the summary is logged.
const EVERY: Duration = Duration::from_secs(60);

/// Installs the recorder; `None` if one is installed already.
pub fn install() -> Option<Snapshotter> {
    let recorder = DebuggingRecorder::new();
    let snapshotter = recorder.snapshotter();
    recorder.install().ok()?;
    Some(snapshotter)
}

/// The `q` quantile (0..=1) of sorted values (nearest rank).
pub fn quantile(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = (q * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

/// One line per metric recorded since the last call (gauges left out).
pub fn lines(snapshotter: &Snapshotter) -> Vec<String> {
    let mut out = Vec::new();
    for (key, _, _, value) in snapshotter.snapshot().into_vec() {
        let k = key.key();
        let labels: Vec<String> = k
            .labels()
            .map(|l| format!("{}={}", l.key(), l.value()))
            .collect();
        let name = if labels.is_empty() {
            k.name().to_string()
        } else {
            format!("{}{{{}}}", k.name(), labels.join(","))
        };
        match value {
            DebugValue::Counter(0) | DebugValue::Gauge(_) => {}
            DebugValue::Counter(n) => out.push(format!("{name} +{n}")),
            DebugValue::Histogram(v) if v.is_empty() => {}
            DebugValue::Histogram(v) => {
                let mut ms: Vec<f64> = v.iter().map(|s| s.into_inner() * 1000.0).collect();
                ms.sort_by(f64::total_cmp);
                out.push(format!(
                    "{name} n={} p50={:.3}ms p99={:.3}ms max={:.3}ms",
                    ms.len(),
                    quantile(&ms, 0.5),
                    quantile(&ms, 0.99),
                    ms[ms.len() - 1]
                ));
            }
        }
    }
    out.sort();
    out
}

/// Logs the summary at INFO.
pub fn log(snapshotter: &Snapshotter) {
    for line in lines(snapshotter) {
        tracing::info!("metrics: {line}");
    }
}

/// Logs the summary every minute, forever.
pub async fn every_minute(snapshotter: Snapshotter) {
    loop {
        tokio::time::sleep(EVERY).await;
        log(&snapshotter);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles_by_nearest_rank() {
        let v: Vec<f64> = (1..=100).map(f64::from).collect();
        assert_eq!(quantile(&v, 0.5), 50.0);
        assert_eq!(quantile(&v, 0.99), 99.0);
        assert_eq!(quantile(&v, 1.0), 100.0);
        assert_eq!(quantile(&[7.0], 0.99), 7.0);
        assert_eq!(quantile(&[], 0.5), 0.0);
    }

    #[test]
    fn a_summary_shows_what_was_recorded_since_the_last() {
        let recorder = DebuggingRecorder::new();
        let snapshotter = recorder.snapshotter();
        metrics::with_local_recorder(&recorder, || {
            metrics::histogram!("h_seconds", "result" => "ok").record(0.002);
            metrics::histogram!("h_seconds", "result" => "ok").record(0.004);
            metrics::counter!("c_total").increment(3);
            metrics::gauge!("g", "group" => "x").set(1.0);
        });
        assert_eq!(
            lines(&snapshotter),
            vec![
                "c_total +3".to_string(),
                "h_seconds{result=ok} n=2 p50=2.000ms p99=4.000ms max=4.000ms".to_string(),
            ]
        );
        assert!(lines(&snapshotter).is_empty());
    }
}
