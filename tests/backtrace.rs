//! The tamed backtrace (debug builds): the chain of tamed calls waiting on one another, from
//! the running call up to the root, as a thread's stack trace would show it.
use std::cell::RefCell;
use std::rc::Rc;
use std::time::Duration;

use tame::{Event, Rendezvous, TimedOut, tamed};

type Seen = Rc<RefCell<Vec<String>>>;

#[tamed]
fn innermost(seen: Seen, done: Event<()>) {
    // After a wait, so that every call up the chain is blocked at its own.
    twait! { tame::asap(mkevent!()); }
    *seen.borrow_mut() = tame::backtrace();
    done.trigger(());
}

#[tamed]
fn middle(seen: Seen, done: Event<()>) {
    twait! {
        #![describe("waiting for innermost")]
        innermost(seen.clone(), mkevent!());
    }
    done.trigger(());
}

#[tamed]
fn outer(seen: Seen, done: Event<Result<(), TimedOut>>) {
    let mut outcome = Err(TimedOut);
    twait! {
        middle(seen.clone(), tame::add_timeout(Duration::from_secs(5), mkevent!(outcome)));
    }
    done.trigger(outcome);
}

#[tamed]
fn root(seen: Seen) {
    let r: Rendezvous<(), Result<(), TimedOut>> = Rendezvous::new();
    outer(seen.clone(), mkevent!(r, ()));
    let _ = twait!(r);
}

#[test]
fn the_tamed_backtrace_names_each_waiting_call_up_to_the_root() {
    let seen: Seen = Rc::default();
    tame::run(|| root(seen.clone()));
    let got = seen.borrow().clone();
    if !cfg!(debug_assertions) {
        assert!(got.is_empty(), "release builds keep no backtrace: {got:?}");
        return;
    }
    // `innermost` runs; `middle` waits for it in its `twait!{}`; `middle`'s `done` goes
    // through `add_timeout` (followed through, it is no call of its own) to `outer`'s place;
    // `root` waits in `twait!(r)` for `outer`.
    let file = file!();
    assert_eq!(
        got,
        [
            "`innermost` (running)".to_string(),
            format!("`middle` at {file}:21 waiting for innermost"),
            format!("`outer` at {file}:31"),
            format!("`root` at {file}:41"),
        ]
    );
}

#[test]
fn backtrace_outside_a_tamed_call_is_empty() {
    assert!(tame::backtrace().is_empty());
    tame::run(|| assert!(tame::backtrace().is_empty()));
}
