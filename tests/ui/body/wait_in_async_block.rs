use tame::tamed;

#[tamed]
fn f() {
    let fut = async {
        twait! { tame::asap(mkevent!()); }
    };
    drop(fut);
}

fn main() {}
