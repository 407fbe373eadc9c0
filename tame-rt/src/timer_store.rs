//! The timer store: the structure that keeps pending timers.
//!
//! A data structure of the loop, which owns one per thread; the functions that reach it
//! through the loop (`timer`, `at`) are a layer above, in `timer`.
//!
//! # The structure
//! A hierarchical timing wheel over a slab of entries, as in tokio's timer driver and the
//! Linux kernel's: time counts in ticks of 1 ms from the first timer's insertion, and 7
//! levels of 64 slots each cover the next 64, 64², … 64⁷ ticks (139 years). A timer goes in
//! the slot of the lowest level whose span around the wheel's current tick (`elapsed`)
//! contains its tick; each slot is a doubly linked list of entries (indices into the slab),
//! and each level keeps a bitmap of its non-empty slots.
//!
//! - **Insert**: O(1): compute the level and slot, append to the slot's list.
//! - **Cancel**: O(1): unlink the entry and free it; the event (and what it holds) is dropped
//!   at once, and the loop no longer counts the timer as pending work.
//! - **Expire**: the next slot to process is found from the bitmaps, lowest level first (a
//!   lower level always comes first). A slot of level 0 is one tick: its timers whose
//!   deadline has passed fire, sorted by deadline, then by insertion (`seq`); one of a higher
//!   level is *cascaded*: its timers move to lower levels. Each timer cascades at most 6
//!   times in its life.
//!
//! Ticks are rounded up from deadlines and down from the present, and `expire` also looks
//! into the slot of the next tick for timers whose deadline has passed, so a timer fires
//! exactly when its deadline is at or before `now`, never before it, and the loop sleeps
//! until the precise earliest deadline of the next level-0 slot (or until a cascade is due).
//!
//! A *background* timer (`timer_background`) lives in the wheel like any other; it is only
//! counted apart, so that the loop can tell whether a pending timer keeps it alive.
//!
//! Invariants: `live` is the number of live entries, `background` the number of those that
//! are background timers; every live entry is on exactly one slot's list, the one its `at`
//! names; a slot's bit is set exactly when its list is not empty. `check` verifies all four
//! where a full count is cheap (draining, and in the tests); every link and unlink checks its
//! own entry.
//!
//! A timer whose event can be cancelled (an event of a [`Rendezvous`](crate::Rendezvous), as
//! `add_timeout` uses) attaches an allocation-free internal hook that cancels the timer.

use std::time::{Duration, Instant};

use smallvec::SmallVec;

use crate::event::Event;

const NONE: u32 = u32::MAX;
/// Bits of a tick per level: 64 slots.
const BITS: u32 = 6;
const SLOTS: usize = 1 << BITS;
const LEVELS: usize = 7;
/// Ticks the wheel spans: a timer further away is placed at the far end, and put back when
/// its slot comes.
const SPAN: u64 = 1 << (BITS as usize * LEVELS);

struct Entry {
    /// `None`: free (then `next` links the free list), or reserved and not filled yet.
    ev: Option<Event<()>>,
    deadline: Instant,
    tick: u64,
    seq: u64,
    prev: u32,
    next: u32,
    /// `level * 64 + slot` of the list it is on.
    at: u16,
    /// A background timer: it does not keep the loop alive (counted in `background`).
    background: bool,
}

pub(crate) struct Timers {
    entries: Vec<Entry>,
    free: u32,
    seq: u64,
    live: usize,
    /// How many of the live entries are background timers.
    background: usize,
    /// The instant of tick 0: the first insertion.
    origin: Option<Instant>,
    /// The wheel's current tick: every slot before it has been processed.
    elapsed: u64,
    heads: [[u32; SLOTS]; LEVELS],
    tails: [[u32; SLOTS]; LEVELS],
    occupied: [u64; LEVELS],
}

impl Timers {
    pub(crate) const fn new() -> Self {
        Timers {
            entries: Vec::new(),
            free: NONE,
            seq: 0,
            live: 0,
            background: 0,
            origin: None,
            elapsed: 0,
            heads: [[NONE; SLOTS]; LEVELS],
            tails: [[NONE; SLOTS]; LEVELS],
            occupied: [0; LEVELS],
        }
    }

    pub(crate) fn live(&self) -> usize {
        self.live
    }

    /// Whether a pending timer keeps the loop alive (one that is not a background timer).
    pub(crate) fn keeps_alive(&self) -> bool {
        self.live > self.background
    }

    /// Starts the wheel afresh with tick 0 at `origin` (`None`: at the next insertion), for a
    /// new clock. Only while no timer is pending: the ticks of pending ones would be wrong.
    pub(crate) fn restart(&mut self, origin: Option<Instant>) {
        assert_eq!(self.live, 0, "timer store: restarted with timers pending");
        self.origin = origin;
        self.elapsed = 0;
    }

    /// Stores `ev` to fire at `deadline`; returns `(index, seq)` for cancellation.
    #[cfg(test)]
    pub(crate) fn insert(&mut self, deadline: Instant, ev: Event<()>) -> (u32, u64) {
        let (idx, seq) = self.reserve_key();
        self.fill(idx, seq, deadline, ev, false);
        (idx, seq)
    }

    /// Reserves a slab entry and a sequence number for a timer about to be stored with
    /// [`fill`](Timers::fill). Until then the entry is off the free list and off every slot.
    pub(crate) fn reserve_key(&mut self) -> (u32, u64) {
        let idx = if self.free != NONE {
            let i = self.free;
            self.free = self.entries[i as usize].next;
            i
        } else {
            let i = u32::try_from(self.entries.len())
                .ok()
                .filter(|&i| i != NONE)
                .expect("more than 4 billion pending timers");
            self.entries.push(Entry {
                ev: None,
                deadline: Instant::now(),
                tick: 0,
                seq: 0,
                prev: NONE,
                next: NONE,
                at: 0,
                background: false,
            });
            i
        };
        self.seq += 1;
        self.entries[idx as usize].seq = self.seq;
        (idx, self.seq)
    }

    /// Stores `ev` in the entry `(idx, seq)` reserved for it, to fire at `deadline`; a
    /// `background` timer does not count in [`keeps_alive`](Timers::keeps_alive).
    #[inline(always)]
    pub(crate) fn fill(
        &mut self,
        idx: u32,
        seq: u64,
        deadline: Instant,
        ev: Event<()>,
        background: bool,
    ) {
        let origin = *self.origin.get_or_insert_with(Instant::now);
        let e = &mut self.entries[idx as usize];
        debug_assert!(
            e.ev.is_none() && e.seq == seq,
            "timer store: filling a used entry"
        );
        e.ev = Some(ev);
        e.deadline = deadline;
        e.tick = self.elapsed.max(ceil_tick(origin, deadline));
        e.background = background;
        self.live += 1;
        self.background += usize::from(background);
        self.link(idx);
    }

    /// Whether the timer `(idx, seq)` is still pending.
    pub(crate) fn is_pending(&self, idx: u32, seq: u64) -> bool {
        self.entries
            .get(idx as usize)
            .is_some_and(|e| e.seq == seq && e.ev.is_some())
    }

    /// Removes the timer `(idx, seq)` if it is still pending; returns its event.
    pub(crate) fn cancel(&mut self, idx: u32, seq: u64) -> Option<Event<()>> {
        match self.entries.get(idx as usize) {
            Some(e) if e.seq == seq && e.ev.is_some() => {}
            _ => return None,
        }
        self.unlink(idx);
        Some(self.release(idx))
    }

    /// The instant to wake up at: the earliest deadline of the next slot of level 0, or, when
    /// the next slot is a higher level's, the tick before its first (never after any
    /// pending deadline).
    pub(crate) fn next_deadline(&mut self) -> Option<Instant> {
        let origin = self.origin?;
        let (level, slot, tick) = self.next_expiration()?;
        if level > 0 {
            // A cascade is due: the slot's timers have deadlines after the end of the tick
            // before its first (a deadline rounds up to its tick), and `expire` at that
            // instant cascades it, then fires what is due in its first tick.
            return origin.checked_add(Duration::from_millis(tick - 1));
        }
        let mut i = self.heads[0][slot];
        let mut first: Option<Instant> = None;
        while i != NONE {
            let e = &self.entries[i as usize];
            first = Some(first.map_or(e.deadline, |f| f.min(e.deadline)));
            i = e.next;
        }
        first
    }

    /// The earliest pending deadline, exactly (the virtual clock jumps to it). Where the next
    /// slot is a higher level's, it is cascaded first, as `expire` at the instant
    /// [`next_deadline`](Timers::next_deadline) gives would do (nothing is due then), until the
    /// next slot is of level 0.
    pub(crate) fn earliest_deadline(&mut self) -> Option<Instant> {
        loop {
            let (level, _, _) = self.next_expiration()?;
            let d = self.next_deadline()?;
            if level == 0 {
                return Some(d);
            }
            let mut due = Vec::new();
            self.expire(d, &mut due);
            debug_assert!(
                due.is_empty(),
                "timer store: a timer was due before a cascade"
            );
        }
    }

    /// Moves the events of every timer due at `now` into `out`, in deadline order (ties in
    /// insertion order).
    pub(crate) fn expire(&mut self, now: Instant, out: &mut Vec<Event<()>>) {
        let Some(origin) = self.origin else { return };
        let now_tick = floor_tick(origin, now);
        // The slot of the next tick may hold timers whose deadline has passed too (a deadline
        // rounds up to its tick, `now` rounds down).
        let limit = now_tick + 1;
        while let Some((level, slot, tick)) = self.next_expiration() {
            if tick > limit {
                break;
            }
            self.elapsed = self.elapsed.max(tick);
            if level > 0 {
                self.cascade(level, slot);
                continue;
            }
            let mut due: SmallVec<[(Instant, u64, u32); 8]> = SmallVec::new();
            let mut later: SmallVec<[u32; 4]> = SmallVec::new();
            let mut i = self.heads[0][slot];
            while i != NONE {
                let e = &self.entries[i as usize];
                let next = e.next;
                if e.deadline <= now {
                    due.push((e.deadline, e.seq, i));
                } else if tick < limit {
                    later.push(i); // beyond the wheel's span when set: placed again
                }
                i = next;
            }
            due.sort_unstable();
            for (_, _, idx) in due {
                self.unlink(idx);
                out.push(self.release(idx));
            }
            for idx in later {
                self.unlink(idx);
                let e = &mut self.entries[idx as usize];
                e.tick = ceil_tick(origin, e.deadline).max(self.elapsed + 1);
                self.link(idx);
            }
            if tick == limit {
                break; // what stays in that slot is not due yet
            }
        }
        self.elapsed = self.elapsed.max(now_tick);
    }

    /// Moves the events of every pending timer into `out` and empties the structure (a run
    /// that unwound is being abandoned). `seq` goes on counting, so the cancel hook of a timer
    /// drained here can never match a timer set later.
    pub(crate) fn drain_into(&mut self, out: &mut Vec<Event<()>>) {
        self.check();
        out.extend(self.entries.drain(..).filter_map(|e| e.ev));
        self.free = NONE;
        self.live = 0;
        self.background = 0;
        self.heads = [[NONE; SLOTS]; LEVELS];
        self.tails = [[NONE; SLOTS]; LEVELS];
        self.occupied = [0; LEVELS];
    }

    /// The next slot to process: `(level, slot, its first tick)`, lowest level first.
    fn next_expiration(&self) -> Option<(usize, usize, u64)> {
        for level in 0..LEVELS {
            let occupied = self.occupied[level];
            if occupied == 0 {
                continue;
            }
            let shift = BITS * level as u32;
            let now_slot = ((self.elapsed >> shift) as u32) & (SLOTS as u32 - 1);
            let slot =
                (occupied.rotate_right(now_slot).trailing_zeros() + now_slot) as usize % SLOTS;
            let range = 1u64 << (shift + BITS);
            let mut tick = (self.elapsed & !(range - 1)) + ((slot as u64) << shift);
            // A slot before the current one, or (above level 0) the current one itself, is
            // in the next turn of that level: only a timer beyond the span lands there.
            if (slot as u32) < now_slot || (level > 0 && slot as u32 == now_slot) {
                tick += range;
            }
            return Some((level, slot, tick));
        }
        None
    }

    /// Where tick `tick` goes relative to `elapsed`: `(level, slot)`.
    fn position(&self, tick: u64) -> (usize, usize) {
        let tick = tick.min(self.elapsed + SPAN - 1);
        let masked = (self.elapsed ^ tick) | (SLOTS as u64 - 1);
        let significant = 63 - masked.leading_zeros();
        let level = ((significant / BITS) as usize).min(LEVELS - 1);
        let slot = ((tick >> (BITS * level as u32)) as usize) & (SLOTS - 1);
        (level, slot)
    }

    /// Appends entry `idx` to the list of the slot its tick belongs in.
    fn link(&mut self, idx: u32) {
        let (level, slot) = self.position(self.entries[idx as usize].tick);
        let tail = self.tails[level][slot];
        {
            let e = &mut self.entries[idx as usize];
            e.prev = tail;
            e.next = NONE;
            e.at = (level * SLOTS + slot) as u16;
        }
        if tail == NONE {
            debug_assert_eq!(
                self.occupied[level] & (1 << slot),
                0,
                "timer store: empty slot marked"
            );
            self.heads[level][slot] = idx;
            self.occupied[level] |= 1 << slot;
        } else {
            self.entries[tail as usize].next = idx;
        }
        self.tails[level][slot] = idx;
    }

    /// Takes entry `idx` off its slot's list.
    fn unlink(&mut self, idx: u32) {
        let (prev, next, at) = {
            let e = &self.entries[idx as usize];
            (e.prev, e.next, e.at as usize)
        };
        let (level, slot) = (at / SLOTS, at % SLOTS);
        debug_assert!(
            self.occupied[level] & (1 << slot) != 0,
            "timer store: an entry on a slot marked empty"
        );
        if prev == NONE {
            debug_assert_eq!(
                self.heads[level][slot], idx,
                "timer store: a list lost its head"
            );
            self.heads[level][slot] = next;
        } else {
            self.entries[prev as usize].next = next;
        }
        if next == NONE {
            self.tails[level][slot] = prev;
        } else {
            self.entries[next as usize].prev = prev;
        }
        if self.heads[level][slot] == NONE {
            self.occupied[level] &= !(1 << slot);
        }
    }

    /// Moves every timer of a higher-level slot down, in list order (FIFO kept).
    fn cascade(&mut self, level: usize, slot: usize) {
        let mut i = self.heads[level][slot];
        self.heads[level][slot] = NONE;
        self.tails[level][slot] = NONE;
        self.occupied[level] &= !(1 << slot);
        while i != NONE {
            let next = self.entries[i as usize].next;
            self.link(i);
            i = next;
        }
    }

    fn release(&mut self, idx: u32) -> Event<()> {
        let e = &mut self.entries[idx as usize];
        let ev = e.ev.take().expect("timer store: released a free entry");
        e.next = self.free;
        e.prev = NONE;
        self.free = idx;
        self.live -= 1;
        self.background -= usize::from(e.background);
        ev
    }

    /// Debug builds: checks the invariants of the module docs (O(n): when the store is
    /// drained, and in the tests).
    fn check(&self) {
        #[cfg(debug_assertions)]
        {
            let live = self.entries.iter().filter(|e| e.ev.is_some()).count();
            assert_eq!(
                live, self.live,
                "timer store: `live` is not the number of live entries"
            );
            let background = self
                .entries
                .iter()
                .filter(|e| e.ev.is_some() && e.background)
                .count();
            assert_eq!(
                background, self.background,
                "timer store: `background` is not the number of live background entries"
            );
            let mut listed = 0;
            for level in 0..LEVELS {
                for slot in 0..SLOTS {
                    let mut i = self.heads[level][slot];
                    assert_eq!(
                        i != NONE,
                        self.occupied[level] & (1 << slot) != 0,
                        "timer store: a slot's bit does not say whether its list is empty"
                    );
                    while i != NONE {
                        let e = &self.entries[i as usize];
                        assert!(
                            e.ev.is_some() && e.at as usize == level * SLOTS + slot,
                            "timer store: a live timer is not on the list of its slot"
                        );
                        listed += 1;
                        i = e.next;
                    }
                }
            }
            assert_eq!(
                listed, self.live,
                "timer store: a live timer is not on the list of its slot"
            );
        }
    }
}

/// The tick at or after `t` (a deadline rounds up: a timer never fires early).
fn ceil_tick(origin: Instant, t: Instant) -> u64 {
    let d = t.saturating_duration_since(origin);
    // Whole milliseconds without a 128-bit division.
    let nanos = d.subsec_nanos();
    let ms = d
        .as_secs()
        .saturating_mul(1000)
        .saturating_add(u64::from(nanos / 1_000_000));
    if !nanos.is_multiple_of(1_000_000) {
        ms.saturating_add(1)
    } else {
        ms
    }
}

/// The tick at or before `t`.
fn floor_tick(origin: Instant, t: Instant) -> u64 {
    let d = t.saturating_duration_since(origin);
    d.as_secs()
        .saturating_mul(1000)
        .saturating_add(u64::from(d.subsec_millis()))
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
    #[should_panic(expected = "timer store: a slot's bit does not say whether its list is empty")]
    fn a_slot_marked_empty_with_a_timer_on_it_trips_the_check() {
        let r = crate::Rendezvous::<(), ()>::new();
        let mut t = Timers::new();
        let now = Instant::now();
        t.insert(now, r.event(()));
        t.occupied = [0; LEVELS];
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
    fn cancel_frees_at_once_and_reuses_entries() {
        let r: Rendezvous<(), ()> = Rendezvous::new();
        let mut t = Timers::new();
        let t0 = Instant::now();
        for i in 0..10_000u64 {
            let (idx, seq) = t.insert(t0 + Duration::from_secs(i), r.event(()));
            assert!(t.cancel(idx, seq).is_some());
            assert!(t.cancel(idx, seq).is_none(), "second cancel is a no-op");
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

    /// The wheel against a plain list: random deadlines from 0 to 2^40 ms away (beyond the
    /// wheel's levels too), random cancels, time moving on by random steps. Each `expire`
    /// fires exactly the timers due, in deadline then insertion order; `next_deadline` is
    /// never after the earliest pending deadline; the invariants hold throughout.
    #[test]
    #[cfg_attr(miri, ignore = "too slow under Miri")]
    fn the_wheel_fires_what_a_sorted_list_fires() {
        let r: Rendezvous<u64, ()> = Rendezvous::new();
        let mut t = Timers::new();
        let t0 = Instant::now();
        let mut x: u64 = 0x2545_f491_4f6c_dd1d;
        let mut rnd = |n: u64| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x % n
        };
        // (deadline, seq, idx, id)
        let mut model: Vec<(Instant, u64, u32, u64)> = Vec::new();
        let mut now = t0;
        let mut id = 0;
        for round in 0..3_000 {
            for _ in 0..rnd(8) {
                let away = match rnd(4) {
                    0 => Duration::from_micros(rnd(3_000)),
                    1 => Duration::from_millis(rnd(200)),
                    2 => Duration::from_millis(rnd(100_000)),
                    _ => Duration::from_millis(rnd(1 << 40)),
                };
                let deadline = now + away;
                let (idx, seq) = t.insert(deadline, r.event(id));
                model.push((deadline, seq, idx, id));
                id += 1;
            }
            if !model.is_empty() && rnd(3) == 0 {
                let k = rnd(model.len() as u64) as usize;
                let (_, seq, idx, _) = model.swap_remove(k);
                assert!(t.cancel(idx, seq).is_some());
            }
            if let Some(earliest) = model.iter().map(|m| m.0).min() {
                let next = t.next_deadline().expect("timers are pending");
                assert!(
                    next <= earliest,
                    "round {round}: would sleep past a deadline"
                );
            }
            now += match rnd(7) {
                0 => Duration::from_micros(rnd(2_000)),
                1 => Duration::from_millis(rnd(100)),
                2 => Duration::from_millis(rnd(10_000)),
                // Wake up when the loop would: at the next deadline it was given.
                3 => t
                    .next_deadline()
                    .map_or(Duration::ZERO, |d| d.saturating_duration_since(now)),
                // Jump as the virtual clock does: to the earliest deadline, exactly.
                4 => {
                    let earliest = model.iter().map(|m| m.0).min();
                    let found = t.earliest_deadline();
                    assert_eq!(found, earliest, "round {round}: the earliest deadline");
                    found.map_or(Duration::ZERO, |d| d.saturating_duration_since(now))
                }
                _ => Duration::ZERO,
            };
            let woken_at = t.next_deadline().filter(|&d| d <= now);
            let mut out = Vec::new();
            t.expire(now, &mut out);
            model.sort_by_key(|m| (m.0, m.1));
            let due: Vec<u64> = model.iter().filter(|m| m.0 <= now).map(|m| m.3).collect();
            model.retain(|m| m.0 > now);
            for e in out {
                e.trigger(());
            }
            let fired: Vec<u64> = std::iter::from_fn(|| r.try_join().map(|(i, ())| i)).collect();
            assert_eq!(fired, due, "round {round}");
            if let Some(w) = woken_at {
                // A wake-up makes progress: something fired, or the next one is later.
                assert!(
                    !fired.is_empty() || t.next_deadline().is_none_or(|d| d > w),
                    "round {round}: woken for nothing, and would be woken again at once"
                );
            }
            assert_eq!(t.live(), model.len());
            t.check();
        }
    }

    #[test]
    fn background_timers_are_counted_apart_and_do_not_keep_the_loop_alive() {
        let r: Rendezvous<u32, ()> = Rendezvous::new();
        let mut t = Timers::new();
        let t0 = Instant::now();
        let (idx, seq) = t.reserve_key();
        t.fill(idx, seq, t0 + Duration::from_millis(5), r.event(1), true);
        assert_eq!(t.live(), 1);
        assert!(!t.keeps_alive(), "only a background timer");
        let fg = t.insert(t0 + Duration::from_millis(10), r.event(2));
        assert!(t.keeps_alive());
        t.check();
        let mut out = Vec::new();
        t.expire(t0 + Duration::from_millis(5), &mut out);
        assert_eq!(out.len(), 1, "the background timer fires like any other");
        assert!(t.keeps_alive());
        assert!(t.cancel(fg.0, fg.1).is_some());
        assert!(!t.keeps_alive());
        assert_eq!(t.live(), 0);
        t.check();
        t.restart(Some(t0));
    }

    #[test]
    #[should_panic(expected = "timer store: restarted with timers pending")]
    fn restarting_the_wheel_with_timers_pending_is_refused() {
        let r: Rendezvous<u32, ()> = Rendezvous::new();
        let mut t = Timers::new();
        t.insert(Instant::now(), r.event(1));
        t.restart(None);
    }

    #[test]
    fn a_timer_beyond_the_wheel_waits_for_its_deadline() {
        let r: Rendezvous<u32, ()> = Rendezvous::new();
        let mut t = Timers::new();
        let t0 = Instant::now();
        let far = t0 + Duration::from_secs(60 * 60 * 24 * 365 * 200); // beyond 2^42 ms
        t.insert(far, r.event(1));
        let mut out = Vec::new();
        for years in [1u64, 50, 139, 150, 199] {
            t.expire(
                t0 + Duration::from_secs(60 * 60 * 24 * 365 * years),
                &mut out,
            );
            assert!(out.is_empty(), "fired after {years} years");
            assert!(t.next_deadline().is_some_and(|d| d <= far));
        }
        t.expire(far, &mut out);
        assert_eq!(out.len(), 1);
        t.check();
    }
}
