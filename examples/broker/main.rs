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
//! Logs go to stderr through `tracing` (`RUST_LOG`, default `info`); each
//! rebalance is logged with its cause (`rebalance: epoch 7 ← member-2 left
//! (leave heartbeat), 3 tasks moved`), and a summary of the crate's metrics
//! every minute and at exit (`metrics: streams_coordinator_heartbeat_seconds{result=ok}
//! n=... p50=... p99=...`).

mod api;
mod args;
mod cluster;
mod conn;
mod log;
mod rebalances;
mod stats;

use std::process::ExitCode;
use std::sync::Arc;

use streams_coordinator::service::Service;
use tokio::net::TcpListener;

use crate::api::Node;
use crate::args::{parse, Parsed, USAGE};
use crate::cluster::{Cluster, NodeAddr};

fn usage(msg: &str) -> ExitCode {
    eprintln!("broker: {msg}\n{USAGE}");
    ExitCode::from(2)
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
    let metrics = stats::install();
    if let Some(m) = &metrics {
        tokio::spawn(stats::every_minute(m.clone()));
    }

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
        tokio::spawn(rebalances::log(i as i32, services[i].clone()));
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
    if let Some(m) = &metrics {
        stats::log(m);
    }
    for s in &services {
        s.shutdown().await;
    }
    ExitCode::SUCCESS
}
