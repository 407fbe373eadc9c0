//! The small language the fuzzer generates: a function body of statements over a few types,
//! printed twice (tamed, and plain with every wait made blocking) by `print.rs`.

/// The types a generated local may have.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Ty {
    /// An integer (`u32`, or `i32` where nothing asks for `u32`).
    Int,
    /// `w::D(id)`: its drop logs `drop <id>`.
    D,
    /// `Vec<u32>` of length 4.
    Vec,
    /// `w::S { f: u32, d: D }`.
    S,
    /// `Option<(u32, u32)>`, what `twait!(r)` yields.
    Opt,
}

#[derive(Clone, Debug)]
pub enum Expr {
    Lit(u32),
    /// An `Int` local.
    Var(String),
    /// `d.0` of a `D` local.
    DVal(String),
    /// `s.f`.
    Field(String),
    /// `s.d.0`.
    FieldD(String),
    /// `v[IDX]` of a `Vec` local.
    Index(String, Idx),
    /// `o.map_or(0, |(_, v)| v)` of an `Opt` local.
    OptVal(String),
    /// `w::f(e)`: logs `f <e>`, returns `e`.
    Call(Box<Expr>),
    /// `w::g(a, b)`: logs `g <a> <b>`, returns `(a + b) % 1000`.
    Call2(Box<Expr>, Box<Expr>),
    /// `(a + b) % 1000`.
    Add(Box<Expr>, Box<Expr>),
    /// Makes an event on `r` with this id, triggers it next turn with the value, returns the
    /// value (plain: pushes `(id, value)` on the queue).
    SendE(u32, Box<Expr>),
    /// `twait!(r).map_or(0, |(_, v)| v)`.
    Rv,
    /// `twait!(r)` (an `Opt`).
    RvOpt,
    /// `w::opt(e)` (an `Opt`).
    OptFn(Box<Expr>),
    /// An `Opt` local.
    OptVar(String),
    /// `w::D(id)`.
    NewD(u32),
    /// `vec![a, b, c, d]`.
    NewVec(Vec<Expr>),
    /// `w::S { f: e, d: w::D(id) }`.
    NewS(Box<Expr>, u32),
    /// `if cond { block } else { block }` as a value.
    If(Box<Cond>, Box<Block>, Box<Block>),
    /// `match e % 3 { 0 => …, 1 => …, _ => … }` as a value (arms: `Some(k)` or `None` for `_`).
    Match(Box<Expr>, Vec<(Option<u32>, Block)>),
    /// A block as a value, maybe labeled (`'bN: { … }`).
    Block(Option<String>, Box<Block>),
    /// A `loop` as a value: `{ let mut nN = 0; 'lN: loop { nN += 1; if nN > k { break 'lN dflt; } body } }`.
    Loop(Box<LoopHead>, Box<Expr>, Box<Block>),
}

/// The index of a `v[…]`: a literal or an `Int` local (read as `(x as usize) % 4`).
#[derive(Clone, Debug)]
pub enum Idx {
    Lit(u32),
    Var(String),
}

#[derive(Clone, Copy, Debug)]
pub enum CmpOp {
    Eq,
    Lt,
    Even,
}

#[derive(Clone, Debug)]
pub struct Cond {
    pub e: Expr,
    pub op: CmpOp,
    pub k: u32,
}

/// A block: statements and an optional tail value.
#[derive(Clone, Debug, Default)]
pub struct Block {
    pub stmts: Vec<Stmt>,
    pub tail: Option<Expr>,
}

/// What `mkevent!(place)` may name.
#[derive(Clone, Debug)]
pub enum Place {
    Var(String),
    /// `s.f`
    Field(String),
    /// `s.d`
    FieldD(String),
    /// `v[idx]`
    Index(String, Idx),
}

/// One statement inside `twait! { … }`.
#[derive(Clone, Debug)]
pub enum WaitItem {
    Log(u32),
    /// `tame::asap(mkevent!())`
    Go,
    /// `w::ready(mkevent!())`: triggered at once.
    Ready,
    /// `w::later(e, mkevent!(place))`: triggered next turn.
    Later(Expr, Place),
    /// `w::now(e, mkevent!(place))`: triggered at once.
    Now(Expr, Place),
    /// `w::abandon(e, mkevent!(place))`: the event is dropped, so is the value.
    Abandon(Expr, Place),
    /// `w::send(mkevent!(r, id), e)`
    Send(u32, Expr),
    /// `let name = e;` (an `Int`, scoped to the block).
    Let(String, Expr),
}

/// How a loop is driven.
#[derive(Clone, Debug)]
pub enum LoopKind {
    /// `let mut n = 0; loop { n += 1; if n > k { break; } … }`
    Loop,
    /// `let mut n = 0; while n < k { n += 1; … }`
    While,
    /// `for var in 0..k { … }`
    For(String),
    /// `let mut n = 0; while let Some((_, var)) = twait!(r) { n += 1; if n > k { break; } … }`
    WhileLet(String),
    /// `let mut n = 0; while cond { n += 1; if n > k { break; } … }` (the condition may wait).
    WhileCond(Cond),
}

#[derive(Clone, Debug)]
pub struct LoopHead {
    pub kind: LoopKind,
    /// Without a label the loop is `'lN`-less; `id` names its counter `nN` either way.
    pub label: Option<String>,
    pub id: u32,
    pub k: u32,
}

#[derive(Clone, Debug)]
pub enum ArmBody {
    Block(Block),
    /// `0 => twait! { … },`
    Wait(Vec<WaitItem>),
}

#[derive(Clone, Debug)]
pub enum LogItem {
    /// `log("sN")`
    Plain,
    /// `log(format!("sN {a}"))` for an `Int`, `{a:?}` for the others.
    Inline(String, Ty),
    /// `log(format!("sN {} {}", e, …))`
    Args(Vec<Expr>),
    /// `log(format!("sN {:?}", &v[..(a as usize) % 5]))`: a name after `..`.
    SliceTo(String, String),
    /// `log(format!("sN {:?}", &v[(a as usize) % 5..]))`
    SliceFrom(String, String),
    /// `log(format!("sN {:?}", &v[(a as usize) % 2..2 + (b as usize) % 3]))`
    SliceRange(String, String, String),
    /// `log(format!("sN {:?}", w::P { f: a }))`: a name after `:`.
    StructLit(String),
    /// `log(format!("sN {}", vec![a; 2].len()))`
    VecMacro(String),
    /// `log(format!("sN {:?}", &v))` / `{:?}` of a `D` local's id, etc.
    Debug(String),
}

#[derive(Clone, Debug)]
pub enum Stmt {
    /// `let [mut] name [= init];` (`name` may be `_`).
    Let {
        name: String,
        mutable: bool,
        init: Option<Expr>,
    },
    /// `let Some((_, name)) = scrut else { els };` (`els` diverges).
    LetElse {
        name: String,
        scrut: Expr,
        els: Block,
    },
    Assign(Place, Expr),
    Log(u32, LogItem),
    /// An expression statement (`w::f(1);`, `twait!(r);`).
    Expr(Expr),
    If(Cond, Block, Option<Block>),
    /// `if let Some((_, name)) = scrut { then } else { els }`
    IfLet {
        name: String,
        scrut: Expr,
        then: Block,
        els: Option<Block>,
    },
    /// `match e % 3 { 0 => …, 1 => …, _ => … }`: arms `Some(k)`, last `None` (`_`).
    Match(Expr, Vec<(Option<u32>, ArmBody)>),
    /// `match opt { Some((_, name)) => …, None => … }`
    MatchOpt {
        scrut: Expr,
        name: String,
        some: Block,
        none: Block,
    },
    Loop(LoopHead, Block),
    /// `'bN: { … }`
    Labeled(String, Block),
    Block(Block),
    Break(Option<String>, Option<Expr>),
    Continue(Option<String>),
    Return,
    Wait(Vec<WaitItem>),
    /// `w::send(mkevent!(r, id), e);` (plain: `w::qsend(&r, id, e);`)
    Send(u32, Expr),
    /// `#[cfg(any())]` on a statement that waits: it never runs.
    CfgOff(Box<Stmt>),
}

/// One generated program: the body of `fn run()`.
#[derive(Clone, Debug)]
pub struct Program {
    pub seed: u64,
    /// Whether `r` (the rendezvous, or the plain queue) is declared first.
    pub uses_r: bool,
    /// The function's parameters (with `params`): `run` calls it with their arguments.
    pub params: Vec<Param>,
    pub body: Vec<Stmt>,
}

/// A parameter of the generated function, and the argument `run` passes for it.
#[derive(Clone, Debug)]
pub struct Param {
    pub name: String,
    pub ty: Ty,
    pub mutable: bool,
    pub arg: Expr,
}
