//! Decoding allocates only what the message holds: one exact-size allocation per non-empty
//! string and per non-empty array, nothing else (counted with a global allocator).

mod codec_support;

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use streams_coordinator::protocol::heartbeat::{TaskIds, TopicPartition};
use streams_coordinator::protocol::{Message, StreamsGroupHeartbeatResponse};

struct Counting;

static ACTIVE: AtomicBool = AtomicBool::new(false);
static COUNT: AtomicUsize = AtomicUsize::new(0);
static BYTES: AtomicUsize = AtomicUsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if ACTIVE.load(Ordering::Relaxed) {
            COUNT.fetch_add(1, Ordering::Relaxed);
            BYTES.fetch_add(layout.size(), Ordering::Relaxed);
        }
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if ACTIVE.load(Ordering::Relaxed) {
            COUNT.fetch_add(1, Ordering::Relaxed);
            BYTES.fetch_add(new_size, Ordering::Relaxed);
        }
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// (allocations, bytes) a message needs: one per non-empty string or array.
#[derive(Default)]
struct Need(usize, usize);

impl Need {
    fn string(&mut self, s: &str) {
        if !s.is_empty() {
            self.0 += 1;
            self.1 += s.len();
        }
    }
    fn vec<T>(&mut self, v: &[T]) {
        if !v.is_empty() {
            self.0 += 1;
            self.1 += std::mem::size_of_val(v);
        }
    }
    fn tasks(&mut self, tasks: &Option<Vec<TaskIds>>) {
        if let Some(tasks) = tasks {
            self.vec(tasks);
            for t in tasks {
                self.string(&t.subtopology_id);
                self.vec(&t.partitions);
            }
        }
    }
    fn topic_partitions(&mut self, tps: &[TopicPartition]) {
        self.vec(tps);
        for tp in tps {
            self.string(&tp.topic);
            self.vec(&tp.partitions);
        }
    }
}

#[test]
fn decoding_1000_tasks_allocates_only_the_message() {
    // The bench's message, with an error message too (one more nullable string).
    let msg = StreamsGroupHeartbeatResponse {
        error_message: Some("message".into()),
        ..codec_support::heartbeat_response_1000_tasks()
    };
    let bytes = msg.to_bytes(1).expect("encode");

    let mut need = Need::default();
    need.string(&msg.member_id);
    need.string(msg.error_message.as_deref().unwrap_or_default());
    let status = msg.status.as_deref().unwrap_or_default();
    need.vec(status);
    for s in status {
        need.string(&s.status_detail);
    }
    need.tasks(&msg.active_tasks);
    need.tasks(&msg.standby_tasks);
    need.tasks(&msg.warmup_tasks);
    let endpoints = msg
        .partitions_by_user_endpoint
        .as_ref()
        .map(|a| a.to_vec())
        .unwrap_or_default();
    need.vec(&endpoints);
    for e in &endpoints {
        need.string(&e.user_endpoint.host);
        need.topic_partitions(&e.active_partitions);
        need.topic_partitions(&e.standby_partitions);
    }

    COUNT.store(0, Ordering::SeqCst);
    BYTES.store(0, Ordering::SeqCst);
    ACTIVE.store(true, Ordering::SeqCst);
    let decoded = StreamsGroupHeartbeatResponse::decode(&bytes, 1);
    ACTIVE.store(false, Ordering::SeqCst);
    let decoded = decoded.expect("decode");
    assert_eq!(decoded, msg);
    assert_eq!(
        (COUNT.load(Ordering::SeqCst), BYTES.load(Ordering::SeqCst)),
        (need.0, need.1),
        "allocations and bytes beyond what the message holds"
    );
}
