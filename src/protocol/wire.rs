//! Kafka wire primitives (spec 01 §2): a bounds-checked [`Reader`] over a byte slice, the
//! matching writers over [`bytes::BufMut`], the size functions an encoder uses to validate a
//! message before writing it, and the typed errors of the codec.
//!
//! Internal to the crate: the message and record codecs are built from them. The errors
//! are public (re-exported by [`protocol`](super)), as the codec's entry points return them.
//!
//! Every read checks the remaining input before touching it and before allocating: a length
//! or count prefix larger than what is left in the input is an error, never an allocation.

use std::fmt;

use bytes::BufMut;

/// Longest string Kafka accepts in these messages, in UTF-8 bytes (`0x7fff`).
pub(crate) const MAX_STRING_LEN: usize = 0x7fff;

/// Cuts a human-readable text (an error message or a status detail) to at most
/// [`MAX_STRING_LEN`] bytes, at a character boundary, so that it encodes. Such texts may quote
/// ids and topic names of up to that length each; a response carrying one that is too long
/// could not be sent at all. A text within the limit is left as it is.
pub(crate) fn truncate_text(text: &mut String) {
    if text.len() > MAX_STRING_LEN {
        let mut end = MAX_STRING_LEN;
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        text.truncate(end);
    }
}

/// What went wrong while decoding.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum DecodeErrorKind {
    /// The input ended: `needed` more bytes were required, `remaining` were left.
    UnexpectedEof {
        /// Bytes the field needed.
        needed: usize,
        /// Bytes that were left.
        remaining: usize,
    },
    /// An unsigned varint ran over 5 bytes.
    VarintTooLong,
    /// A string length prefix is negative (where null is not allowed) or above 32767.
    InvalidStringLength(i64),
    /// A string is not valid UTF-8.
    InvalidUtf8,
    /// A non-nullable field was encoded as null.
    UnexpectedNull,
    /// A collection count cannot fit in the remaining input (Kafka: "Tried to allocate a
    /// collection of size …").
    CollectionTooLarge {
        /// The decoded element count.
        count: usize,
        /// The bytes left in the input.
        remaining: usize,
    },
    /// A known tagged field's value did not use exactly its declared size.
    TaggedFieldSizeMismatch {
        /// The tag.
        tag: u32,
        /// The declared size.
        size: usize,
    },
    /// The message version is not one this codec knows.
    UnsupportedVersion(i16),
    /// Bytes were left after the message.
    TrailingBytes(usize),
    /// A record key's type is not one of the streams-group record types (17, 19–23).
    /// Kafka's loader logs and skips such a record.
    UnknownRecordType(i16),
    /// A value that must be one of a few constants was not (record type, value version,
    /// frame size, API key).
    InvalidValue(String),
}

impl fmt::Display for DecodeErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DecodeErrorKind::UnexpectedEof { needed, remaining } => write!(
                f,
                "input ended: needed {needed} more byte(s), {remaining} left"
            ),
            DecodeErrorKind::VarintTooLong => f.write_str("varint is too long"),
            DecodeErrorKind::InvalidStringLength(n) => write!(f, "invalid string length {n}"),
            DecodeErrorKind::InvalidUtf8 => f.write_str("string is not valid UTF-8"),
            DecodeErrorKind::UnexpectedNull => f.write_str("null in a non-nullable field"),
            DecodeErrorKind::CollectionTooLarge { count, remaining } => write!(
                f,
                "collection of {count} element(s) cannot fit in the {remaining} byte(s) left"
            ),
            DecodeErrorKind::TaggedFieldSizeMismatch { tag, size } => {
                write!(
                    f,
                    "tagged field {tag} does not fill its declared {size} byte(s)"
                )
            }
            DecodeErrorKind::UnsupportedVersion(v) => write!(f, "unsupported version {v}"),
            DecodeErrorKind::TrailingBytes(n) => write!(f, "{n} byte(s) left after the message"),
            DecodeErrorKind::UnknownRecordType(t) => write!(
                f,
                "record type {t} is not a streams-group record (17, 19-23)"
            ),
            DecodeErrorKind::InvalidValue(s) => f.write_str(s),
        }
    }
}

/// A decoding error: what went wrong, at which byte offset, inside which field.
///
/// Boxed so that the `Result`s of the decoder's hot path stay two words wide.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct DecodeError(Box<DecodeErrorInner>);

#[derive(Debug, Clone, PartialEq, Eq)]
struct DecodeErrorInner {
    kind: DecodeErrorKind,
    offset: usize,
    /// Field path, innermost first.
    path: Vec<&'static str>,
}

impl DecodeError {
    /// A new error at `offset`.
    #[cold]
    pub(crate) fn new(kind: DecodeErrorKind, offset: usize) -> Self {
        DecodeError(Box::new(DecodeErrorInner {
            kind,
            offset,
            path: Vec::new(),
        }))
    }

    /// What went wrong.
    pub fn kind(&self) -> &DecodeErrorKind {
        &self.0.kind
    }

    /// Byte offset in the decoded input where it went wrong.
    pub fn offset(&self) -> usize {
        self.0.offset
    }

    /// Adds an enclosing field (or message) name to the error's path.
    #[cold]
    pub(crate) fn at(mut self, field: &'static str) -> Self {
        self.0.path.push(field);
        self
    }

    /// Moves the offset by `by` bytes (for an error in a body decoded after a prefix).
    pub(crate) fn shifted(mut self, by: usize) -> Self {
        self.0.offset += by;
        self
    }

    /// The field path, outermost first, joined with `.` (e.g.
    /// `StreamsGroupHeartbeatRequest.topology.subtopologies.sourceTopics`).
    pub fn path(&self) -> String {
        let mut parts: Vec<&str> = self.0.path.clone();
        parts.reverse();
        parts.join(".")
    }
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.path.is_empty() {
            write!(f, "decode error at byte {}: {}", self.0.offset, self.0.kind)
        } else {
            write!(
                f,
                "decode error in {} at byte {}: {}",
                self.path(),
                self.0.offset,
                self.0.kind
            )
        }
    }
}

/// An encoding error. Encoding validates the whole message before writing a byte, so on
/// error nothing has been written.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EncodeError {
    /// The message has no such version.
    #[error("{message} has no version {version}")]
    UnsupportedVersion {
        /// The message name.
        message: &'static str,
        /// The requested version.
        version: i16,
    },
    /// A field the target version lacks holds a non-default value and is not ignorable
    /// (Kafka: "Attempted to write a non-default X at version v").
    #[error("attempted to write a non-default {field} at version {version}")]
    NonDefaultField {
        /// The field path, e.g. `StreamsGroupHeartbeatResponse.topologyDescriptionRequired`.
        field: String,
        /// The target version.
        version: i16,
    },
    /// A string is longer than 32767 UTF-8 bytes.
    #[error("{field}: string of {len} bytes is longer than 32767")]
    StringTooLong {
        /// The field path.
        field: String,
        /// Its UTF-8 length.
        len: usize,
    },
    /// A collection is too long for its length prefix.
    #[error("{field}: collection of {len} elements is too long")]
    CollectionTooLong {
        /// The field path.
        field: String,
        /// Its length.
        len: usize,
    },
    /// The output buffer cannot hold the encoded message.
    #[error("output buffer too small: {needed} byte(s) needed, {remaining} available")]
    BufferTooSmall {
        /// Bytes needed.
        needed: usize,
        /// Bytes available.
        remaining: usize,
    },
}

impl EncodeError {
    /// Prefixes the field path of a field-level error with an enclosing field name.
    pub(crate) fn at(self, outer: &'static str) -> Self {
        fn join(outer: &str, inner: String) -> String {
            if inner.is_empty() {
                outer.to_string()
            } else {
                format!("{outer}.{inner}")
            }
        }
        match self {
            EncodeError::NonDefaultField { field, version } => EncodeError::NonDefaultField {
                field: join(outer, field),
                version,
            },
            EncodeError::StringTooLong { field, len } => EncodeError::StringTooLong {
                field: join(outer, field),
                len,
            },
            EncodeError::CollectionTooLong { field, len } => EncodeError::CollectionTooLong {
                field: join(outer, field),
                len,
            },
            other => other,
        }
    }
}

/// A bounds-checked reader over a byte slice.
#[derive(Debug, Clone)]
#[allow(unreachable_pub)] // sealed, as `Wire`, whose methods take it
pub struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    /// A reader at the start of `buf`.
    pub(crate) fn new(buf: &'a [u8]) -> Self {
        Reader { buf, pos: 0 }
    }

    /// Bytes consumed so far.
    pub(crate) fn position(&self) -> usize {
        self.pos
    }

    /// Bytes left.
    pub(crate) fn remaining(&self) -> usize {
        self.buf.len().saturating_sub(self.pos)
    }

    /// The unread rest of the input.
    pub(crate) fn rest(&self) -> &'a [u8] {
        self.buf.get(self.pos..).unwrap_or(&[])
    }

    /// An error of `kind` at the current position.
    pub(crate) fn error(&self, kind: DecodeErrorKind) -> DecodeError {
        DecodeError::new(kind, self.pos)
    }

    /// Takes the next `n` bytes.
    pub(crate) fn bytes(&mut self, n: usize) -> Result<&'a [u8], DecodeError> {
        let end = self.pos.checked_add(n);
        match end.and_then(|end| self.buf.get(self.pos..end)) {
            Some(s) => {
                self.pos += n;
                Ok(s)
            }
            None => Err(self.error(DecodeErrorKind::UnexpectedEof {
                needed: n,
                remaining: self.remaining(),
            })),
        }
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N], DecodeError> {
        let s = self.bytes(N)?;
        let mut a = [0u8; N];
        a.copy_from_slice(s);
        Ok(a)
    }

    /// `int8`.
    pub(crate) fn i8(&mut self) -> Result<i8, DecodeError> {
        Ok(i8::from_be_bytes(self.array()?))
    }

    /// `int16`, big-endian.
    pub(crate) fn i16(&mut self) -> Result<i16, DecodeError> {
        Ok(i16::from_be_bytes(self.array()?))
    }

    /// `uint16`, big-endian.
    pub(crate) fn u16(&mut self) -> Result<u16, DecodeError> {
        Ok(u16::from_be_bytes(self.array()?))
    }

    /// `int32`, big-endian.
    pub(crate) fn i32(&mut self) -> Result<i32, DecodeError> {
        Ok(i32::from_be_bytes(self.array()?))
    }

    /// `int64`, big-endian.
    pub(crate) fn i64(&mut self) -> Result<i64, DecodeError> {
        Ok(i64::from_be_bytes(self.array()?))
    }

    /// `bool`: any non-zero byte is true.
    pub(crate) fn bool(&mut self) -> Result<bool, DecodeError> {
        Ok(self.i8()? != 0)
    }

    /// Unsigned varint (at most 5 bytes, 32 bits).
    pub(crate) fn uvarint(&mut self) -> Result<u32, DecodeError> {
        let start = self.pos;
        let mut value: u32 = 0;
        for i in 0..5 {
            let [b] = self.array::<1>()?;
            value |= ((b & 0x7f) as u32) << (7 * i);
            if b & 0x80 == 0 {
                return Ok(value);
            }
        }
        Err(DecodeError::new(DecodeErrorKind::VarintTooLong, start))
    }

    fn utf8(&mut self, len: usize) -> Result<String, DecodeError> {
        let start = self.pos;
        let bytes = self.bytes(len)?;
        match std::str::from_utf8(bytes) {
            Ok(s) => Ok(s.to_owned()),
            Err(_) => Err(DecodeError::new(DecodeErrorKind::InvalidUtf8, start)),
        }
    }

    /// Compact nullable string: `uvarint(N+1)` then N bytes; `0` is null.
    pub(crate) fn compact_nullable_string(&mut self) -> Result<Option<String>, DecodeError> {
        let start = self.pos;
        let n = self.uvarint()?;
        if n == 0 {
            return Ok(None);
        }
        let len = (n - 1) as usize;
        if len > MAX_STRING_LEN {
            return Err(DecodeError::new(
                DecodeErrorKind::InvalidStringLength(len as i64),
                start,
            ));
        }
        self.utf8(len).map(Some)
    }

    /// Compact (non-nullable) string.
    pub(crate) fn compact_string(&mut self) -> Result<String, DecodeError> {
        let start = self.pos;
        self.compact_nullable_string()?
            .ok_or_else(|| DecodeError::new(DecodeErrorKind::UnexpectedNull, start))
    }

    /// Legacy nullable string: `int16` length then bytes; `-1` is null.
    pub(crate) fn legacy_nullable_string(&mut self) -> Result<Option<String>, DecodeError> {
        let start = self.pos;
        let n = self.i16()?;
        if n < 0 {
            if n == -1 {
                return Ok(None);
            }
            return Err(DecodeError::new(
                DecodeErrorKind::InvalidStringLength(n as i64),
                start,
            ));
        }
        self.utf8(n as usize).map(Some)
    }

    /// Legacy (non-nullable) string.
    pub(crate) fn legacy_string(&mut self) -> Result<String, DecodeError> {
        let start = self.pos;
        self.legacy_nullable_string()?
            .ok_or_else(|| DecodeError::new(DecodeErrorKind::UnexpectedNull, start))
    }

    /// Compact nullable array length: `None` for null. The count is checked against the
    /// remaining input assuming each element takes at least `min_element_size` bytes.
    pub(crate) fn compact_array_len(
        &mut self,
        min_element_size: usize,
    ) -> Result<Option<usize>, DecodeError> {
        let start = self.pos;
        let n = self.uvarint()?;
        if n == 0 {
            return Ok(None);
        }
        let count = (n - 1) as usize;
        let remaining = self.remaining();
        if count.saturating_mul(min_element_size.max(1)) > remaining {
            return Err(DecodeError::new(
                DecodeErrorKind::CollectionTooLarge { count, remaining },
                start,
            ));
        }
        Ok(Some(count))
    }

    /// Nullable struct marker (spec 01 §2.5): a negative byte is null, otherwise present.
    pub(crate) fn struct_marker(&mut self) -> Result<bool, DecodeError> {
        Ok(self.i8()? >= 0)
    }

    /// Reads a tagged-field section, passing each field to `known(tag, value_reader)`; a
    /// field for which it returns `Ok(false)` is skipped as unknown. A known field must
    /// consume exactly its declared size.
    pub(crate) fn tagged_fields(
        &mut self,
        mut known: impl FnMut(u32, &mut Reader<'a>) -> Result<bool, DecodeError>,
    ) -> Result<(), DecodeError> {
        let count = self.uvarint()?;
        for _ in 0..count {
            let tag = self.uvarint()?;
            let size = self.uvarint()? as usize;
            let base = self.pos;
            let value = self.bytes(size)?;
            let mut sub = Reader {
                buf: self.buf.get(..base + size).unwrap_or(value),
                pos: base,
            };
            if known(tag, &mut sub)? && sub.remaining() != 0 {
                return Err(DecodeError::new(
                    DecodeErrorKind::TaggedFieldSizeMismatch { tag, size },
                    base,
                ));
            }
        }
        Ok(())
    }

    /// Skips a tagged-field section whose tags are all unknown.
    pub(crate) fn skip_tagged_fields(&mut self) -> Result<(), DecodeError> {
        self.tagged_fields(|_, _| Ok(false))
    }
}

/// Size of `v` as an unsigned varint.
pub(crate) fn uvarint_size(v: u32) -> usize {
    match v {
        0..=0x7f => 1,
        0x80..=0x3fff => 2,
        0x4000..=0x1f_ffff => 3,
        0x20_0000..=0x0fff_ffff => 4,
        _ => 5,
    }
}

/// Writes an unsigned varint (shortest form).
pub(crate) fn put_uvarint(buf: &mut impl BufMut, mut v: u32) {
    while v >= 0x80 {
        buf.put_u8((v as u8 & 0x7f) | 0x80);
        v >>= 7;
    }
    buf.put_u8(v as u8);
}

/// Checks a string's length for encoding and returns its compact encoded size.
pub(crate) fn compact_string_size(s: &str) -> Result<usize, EncodeError> {
    let len = s.len();
    if len > MAX_STRING_LEN {
        return Err(EncodeError::StringTooLong {
            field: String::new(),
            len,
        });
    }
    Ok(uvarint_size(len as u32 + 1) + len)
}

/// Compact nullable string size (null is 1 byte).
pub(crate) fn compact_nullable_string_size(s: Option<&str>) -> Result<usize, EncodeError> {
    s.map_or(Ok(1), compact_string_size)
}

/// Writes a compact string (length already validated by [`compact_string_size`]).
pub(crate) fn put_compact_string(buf: &mut impl BufMut, s: &str) {
    put_uvarint(buf, s.len() as u32 + 1);
    buf.put_slice(s.as_bytes());
}

/// Writes a compact nullable string.
pub(crate) fn put_compact_nullable_string(buf: &mut impl BufMut, s: Option<&str>) {
    match s {
        Some(s) => put_compact_string(buf, s),
        None => buf.put_u8(0),
    }
}

/// Checks a string for the legacy (int16-length) encoding and returns its size.
pub(crate) fn legacy_string_size(s: &str) -> Result<usize, EncodeError> {
    let len = s.len();
    if len > MAX_STRING_LEN {
        return Err(EncodeError::StringTooLong {
            field: String::new(),
            len,
        });
    }
    Ok(2 + len)
}

/// Writes a legacy nullable string (`int16` length, `-1` for null).
pub(crate) fn put_legacy_nullable_string(buf: &mut impl BufMut, s: Option<&str>) {
    match s {
        Some(s) => {
            buf.put_i16(s.len() as i16);
            buf.put_slice(s.as_bytes());
        }
        None => buf.put_i16(-1),
    }
}

/// Size of a compact array length prefix (`None` = null).
pub(crate) fn compact_array_len_size(len: Option<usize>) -> Result<usize, EncodeError> {
    match len {
        None => Ok(1),
        Some(n) if n < u32::MAX as usize && n < i32::MAX as usize => Ok(uvarint_size(n as u32 + 1)),
        Some(n) => Err(EncodeError::CollectionTooLong {
            field: String::new(),
            len: n,
        }),
    }
}

/// Writes a compact array length prefix (`None` = null).
pub(crate) fn put_compact_array_len(buf: &mut impl BufMut, len: Option<usize>) {
    match len {
        Some(n) => put_uvarint(buf, n as u32 + 1),
        None => buf.put_u8(0),
    }
}

/// A value with a fixed wire encoding in flexible versions: how the message codecs read,
/// size and write every field type. Implemented for the primitive field types, strings,
/// compact arrays and every struct of the messages and records.
///
/// A supertrait of the public [`Message`](super::Message), so `pub`, but sealed: this module
/// is private, so no one outside the crate can name it, implement it or call its methods.
#[allow(unreachable_pub)]
pub trait Wire: Sized {
    /// The fewest bytes one encoded value can take (bounds collection counts on decode).
    const MIN_SIZE: usize;
    /// Reads one value at `version`.
    fn read(r: &mut Reader<'_>, version: i16) -> Result<Self, DecodeError>;
    /// Validates the value for `version` and returns its encoded size.
    fn size(&self, version: i16) -> Result<usize, EncodeError>;
    /// Writes the value; call only after [`Wire::size`] succeeded for the same version.
    fn write<B: BufMut>(&self, version: i16, buf: &mut B);
    /// Reads `count` consecutive values (the elements of an array whose count was checked
    /// against the remaining input). Fixed-width integers override this with a bulk read.
    fn read_vec(r: &mut Reader<'_>, version: i16, count: usize) -> Result<Vec<Self>, DecodeError> {
        let mut out = Vec::with_capacity(count);
        for _ in 0..count {
            out.push(Self::read(r, version)?);
        }
        Ok(out)
    }
}

/// Marker for struct types, whose nullable form uses the 1-byte marker of spec 01 §2.5.
pub(crate) trait WireStruct: Wire {}

macro_rules! fixed_wire {
    ($t:ty, $n:expr, $read:ident, $put:ident) => {
        impl Wire for $t {
            const MIN_SIZE: usize = $n;
            #[inline]
            fn read(r: &mut Reader<'_>, _version: i16) -> Result<Self, DecodeError> {
                r.$read()
            }
            #[inline]
            fn size(&self, _version: i16) -> Result<usize, EncodeError> {
                Ok($n)
            }
            #[inline]
            fn write<B: BufMut>(&self, _version: i16, buf: &mut B) {
                buf.$put(*self)
            }
            fn read_vec(
                r: &mut Reader<'_>,
                _version: i16,
                count: usize,
            ) -> Result<Vec<Self>, DecodeError> {
                let bytes = r.bytes(count.saturating_mul($n))?;
                Ok(bytes
                    .chunks_exact($n)
                    .map(|c| <$t>::from_be_bytes(c.try_into().unwrap_or([0; $n])))
                    .collect())
            }
        }
    };
}

fixed_wire!(i8, 1, i8, put_i8);
fixed_wire!(i16, 2, i16, put_i16);
fixed_wire!(u16, 2, u16, put_u16);
fixed_wire!(i32, 4, i32, put_i32);
fixed_wire!(i64, 8, i64, put_i64);

impl Wire for bool {
    const MIN_SIZE: usize = 1;
    fn read(r: &mut Reader<'_>, _version: i16) -> Result<Self, DecodeError> {
        r.bool()
    }
    fn size(&self, _version: i16) -> Result<usize, EncodeError> {
        Ok(1)
    }
    fn write<B: BufMut>(&self, _version: i16, buf: &mut B) {
        buf.put_u8(u8::from(*self))
    }
}

impl Wire for String {
    const MIN_SIZE: usize = 1;
    fn read(r: &mut Reader<'_>, _version: i16) -> Result<Self, DecodeError> {
        r.compact_string()
    }
    fn size(&self, _version: i16) -> Result<usize, EncodeError> {
        compact_string_size(self)
    }
    fn write<B: BufMut>(&self, _version: i16, buf: &mut B) {
        put_compact_string(buf, self)
    }
}

impl Wire for Option<String> {
    const MIN_SIZE: usize = 1;
    fn read(r: &mut Reader<'_>, _version: i16) -> Result<Self, DecodeError> {
        r.compact_nullable_string()
    }
    fn size(&self, _version: i16) -> Result<usize, EncodeError> {
        compact_nullable_string_size(self.as_deref())
    }
    fn write<B: BufMut>(&self, _version: i16, buf: &mut B) {
        put_compact_nullable_string(buf, self.as_deref())
    }
}

fn read_elements<T: Wire>(
    r: &mut Reader<'_>,
    version: i16,
    count: usize,
) -> Result<Vec<T>, DecodeError> {
    T::read_vec(r, version, count)
}

fn elements_size<T: Wire>(items: &[T], version: i16) -> Result<usize, EncodeError> {
    let mut total = compact_array_len_size(Some(items.len()))?;
    for item in items {
        total += item.size(version)?;
    }
    Ok(total)
}

impl<T: Wire> Wire for Vec<T> {
    const MIN_SIZE: usize = 1;
    fn read(r: &mut Reader<'_>, version: i16) -> Result<Self, DecodeError> {
        let start = r.position();
        match r.compact_array_len(T::MIN_SIZE)? {
            Some(count) => read_elements(r, version, count),
            None => Err(DecodeError::new(DecodeErrorKind::UnexpectedNull, start)),
        }
    }
    fn size(&self, version: i16) -> Result<usize, EncodeError> {
        elements_size(self, version)
    }
    fn write<B: BufMut>(&self, version: i16, buf: &mut B) {
        put_compact_array_len(buf, Some(self.len()));
        for item in self {
            item.write(version, buf);
        }
    }
}

impl<T: Wire> Wire for Option<Vec<T>> {
    const MIN_SIZE: usize = 1;
    fn read(r: &mut Reader<'_>, version: i16) -> Result<Self, DecodeError> {
        match r.compact_array_len(T::MIN_SIZE)? {
            Some(count) => read_elements(r, version, count).map(Some),
            None => Ok(None),
        }
    }
    fn size(&self, version: i16) -> Result<usize, EncodeError> {
        match self {
            Some(items) => elements_size(items, version),
            None => Ok(1),
        }
    }
    fn write<B: BufMut>(&self, version: i16, buf: &mut B) {
        match self {
            Some(items) => items.write(version, buf),
            None => buf.put_u8(0),
        }
    }
}

impl<T: WireStruct> Wire for Option<T> {
    const MIN_SIZE: usize = 1;
    fn read(r: &mut Reader<'_>, version: i16) -> Result<Self, DecodeError> {
        if r.struct_marker()? {
            T::read(r, version).map(Some)
        } else {
            Ok(None)
        }
    }
    fn size(&self, version: i16) -> Result<usize, EncodeError> {
        match self {
            Some(v) => Ok(1 + v.size(version)?),
            None => Ok(1),
        }
    }
    fn write<B: BufMut>(&self, version: i16, buf: &mut B) {
        match self {
            Some(v) => {
                buf.put_i8(1);
                v.write(version, buf);
            }
            None => buf.put_i8(-1),
        }
    }
}

/// Implements [`Wire`] for a struct whose fields are all present in every version, in
/// declaration order, followed by an empty tagged-field section (unknown tags skipped).
macro_rules! wire_struct {
    ($ty:ty { $($field:ident : $fty:ty = $json:literal),* $(,)? }) => {
        impl $crate::protocol::wire::Wire for $ty {
            const MIN_SIZE: usize =
                1 $(+ <$fty as $crate::protocol::wire::Wire>::MIN_SIZE)*;
            fn read(
                r: &mut $crate::protocol::wire::Reader<'_>,
                version: i16,
            ) -> Result<Self, $crate::protocol::wire::DecodeError> {
                let value = Self {
                    $($field: <$fty as $crate::protocol::wire::Wire>::read(r, version)
                        .map_err(|e| e.at($json))?,)*
                };
                r.skip_tagged_fields()?;
                Ok(value)
            }
            fn size(&self, version: i16) -> Result<usize, $crate::protocol::wire::EncodeError> {
                let mut total = 1;
                $(total += $crate::protocol::wire::Wire::size(&self.$field, version)
                    .map_err(|e| e.at($json))?;)*
                Ok(total)
            }
            fn write<B: bytes::BufMut>(&self, version: i16, buf: &mut B) {
                $($crate::protocol::wire::Wire::write(&self.$field, version, buf);)*
                buf.put_u8(0);
            }
        }
        impl $crate::protocol::wire::WireStruct for $ty {}
    };
}

pub(crate) use wire_struct;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn truncate_text_cuts_at_the_string_limit_on_a_char_boundary() {
        // 'é' is two bytes: the limit (odd) falls inside one, so the cut moves back a byte.
        let mut text = "é".repeat(MAX_STRING_LEN);
        truncate_text(&mut text);
        assert_eq!(text.len(), MAX_STRING_LEN - 1);
        assert!(text.chars().all(|c| c == 'é'));
        let mut short = "Group g not found.".to_string();
        truncate_text(&mut short);
        assert_eq!(short, "Group g not found.");
    }

    #[test]
    fn varints_match_spec_examples() {
        for (v, hex) in [
            (0u32, &[0x00u8][..]),
            (1, &[0x01]),
            (127, &[0x7f]),
            (128, &[0x80, 0x01]),
            (300, &[0xac, 0x02]),
            (16384, &[0x80, 0x80, 0x01]),
            (u32::MAX, &[0xff, 0xff, 0xff, 0xff, 0x0f]),
        ] {
            let mut out = Vec::new();
            put_uvarint(&mut out, v);
            assert_eq!(out, hex);
            assert_eq!(uvarint_size(v), hex.len());
            assert_eq!(Reader::new(hex).uvarint(), Ok(v));
        }
        let err = Reader::new(&[0x80, 0x80, 0x80, 0x80, 0x80, 0x01]).uvarint();
        assert_eq!(
            err.map_err(|e| e.kind().clone()),
            Err(DecodeErrorKind::VarintTooLong)
        );
    }

    #[test]
    fn huge_counts_are_errors_not_allocations() {
        // count 2^31 in a 20-byte buffer
        let mut input = Vec::new();
        put_uvarint(&mut input, 1 << 31);
        input.resize(20, 0);
        let r = <Vec<i32> as Wire>::read(&mut Reader::new(&input), 0);
        assert!(matches!(
            r.map_err(|e| e.kind().clone()),
            Err(DecodeErrorKind::CollectionTooLarge { .. })
        ));
        let r = Reader::new(&[0xff, 0xff, 0x07, 0x61]).compact_string();
        assert!(r.is_err());
    }

    #[test]
    fn strings_and_nulls() {
        assert_eq!(Reader::new(&[0x00]).compact_nullable_string(), Ok(None));
        assert_eq!(
            Reader::new(&[0x01]).compact_nullable_string(),
            Ok(Some(String::new()))
        );
        assert!(Reader::new(&[0x00]).compact_string().is_err());
        assert_eq!(
            Reader::new(&[0xff, 0xff]).legacy_nullable_string(),
            Ok(None)
        );
        assert!(Reader::new(&[0x02, 0xff]).compact_string().is_err());
        let long = "x".repeat(MAX_STRING_LEN + 1);
        assert!(compact_string_size(&long).is_err());
    }
}
