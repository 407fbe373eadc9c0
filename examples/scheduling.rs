//! The scheduling rules, observed: a call runs at once until its first wait, a trigger never
//! runs the waiter inline, values are joined in trigger order, and a wait that is already
//! complete goes on without returning to the loop.
//!
//! Run: `cargo run --example scheduling`. The book's scheduling reference includes its
//! listings, and `tests/examples.rs` runs it.
use std::cell::RefCell;
use std::rc::Rc;

use tame::{Rendezvous, tamed};

/// What happened, in order.
type Log = Rc<RefCell<Vec<String>>>;

fn note(log: &Log, what: impl Into<String>) {
    log.borrow_mut().push(what.into());
}

// ANCHOR: order
/// Logs every value of `r` as it is joined.
#[tamed]
fn drain(r: Rendezvous<&'static str, u32>, log: Log) {
    note(&log, "drain: started");
    while let Some((id, v)) = twait!(r) {
        note(&log, format!("drain: got {id}={v}"));
    }
    note(&log, "drain: nothing more can arrive");
}

fn order() -> Vec<String> {
    let log = Log::default();
    tame::run(|| {
        let r = Rendezvous::new();
        let (a, b) = (r.event("a"), r.event("b"));
        drain(r, log.clone()); // runs at once, up to its first wait, then returns
        note(&log, "caller: drain returned");
        b.trigger(2); // queues drain; does not run it
        a.trigger(1);
        note(&log, "caller: both triggers returned");
    }); // the loop resumes drain once, and it joins both values in trigger order
    log.take()
}
// ANCHOR_END: order

// ANCHOR: fast_path
/// Two waits that are complete when they are reached: neither returns to the loop.
#[tamed]
fn never_blocks(log: Log) {
    twait! {
        let e = mkevent!();
        e.trigger(()); // triggered before the block ends
    }
    twait! {
        let _unused = mkevent!(); // dropped untriggered: counts as done
    }
    note(&log, "never_blocks: past both waits");
}

fn fast_path() -> Vec<String> {
    let log = Log::default();
    tame::run(|| {
        never_blocks(log.clone());
        note(&log, "caller: never_blocks returned");
    });
    log.take()
}
// ANCHOR_END: fast_path

pub fn main() {
    // ANCHOR: order_checked
    assert_eq!(
        order(),
        [
            "drain: started",
            "caller: drain returned",
            "caller: both triggers returned",
            "drain: got b=2",
            "drain: got a=1",
            "drain: nothing more can arrive",
        ]
    );
    // ANCHOR_END: order_checked
    // ANCHOR: fast_path_checked
    assert_eq!(
        fast_path(),
        [
            "never_blocks: past both waits",
            "caller: never_blocks returned"
        ]
    );
    // ANCHOR_END: fast_path_checked
    println!("the scheduling rules hold");
}
