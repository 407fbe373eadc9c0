use tame::tamed;

#[tamed]
fn f() {
    let r: tame::Rendezvous<u32> = tame::Rendezvous::new();
    let e = mkevent!(r, 1, 2);
    e.trigger(());
    let _ = twait!(r);
}

fn main() {}
