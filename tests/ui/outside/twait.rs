fn main() {
    let r: tame::Rendezvous = tame::Rendezvous::new();
    let _ = tame::twait!(r);
}
