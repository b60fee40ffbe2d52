//! Replaying a whole log into a coordinator (a load, spec 06 §4), faster than
//! record by record: the records of a group come in runs (a heartbeat writes
//! its records together), so the group being replayed is taken out of the
//! group tree for its run and put back when a record names another group.
//! Two walks of the string-keyed tree per run instead of one per record, and
//! no key copy (issue 14 item 1). The core replays on the calling thread: it
//! starts no threads (a pure state machine); a broker that wants a fail-over
//! spread over cores loads partitions in parallel, one coordinator each.

use std::sync::Arc;

use crate::protocol::CoordinatorRecord;

use super::records::{self, GroupStore, ReplayError};
use super::state::StreamsGroup;
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
    let mut loader = Loader { core, held: None };
    let result = records
        .iter()
        .enumerate()
        .try_for_each(|(i, r)| records::apply(&mut loader, r).map_err(|e| (i, e)));
    loader.put_back();
    result
}

/// A [`GroupStore`] over a coordinator that keeps no pre-images, holding the
/// group of the current run outside the tree.
struct Loader<'a> {
    core: &'a mut GroupCoordinator,
    held: Option<(String, Arc<StreamsGroup>)>,
}

impl Loader<'_> {
    fn holds(&self, group_id: &str) -> bool {
        self.held.as_ref().is_some_and(|(id, _)| id == group_id)
    }

    /// Returns the held group to the tree.
    fn put_back(&mut self) {
        if let Some((id, g)) = self.held.take() {
            self.core.groups.insert(id, g);
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
        self.core
            .groups
            .get_mut(group_id)
            .map(|g| Arc::make_mut(g).changed())
    }

    fn group_or_create(&mut self, group_id: &str) -> Result<&mut StreamsGroup, ReplayError> {
        if !self.holds(group_id) {
            self.put_back();
            let entry = match self.core.groups.remove_entry(group_id) {
                Some(entry) => entry,
                None => {
                    claim_foreign_id(&mut self.core.foreign, group_id)?;
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
            self.core.rebalances.forget(group_id);
        } else {
            self.core.remove_group(group_id);
        }
    }
}
