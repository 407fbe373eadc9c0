//! Benchmarks of tame live in `benches/` (criterion); this library holds what several of them
//! run: a ping-pong through the loop, with the player written with `#[tamed]` or by hand.

use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::time::{Duration, Instant};

use tame::__private::{Cx, Step, spawn};
use tame::{Event, Rendezvous, tamed};

/// Where a player leaves the event its peer triggers to wake it.
pub type Slot = Rc<RefCell<Option<Event<()>>>>;

/// A ping-pong player: waits on `mine`, hands its peer a fresh event, triggers the peer's.
pub type Player = fn(Rendezvous<(), ()>, Slot, Slot, Rc<Cell<u64>>);

/// One side of a ping-pong through the loop, written with `#[tamed]`.
#[tamed]
pub fn tamed_player(mine: Rendezvous<(), ()>, to_peer: Slot, from_peer: Slot, left: Rc<Cell<u64>>) {
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
pub fn hand_player(mine: Rendezvous<(), ()>, to_peer: Slot, from_peer: Slot, left: Rc<Cell<u64>>) {
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

/// Two `player`s wake each other `steps` times through the loop (one trigger → run queue →
/// resume per step); the time it took.
pub fn ping_pong(player: Player, steps: u64) -> Duration {
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
