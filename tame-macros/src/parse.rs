//! Pass 1, parse: the attribute's tokens and the item → [`Input`].
//!
//! Takes the raw `TokenStream`s of `#[tamed(opts)] fn …` and gives the options (`crate = path`)
//! and the function, with two source-level normalisations done once here so later passes need
//! not care: `tvars! { let …; }` statements are spliced in as ordinary `let`s, and `self` in
//! the body (also inside macro tokens) is renamed `__tame_self`, an ordinary local (the
//! renaming itself lives in [`crate::receiver`]).
//! It also knows how to recognise and read our three macros ([`TameMacro::classify`]).

use proc_macro2::{TokenStream, TokenTree};
use syn::parse::{ParseStream, Parser};
use syn::punctuated::Punctuated;
use syn::spanned::Spanned;
use syn::visit_mut::VisitMut;
use syn::{Block, Expr, Ident, ItemFn, Macro, Path, Stmt, Token, parse_quote, parse_quote_spanned};

use crate::receiver::{format_string_position, rename_self_tokens, self_ident};

/// Everything the later passes need.
pub struct Input {
    pub opts: Options,
    pub func: ItemFn,
    /// Indices (in the signature) of the `#[tether]` parameters, their attribute removed.
    pub tethers: Vec<usize>,
    /// Whether the body calls `exit_with!(t)`.
    pub exits: bool,
    /// Errors found while parsing, reported by `validate`.
    pub errors: Vec<syn::Error>,
}

/// `#[tamed(crate = path, cancel = false)]`.
pub struct Options {
    /// Path of the facade crate in generated code: `::tame` unless overridden.
    pub krate: Path,
    /// Whether the call ends when all its `Event` parameters lost their receivers
    /// (cancellation rule 1); `cancel = false` opts out.
    pub cancel: bool,
}

impl Options {
    pub fn parse(attr: TokenStream) -> syn::Result<Options> {
        let mut krate: Path = parse_quote!(::tame);
        let mut cancel = true;
        let parser = |input: ParseStream| -> syn::Result<()> {
            while !input.is_empty() {
                let key: Ident = if input.peek(Token![crate]) {
                    let k: Token![crate] = input.parse()?;
                    Ident::new("crate", k.span)
                } else {
                    input.parse()?
                };
                if key != "crate" && key != "cancel" {
                    return Err(syn::Error::new_spanned(
                        &key,
                        format!(
                            "unknown option `{key}`; the valid options are `crate = path` and `cancel = false`"
                        ),
                    ));
                }
                input.parse::<Token![=]>()?;
                if key == "cancel" {
                    cancel = input.parse::<syn::LitBool>()?.value;
                } else {
                    krate = input.call(Path::parse_mod_style)?;
                }
                if !input.is_empty() {
                    input.parse::<Token![,]>()?;
                }
            }
            Ok(())
        };
        parser.parse2(attr)?;
        Ok(Options { krate, cancel })
    }
}

impl Input {
    /// Parses the item (an error here is fatal: there is no function to emit), then the
    /// options and the body. Errors in those are kept in [`Input::errors`] so that `validate`
    /// reports them together with its own.
    pub fn from_tokens(attr: TokenStream, item: TokenStream) -> syn::Result<(ItemFn, Input)> {
        let mut func: ItemFn = syn::parse2(item.clone()).map_err(|_| {
            syn::Error::new_spanned(&item, "`#[tamed]` can only be applied to a function (`fn`)")
        })?;
        // `#[tether] t: Tether`: the call ends when `t`'s lifeline is dropped. The attribute is
        // ours: it is removed from the signature.
        let mut tethers = Vec::new();
        let mut tether_errors = Vec::new();
        for (i, arg) in func.sig.inputs.iter_mut().enumerate() {
            if let syn::FnArg::Typed(pt) = arg {
                let n = pt.attrs.len();
                pt.attrs.retain(|a| !a.path().is_ident("tether"));
                if pt.attrs.len() != n {
                    if matches!(&*pt.pat, syn::Pat::Ident(_)) {
                        tethers.push(i);
                    } else {
                        tether_errors.push(syn::Error::new_spanned(
                            &pt.pat,
                            "`#[tether]` marks a parameter `name: Tether`: give it a name, not a pattern",
                        ));
                    }
                }
            }
        }
        let original = func.clone();
        let mut errors = tether_errors;
        let opts = Options::parse(attr).unwrap_or_else(|e| {
            errors.push(e);
            Options {
                krate: parse_quote!(::tame),
                cancel: true,
            }
        });
        let mut func = func;
        let mut norm = Normalise {
            errors: Vec::new(),
            exits: false,
        };
        norm.visit_block_mut(&mut func.block);
        errors.extend(norm.errors);
        let exits = norm.exits;
        Ok((
            original,
            Input {
                opts,
                func,
                tethers,
                exits,
                errors,
            },
        ))
    }
}

/// One of our macros, read.
pub enum TameMacro {
    /// `twait! { stmts }`
    Block(Block),
    /// `twait!(r)`
    Poll(Expr),
    /// `mkevent!()`
    JoinEvent,
    /// `mkevent!(place)`
    PlaceEvent(Expr),
    /// `mkevent!(r, id)`
    RvEvent(Expr, Expr),
    /// `tvars! { let …; }`
    Tvars(Vec<Stmt>),
}

/// The inner attributes of a `twait! { … }` block.
#[derive(Default)]
pub struct TwaitAttrs {
    /// `#![describe("…")]`: what the wait is for, in `blocked_locations` and reports.
    pub what: Option<syn::LitStr>,
    /// `#![volatile]`: dropping the block's events untriggered is no leak.
    pub volatile: bool,
}

/// The body of `twait! { #![describe("…")] #![volatile] stmts }`: its attributes, then its
/// statements.
fn parse_twait_body(input: ParseStream) -> syn::Result<(TwaitAttrs, Vec<Stmt>)> {
    let mut attrs = TwaitAttrs::default();
    for attr in input.call(syn::Attribute::parse_inner)? {
        let ok = match &attr.meta {
            syn::Meta::List(l) if l.path.is_ident("describe") && attrs.what.is_none() => l
                .parse_args::<syn::LitStr>()
                .map(|s| attrs.what = Some(s))
                .is_ok(),
            syn::Meta::Path(p) if p.is_ident("volatile") && !attrs.volatile => {
                attrs.volatile = true;
                true
            }
            _ => false,
        };
        if !ok {
            return Err(syn::Error::new_spanned(
                &attr,
                "the attributes inside `twait! { … }` are `#![describe(\"what it waits for\")]` and `#![volatile]`, once each",
            ));
        }
    }
    Ok((attrs, Block::parse_within(input)?))
}

/// The inner attributes of a `twait! { … }`.
pub fn twait_attrs(mac: &Macro) -> TwaitAttrs {
    mac.parse_body_with(parse_twait_body)
        .map(|(a, _)| a)
        .unwrap_or_default()
}

/// Which of our macros a path names, by its last segment (`twait!`, `tame::twait!`).
pub fn macro_name(path: &Path) -> Option<&'static str> {
    let last = path.segments.last()?;
    ["twait", "mkevent", "tvars"]
        .into_iter()
        .find(|&n| last.ident == n)
        .map(|v| v as _)
}

impl TameMacro {
    /// `None` if `mac` is not ours; `Some(Err)` if it is ours but malformed.
    pub fn classify(mac: &Macro) -> Option<syn::Result<TameMacro>> {
        let name = macro_name(&mac.path)?;
        Some(match name {
            "twait" => match mac.delimiter {
                syn::MacroDelimiter::Brace(_) => {
                    mac.parse_body_with(parse_twait_body).map(|(_, stmts)| {
                        TameMacro::Block(Block {
                            brace_token: Default::default(),
                            stmts,
                        })
                    })
                }
                _ => {
                    if mac.tokens.is_empty() {
                        Err(syn::Error::new_spanned(
                            mac,
                            "`twait!()` needs a rendezvous: write `twait!(r)`, or `twait! { … }` for a block",
                        ))
                    } else {
                        mac.parse_body_with(Punctuated::<Expr, Token![,]>::parse_terminated)
                            .and_then(|args| {
                                if args.len() == 1 {
                                    Ok(TameMacro::Poll(
                                        args.into_iter().next().expect("one argument"),
                                    ))
                                } else {
                                    Err(syn::Error::new_spanned(
                                        mac,
                                        "`twait!(…)` takes one rendezvous: `twait!(r)`; \
                                         to wait for several events at once, make them inside \
                                         `twait! { … }` or on one rendezvous",
                                    ))
                                }
                            })
                    }
                }
            },
            "mkevent" => mac
                .parse_body_with(Punctuated::<Expr, Token![,]>::parse_terminated)
                .and_then(|args| {
                    let args_trailing_comma = args.trailing_punct();
                    let mut args: Vec<Expr> = args.into_iter().collect();
                    match args.len() {
                        0 => Ok(TameMacro::JoinEvent),
                        1 if args_trailing_comma => Err(syn::Error::new_spanned(
                            mac,
                            "`mkevent!` is missing the id after the comma: write \
                             `mkevent!(rendezvous, id)`, or `mkevent!(place)` without a comma",
                        )),
                        1 => Ok(TameMacro::PlaceEvent(args.remove(0))),
                        2 => {
                            let id = args.remove(1);
                            Ok(TameMacro::RvEvent(args.remove(0), id))
                        }
                        _ => Err(syn::Error::new_spanned(
                            mac,
                            "`mkevent!` takes `()`, `(place)` or `(rendezvous, id)`",
                        )),
                    }
                }),
            _ => mac
                .parse_body_with(Block::parse_within)
                .map(TameMacro::Tvars),
        })
    }
}

/// If `e` is `twait!(r)` (the expression form), its rendezvous expression.
pub fn as_poll(e: &Expr) -> Option<(&Macro, Expr)> {
    if let Expr::Macro(m) = e
        && let Some(Ok(TameMacro::Poll(r))) = TameMacro::classify(&m.mac)
    {
        return Some((&m.mac, r));
    }
    None
}

/// If `s` is the statement `twait! { … }`, the macro and its block.
pub fn as_twait_block(s: &Stmt) -> Option<(&Macro, Block)> {
    let mac = match s {
        Stmt::Macro(m) => &m.mac,
        Stmt::Expr(Expr::Macro(m), _) => &m.mac,
        _ => return None,
    };
    match TameMacro::classify(mac) {
        Some(Ok(TameMacro::Block(b))) => Some((mac, b)),
        _ => None,
    }
}

/// Whether a foreign macro's tokens contain `twait!` (we may still reach it if the macro takes
/// comma-separated expressions, like `format!` or `vec!`).
pub fn tokens_mention_twait(ts: &TokenStream) -> bool {
    tokens_mention(ts, "twait")
}

/// Whether `name!` occurs in these tokens, at any depth.
pub fn tokens_mention(ts: &TokenStream, name: &str) -> bool {
    let tts: Vec<TokenTree> = ts.clone().into_iter().collect();
    tts.iter().enumerate().any(|(i, tt)| match tt {
        TokenTree::Ident(id) => {
            id == name && matches!(tts.get(i + 1), Some(TokenTree::Punct(p)) if p.as_char() == '!')
        }
        TokenTree::Group(g) => tokens_mention(&g.stream(), name),
        _ => false,
    })
}

/// Rewrites the arguments of a foreign macro whose arguments are expressions (`a, b, …` or
/// `x; n`), with `f` on each; `false` (nothing done) if they are not.
pub fn rewrite_macro_args(mac: &mut Macro, mut f: impl FnMut(&mut Expr)) -> bool {
    if let Some(mut args) = macro_args(mac) {
        args.iter_mut().for_each(&mut f);
        mac.tokens = quote::quote!(#args);
        return true;
    }
    let repeat = mac.parse_body_with(|input: ParseStream| {
        let a: Expr = input.parse()?;
        let semi: Token![;] = input.parse()?;
        let b: Expr = input.parse()?;
        Ok((a, semi, b))
    });
    match repeat {
        Ok((mut a, semi, mut b)) => {
            f(&mut a);
            f(&mut b);
            mac.tokens = quote::quote!(#a #semi #b);
            true
        }
        Err(_) => false,
    }
}

/// A foreign macro's arguments, if they are comma-separated expressions.
pub fn macro_args(mac: &Macro) -> Option<Punctuated<Expr, Token![,]>> {
    mac.parse_body_with(Punctuated::<Expr, Token![,]>::parse_terminated)
        .ok()
}

/// Splices `tvars!`, rewrites `mkevent!(r, id)` and `exit_with!(t)`, and renames `self`.
/// Does not enter nested items.
struct Normalise {
    errors: Vec<syn::Error>,
    /// Whether an `exit_with!` was seen.
    exits: bool,
}

impl Normalise {
    /// Input:  exit_with!(t)
    /// Output: __tame_cx.tether(&(t))
    fn exit_with(&mut self, m: &Macro) -> Option<Expr> {
        if m.path
            .segments
            .last()
            .is_none_or(|s| s.ident != "exit_with")
        {
            return None;
        }
        match m.parse_body::<Expr>() {
            Ok(t) => {
                self.exits = true;
                let cx = Ident::new("__tame_cx", proc_macro2::Span::mixed_site());
                Some(parse_quote_spanned!(m.path.span()=> #cx.tether(&(#t))))
            }
            Err(_) => {
                self.errors.push(syn::Error::new_spanned(
                    m,
                    "`exit_with!` takes one tether: `exit_with!(t)` with `t: Tether`",
                ));
                None
            }
        }
    }
}

impl VisitMut for Normalise {
    fn visit_block_mut(&mut self, b: &mut Block) {
        // Input:  tvars! { let x: u32 = 0; let y; }
        // Output: let x: u32 = 0; let y;
        let mut out = Vec::with_capacity(b.stmts.len());
        for s in std::mem::take(&mut b.stmts) {
            let mac = match &s {
                Stmt::Macro(m) => Some(&m.mac),
                _ => None,
            };
            if let (Some(m), Stmt::Macro(sm)) = (mac, &s)
                && let Some(e) = self.exit_with(m)
            {
                out.push(Stmt::Expr(e, Some(sm.semi_token.unwrap_or_default())));
                continue;
            }
            match mac
                .filter(|m| macro_name(&m.path) == Some("tvars"))
                .map(TameMacro::classify)
            {
                Some(Some(Ok(TameMacro::Tvars(stmts)))) => out.extend(stmts),
                Some(Some(Err(e))) => self.errors.push(e),
                _ => out.push(s),
            }
        }
        b.stmts = out;
        syn::visit_mut::visit_block_mut(self, b);
    }
    fn visit_item_mut(&mut self, _: &mut syn::Item) {}
    fn visit_expr_mut(&mut self, e: &mut Expr) {
        // Input:  mkevent!(r, id)
        // Output: (r).event(id)
        if let Expr::Macro(m) = e
            && let Some(Ok(TameMacro::RvEvent(r, id))) = TameMacro::classify(&m.mac)
        {
            *e = parse_quote_spanned!(m.mac.path.span()=> (#r).event(#id));
        }
        if let Expr::Macro(m) = e
            && let Some(x) = self.exit_with(&m.mac)
        {
            *e = x;
        }
        syn::visit_mut::visit_expr_mut(self, e);
    }
    fn visit_expr_path_mut(&mut self, p: &mut syn::ExprPath) {
        if p.qself.is_none() && p.path.leading_colon.is_none() && p.path.segments.len() == 1 {
            let seg = &mut p.path.segments[0];
            if seg.ident == "self" {
                seg.ident = self_ident(seg.ident.span());
            }
        }
    }
    fn visit_macro_mut(&mut self, m: &mut Macro) {
        // Input:  format!("{}", f(mkevent!(r, 8)))     Output: format!("{}", f((r).event(8)))
        if TameMacro::classify(m).is_none() && tokens_mention(&m.tokens, "mkevent") {
            rewrite_macro_args(m, |e| self.visit_expr_mut(e));
        }
        // Heuristic (as async-trait does): inside a macro's tokens, an identifier `self` not
        // followed by `::` is the receiver; so is `{self}` in the format string of a standard
        // formatting macro.
        let fmt = m
            .path
            .segments
            .last()
            .and_then(|s| format_string_position(&s.ident.to_string()));
        m.tokens = rename_self_tokens(std::mem::take(&mut m.tokens), fmt);
    }
}
