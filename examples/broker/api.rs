//! The Kafka APIs the example broker serves besides 88 and 89 (those go to
//! the service through `interop::kafka_protocol`), decoded and encoded with
//! the `kafka-protocol` crate.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use kafka_protocol::messages::api_versions_response::ApiVersion;
use kafka_protocol::messages::delete_groups_response::DeletableGroupResult;
use kafka_protocol::messages::delete_records_response::{
    DeleteRecordsPartitionResult, DeleteRecordsTopicResult,
};
use kafka_protocol::messages::fetch_response::FetchableTopicResponse;
use kafka_protocol::messages::find_coordinator_response::Coordinator;
use kafka_protocol::messages::list_groups_response::ListedGroup;
use kafka_protocol::messages::list_offsets_response::{
    ListOffsetsPartitionResponse, ListOffsetsTopicResponse,
};
use kafka_protocol::messages::metadata_response::{
    MetadataResponseBroker, MetadataResponsePartition, MetadataResponseTopic,
};
use kafka_protocol::messages::offset_delete_response::{
    OffsetDeleteResponsePartition, OffsetDeleteResponseTopic,
};
use kafka_protocol::messages::offset_fetch_response::{
    OffsetFetchResponseGroup, OffsetFetchResponsePartition, OffsetFetchResponsePartitions,
    OffsetFetchResponseTopic, OffsetFetchResponseTopics,
};
use kafka_protocol::messages::offset_for_leader_epoch_response::OffsetForLeaderTopicResult;
use kafka_protocol::messages::produce_response::{PartitionProduceResponse, TopicProduceResponse};
use kafka_protocol::messages::*;
use kafka_protocol::protocol::{Decodable, Encodable, StrBytes};
use streams_coordinator::group::StateFilter;
use streams_coordinator::interop::kafka_protocol as glue;
use streams_coordinator::protocol::ErrorCode;
use streams_coordinator::service::{ClientContext, Service};

use crate::cluster::{Cluster, Committed};

/// The versions served per API key: what Kafka trunk's clients send with
/// `group.protocol=streams` (88 and 89 are added by the glue).
pub const SERVED: &[(ApiKey, i16, i16)] = &[
    (ApiKey::Produce, 3, 13),
    (ApiKey::Fetch, 4, 18),
    (ApiKey::ListOffsets, 1, 10),
    (ApiKey::Metadata, 0, 13),
    (ApiKey::OffsetCommit, 2, 9),
    (ApiKey::OffsetFetch, 1, 9),
    (ApiKey::FindCoordinator, 0, 6),
    (ApiKey::ListGroups, 0, 5),
    (ApiKey::ApiVersions, 0, 4),
    (ApiKey::DeleteRecords, 0, 2),
    (ApiKey::InitProducerId, 0, 5),
    (ApiKey::OffsetForLeaderEpoch, 2, 4),
    (ApiKey::DeleteGroups, 0, 2),
    (ApiKey::OffsetDelete, 0, 0),
];

/// Kafka's `offset.metadata.max.bytes` default.
const MAX_OFFSET_METADATA: usize = 4096;
/// Longest Fetch wait honoured (a client asks for 500 ms by default).
const MAX_FETCH_WAIT: Duration = Duration::from_secs(30);

const NONE: i16 = 0;
const UNKNOWN_TOPIC_OR_PARTITION: i16 = 3;
const NOT_LEADER_OR_FOLLOWER: i16 = 6;
const OFFSET_METADATA_TOO_LARGE: i16 = 12;
const INVALID_REQUEST: i16 = 42;
const FENCED_LEADER_EPOCH: i16 = 74;
const UNKNOWN_LEADER_EPOCH: i16 = 75;
const UNKNOWN_TOPIC_ID: i16 = 100;

/// One node's view: its id, its streams service and the shared cluster.
pub struct Node {
    /// Node id.
    pub id: i32,
    /// This node's streams-group coordinator.
    pub service: Service,
    /// What every node shares.
    pub cluster: Arc<Cluster>,
}

/// Why a request was not answered: the connection is closed, as Kafka does.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// An API key or version this broker does not serve.
    #[error("{0}")]
    Unsupported(String),
    /// A request that does not decode, or a response that does not encode.
    #[error("{0}")]
    Codec(String),
}

/// The served version range of `key`, if served.
pub fn served(key: ApiKey) -> Option<(i16, i16)> {
    SERVED
        .iter()
        .find(|(k, _, _)| *k == key)
        .map(|&(_, lo, hi)| (lo, hi))
}

/// The ApiVersions entries this broker advertises, 88 and 89 included.
pub fn api_versions_response() -> ApiVersionsResponse {
    let mut response = ApiVersionsResponse::default().with_api_keys(
        SERVED
            .iter()
            .map(|&(k, lo, hi)| {
                ApiVersion::default()
                    .with_api_key(k as i16)
                    .with_min_version(lo)
                    .with_max_version(hi)
            })
            .collect(),
    );
    glue::add_api_versions(&mut response);
    response
}

fn encode<T: Encodable>(
    key: ApiKey,
    version: i16,
    correlation_id: i32,
    body: &T,
) -> Result<Bytes, ApiError> {
    let mut buf = BytesMut::new();
    buf.extend_from_slice(&[0; 4]);
    ResponseHeader::default()
        .with_correlation_id(correlation_id)
        .encode(&mut buf, key.response_header_version(version))
        .and_then(|()| body.encode(&mut buf, version))
        .map_err(|e| ApiError::Codec(format!("encoding the {key:?} v{version} response: {e}")))?;
    let size = (buf.len() - 4) as i32;
    buf[0..4].copy_from_slice(&size.to_be_bytes());
    Ok(buf.freeze())
}

fn decode<T: Decodable>(key: ApiKey, version: i16, body: &mut Bytes) -> Result<T, ApiError> {
    T::decode(body, version)
        .map_err(|e| ApiError::Codec(format!("decoding the {key:?} v{version} request: {e}")))
}

fn s(v: impl Into<String>) -> StrBytes {
    StrBytes::from_string(v.into())
}

fn topic_name(name: &str) -> TopicName {
    TopicName(s(name))
}

fn kuuid(id: streams_coordinator::protocol::Uuid) -> uuid::Uuid {
    uuid::Uuid::from_bytes(id.0)
}

/// Answers an ApiVersions request at an unsupported version: v0 body with
/// UNSUPPORTED_VERSION and our ApiVersions range, so the client retries at
/// our highest version (Kafka's answer).
pub fn unsupported_api_versions(correlation_id: i32) -> Result<Bytes, ApiError> {
    let (lo, hi) = served(ApiKey::ApiVersions).unwrap_or((0, 0));
    let body = ApiVersionsResponse::default()
        .with_error_code(ErrorCode::UNSUPPORTED_VERSION.0)
        .with_api_keys(vec![ApiVersion::default()
            .with_api_key(ApiKey::ApiVersions as i16)
            .with_min_version(lo)
            .with_max_version(hi)]);
    encode(ApiKey::ApiVersions, 0, correlation_id, &body)
}

/// Answers one decoded-header request. `Ok(None)`: no response is due
/// (Produce with acks=0).
pub async fn handle(
    node: &Node,
    client: &ClientContext,
    header: &RequestHeader,
    mut body: Bytes,
) -> Result<Option<Bytes>, ApiError> {
    let version = header.request_api_version;
    let key = ApiKey::try_from(header.request_api_key).map_err(|_| {
        ApiError::Unsupported(format!("unknown API key {}", header.request_api_key))
    })?;
    let corr = header.correlation_id;
    let b = &mut body;
    // Decodes the request at `version`, runs the handler, encodes its answer.
    macro_rules! serve {
        ($handler:expr) => {
            encode(key, version, corr, &$handler)?
        };
    }
    let out = match key {
        ApiKey::ApiVersions => {
            let _: ApiVersionsRequest = decode(key, version, b)?;
            serve!(api_versions_response())
        }
        ApiKey::Metadata => serve!(metadata(node, decode(key, version, b)?, version)),
        ApiKey::FindCoordinator => {
            serve!(find_coordinator(node, decode(key, version, b)?, version))
        }
        ApiKey::InitProducerId => serve!(init_producer_id(node, decode(key, version, b)?)),
        ApiKey::Produce => {
            let req: ProduceRequest = decode(key, version, b)?;
            let acks = req.acks;
            let resp = produce(node, req, version);
            if acks == 0 {
                return Ok(None);
            }
            serve!(resp)
        }
        ApiKey::Fetch => serve!(fetch(node, decode(key, version, b)?, version).await),
        ApiKey::ListOffsets => serve!(list_offsets(node, decode(key, version, b)?)),
        ApiKey::OffsetForLeaderEpoch => {
            serve!(offset_for_leader_epoch(node, decode(key, version, b)?))
        }
        ApiKey::DeleteRecords => serve!(delete_records(node, decode(key, version, b)?)),
        ApiKey::OffsetCommit => {
            serve!(offset_commit(node, decode(key, version, b)?, version).await)
        }
        ApiKey::OffsetFetch => serve!(offset_fetch(node, decode(key, version, b)?, version).await),
        ApiKey::ListGroups => serve!(list_groups(node, decode(key, version, b)?).await),
        ApiKey::DeleteGroups => serve!(delete_groups(node, client, decode(key, version, b)?).await),
        ApiKey::OffsetDelete => serve!(offset_delete(node, decode(key, version, b)?).await),
        other => {
            return Err(ApiError::Unsupported(format!(
                "{other:?} ({}) is not served",
                other as i16
            )))
        }
    };
    Ok(Some(out))
}

fn metadata(node: &Node, req: MetadataRequest, version: i16) -> MetadataResponse {
    let cluster = &node.cluster;
    let brokers = cluster
        .nodes
        .iter()
        .map(|n| {
            MetadataResponseBroker::default()
                .with_node_id(BrokerId(n.id))
                .with_host(s(n.host.clone()))
                .with_port(i32::from(n.port))
        })
        .collect();
    let topics = cluster.with_topics(|topics| {
        let describe = |name: &str| -> Option<MetadataResponseTopic> {
            let t = topics.get(name)?;
            Some(
                MetadataResponseTopic::default()
                    .with_name(Some(topic_name(name)))
                    .with_topic_id(kuuid(t.id))
                    .with_partitions(
                        (0..t.partitions.len() as i32)
                            .map(|p| {
                                let leader = BrokerId(cluster.leader(name, p));
                                MetadataResponsePartition::default()
                                    .with_partition_index(p)
                                    .with_leader_id(leader)
                                    .with_leader_epoch(0)
                                    .with_replica_nodes(vec![leader])
                                    .with_isr_nodes(vec![leader])
                            })
                            .collect(),
                    ),
            )
        };
        // v0: an empty list means every topic; from v1 a null list does.
        let all = match &req.topics {
            None => true,
            Some(list) => version == 0 && list.is_empty(),
        };
        if all {
            return topics.keys().filter_map(|n| describe(n)).collect();
        }
        req.topics
            .iter()
            .flatten()
            .map(|t| match &t.name {
                Some(name) => describe(name).unwrap_or_else(|| {
                    MetadataResponseTopic::default()
                        .with_name(Some(name.clone()))
                        .with_error_code(UNKNOWN_TOPIC_OR_PARTITION)
                }),
                None => topics
                    .iter()
                    .find(|(_, v)| kuuid(v.id) == t.topic_id)
                    .and_then(|(n, _)| describe(n))
                    .unwrap_or_else(|| {
                        MetadataResponseTopic::default()
                            .with_topic_id(t.topic_id)
                            .with_error_code(UNKNOWN_TOPIC_ID)
                    }),
            })
            .collect()
    });
    MetadataResponse::default()
        .with_brokers(brokers)
        .with_cluster_id(Some(s("streams-coordinator-example")))
        .with_controller_id(BrokerId(0))
        .with_topics(topics)
}

fn find_coordinator(
    node: &Node,
    req: FindCoordinatorRequest,
    version: i16,
) -> FindCoordinatorResponse {
    let keys: Vec<StrBytes> = if version >= 4 {
        req.coordinator_keys.clone()
    } else {
        vec![req.key.clone()]
    };
    let coordinators: Vec<Coordinator> = keys
        .into_iter()
        .map(|key| {
            if req.key_type != 0 {
                return Coordinator::default()
                    .with_key(key)
                    .with_node_id(BrokerId(-1))
                    .with_port(-1)
                    .with_error_code(INVALID_REQUEST)
                    .with_error_message(Some(s(
                        "this example broker serves group coordinators only (no transactions)",
                    )));
            }
            let partition = node.service.partition_for(&key);
            let id = node.cluster.coordinator(partition);
            let addr = &node.cluster.nodes[id as usize];
            Coordinator::default()
                .with_key(key)
                .with_node_id(BrokerId(id))
                .with_host(s(addr.host.clone()))
                .with_port(i32::from(addr.port))
        })
        .collect();
    if version >= 4 {
        return FindCoordinatorResponse::default().with_coordinators(coordinators);
    }
    let c = coordinators.into_iter().next().unwrap_or_default();
    FindCoordinatorResponse::default()
        .with_error_code(c.error_code)
        .with_error_message(c.error_message)
        .with_node_id(c.node_id)
        .with_host(c.host)
        .with_port(c.port)
}

fn init_producer_id(node: &Node, req: InitProducerIdRequest) -> InitProducerIdResponse {
    if req.transactional_id.is_some() {
        return InitProducerIdResponse::default()
            .with_error_code(INVALID_REQUEST)
            .with_producer_id(ProducerId(-1))
            .with_producer_epoch(-1);
    }
    // An idempotent producer that already has an id asks for a new epoch.
    let (id, epoch) =
        if req.producer_id.0 >= 0 && req.producer_epoch >= 0 && req.producer_epoch < i16::MAX {
            (req.producer_id.0, req.producer_epoch + 1)
        } else {
            (node.cluster.new_producer_id(), 0)
        };
    InitProducerIdResponse::default()
        .with_producer_id(ProducerId(id))
        .with_producer_epoch(epoch)
}

/// Resolves a request's topic to its name: by id from the version that
/// carries ids, else by name. `Err` is the topic-level error code.
fn resolve_topic(
    cluster: &Cluster,
    name: &TopicName,
    id: uuid::Uuid,
    by_id: bool,
) -> Result<String, i16> {
    cluster.with_topics(|topics| {
        if by_id {
            topics
                .iter()
                .find(|(_, t)| kuuid(t.id) == id)
                .map(|(n, _)| n.clone())
                .ok_or(UNKNOWN_TOPIC_ID)
        } else if topics.contains_key(name.0.as_str()) {
            Ok(name.0.to_string())
        } else {
            Err(UNKNOWN_TOPIC_OR_PARTITION)
        }
    })
}

/// Checks that `partition` of `topic` exists and this node leads it.
fn check_leader(node: &Node, topic: &str, partition: i32) -> Result<(), i16> {
    if node.cluster.with_log(topic, partition, |_| ()).is_none() {
        Err(UNKNOWN_TOPIC_OR_PARTITION)
    } else if node.cluster.leader(topic, partition) != node.id {
        Err(NOT_LEADER_OR_FOLLOWER)
    } else {
        Ok(())
    }
}

fn produce(node: &Node, req: ProduceRequest, version: i16) -> ProduceResponse {
    let cluster = &node.cluster;
    let mut responses = Vec::new();
    let mut appended = false;
    for t in req.topic_data {
        let resolved = resolve_topic(cluster, &t.name, t.topic_id, version >= 13);
        let partition_responses = t
            .partition_data
            .into_iter()
            .map(|p| {
                let r = PartitionProduceResponse::default()
                    .with_index(p.index)
                    .with_base_offset(-1)
                    .with_log_append_time_ms(-1)
                    .with_log_start_offset(-1);
                let name = match &resolved {
                    Ok(n) => n,
                    Err(code) => return r.with_error_code(*code),
                };
                if let Err(code) = check_leader(node, name, p.index) {
                    return r.with_error_code(code);
                }
                let records = p.records.unwrap_or_default();
                let outcome = cluster
                    .with_log(name, p.index, |log| {
                        log.append(&records).map(|base| (base, log.log_start()))
                    })
                    .unwrap_or(Err((UNKNOWN_TOPIC_OR_PARTITION, String::new())));
                match outcome {
                    Ok((base, start)) => {
                        appended = true;
                        r.with_base_offset(base).with_log_start_offset(start)
                    }
                    Err((code, message)) => {
                        tracing::warn!(topic = %name, partition = p.index, %message, "produce refused");
                        r.with_error_code(code).with_error_message(Some(s(message)))
                    }
                }
            })
            .collect();
        responses.push(
            TopicProduceResponse::default()
                .with_name(t.name)
                .with_topic_id(t.topic_id)
                .with_partition_responses(partition_responses),
        );
    }
    if appended {
        cluster.appended.notify_waiters();
    }
    ProduceResponse::default().with_responses(responses)
}

/// Builds a Fetch response from the logs now; also returns the record bytes.
fn fetch_once(node: &Node, req: &FetchRequest, version: i16) -> (FetchResponse, usize, bool) {
    let cluster = &node.cluster;
    let mut total = 0usize;
    let mut errors = false;
    let max_bytes = usize::try_from(req.max_bytes).unwrap_or(0);
    let mut responses = Vec::new();
    for t in &req.topics {
        let resolved = resolve_topic(cluster, &t.topic, t.topic_id, version >= 13);
        let partitions = t
            .partitions
            .iter()
            .map(|p| {
                let r = fetch_response::PartitionData::default()
                    .with_partition_index(p.partition)
                    .with_high_watermark(-1)
                    .with_last_stable_offset(-1)
                    .with_log_start_offset(-1);
                let checked = resolved
                    .clone()
                    .and_then(|name| check_leader(node, &name, p.partition).map(|()| name));
                let name = match checked {
                    Ok(n) => n,
                    Err(code) => {
                        errors = true;
                        return r.with_error_code(code);
                    }
                };
                if p.current_leader_epoch > 0 {
                    errors = true;
                    return r.with_error_code(UNKNOWN_LEADER_EPOCH);
                }
                let room = max_bytes.saturating_sub(total);
                let partition_max = usize::try_from(p.partition_max_bytes)
                    .unwrap_or(0)
                    .min(room);
                let read = cluster.with_log(&name, p.partition, |log| {
                    // Past the response's byte budget the partition is left
                    // empty this time (Kafka returns at least one batch only
                    // for the first non-empty partition).
                    let read = if room == 0 && total > 0 {
                        Ok(Bytes::new())
                    } else {
                        log.read(p.fetch_offset, partition_max.max(1))
                            .map(|r| r.records)
                    };
                    (log.high_watermark(), log.log_start(), read)
                });
                let Some((high_watermark, log_start, read)) = read else {
                    errors = true;
                    return r.with_error_code(UNKNOWN_TOPIC_OR_PARTITION);
                };
                let r = r
                    .with_high_watermark(high_watermark)
                    .with_last_stable_offset(high_watermark)
                    .with_log_start_offset(log_start);
                match read {
                    Ok(records) => {
                        total += records.len();
                        r.with_records(Some(records))
                    }
                    Err(code) => {
                        errors = true;
                        r.with_error_code(code)
                    }
                }
            })
            .collect();
        responses.push(
            FetchableTopicResponse::default()
                .with_topic(t.topic.clone())
                .with_topic_id(t.topic_id)
                .with_partitions(partitions),
        );
    }
    (
        FetchResponse::default().with_responses(responses),
        total,
        errors,
    )
}

/// Fetch with long polling: answers once `min_bytes` are there, a partition
/// has an error, or `max_wait_ms` has passed. No fetch sessions: session id 0
/// tells the client to send full fetches.
async fn fetch(node: &Node, req: FetchRequest, version: i16) -> FetchResponse {
    let wait =
        Duration::from_millis(u64::try_from(req.max_wait_ms).unwrap_or(0)).min(MAX_FETCH_WAIT);
    let deadline = tokio::time::Instant::now() + wait;
    let min_bytes = usize::try_from(req.min_bytes).unwrap_or(0);
    loop {
        // Register for the wake-up before reading, so an append in between is not missed.
        let appended = node.cluster.appended.notified();
        let (resp, bytes, errors) = fetch_once(node, &req, version);
        if bytes >= min_bytes.max(1) || errors || tokio::time::Instant::now() >= deadline {
            return resp;
        }
        if tokio::time::timeout_at(deadline, appended).await.is_err() {
            return fetch_once(node, &req, version).0;
        }
    }
}

fn list_offsets(node: &Node, req: ListOffsetsRequest) -> ListOffsetsResponse {
    let cluster = &node.cluster;
    let topics = req
        .topics
        .into_iter()
        .map(|t| {
            let name = t.name.0.to_string();
            let partitions = t
                .partitions
                .into_iter()
                .map(|p| {
                    let r = ListOffsetsPartitionResponse::default()
                        .with_partition_index(p.partition_index)
                        .with_timestamp(-1)
                        .with_offset(-1)
                        .with_leader_epoch(-1);
                    if let Err(code) = check_leader(node, &name, p.partition_index) {
                        return r.with_error_code(code);
                    }
                    if p.current_leader_epoch > 0 {
                        return r.with_error_code(UNKNOWN_LEADER_EPOCH);
                    }
                    let found =
                        cluster.with_log(&name, p.partition_index, |log| match p.timestamp {
                            -1 => Some((log.high_watermark(), -1)),
                            -3 => log.max_timestamp(),
                            ts if ts < 0 => Some((log.log_start(), -1)),
                            ts => log.offset_for_timestamp(ts),
                        });
                    match found {
                        None => r.with_error_code(UNKNOWN_TOPIC_OR_PARTITION),
                        Some(Some((offset, ts))) => r
                            .with_offset(offset)
                            .with_timestamp(ts)
                            .with_leader_epoch(0),
                        Some(None) => r,
                    }
                })
                .collect();
            ListOffsetsTopicResponse::default()
                .with_name(t.name)
                .with_partitions(partitions)
        })
        .collect();
    ListOffsetsResponse::default().with_topics(topics)
}

fn offset_for_leader_epoch(
    node: &Node,
    req: OffsetForLeaderEpochRequest,
) -> OffsetForLeaderEpochResponse {
    let topics = req
        .topics
        .into_iter()
        .map(|t| {
            let name = t.topic.0.to_string();
            let partitions = t
                .partitions
                .into_iter()
                .map(|p| {
                    let r = offset_for_leader_epoch_response::EpochEndOffset::default()
                        .with_partition(p.partition)
                        .with_leader_epoch(-1)
                        .with_end_offset(-1);
                    if let Err(code) = check_leader(node, &name, p.partition) {
                        return r.with_error_code(code);
                    }
                    // Every leader here has epoch 0.
                    if p.current_leader_epoch > 0 {
                        return r.with_error_code(UNKNOWN_LEADER_EPOCH);
                    }
                    if p.current_leader_epoch < -1 {
                        return r.with_error_code(FENCED_LEADER_EPOCH);
                    }
                    if p.leader_epoch > 0 {
                        return r;
                    }
                    match node
                        .cluster
                        .with_log(&name, p.partition, |log| log.high_watermark())
                    {
                        Some(end) => r.with_leader_epoch(0).with_end_offset(end),
                        None => r.with_error_code(UNKNOWN_TOPIC_OR_PARTITION),
                    }
                })
                .collect();
            OffsetForLeaderTopicResult::default()
                .with_topic(t.topic)
                .with_partitions(partitions)
        })
        .collect();
    OffsetForLeaderEpochResponse::default().with_topics(topics)
}

fn delete_records(node: &Node, req: DeleteRecordsRequest) -> DeleteRecordsResponse {
    let topics = req
        .topics
        .into_iter()
        .map(|t| {
            let name = t.name.0.to_string();
            let partitions = t
                .partitions
                .into_iter()
                .map(|p| {
                    let r = DeleteRecordsPartitionResult::default()
                        .with_partition_index(p.partition_index)
                        .with_low_watermark(-1);
                    if let Err(code) = check_leader(node, &name, p.partition_index) {
                        return r.with_error_code(code);
                    }
                    let outcome = node
                        .cluster
                        .with_log(&name, p.partition_index, |log| log.delete_before(p.offset));
                    match outcome {
                        Some(Ok(low)) => r.with_low_watermark(low),
                        Some(Err(code)) => r.with_error_code(code),
                        None => r.with_error_code(UNKNOWN_TOPIC_OR_PARTITION),
                    }
                })
                .collect();
            DeleteRecordsTopicResult::default()
                .with_name(t.name)
                .with_partitions(partitions)
        })
        .collect();
    DeleteRecordsResponse::default().with_topics(topics)
}

async fn offset_commit(
    node: &Node,
    req: OffsetCommitRequest,
    version: i16,
) -> OffsetCommitResponse {
    if let Err(code) = glue::validate_offset_commit(&node.service, &req, version).await {
        return glue::offset_commit_error(&req, code);
    }
    let group = req.group_id.0.to_string();
    let cluster = &node.cluster;
    let mut response = glue::offset_commit_error(&req, ErrorCode(NONE));
    let mut stored = 0;
    for (t, rt) in req.topics.iter().zip(response.topics.iter_mut()) {
        let name = t.name.0.to_string();
        for (p, rp) in t.partitions.iter().zip(rt.partitions.iter_mut()) {
            let metadata = p
                .committed_metadata
                .as_ref()
                .map(|m| m.to_string())
                .unwrap_or_default();
            let exists = cluster.with_log(&name, p.partition_index, |_| ()).is_some();
            rp.error_code = if !exists {
                UNKNOWN_TOPIC_OR_PARTITION
            } else if metadata.len() > MAX_OFFSET_METADATA {
                OFFSET_METADATA_TOO_LARGE
            } else {
                cluster.with_offsets(|o| {
                    o.entry(group.clone()).or_default().insert(
                        (name.clone(), p.partition_index),
                        Committed {
                            offset: p.committed_offset,
                            leader_epoch: p.committed_leader_epoch,
                            metadata,
                        },
                    )
                });
                stored += 1;
                NONE
            };
        }
    }
    tracing::debug!(group = %group, partitions = stored, "offsets committed");
    response
}

/// Offsets by topic, in answer order: `None` for a partition with none.
type TopicOffsets = Vec<(String, Vec<(i32, Option<Committed>)>)>;

/// What OffsetFetch answers for a partition without a committed offset.
fn or_none(c: Option<Committed>) -> Committed {
    c.unwrap_or(Committed {
        offset: -1,
        leader_epoch: -1,
        metadata: String::new(),
    })
}

/// One group's committed offsets as OffsetFetch answers them: every
/// partition when `wanted` is `None`, else the ones asked for (-1: none).
fn committed_for(
    cluster: &Cluster,
    group: &str,
    wanted: Option<Vec<(String, Vec<i32>)>>,
) -> TopicOffsets {
    cluster.with_offsets(|o| {
        let offsets = o.get(group);
        match wanted {
            None => {
                let mut by_topic: BTreeMap<String, Vec<(i32, Option<Committed>)>> = BTreeMap::new();
                for ((t, p), c) in offsets.into_iter().flatten() {
                    by_topic
                        .entry(t.clone())
                        .or_default()
                        .push((*p, Some(c.clone())));
                }
                by_topic.into_iter().collect()
            }
            Some(list) => list
                .into_iter()
                .map(|(t, ps)| {
                    let found = ps
                        .into_iter()
                        .map(|p| (p, offsets.and_then(|o| o.get(&(t.clone(), p))).cloned()))
                        .collect();
                    (t, found)
                })
                .collect(),
        }
    })
}

async fn offset_fetch(node: &Node, req: OffsetFetchRequest, version: i16) -> OffsetFetchResponse {
    let verdicts = glue::validate_offset_fetch(&node.service, &req, version).await;
    let cluster = &node.cluster;
    if version >= 8 {
        let groups = req
            .groups
            .iter()
            .zip(verdicts)
            .map(|(g, (_, verdict))| {
                let r = OffsetFetchResponseGroup::default().with_group_id(g.group_id.clone());
                if let Err(code) = verdict {
                    return r.with_error_code(code.0);
                }
                let wanted = g.topics.as_ref().map(|ts| {
                    ts.iter()
                        .map(|t| (t.name.0.to_string(), t.partition_indexes.clone()))
                        .collect()
                });
                let topics = committed_for(cluster, &g.group_id, wanted)
                    .into_iter()
                    .map(|(t, ps)| {
                        OffsetFetchResponseTopics::default()
                            .with_name(topic_name(&t))
                            .with_partitions(
                                ps.into_iter()
                                    .map(|(p, c)| {
                                        let c = or_none(c);
                                        OffsetFetchResponsePartitions::default()
                                            .with_partition_index(p)
                                            .with_committed_offset(c.offset)
                                            .with_committed_leader_epoch(c.leader_epoch)
                                            .with_metadata(Some(s(c.metadata)))
                                    })
                                    .collect(),
                            )
                    })
                    .collect();
                r.with_topics(topics)
            })
            .collect();
        return OffsetFetchResponse::default().with_groups(groups);
    }
    let verdict = verdicts.into_iter().next().map_or(Ok(()), |(_, v)| v);
    let wanted = req.topics.as_ref().map(|ts| {
        ts.iter()
            .map(|t| (t.name.0.to_string(), t.partition_indexes.clone()))
            .collect::<Vec<_>>()
    });
    let error = verdict.err().map_or(NONE, |c| c.0);
    let found = if error == NONE {
        committed_for(cluster, &req.group_id, wanted)
    } else {
        // v1 has no top-level error: every partition asked for carries it.
        wanted
            .unwrap_or_default()
            .into_iter()
            .map(|(t, ps)| (t, ps.into_iter().map(|p| (p, None)).collect()))
            .collect()
    };
    let topics = found
        .into_iter()
        .map(|(t, ps)| {
            OffsetFetchResponseTopic::default()
                .with_name(topic_name(&t))
                .with_partitions(
                    ps.into_iter()
                        .map(|(p, c)| {
                            let c = or_none(c);
                            OffsetFetchResponsePartition::default()
                                .with_partition_index(p)
                                .with_committed_offset(c.offset)
                                .with_committed_leader_epoch(c.leader_epoch)
                                .with_metadata(Some(s(c.metadata)))
                                .with_error_code(if version < 2 { error } else { NONE })
                        })
                        .collect(),
                )
        })
        .collect();
    OffsetFetchResponse::default()
        .with_topics(topics)
        .with_error_code(error)
}

/// True when this node coordinates `group` (for groups that are not streams
/// groups: the service answers for its own).
fn coordinates(node: &Node, group: &str) -> bool {
    let p = node.service.partition_for(group);
    node.cluster.coordinator(p) == node.id && node.service.partitions().contains(&p)
}

async fn list_groups(node: &Node, req: ListGroupsRequest) -> ListGroupsResponse {
    let wants = |filter: &[StrBytes], name: &str| {
        filter.is_empty() || filter.iter().any(|f| f.trim().eq_ignore_ascii_case(name))
    };
    let filter = StateFilter::from_names(req.states_filter.iter().map(|s| &**s));
    let all = node.service.list_groups(&StateFilter::Any).await;
    let streams: std::collections::BTreeSet<String> =
        all.iter().map(|g| g.group_id.clone()).collect();
    let mut groups: Vec<ListedGroup> = all
        .into_iter()
        .filter(|g| filter.matches(g.group_state) && wants(&req.types_filter, g.group_type))
        .map(|g| {
            ListedGroup::default()
                .with_group_id(GroupId(s(g.group_id)))
                .with_protocol_type(s(g.protocol_type))
                .with_group_state(s(g.group_state.name()))
                .with_group_type(s(g.group_type))
        })
        .collect();
    // Groups that only have committed offsets (simple groups): classic, Empty.
    if wants(&req.types_filter, "classic") && wants(&req.states_filter, "Empty") {
        let simple = node
            .cluster
            .with_offsets(|o| crate::cluster::offset_groups(o));
        for g in simple
            .into_iter()
            .filter(|g| !streams.contains(g) && coordinates(node, g))
        {
            groups.push(
                ListedGroup::default()
                    .with_group_id(GroupId(s(g)))
                    .with_protocol_type(s(""))
                    .with_group_state(s("Empty"))
                    .with_group_type(s("classic")),
            );
        }
    }
    ListGroupsResponse::default().with_groups(groups)
}

async fn delete_groups(
    node: &Node,
    client: &ClientContext,
    req: DeleteGroupsRequest,
) -> DeleteGroupsResponse {
    let ids: Vec<String> = req.groups_names.iter().map(|g| g.0.to_string()).collect();
    let results = node.service.delete_groups(client, &ids).await;
    let results = results
        .into_iter()
        .map(|(group, code)| {
            let code = match code {
                // The offsets go with the group.
                ErrorCode::NONE => {
                    node.cluster.with_offsets(|o| o.remove(&group));
                    tracing::info!(group = %group, "group deleted");
                    NONE
                }
                // Not a streams group: a simple group with offsets only.
                ErrorCode::GROUP_ID_NOT_FOUND if coordinates(node, &group) => {
                    match node.cluster.with_offsets(|o| o.remove(&group)) {
                        Some(_) => NONE,
                        None => code.0,
                    }
                }
                other => other.0,
            };
            DeletableGroupResult::default()
                .with_group_id(GroupId(s(group)))
                .with_error_code(code)
        })
        .collect();
    DeleteGroupsResponse::default().with_results(results)
}

async fn offset_delete(node: &Node, req: OffsetDeleteRequest) -> OffsetDeleteResponse {
    let group = req.group_id.0.to_string();
    let names: Vec<String> = req.topics.iter().map(|t| t.name.0.to_string()).collect();
    let subscribed = match node.service.validate_offset_delete(&group, &names).await {
        Ok(s) => s,
        Err(ErrorCode::GROUP_ID_NOT_FOUND)
            if coordinates(node, &group)
                && node.cluster.with_offsets(|o| o.contains_key(&group)) =>
        {
            vec![false; names.len()]
        }
        Err(code) => return OffsetDeleteResponse::default().with_error_code(code.0),
    };
    let topics = req
        .topics
        .into_iter()
        .zip(subscribed)
        .map(|(t, subscribed)| {
            let name = t.name.0.to_string();
            let exists = node.cluster.with_topics(|ts| ts.contains_key(&name));
            let partitions = t
                .partitions
                .into_iter()
                .map(|p| {
                    let code = if !exists {
                        UNKNOWN_TOPIC_OR_PARTITION
                    } else if subscribed {
                        ErrorCode::GROUP_SUBSCRIBED_TO_TOPIC.0
                    } else {
                        node.cluster.with_offsets(|o| {
                            if let Some(g) = o.get_mut(&group) {
                                g.remove(&(name.clone(), p.partition_index));
                            }
                        });
                        NONE
                    };
                    OffsetDeleteResponsePartition::default()
                        .with_partition_index(p.partition_index)
                        .with_error_code(code)
                })
                .collect();
            OffsetDeleteResponseTopic::default()
                .with_name(t.name)
                .with_partitions(partitions)
        })
        .collect();
    OffsetDeleteResponse::default().with_topics(topics)
}
