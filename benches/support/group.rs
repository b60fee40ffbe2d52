//! A Stable streams group built through the core's heartbeats, shared by the
//! core benches (`#[path]` module): `members` members, one process each,
//! sharing `tasks` tasks (one subtopology reading a `tasks`-partition topic).
//! The joins fall in the initial delay, one assignment runs when it expires,
//! then every member heartbeats, reporting what it owns, until it owns its
//! tasks. The requests come from `support/requests.rs` (the bench declares
//! it as its `requests` module).

use std::sync::Arc;

use streams_coordinator::assignor::AssignorRegistry;
use streams_coordinator::group::{CoordinatorConfig, GroupCoordinator, GroupState};
use streams_coordinator::protocol::heartbeat::TaskIds;
use streams_coordinator::protocol::{StreamsGroupHeartbeatRequest, Uuid};
use streams_coordinator::topology::ClusterMetadata;

use super::requests::{self, ctx};

/// The group id of the built group.
pub const GROUP: &str = "app";

/// The id of member `i` (ids sort as the members joined).
pub fn member_id(i: usize) -> String {
    format!("member-{i:05}")
}

/// The first heartbeat of member `i` (its own process).
pub fn join(i: usize) -> StreamsGroupHeartbeatRequest {
    requests::join(GROUP, &member_id(i), &format!("process-{i:05}"), "input")
}

/// A simulated client: its epoch and the tasks it owns.
#[derive(Clone)]
pub struct Client {
    /// Its member id.
    pub id: String,
    /// Its member epoch.
    pub epoch: i32,
    /// The active tasks it owns.
    pub owned: Vec<TaskIds>,
}

impl Client {
    /// A heartbeat reporting what it owns.
    pub fn request(&self) -> StreamsGroupHeartbeatRequest {
        requests::owning(GROUP, &self.id, self.epoch, self.owned.clone())
    }
}

/// Heartbeats every client in turn until the group is Stable; returns the
/// number of heartbeats.
pub fn converge(c: &mut GroupCoordinator, clients: &mut [Client], now: i64) -> usize {
    let mut n = 0;
    for _round in 0..20 {
        for cl in clients.iter_mut() {
            let r = c.heartbeat(&ctx(now), cl.request()).response;
            assert_eq!(r.error_code, 0, "{:?}", r.error_message);
            cl.epoch = r.member_epoch;
            if let Some(active) = r.active_tasks {
                cl.owned = active;
            }
            n += 1;
        }
        if c.group_state(GROUP) == Some(GroupState::Stable) {
            return n;
        }
    }
    panic!("group did not converge");
}

/// A Stable group of `members` members sharing `tasks` tasks, and its
/// clients. The coordinator's clock is at 3,000 ms.
pub fn stable_group(members: usize, tasks: i32) -> (GroupCoordinator, Vec<Client>) {
    let mut config = CoordinatorConfig::default();
    config
        .set("group.streams.initial.rebalance.delay.ms", "3000")
        .expect("valid config");
    config
        .set("group.streams.assignment.interval.ms", "0")
        .expect("valid config");
    let mut c = GroupCoordinator::new(config, Arc::new(AssignorRegistry::default()));
    let md = ClusterMetadata::new().with_topic(Uuid::from_u64_pair(7, 7), "input", tasks);
    c.update_metadata(Arc::new(md), 0);
    let mut clients = Vec::with_capacity(members);
    for i in 0..members {
        let r = c.heartbeat(&ctx(0), join(i)).response;
        assert_eq!(r.error_code, 0, "{:?}", r.error_message);
        clients.push(Client {
            id: member_id(i),
            epoch: r.member_epoch,
            owned: vec![],
        });
    }
    c.advance_time(3000);
    converge(&mut c, &mut clients, 3000);
    (c, clients)
}
