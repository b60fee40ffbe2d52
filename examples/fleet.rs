//! The demo: a fleet of simulated Kafka Streams clients rebalancing live.
//!
//! ```text
//! cargo run --release --example fleet                  # service in process
//! cargo run --release --example fleet -- --connect 127.0.0.1:9092
//! ```
//! In process, the coordinator service runs inside this program behind the
//! real codec (every request and response is encoded and decoded as Kafka
//! bytes). With `--connect`, the clients talk to the demo broker over TCP
//! (start it with `cargo run --release --example broker -- --demo-timings
//! input:12`).
//!
//! Script: 3 clients join; 2 more scale out; one leaves (scale in); one is
//! killed (no more heartbeats: its session times out); one more joins. The
//! timeline shows members, epochs and tasks moving; each change ends with its
//! measured rebalance latency (from the change until the group is Stable
//! with every member owning its target).

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::{mpsc, Mutex};
use tokio::task::JoinHandle;

use streams_coordinator::protocol::describe::DescribedGroup;
use streams_coordinator::protocol::frame::{
    decode_response_frame, encode_request_frame, RequestHeader,
};
use streams_coordinator::protocol::{
    Message, StreamsGroupDescribeRequest, StreamsGroupDescribeResponse,
    StreamsGroupHeartbeatRequest, StreamsGroupHeartbeatResponse,
};
use streams_coordinator::service::broker::topic_id_for;
use streams_coordinator::service::net::{self, Connection, NetError};
use streams_coordinator::service::sim::{
    demo_topology, task_count, Reaction, SimClient, DEMO_TIMINGS,
};
use streams_coordinator::service::{MemoryBroker, Service, ServiceConfig};
use streams_coordinator::topology::ClusterMetadata;

/// `println!` that ignores a closed stdout (e.g. `fleet | head`).
macro_rules! out {
    ($($t:tt)*) => {{
        use std::io::Write;
        let _ = writeln!(std::io::stdout().lock(), $($t)*);
    }};
}

const GROUP: &str = "wordcount";
const INPUT: &str = "input";
const INPUT_PARTITIONS: i32 = 12;
const VERSION: i16 = 1;
/// Give up on a change after this long.
const CHANGE_TIMEOUT: Duration = Duration::from_secs(15);

/// How requests reach the coordinator: in process through the codec, or TCP.
enum Transport {
    InProcess { service: Service, correlation: i32 },
    Tcp(Connection),
}

impl Transport {
    async fn open(target: &Target, client_id: &str) -> Result<Self, NetError> {
        Ok(match target {
            Target::InProcess(service) => Transport::InProcess {
                service: service.clone(),
                correlation: 0,
            },
            Target::Tcp(addr) => Transport::Tcp(Connection::connect(*addr, client_id).await?),
        })
    }

    async fn in_process<M: Message, R: Message>(
        service: &Service,
        correlation: &mut i32,
        req: &M,
    ) -> Result<R, NetError> {
        *correlation += 1;
        let header = RequestHeader {
            request_api_key: M::API_KEY,
            request_api_version: VERSION,
            correlation_id: *correlation,
            client_id: Some("fleet".into()),
        };
        let mut frame = Vec::new();
        encode_request_frame(&header, req, &mut frame)?;
        let reply = net::handle_frame(service, net::ANONYMOUS, "/127.0.0.1", &frame[4..]).await?;
        let (_, resp) = decode_response_frame::<R>(&reply[4..], VERSION)?;
        Ok(resp)
    }

    async fn heartbeat(
        &mut self,
        req: &StreamsGroupHeartbeatRequest,
    ) -> Result<StreamsGroupHeartbeatResponse, NetError> {
        match self {
            Transport::InProcess {
                service,
                correlation,
            } => Self::in_process(service, correlation, req).await,
            Transport::Tcp(c) => c.heartbeat(VERSION, req).await,
        }
    }

    async fn describe(&mut self, group: &str) -> Result<StreamsGroupDescribeResponse, NetError> {
        let req = StreamsGroupDescribeRequest {
            group_ids: vec![group.into()],
            ..Default::default()
        };
        match self {
            Transport::InProcess {
                service,
                correlation,
            } => Self::in_process(service, correlation, &req).await,
            Transport::Tcp(c) => c.describe(VERSION, &req).await,
        }
    }
}

#[derive(Clone)]
enum Target {
    InProcess(Service),
    Tcp(SocketAddr),
}

/// The demo's clock and printer.
#[derive(Clone)]
struct Timeline {
    start: Instant,
}

impl Timeline {
    fn say(&self, who: &str, what: &str) {
        let t = self.start.elapsed().as_secs_f64();
        out!("{t:7.3}s  {who:<10} {what}");
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
            match client.on_response(now(), &resp) {
                Reaction::Assigned { gained, revoked } => timeline.say(
                    &name,
                    &format!(
                        "{}epoch {:>2}: +{gained} -{revoked} active → owns {} active {}",
                        if joining { "joined, " } else { "" },
                        client.member_epoch,
                        task_count(&client.active),
                        tasks_str(&client)
                    ),
                ),
                Reaction::Fenced(code) => {
                    timeline.say(&name, &format!("fenced ({}), rejoining", code.name()))
                }
                Reaction::Fatal(code) => {
                    return timeline.say(&name, &format!("stopped on {}", code.name()))
                }
                Reaction::Left => return timeline.say(&name, "left the group"),
                Reaction::Retry(_) | Reaction::EpochChanged | Reaction::Nothing => {}
            }
        }
    });
    Running {
        task,
        leave: leave_tx,
    }
}

fn tasks_str(c: &SimClient) -> String {
    let parts: Vec<String> = c
        .active
        .iter()
        .map(|(s, p)| format!("{s}:{:?}", p.iter().collect::<Vec<_>>()))
        .collect();
    parts.join(" ")
}

/// Polls describe until the group is Stable with `members` members, all at the
/// assignment epoch, at a group epoch above `after_epoch`.
async fn wait_stable(
    observer: &Mutex<Transport>,
    timeline: &Timeline,
    members: usize,
    after_epoch: i32,
) -> Result<(DescribedGroup, Duration), String> {
    let start = Instant::now();
    let mut last = (String::new(), -1);
    loop {
        let resp = observer
            .lock()
            .await
            .describe(GROUP)
            .await
            .map_err(|e| e.to_string())?;
        if let Some(g) = resp.groups.into_iter().next().filter(|g| g.error_code == 0) {
            if (g.group_state.clone(), g.group_epoch) != last {
                last = (g.group_state.clone(), g.group_epoch);
                timeline.say(
                    "group",
                    &format!(
                        "{:<11} group epoch {:>2}, assignment epoch {:>2}, {} members",
                        g.group_state,
                        g.group_epoch,
                        g.assignment_epoch,
                        g.members.len()
                    ),
                );
            }
            let settled = g.group_state == "Stable"
                && g.group_epoch > after_epoch
                && g.members.len() == members
                && g.members
                    .iter()
                    .all(|m| m.member_epoch == g.assignment_epoch);
            if settled {
                return Ok((g, start.elapsed()));
            }
        }
        if start.elapsed() > CHANGE_TIMEOUT {
            return Err(format!("no stable group after {CHANGE_TIMEOUT:?}"));
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

fn print_assignment(g: &DescribedGroup) {
    let mut by_member: BTreeMap<&str, usize> = BTreeMap::new();
    for m in &g.members {
        by_member.insert(
            &m.member_id,
            m.assignment
                .active_tasks
                .iter()
                .map(|t| t.partitions.len())
                .sum(),
        );
    }
    let line: Vec<String> = by_member.iter().map(|(m, n)| format!("{m}={n}")).collect();
    out!(
        "           {:<10} active tasks per member: {}",
        "",
        line.join(", ")
    );
}

#[tokio::main]
async fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let target = match args.as_slice() {
        [] => None,
        [flag, addr] if flag == "--connect" => match addr.parse::<SocketAddr>() {
            Ok(a) => Some(a),
            Err(e) => {
                eprintln!("fleet: --connect {addr}: {e}");
                return ExitCode::from(2);
            }
        },
        _ => {
            eprintln!("usage: fleet [--connect HOST:PORT]");
            return ExitCode::from(2);
        }
    };
    let target = match target {
        Some(addr) => {
            out!("fleet: clients connect to the broker at {addr}");
            Target::Tcp(addr)
        }
        None => {
            let mut config = ServiceConfig {
                partition_count: 4,
                ..ServiceConfig::default()
            };
            for (k, v) in DEMO_TIMINGS {
                if let Err(e) = config.coordinator.set(k, v) {
                    eprintln!("fleet: {k}={v}: {e}");
                    return ExitCode::FAILURE;
                }
            }
            let metadata =
                ClusterMetadata::new().with_topic(topic_id_for(INPUT), INPUT, INPUT_PARTITIONS);
            let broker = MemoryBroker::new(metadata, INPUT_PARTITIONS);
            let service = Service::new(config, broker.hooks());
            for p in 0..4 {
                if let Err(e) = service.load(p).await {
                    eprintln!("fleet: loading partition {p}: {e}");
                    return ExitCode::FAILURE;
                }
            }
            out!("fleet: coordinator service in process (requests go through the Kafka codec)");
            Target::InProcess(service)
        }
    };
    out!(
        "fleet: group {GROUP:?}, topology: 2 subtopologies over {INPUT:?} ({INPUT_PARTITIONS} partitions) → 24 tasks; heartbeat 300 ms, session timeout 2 s\n"
    );
    let timeline = Timeline {
        start: Instant::now(),
    };
    let observer = match Transport::open(&target, "fleet-observer").await {
        Ok(t) => Mutex::new(t),
        Err(e) => {
            eprintln!("fleet: cannot reach the coordinator: {e}");
            return ExitCode::FAILURE;
        }
    };
    let observer = Arc::new(observer);
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
            }
        }
        match wait_stable(&observer, &timeline, running.len(), epoch).await {
            Ok((g, took)) => {
                epoch = g.group_epoch;
                print_assignment(&g);
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
    out!("  (the crash includes the 2 s session timeout that detects it)");
    ExitCode::SUCCESS
}
