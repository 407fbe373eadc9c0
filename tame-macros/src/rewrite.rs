//! The rewriters the lowering runs over the user's syntax, each a `VisitMut` that does not
//! enter closures, `async` blocks or nested items:
//!
//! - [`Hoister`] pulls the waits out of an expression, and every operand left of a wait, into
//!   temporaries, in evaluation order ([`Hoisted`]);
//! - [`Jumps`] marks the `break` / `continue` / `return` of a statement kept as written that
//!   leave a taken-apart loop (`__tame_jump!(n)` markers that `emit` replaces);
//! - [`Mkevents`] replaces `mkevent!` inside a `twait! {}` block by the event it makes, and
//!   records each `mkevent!(place)` site.
//!
//! Input:  `let s = a() + twait!(r).unwrap().1;`   (Hoister)
//! Output: `let s = __tame_o1 + __tame_t2.unwrap().1;` with `[Value a(), Poll r]` hoisted.

use std::collections::VecDeque;

use proc_macro2::{Span, TokenStream};
use quote::{format_ident, quote, quote_spanned};
use syn::spanned::Spanned;
use syn::visit_mut::VisitMut;
use syn::{Block, Expr, Ident, Macro, Pat, Stmt, parse_quote, parse_quote_spanned};

use crate::graph::{BindId, Binding, JumpSpec, Next, StateId, internal, visible};
use crate::parse::{TameMacro, as_poll};
use crate::syntax::{contains_wait_expr, definite_assigns, idents, is_construct, pat_bindings};

/// A taken-apart loop or labeled block: where `break` and `continue` go.
#[derive(Clone)]
pub struct LoopCx {
    pub label: Option<String>,
    pub break_to: Next,
    /// Where `continue` goes; `None` for a labeled block.
    pub continue_to: Option<StateId>,
    pub dest: Option<BindId>,
}

/// Waits pulled out of an expression, in evaluation order.
pub enum Hoisted {
    /// `twait!(r)`, to be polled into `tmp`.
    Poll {
        r: Expr,
        tmp: Ident,
        line: TokenStream,
    },
    /// A block-like expression containing a wait, lowered with `tmp` as its destination.
    Construct { e: Expr, tmp: Ident },
    /// An operand left of a wait, evaluated into `tmp` before it (Rust's left-to-right order).
    Value { e: Expr, tmp: Ident },
}

pub fn find_loop<'l>(loops: &'l [LoopCx], label: Option<&str>) -> Option<&'l LoopCx> {
    match label {
        Some(l) => loops.iter().rev().find(|c| c.label.as_deref() == Some(l)),
        None => loops.iter().rev().find(|c| c.continue_to.is_some()),
    }
}

pub struct Hoister<'a> {
    pub out: VecDeque<Hoisted>,
    pub ntmp: &'a mut usize,
}

impl Hoister<'_> {
    /// Operands evaluated left to right, a later one waiting: each one left of the last wait
    /// is evaluated into a temporary first, after the waits inside it. `false` (nothing
    /// done) if no operand but the first waits.
    ///
    /// Input:  `a() + twait!(r)…`      Output: `__tame_o1 + __tame_t2…`  (`a()` hoisted first)
    ///
    /// A local or a field read as an operand stays in place, unless a later operand that
    /// waits names it: `g(c, { twait! { op(mkevent!(c)); } 0 })` reads `c` before the wait
    /// assigns it. `first_is_place`: the first operand is a method's receiver or an indexed
    /// value, used in place (by reference), which must not be moved into a temporary.
    fn operands(&mut self, ops: Vec<&mut Expr>, first_is_place: bool) -> bool {
        let Some(last) = ops.iter().rposition(|o| contains_wait_expr(o)) else {
            return false;
        };
        if last == 0 {
            return false;
        }
        // Names mentioned by the waiting operands after each position.
        let mut later: Vec<std::collections::HashSet<String>> = vec![Default::default(); ops.len()];
        for i in (0..ops.len().saturating_sub(1)).rev() {
            let mut set = later[i + 1].clone();
            let next = &ops[i + 1];
            if contains_wait_expr(next) {
                let mut names = Vec::new();
                idents(quote!(#next), &mut names);
                set.extend(names);
            }
            later[i] = set;
        }
        for (i, op) in ops.into_iter().enumerate() {
            self.visit_expr_mut(op);
            let read_later = crate::syntax::path_name(&place_base(op))
                .is_some_and(|n| later[i].contains(&n))
                && !(i == 0 && first_is_place);
            if i < last && (!stays(op) || read_later) {
                let tmp = self.tmp("o");
                let taken = std::mem::replace(op, parse_quote!(#tmp));
                self.out.push_back(Hoisted::Value { e: taken, tmp });
            }
        }
        true
    }

    pub fn tmp(&mut self, what: &str) -> Ident {
        crate::graph::temporary(self.ntmp, what)
    }
}

/// An operand whose value does not change by being read later: a local, a literal, a place
/// or a borrow of one. Anything else left of a wait is evaluated before the wait.
fn stays(e: &Expr) -> bool {
    match e {
        Expr::Path(_) | Expr::Lit(_) => true,
        Expr::Field(f) => stays(&f.base),
        Expr::Paren(p) => stays(&p.expr),
        Expr::Reference(r) => stays(&r.expr),
        _ => false,
    }
}

/// The local a place expression starts from (`x` of `x.f.g`), as an expression.
fn place_base(e: &Expr) -> Expr {
    match e {
        Expr::Field(f) => place_base(&f.base),
        Expr::Paren(p) => place_base(&p.expr),
        other => other.clone(),
    }
}

/// The operands of `e` Rust evaluates left to right, in that order, and whether the first is
/// used in place (a method's receiver, an indexed value).
fn operands_mut(e: &mut Expr) -> (Vec<&mut Expr>, bool) {
    use syn::BinOp::*;
    let place = matches!(e, Expr::MethodCall(_) | Expr::Index(_));
    let ops = match e {
        Expr::Binary(b) => match b.op {
            // Short-circuits are refused with a wait on the right; compound assignments of
            // primitives evaluate their right side first.
            And(_) | Or(_) | AddAssign(_) | SubAssign(_) | MulAssign(_) | DivAssign(_)
            | RemAssign(_) | BitXorAssign(_) | BitAndAssign(_) | BitOrAssign(_) | ShlAssign(_)
            | ShrAssign(_) => Vec::new(),
            _ => vec![&mut *b.left, &mut *b.right],
        },
        Expr::Call(c) => c.args.iter_mut().collect(),
        Expr::MethodCall(m) => {
            let mut v = vec![&mut *m.receiver];
            v.extend(m.args.iter_mut());
            v
        }
        Expr::Tuple(t) => t.elems.iter_mut().collect(),
        Expr::Array(a) => a.elems.iter_mut().collect(),
        Expr::Struct(s) => s.fields.iter_mut().map(|f| &mut f.expr).collect(),
        Expr::Index(i) => vec![&mut *i.expr, &mut *i.index],
        _ => Vec::new(),
    };
    (ops, place)
}

impl VisitMut for Hoister<'_> {
    fn visit_expr_mut(&mut self, e: &mut Expr) {
        match e {
            Expr::Closure(_) | Expr::Async(_) => return,
            _ => {}
        }
        let (ops, first_is_place) = operands_mut(e);
        if self.operands(ops, first_is_place) {
            return;
        }
        if let Some((mac, r)) = as_poll(e) {
            let line = quote_spanned!(mac.path.span()=> ::core::line!());
            let tmp = self.tmp("t");
            self.out.push_back(Hoisted::Poll {
                r,
                tmp: tmp.clone(),
                line,
            });
            *e = parse_quote!(#tmp);
            return;
        }
        if let Expr::Macro(m) = e {
            // Input:  format!("{}", twait!(r))     Output: format!("{}", __tame_t1)
            if crate::parse::tokens_mention_twait(&m.mac.tokens) {
                if let Some(mut args) = crate::parse::macro_args(&m.mac) {
                    if !self.operands(args.iter_mut().collect(), false) {
                        for a in args.iter_mut() {
                            self.visit_expr_mut(a);
                        }
                    }
                    m.mac.tokens = quote!(#args);
                }
                return;
            }
        }
        if is_construct(e) && contains_wait_expr(e) {
            let tmp = self.tmp("d");
            let taken = std::mem::replace(e, parse_quote!(#tmp));
            self.out.push_back(Hoisted::Construct { e: taken, tmp });
            return;
        }
        syn::visit_mut::visit_expr_mut(self, e);
    }
    fn visit_item_mut(&mut self, _: &mut syn::Item) {}
}

/// Rewrites `break`/`continue` that leave kept-as-written code for a taken-apart loop, and
/// `return`, inside one statement. Does not enter closures, async blocks or items.
pub struct Jumps<'a> {
    pub loops: &'a [LoopCx],
    /// Loops and labeled blocks inside the statement: (label, is_loop).
    pub inner: Vec<(Option<String>, bool)>,
    pub jumps: Vec<JumpSpec>,
    pub binds: &'a [Binding],
    pub vis: Vec<BindId>,
    pub errors: Vec<syn::Error>,
    /// Names bound inside the statement where the visitor is (innermost last).
    pub bound: Vec<String>,
    /// Names assigned on every path from the statement's start to where the visitor is.
    pub assigned: Vec<String>,
}

impl Jumps<'_> {
    fn assigned(&self) -> Vec<BindId> {
        let vis = visible(self.binds, &self.vis);
        let mut out: Vec<BindId> = self
            .assigned
            .iter()
            .filter(|n| !self.bound.contains(n))
            .filter_map(|n| vis.iter().copied().find(|&b| self.binds[b].ident == n))
            .collect();
        out.sort_unstable();
        out.dedup();
        out
    }
    fn bind(&mut self, p: &Pat) {
        self.bound
            .extend(pat_bindings(p).into_iter().map(|b| b.ident.to_string()));
    }
    fn shadowed(&self) -> bool {
        !self.bound.is_empty()
    }
    fn inner_target(&self, label: Option<&str>) -> bool {
        match label {
            Some(l) => self.inner.iter().any(|(x, _)| x.as_deref() == Some(l)),
            None => self.inner.iter().any(|(_, is_loop)| *is_loop),
        }
    }
    fn placeholder(&mut self, spec: JumpSpec) -> Expr {
        let n = self.jumps.len();
        self.jumps.push(spec);
        parse_quote!(__tame_jump!(#n))
    }
}

impl VisitMut for Jumps<'_> {
    fn visit_block_mut(&mut self, b: &mut Block) {
        let n = self.bound.len();
        let a = self.assigned.len();
        for s in &mut b.stmts {
            self.visit_stmt_mut(s);
            if let Stmt::Local(l) = s {
                self.bind(&l.pat);
            }
            // What this statement assigns on every path is assigned at the next one.
            self.assigned.extend(definite_assigns(s));
        }
        self.bound.truncate(n);
        self.assigned.truncate(a);
    }
    fn visit_arm_mut(&mut self, a: &mut syn::Arm) {
        let n = self.bound.len();
        self.bind(&a.pat);
        syn::visit_mut::visit_arm_mut(self, a);
        self.bound.truncate(n);
    }
    fn visit_expr_if_mut(&mut self, i: &mut syn::ExprIf) {
        let n = self.bound.len();
        self.visit_expr_mut(&mut i.cond);
        self.visit_block_mut(&mut i.then_branch);
        self.bound.truncate(n);
        if let Some((_, e)) = &mut i.else_branch {
            self.visit_expr_mut(e);
        }
    }
    fn visit_expr_let_mut(&mut self, l: &mut syn::ExprLet) {
        self.visit_expr_mut(&mut l.expr);
        self.bind(&l.pat);
    }
    fn visit_expr_mut(&mut self, e: &mut Expr) {
        // A loop or labeled block inside the statement: its jumps stay as written.
        if let Some(target) = crate::syntax::jump_target(e) {
            self.inner.push(target);
            let n = self.bound.len();
            if let Expr::ForLoop(f) = e {
                let pat = (*f.pat).clone();
                self.bind(&pat);
            }
            syn::visit_mut::visit_expr_mut(self, e);
            self.bound.truncate(n);
            self.inner.pop();
            return;
        }
        match e {
            Expr::Closure(_) | Expr::Async(_) => {}
            Expr::Break(b) => {
                if let Some(v) = &mut b.expr {
                    self.visit_expr_mut(v);
                }
                let label = b.label.as_ref().map(|l| l.ident.to_string());
                if self.inner_target(label.as_deref()) {
                    return;
                }
                let Some(cx) = find_loop(self.loops, label.as_deref()).cloned() else {
                    return;
                };
                let value = b.expr.take();
                let spec = JumpSpec {
                    target: cx.break_to,
                    assign: None,
                    vis: self.vis.clone(),
                    shadowed: self.shadowed(),
                    assigned: self.assigned(),
                };
                match (value, cx.dest) {
                    (Some(v), Some(d)) => {
                        let d_ident = self.binds[d].ident.clone();
                        let j = self.placeholder(JumpSpec {
                            assign: Some(d),
                            ..spec
                        });
                        *e = parse_quote_spanned!(v.span()=> { #d_ident = #v; #j });
                    }
                    (Some(v), None) => {
                        let j = self.placeholder(spec);
                        *e = parse_quote_spanned!(v.span()=> { let _ = #v; #j });
                    }
                    (None, _) => *e = self.placeholder(spec),
                }
            }
            Expr::Continue(c) => {
                let label = c.label.as_ref().map(|l| l.ident.to_string());
                if self.inner_target(label.as_deref()) {
                    return;
                }
                if let Some(h) =
                    find_loop(self.loops, label.as_deref()).and_then(|cx| cx.continue_to)
                {
                    let spec = JumpSpec {
                        target: Next::Goto(h),
                        assign: None,
                        vis: self.vis.clone(),
                        shadowed: self.shadowed(),
                        assigned: self.assigned(),
                    };
                    *e = self.placeholder(spec);
                }
            }
            // Input:  return;          Output: a jump to the end: <drops, newest first>; return Step::Done
            Expr::Return(r) => {
                let spec = JumpSpec {
                    target: Next::Done,
                    assign: None,
                    vis: self.vis.clone(),
                    shadowed: self.shadowed(),
                    assigned: self.assigned(),
                };
                *e = match r.expr.take() {
                    None => self.placeholder(spec),
                    Some(mut v) => {
                        self.visit_expr_mut(&mut v);
                        let j = self.placeholder(spec);
                        parse_quote_spanned!(r.return_token.span=> { let () = #v; #j })
                    }
                };
            }
            _ => syn::visit_mut::visit_expr_mut(self, e),
        }
    }
    fn visit_item_mut(&mut self, _: &mut syn::Item) {}
}

/// Replaces `mkevent!` inside a `twait! {}` block.
pub struct Mkevents {
    /// (storage, place with keys substituted, key names)
    pub sites: Vec<(Ident, Expr, Vec<Ident>, Span)>,
    pub nsite: usize,
    /// Names bound inside the block where the visitor is (innermost last).
    pub bound: Vec<String>,
    /// `#![volatile]`: the events are made volatile (dropping them is no leak).
    pub volatile: bool,
}

impl Mkevents {
    fn bind(&mut self, p: &Pat) {
        self.bound
            .extend(pat_bindings(p).into_iter().map(|b| b.ident.to_string()));
    }
}

/// The local a place is rooted at: `x` for `x`, `x.f`, `x[i]`, `(*x).f`.
pub fn place_root(place: &Expr) -> Option<String> {
    match place {
        Expr::Field(f) => place_root(&f.base),
        Expr::Index(i) => place_root(&i.expr),
        Expr::Paren(p) => place_root(&p.expr),
        Expr::Unary(u) if matches!(u.op, syn::UnOp::Deref(_)) => place_root(&u.expr),
        other => crate::syntax::path_name(other),
    }
}

impl VisitMut for Mkevents {
    // Input:  vec![mkevent!(a), mkevent!(b)]
    // Output: vec![__tame_cx.site_event(&mut __tame_site1, ()), …]
    fn visit_macro_mut(&mut self, m: &mut Macro) {
        if TameMacro::classify(m).is_none() && crate::parse::tokens_mention(&m.tokens, "mkevent") {
            crate::parse::rewrite_macro_args(m, |e| self.visit_expr_mut(e));
        }
    }
    fn visit_block_mut(&mut self, b: &mut Block) {
        let n = self.bound.len();
        for s in &mut b.stmts {
            match s {
                Stmt::Local(l) => {
                    if let Some(init) = &mut l.init {
                        self.visit_expr_mut(&mut init.expr);
                        if let Some((_, e)) = &mut init.diverge {
                            self.visit_expr_mut(e);
                        }
                    }
                    self.bind(&l.pat);
                }
                other => self.visit_stmt_mut(other),
            }
        }
        self.bound.truncate(n);
    }
    fn visit_arm_mut(&mut self, a: &mut syn::Arm) {
        let n = self.bound.len();
        self.bind(&a.pat);
        syn::visit_mut::visit_arm_mut(self, a);
        self.bound.truncate(n);
    }
    fn visit_expr_let_mut(&mut self, l: &mut syn::ExprLet) {
        // Bound for the rest of the `if`/`while`: over-approximate to the rest of the block.
        self.visit_expr_mut(&mut l.expr);
        self.bind(&l.pat);
    }
    fn visit_expr_mut(&mut self, e: &mut Expr) {
        if let Expr::Macro(m) = e {
            match TameMacro::classify(&m.mac) {
                Some(Ok(TameMacro::JoinEvent)) => {
                    let cx = internal("__tame_cx");
                    let at = m.mac.path.span();
                    *e = parse_quote_spanned!(at=> #cx.join_event());
                    if self.volatile {
                        *e = parse_quote_spanned!(at=> #cx.volatile(#e));
                    }
                    return;
                }
                Some(Ok(TameMacro::PlaceEvent(place))) => {
                    // A place rooted at a local of the block itself is gone when the event
                    // triggers (its scope ended before the wait): the value is dropped.
                    let place = match place_root(&place) {
                        Some(root) if self.bound.contains(&root) => parse_quote!(_),
                        _ => place,
                    };
                    let site = format_ident!(
                        "__tame_site{}",
                        self.nsite + self.sites.len() + 1,
                        span = Span::mixed_site()
                    );
                    let mut place = place;
                    let mut keys = Vec::new();
                    let mut exprs = Vec::new();
                    key_place(&mut place, &mut keys, &mut exprs);
                    let cx = internal("__tame_cx");
                    let at = m.mac.path.span();
                    *e = parse_quote_spanned!(at=> #cx.site_event(&mut #site, (#(#exprs,)*)));
                    if self.volatile {
                        *e = parse_quote_spanned!(at=> #cx.volatile(#e));
                    }
                    self.sites.push((site, place, keys, at));
                    return;
                }
                Some(Ok(TameMacro::RvEvent(r, id))) => {
                    *e = parse_quote_spanned!(m.mac.path.span()=> (#r).event(#id));
                    return;
                }
                _ => {}
            }
        }
        if matches!(e, Expr::Closure(_) | Expr::Async(_)) {
            return;
        }
        syn::visit_mut::visit_expr_mut(self, e);
    }
    fn visit_item_mut(&mut self, _: &mut syn::Item) {}
}

/// Input: `s.v[i].w[j + 1]`  Output: place `s.v[__tame_k0].w[__tame_k1]`, keys `i`, `j + 1`.
fn key_place(place: &mut Expr, keys: &mut Vec<Ident>, exprs: &mut Vec<Expr>) {
    match place {
        Expr::Index(ix) => {
            key_place(&mut ix.expr, keys, exprs);
            let k = format_ident!("__tame_k{}", keys.len(), span = Span::mixed_site());
            let old = std::mem::replace(&mut *ix.index, parse_quote!(#k));
            keys.push(k);
            exprs.push(old);
        }
        Expr::Field(f) => key_place(&mut f.base, keys, exprs),
        Expr::Paren(p) => key_place(&mut p.expr, keys, exprs),
        Expr::Unary(u) if matches!(u.op, syn::UnOp::Deref(_)) => {
            key_place(&mut u.expr, keys, exprs)
        }
        _ => {}
    }
}
