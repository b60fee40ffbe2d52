//! The assignor's output (spec 05 §2): for every member of the group spec, its
//! active and standby tasks.
//!
//! Stored flat: member ids borrowed from the group spec (ascending), and one
//! vector of task indices into the [`TaskSpace`]. Building it costs a few
//! allocations in total, never one per task or per subtopology.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use super::index::str_less;
use super::{AssignorError, GroupSpec, TaskSpace, MAX_MEMBERS};

/// A computed assignment: every member of the group spec, in ascending member
/// id order, with its active and standby tasks (each sorted by subtopology id,
/// then partition). Warm-ups are never part of it (spec 05 §6).
#[derive(Clone)]
pub struct GroupAssignment<'a> {
    space: &'a TaskSpace,
    ids: Vec<&'a str>,
    /// `bounds[2i]..bounds[2i+1]` = active, `bounds[2i+1]..bounds[2i+2]` = standby.
    bounds: Vec<u32>,
    tasks: Vec<u32>,
}

impl<'a> GroupAssignment<'a> {
    /// Crate-internal constructor; `ids` ascending and unique, `bounds` of
    /// length `2 * ids.len() + 1`, `tasks` valid indices of `space`.
    pub(crate) fn from_parts(
        space: &'a TaskSpace,
        ids: Vec<&'a str>,
        bounds: Vec<u32>,
        tasks: Vec<u32>,
    ) -> Self {
        debug_assert_eq!(bounds.len(), ids.len() * 2 + 1);
        GroupAssignment {
            space,
            ids,
            bounds,
            tasks,
        }
    }

    /// The task space the task indices refer to.
    pub fn task_space(&self) -> &'a TaskSpace {
        self.space
    }

    /// Number of members.
    pub fn len(&self) -> usize {
        self.ids.len()
    }

    /// Whether there is no member.
    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }

    /// The members in ascending member id order.
    pub fn members(&self) -> impl ExactSizeIterator<Item = MemberAssignment<'_>> + '_ {
        (0..self.ids.len()).map(move |i| self.at(i))
    }

    /// The assignment of one member (binary search by id).
    pub fn member(&self, member_id: &str) -> Option<MemberAssignment<'_>> {
        self.ids.binary_search(&member_id).ok().map(|i| self.at(i))
    }

    fn at(&self, i: usize) -> MemberAssignment<'_> {
        let (a, s, e) = (
            self.bounds[2 * i] as usize,
            self.bounds[2 * i + 1] as usize,
            self.bounds[2 * i + 2] as usize,
        );
        MemberAssignment {
            member_id: self.ids[i],
            active: TaskList {
                space: self.space,
                tasks: &self.tasks[a..s],
            },
            standby: TaskList {
                space: self.space,
                tasks: &self.tasks[s..e],
            },
        }
    }

    /// The assignment as plain maps, `member -> (active, standby)` with
    /// `subtopology -> partitions` (subtopologies without tasks absent).
    /// Allocates per entry: for tests and tools, not for the hot path.
    pub fn to_maps(&self) -> BTreeMap<String, (TaskMap, TaskMap)> {
        self.members()
            .map(|m| {
                (
                    m.member_id().to_owned(),
                    (m.active().to_map(), m.standby().to_map()),
                )
            })
            .collect()
    }
}

/// `subtopology id -> partitions`, the map shape of Kafka's `MemberAssignment`.
pub type TaskMap = BTreeMap<String, BTreeSet<i32>>;

impl fmt::Debug for GroupAssignment<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map()
            .entries(self.members().map(|m| (m.member_id, m)))
            .finish()
    }
}

/// One member's part of a [`GroupAssignment`].
#[derive(Clone, Copy)]
pub struct MemberAssignment<'s> {
    member_id: &'s str,
    active: TaskList<'s>,
    standby: TaskList<'s>,
}

impl<'s> MemberAssignment<'s> {
    /// The member id.
    pub fn member_id(&self) -> &'s str {
        self.member_id
    }
    /// Its active tasks.
    pub fn active(&self) -> TaskList<'s> {
        self.active
    }
    /// Its standby tasks.
    pub fn standby(&self) -> TaskList<'s> {
        self.standby
    }
}

impl fmt::Debug for MemberAssignment<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MemberAssignment")
            .field("active", &self.active)
            .field("standby", &self.standby)
            .finish()
    }
}

/// A sorted list of tasks (by subtopology id, then partition).
#[derive(Clone, Copy)]
pub struct TaskList<'s> {
    space: &'s TaskSpace,
    tasks: &'s [u32],
}

/// One task: `(subtopology id, partition)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TaskId<'s> {
    /// The subtopology id.
    pub subtopology_id: &'s str,
    /// The partition (task number inside the subtopology).
    pub partition: i32,
}

impl fmt::Display for TaskId<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}_{}", self.subtopology_id, self.partition)
    }
}

impl<'s> TaskList<'s> {
    /// Number of tasks.
    pub fn len(&self) -> usize {
        self.tasks.len()
    }
    /// Whether there is no task.
    pub fn is_empty(&self) -> bool {
        self.tasks.is_empty()
    }
    /// The tasks as global indices of the task space (ascending).
    pub fn indices(&self) -> &'s [u32] {
        self.tasks
    }
    /// The tasks, sorted.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = TaskId<'s>> + 's {
        let space = self.space;
        self.tasks.iter().map(move |&t| TaskId {
            subtopology_id: space.sub_id(space.task_sub(t) as usize),
            partition: space.partition_of(t),
        })
    }
    /// Whether `(subtopology_id, partition)` is in the list.
    pub fn contains(&self, subtopology_id: &str, partition: i32) -> bool {
        self.space
            .task_index(subtopology_id, partition)
            .is_some_and(|t| self.tasks.binary_search(&(t as u32)).is_ok())
    }
    /// The tasks grouped by subtopology, in subtopology id order.
    pub fn by_subtopology(&self) -> impl Iterator<Item = SubtopologyTasks<'s>> + 's {
        let space = self.space;
        let mut rest = self.tasks;
        std::iter::from_fn(move || {
            let &first = rest.first()?;
            let s = space.task_sub(first);
            let n = rest.partition_point(|&t| space.task_sub(t) == s);
            let (group, tail) = rest.split_at(n);
            rest = tail;
            Some(SubtopologyTasks {
                subtopology_id: space.sub_id(s as usize),
                base: space.sub_start(s as usize),
                tasks: group,
            })
        })
    }
    /// The list as a `subtopology -> partitions` map.
    pub fn to_map(&self) -> TaskMap {
        let mut map = TaskMap::new();
        for g in self.by_subtopology() {
            map.insert(g.subtopology_id.to_owned(), g.partitions().collect());
        }
        map
    }
}

impl fmt::Debug for TaskList<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list()
            .entries(self.iter().map(|t| t.to_string()))
            .finish()
    }
}

/// The tasks of one subtopology inside a [`TaskList`].
#[derive(Clone, Copy, Debug)]
pub struct SubtopologyTasks<'s> {
    /// The subtopology id.
    pub subtopology_id: &'s str,
    base: u32,
    tasks: &'s [u32],
}

impl<'s> SubtopologyTasks<'s> {
    /// Number of partitions.
    pub fn len(&self) -> usize {
        self.tasks.len()
    }
    /// Whether there is none (never true for a group yielded by `by_subtopology`).
    pub fn is_empty(&self) -> bool {
        self.tasks.is_empty()
    }
    /// The partitions, ascending.
    pub fn partitions(&self) -> impl ExactSizeIterator<Item = i32> + 's {
        let base = self.base;
        self.tasks.iter().map(move |&t| (t - base) as i32)
    }
}

/// The members of a group spec in ascending member-id order (indices into
/// `group.members`), rejecting repeated ids. O(M) when already sorted.
pub(crate) fn member_order(group: &GroupSpec<'_>) -> Result<Vec<u32>, AssignorError> {
    let mut order = Vec::new();
    member_order_into(group, &mut order)?;
    Ok(order)
}

/// [`member_order`] into a vector the caller provides (cleared first).
pub(crate) fn member_order_into(
    group: &GroupSpec<'_>,
    order: &mut Vec<u32>,
) -> Result<(), AssignorError> {
    let members = &group.members;
    if members.len() > MAX_MEMBERS {
        return Err(AssignorError::LimitExceeded {
            what: "the number of members",
            value: members.len() as u64,
            limit: MAX_MEMBERS as u64,
        });
    }
    order.clear();
    order.extend(0..members.len() as u32);
    let sorted = members
        .windows(2)
        .all(|w| str_less(w[0].member_id, w[1].member_id));
    if sorted {
        return Ok(());
    }
    order.sort_unstable_by(|&a, &b| {
        members[a as usize]
            .member_id
            .cmp(members[b as usize].member_id)
    });
    if let Some(w) = order
        .windows(2)
        .find(|w| members[w[0] as usize].member_id == members[w[1] as usize].member_id)
    {
        return Err(AssignorError::DuplicateMember {
            member_id: members[w[0] as usize].member_id.to_owned(),
        });
    }
    Ok(())
}

/// Builds a [`GroupAssignment`] one task at a time; for assignors written
/// outside this module (and tests). Members of the group spec without tasks
/// get empty entries; a task added twice to one member counts once.
#[derive(Debug)]
pub struct GroupAssignmentBuilder<'a> {
    space: &'a TaskSpace,
    ids: Vec<&'a str>,
    /// `(member index, 0 = active / 1 = standby, task index)`.
    entries: Vec<(u32, u32, u32)>,
}

impl<'a> GroupAssignmentBuilder<'a> {
    /// A builder for the members of `group` over `space`.
    pub fn new(group: &GroupSpec<'a>, space: &'a TaskSpace) -> Result<Self, AssignorError> {
        let order = member_order(group)?;
        let ids = order
            .iter()
            .map(|&i| group.members[i as usize].member_id)
            .collect();
        Ok(GroupAssignmentBuilder {
            space,
            ids,
            entries: Vec::new(),
        })
    }

    fn add(
        &mut self,
        member_id: &str,
        kind: u32,
        subtopology_id: &str,
        partition: i32,
    ) -> Result<(), AssignorError> {
        let m = self
            .ids
            .binary_search(&member_id)
            .map_err(|_| AssignorError::UnknownMember {
                member_id: member_id.to_owned(),
            })?;
        let s = self.space.index_of(subtopology_id).ok_or_else(|| {
            AssignorError::UnknownSubtopology {
                id: subtopology_id.to_owned(),
            }
        })?;
        let t = self
            .space
            .task_index(subtopology_id, partition)
            .ok_or_else(|| AssignorError::PartitionOutOfRange {
                subtopology: subtopology_id.to_owned(),
                partition,
                num_tasks: self.space.sub_num_tasks(s),
            })?;
        self.entries.push((m as u32, kind, t as u32));
        Ok(())
    }

    /// Gives `member_id` the active task `(subtopology_id, partition)`.
    pub fn add_active(
        &mut self,
        member_id: &str,
        subtopology_id: &str,
        partition: i32,
    ) -> Result<(), AssignorError> {
        self.add(member_id, 0, subtopology_id, partition)
    }

    /// Gives `member_id` the standby task `(subtopology_id, partition)`.
    pub fn add_standby(
        &mut self,
        member_id: &str,
        subtopology_id: &str,
        partition: i32,
    ) -> Result<(), AssignorError> {
        self.add(member_id, 1, subtopology_id, partition)
    }

    /// The finished assignment.
    pub fn build(mut self) -> GroupAssignment<'a> {
        self.entries.sort_unstable();
        self.entries.dedup();
        let mut bounds = Vec::with_capacity(self.ids.len() * 2 + 1);
        let mut tasks = Vec::with_capacity(self.entries.len());
        let mut e = 0;
        for m in 0..self.ids.len() as u32 {
            for kind in 0..2 {
                bounds.push(tasks.len() as u32);
                while e < self.entries.len() && self.entries[e].0 == m && self.entries[e].1 == kind
                {
                    tasks.push(self.entries[e].2);
                    e += 1;
                }
            }
        }
        bounds.push(tasks.len() as u32);
        GroupAssignment::from_parts(self.space, self.ids, bounds, tasks)
    }
}
