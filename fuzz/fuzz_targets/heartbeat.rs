//! A sequence of decoded StreamsGroupHeartbeat requests through one coordinator
//! (docs/fuzzing.md).
//!
//! Input: steps `[op, delta, len_hi, len_lo, body(len)...]`, at most [`MAX_STEPS`]. The body
//! is decoded as a heartbeat request (a step whose body does not decode is skipped); a
//! length of 0 instead repeats an earlier decoded request, picked by the next byte. The
//! clock first advances by `delta * 20` ms. Bits of `op`:
//!
//! * bit 0: request version 0 or 1;
//! * bit 1: call `advance_time` after the request;
//! * bit 2: replace the member epoch by the last one the coordinator gave the member (and
//!   drop the topology unless that is 0, as a client does);
//! * bit 3: replace the owned tasks by the last assignment the coordinator sent the member;
//! * bit 4: first create the internal topics the coordinator asked for (as a broker does);
//! * bit 5: append `op >> 6` to the member id (up to four members from one request).
//!
//! Properties: no call panics; every response and every record the coordinator returns
//! encodes (a heartbeat response at the request's version); every record the coordinator
//! wrote replays into a fresh coordinator, and that coordinator describes every group as the
//! live one does (fields deliberately not persisted cleared with
//! `group::clear_not_persisted`).

#![no_main]

use std::collections::BTreeMap;
use std::sync::Arc;

use libfuzzer_sys::fuzz_target;
use streams_coordinator::assignor::AssignorRegistry;
use streams_coordinator::group::{
    clear_not_persisted, CoordinatorConfig, GroupCoordinator, Output, RequestContext, StateFilter,
};
use streams_coordinator::protocol::heartbeat::TaskIds;
use streams_coordinator::protocol::{
    CoordinatorRecord, Message, StreamsGroupDescribeRequest, StreamsGroupDescribeResponse,
    StreamsGroupHeartbeatRequest, Uuid,
};
use streams_coordinator::topology::{ClusterMetadata, InternalTopic, TopicMetadata};

const MAX_STEPS: usize = 48;

fn topic_id(n: u64) -> Uuid {
    Uuid::from_u64_pair(0x5157_0000_0000_0001, n)
}

fn config() -> CoordinatorConfig {
    let mut config = CoordinatorConfig::default();
    for (k, v) in [
        ("group.streams.min.heartbeat.interval.ms", "100"),
        ("group.streams.heartbeat.interval.ms", "300"),
        ("group.streams.min.session.timeout.ms", "1000"),
        ("group.streams.session.timeout.ms", "2000"),
        ("group.streams.initial.rebalance.delay.ms", "300"),
    ] {
        if config.set(k, v).is_err() {
            panic!("broker setting {k}={v} rejected");
        }
    }
    config
}

/// What the coordinator last told a member.
#[derive(Default)]
struct Told {
    epoch: i32,
    tasks: Option<[Option<Vec<TaskIds>>; 3]>,
}

struct World {
    now: i64,
    live: GroupCoordinator,
    metadata: ClusterMetadata,
    topics: u64,
    to_create: Vec<InternalTopic>,
    log: Vec<CoordinatorRecord>,
    told: BTreeMap<String, Told>,
    history: Vec<StreamsGroupHeartbeatRequest>,
}

impl World {
    fn new(config: CoordinatorConfig, registry: Arc<AssignorRegistry>) -> World {
        let mut world = World {
            now: 0,
            live: GroupCoordinator::new(config, registry),
            metadata: ClusterMetadata::new(),
            topics: 0,
            to_create: Vec::new(),
            log: Vec::new(),
            told: BTreeMap::new(),
            history: Vec::new(),
        };
        for (name, partitions) in [
            ("orders", 4),
            ("customers", 4),
            ("payments", 4),
            ("stock-updates", 2),
            ("events", 1),
        ] {
            world.create(name, partitions);
        }
        let _ = world
            .live
            .update_metadata(Arc::new(world.metadata.clone()), 0);
        world
    }

    fn create(&mut self, name: &str, partitions: i32) {
        self.topics += 1;
        self.metadata
            .insert(TopicMetadata::new(topic_id(self.topics), name, partitions));
    }

    fn absorb<R>(&mut self, out: Output<R>) -> R {
        for r in &out.records {
            // What the broker must persist must encode.
            if let Err(e) = r.key_bytes().and_then(|_| r.value_bytes()) {
                panic!("record {r:?} does not encode: {e}");
            }
        }
        self.log.extend(out.records);
        self.to_create.extend(out.internal_topics);
        out.response
    }

    fn create_internal_topics(&mut self) {
        let mut changed = false;
        for t in std::mem::take(&mut self.to_create) {
            // Partition counts come from the request: keep the metadata small.
            if self.metadata.topic(&t.name).is_none() && (1..=64).contains(&t.partitions) {
                self.create(&t.name, t.partitions);
                changed = true;
            }
        }
        if changed {
            let out = self
                .live
                .update_metadata(Arc::new(self.metadata.clone()), self.now);
            self.absorb(out);
        }
    }

    fn step(&mut self, op: u8, mut req: StreamsGroupHeartbeatRequest) {
        if op & 0x10 != 0 {
            self.create_internal_topics();
        }
        if op & 0x20 != 0 {
            req.member_id.push(char::from(b'0' + (op >> 6)));
        }
        let told = self.told.get(&req.member_id);
        if op & 0x04 != 0 {
            req.member_epoch = told.map_or(0, |t| t.epoch);
            if req.member_epoch != 0 {
                // As a client does: the topology goes with a join only.
                req.topology = None;
            }
        }
        if op & 0x08 != 0 {
            if let Some([a, s, w]) = told.and_then(|t| t.tasks.clone()) {
                req.active_tasks = a;
                req.standby_tasks = s;
                req.warmup_tasks = w;
            }
        }
        let ctx = RequestContext {
            api_version: i16::from(op & 1),
            client_id: "fuzz".into(),
            client_host: "/127.0.0.1".into(),
            now_ms: self.now,
        };
        let member_id = req.member_id.clone();
        let out = self.live.heartbeat(&ctx, req);
        let response = self.absorb(out);
        if let Err(e) = response.to_bytes(ctx.api_version) {
            panic!(
                "response {response:?} does not encode at v{}: {e}",
                ctx.api_version
            );
        }
        if response.error_code == 0 {
            let told = self.told.entry(member_id).or_default();
            told.epoch = response.member_epoch;
            if response.active_tasks.is_some() {
                told.tasks = Some([
                    response.active_tasks,
                    response.standby_tasks,
                    response.warmup_tasks,
                ]);
            }
        }
        if op & 0x02 != 0 {
            let out = self.live.advance_time(self.now);
            self.absorb(out);
        }
    }
}

fn describe_all(c: &GroupCoordinator, now: i64) -> StreamsGroupDescribeResponse {
    let request = StreamsGroupDescribeRequest {
        group_ids: c
            .list_groups(&StateFilter::Any)
            .into_iter()
            .map(|g| g.group_id)
            .collect(),
        include_authorized_operations: false,
        include_topology_description: false,
    };
    let ctx = RequestContext {
        api_version: 1,
        client_id: "fuzz".into(),
        client_host: "/127.0.0.1".into(),
        now_ms: now,
    };
    let mut response = c.describe(&ctx, &request);
    response.groups.iter_mut().for_each(clear_not_persisted);
    response
}

fuzz_target!(|data: &[u8]| {
    let config = config();
    let registry = Arc::new(AssignorRegistry::default());
    let mut world = World::new(config.clone(), Arc::clone(&registry));

    let mut rest = data;
    for _ in 0..MAX_STEPS {
        let [op, delta, hi, lo, tail @ ..] = rest else {
            break;
        };
        let len = usize::from(u16::from_be_bytes([*hi, *lo]));
        let (op, delta) = (*op, *delta);
        let req = if len == 0 {
            let [pick, tail @ ..] = tail else {
                break;
            };
            rest = tail;
            if world.history.is_empty() {
                continue;
            }
            world.history[usize::from(*pick) % world.history.len()].clone()
        } else {
            let body = &tail[..len.min(tail.len())];
            rest = &tail[body.len()..];
            match StreamsGroupHeartbeatRequest::decode(body, i16::from(op & 1)) {
                Ok(req) => {
                    world.history.push(req.clone());
                    req
                }
                Err(_) => continue,
            }
        };
        world.now += i64::from(delta) * 20;
        let out = world.live.advance_time(world.now);
        world.absorb(out);
        world.step(op, req);
    }

    // Fail-over: a coordinator rebuilt from the records describes the same groups.
    let mut rebuilt = GroupCoordinator::new(config, registry);
    let _ = rebuilt.update_metadata(Arc::new(world.metadata.clone()), world.now);
    for (i, record) in world.log.iter().enumerate() {
        if let Err(e) = rebuilt.replay(record) {
            panic!(
                "record {i} of {} does not replay: {e}\n{record:?}",
                world.log.len()
            );
        }
    }
    let _ = rebuilt.on_loaded(world.now);
    let live = describe_all(&world.live, world.now);
    if let Err(e) = live.to_bytes(1) {
        panic!("describe response {live:?} does not encode: {e}");
    }
    let again = describe_all(&rebuilt, world.now);
    assert_eq!(
        live, again,
        "a coordinator rebuilt from the records describes differently"
    );
});
