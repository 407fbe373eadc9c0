//! Pass 4, analyse: which locals are live where, and which late locals are initialised.
//!
//! Takes the finished [`Machine`], gives [`Liveness`] (for every state, the bindings live at
//! its entry: a backward dataflow over the graph iterated to a fixpoint, where a binding kept
//! to the end of its scope counts as live wherever it is in scope) and [`initialised`] (for
//! every state, the late bindings, `let v;` and destination temporaries, definitely assigned
//! at its entry: a forward "must" dataflow).
//!
//! Bindings are numbered ([`BindId`]), so shadowing is exact: `let x = 1; twait!{…}; let x = 2;`
//! makes two bindings, and each is live, kept and saved on its own.
//!
//! Input:  `let n = 1; twait!{…}; f(n); twait!{…}; g()`
//! Output: `n` live at the entry of the state after the first wait, not after the second
//! (unless `n` is kept to the end of its scope, which it is if the body never moves it).

use std::collections::BTreeSet;

use crate::graph::{BindId, Code, JumpSpec, Machine, Next, Node, StateId};

/// Live bindings at each state's entry, and the bindings each state's code mentions.
pub struct Liveness {
    pub live_in: Vec<BTreeSet<BindId>>,
    pub mentioned: Vec<BTreeSet<BindId>>,
}

impl Liveness {
    pub fn live_at(&self, c: &Next) -> BTreeSet<BindId> {
        match c {
            Next::Goto(s) => self.live_in[*s].clone(),
            Next::Done => BTreeSet::new(),
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
        Node::Done { .. } => BTreeSet::new(),
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
                uses,
                writes,
                then,
                els,
                ..
            } => {
                out.extend(uses.iter().chain(writes).copied());
                mentions(then, out);
                mentions(els, out);
            }
            Node::Match {
                uses, writes, arms, ..
            } => {
                out.extend(uses.iter().chain(writes).copied());
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
            Node::Jump { .. } | Node::Join { .. } | Node::Park { .. } | Node::Done { .. } => {}
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
    // A state the entry never reaches (code after a `return`) starts from "everything is
    // initialised": rustc does not check initialisation in unreachable code either, and its
    // own assignments still flow on.
    let all: BTreeSet<BindId> = (0..m.binds.len()).filter(|&b| m.binds[b].late).collect();
    let mut roots = 1..n;
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
        if changed {
            continue;
        }
        match roots.find(|&r| init_in[r].is_none()) {
            Some(r) => init_in[r] = Some(all.clone()),
            None => break,
        }
    }
    init_in.into_iter().map(Option::unwrap_or_default).collect()
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
                // (A bare `let v;` has no jumps: `init_after` forgets `v` after them.)
                for j in &c.jumps {
                    if let Next::Goto(t) = j.target {
                        out(t, &init_at_jump(j, &cur));
                    }
                }
                init_after(c, &mut cur);
            }
            Node::Jump { target, .. } | Node::Join { target, .. } | Node::Park { target, .. } => {
                out(*target, &cur)
            }
            Node::Done { .. } => {}
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
