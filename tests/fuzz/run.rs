//! Writes programs into a generated cargo workspace under `target/tame-fuzz/<slot>/`, builds
//! it (one package per core, so rustc runs on both), maps compile errors back to programs,
//! runs the binaries and compares each program's two logs.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

use super::json::{self, Json};

/// One program, printed both ways.
#[derive(Clone)]
pub struct Case {
    /// A number unique within one run (it names the files).
    pub index: usize,
    pub plain: String,
    pub tamed: String,
}

#[derive(Clone, Debug)]
pub enum Verdict {
    Pass,
    /// The tamed version does not compile: each error's kind (`E0282: type annotations
    /// needed`, names blanked out), and the compiler's text.
    Compile {
        errors: Vec<String>,
        rendered: String,
        /// The plain version's log (it still runs).
        expected: Vec<String>,
    },
    /// Both ran, with different logs (a tamed run that hangs ends with `TIMEOUT`).
    Mismatch {
        expected: Vec<String>,
        actual: Vec<String>,
    },
    /// The plain version does not compile, panics or hangs: a bug of the generator.
    Generator(String),
}

impl Verdict {
    /// What kind of failure this is, to group failures and to keep a reduction on the same
    /// bug; `None` for a pass.
    /// Whether this is a failure of kind `kind` (for a compile failure: one of its errors).
    pub fn is(&self, kind: &str) -> bool {
        match self {
            Verdict::Compile { errors, .. } => errors
                .iter()
                .any(|e| kind.strip_prefix("compile error: ") == Some(e.as_str())),
            _ => self.kind().as_deref() == Some(kind),
        }
    }

    pub fn kind(&self) -> Option<String> {
        match self {
            Verdict::Pass => None,
            Verdict::Compile { errors, .. } => Some(format!(
                "compile error: {}",
                errors.first().map_or("?", |e| e.as_str())
            )),
            Verdict::Mismatch { expected, actual } => {
                let i = first_difference(expected, actual);
                let class = |l: Option<&String>| match l {
                    None => "<end>".to_string(),
                    Some(l) => {
                        let w = l.split(' ').next().unwrap_or("");
                        if w.starts_with('s') && w[1..].chars().all(|c| c.is_ascii_digit()) {
                            "log".to_string()
                        } else {
                            w.to_string()
                        }
                    }
                };
                Some(format!(
                    "mismatch: expected {}, got {}",
                    class(expected.get(i)),
                    class(actual.get(i))
                ))
            }
            Verdict::Generator(why) => Some(format!("generator bug: {}", first_line_shape(why))),
        }
    }
}

/// The first line of an error, with the names in backticks blanked out.
fn first_line_shape(s: &str) -> String {
    let line = s
        .lines()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("")
        .to_string();
    let mut out = String::new();
    let mut inside = false;
    for c in line.chars() {
        if c == '`' {
            inside = !inside;
            out.push_str(if inside { "`…" } else { "`" });
        } else if !inside {
            out.push(c);
        }
    }
    out
}

pub fn first_difference(a: &[String], b: &[String]) -> usize {
    a.iter()
        .zip(b)
        .position(|(x, y)| x != y)
        .unwrap_or(a.len().min(b.len()))
}

/// Both logs, the first difference marked `>>`.
pub fn show_logs(expected: &[String], actual: &[String]) -> String {
    let i = first_difference(expected, actual);
    let mut s = String::new();
    for (title, log) in [
        ("expected (plain, blocking)", expected),
        ("actual (tamed)", actual),
    ] {
        let _ = writeln!(s, "  {title}: {} lines", log.len());
        let from = i.saturating_sub(8);
        if from > 0 {
            let _ = writeln!(s, "     … {from} equal lines");
        }
        for (k, l) in log.iter().enumerate().skip(from).take(30) {
            let mark = if k == i { ">>" } else { "  " };
            let _ = writeln!(s, "   {mark} {k:4}  {l}");
        }
        if log.len() == i {
            let _ = writeln!(s, "   >> {i:4}  <end of log>");
        } else if log.len() > from + 30 {
            let _ = writeln!(s, "     … {} more", log.len() - from - 30);
        }
    }
    s
}

pub struct Runner {
    root: PathBuf,
    /// The `tame` crate the programs are built against (`TAME_FUZZ_TAME`, default: this one).
    tame: PathBuf,
    target: PathBuf,
    cargo: String,
    pub progress: bool,
}

struct Diag {
    level: String,
    /// `E0282: type annotations needed`, names in backticks blanked out.
    kind: String,
    rendered: String,
    /// `(tamed?, index)` of the program file the error points into.
    program: Option<(bool, usize)>,
}

impl Runner {
    pub fn new() -> Runner {
        let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
        Runner {
            target: root.join("target/tame-fuzz/target"),
            tame: std::env::var_os("TAME_FUZZ_TAME").map_or_else(|| root.clone(), PathBuf::from),
            root,
            cargo: std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()),
            progress: true,
        }
    }

    fn note(&self, msg: &str) {
        if self.progress {
            progress!("{msg}");
        }
    }

    /// Builds and runs `cases` in the workspace `target/tame-fuzz/<slot>/`, split into `parts`
    /// packages. `Err` only for a failure of the harness itself.
    pub fn run(&self, slot: &str, cases: &[Case], parts: usize) -> Result<Vec<Verdict>, String> {
        let dir = self.root.join("target/tame-fuzz").join(slot);
        let parts = parts.clamp(1, cases.len().max(1));
        let mut verdicts: BTreeMap<usize, Verdict> = BTreeMap::new();
        // Programs whose tamed version (`tamed_out`) or both versions (`out`) were replaced by
        // a stub after a compile error.
        let mut tamed_out: BTreeSet<usize> = BTreeSet::new();
        let mut out: BTreeSet<usize> = BTreeSet::new();
        let split: Vec<Vec<&Case>> = (0..parts)
            .map(|p| cases.iter().skip(p).step_by(parts).collect())
            .collect();
        write_workspace(&dir, &self.root, &self.tame, &split, slot)?;
        let mut exes;
        let mut round = 0;
        loop {
            round += 1;
            self.note(&format!(
                "{slot}: building {} programs{}",
                cases.len() - tamed_out.union(&out).count(),
                if round > 1 {
                    " again, without those that did not compile"
                } else {
                    ""
                }
            ));
            let (ok, diags, found) = self.build(&dir)?;
            exes = found;
            if ok {
                break;
            }
            let mut new = 0;
            let mut unplaced = Vec::new();
            let mut by_prog: BTreeMap<(bool, usize), Vec<&Diag>> = BTreeMap::new();
            for d in diags.iter().filter(|d| d.level == "error") {
                match d.program {
                    Some(p) => by_prog.entry(p).or_default().push(d),
                    None => unplaced.push(d),
                }
            }
            for ((tamed, index), ds) in by_prog {
                let rendered: String = ds.iter().map(|d| d.rendered.as_str()).collect();
                let v = if tamed {
                    let mut errors: Vec<String> = Vec::new();
                    for d in &ds {
                        if !errors.contains(&d.kind) {
                            errors.push(d.kind.clone());
                        }
                    }
                    Verdict::Compile {
                        errors,
                        rendered,
                        expected: Vec::new(),
                    }
                } else {
                    Verdict::Generator(format!("the plain version does not compile:\n{rendered}"))
                };
                // A plain error wins over a tamed one: the program itself is wrong.
                let replace = match verdicts.get(&index) {
                    None => true,
                    Some(Verdict::Compile { .. }) => !tamed,
                    _ => false,
                };
                if replace {
                    verdicts.insert(index, v);
                }
                let case = cases.iter().find(|c| c.index == index).unwrap();
                let part = split_of(&split, index);
                if tamed && tamed_out.insert(index) {
                    new += 1;
                    stub(&dir, part, case, "tamed")?;
                }
                if !tamed && out.insert(index) {
                    new += 1;
                    stub(&dir, part, case, "tamed")?;
                    stub(&dir, part, case, "plain")?;
                }
            }
            if new == 0 {
                let text: String = unplaced.iter().map(|d| d.rendered.as_str()).collect();
                return Err(format!(
                    "the generated workspace {} does not build, and no error points into a program:\n{text}",
                    dir.display()
                ));
            }
            if round > 8 {
                return Err("the generated workspace still does not build after 8 rounds".into());
            }
        }
        let todo: Vec<&Case> = cases.iter().filter(|c| !out.contains(&c.index)).collect();
        self.note(&format!(
            "{slot}: running {} programs both ways",
            todo.len()
        ));
        let logs = std::thread::scope(|s| {
            let handles: Vec<_> = (0..parts)
                .map(|p| {
                    let exe = exes.get(&format!("tame-fuzz-{slot}-{p}")).cloned();
                    let mine: Vec<usize> = split[p]
                        .iter()
                        .map(|c| c.index)
                        .filter(|i| !out.contains(i))
                        .collect();
                    s.spawn(move || match exe {
                        Some(exe) => run_exe(&exe, &mine),
                        None if mine.is_empty() => Ok(BTreeMap::new()),
                        None => Err(format!("no executable for part {p}")),
                    })
                })
                .collect();
            handles
                .into_iter()
                .map(|h| h.join().expect("runner thread"))
                .collect::<Vec<_>>()
        });
        let mut all = BTreeMap::new();
        for l in logs {
            all.extend(l?);
        }
        for c in &todo {
            let v = match all.remove(&c.index) {
                None => Verdict::Generator("the program did not run".into()),
                Some(Logs {
                    plain,
                    tamed,
                    timeout,
                }) => {
                    if timeout == Some(false)
                        || plain.last().is_some_and(|l| l.starts_with("PANIC"))
                    {
                        Verdict::Generator(format!(
                            "the plain version {}: {:?}",
                            if timeout == Some(false) {
                                "hangs"
                            } else {
                                "panics"
                            },
                            plain.last()
                        ))
                    } else if let Some(Verdict::Compile {
                        errors, rendered, ..
                    }) = verdicts.remove(&c.index)
                    {
                        Verdict::Compile {
                            errors,
                            rendered,
                            expected: plain,
                        }
                    } else if timeout == Some(true) {
                        let mut actual = tamed;
                        actual.push("TIMEOUT".into());
                        Verdict::Mismatch {
                            expected: plain,
                            actual,
                        }
                    } else if plain == tamed {
                        Verdict::Pass
                    } else {
                        Verdict::Mismatch {
                            expected: plain,
                            actual: tamed,
                        }
                    }
                }
            };
            verdicts.insert(c.index, v);
        }
        Ok(cases
            .iter()
            .map(|c| verdicts.remove(&c.index).unwrap_or(Verdict::Pass))
            .collect())
    }

    /// `cargo build` of the generated workspace: (success, diagnostics, executables by name).
    #[allow(clippy::type_complexity)]
    fn build(&self, dir: &Path) -> Result<(bool, Vec<Diag>, BTreeMap<String, PathBuf>), String> {
        let out = Command::new(&self.cargo)
            .args(["build", "--workspace", "--message-format=json"])
            .current_dir(dir)
            .env("CARGO_TARGET_DIR", &self.target)
            .env_remove("RUSTFLAGS")
            .env_remove("CARGO_ENCODED_RUSTFLAGS")
            .output()
            .map_err(|e| format!("running {}: {e}", self.cargo))?;
        let stdout = String::from_utf8_lossy(&out.stdout);
        let mut diags = Vec::new();
        let mut exes = BTreeMap::new();
        for line in stdout.lines() {
            let Some(j) = json::parse(line) else { continue };
            match j.get("reason").and_then(Json::str) {
                Some("compiler-message") => {
                    let Some(m) = j.get("message") else { continue };
                    let mut files = Vec::new();
                    collect_files(m, &mut files);
                    let code = m
                        .get("code")
                        .and_then(|c| c.get("code"))
                        .and_then(Json::str);
                    let mut text =
                        first_line_shape(m.get("message").and_then(Json::str).unwrap_or(""));
                    if text == "custom attribute panicked" {
                        // The panic's own message is in a child: `message: …`.
                        if let Some(c) = m.get("children").map(Json::arr).and_then(|c| c.first()) {
                            let msg = c.get("message").and_then(Json::str).unwrap_or("");
                            text = format!("{text}: {}", first_line_shape(msg));
                        }
                    }
                    diags.push(Diag {
                        level: m.get("level").and_then(Json::str).unwrap_or("").to_string(),
                        kind: match code {
                            Some(c) => format!("{c}: {text}"),
                            None => text,
                        },
                        rendered: m
                            .get("rendered")
                            .and_then(Json::str)
                            .unwrap_or("")
                            .to_string(),
                        program: files.iter().find_map(|f| program_of(f)),
                    });
                }
                Some("compiler-artifact") => {
                    if let (Some(exe), Some(name)) = (
                        j.get("executable").and_then(Json::str),
                        j.get("target")
                            .and_then(|t| t.get("name"))
                            .and_then(Json::str),
                    ) {
                        exes.insert(name.to_string(), PathBuf::from(exe));
                    }
                }
                _ => {}
            }
        }
        let errors = diags.iter().any(|d| d.level == "error");
        if !out.status.success() && !errors {
            return Err(format!(
                "cargo build failed without a compiler error:\n{}",
                String::from_utf8_lossy(&out.stderr)
            ));
        }
        Ok((out.status.success(), diags, exes))
    }
}

fn collect_files(m: &Json, out: &mut Vec<String>) {
    for span in m.get("spans").map(Json::arr).unwrap_or(&[]) {
        if let Some(f) = span.get("file_name").and_then(Json::str) {
            out.push(f.to_string());
        }
        let mut e = span.get("expansion");
        while let Some(x) = e {
            if let Some(f) = x
                .get("span")
                .and_then(|s| s.get("file_name"))
                .and_then(Json::str)
            {
                out.push(f.to_string());
            }
            e = x.get("span").and_then(|s| s.get("expansion"));
        }
    }
    for c in m.get("children").map(Json::arr).unwrap_or(&[]) {
        collect_files(c, out);
    }
}

/// `src/tamed/p12.rs` → `(true, 12)`.
fn program_of(file: &str) -> Option<(bool, usize)> {
    let (tamed, rest) = if let Some(r) = file.split("src/tamed/p").nth(1) {
        (true, r)
    } else {
        (false, file.split("src/plain/p").nth(1)?)
    };
    rest.strip_suffix(".rs")?.parse().ok().map(|i| (tamed, i))
}

fn split_of(split: &[Vec<&Case>], index: usize) -> usize {
    split
        .iter()
        .position(|cs| cs.iter().any(|c| c.index == index))
        .unwrap()
}

fn write(path: &Path, text: &str) -> Result<(), String> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    }
    // Unchanged files keep their timestamps.
    if std::fs::read_to_string(path).is_ok_and(|old| old == text) {
        return Ok(());
    }
    std::fs::write(path, text).map_err(|e| format!("{}: {e}", path.display()))
}

fn write_workspace(
    dir: &Path,
    root: &Path,
    tame: &Path,
    split: &[Vec<&Case>],
    slot: &str,
) -> Result<(), String> {
    let members: Vec<String> = (0..split.len()).map(|p| format!("\"part{p}\"")).collect();
    write(
        &dir.join("Cargo.toml"),
        &format!(
            "# Generated by tests/fuzz.rs: programs the fuzzer runs both ways.\n\
             [workspace]\nmembers = [{}]\nresolver = \"3\"\n\n\
             [profile.dev]\ndebug = 0\nincremental = false\n",
            members.join(", ")
        ),
    )?;
    let lock = dir.join("Cargo.lock");
    if !lock.exists() {
        let _ = std::fs::copy(root.join("Cargo.lock"), &lock);
    }
    for (p, cases) in split.iter().enumerate() {
        let pdir = dir.join(format!("part{p}"));
        let _ = std::fs::remove_dir_all(pdir.join("src"));
        write(
            &pdir.join("Cargo.toml"),
            &format!(
                "[package]\nname = \"tame-fuzz-{slot}-{p}\"\nversion = \"0.0.0\"\nedition = \"2024\"\npublish = false\n\n\
                 [dependencies]\ntame = {{ path = {:?} }}\n",
                tame.display().to_string()
            ),
        )?;
        write(&pdir.join("src/w.rs"), include_str!("w.rs"))?;
        let mut main = String::from("#![allow(warnings)]\nmod w;\n");
        for dir in ["plain", "tamed"] {
            let _ = writeln!(main, "mod {dir} {{");
            for c in cases {
                let _ = writeln!(main, "    pub mod p{};", c.index);
            }
            main.push_str("}\n");
        }
        main.push_str("\nconst PROGRAMS: &[w::Program] = &[\n");
        for c in cases {
            let i = c.index;
            let _ = writeln!(main, "    ({i}, plain::p{i}::run, tamed::p{i}::run),");
        }
        main.push_str("];\n\nfn main() {\n    w::main(PROGRAMS);\n}\n");
        write(&pdir.join("src/main.rs"), &main)?;
        for c in cases {
            write(&pdir.join(format!("src/plain/p{}.rs", c.index)), &c.plain)?;
            write(&pdir.join(format!("src/tamed/p{}.rs", c.index)), &c.tamed)?;
        }
    }
    Ok(())
}

const STUB: &str = "pub fn run() {}\n";

/// Replaces one version (`"plain"` or `"tamed"`) of `case` by an empty function.
fn stub(dir: &Path, part: usize, case: &Case, version: &str) -> Result<(), String> {
    let path = format!("part{part}/src/{version}/p{}.rs", case.index);
    write(&dir.join(path), STUB)
}

struct Logs {
    plain: Vec<String>,
    tamed: Vec<String>,
    /// `Some(true)` if the tamed run hung, `Some(false)` if the plain one did.
    timeout: Option<bool>,
}

/// Runs `exe` on `indices`, again after each one that hangs (the binary exits then).
fn run_exe(exe: &Path, indices: &[usize]) -> Result<BTreeMap<usize, Logs>, String> {
    let mut logs: BTreeMap<usize, Logs> = BTreeMap::new();
    let mut rest: Vec<usize> = indices.to_vec();
    while !rest.is_empty() {
        let out = Command::new(exe)
            .args(rest.iter().map(|i| i.to_string()))
            .output()
            .map_err(|e| format!("running {}: {e}", exe.display()))?;
        let stdout = String::from_utf8_lossy(&out.stdout);
        let mut cur: Option<(usize, bool)> = None;
        for line in stdout.lines() {
            if let Some(l) = line.strip_prefix("| ") {
                let (i, tamed) = cur.ok_or("a log line outside a program")?;
                let entry = logs.entry(i).or_insert_with(|| Logs {
                    plain: Vec::new(),
                    tamed: Vec::new(),
                    timeout: None,
                });
                let l = l.replace("\\n", "\n").replace("\\\\", "\\");
                if tamed {
                    entry.tamed.push(l);
                } else {
                    entry.plain.push(l);
                }
            } else if let Some(h) = line.strip_prefix("@@ ") {
                let mut it = h.split(' ');
                let i: usize = it.next().and_then(|x| x.parse().ok()).ok_or("bad header")?;
                let entry = logs.entry(i).or_insert_with(|| Logs {
                    plain: Vec::new(),
                    tamed: Vec::new(),
                    timeout: None,
                });
                match (it.next(), it.next()) {
                    (Some("plain"), _) => cur = Some((i, false)),
                    (Some("tamed"), _) => cur = Some((i, true)),
                    (Some("timeout"), which) => {
                        entry.timeout = Some(which == Some("tamed"));
                        rest.retain(|&x| x != i);
                        cur = None;
                    }
                    _ => {
                        rest.retain(|&x| x != i);
                        cur = None;
                    }
                }
            }
        }
        if out.status.code() == Some(3) {
            // Everything up to the one that hung has run; go on with the others.
            continue;
        }
        if !out.status.success() {
            return Err(format!(
                "{} exited with {}:\n{}",
                exe.display(),
                out.status,
                String::from_utf8_lossy(&out.stderr)
            ));
        }
        break;
    }
    Ok(logs)
}
