//! Shared helpers for the runtime tests: hand-written tamed calls (what `#[tamed]` emits).
#![allow(dead_code)]

use std::cell::RefCell;
use std::rc::Rc;

use tame_rt::__private::{Cx, Step, spawn};
use tame_rt::Rendezvous;

/// A log of effects, shared between the test and the code it runs.
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

/// A hand-written tamed call that joins everything `r` yields (`twait!(r)` in a loop), logging
/// each value, and logs "end" when `r` has nothing more.
pub fn drain<I: std::fmt::Debug + 'static, T: std::fmt::Debug + 'static>(
    r: Rendezvous<I, T>,
    log: Log,
) {
    spawn("drain", file!(), move |cx: &Cx| {
        loop {
            match cx.poll_rv(&r, line!()) {
                None => return Step::Blocked,
                Some(Some((i, v))) => log.push(format!("{i:?}={v:?}")),
                Some(None) => {
                    log.push("end");
                    return Step::Done;
                }
            }
        }
    });
}
