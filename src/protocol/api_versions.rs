//! ApiVersions (API key 18), versions 0–3: the request a client sends first on
//! every connection, and the response listing the APIs a broker serves.
//!
//! Versions 0–2 are not flexible (int32 array lengths, no tagged fields);
//! version 3 is flexible (compact arrays and strings, tagged fields) and adds
//! the client software name/version and the feature tagged fields. The
//! response header is always header v0 (correlation id only), even for v3.

use bytes::{Buf, BufMut};

/// API key of ApiVersions.
pub const API_KEY: i16 = 18;
/// Lowest version this codec speaks.
pub(crate) const MIN_VERSION: i16 = 0;
/// Highest version this codec speaks.
pub(crate) const MAX_VERSION: i16 = 3;
/// Bound on a decoded array's element count (input-controlled allocation).
pub(crate) const MAX_ARRAY_LEN: usize = 4096;

/// Errors of the ApiVersions codec.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ApiVersionsError {
    /// The version is outside 0–3.
    #[error("ApiVersions version {0} is not supported (0-3)")]
    UnsupportedVersion(i16),
    /// The input ended inside a field.
    #[error("ApiVersions: input ended while reading {0}")]
    Truncated(&'static str),
    /// A length prefix or varint is invalid.
    #[error("ApiVersions: invalid {what}: {detail}")]
    Invalid {
        /// The field being read.
        what: &'static str,
        /// What was wrong.
        detail: String,
    },
    /// A string to encode is longer than 32767 bytes.
    #[error("ApiVersions: {0} is longer than 32767 bytes")]
    StringTooLong(&'static str),
    /// A field absent from the target version holds a non-default value.
    #[error("ApiVersions: attempted to write a non-default {field} at version {version}")]
    NonDefaultField {
        /// The field.
        field: &'static str,
        /// The target version.
        version: i16,
    },
}

type Result<T> = std::result::Result<T, ApiVersionsError>;

/// ApiVersionsRequest. Versions 0–2 have an empty body.
#[derive(Clone, Debug, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ApiVersionsRequest {
    /// The client's software name (v3+, ignorable).
    pub client_software_name: String,
    /// The client's software version (v3+, ignorable).
    pub client_software_version: String,
}

/// One entry of `ApiKeys`.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ApiVersion {
    /// The API key.
    pub api_key: i16,
    /// Lowest supported version, inclusive.
    pub min_version: i16,
    /// Highest supported version, inclusive.
    pub max_version: i16,
}

/// One entry of `SupportedFeatures` (v3+, tag 0).
#[derive(Clone, Debug, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SupportedFeature {
    /// Feature name, e.g. `streams.version`.
    pub name: String,
    /// Lowest supported version.
    pub min_version: i16,
    /// Highest supported version.
    pub max_version: i16,
}

/// One entry of `FinalizedFeatures` (v3+, tag 2).
#[derive(Clone, Debug, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FinalizedFeature {
    /// Feature name.
    pub name: String,
    /// Cluster-wide finalized max level.
    pub max_version_level: i16,
    /// Cluster-wide finalized min level.
    pub min_version_level: i16,
}

/// ApiVersionsResponse.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ApiVersionsResponse {
    /// Top-level error code (35 UNSUPPORTED_VERSION when the request version is too new).
    pub error_code: i16,
    /// The APIs the broker serves.
    pub api_keys: Vec<ApiVersion>,
    /// Throttle time (v1+, ignorable).
    pub throttle_time_ms: i32,
    /// Supported features (v3+, tagged 0).
    pub supported_features: Vec<SupportedFeature>,
    /// Finalized features epoch (v3+, tagged 1, default −1).
    pub finalized_features_epoch: i64,
    /// Finalized features (v3+, tagged 2).
    pub finalized_features: Vec<FinalizedFeature>,
    /// ZK migration readiness (v3+, tagged 3, default false).
    pub zk_migration_ready: bool,
}

impl Default for ApiVersionsResponse {
    fn default() -> Self {
        Self {
            error_code: 0,
            api_keys: Vec::new(),
            throttle_time_ms: 0,
            supported_features: Vec::new(),
            finalized_features_epoch: -1,
            finalized_features: Vec::new(),
            zk_migration_ready: false,
        }
    }
}

fn check_version(version: i16) -> Result<()> {
    if (MIN_VERSION..=MAX_VERSION).contains(&version) {
        Ok(())
    } else {
        Err(ApiVersionsError::UnsupportedVersion(version))
    }
}

impl ApiVersionsRequest {
    /// Encodes the body at `version`. Fields absent from v0–2 are ignorable and dropped.
    pub fn encode(&self, version: i16, buf: &mut impl BufMut) -> Result<()> {
        check_version(version)?;
        if version >= 3 {
            put_compact_string(buf, &self.client_software_name, "ClientSoftwareName")?;
            put_compact_string(buf, &self.client_software_version, "ClientSoftwareVersion")?;
            buf.put_u8(0);
        }
        Ok(())
    }

    /// Decodes the body at `version`.
    pub fn decode(buf: &mut impl Buf, version: i16) -> Result<Self> {
        check_version(version)?;
        let mut req = Self::default();
        if version >= 3 {
            req.client_software_name = get_compact_string(buf, "ClientSoftwareName")?;
            req.client_software_version = get_compact_string(buf, "ClientSoftwareVersion")?;
            skip_tagged_fields(buf)?;
        }
        Ok(req)
    }
}

impl ApiVersionsResponse {
    /// Encodes the body at `version`. The v3 tagged fields are written only when
    /// they differ from their defaults (they are ignorable in earlier versions).
    pub fn encode(&self, version: i16, buf: &mut impl BufMut) -> Result<()> {
        check_version(version)?;
        let flexible = version >= 3;
        buf.put_i16(self.error_code);
        put_array_len(buf, self.api_keys.len(), flexible, "ApiKeys")?;
        for k in &self.api_keys {
            buf.put_i16(k.api_key);
            buf.put_i16(k.min_version);
            buf.put_i16(k.max_version);
            if flexible {
                buf.put_u8(0);
            }
        }
        if version >= 1 {
            buf.put_i32(self.throttle_time_ms);
        }
        if flexible {
            let mut tagged: Vec<(u32, Vec<u8>)> = Vec::new();
            if !self.supported_features.is_empty() {
                let mut v = Vec::new();
                put_array_len(
                    &mut v,
                    self.supported_features.len(),
                    true,
                    "SupportedFeatures",
                )?;
                for f in &self.supported_features {
                    put_compact_string(&mut v, &f.name, "SupportedFeatures.Name")?;
                    v.put_i16(f.min_version);
                    v.put_i16(f.max_version);
                    v.put_u8(0);
                }
                tagged.push((0, v));
            }
            if self.finalized_features_epoch != -1 {
                tagged.push((1, self.finalized_features_epoch.to_be_bytes().to_vec()));
            }
            if !self.finalized_features.is_empty() {
                let mut v = Vec::new();
                put_array_len(
                    &mut v,
                    self.finalized_features.len(),
                    true,
                    "FinalizedFeatures",
                )?;
                for f in &self.finalized_features {
                    put_compact_string(&mut v, &f.name, "FinalizedFeatures.Name")?;
                    v.put_i16(f.max_version_level);
                    v.put_i16(f.min_version_level);
                    v.put_u8(0);
                }
                tagged.push((2, v));
            }
            if self.zk_migration_ready {
                tagged.push((3, vec![1]));
            }
            put_uvarint(buf, tagged.len() as u32);
            for (tag, v) in tagged {
                put_uvarint(buf, tag);
                put_uvarint(buf, v.len() as u32);
                buf.put_slice(&v);
            }
        }
        Ok(())
    }

    /// Decodes the body at `version`. Unknown tags are skipped.
    pub fn decode(buf: &mut impl Buf, version: i16) -> Result<Self> {
        check_version(version)?;
        let flexible = version >= 3;
        let mut r = Self {
            error_code: get_i16(buf, "ErrorCode")?,
            ..Self::default()
        };
        let n = get_array_len(buf, flexible, 6, "ApiKeys")?;
        r.api_keys.reserve(n);
        for _ in 0..n {
            let k = ApiVersion {
                api_key: get_i16(buf, "ApiKeys.ApiKey")?,
                min_version: get_i16(buf, "ApiKeys.MinVersion")?,
                max_version: get_i16(buf, "ApiKeys.MaxVersion")?,
            };
            if flexible {
                skip_tagged_fields(buf)?;
            }
            r.api_keys.push(k);
        }
        if version >= 1 {
            r.throttle_time_ms = get_i32(buf, "ThrottleTimeMs")?;
        }
        if flexible {
            let count = get_uvarint(buf, "tagged fields count")?;
            for _ in 0..count {
                let tag = get_uvarint(buf, "tag")?;
                let size = get_uvarint(buf, "tag size")? as usize;
                if buf.remaining() < size {
                    return Err(ApiVersionsError::Truncated("tagged field"));
                }
                let mut field = buf.copy_to_bytes(size);
                match tag {
                    0 => {
                        let n = get_array_len(&mut field, true, 6, "SupportedFeatures")?;
                        for _ in 0..n {
                            let f = SupportedFeature {
                                name: get_compact_string(&mut field, "SupportedFeatures.Name")?,
                                min_version: get_i16(&mut field, "SupportedFeatures.MinVersion")?,
                                max_version: get_i16(&mut field, "SupportedFeatures.MaxVersion")?,
                            };
                            skip_tagged_fields(&mut field)?;
                            r.supported_features.push(f);
                        }
                    }
                    1 => {
                        r.finalized_features_epoch = get_i64(&mut field, "FinalizedFeaturesEpoch")?
                    }
                    2 => {
                        let n = get_array_len(&mut field, true, 6, "FinalizedFeatures")?;
                        for _ in 0..n {
                            let f = FinalizedFeature {
                                name: get_compact_string(&mut field, "FinalizedFeatures.Name")?,
                                max_version_level: get_i16(
                                    &mut field,
                                    "FinalizedFeatures.MaxVersionLevel",
                                )?,
                                min_version_level: get_i16(
                                    &mut field,
                                    "FinalizedFeatures.MinVersionLevel",
                                )?,
                            };
                            skip_tagged_fields(&mut field)?;
                            r.finalized_features.push(f);
                        }
                    }
                    3 => {
                        if !field.has_remaining() {
                            return Err(ApiVersionsError::Truncated("ZkMigrationReady"));
                        }
                        r.zk_migration_ready = field.get_u8() != 0;
                    }
                    _ => {}
                }
            }
        }
        Ok(r)
    }
}

// --- minimal primitives (ApiVersions needs the non-flexible forms too) ---

fn get_i16(buf: &mut impl Buf, what: &'static str) -> Result<i16> {
    if buf.remaining() < 2 {
        return Err(ApiVersionsError::Truncated(what));
    }
    Ok(buf.get_i16())
}

fn get_i32(buf: &mut impl Buf, what: &'static str) -> Result<i32> {
    if buf.remaining() < 4 {
        return Err(ApiVersionsError::Truncated(what));
    }
    Ok(buf.get_i32())
}

fn get_i64(buf: &mut impl Buf, what: &'static str) -> Result<i64> {
    if buf.remaining() < 8 {
        return Err(ApiVersionsError::Truncated(what));
    }
    Ok(buf.get_i64())
}

fn put_uvarint(buf: &mut impl BufMut, mut v: u32) {
    while v >= 0x80 {
        buf.put_u8((v as u8 & 0x7f) | 0x80);
        v >>= 7;
    }
    buf.put_u8(v as u8);
}

fn get_uvarint(buf: &mut impl Buf, what: &'static str) -> Result<u32> {
    let mut v: u32 = 0;
    for i in 0..5 {
        if !buf.has_remaining() {
            return Err(ApiVersionsError::Truncated(what));
        }
        let b = buf.get_u8();
        v |= u32::from(b & 0x7f) << (7 * i);
        if b & 0x80 == 0 {
            return Ok(v);
        }
    }
    Err(ApiVersionsError::Invalid {
        what,
        detail: "varint is too long".into(),
    })
}

fn skip_tagged_fields(buf: &mut impl Buf) -> Result<()> {
    let n = get_uvarint(buf, "tagged fields count")?;
    for _ in 0..n {
        get_uvarint(buf, "tag")?;
        let size = get_uvarint(buf, "tag size")? as usize;
        if buf.remaining() < size {
            return Err(ApiVersionsError::Truncated("tagged field"));
        }
        buf.advance(size);
    }
    Ok(())
}

fn put_compact_string(buf: &mut impl BufMut, s: &str, what: &'static str) -> Result<()> {
    if s.len() > 0x7fff {
        return Err(ApiVersionsError::StringTooLong(what));
    }
    put_uvarint(buf, s.len() as u32 + 1);
    buf.put_slice(s.as_bytes());
    Ok(())
}

fn get_compact_string(buf: &mut impl Buf, what: &'static str) -> Result<String> {
    let n = get_uvarint(buf, what)?;
    if n == 0 {
        return Err(ApiVersionsError::Invalid {
            what,
            detail: "non-nullable string is null".into(),
        });
    }
    let len = (n - 1) as usize;
    if len > 0x7fff {
        return Err(ApiVersionsError::Invalid {
            what,
            detail: format!("string length {len} exceeds 32767"),
        });
    }
    if buf.remaining() < len {
        return Err(ApiVersionsError::Truncated(what));
    }
    let bytes = buf.copy_to_bytes(len);
    String::from_utf8(bytes.to_vec()).map_err(|e| ApiVersionsError::Invalid {
        what,
        detail: e.to_string(),
    })
}

fn put_array_len(
    buf: &mut impl BufMut,
    len: usize,
    flexible: bool,
    what: &'static str,
) -> Result<()> {
    if len > MAX_ARRAY_LEN {
        return Err(ApiVersionsError::Invalid {
            what,
            detail: format!("{len} elements exceed the limit of {MAX_ARRAY_LEN}"),
        });
    }
    if flexible {
        put_uvarint(buf, len as u32 + 1);
    } else {
        buf.put_i32(len as i32);
    }
    Ok(())
}

/// Reads an array length and rejects counts that the remaining input cannot
/// hold (`min_elem` bytes per element) or that exceed [`MAX_ARRAY_LEN`].
fn get_array_len(
    buf: &mut impl Buf,
    flexible: bool,
    min_elem: usize,
    what: &'static str,
) -> Result<usize> {
    let len: i64 = if flexible {
        i64::from(get_uvarint(buf, what)?) - 1
    } else {
        i64::from(get_i32(buf, what)?)
    };
    if len < 0 {
        return Err(ApiVersionsError::Invalid {
            what,
            detail: "non-nullable array is null".into(),
        });
    }
    let len = len as usize;
    if len > MAX_ARRAY_LEN || len.saturating_mul(min_elem) > buf.remaining() {
        return Err(ApiVersionsError::Invalid {
            what,
            detail: format!("array of {len} elements does not fit the input"),
        });
    }
    Ok(len)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> ApiVersionsResponse {
        ApiVersionsResponse {
            error_code: 0,
            api_keys: vec![
                ApiVersion {
                    api_key: 18,
                    min_version: 0,
                    max_version: 3,
                },
                ApiVersion {
                    api_key: 88,
                    min_version: 0,
                    max_version: 1,
                },
            ],
            throttle_time_ms: 0,
            ..Default::default()
        }
    }

    #[test]
    fn response_v0_and_v3_bytes() {
        let mut v0 = Vec::new();
        sample().encode(0, &mut v0).unwrap();
        assert_eq!(v0, [0, 0, 0, 0, 0, 2, 0, 18, 0, 0, 0, 3, 0, 88, 0, 0, 0, 1]);
        let mut v3 = Vec::new();
        sample().encode(3, &mut v3).unwrap();
        assert_eq!(
            v3,
            [0, 0, 3, 0, 18, 0, 0, 0, 3, 0, 0, 88, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0]
        );
    }

    #[test]
    fn round_trips_every_version() {
        let mut full = sample();
        full.throttle_time_ms = 7;
        full.supported_features = vec![SupportedFeature {
            name: "streams.version".into(),
            min_version: 0,
            max_version: 1,
        }];
        full.finalized_features_epoch = 12;
        full.finalized_features = vec![FinalizedFeature {
            name: "streams.version".into(),
            max_version_level: 1,
            min_version_level: 1,
        }];
        full.zk_migration_ready = true;
        for v in 0..=3 {
            let mut b = Vec::new();
            full.encode(v, &mut b).unwrap();
            let back = ApiVersionsResponse::decode(&mut b.as_slice(), v).unwrap();
            let mut expect = full.clone();
            if v < 3 {
                expect.supported_features.clear();
                expect.finalized_features.clear();
                expect.finalized_features_epoch = -1;
                expect.zk_migration_ready = false;
            }
            if v < 1 {
                expect.throttle_time_ms = 0;
            }
            assert_eq!(back, expect, "version {v}");
        }
        let req = ApiVersionsRequest {
            client_software_name: "apache-kafka-java".into(),
            client_software_version: "4.1.0".into(),
        };
        let mut b = Vec::new();
        req.encode(3, &mut b).unwrap();
        assert_eq!(
            ApiVersionsRequest::decode(&mut b.as_slice(), 3).unwrap(),
            req
        );
        let mut b = Vec::new();
        req.encode(2, &mut b).unwrap();
        assert!(b.is_empty());
    }

    #[test]
    fn bad_input_is_an_error_not_a_panic() {
        assert!(
            ApiVersionsResponse::decode(&mut &[0u8, 0, 0x7f, 0xff, 0xff, 0xff][..], 0).is_err()
        );
        assert!(
            ApiVersionsResponse::decode(&mut &[0u8, 0, 0xff, 0xff, 0xff, 0xff, 0xff][..], 3)
                .is_err()
        );
        assert!(ApiVersionsRequest::decode(&mut &[0x05u8, b'a'][..], 3).is_err());
        assert!(ApiVersionsRequest::decode(&mut &[][..], 4).is_err());
        for len in 0..22 {
            let mut b = Vec::new();
            sample().encode(3, &mut b).unwrap();
            let _ = ApiVersionsResponse::decode(&mut &b[..len], 3);
        }
    }
}
