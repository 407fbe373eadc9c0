//! `Event<T>`: the one-shot, move-only sending half of every wait.
//!
//! An event points at its *receiver* (its target):
//!
//! | target | made by | trigger | drop untriggered | `is_live` |
//! |---|---|---|---|---|
//! | a slot of a rendezvous | [`Rendezvous::event`], `mkevent!(place)` | value queued, waiter woken | slot freed, counted as done | slot not cancelled |
//! | a tamed call's join counter | `mkevent!()` | counter decremented | counter decremented | until that call ends |
//! | a callback | [`Event::from_fn`] | callback runs at once | callback dropped | always |
//!
//! Invariants: an `Event` owns its target reference exactly once (`target` is `Some` until the
//! event is consumed by `trigger` or `Drop`), so every slot is consumed exactly once; a slot is
//! never reused while the event that owns it exists, which is why no generation counter is
//! needed.
//!
//! [`Rendezvous::event`]: crate::Rendezvous::event

use std::cell::Cell;
use std::fmt;
use std::rc::{Rc, Weak};

/// Something to run when a pending event's receiver is cancelled or goes away.
///
/// Internal hooks (timers, fd interests) are a plain function pointer with two words of
/// context, so registering them allocates nothing; user hooks are boxed.
pub(crate) enum Hook {
    /// A closure from [`Event::on_cancel`].
    User(Box<dyn FnOnce()>),
    /// A runtime-internal hook: `f(a, b)`.
    Internal(fn(usize, u64), usize, u64),
    /// An `Event` parameter of a tamed call lost its receiver (cancellation rule 1).
    Param(Weak<dyn Watch>),
}

impl Hook {
    pub(crate) fn run(self) {
        match self {
            Hook::User(f) => f(),
            Hook::Internal(f, a, b) => f(a, b),
            Hook::Param(w) => {
                if let Some(t) = w.upgrade() {
                    t.param_lost();
                }
            }
        }
    }
}

/// A tamed call as a backtrace sees it (debug builds).
#[cfg_attr(not(debug_assertions), allow(dead_code))]
pub(crate) trait Frame {
    /// One line: "`name` at file:line[ description]" where it waits, or "`name` (running)".
    fn frame(self: Rc<Self>) -> String;
    /// The call waiting for this one's first `Event` parameter, if known.
    fn caller(&self) -> Option<Rc<dyn Frame>>;
}

/// How to find, later, the call that waits for an event: weak references, so that keeping it
/// keeps nothing alive.
#[cfg_attr(not(debug_assertions), allow(dead_code))]
pub(crate) enum FindCaller {
    /// A `mkevent!()` event: that call.
    Call(Weak<dyn Frame>),
    /// A receiver: the call that waits at it then, if any.
    At(Weak<dyn Waiting>),
}

#[cfg_attr(not(debug_assertions), allow(dead_code))]
impl FindCaller {
    pub(crate) fn find(&self) -> Option<Rc<dyn Frame>> {
        match self {
            FindCaller::Call(w) => w.upgrade(),
            FindCaller::At(w) => w.upgrade()?.waiting(),
        }
    }
}

/// A receiver, for a backtrace: the tamed call waiting at it, if any.
#[cfg_attr(not(debug_assertions), allow(dead_code))]
pub(crate) trait Waiting {
    fn waiting(&self) -> Option<Rc<dyn Frame>>;
}

/// A receiver for `Event<V>` that forwards to a slot expecting `T`, converting with `f`;
/// an abandoned event is delivered as `f(None)`. Made by `Rendezvous::event_map`.
pub(crate) struct Adapter<T, V> {
    pub(crate) sink: Rc<dyn Sink<T>>,
    pub(crate) slot: u32,
    pub(crate) f: fn(Option<V>) -> T,
}

impl<T: 'static, V: 'static> Sink<V> for Adapter<T, V> {
    fn trigger(&self, _: u32, value: V) {
        self.sink.trigger(self.slot, (self.f)(Some(value)));
    }
    fn abandon(&self, _: u32) {
        self.sink.trigger(self.slot, (self.f)(None));
    }
    fn is_live(&self, _: u32) -> bool {
        self.sink.is_live(self.slot)
    }
    fn on_cancel(&self, _: u32, hook: Hook) {
        self.sink.on_cancel(self.slot, hook);
    }
    fn as_waiting(self: Rc<Self>) -> Rc<dyn Waiting> {
        self.sink.clone().as_waiting()
    }
}

/// A tamed call watching its `Event` parameters (cancellation rule 1).
pub(crate) trait Watch {
    /// One of the watched parameters lost its receiver before being triggered.
    fn param_lost(self: Rc<Self>);
    /// The lifeline of a tether of the call was dropped (cancellation rule 2).
    fn tether_cut(self: Rc<Self>);
}

/// The receiving end of an event that lives in a slot (a rendezvous, or an internal bridge).
///
/// Implementations must not call back into user code while holding an internal borrow: hooks,
/// values and waiters are released first and run afterwards.
pub(crate) trait Sink<T> {
    /// Deliver `value` to `slot`; the slot is consumed.
    fn trigger(&self, slot: u32, value: T);
    /// The event of `slot` was dropped untriggered; the slot is consumed.
    fn abandon(&self, slot: u32);
    /// The event of `slot` was unblocked (completed without a value, on purpose); the slot
    /// is consumed. Most receivers see an abandonment.
    fn unblock(&self, slot: u32) {
        self.abandon(slot)
    }
    /// Whether the receiver of `slot` still wants a value.
    fn is_live(&self, slot: u32) -> bool;
    /// Run `hook` if `slot` is cancelled (at once if it already is).
    fn on_cancel(&self, slot: u32, hook: Hook);
    /// This receiver, for a backtrace.
    #[cfg_attr(not(debug_assertions), allow(dead_code))]
    fn as_waiting(self: Rc<Self>) -> Rc<dyn Waiting>;
}

/// A tamed call, as a rendezvous or a join sees it: something to wake when its wait may be
/// over (the call then goes on the run queue).
pub(crate) trait Wake {
    fn wake(self: Rc<Self>);
    /// Whether the call finished or ended: waking it would do nothing.
    fn is_over(&self) -> bool;
    /// The call, for a backtrace.
    #[cfg_attr(not(debug_assertions), allow(dead_code))]
    fn wake_frame(self: Rc<Self>) -> Rc<dyn Frame>;
}

/// The receiving end of a `mkevent!()` event: a tamed call's join counter.
pub(crate) trait Join {
    /// One more event counts toward the current `twait!{}` block.
    fn join_add(&self);
    /// One event of the current `twait!{}` block is done (triggered or dropped).
    fn join_done(self: Rc<Self>);
    /// Run `hook` if the call ends (is cancelled) before the event with `token` is done (0: a
    /// new token is made); at once if it already has. Returns the event's token.
    fn join_on_cancel(&self, token: u32, hook: Hook) -> u32;
    /// The event with `token` is done (triggered or dropped): its hooks are void.
    fn join_forget(&self, token: u32);
    /// Whether the call still waits for its events (it has not ended).
    fn join_is_live(&self) -> bool;
    /// The call, for a backtrace.
    #[cfg_attr(not(debug_assertions), allow(dead_code))]
    fn join_frame(self: Rc<Self>) -> Rc<dyn Frame>;
}

pub(crate) enum Target<T> {
    Slot {
        sink: Rc<dyn Sink<T>>,
        slot: u32,
    },
    /// A `mkevent!()` event: the call's join counter.
    Join(Rc<dyn Join>),
    /// The same, once `on_cancel` hooks were attached to it: they are kept by the call under
    /// this token, and forgotten when the event is done.
    JoinHooked(Rc<dyn Join>, u32),
    Func(Box<dyn FnOnce(T)>),
    /// The timer of an `add_timeout`, or its deferred abandonment: triggering it tells the
    /// race (the value is `()`). Never cancelled, never a leak when dropped.
    Expire(Rc<dyn Expire>),
    /// A handle on an occurrence shared by several events ([`Event::alias`],
    /// [`Event::at_trigger`]).
    Alias(Rc<dyn Handle<T>>, u32),
    /// A handle that completes a shared occurrence without a value ([`Event::unblocker`]);
    /// only in an `Event<()>`.
    Unblocker(Rc<dyn Shared>, u32),
    /// An adapter that forwards to other events (`bind`, `map`, `all`, `with_timeout`).
    Relay(Box<dyn Relay<T>>),
}

/// What an `Expire` event tells when it is triggered (see `add_timeout`).
pub(crate) trait Expire {
    fn expire(self: Rc<Self>);
}

/// An event that forwards to other events: the target of `bind`, `map`, `all`, and the
/// timeout adapters.
pub(crate) trait Relay<T> {
    /// The adapted event was triggered with `value`.
    fn trigger(self: Box<Self>, value: T);
    /// The adapted event completed without a value.
    fn unblock(self: Box<Self>);
    /// The adapted event was dropped untriggered (`quiet`: on purpose).
    fn drop_untriggered(self: Box<Self>, quiet: bool);
    fn is_live(&self) -> bool;
    /// Whether a receiver's cancellation can reach the adapted event.
    fn can_cancel(&self) -> bool;
    /// Runs `hook` when the adapted event is cancelled (called only if `can_cancel`).
    fn add_hook(&mut self, hook: Hook);
    #[cfg_attr(not(debug_assertions), allow(dead_code))]
    fn find_caller(&self) -> Option<FindCaller>;
}

/// One occurrence with several handles, seen without its value type: what an unblocker (an
/// `Event<()>` on an occurrence of any type) and every handle need. Each handle has an id,
/// under which its `on_cancel` hooks are kept.
pub(crate) trait Shared {
    /// One more handle: its id.
    fn new_handle(&self) -> u32;
    /// Handle `id` completes the occurrence without a value, and is gone.
    fn unblock_handle(&self, id: u32);
    /// Handle `id` is dropped untriggered (`quiet`: on purpose).
    fn release(&self, id: u32, quiet: bool);
    fn is_live(&self) -> bool;
    /// Adds an `on_cancel` hook of handle `id`.
    fn add_hook(&self, id: u32, hook: Hook);
    /// Adds an `at_trigger` event.
    fn push_after(&self, n: Event<()>);
    /// One handle more (`+1`) or less (`-1`) waits in an `at_trigger` list.
    fn park(&self, delta: i32);
    #[cfg_attr(not(debug_assertions), allow(dead_code))]
    fn find_caller(&self) -> Option<FindCaller>;
}

/// A handle's view of an occurrence of `T`: [`Shared`], and the trigger with a value.
pub(crate) trait Handle<T>: Shared {
    /// Handle `id` triggers with `value`: the first handle consumed decides.
    fn trigger(&self, id: u32, value: T);
    fn as_shared(self: Rc<Self>) -> Rc<dyn Shared>;
}

/// What an event is as a handle on a shared occurrence (see [`Event::shape`]).
pub(crate) enum Shape<T> {
    Consumed,
    Alias(Rc<dyn Handle<T>>),
    Unblocker(Rc<dyn Shared>),
}

/// A one-shot event: the sending half of a wait.
///
/// Whoever holds an `Event` may fire it once with [`trigger`](Event::trigger), handing a value
/// of type `T` to the code waiting on it. Events are move-only (not `Clone`, not `Send`): one
/// owner, one trigger. They are made by `mkevent!` inside `twait!`, by
/// [`Rendezvous::event`](crate::Rendezvous::event), or from a callback with
/// [`Event::from_fn`].
///
/// # Guarantees
/// - Triggering never runs the waiter inline: a waiter whose wait became complete is put on the
///   loop's run queue and resumes after the current code returns to the loop.
/// - Dropping an untriggered event *abandons* it: the waiter counts it as done, with no value.
/// - If the receiver is gone or cancelled, `trigger` drops the value and does nothing else.
///
/// # Example
/// ```
/// # use tame_rt as tame;
/// use tame::{Event, Rendezvous};
///
/// let r: Rendezvous<&str, u32> = Rendezvous::new();
/// let e: Event<u32> = r.event("answer");
/// assert!(e.is_live());
/// e.trigger(42);
/// assert_eq!(r.try_join(), Some(("answer", 42)));
/// ```
#[must_use = "an event that is dropped untriggered is abandoned at once"]
pub struct Event<T = ()> {
    /// A `Cell`, so that `alias` and `unblocker` can turn a plain event into a handle on a
    /// shared occurrence through `&self`; every other access goes through `&mut self`
    /// (`get_mut`, free) or takes the target out and puts it back.
    target: Cell<Option<Target<T>>>,
    /// Debug builds: where the event was made, for a leak report.
    #[cfg(debug_assertions)]
    created: &'static std::panic::Location<'static>,
    /// Debug builds: made in a `twait! { #![volatile] … }` block: dropping it is no leak.
    #[cfg(debug_assertions)]
    volatile: bool,
}

impl<T> Event<T> {
    #[cfg_attr(debug_assertions, track_caller)]
    pub(crate) fn new(target: Target<T>) -> Self {
        Event {
            target: Cell::new(Some(target)),
            #[cfg(debug_assertions)]
            created: std::panic::Location::caller(),
            #[cfg(debug_assertions)]
            volatile: false,
        }
    }

    /// Marks the event as one whose drop is no leak (`twait! { #![volatile] … }`).
    #[cfg_attr(not(debug_assertions), allow(unused_mut))]
    pub(crate) fn volatile(mut self) -> Self {
        #[cfg(debug_assertions)]
        {
            self.volatile = true;
        }
        #[allow(clippy::needless_return)]
        return self;
    }

    /// Whether dropping this event untriggered is on purpose (never a leak report).
    pub(crate) fn quiet(&self) -> bool {
        #[cfg(debug_assertions)]
        {
            self.volatile
        }
        #[cfg(not(debug_assertions))]
        false
    }

    /// An event that is already consumed: never live, its trigger does nothing.
    #[cfg_attr(debug_assertions, track_caller)]
    pub(crate) fn consumed() -> Self {
        Event {
            target: Cell::new(None),
            #[cfg(debug_assertions)]
            created: std::panic::Location::caller(),
            #[cfg(debug_assertions)]
            volatile: false,
        }
    }

    /// Completes the event without a value (*unblocks* it): the receiver counts it done, as
    /// for an abandoned event, but on purpose (no leak report), and adapters see the
    /// difference (a bound event triggers with its value, `at_trigger` events fire).
    pub(crate) fn unblock(mut self) {
        let target = self.target.get_mut().take();
        std::mem::forget(self);
        match target {
            Some(Target::Slot { sink, slot }) => sink.unblock(slot),
            Some(Target::Join(j)) => j.join_done(),
            Some(Target::JoinHooked(j, token)) => {
                j.join_forget(token);
                j.join_done();
            }
            Some(Target::Alias(occ, id)) => occ.unblock_handle(id),
            Some(Target::Unblocker(occ, id)) => occ.unblock_handle(id),
            Some(Target::Relay(r)) => r.unblock(),
            Some(Target::Func(_) | Target::Expire(_)) | None => {}
        }
    }

    /// What this event is as a handle: turns a plain event, once, into the first handle
    /// (id 0) on a shared occurrence made by `share` (`alias`, `unblocker`, `at_trigger`).
    pub(crate) fn shape(&self, share: fn(Event<T>) -> Rc<dyn Handle<T>>) -> Shape<T>
    where
        T: 'static,
    {
        match self.target.take() {
            None => Shape::Consumed,
            Some(Target::Alias(occ, id)) => {
                let shape = Shape::Alias(occ.clone());
                self.target.set(Some(Target::Alias(occ, id)));
                shape
            }
            Some(Target::Unblocker(occ, id)) => {
                let shape = Shape::Unblocker(occ.clone());
                self.target.set(Some(Target::Unblocker(occ, id)));
                shape
            }
            Some(target) => {
                let inner = Event {
                    target: Cell::new(Some(target)),
                    #[cfg(debug_assertions)]
                    created: self.created,
                    #[cfg(debug_assertions)]
                    volatile: self.volatile,
                };
                let occ = share(inner);
                self.target.set(Some(Target::Alias(occ.clone(), 0)));
                Shape::Alias(occ)
            }
        }
    }

    /// A handle that waits in an `at_trigger` list (`+1`), or no longer does (`-1`): it does
    /// not keep its occurrence from being abandoned meanwhile.
    pub(crate) fn park(&self, delta: i32) {
        self.with_target(|t| match t {
            Some(Target::Alias(occ, _)) => occ.park(delta),
            Some(Target::Unblocker(occ, _)) => occ.park(delta),
            _ => {}
        });
    }

    /// Drops the event untriggered on purpose: the receiver counts it done, with no value, as
    /// for any dropped event, but it is never reported as a leak (see [`leak_reports`]).
    ///
    /// ```
    /// # use tame_rt as tame;
    /// let r = tame::Rendezvous::<(), u32>::new();
    /// r.event(()).abandon();
    /// assert_eq!((r.pending(), r.ready()), (0, 0));
    /// ```
    #[cfg_attr(not(debug_assertions), allow(unused_mut))]
    pub fn abandon(mut self) {
        #[cfg(debug_assertions)]
        {
            self.volatile = true;
        }
        drop(self);
    }

    /// Delivers `value` to the receiver, consuming the event.
    ///
    /// If the receiver was cancelled or dropped, the value is dropped. The waiter, if this
    /// completes its wait, is queued to run on the next turn of the loop, never inline.
    ///
    /// ```
    /// # use tame_rt as tame;
    /// let r = tame::Rendezvous::<u8, String>::new();
    /// r.event(1).trigger("one".to_string());
    /// assert_eq!(r.try_join(), Some((1, "one".to_string())));
    /// ```
    pub fn trigger(mut self, value: T) {
        let target = self.target.get_mut().take();
        // Consumed: nothing is left for `Drop` to abandon (forgetting an empty event leaks
        // nothing, and skips a call to `drop` on the hot path).
        std::mem::forget(self);
        match target {
            Some(Target::Slot { sink, slot }) => sink.trigger(slot, value),
            Some(Target::Join(j)) => {
                drop(value);
                j.join_done();
            }
            Some(Target::JoinHooked(j, token)) => {
                drop(value);
                j.join_forget(token);
                j.join_done();
            }
            Some(Target::Func(f)) => f(value),
            Some(Target::Expire(x)) => {
                drop(value);
                x.expire();
            }
            Some(Target::Alias(occ, id)) => occ.trigger(id, value),
            Some(Target::Unblocker(occ, id)) => {
                drop(value);
                occ.unblock_handle(id);
            }
            Some(Target::Relay(r)) => r.trigger(value),
            None => {}
        }
    }

    /// Whether the receiver still wants the value: `false` once its rendezvous was cancelled
    /// or dropped.
    ///
    /// A long operation can poll this to give up early; an event made by `mkevent!()` is live
    /// until the call waiting for it ends, one made by [`Event::from_fn`] always.
    ///
    /// ```
    /// # use tame_rt as tame;
    /// let r = tame::Rendezvous::<(), ()>::new();
    /// let e = r.event(());
    /// r.cancel();
    /// assert!(!e.is_live());
    /// e.trigger(()); // allowed: the value is dropped
    /// assert_eq!(r.try_join(), None);
    /// ```
    pub fn is_live(&self) -> bool {
        self.with_target(|t| match t {
            Some(Target::Slot { sink, slot }) => sink.is_live(*slot),
            Some(Target::Join(j) | Target::JoinHooked(j, _)) => j.join_is_live(),
            Some(Target::Func(_) | Target::Expire(_)) => true,
            Some(Target::Alias(occ, _)) => occ.is_live(),
            Some(Target::Unblocker(occ, _)) => occ.is_live(),
            Some(Target::Relay(r)) => r.is_live(),
            None => false,
        })
    }

    /// Runs `f` on the target through `&self`: it is taken out of its cell and put back
    /// (`f` must not reach this same event again; nothing in the runtime does).
    fn with_target<R>(&self, f: impl FnOnce(&mut Option<Target<T>>) -> R) -> R {
        let mut t = self.target.take();
        let r = f(&mut t);
        self.target.set(t);
        r
    }

    /// Whether a receiver's cancellation can reach this event (so that `on_cancel` hooks may
    /// run): `false` for a callback, a consumed event, and adapters over only such events.
    pub(crate) fn can_cancel(&self) -> bool {
        self.with_target(|t| match t {
            // A handle can always lose to another handle of its occurrence.
            Some(
                Target::Slot { .. }
                | Target::Join(_)
                | Target::JoinHooked(..)
                | Target::Alias(..)
                | Target::Unblocker(..),
            ) => true,
            Some(Target::Relay(r)) => r.can_cancel(),
            Some(Target::Func(_) | Target::Expire(_)) | None => false,
        })
    }

    /// Runs `f` if the receiver cancels or goes away before this event is triggered.
    ///
    /// Hooks run synchronously inside [`Rendezvous::cancel`](crate::Rendezvous::cancel) (or when
    /// the last handle of the rendezvous is dropped), in the order they were added. If the
    /// receiver is already cancelled, `f` runs at once. Hooks of an event that is triggered or
    /// dropped are dropped without running. An event made by `mkevent!()` is cancelled when the
    /// tamed call waiting for it ends (see [`Rendezvous::cancel`](crate::Rendezvous::cancel));
    /// one made by [`Event::from_fn`] cannot be cancelled, so its hooks never run.
    ///
    /// ```
    /// # use tame_rt as tame;
    /// use std::{cell::Cell, rc::Rc};
    /// let r = tame::Rendezvous::<(), ()>::new();
    /// let mut e = r.event(());
    /// let ran = Rc::new(Cell::new(false));
    /// let flag = ran.clone();
    /// e.on_cancel(move || flag.set(true));
    /// r.cancel();
    /// assert!(ran.get());
    /// # drop(e);
    /// ```
    pub fn on_cancel(&mut self, f: impl FnOnce() + 'static) {
        self.hook(|| Hook::User(Box::new(f)));
    }

    /// Registers `hook()` with the receiver; `false` if this event can never be cancelled (a
    /// callback), and then nothing is made.
    pub(crate) fn hook(&mut self, hook: impl FnOnce() -> Hook) -> bool {
        match self.target.get_mut() {
            Some(Target::Slot { sink, slot }) => {
                sink.on_cancel(*slot, hook());
                true
            }
            Some(Target::JoinHooked(j, token)) => {
                *token = j.join_on_cancel(*token, hook());
                true
            }
            target @ Some(Target::Join(_)) => {
                let Some(Target::Join(j)) = target.take() else {
                    unreachable!("matched just above")
                };
                let token = j.join_on_cancel(0, hook());
                *target = Some(Target::JoinHooked(j, token));
                true
            }
            Some(Target::Alias(occ, id)) => {
                occ.add_hook(*id, hook());
                true
            }
            Some(Target::Unblocker(occ, id)) => {
                occ.add_hook(*id, hook());
                true
            }
            Some(Target::Relay(r)) => {
                let can = r.can_cancel();
                if can {
                    r.add_hook(hook());
                }
                can
            }
            Some(Target::Func(_) | Target::Expire(_)) | None => false,
        }
    }

    /// Takes the slot this event targets, without consuming it (the caller now owns the duty
    /// to trigger or abandon it).
    pub(crate) fn into_slot(mut self) -> Option<(Rc<dyn Sink<T>>, u32)> {
        match self.target.get_mut().take() {
            Some(Target::Slot { sink, slot }) => Some((sink, slot)),
            other => {
                self.target.set(other);
                None
            }
        }
    }

    #[cfg_attr(not(debug_assertions), allow(dead_code))]
    /// How to find, later, the tamed call that waits for this event (for a backtrace):
    /// through weak references, so that keeping it keeps nothing alive.
    pub(crate) fn find_caller(&self) -> Option<FindCaller>
    where
        T: 'static,
    {
        self.with_target(|t| match t {
            Some(Target::Join(j) | Target::JoinHooked(j, _)) => {
                Some(FindCaller::Call(Rc::downgrade(&j.clone().join_frame())))
            }
            Some(Target::Slot { sink, .. }) => {
                Some(FindCaller::At(Rc::downgrade(&sink.clone().as_waiting())))
            }
            Some(Target::Alias(occ, _)) => occ.find_caller(),
            Some(Target::Unblocker(occ, _)) => occ.find_caller(),
            Some(Target::Relay(r)) => r.find_caller(),
            Some(Target::Func(_) | Target::Expire(_)) | None => None,
        })
    }

    /// Attaches a runtime-internal hook; returns `false` (and drops nothing) if this event can
    /// never be cancelled.
    pub(crate) fn on_cancel_internal(&mut self, f: fn(usize, u64), a: usize, b: u64) -> bool {
        self.hook(|| Hook::Internal(f, a, b))
    }

    /// Makes an event whose trigger calls `f(value)` at once: a bridge to callback-style code.
    ///
    /// Unlike other events, the callback runs inline in `trigger`. Dropping the event untriggered
    /// drops `f` without calling it. Such an event is always live.
    ///
    /// ```
    /// # use tame_rt as tame;
    /// use std::{cell::Cell, rc::Rc};
    /// let got = Rc::new(Cell::new(0));
    /// let g = got.clone();
    /// let e = tame::Event::from_fn(move |v: u32| g.set(v));
    /// e.trigger(7);
    /// assert_eq!(got.get(), 7);
    /// ```
    pub fn from_fn(f: impl FnOnce(T) + 'static) -> Event<T> {
        Event::new(Target::Func(Box::new(f)))
    }
}

impl<T> Drop for Event<T> {
    fn drop(&mut self) {
        match self.target.get_mut().take() {
            Some(Target::Slot { sink, slot }) => {
                #[cfg(debug_assertions)]
                if !self.volatile && sink.is_live(slot) {
                    leak(self.created);
                }
                sink.abandon(slot)
            }
            Some(Target::Join(j)) => {
                #[cfg(debug_assertions)]
                if !self.volatile && j.join_is_live() {
                    leak(self.created);
                }
                j.join_done()
            }
            Some(Target::JoinHooked(j, token)) => {
                #[cfg(debug_assertions)]
                if !self.volatile && j.join_is_live() {
                    leak(self.created);
                }
                j.join_forget(token);
                j.join_done()
            }
            Some(Target::Alias(occ, id)) => occ.release(id, self.quiet()),
            Some(Target::Unblocker(occ, id)) => occ.release(id, self.quiet()),
            Some(Target::Relay(r)) => r.drop_untriggered(self.quiet()),
            Some(Target::Func(_) | Target::Expire(_)) | None => {}
        }
    }
}

#[cfg(debug_assertions)]
thread_local! {
    /// Leak reports of the current (or last) run on this thread.
    static LEAKS: std::cell::RefCell<Vec<String>> = const { std::cell::RefCell::new(Vec::new()) };
    /// Set while the runtime drops what a run that unwound left (not leaks: it is abandoned).
    static SILENT: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// An event made at `created` was dropped untriggered while its receiver still waited.
#[cfg(debug_assertions)]
#[cold]
fn leak(created: &'static std::panic::Location<'static>) {
    if std::thread::panicking() || SILENT.try_with(|s| s.get()).unwrap_or(true) {
        return;
    }
    let report = format!(
        "tame: dropping last reference to active event\ntame:   {}:{}: event was created here",
        created.file(),
        created.line()
    );
    eprintln!("{report}");
    let _ = LEAKS.try_with(|l| l.borrow_mut().push(report));
}

/// Runs `f` with leak reports off (dropping what a run that unwound left).
pub(crate) fn silently<R>(f: impl FnOnce() -> R) -> R {
    #[cfg(debug_assertions)]
    {
        let old = SILENT.with(|s| s.replace(true));
        let r = f();
        SILENT.with(|s| s.set(old));
        r
    }
    #[cfg(not(debug_assertions))]
    f()
}

/// Forgets the leak reports so far (a new run starts).
pub(crate) fn clear_leaks() {
    #[cfg(debug_assertions)]
    LEAKS.with(|l| l.borrow_mut().clear());
}

/// Debug builds: the *leak reports* of the current (or last) run on this thread, oldest first.
///
/// An event dropped without being triggered while its receiver still waited for it (a
/// rendezvous slot still pending, a `twait!{}` block still counting it) is usually a bug: the
/// receiver counts it as done, with no value, and the code goes on as if nothing had arrived.
/// Each such drop prints two lines on stderr, and adds them (as one string) here:
///
/// ```text
/// tame: dropping last reference to active event
/// tame:   src/main.rs:12: event was created here
/// ```
///
/// Dropping an event on purpose is no leak: use [`Event::abandon`], or make the events in a
/// `twait! { #![volatile] … }` block. An event whose receiver was cancelled or dropped is not
/// active, so its drop is not reported either (a timeout that fired, a call that ended). Empty
/// in release builds, which keep no creation site per event.
///
/// ```
/// # use tame_rt as tame;
/// let r = tame::Rendezvous::<(), u32>::new();
/// tame::run(|| {
///     let e = r.event(());
///     drop(e); // nobody will ever trigger it
/// });
/// if cfg!(debug_assertions) {
///     assert_eq!(tame::leak_reports().len(), 1);
///     assert!(tame::leak_reports()[0].contains("event was created here"));
/// }
/// ```
pub fn leak_reports() -> Vec<String> {
    #[cfg(debug_assertions)]
    {
        LEAKS.with(|l| l.borrow().clone())
    }
    #[cfg(not(debug_assertions))]
    Vec::new()
}

impl<T> fmt::Debug for Event<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = self.with_target(|t| match t {
            Some(Target::Slot { .. }) => "rendezvous",
            Some(Target::Join(_) | Target::JoinHooked(..)) => "join",
            Some(Target::Func(_)) => "callback",
            Some(Target::Expire(_)) => "timeout",
            Some(Target::Alias(..)) => "alias",
            Some(Target::Unblocker(..)) => "unblocker",
            Some(Target::Relay(_)) => "adapter",
            None => "consumed",
        });
        f.debug_struct("Event")
            .field("target", &kind)
            .field("live", &self.is_live())
            .finish()
    }
}
