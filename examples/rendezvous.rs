//! The runtime without the macro: timers, a rendezvous, cancellation, a timeout and a signal.
//!
//! Run: `cargo run --example rendezvous`. The book's runtime reference includes listings from
//! this file (between the ANCHOR lines), so they always compile.
use std::time::Duration;

use tame::signal::{SIGUSR1, Signalled, add_signal, at_signal, raise};
use tame::{Event, Rendezvous, TimedOut};

pub fn main() {
    // ANCHOR: join_in_trigger_order
    let r: Rendezvous<&str, ()> = Rendezvous::new();
    tame::run(|| {
        tame::timer(Duration::from_millis(30), r.event("slow"));
        tame::timer(Duration::from_millis(10), r.event("fast"));
        tame::asap(r.event("next turn"));
    });
    // The loop returned: nothing else can happen. Values come out in trigger order.
    while let Some((id, ())) = r.try_join() {
        println!("fired: {id}");
    }
    // ANCHOR_END: join_in_trigger_order

    // ANCHOR: cancel
    let r: Rendezvous<u32, ()> = Rendezvous::new();
    let mut e = r.event(1);
    e.on_cancel(|| println!("event 1: receiver cancelled, giving up"));
    r.cancel(); // the hook runs here, before cancel returns
    assert!(!e.is_live());
    e.trigger(()); // allowed, and the value is dropped
    assert_eq!(r.try_join(), None);
    // ANCHOR_END: cancel

    // ANCHOR: timeout
    let r: Rendezvous<&str, Result<u32, TimedOut>> = Rendezvous::new();
    tame::run(|| {
        // An operation that answers after 5 ms, allowed 100 ms: Ok.
        let quick = tame::add_timeout(Duration::from_millis(100), r.event("quick"));
        tame::timer(
            Duration::from_millis(5),
            Event::from_fn(move |()| quick.trigger(7)),
        );
        // One that would answer after 200 ms, allowed 20 ms: TimedOut, and its event is cancelled.
        let mut slow = tame::add_timeout(Duration::from_millis(20), r.event("slow"));
        slow.on_cancel(|| println!("slow: cancelled by its timeout"));
        tame::timer(
            Duration::from_millis(200),
            Event::from_fn(move |()| slow.trigger(8)),
        );
    });
    assert_eq!(r.try_join(), Some(("quick", Ok(7))));
    assert_eq!(r.try_join(), Some(("slow", Err(TimedOut))));
    // ANCHOR_END: timeout

    // ANCHOR: signal
    let r: Rendezvous<&str, ()> = Rendezvous::new();
    let ops: Rendezvous<&str, Result<u32, Signalled>> = Rendezvous::new();
    let mut op = None;
    tame::run(|| {
        at_signal(SIGUSR1, r.event("first"));
        at_signal(SIGUSR1, r.event("second"));
        // An operation that the signal interrupts (it has not answered by then).
        op = Some(add_signal(SIGUSR1, ops.event("op")));
        raise(SIGUSR1).unwrap(); // as `kill -USR1 <pid>` would
    });
    // One delivery fired every event registered for it, and interrupted the operation, whose
    // event is cancelled. Nothing waits for SIGUSR1 now: it would end the process again.
    assert_eq!(r.try_join(), Some(("first", ())));
    assert_eq!(r.try_join(), Some(("second", ())));
    assert_eq!(ops.try_join(), Some(("op", Err(Signalled(SIGUSR1)))));
    assert!(!op.unwrap().is_live());
    // ANCHOR_END: signal
    println!("ok");
}
