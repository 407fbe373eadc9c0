//! Timers: `timer`, `at`, `timer_background` and `asap`.
//!
//! `timer`, `at` and `timer_background` file the event in the thread's [timer store](crate::timer_store), which
//! the loop fires in deadline order; `asap` queues it for the loop's next turn.

use std::time::{Duration, Instant};

use crate::event::Event;

/// Hook attached to a cancellable timer event: removes the timer at once.
fn cancel_hook(idx: usize, seq: u64) {
    let ev = crate::local::with(|c| c.timers.borrow_mut().cancel(idx as u32, seq));
    drop(ev); // outside the borrow: dropping the event reaches its rendezvous
}

/// Triggers `e` once `deadline` has passed, on the loop of this thread.
///
/// The loop stays alive while the timer is pending. If `e` belongs to a rendezvous that is
/// cancelled first, the timer is removed at once. Timers with equal deadlines fire in the order
/// they were set; a timer never fires before its deadline (it may fire later, by up to the
/// poll granularity of about a millisecond, or longer if the loop is busy).
///
/// ```
/// # use tame_rt as tame;
/// use std::time::{Duration, Instant};
/// tame::run(|| {
///     let t0 = Instant::now();
///     tame::at(t0 + Duration::from_millis(5), tame::Event::from_fn(move |()| {
///         assert!(Instant::now() >= t0 + Duration::from_millis(5));
///     }));
/// });
/// ```
pub fn at(deadline: Instant, e: Event<()>) {
    crate::local::with(|c| at_in(c, deadline, e, false));
}

/// [`at`] on the thread's core; a `background` timer does not keep the loop alive.
#[inline(always)]
fn at_in(c: &crate::local::Core, deadline: Instant, mut e: Event<()>, background: bool) {
    if !e.is_live() {
        return;
    }
    let (idx, seq) = c.timers.borrow_mut().reserve_key();
    // The hook is attached before the event is stored, so that storing needs no callback
    // (if the receiver is already cancelled, the hook runs here, and finds nothing).
    e.on_cancel_internal(cancel_hook, idx as usize, seq);
    c.timers
        .borrow_mut()
        .fill(idx, seq, deadline, e, background);
}

/// A re-armable timer: one place in the loop's timer store, armed with an event and disarmed
/// in O(1), without the rendezvous machinery [`at`] uses to notice a cancelled receiver.
///
/// - [`arm`](Timer::arm) sets the deadline and the event (disarming first if armed).
/// - When the deadline passes, the loop triggers the event; the timer is then unarmed.
/// - [`disarm`](Timer::disarm) removes it at once and drops the event untriggered (its
///   receiver sees an abandoned event). Dropping the `Timer` disarms it.
///
/// Unlike [`at`], a cancelled receiver does not remove the timer: the timer's owner does (a
/// connection's idle deadline, re-armed at each request and disarmed when the connection
/// closes, is the use it is made for). The loop stays alive while it is armed.
///
/// ```
/// # use tame_rt as tame;
/// use std::time::Duration;
/// use tame::{Rendezvous, Timer};
///
/// let idle = Timer::new();
/// let r: Rendezvous<&str> = Rendezvous::new();
/// tame::run(|| {
///     idle.arm_after(Duration::from_secs(60), r.event("first"));
///     idle.arm_after(Duration::from_millis(1), r.event("second")); // the first is dropped
///     assert!(idle.is_armed());
/// });
/// assert_eq!(r.try_join(), Some(("second", ())));
/// assert!(!idle.is_armed());
/// ```
#[derive(Debug, Default)]
pub struct Timer {
    key: std::cell::Cell<Option<(u32, u64)>>,
}

impl Timer {
    /// An unarmed timer.
    ///
    /// ```
    /// # use tame_rt as tame;
    /// assert!(!tame::Timer::new().is_armed());
    /// ```
    pub const fn new() -> Timer {
        Timer {
            key: std::cell::Cell::new(None),
        }
    }

    /// Triggers `e` once `deadline` has passed (as [`at`]), replacing the event it was armed
    /// with, if any (that one is dropped untriggered).
    ///
    /// ```
    /// # use tame_rt as tame;
    /// use std::time::{Duration, Instant};
    /// let t = tame::Timer::new();
    /// let r = tame::Rendezvous::<u8>::new();
    /// tame::run(|| t.arm(Instant::now() + Duration::from_millis(1), r.event(1)));
    /// assert_eq!(r.try_join(), Some((1, ())));
    /// ```
    pub fn arm(&self, deadline: Instant, e: Event<()>) {
        let old = self.key.take();
        let (key, old_event) = crate::local::with(|c| {
            let mut timers = c.timers.borrow_mut();
            let old_event = old.and_then(|(idx, seq)| timers.cancel(idx, seq));
            let (idx, seq) = timers.reserve_key();
            timers.fill(idx, seq, deadline, e, false);
            ((idx, seq), old_event)
        });
        self.key.set(Some(key));
        drop(old_event); // outside the borrow: dropping reaches its receiver
    }

    /// [`arm`](Timer::arm) with a deadline `after` from now.
    ///
    /// ```
    /// # use tame_rt as tame;
    /// let t = tame::Timer::new();
    /// let r = tame::Rendezvous::<()>::new();
    /// tame::run(|| t.arm_after(std::time::Duration::from_millis(1), r.event(())));
    /// assert_eq!(r.try_join(), Some(((), ())));
    /// ```
    pub fn arm_after(&self, after: Duration, e: Event<()>) {
        let deadline = deadline_after(crate::local::with(|c| c.clock()), after);
        self.arm(deadline, e)
    }

    /// Removes the timer if it is armed, dropping its event untriggered; `true` if it was.
    ///
    /// ```
    /// # use tame_rt as tame;
    /// let t = tame::Timer::new();
    /// let r = tame::Rendezvous::<()>::new();
    /// tame::run(|| {
    ///     t.arm_after(std::time::Duration::from_secs(60), r.event(()));
    ///     assert!(t.disarm());
    ///     assert!(!t.disarm());
    /// }); // returns at once: nothing is pending
    /// assert_eq!(r.try_join(), None);
    /// ```
    pub fn disarm(&self) -> bool {
        let Some((idx, seq)) = self.key.take() else {
            return false;
        };
        let ev = crate::local::with(|c| c.timers.borrow_mut().cancel(idx, seq));
        let was = ev.is_some();
        drop(ev); // outside the borrow
        was
    }

    /// Whether the timer is armed and has not fired yet.
    ///
    /// ```
    /// # use tame_rt as tame;
    /// let t = tame::Timer::new();
    /// tame::run(|| {
    ///     t.arm_after(std::time::Duration::ZERO, tame::Event::from_fn(|()| {}));
    ///     assert!(t.is_armed());
    /// });
    /// assert!(!t.is_armed()); // it fired
    /// ```
    pub fn is_armed(&self) -> bool {
        self.key.get().is_some_and(|(idx, seq)| {
            crate::local::with(|c| c.timers.borrow().is_pending(idx, seq))
        })
    }
}

impl Drop for Timer {
    fn drop(&mut self) {
        self.disarm();
    }
}

/// Triggers `e` after `after` has elapsed, measured from now on the thread's clock (the real
/// one, or the virtual one: see [`set_clock`](crate::set_clock)).
///
/// ```
/// # use tame_rt as tame;
/// use std::time::Duration;
/// use std::{cell::Cell, rc::Rc};
/// let fired = Rc::new(Cell::new(false));
/// let f = fired.clone();
/// tame::run(|| tame::timer(Duration::from_millis(1), tame::Event::from_fn(move |()| f.set(true))));
/// assert!(fired.get());
/// ```
pub fn timer(after: Duration, e: Event<()>) {
    crate::local::with(|c| at_in(c, deadline_after(c.clock(), after), e, false));
}

/// Triggers `e` after `after` has elapsed, as [`timer`] does, but without keeping the loop
/// alive: a *background* timer.
///
/// - While something else keeps the loop alive (a queued call, a timer, an event waiting on
///   an fd or a signal), the background timer fires at its deadline like any other timer,
///   in the same order (by deadline, ties in the order they were set).
/// - When only background timers are left, the loop ends ([`run`](crate::run) returns) without
///   firing them. They stay pending on the thread: a later `run` or
///   [`run_once`](crate::run_once) fires them if it is still alive at their deadline. A
///   tamed call waiting only on one is therefore blocked when `run` returns (and reported
///   as stuck, in debug builds).
/// - If `e` belongs to a rendezvous that is cancelled first, the timer is removed at once.
///
/// Meant for periodic work that should not by itself keep a program running: a statistics
/// line, a cache sweep.
///
/// ```
/// # use tame_rt as tame;
/// use std::time::Duration;
/// use tame::Rendezvous;
///
/// let r: Rendezvous<&str> = Rendezvous::new();
/// tame::run(|| tame::timer_background(Duration::from_millis(1), r.event("background")));
/// assert_eq!(r.try_join(), None); // nothing kept the loop alive: `run` returned at once
///
/// tame::run(|| tame::timer(Duration::from_millis(5), r.event("foreground")));
/// // the loop was alive until 5 ms, so the background timer fired first
/// assert_eq!(r.try_join(), Some(("background", ())));
/// assert_eq!(r.try_join(), Some(("foreground", ())));
/// ```
pub fn timer_background(after: Duration, e: Event<()>) {
    crate::local::with(|c| at_in(c, deadline_after(c.clock(), after), e, true));
}

/// `now + after`, or, if that overflows `Instant`, about 30 years from `now`: far enough to
/// mean "never", near enough not to overflow.
#[inline(always)]
pub(crate) fn deadline_after(now: Instant, after: Duration) -> Instant {
    match now.checked_add(after) {
        Some(d) => d,
        None => far_future(now),
    }
}

#[cold]
fn far_future(now: Instant) -> Instant {
    now + Duration::from_secs(60 * 60 * 24 * 365 * 30)
}

/// Triggers `e` at the start of the loop's next turn.
///
/// Called from a running call, that is after the calls queued for this turn have run (up to the
/// per-turn budget of 256) and after one poll for I/O; a call waiting on `e` is then queued
/// behind the calls already queued. So a call that waits on `asap` in a loop lets other work
/// run. Called from `run`'s closure, before the first turn, `e` triggers at the start of the
/// first turn, before the calls queued so far are resumed.
///
/// ```
/// # use tame_rt as tame;
/// use std::{cell::RefCell, rc::Rc};
/// let log = Rc::new(RefCell::new(Vec::new()));
/// let l = log.clone();
/// tame::run(|| {
///     tame::asap(tame::Event::from_fn(move |()| l.borrow_mut().push("asap")));
///     log.borrow_mut().push("after asap() returned");
/// });
/// assert_eq!(*log.borrow(), ["after asap() returned", "asap"]);
/// ```
pub fn asap(e: Event<()>) {
    crate::local::push_asap(e);
}
