//! The book cannot rot: every `{{#include file:anchor}}` in `book/src` names a file that exists
//! and an anchor that file defines, every chapter is listed in SUMMARY.md, and every relative
//! link to a chapter (`](path.md)`, `](path.md#heading)`, `](#heading)`) leads to a chapter
//! that exists and a heading it has.
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

/// The text of `md` outside fenced code blocks.
fn prose(md: &str) -> String {
    let mut out = String::new();
    let mut fenced = false;
    for line in md.lines() {
        if line.trim_start().starts_with("```") {
            fenced = !fenced;
            continue;
        }
        if !fenced {
            out.push_str(line);
            out.push('\n');
        }
    }
    out
}

/// Targets of the inline links `[text](target)` in `text`, without code spans.
fn link_targets(text: &str) -> Vec<String> {
    let mut v = Vec::new();
    for line in text.lines() {
        // Drop code spans, so `[a](b)` inside backticks is not a link.
        let mut plain = String::new();
        for (i, part) in line.split('`').enumerate() {
            if i % 2 == 0 {
                plain.push_str(part);
            }
        }
        let mut rest = plain.as_str();
        while let Some(i) = rest.find("](") {
            let tail = &rest[i + 2..];
            let Some(end) = tail.find(')') else { break };
            v.push(tail[..end].trim().to_string());
            rest = &tail[end..];
        }
    }
    v
}

/// The ids mdBook gives the headings of a chapter (without the `-1` suffixes of repeats).
fn heading_ids(md: &str) -> Vec<String> {
    prose(md)
        .lines()
        .filter(|l| l.starts_with('#'))
        .map(|l| {
            l.trim_start_matches('#')
                .trim()
                .chars()
                .filter_map(|c| {
                    if c.is_alphanumeric() || c == '_' || c == '-' {
                        Some(c.to_ascii_lowercase())
                    } else if c.is_whitespace() {
                        Some('-')
                    } else {
                        None
                    }
                })
                .collect()
        })
        .collect()
}

#[test]
fn every_internal_link_leads_to_a_chapter_and_heading() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("book/src");
    let mut files = Vec::new();
    chapters(&src, &mut files);
    let mut checked = 0;
    let mut broken = Vec::new();
    for md in &files {
        let text = fs::read_to_string(md).unwrap();
        for target in link_targets(&prose(&text)) {
            if target.contains("://") || target.starts_with("mailto:") {
                continue;
            }
            let (path, anchor) = match target.split_once('#') {
                Some((p, a)) => (p, Some(a)),
                None => (target.as_str(), None),
            };
            if !(path.is_empty() || path.ends_with(".md")) {
                continue;
            }
            checked += 1;
            let file = if path.is_empty() {
                md.clone()
            } else {
                md.parent().unwrap().join(path)
            };
            let Ok(body) = fs::read_to_string(&file) else {
                broken.push(format!("{}: ({target}): no such chapter", md.display()));
                continue;
            };
            if let Some(a) = anchor
                && !heading_ids(&body).iter().any(|h| h == a)
            {
                broken.push(format!("{}: ({target}): no heading `#{a}`", md.display()));
            }
        }
    }
    assert!(broken.is_empty(), "broken links:\n{}", broken.join("\n"));
    assert!(checked > 0, "no internal link found");
}
