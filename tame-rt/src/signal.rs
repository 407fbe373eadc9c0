//! Signals: [`at_signal`], [`add_signal`], [`Signalled`].
//!
//! A signal never runs user code inside its handler. The handler (signal-hook's, installed
//! once per signal and process) only sets a flag and writes a byte to a pipe; the loop waits
//! readable on the pipe like on any fd, and the events are triggered from the loop, as a
//! timer's are.
//!
//! # Model
//! Each thread that waits for signals has a self-pipe and, per signal it has waited for, two
//! signal-hook actions of its own: one sets the thread's `arrived` flag for that signal, the
//! next writes a byte to the thread's pipe. They stay registered until the thread ends (a
//! registration costs signal-hook a lock and a copy of its table, so it is not made per
//! wait): what says whether the thread *catches* the signal is the state kept here.
//!
//! A thread catches a signal while it has events waiting for it, and through the *window*
//! after they fired: until the loop finds its run queue empty at the start of a turn, so the
//! calls the signal woke have run up to their next wait. A delivery in the window is held
//! (the flag stays set) and fires the next [`at_signal`] at once. When the thread stops
//! catching (the window closed with no new registration, or every waiting event was
//! cancelled), the process-wide count of threads that catch the signal goes down; at zero
//! the signal is handled as before tame caught it, and a delivery the thread still held is
//! given that treatment then. So a delivery is either handed to events or handled as it would
//! have been without tame, never lost.
//!
//! "As before" is what the process had when tame first caught the signal, read from
//! `/proc/self/status` (`SigIgn`, `SigCgt`): ignored (a process started by `nohup` ignores
//! SIGHUP; Rust programs ignore SIGPIPE), caught by another handler (signal-hook calls it
//! first on every delivery, whatever tame does), or the default action. Setting the
//! disposition back to `SIG_DFL` takes `sigaction`, which is `unsafe` (and signal-hook's
//! `unregister` leaves its handler in place, so the signal would be ignored): instead,
//! signal-hook's handler stays and runs an emulation of the default action
//! (`register_conditional_default`), armed while no thread catches the signal. The emulation
//! sets `SIG_DFL` and raises the signal again for a signal whose default ends the process (so
//! the exit status says which signal), stops the process for SIGTSTP, SIGTTIN and SIGTTOU,
//! and does nothing for the ones the default ignores. Without `/proc`, the default action is
//! assumed.
//!
//! Invariants: `waiting` is the number of events in the `waiters` lists; a thread `armed` (an
//! event waits readable on its pipe, which keeps the loop alive) exactly while `waiting > 0`,
//! outside the functions here; a signal's process-wide `catching` is the number of threads
//! whose `Sig::catching` is set; a `Sig` with waiters, or in its window, is catching.

use std::cell::RefCell;
use std::fmt;
use std::io::{self, Read};
use std::os::fd::{AsRawFd, RawFd};
use std::os::unix::net::UnixStream;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use signal_hook::SigId;
use tame_macros::tamed;

use crate::{Event, Rendezvous};

/// Hangup (default: end the process). A daemon reloads its configuration on it.
pub const SIGHUP: i32 = signal_hook::consts::SIGHUP;
/// Interrupt: Ctrl-C (default: end the process).
pub const SIGINT: i32 = signal_hook::consts::SIGINT;
/// Quit: Ctrl-\ (default: end the process with a core dump).
pub const SIGQUIT: i32 = signal_hook::consts::SIGQUIT;
/// Termination, as sent by `kill` and service managers (default: end the process).
pub const SIGTERM: i32 = signal_hook::consts::SIGTERM;
/// User-defined signal 1 (default: end the process).
pub const SIGUSR1: i32 = signal_hook::consts::SIGUSR1;
/// User-defined signal 2 (default: end the process).
pub const SIGUSR2: i32 = signal_hook::consts::SIGUSR2;
/// A timer set with `alarm` expired (default: end the process).
pub const SIGALRM: i32 = signal_hook::consts::SIGALRM;
/// A child process stopped or ended (default: ignored).
pub const SIGCHLD: i32 = signal_hook::consts::SIGCHLD;
/// The terminal's window changed size (default: ignored).
pub const SIGWINCH: i32 = signal_hook::consts::SIGWINCH;
/// A write to a pipe or socket nobody reads (ignored in Rust programs, which see `EPIPE`).
pub const SIGPIPE: i32 = signal_hook::consts::SIGPIPE;

/// The error an operation wrapped by [`add_signal`] reports when the signal came first: the
/// signal's number.
///
/// ```
/// # use tame_rt as tame;
/// use tame::signal::{SIGINT, Signalled};
/// let e: Box<dyn std::error::Error> = Box::new(Signalled(SIGINT));
/// assert_eq!(e.to_string(), "operation interrupted by SIGINT");
/// assert_eq!(Signalled(SIGINT), Signalled(2));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Signalled(pub i32);

impl fmt::Display for Signalled {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match signal_hook::low_level::signal_name(self.0) {
            Some(name) => write!(f, "operation interrupted by {name}"),
            None => write!(f, "operation interrupted by signal {}", self.0),
        }
    }
}

impl std::error::Error for Signalled {}

/// Sends `signo` to the calling thread (`raise(3)`): its handler has run when this returns.
///
/// For tests and for a program that signals itself; another process is signalled with
/// `kill`.
///
/// ```
/// # use tame_rt as tame;
/// # if cfg!(miri) { return; } // Miri has no signals
/// use tame::signal::{SIGUSR1, at_signal, raise};
/// let got = std::rc::Rc::new(std::cell::Cell::new(false));
/// let g = got.clone();
/// tame::run(|| {
///     at_signal(SIGUSR1, tame::Event::from_fn(move |()| g.set(true)));
///     raise(SIGUSR1).unwrap();
/// });
/// assert!(got.get());
/// ```
pub fn raise(signo: i32) -> io::Result<()> {
    signal_hook::low_level::raise(signo)
}

/// Triggers `e` when the signal `signo` arrives; one-shot.
///
/// - Every event registered for `signo` on this thread fires together at its next delivery
///   (deliveries that come before the loop reads them count as one, as the kernel merges
///   them). Code waiting for it runs from the loop, never inside the signal handler.
/// - **No delivery is lost between a wake and the next registration.** After the events
///   fired, the signal stays caught until the calls they woke have run (until the loop's run
///   queue is empty at the start of a turn). A delivery in that window is remembered, and
///   the next `at_signal` for `signo` fires at once. So register again right after waking,
///   before waiting for anything else.
/// - **Then the signal is handled as before**: when no event waits for it any more (the
///   window closed with no new registration, or every waiting event was cancelled or dropped
///   with its receiver), and no other thread waits for it, the signal gets the disposition
///   the process had before it was first caught: its default action (SIGINT and SIGTERM end
///   the process again), ignored, or another handler. A delivery remembered in the window and
///   never claimed gets that treatment when the window closes. (The default action is
///   emulated: see the module docs for how and why.)
/// - **The loop stays alive** while an event waits for a signal, as for a timer: a program
///   that waits for Ctrl-C does not exit. An event whose receiver is cancelled is removed at
///   once, and then keeps nothing alive.
/// - Several threads may wait for the same signal: each delivery fires the events of every
///   thread that waits for it.
///
/// # Panics
/// If `signo` cannot be caught: SIGKILL, SIGSTOP, the signals of a fault (SIGILL, SIGFPE,
/// SIGSEGV), a real-time signal, or a number that is no signal. Or if the thread's pipe
/// cannot be made (the process is out of file descriptors).
///
/// ```
/// # use tame_rt as tame;
/// # if cfg!(miri) { return; } // Miri has no signals
/// use tame::Rendezvous;
/// use tame::signal::{SIGTERM, at_signal, raise};
///
/// let r: Rendezvous<&str, ()> = Rendezvous::new();
/// tame::run(|| {
///     at_signal(SIGTERM, r.event("first"));
///     at_signal(SIGTERM, r.event("second"));
///     raise(SIGTERM).unwrap(); // as `kill PID` would: caught, so the process goes on
/// });
/// // Both fired, together. Nothing waits for SIGTERM now: it would end the process again.
/// assert_eq!(r.try_join(), Some(("first", ())));
/// assert_eq!(r.try_join(), Some(("second", ())));
/// ```
pub fn at_signal(signo: i32, mut e: Event<()>) {
    check(signo);
    if !e.is_live() {
        return;
    }
    // Attached before the event is stored: storing needs no callback.
    e.on_cancel_internal(cancel_hook, signo as usize, 0);
    let (fire, window, pipe) = with(|c| {
        let i = c.sig(signo);
        let s = &mut c.sigs[i];
        if !s.catching {
            // Not caught until now: a flag set meanwhile is stale (the signal was handled as
            // before). Counted first, so that a delivery from here on is this thread's.
            s.catching = true;
            begin(signo);
            s.arrived.store(false, Ordering::SeqCst);
        }
        s.waiters.push(e);
        c.waiting += 1;
        let s = &mut c.sigs[i];
        let mut fire = Vec::new();
        let mut window = false;
        if s.arrived.swap(false, Ordering::SeqCst) {
            // Held since the last firing, or not read yet: hand it out now.
            fire.append(&mut s.waiters);
            window = !std::mem::replace(&mut s.window, true);
            c.waiting -= fire.len();
        }
        (fire, window, c.settle())
    });
    after(fire, window.then_some(signo), pipe);
}

/// Wraps `e` so that the signal `signo` interrupts an operation: returns the event to hand to
/// the operation. As [`add_timeout`](crate::add_timeout), with a signal for the timer:
///
/// - If the returned event triggers with `v` first, `e` gets `Ok(v)`, and the registration
///   for `signo` is removed (the signal is handled as before again, unless something else
///   waits for it).
/// - If `signo` arrives first, `e` gets `Err(Signalled(signo))` and the returned event is
///   cancelled: the operation holding it sees `is_live() == false` and its `on_cancel` hooks
///   run. Handed to a tamed call as its `Event` parameter, it ends that call where it waits
///   (see the book's "Stopping work").
/// - If the returned event is dropped untriggered, `e` is dropped too (abandoned) and the
///   registration removed, on the loop's next turn.
/// - If `e`'s own receiver is cancelled, the returned event is cancelled and the registration
///   removed.
///
/// The registration is an [`at_signal`] one, with its rules: a delivery held from an earlier
/// firing of `signo` interrupts the operation at once, and the loop stays alive while the
/// operation runs.
///
/// # Panics
/// As [`at_signal`], for a signal that cannot be caught.
///
/// ```
/// # use tame_rt as tame;
/// # if cfg!(miri) { return; } // Miri has no signals
/// use tame::Rendezvous;
/// use tame::signal::{SIGUSR2, Signalled, add_signal, raise};
///
/// let r: Rendezvous<&str, Result<u32, Signalled>> = Rendezvous::new();
/// let mut kept = None;
/// tame::run(|| {
///     let quick = add_signal(SIGUSR2, r.event("quick"));
///     quick.trigger(1); // done before any signal
///     let slow = add_signal(SIGUSR2, r.event("slow"));
///     kept = Some(slow); // an operation that has not answered yet
///     raise(SIGUSR2).unwrap();
/// });
/// assert_eq!(r.try_join(), Some(("quick", Ok(1))));
/// assert_eq!(r.try_join(), Some(("slow", Err(Signalled(SIGUSR2)))));
/// assert!(!kept.unwrap().is_live()); // the signal cancelled it
/// ```
#[cfg_attr(debug_assertions, track_caller)]
pub fn add_signal<T: 'static>(signo: i32, e: Event<Result<T, Signalled>>) -> Event<T> {
    check(signo);
    // The operation's value is `Some(v)`, or `None` when it dropped its event.
    let r: Rendezvous<Side, Option<T>> = Rendezvous::new();
    let op = r.event_map(Side::Operation, |v: Option<T>| v);
    at_signal(signo, r.event_map(Side::Signal, |_: Option<()>| None));
    race(signo, r, e);
    op
}

/// The two events [`add_signal`] races.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Side {
    /// The operation's event: its value, or `None` if it was dropped untriggered.
    Operation,
    /// The signal's event.
    Signal,
}

/// The waiting half of [`add_signal`]: whichever event of `r` comes first decides what `e`
/// gets; the other one is then cancelled (the registration removed, or the operation told).
///
/// If `e`'s own receiver goes away first, the call ends where it waits, and `r`, dropped with
/// it, cancels both sides.
#[tamed(crate = crate)]
fn race<T: 'static>(signo: i32, r: Rendezvous<Side, Option<T>>, e: Event<Result<T, Signalled>>) {
    match twait!(r) {
        Some((Side::Operation, Some(v))) => e.trigger(Ok(v)),
        Some((Side::Signal, _)) => e.trigger(Err(Signalled(signo))),
        // The operation dropped its event: abandon `e`.
        Some((Side::Operation, None)) | None => e.abandon(),
    }
    r.cancel();
}

/// A signal could not be caught for a reason of the system's (out of file descriptors).
#[cold]
fn cannot(signo: i32, e: io::Error) -> ! {
    panic!("tame: cannot catch signal {signo}: {e}")
}

/// Panics unless signal-hook can catch `signo` and knows its default action.
fn check(signo: i32) {
    let known = signal_hook::low_level::signal_name(signo).is_some();
    if !known || signal_hook::consts::FORBIDDEN.contains(&signo) {
        panic!(
            "tame: signal {signo} cannot be caught (SIGKILL, SIGSTOP, SIGILL, SIGFPE and SIGSEGV \
             cannot, nor real-time signals)"
        );
    }
}

// ---------------------------------------------------------------------------------------------
// This thread's side.

/// One signal, as this thread waits for it.
struct Sig {
    signo: i32,
    /// Set by this thread's action in the handler; taken when a delivery is handed out.
    arrived: Arc<AtomicBool>,
    /// This thread's actions: set `arrived`, then write to the pipe.
    ids: [SigId; 2],
    waiters: Vec<Event<()>>,
    /// Counted in the process-wide `catching` of the signal.
    catching: bool,
    /// The window after a firing is open (a check is queued with `asap`).
    window: bool,
}

/// What this thread catches.
#[derive(Default)]
struct Catcher {
    /// The self-pipe (a socket pair): read end, write end (cloned for each signal's action).
    pipe: Option<(UnixStream, UnixStream)>,
    /// An event waits readable on the pipe's read end.
    armed: bool,
    sigs: Vec<Sig>,
    /// Events waiting, for all signals.
    waiting: usize,
}

thread_local! {
    static CATCHER: RefCell<Catcher> = RefCell::new(Catcher::default());
}

fn with<R>(f: impl FnOnce(&mut Catcher) -> R) -> R {
    CATCHER.with(|c| f(&mut c.borrow_mut()))
}

/// The pipe's read end, for `readable` and `deregister`.
struct Fd(RawFd);

impl AsRawFd for Fd {
    fn as_raw_fd(&self) -> RawFd {
        self.0
    }
}

impl Catcher {
    /// The index of `signo`'s entry, made (with this thread's actions) if it has none.
    fn sig(&mut self, signo: i32) -> usize {
        if let Some(i) = self.sigs.iter().position(|s| s.signo == signo) {
            return i;
        }
        if self.pipe.is_none() {
            let (rd, wr) = UnixStream::pair().unwrap_or_else(|e| cannot(signo, e));
            rd.set_nonblocking(true)
                .unwrap_or_else(|e| cannot(signo, e));
            self.pipe = Some((rd, wr));
        }
        let Some((_, wr)) = &self.pipe else {
            unreachable!("made just above")
        };
        // The emulation of the default action goes first, so that it runs before this
        // thread's actions.
        install(signo);
        let arrived = Arc::new(AtomicBool::new(false));
        let wr = wr.try_clone().unwrap_or_else(|e| cannot(signo, e));
        let flag = signal_hook::flag::register(signo, arrived.clone())
            .unwrap_or_else(|e| cannot(signo, e));
        let pipe = match signal_hook::low_level::pipe::register(signo, wr) {
            Ok(id) => id,
            Err(e) => {
                signal_hook::low_level::unregister(flag);
                cannot(signo, e)
            }
        };
        self.sigs.push(Sig {
            signo,
            arrived,
            ids: [flag, pipe],
            waiters: Vec::new(),
            catching: false,
            window: false,
        });
        self.sigs.len() - 1
    }

    /// Keeps the invariant `armed == (waiting > 0)`: what must be done to the pipe, outside
    /// the borrow, by [`after`] (it is marked done here).
    fn settle(&mut self) -> Pipe {
        let Some((rd, _)) = &self.pipe else {
            return Pipe::Leave;
        };
        let fd = Fd(rd.as_raw_fd());
        match (self.waiting > 0, self.armed) {
            (true, false) => {
                self.armed = true;
                Pipe::Arm(fd)
            }
            (false, true) => {
                self.armed = false;
                Pipe::Disarm(fd)
            }
            _ => Pipe::Leave,
        }
    }

    /// Debug builds: checks that `waiting` counts the waiting events.
    fn check(&self) {
        #[cfg(debug_assertions)]
        {
            let n: usize = self.sigs.iter().map(|s| s.waiters.len()).sum();
            assert_eq!(
                self.waiting, n,
                "signal: `waiting` is not the number of waiting events"
            );
            assert_eq!(
                self.armed,
                self.waiting > 0,
                "signal: the pipe is armed while no event waits, or not while one does"
            );
            for s in &self.sigs {
                assert!(
                    s.catching || (s.waiters.is_empty() && !s.window),
                    "signal: events wait for a signal that is not caught"
                );
            }
        }
    }
}

impl Drop for Catcher {
    fn drop(&mut self) {
        // The thread ends: its actions go (closing their pipe ends), its count with them; the
        // events still waiting are dropped on purpose (no leak reports).
        for s in &mut self.sigs {
            for id in s.ids {
                signal_hook::low_level::unregister(id);
            }
            if s.catching {
                end(s.signo);
            }
            for e in s.waiters.drain(..) {
                e.abandon();
            }
        }
    }
}

/// What to do to the pipe after a change: see [`Catcher::settle`].
enum Pipe {
    Leave,
    /// Wait readable on it: the loop stays alive.
    Arm(Fd),
    /// Drop the event waiting on it: nothing keeps the loop alive for signals any more.
    Disarm(Fd),
}

/// What follows a change made under the borrow: open a window, arm or disarm the pipe, then
/// trigger the events that fired (user code, so last, with no borrow held).
fn after(fire: Vec<Event<()>>, window: Option<i32>, pipe: Pipe) {
    with(|c| c.check());
    if let Some(signo) = window {
        crate::local::push_asap(Event::from_fn(move |()| close_window(signo)));
    }
    match pipe {
        Pipe::Leave => {}
        Pipe::Arm(fd) => crate::io::readable(&fd, Event::from_fn(|()| dispatch())),
        Pipe::Disarm(fd) => crate::io::deregister(&fd),
    }
    for e in fire {
        e.trigger(());
    }
}

/// The pipe is readable: hands each delivery to the events waiting for its signal.
fn dispatch() {
    let (fire, windows, pipe) = with(|c| {
        // The event that waited on the pipe was just triggered.
        c.armed = false;
        if let Some((rd, _)) = &mut c.pipe {
            let mut buf = [0u8; 64];
            // Until WouldBlock: the bytes only wake the loop, the flags say which signal.
            while matches!(rd.read(&mut buf), Ok(n) if n > 0) {}
        }
        let mut fire = Vec::new();
        let mut windows = Vec::new();
        for s in &mut c.sigs {
            if !s.waiters.is_empty() && s.arrived.swap(false, Ordering::SeqCst) {
                fire.append(&mut s.waiters);
                if !std::mem::replace(&mut s.window, true) {
                    windows.push(s.signo);
                }
            }
        }
        c.waiting -= fire.len();
        (fire, windows, c.settle())
    });
    for signo in windows {
        crate::local::push_asap(Event::from_fn(move |()| close_window(signo)));
    }
    after(fire, None, pipe);
}

/// At the start of a turn after a firing: closes the window once the run queue is empty (the
/// woken calls have run), and if nothing registered again, stops catching the signal.
fn close_window(signo: i32) {
    if crate::local::is_busy() {
        crate::local::push_asap(Event::from_fn(move |()| close_window(signo)));
        return;
    }
    let stop = with(|c| {
        let s = c.sigs.iter_mut().find(|s| s.signo == signo)?;
        s.window = false;
        s.waiters.is_empty().then_some(())
    });
    if stop.is_some() {
        stop_catching(signo);
    }
}

/// A waiting event's receiver was cancelled: removes the events of `signo` that are no longer
/// live; stops catching the signal if none is left.
fn cancel_hook(signo: usize, _: u64) {
    let Ok((dead, stop, pipe)) = CATCHER.try_with(|c| {
        let mut c = c.borrow_mut();
        let c = &mut *c;
        let Some(s) = c.sigs.iter_mut().find(|s| s.signo as usize == signo) else {
            return (Vec::new(), false, Pipe::Leave);
        };
        let (live, dead): (Vec<_>, Vec<_>) = s.waiters.drain(..).partition(|e| e.is_live());
        s.waiters = live;
        let stop = s.catching && s.waiters.is_empty() && !s.window && !dead.is_empty();
        c.waiting -= dead.len();
        (dead, stop, c.settle())
    }) else {
        return; // the thread is ending
    };
    after(Vec::new(), None, pipe);
    if stop {
        stop_catching(signo as i32);
    }
    drop(dead); // outside the borrow: dropping reaches the events' receivers
}

/// This thread no longer catches `signo`. If no thread does, the signal is handled as before,
/// and a delivery this thread held gets that treatment now.
fn stop_catching(signo: i32) {
    let arrived = with(|c| {
        let s = c.sigs.iter_mut().find(|s| s.signo == signo)?;
        std::mem::replace(&mut s.catching, false).then(|| s.arrived.clone())
    });
    let Some(arrived) = arrived else {
        return;
    };
    if let Some(before) = end(signo)
        && arrived.swap(false, Ordering::SeqCst)
        && before == Before::Default
    {
        // As the default action would have done at the delivery (the process ends, for
        // most signals).
        let _ = signal_hook::low_level::emulate_default_handler(signo);
    }
}

/// A run unwound: moves every waiting event into `out` (to be dropped), closes the windows
/// and stops catching every signal. The event waiting on the pipe is the poller's, dropped
/// with the other fds' waiters.
pub(crate) fn abandon_into(out: &mut Vec<Event<()>>) {
    let Ok(stop) = CATCHER.try_with(|c| {
        let mut c = c.borrow_mut();
        let mut stop = Vec::new();
        for s in &mut c.sigs {
            out.append(&mut s.waiters);
            s.window = false;
            if s.catching {
                stop.push(s.signo);
            }
        }
        c.waiting = 0;
        c.armed = false;
        stop
    }) else {
        return;
    };
    for signo in stop {
        stop_catching(signo);
    }
}

// ---------------------------------------------------------------------------------------------
// The process's side.

/// How the process handled a signal before tame first caught it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Before {
    /// The default action: emulated while no thread catches the signal.
    Default,
    /// Ignored: a delivery while no thread catches the signal does nothing.
    Ignored,
    /// Another handler, which signal-hook calls on every delivery.
    Handled,
}

/// One signal, process-wide.
struct Global {
    signo: i32,
    before: Before,
    /// Armed (true) while no thread catches the signal: signal-hook's handler then emulates
    /// the default action (for [`Before::Default`] only).
    default: Arc<AtomicBool>,
    /// How many threads catch the signal.
    catching: usize,
}

static GLOBAL: Mutex<Vec<Global>> = Mutex::new(Vec::new());

fn global<R>(f: impl FnOnce(&mut Vec<Global>) -> R) -> R {
    // Nothing panics while holding the lock; a poisoned one still holds consistent data.
    f(&mut GLOBAL.lock().unwrap_or_else(|p| p.into_inner()))
}

/// Installs signal-hook's handler for `signo` (once per process), with the emulation of the
/// default action if that is what the process had.
fn install(signo: i32) {
    global(|g| {
        if g.iter().any(|s| s.signo == signo) {
            return;
        }
        let before = before(signo);
        let default = Arc::new(AtomicBool::new(true));
        if before == Before::Default
            && let Err(e) = signal_hook::flag::register_conditional_default(signo, default.clone())
        {
            cannot(signo, e);
        }
        g.push(Global {
            signo,
            before,
            default,
            catching: 0,
        });
    })
}

/// One more thread catches `signo` (installed first): the default action is disarmed.
fn begin(signo: i32) {
    global(|g| {
        let s = g.iter_mut().find(|s| s.signo == signo);
        let s = s.expect("installed before it is caught");
        s.catching += 1;
        s.default.store(false, Ordering::SeqCst);
    })
}

/// One thread fewer catches `signo`. If none does any more, the default action is armed again
/// and the former disposition returned.
fn end(signo: i32) -> Option<Before> {
    global(|g| {
        let s = g.iter_mut().find(|s| s.signo == signo)?;
        debug_assert!(s.catching > 0, "signal: a thread stops catching twice");
        s.catching = s.catching.saturating_sub(1);
        if s.catching > 0 {
            return None;
        }
        s.default.store(true, Ordering::SeqCst);
        Some(s.before)
    })
}

/// How the process handles `signo` now, from `/proc/self/status` (the default action when it
/// cannot be read).
fn before(signo: i32) -> Before {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let has = |field: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(field))
            .and_then(|v| u64::from_str_radix(v.trim(), 16).ok())
            .is_some_and(|mask| (1..=64).contains(&signo) && mask & (1 << (signo - 1)) != 0)
    };
    if has("SigIgn:") {
        Before::Ignored
    } else if has("SigCgt:") {
        Before::Handled
    } else {
        Before::Default
    }
}
