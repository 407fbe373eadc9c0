use tame::tamed;

#[tamed]
fn f() {
    twait!();
}

fn main() {}
