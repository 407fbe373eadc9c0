//! Every misuse of `#[tamed]`, `twait!`, `mkevent!` and `tvars!` is a compile error that says
//! what is wrong at the user's token: `tests/ui/<area>/<mistake>.rs` + `.stderr`.
//! Regenerate the snapshots with `TRYBUILD=overwrite cargo test --test ui`, then read them.

#[test]
fn ui() {
    let t = trybuild::TestCases::new();
    t.compile_fail("tests/ui/*/*.rs");
}
