//! The kafka-protocol glue (`interop::kafka_protocol`) on its own: frame
//! recognition, the ApiVersions merge and the request facts it extracts.
#![cfg(feature = "kafka-protocol")]

use kafka_protocol::messages::api_versions_response::ApiVersion;
use kafka_protocol::messages::offset_commit_request::{
    OffsetCommitRequestPartition, OffsetCommitRequestTopic,
};
use kafka_protocol::messages::offset_fetch_request::OffsetFetchRequestGroup;
use kafka_protocol::messages::{
    ApiVersionsResponse, GroupId, OffsetCommitRequest, OffsetFetchRequest, TopicName,
};
use kafka_protocol::protocol::StrBytes;
use streams_coordinator::group::CommitApi;
use streams_coordinator::interop::kafka_protocol::{
    add_api_versions, is_streams_request, offset_commit_error, offset_commit_validation,
    offset_fetch_groups, OffsetFetchGroup,
};
use streams_coordinator::protocol::ErrorCode;

fn s(v: &str) -> StrBytes {
    StrBytes::from_string(v.into())
}

#[test]
fn streams_frames_are_recognised_by_their_api_key() {
    assert!(is_streams_request(&[0, 88, 0, 1, 0, 0, 0, 1]));
    assert!(is_streams_request(&[0, 89, 0, 0, 0, 0, 0, 1]));
    assert!(!is_streams_request(&[0, 3, 0, 12, 0, 0, 0, 1]));
    assert!(!is_streams_request(&[0]));
    assert!(!is_streams_request(&[]));
}

#[test]
fn our_versions_replace_the_brokers_entries_for_88_and_89_and_stay_sorted() {
    let entry = |k: i16, lo: i16, hi: i16| {
        ApiVersion::default()
            .with_api_key(k)
            .with_min_version(lo)
            .with_max_version(hi)
    };
    let mut resp = ApiVersionsResponse::default().with_api_keys(vec![
        entry(18, 0, 4),
        entry(88, 0, 7),
        entry(3, 0, 13),
    ]);
    add_api_versions(&mut resp);
    let keys: Vec<(i16, i16, i16)> = resp
        .api_keys
        .iter()
        .map(|k| (k.api_key, k.min_version, k.max_version))
        .collect();
    assert_eq!(keys, [(3, 0, 13), (18, 0, 4), (88, 0, 1), (89, 0, 1)]);
}

#[test]
fn an_offset_commit_becomes_the_validation_facts_and_a_refusal_covers_every_partition() {
    let part = |i: i32| OffsetCommitRequestPartition::default().with_partition_index(i);
    let req = OffsetCommitRequest::default()
        .with_group_id(GroupId(s("app")))
        .with_member_id(s("m-1"))
        .with_generation_id_or_member_epoch(7)
        .with_group_instance_id(Some(s("i-1")))
        .with_topics(vec![
            OffsetCommitRequestTopic::default()
                .with_name(TopicName(s("a")))
                .with_partitions(vec![part(0), part(3)]),
            OffsetCommitRequestTopic::default()
                .with_name(TopicName(s("b")))
                .with_partitions(vec![part(1)]),
        ]);
    let v = offset_commit_validation(&req, 9);
    assert_eq!(
        (v.group_id.as_str(), v.member_id.as_str(), v.member_epoch),
        ("app", "m-1", 7)
    );
    assert_eq!(v.instance_id.as_deref(), Some("i-1"));
    assert_eq!((v.api, v.api_version), (CommitApi::OffsetCommit, 9));
    assert_eq!(
        v.partitions,
        [
            ("a".to_string(), 0),
            ("a".to_string(), 3),
            ("b".to_string(), 1)
        ]
    );
    let refused = offset_commit_error(&req, ErrorCode::STALE_MEMBER_EPOCH);
    let codes: Vec<(String, i32, i16)> = refused
        .topics
        .iter()
        .flat_map(|t| {
            t.partitions
                .iter()
                .map(move |p| (t.name.0.to_string(), p.partition_index, p.error_code))
        })
        .collect();
    assert_eq!(
        codes,
        [
            ("a".to_string(), 0, 113),
            ("a".to_string(), 3, 113),
            ("b".to_string(), 1, 113)
        ]
    );
}

#[test]
fn offset_fetch_groups_come_from_groups_from_v8_and_group_id_below() {
    let old = OffsetFetchRequest::default().with_group_id(GroupId(s("legacy")));
    assert_eq!(
        offset_fetch_groups(&old, 7),
        [OffsetFetchGroup {
            group_id: "legacy".into(),
            member_id: None,
            member_epoch: -1
        }]
    );
    let new = OffsetFetchRequest::default().with_groups(vec![
        OffsetFetchRequestGroup::default()
            .with_group_id(GroupId(s("app")))
            .with_member_id(Some(s("m-1")))
            .with_member_epoch(4),
        OffsetFetchRequestGroup::default()
            .with_group_id(GroupId(s("admin")))
            .with_member_epoch(-1),
    ]);
    let groups = offset_fetch_groups(&new, 9);
    assert_eq!(groups[0].member_id.as_deref(), Some("m-1"));
    assert_eq!(groups[0].member_epoch, 4);
    assert_eq!(
        (groups[1].group_id.as_str(), groups[1].member_epoch),
        ("admin", -1)
    );
    // v8 has groups but no member fields: an admin fetch.
    assert_eq!(offset_fetch_groups(&new, 8)[0].member_epoch, -1);
}
