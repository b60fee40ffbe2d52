//! What an operator sees (docs/observability.md): the lifecycle events at
//! INFO with their structured fields, everything else at DEBUG, and the
//! metrics recorded through the `metrics` facade — by the core and by the
//! service after real heartbeats.

mod core_support;
mod service_support;

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use harness::Harness;
use metrics_util::debugging::{DebugValue, DebuggingRecorder};
use metrics_util::MetricKind;
use streams_coordinator::group::audit::names;
use streams_coordinator::group::Stopwatch;
use tracing::field::{Field, Visit};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::layer::{Context, Layer, SubscriberExt};

use core_support::*;

/// One event the coordinator logged: level, message and fields.
#[derive(Clone, Debug)]
struct Logged {
    level: Level,
    message: String,
    fields: BTreeMap<String, String>,
}

/// The events logged on this thread while it captures. One global subscriber
/// feeds every test's thread: a subscriber set per test (`with_default`) races
/// with the callsite interest cache that tests on other threads fill at the
/// same time, and then loses events now and then.
#[derive(Clone, Default)]
struct Capture;

thread_local! {
    static CAPTURED: RefCell<Option<Vec<Logged>>> = const { RefCell::new(None) };
}

/// Runs `f` with this thread's events captured from now on (see [`Capture`]):
/// [`Capture::take`] returns them, during `f` or after it.
fn capturing<R>(f: impl FnOnce() -> R) -> R {
    static GLOBAL: OnceLock<()> = OnceLock::new();
    GLOBAL.get_or_init(|| {
        tracing::subscriber::set_global_default(tracing_subscriber::registry().with(Capture))
            .expect("no other global subscriber in this test binary");
    });
    CAPTURED.with(|c| *c.borrow_mut() = Some(Vec::new()));
    f()
}

struct Fields<'a>(&'a mut BTreeMap<String, String>);

impl Visit for Fields<'_> {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        self.0.insert(
            field.name().to_string(),
            format!("{value:?}").trim_matches('"').to_string(),
        );
    }
    fn record_str(&mut self, field: &Field, value: &str) {
        self.0.insert(field.name().to_string(), value.to_string());
    }
}

impl<S: Subscriber> Layer<S> for Capture {
    fn on_event(&self, event: &Event<'_>, _ctx: Context<'_, S>) {
        if !event.metadata().target().starts_with("streams_coordinator") {
            return;
        }
        let mut fields = BTreeMap::new();
        event.record(&mut Fields(&mut fields));
        let message = fields.remove("message").unwrap_or_default();
        let level = *event.metadata().level();
        CAPTURED.with(|c| {
            if let Some(events) = c.borrow_mut().as_mut() {
                events.push(Logged {
                    level,
                    message,
                    fields,
                });
            }
        });
    }
}

impl Capture {
    fn take(&self) -> Vec<Logged> {
        CAPTURED.with(|c| {
            c.borrow_mut()
                .as_mut()
                .map(std::mem::take)
                .unwrap_or_default()
        })
    }
}

/// A stopwatch that advances 1 ms per reading: every assignor run takes 1 ms.
#[derive(Default)]
struct Ticking(AtomicU64);

impl Stopwatch for Ticking {
    fn now(&self) -> Duration {
        Duration::from_millis(self.0.fetch_add(1, Ordering::Relaxed))
    }
}

fn group() -> Harness {
    let mut c = harness(&[]);
    c.update_metadata(metadata(&[("input", 4)]));
    c
}

/// Member `member` joins group `g` (stateless topology over `input`) at `now`.
fn join_g(
    c: &mut Harness,
    now: i64,
    member: &str,
) -> streams_coordinator::protocol::StreamsGroupHeartbeatResponse {
    hb(c, now, join("g", member, simple_topology("input"))).response
}

fn find<'a>(events: &'a [Logged], message: &str) -> Vec<&'a Logged> {
    events
        .iter()
        .filter(|e| e.message.starts_with(message))
        .collect()
}

#[test]
fn lifecycle_events_are_info_with_their_fields_and_the_rest_debug() {
    let capture = Capture;
    capturing(|| {
        let mut c = group();
        c.set_stopwatch(Arc::new(Ticking::default()));
        let r1 = join_g(&mut c, 0, "m1");
        let mut static_join = join("g", "s1", simple_topology("input"));
        static_join.instance_id = Some("i1".into());
        hb(&mut c, 1, static_join);
        let events = capture.take();

        let joins = find(&events, "member joined the streams group");
        assert_eq!(joins.len(), 2, "{events:#?}");
        assert!(joins.iter().all(|e| e.level == Level::INFO));
        assert_eq!(joins[0].fields["group_id"], "g");
        assert_eq!(joins[0].fields["member_id"], "m1");
        assert_eq!(joins[0].fields["member_epoch"], r1.member_epoch.to_string());
        assert_eq!(joins[0].fields["client_id"], "client");
        assert_eq!(joins[0].fields["process_id"], "process-m1");
        assert_eq!(joins[1].fields["instance_id"], "i1");

        let targets = find(&events, "Computed a new target assignment");
        assert_eq!(targets.len(), 2);
        assert!(targets.iter().all(|e| e.level == Level::INFO));
        // The ticking stopwatch: each run took exactly 1 ms.
        assert!(targets.iter().all(|e| e.fields["assignor_us"] == "1000"));
        assert_eq!(targets[0].fields["epoch"], r1.member_epoch.to_string());
        assert_eq!(targets[0].fields["tasks_moved"], "4");
        assert!(!targets[0].fields["assignor"].is_empty());

        // In the order they happened: the join, its bump, its target.
        let at = |m: &str| events.iter().position(|e| e.message.starts_with(m));
        assert!(at("member joined") < at("Bumped streams group epoch"));
        assert!(at("Bumped streams group epoch") < at("Computed a new target assignment"));

        let bumps = find(&events, "Bumped streams group epoch");
        assert_eq!(bumps.len(), 2);
        assert_eq!(bumps[0].fields["cause"], "member_joined");

        // A new assignment state is DEBUG (Kafka logs it at INFO).
        let states = find(&events, "member's new assignment state");
        assert!(!states.is_empty());
        assert!(states.iter().all(|e| e.level == Level::DEBUG));
        // Only the lifecycle events are INFO.
        for e in &events {
            if e.level == Level::INFO {
                assert!(
                    [
                        "member joined",
                        "Computed a new target",
                        "Bumped streams group epoch"
                    ]
                    .iter()
                    .any(|m| e.message.starts_with(m)),
                    "unexpected INFO event {e:?}"
                );
            }
        }

        // The static member leaves for now, and a new member id takes its place.
        let mut pause = beat("g", "s1", -2);
        pause.instance_id = Some("i1".into());
        hb(&mut c, 2, pause);
        let mut replace = join("g", "s2", simple_topology("input"));
        replace.instance_id = Some("i1".into());
        hb(&mut c, 3, replace);
        // m1 leaves; then s2's session times out.
        hb(&mut c, 4, beat("g", "m1", -1));
        advance(&mut c, 1_000_000);
        let events = capture.take();

        let paused = find(&events, "static member left for now");
        assert_eq!(paused.len(), 1, "{events:#?}");
        assert_eq!(paused[0].fields["instance_id"], "i1");
        let replaced = find(&events, "static member re-joined");
        assert_eq!(replaced.len(), 1);
        assert_eq!(replaced[0].level, Level::INFO);
        assert_eq!(replaced[0].fields["member_id"], "s2");
        assert_eq!(replaced[0].fields["replaced_member_id"], "s1");
        let left = find(&events, "member left the streams group");
        assert_eq!(left.len(), 1);
        assert_eq!(left[0].fields["member_id"], "m1");
        assert_eq!(left[0].fields["cause"], "member_left");
        let fenced = find(
            &events,
            "member fenced: no heartbeat within its session timeout",
        );
        assert_eq!(fenced.len(), 1);
        assert_eq!(fenced[0].level, Level::INFO);
        assert_eq!(fenced[0].fields["member_id"], "s2");
        assert_eq!(fenced[0].fields["cause"], "fenced_session_timeout");
    });
}

#[test]
fn a_replayed_shard_logs_no_lifecycle_event() {
    let mut c = group();
    join_g(&mut c, 0, "m1");
    hb(&mut c, 1, beat("g", "m1", -1));
    let capture = Capture;
    capturing(|| {
        // A new shard loads the log, as after a fail-over.
        let rebuilt = c.successor();
        assert!(rebuilt.coordinator().group_state("g").is_some());
    });
    let events = capture.take();
    assert!(events.iter().all(|e| e.level < Level::INFO), "{events:#?}");
}

/// The recorded values by metric name and labels (`name{k=v,...}`).
fn recorded(recorder: &DebuggingRecorder) -> BTreeMap<String, DebugValue> {
    recorder
        .snapshotter()
        .snapshot()
        .into_vec()
        .into_iter()
        .map(|(key, _, _, value)| {
            let k = key.key();
            let labels: Vec<String> = k
                .labels()
                .map(|l| format!("{}={}", l.key(), l.value()))
                .collect();
            let kind = match key.kind() {
                MetricKind::Counter => "counter",
                MetricKind::Gauge => "gauge",
                MetricKind::Histogram => "histogram",
            };
            (
                format!("{kind} {}{{{}}}", k.name(), labels.join(",")),
                value,
            )
        })
        .collect()
}

fn counter(m: &BTreeMap<String, DebugValue>, key: &str) -> u64 {
    match m.get(&format!("counter {key}")) {
        Some(DebugValue::Counter(n)) => *n,
        other => panic!("counter {key}: {other:?} in {m:#?}"),
    }
}

fn gauge(m: &BTreeMap<String, DebugValue>, key: &str) -> f64 {
    match m.get(&format!("gauge {key}")) {
        Some(DebugValue::Gauge(v)) => v.into_inner(),
        other => panic!("gauge {key}: {other:?} in {m:#?}"),
    }
}

fn histogram(m: &BTreeMap<String, DebugValue>, key: &str) -> Vec<f64> {
    match m.get(&format!("histogram {key}")) {
        Some(DebugValue::Histogram(v)) => v.iter().map(|x| x.into_inner()).collect(),
        other => panic!("histogram {key}: {other:?} in {m:#?}"),
    }
}

#[test]
fn the_core_counts_rebalances_by_cause_times_the_assignor_and_sets_group_gauges() {
    let recorder = DebuggingRecorder::new();
    let (snapshot, metrics, epoch) = metrics::with_local_recorder(&recorder, || {
        let mut c = group();
        c.set_stopwatch(Arc::new(Ticking::default()));
        let r1 = join_g(&mut c, 0, "m1");
        join_g(&mut c, 1, "m2");
        hb(&mut c, 2, beat("g", "m1", r1.member_epoch));
        let epoch = c
            .coordinator()
            .rebalance_history("g")
            .last()
            .map(|r| r.epoch);
        (recorded(&recorder), c.coordinator().metrics(), epoch)
    });
    // The counter agrees with the core's own snapshot, cause by cause.
    for (cause, n) in &metrics.rebalances_by_cause {
        assert_eq!(
            counter(
                &snapshot,
                &format!("{}{{cause={cause}}}", names::REBALANCES)
            ),
            *n
        );
    }
    assert_eq!(
        counter(
            &snapshot,
            &format!("{}{{cause=member_joined}}", names::REBALANCES)
        ),
        2
    );
    // Two assignor runs, 1 ms each on the ticking stopwatch.
    let runs: Vec<f64> = snapshot
        .iter()
        .filter(|(k, _)| k.starts_with(&format!("histogram {}", names::ASSIGNOR_SECONDS)))
        .flat_map(|(k, _)| histogram(&snapshot, &k["histogram ".len()..]))
        .collect();
    assert_eq!(runs, vec![0.001, 0.001]);
    // 4 tasks moved to m1, then the ones m2 takes from it.
    assert!(counter(&snapshot, &format!("{}{{}}", names::TASKS_MOVED)) > 4);
    let g = |name: &str| gauge(&snapshot, &format!("{name}{{group=g}}"));
    assert_eq!(g(names::GROUP_MEMBERS), 2.0);
    assert_eq!(Some(g(names::GROUP_EPOCH)), epoch.map(f64::from));
    assert_eq!(g(names::GROUP_TASKS), 4.0);
    assert_eq!(g(names::GROUP_WARMUPS), 0.0);
}

#[tokio::test(start_paused = true)]
async fn the_service_records_heartbeat_append_and_assignor_latencies() {
    use service_support::{started, Fleet};
    let recorder = DebuggingRecorder::new();
    // A current-thread runtime: the shard tasks run on this thread, so the
    // thread's recorder sees them.
    let _guard = metrics::set_default_local_recorder(&recorder);
    let broker = service_support::broker();
    let service = started(&broker).await;
    let mut fleet = Fleet::new(3);
    fleet.run_until_stable(&service, 60_000).await;
    let counts = service.metrics().await;
    let snapshot = recorded(&recorder);

    let heartbeats: Vec<f64> = snapshot
        .keys()
        .filter(|k| k.starts_with(&format!("histogram {}", names::HEARTBEAT_SECONDS)))
        .flat_map(|k| histogram(&snapshot, &k["histogram ".len()..]))
        .collect();
    assert_eq!(heartbeats.len() as u64, counts.heartbeats);
    assert!(heartbeats.iter().all(|s| s.is_finite() && *s >= 0.0));
    let appends = histogram(
        &snapshot,
        &format!("{}{{result=ok}}", names::APPEND_SECONDS),
    );
    assert_eq!(appends.len() as u64, counts.appends);
    assert!(counts.appends > 0);
    let runs: usize = snapshot
        .keys()
        .filter(|k| k.starts_with(&format!("histogram {}", names::ASSIGNOR_SECONDS)))
        .map(|k| histogram(&snapshot, &k["histogram ".len()..]).len())
        .sum();
    // One run per target computed, as the history counts them.
    let history = service
        .rebalance_history(service_support::GROUP)
        .await
        .unwrap();
    let computed = history.iter().filter(|r| r.tasks_moved.is_some()).count();
    assert!(runs >= 1);
    assert_eq!(runs, computed, "{history:#?}");
    let g = |name: &str| {
        gauge(
            &snapshot,
            &format!("{name}{{group={}}}", service_support::GROUP),
        )
    };
    assert_eq!(g(names::GROUP_MEMBERS), 3.0);
    assert_eq!(
        g(names::GROUP_TASKS),
        f64::from(service_support::INPUT_PARTITIONS)
    );
    assert_eq!(
        counter(
            &snapshot,
            &format!("{}{{cause=member_joined}}", names::REBALANCES)
        ),
        3
    );
}

#[test]
fn a_rebalance_timeout_fence_names_the_timeout_and_the_epoch() {
    let capture = Capture;
    capturing(|| {
        let mut c = group();
        let r = join_g(&mut c, 0, "m1");
        let owned = tasks("0", &[0, 1, 2, 3]);
        hb(
            &mut c,
            1,
            beat_owning("g", "m1", r.member_epoch, owned.clone()),
        );
        join_g(&mut c, 10, "m2");
        // m1 is asked to revoke tasks for m2 and never acknowledges.
        let r = hb(&mut c, 20, beat_owning("g", "m1", r.member_epoch, owned));
        assert_eq!(r.response.error_code, 0);
        capture.take();
        advance(&mut c, 20 + 30_000);
        let events = capture.take();
        let fenced = find(&events, "member fenced: it did not revoke its tasks");
        assert_eq!(fenced.len(), 1, "{events:#?}");
        assert_eq!(fenced[0].level, Level::INFO);
        assert_eq!(fenced[0].fields["member_id"], "m1");
        assert_eq!(fenced[0].fields["rebalance_timeout_ms"], "30000");
        assert_eq!(fenced[0].fields["cause"], "fenced_rebalance_timeout");
        assert_eq!(
            fenced[0].fields["member_epoch"],
            r.response.member_epoch.to_string()
        );
    });
}

#[test]
fn the_warm_up_gauge_counts_the_refined_assignment() {
    let recorder = DebuggingRecorder::new();
    let snapshot = metrics::with_local_recorder(&recorder, || {
        let mut c = harness(&[("group.streams.acceptable.recovery.lag", "10")]);
        c.update_metadata(metadata(&[("input", 4), ("app-changelog", 4)]));
        let topology = stateful_topology("input", "app-changelog");
        let r = hb(&mut c, 0, join("app", "m1", topology.clone())).response;
        hb(&mut c, 10, join("app", "m2", topology));
        // m1 reaches the new epoch keeping its tasks: nothing promoted yet.
        hb(&mut c, 20, beat("app", "m1", r.member_epoch));
        recorded(&recorder)
    });
    let g = |name: &str| gauge(&snapshot, &format!("{name}{{group=app}}"));
    // The sticky target moves two of the four stateful tasks to m2, which
    // warms them up first (within the default budget of 2).
    assert_eq!(g(names::GROUP_WARMUPS), 2.0);
    assert_eq!(g(names::GROUP_TASKS), 4.0);
    assert_eq!(g(names::GROUP_MEMBERS), 2.0);
}
