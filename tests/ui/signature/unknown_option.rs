use tame::tamed;

#[tamed(name = "f")]
fn f() {}

fn main() {}
