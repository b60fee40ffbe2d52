//! Kafka framing for the three APIs the service answers: ApiVersions
//! (18, v0–v3), StreamsGroupHeartbeat (88) and StreamsGroupDescribe (89).
//!
//! [`handle_frame`] answers one request frame and is all a broker with its own
//! network layer needs. A complete (plain-text, unauthenticated) TCP listener
//! and the matching client, for demos and tests, are in the workspace's
//! `harness` crate (`harness::net`): the library itself does no socket I/O.

use bytes::BufMut;

use super::{ClientContext, Service};
use crate::protocol::api_versions::{self, ApiVersion, ApiVersionsRequest, ApiVersionsResponse};
use crate::protocol::frame::{
    decode_request_frame, encode_response_frame, peek_request_api, RequestHeader, StreamsRequest,
};
use crate::protocol::wire::{DecodeError, EncodeError, Reader};
use crate::protocol::{
    ErrorCode, STREAMS_API_VERSIONS, STREAMS_GROUP_DESCRIBE_API_KEY,
    STREAMS_GROUP_HEARTBEAT_API_KEY,
};

/// Largest request frame accepted, in bytes (Kafka's `socket.request.max.bytes` default).
pub const MAX_FRAME_BYTES: usize = 104_857_600;

/// The principal of unauthenticated connections.
pub const ANONYMOUS: &str = "User:ANONYMOUS";

/// Why a connection failed or a frame could not be answered. The broker
/// closes the connection on any of these, as Kafka does on a bad request.
#[derive(Debug, thiserror::Error)]
pub enum NetError {
    /// Socket error.
    #[error("i/o: {0}")]
    Io(#[from] std::io::Error),
    /// A frame size outside `0..=MAX_FRAME_BYTES`.
    #[error("frame size {0} outside 0..={MAX_FRAME_BYTES}")]
    FrameSize(i64),
    /// A request or response that does not decode.
    #[error("decoding: {0}")]
    Decode(#[from] DecodeError),
    /// A message that does not encode at the negotiated version.
    #[error("encoding: {0}")]
    Encode(#[from] EncodeError),
    /// An ApiVersions message that does not decode or encode.
    #[error("ApiVersions: {0}")]
    ApiVersions(#[from] api_versions::ApiVersionsError),
    /// An API this listener does not serve.
    #[error("API key {0} is not served here (only 18, 88 and 89)")]
    UnsupportedApi(i16),
    /// A response whose correlation id does not match the request's.
    #[error("correlation id {got} does not match the request's {expected}")]
    Correlation {
        /// The request's correlation id.
        expected: i32,
        /// The response's.
        got: i32,
    },
}

/// The ApiVersions entries this service advertises: ApiVersions itself (0–3)
/// and the streams APIs (spec 01 §1.1).
pub(crate) fn advertised_api_versions() -> Vec<ApiVersion> {
    let mut v = vec![ApiVersion {
        api_key: api_versions::API_KEY,
        min_version: api_versions::MIN_VERSION,
        max_version: api_versions::MAX_VERSION,
    }];
    v.extend(STREAMS_API_VERSIONS.iter().map(|r| ApiVersion {
        api_key: r.api_key,
        min_version: r.min_version,
        max_version: r.max_version,
    }));
    v
}

/// `body` behind its 4-byte size prefix: a Kafka frame.
pub fn size_prefixed(body: &[u8]) -> Result<Vec<u8>, NetError> {
    let size = i32::try_from(body.len()).map_err(|_| NetError::FrameSize(body.len() as i64))?;
    let mut out = Vec::with_capacity(body.len() + 4);
    out.put_i32(size);
    out.extend_from_slice(body);
    Ok(out)
}

/// Answers ApiVersions (response header v0 at every version). A version
/// above 3 is answered at v0 with UNSUPPORTED_VERSION and the supported
/// list, as Kafka does, so the client can retry lower.
fn handle_api_versions(frame: &[u8], version: i16) -> Result<Vec<u8>, NetError> {
    let mut r = Reader::new(frame);
    let supported = (api_versions::MIN_VERSION..=api_versions::MAX_VERSION).contains(&version);
    let header = RequestHeader::read(&mut r, if version >= 3 { 2 } else { 1 })?;
    let mut response = ApiVersionsResponse {
        api_keys: advertised_api_versions(),
        ..Default::default()
    };
    let mut reply_version = version;
    if supported {
        let mut body = r.rest();
        if ApiVersionsRequest::decode(&mut body, version).is_err() {
            response.error_code = ErrorCode::INVALID_REQUEST.0;
        }
    } else {
        response.error_code = ErrorCode::UNSUPPORTED_VERSION.0;
        response
            .api_keys
            .retain(|k| k.api_key == api_versions::API_KEY);
        reply_version = 0;
    }
    let mut out = Vec::with_capacity(64);
    out.put_i32(header.correlation_id);
    response.encode(reply_version, &mut out)?;
    size_prefixed(&out)
}

/// Answers one request frame (header + body, without the size prefix) and
/// returns the response frame (with its size prefix).
pub async fn handle_frame(
    service: &Service,
    principal: &str,
    client_host: &str,
    frame: &[u8],
) -> Result<Vec<u8>, NetError> {
    let (api_key, version) = peek_request_api(frame)?;
    if api_key == api_versions::API_KEY {
        return handle_api_versions(frame, version);
    }
    if api_key != STREAMS_GROUP_HEARTBEAT_API_KEY && api_key != STREAMS_GROUP_DESCRIBE_API_KEY {
        return Err(NetError::UnsupportedApi(api_key));
    }
    let (mut header, request) = decode_request_frame(frame)?;
    let client = ClientContext {
        principal: principal.to_owned(),
        client_id: header.client_id.take().unwrap_or_default(),
        client_host: client_host.to_owned(),
        api_version: version,
    };
    let mut out = Vec::with_capacity(256);
    match request {
        StreamsRequest::Heartbeat(req) => {
            let resp = service.heartbeat(&client, req).await;
            encode_response_frame(header.correlation_id, version, &resp, &mut out)?;
        }
        StreamsRequest::Describe(req) => {
            let resp = service.describe(&client, req).await;
            encode_response_frame(header.correlation_id, version, &resp, &mut out)?;
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn advertises_api_versions_and_the_streams_apis() {
        let v = advertised_api_versions();
        assert_eq!(v.len(), 3);
        assert!(v.contains(&ApiVersion {
            api_key: 18,
            min_version: 0,
            max_version: 3
        }));
        assert!(v.contains(&ApiVersion {
            api_key: 88,
            min_version: 0,
            max_version: 1
        }));
        assert!(v.contains(&ApiVersion {
            api_key: 89,
            min_version: 0,
            max_version: 1
        }));
    }
}
