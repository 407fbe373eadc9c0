//! Pass 2, validate: the parsed [`Input`] → `Ok(())` or every misuse found, combined.
//!
//! Checks the signature (not `async`, returns `()`, no borrowed `self`, `'static` parameters)
//! and where our macros appear in the body: not inside closures or `async` blocks, `mkevent!()` /
//! `mkevent!(place)` only inside `twait! {}` (and not in a closure there), no `twait!` nested in
//! `twait! {}`, in a match guard, in the right operand of `&&` / `||`, or in a `let … else`
//! block, none of them in the rules of a `macro_rules!` (its expansion comes too late to be
//! rewritten), and no `?` (the body does not return `Result`). It keeps going after the first
//! error so the user sees them all at once.

use proc_macro2::{TokenStream, TokenTree};
use syn::visit::Visit;
use syn::{Expr, FnArg, Macro, ReturnType, Type};

use crate::diag::combine;
use crate::parse::{Input, TameMacro};
use crate::syntax::{contains_wait, contains_wait_expr};

pub fn check(input: &Input) -> syn::Result<()> {
    let mut errors = input.errors.clone();
    check_sig(&input.func.sig, &mut errors);
    let mut v = Check {
        scope: Scope::Body,
        in_twait: false,
        errors: Vec::new(),
        inner: Vec::new(),
        event_param: event_param(&input.func.sig),
    };
    v.visit_block(&input.func.block);
    errors.extend(v.errors);
    match combine(errors) {
        Some(e) => Err(e),
        None => Ok(()),
    }
}

/// Shared with `#[tame::main]`.
pub fn check_common(sig: &syn::Signature, what: &str, errors: &mut Vec<syn::Error>) {
    if let Some(a) = &sig.asyncness {
        errors.push(syn::Error::new_spanned(
            a,
            format!(
                "{what} cannot be `async`: `twait!` takes the place of `.await`; remove `async`"
            ),
        ));
    }
    if let Some(c) = &sig.constness {
        errors.push(syn::Error::new_spanned(
            c,
            format!("{what} cannot be `const`"),
        ));
    }
    if let ReturnType::Type(_, ty) = &sig.output {
        let unit = matches!(&**ty, Type::Tuple(t) if t.elems.is_empty());
        if !unit {
            errors.push(syn::Error::new_spanned(
                ty,
                format!(
                    "{what} must return `()`: it returns to its caller at its first blocking `twait!`; \
                     send results through an `Event` parameter (`done: Event<T>`) instead"
                ),
            ));
        }
    }
}

fn check_sig(sig: &syn::Signature, errors: &mut Vec<syn::Error>) {
    check_common(sig, "a `#[tamed]` function", errors);
    for arg in &sig.inputs {
        match arg {
            FnArg::Receiver(r) => {
                if r.reference.is_some()
                    || matches!(&*r.ty, Type::Reference(_)) && r.colon_token.is_some()
                {
                    errors.push(syn::Error::new_spanned(
                        r,
                        "a `#[tamed]` method cannot borrow `self`: its body runs after the call returns; \
                         take `self: Rc<Self>` or `self` by value",
                    ));
                } else if r.colon_token.is_some() {
                    check_static(&r.ty, errors);
                }
            }
            FnArg::Typed(pt) => check_static(&pt.ty, errors),
        }
    }
}

/// Every reference in a parameter's type must be `&'static`.
fn check_static(ty: &Type, errors: &mut Vec<syn::Error>) {
    struct Refs<'e>(&'e mut Vec<syn::Error>);
    impl<'a> Visit<'a> for Refs<'_> {
        fn visit_type_reference(&mut self, r: &'a syn::TypeReference) {
            if r.lifetime.as_ref().is_none_or(|l| l.ident != "static") {
                self.0.push(syn::Error::new_spanned(
                    r,
                    "parameters of a `#[tamed]` function must be `'static`: its body runs after the call \
                     returns; use an owned type, `Rc<…>`, or a `&'static` reference",
                ));
            }
            self.visit_type(&r.elem);
        }
    }
    Refs(errors).visit_type(ty);
}

/// Where the visitor is. Saved and restored around closures, `async` blocks and `twait! {}`.
#[derive(Clone, Copy, PartialEq)]
enum Scope {
    /// The function body, where waits are allowed.
    Body,
    /// Inside `twait! { … }`: `mkevent!` allowed, waits not.
    TwaitBlock,
    /// Inside a closure: no waits, no `mkevent!()` (the closure may run at any time).
    Closure,
    /// Inside an `async` block.
    Async,
    /// Inside a nested `fn` that is not itself `#[tamed]`.
    NestedFn,
}

struct Check {
    scope: Scope,
    /// Inside a `twait! { … }` block, however deep (also inside a closure there).
    in_twait: bool,
    errors: Vec<syn::Error>,
    /// Loops and labeled blocks entered inside the current `twait! {}` block: (label, is_loop).
    /// A `break`/`continue` that targets none of them would leave the block and skip its join.
    inner: Vec<(Option<String>, bool)>,
    /// The name of the function's first `Event` parameter (`done` if it has none), for the
    /// advice about `?`.
    event_param: String,
}

/// `done` in `fn f(…, done: Event<T>)`: the first parameter whose type is `Event<…>`.
fn event_param(sig: &syn::Signature) -> String {
    sig.inputs
        .iter()
        .find_map(|arg| match arg {
            FnArg::Typed(pt) => match (&*pt.pat, &*pt.ty) {
                (syn::Pat::Ident(i), Type::Path(tp))
                    if tp.path.segments.last().is_some_and(|s| s.ident == "Event") =>
                {
                    Some(i.ident.to_string())
                }
                _ => None,
            },
            FnArg::Receiver(_) => None,
        })
        .unwrap_or_else(|| "done".to_string())
}

/// Our macros named in the rules of a `macro_rules!`: each one's name, with the tokens of its
/// invocation (`twait`, `!` and the group that follows, if any) to place the error on.
fn tame_macros_in(ts: TokenStream, out: &mut Vec<(String, TokenStream)>) {
    let tts: Vec<TokenTree> = ts.into_iter().collect();
    for (i, tt) in tts.iter().enumerate() {
        match tt {
            TokenTree::Ident(id) => {
                let name = id.to_string();
                if matches!(name.as_str(), "twait" | "mkevent" | "tvars")
                    && let Some(TokenTree::Punct(bang)) = tts.get(i + 1)
                    && bang.as_char() == '!'
                {
                    let args = match tts.get(i + 2) {
                        Some(g @ TokenTree::Group(_)) => Some(g.clone()),
                        _ => None,
                    };
                    let call = [tt.clone(), tts[i + 1].clone()].into_iter().chain(args);
                    out.push((name, call.collect()));
                }
            }
            TokenTree::Group(g) => tame_macros_in(g.stream(), out),
            _ => {}
        }
    }
}

/// Whether `ts` names `tamed` anywhere (a `#[tamed]` function the rules produce).
fn mentions_tamed(ts: &TokenStream) -> bool {
    ts.clone().into_iter().any(|tt| match tt {
        TokenTree::Ident(id) => id == "tamed",
        TokenTree::Group(g) => mentions_tamed(&g.stream()),
        _ => false,
    })
}

impl Check {
    fn err(&mut self, t: impl quote::ToTokens, msg: &str) {
        self.errors.push(syn::Error::new_spanned(t, msg));
    }

    fn wait_here(&mut self, m: &Macro) -> bool {
        match self.scope {
            Scope::Body => return true,
            Scope::TwaitBlock => self.err(m, "`twait!` cannot be nested inside `twait! { … }`"),
            Scope::Closure => self.err(
                m,
                "`twait!` cannot be used inside a closure: only the `#[tamed]` function's own body can wait",
            ),
            Scope::Async => self.err(m, "`twait!` cannot be used inside an `async` block"),
            Scope::NestedFn => self.err(
                m,
                "`twait!` cannot be used inside a nested function that is not `#[tamed]`; mark it `#[tamed]`",
            ),
        }
        false
    }
}

impl<'a> Visit<'a> for Check {
    fn visit_macro(&mut self, m: &'a Macro) {
        let Some(parsed) = TameMacro::classify(m) else {
            return;
        };
        match parsed {
            Err(e) => self.errors.push(e),
            Ok(TameMacro::Block(b)) => {
                if self.wait_here(m) {
                    let saved = std::mem::replace(&mut self.scope, Scope::TwaitBlock);
                    let in_twait = std::mem::replace(&mut self.in_twait, true);
                    let inner = std::mem::take(&mut self.inner);
                    self.visit_block(&b);
                    self.inner = inner;
                    self.in_twait = in_twait;
                    self.scope = saved;
                }
            }
            Ok(TameMacro::Poll(r)) => {
                if self.wait_here(m) {
                    self.visit_expr(&r);
                }
            }
            Ok(mk @ (TameMacro::JoinEvent | TameMacro::PlaceEvent(_))) => {
                // Inside `twait! { … }` but in code that runs some other time: the event would
                // not be made while the block runs, so the block could not count it.
                let inside = match self.scope {
                    Scope::TwaitBlock => None,
                    Scope::Closure if self.in_twait => Some(
                        "`mkevent!` cannot be used inside a closure: the event must be made where \
                         the `twait! { … }` block runs, not when the closure is called; make it in \
                         the block (`let e = mkevent!(…);`) and move `e` into the closure",
                    ),
                    Scope::Async if self.in_twait => Some(
                        "`mkevent!` cannot be used inside an `async` block: the event must be made \
                         where the `twait! { … }` block runs; make it in the block \
                         (`let e = mkevent!(…);`) and move `e` into the `async` block",
                    ),
                    Scope::NestedFn if self.in_twait => Some(
                        "`mkevent!` cannot be used inside a nested function: the event must be made \
                         where the `twait! { … }` block runs; make it in the block \
                         (`let e = mkevent!(…);`) and pass `e` to the function",
                    ),
                    _ => Some(
                        "`mkevent!()` and `mkevent!(place)` can only be used inside `twait! { … }` \
                         (use `mkevent!(rendezvous, id)` elsewhere)",
                    ),
                };
                if let Some(msg) = inside {
                    self.err(m, msg);
                }
                if let TameMacro::PlaceEvent(p) = mk {
                    self.visit_expr(&p);
                }
            }
            Ok(TameMacro::RvEvent(r, id)) => {
                self.visit_expr(&r);
                self.visit_expr(&id);
            }
            Ok(TameMacro::Tvars(_)) => {
                self.err(m, "`tvars! { … }` must be a statement of the function body")
            }
        }
    }
    fn visit_item(&mut self, item: &'a syn::Item) {
        // `#[tamed]` reads its body before any other macro expands: our macros that come out of
        // a `macro_rules!` expansion are never rewritten. (Rules that produce a whole
        // `#[tamed]` function are fine: that attribute sees them; they are let through.)
        if let syn::Item::Macro(im) = item
            && im.mac.path.is_ident("macro_rules")
            && !mentions_tamed(&im.mac.tokens)
        {
            let by = im
                .ident
                .as_ref()
                .map_or("that macro".to_string(), |i| format!("`{i}!`"));
            let mut found = Vec::new();
            tame_macros_in(im.mac.tokens.clone(), &mut found);
            for (name, call) in found {
                self.errors.push(syn::Error::new_spanned(
                    call,
                    format!(
                        "`{name}!` cannot be produced by another macro's expansion: `#[tamed]` \
                         rewrites the `{name}!` written in its body before other macros expand, \
                         so one that comes out of {by} is never seen; write `{name}!` directly \
                         in the `#[tamed]` function's body"
                    ),
                ));
            }
        }
        // A nested `#[tamed]` fn is expanded by its own attribute; any other nested fn cannot wait.
        if let syn::Item::Fn(f) = item {
            let tamed = f
                .attrs
                .iter()
                .any(|a| a.path().segments.last().is_some_and(|s| s.ident == "tamed"));
            if !tamed {
                let saved = std::mem::replace(&mut self.scope, Scope::NestedFn);
                self.visit_block(&f.block);
                self.scope = saved;
            }
        }
    }
    fn visit_expr_try(&mut self, t: &'a syn::ExprTry) {
        // The body runs inside the state machine's closure, which returns to the loop, not to
        // the caller: there is no `Result` for `?` to return into.
        if matches!(self.scope, Scope::Body | Scope::TwaitBlock) {
            let done = &self.event_param;
            self.errors.push(syn::Error::new(
                t.question_token.span,
                format!(
                    "the `?` operator cannot be used in a `#[tamed]` function, which returns `()`\n\
                     help: handle the error where it happens and send it through an event: \
                     `let v = match expr {{ Ok(v) => v, Err(e) => return {done}.trigger(Err(e)) }};`\n\
                     help: for an `Option`: `let Some(v) = expr else {{ return {done}.trigger(None) }};`"
                ),
            ));
        }
        syn::visit::visit_expr_try(self, t);
    }
    fn visit_expr_closure(&mut self, c: &'a syn::ExprClosure) {
        let saved = std::mem::replace(&mut self.scope, Scope::Closure);
        syn::visit::visit_expr_closure(self, c);
        self.scope = saved;
    }
    fn visit_expr_async(&mut self, a: &'a syn::ExprAsync) {
        let saved = std::mem::replace(&mut self.scope, Scope::Async);
        syn::visit::visit_expr_async(self, a);
        self.scope = saved;
    }
    fn visit_arm(&mut self, a: &'a syn::Arm) {
        if let Some((_, g)) = &a.guard
            && self.scope == Scope::Body
            && contains_wait_expr(g)
        {
            self.err(
                g,
                "`twait!` cannot be used in a match guard; wait before the `match`",
            );
        }
        // `0 => twait! { … },`: a unit-valued arm, as a statement would be.
        if let Expr::Macro(m) = &*a.body
            && let Some(Ok(TameMacro::Block(_))) = TameMacro::classify(&m.mac)
        {
            for attr in &a.attrs {
                self.visit_attribute(attr);
            }
            self.visit_pat(&a.pat);
            return self.visit_macro(&m.mac);
        }
        syn::visit::visit_arm(self, a);
    }
    fn visit_expr_binary(&mut self, b: &'a syn::ExprBinary) {
        if matches!(b.op, syn::BinOp::And(_) | syn::BinOp::Or(_))
            && self.scope == Scope::Body
            && contains_wait_expr(&b.right)
        {
            self.err(
                &b.right,
                "`twait!` cannot be used in the right operand of `&&` or `||` (it may not run); use an `if`",
            );
        }
        syn::visit::visit_expr_binary(self, b);
    }
    fn visit_local(&mut self, l: &'a syn::Local) {
        if let Some(init) = &l.init
            && let Some((_, e)) = &init.diverge
            && self.scope == Scope::Body
            && contains_wait_expr(e)
        {
            self.err(
                e,
                "`twait!` cannot be used in the `else` block of `let … else`; use a `match`",
            );
        }
        syn::visit::visit_local(self, l);
    }
    fn visit_stmt(&mut self, s: &'a syn::Stmt) {
        match s {
            // `twait! { … }` as a statement, its one right place.
            syn::Stmt::Expr(Expr::Macro(m), _) if crate::parse::as_twait_block(s).is_some() => {
                self.visit_macro(&m.mac)
            }
            _ => syn::visit::visit_stmt(self, s),
        }
    }
    fn visit_expr(&mut self, e: &'a Expr) {
        if self.scope == Scope::TwaitBlock {
            if let Some(entry) = crate::syntax::jump_target(e) {
                self.inner.push(entry);
                syn::visit::visit_expr(self, e);
                self.inner.pop();
                return;
            }
            let leaves = crate::syntax::leaves;
            match e {
                Expr::Break(b) if leaves(&b.label, &self.inner) => self.err(
                    b,
                    "`break` cannot leave a `twait! { … }` block (it would skip the wait); \
                     set a flag and break after the block",
                ),
                Expr::Continue(c) if leaves(&c.label, &self.inner) => self.err(
                    c,
                    "`continue` cannot leave a `twait! { … }` block (it would skip the wait); \
                     set a flag and continue after the block",
                ),
                _ => {}
            }
        }
        if let Expr::Macro(m) = e
            && let Some(Ok(TameMacro::Block(_))) = TameMacro::classify(&m.mac)
            && self.scope == Scope::Body
        {
            self.err(
                m,
                "`twait! { … }` is a statement and has no value; to wait for a value, use \
                 `mkevent!(place)` inside it, or `twait!(rendezvous)`",
            );
            return;
        }
        if let Expr::Unsafe(u) = e
            && self.scope == Scope::Body
            && u.block.stmts.iter().any(contains_wait)
        {
            self.err(
                u.unsafe_token,
                "`twait!` cannot be used inside an `unsafe` block; narrow the block",
            );
        }
        syn::visit::visit_expr(self, e);
    }
}
