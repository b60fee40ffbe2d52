//! The example broker's command line.

use harness::sim::DEMO_TIMINGS;
use streams_coordinator::service::ServiceConfig;

/// The usage text (`--help`).
pub const USAGE: &str = "\
usage: broker [--port N] [--nodes N] [--partitions N] [--demo-timings]
              [--config NAME=VALUE]... TOPIC:PARTITIONS...

A Kafka broker for Kafka Streams apps (group.protocol=streams), data in memory.
  --port P            first node's port on 127.0.0.1 (default 9092; 0 picks free ports)
  --nodes N           broker nodes in this process, on ports P..P+N-1 (default 1)
  --partitions N      partitions of __consumer_offsets (default 4)
  --demo-timings      short heartbeat interval and session timeout (the fleet demo's)
  --config NAME=VALUE a group.streams.* setting of the coordinator (repeatable)
  TOPIC:PARTITIONS    a topic to create at start (repeatable)
The first stdout line is `listening on ADDR` (node 0); SIGUSR1 moves every
coordinator partition to the next node; SIGTERM or Ctrl-C stops. Logs: stderr,
filtered by RUST_LOG (default info).";

/// What the command line asks for.
pub struct Args {
    /// First node's port (0: free ports).
    pub port: u16,
    /// Broker nodes in the process.
    pub nodes: usize,
    /// The service's settings.
    pub config: ServiceConfig,
    /// Topics to create at start.
    pub topics: Vec<(String, i32)>,
}

/// The outcome of parsing.
pub enum Parsed {
    /// Run with these arguments.
    Run(Box<Args>),
    Help,
}

/// Parses the arguments after the program name.
pub fn parse(argv: impl Iterator<Item = String>) -> Result<Parsed, String> {
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
