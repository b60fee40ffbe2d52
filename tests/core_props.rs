//! Property tests of the core: arbitrary request sequences never panic, never
//! give an active task to two members, and the records always replay to the
//! same state; arbitrary records never make replay panic.

mod core_support;

use std::collections::BTreeMap;

use core_support::*;
use proptest::prelude::*;
use streams_coordinator::group::{ForeignGroupKind, StateFilter};
use streams_coordinator::protocol::heartbeat::{Endpoint, KeyValue, TaskIds, TaskOffset};
use streams_coordinator::protocol::records::*;
use streams_coordinator::protocol::{StreamsGroupDescribeRequest, StreamsGroupHeartbeatRequest};

#[derive(Clone, Debug)]
enum Op {
    Join(usize),
    Beat { m: usize, ack: bool, stale: bool },
    Leave(usize),
    StaticLeave,
    Advance(i64),
    Topics(i32),
    Config(i32),
    Garbage(Box<StreamsGroupHeartbeatRequest>),
}

fn arb_task_ids() -> impl Strategy<Value = Vec<TaskIds>> {
    prop::collection::vec(
        ("[0-2]", prop::collection::vec(-2i32..8, 0..4)).prop_map(|(s, p)| TaskIds {
            subtopology_id: s,
            partitions: p,
        }),
        0..3,
    )
}

fn arb_garbage() -> impl Strategy<Value = StreamsGroupHeartbeatRequest> {
    (
        prop::option::of("[ a]{0,2}"),
        "[ m0-9]{0,3}",
        -4i32..6,
        prop::option::of(arb_task_ids()),
        prop::option::of(arb_task_ids()),
        prop::option::of(arb_task_ids()),
        prop::option::of(prop::collection::vec(
            ("[ab]", "[xy]").prop_map(|(k, v)| KeyValue { key: k, value: v }),
            0..3,
        )),
        prop::option::of(prop::collection::vec(
            ("[0-1]", -1i32..3, any::<i64>()).prop_map(|(s, p, o)| TaskOffset {
                subtopology_id: s,
                partition: p,
                offset: o,
            }),
            0..4,
        )),
        any::<bool>(),
        prop::option::of(
            ("[h]{0,2}", any::<u16>()).prop_map(|(host, port)| Endpoint { host, port }),
        ),
        prop::option::of("[ i]{0,2}"),
        -2i32..40000,
    )
        .prop_map(|(g, m, e, a, s, w, tags, offs, shut, ep, inst, rt)| {
            StreamsGroupHeartbeatRequest {
                group_id: g.unwrap_or_else(|| "app".into()),
                member_id: m,
                member_epoch: e,
                active_tasks: a,
                standby_tasks: s,
                warmup_tasks: w,
                client_tags: tags,
                task_offsets: offs,
                shutdown_application: shut,
                user_endpoint: ep,
                instance_id: inst,
                rebalance_timeout_ms: rt,
                topology: if e == 0 {
                    Some(stateful_topology("input", "app-cl"))
                } else {
                    None
                },
                ..StreamsGroupHeartbeatRequest::default()
            }
        })
}

fn arb_op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => (0usize..5).prop_map(Op::Join),
        10 => (0usize..5, any::<bool>(), prop::bool::weighted(0.1)).prop_map(|(m, ack, stale)| Op::Beat { m, ack, stale }),
        1 => (0usize..5).prop_map(Op::Leave),
        1 => Just(Op::StaticLeave),
        2 => (0i64..50_000).prop_map(Op::Advance),
        1 => (0i32..5).prop_map(Op::Topics),
        1 => (0i32..3).prop_map(Op::Config),
        2 => arb_garbage().prop_map(|g| Op::Garbage(Box::new(g))),
    ]
}

struct Client {
    epoch: i32,
    owned: Vec<TaskIds>,
    joined: bool,
}

fn topics(n: i32) -> std::sync::Arc<streams_coordinator::topology::ClusterMetadata> {
    match n {
        0 => metadata(&[]),
        1 => metadata(&[("input", 4)]),
        2 => metadata(&[("input", 4), ("app-cl", 4)]),
        3 => metadata(&[("input", 6), ("app-cl", 6)]),
        _ => metadata(&[("input", 6), ("app-cl", 4)]),
    }
}

fn check(c: &harness::Harness) {
    // No active task in two members' current assignments.
    let d = c.coordinator().describe(
        &ctx(0),
        &StreamsGroupDescribeRequest {
            group_ids: vec!["app".into()],
            ..Default::default()
        },
    );
    let mut owners: BTreeMap<(String, i32), String> = BTreeMap::new();
    for g in &d.groups {
        for m in &g.members {
            for t in &m.assignment.active_tasks {
                for p in &t.partitions {
                    if let Some(other) =
                        owners.insert((t.subtopology_id.clone(), *p), m.member_id.clone())
                    {
                        panic!(
                            "task {}_{} owned by {} and {}",
                            t.subtopology_id, p, other, m.member_id
                        );
                    }
                }
            }
        }
    }
    assert_replay_matches(c, "app");
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, .. ProptestConfig::default() })]

    #[test]
    fn random_operations_keep_the_invariants(ops in prop::collection::vec(arb_op(), 1..60)) {
        let mut c = harness(&[("group.streams.initial.rebalance.delay.ms", "100")]);
        c.update_metadata(topics(2));
        let mut now = 0i64;
        let mut clients: Vec<Client> = (0..5).map(|_| Client { epoch: 0, owned: vec![], joined: false }).collect();
        for op in ops {
            now += 10;
            advance(&mut c, now);
            match op {
                Op::Join(i) => {
                    let mut j = join("app", &format!("m{i}"), stateful_topology("input", "app-cl"));
                    if i == 4 { j.instance_id = Some("static".into()); j.member_id = format!("s{now}"); }
                    let out = hb(&mut c, now, j);
                    if out.response.error_code == 0 {
                        clients[i] = Client { epoch: out.response.member_epoch, owned: out.response.active_tasks.unwrap_or_default(), joined: true };
                    }
                }
                Op::Beat { m, ack, stale } => {
                    if !clients[m].joined { continue; }
                    let id = format!("m{m}");
                    let mut req = if ack { beat_owning("app", &id, clients[m].epoch, clients[m].owned.clone()) } else { beat("app", &id, clients[m].epoch) };
                    if stale { req.member_epoch -= 1; }
                    if m == 4 { continue; }
                    let out = hb(&mut c, now, req);
                    let r = out.response;
                    if r.error_code == 0 {
                        prop_assert!(r.member_epoch >= clients[m].epoch || stale);
                        clients[m].epoch = r.member_epoch;
                        if let Some(a) = r.active_tasks { clients[m].owned = a; }
                    } else {
                        clients[m] = Client { epoch: 0, owned: vec![], joined: false };
                    }
                }
                Op::Leave(i) => {
                    if i == 4 { continue; }
                    hb(&mut c, now, beat("app", &format!("m{i}"), -1));
                    clients[i] = Client { epoch: 0, owned: vec![], joined: false };
                }
                Op::StaticLeave => {
                    let mut l = beat("app", "any", -2);
                    l.instance_id = Some("static".into());
                    hb(&mut c, now, l);
                }
                Op::Advance(d) => {
                    now += d;
                    advance(&mut c, now);
                }
                Op::Topics(n) => { c.update_metadata(topics(n)); }
                Op::Config(n) => {
                    let _ = c.update_group_config("app", &[("streams.num.standby.replicas".into(), n.to_string())]);
                }
                Op::Garbage(g) => { hb(&mut c, now, *g); }
            }
            check(&c);
        }
    }

    #[test]
    fn arbitrary_records_never_panic(recs in prop::collection::vec(arb_record(), 0..40)) {
        let mut c = coordinator(&[]);
        for r in &recs {
            let _ = c.replay(r);
        }
        let _ = c.describe(&ctx(0), &StreamsGroupDescribeRequest { group_ids: vec!["g".into()], ..Default::default() });
        let _ = c.on_loaded(0);
        let _ = c.advance_time(1_000_000);
        let _ = c.heartbeat(&ctx(1), beat("g", "m", 1));
        let _ = c.list_groups(&StateFilter::Any);
        let _ = c.metrics();
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// A whole log replayed at once rebuilds what replaying it record by
    /// record does, and stops at the same record with the same error; also
    /// when it is replayed in two parts, the second into a coordinator that
    /// already holds groups.
    #[test]
    fn replay_all_equals_replay_one_by_one(
        recs in prop::collection::vec(arb_record(), 0..60),
        foreign in prop::option::of((any::<bool>(), any::<bool>())),
        split in prop::option::of(0usize..60),
    ) {
        let mut one = coordinator(&[]);
        let mut all = coordinator(&[]);
        if let Some((classic, empty)) = foreign {
            // A group of another type holds "h": replaced by the first streams
            // record when it is an empty classic group, a conflict otherwise.
            let kind = if classic { ForeignGroupKind::Classic } else { ForeignGroupKind::Consumer };
            one.set_foreign_group("h", Some(kind), empty);
            all.set_foreign_group("h", Some(kind), empty);
        }
        let mut first_error = None;
        for (i, r) in recs.iter().enumerate() {
            if let Err(e) = one.replay(r) {
                first_error = Some((i, e));
                break;
            }
        }
        let k = split.unwrap_or(recs.len()).min(recs.len());
        let all_error = all.replay_all(&recs[..k]).err().or_else(|| {
            all.replay_all(&recs[k..]).err().map(|(i, e)| (i + k, e))
        });
        prop_assert_eq!(all_error, first_error);
        let req = StreamsGroupDescribeRequest {
            group_ids: vec!["g".into(), "h".into()],
            ..Default::default()
        };
        prop_assert_eq!(one.describe(&ctx(0), &req), all.describe(&ctx(0), &req));
        prop_assert_eq!(one.list_groups(&StateFilter::Any), all.list_groups(&StateFilter::Any));
        prop_assert_eq!(one.on_loaded(0), all.on_loaded(0));
        prop_assert_eq!(one.advance_time(1_000_000), all.advance_time(1_000_000));
    }
}

fn arb_cur_tasks() -> impl Strategy<Value = Vec<CurrentAssignmentTaskIds>> {
    prop::collection::vec(
        (
            "[0-1]",
            prop::collection::vec(-1i32..4, 0..3),
            prop::option::of(prop::collection::vec(-1i32..5, 0..3)),
        )
            .prop_map(|(s, p, e)| CurrentAssignmentTaskIds {
                subtopology_id: s,
                partitions: p,
                assignment_epochs: e,
            }),
        0..3,
    )
}

fn arb_record() -> impl Strategy<Value = CoordinatorRecord> {
    // Two groups, so that a log has runs of one group's records broken by
    // the other's (what `replay_all` optimizes).
    let g = "[gh]";
    let m = "[mn]";
    prop_oneof![
        (g, any::<bool>(), -2i32..5).prop_map(|(g, tomb, e)| CoordinatorRecord {
            key: RecordKey::GroupMetadata(StreamsGroupMetadataKey { group_id: g }),
            value: (!tomb).then(|| RecordValue::GroupMetadata(StreamsGroupMetadataValue {
                epoch: e,
                ..Default::default()
            })),
        }),
        (
            g,
            m,
            any::<bool>(),
            -2i32..5,
            any::<i8>(),
            arb_cur_tasks(),
            arb_cur_tasks()
        )
            .prop_map(|(g, m, tomb, e, st, a, p)| CoordinatorRecord {
                key: RecordKey::CurrentMemberAssignment(StreamsGroupCurrentMemberAssignmentKey {
                    group_id: g,
                    member_id: m
                }),
                value: (!tomb).then(|| RecordValue::CurrentMemberAssignment(
                    StreamsGroupCurrentMemberAssignmentValue {
                        member_epoch: e,
                        previous_member_epoch: e - 1,
                        state: st,
                        active_tasks: a,
                        standby_tasks: p.clone(),
                        active_tasks_pending_revocation: p,
                        ..Default::default()
                    }
                )),
            }),
        (g, m, any::<bool>(), prop::option::of("[i]")).prop_map(|(g, m, tomb, i)| {
            CoordinatorRecord {
                key: RecordKey::MemberMetadata(StreamsGroupMemberMetadataKey {
                    group_id: g,
                    member_id: m,
                }),
                value: (!tomb).then(|| {
                    RecordValue::MemberMetadata(StreamsGroupMemberMetadataValue {
                        instance_id: i,
                        ..Default::default()
                    })
                }),
            }
        }),
        (g, m, any::<bool>(), arb_task_ids()).prop_map(|(g, m, tomb, a)| CoordinatorRecord {
            key: RecordKey::TargetAssignmentMember(StreamsGroupTargetAssignmentMemberKey {
                group_id: g,
                member_id: m
            }),
            value: (!tomb).then(|| RecordValue::TargetAssignmentMember(
                StreamsGroupTargetAssignmentMemberValue {
                    active_tasks: a,
                    ..Default::default()
                }
            )),
        }),
        (g, any::<bool>(), -2i32..5, any::<i64>()).prop_map(|(g, tomb, e, t)| CoordinatorRecord {
            key: RecordKey::TargetAssignmentMetadata(StreamsGroupTargetAssignmentMetadataKey {
                group_id: g
            }),
            value: (!tomb).then_some(RecordValue::TargetAssignmentMetadata(
                StreamsGroupTargetAssignmentMetadataValue {
                    assignment_epoch: e,
                    assignment_timestamp: t
                }
            )),
        }),
        (g, any::<bool>(), -1i32..3).prop_map(|(g, tomb, e)| CoordinatorRecord {
            key: RecordKey::Topology(StreamsGroupTopologyKey { group_id: g }),
            value: (!tomb).then(|| RecordValue::Topology(StreamsGroupTopologyValue {
                epoch: e,
                subtopologies: simple_topology("input").subtopologies
            })),
        }),
    ]
}
