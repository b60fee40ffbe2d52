//! Kafka over TCP for demos and tests: a complete (plain-text,
//! unauthenticated) listener over [`Service`] and the matching client, for
//! the three APIs the service answers. A broker has its own network layer
//! and needs only [`streams_coordinator::service::net::handle_frame`].

use std::net::SocketAddr;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use streams_coordinator::protocol::api_versions::{self, ApiVersionsRequest, ApiVersionsResponse};
use streams_coordinator::protocol::frame::{
    decode_response_frame, encode_request_frame, RequestHeader,
};
use streams_coordinator::protocol::{
    Message, StreamsGroupDescribeRequest, StreamsGroupDescribeResponse,
    StreamsGroupHeartbeatRequest, StreamsGroupHeartbeatResponse, STREAMS_GROUP_DESCRIBE_API_KEY,
    STREAMS_GROUP_HEARTBEAT_API_KEY,
};
use streams_coordinator::service::net::{
    handle_frame, size_prefixed, NetError, ANONYMOUS, MAX_FRAME_BYTES,
};
use streams_coordinator::service::Service;

/// Buffer reserved up front for a frame; larger frames grow as bytes arrive.
const INITIAL_FRAME_CAPACITY: usize = 64 * 1024;

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
        let reply = self.round_trip(&size_prefixed(&frame)?).await?;
        // ApiVersions answers with response header v0: the correlation id only.
        let Some((correlation, mut body)) = reply.split_first_chunk::<4>() else {
            return Err(NetError::Io(std::io::ErrorKind::UnexpectedEof.into()));
        };
        Self::check(header.correlation_id, i32::from_be_bytes(*correlation))?;
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
}
