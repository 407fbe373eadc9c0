use tame::tamed;

#[tamed]
fn f(v: Vec<u32>) {
    for x in &v {
        twait! { tame::asap(mkevent!()); }
        println!("{x}");
    }
}

fn main() {}
