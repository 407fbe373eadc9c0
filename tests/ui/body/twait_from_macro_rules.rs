use tame::tamed;

#[tamed]
fn f() {
    macro_rules! poll {
        ($r:expr) => {
            twait!($r)
        };
    }
    macro_rules! wait_asap {
        () => {
            tame::twait! { tame::asap(tame::mkevent!()); }
        };
    }
    // Rules that produce a whole `#[tamed]` function are fine: its attribute sees the wait.
    macro_rules! tamed_fn {
        ($name:ident) => {
            #[tamed]
            fn $name() {
                twait! { tame::asap(mkevent!()); }
            }
        };
    }
    tamed_fn!(g);
    g();
    let r: tame::Rendezvous = tame::Rendezvous::new();
    let _ = poll!(r);
    wait_asap!();
}

fn main() {}
