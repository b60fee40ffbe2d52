//! The serde form of every message type reads every vector's `json` (Kafka's JSON form) with
//! unknown fields denied, and writes it back equal (version-limited fields aside).

use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::Value;
use streams_coordinator::protocol::records::*;
use streams_coordinator::protocol::*;

fn vectors() -> Vec<Value> {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/data/streams-rpc-vectors.json"
    ))
    .expect("vector file");
    serde_json::from_str::<Vec<Value>>(&text).expect("vector json")
}

fn check<T: DeserializeOwned + Serialize>(name: &str, json: &Value) {
    let msg: T = serde_json::from_value(json.clone())
        .unwrap_or_else(|e| panic!("{name}: json does not fit the type: {e}"));
    let back = serde_json::to_value(&msg).expect("serialize");
    assert!(subset(json, &back), "{name}: {json} not within {back}");
}

/// Every field of `a` is in `b` with a matching value (`b` may hold more fields: the serde
/// form is not version-aware, the version-aware form is tested with the codec).
fn subset(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Object(a), Value::Object(b)) => a
            .iter()
            .all(|(k, v)| b.get(k).is_some_and(|w| subset(v, w))),
        (Value::Array(a), Value::Array(b)) => {
            a.len() == b.len() && a.iter().zip(b).all(|(v, w)| subset(v, w))
        }
        _ => a == b,
    }
}

#[test]
fn serde_names_match_kafka_json() {
    for v in vectors() {
        let name = v["name"].as_str().unwrap_or_default().to_string();
        let json = &v["json"];
        let kind = v["kind"].as_str().unwrap_or_default();
        let key = v["api_key"].as_i64().unwrap_or_default();
        match (kind, key) {
            ("request", 88) => check::<StreamsGroupHeartbeatRequest>(&name, json),
            ("response", 88) => check::<StreamsGroupHeartbeatResponse>(&name, json),
            ("request", 89) => check::<StreamsGroupDescribeRequest>(&name, json),
            ("response", 89) => check::<StreamsGroupDescribeResponse>(&name, json),
            ("record-key", 17) => check::<StreamsGroupMetadataKey>(&name, json),
            ("record-key", 19) => check::<StreamsGroupMemberMetadataKey>(&name, json),
            ("record-key", 20) => check::<StreamsGroupTargetAssignmentMetadataKey>(&name, json),
            ("record-key", 21) => check::<StreamsGroupTargetAssignmentMemberKey>(&name, json),
            ("record-key", 22) => check::<StreamsGroupCurrentMemberAssignmentKey>(&name, json),
            ("record-key", 23) => check::<StreamsGroupTopologyKey>(&name, json),
            ("record-value", 17) => check::<StreamsGroupMetadataValue>(&name, json),
            ("record-value", 19) => check::<StreamsGroupMemberMetadataValue>(&name, json),
            ("record-value", 20) => check::<StreamsGroupTargetAssignmentMetadataValue>(&name, json),
            ("record-value", 21) => check::<StreamsGroupTargetAssignmentMemberValue>(&name, json),
            ("record-value", 22) => check::<StreamsGroupCurrentMemberAssignmentValue>(&name, json),
            ("record-value", 23) => check::<StreamsGroupTopologyValue>(&name, json),
            other => panic!("{name}: unexpected vector kind {other:?}"),
        }
    }
}
