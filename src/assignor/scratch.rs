//! Reuse of the assignors' working vectors between calls on one thread.
//!
//! An assignment call needs a dozen index vectors sized by members, processes
//! and tasks. Allocating and freeing them costs as much as the work itself in
//! small groups, so a call borrows them from a per-thread pool and gives them
//! back when it ends. Only capacity is reused: every vector handed out is
//! cleared and filled, so no value crosses from one call to the next and the
//! assignors stay stateless. The pool keeps at most [`MAX_POOLED`] vectors of
//! at most [`MAX_POOLED_LEN`] elements each (≤ 8 MiB per thread), and
//! [`MAX_POOLED_WIDE`] `u64` vectors of that length at most (≤ 2 MiB); larger
//! ones are freed.

use std::cell::Cell;

/// Most vectors kept per thread.
const MAX_POOLED: usize = 32;
/// Largest vector (in elements) kept for reuse.
const MAX_POOLED_LEN: usize = 1 << 16;

thread_local! {
    static POOL: Cell<Vec<Vec<u32>>> = const { Cell::new(Vec::new()) };
    static WIDE_POOL: Cell<Vec<Vec<u64>>> = const { Cell::new(Vec::new()) };
}

/// Most `u64` vectors kept per thread (the member heap keys).
const MAX_POOLED_WIDE: usize = 4;

/// The calling thread's pool, taken for the length of one call; it goes back
/// to the thread when dropped (also on an early error return).
pub(crate) struct Scratch {
    free: Vec<Vec<u32>>,
    wide: Vec<Vec<u64>>,
}

impl Scratch {
    /// Takes the thread's pool (an empty one if another `Scratch` of this
    /// thread is alive).
    pub(crate) fn take() -> Self {
        Scratch {
            free: POOL.with(Cell::take),
            wide: WIDE_POOL.with(Cell::take),
        }
    }

    /// A `u64` vector of `n` elements, all `fill`.
    #[inline]
    pub(crate) fn filled_wide(&mut self, n: usize, fill: u64) -> Vec<u64> {
        let mut v = self.wide.pop().unwrap_or_default();
        v.clear();
        v.resize(n, fill);
        v
    }

    /// Returns a `u64` vector to the pool (same bounds as [`Scratch::give`]).
    #[inline]
    pub(crate) fn give_wide(&mut self, v: Vec<u64>) {
        if v.capacity() != 0 && v.capacity() <= MAX_POOLED_LEN && self.wide.len() < MAX_POOLED_WIDE
        {
            self.wide.push(v);
        }
    }

    /// A vector of `n` elements, all `fill`.
    #[inline]
    pub(crate) fn filled(&mut self, n: usize, fill: u32) -> Vec<u32> {
        let mut v = self.empty(n);
        v.resize(n, fill);
        v
    }

    /// An empty vector with room for `n` elements.
    #[inline]
    pub(crate) fn empty(&mut self, n: usize) -> Vec<u32> {
        match self.free.pop() {
            Some(mut v) => {
                v.clear();
                v.reserve(n);
                v
            }
            None => Vec::with_capacity(n),
        }
    }

    /// Returns a vector to the pool (freed when the pool is full or the
    /// vector is large).
    #[inline]
    pub(crate) fn give(&mut self, v: Vec<u32>) {
        if v.capacity() != 0 && v.capacity() <= MAX_POOLED_LEN && self.free.len() < MAX_POOLED {
            self.free.push(v);
        }
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let free = std::mem::take(&mut self.free);
        POOL.with(|p| p.set(free));
        let wide = std::mem::take(&mut self.wide);
        WIDE_POOL.with(|p| p.set(wide));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vectors_come_back_cleared_and_filled() {
        let mut s = Scratch::take();
        let mut v = s.filled(4, 7);
        assert_eq!(v, [7, 7, 7, 7]);
        v[0] = 1;
        s.give(v);
        let w = s.filled(3, 0);
        assert_eq!(w, [0, 0, 0]);
        let e = s.empty(10);
        assert!(e.is_empty() && e.capacity() >= 10);
    }

    #[test]
    fn the_pool_survives_the_call_and_stays_bounded() {
        {
            let mut s = Scratch::take();
            for _ in 0..MAX_POOLED + 5 {
                let v = Vec::with_capacity(8);
                s.give(v);
            }
            s.give(Vec::with_capacity(MAX_POOLED_LEN + 1));
            assert_eq!(s.free.len(), MAX_POOLED);
        }
        let s = Scratch::take();
        assert_eq!(s.free.len(), MAX_POOLED);
        assert!(s.free.iter().all(|v| v.capacity() <= MAX_POOLED_LEN));
    }
}
