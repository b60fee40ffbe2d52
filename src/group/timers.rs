//! Timers of spec 06 §1 as a deadline queue the caller drives.
//!
//! Each timer is a slot named by Kafka's key (`session-timeout-<g>-<m>`,
//! `rebalance-timeout-<g>-<m>`, `initial-rebalance-timeout-<g>`), stored as
//! group id -> member id (hashed) -> slot so that re-arming an existing timer is a map
//! lookup and a store, without allocation. A binary heap orders the deadlines;
//! it is lazy: re-arming a slot later leaves its older heap entry in place, and
//! the entry is re-queued with the slot's current deadline when it surfaces.
//! The heap entries share their slot's group and member ids (`Arc<str>`): a
//! new entry copies no string, and a load that arms every member's session
//! timer allocates one id per member, not three (issue 14 item 1).
//! Timers live outside the groups, as in Kafka: replacing a group object (the
//! creating join, spec 02 §3) or a member (static replacement) leaves them be.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap, HashMap};
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::Arc;

/// Hashes a member id in one XXH3-64 call (the crate's one string hash; the
/// streaming `Xxh3Default` costs several times more on a short id). Keys are
/// whole strings, so `str`'s terminator byte is folded in cheaply. The seed is
/// fixed: a client choosing colliding ids slows its own group's timer lookups,
/// never changes what they find. Also the hash of the group ids a load holds
/// out of the group tree (src/group/load.rs).
#[derive(Default, Clone, Copy)]
pub(super) struct IdHasher(u64);

impl Hasher for IdHasher {
    fn write(&mut self, bytes: &[u8]) {
        self.0 = xxhash_rust::xxh3::xxh3_64_with_seed(bytes, self.0);
    }
    fn write_u8(&mut self, i: u8) {
        self.0 = self.0.rotate_left(8) ^ u64::from(i);
    }
    fn finish(&self) -> u64 {
        self.0
    }
}

/// Which timer of a slot.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(super) enum TimerKind {
    /// `initial-rebalance-timeout-<groupId>`.
    InitialDelay,
    /// `session-timeout-<groupId>-<memberId>`.
    Session,
    /// `rebalance-timeout-<groupId>-<memberId>`.
    Rebalance,
}

/// A due timer, as handed to the coordinator.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct Fired {
    /// Which timer.
    pub(super) kind: TimerKind,
    /// Group id.
    pub(super) group_id: String,
    /// Member id (empty for the initial delay).
    pub(super) member_id: String,
    /// The member epoch remembered when a rebalance timer was armed.
    pub(super) epoch: i32,
}

impl Fired {
    /// Kafka's timer key.
    pub(super) fn key(&self) -> String {
        match self.kind {
            TimerKind::InitialDelay => format!("initial-rebalance-timeout-{}", self.group_id),
            TimerKind::Session => format!("session-timeout-{}-{}", self.group_id, self.member_id),
            TimerKind::Rebalance => {
                format!("rebalance-timeout-{}-{}", self.group_id, self.member_id)
            }
        }
    }
}

/// One timer's state, 24 bytes (two `Option<i64>` would take 32 and the
/// epoch 8 more: a loaded shard holds one per member and timer kind).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct Slot {
    /// Current deadline, meaningful when `set & DEADLINE`.
    deadline: i64,
    /// Deadline of this slot's live heap entry, meaningful when `set & QUEUED`.
    queued: i64,
    /// Remembered member epoch (rebalance timer).
    epoch: i32,
    set: u8,
}

const DEADLINE: u8 = 1;
const QUEUED: u8 = 2;

impl Slot {
    /// Current deadline, `None` when not scheduled.
    fn deadline(&self) -> Option<i64> {
        (self.set & DEADLINE != 0).then_some(self.deadline)
    }

    /// Deadline of this slot's live heap entry, if it has one.
    fn queued(&self) -> Option<i64> {
        (self.set & QUEUED != 0).then_some(self.queued)
    }

    fn set_deadline(&mut self, d: Option<i64>) {
        match d {
            Some(d) => {
                self.deadline = d;
                self.set |= DEADLINE;
            }
            None => self.set &= !DEADLINE,
        }
    }

    fn set_queued(&mut self, q: Option<i64>) {
        match q {
            Some(q) => {
                self.queued = q;
                self.set |= QUEUED;
            }
            None => self.set &= !QUEUED,
        }
    }

    /// Neither scheduled nor queued.
    fn is_empty(&self) -> bool {
        self.set == 0
    }
}

#[derive(Clone, Debug, Default)]
struct MemberSlots {
    session: Slot,
    rebalance: Slot,
}

impl MemberSlots {
    fn slot(&mut self, kind: TimerKind) -> &mut Slot {
        if kind == TimerKind::Rebalance {
            &mut self.rebalance
        } else {
            &mut self.session
        }
    }
}

/// By member id; the key is shared with the member's heap entries.
type MemberMap = HashMap<Arc<str>, MemberSlots, BuildHasherDefault<IdHasher>>;

#[derive(Clone, Debug)]
struct GroupSlots {
    /// The group id (the map's key), shared with the heap entries.
    id: Arc<str>,
    initial: Slot,
    /// Hashed, not ordered: every heartbeat re-arms its member's session timer,
    /// and nothing that reaches an output iterates this map (the heap orders
    /// the timers).
    members: MemberMap,
}

impl GroupSlots {
    fn new(id: Arc<str>) -> Self {
        GroupSlots {
            id,
            initial: Slot::default(),
            members: MemberMap::default(),
        }
    }
}

/// New slots for group `g` (absent from `groups`).
fn insert_group<'a>(groups: &'a mut BTreeMap<Arc<str>, GroupSlots>, g: &str) -> &'a mut GroupSlots {
    let id: Arc<str> = Arc::from(g);
    groups
        .entry(id.clone())
        .or_insert_with(|| GroupSlots::new(id))
}

/// A heap entry, 48 bytes. Its ids are its slot's keys (shared); an entry
/// left behind by a slot that was removed and created again holds the older
/// copy of the id, equal to the new one.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
struct Entry {
    deadline: i64,
    /// The push's sequence number (unique: equal deadlines fire in the order
    /// they were queued) shifted left by two, the timer kind in the low bits.
    seq_kind: u64,
    group_id: Arc<str>,
    member_id: Arc<str>,
}

impl Entry {
    fn new(deadline: i64, seq: u64, kind: TimerKind, g: Arc<str>, m: Arc<str>) -> Self {
        let k = match kind {
            TimerKind::InitialDelay => 0,
            TimerKind::Session => 1,
            TimerKind::Rebalance => 2,
        };
        Entry {
            deadline,
            seq_kind: seq << 2 | k,
            group_id: g,
            member_id: m,
        }
    }

    fn kind(&self) -> TimerKind {
        match self.seq_kind & 3 {
            0 => TimerKind::InitialDelay,
            1 => TimerKind::Session,
            _ => TimerKind::Rebalance,
        }
    }

    /// The same entry under a new sequence number.
    fn renumber(&mut self, seq: u64) {
        self.seq_kind = seq << 2 | (self.seq_kind & 3);
    }
}

/// A slot just armed, and what the heap needs for it.
struct Armed {
    kind: TimerKind,
    deadline: i64,
    /// The slot's queued deadline before arming.
    previous: Option<i64>,
    /// A new heap entry is needed (the deadline moved earlier, or none was queued).
    needs_entry: bool,
}

impl Armed {
    /// Sets `slot`'s deadline (and epoch), noting what the heap needs.
    fn arm(slot: &mut Slot, kind: TimerKind, deadline: i64, epoch: i32) -> Armed {
        let previous = slot.queued();
        slot.set_deadline(Some(deadline));
        slot.epoch = epoch;
        let needs_entry = previous.is_none_or(|q| deadline < q);
        if needs_entry {
            slot.set_queued(Some(deadline));
        }
        Armed {
            kind,
            deadline,
            previous,
            needs_entry,
        }
    }
}

/// The heap side of a [`Timers`], borrowed apart from its slot maps.
struct Queue<'a> {
    heap: &'a mut BinaryHeap<Reverse<Entry>>,
    seq: &'a mut u64,
    dirty: &'a mut bool,
}

impl Queue<'_> {
    /// Marks the heap top stale if it was the armed slot's entry, and pushes
    /// the slot's new entry when one is needed, with the member id `key()`
    /// gives (the key of `m`'s slots; called only then).
    fn push(&mut self, armed: Armed, g: &Arc<str>, m: &str, key: impl FnOnce() -> Arc<str>) {
        if !*self.dirty {
            if let (Some(Reverse(top)), Some(q)) = (self.heap.peek(), armed.previous) {
                *self.dirty = top.deadline == q
                    && top.kind() == armed.kind
                    && top.group_id == *g
                    && *top.member_id == *m;
            }
        }
        if armed.needs_entry {
            *self.seq += 1;
            self.heap.push(Reverse(Entry::new(
                armed.deadline,
                *self.seq,
                armed.kind,
                g.clone(),
                key(),
            )));
        }
    }

    /// Arms the session timer (and, where given, the rebalance timer) of
    /// each member into `gs`, queueing the entries needed. `fresh`: `gs`
    /// holds none of these members (their slots are inserted without a
    /// lookup first).
    fn arm_members<'m>(
        mut self,
        gs: &mut GroupSlots,
        fresh: bool,
        members: impl Iterator<Item = (&'m str, i64, Option<(i64, i32)>)>,
    ) {
        let n = members.size_hint().0;
        gs.members.reserve(n);
        self.heap.reserve(n);
        for (m, session, rebalance) in members {
            let found = if fresh {
                None
            } else {
                gs.members.get_key_value(m)
            };
            let (id, ms) = match found {
                Some((id, _)) => {
                    let id = id.clone();
                    let ms = gs
                        .members
                        .get_mut(m)
                        .expect("the member's slots were just found");
                    (id, ms)
                }
                None => {
                    let id: Arc<str> = Arc::from(m);
                    let ms = gs.members.entry(id.clone()).or_default();
                    (id, ms)
                }
            };
            let session = Armed::arm(&mut ms.session, TimerKind::Session, session, 0);
            let rebalance =
                rebalance.map(|(d, e)| Armed::arm(&mut ms.rebalance, TimerKind::Rebalance, d, e));
            for armed in [Some(session), rebalance].into_iter().flatten() {
                self.push(armed, &gs.id, m, || id.clone());
            }
        }
    }
}

/// The timer queue of one shard.
#[derive(Clone, Debug, Default)]
pub(super) struct Timers {
    groups: BTreeMap<Arc<str>, GroupSlots>,
    heap: BinaryHeap<Reverse<Entry>>,
    seq: u64,
    /// False while the heap top is known to be live and exact, so that
    /// [`Timers::next_deadline`] need not look its slot up.
    dirty: bool,
    /// The member id of initial-delay entries (none: empty).
    no_member: Arc<str>,
}

impl Timers {
    fn slot_mut(&mut self, kind: TimerKind, g: &str, m: &str) -> Option<&mut Slot> {
        let gs = self.groups.get_mut(g)?;
        match kind {
            TimerKind::InitialDelay => Some(&mut gs.initial),
            TimerKind::Session | TimerKind::Rebalance => {
                gs.members.get_mut(m).map(|s| s.slot(kind))
            }
        }
    }

    fn slot(&self, kind: TimerKind, g: &str, m: &str) -> Option<Slot> {
        let gs = self.groups.get(g)?;
        match kind {
            TimerKind::InitialDelay => Some(gs.initial),
            TimerKind::Session => gs.members.get(m).map(|s| s.session),
            TimerKind::Rebalance => gs.members.get(m).map(|s| s.rebalance),
        }
    }

    fn queue(&mut self) -> Queue<'_> {
        Queue {
            heap: &mut self.heap,
            seq: &mut self.seq,
            dirty: &mut self.dirty,
        }
    }

    /// Schedules (or re-schedules) a timer. Re-arming an existing timer to a
    /// later deadline is two map lookups and no allocation.
    pub(super) fn schedule(
        &mut self,
        kind: TimerKind,
        g: &str,
        m: &str,
        deadline: i64,
        epoch: i32,
    ) {
        let gs = match self.groups.get_mut(g) {
            Some(gs) => gs,
            None => insert_group(&mut self.groups, g),
        };
        // The member id a new heap entry shares: the slots' key, taken at
        // once when they are created here, else looked up only if needed.
        let (armed, created) = match kind {
            TimerKind::InitialDelay => (Armed::arm(&mut gs.initial, kind, deadline, epoch), None),
            TimerKind::Session | TimerKind::Rebalance => match gs.members.get_mut(m) {
                Some(ms) => (Armed::arm(ms.slot(kind), kind, deadline, epoch), None),
                None => {
                    let id: Arc<str> = Arc::from(m);
                    let ms = gs.members.entry(id.clone()).or_default();
                    (Armed::arm(ms.slot(kind), kind, deadline, epoch), Some(id))
                }
            },
        };
        let (members, no_member) = (&gs.members, &self.no_member);
        let key = || match (kind, created) {
            (TimerKind::InitialDelay, _) => no_member.clone(),
            (_, Some(id)) => id,
            (_, None) => members
                .get_key_value(m)
                .map(|(id, _)| id.clone())
                .expect("the member's slots were just armed"),
        };
        let mut queue = Queue {
            heap: &mut self.heap,
            seq: &mut self.seq,
            dirty: &mut self.dirty,
        };
        queue.push(armed, &gs.id, m, key);
    }

    /// Schedules the session timer of members of group `g` and, where given,
    /// their rebalance timer (`(member id, session deadline, Some((rebalance
    /// deadline, epoch)))`), as [`schedule`](Self::schedule) would one by one
    /// (same order), with one lookup of the group's slots for all of them.
    pub(super) fn schedule_members<'m>(
        &mut self,
        g: &str,
        members: impl IntoIterator<Item = (&'m str, i64, Option<(i64, i32)>)>,
    ) {
        let mut members = members.into_iter().peekable();
        if members.peek().is_none() {
            return;
        }
        let gs = match self.groups.get_mut(g) {
            Some(gs) => gs,
            None => insert_group(&mut self.groups, g),
        };
        let fresh = gs.members.is_empty();
        let queue = Queue {
            heap: &mut self.heap,
            seq: &mut self.seq,
            dirty: &mut self.dirty,
        };
        queue.arm_members(gs, fresh, members);
    }

    /// [`schedule_members`](Self::schedule_members) for every group of a
    /// loaded shard, in the order given; the group ids are distinct (a
    /// coordinator's groups, ascending). Into an empty queue (a load) the
    /// groups' slots are built apart and the group map at once from them,
    /// instead of a tree walk and an insert per group, and the heap keeps no
    /// spare room (issue 14 item 1).
    pub(super) fn schedule_loaded<'m, M>(&mut self, groups: impl IntoIterator<Item = (&'m str, M)>)
    where
        M: IntoIterator<Item = (&'m str, i64, Option<(i64, i32)>)>,
    {
        if !self.groups.is_empty() {
            for (g, members) in groups {
                self.schedule_members(g, members);
            }
            return;
        }
        let mut built = Vec::new();
        for (g, members) in groups {
            let mut members = members.into_iter().peekable();
            if members.peek().is_none() {
                continue;
            }
            let mut gs = GroupSlots::new(Arc::from(g));
            self.queue().arm_members(&mut gs, true, members);
            built.push((gs.id.clone(), gs));
        }
        // Ascending input: the sort finds one run, the map is bulk-built.
        self.groups = built.into_iter().collect();
        self.heap.shrink_to_fit();
    }

    /// Schedules a timer only if it is not scheduled.
    pub(super) fn schedule_if_absent(&mut self, kind: TimerKind, g: &str, m: &str, deadline: i64) {
        if !self.is_scheduled(kind, g, m) {
            self.schedule(kind, g, m, deadline, 0);
        }
    }

    /// Cancels a timer (no-op when unknown).
    pub(super) fn cancel(&mut self, kind: TimerKind, g: &str, m: &str) {
        if let Some(slot) = self.slot_mut(kind, g, m) {
            slot.set_deadline(None);
            self.dirty = true;
        }
    }

    /// True when the timer is scheduled.
    pub(super) fn is_scheduled(&self, kind: TimerKind, g: &str, m: &str) -> bool {
        self.slot(kind, g, m)
            .is_some_and(|s| s.deadline().is_some())
    }

    /// The deadline of a timer, if scheduled.
    #[cfg(test)]
    pub(crate) fn deadline(&self, kind: TimerKind, g: &str, m: &str) -> Option<i64> {
        self.slot(kind, g, m)?.deadline()
    }

    /// Drops the heap's stale entries at the top and re-queues entries whose
    /// slot moved later, so that the top is the true earliest deadline.
    fn settle(&mut self) {
        if !self.dirty {
            return;
        }
        self.dirty = false;
        while let Some(Reverse(top)) = self.heap.peek() {
            let (d, kind) = (top.deadline, top.kind());
            let state = self.slot(kind, &top.group_id, &top.member_id);
            match state {
                Some(slot) if slot.queued() == Some(d) => match slot.deadline() {
                    Some(actual) if actual == d => return,
                    Some(actual) => {
                        // Moved later: re-queue under the current deadline.
                        if let Some(Reverse(mut e)) = self.heap.pop() {
                            self.seq += 1;
                            e.renumber(self.seq);
                            e.deadline = actual;
                            if let Some(s) = self.slot_mut(kind, &e.group_id, &e.member_id) {
                                s.set_queued(Some(actual));
                            }
                            self.heap.push(Reverse(e));
                        }
                    }
                    None => {
                        if let Some(Reverse(e)) = self.heap.pop() {
                            if let Some(s) = self.slot_mut(kind, &e.group_id, &e.member_id) {
                                s.set_queued(None);
                            }
                            self.gc(&e.group_id, &e.member_id);
                        }
                    }
                },
                _ => {
                    self.heap.pop();
                }
            }
        }
    }

    /// Removes empty slots.
    fn gc(&mut self, g: &str, m: &str) {
        if let Some(gs) = self.groups.get_mut(g) {
            if gs
                .members
                .get(m)
                .is_some_and(|ms| ms.session.is_empty() && ms.rebalance.is_empty())
            {
                gs.members.remove(m);
            }
            if gs.members.is_empty() && gs.initial.is_empty() {
                self.groups.remove(g);
            }
        }
    }

    /// The earliest deadline.
    pub(super) fn next_deadline(&mut self) -> Option<i64> {
        self.settle();
        self.heap.peek().map(|Reverse(e)| e.deadline)
    }

    /// The earliest deadline without tidying (may be earlier than the true one;
    /// waking at it is harmless).
    pub(super) fn peek_deadline(&self) -> Option<i64> {
        self.heap.peek().map(|Reverse(e)| e.deadline)
    }

    /// Removes and returns the earliest timer due at `now_ms`, if any.
    pub(super) fn pop_due(&mut self, now_ms: i64) -> Option<Fired> {
        self.dirty = true;
        self.settle();
        let due = self
            .heap
            .peek()
            .is_some_and(|Reverse(e)| e.deadline <= now_ms);
        if !due {
            return None;
        }
        let Reverse(e) = self.heap.pop()?;
        self.dirty = true;
        let kind = e.kind();
        let mut epoch = 0;
        if let Some(s) = self.slot_mut(kind, &e.group_id, &e.member_id) {
            s.set_queued(None);
            s.set_deadline(None);
            epoch = s.epoch;
        }
        self.gc(&e.group_id, &e.member_id);
        Some(Fired {
            kind,
            group_id: e.group_id.to_string(),
            member_id: e.member_id.to_string(),
            epoch,
        })
    }

    /// Cancels every timer of a group (group deletion).
    pub(super) fn cancel_group(&mut self, g: &str) {
        self.dirty = true;
        if let Some(gs) = self.groups.get_mut(g) {
            gs.initial.set_deadline(None);
            for ms in gs.members.values_mut() {
                ms.session.set_deadline(None);
                ms.rebalance.set_deadline(None);
            }
        }
    }

    /// Number of scheduled timers.
    pub(super) fn len(&self) -> usize {
        let on = |s: &Slot| usize::from(s.deadline().is_some());
        self.groups
            .values()
            .map(|gs| {
                on(&gs.initial)
                    + gs.members
                        .values()
                        .map(|m| on(&m.session) + on(&m.rebalance))
                        .sum::<usize>()
            })
            .sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fires_in_deadline_order_and_honours_rearm_and_cancel() {
        let mut t = Timers::default();
        t.schedule(TimerKind::Session, "g", "a", 100, 0);
        t.schedule(TimerKind::Session, "g", "b", 50, 0);
        t.schedule(TimerKind::Rebalance, "g", "a", 70, 3);
        assert_eq!(t.next_deadline(), Some(50));
        t.schedule(TimerKind::Session, "g", "b", 200, 0); // moved later
        assert_eq!(t.next_deadline(), Some(70));
        t.cancel(TimerKind::Rebalance, "g", "a");
        assert_eq!(t.next_deadline(), Some(100));
        assert!(t.pop_due(99).is_none());
        let f = t.pop_due(1000).unwrap();
        assert_eq!((f.kind, f.member_id.as_str()), (TimerKind::Session, "a"));
        assert_eq!(f.key(), "session-timeout-g-a");
        let f = t.pop_due(1000).unwrap();
        assert_eq!((f.kind, f.member_id.as_str()), (TimerKind::Session, "b"));
        assert!(t.pop_due(1000).is_none());
        assert_eq!(t.len(), 0);
        assert!(t.groups.is_empty());
    }

    #[test]
    fn a_member_s_slots_and_a_heap_entry_stay_small() {
        // A loaded shard holds one of each per member (issue 14 item 2).
        assert_eq!(std::mem::size_of::<Slot>(), 24);
        assert_eq!(std::mem::size_of::<(Arc<str>, MemberSlots)>(), 64);
        assert_eq!(std::mem::size_of::<Reverse<Entry>>(), 48);
    }

    /// Every timer in firing order, with the slots left.
    fn drain(mut t: Timers) -> (Vec<Fired>, usize) {
        let mut fired = Vec::new();
        while let Some(f) = t.pop_due(i64::MAX) {
            fired.push(f);
        }
        (fired, t.len())
    }

    #[test]
    fn a_load_arms_what_group_by_group_scheduling_arms() {
        type Members = Vec<(&'static str, i64, Option<(i64, i32)>)>;
        let groups: Vec<(&str, Members)> = vec![
            ("a", vec![("m1", 50, None), ("m2", 50, Some((20, 4)))]),
            ("b", vec![]),
            ("c", vec![("m1", 30, None), ("x", 30, Some((90, 2)))]),
        ];
        let loaded = |t: &mut Timers| {
            t.schedule_loaded(groups.iter().map(|(g, ms)| (*g, ms.iter().copied())));
        };
        let one_by_one = |t: &mut Timers| {
            for (g, ms) in &groups {
                t.schedule_members(g, ms.iter().copied());
            }
        };
        // Into an empty queue (built apart), and into one that holds slots.
        for before in [None, Some(("c", "m1", 10)), Some(("a", "z", 40))] {
            let (mut bulk, mut each) = (Timers::default(), Timers::default());
            if let Some((g, m, d)) = before {
                bulk.schedule(TimerKind::Session, g, m, d, 0);
                each.schedule(TimerKind::Session, g, m, d, 0);
            }
            loaded(&mut bulk);
            one_by_one(&mut each);
            assert_eq!(bulk.len(), each.len());
            assert!(!bulk.groups.contains_key("b"));
            assert_eq!(bulk.next_deadline(), each.next_deadline());
            assert_eq!(drain(bulk), drain(each), "{before:?}");
        }
    }

    #[test]
    fn earlier_rearm_and_if_absent() {
        let mut t = Timers::default();
        t.schedule(TimerKind::Session, "g", "a", 100, 0);
        t.schedule(TimerKind::Session, "g", "a", 40, 0);
        assert_eq!(t.next_deadline(), Some(40));
        t.schedule_if_absent(TimerKind::InitialDelay, "g", "", 10);
        t.schedule_if_absent(TimerKind::InitialDelay, "g", "", 5);
        assert_eq!(t.deadline(TimerKind::InitialDelay, "g", ""), Some(10));
        assert_eq!(
            t.pop_due(100).map(|f| f.kind),
            Some(TimerKind::InitialDelay)
        );
        assert_eq!(t.pop_due(100).map(|f| f.kind), Some(TimerKind::Session));
        assert!(t.pop_due(100).is_none());
    }
}
