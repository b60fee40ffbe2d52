//! Target-assignment computation (spec 02 §9, 05 §2): builds the assignor's
//! input from the group as the request sees it, runs the assignor chosen for
//! the group, and writes the changed targets as records.

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::assignor::{AssignmentConfigs, AssignorError, GroupSpec, MemberSpec, TaskAssignor};
use crate::protocol::CoordinatorRecord;

use super::member::Member;
use super::member_table;
use super::records;
use super::state::{Configured, GroupCore, OffsetsView};
use super::tasks::{TaskSet, Tasks};

/// The group as a computation sees it: its members, with the requesting
/// member's updated value substituted and a statically replaced member left out.
pub(super) struct View<'a> {
    /// The group before the request.
    pub(super) group: &'a GroupCore,
    /// The requesting member after its update, if a request triggers this.
    pub(super) updated: Option<&'a Member>,
    /// Member id replaced by a static re-join (its target moves to `updated`).
    pub(super) replaced: Option<&'a str>,
}

impl<'a> View<'a> {
    /// Members in id order: one pass over the group's members (already in id
    /// order), the updated member substituted or slotted in at its place.
    pub(super) fn members(&self) -> Vec<&'a Member> {
        let mut out = Vec::with_capacity(self.group.members.len() + 1);
        let mut pending = self.updated;
        for (id, m) in &self.group.members {
            if Some(id.as_str()) == self.replaced {
                continue;
            }
            match pending {
                Some(u) if u.member_id.as_str() <= id.as_str() => {
                    out.push(u);
                    pending = None;
                    if u.member_id == *id {
                        continue;
                    }
                }
                _ => {}
            }
            out.push(m);
        }
        out.extend(pending);
        out
    }

    /// The stored target of a member of the view.
    pub(super) fn old_target(&self, member_id: &str) -> Option<&'a Arc<Tasks>> {
        if let (Some(u), Some(r)) = (self.updated, self.replaced) {
            if u.member_id == member_id {
                return self.group.targets.get(r);
            }
        }
        self.group.targets.get(member_id)
    }
}

/// Assignment configs from the effective settings.
pub(super) fn configs(num_standby_replicas: i32, tags: &[String]) -> AssignmentConfigs {
    AssignmentConfigs {
        num_standby_replicas: u32::try_from(num_standby_replicas).unwrap_or(0),
        rack_aware_assignment_tags: tags.to_vec(),
    }
}

/// Computes the target assignment for `epoch` and writes the records: one
/// `StreamsGroupTargetAssignmentMember` per member whose target is new or
/// changed (member id order), then `StreamsGroupTargetAssignmentMetadata`.
/// Returns every member's new target, by member id; a target that did not
/// change is the stored one, shared.
/// The assignor works on the task space built once with `configured`.
#[allow(clippy::too_many_arguments)]
pub(super) fn compute_target(
    view: &View<'_>,
    epoch: i32,
    configured: &Configured,
    assignor: &dyn TaskAssignor,
    configs: &AssignmentConfigs,
    offsets: OffsetsView<'_>,
    now_ms: i64,
    out: &mut Vec<CoordinatorRecord>,
) -> Result<BTreeMap<String, Arc<Tasks>>, AssignorError> {
    let gid = view.group.group_id.as_str();
    let members = view.members();
    // Every member's new target, in member id order.
    let mut targets: Vec<(&str, Arc<Tasks>)> = Vec::with_capacity(members.len());
    if let Some(space) = configured.task_space() {
        let space = space?;
        // Over the group's member table when it has one: the assignor then
        // takes the member order and process numbering from it.
        let table = view.group.member_table.as_deref();
        let mut spec = match table {
            Some(t) => GroupSpec::with_table(configs, t, members.len()),
            None => GroupSpec::with_capacity(configs, members.len()),
        };
        let mut cursor = table.map(member_table::Cursor::new);
        for m in &members {
            let mut ms = match cursor.as_mut() {
                Some(c) => c.spec(&m.member_id, &m.process_id),
                None => MemberSpec::new(&m.member_id, &m.process_id),
            };
            ms.instance_id = m.instance_id.as_deref();
            ms.rack_id = m.rack_id.as_deref();
            ms.client_tags = &m.client_tags;
            // An empty collection stays `NOTHING` (what `MemberSpec::new`
            // sets), which the assignor skips without a call.
            if !m.assigned.active.is_empty() {
                ms.active_tasks = &m.assigned.active;
            }
            if !m.assigned.standby.is_empty() {
                ms.standby_tasks = &m.assigned.standby;
            }
            if !m.assigned.warmup.is_empty() {
                ms.warmup_tasks = &m.assigned.warmup;
            }
            if let Some(o) = offsets.get(&m.member_id) {
                if !o.offsets.is_empty() {
                    ms.task_offsets = &o.offsets;
                }
                if !o.end_offsets.is_empty() {
                    ms.task_end_offsets = &o.end_offsets;
                }
            }
            spec.members.push(ms);
        }
        let assignment = assignor.assign(&spec, space)?;
        // The new targets share the group's subtopology ids.
        let mut ids = view.group.sub_ids.clone();
        // The assignment lists the spec's members in ascending id order, as
        // `members` is: walk both together instead of a search per member.
        let mut assigned = assignment.members().peekable();
        for m in &members {
            while assigned
                .next_if(|a| a.member_id() < m.member_id.as_str())
                .is_some()
            {}
            let t = match assigned.next_if(|a| a.member_id() == m.member_id) {
                Some(a) => Tasks {
                    active: TaskSet::from_task_list(&a.active(), &mut ids),
                    standby: TaskSet::from_task_list(&a.standby(), &mut ids),
                    warmup: TaskSet::default(),
                },
                None => Tasks::default(),
            };
            targets.push((m.member_id.as_str(), Arc::new(t)));
        }
    } else {
        let empty = Arc::new(Tasks::default());
        for m in &members {
            targets.push((m.member_id.as_str(), empty.clone()));
        }
    }
    for (id, t) in &mut targets {
        match view.old_target(id) {
            Some(old) if *old == *t => *t = old.clone(),
            _ => out.push(records::target_member(gid, id, t)),
        }
    }
    out.push(records::target_metadata(gid, epoch, now_ms));
    Ok(targets
        .into_iter()
        .map(|(id, t)| (id.to_string(), t))
        .collect())
}
