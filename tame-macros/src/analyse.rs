//! Pass 4, analyse: what touches which local, and which locals are live where.
//!
//! Takes syn fragments (while `lower` builds the graph) and the finished [`Machine`] (after it),
//! gives: the free local names an expression reads ([`free_names`]), the names a pattern binds
//! ([`pat_bindings`]), the names a statement assigns on every path ([`definite_assigns`]),
//! whether code contains a wait ([`contains_wait`]), and [`Liveness`]: for every state, the
//! bindings live at its entry, by a backward dataflow over the graph iterated to a fixpoint.
//!
//! Bindings are numbered ([`BindId`]), so shadowing is exact: `let x = 1; twait!{…}; let x = 2;`
//! makes two bindings, and only the first one can be live at the wait.

use std::collections::BTreeSet;

use proc_macro2::{TokenStream, TokenTree};
use syn::visit::Visit;
use syn::{Expr, Macro, Pat, Stmt, Type};

use crate::lower::{BindId, Code, Cont, JumpSpec, Machine, Node, StateId};
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
            crate::parse::self_ident(proc_macro2::Span::call_site()).to_string()
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
}

/// The names `p` binds, in order. Heuristic: a bare identifier starting with an upper-case
/// letter (`None`, `Red`) is a constant or unit variant, not a binding.
pub fn pat_bindings(p: &Pat) -> Vec<PatBinding> {
    let mut out = Vec::new();
    pat_into(p, None, false, &mut out);
    out
}

/// The names a `let` binds. Without `else` its pattern is irrefutable, so a bare identifier
/// binds whatever its case (`let N = 3;`): the only other thing it could be is a unit struct,
/// which is kept and restored by the same code.
pub fn let_bindings(l: &syn::Local) -> Vec<PatBinding> {
    let irrefutable = l.init.as_ref().is_none_or(|i| i.diverge.is_none());
    let mut out = Vec::new();
    pat_into(&l.pat, None, irrefutable, &mut out);
    out
}

fn pat_into(p: &Pat, ty: Option<&Type>, upper_binds: bool, out: &mut Vec<PatBinding>) {
    let go = |p: &Pat, out: &mut Vec<PatBinding>| pat_into(p, None, upper_binds, out);
    match p {
        Pat::Ident(i) => {
            let upper = !upper_binds && i.ident.to_string().starts_with(|c: char| c.is_uppercase());
            if !(upper && i.subpat.is_none() && i.mutability.is_none() && i.by_ref.is_none()) {
                out.push(PatBinding {
                    ident: i.ident.clone(),
                    mutable: i.mutability.is_some(),
                    ty: ty.cloned(),
                });
            }
            if let Some((_, sp)) = &i.subpat {
                go(sp, out);
            }
        }
        Pat::Type(t) => pat_into(&t.pat, Some(&t.ty), upper_binds, out),
        Pat::Tuple(t) => t.elems.iter().for_each(|p| go(p, out)),
        Pat::TupleStruct(t) => t.elems.iter().for_each(|p| go(p, out)),
        Pat::Struct(s) => s.fields.iter().for_each(|f| go(&f.pat, out)),
        Pat::Slice(s) => s.elems.iter().for_each(|p| go(p, out)),
        Pat::Reference(r) => go(&r.pat, out),
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

/// Live bindings at each state's entry, and the bindings each state's code mentions.
pub struct Liveness {
    pub live_in: Vec<BTreeSet<BindId>>,
    pub mentioned: Vec<BTreeSet<BindId>>,
}

impl Liveness {
    pub fn live_at(&self, c: &Cont) -> BTreeSet<BindId> {
        match c {
            Cont::Goto(s) => self.live_in[*s].clone(),
            Cont::Done => BTreeSet::new(),
        }
    }
}

/// Backward dataflow: `live(code) = uses ∪ (live(rest) − defs − kills)`, where a jump's live
/// set is its target state's live-in, iterated over all states until nothing changes.
pub fn liveness(m: &Machine) -> Liveness {
    let n = m.states.len();
    let mut lv = Liveness {
        live_in: vec![BTreeSet::new(); n],
        mentioned: vec![BTreeSet::new(); n],
    };
    for (i, s) in m.states.iter().enumerate() {
        let mut set = BTreeSet::new();
        mentions(&s.body, &mut set);
        lv.mentioned[i] = set;
    }
    loop {
        let mut changed = false;
        for i in (0..n).rev() {
            let st = &m.states[i];
            let mut l = live_seq(&st.body, &lv);
            // What is kept to the end of its scope is "live" wherever it is in scope.
            l.extend(m.keep.iter().copied());
            l.retain(|b| st.scope.contains(b));
            if l != lv.live_in[i] {
                lv.live_in[i] = l;
                changed = true;
            }
        }
        if !changed {
            return lv;
        }
    }
}

pub fn live_seq(nodes: &[Node], lv: &Liveness) -> BTreeSet<BindId> {
    let mut l = BTreeSet::new();
    for node in nodes.iter().rev() {
        l = live_node(node, l, lv);
    }
    l
}

pub fn live_node(node: &Node, after: BTreeSet<BindId>, lv: &Liveness) -> BTreeSet<BindId> {
    match node {
        Node::Code(c) => {
            let mut l = after;
            for b in c.kills.iter().chain(&c.defs) {
                l.remove(b);
            }
            for j in &c.jumps {
                let mut t = lv.live_at(&j.target);
                if let Some(d) = j.assign {
                    t.remove(&d);
                }
                l.extend(t);
            }
            l.extend(c.uses.iter().copied());
            l
        }
        Node::Jump { target: t, .. }
        | Node::Join { target: t, .. }
        | Node::Park { target: t, .. } => lv.live_in[*t].clone(),
        Node::Done => BTreeSet::new(),
        Node::If {
            uses,
            defs,
            then,
            els,
            ..
        } => {
            let mut l = live_seq(then, lv);
            for d in defs {
                l.remove(d);
            }
            l.extend(live_seq(els, lv));
            l.extend(uses.iter().copied());
            l
        }
        Node::Match { uses, arms, .. } => {
            let mut l: BTreeSet<BindId> = uses.iter().copied().collect();
            for a in arms {
                let mut al = live_seq(&a.body, lv);
                al.extend(a.guard_uses.iter().copied());
                for d in &a.defs {
                    al.remove(d);
                }
                l.extend(al);
            }
            l
        }
        Node::Block(b) => live_seq(b, lv),
        Node::Cfg { then, els, .. } => {
            let mut l = live_seq(then, lv);
            l.extend(live_seq(els, lv));
            l
        }
    }
}

fn mentions(nodes: &[Node], out: &mut BTreeSet<BindId>) {
    for node in nodes {
        match node {
            Node::Code(c) => {
                out.extend(c.uses.iter().chain(&c.kills).chain(&c.writes).copied());
                out.extend(c.jumps.iter().filter_map(|j| j.assign));
            }
            Node::If {
                uses, then, els, ..
            } => {
                out.extend(uses.iter().copied());
                mentions(then, out);
                mentions(els, out);
            }
            Node::Match { uses, arms, .. } => {
                out.extend(uses.iter().copied());
                for a in arms {
                    out.extend(a.guard_uses.iter().copied());
                    mentions(&a.body, out);
                }
            }
            Node::Block(b) => mentions(b, out),
            Node::Cfg { then, els, .. } => {
                mentions(then, out);
                mentions(els, out);
            }
            Node::Jump { .. } | Node::Join { .. } | Node::Park { .. } | Node::Done => {}
        }
    }
}

/// Late bindings (`let v;`, destination temporaries) definitely initialised at each state's
/// entry: a forward "must" dataflow over the graph, met by intersection, iterated to a
/// fixpoint. A late binding is saved at a jump and restored at a state only where it is
/// initialised, as Rust would let it be moved.
///
/// Input:  `let v; loop { twait!{…}; if c { v = 1; break; } } use(v)`
/// Output: `v` initialised at the state after the loop (the `break` assigns it first), not at
/// the loop's states.
pub fn initialised(m: &Machine) -> Vec<BTreeSet<BindId>> {
    let n = m.states.len();
    let mut init_in: Vec<Option<BTreeSet<BindId>>> = vec![None; n];
    if n > 0 {
        init_in[0] = Some(BTreeSet::new());
    }
    loop {
        let mut changed = false;
        for s in 0..n {
            let Some(cur) = init_in[s].clone() else {
                continue;
            };
            init_walk(&m.states[s].body, cur, &mut |t, set| {
                let next = match &init_in[t] {
                    None => set.clone(),
                    Some(old) => old.intersection(set).copied().collect(),
                };
                if init_in[t].as_ref() != Some(&next) {
                    init_in[t] = Some(next);
                    changed = true;
                }
            });
        }
        if !changed {
            return init_in.into_iter().map(Option::unwrap_or_default).collect();
        }
    }
}

/// What is initialised after `c`, given `cur` before it.
pub fn init_after(c: &Code, cur: &mut BTreeSet<BindId>) {
    if c.decl_only {
        for d in &c.defs {
            cur.remove(d);
        }
    }
    cur.extend(c.kills.iter().copied());
    cur.extend(c.definite.iter().map(|(b, _)| *b));
}

/// What is initialised at jump `j` out of a statement that had `cur` before it.
pub fn init_at_jump(j: &JumpSpec, cur: &BTreeSet<BindId>) -> BTreeSet<BindId> {
    let mut at = cur.clone();
    at.extend(j.assigned.iter().copied());
    at.extend(j.assign);
    at
}

fn init_walk(
    nodes: &[Node],
    mut cur: BTreeSet<BindId>,
    out: &mut impl FnMut(StateId, &BTreeSet<BindId>),
) {
    for node in nodes {
        match node {
            Node::Code(c) => {
                if c.decl_only {
                    for d in &c.defs {
                        cur.remove(d);
                    }
                }
                for j in &c.jumps {
                    if let Cont::Goto(t) = j.target {
                        out(t, &init_at_jump(j, &cur));
                    }
                }
                init_after(c, &mut cur);
            }
            Node::Jump { target, .. } | Node::Join { target, .. } | Node::Park { target, .. } => {
                out(*target, &cur)
            }
            Node::Done => {}
            Node::If { then, els, .. } => {
                init_walk(then, cur.clone(), out);
                init_walk(els, cur.clone(), out);
            }
            Node::Match { arms, .. } => {
                for a in arms {
                    init_walk(&a.body, cur.clone(), out);
                }
            }
            Node::Block(b) => init_walk(b, cur.clone(), out),
            Node::Cfg { then, els, .. } => {
                init_walk(then, cur.clone(), out);
                init_walk(els, cur.clone(), out);
            }
        }
    }
}
