fn main() {
    let e: tame::Event = tame::mkevent!();
    drop(e);
}
