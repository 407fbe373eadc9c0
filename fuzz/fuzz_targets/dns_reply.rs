//! multidns's reply handling on any bytes: `judge` (the reply checks, the CNAME walk, the
//! address picking) against a question picked by the first byte. The promises checked are in
//! `resolver::promises`, which the multidns unit tests run too.
#![no_main]
#![allow(dead_code)]

#[path = "../../examples/multidns/resolver.rs"]
mod resolver;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let Some((&selector, msg)) = data.split_first() else {
        return;
    };
    let asked = resolver::promises::asked(selector, msg);
    if let Err(e) = resolver::promises::check(msg, &asked) {
        panic!("{e}: asked {asked:?}");
    }
});
