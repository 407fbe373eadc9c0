//! The timer store: the structure that keeps pending timers.
//!
//! A data structure of the loop, which owns one per thread; the functions that reach it
//! through the loop (`timer`, `at`) are a layer above, in `timer`.
//!
//! # The structure
//! A binary min-heap of `(deadline, seq, index)` keys over a slab of entries holding the
//! events. `seq` grows by one per insert, so equal deadlines fire in insertion order, and it
//! doubles as the entry's generation: a heap key whose `seq` no longer matches its slab entry
//! is a *tombstone* (the timer was cancelled) and is skipped when it reaches the top.
//!
//! Costs with `n` keys in the heap: insert O(log n); fire O(log n) each; cancel O(1) (the
//! slab entry is emptied at once, so the event and anything it holds is freed at once, and the
//! loop no longer counts the timer as pending work). Tombstones are bounded: when they
//! outnumber live timers (plus a small slack), the heap is rebuilt from the live keys in O(n),
//! which is O(1) amortised per cancel, so memory stays within a constant factor of the live
//! timers whatever the cancel pattern.
//!
//! Invariants: `live == number of Some entries`; every `Some` entry has exactly one heap key
//! with its `seq`; `tombstones == heap.len() - live`.
//!
//! A timer whose event can be cancelled (an event of a [`Rendezvous`](crate::Rendezvous), as
//! `add_timeout` uses) attaches an allocation-free internal hook that cancels the timer.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::time::Instant;

use crate::event::Event;

const NONE: u32 = u32::MAX;
/// Tombstones tolerated beyond the live count before a rebuild.
const SLACK: usize = 64;

enum Entry {
    Live { seq: u64, ev: Event<()> },
    Free { next: u32 },
}

pub(crate) struct Timers {
    heap: BinaryHeap<Reverse<(Instant, u64, u32)>>,
    entries: Vec<Entry>,
    free: u32,
    seq: u64,
    live: usize,
}

impl Timers {
    pub(crate) const fn new() -> Self {
        Timers {
            heap: BinaryHeap::new(),
            entries: Vec::new(),
            free: NONE,
            seq: 0,
            live: 0,
        }
    }

    pub(crate) fn live(&self) -> usize {
        self.live
    }

    /// Stores `ev` to fire at `deadline`; returns `(index, seq)` for cancellation.
    #[cfg(test)]
    pub(crate) fn insert(&mut self, deadline: Instant, ev: Event<()>) -> (u32, u64) {
        let (idx, seq) = self.reserve_key();
        self.fill(idx, seq, deadline, ev);
        (idx, seq)
    }

    /// Removes the timer `(idx, seq)` if it is still pending; returns its event.
    pub(crate) fn cancel(&mut self, idx: u32, seq: u64) -> Option<Event<()>> {
        match self.entries.get(idx as usize) {
            Some(Entry::Live { seq: s, .. }) if *s == seq => {}
            _ => return None,
        }
        let ev = self.release(idx);
        debug_assert!(
            self.heap.len() >= self.live,
            "timer store: a live timer has no key"
        );
        if self.heap.len() - self.live > self.live + SLACK {
            self.rebuild();
        }
        Some(ev)
    }

    fn release(&mut self, idx: u32) -> Event<()> {
        let old = std::mem::replace(
            &mut self.entries[idx as usize],
            Entry::Free { next: self.free },
        );
        self.free = idx;
        self.live -= 1;
        match old {
            Entry::Live { ev, .. } => ev,
            Entry::Free { .. } => unreachable!("released a free timer entry"),
        }
    }

    fn is_current(&self, seq: u64, idx: u32) -> bool {
        matches!(self.entries[idx as usize], Entry::Live { seq: s, .. } if s == seq)
    }

    /// Drops every tombstone from the heap (O(n)).
    fn rebuild(&mut self) {
        let mut keys = std::mem::take(&mut self.heap).into_vec();
        keys.retain(|Reverse((_, seq, idx))| self.is_current(*seq, *idx));
        self.heap = BinaryHeap::from(keys);
        self.check();
    }

    /// Debug builds: checks the invariants of the module docs (O(n): where the heap is
    /// rebuilt, which is O(n) already, and when the store is drained). Without tombstones,
    /// every key is a live entry's and every live entry has one.
    fn check(&self) {
        #[cfg(debug_assertions)]
        {
            let live = self
                .entries
                .iter()
                .filter(|e| matches!(e, Entry::Live { .. }))
                .count();
            assert_eq!(
                live, self.live,
                "timer store: `live` is not the number of live entries"
            );
            let current = self
                .heap
                .iter()
                .filter(|Reverse((_, seq, idx))| self.is_current(*seq, *idx))
                .count();
            assert_eq!(
                current, self.live,
                "timer store: a live timer has no heap key, or more than one"
            );
        }
    }

    /// The earliest live deadline, discarding tombstones found on top.
    pub(crate) fn next_deadline(&mut self) -> Option<Instant> {
        while let Some(Reverse((d, seq, idx))) = self.heap.peek().copied() {
            if self.is_current(seq, idx) {
                return Some(d);
            }
            self.heap.pop();
        }
        None
    }

    /// Moves the events of every timer due at `now` into `out`, in deadline order.
    pub(crate) fn expire(&mut self, now: Instant, out: &mut Vec<Event<()>>) {
        while let Some(Reverse((d, seq, idx))) = self.heap.peek().copied() {
            if d > now {
                break;
            }
            self.heap.pop();
            if self.is_current(seq, idx) {
                out.push(self.release(idx));
            }
        }
    }

    /// Moves the events of every pending timer into `out` and empties the structure (a run
    /// that unwound is being abandoned). `seq` goes on counting, so the cancel hook of a timer
    /// drained here can never match a timer set later.
    pub(crate) fn drain_into(&mut self, out: &mut Vec<Event<()>>) {
        self.check();
        self.heap.clear();
        self.free = NONE;
        self.live = 0;
        out.extend(self.entries.drain(..).filter_map(|e| match e {
            Entry::Live { ev, .. } => Some(ev),
            Entry::Free { .. } => None,
        }));
    }

    #[cfg(test)]
    fn heap_len(&self) -> usize {
        self.heap.len()
    }
}

impl Timers {
    /// Reserves a slab entry and a sequence number for a timer about to be stored with
    /// [`fill`](Timers::fill); the entry is held as a placeholder meanwhile.
    /// Until then the entry is `Free` but off the free list, and no heap key refers to it.
    pub(crate) fn reserve_key(&mut self) -> (u32, u64) {
        let idx = if self.free != NONE {
            let i = self.free;
            self.free = match self.entries[i as usize] {
                Entry::Free { next } => next,
                Entry::Live { .. } => unreachable!("timer free list points at a live entry"),
            };
            i
        } else {
            let i = u32::try_from(self.entries.len())
                .ok()
                .filter(|&i| i != NONE)
                .expect("more than 4 billion pending timers");
            self.entries.push(Entry::Free { next: NONE });
            i
        };
        self.seq += 1;
        (idx, self.seq)
    }

    pub(crate) fn fill(&mut self, idx: u32, seq: u64, deadline: Instant, ev: Event<()>) {
        self.entries[idx as usize] = Entry::Live { seq, ev };
        self.live += 1;
        self.heap.push(Reverse((deadline, seq, idx)));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    #[cfg(debug_assertions)]
    #[should_panic(expected = "timer store: `live` is not the number of live entries")]
    fn a_miscounted_timer_trips_the_check() {
        let r = crate::Rendezvous::<(), ()>::new();
        let mut t = Timers::new();
        let now = Instant::now();
        t.insert(now, r.event(()));
        t.insert(now, r.event(()));
        t.live += 1;
        t.drain_into(&mut Vec::new());
    }

    #[test]
    #[cfg(debug_assertions)]
    #[should_panic(expected = "timer store: a live timer has no heap key, or more than one")]
    fn a_timer_without_its_key_trips_the_check() {
        let r = crate::Rendezvous::<(), ()>::new();
        let mut t = Timers::new();
        let now = Instant::now();
        t.insert(now, r.event(()));
        t.heap.clear();
        t.drain_into(&mut Vec::new());
    }
    use crate::Rendezvous;
    use std::time::Duration;

    #[test]
    fn fires_in_deadline_then_insertion_order() {
        let r: Rendezvous<u32, ()> = Rendezvous::new();
        let mut t = Timers::new();
        let t0 = Instant::now();
        t.insert(t0 + Duration::from_millis(2), r.event(0));
        t.insert(t0 + Duration::from_millis(1), r.event(1));
        t.insert(t0 + Duration::from_millis(1), r.event(2));
        let mut out = Vec::new();
        t.expire(t0 + Duration::from_millis(1), &mut out);
        assert_eq!(out.len(), 2);
        for e in out.drain(..) {
            e.trigger(());
        }
        assert_eq!(r.try_join().map(|x| x.0), Some(1));
        assert_eq!(r.try_join().map(|x| x.0), Some(2));
        assert_eq!(t.live(), 1);
        assert_eq!(t.next_deadline(), Some(t0 + Duration::from_millis(2)));
    }

    #[test]
    #[cfg_attr(miri, ignore = "too slow under Miri")]
    fn cancel_frees_at_once_and_tombstones_stay_bounded() {
        let r: Rendezvous<(), ()> = Rendezvous::new();
        let mut t = Timers::new();
        let t0 = Instant::now();
        for i in 0..10_000u64 {
            let (idx, seq) = t.insert(t0 + Duration::from_secs(i), r.event(()));
            assert!(t.cancel(idx, seq).is_some());
            assert!(t.cancel(idx, seq).is_none(), "second cancel is a no-op");
            assert!(t.heap_len() <= 2 * t.live() + SLACK + 1);
        }
        assert_eq!(t.live(), 0);
        assert_eq!(t.next_deadline(), None);
        assert!(t.entries.len() <= 1, "slab entries are reused");
    }

    #[test]
    fn stale_key_does_not_cancel_a_reused_entry() {
        let r: Rendezvous<(), ()> = Rendezvous::new();
        let mut t = Timers::new();
        let t0 = Instant::now();
        let (i1, s1) = t.insert(t0, r.event(()));
        drop(t.cancel(i1, s1));
        let (i2, s2) = t.insert(t0, r.event(()));
        assert_eq!(i1, i2);
        assert!(t.cancel(i1, s1).is_none());
        assert!(t.cancel(i2, s2).is_some());
    }
}
