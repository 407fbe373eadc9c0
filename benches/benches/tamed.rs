//! `#[tamed]` against the same logic written by hand as a closure state machine, on the same
//! runtime: what the macro's lowering costs.
//!
//! Run: `cargo bench -p tame-benches --bench tamed`.
use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group, criterion_main};
use tame::__private::{Cx, Step, spawn};
use tame::{Event, Rendezvous, tamed};

type Slot = Rc<RefCell<Option<Event<()>>>>;

/// One side of a ping-pong through the loop, written with `#[tamed]`.
#[tamed]
fn tamed_player(mine: Rendezvous<(), ()>, to_peer: Slot, from_peer: Slot, left: Rc<Cell<u64>>) {
    while let Some(((), ())) = twait!(mine) {
        let n = left.get();
        if n == 0 {
            from_peer.borrow_mut().take();
            return;
        }
        left.set(n - 1);
        *to_peer.borrow_mut() = Some(mine.event(()));
        if let Some(e) = from_peer.borrow_mut().take() {
            e.trigger(());
        }
    }
}

/// The same, written by hand against the runtime's interface.
fn hand_player(mine: Rendezvous<(), ()>, to_peer: Slot, from_peer: Slot, left: Rc<Cell<u64>>) {
    spawn("hand_player", file!(), move |cx: &Cx| {
        loop {
            match cx.poll_rv(&mine, line!()) {
                None => return Step::Blocked,
                Some(None) => return Step::Done,
                Some(Some(((), ()))) => {
                    let n = left.get();
                    if n == 0 {
                        from_peer.borrow_mut().take();
                        return Step::Done;
                    }
                    left.set(n - 1);
                    *to_peer.borrow_mut() = Some(mine.event(()));
                    if let Some(e) = from_peer.borrow_mut().take() {
                        e.trigger(());
                    }
                }
            }
        }
    });
}

type Player = fn(Rendezvous<(), ()>, Slot, Slot, Rc<Cell<u64>>);

fn ping_pong(player: Player, steps: u64) -> Duration {
    let left = Rc::new(Cell::new(steps));
    let t0 = Instant::now();
    tame::run(|| {
        let (ra, rb): (Rendezvous<(), ()>, Rendezvous<(), ()>) =
            (Rendezvous::new(), Rendezvous::new());
        let (to_a, to_b): (Slot, Slot) = Default::default();
        *to_b.borrow_mut() = Some(ra.event(()));
        let kick = rb.event(());
        player(ra, to_b.clone(), to_a.clone(), left.clone());
        player(rb, to_a, to_b, left.clone());
        kick.trigger(());
    });
    t0.elapsed()
}

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
