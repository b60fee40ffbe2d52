//! Replaying a whole log into a coordinator (a load, spec 06 §4), faster than
//! record by record: the records of a group come in runs (a heartbeat writes
//! its records together), so the group being replayed is held apart for its
//! run, and the groups replayed so far wait in a hash map keyed by group id
//! until the log ends, when the group tree is built from them at once. A
//! switch between runs costs two hashes of the id instead of two walks of
//! the string-keyed tree (`memcmp` at every level: ids of one application
//! share long prefixes), and no key copy (issue 14 item 1). The core replays
//! on the calling thread: it starts no threads (a pure state machine); a
//! broker that wants a fail-over spread over cores loads partitions in
//! parallel, one coordinator each.

use std::collections::HashMap;
use std::hash::BuildHasherDefault;
use std::sync::Arc;

use crate::protocol::CoordinatorRecord;

use super::member_table;
use super::records::{self, GroupStore, ReplayError};
use super::state::StreamsGroup;
use super::timers::IdHasher;
use super::{claim_foreign_id, GroupCoordinator};

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
    let mut loader = Loader {
        core,
        held: None,
        apart: HashMap::default(),
    };
    let result = records
        .iter()
        .enumerate()
        .try_for_each(|(i, r)| records::apply(&mut loader, r).map_err(|e| (i, e)));
    loader.finish();
    result
}

type Apart = HashMap<String, Arc<StreamsGroup>, BuildHasherDefault<IdHasher>>;

/// A [`GroupStore`] over a coordinator that keeps no pre-images. A group the
/// log names is taken out of the coordinator's tree (or created) at its first
/// record and stays out until [`finish`](Loader::finish): in `held` for the
/// current run, in `apart` between its runs.
struct Loader<'a> {
    core: &'a mut GroupCoordinator,
    held: Option<(String, Arc<StreamsGroup>)>,
    apart: Apart,
}

impl Loader<'_> {
    fn holds(&self, group_id: &str) -> bool {
        self.held.as_ref().is_some_and(|(id, _)| id == group_id)
    }

    /// Sets the held group apart.
    fn set_apart(&mut self) {
        if let Some((id, g)) = self.held.take() {
            self.apart.insert(id, g);
        }
    }

    /// Returns every group taken out to the coordinator's tree: built at once
    /// (from the sorted ids) when the tree is empty, as on a load. Their
    /// member tables, left out while their records were replayed, are built
    /// here from their members, once per group instead of member by member.
    fn finish(&mut self) {
        self.set_apart();
        let mut apart = std::mem::take(&mut self.apart);
        for g in apart.values_mut() {
            let g = Arc::make_mut(g);
            g.member_table = member_table::rebuilt(&g.members);
        }
        if self.core.groups.is_empty() {
            let mut groups: Vec<_> = apart.into_iter().collect();
            // Distinct ids: the order is total, so the tree is the same
            // whatever order the hash map gave.
            groups.sort_unstable_by(|a, b| a.0.cmp(&b.0));
            self.core.groups = groups.into_iter().collect();
        } else {
            self.core.groups.extend(apart);
        }
    }

    fn held_mut(&mut self) -> Option<&mut StreamsGroup> {
        self.held.as_mut().map(|(_, g)| Arc::make_mut(g).changed())
    }
}

impl GroupStore for Loader<'_> {
    fn group_mut(&mut self, group_id: &str) -> Option<&mut StreamsGroup> {
        if self.holds(group_id) {
            return self.held_mut();
        }
        let g = match self.apart.get_mut(group_id) {
            Some(g) => g,
            None => self.core.groups.get_mut(group_id)?,
        };
        Some(Arc::make_mut(g).changed())
    }

    fn group_or_create(&mut self, group_id: &str) -> Result<&mut StreamsGroup, ReplayError> {
        if !self.holds(group_id) {
            self.set_apart();
            let entry = match self.apart.remove_entry(group_id) {
                Some(entry) => entry,
                None => match self.core.groups.remove_entry(group_id) {
                    Some(entry) => entry,
                    None => {
                        claim_foreign_id(&mut self.core.foreign, group_id)?;
                        (group_id.to_string(), Arc::new(StreamsGroup::new(group_id)))
                    }
                },
            };
            self.held = Some(entry);
            if let Some(g) = self.held_mut() {
                // Built once at the end (`finish`); meanwhile a member
                // record leaves it alone.
                g.member_table = None;
            }
        }
        self.held_mut()
            .ok_or_else(|| ReplayError::GroupTypeConflict {
                group_id: group_id.to_string(),
            })
    }

    fn remove_group(&mut self, group_id: &str) {
        if self.holds(group_id) {
            self.held = None;
            self.core.rebalances.forget(group_id);
        } else if self.apart.remove(group_id).is_some() {
            self.core.rebalances.forget(group_id);
        } else {
            self.core.remove_group(group_id);
        }
    }
}
