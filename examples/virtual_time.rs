//! Timeout logic tested on the virtual clock: a watchdog that gives up after 30 s without a
//! heartbeat, checked to the nanosecond in far less than a millisecond of real time.
//!
//! Run: `cargo run --example virtual_time`. The book's time chapter includes listings from
//! this file (between the ANCHOR lines), so they always compile.
use std::cell::Cell;
use std::rc::Rc;
use std::time::{Duration, Instant};

use tame::sync::Channel;
use tame::{Event, TimedOut, tamed};

// ANCHOR: watchdog
/// Counts the heartbeats that arrive on `beats`, and reports the count once `patience` passes
/// without one.
#[tamed]
pub fn watchdog(beats: Channel<()>, patience: Duration, done: Event<u32>) {
    let mut n = 0;
    loop {
        let mut got: Result<(), TimedOut> = Err(TimedOut);
        twait! { beats.pop_front(tame::add_timeout(patience, mkevent!(got))); }
        if got.is_err() {
            break;
        }
        n += 1;
    }
    done.trigger(n);
}
// ANCHOR_END: watchdog

pub fn main() {
    // ANCHOR: test
    tame::set_clock(tame::Clock::Virtual);
    let (t0, real) = (tame::now(), Instant::now());
    let outcome = Rc::new(Cell::new(None));
    let beats = Channel::new();
    tame::run(|| {
        let o = outcome.clone();
        let done = Event::from_fn(move |n| o.set(Some((n, tame::now() - t0))));
        watchdog(beats.clone(), Duration::from_secs(30), done);
        // Three heartbeats, 20 s apart, then silence.
        for i in 1..=3 {
            let b = beats.clone();
            let beat = Event::from_fn(move |()| b.push_back(()));
            tame::timer(Duration::from_secs(20 * i), beat);
        }
    });
    // The last heartbeat came at 60 s: the watchdog gave up 30 s later, exactly.
    assert_eq!(outcome.get(), Some((3, Duration::from_secs(90))));
    assert!(real.elapsed() < Duration::from_secs(1));
    tame::set_clock(tame::Clock::Real);
    // ANCHOR_END: test
    println!(
        "the watchdog gave up at 90 s of virtual time, after {:?} of real time",
        real.elapsed()
    );
}
