//! The walk over the topic names of a subtopology, written once (the
//! broker-layer name and ACL checks, describe's topic ACL check, the topic
//! plan and the required topics all take it).

use crate::protocol::{describe, heartbeat};

/// The role a topic plays in a subtopology.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) enum TopicRole {
    /// A source topic.
    Source,
    /// A repartition topic the subtopology writes.
    RepartitionSink,
    /// A repartition topic the subtopology reads.
    RepartitionSource,
    /// A state changelog topic.
    Changelog,
}

/// The topics a subtopology names, in Kafka's order: source, repartition
/// sink, repartition source, changelog topics, each list in its own order (a
/// name appears once per list that holds it).
pub(crate) trait SubtopologyTopics {
    /// Every topic with its role.
    fn topics(&self) -> impl Iterator<Item = (TopicRole, &str)>;

    /// Every topic name.
    fn topic_names(&self) -> impl Iterator<Item = &str> {
        self.topics().map(|(_, name)| name)
    }
}

macro_rules! subtopology_topics {
    ($t:ty) => {
        impl SubtopologyTopics for $t {
            fn topics(&self) -> impl Iterator<Item = (TopicRole, &str)> {
                self.source_topics
                    .iter()
                    .map(|n| (TopicRole::Source, n.as_str()))
                    .chain(
                        self.repartition_sink_topics
                            .iter()
                            .map(|n| (TopicRole::RepartitionSink, n.as_str())),
                    )
                    .chain(
                        self.repartition_source_topics
                            .iter()
                            .map(|t| (TopicRole::RepartitionSource, t.name.as_str())),
                    )
                    .chain(
                        self.state_changelog_topics
                            .iter()
                            .map(|t| (TopicRole::Changelog, t.name.as_str())),
                    )
            }
        }
    };
}

subtopology_topics!(heartbeat::Subtopology);
subtopology_topics!(describe::Subtopology);

/// Every topic name of a topology, subtopology by subtopology
/// ([`SubtopologyTopics`] order).
pub(crate) fn topology_topic_names(topology: &heartbeat::Topology) -> impl Iterator<Item = &str> {
    topology
        .subtopologies
        .iter()
        .flat_map(SubtopologyTopics::topic_names)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::heartbeat::{Subtopology, TopicInfo};

    #[test]
    fn names_come_in_kafkas_order_with_their_roles() {
        let info = |n: &str| TopicInfo {
            name: n.into(),
            ..TopicInfo::default()
        };
        let s = Subtopology {
            subtopology_id: "0".into(),
            source_topics: vec!["b-source".into(), "a-source".into()],
            repartition_sink_topics: vec!["sink".into()],
            repartition_source_topics: vec![info("rsource")],
            state_changelog_topics: vec![info("changelog"), info("a-source")],
            ..Subtopology::default()
        };
        let all: Vec<_> = s.topics().collect();
        assert_eq!(
            all,
            [
                (TopicRole::Source, "b-source"),
                (TopicRole::Source, "a-source"),
                (TopicRole::RepartitionSink, "sink"),
                (TopicRole::RepartitionSource, "rsource"),
                (TopicRole::Changelog, "changelog"),
                (TopicRole::Changelog, "a-source"),
            ]
        );
        let topology = heartbeat::Topology {
            epoch: 0,
            subtopologies: vec![s.clone(), s],
        };
        assert_eq!(topology_topic_names(&topology).count(), 12);
    }
}
