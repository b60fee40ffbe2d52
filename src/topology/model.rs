//! The validated topology model (spec 04 §1) and its validation (spec 04 §2, spec 02 §2).

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::sync::OnceLock;

use crate::protocol::describe;
use crate::protocol::heartbeat::{Subtopology, Topology};
use crate::protocol::records::StreamsGroupTopologyValue;

use super::error::TopologyError;
use super::names::{SubtopologyTopics, TopicRole};
use super::plan::Plan;

/// A task: a subtopology id and a partition number (spec 05: task `<subtopologyId>_<partition>`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TaskRef<'a> {
    /// The subtopology the task belongs to.
    pub subtopology_id: &'a str,
    /// The task's partition number (the same number as the input partitions it reads).
    pub partition: i32,
}

/// A group's topology, validated: every copartition index is in range, subtopology ids are
/// unique, and the epoch is non-negative, so configuration can never index out of bounds.
///
/// It keeps the subtopologies exactly as the client sent them (the persisted
/// `StreamsGroupTopology` record is a verbatim copy, see [`StreamsTopology::to_record`]) and
/// adds lookups by subtopology id and by input topic.
///
/// Equality is Kafka's topology equality (spec 04 §1.1): same epoch, same set of subtopology
/// ids, and for each subtopology every field equal with arrays compared element by element
/// in order. The order of the subtopologies themselves does not matter.
#[derive(Clone, Debug)]
pub struct StreamsTopology {
    epoch: i32,
    /// In the order the client sent them.
    subtopologies: Vec<Subtopology>,
    /// Subtopology id -> index into `subtopologies`; iteration is ascending id.
    by_id: BTreeMap<String, usize>,
    /// Source topics, repartition source and changelog topic names (spec 04 §1).
    required_topics: BTreeSet<String>,
    /// Source and repartition source topic -> index of the subtopology reading it (the one with
    /// the smallest id if several do).
    input_topics: BTreeMap<String, usize>,
    /// The interned form configuration works on, built on first use (a topology that is only
    /// compared with the group's never needs it).
    plan: OnceLock<Plan>,
}

impl PartialEq for StreamsTopology {
    fn eq(&self, other: &Self) -> bool {
        self.epoch == other.epoch
            && self.by_id.len() == other.by_id.len()
            && self
                .by_id
                .iter()
                .all(|(id, &i)| other.subtopology(id) == self.subtopologies.get(i))
    }
}

impl Eq for StreamsTopology {}

impl StreamsTopology {
    /// Builds the model from the topology of a joining heartbeat, applying the coordinator's
    /// request checks in Kafka's order (spec 04 §2.2): source-topic regular expressions are
    /// not supported (`INVALID_REQUEST`), a changelog topic must not fix its partition count
    /// (`STREAMS_INVALID_TOPOLOGY`), then the structural checks of [`StreamsTopology::new`].
    ///
    /// The broker-layer name checks of spec 04 §2.1 belong to the service
    /// (`service::auth::check_topology_topic_names`).
    pub fn from_join_request(topology: &Topology) -> Result<StreamsTopology, TopologyError> {
        check_unsupported_features(topology)?;
        check_changelog_partitions(topology)?;
        StreamsTopology::new(topology.clone())
    }

    /// Rebuilds the model from a persisted `StreamsGroupTopology` record value (replay). Only
    /// the structural checks of [`StreamsTopology::new`] apply.
    pub fn from_record(value: StreamsGroupTopologyValue) -> Result<StreamsTopology, TopologyError> {
        StreamsTopology::new(value.into())
    }

    /// Validates the structure of `topology` and builds the model. Rejected with
    /// `STREAMS_INVALID_TOPOLOGY` (where Kafka would fail later with an internal error, spec 04
    /// §2.3): a negative epoch; a subtopology id used twice; a copartition group index outside
    /// its subtopology's arrays; an internal topic listed twice in one subtopology's
    /// repartition source or changelog topics; a topic config key given twice for one topic;
    /// a negative internal topic partition count.
    ///
    /// Self-contradictions that need cluster metadata to show up (loops, repartition sources
    /// never written, subtopologies without sources) are *not* checked here: they fail at
    /// [`configure`](super::configure) time, as in Kafka.
    pub fn new(topology: Topology) -> Result<StreamsTopology, TopologyError> {
        if topology.epoch < 0 {
            return Err(TopologyError::InvalidTopology(format!(
                "Topology epoch must be non-negative, but it is {}.",
                topology.epoch
            )));
        }
        let mut by_id = BTreeMap::new();
        for (i, s) in topology.subtopologies.iter().enumerate() {
            if by_id.insert(s.subtopology_id.clone(), i).is_some() {
                return Err(TopologyError::InvalidTopology(format!(
                    "Subtopology id {} is used by more than one subtopology.",
                    s.subtopology_id
                )));
            }
            check_subtopology_structure(s)?;
        }
        let mut required_topics = BTreeSet::new();
        let mut input_topics = BTreeMap::new();
        // Ascending id, first insertion wins: the smallest id reading a topic owns it.
        for &i in by_id.values() {
            let Some(s) = topology.subtopologies.get(i) else {
                continue;
            };
            for t in &s.source_topics {
                input_topics.entry(t.clone()).or_insert(i);
            }
            for t in &s.repartition_source_topics {
                input_topics.entry(t.name.clone()).or_insert(i);
            }
        }
        for s in &topology.subtopologies {
            required_topics.extend(
                s.topics()
                    .filter(|(role, _)| *role != TopicRole::RepartitionSink)
                    .map(|(_, name)| name.to_string()),
            );
        }
        Ok(StreamsTopology {
            plan: OnceLock::new(),
            epoch: topology.epoch,
            subtopologies: topology.subtopologies,
            by_id,
            required_topics,
            input_topics,
        })
    }

    pub(crate) fn plan(&self) -> &Plan {
        self.plan.get_or_init(|| {
            let order: Vec<usize> = self.by_id.values().copied().collect();
            Plan::new(&self.subtopologies, &order)
        })
    }

    /// The subtopology at `index` in client order (see [`Plan`]).
    pub(crate) fn subtopology_at(&self, index: usize) -> Option<&Subtopology> {
        self.subtopologies.get(index)
    }

    /// The topology epoch.
    pub fn epoch(&self) -> i32 {
        self.epoch
    }

    /// The subtopologies in ascending subtopology-id order.
    pub fn subtopologies(&self) -> impl Iterator<Item = &Subtopology> + '_ {
        self.by_id
            .values()
            .filter_map(|&i| self.subtopologies.get(i))
    }

    /// The number of subtopologies.
    pub fn len(&self) -> usize {
        self.subtopologies.len()
    }

    /// Whether the topology has no subtopology.
    pub fn is_empty(&self) -> bool {
        self.subtopologies.is_empty()
    }

    /// The subtopology with this id.
    pub fn subtopology(&self, id: &str) -> Option<&Subtopology> {
        self.by_id.get(id).and_then(|&i| self.subtopologies.get(i))
    }

    /// The required topics (spec 04 §1): every source topic, repartition source topic and
    /// changelog topic, ascending. Repartition sink topics are not included. The metadata hash
    /// covers exactly these, and a group "cares about" a topic iff it is in this set.
    pub fn required_topics(&self) -> &BTreeSet<String> {
        &self.required_topics
    }

    /// The subtopology reading `topic` as a source or repartition source topic (offset-commit
    /// validation and `OffsetDelete`'s "subscribed" test, spec 07 §4). Changelog and
    /// repartition sink topics are not inputs. If several subtopologies read the topic (which
    /// Kafka Streams never produces) the one with the smallest id is returned.
    pub fn subtopology_for_input_topic(&self, topic: &str) -> Option<&Subtopology> {
        self.input_topics
            .get(topic)
            .and_then(|&i| self.subtopologies.get(i))
    }

    /// The task that reads partition `partition` of input topic `topic`: the task of the
    /// subtopology reading the topic ([`StreamsTopology::subtopology_for_input_topic`]) with the
    /// same partition number. `None` if the topic is not an input of the topology or the
    /// partition is negative. Whether the task exists in the configured task space is the
    /// caller's question ([`ConfiguredTopology::number_of_tasks`](super::ConfiguredTopology::number_of_tasks)).
    pub fn task_for_partition(&self, topic: &str, partition: i32) -> Option<TaskRef<'_>> {
        if partition < 0 {
            return None;
        }
        self.subtopology_for_input_topic(topic).map(|s| TaskRef {
            subtopology_id: &s.subtopology_id,
            partition,
        })
    }

    /// The topology as the client sent it (subtopologies in the original order).
    pub fn to_heartbeat(&self) -> Topology {
        Topology {
            epoch: self.epoch,
            subtopologies: self.subtopologies.clone(),
        }
    }

    /// The topology as StreamsGroupDescribe shows it when it is not configured and ready (spec
    /// 07 §1): subtopologies by ascending id, source and sink topics sorted, repartition source
    /// and changelog topics sorted by name with the counts the client sent.
    pub fn to_describe(&self) -> describe::Topology {
        let subtopologies = self
            .subtopologies()
            .map(|s| {
                let mut source_topics = s.source_topics.clone();
                source_topics.sort();
                let mut repartition_sink_topics = s.repartition_sink_topics.clone();
                repartition_sink_topics.sort();
                let mut state_changelog_topics = s.state_changelog_topics.clone();
                state_changelog_topics.sort_by(|a, b| a.name.cmp(&b.name));
                let mut repartition_source_topics = s.repartition_source_topics.clone();
                repartition_source_topics.sort_by(|a, b| a.name.cmp(&b.name));
                describe::Subtopology {
                    subtopology_id: s.subtopology_id.clone(),
                    source_topics,
                    repartition_sink_topics,
                    state_changelog_topics,
                    repartition_source_topics,
                }
            })
            .collect();
        describe::Topology {
            epoch: self.epoch,
            subtopologies: Some(subtopologies),
        }
    }

    /// The persisted `StreamsGroupTopology` record value: a verbatim copy of the client's
    /// topology (spec 06 §2.2).
    pub fn to_record(&self) -> StreamsGroupTopologyValue {
        self.to_heartbeat().into()
    }
}

fn check_subtopology_structure(s: &Subtopology) -> Result<(), TopologyError> {
    let id = &s.subtopology_id;
    for (kind, topics) in [
        ("repartition source", &s.repartition_source_topics),
        ("changelog", &s.state_changelog_topics),
    ] {
        let mut names = HashSet::with_capacity(topics.len());
        for t in topics {
            if !names.insert(t.name.as_str()) {
                return Err(TopologyError::InvalidTopology(format!(
                    "Subtopology {id} lists {kind} topic {} more than once.",
                    t.name
                )));
            }
            if t.partitions < 0 {
                return Err(TopologyError::InvalidTopology(format!(
                    "The {kind} topic {} of subtopology {id} has a negative partition count {}.",
                    t.name, t.partitions
                )));
            }
            let mut keys = HashSet::with_capacity(t.topic_configs.len());
            for kv in &t.topic_configs {
                if !keys.insert(kv.key.as_str()) {
                    return Err(TopologyError::InvalidTopology(format!(
                        "Topic config {} of {kind} topic {} in subtopology {id} is given more than once.",
                        kv.key, t.name
                    )));
                }
            }
        }
    }
    for (g, group) in s.copartition_groups.iter().enumerate() {
        for (kind, indices, len) in [
            ("source topic", &group.source_topics, s.source_topics.len()),
            (
                "repartition source topic",
                &group.repartition_source_topics,
                s.repartition_source_topics.len(),
            ),
        ] {
            for &i in indices {
                if i < 0 || i as usize >= len {
                    return Err(TopologyError::InvalidTopology(format!(
                        "Copartition group {g} of subtopology {id} refers to {kind} index {i}, \
                         but the subtopology has {len} {kind}s."
                    )));
                }
            }
        }
    }
    Ok(())
}

/// The first coordinator request check (spec 04 §2.2 step 1, spec 02 §2a), run for any
/// request carrying a topology before the other request checks: regular expressions for source
/// topics are not supported (`INVALID_REQUEST`).
pub fn check_unsupported_features(topology: &Topology) -> Result<(), TopologyError> {
    if topology
        .subtopologies
        .iter()
        .any(|s| !s.source_topic_regex.is_empty())
    {
        return Err(TopologyError::InvalidRequest(
            "Regular expressions for source topics are not supported yet.".to_string(),
        ));
    }
    Ok(())
}

/// Spec 04 §2.2 step 3: a changelog topic's partition count must be left to the coordinator
/// (`STREAMS_INVALID_TOPOLOGY`). Part of [`StreamsTopology::from_join_request`].
pub(crate) fn check_changelog_partitions(topology: &Topology) -> Result<(), TopologyError> {
    for s in &topology.subtopologies {
        for t in &s.state_changelog_topics {
            if t.partitions != 0 {
                return Err(TopologyError::InvalidTopology(format!(
                    "Changelog topic {} must have an undefined partition count, but it is set to {}.",
                    t.name, t.partitions
                )));
            }
        }
    }
    Ok(())
}
