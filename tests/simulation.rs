//! Deterministic simulation of a fleet of Kafka Streams clients against one
//! coordinator shard on the project harness: simulated clock, in-memory log,
//! seeded RNG (issue 5, item 7; issue 12, item 4).
//!
//! A seeded fleet of [`SimClient`]s heartbeats at the interval the
//! coordinator asks for; some revoke at once, some late (but within their
//! rebalance timeout); clients crash, restart statically (same instance id,
//! new member id), leave; topics change and group configs change. After every
//! step the test checks:
//!
//! * no active task is owned by two live clients, judged by what the clients
//!   themselves hold (tasks they still run while revoking included);
//! * no member epoch seen in the coordinator's describe goes back (except to
//!   −2, a static member's temporary leave);
//! * a Stable group places at most the warm-up budget of warm-ups (clients
//!   restore a warm-up at once or over up to 3 s, reporting task offsets);
//! * a second coordinator fed the same records step by step describes the
//!   group exactly as the live one does (fields deliberately not persisted
//!   left out), and every few hundred steps a third one rebuilt from the whole
//!   log does too.
//!
//! When the fleet stops changing the group must reach Stable with every member
//! at the target, every warm-up promoted or dropped, and every client must run
//! exactly its target's active tasks.
//!
//! `SIM_SEEDS` (default 4) seeds of `SIM_STEPS` (default 10,000) steps run under
//! `cargo test`; docs/behaviour.md gives the command for a million steps.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use harness::sim::{SimClient, Tasks};
use harness::{Harness, Rng};
use streams_coordinator::assignor::AssignorRegistry;
use streams_coordinator::group::{
    clear_not_persisted, CoordinatorConfig, GroupCoordinator, RequestContext,
};
use streams_coordinator::protocol::describe::DescribedGroup;
use streams_coordinator::protocol::heartbeat::{Subtopology, TopicInfo, Topology};
use streams_coordinator::protocol::{
    StreamsGroupDescribeRequest, StreamsGroupHeartbeatRequest, StreamsGroupHeartbeatResponse, Uuid,
};
use streams_coordinator::topology::{ClusterMetadata, TopicMetadata};

const GROUP: &str = "sim-app";
const MAX_CLIENTS: usize = 10;
const REBALANCE_TIMEOUT_MS: i32 = 4_000;

/// The topology every client runs: a stateful subtopology over `input` with a
/// changelog, fed to a second subtopology through a repartition topic, and a
/// stateless subtopology over `events` whose partition count the simulation
/// changes (a stateless subtopology has no internal topic whose count could
/// contradict the new one, so the group can always become ready again).
fn topology() -> Topology {
    let changelog = |name: &str| TopicInfo {
        name: name.into(),
        ..Default::default()
    };
    Topology {
        epoch: 0,
        subtopologies: vec![
            Subtopology {
                subtopology_id: "0".into(),
                source_topics: vec!["input".into()],
                repartition_sink_topics: vec!["sim-app-rekey-repartition".into()],
                state_changelog_topics: vec![changelog("sim-app-store-changelog")],
                ..Default::default()
            },
            Subtopology {
                subtopology_id: "1".into(),
                repartition_source_topics: vec![changelog("sim-app-rekey-repartition")],
                state_changelog_topics: vec![changelog("sim-app-counts-changelog")],
                ..Default::default()
            },
            Subtopology {
                subtopology_id: "2".into(),
                source_topics: vec!["events".into()],
                ..Default::default()
            },
        ],
    }
}

/// A distinct topic id for every creation: a topic deleted and re-created
/// gets a new id, as in Kafka.
fn topic_id(creation: u64) -> Uuid {
    let mut bytes = [0u8; 16];
    bytes[..8].copy_from_slice(&0x5157_0000_0000_0001u64.to_be_bytes());
    bytes[8..].copy_from_slice(&creation.to_be_bytes());
    Uuid(bytes)
}

/// One live client and what the simulation remembers about it.
struct Client {
    sim: SimClient,
    /// A static client's instance id.
    instance: Option<String>,
}

struct World {
    rng: Rng,
    now: i64,
    /// The coordinator's shard on the project harness (simulated clock, in-memory log).
    live: Harness,
    /// Fed the same durable records as `live`, step by step.
    follower: GroupCoordinator,
    metadata: ClusterMetadata,
    creations: u64,
    clients: Vec<Client>,
    next_member: u32,
    next_process: u32,
    /// Member epochs last described, by member id.
    last_epochs: BTreeMap<String, i32>,
    churn: bool,
    heartbeats: u64,
}

fn context(now: i64, version: i16) -> RequestContext {
    RequestContext {
        api_version: version,
        client_id: "sim".into(),
        client_host: "/127.0.0.1".into(),
        now_ms: now,
    }
}

impl World {
    fn new(seed: u64) -> World {
        let mut rng = Rng::new(seed);
        let mut config = CoordinatorConfig::default();
        let initial_delay = if rng.per_mille(500) { "0" } else { "600" };
        let interval = if rng.per_mille(500) { "0" } else { "250" };
        for (k, v) in [
            ("group.streams.min.heartbeat.interval.ms", "100"),
            ("group.streams.heartbeat.interval.ms", "300"),
            ("group.streams.min.session.timeout.ms", "1000"),
            ("group.streams.session.timeout.ms", "2000"),
            ("group.streams.initial.rebalance.delay.ms", initial_delay),
            ("group.streams.assignment.interval.ms", interval),
        ] {
            config.set(k, v).expect("valid broker config");
        }
        let registry = Arc::new(AssignorRegistry::default());
        let mut world = World {
            rng,
            now: 0,
            follower: GroupCoordinator::new(config.clone(), Arc::clone(&registry)),
            live: Harness::new(config, registry),
            metadata: ClusterMetadata::new(),
            creations: 0,
            clients: Vec::new(),
            next_member: 0,
            next_process: 0,
            last_epochs: BTreeMap::new(),
            churn: true,
            heartbeats: 0,
        };
        let input = 2 + world.rng.below(7) as i32;
        let events = 1 + world.rng.below(4) as i32;
        world.create_topic("input", input);
        world.create_topic("events", events);
        world.publish_metadata();
        for _ in 0..1 + world.rng.below(4) {
            world.add_client(false);
        }
        world
    }

    fn create_topic(&mut self, name: &str, partitions: i32) {
        self.creations += 1;
        let id = topic_id(self.creations);
        self.metadata
            .insert(TopicMetadata::new(id, name, partitions));
    }

    fn publish_metadata(&mut self) {
        let md = Arc::new(self.metadata.clone());
        self.live.update_metadata(Arc::clone(&md));
        assert!(
            self.live.take_written().is_empty(),
            "a metadata change writes no record"
        );
        let _ = self.follower.update_metadata(md, self.now);
    }

    fn add_client(&mut self, static_member: bool) {
        // Sometimes a second member (thread) of an existing process.
        let process = if !self.clients.is_empty() && self.rng.per_mille(300) {
            let i = self.rng.below(self.clients.len() as u64) as usize;
            self.clients[i].sim.process_id.clone()
        } else {
            self.next_process += 1;
            format!("process-{}", self.next_process)
        };
        let instance = static_member.then(|| format!("instance-{}", self.next_member + 1));
        self.spawn(process, instance);
    }

    fn spawn(&mut self, process: String, instance: Option<String>) {
        self.next_member += 1;
        let member = format!("member-{}", self.next_member);
        let delay = if self.rng.per_mille(400) {
            // A late revoker, always well within its rebalance timeout.
            100 + self.rng.below(1_500) as i64
        } else {
            0
        };
        // Warm-ups restore at once or over up to 3 s (promoted when caught up).
        let restore = if self.rng.per_mille(500) {
            0
        } else {
            self.rng.below(3_000) as i64
        };
        let mut sim = SimClient::new(GROUP, &member, &process, topology())
            .with_rebalance_timeout(REBALANCE_TIMEOUT_MS)
            .with_revocation_delay_ms(delay)
            .with_restore_ms(restore);
        if let Some(i) = &instance {
            sim = sim.with_instance_id(i);
        }
        self.clients.push(Client { sim, instance });
    }

    /// What a broker does after each request: the durable records go to the
    /// follower, the internal topics asked for are created.
    fn absorb(&mut self, internal_topics: &[streams_coordinator::topology::InternalTopic]) {
        for r in self.live.take_written() {
            self.follower
                .replay(&r)
                .unwrap_or_else(|e| panic!("follower replay failed at t={}: {e}", self.now));
        }
        if !internal_topics.is_empty() {
            for t in internal_topics {
                if self.metadata.topic(&t.name).is_none() {
                    self.create_topic(&t.name, t.partitions);
                }
            }
            self.publish_metadata();
        }
    }

    fn heartbeat(&mut self, req: StreamsGroupHeartbeatRequest) -> StreamsGroupHeartbeatResponse {
        self.heartbeats += 1;
        let done = self.live.heartbeat_response(&context(self.now, 1), req);
        self.absorb(&done.internal_topics);
        done.response
    }

    /// Random changes to the fleet, the topics and the configs.
    fn churn(&mut self) {
        if self.clients.len() < MAX_CLIENTS && self.rng.per_mille(15) {
            let static_member = self.rng.per_mille(400);
            self.add_client(static_member);
        }
        if !self.clients.is_empty() && self.rng.per_mille(6) {
            // Crash: the client stops heartbeating; the session timeout fences it.
            let i = self.rng.below(self.clients.len() as u64) as usize;
            self.clients.remove(i);
        }
        if !self.clients.is_empty() && self.rng.per_mille(6) {
            let i = self.rng.below(self.clients.len() as u64) as usize;
            let now = self.now;
            self.clients[i].sim.leave(now);
        }
        if self.rng.per_mille(6) {
            // Static restart: a static client leaves temporarily (or crashes) and a
            // new incarnation with the same instance id re-joins with a new member id.
            if let Some(i) = self.clients.iter().position(|c| c.instance.is_some()) {
                let old = self.clients.remove(i);
                let now = self.now;
                if self.rng.per_mille(500) {
                    let mut sim = old.sim.clone();
                    let req = sim.leave_temporarily(now);
                    let resp = self.heartbeat(req);
                    let _ = sim.on_response(now, &resp);
                }
                self.spawn(old.sim.process_id.clone(), old.instance.clone());
            }
        }
        if self.rng.per_mille(3) {
            // Partitions of the stateless subtopology's topic grow or shrink
            // (a shrink is a delete and re-create, as in Kafka).
            let p = 1 + self.rng.below(5) as i32;
            self.create_topic("events", p);
            self.publish_metadata();
        }
        if self.rng.per_mille(2) {
            // A source topic disappears for a while: MISSING_SOURCE_TOPICS.
            if self.metadata.topic("events").is_some() {
                self.metadata.remove("events");
            } else {
                self.create_topic("events", 2);
            }
            self.publish_metadata();
        }
        if self.rng.per_mille(3) {
            let n = self.rng.below(3).to_string();
            self.set_group_config("streams.num.standby.replicas", &n);
        }
    }

    fn set_group_config(&mut self, key: &str, value: &str) {
        let configs = vec![(key.to_owned(), value.to_owned())];
        self.live
            .update_group_config(GROUP, &configs)
            .expect("valid group config");
        self.absorb(&[]);
        let _ = self
            .follower
            .update_group_config(GROUP, &configs, self.now)
            .expect("valid group config");
    }

    fn step(&mut self) {
        self.now += self.rng.below(150) as i64;
        self.live
            .advance_to(self.now)
            .expect("a bounded number of timers");
        self.absorb(&[]);
        if self.churn {
            self.churn();
        }
        // Every due client heartbeats, in a shuffled but seeded order.
        let mut order: Vec<usize> = (0..self.clients.len()).collect();
        self.rng.shuffle(&mut order);
        for i in order {
            let now = self.now;
            if !self.clients[i].sim.due(now) {
                continue;
            }
            let req = self.clients[i].sim.heartbeat(now);
            let resp = self.heartbeat(req);
            let _ = self.clients[i].sim.on_response(now, &resp);
        }
        self.clients.retain(|c| !c.sim.stopped());
        self.check();
    }

    fn describe(c: &GroupCoordinator, now: i64) -> Option<DescribedGroup> {
        let req = StreamsGroupDescribeRequest {
            group_ids: vec![GROUP.into()],
            include_authorized_operations: false,
            include_topology_description: false,
        };
        let mut groups = c.describe(&context(now, 1), &req).groups;
        let g = groups.pop()?;
        (g.error_code == 0).then_some(g)
    }

    /// The described group without what is deliberately not persisted
    /// (the core's `clear_not_persisted`, docs/behaviour.md).
    fn persisted_view(g: Option<DescribedGroup>) -> Option<DescribedGroup> {
        let mut g = g?;
        clear_not_persisted(&mut g);
        Some(g)
    }

    fn check(&mut self) {
        // 1. No active task is run by two live clients.
        let mut owner: BTreeMap<(String, i32), &str> = BTreeMap::new();
        for c in &self.clients {
            for (sub, parts) in c.sim.owned_active() {
                for p in parts {
                    if let Some(other) = owner.insert((sub.clone(), p), &c.sim.member_id) {
                        panic!(
                            "t={}: active task {sub}:{p} run by {other} and {}",
                            self.now, c.sim.member_id
                        );
                    }
                }
            }
        }
        // 2. Member epochs never go back.
        let live = Self::describe(self.live.coordinator(), self.now);
        if let Some(g) = &live {
            let mut epochs = BTreeMap::new();
            for m in &g.members {
                if let Some(old) = self.last_epochs.get(&m.member_id) {
                    assert!(
                        m.member_epoch >= *old || m.member_epoch == -2,
                        "t={}: member {} went from epoch {old} to {}",
                        self.now,
                        m.member_id,
                        m.member_epoch
                    );
                }
                epochs.insert(m.member_id.clone(), m.member_epoch);
            }
            self.last_epochs = epochs;
        }
        // 3. Warm-ups (src/group/warmup.rs): members reconciled to the assignment epoch hold
        //    their refined slices, which together place at most the budget of warm-ups.
        if let Some(g) = &live {
            let warmups: usize = g
                .members
                .iter()
                .map(|m| {
                    m.assignment
                        .warmup_tasks
                        .iter()
                        .map(|t| t.partitions.len())
                        .sum::<usize>()
                })
                .sum();
            if g.group_state == "Stable" {
                assert!(
                    warmups <= WARMUP_BUDGET,
                    "t={}: {warmups} warm-ups in a Stable group, budget {WARMUP_BUDGET}",
                    self.now
                );
            }
        }
        // 4. The follower, fed the same records, describes the same group.
        let live = Self::persisted_view(live);
        let follower = Self::persisted_view(Self::describe(&self.follower, self.now));
        assert_eq!(
            live, follower,
            "t={}: follower differs from the live coordinator",
            self.now
        );
    }

    /// Rebuilds a coordinator from the whole log, as a fail-over would, and
    /// compares it with the live one.
    fn check_full_replay(&self) {
        let (live, rebuilt) = self
            .live
            .persisted_views(&[GROUP.to_string()])
            .expect("replay of the log");
        assert_eq!(
            live,
            rebuilt,
            "t={}: a coordinator rebuilt from {} records differs",
            self.now,
            self.live.records().len()
        );
    }

    /// Stops the churn, heals the topics, and runs until the group is Stable
    /// with every member at the target and every client running exactly its
    /// target's active tasks.
    fn settle(&mut self) {
        self.churn = false;
        if self.metadata.topic("events").is_none() {
            self.create_topic("events", 2);
            self.publish_metadata();
        }
        if self.clients.is_empty() {
            self.add_client(false);
        }
        let deadline = self.now + 60_000;
        while self.now < deadline {
            self.step();
            if self.settled() {
                return;
            }
        }
        panic!(
            "the group did not settle within 60 s of simulated time: {:#?}",
            Self::describe(self.live.coordinator(), self.now)
        );
    }

    fn settled(&self) -> bool {
        let Some(g) = Self::describe(self.live.coordinator(), self.now) else {
            return false;
        };
        if g.group_state != "Stable" || g.members.len() != self.clients.len() {
            return false;
        }
        let by_member: BTreeMap<&str, _> = g
            .members
            .iter()
            .map(|m| (m.member_id.as_str(), m))
            .collect();
        self.clients.iter().all(|c| {
            let Some(m) = by_member.get(c.sim.member_id.as_str()) else {
                return false;
            };
            let target = tasks(&m.target_assignment.active_tasks);
            // Every warm-up was promoted or dropped.
            m.assignment
                .warmup_tasks
                .iter()
                .all(|t| t.partitions.is_empty())
                && m.member_epoch == g.assignment_epoch
                && tasks(&m.assignment.active_tasks) == target
                && c.sim.owned_active() == target
        })
    }
}

/// `group.streams.num.warmup.replicas`: the simulation runs with the broker default.
const WARMUP_BUDGET: usize = 2;

fn tasks(ids: &[streams_coordinator::protocol::heartbeat::TaskIds]) -> Tasks {
    let mut t = Tasks::new();
    for i in ids {
        if !i.partitions.is_empty() {
            t.entry(i.subtopology_id.clone())
                .or_default()
                .extend(i.partitions.iter().copied());
        }
    }
    t
}

fn env_or(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn run(seed: u64, steps: u64) {
    let mut w = World::new(seed);
    // A full rebuild replays the whole log: often in short runs, 20 times in long ones.
    let full_replay_every = (steps / 20).max(500);
    for i in 0..steps {
        w.step();
        if i % full_replay_every == full_replay_every - 1 {
            w.check_full_replay();
        }
    }
    w.settle();
    w.check_full_replay();
    let g = World::describe(w.live.coordinator(), w.now);
    eprintln!(
        "seed {seed}: {steps} steps, {} s simulated, {} records, {} heartbeats, {} clients at the end, group epoch {:?}, state {:?}",
        w.now / 1000,
        w.live.records().len(),
        w.heartbeats,
        w.clients.len(),
        g.as_ref().map(|g| g.group_epoch),
        g.as_ref().map(|g| g.group_state.clone()),
    );
    let total: usize = w
        .clients
        .iter()
        .map(|c| {
            c.sim
                .owned_active()
                .values()
                .map(BTreeSet::len)
                .sum::<usize>()
        })
        .sum();
    assert!(total > 0, "a settled group runs its tasks");
}

#[test]
fn seeded_fleets_never_double_own_and_always_settle() {
    let seeds = env_or("SIM_SEEDS", 4);
    let steps = env_or("SIM_STEPS", 10_000);
    let first = env_or("SIM_SEED", 1);
    for seed in first..first + seeds {
        run(seed, steps);
    }
}
