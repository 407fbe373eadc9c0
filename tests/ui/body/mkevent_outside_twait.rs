use tame::tamed;

#[tamed]
fn f() {
    let mut x = 0;
    let e = mkevent!();
    let g = mkevent!(x);
    tame::asap(e);
    drop(g);
    x += 1;
}

fn main() {}
