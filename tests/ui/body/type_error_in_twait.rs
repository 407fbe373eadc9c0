use tame::tamed;

#[tamed]
fn f() {
    twait! {
        tame::timer(5, mkevent!());
    }
}

fn main() {}
