//! The tutorial's listings, in one program that runs them all in order.
//!
//! Run: `cargo run --example tutorial`. The book's tutorial includes the parts between the
//! ANCHOR lines, so every listing there compiles and runs.
use std::time::{Duration, Instant};

use tame::{Event, Rendezvous, TimedOut, tamed};

// ANCHOR: first
/// Waits `ms` milliseconds, then says so.
#[tamed]
fn sleep_then_print(ms: u64) {
    let start = Instant::now();
    twait! { tame::timer(Duration::from_millis(ms), mkevent!()); }
    println!("slept {ms} ms (measured {:?})", start.elapsed());
}
// ANCHOR_END: first

// ANCHOR: loop
/// Ticks `n` times, one tick every `every`, then reports how many ticks it saw.
#[tamed]
fn ticker(n: u32, every: Duration, done: Event<u32>) {
    let mut ticks = 0;
    while ticks < n {
        twait! { tame::timer(every, mkevent!()); }
        ticks += 1;
    }
    done.trigger(ticks);
}
// ANCHOR_END: loop

// ANCHOR: parallel
/// A stand-in for a slow operation: answers `x * 2` after `x` milliseconds.
fn slow_double(x: u64, done: Event<u64>) {
    tame::timer(
        Duration::from_millis(x),
        Event::from_fn(move |()| done.trigger(x * 2)),
    );
}

/// Runs three operations at once and waits for all of them.
#[tamed]
fn all_at_once(done: Event<[u64; 3]>) {
    let mut out = [0; 3];
    twait! {
        for (i, x) in [30, 10, 20].into_iter().enumerate() {
            slow_double(x, mkevent!(out[i]));
        }
    }
    done.trigger(out); // [60, 20, 40], after about 30 ms, not 60
}
// ANCHOR_END: parallel

// ANCHOR: window
/// Runs `inputs` through `slow_double` with at most `window` operations in flight, and
/// collects the answers in input order.
#[tamed]
fn windowed(inputs: Vec<u64>, window: usize, done: Event<Vec<u64>>) {
    let r: Rendezvous<usize, u64> = Rendezvous::new();
    let mut answers = vec![0; inputs.len()];
    let (mut sent, mut received) = (0, 0);
    while received < inputs.len() {
        if sent < inputs.len() && sent - received < window {
            slow_double(inputs[sent], mkevent!(r, sent));
            sent += 1;
        } else if let Some((i, v)) = twait!(r) {
            answers[i] = v;
            received += 1;
        }
    }
    done.trigger(answers);
}
// ANCHOR_END: window

// ANCHOR: timeout
/// Doubles `x` unless that takes longer than `limit`.
#[tamed]
fn double_within(x: u64, limit: Duration, done: Event<Result<u64, TimedOut>>) {
    let mut outcome = Err(TimedOut);
    twait! { slow_double(x, tame::add_timeout(limit, mkevent!(outcome))); }
    done.trigger(outcome);
}
// ANCHOR_END: timeout

// ANCHOR: cancel
/// An operation that gives up early when nobody wants its answer any more.
fn patient_double(x: u64, mut done: Event<u64>) {
    done.on_cancel(move || println!("patient_double({x}): cancelled, stopping"));
    tame::timer(
        Duration::from_millis(x),
        Event::from_fn(move |()| {
            if done.is_live() {
                done.trigger(x * 2);
            }
        }),
    );
}

/// Takes the first of two answers and cancels the other.
#[tamed]
fn first_of_two(done: Event<(usize, u64)>) {
    let r: Rendezvous<usize, u64> = Rendezvous::new();
    patient_double(50, mkevent!(r, 0));
    patient_double(5, mkevent!(r, 1));
    let first = twait!(r);
    r.cancel(); // the slower one hears about it through its on_cancel hook
    if let Some(first) = first {
        done.trigger(first);
    }
}
// ANCHOR_END: cancel

pub fn main() {
    let ticks: Rendezvous<&str, u32> = Rendezvous::new();
    let arrays: Rendezvous<(), [u64; 3]> = Rendezvous::new();
    let lists: Rendezvous<(), Vec<u64>> = Rendezvous::new();
    let timed: Rendezvous<&str, Result<u64, TimedOut>> = Rendezvous::new();
    let firsts: Rendezvous<(), (usize, u64)> = Rendezvous::new();
    tame::run(|| {
        sleep_then_print(20);
        ticker(3, Duration::from_millis(5), ticks.event("ticker"));
        all_at_once(arrays.event(()));
        windowed(vec![5, 1, 4, 2, 3], 2, lists.event(()));
        double_within(5, Duration::from_millis(100), timed.event("fast enough"));
        double_within(200, Duration::from_millis(10), timed.event("too slow"));
        first_of_two(firsts.event(()));
    });
    assert_eq!(ticks.try_join(), Some(("ticker", 3)));
    assert_eq!(arrays.try_join(), Some(((), [60, 20, 40])));
    assert_eq!(lists.try_join(), Some(((), vec![10, 2, 8, 4, 6])));
    assert_eq!(timed.try_join(), Some(("fast enough", Ok(10))));
    assert_eq!(timed.try_join(), Some(("too slow", Err(TimedOut))));
    assert_eq!(firsts.try_join(), Some(((), (1, 10))));
    println!("all tutorial listings ran as described");
}
