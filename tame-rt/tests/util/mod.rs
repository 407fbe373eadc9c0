//! Shared helpers for the runtime tests: hand-written tamed calls (what `#[tamed]` emits).
#![allow(dead_code)]

use tame_rt::__private::{Cx, Step, spawn};
use tame_rt::Rendezvous;

#[path = "../../../tests/util/log.rs"]
mod log;
#[allow(unused_imports)] // not every test file logs
pub use log::Log;

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

/// Runs one wait, which `register` hands its event to, bounded by `limit`: how it ended
/// (`Ok` when the fd said it was ready).
pub fn one_wait(
    register: impl FnOnce(tame_rt::Event<()>),
    limit: std::time::Duration,
) -> Result<(), tame_rt::TimedOut> {
    let r: Rendezvous<(), Result<(), tame_rt::TimedOut>> = Rendezvous::new();
    tame_rt::run(|| register(tame_rt::add_timeout(limit, r.event(()))));
    r.try_join().expect("the wait ended").1
}
