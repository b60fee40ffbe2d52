//! Configuring a 1,000-subtopology topology (issue 3 target: under 5 ms).
//!
//! The topology is 250 copies of a typical four-subtopology Streams application: read an
//! input and repartition it (a), join it with a table topic under copartitioning and
//! repartition again (b), aggregate (c), aggregate again (d); b, c and d keep state. That is
//! 1,000 subtopologies, 750 repartition topics, 750 changelogs and 500 external topics.

use criterion::{black_box, criterion_group, criterion_main, BatchSize, Criterion};
use streams_coordinator::protocol::heartbeat::{
    CopartitionGroup, Subtopology, TopicInfo, Topology,
};
use streams_coordinator::protocol::Uuid;
use streams_coordinator::topology::{configure, metadata_hash, ClusterMetadata, StreamsTopology};

const APPS: usize = 250;

fn info(name: String) -> TopicInfo {
    TopicInfo {
        name,
        ..Default::default()
    }
}

fn topology() -> Topology {
    let mut subs = Vec::with_capacity(APPS * 4);
    for k in 0..APPS {
        let id = |x: usize| format!("{}", 4 * k + x);
        subs.push(Subtopology {
            subtopology_id: id(0),
            source_topics: vec![format!("input-{k}")],
            repartition_sink_topics: vec![format!("app-{k}-a-repartition")],
            ..Default::default()
        });
        subs.push(Subtopology {
            subtopology_id: id(1),
            source_topics: vec![format!("table-{k}")],
            repartition_source_topics: vec![info(format!("app-{k}-a-repartition"))],
            repartition_sink_topics: vec![format!("app-{k}-b-repartition")],
            state_changelog_topics: vec![info(format!("app-{k}-table-changelog"))],
            copartition_groups: vec![CopartitionGroup {
                source_topics: vec![0],
                repartition_source_topics: vec![0],
                ..Default::default()
            }],
            ..Default::default()
        });
        subs.push(Subtopology {
            subtopology_id: id(2),
            repartition_source_topics: vec![info(format!("app-{k}-b-repartition"))],
            repartition_sink_topics: vec![format!("app-{k}-c-repartition")],
            state_changelog_topics: vec![info(format!("app-{k}-agg-changelog"))],
            ..Default::default()
        });
        subs.push(Subtopology {
            subtopology_id: id(3),
            repartition_source_topics: vec![info(format!("app-{k}-c-repartition"))],
            state_changelog_topics: vec![info(format!("app-{k}-final-changelog"))],
            ..Default::default()
        });
    }
    Topology {
        epoch: 1,
        subtopologies: subs,
    }
}

fn externals() -> ClusterMetadata {
    let mut m = ClusterMetadata::new();
    for k in 0..APPS {
        m = m
            .with_topic(Uuid::from_u64_pair(1, k as u64), format!("input-{k}"), 12)
            .with_topic(Uuid::from_u64_pair(2, k as u64), format!("table-{k}"), 16);
    }
    m
}

fn bench(c: &mut Criterion) {
    let raw = topology();
    let t = StreamsTopology::new(raw.clone()).expect("valid");
    let missing = externals();
    let first = configure(&t, &missing).expect("configurable");
    assert_eq!(first.internal_topics_to_create.len(), 3 * APPS * 2);
    let mut ready = missing.clone();
    for (i, it) in first.internal_topics_to_create.iter().enumerate() {
        ready = ready.with_topic(
            Uuid::from_u64_pair(3, i as u64),
            it.name.clone(),
            it.partitions,
        );
    }
    assert!(configure(&t, &ready).expect("configurable").is_ready());

    c.bench_function("topology/validate 1000 subtopologies", |b| {
        b.iter_batched(
            || raw.clone(),
            |raw| StreamsTopology::new(black_box(raw)),
            BatchSize::SmallInput,
        )
    });
    c.bench_function(
        "topology/configure 1000 subtopologies, first time (plan built)",
        |b| {
            b.iter_batched_ref(
                || StreamsTopology::new(raw.clone()).expect("valid"),
                |t| configure(black_box(t), black_box(&missing)),
                BatchSize::SmallInput,
            )
        },
    );
    c.bench_function(
        "topology/configure 1000 subtopologies, internal topics missing",
        |b| b.iter(|| configure(black_box(&t), black_box(&missing))),
    );
    c.bench_function("topology/configure 1000 subtopologies, ready", |b| {
        b.iter(|| configure(black_box(&t), black_box(&ready)))
    });
    c.bench_function("topology/metadata_hash 2000 required topics", |b| {
        b.iter(|| metadata_hash(black_box(&t), black_box(&ready)))
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
