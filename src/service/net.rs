//! Kafka framing over TCP for the three APIs the service answers: ApiVersions
//! (18, v0–v3), StreamsGroupHeartbeat (88) and StreamsGroupDescribe (89).
//!
//! [`handle_frame`] answers one request frame and is all a broker with its own
//! network layer needs; [`serve`] is a complete (plain-text, unauthenticated)
//! listener for demos and tests; [`Connection`] is the matching client.

use std::net::SocketAddr;

use bytes::BufMut;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use super::{ClientContext, Service};
use crate::protocol::api_versions::{self, ApiVersion, ApiVersionsRequest, ApiVersionsResponse};
use crate::protocol::frame::{
    decode_request_frame, decode_response_frame, encode_request_frame, encode_response_frame,
    peek_request_api, RequestHeader, StreamsRequest,
};
use crate::protocol::wire::{DecodeError, EncodeError, Reader};
use crate::protocol::{
    ErrorCode, Message, StreamsGroupDescribeRequest, StreamsGroupDescribeResponse,
    StreamsGroupHeartbeatRequest, StreamsGroupHeartbeatResponse, STREAMS_API_VERSIONS,
    STREAMS_GROUP_DESCRIBE_API_KEY, STREAMS_GROUP_HEARTBEAT_API_KEY,
};

/// Largest request frame accepted, in bytes (Kafka's `socket.request.max.bytes` default).
pub const MAX_FRAME_BYTES: usize = 104_857_600;

/// Buffer reserved up front for a frame; larger frames grow as bytes arrive.
const INITIAL_FRAME_CAPACITY: usize = 64 * 1024;

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
pub fn advertised_api_versions() -> Vec<ApiVersion> {
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

fn put_size_prefixed(body: &[u8]) -> Result<Vec<u8>, NetError> {
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
    put_size_prefixed(&out)
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
    let (header, request) = decode_request_frame(frame)?;
    let client = ClientContext {
        principal: principal.to_owned(),
        client_id: header.client_id.clone().unwrap_or_default(),
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

/// Reads one size-prefixed frame; `Ok(None)` at a clean end of stream.
pub async fn read_frame<R: AsyncRead + Unpin>(reader: &mut R) -> Result<Option<Vec<u8>>, NetError> {
    let mut size = [0u8; 4];
    match reader.read_exact(&mut size).await {
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => return Ok(None),
        Err(e) => return Err(e.into()),
    }
    let size = i32::from_be_bytes(size);
    if size < 0 || size as usize > MAX_FRAME_BYTES {
        return Err(NetError::FrameSize(i64::from(size)));
    }
    // Grow with the bytes that actually arrive: a size prefix alone does not
    // make us allocate up to the limit.
    let size = size as usize;
    let mut frame = Vec::with_capacity(size.min(INITIAL_FRAME_CAPACITY));
    (&mut *reader)
        .take(size as u64)
        .read_to_end(&mut frame)
        .await?;
    if frame.len() != size {
        return Err(NetError::Io(std::io::ErrorKind::UnexpectedEof.into()));
    }
    Ok(Some(frame))
}

/// Serves one connection until the peer closes it or sends a bad request.
/// Requests are answered in order, one at a time (as Kafka does per connection).
pub async fn serve_connection<S: AsyncRead + AsyncWrite + Unpin>(
    service: Service,
    mut stream: S,
    principal: &str,
    client_host: &str,
) -> Result<(), NetError> {
    while let Some(frame) = read_frame(&mut stream).await? {
        let response = handle_frame(&service, principal, client_host, &frame).await?;
        stream.write_all(&response).await?;
    }
    Ok(())
}

/// Accepts connections on `listener` forever, serving each on its own task
/// as [`ANONYMOUS`].
pub async fn serve(listener: TcpListener, service: Service) -> std::io::Result<()> {
    loop {
        let (stream, peer) = listener.accept().await?;
        let _ = stream.set_nodelay(true);
        let service = service.clone();
        tokio::spawn(async move {
            let host = peer.ip().to_string();
            if let Err(e) = serve_connection(service, stream, ANONYMOUS, &host).await {
                tracing::info!(%peer, error = %e, "connection closed");
            }
        });
    }
}

/// A client connection speaking the same three APIs (the demo fleet and the
/// tests use it).
#[derive(Debug)]
pub struct Connection {
    stream: TcpStream,
    client_id: String,
    next_correlation: i32,
}

impl Connection {
    /// Connects to `addr` as `client_id`.
    pub async fn connect(addr: SocketAddr, client_id: &str) -> Result<Self, NetError> {
        let stream = TcpStream::connect(addr).await?;
        let _ = stream.set_nodelay(true);
        Ok(Self {
            stream,
            client_id: client_id.to_owned(),
            next_correlation: 1,
        })
    }

    fn header(&mut self, api_key: i16, version: i16) -> RequestHeader {
        let correlation_id = self.next_correlation;
        self.next_correlation = self.next_correlation.wrapping_add(1);
        RequestHeader {
            request_api_key: api_key,
            request_api_version: version,
            correlation_id,
            client_id: Some(self.client_id.clone()),
        }
    }

    async fn round_trip(&mut self, request: &[u8]) -> Result<Vec<u8>, NetError> {
        self.stream.write_all(request).await?;
        read_frame(&mut self.stream)
            .await?
            .ok_or_else(|| NetError::Io(std::io::ErrorKind::UnexpectedEof.into()))
    }

    fn check(expected: i32, got: i32) -> Result<(), NetError> {
        if expected == got {
            Ok(())
        } else {
            Err(NetError::Correlation { expected, got })
        }
    }

    /// ApiVersions at `version` (0–3).
    pub async fn api_versions(&mut self, version: i16) -> Result<ApiVersionsResponse, NetError> {
        let header = self.header(api_versions::API_KEY, version);
        let mut frame = Vec::new();
        header.write(if version >= 3 { 2 } else { 1 }, &mut frame);
        ApiVersionsRequest {
            client_software_name: "streams-coordinator-sim".into(),
            client_software_version: env!("CARGO_PKG_VERSION").into(),
        }
        .encode(version, &mut frame)?;
        let reply = self.round_trip(&put_size_prefixed(&frame)?).await?;
        let mut r = Reader::new(&reply);
        let correlation = r.i32()?;
        Self::check(header.correlation_id, correlation)?;
        let mut body = r.rest();
        Ok(ApiVersionsResponse::decode(&mut body, version)?)
    }

    /// StreamsGroupHeartbeat at `version`.
    pub async fn heartbeat(
        &mut self,
        version: i16,
        request: &StreamsGroupHeartbeatRequest,
    ) -> Result<StreamsGroupHeartbeatResponse, NetError> {
        self.call(STREAMS_GROUP_HEARTBEAT_API_KEY, version, request)
            .await
    }

    /// StreamsGroupDescribe at `version`.
    pub async fn describe(
        &mut self,
        version: i16,
        request: &StreamsGroupDescribeRequest,
    ) -> Result<StreamsGroupDescribeResponse, NetError> {
        self.call(STREAMS_GROUP_DESCRIBE_API_KEY, version, request)
            .await
    }

    /// One request/response round trip of a flexible API (request header v2,
    /// response header v1).
    async fn call<Req: Message, Resp: Message>(
        &mut self,
        api_key: i16,
        version: i16,
        request: &Req,
    ) -> Result<Resp, NetError> {
        let header = self.header(api_key, version);
        let mut frame = Vec::new();
        encode_request_frame(&header, request, &mut frame)?;
        let reply = self.round_trip(&frame).await?;
        let (correlation, resp) = decode_response_frame(&reply, version)?;
        Self::check(header.correlation_id, correlation)?;
        Ok(resp)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn frames_are_bounded_and_checked() {
        let mut ok: &[u8] = &[0, 0, 0, 2, 7, 8, 0, 0];
        assert_eq!(read_frame(&mut ok).await.unwrap(), Some(vec![7, 8]));
        let mut empty: &[u8] = &[];
        assert_eq!(read_frame(&mut empty).await.unwrap(), None);
        let mut negative: &[u8] = &[0xff, 0xff, 0xff, 0xfe];
        assert!(matches!(
            read_frame(&mut negative).await,
            Err(NetError::FrameSize(-2))
        ));
        let mut huge: &[u8] = &[0x7f, 0, 0, 0];
        assert!(matches!(
            read_frame(&mut huge).await,
            Err(NetError::FrameSize(_))
        ));
        // A large claimed size with few bytes behind it is a short read, not
        // an allocation of the claimed size.
        let mut short: &[u8] = &[0x05, 0, 0, 0, 1, 2, 3];
        assert!(matches!(read_frame(&mut short).await, Err(NetError::Io(_))));
    }

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
