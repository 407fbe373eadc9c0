//! Tamed calls as tasks: the one heap object per call, and the hidden interface the
//! `#[tamed]` macro emits code against.
//!
//! A task is `Rc<Task<F>>` where `F` is the closure the macro wrote (the state machine). It is
//! referenced by the run queue while queued, by the rendezvous it waits on (as a waiter), and by
//! the `mkevent!()` events of its current `twait!{}` block (through [`Join`]). When nothing
//! refers to it any more it is freed, with whatever state its closure still held.
//!
//! # Wait states (the low bits of `Header::flags`)
//! - `Running`: not blocked (running, queued, or finished).
//! - `Join`: blocked at the end of a `twait!{}` block until `joins == 0`.
//! - `Rendezvous`: blocked in `twait!(r)`; queued among `r`'s waiters.
//!
//! Invariant: a task is in the run queue at most once (`QUEUED`), and only a task whose wait
//! is over is resumed; a wake-up that arrives while the wait is not over is ignored.
//!
//! A task remembers the run epoch it started in. When a run unwinds, the epoch moves on, so a
//! task of that run that something outside it still refers to (a `Rendezvous` or `Event` the
//! user kept) is dropped, not resumed, if it is ever woken again.
//!
//! # Ending a call (cancellation rules 1 and 2)
//! At its start a tamed call *watches* each of its `n` `Event` parameters (`Cx::watch`): a
//! [`Hook::Param`] on its receiver runs if the receiver is cancelled or dropped before the
//! event is triggered. With one parameter (the usual `done`) that ends the call; with two or
//! more (`Cx::watch_params`, `MULTI`) each counts one down in the side table `PARAMS`, and
//! the last ends it. A parameter that is a callback (`Event::from_fn`) has no receiver to lose: it is
//! never counted, so that call is never ended by rule 1. A `#[tether]` parameter or
//! `exit_with!(t)` puts the call on a lifeline's list instead (rule 2). When the count reaches
//! 0, or the lifeline is dropped, the call *ends*: if it is not running, at once
//! ([`Task::end_now`]); if it is running, at the next wait it reaches (`ENDING` is set, and
//! the state that wait resumes in checks it). Ending calls the closure with `ENDING` set: the
//! state it waits in restores its locals, sees [`Cx::ending`] and returns `Step::Done`, so
//! Rust drops the locals in reverse declaration order; then the hooks of its `mkevent!()`
//! events (kept in `JOIN_HOOKS`, by task) run: the nested calls and helpers holding them end
//! in turn.
//!
//! # Where a call is blocked
//! A call that blocks is entered, once, in `BLOCKED` (`REGISTERED` says so). Leaving is lazy:
//! a call that finishes, ends or is abandoned only clears `REGISTERED`, and its entry (a
//! `Weak`) is dropped at the next compaction, which runs when the list is about to grow (so
//! at most about twice as many entries as calls that wait, and O(1) per call amortized,
//! where a table keyed by address cost a lookup at each call's first block and at its end).
//! Until then the entry keeps the call's allocation (not its state, dropped at its end).
//! [`blocked_locations`] asks each blocked call where it waits by calling its closure with
//! `DESCRIBING` set: the closure answers with the static site of the wait its state stands at
//! and returns at once, so a call stores no location of its own.

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::rc::{Rc, Weak};

use smallvec::SmallVec;

#[cfg(debug_assertions)]
use crate::event::FindCaller;
use crate::event::{Event, Frame, Hook, Join, Target, Wake, Watch};
use crate::local::Runnable;
use crate::rendezvous::Rendezvous;

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum WaitKind {
    Running,
    Join,
    Rendezvous,
}

/// `Header::flags`.
const QUEUED: u8 = 1 << 0;
const REGISTERED: u8 = 1 << 1;
/// Being asked where it waits: the closure answers and returns at once.
const DESCRIBING: u8 = 1 << 2;
/// Two or more `Event` parameters: their count of live ones is in `PARAMS`.
const MULTI: u8 = 1 << 3;
const ENDING: u8 = 1 << 4;
const HOOKS: u8 = 1 << 5;
/// Its closure was written by `#[tamed]`: it answers `DESCRIBING` (a hand-written one, given
/// to `spawn`, is never called to describe itself: it would just run).
const ANSWERS: u8 = 1 << 6;

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
    wait: Cell<WaitKind>,
    /// The flags above.
    flags: Cell<u8>,
    /// The thread's run epoch when the call started (see `core::Core::epoch`): a call whose
    /// epoch is not the current one belongs to a run that unwound, and is never resumed.
    /// Two bytes fit in the header's padding (a wider counter would cost 8 bytes per call).
    pub(crate) epoch: u16,
}

impl Header {
    pub(crate) fn wait(&self) -> WaitKind {
        self.wait.get()
    }

    pub(crate) fn set_wait(&self, w: WaitKind) {
        self.wait.set(w);
    }

    fn has(&self, f: u8) -> bool {
        self.flags.get() & f != 0
    }

    /// Sets flag `f` to `on`; returns whether it was set before.
    fn set(&self, f: u8, on: bool) -> bool {
        let old = self.flags.get();
        self.flags.set(if on { old | f } else { old & !f });
        old & f != 0
    }

    pub(crate) fn set_queued(&self, on: bool) -> bool {
        self.set(QUEUED, on)
    }
}

/// A hasher for task addresses (already well spread but aligned): multiply and rotate.
#[derive(Default)]
pub(crate) struct AddrHasher(u64);

impl Hasher for AddrHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 = (self.0 ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3);
        }
    }
    fn write_usize(&mut self, n: usize) {
        self.0 = (n as u64)
            .wrapping_mul(0x9e37_79b9_7f4a_7c15)
            .rotate_left(29);
    }
}

type ByAddr<V> = HashMap<usize, V, BuildHasherDefault<AddrHasher>>;

/// The `on_cancel` hooks of a call's `mkevent!()` events, each with its event's token.
type TokenHooks = SmallVec<[(u32, Hook); 2]>;

thread_local! {
    /// Calls that blocked at least once and have not finished, by address.
    static BLOCKED: RefCell<Vec<Weak<dyn TaskDyn>>> = const { RefCell::new(Vec::new()) };
    /// `on_cancel` hooks of the `mkevent!()` events of each call's current `twait!{}` block.
    static JOIN_HOOKS: RefCell<ByAddr<TokenHooks>> = RefCell::new(HashMap::default());
    /// The count of live watched `Event` parameters of the calls that have two or more.
    static PARAMS: RefCell<ByAddr<usize>> = RefCell::new(HashMap::default());
    /// The last token given to a `mkevent!()` event with hooks.
    static NEXT_TOKEN: Cell<u32> = const { Cell::new(0) };
    /// The answer of the call being described (`Cx::blocked_at`).
    static DESCRIBED: Cell<Option<Site>> = const { Cell::new(None) };
}

#[cfg(debug_assertions)]
thread_local! {
    /// How to find the call waiting for each call's first `Event` parameter (backtraces).
    static CALLERS: RefCell<ByAddr<FindCaller>> = RefCell::new(HashMap::default());
    /// The tamed call running now, if any (backtraces).
    static CURRENT: RefCell<Option<Weak<dyn Frame>>> = const { RefCell::new(None) };
    /// The panic unwinding now was reported (by the innermost call it left).
    static PANIC_REPORTED: Cell<bool> = const { Cell::new(false) };
}

/// After a run unwound: forgets the join hooks and backtrace links of its calls (keyed by
/// addresses that new calls may reuse). Their contents are dropped outside the borrows.
pub(crate) fn forget_all() {
    let hooks = JOIN_HOOKS.with(|j| std::mem::take(&mut *j.borrow_mut()));
    drop(hooks);
    PARAMS.with(|p| p.borrow_mut().clear());
    #[cfg(debug_assertions)]
    {
        let callers = CALLERS.with(|c| std::mem::take(&mut *c.borrow_mut()));
        drop(callers);
    }
}

/// Forgets the count of the `Event` parameters of the call at `a` (it finished or ended).
#[inline]
fn forget_params(h: &Header, a: usize) {
    if h.set(MULTI, false) {
        let _ = PARAMS.try_with(|p| p.borrow_mut().remove(&a));
    }
}

/// Forgets how to find the caller of the call at `a` (it finished or ended).
fn forget_caller(a: usize) {
    #[cfg(debug_assertions)]
    {
        let gone = CALLERS.try_with(|c| c.borrow_mut().remove(&a));
        drop(gone); // (outside the borrow)
    }
    #[cfg(not(debug_assertions))]
    let _ = a;
}

fn addr<T: ?Sized>(t: &T) -> usize {
    std::ptr::from_ref(t).cast::<()>() as usize
}

/// The calls that blocked and have not finished (each with `REGISTERED` cleared when `take`).
pub(crate) fn registered(take: bool) -> Vec<Rc<dyn TaskDyn>> {
    let weak: Vec<Weak<dyn TaskDyn>> = BLOCKED.with(|b| {
        let mut b = b.borrow_mut();
        if take {
            b.drain(..).collect() // (keeping the list's capacity for the next run)
        } else {
            b.clone()
        }
    });
    let tasks: Vec<_> = weak
        .iter()
        .filter_map(Weak::upgrade)
        .filter(|t| t.header().has(REGISTERED))
        .collect();
    drop(weak); // (outside the borrow: dropping a `Weak` may free a task's allocation)
    if take {
        for t in &tasks {
            t.header().set(REGISTERED, false);
        }
    }
    tasks
}

/// The call left the list (lazily: see the module's documentation).
#[inline]
fn unregister(h: &Header, _: usize) {
    h.set(REGISTERED, false);
}

/// The join hooks of the call at `a`, taken out of the table (`HOOKS` says there are some).
#[inline]
fn take_join_hooks(h: &Header, a: usize) -> Option<TokenHooks> {
    if h.has(HOOKS) {
        h.set(HOOKS, false);
        return take_join_hooks_slow(a);
    }
    None
}

#[cold]
#[inline(never)]
fn take_join_hooks_slow(a: usize) -> Option<TokenHooks> {
    JOIN_HOOKS
        .try_with(|j| j.borrow_mut().remove(&a))
        .ok()
        .flatten()
}

/// The object-safe face of a task, as held by the run queue and by rendezvous.
pub(crate) trait TaskDyn: Wake + Join {
    fn header(&self) -> &Header;
    fn as_join(self: Rc<Self>) -> Rc<dyn Join>;
    fn as_wake(self: Rc<Self>) -> Rc<dyn Wake>;
    fn as_watch(self: Rc<Self>) -> Weak<dyn Watch>;
    /// Where the call waits, asked of its closure; `None` while it runs or once it finished.
    fn site(self: Rc<Self>) -> Option<Site>;
}

/// Where a tamed call waits: the static site of one `twait`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Site {
    /// The tamed function.
    pub func: &'static str,
    /// Its source file.
    pub file: &'static str,
    /// The line of the `twait`.
    pub line: u32,
    /// Its `#![describe("…")]`, or empty.
    pub what: &'static str,
}

impl std::fmt::Display for Site {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}", self.file, self.line)?;
        if !self.what.is_empty() {
            write!(f, " {}", self.what)?;
        }
        Ok(())
    }
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
    /// Calls the closure (the one place it is called from, so it is inlined here, where the
    /// task's type is known), and acts on what it returned: `Done` drops it, `Blocked` leaves
    /// it waiting (or ends it, if that was asked meanwhile). What the closure is asked is in
    /// the header's flags: to run on (none), to end (`ENDING`: the state it resumes in
    /// restores its locals and returns `Done`), or where it waits (`DESCRIBING`).
    fn step(self: Rc<Self>) {
        // If the closure panics, what it still holds is dropped as the panic leaves this call
        // (after the report below), as Rust drops a function's locals while it unwinds.
        let unwinding = DropOnUnwind(&self.f);
        // Debug builds: the running call, for `tame::backtrace()` and for a panic's report.
        #[cfg(debug_assertions)]
        let _current = Current::enter(&self);
        let step = {
            let mut f = self.f.borrow_mut();
            let cx = Cx { task: self.clone() };
            match f.as_mut() {
                Some(f) => f(&cx),
                None => Step::Done,
            }
        };
        std::mem::forget(unwinding);
        match step {
            Step::Done => self.finish(),
            // Registered, not ending, not describing: the usual case, one test.
            Step::Blocked
                if self.hdr.flags.get() & (ENDING | REGISTERED | DESCRIBING) == REGISTERED => {}
            // It only said where it waits: nothing changed.
            Step::Blocked if self.hdr.has(DESCRIBING) => {}
            // Its end was asked for while it ran: it ends at the wait it just reached.
            Step::Blocked if self.hdr.has(ENDING) => self.end_now(),
            Step::Blocked => self.register(),
        }
    }

    /// Its first block: enter it in `BLOCKED`, after dropping the entries of calls that
    /// left if the list is full.
    #[inline(never)]
    fn register(self: Rc<Self>) {
        self.hdr.set(REGISTERED, true);
        let w: Weak<dyn TaskDyn> = Rc::downgrade(&(self as Rc<dyn TaskDyn>));
        BLOCKED.with(|b| {
            let mut b = b.borrow_mut();
            if b.len() == b.capacity() {
                // Compact in place: drop the entries of calls that are gone (dropping a `Weak`
                // runs no user code; one still alive that finished is skipped when read). If
                // most entries are live, the list grows instead.
                b.retain(|w| w.strong_count() > 0);
                let n = b.len();
                b.reserve(n.max(8));
            }
            b.push(w);
        });
    }

    /// The closure returned `Step::Done`: drop it (outside the borrow), leave the registry.
    /// A call that ended also cancels the `mkevent!()` events of its wait: their hooks run
    /// (after its locals and the rest of its state were dropped).
    fn finish(self: Rc<Self>) {
        let f = self.f.borrow_mut().take();
        drop(f);
        unregister(&self.hdr, addr(&*self));
        forget_caller(addr(&*self));
        forget_params(&self.hdr, addr(&*self));
        let hooks = take_join_hooks(&self.hdr, addr(&*self));
        if self.hdr.has(ENDING) {
            hooks.into_iter().flatten().for_each(|(_, h)| h.run());
        }
    }

    /// Ends the call now (it is not running): its closure, asked to end, drops the locals of
    /// the state it waits in, newest first, and returns `Done` (see `finish`).
    fn end_now(self: Rc<Self>) {
        self.hdr.set(ENDING, true);
        self.hdr.set_wait(WaitKind::Running);
        self.step();
    }
}

impl<F> Task<F> {
    /// A call of a run that unwound was woken: it is over. Its closure, and with it every
    /// local it kept, is dropped here instead of being run.
    #[cold]
    #[inline(never)]
    fn abandon(&self) {
        self.hdr.set_wait(WaitKind::Running);
        let f = self.f.borrow_mut().take();
        drop(f); // outside the borrow: the locals' destructors may reach this task again
        unregister(&self.hdr, addr(self));
        forget_caller(addr(self));
        forget_params(&self.hdr, addr(self));
        drop(take_join_hooks(&self.hdr, addr(self)));
    }
}

impl<F: FnMut(&Cx) -> Step + 'static> Wake for Task<F> {
    fn wake(self: Rc<Self>) {
        if !self.hdr.set_queued(true) {
            crate::local::schedule(self);
        }
    }
    fn wake_frame(self: Rc<Self>) -> Rc<dyn Frame> {
        self
    }
    fn is_over(&self) -> bool {
        self.hdr.has(ENDING) || matches!(self.f.try_borrow(), Ok(f) if f.is_none())
    }
}

impl<F: FnMut(&Cx) -> Step + 'static> Frame for Task<F> {
    fn frame(self: Rc<Self>) -> String {
        #[cfg(debug_assertions)]
        let name = self.hdr.name;
        #[cfg(not(debug_assertions))]
        let name = "a tamed call";
        let running = self.f.try_borrow_mut().is_err();
        if running {
            return format!("`{name}` (running)");
        }
        match TaskDyn::site(self.clone()) {
            Some(site) => format!("`{}` at {site}", site.func),
            None => format!("`{name}`"),
        }
    }
    fn caller(&self) -> Option<Rc<dyn Frame>> {
        #[cfg(debug_assertions)]
        {
            let a = addr(self);
            CALLERS.with(|c| c.borrow().get(&a).and_then(FindCaller::find))
        }
        #[cfg(not(debug_assertions))]
        None
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
    fn join_on_cancel(&self, token: u32, hook: Hook) -> u32 {
        if !self.join_is_live() {
            hook.run();
            return token;
        }
        let token = if token != 0 {
            token
        } else {
            let t = NEXT_TOKEN.get().wrapping_add(1).max(1);
            NEXT_TOKEN.set(t);
            t
        };
        self.hdr.set(HOOKS, true);
        let a = addr(self);
        JOIN_HOOKS.with(|j| j.borrow_mut().entry(a).or_default().push((token, hook)));
        token
    }
    fn join_forget(&self, token: u32) {
        let a = addr(self);
        let gone: TokenHooks = JOIN_HOOKS
            .try_with(|j| {
                let mut j = j.borrow_mut();
                let Some(hooks) = j.get_mut(&a) else {
                    return SmallVec::new();
                };
                let gone = hooks.drain_filter_token(token);
                if hooks.is_empty() {
                    j.remove(&a);
                    self.hdr.set(HOOKS, false);
                }
                gone
            })
            .unwrap_or_default();
        drop(gone); // (outside the borrow: a hook's closure may own anything)
    }
    fn join_frame(self: Rc<Self>) -> Rc<dyn Frame> {
        self
    }
    fn join_is_live(&self) -> bool {
        if self.hdr.has(ENDING) {
            return false;
        }
        // Running (borrowed), or not finished.
        self.f.try_borrow().map_or(true, |f| f.is_some())
    }
}

impl<F: FnMut(&Cx) -> Step + 'static> Watch for Task<F> {
    fn tether_cut(self: Rc<Self>) {
        self.end();
    }
    fn param_lost(self: Rc<Self>) {
        let n = if self.hdr.has(MULTI) {
            let a = addr(&*self);
            PARAMS.with(|p| {
                let mut p = p.borrow_mut();
                let n = p.get(&a).copied().unwrap_or(0).saturating_sub(1);
                p.insert(a, n);
                n
            })
        } else {
            0
        };
        if n == 0 {
            self.end();
        }
    }
}

impl<F: FnMut(&Cx) -> Step + 'static> Task<F> {
    /// Rule 1 holds: end the call now if it is not running, else when its step returns.
    fn end(self: Rc<Self>) {
        if self.hdr.set(ENDING, true) {
            return; // already ending
        }
        let idle = matches!(self.f.try_borrow(), Ok(f) if f.is_some());
        if idle {
            self.end_now();
        }
    }
}

impl<F: FnMut(&Cx) -> Step + 'static> TaskDyn for Task<F> {
    fn header(&self) -> &Header {
        &self.hdr
    }
    fn as_join(self: Rc<Self>) -> Rc<dyn Join> {
        self
    }
    fn as_wake(self: Rc<Self>) -> Rc<dyn Wake> {
        self
    }
    fn as_watch(self: Rc<Self>) -> Weak<dyn Watch> {
        let w: Weak<Self> = Rc::downgrade(&self);
        w
    }
    fn site(self: Rc<Self>) -> Option<Site> {
        // Not while it runs, nor once it finished, nor a closure that cannot answer.
        if !self.hdr.has(ANSWERS) || !matches!(self.f.try_borrow(), Ok(f) if f.is_some()) {
            return None;
        }
        DESCRIBED.set(None);
        self.hdr.set(DESCRIBING, true);
        self.clone().step();
        self.hdr.set(DESCRIBING, false);
        DESCRIBED.take()
    }
}

impl<F: FnMut(&Cx) -> Step + 'static> Runnable for Task<F> {
    fn is_queued(&self) -> bool {
        self.hdr.has(QUEUED)
    }
    fn unqueue(&self) {
        self.hdr.set_queued(false);
    }
    fn resume(self: Rc<Self>, epoch: u16) {
        let flags = self.hdr.flags.get() & !QUEUED;
        self.hdr.flags.set(flags);
        if self.hdr.epoch != epoch {
            self.abandon();
            return;
        }
        if self.hdr.wait.get() == WaitKind::Join {
            if self.hdr.joins.get() != 0 {
                return;
            }
            // The block is complete: the hooks of its events are void.
            if flags & HOOKS != 0 {
                self.hdr.flags.set(flags & !HOOKS);
                drop(take_join_hooks_slow(addr(&*self)));
            }
        }
        self.hdr.wait.set(WaitKind::Running);
        self.step();
    }
}

impl Header {
    fn new(epoch: u16) -> Header {
        Header {
            #[cfg(debug_assertions)]
            name: "",
            #[cfg(debug_assertions)]
            file: "",
            #[cfg(debug_assertions)]
            line: Cell::new(0),
            joins: Cell::new(0),
            wait: Cell::new(WaitKind::Running),
            flags: Cell::new(0),
            epoch,
        }
    }
}

/// Starts a tamed call: allocates its task (the one allocation per call) and runs the closure
/// at once, until it finishes or blocks.
#[doc(hidden)]
pub fn spawn<F>(name: &'static str, file: &'static str, f: F)
where
    F: FnMut(&Cx) -> Step + 'static,
{
    start(name, file, 0, f)
}

/// [`spawn`] for a closure written by `#[tamed]`, which also answers where it waits.
#[doc(hidden)]
pub fn spawn_tamed<F>(name: &'static str, file: &'static str, f: F)
where
    F: FnMut(&Cx) -> Step + 'static,
{
    start(name, file, ANSWERS, f)
}

fn start<F>(name: &'static str, file: &'static str, flags: u8, f: F)
where
    F: FnMut(&Cx) -> Step + 'static,
{
    #[cfg(not(debug_assertions))]
    let _ = (name, file);
    #[allow(unused_mut)]
    let mut hdr = Header::new(crate::local::epoch());
    hdr.flags.set(flags);
    #[cfg(debug_assertions)]
    {
        hdr.name = name;
        hdr.file = file;
    }
    let task = Rc::new(Task {
        hdr,
        f: RefCell::new(Some(f)),
    });
    task.step();
}

impl Cx {
    /// `mkevent!()` inside `twait!{}`: an event counted by the block's join.
    #[cfg_attr(debug_assertions, track_caller)]
    pub fn join_event(&self) -> Event<()> {
        self.task.join_add();
        Event::new(Target::Join(self.task.clone().as_join()))
    }

    /// `mkevent!(place)` inside `twait!{}`: an event on the site's hidden rendezvous (made on
    /// first use, kept for the whole call), tagged with the place's evaluated index `key`.
    #[cfg_attr(debug_assertions, track_caller)]
    pub fn site_event<K: 'static, T: 'static>(
        &self,
        site: &mut Option<Rendezvous<K, T>>,
        key: K,
    ) -> Event<T> {
        site.get_or_insert_with(|| Rendezvous::with_group(self.task.clone().as_join()))
            .event(key)
    }

    /// `mkevent!` in a `twait! { #![volatile] … }` block: dropping the event is no leak.
    pub fn volatile<T>(&self, e: Event<T>) -> Event<T> {
        e.volatile()
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
        h.set_wait(WaitKind::Join);
        #[cfg(debug_assertions)]
        h.line.set(line);
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
        h.set_wait(WaitKind::Rendezvous);
        #[cfg(debug_assertions)]
        h.line.set(line);
        None
    }

    /// At the start of a call with `n` `Event` parameters (cancellation rule 1): it ends when
    /// `n` of them have lost their receivers. Then [`Cx::watch`] for each.
    pub fn watch_params(&self, n: usize) {
        // One (the usual `done`): its hook ends the call. More: they are counted on the side.
        if n >= 2 {
            self.task.header().set(MULTI, true);
            let a = addr(&*self.task);
            PARAMS.with(|p| p.borrow_mut().insert(a, n));
        }
    }

    /// Watches `Event` parameter `e`: a hook on its receiver counts it lost if the receiver
    /// is cancelled or dropped before `e` is triggered (at once if it already is). A callback
    /// (`Event::from_fn`) has no receiver to lose: it is never counted, so the call is never
    /// ended by rule 1.
    pub fn watch<T: 'static>(&self, e: &mut Option<Event<T>>) {
        let Some(e) = e else { return };
        // Debug builds: the first `Event` parameter says who waits for this call.
        #[cfg(debug_assertions)]
        {
            let a = addr(&*self.task);
            if !CALLERS.with(|c| c.borrow().contains_key(&a))
                && let Some(find) = e.find_caller()
            {
                CALLERS.with(|c| c.borrow_mut().insert(a, find));
            }
        }
        let task = &self.task;
        e.hook(|| Hook::Param(task.clone().as_watch()));
    }

    /// A `#[tether]` parameter (at the start) or `exit_with!(t)`: the call ends when `t`'s
    /// lifeline is dropped (cancellation rule 2); at its first wait if it already is.
    pub fn tether(&self, t: &crate::tether::Tether) {
        if !t.attach(self.task.clone().as_watch()) {
            self.task.header().set(ENDING, true);
        }
    }

    /// [`Cx::tether`] for a parameter kept in its slot.
    pub fn tether_slot(&self, t: &Option<crate::tether::Tether>) {
        if let Some(t) = t {
            self.tether(t);
        }
    }

    /// In a state the call resumes in, after its locals are restored: `true` when the call is
    /// ending (return `Step::Done`, and Rust drops them newest first). Also when its end was
    /// asked while it ran and it reaches a wait that is already complete: it stops there.
    #[inline(always)]
    pub fn ending(&self) -> bool {
        self.task.header().has(ENDING)
    }

    /// At the top of the closure: `true` when the runtime only asks where the call waits
    /// (answer with [`Cx::blocked_at`] and return `Step::Blocked`).
    #[inline(always)]
    pub fn describing(&self) -> bool {
        self.task.header().has(DESCRIBING)
    }

    /// The answer to [`Cx::describing`]: the call waits in `func` at `file:line`, described as
    /// `what` (empty when the `twait` has no `#![describe]`). `line == 0`: not at a wait.
    pub fn blocked_at(
        &self,
        func: &'static str,
        file: &'static str,
        (line, what): (u32, &'static str),
    ) {
        debug_assert!(self.describing());
        if line != 0 {
            DESCRIBED.set(Some(Site {
                func,
                file,
                line,
                what,
            }));
        }
    }
}

/// Where each tamed call that is blocked now waits, as `file:line` (and the wait's
/// description, if its `twait!` has `#![describe("…")]`), sorted. The runtime's own tamed
/// helpers (`tame::net`'s `connect`, `accept`, `read_some`, `write_all`, the reads of a
/// `BufReader`) are listed too. Callable at any
/// time, also while the loop runs, and in release builds: each call answers from the static
/// site of its wait, so no call stores a location of its own.
///
/// ```
/// # use tame_rt as tame;
/// # if cfg!(miri) { return; } // Miri has no sockets
/// use std::rc::Rc;
/// tame::run(|| {
///     let l = Rc::new(tame::net::TcpListener::bind("127.0.0.1:0").unwrap());
///     let r: tame::Rendezvous<(), std::io::Result<(tame::net::TcpStream, std::net::SocketAddr)>> =
///         tame::Rendezvous::new();
///     // `accept` waits in a tamed helper of the runtime until a client comes.
///     tame::net::accept(l, r.event(()));
///     let now = tame::blocked_locations();
///     assert_eq!(now.len(), 1, "{now:?}");
///     assert!(now[0].contains("net.rs"), "{now:?}");
///     r.cancel(); // nobody waits any more: the helper ends
/// });
/// assert!(tame::blocked_locations().is_empty());
/// ```
pub fn blocked_locations() -> Vec<String> {
    let mut out: Vec<String> = registered(false)
        .iter()
        .filter(|t| t.header().wait() != WaitKind::Running)
        .filter_map(|t| t.clone().site())
        .map(|s| s.to_string())
        .collect();
    out.sort();
    out
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
    debug_assert!(
        slot.is_none(),
        "a local saved into a slot that still holds one"
    );
    std::mem::forget(slot.replace(v));
}

/// Drops a task's closure when a panic unwinds out of its step (the step forgets it when the
/// closure returns). The closure may keep locals in place (the parameters `#[tamed]` leaves
/// in the closure's captures, never moved out): they are dropped here, right after the
/// locals of the state that panicked and before the frames of the code that ran the step, in
/// their place in reverse declaration order.
struct DropOnUnwind<'a, F>(&'a RefCell<Option<F>>);

impl<F> Drop for DropOnUnwind<'_, F> {
    fn drop(&mut self) {
        // Taken out under the borrow, dropped outside it: a local's destructor may reach
        // this task again (and then finds it over).
        let f = self.0.try_borrow_mut().ok().and_then(|mut f| f.take());
        drop(f);
    }
}

/// Debug builds: marks a call as the running one while its step runs, and if the step panics,
/// prints the tamed backtrace of the call on stderr.
#[cfg(debug_assertions)]
struct Current {
    prev: Option<Weak<dyn Frame>>,
}

#[cfg(debug_assertions)]
impl Current {
    fn enter<F: FnMut(&Cx) -> Step + 'static>(t: &Rc<Task<F>>) -> Current {
        if !std::thread::panicking() {
            PANIC_REPORTED.set(false);
        }
        let w: Weak<dyn Frame> = Rc::downgrade(&(t.clone() as Rc<dyn Frame>));
        Current {
            prev: CURRENT.with(|c| c.replace(Some(w))),
        }
    }
}

#[cfg(debug_assertions)]
impl Drop for Current {
    fn drop(&mut self) {
        // Once per panic, by the innermost call it leaves (describing the calls up the chain
        // runs their closures, and so this guard, again).
        if std::thread::panicking() && !PANIC_REPORTED.replace(true) {
            let mut chain = backtrace();
            // The call that panicked is no longer borrowed here: it describes the wait it
            // last resumed from.
            if let Some(first) = chain.first_mut()
                && let Some((name, at)) = first.split_once(" at ")
            {
                *first = format!("{name} (panicked; it last resumed from the wait at {at})");
            }
            if !chain.is_empty() {
                eprintln!("tame: panic in a tamed call; tamed backtrace (innermost first):");
                for line in chain {
                    eprintln!("tame:   {line}");
                }
            }
        }
        let prev = self.prev.take();
        let _ = CURRENT.try_with(|c| c.replace(prev));
    }
}

/// The *tamed backtrace* of the running tamed call (debug builds): the call, then the call
/// waiting for its first `Event` parameter (its `done`), and so on up to a call nobody waits
/// for, one line each, innermost first: "`name` (running)" for the running call, "`name` at
/// file:line" (and the wait's description, if it has one) for one blocked at a `twait!`. The
/// chain follows an event through
/// `add_timeout` (its waiting half is a tamed call of the runtime, listed too) and through a
/// rendezvous to the call blocked in `twait!(r)` on it; it stops at a `done` that was moved
/// away or that nothing waits on yet. Empty outside a tamed call, and in release builds.
///
/// A panic inside a tamed call prints the same chain on stderr (debug builds), and so does
/// the stuck report for each call blocked forever.
///
/// ```
/// # use tame_rt as tame;
/// assert!(tame::backtrace().is_empty()); // not inside a tamed call
/// ```
pub fn backtrace() -> Vec<String> {
    #[cfg(debug_assertions)]
    {
        let start = CURRENT.with(|c| c.borrow().as_ref().and_then(Weak::upgrade));
        chain_from(start)
    }
    #[cfg(not(debug_assertions))]
    Vec::new()
}

/// The lines of the chain that starts at `frame` (at most 64: a cycle of calls waiting on
/// one another stops there).
#[cfg_attr(not(debug_assertions), allow(dead_code))]
pub(crate) fn chain_from(mut frame: Option<Rc<dyn Frame>>) -> Vec<String> {
    let mut out = Vec::new();
    while let Some(f) = frame {
        if out.len() == 64 {
            out.push("…".to_string());
            break;
        }
        frame = f.caller();
        out.push(f.frame());
    }
    out
}

/// Takes out the hooks of one token.
trait DrainToken {
    fn drain_filter_token(&mut self, token: u32) -> TokenHooks;
}

impl DrainToken for TokenHooks {
    fn drain_filter_token(&mut self, token: u32) -> TokenHooks {
        let mut gone = SmallVec::new();
        let mut i = 0;
        while i < self.len() {
            if self[i].0 == token {
                gone.push(self.remove(i));
            } else {
                i += 1;
            }
        }
        gone
    }
}

#[cfg(all(test, debug_assertions))]
mod tests {
    #[test]
    #[should_panic(expected = "a local saved into a slot that still holds one")]
    fn saving_into_a_full_slot_trips_the_check() {
        let mut slot = Some(String::from("kept"));
        super::put(&mut slot, String::from("saved"));
    }
}
