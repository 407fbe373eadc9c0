//! Helpers shared by the macro's integration tests.
#![allow(dead_code)]

use std::cell::RefCell;
use std::rc::Rc;

use tame::Event;

/// A log of effects, shared between a test and the tamed code it runs.
#[derive(Clone, Default)]
pub struct Log(Rc<RefCell<Vec<String>>>);

impl Log {
    pub fn push(&self, s: impl Into<String>) {
        self.0.borrow_mut().push(s.into());
    }
    pub fn take(&self) -> Vec<String> {
        std::mem::take(&mut *self.0.borrow_mut())
    }
}

/// Runs `start` in a fresh runtime until the loop is idle, and returns what its `done` event
/// delivered (`None` if it was dropped untriggered).
pub fn result<T: 'static>(start: impl FnOnce(Event<T>)) -> Option<T> {
    let out = Rc::new(RefCell::new(None));
    let o = out.clone();
    tame::run(|| start(Event::from_fn(move |v| *o.borrow_mut() = Some(v))));
    out.take()
}
