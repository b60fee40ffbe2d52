//! Conversions between the wire/record task lists and the internal task sets.

use std::collections::BTreeMap;

use crate::protocol::heartbeat::{KeyValue, TaskIds};
use crate::protocol::records::CurrentAssignmentTaskIds;

use super::tasks::{ActiveTasks, TaskSet};

/// Task lists of a request or record as a set (duplicates collapse).
pub(super) fn task_set_from(list: &[TaskIds]) -> TaskSet {
    let mut set = TaskSet::new();
    for t in list {
        if t.partitions.is_empty() {
            continue;
        }
        set.entry(t.subtopology_id.clone())
            .or_default()
            .extend(t.partitions.iter().copied());
    }
    set
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
        let entry = out.entry(t.subtopology_id.clone()).or_default();
        for (i, p) in t.partitions.iter().enumerate() {
            let e = epochs
                .and_then(|e| e.get(i).copied())
                .unwrap_or(member_epoch);
            entry.insert(*p, e);
        }
    }
    out
}

/// Standby / warm-up entries of a current-assignment record.
pub(super) fn set_from_record(list: &[CurrentAssignmentTaskIds]) -> TaskSet {
    let mut set = TaskSet::new();
    for t in list {
        if t.partitions.is_empty() {
            continue;
        }
        set.entry(t.subtopology_id.clone())
            .or_default()
            .extend(t.partitions.iter().copied());
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
}
