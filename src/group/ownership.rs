//! The group-wide task ownership index of spec 03 §2, kept by process id and
//! rebuilt from replayed current-assignment records only.

use std::collections::{BTreeMap, BTreeSet};

use super::member::Member;
use super::tasks::{ActiveTasks, TaskSet, TasksWithEpochs};

/// Who holds each task, by process id.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Ownership {
    active: BTreeMap<String, BTreeMap<i32, String>>,
    standby: BTreeMap<String, BTreeMap<i32, BTreeSet<String>>>,
    warmup: BTreeMap<String, BTreeMap<i32, BTreeSet<String>>>,
}

impl Ownership {
    /// Process id holding the task as active (assigned or pending revocation).
    pub fn active_owner(&self, s: &str, p: i32) -> Option<&str> {
        self.active
            .get(s)
            .and_then(|m| m.get(&p))
            .map(String::as_str)
    }

    /// True when process `pid` holds the task as standby.
    pub fn standby_held_by(&self, s: &str, p: i32, pid: &str) -> bool {
        self.standby
            .get(s)
            .and_then(|m| m.get(&p))
            .is_some_and(|set| set.contains(pid))
    }

    /// True when process `pid` holds the task as warm-up.
    pub fn warmup_held_by(&self, s: &str, p: i32, pid: &str) -> bool {
        self.warmup
            .get(s)
            .and_then(|m| m.get(&p))
            .is_some_and(|set| set.contains(pid))
    }

    /// Adds a member's assigned and pending tasks under its process id.
    pub fn add(&mut self, m: &Member) {
        self.add_tasks(&m.assigned, &m.process_id);
        self.add_tasks(&m.pending_revocation, &m.process_id);
    }

    /// Removes a member's assigned and pending tasks.
    pub fn remove(&mut self, m: &Member) {
        self.remove_tasks(&m.assigned, &m.process_id);
        self.remove_tasks(&m.pending_revocation, &m.process_id);
    }

    fn add_tasks(&mut self, t: &TasksWithEpochs, pid: &str) {
        add_active(&mut self.active, &t.active, pid);
        add_set(&mut self.standby, &t.standby, pid);
        add_set(&mut self.warmup, &t.warmup, pid);
    }

    fn remove_tasks(&mut self, t: &TasksWithEpochs, pid: &str) {
        for (s, parts) in &t.active {
            if let Some(m) = self.active.get_mut(s) {
                for p in parts.keys() {
                    if m.get(p).is_some_and(|owner| owner == pid) {
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

fn add_active(index: &mut BTreeMap<String, BTreeMap<i32, String>>, t: &ActiveTasks, pid: &str) {
    for (s, parts) in t {
        let m = index.entry(s.clone()).or_default();
        for p in parts.keys() {
            m.insert(*p, pid.to_string());
        }
    }
}

fn add_set(index: &mut BTreeMap<String, BTreeMap<i32, BTreeSet<String>>>, t: &TaskSet, pid: &str) {
    for (s, parts) in t {
        let m = index.entry(s.clone()).or_default();
        for p in parts {
            m.entry(*p).or_default().insert(pid.to_string());
        }
    }
}

fn remove_set(
    index: &mut BTreeMap<String, BTreeMap<i32, BTreeSet<String>>>,
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
