//! Limits of issue 3 §5: 10,000 subtopologies and 10,000-character topic names are handled
//! without quadratic blow-up or panic. (Speed targets live in benches/topology.rs; these
//! tests only have to finish, which a quadratic fix-point over 10,000 subtopologies in the
//! worst visiting order would not do in reasonable time.)

use streams_coordinator::protocol::heartbeat::{
    CopartitionGroup, Subtopology, TopicInfo, Topology,
};
use streams_coordinator::protocol::Uuid;
use streams_coordinator::topology::{configure, metadata_hash, ClusterMetadata, StreamsTopology};

const N: usize = 10_000;

fn rep(name: String) -> TopicInfo {
    TopicInfo {
        name,
        ..Default::default()
    }
}

/// A chain of N subtopologies where data flows from the highest id to the lowest, so that
/// Kafka's pass-by-pass loop in ascending id order resolves one link per pass (N passes of N
/// subtopologies).
#[test]
fn ten_thousand_subtopologies_in_the_worst_order() {
    let subs: Vec<Subtopology> = (0..N)
        .map(|i| {
            let mut s = Subtopology {
                subtopology_id: format!("{i:05}"),
                ..Default::default()
            };
            if i == N - 1 {
                s.source_topics.push("input".into());
            } else {
                s.repartition_source_topics.push(rep(format!("r{}", i + 1)));
                s.copartition_groups.push(CopartitionGroup {
                    repartition_source_topics: vec![0],
                    ..Default::default()
                });
            }
            if i > 0 {
                s.repartition_sink_topics.push(format!("r{i}"));
            }
            s.state_changelog_topics
                .push(rep(format!("store-{i}-changelog")));
            s
        })
        .collect();
    let t = StreamsTopology::new(Topology {
        epoch: 0,
        subtopologies: subs,
    })
    .unwrap();
    let m = ClusterMetadata::new().with_topic(Uuid::from_u64_pair(1, 1), "input", 12);
    let c = configure(&t, &m).unwrap();
    assert_eq!(c.task_counts().count(), N);
    assert!(c.task_counts().all(|(_, n, stateful)| n == 12 && stateful));
    assert_eq!(c.internal_topics_to_create.len(), 2 * N - 1);
    assert_ne!(metadata_hash(&t, &m), 0);
}

/// A loop closing a 10,000-long chain is found without N passes either.
#[test]
fn ten_thousand_subtopologies_in_a_loop() {
    let subs: Vec<Subtopology> = (0..N)
        .map(|i| Subtopology {
            subtopology_id: format!("{i:05}"),
            repartition_source_topics: vec![rep(format!("r{i}"))],
            repartition_sink_topics: vec![format!("r{}", (i + 1) % N)],
            ..Default::default()
        })
        .collect();
    let t = StreamsTopology::new(Topology {
        epoch: 0,
        subtopologies: subs,
    })
    .unwrap();
    let e = configure(&t, &ClusterMetadata::new()).unwrap_err();
    assert!(e.message().contains("loops"));
}

#[test]
fn ten_thousand_character_names() {
    let long = |c: char| c.to_string().repeat(10_000);
    let subs = vec![
        Subtopology {
            subtopology_id: long('a'),
            source_topics: vec![long('s')],
            repartition_sink_topics: vec![long('r')],
            ..Default::default()
        },
        Subtopology {
            subtopology_id: long('b'),
            source_topics: vec![long('t')],
            repartition_source_topics: vec![rep(long('r'))],
            state_changelog_topics: vec![rep(long('c'))],
            copartition_groups: vec![CopartitionGroup {
                source_topics: vec![0],
                repartition_source_topics: vec![0],
                ..Default::default()
            }],
            ..Default::default()
        },
    ];
    let t = StreamsTopology::new(Topology {
        epoch: 0,
        subtopologies: subs,
    })
    .unwrap();
    let m = ClusterMetadata::new()
        .with_topic(Uuid::from_u64_pair(1, 1), long('s'), 2)
        .with_topic(Uuid::from_u64_pair(1, 2), long('t'), 3);
    let c = configure(&t, &m).unwrap();
    assert_eq!(c.number_of_tasks(&long('b')), Some(3));
    assert_eq!(c.internal_topics_to_create.len(), 2);
    let detail = c.status.unwrap().detail().to_string();
    assert!(detail.starts_with("Internal topics are missing: ccc"));
    assert_ne!(metadata_hash(&t, &m), 0);
    // Missing source topics: the detail names at most three of them.
    let c = configure(&t, &ClusterMetadata::new()).unwrap();
    assert_eq!(
        c.status.unwrap().detail(),
        format!("Source topics {}, {} are missing.", long('s'), long('t'))
    );
}
