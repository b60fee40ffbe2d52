//! Conversions between the wire/record task lists and the internal task sets.

use std::collections::BTreeMap;

use crate::protocol::heartbeat::{KeyValue, TaskIds};
use crate::protocol::records::CurrentAssignmentTaskIds;

use super::tasks::{ActiveTasks, SubIds, TaskSet};

/// Task lists of a request or record as a set (duplicates collapse); ids
/// interned in `ids`.
pub(super) fn task_set_from(list: &[TaskIds], ids: &mut SubIds) -> TaskSet {
    TaskSet::from_lists(
        list.iter()
            .map(|t| (t.subtopology_id.as_str(), t.partitions.as_slice())),
        ids,
    )
}

/// A set as wire task lists: subtopologies sorted, partitions ascending.
pub(super) fn task_ids(set: &TaskSet) -> Vec<TaskIds> {
    set.iter()
        .map(|(s, p)| TaskIds {
            subtopology_id: String::from(&**s),
            partitions: p.to_vec(),
        })
        .collect()
}

/// Active tasks (epochs dropped) as wire task lists.
pub(super) fn active_task_ids(set: &ActiveTasks) -> Vec<TaskIds> {
    set.iter()
        .map(|(s, p, _)| TaskIds {
            subtopology_id: String::from(&**s),
            partitions: p.to_vec(),
        })
        .collect()
}

/// Active tasks with epochs as current-assignment record entries.
pub(super) fn record_active(set: &ActiveTasks) -> Vec<CurrentAssignmentTaskIds> {
    set.iter()
        .map(|(s, p, e)| CurrentAssignmentTaskIds {
            subtopology_id: String::from(&**s),
            partitions: p.to_vec(),
            assignment_epochs: Some(e.to_vec()),
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
            subtopology_id: String::from(&**s),
            partitions: p.to_vec(),
            assignment_epochs: Some(Vec::new()),
        })
        .collect()
}

/// Active entries of a current-assignment record; stamps default to
/// `member_epoch` when absent or of the wrong length (spec 06 §4). Ids
/// interned in `ids`.
pub(super) fn active_from_record(
    list: &[CurrentAssignmentTaskIds],
    member_epoch: i32,
    ids: &mut SubIds,
) -> ActiveTasks {
    ActiveTasks::from_lists(
        list.iter().map(|t| {
            let epochs = t
                .assignment_epochs
                .as_deref()
                .filter(|e| e.len() == t.partitions.len());
            (t.subtopology_id.as_str(), t.partitions.as_slice(), epochs)
        }),
        member_epoch,
        ids,
    )
}

/// Standby / warm-up entries of a current-assignment record; ids interned
/// in `ids`.
pub(super) fn set_from_record(list: &[CurrentAssignmentTaskIds], ids: &mut SubIds) -> TaskSet {
    TaskSet::from_lists(
        list.iter()
            .map(|t| (t.subtopology_id.as_str(), t.partitions.as_slice())),
        ids,
    )
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
    use crate::group::tasks::build;
    use crate::protocol::Message;
    use std::collections::BTreeSet;

    #[test]
    fn standby_entries_write_no_assignment_epochs_tag() {
        use crate::protocol::records::StreamsGroupCurrentMemberAssignmentValue;
        let set = build::set(&[("0", &[3])]);
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
        assert_eq!(
            set_from_record(&value.standby_tasks, &mut SubIds::default()),
            set
        );
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
        let mut active: BTreeMap<String, BTreeMap<i32, i32>> = BTreeMap::new();
        let mut set: BTreeMap<String, BTreeSet<i32>> = BTreeMap::new();
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
        let ids = &mut SubIds::default();
        let got = active_from_record(&list, 8, ids);
        let got_map: BTreeMap<String, BTreeMap<i32, i32>> = got
            .iter()
            .map(|(s, p, e)| {
                (
                    s.to_string(),
                    p.iter().copied().zip(e.iter().copied()).collect(),
                )
            })
            .collect();
        assert_eq!(got_map, active);
        assert_eq!(
            active["b"],
            BTreeMap::from([(1, 8), (3, 4), (5, 3), (9, 8)])
        );
        assert_eq!(set_from_record(&list, ids).to_map(), set);
        let wire: Vec<TaskIds> = list
            .iter()
            .map(|t| TaskIds {
                subtopology_id: t.subtopology_id.clone(),
                partitions: t.partitions.clone(),
            })
            .collect();
        assert_eq!(task_set_from(&wire, ids).to_map(), set);
        // Sorted lists (what our records hold) take the direct path: same sets.
        let sorted = vec![
            entry("a", &[2], None),
            entry("b", &[1, 3, 5, 9], Some(&[8, 4, 3, 8])),
        ];
        assert_eq!(active_from_record(&sorted, 8, ids), got);
        assert_eq!(record_active(&got), {
            let mut r = sorted.clone();
            r[0].assignment_epochs = Some(vec![8]);
            r
        });
    }
}
