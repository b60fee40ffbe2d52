//! Conversions between the wire/record task lists and the internal task sets.

use std::collections::BTreeMap;

use crate::protocol::heartbeat::{KeyValue, TaskIds};
use crate::protocol::records::CurrentAssignmentTaskIds;

use super::tasks::{ActiveTasks, TaskSet};

/// Task lists of a request or record as a set (duplicates collapse).
pub(super) fn task_set_from(list: &[TaskIds]) -> TaskSet {
    let mut set = TaskSet::new();
    for t in list {
        add_partitions(&mut set, &t.subtopology_id, &t.partitions);
    }
    set
}

/// Adds `partitions` of subtopology `s` to `set`. A subtopology not yet in
/// the set gets its partitions built at once (lists come ascending: a bulk
/// build, not a tree search per partition).
fn add_partitions(set: &mut TaskSet, s: &str, partitions: &[i32]) {
    if partitions.is_empty() {
        return;
    }
    match set.get_mut(s) {
        Some(parts) => parts.extend(partitions.iter().copied()),
        None => {
            set.insert(s.to_string(), partitions.iter().copied().collect());
        }
    }
}

/// A set as wire task lists: subtopologies sorted, partitions ascending.
pub(super) fn task_ids(set: &TaskSet) -> Vec<TaskIds> {
    set.iter()
        .map(|(s, p)| TaskIds {
            subtopology_id: s.clone(),
            partitions: p.iter().copied().collect(),
        })
        .collect()
}

/// Active tasks (epochs dropped) as wire task lists.
pub(super) fn active_task_ids(set: &ActiveTasks) -> Vec<TaskIds> {
    set.iter()
        .map(|(s, p)| TaskIds {
            subtopology_id: s.clone(),
            partitions: p.keys().copied().collect(),
        })
        .collect()
}

/// Active tasks with epochs as current-assignment record entries.
pub(super) fn record_active(set: &ActiveTasks) -> Vec<CurrentAssignmentTaskIds> {
    set.iter()
        .map(|(s, p)| CurrentAssignmentTaskIds {
            subtopology_id: s.clone(),
            partitions: p.keys().copied().collect(),
            assignment_epochs: Some(p.values().copied().collect()),
        })
        .collect()
}

/// Standby / warm-up tasks as current-assignment record entries (no epochs).
///
/// Kafka leaves `AssignmentEpochs` at its default, the empty list, which is
/// not written at all; `None` would write an explicit null tag and make our
/// bytes differ from a Java broker's.
pub(super) fn record_set(set: &TaskSet) -> Vec<CurrentAssignmentTaskIds> {
    set.iter()
        .map(|(s, p)| CurrentAssignmentTaskIds {
            subtopology_id: s.clone(),
            partitions: p.iter().copied().collect(),
            assignment_epochs: Some(Vec::new()),
        })
        .collect()
}

/// Active entries of a current-assignment record; stamps default to
/// `member_epoch` when absent or of the wrong length (spec 06 §4).
pub(super) fn active_from_record(
    list: &[CurrentAssignmentTaskIds],
    member_epoch: i32,
) -> ActiveTasks {
    let mut out = ActiveTasks::new();
    for t in list {
        if t.partitions.is_empty() {
            continue;
        }
        let epochs = t
            .assignment_epochs
            .as_ref()
            .filter(|e| e.len() == t.partitions.len());
        let stamped = t.partitions.iter().enumerate().map(|(i, p)| {
            let e = epochs
                .and_then(|e| e.get(i).copied())
                .unwrap_or(member_epoch);
            (*p, e)
        });
        // As in `add_partitions`: a later stamp of a partition wins, as an
        // insert would have it.
        match out.get_mut(&t.subtopology_id) {
            Some(entry) => entry.extend(stamped),
            None => {
                out.insert(t.subtopology_id.clone(), stamped.collect());
            }
        }
    }
    out
}

/// Standby / warm-up entries of a current-assignment record.
pub(super) fn set_from_record(list: &[CurrentAssignmentTaskIds]) -> TaskSet {
    let mut set = TaskSet::new();
    for t in list {
        add_partitions(&mut set, &t.subtopology_id, &t.partitions);
    }
    set
}

/// Client tags as a sorted key/value list.
pub(super) fn key_values(map: &BTreeMap<String, String>) -> Vec<KeyValue> {
    map.iter()
        .map(|(k, v)| KeyValue {
            key: k.clone(),
            value: v.clone(),
        })
        .collect()
}

/// A key/value list as a map (later duplicates win).
pub(super) fn map_from(list: &[KeyValue]) -> BTreeMap<String, String> {
    list.iter()
        .map(|kv| (kv.key.clone(), kv.value.clone()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::Message;

    #[test]
    fn standby_entries_write_no_assignment_epochs_tag() {
        use crate::protocol::records::StreamsGroupCurrentMemberAssignmentValue;
        let mut set = TaskSet::new();
        set.entry("0".to_owned()).or_default().insert(3);
        let value = StreamsGroupCurrentMemberAssignmentValue {
            standby_tasks: record_set(&set),
            ..Default::default()
        };
        let bytes = value.to_bytes(0).expect("encodes");
        // The entry: "0" (compact string), [3] (compact array), then an empty
        // tagged-field section, as Kafka writes it (no explicit null tag).
        let entry = [0x02, b'0', 0x02, 0, 0, 0, 3, 0x00];
        assert!(
            bytes.windows(entry.len()).any(|w| w == entry),
            "{bytes:02x?}"
        );
        assert_eq!(set_from_record(&value.standby_tasks), set);
    }

    #[test]
    fn lists_build_what_inserting_one_by_one_does() {
        let entry = |s: &str, p: &[i32], e: Option<&[i32]>| CurrentAssignmentTaskIds {
            subtopology_id: s.into(),
            partitions: p.to_vec(),
            assignment_epochs: e.map(<[i32]>::to_vec),
        };
        // Unsorted, duplicated, repeated subtopologies, stamps of the wrong length.
        let list = vec![
            entry("b", &[5, 1, 5, 3], Some(&[1, 2, 3, 4])),
            entry("a", &[2], None),
            entry("b", &[1, 9], Some(&[7])),
            entry("c", &[], Some(&[])),
        ];
        let mut active = ActiveTasks::new();
        let mut set = TaskSet::new();
        for t in &list {
            for (i, p) in t.partitions.iter().enumerate() {
                let e = t
                    .assignment_epochs
                    .as_ref()
                    .filter(|e| e.len() == t.partitions.len())
                    .map_or(8, |e| e[i]);
                active
                    .entry(t.subtopology_id.clone())
                    .or_default()
                    .insert(*p, e);
                set.entry(t.subtopology_id.clone()).or_default().insert(*p);
            }
        }
        assert_eq!(active_from_record(&list, 8), active);
        assert_eq!(
            active["b"],
            BTreeMap::from([(1, 8), (3, 4), (5, 3), (9, 8)])
        );
        assert_eq!(set_from_record(&list), set);
        let ids: Vec<TaskIds> = list
            .iter()
            .map(|t| TaskIds {
                subtopology_id: t.subtopology_id.clone(),
                partitions: t.partitions.clone(),
            })
            .collect();
        assert_eq!(task_set_from(&ids), set);
    }
}
