use tame::tamed;

#[tamed]
fn f() {
    let _x = tvars! { let y: u32 = 1; };
    twait! { tame::asap(mkevent!()); }
}

fn main() {}
