//! `add_timeout`: race an operation against a timer.
//!
//! The paper writes it with a rendezvous that gets one event for the operation and one for the
//! timer, and a tamed function that waits for the first of the two, then cancels the
//! rendezvous so that the loser is told. tame keeps that meaning in one object, [`Race`]: it
//! is the receiver of the operation's event (a one-slot sink), holds the caller's event and
//! the timer's place in the timer store, and is told by the timer directly (an `Expire`
//! event). One allocation per `add_timeout`, no task, no rendezvous.
//!
//! - The operation's event triggers first: the timer is removed, the caller gets `Ok(v)`.
//! - The timer fires first: the caller gets `Err(TimedOut)`, then the operation's event is
//!   cancelled (its `on_cancel` hooks run, in the order they were added).
//! - The operation's event is dropped untriggered: the timer is removed, and the caller's
//!   event is abandoned on the loop's next turn (as when the paper's waiting half resumes).
//! - The caller's receiver is cancelled or goes away: the timer is removed and the
//!   operation's event cancelled (a hook on the caller's event, as for a tamed call's `Event`
//!   parameter).

use std::cell::{Cell, RefCell};
use std::fmt;
use std::rc::{Rc, Weak};
use std::time::Duration;

use smallvec::SmallVec;

use crate::event::{Event, Expire, Hook, Sink, Target, Waiting, Watch};

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

/// Wraps `e` with a timeout: returns the event to hand to the operation.
///
/// - If the returned event triggers with `v` first, `e` gets `Ok(v)` and the timer is removed.
/// - If `after` elapses first, `e` gets `Err(TimedOut)` and the returned event is cancelled:
///   the operation holding it sees `is_live() == false`, and its `on_cancel` hooks run (so a
///   query is forgotten, an fd interest removed); a later trigger is dropped.
/// - If the returned event is dropped untriggered, the timer is removed, and `e` is dropped too
///   (abandoned) on the loop's next turn.
/// - If `e`'s own receiver is cancelled, the returned event is cancelled and the timer removed.
///
/// It costs one allocation, and a slot in the loop's timer wheel.
///
/// Handed to a tamed call as its `Event` parameter, the returned event stops that call when
/// the time is up: a blocked tamed call whose every `Event` parameter lost its receiver ends
/// at its wait, drops its locals, and cancels the events it waits for, so the calls and
/// helpers it waits for end too (see the book's "Stopping work").
///
/// ```
/// # use tame_rt as tame;
/// use std::time::Duration;
/// use tame::{Rendezvous, TimedOut};
///
/// let r: Rendezvous<&str, Result<u32, TimedOut>> = Rendezvous::new();
/// let mut never_answered = None;
/// tame::run(|| {
///     let fast = tame::add_timeout(Duration::from_secs(10), r.event("fast"));
///     fast.trigger(1);
///     // An operation that never answers: its event is kept, and never triggered.
///     never_answered = Some(tame::add_timeout(Duration::from_millis(1), r.event("slow")));
/// });
/// assert_eq!(r.try_join(), Some(("fast", Ok(1))));
/// assert_eq!(r.try_join(), Some(("slow", Err(TimedOut))));
/// drop(never_answered); // too late to matter: the timeout has answered
/// ```
#[cfg_attr(debug_assertions, track_caller)]
pub fn add_timeout<T: 'static>(after: Duration, mut e: Event<Result<T, TimedOut>>) -> Event<T> {
    let race = Rc::new_cyclic(|me| Race {
        outer: RefCell::new(None),
        timer: Cell::new(None),
        state: Cell::new(State::Pending),
        hooks: RefCell::new(SmallVec::new()),
        me: me.clone(),
    });
    // If the caller's receiver is already cancelled, the hook runs here and the race is over
    // before it starts: the operation gets a cancelled event.
    let watch: Weak<dyn Watch> = Rc::downgrade(&(race.clone() as Rc<dyn Watch>));
    e.hook(|| Hook::Param(watch));
    if race.state.get() == State::Pending {
        *race.outer.borrow_mut() = Some(e);
        let fire = Event::new(Target::Expire(race.clone() as Rc<dyn Expire>));
        let key = crate::local::with(|c| {
            let deadline = crate::timer::deadline_after(c.clock(), after);
            let mut timers = c.timers.borrow_mut();
            let (idx, seq) = timers.reserve_key();
            timers.fill(idx, seq, deadline, fire, false);
            (idx, seq)
        });
        race.timer.set(Some(key));
    } else {
        e.abandon();
    }
    Event::new(Target::Slot {
        sink: race as Rc<dyn Sink<T>>,
        slot: 0,
    })
}

/// Where a race stands.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum State {
    /// Neither side has come.
    Pending,
    /// The operation's event was dropped: the caller's event is abandoned on the next turn.
    Abandoned,
    /// The operation's event triggered, or the timer fired, or the caller went away.
    Done,
    /// The operation lost (the timer fired, or the caller went away): its event is cancelled.
    Cancelled,
}

/// One `add_timeout`: the receiver of the operation's event, and what the timer tells.
struct Race<T> {
    /// The caller's event, until the race is decided.
    outer: RefCell<Option<Event<Result<T, TimedOut>>>>,
    /// The timer's place in the store, while it is armed.
    timer: Cell<Option<(u32, u64)>>,
    state: Cell<State>,
    /// `on_cancel` hooks of the operation's event, in the order added.
    hooks: RefCell<SmallVec<[Hook; 1]>>,
    /// This race, for the event that tells it on the next turn (no allocation: the weak
    /// count of the same `Rc`).
    me: Weak<Race<T>>,
}

impl<T> Race<T> {
    /// Removes the timer if it is still armed.
    fn disarm(&self) {
        if let Some((idx, seq)) = self.timer.take() {
            let ev = crate::local::with(|c| c.timers.borrow_mut().cancel(idx, seq));
            drop(ev); // outside the borrow (an `Expire` event: dropping it does nothing)
        }
    }

    /// The operation's event completed first (triggered or unblocked): the race is over, the
    /// timer removed, the operation's hooks dropped; the caller's event, to be told (`None` if
    /// the race was already decided, or its caller went away).
    fn operation_won(&self) -> Option<Event<Result<T, TimedOut>>> {
        if self.state.get() != State::Pending {
            return None;
        }
        self.state.set(State::Done);
        self.disarm();
        self.drop_hooks();
        self.outer.borrow_mut().take()
    }

    /// The operation's event is done: its hooks are dropped (outside the borrow, since
    /// dropping one may drop events, and so run user code).
    fn drop_hooks(&self) {
        let hooks = std::mem::take(&mut *self.hooks.borrow_mut());
        drop(hooks);
    }

    /// The operation lost: its event is cancelled and its hooks run.
    fn cancel_operation(&self) {
        self.state.set(State::Cancelled);
        let hooks = std::mem::take(&mut *self.hooks.borrow_mut());
        for h in hooks {
            h.run();
        }
    }
}

impl<T: 'static> Sink<T> for Race<T> {
    fn trigger(&self, _slot: u32, value: T) {
        // If it lost already, a late answer is dropped.
        if let Some(e) = self.operation_won() {
            e.trigger(Ok(value));
        }
    }

    /// Unblocked (completed without a value, on purpose): the caller's event is unblocked
    /// at once, as a trigger would have reached it.
    fn unblock(&self, _slot: u32) {
        if let Some(e) = self.operation_won() {
            e.unblock();
        }
    }

    fn abandon(&self, _slot: u32) {
        if self.state.get() != State::Pending {
            return;
        }
        self.state.set(State::Abandoned);
        self.disarm();
        self.drop_hooks();
        // The caller hears of it on the next turn, through an `Expire` event queued here
        // (the event being dropped holds the race alive while this runs).
        if let Some(me) = self.me.upgrade() {
            crate::local::push_asap(Event::new(Target::Expire(me as Rc<dyn Expire>)));
        }
    }

    fn is_live(&self, _slot: u32) -> bool {
        self.state.get() == State::Pending
    }

    fn on_cancel(&self, _slot: u32, hook: Hook) {
        match self.state.get() {
            State::Pending => self.hooks.borrow_mut().push(hook),
            State::Cancelled => hook.run(),
            State::Done | State::Abandoned => drop(hook),
        }
    }

    fn as_waiting(self: Rc<Self>) -> Rc<dyn Waiting> {
        self
    }
}

impl<T: 'static> Expire for Race<T> {
    /// The timer fired, or (after the operation's event was dropped) the next turn came.
    fn expire(self: Rc<Self>) {
        match self.state.get() {
            State::Pending => {
                self.timer.set(None); // it fired: nothing to remove
                self.state.set(State::Done);
                let outer = self.outer.borrow_mut().take();
                if let Some(e) = outer {
                    e.trigger(Err(TimedOut));
                }
                self.cancel_operation();
            }
            State::Abandoned => {
                self.state.set(State::Done);
                let outer = self.outer.borrow_mut().take();
                if let Some(e) = outer {
                    e.abandon();
                }
            }
            State::Done | State::Cancelled => {}
        }
    }
}

impl<T: 'static> Watch for Race<T> {
    /// The caller's receiver was cancelled or went away: the operation is cancelled.
    fn param_lost(self: Rc<Self>) {
        let state = self.state.get();
        if matches!(state, State::Done | State::Cancelled) {
            return;
        }
        self.disarm();
        let outer = self.outer.borrow_mut().take();
        drop(outer); // its receiver is gone: nothing to tell
        if state == State::Pending {
            self.cancel_operation();
        } else {
            self.state.set(State::Done);
        }
    }

    fn tether_cut(self: Rc<Self>) {}
}

impl<T: 'static> Waiting for Race<T> {
    /// The call waiting for the caller's event (a backtrace goes through the race).
    fn waiting(&self) -> Option<Rc<dyn crate::event::Frame>> {
        #[cfg(debug_assertions)]
        {
            let outer = self.outer.try_borrow().ok()?;
            outer.as_ref()?.find_caller()?.find()
        }
        #[cfg(not(debug_assertions))]
        None
    }
}
