//! One client connection: Kafka framing, requests answered in order, one at a
//! time (as Kafka does per connection); reads and writes buffered, so that
//! pipelined requests cost a syscall per batch, not per request, and a
//! request already whole in the read buffer is answered from there (no copy).

use std::borrow::Cow;
use std::collections::HashSet;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use harness::net::read_frame;
use kafka_protocol::messages::ApiKey;
use kafka_protocol::protocol::decode_request_header_from_buffer;
use streams_coordinator::interop::kafka_protocol as glue;
use streams_coordinator::protocol::{
    STREAMS_GROUP_DESCRIBE_API_KEY, STREAMS_GROUP_HEARTBEAT_API_KEY,
};
use streams_coordinator::service::net::ANONYMOUS;
use streams_coordinator::service::ClientContext;
use tokio::io::{AsyncBufRead, AsyncWriteExt, BufReader, BufWriter};
use tokio::net::{TcpListener, TcpStream};

use crate::api::{self, ApiError, Node};

/// Distinct (client id, API key, version) triples logged so far, bounded.
#[derive(Default)]
pub struct FirstUse(Mutex<HashSet<(String, i16, i16)>>);

const FIRST_USE_LIMIT: usize = 10_000;

impl FirstUse {
    fn first(&self, client_id: &str, key: i16, version: i16) -> bool {
        let mut seen = self.0.lock().unwrap_or_else(|p| p.into_inner());
        seen.len() < FIRST_USE_LIMIT && seen.insert((client_id.to_owned(), key, version))
    }
}

/// What one connection has logged through [`FirstUse`] already: the (API
/// key, version) pairs of its current client id, so that only a new pair
/// takes the shared lock.
#[derive(Default)]
struct SeenHere {
    client_id: String,
    pairs: Vec<(i16, i16)>,
}

impl SeenHere {
    fn first(&mut self, shared: &FirstUse, p: &Peek<'_>) -> bool {
        if self.client_id != *p.client_id {
            self.client_id = p.client_id.clone().into_owned();
            self.pairs.clear();
        }
        if self.pairs.contains(&(p.key, p.version)) {
            return false;
        }
        self.pairs.push((p.key, p.version));
        shared.first(&p.client_id, p.key, p.version)
    }
}

/// The fixed start of every request header (v1 and v2).
struct Peek<'a> {
    key: i16,
    version: i16,
    correlation_id: i32,
    client_id: Cow<'a, str>,
}

impl Peek<'_> {
    /// Who sent the request, for the APIs that ask.
    fn client(&self, host: &str) -> ClientContext {
        ClientContext {
            principal: ANONYMOUS.into(),
            client_id: self.client_id.clone().into_owned(),
            client_host: host.to_owned(),
            api_version: self.version,
        }
    }
}

fn peek(frame: &[u8]) -> Option<Peek<'_>> {
    let i16_at = |at: usize| {
        frame
            .get(at..at + 2)
            .map(|b| i16::from_be_bytes([b[0], b[1]]))
    };
    let key = i16_at(0)?;
    let version = i16_at(2)?;
    let correlation_id = i32::from_be_bytes(frame.get(4..8)?.try_into().ok()?);
    let len = i16_at(8).unwrap_or(-1);
    let client_id = usize::try_from(len)
        .ok()
        .and_then(|n| frame.get(10..10 + n))
        .map(String::from_utf8_lossy)
        .unwrap_or_default();
    Some(Peek {
        key,
        version,
        correlation_id,
        client_id,
    })
}

/// The API's name as Kafka spells it.
pub fn api_name(key: i16) -> String {
    match key {
        STREAMS_GROUP_HEARTBEAT_API_KEY => "StreamsGroupHeartbeat".into(),
        STREAMS_GROUP_DESCRIBE_API_KEY => "StreamsGroupDescribe".into(),
        k => ApiKey::try_from(k).map_or_else(|_| "Unknown".into(), |k| format!("{k:?}")),
    }
}

/// Accepts connections for `node` until the listener fails.
pub async fn serve(node: Arc<Node>, listener: TcpListener, first_use: Arc<FirstUse>) {
    loop {
        match listener.accept().await {
            Ok((stream, peer)) => {
                let _ = stream.set_nodelay(true);
                tokio::spawn(connection(node.clone(), stream, peer, first_use.clone()));
            }
            Err(e) => {
                tracing::warn!(node = node.id, error = %e, "accept failed");
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            }
        }
    }
}

/// Read and write buffer of a connection: a client that pipelines requests
/// has many read by one syscall, and their replies leave in one write.
const IO_BUFFER: usize = 64 * 1024;

/// The size of the size-prefixed frame `buffered` starts with, when it holds
/// the whole frame.
fn whole_frame(buffered: &[u8]) -> Option<usize> {
    let prefix: [u8; 4] = buffered.get(..4)?.try_into().ok()?;
    usize::try_from(i32::from_be_bytes(prefix))
        .ok()
        .filter(|size| buffered.len() - 4 >= *size)
}

async fn connection(
    node: Arc<Node>,
    stream: TcpStream,
    peer: SocketAddr,
    first_use: Arc<FirstUse>,
) {
    let host = peer.ip().to_string();
    tracing::info!(node = node.id, %peer, "connection opened");
    let (rd, wr) = stream.into_split();
    let mut rd = BufReader::with_capacity(IO_BUFFER, rd);
    let mut wr = BufWriter::with_capacity(IO_BUFFER, wr);
    let mut seen = SeenHere::default();
    let closed = loop {
        // Requests are answered one at a time, in order (as Kafka does per
        // connection); the replies wait in the write buffer while more
        // requests are already here, and go out before waiting for the next.
        let buffered = whole_frame(rd.buffer());
        if buffered.is_none() {
            if let Err(e) = wr.flush().await {
                break format!("write failed: {e}");
            }
        }
        // A frame whole in the read buffer is answered from there; one that
        // is not is read into its own buffer.
        let read;
        let frame: &[u8] = match buffered {
            Some(size) => &rd.buffer()[4..4 + size],
            None => match read_frame(&mut rd).await {
                Ok(Some(f)) => {
                    read = f;
                    &read
                }
                Ok(None) => break "closed by the client".to_string(),
                Err(e) => break format!("read failed: {e}"),
            },
        };
        let Some(p) = peek(frame) else {
            break format!(
                "a {}-byte frame is too short for a request header",
                frame.len()
            );
        };
        if p.key == ApiKey::Fetch as i16 {
            // A fetch may wait (long poll): what is answered goes out first.
            if let Err(e) = wr.flush().await {
                break format!("write failed: {e}");
            }
        }
        if seen.first(&first_use, &p) {
            tracing::info!(
                node = node.id,
                "{}({}) v{} from {}",
                api_name(p.key),
                p.key,
                p.version,
                p.client_id
            );
        }
        let answer = answer(&node, &host, &p, frame).await;
        let failed = match answer {
            Ok(Some(bytes)) => wr
                .write_all(&bytes)
                .await
                .err()
                .map(|e| format!("write failed: {e}")),
            Ok(None) => None,
            Err(e) => {
                // Kafka closes the connection on a request it cannot parse or
                // does not serve; so do we, but never silently.
                tracing::warn!(
                    node = node.id,
                    %peer,
                    client_id = %p.client_id,
                    api = %api_name(p.key),
                    api_key = p.key,
                    version = p.version,
                    error = %e,
                    "closing the connection: request not served"
                );
                Some(format!(
                    "{}({}) v{} not served",
                    api_name(p.key),
                    p.key,
                    p.version
                ))
            }
        };
        if let Some(size) = buffered {
            std::pin::Pin::new(&mut rd).consume(4 + size);
        }
        if let Some(reason) = failed {
            break reason;
        }
    };
    // The replies to the requests before the close still go out.
    let _ = wr.flush().await;
    tracing::info!(node = node.id, %peer, reason = %closed, "connection closed");
}

/// Answers one request frame as a connection of `client_id` would (tests).
#[cfg(test)]
pub async fn answer_frame(node: &Node, frame: Vec<u8>) -> Result<Option<Bytes>, ApiError> {
    let p = peek(&frame).ok_or_else(|| ApiError::Codec("short frame".into()))?;
    answer(node, "127.0.0.1", &p, &frame).await
}

async fn answer(
    node: &Node,
    host: &str,
    p: &Peek<'_>,
    frame: &[u8],
) -> Result<Option<Bytes>, ApiError> {
    if glue::is_streams_request(frame) {
        return glue::handle_streams_frame(&node.service, ANONYMOUS, host, frame)
            .await
            .map(|b| Some(Bytes::from(b)))
            .map_err(|e| ApiError::Codec(e.to_string()));
    }
    let key = ApiKey::try_from(p.key)
        .map_err(|_| ApiError::Unsupported(format!("unknown API key {}", p.key)))?;
    let Some((lo, hi)) = api::served(key) else {
        return Err(ApiError::Unsupported(format!(
            "{key:?} ({}) is not served",
            p.key
        )));
    };
    if !(lo..=hi).contains(&p.version) {
        if key == ApiKey::ApiVersions {
            return api::unsupported_api_versions(p.correlation_id).map(Some);
        }
        return Err(ApiError::Unsupported(format!(
            "{key:?} v{} is outside the served versions {lo}-{hi}",
            p.version
        )));
    }
    let mut body = Bytes::copy_from_slice(frame);
    let header = decode_request_header_from_buffer(&mut body)
        .map_err(|e| ApiError::Codec(format!("request header: {e}")))?;
    api::handle(node, &p.client(host), &header, body).await
}
