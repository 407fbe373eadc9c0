use tame::tamed;

struct Ticket(String);

impl Ticket {
    fn redeem(self) -> usize {
        self.0.len()
    }
}

#[tamed]
fn f() {
    let t = Ticket(String::from("a"));
    let n = t.redeem();
    twait! { tame::asap(mkevent!()); }
    println!("{n}");
}

fn main() {}
