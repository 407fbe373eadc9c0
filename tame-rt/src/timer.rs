//! Timers: `timer`, `at` and `asap`.
//!
//! `timer` and `at` file the event in the thread's [timer store](crate::timer_store), which
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
pub fn at(deadline: Instant, mut e: Event<()>) {
    if !e.is_live() {
        return;
    }
    let (idx, seq) = crate::local::with(|c| c.timers.borrow_mut().reserve_key());
    // The hook is attached before the event is stored, so that storing needs no callback.
    e.on_cancel_internal(cancel_hook, idx as usize, seq);
    crate::local::with(|c| c.timers.borrow_mut().fill(idx, seq, deadline, e));
}

/// Triggers `e` after `after` has elapsed (measured from now, the real clock).
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
    let deadline = Instant::now().checked_add(after).unwrap_or_else(far_future);
    at(deadline, e)
}

fn far_future() -> Instant {
    // About 30 years: far enough to mean "never", near enough not to overflow `Instant`.
    Instant::now() + Duration::from_secs(60 * 60 * 24 * 365 * 30)
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
