use tame::{Event, tamed};

fn count(e: Event<u32>) {
    e.trigger(1);
}

#[tamed]
fn f() {
    let mut s = String::new();
    twait! { count(mkevent!(s)); }
    println!("{s}");
}

fn main() {}
