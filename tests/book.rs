//! The book cannot rot: every `{{#include file:anchor}}` in `book/src` names a file that exists
//! and an anchor that file defines, and every chapter is listed in SUMMARY.md.
use std::fs;
use std::path::{Path, PathBuf};

fn chapters(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            chapters(&p, out);
        } else if p.extension().is_some_and(|x| x == "md") {
            out.push(p);
        }
    }
}

fn includes(text: &str) -> Vec<(String, Option<String>)> {
    let mut v = Vec::new();
    let mut rest = text;
    while let Some(i) = rest.find("{{#include ") {
        let tail = &rest[i + "{{#include ".len()..];
        let end = tail.find("}}").expect("unclosed {{#include");
        let arg = tail[..end].trim();
        let (file, anchor) = match arg.rsplit_once(':') {
            Some((f, a)) if !a.chars().all(|c| c.is_ascii_digit() || c == ':') => {
                (f.to_string(), Some(a.to_string()))
            }
            _ => (arg.to_string(), None),
        };
        v.push((file, anchor));
        rest = &tail[end..];
    }
    v
}

#[test]
fn every_include_names_an_existing_file_and_anchor() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("book/src");
    let mut files = Vec::new();
    chapters(&src, &mut files);
    let mut checked = 0;
    for md in &files {
        let text = fs::read_to_string(md).unwrap();
        for (file, anchor) in includes(&text) {
            let path = md.parent().unwrap().join(&file);
            let body = fs::read_to_string(&path)
                .unwrap_or_else(|e| panic!("{}: include {file}: {e}", md.display()));
            if let Some(a) = anchor {
                let start = format!("ANCHOR: {a}");
                let end = format!("ANCHOR_END: {a}");
                assert!(
                    body.lines().any(|l| l.trim_end().ends_with(&start))
                        && body.lines().any(|l| l.trim_end().ends_with(&end)),
                    "{}: anchor `{a}` missing in {file}",
                    md.display()
                );
            }
            checked += 1;
        }
    }
    assert!(
        checked > 0,
        "no include found: the book has no compiled listings"
    );
}

#[test]
fn every_chapter_is_in_the_summary() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("book/src");
    let summary = fs::read_to_string(src.join("SUMMARY.md")).unwrap();
    let mut files = Vec::new();
    chapters(&src, &mut files);
    for md in files {
        let rel = md
            .strip_prefix(&src)
            .unwrap()
            .to_string_lossy()
            .replace('\\', "/");
        if rel == "SUMMARY.md" {
            continue;
        }
        assert!(
            summary.contains(&format!("({rel})")),
            "{rel} is not in SUMMARY.md"
        );
    }
}
