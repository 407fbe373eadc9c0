//! One loop with a wait in it, written twice: by hand in the event-driven style, where the
//! function is cut at its wait ("stack ripping"), and as a tamed function.
//!
//! Run: `cargo run --example stack_ripping`. The book's introduction includes both versions,
//! and `tests/examples.rs` runs them.
use std::time::Duration;

use tame::{Event, Rendezvous, tamed};

/// A stand-in for a slow fetch: answers with the length of `key`, a millisecond later.
fn fetch(key: &'static str, done: Event<u32>) {
    tame::timer(
        Duration::from_millis(1),
        Event::from_fn(move |()| done.trigger(key.len() as u32)),
    );
}

// ANCHOR: ripped
/// Sums the values of `keys`, fetched one at a time, the event-driven way. The loop is cut at
/// its wait: its locals move into a struct, and its body becomes a function that the
/// callback calls again with that struct.
struct SumState {
    keys: Vec<&'static str>,
    next: usize,
    total: u32,
    done: Event<u32>,
}

fn sum_ripped(keys: Vec<&'static str>, done: Event<u32>) {
    sum_step(SumState {
        keys,
        next: 0,
        total: 0,
        done,
    });
}

fn sum_step(mut st: SumState) {
    if st.next == st.keys.len() {
        return st.done.trigger(st.total);
    }
    let key = st.keys[st.next];
    fetch(
        key,
        Event::from_fn(move |v| {
            st.total += v;
            st.next += 1;
            sum_step(st); // the rest of the loop
        }),
    );
}
// ANCHOR_END: ripped

// ANCHOR: tamed
/// The same, tamed: the loop stays a loop, and the macro keeps `keys`' iterator and `total`
/// across the wait.
#[tamed]
fn sum_tamed(keys: Vec<&'static str>, done: Event<u32>) {
    let mut total = 0;
    for key in keys {
        let mut v = 0;
        twait! { fetch(key, mkevent!(v)); }
        total += v;
    }
    done.trigger(total);
}
// ANCHOR_END: tamed

pub fn main() {
    let r: Rendezvous<&str, u32> = Rendezvous::new();
    tame::run(|| {
        sum_ripped(vec!["a", "bb", "ccc"], r.event("ripped"));
        sum_tamed(vec!["a", "bb", "ccc"], r.event("tamed"));
    });
    let mut got: Vec<_> = std::iter::from_fn(|| r.try_join()).collect();
    got.sort_unstable();
    assert_eq!(got, [("ripped", 6), ("tamed", 6)]);
    println!("both versions sum to 6");
}
