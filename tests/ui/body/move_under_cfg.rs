use tame::tamed;

#[tamed]
fn f() {
    let a = String::from("a");
    #[cfg(all())]
    drop(a);
    twait! { tame::asap(mkevent!()); }
}

fn main() {}
