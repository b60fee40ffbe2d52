//! The group-wide task ownership index of spec 03 §2, kept by process id and
//! rebuilt from replayed current-assignment records only.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use super::member::Member;
use super::tasks::{ActiveTasks, TaskSet, TasksWithEpochs};

/// Who holds each task, by process id.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(super) struct Ownership {
    active: BTreeMap<String, BTreeMap<i32, Arc<str>>>,
    standby: BTreeMap<String, BTreeMap<i32, BTreeSet<Arc<str>>>>,
    warmup: BTreeMap<String, BTreeMap<i32, BTreeSet<Arc<str>>>>,
}

impl Ownership {
    /// Process id holding the task as active (assigned or pending revocation).
    pub(super) fn active_owner(&self, s: &str, p: i32) -> Option<&str> {
        self.active.get(s).and_then(|m| m.get(&p)).map(|p| &**p)
    }

    /// True when process `pid` holds the task as standby.
    pub(super) fn standby_held_by(&self, s: &str, p: i32, pid: &str) -> bool {
        self.standby
            .get(s)
            .and_then(|m| m.get(&p))
            .is_some_and(|set| set.contains(pid))
    }

    /// True when process `pid` holds the task as warm-up.
    pub(super) fn warmup_held_by(&self, s: &str, p: i32, pid: &str) -> bool {
        self.warmup
            .get(s)
            .and_then(|m| m.get(&p))
            .is_some_and(|set| set.contains(pid))
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

    fn add_tasks(&mut self, t: &TasksWithEpochs, pid: &str) {
        if t.is_empty() {
            return;
        }
        let pid: Arc<str> = Arc::from(pid);
        add_active(&mut self.active, &t.active, &pid);
        add_set(&mut self.standby, &t.standby, &pid);
        add_set(&mut self.warmup, &t.warmup, &pid);
    }

    fn remove_tasks(&mut self, t: &TasksWithEpochs, pid: &str) {
        for (s, parts) in &t.active {
            if let Some(m) = self.active.get_mut(s) {
                for p in parts.keys() {
                    if m.get(p).is_some_and(|owner| &**owner == pid) {
                        m.remove(p);
                    }
                }
                if m.is_empty() {
                    self.active.remove(s);
                }
            }
        }
        remove_set(&mut self.standby, &t.standby, pid);
        remove_set(&mut self.warmup, &t.warmup, pid);
    }
}

fn add_active(
    index: &mut BTreeMap<String, BTreeMap<i32, Arc<str>>>,
    t: &ActiveTasks,
    pid: &Arc<str>,
) {
    for (s, parts) in t {
        with_sub(index, s, |m| {
            for p in parts.keys() {
                m.insert(*p, pid.clone());
            }
        });
    }
}

/// Runs `f` on the entry of a subtopology, created if absent (the key is
/// allocated only then).
fn with_sub<V: Default>(index: &mut BTreeMap<String, V>, s: &str, f: impl FnOnce(&mut V)) {
    match index.get_mut(s) {
        Some(v) => f(v),
        None => {
            let mut v = V::default();
            f(&mut v);
            index.insert(s.to_string(), v);
        }
    }
}

fn add_set(
    index: &mut BTreeMap<String, BTreeMap<i32, BTreeSet<Arc<str>>>>,
    t: &TaskSet,
    pid: &Arc<str>,
) {
    for (s, parts) in t {
        with_sub(index, s, |m| {
            for p in parts {
                m.entry(*p).or_default().insert(pid.clone());
            }
        });
    }
}

fn remove_set(
    index: &mut BTreeMap<String, BTreeMap<i32, BTreeSet<Arc<str>>>>,
    t: &TaskSet,
    pid: &str,
) {
    for (s, parts) in t {
        if let Some(m) = index.get_mut(s) {
            for p in parts {
                if let Some(set) = m.get_mut(p) {
                    set.remove(pid);
                    if set.is_empty() {
                        m.remove(p);
                    }
                }
            }
            if m.is_empty() {
                index.remove(s);
            }
        }
    }
}
