use tame::tamed;

#[tamed]
fn f() {
    let mut x = 0;
    twait! {
        let make = || mkevent!();
        tame::asap(make());
        let place = |_: u32| tame::asap(mkevent!(x));
        place(1);
        let later = async { mkevent!() };
        drop(later);
    }
    x += 1;
    let _ = x;
}

fn main() {}
