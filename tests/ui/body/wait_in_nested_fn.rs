use tame::tamed;

#[tamed]
fn f() {
    fn helper() {
        twait! { tame::asap(mkevent!()); }
    }
    helper();
}

fn main() {}
