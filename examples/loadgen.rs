//! A heartbeat load generator for a broker's TCP path (issue 14 item 6):
//! brings `--groups` × `--members` Streams members to Stable through the
//! broker, then opens `--connections` connections and keeps `--depth`
//! StreamsGroupHeartbeat requests of those steady members in flight on each
//! (pipelined, Kafka framing), for `--seconds`, and prints the heartbeats
//! answered per second. Figures and the command in docs/benchmarks.md
//! ("Over the wire").
//!
//! Every answer is checked: its correlation id must be the next one sent on
//! that connection and its error code 0, else the run fails.

use std::net::SocketAddr;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use harness::net::Connection;
use streams_coordinator::protocol::frame::{
    decode_response_frame, encode_request_frame, RequestHeader,
};
use streams_coordinator::protocol::heartbeat::{Subtopology, TaskIds, Topology};
use streams_coordinator::protocol::{
    StreamsGroupHeartbeatRequest, StreamsGroupHeartbeatResponse, STREAMS_GROUP_HEARTBEAT_API_KEY,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const USAGE: &str = "\
usage: loadgen [--addr HOST:PORT] [--groups G] [--members M] [--topic NAME]
               [--connections N] [--depth D] [--seconds S] [--threads T]
               [--broker-pid PID]

Heartbeat load through a broker's TCP path (Kafka framing). First G groups of
M members each (one subtopology reading TOPIC, which the broker must have)
join and heartbeat until Stable; then N connections each keep D pipelined
StreamsGroupHeartbeat v1 requests of steady members in flight for S seconds.
  --addr         the broker (default 127.0.0.1:9092); it must coordinate every group
  --groups       groups (default 100)            --members  members per group (default 100)
  --topic        the source topic (default input)
  --connections  connections (default 64)        --depth    requests in flight per connection (default 16)
  --seconds      measured seconds (default 10)   --threads  this process's runtime threads (default 1)
  --broker-pid   also report the broker's CPU time over the measured window
Prints heartbeats answered per second, and the CPU time of this process (and
of the broker) per heartbeat.";

struct Args {
    addr: SocketAddr,
    groups: usize,
    members: usize,
    topic: String,
    connections: usize,
    depth: usize,
    seconds: f64,
    threads: usize,
    broker_pid: Option<u32>,
}

fn parse(mut argv: impl Iterator<Item = String>) -> Result<Option<Args>, String> {
    let mut a = Args {
        addr: SocketAddr::from(([127, 0, 0, 1], 9092)),
        groups: 100,
        members: 100,
        topic: "input".into(),
        connections: 64,
        depth: 16,
        seconds: 10.0,
        threads: 1,
        broker_pid: None,
    };
    fn num<T: std::str::FromStr>(flag: &str, v: Option<String>) -> Result<T, String> {
        let v = v.ok_or_else(|| format!("{flag} needs a value"))?;
        v.parse()
            .map_err(|_| format!("{flag} {v}: not a valid value"))
    }
    while let Some(arg) = argv.next() {
        match arg.as_str() {
            "-h" | "--help" => return Ok(None),
            "--addr" => a.addr = num("--addr", argv.next())?,
            "--groups" => a.groups = num("--groups", argv.next())?,
            "--members" => a.members = num("--members", argv.next())?,
            "--topic" => a.topic = num("--topic", argv.next())?,
            "--connections" => a.connections = num("--connections", argv.next())?,
            "--depth" => a.depth = num("--depth", argv.next())?,
            "--seconds" => a.seconds = num("--seconds", argv.next())?,
            "--threads" => a.threads = num("--threads", argv.next())?,
            "--broker-pid" => a.broker_pid = Some(num("--broker-pid", argv.next())?),
            other => return Err(format!("unknown argument {other}")),
        }
    }
    if a.groups == 0 || a.members == 0 || a.connections == 0 || a.depth == 0 || a.threads == 0 {
        return Err("--groups, --members, --connections, --depth and --threads must be > 0".into());
    }
    Ok(Some(a))
}

/// One member as the load knows it.
struct Member {
    group: String,
    id: String,
    epoch: i32,
    owned: Vec<TaskIds>,
}

fn join(group: &str, member: &str, topic: &str) -> StreamsGroupHeartbeatRequest {
    StreamsGroupHeartbeatRequest {
        group_id: group.into(),
        member_id: member.into(),
        member_epoch: 0,
        rebalance_timeout_ms: 60_000,
        process_id: Some(format!("{member}-process")),
        topology: Some(Topology {
            epoch: 0,
            subtopologies: vec![Subtopology {
                subtopology_id: "0".into(),
                source_topics: vec![topic.into()],
                ..Subtopology::default()
            }],
        }),
        active_tasks: Some(vec![]),
        standby_tasks: Some(vec![]),
        warmup_tasks: Some(vec![]),
        ..StreamsGroupHeartbeatRequest::default()
    }
}

/// Joins every member and heartbeats (reporting owned tasks) until a whole
/// round changes no member's epoch or tasks: the groups are Stable.
async fn settle(a: &Args) -> Result<Vec<Member>, String> {
    let mut conn = Connection::connect(a.addr, "loadgen-setup")
        .await
        .map_err(|e| format!("connect {}: {e}", a.addr))?;
    let mut members = Vec::with_capacity(a.groups * a.members);
    for g in 0..a.groups {
        let group = format!("loadgen-{g:05}");
        for i in 0..a.members {
            let id = format!("{group}-member-{i:05}");
            let resp = conn
                .heartbeat(1, &join(&group, &id, &a.topic))
                .await
                .map_err(|e| format!("join: {e}"))?;
            if resp.error_code != 0 {
                return Err(format!(
                    "join of {id}: error {} {:?}",
                    resp.error_code, resp.error_message
                ));
            }
            members.push(Member {
                group: group.clone(),
                id,
                epoch: resp.member_epoch,
                owned: vec![],
            });
        }
    }
    let start = Instant::now();
    let mut quiet_rounds = 0;
    while quiet_rounds < 2 {
        if start.elapsed() > Duration::from_secs(120) {
            return Err("the groups did not become Stable within 120 s".into());
        }
        let mut changed = false;
        for m in members.iter_mut() {
            let req = StreamsGroupHeartbeatRequest {
                group_id: m.group.clone(),
                member_id: m.id.clone(),
                member_epoch: m.epoch,
                active_tasks: Some(m.owned.clone()),
                standby_tasks: Some(vec![]),
                warmup_tasks: Some(vec![]),
                ..StreamsGroupHeartbeatRequest::default()
            };
            let resp = conn
                .heartbeat(1, &req)
                .await
                .map_err(|e| format!("heartbeat: {e}"))?;
            if resp.error_code != 0 {
                return Err(format!(
                    "heartbeat of {}: error {} {:?}",
                    m.id, resp.error_code, resp.error_message
                ));
            }
            if resp.member_epoch != m.epoch {
                changed = true;
                m.epoch = resp.member_epoch;
            }
            if let Some(active) = resp.active_tasks {
                if active != m.owned {
                    changed = true;
                    m.owned = active;
                }
            }
        }
        // Nobody owns a task before the initial rebalance delay has passed.
        let assigned = members.iter().all(|m| !m.owned.is_empty());
        quiet_rounds = if changed || !assigned {
            0
        } else {
            quiet_rounds + 1
        };
        if !assigned {
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
    Ok(members)
}

/// The steady heartbeat of a member (nothing changed: every optional field
/// null), encoded once; the correlation id is patched per send.
fn steady_frame(m: &Member) -> Result<Vec<u8>, String> {
    let header = RequestHeader {
        request_api_key: STREAMS_GROUP_HEARTBEAT_API_KEY,
        request_api_version: 1,
        correlation_id: 0,
        client_id: Some("loadgen-setup".into()),
    };
    let req = StreamsGroupHeartbeatRequest {
        group_id: m.group.clone(),
        member_id: m.id.clone(),
        member_epoch: m.epoch,
        ..StreamsGroupHeartbeatRequest::default()
    };
    let mut frame = Vec::new();
    encode_request_frame(&header, &req, &mut frame).map_err(|e| e.to_string())?;
    Ok(frame)
}

/// Where the correlation id sits in a request frame: after the size (4),
/// api key (2) and version (2).
const CORRELATION_AT: usize = 8;

/// Keeps `depth` requests in flight on one connection until `stop`; returns
/// the answers received at or after `measure_from`, and before `stop`.
async fn drive(
    addr: SocketAddr,
    frames: Vec<Vec<u8>>,
    depth: usize,
    measure_from: Instant,
    stop: Instant,
) -> Result<u64, String> {
    let stream = TcpStream::connect(addr)
        .await
        .map_err(|e| format!("connect: {e}"))?;
    let _ = stream.set_nodelay(true);
    let (mut rd, mut wr) = stream.into_split();
    let mut next_frame = 0usize;
    let mut sent: i32 = 0;
    let mut expected: i32 = 0;
    let mut out = Vec::with_capacity(depth * frames[0].len() * 2);
    let mut push = |out: &mut Vec<u8>, sent: &mut i32| {
        let f = &frames[next_frame];
        next_frame = (next_frame + 1) % frames.len();
        let at = out.len();
        out.extend_from_slice(f);
        out[at + CORRELATION_AT..at + CORRELATION_AT + 4].copy_from_slice(&sent.to_be_bytes());
        *sent = sent.wrapping_add(1);
    };
    for _ in 0..depth {
        push(&mut out, &mut sent);
    }
    wr.write_all(&out)
        .await
        .map_err(|e| format!("write: {e}"))?;
    let mut buf = vec![0u8; 256 * 1024];
    let (mut have, mut start) = (0usize, 0usize);
    let mut counted = 0u64;
    let mut in_flight = depth;
    loop {
        let n = rd
            .read(&mut buf[have..])
            .await
            .map_err(|e| format!("read: {e}"))?;
        if n == 0 {
            return Err("the broker closed the connection".into());
        }
        have += n;
        let now = Instant::now();
        out.clear();
        // Every complete response in the buffer.
        while have - start >= 4 {
            let size =
                i32::from_be_bytes(buf[start..start + 4].try_into().expect("4 bytes")) as usize;
            if have - start < 4 + size {
                break;
            }
            let body = &buf[start + 4..start + 4 + size];
            // Response header v1: correlation id, no tagged fields (one 0
            // byte); then throttle_time_ms (i32) and error_code (i16).
            if size < 11 {
                return Err(format!("a {size}-byte response is too short"));
            }
            let correlation = i32::from_be_bytes(body[0..4].try_into().expect("4 bytes"));
            let error = i16::from_be_bytes(body[9..11].try_into().expect("2 bytes"));
            if correlation != expected {
                return Err(format!("correlation id {correlation}, expected {expected}"));
            }
            if error != 0 {
                let detail = decode_response_frame::<StreamsGroupHeartbeatResponse>(body, 1)
                    .map(|(_, r)| r.error_message.unwrap_or_default())
                    .unwrap_or_default();
                return Err(format!(
                    "heartbeat answered with error code {error}: {detail}"
                ));
            }
            expected = expected.wrapping_add(1);
            in_flight -= 1;
            if now >= measure_from && now < stop {
                counted += 1;
            }
            start += 4 + size;
            if now < stop {
                push(&mut out, &mut sent);
                in_flight += 1;
            }
        }
        if start == have {
            (have, start) = (0, 0);
        } else if start > buf.len() / 2 {
            buf.copy_within(start..have, 0);
            (have, start) = (have - start, 0);
        }
        if have == buf.len() {
            buf.resize(buf.len() * 2, 0);
        }
        if !out.is_empty() {
            wr.write_all(&out)
                .await
                .map_err(|e| format!("write: {e}"))?;
        }
        if in_flight == 0 {
            return Ok(counted);
        }
    }
}

/// CPU time (user + system) of a process from /proc, in seconds.
fn process_cpu_s(pid: &str) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the command name (which may hold spaces) start at ") ".
    let rest = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = rest.split(' ').collect();
    let utime: f64 = fields.get(11)?.parse().ok()?;
    let stime: f64 = fields.get(12)?.parse().ok()?;
    // Clock ticks: 100 per second on Linux.
    Some((utime + stime) / 100.0)
}

async fn run(a: Args) -> Result<(), String> {
    let t = Instant::now();
    let members = settle(&a).await?;
    println!(
        "loadgen: {} members in {} groups Stable after {:.1?}",
        members.len(),
        a.groups,
        t.elapsed()
    );
    let mut per_conn: Vec<Vec<Vec<u8>>> = vec![Vec::new(); a.connections];
    for (i, m) in members.iter().enumerate() {
        per_conn[i % a.connections].push(steady_frame(m)?);
    }
    per_conn.retain(|f| !f.is_empty());
    let warm_up = Duration::from_secs(1);
    let measure_from = Instant::now() + warm_up;
    let stop = measure_from + Duration::from_secs_f64(a.seconds);
    let broker = a.broker_pid.map(|p| p.to_string());
    let cpu_self = || process_cpu_s("self");
    let mut tasks = Vec::new();
    for frames in per_conn {
        tasks.push(tokio::spawn(drive(
            a.addr,
            frames,
            a.depth,
            measure_from,
            stop,
        )));
    }
    tokio::time::sleep_until(measure_from.into()).await;
    let (self0, broker0) = (cpu_self(), broker.as_deref().and_then(process_cpu_s));
    tokio::time::sleep_until(stop.into()).await;
    let (self1, broker1) = (cpu_self(), broker.as_deref().and_then(process_cpu_s));
    let mut total = 0u64;
    for t in tasks {
        total += t.await.map_err(|e| format!("connection task: {e}"))??;
    }
    let rate = total as f64 / a.seconds;
    println!(
        "loadgen: {total} heartbeats answered in {:.1} s over {} connections, depth {}: {rate:.0} heartbeats/s",
        a.seconds, a.connections, a.depth
    );
    let per_hb = |c0: Option<f64>, c1: Option<f64>| {
        c0.zip(c1).map(|(c0, c1)| {
            let cpu = c1 - c0;
            format!(
                "{cpu:.2} s CPU = {:.2} µs per heartbeat",
                cpu * 1e6 / total.max(1) as f64
            )
        })
    };
    if let Some(s) = per_hb(self0, self1) {
        println!("loadgen: this process (load generator): {s}");
    }
    if let Some(s) = per_hb(broker0, broker1) {
        println!(
            "loadgen: the broker (pid {}): {s}",
            a.broker_pid.unwrap_or_default()
        );
    }
    Ok(())
}

fn main() -> ExitCode {
    let args = match parse(std::env::args().skip(1)) {
        Ok(Some(a)) => a,
        Ok(None) => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            eprintln!("loadgen: {e}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(args.threads)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("loadgen: runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match rt.block_on(run(args)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("loadgen: {e}");
            ExitCode::FAILURE
        }
    }
}
