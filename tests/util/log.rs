//! A log of effects, shared between a test and the code it runs (the macro's tests and the
//! runtime's both use it: `tests/util/mod.rs`, `tame-rt/tests/util/mod.rs`).

use std::cell::RefCell;
use std::rc::Rc;

/// A log of effects, shared between a test and the code it runs.
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
