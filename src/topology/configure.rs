//! Configuring a topology against cluster metadata (spec 04 §3).

use std::cmp::Reverse;
use std::collections::{BTreeMap, BTreeSet, BinaryHeap};

use crate::protocol::describe;
use crate::protocol::heartbeat::{KeyValue, TopicInfo};
use crate::protocol::StatusCode;

use super::error::TopologyError;
use super::metadata::ClusterMetadata;
use super::model::StreamsTopology;
use super::plan::{Plan, PlanSub, TopicIx};

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
        let topic = |t: &ConfiguredInternalTopic| TopicInfo {
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

fn invalid_topology(message: String) -> Stop {
    Stop::Error(TopologyError::InvalidTopology(message))
}

fn incorrectly_partitioned(detail: String) -> Stop {
    Stop::Status(TopicConfigurationStatus::IncorrectlyPartitionedTopics(
        detail,
    ))
}

/// The partition count provider of spec 04 §3.0 over interned topics: the actual count of an
/// existing topic wins over a decision.
struct Counts {
    actual: Vec<Option<i32>>,
    decided: Vec<Option<i32>>,
}

impl Counts {
    fn new(plan: &Plan, metadata: &ClusterMetadata) -> Counts {
        Counts {
            actual: plan
                .names
                .iter()
                .map(|n| metadata.partition_count(n))
                .collect(),
            decided: vec![None; plan.names.len()],
        }
    }

    fn actual(&self, t: TopicIx) -> Option<i32> {
        self.actual.get(t as usize).copied().flatten()
    }

    fn decided(&self, t: TopicIx) -> Option<i32> {
        self.decided.get(t as usize).copied().flatten()
    }

    fn decide(&mut self, t: TopicIx, count: i32) {
        if let Some(d) = self.decided.get_mut(t as usize) {
            *d = Some(count);
        }
    }

    fn count(&self, t: TopicIx) -> Option<i32> {
        self.actual(t).or_else(|| self.decided(t))
    }

    /// The largest count() over a subtopology's source and repartition source topics. Every
    /// input has a count once steps 2 and 3 succeeded (Kafka fails with an internal error
    /// otherwise); 0 stands in for the impossible "none".
    fn max_input(&self, s: &PlanSub) -> i32 {
        s.sources
            .iter()
            .chain(&s.repartition_sources)
            .filter_map(|&t| self.count(t))
            .max()
            .unwrap_or(0)
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

fn configure_inner<'a>(
    topology: &'a StreamsTopology,
    metadata: &ClusterMetadata,
) -> Result<ConfiguredTopology, Stop> {
    let plan = topology.plan();
    let mut counts = Counts::new(plan, metadata);

    // Step 2 of spec 04 §3: missing external source topics (indices sort like names).
    let mut missing: Vec<TopicIx> = plan
        .subs
        .iter()
        .flat_map(|s| s.sources.iter().copied())
        .filter(|&t| counts.actual(t).is_none())
        .collect();
    if !missing.is_empty() {
        missing.sort_unstable();
        missing.dedup();
        return Err(Stop::Status(TopicConfigurationStatus::MissingSourceTopics(
            format!(
                "Source topics {} are missing.",
                summarize_topics(missing.iter().map(|&t| plan.name(t)))
            ),
        )));
    }

    // Step 3: repartition topics.
    decide_repartition_counts(plan, &mut counts)?;

    // Step 4: copartition enforcement.
    enforce_copartitioning(plan, &mut counts)?;

    // Step 5: changelog topics.
    for s in &plan.subs {
        if s.sources.is_empty() && s.repartition_sources.is_empty() {
            let id = topology
                .subtopology_at(s.index)
                .map_or("", |s| s.subtopology_id.as_str());
            return Err(invalid_topology(format!(
                "No source topics found for subtopology {id}"
            )));
        }
        let m = counts.max_input(s);
        for &c in &s.changelogs {
            counts.decide(c, m);
        }
    }

    // Step 6: configured subtopologies. The number of tasks is recomputed after step 5 (as
    // Kafka does) because a changelog decision is visible to count() if a changelog topic is
    // also some subtopology's input. Step 7's creation list is gathered on the way: the last
    // listing of an internal topic (ascending subtopology id, repartition sources before
    // changelogs, each list in name order) gives its creation parameters.
    let mut configured = Vec::with_capacity(plan.subs.len());
    let mut to_create: Vec<Option<(i32, &TopicInfo)>> = vec![None; plan.names.len()];
    for ps in &plan.subs {
        let Some(s) = topology.subtopology_at(ps.index) else {
            continue;
        };
        let number_of_tasks = counts.max_input(ps);
        let counts = &counts;
        let internal = |(t, info): (&TopicIx, &'a TopicInfo)| -> (TopicIx, i32, &'a TopicInfo) {
            let partitions = if info.partitions != 0 {
                info.partitions
            } else {
                counts.decided(*t).unwrap_or(0)
            };
            (*t, partitions, info)
        };
        let mut repartition: Vec<(TopicIx, i32, &TopicInfo)> = ps
            .repartition_sources
            .iter()
            .zip(&s.repartition_source_topics)
            .map(internal)
            .collect();
        let mut changelogs: Vec<(TopicIx, i32, &TopicInfo)> = ps
            .changelogs
            .iter()
            .zip(&s.state_changelog_topics)
            .map(internal)
            .collect();
        repartition.sort_unstable_by_key(|x| x.0);
        changelogs.sort_unstable_by_key(|x| x.0);
        for &(t, partitions, info) in repartition.iter().chain(&changelogs) {
            if let Some(slot) = to_create.get_mut(t as usize) {
                *slot = Some((partitions, info));
            }
        }
        let configured_topic = |&(_, partitions, info): &(TopicIx, i32, &TopicInfo)| {
            (
                info.name.clone(),
                ConfiguredInternalTopic {
                    name: info.name.clone(),
                    partitions,
                    replication_factor: (info.replication_factor != 0)
                        .then_some(info.replication_factor),
                    configs: configs_of(info),
                },
            )
        };
        configured.push((
            s.subtopology_id.clone(),
            ConfiguredSubtopology {
                number_of_tasks,
                source_topics: s.source_topics.iter().cloned().collect(),
                repartition_source_topics: repartition.iter().map(configured_topic).collect(),
                repartition_sink_topics: s.repartition_sink_topics.iter().cloned().collect(),
                state_changelog_topics: changelogs.iter().map(configured_topic).collect(),
            },
        ));
    }
    // Already in ascending id order: the map is built without searching.
    let configured: BTreeMap<String, ConfiguredSubtopology> = configured.into_iter().collect();

    // Step 7: existing internal topics are not created, and must have the expected count.
    for &t in &plan.required {
        let Some(actual) = counts.actual(t) else {
            continue;
        };
        if let Some((expected, _)) = to_create.get_mut(t as usize).and_then(Option::take) {
            if actual != expected {
                return Err(incorrectly_partitioned(format!(
                    "Existing topic {} has different number of partitions: expected {expected}, found {actual}",
                    plan.name(t)
                )));
            }
        }
    }
    let internal_topics_to_create: Vec<InternalTopic> = to_create
        .iter()
        .flatten()
        .map(|&(partitions, info)| InternalTopic {
            name: info.name.clone(),
            partitions,
            replication_factor: if info.replication_factor != 0 {
                info.replication_factor
            } else {
                -1
            },
            configs: configs_of(info),
        })
        .collect();
    let status = (!internal_topics_to_create.is_empty()).then(|| {
        TopicConfigurationStatus::MissingInternalTopics(format!(
            "Internal topics are missing: {}",
            summarize_topics(internal_topics_to_create.iter().map(|t| t.name.as_str()))
        ))
    });
    Ok(ConfiguredTopology {
        topology_epoch: topology.epoch(),
        subtopologies: Some(configured),
        internal_topics_to_create,
        status,
    })
}

/// A topic's configs as a map (keys are unique: checked when the topology was built).
fn configs_of(info: &TopicInfo) -> BTreeMap<String, String> {
    info.topic_configs
        .iter()
        .map(|kv| (kv.key.clone(), kv.value.clone()))
        .collect()
}

/// Step 3 (spec 04 §3.3), the fix-point over repartition sink topics.
///
/// Kafka loops in passes over all subtopologies until no sink topic is left undecided (or a
/// pass makes no progress). A chain of n subtopologies can need n passes, so the literal loop
/// is quadratic. This computes the same decisions event-driven: a subtopology acts at its
/// first visit (pass, position) at which one of its inputs is known, which is the visit after
/// the one that decided that input. Visits are processed in (pass, position) order with a
/// heap, so each subtopology acts once and each decision wakes only its readers.
fn decide_repartition_counts(plan: &Plan, counts: &mut Counts) -> Result<(), Stop> {
    // Fixed repartition topics are decided from the start.
    for (t, fixed) in plan.fixed.iter().enumerate() {
        if let (Some(d), Some(f)) = (counts.decided.get_mut(t), fixed) {
            *d = Some(*f);
        }
    }
    let mut acted = vec![false; plan.subs.len()];
    let mut visits: BinaryHeap<Reverse<(usize, usize)>> = BinaryHeap::new();
    for (i, s) in plan.subs.iter().enumerate() {
        let has_input = s.sources.iter().any(|&t| counts.count(t).is_some())
            || s.repartition_sources
                .iter()
                .any(|&t| counts.decided(t).is_some());
        if has_input {
            visits.push(Reverse((0, i)));
        }
    }
    while let Some(Reverse((pass, i))) = visits.pop() {
        let (Some(s), Some(done)) = (plan.subs.get(i), acted.get_mut(i)) else {
            continue;
        };
        if std::mem::replace(done, true) {
            continue;
        }
        if s.sinks.iter().all(|&t| counts.decided(t).is_some()) {
            continue;
        }
        // The max over the writer's inputs known at this visit.
        let from_repartition = s
            .repartition_sources
            .iter()
            .filter_map(|&t| counts.decided(t));
        let from_sources = s.sources.iter().filter_map(|&t| counts.count(t));
        let Some(c) = from_repartition.chain(from_sources).max() else {
            continue; // cannot happen: only subtopologies with a known input are visited
        };
        for &sink in &s.sinks {
            if counts.decided(sink).is_some() {
                continue;
            }
            counts.decide(sink, c);
            for &r in plan
                .readers
                .get(sink as usize)
                .map_or(&[][..], Vec::as_slice)
            {
                if !acted.get(r).copied().unwrap_or(true) {
                    let next_pass = if r > i { pass } else { pass + 1 };
                    visits.push(Reverse((next_pass, r)));
                }
            }
        }
    }
    let decided_all = |ts: &[TopicIx]| ts.iter().all(|&t| counts.decided(t).is_some());
    if !plan.subs.iter().all(|s| decided_all(&s.sinks)) {
        return Err(invalid_topology(
            "Failed to compute number of partitions for all repartition topics. There may be \
             loops in the topology that cannot be resolved."
                .to_string(),
        ));
    }
    if !plan
        .subs
        .iter()
        .all(|s| decided_all(&s.repartition_sources))
    {
        return Err(invalid_topology(
            "Failed to compute number of partitions for all repartition topics, because a \
             repartition source topic is never used as a sink topic."
                .to_string(),
        ));
    }
    Ok(())
}

/// Renders `(topic, count)` pairs (ascending) as Java's `TreeMap.toString()`: `{a=1, b=2}`.
fn render_counts(plan: &Plan, pairs: &[(TopicIx, i32)]) -> String {
    let inner: Vec<String> = pairs
        .iter()
        .map(|&(t, c)| format!("{}={c}", plan.name(t)))
        .collect();
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
fn enforce_copartitioning(plan: &Plan, counts: &mut Counts) -> Result<(), Stop> {
    let is_repartition = |t: TopicIx| {
        let t = t as usize;
        plan.fixed.get(t).is_some_and(Option::is_some)
            || plan.flexible.get(t).copied().unwrap_or(false)
    };
    let is_fixed = |t: TopicIx| plan.fixed.get(t as usize).is_some_and(Option::is_some);
    // Whether all fixed repartition topics agree, and on what. Their counts cannot change
    // during this step (a fixed topic whose decision would change is an error), so this is
    // computed once instead of once per copartition group.
    let mut fixed_counts = (0..plan.names.len())
        .filter_map(|t| TopicIx::try_from(t).ok())
        .filter(|&t| is_fixed(t))
        .map(|t| counts.count(t));
    let fixed_common = match fixed_counts.next() {
        None => FixedRepartition::NoneInTopology,
        Some(first) if fixed_counts.all(|c| c == first) => match first {
            Some(n) => FixedRepartition::AllEqual(n),
            None => FixedRepartition::Disagree,
        },
        Some(_) => FixedRepartition::Disagree,
    };

    let mut repartition: Vec<(TopicIx, i32)> = Vec::new();
    let mut external: Vec<(TopicIx, i32)> = Vec::new();
    for s in &plan.subs {
        for group in &s.groups {
            repartition.clear();
            external.clear();
            for &t in group {
                // Every member has a count after steps 2 and 3; 0 stands in for the
                // impossible "undefined" (Kafka would fail with an internal error).
                let c = counts.count(t).unwrap_or(0);
                if is_repartition(t) {
                    repartition.push((t, c));
                } else {
                    external.push((t, c));
                }
            }
            let n = if external.is_empty() {
                match fixed_common {
                    FixedRepartition::AllEqual(n) => n,
                    FixedRepartition::Disagree => {
                        return Err(incorrectly_partitioned(format!(
                            "Following topics do not have the same number of partitions: [{}]",
                            render_counts(plan, &repartition)
                        )));
                    }
                    FixedRepartition::NoneInTopology => {
                        let max = repartition.iter().map(|x| x.1).max().unwrap_or(0);
                        if max == 0 {
                            let names: Vec<&str> =
                                repartition.iter().map(|x| plan.name(x.0)).collect();
                            return Err(invalid_topology(format!(
                                "All topics in the copartition group had undefined partition number: [{}]",
                                names.join(", ")
                            )));
                        }
                        max
                    }
                }
            } else {
                let first = external.first().map_or(0, |x| x.1);
                if external.iter().any(|x| x.1 != first) {
                    return Err(incorrectly_partitioned(format!(
                        "Following topics do not have the same number of partitions: [{}]",
                        render_counts(plan, &external)
                    )));
                }
                first
            };
            for &(t, c) in &repartition {
                counts.decide(t, n);
                if is_fixed(t) && c != n {
                    return Err(incorrectly_partitioned(format!(
                        "Number of partitions [{c}] of repartition topic [{}] doesn't match number \
                         of partitions [{n}] of the source topic.",
                        plan.name(t)
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
    use crate::protocol::heartbeat::{Subtopology, Topology};
    use crate::protocol::Uuid;
    use proptest::prelude::*;

    /// Kafka's literal pass-by-pass loop (spec 04 §3.3), subtopologies in ascending id order.
    fn naive_step3(plan: &Plan, counts: &mut Counts) -> Result<(), String> {
        for (t, f) in plan.fixed.iter().enumerate() {
            if let Some(f) = f {
                counts.decide(t as TopicIx, *f);
            }
        }
        loop {
            let mut needed = false;
            let mut progress = false;
            for s in &plan.subs {
                for &sink in &s.sinks {
                    if counts.decided(sink).is_some() {
                        continue;
                    }
                    let c = s
                        .repartition_sources
                        .iter()
                        .filter_map(|&r| counts.decided(r))
                        .chain(s.sources.iter().filter_map(|&t| counts.count(t)))
                        .max();
                    match c {
                        None => needed = true,
                        Some(c) => {
                            counts.decide(sink, c);
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
        for s in &plan.subs {
            for &t in &s.repartition_sources {
                if counts.decided(t).is_none() {
                    return Err("never a sink".into());
                }
            }
        }
        Ok(())
    }

    fn fast_step3(plan: &Plan, counts: &mut Counts) -> Result<(), String> {
        decide_repartition_counts(plan, counts).map_err(|e| match e {
            Stop::Error(e) if e.message().contains("loops") => "loop".to_string(),
            Stop::Error(_) => "never a sink".to_string(),
            Stop::Status(_) => "status".to_string(),
        })
    }

    fn topology(subtopologies: Vec<Subtopology>) -> Option<StreamsTopology> {
        StreamsTopology::new(Topology {
            epoch: 0,
            subtopologies,
        })
        .ok()
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

    fn externals(counts: &[i32]) -> ClusterMetadata {
        let mut metadata = ClusterMetadata::new();
        for (i, c) in counts.iter().enumerate() {
            metadata = metadata.with_topic(Uuid::from_u64_pair(1, i as u64), format!("e{i}"), *c);
        }
        metadata
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2048))]
        #[test]
        fn event_driven_fix_point_equals_kafkas_pass_loop(
            subs in arb_subs(),
            ext in proptest::collection::vec(1..9i32, 4),
        ) {
            let Some(t) = topology(subs) else {
                return Ok(());
            };
            let metadata = externals(&ext);
            let mut a = Counts::new(t.plan(), &metadata);
            let mut b = Counts::new(t.plan(), &metadata);
            let ra = naive_step3(t.plan(), &mut a);
            let rb = fast_step3(t.plan(), &mut b);
            prop_assert_eq!(&ra, &rb);
            if ra.is_ok() {
                prop_assert_eq!(a.decided, b.decided);
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
        let t = topology(vec![
            sub("c", &["big"], &[], &["r1"]),
            sub("b", &["e"], &[("r1", 0)], &["r2"]),
        ])
        .unwrap();
        let metadata = ClusterMetadata::new()
            .with_topic(Uuid::from_u64_pair(1, 1), "e", 2)
            .with_topic(Uuid::from_u64_pair(1, 2), "big", 8);
        let mut counts = Counts::new(t.plan(), &metadata);
        assert!(fast_step3(t.plan(), &mut counts).is_ok());
        let ix = |n: &str| t.plan().names.iter().position(|x| x == n).unwrap() as TopicIx;
        assert_eq!(counts.decided(ix("r2")), Some(2));
        assert_eq!(counts.decided(ix("r1")), Some(8));
    }
}
