//! Tamed calls as tasks: the one heap object per call, and the hidden interface the
//! `#[tamed]` macro emits code against.
//!
//! A task is `Rc<Task<F>>` where `F` is the closure the macro wrote (the state machine). It is
//! referenced by the run queue while queued, by the rendezvous it waits on (as a waiter), and by
//! the `mkevent!()` events of its current `twait!{}` block (through [`Join`]). When nothing
//! refers to it any more it is freed, with whatever state its closure still held.
//!
//! # Wait states (`Header::wait`)
//! - `Running`: not blocked (running, queued, or finished).
//! - `Join`: blocked at the end of a `twait!{}` block until `joins == 0`.
//! - `Rendezvous`: blocked in `twait!(r)`; queued among `r`'s waiters.
//!
//! Invariant: a task is in the run queue at most once (`queued`), and only a task whose wait
//! is over is resumed; a wake-up that arrives while the wait is not over is ignored.
//!
//! A task remembers the run epoch it started in. When a run unwinds, the epoch moves on, so a
//! task of that run that something outside it still refers to (a `Rendezvous` or `Event` the
//! user kept) is dropped, not resumed, if it is ever woken again.

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use crate::event::{Event, Join, Target};
use crate::rendezvous::Rendezvous;

/// Something that can be put on the run queue.
pub(crate) trait Wake {
    fn wake(self: Rc<Self>);
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum WaitKind {
    Running,
    Join,
    Rendezvous,
}

pub(crate) struct Header {
    /// The tamed function's name, for stuck reports (debug builds only: release builds keep
    /// no name, file or line, 36 bytes less per call).
    #[cfg(debug_assertions)]
    pub(crate) name: &'static str,
    /// Its source file, for stuck reports.
    #[cfg(debug_assertions)]
    pub(crate) file: &'static str,
    /// Line of the `twait` it is blocked in (valid while `wait != Running`).
    #[cfg(debug_assertions)]
    pub(crate) line: Cell<u32>,
    /// Outstanding events of the current `twait!{}` block.
    pub(crate) joins: Cell<u32>,
    /// What the task is blocked on.
    pub(crate) wait: Cell<WaitKind>,
    /// Whether the task is in the run queue (so a second wake does not queue it twice).
    pub(crate) queued: Cell<bool>,
    /// Index in the debug registry of blocked tasks (`usize::MAX` when not registered).
    #[cfg(debug_assertions)]
    pub(crate) reg: Cell<usize>,
    /// The thread's run epoch when the call started (see `core::Core::epoch`): a call whose
    /// epoch is not the current one belongs to a run that unwound, and is never resumed.
    /// Two bytes fit in the header's padding (a wider counter would cost 8 bytes per call).
    pub(crate) epoch: u16,
}

/// The object-safe face of a task, as held by the run queue and by rendezvous.
pub(crate) trait TaskDyn: Wake + Join {
    fn header(&self) -> &Header;
    /// Runs the closure once; called only by the loop (never inline from a trigger). `epoch`
    /// is the thread's current run epoch: a task of an older one is dropped instead.
    fn resume(self: Rc<Self>, epoch: u16);
    fn as_join(self: Rc<Self>) -> Rc<dyn Join>;
    fn as_wake(self: Rc<Self>) -> Rc<dyn Wake>;
}

pub(crate) struct Task<F> {
    hdr: Header,
    /// The state machine; `None` once it returned `Step::Done`.
    f: RefCell<Option<F>>,
}

/// What a tamed call's closure returns to the runtime after running.
#[doc(hidden)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// Blocked in a `twait`; resume me when the wait is over.
    Blocked,
    /// Finished; drop me.
    Done,
}

/// The running tamed call, as seen by its own closure.
#[doc(hidden)]
pub struct Cx {
    task: Rc<dyn TaskDyn>,
}

impl<F: FnMut(&Cx) -> Step + 'static> Task<F> {
    fn step(self: Rc<Self>) {
        let cx = Cx { task: self.clone() };
        let step = {
            let mut f = self.f.borrow_mut();
            match f.as_mut() {
                Some(f) => f(&cx),
                None => Step::Done,
            }
        };
        if step == Step::Done {
            let f = self.f.borrow_mut().take();
            drop(f);
        }
    }
}

impl<F> Task<F> {
    /// A call of a run that unwound was woken: it is over. Its closure, and with it every
    /// local it kept, is dropped here instead of being run.
    #[cold]
    #[inline(never)]
    fn abandon(&self) {
        self.hdr.wait.set(WaitKind::Running);
        #[cfg(debug_assertions)]
        crate::core::unregister_blocked(&self.hdr);
        let f = self.f.borrow_mut().take();
        drop(f); // outside the borrow: the locals' destructors may reach this task again
    }
}

impl<F: FnMut(&Cx) -> Step + 'static> Wake for Task<F> {
    fn wake(self: Rc<Self>) {
        if !self.hdr.queued.replace(true) {
            crate::core::schedule(self);
        }
    }
}

impl<F: FnMut(&Cx) -> Step + 'static> Join for Task<F> {
    fn join_add(&self) {
        self.hdr.joins.set(self.hdr.joins.get() + 1);
    }
    fn join_done(self: Rc<Self>) {
        let j = self.hdr.joins.get() - 1;
        self.hdr.joins.set(j);
        if j == 0 && self.hdr.wait.get() == WaitKind::Join {
            self.wake();
        }
    }
}

impl<F: FnMut(&Cx) -> Step + 'static> TaskDyn for Task<F> {
    fn header(&self) -> &Header {
        &self.hdr
    }
    fn resume(self: Rc<Self>, epoch: u16) {
        self.hdr.queued.set(false);
        if self.hdr.epoch != epoch {
            self.abandon();
            return;
        }
        match self.hdr.wait.get() {
            WaitKind::Join if self.hdr.joins.get() != 0 => return,
            _ => {}
        }
        self.hdr.wait.set(WaitKind::Running);
        #[cfg(debug_assertions)]
        crate::core::unregister_blocked(&self.hdr);
        self.step();
    }
    fn as_join(self: Rc<Self>) -> Rc<dyn Join> {
        self
    }
    fn as_wake(self: Rc<Self>) -> Rc<dyn Wake> {
        self
    }
}

/// Starts a tamed call: allocates its task (the one allocation per call) and runs the closure
/// at once, until it finishes or blocks.
#[doc(hidden)]
pub fn spawn<F>(name: &'static str, file: &'static str, f: F)
where
    F: FnMut(&Cx) -> Step + 'static,
{
    #[cfg(not(debug_assertions))]
    let _ = (name, file);
    let task = Rc::new(Task {
        hdr: Header {
            #[cfg(debug_assertions)]
            name,
            #[cfg(debug_assertions)]
            file,
            #[cfg(debug_assertions)]
            line: Cell::new(0),
            joins: Cell::new(0),
            wait: Cell::new(WaitKind::Running),
            queued: Cell::new(false),
            #[cfg(debug_assertions)]
            reg: Cell::new(usize::MAX),
            epoch: crate::core::epoch(),
        },
        f: RefCell::new(Some(f)),
    });
    task.step();
}

impl Cx {
    /// `mkevent!()` inside `twait!{}`: an event counted by the block's join.
    pub fn join_event(&self) -> Event<()> {
        self.task.join_add();
        Event::new(Target::Join(self.task.clone().as_join()))
    }

    /// `mkevent!(place)` inside `twait!{}`: an event on the site's hidden rendezvous (made on
    /// first use, kept for the whole call), tagged with the place's evaluated index `key`.
    pub fn site_event<K: 'static, T: 'static>(
        &self,
        site: &mut Option<Rendezvous<K, T>>,
        key: K,
    ) -> Event<T> {
        site.get_or_insert_with(|| Rendezvous::with_group(self.task.clone().as_join()))
            .event(key)
    }

    /// After a `twait!{}` whose `mkevent!(place)` sites may write one place: the trigger
    /// stamp of the next value of `site` (`u64::MAX` if it has none). The drain the macro
    /// emits writes the value with the smallest stamp first, so the event that triggered last
    /// stands.
    #[inline]
    pub fn site_stamp<K: 'static, T: 'static>(&self, site: &Option<Rendezvous<K, T>>) -> u64 {
        match site {
            Some(r) => r.next_stamp(),
            None => u64::MAX,
        }
    }

    /// End of `twait!{}`: `true` when every event of the block is done (go on at once);
    /// otherwise the call is marked blocked and `false` is returned (the closure saves its
    /// state and returns `Step::Blocked`).
    #[inline]
    pub fn join_ready(&self, line: u32) -> bool {
        #[cfg(not(debug_assertions))]
        let _ = line;
        let h = self.task.header();
        if h.joins.get() == 0 {
            return true;
        }
        h.wait.set(WaitKind::Join);
        #[cfg(debug_assertions)]
        h.line.set(line);
        #[cfg(debug_assertions)]
        crate::core::register_blocked(&self.task);
        false
    }

    /// `twait!(r)`: `Some(next)` to go on with `next` (`None` once `r` can yield nothing more);
    /// `None` when blocked, with this call queued among `r`'s waiters.
    #[inline]
    pub fn poll_rv<I: 'static, T: 'static>(
        &self,
        r: &Rendezvous<I, T>,
        line: u32,
    ) -> Option<Option<(I, T)>> {
        #[cfg(not(debug_assertions))]
        let _ = line;
        if let Some(done) = r.poll_or_wait(|| self.task.clone().as_wake()) {
            return Some(done);
        }
        let h = self.task.header();
        h.wait.set(WaitKind::Rendezvous);
        #[cfg(debug_assertions)]
        h.line.set(line);
        #[cfg(debug_assertions)]
        crate::core::register_blocked(&self.task);
        None
    }
}

/// An empty *hold* for `x`, declared right after it: when `x` is shadowed while it is still
/// needed, its value moves into the hold, which sits where `x` sits among the locals, so it
/// is dropped in `x`'s place.
#[doc(hidden)]
#[inline(always)]
pub fn hold_for<T>(_: &T) -> Option<T> {
    None
}

/// Restores a local saved across a wait.
#[doc(hidden)]
#[inline(always)]
pub fn take<T>(slot: &mut Option<T>) -> T {
    match slot.take() {
        Some(v) => v,
        None => not_saved(),
    }
}

#[cold]
#[inline(never)]
fn not_saved() -> ! {
    panic!("tame: internal error: restoring a local that was not saved")
}

/// Saves a local across a wait into its (empty) slot.
///
/// The slot is empty here: its value was taken when the state was entered. Forgetting the
/// `None` that `replace` hands back skips the drop check a plain assignment would make.
#[doc(hidden)]
#[inline(always)]
pub fn put<T>(slot: &mut Option<T>, v: T) {
    std::mem::forget(slot.replace(v));
}
