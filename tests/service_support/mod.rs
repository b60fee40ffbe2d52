//! Shared helpers of the service tests: an in-memory broker, simulated
//! clients driven on tokio's (paused) clock, and convergence checks.
#![allow(dead_code)]

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use harness::memory::{MemoryAuthorizer, MemoryBroker};
use harness::sim::{demo_topology, from_task_ids, task_count, Reaction, SimClient};
use streams_coordinator::protocol::describe::DescribedGroup;
use streams_coordinator::protocol::{StreamsGroupDescribeRequest, Uuid};
use streams_coordinator::service::{ClientContext, Service, ServiceConfig};
use streams_coordinator::topology::ClusterMetadata;

pub const GROUP: &str = "app";
pub const INPUT_PARTITIONS: i32 = 6;
pub const PARTITIONS: i32 = 4;

pub fn metadata() -> ClusterMetadata {
    ClusterMetadata::new().with_topic(Uuid([7; 16]), "input", INPUT_PARTITIONS)
}

pub fn broker() -> MemoryBroker {
    MemoryBroker::new(metadata(), INPUT_PARTITIONS)
}

pub fn config() -> ServiceConfig {
    ServiceConfig {
        partition_count: PARTITIONS,
        ..ServiceConfig::default()
    }
}

pub fn client_ctx() -> ClientContext {
    ClientContext {
        principal: "User:test".into(),
        client_id: "sim".into(),
        client_host: "/127.0.0.1".into(),
        api_version: 1,
    }
}

pub fn client(i: usize) -> SimClient {
    SimClient::new(
        GROUP,
        &format!("member-{i}"),
        &format!("process-{i}"),
        demo_topology(GROUP, &["input"], false),
    )
}

/// Clients that are alive (heartbeating) and those that crashed (silent).
pub struct Fleet {
    pub clients: Vec<SimClient>,
    pub dead: BTreeSet<usize>,
    pub fenced: usize,
    pub retries: usize,
    pub errors: Vec<i16>,
    /// Active tasks a stable group covers (one per input partition).
    pub expected_tasks: usize,
}

impl Fleet {
    pub fn new(n: usize) -> Self {
        Self {
            clients: (0..n).map(client).collect(),
            dead: BTreeSet::new(),
            fenced: 0,
            retries: 0,
            errors: Vec::new(),
            expected_tasks: INPUT_PARTITIONS as usize,
        }
    }

    /// Sends every due heartbeat once.
    pub async fn step(&mut self, service: &Service) {
        let ctx = client_ctx();
        for (i, c) in self.clients.iter_mut().enumerate() {
            if self.dead.contains(&i) || c.stopped() {
                continue;
            }
            let now = service.now_ms();
            if !c.due(now) {
                continue;
            }
            let req = c.heartbeat(now);
            let resp = service.heartbeat(&ctx, req).await;
            match c.on_response(service.now_ms(), &resp) {
                Reaction::Fenced(_) => self.fenced += 1,
                Reaction::Retry(code) => {
                    self.retries += 1;
                    self.errors.push(code.0);
                }
                Reaction::Fatal(code) => self.errors.push(code.0),
                _ => {}
            }
        }
    }

    /// Steps every 10 ms of (paused) time until `stable`, or panics after `max_ms`.
    /// Returns the simulated time it took.
    pub async fn run_until_stable(&mut self, service: &Service, max_ms: i64) -> i64 {
        let start = service.now_ms();
        loop {
            self.step(service).await;
            if self.is_stable(service).await {
                return service.now_ms() - start;
            }
            assert!(
                service.now_ms() - start < max_ms,
                "no convergence within {max_ms} ms; errors {:?}",
                self.errors
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    /// Steps for `ms` of (paused) time.
    pub async fn run_for(&mut self, service: &Service, ms: i64) {
        let start = service.now_ms();
        while service.now_ms() - start < ms {
            self.step(service).await;
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    pub fn live(&self) -> impl Iterator<Item = &SimClient> + '_ {
        self.clients
            .iter()
            .enumerate()
            .filter(|(i, c)| !self.dead.contains(i) && !c.stopped())
            .map(|(_, c)| c)
    }

    /// Stable: the group says so, every live client is a member at the
    /// assignment epoch owning exactly its assignment, which is its target
    /// (no warm-up pending), and the active tasks cover every input partition
    /// exactly once.
    pub async fn is_stable(&self, service: &Service) -> bool {
        let Some(g) = describe(service, GROUP).await else {
            return false;
        };
        if g.group_state != "Stable" {
            return false;
        }
        let live: Vec<&SimClient> = self.live().collect();
        if g.members.len() != live.len() {
            return false;
        }
        let mut seen = BTreeSet::new();
        for c in live {
            let Some(m) = g.members.iter().find(|m| m.member_id == c.member_id) else {
                return false;
            };
            if m.member_epoch != g.assignment_epoch || c.member_epoch != m.member_epoch {
                return false;
            }
            let owned: BTreeSet<(String, i32)> = c
                .active
                .iter()
                .flat_map(|(s, p)| p.iter().map(move |p| (s.clone(), *p)))
                .collect();
            let assigned: BTreeSet<(String, i32)> = m
                .assignment
                .active_tasks
                .iter()
                .flat_map(|t| {
                    t.partitions
                        .iter()
                        .map(move |p| (t.subtopology_id.clone(), *p))
                })
                .collect();
            if owned != assigned {
                return false;
            }
            // Settled on the target: no warm-up still waiting for its promotion.
            if from_task_ids(&m.assignment.active_tasks)
                != from_task_ids(&m.target_assignment.active_tasks)
                || task_count(&from_task_ids(&m.assignment.warmup_tasks)) != 0
            {
                return false;
            }
            for t in owned {
                if !seen.insert(t) {
                    return false;
                }
            }
        }
        seen.len() == self.expected_tasks
    }
}

/// Describes one group; `None` on any error.
pub async fn describe(service: &Service, group: &str) -> Option<DescribedGroup> {
    let resp = service
        .describe(
            &client_ctx(),
            StreamsGroupDescribeRequest {
                group_ids: vec![group.into()],
                ..Default::default()
            },
        )
        .await;
    resp.groups.into_iter().next().filter(|g| g.error_code == 0)
}

/// A service over `broker` with the group's partition loaded.
pub async fn started(broker: &MemoryBroker) -> Service {
    loaded(Service::new(config(), broker.hooks())).await
}

/// A service over `broker` whose authorizer allows only what the test
/// allows it, with [`GROUP`]'s partition loaded.
pub async fn started_with_acl(broker: &MemoryBroker) -> (Service, Arc<MemoryAuthorizer>) {
    let acl = Arc::new(MemoryAuthorizer::new());
    let service = loaded(Service::new(config(), broker.hooks_with(acl.clone()))).await;
    (service, acl)
}

async fn loaded(service: Service) -> Service {
    let p = service.partition_for(GROUP);
    service.load(p).await.expect("load");
    service
}

/// A broker whose record reads take 500 ms, so a load stays in progress
/// long enough to send requests meanwhile.
pub fn slow_loading_broker() -> MemoryBroker {
    let broker = broker();
    broker
        .records
        .set_read_delay(Some(Duration::from_millis(500)));
    broker
}

/// Starts loading the group's partition in the background and returns once
/// the load is under way (100 ms in); await the handle for its result.
pub async fn start_loading(
    service: &Service,
) -> tokio::task::JoinHandle<Result<(), streams_coordinator::service::ServiceError>> {
    let s = service.clone();
    let p = service.partition_for(GROUP);
    let loader = tokio::spawn(async move { s.load(p).await });
    tokio::time::sleep(Duration::from_millis(100)).await;
    loader
}

pub fn arc<T>(t: T) -> Arc<T> {
    Arc::new(t)
}
