use tame::tamed;

#[tamed]
fn f(ready: bool) {
    let r: tame::Rendezvous = tame::Rendezvous::new();
    if ready && twait!(r).is_some() {}
    let Some(_) = twait!(r) else {
        twait! { tame::asap(mkevent!()); }
        return;
    };
}

fn main() {}
