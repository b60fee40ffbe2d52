//! The demo: a fleet of simulated Kafka Streams clients rebalancing live.
//!
//! ```text
//! cargo run --release --example fleet                  # coordinator in process
//! cargo run --release --example fleet -- --connect localhost:9092
//! cargo run --release --example fleet -- --help
//! ```
//! In process, the coordinator runs inside this program on the project
//! harness (`harness::Harness`: the pure shard over an in-memory log, the
//! one driver loop of the deterministic runs, here on the wall clock) behind
//! the real codec (every request and response is encoded and decoded as
//! Kafka bytes), with the demo timings and the group config
//! `streams.num.standby.replicas=1`. With `--connect`, the clients talk to a
//! broker over TCP (e.g. `cargo run --release --features kafka-protocol
//! --example broker -- --demo-timings --config
//! group.streams.num.standby.replicas=1 input:12`); its timings and standby
//! replicas are then the broker's. The fleet asks that broker for the group's
//! coordinator (FindCoordinator) and follows it when it moves
//! (NOT_COORDINATOR), so it also runs against `--nodes N` with SIGUSR1 moves.
//!
//! Script: 3 clients join; 2 more scale out; one leaves (scale in); one is
//! killed (no more heartbeats: its session times out); one more joins. The
//! timeline shows what an operator looks for: members, epochs, the active
//! tasks a member gets and those it is told to revoke, standby tasks, the
//! internal topics being created, and the group's status (why it is
//! NotReady or delayed). Each change ends with the assignment per member and
//! its measured rebalance latency (from the change until the group is Stable
//! with every member owning its target).

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::{Arc, Mutex as StdMutex};
use std::time::{Duration, Instant};

use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;
use tokio::sync::{mpsc, Mutex};
use tokio::task::JoinHandle;

use harness::memory::topic_id_for;
use harness::net::{read_frame, Connection};
use harness::sim::{
    demo_topology, from_task_ids, task_count, Reaction, SimClient, Tasks, DEMO_TIMINGS,
};
use harness::Harness;
use streams_coordinator::assignor::AssignorRegistry;
use streams_coordinator::group::{CoordinatorConfig, RequestContext};
use streams_coordinator::protocol::describe::DescribedGroup;
use streams_coordinator::protocol::frame::RequestHeader;
use streams_coordinator::protocol::heartbeat::Status;
use streams_coordinator::protocol::{
    ErrorCode, Message, StatusCode, StreamsGroupDescribeRequest, StreamsGroupDescribeResponse,
    StreamsGroupHeartbeatRequest, StreamsGroupHeartbeatResponse,
};
use streams_coordinator::service::net::NetError;
use streams_coordinator::shard::Failure;
use streams_coordinator::topology::{ClusterMetadata, InternalTopic};

/// `println!` that ignores a closed stdout (e.g. `fleet | head`).
macro_rules! out {
    ($($t:tt)*) => {{
        use std::io::Write;
        let _ = writeln!(std::io::stdout().lock(), $($t)*);
    }};
}

const USAGE: &str = "\
usage: fleet [--connect HOST:PORT]

Simulated Kafka Streams clients of the group \"wordcount\" join, scale out,
scale in and crash; the timeline shows members, epochs, active tasks gained
and revoked, standby tasks, internal topics created, the group's status and
each rebalance's latency.

  (no option)          run the coordinator in this process (demo timings,
                       one standby replica per task)
  --connect HOST:PORT  talk to a broker over TCP (host names such as
                       localhost are resolved) and to the group's coordinator
                       it names (FindCoordinator), following it when it
                       moves; the broker needs the topic input with 12
                       partitions, e.g.
                         cargo run --release --features kafka-protocol \\
                           --example broker -- --demo-timings \\
                           --config group.streams.num.standby.replicas=1 input:12
  -h, --help           print this text";

const GROUP: &str = "wordcount";
const INPUT: &str = "input";
const INPUT_PARTITIONS: i32 = 12;
const VERSION: i16 = 1;
/// The standby replicas the in-process fleet sets as the group's config.
const STANDBY_REPLICAS: &str = "1";
/// Give up on a change after this long, plus ten heartbeat intervals (plus a
/// session timeout for the crash).
const CHANGE_TIMEOUT: Duration = Duration::from_secs(15);
/// Kafka's default `group.streams.max.session.timeout.ms`: the most a
/// broker's session timeout can be unless raised; bounds how long the crash
/// takes to detect over `--connect`.
const MAX_SESSION_TIMEOUT_MS: u64 = 60_000;

/// How requests reach the coordinator: in process through the codec, or TCP
/// to the node the broker names as the group's coordinator.
enum Transport {
    InProcess(InProcess),
    Tcp {
        conn: Connection,
        /// The node this connection goes to.
        at: SocketAddr,
        client_id: String,
        cluster: Cluster,
    },
}

impl Transport {
    async fn open(target: &Target, client_id: &str) -> Result<Self, NetError> {
        Ok(match target {
            Target::InProcess(coordinator) => Transport::InProcess(coordinator.clone()),
            Target::Tcp(cluster) => {
                let at = cluster.coordinator();
                Transport::Tcp {
                    conn: Connection::connect(at, client_id).await?,
                    at,
                    client_id: client_id.to_owned(),
                    cluster: cluster.clone(),
                }
            }
        })
    }

    /// The group's last epoch bumps with their causes; in process only (Kafka's
    /// wire has no request for it: over TCP the example broker logs them).
    async fn rebalances(&self) -> Vec<streams_coordinator::group::Rebalance> {
        match self {
            Transport::InProcess(coordinator) => coordinator.rebalances(),
            Transport::Tcp { .. } => Vec::new(),
        }
    }

    /// After NOT_COORDINATOR (the group's coordinator moved to another node):
    /// asks the broker where it is now and reconnects there. Prints the move
    /// once for the whole fleet.
    async fn follow_coordinator(&mut self, timeline: &Timeline) -> Result<(), String> {
        let Transport::Tcp {
            conn,
            at,
            client_id,
            cluster,
        } = self
        else {
            return Ok(());
        };
        let now = find_coordinator(cluster.bootstrap, GROUP).await?;
        if cluster.moved_to(now) {
            timeline.say(
                "broker",
                &format!("the group's coordinator is now {now} (FindCoordinator)"),
            );
        }
        if now != *at {
            *conn = Connection::connect(now, client_id)
                .await
                .map_err(|e| format!("{now}: {e}"))?;
            *at = now;
        }
        Ok(())
    }

    async fn heartbeat(
        &mut self,
        req: &StreamsGroupHeartbeatRequest,
    ) -> Result<StreamsGroupHeartbeatResponse, NetError> {
        match self {
            Transport::InProcess(coordinator) => coordinator.heartbeat(req),
            Transport::Tcp { conn, .. } => conn.heartbeat(VERSION, req).await,
        }
    }

    async fn describe(&mut self, group: &str) -> Result<StreamsGroupDescribeResponse, NetError> {
        let req = StreamsGroupDescribeRequest {
            group_ids: vec![group.into()],
            ..Default::default()
        };
        match self {
            Transport::InProcess(coordinator) => coordinator.describe(&req),
            Transport::Tcp { conn, .. } => conn.describe(VERSION, &req).await,
        }
    }
}

#[derive(Clone)]
enum Target {
    InProcess(InProcess),
    Tcp(Cluster),
}

/// A broker cluster over TCP: the address given on the command line, and
/// the group's coordinator as last found.
#[derive(Clone)]
struct Cluster {
    bootstrap: SocketAddr,
    coordinator: Arc<StdMutex<SocketAddr>>,
}

impl Cluster {
    fn coordinator(&self) -> SocketAddr {
        *self.coordinator.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Records `now` as the coordinator; true if that is a change.
    fn moved_to(&self, now: SocketAddr) -> bool {
        let mut c = self.coordinator.lock().unwrap_or_else(|p| p.into_inner());
        std::mem::replace(&mut *c, now) != now
    }
}

/// FindCoordinator (API key 10) v0 for `group`, asked of `node`: the address
/// of the group's coordinator node.
async fn find_coordinator(node: SocketAddr, group: &str) -> Result<SocketAddr, String> {
    const FIND_COORDINATOR: i16 = 10;
    let fail = |e: &dyn std::fmt::Display| format!("FindCoordinator to {node}: {e}");
    let mut body = Vec::new();
    RequestHeader {
        request_api_key: FIND_COORDINATOR,
        request_api_version: 0,
        correlation_id: 1,
        client_id: Some("fleet".into()),
    }
    .write(1, &mut body);
    // GroupId (a legacy string: int16 length, UTF-8 bytes).
    let len = i16::try_from(group.len()).map_err(|e| fail(&e))?;
    body.extend_from_slice(&len.to_be_bytes());
    body.extend_from_slice(group.as_bytes());
    let size = i32::try_from(body.len()).map_err(|e| fail(&e))?;
    let mut frame = size.to_be_bytes().to_vec();
    frame.extend_from_slice(&body);
    let mut stream = TcpStream::connect(node).await.map_err(|e| fail(&e))?;
    stream.write_all(&frame).await.map_err(|e| fail(&e))?;
    let reply = read_frame(&mut stream)
        .await
        .map_err(|e| fail(&e))?
        .ok_or_else(|| fail(&"the broker closed the connection"))?;
    // CorrelationId, ErrorCode, NodeId, Host (a legacy string), Port.
    let parse = |mut r: &[u8]| -> Option<(i32, i16, String, i32)> {
        let mut take = |n: usize| {
            let (head, rest) = r.split_at_checked(n)?;
            r = rest;
            Some(head)
        };
        let int = |b: &[u8]| i32::from_be_bytes(b.try_into().expect("4 bytes"));
        let correlation = int(take(4)?);
        let error = i16::from_be_bytes(take(2)?.try_into().expect("2 bytes"));
        let _node_id = take(4)?;
        let len = i16::from_be_bytes(take(2)?.try_into().expect("2 bytes"));
        let host = String::from_utf8(take(usize::try_from(len).ok()?)?.to_vec()).ok()?;
        Some((correlation, error, host, int(take(4)?)))
    };
    let (correlation, error, host, port) =
        parse(&reply).ok_or_else(|| fail(&"a FindCoordinator v0 response that does not decode"))?;
    if correlation != 1 {
        return Err(fail(&format!("correlation id {correlation}, expected 1")));
    }
    if error != 0 {
        return Err(fail(&ErrorCode(error).name()));
    }
    let port = u16::try_from(port).map_err(|e| fail(&e))?;
    let mut found = tokio::net::lookup_host((host.as_str(), port))
        .await
        .map_err(|e| fail(&format!("cannot resolve {host}:{port}: {e}")))?;
    found
        .next()
        .ok_or_else(|| fail(&format!("{host}:{port} resolves to no address")))
}

/// What the fleet has seen of the group so far (shared by its clients).
#[derive(Default)]
struct Seen {
    /// The status list of the latest heartbeat response that changed it.
    statuses: Vec<(StatusCode, String)>,
    /// The heartbeat interval the coordinator asks for (0: none seen yet).
    heartbeat_interval_ms: i32,
    /// Whether the internal topics (from describe) were shown.
    internal_topics_shown: bool,
    /// Whether the hint about a broker without standby replicas was shown.
    standby_hint_shown: bool,
}

/// The demo's clock and printer, and what it has seen.
#[derive(Clone)]
struct Timeline {
    start: Instant,
    seen: Arc<StdMutex<Seen>>,
}

impl Timeline {
    fn new() -> Self {
        Timeline {
            start: Instant::now(),
            seen: Arc::new(StdMutex::new(Seen::default())),
        }
    }

    fn say(&self, who: &str, what: &str) {
        let t = self.start.elapsed().as_secs_f64();
        out!("{t:7.3}s  {who:<10} {what}");
    }

    fn seen(&self) -> std::sync::MutexGuard<'_, Seen> {
        // A printer's state: a panic elsewhere cannot leave it inconsistent.
        self.seen.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Prints what a heartbeat response says about the group when it differs
    /// from what was seen last: its status list and heartbeat interval.
    fn heartbeat_seen(&self, who: &str, resp: &StreamsGroupHeartbeatResponse) {
        if resp.error_code != 0 {
            return;
        }
        let statuses: Vec<(StatusCode, String)> = resp
            .status
            .iter()
            .flatten()
            .map(|s: &Status| (StatusCode(s.status_code), s.status_detail.clone()))
            .collect();
        let mut seen = self.seen();
        if statuses != seen.statuses {
            if statuses.is_empty() {
                self.say("status", &format!("clear (reported to {who})"));
            }
            for (code, detail) in &statuses {
                self.say(
                    "status",
                    &format!("{}: {detail} (reported to {who})", code.name()),
                );
            }
            seen.statuses = statuses;
        }
        if resp.heartbeat_interval_ms > 0
            && resp.heartbeat_interval_ms != seen.heartbeat_interval_ms
        {
            seen.heartbeat_interval_ms = resp.heartbeat_interval_ms;
            self.say(
                "broker",
                &format!(
                    "heartbeat interval {} ms (from its heartbeat responses)",
                    resp.heartbeat_interval_ms
                ),
            );
        }
    }

    /// The status codes last seen, e.g. `MISSING_SOURCE_TOPICS`, or `none`
    /// when there are none.
    fn status_names(&self, none: &str) -> String {
        let seen = self.seen();
        if seen.statuses.is_empty() {
            return none.to_owned();
        }
        let names: Vec<&str> = seen.statuses.iter().map(|(c, _)| c.name()).collect();
        names.join(", ")
    }

    /// The statuses last seen with their detail text.
    fn status_details(&self) -> String {
        let seen = self.seen();
        let parts: Vec<String> = seen
            .statuses
            .iter()
            .map(|(c, d)| format!("{} ({d})", c.name()))
            .collect();
        parts.join("; ")
    }
}

/// `msg` encoded as Kafka bytes and decoded back: what crosses the wire.
fn through_codec<M: Message>(msg: &M) -> Result<M, NetError> {
    let mut bytes = Vec::new();
    msg.encode(VERSION, &mut bytes)?;
    Ok(M::decode(&bytes, VERSION)?)
}

/// The in-process coordinator: the project harness (the pure shard over an
/// in-memory log) on the wall clock since the start, shared by the fleet's
/// clients; requests and responses go through the codec. As a broker, it
/// creates the internal topics the coordinator asks for (shown on the
/// timeline) and fires the coordinator's timers ([`InProcess::pump`]).
#[derive(Clone)]
struct InProcess {
    harness: Arc<StdMutex<Harness>>,
    start: Instant,
    timeline: Timeline,
}

impl InProcess {
    fn lock(&self) -> std::sync::MutexGuard<'_, Harness> {
        // The harness answers every call in full: a panic elsewhere cannot
        // leave it half-way.
        self.harness.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn now_ms(&self) -> i64 {
        i64::try_from(self.start.elapsed().as_millis()).unwrap_or(i64::MAX)
    }

    /// The harness at the current time (due timers fired).
    fn at_now(&self) -> std::sync::MutexGuard<'_, Harness> {
        let now = self.now_ms();
        let mut h = self.lock();
        // Err: more timers than the harness fires in one call; the rest
        // fire at the next one.
        let _ = h.advance_to(now);
        h
    }

    fn ctx(&self) -> RequestContext {
        RequestContext {
            api_version: VERSION,
            client_id: "fleet".into(),
            client_host: "/127.0.0.1".into(),
            now_ms: self.now_ms(),
        }
    }

    /// Fires the coordinator's timers as their time comes, for ever.
    fn pump(&self) {
        let me = self.clone();
        tokio::spawn(async move {
            loop {
                drop(me.at_now());
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        });
    }

    fn heartbeat(
        &self,
        req: &StreamsGroupHeartbeatRequest,
    ) -> Result<StreamsGroupHeartbeatResponse, NetError> {
        let req = through_codec(req)?;
        let ctx = self.ctx();
        let mut h = self.at_now();
        let done = h.heartbeat_response(&ctx, req);
        self.create_topics(&mut h, &done.internal_topics);
        drop(h);
        through_codec(&done.response)
    }

    fn describe(
        &self,
        req: &StreamsGroupDescribeRequest,
    ) -> Result<StreamsGroupDescribeResponse, NetError> {
        let req = through_codec(req)?;
        let ctx = self.ctx();
        let groups = match self.at_now().describe(&ctx, req.clone()) {
            Ok(groups) => groups,
            Err(Failure { code, message }) => req
                .group_ids
                .iter()
                .map(|id| DescribedGroup {
                    group_id: id.clone(),
                    error_code: code.0,
                    error_message: message.clone(),
                    ..DescribedGroup::default()
                })
                .collect(),
        };
        through_codec(&StreamsGroupDescribeResponse {
            groups,
            ..StreamsGroupDescribeResponse::default()
        })
    }

    /// The group's epoch bumps with their causes.
    fn rebalances(&self) -> Vec<streams_coordinator::group::Rebalance> {
        self.lock().coordinator().rebalance_history(GROUP)
    }

    /// What a broker does when the coordinator finds the group's internal
    /// topics missing: creates those that do not exist (with the broker
    /// default partition count when the coordinator names none) and
    /// publishes the new metadata.
    fn create_topics(&self, h: &mut Harness, topics: &[InternalTopic]) {
        let mut metadata = (**h.metadata()).clone();
        let mut created = Vec::new();
        for t in topics {
            if metadata.partition_count(&t.name).is_some() {
                continue;
            }
            let partitions = if t.partitions > 0 {
                created.push(format!("{} ({} partitions)", t.name, t.partitions));
                t.partitions
            } else {
                created.push(format!("{} (broker default partitions)", t.name));
                INPUT_PARTITIONS
            };
            metadata = metadata.with_topic(topic_id_for(&t.name), &t.name, partitions);
        }
        if !created.is_empty() {
            self.timeline.say(
                "broker",
                &format!("creates internal topics {}", created.join(", ")),
            );
            h.update_metadata(Arc::new(metadata));
        }
    }
}

/// A running client: its task and a way to make it leave.
struct Running {
    task: JoinHandle<()>,
    leave: mpsc::Sender<()>,
}

fn spawn_client(i: usize, target: Target, timeline: Timeline) -> Running {
    let (leave_tx, mut leave_rx) = mpsc::channel(1);
    let name = format!("member-{i}");
    let task = tokio::spawn(async move {
        let mut transport = match Transport::open(&target, &name).await {
            Ok(t) => t,
            Err(e) => return timeline.say(&name, &format!("cannot connect: {e}")),
        };
        let mut client = SimClient::new(
            GROUP,
            &name,
            &format!("process-{i}"),
            demo_topology(GROUP, &[INPUT], true),
        );
        let start = Instant::now();
        let now = || start.elapsed().as_millis() as i64;
        loop {
            let wait = client
                .next_heartbeat_ms()
                .map(|t| (t - now()).max(0) as u64)
                .unwrap_or(u64::MAX);
            tokio::select! {
                _ = leave_rx.recv() => client.leave(now()),
                _ = tokio::time::sleep(Duration::from_millis(wait.min(60_000))) => {}
            }
            if !client.due(now()) {
                continue;
            }
            let joining = client.member_epoch == 0;
            let req = client.heartbeat(now());
            let resp = match transport.heartbeat(&req).await {
                Ok(r) => r,
                Err(e) => return timeline.say(&name, &format!("connection failed: {e}")),
            };
            let before = Owned::of(&client);
            let reaction = client.on_response(now(), &resp);
            timeline.heartbeat_seen(&name, &resp);
            match reaction {
                Reaction::Assigned { .. } => {
                    timeline.say(&name, &change_line(joining, &before, &client))
                }
                Reaction::Fenced(code) => {
                    timeline.say(&name, &format!("fenced ({}), rejoining", code.name()))
                }
                Reaction::Fatal(code) => {
                    return timeline.say(&name, &format!("stopped on {}", code.name()))
                }
                Reaction::Left => return timeline.say(&name, "left the group"),
                Reaction::Retry(ErrorCode::NOT_COORDINATOR) => {
                    if let Err(e) = transport.follow_coordinator(&timeline).await {
                        timeline.say(&name, &format!("cannot follow the coordinator: {e}"));
                    }
                }
                Reaction::Retry(_) | Reaction::EpochChanged | Reaction::Nothing => {}
            }
        }
    });
    Running {
        task,
        leave: leave_tx,
    }
}

/// The tasks a client owns, by kind.
struct Owned {
    active: Tasks,
    standby: Tasks,
    warmup: Tasks,
}

impl Owned {
    fn of(c: &SimClient) -> Self {
        Owned {
            active: c.active.clone(),
            standby: c.standby.clone(),
            warmup: c.warmup.clone(),
        }
    }
}

/// The tasks of `a` that are not in `b`.
fn minus(a: &Tasks, b: &Tasks) -> Tasks {
    let mut d = Tasks::new();
    for (s, parts) in a {
        let left: std::collections::BTreeSet<i32> = match b.get(s) {
            Some(other) => parts.difference(other).copied().collect(),
            None => parts.clone(),
        };
        if !left.is_empty() {
            d.insert(s.clone(), left);
        }
    }
    d
}

/// `0:[1,3] 1:[2]`: subtopology and partitions (task `0_1` is `0:[1]`).
fn fmt_tasks(t: &Tasks) -> String {
    let parts: Vec<String> = t
        .iter()
        .map(|(s, p)| {
            let p: Vec<String> = p.iter().map(i32::to_string).collect();
            format!("{s}:[{}]", p.join(","))
        })
        .collect();
    parts.join(" ")
}

/// The tasks in both `a` and `b`.
fn both(a: &Tasks, b: &Tasks) -> Tasks {
    minus(a, &minus(a, b))
}

/// One member's line for a new assignment: the active tasks it is told to
/// revoke (give up: the group waits for it to confirm before handing them
/// on), standby tasks promoted to active, what else it gets or drops, and
/// what it runs afterwards.
fn change_line(joining: bool, before: &Owned, c: &SimClient) -> String {
    let revoked = minus(&before.active, &c.active);
    let promoted = both(&minus(&before.standby, &c.standby), &c.active);
    let got_active = minus(&minus(&c.active, &before.active), &promoted);
    let got_standby = minus(&c.standby, &before.standby);
    let dropped_standby = minus(&minus(&before.standby, &c.standby), &promoted);
    let got_warmup = minus(&c.warmup, &before.warmup);
    let dropped_warmup = minus(&before.warmup, &c.warmup);
    let changes: Vec<String> = [
        ("REVOKE active", &revoked, " (told to give them up)"),
        ("promotes standby → active", &promoted, ""),
        ("gets active", &got_active, ""),
        ("gets standby", &got_standby, ""),
        ("drops standby", &dropped_standby, ""),
        ("gets warm-up", &got_warmup, ""),
        ("drops warm-up", &dropped_warmup, ""),
    ]
    .into_iter()
    .filter(|(_, tasks, _)| !tasks.is_empty())
    .map(|(what, tasks, note)| format!("{what} {}{note}", fmt_tasks(tasks)))
    .collect();
    let changes = if changes.is_empty() {
        if joining {
            "no tasks yet"
        } else {
            "same tasks"
        }
        .to_owned()
    } else {
        changes.join("; ")
    };
    let head = if joining {
        format!("joined, epoch {:>2}", c.member_epoch)
    } else {
        format!("epoch {:>2}", c.member_epoch)
    };
    let mut line = format!(
        "{head}: {changes} → runs {} active, {} standby",
        task_count(&c.active),
        task_count(&c.standby)
    );
    if !c.warmup.is_empty() {
        line.push_str(&format!(", {} warm-up", task_count(&c.warmup)));
    }
    line
}

/// Polls describe until the group is Stable with `members` members, all at the
/// assignment epoch, at a group epoch above `after_epoch`; gives up after
/// [`CHANGE_TIMEOUT`] plus ten heartbeat intervals plus `extra`.
async fn wait_stable(
    observer: &Mutex<Transport>,
    timeline: &Timeline,
    members: usize,
    after_epoch: i32,
    extra: Duration,
    connected: bool,
) -> Result<(DescribedGroup, Duration), String> {
    let start = Instant::now();
    let mut last = (String::new(), -1, String::new());
    let mut last_state = String::from("(not described yet)");
    let mut shown_epoch = after_epoch;
    loop {
        let mut observer = observer.lock().await;
        let resp = observer.describe(GROUP).await.map_err(|e| e.to_string())?;
        let group = resp.groups.into_iter().next();
        if let Some(code) = group.as_ref().map(|g| ErrorCode(g.error_code)) {
            if code != ErrorCode::NONE {
                last_state = format!("not described ({})", code.name());
            }
            if code == ErrorCode::NOT_COORDINATOR {
                observer.follow_coordinator(timeline).await?;
            }
        }
        // Every new group-epoch bump, with its cause: "epoch 7 ← member-2 left (...)".
        for r in observer.rebalances().await {
            if r.epoch > shown_epoch {
                timeline.say("group", &format!("{r}"));
                shown_epoch = r.epoch;
            }
        }
        drop(observer);
        if let Some(g) = group.filter(|g| g.error_code == 0) {
            let held = if g.group_state == "NotReady" {
                format!(
                    " — held by {}",
                    timeline.status_names("(no status seen yet)")
                )
            } else {
                String::new()
            };
            let now = (g.group_state.clone(), g.group_epoch, held);
            if now != last {
                let held = &now.2;
                timeline.say(
                    "group",
                    &format!(
                        "{:<11} group epoch {:>2}, assignment epoch {:>2}, {} members{held}",
                        g.group_state,
                        g.group_epoch,
                        g.assignment_epoch,
                        g.members.len()
                    ),
                );
                last = now;
            }
            if connected && g.group_state != "NotReady" {
                show_internal_topics(timeline, &g);
            }
            last_state.clone_from(&g.group_state);
            let settled = g.group_state == "Stable"
                && g.group_epoch > after_epoch
                && g.members.len() == members
                && g.members.iter().all(|m| {
                    // At the target: no warm-up still waiting for its promotion.
                    m.member_epoch == g.assignment_epoch
                        && from_task_ids(&m.assignment.active_tasks)
                            == from_task_ids(&m.target_assignment.active_tasks)
                        && task_count(&from_task_ids(&m.assignment.warmup_tasks)) == 0
                });
            if settled {
                return Ok((g, start.elapsed()));
            }
        }
        let heartbeat = timeline.seen().heartbeat_interval_ms.max(0) as u32;
        let limit = CHANGE_TIMEOUT + Duration::from_millis(10) * heartbeat + extra;
        if start.elapsed() > limit {
            let why = match timeline.status_details() {
                s if s.is_empty() => "no status reported".to_owned(),
                s => format!("status {s}"),
            };
            let hint = if connected {
                format!(
                    "\n(the fleet needs the topic {INPUT:?} with {INPUT_PARTITIONS} partitions on the broker)"
                )
            } else {
                String::new()
            };
            return Err(format!(
                "no Stable group after {} s: the group is {last_state}, {why}{hint}",
                limit.as_secs()
            ));
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// Over `--connect`, the internal topics the broker's coordinator configured
/// for the group (from describe), shown once.
fn show_internal_topics(timeline: &Timeline, g: &DescribedGroup) {
    let Some(subtopologies) = g.topology.as_ref().and_then(|t| t.subtopologies.as_ref()) else {
        return;
    };
    let topics: BTreeMap<&str, i32> = subtopologies
        .iter()
        .flat_map(|s| {
            s.repartition_source_topics
                .iter()
                .chain(&s.state_changelog_topics)
        })
        .map(|t| (t.name.as_str(), t.partitions))
        .collect();
    if topics.is_empty() || std::mem::replace(&mut timeline.seen().internal_topics_shown, true) {
        return;
    }
    let list: Vec<String> = topics
        .iter()
        .map(|(name, n)| format!("{name} ({n} partitions)"))
        .collect();
    timeline.say(
        "group",
        &format!("internal topics (from describe): {}", list.join(", ")),
    );
}

/// The assignment per member, as describe shows it.
fn print_assignment(timeline: &Timeline, g: &DescribedGroup, connected: bool) {
    let mut by_member: BTreeMap<&str, (Tasks, Tasks, Tasks)> = BTreeMap::new();
    for m in &g.members {
        let a = &m.assignment;
        by_member.insert(
            &m.member_id,
            (
                from_task_ids(&a.active_tasks),
                from_task_ids(&a.standby_tasks),
                from_task_ids(&a.warmup_tasks),
            ),
        );
    }
    let (mut active, mut standby, mut warmup) = (0, 0, 0);
    for (member, (a, s, w)) in &by_member {
        active += task_count(a);
        standby += task_count(s);
        warmup += task_count(w);
        let mut line = format!(
            "{:>2} active {:<28} {:>2} standby {}",
            task_count(a),
            fmt_tasks(a),
            task_count(s),
            fmt_tasks(s)
        )
        .trim_end()
        .to_owned();
        if !w.is_empty() {
            line.push_str(&format!("  {} warm-up {}", task_count(w), fmt_tasks(w)));
        }
        out!("           {:<10} {member:<10} {line}", "");
    }
    let replicas = if active > 0 && standby % active == 0 {
        let n = standby / active;
        format!(
            " ({n} standby replica{} per task)",
            if n == 1 { "" } else { "s" }
        )
    } else {
        String::new()
    };
    out!(
        "           {:<10} {active} active, {standby} standby{replicas}, {warmup} warm-up tasks",
        ""
    );
    if connected
        && by_member.len() > 1
        && standby == 0
        && !std::mem::replace(&mut timeline.seen().standby_hint_shown, true)
    {
        out!(
            "           {:<10} (no standby tasks: the broker runs without standby replicas; start it with --config group.streams.num.standby.replicas=1)",
            ""
        );
    }
}

enum Cli {
    Help,
    InProcess,
    Connect(String),
}

fn parse_args(args: &[String]) -> Result<Cli, String> {
    match args {
        [] => Ok(Cli::InProcess),
        [flag] if flag == "-h" || flag == "--help" => Ok(Cli::Help),
        [flag, addr] if flag == "--connect" => Ok(Cli::Connect(addr.clone())),
        [flag] if flag == "--connect" => Err("--connect needs HOST:PORT".into()),
        other => Err(format!("unexpected arguments {other:?}")),
    }
}

/// Resolves `addr` (`HOST:PORT`, host names allowed) to the first of its
/// addresses that accepts a connection.
async fn connect(addr: &str) -> Result<SocketAddr, String> {
    let resolved: Vec<SocketAddr> = tokio::net::lookup_host(addr)
        .await
        .map_err(|e| format!("--connect {addr}: cannot resolve (expected HOST:PORT): {e}"))?
        .collect();
    let mut failures = Vec::new();
    for a in &resolved {
        match TcpStream::connect(*a).await {
            Ok(_) => return Ok(*a),
            Err(e) => failures.push(format!("{a}: {e}")),
        }
    }
    if failures.is_empty() {
        return Err(format!("--connect {addr}: the name resolves to no address"));
    }
    Err(format!(
        "--connect {addr}: cannot connect ({}); is the broker running?",
        failures.join("; ")
    ))
}

/// The in-process coordinator: demo timings, the group's standby replicas
/// set as an operator sets a group config; prints the settings in force.
fn start_in_process(timeline: &Timeline) -> Result<(InProcess, CoordinatorConfig), String> {
    let mut config = CoordinatorConfig::default();
    for (k, v) in DEMO_TIMINGS {
        config.set(k, v).map_err(|e| format!("{k}={v}: {e}"))?;
    }
    config.validate().map_err(|e| e.to_string())?;
    let mut harness = Harness::new(config.clone(), Arc::new(AssignorRegistry::default()));
    harness.update_metadata(Arc::new(ClusterMetadata::new().with_topic(
        topic_id_for(INPUT),
        INPUT,
        INPUT_PARTITIONS,
    )));
    let standby = [(
        "streams.num.standby.replicas".to_owned(),
        STANDBY_REPLICAS.to_owned(),
    )];
    harness
        .update_group_config(GROUP, &standby)
        .map_err(|e| format!("group config {standby:?}: {e}"))?;
    let coordinator = InProcess {
        harness: Arc::new(StdMutex::new(harness)),
        start: Instant::now(),
        timeline: timeline.clone(),
    };
    coordinator.pump();
    out!("fleet: coordinator in process on the project harness (requests go through the Kafka codec)");
    out!(
        "fleet: settings in force: heartbeat interval {} ms, session timeout {} ms, initial rebalance delay {} ms, assignment interval {} ms (group.streams.*, the demo timings); streams.num.standby.replicas={STANDBY_REPLICAS} (group config)",
        config.heartbeat_interval_ms,
        config.session_timeout_ms,
        config.initial_rebalance_delay_ms,
        config.assignment_interval_ms
    );
    // Responses asking for this interval are what the header says: not news.
    timeline.seen().heartbeat_interval_ms = config.heartbeat_interval_ms;
    Ok((coordinator, config))
}

#[tokio::main]
async fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let cli = match parse_args(&args) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("fleet: {e}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    let (target, observer, timeline, session_timeout) = match cli {
        Cli::Help => {
            out!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Cli::Connect(addr) => {
            let bootstrap = match connect(&addr).await {
                Ok(a) => a,
                Err(e) => {
                    eprintln!("fleet: {e}");
                    return ExitCode::FAILURE;
                }
            };
            let coordinator = match find_coordinator(bootstrap, GROUP).await {
                Ok(c) => {
                    out!("fleet: broker {addr} ({bootstrap}); the group's coordinator is {c} (FindCoordinator)");
                    c
                }
                Err(e) => {
                    out!("fleet: broker {addr} ({bootstrap}); no coordinator found ({e}): the clients talk to {bootstrap}");
                    bootstrap
                }
            };
            out!("fleet: settings in force are the broker's: the heartbeat interval shows in its heartbeat responses, standby replicas in the assignment; its session timeout and rebalance delays do not travel over the protocol");
            let target = Target::Tcp(Cluster {
                bootstrap,
                coordinator: Arc::new(StdMutex::new(coordinator)),
            });
            let observer = match Transport::open(&target, "fleet-observer").await {
                Ok(t) => t,
                Err(e) => {
                    eprintln!("fleet: cannot reach the coordinator at {coordinator}: {e}");
                    return ExitCode::FAILURE;
                }
            };
            (target, observer, Timeline::new(), None)
        }
        Cli::InProcess => {
            let timeline = Timeline::new();
            let (coordinator, config) = match start_in_process(&timeline) {
                Ok(s) => s,
                Err(e) => {
                    eprintln!("fleet: {e}");
                    return ExitCode::FAILURE;
                }
            };
            let target = Target::InProcess(coordinator);
            let observer = match Transport::open(&target, "fleet-observer").await {
                Ok(t) => t,
                Err(e) => {
                    eprintln!("fleet: cannot reach the coordinator: {e}");
                    return ExitCode::FAILURE;
                }
            };
            let session = Duration::from_millis(config.session_timeout_ms.max(0) as u64);
            (target, observer, timeline, Some(session))
        }
    };
    let connected = matches!(target, Target::Tcp(_));
    let tasks = if connected {
        "one active task per subtopology and partition of it".to_owned()
    } else {
        format!(
            "{INPUT_PARTITIONS} partitions → {} active tasks",
            2 * INPUT_PARTITIONS
        )
    };
    out!(
        "fleet: group {GROUP:?}, topology: 2 subtopologies over {INPUT:?} ({tasks}); changelog and repartition topics are internal topics"
    );
    let observer = Arc::new(Mutex::new(observer));
    let mut running: BTreeMap<usize, Running> = BTreeMap::new();
    let mut next_id = 1;
    let mut epoch = 0;
    let mut results: Vec<(String, Duration)> = Vec::new();

    let steps: [(&str, i32); 5] = [
        ("3 clients join", 3),
        ("scale out +2", 2),
        ("scale in: member-2 leaves", -1),
        ("kill member-4 (crash)", -2),
        ("scale out +1", 1),
    ];
    for (label, change) in steps {
        out!("\n── {label} ──");
        timeline.say("fleet", label);
        let mut extra = Duration::ZERO;
        match change {
            n if n > 0 => {
                for _ in 0..n {
                    running.insert(
                        next_id,
                        spawn_client(next_id, target.clone(), timeline.clone()),
                    );
                    next_id += 1;
                }
            }
            -1 => {
                if let Some(r) = running.remove(&2) {
                    let _ = r.leave.send(()).await;
                    let _ = r.task.await;
                }
            }
            _ => {
                if let Some(r) = running.remove(&4) {
                    r.task.abort();
                    timeline.say("member-4", "killed: no more heartbeats");
                }
                extra = session_timeout.unwrap_or(Duration::from_millis(MAX_SESSION_TIMEOUT_MS));
            }
        }
        match wait_stable(&observer, &timeline, running.len(), epoch, extra, connected).await {
            Ok((g, took)) => {
                epoch = g.group_epoch;
                print_assignment(&timeline, &g, connected);
                timeline.say(
                    "fleet",
                    &format!("rebalance done in {} ms", took.as_millis()),
                );
                results.push((label.to_string(), took));
            }
            Err(e) => {
                eprintln!("fleet: {label}: {e}");
                return ExitCode::FAILURE;
            }
        }
    }
    for (_, r) in running {
        let _ = r.leave.send(()).await;
        let _ = r.task.await;
    }
    out!("\nRebalance latency per change (wall clock, from the change to a Stable group):");
    for (label, took) in &results {
        out!("  {label:<28} {:>6} ms", took.as_millis());
    }
    match session_timeout {
        Some(s) => out!(
            "  (the crash includes the {} ms session timeout that detects it)",
            s.as_millis()
        ),
        None => out!("  (the crash includes the broker's session timeout that detects it)"),
    }
    ExitCode::SUCCESS
}
