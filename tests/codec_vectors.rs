//! Every golden vector of Kafka's own serializers (tests/data/streams-rpc-vectors.json):
//! the body decodes to a message whose JSON form equals the vector's `json`, the message
//! encodes back to exactly `hex`, the JSON form read back encodes to `hex` too, frames
//! round-trip to `frame_hex`, and records round-trip to `stored_hex`.

use serde_json::Value;
use streams_coordinator::protocol::frame::{
    decode_request_frame, decode_response_frame, encode_request_frame, encode_response_frame,
    RequestHeader, StreamsRequest,
};
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

fn unhex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).expect("hex"))
        .collect()
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

struct Vector {
    name: String,
    version: i16,
    json: Value,
    body: Vec<u8>,
    v: Value,
}

fn check_body<M: Message + PartialEq + std::fmt::Debug>(t: &Vector) -> M {
    let msg =
        M::decode(&t.body, t.version).unwrap_or_else(|e| panic!("{}: decode failed: {e}", t.name));
    assert_eq!(msg.to_json(t.version), t.json, "{}: JSON form", t.name);
    let bytes = msg
        .to_bytes(t.version)
        .unwrap_or_else(|e| panic!("{}: encode failed: {e}", t.name));
    assert_eq!(hex(&bytes), hex(&t.body), "{}: re-encoded bytes", t.name);
    assert_eq!(
        msg.encoded_len(t.version).ok(),
        Some(t.body.len()),
        "{}",
        t.name
    );
    let from_json = M::from_json(t.json.clone(), t.version)
        .unwrap_or_else(|e| panic!("{}: from_json failed: {e}", t.name));
    assert_eq!(from_json, msg, "{}: from_json", t.name);
    msg
}

fn check_request<M: Message + PartialEq + std::fmt::Debug>(t: &Vector) -> M {
    let msg = check_body::<M>(t);
    let frame = unhex(t.v["frame_hex"].as_str().expect("frame_hex"));
    let header = RequestHeader {
        request_api_key: M::API_KEY,
        request_api_version: t.version,
        correlation_id: t.v["correlation_id"].as_i64().expect("cid") as i32,
        client_id: t.v["client_id"].as_str().map(str::to_string),
    };
    let mut out = Vec::new();
    encode_request_frame(&header, &msg, &mut out).expect("frame encode");
    assert_eq!(
        &out[..4],
        &(frame.len() as u32).to_be_bytes(),
        "{}: size",
        t.name
    );
    assert_eq!(hex(&out[4..]), hex(&frame), "{}: frame", t.name);
    let (h, req) = decode_request_frame(&frame).expect("frame decode");
    assert_eq!(h, header, "{}: header", t.name);
    assert_eq!(h.to_json(), t.v["header_json"], "{}: header json", t.name);
    match req {
        StreamsRequest::Heartbeat(r) => assert_eq!(r.to_json(t.version), t.json),
        StreamsRequest::Describe(r) => assert_eq!(r.to_json(t.version), t.json),
    }
    msg
}

fn check_response<M: Message + PartialEq + std::fmt::Debug>(t: &Vector) -> M {
    let msg = check_body::<M>(t);
    let frame = unhex(t.v["frame_hex"].as_str().expect("frame_hex"));
    let cid = t.v["correlation_id"].as_i64().expect("cid") as i32;
    let mut out = Vec::new();
    encode_response_frame(cid, t.version, &msg, &mut out).expect("frame encode");
    assert_eq!(
        &out[..4],
        &(frame.len() as u32).to_be_bytes(),
        "{}: size",
        t.name
    );
    assert_eq!(hex(&out[4..]), hex(&frame), "{}: frame", t.name);
    let (got_cid, back) = decode_response_frame::<M>(&frame, t.version).expect("frame decode");
    assert_eq!(got_cid, cid);
    assert_eq!(back, msg);
    assert_eq!(
        serde_json::json!({ "correlationId": cid }),
        t.v["header_json"],
        "{}: header json",
        t.name
    );
    msg
}

fn check_key<M: Message + PartialEq + std::fmt::Debug>(t: &Vector, wrap: fn(M) -> RecordKey) {
    let msg = check_body::<M>(t);
    let stored = unhex(t.v["stored_hex"].as_str().expect("stored_hex"));
    let key = wrap(msg);
    assert_eq!(
        hex(&key.to_bytes().expect("key")),
        hex(&stored),
        "{}",
        t.name
    );
    assert_eq!(
        RecordKey::decode(&stored).expect("key decode"),
        key,
        "{}",
        t.name
    );
}

fn check_value<M: Message + PartialEq + std::fmt::Debug>(t: &Vector, wrap: fn(M) -> RecordValue) {
    let msg = check_body::<M>(t);
    let stored = unhex(t.v["stored_hex"].as_str().expect("stored_hex"));
    let value = wrap(msg);
    assert_eq!(
        hex(&value.to_bytes().expect("value")),
        hex(&stored),
        "{}",
        t.name
    );
    assert_eq!(
        RecordValue::decode(M::API_KEY, &stored).expect("value decode"),
        value,
        "{}",
        t.name
    );
}

#[test]
fn every_vector_both_ways() {
    let all = vectors();
    assert_eq!(all.len(), 47, "vector count");
    for v in all {
        let t = Vector {
            name: v["name"].as_str().unwrap_or_default().to_string(),
            version: v["api_version"].as_i64().unwrap_or(-1) as i16,
            json: v["json"].clone(),
            body: unhex(v["hex"].as_str().unwrap_or_default()),
            v: v.clone(),
        };
        let kind = v["kind"].as_str().unwrap_or_default();
        match (kind, v["api_key"].as_i64().unwrap_or_default()) {
            ("request", 88) => {
                check_request::<StreamsGroupHeartbeatRequest>(&t);
            }
            ("response", 88) => {
                check_response::<StreamsGroupHeartbeatResponse>(&t);
            }
            ("request", 89) => {
                check_request::<StreamsGroupDescribeRequest>(&t);
            }
            ("response", 89) => {
                check_response::<StreamsGroupDescribeResponse>(&t);
            }
            ("record-key", 17) => check_key(&t, RecordKey::GroupMetadata),
            ("record-key", 19) => check_key(&t, RecordKey::MemberMetadata),
            ("record-key", 20) => check_key(&t, RecordKey::TargetAssignmentMetadata),
            ("record-key", 21) => check_key(&t, RecordKey::TargetAssignmentMember),
            ("record-key", 22) => check_key(&t, RecordKey::CurrentMemberAssignment),
            ("record-key", 23) => check_key(&t, RecordKey::Topology),
            ("record-value", 17) => check_value(&t, RecordValue::GroupMetadata),
            ("record-value", 19) => check_value(&t, RecordValue::MemberMetadata),
            ("record-value", 20) => check_value(&t, RecordValue::TargetAssignmentMetadata),
            ("record-value", 21) => check_value(&t, RecordValue::TargetAssignmentMember),
            ("record-value", 22) => check_value(&t, RecordValue::CurrentMemberAssignment),
            ("record-value", 23) => check_value(&t, RecordValue::Topology),
            other => panic!("{}: unexpected kind {other:?}", t.name),
        }
    }
}

/// Spec 01 §9: the hand-derived join heartbeat (v1 request) bytes.
#[test]
fn spec_worked_example() {
    let frame = unhex(
        "0000003b0058000100000007000163000267026d00000000000000000000000075300100000000\
         020230020274010101010100000101010270ff0100000000",
    );
    let (h, req) = decode_request_frame(&frame[4..]).expect("decode");
    assert_eq!(h.correlation_id, 7);
    assert_eq!(h.client_id.as_deref(), Some("c"));
    let StreamsRequest::Heartbeat(req) = req else {
        panic!("not a heartbeat")
    };
    assert_eq!(req.rebalance_timeout_ms, 30000);
    assert_eq!(req.process_id.as_deref(), Some("p"));
    let mut out = Vec::new();
    encode_request_frame(&h, &req, &mut out).expect("encode");
    assert_eq!(hex(&out), hex(&frame));
}
