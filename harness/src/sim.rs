//! A simulated Kafka Streams client that follows the streams rebalance
//! protocol, sans I/O: it builds heartbeat requests and digests responses;
//! the caller moves them (in process or over the wire) and owns the clock.
//! Used by the demo fleet, the tests and the benches; also handy for a broker
//! author checking an integration.
//!
//! What it does, as a Streams client does: join with epoch 0 and its
//! topology; heartbeat every `HeartbeatIntervalMs`; when a response carries an
//! assignment, give up the tasks no longer assigned and take the new ones and
//! report the owned tasks on an immediate heartbeat; on UNKNOWN_MEMBER_ID /
//! FENCED_MEMBER_EPOCH drop every task and rejoin; on retriable coordinator
//! errors retry after a back-off.
//!
//! Revocation is instantaneous unless [`SimClient::with_revocation_delay_ms`]
//! makes the client a late revoker: it then keeps running the active tasks it
//! was asked to give up for that long (reporting them as owned), as a client
//! that must first commit and close its state stores does. A client with
//! [`SimClient::with_instance_id`] is a static member; it can leave
//! temporarily ([`SimClient::leave_temporarily`]) and a new incarnation with
//! the same instance id can take its place.

use std::collections::{BTreeMap, BTreeSet};

use streams_coordinator::protocol::heartbeat::{
    Subtopology, TaskIds, TaskOffset, TopicInfo, Topology,
};
use streams_coordinator::protocol::{
    ErrorCode, StreamsGroupHeartbeatRequest, StreamsGroupHeartbeatResponse,
};

/// Tasks by subtopology id.
pub type Tasks = BTreeMap<String, BTreeSet<i32>>;

/// Settings (`group.streams.*` names) that make rebalances visible within
/// seconds: the demo broker's `--demo-timings` and the fleet use them.
pub const DEMO_TIMINGS: [(&str, &str); 6] = [
    ("group.streams.min.heartbeat.interval.ms", "100"),
    ("group.streams.heartbeat.interval.ms", "300"),
    ("group.streams.min.session.timeout.ms", "1000"),
    ("group.streams.session.timeout.ms", "2000"),
    ("group.streams.initial.rebalance.delay.ms", "0"),
    ("group.streams.assignment.interval.ms", "0"),
];

/// Back-off after a retriable error, in ms.
pub const RETRY_BACKOFF_MS: i64 = 50;

/// The simple topology the demo uses: subtopology `"0"` reads `input_topics`,
/// with a changelog topic `<app>-store-changelog`; subtopology `"1"` (when
/// `with_repartition`) reads a repartition topic written by `"0"`.
pub fn demo_topology(app: &str, input_topics: &[&str], with_repartition: bool) -> Topology {
    let mut first = Subtopology {
        subtopology_id: "0".into(),
        source_topics: input_topics.iter().map(|t| (*t).to_owned()).collect(),
        state_changelog_topics: vec![TopicInfo {
            name: format!("{app}-store-changelog"),
            ..Default::default()
        }],
        ..Default::default()
    };
    let mut subtopologies = Vec::new();
    if with_repartition {
        let repartition = format!("{app}-by-key-repartition");
        first.repartition_sink_topics = vec![repartition.clone()];
        subtopologies.push(first);
        subtopologies.push(Subtopology {
            subtopology_id: "1".into(),
            repartition_source_topics: vec![TopicInfo {
                name: repartition,
                ..Default::default()
            }],
            state_changelog_topics: vec![TopicInfo {
                name: format!("{app}-counts-changelog"),
                ..Default::default()
            }],
            ..Default::default()
        });
    } else {
        subtopologies.push(first);
    }
    Topology {
        epoch: 0,
        subtopologies,
    }
}

fn to_task_ids(tasks: &Tasks) -> Vec<TaskIds> {
    tasks
        .iter()
        .filter(|(_, p)| !p.is_empty())
        .map(|(s, p)| TaskIds {
            subtopology_id: s.clone(),
            partitions: p.iter().copied().collect(),
        })
        .collect()
}

/// The tasks of a wire task list (a heartbeat response's or a described
/// member's), merged per subtopology; empty subtopologies dropped.
pub fn from_task_ids(ids: &[TaskIds]) -> Tasks {
    let mut t = Tasks::new();
    for i in ids {
        t.entry(i.subtopology_id.clone())
            .or_default()
            .extend(i.partitions.iter().copied());
    }
    t.retain(|_, p| !p.is_empty());
    t
}

/// Number of tasks in `tasks`.
pub fn task_count(tasks: &Tasks) -> usize {
    tasks.values().map(BTreeSet::len).sum()
}

/// What a response did to the client.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Reaction {
    /// Nothing visible changed.
    Nothing,
    /// The client received a new assignment (and will acknowledge it at once).
    Assigned {
        /// Active tasks gained.
        gained: usize,
        /// Active tasks given up.
        revoked: usize,
    },
    /// The member epoch changed without a task change.
    EpochChanged,
    /// The client was fenced (or unknown) and will rejoin with epoch 0.
    Fenced(ErrorCode),
    /// A retriable error; the client retries after a back-off.
    Retry(ErrorCode),
    /// A fatal error; the client stops.
    Fatal(ErrorCode),
    /// The leave was acknowledged.
    Left,
}

/// One simulated Streams client (one member).
#[derive(Clone, Debug)]
pub struct SimClient {
    /// Group id.
    pub group_id: String,
    /// Member id (the client generates it).
    pub member_id: String,
    /// Process id.
    pub process_id: String,
    topology: Topology,
    rebalance_timeout_ms: i32,
    /// Current member epoch (0 before joining).
    pub member_epoch: i32,
    /// Active tasks owned.
    pub active: Tasks,
    /// Standby tasks owned.
    pub standby: Tasks,
    /// Warm-up tasks owned.
    pub warmup: Tasks,
    /// Heartbeat interval the coordinator asked for.
    pub heartbeat_interval_ms: i64,
    instance_id: Option<String>,
    revocation_delay_ms: i64,
    /// Active tasks given up by the coordinator but still running, and when
    /// they will have been closed.
    revoking: Tasks,
    revoked_at_ms: i64,
    next_heartbeat_ms: i64,
    report_tasks: bool,
    endpoint_information_epoch: i32,
    leaving: bool,
    stopped: bool,
    /// How long a warm-up takes to restore its state (0: caught up at once).
    restore_ms: i64,
    /// When each held warm-up task was first seen.
    warmup_since: BTreeMap<(String, i32), i64>,
    /// Offsets were reported for warm-ups that are gone (cleared on the next heartbeat).
    offsets_reported: bool,
}

/// The changelog end offset the simulated client reports for a warm-up task.
pub const WARMUP_END_OFFSET: i64 = 100_000;

impl SimClient {
    /// A client about to join `group_id` with `topology`.
    pub fn new(group_id: &str, member_id: &str, process_id: &str, topology: Topology) -> Self {
        Self {
            group_id: group_id.to_owned(),
            member_id: member_id.to_owned(),
            process_id: process_id.to_owned(),
            topology,
            rebalance_timeout_ms: 30_000,
            member_epoch: 0,
            active: Tasks::new(),
            standby: Tasks::new(),
            warmup: Tasks::new(),
            heartbeat_interval_ms: 5_000,
            instance_id: None,
            revocation_delay_ms: 0,
            revoking: Tasks::new(),
            revoked_at_ms: i64::MIN,
            next_heartbeat_ms: i64::MIN,
            report_tasks: true,
            endpoint_information_epoch: 0,
            leaving: false,
            stopped: false,
            restore_ms: 0,
            warmup_since: BTreeMap::new(),
            offsets_reported: false,
        }
    }

    /// Sets how long a warm-up task takes to restore: the client reports its
    /// changelog offset rising linearly from 0 to [`WARMUP_END_OFFSET`] over
    /// `ms` (with 0, the default, it is caught up at its first report).
    pub fn with_restore_ms(mut self, ms: i64) -> Self {
        self.restore_ms = ms.max(0);
        self
    }

    /// `TaskOffsets` and `TaskEndOffsets` of the next heartbeat: the restore
    /// progress of every warm-up task held (a Streams client reports offsets
    /// for the state it has), empty lists once the last one is gone, else
    /// null (unchanged).
    fn offset_reports(&mut self, now_ms: i64) -> Option<(Vec<TaskOffset>, Vec<TaskOffset>)> {
        let held: BTreeSet<(String, i32)> = self
            .warmup
            .iter()
            .flat_map(|(s, p)| p.iter().map(move |p| (s.clone(), *p)))
            .collect();
        self.warmup_since.retain(|t, _| held.contains(t));
        for t in held {
            self.warmup_since.entry(t).or_insert(now_ms);
        }
        if self.warmup_since.is_empty() {
            return std::mem::take(&mut self.offsets_reported).then(|| (Vec::new(), Vec::new()));
        }
        self.offsets_reported = true;
        let mut offsets = Vec::new();
        let mut ends = Vec::new();
        for ((s, p), since) in &self.warmup_since {
            let elapsed = now_ms.saturating_sub(*since).max(0);
            let offset = if self.restore_ms == 0 {
                WARMUP_END_OFFSET
            } else {
                WARMUP_END_OFFSET.min(WARMUP_END_OFFSET.saturating_mul(elapsed) / self.restore_ms)
            };
            let entry = |offset| TaskOffset {
                subtopology_id: s.clone(),
                partition: *p,
                offset,
            };
            offsets.push(entry(offset));
            ends.push(entry(WARMUP_END_OFFSET));
        }
        Some((offsets, ends))
    }

    /// Sets the rebalance timeout sent on join.
    pub fn with_rebalance_timeout(mut self, ms: i32) -> Self {
        self.rebalance_timeout_ms = ms;
        self
    }

    /// Makes the client a static member with this `group.instance.id`.
    pub fn with_instance_id(mut self, instance_id: &str) -> Self {
        self.instance_id = Some(instance_id.to_owned());
        self
    }

    /// Makes the client a late revoker: active tasks it is asked to give up
    /// keep running (and are reported as owned) for `ms` more milliseconds.
    pub fn with_revocation_delay_ms(mut self, ms: i64) -> Self {
        self.revocation_delay_ms = ms.max(0);
        self
    }

    /// The active tasks the client runs right now: its assignment plus the
    /// tasks it is still revoking.
    pub fn owned_active(&self) -> Tasks {
        let mut owned = self.active.clone();
        for (s, p) in &self.revoking {
            owned
                .entry(s.clone())
                .or_default()
                .extend(p.iter().copied());
        }
        owned
    }

    /// When the next heartbeat is due (ms); `None` once stopped.
    pub fn next_heartbeat_ms(&self) -> Option<i64> {
        (!self.stopped).then_some(self.next_heartbeat_ms)
    }

    /// Whether a heartbeat is due at `now_ms`.
    pub fn due(&self, now_ms: i64) -> bool {
        !self.stopped && now_ms >= self.next_heartbeat_ms
    }

    /// Whether the client has stopped (left, or failed fatally).
    pub fn stopped(&self) -> bool {
        self.stopped
    }

    /// The next heartbeat request. The caller sends it and feeds the response
    /// to [`on_response`](Self::on_response).
    pub fn heartbeat(&mut self, now_ms: i64) -> StreamsGroupHeartbeatRequest {
        // Until the response comes, do not send another one.
        self.next_heartbeat_ms = now_ms.saturating_add(self.heartbeat_interval_ms);
        if !self.revoking.is_empty() {
            if now_ms >= self.revoked_at_ms {
                // The revoked tasks are closed now: say so.
                self.revoking.clear();
                self.report_tasks = true;
            } else {
                self.next_heartbeat_ms = self.next_heartbeat_ms.min(self.revoked_at_ms);
            }
        }
        if self.leaving {
            return StreamsGroupHeartbeatRequest {
                group_id: self.group_id.clone(),
                member_id: self.member_id.clone(),
                member_epoch: -1,
                ..Default::default()
            };
        }
        let joining = self.member_epoch == 0;
        let report = joining || self.report_tasks;
        self.report_tasks = false;
        let owned = self.owned_active();
        let (task_offsets, task_end_offsets) = match self.offset_reports(now_ms) {
            Some((o, e)) => (Some(o), Some(e)),
            None => (None, None),
        };
        StreamsGroupHeartbeatRequest {
            group_id: self.group_id.clone(),
            member_id: self.member_id.clone(),
            member_epoch: self.member_epoch,
            endpoint_information_epoch: self.endpoint_information_epoch,
            rebalance_timeout_ms: if joining {
                self.rebalance_timeout_ms
            } else {
                -1
            },
            topology: joining.then(|| self.topology.clone()),
            instance_id: joining.then(|| self.instance_id.clone()).flatten(),
            active_tasks: report.then(|| to_task_ids(&owned)),
            standby_tasks: report.then(|| to_task_ids(&self.standby)),
            warmup_tasks: report.then(|| to_task_ids(&self.warmup)),
            process_id: joining.then(|| self.process_id.clone()),
            client_tags: joining.then(Vec::new),
            task_offsets,
            task_end_offsets,
            ..Default::default()
        }
    }

    /// Asks the client to leave the group (epoch −1) on its next heartbeat,
    /// which is due at once.
    pub fn leave(&mut self, now_ms: i64) {
        self.leaving = true;
        self.next_heartbeat_ms = now_ms;
    }

    /// A static member's temporary leave (epoch −2): the request to send. The
    /// client stops; a new incarnation with the same instance id may re-join.
    pub fn leave_temporarily(&mut self, now_ms: i64) -> StreamsGroupHeartbeatRequest {
        self.leaving = true;
        self.next_heartbeat_ms = now_ms;
        StreamsGroupHeartbeatRequest {
            group_id: self.group_id.clone(),
            member_id: self.member_id.clone(),
            member_epoch: -2,
            instance_id: self.instance_id.clone(),
            ..Default::default()
        }
    }

    /// Digests the response to the last request sent at `now_ms`.
    pub fn on_response(&mut self, now_ms: i64, resp: &StreamsGroupHeartbeatResponse) -> Reaction {
        let code = ErrorCode(resp.error_code);
        if code != ErrorCode::NONE {
            return match code {
                ErrorCode::UNKNOWN_MEMBER_ID | ErrorCode::FENCED_MEMBER_EPOCH => {
                    if self.leaving {
                        self.stopped = true;
                        return Reaction::Left;
                    }
                    self.member_epoch = 0;
                    self.active.clear();
                    self.revoking.clear();
                    self.standby.clear();
                    self.warmup.clear();
                    self.report_tasks = true;
                    self.next_heartbeat_ms = now_ms;
                    Reaction::Fenced(code)
                }
                ErrorCode::NOT_COORDINATOR
                | ErrorCode::COORDINATOR_NOT_AVAILABLE
                | ErrorCode::COORDINATOR_LOAD_IN_PROGRESS
                | ErrorCode::UNKNOWN_SERVER_ERROR => {
                    self.next_heartbeat_ms = now_ms + RETRY_BACKOFF_MS;
                    // The request may not have been applied: report again.
                    self.report_tasks = true;
                    Reaction::Retry(code)
                }
                _ => {
                    self.stopped = true;
                    Reaction::Fatal(code)
                }
            };
        }
        if self.leaving {
            self.stopped = true;
            return Reaction::Left;
        }
        if resp.heartbeat_interval_ms > 0 {
            self.heartbeat_interval_ms = i64::from(resp.heartbeat_interval_ms);
        }
        self.next_heartbeat_ms = now_ms + self.heartbeat_interval_ms;
        let epoch_changed = resp.member_epoch != self.member_epoch;
        self.member_epoch = resp.member_epoch;
        if resp.partitions_by_user_endpoint.is_some() {
            self.endpoint_information_epoch = resp.endpoint_information_epoch;
        }
        if let (Some(a), Some(s), Some(w)) =
            (&resp.active_tasks, &resp.standby_tasks, &resp.warmup_tasks)
        {
            let active = from_task_ids(a);
            let gained = active
                .iter()
                .map(|(s, p)| {
                    p.difference(self.active.get(s).unwrap_or(&BTreeSet::new()))
                        .count()
                })
                .sum();
            let revoked = self
                .active
                .iter()
                .map(|(s, p)| {
                    p.difference(active.get(s).unwrap_or(&BTreeSet::new()))
                        .count()
                })
                .sum();
            if self.revocation_delay_ms > 0 && revoked > 0 {
                for (s, p) in &self.active {
                    let gone = p
                        .difference(active.get(s).unwrap_or(&BTreeSet::new()))
                        .copied()
                        .collect::<Vec<_>>();
                    if !gone.is_empty() {
                        self.revoking.entry(s.clone()).or_default().extend(gone);
                    }
                }
                self.revoked_at_ms = now_ms.saturating_add(self.revocation_delay_ms);
            }
            // A task assigned again is no longer being revoked.
            for (s, p) in &active {
                if let Some(r) = self.revoking.get_mut(s) {
                    r.retain(|t| !p.contains(t));
                }
            }
            self.revoking.retain(|_, p| !p.is_empty());
            self.active = active;
            self.standby = from_task_ids(s);
            self.warmup = from_task_ids(w);
            // Acknowledge at once: the coordinator moves on only once it sees
            // the owned tasks (still including those being revoked late).
            self.report_tasks = true;
            self.next_heartbeat_ms = now_ms;
            return Reaction::Assigned { gained, revoked };
        }
        if epoch_changed {
            Reaction::EpochChanged
        } else {
            Reaction::Nothing
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn join_then_ack_then_quiet() {
        let mut c = SimClient::new("g", "m1", "p1", demo_topology("app", &["in"], false));
        assert!(c.due(0));
        let join = c.heartbeat(0);
        assert_eq!(join.member_epoch, 0);
        assert!(join.topology.is_some());
        assert_eq!(join.active_tasks, Some(vec![]));
        let resp = StreamsGroupHeartbeatResponse {
            member_id: "m1".into(),
            member_epoch: 2,
            heartbeat_interval_ms: 100,
            active_tasks: Some(vec![TaskIds {
                subtopology_id: "0".into(),
                partitions: vec![0, 1],
            }]),
            standby_tasks: Some(vec![]),
            warmup_tasks: Some(vec![]),
            ..Default::default()
        };
        assert_eq!(
            c.on_response(1, &resp),
            Reaction::Assigned {
                gained: 2,
                revoked: 0
            }
        );
        assert!(c.due(1));
        let ack = c.heartbeat(1);
        assert_eq!(ack.member_epoch, 2);
        assert!(ack.topology.is_none());
        assert_eq!(ack.active_tasks.as_ref().map(Vec::len), Some(1));
        let quiet = StreamsGroupHeartbeatResponse {
            member_epoch: 2,
            heartbeat_interval_ms: 100,
            ..Default::default()
        };
        assert_eq!(c.on_response(2, &quiet), Reaction::Nothing);
        assert!(!c.due(50));
        assert!(c.due(102));
        assert_eq!(c.heartbeat(102).active_tasks, None);
    }

    #[test]
    fn fenced_client_drops_tasks_and_rejoins() {
        let mut c = SimClient::new("g", "m1", "p1", demo_topology("app", &["in"], true));
        c.member_epoch = 5;
        c.active.insert("0".into(), [1, 2].into());
        let fenced = StreamsGroupHeartbeatResponse {
            error_code: ErrorCode::FENCED_MEMBER_EPOCH.0,
            ..Default::default()
        };
        assert_eq!(
            c.on_response(10, &fenced),
            Reaction::Fenced(ErrorCode::FENCED_MEMBER_EPOCH)
        );
        assert!(c.active.is_empty());
        assert_eq!(c.heartbeat(10).member_epoch, 0);
        let busy = StreamsGroupHeartbeatResponse {
            error_code: ErrorCode::COORDINATOR_LOAD_IN_PROGRESS.0,
            ..Default::default()
        };
        assert!(matches!(c.on_response(11, &busy), Reaction::Retry(_)));
        assert!(!c.due(20));
        assert!(c.due(11 + RETRY_BACKOFF_MS));
    }
}
