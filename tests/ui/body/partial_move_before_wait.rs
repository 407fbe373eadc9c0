use tame::tamed;

struct Msg {
    header: String,
    body: String,
}

#[tamed]
fn f(m: Msg) {
    let body = m.body;
    twait! { tame::asap(mkevent!()); }
    println!("{} {body}", m.header);
}

fn main() {}
