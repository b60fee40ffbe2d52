//! The group-wide task ownership index of spec 03 §2, kept by process id and
//! rebuilt from replayed current-assignment records only.
//!
//! Per subtopology, the holders of a task are kept in a vector indexed by
//! partition (a task's partition numbers are those of its input topics: dense
//! from 0), not in a map per task: one slot of 16 bytes per partition and one
//! allocation per subtopology instead of B-tree nodes, and an insert is a
//! store (issue 14 items 1 and 3). Partitions outside `0..DENSE_PARTITIONS`
//! (only a corrupt or hand-written record holds them) go to a map, so a
//! single large partition number cannot make the index allocate a huge vector.

use std::collections::btree_map::Entry;
use std::collections::BTreeMap;
use std::sync::Arc;

use super::member::Member;
use super::tasks::{ActiveTasks, SubId, TaskSet, TasksWithEpochs};

/// Partitions below this are kept in the vector of their subtopology.
const DENSE_PARTITIONS: i32 = 1 << 14;

/// What a partition slot holds; the default is a vacant slot (no holder).
trait Slot: Default {
    fn is_vacant(&self) -> bool;
}

/// The process holding an active task.
impl Slot for Option<Arc<str>> {
    fn is_vacant(&self) -> bool {
        self.is_none()
    }
}

/// The processes holding a standby or warm-up task: ascending, no duplicates.
type Pids = Vec<Arc<str>>;

impl Slot for Pids {
    fn is_vacant(&self) -> bool {
        self.is_empty()
    }
}

/// The holders of one subtopology's tasks, by partition. Canonical (equal
/// contents compare equal): the vector has no trailing vacant slot and the
/// map no vacant entry.
#[derive(Clone, Debug, PartialEq, Eq)]
struct ByPartition<V> {
    /// Partitions `0..dense.len()`.
    dense: Vec<V>,
    /// Held slots in `dense`.
    held: usize,
    /// Partitions outside `0..DENSE_PARTITIONS`.
    sparse: BTreeMap<i32, V>,
}

impl<V> Default for ByPartition<V> {
    fn default() -> Self {
        ByPartition {
            dense: Vec::new(),
            held: 0,
            sparse: BTreeMap::new(),
        }
    }
}

fn dense_index(p: i32) -> Option<usize> {
    if (0..DENSE_PARTITIONS).contains(&p) {
        usize::try_from(p).ok()
    } else {
        None
    }
}

impl<V: Slot> ByPartition<V> {
    fn get(&self, p: i32) -> Option<&V> {
        match dense_index(p) {
            Some(i) => self.dense.get(i).filter(|v| !v.is_vacant()),
            None => self.sparse.get(&p),
        }
    }

    fn is_empty(&self) -> bool {
        self.held == 0 && self.sparse.is_empty()
    }

    /// Makes room for partitions up to `p` at once (a member's tasks come
    /// ascending: one allocation for them, not one per doubling), growing by
    /// a quarter at least (amortized, and at most a quarter unused where
    /// members hold every n-th partition).
    fn reserve_to(&mut self, p: i32) {
        let Some(needed) = dense_index(p).map(|i| i + 1) else {
            return;
        };
        let cap = self.dense.capacity();
        if needed > cap {
            let target = needed.max(cap + cap / 4);
            self.dense.reserve_exact(target - self.dense.len());
        }
    }

    /// Runs `f` on the slot of partition `p`, made (vacant) first if absent
    /// and `create`; absent and not `create`: nothing happens.
    fn update(&mut self, p: i32, create: bool, f: impl FnOnce(&mut V)) {
        let Some(i) = dense_index(p) else {
            match self.sparse.entry(p) {
                Entry::Occupied(mut e) => {
                    f(e.get_mut());
                    if e.get().is_vacant() {
                        e.remove();
                    }
                }
                Entry::Vacant(e) => {
                    if create {
                        let mut v = V::default();
                        f(&mut v);
                        if !v.is_vacant() {
                            e.insert(v);
                        }
                    }
                }
            }
            return;
        };
        if i >= self.dense.len() {
            if !create {
                return;
            }
            self.dense.resize_with(i + 1, V::default);
        }
        let slot = self.dense.get_mut(i).expect("resized to hold the slot");
        let was_held = !slot.is_vacant();
        f(slot);
        let held = !slot.is_vacant();
        match (was_held, held) {
            (false, true) => self.held += 1,
            (true, false) => self.held -= 1,
            _ => {}
        }
        if !held {
            while self.dense.last().is_some_and(Slot::is_vacant) {
                self.dense.pop();
            }
        }
    }
}

/// Who holds each task, by process id; subtopologies by their shared id.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(super) struct Ownership {
    active: BTreeMap<SubId, ByPartition<Option<Arc<str>>>>,
    standby: BTreeMap<SubId, ByPartition<Pids>>,
    warmup: BTreeMap<SubId, ByPartition<Pids>>,
}

fn holds(set: &Pids, pid: &str) -> bool {
    set.binary_search_by(|x| (**x).cmp(pid)).is_ok()
}

impl Ownership {
    /// Process id holding the task as active (assigned or pending revocation).
    pub(super) fn active_owner(&self, s: &str, p: i32) -> Option<&str> {
        self.active
            .get(s)
            .and_then(|m| m.get(p))
            .and_then(|o| o.as_deref())
    }

    /// True when process `pid` holds the task as standby.
    pub(super) fn standby_held_by(&self, s: &str, p: i32, pid: &str) -> bool {
        self.standby
            .get(s)
            .and_then(|m| m.get(p))
            .is_some_and(|set| holds(set, pid))
    }

    /// True when process `pid` holds the task as warm-up.
    pub(super) fn warmup_held_by(&self, s: &str, p: i32, pid: &str) -> bool {
        self.warmup
            .get(s)
            .and_then(|m| m.get(p))
            .is_some_and(|set| holds(set, pid))
    }

    /// Adds a member's assigned and pending tasks under its process id.
    pub(super) fn add(&mut self, m: &Member) {
        self.add_tasks(&m.assigned, &m.process_id);
        self.add_tasks(&m.pending_revocation, &m.process_id);
    }

    /// Removes a member's assigned and pending tasks.
    pub(super) fn remove(&mut self, m: &Member) {
        self.remove_tasks(&m.assigned, &m.process_id);
        self.remove_tasks(&m.pending_revocation, &m.process_id);
    }

    fn add_tasks(&mut self, t: &TasksWithEpochs, pid: &Arc<str>) {
        if t.is_empty() {
            return;
        }
        add_active(&mut self.active, &t.active, pid);
        add_set(&mut self.standby, &t.standby, pid);
        add_set(&mut self.warmup, &t.warmup, pid);
    }

    fn remove_tasks(&mut self, t: &TasksWithEpochs, pid: &str) {
        for (s, parts, _) in t.active.iter() {
            if let Some(m) = self.active.get_mut(&**s) {
                for p in parts {
                    m.update(*p, false, |owner| {
                        if owner.as_deref() == Some(pid) {
                            *owner = None;
                        }
                    });
                }
                if m.is_empty() {
                    self.active.remove(&**s);
                }
            }
        }
        remove_set(&mut self.standby, &t.standby, pid);
        remove_set(&mut self.warmup, &t.warmup, pid);
    }
}

fn add_active(
    index: &mut BTreeMap<SubId, ByPartition<Option<Arc<str>>>>,
    t: &ActiveTasks,
    pid: &Arc<str>,
) {
    for (s, parts, _) in t.iter() {
        with_sub(index, s, |m| {
            if let Some(&last) = parts.last() {
                m.reserve_to(last);
            }
            for p in parts {
                m.update(*p, true, |owner| *owner = Some(pid.clone()));
            }
        });
    }
}

/// Runs `f` on the entry of a subtopology, created if absent (the key is
/// the set's shared id).
fn with_sub<V: Default>(index: &mut BTreeMap<SubId, V>, s: &SubId, f: impl FnOnce(&mut V)) {
    match index.get_mut(&**s) {
        Some(v) => f(v),
        None => {
            let mut v = V::default();
            f(&mut v);
            index.insert(s.clone(), v);
        }
    }
}

fn add_set(index: &mut BTreeMap<SubId, ByPartition<Pids>>, t: &TaskSet, pid: &Arc<str>) {
    for (s, parts) in t.iter() {
        with_sub(index, s, |m| {
            if let Some(&last) = parts.last() {
                m.reserve_to(last);
            }
            for p in parts {
                m.update(*p, true, |set| {
                    if let Err(at) = set.binary_search_by(|x| (**x).cmp(&**pid)) {
                        set.insert(at, pid.clone());
                    }
                });
            }
        });
    }
}

fn remove_set(index: &mut BTreeMap<SubId, ByPartition<Pids>>, t: &TaskSet, pid: &str) {
    for (s, parts) in t.iter() {
        if let Some(m) = index.get_mut(&**s) {
            for p in parts {
                m.update(*p, false, |set| {
                    if let Ok(at) = set.binary_search_by(|x| (**x).cmp(pid)) {
                        set.remove(at);
                    }
                });
            }
            if m.is_empty() {
                index.remove(&**s);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::group::tasks::build;

    fn member(pid: &str, active: &[(&str, &[i32])], standby: &[(&str, &[i32])]) -> Member {
        let mut m = Member::new(&format!("{pid}-m"));
        m.process_id = pid.into();
        m.assigned.active = build::active(active, 1);
        m.assigned.standby = build::set(standby);
        m
    }

    #[test]
    fn dense_and_sparse_partitions_index_alike() {
        let big = [
            0,
            3,
            DENSE_PARTITIONS - 1,
            DENSE_PARTITIONS,
            i32::MAX,
            -1,
            i32::MIN,
        ];
        let a = member("pa", &[("s", &big)], &[("s", &big)]);
        let b = member("pb", &[], &[("s", &big)]);
        let mut own = Ownership::default();
        own.add(&a);
        own.add(&b);
        for p in big {
            assert_eq!(own.active_owner("s", p), Some("pa"));
            assert!(own.standby_held_by("s", p, "pa") && own.standby_held_by("s", p, "pb"));
            assert!(!own.standby_held_by("s", p, "pc"));
        }
        assert_eq!(own.active_owner("s", 1), None);
        assert_eq!(own.active_owner("t", 0), None);
        own.remove(&b);
        assert!(!own.standby_held_by("s", 0, "pb") && own.standby_held_by("s", 0, "pa"));
        own.remove(&a);
        assert_eq!(own, Ownership::default(), "nothing left behind");
    }

    #[test]
    fn equal_contents_compare_equal_whatever_the_history() {
        let low = member("p", &[("s", &[1])], &[]);
        let high = member("q", &[("s", &[1, 900])], &[]);
        let mut a = Ownership::default();
        a.add(&low);
        let mut b = Ownership::default();
        b.add(&high);
        b.remove(&high);
        b.add(&low);
        assert_eq!(a, b);
        assert_eq!(a.active.get("s").map(|m| m.dense.len()), Some(2));
    }

    #[test]
    fn an_active_task_is_removed_only_by_its_owner() {
        let a = member("pa", &[("s", &[0])], &[]);
        let b = member("pb", &[("s", &[0])], &[]);
        let mut own = Ownership::default();
        own.add(&a);
        own.add(&b);
        assert_eq!(own.active_owner("s", 0), Some("pb"), "the later add wins");
        own.remove(&a);
        assert_eq!(own.active_owner("s", 0), Some("pb"));
        own.remove(&b);
        assert_eq!(own.active_owner("s", 0), None);
    }
}
