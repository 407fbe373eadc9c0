//! Everything about `self`: inside a tamed method the receiver is an ordinary local of the
//! state machine, named [`self_ident`] (`__tame_self`), so it is kept across waits like any
//! other. `parse` renames `self` in the body with these helpers, also inside macro tokens and
//! in the format strings of the standard formatting macros (`{self:?}`).
//!
//! Input:  `format!("{self:?} {}", self.0)`
//! Output: `format!("{__tame_self:?} {}", __tame_self.0)`

use proc_macro2::{Group, Literal, Span, TokenStream, TokenTree};
use syn::Ident;

/// The name the receiver takes inside the state machine.
pub fn self_ident(span: Span) -> Ident {
    Ident::new("__tame_self", span)
}

/// Which argument of a standard formatting macro is its format string (`write!(f, "…")`: 1).
pub fn format_string_position(mac: &str) -> Option<usize> {
    match mac {
        "format" | "format_args" | "print" | "println" | "eprint" | "eprintln" | "panic"
        | "unreachable" | "todo" | "unimplemented" => Some(0),
        "write" | "writeln" | "assert" | "debug_assert" => Some(1),
        "assert_eq" | "assert_ne" | "debug_assert_eq" | "debug_assert_ne" => Some(2),
        _ => None,
    }
}

/// Renames `self` in `ts`, a macro's tokens. `fmt`: which comma-separated argument is a
/// format string, if the macro is a standard formatting one; that argument, when it is a lone
/// string literal, has its `{self}` / `{self:…}` renamed too (any other literal is data and
/// is left alone). Formatting macros nested in the tokens are treated the same way.
///
/// Input:  `"{self:?} {}", self.0`  (the tokens of `format!`, `fmt` = 0)
/// Output: `"{__tame_self:?} {}", __tame_self.0`
pub fn rename_self_tokens(ts: TokenStream, fmt: Option<usize>) -> TokenStream {
    let tts: Vec<TokenTree> = ts.into_iter().collect();
    let comma = |i: usize| matches!(tts.get(i), Some(TokenTree::Punct(p)) if p.as_char() == ',');
    let mut out = Vec::with_capacity(tts.len());
    let mut arg = 0;
    for (i, tt) in tts.iter().enumerate() {
        match tt {
            TokenTree::Ident(id) if id == "self" => {
                let path_follows =
                    matches!(tts.get(i + 1), Some(TokenTree::Punct(p)) if p.as_char() == ':');
                if path_follows {
                    out.push(tt.clone());
                } else {
                    out.push(TokenTree::Ident(self_ident(id.span())));
                }
            }
            TokenTree::Group(g) => {
                // `name!(…)`: a nested macro, maybe a formatting one.
                let inner_fmt = if i >= 2
                    && matches!(&tts[i - 1], TokenTree::Punct(p) if p.as_char() == '!')
                    && let TokenTree::Ident(name) = &tts[i - 2]
                {
                    format_string_position(&name.to_string())
                } else {
                    None
                };
                let mut ng = Group::new(g.delimiter(), rename_self_tokens(g.stream(), inner_fmt));
                ng.set_span(g.span());
                out.push(TokenTree::Group(ng));
            }
            TokenTree::Literal(l)
                if fmt == Some(arg)
                    && (i == 0 || comma(i - 1))
                    && (i + 1 == tts.len() || comma(i + 1)) =>
            {
                out.push(TokenTree::Literal(
                    rename_self_in_format(l).unwrap_or_else(|| l.clone()),
                ));
            }
            TokenTree::Punct(p) if p.as_char() == ',' => {
                arg += 1;
                out.push(tt.clone());
            }
            _ => out.push(tt.clone()),
        }
    }
    out.into_iter().collect()
}

/// `"{self:?}"` → `"{__tame_self:?}"`, at the literal's span; `None` if it names no `self`
/// (or is not a plain string literal).
fn rename_self_in_format(l: &Literal) -> Option<Literal> {
    let lit: syn::LitStr = syn::parse2(TokenTree::Literal(l.clone()).into()).ok()?;
    let s = lit.value();
    let mut new = String::with_capacity(s.len());
    let mut rest = s.as_str();
    while let Some(open) = rest.find('{') {
        new.push_str(&rest[..=open]);
        let after = &rest[open + 1..];
        if let Some(escaped) = after.strip_prefix('{') {
            new.push('{');
            rest = escaped;
            continue;
        }
        let end = after.find(['}', ':']).unwrap_or(after.len());
        if after[..end].trim() == "self" {
            new.push_str(&self_ident(l.span()).to_string());
            rest = &after[end..];
        } else {
            rest = after;
        }
    }
    new.push_str(rest);
    if new == s {
        return None;
    }
    let mut out = Literal::string(&new);
    out.set_span(l.span());
    Some(out)
}
