//! A demo broker: Kafka framing on a TCP port for ApiVersions (v0–v3),
//! StreamsGroupHeartbeat (88) and StreamsGroupDescribe (89), over an
//! in-memory log, metadata and topic creation. Any client speaking those
//! APIs can join a streams group.
//!
//! ```text
//! cargo run --release --example broker -- [--port 9092] [--partitions 4]
//!     [--demo-timings] [--config NAME=VALUE]... TOPIC:PARTITIONS...
//! ```
//! `--demo-timings` shortens the heartbeat interval and session timeout (as
//! the fleet demo uses them); `--config` sets any `group.streams.*` setting.
//! `--port 0` picks a free port; the first line printed is `listening on ADDR`.

use std::process::ExitCode;

use streams_coordinator::service::broker::topic_id_for;
use streams_coordinator::service::sim::DEMO_TIMINGS;
use streams_coordinator::service::{net, MemoryBroker, Service, ServiceConfig};
use streams_coordinator::topology::ClusterMetadata;

fn usage(msg: &str) -> ExitCode {
    eprintln!("broker: {msg}\nusage: broker [--port N] [--partitions N] [--demo-timings] [--config NAME=VALUE]... TOPIC:PARTITIONS...");
    ExitCode::from(2)
}

#[tokio::main]
async fn main() -> ExitCode {
    let (mut port, mut config, mut metadata) =
        (9092u16, ServiceConfig::default(), ClusterMetadata::new());
    config.partition_count = 4;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = |what: &str| args.next().ok_or_else(|| format!("{what} needs a value"));
        let step: Result<(), String> = match arg.as_str() {
            "--port" => value("--port").and_then(|v| {
                v.parse()
                    .map(|p| port = p)
                    .map_err(|e| format!("--port: {e}"))
            }),
            "--partitions" => value("--partitions").and_then(|v| match v.parse() {
                Ok(n) if n > 0 => {
                    config.partition_count = n;
                    Ok(())
                }
                _ => Err(format!("--partitions: {v} is not a positive number")),
            }),
            "--demo-timings" => DEMO_TIMINGS
                .iter()
                .try_for_each(|(k, v)| config.coordinator.set(k, v).map_err(|e| e.to_string())),
            "--config" => value("--config").and_then(|kv| match kv.split_once('=') {
                Some((k, v)) => config.coordinator.set(k, v).map_err(|e| e.to_string()),
                None => Err(format!("--config: {kv} is not NAME=VALUE")),
            }),
            topic => match topic.split_once(':').map(|(t, n)| (t, n.parse::<i32>())) {
                Some((name, Ok(n))) if n > 0 && !name.is_empty() => {
                    metadata = metadata.with_topic(topic_id_for(name), name, n);
                    Ok(())
                }
                _ => Err(format!("{topic} is not TOPIC:PARTITIONS")),
            },
        };
        if let Err(e) = step {
            return usage(&e);
        }
    }
    if let Err(e) = config.coordinator.validate() {
        return usage(&e.to_string());
    }
    // ---- the glue a broker writes (see docs/embedding.md) ----
    let broker = MemoryBroker::new(metadata, 4);
    let service = Service::new(config.clone(), broker.hooks());
    for p in 0..config.partition_count {
        if let Err(e) = service.load(p).await {
            eprintln!("broker: loading partition {p}: {e}");
            return ExitCode::FAILURE;
        }
    }
    let listener = match tokio::net::TcpListener::bind(("127.0.0.1", port)).await {
        Ok(l) => l,
        Err(e) => return usage(&format!("cannot listen on 127.0.0.1:{port}: {e}")),
    };
    match listener.local_addr() {
        Ok(addr) => println!("listening on {addr}"),
        Err(e) => return usage(&e.to_string()),
    }
    if let Err(e) = net::serve(listener, service).await {
        eprintln!("broker: {e}");
        return ExitCode::FAILURE;
    }
    ExitCode::SUCCESS
}
