//! `#[tamed]` against the same logic written by hand as a closure state machine, on the same
//! runtime: what the macro's lowering costs.
//!
//! Run: `cargo bench -p tame-benches --bench tamed`.
use std::cell::Cell;
use std::rc::Rc;
use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group};
use tame::__private::{Cx, Step, spawn};
use tame::tamed;
use tame_benches::{hand_player, ping_pong, tamed_player};

/// A loop whose every wait is already complete (the fast path), tamed.
#[tamed]
fn tamed_fast(n: u64, out: Rc<Cell<u64>>) {
    let mut sum = 0u64;
    for i in 0..n {
        twait! { mkevent!().trigger(()); }
        sum = sum.wrapping_add(i);
    }
    out.set(sum);
}

/// The same by hand: a state machine whose join is always ready.
fn hand_fast(n: u64, out: Rc<Cell<u64>>) {
    let (mut i, mut sum, mut state) = (0u64, 0u64, 0u8);
    spawn("hand_fast", file!(), move |cx: &Cx| {
        loop {
            match state {
                0 => {
                    if i == n {
                        out.set(sum);
                        return Step::Done;
                    }
                    cx.join_event().trigger(());
                    state = 1;
                    if !cx.join_ready(line!()) {
                        return Step::Blocked;
                    }
                }
                _ => {
                    sum = sum.wrapping_add(i);
                    i += 1;
                    state = 0;
                }
            }
        }
    });
}

/// A loop of `n` ready waits, run by `spawn_loop` (`tamed_fast` or `hand_fast`).
fn ready_wait(spawn_loop: fn(u64, Rc<Cell<u64>>), n: u64) -> Duration {
    let out = Rc::new(Cell::new(0));
    let t0 = Instant::now();
    tame::run(|| spawn_loop(n, out.clone()));
    t0.elapsed()
}

/// The routine named `group/name`, as a function of the number of iterations.
fn routine(id: &str) -> Option<fn(u64) -> Duration> {
    Some(match id {
        "ping_pong/tamed" => |n| ping_pong(tamed_player, n),
        "ping_pong/hand_written" => |n| ping_pong(hand_player, n),
        "ready_wait/tamed" => |n| ready_wait(tamed_fast, n),
        "ready_wait/hand_written" => |n| ready_wait(hand_fast, n),
        _ => return None,
    })
}

fn bench(c: &mut Criterion) {
    for group in ["ping_pong", "ready_wait"] {
        let mut g = c.benchmark_group(group);
        for name in ["tamed", "hand_written"] {
            let f = routine(&format!("{group}/{name}")).expect("a known routine");
            g.bench_function(name, |b| b.iter_custom(f));
        }
        g.finish();
    }
}

criterion_group!(benches, bench);

/// `TAMED_RUN=<group/name> TAMED_ITERS=<n>` runs one routine `n` times outside criterion, for
/// instruction counts under callgrind (run with two `n`s and subtract to cancel the set-up).
/// Otherwise: criterion, as `criterion_main!` would.
fn main() {
    if let Ok(id) = std::env::var("TAMED_RUN") {
        let iters = std::env::var("TAMED_ITERS")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(1_000_000);
        let Some(f) = routine(&id) else {
            eprintln!("tamed: unknown routine {id}");
            std::process::exit(2);
        };
        println!("{id}: {iters} iterations in {:?}", f(iters));
        return;
    }
    benches();
    Criterion::default().configure_from_args().final_summary();
}
