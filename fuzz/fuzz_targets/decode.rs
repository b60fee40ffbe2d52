//! Every decoder of the crate on arbitrary bytes (docs/fuzzing.md).
//!
//! Input: `[kind, selector, payload...]`. `kind` picks the decoder (a message body of key 88
//! or 89, a record key or value body, a stored record, a request or response frame, an
//! ApiVersions body, the frame splitter); `selector` picks the version or record type.
//!
//! Properties: decoding never panics; whatever decodes encodes again (the codec must accept
//! every value its decoder produces), and decoding those bytes gives the same value, whose
//! encoding is the same bytes. Message bodies also round-trip through their JSON form.

#![no_main]

use std::fmt::Debug;

use libfuzzer_sys::fuzz_target;
use streams_coordinator::protocol::api_versions::{ApiVersionsRequest, ApiVersionsResponse};
use streams_coordinator::protocol::frame::{
    decode_request_frame, decode_response_frame, encode_request_frame, encode_response_frame,
    split_frame, StreamsRequest,
};
use streams_coordinator::protocol::records::{
    CoordinatorRecord, RecordKey, RecordValue, StreamsGroupCurrentMemberAssignmentKey,
    StreamsGroupCurrentMemberAssignmentValue, StreamsGroupMemberMetadataKey,
    StreamsGroupMemberMetadataValue, StreamsGroupMetadataKey, StreamsGroupMetadataValue,
    StreamsGroupTargetAssignmentMemberKey, StreamsGroupTargetAssignmentMemberValue,
    StreamsGroupTargetAssignmentMetadataKey, StreamsGroupTargetAssignmentMetadataValue,
    StreamsGroupTopologyKey, StreamsGroupTopologyValue,
};
use streams_coordinator::protocol::{
    Message, StreamsGroupDescribeRequest, StreamsGroupDescribeResponse,
    StreamsGroupHeartbeatRequest, StreamsGroupHeartbeatResponse,
};

/// A version for a message of versions `0..=highest`, now and then one out of range.
fn version(selector: u8, highest: i16) -> i16 {
    match selector {
        0xff => -1,
        0xfe => highest + 1,
        s => i16::from(s) % (highest + 1),
    }
}

/// Body decode, re-encode, decode again; the JSON form too.
fn body<M: Message + PartialEq + Debug>(bytes: &[u8], version: i16) {
    let Ok((msg, used)) = M::decode_prefix(bytes, version) else {
        return;
    };
    assert!(used <= bytes.len());
    let strict = M::decode(bytes, version);
    assert_eq!(
        strict.is_ok(),
        used == bytes.len(),
        "{}: decode vs decode_prefix",
        M::NAME
    );
    let encoded = msg.to_bytes(version).unwrap_or_else(|e| {
        panic!(
            "{} v{version}: decoded {msg:?} but cannot encode it: {e}",
            M::NAME
        )
    });
    assert_eq!(
        msg.encoded_len(version).ok(),
        Some(encoded.len()),
        "{}: encoded_len",
        M::NAME
    );
    let back = M::decode(&encoded, version)
        .unwrap_or_else(|e| panic!("{} v{version}: own encoding does not decode: {e}", M::NAME));
    assert_eq!(back, msg, "{} v{version}: byte round trip", M::NAME);
    assert_eq!(
        back.to_bytes(version).ok().as_deref(),
        Some(&encoded[..]),
        "{}: re-encoding",
        M::NAME
    );

    let json = msg.to_json(version);
    let from_json = M::from_json(json.clone(), version).unwrap_or_else(|e| {
        panic!(
            "{} v{version}: own JSON {json} does not read back: {e}",
            M::NAME
        )
    });
    assert_eq!(from_json, msg, "{} v{version}: JSON round trip", M::NAME);
    let text = json.to_string();
    let from_text = M::from_json_str(&text, version).unwrap_or_else(|e| {
        panic!(
            "{} v{version}: own JSON text {text} does not read back: {e}",
            M::NAME
        )
    });
    assert_eq!(
        from_text,
        msg,
        "{} v{version}: JSON text round trip",
        M::NAME
    );
}

fn record_key_body(selector: u8, bytes: &[u8]) {
    match selector % 6 {
        0 => body::<StreamsGroupMetadataKey>(bytes, 0),
        1 => body::<StreamsGroupMemberMetadataKey>(bytes, 0),
        2 => body::<StreamsGroupTargetAssignmentMetadataKey>(bytes, 0),
        3 => body::<StreamsGroupTargetAssignmentMemberKey>(bytes, 0),
        4 => body::<StreamsGroupCurrentMemberAssignmentKey>(bytes, 0),
        _ => body::<StreamsGroupTopologyKey>(bytes, 0),
    }
}

fn record_value_body(selector: u8, bytes: &[u8]) {
    match selector % 6 {
        0 => body::<StreamsGroupMetadataValue>(bytes, 0),
        1 => body::<StreamsGroupMemberMetadataValue>(bytes, 0),
        2 => body::<StreamsGroupTargetAssignmentMetadataValue>(bytes, 0),
        3 => body::<StreamsGroupTargetAssignmentMemberValue>(bytes, 0),
        4 => body::<StreamsGroupCurrentMemberAssignmentValue>(bytes, 0),
        _ => body::<StreamsGroupTopologyValue>(bytes, 0),
    }
}

fn stored_key(bytes: &[u8]) {
    let Ok(key) = RecordKey::decode(bytes) else {
        return;
    };
    let encoded = key
        .to_bytes()
        .unwrap_or_else(|e| panic!("decoded {key:?} but cannot encode it: {e}"));
    let back = RecordKey::decode(&encoded).expect("own key encoding decodes");
    assert_eq!(back, key, "stored key round trip");
}

fn stored_value(record_type: i16, bytes: &[u8]) {
    let Ok(value) = RecordValue::decode(record_type, bytes) else {
        return;
    };
    assert_eq!(value.record_type(), record_type);
    let encoded = value
        .to_bytes()
        .unwrap_or_else(|e| panic!("decoded {value:?} but cannot encode it: {e}"));
    let back = RecordValue::decode(record_type, &encoded).expect("own value encoding decodes");
    assert_eq!(back, value, "stored value round trip");
}

fn stored_record(selector: u8, bytes: &[u8]) {
    let split = usize::from(selector & 0x7f).min(bytes.len());
    let (key, value) = bytes.split_at(split);
    let value = (selector & 0x80 == 0).then_some(value);
    let Ok(record) = CoordinatorRecord::decode(key, value) else {
        return;
    };
    assert_eq!(record.is_tombstone(), value.is_none());
    let key_bytes = record.key_bytes().expect("decoded key encodes");
    let value_bytes = record.value_bytes().expect("decoded value encodes");
    let back = CoordinatorRecord::decode(&key_bytes, value_bytes.as_deref())
        .expect("own record encoding decodes");
    assert_eq!(back, record, "stored record round trip");
}

fn request_frame(bytes: &[u8]) {
    let Ok((header, request)) = decode_request_frame(bytes) else {
        return;
    };
    let mut out = Vec::new();
    let encoded = match &request {
        StreamsRequest::Heartbeat(r) => encode_request_frame(&header, r, &mut out),
        StreamsRequest::Describe(r) => encode_request_frame(&header, r, &mut out),
    };
    encoded.unwrap_or_else(|e| panic!("decoded {header:?} {request:?} but cannot encode it: {e}"));
    let (frame, used) = split_frame(&out, usize::MAX)
        .expect("own frame splits")
        .expect("own frame is whole");
    assert_eq!(used, out.len());
    let back = decode_request_frame(frame).expect("own request frame decodes");
    assert_eq!(back, (header, request), "request frame round trip");
}

fn response_frame<M: Message + PartialEq + Debug>(bytes: &[u8], version: i16) {
    let Ok((correlation_id, msg)) = decode_response_frame::<M>(bytes, version) else {
        return;
    };
    let mut out = Vec::new();
    encode_response_frame(correlation_id, version, &msg, &mut out).unwrap_or_else(|e| {
        panic!(
            "{} v{version}: decoded {msg:?} but cannot encode it: {e}",
            M::NAME
        )
    });
    let back = decode_response_frame::<M>(&out[4..], version).expect("own response frame decodes");
    assert_eq!(
        back,
        (correlation_id, msg),
        "{}: response frame round trip",
        M::NAME
    );
}

fn api_versions(selector: u8, bytes: &[u8]) {
    let version = version(selector >> 1, 3);
    if selector & 1 == 0 {
        let Ok(msg) = ApiVersionsRequest::decode(&mut &bytes[..], version) else {
            return;
        };
        let mut out = Vec::new();
        msg.encode(version, &mut out)
            .expect("decoded ApiVersionsRequest encodes");
        let back =
            ApiVersionsRequest::decode(&mut &out[..], version).expect("own encoding decodes");
        assert_eq!(back, msg, "ApiVersionsRequest round trip");
    } else {
        let Ok(msg) = ApiVersionsResponse::decode(&mut &bytes[..], version) else {
            return;
        };
        let mut out = Vec::new();
        msg.encode(version, &mut out)
            .expect("decoded ApiVersionsResponse encodes");
        let back =
            ApiVersionsResponse::decode(&mut &out[..], version).expect("own encoding decodes");
        assert_eq!(back, msg, "ApiVersionsResponse round trip");
    }
}

fn split(selector: u8, bytes: &[u8]) {
    let max = usize::from(selector) * 16;
    if let Ok(Some((frame, used))) = split_frame(bytes, max) {
        assert_eq!(used, frame.len() + 4);
        assert!(used <= bytes.len() && frame.len() <= max);
    }
}

fuzz_target!(|data: &[u8]| {
    let [kind, selector, payload @ ..] = data else {
        return;
    };
    let (kind, selector) = (*kind, *selector);
    match kind % 13 {
        0 => body::<StreamsGroupHeartbeatRequest>(payload, version(selector, 1)),
        1 => body::<StreamsGroupHeartbeatResponse>(payload, version(selector, 1)),
        2 => body::<StreamsGroupDescribeRequest>(payload, version(selector, 1)),
        3 => body::<StreamsGroupDescribeResponse>(payload, version(selector, 1)),
        4 => record_key_body(selector, payload),
        5 => record_value_body(selector, payload),
        6 => stored_key(payload),
        // Record types 16..=24: the six streams types and some that are not.
        7 => stored_value(16 + i16::from(selector % 9), payload),
        8 => stored_record(selector, payload),
        9 => request_frame(payload),
        10 => {
            let v = version(selector >> 1, 1);
            if selector & 1 == 0 {
                response_frame::<StreamsGroupHeartbeatResponse>(payload, v)
            } else {
                response_frame::<StreamsGroupDescribeResponse>(payload, v)
            }
        }
        11 => api_versions(selector, payload),
        _ => split(selector, payload),
    }
});
