//! The tutorial's listings, in one program that runs them all in order.
//!
//! Run: `cargo run --example tutorial`. The book's tutorial includes the parts between the
//! ANCHOR lines, so every listing there compiles and runs.
use std::cell::Cell;
use std::rc::Rc;
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

// ANCHOR: call_tamed
/// Waits for `ticker` and reports what it saw: a tamed call waits for another one.
#[tamed]
fn tick_thrice(done: Event<u32>) {
    let mut n = 0;
    twait! { ticker(3, Duration::from_millis(5), mkevent!(n)); }
    println!("ticker saw {n} ticks");
    done.trigger(n);
}
// ANCHOR_END: call_tamed

// ANCHOR: slow_double
/// A stand-in for a slow operation: answers `x * 2` after `x` milliseconds.
fn slow_double(x: u64, done: Event<u64>) {
    tame::timer(
        Duration::from_millis(x),
        Event::from_fn(move |()| done.trigger(x * 2)),
    );
}
// ANCHOR_END: slow_double

// ANCHOR: lookup
/// A stand-in for a DNS lookup: answers `name=10.0.0.N` after `N` milliseconds, where `N` is
/// the length of the name, so answers come back out of order.
fn lookup(name: String, done: Event<String>) {
    let n = name.len() as u64;
    tame::timer(
        Duration::from_millis(n),
        Event::from_fn(move |()| done.trigger(format!("{name}=10.0.0.{n}"))),
    );
}
// ANCHOR_END: lookup

// ANCHOR: sequential
/// Version 1: one lookup at a time. Total time: the sum of the lookups.
#[tamed]
fn multidns_sequential(names: Vec<String>, done: Event<Vec<String>>) {
    let mut answers = Vec::new();
    for name in names {
        let mut addr = String::new();
        twait! { lookup(name, mkevent!(addr)); }
        answers.push(addr);
    }
    done.trigger(answers);
}
// ANCHOR_END: sequential

// ANCHOR: parallel
/// Version 2: every lookup at once, in one `twait!{}`. Total time: the slowest lookup.
#[tamed]
fn multidns_parallel(names: Vec<String>, done: Event<Vec<String>>) {
    let mut answers = vec![String::new(); names.len()];
    twait! {
        for (i, name) in names.into_iter().enumerate() {
            lookup(name, mkevent!(answers[i]));
        }
    }
    done.trigger(answers);
}
// ANCHOR_END: parallel

// ANCHOR: window
/// Version 3: at most `window` lookups in flight; each answer is handled as it arrives.
#[tamed]
fn multidns_windowed(names: Vec<String>, window: usize, done: Event<Vec<String>>) {
    let r: Rendezvous<usize, String> = Rendezvous::new();
    let mut answers = vec![String::new(); names.len()];
    let (mut sent, mut received) = (0, 0);
    while received < names.len() {
        if sent < names.len() && sent - received < window {
            lookup(names[sent].clone(), mkevent!(r, sent));
            sent += 1;
        } else if let Some((i, addr)) = twait!(r) {
            answers[i] = addr;
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

// ANCHOR: retries
/// A stand-in for an unreliable server: the first two tries answer too late (after 100 ms),
/// later ones after 5 ms.
fn flaky_double(x: u64, attempt: u32, done: Event<u64>) {
    let ms = if attempt <= 2 { 100 } else { 5 };
    tame::timer(
        Duration::from_millis(ms),
        Event::from_fn(move |()| done.trigger(x * 2)),
    );
}

/// Asks for `x * 2` up to `tries` times, giving each try `limit`. Reports how many tries it
/// took and the outcome.
#[tamed]
fn double_with_retries(
    x: u64,
    limit: Duration,
    tries: u32,
    done: Event<(u32, Result<u64, TimedOut>)>,
) {
    let mut outcome = Err(TimedOut);
    let mut attempt = 0;
    while outcome.is_err() && attempt < tries {
        attempt += 1;
        twait! { flaky_double(x, attempt, tame::add_timeout(limit, mkevent!(outcome))); }
        if outcome.is_err() {
            println!("try {attempt}: no answer within {limit:?}");
        }
    }
    done.trigger((attempt, outcome));
}
// ANCHOR_END: retries

// ANCHOR: deadline
/// Counts the ticks of an `every`-period timer until `total` has passed: one deadline for the
/// whole loop, and each wait gets what is left of it.
#[tamed]
fn ticks_within(every: Duration, total: Duration, done: Event<u32>) {
    let deadline = tame::now() + total;
    let mut ticks = 0;
    loop {
        let left = deadline.saturating_duration_since(tame::now());
        let mut tick = Err(TimedOut);
        twait! { tame::timer(every, tame::add_timeout(left, mkevent!(tick))); }
        if tick.is_err() {
            break; // the deadline came first; the pending tick timer was removed
        }
        ticks += 1;
    }
    done.trigger(ticks);
}
// ANCHOR_END: deadline

// ANCHOR: stopping
/// Counts ticks forever (until it is stopped), reporting each one on `ticks`.
#[tamed]
fn count_forever(every: Duration, ticks: Rc<Cell<u32>>, done: Event<()>) {
    let _guard = Noisy("count_forever's guard");
    loop {
        twait! {
            #![describe("between two ticks")]
            tame::timer(every, mkevent!());
        }
        ticks.set(ticks.get() + 1);
    }
    #[allow(unreachable_code)]
    done.trigger(());
}

/// A value that says when it is dropped.
struct Noisy(&'static str);

impl Drop for Noisy {
    fn drop(&mut self) {
        println!("dropped {}", self.0);
    }
}

/// Gives `count_forever` 35 ms: the timeout cancels its `done`, which ends it.
#[tamed]
fn count_for_a_while(done: Event<u32>) {
    let ticks = Rc::new(Cell::new(0));
    let mut outcome = Ok(());
    twait! {
        let d = tame::add_timeout(Duration::from_millis(35), mkevent!(outcome));
        count_forever(Duration::from_millis(10), ticks.clone(), d);
    }
    assert_eq!(outcome, Err(TimedOut));
    done.trigger(ticks.get());
}
// ANCHOR_END: stopping

pub fn main() {
    let ticks: Rendezvous<&str, u32> = Rendezvous::new();
    let lists: Rendezvous<&str, Vec<String>> = Rendezvous::new();
    let timed: Rendezvous<&str, Result<u64, TimedOut>> = Rendezvous::new();
    let firsts: Rendezvous<(), (usize, u64)> = Rendezvous::new();
    let retried: Rendezvous<(), (u32, Result<u64, TimedOut>)> = Rendezvous::new();
    let stopped: Rendezvous<(), u32> = Rendezvous::new();
    let names = || -> Vec<String> {
        ["bb.example", "a.io", "ccc.org", "d.net", "eeeeee.com"]
            .map(String::from)
            .to_vec()
    };
    let (t0, start) = (Instant::now(), tame::now());
    tame::run(|| {
        sleep_then_print(20);
        ticker(3, Duration::from_millis(5), ticks.event("ticker"));
        tick_thrice(ticks.event("tick_thrice"));
        multidns_sequential(names(), lists.event("sequential"));
        multidns_parallel(names(), lists.event("parallel"));
        multidns_windowed(names(), 2, lists.event("windowed"));
        double_within(5, Duration::from_millis(100), timed.event("fast enough"));
        double_within(200, Duration::from_millis(10), timed.event("too slow"));
        first_of_two(firsts.event(()));
        double_with_retries(21, Duration::from_millis(20), 5, retried.event(()));
        ticks_within(
            Duration::from_millis(10),
            Duration::from_millis(55),
            ticks.event("within 55 ms"),
        );
        count_for_a_while(stopped.event(()));
    });
    println!("everything ran in {:?}", t0.elapsed());
    let answers: Vec<String> = [
        "bb.example=10.0.0.10",
        "a.io=10.0.0.4",
        "ccc.org=10.0.0.7",
        "d.net=10.0.0.5",
        "eeeeee.com=10.0.0.10",
    ]
    .map(String::from)
    .to_vec();
    // Every version gives the answers in input order. They finish in order of speed
    // (parallel after about 10 ms, windowed 21, sequential 36), which is printed, and checked
    // only on the virtual clock: on the real one a loaded machine may delay any timer.
    let mut finished = Vec::new();
    while let Some((version, got)) = lists.try_join() {
        assert_eq!(got, answers, "{version}");
        finished.push(version);
    }
    println!("multidns versions, fastest first: {finished:?}");
    // On the virtual clock (tests/examples.rs runs it there), every timer fires exactly at
    // its deadline, so the orders and counts below are exact.
    let exact = tame::clock() == tame::Clock::Virtual;
    if exact {
        assert_eq!(finished, ["parallel", "windowed", "sequential"]);
        // The last timer: `slow_double(200, …)`, whose timeout fired long before.
        assert_eq!(tame::now() - start, Duration::from_millis(200));
    }
    finished.sort_unstable();
    assert_eq!(finished, ["parallel", "sequential", "windowed"]);
    assert_eq!(timed.try_join(), Some(("fast enough", Ok(10))));
    assert_eq!(timed.try_join(), Some(("too slow", Err(TimedOut))));
    assert_eq!(firsts.try_join(), Some(((), (1, 10))));
    assert_eq!(retried.try_join(), Some(((), (3, Ok(42)))));
    let mut tick_counts = std::collections::HashMap::new();
    while let Some((who, n)) = ticks.try_join() {
        tick_counts.insert(who, n);
    }
    assert_eq!(tick_counts["ticker"], 3);
    assert_eq!(tick_counts["tick_thrice"], 3);
    // A timer never fires early, so at most 5 ticks of 10 ms fit in 55 ms; a loaded machine
    // may see fewer.
    assert!(
        (1..=5).contains(&tick_counts["within 55 ms"]),
        "{tick_counts:?}"
    );
    // `count_forever` ticked every 10 ms for 35 ms, then ended; the loop did not wait for it.
    let (_, counted) = stopped.try_join().expect("count_for_a_while reported");
    assert!((1..=3).contains(&counted), "{counted} ticks");
    if exact {
        assert_eq!((tick_counts["within 55 ms"], counted), (5, 3));
    }
    println!("all tutorial listings ran as described");
}
