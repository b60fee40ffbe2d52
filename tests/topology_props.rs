//! Property tests of topology configuration (issue 3 §4): copartitioned topics end equal,
//! changelogs have one partition per task, only absent internal topics are requested,
//! creating them makes the topology ready, and configuration is a pure function of its inputs.

use std::collections::BTreeMap;

use proptest::prelude::*;
use streams_coordinator::protocol::heartbeat::{
    CopartitionGroup, Subtopology, TopicInfo, Topology,
};
use streams_coordinator::protocol::Uuid;
use streams_coordinator::topology::{
    configure, metadata_hash, ClusterMetadata, ConfiguredTopology, StreamsTopology,
    TopicConfigurationStatus,
};

const EXTERNALS: usize = 5;

/// One subtopology of a plan: which externals it reads, which earlier subtopologies' output it
/// reads (with a fixed count or 0), how many stores it has, and a copartition group slot
/// (0 = none) for each input.
#[derive(Clone, Debug)]
struct SubPlan {
    sources: Vec<bool>,
    reads: Vec<(bool, i32)>,
    stores: usize,
    groups: Vec<u8>,
}

#[derive(Clone, Debug)]
struct Plan {
    subs: Vec<SubPlan>,
    /// The id of subtopology i is `ids[i]`: a permutation, so id order and data-flow order
    /// differ.
    ids: Vec<usize>,
    externals: Vec<i32>,
    /// For each internal topic in creation order: whether it exists, and with which count.
    existing: Vec<(bool, i32)>,
    /// Reverse the subtopology list and the metadata insertion order for the twin.
    seed: u64,
}

fn arb_plan() -> impl Strategy<Value = Plan> {
    (1usize..10).prop_flat_map(|n| {
        let sub = (
            proptest::collection::vec(prop::bool::weighted(0.4), EXTERNALS),
            proptest::collection::vec(
                (
                    prop::bool::weighted(0.3),
                    prop_oneof![4 => Just(0i32), 1 => 1..5i32],
                ),
                n,
            ),
            0usize..3,
            proptest::collection::vec(
                prop_oneof![6 => Just(0u8), 1 => Just(1u8), 1 => Just(2u8)],
                EXTERNALS + n,
            ),
        )
            .prop_map(|(sources, reads, stores, groups)| SubPlan {
                sources,
                reads,
                stores,
                groups,
            });
        (
            proptest::collection::vec(sub, n),
            Just((0..n).collect::<Vec<_>>()).prop_shuffle(),
            proptest::collection::vec(1..4i32, EXTERNALS),
            proptest::collection::vec((prop::bool::weighted(0.12), 1..5i32), 64),
            any::<u64>(),
        )
            .prop_map(|(subs, ids, externals, existing, seed)| Plan {
                subs,
                ids,
                externals,
                existing,
                seed,
            })
    })
}

fn id(n: u64) -> Uuid {
    Uuid::from_u64_pair(7, n)
}

/// Builds the topology (a DAG: subtopology i reads only from j < i) and the metadata.
fn build(plan: &Plan) -> (Topology, ClusterMetadata, Vec<(String, i32)>) {
    let n = plan.subs.len();
    let mut subs: Vec<Subtopology> = (0..n)
        .map(|i| Subtopology {
            subtopology_id: plan.ids[i].to_string(),
            ..Default::default()
        })
        .collect();
    let mut internal_names = Vec::new();
    for (i, p) in plan.subs.iter().enumerate() {
        let mut inputs_in_group: Vec<u8> = Vec::new();
        for (e, &on) in p.sources.iter().enumerate() {
            if on {
                subs[i].source_topics.push(format!("ext-{e}"));
                inputs_in_group.push(p.groups[e]);
            }
        }
        for (j, &(on, fixed)) in p.reads.iter().enumerate().take(i) {
            if on {
                let name = format!("rep-{j}-{i}");
                subs[j].repartition_sink_topics.push(name.clone());
                subs[i].repartition_source_topics.push(TopicInfo {
                    name: name.clone(),
                    partitions: fixed,
                    replication_factor: 0,
                    topic_configs: vec![],
                });
                internal_names.push(name);
                inputs_in_group.push(p.groups[EXTERNALS + j]);
            }
        }
        if subs[i].source_topics.is_empty() && subs[i].repartition_source_topics.is_empty() {
            subs[i].source_topics.push("ext-0".to_string());
            inputs_in_group.push(0);
        }
        for k in 0..p.stores {
            let name = format!("store-{i}-{k}-changelog");
            subs[i].state_changelog_topics.push(TopicInfo {
                name: name.clone(),
                ..Default::default()
            });
            internal_names.push(name);
        }
        // Copartition groups 1 and 2 over this subtopology's inputs, by index.
        let n_sources = subs[i].source_topics.len();
        for g in 1..=2u8 {
            let mut group = CopartitionGroup::default();
            for (k, &slot) in inputs_in_group.iter().enumerate() {
                if slot == g {
                    if k < n_sources {
                        group.source_topics.push(k as i16);
                    } else {
                        group.repartition_source_topics.push((k - n_sources) as i16);
                    }
                }
            }
            if !group.source_topics.is_empty() || !group.repartition_source_topics.is_empty() {
                subs[i].copartition_groups.push(group);
            }
        }
    }
    let mut topics: Vec<(String, i32)> = plan
        .externals
        .iter()
        .enumerate()
        .map(|(e, &c)| (format!("ext-{e}"), c))
        .collect();
    for (k, name) in internal_names.iter().enumerate() {
        if let Some(&(true, c)) = plan.existing.get(k) {
            topics.push((name.clone(), c));
        }
    }
    let metadata = metadata_from(&topics);
    (
        Topology {
            epoch: 3,
            subtopologies: subs,
        },
        metadata,
        topics,
    )
}

fn metadata_from(topics: &[(String, i32)]) -> ClusterMetadata {
    let mut m = ClusterMetadata::new();
    for (k, (name, c)) in topics.iter().enumerate() {
        m = m.with_topic(id(k as u64), name.clone(), *c);
    }
    m
}

/// The partition count a topic ends with: its actual count, or the one it will be created
/// with.
fn effective(c: &ConfiguredTopology, metadata: &ClusterMetadata, topic: &str) -> Option<i32> {
    metadata.partition_count(topic).or_else(|| {
        c.internal_topics_to_create
            .iter()
            .find(|t| t.name == topic)
            .map(|t| t.partitions)
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn configured_topologies_keep_the_invariants(plan in arb_plan()) {
        let (raw, metadata, topics) = build(&plan);
        let topology = StreamsTopology::new(raw.clone()).expect("generated topologies are valid");
        let configured = configure(&topology, &metadata).expect("DAG topologies configure");

        if let Some(subs) = &configured.subtopologies {
            for (sid, s) in subs {
                prop_assert!(s.number_of_tasks >= 1);
                // Each changelog topic has the partition count of its subtopology's task count.
                for t in s.state_changelog_topics.values() {
                    prop_assert_eq!(t.partitions, s.number_of_tasks, "changelog {} of {}", &t.name, sid);
                }
            }
            // Copartitioned topics end with equal partition counts.
            for sub in &raw.subtopologies {
                for g in &sub.copartition_groups {
                    let names = g.source_topics.iter().map(|&i| sub.source_topics[i as usize].clone())
                        .chain(g.repartition_source_topics.iter().map(|&i| sub.repartition_source_topics[i as usize].name.clone()));
                    let counts: Vec<Option<i32>> = names.map(|n| effective(&configured, &metadata, &n)).collect();
                    prop_assert!(counts.iter().all(|c| c.is_some() && *c == counts[0]), "group {:?} of {} ends {:?}", g, sub.subtopology_id, counts);
                }
            }
        }
        // Every internal topic asked for is absent from the metadata, and vice versa every
        // absent internal topic is asked for when the topology is configured.
        for t in &configured.internal_topics_to_create {
            prop_assert!(metadata.topic(&t.name).is_none());
        }
        match &configured.status {
            None => prop_assert!(configured.internal_topics_to_create.is_empty()),
            Some(TopicConfigurationStatus::MissingInternalTopics(_)) => {
                prop_assert!(!configured.internal_topics_to_create.is_empty());
                // Creating what was asked for makes the topology ready.
                let mut created = topics.clone();
                for t in &configured.internal_topics_to_create {
                    created.push((t.name.clone(), t.partitions));
                }
                let after = metadata_from(&created);
                prop_assert_ne!(metadata_hash(&topology, &after), metadata_hash(&topology, &metadata));
                let again = configure(&topology, &after).expect("still configurable");
                prop_assert!(again.is_ready(), "{:?}", again.status);
                prop_assert_eq!(again.subtopologies, configured.subtopologies.clone());
            }
            Some(_) => {
                prop_assert!(configured.subtopologies.is_none());
                prop_assert!(configured.internal_topics_to_create.is_empty());
            }
        }
    }

    #[test]
    fn configure_is_a_pure_function_of_its_inputs(plan in arb_plan()) {
        let (raw, metadata, topics) = build(&plan);
        let topology = StreamsTopology::new(raw.clone()).unwrap();
        let first = configure(&topology, &metadata);
        prop_assert_eq!(&first, &configure(&topology, &metadata));

        // The same topology with its subtopologies (and their lists' irrelevant order) shuffled
        // and the metadata built in another order.
        let mut shuffled = raw.clone();
        let len = shuffled.subtopologies.len();
        shuffled.subtopologies.rotate_left((plan.seed as usize) % len);
        shuffled.subtopologies.reverse();
        let twin = StreamsTopology::new(shuffled).unwrap();
        prop_assert_eq!(&twin, &topology);
        let mut reversed = topics.clone();
        reversed.reverse();
        let mut twin_metadata = ClusterMetadata::new();
        for (name, c) in &reversed {
            let k = topics.iter().position(|(n, _)| n == name).unwrap();
            twin_metadata = twin_metadata.with_topic(id(k as u64), name.clone(), *c);
        }
        prop_assert_eq!(&twin_metadata, &metadata);
        prop_assert_eq!(&configure(&twin, &twin_metadata), &first);
        prop_assert_eq!(metadata_hash(&twin, &twin_metadata), metadata_hash(&topology, &metadata));
    }

    /// Arbitrary (mostly invalid) topologies never panic: they are rejected or configured.
    #[test]
    fn arbitrary_topologies_never_panic(
        subs in proptest::collection::vec(
            (
                0u8..6,
                proptest::collection::vec(0u8..8, 0..4),
                proptest::collection::vec((0u8..8, -2i32..4), 0..4),
                proptest::collection::vec(0u8..8, 0..4),
                proptest::collection::vec((0u8..8, -1i32..2), 0..2),
                proptest::collection::vec((proptest::collection::vec(-1i16..4, 0..3), proptest::collection::vec(-1i16..4, 0..3)), 0..3),
            ),
            0..8,
        ),
        counts in proptest::collection::vec(prop::option::of(0..5i32), 8),
        epoch in -1i32..3,
    ) {
        let name = |k: u8| format!("t{k}");
        let raw = Topology {
            epoch,
            subtopologies: subs.into_iter().map(|(sid, src, rsrc, sinks, logs, groups)| Subtopology {
                subtopology_id: sid.to_string(),
                source_topics: src.into_iter().map(name).collect(),
                repartition_source_topics: rsrc.into_iter().map(|(k, p)| TopicInfo { name: name(k), partitions: p, ..Default::default() }).collect(),
                repartition_sink_topics: sinks.into_iter().map(name).collect(),
                state_changelog_topics: logs.into_iter().map(|(k, p)| TopicInfo { name: name(k), partitions: p, ..Default::default() }).collect(),
                copartition_groups: groups.into_iter().map(|(s, r)| CopartitionGroup { source_topics: s, source_topic_regex: vec![], repartition_source_topics: r }).collect(),
                ..Default::default()
            }).collect(),
        };
        let mut metadata = ClusterMetadata::new();
        for (k, c) in counts.iter().enumerate() {
            if let Some(c) = c {
                metadata = metadata.with_topic(id(k as u64), name(k as u8), *c);
            }
        }
        let _ = StreamsTopology::from_join_request(&raw);
        if let Ok(t) = StreamsTopology::new(raw) {
            let a = configure(&t, &metadata);
            prop_assert_eq!(&a, &configure(&t, &metadata));
            if let Ok(c) = &a {
                let tasks: BTreeMap<String, std::collections::BTreeSet<i32>> = c
                    .task_counts()
                    .map(|(id, n, _)| (id.to_string(), (0..n.min(8)).collect()))
                    .collect();
                let _ = c.input_partitions_for_tasks(&tasks, &metadata);
            }
        }
    }
}
