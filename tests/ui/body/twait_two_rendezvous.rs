use tame::tamed;

#[tamed]
fn f() {
    let r: tame::Rendezvous = tame::Rendezvous::new();
    let s: tame::Rendezvous = tame::Rendezvous::new();
    let _ = twait!(r, s);
}

fn main() {}
