//! Conversions between the wire/record task lists and the internal task sets.

use std::collections::BTreeMap;

use crate::protocol::heartbeat::{KeyValue, TaskIds};
use crate::protocol::records::CurrentAssignmentTaskIds;

use super::tasks::{ActiveTasks, TaskSet};

/// Task lists of a request or record as a set (duplicates collapse).
pub fn task_set_from(list: &[TaskIds]) -> TaskSet {
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
pub fn task_ids(set: &TaskSet) -> Vec<TaskIds> {
    set.iter()
        .map(|(s, p)| TaskIds {
            subtopology_id: s.clone(),
            partitions: p.iter().copied().collect(),
        })
        .collect()
}

/// Active tasks (epochs dropped) as wire task lists.
pub fn active_task_ids(set: &ActiveTasks) -> Vec<TaskIds> {
    set.iter()
        .map(|(s, p)| TaskIds {
            subtopology_id: s.clone(),
            partitions: p.keys().copied().collect(),
        })
        .collect()
}

/// Active tasks with epochs as current-assignment record entries.
pub fn record_active(set: &ActiveTasks) -> Vec<CurrentAssignmentTaskIds> {
    set.iter()
        .map(|(s, p)| CurrentAssignmentTaskIds {
            subtopology_id: s.clone(),
            partitions: p.keys().copied().collect(),
            assignment_epochs: Some(p.values().copied().collect()),
        })
        .collect()
}

/// Standby / warm-up tasks as current-assignment record entries (no epochs).
pub fn record_set(set: &TaskSet) -> Vec<CurrentAssignmentTaskIds> {
    set.iter()
        .map(|(s, p)| CurrentAssignmentTaskIds {
            subtopology_id: s.clone(),
            partitions: p.iter().copied().collect(),
            assignment_epochs: None,
        })
        .collect()
}

/// Active entries of a current-assignment record; stamps default to
/// `member_epoch` when absent or of the wrong length (spec 06 §4).
pub fn active_from_record(list: &[CurrentAssignmentTaskIds], member_epoch: i32) -> ActiveTasks {
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
pub fn set_from_record(list: &[CurrentAssignmentTaskIds]) -> TaskSet {
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
pub fn key_values(map: &BTreeMap<String, String>) -> Vec<KeyValue> {
    map.iter()
        .map(|(k, v)| KeyValue {
            key: k.clone(),
            value: v.clone(),
        })
        .collect()
}

/// A key/value list as a map (later duplicates win).
pub fn map_from(list: &[KeyValue]) -> BTreeMap<String, String> {
    list.iter()
        .map(|kv| (kv.key.clone(), kv.value.clone()))
        .collect()
}
