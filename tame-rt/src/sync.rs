//! Synchronisation between tamed calls on one loop: a [`Mutex`] that can be held across waits,
//! and a [`Channel`] of values.
//!
//! Both are queues of events, as Tamer's `mutex` and `channel` are: a waiter hands over an
//! event, and is told by its trigger. Nothing blocks the thread. Both are *cancel-safe*: a
//! waiter whose event lost its receiver (an `add_timeout` that fired, a call that ended) is
//! skipped, never granted the lock nor handed a value, and it does not hold up the ones behind
//! it. Dead waiters are dropped when the queue reaches them, or when a new waiter arrives.
//!
//! Events are triggered after the structure's own state is updated and no borrow of it is
//! held, so a waiter's code (a callback event runs inline) may use the mutex or channel again.

use std::cell::RefCell;
use std::collections::VecDeque;
use std::fmt;
use std::rc::Rc;

use smallvec::SmallVec;

use crate::event::Event;

/// Who holds a [`Mutex`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Held {
    Free,
    Exclusive,
    /// This many shared holders.
    Shared(usize),
}

/// How a waiter of a [`Mutex`] is told it holds the lock.
enum Grant {
    Plain(Event<()>),
    Guard(Event<MutexGuard>),
}

impl Grant {
    fn is_live(&self) -> bool {
        match self {
            Grant::Plain(e) => e.is_live(),
            Grant::Guard(e) => e.is_live(),
        }
    }
}

struct MutexState {
    held: Held,
    /// Waiters in arrival order: `true` for a shared one.
    queue: VecDeque<(bool, Grant)>,
}

/// A lock that tamed calls hold across waits: exclusive ([`acquire`](Mutex::acquire)) or
/// shared ([`acquire_shared`](Mutex::acquire_shared)), granted strictly in arrival order.
///
/// - A request is granted at once only if nobody waits before it and the lock allows it (free,
///   or shared for a shared request).
/// - Otherwise it waits its turn: when the lock frees, the first waiter gets it; if that one
///   is shared, the shared waiters right behind it get it too (a shared grant passes the turn
///   on), up to the first exclusive one.
/// - A waiter whose `done` lost its receiver before its turn (its timeout fired, say) is
///   skipped: the lock is granted only to a live `done`.
///
/// `Mutex` is a cheap handle (`Clone`): clones are the same lock. [`lock`](Mutex::lock) is the
/// RAII form: the guard releases the lock when dropped.
///
/// ```
/// # use tame_rt as tame;
/// use tame::sync::Mutex;
///
/// let m = Mutex::new();
/// let r: tame::Rendezvous<&str> = tame::Rendezvous::new();
/// m.acquire(r.event("first")); // free: granted at once
/// m.acquire(r.event("second")); // waits
/// assert_eq!(r.try_join(), Some(("first", ())));
/// assert_eq!(r.try_join(), None);
/// m.release(); // the turn passes to "second"
/// assert_eq!(r.try_join(), Some(("second", ())));
/// m.release();
/// ```
#[derive(Clone)]
pub struct Mutex {
    inner: Rc<RefCell<MutexState>>,
}

impl Default for Mutex {
    fn default() -> Self {
        Mutex::new()
    }
}

impl fmt::Debug for Mutex {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let st = self.inner.borrow();
        f.debug_struct("Mutex")
            .field("held", &st.held)
            .field("waiting", &st.queue.len())
            .finish()
    }
}

impl Mutex {
    /// A free lock.
    ///
    /// ```
    /// # use tame_rt as tame;
    /// let m = tame::sync::Mutex::new();
    /// assert!(!m.is_locked());
    /// ```
    pub fn new() -> Self {
        Mutex {
            inner: Rc::new(RefCell::new(MutexState {
                held: Held::Free,
                queue: VecDeque::new(),
            })),
        }
    }

    /// Asks for the lock alone: `done` triggers when it is granted (at once if it is free and
    /// nobody waits). Release it with [`release`](Mutex::release).
    ///
    /// ```
    /// # use tame_rt as tame;
    /// let m = tame::sync::Mutex::new();
    /// let r: tame::Rendezvous = tame::Rendezvous::new();
    /// m.acquire(r.event(()));
    /// assert!(m.is_locked());
    /// m.release();
    /// ```
    pub fn acquire(&self, done: Event<()>) {
        self.request(false, Grant::Plain(done));
    }

    /// Asks for the lock shared with other shared holders: `done` triggers when it is granted.
    /// Release it with [`release_shared`](Mutex::release_shared).
    ///
    /// ```
    /// # use tame_rt as tame;
    /// let m = tame::sync::Mutex::new();
    /// let r: tame::Rendezvous<u8> = tame::Rendezvous::new();
    /// m.acquire_shared(r.event(1));
    /// m.acquire_shared(r.event(2)); // shared with the first
    /// assert_eq!((r.try_join(), r.try_join()), (Some((1, ())), Some((2, ()))));
    /// m.release_shared();
    /// m.release_shared();
    /// assert!(!m.is_locked());
    /// ```
    pub fn acquire_shared(&self, done: Event<()>) {
        self.request(true, Grant::Plain(done));
    }

    /// Asks for the lock alone, in its RAII form: `done` gets a guard that releases the lock
    /// when it is dropped.
    ///
    /// ```
    /// # use tame_rt as tame;
    /// let m = tame::sync::Mutex::new();
    /// let r: tame::Rendezvous<(), tame::sync::MutexGuard> = tame::Rendezvous::new();
    /// m.lock(r.event(()));
    /// let ((), guard) = r.try_join().unwrap();
    /// assert!(m.is_locked());
    /// drop(guard);
    /// assert!(!m.is_locked());
    /// ```
    pub fn lock(&self, done: Event<MutexGuard>) {
        self.request(false, Grant::Guard(done));
    }

    /// Releases the lock held alone; the next waiters in line get it.
    ///
    /// # Panics
    /// If the lock is not held alone (releasing what one does not hold is a bug).
    ///
    /// ```
    /// # use tame_rt as tame;
    /// let m = tame::sync::Mutex::new();
    /// m.acquire(tame::Event::from_fn(|()| {}));
    /// m.release();
    /// assert!(!m.is_locked());
    /// ```
    pub fn release(&self) {
        {
            let mut st = self.inner.borrow_mut();
            assert_eq!(
                st.held,
                Held::Exclusive,
                "tame::sync::Mutex::release: the lock is not held alone"
            );
            st.held = Held::Free;
        }
        self.grant();
    }

    /// Releases one shared hold; when the last one goes, the next waiters in line get it.
    ///
    /// # Panics
    /// If the lock is not held shared.
    ///
    /// ```
    /// # use tame_rt as tame;
    /// let m = tame::sync::Mutex::new();
    /// m.acquire_shared(tame::Event::from_fn(|()| {}));
    /// m.release_shared();
    /// assert!(!m.is_locked());
    /// ```
    pub fn release_shared(&self) {
        {
            let mut st = self.inner.borrow_mut();
            st.held = match st.held {
                Held::Shared(1) => Held::Free,
                Held::Shared(n) => Held::Shared(n - 1),
                _ => panic!("tame::sync::Mutex::release_shared: the lock is not held shared"),
            };
        }
        self.grant();
    }

    /// Whether anyone holds the lock.
    ///
    /// ```
    /// # use tame_rt as tame;
    /// assert!(!tame::sync::Mutex::new().is_locked());
    /// ```
    pub fn is_locked(&self) -> bool {
        self.inner.borrow().held != Held::Free
    }

    /// Waiters in line, live or not yet found dead.
    ///
    /// ```
    /// # use tame_rt as tame;
    /// let m = tame::sync::Mutex::new();
    /// let r: tame::Rendezvous = tame::Rendezvous::new();
    /// m.acquire(r.event(()));
    /// m.acquire(r.event(()));
    /// assert_eq!(m.waiting(), 1);
    /// # r.cancel(); m.release();
    /// ```
    pub fn waiting(&self) -> usize {
        self.inner.borrow().queue.len()
    }

    fn request(&self, shared: bool, g: Grant) {
        if !g.is_live() {
            return; // nobody would be told: nothing to grant
        }
        self.inner.borrow_mut().queue.push_back((shared, g));
        self.grant();
    }

    /// Grants the lock to the waiters at the head of the line that may have it now.
    fn grant(&self) {
        let mut granted: SmallVec<[Grant; 2]> = SmallVec::new();
        let mut dead: SmallVec<[Grant; 2]> = SmallVec::new();
        {
            let mut st = self.inner.borrow_mut();
            while let Some((shared, g)) = st.queue.pop_front() {
                if !g.is_live() {
                    dead.push(g);
                    continue;
                }
                let ok = match (shared, st.held) {
                    (false, Held::Free) => {
                        st.held = Held::Exclusive;
                        true
                    }
                    (true, Held::Free) => {
                        st.held = Held::Shared(1);
                        true
                    }
                    // At the head of the line, with the lock shared: joins the holders (a
                    // shared grant passes the turn on to the shared waiters behind it).
                    (true, Held::Shared(n)) => {
                        st.held = Held::Shared(n + 1);
                        true
                    }
                    _ => false,
                };
                if ok {
                    granted.push(g);
                    if !shared {
                        break;
                    }
                } else {
                    st.queue.push_front((shared, g));
                    break;
                }
            }
        }
        drop(dead);
        for g in granted {
            match g {
                Grant::Plain(e) => e.trigger(()),
                Grant::Guard(e) => e.trigger(MutexGuard { m: self.clone() }),
            }
        }
    }
}

/// The lock of a [`Mutex`] held alone, from [`Mutex::lock`]: dropping it releases the lock.
///
/// ```
/// # use tame_rt as tame;
/// let m = tame::sync::Mutex::new();
/// m.lock(tame::Event::from_fn(|guard: tame::sync::MutexGuard| {
///     assert!(guard.mutex().is_locked());
/// })); // the guard was dropped at the end of the callback
/// assert!(!m.is_locked());
/// ```
#[must_use = "dropping the guard releases the lock at once"]
pub struct MutexGuard {
    m: Mutex,
}

impl MutexGuard {
    /// The mutex this guard holds.
    ///
    /// ```
    /// # use tame_rt as tame;
    /// let m = tame::sync::Mutex::new();
    /// let r: tame::Rendezvous<(), tame::sync::MutexGuard> = tame::Rendezvous::new();
    /// m.lock(r.event(()));
    /// let ((), g) = r.try_join().unwrap();
    /// assert!(g.mutex().is_locked());
    /// ```
    pub fn mutex(&self) -> &Mutex {
        &self.m
    }
}

impl Drop for MutexGuard {
    fn drop(&mut self) {
        self.m.release();
    }
}

impl fmt::Debug for MutexGuard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MutexGuard").finish_non_exhaustive()
    }
}

/// Which end of a [`Channel`] a waiter takes from.
#[derive(Clone, Copy, PartialEq, Eq)]
enum End {
    Front,
    Back,
}

struct ChannelState<T> {
    values: VecDeque<T>,
    /// Waiters in arrival order.
    waiters: VecDeque<(End, Event<T>)>,
    /// Waiters left after the last sweep of dead ones.
    swept: usize,
}

/// A queue of values between tamed calls: [`push_back`](Channel::push_back) hands the value to
/// the first live waiter, else queues it; [`pop_front`](Channel::pop_front) takes the first
/// value, or waits for one.
///
/// Waiters are served in the order they came. A waiter whose event lost its receiver (its
/// timeout fired) is skipped: a value is handed only to a live waiter, and it is never lost.
/// Unlike a [`Rendezvous`](crate::Rendezvous) used as a queue, an empty channel is not an
/// end: a waiter simply waits for the next value.
///
/// `Channel` is a cheap handle (`Clone`): clones are the same channel.
///
/// ```
/// # use tame_rt as tame;
/// use tame::sync::Channel;
///
/// let c: Channel<u32> = Channel::new();
/// let r: tame::Rendezvous<&str, u32> = tame::Rendezvous::new();
/// c.push_back(1);
/// c.pop_front(r.event("a")); // a value is there: handed over at once
/// c.pop_front(r.event("b")); // waits
/// c.push_back(2); // goes to the waiter
/// assert_eq!((r.try_join(), r.try_join()), (Some(("a", 1)), Some(("b", 2))));
/// assert_eq!(c.len(), 0);
/// ```
pub struct Channel<T> {
    inner: Rc<RefCell<ChannelState<T>>>,
}

impl<T> Clone for Channel<T> {
    fn clone(&self) -> Self {
        Channel {
            inner: self.inner.clone(),
        }
    }
}

impl<T: 'static> Default for Channel<T> {
    fn default() -> Self {
        Channel::new()
    }
}

impl<T> fmt::Debug for Channel<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let st = self.inner.borrow();
        f.debug_struct("Channel")
            .field("len", &st.values.len())
            .field("waiters", &st.waiters.len())
            .finish()
    }
}

impl<T: 'static> Channel<T> {
    /// An empty channel.
    ///
    /// ```
    /// # use tame_rt as tame;
    /// let c: tame::sync::Channel<String> = tame::sync::Channel::new();
    /// assert!(c.is_empty());
    /// ```
    pub fn new() -> Self {
        Channel {
            inner: Rc::new(RefCell::new(ChannelState {
                values: VecDeque::new(),
                waiters: VecDeque::new(),
                swept: 0,
            })),
        }
    }

    /// Hands `v` to the first live waiter, or puts it at the back of the queue.
    ///
    /// ```
    /// # use tame_rt as tame;
    /// let c = tame::sync::Channel::new();
    /// c.push_back(1);
    /// c.push_back(2);
    /// assert_eq!(c.len(), 2);
    /// ```
    pub fn push_back(&self, v: T) {
        self.push(v, End::Back);
    }

    /// Hands `v` to the first live waiter, or puts it at the front of the queue.
    ///
    /// ```
    /// # use tame_rt as tame;
    /// let c = tame::sync::Channel::new();
    /// c.push_back(2);
    /// c.push_front(1);
    /// let r: tame::Rendezvous<(), i32> = tame::Rendezvous::new();
    /// c.pop_front(r.event(()));
    /// assert_eq!(r.try_join(), Some(((), 1)));
    /// ```
    pub fn push_front(&self, v: T) {
        self.push(v, End::Front);
    }

    /// Takes the first value: `e` triggers with it at once if there is one, else when one is
    /// pushed (after the waiters that came before).
    ///
    /// ```
    /// # use tame_rt as tame;
    /// let c = tame::sync::Channel::new();
    /// let r: tame::Rendezvous<(), &str> = tame::Rendezvous::new();
    /// c.pop_front(r.event(()));
    /// assert_eq!(c.waiters(), 1);
    /// c.push_back("hi");
    /// assert_eq!(r.try_join(), Some(((), "hi")));
    /// ```
    pub fn pop_front(&self, e: Event<T>) {
        self.pop(e, End::Front);
    }

    /// Takes the last value: `e` triggers with it at once if there is one, else with the next
    /// value pushed (after the waiters that came before).
    ///
    /// ```
    /// # use tame_rt as tame;
    /// let c = tame::sync::Channel::new();
    /// c.push_back(1);
    /// c.push_back(2);
    /// let r: tame::Rendezvous<(), i32> = tame::Rendezvous::new();
    /// c.pop_back(r.event(()));
    /// assert_eq!(r.try_join(), Some(((), 2)));
    /// ```
    pub fn pop_back(&self, e: Event<T>) {
        self.pop(e, End::Back);
    }

    /// Values queued.
    ///
    /// ```
    /// # use tame_rt as tame;
    /// let c = tame::sync::Channel::new();
    /// c.push_back(());
    /// assert_eq!(c.len(), 1);
    /// ```
    pub fn len(&self) -> usize {
        self.inner.borrow().values.len()
    }

    /// Whether no value is queued.
    ///
    /// ```
    /// # use tame_rt as tame;
    /// assert!(tame::sync::Channel::<u8>::new().is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.inner.borrow().values.is_empty()
    }

    /// Live waiters (those whose event lost its receiver are not counted).
    ///
    /// ```
    /// # use tame_rt as tame;
    /// let c: tame::sync::Channel<u8> = tame::sync::Channel::new();
    /// let r: tame::Rendezvous<(), u8> = tame::Rendezvous::new();
    /// c.pop_front(r.event(()));
    /// assert_eq!(c.waiters(), 1);
    /// r.cancel();
    /// assert_eq!(c.waiters(), 0);
    /// ```
    pub fn waiters(&self) -> usize {
        self.inner
            .borrow()
            .waiters
            .iter()
            .filter(|(_, e)| e.is_live())
            .count()
    }

    fn push(&self, v: T, end: End) {
        let mut dead: SmallVec<[Event<T>; 2]> = SmallVec::new();
        let taker = {
            let mut st = self.inner.borrow_mut();
            let mut taker = None;
            while let Some((_, e)) = st.waiters.pop_front() {
                if e.is_live() {
                    taker = Some(e);
                    break;
                }
                dead.push(e);
            }
            if taker.is_none() {
                match end {
                    End::Back => st.values.push_back(v),
                    End::Front => st.values.push_front(v),
                }
                None
            } else {
                taker.map(|e| (e, v))
            }
        };
        drop(dead);
        if let Some((e, v)) = taker {
            e.trigger(v);
        }
    }

    fn pop(&self, e: Event<T>, end: End) {
        if !e.is_live() {
            return;
        }
        let mut dead: Vec<Event<T>> = Vec::new();
        let v = {
            let mut st = self.inner.borrow_mut();
            // A value is queued only while nobody waits, so a new waiter takes it at once.
            let v = match end {
                End::Front => st.values.pop_front(),
                End::Back => st.values.pop_back(),
            };
            if v.is_none() {
                // Waiting. Dead waiters are dropped when a push reaches them; those stuck
                // behind a live one go here, whenever the line has doubled since the last
                // sweep (O(1) amortised per wait), dropped once the borrow ends.
                if st.waiters.len() >= 2 * st.swept.max(8) {
                    let mut live = VecDeque::with_capacity(st.waiters.len() + 1);
                    for (end, w) in st.waiters.drain(..) {
                        if w.is_live() {
                            live.push_back((end, w));
                        } else {
                            dead.push(w);
                        }
                    }
                    st.swept = live.len();
                    st.waiters = live;
                }
                st.waiters.push_back((end, e));
                None
            } else {
                v.map(|v| (v, e))
            }
        };
        drop(dead);
        if let Some((v, e)) = v {
            e.trigger(v);
        }
    }
}
