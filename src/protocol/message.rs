//! The [`Message`] trait: version-checked binary encode/decode and the version-aware JSON
//! form of every message and record key/value of this module.

use bytes::BufMut;
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::Value;

use super::wire::{DecodeError, DecodeErrorKind, EncodeError, Reader, Wire};

/// Errors from reading a message's JSON form.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum JsonError {
    /// The message has no such version.
    #[error("{message} has no version {version}")]
    UnsupportedVersion {
        /// The message name.
        message: &'static str,
        /// The requested version.
        version: i16,
    },
    /// The JSON has a field that exists in the message, but not at this version.
    #[error("{message}: field {field} does not exist in version {version}")]
    FieldNotInVersion {
        /// The message name.
        message: &'static str,
        /// The field path (e.g. `groups[1].assignorName`).
        field: String,
        /// The requested version.
        version: i16,
    },
    /// The JSON is not valid JSON, or does not fit the message (unknown field, wrong type,
    /// out-of-range number, null in a non-nullable field, ...).
    #[error("{message}: {source}")]
    Invalid {
        /// The message name.
        message: &'static str,
        /// The serde error (names the field and the position).
        source: serde_json::Error,
    },
}

/// A field that exists only in some versions of a message, for the version-aware JSON form.
#[derive(Debug, Clone, Copy)]
pub struct VersionedField {
    /// Path of the object holding the field, from the message root; `"*"` means every
    /// element of an array (e.g. `&["groups", "*"]` for `DescribedGroup` fields).
    pub within: &'static [&'static str],
    /// The JSON (lowerCamelCase) field name.
    pub field: &'static str,
    /// The lowest version that has the field.
    pub since: i16,
    /// The highest version that has the field, if it was removed.
    pub until: Option<i16>,
}

impl VersionedField {
    fn in_version(&self, version: i16) -> bool {
        version >= self.since && self.until.is_none_or(|u| version <= u)
    }
}

/// A message body (request, response, record key or record value) with its codec.
///
/// * Binary: [`Message::decode`] / [`Message::encode`] are byte-exact with Kafka at every
///   version the schema defines. Encoding validates the whole message first (fields the
///   version lacks must hold their default unless ignorable; string and collection limits),
///   so on error nothing is written.
/// * JSON: [`Message::to_json`] prints the form Kafka's generated JSON converters print at a
///   version (fields the version lacks left out; tagged fields at their default left out);
///   [`Message::from_json`] reads it back, taking the schema default for a field left out
///   and rejecting a field the version does not have.
pub trait Message: Wire + Serialize + DeserializeOwned {
    /// Kafka's schema name, e.g. `"StreamsGroupHeartbeatRequest"`.
    const NAME: &'static str;
    /// The API key, or for records the record type.
    const API_KEY: i16;
    /// Lowest version.
    const LOWEST_VERSION: i16;
    /// Highest version.
    const HIGHEST_VERSION: i16;
    /// Fields that exist only in some versions.
    const VERSIONED_FIELDS: &'static [VersionedField] = &[];

    /// True if `version` is a version of this message.
    fn is_valid_version(version: i16) -> bool {
        (Self::LOWEST_VERSION..=Self::HIGHEST_VERSION).contains(&version)
    }

    /// Decodes a whole body at `version`; bytes left over are an error (use
    /// [`Message::decode_prefix`] for Kafka's lenient behaviour).
    fn decode(bytes: &[u8], version: i16) -> Result<Self, DecodeError> {
        let (msg, used) = Self::decode_prefix(bytes, version)?;
        if used != bytes.len() {
            return Err(
                DecodeError::new(DecodeErrorKind::TrailingBytes(bytes.len() - used), used)
                    .at(Self::NAME),
            );
        }
        Ok(msg)
    }

    /// Decodes a body at `version` from the start of `bytes`, returning it and the bytes it
    /// used. Bytes after the body are not looked at: Kafka's broker parses request bodies and
    /// stored records this way.
    fn decode_prefix(bytes: &[u8], version: i16) -> Result<(Self, usize), DecodeError> {
        if !Self::is_valid_version(version) {
            return Err(
                DecodeError::new(DecodeErrorKind::UnsupportedVersion(version), 0).at(Self::NAME),
            );
        }
        let mut r = Reader::new(bytes);
        let msg = Self::read(&mut r, version).map_err(|e| e.at(Self::NAME))?;
        Ok((msg, r.position()))
    }

    /// Validates the message for `version` and returns its encoded size.
    fn encoded_len(&self, version: i16) -> Result<usize, EncodeError> {
        if !Self::is_valid_version(version) {
            return Err(EncodeError::UnsupportedVersion {
                message: Self::NAME,
                version,
            });
        }
        self.size(version).map_err(|e| e.at(Self::NAME))
    }

    /// Encodes the body at `version` into `buf`. Nothing is written on error.
    fn encode<B: BufMut>(&self, version: i16, buf: &mut B) -> Result<(), EncodeError> {
        let len = self.encoded_len(version)?;
        if buf.remaining_mut() < len {
            return Err(EncodeError::BufferTooSmall {
                needed: len,
                remaining: buf.remaining_mut(),
            });
        }
        self.write(version, buf);
        Ok(())
    }

    /// Encodes the body at `version` into a new vector.
    fn to_bytes(&self, version: i16) -> Result<Vec<u8>, EncodeError> {
        let mut out = Vec::with_capacity(self.encoded_len(version)?);
        self.write(version, &mut out);
        Ok(out)
    }

    /// The JSON form at `version` (Kafka's JSON converter output).
    fn to_json(&self, version: i16) -> Value {
        let mut value = serde_json::to_value(self).unwrap_or(Value::Null);
        for f in Self::VERSIONED_FIELDS {
            if !f.in_version(version) {
                remove_at(&mut value, f.within, f.field);
            }
        }
        value
    }

    /// Reads the JSON form at `version`. A field left out takes its schema default; a
    /// field the version does not have, or one the message does not have, is an error.
    fn from_json(value: Value, version: i16) -> Result<Self, JsonError> {
        if !Self::is_valid_version(version) {
            return Err(JsonError::UnsupportedVersion {
                message: Self::NAME,
                version,
            });
        }
        for f in Self::VERSIONED_FIELDS {
            if !f.in_version(version) {
                if let Some(field) = find_at(&value, f.within, f.field, String::new()) {
                    return Err(JsonError::FieldNotInVersion {
                        message: Self::NAME,
                        field,
                        version,
                    });
                }
            }
        }
        serde_json::from_value(value).map_err(|source| JsonError::Invalid {
            message: Self::NAME,
            source,
        })
    }

    /// [`Message::from_json`] from JSON text.
    fn from_json_str(text: &str, version: i16) -> Result<Self, JsonError> {
        let value: Value = serde_json::from_str(text).map_err(|source| JsonError::Invalid {
            message: Self::NAME,
            source,
        })?;
        Self::from_json(value, version)
    }
}

fn remove_at(value: &mut Value, within: &[&str], field: &str) {
    match within.split_first() {
        None => {
            if let Value::Object(map) = value {
                map.remove(field);
            }
        }
        Some((&"*", rest)) => {
            if let Value::Array(items) = value {
                for item in items {
                    remove_at(item, rest, field);
                }
            }
        }
        Some((key, rest)) => {
            if let Some(inner) = value.get_mut(*key) {
                remove_at(inner, rest, field);
            }
        }
    }
}

fn find_at(value: &Value, within: &[&str], field: &str, path: String) -> Option<String> {
    let sep = if path.is_empty() { "" } else { "." };
    match within.split_first() {
        None => match value {
            Value::Object(map) if map.contains_key(field) => Some(format!("{path}{sep}{field}")),
            _ => None,
        },
        Some((&"*", rest)) => match value {
            Value::Array(items) => items
                .iter()
                .enumerate()
                .find_map(|(i, item)| find_at(item, rest, field, format!("{path}[{i}]"))),
            _ => None,
        },
        Some((key, rest)) => value
            .get(*key)
            .and_then(|inner| find_at(inner, rest, field, format!("{path}{sep}{key}"))),
    }
}
