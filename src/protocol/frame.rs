//! Framing and headers (spec 01 §2.8): `int32 Size` followed by a header and a body.
//!
//! Requests of keys 88 and 89 use request header v2 (client id as a *legacy* nullable
//! string, then a tagged-field section); responses use response header v1 (correlation id,
//! tagged-field section). "Frame" below means header + body, without the size prefix; the
//! `encode_*_frame` functions write the size prefix too.

use bytes::BufMut;
use serde_json::{json, Value};

use super::describe::StreamsGroupDescribeRequest;
use super::heartbeat::StreamsGroupHeartbeatRequest;
use super::message::Message;
use super::wire::{
    legacy_string_size, put_legacy_nullable_string, DecodeError, DecodeErrorKind, EncodeError,
    Reader,
};

/// A request header (v1 or v2; keys 88 and 89 always use v2).
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct RequestHeader {
    /// The API key.
    pub request_api_key: i16,
    /// The API version of the body.
    pub request_api_version: i16,
    /// The correlation id, echoed in the response.
    pub correlation_id: i32,
    /// The client id (legacy nullable string even in header v2).
    pub client_id: Option<String>,
}

impl RequestHeader {
    /// Reads a request header of `header_version` 1 or 2 (2 adds a tagged-field section,
    /// whose tags are skipped).
    pub fn read(r: &mut Reader<'_>, header_version: i16) -> Result<Self, DecodeError> {
        let header = RequestHeader {
            request_api_key: r.i16().map_err(|e| e.at("requestApiKey"))?,
            request_api_version: r.i16().map_err(|e| e.at("requestApiVersion"))?,
            correlation_id: r.i32().map_err(|e| e.at("correlationId"))?,
            client_id: r.legacy_nullable_string().map_err(|e| e.at("clientId"))?,
        };
        if header_version >= 2 {
            r.skip_tagged_fields()?;
        }
        Ok(header)
    }

    /// Encoded size at `header_version` (1 or 2), validating the client id length.
    pub fn encoded_len(&self, header_version: i16) -> Result<usize, EncodeError> {
        let client = match &self.client_id {
            Some(s) => legacy_string_size(s).map_err(|e| e.at("clientId"))?,
            None => 2,
        };
        Ok(8 + client + usize::from(header_version >= 2))
    }

    /// Writes the header at `header_version` (1 or 2); validate with
    /// [`RequestHeader::encoded_len`] first.
    pub fn write<B: BufMut>(&self, header_version: i16, buf: &mut B) {
        buf.put_i16(self.request_api_key);
        buf.put_i16(self.request_api_version);
        buf.put_i32(self.correlation_id);
        put_legacy_nullable_string(buf, self.client_id.as_deref());
        if header_version >= 2 {
            buf.put_u8(0);
        }
    }

    /// The header's JSON form as Kafka's header converter prints it.
    pub fn to_json(&self) -> Value {
        json!({
            "requestApiKey": self.request_api_key,
            "requestApiVersion": self.request_api_version,
            "correlationId": self.correlation_id,
            "clientId": self.client_id,
        })
    }
}

/// A decoded request of key 88 or 89.
// Not boxed: a request is decoded once and moved into the coordinator; a box would only
// add an allocation per request.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StreamsRequest {
    /// StreamsGroupHeartbeat (88).
    Heartbeat(StreamsGroupHeartbeatRequest),
    /// StreamsGroupDescribe (89).
    Describe(StreamsGroupDescribeRequest),
}

/// Reads the API key and version at the start of a request frame without decoding it.
pub(crate) fn peek_request_api(frame: &[u8]) -> Result<(i16, i16), DecodeError> {
    let mut r = Reader::new(frame);
    Ok((r.i16()?, r.i16()?))
}

/// Decodes a request frame (header v2 + body, no size prefix) of key 88 or 89. Another API
/// key is an error; an unknown version is an error. As in Kafka's broker, bytes after the
/// body are ignored.
pub fn decode_request_frame(frame: &[u8]) -> Result<(RequestHeader, StreamsRequest), DecodeError> {
    let mut r = Reader::new(frame);
    let header = RequestHeader::read(&mut r, 2).map_err(|e| e.at("RequestHeader"))?;
    let start = r.position();
    let shift = |e: DecodeError| e.shifted(start);
    let body = r.rest();
    let v = header.request_api_version;
    let request = match header.request_api_key {
        StreamsGroupHeartbeatRequest::API_KEY => {
            StreamsRequest::Heartbeat(Message::decode_prefix(body, v).map_err(shift)?.0)
        }
        StreamsGroupDescribeRequest::API_KEY => {
            StreamsRequest::Describe(Message::decode_prefix(body, v).map_err(shift)?.0)
        }
        other => {
            return Err(DecodeError::new(
                DecodeErrorKind::InvalidValue(format!("API key {other} is not 88 or 89")),
                0,
            )
            .at("RequestHeader"))
        }
    };
    Ok((header, request))
}

/// Writes `int32 size`, request header v2 and `body` at `header.request_api_version`.
/// The header's API key must be `M::API_KEY`. Nothing is written on error.
pub fn encode_request_frame<M: Message, B: BufMut>(
    header: &RequestHeader,
    body: &M,
    buf: &mut B,
) -> Result<(), EncodeError> {
    if header.request_api_key != M::API_KEY {
        return Err(EncodeError::UnsupportedVersion {
            message: M::NAME,
            version: header.request_api_version,
        });
    }
    let size = header.encoded_len(2)? + body.encoded_len(header.request_api_version)?;
    write_frame(size, buf, |buf| {
        header.write(2, buf);
        body.write(header.request_api_version, buf);
    })
}

/// Writes `int32 size`, response header v1 (`correlation_id`) and `body` at `version`.
/// Nothing is written on error.
pub fn encode_response_frame<M: Message, B: BufMut>(
    correlation_id: i32,
    version: i16,
    body: &M,
    buf: &mut B,
) -> Result<(), EncodeError> {
    let size = 5 + body.encoded_len(version)?;
    write_frame(size, buf, |buf| {
        buf.put_i32(correlation_id);
        buf.put_u8(0);
        body.write(version, buf);
    })
}

fn write_frame<B: BufMut>(
    size: usize,
    buf: &mut B,
    write: impl FnOnce(&mut B),
) -> Result<(), EncodeError> {
    let Ok(size32) = i32::try_from(size) else {
        return Err(EncodeError::CollectionTooLong {
            field: "frame".to_string(),
            len: size,
        });
    };
    if buf.remaining_mut() < size + 4 {
        return Err(EncodeError::BufferTooSmall {
            needed: size + 4,
            remaining: buf.remaining_mut(),
        });
    }
    buf.put_i32(size32);
    write(buf);
    Ok(())
}

/// Decodes a response frame (header v1 + body, no size prefix) of message `M` at
/// `version`; returns the correlation id and the body. Bytes after the body are an error.
pub fn decode_response_frame<M: Message>(
    frame: &[u8],
    version: i16,
) -> Result<(i32, M), DecodeError> {
    let mut r = Reader::new(frame);
    let correlation_id = r
        .i32()
        .map_err(|e| e.at("correlationId").at("ResponseHeader"))?;
    r.skip_tagged_fields().map_err(|e| e.at("ResponseHeader"))?;
    let start = r.position();
    let body = M::decode(r.rest(), version).map_err(|e| e.shifted(start))?;
    Ok((correlation_id, body))
}

/// Finds the first size-prefixed frame in `input`. Returns `Ok(None)` when more bytes are
/// needed, else the frame (without its prefix) and the bytes consumed (prefix included).
/// A negative size or one above `max_frame_size` is an error (the connection should close).
pub fn split_frame(
    input: &[u8],
    max_frame_size: usize,
) -> Result<Option<(&[u8], usize)>, DecodeError> {
    let mut r = Reader::new(input);
    let Ok(size) = r.i32() else {
        return Ok(None);
    };
    if size < 0 || size as usize > max_frame_size {
        return Err(DecodeError::new(
            DecodeErrorKind::InvalidValue(format!(
                "frame size {size} outside 0..={max_frame_size}"
            )),
            0,
        ));
    }
    match r.bytes(size as usize) {
        Ok(frame) => Ok(Some((frame, 4 + size as usize))),
        Err(_) => Ok(None),
    }
}
