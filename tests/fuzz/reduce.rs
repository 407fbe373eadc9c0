//! Shrinks a failing program: each round builds every one-step simplification (delete a run
//! of statements, unwrap a block, loop or branch, drop an arm, an `else` or a wait item,
//! simplify an expression) in one batch and keeps the smallest that still fails the same way,
//! until none does.

use super::ast::*;
use super::print::{Mode, module};
use super::run::{Case, Runner, Verdict};

/// Candidates built per round.
const CHUNK: usize = 60;

/// The smallest program found that fails like `p` (its verdict kind is `kind`), and its
/// verdict.
pub fn reduce(
    runner: &Runner,
    p: &Program,
    kind: &str,
    verdict: Verdict,
) -> Result<(Program, Verdict), String> {
    let mut best = p.clone();
    let mut best_verdict = verdict;
    let mut best_size = size(&best);
    let mut round = 0;
    'rounds: loop {
        round += 1;
        let n = count(&best);
        let mut start = 0;
        while start < n {
            let mut seen = std::collections::BTreeSet::new();
            let mut cands = Vec::new();
            for t in start..n.min(start + CHUNK) {
                let q = apply(&best, t);
                let tamed = module(&q, Mode::Tamed);
                if size(&q) < best_size && seen.insert(tamed.clone()) {
                    cands.push((q, tamed));
                }
            }
            start += CHUNK;
            if cands.is_empty() {
                continue;
            }
            if runner.progress {
                progress!(
                    "reduce round {round}: {} bytes, trying {} candidates ({start} of {n})",
                    best_size,
                    cands.len()
                );
            }
            let cases: Vec<Case> = cands
                .iter()
                .enumerate()
                .map(|(i, (q, tamed))| Case {
                    index: i,
                    plain: module(q, Mode::Plain),
                    tamed: tamed.clone(),
                })
                .collect();
            let verdicts = runner.run("reduce", &cases, 2)?;
            let pick = verdicts
                .iter()
                .enumerate()
                .filter(|(_, v)| v.is(kind))
                .min_by_key(|(i, _)| size(&cands[*i].0));
            if let Some((i, v)) = pick {
                best = cands[i].0.clone();
                best_size = size(&best);
                best_verdict = v.clone();
                continue 'rounds;
            }
        }
        return Ok((best, best_verdict));
    }
}

/// The size that reduction lowers: the length of the tamed version.
pub fn size(p: &Program) -> usize {
    module(p, Mode::Tamed).len()
}

/// How many one-step simplifications `p` has.
fn count(p: &Program) -> usize {
    let mut q = p.clone();
    let mut m = Mutator {
        target: usize::MAX,
        count: 0,
    };
    m.program(&mut q);
    m.count
}

/// `p` with its `target`-th one-step simplification applied.
fn apply(p: &Program, target: usize) -> Program {
    let mut q = p.clone();
    let mut m = Mutator { target, count: 0 };
    m.program(&mut q);
    q
}

struct Mutator {
    target: usize,
    count: usize,
}

/// The statements that may stand in place of `s`.
fn unwraps(s: &Stmt) -> Vec<Vec<Stmt>> {
    match s {
        Stmt::If(_, a, b) => {
            let mut v = vec![a.stmts.clone()];
            if let Some(b) = b {
                v.push(b.stmts.clone());
            }
            v
        }
        Stmt::IfLet { then, els, .. } => {
            let mut v = vec![then.stmts.clone()];
            if let Some(b) = els {
                v.push(b.stmts.clone());
            }
            v
        }
        Stmt::Match(_, arms) => arms
            .iter()
            .map(|(_, b)| match b {
                ArmBody::Block(b) => b.stmts.clone(),
                ArmBody::Wait(items) => vec![Stmt::Wait(items.clone())],
            })
            .collect(),
        Stmt::MatchOpt { some, none, .. } => vec![some.stmts.clone(), none.stmts.clone()],
        Stmt::Loop(_, b) | Stmt::Labeled(_, b) | Stmt::Block(b) => vec![b.stmts.clone()],
        Stmt::LetElse { name, .. } => vec![vec![Stmt::Let {
            name: name.clone(),
            mutable: false,
            init: Some(Expr::Lit(1)),
        }]],
        Stmt::CfgOff(inner) => vec![vec![(**inner).clone()]],
        _ => Vec::new(),
    }
}

fn is_int(e: &Expr) -> bool {
    match e {
        Expr::RvOpt
        | Expr::OptFn(_)
        | Expr::OptVar(_)
        | Expr::NewD(_)
        | Expr::NewVec(_)
        | Expr::NewS(..) => false,
        Expr::If(_, a, _) => a.tail.as_ref().is_some_and(is_int),
        Expr::Match(_, arms) => arms[0].1.tail.as_ref().is_some_and(is_int),
        Expr::Block(_, b) => b.tail.as_ref().is_some_and(is_int),
        Expr::Loop(_, d, _) => is_int(d),
        _ => true,
    }
}

/// The expressions that may stand in place of `e` (same type).
fn simpler(e: &Expr) -> Vec<Expr> {
    let mut v = Vec::new();
    if is_int(e) && !matches!(e, Expr::Lit(0)) {
        v.push(Expr::Lit(0));
    }
    match e {
        Expr::Call(a) | Expr::SendE(_, a) => v.push((**a).clone()),
        Expr::Call2(a, b) | Expr::Add(a, b) => {
            v.push((**a).clone());
            v.push((**b).clone());
        }
        Expr::If(_, a, b) => {
            v.push(Expr::Block(None, a.clone()));
            v.push(Expr::Block(None, b.clone()));
        }
        Expr::Match(_, arms) => {
            for (_, b) in arms {
                v.push(Expr::Block(None, Box::new(b.clone())));
            }
        }
        Expr::Block(label, b) => {
            if let (true, Some(t)) = (b.stmts.is_empty(), &b.tail) {
                v.push(t.clone());
            }
            if label.is_some() {
                v.push(Expr::Block(None, b.clone()));
            }
        }
        Expr::Loop(_, d, _) => v.push((**d).clone()),
        Expr::RvOpt => v.push(Expr::OptFn(Box::new(Expr::Lit(1)))),
        Expr::OptFn(a) if !matches!(**a, Expr::Lit(_)) => {
            v.push(Expr::OptFn(Box::new(Expr::Lit(1))));
        }
        _ => {}
    }
    v
}

impl Mutator {
    fn hit(&mut self) -> bool {
        let h = self.count == self.target;
        self.count += 1;
        h
    }

    fn program(&mut self, p: &mut Program) {
        // Without `r` (fails to compile if something still uses it).
        if p.uses_r && self.hit() {
            p.uses_r = false;
            return;
        }
        self.stmts(&mut p.body);
    }

    fn stmts(&mut self, v: &mut Vec<Stmt>) {
        let n = v.len();
        let mut len = n;
        while len >= 1 {
            let mut start = 0;
            while start < n {
                let end = (start + len).min(n);
                if self.hit() {
                    v.drain(start..end);
                    return;
                }
                start += len;
            }
            if len == 1 {
                break;
            }
            len = len.div_ceil(2).min(len - 1);
        }
        for i in 0..v.len() {
            for alt in unwraps(&v[i]) {
                if self.hit() {
                    v.splice(i..i + 1, alt);
                    return;
                }
            }
        }
        for s in v.iter_mut() {
            self.stmt(s);
        }
    }

    fn block(&mut self, b: &mut Block) {
        self.stmts(&mut b.stmts);
        if let Some(t) = &mut b.tail {
            self.expr(t);
        }
    }

    fn items(&mut self, items: &mut Vec<WaitItem>) {
        if items.len() > 1 {
            for j in 0..items.len() {
                if self.hit() {
                    items.remove(j);
                    return;
                }
            }
        }
        for it in items.iter_mut() {
            match it {
                WaitItem::Later(e, _) | WaitItem::Now(e, _) | WaitItem::Abandon(e, _) => {
                    if self.hit() {
                        *it = WaitItem::Go;
                        return;
                    }
                    self.expr(e);
                }
                WaitItem::Send(_, e) | WaitItem::Let(_, e) => self.expr(e),
                WaitItem::Log(_) | WaitItem::Ready => {
                    if self.hit() {
                        *it = WaitItem::Go;
                        return;
                    }
                }
                WaitItem::Go => {}
            }
        }
    }

    fn stmt(&mut self, s: &mut Stmt) {
        match s {
            Stmt::Let { init, .. } => {
                if let Some(e) = init {
                    self.expr(e);
                }
            }
            Stmt::LetElse { scrut, els, .. } => {
                self.expr(scrut);
                self.block(els);
            }
            Stmt::Assign(_, e) | Stmt::Expr(e) | Stmt::Send(_, e) => self.expr(e),
            Stmt::Log(_, item) => {
                if !matches!(item, LogItem::Plain) && self.hit() {
                    *item = LogItem::Plain;
                    return;
                }
                if let LogItem::Args(es) = item {
                    for e in es {
                        self.expr(e);
                    }
                }
            }
            Stmt::If(c, a, b) => {
                if b.is_some() && self.hit() {
                    *b = None;
                    return;
                }
                self.expr(&mut c.e);
                self.block(a);
                if let Some(b) = b {
                    self.block(b);
                }
            }
            Stmt::IfLet {
                scrut, then, els, ..
            } => {
                if els.is_some() && self.hit() {
                    *els = None;
                    return;
                }
                self.expr(scrut);
                self.block(then);
                if let Some(b) = els {
                    self.block(b);
                }
            }
            Stmt::Match(scrut, arms) => {
                if arms.len() > 1 {
                    for j in 0..arms.len() - 1 {
                        if self.hit() {
                            arms.remove(j);
                            return;
                        }
                    }
                }
                self.expr(scrut);
                for (_, b) in arms.iter_mut() {
                    match b {
                        ArmBody::Block(b) => self.block(b),
                        ArmBody::Wait(items) => self.items(items),
                    }
                }
            }
            Stmt::MatchOpt {
                scrut, some, none, ..
            } => {
                self.expr(scrut);
                self.block(some);
                self.block(none);
            }
            Stmt::Loop(head, body) => {
                if head.k > 1 && self.hit() {
                    head.k = 1;
                    return;
                }
                if let LoopKind::WhileCond(c) = &mut head.kind {
                    self.expr(&mut c.e);
                }
                self.block(body);
            }
            Stmt::Labeled(_, b) | Stmt::Block(b) => self.block(b),
            Stmt::Break(_, Some(v)) => self.expr(v),
            Stmt::Wait(items) => self.items(items),
            Stmt::CfgOff(inner) => self.stmt(inner),
            Stmt::Break(_, None) | Stmt::Continue(_) | Stmt::Return => {}
        }
    }

    fn expr(&mut self, e: &mut Expr) {
        for alt in simpler(e) {
            if self.hit() {
                *e = alt;
                return;
            }
        }
        match e {
            Expr::Call(a) | Expr::SendE(_, a) | Expr::OptFn(a) | Expr::NewS(a, _) => self.expr(a),
            Expr::Call2(a, b) | Expr::Add(a, b) => {
                self.expr(a);
                self.expr(b);
            }
            Expr::NewVec(items) => {
                for i in items {
                    self.expr(i);
                }
            }
            Expr::If(c, a, b) => {
                self.expr(&mut c.e);
                self.block(a);
                self.block(b);
            }
            Expr::Match(scrut, arms) => {
                if arms.len() > 1 {
                    for j in 0..arms.len() - 1 {
                        if self.hit() {
                            arms.remove(j);
                            return;
                        }
                    }
                }
                self.expr(scrut);
                for (_, b) in arms.iter_mut() {
                    self.block(b);
                }
            }
            Expr::Block(_, b) => self.block(b),
            Expr::Loop(head, d, body) => {
                if head.k > 1 && self.hit() {
                    head.k = 1;
                    return;
                }
                self.expr(d);
                self.block(body);
            }
            _ => {}
        }
    }
}
