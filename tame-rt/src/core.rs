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

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::rc::Rc;
use std::time::Instant;

use crate::event::Event;
use crate::io::Io;
use crate::task::TaskDyn;
use crate::timer::Timers;

/// Most tasks resumed in one turn before the loop polls for I/O.
const BUDGET: usize = 256;

pub(crate) struct Core {
    /// Tasks whose wait is over, in wake-up order.
    queue: RefCell<VecDeque<Rc<dyn TaskDyn>>>,
    /// `asap` events for the next turn.
    asap: RefCell<Vec<Event<()>>>,
    /// Reused buffer for events fired in one go (asap batch, timers, fds), so firing allocates
    /// nothing once warm.
    scratch: RefCell<Vec<Event<()>>>,
    /// The cached clock, refreshed once per turn while the loop runs.
    now: Cell<Option<Instant>>,
    pub(crate) timers: RefCell<Timers>,
    pub(crate) io: RefCell<Io>,
    /// Whether `run` is active on this thread (nested `run` is refused).
    running: Cell<bool>,
    /// Tamed calls currently blocked, for stuck reports (debug builds).
    #[cfg(debug_assertions)]
    blocked: RefCell<Registry>,
    /// Stuck reports of the last `run` on this thread.
    stuck: RefCell<Vec<String>>,
}

thread_local! {
    static CORE: Core = const {
        Core {
            queue: RefCell::new(VecDeque::new()),
            asap: RefCell::new(Vec::new()),
            scratch: RefCell::new(Vec::new()),
            now: Cell::new(None),
            timers: RefCell::new(Timers::new()),
            io: RefCell::new(Io::new()),
            running: Cell::new(false),
            #[cfg(debug_assertions)]
            blocked: RefCell::new(Registry { tasks: Vec::new(), free: Vec::new() }),
            stuck: RefCell::new(Vec::new()),
        }
    };
}

pub(crate) fn with<R>(f: impl FnOnce(&Core) -> R) -> R {
    CORE.with(f)
}

pub(crate) fn schedule(t: Rc<dyn TaskDyn>) {
    with(|c| c.queue.borrow_mut().push_back(t));
}

pub(crate) fn push_asap(e: Event<()>) {
    with(|c| c.asap.borrow_mut().push(e));
}

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
/// ```
/// # use tame_rt as tame;
/// use std::time::Duration;
/// tame::run(|| {
///     tame::timer(Duration::from_millis(1), tame::Event::from_fn(|()| println!("tick")));
/// });
/// // the loop returned: the timer has fired
/// ```
pub fn run(f: impl FnOnce()) {
    struct Running;
    impl Drop for Running {
        fn drop(&mut self) {
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
    let _running = Running;
    f();
    while turn() {}
    report_stuck();
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
    for _ in 0..BUDGET {
        let Some(t) = with(|c| c.queue.borrow_mut().pop_front()) else {
            break;
        };
        t.resume();
    }
    // 3. anything left that can happen?
    let (queued, timers, fds, has_poll) = with(|c| {
        (
            !c.queue.borrow().is_empty() || !c.asap.borrow().is_empty(),
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

/// Blocked tamed calls, by slot; slots are reused.
#[cfg(debug_assertions)]
pub(crate) struct Registry {
    tasks: Vec<Option<std::rc::Weak<dyn TaskDyn>>>,
    free: Vec<usize>,
}

#[cfg(debug_assertions)]
pub(crate) fn register_blocked(t: &Rc<dyn TaskDyn>) {
    let h = t.header();
    if h.reg.get() != usize::MAX {
        return;
    }
    with(|c| {
        let mut r = c.blocked.borrow_mut();
        let w = Some(Rc::downgrade(t));
        let i = match r.free.pop() {
            Some(i) => {
                r.tasks[i] = w;
                i
            }
            None => {
                r.tasks.push(w);
                r.tasks.len() - 1
            }
        };
        h.reg.set(i);
    });
}

#[cfg(debug_assertions)]
pub(crate) fn unregister_blocked(h: &crate::task::Header) {
    let i = h.reg.replace(usize::MAX);
    if i == usize::MAX {
        return;
    }
    with(|c| {
        let mut r = c.blocked.borrow_mut();
        r.tasks[i] = None;
        r.free.push(i);
    });
}

fn report_stuck() {
    #[cfg(debug_assertions)]
    {
        // Drain, keeping the registry's capacity for the next `run` on this thread.
        let tasks: Vec<_> = with(|c| {
            let mut r = c.blocked.borrow_mut();
            r.free.clear();
            r.tasks.drain(..).flatten().collect()
        });
        let mut lines = Vec::new();
        for t in tasks {
            let Some(t) = t.upgrade() else { continue };
            let h = t.header();
            h.reg.set(usize::MAX);
            let what = match h.wait.get() {
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
            let line = format!(
                "tame: stuck: `{}` is blocked forever at {}:{} in {}",
                h.name,
                h.file,
                h.line.get(),
                what
            );
            eprintln!("{line}");
            lines.push(line);
        }
        with(|c| *c.stuck.borrow_mut() = lines);
    }
}

/// Stuck reports of the last `run` on this thread (debug builds; empty in release builds).
pub fn stuck_reports() -> Vec<String> {
    with(|c| c.stuck.borrow().clone())
}
