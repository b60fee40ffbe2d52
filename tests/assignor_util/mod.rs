//! Shared fixtures for the assignor tests: owned member data a test can build
//! freely, turned into the borrowed `GroupSpec` the assignors take.
#![allow(dead_code)]

use std::collections::BTreeMap;

use streams_coordinator::assignor::*;

/// One member's owned input.
#[derive(Clone, Debug, Default)]
pub struct Member {
    pub id: String,
    pub process: String,
    pub active: BTreeMap<String, Vec<i32>>,
    pub standby: BTreeMap<String, Vec<i32>>,
    pub offsets: BTreeMap<String, BTreeMap<i32, i64>>,
    pub tags: BTreeMap<String, String>,
}

impl Member {
    pub fn new(id: &str, process: &str) -> Self {
        Member {
            id: id.to_owned(),
            process: process.to_owned(),
            ..Default::default()
        }
    }
    pub fn active(mut self, sub: &str, parts: &[i32]) -> Self {
        self.active
            .entry(sub.to_owned())
            .or_default()
            .extend_from_slice(parts);
        self
    }
    pub fn standby(mut self, sub: &str, parts: &[i32]) -> Self {
        self.standby
            .entry(sub.to_owned())
            .or_default()
            .extend_from_slice(parts);
        self
    }
    pub fn offset(mut self, sub: &str, part: i32, off: i64) -> Self {
        self.offsets
            .entry(sub.to_owned())
            .or_default()
            .insert(part, off);
        self
    }
    pub fn tag(mut self, k: &str, v: &str) -> Self {
        self.tags.insert(k.to_owned(), v.to_owned());
        self
    }
    pub fn spec(&self) -> MemberSpec<'_> {
        let mut s = MemberSpec::new(&self.id, &self.process);
        s.active_tasks = &self.active;
        s.standby_tasks = &self.standby;
        s.task_offsets = &self.offsets;
        s.client_tags = &self.tags;
        s
    }
}

pub fn group<'a>(members: &'a [Member], configs: &'a AssignmentConfigs) -> GroupSpec<'a> {
    let mut g = GroupSpec::with_capacity(configs, members.len());
    g.members.extend(members.iter().map(Member::spec));
    g
}

pub fn standbys(n: u32) -> AssignmentConfigs {
    AssignmentConfigs {
        num_standby_replicas: n,
        ..Default::default()
    }
}

/// The members of `members` with their current tasks replaced by `assignment`.
pub fn feed_back(members: &[Member], assignment: &GroupAssignment<'_>) -> Vec<Member> {
    members
        .iter()
        .map(|m| {
            let mut m = m.clone();
            m.active.clear();
            m.standby.clear();
            if let Some(a) = assignment.member(&m.id) {
                for g in a.active().by_subtopology() {
                    m.active
                        .insert(g.subtopology_id.to_owned(), g.partitions().collect());
                }
                for g in a.standby().by_subtopology() {
                    m.standby
                        .insert(g.subtopology_id.to_owned(), g.partitions().collect());
                }
            }
            m
        })
        .collect()
}

/// `member -> sorted list of "sub_p"` for actives.
pub fn actives(a: &GroupAssignment<'_>) -> BTreeMap<String, Vec<String>> {
    a.members()
        .map(|m| {
            (
                m.member_id().to_owned(),
                m.active().iter().map(|t| t.to_string()).collect(),
            )
        })
        .collect()
}

pub fn standby_sets(a: &GroupAssignment<'_>) -> BTreeMap<String, Vec<String>> {
    a.members()
        .map(|m| {
            (
                m.member_id().to_owned(),
                m.standby().iter().map(|t| t.to_string()).collect(),
            )
        })
        .collect()
}
