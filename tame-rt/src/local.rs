//! The loop's state on this thread: the run queue, the run epoch, `asap` events, the cached
//! clock and the virtual one, the `at_preblock` events, the timer store and the poller, in one
//! thread-local.
//!
//! The loop itself ([`run`](crate::run) and its turns) is a layer above. So are the functions
//! that reach the stores through [`with`]: `readable` and friends, `timer` and friends. The
//! tasks reach only the run queue ([`schedule`]) and the epoch: a call is put on the queue by
//! its own wake-up, from wherever the event that ends its wait is triggered. The queue knows
//! them only as [`Runnable`].
//!
//! The epoch counts the runs on this thread that unwound (wrapping). A task keeps the epoch
//! it started in, and one of an older epoch is dropped instead of resumed (see `tame::run` on
//! a run that unwinds).
//!
//! Invariant: a task is on the queue at most once, exactly while its `QUEUED` flag is set: a
//! wake-up queues it only if it sets the flag ([`schedule`] checks it is set), resuming it
//! clears it, and [`next`] checks that a task taken off the queue still has it.

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::rc::Rc;
use std::time::Instant;

use crate::event::Event;
use crate::poller::Poller;
use crate::timer_store::Timers;

/// A task, as the run queue sees it.
pub(crate) trait Runnable {
    /// Runs the task's closure once; called only by the loop (never inline from a trigger).
    /// `epoch` is the thread's current run epoch: a task of an older one is dropped instead.
    fn resume(self: Rc<Self>, epoch: u16);
    /// Whether the task's `QUEUED` flag is set.
    fn is_queued(&self) -> bool;
    /// The task was taken off the queue without being resumed (its run unwound): clears its
    /// `QUEUED` flag, so that a later wake-up may queue it (and drop it) again.
    fn unqueue(&self);
}

pub(crate) struct Core {
    /// Tasks whose wait is over, in wake-up order.
    queue: RefCell<VecDeque<Rc<dyn Runnable>>>,
    /// How many runs on this thread unwound (wrapping).
    epoch: Cell<u16>,
    /// `asap` events for the next turn.
    pub(crate) asap: RefCell<Vec<Event<()>>>,
    /// Reused buffer for events fired in one go (asap batch, timers, fds), so firing allocates
    /// nothing once warm.
    pub(crate) scratch: RefCell<Vec<Event<()>>>,
    /// The cached clock, refreshed once per turn while the loop runs.
    pub(crate) now: Cell<Option<Instant>>,
    pub(crate) timers: RefCell<Timers>,
    pub(crate) io: RefCell<Poller>,
    /// Whether `run` is active on this thread (nested `run` is refused).
    pub(crate) running: Cell<bool>,
    /// Stuck reports of the last `run` on this thread.
    pub(crate) stuck: RefCell<Vec<String>>,
    /// `Some` while the thread's clock is virtual (`set_clock`).
    pub(crate) virt: Cell<Option<Virtual>>,
    /// `at_preblock` events, fired together when the loop is about to block.
    pub(crate) preblock: RefCell<Vec<Event<()>>>,
}

/// The virtual clock of a thread: an `Instant` that moves only when the loop jumps it.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Virtual {
    /// The instant `set_clock(Clock::Virtual)` started it at: UNIX time 1,000,000,000 s.
    pub(crate) start: Instant,
    /// The clock's present.
    pub(crate) now: Instant,
}

impl Core {
    /// The thread's clock, read afresh: the virtual clock's present, or `Instant::now()`.
    #[inline(always)]
    pub(crate) fn clock(&self) -> Instant {
        match self.virt.get() {
            Some(v) => v.now,
            None => Instant::now(),
        }
    }
}

thread_local! {
    static CORE: Core = const {
        Core {
            queue: RefCell::new(VecDeque::new()),
            epoch: Cell::new(0),
            asap: RefCell::new(Vec::new()),
            scratch: RefCell::new(Vec::new()),
            now: Cell::new(None),
            timers: RefCell::new(Timers::new()),
            io: RefCell::new(Poller::new()),
            running: Cell::new(false),
            stuck: RefCell::new(Vec::new()),
            virt: Cell::new(None),
            preblock: RefCell::new(Vec::new()),
        }
    };
}

#[inline(always)]
pub(crate) fn with<R>(f: impl FnOnce(&Core) -> R) -> R {
    CORE.with(f)
}

/// [`with`], or `None` while the thread is ending and the loop's state is already gone (a
/// socket kept in another thread-local may be dropped after it).
pub(crate) fn try_with<R>(f: impl FnOnce(&Core) -> R) -> Option<R> {
    CORE.try_with(f).ok()
}

pub(crate) fn push_asap(e: Event<()>) {
    with(|c| c.asap.borrow_mut().push(e));
}

/// Puts `t` at the end of the run queue. Its `QUEUED` flag must be set, and it must not be
/// on the queue already.
pub(crate) fn schedule(t: Rc<dyn Runnable>) {
    debug_assert!(t.is_queued(), "a task is queued without its QUEUED flag");
    with(|c| c.queue.borrow_mut().push_back(t));
}

/// The first task on the run queue, taken off it, with the thread's run epoch (one access to
/// the thread-local for both: the loop calls this once per task it resumes).
#[inline(always)]
pub(crate) fn next() -> (Option<Rc<dyn Runnable>>, u16) {
    let (t, epoch) = with(|c| (c.queue.borrow_mut().pop_front(), c.epoch.get()));
    debug_assert!(
        t.as_ref().is_none_or(|t| t.is_queued()),
        "a task on the run queue lost its QUEUED flag"
    );
    (t, epoch)
}

/// Whether a task waits on the run queue.
pub(crate) fn is_busy() -> bool {
    with(|c| !c.queue.borrow().is_empty())
}

/// Takes every task off the run queue (a run unwound), each with its flag cleared.
pub(crate) fn take_all() -> VecDeque<Rc<dyn Runnable>> {
    let tasks = with(|c| std::mem::take(&mut *c.queue.borrow_mut()));
    for t in &tasks {
        t.unqueue();
    }
    tasks
}

/// The thread's current run epoch.
pub(crate) fn epoch() -> u16 {
    with(|c| c.epoch.get())
}

/// A run unwound: tasks of the current epoch will never be resumed.
pub(crate) fn next_epoch() {
    with(|c| c.epoch.set(c.epoch.get().wrapping_add(1)));
}

#[cfg(all(test, debug_assertions))]
mod tests {
    use super::*;

    /// A stand-in task whose `QUEUED` flag the test sets by hand.
    struct Fake(Cell<bool>);

    impl Runnable for Fake {
        fn resume(self: Rc<Self>, _: u16) {}
        fn is_queued(&self) -> bool {
            self.0.get()
        }
        fn unqueue(&self) {
            self.0.set(false);
        }
    }

    #[test]
    #[should_panic(expected = "a task is queued without its QUEUED flag")]
    fn queueing_a_task_without_its_flag_trips_the_check() {
        schedule(Rc::new(Fake(Cell::new(false))));
    }

    #[test]
    #[should_panic(expected = "a task on the run queue lost its QUEUED flag")]
    fn a_queued_task_that_lost_its_flag_trips_the_check() {
        let t = Rc::new(Fake(Cell::new(true)));
        schedule(t.clone());
        t.0.set(false);
        let _ = next();
    }
}
