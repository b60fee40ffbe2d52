//! The codec's rules for versions, defaults, limits and bad input (spec 01 §2.3–§2.7).

use serde_json::json;
use streams_coordinator::protocol::describe::DescribedGroup;
use streams_coordinator::protocol::records::*;
use streams_coordinator::protocol::*;

fn vector_body(name: &str) -> Vec<u8> {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/data/streams-rpc-vectors.json"
    ))
    .expect("vector file");
    let all: Vec<serde_json::Value> = serde_json::from_str(&text).expect("vectors");
    let v = all
        .iter()
        .find(|v| v["name"] == name)
        .expect("vector present");
    let hex = v["hex"].as_str().expect("hex");
    (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).expect("hex"))
        .collect()
}

#[test]
fn non_default_field_absent_from_version_is_an_error_naming_it() {
    let resp = StreamsGroupHeartbeatResponse {
        topology_description_required: true,
        ..Default::default()
    };
    let err = resp
        .to_bytes(0)
        .expect_err("v0 lacks topologyDescriptionRequired");
    assert!(
        matches!(&err, EncodeError::NonDefaultField { field, version: 0 }
            if field == "StreamsGroupHeartbeatResponse.topologyDescriptionRequired"),
        "{err}"
    );
    assert!(resp.to_bytes(1).is_ok());

    let resp = StreamsGroupHeartbeatResponse {
        acceptable_recovery_lag_legacy: 10,
        ..Default::default()
    };
    let err = resp.to_bytes(1).expect_err("v1 lacks the legacy field");
    assert!(
        err.to_string().contains("acceptableRecoveryLagLegacy"),
        "{err}"
    );

    let req = StreamsGroupDescribeRequest {
        include_topology_description: true,
        ..Default::default()
    };
    let err = req
        .to_bytes(0)
        .expect_err("v0 lacks includeTopologyDescription");
    assert!(
        err.to_string().contains("includeTopologyDescription"),
        "{err}"
    );

    let resp = StreamsGroupDescribeResponse {
        throttle_time_ms: 0,
        groups: vec![DescribedGroup {
            topology_description_status: 2,
            ..Default::default()
        }],
    };
    let err = resp
        .to_bytes(0)
        .expect_err("v0 lacks topologyDescriptionStatus");
    assert_eq!(
        err.to_string(),
        "attempted to write a non-default \
         StreamsGroupDescribeResponse.groups.topologyDescriptionStatus at version 0"
    );
}

#[test]
fn ignorable_fields_are_dropped_silently() {
    let resp = StreamsGroupHeartbeatResponse {
        acceptable_recovery_lag: 10_000,
        ..Default::default()
    };
    let bytes = resp.to_bytes(0).expect("ignorable");
    let back = StreamsGroupHeartbeatResponse::decode(&bytes, 0).expect("decode");
    assert_eq!(back.acceptable_recovery_lag, -1);

    let resp = StreamsGroupDescribeResponse {
        throttle_time_ms: 0,
        groups: vec![DescribedGroup {
            assignor_name: Some("sticky".into()),
            ..Default::default()
        }],
    };
    let bytes = resp.to_bytes(0).expect("ignorable");
    let back = StreamsGroupDescribeResponse::decode(&bytes, 0).expect("decode");
    assert_eq!(back.groups[0].assignor_name, None);
}

#[test]
fn unknown_tagged_fields_are_skipped() {
    // Top level: replace the empty tagged-field section (last byte) by two unknown tags.
    let body = vector_body("StreamsGroupHeartbeatRequest/v1/regular-all-unchanged");
    let original = StreamsGroupHeartbeatRequest::decode(&body, 1).expect("vector");
    let mut tagged = body[..body.len() - 1].to_vec();
    tagged.extend_from_slice(&[0x02, 0x05, 0x02, 0xab, 0xcd, 0x90, 0x01, 0x00]);
    assert_eq!(
        StreamsGroupHeartbeatRequest::decode(&tagged, 1).expect("tags skipped"),
        original
    );

    // A record value with known tags: an unknown tag 7 next to known tag 0.
    // epoch 12, hash 0, tags: {0: validated epoch 3, 7: 1 byte}
    let bytes = [
        0, 0, 0, 12, 0, 0, 0, 0, 0, 0, 0, 0, 0x02, 0x00, 0x04, 0, 0, 0, 3, 0x07, 0x01, 0xee,
    ];
    let v = StreamsGroupMetadataValue::decode(&bytes, 0).expect("decode");
    assert_eq!(v.epoch, 12);
    assert_eq!(v.validated_topology_epoch, 3);
    assert_eq!(v.last_assignment_configs, Some(vec![]));

    // A known tag whose declared size disagrees with its value is an error.
    let bad = [
        0, 0, 0, 12, 0, 0, 0, 0, 0, 0, 0, 0, 0x01, 0x00, 0x05, 0, 0, 0, 3, 0,
    ];
    assert!(StreamsGroupMetadataValue::decode(&bad, 0).is_err());
}

#[test]
fn tagged_nullable_array_quirk() {
    // Default (empty) is not written; null is written as tag 1, size 1, 0x00.
    let v = StreamsGroupMetadataValue {
        epoch: 2,
        metadata_hash: 42,
        ..Default::default()
    };
    assert_eq!(v.to_bytes(0).expect("encode").last(), Some(&0x00));
    assert_eq!(v.to_json(0), json!({"epoch": 2, "metadataHash": 42}));
    let null = StreamsGroupMetadataValue {
        last_assignment_configs: None,
        ..v.clone()
    };
    let bytes = null.to_bytes(0).expect("encode");
    assert_eq!(&bytes[12..], &[0x01, 0x01, 0x01, 0x00]);
    assert_eq!(
        StreamsGroupMetadataValue::decode(&bytes, 0).expect("decode"),
        null
    );
    assert_eq!(
        StreamsGroupMetadataValue::decode(&v.to_bytes(0).expect("encode"), 0).expect("decode"),
        v
    );
    let t = CurrentAssignmentTaskIds::default();
    assert_eq!(t.assignment_epochs, Some(vec![]));
}

#[test]
fn length_prefixes_beyond_the_input_are_errors_not_allocations() {
    // GroupIds count 2^31 in a 20-byte buffer.
    let mut bytes = vec![0x81, 0x80, 0x80, 0x80, 0x08];
    bytes.resize(20, 0);
    let err = StreamsGroupDescribeRequest::decode(&bytes, 0).expect_err("too large");
    assert!(
        matches!(err.kind(), DecodeErrorKind::CollectionTooLarge { count, .. } if *count == 1 << 31),
        "{err}"
    );
    assert!(err.to_string().contains("groupIds"), "{err}");

    // A string longer than the input.
    let err = StreamsGroupHeartbeatRequest::decode(&[0x7f, b'a'], 0).expect_err("short");
    assert!(err.to_string().contains("groupId"), "{err}");
    // A string longer than 32767.
    let err =
        StreamsGroupHeartbeatRequest::decode(&[0x81, 0x80, 0x02, b'a'], 0).expect_err("too long");
    assert!(
        matches!(err.kind(), DecodeErrorKind::InvalidStringLength(32768)),
        "{err}"
    );
    // A varint over 5 bytes.
    let err = StreamsGroupHeartbeatRequest::decode(&[0xff; 8], 0).expect_err("varint");
    assert_eq!(*err.kind(), DecodeErrorKind::VarintTooLong);
}

#[test]
fn null_in_non_nullable_fields_is_an_error() {
    // GroupId (non-nullable compact string) encoded as null.
    let err = StreamsGroupHeartbeatRequest::decode(&[0x00, 0x00], 0).expect_err("null");
    assert_eq!(*err.kind(), DecodeErrorKind::UnexpectedNull);
    // GroupIds (non-nullable array) encoded as null.
    let err = StreamsGroupDescribeRequest::decode(&[0x00, 0x00, 0x00], 0).expect_err("null");
    assert_eq!(*err.kind(), DecodeErrorKind::UnexpectedNull);
}

#[test]
fn versions_trailing_bytes_and_limits() {
    let req = StreamsGroupDescribeRequest::default();
    assert!(matches!(
        req.to_bytes(2),
        Err(EncodeError::UnsupportedVersion { version: 2, .. })
    ));
    let bytes = req.to_bytes(1).expect("encode");
    assert!(matches!(
        StreamsGroupDescribeRequest::decode(&bytes, 2).map_err(|e| e.kind().clone()),
        Err(DecodeErrorKind::UnsupportedVersion(2))
    ));
    let mut trailing = bytes.clone();
    trailing.push(0);
    assert!(matches!(
        StreamsGroupDescribeRequest::decode(&trailing, 1).map_err(|e| e.kind().clone()),
        Err(DecodeErrorKind::TrailingBytes(1))
    ));

    let long = StreamsGroupHeartbeatRequest {
        group_id: "g".repeat(40_000),
        ..Default::default()
    };
    let err = long.to_bytes(0).expect_err("string too long");
    assert!(
        matches!(&err, EncodeError::StringTooLong { field, len: 40_000 }
            if field == "StreamsGroupHeartbeatRequest.groupId"),
        "{err}"
    );

    // A fixed buffer too small: error, nothing written.
    let mut small = [0u8; 4];
    let mut slice: &mut [u8] = &mut small;
    let err = StreamsGroupHeartbeatRequest::default()
        .encode(0, &mut slice)
        .expect_err("small buffer");
    assert!(matches!(err, EncodeError::BufferTooSmall { .. }));
    assert_eq!(small, [0u8; 4]);
}

#[test]
fn json_form_is_version_aware() {
    // A field left out takes the schema default.
    let req = StreamsGroupHeartbeatRequest::from_json(json!({"groupId": "g", "memberId": "m"}), 1)
        .expect("defaults");
    assert_eq!(req.rebalance_timeout_ms, -1);
    assert_eq!(req.topology, None);
    let resp = StreamsGroupHeartbeatResponse::from_json(json!({}), 1).expect("defaults");
    assert_eq!(resp.acceptable_recovery_lag, -1);
    assert_eq!(resp.status, Some(vec![]));

    // A field the version lacks is an error naming it.
    let err = StreamsGroupHeartbeatResponse::from_json(json!({"acceptableRecoveryLag": 5}), 0)
        .expect_err("not in v0");
    assert!(
        matches!(&err, JsonError::FieldNotInVersion { field, version: 0, .. }
            if field == "acceptableRecoveryLag"),
        "{err}"
    );
    let err = StreamsGroupDescribeResponse::from_json(
        json!({"groups": [{"groupId": "a"}, {"groupId": "b", "assignorName": "sticky"}]}),
        0,
    )
    .expect_err("not in v0");
    assert!(err.to_string().contains("groups[1].assignorName"), "{err}");

    // Unknown fields, wrong types and nulls in non-nullable fields are errors.
    assert!(StreamsGroupHeartbeatRequest::from_json(json!({"groupID": "g"}), 0).is_err());
    assert!(StreamsGroupHeartbeatRequest::from_json(json!({"groupId": null}), 0).is_err());
    assert!(StreamsGroupHeartbeatRequest::from_json(
        json!({"userEndpoint": {"host": "h", "port": 70000}}),
        0
    )
    .is_err());

    // to_json leaves out what the version lacks.
    let v0 = StreamsGroupHeartbeatResponse::default().to_json(0);
    assert!(v0.get("acceptableRecoveryLagLegacy").is_some());
    assert!(v0.get("acceptableRecoveryLag").is_none());
    assert!(v0.get("topologyDescriptionRequired").is_none());
    let v1 = StreamsGroupHeartbeatResponse::default().to_json(1);
    assert!(v1.get("acceptableRecoveryLagLegacy").is_none());
    assert_eq!(v1["acceptableRecoveryLag"], json!(-1));
}

#[test]
fn records_reject_foreign_types_and_versions() {
    let key = RecordKey::GroupMetadata(StreamsGroupMetadataKey {
        group_id: "g".into(),
    });
    let mut bytes = key.to_bytes().expect("key");
    assert_eq!(RecordKey::decode(&bytes).expect("decode"), key);
    bytes[1] = 18; // type 18 is not a streams-group record: Kafka's loader skips those
    let err = RecordKey::decode(&bytes).expect_err("type 18");
    assert_eq!(*err.kind(), DecodeErrorKind::UnknownRecordType(18));
    let value = RecordValue::TargetAssignmentMetadata(StreamsGroupTargetAssignmentMetadataValue {
        assignment_epoch: 1,
        assignment_timestamp: 0,
    });
    let mut bytes = value.to_bytes().expect("value");
    assert_eq!(bytes, [0, 0, 0, 0, 0, 1, 0]);
    bytes[1] = 1; // value version 1 does not exist
    assert!(RecordValue::decode(20, &bytes).is_err());
    assert_eq!(key.type_name(), "StreamsGroupMetadata");
    assert_eq!(
        records::record_type_name(22),
        Some("StreamsGroupCurrentMemberAssignment")
    );
}

#[test]
fn frames_and_records_ignore_bytes_after_the_body_like_kafka() {
    use streams_coordinator::protocol::frame::{decode_request_frame, encode_request_frame};
    let header = frame::RequestHeader {
        request_api_key: 89,
        request_api_version: 1,
        correlation_id: 3,
        client_id: None,
    };
    let req = StreamsGroupDescribeRequest {
        group_ids: vec!["g".into()],
        ..Default::default()
    };
    let mut out = Vec::new();
    encode_request_frame(&header, &req, &mut out).expect("encode");
    let mut frame = out[4..].to_vec();
    assert_eq!(&frame[8..10], &[0xff, 0xff], "null client id is int16 -1");
    frame.extend_from_slice(&[1, 2, 3]);
    let (h, got) = decode_request_frame(&frame).expect("trailing bytes ignored");
    assert_eq!(h, header);
    assert_eq!(got, frame::StreamsRequest::Describe(req));

    let key = RecordKey::Topology(StreamsGroupTopologyKey {
        group_id: "g".into(),
    });
    let mut bytes = key.to_bytes().expect("key");
    bytes.push(9);
    assert_eq!(RecordKey::decode(&bytes).expect("lenient"), key);
}

#[test]
fn api_versions_entries() {
    let entries: Vec<(i16, i16, i16)> = STREAMS_API_VERSIONS
        .iter()
        .map(|e| (e.api_key, e.min_version, e.max_version))
        .collect();
    assert_eq!(entries, vec![(88, 0, 1), (89, 0, 1)]);
}

#[test]
fn overlong_texts_of_a_response_encode_once_truncated() {
    // Kafka's string limit (0x7fff bytes); the cut itself is tested with
    // `protocol::wire::truncate_text`, internal to the crate.
    const MAX_STRING_LEN: usize = 0x7fff;
    let mut resp = StreamsGroupHeartbeatResponse {
        error_code: ErrorCode::UNKNOWN_MEMBER_ID.0,
        error_message: Some("m".repeat(MAX_STRING_LEN + 10)),
        status: Some(vec![heartbeat::Status {
            status_code: 1,
            status_detail: "d".repeat(2 * MAX_STRING_LEN),
        }]),
        ..Default::default()
    };
    assert!(matches!(
        resp.to_bytes(1),
        Err(EncodeError::StringTooLong { .. })
    ));
    resp.truncate_texts();
    assert!(resp.to_bytes(1).is_ok());
    assert!(resp.to_bytes(0).is_ok());
}
