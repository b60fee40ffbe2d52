//! The `sticky` assignor (trunk's `StickyTaskAssignor`, spec 05 §4) and its
//! client-tag-aware variant `sticky-rack-aware`.
//!
//! Same placement rules as trunk, with the deterministic tie-breaks of spec 05
//! §4.6 (members by ascending id, processes by ascending id, process queues
//! ordered by (load, FIFO sequence), members inside a process by (task count,
//! member id)). Working state is dense: members, processes and tasks are
//! indices, task sets are flat arrays, candidate lists are one CSR table, and
//! the output is built by a counting pass. No string is hashed more than once
//! per (member, subtopology) group and none is cloned.

use super::assignment::{member_order_into, GroupAssignment};
use super::index::{same, str_less, StrIndex};
use super::scratch::Scratch;
use super::spec::{is_no_offsets, is_nothing, MAX_MEMBERS, MAX_STANDBY_REPLICAS};
use super::table;
use super::{AssignorError, GroupSpec, TaskAssignor, TaskSpace};

const NONE: u32 = u32::MAX;

/// `heap_valid[p]`: the member order of process `p` must be rebuilt (a
/// direct placement changed a count).
const MEMBERS_STALE: u32 = 0;
/// `heap_valid[p]`: its members are chosen through the heap in `heap_keys`.
const MEMBERS_BY_HEAP: u32 = 1;
/// `heap_valid[p]`: its members are chosen by a cursor (counts differ by at
/// most one).
const MEMBERS_BY_CURSOR: u32 = 2;

/// Trunk's sticky task assignor.
///
/// * [`StickyAssignor::new`] (`"sticky"`): trunk's behaviour exactly; client
///   tags, racks and instance ids are ignored.
/// * [`StickyAssignor::rack_aware`] (`"sticky-rack-aware"`): the same, except
///   that standby replicas are spread over distinct values of every tag in
///   `rack.aware.assignment.tags` before a value is reused (Kafka Streams'
///   classic `rack.aware.assignment.tags` semantics), falling back to the
///   plain rule for a replica when no process satisfies the tags.
///
/// Stateless between calls; one instance serves every group.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct StickyAssignor {
    rack_aware: bool,
}

impl StickyAssignor {
    /// Name of the trunk-compatible assignor.
    pub const NAME: &'static str = "sticky";
    /// Name of the client-tag-aware variant.
    pub const RACK_AWARE_NAME: &'static str = "sticky-rack-aware";

    /// The trunk-compatible `sticky` assignor.
    pub const fn new() -> Self {
        StickyAssignor { rack_aware: false }
    }

    /// The `sticky-rack-aware` assignor.
    pub const fn rack_aware() -> Self {
        StickyAssignor { rack_aware: true }
    }
}

impl TaskAssignor for StickyAssignor {
    fn name(&self) -> &str {
        if self.rack_aware {
            Self::RACK_AWARE_NAME
        } else {
            Self::NAME
        }
    }

    fn assign<'a>(
        &self,
        group: &GroupSpec<'a>,
        space: &'a TaskSpace,
    ) -> Result<GroupAssignment<'a>, AssignorError> {
        let num_standby = group.configs.num_standby_replicas;
        if num_standby > MAX_STANDBY_REPLICAS {
            return Err(AssignorError::InvalidConfig {
                name: "num.standby.replicas".to_owned(),
                value: num_standby.to_string(),
                reason: "above the crate's limit of 64",
            });
        }
        let mut st = State::new(group, space, self.rack_aware, Scratch::take())?;
        st.assign_active()?;
        if st.width > 0 {
            st.assign_standby();
        }
        Ok(st.into_assignment(group))
    }
}

/// ceil(a / b), with ceil(x / 0) := 0.
#[inline]
fn ceil_div(a: u32, b: u32) -> u32 {
    a.checked_div(b)
        .map_or(0, |q| q + u32::from(!a.is_multiple_of(b)))
}

/// A member reached the quota `q = ceil(total / cap)` (spec 05 §4.1): it
/// leaves the capacity with its `q` tasks, and the quota becomes
/// `ceil((total - q) / (cap - 1))`.
///
/// That value is `q` or `q - 1` (from `(q - 1) * cap < total <= q * cap`), so
/// one multiplication decides it; this runs on most placements, where a
/// division would sit on the critical path.
#[inline]
fn next_quota(total: &mut u32, cap: &mut u32, quota: &mut u32) {
    let q = *quota;
    *cap = cap.saturating_sub(1);
    *total = total.saturating_sub(q);
    let next = if *cap == 0 {
        0
    } else if u64::from(*total) > u64::from(q.saturating_sub(1)) * u64::from(*cap) {
        q
    } else {
        q - 1
    };
    debug_assert_eq!(next, ceil_div(*total, *cap));
    *quota = next;
}

struct State<'a> {
    space: &'a TaskSpace,
    order: Vec<u32>,
    /// `order` is `0..m`: the spec's members are in ascending id order.
    in_order: bool,
    num_standby: u32,
    // members (index = position in ascending member id order)
    member_proc: Vec<u32>,
    member_count: Vec<u32>,
    // processes (index = position in ascending process id order)
    proc_cap: Vec<u32>,
    proc_count: Vec<u32>,
    proc_mem_start: Vec<u32>,
    proc_mem: Vec<u32>,
    heap_keys: Vec<u64>,
    /// Per process: how its least-loaded member is chosen (`MEMBERS_*`).
    heap_valid: Vec<u32>,
    // tasks
    owner: Vec<u32>,
    width: usize,
    sb: Vec<u32>,
    sb_count: Vec<u32>,
    prev_active: Vec<u32>,
    any_prev_active: bool,
    cand_start: Vec<u32>,
    cand: Vec<u32>,
    // quotas (spec 05 §4.1)
    total_active: u32,
    members_active_cap: u32,
    active_quota: u32,
    total_tasks: u32,
    members_task_cap: u32,
    total_quota: u32,
    tags: Option<Tags>,
    unplaced_standbys: u64,
    /// Where the vectors above came from and go back to.
    scratch: Scratch,
}

/// Client tags per process, interned per tag key.
struct Tags {
    keys: usize,
    /// `value[p * keys + j]`: value id of tag `j` of process `p`, `NONE` if absent.
    value: Vec<u32>,
    /// Number of distinct values of each tag over all processes.
    distinct: Vec<u32>,
}

/// A standby candidate: `member` carries the class in its top bit (set =
/// reported offsets only, clear = a current standby).
#[derive(Clone, Copy)]
struct Cand {
    task: u32,
    member: u32,
    offset: i64,
}

const REPORTED: u32 = 1 << 31;

/// Gathers the members' current active and standby tasks and reported
/// offsets while their sources are visited (member by member, in order).
struct Collect<'s, 'c> {
    space: &'s TaskSpace,
    scratch: &'c mut Scratch,
    t_total: usize,
    /// Member position + 1 of the member being visited.
    stamp: u32,
    /// The subtopology found last: neighbouring members often hold tasks of
    /// the same one (a sticky assignment hands tasks out round-robin in
    /// subtopology order), so it is compared before the id is hashed.
    hint: usize,
    prev_active: Vec<u32>,
    any_prev_active: bool,
    cands: Vec<Cand>,
    /// `seen[t] == stamp`: the current member already has a candidate entry
    /// for `t`, at `pos[t]`. Allocated on the first standby or offset.
    seen: Vec<u32>,
    pos: Vec<u32>,
}

impl Collect<'_, '_> {
    /// `(first task index, task count)` of subtopology `sub`, if known.
    #[inline(always)]
    fn range(&mut self, sub: &str) -> Option<(u32, u32)> {
        let space = self.space;
        let h = self.hint;
        let s = if h < space.len() && same(space.sub_id(h), sub) {
            h
        } else {
            space.index_of(sub)?
        };
        self.hint = s;
        Some((space.sub_start(s), space.sub_num_tasks(s)))
    }

    #[inline]
    fn active(&mut self, sub: &str, parts: &[i32]) {
        let Some((base, n)) = self.range(sub) else {
            return;
        };
        let member = self.stamp - 1;
        for &p in parts {
            if (p as u32) < n {
                self.prev_active[(base + p as u32) as usize] = member;
                self.any_prev_active = true;
            }
        }
    }

    /// The candidate entry of the current member for task `t`, created with
    /// `member_bits` when absent.
    #[inline(always)]
    fn entry(&mut self, t: usize, member_bits: u32) -> &mut Cand {
        if self.seen.is_empty() {
            self.first_entry();
        }
        if self.seen[t] != self.stamp {
            self.seen[t] = self.stamp;
            self.pos[t] = self.cands.len() as u32;
            self.cands.push(Cand {
                task: t as u32,
                member: member_bits,
                offset: 0,
            });
        }
        let at = self.pos[t] as usize;
        &mut self.cands[at]
    }

    /// Allocates the candidate bookkeeping, on the first standby or offset.
    #[cold]
    #[inline(never)]
    fn first_entry(&mut self) {
        self.seen = self.scratch.filled(self.t_total, 0);
        self.pos = self.scratch.filled(self.t_total, 0);
        // About one candidate per task when members report standbys or
        // offsets: sized once instead of doubling up to it.
        self.cands.reserve(self.t_total);
    }

    #[inline]
    fn standby(&mut self, sub: &str, parts: &[i32]) {
        let Some((base, n)) = self.range(sub) else {
            return;
        };
        let member = self.stamp - 1;
        for &p in parts {
            if (p as u32) < n {
                self.entry((base + p as u32) as usize, member);
            }
        }
    }

    #[inline]
    fn offsets(&mut self, sub: &str, pairs: &[(i32, i64)]) {
        let Some((base, n)) = self.range(sub) else {
            return;
        };
        let member = self.stamp - 1;
        for &(p, off) in pairs {
            if (p as u32) < n {
                self.entry((base + p as u32) as usize, member | REPORTED)
                    .offset = off;
            }
        }
    }
}

/// Numbers the processes of `group`'s members in ascending process-id order:
/// `member_proc[k]` is the process of member `order[k]`. Returns the number of
/// processes.
fn number_processes(group: &GroupSpec<'_>, order: &[u32], member_proc: &mut Vec<u32>) -> usize {
    let m = order.len();
    member_proc.clear();
    // Fast path: process ids already ascending along the member order
    // (runs of equal ids allowed) need no hashing and no sort.
    let mut last: Option<&str> = None;
    let mut np = 0usize;
    for &i in order {
        let pid = group.members[i as usize].process_id;
        match last {
            Some(l) if same(l, pid) => {}
            Some(l) if !str_less(l, pid) => break,
            _ => {
                last = Some(pid);
                np += 1;
            }
        }
        member_proc.push(np as u32 - 1);
    }
    if member_proc.len() < m {
        let mut pids: Vec<&str> = Vec::new();
        member_proc.clear();
        // Sized for a few processes and grown on demand: groups have
        // far fewer processes than members when it matters.
        let mut pindex = StrIndex::with_capacity(m.min(32));
        let mut last: (&str, u32) = ("", NONE);
        for &i in order {
            let pid = group.members[i as usize].process_id;
            // Neighbouring members (in id order) often share a process.
            if last.1 != NONE && same(last.0, pid) {
                member_proc.push(last.1);
                continue;
            }
            let (p, new) = pindex.get_or_insert(pid, |k| pids[k as usize]);
            if new {
                pids.push(pid);
            }
            last = (pid, p);
            member_proc.push(p);
        }
        if !pids.windows(2).all(|w| str_less(w[0], w[1])) {
            let np = pids.len();
            let mut perm: Vec<u32> = (0..np as u32).collect();
            perm.sort_unstable_by(|&a, &b| pids[a as usize].cmp(pids[b as usize]));
            let mut rank = vec![0u32; np];
            for (r, &p) in perm.iter().enumerate() {
                rank[p as usize] = r as u32;
            }
            for p in member_proc.iter_mut() {
                *p = rank[*p as usize];
            }
        }
        np = pids.len();
    }
    np
}

impl<'a> State<'a> {
    fn new(
        group: &GroupSpec<'a>,
        space: &'a TaskSpace,
        rack_aware: bool,
        mut scratch: Scratch,
    ) -> Result<Self, AssignorError> {
        let mut order = scratch.empty(group.members.len());
        let mut member_proc = scratch.empty(group.members.len());
        // A spec over a kept member table: order and process numbering from
        // the table (`members` is then in ascending id order).
        let from_table = match group.table() {
            Some(t) if group.members.len() <= MAX_MEMBERS => {
                table::numbering_into(t, &group.members, &mut member_proc)
            }
            _ => None,
        };
        if from_table.is_some() {
            order.extend(0..group.members.len() as u32);
        }
        let np = match from_table {
            Some(np) => np,
            None => {
                member_order_into(group, &mut order)?;
                number_processes(group, &order, &mut member_proc)
            }
        };
        let m = order.len();
        let t_total = space.total_tasks();
        let mut proc_cap = scratch.filled(np, 0);
        for &p in &member_proc {
            proc_cap[p as usize] += 1;
        }
        // CSR of members per process: fill with start[p + 1] as the cursor,
        // which ends at the next process's start.
        let mut proc_mem_start = scratch.filled(np + 1, 0);
        for p in 0..np {
            proc_mem_start[p + 1] = proc_mem_start[p] + proc_cap[p];
        }
        let mut proc_mem = scratch.filled(m, 0);
        {
            let mut cursor = scratch.empty(np);
            cursor.extend_from_slice(&proc_mem_start[..np]);
            for (i, &p) in member_proc.iter().enumerate() {
                proc_mem[cursor[p as usize] as usize] = i as u32;
                cursor[p as usize] += 1;
            }
            scratch.give(cursor);
        }
        let multi_member = proc_cap.iter().any(|&c| c > 1);

        // ---- current tasks and standby candidates ----
        // One context behind one pointer: each visit's closure captures only
        // `&mut col`, so the three calls per member stay cheap when a source
        // is empty (the common case).
        let prev_active = scratch.filled(t_total, NONE);
        let mut col = Collect {
            space,
            scratch: &mut scratch,
            t_total,
            stamp: 0,
            hint: 0,
            prev_active,
            any_prev_active: false,
            cands: Vec::new(),
            seen: Vec::new(),
            pos: Vec::new(),
        };
        for (i, &mi) in order.iter().enumerate() {
            let spec = &group.members[mi as usize];
            col.stamp = i as u32 + 1;
            if !is_nothing(spec.active_tasks) {
                spec.active_tasks
                    .visit(&mut |sub, parts| col.active(sub, parts));
            }
            if !is_nothing(spec.standby_tasks) {
                spec.standby_tasks
                    .visit(&mut |sub, parts| col.standby(sub, parts));
            }
            if !is_no_offsets(spec.task_offsets) {
                spec.task_offsets
                    .visit(&mut |sub, pairs| col.offsets(sub, pairs));
            }
        }
        let Collect {
            prev_active,
            any_prev_active,
            cands,
            seen,
            pos,
            ..
        } = col;
        scratch.give(seen);
        scratch.give(pos);
        // CSR by task, stable (member order), then rank each list.
        let (cand_start, cand) = if cands.is_empty() {
            (Vec::new(), Vec::new())
        } else {
            let mut start = scratch.filled(t_total + 1, 0);
            for c in &cands {
                start[c.task as usize + 1] += 1;
            }
            for t in 0..t_total {
                start[t + 1] += start[t];
            }
            let mut fill = scratch.empty(t_total + 1);
            fill.extend_from_slice(&start);
            let mut sorted = vec![
                Cand {
                    task: 0,
                    member: 0,
                    offset: 0
                };
                cands.len()
            ];
            for c in &cands {
                let f = &mut fill[c.task as usize];
                sorted[*f as usize] = *c;
                *f += 1;
            }
            // Previous standbys first, then higher offset sum; stable.
            let rank = |a: &Cand, b: &Cand| {
                (a.member & REPORTED)
                    .cmp(&(b.member & REPORTED))
                    .then(b.offset.cmp(&a.offset))
            };
            for t in 0..t_total {
                let seg = &mut sorted[start[t] as usize..start[t + 1] as usize];
                match seg {
                    [] | [_] => {}
                    // Two candidates (a task's owner and one dormant copy,
                    // common): what the stable sort does, without its call.
                    [a, b] => {
                        if rank(b, a).is_lt() {
                            std::mem::swap(a, b);
                        }
                    }
                    _ => seg.sort_by(rank),
                }
            }
            scratch.give(fill);
            let mut cand = scratch.empty(sorted.len());
            cand.extend(sorted.iter().map(|c| c.member & !REPORTED));
            (start, cand)
        };

        // ---- quotas ----
        let num_standby = group.configs.num_standby_replicas;
        // Bounded by MAX_TASKS * (1 + MAX_STANDBY_REPLICAS) < 2^32.
        let total_active = t_total as u32;
        let total_tasks = total_active + space.stateful_tasks() as u32 * num_standby;
        let width = (num_standby as usize).min(np.saturating_sub(1));

        let tags =
            if rack_aware && width > 0 && !group.configs.rack_aware_assignment_tags.is_empty() {
                Some(Tags::new(group, &order, &proc_mem_start, &proc_mem))
            } else {
                None
            };

        Ok(State {
            space,
            order,
            in_order: from_table.is_some(),
            num_standby,
            member_count: scratch.filled(m, 0),
            member_proc,
            proc_count: scratch.filled(np, 0),
            proc_cap,
            proc_mem_start,
            proc_mem,
            heap_keys: if multi_member {
                scratch.filled_wide(m, 0)
            } else {
                Vec::new()
            },
            heap_valid: if multi_member {
                scratch.filled(np, MEMBERS_STALE)
            } else {
                Vec::new()
            },
            owner: scratch.filled(t_total, NONE),
            width,
            sb: scratch.filled(t_total * width, NONE),
            sb_count: scratch.filled(if width > 0 { t_total } else { 0 }, 0),
            prev_active,
            any_prev_active,
            cand_start,
            cand,
            total_active,
            members_active_cap: m as u32,
            active_quota: ceil_div(total_active, m as u32),
            total_tasks,
            members_task_cap: m as u32,
            total_quota: ceil_div(total_tasks, m as u32),
            tags,
            unplaced_standbys: 0,
            scratch,
        })
    }

    // ---------------------------------------------------------------- helpers

    #[inline]
    fn on_active_assigned(&mut self, c: u32) {
        if c == self.active_quota {
            next_quota(
                &mut self.total_active,
                &mut self.members_active_cap,
                &mut self.active_quota,
            );
        }
    }

    #[inline]
    fn on_any_assigned(&mut self, c: u32) {
        if c == self.total_quota {
            next_quota(
                &mut self.total_tasks,
                &mut self.members_task_cap,
                &mut self.total_quota,
            );
        }
    }

    #[inline(always)]
    fn candidates(&self, t: u32) -> &[u32] {
        if self.cand_start.is_empty() {
            return &[];
        }
        let t = t as usize;
        &self.cand[self.cand_start[t] as usize..self.cand_start[t + 1] as usize]
    }

    /// Whether process `p` already holds task `t` (active or standby).
    #[inline(always)]
    fn holds(&self, t: u32, p: u32) -> bool {
        let o = self.owner[t as usize];
        if o != NONE && self.member_proc[o as usize] == p {
            return true;
        }
        if self.width == 0 {
            return false;
        }
        let base = t as usize * self.width;
        let n = self.sb_count[t as usize] as usize;
        self.sb[base..base + n]
            .iter()
            .any(|&m| self.member_proc[m as usize] == p)
    }

    /// Whether a copy of `t` on process `q` respects the rack-aware tags.
    fn tags_ok(&self, t: u32, q: u32) -> bool {
        let Some(tags) = &self.tags else {
            return true;
        };
        let o = self.owner[t as usize];
        let base = t as usize * self.width;
        let n = self.sb_count[t as usize] as usize;
        let holders = std::iter::once(o)
            .filter(|&m| m != NONE)
            .chain(self.sb[base..base + n].iter().copied());
        let used = n as u32 + u32::from(o != NONE);
        for j in 0..tags.keys {
            if tags.distinct[j] <= used {
                continue;
            }
            let vq = tags.value[q as usize * tags.keys + j];
            if vq == NONE {
                continue;
            }
            for h in holders.clone() {
                let hp = self.member_proc[h as usize] as usize;
                if tags.value[hp * tags.keys + j] == vq {
                    return false;
                }
            }
        }
        true
    }

    /// Load of `p` is strictly below `count / cap`.
    #[inline]
    fn load_below(&self, p: u32, count: u32, cap: u32) -> bool {
        u64::from(self.proc_count[p as usize]) * u64::from(cap)
            < u64::from(count) * u64::from(self.proc_cap[p as usize])
    }

    /// Spec 05 §4.2 `pickPrevMember`: the first eligible candidate, replaced
    /// only by one strictly less loaded at both the process and member level.
    ///
    /// No candidate (most tasks of a fresh group), one and two candidates
    /// are decided inline; longer lists go to [`State::pick_prev_among`].
    #[inline(always)]
    fn pick_prev(&self, t: u32, standby: bool, with_tags: bool) -> Option<u32> {
        let cands = self.candidates(t);
        match cands {
            [] => None,
            &[m] => {
                let eligible = !standby || {
                    let p = self.member_proc[m as usize];
                    !self.holds(t, p) && (!with_tags || self.tags_ok(t, p))
                };
                eligible.then_some(m)
            }
            // Two candidates (a task's owner and one dormant copy, common):
            // the loop of `pick_prev_among` unrolled, without its call.
            &[a, b] => {
                let (pa, pb) = (self.member_proc[a as usize], self.member_proc[b as usize]);
                let (ok_a, ok_b) = if standby {
                    (
                        !self.holds(t, pa) && (!with_tags || self.tags_ok(t, pa)),
                        !self.holds(t, pb) && (!with_tags || self.tags_ok(t, pb)),
                    )
                } else {
                    (true, true)
                };
                match (ok_a, ok_b) {
                    (true, true) => {
                        let b_less = self.load_below(
                            pb,
                            self.proc_count[pa as usize],
                            self.proc_cap[pa as usize],
                        ) && self.member_count[b as usize]
                            < self.member_count[a as usize];
                        Some(if b_less { b } else { a })
                    }
                    (true, false) => Some(a),
                    (false, true) => Some(b),
                    (false, false) => None,
                }
            }
            _ => self.pick_prev_among(cands, t, standby, with_tags),
        }
    }

    /// [`State::pick_prev`] over two or more candidates.
    #[inline(never)]
    fn pick_prev_among(
        &self,
        cands: &[u32],
        t: u32,
        standby: bool,
        with_tags: bool,
    ) -> Option<u32> {
        let mut best = NONE;
        let (mut bc, mut bcap, mut bm) = (0u32, 1u32, 0u32);
        for &m in cands {
            let p = self.member_proc[m as usize];
            if standby && (self.holds(t, p) || (with_tags && !self.tags_ok(t, p))) {
                continue;
            }
            let mc = self.member_count[m as usize];
            if best == NONE || (self.load_below(p, bc, bcap) && mc < bm) {
                best = m;
                bc = self.proc_count[p as usize];
                bcap = self.proc_cap[p as usize];
                bm = mc;
            }
        }
        (best != NONE).then_some(best)
    }

    /// Gives task `t` to member `m`; `direct` placements invalidate the
    /// process's member heap (placements through the heap keep it).
    /// Always inlined: every call site passes constant flags.
    #[inline(always)]
    fn place(&mut self, t: u32, m: u32, active: bool, direct: bool) {
        let p = self.member_proc[m as usize] as usize;
        if active {
            self.owner[t as usize] = m;
        } else {
            let n = self.sb_count[t as usize] as usize;
            debug_assert!(n < self.width);
            self.sb[t as usize * self.width + n] = m;
            self.sb_count[t as usize] += 1;
        }
        self.member_count[m as usize] += 1;
        self.proc_count[p] += 1;
        if direct && !self.heap_valid.is_empty() {
            self.heap_valid[p] = MEMBERS_STALE;
        }
        let c = self.member_count[m as usize];
        // The active quota only steers the sticky active phases (A1, A2),
        // which end before the least-loaded one; the total quota only the
        // standby phase.
        if active && direct {
            self.on_active_assigned(c);
        }
        if self.width > 0 {
            self.on_any_assigned(c);
        }
    }

    /// Gives `t` to the member of `p` with the fewest tasks (then lowest id).
    #[inline(always)]
    fn place_on_least_loaded_member(&mut self, t: u32, p: u32, active: bool) {
        let (a, b) = (
            self.proc_mem_start[p as usize] as usize,
            self.proc_mem_start[p as usize + 1] as usize,
        );
        if b - a == 1 {
            let m = self.proc_mem[a];
            self.place(t, m, active, false);
            return;
        }
        let mut mode = self.heap_valid[p as usize];
        if mode == MEMBERS_STALE {
            mode = self.order_members(p as usize, a, b);
        }
        if mode == MEMBERS_BY_CURSOR {
            // Every count is `level` or `level + 1`, and every member before
            // the cursor is at `level + 1`: the next member at `level` from
            // the cursor on is the least loaded, lowest id; none left means
            // all are at `level + 1`, which becomes the level.
            let mut level = self.heap_keys[a] as u32;
            let mut j = self.heap_keys[a + 1] as usize;
            let m = loop {
                if j == b {
                    level += 1;
                    j = a;
                }
                let m = self.proc_mem[j];
                if self.member_count[m as usize] == level {
                    break m;
                }
                j += 1;
            };
            self.heap_keys[a] = u64::from(level);
            self.heap_keys[a + 1] = (j + 1) as u64;
            self.place(t, m, active, false);
            return;
        }
        let m = self.heap_keys[a] as u32;
        self.place(t, m, active, false);
        self.heap_keys[a] += 1 << 32;
        sift_down(&mut self.heap_keys[a..b], 0);
    }

    /// Prepares the choice of the least-loaded member of process `p`
    /// (members `proc_mem[a..b]`, ascending): when the counts differ by at
    /// most one, a cursor walking the members in id order (kept in
    /// `heap_keys[a..a + 2]`: level, position) gives them in the order a heap
    /// would; otherwise a heap keyed `(count << 32) | member`.
    #[cold]
    #[inline(never)]
    fn order_members(&mut self, p: usize, a: usize, b: usize) -> u32 {
        let (mut lo, mut hi) = (u32::MAX, 0u32);
        for &m in &self.proc_mem[a..b] {
            let c = self.member_count[m as usize];
            lo = lo.min(c);
            hi = hi.max(c);
        }
        let mode = if hi - lo <= 1 {
            self.heap_keys[a] = u64::from(lo);
            self.heap_keys[a + 1] = a as u64;
            MEMBERS_BY_CURSOR
        } else {
            for j in a..b {
                let m = self.proc_mem[j];
                self.heap_keys[j] = (u64::from(self.member_count[m as usize]) << 32) | u64::from(m);
            }
            heapify(&mut self.heap_keys[a..b]);
            MEMBERS_BY_HEAP
        };
        self.heap_valid[p] = mode;
        mode
    }

    /// Whether every process has the same number of members (then the
    /// O(1) level queue orders processes exactly as the heap would).
    fn uniform_capacity(&self) -> bool {
        let cap0 = self.proc_cap.first().copied().unwrap_or(1);
        self.proc_cap.iter().all(|&c| c == cap0)
    }

    fn level_queue(&mut self) -> LevelQueue {
        LevelQueue::build(&self.proc_count, &mut self.scratch)
    }

    fn tiny_queue(&self) -> TinyQueue {
        TinyQueue::build(&self.proc_count, &self.proc_cap)
    }

    fn heap_queue(&self) -> HeapQueue {
        let mut q = HeapQueue {
            heap: Vec::with_capacity(self.proc_cap.len()),
            seq: 0,
        };
        for p in 0..self.proc_cap.len() as u32 {
            q.push(p, self.proc_count[p as usize], self.proc_cap[p as usize]);
        }
        q
    }

    // ----------------------------------------------------------- active phase

    fn assign_active(&mut self) -> Result<(), AssignorError> {
        let space = self.space;
        let t_total = space.total_tasks();
        if !self.any_prev_active && self.cand.is_empty() {
            // Nothing sticky: everything goes through A3, in task order.
            return self.least_loaded_actives(0..t_total as u32);
        }
        // A1: previous active owner, partition-major order (with no previous
        // owner at all, every task remains, in that order).
        let mut remaining = self.scratch.empty(t_total);
        if self.any_prev_active {
            for &t in space.partition_major() {
                let m = self.prev_active[t as usize];
                if m != NONE && self.member_count[m as usize] < self.active_quota {
                    self.place(t, m, true, true);
                } else {
                    remaining.push(t);
                }
            }
        } else {
            remaining.extend_from_slice(space.partition_major());
        }
        // A2: previous standby / reported state.
        if !self.cand.is_empty() {
            remaining.retain(|&t| match self.pick_prev(t, false, false) {
                Some(m) if self.member_count[m as usize] < self.active_quota => {
                    self.place(t, m, true, true);
                    false
                }
                _ => true,
            });
        }
        // A3 walks subtopology-major order = ascending task index.
        if remaining.len() * 8 >= t_total {
            remaining.clear();
            let owner = &self.owner;
            remaining.extend((0..t_total as u32).filter(|&t| owner[t as usize] == NONE));
        } else {
            remaining.sort_unstable();
        }
        let result = self.least_loaded_actives(remaining.iter().copied());
        self.scratch.give(remaining);
        result
    }

    /// Phase A3: each task to the least-loaded process, least-loaded member.
    fn least_loaded_actives(
        &mut self,
        tasks: impl ExactSizeIterator<Item = u32>,
    ) -> Result<(), AssignorError> {
        if tasks.len() == 0 {
            return Ok(());
        }
        if self.proc_cap.len() <= TINY_MAX_PROCS {
            let mut q = self.tiny_queue();
            return self.least_loaded_actives_with(&mut q, tasks);
        }
        let uniform = self.uniform_capacity();
        if tasks.len() <= SCAN_MAX_OPS && uniform {
            // A handful of tasks (a member joined a balanced group): scanning
            // the processes per task beats building a queue.
            let mut q = ScanQueue::build(&self.proc_count, &mut self.scratch);
            let result = self.least_loaded_actives_with(&mut q, tasks);
            q.recycle(&mut self.scratch);
            result
        } else if uniform {
            let mut q = self.level_queue();
            let result = self.least_loaded_actives_with(&mut q, tasks);
            q.recycle(&mut self.scratch);
            result
        } else {
            let mut q = self.heap_queue();
            self.least_loaded_actives_with(&mut q, tasks)
        }
    }

    fn least_loaded_actives_with<Q: ProcQueue>(
        &mut self,
        q: &mut Q,
        tasks: impl Iterator<Item = u32>,
    ) -> Result<(), AssignorError> {
        for t in tasks {
            let Some(p) = q.pop() else {
                return Err(AssignorError::NoProcessAvailable {
                    task: self.space.task_name(t),
                });
            };
            self.place_on_least_loaded_member(t, p, true);
            q.push(p, self.proc_count[p as usize], self.proc_cap[p as usize]);
        }
        Ok(())
    }

    // ---------------------------------------------------------- standby phase

    fn assign_standby(&mut self) {
        let space = self.space;
        let t_total = space.total_tasks();
        let with_tags = self.tags.is_some();
        let ns = self.num_standby;
        let mut leftover: Vec<u32> = Vec::new();
        for &t in space.partition_major().iter().rev() {
            if !space.task_stateful(t) {
                continue;
            }
            for i in 0..ns {
                let m = self.prev_active[t as usize];
                if m != NONE {
                    let p = self.member_proc[m as usize];
                    if !self.holds(t, p)
                        && (!with_tags || self.tags_ok(t, p))
                        && self.member_count[m as usize] < self.total_quota
                    {
                        self.place(t, m, false, true);
                        continue;
                    }
                }
                if let Some(m) = self.pick_prev(t, true, with_tags) {
                    if self.member_count[m as usize] < self.total_quota {
                        self.place(t, m, false, true);
                        continue;
                    }
                }
                if leftover.is_empty() {
                    leftover = self.scratch.filled(t_total, 0);
                }
                leftover[t as usize] = ns - i;
                break;
            }
        }
        if leftover.is_empty() {
            return;
        }
        if self.proc_cap.len() <= TINY_MAX_PROCS {
            let mut q = self.tiny_queue();
            self.least_loaded_standbys(&mut q, &leftover, with_tags);
        } else if self.uniform_capacity() {
            let mut q = self.level_queue();
            self.least_loaded_standbys(&mut q, &leftover, with_tags);
            q.recycle(&mut self.scratch);
        } else {
            let mut q = self.heap_queue();
            self.least_loaded_standbys(&mut q, &leftover, with_tags);
        }
        self.scratch.give(leftover);
        if self.unplaced_standbys > 0 {
            tracing::debug!(
                unplaced = self.unplaced_standbys,
                num_standby_replicas = ns,
                "not enough processes to place every standby replica"
            );
        }
    }

    fn least_loaded_standbys<Q: ProcQueue>(
        &mut self,
        queue: &mut Q,
        leftover: &[u32],
        with_tags: bool,
    ) {
        let mut popped = self.scratch.empty(0);
        for t in (0..leftover.len() as u32).rev() {
            for _ in 0..leftover[t as usize] {
                let placed = (with_tags && self.place_least_loaded(t, queue, &mut popped, true))
                    || self.place_least_loaded(t, queue, &mut popped, false);
                if !placed {
                    // "Unable to assign <r> of <n> standby tasks for task [<t>]..."
                    self.unplaced_standbys += 1;
                    break;
                }
            }
        }
        self.scratch.give(popped);
    }

    /// Spec 05 §4.4 `placeLeastLoaded`: pops processes in load order until one
    /// does not hold the task, places it on that process's least-loaded
    /// member, and pushes everything back (the chosen process first, then the
    /// skipped ones in reverse pop order, as Kafka's recursion does).
    fn place_least_loaded<Q: ProcQueue>(
        &mut self,
        t: u32,
        queue: &mut Q,
        popped: &mut Vec<u32>,
        with_tags: bool,
    ) -> bool {
        popped.clear();
        let mut placed = false;
        while let Some(p) = queue.pop() {
            if !self.holds(t, p) && (!with_tags || self.tags_ok(t, p)) {
                self.place_on_least_loaded_member(t, p, false);
                queue.push(p, self.proc_count[p as usize], self.proc_cap[p as usize]);
                placed = true;
                break;
            }
            popped.push(p);
        }
        while let Some(p) = popped.pop() {
            queue.push(p, self.proc_count[p as usize], self.proc_cap[p as usize]);
        }
        placed
    }

    // ----------------------------------------------------------------- output

    fn into_assignment(mut self, group: &GroupSpec<'a>) -> GroupAssignment<'a> {
        let m = self.order.len();
        let t_total = self.owner.len();
        // Slot 2i = active tasks of member i, slot 2i + 1 = its standbys.
        // First count slot k into bounds[k + 1]; then bounds[k + 1] becomes
        // the fill cursor of slot k (its start), which the fill advances to
        // the start of slot k + 1, leaving bounds[k] = start of slot k.
        let mut bounds = vec![0u32; 2 * m + 1];
        for &o in &self.owner {
            if o != NONE {
                bounds[2 * o as usize + 1] += 1;
            }
        }
        if self.width > 0 {
            for t in 0..t_total {
                let base = t * self.width;
                for &s in &self.sb[base..base + self.sb_count[t] as usize] {
                    bounds[2 * s as usize + 2] += 1;
                }
            }
        }
        let mut acc = 0u32;
        for b in &mut bounds[1..] {
            let c = *b;
            *b = acc;
            acc += c;
        }
        let mut tasks = vec![0u32; acc as usize];
        for (t, &o) in self.owner.iter().enumerate() {
            if o != NONE {
                let f = &mut bounds[2 * o as usize + 1];
                tasks[*f as usize] = t as u32;
                *f += 1;
            }
        }
        if self.width > 0 {
            for t in 0..t_total {
                let base = t * self.width;
                for &s in &self.sb[base..base + self.sb_count[t] as usize] {
                    let f = &mut bounds[2 * s as usize + 2];
                    tasks[*f as usize] = t as u32;
                    *f += 1;
                }
            }
        }
        let ids = if self.in_order {
            // Members already in id order (a spec over a member table).
            group.members.iter().map(|s| s.member_id).collect()
        } else {
            self.order
                .iter()
                .map(|&i| group.members[i as usize].member_id)
                .collect()
        };
        self.recycle();
        GroupAssignment::from_parts(self.space, ids, bounds, tasks)
    }

    /// Gives the working vectors back to the thread's pool.
    fn recycle(&mut self) {
        let s = &mut self.scratch;
        for v in [
            &mut self.order,
            &mut self.member_proc,
            &mut self.member_count,
            &mut self.proc_cap,
            &mut self.proc_count,
            &mut self.proc_mem_start,
            &mut self.proc_mem,
            &mut self.owner,
            &mut self.sb,
            &mut self.sb_count,
            &mut self.prev_active,
            &mut self.cand_start,
            &mut self.cand,
            &mut self.heap_valid,
        ] {
            s.give(std::mem::take(v));
        }
        s.give_wide(std::mem::take(&mut self.heap_keys));
    }
}

impl Tags {
    fn new(group: &GroupSpec<'_>, order: &[u32], proc_mem_start: &[u32], proc_mem: &[u32]) -> Self {
        let keys = &group.configs.rack_aware_assignment_tags;
        let np = proc_mem_start.len() - 1;
        let k = keys.len();
        let mut value = vec![NONE; np * k];
        let mut distinct = vec![0u32; k];
        for (j, key) in keys.iter().enumerate() {
            let mut index = StrIndex::with_capacity(8);
            let mut vals: Vec<&str> = Vec::new();
            for p in 0..np {
                // A process's tags are those of its first member (ascending id).
                let first = proc_mem[proc_mem_start[p] as usize];
                let spec = &group.members[order[first as usize] as usize];
                if let Some(v) = spec.client_tags.tag(key) {
                    let (id, new) = index.get_or_insert(v, |i| vals[i as usize]);
                    if new {
                        vals.push(v);
                    }
                    value[p * k + j] = id;
                }
            }
            distinct[j] = vals.len() as u32;
        }
        Tags {
            keys: k,
            value,
            distinct,
        }
    }
}

// -------------------------------------------------------------------- queues

/// Min-heap helpers over `u64` keys (`count << 32 | member`).
fn heapify(keys: &mut [u64]) {
    for i in (0..keys.len() / 2).rev() {
        sift_down(keys, i);
    }
}

#[inline]
fn sift_down(keys: &mut [u64], mut i: usize) {
    let n = keys.len();
    let x = keys[i];
    loop {
        let l = 2 * i + 1;
        if l >= n {
            break;
        }
        let r = l + 1;
        let c = if r < n && keys[r] < keys[l] { r } else { l };
        if keys[c] >= x {
            break;
        }
        keys[i] = keys[c];
        i = c;
    }
    keys[i] = x;
}

/// Processes ordered by (load, FIFO sequence): `pop` takes the least-loaded
/// process that was (re)inserted first; `push` re-inserts with a new sequence.
trait ProcQueue {
    fn pop(&mut self) -> Option<u32>;
    fn push(&mut self, p: u32, count: u32, cap: u32);
}

/// Most processes for which [`TinyQueue`] is used instead of the others.
const TINY_MAX_PROCS: usize = 32;

/// The order of [`HeapQueue`] for a few processes (at most
/// [`TINY_MAX_PROCS`]), without a structure: each process is in the queue at
/// most once (every caller pops a process before pushing it again), so the
/// queue is a key per process and a bit mask of the processes in it; `pop`
/// scans the mask for the least (count / capacity, sequence). Building it
/// costs nothing, and for a handful of processes a scan is cheaper than
/// keeping any order.
struct TinyQueue {
    count: [u32; TINY_MAX_PROCS],
    cap: [u32; TINY_MAX_PROCS],
    seq: [u32; TINY_MAX_PROCS],
    present: u32,
    next_seq: u32,
}

impl TinyQueue {
    /// Every process, in process order, at its current count.
    fn build(counts: &[u32], caps: &[u32]) -> Self {
        debug_assert!(counts.len() <= TINY_MAX_PROCS && counts.len() == caps.len());
        let mut q = TinyQueue {
            count: [0; TINY_MAX_PROCS],
            cap: [0; TINY_MAX_PROCS],
            seq: [0; TINY_MAX_PROCS],
            present: 0,
            next_seq: 0,
        };
        for (p, (&c, &k)) in counts.iter().zip(caps).enumerate() {
            q.push(p as u32, c, k);
        }
        q
    }

    /// Whether `a` comes before `b` (both present).
    #[inline(always)]
    fn before(&self, a: usize, b: usize) -> bool {
        let x = u64::from(self.count[a]) * u64::from(self.cap[b]);
        let y = u64::from(self.count[b]) * u64::from(self.cap[a]);
        x < y || (x == y && self.seq[a] < self.seq[b])
    }
}

impl ProcQueue for TinyQueue {
    #[inline]
    fn pop(&mut self) -> Option<u32> {
        let mut rest = self.present;
        if rest == 0 {
            return None;
        }
        let mut best = rest.trailing_zeros() as usize;
        rest &= rest - 1;
        while rest != 0 {
            let p = rest.trailing_zeros() as usize;
            rest &= rest - 1;
            if self.before(p, best) {
                best = p;
            }
        }
        self.present &= !(1 << best);
        Some(best as u32)
    }

    #[inline]
    fn push(&mut self, p: u32, count: u32, cap: u32) {
        let p = p as usize;
        debug_assert!(self.present & (1 << p) == 0, "process queued twice");
        self.count[p] = count;
        self.cap[p] = cap;
        self.seq[p] = self.next_seq;
        self.next_seq += 1;
        self.present |= 1 << p;
    }
}

/// Most tasks for which [`ScanQueue`] is used instead of a [`LevelQueue`].
const SCAN_MAX_OPS: usize = 8;

/// The order of [`LevelQueue`] without a structure, for a few operations:
/// the processes still at their initial entry keep their count in `initial`
/// (`NONE` once popped), re-inserted ones sit in `pushed` in insertion order.
/// `pop` scans both: the smallest count wins, and at equal counts an initial
/// entry (lowest process first) goes before any re-inserted one. O(P) per
/// operation, a copy of the counts to build.
struct ScanQueue {
    initial: Vec<u32>,
    /// `(process, count)` pairs, flattened, in insertion order.
    pushed: Vec<u32>,
}

impl ScanQueue {
    fn build(counts: &[u32], scratch: &mut Scratch) -> Self {
        let mut initial = scratch.empty(counts.len());
        initial.extend_from_slice(counts);
        ScanQueue {
            initial,
            pushed: scratch.empty(2 * SCAN_MAX_OPS),
        }
    }

    fn recycle(self, scratch: &mut Scratch) {
        scratch.give(self.initial);
        scratch.give(self.pushed);
    }
}

impl ProcQueue for ScanQueue {
    fn pop(&mut self) -> Option<u32> {
        let (mut best, mut best_count) = (usize::MAX, NONE);
        for (p, &c) in self.initial.iter().enumerate() {
            if c < best_count {
                best = p;
                best_count = c;
            }
        }
        let mut pushed_at = None;
        for (i, pc) in self.pushed.chunks_exact(2).enumerate() {
            if pc[1] < best_count {
                best_count = pc[1];
                pushed_at = Some(i);
            }
        }
        match pushed_at {
            Some(i) => {
                let p = self.pushed[2 * i];
                self.pushed.drain(2 * i..2 * i + 2);
                Some(p)
            }
            None => {
                let slot = self.initial.get_mut(best)?;
                *slot = NONE;
                Some(best as u32)
            }
        }
    }

    fn push(&mut self, p: u32, count: u32, _cap: u32) {
        self.pushed.extend_from_slice(&[p, count.min(NONE - 1)]);
    }
}

/// All processes have the same number of members: load order is task-count
/// order, and FIFO inside one count is a plain queue. The entries present
/// when the queue is built (every process, in process order, at its count)
/// come first in their level, so they are kept as one array sorted by
/// (count, process) — a counting sort, no per-entry links — and only
/// re-inserted processes go into per-level intrusive lists. O(1) per
/// operation, O(P + max count) to build.
struct LevelQueue {
    /// Processes in (initial count, process) order.
    init: Vec<u32>,
    /// Per level `c`, at `4c..4c + 4`: the next and end position in `init`
    /// of its initial entries, then head and tail of its list of
    /// re-inserted processes (`NONE` when empty).
    levels: Vec<u32>,
    /// Links of the re-insertion lists.
    next: Vec<u32>,
    /// Bit `c` set when level `c` may hold an entry (set on insertion,
    /// cleared when `pop` finds the level empty), so `pop` jumps over empty
    /// levels 32 at a time: counts can spread far apart.
    occupied: Vec<u32>,
    /// No entry below this level.
    cur: usize,
}

impl LevelQueue {
    /// Every process, in process order, at its current count.
    fn build(counts: &[u32], scratch: &mut Scratch) -> Self {
        let np = counts.len();
        let (mut min, mut max) = (u32::MAX, 0u32);
        for &c in counts {
            min = min.min(c);
            max = max.max(c);
        }
        let nlevels = max as usize + 2;
        let mut levels = scratch.empty(4 * nlevels);
        for _ in 0..nlevels {
            levels.extend_from_slice(&[0, 0, NONE, NONE]);
        }
        let mut occupied = scratch.filled(nlevels.div_ceil(32), 0);
        let mut init = scratch.empty(np);
        if np == 0 {
            // Nothing to queue.
        } else if min == max {
            // One level (a group's first assignment: every count is zero).
            init.extend(0..np as u32);
            let b = 4 * max as usize;
            levels[b] = 0;
            levels[b + 1] = np as u32;
            occupied[max as usize / 32] |= 1 << (max % 32);
        } else {
            for &c in counts {
                levels[4 * c as usize + 1] += 1;
            }
            let mut acc = 0u32;
            for c in 0..nlevels {
                let n = levels[4 * c + 1];
                levels[4 * c] = acc;
                acc += n;
                levels[4 * c + 1] = acc;
                if n > 0 {
                    occupied[c / 32] |= 1 << (c % 32);
                }
                // Fill cursor, reset below.
                levels[4 * c + 2] = levels[4 * c];
            }
            init.resize(np, 0);
            for (p, &c) in counts.iter().enumerate() {
                let f = &mut levels[4 * c as usize + 2];
                init[*f as usize] = p as u32;
                *f += 1;
            }
            for c in 0..nlevels {
                levels[4 * c + 2] = NONE;
            }
        }
        LevelQueue {
            init,
            levels,
            next: scratch.filled(np, NONE),
            occupied,
            cur: min.min(max) as usize,
        }
    }

    /// Gives the queue's vectors back to the pool.
    fn recycle(self, scratch: &mut Scratch) {
        scratch.give(self.init);
        scratch.give(self.levels);
        scratch.give(self.next);
        scratch.give(self.occupied);
    }

    /// Level `cur` is empty, so its bit is stale: clears it and moves `cur`
    /// to the next level whose bit is set (`None`: the queue is empty).
    #[cold]
    #[inline(never)]
    fn skip_empty_level(&mut self) -> Option<()> {
        let c = self.cur;
        if let Some(w) = self.occupied.get_mut(c / 32) {
            *w &= !(1 << (c % 32));
        }
        self.cur = self.first_occupied(c + 1)?;
        Some(())
    }

    /// The lowest occupied level at or above `from`.
    #[inline]
    fn first_occupied(&self, from: usize) -> Option<usize> {
        let mut w = from / 32;
        let mut word = *self.occupied.get(w)? & (u32::MAX << (from % 32));
        loop {
            if word != 0 {
                return Some(w * 32 + word.trailing_zeros() as usize);
            }
            w += 1;
            word = *self.occupied.get(w)?;
        }
    }
}

impl ProcQueue for LevelQueue {
    #[inline(always)]
    fn pop(&mut self) -> Option<u32> {
        loop {
            let b = 4 * self.cur;
            let level = self.levels.get_mut(b..b + 4)?;
            if level[0] < level[1] {
                let p = self.init[level[0] as usize];
                level[0] += 1;
                return Some(p);
            }
            let head = level[2];
            if head != NONE {
                if head == level[3] {
                    level[2] = NONE;
                    level[3] = NONE;
                } else {
                    level[2] = self.next[head as usize];
                }
                return Some(head);
            }
            self.skip_empty_level()?;
        }
    }

    #[inline(always)]
    fn push(&mut self, p: u32, count: u32, _cap: u32) {
        let c = count as usize;
        let b = 4 * c;
        if self.levels.len() < b + 4 {
            self.grow(c);
        }
        // `pop` never follows the tail's link, so it is not reset here.
        let tail = self.levels[b + 3];
        if tail == NONE {
            self.levels[b + 2] = p;
        } else {
            self.next[tail as usize] = p;
        }
        self.levels[b + 3] = p;
        self.occupied[c / 32] |= 1 << (c % 32);
        self.cur = self.cur.min(c);
    }
}

impl LevelQueue {
    /// Adds empty levels up to `c`.
    #[cold]
    fn grow(&mut self, c: usize) {
        // Double, so that counts climbing one by one grow it rarely.
        let want = (c + 1).max(self.levels.len() / 4 * 2);
        while self.levels.len() < 4 * want {
            self.levels.extend_from_slice(&[0, 0, NONE, NONE]);
        }
        self.occupied.resize(want.div_ceil(32), 0);
    }
}

#[derive(Clone, Copy)]
struct HeapEntry {
    count: u32,
    cap: u32,
    seq: u64,
    proc: u32,
}

impl HeapEntry {
    #[inline]
    fn less(&self, o: &HeapEntry) -> bool {
        let a = u64::from(self.count) * u64::from(o.cap);
        let b = u64::from(o.count) * u64::from(self.cap);
        a < b || (a == b && self.seq < o.seq)
    }
}

/// Mixed capacities: a binary min-heap on (count / capacity, sequence).
struct HeapQueue {
    heap: Vec<HeapEntry>,
    seq: u64,
}

impl ProcQueue for HeapQueue {
    fn push(&mut self, p: u32, count: u32, cap: u32) {
        self.seq += 1;
        let e = HeapEntry {
            count,
            cap,
            seq: self.seq,
            proc: p,
        };
        let h = &mut self.heap;
        let mut i = h.len();
        h.push(e);
        while i > 0 {
            let parent = (i - 1) / 2;
            if !e.less(&h[parent]) {
                break;
            }
            h[i] = h[parent];
            i = parent;
        }
        h[i] = e;
    }

    fn pop(&mut self) -> Option<u32> {
        let h = &mut self.heap;
        let last = h.pop()?;
        if h.is_empty() {
            return Some(last.proc);
        }
        let top = h[0].proc;
        let n = h.len();
        let mut i = 0;
        loop {
            let l = 2 * i + 1;
            if l >= n {
                break;
            }
            let r = l + 1;
            let c = if r < n && h[r].less(&h[l]) { r } else { l };
            if !h[c].less(&last) {
                break;
            }
            h[i] = h[c];
            i = c;
        }
        h[i] = last;
        Some(top)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A small deterministic generator (xorshift), enough to drive the queues.
    struct Rng(u64);
    impl Rng {
        fn below(&mut self, n: u64) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0 % n
        }
    }

    /// With equal capacities the level and scan queues must pop exactly what
    /// the heap (the reference order: load, then insertion sequence) pops.
    #[test]
    fn level_and_scan_queues_pop_in_heap_order() {
        let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
        let mut scratch = Scratch::take();
        for round in 0..300 {
            let np = 1 + rng.below(40) as usize;
            // Equal counts, close counts, and counts far apart (levels
            // spanning several bitmap words, growth on push).
            let (spread, step) = match round % 4 {
                0 => (1, 3),
                1 | 2 => (1 + rng.below(6), 3),
                _ => (1 + rng.below(200), 90),
            };
            let mut counts: Vec<u32> = (0..np).map(|_| rng.below(spread) as u32).collect();
            let mut level = LevelQueue::build(&counts, &mut scratch);
            let mut scan = ScanQueue::build(&counts, &mut scratch);
            let ones = vec![1u32; np];
            let mut tiny = (np <= TINY_MAX_PROCS).then(|| TinyQueue::build(&counts, &ones));
            let mut heap = HeapQueue {
                heap: Vec::new(),
                seq: 0,
            };
            for (p, &c) in counts.iter().enumerate() {
                heap.push(p as u32, c, 1);
            }
            let mut out = Vec::new();
            for _ in 0..200 {
                // Pop up to three, then push them back with new counts in
                // reverse (as `place_least_loaded` does).
                let k = 1 + rng.below(3) as usize;
                out.clear();
                for _ in 0..k {
                    let (a, b, c) = (level.pop(), heap.pop(), scan.pop());
                    assert_eq!(a, b, "round {round}: counts {counts:?}");
                    assert_eq!(c, b, "round {round}: counts {counts:?}");
                    if let Some(q) = tiny.as_mut() {
                        assert_eq!(q.pop(), b, "round {round}: counts {counts:?}");
                    }
                    match a {
                        Some(p) => out.push(p),
                        None => break,
                    }
                }
                for &p in out.iter().rev() {
                    counts[p as usize] += rng.below(step) as u32;
                    level.push(p, counts[p as usize], 1);
                    scan.push(p, counts[p as usize], 1);
                    heap.push(p, counts[p as usize], 1);
                    if let Some(q) = tiny.as_mut() {
                        q.push(p, counts[p as usize], 1);
                    }
                }
            }
            level.recycle(&mut scratch);
            scan.recycle(&mut scratch);
        }
    }

    /// With mixed capacities the tiny queue must pop what the heap pops.
    #[test]
    fn tiny_queue_pops_in_heap_order_with_mixed_capacities() {
        let mut rng = Rng(0x2545_F491_4F6C_DD1D);
        for round in 0..300 {
            let np = 1 + rng.below(TINY_MAX_PROCS as u64) as usize;
            let caps: Vec<u32> = (0..np).map(|_| 1 + rng.below(6) as u32).collect();
            let mut counts: Vec<u32> = (0..np).map(|_| rng.below(8) as u32).collect();
            let mut tiny = TinyQueue::build(&counts, &caps);
            let mut heap = HeapQueue {
                heap: Vec::new(),
                seq: 0,
            };
            for p in 0..np {
                heap.push(p as u32, counts[p], caps[p]);
            }
            let mut out = Vec::new();
            for _ in 0..200 {
                let k = 1 + rng.below(3) as usize;
                out.clear();
                for _ in 0..k {
                    let (a, b) = (tiny.pop(), heap.pop());
                    assert_eq!(a, b, "round {round}: counts {counts:?} caps {caps:?}");
                    match a {
                        Some(p) => out.push(p),
                        None => break,
                    }
                }
                for &p in out.iter().rev() {
                    counts[p as usize] += rng.below(3) as u32;
                    tiny.push(p, counts[p as usize], caps[p as usize]);
                    heap.push(p, counts[p as usize], caps[p as usize]);
                }
            }
        }
    }

    #[test]
    fn next_quota_equals_the_ceiling() {
        for total in 0..200u32 {
            for cap in 1..40u32 {
                let mut q = ceil_div(total, cap);
                if q == 0 {
                    continue;
                }
                let (mut t, mut c) = (total, cap);
                next_quota(&mut t, &mut c, &mut q);
                assert_eq!(q, ceil_div(total - ceil_div(total, cap), cap - 1));
            }
        }
    }
}
