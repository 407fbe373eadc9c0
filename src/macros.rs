//! `twait!`, `mkevent!`, `tvars!` and `exit_with!` outside a `#[tamed]` function.
//!
//! Inside a `#[tamed]` function these never expand: the attribute finds them (by their last
//! path segment, so `twait!` and `tame::twait!` both work) and rewrites them first. These
//! definitions exist so that a stray use is a clear error instead of "cannot find macro".

/// Waits inside a `#[tamed]` function: `twait! { … }` until every `mkevent!` made in the block
/// has triggered, or `twait!(r)` for the next event of a `Rendezvous` (`Option<(I, T)>`).
///
/// Outside a `#[tamed]` function it is a compile error:
/// ```compile_fail
/// let r: tame::Rendezvous = tame::Rendezvous::new();
/// let _ = tame::twait!(r);
/// ```
#[macro_export]
macro_rules! twait {
    ($($tokens:tt)*) => {
        ::core::compile_error!("`twait!` can only be used directly in the body of a `#[tamed]` function (not outside one, nor produced by another macro's expansion)")
    };
}

/// Makes an event inside `twait! { … }`: `mkevent!()` (an `Event<()>`), `mkevent!(place)` (its
/// value is assigned to `place` when the block completes), or `mkevent!(r, id)` (same as
/// `r.event(id)`, usable anywhere in a `#[tamed]` function).
///
/// Outside a `#[tamed]` function it is a compile error:
/// ```compile_fail
/// let e: tame::Event<()> = tame::mkevent!();
/// ```
#[macro_export]
macro_rules! mkevent {
    ($($tokens:tt)*) => {
        ::core::compile_error!("`mkevent!` can only be used directly in the body of a `#[tamed]` function (not outside one, nor produced by another macro's expansion)")
    };
}

/// Declares locals kept across waits (Tame compatibility; optional: every local live across a
/// `twait!` is kept automatically). `tvars! { let x: u32 = 0; }` is the same as `let x: u32 = 0;`.
///
/// Outside a `#[tamed]` function it is a compile error:
/// ```compile_fail
/// tame::tvars! { let x: u32 = 0; }
/// ```
#[macro_export]
macro_rules! tvars {
    ($($tokens:tt)*) => {
        ::core::compile_error!("`tvars!` can only be used directly in the body of a `#[tamed]` function (not outside one, nor produced by another macro's expansion)");
    };
}

/// Ties the running tamed call to a [`Tether`](crate::Tether) from here on: when its
/// [`Lifeline`](crate::Lifeline) is dropped, the call ends where it waits (its locals dropped,
/// the events it waits for cancelled). `exit_with!(t)` in a `#[tamed]` body is
/// `#[tether] t: Tether` for a tether the call gets later than its start.
///
/// Outside a `#[tamed]` function it is a compile error:
/// ```compile_fail
/// let life = tame::Lifeline::new();
/// tame::exit_with!(life.tether());
/// ```
#[macro_export]
macro_rules! exit_with {
    ($($tokens:tt)*) => {
        ::core::compile_error!("`exit_with!` can only be used directly in the body of a `#[tamed]` function (not outside one, nor produced by another macro's expansion)")
    };
}
