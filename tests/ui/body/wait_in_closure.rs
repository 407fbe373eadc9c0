use tame::tamed;

#[tamed]
fn f() {
    let r: tame::Rendezvous = tame::Rendezvous::new();
    let poll = || twait!(r);
    let _ = poll;
}

fn main() {}
