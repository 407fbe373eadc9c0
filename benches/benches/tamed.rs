//! `#[tamed]` against the same logic written by hand as a closure state machine, on the same
//! runtime: what the macro's lowering costs.
//!
//! Run: `cargo bench -p tame-benches --bench tamed`.
use std::cell::Cell;
use std::rc::Rc;
use std::time::Instant;

use criterion::{Criterion, criterion_group, criterion_main};
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

fn bench(c: &mut Criterion) {
    let mut g = c.benchmark_group("ping_pong");
    g.bench_function("tamed", |b| b.iter_custom(|n| ping_pong(tamed_player, n)));
    g.bench_function("hand_written", |b| {
        b.iter_custom(|n| ping_pong(hand_player, n))
    });
    g.finish();
    let mut g = c.benchmark_group("ready_wait");
    g.bench_function("tamed", |b| {
        b.iter_custom(|n| {
            let out = Rc::new(Cell::new(0));
            let t0 = Instant::now();
            tame::run(|| tamed_fast(n, out.clone()));
            t0.elapsed()
        })
    });
    g.bench_function("hand_written", |b| {
        b.iter_custom(|n| {
            let out = Rc::new(Cell::new(0));
            let t0 = Instant::now();
            tame::run(|| hand_fast(n, out.clone()));
            t0.elapsed()
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
