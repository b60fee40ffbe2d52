//! The worked examples of spec 04 §8, the error and status strings of spec 04 §2/§3/§7, and
//! the topology model's lookups.

use std::collections::{BTreeMap, BTreeSet};

use streams_coordinator::protocol::heartbeat::{
    CopartitionGroup, KeyValue, Subtopology, TopicInfo, Topology,
};
use streams_coordinator::protocol::{ErrorCode, StatusCode, Uuid};
use streams_coordinator::topology::{
    configure, metadata_hash, ClusterMetadata, ConfiguredTopology, StreamsTopology, TaskRef,
    TopicConfigurationStatus, TopicMetadata, TopologyError,
};

fn ti(name: &str, partitions: i32) -> TopicInfo {
    TopicInfo {
        name: name.to_string(),
        partitions,
        replication_factor: 0,
        topic_configs: vec![],
    }
}

fn strings(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

/// A subtopology: sources, repartition sinks, repartition sources (name, fixed count),
/// changelogs.
fn sub(
    id: &str,
    sources: &[&str],
    sinks: &[&str],
    repartition_sources: &[(&str, i32)],
    changelogs: &[&str],
) -> Subtopology {
    Subtopology {
        subtopology_id: id.to_string(),
        source_topics: strings(sources),
        repartition_sink_topics: strings(sinks),
        repartition_source_topics: repartition_sources.iter().map(|(n, p)| ti(n, *p)).collect(),
        state_changelog_topics: changelogs.iter().map(|n| ti(n, 0)).collect(),
        ..Default::default()
    }
}

fn copartition(sources: &[i16], repartition_sources: &[i16]) -> CopartitionGroup {
    CopartitionGroup {
        source_topics: sources.to_vec(),
        source_topic_regex: vec![],
        repartition_source_topics: repartition_sources.to_vec(),
    }
}

fn topology(subtopologies: Vec<Subtopology>) -> StreamsTopology {
    StreamsTopology::new(Topology {
        epoch: 1,
        subtopologies,
    })
    .expect("valid topology")
}

fn id(n: u64) -> Uuid {
    Uuid::from_u64_pair(0xabcd, n)
}

/// The cluster of spec 04 §8: orders 4, customers 4, payments 3, clicks 6.
fn cluster() -> ClusterMetadata {
    ClusterMetadata::new()
        .with_topic(id(1), "orders", 4)
        .with_topic(id(2), "customers", 4)
        .with_topic(id(3), "payments", 3)
        .with_topic(id(4), "clicks", 6)
}

fn tasks(c: &ConfiguredTopology) -> Vec<(String, i32)> {
    c.task_counts()
        .map(|(id, n, _)| (id.to_string(), n))
        .collect()
}

fn status(c: &ConfiguredTopology) -> (StatusCode, &str) {
    let s = c.status.as_ref().expect("a status");
    (s.code(), s.detail())
}

fn invalid(e: TopologyError) -> String {
    assert_eq!(e.error_code(), ErrorCode::STREAMS_INVALID_TOPOLOGY);
    e.message().to_string()
}

#[test]
fn example_a_stateless_single_subtopology() {
    let t = topology(vec![sub("0", &["clicks"], &[], &[], &[])]);
    let c = configure(&t, &cluster()).unwrap();
    assert!(c.is_ready());
    assert_eq!(tasks(&c), vec![("0".to_string(), 6)]);
    assert!(c.internal_topics_to_create.is_empty());
    let (_, n, stateful) = c.task_counts().next().unwrap();
    assert_eq!(n, 6);
    assert!(!stateful);
}

fn example_b() -> StreamsTopology {
    topology(vec![
        sub("0", &["orders"], &["app-agg-repartition"], &[], &[]),
        sub(
            "1",
            &[],
            &[],
            &[("app-agg-repartition", 0)],
            &["app-store-changelog"],
        ),
    ])
}

#[test]
fn example_b_internal_topics_missing_then_ready() {
    let t = example_b();
    let c = configure(&t, &cluster()).unwrap();
    assert!(!c.is_ready());
    assert_eq!(
        status(&c),
        (
            StatusCode::MISSING_INTERNAL_TOPICS,
            "Internal topics are missing: app-agg-repartition, app-store-changelog"
        )
    );
    assert_eq!(tasks(&c), vec![("0".to_string(), 4), ("1".to_string(), 4)]);
    let created: Vec<(&str, i32, i16)> = c
        .internal_topics_to_create
        .iter()
        .map(|t| (t.name.as_str(), t.partitions, t.replication_factor))
        .collect();
    assert_eq!(
        created,
        vec![
            ("app-agg-repartition", 4, -1),
            ("app-store-changelog", 4, -1)
        ]
    );
    let sub1 = &c.subtopologies.as_ref().unwrap()["1"];
    assert!(sub1.is_stateful());
    assert_eq!(
        sub1.state_changelog_topics["app-store-changelog"].partitions,
        4
    );

    // After the broker created them, the hash changes and the topology is ready.
    let before = metadata_hash(&t, &cluster());
    let created = cluster()
        .with_topic(id(10), "app-agg-repartition", 4)
        .with_topic(id(11), "app-store-changelog", 4);
    assert_ne!(metadata_hash(&t, &created), before);
    let c = configure(&t, &created).unwrap();
    assert!(c.is_ready());
    assert_eq!(c.status, None);
    assert!(c.internal_topics_to_create.is_empty());
    assert_eq!(tasks(&c), vec![("0".to_string(), 4), ("1".to_string(), 4)]);
}

#[test]
fn example_b_existing_changelog_with_wrong_count() {
    let t = example_b();
    let m = cluster().with_topic(id(11), "app-store-changelog", 2);
    let c = configure(&t, &m).unwrap();
    assert_eq!(
        status(&c),
        (
            StatusCode::INCORRECTLY_PARTITIONED_TOPICS,
            "Existing topic app-store-changelog has different number of partitions: expected 4, found 2"
        )
    );
    assert_eq!(c.subtopologies, None);
    assert!(c.internal_topics_to_create.is_empty());
}

#[test]
fn example_b_replication_factor_and_configs_are_passed_on() {
    let mut s1 = sub(
        "1",
        &[],
        &[],
        &[("app-agg-repartition", 0)],
        &["app-store-changelog"],
    );
    s1.state_changelog_topics[0].replication_factor = 3;
    s1.state_changelog_topics[0].topic_configs = vec![
        KeyValue {
            key: "cleanup.policy".into(),
            value: "compact".into(),
        },
        KeyValue {
            key: "a".into(),
            value: "b".into(),
        },
    ];
    let t = topology(vec![
        sub("0", &["orders"], &["app-agg-repartition"], &[], &[]),
        s1,
    ]);
    let c = configure(&t, &cluster()).unwrap();
    let changelog = &c.internal_topics_to_create[1];
    assert_eq!(changelog.name, "app-store-changelog");
    assert_eq!(changelog.replication_factor, 3);
    assert_eq!(
        changelog.configs,
        BTreeMap::from([
            ("a".to_string(), "b".to_string()),
            ("cleanup.policy".to_string(), "compact".to_string())
        ])
    );
    let configured =
        &c.subtopologies.as_ref().unwrap()["1"].state_changelog_topics["app-store-changelog"];
    assert_eq!(configured.replication_factor, Some(3));
    let repartition =
        &c.subtopologies.as_ref().unwrap()["1"].repartition_source_topics["app-agg-repartition"];
    assert_eq!(repartition.replication_factor, None);
}

const LOOP_ERROR: &str = "Failed to compute number of partitions for all repartition topics. There may be loops in the topology that cannot be resolved.";
const NEVER_SINK_ERROR: &str = "Failed to compute number of partitions for all repartition topics, because a repartition source topic is never used as a sink topic.";

#[test]
fn example_c_chained_repartitions() {
    let t = topology(vec![
        sub("0", &["clicks"], &["r1"], &[], &[]),
        sub("1", &[], &["r2"], &[("r1", 0)], &[]),
        sub("2", &[], &[], &[("r2", 0)], &[]),
    ]);
    let c = configure(&t, &cluster()).unwrap();
    assert_eq!(
        tasks(&c),
        vec![("0".into(), 6), ("1".into(), 6), ("2".into(), 6)]
    );
    // The same chain listed so that one pass cannot resolve it (Kafka needs two passes).
    let t = topology(vec![
        sub("2", &["clicks"], &["r1"], &[], &[]),
        sub("1", &[], &["r2"], &[("r1", 0)], &[]),
        sub("0", &[], &[], &[("r2", 0)], &[]),
    ]);
    let c = configure(&t, &cluster()).unwrap();
    assert_eq!(
        tasks(&c),
        vec![("0".into(), 6), ("1".into(), 6), ("2".into(), 6)]
    );
}

#[test]
fn example_c_without_r1_as_sink_is_a_loop_error() {
    let t = topology(vec![
        sub("0", &["clicks"], &[], &[], &[]),
        sub("1", &[], &["r2"], &[("r1", 0)], &[]),
        sub("2", &[], &[], &[("r2", 0)], &[]),
    ]);
    assert_eq!(invalid(configure(&t, &cluster()).unwrap_err()), LOOP_ERROR);
}

#[test]
fn example_c_fixed_r1() {
    let t = topology(vec![
        sub("0", &["clicks"], &["r1"], &[], &[]),
        sub("1", &[], &["r2"], &[("r1", 8)], &[]),
        sub("2", &[], &[], &[("r2", 0)], &[]),
    ]);
    let c = configure(&t, &cluster()).unwrap();
    assert_eq!(
        tasks(&c),
        vec![("0".into(), 6), ("1".into(), 8), ("2".into(), 8)]
    );
    let to_create: Vec<(&str, i32)> = c
        .internal_topics_to_create
        .iter()
        .map(|t| (t.name.as_str(), t.partitions))
        .collect();
    assert_eq!(to_create, vec![("r1", 8), ("r2", 8)]);
}

#[test]
fn a_cycle_is_a_loop_error() {
    let t = topology(vec![
        sub("0", &[], &["b"], &[("a", 0)], &[]),
        sub("1", &[], &["a"], &[("b", 0)], &[]),
    ]);
    assert_eq!(invalid(configure(&t, &cluster()).unwrap_err()), LOOP_ERROR);
}

#[test]
fn a_repartition_source_never_written_is_an_error() {
    let t = topology(vec![
        sub("0", &["clicks"], &[], &[], &[]),
        sub("1", &[], &[], &[("r", 0)], &[]),
    ]);
    assert_eq!(
        invalid(configure(&t, &cluster()).unwrap_err()),
        NEVER_SINK_ERROR
    );
}

#[test]
fn a_subtopology_without_inputs_is_an_error() {
    let t = topology(vec![
        sub("0", &["clicks"], &[], &[], &[]),
        sub("x", &[], &[], &[], &["store"]),
    ]);
    assert_eq!(
        invalid(configure(&t, &cluster()).unwrap_err()),
        "No source topics found for subtopology x"
    );
}

#[test]
fn structural_errors_surface_only_once_source_topics_exist() {
    // Spec 04 §2.3: a self-contradictory topology is accepted while a source topic is
    // missing, and fails once it exists.
    let t = topology(vec![
        sub("0", &["late"], &[], &[], &[]),
        sub("1", &[], &["b"], &[("a", 0)], &[]),
        sub("2", &[], &["a"], &[("b", 0)], &[]),
    ]);
    let c = configure(&t, &cluster()).unwrap();
    assert_eq!(
        status(&c),
        (
            StatusCode::MISSING_SOURCE_TOPICS,
            "Source topics late are missing."
        )
    );
    let m = cluster().with_topic(id(20), "late", 2);
    assert_eq!(invalid(configure(&t, &m).unwrap_err()), LOOP_ERROR);
}

#[test]
fn example_d_join_with_copartitioning() {
    let mut s = sub("0", &["orders", "customers"], &[], &[], &[]);
    s.copartition_groups = vec![copartition(&[0, 1], &[])];
    let t = topology(vec![s]);
    let c = configure(&t, &cluster()).unwrap();
    assert!(c.is_ready());
    assert_eq!(tasks(&c), vec![("0".into(), 4)]);

    let m = cluster().with_topic(id(2), "customers", 3);
    let c = configure(&t, &m).unwrap();
    assert_eq!(
        status(&c),
        (
            StatusCode::INCORRECTLY_PARTITIONED_TOPICS,
            "Following topics do not have the same number of partitions: [{customers=3, orders=4}]"
        )
    );
    assert_eq!(c.subtopologies, None);
    assert_eq!(tasks(&c), vec![]);
}

fn example_e(r_orders_partitions: i32) -> StreamsTopology {
    let mut s1 = sub(
        "1",
        &["orders"],
        &[],
        &[("r-orders", r_orders_partitions)],
        &[],
    );
    s1.copartition_groups = vec![copartition(&[0], &[0])];
    topology(vec![sub("0", &["payments"], &["r-orders"], &[], &[]), s1])
}

#[test]
fn example_e_repartition_forced_by_copartitioning() {
    let c = configure(&example_e(0), &cluster()).unwrap();
    assert_eq!(tasks(&c), vec![("0".into(), 3), ("1".into(), 4)]);
    assert_eq!(c.internal_topics_to_create.len(), 1);
    assert_eq!(c.internal_topics_to_create[0].name, "r-orders");
    assert_eq!(c.internal_topics_to_create[0].partitions, 4);
}

#[test]
fn example_e_fixed_repartition_disagrees() {
    let c = configure(&example_e(3), &cluster()).unwrap();
    assert_eq!(
        status(&c),
        (
            StatusCode::INCORRECTLY_PARTITIONED_TOPICS,
            "Number of partitions [3] of repartition topic [r-orders] doesn't match number of partitions [4] of the source topic."
        )
    );
}

#[test]
fn example_e_existing_repartition_topic_with_three_partitions() {
    let m = cluster().with_topic(id(30), "r-orders", 3);
    let c = configure(&example_e(0), &m).unwrap();
    assert_eq!(
        status(&c),
        (
            StatusCode::INCORRECTLY_PARTITIONED_TOPICS,
            "Existing topic r-orders has different number of partitions: expected 4, found 3"
        )
    );
}

#[test]
fn example_f_only_repartition_topics_in_a_copartition_group() {
    let mut s2 = sub("2", &[], &[], &[("ra", 0), ("rb", 0)], &[]);
    s2.copartition_groups = vec![copartition(&[], &[0, 1])];
    let t = topology(vec![
        sub("0", &["orders"], &["ra"], &[], &[]),
        sub("1", &["payments"], &["rb"], &[], &[]),
        s2,
    ]);
    let c = configure(&t, &cluster()).unwrap();
    assert_eq!(
        tasks(&c),
        vec![("0".into(), 4), ("1".into(), 3), ("2".into(), 4)]
    );
    let counts: Vec<(&str, i32)> = c
        .internal_topics_to_create
        .iter()
        .map(|t| (t.name.as_str(), t.partitions))
        .collect();
    assert_eq!(counts, vec![("ra", 4), ("rb", 4)]);
}

#[test]
fn example_f_with_a_fixed_repartition_topic_elsewhere_in_the_topology() {
    // The whole-topology scope of the fixed set (spec 04 §3.4): a fixed topic in another
    // subtopology decides the count of an all-repartition group.
    let mut s2 = sub("2", &[], &[], &[("ra", 0), ("rb", 0)], &[]);
    s2.copartition_groups = vec![copartition(&[], &[0, 1])];
    let t = topology(vec![
        sub("0", &["orders"], &["ra"], &[], &[]),
        sub("1", &["payments"], &["rb", "rf"], &[], &[]),
        s2,
        sub("3", &[], &[], &[("rf", 7)], &[]),
    ]);
    let c = configure(&t, &cluster()).unwrap();
    assert_eq!(c.number_of_tasks("2"), Some(7));
    assert_eq!(c.number_of_tasks("3"), Some(7));

    // Two fixed topics that disagree: the group's members are reported.
    let t = topology(vec![
        sub("0", &["orders"], &["ra"], &[], &[]),
        sub("1", &["payments"], &["rb", "rf", "rg"], &[], &[]),
        {
            let mut s2 = sub("2", &[], &[], &[("ra", 0), ("rb", 0)], &[]);
            s2.copartition_groups = vec![copartition(&[], &[0, 1])];
            s2
        },
        sub("3", &[], &[], &[("rf", 7), ("rg", 5)], &[]),
    ]);
    let c = configure(&t, &cluster()).unwrap();
    assert_eq!(
        status(&c),
        (
            StatusCode::INCORRECTLY_PARTITIONED_TOPICS,
            "Following topics do not have the same number of partitions: [{ra=4, rb=3}]"
        )
    );
}

#[test]
fn all_repartition_group_with_zero_counts_is_an_error() {
    // Only reachable with a 0-partition source topic, which a real cluster never has.
    let mut s1 = sub("1", &[], &[], &[("ra", 0), ("rb", 0)], &[]);
    s1.copartition_groups = vec![copartition(&[], &[0, 1])];
    let t = topology(vec![sub("0", &["empty"], &["ra", "rb"], &[], &[]), s1]);
    let m = cluster().with_topic(id(40), "empty", 0);
    assert_eq!(
        invalid(configure(&t, &m).unwrap_err()),
        "All topics in the copartition group had undefined partition number: [ra, rb]"
    );
}

#[test]
fn example_g_missing_source_topics() {
    let t = topology(vec![sub("0", &["orders", "missing-x"], &[], &[], &[])]);
    let c = configure(&t, &cluster()).unwrap();
    assert_eq!(
        status(&c),
        (
            StatusCode::MISSING_SOURCE_TOPICS,
            "Source topics missing-x are missing."
        )
    );
    assert_eq!(c.subtopologies, None);
    assert!(c.internal_topics_to_create.is_empty());

    let t = topology(vec![
        sub("0", &["orders", "e", "c"], &[], &[], &[]),
        sub("1", &["d", "b", "a"], &[], &[], &[]),
    ]);
    let c = configure(&t, &cluster()).unwrap();
    assert_eq!(
        status(&c),
        (
            StatusCode::MISSING_SOURCE_TOPICS,
            "Source topics a, b, c and 2 additional topics are missing."
        )
    );
}

#[test]
fn missing_internal_topics_summary_is_truncated() {
    let t = topology(vec![sub(
        "0",
        &["orders"],
        &[],
        &[],
        &["s5", "s1", "s4", "s2", "s3"],
    )]);
    let c = configure(&t, &cluster()).unwrap();
    assert_eq!(
        status(&c),
        (
            StatusCode::MISSING_INTERNAL_TOPICS,
            "Internal topics are missing: s1, s2, s3 and 2 additional topics"
        )
    );
    assert_eq!(c.internal_topics_to_create.len(), 5);
}

#[test]
fn uneven_sources_give_tasks_of_the_largest() {
    // Spec 04 §3.6: sources of 3 and 5 partitions give 5 tasks; tasks 3 and 4 read only the
    // larger topic.
    let t = topology(vec![sub("0", &["small", "large"], &[], &[], &[])]);
    let m = ClusterMetadata::new()
        .with_topic(id(1), "small", 3)
        .with_topic(id(2), "large", 5);
    let c = configure(&t, &m).unwrap();
    assert_eq!(c.number_of_tasks("0"), Some(5));
    assert_eq!(c.number_of_tasks("1"), None);
    let tasks = BTreeMap::from([("0".to_string(), BTreeSet::from([1, 4]))]);
    assert_eq!(
        c.input_partitions_for_tasks(&tasks, &m),
        vec![("large", vec![1, 4]), ("small", vec![1])]
    );
}

#[test]
fn join_request_checks_in_kafka_order() {
    let mut s = sub("0", &["orders"], &[], &[], &["c"]);
    s.state_changelog_topics[0].partitions = 3;
    s.source_topic_regex = vec!["or.*".into()];
    let req = Topology {
        epoch: 0,
        subtopologies: vec![s.clone()],
    };
    let e = StreamsTopology::from_join_request(&req).unwrap_err();
    assert_eq!(e.error_code(), ErrorCode::INVALID_REQUEST);
    assert_eq!(
        e.to_string(),
        "Regular expressions for source topics are not supported yet."
    );
    s.source_topic_regex.clear();
    let req = Topology {
        epoch: 0,
        subtopologies: vec![s],
    };
    assert_eq!(
        invalid(StreamsTopology::from_join_request(&req).unwrap_err()),
        "Changelog topic c must have an undefined partition count, but it is set to 3."
    );
}

#[test]
fn structural_checks() {
    let check = |subs: Vec<Subtopology>, epoch: i32| {
        invalid(
            StreamsTopology::new(Topology {
                epoch,
                subtopologies: subs,
            })
            .unwrap_err(),
        )
    };
    assert_eq!(
        check(vec![sub("0", &["a"], &[], &[], &[])], -1),
        "Topology epoch must be non-negative, but it is -1."
    );
    assert_eq!(
        check(
            vec![
                sub("0", &["a"], &[], &[], &[]),
                sub("0", &["b"], &[], &[], &[])
            ],
            0
        ),
        "Subtopology id 0 is used by more than one subtopology."
    );
    let mut s = sub("0", &["a"], &[], &[("r", 0)], &[]);
    s.copartition_groups = vec![copartition(&[0], &[1])];
    assert_eq!(
        check(vec![s.clone()], 0),
        "Copartition group 0 of subtopology 0 refers to repartition source topic index 1, but the subtopology has 1 repartition source topics."
    );
    s.copartition_groups = vec![copartition(&[-1], &[])];
    assert_eq!(
        check(vec![s], 0),
        "Copartition group 0 of subtopology 0 refers to source topic index -1, but the subtopology has 1 source topics."
    );
    assert_eq!(
        check(vec![sub("0", &["a"], &[], &[("r", 0), ("r", 0)], &[])], 0),
        "Subtopology 0 lists repartition source topic r more than once."
    );
    assert_eq!(
        check(vec![sub("0", &["a"], &[], &[("r", -2)], &[])], 0),
        "The repartition source topic r of subtopology 0 has a negative partition count -2."
    );
    let mut s = sub("0", &["a"], &[], &[], &["c"]);
    s.state_changelog_topics[0].topic_configs = vec![
        KeyValue {
            key: "k".into(),
            value: "1".into(),
        },
        KeyValue {
            key: "k".into(),
            value: "2".into(),
        },
    ];
    assert_eq!(
        check(vec![s], 0),
        "Topic config k of changelog topic c in subtopology 0 is given more than once."
    );
}

#[test]
fn equality_ignores_subtopology_order_but_not_array_order() {
    let a = sub("0", &["orders", "customers"], &[], &[], &[]);
    let b = sub("1", &["clicks"], &[], &[], &[]);
    let t1 = topology(vec![a.clone(), b.clone()]);
    let t2 = topology(vec![b.clone(), a.clone()]);
    assert_eq!(t1, t2);
    let swapped = sub("0", &["customers", "orders"], &[], &[], &[]);
    assert_ne!(t1, topology(vec![swapped, b.clone()]));
    let t3 = StreamsTopology::new(Topology {
        epoch: 2,
        subtopologies: vec![a, b],
    })
    .unwrap();
    assert_ne!(t1, t3);
    // The record keeps the client's order.
    assert_eq!(t2.to_record().subtopologies[0].subtopology_id, "1");
    assert_eq!(StreamsTopology::from_record(t2.to_record()).unwrap(), t2);
}

#[test]
fn input_topic_to_task_mapping() {
    let t = example_b();
    assert_eq!(
        t.task_for_partition("orders", 3),
        Some(TaskRef {
            subtopology_id: "0",
            partition: 3
        })
    );
    assert_eq!(
        t.task_for_partition("app-agg-repartition", 1),
        Some(TaskRef {
            subtopology_id: "1",
            partition: 1
        })
    );
    assert_eq!(t.task_for_partition("app-store-changelog", 1), None);
    assert_eq!(t.task_for_partition("orders", -1), None);
    assert_eq!(t.task_for_partition("unknown", 0), None);
    let required: Vec<&str> = t.required_topics().iter().map(String::as_str).collect();
    assert_eq!(
        required,
        vec!["app-agg-repartition", "app-store-changelog", "orders"]
    );
}

#[test]
fn metadata_hash_tracks_required_topics() {
    let t = example_b();
    let base = cluster();
    let h = metadata_hash(&t, &base);
    assert_ne!(h, 0);
    // Topics the topology does not need do not matter.
    assert_eq!(
        metadata_hash(&t, &base.clone().with_topic(id(99), "other", 1)),
        h
    );
    // Partition count, recreation with a new id, deletion and creation all do.
    assert_ne!(
        metadata_hash(&t, &base.clone().with_topic(id(1), "orders", 5)),
        h
    );
    assert_ne!(
        metadata_hash(&t, &base.clone().with_topic(id(77), "orders", 4)),
        h
    );
    let mut deleted = base.clone();
    deleted.remove("orders");
    assert_eq!(metadata_hash(&t, &deleted), 0);
    // Racks count too.
    let mut racked = base.clone();
    racked.insert(TopicMetadata::with_racks(
        id(1),
        "orders",
        vec![vec!["b".into(), "a".into()], vec![], vec![], vec![]],
    ));
    let hr = metadata_hash(&t, &racked);
    assert_ne!(hr, h);
    let mut racked2 = base.clone();
    racked2.insert(TopicMetadata::with_racks(
        id(1),
        "orders",
        vec![vec!["a".into(), "b".into()], vec![], vec![], vec![]],
    ));
    assert_eq!(metadata_hash(&t, &racked2), hr);
    assert_eq!(
        racked2.topic("orders").unwrap().partition_racks(0),
        ["a", "b"]
    );
    // No required topic exists: 0.
    assert_eq!(metadata_hash(&t, &ClusterMetadata::new()), 0);
}

#[test]
fn changed_topics_lists_created_deleted_and_changed() {
    let old = cluster();
    let mut new = cluster()
        .with_topic(id(50), "new", 1)
        .with_topic(id(3), "payments", 4);
    new.remove("clicks");
    assert_eq!(old.changed_topics(&new), vec!["clicks", "new", "payments"]);
    assert!(old.changed_topics(&cluster()).is_empty());
}

#[test]
fn status_variants_map_to_codes() {
    let s = TopicConfigurationStatus::MissingSourceTopics("x".into());
    assert_eq!(s.code(), StatusCode::MISSING_SOURCE_TOPICS);
    assert_eq!(s.detail(), "x");
}

#[test]
fn describe_views() {
    let mut s1 = sub(
        "1",
        &[],
        &[],
        &[("app-agg-repartition", 0)],
        &["z-changelog", "app-store-changelog"],
    );
    s1.state_changelog_topics[0].replication_factor = 2;
    let t = topology(vec![
        s1,
        sub(
            "0",
            &["orders", "customers"],
            &["app-agg-repartition"],
            &[],
            &[],
        ),
    ]);
    // Recorded view: sorted, counts as sent.
    let d = t.to_describe();
    assert_eq!(d.epoch, 1);
    let subs = d.subtopologies.unwrap();
    assert_eq!(subs[0].subtopology_id, "0");
    assert_eq!(subs[0].source_topics, vec!["customers", "orders"]);
    let logs: Vec<(&str, i32, i16)> = subs[1]
        .state_changelog_topics
        .iter()
        .map(|t| (t.name.as_str(), t.partitions, t.replication_factor))
        .collect();
    assert_eq!(
        logs,
        vec![("app-store-changelog", 0, 0), ("z-changelog", 0, 2)]
    );
    // Configured view: computed counts.
    let c = configure(&t, &cluster()).unwrap();
    let subs = c.to_describe().subtopologies.unwrap();
    let logs: Vec<(&str, i32, i16)> = subs[1]
        .state_changelog_topics
        .iter()
        .map(|t| (t.name.as_str(), t.partitions, t.replication_factor))
        .collect();
    assert_eq!(
        logs,
        vec![("app-store-changelog", 4, 0), ("z-changelog", 4, 2)]
    );
    assert_eq!(subs[1].repartition_source_topics[0].partitions, 4);
    // Not configured: no subtopologies.
    let c = configure(&t, &ClusterMetadata::new()).unwrap();
    assert_eq!(c.to_describe().subtopologies, Some(vec![]));
}
