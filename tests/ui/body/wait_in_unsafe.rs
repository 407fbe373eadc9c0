use tame::tamed;

#[tamed]
fn f() {
    let r: tame::Rendezvous = tame::Rendezvous::new();
    unsafe {
        let _ = twait!(r);
    }
}

fn main() {}
