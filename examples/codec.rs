//! Decode and encode StreamsGroupHeartbeat / StreamsGroupDescribe bodies and streams-group
//! records from the command line.
//!
//! ```text
//! cargo run --example codec -- decode KIND KEY VERSION HEX   # prints the JSON form, one line
//! cargo run --example codec -- encode KIND KEY VERSION       # reads the JSON form on stdin,
//!                                                            # prints the hex of the body
//! ```
//!
//! KIND is `request`, `response`, `record-key` or `record-value`; KEY is the API key (88, 89)
//! or, for records, the record type (17, 19–23); VERSION is the message or record version.
//! HEX is the body alone: no size, no header, no record type/version prefix (the `hex` field
//! of the golden vectors). Bad input exits with status 2 and a message naming the problem.

use std::io::Read;
use std::process::ExitCode;

use streams_coordinator::protocol::records::*;
use streams_coordinator::protocol::*;

const USAGE: &str = "\
usage: codec decode KIND KEY VERSION HEX
       codec encode KIND KEY VERSION   (JSON on stdin)
       codec --help

Decodes a message body or record from hex to its JSON form (one line), or
encodes the JSON form read on stdin to hex.
  KIND: request | response | record-key | record-value
  KEY: 88 | 89 (request/response), 17 | 19 | 20 | 21 | 22 | 23 (records)
  VERSION: the message or record version
  HEX: the body alone (no size, header or record type/version prefix)
Exit status: 0 on success, 2 on bad input (the message names the problem).";

/// What the command line asks for: the help text, or a result to print.
enum Outcome {
    Help,
    Printed(String),
}

enum Op {
    Decode(String),
    Encode(String),
}

fn parse_hex(s: &str) -> Result<Vec<u8>, String> {
    let digits: Vec<u8> = s.bytes().filter(|b| !b.is_ascii_whitespace()).collect();
    if !digits.len().is_multiple_of(2) {
        return Err(format!(
            "HEX has an odd number of digits ({})",
            digits.len()
        ));
    }
    digits
        .chunks(2)
        .enumerate()
        .map(|(i, pair)| {
            std::str::from_utf8(pair)
                .ok()
                .and_then(|p| u8::from_str_radix(p, 16).ok())
                .ok_or_else(|| {
                    format!(
                        "HEX is not hexadecimal at digit {}: {:?}",
                        2 * i,
                        String::from_utf8_lossy(pair)
                    )
                })
        })
        .collect()
}

fn to_hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn run<M: Message>(op: &Op, version: i16) -> Result<String, String> {
    if !M::is_valid_version(version) {
        return Err(format!(
            "{} has no version {version} (versions {}-{})",
            M::NAME,
            M::LOWEST_VERSION,
            M::HIGHEST_VERSION
        ));
    }
    match op {
        Op::Decode(hex) => {
            let bytes = parse_hex(hex)?;
            let msg = M::decode(&bytes, version).map_err(|e| e.to_string())?;
            serde_json::to_string(&msg.to_json(version)).map_err(|e| e.to_string())
        }
        Op::Encode(json) => {
            let msg = M::from_json_str(json, version).map_err(|e| e.to_string())?;
            let bytes = msg
                .to_bytes(version)
                .map_err(|e| format!("{}: {e}", M::NAME))?;
            Ok(to_hex(&bytes))
        }
    }
}

fn dispatch(op: &Op, kind: &str, key: i16, version: i16) -> Result<String, String> {
    match (kind, key) {
        ("request", 88) => run::<StreamsGroupHeartbeatRequest>(op, version),
        ("response", 88) => run::<StreamsGroupHeartbeatResponse>(op, version),
        ("request", 89) => run::<StreamsGroupDescribeRequest>(op, version),
        ("response", 89) => run::<StreamsGroupDescribeResponse>(op, version),
        ("record-key", 17) => run::<StreamsGroupMetadataKey>(op, version),
        ("record-key", 19) => run::<StreamsGroupMemberMetadataKey>(op, version),
        ("record-key", 20) => run::<StreamsGroupTargetAssignmentMetadataKey>(op, version),
        ("record-key", 21) => run::<StreamsGroupTargetAssignmentMemberKey>(op, version),
        ("record-key", 22) => run::<StreamsGroupCurrentMemberAssignmentKey>(op, version),
        ("record-key", 23) => run::<StreamsGroupTopologyKey>(op, version),
        ("record-value", 17) => run::<StreamsGroupMetadataValue>(op, version),
        ("record-value", 19) => run::<StreamsGroupMemberMetadataValue>(op, version),
        ("record-value", 20) => run::<StreamsGroupTargetAssignmentMetadataValue>(op, version),
        ("record-value", 21) => run::<StreamsGroupTargetAssignmentMemberValue>(op, version),
        ("record-value", 22) => run::<StreamsGroupCurrentMemberAssignmentValue>(op, version),
        ("record-value", 23) => run::<StreamsGroupTopologyValue>(op, version),
        ("request" | "response", other) => Err(format!(
            "KEY {other} is not an API key this tool knows (88 or 89)"
        )),
        ("record-key" | "record-value", other) => Err(format!(
            "KEY {other} is not a streams-group record type (17, 19, 20, 21, 22, 23)"
        )),
        (other, _) => Err(format!(
            "KIND {other:?} is not one of request, response, record-key, record-value"
        )),
    }
}

fn main_inner() -> Result<Outcome, String> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (cmd, rest) = args
        .split_first()
        .ok_or_else(|| "missing command".to_string())?;
    let expected = match cmd.as_str() {
        "-h" | "--help" if rest.is_empty() => return Ok(Outcome::Help),
        "decode" => 4,
        "encode" => 3,
        other => return Err(format!("unknown command {other:?} (decode or encode)")),
    };
    if rest.len() != expected {
        return Err(format!(
            "{cmd} takes {expected} arguments, got {}",
            rest.len()
        ));
    }
    let kind = rest[0].as_str();
    let key: i16 = rest[1]
        .parse()
        .map_err(|_| format!("KEY {:?} is not a number", rest[1]))?;
    let version: i16 = rest[2]
        .parse()
        .map_err(|_| format!("VERSION {:?} is not a number", rest[2]))?;
    let op = if cmd == "decode" {
        Op::Decode(rest[3].clone())
    } else {
        let mut json = String::new();
        std::io::stdin()
            .read_to_string(&mut json)
            .map_err(|e| format!("cannot read stdin: {e}"))?;
        Op::Encode(json)
    };
    dispatch(&op, kind, key, version).map(Outcome::Printed)
}

fn main() -> ExitCode {
    match main_inner() {
        Ok(Outcome::Help) => {
            println!("{USAGE}");
            ExitCode::SUCCESS
        }
        Ok(Outcome::Printed(out)) => {
            println!("{out}");
            ExitCode::SUCCESS
        }
        Err(msg) => {
            eprintln!("codec: {msg}\n{USAGE}");
            ExitCode::from(2)
        }
    }
}
