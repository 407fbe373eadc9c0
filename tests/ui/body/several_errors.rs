use tame::tamed;

#[tamed(krate = tame)]
fn f(x: &u32) -> bool {
    let c = || twait!(r);
    let e = mkevent!();
    match x {
        _ if twait!(r).is_some() => {}
        _ => {}
    }
}

fn main() {}
