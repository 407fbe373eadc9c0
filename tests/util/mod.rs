//! Helpers shared by the macro's integration tests.
#![allow(dead_code)]

use std::cell::RefCell;
use std::rc::Rc;

use tame::Event;

#[path = "log.rs"]
mod log;
#[allow(unused_imports)] // not every test file logs
pub use log::Log;

/// Runs `start` in a fresh runtime until the loop is idle, and returns what its `done` event
/// delivered (`None` if it was dropped untriggered).
pub fn result<T: 'static>(start: impl FnOnce(Event<T>)) -> Option<T> {
    let out = Rc::new(RefCell::new(None));
    let o = out.clone();
    tame::run(|| start(Event::from_fn(move |v| *o.borrow_mut() = Some(v))));
    out.take()
}
