//! The metadata hash against values printed by Apache Kafka's own Java classes.
//!
//! Every expected number below was printed by a throwaway Java program (kept outside this
//! repository) run against Kafka's classes compiled from Kafka source at commit 06d492d813
//! (06d492d81361d053700c7cd6a932d7f361ea8309) with hash4j 0.22.0, the version Kafka pins. The program built a real KRaft `MetadataImage`
//! (`RegisterBrokerRecord`, `TopicRecord`, `PartitionRecord` replayed into a `MetadataDelta`),
//! wrapped it in `KRaftCoordinatorMetadataImage`, and called:
//!
//! * `org.apache.kafka.coordinator.group.Utils.computeTopicHash(String, CoordinatorMetadataImage)`
//!   for each topic hash;
//! * `org.apache.kafka.coordinator.group.Utils.computeGroupHash(Map<String, Long>)` for the
//!   empty group;
//! * `org.apache.kafka.coordinator.group.streams.StreamsGroup.computeMetadataHash(
//!   CoordinatorMetadataImage, Map<String, Long>, StreamsTopology)` for the group hashes
//!   (a fresh `StreamsGroup` and an empty topic-hash cache).
//!
//! Each partition's replicas were placed on brokers, one broker per listed rack (so a rack
//! listed twice is two brokers in the same rack and appears twice in Kafka's
//! `partitionRacks`); a partition listed with no racks had two replicas on brokers registered
//! with a null rack (`RegisterBrokerRecord.setRack(null)`; the record's default is "", which
//! Kafka hashes as a rack of length 0, hence the `blank-racks` case).
//! The inputs, written here exactly as given to Java:
//!
//! * `orders`, id (0x0123456789abcdef, 0xfedcba9876543210), 3 partitions, no racks;
//! * `clicks`, id (0x1111111111111111, 0x2222222222222222), racks per partition:
//!   p0 [rack-b, rack-a], p1 [rack-c], p2 [], p3 [zeta, alpha, alpha, Beta],
//!   p4 [U+FF21, "rack-" U+1F600, "r" U+00E4 "ck"], p5 [U+FF21, U+1F600] (Java sorts U+1F600
//!   first: its UTF-16 high surrogate 0xD83D is below 0xFF21; code-point order would not);
//! * `zahlungen-` U+00FC `-` U+6D41 `-` U+1F600, id (0x7fffffffffffffff, 0x8000000000000001),
//!   racks p0 [eu-west-1b, eu-west-1a], p1 [eu-west-1c];
//! * `app-store-changelog`, id (0xa1b2c3d4e5f60718, 0x293a4b5c6d7e8f90), 1 partition, no racks;
//! * U+FF21, id (1, 2), 1 partition; U+1F600, id (3, 4), 2 partitions; `a`, id (5, 6),
//!   3 partitions; no racks;
//! * `blank-racks`, id (7, 8), racks p0 ["", ""] (two brokers whose rack is the empty string).
//!
//! Topology of the first group hash: subtopology "0" sources [orders, clicks], repartition
//! sink app-repartition, changelog app-store-changelog; subtopology "1" sources
//! [zahlungen-ü-流-😀], repartition source app-repartition (absent from the metadata).
//! Topology of the second: subtopology "0" sources [a, U+1F600, U+FF21], names whose Java
//! (UTF-16) order differs from their code-point order.

use streams_coordinator::protocol::heartbeat::{Subtopology, TopicInfo, Topology};
use streams_coordinator::protocol::Uuid;
use streams_coordinator::topology::{
    metadata_hash, ClusterMetadata, StreamsTopology, TopicMetadata,
};

const PAYMENTS: &str = "zahlungen-\u{fc}-\u{6d41}-\u{1f600}";
const FULLWIDTH_A: &str = "\u{ff21}";
const EMOJI: &str = "\u{1f600}";

/// Values printed by Kafka's Java (see the module docs).
const JAVA_ORDERS: i64 = 9017009200229395283;
const JAVA_CLICKS: i64 = -5258348879675523612;
const JAVA_PAYMENTS: i64 = -763339009592684524;
const JAVA_CHANGELOG: i64 = 8259192166764705744;
const JAVA_BLANK_RACKS: i64 = -3497452867044453113;
const JAVA_FULLWIDTH_A: i64 = -3425010199801609488;
const JAVA_EMOJI: i64 = -8015229117193219626;
const JAVA_A: i64 = 6202964428492626008;
const JAVA_GROUP: i64 = 9064004114497522420;
const JAVA_GROUP_UTF16_ORDER: i64 = -7674477815922582475;

fn racks(partitions: &[&[&str]]) -> Vec<Vec<String>> {
    partitions
        .iter()
        .map(|p| p.iter().map(|r| r.to_string()).collect())
        .collect()
}

fn orders() -> TopicMetadata {
    TopicMetadata::new(
        Uuid::from_u64_pair(0x0123_4567_89ab_cdef, 0xfedc_ba98_7654_3210),
        "orders",
        3,
    )
}

fn clicks() -> TopicMetadata {
    TopicMetadata::with_racks(
        Uuid::from_u64_pair(0x1111_1111_1111_1111, 0x2222_2222_2222_2222),
        "clicks",
        racks(&[
            &["rack-b", "rack-a"],
            &["rack-c"],
            &[],
            &["zeta", "alpha", "alpha", "Beta"],
            &["\u{ff21}", "rack-\u{1f600}", "r\u{e4}ck"],
            &["\u{ff21}", "\u{1f600}"],
        ]),
    )
}

fn payments() -> TopicMetadata {
    TopicMetadata::with_racks(
        Uuid::from_u64_pair(0x7fff_ffff_ffff_ffff, 0x8000_0000_0000_0001),
        PAYMENTS,
        racks(&[&["eu-west-1b", "eu-west-1a"], &["eu-west-1c"]]),
    )
}

fn changelog() -> TopicMetadata {
    TopicMetadata::new(
        Uuid::from_u64_pair(0xa1b2_c3d4_e5f6_0718, 0x293a_4b5c_6d7e_8f90),
        "app-store-changelog",
        1,
    )
}

fn odd_names() -> [TopicMetadata; 3] {
    [
        TopicMetadata::new(Uuid::from_u64_pair(1, 2), FULLWIDTH_A, 1),
        TopicMetadata::new(Uuid::from_u64_pair(3, 4), EMOJI, 2),
        TopicMetadata::new(Uuid::from_u64_pair(5, 6), "a", 3),
    ]
}

fn metadata() -> ClusterMetadata {
    let mut m = ClusterMetadata::new();
    for t in [orders(), clicks(), payments(), changelog()] {
        m.insert(t);
    }
    for t in odd_names() {
        m.insert(t);
    }
    m
}

fn strings(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

fn topic_info(name: &str) -> TopicInfo {
    TopicInfo {
        name: name.to_string(),
        ..Default::default()
    }
}

fn topology(subtopologies: Vec<Subtopology>) -> StreamsTopology {
    StreamsTopology::new(Topology {
        epoch: 1,
        subtopologies,
    })
    .expect("valid topology")
}

#[test]
fn topic_without_racks_matches_java() {
    assert_eq!(orders().hash(), JAVA_ORDERS);
    assert_eq!(changelog().hash(), JAVA_CHANGELOG);
}

#[test]
fn empty_string_racks_count_as_racks_as_in_java() {
    let t = TopicMetadata::with_racks(
        Uuid::from_u64_pair(7, 8),
        "blank-racks",
        racks(&[&["", ""]]),
    );
    assert_eq!(t.hash(), JAVA_BLANK_RACKS);
    let without = TopicMetadata::new(Uuid::from_u64_pair(7, 8), "blank-racks", 1);
    assert_ne!(without.hash(), JAVA_BLANK_RACKS);
}

#[test]
fn topic_with_unsorted_repeated_and_non_ascii_racks_matches_java() {
    assert_eq!(clicks().hash(), JAVA_CLICKS);
}

#[test]
fn non_ascii_topic_name_matches_java() {
    assert_eq!(payments().hash(), JAVA_PAYMENTS);
    let [fullwidth, emoji, a] = odd_names();
    assert_eq!(fullwidth.hash(), JAVA_FULLWIDTH_A);
    assert_eq!(emoji.hash(), JAVA_EMOJI);
    assert_eq!(a.hash(), JAVA_A);
}

#[test]
fn group_hash_over_several_topics_matches_java() {
    let t = topology(vec![
        Subtopology {
            subtopology_id: "0".to_string(),
            source_topics: strings(&["orders", "clicks"]),
            repartition_sink_topics: strings(&["app-repartition"]),
            state_changelog_topics: vec![topic_info("app-store-changelog")],
            ..Default::default()
        },
        Subtopology {
            subtopology_id: "1".to_string(),
            source_topics: strings(&[PAYMENTS]),
            repartition_source_topics: vec![topic_info("app-repartition")],
            ..Default::default()
        },
    ]);
    assert_eq!(metadata_hash(&t, &metadata()), JAVA_GROUP);
}

#[test]
fn group_hash_orders_names_as_java_does() {
    let t = topology(vec![Subtopology {
        subtopology_id: "0".to_string(),
        source_topics: strings(&["a", EMOJI, FULLWIDTH_A]),
        ..Default::default()
    }]);
    assert_eq!(metadata_hash(&t, &metadata()), JAVA_GROUP_UTF16_ORDER);

    // The case discriminates: code-point order (a, U+FF21, U+1F600) gives another value.
    let mut code_point_order = Vec::new();
    for h in [JAVA_A, JAVA_FULLWIDTH_A, JAVA_EMOJI] {
        code_point_order.extend_from_slice(&h.to_le_bytes());
    }
    assert_ne!(
        xxhash_rust::xxh3::xxh3_64(&code_point_order) as i64,
        JAVA_GROUP_UTF16_ORDER
    );
}

#[test]
fn group_without_existing_topics_is_zero_as_in_java() {
    // Java: Utils.computeGroupHash(Map.of()) printed 0.
    let t = topology(vec![Subtopology {
        subtopology_id: "0".to_string(),
        source_topics: strings(&["nope"]),
        ..Default::default()
    }]);
    assert_eq!(metadata_hash(&t, &metadata()), 0);
}
