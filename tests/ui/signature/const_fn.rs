use tame::tamed;

#[tamed]
const fn f() {}

fn main() {}
