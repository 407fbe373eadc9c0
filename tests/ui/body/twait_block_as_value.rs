use tame::tamed;

#[tamed]
fn f() {
    let x = twait! { tame::asap(mkevent!()); };
    let _ = x;
}

fn main() {}
