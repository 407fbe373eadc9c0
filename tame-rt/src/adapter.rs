//! Event adapters: several handles on one occurrence, and events that forward to others.
//!
//! Two shapes, both reached through `Event`'s target:
//! - an [`Occurrence`] is one event shared by several handles ([`Event::alias`],
//!   [`Event::unblocker`]) and carrying the events to fire when it completes
//!   ([`Event::at_trigger`]);
//! - a [`Relay`] is an event that forwards to other events as it is triggered, unblocked or
//!   dropped ([`Event::bind`], [`Event::map`], [`all`], [`with_timeout`], [`timeout_value`]).
//!
//! Every adapter acts inline: triggering an adapted event triggers the events beneath it
//! before `trigger` returns, so the waiters they wake are queued in that order and resume on
//! the loop's next turns, never inside the trigger.

use std::cell::{Cell, RefCell};
use std::rc::{Rc, Weak};
use std::time::Duration;

use smallvec::SmallVec;

use crate::event::{Event, FindCaller, Handle, Hook, Relay, Shape, Shared, Target};
use crate::timeout::{TimedOut, add_timeout};

/// Drops `e` untriggered; `quiet` when the drop was on purpose (no leak report).
fn drop_event<T>(e: Event<T>, quiet: bool) {
    if quiet { e.abandon() } else { drop(e) }
}

/// One event shared by several handles.
///
/// - The first handle consumed (triggered, or unblocked) completes the underlying event;
///   then the `at_trigger` events fire, in the order added, and then every other handle
///   is cancelled: it goes not-live, its `on_cancel` hooks run (a tamed call holding it as
///   its `done` ends), and its trigger is dropped.
/// - A handle dropped untriggered takes its hooks with it. The underlying event is abandoned
///   when the last handle is dropped; handles that wait in an `at_trigger` list do not count
///   (else two occurrences that unblock each other would keep each other forever).
/// - The underlying event's receiver cancelled: the `at_trigger` events fire, and the hooks
///   of every handle run.
pub(crate) struct Occurrence<T> {
    /// The underlying event, until it completes.
    inner: Cell<Option<Event<T>>>,
    /// Handles not yet consumed or dropped.
    handles: Cell<u32>,
    /// Of those, the ones waiting in an `at_trigger` list.
    parked: Cell<u32>,
    next_id: Cell<u32>,
    /// `on_cancel` hooks, by handle, in the order added.
    hooks: RefCell<SmallVec<[(u32, Hook); 1]>>,
    /// `at_trigger` events, in the order added.
    after: RefCell<SmallVec<[Event<()>; 1]>>,
    /// A hook on the underlying event tells this occurrence if its receiver is cancelled.
    watching: Cell<bool>,
    me: Weak<Occurrence<T>>,
}

impl<T: 'static> Occurrence<T> {
    /// A shared occurrence of `inner`, with one handle (id 0: the event that was shared).
    fn share(inner: Event<T>) -> Rc<dyn Handle<T>> {
        Occurrence::new(inner)
    }

    fn new(inner: Event<T>) -> Rc<Self> {
        Rc::new_cyclic(|me| Occurrence {
            inner: Cell::new(Some(inner)),
            handles: Cell::new(1),
            parked: Cell::new(0),
            next_id: Cell::new(1),
            hooks: RefCell::new(SmallVec::new()),
            after: RefCell::new(SmallVec::new()),
            watching: Cell::new(false),
            me: me.clone(),
        })
    }

    fn end_handle(&self) {
        self.handles.set(self.handles.get().saturating_sub(1));
    }

    /// The occurrence completed through handle `by` (or, `None`, was abandoned, or its
    /// receiver was cancelled): the `at_trigger` events fire, then every other handle is
    /// cancelled.
    fn decided(&self, by: Option<u32>) {
        self.fire_after();
        let hooks = std::mem::take(&mut *self.hooks.borrow_mut());
        let mut mine = SmallVec::<[Hook; 1]>::new();
        for (id, hook) in hooks {
            if Some(id) == by {
                mine.push(hook); // a consumed handle's hooks never run
            } else {
                hook.run();
            }
        }
        drop(mine);
    }

    /// Drops the hooks of handle `id` (outside the borrow: dropping one may run user code).
    fn drop_hooks(&self, id: u32) {
        let mut gone = SmallVec::<[Hook; 1]>::new();
        {
            let mut hooks = self.hooks.borrow_mut();
            let mut i = 0;
            while i < hooks.len() {
                if hooks[i].0 == id {
                    gone.push(hooks.remove(i).1);
                } else {
                    i += 1;
                }
            }
        }
        drop(gone);
    }

    /// The events added by `at_trigger`, fired in order (each once).
    fn fire_after(&self) {
        let after = std::mem::take(&mut *self.after.borrow_mut());
        for n in after {
            n.park(-1);
            n.trigger(());
        }
    }

    /// Makes sure a cancellation of the underlying event's receiver reaches this occurrence.
    fn watch(&self) {
        if self.watching.replace(true) {
            return;
        }
        let me = self.me.clone();
        self.with_inner(|e| {
            e.hook(|| {
                Hook::User(Box::new(move || {
                    if let Some(occ) = me.upgrade() {
                        occ.decided(None);
                    }
                }))
            })
        });
    }

    /// Runs `f` on the underlying event, taken out and put back (hooks that run inside `f`
    /// see the occurrence as consumed, which it is for them: its receiver is gone).
    fn with_inner<R>(&self, f: impl FnOnce(&mut Event<T>) -> R) -> Option<R> {
        let mut e = self.inner.take()?;
        let r = f(&mut e);
        // The cell is still empty: only `new` fills it, and a handle consumed meanwhile found
        // it empty (its trigger was dropped).
        self.inner.set(Some(e));
        Some(r)
    }

    /// Handle `id` is consumed: the first one completes the underlying event with `finish`
    /// (its trigger, or an unblock) and decides; a later one only takes its hooks away.
    fn consume(&self, id: u32, finish: impl FnOnce(Event<T>)) {
        self.end_handle();
        match self.inner.take() {
            Some(e) => {
                finish(e);
                self.decided(Some(id));
            }
            None => self.drop_hooks(id),
        }
    }
}

impl<T: 'static> Shared for Occurrence<T> {
    fn new_handle(&self) -> u32 {
        self.handles.set(self.handles.get() + 1);
        let id = self.next_id.get();
        self.next_id.set(id.wrapping_add(1));
        id
    }

    fn unblock_handle(&self, id: u32) {
        self.consume(id, Event::unblock);
    }

    fn release(&self, id: u32, quiet: bool) {
        self.end_handle();
        self.drop_hooks(id);
        if self.handles.get() <= self.parked.get()
            && let Some(e) = self.inner.take()
        {
            drop_event(e, quiet);
            self.decided(None);
        }
    }

    fn is_live(&self) -> bool {
        self.with_inner(|e| e.is_live()).unwrap_or(false)
    }

    fn add_hook(&self, id: u32, hook: Hook) {
        if !self.is_live() {
            return hook.run(); // this handle lost already
        }
        self.hooks.borrow_mut().push((id, hook));
        self.watch();
    }

    fn push_after(&self, n: Event<()>) {
        if !self.is_live() {
            return n.trigger(());
        }
        n.park(1);
        self.after.borrow_mut().push(n);
        self.watch();
    }

    fn park(&self, delta: i32) {
        self.parked
            .set(self.parked.get().saturating_add_signed(delta));
    }

    fn find_caller(&self) -> Option<FindCaller> {
        self.with_inner(|e| e.find_caller()).flatten()
    }
}

impl<T: 'static> Handle<T> for Occurrence<T> {
    fn trigger(&self, id: u32, value: T) {
        self.consume(id, |e| e.trigger(value)); // a later handle's value is dropped
    }

    fn as_shared(self: Rc<Self>) -> Rc<dyn Shared> {
        self
    }
}

impl<T> Drop for Occurrence<T> {
    /// `at_trigger` events that never fired: they no longer wait in a list.
    fn drop(&mut self) {
        for n in self.after.get_mut().drain(..) {
            n.park(-1);
        }
    }
}

/// The part of a [`Relay`] over one event `self.e` that is the same for all: dropped, it drops
/// `e`; it is live, and cancelled, as `e` is.
macro_rules! relay_through_e {
    () => {
        fn drop_untriggered(self: Box<Self>, quiet: bool) {
            drop_event(self.e, quiet);
        }
        fn is_live(&self) -> bool {
            self.e.is_live()
        }
        fn can_cancel(&self) -> bool {
            self.e.can_cancel()
        }
        fn add_hook(&mut self, hook: Hook) {
            self.e.hook(|| hook);
        }
        fn find_caller(&self) -> Option<FindCaller> {
            self.e.find_caller()
        }
    };
}

/// `e.bind(v)`: an `Event<()>` that triggers `e` with `v`.
struct Bind<T> {
    e: Event<T>,
    v: T,
}

impl<T: 'static> Relay<()> for Bind<T> {
    fn trigger(self: Box<Self>, (): ()) {
        self.e.trigger(self.v);
    }
    fn unblock(self: Box<Self>) {
        self.e.trigger(self.v);
    }
    relay_through_e!();
}

/// `e.map(f)`: an `Event<S>` that triggers `e` with `f(s)`.
struct Map<T, F> {
    e: Event<T>,
    f: F,
}

impl<S, T: 'static, F: FnOnce(S) -> T> Relay<S> for Map<T, F> {
    fn trigger(self: Box<Self>, value: S) {
        let Map { e, f } = *self;
        e.trigger(f(value));
    }
    fn unblock(self: Box<Self>) {
        self.e.unblock();
    }
    relay_through_e!();
}

/// `with_timeout`'s bridge from `add_timeout`: `Ok(v)` triggers `e` with `v`, `Err` unblocks it.
struct OrUnblock<T> {
    e: Event<T>,
}

impl<T: 'static> Relay<Result<T, TimedOut>> for OrUnblock<T> {
    fn trigger(self: Box<Self>, value: Result<T, TimedOut>) {
        match value {
            Ok(v) => self.e.trigger(v),
            Err(TimedOut) => self.e.unblock(),
        }
    }
    fn unblock(self: Box<Self>) {
        self.e.unblock();
    }
    relay_through_e!();
}

/// `all(events)`: one event that triggers each of `events` in turn.
struct All<T> {
    events: Vec<Event<T>>,
}

/// The cancellation of an `all` event: its hook runs when the last of its events is cancelled.
struct AllCancelled {
    left: Cell<usize>,
    hook: RefCell<Option<Hook>>,
}

impl<T: Clone + 'static> Relay<T> for All<T> {
    fn trigger(self: Box<Self>, value: T) {
        let mut events = self.events;
        let last = events.pop();
        for e in events {
            e.trigger(value.clone());
        }
        if let Some(e) = last {
            e.trigger(value);
        }
    }
    fn unblock(self: Box<Self>) {
        for e in self.events {
            e.unblock();
        }
    }
    fn drop_untriggered(self: Box<Self>, quiet: bool) {
        for e in self.events {
            drop_event(e, quiet);
        }
    }
    fn is_live(&self) -> bool {
        self.events.iter().any(Event::is_live)
    }
    fn can_cancel(&self) -> bool {
        self.events.iter().all(Event::can_cancel)
    }
    fn add_hook(&mut self, hook: Hook) {
        let cancelled = Rc::new(AllCancelled {
            left: Cell::new(self.events.len()),
            hook: RefCell::new(Some(hook)),
        });
        for e in &mut self.events {
            let c = cancelled.clone();
            e.hook(|| {
                Hook::User(Box::new(move || {
                    let left = c.left.get() - 1;
                    c.left.set(left);
                    if left == 0 {
                        let hook = c.hook.borrow_mut().take();
                        if let Some(h) = hook {
                            h.run();
                        }
                    }
                }))
            });
        }
    }
    fn find_caller(&self) -> Option<FindCaller> {
        self.events.iter().find_map(Event::find_caller)
    }
}

impl<T: 'static> Event<T> {
    /// Another handle on the same occurrence.
    ///
    /// Both handles can trigger it; the first one consumed decides (its value is delivered),
    /// and every other handle is then cancelled: it goes not-live, its `on_cancel` hooks run
    /// (so a tamed call computing a losing answer ends), its trigger is dropped. Dropping a
    /// handle untriggered drops its hooks, and abandons the occurrence only if it was the last
    /// handle. Use it to let two parties race to answer one waiter. An alias of an
    /// [`unblocker`](Event::unblocker) is another unblocker.
    ///
    /// ```
    /// # use tame_rt as tame;
    /// let r = tame::Rendezvous::<(), u32>::new();
    /// let first = r.event(());
    /// let second = first.alias();
    /// second.trigger(2); // decides
    /// assert!(!first.is_live());
    /// first.trigger(1); // dropped
    /// assert_eq!(r.try_join(), Some(((), 2)));
    /// assert_eq!(r.try_join(), None);
    /// ```
    #[cfg_attr(debug_assertions, track_caller)]
    pub fn alias(&self) -> Event<T> {
        match self.shape(Occurrence::share) {
            Shape::Alias(occ) => {
                let id = occ.new_handle();
                Event::new(Target::Alias(occ, id))
            }
            Shape::Unblocker(occ) => {
                let id = occ.new_handle();
                Event::new(Target::Unblocker(occ, id))
            }
            Shape::Consumed => Event::consumed(),
        }
    }

    /// An `Event<()>` that completes this occurrence without a value.
    ///
    /// Triggering the unblocker completes the occurrence as an abandonment does, but on
    /// purpose: a `mkevent!(place)` event leaves its place unchanged and counts as done, a
    /// rendezvous slot is freed without a value being joined, a bound event
    /// ([`bind`](Event::bind)) triggers with its value. Like an [`alias`](Event::alias), it is
    /// one more handle: whichever of them is consumed first decides.
    ///
    /// ```
    /// # use tame_rt as tame;
    /// let r = tame::Rendezvous::<(), u32>::new();
    /// let e = r.event(());
    /// e.unblocker().trigger(());
    /// assert!(!e.is_live());
    /// e.trigger(5); // too late: dropped
    /// assert_eq!((r.try_join(), r.pending()), (None, 0));
    /// ```
    #[cfg_attr(debug_assertions, track_caller)]
    pub fn unblocker(&self) -> Event<()> {
        let occ = match self.shape(Occurrence::share) {
            Shape::Alias(occ) => occ.as_shared(),
            Shape::Unblocker(occ) => occ,
            Shape::Consumed => return Event::consumed(),
        };
        let id = occ.new_handle();
        Event::new(Target::Unblocker(occ, id))
    }

    /// Fires `n` right after this occurrence completes, whichever way: triggered, unblocked,
    /// abandoned (its last handle dropped), or its receiver cancelled. Several `at_trigger`
    /// events fire in the order they were added, after the value was delivered. If the event
    /// is already over (consumed, or not live), `n` fires at once. An `n` that is itself a
    /// handle ([`alias`](Event::alias), [`unblocker`](Event::unblocker)) does not keep its
    /// occurrence from being abandoned while it waits here, so two events that unblock each
    /// other are still abandoned when both are dropped.
    ///
    /// ```
    /// # use tame_rt as tame;
    /// let r = tame::Rendezvous::<&str, ()>::new();
    /// let mut e = r.event("value");
    /// e.at_trigger(r.event("after"));
    /// e.trigger(());
    /// assert_eq!(r.try_join(), Some(("value", ())));
    /// assert_eq!(r.try_join(), Some(("after", ())));
    /// ```
    pub fn at_trigger(&mut self, n: Event<()>) {
        match self.shape(Occurrence::share) {
            Shape::Alias(occ) => occ.push_after(n),
            Shape::Unblocker(occ) => occ.push_after(n),
            Shape::Consumed => n.trigger(()),
        }
    }

    /// An `Event<()>` whose trigger (or unblock) triggers this event with `v`.
    ///
    /// Dropping the result untriggered abandons this event; the result is live, and is
    /// cancelled, as this event is.
    ///
    /// ```
    /// # use tame_rt as tame;
    /// let r = tame::Rendezvous::<(), &str>::new();
    /// r.event(()).bind("bound").trigger(());
    /// assert_eq!(r.try_join(), Some(((), "bound")));
    /// ```
    #[cfg_attr(debug_assertions, track_caller)]
    pub fn bind(self, v: T) -> Event<()> {
        Event::new(Target::Relay(Box::new(Bind { e: self, v })))
    }

    /// An `Event<S>` whose trigger with `s` triggers this event with `f(s)`.
    ///
    /// `f` runs only on a trigger with a value: unblocking the result unblocks this event,
    /// dropping it abandons this event, and `f` is then dropped uncalled. The result is live,
    /// and is cancelled, as this event is.
    ///
    /// ```
    /// # use tame_rt as tame;
    /// let r = tame::Rendezvous::<(), usize>::new();
    /// let e = r.event(()).map(|s: &str| s.len());
    /// e.trigger("four");
    /// assert_eq!(r.try_join(), Some(((), 4)));
    /// ```
    #[cfg_attr(debug_assertions, track_caller)]
    pub fn map<S: 'static>(self, f: impl FnOnce(S) -> T + 'static) -> Event<S> {
        Event::new(Target::Relay(Box::new(Map { e: self, f })))
    }
}

impl Event<()> {
    /// An `Event<T>` that ignores its value: its trigger triggers this event.
    ///
    /// ```
    /// # use tame_rt as tame;
    /// let r = tame::Rendezvous::<&str, ()>::new();
    /// let e: tame::Event<u64> = r.event("done").rebind();
    /// e.trigger(42);
    /// assert_eq!(r.try_join(), Some(("done", ())));
    /// ```
    #[cfg_attr(debug_assertions, track_caller)]
    pub fn rebind<T: 'static>(self) -> Event<T> {
        self.map(|_: T| ())
    }
}

/// One event that *distributes* to all of `events`: its trigger with `v` triggers each of
/// them with a clone of `v`, in order (the last gets `v` itself).
///
/// Unblocking it unblocks each of them, dropping it drops each. It is live while any of them
/// is live, and cancelled once all of them are; an empty `all` is not live.
///
/// ```
/// # use tame_rt as tame;
/// let r = tame::Rendezvous::<u8, &str>::new();
/// tame::all([r.event(1), r.event(2)]).trigger("both");
/// assert_eq!(r.try_join(), Some((1, "both")));
/// assert_eq!(r.try_join(), Some((2, "both")));
/// ```
#[cfg_attr(debug_assertions, track_caller)]
pub fn all<T: Clone + 'static>(events: impl IntoIterator<Item = Event<T>>) -> Event<T> {
    let events: Vec<Event<T>> = events.into_iter().collect();
    if events.is_empty() {
        return Event::consumed();
    }
    Event::new(Target::Relay(Box::new(All { events })))
}

/// An event that pushes its value onto the end of `v` when triggered (at once, inside
/// `trigger`: do not hold a borrow of `v` across a trigger). Always live.
///
/// ```
/// # use tame_rt as tame;
/// use std::{cell::RefCell, rc::Rc};
/// let got = Rc::new(RefCell::new(Vec::new()));
/// tame::push_back_event(got.clone()).trigger(1);
/// tame::push_back_event(got.clone()).trigger(2);
/// assert_eq!(*got.borrow(), [1, 2]);
/// ```
pub fn push_back_event<T: 'static>(v: Rc<RefCell<Vec<T>>>) -> Event<T> {
    Event::from_fn(move |x| v.borrow_mut().push(x))
}

/// An event that extends `c` with its value when triggered (at once, inside `trigger`: do
/// not hold a borrow of `c` across a trigger). Always live.
///
/// ```
/// # use tame_rt as tame;
/// use std::{cell::RefCell, collections::BTreeSet, rc::Rc};
/// let seen = Rc::new(RefCell::new(BTreeSet::new()));
/// for n in [3, 1, 3] {
///     tame::extend_event(seen.clone()).trigger(n);
/// }
/// assert_eq!(seen.borrow().iter().copied().collect::<Vec<_>>(), [1, 3]);
/// ```
pub fn extend_event<T: 'static, C: Extend<T> + 'static>(c: Rc<RefCell<C>>) -> Event<T> {
    Event::from_fn(move |x| c.borrow_mut().extend(Some(x)))
}

/// Wraps `e` with a deadline: returns the event to hand to the operation.
///
/// - The returned event triggers with `v` before `after` elapses: `e` gets `v`.
/// - `after` elapses first: `e` is unblocked (completed without a value: a place stays
///   unchanged), then the returned event is cancelled (its `on_cancel` hooks run, a tamed call
///   holding it as its only `Event` parameter ends). A later trigger is dropped.
/// - Dropped untriggered, or `e`'s receiver cancelled: as for [`add_timeout`], on which it is
///   built (two allocations: the race and this adapter).
///
/// ```
/// # use tame_rt as tame;
/// use std::time::Duration;
/// let r = tame::Rendezvous::<&str, u32>::new();
/// tame::run(|| {
///     tame::with_timeout(Duration::from_secs(10), r.event("fast")).trigger(1);
///     let slow = tame::with_timeout(Duration::from_millis(1), r.event("slow"));
///     tame::timer(Duration::from_millis(50), slow.bind(2)); // answers too late
/// });
/// assert_eq!(r.try_join(), Some(("fast", 1))); // "slow" was unblocked: nothing joined
/// assert_eq!((r.try_join(), r.pending()), (None, 0));
/// ```
#[cfg_attr(debug_assertions, track_caller)]
pub fn with_timeout<T: 'static>(after: Duration, e: Event<T>) -> Event<T> {
    add_timeout(after, Event::new(Target::Relay(Box::new(OrUnblock { e }))))
}

/// Wraps `e` with a deadline that answers `v`: if the returned event does not trigger before
/// `after` elapses, `e` gets `v`, and the returned event is cancelled. Otherwise as
/// [`with_timeout`].
///
/// ```
/// # use tame_rt as tame;
/// use std::time::Duration;
/// let r = tame::Rendezvous::<(), &str>::new();
/// tame::run(|| {
///     let e = tame::timeout_value(Duration::from_millis(1), r.event(()), "default");
///     tame::timer(Duration::from_millis(50), e.bind("answer")); // too late
/// });
/// assert_eq!(r.try_join(), Some(((), "default")));
/// ```
#[cfg_attr(debug_assertions, track_caller)]
pub fn timeout_value<T: 'static>(after: Duration, e: Event<T>, v: T) -> Event<T> {
    add_timeout(after, e.map(move |r: Result<T, TimedOut>| r.unwrap_or(v)))
}
