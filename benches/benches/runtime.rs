//! Runtime micro benchmarks: the cost of the primitives every tamed call is made of.
//!
//! Run: `cargo bench -p tame-benches --bench runtime`. Each figure is per operation.
use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group, criterion_main};
use tame::Rendezvous;

/// Make an event on an existing rendezvous, trigger it, join it (no loop involved).
fn make_trigger_join(c: &mut Criterion) {
    let r: Rendezvous<u32, u64> = Rendezvous::new();
    c.bench_function("make_trigger_join", |b| {
        b.iter(|| {
            let e = r.event(black_box(1));
            e.trigger(black_box(2));
            black_box(r.try_join())
        })
    });
}

/// Two calls wake each other through the loop: one trigger -> run queue -> resume per step.
fn ping_pong(steps: u64) -> Duration {
    tame_benches::ping_pong(tame_benches::hand_player, steps)
}

fn trigger_resume(c: &mut Criterion) {
    c.bench_function("trigger_resume", |b| b.iter_custom(ping_pong));
}

/// Insert one timer while `pending` others are pending (inserted far in the future).
fn timer_insert(c: &mut Criterion) {
    for pending in [1_000usize, 1_000_000] {
        let base: Rendezvous<(), ()> = Rendezvous::new();
        let far = Duration::from_secs(3600);
        for i in 0..pending {
            tame::timer(
                far + Duration::from_micros(i as u64 * 7919 % 1_000_000),
                base.event(()),
            );
        }
        c.bench_function(&format!("timer_insert/{pending}_pending"), |b| {
            b.iter_custom(|iters| {
                let batch: Rendezvous<(), ()> = Rendezvous::new();
                let t0 = Instant::now();
                for i in 0..iters {
                    tame::timer(
                        far + Duration::from_micros(i * 104_729 % 1_000_000),
                        batch.event(()),
                    );
                }
                let t = t0.elapsed();
                batch.cancel(); // untimed: back to `pending` timers
                t
            })
        });
        c.bench_function(&format!("timer_insert_cancel/{pending}_pending"), |b| {
            let r: Rendezvous<(), ()> = Rendezvous::new();
            b.iter(|| {
                tame::timer(far, r.event(()));
                r.cancel();
            })
        });
        base.cancel();
    }
}

criterion_group!(benches, make_trigger_join, trigger_resume, timer_insert);
criterion_main!(benches);
