//! The example broker's modules (examples/broker/) compiled into a test
//! crate, with their unit tests, and its APIs driven request frame in,
//! response frame out, on one node with its service (no sockets, no Java):
//! what the real-client e2e does not reach (OffsetDelete, filters, refusals,
//! version errors). Compiled here rather than as the example's own test
//! target so that `cargo test` still builds the example binary that
//! tests/service_tcp.rs runs.
#![cfg(feature = "kafka-protocol")]
// Parts of the broker only its main() uses (listener, moves) are unused here.
#![allow(dead_code)]

#[path = "../examples/broker/api.rs"]
mod api;
#[path = "../examples/broker/args.rs"]
mod args;
#[path = "../examples/broker/cluster.rs"]
mod cluster;
#[path = "../examples/broker/conn.rs"]
mod conn;
#[path = "../examples/broker/log.rs"]
mod log;
#[path = "../examples/broker/rebalances.rs"]
mod rebalances;
#[path = "../examples/broker/stats.rs"]
mod stats;

use std::sync::Arc;

use bytes::{Bytes, BytesMut};
use harness::sim::{demo_topology, SimClient};
use kafka_protocol::messages::*;
use kafka_protocol::protocol::{Decodable, Encodable, StrBytes};
use streams_coordinator::service::{ClientContext, Service, ServiceConfig};

use crate::api::{ApiError, Node};
use crate::cluster::{Cluster, NodeAddr};
use crate::conn::answer_frame;
use crate::log::batch;

async fn node() -> Node {
    let cluster = Cluster::new(
        vec![NodeAddr {
            id: 0,
            host: "127.0.0.1".into(),
            port: 9092,
        }],
        4,
        4,
        &[("input".into(), 4), ("output".into(), 2)],
    );
    let config = ServiceConfig {
        partition_count: 4,
        ..ServiceConfig::default()
    };
    let service = Service::new(config, cluster.hooks());
    for p in 0..4 {
        service.load(p).await.expect("loads");
    }
    Node {
        id: 0,
        service,
        cluster,
    }
}

fn frame<T: Encodable>(key: ApiKey, version: i16, body: &T) -> Vec<u8> {
    let mut buf = BytesMut::new();
    RequestHeader::default()
        .with_request_api_key(key as i16)
        .with_request_api_version(version)
        .with_correlation_id(7)
        .with_client_id(Some(StrBytes::from_static_str("test-client")))
        .encode(&mut buf, key.request_header_version(version))
        .expect("header encodes");
    body.encode(&mut buf, version).expect("body encodes");
    buf.to_vec()
}

async fn try_call<Req: Encodable, Resp: Decodable>(
    node: &Node,
    key: ApiKey,
    version: i16,
    req: &Req,
) -> Result<Resp, ApiError> {
    let out = answer_frame(node, frame(key, version, req))
        .await?
        .expect("a response");
    assert_eq!(
        i32::from_be_bytes(out[0..4].try_into().expect("size")) as usize,
        out.len() - 4
    );
    let mut b = out.slice(4..);
    let header = ResponseHeader::decode(&mut b, key.response_header_version(version))
        .expect("response header");
    assert_eq!(header.correlation_id, 7);
    Ok(Resp::decode(&mut b, version).expect("response decodes"))
}

async fn call<Req: Encodable, Resp: Decodable>(
    node: &Node,
    key: ApiKey,
    version: i16,
    req: &Req,
) -> Resp {
    try_call(node, key, version, req).await.expect("served")
}

fn name(s: &str) -> TopicName {
    TopicName(StrBytes::from_string(s.into()))
}

fn produce_request(topic: &str, partition: i32, records: Vec<u8>) -> ProduceRequest {
    ProduceRequest::default()
        .with_acks(-1)
        .with_timeout_ms(1000)
        .with_topic_data(vec![produce_request::TopicProduceData::default()
            .with_name(name(topic))
            .with_partition_data(vec![
                produce_request::PartitionProduceData::default()
                    .with_index(partition)
                    .with_records(Some(Bytes::from(records))),
            ])])
}

fn fetch_request(topic: &str, partition: i32, offset: i64, max_wait_ms: i32) -> FetchRequest {
    FetchRequest::default()
        .with_replica_id(BrokerId(-1))
        .with_max_wait_ms(max_wait_ms)
        .with_min_bytes(1)
        .with_max_bytes(1 << 20)
        .with_topics(vec![fetch_request::FetchTopic::default()
            .with_topic(name(topic))
            .with_partitions(vec![fetch_request::FetchPartition::default()
                .with_partition(partition)
                .with_fetch_offset(offset)
                .with_partition_max_bytes(1 << 20)])])
}

#[tokio::test]
async fn api_versions_advertise_ours_and_refuse_newer_versions_with_the_range() {
    let node = node().await;
    let resp: ApiVersionsResponse = call(
        &node,
        ApiKey::ApiVersions,
        3,
        &ApiVersionsRequest::default(),
    )
    .await;
    assert_eq!(resp.error_code, 0);
    let range = |k: i16| {
        resp.api_keys
            .iter()
            .find(|v| v.api_key == k)
            .map(|v| (v.min_version, v.max_version))
    };
    assert_eq!(range(88), Some((0, 1)));
    assert_eq!(range(89), Some((0, 1)));
    assert_eq!(range(ApiKey::Fetch as i16), Some((4, 18)));
    assert_eq!(range(ApiKey::ListGroups as i16), Some((0, 5)));
    // A v5 request (newer than served) is answered at v0 with the served range.
    let mut f = frame(ApiKey::ApiVersions, 4, &ApiVersionsRequest::default());
    f[2..4].copy_from_slice(&5i16.to_be_bytes());
    let out = answer_frame(&node, f)
        .await
        .expect("answered")
        .expect("a response");
    let mut b = out.slice(8..);
    let v0 = ApiVersionsResponse::decode(&mut b, 0).expect("v0 body");
    assert_eq!(v0.error_code, 35);
    assert_eq!(v0.api_keys.len(), 1);
    assert_eq!(
        (v0.api_keys[0].min_version, v0.api_keys[0].max_version),
        (0, 4)
    );
}

#[tokio::test]
async fn unknown_apis_and_versions_are_refused_not_answered() {
    let node = node().await;
    let mut unknown = frame(ApiKey::Metadata, 12, &MetadataRequest::default());
    unknown[0..2].copy_from_slice(&999i16.to_be_bytes());
    assert!(matches!(
        answer_frame(&node, unknown).await,
        Err(ApiError::Unsupported(_))
    ));
    let mut too_new = frame(ApiKey::Metadata, 13, &MetadataRequest::default());
    too_new[2..4].copy_from_slice(&14i16.to_be_bytes());
    assert!(matches!(
        answer_frame(&node, too_new).await,
        Err(ApiError::Unsupported(_))
    ));
    let join = JoinGroupRequest::default();
    assert!(matches!(
        try_call::<_, JoinGroupResponse>(&node, ApiKey::JoinGroup, 5, &join).await,
        Err(ApiError::Unsupported(_))
    ));
}

#[tokio::test]
async fn metadata_lists_topics_with_ids_and_refuses_unknown_ones() {
    let node = node().await;
    let every = MetadataRequest::default().with_topics(None);
    let all: MetadataResponse = call(&node, ApiKey::Metadata, 13, &every).await;
    let names: Vec<String> = all
        .topics
        .iter()
        .filter_map(|t| t.name.as_ref())
        .map(|n| n.0.to_string())
        .collect();
    assert_eq!(names, ["input", "output"]);
    assert!(all
        .topics
        .iter()
        .all(|t| !t.topic_id.is_nil() && t.error_code == 0));
    assert_eq!(all.topics[0].partitions.len(), 4);
    let req = MetadataRequest::default().with_topics(Some(vec![
        metadata_request::MetadataRequestTopic::default().with_name(Some(name("nope"))),
    ]));
    let one: MetadataResponse = call(&node, ApiKey::Metadata, 13, &req).await;
    assert_eq!(one.topics[0].error_code, 3);
}

#[tokio::test(start_paused = true)]
async fn produce_assigns_offsets_and_a_waiting_fetch_wakes_on_it() {
    let node = Arc::new(node().await);
    let waiting = {
        let node = node.clone();
        tokio::spawn(async move {
            let started = tokio::time::Instant::now();
            let resp: FetchResponse = call(
                &node,
                ApiKey::Fetch,
                12,
                &fetch_request("input", 1, 0, 10_000),
            )
            .await;
            (resp, started.elapsed())
        })
    };
    tokio::task::yield_now().await;
    let first: ProduceResponse = call(
        &node,
        ApiKey::Produce,
        9,
        &produce_request("input", 1, batch(3, 5)),
    )
    .await;
    let p = &first.responses[0].partition_responses[0];
    assert_eq!((p.error_code, p.base_offset), (0, 0));
    let (resp, waited) = waiting.await.expect("fetch task");
    // Woken by the append, long before its 10 s wait was over (paused clock).
    assert!(
        waited < std::time::Duration::from_secs(10),
        "waited {waited:?}"
    );
    let part = &resp.responses[0].partitions[0];
    assert_eq!((part.error_code, part.high_watermark), (0, 3));
    let records = part.records.clone().expect("records");
    assert_eq!(
        i64::from_be_bytes(records[0..8].try_into().expect("base offset")),
        0
    );
    let second: ProduceResponse = call(
        &node,
        ApiKey::Produce,
        9,
        &produce_request("input", 1, batch(2, 6)),
    )
    .await;
    assert_eq!(second.responses[0].partition_responses[0].base_offset, 3);
    let out_of_range: FetchResponse =
        call(&node, ApiKey::Fetch, 12, &fetch_request("input", 1, 9, 0)).await;
    assert_eq!(out_of_range.responses[0].partitions[0].error_code, 1);
    let unknown: ProduceResponse = call(
        &node,
        ApiKey::Produce,
        9,
        &produce_request("nope", 0, batch(1, 0)),
    )
    .await;
    assert_eq!(unknown.responses[0].partition_responses[0].error_code, 3);
}

fn commit_request(group: &str, topic: &str, partition: i32, offset: i64) -> OffsetCommitRequest {
    OffsetCommitRequest::default()
        .with_group_id(GroupId(StrBytes::from_string(group.into())))
        .with_generation_id_or_member_epoch(-1)
        .with_topics(vec![
            offset_commit_request::OffsetCommitRequestTopic::default()
                .with_name(name(topic))
                .with_partitions(vec![
                    offset_commit_request::OffsetCommitRequestPartition::default()
                        .with_partition_index(partition)
                        .with_committed_offset(offset),
                ]),
        ])
}

fn admin_fetch(group: &str) -> OffsetFetchRequest {
    OffsetFetchRequest::default().with_groups(vec![
        offset_fetch_request::OffsetFetchRequestGroup::default()
            .with_group_id(GroupId(StrBytes::from_string(group.into())))
            .with_member_epoch(-1)
            .with_topics(None),
    ])
}

#[tokio::test]
async fn a_simple_group_commits_fetches_lists_and_deletes_its_offsets() {
    let node = node().await;
    let resp: OffsetCommitResponse = call(
        &node,
        ApiKey::OffsetCommit,
        9,
        &commit_request("tool", "input", 2, 42),
    )
    .await;
    assert_eq!(resp.topics[0].partitions[0].error_code, 0);
    let unknown: OffsetCommitResponse = call(
        &node,
        ApiKey::OffsetCommit,
        9,
        &commit_request("tool", "nope", 0, 1),
    )
    .await;
    assert_eq!(unknown.topics[0].partitions[0].error_code, 3);
    let fetched: OffsetFetchResponse =
        call(&node, ApiKey::OffsetFetch, 9, &admin_fetch("tool")).await;
    let g = &fetched.groups[0];
    assert_eq!(g.error_code, 0);
    assert_eq!(
        (
            g.topics[0].name.0.as_str(),
            g.topics[0].partitions[0].committed_offset
        ),
        ("input", 42)
    );
    let listed: ListGroupsResponse =
        call(&node, ApiKey::ListGroups, 5, &ListGroupsRequest::default()).await;
    assert_eq!(listed.groups.len(), 1);
    assert_eq!(
        (
            listed.groups[0].group_type.as_str(),
            listed.groups[0].group_state.as_str()
        ),
        ("classic", "Empty")
    );
    let del = DeleteGroupsRequest::default()
        .with_groups_names(vec![GroupId(StrBytes::from_static_str("tool"))]);
    let deleted: DeleteGroupsResponse = call(&node, ApiKey::DeleteGroups, 2, &del).await;
    assert_eq!(deleted.results[0].error_code, 0);
    let after: OffsetFetchResponse =
        call(&node, ApiKey::OffsetFetch, 9, &admin_fetch("tool")).await;
    assert!(after.groups[0].topics.is_empty());
    let again: DeleteGroupsResponse = call(&node, ApiKey::DeleteGroups, 2, &del).await;
    assert_eq!(again.results[0].error_code, 69);
}

#[tokio::test]
async fn a_streams_group_with_members_refuses_delete_and_subscribed_offset_deletes() {
    let node = node().await;
    let mut client = SimClient::new("app", "m-1", "p-1", demo_topology("app", &["input"], false));
    let ctx = ClientContext {
        principal: "User:ANONYMOUS".into(),
        client_id: "c".into(),
        client_host: "127.0.0.1".into(),
        api_version: 1,
    };
    let joined = node
        .service
        .heartbeat(&ctx, client.heartbeat(node.service.now_ms()))
        .await;
    assert_eq!(joined.error_code, 0);
    // The coordinator creates the changelog topic through the broker's hook,
    // without delaying the response.
    for _ in 0..500 {
        if node
            .cluster
            .with_topics(|t| t.contains_key("app-store-changelog"))
        {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    assert!(node
        .cluster
        .with_topics(|t| t.contains_key("app-store-changelog")));
    let group = || GroupId(StrBytes::from_static_str("app"));
    let listed: ListGroupsResponse = call(
        &node,
        ApiKey::ListGroups,
        5,
        &ListGroupsRequest::default().with_types_filter(vec![StrBytes::from_static_str("Streams")]),
    )
    .await;
    assert_eq!(listed.groups.len(), 1);
    assert_eq!(listed.groups[0].group_type.as_str(), "streams");
    let consumers: ListGroupsResponse = call(
        &node,
        ApiKey::ListGroups,
        5,
        &ListGroupsRequest::default()
            .with_types_filter(vec![StrBytes::from_static_str("consumer")]),
    )
    .await;
    assert!(consumers.groups.is_empty());
    let del = DeleteGroupsRequest::default().with_groups_names(vec![group()]);
    let refused: DeleteGroupsResponse = call(&node, ApiKey::DeleteGroups, 2, &del).await;
    assert_eq!(refused.results[0].error_code, 68);
    let topic = |t: &str| {
        offset_delete_request::OffsetDeleteRequestTopic::default()
            .with_name(name(t))
            .with_partitions(vec![
                offset_delete_request::OffsetDeleteRequestPartition::default()
                    .with_partition_index(0),
            ])
    };
    let req = OffsetDeleteRequest::default()
        .with_group_id(group())
        .with_topics(vec![topic("input"), topic("output")]);
    let resp: OffsetDeleteResponse = call(&node, ApiKey::OffsetDelete, 0, &req).await;
    assert_eq!(resp.error_code, 0);
    assert_eq!(
        resp.topics[0].partitions[0].error_code, 86,
        "input is a source topic"
    );
    assert_eq!(resp.topics[1].partitions[0].error_code, 0);
    // A member's commit with a wrong epoch is refused for the whole request.
    let stale = commit_request("app", "input", 0, 5)
        .with_member_id(StrBytes::from_static_str("m-1"))
        .with_generation_id_or_member_epoch(joined.member_epoch + 5);
    let refused: OffsetCommitResponse = call(&node, ApiKey::OffsetCommit, 9, &stale).await;
    assert_eq!(refused.topics[0].partitions[0].error_code, 113);
    let none = OffsetDeleteRequest::default()
        .with_group_id(GroupId(StrBytes::from_static_str("nobody")))
        .with_topics(vec![topic("input")]);
    let missing: OffsetDeleteResponse = call(&node, ApiKey::OffsetDelete, 0, &none).await;
    assert_eq!(missing.error_code, 69);
}

#[tokio::test]
async fn find_coordinator_names_the_partitions_node_and_refuses_transactions() {
    let node = node().await;
    let req = FindCoordinatorRequest::default()
        .with_coordinator_keys(vec![StrBytes::from_static_str("app")]);
    let resp: FindCoordinatorResponse = call(&node, ApiKey::FindCoordinator, 6, &req).await;
    assert_eq!(
        (
            resp.coordinators[0].error_code,
            resp.coordinators[0].node_id.0,
            resp.coordinators[0].port
        ),
        (0, 0, 9092)
    );
    let txn: FindCoordinatorResponse =
        call(&node, ApiKey::FindCoordinator, 6, &req.with_key_type(1)).await;
    assert_eq!(txn.coordinators[0].error_code, 42);
    let v3: FindCoordinatorResponse = call(
        &node,
        ApiKey::FindCoordinator,
        3,
        &FindCoordinatorRequest::default().with_key(StrBytes::from_static_str("app")),
    )
    .await;
    assert_eq!((v3.error_code, v3.port), (0, 9092));
}
