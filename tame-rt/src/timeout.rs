//! `add_timeout`: race an operation against a timer.
//!
//! Written by hand on two internal *bridges*: a bridge is a receiver (a [`Sink`]) whose
//! trigger calls a closure, and which can be cancelled, so an event on it has `is_live` and
//! `on_cancel` like an event of a rendezvous.

use std::cell::{Cell, RefCell};
use std::fmt;
use std::rc::{Rc, Weak};
use std::time::Duration;

use smallvec::SmallVec;

use crate::event::{Event, Hook, Sink, Target};

/// The error an operation wrapped by [`add_timeout`] reports when its timer fired first.
///
/// ```
/// # use tame_rt as tame;
/// let e: Box<dyn std::error::Error> = Box::new(tame::TimedOut);
/// assert_eq!(e.to_string(), "operation timed out");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct TimedOut;

impl fmt::Display for TimedOut {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("operation timed out")
    }
}

impl std::error::Error for TimedOut {}

/// What a bridge calls: `Some(v)` on trigger, `None` when its event is dropped untriggered.
type Callback<T> = Box<dyn FnOnce(Option<T>)>;
/// Where `add_timeout` keeps the caller's event until one side wins.
type Outer<T> = Rc<RefCell<Option<Event<Result<T, TimedOut>>>>>;

/// A cancellable callback receiver for one event.
struct Bridge<T> {
    /// Called with `Some(v)` on trigger, `None` when the event is dropped untriggered.
    f: RefCell<Option<Callback<T>>>,
    cancelled: Cell<bool>,
    hooks: RefCell<SmallVec<[Hook; 1]>>,
}

impl<T: 'static> Bridge<T> {
    fn new() -> Rc<Self> {
        Rc::new(Bridge {
            f: RefCell::new(None),
            cancelled: Cell::new(false),
            hooks: RefCell::new(SmallVec::new()),
        })
    }

    fn event(self: &Rc<Self>) -> Event<T> {
        let sink: Rc<dyn Sink<T>> = self.clone();
        Event::new(Target::Slot { sink, slot: 0 })
    }

    /// Cancels the receiver: the event stops being live and its hooks run now.
    fn cancel(&self) {
        if self.cancelled.replace(true) {
            return;
        }
        let f = self.f.borrow_mut().take();
        let hooks = std::mem::take(&mut *self.hooks.borrow_mut());
        drop(f);
        for h in hooks {
            h.run();
        }
    }

    fn finish(&self, v: Option<T>) {
        let f = self.f.borrow_mut().take();
        drop(std::mem::take(&mut *self.hooks.borrow_mut()));
        if let Some(f) = f {
            f(v);
        }
    }
}

impl<T: 'static> Sink<T> for Bridge<T> {
    fn trigger(&self, _: u32, value: T) {
        self.finish(Some(value));
    }
    fn abandon(&self, _: u32) {
        self.finish(None);
    }
    fn is_live(&self, _: u32) -> bool {
        !self.cancelled.get()
    }
    fn on_cancel(&self, _: u32, hook: Hook) {
        if self.cancelled.get() {
            hook.run();
        } else {
            self.hooks.borrow_mut().push(hook);
        }
    }
}

/// Wraps `e` with a timeout: returns the event to hand to the operation.
///
/// - If the returned event triggers with `v` first, `e` gets `Ok(v)` and the timer is removed.
/// - If `after` elapses first, `e` gets `Err(TimedOut)` and the returned event is cancelled:
///   the operation holding it sees `is_live() == false`, and its `on_cancel` hooks run (so a
///   query is forgotten, an fd interest removed); a later trigger is dropped.
/// - If the returned event is dropped untriggered, `e` is dropped too (abandoned) and the timer
///   is removed.
/// - If `e`'s own receiver is cancelled, the returned event is cancelled and the timer removed.
///
/// ```
/// # use tame_rt as tame;
/// use std::time::Duration;
/// use tame::{Rendezvous, TimedOut};
///
/// let r: Rendezvous<&str, Result<u32, TimedOut>> = Rendezvous::new();
/// tame::run(|| {
///     let fast = tame::add_timeout(Duration::from_secs(10), r.event("fast"));
///     fast.trigger(1);
///     let slow = tame::add_timeout(Duration::from_millis(1), r.event("slow"));
///     std::mem::forget(slow); // an operation that never answers (never do this for real)
/// });
/// assert_eq!(r.try_join(), Some(("fast", Ok(1))));
/// assert_eq!(r.try_join(), Some(("slow", Err(TimedOut))));
/// ```
pub fn add_timeout<T: 'static>(after: Duration, e: Event<Result<T, TimedOut>>) -> Event<T> {
    let mut e = e;
    let op: Rc<Bridge<T>> = Bridge::new();
    let timer: Rc<Bridge<()>> = Bridge::new();
    let out: Outer<T> = Rc::new(RefCell::new(None));

    let (o, t): (_, Weak<Bridge<()>>) = (out.clone(), Rc::downgrade(&timer));
    *op.f.borrow_mut() = Some(Box::new(move |v: Option<T>| {
        let e = o.borrow_mut().take();
        if let Some(t) = t.upgrade() {
            t.cancel();
        }
        if let (Some(e), Some(v)) = (e, v) {
            e.trigger(Ok(v));
        }
    }));
    let (o, w): (_, Weak<Bridge<T>>) = (out.clone(), Rc::downgrade(&op));
    *timer.f.borrow_mut() = Some(Box::new(move |fired: Option<()>| {
        let e = o.borrow_mut().take();
        if fired.is_some() {
            if let Some(op) = w.upgrade() {
                op.cancel();
            }
            if let Some(e) = e {
                e.trigger(Err(TimedOut));
            }
        }
    }));
    let (w_op, w_t) = (Rc::downgrade(&op), Rc::downgrade(&timer));
    e.on_cancel(move || {
        if let Some(op) = w_op.upgrade() {
            op.cancel();
        }
        if let Some(t) = w_t.upgrade() {
            t.cancel();
        }
    });
    *out.borrow_mut() = Some(e);
    crate::timer::timer(after, timer.event());
    op.event()
}
