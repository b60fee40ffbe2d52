//! Replaying a whole log into a coordinator (a load, spec 06 §4), faster than
//! record by record (issue 14 item 1):
//! * the records of a group come in runs (a heartbeat writes its records
//!   together), so the group being replayed is taken out of the group tree
//!   for its run and put back when a record names another group: two walks
//!   of the string-keyed tree per run instead of one per record, and no key
//!   copy;
//! * into an empty coordinator (a fail-over), a long log is replayed on
//!   several threads, each taking the groups whose id hashes to it. A
//!   record changes its own group only (the records of a group are replayed
//!   in their order, by one thread), so the groups come out as replaying the
//!   log in order builds them, and the threads' disjoint group trees are
//!   merged. If a record fails, the log is replayed again in order on the
//!   calling thread, so the error, its index and the state left behind are
//!   those of the record-by-record replay.

use std::collections::BTreeMap;
use std::num::NonZeroUsize;
use std::sync::Arc;

use crate::protocol::CoordinatorRecord;

use super::records::{self, GroupStore, ReplayError};
use super::state::StreamsGroup;
use super::{claim_foreign_id, Foreign, GroupCoordinator};

/// Below this many records a load is replayed on the calling thread alone
/// (starting threads costs more than it saves).
const PARALLEL_MIN_RECORDS: usize = 20_000;

/// At most this many threads replay one log.
const MAX_THREADS: usize = 4;

type Groups = BTreeMap<String, Arc<StreamsGroup>>;

/// See [`GroupCoordinator::replay_all`].
pub(super) fn replay_all(
    core: &mut GroupCoordinator,
    records: &[CoordinatorRecord],
) -> Result<(), (usize, ReplayError)> {
    if core.commits.is_some() {
        // Pre-images are kept per changed group: record by record.
        for (i, r) in records.iter().enumerate() {
            records::apply(core, r).map_err(|e| (i, e))?;
        }
        return Ok(());
    }
    if records.len() >= PARALLEL_MIN_RECORDS {
        let threads = std::thread::available_parallelism()
            .map_or(1, NonZeroUsize::get)
            .min(MAX_THREADS);
        if replay_in_parts(core, records, threads) {
            return Ok(());
        }
    }
    replay_in_order(core, records)
}

/// Replays `records` into `core` on the calling thread, in order.
fn replay_in_order(
    core: &mut GroupCoordinator,
    records: &[CoordinatorRecord],
) -> Result<(), (usize, ReplayError)> {
    let mut runs = Runs::new(&mut core.groups, &mut core.foreign);
    let result = records
        .iter()
        .enumerate()
        .try_for_each(|(i, r)| records::apply(&mut runs, r).map_err(|e| (i, e)));
    let removed = runs.finish();
    for id in &removed {
        core.rebalances.forget(id);
    }
    result
}

/// Replays `records` into `core` on `parts` threads (the calling one among
/// them), each replaying the groups whose id hashes to it, and merges their
/// groups. Only into a coordinator with no group of any type (a fail-over:
/// no record's outcome then depends on another group). True when every
/// record applied; false (and `core` untouched) when one failed, or when
/// there is nothing to split.
fn replay_in_parts(
    core: &mut GroupCoordinator,
    records: &[CoordinatorRecord],
    parts: usize,
) -> bool {
    if parts < 2 || !core.groups.is_empty() || !core.foreign.is_empty() {
        return false;
    }
    let results: Vec<Option<(Groups, Vec<String>)>> = std::thread::scope(|scope| {
        let others: Vec<_> = (1..parts)
            .map(|k| scope.spawn(move || replay_part(records, k, parts)))
            .collect();
        let mut results = vec![replay_part(records, 0, parts)];
        for h in others {
            results.push(h.join().unwrap_or_else(|p| std::panic::resume_unwind(p)));
        }
        results
    });
    if results.iter().any(Option::is_none) {
        return false;
    }
    for (mut groups, removed) in results.into_iter().flatten() {
        // Disjoint ids: the merge interleaves the trees.
        core.groups.append(&mut groups);
        for id in &removed {
            core.rebalances.forget(id);
        }
    }
    true
}

/// The groups of part `k` of `parts` replayed from `records` into an empty
/// tree, with the ids of groups removed on the way; `None` when a record of
/// the part failed.
fn replay_part(
    records: &[CoordinatorRecord],
    k: usize,
    parts: usize,
) -> Option<(Groups, Vec<String>)> {
    let mut groups = Groups::new();
    // Empty: no group of another type holds an id (see `replay_in_parts`).
    let mut foreign = BTreeMap::new();
    let mut runs = Runs::new(&mut groups, &mut foreign);
    let mut last: Option<(&str, bool)> = None;
    for r in records {
        let gid = r.key.group_id();
        let mine = match last {
            Some((id, mine)) if id == gid => mine,
            _ => {
                let mine = part_of(gid, parts) == k;
                last = Some((gid, mine));
                mine
            }
        };
        if mine && records::apply(&mut runs, r).is_err() {
            return None;
        }
    }
    let removed = runs.finish();
    Some((groups, removed))
}

/// The part a group id is replayed by (FNV-1a: fixed, whatever the build).
fn part_of(group_id: &str, parts: usize) -> usize {
    let h = group_id.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    });
    // `parts` is at most MAX_THREADS: the remainder fits.
    (h % parts as u64) as usize
}

/// A [`GroupStore`] over a group tree that keeps no pre-images, holding the
/// group of the current run outside the tree.
struct Runs<'a> {
    groups: &'a mut Groups,
    foreign: &'a mut BTreeMap<String, Foreign>,
    held: Option<(String, Arc<StreamsGroup>)>,
    /// Ids of the groups removed, for the in-memory rebalance history.
    removed: Vec<String>,
}

impl<'a> Runs<'a> {
    fn new(groups: &'a mut Groups, foreign: &'a mut BTreeMap<String, Foreign>) -> Self {
        Runs {
            groups,
            foreign,
            held: None,
            removed: Vec::new(),
        }
    }

    fn holds(&self, group_id: &str) -> bool {
        self.held.as_ref().is_some_and(|(id, _)| id == group_id)
    }

    /// Returns the held group to the tree.
    fn put_back(&mut self) {
        if let Some((id, g)) = self.held.take() {
            self.groups.insert(id, g);
        }
    }

    fn held_mut(&mut self) -> Option<&mut StreamsGroup> {
        self.held.as_mut().map(|(_, g)| Arc::make_mut(g).changed())
    }

    /// Puts the held group back; the ids of the groups removed.
    fn finish(mut self) -> Vec<String> {
        self.put_back();
        self.removed
    }
}

impl GroupStore for Runs<'_> {
    fn group_mut(&mut self, group_id: &str) -> Option<&mut StreamsGroup> {
        if self.holds(group_id) {
            return self.held_mut();
        }
        self.groups
            .get_mut(group_id)
            .map(|g| Arc::make_mut(g).changed())
    }

    fn group_or_create(&mut self, group_id: &str) -> Result<&mut StreamsGroup, ReplayError> {
        if !self.holds(group_id) {
            self.put_back();
            let entry = match self.groups.remove_entry(group_id) {
                Some(entry) => entry,
                None => {
                    claim_foreign_id(self.foreign, group_id)?;
                    (group_id.to_string(), Arc::new(StreamsGroup::new(group_id)))
                }
            };
            self.held = Some(entry);
        }
        self.held_mut()
            .ok_or_else(|| ReplayError::GroupTypeConflict {
                group_id: group_id.to_string(),
            })
    }

    fn remove_group(&mut self, group_id: &str) {
        if self.holds(group_id) {
            self.held = None;
        } else {
            self.groups.remove(group_id);
        }
        self.removed.push(group_id.to_string());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::assignor::AssignorRegistry;
    use crate::group::member::{Member, MemberState};
    use crate::group::stored_configs::StoredAssignmentConfigs;
    use crate::group::tasks::Tasks;
    use crate::group::CoordinatorConfig;
    use crate::protocol::records::{
        RecordKey, StreamsGroupMetadataKey, StreamsGroupTargetAssignmentMetadataKey,
    };

    fn core() -> GroupCoordinator {
        GroupCoordinator::new(
            CoordinatorConfig::default(),
            Arc::new(AssignorRegistry::default()),
        )
    }

    /// The record batches of group `g`: three epochs of members moving
    /// tasks (processes shared by two members), then, if `deleted`, the
    /// tombstones that delete it; a member tombstoned too early if `corrupt`.
    fn batches(g: usize, deleted: bool, corrupt: bool) -> Vec<Vec<CoordinatorRecord>> {
        let gid = format!("g{g}");
        let mut out = Vec::new();
        for epoch in 1..=3 {
            let mut b = vec![records::group_metadata(
                &gid,
                epoch,
                0,
                -1,
                &StoredAssignmentConfigs::default(),
                -1,
                -1,
            )];
            for i in 0..3 {
                let mut m = Member::new(&format!("m{i}"));
                m.process_id = format!("p{}", i % 2);
                m.member_epoch = epoch;
                m.state = MemberState::Stable;
                let first = (i + epoch as usize) % 3 * 4;
                let parts: Vec<i32> = (first..first + 4).map(|p| p as i32).collect();
                m.assigned
                    .active
                    .insert("0".into(), parts.iter().map(|&p| (p, epoch)).collect());
                m.assigned
                    .standby
                    .insert("1".into(), parts.iter().copied().collect());
                let target = Tasks {
                    active: [("0".to_string(), parts.iter().copied().collect())].into(),
                    ..Tasks::default()
                };
                b.push(records::member_metadata(&gid, &m));
                b.push(records::target_member(&gid, &m.member_id, &target));
                b.push(records::current_assignment(&gid, &m));
                if corrupt && epoch == 2 && i == 1 {
                    let mut t = Vec::new();
                    records::member_tombstones(&gid, &m.member_id, &mut t);
                    b.push(t.remove(2));
                }
            }
            out.push(b);
        }
        if deleted {
            let mut b = Vec::new();
            for i in 0..3 {
                records::member_tombstones(&gid, &format!("m{i}"), &mut b);
            }
            b.push(CoordinatorRecord::tombstone(
                RecordKey::TargetAssignmentMetadata(StreamsGroupTargetAssignmentMetadataKey {
                    group_id: gid.clone(),
                }),
            ));
            b.push(CoordinatorRecord::tombstone(RecordKey::GroupMetadata(
                StreamsGroupMetadataKey { group_id: gid },
            )));
            out.push(b);
        }
        out
    }

    /// 40 groups' batches interleaved by a fixed pseudo-random order.
    fn log(corrupt: Option<usize>) -> Vec<CoordinatorRecord> {
        let mut queues: Vec<_> = (0..40)
            .map(|g| batches(g, g % 7 == 3, corrupt == Some(g)).into_iter())
            .collect();
        let mut out = Vec::new();
        let mut seed = 0x2545_f491_u64;
        while !queues.is_empty() {
            seed = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
            let q = (seed >> 33) as usize % queues.len();
            match queues[q].next() {
                Some(b) => out.extend(b),
                None => {
                    queues.swap_remove(q);
                }
            }
        }
        out
    }

    #[test]
    fn replay_in_parts_builds_what_replay_in_order_does() {
        let log = log(None);
        let mut in_order = core();
        replay_in_order(&mut in_order, &log).expect("a valid log");
        for parts in [2, 3, 4] {
            let mut split = core();
            assert!(replay_in_parts(&mut split, &log, parts));
            assert_eq!(
                format!("{:?}", split.groups),
                format!("{:?}", in_order.groups),
                "{parts} parts"
            );
        }
        assert_eq!(in_order.groups.len(), 40 - 6, "the deleted groups are gone");
    }

    #[test]
    fn a_failing_record_leaves_the_error_to_the_replay_in_order() {
        let log = log(Some(11));
        let mut split = core();
        assert!(!replay_in_parts(&mut split, &log, 2));
        assert!(split.groups.is_empty(), "nothing merged");
        let mut in_order = core();
        let err = replay_in_order(&mut in_order, &log).expect_err("a corrupt log");
        assert!(
            matches!(err.1, ReplayError::MemberNotCleared { .. }),
            "{err:?}"
        );
        // What a load does: the same error at the same index.
        let mut all = core();
        assert_eq!(all.replay_all(&log).err(), Some(err));
    }
}
