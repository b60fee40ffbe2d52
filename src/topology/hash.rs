//! The group metadata hash (spec 04 §5), byte-compatible with Kafka's.
//!
//! Kafka feeds values into hash4j's streaming XXH3-64 (`Hashing.xxh3_64().hashStream()`),
//! whose conventions decide the bytes: integers are little-endian, a `putString(s)` is the
//! string's UTF-16 code units (each little-endian) followed by `putInt(s.length())` (the
//! length in UTF-16 code units), and the result is the plain XXH3-64 (seed 0) of the
//! concatenated bytes. The same bytes given to `xxhash_rust`'s XXH3 give the same 64 bits.

use xxhash_rust::xxh3::Xxh3Default;

use crate::protocol::Uuid;

use super::metadata::ClusterMetadata;
use super::model::StreamsTopology;

/// The version byte Kafka writes first in every topic hash.
const TOPIC_HASH_MAGIC_BYTE: u8 = 0;

/// A hash4j-style sink over XXH3-64, buffering small writes.
struct HashStream {
    hasher: Xxh3Default,
    buf: Vec<u8>,
}

impl HashStream {
    const FLUSH_AT: usize = 4096;

    fn new() -> HashStream {
        HashStream {
            hasher: Xxh3Default::new(),
            buf: Vec::with_capacity(Self::FLUSH_AT + 64),
        }
    }

    fn bytes(&mut self, b: &[u8]) {
        self.buf.extend_from_slice(b);
        if self.buf.len() >= Self::FLUSH_AT {
            self.hasher.update(&self.buf);
            self.buf.clear();
        }
    }

    fn put_byte(&mut self, v: u8) {
        self.bytes(&[v]);
    }

    fn put_int(&mut self, v: i32) {
        self.bytes(&v.to_le_bytes());
    }

    fn put_long(&mut self, v: i64) {
        self.bytes(&v.to_le_bytes());
    }

    /// hash4j `putString`: UTF-16LE code units, then the UTF-16 length as an int.
    fn put_string(&mut self, s: &str) {
        let mut units: i32 = 0;
        for u in s.encode_utf16() {
            self.bytes(&u.to_le_bytes());
            units = units.wrapping_add(1);
        }
        self.put_int(units);
    }

    fn finish(mut self) -> i64 {
        self.hasher.update(&self.buf);
        self.buf.clear();
        self.hasher.digest() as i64
    }
}

/// Java's `String.length()`: the number of UTF-16 code units.
fn java_length(s: &str) -> i32 {
    i32::try_from(s.encode_utf16().count()).unwrap_or(i32::MAX)
}

/// Kafka's `Utils.computeTopicHash`: magic byte, topic id (most then least significant 64
/// bits), name, partition count, then for each partition its index and, for each of its
/// (sorted) replica racks, the rack's length and the rack.
pub(crate) fn topic_hash(
    id: &Uuid,
    name: &str,
    partition_count: i32,
    sorted_racks: &[Vec<String>],
) -> i64 {
    let mut h = HashStream::new();
    h.put_byte(TOPIC_HASH_MAGIC_BYTE);
    h.put_long(id.most_significant_bits() as i64);
    h.put_long(id.least_significant_bits() as i64);
    h.put_string(name);
    h.put_int(partition_count);
    for p in 0..partition_count.max(0) {
        h.put_int(p);
        let racks = usize::try_from(p)
            .ok()
            .and_then(|p| sorted_racks.get(p))
            .map_or(&[][..], Vec::as_slice);
        for rack in racks {
            h.put_int(java_length(rack));
            h.put_string(rack);
        }
    }
    h.finish()
}

/// Kafka's `Utils.computeGroupHash`: 0 for no topics, else XXH3-64 over the topic hashes
/// (as longs) in ascending topic-name order (Java `String` order: UTF-16 code units).
pub(crate) fn group_hash<'a>(topics: impl IntoIterator<Item = (&'a str, i64)>) -> i64 {
    let mut topics: Vec<(&str, i64)> = topics.into_iter().collect();
    if topics.is_empty() {
        return 0;
    }
    if topics.iter().all(|(n, _)| n.is_ascii()) {
        topics.sort_unstable_by(|a, b| a.0.cmp(b.0));
    } else {
        topics.sort_by(|a, b| a.0.encode_utf16().cmp(b.0.encode_utf16()));
    }
    let mut h = HashStream::new();
    for (_, hash) in topics {
        h.put_long(hash);
    }
    h.finish()
}

/// The group metadata hash of spec 04 §5: over the topology's required topics that exist in
/// `metadata` (missing topics contribute nothing; 0 if none exists). Equal to the hash a Java
/// broker persists for the same topics, ids, partition counts and racks.
///
/// Costs one lookup per required topic: topic hashes are precomputed in
/// [`TopicMetadata`](super::TopicMetadata).
pub fn metadata_hash(topology: &StreamsTopology, metadata: &ClusterMetadata) -> i64 {
    group_hash(
        topology
            .required_topics()
            .iter()
            .filter_map(|name| metadata.topic(name).map(|t| (name.as_str(), t.hash()))),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_stream_is_xxh3_of_nothing() {
        // XXH3_64bits of the empty input, from the xxHash reference.
        assert_eq!(HashStream::new().finish() as u64, 0x2D06_8005_38D3_94C2);
    }

    #[test]
    fn buffering_does_not_change_the_hash() {
        let mut h = HashStream::new();
        let mut all = Vec::new();
        for i in 0..5000i32 {
            h.put_int(i);
            all.extend_from_slice(&i.to_le_bytes());
        }
        assert_eq!(h.finish(), xxhash_rust::xxh3::xxh3_64(&all) as i64);
    }

    #[test]
    fn topic_hash_byte_layout() {
        let id = Uuid::from_u64_pair(0x0102_0304_0506_0708, 0x090a_0b0c_0d0e_0f10);
        let racks = vec![vec!["r1".to_string()], vec![]];
        let mut bytes = vec![0u8];
        bytes.extend_from_slice(&0x0102_0304_0506_0708u64.to_le_bytes());
        bytes.extend_from_slice(&0x090a_0b0c_0d0e_0f10u64.to_le_bytes());
        for u in "ab".encode_utf16() {
            bytes.extend_from_slice(&u.to_le_bytes());
        }
        bytes.extend_from_slice(&2i32.to_le_bytes()); // name length
        bytes.extend_from_slice(&2i32.to_le_bytes()); // partition count
        bytes.extend_from_slice(&0i32.to_le_bytes()); // partition 0
        bytes.extend_from_slice(&2i32.to_le_bytes()); // rack length
        for u in "r1".encode_utf16() {
            bytes.extend_from_slice(&u.to_le_bytes());
        }
        bytes.extend_from_slice(&2i32.to_le_bytes()); // putString's own length
        bytes.extend_from_slice(&1i32.to_le_bytes()); // partition 1, no racks
        assert_eq!(
            topic_hash(&id, "ab", 2, &racks),
            xxhash_rust::xxh3::xxh3_64(&bytes) as i64
        );
    }

    #[test]
    fn group_hash_sorts_by_name_and_is_zero_when_empty() {
        assert_eq!(group_hash([]), 0);
        let a = group_hash([("b", 2), ("a", 1)]);
        let b = group_hash([("a", 1), ("b", 2)]);
        assert_eq!(a, b);
        let mut bytes = Vec::new();
        bytes.extend_from_slice(&1i64.to_le_bytes());
        bytes.extend_from_slice(&2i64.to_le_bytes());
        assert_eq!(a, xxhash_rust::xxh3::xxh3_64(&bytes) as i64);
    }
}
