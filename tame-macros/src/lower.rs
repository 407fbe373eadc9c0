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
    Block, Expr, Ident, Label, Macro, Pat, Path, Stmt, Token, Type, parse_quote,
    parse_quote_spanned,
};

use crate::analyse::{
    contains_wait, contains_wait_expr, definite_assigns, free_names, free_names_stmt, pat_bindings,
};
use crate::parse::{Input, TameMacro, as_poll, as_twait_block, self_ident};

pub type BindId = usize;
pub type StateId = usize;

/// A local the state machine may have to keep: a user binding, a parameter or a temporary.
pub struct Binding {
    /// The name, with the user's span (so restored locals resolve like the user's own).
    pub ident: Ident,
    pub mutable: bool,
    /// `let x: T` keeps its annotation when re-declared.
    pub ty: Option<Type>,
    /// The name the binding goes by where another binding of its name shadows it.
    pub hidden: Ident,
    /// Kept to the end of its scope, not only while live: a user's `let` with an initialiser,
    /// a pattern binding or a parameter (not a temporary, not a `let x;` awaiting its value).
    pub scoped: bool,
    /// `#[cfg]` attributes the binding exists under: every slot, save and restore of it
    /// carries them.
    pub cfg: Vec<syn::Attribute>,
    /// Declared without a value (`let v;`, a destination temporary): saved and restored only
    /// where it is definitely initialised ([`crate::analyse::Init`]).
    pub late: bool,
}

/// Where control goes at the end of a piece of code.
#[derive(Clone, Copy, Debug)]
pub enum Cont {
    Goto(StateId),
    /// The end of the function: `Step::Done`.
    Done,
}

pub struct State {
    /// Every binding in scope at the state's entry, in declaration order (shadowed ones too).
    pub scope: Vec<BindId>,
    pub body: Vec<Node>,
    /// `#[cfg]` attributes of the statement the state belongs to (its arm carries them).
    pub cfg: Vec<syn::Attribute>,
    /// Items declared in the blocks the state's code runs in, emitted at the top of its arm.
    pub items: Vec<syn::Item>,
}

/// A jump out of user code kept as written (`break`/`continue` to a taken-apart loop),
/// marked in the tokens by `__tame_jump!(index)`.
pub struct JumpSpec {
    pub target: Cont,
    /// The destination temporary this jump assigns (`break value`).
    pub assign: Option<BindId>,
    /// Bindings in scope at the jump, in declaration order (shadowed ones too).
    pub vis: Vec<BindId>,
    /// Locals made inside the statement are alive at the jump: the jump first leaves the
    /// statement (they are dropped there, as Rust drops them, and every name means again what
    /// it meant before the statement), then saves what it keeps. Else a local that shadows a
    /// kept one would be saved in its place, and a guard borrowing a kept one would still
    /// hold it while it is saved.
    pub shadowed: bool,
    /// Bindings of `vis` the statement assigns on every path to the jump (`v = 1; break;`).
    pub assigned: Vec<BindId>,
}

pub struct Code {
    pub stmt: Stmt,
    pub uses: Vec<BindId>,
    /// Assigned on every path (`x = …`): not live before.
    pub kills: Vec<BindId>,
    /// Assigned somewhere (mentioned, but maybe not on every path).
    pub writes: Vec<BindId>,
    /// New bindings (`let`).
    pub defs: Vec<BindId>,
    /// Bindings the new ones shadow: stashed in their slots first if still needed later.
    pub stash: Vec<BindId>,
    pub jumps: Vec<JumpSpec>,
    /// A bare `let tmp;` for a destination temporary: emitted only if its state uses it.
    pub decl_only: bool,
    /// An event place that is a late local: what to emit instead where it is not yet
    /// initialised (it is, after this code, either way).
    pub definite: Option<(BindId, Stmt)>,
}

pub enum Node {
    Code(Box<Code>),
    /// Save what `target` needs, go there now.
    Jump {
        target: StateId,
        vis: Vec<BindId>,
    },
    /// End of `twait! {}`: save, set the state, continue at once if the join is complete,
    /// else return `Step::Blocked`.
    Join {
        target: StateId,
        line: TokenStream,
        vis: Vec<BindId>,
        span: Span,
    },
    /// `twait!(r)` found nothing: save, stay in this state, return `Step::Blocked`.
    Park {
        target: StateId,
        vis: Vec<BindId>,
    },
    Done,
    If {
        cond: Expr,
        uses: Vec<BindId>,
        defs: Vec<BindId>,
        stash: Vec<BindId>,
        then: Vec<Node>,
        els: Vec<Node>,
    },
    Match {
        scrut: Expr,
        uses: Vec<BindId>,
        stash: Vec<BindId>,
        arms: Vec<Arm>,
    },
    Block(Vec<Node>),
    /// A statement with a wait under `#[cfg(…)]`: `then` where it is configured in, `els`
    /// (a jump past it) where it is not.
    Cfg {
        attrs: Vec<syn::Attribute>,
        then: Vec<Node>,
        els: Vec<Node>,
    },
}

pub struct Arm {
    pub pat: Pat,
    pub defs: Vec<BindId>,
    pub guard: Option<Expr>,
    pub guard_uses: Vec<BindId>,
    pub body: Vec<Node>,
}

pub struct Machine {
    pub states: Vec<State>,
    pub binds: Vec<Binding>,
    /// Parameters, in order, with the binding each pattern name became.
    pub params: Vec<BindId>,
    /// Storage of each `mkevent!(place)` site.
    pub sites: Vec<Ident>,
    /// Items declared among the statements of taken-apart blocks that cannot be repeated in
    /// every state (types, statics, impls, traits), emitted before the machine.
    pub items: Vec<syn::Item>,
    /// `#[cfg]` attributes of each `mkevent!(place)` site's storage.
    pub site_cfg: Vec<Vec<syn::Attribute>>,
    /// Bindings kept across every wait in their scope (see [`crate::moves`]), live or not.
    pub keep: std::collections::BTreeSet<BindId>,
}

/// A taken-apart loop or labeled block: where `break` and `continue` go.
#[derive(Clone)]
struct LoopCx {
    label: Option<String>,
    brk: Cont,
    /// `None` for a labeled block.
    cont: Option<StateId>,
    dest: Option<BindId>,
}

/// Waits pulled out of an expression, in evaluation order.
enum Hoisted {
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

pub fn lower(input: &Input) -> syn::Result<Machine> {
    let mut l = Lower {
        krate: &input.opts.krate,
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
    let body = l.lower_block(&input.func.block.stmts, Cont::Done, None);
    l.m.states[s0].body = body;
    let moved = crate::moves::moved_names(&input.func.block.stmts);
    l.m.keep = (0..l.m.binds.len())
        .filter(|&b| l.m.binds[b].scoped && !moved.contains(&l.m.binds[b].ident.to_string()))
        .collect();
    match crate::validate::combine(l.errors) {
        Some(e) => Err(e),
        None => {
            thread_jumps(&mut l.m);
            reorder(&mut l.m);
            Ok(l.m)
        }
    }
}

/// Removes states that only jump on to another state with the same scope (a `loop` header
/// whose body starts with a poll, say): their predecessors jump straight to the target, which
/// saves one save/restore round per pass. States are then renumbered in order.
fn thread_jumps(m: &mut Machine) {
    let n = m.states.len();
    let mut fwd: Vec<StateId> = (0..n).collect();
    for (s, st) in m.states.iter().enumerate() {
        if s == 0 {
            continue;
        }
        if let [Node::Jump { target, .. }] = st.body.as_slice()
            && *target != s
            && m.states[*target].scope == st.scope
        {
            fwd[s] = *target;
        }
    }
    // Follow chains (a cycle of pure jumps would be an empty `loop {}`: stop there).
    let resolve = |mut s: StateId| {
        for _ in 0..n {
            if fwd[s] == s {
                break;
            }
            s = fwd[s];
        }
        s
    };
    let final_of: Vec<StateId> = (0..n).map(resolve).collect();
    let kept: Vec<StateId> = (0..n).filter(|&s| final_of[s] == s).collect();
    if kept.len() == n {
        return;
    }
    let mut new_id = vec![usize::MAX; n];
    for (i, &s) in kept.iter().enumerate() {
        new_id[s] = i;
    }
    let map = |s: StateId| new_id[final_of[s]];
    let old = std::mem::take(&mut m.states);
    for (s, mut st) in old.into_iter().enumerate() {
        if final_of[s] == s {
            retarget(&mut st.body, &map);
            m.states.push(st);
        }
    }
}

/// Numbers the states in the order a depth-first walk from the entry first reaches them, each
/// body's jumps in the order they are written. The arms are emitted in that order, and rustc
/// infers types in the order it reads: a state that assigns a value (a branch of
/// `let x = if c { twait!{…}; a } else { b };`) then comes before the state that uses it.
fn reorder(m: &mut Machine) {
    let n = m.states.len();
    let mut order = Vec::with_capacity(n);
    let mut seen = vec![false; n];
    let mut stack = vec![0];
    while let Some(s) = stack.pop() {
        if seen[s] {
            continue;
        }
        seen[s] = true;
        order.push(s);
        let mut targets = Vec::new();
        targets_of(&m.states[s].body, &mut targets);
        // Pushed in reverse, so the first written is visited first.
        stack.extend(targets.into_iter().rev().filter(|&t| !seen[t]));
    }
    order.extend((0..n).filter(|&s| !seen[s]));
    let mut new_id = vec![0; n];
    for (i, &s) in order.iter().enumerate() {
        new_id[s] = i;
    }
    let mut old: Vec<Option<State>> = std::mem::take(&mut m.states)
        .into_iter()
        .map(Some)
        .collect();
    for &s in &order {
        let mut st = old[s].take().expect("each state once");
        retarget(&mut st.body, &|t| new_id[t]);
        m.states.push(st);
    }
}

fn targets_of(nodes: &[Node], out: &mut Vec<StateId>) {
    for node in nodes {
        match node {
            Node::Code(c) => out.extend(c.jumps.iter().filter_map(|j| match j.target {
                Cont::Goto(t) => Some(t),
                Cont::Done => None,
            })),
            Node::Jump { target, .. } | Node::Join { target, .. } | Node::Park { target, .. } => {
                out.push(*target)
            }
            Node::Done => {}
            Node::If { then, els, .. } => {
                targets_of(then, out);
                targets_of(els, out);
            }
            Node::Match { arms, .. } => arms.iter().for_each(|a| targets_of(&a.body, out)),
            Node::Block(b) => targets_of(b, out),
            Node::Cfg { then, els, .. } => {
                targets_of(then, out);
                targets_of(els, out);
            }
        }
    }
}

fn retarget(nodes: &mut [Node], map: &impl Fn(StateId) -> StateId) {
    for node in nodes {
        match node {
            Node::Code(c) => {
                for j in &mut c.jumps {
                    if let Cont::Goto(t) = &mut j.target {
                        *t = map(*t);
                    }
                }
            }
            Node::Jump { target, .. } | Node::Join { target, .. } | Node::Park { target, .. } => {
                *target = map(*target)
            }
            Node::Done => {}
            Node::If { then, els, .. } => {
                retarget(then, map);
                retarget(els, map);
            }
            Node::Match { arms, .. } => {
                for a in arms {
                    retarget(&mut a.body, map);
                }
            }
            Node::Block(b) => retarget(b, map),
            Node::Cfg { then, els, .. } => {
                retarget(then, map);
                retarget(els, map);
            }
        }
    }
}

struct Lower<'a> {
    krate: &'a Path,
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
}

fn is_construct(e: &Expr) -> bool {
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

/// The hidden name of a `_` parameter (binding `id`).
pub fn wild_param(id: BindId) -> Ident {
    format_ident!("__tame_p{}", id, span = Span::mixed_site())
}

fn internal(name: &str) -> Ident {
    Ident::new(name, Span::mixed_site())
}

impl Lower<'_> {
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
        let vis = visible_of(&self.m.binds, &self.in_scope());
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
        self.ntmp += 1;
        format_ident!("__tame_{}{}", what, self.ntmp, span = Span::mixed_site())
    }

    fn goto(&self, k: Cont) -> Node {
        match k {
            Cont::Goto(target) => Node::Jump {
                target,
                vis: self.in_scope(),
            },
            Cont::Done => Node::Done,
        }
    }

    /// Binds the names of `defs` as new bindings, returning them and the visible bindings they
    /// shadow.
    fn bind_pat(&mut self, p: &Pat) -> (Vec<BindId>, Vec<BindId>) {
        self.bind_names(pat_bindings(p))
    }

    fn bind_names(&mut self, names: Vec<crate::analyse::PatBinding>) -> (Vec<BindId>, Vec<BindId>) {
        let mut defs = Vec::new();
        let mut stash = Vec::new();
        for b in names {
            let before = visible_of(&self.m.binds, &self.in_scope());
            let new = self.bind(b.ident, b.mutable, b.ty);
            stash.extend(
                before
                    .into_iter()
                    .filter(|&old| shadows(&self.m.binds, new, old)),
            );
            defs.push(new);
        }
        (defs, stash)
    }

    /// A statement kept as written.
    fn code(&mut self, mut stmt: Stmt) -> Node {
        let free = free_names_stmt(&stmt);
        let uses = self.resolve_all(&free.reads);
        let writes = self.resolve_all(&free.writes);
        let kills = self.resolve_all(&definite_assigns(&stmt));
        let vis = self.in_scope();
        let mut jr = Jumps {
            loops: &self.loops,
            inner: Vec::new(),
            jumps: Vec::new(),
            krate: self.krate,
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
                let (defs, stash) = self.bind_names(crate::analyse::let_bindings(l));
                self.cfg.truncate(n);
                if l.init.is_none() {
                    for &d in &defs {
                        self.m.binds[d].scoped = false;
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
    fn lower_block(&mut self, stmts: &[Stmt], k: Cont, dest: Option<BindId>) -> Vec<Node> {
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
    fn lower_stmts(&mut self, stmts: &[Stmt], k: Cont, dest: Option<BindId>) -> Vec<Node> {
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
                    let then = self.lower_stmts(&[clean], Cont::Goto(r), None);
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
                    let mut cont = vec![Stmt::Expr(e2, *semi)];
                    cont.extend(rest.iter().cloned());
                    out.extend(self.lower_hoisted(hoisted, cont, k, dest));
                    return out;
                }
                if is_tail {
                    out.extend(self.construct(e, k, dest));
                } else {
                    let m = self.new_state();
                    out.extend(self.construct(e, Cont::Goto(m), None));
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
                out.push(Node::Done);
                return out;
            }
            let mut cont = vec![s2];
            cont.extend(rest.iter().cloned());
            out.extend(self.lower_hoisted(hoisted, cont, k, dest));
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
        cont: Vec<Stmt>,
        k: Cont,
        dest: Option<BindId>,
    ) -> Vec<Node> {
        match list.pop_front() {
            None => self.lower_stmts(&cont, k, dest),
            Some(Hoisted::Poll { r, tmp, line }) => {
                let p = self.new_state();
                let uses = self.resolve_all(&free_names(&r).reads);
                let vis = self.in_scope();
                let t = self.bind_tmp(tmp.clone());
                let some_body = self.lower_hoisted(list, cont, k, dest);
                let cx = internal("__tame_cx");
                let scrut: Expr = parse_quote_spanned!(r.span()=> #cx.poll_rv(&(#r), #line));
                self.m.states[p].body = vec![Node::Match {
                    scrut,
                    uses,
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
                out.extend(self.lower_hoisted(list, cont, k, dest));
                out
            }
            Some(Hoisted::Construct { e, tmp }) => {
                let mut decl = self.code(parse_quote!(let #tmp;));
                if let Node::Code(c) = &mut decl {
                    c.decl_only = true;
                }
                let mut out = vec![decl];
                let t = self.resolve(&tmp.to_string()).expect("just bound");
                let m = self.new_state();
                out.extend(self.lower_stmts(&[Stmt::Expr(e, None)], Cont::Goto(m), Some(t)));
                let body = self.lower_hoisted(list, cont, k, dest);
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
                out.push(self.goto(cx.brk));
                Some(out)
            }
            Expr::Continue(c) => {
                let cx = self.find_loop(c.label.as_ref().map(|l| l.ident.to_string()))?;
                Some(vec![self.goto(Cont::Goto(cx.cont?))])
            }
            Expr::Return(r) => {
                let mut out = Vec::new();
                if let Some(v) = &r.expr {
                    out.push(self.code(parse_quote_spanned!(v.span()=> let () = #v;)));
                }
                out.push(Node::Done);
                Some(out)
            }
            _ => None,
        }
    }

    fn find_loop(&self, label: Option<String>) -> Option<LoopCx> {
        find_loop(&self.loops, label.as_deref()).cloned()
    }

    /// A block-like expression containing a wait (none in its head).
    fn construct(&mut self, e: &Expr, k: Cont, dest: Option<BindId>) -> Vec<Node> {
        match e {
            Expr::Block(b) => {
                if b.block.stmts.is_empty() {
                    return vec![self.goto(k)];
                }
                if let Some(l) = &b.label {
                    self.loops.push(LoopCx {
                        label: Some(l.name.ident.to_string()),
                        brk: k,
                        cont: None,
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
                let uses = self.resolve_all(&free_names(&i.cond).reads);
                self.frames.push(Vec::new());
                let mut defs = Vec::new();
                let mut stash = Vec::new();
                for p in let_pats(&i.cond) {
                    let (d, s) = self.bind_pat(p);
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
                    defs,
                    stash,
                    then,
                    els,
                }]
            }
            Expr::Match(mm) => {
                let uses = self.resolve_all(&free_names(&mm.expr).reads);
                let mut arms = Vec::new();
                let mut stash = Vec::new();
                for a in &mm.arms {
                    self.frames.push(Vec::new());
                    let (defs, s) = self.bind_pat(&a.pat);
                    stash.extend(s);
                    let guard = a.guard.as_ref().map(|(_, g)| (**g).clone());
                    let guard_uses = guard
                        .as_ref()
                        .map(|g| self.resolve_all(&free_names(g).reads))
                        .unwrap_or_default();
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
                    brk: k,
                    cont: Some(h),
                    dest,
                });
                self.frames.push(Vec::new());
                let body = self.lower_block(&lp.body.stmts, Cont::Goto(h), None);
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
                vec![Node::Done]
            }
        }
    }

    /// An `else` branch or a match arm's body, in its own scope. A plain block is lowered
    /// statement by statement, so a `break` in it is a jump, not code followed by one.
    fn lower_branch(&mut self, e: &Expr, k: Cont, dest: Option<BindId>) -> Vec<Node> {
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
        };
        mk.visit_block_mut(&mut block);
        let mut drains = Vec::new();
        for (site, place, keys, at) in mk.sites {
            self.m.sites.push(site.clone());
            self.m.site_cfg.push(self.cfg.clone());
            // Input:  mkevent!(a[i])           (inside the block)
            // Output: __tame_cx.site_event(&mut __tame_site1, (i,))
            //         … and after the join:
            //         if let Some(rv) = &__tame_site1 { while let Some(((k0,), v)) = rv.try_join() { a[k0] = v; } }
            // The value carries the `mkevent!`'s span: a place of the wrong type is reported
            // at that `mkevent!`.
            let v = Ident::new("__tame_v", Span::mixed_site().located_at(at));
            let rv = internal("__tame_rv");
            let drain = parse_quote_spanned!(place.span()=>
                if let ::core::option::Option::Some(#rv) = &#site {
                    while let ::core::option::Option::Some(((#(#keys,)*), #v)) = #rv.try_join() {
                        #place = #v;
                    }
                }
            );
            // A local declared without a value (`let v: u32;`) has no value to keep if its
            // event is dropped untriggered: the call panics there, saying so, and `v` is
            // initialised after the wait as a blocking call would have made it.
            let definite = crate::analyse::path_name(&place).map(|name| {
                let msg = syn::LitStr::new(
                    &format!(
                        "tame: the event for `{name}` was dropped untriggered, and `{name}` was declared without a value"
                    ),
                    place.span(),
                );
                let last = internal("__tame_last");
                parse_quote_spanned!(place.span()=>
                    #place = {
                        let mut #last = ::core::option::Option::None;
                        if let ::core::option::Option::Some(#rv) = &#site {
                            while let ::core::option::Option::Some(((), #v)) = #rv.try_join() {
                                #last = ::core::option::Option::Some(#v);
                            }
                        }
                        match #last {
                            ::core::option::Option::Some(#v) => #v,
                            ::core::option::Option::None => ::core::panic!(#msg),
                        }
                    };
                )
            });
            drains.push((drain, definite));
        }
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

fn visible_of(binds: &[Binding], scope: &[BindId]) -> Vec<BindId> {
    scope
        .iter()
        .enumerate()
        .filter(|&(i, &b)| !scope[i + 1..].iter().any(|&c| shadows(binds, c, b)))
        .map(|(_, &b)| b)
        .collect()
}

/// Whether binding `later` hides `earlier` wherever `earlier` exists: the same name, under no
/// `#[cfg]` that `earlier` is not under too. `#[cfg(a)] let m = 1; #[cfg(not(a))] let m = 2;`
/// are two bindings of which one exists: both keep their name.
fn shadows(binds: &[Binding], later: BindId, earlier: BindId) -> bool {
    let (l, e) = (&binds[later], &binds[earlier]);
    let key = |a: &syn::Attribute| quote!(#a).to_string();
    l.ident == e.ident && l.cfg.iter().all(|a| e.cfg.iter().any(|b| key(a) == key(b)))
}

/// Bindings of `scope` nameable there (the last of each name).
pub fn visible(binds: &[Binding], scope: &[BindId]) -> Vec<BindId> {
    visible_of(binds, scope)
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

fn find_loop<'l>(loops: &'l [LoopCx], label: Option<&str>) -> Option<&'l LoopCx> {
    match label {
        Some(l) => loops.iter().rev().find(|c| c.label.as_deref() == Some(l)),
        None => loops.iter().rev().find(|c| c.cont.is_some()),
    }
}

/// The patterns of the `let`s in an `if` condition (`if let P = e && let Q = f`).
fn let_pats(cond: &Expr) -> Vec<&Pat> {
    match cond {
        Expr::Let(l) => vec![&l.pat],
        Expr::Binary(b) if matches!(b.op, syn::BinOp::And(_)) => {
            let mut v = let_pats(&b.left);
            v.extend(let_pats(&b.right));
            v
        }
        Expr::Paren(p) => let_pats(&p.expr),
        _ => Vec::new(),
    }
}

struct Hoister<'a> {
    out: VecDeque<Hoisted>,
    ntmp: &'a mut usize,
}

impl Hoister<'_> {
    /// Operands evaluated left to right, a later one waiting: each one left of the last wait
    /// is evaluated into a temporary first, after the waits inside it. `false` (nothing
    /// done) if no operand but the first waits.
    ///
    /// Input:  `a() + twait!(r)…`      Output: `__tame_o1 + __tame_t2…`  (`a()` hoisted first)
    fn operands(&mut self, ops: Vec<&mut Expr>) -> bool {
        let Some(last) = ops.iter().rposition(|o| contains_wait_expr(o)) else {
            return false;
        };
        if last == 0 {
            return false;
        }
        for (i, op) in ops.into_iter().enumerate() {
            self.visit_expr_mut(op);
            if i < last && !stays(op) {
                let tmp = self.tmp("o");
                let taken = std::mem::replace(op, parse_quote!(#tmp));
                self.out.push_back(Hoisted::Value { e: taken, tmp });
            }
        }
        true
    }

    fn tmp(&mut self, what: &str) -> Ident {
        *self.ntmp += 1;
        format_ident!("__tame_{}{}", what, *self.ntmp, span = Span::mixed_site())
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

/// The operands of `e` Rust evaluates left to right, in that order.
fn operands_mut(e: &mut Expr) -> Vec<&mut Expr> {
    use syn::BinOp::*;
    match e {
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
    }
}

impl VisitMut for Hoister<'_> {
    fn visit_expr_mut(&mut self, e: &mut Expr) {
        match e {
            Expr::Closure(_) | Expr::Async(_) => return,
            _ => {}
        }
        if self.operands(operands_mut(e)) {
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
                    if !self.operands(args.iter_mut().collect()) {
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
struct Jumps<'a> {
    loops: &'a [LoopCx],
    /// Loops and labeled blocks inside the statement: (label, is_loop).
    inner: Vec<(Option<String>, bool)>,
    jumps: Vec<JumpSpec>,
    krate: &'a Path,
    binds: &'a [Binding],
    vis: Vec<BindId>,
    errors: Vec<syn::Error>,
    /// Names bound inside the statement where the visitor is (innermost last).
    bound: Vec<String>,
    /// Names assigned on every path from the statement's start to where the visitor is.
    assigned: Vec<String>,
}

impl Jumps<'_> {
    fn assigned(&self) -> Vec<BindId> {
        let vis = visible_of(self.binds, &self.vis);
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
        match e {
            Expr::Closure(_) | Expr::Async(_) => {}
            Expr::Loop(_) | Expr::While(_) | Expr::ForLoop(_) => {
                let label = match e {
                    Expr::Loop(l) => l.label.as_ref(),
                    Expr::While(l) => l.label.as_ref(),
                    Expr::ForLoop(l) => l.label.as_ref(),
                    _ => None,
                }
                .map(|l| l.name.ident.to_string());
                self.inner.push((label, true));
                let n = self.bound.len();
                if let Expr::ForLoop(f) = e {
                    let pat = (*f.pat).clone();
                    self.bind(&pat);
                }
                syn::visit_mut::visit_expr_mut(self, e);
                self.bound.truncate(n);
                self.inner.pop();
            }
            Expr::Block(b) if b.label.is_some() => {
                let label = b.label.as_ref().map(|l| l.name.ident.to_string());
                self.inner.push((label, false));
                syn::visit_mut::visit_expr_mut(self, e);
                self.inner.pop();
            }
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
                    target: cx.brk,
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
                if let Some(h) = find_loop(self.loops, label.as_deref()).and_then(|cx| cx.cont) {
                    let spec = JumpSpec {
                        target: Cont::Goto(h),
                        assign: None,
                        vis: self.vis.clone(),
                        shadowed: self.shadowed(),
                        assigned: self.assigned(),
                    };
                    *e = self.placeholder(spec);
                }
            }
            Expr::Return(r) => {
                let krate = self.krate;
                let done = quote!(#krate::__private::Step::Done);
                *e = match r.expr.take() {
                    None => parse_quote_spanned!(r.return_token.span=> return #done),
                    Some(mut v) => {
                        self.visit_expr_mut(&mut v);
                        parse_quote_spanned!(r.return_token.span=> { let () = #v; return #done })
                    }
                };
            }
            _ => syn::visit_mut::visit_expr_mut(self, e),
        }
    }
    fn visit_item_mut(&mut self, _: &mut syn::Item) {}
}

/// Replaces `mkevent!` inside a `twait! {}` block.
struct Mkevents {
    /// (storage, place with keys substituted, key names)
    sites: Vec<(Ident, Expr, Vec<Ident>, Span)>,
    nsite: usize,
    /// Names bound inside the block where the visitor is (innermost last).
    bound: Vec<String>,
}

impl Mkevents {
    fn bind(&mut self, p: &Pat) {
        self.bound
            .extend(pat_bindings(p).into_iter().map(|b| b.ident.to_string()));
    }
}

/// The local a place is rooted at: `x` for `x`, `x.f`, `x[i]`, `(*x).f`.
fn place_root(place: &Expr) -> Option<String> {
    match place {
        Expr::Field(f) => place_root(&f.base),
        Expr::Index(i) => place_root(&i.expr),
        Expr::Paren(p) => place_root(&p.expr),
        Expr::Unary(u) if matches!(u.op, syn::UnOp::Deref(_)) => place_root(&u.expr),
        other => crate::analyse::path_name(other),
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
                    *e = parse_quote_spanned!(m.mac.path.span()=> #cx.join_event());
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
