use tame::tamed;

#[tamed]
fn f() {
    for i in 0..3 {
        twait! {
            if i == 1 {
                continue;
            }
            tame::asap(mkevent!());
        }
    }
}

fn main() {}
