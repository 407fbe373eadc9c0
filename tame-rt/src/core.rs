//! The loop: one per thread, thread-local, on `mio::Poll`.
//!
//! # One turn
//! 1. Trigger the `asap` events queued before this turn started.
//! 2. Resume queued tasks, at most [`BUDGET`] of them, so a storm of wake-ups cannot starve
//!    I/O. Tasks queued while this runs are resumed in the same turn, within the budget.
//! 3. If nothing is queued, no timer is pending (background timers do not count) and no event
//!    waits on an fd, the turn ends the loop. Else, if nothing is queued, the loop is about
//!    to block: the `at_preblock` events fire (all those registered so far, in order), and
//!    step 3 is taken again, without firing the ones they registered.
//! 4. Poll for I/O: with a zero timeout while work is queued, else until the next timer.
//!    Without any fd ever registered, the thread simply sleeps until the next timer. On the
//!    virtual clock, the poll never waits while a timer is pending.
//! 5. Refresh the cached clock (on the virtual clock: if nothing is queued and no fd woke a
//!    waiter, jump it to the next deadline), fire due timers and the events of ready fds
//!    (their waiters are queued, never run inline).
//!
//! [`run`] is `f` and then turns until one ends the loop; [`run_once`] is `f` and one turn.
//!
//! Re-entrancy: the runtime never calls user code (triggers, hooks, destructors of events)
//! while it holds a borrow of its own state; it moves what must run into a local buffer first.
//!
//! # A run that unwinds
//! If `run`'s closure or a call it resumes panics, `run` unwinds, and its guard drops what the
//! run left on the thread before the panic leaves `run` ([`abandon`]): queued calls, `asap`
//! and `at_preblock` events, timers, the events waiting on fds and on signals, in rounds until none is left (destructors
//! may add more), and then moves the thread's run epoch on so that a call of the old run is
//! never resumed ([`crate::task`]). The poller and its registrations stay: they belong to the
//! fds, not to a run, as after a run that ends normally.

use std::time::{Duration, Instant};

use crate::event::Event;
use crate::local::with;

/// Most tasks resumed in one turn before the loop polls for I/O.
const BUDGET: usize = 256;

/// The loop's cached clock: the time at which the current turn started.
///
/// Inside [`run`] it is refreshed once per turn (after each poll), so it is cheap and every
/// piece of code in one turn sees the same instant. Outside a running loop it is
/// `Instant::now()`. On the virtual clock (see [`set_clock`](crate::set_clock)) it is the
/// virtual clock's present, inside a run or not: it moves only when the loop jumps it to a
/// deadline.
///
/// ```
/// # use tame_rt as tame;
/// tame::run(|| {
///     let a = tame::now();
///     let b = tame::now();
///     assert_eq!(a, b); // same turn, same instant
/// });
/// ```
pub fn now() -> Instant {
    with(|c| {
        if let Some(v) = c.virt.get() {
            return v.now;
        }
        if c.running.get()
            && let Some(t) = c.now.get()
        {
            return t;
        }
        Instant::now()
    })
}

/// Runs `f`, then runs this thread's loop until nothing can happen any more: no queued work, no
/// pending timers, no event waiting on an fd.
///
/// Tamed calls started by `f` run at once until they first block; the loop then resumes them
/// as their waits complete. In debug builds, tamed calls still blocked when the loop ends are
/// reported on stderr with their name and the file and line of their `twait`.
///
/// # Panics
/// If called while a loop is already running on this thread, and if the OS poller fails.
///
/// If `f`, or the code of a tamed call the loop resumes, panics, the panic unwinds out of
/// `run`, and the run is over: while it unwinds, `run` drops everything the run left on this
/// thread (the queued calls, `asap` events, pending timers and the events waiting on fds),
/// and with them the calls that were blocked and the locals they kept, as if they were locals
/// of `run`'s own frame. The next `run` on the thread starts clean: none of the old calls,
/// timers, fd interests or wake-ups reaches it. A call of the old run that something outside
/// it still refers to (a `Rendezvous` or `Event` kept by the caller) is never resumed: if it
/// is woken later, the loop drops it, with its locals, instead. Destructors that run during
/// this cleanup may use the runtime (set timers, trigger events, `deregister` an fd, start a
/// tamed call); what they set up is dropped too. As for any value dropped while unwinding, a
/// destructor that panics during the cleanup aborts the process.
///
/// ```
/// # use tame_rt as tame;
/// use std::time::Duration;
/// tame::run(|| {
///     tame::timer(Duration::from_millis(1), tame::Event::from_fn(|()| println!("tick")));
/// });
/// // the loop returned: the timer has fired
///
/// let panicked = std::panic::catch_unwind(|| {
///     tame::run(|| {
///         tame::timer(Duration::from_secs(60), tame::Event::from_fn(|()| unreachable!()));
///         panic!("boom");
///     })
/// });
/// assert!(panicked.is_err());
/// tame::run(|| {}); // returns at once: the old timer was dropped when `run` unwound
/// ```
pub fn run(f: impl FnOnce()) {
    with(|c| {
        assert!(
            !c.running.replace(true),
            "tame::run called while a tame loop is already running on this thread"
        );
        c.now.set(Some(c.clock()));
        c.stuck.borrow_mut().clear();
    });
    crate::event::clear_leaks();
    let unwinding = Unwinding;
    f();
    while turn() {}
    report_stuck();
    std::mem::forget(unwinding);
    with(|c| c.running.set(false));
}

/// Dropped only when `run` or `run_once` unwinds: the normal path forgets it.
struct Unwinding;

impl Drop for Unwinding {
    fn drop(&mut self) {
        // `running` stays set during the cleanup, so a destructor that calls `run` is
        // refused as a nested run would be.
        abandon();
        with(|c| c.running.set(false));
    }
}

/// Runs `f`, then exactly one turn of this thread's loop, and returns; what is still pending
/// (queued calls, `asap` events, timers, events waiting on fds or signals) stays for the next
/// [`run`] or `run_once` on this thread.
///
/// The turn is the one [`run`] repeats, so `run(f)` does what `run_once(f)` followed by
/// `run_once(|| {})` calls does, until one finds nothing that can happen. One turn:
///
/// 1. triggers the `asap` events queued before it (by `f`, or earlier), but not those they
///    queue;
/// 2. resumes the queued tamed calls (those `f` woke, and those they wake in turn, up to a
///    budget of 256);
/// 3. returns at once if nothing can happen any more (nothing queued, no timer that keeps
///    the loop alive, no event waiting on an fd); else, if nothing is queued, fires the
///    [`at_preblock`] events;
/// 4. polls for I/O: without waiting if work is queued, else **blocking** until the next
///    timer or a ready fd (on the real clock; the virtual clock jumps instead);
/// 5. fires the timers that are due and the events of ready fds. The calls these wake are
///    queued, and resumed only by the next `run`/`run_once`.
///
/// Unlike `run`, it reports no stuck calls, and it does not clear [`leak_reports`](crate::leak_reports).
///
/// # Panics
/// As [`run`]: if a loop is already running on this thread (so `run_once` inside `run` or
/// inside another `run_once`'s `f` panics), and if the OS poller fails. If `f`, or a call it
/// resumes, panics, everything pending on the thread is dropped as `run` does it.
///
/// ```
/// # use tame_rt as tame;
/// use tame::Rendezvous;
/// use std::time::Duration;
///
/// tame::set_clock(tame::Clock::Virtual); // so that the turn does not sleep for 10 s
/// let r: Rendezvous<&str> = Rendezvous::new();
/// tame::run_once(|| {
///     tame::asap(r.event("asap"));
///     tame::timer(Duration::from_secs(10), r.event("10 s"));
///     tame::timer(Duration::from_secs(20), r.event("20 s"));
/// });
/// // One turn: the asap event, then the clock jumped to the first timer.
/// assert_eq!(r.try_join(), Some(("asap", ())));
/// assert_eq!(r.try_join(), Some(("10 s", ())));
/// assert_eq!(r.pending(), 1); // the other timer stays pending
/// tame::run_once(|| {});
/// assert_eq!(r.try_join(), Some(("20 s", ())));
/// ```
pub fn run_once(f: impl FnOnce()) {
    with(|c| {
        assert!(
            !c.running.replace(true),
            "tame::run_once called while a tame loop is already running on this thread"
        );
        c.now.set(Some(c.clock()));
    });
    let unwinding = Unwinding;
    f();
    turn();
    std::mem::forget(unwinding);
    with(|c| c.running.set(false));
}

/// Triggers `e` when the loop is next about to block: when it has run everything queued
/// (calls and `asap` events) and would now wait in its poll for an fd or a timer (on the
/// virtual clock: would move the clock on).
///
/// - All the events registered before that moment fire together, in the order they were
///   registered; one registered while they fire waits for the next time.
/// - The calls they wake are queued and run before the loop blocks (it then polls without
///   waiting); if they queue nothing, the loop blocks as it was about to.
/// - A pending `at_preblock` event does not keep the loop alive: when nothing else can
///   happen the loop ends without firing it, and it stays registered for the next `run` or
///   `run_once` on this thread.
///
/// Meant for work batched over a turn: flushing buffered output once the loop has nothing
/// else to do, instead of after each write.
///
/// ```
/// # use tame_rt as tame;
/// use std::{cell::RefCell, rc::Rc};
/// use std::time::Duration;
/// let log = Rc::new(RefCell::new(Vec::new()));
/// let (a, b, c) = (log.clone(), log.clone(), log.clone());
/// tame::run(|| {
///     tame::timer(Duration::from_millis(1), tame::Event::from_fn(move |()| a.borrow_mut().push("timer")));
///     tame::at_preblock(tame::Event::from_fn(move |()| b.borrow_mut().push("preblock")));
///     tame::asap(tame::Event::from_fn(move |()| c.borrow_mut().push("asap")));
/// });
/// assert_eq!(*log.borrow(), ["asap", "preblock", "timer"]);
/// ```
pub fn at_preblock(e: Event<()>) {
    with(|c| c.preblock.borrow_mut().push(e));
}

/// Drops what a run that unwound left on the thread, then moves the run epoch on.
///
/// Everything is moved out of the core before it is dropped, so destructors may use the
/// runtime (no borrow is held); what they add is dropped in the next round, until a round
/// finds nothing. Tasks taken off the queue are marked not queued, so that one that survives
/// (kept by the user) can be woken, and dropped, later.
#[cold]
#[inline(never)]
fn abandon() {
    // Dropping what the run left is on purpose: no leak reports.
    crate::event::silently(|| {
        loop {
            let mut events: Vec<Event<()>> = Vec::new();
            with(|c| {
                events.append(&mut c.asap.borrow_mut());
                events.append(&mut c.scratch.borrow_mut());
                events.append(&mut c.preblock.borrow_mut());
                c.timers.borrow_mut().drain_into(&mut events);
                c.io.borrow_mut().drain_waiters_into(&mut events);
            });
            crate::signal::abandon_into(&mut events);
            let tasks = crate::local::take_all();
            if events.is_empty() && tasks.is_empty() {
                break;
            }
            drop(tasks);
            drop(events);
        }
        // Calls still blocked are not stuck: they were abandoned. None is reported.
        drop(crate::task::registered(true));
        crate::task::forget_all();
        crate::local::next_epoch();
    })
}

/// What can still happen, as step 3 of a turn sees it.
struct Outlook {
    /// Work queued: calls on the run queue, or `asap` events.
    queued: bool,
    /// A timer that keeps the loop alive is pending (not only background ones).
    timers: bool,
    /// Any timer is pending, background ones included.
    any_timer: bool,
    /// An event waits on an fd.
    fds: bool,
    /// The poller exists (an fd was waited on once).
    has_poll: bool,
}

impl Outlook {
    /// `drained`: step 2 found the run queue empty (nothing ran since).
    fn now(drained: bool) -> Outlook {
        with(|c| {
            let timers = c.timers.borrow();
            Outlook {
                queued: (!drained && crate::local::is_busy()) || !c.asap.borrow().is_empty(),
                timers: timers.keeps_alive(),
                any_timer: timers.live() > 0,
                fds: c.io.borrow().waiters() > 0,
                has_poll: c.io.borrow().has_poll(),
            }
        })
    }

    fn alive(&self) -> bool {
        self.queued || self.timers || self.fds
    }
}

/// One turn of the loop; `false` when the loop is over.
fn turn() -> bool {
    let mut batch = with(|c| std::mem::take(&mut *c.scratch.borrow_mut()));
    // 1. asap events queued before this turn.
    with(|c| std::mem::swap(&mut *c.asap.borrow_mut(), &mut batch));
    for e in batch.drain(..) {
        e.trigger(());
    }
    // 2. queued tasks.
    let mut drained = false;
    for _ in 0..BUDGET {
        let (Some(t), epoch) = crate::local::next() else {
            drained = true;
            break;
        };
        t.resume(epoch);
    }
    // 3. anything left that can happen? Nothing runs between finding the queue empty and here.
    let mut o = Outlook::now(drained);
    if !o.alive() {
        with(|c| *c.scratch.borrow_mut() = batch);
        return false;
    }
    // 3b. about to block: the `at_preblock` events fire instead, and the outlook is taken
    // again (what they woke is queued; what they set or removed counts).
    if !o.queued && with(|c| !c.preblock.borrow().is_empty()) {
        with(|c| std::mem::swap(&mut *c.preblock.borrow_mut(), &mut batch));
        for e in batch.drain(..) {
            e.trigger(());
        }
        o = Outlook::now(false);
        if !o.alive() {
            with(|c| *c.scratch.borrow_mut() = batch);
            return false;
        }
    }
    // 4. poll. The virtual clock never waits for a timer: it polls without waiting, and
    // blocks only when no timer at all is pending (then only an fd can wake it).
    let virt = with(|c| c.virt.get().is_some());
    let timeout = if o.queued || (virt && o.any_timer) {
        Some(Duration::ZERO)
    } else if virt {
        None
    } else {
        with(|c| c.timers.borrow_mut().next_deadline())
            .map(|d| d.saturating_duration_since(Instant::now()))
    };
    if o.has_poll {
        let res = with(|c| c.io.borrow_mut().poll_into(timeout, &mut batch));
        if let Err(e) = res {
            panic!("tame: polling for I/O failed: {e}");
        }
    } else if let Some(t) = timeout
        && !t.is_zero()
    {
        std::thread::sleep(t);
    }
    // 5. clock, timers, fds. The virtual clock jumps to the next deadline when nothing is
    // queued and no fd woke a waiter.
    let now = if virt {
        with(|c| {
            let mut v = c.virt.get().expect("the clock is virtual");
            if !o.queued
                && batch.is_empty()
                && let Some(d) = c.timers.borrow_mut().earliest_deadline()
            {
                v.now = v.now.max(d);
                c.virt.set(Some(v));
            }
            v.now
        })
    } else {
        Instant::now()
    };
    with(|c| {
        c.now.set(Some(now));
        c.timers.borrow_mut().expire(now, &mut batch);
    });
    for e in batch.drain(..) {
        e.trigger(());
    }
    with(|c| {
        let mut s = c.scratch.borrow_mut();
        if s.capacity() < batch.capacity() {
            *s = batch;
        }
    });
    true
}

/// Reports the calls still blocked when the loop ends (debug builds), and forgets them.
fn report_stuck() {
    let tasks = crate::task::registered(true);
    #[cfg(debug_assertions)]
    {
        let mut lines = Vec::new();
        for t in &tasks {
            let h = t.header();
            let what = match h.wait() {
                crate::task::WaitKind::Join => format!(
                    "twait!{{}} with {} event(s) that nothing can trigger any more",
                    h.joins.get()
                ),
                crate::task::WaitKind::Rendezvous => {
                    "twait!(r) on a rendezvous whose pending events nothing can trigger any more"
                        .to_string()
                }
                crate::task::WaitKind::Running => continue,
            };
            let at = match t.clone().site() {
                Some(s) => s.to_string(),
                None => format!("{}:{}", h.file, h.line.get()),
            };
            let line = format!(
                "tame: stuck: `{}` is blocked forever at {at} in {what}",
                h.name
            );
            eprintln!("{line}");
            lines.push(line);
            // The calls waiting for it, up to the root: its tamed backtrace.
            for up in crate::task::chain_from(Some(t.clone().wake_frame()))
                .into_iter()
                .skip(1)
            {
                let line = format!("tame:   waited for by {up}");
                eprintln!("{line}");
                lines.push(line);
            }
        }
        with(|c| *c.stuck.borrow_mut() = lines);
    }
    drop(tasks);
}

/// Stuck reports of the last `run` on this thread (debug builds; empty in release builds).
pub fn stuck_reports() -> Vec<String> {
    with(|c| c.stuck.borrow().clone())
}
