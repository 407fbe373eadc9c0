use tame::{Event, tamed};

#[tamed]
fn f(done: Event<()>) {
    twait! {
        #![volatile]
        tame::asap(mkevent!());
    }
    done.trigger(());
}

fn main() {}
