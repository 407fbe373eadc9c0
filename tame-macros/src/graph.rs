//! The state graph: the intermediate form `lower` builds, `analyse` reads and `emit` turns
//! into tokens. It lives here, apart from the passes, so that they import it and not each
//! other.
//!
//! A [`Machine`] is a list of [`State`]s (state 0 is the entry) and of [`Binding`]s (every
//! local, parameter and temporary, numbered, so shadowing is exact). A state's code is a tree
//! of [`Node`]s: the user's statements kept as written ([`Node::Code`]), the constructs that
//! contain a wait taken apart (`If`, `Match`, `Block`, `Cfg`), and at the end of every path a
//! transition: a [`Node::Jump`] to another state, a [`Node::Join`] (the end of `twait! {}`), a
//! [`Node::Park`] (`twait!(r)` found nothing) or [`Node::Done`].
//!
//! Input:  `let n = 1; twait! { asap(mkevent!()); } f(n);`
//! Output (`{:?}` of the machine):
//! ```text
//! state 0 (scope: )
//!   code `let n = 1 ;` defs [n#0]
//!   code `{ asap (__tame_cx . join_event ()) ; }`
//!   join -> 1
//! state 1 (scope: n#0)
//!   code `f (n) ;` uses [n#0]
//!   done
//! kept to the end of their scope:
//! ```
//! (`n` is moved by `f(n)`, so it is kept only while live.) `tests/expand/<case>.graph.txt`
//! holds such dumps of real functions.

use std::fmt;

use proc_macro2::{Span, TokenStream};
use quote::quote;
use syn::{Expr, Ident, Pat, Stmt, Type};

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
    /// Kept to the end of its scope, not only while live (unless the body may move it): a
    /// user's `let`, a pattern binding or a parameter, not a temporary of the macro's.
    pub scoped: bool,
    /// `#[cfg]` attributes the binding exists under: every slot, save and restore of it
    /// carries them.
    pub cfg: Vec<syn::Attribute>,
    /// Declared without a value (`let v;`, a destination temporary): saved and restored only
    /// where it is definitely initialised ([`crate::analyse::Init`]).
    pub late: bool,
}

/// Where control goes next, at the end of a piece of code.
#[derive(Clone, Copy, Debug)]
pub enum Next {
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
    pub target: Next,
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
    /// Bindings the statement may move (read from the syntax, also under `#[cfg]`).
    pub moves: Vec<BindId>,
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
        /// Its `#![describe("…")]`, or empty.
        what: String,
        vis: Vec<BindId>,
        span: Span,
    },
    /// `twait!(r)` found nothing: save, stay in this state, return `Step::Blocked`.
    Park {
        target: StateId,
        line: TokenStream,
        vis: Vec<BindId>,
    },
    /// The end of the function (`return`, or the end of the body); `vis` as for a jump: what
    /// is in scope there, dropped newest first before the call ends.
    Done {
        vis: Vec<BindId>,
    },
    If {
        cond: Expr,
        uses: Vec<BindId>,
        /// Bindings the condition assigns (`if { n = 0; n } == k`): declared in the state
        /// even where they hold no value to restore.
        writes: Vec<BindId>,
        /// Bindings the condition may move.
        moves: Vec<BindId>,
        defs: Vec<BindId>,
        stash: Vec<BindId>,
        then: Vec<Node>,
        els: Vec<Node>,
    },
    Match {
        scrut: Expr,
        uses: Vec<BindId>,
        /// Bindings the scrutinee assigns (as `If::writes`).
        writes: Vec<BindId>,
        /// Bindings the scrutinee or a guard may move.
        moves: Vec<BindId>,
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

/// Bindings of `scope` nameable there (the last of each name).
pub fn visible(binds: &[Binding], scope: &[BindId]) -> Vec<BindId> {
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
pub fn shadows(binds: &[Binding], later: BindId, earlier: BindId) -> bool {
    let (l, e) = (&binds[later], &binds[earlier]);
    let key = |a: &syn::Attribute| quote!(#a).to_string();
    l.ident == e.ident && l.cfg.iter().all(|a| e.cfg.iter().any(|b| key(a) == key(b)))
}

/// A fresh name of the macro's own, `__tame_{what}{n}`: `counter` is the one counter of the
/// function being expanded, so no two temporaries share a name.
pub fn temporary(counter: &mut usize, what: &str) -> Ident {
    *counter += 1;
    quote::format_ident!("__tame_{}{}", what, *counter, span = Span::mixed_site())
}

/// An identifier of the macro's own, invisible to the user's code (mixed-site hygiene).
pub fn internal(name: &str) -> Ident {
    Ident::new(name, Span::mixed_site())
}

/// The hidden name of a `_` parameter (binding `id`).
pub fn wild_param(id: BindId) -> Ident {
    quote::format_ident!("__tame_p{}", id, span = Span::mixed_site())
}

impl fmt::Debug for Machine {
    /// A readable dump for snapshots: each state with its scope, then its code as a tree,
    /// bindings written `name#id`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names = |ids: &[BindId]| -> String {
            ids.iter()
                .map(|&b| format!("{}#{b}", self.binds[b].ident))
                .collect::<Vec<_>>()
                .join(" ")
        };
        for (i, st) in self.states.iter().enumerate() {
            write!(f, "state {i} (scope: {})", names(&st.scope))?;
            if !st.cfg.is_empty() {
                let cfg = &st.cfg;
                write!(f, " {}", quote!(#(#cfg)*))?;
            }
            writeln!(f)?;
            self.dump(f, &st.body, 1, &names)?;
        }
        let keep: Vec<BindId> = self.keep.iter().copied().collect();
        writeln!(f, "kept to the end of their scope: {}", names(&keep))
    }
}

impl Machine {
    fn dump(
        &self,
        f: &mut fmt::Formatter<'_>,
        nodes: &[Node],
        depth: usize,
        names: &dyn Fn(&[BindId]) -> String,
    ) -> fmt::Result {
        let pad = "  ".repeat(depth);
        let target = |c: &Next| match c {
            Next::Goto(t) => format!("{t}"),
            Next::Done => "done".to_string(),
        };
        for node in nodes {
            match node {
                Node::Code(c) => {
                    let stmt = &c.stmt;
                    write!(f, "{pad}code `{}`", quote!(#stmt))?;
                    if !c.defs.is_empty() {
                        write!(f, " defs [{}]", names(&c.defs))?;
                    }
                    if !c.uses.is_empty() {
                        write!(f, " uses [{}]", names(&c.uses))?;
                    }
                    for (n, j) in c.jumps.iter().enumerate() {
                        write!(f, " jump{n} -> {}", target(&j.target))?;
                    }
                    writeln!(f)?;
                }
                Node::Jump { target: t, .. } => writeln!(f, "{pad}jump -> {t}")?,
                Node::Join { target: t, .. } => writeln!(f, "{pad}join -> {t}")?,
                Node::Park { target: t, .. } => writeln!(f, "{pad}park -> {t}")?,
                Node::Done { .. } => writeln!(f, "{pad}done")?,
                Node::If {
                    cond, then, els, ..
                } => {
                    writeln!(f, "{pad}if `{}`", quote!(#cond))?;
                    self.dump(f, then, depth + 1, names)?;
                    writeln!(f, "{pad}else")?;
                    self.dump(f, els, depth + 1, names)?;
                }
                Node::Match { scrut, arms, .. } => {
                    writeln!(f, "{pad}match `{}`", quote!(#scrut))?;
                    for a in arms {
                        let pat = &a.pat;
                        writeln!(f, "{pad}  arm `{}`", quote!(#pat))?;
                        self.dump(f, &a.body, depth + 2, names)?;
                    }
                }
                Node::Block(b) => {
                    writeln!(f, "{pad}block")?;
                    self.dump(f, b, depth + 1, names)?;
                }
                Node::Cfg { attrs, then, els } => {
                    writeln!(f, "{pad}{}", quote!(#(#attrs)*))?;
                    self.dump(f, then, depth + 1, names)?;
                    writeln!(f, "{pad}else")?;
                    self.dump(f, els, depth + 1, names)?;
                }
            }
        }
        Ok(())
    }
}

/// Graph transforms `lower` applies once the graph is built.
impl Machine {
    /// Which states a run can reach from the entry. The others hold code after a `return`
    /// (or another jump) that Rust would warn is unreachable.
    pub fn reachable(&self) -> Vec<bool> {
        let mut seen = vec![false; self.states.len()];
        let mut stack = vec![0];
        while let Some(s) = stack.pop() {
            if s >= seen.len() || seen[s] {
                continue;
            }
            seen[s] = true;
            let mut targets = Vec::new();
            targets_of(&self.states[s].body, &mut targets);
            stack.extend(targets);
        }
        seen
    }

    /// See [`thread_jumps`].
    pub fn thread_jumps(&mut self) {
        thread_jumps(self)
    }
    /// See [`reorder`].
    pub fn reorder(&mut self) {
        reorder(self)
    }
}

/// Removes states that only jump on to another state with the same scope (a `loop` header
/// whose body starts with a poll, say): their predecessors jump straight to the target, which
/// saves one save/restore round per pass. States are then renumbered in order.
pub(crate) fn thread_jumps(m: &mut Machine) {
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
pub(crate) fn reorder(m: &mut Machine) {
    let n = m.states.len();
    let mut order = Vec::with_capacity(n);
    let mut seen = vec![false; n];
    // From the entry first, then from each state nothing reaches (code after a `return`), in
    // the order they were made.
    for root in 0..n {
        let mut stack = vec![root];
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
    }
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
                Next::Goto(t) => Some(t),
                Next::Done => None,
            })),
            Node::Jump { target, .. } | Node::Join { target, .. } | Node::Park { target, .. } => {
                out.push(*target)
            }
            Node::Done { .. } => {}
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
                    if let Next::Goto(t) = &mut j.target {
                        *t = map(*t);
                    }
                }
            }
            Node::Jump { target, .. } | Node::Join { target, .. } | Node::Park { target, .. } => {
                *target = map(*target)
            }
            Node::Done { .. } => {}
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
