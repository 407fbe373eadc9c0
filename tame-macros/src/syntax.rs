//! Syntax queries every pass asks of the user's code: which local names an expression reads
//! and assigns ([`free_names`]), which names a pattern or a `let` binds ([`pat_bindings`],
//! [`let_bindings`]), what a statement assigns on every path ([`definite_assigns`]), whether
//! code waits ([`contains_wait`]), and which expressions are block-like constructs.
//!
//! Takes syn fragments, gives names (strings): resolving a name to a binding is the lowering's
//! business. No pass is imported here but `parse` (to recognise our macros), so every pass may
//! import this one.
//!
//! Input:  `let y = f(x, &z); w = y;`
//! Output: reads `x`, `z`, `y`; binds `y`; assigns `w` on every path.

use proc_macro2::{TokenStream, TokenTree};
use syn::visit::Visit;
use syn::{Expr, Macro, Pat, Stmt, Type};

use crate::parse::{macro_name, tokens_mention_twait};

/// Names read by an expression or statement that are not bound inside it, and names it
/// assigns with a plain `x = …` (which is not a read).
#[derive(Default)]
pub struct FreeNames {
    pub reads: Vec<String>,
    pub writes: Vec<String>,
}

/// Free local names of `stmt` (closures and nested blocks bind their own names; items are not
/// entered). Identifiers inside macro invocations count as reads, as do `{name}` /
/// `{name:…}` in their string literals (format-like macros).
pub fn free_names_stmt(stmt: &Stmt) -> FreeNames {
    let mut v = Free::default();
    v.stmt(stmt);
    v.out
}

pub fn free_names(e: &Expr) -> FreeNames {
    let mut v = Free::default();
    v.visit_expr(e);
    v.out
}

#[derive(Default)]
struct Free {
    bound: Vec<String>,
    out: FreeNames,
}

impl Free {
    fn read(&mut self, name: String) {
        if !self.bound.contains(&name) {
            self.out.reads.push(name);
        }
    }
    fn stmt(&mut self, s: &Stmt) {
        match s {
            Stmt::Local(l) => {
                if let Some(init) = &l.init {
                    self.visit_expr(&init.expr);
                    if let Some((_, e)) = &init.diverge {
                        self.visit_expr(e);
                    }
                }
                for b in let_bindings(l) {
                    self.bound.push(b.ident.to_string());
                }
            }
            Stmt::Expr(e, _) => self.visit_expr(e),
            Stmt::Macro(m) => self.visit_macro(&m.mac),
            Stmt::Item(_) => {}
        }
    }
    fn bind_pat(&mut self, p: &Pat) {
        for b in pat_bindings(p) {
            self.bound.push(b.ident.to_string());
        }
    }
}

impl<'a> Visit<'a> for Free {
    fn visit_block(&mut self, b: &'a syn::Block) {
        let n = self.bound.len();
        for s in &b.stmts {
            self.stmt(s);
        }
        self.bound.truncate(n);
    }
    fn visit_item(&mut self, _: &'a syn::Item) {}
    fn visit_expr_closure(&mut self, c: &'a syn::ExprClosure) {
        let n = self.bound.len();
        for p in &c.inputs {
            self.bind_pat(p);
        }
        self.visit_expr(&c.body);
        self.bound.truncate(n);
    }
    fn visit_arm(&mut self, a: &'a syn::Arm) {
        let n = self.bound.len();
        self.bind_pat(&a.pat);
        if let Some((_, g)) = &a.guard {
            self.visit_expr(g);
        }
        self.visit_expr(&a.body);
        self.bound.truncate(n);
    }
    fn visit_expr_let(&mut self, l: &'a syn::ExprLet) {
        // The pattern's names stay bound for the rest of the enclosing `if`/`while` head and
        // body; the caller truncates.
        self.visit_expr(&l.expr);
        self.bind_pat(&l.pat);
    }
    fn visit_expr_if(&mut self, i: &'a syn::ExprIf) {
        let n = self.bound.len();
        self.visit_expr(&i.cond);
        self.visit_block(&i.then_branch);
        self.bound.truncate(n);
        if let Some((_, e)) = &i.else_branch {
            self.visit_expr(e);
        }
    }
    fn visit_expr_while(&mut self, w: &'a syn::ExprWhile) {
        let n = self.bound.len();
        self.visit_expr(&w.cond);
        self.visit_block(&w.body);
        self.bound.truncate(n);
    }
    fn visit_expr_for_loop(&mut self, f: &'a syn::ExprForLoop) {
        self.visit_expr(&f.expr);
        let n = self.bound.len();
        self.bind_pat(&f.pat);
        self.visit_block(&f.body);
        self.bound.truncate(n);
    }
    fn visit_expr_assign(&mut self, a: &'a syn::ExprAssign) {
        match assign_targets(&a.left) {
            Some(names) => {
                for name in names {
                    if !self.bound.contains(&name) {
                        self.out.writes.push(name);
                    }
                }
            }
            None => self.visit_expr(&a.left),
        }
        self.visit_expr(&a.right);
    }
    fn visit_expr_path(&mut self, p: &'a syn::ExprPath) {
        if let Some(name) = path_name_of(p) {
            self.read(name);
        }
    }
    fn visit_macro(&mut self, m: &'a Macro) {
        let mut names = Vec::new();
        token_names(m.tokens.clone(), &mut names);
        for n in names {
            self.read(n);
        }
    }
}

fn path_name_of(p: &syn::ExprPath) -> Option<String> {
    if p.qself.is_none() && p.path.leading_colon.is_none() && p.path.segments.len() == 1 {
        let seg = &p.path.segments[0];
        if seg.arguments.is_none() {
            return Some(seg.ident.to_string());
        }
    }
    None
}

/// The locals an assignment's left side assigns whole: `x`, or the names of a destructuring
/// assignment (`(a, [b, _]) = …`, `S { f: c, .. } = …`). `None` for a place such as `v[i]`.
pub fn assign_targets(lhs: &Expr) -> Option<Vec<String>> {
    fn go(e: &Expr, out: &mut Vec<String>) -> bool {
        match e {
            Expr::Infer(_) | Expr::Range(_) => true,
            Expr::Tuple(t) => t.elems.iter().all(|e| go(e, out)),
            Expr::Array(a) => a.elems.iter().all(|e| go(e, out)),
            Expr::Paren(p) => go(&p.expr, out),
            Expr::Call(c) => c.args.iter().all(|e| go(e, out)),
            Expr::Struct(s) => s.fields.iter().all(|f| go(&f.expr, out)),
            other => match path_name(other) {
                Some(n) => {
                    out.push(n);
                    true
                }
                None => false,
            },
        }
    }
    let mut out = Vec::new();
    go(lhs, &mut out).then_some(out)
}

/// `x` if `e` is the plain local path `x`.
pub fn path_name(e: &Expr) -> Option<String> {
    match e {
        Expr::Path(p) => path_name_of(p),
        Expr::Paren(p) => path_name(&p.expr),
        _ => None,
    }
}

/// Identifiers a macro's tokens may read: every identifier that is not a field or method
/// name (after a lone `.`), a path segment (next to `::`) or a macro name (before `!`), nor a
/// struct field name or a name being declared (before a `:`); and the names format strings
/// in string literals use. An over-approximation: a name read here that is not a local is
/// ignored when it is resolved.
///
/// Input:  `"{x:>w$}", &buf[a..b], P { v: val }, s.len(), std::mem::take(&mut t)`
/// Output: `x`, `w`, `buf`, `a`, `b`, `P`, `val`, `s`, `take`… (`mem` follows `::`, `v` is a
/// field name, `len` a method)
fn token_names(ts: TokenStream, out: &mut Vec<String>) {
    let tts: Vec<TokenTree> = ts.into_iter().collect();
    let punct =
        |i: usize, c: char| matches!(tts.get(i), Some(TokenTree::Punct(p)) if p.as_char() == c);
    // `..`, `::`: the punctuation at `i` is the second of a joint pair `cc`.
    let joint_pair = |i: usize, c: char| {
        i > 0
            && punct(i, c)
            && matches!(&tts[i - 1], TokenTree::Punct(p) if p.as_char() == c && p.spacing() == proc_macro2::Spacing::Joint)
    };
    for (i, tt) in tts.iter().enumerate() {
        match tt {
            TokenTree::Ident(id) => {
                // `.field`, `.method()` (but `a..b` and `..=b` end a range: `b` is read);
                // `path::name` (but `P { v: val }` reads `val`).
                let after = i > 0
                    && ((punct(i - 1, '.') && !joint_pair(i - 1, '.')) || joint_pair(i - 1, ':'));
                // `name::…`, `name!`, and `name: …` (a field name in a struct literal, or a
                // name being declared with its type).
                let before = punct(i + 1, ':') || punct(i + 1, '!');
                if !after && !before {
                    out.push(id.to_string());
                }
            }
            TokenTree::Group(g) => token_names(g.stream(), out),
            TokenTree::Literal(l) => {
                if let Ok(s) = syn::parse2::<syn::LitStr>(TokenTree::Literal(l.clone()).into()) {
                    format_names(&s.value(), out);
                }
            }
            TokenTree::Punct(_) => {}
        }
    }
}

/// The names a format string uses: `{name}` and `{name:…}` arguments, and `name$` width and
/// precision parameters inside a format spec. `{self}` names the receiver, which the body
/// calls [`self_ident`](crate::parse::self_ident) (parse renames it in format strings too).
///
/// Input:  `"{x} {y:?} {{z}} {:w$} {v:>0w$.p$} {0:1$} {self:?}"`
/// Output: `x`, `y`, `w`, `v`, `w`, `p`, `__tame_self`
fn format_names(s: &str, out: &mut Vec<String>) {
    fn ident(name: &str) -> Option<String> {
        let first = name.chars().next()?;
        if !(first.is_alphabetic() || first == '_')
            || !name.chars().all(|c| c.is_alphanumeric() || c == '_')
        {
            return None;
        }
        Some(if name == "self" {
            crate::receiver::self_ident(proc_macro2::Span::call_site()).to_string()
        } else {
            name.to_string()
        })
    }
    let mut rest = s;
    while let Some(open) = rest.find('{') {
        let after = &rest[open + 1..];
        if let Some(escaped) = after.strip_prefix('{') {
            rest = escaped;
            continue;
        }
        let Some(close) = after.find('}') else { break };
        let inner = &after[..close];
        rest = &after[close + 1..];
        let (arg, spec) = inner.split_once(':').unwrap_or((inner, ""));
        out.extend(ident(arg.trim()));
        // Parameters in the spec: a run of name characters right before a `$`. A leading
        // digit is the `0` flag (`{:0w$}`); a run of digits only is a position (`{:1$}`).
        let mut run_start = None;
        for (k, c) in spec.char_indices() {
            if c.is_alphanumeric() || c == '_' {
                run_start.get_or_insert(k);
                continue;
            }
            if let Some(st) = run_start.take()
                && c == '$'
            {
                out.extend(ident(
                    spec[st..k].trim_start_matches(|d: char| d.is_ascii_digit()),
                ));
            }
        }
    }
}

/// A name a pattern binds.
pub struct PatBinding {
    pub ident: syn::Ident,
    pub mutable: bool,
    /// The annotation, when the pattern is exactly `x: T`.
    pub ty: Option<Type>,
    /// The binding holds a reference, so it has no drop of its own: an explicit `ref` or
    /// `ref mut`, or a binding matched against a borrow (`let x = &v;`,
    /// `if let Some(x) = &opt`) and not under a `&` pattern.
    pub by_ref: bool,
}

/// The names `p` binds, in order. Heuristic: a bare identifier starting with an upper-case
/// letter (`None`, `Red`) is a constant or unit variant, not a binding.
pub fn pat_bindings(p: &Pat) -> Vec<PatBinding> {
    let mut out = Vec::new();
    pat_into(p, None, false, false, &mut out);
    out
}

/// [`pat_bindings`] of `p` matched against `scrutinee`: a borrow (`&x`, `&mut x`) makes the
/// bindings not under a `&` pattern references ([`PatBinding::by_ref`]).
pub fn pat_bindings_of(p: &Pat, scrutinee: &Expr) -> Vec<PatBinding> {
    let mut out = Vec::new();
    pat_into(p, None, false, is_borrow(scrutinee), &mut out);
    out
}

/// Whether `e` is written as a borrow: `&x`, `&mut x` (in parentheses or not).
fn is_borrow(e: &Expr) -> bool {
    match e {
        Expr::Reference(_) => true,
        Expr::Paren(p) => is_borrow(&p.expr),
        Expr::Group(g) => is_borrow(&g.expr),
        _ => false,
    }
}

/// The names a `let` binds. Without `else` its pattern is irrefutable, so a bare identifier
/// binds whatever its case (`let N = 3;`): the only other thing it could be is a unit struct,
/// which is kept and restored by the same code.
pub fn let_bindings(l: &syn::Local) -> Vec<PatBinding> {
    let irrefutable = l.init.as_ref().is_none_or(|i| i.diverge.is_none());
    let borrowed = l.init.as_ref().is_some_and(|i| is_borrow(&i.expr));
    let mut out = Vec::new();
    pat_into(&l.pat, None, irrefutable, borrowed, &mut out);
    out
}

/// `borrowed`: `p` is matched against a borrow, with no `&` pattern on the way here.
fn pat_into(
    p: &Pat,
    ty: Option<&Type>,
    upper_binds: bool,
    borrowed: bool,
    out: &mut Vec<PatBinding>,
) {
    let go = |p: &Pat, out: &mut Vec<PatBinding>| pat_into(p, None, upper_binds, borrowed, out);
    match p {
        Pat::Ident(i) => {
            let upper = !upper_binds && i.ident.to_string().starts_with(|c: char| c.is_uppercase());
            if !(upper && i.subpat.is_none() && i.mutability.is_none() && i.by_ref.is_none()) {
                out.push(PatBinding {
                    ident: i.ident.clone(),
                    mutable: i.mutability.is_some(),
                    ty: ty.cloned(),
                    by_ref: i.by_ref.is_some() || borrowed,
                });
            }
            if let Some((_, sp)) = &i.subpat {
                go(sp, out);
            }
        }
        Pat::Type(t) => pat_into(&t.pat, Some(&t.ty), upper_binds, borrowed, out),
        Pat::Tuple(t) => t.elems.iter().for_each(|p| go(p, out)),
        Pat::TupleStruct(t) => t.elems.iter().for_each(|p| go(p, out)),
        Pat::Struct(s) => s.fields.iter().for_each(|f| go(&f.pat, out)),
        Pat::Slice(s) => s.elems.iter().for_each(|p| go(p, out)),
        // Under `&`, the default binding mode is by value again.
        Pat::Reference(r) => pat_into(&r.pat, None, upper_binds, false, out),
        Pat::Paren(p) => go(&p.pat, out),
        // Every alternative binds the same names.
        Pat::Or(o) => {
            if let Some(first) = o.cases.first() {
                go(first, out)
            }
        }
        _ => {}
    }
}

/// Names a statement assigns with `x = …` on every path through it (a kill for liveness):
/// `x = e`, `{ …; x = e }`, `if c { x = 1 } else { x = 2 }`, and `match` with all arms assigning.
pub fn definite_assigns(s: &Stmt) -> Vec<String> {
    match s {
        Stmt::Expr(e, _) => expr_assigns(e),
        _ => Vec::new(),
    }
}

fn expr_assigns(e: &Expr) -> Vec<String> {
    match e {
        Expr::Assign(a) => {
            let mut v = expr_assigns(&a.right);
            v.extend(assign_targets(&a.left).unwrap_or_default());
            v
        }
        Expr::Paren(p) => expr_assigns(&p.expr),
        Expr::Block(b) if b.label.is_none() => block_assigns(&b.block),
        Expr::If(i) => match &i.else_branch {
            Some((_, els)) => intersect(block_assigns(&i.then_branch), expr_assigns(els)),
            None => Vec::new(),
        },
        Expr::Match(m) => {
            let mut arms = m.arms.iter().map(|a| expr_assigns(&a.body));
            match arms.next() {
                Some(first) => arms.fold(first, intersect),
                None => Vec::new(),
            }
        }
        _ => Vec::new(),
    }
}

fn block_assigns(b: &syn::Block) -> Vec<String> {
    let mut v = Vec::new();
    for s in &b.stmts {
        match s {
            // A shadowing `let` inside makes later assignments ambiguous: stop there.
            Stmt::Local(_) => break,
            _ => v.extend(definite_assigns(s)),
        }
    }
    v
}

fn intersect(a: Vec<String>, b: Vec<String>) -> Vec<String> {
    a.into_iter().filter(|x| b.contains(x)).collect()
}

/// Whether `twait!` occurs in this code, outside closures, async blocks and nested items
/// (`validate` rejects those).
pub fn contains_wait_expr(e: &Expr) -> bool {
    let mut v = HasWait(false);
    v.visit_expr(e);
    v.0
}

pub fn contains_wait(s: &Stmt) -> bool {
    let mut v = HasWait(false);
    v.visit_stmt(s);
    v.0
}

struct HasWait(bool);

impl<'a> Visit<'a> for HasWait {
    fn visit_macro(&mut self, m: &'a Macro) {
        if macro_name(&m.path) == Some("twait") || tokens_mention_twait(&m.tokens) {
            self.0 = true;
        }
    }
    fn visit_item(&mut self, _: &'a syn::Item) {}
    fn visit_expr_closure(&mut self, _: &'a syn::ExprClosure) {}
    fn visit_expr_async(&mut self, _: &'a syn::ExprAsync) {}
}

/// A block-like expression: the constructs the lowering takes apart when they contain a wait.
pub fn is_construct(e: &Expr) -> bool {
    matches!(
        e,
        Expr::Block(_)
            | Expr::If(_)
            | Expr::Match(_)
            | Expr::Loop(_)
            | Expr::While(_)
            | Expr::ForLoop(_)
    )
}

/// The loop or labeled block `e` opens, if any, as a jump target: its label and whether it is
/// a loop (`continue` and an unlabeled `break` target only loops).
pub fn jump_target(e: &Expr) -> Option<(Option<String>, bool)> {
    let label = |l: Option<&syn::Label>| l.map(|l| l.name.ident.to_string());
    match e {
        Expr::Loop(l) => Some((label(l.label.as_ref()), true)),
        Expr::While(l) => Some((label(l.label.as_ref()), true)),
        Expr::ForLoop(l) => Some((label(l.label.as_ref()), true)),
        Expr::Block(b) if b.label.is_some() => Some((label(b.label.as_ref()), false)),
        _ => None,
    }
}

/// Whether a `break` / `continue` with `label` goes past all of `inner` (the targets opened
/// inside the code looked at, innermost last).
pub fn leaves(label: &Option<syn::Lifetime>, inner: &[(Option<String>, bool)]) -> bool {
    match label {
        Some(l) => !inner
            .iter()
            .any(|(x, _)| x.as_deref() == Some(&l.ident.to_string())),
        None => !inner.iter().any(|(_, is_loop)| *is_loop),
    }
}

/// Whether `e` may leave itself by `return`, or by `break` / `continue` to a loop or block
/// around it (not inside closures or nested items).
pub fn contains_jump(e: &Expr) -> bool {
    struct J {
        found: bool,
        /// The jump targets opened inside `e`.
        inner: Vec<(Option<String>, bool)>,
    }
    impl<'a> Visit<'a> for J {
        fn visit_expr(&mut self, e: &'a Expr) {
            match e {
                Expr::Return(_) => self.found = true,
                Expr::Break(b) if leaves(&b.label, &self.inner) => self.found = true,
                Expr::Continue(c) if leaves(&c.label, &self.inner) => self.found = true,
                Expr::Closure(_) | Expr::Async(_) => return,
                _ => {}
            }
            if let Some(x) = jump_target(e) {
                self.inner.push(x);
                syn::visit::visit_expr(self, e);
                self.inner.pop();
            } else {
                syn::visit::visit_expr(self, e);
            }
        }
        fn visit_item(&mut self, _: &'a syn::Item) {}
    }
    let mut j = J {
        found: false,
        inner: Vec::new(),
    };
    j.visit_expr(e);
    j.found
}

/// Whether a condition contains a `let` (an `if let` or a let chain).
pub fn contains_let(e: &Expr) -> bool {
    match e {
        Expr::Let(_) => true,
        Expr::Binary(b) => contains_let(&b.left) || contains_let(&b.right),
        Expr::Paren(p) => contains_let(&p.expr),
        _ => false,
    }
}

/// Every identifier in `ts`, at any depth (a macro's tokens, emitted code).
pub fn idents(ts: TokenStream, out: &mut impl Extend<String>) {
    for tt in ts {
        match tt {
            TokenTree::Ident(i) => out.extend([i.to_string()]),
            TokenTree::Group(g) => idents(g.stream(), out),
            _ => {}
        }
    }
}
