//! Glue for a broker that decodes Kafka with the `kafka-protocol` crate
//! (cargo feature `kafka-protocol`).
//!
//! `kafka-protocol` has no messages for StreamsGroupHeartbeat (88) and
//! StreamsGroupDescribe (89). A broker built on it needs three things from
//! this crate, and this module gives each one call:
//!
//! 1. Recognise a raw 88/89 request frame before handing the frame to
//!    `kafka-protocol`, and let the [`Service`] answer it:
//!    [`is_streams_request`], [`handle_streams_frame`].
//! 2. Advertise 88 and 89 in its own ApiVersions response:
//!    [`add_api_versions`].
//! 3. Ask the service whether a streams member may commit or fetch offsets
//!    (spec 07 §4) before its own OffsetCommit / OffsetFetch handlers touch
//!    the offsets: [`validate_offset_commit`] (with [`offset_commit_error`]
//!    for the refusal) and [`validate_offset_fetch`].
//!
//! The example broker (`examples/broker/`) is built on this module; see
//! `docs/embedding.md` ("A kafka-protocol broker").

use ::kafka_protocol::messages::api_versions_response::ApiVersion;
use ::kafka_protocol::messages::offset_commit_response::{
    OffsetCommitResponsePartition, OffsetCommitResponseTopic,
};
use ::kafka_protocol::messages::{
    ApiVersionsResponse, OffsetCommitRequest, OffsetCommitResponse, OffsetFetchRequest,
};

use crate::group::CommitApi;
use crate::protocol::frame::peek_request_api;
use crate::protocol::{
    ErrorCode, STREAMS_API_VERSIONS, STREAMS_GROUP_DESCRIBE_API_KEY,
    STREAMS_GROUP_HEARTBEAT_API_KEY,
};
use crate::service::net::{self, NetError};
use crate::service::{OffsetCommitValidation, Service};

/// True when `frame` (a request frame without its 4-byte size prefix) is a
/// StreamsGroupHeartbeat (88) or StreamsGroupDescribe (89) request: hand it
/// to [`handle_streams_frame`] instead of decoding it with `kafka-protocol`.
/// A frame too short to hold an API key is not.
pub fn is_streams_request(frame: &[u8]) -> bool {
    matches!(
        peek_request_api(frame),
        Ok((
            STREAMS_GROUP_HEARTBEAT_API_KEY | STREAMS_GROUP_DESCRIBE_API_KEY,
            _
        ))
    )
}

/// Answers a raw 88/89 request frame (header and body, no size prefix) through
/// the service, returning the response frame with its size prefix, ready to
/// write to the socket. `principal` is the authenticated principal (e.g.
/// `User:ANONYMOUS`), `client_host` the client's address.
///
/// An error means the frame is not a streams request, does not decode at its
/// version (a version outside 0–1 included) or its answer does not encode:
/// close the connection, as Kafka does for a request it cannot parse.
pub async fn handle_streams_frame(
    service: &Service,
    principal: &str,
    client_host: &str,
    frame: &[u8],
) -> Result<Vec<u8>, NetError> {
    let (api_key, _) = peek_request_api(frame)?;
    if !is_streams_request(frame) {
        return Err(NetError::UnsupportedApi(api_key));
    }
    net::handle_frame(service, principal, client_host, frame).await
}

/// Adds the service's API versions (88 and 89, each 0–1) to the broker's
/// ApiVersions response, replacing any entries the broker had for those
/// keys, and keeps `api_keys` sorted by key.
pub fn add_api_versions(response: &mut ApiVersionsResponse) {
    response
        .api_keys
        .retain(|k| STREAMS_API_VERSIONS.iter().all(|s| s.api_key != k.api_key));
    response
        .api_keys
        .extend(STREAMS_API_VERSIONS.iter().map(|s| {
            ApiVersion::default()
                .with_api_key(s.api_key)
                .with_min_version(s.min_version)
                .with_max_version(s.max_version)
        }));
    response.api_keys.sort_by_key(|k| k.api_key);
}

/// The facts of an OffsetCommit request (decoded at `version`) that the
/// service validates for a streams group.
pub fn offset_commit_validation(
    request: &OffsetCommitRequest,
    version: i16,
) -> OffsetCommitValidation {
    OffsetCommitValidation {
        group_id: request.group_id.to_string(),
        member_id: request.member_id.to_string(),
        member_epoch: request.generation_id_or_member_epoch,
        instance_id: request.group_instance_id.as_ref().map(|i| i.to_string()),
        api: CommitApi::OffsetCommit,
        api_version: version,
        partitions: request
            .topics
            .iter()
            .flat_map(|t| {
                t.partitions
                    .iter()
                    .map(move |p| (t.name.to_string(), p.partition_index))
            })
            .collect(),
    }
}

/// Validates an OffsetCommit request (decoded at `version`) with
/// [`Service::validate_offset_commit`]: `Ok(())` means the broker may write
/// the offsets; an error fails the whole request (answer it with
/// [`offset_commit_error`]). Call it when the group id is not held by a
/// group of another type (consumer, classic, share) on the broker.
pub async fn validate_offset_commit(
    service: &Service,
    request: &OffsetCommitRequest,
    version: i16,
) -> Result<(), ErrorCode> {
    service
        .validate_offset_commit(offset_commit_validation(request, version))
        .await
}

/// The OffsetCommit response refusing the whole `request` with `code`: every
/// partition of every topic carries it (spec 07 §4), topics and partitions in
/// request order.
pub fn offset_commit_error(request: &OffsetCommitRequest, code: ErrorCode) -> OffsetCommitResponse {
    OffsetCommitResponse::default().with_topics(
        request
            .topics
            .iter()
            .map(|t| {
                OffsetCommitResponseTopic::default()
                    .with_name(t.name.clone())
                    .with_topic_id(t.topic_id)
                    .with_partitions(
                        t.partitions
                            .iter()
                            .map(|p| {
                                OffsetCommitResponsePartition::default()
                                    .with_partition_index(p.partition_index)
                                    .with_error_code(code.0)
                            })
                            .collect(),
                    )
            })
            .collect(),
    )
}

/// One group of an OffsetFetch request: its id and the member fields that
/// version 9 added (absent below: an admin fetch).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OffsetFetchGroup {
    /// The group id.
    pub group_id: String,
    /// `MemberId` (v9+), `None` when absent or null.
    pub member_id: Option<String>,
    /// `MemberEpoch` (v9+), `-1` when absent.
    pub member_epoch: i32,
}

/// The groups of an OffsetFetch request decoded at `version`: the `Groups`
/// array from v8, the single `GroupId` below.
pub fn offset_fetch_groups(request: &OffsetFetchRequest, version: i16) -> Vec<OffsetFetchGroup> {
    if version >= 8 {
        request
            .groups
            .iter()
            .map(|g| OffsetFetchGroup {
                group_id: g.group_id.to_string(),
                member_id: g.member_id.as_ref().map(|m| m.to_string()),
                member_epoch: if version >= 9 { g.member_epoch } else { -1 },
            })
            .collect()
    } else {
        vec![OffsetFetchGroup {
            group_id: request.group_id.to_string(),
            member_id: None,
            member_epoch: -1,
        }]
    }
}

/// Validates each group of an OffsetFetch request (decoded at `version`)
/// with [`Service::validate_offset_fetch`], in request order: `Ok(())` lets
/// the broker answer that group's offsets, an error is that group's error
/// code. As for commits, call it for group ids held by no group of another
/// type.
pub async fn validate_offset_fetch(
    service: &Service,
    request: &OffsetFetchRequest,
    version: i16,
) -> Vec<(OffsetFetchGroup, Result<(), ErrorCode>)> {
    let mut out = Vec::new();
    for g in offset_fetch_groups(request, version) {
        let verdict = service
            .validate_offset_fetch(&g.group_id, g.member_id.as_deref(), g.member_epoch)
            .await;
        out.push((g, verdict));
    }
    out
}
