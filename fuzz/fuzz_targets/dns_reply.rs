//! `tame::dns`'s reply handling on any bytes: `judge` (the reply checks, the CNAME walk, the
//! address picking) against a question picked by the first byte. The promises checked are in
//! `tame::dns::promises` (`tame-rt/src/dns/wire.rs`, built only for tests and fuzzing), which
//! tame-rt's unit tests run too.
#![no_main]

use tame::dns::promises;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let Some((&selector, msg)) = data.split_first() else {
        return;
    };
    let asked = promises::asked(selector, msg);
    if let Err(e) = promises::check(msg, &asked) {
        panic!("{e}: asked {asked:?}");
    }
});
