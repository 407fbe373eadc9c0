//! `Rendezvous<I, T>`: the receiving half — many events, joined one at a time.
//!
//! # State
//! A rendezvous owns a table of *slots*, one per event made and not yet consumed:
//!
//! | slot state | meaning | counted in |
//! |---|---|---|
//! | `Pending { id, hook, more }` | its event exists and may still trigger | `pending()` |
//! | `Cancelled` | `cancel()` ran while its event existed; the event's trigger will be dropped | nothing |
//! | `Free { next }` | no event refers to it; on the free list | nothing |
//!
//! Triggered values move at once to the `ready` queue (trigger order), so a slot is never
//! "triggered". A slot keeps its first `on_cancel` hook inline; further ones go to the side
//! table `extra_hooks`, tagged with the slot, and `more` says there are some (hooks are rare,
//! and an empty inline `Option` costs nothing to drop on the hot path). Invariants: `pending == number of Pending slots`; a slot index is held by at
//! most one live `Event`, and only that event's trigger or drop frees it (hence no generation
//! counters); `extra_hooks` holds hooks of `Pending` slots only; `waiter` is the tamed call
//! blocked in `twait!(r)` the longest, `more_waiters` the others, oldest first. A value
//! that arrives wakes the oldest waiter; when nothing more can arrive (no pending event left,
//! or `cancel`) every waiter is woken. Waking only queues the call (never runs it inline), and
//! a woken call polls again, so a value taken by someone else in between is not lost: the call
//! just waits again, at the back of the queue.
//!
//! Nothing the user owns (ids, values, hooks, waiters) is dropped while the state is borrowed:
//! dropping an id may drop an event of this same rendezvous, which must borrow it again.
//!
//! Handles (`Rendezvous` values) are counted apart from events: when the last handle goes, the
//! receiver is gone, and every pending event is cancelled (its `on_cancel` hooks run).

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::fmt;
use std::rc::Rc;

use smallvec::SmallVec;

use crate::event::{Adapter, Event, Hook, Join, Sink, Target, Wake};

const NONE: u32 = u32::MAX;

enum Slot<I> {
    Pending {
        id: I,
        hook: Option<Hook>,
        more: bool,
    },
    Cancelled,
    Free {
        next: u32,
    },
}

struct State<I, T> {
    /// One entry per event ever outstanding at once; reused through the free list.
    slots: Vec<Slot<I>>,
    /// Head of the free list of `slots` (`NONE` if empty), so `event()` allocates nothing once warm.
    free: u32,
    /// Triggered values in trigger order, waiting for `try_join`.
    ready: VecDeque<(I, T)>,
    /// Number of `Pending` slots.
    pending: usize,
    /// Hooks beyond the first of `Pending` slots, in the order they were added.
    extra_hooks: Vec<(u32, Hook)>,
    /// The tamed call blocked in `twait!(r)` the longest, if any.
    waiter: Option<Rc<dyn Wake>>,
    /// Further blocked calls, oldest first (empty unless `waiter` is set).
    more_waiters: VecDeque<Rc<dyn Wake>>,
    /// Set for the hidden per-site rendezvous of `mkevent!(place)`: events count toward that
    /// call's `twait!{}` join.
    group: Option<Rc<dyn Join>>,
    /// With `group` only: the trigger stamp of each `ready` value (same order), so that the
    /// values of several sites aimed at one place are written in the order they triggered.
    stamps: VecDeque<u64>,
}

impl<I, T> State<I, T> {
    /// Debug builds: checks the invariants of the module docs that are O(slots) to check, in
    /// `cancel`, which walks the slots anyway.
    fn check(&self) {
        #[cfg(debug_assertions)]
        {
            let pending = self
                .slots
                .iter()
                .filter(|s| matches!(s, Slot::Pending { .. }))
                .count();
            assert_eq!(
                pending, self.pending,
                "rendezvous: `pending` is not the number of pending slots"
            );
            assert!(
                self.extra_hooks.iter().all(|(i, _)| matches!(
                    self.slots.get(*i as usize),
                    Some(Slot::Pending { .. })
                )),
                "rendezvous: a hook kept for a slot that is not pending"
            );
            assert!(
                self.waiter.is_some() || self.more_waiters.is_empty(),
                "rendezvous: waiters queued behind no first waiter"
            );
        }
    }
}

thread_local! {
    /// Trigger counter of the per-site rendezvous (`mkevent!(place)`) on this thread.
    static STAMP: Cell<u64> = const { Cell::new(0) };
}

pub(crate) struct Inner<I, T> {
    state: RefCell<State<I, T>>,
    /// Number of `Rendezvous` handles (events do not count): the receiver is gone at zero.
    handles: Cell<usize>,
}

/// A rendezvous: the receiving half that events of type `Event<T>` report to, each tagged
/// with an id of type `I`.
///
/// Make events with [`event`](Rendezvous::event) (or `mkevent!(r, id)`), hand them to
/// operations, and collect `(id, value)` pairs in trigger order with `twait!(r)` inside a
/// `#[tamed]` function, or with [`try_join`](Rendezvous::try_join) anywhere.
///
/// `Rendezvous` is a cheap shared handle (`Clone`); all handles see the same events. When the
/// last handle is dropped, the pending events are cancelled as by [`cancel`](Rendezvous::cancel).
///
/// # Guarantees
/// - Values are joined in the order their events were triggered.
/// - `twait!(r)` yields `None` once `r` has no ready values and no pending events.
/// - Several calls may wait on one rendezvous (through clones of the handle): each value goes
///   to exactly one of them, the longest waiting first; when nothing more can arrive, all of
///   them get `None`.
/// - Making, triggering and joining an event on an existing rendezvous allocates nothing once
///   the internal tables have grown to the largest number of events outstanding at once.
///
/// # Example
/// ```
/// # use tame_rt as tame;
/// use tame::Rendezvous;
///
/// let r: Rendezvous<usize, &str> = Rendezvous::new();
/// let a = r.event(0);
/// let b = r.event(1);
/// assert_eq!(r.pending(), 2);
/// b.trigger("second made, first triggered");
/// drop(a); // abandoned: counted as done, no value
/// assert_eq!(r.try_join(), Some((1, "second made, first triggered")));
/// assert_eq!((r.pending(), r.ready()), (0, 0));
/// ```
pub struct Rendezvous<I = (), T = ()> {
    inner: Rc<Inner<I, T>>,
}

impl<I: 'static, T: 'static> Rendezvous<I, T> {
    /// Makes an empty rendezvous.
    ///
    /// ```
    /// # use tame_rt as tame;
    /// let r = tame::Rendezvous::<u32, String>::new();
    /// assert_eq!(r.pending(), 0);
    /// ```
    pub fn new() -> Self {
        Rendezvous {
            inner: Rc::new(Inner {
                state: RefCell::new(State {
                    slots: Vec::new(),
                    free: NONE,
                    ready: VecDeque::new(),
                    pending: 0,
                    extra_hooks: Vec::new(),
                    waiter: None,
                    more_waiters: VecDeque::new(),
                    group: None,
                    stamps: VecDeque::new(),
                }),
                handles: Cell::new(1),
            }),
        }
    }

    pub(crate) fn with_group(group: Rc<dyn Join>) -> Self {
        let r = Self::new();
        r.inner.state.borrow_mut().group = Some(group);
        r
    }

    /// Makes a new pending event tagged `id`. When it triggers with `v`, `(id, v)` becomes
    /// ready on this rendezvous.
    ///
    /// ```
    /// # use tame_rt as tame;
    /// let r = tame::Rendezvous::<char, u8>::new();
    /// let e = r.event('x');
    /// assert_eq!(r.pending(), 1);
    /// e.trigger(1);
    /// assert_eq!(r.try_join(), Some(('x', 1)));
    /// ```
    #[cfg_attr(debug_assertions, track_caller)]
    pub fn event(&self, id: I) -> Event<T> {
        let group = {
            let mut st = self.inner.state.borrow_mut();
            let pending = Slot::Pending {
                id,
                hook: None,
                more: false,
            };
            let slot = if st.free != NONE {
                let i = st.free;
                let next = match st.slots[i as usize] {
                    Slot::Free { next } => next,
                    _ => unreachable!("free list points at a used slot"),
                };
                st.free = next;
                st.slots[i as usize] = pending;
                i
            } else {
                let i = u32::try_from(st.slots.len())
                    .ok()
                    .filter(|&i| i != NONE)
                    .expect("more than 4 billion events outstanding on one rendezvous");
                st.slots.push(pending);
                i
            };
            st.pending += 1;
            let sink: Rc<dyn Sink<T>> = self.inner.clone();
            (Event::new(Target::Slot { sink, slot }), st.group.clone())
        };
        let (ev, group) = group;
        if let Some(g) = group {
            g.join_add();
        }
        ev
    }

    /// Takes the next triggered `(id, value)`, in trigger order, without blocking.
    ///
    /// ```
    /// # use tame_rt as tame;
    /// let r = tame::Rendezvous::<u8, ()>::new();
    /// assert_eq!(r.try_join(), None);
    /// let (a, b) = (r.event(1), r.event(2));
    /// b.trigger(());
    /// a.trigger(());
    /// assert_eq!(r.try_join(), Some((2, ())));
    /// assert_eq!(r.try_join(), Some((1, ())));
    /// ```
    pub fn try_join(&self) -> Option<(I, T)> {
        let mut st = self.inner.state.borrow_mut();
        if st.group.is_some() {
            st.stamps.pop_front();
        }
        st.ready.pop_front()
    }

    /// The trigger stamp of the value `try_join` would take next (`u64::MAX` if none), on a
    /// per-site rendezvous: smaller stamps triggered earlier.
    pub(crate) fn next_stamp(&self) -> u64 {
        let st = self.inner.state.borrow();
        debug_assert!(
            st.group.is_some(),
            "stamps are kept for per-site rendezvous only"
        );
        debug_assert_eq!(st.stamps.len(), st.ready.len());
        st.stamps.front().copied().unwrap_or(u64::MAX)
    }

    /// Number of events made and not yet triggered, dropped or cancelled.
    ///
    /// ```
    /// # use tame_rt as tame;
    /// let r = tame::Rendezvous::<(), ()>::new();
    /// let e = r.event(());
    /// assert_eq!(r.pending(), 1);
    /// drop(e);
    /// assert_eq!(r.pending(), 0);
    /// ```
    pub fn pending(&self) -> usize {
        self.inner.state.borrow().pending
    }

    /// Number of triggered values not yet joined.
    ///
    /// ```
    /// # use tame_rt as tame;
    /// let r = tame::Rendezvous::<(), i32>::new();
    /// r.event(()).trigger(5);
    /// assert_eq!(r.ready(), 1);
    /// ```
    pub fn ready(&self) -> usize {
        self.inner.state.borrow().ready.len()
    }

    /// Cancels every pending event: each becomes not live, its later trigger is dropped, and
    /// its `on_cancel` hooks run before `cancel` returns. Values already triggered stay ready.
    /// A tamed call blocked in `twait!(r)` is woken (it gets the remaining ready values, then
    /// `None`). Events made after `cancel` are pending as usual.
    ///
    /// A tamed call given one of the cancelled events as its `Event` parameter (its `done`)
    /// ends, if that was the last of its `Event` parameters still live: this is the handle to
    /// stop a call you started and did not wait for (see the book's "Stopping work").
    ///
    /// ```
    /// # use tame_rt as tame;
    /// let r = tame::Rendezvous::<(), ()>::new();
    /// let e = r.event(());
    /// r.cancel();
    /// assert_eq!(r.pending(), 0);
    /// assert!(!e.is_live());
    /// # drop(e);
    /// ```
    pub fn cancel(&self) {
        self.inner.cancel_all();
    }

    /// Makes an event of another value type on this rendezvous: its trigger with `v` delivers
    /// `f(Some(v))`, and dropping it untriggered delivers `f(None)` (so the receiver learns of
    /// the abandonment as a value). `is_live` and `on_cancel` are those of the underlying slot.
    /// One allocation (the adapter). Used by `add_signal`.
    #[cfg_attr(debug_assertions, track_caller)]
    pub(crate) fn event_map<V: 'static>(&self, id: I, f: fn(Option<V>) -> T) -> Event<V> {
        let (sink, slot) = self
            .event(id)
            .into_slot()
            .expect("a rendezvous event is a slot");
        let sink: Rc<dyn Sink<V>> = Rc::new(Adapter { sink, slot, f });
        Event::new(Target::Slot { sink, slot: 0 })
    }

    /// `twait!(r)` in one borrow: `Some(Some(v))` for the next value, `Some(None)` when nothing
    /// more can arrive, or `None` after queueing `waiter()` to be woken when either happens.
    #[inline]
    pub(crate) fn poll_or_wait(
        &self,
        waiter: impl FnOnce() -> Rc<dyn Wake>,
    ) -> Option<Option<(I, T)>> {
        let mut st = self.inner.state.borrow_mut();
        if let Some(v) = st.ready.pop_front() {
            return Some(Some(v));
        }
        if st.pending == 0 {
            return Some(None);
        }
        let w = waiter();
        if st.waiter.is_none() {
            st.waiter = Some(w);
        } else {
            st.more_waiters.push_back(w);
        }
        None
    }
}

impl<I, T> Inner<I, T> {
    fn cancel_all(&self) {
        // Ids and hooks are moved out and dropped or run only after the borrow ends: either
        // may reach this rendezvous again (an id that owns one of its events, say).
        let mut taken: SmallVec<[(I, Option<Hook>); 4]> = SmallVec::new();
        let (extra, wake, group) = {
            let mut st = self.state.borrow_mut();
            st.check();
            if st.pending > 0 {
                for s in st.slots.iter_mut() {
                    if matches!(s, Slot::Pending { .. })
                        && let Slot::Pending { id, hook, .. } =
                            std::mem::replace(s, Slot::Cancelled)
                    {
                        taken.push((id, hook));
                    }
                }
            }
            st.pending = 0;
            // Every extra hook belongs to a slot that was pending: all of them run.
            let extra = std::mem::take(&mut st.extra_hooks);
            (extra, Self::take_waiters(&mut st, true), st.group.clone())
        };
        let n = taken.len();
        // Each slot's first hook, then the others in the order they were added: the hooks of
        // one event run in the order they were added.
        for (id, hook) in taken {
            drop(id);
            if let Some(h) = hook {
                h.run();
            }
        }
        for (_, h) in extra {
            h.run();
        }
        if let Some(g) = group {
            for _ in 0..n {
                g.clone().join_done();
            }
        }
        wake.wake();
    }

    /// The waiters to wake after a slot stopped being pending: the oldest one if a value
    /// arrived and more may come, every one if nothing more can arrive (or `all`).
    #[inline]
    fn take_waiters(st: &mut State<I, T>, all: bool) -> Wakeups {
        if st.more_waiters.is_empty() {
            match st.waiter.take() {
                Some(w) => Wakeups::One(w),
                None => Wakeups::None,
            }
        } else if st.pending == 0 || all {
            Wakeups::All(st.waiter.take(), std::mem::take(&mut st.more_waiters))
        } else {
            // The oldest waiter that can still take the value: a call that ended while it
            // waited here is passed over (waking it would lose the value's wake-up).
            let mut first = st.waiter.take();
            while first.as_ref().is_some_and(|w| w.is_over()) {
                first = st.more_waiters.pop_front();
            }
            st.waiter = st.more_waiters.pop_front();
            first.map_or(Wakeups::None, Wakeups::One)
        }
    }

    /// The extra hooks of `slot`, which is being released (`more` was set).
    #[cold]
    fn take_extra_hooks(st: &mut State<I, T>, slot: u32) -> Vec<Hook> {
        st.extra_hooks
            .extract_if(.., |(s, _)| *s == slot)
            .map(|(_, h)| h)
            .collect()
    }

    /// Frees `slot` (which must not be `Free`) and returns what it held.
    fn release(st: &mut State<I, T>, slot: u32) -> Slot<I> {
        let old = std::mem::replace(&mut st.slots[slot as usize], Slot::Free { next: st.free });
        st.free = slot;
        old
    }
}

impl<I: 'static, T: 'static> crate::event::Waiting for Inner<I, T> {
    fn waiting(&self) -> Option<Rc<dyn crate::event::Frame>> {
        // A place's hidden rendezvous belongs to the call whose `twait!{}` it is; otherwise
        // the call blocked in `twait!(r)` the longest.
        let (group, waiter) = {
            // (A backtrace may be asked for while this rendezvous is busy: then it stops here.)
            let st = self.state.try_borrow().ok()?;
            (st.group.clone(), st.waiter.clone())
        };
        match (group, waiter) {
            (Some(g), _) => Some(g.join_frame()),
            (None, Some(w)) => Some(w.wake_frame()),
            (None, None) => None,
        }
    }
}

impl<I: 'static, T: 'static> Sink<T> for Inner<I, T> {
    fn trigger(&self, slot: u32, value: T) {
        let mut st = self.state.borrow_mut();
        match Self::release(&mut st, slot) {
            Slot::Pending { id, hook, more } => {
                debug_assert!(st.pending > 0, "rendezvous: a pending slot not counted");
                st.pending -= 1;
                st.ready.push_back((id, value));
                if st.group.is_some() {
                    let n = STAMP.get();
                    STAMP.set(n + 1);
                    st.stamps.push_back(n);
                }
                let wake = Self::take_waiters(&mut st, false);
                let extra = more.then(|| Self::take_extra_hooks(&mut st, slot));
                let group = st.group.clone();
                drop(st);
                drop_hooks(hook, extra);
                if let Some(g) = group {
                    g.join_done();
                }
                wake.wake();
            }
            Slot::Cancelled => {
                drop(st);
                drop(value);
            }
            Slot::Free { .. } => unreachable!("event slot consumed twice"),
        }
    }

    fn abandon(&self, slot: u32) {
        let mut st = self.state.borrow_mut();
        match Self::release(&mut st, slot) {
            Slot::Pending { id, hook, more } => {
                debug_assert!(st.pending > 0, "rendezvous: a pending slot not counted");
                st.pending -= 1;
                // No value: only the end (nothing pending any more) wakes anyone.
                let wake = if st.pending == 0 {
                    Self::take_waiters(&mut st, true)
                } else {
                    Wakeups::None
                };
                let extra = more.then(|| Self::take_extra_hooks(&mut st, slot));
                let group = st.group.clone();
                drop(st);
                drop(id);
                drop_hooks(hook, extra);
                if let Some(g) = group {
                    g.join_done();
                }
                wake.wake();
            }
            Slot::Cancelled => {}
            Slot::Free { .. } => unreachable!("event slot consumed twice"),
        }
    }

    fn as_waiting(self: Rc<Self>) -> Rc<dyn crate::event::Waiting> {
        self
    }

    fn is_live(&self, slot: u32) -> bool {
        matches!(
            self.state.borrow().slots[slot as usize],
            Slot::Pending { .. }
        )
    }

    fn on_cancel(&self, slot: u32, hook: Hook) {
        let mut guard = self.state.borrow_mut();
        let st = &mut *guard;
        match &mut st.slots[slot as usize] {
            Slot::Pending {
                hook: first @ None, ..
            } => *first = Some(hook),
            Slot::Pending { more, .. } => {
                *more = true;
                st.extra_hooks.push((slot, hook));
            }
            _ => {
                drop(guard);
                hook.run();
            }
        }
    }
}

/// Drops the hooks of a slot that was triggered or abandoned (they never run), outside any
/// borrow: a hook's closure may own a handle of this rendezvous.
#[inline(always)]
fn drop_hooks(hook: Option<Hook>, extra: Option<Vec<Hook>>) {
    #[cold]
    #[inline(never)]
    fn slow(hook: Option<Hook>, extra: Option<Vec<Hook>>) {
        drop((hook, extra));
    }
    if hook.is_some() || extra.is_some() {
        slow(hook, extra);
    } else {
        // Both `None`: nothing to drop.
        std::mem::forget((hook, extra));
    }
}

/// Blocked calls to wake, taken out of the state so they are woken after its borrow ends.
enum Wakeups {
    None,
    One(Rc<dyn Wake>),
    /// The oldest waiter (if any) and the others, oldest first.
    All(Option<Rc<dyn Wake>>, VecDeque<Rc<dyn Wake>>),
}

impl Wakeups {
    #[inline]
    fn wake(self) {
        match self {
            Wakeups::None => {}
            Wakeups::One(w) => w.wake(),
            Wakeups::All(first, rest) => {
                if let Some(w) = first {
                    w.wake();
                }
                for w in rest {
                    w.wake();
                }
            }
        }
    }
}

impl<I: 'static, T: 'static> Default for Rendezvous<I, T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<I, T> Clone for Rendezvous<I, T> {
    /// Another handle to the same rendezvous.
    fn clone(&self) -> Self {
        self.inner.handles.set(self.inner.handles.get() + 1);
        Rendezvous {
            inner: self.inner.clone(),
        }
    }
}

impl<I, T> Drop for Rendezvous<I, T> {
    fn drop(&mut self) {
        let h = self.inner.handles.get() - 1;
        self.inner.handles.set(h);
        if h == 0 {
            self.inner.cancel_all();
        }
    }
}

impl<I, T> fmt::Debug for Rendezvous<I, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let st = self.inner.state.borrow();
        f.debug_struct("Rendezvous")
            .field("pending", &st.pending)
            .field("ready", &st.ready.len())
            .field(
                "waiting",
                &(usize::from(st.waiter.is_some()) + st.more_waiters.len()),
            )
            .finish()
    }
}

#[cfg(all(test, debug_assertions))]
mod tests {
    use super::*;

    #[test]
    fn a_miscounted_slot_trips_the_check() {
        let r = Rendezvous::<u32, ()>::new();
        let e = r.event(1);
        r.inner.state.borrow_mut().pending += 1;
        let tripped = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| r.cancel()));
        let panic = tripped.expect_err("the check trips");
        let msg = panic
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| panic.downcast_ref::<&str>().copied())
            .unwrap_or_default();
        assert!(
            msg.contains("rendezvous: `pending` is not the number of pending slots"),
            "{msg}"
        );
        // The check runs before `cancel` changes anything: with the count put right, both
        // are dropped as usual (nothing is leaked, which Miri would report).
        r.inner.state.borrow_mut().pending -= 1;
        drop(e);
        drop(r);
    }
}
