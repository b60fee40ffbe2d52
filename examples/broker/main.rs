//! The example broker: a reference Kafka broker for Kafka Streams apps, built
//! on this crate's [`Service`] (StreamsGroupHeartbeat and StreamsGroupDescribe)
//! and on the `kafka-protocol` crate for every other API, through the glue in
//! `streams_coordinator::interop::kafka_protocol`. One process, data in memory.
//!
//! It serves what Kafka trunk's clients send with `group.protocol=streams`
//! and `at_least_once`: ApiVersions, Metadata, FindCoordinator,
//! InitProducerId, Produce, Fetch (long poll), ListOffsets, OffsetCommit,
//! OffsetFetch, OffsetForLeaderEpoch, DeleteRecords, StreamsGroupHeartbeat,
//! StreamsGroupDescribe, ListGroups, DeleteGroups and OffsetDelete.
//! `--nodes N` runs N broker nodes over one shared set of logs; SIGUSR1 moves
//! every coordinator partition to the next node. What it does not do
//! (replication, transactions, durable data, ...) is in docs/embedding.md.
//!
//! Logs go to stderr through `tracing` (`RUST_LOG`, default `info`).

mod api;
mod cluster;
mod conn;
mod log;
#[cfg(test)]
mod tests_api;

use std::process::ExitCode;
use std::sync::Arc;

use streams_coordinator::service::sim::DEMO_TIMINGS;
use streams_coordinator::service::{Service, ServiceConfig};
use tokio::net::TcpListener;

use crate::api::Node;
use crate::cluster::{Cluster, NodeAddr};

const USAGE: &str = "\
usage: broker [--port N] [--nodes N] [--partitions N] [--demo-timings]
              [--config NAME=VALUE]... TOPIC:PARTITIONS...

A Kafka broker for Kafka Streams apps (group.protocol=streams), data in memory.
  --port N            first node's port on 127.0.0.1 (default 9092; 0 picks free ports)
  --nodes N           broker nodes in this process, on ports N..N+count-1 (default 1)
  --partitions N      partitions of __consumer_offsets (default 4)
  --demo-timings      short heartbeat interval and session timeout (the fleet demo's)
  --config NAME=VALUE a group.streams.* setting of the coordinator (repeatable)
  TOPIC:PARTITIONS    a topic to create at start (repeatable)
The first stdout line is `listening on ADDR` (node 0); SIGUSR1 moves every
coordinator partition to the next node; SIGTERM or Ctrl-C stops. Logs: stderr,
filtered by RUST_LOG (default info).";

fn usage(msg: &str) -> ExitCode {
    eprintln!("broker: {msg}\n{USAGE}");
    ExitCode::from(2)
}

struct Args {
    port: u16,
    nodes: usize,
    config: ServiceConfig,
    topics: Vec<(String, i32)>,
}

enum Parsed {
    Run(Box<Args>),
    Help,
}

fn parse(argv: impl Iterator<Item = String>) -> Result<Parsed, String> {
    let mut a = Args {
        port: 9092,
        nodes: 1,
        config: ServiceConfig::default(),
        topics: Vec::new(),
    };
    a.config.partition_count = 4;
    let mut argv = argv.peekable();
    while let Some(arg) = argv.next() {
        let mut value = |what: &str| argv.next().ok_or_else(|| format!("{what} needs a value"));
        match arg.as_str() {
            "-h" | "--help" => return Ok(Parsed::Help),
            "--port" => {
                let v = value("--port")?;
                a.port = v.parse().map_err(|e| format!("--port {v}: {e}"))?;
            }
            "--nodes" => {
                let v = value("--nodes")?;
                a.nodes = match v.parse() {
                    Ok(n) if (1..=64).contains(&n) => n,
                    _ => return Err(format!("--nodes {v}: expected 1..=64")),
                };
            }
            "--partitions" => {
                let v = value("--partitions")?;
                a.config.partition_count = match v.parse() {
                    Ok(n) if n > 0 => n,
                    _ => return Err(format!("--partitions: {v} is not a positive number")),
                };
            }
            "--demo-timings" => {
                for (k, v) in DEMO_TIMINGS {
                    a.config.coordinator.set(k, v).map_err(|e| e.to_string())?;
                }
            }
            "--config" => {
                let kv = value("--config")?;
                let (k, v) = kv
                    .split_once('=')
                    .ok_or_else(|| format!("--config: {kv} is not NAME=VALUE"))?;
                a.config.coordinator.set(k, v).map_err(|e| e.to_string())?;
            }
            flag if flag.starts_with('-') => return Err(format!("unknown option {flag}")),
            topic => match topic.split_once(':').map(|(t, n)| (t, n.parse::<i32>())) {
                Some((name, Ok(n))) if n > 0 && !name.is_empty() => a.topics.push((name.into(), n)),
                _ => return Err(format!("{topic} is not TOPIC:PARTITIONS")),
            },
        }
    }
    a.config.coordinator.validate().map_err(|e| e.to_string())?;
    if a.port != 0 && usize::from(a.port) + a.nodes > 65_536 {
        return Err(format!(
            "--port {} leaves no room for {} nodes",
            a.port, a.nodes
        ));
    }
    Ok(Parsed::Run(Box::new(a)))
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = match parse(std::env::args().skip(1)) {
        Ok(Parsed::Run(a)) => a,
        Ok(Parsed::Help) => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Err(e) => return usage(&e),
    };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();

    // Listeners first: with --port 0 the ports are known only once bound.
    let mut listeners = Vec::new();
    let mut addrs = Vec::new();
    for i in 0..args.nodes {
        let port = if args.port == 0 {
            0
        } else {
            args.port + i as u16
        };
        let listener = match TcpListener::bind(("127.0.0.1", port)).await {
            Ok(l) => l,
            Err(e) => return usage(&format!("cannot listen on 127.0.0.1:{port}: {e}")),
        };
        let addr = match listener.local_addr() {
            Ok(a) => a,
            Err(e) => return usage(&e.to_string()),
        };
        addrs.push(NodeAddr {
            id: i as i32,
            host: addr.ip().to_string(),
            port: addr.port(),
        });
        listeners.push((listener, addr));
    }
    let cluster = Cluster::new(addrs, args.config.partition_count, 4, &args.topics);

    // ---- the glue a broker writes (see docs/embedding.md) ----
    // One Service per node, over the cluster's shared hooks; each
    // __consumer_offsets partition is loaded on the node that coordinates it.
    let services: Vec<Service> = (0..args.nodes)
        .map(|_| Service::new(args.config.clone(), cluster.hooks()))
        .collect();
    for p in 0..args.config.partition_count {
        let node = cluster.coordinator(p) as usize;
        if let Err(e) = services[node].load(p).await {
            eprintln!("broker: loading partition {p} on node {node}: {e}");
            return ExitCode::FAILURE;
        }
    }
    let first_use = Arc::new(conn::FirstUse::default());
    for (i, (listener, addr)) in listeners.into_iter().enumerate() {
        let node = Arc::new(Node {
            id: i as i32,
            service: services[i].clone(),
            cluster: cluster.clone(),
        });
        if i == 0 {
            println!("listening on {addr}");
        } else {
            println!("node {i} listening on {addr}");
        }
        tokio::spawn(conn::serve(node, listener, first_use.clone()));
    }
    tracing::info!(
        nodes = args.nodes,
        coordinator_partitions = args.config.partition_count,
        topics = args.topics.len(),
        "broker started"
    );

    let mut moves =
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::user_defined1()) {
            Ok(s) => s,
            Err(e) => return usage(&format!("cannot handle SIGUSR1: {e}")),
        };
    let mut term = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
        Ok(s) => s,
        Err(e) => return usage(&format!("cannot handle SIGTERM: {e}")),
    };
    loop {
        tokio::select! {
            _ = moves.recv() => {
                tracing::info!("SIGUSR1: moving every coordinator partition to the next node");
                cluster.move_coordinators(&services).await;
            }
            _ = term.recv() => break,
            _ = tokio::signal::ctrl_c() => break,
        }
    }
    tracing::info!("stopping");
    for s in &services {
        s.shutdown().await;
    }
    ExitCode::SUCCESS
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(s: &str) -> Result<Parsed, String> {
        parse(s.split_whitespace().map(String::from))
    }

    #[test]
    fn the_command_line_is_parsed() {
        let Ok(Parsed::Run(a)) = args("--port 0 --nodes 3 --partitions 6 --config group.streams.num.standby.replicas=1 input:4 output:2") else {
            panic!("valid arguments refused");
        };
        assert_eq!((a.port, a.nodes, a.config.partition_count), (0, 3, 6));
        assert_eq!(
            a.topics,
            vec![("input".to_string(), 4), ("output".to_string(), 2)]
        );
        assert!(matches!(args("--help"), Ok(Parsed::Help)));
    }

    #[test]
    fn bad_arguments_say_why() {
        for (line, why) in [
            ("--nodes 0", "--nodes"),
            ("--port", "needs a value"),
            ("input", "TOPIC:PARTITIONS"),
            ("--config nope", "NAME=VALUE"),
            ("--frobnicate", "unknown option"),
            ("--port 65535 --nodes 2", "no room"),
        ] {
            match args(line) {
                Err(e) => assert!(e.contains(why), "{line}: {e}"),
                Ok(_) => panic!("{line} was accepted"),
            }
        }
    }
}
