use tame::{Lifeline, tamed};

#[tamed]
fn f(life: std::rc::Rc<Lifeline>) {
    exit_with!(life.tether(), 1);
    twait! { tame::asap(mkevent!()); }
}

fn main() {}
