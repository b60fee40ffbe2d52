//! Configuring a topology against cluster metadata (spec 04 §3).

use std::cmp::Reverse;
use std::collections::{BTreeMap, BTreeSet, BinaryHeap, HashMap};

use crate::protocol::describe;
use crate::protocol::heartbeat::{KeyValue, Subtopology, TopicInfo};
use crate::protocol::StatusCode;

use super::error::TopologyError;
use super::metadata::ClusterMetadata;
use super::model::StreamsTopology;

/// Why a configured topology is not ready (spec 04 §7). The heartbeat succeeds and every
/// member's response carries this status; the group stays `NOT_READY`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TopicConfigurationStatus {
    /// `MISSING_SOURCE_TOPICS` (1): `Source topics <summary> are missing.`
    MissingSourceTopics(String),
    /// `INCORRECTLY_PARTITIONED_TOPICS` (2): copartitioned topics disagree, a fixed repartition
    /// topic disagrees with its copartition group, or an existing internal topic has another
    /// partition count than required.
    IncorrectlyPartitionedTopics(String),
    /// `MISSING_INTERNAL_TOPICS` (3): `Internal topics are missing: <summary>`; the broker must
    /// create [`ConfiguredTopology::internal_topics_to_create`].
    MissingInternalTopics(String),
}

impl TopicConfigurationStatus {
    /// The heartbeat status code.
    pub fn code(&self) -> StatusCode {
        match self {
            TopicConfigurationStatus::MissingSourceTopics(_) => StatusCode::MISSING_SOURCE_TOPICS,
            TopicConfigurationStatus::IncorrectlyPartitionedTopics(_) => {
                StatusCode::INCORRECTLY_PARTITIONED_TOPICS
            }
            TopicConfigurationStatus::MissingInternalTopics(_) => {
                StatusCode::MISSING_INTERNAL_TOPICS
            }
        }
    }

    /// The status detail, exactly as Kafka words it.
    pub fn detail(&self) -> &str {
        match self {
            TopicConfigurationStatus::MissingSourceTopics(d)
            | TopicConfigurationStatus::IncorrectlyPartitionedTopics(d)
            | TopicConfigurationStatus::MissingInternalTopics(d) => d,
        }
    }
}

/// A repartition source or changelog topic with its decided partition count.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfiguredInternalTopic {
    /// The topic name.
    pub name: String,
    /// The partition count: the topology's fixed count if it gave one, else the decided one.
    pub partitions: i32,
    /// The replication factor the topology asked for; `None` when it said 0 (broker default).
    pub replication_factor: Option<i16>,
    /// The topic configs the topology gave, by key.
    pub configs: BTreeMap<String, String>,
}

/// A subtopology configured against the cluster.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfiguredSubtopology {
    /// The number of tasks: the largest partition count among the subtopology's source and
    /// repartition source topics (always at least 1 in a real cluster). Task `p` reads
    /// partition `p` of every input topic that has one.
    pub number_of_tasks: i32,
    /// The external source topics.
    pub source_topics: BTreeSet<String>,
    /// The repartition topics read, by name.
    pub repartition_source_topics: BTreeMap<String, ConfiguredInternalTopic>,
    /// The repartition topics written.
    pub repartition_sink_topics: BTreeSet<String>,
    /// The changelog topics, by name.
    pub state_changelog_topics: BTreeMap<String, ConfiguredInternalTopic>,
}

impl ConfiguredSubtopology {
    /// Whether the subtopology has state (at least one changelog topic); only stateful tasks
    /// get standby replicas.
    pub fn is_stateful(&self) -> bool {
        !self.state_changelog_topics.is_empty()
    }
}

/// An internal topic the broker must create (Kafka's `CreatableTopic` without assignments).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InternalTopic {
    /// The topic name.
    pub name: String,
    /// The number of partitions.
    pub partitions: i32,
    /// The replication factor, -1 for the broker default.
    pub replication_factor: i16,
    /// Topic-level configs, by key.
    pub configs: BTreeMap<String, String>,
}

/// The result of [`configure`]: the group's topology as it maps onto the cluster right now.
/// An in-memory cache of the group, recomputed when the group's metadata hash changes (spec
/// 04 §5); never persisted.
///
/// | outcome | `subtopologies` | `internal_topics_to_create` | `status` |
/// |---|---|---|---|
/// | ready | `Some` | empty | `None` |
/// | missing internal topics | `Some` | non-empty | `MissingInternalTopics` |
/// | missing source topics | `None` | empty | `MissingSourceTopics` |
/// | incorrectly partitioned | `None` | empty | `IncorrectlyPartitionedTopics` |
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfiguredTopology {
    /// The epoch of the topology this was computed from.
    pub topology_epoch: i32,
    /// The configured subtopologies by ascending id; `None` when the topics could not be
    /// configured at all.
    pub subtopologies: Option<BTreeMap<String, ConfiguredSubtopology>>,
    /// The internal topics that do not exist yet, ascending by name.
    pub internal_topics_to_create: Vec<InternalTopic>,
    /// Why the topology is not ready, if it is not.
    pub status: Option<TopicConfigurationStatus>,
}

impl ConfiguredTopology {
    /// Ready: every topic exists with the right partition count, so tasks may be assigned.
    pub fn is_ready(&self) -> bool {
        self.status.is_none()
    }

    /// The number of tasks of a configured subtopology (`None` if unknown or not configured).
    pub fn number_of_tasks(&self, subtopology_id: &str) -> Option<i32> {
        self.subtopologies
            .as_ref()?
            .get(subtopology_id)
            .map(|s| s.number_of_tasks)
    }

    /// `(subtopology id, number of tasks, stateful)` for every configured subtopology, ascending
    /// id: the task space the assignor works on (spec 04 §6). Empty when not configured.
    pub fn task_counts(&self) -> impl Iterator<Item = (&str, i32, bool)> + '_ {
        self.subtopologies
            .iter()
            .flat_map(|m| m.iter())
            .map(|(id, s)| (id.as_str(), s.number_of_tasks, s.is_stateful()))
    }

    /// The topology as StreamsGroupDescribe shows it when this configured topology is ready
    /// (spec 07 §1): subtopologies by ascending id, topic lists sorted, internal topics with
    /// their decided partition counts, replication factor 0 when unset, and configs sorted by
    /// key. A topology that is not configured shows no subtopologies (an empty list, as Kafka).
    pub fn to_describe(&self) -> describe::Topology {
        let topic = |t: &ConfiguredInternalTopic| describe::TopicInfo {
            name: t.name.clone(),
            partitions: t.partitions,
            replication_factor: t.replication_factor.unwrap_or(0),
            topic_configs: t
                .configs
                .iter()
                .map(|(k, v)| KeyValue {
                    key: k.clone(),
                    value: v.clone(),
                })
                .collect(),
        };
        let subtopologies = self
            .subtopologies
            .iter()
            .flat_map(|m| m.iter())
            .map(|(id, s)| describe::Subtopology {
                subtopology_id: id.clone(),
                source_topics: s.source_topics.iter().cloned().collect(),
                repartition_sink_topics: s.repartition_sink_topics.iter().cloned().collect(),
                state_changelog_topics: s.state_changelog_topics.values().map(topic).collect(),
                repartition_source_topics: s
                    .repartition_source_topics
                    .values()
                    .map(topic)
                    .collect(),
            })
            .collect();
        describe::Topology {
            epoch: self.topology_epoch,
            subtopologies: Some(subtopologies),
        }
    }

    /// The input partitions of a set of tasks (the Interactive Queries endpoint map, spec 02
    /// §12): for each task `(subtopology, p)` in `tasks`, partition `p` of every source and
    /// repartition source topic of that subtopology that has more than `p` partitions in
    /// `metadata`. One entry per (subtopology ascending, topic ascending) with its partitions
    /// ascending; topics without any such partition, topics absent from `metadata` and
    /// subtopologies not configured are left out (so a topology that is not configured maps
    /// to nothing, where Kafka fails the heartbeat).
    pub fn input_partitions_for_tasks<'a>(
        &'a self,
        tasks: &BTreeMap<String, BTreeSet<i32>>,
        metadata: &ClusterMetadata,
    ) -> Vec<(&'a str, Vec<i32>)> {
        let mut out = Vec::new();
        let Some(subtopologies) = &self.subtopologies else {
            return out;
        };
        for (id, partitions) in tasks {
            let Some(s) = subtopologies.get(id) else {
                continue;
            };
            let mut topics: Vec<&str> = s
                .source_topics
                .iter()
                .chain(s.repartition_source_topics.keys())
                .map(String::as_str)
                .collect();
            topics.sort_unstable();
            topics.dedup();
            for topic in topics {
                let Some(count) = metadata.partition_count(topic) else {
                    continue;
                };
                let ps: Vec<i32> = partitions
                    .iter()
                    .copied()
                    .filter(|&p| p >= 0 && p < count)
                    .collect();
                if !ps.is_empty() {
                    out.push((topic, ps));
                }
            }
        }
        out
    }
}

/// Kafka's topic summary (spec 04 §7.1): `<none>`, or the first three names joined with
/// `", "` plus ` and <k> additional topics` when there are more.
pub(crate) fn summarize_topics<'a>(topics: impl ExactSizeIterator<Item = &'a str>) -> String {
    let total = topics.len();
    if total == 0 {
        return "<none>".to_string();
    }
    let shown: Vec<&str> = topics.take(3).collect();
    let mut s = shown.join(", ");
    if total > 3 {
        s.push_str(&format!(" and {} additional topics", total - 3));
    }
    s
}

/// What stops configuration early: a topology error (fails the heartbeat) or a
/// not-configurable status (heartbeat succeeds, nothing configured).
enum Stop {
    Error(TopologyError),
    Status(TopicConfigurationStatus),
}

impl From<TopologyError> for Stop {
    fn from(e: TopologyError) -> Stop {
        Stop::Error(e)
    }
}

fn incorrectly_partitioned(detail: String) -> Stop {
    Stop::Status(TopicConfigurationStatus::IncorrectlyPartitionedTopics(
        detail,
    ))
}

/// The partition count provider of spec 04 §3.0: the actual count of an existing topic wins
/// over a decision.
struct Counts<'a> {
    metadata: &'a ClusterMetadata,
    decided: HashMap<&'a str, i32>,
}

impl<'a> Counts<'a> {
    fn count(&self, topic: &str) -> Option<i32> {
        self.metadata
            .partition_count(topic)
            .or_else(|| self.decided.get(topic).copied())
    }
}

/// Configures `topology` against `metadata` (spec 04 §3): decides every internal topic's
/// partition count, each subtopology's number of tasks and the internal topics to create.
///
/// The steps, in order (each stops at its first failure):
///
/// 1. **Missing source topics.** Every source topic must exist; otherwise the result is not
///    configured, with status `MISSING_SOURCE_TOPICS`.
/// 2. **Repartition topics.** Fixed repartition topics keep their count. A flexible one gets
///    the largest partition count among the inputs of the subtopology *writing* it. That
///    writer's inputs may themselves be repartition topics still undecided, so this repeats
///    until nothing changes. If some repartition sink can never be decided (a loop, or a
///    chain with no start) or some repartition source is written by no subtopology, the
///    topology is self-contradictory: `Err` (`STREAMS_INVALID_TOPOLOGY`).
/// 3. **Copartitioning.** In each copartition group the external topics must already agree
///    (else status `INCORRECTLY_PARTITIONED_TOPICS`) and every repartition topic in the group
///    is set to their count; a group of repartition topics only takes the common count of the
///    topology's fixed repartition topics if it has any, else the group's largest count.
/// 4. **Changelogs.** Each changelog topic gets its subtopology's largest input partition
///    count; a subtopology with no input at all is an `Err`.
/// 5. **Tasks.** Each subtopology has as many tasks as its largest input topic has partitions.
/// 6. **Topics to create.** Every internal topic that does not exist must be created; an
///    existing one with another partition count gives `INCORRECTLY_PARTITIONED_TOPICS`. If any
///    must be created the status is `MISSING_INTERNAL_TOPICS`, otherwise the topology is ready.
///
/// The result is a pure function of the inputs. Where Kafka iterates a hash map, subtopologies
/// are visited in ascending id order (and copartition groups in their listed order). Runs
/// in O(n log n) in the size of the topology and its metadata lookups.
pub fn configure(
    topology: &StreamsTopology,
    metadata: &ClusterMetadata,
) -> Result<ConfiguredTopology, TopologyError> {
    match configure_inner(topology, metadata) {
        Ok(configured) => Ok(configured),
        Err(Stop::Error(e)) => Err(e),
        Err(Stop::Status(status)) => Ok(ConfiguredTopology {
            topology_epoch: topology.epoch(),
            subtopologies: None,
            internal_topics_to_create: Vec::new(),
            status: Some(status),
        }),
    }
}

fn configure_inner(
    topology: &StreamsTopology,
    metadata: &ClusterMetadata,
) -> Result<ConfiguredTopology, Stop> {
    let subs: Vec<&Subtopology> = topology.subtopologies().collect();

    // Step 2 of spec 04 §3: missing external source topics.
    let missing: BTreeSet<&str> = subs
        .iter()
        .flat_map(|s| s.source_topics.iter())
        .map(String::as_str)
        .filter(|t| metadata.topic(t).is_none())
        .collect();
    if !missing.is_empty() {
        return Err(Stop::Status(TopicConfigurationStatus::MissingSourceTopics(
            format!(
                "Source topics {} are missing.",
                summarize_topics(missing.iter().copied())
            ),
        )));
    }

    let mut counts = Counts {
        metadata,
        decided: HashMap::new(),
    };

    // Step 3: repartition topics.
    decide_repartition_counts(&subs, &mut counts)?;

    // Step 4: copartition enforcement.
    enforce_copartitioning(&subs, &mut counts)?;

    // Step 5: changelog topics.
    for s in &subs {
        if s.source_topics.is_empty() && s.repartition_source_topics.is_empty() {
            return Err(Stop::Error(TopologyError::InvalidTopology(format!(
                "No source topics found for subtopology {}",
                s.subtopology_id
            ))));
        }
        let m = max_input_count(s, &counts);
        for c in &s.state_changelog_topics {
            counts.decided.insert(&c.name, m);
        }
    }

    // Step 6: configured subtopologies. The number of tasks is recomputed after step 5 (as
    // Kafka does) because a changelog decision is visible to count() if a changelog topic is
    // also some subtopology's input.
    let mut configured = BTreeMap::new();
    for s in &subs {
        let number_of_tasks = max_input_count(s, &counts);
        let internal = |t: &TopicInfo| ConfiguredInternalTopic {
            name: t.name.clone(),
            partitions: if t.partitions != 0 {
                t.partitions
            } else {
                counts.decided.get(t.name.as_str()).copied().unwrap_or(0)
            },
            replication_factor: (t.replication_factor != 0).then_some(t.replication_factor),
            configs: t
                .topic_configs
                .iter()
                .map(|kv| (kv.key.clone(), kv.value.clone()))
                .collect(),
        };
        configured.insert(
            s.subtopology_id.clone(),
            ConfiguredSubtopology {
                number_of_tasks,
                source_topics: s.source_topics.iter().cloned().collect(),
                repartition_source_topics: s
                    .repartition_source_topics
                    .iter()
                    .map(|t| (t.name.clone(), internal(t)))
                    .collect(),
                repartition_sink_topics: s.repartition_sink_topics.iter().cloned().collect(),
                state_changelog_topics: s
                    .state_changelog_topics
                    .iter()
                    .map(|t| (t.name.clone(), internal(t)))
                    .collect(),
            },
        );
    }

    // Step 7: internal topics to create, and the partition check of existing ones.
    let mut to_create: BTreeMap<String, InternalTopic> = BTreeMap::new();
    for s in configured.values() {
        for t in s
            .repartition_source_topics
            .values()
            .chain(s.state_changelog_topics.values())
        {
            to_create.insert(
                t.name.clone(),
                InternalTopic {
                    name: t.name.clone(),
                    partitions: t.partitions,
                    replication_factor: match t.replication_factor {
                        Some(rf) if rf != 0 => rf,
                        _ => -1,
                    },
                    configs: t.configs.clone(),
                },
            );
        }
    }
    for topic in topology.required_topics() {
        let Some(actual) = metadata.partition_count(topic) else {
            continue;
        };
        if let Some(expected) = to_create.remove(topic) {
            if actual != expected.partitions {
                return Err(incorrectly_partitioned(format!(
                    "Existing topic {topic} has different number of partitions: expected {}, found {actual}",
                    expected.partitions
                )));
            }
        }
    }
    let status = (!to_create.is_empty()).then(|| {
        TopicConfigurationStatus::MissingInternalTopics(format!(
            "Internal topics are missing: {}",
            summarize_topics(to_create.keys().map(String::as_str))
        ))
    });
    Ok(ConfiguredTopology {
        topology_epoch: topology.epoch(),
        subtopologies: Some(configured),
        internal_topics_to_create: to_create.into_values().collect(),
        status,
    })
}

/// The largest count() over a subtopology's source and repartition source topics. Every input
/// has a count once steps 2 and 3 succeeded (Kafka fails with an internal error otherwise);
/// 0 stands in for the impossible "none".
fn max_input_count(s: &Subtopology, counts: &Counts<'_>) -> i32 {
    s.source_topics
        .iter()
        .map(String::as_str)
        .chain(s.repartition_source_topics.iter().map(|t| t.name.as_str()))
        .filter_map(|t| counts.count(t))
        .max()
        .unwrap_or(0)
}

/// Step 3 (spec 04 §3.3), the fix-point over repartition sink topics.
///
/// Kafka loops in passes over all subtopologies until no sink topic is left undecided (or a
/// pass makes no progress). A chain of n subtopologies can need n passes, so the literal loop
/// is quadratic. This computes the same decisions event-driven: a subtopology acts at its
/// first visit (pass, position) at which one of its inputs is known, which is the visit after
/// the one that decided that input. Visits are processed in (pass, position) order with a
/// heap, so each subtopology acts once and each decision wakes only its readers.
fn decide_repartition_counts<'a>(
    subs: &[&'a Subtopology],
    counts: &mut Counts<'a>,
) -> Result<(), Stop> {
    // Fixed repartition topics: decided from the start (a later subtopology's value wins if
    // two list the same name with different counts).
    for s in subs {
        for t in &s.repartition_source_topics {
            if t.partitions != 0 {
                counts.decided.insert(&t.name, t.partitions);
            }
        }
    }
    // Readers of every repartition topic, by position.
    let mut readers: HashMap<&str, Vec<usize>> = HashMap::new();
    for (i, s) in subs.iter().enumerate() {
        for t in &s.repartition_source_topics {
            readers.entry(t.name.as_str()).or_default().push(i);
        }
    }
    let mut acted = vec![false; subs.len()];
    let mut visits: BinaryHeap<Reverse<(usize, usize)>> = BinaryHeap::new();
    for (i, s) in subs.iter().enumerate() {
        let has_input = s.source_topics.iter().any(|t| counts.count(t).is_some())
            || s.repartition_source_topics
                .iter()
                .any(|t| counts.decided.contains_key(t.name.as_str()));
        if has_input {
            visits.push(Reverse((0, i)));
        }
    }
    while let Some(Reverse((pass, i))) = visits.pop() {
        let Some(s) = subs.get(i) else {
            continue;
        };
        if std::mem::replace(&mut acted[i], true) {
            continue;
        }
        if s.repartition_sink_topics
            .iter()
            .all(|t| counts.decided.contains_key(t.as_str()))
        {
            continue;
        }
        // The max over the writer's inputs known at this visit.
        let from_repartition = s
            .repartition_source_topics
            .iter()
            .filter_map(|t| counts.decided.get(t.name.as_str()).copied());
        let from_sources = s.source_topics.iter().filter_map(|t| counts.count(t));
        let Some(c) = from_repartition.chain(from_sources).max() else {
            continue; // cannot happen: only subtopologies with a known input are visited
        };
        for sink in &s.repartition_sink_topics {
            if counts.decided.contains_key(sink.as_str()) {
                continue;
            }
            counts.decided.insert(sink, c);
            for &r in readers.get(sink.as_str()).map_or(&[][..], Vec::as_slice) {
                if !acted.get(r).copied().unwrap_or(true) {
                    let next_pass = if r > i { pass } else { pass + 1 };
                    visits.push(Reverse((next_pass, r)));
                }
            }
        }
    }
    let all_sinks_decided = subs.iter().all(|s| {
        s.repartition_sink_topics
            .iter()
            .all(|t| counts.decided.contains_key(t.as_str()))
    });
    if !all_sinks_decided {
        return Err(Stop::Error(TopologyError::InvalidTopology(
            "Failed to compute number of partitions for all repartition topics. There may be \
             loops in the topology that cannot be resolved."
                .to_string(),
        )));
    }
    let all_sources_decided = subs.iter().all(|s| {
        s.repartition_source_topics
            .iter()
            .all(|t| counts.decided.contains_key(t.name.as_str()))
    });
    if !all_sources_decided {
        return Err(Stop::Error(TopologyError::InvalidTopology(
            "Failed to compute number of partitions for all repartition topics, because a \
             repartition source topic is never used as a sink topic."
                .to_string(),
        )));
    }
    Ok(())
}

/// Renders a sorted map as Java's `TreeMap.toString()`: `{a=1, b=2}`.
fn render_counts(map: &BTreeMap<&str, i32>) -> String {
    let inner: Vec<String> = map.iter().map(|(k, v)| format!("{k}={v}")).collect();
    format!("{{{}}}", inner.join(", "))
}

/// The fixed repartition topics of the whole topology, as copartition enforcement sees them.
enum FixedRepartition {
    NoneInTopology,
    AllEqual(i32),
    Disagree,
}

/// Step 4 (spec 04 §3.4), copartition enforcement, for every group of every subtopology in
/// ascending subtopology order.
fn enforce_copartitioning<'a>(
    subs: &[&'a Subtopology],
    counts: &mut Counts<'a>,
) -> Result<(), Stop> {
    let mut fixed: BTreeSet<&str> = BTreeSet::new();
    let mut flexible: BTreeSet<&str> = BTreeSet::new();
    for s in subs {
        for t in &s.repartition_source_topics {
            if t.partitions != 0 {
                fixed.insert(&t.name);
            } else {
                flexible.insert(&t.name);
            }
        }
    }
    // Whether all fixed repartition topics agree, and on what. Their counts cannot change
    // during this step (a fixed topic whose decision would change is an error), so this is
    // computed once instead of once per copartition group.
    let mut fixed_counts = fixed.iter().map(|t| counts.count(t));
    let fixed_common = match fixed_counts.next() {
        None => FixedRepartition::NoneInTopology,
        Some(first) if fixed_counts.all(|c| c == first) => match first {
            Some(n) => FixedRepartition::AllEqual(n),
            None => FixedRepartition::Disagree,
        },
        Some(_) => FixedRepartition::Disagree,
    };

    for s in subs {
        for group in &s.copartition_groups {
            let mut members: BTreeSet<&str> = BTreeSet::new();
            for &i in &group.source_topics {
                if let Some(t) = usize::try_from(i).ok().and_then(|i| s.source_topics.get(i)) {
                    members.insert(t);
                }
            }
            for &i in &group.repartition_source_topics {
                if let Some(t) = usize::try_from(i)
                    .ok()
                    .and_then(|i| s.repartition_source_topics.get(i))
                {
                    members.insert(&t.name);
                }
            }
            if members.is_empty() {
                continue;
            }
            let mut repartition: BTreeMap<&str, i32> = BTreeMap::new();
            let mut external: BTreeMap<&str, i32> = BTreeMap::new();
            for &t in &members {
                // Every member has a count after steps 2 and 3; 0 stands in for the
                // impossible "undefined" (Kafka would fail with an internal error).
                let c = counts.count(t).unwrap_or(0);
                if fixed.contains(t) || flexible.contains(t) {
                    repartition.insert(t, c);
                } else {
                    external.insert(t, c);
                }
            }
            let n = if external.is_empty() {
                match fixed_common {
                    FixedRepartition::AllEqual(n) => n,
                    FixedRepartition::Disagree => {
                        return Err(incorrectly_partitioned(format!(
                            "Following topics do not have the same number of partitions: [{}]",
                            render_counts(&repartition)
                        )));
                    }
                    FixedRepartition::NoneInTopology => {
                        let max = repartition.values().copied().max().unwrap_or(0);
                        if max == 0 {
                            let names: Vec<&str> = repartition.keys().copied().collect();
                            return Err(Stop::Error(TopologyError::InvalidTopology(format!(
                                "All topics in the copartition group had undefined partition number: [{}]",
                                names.join(", ")
                            ))));
                        }
                        max
                    }
                }
            } else {
                let mut values = external.values().copied();
                let first = values.next().unwrap_or(0);
                if values.any(|v| v != first) {
                    return Err(incorrectly_partitioned(format!(
                        "Following topics do not have the same number of partitions: [{}]",
                        render_counts(&external)
                    )));
                }
                first
            };
            for (&t, &c) in &repartition {
                counts.decided.insert(t, n);
                if fixed.contains(t) && c != n {
                    return Err(incorrectly_partitioned(format!(
                        "Number of partitions [{c}] of repartition topic [{t}] doesn't match number \
                         of partitions [{n}] of the source topic."
                    )));
                }
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::heartbeat::TopicInfo;
    use crate::protocol::Uuid;
    use proptest::prelude::*;

    /// Kafka's literal pass-by-pass loop (spec 04 §3.3), subtopologies in ascending id order.
    fn naive_step3<'a>(subs: &[&'a Subtopology], counts: &mut Counts<'a>) -> Result<(), String> {
        for s in subs {
            for t in &s.repartition_source_topics {
                if t.partitions != 0 {
                    counts.decided.insert(&t.name, t.partitions);
                }
            }
        }
        loop {
            let mut needed = false;
            let mut progress = false;
            for s in subs {
                for sink in &s.repartition_sink_topics {
                    if counts.decided.contains_key(sink.as_str()) {
                        continue;
                    }
                    let c = s
                        .repartition_source_topics
                        .iter()
                        .filter_map(|r| counts.decided.get(r.name.as_str()).copied())
                        .chain(s.source_topics.iter().filter_map(|t| counts.count(t)))
                        .max();
                    match c {
                        None => needed = true,
                        Some(c) => {
                            counts.decided.insert(sink, c);
                            progress = true;
                        }
                    }
                }
            }
            if needed && !progress {
                return Err("loop".into());
            }
            if !needed {
                break;
            }
        }
        for s in subs {
            for t in &s.repartition_source_topics {
                if !counts.decided.contains_key(t.name.as_str()) {
                    return Err("never a sink".into());
                }
            }
        }
        Ok(())
    }

    fn fast_step3<'a>(subs: &[&'a Subtopology], counts: &mut Counts<'a>) -> Result<(), String> {
        decide_repartition_counts(subs, counts).map_err(|e| match e {
            Stop::Error(e) if e.message().contains("loops") => "loop".to_string(),
            Stop::Error(_) => "never a sink".to_string(),
            Stop::Status(_) => "status".to_string(),
        })
    }

    /// Random subtopologies over externals e0..e3 and repartition topics r0..r5 (loops,
    /// self-loops, unwritten and unread topics included).
    fn arb_subs() -> impl Strategy<Value = Vec<Subtopology>> {
        let one = (
            proptest::collection::vec(0..4usize, 0..3),
            proptest::collection::vec(
                (0..6usize, prop_oneof![3 => Just(0i32), 1 => 1..9i32]),
                0..3,
            ),
            proptest::collection::vec(0..6usize, 0..3),
        );
        proptest::collection::vec(one, 1..9).prop_map(|subs| {
            subs.into_iter()
                .enumerate()
                .map(|(i, (sources, rsources, sinks))| Subtopology {
                    subtopology_id: format!("s{}", (i * 7) % 10),
                    source_topics: sources.iter().map(|e| format!("e{e}")).collect(),
                    repartition_source_topics: rsources
                        .iter()
                        .map(|(r, p)| TopicInfo {
                            name: format!("r{r}"),
                            partitions: *p,
                            ..Default::default()
                        })
                        .collect(),
                    repartition_sink_topics: sinks.iter().map(|r| format!("r{r}")).collect(),
                    ..Default::default()
                })
                .collect()
        })
    }

    proptest! {
        #[test]
        fn event_driven_fix_point_equals_kafkas_pass_loop(
            subs in arb_subs(),
            ext in proptest::collection::vec(1..9i32, 4),
        ) {
            let mut by_id: BTreeMap<&str, &Subtopology> = BTreeMap::new();
            for s in &subs {
                by_id.entry(s.subtopology_id.as_str()).or_insert(s);
            }
            let ordered: Vec<&Subtopology> = by_id.into_values().collect();
            let mut metadata = ClusterMetadata::new();
            for (i, c) in ext.iter().enumerate() {
                metadata = metadata.with_topic(Uuid::from_u64_pair(1, i as u64), format!("e{i}"), *c);
            }
            let mut a = Counts { metadata: &metadata, decided: HashMap::new() };
            let mut b = Counts { metadata: &metadata, decided: HashMap::new() };
            let ra = naive_step3(&ordered, &mut a);
            let rb = fast_step3(&ordered, &mut b);
            prop_assert_eq!(&ra, &rb);
            if ra.is_ok() {
                let da: BTreeMap<_, _> = a.decided.into_iter().collect();
                let db: BTreeMap<_, _> = b.decided.into_iter().collect();
                prop_assert_eq!(da, db);
            }
        }
    }

    #[test]
    fn partial_max_follows_ascending_id_order() {
        // "b" reads r1 (decided later, 8) and e (2) and writes r2. Visited before r1's writer
        // ("c" > "b"), it decides r2 from what it knows then: 2.
        let sub = |id: &str, src: &[&str], rsrc: &[(&str, i32)], sinks: &[&str]| Subtopology {
            subtopology_id: id.into(),
            source_topics: src.iter().map(|s| s.to_string()).collect(),
            repartition_source_topics: rsrc
                .iter()
                .map(|(n, p)| TopicInfo {
                    name: n.to_string(),
                    partitions: *p,
                    ..Default::default()
                })
                .collect(),
            repartition_sink_topics: sinks.iter().map(|s| s.to_string()).collect(),
            ..Default::default()
        };
        let subs = [
            sub("b", &["e"], &[("r1", 0)], &["r2"]),
            sub("c", &["big"], &[], &["r1"]),
        ];
        let ordered: Vec<&Subtopology> = subs.iter().collect();
        let metadata = ClusterMetadata::new()
            .with_topic(Uuid::from_u64_pair(1, 1), "e", 2)
            .with_topic(Uuid::from_u64_pair(1, 2), "big", 8);
        let mut counts = Counts {
            metadata: &metadata,
            decided: HashMap::new(),
        };
        assert!(fast_step3(&ordered, &mut counts).is_ok());
        assert_eq!(counts.decided.get("r2"), Some(&2));
        assert_eq!(counts.decided.get("r1"), Some(&8));
    }
}
