//! A small open-addressing index from strings to dense `u32` indices.
//!
//! Used to intern subtopology ids (once per task space) and process ids (once
//! per `assign` call). Hashing is XXH3-64 (the crate's one string hash),
//! lookups compare the full string, so the result never depends on hash
//! collisions, only the speed does.
//!
//! In front of the hash table sits a direct-mapped table on a much cheaper
//! hash (two words of the key and its length, one multiplication): a lookup
//! that finds its key there skips XXH3 and the probe. It holds one index per
//! slot, overwritten on collision and never probed, so keys crafted to collide
//! on the cheap hash only send lookups to the XXH3 table, never make them
//! slower than one extra comparison.

// The loads below index `b[at..at + 8]`: every caller passes `at + 8 <= len`,
// which keeps them a single load each.

/// The 8 bytes of `b` at `at..at + 8`, little-endian.
#[inline]
fn word(b: &[u8], at: usize) -> u64 {
    let mut w = [0u8; 8];
    w.copy_from_slice(&b[at..at + 8]);
    u64::from_le_bytes(w)
}

/// The hash of a key: XXH3-64, the crate's one string hash (also the group
/// metadata hash's and the topic plan's), fast on short ids.
#[inline]
fn hash_str(s: &str) -> u64 {
    xxhash_rust::xxh3::xxh3_64(s.as_bytes())
}

/// The quick table's hash: the first and last 8 bytes (or the whole key, if
/// shorter) and the length, mixed by one multiplication, whose top bits
/// depend on every input bit (the slot is taken from them). Ids that differ
/// only in their middle collide; they find their index through XXH3 instead.
#[inline(always)]
fn quick_hash(s: &str) -> u64 {
    let b = s.as_bytes();
    let n = b.len();
    let (x, y) = if n >= 8 {
        (word(b, 0), word(b, n - 8))
    } else {
        let mut w = [0u8; 8];
        w[..n].copy_from_slice(b);
        let v = u64::from_le_bytes(w);
        (v, v)
    };
    (x ^ y.rotate_left(29) ^ n as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15)
}

/// `a < b` in byte order (as `str` orders), word by word inline.
#[inline]
pub(crate) fn str_less(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    let n = a.len().min(b.len());
    if n < 8 {
        return a < b;
    }
    // Whole words, the last one ending at the common length: it overlaps
    // bytes already known equal, which cannot change the order.
    let mut at = 0;
    loop {
        let (x, y) = (be_word(a, at), be_word(b, at));
        if x != y {
            return x < y;
        }
        if at + 8 == n {
            return a.len() < b.len();
        }
        at = (at + 8).min(n - 8);
    }
}

/// The 8 bytes of `b` at `at..at + 8`, big-endian (so integer order is byte
/// order).
#[inline]
fn be_word(b: &[u8], at: usize) -> u64 {
    let mut w = [0u8; 8];
    w.copy_from_slice(&b[at..at + 8]);
    u64::from_be_bytes(w)
}

/// String equality, word by word inline for keys of 8 to 64 bytes.
#[inline]
pub(crate) fn same(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    let n = a.len();
    if n != b.len() {
        return false;
    }
    if (8..=64).contains(&n) {
        let mut i = 0;
        while i + 8 < n {
            if word(a, i) != word(b, i) {
                return false;
            }
            i += 8;
        }
        word(a, n - 8) == word(b, n - 8)
    } else {
        a == b
    }
}

const EMPTY: u32 = u32::MAX;

/// Maps strings to indices `0..n` in insertion order. The strings themselves are
/// kept by the caller; the index only stores hashes and positions.
#[derive(Clone, Debug, Default)]
pub(crate) struct StrIndex {
    /// `(hash, index)`; `index == EMPTY` marks a free slot.
    slots: Vec<(u64, u32)>,
    /// Direct-mapped by [`quick_hash`] (same size as `slots`): an index whose
    /// key may be the looked-up one, `EMPTY` if none. Written when a key is
    /// inserted or found by [`StrIndex::get_or_insert`]; cleared on growth.
    quick: Vec<u32>,
    /// `quick_hash >> quick_shift` is a slot of `quick` (64 − log2 of its size).
    quick_shift: u32,
    mask: usize,
    len: usize,
}

impl StrIndex {
    /// An index sized for `n` keys without growing.
    pub(crate) fn with_capacity(n: usize) -> Self {
        let cap = (n.max(4) * 2).next_power_of_two();
        StrIndex {
            slots: vec![(0, EMPTY); cap],
            quick: vec![EMPTY; cap],
            quick_shift: 64 - cap.trailing_zeros(),
            mask: cap - 1,
            len: 0,
        }
    }

    /// Looks `key` up; `key_of(i)` must return the string stored under index `i`.
    #[inline(always)]
    pub(crate) fn get<'k>(&self, key: &str, key_of: impl Fn(u32) -> &'k str) -> Option<u32> {
        if self.slots.is_empty() {
            return None;
        }
        let q = self.quick[(quick_hash(key) >> self.quick_shift) as usize];
        if q != EMPTY && same(key_of(q), key) {
            return Some(q);
        }
        let hash = hash_str(key);
        let mut i = (hash as usize) & self.mask;
        loop {
            let (h, idx) = self.slots[i];
            if idx == EMPTY {
                return None;
            }
            if h == hash && same(key_of(idx), key) {
                return Some(idx);
            }
            i = (i + 1) & self.mask;
        }
    }

    /// Returns the index of `key`, inserting it as index `self.len()` when absent
    /// (then the caller must store `key` under that index). The flag says whether
    /// it was inserted.
    #[inline]
    pub(crate) fn get_or_insert<'k>(
        &mut self,
        key: &str,
        key_of: impl Fn(u32) -> &'k str,
    ) -> (u32, bool) {
        if (self.len + 1) * 2 > self.slots.len() {
            self.grow();
        }
        let qi = (quick_hash(key) >> self.quick_shift) as usize;
        let q = self.quick[qi];
        if q != EMPTY && same(key_of(q), key) {
            return (q, false);
        }
        let hash = hash_str(key);
        let mut i = (hash as usize) & self.mask;
        loop {
            let (h, idx) = self.slots[i];
            if idx == EMPTY {
                let new = self.len as u32;
                self.slots[i] = (hash, new);
                self.quick[qi] = new;
                self.len += 1;
                return (new, true);
            }
            if h == hash && same(key_of(idx), key) {
                self.quick[qi] = idx;
                return (idx, false);
            }
            i = (i + 1) & self.mask;
        }
    }

    /// Number of keys.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// Longest probe sequence (occupied run) in the table.
    #[cfg(test)]
    fn longest_run(&self) -> usize {
        let (mut best, mut run) = (0, 0);
        for &(_, idx) in self.slots.iter().chain(self.slots.iter()) {
            run = if idx == EMPTY { 0 } else { run + 1 };
            best = best.max(run);
        }
        best.min(self.slots.len())
    }

    fn grow(&mut self) {
        let cap = (self.slots.len() * 2).max(8);
        let old = std::mem::replace(&mut self.slots, vec![(0, EMPTY); cap]);
        self.quick = vec![EMPTY; cap];
        self.quick_shift = 64 - cap.trailing_zeros();
        self.mask = cap - 1;
        for (hash, idx) in old {
            if idx == EMPTY {
                continue;
            }
            let mut i = (hash as usize) & self.mask;
            while self.slots[i].1 != EMPTY {
                i = (i + 1) & self.mask;
            }
            self.slots[i] = (hash, idx);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interns_in_insertion_order_and_finds_again() {
        let keys: Vec<String> = (0..1000).map(|i| format!("process-{i}")).collect();
        let mut index = StrIndex::with_capacity(2);
        for (n, k) in keys.iter().enumerate() {
            let (i, new) = index.get_or_insert(k, |i| keys[i as usize].as_str());
            assert!(new);
            assert_eq!(i as usize, n);
        }
        for (n, k) in keys.iter().enumerate() {
            let (i, new) = index.get_or_insert(k, |i| keys[i as usize].as_str());
            assert!(!new);
            assert_eq!(i as usize, n);
            assert_eq!(index.get(k, |i| keys[i as usize].as_str()), Some(n as u32));
        }
        assert_eq!(index.get("nope", |i| keys[i as usize].as_str()), None);
        assert_eq!(index.len(), 1000);
    }

    /// Keys equal in their first and last 8 bytes and length collide on the
    /// quick hash: each must still be found, and an absent one not.
    #[test]
    fn quick_table_collisions_fall_back_to_the_hash() {
        let keys: Vec<String> = (0..300)
            .map(|i| format!("aaaaaaaa{i:04}bbbbbbbb"))
            .collect();
        let mut index = StrIndex::with_capacity(4);
        for (n, k) in keys.iter().enumerate() {
            assert_eq!(
                index.get_or_insert(k, |i| keys[i as usize].as_str()),
                (n as u32, true)
            );
        }
        for _ in 0..2 {
            for (n, k) in keys.iter().enumerate().rev() {
                assert_eq!(index.get(k, |i| keys[i as usize].as_str()), Some(n as u32));
                assert_eq!(
                    index.get_or_insert(k, |i| keys[i as usize].as_str()),
                    (n as u32, false)
                );
            }
        }
        assert_eq!(
            index.get("aaaaaaaa9999bbbbbbbb", |i| keys[i as usize].as_str()),
            None
        );
        assert_eq!(index.get("short", |i| keys[i as usize].as_str()), None);
    }

    #[test]
    fn str_less_orders_like_str() {
        let words = [
            "",
            "a",
            "ab",
            "abcdefgh",
            "abcdefghi",
            "abcdefgg",
            "b",
            "member-10",
            "member-9",
            "member-100",
            "member-1",
            "member-11",
            "process-newMember",
            "process-99",
            "0123456789abcdefX",
            "0123456789abcdefY",
            "0123456789abcdefXY",
            "0123456789abcdeg",
            "topic-10_subtopology",
            "topic-1_subtopology",
        ];
        for a in words {
            for b in words {
                assert_eq!(str_less(a, b), a < b, "{a:?} < {b:?}");
            }
        }
    }

    #[test]
    fn str_less_orders_random_strings_like_str() {
        // Two-letter alphabet, lengths 0..=40: many long common prefixes.
        let mut x: u64 = 0x2545_F491_4F6C_DD1D;
        let mut next = || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        let words: Vec<String> = (0..400)
            .map(|_| {
                let len = (next() % 41) as usize;
                (0..len)
                    .map(|_| if next() % 8 == 0 { 'b' } else { 'a' })
                    .collect()
            })
            .collect();
        for a in &words {
            for b in &words {
                assert_eq!(str_less(a, b), a < b, "{a:?} < {b:?}");
            }
        }
    }

    #[test]
    fn sequential_ids_spread_over_the_table() {
        for fmt in [
            |i: usize| format!("process-{i}"),
            |i: usize| format!("topic-{i}_subtopology"),
            |i: usize| format!("{i}"),
            |i: usize| format!("00000000-0000-0000-0000-{i:012}"),
        ] {
            let keys: Vec<String> = (0..5000).map(fmt).collect();
            let mut index = StrIndex::with_capacity(keys.len());
            for k in &keys {
                index.get_or_insert(k, |i| keys[i as usize].as_str());
            }
            // Load factor 5000/16384: runs stay short with a hash that mixes.
            assert!(
                index.longest_run() < 40,
                "{} for {}",
                index.longest_run(),
                keys[1]
            );
        }
    }
}
