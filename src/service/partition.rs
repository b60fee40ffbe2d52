//! Which `__consumer_offsets` partition (and so which shard) owns a group.
//!
//! Kafka's rule: `Utils.abs(groupId.hashCode()) % numPartitions`, where
//! `hashCode` is Java's `String.hashCode` (over UTF-16 code units, wrapping
//! 32-bit arithmetic) and `Utils.abs` maps `i32::MIN` to 0 (unlike
//! `Math.abs`, which would leave it negative).

/// Java's `String.hashCode` of `s`: `h = 31 * h + c` over the UTF-16 code
/// units of `s`, with wrapping 32-bit arithmetic.
pub(crate) fn java_string_hash(s: &str) -> i32 {
    s.encode_utf16().fold(0i32, |h, unit| {
        h.wrapping_mul(31).wrapping_add(i32::from(unit))
    })
}

/// Kafka's `Utils.abs`: the absolute value, except that `i32::MIN` maps to 0.
pub(crate) fn kafka_abs(n: i32) -> i32 {
    if n == i32::MIN {
        0
    } else {
        n.abs()
    }
}

/// The `__consumer_offsets` partition that owns `group_id` when the topic has
/// `partition_count` partitions. `None` if `partition_count` is not positive.
pub fn partition_for(group_id: &str, partition_count: i32) -> Option<i32> {
    if partition_count <= 0 {
        return None;
    }
    Some(kafka_abs(java_string_hash(group_id)) % partition_count)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// (group id, Java `hashCode`, partition of 50, partition of 7), printed
    /// by a JDK 21 `String.hashCode` / `Utils.abs` program.
    const JAVA: &[(&str, i32, i32, i32)] = &[
        ("", 0, 0, 0),
        ("a", 97, 47, 6),
        ("hello", 99162322, 22, 0),
        ("polygenelubricants", -2147483648, 0, 0),
        ("my-streams-app", -1550722138, 38, 0),
        ("group-1", 293427299, 49, 4),
        ("Aa", 2112, 12, 5),
        ("BB", 2112, 12, 5),
        ("wordcount", 893673541, 41, 5),
        ("\u{e9}t\u{e9}", 227742, 42, 4),
        ("\u{1F600}emoji", -1233692477, 27, 3),
        ("streams-app-42", 147937220, 20, 4),
        ("zzzzzzzzzzzzzzzzzzzzzzzz", -143714560, 10, 3),
    ];

    #[test]
    fn matches_java_string_hash_code() {
        for &(id, hash, _, _) in JAVA {
            assert_eq!(java_string_hash(id), hash, "hashCode of {id:?}");
        }
    }

    #[test]
    fn matches_kafka_partition_for() {
        for &(id, _, p50, p7) in JAVA {
            assert_eq!(partition_for(id, 50), Some(p50), "{id:?} mod 50");
            assert_eq!(partition_for(id, 7), Some(p7), "{id:?} mod 7");
        }
    }

    #[test]
    fn min_value_hash_maps_to_partition_zero() {
        assert_eq!(java_string_hash("polygenelubricants"), i32::MIN);
        assert_eq!(kafka_abs(i32::MIN), 0);
        assert_eq!(partition_for("polygenelubricants", 3), Some(0));
    }

    #[test]
    fn rejects_non_positive_partition_counts() {
        assert_eq!(partition_for("g", 0), None);
        assert_eq!(partition_for("g", -4), None);
    }
}
