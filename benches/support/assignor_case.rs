//! The assignor benchmark's fixtures, shared by the benches (`#[path]`
//! module): a case of the grid of Kafka's `StreamsStickyAssignorBenchmark`
//! (spec 05 §5.1) and the group spec it builds, the way that benchmark builds
//! it (`benches/assignor.rs` has the details).

use std::collections::BTreeMap;

use streams_coordinator::assignor::*;

/// A member of a fixture: its process, current tasks and reported offsets.
#[derive(Default)]
struct Member {
    process: String,
    active: BTreeMap<String, Vec<i32>>,
    standby: BTreeMap<String, Vec<i32>>,
    offsets: BTreeMap<String, BTreeMap<i32, i64>>,
}

/// The input of a case: its task space, configs and members (by id, as a
/// coordinator keeps them), with the member table a coordinator keeps for
/// the group (`src/group/member_table.rs`): it holds the members whose join
/// was applied, so in an INCREMENTAL case not `newMember`, whose join is the
/// heartbeat that computes the assignment.
pub struct Fixture {
    /// The task space.
    pub space: TaskSpace,
    configs: AssignmentConfigs,
    members: BTreeMap<String, Member>,
    table: MemberTable,
}

impl Fixture {
    /// The group spec of the fixture, borrowing it, built as the coordinator
    /// builds it (`src/group/assign.rs`): over the kept member table, a
    /// member in the table with the table's strings, any other (the joining
    /// member) with its own.
    pub fn spec(&self) -> GroupSpec<'_> {
        let mut g = GroupSpec::with_table(&self.configs, &self.table, self.members.len());
        let mut next = 0;
        for (id, m) in &self.members {
            let mut s = if next < self.table.len() && self.table.member_id(next) == id {
                next += 1;
                self.table.member_spec(next - 1)
            } else {
                MemberSpec::new(id, &m.process)
            };
            // As the coordinator does: an empty collection stays `NOTHING`.
            if !m.active.is_empty() {
                s.active_tasks = &m.active;
            }
            if !m.standby.is_empty() {
                s.standby_tasks = &m.standby;
            }
            if !m.offsets.is_empty() {
                s.task_offsets = &m.offsets;
            }
            g.members.push(s);
        }
        g
    }

    /// The group spec without a member table (how the coordinator built it
    /// before it kept one).
    #[allow(dead_code)] // not every bench compares the two
    pub fn spec_without_table(&self) -> GroupSpec<'_> {
        let mut g = GroupSpec::with_capacity(&self.configs, self.members.len());
        for (id, m) in &self.members {
            let mut s = MemberSpec::new(id, &m.process);
            s.active_tasks = &m.active;
            s.standby_tasks = &m.standby;
            s.task_offsets = &m.offsets;
            g.members.push(s);
        }
        g
    }

    fn table_of(members: &BTreeMap<String, Member>) -> MemberTable {
        MemberTable::from_members(
            members
                .iter()
                .map(|(id, m)| (id.as_str(), m.process.as_str())),
        )
        .expect("member table")
    }
}

/// One case: the JMH benchmark's parameters.
#[derive(Clone, Copy)]
pub struct Case {
    /// INCREMENTAL (M − 1 members hold a previous assignment, one joins) or FULL.
    pub incremental: bool,
    /// Members (M).
    pub members: usize,
    /// Tasks per subtopology (P).
    pub partitions: u32,
    /// Subtopologies (S), the even-indexed ones stateful.
    pub subtopologies: usize,
    /// Standby replicas (B).
    pub standbys: u32,
    /// Members per process (K).
    pub per_process: usize,
    /// Reported offsets OWNED_AND_DORMANT (else NONE).
    pub dormant: bool,
}

impl Case {
    /// `{full|incremental}/m{M}_p{P}_s{S}_sb{B}_pp{K}_{none|dormant}`.
    #[allow(dead_code)] // the growth bench names its cases itself
    pub fn name(&self) -> String {
        format!(
            "{}/m{}_p{}_s{}_sb{}_pp{}_{}",
            if self.incremental {
                "incremental"
            } else {
                "full"
            },
            self.members,
            self.partitions,
            self.subtopologies,
            self.standbys,
            self.per_process,
            if self.dormant { "dormant" } else { "none" }
        )
    }

    /// Builds the case's input.
    pub fn fixture(&self) -> Fixture {
        let space = TaskSpace::new((0..self.subtopologies).map(|i| {
            (
                format!("topic-{i}_subtopology"),
                self.partitions,
                i % 2 == 0,
            )
        }))
        .expect("task space");
        let configs = AssignmentConfigs {
            num_standby_replicas: self.standbys,
            ..Default::default()
        };
        let n = if self.incremental {
            self.members - 1
        } else {
            self.members
        };
        let mut members: BTreeMap<String, Member> = (0..n)
            .map(|i| {
                (
                    format!("member-{i}"),
                    Member {
                        process: format!("process-{}", i / self.per_process),
                        ..Default::default()
                    },
                )
            })
            .collect();
        // OWNED_AND_DORMANT: the owner and one dormant copy per stateful task.
        let mut offsets: BTreeMap<String, BTreeMap<String, BTreeMap<i32, i64>>> = BTreeMap::new();
        if self.dormant {
            let ids: Vec<&String> = members.keys().collect();
            let mut task_index = 0usize;
            for s in space.subtopologies().filter(|s| s.stateful) {
                for p in 0..s.num_tasks as i32 {
                    for replica in 0..=1usize {
                        let id = ids[(task_index + replica) % ids.len()];
                        let off = (2 - replica as i64) * 1_000_000 + task_index as i64;
                        offsets
                            .entry(id.clone())
                            .or_default()
                            .entry(s.id.to_owned())
                            .or_default()
                            .insert(p, off);
                    }
                    task_index += 1;
                }
            }
        }
        let mut fx = Fixture {
            space,
            configs,
            members: BTreeMap::new(),
            table: MemberTable::new(),
        };
        if self.incremental {
            fx.table = Fixture::table_of(&members);
            fx.members = members;
            let assignment: Vec<(String, TaskMap, TaskMap)> = {
                let g = fx.spec();
                let a = StickyAssignor::new()
                    .assign(&g, &fx.space)
                    .expect("setup assignment");
                a.members()
                    .map(|m| {
                        (
                            m.member_id().to_owned(),
                            m.active().to_map(),
                            m.standby().to_map(),
                        )
                    })
                    .collect()
            };
            for (id, act, sb) in assignment {
                let m = fx.members.get_mut(&id).expect("member");
                m.active = act
                    .into_iter()
                    .map(|(k, v)| (k, v.into_iter().collect()))
                    .collect();
                m.standby = sb
                    .into_iter()
                    .map(|(k, v)| (k, v.into_iter().collect()))
                    .collect();
                m.offsets = offsets.remove(&id).unwrap_or_default();
            }
            fx.members.insert(
                "newMember".to_owned(),
                Member {
                    process: "process-newMember".to_owned(),
                    ..Default::default()
                },
            );
        } else {
            for (id, m) in members.iter_mut() {
                m.offsets = offsets.remove(id).unwrap_or_default();
            }
            fx.table = Fixture::table_of(&members);
            fx.members = members;
        }
        fx
    }
}
