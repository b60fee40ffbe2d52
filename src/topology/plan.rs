//! The topology with every topic name replaced by a small integer, computed once when a
//! [`StreamsTopology`](super::StreamsTopology) is built, so that configuring it (which happens
//! on every metadata change) works on arrays instead of string maps.

use std::collections::{HashMap, HashSet};

use xxhash_rust::xxh3::Xxh3DefaultBuilder;

use crate::protocol::heartbeat::Subtopology;

use super::names::SubtopologyTopics;

/// An interned topic: an index into [`Plan::names`]. Indices follow ascending name order, so
/// sorting indices sorts names.
pub(crate) type TopicIx = u32;

/// One subtopology, in ascending-id position.
#[derive(Clone, Debug)]
pub(crate) struct PlanSub {
    /// Index into the topology's subtopologies (client order).
    pub(crate) index: usize,
    pub(crate) sources: Vec<TopicIx>,
    /// Same order as `Subtopology::repartition_source_topics`.
    pub(crate) repartition_sources: Vec<TopicIx>,
    pub(crate) sinks: Vec<TopicIx>,
    /// Same order as `Subtopology::state_changelog_topics`.
    pub(crate) changelogs: Vec<TopicIx>,
    /// Each copartition group's members, sorted and de-duplicated; empty groups dropped.
    pub(crate) groups: Vec<Vec<TopicIx>>,
}

#[derive(Clone, Debug, Default)]
pub(crate) struct Plan {
    /// Every topic name the topology mentions, ascending, each once.
    pub(crate) names: Vec<String>,
    /// Subtopologies by ascending id.
    pub(crate) subs: Vec<PlanSub>,
    /// Topic -> positions (in `subs`) of the subtopologies reading it as a repartition source.
    pub(crate) readers: Vec<Vec<usize>>,
    /// Topic -> its fixed count if it is a repartition source with a fixed count somewhere
    /// (the value of the last such listing in ascending subtopology order).
    pub(crate) fixed: Vec<Option<i32>>,
    /// Topic -> whether it is a repartition source with a flexible count somewhere.
    pub(crate) flexible: Vec<bool>,
    /// Required topics (sources, repartition sources, changelogs), ascending.
    pub(crate) required: Vec<TopicIx>,
}

impl Plan {
    /// Builds the plan of validated subtopologies; `order` lists their indices by ascending id.
    pub(crate) fn new(subtopologies: &[Subtopology], order: &[usize]) -> Plan {
        let mut distinct: HashSet<&str, Xxh3DefaultBuilder> = HashSet::default();
        for s in subtopologies {
            distinct.extend(s.topic_names());
        }
        let mut names: Vec<&str> = distinct.into_iter().collect();
        names.sort_unstable();
        let index: HashMap<&str, TopicIx, Xxh3DefaultBuilder> = names
            .iter()
            .enumerate()
            .map(|(i, &n)| (n, TopicIx::try_from(i).unwrap_or(TopicIx::MAX)))
            .collect();
        // Every name looked up below was collected above, so the lookup always succeeds.
        let ix = |name: &str| -> TopicIx { index.get(name).copied().unwrap_or(0) };
        let n = names.len();
        let mut plan = Plan {
            names: Vec::new(),
            subs: Vec::with_capacity(order.len()),
            readers: vec![Vec::new(); n],
            fixed: vec![None; n],
            flexible: vec![false; n],
            required: Vec::new(),
        };
        let mut required = vec![false; n];
        for &index in order {
            let Some(s) = subtopologies.get(index) else {
                continue;
            };
            let pos = plan.subs.len();
            let sources: Vec<TopicIx> = s.source_topics.iter().map(|t| ix(t)).collect();
            let repartition_sources: Vec<TopicIx> = s
                .repartition_source_topics
                .iter()
                .map(|t| ix(&t.name))
                .collect();
            let sinks: Vec<TopicIx> = s.repartition_sink_topics.iter().map(|t| ix(t)).collect();
            let changelogs: Vec<TopicIx> = s
                .state_changelog_topics
                .iter()
                .map(|t| ix(&t.name))
                .collect();
            for (t, info) in repartition_sources.iter().zip(&s.repartition_source_topics) {
                let t = *t as usize;
                if let Some(r) = plan.readers.get_mut(t) {
                    r.push(pos);
                }
                if info.partitions != 0 {
                    if let Some(f) = plan.fixed.get_mut(t) {
                        *f = Some(info.partitions);
                    }
                } else if let Some(f) = plan.flexible.get_mut(t) {
                    *f = true;
                }
            }
            for &t in sources
                .iter()
                .chain(&repartition_sources)
                .chain(&changelogs)
            {
                if let Some(r) = required.get_mut(t as usize) {
                    *r = true;
                }
            }
            let groups = s
                .copartition_groups
                .iter()
                .map(|g| {
                    let mut members: Vec<TopicIx> = g
                        .source_topics
                        .iter()
                        .filter_map(|&i| usize::try_from(i).ok().and_then(|i| sources.get(i)))
                        .chain(g.repartition_source_topics.iter().filter_map(|&i| {
                            usize::try_from(i)
                                .ok()
                                .and_then(|i| repartition_sources.get(i))
                        }))
                        .copied()
                        .collect();
                    members.sort_unstable();
                    members.dedup();
                    members
                })
                .filter(|g| !g.is_empty())
                .collect();
            plan.subs.push(PlanSub {
                index,
                sources,
                repartition_sources,
                sinks,
                changelogs,
                groups,
            });
        }
        plan.required = (0..n)
            .filter(|&t| required.get(t).copied().unwrap_or(false))
            .filter_map(|t| TopicIx::try_from(t).ok())
            .collect();
        plan.names = names.into_iter().map(str::to_string).collect();
        plan
    }

    /// The name of an interned topic.
    pub(crate) fn name(&self, t: TopicIx) -> &str {
        self.names.get(t as usize).map_or("", String::as_str)
    }
}
