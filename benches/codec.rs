//! Codec benchmarks: decode and encode of a StreamsGroupHeartbeat response carrying 1,000
//! tasks and of a StreamsGroupDescribe response with 1,000 members (spec/issue 2 item 8).
//!
//! Run: `cargo bench --bench codec -- --warm-up-time 1 --measurement-time 3`

#[path = "../tests/codec_support/mod.rs"]
mod codec_support;

use codec_support::heartbeat_response_1000_tasks;
use criterion::{black_box, criterion_group, criterion_main, Criterion, Throughput};
use streams_coordinator::protocol::describe::{Assignment, DescribedGroup, Member};
use streams_coordinator::protocol::heartbeat::{Endpoint, KeyValue, TaskIds, TaskOffset};
use streams_coordinator::protocol::{Message, StreamsGroupDescribeResponse};

/// One stable group of 1,000 members, each with 2 active and 1 standby task, current and
/// target assignment, a client tag, an endpoint and one task offset.
fn describe_response_1000_members() -> StreamsGroupDescribeResponse {
    let members = (0..1000)
        .map(|m| {
            let assignment = Assignment {
                active_tasks: vec![TaskIds {
                    subtopology_id: format!("{}", m % 10),
                    partitions: vec![m / 10, m / 10 + 100],
                }],
                standby_tasks: vec![TaskIds {
                    subtopology_id: format!("{}", (m + 1) % 10),
                    partitions: vec![m / 10],
                }],
                warmup_tasks: vec![],
            };
            Member {
                member_id: format!("member-{m:04}-4f1e-4f52-9b1e-3c2a6f0e9d11"),
                member_epoch: 7,
                instance_id: None,
                rack_id: Some(format!("rack-{}", m % 3)),
                client_id: format!("word-count-app-{m}-StreamThread-1-consumer"),
                client_host: format!("/10.0.{}.{}", m / 256, m % 256),
                topology_epoch: 1,
                process_id: format!("process-{m:04}"),
                user_endpoint: Some(Endpoint {
                    host: format!("host-{m}"),
                    port: 8080,
                }),
                client_tags: vec![KeyValue {
                    key: "zone".into(),
                    value: format!("zone-{}", m % 3),
                }],
                task_offsets: vec![TaskOffset {
                    subtopology_id: format!("{}", m % 10),
                    partition: m / 10,
                    offset: 1_000_000 + m as i64,
                }],
                task_end_offsets: vec![],
                assignment: assignment.clone(),
                target_assignment: assignment,
                is_classic: false,
            }
        })
        .collect();
    StreamsGroupDescribeResponse {
        throttle_time_ms: 0,
        groups: vec![DescribedGroup {
            group_id: "word-count-app".into(),
            group_state: "Stable".into(),
            group_epoch: 12,
            assignment_epoch: 12,
            members,
            assignor_name: Some("sticky".into()),
            ..Default::default()
        }],
    }
}

fn bench_message<M: Message>(c: &mut Criterion, name: &str, msg: &M, version: i16) {
    let bytes = msg.to_bytes(version).expect("encodes");
    let mut group = c.benchmark_group(name);
    group.throughput(Throughput::Bytes(bytes.len() as u64));
    group.bench_function("decode", |b| {
        b.iter(|| M::decode(black_box(&bytes), version).expect("decodes"))
    });
    let mut out = Vec::with_capacity(bytes.len());
    group.bench_function("encode", |b| {
        b.iter(|| {
            out.clear();
            black_box(msg).encode(version, &mut out).expect("encodes");
            out.len()
        })
    });
    group.finish();
}

/// Nanoseconds this thread has run on a CPU (Linux `/proc/thread-self/schedstat`), if known.
fn thread_cpu_ns() -> Option<u64> {
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

/// On a shared machine criterion's wall-clock figures include time the thread spent
/// waiting for a CPU; this prints the on-CPU time per operation alongside.
fn cpu_time_report<M: Message>(name: &str, msg: &M, version: i16, iters: u32) {
    let bytes = msg.to_bytes(version).expect("encodes");
    let Some(start) = thread_cpu_ns() else {
        return;
    };
    for _ in 0..iters {
        black_box(M::decode(black_box(&bytes), version).expect("decodes"));
    }
    let mid = thread_cpu_ns().unwrap_or(start);
    let mut out = Vec::with_capacity(bytes.len());
    for _ in 0..iters {
        out.clear();
        black_box(msg).encode(version, &mut out).expect("encodes");
    }
    let end = thread_cpu_ns().unwrap_or(mid);
    println!(
        "{name}: {} bytes; on-CPU time per op: decode {:.1} µs, encode {:.1} µs ({iters} iterations)",
        bytes.len(),
        (mid - start) as f64 / f64::from(iters) / 1000.0,
        (end - mid) as f64 / f64::from(iters) / 1000.0,
    );
}

fn codec(c: &mut Criterion) {
    cpu_time_report(
        "heartbeat_response_v1_1000_tasks",
        &heartbeat_response_1000_tasks(),
        1,
        20_000,
    );
    cpu_time_report(
        "describe_response_v1_1000_members",
        &describe_response_1000_members(),
        1,
        300,
    );
    bench_message(
        c,
        "heartbeat_response_v1_1000_tasks",
        &heartbeat_response_1000_tasks(),
        1,
    );
    bench_message(
        c,
        "describe_response_v1_1000_members",
        &describe_response_1000_members(),
        1,
    );
}

criterion_group!(benches, codec);
criterion_main!(benches);
