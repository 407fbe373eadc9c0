use tame::tamed;

#[tamed(cancel = "no")]
fn f() {}

fn main() {}
