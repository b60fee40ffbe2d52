//! Task assignment for streams groups (spec 05): the [`TaskAssignor`] trait,
//! the [`AssignorRegistry`], the built-in [`StickyAssignor`] (`"sticky"`, trunk's
//! behaviour, and `"sticky-rack-aware"`, which also spreads standbys over
//! client-tag values), and the public [`invariants`] checker.
//!
//! Pure: no I/O, no clock, and the output depends only on the input (never on
//! hash-map iteration order).
//!
//! # Inputs
//!
//! * [`TaskSpace`]: subtopology id → (number of tasks, stateful), built once per
//!   configured topology.
//! * [`GroupSpec`]: the members ([`MemberSpec`], borrowing the coordinator's
//!   state through [`TaskSource`] / [`OffsetSource`] / [`ClientTags`]) and the
//!   [`AssignmentConfigs`], optionally over a [`MemberTable`] the caller keeps
//!   (member ids sorted, processes numbered) so that the assignor need not
//!   sort and number them in every call.
//!
//! # Example
//!
//! ```
//! use std::collections::BTreeMap;
//! use streams_coordinator::assignor::*;
//!
//! let space = TaskSpace::new([("0", 4, true), ("1", 4, false)]).unwrap();
//! let configs = AssignmentConfigs { num_standby_replicas: 1, ..Default::default() };
//! let current: BTreeMap<String, Vec<i32>> = [("0".to_owned(), vec![0, 1])].into();
//! let mut group = GroupSpec::with_capacity(&configs, 2);
//! let mut a = MemberSpec::new("member-a", "process-a");
//! a.active_tasks = &current;
//! group.members.push(a);
//! group.members.push(MemberSpec::new("member-b", "process-b"));
//!
//! let registry = AssignorRegistry::default();
//! let assignor = registry.select(None).unwrap();
//! let assignment = assignor.assign(&group, &space).unwrap();
//! invariants::check(&group, &space, &assignment).unwrap();
//! let a = assignment.member("member-a").unwrap();
//! assert!(a.active().contains("0", 0) && a.active().contains("0", 1));
//! ```

mod assignment;
mod error;
mod index;
pub mod invariants;
mod scratch;
mod space;
mod spec;
mod sticky;
mod table;

use std::sync::Arc;

pub use assignment::{
    GroupAssignment, GroupAssignmentBuilder, MemberAssignment, SubtopologyTasks, TaskId, TaskList,
    TaskMap,
};
pub use error::AssignorError;
pub use space::{SubtopologyInfo, TaskSpace, MAX_TASKS};
pub use spec::{
    missing_client_tags, missing_client_tags_detail, split_tags, AssignmentConfigs, ClientTags,
    GroupSpec, MemberSpec, Nothing, OffsetSource, PartitionOffset, PartitionOffsets, Partitions,
    TaskSource, MAX_MEMBERS, MAX_RACK_AWARE_TAGS, MAX_STANDBY_REPLICAS, NOTHING,
};
pub use sticky::StickyAssignor;
pub use table::MemberTable;

/// A task assignor (spec 05 §2). One instance serves every group, possibly
/// from several threads at once, so it must be stateless between calls (or
/// synchronise its own state).
pub trait TaskAssignor: Send + Sync {
    /// The unique name that selects this assignor (`streams.assignor.name`).
    fn name(&self) -> &str;

    /// Computes the target assignment of `group` over `space`.
    ///
    /// The result has an entry for every member of the group spec. An error
    /// fails the heartbeat that triggered the computation.
    fn assign<'a>(
        &self,
        group: &GroupSpec<'a>,
        space: &'a TaskSpace,
    ) -> Result<GroupAssignment<'a>, AssignorError>;
}

/// The assignors a coordinator can use, by name, in registration order; the
/// first one is the default (the first entry of `group.streams.assignors`).
#[derive(Clone)]
pub struct AssignorRegistry {
    assignors: Vec<Arc<dyn TaskAssignor>>,
}

impl Default for AssignorRegistry {
    /// `"sticky"` (the default) and `"sticky-rack-aware"`.
    fn default() -> Self {
        AssignorRegistry {
            assignors: vec![
                Arc::new(StickyAssignor::new()),
                Arc::new(StickyAssignor::rack_aware()),
            ],
        }
    }
}

impl std::fmt::Debug for AssignorRegistry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.names()).finish()
    }
}

impl AssignorRegistry {
    /// A registry with no assignor.
    pub fn empty() -> Self {
        AssignorRegistry {
            assignors: Vec::new(),
        }
    }

    /// Adds an assignor; its name must be new.
    pub fn register(&mut self, assignor: Arc<dyn TaskAssignor>) -> Result<(), AssignorError> {
        if self.get(assignor.name()).is_some() {
            return Err(AssignorError::DuplicateAssignor {
                name: assignor.name().to_owned(),
            });
        }
        self.assignors.push(assignor);
        Ok(())
    }

    /// Keeps only the named assignors, in the order given (the broker config
    /// `group.streams.assignors`); an unknown name is an error.
    pub fn select_list<S: AsRef<str>>(&self, names: &[S]) -> Result<Self, AssignorError> {
        let mut out = AssignorRegistry::empty();
        for name in names {
            let a = self
                .get(name.as_ref())
                .ok_or_else(|| AssignorError::UnknownAssignor {
                    name: name.as_ref().to_owned(),
                })?;
            out.register(Arc::clone(a))?;
        }
        Ok(out)
    }

    /// The assignor with this name.
    pub fn get(&self, name: &str) -> Option<&Arc<dyn TaskAssignor>> {
        self.assignors.iter().find(|a| a.name() == name)
    }

    /// The default assignor (the first registered).
    pub fn default_assignor(&self) -> Option<&Arc<dyn TaskAssignor>> {
        self.assignors.first()
    }

    /// The assignor a group uses (spec 05 §2, 07), the one rule of the crate:
    /// the one its `streams.assignor.name` (`group_choice`) names if
    /// registered, else the first registered of `broker_list` (the broker's
    /// `group.streams.assignors`, whose first entry is Kafka's default), else
    /// the registry's default. Errors only when the registry is empty.
    pub fn select_for<S: AsRef<str>>(
        &self,
        group_choice: Option<&str>,
        broker_list: &[S],
    ) -> Result<&Arc<dyn TaskAssignor>, AssignorError> {
        group_choice
            .and_then(|n| self.get(n))
            .or_else(|| broker_list.iter().find_map(|n| self.get(n.as_ref())))
            .or_else(|| self.default_assignor())
            .ok_or_else(|| AssignorError::UnknownAssignor {
                name: group_choice.unwrap_or("<default>").to_owned(),
            })
    }

    /// [`select_for`](Self::select_for) with no broker list: the group's
    /// choice if registered, else the registry's default.
    pub fn select(
        &self,
        group_config: Option<&str>,
    ) -> Result<&Arc<dyn TaskAssignor>, AssignorError> {
        self.select_for::<&str>(group_config, &[])
    }

    /// The registered names, in order.
    pub fn names(&self) -> impl Iterator<Item = &str> + '_ {
        self.assignors.iter().map(|a| a.name())
    }
}
