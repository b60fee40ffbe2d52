//! A group's membership kept between assignments: member ids in ascending
//! order, each with its process, processes numbered in ascending id order.
//!
//! An assignment needs the members sorted by id and their processes numbered
//! by id. Computed in the call, that is a string comparison per member to
//! check the order and a hash lookup per member to intern its process, the
//! larger part of a small group's assignment. A [`MemberTable`] holds the
//! result: the caller (the coordinator, one per group) keeps it and updates
//! it when a member joins, leaves or changes process ([`MemberTable::put`],
//! [`MemberTable::remove`]: memory moves, no hashing), and builds the group
//! spec over it ([`GroupSpec::from_table`](super::GroupSpec::from_table)).
//! The assignor then checks, per member, only that the spec's strings are the
//! table's (two pointer comparisons) and copies the numbering; members not in
//! the table and table members not in the spec (a join or leave not yet
//! applied to the table) are merged in at a cost per such member.

use std::fmt;

use super::index::{same, str_less};
use super::spec::MemberSpec;
use super::{AssignorError, MAX_MEMBERS};

/// A group's members by ascending id, each with its process; processes
/// numbered `0..num_processes()` in ascending id order. Strings are stored
/// back to back (two buffers, an end offset per entry), so a copy is a few
/// buffer copies whatever the group's size.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct MemberTable {
    /// Member ids, ascending, back to back.
    ids: String,
    /// `id_end[i]`: end of member `i`'s id in `ids` (its start is the
    /// previous entry's end, 0 for the first).
    id_end: Vec<u32>,
    /// Process ids, ascending, back to back.
    procs: String,
    /// End of each process id in `procs`.
    proc_end: Vec<u32>,
    /// Per member, its process's number.
    member_proc: Vec<u32>,
    /// Per process, how many members it has (never 0).
    proc_size: Vec<u32>,
}

/// `(start, end)` of entry `i` of a back-to-back string buffer.
#[inline(always)]
fn span(ends: &[u32], i: usize) -> (usize, usize) {
    let start = if i == 0 { 0 } else { ends[i - 1] as usize };
    (start, ends[i] as usize)
}

/// Entry `i` of a back-to-back string buffer.
#[inline(always)]
fn entry<'s>(buf: &'s str, ends: &[u32], i: usize) -> &'s str {
    let (a, b) = span(ends, i);
    // The ends only ever cut at the boundaries of whole inserted strings.
    buf.get(a..b).expect("entry boundaries are char boundaries")
}

/// The position of `key` among the entries (ascending), or where it would go.
fn search(buf: &str, ends: &[u32], key: &str) -> Result<usize, usize> {
    let (mut lo, mut hi) = (0usize, ends.len());
    while lo < hi {
        let mid = lo + (hi - lo) / 2;
        let e = entry(buf, ends, mid);
        if str_less(e, key) {
            lo = mid + 1;
        } else if e == key {
            return Ok(mid);
        } else {
            hi = mid;
        }
    }
    Err(lo)
}

/// Inserts `s` as entry `i` (shifting the later ends).
fn insert_entry(buf: &mut String, ends: &mut Vec<u32>, i: usize, s: &str) {
    let at = if i == 0 { 0 } else { ends[i - 1] as usize };
    buf.insert_str(at, s);
    let n = s.len() as u32;
    for e in &mut ends[i..] {
        *e += n;
    }
    ends.insert(i, at as u32 + n);
}

/// Removes entry `i` (shifting the later ends).
fn remove_entry(buf: &mut String, ends: &mut Vec<u32>, i: usize) {
    let (a, b) = span(ends, i);
    buf.replace_range(a..b, "");
    ends.remove(i);
    let n = (b - a) as u32;
    for e in &mut ends[i..] {
        *e -= n;
    }
}

fn too_long(what: &'static str, value: usize) -> AssignorError {
    AssignorError::LimitExceeded {
        what,
        value: value as u64,
        limit: u64::from(u32::MAX),
    }
}

impl MemberTable {
    /// An empty table.
    pub fn new() -> Self {
        MemberTable::default()
    }

    /// A table of `(member id, process id)` pairs, in any order; a repeated
    /// member id is an error.
    pub fn from_members<'s, I>(members: I) -> Result<Self, AssignorError>
    where
        I: IntoIterator<Item = (&'s str, &'s str)>,
    {
        let mut pairs: Vec<(&str, &str)> = members.into_iter().collect();
        if pairs.len() > MAX_MEMBERS {
            return Err(AssignorError::LimitExceeded {
                what: "the number of members",
                value: pairs.len() as u64,
                limit: MAX_MEMBERS as u64,
            });
        }
        pairs.sort_unstable_by(|a, b| a.0.cmp(b.0));
        if let Some(w) = pairs.windows(2).find(|w| w[0].0 == w[1].0) {
            return Err(AssignorError::DuplicateMember {
                member_id: w[0].0.to_owned(),
            });
        }
        let mut procs: Vec<&str> = pairs.iter().map(|p| p.1).collect();
        procs.sort_unstable();
        procs.dedup();
        let mut t = MemberTable {
            ids: String::with_capacity(pairs.iter().map(|p| p.0.len()).sum()),
            id_end: Vec::with_capacity(pairs.len()),
            procs: String::with_capacity(procs.iter().map(|p| p.len()).sum()),
            proc_end: Vec::with_capacity(procs.len()),
            member_proc: Vec::with_capacity(pairs.len()),
            ..MemberTable::default()
        };
        for p in &procs {
            t.procs.push_str(p);
            let end = u32::try_from(t.procs.len())
                .map_err(|_| too_long("the bytes of the process ids", t.procs.len()))?;
            t.proc_end.push(end);
        }
        t.proc_size = vec![0; procs.len()];
        for (id, pid) in &pairs {
            t.ids.push_str(id);
            let end = u32::try_from(t.ids.len())
                .map_err(|_| too_long("the bytes of the member ids", t.ids.len()))?;
            t.id_end.push(end);
            let p = procs.binary_search(pid).expect("every process was listed") as u32;
            t.member_proc.push(p);
            t.proc_size[p as usize] += 1;
        }
        Ok(t)
    }

    /// Number of members.
    #[inline]
    pub fn len(&self) -> usize {
        self.id_end.len()
    }

    /// Whether the table has no member.
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.id_end.is_empty()
    }

    /// Number of processes.
    #[inline]
    pub fn num_processes(&self) -> usize {
        self.proc_end.len()
    }

    /// The id of member `i` (ascending in `i`).
    #[inline]
    pub fn member_id(&self, i: usize) -> &str {
        entry(&self.ids, &self.id_end, i)
    }

    /// The process id of member `i`.
    #[inline]
    pub fn process_id(&self, i: usize) -> &str {
        entry(&self.procs, &self.proc_end, self.member_proc[i] as usize)
    }

    /// Whether member `i` has this id and process id (word-wise comparisons,
    /// inline: the coordinator walks its members along the table with it).
    #[inline]
    pub(crate) fn is_entry(&self, i: usize, member_id: &str, process_id: &str) -> bool {
        same(self.member_id(i), member_id) && same(self.process_id(i), process_id)
    }

    /// The member with this id, by position.
    pub fn position(&self, member_id: &str) -> Option<usize> {
        search(&self.ids, &self.id_end, member_id).ok()
    }

    /// `(member id, process id)` of every member, ascending by member id.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = (&str, &str)> + '_ {
        (0..self.len()).map(move |i| (self.member_id(i), self.process_id(i)))
    }

    /// A member spec of member `i` with the table's strings (so an assignor
    /// recognises it as the table's) and no tasks, offsets or tags.
    #[inline]
    pub fn member_spec(&self, i: usize) -> MemberSpec<'_> {
        MemberSpec::new(self.member_id(i), self.process_id(i))
    }

    /// Adds a member, or moves an existing one to `process_id`. O(members)
    /// memory moves when the member or its process is new, O(log members)
    /// otherwise.
    pub fn put(&mut self, member_id: &str, process_id: &str) -> Result<(), AssignorError> {
        match search(&self.ids, &self.id_end, member_id) {
            Ok(i) => {
                if self.process_id(i) == process_id {
                    return Ok(());
                }
                let old = self.member_proc[i];
                self.leave(old);
                let p = self.enter(process_id)?;
                self.member_proc[i] = p;
            }
            Err(i) => {
                if self.len() >= MAX_MEMBERS {
                    return Err(AssignorError::LimitExceeded {
                        what: "the number of members",
                        value: self.len() as u64 + 1,
                        limit: MAX_MEMBERS as u64,
                    });
                }
                let bytes = self.ids.len() + member_id.len();
                if u32::try_from(bytes).is_err() {
                    return Err(too_long("the bytes of the member ids", bytes));
                }
                let p = self.enter(process_id)?;
                insert_entry(&mut self.ids, &mut self.id_end, i, member_id);
                self.member_proc.insert(i, p);
            }
        }
        Ok(())
    }

    /// Removes a member; false if it was not in the table.
    pub fn remove(&mut self, member_id: &str) -> bool {
        let Ok(i) = search(&self.ids, &self.id_end, member_id) else {
            return false;
        };
        let p = self.member_proc.remove(i);
        remove_entry(&mut self.ids, &mut self.id_end, i);
        self.leave(p);
        true
    }

    /// A member joins process `process_id` (added if new, renumbering the
    /// processes after it); returns its number.
    fn enter(&mut self, process_id: &str) -> Result<u32, AssignorError> {
        match search(&self.procs, &self.proc_end, process_id) {
            Ok(p) => {
                self.proc_size[p] += 1;
                Ok(p as u32)
            }
            Err(p) => {
                let bytes = self.procs.len() + process_id.len();
                if u32::try_from(bytes).is_err() {
                    return Err(too_long("the bytes of the process ids", bytes));
                }
                insert_entry(&mut self.procs, &mut self.proc_end, p, process_id);
                self.proc_size.insert(p, 1);
                let p = p as u32;
                for q in &mut self.member_proc {
                    if *q >= p {
                        *q += 1;
                    }
                }
                Ok(p)
            }
        }
    }

    /// A member leaves process `p` (removed when empty, renumbering the
    /// processes after it).
    fn leave(&mut self, p: u32) {
        let size = &mut self.proc_size[p as usize];
        *size -= 1;
        if *size > 0 {
            return;
        }
        self.proc_size.remove(p as usize);
        remove_entry(&mut self.procs, &mut self.proc_end, p as usize);
        for q in &mut self.member_proc {
            if *q > p {
                *q -= 1;
            }
        }
    }

    /// The process with this id, by number, or where it would be inserted.
    pub(crate) fn search_process(&self, process_id: &str) -> Result<usize, usize> {
        search(&self.procs, &self.proc_end, process_id)
    }
}

/// Most spec members not matched to the table entry they would follow
/// (joined, moved or with strings not the table's) and table members left
/// out, for which [`numbering_into`] merges the numbering; with more the
/// assignor numbers from scratch.
const MAX_DELTA: usize = 64;

/// Marks a member of a process the table does not hold, `NEW | k` for the
/// `k`-th such process found (process numbers are below `MAX_MEMBERS`).
const NEW: u32 = 1 << 31;

/// The process numbering of a group spec built over `table`, written to
/// `out` (one number per spec member, in spec order; processes numbered in
/// ascending id order over the spec's members), and the number of
/// processes. `None` when the spec's members are not in strictly ascending
/// id order (a repeat included) or stray from the table by more than
/// [`MAX_DELTA`] members: the caller then sorts and numbers from scratch.
///
/// A member whose id and process strings are the table entry's own (same
/// address and length) costs two pointer comparisons: the table is sorted
/// and numbered already. Any other member is compared by content, and the
/// numbering is then adjusted for the processes that gained their first
/// member or lost their last.
pub(crate) fn numbering_into(
    table: &MemberTable,
    members: &[MemberSpec<'_>],
    out: &mut Vec<u32>,
) -> Option<usize> {
    out.clear();
    let (ids, id_end) = (&table.ids, &table.id_end);
    let (procs, proc_end) = (&table.procs, &table.proc_end);
    let mp = &table.member_proc;
    let n = id_end.len();
    let mut j = 0usize;
    // Start of table entry `j`'s id in `ids`.
    let mut start = 0usize;
    let mut slow_prev = false;
    let mut extras = [0u32; MAX_DELTA];
    let mut ne = 0usize;
    let mut removed = [0u32; MAX_DELTA];
    let mut nr = 0usize;
    for (i, ms) in members.iter().enumerate() {
        let id = ms.member_id;
        if j < n {
            let end = id_end[j] as usize;
            let p = mp[j] as usize;
            let pstart = if p == 0 { 0 } else { proc_end[p - 1] as usize };
            let pid = ms.process_id;
            if std::ptr::eq(id.as_ptr(), ids.as_ptr().wrapping_add(start))
                && id.len() == end - start
                && std::ptr::eq(pid.as_ptr(), procs.as_ptr().wrapping_add(pstart))
                && pid.len() == proc_end[p] as usize - pstart
            {
                // The table's entry `j`: after the previous table entry by
                // the table's order; after a member found by content only if
                // compared.
                if slow_prev && !str_less(members[i - 1].member_id, id) {
                    return None;
                }
                out.push(p as u32);
                j += 1;
                start = end;
                slow_prev = false;
                continue;
            }
        }
        if i > 0 && !str_less(members[i - 1].member_id, id) {
            return None;
        }
        slow_prev = true;
        // Table members below this id are not in the spec.
        while j < n && str_less(entry(ids, id_end, j), id) {
            *removed.get_mut(nr)? = j as u32;
            nr += 1;
            start = id_end[j] as usize;
            j += 1;
        }
        if j < n && entry(ids, id_end, j) == id {
            let (p, same_process) = (mp[j], table.process_id(j) == ms.process_id);
            start = id_end[j] as usize;
            j += 1;
            if same_process {
                out.push(p);
                continue;
            }
            // Moved to another process: out of its old one, into the new.
            *removed.get_mut(nr)? = j as u32 - 1;
            nr += 1;
        }
        *extras.get_mut(ne)? = i as u32;
        ne += 1;
        out.push(NEW);
    }
    while j < n {
        *removed.get_mut(nr)? = j as u32;
        nr += 1;
        j += 1;
    }
    let np_old = proc_end.len();
    if ne == 0 && nr == 0 {
        return Some(np_old);
    }
    // Process sizes over the spec's members, and the processes new to it.
    let mut size = table.proc_size.clone();
    for &r in &removed[..nr] {
        size[mp[r as usize] as usize] -= 1;
    }
    // `(insertion position in the table's processes, id)` of each new one.
    let mut fresh: Vec<(usize, &str)> = Vec::new();
    for &e in &extras[..ne] {
        let pid = members[e as usize].process_id;
        let v = match table.search_process(pid) {
            Ok(p) => {
                size[p] += 1;
                p as u32
            }
            Err(pos) => {
                let k = match fresh.iter().position(|&(_, q)| q == pid) {
                    Some(k) => k,
                    None => {
                        fresh.push((pos, pid));
                        fresh.len() - 1
                    }
                };
                NEW | k as u32
            }
        };
        out[e as usize] = v;
    }
    // New numbers: the table's processes that kept a member and the new
    // ones, merged in id order.
    let mut by_id: Vec<usize> = (0..fresh.len()).collect();
    by_id.sort_unstable_by(|&a, &b| fresh[a].1.cmp(fresh[b].1));
    let mut fresh_rank = vec![0u32; fresh.len()];
    let mut rank = vec![u32::MAX; np_old];
    let (mut r, mut k) = (0u32, 0usize);
    for p in 0..np_old {
        while k < by_id.len() && fresh[by_id[k]].0 <= p {
            fresh_rank[by_id[k]] = r;
            r += 1;
            k += 1;
        }
        if size[p] > 0 {
            rank[p] = r;
            r += 1;
        }
    }
    for &f in &by_id[k..] {
        fresh_rank[f] = r;
        r += 1;
    }
    for x in out.iter_mut() {
        *x = if *x & NEW != 0 {
            fresh_rank[(*x & !NEW) as usize]
        } else {
            rank[*x as usize]
        };
    }
    Some(r as usize)
}

impl fmt::Debug for MemberTable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map().entries(self.iter()).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The table equals one built from scratch over the same pairs.
    fn check(t: &MemberTable, pairs: &std::collections::BTreeMap<String, String>) {
        let fresh = MemberTable::from_members(pairs.iter().map(|(a, b)| (a.as_str(), b.as_str())))
            .expect("valid");
        assert_eq!(t, &fresh);
        let got: Vec<(String, String)> = t
            .iter()
            .map(|(a, b)| (a.to_owned(), b.to_owned()))
            .collect();
        let want: Vec<(String, String)> =
            pairs.iter().map(|(a, b)| (a.clone(), b.clone())).collect();
        assert_eq!(got, want);
        for (i, (id, _)) in pairs.iter().enumerate() {
            assert_eq!(t.position(id), Some(i));
        }
        let mut procs: Vec<&String> = pairs.values().collect();
        procs.sort();
        procs.dedup();
        assert_eq!(t.num_processes(), procs.len());
    }

    #[test]
    fn put_and_remove_keep_the_table_as_built_from_scratch() {
        let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
        let mut next = |n: u64| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x % n
        };
        let mut t = MemberTable::new();
        let mut pairs = std::collections::BTreeMap::new();
        for step in 0..3000 {
            let id = format!("member-{}", next(200));
            let pid = format!("process-{}", next(30));
            if next(3) == 0 {
                assert_eq!(t.remove(&id), pairs.remove(&id).is_some());
            } else {
                t.put(&id, &pid).expect("within limits");
                pairs.insert(id, pid);
            }
            if step % 97 == 0 {
                check(&t, &pairs);
            }
        }
        check(&t, &pairs);
        assert!(!t.remove("absent"));
    }

    #[test]
    fn from_members_sorts_and_rejects_repeated_ids() {
        let t = MemberTable::from_members([("b", "p2"), ("a", "p9"), ("c", "p2")]).unwrap();
        assert_eq!(
            t.iter().collect::<Vec<_>>(),
            [("a", "p9"), ("b", "p2"), ("c", "p2")]
        );
        assert_eq!(t.num_processes(), 2);
        assert_eq!(t.member_proc, [1, 0, 0]);
        assert!(matches!(
            MemberTable::from_members([("a", "p"), ("a", "q")]),
            Err(AssignorError::DuplicateMember { .. })
        ));
    }
}
