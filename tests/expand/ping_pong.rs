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
