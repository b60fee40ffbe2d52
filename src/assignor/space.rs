//! The task space: every subtopology of the configured topology with its
//! number of tasks and whether it is stateful (spec 05 §1, the
//! `TopologyDescriber` of §2).

use super::index::StrIndex;
use super::AssignorError;

/// Most tasks (sum of task counts over all subtopologies) a task space may hold.
///
/// A task is one input partition of a subtopology, so this bounds the
/// partitions a single streams group can read; the assignor's working memory is
/// linear in it.
pub const MAX_TASKS: usize = 1 << 22;

/// The tasks of one configured topology, ordered by subtopology id.
///
/// Built once per configured topology (the coordinator keeps it next to the
/// configured topology and hands it to every assignment computation); it
/// interns subtopology ids to dense indices and precomputes the task orders the
/// sticky assignor walks, so an `assign` call never hashes or sorts more than
/// it must. Cheap to share behind an `Arc`.
#[derive(Clone, Debug, Default)]
pub struct TaskSpace {
    ids: Vec<String>,
    num_tasks: Vec<u32>,
    stateful: Vec<bool>,
    /// `start[s]` = global index of task `(s, 0)`; `start[len] = total`.
    start: Vec<u32>,
    /// Subtopology index of every global task index.
    task_sub: Vec<u32>,
    /// Global task indices ordered by (partition, subtopology id).
    partition_major: Vec<u32>,
    stateful_tasks: usize,
    index: StrIndex,
}

/// One subtopology of a [`TaskSpace`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SubtopologyInfo<'s> {
    /// The subtopology id.
    pub id: &'s str,
    /// Number of tasks (`0 .. num_tasks` are its partitions).
    pub num_tasks: u32,
    /// Whether the subtopology has state (changelog topics); only stateful
    /// tasks get standby replicas.
    pub stateful: bool,
}

impl TaskSpace {
    /// Builds a task space from `(subtopology id, number of tasks, stateful)`
    /// triples, in any order.
    ///
    /// Errors: a repeated subtopology id, or more than [`MAX_TASKS`] tasks.
    pub fn new<I, S>(subtopologies: I) -> Result<Self, AssignorError>
    where
        I: IntoIterator<Item = (S, u32, bool)>,
        S: Into<String>,
    {
        let mut subs: Vec<(String, u32, bool)> = subtopologies
            .into_iter()
            .map(|(id, n, st)| (id.into(), n, st))
            .collect();
        subs.sort_unstable_by(|a, b| a.0.cmp(&b.0));
        if let Some(w) = subs.windows(2).find(|w| w[0].0 == w[1].0) {
            return Err(AssignorError::DuplicateSubtopology { id: w[0].0.clone() });
        }
        let total: u64 = subs.iter().map(|s| u64::from(s.1)).sum();
        if total > MAX_TASKS as u64 || subs.len() > MAX_TASKS {
            return Err(AssignorError::LimitExceeded {
                what: "the number of tasks in the task space",
                value: total.max(subs.len() as u64),
                limit: MAX_TASKS as u64,
            });
        }
        let n = subs.len();
        let mut space = TaskSpace {
            ids: Vec::with_capacity(n),
            num_tasks: Vec::with_capacity(n),
            stateful: Vec::with_capacity(n),
            start: Vec::with_capacity(n + 1),
            task_sub: Vec::with_capacity(total as usize),
            partition_major: Vec::with_capacity(total as usize),
            stateful_tasks: 0,
            index: StrIndex::with_capacity(n),
        };
        let mut acc = 0u32;
        for (s, (id, num, st)) in subs.into_iter().enumerate() {
            space.start.push(acc);
            acc += num;
            space
                .task_sub
                .extend(std::iter::repeat_n(s as u32, num as usize));
            if st {
                space.stateful_tasks += num as usize;
            }
            let ids = &space.ids;
            space.index.get_or_insert(&id, |i| ids[i as usize].as_str());
            space.ids.push(id);
            space.num_tasks.push(num);
            space.stateful.push(st);
        }
        space.start.push(acc);
        space.build_partition_major();
        Ok(space)
    }

    /// Tasks sorted by (partition, subtopology id), in O(tasks + subtopologies ×
    /// distinct task counts).
    fn build_partition_major(&mut self) {
        let mut alive: Vec<u32> = (0..self.ids.len() as u32)
            .filter(|&s| self.num_tasks[s as usize] > 0)
            .collect();
        let mut p = 0u32;
        while !alive.is_empty() {
            let mut min_left = u32::MAX;
            for &s in &alive {
                self.partition_major.push(self.start[s as usize] + p);
                min_left = min_left.min(self.num_tasks[s as usize]);
            }
            p += 1;
            if min_left <= p {
                let num_tasks = &self.num_tasks;
                alive.retain(|&s| num_tasks[s as usize] > p);
            }
        }
    }

    /// Number of subtopologies.
    pub fn len(&self) -> usize {
        self.ids.len()
    }

    /// Whether the task space has no subtopology.
    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }

    /// Total number of tasks (active copies to place).
    pub fn total_tasks(&self) -> usize {
        self.task_sub.len()
    }

    /// Number of tasks of stateful subtopologies.
    pub fn stateful_tasks(&self) -> usize {
        self.stateful_tasks
    }

    /// The subtopologies in ascending id order (Kafka's `subtopologies()`).
    pub fn subtopologies(&self) -> impl ExactSizeIterator<Item = SubtopologyInfo<'_>> + '_ {
        (0..self.ids.len()).map(move |s| SubtopologyInfo {
            id: &self.ids[s],
            num_tasks: self.num_tasks[s],
            stateful: self.stateful[s],
        })
    }

    /// The dense index (position in ascending id order) of a subtopology.
    #[inline(always)]
    pub fn index_of(&self, id: &str) -> Option<usize> {
        self.index
            .get(id, |i| self.ids[i as usize].as_str())
            .map(|i| i as usize)
    }

    /// Kafka's `maxNumInputPartitions(id)`: the number of tasks of a subtopology.
    pub fn max_num_input_partitions(&self, id: &str) -> Result<u32, AssignorError> {
        self.index_of(id)
            .map(|s| self.num_tasks[s])
            .ok_or_else(|| AssignorError::UnknownSubtopology { id: id.to_owned() })
    }

    /// Kafka's `isStateful(id)`.
    pub fn is_stateful(&self, id: &str) -> Result<bool, AssignorError> {
        self.index_of(id)
            .map(|s| self.stateful[s])
            .ok_or_else(|| AssignorError::UnknownSubtopology { id: id.to_owned() })
    }

    /// Whether `(id, partition)` is a task of this space.
    pub fn contains(&self, id: &str, partition: i32) -> bool {
        self.task_index(id, partition).is_some()
    }

    /// The global task index of `(id, partition)` (tasks are numbered in
    /// (subtopology id, partition) order from 0).
    #[inline]
    pub fn task_index(&self, id: &str, partition: i32) -> Option<usize> {
        let s = self.index_of(id)?;
        let p = u32::try_from(partition).ok()?;
        (p < self.num_tasks[s]).then(|| (self.start[s] + p) as usize)
    }

    /// The `(subtopology id, partition)` of a global task index.
    pub fn task(&self, index: usize) -> Option<(&str, i32)> {
        let s = *self.task_sub.get(index)? as usize;
        Some((&self.ids[s], (index as u32 - self.start[s]) as i32))
    }

    // ---- crate-internal fast accessors (indices are trusted) ----

    #[inline]
    pub(crate) fn sub_start(&self, s: usize) -> u32 {
        self.start[s]
    }
    #[inline]
    pub(crate) fn sub_num_tasks(&self, s: usize) -> u32 {
        self.num_tasks[s]
    }
    #[inline]
    pub(crate) fn sub_id(&self, s: usize) -> &str {
        &self.ids[s]
    }
    #[inline]
    pub(crate) fn task_sub(&self, t: u32) -> u32 {
        self.task_sub[t as usize]
    }
    #[inline]
    pub(crate) fn task_stateful(&self, t: u32) -> bool {
        self.stateful[self.task_sub[t as usize] as usize]
    }
    #[inline]
    pub(crate) fn partition_of(&self, t: u32) -> i32 {
        (t - self.start[self.task_sub[t as usize] as usize]) as i32
    }
    pub(crate) fn partition_major(&self) -> &[u32] {
        &self.partition_major
    }
    /// `<subtopologyId>_<partition>`, Kafka's task id text.
    pub(crate) fn task_name(&self, t: u32) -> String {
        format!(
            "{}_{}",
            self.sub_id(self.task_sub(t) as usize),
            self.partition_of(t)
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn orders_by_id_and_partition_major() {
        let space = TaskSpace::new([("b", 2, false), ("a", 3, true), ("c", 0, true)]).unwrap();
        let ids: Vec<_> = space.subtopologies().map(|s| s.id).collect();
        assert_eq!(ids, ["a", "b", "c"]);
        assert_eq!(space.total_tasks(), 5);
        assert_eq!(space.stateful_tasks(), 3);
        let pm: Vec<_> = space
            .partition_major()
            .iter()
            .map(|&t| space.task_name(t))
            .collect();
        assert_eq!(pm, ["a_0", "b_0", "a_1", "b_1", "a_2"]);
        assert_eq!(space.task_index("b", 1), Some(4));
        assert_eq!(space.task(4), Some(("b", 1)));
        assert_eq!(space.task_index("b", 2), None);
        assert_eq!(space.task_index("b", -1), None);
        assert_eq!(space.max_num_input_partitions("a"), Ok(3));
        assert!(space.is_stateful("zz").is_err());
    }

    #[test]
    fn rejects_duplicates() {
        assert!(matches!(
            TaskSpace::new([("a", 1, false), ("a", 2, false)]),
            Err(AssignorError::DuplicateSubtopology { .. })
        ));
    }
}
