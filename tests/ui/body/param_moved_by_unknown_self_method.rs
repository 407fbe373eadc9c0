use tame::tamed;

struct Ticket(String);

impl Ticket {
    fn redeem(self) -> usize {
        self.0.len()
    }
}

#[tamed]
fn f(t: Ticket) {
    twait! { tame::asap(mkevent!()); }
    let n = t.redeem();
    println!("{n}");
}

fn main() {}
