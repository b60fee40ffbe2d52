//! The assignment configs stored with a group epoch: the `LastAssignmentConfigs`
//! of the `StreamsGroupMetadata` record, typed, with its conversion to and from
//! the record's key/value list.

use std::collections::BTreeMap;

use crate::assignor::AssignmentConfigs;
use crate::protocol::heartbeat::KeyValue;

const STANDBY: &str = AssignmentConfigs::NUM_STANDBY_REPLICAS;
const TAGS: &str = AssignmentConfigs::RACK_AWARE_ASSIGNMENT_TAGS;

/// The assignment configs of the last group epoch (spec 05 §3), as Kafka keeps
/// them: compared with the current configs at every heartbeat (a difference
/// bumps the epoch), written again by every metadata record that keeps the
/// epoch's configs (a fence, a leave, a description-epoch update), read by the
/// delayed initial assignment.
///
/// Kafka stores a plain string map and never rewrites an entry: so does this,
/// for what it does not know. A record's list comes back from
/// [`to_record`](Self::to_record) byte for byte, unknown keys and odd values
/// included.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(super) struct StoredAssignmentConfigs {
    /// `num.standby.replicas`, when stored as Kafka writes it (an `int`'s
    /// decimal form).
    num_standby_replicas: Option<i32>,
    /// `rack.aware.assignment.tags`, split on the commas Kafka joins them with.
    rack_aware_assignment_tags: Option<Vec<String>>,
    /// The other entries, as stored: keys this crate does not know, and a
    /// `num.standby.replicas` not in the form Kafka writes (`"01"`, `"x"`).
    verbatim: BTreeMap<String, String>,
}

impl StoredAssignmentConfigs {
    /// What a bump writes: the current standby count (a negative one as 0,
    /// as the assignor sees it) and the tags when there are any.
    pub(super) fn current(num_standby_replicas: i32, tags: &[String]) -> Self {
        StoredAssignmentConfigs {
            num_standby_replicas: Some(num_standby_replicas.max(0)),
            rack_aware_assignment_tags: (!tags.is_empty()).then(|| tags.to_vec()),
            verbatim: BTreeMap::new(),
        }
    }

    /// The configs of a record's list; of a key listed twice the later entry
    /// counts.
    pub(super) fn from_record(list: &[KeyValue]) -> Self {
        let mut c = StoredAssignmentConfigs::default();
        for kv in list {
            match kv.key.as_str() {
                STANDBY => match as_kafka_writes_it(&kv.value) {
                    Some(n) => {
                        c.num_standby_replicas = Some(n);
                        c.verbatim.remove(STANDBY);
                    }
                    None => {
                        c.num_standby_replicas = None;
                        c.verbatim.insert(kv.key.clone(), kv.value.clone());
                    }
                },
                TAGS => {
                    c.rack_aware_assignment_tags =
                        Some(kv.value.split(',').map(str::to_owned).collect());
                }
                _ => {
                    c.verbatim.insert(kv.key.clone(), kv.value.clone());
                }
            }
        }
        c
    }

    /// True when [`to_record`](Self::to_record) would give `list` (so a
    /// replayed record need not be parsed again: every epoch bump repeats
    /// the configs). Allocates nothing.
    pub(super) fn is_recorded_as(&self, list: &[KeyValue]) -> bool {
        let len = self.verbatim.len()
            + usize::from(self.num_standby_replicas.is_some())
            + usize::from(self.rack_aware_assignment_tags.is_some());
        // Distinct keys (strictly sorted), each with this entry's value, as
        // many as this has: the same entries.
        list.len() == len
            && list.windows(2).all(|w| w[0].key < w[1].key)
            && list.iter().all(|kv| match kv.key.as_str() {
                STANDBY if self.num_standby_replicas.is_some() => {
                    as_kafka_writes_it(&kv.value) == self.num_standby_replicas
                }
                TAGS => self
                    .rack_aware_assignment_tags
                    .as_ref()
                    .is_some_and(|t| kv.value.split(',').eq(t.iter().map(String::as_str))),
                key => self.verbatim.get(key) == Some(&kv.value),
            })
    }

    /// The record's list, sorted by key (Kafka writes its sorted map).
    pub(super) fn to_record(&self) -> Vec<KeyValue> {
        let mut list: Vec<KeyValue> = self
            .verbatim
            .iter()
            .map(|(k, v)| KeyValue {
                key: k.clone(),
                value: v.clone(),
            })
            .collect();
        if let Some(n) = self.num_standby_replicas {
            list.push(KeyValue {
                key: STANDBY.to_owned(),
                value: n.to_string(),
            });
        }
        if let Some(tags) = &self.rack_aware_assignment_tags {
            list.push(KeyValue {
                key: TAGS.to_owned(),
                value: tags.join(","),
            });
        }
        list.sort_by(|a, b| a.key.cmp(&b.key));
        list
    }

    /// True when these are the current configs (Kafka compares the maps):
    /// the same standby count, the same tags (none stored when there are
    /// none), nothing else.
    pub(super) fn matches(&self, num_standby_replicas: i32, tags: &[String]) -> bool {
        self.verbatim.is_empty()
            && self.num_standby_replicas == Some(num_standby_replicas)
            && match &self.rack_aware_assignment_tags {
                None => tags.is_empty(),
                Some(stored) => !tags.is_empty() && stored.as_slice() == tags,
            }
    }

    /// True when the stored standby count is `n` (the cause a bump names).
    pub(super) fn standby_is(&self, n: i32) -> bool {
        self.num_standby_replicas == Some(n)
    }

    /// The configs as the assignor reads them (Kafka's
    /// `AssignmentConfigs.fromMap` over the stored map): the defaults when
    /// they do not parse.
    pub(super) fn assignor_configs(&self) -> AssignmentConfigs {
        let list = self.to_record();
        AssignmentConfigs::from_map(list.iter().map(|kv| (kv.key.as_str(), kv.value.as_str())))
            .unwrap_or_default()
    }
}

/// The `int` of a decimal in the form Java's `Integer.toString` writes (no
/// `+`, no leading zeros, no `-0`), `None` for any other text.
fn as_kafka_writes_it(text: &str) -> Option<i32> {
    let digits = text.strip_prefix('-').unwrap_or(text);
    let canonical = digits.bytes().next().is_some_and(|b| b.is_ascii_digit())
        && (digits == "0" || !digits.starts_with('0'))
        && text != "-0";
    canonical.then(|| text.parse().ok()).flatten()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn list(entries: &[(&str, &str)]) -> Vec<KeyValue> {
        entries
            .iter()
            .map(|(k, v)| KeyValue {
                key: (*k).to_owned(),
                value: (*v).to_owned(),
            })
            .collect()
    }

    fn tags(t: &[&str]) -> Vec<String> {
        t.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn a_bump_writes_kafkas_map() {
        assert_eq!(
            StoredAssignmentConfigs::current(1, &tags(&["zone", "rack"])).to_record(),
            list(&[
                ("num.standby.replicas", "1"),
                ("rack.aware.assignment.tags", "zone,rack")
            ])
        );
        assert_eq!(
            StoredAssignmentConfigs::current(0, &[]).to_record(),
            list(&[("num.standby.replicas", "0")])
        );
    }

    /// Kafka keeps the stored map as it is: whatever a record lists, sorted
    /// by key, is written back byte for byte.
    #[test]
    fn a_record_list_round_trips_byte_exact() {
        for entries in [
            &[][..],
            &[("num.standby.replicas", "2")][..],
            &[
                ("a.future.config", "x"),
                ("num.standby.replicas", "01"),
                ("rack.aware.assignment.tags", " zone , rack,"),
                ("zzz", ""),
            ][..],
            &[
                ("num.standby.replicas", "-0"),
                ("rack.aware.assignment.tags", ""),
            ][..],
            &[("num.standby.replicas", "+1")][..],
            &[("num.standby.replicas", "many")][..],
        ] {
            let l = list(entries);
            let c = StoredAssignmentConfigs::from_record(&l);
            assert_eq!(c.to_record(), l);
            assert!(c.is_recorded_as(&l));
            assert!(!StoredAssignmentConfigs::default().is_recorded_as(&l) || l.is_empty());
        }
        let c = StoredAssignmentConfigs::current(1, &tags(&["a", "b"]));
        for other in [
            &[("num.standby.replicas", "1")][..],
            &[
                ("num.standby.replicas", "01"),
                ("rack.aware.assignment.tags", "a,b"),
            ][..],
            &[
                ("num.standby.replicas", "1"),
                ("rack.aware.assignment.tags", "a,b,"),
            ][..],
            &[
                ("num.standby.replicas", "1"),
                ("rack.aware.assignment.tags", "a"),
            ][..],
            &[("num.standby.replicas", "1"), ("num.standby.replicas", "1")][..],
        ] {
            assert!(!c.is_recorded_as(&list(other)), "{other:?}");
        }
        assert!(c.is_recorded_as(&list(&[
            ("num.standby.replicas", "1"),
            ("rack.aware.assignment.tags", "a,b")
        ])));
        for (text, n) in [
            ("0", Some(0)),
            ("-12", Some(-12)),
            ("2147483647", Some(i32::MAX)),
        ] {
            assert_eq!(as_kafka_writes_it(text), n);
        }
        for text in ["", "-", "+1", "01", "-0", "-01", "1 ", "2147483648", "x"] {
            assert_eq!(as_kafka_writes_it(text), None, "{text}");
        }
        // A key listed twice: the later entry counts.
        let twice = list(&[("num.standby.replicas", "x"), ("num.standby.replicas", "1")]);
        assert_eq!(
            StoredAssignmentConfigs::from_record(&twice),
            StoredAssignmentConfigs::current(1, &[])
        );
    }

    /// Kafka compares the stored map with the current one as strings.
    #[test]
    fn comparison_with_the_current_configs() {
        let ab = tags(&["a", "b"]);
        let stored = |e: &[(&str, &str)]| StoredAssignmentConfigs::from_record(&list(e));
        assert!(StoredAssignmentConfigs::current(1, &ab).matches(1, &ab));
        assert!(StoredAssignmentConfigs::current(0, &[]).matches(0, &[]));
        assert!(!StoredAssignmentConfigs::current(0, &[]).matches(1, &[]));
        assert!(!StoredAssignmentConfigs::current(0, &ab).matches(0, &[]));
        assert!(!StoredAssignmentConfigs::current(0, &ab[..1]).matches(0, &ab));
        assert!(!StoredAssignmentConfigs::default().matches(0, &[]));
        // Not the text Kafka writes for 1, or an extra key: a bump.
        assert!(!stored(&[("num.standby.replicas", "01")]).matches(1, &[]));
        assert!(!stored(&[("num.standby.replicas", "-0")]).matches(0, &[]));
        assert!(
            !stored(&[("a.future.config", "x"), ("num.standby.replicas", "0")]).matches(0, &[])
        );
        // An empty tag list is stored as no key: a stored empty value differs.
        assert!(!stored(&[
            ("num.standby.replicas", "0"),
            ("rack.aware.assignment.tags", "")
        ])
        .matches(0, &[]));
        assert!(stored(&[
            ("num.standby.replicas", "0"),
            ("rack.aware.assignment.tags", "a,b")
        ])
        .matches(0, &ab));
        assert!(!stored(&[
            ("num.standby.replicas", "0"),
            ("rack.aware.assignment.tags", "a, b")
        ])
        .matches(0, &ab));
    }

    /// The delayed initial assignment reads the stored map as the assignor's
    /// `from_map` does: unknown keys ignored, values trimmed, a bad value
    /// gives the defaults.
    #[test]
    fn the_assignor_reads_the_stored_map() {
        let stored =
            |e: &[(&str, &str)]| StoredAssignmentConfigs::from_record(&list(e)).assignor_configs();
        let c = stored(&[
            ("a.future.config", "x"),
            ("num.standby.replicas", "01"),
            ("rack.aware.assignment.tags", " zone , rack"),
        ]);
        assert_eq!(c.num_standby_replicas, 1);
        assert_eq!(c.rack_aware_assignment_tags, tags(&["zone", "rack"]));
        assert_eq!(
            stored(&[("num.standby.replicas", "x")]),
            AssignmentConfigs::default()
        );
    }
}
