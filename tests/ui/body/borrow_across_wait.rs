use tame::tamed;

#[tamed]
fn f() {
    let name = String::from("tame");
    let r = &name;
    twait! { tame::asap(mkevent!()); }
    println!("{r}");
}

fn main() {}
