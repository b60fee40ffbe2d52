//! A decoded topology through validation and configuration against input-chosen cluster
//! metadata (docs/fuzzing.md).
//!
//! Input: `[form, n, (name, partitions) * n, body...]`. `form` bit 0 picks how `body` is read:
//! a StreamsGroupHeartbeat request (version `form >> 1 & 1`) whose topology is taken, or a
//! `StreamsGroupTopology` record value. Then `n % 8` topics are put in the metadata, each
//! named after one of the topology's own topics (`name` indexes its sorted names) with
//! `1 + partitions % 16` partitions.
//!
//! Properties: no call panics; configuring is deterministic; once the broker has created the
//! internal topics the configuration asked for, configuring again does not ask for them
//! again; the model survives its record form; the ready task space answers queries.

#![no_main]

use std::collections::{BTreeMap, BTreeSet};

use libfuzzer_sys::fuzz_target;
use streams_coordinator::protocol::heartbeat::Topology;
use streams_coordinator::protocol::records::StreamsGroupTopologyValue;
use streams_coordinator::protocol::{Message, StreamsGroupHeartbeatRequest, Uuid};
use streams_coordinator::topology::{
    configure, metadata_hash, ClusterMetadata, StreamsTopology, TopicMetadata,
};

fn names(t: &Topology) -> Vec<String> {
    let mut names = BTreeSet::new();
    for s in &t.subtopologies {
        names.extend(s.source_topics.iter().cloned());
        names.extend(s.repartition_sink_topics.iter().cloned());
        names.extend(s.state_changelog_topics.iter().map(|t| t.name.clone()));
        names.extend(s.repartition_source_topics.iter().map(|t| t.name.clone()));
    }
    names.into_iter().collect()
}

fn topic_id(n: u64) -> Uuid {
    Uuid::from_u64_pair(0x7070_0000_0000_0001, n)
}

fn check(model: &StreamsTopology, metadata: &mut ClusterMetadata) {
    let first = configure(model, metadata);
    assert_eq!(
        first,
        configure(model, metadata),
        "configure is deterministic"
    );
    assert_eq!(
        metadata_hash(model, metadata),
        metadata_hash(model, metadata)
    );

    let Ok(configured) = first else {
        return;
    };
    if let Some(subs) = &configured.subtopologies {
        let tasks: BTreeMap<String, BTreeSet<i32>> = subs
            .iter()
            .map(|(id, s)| (id.clone(), (0..s.number_of_tasks.min(64)).collect()))
            .collect();
        let _ = configured.input_partitions_for_tasks(&tasks, metadata);
        let _ = configured.task_counts().count();
        let _ = configured.to_describe();
    }

    // The broker creates what was asked for; the next configuration must not ask again.
    let created: BTreeSet<String> = configured
        .internal_topics_to_create
        .iter()
        .map(|t| t.name.clone())
        .collect();
    let mut n = metadata.len() as u64;
    for t in &configured.internal_topics_to_create {
        if metadata.topic(&t.name).is_none() && (1..=4096).contains(&t.partitions) {
            n += 1;
            metadata.insert(TopicMetadata::new(
                topic_id(n),
                t.name.clone(),
                t.partitions,
            ));
        }
    }
    if let Ok(again) = configure(model, metadata) {
        for t in &again.internal_topics_to_create {
            assert!(
                !created.contains(&t.name) || metadata.topic(&t.name).is_none(),
                "topic {} was created as asked but is asked for again",
                t.name
            );
        }
        let _ = again.to_describe();
    }
}

fuzz_target!(|data: &[u8]| {
    let [form, n, rest @ ..] = data else {
        return;
    };
    let n = usize::from(n % 8);
    if rest.len() < 2 * n {
        return;
    }
    let (picks, body) = rest.split_at(2 * n);

    let model = if form & 1 == 0 {
        let version = i16::from(form >> 1 & 1);
        let Ok(req) = StreamsGroupHeartbeatRequest::decode(body, version) else {
            return;
        };
        let Some(topology) = req.topology else {
            return;
        };
        StreamsTopology::from_join_request(&topology).map(|m| (topology, m))
    } else {
        let Ok(value) = StreamsGroupTopologyValue::decode(body, 0) else {
            return;
        };
        let topology: Topology = value.clone().into();
        StreamsTopology::from_record(value).map(|m| (topology, m))
    };
    let Ok((topology, model)) = model else {
        return;
    };

    // The record form rebuilds the same model.
    let record = model.to_record();
    let again = StreamsTopology::from_record(record.clone()).expect("own record form is valid");
    assert_eq!(again, model, "record form round trip");
    assert!(record.to_bytes(0).is_ok(), "record form encodes");
    let _ = model.to_heartbeat();
    let _ = model.to_describe();

    let names = names(&topology);
    let mut metadata = ClusterMetadata::new();
    if !names.is_empty() {
        for (i, pair) in picks.chunks_exact(2).enumerate() {
            let name = &names[usize::from(pair[0]) % names.len()];
            let partitions = 1 + i32::from(pair[1] % 16);
            metadata.insert(TopicMetadata::new(
                topic_id(i as u64),
                name.clone(),
                partitions,
            ));
        }
    }
    check(&model, &mut metadata);
});
