//! Expansion snapshots: every `tests/expand/<case>.rs` of the workspace, with each
//! `#[tamed]` / `#[tame::main]` function replaced by its expansion and pretty-printed, must
//! equal `tests/expand/<case>.expanded.rs`. `TAME_BLESS=1 cargo test -p tame-macros` rewrites
//! the snapshots; read the diff before committing it.

use std::path::PathBuf;

use quote::ToTokens;

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
            p.extension().is_some_and(|x| x == "rs")
                && !p.to_string_lossy().ends_with(".expanded.rs")
        })
        .collect();
    cases.sort();
    assert!(!cases.is_empty(), "no expansion cases in {}", dir.display());
    let mut failed = Vec::new();
    for case in cases {
        let src = std::fs::read_to_string(&case).expect("read case");
        let got = expand_file(&src);
        let snap = case.with_extension("expanded.rs");
        if bless {
            std::fs::write(&snap, &got).expect("write snapshot");
            continue;
        }
        match std::fs::read_to_string(&snap) {
            Ok(want) if want == got => {}
            _ => failed.push(format!("--- {}\n{got}", snap.display())),
        }
    }
    assert!(
        failed.is_empty(),
        "expansions differ (TAME_BLESS=1 to accept):\n{}",
        failed.join("\n")
    );
}
