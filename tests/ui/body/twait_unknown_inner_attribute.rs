use tame::{Event, tamed};

#[tamed]
fn f(done: Event<()>) {
    twait! {
        #![fast]
        tame::asap(mkevent!());
    }
    done.trigger(());
}

fn main() {}
