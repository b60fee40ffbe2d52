//! Task sets: the value types the state machine moves between members.
//!
//! A task is `(subtopology id, partition)`. Sets are keyed by subtopology id in
//! ascending string order with partitions ascending, which is also the order
//! records and responses carry them in. An empty subtopology entry is never
//! stored, so two sets holding the same tasks compare equal.

use std::collections::{BTreeMap, BTreeSet};

/// Partitions per subtopology, without epochs (standby / warm-up tasks, targets,
/// owned tasks reported by a member).
pub(super) type TaskSet = BTreeMap<String, BTreeSet<i32>>;

/// Active tasks with their per-task assignment epoch (spec 03 §1):
/// subtopology -> partition -> epoch at which the task was granted.
pub(super) type ActiveTasks = BTreeMap<String, BTreeMap<i32, i32>>;

/// Active, standby and warm-up task sets without epochs (a target assignment,
/// or the tasks a member reports it owns).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(super) struct Tasks {
    /// Active tasks.
    pub(super) active: TaskSet,
    /// Standby tasks.
    pub(super) standby: TaskSet,
    /// Warm-up tasks.
    pub(super) warmup: TaskSet,
}

/// Active tasks with assignment epochs, standby and warm-up task sets (a
/// member's assigned tasks or tasks pending revocation).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(super) struct TasksWithEpochs {
    /// Active tasks and their assignment epochs.
    pub(super) active: ActiveTasks,
    /// Standby tasks.
    pub(super) standby: TaskSet,
    /// Warm-up tasks.
    pub(super) warmup: TaskSet,
}

impl Tasks {
    /// True when no role holds any task.
    pub(super) fn is_empty(&self) -> bool {
        self.active.is_empty() && self.standby.is_empty() && self.warmup.is_empty()
    }

    /// True when this tuple holds any task of `other`, role by role.
    pub(super) fn contains_any(&self, other: &TasksWithEpochs) -> bool {
        intersects_keys(&self.active, &other.active)
            || intersects(&self.standby, &other.standby)
            || intersects(&self.warmup, &other.warmup)
    }
}

impl TasksWithEpochs {
    /// True when no role holds any task.
    pub(super) fn is_empty(&self) -> bool {
        self.active.is_empty() && self.standby.is_empty() && self.warmup.is_empty()
    }

    /// The same tasks without the active-task epochs.
    pub(super) fn without_epochs(&self) -> Tasks {
        Tasks {
            active: self
                .active
                .iter()
                .map(|(s, p)| (s.clone(), p.keys().copied().collect()))
                .collect(),
            standby: self.standby.clone(),
            warmup: self.warmup.clone(),
        }
    }
}

/// True when `set` holds `(subtopology, partition)`.
pub(super) fn contains(set: &TaskSet, subtopology: &str, partition: i32) -> bool {
    set.get(subtopology).is_some_and(|p| p.contains(&partition))
}

/// True when `set` holds the active task `(subtopology, partition)`.
pub(super) fn contains_active(set: &ActiveTasks, subtopology: &str, partition: i32) -> bool {
    set.get(subtopology)
        .is_some_and(|p| p.contains_key(&partition))
}

/// Adds a task to a set.
pub(super) fn insert(set: &mut TaskSet, subtopology: &str, partition: i32) {
    if let Some(p) = set.get_mut(subtopology) {
        p.insert(partition);
    } else {
        set.insert(subtopology.to_string(), BTreeSet::from([partition]));
    }
}

/// Removes a task from a set, dropping the subtopology entry when it empties.
pub(super) fn remove(set: &mut TaskSet, subtopology: &str, partition: i32) -> bool {
    let Some(p) = set.get_mut(subtopology) else {
        return false;
    };
    let removed = p.remove(&partition);
    if p.is_empty() {
        set.remove(subtopology);
    }
    removed
}

fn intersects(a: &TaskSet, b: &TaskSet) -> bool {
    a.iter()
        .any(|(s, pa)| b.get(s).is_some_and(|pb| pa.iter().any(|p| pb.contains(p))))
}

fn intersects_keys(a: &TaskSet, b: &ActiveTasks) -> bool {
    a.iter().any(|(s, pa)| {
        b.get(s)
            .is_some_and(|pb| pa.iter().any(|p| pb.contains_key(p)))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(entries: &[(&str, &[i32])]) -> TaskSet {
        entries
            .iter()
            .map(|(s, p)| (s.to_string(), p.iter().copied().collect()))
            .collect()
    }

    #[test]
    fn remove_drops_empty_subtopology() {
        let mut s = set(&[("a", &[1])]);
        assert!(remove(&mut s, "a", 1));
        assert!(s.is_empty());
        assert!(!remove(&mut s, "a", 1));
    }

    #[test]
    fn contains_any_compares_role_by_role() {
        let mut t = TasksWithEpochs::default();
        t.active
            .insert("a".into(), BTreeMap::from([(1, 5), (2, 7)]));
        let plain = Tasks {
            active: set(&[("a", &[2, 3])]),
            ..Tasks::default()
        };
        assert!(plain.contains_any(&t));
        let standby = Tasks {
            standby: set(&[("a", &[1, 2])]),
            ..Tasks::default()
        };
        assert!(!standby.contains_any(&t));
        assert_eq!(t.without_epochs().active, set(&[("a", &[1, 2])]));
    }
}
