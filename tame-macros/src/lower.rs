//! Pass 3, lower: the checked function body → a [`Machine`], a graph of states.
//!
//! Takes the [`Input`] and gives every state's code as a tree of [`Node`]s, the bindings
//! (locals, parameters, temporaries, each numbered so shadowing is exact) and the `mkevent!(place)`
//! sites. Only statements that contain a `twait!` are taken apart; every other statement becomes
//! one [`Node::Code`] holding the user's tokens as written (spans kept), with `break`/`continue`
//! to a taken-apart loop and `return` rewritten into jumps.
//!
//! A state begins at every resume point (after a `twait!`), at every loop header, and at every
//! join point after a construct that contains a wait. Code between them is emitted inline where
//! it is reached, so nested `if`/`match` keep their Rust scopes and bindings flow naturally.
//! Every path through a state's tree ends in a jump, a suspension or `Done`.

use std::collections::VecDeque;

use proc_macro2::{Span, TokenStream};
use quote::{format_ident, quote, quote_spanned};
use syn::spanned::Spanned;
use syn::visit_mut::VisitMut;
use syn::{
    Block, Expr, Ident, Label, Macro, Pat, Stmt, Token, Type, parse_quote, parse_quote_spanned,
};

use crate::graph::{
    Arm, BindId, Binding, Code, Machine, Next, Node, State, StateId, internal, shadows, visible,
    wild_param,
};
use crate::parse::{Input, as_twait_block};
use crate::receiver::self_ident;
use crate::rewrite::{Hoisted, Hoister, Jumps, LoopCx, Mkevents, find_loop};
use crate::syntax::{
    PatBinding, contains_wait, definite_assigns, free_names, free_names_stmt, is_construct,
    let_bindings, pat_bindings, pat_bindings_of,
};

pub fn lower(input: &Input) -> syn::Result<Machine> {
    let mut l = Lower {
        m: Machine {
            states: Vec::new(),
            binds: Vec::new(),
            params: Vec::new(),
            sites: Vec::new(),
            items: Vec::new(),
            site_cfg: Vec::new(),
            keep: Default::default(),
        },
        frames: vec![Vec::new()],
        loops: Vec::new(),
        errors: Vec::new(),
        ntmp: 0,
        cfg: Vec::new(),
        items: Vec::new(),
        moved: Default::default(),
    };
    for arg in &input.func.sig.inputs {
        match arg {
            syn::FnArg::Receiver(r) => {
                let id = l.bind(self_ident(r.self_token.span), r.mutability.is_some(), None);
                l.m.params.push(id);
            }
            // `_: Guard` lives to the end of the call, as in Rust: it gets a hidden name.
            syn::FnArg::Typed(pt) if matches!(&*pt.pat, Pat::Wild(_)) => {
                let id = l.m.binds.len();
                let name = wild_param(id);
                let id = l.bind(name, false, None);
                l.m.params.push(id);
            }
            syn::FnArg::Typed(pt) => {
                for b in pat_bindings(&pt.pat) {
                    let id = l.bind(b.ident, b.mutable, None);
                    l.m.params.push(id);
                }
            }
        }
    }
    let s0 = l.new_state();
    let body = l.lower_block(&input.func.block.stmts, Next::Done, None);
    l.m.states[s0].body = body;
    l.m.keep = (0..l.m.binds.len())
        .filter(|&b| l.m.binds[b].scoped && !l.moved.contains(&b))
        .collect();
    match crate::diag::combine(l.errors) {
        Some(e) => Err(e),
        None => {
            l.m.thread_jumps();
            l.m.reorder();
            Ok(l.m)
        }
    }
}

struct Lower {
    m: Machine,
    /// Lexical scopes of the code being lowered, innermost last.
    frames: Vec<Vec<BindId>>,
    loops: Vec<LoopCx>,
    errors: Vec<syn::Error>,
    ntmp: usize,
    /// `#[cfg]` attributes of the statements being lowered, outermost first.
    cfg: Vec<syn::Attribute>,
    /// Repeatable items (`fn`, `const`, `use`, …) of the blocks being lowered, outermost first.
    items: Vec<Vec<syn::Item>>,
    /// Bindings the body may move out of somewhere ([`crate::moves`]), each name resolved
    /// where it is used, so a moved binding does not make another of its name "moved".
    moved: std::collections::BTreeSet<BindId>,
}

impl Lower {
    fn bind(&mut self, ident: Ident, mutable: bool, ty: Option<Type>) -> BindId {
        let id = self.m.binds.len();
        let hidden = format_ident!("__tame_h{}", id, span = Span::mixed_site());
        self.m.binds.push(Binding {
            ident,
            mutable,
            ty,
            hidden,
            scoped: true,
            cfg: self.cfg.clone(),
            late: false,
        });
        self.frames.last_mut().expect("a frame").push(id);
        id
    }

    /// A temporary of the macro's own: kept only while live.
    fn bind_tmp(&mut self, ident: Ident) -> BindId {
        let id = self.bind(ident, false, None);
        self.m.binds[id].scoped = false;
        id
    }

    fn in_scope(&self) -> Vec<BindId> {
        self.frames.iter().flatten().copied().collect()
    }

    fn resolve(&self, name: &str) -> Option<BindId> {
        self.frames
            .iter()
            .rev()
            .flat_map(|f| f.iter().rev())
            .copied()
            .find(|&b| self.m.binds[b].ident == name)
    }

    /// The bindings `names` may refer to: the visible one of each name, or several where
    /// `#[cfg]`s make it one or the other.
    fn resolve_all(&self, names: &[String]) -> Vec<BindId> {
        let vis = visible(&self.m.binds, &self.in_scope());
        let mut v: Vec<BindId> = vis
            .into_iter()
            .filter(|&b| names.iter().any(|n| self.m.binds[b].ident == n))
            .collect();
        v.sort_unstable();
        v.dedup();
        v
    }

    fn new_state(&mut self) -> StateId {
        let scope = self.in_scope();
        self.m.states.push(State {
            scope,
            body: Vec::new(),
            cfg: self.cfg.clone(),
            items: self.items.iter().flatten().cloned().collect(),
        });
        self.m.states.len() - 1
    }

    fn tmp(&mut self, what: &str) -> Ident {
        crate::graph::temporary(&mut self.ntmp, what)
    }

    fn goto(&self, k: Next) -> Node {
        match k {
            Next::Goto(target) => Node::Jump {
                target,
                vis: self.in_scope(),
            },
            Next::Done => Node::Done {
                vis: self.in_scope(),
            },
        }
    }

    /// Binds the names of `p`, matched against `scrutinee`, as new bindings, returning them and
    /// the visible bindings they shadow.
    fn bind_pat(&mut self, p: &Pat, scrutinee: &Expr) -> (Vec<BindId>, Vec<BindId>) {
        self.bind_names(pat_bindings_of(p, scrutinee))
    }

    fn bind_names(&mut self, names: Vec<PatBinding>) -> (Vec<BindId>, Vec<BindId>) {
        let mut defs = Vec::new();
        let mut stash = Vec::new();
        for b in names {
            let before = visible(&self.m.binds, &self.in_scope());
            let by_ref = b.by_ref;
            let new = self.bind(b.ident, b.mutable, b.ty);
            if by_ref {
                // A reference has no drop of its own: keeping it to the end of its scope would
                // show nothing, and would keep a borrow across a wait (a borrow of a local
                // cannot be saved), where Rust ends it at its last use. So it is kept only
                // while it is live, as a moved local is.
                self.moved.insert(new);
            }
            stash.extend(
                before
                    .into_iter()
                    .filter(|&old| shadows(&self.m.binds, new, old)),
            );
            defs.push(new);
        }
        (defs, stash)
    }

    /// Notes the bindings `names` (moved where the lowering is) resolve to. A move under
    /// `#[cfg(…)]` is not noted: the local is kept where the statement is configured out, and
    /// where it is configured in, rustc reports the move at the next wait (E0382), as the
    /// book says, rather than the local being dropped early where it is not.
    ///
    /// Returns the bindings, noted or not: the emitter follows on which paths a local that
    /// is not kept may be moved.
    fn note_moves(&mut self, names: std::collections::BTreeSet<String>) -> Vec<BindId> {
        let names: Vec<String> = names.into_iter().collect();
        let moved = self.resolve_all(&names);
        if self.cfg.is_empty() {
            self.moved.extend(moved.iter().copied());
        }
        moved
    }

    /// A statement kept as written.
    fn code(&mut self, mut stmt: Stmt) -> Node {
        let free = free_names_stmt(&stmt);
        let uses = self.resolve_all(&free.reads);
        let moved = crate::moves::moved_names(std::slice::from_ref(&stmt));
        let moves = if has_cfg(&stmt) {
            self.resolve_all(&moved.into_iter().collect::<Vec<_>>())
        } else {
            self.note_moves(moved)
        };
        let writes = self.resolve_all(&free.writes);
        let kills = self.resolve_all(&definite_assigns(&stmt));
        let vis = self.in_scope();
        let mut jr = Jumps {
            loops: &self.loops,
            inner: Vec::new(),
            jumps: Vec::new(),
            binds: &self.m.binds,
            vis,
            errors: Vec::new(),
            bound: Vec::new(),
            assigned: Vec::new(),
        };
        jr.visit_stmt_mut(&mut stmt);
        let jumps = jr.jumps;
        self.errors.extend(jr.errors);
        let (defs, stash) = match &stmt {
            Stmt::Local(l) => {
                let n = self.cfg.len();
                self.cfg.extend(cfg_attrs(&l.attrs));
                let (defs, stash) = self.bind_names(let_bindings(l));
                self.cfg.truncate(n);
                if l.init.is_none() {
                    for &d in &defs {
                        self.m.binds[d].late = true;
                    }
                }
                (defs, stash)
            }
            _ => (Vec::new(), Vec::new()),
        };
        // `let y;` is re-declared by every state that assigns `y`; here it is only needed if
        // this state does.
        let decl_only = matches!(&stmt, Stmt::Local(l) if l.init.is_none());
        Node::Code(Box::new(Code {
            stmt,
            uses,
            kills,
            writes,
            defs,
            moves,
            stash,
            jumps,
            decl_only,
            definite: None,
        }))
    }

    fn assign(&mut self, dest: BindId, e: Expr) -> Node {
        let d = self.m.binds[dest].ident.clone();
        self.code(parse_quote_spanned!(e.span()=> #d = #e;))
    }

    /// Lowers a block's statements (its frame already pushed by the caller): its items are
    /// visible in all of it, so the repeatable ones (`fn`, `const`, `use`, `type`,
    /// `macro_rules!`) are emitted at its top and at the top of every state inside it; the
    /// others (types, statics, impls, traits) once, before the machine.
    ///
    /// Input:  `{ fn h() {} twait!{…}; h() }`
    /// Output: `{ fn h() {} …; <save>; state = W; … }`   `W => { fn h() {} <restore>; h() … }`
    fn lower_block(&mut self, stmts: &[Stmt], k: Next, dest: Option<BindId>) -> Vec<Node> {
        let mut here = Vec::new();
        for s in stmts {
            if let Stmt::Item(item) = s {
                if repeatable(item) {
                    // Each state has its copy, which a state that does not use it leaves unused.
                    let mut item = item.clone();
                    if let Some(attrs) = item_attrs(&mut item) {
                        attrs
                            .push(parse_quote!(#[allow(unused_imports, dead_code, unused_macros)]));
                    }
                    here.push(item);
                } else {
                    self.m.items.push(item.clone());
                }
            }
        }
        if here.is_empty() {
            return self.lower_stmts(stmts, k, dest);
        }
        let decl = Stmt::Item(syn::Item::Verbatim(quote!(#(#here)*)));
        self.items.push(here);
        let mut out = vec![Node::Code(Box::new(Code {
            stmt: decl,
            uses: Vec::new(),
            kills: Vec::new(),
            writes: Vec::new(),
            defs: Vec::new(),
            moves: Vec::new(),
            stash: Vec::new(),
            jumps: Vec::new(),
            decl_only: false,
            definite: None,
        }))];
        out.extend(self.lower_stmts(stmts, k, dest));
        self.items.pop();
        out
    }

    /// Lowers `stmts` (a block's contents, its frame already pushed by the caller); at the end
    /// control goes to `k`; the tail expression, if any, is assigned to `dest`. Items are
    /// skipped: [`Lower::lower_block`] placed them.
    fn lower_stmts(&mut self, stmts: &[Stmt], k: Next, dest: Option<BindId>) -> Vec<Node> {
        let mut out = Vec::new();
        for (i, s) in stmts.iter().enumerate() {
            let rest = &stmts[i + 1..];
            let is_tail = rest.is_empty() && matches!(s, Stmt::Expr(_, None));
            if let Stmt::Item(_) = s {
                continue;
            }
            // Input:  #[cfg(p)] twait! { … };  rest
            // Output: #[cfg(p)] { …; <save>; state = W; … }  #[cfg(not(all(p)))] { <save>; state = R; continue }
            //   #[cfg(p)] W => …; state = R; continue
            //   R => rest
            if contains_wait(s) {
                let mut clean = s.clone();
                let cfgs = take_cfg_attrs(&mut clean);
                if !cfgs.is_empty() {
                    let vis = self.in_scope();
                    let r = self.new_state();
                    let n = self.cfg.len();
                    self.cfg.extend(cfgs.iter().cloned());
                    let then = self.lower_stmts(&[clean], Next::Goto(r), None);
                    self.cfg.truncate(n);
                    // A `let` under the `#[cfg]` binds names the rest sees (where configured in).
                    self.m.states[r].scope = self.in_scope();
                    out.push(Node::Cfg {
                        attrs: cfgs,
                        then,
                        els: vec![Node::Jump { target: r, vis }],
                    });
                    let body = self.lower_stmts(rest, k, dest);
                    self.m.states[r].body = body;
                    return out;
                }
            }
            if !contains_wait(s) {
                if let Some(nodes) = self.diverge(s) {
                    out.extend(nodes);
                    return out;
                }
                match (s, is_tail, dest) {
                    (Stmt::Expr(e, None), true, Some(d)) => out.push(self.assign(d, e.clone())),
                    (Stmt::Expr(e, None), true, None) => {
                        let semi = Token![;](e.span());
                        out.push(self.code(Stmt::Expr(e.clone(), Some(semi))))
                    }
                    _ => out.push(self.code(s.clone())),
                }
                if is_tail {
                    out.push(self.goto(k));
                    return out;
                }
                continue;
            }

            // Input:  twait! { timer(d, mkevent!()); }  rest
            // Output: { timer(d, __tame_cx.join_event()); }
            //         <save>; state = W; if cx.join_ready(line) { continue } return Blocked;
            //   W =>  <restore>; <drain mkevent!(place) sites>; rest
            if let Some((mac, block)) = as_twait_block(s) {
                let (code, drains, line) = self.twait_block(mac, block);
                out.push(code);
                let w = self.new_state();
                out.push(Node::Join {
                    target: w,
                    line,
                    what: crate::parse::twait_attrs(mac)
                        .what
                        .map_or_else(String::new, |l| l.value()),
                    vis: self.in_scope(),
                    span: mac.path.span(),
                });
                let mut body = Vec::new();
                for (d, definite) in drains {
                    let mut node = self.code(d);
                    if let (Node::Code(c), Some(definite)) = (&mut node, definite) {
                        let late = c.writes.iter().copied().find(|&b| self.m.binds[b].late);
                        if let Some(b) = late {
                            c.definite = Some((b, definite));
                        }
                    }
                    body.push(node);
                }
                body.extend(self.lower_stmts(rest, k, dest));
                self.m.states[w].body = body;
                return out;
            }

            if let Stmt::Expr(e, semi) = s
                && is_construct(e)
            {
                // A wait in the head (`if twait!(r).is_some() { … }`) is pulled out first.
                let mut e2 = e.clone();
                let hoisted = self.hoist_head(&mut e2);
                if !hoisted.is_empty() {
                    let mut after = vec![Stmt::Expr(e2, *semi)];
                    after.extend(rest.iter().cloned());
                    out.extend(self.lower_hoisted(hoisted, after, k, dest));
                    return out;
                }
                if is_tail {
                    out.extend(self.construct(e, k, dest));
                } else {
                    let m = self.new_state();
                    out.extend(self.construct(e, Next::Goto(m), None));
                    let body = self.lower_stmts(rest, k, dest);
                    self.m.states[m].body = body;
                }
                return out;
            }

            // Input:  let v = f(twait!(r));  rest
            // Output: <save>; state = P; continue
            //   P =>  match cx.poll_rv(&r, line) {
            //             Some(__tame_t1) => { let v = f(__tame_t1); rest }
            //             None => { <save>; return Blocked }
            //         }
            let mut s2 = s.clone();
            let hoisted = self.hoist_stmt(&mut s2);
            if hoisted.is_empty() {
                self.errors.push(syn::Error::new_spanned(
                    s,
                    "`twait!` is not supported in this position; move it into its own statement",
                ));
                out.push(Node::Done {
                    vis: self.in_scope(),
                });
                return out;
            }
            let mut after = vec![s2];
            after.extend(rest.iter().cloned());
            out.extend(self.lower_hoisted(hoisted, after, k, dest));
            return out;
        }
        if let Some(d) = dest {
            out.push(self.assign(d, parse_quote!(())));
        }
        out.push(self.goto(k));
        out
    }

    fn lower_hoisted(
        &mut self,
        mut list: VecDeque<Hoisted>,
        after: Vec<Stmt>,
        k: Next,
        dest: Option<BindId>,
    ) -> Vec<Node> {
        match list.pop_front() {
            None => self.lower_stmts(&after, k, dest),
            Some(Hoisted::Poll { r, tmp, line }) => {
                let p = self.new_state();
                let free = free_names(&r);
                let uses = self.resolve_all(&free.reads);
                let writes = self.resolve_all(&free.writes);
                let moves = self.note_moves(crate::moves::moved_in(&r, false));
                let vis = self.in_scope();
                let t = self.bind_tmp(tmp.clone());
                let some_body = self.lower_hoisted(list, after, k, dest);
                let cx = internal("__tame_cx");
                let scrut: Expr = parse_quote_spanned!(r.span()=> #cx.poll_rv(&(#r), #line));
                self.m.states[p].body = vec![Node::Match {
                    scrut,
                    uses,
                    writes,
                    moves,
                    stash: Vec::new(),
                    arms: vec![
                        Arm {
                            pat: parse_quote!(::core::option::Option::Some(#tmp)),
                            defs: vec![t],
                            guard: None,
                            guard_uses: Vec::new(),
                            body: some_body,
                        },
                        Arm {
                            pat: parse_quote!(::core::option::Option::None),
                            defs: Vec::new(),
                            guard: None,
                            guard_uses: Vec::new(),
                            body: vec![Node::Park {
                                target: p,
                                line: line.clone(),
                                vis: vis.clone(),
                            }],
                        },
                    ],
                }];
                // What is in scope here: not the poll's value, nor what the rest binds.
                vec![Node::Jump { target: p, vis }]
            }
            // Input:  let s = a() + twait!(r).unwrap().1;
            // Output: let mut __tame_o1 = a();  <poll r into __tame_t2>  let s = __tame_o1 + __tame_t2.unwrap().1;
            Some(Hoisted::Value { e, tmp }) => {
                let node = self.code(parse_quote_spanned!(e.span()=> let mut #tmp = #e;));
                if let Node::Code(c) = &node {
                    for &d in &c.defs {
                        self.m.binds[d].scoped = false;
                    }
                }
                let mut out = vec![node];
                out.extend(self.lower_hoisted(list, after, k, dest));
                out
            }
            Some(Hoisted::Construct { e, tmp }) => {
                let mut decl = self.code(parse_quote!(let #tmp;));
                if let Node::Code(c) = &mut decl {
                    c.decl_only = true;
                }
                let mut out = vec![decl];
                let t = self.resolve(&tmp.to_string()).expect("just bound");
                // The destination is read once, by the statement the construct was in.
                self.m.binds[t].scoped = false;
                let m = self.new_state();
                out.extend(self.lower_stmts(&[Stmt::Expr(e, None)], Next::Goto(m), Some(t)));
                let body = self.lower_hoisted(list, after, k, dest);
                self.m.states[m].body = body;
                out
            }
        }
    }

    /// `break` / `continue` / `return` as a whole statement of taken-apart code.
    fn diverge(&mut self, s: &Stmt) -> Option<Vec<Node>> {
        let e = match s {
            Stmt::Expr(e, _) => e,
            _ => return None,
        };
        match e {
            Expr::Break(b) => {
                let cx = self.find_loop(b.label.as_ref().map(|l| l.ident.to_string()))?;
                let mut out = Vec::new();
                if let Some(v) = &b.expr {
                    match cx.dest {
                        Some(d) => out.push(self.assign(d, (**v).clone())),
                        None => out.push(self.code(parse_quote_spanned!(v.span()=> let _ = #v;))),
                    }
                }
                out.push(self.goto(cx.break_to));
                Some(out)
            }
            Expr::Continue(c) => {
                let cx = self.find_loop(c.label.as_ref().map(|l| l.ident.to_string()))?;
                Some(vec![self.goto(Next::Goto(cx.continue_to?))])
            }
            Expr::Return(r) => {
                let mut out = Vec::new();
                if let Some(v) = &r.expr {
                    out.push(self.code(parse_quote_spanned!(v.span()=> let () = #v;)));
                }
                out.push(Node::Done {
                    vis: self.in_scope(),
                });
                Some(out)
            }
            _ => None,
        }
    }

    fn find_loop(&self, label: Option<String>) -> Option<LoopCx> {
        find_loop(&self.loops, label.as_deref()).cloned()
    }

    /// A block-like expression containing a wait (none in its head).
    fn construct(&mut self, e: &Expr, k: Next, dest: Option<BindId>) -> Vec<Node> {
        match e {
            Expr::Block(b) => {
                if b.block.stmts.is_empty() {
                    return vec![self.goto(k)];
                }
                if let Some(l) = &b.label {
                    self.loops.push(LoopCx {
                        label: Some(l.name.ident.to_string()),
                        break_to: k,
                        continue_to: None,
                        dest,
                    });
                }
                if let Some(u) = &b.attrs.first() {
                    self.errors.push(syn::Error::new_spanned(
                        u,
                        "attributes on a block containing `twait!` are not supported",
                    ));
                }
                self.frames.push(Vec::new());
                let nodes = self.lower_block(&b.block.stmts, k, dest);
                self.frames.pop();
                if b.label.is_some() {
                    self.loops.pop();
                }
                vec![Node::Block(nodes)]
            }
            // Input:  if c { twait!{…}; a } else { b }  rest
            // Output: if c { …; <save>; state = W; … } else { b; <save>; state = M; continue }
            //   W =>  a; <save>; state = M; continue
            //   M =>  rest
            Expr::If(i) => {
                let free = free_names(&i.cond);
                let uses = self.resolve_all(&free.reads);
                let writes = self.resolve_all(&free.writes);
                let moves = self.note_moves(crate::moves::moved_in(&i.cond, true));
                self.frames.push(Vec::new());
                let mut defs = Vec::new();
                let mut stash = Vec::new();
                for (p, scrutinee) in let_pats(&i.cond) {
                    let (d, s) = self.bind_pat(p, scrutinee);
                    defs.extend(d);
                    stash.extend(s);
                }
                let then = self.lower_block(&i.then_branch.stmts, k, dest);
                self.frames.pop();
                let els = match &i.else_branch {
                    Some((_, e)) => self.lower_branch(e, k, dest),
                    None => {
                        let mut v = Vec::new();
                        if let Some(d) = dest {
                            v.push(self.assign(d, parse_quote!(())));
                        }
                        v.push(self.goto(k));
                        v
                    }
                };
                vec![Node::If {
                    cond: (*i.cond).clone(),
                    uses,
                    writes,
                    moves,
                    defs,
                    stash,
                    then,
                    els,
                }]
            }
            Expr::Match(mm) => {
                let free = free_names(&mm.expr);
                let uses = self.resolve_all(&free.reads);
                let mut writes = self.resolve_all(&free.writes);
                let mut moves = self.note_moves(crate::moves::moved_in(&mm.expr, true));
                let mut arms = Vec::new();
                let mut stash = Vec::new();
                for a in &mm.arms {
                    self.frames.push(Vec::new());
                    let (defs, s) = self.bind_pat(&a.pat, &mm.expr);
                    stash.extend(s);
                    let guard = a.guard.as_ref().map(|(_, g)| (**g).clone());
                    let guard_free = guard.as_ref().map(free_names);
                    let guard_uses = guard_free
                        .as_ref()
                        .map(|f| self.resolve_all(&f.reads))
                        .unwrap_or_default();
                    // A guard that assigns a local (`_ if { n = 5; … }`) names it in the
                    // state, as the scrutinee would: noted with the scrutinee's writes.
                    if let Some(f) = &guard_free {
                        writes.extend(self.resolve_all(&f.writes));
                    }
                    if let Some(g) = &guard {
                        moves.extend(self.note_moves(crate::moves::moved_in(g, false)));
                    }
                    let body = self.lower_branch(&a.body, k, dest);
                    self.frames.pop();
                    arms.push(Arm {
                        pat: a.pat.clone(),
                        defs,
                        guard,
                        guard_uses,
                        body,
                    });
                }
                stash.sort_unstable();
                stash.dedup();
                vec![Node::Match {
                    scrut: (*mm.expr).clone(),
                    uses,
                    writes,
                    moves,
                    stash,
                    arms,
                }]
            }
            // Input:  'l: loop { body }  rest
            // Output: <save>; state = H; continue
            //   H =>  body; <save>; state = H; continue      (break 'l → state = M, continue 'l → H)
            //   M =>  rest
            Expr::Loop(lp) => {
                let h = self.new_state();
                let label = lp.label.as_ref().map(|l| l.name.ident.to_string());
                self.loops.push(LoopCx {
                    label,
                    break_to: k,
                    continue_to: Some(h),
                    dest,
                });
                self.frames.push(Vec::new());
                let body = self.lower_block(&lp.body.stmts, Next::Goto(h), None);
                self.frames.pop();
                self.loops.pop();
                self.m.states[h].body = body;
                vec![Node::Jump {
                    target: h,
                    vis: self.in_scope(),
                }]
            }
            // Desugar `'l: while c { body }` into `'l: loop { if c { body } else { break } }`.
            Expr::While(w) => {
                let label = &w.label;
                let cond = &w.cond;
                let body = &w.body;
                let lp: Expr = parse_quote_spanned!(w.while_token.span=> #label loop { if #cond #body else { break } });
                self.construct(&lp, k, dest)
            }
            // Desugar `'l: for pat in e { body }` into an iterator kept across resumes:
            // { let mut __tame_iterN = IntoIterator::into_iter(e);
            //   'l: loop { match Iterator::next(&mut __tame_iterN) { Some(pat) => body, None => break } } }
            Expr::ForLoop(f) => {
                let it = self.tmp("iter");
                // Located at the iterable, so a borrowing iterator kept across a wait is
                // reported there.
                let it = Ident::new(
                    &it.to_string(),
                    Span::mixed_site().located_at(f.expr.span()),
                );
                let label: &Option<Label> = &f.label;
                let pat = &f.pat;
                let body = &f.body;
                let iter = &f.expr;
                let sp = f.for_token.span;
                let into: Expr = parse_quote_spanned!(iter.span()=> ::core::iter::IntoIterator::into_iter(#iter));
                let lp: Expr = parse_quote_spanned!(sp=> {
                    let mut #it = #into;
                    #label loop {
                        match ::core::iter::Iterator::next(&mut #it) {
                            ::core::option::Option::Some(#pat) => #body,
                            ::core::option::Option::None => break,
                        }
                    }
                });
                self.construct(&lp, k, dest)
            }
            Expr::Paren(p) => self.construct(&p.expr, k, dest),
            other => {
                self.errors.push(syn::Error::new_spanned(
                    other,
                    "`twait!` is not supported in this expression",
                ));
                vec![Node::Done { vis: Vec::new() }]
            }
        }
    }

    /// An `else` branch or a match arm's body, in its own scope. A plain block is lowered
    /// statement by statement, so a `break` in it is a jump, not code followed by one.
    fn lower_branch(&mut self, e: &Expr, k: Next, dest: Option<BindId>) -> Vec<Node> {
        self.frames.push(Vec::new());
        let n = match e {
            Expr::Block(b) if b.label.is_none() && b.attrs.is_empty() => {
                self.lower_block(&b.block.stmts, k, dest)
            }
            other => self.lower_stmts(&[Stmt::Expr(other.clone(), None)], k, dest),
        };
        self.frames.pop();
        n
    }

    /// Pulls the waits out of the head of a construct (`if` condition, `match` scrutinee,
    /// `for` iterable), leaving temporaries in their place.
    fn hoist_head(&mut self, e: &mut Expr) -> VecDeque<Hoisted> {
        let mut h = Hoister {
            out: VecDeque::new(),
            ntmp: &mut self.ntmp,
        };
        match e {
            Expr::If(i) => h.visit_expr_mut(&mut i.cond),
            Expr::Match(m) => h.visit_expr_mut(&mut m.expr),
            Expr::ForLoop(f) => h.visit_expr_mut(&mut f.expr),
            _ => {}
        }
        // A head that may jump (`match { let Some(x) = o else { return }; x } { … }`) is
        // evaluated first, as a statement of its own, where jumps are lowered; the construct
        // then reads its value.
        let head = match e {
            Expr::If(i) => match &mut *i.cond {
                Expr::Let(l) => Some(&mut *l.expr),
                c if !crate::syntax::contains_let(c) => Some(&mut *i.cond),
                _ => None,
            },
            Expr::Match(m) => Some(&mut *m.expr),
            Expr::ForLoop(f) => Some(&mut *f.expr),
            _ => None,
        };
        if let Some(head) = head
            && crate::syntax::contains_jump(head)
        {
            let tmp = h.tmp("o");
            let taken = std::mem::replace(head, parse_quote!(#tmp));
            h.out.push_back(Hoisted::Value { e: taken, tmp });
        }
        h.out
    }

    /// Pulls every wait out of a statement (a `let`'s initialiser, not its `else`).
    fn hoist_stmt(&mut self, s: &mut Stmt) -> VecDeque<Hoisted> {
        let mut h = Hoister {
            out: VecDeque::new(),
            ntmp: &mut self.ntmp,
        };
        match s {
            Stmt::Local(l) => {
                if let Some(init) = &mut l.init {
                    h.visit_expr_mut(&mut init.expr);
                }
            }
            Stmt::Expr(e, _) => h.visit_expr_mut(e),
            Stmt::Macro(m) => {
                // `twait!(r);` as a statement: its value is dropped.
                let e: Expr = Expr::Macro(syn::ExprMacro {
                    attrs: m.attrs.clone(),
                    mac: m.mac.clone(),
                });
                let mut e2 = e.clone();
                h.visit_expr_mut(&mut e2);
                *s = Stmt::Expr(e2, Some(Token![;](Span::call_site())));
            }
            Stmt::Item(_) => {}
        }
        h.out
    }

    /// The body of `twait! {}` with its `mkevent!`s made, and the code that drains each
    /// `mkevent!(place)` site after the join.
    fn twait_block(
        &mut self,
        mac: &Macro,
        mut block: Block,
    ) -> (Node, Vec<(Stmt, Option<Stmt>)>, TokenStream) {
        let mut mk = Mkevents {
            sites: Vec::new(),
            nsite: self.m.sites.len(),
            bound: Vec::new(),
            volatile: crate::parse::twait_attrs(mac).volatile,
        };
        mk.visit_block_mut(&mut block);
        for (site, ..) in &mk.sites {
            self.m.sites.push(site.clone());
            self.m.site_cfg.push(self.cfg.clone());
        }
        // Sites whose places may be one place (rooted at one local, or not at a local at all)
        // are drained together, in trigger order: the value of the event triggered last
        // stands, as if each had written its place when it triggered. Others are drained one
        // site after another.
        let roots: Vec<_> = mk
            .sites
            .iter()
            .map(|(_, place, ..)| crate::rewrite::place_root(place))
            .collect();
        let mut groups: Vec<Vec<usize>> = Vec::new();
        for (i, root) in roots.iter().enumerate() {
            let joins = |g: &Vec<usize>| {
                g.iter()
                    .any(|&j| root.is_none() || roots[j].is_none() || roots[j] == *root)
            };
            match groups.iter_mut().find(|g| joins(g)) {
                Some(g) => g.push(i),
                None => groups.push(vec![i]),
            }
        }
        let drains = groups
            .iter()
            .map(|g| {
                let sites: Vec<_> = g.iter().map(|&i| &mk.sites[i]).collect();
                drain_sites(&sites)
            })
            .collect();
        let line = quote_spanned!(mac.path.span()=> ::core::line!());
        let code = self.code(Stmt::Expr(
            Expr::Block(syn::ExprBlock {
                attrs: Vec::new(),
                label: None,
                block,
            }),
            None,
        ));
        (code, drains, line)
    }
}

/// The code that writes the values of `mkevent!(place)` sites after their `twait!{}`, and for
/// a place that is a late local, what to emit instead where it is not yet initialised.
///
/// One site:
///     if let Some(rv) = &__tame_site1 { while let Some(((k0,), v)) = rv.try_join() { a[k0] = v; } }
/// Several sites that may write one place take the oldest value of any of them each round:
///     loop {
///         let t0 = cx.site_stamp(&__tame_site1);
///         let t1 = cx.site_stamp(&__tame_site2);
///         let t = min(t0, t1);
///         if t == u64::MAX { break; }
///         if t == t0 { <take one from site1> } else if t == t1 { <take one from site2> }
///     }
/// The value carries the `mkevent!`'s span: a place of the wrong type is reported at that
/// `mkevent!`.
fn drain_sites(sites: &[&(Ident, Expr, Vec<Ident>, Span)]) -> (Stmt, Option<Stmt>) {
    let rv = internal("__tame_rv");
    let last = internal("__tame_last");
    let cx = internal("__tame_cx");
    // A local declared without a value (`let v: u32;`) has no value to keep if its events are
    // dropped untriggered: the call panics there, saying so, and `v` is initialised after the
    // wait as a blocking call would have made it.
    let late_name = {
        let names: Vec<_> = sites
            .iter()
            .map(|(_, place, ..)| crate::syntax::path_name(place))
            .collect();
        match &names[0] {
            Some(n) if names.iter().all(|m| m.as_ref() == Some(n)) => Some(n.clone()),
            _ => None,
        }
    };
    // `write(v)`: what one value does to its place.
    let take_one = |(site, place, keys, at): &(Ident, Expr, Vec<Ident>, Span),
                    to_last: bool,
                    all: bool| {
        let v = Ident::new("__tame_v", Span::mixed_site().located_at(*at));
        let write: Stmt = if to_last {
            parse_quote_spanned!(place.span()=> #last = ::core::option::Option::Some(#v);)
        } else {
            parse_quote_spanned!(place.span()=> #place = #v;)
        };
        let keys: Vec<_> = keys.iter().collect();
        if all {
            quote_spanned!(place.span()=>
                if let ::core::option::Option::Some(#rv) = &#site {
                    while let ::core::option::Option::Some(((#(#keys,)*), #v)) = #rv.try_join() {
                        #write
                    }
                }
            )
        } else {
            quote_spanned!(place.span()=>
                if let ::core::option::Option::Some(#rv) = &#site {
                    if let ::core::option::Option::Some(((#(#keys,)*), #v)) = #rv.try_join() {
                        #write
                    }
                }
            )
        }
    };
    let body = |to_last: bool| -> TokenStream {
        if sites.len() == 1 {
            return take_one(sites[0], to_last, true);
        }
        let stamps: Vec<_> = (0..sites.len())
            .map(|i| format_ident!("__tame_t{}", i, span = Span::mixed_site()))
            .collect();
        let t = internal("__tame_t");
        let idents: Vec<_> = sites.iter().map(|s| &s.0).collect();
        let first = &stamps[0];
        let rest = &stamps[1..];
        let arms: Vec<_> = sites.iter().map(|s| take_one(s, to_last, false)).collect();
        quote!(
            loop {
                #(let #stamps = #cx.site_stamp(&#idents);)*
                let #t = #first #(.min(#rest))*;
                if #t == ::core::primitive::u64::MAX {
                    break;
                }
                #(if #t == #stamps { #arms } else)* {}
            }
        )
    };
    let span = sites[0].1.span();
    let drain: Stmt = {
        let b = body(false);
        parse_quote_spanned!(span=> #b)
    };
    let definite = late_name.map(|name| {
        let msg = syn::LitStr::new(
            &format!(
                "tame: the event for `{name}` was dropped untriggered, and `{name}` was declared without a value"
            ),
            span,
        );
        let place = &sites[0].1;
        let b = body(true);
        let v = Ident::new("__tame_v", Span::mixed_site().located_at(sites[0].3));
        parse_quote_spanned!(span=>
            #place = {
                let mut #last = ::core::option::Option::None;
                #b
                match #last {
                    ::core::option::Option::Some(#v) => #v,
                    ::core::option::Option::None => ::core::panic!(#msg),
                }
            };
        )
    });
    (drain, definite)
}

/// Items that may be written once per state without changing the program: each copy is the
/// same function, constant, import or alias. A type, static, trait or impl written twice
/// would be two different things.
fn repeatable(item: &syn::Item) -> bool {
    matches!(
        item,
        syn::Item::Fn(_) | syn::Item::Const(_) | syn::Item::Use(_) | syn::Item::Type(_)
    ) || matches!(item, syn::Item::Macro(m) if m.mac.path.is_ident("macro_rules"))
}

fn item_attrs(item: &mut syn::Item) -> Option<&mut Vec<syn::Attribute>> {
    Some(match item {
        syn::Item::Fn(i) => &mut i.attrs,
        syn::Item::Const(i) => &mut i.attrs,
        syn::Item::Use(i) => &mut i.attrs,
        syn::Item::Type(i) => &mut i.attrs,
        syn::Item::Macro(i) => &mut i.attrs,
        _ => return None,
    })
}

/// Whether a statement is under `#[cfg(…)]` of its own.
fn has_cfg(s: &Stmt) -> bool {
    !take_cfg_attrs(&mut s.clone()).is_empty()
}

/// Removes and returns the `#[cfg(…)]` attributes of a statement.
fn take_cfg_attrs(s: &mut Stmt) -> Vec<syn::Attribute> {
    let attrs = match s {
        Stmt::Local(l) => &mut l.attrs,
        Stmt::Macro(m) => &mut m.attrs,
        Stmt::Item(_) => return Vec::new(),
        Stmt::Expr(e, _) => match expr_attrs(e) {
            Some(a) => a,
            None => return Vec::new(),
        },
    };
    let cfgs = cfg_attrs(attrs);
    attrs.retain(|a| !a.path().is_ident("cfg"));
    cfgs
}

fn expr_attrs(e: &mut Expr) -> Option<&mut Vec<syn::Attribute>> {
    Some(match e {
        Expr::Assign(x) => &mut x.attrs,
        Expr::Binary(x) => &mut x.attrs,
        Expr::Block(x) => &mut x.attrs,
        Expr::Call(x) => &mut x.attrs,
        Expr::ForLoop(x) => &mut x.attrs,
        Expr::If(x) => &mut x.attrs,
        Expr::Loop(x) => &mut x.attrs,
        Expr::Macro(x) => &mut x.attrs,
        Expr::Match(x) => &mut x.attrs,
        Expr::MethodCall(x) => &mut x.attrs,
        Expr::Paren(x) => &mut x.attrs,
        Expr::While(x) => &mut x.attrs,
        _ => return None,
    })
}

/// The `#[cfg(…)]` attributes among `attrs`.
pub fn cfg_attrs(attrs: &[syn::Attribute]) -> Vec<syn::Attribute> {
    attrs
        .iter()
        .filter(|a| a.path().is_ident("cfg"))
        .cloned()
        .collect()
}

/// The patterns of the `let`s in an `if` condition (`if let P = e && let Q = f`).
fn let_pats(cond: &Expr) -> Vec<(&Pat, &Expr)> {
    match cond {
        Expr::Let(l) => vec![(&l.pat, &l.expr)],
        Expr::Binary(b) if matches!(b.op, syn::BinOp::And(_)) => {
            let mut v = let_pats(&b.left);
            v.extend(let_pats(&b.right));
            v
        }
        Expr::Paren(p) => let_pats(&p.expr),
        _ => Vec::new(),
    }
}
