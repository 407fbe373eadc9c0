//! The loop: one per thread, thread-local, on `mio::Poll`.
//!
//! # One turn
//! 1. Trigger the `asap` events queued before this turn started.
//! 2. Resume queued tasks, at most [`BUDGET`] of them, so a storm of wake-ups cannot starve
//!    I/O. Tasks queued while this runs are resumed in the same turn, within the budget.
//! 3. If nothing is queued, no timer is pending and no event waits on an fd, the loop ends.
//! 4. Poll for I/O: with a zero timeout while work is queued, else until the next timer.
//!    Without any fd ever registered, the thread simply sleeps until the next timer.
//! 5. Refresh the cached clock, fire due timers and the events of ready fds (their waiters are
//!    queued, never run inline).
//!
//! Re-entrancy: the runtime never calls user code (triggers, hooks, destructors of events)
//! while it holds a borrow of its own state; it moves what must run into a local buffer first.
//!
//! # A run that unwinds
//! If `run`'s closure or a call it resumes panics, `run` unwinds, and its guard drops what the
//! run left on the thread before the panic leaves `run` ([`abandon`]): queued calls, `asap`
//! events, timers, the events waiting on fds and on signals, in rounds until none is left (destructors
//! may add more), and then moves the thread's run epoch on so that a call of the old run is
//! never resumed ([`crate::task`]). The poller and its registrations stay: they belong to the
//! fds, not to a run, as after a run that ends normally.

use std::time::Instant;

use crate::event::Event;
use crate::local::with;

/// Most tasks resumed in one turn before the loop polls for I/O.
const BUDGET: usize = 256;

/// The loop's cached clock: the time at which the current turn started.
///
/// Inside [`run`] it is refreshed once per turn (after each poll), so it is cheap and every
/// piece of code in one turn sees the same instant. Outside a running loop it is
/// `Instant::now()`.
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
    /// Dropped only when `run` unwinds: the normal path forgets it.
    struct Unwinding;
    impl Drop for Unwinding {
        fn drop(&mut self) {
            // `running` stays set during the cleanup, so a destructor that calls `run` is
            // refused as a nested run would be.
            abandon();
            with(|c| c.running.set(false));
        }
    }
    with(|c| {
        assert!(
            !c.running.replace(true),
            "tame::run called while a tame loop is already running on this thread"
        );
        c.now.set(Some(Instant::now()));
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
    // 3. anything left that can happen?
    let (queued, timers, fds, has_poll) = with(|c| {
        (
            // Nothing runs between finding the queue empty and here.
            (!drained && crate::local::is_busy()) || !c.asap.borrow().is_empty(),
            c.timers.borrow().live() > 0,
            c.io.borrow().waiters() > 0,
            c.io.borrow().has_poll(),
        )
    });
    if !queued && !timers && !fds {
        with(|c| *c.scratch.borrow_mut() = batch);
        return false;
    }
    // 4. poll.
    let timeout = if queued {
        Some(std::time::Duration::ZERO)
    } else {
        with(|c| c.timers.borrow_mut().next_deadline())
            .map(|d| d.saturating_duration_since(Instant::now()))
    };
    if has_poll {
        let res = with(|c| c.io.borrow_mut().poll_into(timeout, &mut batch));
        if let Err(e) = res {
            panic!("tame: polling for I/O failed: {e}");
        }
    } else if let Some(t) = timeout
        && !t.is_zero()
    {
        std::thread::sleep(t);
    }
    // 5. clock, timers, fds.
    let now = Instant::now();
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
