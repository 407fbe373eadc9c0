//! One AST, printed twice: the `#[tamed]` function, and the plain function where every wait is
//! replaced by what it would do if it blocked the thread until its events completed.
//!
//! | tamed | plain |
//! |---|---|
//! | `let r: Rendezvous<u32, u32> = …` | `let r = w::Q::default();` (a FIFO queue) |
//! | `twait!(r)` | `r.pop()` |
//! | `w::send(mkevent!(r, id), v)` (triggered next turn) | `w::qsend(&r, id, v)` |
//! | `twait! { …; w::later(v, mkevent!(p)); … }` | `{ …; let __p = v; …; p = __p; }` |
//! | `w::now(v, mkevent!(p))` (triggered at once) | the same, assigned before the `later` ones (trigger order) |
//! | `w::abandon(v, mkevent!(p))` (dropped untriggered) | `drop(v);` |
//! | `tame::asap(mkevent!())`, `w::ready(mkevent!())` | nothing |

use super::ast::*;

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Mode {
    Tamed,
    Plain,
}

/// The module file for `p` (a `pub fn run()`).
pub fn module(p: &Program, mode: Mode) -> String {
    let mut pr = Printer { mode, tmp: 0 };
    let mut s = String::new();
    s.push_str("#[allow(unused_imports)]\nuse crate::w::{self, D, P, S, log};\n\n");
    s.push_str(&format!("// seed {}\n", p.seed));
    if !p.params.is_empty() {
        // `run` passes the arguments; the function under test takes them as parameters.
        let args: Vec<String> = p.params.iter().map(|a| pr.expr(&a.arg, 1)).collect();
        s.push_str(&format!(
            "pub fn run() {{\n    body({});\n}}\n\n",
            args.join(", ")
        ));
    }
    if mode == Mode::Tamed {
        s.push_str("#[tame::tamed]\n");
    }
    if p.params.is_empty() {
        s.push_str("pub fn run() {\n");
    } else {
        let params: Vec<String> = p
            .params
            .iter()
            .map(|a| {
                let ty = match a.ty {
                    Ty::Int => "u32",
                    Ty::D => "D",
                    Ty::Vec => "Vec<u32>",
                    Ty::S => "S",
                    Ty::Opt => "Option<(u32, u32)>",
                };
                let m = if a.mutable { "mut " } else { "" };
                format!("{m}{}: {ty}", a.name)
            })
            .collect();
        s.push_str(&format!("fn body({}) {{\n", params.join(", ")));
    }
    if p.uses_r {
        s.push_str(match mode {
            Mode::Tamed => "    let r: tame::Rendezvous<u32, u32> = tame::Rendezvous::new();\n",
            Mode::Plain => "    let r = w::Q::default();\n",
        });
    }
    for st in &p.body {
        s.push_str(&pr.stmt(st, 1));
    }
    s.push_str("}\n");
    s
}

struct Printer {
    mode: Mode,
    tmp: u32,
}

fn pad(ind: usize) -> String {
    "    ".repeat(ind)
}

fn idx(i: &Idx) -> String {
    match i {
        Idx::Lit(n) => n.to_string(),
        Idx::Var(a) => format!("({a} as usize) % 4"),
    }
}

fn is_atom(e: &Expr) -> bool {
    !matches!(
        e,
        Expr::Add(..) | Expr::If(..) | Expr::Match(..) | Expr::Block(..) | Expr::Loop(..)
    )
}

impl Printer {
    fn tamed(&self) -> bool {
        self.mode == Mode::Tamed
    }

    /// `e`, in parentheses unless it is an atom.
    fn operand(&mut self, e: &Expr, ind: usize) -> String {
        let s = self.expr(e, ind);
        if is_atom(e) { s } else { format!("({s})") }
    }

    fn expr(&mut self, e: &Expr, ind: usize) -> String {
        match e {
            Expr::Lit(n) => n.to_string(),
            Expr::Var(x) => x.clone(),
            Expr::DVal(d) => format!("{d}.0"),
            Expr::Field(s) => format!("{s}.f"),
            Expr::FieldD(s) => format!("{s}.d.0"),
            Expr::Index(v, i) => format!("{v}[{}]", idx(i)),
            Expr::OptVal(o) => format!("{o}.map_or(0, |(_, v)| v)"),
            Expr::Call(a) => format!("w::f({})", self.expr(a, ind)),
            Expr::Call2(a, b) => format!("w::g({}, {})", self.expr(a, ind), self.expr(b, ind)),
            Expr::Add(a, b) => format!(
                "({} + {}) % 1000",
                self.operand(a, ind),
                self.operand(b, ind)
            ),
            Expr::SendE(id, v) => {
                let v = self.expr(v, ind);
                if self.tamed() {
                    format!("w::sendv(mkevent!(r, {id}), {v})")
                } else {
                    format!("w::qsendv(&r, {id}, {v})")
                }
            }
            Expr::Rv => format!("{}.map_or(0, |(_, v)| v)", self.rv()),
            Expr::RvOpt => self.rv().to_string(),
            Expr::OptFn(a) => format!("w::opt({})", self.expr(a, ind)),
            Expr::OptVar(o) => o.clone(),
            Expr::NewD(id) => format!("D({id})"),
            Expr::NewVec(items) => {
                let items: Vec<String> = items.iter().map(|i| self.expr(i, ind)).collect();
                format!("vec![{}]", items.join(", "))
            }
            Expr::NewS(f, id) => format!("S {{ f: {}, d: D({id}) }}", self.expr(f, ind)),
            Expr::If(c, a, b) => format!(
                "if {} {} else {}",
                self.cond(c, ind),
                self.block(a, ind),
                self.block(b, ind)
            ),
            Expr::Match(scrut, arms) => {
                let mut s = format!("match {} % 3 {{\n", self.operand(scrut, ind));
                for (pat, b) in arms {
                    let pat = pat.map_or("_".to_string(), |k| k.to_string());
                    let body = match (&b.tail, b.stmts.is_empty()) {
                        (Some(t), true) => self.expr(t, ind + 1),
                        _ => self.block(b, ind + 1),
                    };
                    s.push_str(&format!("{}{pat} => {body},\n", pad(ind + 1)));
                }
                s.push_str(&format!("{}}}", pad(ind)));
                s
            }
            Expr::Block(label, b) => match label {
                Some(l) => format!("{l}: {}", self.block(b, ind)),
                None => self.block(b, ind),
            },
            Expr::Loop(head, dflt, body) => {
                let n = format!("n{}", head.id);
                let label = head
                    .label
                    .as_ref()
                    .map_or(String::new(), |l| format!("{l}: "));
                let brk = head
                    .label
                    .as_ref()
                    .map_or(String::new(), |l| format!(" {l}"));
                let mut s = "{\n".to_string();
                s.push_str(&format!("{}let mut {n} = 0;\n", pad(ind + 1)));
                s.push_str(&format!("{}{label}loop {{\n", pad(ind + 1)));
                s.push_str(&format!("{}{n} += 1;\n", pad(ind + 2)));
                s.push_str(&format!(
                    "{}if {n} > {} {{\n{}break{brk} {};\n{}}}\n",
                    pad(ind + 2),
                    head.k,
                    pad(ind + 3),
                    self.expr(dflt, ind + 3),
                    pad(ind + 2)
                ));
                for st in &body.stmts {
                    s.push_str(&self.stmt(st, ind + 2));
                }
                s.push_str(&format!("{}}}\n{}}}", pad(ind + 1), pad(ind)));
                s
            }
        }
    }

    fn rv(&self) -> &'static str {
        if self.tamed() { "twait!(r)" } else { "r.pop()" }
    }

    fn cond(&mut self, c: &Cond, ind: usize) -> String {
        let e = self.operand(&c.e, ind);
        match c.op {
            CmpOp::Eq => format!("{e} == {}", c.k),
            CmpOp::Lt => format!("{e} < {}", c.k),
            CmpOp::Even => format!("{e} % 2 == 0"),
        }
    }

    /// `{ … }` starting at the current position, its `}` at `ind`.
    fn block(&mut self, b: &Block, ind: usize) -> String {
        let mut s = "{\n".to_string();
        for st in &b.stmts {
            s.push_str(&self.stmt(st, ind + 1));
        }
        if let Some(t) = &b.tail {
            s.push_str(&format!("{}{}\n", pad(ind + 1), self.expr(t, ind + 1)));
        }
        s.push_str(&format!("{}}}", pad(ind)));
        s
    }

    fn place(&mut self, p: &Place) -> String {
        match p {
            Place::Var(x) => x.clone(),
            Place::Field(s) => format!("{s}.f"),
            Place::FieldD(s) => format!("{s}.d"),
            Place::Index(v, i) => format!("{v}[{}]", idx(i)),
        }
    }

    fn log(&mut self, id: u32, item: &LogItem, ind: usize) -> String {
        match item {
            LogItem::Plain => format!("log(\"s{id}\")"),
            LogItem::Inline(a, Ty::Int) => format!("log(format!(\"s{id} {{{a}}}\"))"),
            LogItem::Inline(a, _) => format!("log(format!(\"s{id} {{{a}:?}}\"))"),
            LogItem::Args(es) => {
                let holes = vec!["{}"; es.len()].join(" ");
                let args: Vec<String> = es.iter().map(|e| self.expr(e, ind)).collect();
                format!("log(format!(\"s{id} {holes}\", {}))", args.join(", "))
            }
            LogItem::SliceTo(v, a) => {
                format!("log(format!(\"s{id} {{:?}}\", &{v}[..({a} as usize) % 5]))")
            }
            LogItem::SliceRange(v, a, b) => format!(
                "log(format!(\"s{id} {{:?}}\", &{v}[({a} as usize) % 2..2 + ({b} as usize) % 3]))"
            ),
            LogItem::SliceFrom(v, a) => {
                format!("log(format!(\"s{id} {{:?}}\", &{v}[({a} as usize) % 5..]))")
            }
            LogItem::StructLit(a) => format!("log(format!(\"s{id} {{:?}}\", P {{ f: {a} }}))"),
            LogItem::VecMacro(a) => format!("log(format!(\"s{id} {{:?}}\", vec![{a}; 2]))"),
            LogItem::Debug(a) => format!("log(format!(\"s{id} {{:?}}\", {a}))"),
        }
    }

    fn loop_head(&mut self, h: &LoopHead, ind: usize) -> String {
        let n = format!("n{}", h.id);
        let label = h.label.as_ref().map_or(String::new(), |l| format!("{l}: "));
        let p = pad(ind);
        let p1 = pad(ind + 1);
        let p2 = pad(ind + 2);
        let guard = format!(
            "{p1}{n} += 1;\n{p1}if {n} > {} {{\n{p2}break;\n{p1}}}\n",
            h.k
        );
        match &h.kind {
            LoopKind::Loop => format!("{p}let mut {n} = 0;\n{p}{label}loop {{\n{guard}"),
            LoopKind::While => format!(
                "{p}let mut {n} = 0;\n{p}{label}while {n} < {} {{\n{p1}{n} += 1;\n",
                h.k
            ),
            LoopKind::For(v) => format!("{p}{label}for {v} in 0..{} {{\n", h.k),
            LoopKind::WhileLet(v) => format!(
                "{p}let mut {n} = 0;\n{p}{label}while let Some((_, {v})) = {} {{\n{guard}",
                self.rv()
            ),
            LoopKind::WhileCond(c) => format!(
                "{p}let mut {n} = 0;\n{p}{label}while {} {{\n{guard}",
                self.cond(c, ind)
            ),
        }
    }

    fn stmt(&mut self, st: &Stmt, ind: usize) -> String {
        let p = pad(ind);
        match st {
            Stmt::Let {
                name,
                mutable,
                init,
            } => {
                let m = if *mutable { "mut " } else { "" };
                match init {
                    Some(e) => format!("{p}let {m}{name} = {};\n", self.expr(e, ind)),
                    None => format!("{p}let {m}{name};\n"),
                }
            }
            Stmt::LetElse { name, scrut, els } => format!(
                "{p}let Some((_, {name})) = {} else {};\n",
                self.operand(scrut, ind),
                self.block(els, ind)
            ),
            Stmt::Assign(pl, e) => {
                format!("{p}{} = {};\n", self.place(pl), self.expr(e, ind))
            }
            Stmt::Log(id, item) => format!("{p}{};\n", self.log(*id, item, ind)),
            Stmt::Expr(e) => format!("{p}{};\n", self.expr(e, ind)),
            Stmt::If(c, a, b) => {
                let mut s = format!("{p}if {} {}", self.cond(c, ind), self.block(a, ind));
                if let Some(b) = b {
                    s.push_str(&format!(" else {}", self.block(b, ind)));
                }
                s.push('\n');
                s
            }
            Stmt::IfLet {
                name,
                scrut,
                then,
                els,
            } => {
                let mut s = format!(
                    "{p}if let Some((_, {name})) = {} {}",
                    self.operand(scrut, ind),
                    self.block(then, ind)
                );
                if let Some(b) = els {
                    s.push_str(&format!(" else {}", self.block(b, ind)));
                }
                s.push('\n');
                s
            }
            Stmt::Match(scrut, arms) => {
                let mut s = format!("{p}match {} % 3 {{\n", self.operand(scrut, ind));
                for (pat, body) in arms {
                    let pat = pat.map_or("_".to_string(), |k| k.to_string());
                    let body = match body {
                        ArmBody::Block(b) => self.block(b, ind + 1),
                        ArmBody::Wait(items) => self.wait(items, ind + 1),
                    };
                    s.push_str(&format!("{}{pat} => {body},\n", pad(ind + 1)));
                }
                s.push_str(&format!("{p}}}\n"));
                s
            }
            Stmt::MatchOpt {
                scrut,
                name,
                some,
                none,
            } => format!(
                "{p}match {} {{\n{}Some((_, {name})) => {}\n{}None => {}\n{p}}}\n",
                self.operand(scrut, ind),
                pad(ind + 1),
                self.block(some, ind + 1),
                pad(ind + 1),
                self.block(none, ind + 1)
            ),
            Stmt::Loop(head, body) => {
                let mut s = self.loop_head(head, ind);
                for st in &body.stmts {
                    s.push_str(&self.stmt(st, ind + 1));
                }
                s.push_str(&format!("{p}}}\n"));
                s
            }
            Stmt::Labeled(l, b) => format!("{p}{l}: {}\n", self.block(b, ind)),
            Stmt::Block(b) => format!("{p}{}\n", self.block(b, ind)),
            Stmt::Break(l, v) => {
                let mut s = format!("{p}break");
                if let Some(l) = l {
                    s.push_str(&format!(" {l}"));
                }
                if let Some(v) = v {
                    // `break 'b: { … }` would read as a labeled break.
                    s.push_str(&format!(" {}", self.operand(v, ind)));
                }
                s.push_str(";\n");
                s
            }
            Stmt::Continue(l) => match l {
                Some(l) => format!("{p}continue {l};\n"),
                None => format!("{p}continue;\n"),
            },
            Stmt::Return => format!("{p}return;\n"),
            Stmt::Wait(items) => format!("{p}{}\n", self.wait(items, ind)),
            Stmt::Send(id, e) => {
                let e = self.expr(e, ind);
                if self.tamed() {
                    format!("{p}w::send(mkevent!(r, {id}), {e});\n")
                } else {
                    format!("{p}w::qsend(&r, {id}, {e});\n")
                }
            }
            Stmt::CfgOff(inner) => format!("{p}#[cfg(any())]\n{}", self.stmt(inner, ind)),
        }
    }

    /// `twait! { … }`, or its blocking equivalent `{ … }`, starting at the current position.
    fn wait(&mut self, items: &[WaitItem], ind: usize) -> String {
        let p1 = pad(ind + 1);
        let mut s = String::new();
        if self.tamed() {
            s.push_str("twait! {\n");
            for it in items {
                let line = match it {
                    WaitItem::Log(id) => format!("log(\"s{id}\");"),
                    WaitItem::Go => "tame::asap(mkevent!());".to_string(),
                    WaitItem::Ready => "w::ready(mkevent!());".to_string(),
                    WaitItem::Later(e, pl) => {
                        format!(
                            "w::later({}, mkevent!({}));",
                            self.expr(e, ind + 1),
                            self.place(pl)
                        )
                    }
                    WaitItem::Now(e, pl) => {
                        format!(
                            "w::now({}, mkevent!({}));",
                            self.expr(e, ind + 1),
                            self.place(pl)
                        )
                    }
                    WaitItem::Abandon(e, pl) => format!(
                        "w::abandon({}, mkevent!({}));",
                        self.expr(e, ind + 1),
                        self.place(pl)
                    ),
                    WaitItem::Send(id, e) => {
                        format!("w::send(mkevent!(r, {id}), {});", self.expr(e, ind + 1))
                    }
                    WaitItem::Let(n, e) => format!("let {n} = {};", self.expr(e, ind + 1)),
                };
                s.push_str(&format!("{p1}{line}\n"));
            }
        } else {
            s.push_str("{\n");
            // Values are taken when the event is made, and so are the indices of places;
            // places are assigned when the block completes, in trigger order (the events
            // triggered at once first, then those triggered next turn, each in making order).
            let mut now = Vec::new();
            let mut later = Vec::new();
            for it in items {
                let line = match it {
                    WaitItem::Log(id) => format!("log(\"s{id}\");"),
                    WaitItem::Go | WaitItem::Ready => continue,
                    WaitItem::Later(e, pl) | WaitItem::Now(e, pl) => {
                        self.tmp += 1;
                        let t = self.tmp;
                        let mut line = format!("let __p{t} = {};", self.expr(e, ind + 1));
                        let target = match pl {
                            Place::Index(v, i @ Idx::Var(_)) => {
                                line.push_str(&format!(" let __i{t} = {};", idx(i)));
                                format!("{v}[__i{t}]")
                            }
                            _ => self.place(pl),
                        };
                        let assign = format!("{target} = __p{t};");
                        if matches!(it, WaitItem::Now(..)) {
                            now.push(assign);
                        } else {
                            later.push(assign);
                        }
                        line
                    }
                    WaitItem::Abandon(e, _) => format!("drop({});", self.expr(e, ind + 1)),
                    WaitItem::Send(id, e) => {
                        format!("w::qsend(&r, {id}, {});", self.expr(e, ind + 1))
                    }
                    WaitItem::Let(n, e) => format!("let {n} = {};", self.expr(e, ind + 1)),
                };
                s.push_str(&format!("{p1}{line}\n"));
            }
            for a in now.iter().chain(&later) {
                s.push_str(&format!("{p1}{a}\n"));
            }
        }
        s.push_str(&format!("{}}}", pad(ind)));
        s
    }
}
