//! Expansion snapshots: every `tests/expand/<case>.rs`, with each `#[tamed]` / `#[tame::main]`
//! function replaced by its expansion and pretty-printed, must equal
//! `tests/expand/<case>.expanded.rs`; and the state graph of each `#[tamed]` function, dumped
//! with `{:?}`, must equal `tests/expand/<case>.graph.txt`. `TAME_BLESS=1 cargo test -p
//! tame-macros` rewrites the snapshots; read the diff before committing it.
//!
//! This driver is compiled into `tame-macros`' own unit tests (a proc-macro crate exports
//! nothing else a test could call), from here, beside the snapshots it reads.

use std::path::PathBuf;

use quote::ToTokens;

/// The state graphs of the file's `#[tamed]` functions, one after the other.
fn graphs_of_file(src: &str) -> String {
    let file: syn::File = syn::parse_str(src).expect("case parses");
    let mut fns: Vec<(Vec<syn::Attribute>, proc_macro2::TokenStream)> = Vec::new();
    for item in &file.items {
        match item {
            syn::Item::Fn(f) => fns.push((f.attrs.clone(), f.to_token_stream())),
            syn::Item::Impl(imp) => {
                for it in &imp.items {
                    if let syn::ImplItem::Fn(f) = it {
                        fns.push((f.attrs.clone(), f.to_token_stream()));
                    }
                }
            }
            _ => {}
        }
    }
    let mut out = String::new();
    for (attrs, tokens) in fns {
        let Some(attr) = attrs
            .iter()
            .find(|a| a.path().segments.last().is_some_and(|s| s.ident == "tamed"))
        else {
            continue;
        };
        let args = match &attr.meta {
            syn::Meta::List(l) => l.tokens.clone(),
            _ => Default::default(),
        };
        let f: syn::ItemFn = syn::parse2(tokens.clone()).expect("a function");
        out.push_str(&format!("fn {}\n", f.sig.ident));
        out.push_str(&crate::graph_of(args, tokens));
        out.push('\n');
    }
    out
}

fn expand_file(src: &str) -> String {
    let mut file: syn::File = syn::parse_str(src).expect("case parses");
    let mut items = Vec::new();
    for item in std::mem::take(&mut file.items) {
        match item {
            syn::Item::Fn(mut f) => {
                let pos = f.attrs.iter().position(|a| {
                    let last = a.path().segments.last().map(|s| s.ident.to_string());
                    matches!(last.as_deref(), Some("tamed") | Some("main"))
                });
                match pos {
                    Some(i) => {
                        let attr = f.attrs.remove(i);
                        let is_main = attr
                            .path()
                            .segments
                            .last()
                            .is_some_and(|s| s.ident == "main");
                        let args = match attr.meta {
                            syn::Meta::List(l) => l.tokens,
                            _ => Default::default(),
                        };

                        let out = if is_main {
                            crate::expand_main(args, f.to_token_stream())
                                .unwrap_or_else(syn::Error::into_compile_error)
                        } else {
                            crate::expand_tamed(args, f.to_token_stream())
                        };
                        let expanded: syn::File = syn::parse2(out).expect("expansion parses");
                        items.extend(expanded.items);
                    }
                    None => items.push(syn::Item::Fn(f)),
                }
            }
            syn::Item::Impl(mut imp) => {
                for it in imp.items.iter_mut() {
                    if let syn::ImplItem::Fn(f) = it
                        && let Some(i) = f.attrs.iter().position(|a| {
                            a.path().segments.last().is_some_and(|s| s.ident == "tamed")
                        })
                    {
                        let attr = f.attrs.remove(i);
                        let args = match attr.meta {
                            syn::Meta::List(l) => l.tokens,
                            _ => Default::default(),
                        };
                        let out = crate::expand_tamed(args, f.to_token_stream());
                        *f = syn::parse2(out).expect("expansion parses as a method");
                    }
                }
                items.push(syn::Item::Impl(imp));
            }
            other => items.push(other),
        }
    }
    file.items = items;
    prettyplease::unparse(&file)
}

#[test]
fn expansion_snapshots() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../tests/expand");
    let bless = std::env::var_os("TAME_BLESS").is_some();
    let mut cases: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("tests/expand exists")
        .map(|e| e.expect("dir entry").path())
        .filter(|p| {
            let name = p.file_name().map(|n| n.to_string_lossy().into_owned());
            p.extension().is_some_and(|x| x == "rs")
                && !p.to_string_lossy().ends_with(".expanded.rs")
                && !name.is_some_and(|n| n.starts_with('_'))
        })
        .collect();
    cases.sort();
    assert!(!cases.is_empty(), "no expansion cases in {}", dir.display());
    let mut failed = Vec::new();
    for case in cases {
        let src = std::fs::read_to_string(&case).expect("read case");
        for (got, snap) in [
            (expand_file(&src), case.with_extension("expanded.rs")),
            (graphs_of_file(&src), case.with_extension("graph.txt")),
        ] {
            if bless {
                std::fs::write(&snap, &got).expect("write snapshot");
                continue;
            }
            match std::fs::read_to_string(&snap) {
                Ok(want) if want == got => {}
                _ => failed.push(format!("--- {}\n{got}", snap.display())),
            }
        }
    }
    assert!(
        failed.is_empty(),
        "expansions differ (TAME_BLESS=1 to accept):\n{}",
        failed.join("\n")
    );
}
