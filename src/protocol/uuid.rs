//! Kafka's 16-byte UUID (topic ids), printed in Kafka's URL-safe base64 form without padding.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A Kafka UUID: 16 bytes, most-significant half first (the wire order).
///
/// `Display` / `FromStr` use Kafka's form: URL-safe base64 without padding (22 characters),
/// e.g. `AAAAAAAAAAAAAAAAAAAAAA` for [`Uuid::ZERO`]. Serde uses the same string form.
#[derive(Copy, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct Uuid(pub [u8; 16]);

/// Error from parsing a [`Uuid`] string.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid Kafka UUID {input:?}: expected 22 characters of URL-safe base64 (16 bytes)")]
pub struct UuidParseError {
    /// The rejected input (truncated to 64 characters).
    pub input: String,
}

const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

fn sextet(c: u8) -> Option<u32> {
    Some(match c {
        b'A'..=b'Z' => c - b'A',
        b'a'..=b'z' => c - b'a' + 26,
        b'0'..=b'9' => c - b'0' + 52,
        b'-' => 62,
        b'_' => 63,
        _ => return None,
    } as u32)
}

impl Uuid {
    /// The all-zero UUID (Kafka's `Uuid.ZERO_UUID`).
    pub const ZERO: Uuid = Uuid([0; 16]);

    /// Builds a UUID from its two 64-bit halves.
    pub fn from_u64_pair(most: u64, least: u64) -> Self {
        let mut b = [0u8; 16];
        b[..8].copy_from_slice(&most.to_be_bytes());
        b[8..].copy_from_slice(&least.to_be_bytes());
        Uuid(b)
    }

    /// The most-significant 64 bits.
    pub fn most_significant_bits(&self) -> u64 {
        let mut h = [0u8; 8];
        h.copy_from_slice(&self.0[..8]);
        u64::from_be_bytes(h)
    }

    /// The least-significant 64 bits.
    pub fn least_significant_bits(&self) -> u64 {
        let mut h = [0u8; 8];
        h.copy_from_slice(&self.0[8..]);
        u64::from_be_bytes(h)
    }
}

impl fmt::Display for Uuid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut out = [0u8; 22];
        let mut o = 0;
        for chunk in self.0.chunks(3) {
            let mut n = 0u32;
            for (i, b) in chunk.iter().enumerate() {
                n |= (*b as u32) << (16 - 8 * i);
            }
            let chars = chunk.len() + 1;
            for i in 0..chars {
                out[o] = ALPHABET[((n >> (18 - 6 * i)) & 63) as usize];
                o += 1;
            }
        }
        // 16 bytes = 5 full groups (20 chars) + 1 byte (2 chars) = 22 characters, all ASCII.
        f.write_str(std::str::from_utf8(&out).map_err(|_| fmt::Error)?)
    }
}

impl fmt::Debug for Uuid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Uuid({self})")
    }
}

impl FromStr for Uuid {
    type Err = UuidParseError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let err = || UuidParseError {
            input: s.chars().take(64).collect(),
        };
        let bytes = s.as_bytes();
        if bytes.len() != 22 {
            return Err(err());
        }
        let mut out = [0u8; 16];
        let mut o = 0;
        for chunk in bytes.chunks(4) {
            let mut n = 0u32;
            for (i, c) in chunk.iter().enumerate() {
                n |= sextet(*c).ok_or_else(err)? << (18 - 6 * i);
            }
            let produced = chunk.len() - 1;
            for i in 0..produced {
                out[o] = (n >> (16 - 8 * i)) as u8;
                o += 1;
            }
            // The last group (2 chars, 1 byte) must not carry stray low bits.
            if chunk.len() == 2 && n & 0xffff != 0 {
                return Err(err());
            }
        }
        Ok(Uuid(out))
    }
}

impl Serialize for Uuid {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Uuid {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kafka_base64_form() {
        assert_eq!(Uuid::ZERO.to_string(), "AAAAAAAAAAAAAAAAAAAAAA");
        assert_eq!(
            Uuid::from_u64_pair(0, 1).to_string(),
            "AAAAAAAAAAAAAAAAAAAAAQ"
        );
        let u = Uuid::from_u64_pair(0x0123_4567_89ab_cdef, 0xfedc_ba98_7654_3210);
        let s = u.to_string();
        assert_eq!(s.len(), 22);
        assert_eq!(s.parse::<Uuid>(), Ok(u));
        assert_eq!(u.most_significant_bits(), 0x0123_4567_89ab_cdef);
        assert_eq!(u.least_significant_bits(), 0xfedc_ba98_7654_3210);
        assert!("AAAAAAAAAAAAAAAAAAAAAB".parse::<Uuid>().is_err());
        assert!("short".parse::<Uuid>().is_err());
        assert!("AAAAAAAAAAAAAAAAAAAA*A".parse::<Uuid>().is_err());
    }
}
