use tame::{Tether, tamed};

#[tamed]
fn f(#[tether] (a, _b): (Tether, u32)) {
    twait! { tame::asap(mkevent!()); }
    drop(a);
}

fn main() {}
