//! Random programs from a seed: a tiny PRNG, the feature flags, and a generator that keeps a
//! scope environment so that the plain version always compiles (types, `mut`, definite
//! initialisation, valid jumps, no moves of non-`Copy` locals, no borrow across a wait) and
//! always terminates (every loop is bounded by a counter or a range).

use super::ast::*;

/// splitmix64 (`tests/util/splitmix.rs`): small, seeded, good enough to pick among a few
/// choices.
pub use super::splitmix::Rng;

impl Rng {
    /// A number in `0..n` (`n > 0`).
    pub fn below(&mut self, n: u32) -> u32 {
        (self.next() % u64::from(n)) as u32
    }
    /// `true` with probability `pct`%.
    pub fn chance(&mut self, pct: u32) -> bool {
        self.below(100) < pct
    }
    /// An index chosen with the given weights (at least one is non-zero).
    pub fn weighted(&mut self, weights: &[u32]) -> usize {
        let total: u32 = weights.iter().sum();
        let mut x = self.below(total);
        for (i, w) in weights.iter().enumerate() {
            if x < *w {
                return i;
            }
            x -= w;
        }
        unreachable!()
    }
}

macro_rules! features {
    ($($(#[doc = $doc:literal])* $name:ident,)*) => {
        /// One flag per class of construct the generator may use.
        #[derive(Clone, Copy, Debug, PartialEq, Eq)]
        pub struct Features {
            $($(#[doc = $doc])* pub $name: bool,)*
        }

        impl Features {
            pub const NAMES: &[&str] = &[$(stringify!($name)),*];

            pub fn all() -> Features {
                Features { $($name: true,)* }
            }

            pub fn none() -> Features {
                Features { $($name: false,)* }
            }

            pub fn flag(&mut self, name: &str) -> Option<&mut bool> {
                match name {
                    $(stringify!($name) => Some(&mut self.$name),)*
                    _ => None,
                }
            }

            /// The names of the flags that are on (`true`) or off (`false`).
            pub fn names(&self, on: bool) -> Vec<&'static str> {
                let mut v = Vec::new();
                $(if self.$name == on { v.push(stringify!($name)); })*
                v
            }
        }
    };
}

features! {
    /// `loop`, `while` and `for` over small ranges, with `break` and `continue`.
    loops,
    /// Labels on loops, and `break 'l` / `continue 'l` to outer loops.
    labels,
    /// `'b: { … }` blocks left by `break 'b`.
    labeled_blocks,
    /// `break value` out of a `loop` or a labeled block used as a value.
    break_value,
    /// `return` at any depth.
    ret,
    /// `if let Some(..) = … { } else { }`.
    if_let,
    /// `match` on an integer and on an `Option`.
    matches,
    /// `let Some(..) = … else { …; diverge };`
    let_else,
    /// Names reused in nested scopes and in the same scope.
    shadowing,
    /// Pattern bindings (`if let`, `match` arms, `let … else`, `for`, `while let`) that reuse
    /// a name in scope.
    shadow_in_patterns,
    /// `let x; … x = …;` (also through both arms of an `if`).
    late_init,
    /// `D` values, whose drop logs `drop <id>`: locals, struct fields, places, overwrites.
    drops,
    /// `let _guard = D(..);` never read, and `let _ = D(..);`.
    guards,
    /// `D` values dead before the end of their scope: last used before a wait, overwritten
    /// after a wait, or the old value of a `mkevent!(place)`. Without it every `D` local is
    /// read again at the end of its scope and before it is overwritten, and no `D` is a place.
    dead_locals,
    /// Locals used inside macros: `format!("{a}")`, `format!("{}", a)`.
    macro_names,
    /// Names in macro arguments after `..` or `:` (`&v[..a]`, `w::P { f: a }`, `vec![a; 2]`).
    macro_names_tricky,
    /// `twait! { … }` with `mkevent!(x)` on a local.
    wait_places,
    /// `mkevent!(s.f)`, `mkevent!(s.d)`, `mkevent!(v[i])`.
    wait_field_index,
    /// Two `mkevent!` on one place in one block (the last trigger wins).
    double_place,
    /// A rendezvous `r`: `twait!(r)` as a `let` initialiser, a statement, an `if let`,
    /// `let … else` or `match` scrutinee, a `while let` loop, an `if` condition.
    rendezvous,
    /// A wait inside an operand or an argument (`w::f(1) + twait!(r)…`): operands left of it
    /// are evaluated first.
    operand_waits,
    /// `if`, `match`, blocks and `loop` used as values (without waits inside).
    value_blocks,
    /// Waits inside `if`, `match`, blocks and `loop` used as values.
    value_blocks_wait,
    /// `break`, `continue` or `return` out of an `if`, `match` or block used as a value.
    jumps_in_values,
    /// `if`, `match`, blocks and `loop` used as values in the scrutinee of a `match`, `if let`
    /// or `let … else`.
    scrutinee_blocks,
    /// Statements after one that always jumps (an `if`/`else` or `match` whose every branch
    /// ends in `break`, `continue` or `return`).
    unreachable_code,
    /// `0 => twait! { … },` as a match arm.
    arm_wait,
    /// `#[cfg(any())]` on a statement that waits.
    cfg_off,
    /// `mkevent!(r, id)` inside the arguments of `format!` and `vec!`.
    events_in_macros,
    /// The function takes parameters (`D`, `S`, `Vec<u32>`, `u32`, `Option<(u32, u32)>`,
    /// some `mut`), which the body uses as locals of its outermost scope: `run` calls it.
    params,
}

#[derive(Clone, Debug)]
struct Var {
    name: String,
    ty: Ty,
    mutable: bool,
    init: bool,
}

/// Whether `s` always jumps away (over-approximated: a `break` inside a loop of `s` counts).
pub fn diverges(s: &Stmt) -> bool {
    let block = |b: &Block| b.stmts.iter().any(diverges);
    match s {
        Stmt::Break(..) | Stmt::Continue(_) | Stmt::Return => true,
        Stmt::If(_, a, Some(b)) => block(a) && block(b),
        Stmt::IfLet {
            then, els: Some(b), ..
        } => block(then) && block(b),
        Stmt::Match(_, arms) => arms.iter().all(|(_, b)| match b {
            ArmBody::Block(b) => block(b),
            ArmBody::Wait(_) => false,
        }),
        Stmt::MatchOpt { some, none, .. } => block(some) && block(none),
        Stmt::Block(b) => block(b),
        Stmt::Labeled(l, b) => block(b) && !b.stmts.iter().any(|s| breaks_to(l, s)),
        _ => false,
    }
}

/// Whether `s` contains a `break 'label` (at any depth, also inside expressions).
fn breaks_to(label: &str, s: &Stmt) -> bool {
    let block = |b: &Block| {
        b.stmts.iter().any(|s| breaks_to(label, s))
            || b.tail.as_ref().is_some_and(|e| expr_breaks_to(label, e))
    };
    let e = |x: &Expr| expr_breaks_to(label, x);
    match s {
        Stmt::Break(Some(l), v) => l == label || v.as_ref().is_some_and(e),
        Stmt::Break(None, v) => v.as_ref().is_some_and(e),
        Stmt::Let { init, .. } => init.as_ref().is_some_and(e),
        Stmt::LetElse { scrut, els, .. } => e(scrut) || block(els),
        Stmt::Assign(_, x) | Stmt::Expr(x) | Stmt::Send(_, x) => e(x),
        Stmt::Log(_, LogItem::Args(xs)) => xs.iter().any(e),
        Stmt::If(c, a, b) => e(&c.e) || block(a) || b.as_ref().is_some_and(block),
        Stmt::IfLet {
            scrut, then, els, ..
        } => e(scrut) || block(then) || els.as_ref().is_some_and(block),
        Stmt::Match(x, arms) => {
            e(x) || arms.iter().any(|(_, b)| match b {
                ArmBody::Block(b) => block(b),
                ArmBody::Wait(_) => false,
            })
        }
        Stmt::MatchOpt {
            scrut, some, none, ..
        } => e(scrut) || block(some) || block(none),
        Stmt::Loop(h, b) => matches!(&h.kind, LoopKind::WhileCond(c) if e(&c.e)) || block(b),
        Stmt::Labeled(_, b) | Stmt::Block(b) => block(b),
        Stmt::CfgOff(inner) => breaks_to(label, inner),
        _ => false,
    }
}

fn expr_breaks_to(label: &str, x: &Expr) -> bool {
    let block = |b: &Block| {
        b.stmts.iter().any(|s| breaks_to(label, s))
            || b.tail.as_ref().is_some_and(|e| expr_breaks_to(label, e))
    };
    let e = |x: &Expr| expr_breaks_to(label, x);
    match x {
        Expr::Call(a) | Expr::SendE(_, a) | Expr::OptFn(a) | Expr::NewS(a, _) => e(a),
        Expr::Call2(a, b) | Expr::Add(a, b) => e(a) || e(b),
        Expr::NewVec(xs) => xs.iter().any(e),
        Expr::If(c, a, b) => e(&c.e) || block(a) || block(b),
        Expr::Match(s, arms) => e(s) || arms.iter().any(|(_, b)| block(b)),
        Expr::Block(_, b) => block(b),
        Expr::Loop(_, d, b) => e(d) || block(b),
        _ => false,
    }
}

/// Where a `break` / `continue` may go: a loop, or a labeled block.
#[derive(Clone, Debug)]
struct Target {
    is_loop: bool,
    label: Option<String>,
    /// The type of `break value`, if it takes one.
    value: Option<Ty>,
    /// The scopes from this index on are inside it.
    depth: usize,
}

const MAX_DEPTH: u32 = 3;
const POOL: [&str; 4] = ["a", "b", "c", "x"];

pub struct Gen<'f> {
    rng: Rng,
    f: &'f Features,
    scopes: Vec<Vec<Var>>,
    targets: Vec<Target>,
    budget: i32,
    depth: u32,
    /// > 0 while generating inside something where no wait may appear.
    no_wait: u32,
    /// > 0 inside macro arguments (`format!`, `vec!`): no `if`/`match`/block values there.
    no_values: u32,
    /// Inside `twait! { … }`: the first jump target that may be used (none outside it).
    wait_floor: Option<usize>,
    /// The same inside an `if`/`match`/block used as a value, without `jumps_in_values`.
    value_floor: Option<usize>,
    next_id: u32,
    next_d: u32,
    next_log: u32,
    next_name: u32,
}

/// The program for `seed` with `features`.
pub fn program(seed: u64, f: &Features) -> Program {
    let mut g = Gen {
        rng: Rng::new(seed),
        f,
        scopes: vec![Vec::new()],
        targets: Vec::new(),
        budget: 14 + (seed % 20) as i32,
        depth: 0,
        no_wait: 0,
        no_values: 0,
        wait_floor: None,
        value_floor: None,
        next_id: 0,
        next_d: 1,
        next_log: 0,
        next_name: 0,
    };
    let mut params = Vec::new();
    if f.params {
        for i in 0..1 + g.rng.below(3) {
            let ty = g.local_ty();
            // A name of the pool (so that shadowing may hide it), once each.
            let pooled = POOL[g.rng.below(POOL.len() as u32) as usize];
            let name = if params.iter().any(|p: &Param| p.name == pooled) {
                format!("p{i}")
            } else {
                pooled.to_string()
            };
            let arg = match ty {
                Ty::Int => Expr::Lit(g.rng.below(10)),
                Ty::D => Expr::NewD(g.d_id()),
                Ty::Vec => Expr::NewVec((0..4).map(|k| Expr::Lit(k + 1)).collect()),
                Ty::S => {
                    let id = g.d_id();
                    Expr::NewS(Box::new(Expr::Lit(g.rng.below(10))), id)
                }
                Ty::Opt => Expr::OptFn(Box::new(Expr::Lit(g.rng.below(10)))),
            };
            let mutable = g.rng.chance(30);
            g.declare(&name, ty, mutable, true);
            params.push(Param {
                name,
                ty,
                mutable,
                arg,
            });
        }
    }
    let mut body = Vec::new();
    let mut diverged = false;
    while g.budget > 0 {
        let len = body.len();
        g.stmt(&mut body, false);
        if !f.unreachable_code && body[len..].iter().any(diverges) {
            diverged = true;
            break;
        }
    }
    if !diverged {
        g.keepalive(&mut body);
        body.push(Stmt::Log(g.log_id(), LogItem::Plain));
    }
    Program {
        seed,
        uses_r: f.rendezvous,
        params,
        body,
    }
}

impl Gen<'_> {
    fn id(&mut self) -> u32 {
        self.next_id += 1;
        self.next_id
    }
    fn d_id(&mut self) -> u32 {
        self.next_d += 1;
        self.next_d - 1
    }
    fn log_id(&mut self) -> u32 {
        self.next_log += 1;
        self.next_log
    }
    fn waits_ok(&self) -> bool {
        self.no_wait == 0
    }

    /// Every variable visible now (innermost first, shadowed ones left out).
    fn visible(&self) -> Vec<Var> {
        let mut seen: Vec<&str> = Vec::new();
        let mut out = Vec::new();
        for scope in self.scopes.iter().rev() {
            for v in scope.iter().rev() {
                if !seen.contains(&v.name.as_str()) {
                    seen.push(&v.name);
                    out.push(v.clone());
                }
            }
        }
        out
    }

    fn readable(&self, ty: Ty) -> Vec<String> {
        self.visible()
            .into_iter()
            .filter(|v| v.ty == ty && v.init && !v.name.starts_with('_'))
            .map(|v| v.name)
            .collect()
    }

    fn pick(&mut self, names: &[String]) -> String {
        names[self.rng.below(names.len() as u32) as usize].clone()
    }

    fn fresh_name(&mut self) -> String {
        if self.f.shadowing && self.rng.chance(80) {
            // Reuse on purpose, but without `dead_locals` never hide a `D` (it would be dead
            // from there on).
            let visible = self.visible();
            for _ in 0..4 {
                let n = POOL[self.rng.below(POOL.len() as u32) as usize];
                let hides_d = visible
                    .iter()
                    .any(|v| v.name == n && matches!(v.ty, Ty::D | Ty::S));
                if self.f.dead_locals || !self.f.drops || !hides_d {
                    return n.to_string();
                }
            }
        }
        self.next_name += 1;
        format!("a{}", self.next_name)
    }

    /// A name for a pattern binding (`if let`, `match` arm, `let … else`, `for`, `while let`):
    /// reused only with `shadow_in_patterns`.
    fn pattern_name(&mut self) -> String {
        if self.f.shadow_in_patterns {
            self.fresh_name()
        } else {
            self.next_name += 1;
            format!("a{}", self.next_name)
        }
    }

    fn declare(&mut self, name: &str, ty: Ty, mutable: bool, init: bool) {
        if name == "_" {
            return;
        }
        self.scopes.last_mut().unwrap().push(Var {
            name: name.to_string(),
            ty,
            mutable,
            init,
        });
    }

    fn set_init(&mut self, name: &str) {
        for scope in self.scopes.iter_mut().rev() {
            if let Some(v) = scope.iter_mut().rev().find(|v| v.name == name) {
                v.init = true;
                return;
            }
        }
    }

    fn local_ty(&mut self) -> Ty {
        let mut tys = vec![Ty::Int, Ty::Int, Ty::Int, Ty::Vec];
        if self.f.drops {
            tys.extend([Ty::D, Ty::D, Ty::S]);
        }
        if self.f.rendezvous || self.rng.chance(50) {
            tys.push(Ty::Opt);
        }
        tys[self.rng.below(tys.len() as u32) as usize]
    }

    /// Reads of the `D` and `S` locals of the innermost scope, so that they stay live to its
    /// end (unless `dead_locals`).
    fn keepalive(&mut self, out: &mut Vec<Stmt>) {
        if self.f.dead_locals || !self.f.drops {
            return;
        }
        let scope = self.scopes.last().unwrap().clone();
        let visible = self.visible();
        for v in scope.iter() {
            let live = visible.iter().any(|w| w.name == v.name && w.ty == v.ty);
            if !live || !v.init || v.name.starts_with('_') {
                continue;
            }
            let e = match v.ty {
                Ty::D => Expr::DVal(v.name.clone()),
                Ty::S => Expr::FieldD(v.name.clone()),
                _ => continue,
            };
            let id = self.log_id();
            out.push(Stmt::Log(id, LogItem::Args(vec![e])));
        }
    }

    // ---- blocks -------------------------------------------------------------------------

    /// A block of statements in a new scope; `jump_pct` is the chance it ends with a jump.
    fn block(&mut self, jump_pct: u32, tail: Option<Ty>) -> Block {
        self.scopes.push(Vec::new());
        self.depth += 1;
        let n = 1 + self.rng.below(3);
        let mut stmts = Vec::new();
        let mut diverged = false;
        for _ in 0..n {
            if self.budget <= 0 {
                break;
            }
            let len = stmts.len();
            self.stmt(&mut stmts, false);
            if !self.f.unreachable_code && stmts[len..].iter().any(diverges) {
                if tail.is_some() {
                    // A value block must reach its tail.
                    stmts.truncate(len);
                } else {
                    diverged = true;
                    break;
                }
            }
        }
        let tail = tail.map(|ty| self.expr(ty, 1, self.f.rendezvous));
        if !diverged {
            self.keepalive(&mut stmts);
            if tail.is_none() && self.rng.chance(jump_pct) {
                self.jump(&mut stmts);
            }
        }
        self.depth -= 1;
        self.scopes.pop();
        Block { stmts, tail }
    }

    /// The first jump target that may be used here, `None` if any may (and `return` too).
    fn jump_floor(&self) -> Option<usize> {
        match (self.wait_floor, self.value_floor) {
            (None, None) => None,
            (a, b) => Some(a.unwrap_or(0).max(b.unwrap_or(0))),
        }
    }

    fn can_jump(&self) -> bool {
        match self.jump_floor() {
            None => self.f.ret || !self.targets.is_empty(),
            Some(fl) => self.targets.len() > fl,
        }
    }

    /// Pushes a `break`, `continue` or `return` valid here (and, without `dead_locals`, reads
    /// of the `D` locals it leaves, so that none is dead before it); `false` if none is.
    fn jump(&mut self, out: &mut Vec<Stmt>) -> bool {
        // (statement, scopes from this one on are left)
        let mut options: Vec<(Stmt, usize)> = Vec::new();
        let floor = self.jump_floor();
        if self.f.ret && floor.is_none() {
            options.push((Stmt::Return, 0));
        }
        let n = self.targets.len();
        for (i, t) in self.targets.clone().into_iter().enumerate().rev() {
            if i < floor.unwrap_or(0) {
                break;
            }
            let innermost = i + 1 == n;
            let mut labels = Vec::new();
            if innermost && t.is_loop {
                labels.push(None);
            }
            if let Some(l) = &t.label {
                labels.push(Some(l.clone()));
            }
            for l in labels {
                let v = t.value.map(|ty| self.expr(ty, 1, self.f.rendezvous));
                options.push((Stmt::Break(l.clone(), v), t.depth));
                if t.is_loop {
                    options.push((Stmt::Continue(l), t.depth));
                }
            }
        }
        if options.is_empty() {
            return false;
        }
        let i = self.rng.below(options.len() as u32) as usize;
        let (jump, depth) = options.swap_remove(i);
        if self.f.drops && !self.f.dead_locals {
            let visible = self.visible();
            let left: Vec<Var> = self.scopes[depth..].iter().flatten().cloned().collect();
            for v in left {
                let live = visible.iter().any(|w| w.name == v.name && w.ty == v.ty);
                if !live || !v.init || v.name.starts_with('_') {
                    continue;
                }
                let e = match v.ty {
                    Ty::D => Expr::DVal(v.name.clone()),
                    Ty::S => Expr::FieldD(v.name.clone()),
                    _ => continue,
                };
                out.push(Stmt::Log(self.log_id(), LogItem::Args(vec![e])));
            }
        }
        out.push(jump);
        true
    }

    fn loop_head(&mut self, allow_while_let: bool) -> LoopHead {
        let id = self.id();
        let label = (self.f.labels && self.rng.chance(50)).then(|| format!("'l{id}"));
        let mut kinds = vec![0, 1, 2];
        if allow_while_let && self.f.rendezvous && self.waits_ok() {
            kinds.extend([3, 4]);
        }
        let kind = match kinds[self.rng.below(kinds.len() as u32) as usize] {
            0 => LoopKind::Loop,
            1 => LoopKind::While,
            2 => LoopKind::For(self.pattern_name()),
            3 => LoopKind::WhileLet(self.pattern_name()),
            _ => {
                // No block values in a `while` condition: an unlabeled `break` there is E0590.
                self.no_values += 1;
                let c = self.cond(true);
                self.no_values -= 1;
                LoopKind::WhileCond(c)
            }
        };
        LoopHead {
            kind,
            label,
            id,
            k: 1 + self.rng.below(3),
        }
    }

    // ---- statements ---------------------------------------------------------------------

    fn stmt(&mut self, out: &mut Vec<Stmt>, no_let: bool) {
        self.budget -= 1;
        let deep = self.depth < MAX_DEPTH;
        let f = *self.f;
        let w = self.waits_ok();
        let has_jump = self.can_jump();
        let weights = [
            if no_let { 0 } else { 5 },                 // 0 let
            if f.late_init && !no_let { 1 } else { 0 }, // 1 late init
            if f.guards && !no_let { 1 } else { 0 },    // 2 guard
            if f.let_else && has_jump && !no_let {
                1
            } else {
                0
            }, // 3 let else
            3,                                          // 4 assign
            3,                                          // 5 log
            1,                                          // 6 expr stmt
            if deep { 3 } else { 0 },                   // 7 if
            if f.if_let && deep { 1 } else { 0 },       // 8 if let
            if f.matches && deep { 2 } else { 0 },      // 9 match
            if f.loops && deep { 3 } else { 0 },        // 10 loop
            if f.labeled_blocks && deep { 1 } else { 0 }, // 11 labeled
            if deep { 1 } else { 0 },                   // 12 block
            if w { 5 } else { 0 },                      // 13 wait
            if f.rendezvous { 2 } else { 0 },           // 14 send
            if f.cfg_off && w { 1 } else { 0 },         // 15 cfg off
        ];
        match self.rng.weighted(&weights) {
            0 => {
                let ty = self.local_ty();
                let init = self.expr(ty, 0, f.rendezvous);
                let name = self.fresh_name();
                let mutable = self.rng.chance(60);
                self.declare(&name, ty, mutable, true);
                out.push(Stmt::Let {
                    name,
                    mutable,
                    init: Some(init),
                });
            }
            1 => self.late_init(out),
            2 => {
                let id = self.d_id();
                let name = if self.rng.chance(25) {
                    "_".to_string()
                } else if f.shadowing {
                    "_guard".to_string()
                } else {
                    let n = self.id();
                    format!("_guard{n}")
                };
                self.declare(&name, Ty::D, false, true);
                out.push(Stmt::Let {
                    name,
                    mutable: false,
                    init: Some(Expr::NewD(id)),
                });
            }
            3 => {
                let scrut = self.scrutinee(Ty::Opt);
                let mut stmts = Vec::new();
                if self.rng.chance(50) {
                    stmts.push(Stmt::Log(self.log_id(), LogItem::Plain));
                }
                // No wait in the `else` block (refused: it would have to diverge after it).
                self.no_wait += 1;
                assert!(self.jump(&mut stmts));
                self.no_wait -= 1;
                let name = self.pattern_name();
                self.declare(&name, Ty::Int, false, true);
                out.push(Stmt::LetElse {
                    name,
                    scrut,
                    els: Block { stmts, tail: None },
                });
            }
            4 => match self.place(false) {
                Some((p, ty)) => {
                    // Without `dead_locals`, the old value of a `D` must not be dead while the
                    // new one waits.
                    let e = if f.dead_locals || !matches!(ty, Ty::D | Ty::S) {
                        self.expr(ty, 0, f.rendezvous)
                    } else {
                        self.expr_nowait(ty, 0)
                    };
                    if !f.dead_locals {
                        // Keep the old value live until it is overwritten.
                        let read = match (&p, ty) {
                            (Place::Var(d), Ty::D) => Some(Expr::DVal(d.clone())),
                            (Place::Var(s) | Place::FieldD(s), Ty::S | Ty::D) => {
                                Some(Expr::FieldD(s.clone()))
                            }
                            _ => None,
                        };
                        if let Some(read) = read {
                            out.push(Stmt::Log(self.log_id(), LogItem::Args(vec![read])));
                        }
                    }
                    out.push(Stmt::Assign(p, e));
                }
                None => out.push(self.log()),
            },
            5 => out.push(self.log()),
            6 => {
                if f.rendezvous && w && self.rng.chance(50) {
                    out.push(Stmt::Expr(Expr::RvOpt));
                } else {
                    let e = self.expr(Ty::Int, 1, f.rendezvous);
                    out.push(Stmt::Expr(Expr::Call(Box::new(e))));
                }
            }
            7 => {
                let c = self.cond(f.rendezvous);
                let then = self.block(45, None);
                let els = self.rng.chance(40).then(|| self.block(20, None));
                out.push(Stmt::If(c, then, els));
            }
            8 => {
                let scrut = self.scrutinee(Ty::Opt);
                let name = self.pattern_name();
                self.scopes.push(Vec::new());
                self.declare(&name, Ty::Int, false, true);
                let then = self.block(30, None);
                self.scopes.pop();
                let els = self.rng.chance(50).then(|| self.block(20, None));
                out.push(Stmt::IfLet {
                    name,
                    scrut,
                    then,
                    els,
                });
            }
            9 => {
                if self.rng.chance(60) {
                    let scrut = self.scrutinee(Ty::Int);
                    let mut arms = Vec::new();
                    let n = 1 + self.rng.below(3);
                    for k in 0..n {
                        let pat = (k + 1 < n).then_some(k);
                        let body = if f.arm_wait && w && self.rng.chance(40) {
                            ArmBody::Wait(self.wait_items())
                        } else {
                            ArmBody::Block(self.block(25, None))
                        };
                        arms.push((pat, body));
                    }
                    out.push(Stmt::Match(scrut, arms));
                } else {
                    let scrut = self.scrutinee(Ty::Opt);
                    let name = self.pattern_name();
                    self.scopes.push(Vec::new());
                    self.declare(&name, Ty::Int, false, true);
                    let some = self.block(25, None);
                    self.scopes.pop();
                    let none = self.block(25, None);
                    out.push(Stmt::MatchOpt {
                        scrut,
                        name,
                        some,
                        none,
                    });
                }
            }
            10 => {
                let head = self.loop_head(true);
                self.targets.push(Target {
                    is_loop: true,
                    label: head.label.clone(),
                    value: None,
                    depth: self.scopes.len(),
                });
                self.scopes.push(Vec::new());
                match &head.kind {
                    LoopKind::For(v) | LoopKind::WhileLet(v) => {
                        let v = v.clone();
                        self.declare(&v, Ty::Int, false, true);
                    }
                    _ => {}
                }
                let body = self.block(10, None);
                self.scopes.pop();
                self.targets.pop();
                out.push(Stmt::Loop(head, body));
            }
            11 => {
                let label = format!("'b{}", self.id());
                self.targets.push(Target {
                    is_loop: false,
                    label: Some(label.clone()),
                    value: None,
                    depth: self.scopes.len(),
                });
                let body = self.block(10, None);
                self.targets.pop();
                out.push(Stmt::Labeled(label, body));
            }
            12 => {
                let b = self.block(10, None);
                out.push(Stmt::Block(b));
            }
            13 => {
                let items = self.wait_items();
                out.push(Stmt::Wait(items));
            }
            14 => {
                let id = self.rng.below(10);
                let e = self.expr_nowait(Ty::Int, 1);
                out.push(Stmt::Send(id, e));
            }
            15 => {
                let inner = if f.rendezvous && self.rng.chance(40) {
                    Stmt::Expr(Expr::RvOpt)
                } else {
                    // Its places must not be counted as assigned: generate, then forget.
                    let items = self.wait_items();
                    Stmt::Wait(items)
                };
                out.push(Stmt::CfgOff(Box::new(inner)));
            }
            _ => unreachable!(),
        }
    }

    /// `let x;`, a few statements that do not declare at this level, then `x = …;` (or an
    /// `if` that assigns it in both arms).
    fn late_init(&mut self, out: &mut Vec<Stmt>) {
        let ty = self.local_ty();
        let name = self.fresh_name();
        let mutable = self.rng.chance(30);
        self.declare(&name, ty, mutable, false);
        out.push(Stmt::Let {
            name: name.clone(),
            mutable,
            init: None,
        });
        for _ in 0..self.rng.below(3) {
            // No `let` that would shadow, nothing that always jumps (the assignment would be
            // unreachable).
            let len = out.len();
            self.stmt(out, true);
            if out[len..].iter().any(diverges) {
                out.truncate(len);
            }
        }
        let r = self.f.rendezvous;
        if self.rng.chance(30) && self.depth < MAX_DEPTH {
            let c = self.cond(r);
            let e1 = self.expr(ty, 0, r);
            let e2 = self.expr(ty, 0, r);
            let arm = |g: &mut Self, e| {
                let mut stmts = Vec::new();
                if g.rng.chance(50) {
                    stmts.push(Stmt::Log(g.log_id(), LogItem::Plain));
                }
                stmts.push(Stmt::Assign(Place::Var(name.clone()), e));
                Block { stmts, tail: None }
            };
            let then = arm(self, e1);
            let els = arm(self, e2);
            out.push(Stmt::If(c, then, Some(els)));
        } else {
            let e = self.expr(ty, 0, r);
            out.push(Stmt::Assign(Place::Var(name.clone()), e));
        }
        self.set_init(&name);
    }

    fn log(&mut self) -> Stmt {
        let id = self.log_id();
        let f = self.f;
        let mut items = vec![LogItem::Plain];
        let vis: Vec<Var> = self
            .visible()
            .into_iter()
            .filter(|v| v.init && !v.name.starts_with('_'))
            .collect();
        let ints: Vec<String> = vis
            .iter()
            .filter(|v| v.ty == Ty::Int)
            .map(|v| v.name.clone())
            .collect();
        let vecs: Vec<String> = vis
            .iter()
            .filter(|v| v.ty == Ty::Vec)
            .map(|v| v.name.clone())
            .collect();
        let n_args = 1 + self.rng.below(2);
        self.no_values += 1;
        let args = (0..n_args).map(|_| self.expr_nowait(Ty::Int, 1)).collect();
        self.no_values -= 1;
        items.push(LogItem::Args(args));
        if f.macro_names && !vis.is_empty() {
            let v = vis[self.rng.below(vis.len() as u32) as usize].clone();
            items.push(LogItem::Inline(v.name.clone(), v.ty));
            if !matches!(v.ty, Ty::Int | Ty::Opt) {
                items.push(LogItem::Debug(v.name));
            }
        }
        if f.macro_names_tricky && !ints.is_empty() {
            let a = self.pick(&ints);
            items.push(LogItem::StructLit(a.clone()));
            items.push(LogItem::VecMacro(a.clone()));
            if !vecs.is_empty() {
                let v = self.pick(&vecs);
                let b = self.pick(&ints);
                items.push(LogItem::SliceTo(v.clone(), a.clone()));
                items.push(LogItem::SliceFrom(v.clone(), a.clone()));
                items.push(LogItem::SliceRange(v, a, b));
            }
        }
        let i = self.rng.below(items.len() as u32) as usize;
        Stmt::Log(id, items.swap_remove(i))
    }

    /// A place to assign, with its type: initialised and `mut` (or, for `=`, a late
    /// initialisation is not chosen here).
    fn place(&mut self, for_event: bool) -> Option<(Place, Ty)> {
        let f = self.f;
        let vis: Vec<Var> = self
            .visible()
            .into_iter()
            .filter(|v| v.init && v.mutable && !v.name.starts_with('_'))
            .collect();
        let mut options = Vec::new();
        for v in &vis {
            // The old value of a `D` place is dead while the block waits.
            let d_ok = !for_event || f.dead_locals;
            match v.ty {
                Ty::Int if !for_event || f.wait_places => {
                    options.push((Place::Var(v.name.clone()), v.ty))
                }
                Ty::D if d_ok && (!for_event || f.wait_places) => {
                    options.push((Place::Var(v.name.clone()), v.ty))
                }
                Ty::Opt if !for_event => options.push((Place::Var(v.name.clone()), v.ty)),
                Ty::Vec if !for_event => options.push((Place::Var(v.name.clone()), v.ty)),
                Ty::S if !for_event => options.push((Place::Var(v.name.clone()), v.ty)),
                _ => {}
            }
            if !for_event || f.wait_field_index {
                match v.ty {
                    Ty::S => {
                        options.push((Place::Field(v.name.clone()), Ty::Int));
                        if d_ok {
                            options.push((Place::FieldD(v.name.clone()), Ty::D));
                        }
                    }
                    Ty::Vec => {
                        let idx = self.idx();
                        options.push((Place::Index(v.name.clone(), idx), Ty::Int));
                    }
                    _ => {}
                }
            }
        }
        if options.is_empty() {
            return None;
        }
        let i = self.rng.below(options.len() as u32) as usize;
        Some(options.swap_remove(i))
    }

    fn idx(&mut self) -> Idx {
        let ints = self.readable(Ty::Int);
        if !ints.is_empty() && self.rng.chance(50) {
            Idx::Var(self.pick(&ints))
        } else {
            Idx::Lit(self.rng.below(4))
        }
    }

    /// The statements of a `twait! { … }` block.
    fn wait_items(&mut self) -> Vec<WaitItem> {
        self.no_wait += 1;
        let floor = self.wait_floor.replace(self.targets.len());
        let mut items = Vec::new();
        let mut d_places: Vec<String> = Vec::new();
        let mut int_places: Vec<String> = Vec::new();
        let mut int_list: Vec<Place> = Vec::new();
        let n = 1 + self.rng.below(3);
        for _ in 0..n {
            let choice = self.rng.weighted(&[
                1,
                3,
                1,
                if self.f.wait_places || self.f.wait_field_index {
                    6
                } else {
                    0
                },
                if self.f.rendezvous { 1 } else { 0 },
                1,
            ]);
            let item = match choice {
                0 => WaitItem::Log(self.log_id()),
                1 => WaitItem::Go,
                2 => WaitItem::Ready,
                3 => {
                    let Some((p, ty)) = self.place(true) else {
                        continue;
                    };
                    // A `D` place at most once per block (its drops would depend on how
                    // several values for one place are kept), an `Int` place twice only
                    // with `double_place`. Two indices into one vector may be one element.
                    let key = match &p {
                        Place::Index(v, _) => format!("{v}[]"),
                        _ => format!("{p:?}"),
                    };
                    if ty == Ty::D {
                        if d_places.contains(&key) {
                            continue;
                        }
                        d_places.push(key);
                    } else {
                        if int_places.contains(&key) && !self.f.double_place {
                            continue;
                        }
                        int_places.push(key);
                        int_list.push(p.clone());
                    }
                    let e = self.expr_nowait(ty, 1);
                    match self.rng.below(5) {
                        0 if ty == Ty::Int => WaitItem::Now(e, p),
                        1 => WaitItem::Abandon(e, p),
                        _ => WaitItem::Later(e, p),
                    }
                }
                4 => {
                    let e = self.expr_nowait(Ty::Int, 1);
                    WaitItem::Send(self.rng.below(10), e)
                }
                _ => {
                    let e = self.expr_nowait(Ty::Int, 1);
                    WaitItem::Let(format!("t{}", self.id()), e)
                }
            };
            items.push(item);
        }
        if items.is_empty() {
            items.push(WaitItem::Go);
        }
        // With double_place, sometimes aim twice at one `Int` place on purpose.
        if self.f.double_place && !int_list.is_empty() && self.rng.chance(30) {
            let p = int_list[self.rng.below(int_list.len() as u32) as usize].clone();
            let e = self.expr_nowait(Ty::Int, 1);
            items.push(WaitItem::Later(e, p));
        }
        self.no_wait -= 1;
        self.wait_floor = floor;
        items
    }

    // ---- expressions --------------------------------------------------------------------

    fn cond(&mut self, wait: bool) -> Cond {
        let e = self.expr(Ty::Int, 1, wait);
        let op = match self.rng.below(3) {
            0 => CmpOp::Eq,
            1 => CmpOp::Lt,
            _ => CmpOp::Even,
        };
        let k = self.rng.below(4);
        Cond { e, op, k }
    }

    /// The scrutinee of a `match`, `if let` or `let … else`: block values in it only with
    /// `scrutinee_blocks`.
    fn scrutinee(&mut self, ty: Ty) -> Expr {
        let off = !self.f.scrutinee_blocks;
        self.no_values += u32::from(off);
        let e = self.expr(ty, 0, self.f.rendezvous);
        self.no_values -= u32::from(off);
        e
    }

    fn expr_nowait(&mut self, ty: Ty, depth: u32) -> Expr {
        self.no_wait += 1;
        let e = self.expr(ty, depth, false);
        self.no_wait -= 1;
        e
    }

    /// An expression of type `ty`; `wait` says whether a wait may appear right here.
    fn expr(&mut self, ty: Ty, depth: u32, wait: bool) -> Expr {
        let f = *self.f;
        let wait = wait && self.waits_ok() && f.rendezvous;
        let child_wait = wait && f.operand_waits;
        let composite = depth < 2;
        let values = f.value_blocks
            && composite
            && self.no_values == 0
            && self.depth < MAX_DEPTH
            && self.budget > 0;
        match ty {
            Ty::Int => {
                let ints = self.readable(Ty::Int);
                let ds = self.readable(Ty::D);
                let ss = self.readable(Ty::S);
                let vs = self.readable(Ty::Vec);
                let os = self.readable(Ty::Opt);
                // Inside `format!`/`vec!` arguments only with `events_in_macros`, and rarely.
                let send_w = match (composite && f.rendezvous, self.no_values == 0) {
                    (true, true) => 1,
                    (true, false) if f.events_in_macros && self.rng.chance(20) => 1,
                    _ => 0,
                };
                let weights = [
                    3,                                   // 0 lit
                    if ints.is_empty() { 0 } else { 5 }, // 1 var
                    if ds.is_empty() { 0 } else { 1 },   // 2 d.0
                    if ss.is_empty() { 0 } else { 1 },   // 3 s.f / s.d.0
                    if vs.is_empty() { 0 } else { 1 },   // 4 v[i]
                    if os.is_empty() { 0 } else { 1 },   // 5 o.map_or
                    if composite { 2 } else { 0 },       // 6 f(e)
                    if composite { 1 } else { 0 },       // 7 g(a, b)
                    if composite { 2 } else { 0 },       // 8 a + b
                    send_w,                              // 9 send
                    if wait { 3 } else { 0 },            // 10 rv
                    if values { 1 } else { 0 },          // 11 value forms
                ];
                match self.rng.weighted(&weights) {
                    0 => Expr::Lit(self.rng.below(10)),
                    1 => Expr::Var(self.pick(&ints)),
                    2 => Expr::DVal(self.pick(&ds)),
                    3 => {
                        let s = self.pick(&ss);
                        if self.rng.chance(50) {
                            Expr::Field(s)
                        } else {
                            Expr::FieldD(s)
                        }
                    }
                    4 => {
                        let v = self.pick(&vs);
                        Expr::Index(v, self.idx())
                    }
                    5 => Expr::OptVal(self.pick(&os)),
                    6 => Expr::Call(Box::new(self.expr(Ty::Int, depth + 1, child_wait))),
                    7 => {
                        let a = self.expr(Ty::Int, depth + 1, child_wait);
                        let b = self.expr(Ty::Int, depth + 1, child_wait);
                        Expr::Call2(Box::new(a), Box::new(b))
                    }
                    8 => {
                        let a = self.expr(Ty::Int, depth + 1, child_wait);
                        let b = self.expr(Ty::Int, depth + 1, child_wait);
                        Expr::Add(Box::new(a), Box::new(b))
                    }
                    9 => {
                        let e = self.expr_nowait(Ty::Int, depth + 1);
                        Expr::SendE(self.rng.below(10), Box::new(e))
                    }
                    10 => Expr::Rv,
                    _ => self.value_form(ty),
                }
            }
            Ty::D => {
                if values && self.rng.chance(15) {
                    self.value_form(ty)
                } else {
                    Expr::NewD(self.d_id())
                }
            }
            Ty::Vec => {
                self.no_values += 1;
                let items = (0..4)
                    .map(|_| self.expr_nowait(Ty::Int, depth + 1))
                    .collect();
                self.no_values -= 1;
                Expr::NewVec(items)
            }
            Ty::S => {
                let e = self.expr(Ty::Int, depth + 1, child_wait);
                Expr::NewS(Box::new(e), self.d_id())
            }
            Ty::Opt => {
                let os = self.readable(Ty::Opt);
                let weights = [
                    if wait { 4 } else { 0 },
                    2,
                    if os.is_empty() { 0 } else { 1 },
                ];
                match self.rng.weighted(&weights) {
                    0 => Expr::RvOpt,
                    1 => Expr::OptFn(Box::new(self.expr(Ty::Int, depth + 1, child_wait))),
                    _ => Expr::OptVar(self.pick(&os)),
                }
            }
        }
    }

    /// `if`, `match`, a (labeled) block or a `loop` as a value of type `ty`.
    fn value_form(&mut self, ty: Ty) -> Expr {
        let f = *self.f;
        let inner_wait = f.value_blocks_wait;
        if !inner_wait {
            self.no_wait += 1;
        }
        let value_floor = self.value_floor;
        if !f.jumps_in_values {
            self.value_floor = Some(self.targets.len());
        }
        let mut kinds = vec![0, 1, 2];
        if f.break_value && f.loops {
            kinds.push(3);
        }
        if f.break_value && f.labeled_blocks {
            kinds.push(4);
        }
        let e = match kinds[self.rng.below(kinds.len() as u32) as usize] {
            0 => {
                let c = self.cond(f.rendezvous);
                let a = self.block(0, Some(ty));
                let b = self.block(0, Some(ty));
                Expr::If(Box::new(c), Box::new(a), Box::new(b))
            }
            1 => {
                let scrut = self.scrutinee(Ty::Int);
                let n = 1 + self.rng.below(3);
                let arms = (0..n)
                    .map(|k| {
                        let pat = (k + 1 < n).then_some(k);
                        let b = if self.rng.chance(50) {
                            Block {
                                stmts: Vec::new(),
                                tail: Some(self.expr(ty, 1, f.rendezvous)),
                            }
                        } else {
                            self.block(0, Some(ty))
                        };
                        (pat, b)
                    })
                    .collect();
                Expr::Match(Box::new(scrut), arms)
            }
            2 => Expr::Block(None, Box::new(self.block(0, Some(ty)))),
            3 => {
                let mut head = self.loop_head(false);
                head.kind = LoopKind::Loop;
                // Printed inside the loop: no jump in it (no block values).
                self.no_values += 1;
                let dflt = self.expr(ty, 1, f.rendezvous);
                self.no_values -= 1;
                self.targets.push(Target {
                    is_loop: true,
                    label: head.label.clone(),
                    value: Some(ty),
                    depth: self.scopes.len(),
                });
                let body = self.block(15, None);
                self.targets.pop();
                Expr::Loop(Box::new(head), Box::new(dflt), Box::new(body))
            }
            _ => {
                let label = format!("'b{}", self.id());
                self.targets.push(Target {
                    is_loop: false,
                    label: Some(label.clone()),
                    value: Some(ty),
                    depth: self.scopes.len(),
                });
                let body = self.block(0, Some(ty));
                self.targets.pop();
                Expr::Block(Some(label), Box::new(body))
            }
        };
        if !inner_wait {
            self.no_wait -= 1;
        }
        self.value_floor = value_floor;
        e
    }
}
