/// Inside tame-rt itself generated paths start at `crate`.
#[tamed(crate = crate)]
pub fn ping(e: Event<()>) {
    twait! { asap(mkevent!()); }
    e.trigger(());
}

#[tame::main]
fn main() {
    println!("hello from the loop");
}
