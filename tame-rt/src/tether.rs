//! `Lifeline` and `Tether`: ending the tamed calls that work for an object when the object
//! goes away (cancellation rule 2; Tamer's `tamed_class` / `destroy_guard`).
//!
//! A `Lifeline` owns a list of the tamed calls tethered to it (`Weak`, so a tether keeps no
//! call alive). When the `Lifeline` is dropped, the line is cut: every call on the list that
//! has not finished ends where it waits, as a call ends under rule 1. A call is tethered by a
//! `#[tether] t: Tether` parameter (from its start) or by `exit_with!(t)` (from there on).
//! Calls that finished leave dead entries behind; they are dropped when the list is about to
//! grow.

use std::cell::{Cell, RefCell};
use std::fmt;
use std::rc::{Rc, Weak};

use crate::event::Watch;

struct Line {
    alive: Cell<bool>,
    calls: RefCell<Vec<Weak<dyn Watch>>>,
}

/// The owning end of a tether: dropping it ends every tamed call tethered to it.
///
/// Keep a `Lifeline` in an object (a connection, a session) and hand its [`Tether`]s to the
/// tamed calls that work for that object; when the object is dropped, those calls stop where
/// they wait, their locals are dropped, and the events they wait for are cancelled.
///
/// ```
/// # use tame_rt as tame;
/// use std::time::Duration;
/// use tame::{Lifeline, Tether};
///
/// let life = Lifeline::new();
/// let t: Tether = life.tether();
/// assert!(t.is_alive());
/// drop(life);
/// assert!(!t.is_alive());
/// ```
pub struct Lifeline {
    line: Rc<Line>,
}

/// A tamed call's tie to a [`Lifeline`]: cheap to clone, and alive until the lifeline is
/// dropped.
///
/// Give it to a tamed call as a `#[tether] t: Tether` parameter, or call `exit_with!(t)` in
/// its body, and the call ends when the lifeline goes away.
#[derive(Clone)]
pub struct Tether {
    line: Rc<Line>,
}

impl Lifeline {
    /// A new, live lifeline.
    ///
    /// ```
    /// # use tame_rt as tame;
    /// assert!(tame::Lifeline::new().tether().is_alive());
    /// ```
    pub fn new() -> Self {
        Lifeline {
            line: Rc::new(Line {
                alive: Cell::new(true),
                calls: RefCell::new(Vec::new()),
            }),
        }
    }

    /// A tether to this lifeline.
    ///
    /// ```
    /// # use tame_rt as tame;
    /// let life = tame::Lifeline::new();
    /// let (a, b) = (life.tether(), life.tether());
    /// drop(life);
    /// assert!(!a.is_alive() && !b.is_alive());
    /// ```
    pub fn tether(&self) -> Tether {
        Tether {
            line: self.line.clone(),
        }
    }
}

impl Default for Lifeline {
    fn default() -> Self {
        Lifeline::new()
    }
}

impl Drop for Lifeline {
    fn drop(&mut self) {
        self.line.alive.set(false);
        // Taken out first: ending a call runs its destructors, which may tether or cut again.
        let calls = std::mem::take(&mut *self.line.calls.borrow_mut());
        for w in calls {
            if let Some(t) = w.upgrade() {
                t.tether_cut();
            }
        }
    }
}

impl Tether {
    /// Whether the lifeline still exists.
    ///
    /// ```
    /// # use tame_rt as tame;
    /// let life = tame::Lifeline::new();
    /// let t = life.tether();
    /// assert!(t.is_alive());
    /// drop(life);
    /// assert!(!t.is_alive());
    /// ```
    pub fn is_alive(&self) -> bool {
        self.line.alive.get()
    }

    /// Puts `call` on the line; `false` (and nothing done) if the lifeline is gone.
    pub(crate) fn attach(&self, call: Weak<dyn Watch>) -> bool {
        if !self.is_alive() {
            return false;
        }
        let mut calls = self.line.calls.borrow_mut();
        // `exit_with!(t)` in a loop tethers the same call again and again: once is enough.
        if calls.last().is_some_and(|w| w.ptr_eq(&call)) {
            return true;
        }
        if calls.len() == calls.capacity() {
            calls.retain(|w| w.strong_count() > 0);
            let n = calls.len();
            calls.reserve(n.max(4));
        }
        calls.push(call);
        true
    }
}

impl fmt::Debug for Lifeline {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Lifeline").finish_non_exhaustive()
    }
}

impl fmt::Debug for Tether {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Tether")
            .field("alive", &self.is_alive())
            .finish()
    }
}
