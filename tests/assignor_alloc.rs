//! Allocations of one `sticky` assignment: a fixed handful, not one per task
//! or per member (issue: "allocations per assign proportional to the output").
//!
//! Counted with a global allocator wrapper on the calling thread only.

mod assignor_util;

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

use assignor_util::*;
use streams_coordinator::assignor::*;

const WARM_UP: usize = 40;

struct Counting;

thread_local! {
    static ALLOCS: Cell<usize> = const { Cell::new(0) };
}

// SAFETY: forwards to the system allocator; only counts on the side.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let _ = ALLOCS.try_with(|c| c.set(c.get() + 1));
        System.alloc(layout)
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        System.dealloc(ptr, layout)
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let _ = ALLOCS.try_with(|c| c.set(c.get() + 1));
        System.realloc(ptr, layout, new_size)
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

fn allocations(f: impl FnOnce()) -> usize {
    let before = ALLOCS.with(Cell::get);
    f();
    ALLOCS.with(Cell::get) - before
}

/// `members` members in processes of `per_process`, `subs` subtopologies of
/// `parts` tasks (even ones stateful); members hold the tasks of a previous
/// assignment and report offsets for them when `offsets` is set.
fn fixture(
    members: usize,
    per_process: usize,
    subs: usize,
    parts: u32,
) -> (TaskSpace, Vec<Member>) {
    let space = TaskSpace::new((0..subs).map(|i| (format!("sub-{i:03}"), parts, i % 2 == 0)))
        .expect("space");
    let ms: Vec<Member> = (0..members)
        .map(|i| {
            Member::new(
                &format!("member-{i:05}"),
                &format!("process-{:05}", i / per_process),
            )
        })
        .collect();
    (space, ms)
}

/// Allocations of a call after `WARM_UP` identical ones (which let the
/// thread's pool of working vectors reach the sizes this group needs).
fn steady_allocations(space: &TaskSpace, members: &[Member], configs: &AssignmentConfigs) -> usize {
    let g = group(members, configs);
    let assignor = StickyAssignor::new();
    for _ in 0..WARM_UP {
        drop(assignor.assign(&g, space).expect("warm-up"));
    }
    let mut n = 0;
    let count = allocations(|| {
        let a = assignor.assign(&g, space).expect("assign");
        n = a.len();
    });
    assert_eq!(n, members.len());
    count
}

#[test]
fn a_fresh_assignment_allocates_only_its_output() {
    let c = standbys(0);
    for (m, subs, parts) in [(100, 10, 10), (1000, 100, 100)] {
        let (space, members) = fixture(m, 1, subs, parts);
        let n = steady_allocations(&space, &members, &c);
        // The output: member ids, bounds, task list.
        assert!(n <= 3, "{m} members, {subs}x{parts} tasks: {n} allocations");
    }
}

#[test]
fn allocations_do_not_grow_with_tasks_or_members() {
    let c = standbys(1);
    let mut counts = Vec::new();
    // More than 32 processes each, so every size takes the same process
    // queue (a few processes are scanned without one).
    for (m, pp, subs, parts) in [(120, 3, 6, 10), (600, 3, 60, 10), (600, 3, 60, 100)] {
        let (space, members) = fixture(m, pp, subs, parts);
        // Feed a first assignment back, with offsets for every stateful task
        // a member holds, and add one member: a sticky rebalance with
        // standby candidates.
        let first = {
            let g = group(&members, &c);
            let a = StickyAssignor::new().assign(&g, &space).expect("assign");
            feed_back(&members, &a)
        };
        let mut again: Vec<Member> = first
            .into_iter()
            .enumerate()
            .map(|(i, m)| m.offset("sub-000", (i % parts as usize) as i32, 1_000 + i as i64))
            .collect();
        again.push(Member::new("member-99999", "process-99999"));
        counts.push(steady_allocations(&space, &again, &c));
    }
    // Output (3), the candidate entries and their sorted copy, and the
    // process heap of mixed-size processes: a fixed number, whatever the
    // size. (The member heap keys come from the thread's pool.)
    assert!(counts.iter().all(|&n| n <= 7), "{counts:?}");
    assert!(counts.windows(2).all(|w| w[0] == w[1]), "{counts:?}");
}
