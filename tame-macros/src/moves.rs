//! Which locals the body may move out of: the names the macro must not keep "to the end of
//! their scope" by itself, because naming a moved local again is a compile error (E0382).
//!
//! Takes the function body, gives the set of names that appear, somewhere, in a position that
//! can move the value (a function argument, a `let` initialiser, a struct field, a `move`
//! closure, the receiver of a method known to take `self`, …). The analysis is syntactic and
//! flow-insensitive, so it errs towards "may move":
//!
//! - a name never in such a position is kept, while in scope, across every wait, and dropped at
//!   the end of its scope as Rust drops it (a `_guard`, a socket only lent to an operation);
//! - a name in such a position somewhere is kept across a wait only while it is live (read
//!   later); it is dropped at a wait after its last use. For a `Copy` value that is
//!   unobservable; for a value with a destructor that is moved on one path only, the book
//!   documents the difference.
//!
//! Input: `let g = lock(); let s = sock(); f(&s); g2 = s.len(); done.trigger(s.len())`
//! Output: `{ done? no: `done.trigger(…)` takes `self` → "done" }`; `g` and `s` are not moved.
//!
//! A method receiver is taken to be borrowed unless the method's name is one Rust's standard
//! library gives a `self` receiver (`into_*`, `unwrap*`, `trigger`, …). When the guess is
//! wrong, rustc reports E0382 at the `twait!` ("value used here after move"), or, for a
//! parameter the emitter uses in place, E0507 at the move ("a captured variable in an `FnMut`
//! closure"): never a silent early drop.

use std::collections::BTreeSet;

use syn::{Expr, Stmt};

use crate::syntax::{idents, path_name};

/// Names a body may move out of (see the module doc).
pub fn moved_names(stmts: &[Stmt]) -> BTreeSet<String> {
    let mut m = Moves::default();
    for s in stmts {
        m.stmt(s);
    }
    m.out
}

/// Names an expression may move out of; `moving`: whether its own value is used by value.
pub fn moved_in(e: &Expr, moving: bool) -> BTreeSet<String> {
    let mut m = Moves::default();
    m.expr(e, moving);
    m.out
}

/// Methods with a `self` receiver in the standard library and in tame, by name or prefix.
fn consumes(method: &str) -> bool {
    const EXACT: &[&str] = &[
        "trigger",
        "bind",
        "map",
        "map_err",
        "map_or",
        "map_or_else",
        "and_then",
        "or_else",
        "ok",
        "err",
        "ok_or",
        "ok_or_else",
        "expect",
        "expect_err",
        "collect",
        "join",
        "abandon",
        "rebind",
        "zip",
        "chain",
        "rev",
        "enumerate",
        "filter",
        "filter_map",
        "flatten",
        "flat_map",
        "fold",
        "sum",
        "product",
        "count",
        "last",
        "skip",
        "step_by",
        "peekable",
        "cloned",
        "copied",
        "unzip",
        "partition",
        "for_each",
        "then",
        "then_some",
        "leak",
        // `Option` and `Result` by value: `a.and(b)`, `a.or(b)`, `o.is_some_and(f)`, …
        "and",
        "or",
        "xor",
        "is_some_and",
        "is_none_or",
        "is_ok_and",
        "is_err_and",
        "inspect",
        "inspect_err",
        "transpose",
    ];
    EXACT.contains(&method)
        || method.starts_with("into_")
        || method.starts_with("unwrap")
        || method == "into"
}

/// Macros whose arguments are only borrowed (they expand to `format_args!` or comparisons).
fn borrows_args(mac: &syn::Path) -> bool {
    const NAMES: &[&str] = &[
        "format",
        "print",
        "println",
        "eprint",
        "eprintln",
        "write",
        "writeln",
        "panic",
        "assert",
        "assert_eq",
        "assert_ne",
        "debug_assert",
        "debug_assert_eq",
        "debug_assert_ne",
        "format_args",
        "unreachable",
        "todo",
        "unimplemented",
        "dbg",
        "matches",
    ];
    mac.segments
        .last()
        .is_some_and(|s| NAMES.iter().any(|n| s.ident == n))
}

#[derive(Default)]
struct Moves {
    out: BTreeSet<String>,
    /// Names bound inside the code walked, where the walk is (innermost last): a move of one
    /// of those is not a move of the local of that name outside.
    bound: Vec<String>,
}

impl Moves {
    fn moved(&mut self, name: String) {
        if !self.bound.contains(&name) {
            self.out.insert(name);
        }
    }

    fn moved_all(&mut self, names: Vec<String>) {
        for n in names {
            self.moved(n);
        }
    }

    fn bind(&mut self, p: &syn::Pat) {
        self.bound.extend(
            crate::syntax::pat_bindings(p)
                .into_iter()
                .map(|b| b.ident.to_string()),
        );
    }

    fn stmt(&mut self, s: &Stmt) {
        match s {
            Stmt::Local(l) => {
                if let Some(init) = &l.init {
                    self.expr(&init.expr, true);
                    if let Some((_, e)) = &init.diverge {
                        self.expr(e, true);
                    }
                }
                self.bound.extend(
                    crate::syntax::let_bindings(l)
                        .into_iter()
                        .map(|b| b.ident.to_string()),
                );
            }
            // `x;` moves `x` into a temporary and drops it.
            Stmt::Expr(e, _) => self.expr(e, true),
            Stmt::Macro(m) => self.mac(&m.mac),
            Stmt::Item(_) => {}
        }
    }

    fn block(&mut self, b: &syn::Block, moving: bool) {
        let depth = self.bound.len();
        let n = b.stmts.len();
        for (i, s) in b.stmts.iter().enumerate() {
            match s {
                Stmt::Expr(e, None) if i + 1 == n => self.expr(e, moving),
                _ => self.stmt(s),
            }
        }
        self.bound.truncate(depth);
    }

    fn mac(&mut self, m: &syn::Macro) {
        use crate::parse::TameMacro;
        match TameMacro::classify(m) {
            Some(Ok(TameMacro::Block(b))) => return self.block(&b, false),
            Some(Ok(TameMacro::Poll(r))) => return self.expr(&r, false),
            // A place is assigned when the event completes, not moved from.
            Some(Ok(TameMacro::PlaceEvent(place))) => return self.expr(&place, false),
            Some(Ok(TameMacro::RvEvent(r, id))) => {
                self.expr(&r, false);
                return self.expr(&id, true);
            }
            Some(Ok(TameMacro::JoinEvent)) => return,
            Some(Ok(TameMacro::Tvars(stmts))) => return stmts.iter().for_each(|s| self.stmt(s)),
            Some(Err(_)) | None => {}
        }
        // Arguments that parse as expressions are walked as such: by reference for the
        // formatting and assertion macros (`println!("{}", f(x))` still moves `x` into `f`),
        // by value for any other (`vec![a, b]`, `vec![x; n]`). Other tokens: every name in
        // them may move.
        let by_ref = borrows_args(&m.path);
        let exprs = crate::parse::macro_args(m)
            .map(|args| args.into_iter().collect::<Vec<_>>())
            .or_else(|| {
                m.parse_body_with(|input: syn::parse::ParseStream| {
                    let a: Expr = input.parse()?;
                    input.parse::<syn::Token![;]>()?;
                    let b: Expr = input.parse()?;
                    Ok(vec![a, b])
                })
                .ok()
            });
        match exprs {
            Some(exprs) => exprs.iter().for_each(|e| self.expr(e, !by_ref)),
            None if by_ref => {}
            None => {
                let mut names = Vec::new();
                idents(m.tokens.clone(), &mut names);
                self.moved_all(names);
            }
        }
    }

    /// `moving`: whether the value of `e` is used by value here (a place there is moved).
    fn expr(&mut self, e: &Expr, moving: bool) {
        if let Some(name) = path_name(e) {
            if moving {
                self.moved(name);
            }
            return;
        }
        match e {
            Expr::Paren(p) => self.expr(&p.expr, moving),
            Expr::Group(g) => self.expr(&g.expr, moving),
            // `x.f` by value copies a `Copy` field or moves part of `x`; the macro cannot tell
            // which, so it takes the loud guess: `x` is kept, and a real partial move is
            // reported by rustc at the wait (E0382, "value partially moved") instead of `x`
            // being dropped early in silence.
            Expr::Field(f) => self.expr(&f.base, false),
            Expr::Index(i) => {
                self.expr(&i.expr, false);
                self.expr(&i.index, true);
            }
            Expr::Reference(r) => self.expr(&r.expr, false),
            Expr::RawAddr(r) => self.expr(&r.expr, false),
            Expr::MethodCall(m) => {
                self.expr(&m.receiver, consumes(&m.method.to_string()));
                for a in &m.args {
                    self.expr(a, true);
                }
            }
            Expr::Call(c) => {
                self.expr(&c.func, false);
                for a in &c.args {
                    self.expr(a, true);
                }
            }
            Expr::Binary(b) => {
                use syn::BinOp::*;
                let (l, r) = match b.op {
                    // `PartialEq`/`PartialOrd` take both sides by reference.
                    Eq(_) | Ne(_) | Lt(_) | Le(_) | Gt(_) | Ge(_) => (false, false),
                    AddAssign(_) | SubAssign(_) | MulAssign(_) | DivAssign(_) | RemAssign(_)
                    | BitXorAssign(_) | BitAndAssign(_) | BitOrAssign(_) | ShlAssign(_)
                    | ShrAssign(_) => (false, true),
                    _ => (true, true),
                };
                self.expr(&b.left, l);
                self.expr(&b.right, r);
            }
            // Assigning re-initialises the place; it does not move out of it.
            Expr::Assign(a) => {
                if crate::syntax::assign_targets(&a.left).is_none() {
                    self.expr(&a.left, false);
                }
                self.expr(&a.right, true);
            }
            // `*x = …` or `&*x` use the place behind `x`; `*x` by value moves out of a `Box`.
            Expr::Unary(u) if matches!(u.op, syn::UnOp::Deref(_)) => self.expr(&u.expr, moving),
            Expr::Unary(u) => self.expr(&u.expr, true),
            // A block, an `if` or a `match` is never a place: its value is moved out of its
            // tail (`{ t }.redeem()` moves `t`).
            Expr::Block(b) => self.block(&b.block, true),
            Expr::Unsafe(u) => self.block(&u.block, true),
            Expr::Const(c) => self.block(&c.block, true),
            Expr::If(i) => {
                let depth = self.bound.len();
                self.expr(&i.cond, true);
                self.block(&i.then_branch, true);
                self.bound.truncate(depth);
                if let Some((_, e)) = &i.else_branch {
                    self.expr(e, true);
                }
            }
            // The pattern's names are bound for the rest of the `if`/`while`: the caller
            // truncates.
            Expr::Let(l) => {
                self.expr(&l.expr, true);
                self.bind(&l.pat);
            }
            Expr::Match(m) => {
                self.expr(&m.expr, true);
                for a in &m.arms {
                    let depth = self.bound.len();
                    self.bind(&a.pat);
                    if let Some((_, g)) = &a.guard {
                        self.expr(g, false);
                    }
                    self.expr(&a.body, true);
                    self.bound.truncate(depth);
                }
            }
            Expr::Loop(l) => self.block(&l.body, true),
            Expr::While(w) => {
                let depth = self.bound.len();
                self.expr(&w.cond, true);
                self.block(&w.body, true);
                self.bound.truncate(depth);
            }
            Expr::ForLoop(f) => {
                self.expr(&f.expr, true);
                let depth = self.bound.len();
                self.bind(&f.pat);
                self.block(&f.body, true);
                self.bound.truncate(depth);
            }
            Expr::Closure(c) => {
                let depth = self.bound.len();
                for p in &c.inputs {
                    self.bind(p);
                }
                if c.capture.is_some() {
                    let mut v = Named(Vec::new());
                    syn::visit::Visit::visit_expr(&mut v, &c.body);
                    self.moved_all(v.0);
                } else {
                    self.expr(&c.body, true);
                }
                self.bound.truncate(depth);
            }
            Expr::Macro(m) => self.mac(&m.mac),
            Expr::Return(r) => {
                if let Some(e) = &r.expr {
                    self.expr(e, true);
                }
            }
            Expr::Break(b) => {
                if let Some(e) = &b.expr {
                    self.expr(e, true);
                }
            }
            Expr::Cast(c) => self.expr(&c.expr, true),
            Expr::Struct(s) => {
                for f in &s.fields {
                    self.expr(&f.expr, true);
                }
                if let Some(r) = &s.rest {
                    self.expr(r, true);
                }
            }
            Expr::Tuple(t) => t.elems.iter().for_each(|e| self.expr(e, true)),
            Expr::Array(a) => a.elems.iter().for_each(|e| self.expr(e, true)),
            Expr::Repeat(r) => {
                self.expr(&r.expr, true);
                self.expr(&r.len, true);
            }
            Expr::Range(r) => {
                if let Some(e) = &r.start {
                    self.expr(e, true);
                }
                if let Some(e) = &r.end {
                    self.expr(e, true);
                }
            }
            Expr::Try(t) => self.expr(&t.expr, true),
            Expr::Yield(y) => {
                if let Some(e) = &y.expr {
                    self.expr(e, true);
                }
            }
            Expr::Await(a) => self.expr(&a.base, true),
            Expr::Async(_) | Expr::Lit(_) | Expr::Path(_) | Expr::Continue(_) => {}
            // Anything else: every name in it may move.
            other => {
                let mut v = Named(Vec::new());
                syn::visit::Visit::visit_expr(&mut v, other);
                self.moved_all(v.0);
            }
        }
    }
}

/// Every local-looking name an expression mentions: single-segment paths, and identifiers
/// in macro tokens.
struct Named(Vec<String>);

impl<'a> syn::visit::Visit<'a> for Named {
    fn visit_expr_path(&mut self, p: &'a syn::ExprPath) {
        if let Some(i) = p.path.get_ident() {
            self.0.push(i.to_string());
        }
    }
    fn visit_macro(&mut self, m: &'a syn::Macro) {
        idents(m.tokens.clone(), &mut self.0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn moved(body: &str) -> Vec<String> {
        let b: syn::Block = syn::parse_str(&format!("{{ {body} }}")).unwrap();
        moved_names(&b.stmts).into_iter().collect()
    }

    #[test]
    fn borrows_are_not_moves() {
        assert!(
            moved("f(&a); b.len(); c[0] = 1; d += 1; e == g; h.f.push(1); println!(\"{}\", i); f(j.n);")
                .is_empty()
        );
        assert_eq!(moved("{ t }.redeem();"), ["t"]);
    }

    #[test]
    fn by_value_positions_are_moves() {
        assert_eq!(
            moved(
                "f(a); let x = b; S { v: c }; d.trigger(()); (e, 1); g.into_iter(); vec![k]; vec![None; l.len()]; println!(\"{}\", f(m));"
            ),
            ["None", "a", "b", "c", "d", "e", "g", "k", "m"]
        );
    }

    #[test]
    fn option_and_result_combinators_take_self() {
        assert_eq!(
            moved("a.and(b); c.or(d); e.xor(f); g.is_some_and(|x| x > 0); h.is_ok_and(|x| x);"),
            ["a", "b", "c", "d", "e", "f", "g", "h"]
        );
    }

    #[test]
    fn move_closures_move_what_they_name() {
        assert_eq!(moved("let c = move || a.len(); let d = || b.len();"), ["a"]);
    }
}
