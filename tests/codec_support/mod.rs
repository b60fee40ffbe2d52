//! Codec fixtures shared by tests/codec_alloc.rs (`mod codec_support;`) and benches/codec.rs
//! (`#[path = "../tests/codec_support/mod.rs"]`), so the allocation test checks the very
//! message the bench measures.

use streams_coordinator::protocol::heartbeat::{
    Endpoint, EndpointToPartitions, Status, TaskIds, TopicPartition,
};
use streams_coordinator::protocol::StreamsGroupHeartbeatResponse;

/// 1,000 tasks: 50 subtopologies x 20 partitions, split 600 active / 300 standby / 100
/// warm-up, plus the IQ endpoint map of 10 members and one status.
pub fn heartbeat_response_1000_tasks() -> StreamsGroupHeartbeatResponse {
    let tasks = |range: std::ops::Range<i32>| -> Vec<TaskIds> {
        (0..50)
            .map(|s| TaskIds {
                subtopology_id: format!("{s}"),
                partitions: range.clone().collect(),
            })
            .collect()
    };
    StreamsGroupHeartbeatResponse {
        member_id: "b7d3a0a4-4f1e-4f52-9b1e-3c2a6f0e9d11".into(),
        member_epoch: 42,
        heartbeat_interval_ms: 5000,
        task_offset_interval_ms: 60000,
        acceptable_recovery_lag: 10_000,
        status: Some(vec![Status {
            status_code: 5,
            status_detail: "Assignment delayed due to the configured initial rebalance delay."
                .into(),
        }]),
        active_tasks: Some(tasks(0..12)),
        standby_tasks: Some(tasks(12..18)),
        warmup_tasks: Some(tasks(18..20)),
        endpoint_information_epoch: 3,
        partitions_by_user_endpoint: Some(
            (0..10)
                .map(|m| EndpointToPartitions {
                    user_endpoint: Endpoint {
                        host: format!("app-host-{m}.example.internal"),
                        port: 8080,
                    },
                    active_partitions: (0..5)
                        .map(|t| TopicPartition {
                            topic: format!("orders-{t}"),
                            partitions: (m * 2..m * 2 + 2).collect(),
                        })
                        .collect(),
                    standby_partitions: vec![],
                })
                .collect(),
        ),
        ..Default::default()
    }
}
