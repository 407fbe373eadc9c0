//! Procedural macros of tame: `#[tamed]` and `#[tame::main]`. Use them through the `tame`
//! crate; the generated code names only `::tame::__private::…` (or the `crate = path` override).
//!
//! `#[tamed]` is five passes, one module each, joined in [`try_expand`] the way thiserror joins
//! its own:
//!
//! 1. [`parse`]: tokens → the function and its options (`tvars!` spliced, `self` renamed);
//! 2. [`validate`]: every misuse, reported at once;
//! 3. [`lower`]: the body → a [`graph::Machine`], only constructs that wait taken apart;
//! 4. [`analyse`]: which locals are live at each state's entry, which late locals are
//!    initialised there;
//! 5. [`emit`]: the state machine: one closure, a `loop` around a `match` on the state.
//!
//! Beside the passes, each a home of its own, imported one way (no module imports a pass that
//! imports it back): [`graph`], the state graph the passes share; [`syntax`], the syntax
//! queries (names read, bound, assigned; does it wait); [`moves`], which locals the body may
//! move out of; [`rewrite`], the visitors `lower` runs over the user's code; [`receiver`],
//! everything about `self`; [`diag`], how errors are combined and reported.
//!
//! (These links lead to private modules: `cargo doc -p tame-macros --document-private-items`.)
#![allow(rustdoc::private_intra_doc_links)]

use proc_macro::TokenStream;
use proc_macro2::TokenStream as TokenStream2;
use quote::quote;

mod analyse;
mod diag;
mod emit;
mod graph;
mod lower;
mod moves;
mod parse;
mod receiver;
mod rewrite;
mod syntax;
mod validate;

#[cfg(test)]
#[path = "../../tests/expand/_driver.rs"]
mod expand_tests;

/// Rewrites a sequential function that waits with `twait!` into an explicit state machine run
/// by the tame loop.
///
/// ```ignore
/// use std::time::Duration;
/// use tame::{Event, tamed};
///
/// #[tamed]
/// fn sum(n: u32, done: Event<u32>) {
///     let mut sum = 0;
///     for i in 0..n {
///         twait! { tame::timer(Duration::from_millis(1), mkevent!()); }
///         sum += i;
///     }
///     done.trigger(sum);
/// }
/// ```
///
/// Calling the function runs its body at once, up to the first `twait!` that cannot complete;
/// then it returns `()` and the loop resumes it later. Parameters must be `'static` (`self` by
/// value and `self: Rc<Self>` are fine); the return type is `()`.
///
/// Guaranteed: the function behaves as its body would if every `twait` blocked: the same
/// effects in the same order, the same values, the same drops (a local lives to the end of its
/// scope, and is dropped in reverse declaration order there, on `break`/`continue`/`return`
/// and while a panic unwinds; operands are evaluated left to right). Kept locals need no
/// annotation (their types are inferred) and keep their names; statements without a wait are
/// kept as written. The divergences are compile errors: a borrow held across a wait, `?`
/// (the function returns `()`). The book's macro reference lists them all.
///
/// The one option, `#[tamed(crate = path)]`, names the `tame` crate in generated code (used
/// inside tame's own runtime as `crate = crate`). The book's chapter "How `#[tamed]` works"
/// walks through an expansion.
#[proc_macro_attribute]
pub fn tamed(attr: TokenStream, item: TokenStream) -> TokenStream {
    expand_tamed(attr.into(), item.into()).into()
}

/// Runs `main`'s body in a fresh tame runtime, then runs the loop until no work is left:
/// `#[tame::main] fn main() { body }` is `fn main() { ::tame::run(move || { body }) }`.
///
/// ```ignore
/// #[tame::main]
/// fn main() {
///     tame::timer(std::time::Duration::from_millis(1), tame::Event::from_fn(|()| println!("tick")));
/// }
/// ```
#[proc_macro_attribute]
pub fn main(attr: TokenStream, item: TokenStream) -> TokenStream {
    expand_main(attr.into(), item.into())
        .unwrap_or_else(syn::Error::into_compile_error)
        .into()
}

fn expand_tamed(attr: TokenStream2, item: TokenStream2) -> TokenStream2 {
    match parse::Input::from_tokens(attr, item) {
        Err(e) => e.into_compile_error(),
        Ok((original, input)) => try_expand(input).unwrap_or_else(|e| diag::stub(&original, e)),
    }
}

fn try_expand(input: parse::Input) -> syn::Result<TokenStream2> {
    validate::check(&input)?;
    let machine = lower::lower(&input)?;
    let live = analyse::liveness(&machine);
    Ok(emit::emit(&input, &machine, &live))
}

/// The state graph `lower` builds for a `#[tamed]` function, dumped for a snapshot.
#[cfg(test)]
fn graph_of(attr: TokenStream2, item: TokenStream2) -> String {
    let (_, input) = parse::Input::from_tokens(attr, item).expect("a function");
    match validate::check(&input).and_then(|()| lower::lower(&input)) {
        Ok(machine) => format!("{machine:?}"),
        Err(e) => format!("error: {e}\n"),
    }
}

fn expand_main(attr: TokenStream2, item: TokenStream2) -> syn::Result<TokenStream2> {
    let opts = parse::Options::parse(attr)?;
    let func: syn::ItemFn = syn::parse2(item)?;
    let mut errors = Vec::new();
    validate::check_common(&func.sig, "`#[tame::main]`", &mut errors);
    if let Some(arg) = func.sig.inputs.first() {
        errors.push(syn::Error::new_spanned(
            arg,
            "`#[tame::main]` takes no parameters",
        ));
    }
    if let Some(e) = diag::combine(errors) {
        // Without what was reported, so rustc does not report it again about `main`.
        let mut clean = func.clone();
        clean.sig.asyncness = None;
        clean.sig.inputs.clear();
        return Ok(diag::stub(&clean, e));
    }
    let krate = &opts.krate;
    let attrs = &func.attrs;
    let vis = &func.vis;
    let sig = &func.sig;
    let block = &func.block;
    Ok(quote! {
        #(#attrs)*
        #vis #sig {
            #krate::run(move || #block)
        }
    })
}
