//! Generated code names only absolute paths and hygienic locals: a module without the prelude
//! that shadows `core`, `std` and `tame`, and a function whose own locals are named like the
//! machine's, still expand and run.

mod shadowed {
    #![no_implicit_prelude]
    #![allow(dead_code, clippy::all)]

    mod core {}
    mod std {}
    mod tame {}

    use ::tame::{Event, Rendezvous};

    #[::tame::tamed]
    pub fn sum(n: u32, done: Event<u32>) {
        // Same names as the machine's own: they must not clash.
        let __tame_state = 7u32;
        let __tame_cx = 1u32;
        let mut sum = 0;
        for i in 0..n {
            twait! { ::tame::asap(mkevent!()); }
            sum += i + __tame_state - 7 + __tame_cx - 1;
        }
        let mut slot = 0u32;
        let r: Rendezvous<u32, u32> = Rendezvous::new();
        let e = mkevent!(r, 5);
        e.trigger(10);
        while let ::std::option::Option::Some((id, v)) = twait!(r) {
            twait! { (mkevent!(slot)).trigger(id + v); }
        }
        done.trigger(sum + slot);
    }

    // ANCHOR: crate_path
    #[::tame::tamed(crate = ::tame)]
    pub fn with_crate_path(done: Event<&'static str>) {
        twait! { ::tame::asap(mkevent!()); }
        done.trigger("crate = path");
    }
    // ANCHOR_END: crate_path
}

#[test]
fn shadowing_core_std_and_tame_changes_nothing() {
    let got = std::rc::Rc::new(std::cell::Cell::new(0));
    let g = got.clone();
    tame::run(|| shadowed::sum(4, tame::Event::from_fn(move |v| g.set(v))));
    assert_eq!(got.get(), 6 + 15);
}

#[test]
fn the_crate_option_names_the_facade() {
    let got = std::rc::Rc::new(std::cell::Cell::new(""));
    let g = got.clone();
    tame::run(|| shadowed::with_crate_path(tame::Event::from_fn(move |v| g.set(v))));
    assert_eq!(got.get(), "crate = path");
}
