//! Property tests of the codec: random messages of every version round-trip through bytes
//! and through the JSON form; random and mutated bytes never panic the decoder, and whatever
//! decodes re-encodes and decodes to the same message.

use proptest::collection::vec;
use proptest::option;
use proptest::prelude::*;
use serde_json::Value;
use streams_coordinator::protocol::describe::{
    Assignment, DescribedGroup, Member, TopologyDescription, TopologyDescriptionGlobalStore,
    TopologyDescriptionNode, TopologyDescriptionSubtopology,
};
use streams_coordinator::protocol::frame::{decode_request_frame, split_frame};
use streams_coordinator::protocol::heartbeat::*;
use streams_coordinator::protocol::records::*;
use streams_coordinator::protocol::*;

fn s() -> impl Strategy<Value = String> {
    "\\PC{0,6}"
}

fn os() -> impl Strategy<Value = Option<String>> {
    option::of(s())
}

fn kv() -> impl Strategy<Value = KeyValue> {
    (s(), s()).prop_map(|(key, value)| KeyValue { key, value })
}

fn topic_info() -> impl Strategy<Value = TopicInfo> {
    (s(), any::<i32>(), any::<i16>(), vec(kv(), 0..3)).prop_map(
        |(name, partitions, replication_factor, topic_configs)| TopicInfo {
            name,
            partitions,
            replication_factor,
            topic_configs,
        },
    )
}

fn subtopology() -> impl Strategy<Value = Subtopology> {
    (
        s(),
        vec(s(), 0..3),
        vec(s(), 0..2),
        vec(topic_info(), 0..2),
        vec(s(), 0..2),
        vec(topic_info(), 0..2),
        vec(
            (
                vec(any::<i16>(), 0..3),
                vec(any::<i16>(), 0..2),
                vec(any::<i16>(), 0..2),
            ),
            0..2,
        ),
    )
        .prop_map(
            |(id, src, regex, changelog, sink, rsrc, groups)| Subtopology {
                subtopology_id: id,
                source_topics: src,
                source_topic_regex: regex,
                state_changelog_topics: changelog,
                repartition_sink_topics: sink,
                repartition_source_topics: rsrc,
                copartition_groups: groups
                    .into_iter()
                    .map(|(a, b, c)| CopartitionGroup {
                        source_topics: a,
                        source_topic_regex: b,
                        repartition_source_topics: c,
                    })
                    .collect(),
            },
        )
}

fn topology() -> impl Strategy<Value = Topology> {
    (any::<i32>(), vec(subtopology(), 0..3)).prop_map(|(epoch, subtopologies)| Topology {
        epoch,
        subtopologies,
    })
}

fn task_ids() -> impl Strategy<Value = TaskIds> {
    (s(), vec(any::<i32>(), 0..5)).prop_map(|(subtopology_id, partitions)| TaskIds {
        subtopology_id,
        partitions,
    })
}

fn endpoint() -> impl Strategy<Value = Endpoint> {
    (s(), any::<u16>()).prop_map(|(host, port)| Endpoint { host, port })
}

fn task_offset() -> impl Strategy<Value = TaskOffset> {
    (s(), any::<i32>(), any::<i64>()).prop_map(|(subtopology_id, partition, offset)| TaskOffset {
        subtopology_id,
        partition,
        offset,
    })
}

fn tasks() -> impl Strategy<Value = Option<Vec<TaskIds>>> {
    option::of(vec(task_ids(), 0..3))
}

fn heartbeat_request() -> impl Strategy<Value = StreamsGroupHeartbeatRequest> {
    (
        (
            s(),
            s(),
            any::<i32>(),
            any::<i32>(),
            os(),
            os(),
            any::<i32>(),
        ),
        (option::of(topology()), tasks(), tasks(), tasks(), os()),
        (
            option::of(endpoint()),
            option::of(vec(kv(), 0..3)),
            option::of(vec(task_offset(), 0..3)),
            option::of(vec(task_offset(), 0..3)),
            any::<bool>(),
        ),
    )
        .prop_map(|(a, b, c)| StreamsGroupHeartbeatRequest {
            group_id: a.0,
            member_id: a.1,
            member_epoch: a.2,
            endpoint_information_epoch: a.3,
            instance_id: a.4,
            rack_id: a.5,
            rebalance_timeout_ms: a.6,
            topology: b.0,
            active_tasks: b.1,
            standby_tasks: b.2,
            warmup_tasks: b.3,
            process_id: b.4,
            user_endpoint: c.0,
            client_tags: c.1,
            task_offsets: c.2,
            task_end_offsets: c.3,
            shutdown_application: c.4,
        })
}

fn topic_partition() -> impl Strategy<Value = TopicPartition> {
    (s(), vec(any::<i32>(), 0..4))
        .prop_map(|(topic, partitions)| TopicPartition { topic, partitions })
}

/// A heartbeat response valid at `version` (fields the version lacks hold their default).
fn heartbeat_response(version: i16) -> impl Strategy<Value = StreamsGroupHeartbeatResponse> {
    (
        (
            any::<i32>(),
            any::<i16>(),
            os(),
            s(),
            any::<i32>(),
            any::<i32>(),
        ),
        (any::<i32>(), any::<i32>(), any::<i64>()),
        (
            option::of(vec(
                (any::<i8>(), s()).prop_map(|(status_code, status_detail)| Status {
                    status_code,
                    status_detail,
                }),
                0..3,
            )),
            tasks(),
            tasks(),
            tasks(),
            any::<bool>(),
            any::<i32>(),
        ),
        option::of(vec(
            (
                endpoint(),
                vec(topic_partition(), 0..2),
                vec(topic_partition(), 0..2),
            )
                .prop_map(|(user_endpoint, active_partitions, standby_partitions)| {
                    EndpointToPartitions {
                        user_endpoint,
                        active_partitions,
                        standby_partitions,
                    }
                }),
            0..3,
        )),
    )
        .prop_map(move |(a, b, c, d)| StreamsGroupHeartbeatResponse {
            throttle_time_ms: a.0,
            error_code: a.1,
            error_message: a.2,
            member_id: a.3,
            member_epoch: a.4,
            heartbeat_interval_ms: a.5,
            acceptable_recovery_lag_legacy: if version == 0 { b.0 } else { 0 },
            task_offset_interval_ms: b.1,
            acceptable_recovery_lag: if version >= 1 { b.2 } else { -1 },
            status: c.0,
            active_tasks: c.1,
            standby_tasks: c.2,
            warmup_tasks: c.3,
            topology_description_required: version >= 1 && c.4,
            endpoint_information_epoch: c.5,
            partitions_by_user_endpoint: d.map(Into::into),
        })
}

fn describe_request(version: i16) -> impl Strategy<Value = StreamsGroupDescribeRequest> {
    (vec(s(), 0..4), any::<bool>(), any::<bool>()).prop_map(move |(ids, ops, td)| {
        StreamsGroupDescribeRequest {
            group_ids: ids,
            include_authorized_operations: ops,
            include_topology_description: version >= 1 && td,
        }
    })
}

fn node() -> impl Strategy<Value = TopologyDescriptionNode> {
    (
        s(),
        any::<i8>(),
        vec(s(), 0..2),
        os(),
        vec(s(), 0..2),
        vec(s(), 0..2),
    )
        .prop_map(
            |(name, node_type, source_topics, sink_topic, stores, successors)| {
                TopologyDescriptionNode {
                    name,
                    node_type,
                    source_topics,
                    sink_topic,
                    stores,
                    successors,
                }
            },
        )
}

fn assignment() -> impl Strategy<Value = Assignment> {
    (
        vec(task_ids(), 0..2),
        vec(task_ids(), 0..2),
        vec(task_ids(), 0..2),
    )
        .prop_map(|(active_tasks, standby_tasks, warmup_tasks)| Assignment {
            active_tasks,
            standby_tasks,
            warmup_tasks,
        })
}

fn member() -> impl Strategy<Value = Member> {
    (
        (s(), any::<i32>(), os(), os(), s(), s(), any::<i32>(), s()),
        (
            option::of(endpoint()),
            vec(kv(), 0..2),
            vec(task_offset(), 0..2),
            vec(task_offset(), 0..2),
            assignment(),
            assignment(),
            any::<bool>(),
        ),
    )
        .prop_map(|(a, b)| Member {
            member_id: a.0,
            member_epoch: a.1,
            instance_id: a.2,
            rack_id: a.3,
            client_id: a.4,
            client_host: a.5,
            topology_epoch: a.6,
            process_id: a.7,
            user_endpoint: b.0,
            client_tags: b.1,
            task_offsets: b.2,
            task_end_offsets: b.3,
            assignment: b.4,
            target_assignment: b.5,
            is_classic: b.6,
        })
}

fn described_group(version: i16) -> impl Strategy<Value = DescribedGroup> {
    let desc_subtopology = (
        s(),
        vec(s(), 0..2),
        vec(s(), 0..2),
        vec(topic_info(), 0..2),
        vec(topic_info(), 0..2),
    )
        .prop_map(|(id, src, sink, cl, rs)| describe::Subtopology {
            subtopology_id: id,
            source_topics: src,
            repartition_sink_topics: sink,
            state_changelog_topics: cl,
            repartition_source_topics: rs,
        });
    let desc_topology = (any::<i32>(), option::of(vec(desc_subtopology, 0..2))).prop_map(
        |(epoch, subtopologies)| describe::Topology {
            epoch,
            subtopologies,
        },
    );
    let description = (
        vec(
            (s(), vec(node(), 0..2)).prop_map(|(subtopology_id, nodes)| {
                TopologyDescriptionSubtopology {
                    subtopology_id,
                    nodes,
                }
            }),
            0..2,
        ),
        vec(
            (node(), node()).prop_map(|(source, processor)| TopologyDescriptionGlobalStore {
                source,
                processor,
            }),
            0..2,
        ),
    )
        .prop_map(|(subtopologies, global_stores)| TopologyDescription {
            subtopologies,
            global_stores,
        });
    (
        (any::<i16>(), os(), s(), s(), any::<i32>(), any::<i32>()),
        (option::of(desc_topology), vec(member(), 0..2), any::<i32>()),
        (option::of(description), any::<i8>(), os()),
    )
        .prop_map(move |(a, b, c)| DescribedGroup {
            error_code: a.0,
            error_message: a.1,
            group_id: a.2,
            group_state: a.3,
            group_epoch: a.4,
            assignment_epoch: a.5,
            topology: b.0,
            members: b.1,
            authorized_operations: b.2,
            topology_description: if version >= 1 { c.0 } else { None },
            topology_description_status: if version >= 1 { c.1 } else { 0 },
            assignor_name: if version >= 1 { c.2 } else { None },
        })
}

fn describe_response(version: i16) -> impl Strategy<Value = StreamsGroupDescribeResponse> {
    (any::<i32>(), vec(described_group(version), 0..3)).prop_map(|(throttle_time_ms, groups)| {
        StreamsGroupDescribeResponse {
            throttle_time_ms,
            groups,
        }
    })
}

fn current_task_ids() -> impl Strategy<Value = CurrentAssignmentTaskIds> {
    (
        s(),
        vec(any::<i32>(), 0..4),
        option::of(vec(any::<i32>(), 0..4)),
    )
        .prop_map(
            |(subtopology_id, partitions, assignment_epochs)| CurrentAssignmentTaskIds {
                subtopology_id,
                partitions,
                assignment_epochs,
            },
        )
}

fn record_value() -> impl Strategy<Value = RecordValue> {
    let cur = || vec(current_task_ids(), 0..3);
    prop_oneof![
        (
            any::<i32>(),
            any::<i64>(),
            any::<i32>(),
            option::of(vec(kv(), 0..3)),
            any::<i32>(),
            any::<i32>()
        )
            .prop_map(
                |(epoch, metadata_hash, v, c, st, f)| RecordValue::GroupMetadata(
                    StreamsGroupMetadataValue {
                        epoch,
                        metadata_hash,
                        validated_topology_epoch: v,
                        last_assignment_configs: c,
                        stored_description_topology_epoch: st,
                        failed_description_topology_epoch: f,
                    }
                )
            ),
        (
            (os(), os(), s(), s(), any::<i32>(), any::<i32>(), s()),
            option::of(endpoint()),
            vec(kv(), 0..3)
        )
            .prop_map(
                |(a, user_endpoint, client_tags)| RecordValue::MemberMetadata(
                    StreamsGroupMemberMetadataValue {
                        instance_id: a.0,
                        rack_id: a.1,
                        client_id: a.2,
                        client_host: a.3,
                        rebalance_timeout_ms: a.4,
                        topology_epoch: a.5,
                        process_id: a.6,
                        user_endpoint,
                        client_tags,
                    }
                )
            ),
        (any::<i32>(), prop_oneof![Just(0i64), any::<i64>()]).prop_map(|(e, t)| {
            RecordValue::TargetAssignmentMetadata(StreamsGroupTargetAssignmentMetadataValue {
                assignment_epoch: e,
                assignment_timestamp: t,
            })
        }),
        (
            vec(task_ids(), 0..3),
            vec(task_ids(), 0..3),
            vec(task_ids(), 0..3)
        )
            .prop_map(|(a, b, c)| RecordValue::TargetAssignmentMember(
                StreamsGroupTargetAssignmentMemberValue {
                    active_tasks: a,
                    standby_tasks: b,
                    warmup_tasks: c,
                }
            )),
        (
            (any::<i32>(), any::<i32>(), any::<i8>()),
            (cur(), cur(), cur()),
            (cur(), cur(), cur())
        )
            .prop_map(|(a, b, c)| RecordValue::CurrentMemberAssignment(
                StreamsGroupCurrentMemberAssignmentValue {
                    member_epoch: a.0,
                    previous_member_epoch: a.1,
                    state: a.2,
                    active_tasks: b.0,
                    standby_tasks: b.1,
                    warmup_tasks: b.2,
                    active_tasks_pending_revocation: c.0,
                    standby_tasks_pending_revocation: c.1,
                    warmup_tasks_pending_revocation: c.2,
                }
            )),
        topology().prop_map(|t| RecordValue::Topology(t.into())),
    ]
}

fn record_key() -> impl Strategy<Value = RecordKey> {
    prop_oneof![
        s().prop_map(|group_id| RecordKey::GroupMetadata(StreamsGroupMetadataKey { group_id })),
        (s(), s()).prop_map(|(group_id, member_id)| RecordKey::MemberMetadata(
            StreamsGroupMemberMetadataKey {
                group_id,
                member_id
            }
        )),
        s().prop_map(|group_id| RecordKey::TargetAssignmentMetadata(
            StreamsGroupTargetAssignmentMetadataKey { group_id }
        )),
        (s(), s()).prop_map(|(group_id, member_id)| RecordKey::TargetAssignmentMember(
            StreamsGroupTargetAssignmentMemberKey {
                group_id,
                member_id
            }
        )),
        (s(), s()).prop_map(|(group_id, member_id)| RecordKey::CurrentMemberAssignment(
            StreamsGroupCurrentMemberAssignmentKey {
                group_id,
                member_id
            }
        )),
        s().prop_map(|group_id| RecordKey::Topology(StreamsGroupTopologyKey { group_id })),
    ]
}

/// Bytes and JSON round trips of one message at one version.
fn round_trip<M: Message + PartialEq + std::fmt::Debug>(msg: &M, version: i16) {
    let bytes = msg.to_bytes(version).expect("encode");
    assert_eq!(msg.encoded_len(version).ok(), Some(bytes.len()));
    let back = M::decode(&bytes, version).expect("decode");
    assert_eq!(&back, msg);
    let json = msg.to_json(version);
    let from_json = M::from_json(json.clone(), version).expect("from_json");
    assert_eq!(&from_json, msg);
    // The JSON text form too (int64 beyond 2^53 must survive as integers).
    let text = serde_json::to_string(&json).expect("json text");
    assert_eq!(
        &M::from_json_str(&text, version).expect("from_json_str"),
        msg
    );
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]

    #[test]
    fn heartbeat_request_round_trips(msg in heartbeat_request(), version in 0i16..=1) {
        round_trip(&msg, version);
    }

    #[test]
    fn heartbeat_response_v0_round_trips(msg in heartbeat_response(0)) {
        round_trip(&msg, 0);
    }

    #[test]
    fn heartbeat_response_v1_round_trips(msg in heartbeat_response(1)) {
        round_trip(&msg, 1);
    }

    #[test]
    fn describe_request_round_trips(v0 in describe_request(0), v1 in describe_request(1)) {
        round_trip(&v0, 0);
        round_trip(&v1, 1);
    }

    #[test]
    fn describe_response_v0_round_trips(msg in describe_response(0)) {
        round_trip(&msg, 0);
    }

    #[test]
    fn describe_response_v1_round_trips(msg in describe_response(1)) {
        round_trip(&msg, 1);
    }

    #[test]
    fn records_round_trip(key in record_key(), value in option::of(record_value())) {
        let record = CoordinatorRecord { key, value };
        let key_bytes = record.key_bytes().expect("key");
        let value_bytes = record.value_bytes().expect("value");
        // A value of another type than the key does not decode as this record; pair them.
        if let Some(v) = &record.value {
            let back = RecordValue::decode(v.record_type(), value_bytes.as_deref().unwrap_or_default())
                .expect("value decode");
            prop_assert_eq!(&back, v);
        }
        prop_assert_eq!(RecordKey::decode(&key_bytes).expect("key decode"), record.key.clone());
        match &record.value {
            Some(RecordValue::GroupMetadata(v)) => round_trip(v, 0),
            Some(RecordValue::MemberMetadata(v)) => round_trip(v, 0),
            Some(RecordValue::TargetAssignmentMetadata(v)) => round_trip(v, 0),
            Some(RecordValue::TargetAssignmentMember(v)) => round_trip(v, 0),
            Some(RecordValue::CurrentMemberAssignment(v)) => round_trip(v, 0),
            Some(RecordValue::Topology(v)) => round_trip(v, 0),
            None => {}
        }
    }
}

// ------------------------------------------------------------------------------------------
// Bad input: random bytes and mutated vectors never panic; what decodes re-encodes.
// ------------------------------------------------------------------------------------------

fn vectors() -> Vec<(String, i64, i16, Vec<u8>)> {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/data/streams-rpc-vectors.json"
    ))
    .expect("vector file");
    let all: Vec<Value> = serde_json::from_str(&text).expect("vectors");
    all.iter()
        .map(|v| {
            let hex = v["hex"].as_str().unwrap_or_default();
            let bytes = (0..hex.len())
                .step_by(2)
                .filter_map(|i| u8::from_str_radix(hex.get(i..i + 2)?, 16).ok())
                .collect();
            (
                v["kind"].as_str().unwrap_or_default().to_string(),
                v["api_key"].as_i64().unwrap_or_default(),
                v["api_version"].as_i64().unwrap_or_default() as i16,
                bytes,
            )
        })
        .collect()
}

/// Decodes `bytes` as `M` at `version`; if that succeeds, the message must re-encode and
/// decode to itself.
fn try_decode<M: Message + PartialEq + std::fmt::Debug>(bytes: &[u8], version: i16) {
    if let Ok(msg) = M::decode(bytes, version) {
        let again = msg.to_bytes(version).expect("a decoded message re-encodes");
        assert_eq!(M::decode(&again, version).expect("re-decode"), msg);
    }
}

fn decode_as(kind: &str, key: i64, version: i16, bytes: &[u8]) {
    match (kind, key) {
        ("request", 88) => try_decode::<StreamsGroupHeartbeatRequest>(bytes, version),
        ("response", 88) => try_decode::<StreamsGroupHeartbeatResponse>(bytes, version),
        ("request", 89) => try_decode::<StreamsGroupDescribeRequest>(bytes, version),
        ("response", 89) => try_decode::<StreamsGroupDescribeResponse>(bytes, version),
        ("record-key", t) => {
            let mut stored = (t as i16).to_be_bytes().to_vec();
            stored.extend_from_slice(bytes);
            if let Ok(k) = RecordKey::decode(&stored) {
                let again = k.to_bytes().expect("re-encode");
                assert_eq!(RecordKey::decode(&again).expect("re-decode"), k);
            }
        }
        ("record-value", t) => {
            let mut stored = version.to_be_bytes().to_vec();
            stored.extend_from_slice(bytes);
            if let Ok(v) = RecordValue::decode(t as i16, &stored) {
                let again = v.to_bytes().expect("re-encode");
                assert_eq!(RecordValue::decode(t as i16, &again).expect("re-decode"), v);
            }
        }
        _ => {}
    }
}

const SHAPES: [(&str, i64); 16] = [
    ("request", 88),
    ("response", 88),
    ("request", 89),
    ("response", 89),
    ("record-key", 17),
    ("record-key", 19),
    ("record-key", 20),
    ("record-key", 21),
    ("record-key", 22),
    ("record-key", 23),
    ("record-value", 17),
    ("record-value", 19),
    ("record-value", 20),
    ("record-value", 21),
    ("record-value", 22),
    ("record-value", 23),
];

#[derive(Debug, Clone)]
enum Mutation {
    Set(usize, u8),
    Truncate(usize),
    Insert(usize, u8),
    Remove(usize),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        (any::<usize>(), any::<u8>()).prop_map(|(i, b)| Mutation::Set(i, b)),
        any::<usize>().prop_map(Mutation::Truncate),
        (any::<usize>(), any::<u8>()).prop_map(|(i, b)| Mutation::Insert(i, b)),
        any::<usize>().prop_map(Mutation::Remove),
    ]
}

fn mutate(mut bytes: Vec<u8>, muts: &[Mutation]) -> Vec<u8> {
    for m in muts {
        let n = bytes.len().max(1);
        match *m {
            Mutation::Set(i, b) => {
                if let Some(x) = bytes.get_mut(i % n) {
                    *x = b;
                }
            }
            Mutation::Truncate(i) => bytes.truncate(i % n),
            Mutation::Insert(i, b) => bytes.insert(i % (bytes.len() + 1), b),
            Mutation::Remove(i) => {
                if !bytes.is_empty() {
                    bytes.remove(i % n);
                }
            }
        }
    }
    bytes
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn random_bytes_never_panic(bytes in vec(any::<u8>(), 0..200), version in -1i16..=2) {
        for (kind, key) in SHAPES {
            decode_as(kind, key, version, &bytes);
        }
        let _ = decode_request_frame(&bytes);
        let _ = split_frame(&bytes, 1 << 20);
    }

    #[test]
    fn mutated_vectors_never_panic(index in any::<usize>(), muts in vec(mutation(), 1..4)) {
        let all = vectors();
        let (kind, key, version, bytes) = &all[index % all.len()];
        let bad = mutate(bytes.clone(), &muts);
        decode_as(kind, *key, *version, &bad);
    }
}
