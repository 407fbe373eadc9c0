//! Differential fuzzing of `#[tamed]`: random function bodies (loops, labels, jumps, matches,
//! shadowing, late initialisation, values whose drop is logged, waits in every position),
//! each printed as a tamed function and as the plain function it must behave like, the one in
//! which every wait blocks the thread until its events complete. Both run; their logs of
//! effects (calls, values, drops) must be equal.
//!
//! `cargo test --test fuzz` runs a fixed budget with the features that pass today. Environment:
//!
//! - `TAME_FUZZ_N=5000`: how many programs (default 500);
//! - `TAME_FUZZ_SEED=123`: the seed of the first program (program `i` has seed `SEED + i`);
//! - `TAME_FUZZ_ALL=1`: every feature, also those the macro gets wrong today;
//! - `TAME_FUZZ_FEATURES=+drops,-loops`: switch single features on or off (`none,+loops`:
//!   only these);
//! - `TAME_FUZZ_REDUCE=1`: shrink the first failure to a minimal repro (`each`: the first
//!   failure of each kind);
//! - `TAME_FUZZ_TAME=/path/to/tame`: build the programs against another checkout of `tame`.
//!
//! The generated crates live in `target/tame-fuzz/`, built with their own `CARGO_TARGET_DIR`
//! there. The book's chapter "Testing `#[tamed]` against blocking code" has more.

/// A progress line on stderr, written past the test harness's capture so that long runs
/// show it as they go.
macro_rules! progress {
    ($($t:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stderr(), "tame-fuzz: {}", format_args!($($t)*));
    }};
}

#[path = "fuzz/ast.rs"]
mod ast;
#[path = "fuzz/generate.rs"]
mod generate;
#[path = "fuzz/json.rs"]
mod json;
#[path = "fuzz/print.rs"]
mod print;
#[path = "fuzz/reduce.rs"]
mod reduce;
#[path = "fuzz/run.rs"]
mod run;
#[path = "util/splitmix.rs"]
mod splitmix;

use std::collections::BTreeMap;
use std::fmt::Write as _;

use generate::Features;
use print::{Mode, module};
use run::{Case, Runner, Verdict};

/// The features `cargo test` enables: every class the macro gets right today. When a class
/// is found wrong, switch its flag off here (with the reason) until the fix lands; check the
/// fix with `TAME_FUZZ_FEATURES=+flag TAME_FUZZ_N=3000`.
fn passing_today() -> Features {
    Features::all()
}

/// Programs per build (split over two packages, so both cores compile).
const BATCH: usize = 150;

struct Config {
    n: usize,
    seed: u64,
    features: Features,
    reduce: Option<bool>,
}

fn env_config() -> Config {
    let var = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
    let n = var("TAME_FUZZ_N").map_or(500, |v| v.parse().expect("TAME_FUZZ_N: a number"));
    let seed = var("TAME_FUZZ_SEED").map_or(1, |v| v.parse().expect("TAME_FUZZ_SEED: a number"));
    let mut features = if var("TAME_FUZZ_ALL").is_some_and(|v| v != "0") {
        Features::all()
    } else {
        passing_today()
    };
    if let Some(list) = var("TAME_FUZZ_FEATURES") {
        for item in list.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            match item {
                "none" => features = Features::none(),
                "all" => features = Features::all(),
                _ => {}
            }
            if item == "none" || item == "all" {
                continue;
            }
            let (on, name) = match item.split_at(1) {
                ("+", n) => (true, n),
                ("-", n) => (false, n),
                _ => (true, item),
            };
            match features.flag(name) {
                Some(f) => *f = on,
                None => panic!(
                    "TAME_FUZZ_FEATURES: unknown feature {name:?}; known: {}",
                    Features::NAMES.join(", ")
                ),
            }
        }
    }
    let reduce = match var("TAME_FUZZ_REDUCE").as_deref() {
        None | Some("0") => None,
        Some("each") => Some(true),
        Some(_) => Some(false),
    };
    Config {
        n,
        seed,
        features,
        reduce,
    }
}

struct Failure {
    index: usize,
    seed: u64,
    program: ast::Program,
    verdict: Verdict,
}

#[test]
fn tamed_functions_behave_like_their_blocking_versions() {
    let cfg = env_config();
    let runner = Runner::new();
    let started = std::time::Instant::now();
    progress!(
        "{} programs from seed {}; features off: {}",
        cfg.n,
        cfg.seed,
        match cfg.features.names(false) {
            v if v.is_empty() => "none".to_string(),
            v => v.join(", "),
        }
    );
    let mut failures: Vec<Failure> = Vec::new();
    let mut passed = 0;
    let mut start = 0;
    while start < cfg.n {
        let end = cfg.n.min(start + BATCH);
        let programs: Vec<ast::Program> = (start..end)
            .map(|i| generate::program(cfg.seed + i as u64, &cfg.features))
            .collect();
        let cases: Vec<Case> = programs
            .iter()
            .enumerate()
            .map(|(k, p)| Case {
                index: start + k,
                plain: module(p, Mode::Plain),
                tamed: module(p, Mode::Tamed),
            })
            .collect();
        let verdicts = runner
            .run("batch", &cases, 2)
            .unwrap_or_else(|e| panic!("tame-fuzz harness: {e}"));
        for (k, v) in verdicts.into_iter().enumerate() {
            if matches!(v, Verdict::Pass) {
                passed += 1;
            } else {
                failures.push(Failure {
                    index: start + k,
                    seed: cfg.seed + (start + k) as u64,
                    program: programs[k].clone(),
                    verdict: v,
                });
            }
        }
        progress!(
            "{end}/{} programs run, {passed} passed, {} failed ({:.0?})",
            cfg.n,
            failures.len(),
            started.elapsed()
        );
        start = end;
    }
    if failures.is_empty() {
        return;
    }
    let mut report = String::new();
    let mut kinds: BTreeMap<String, Vec<&Failure>> = BTreeMap::new();
    for f in &failures {
        kinds.entry(f.verdict.kind().unwrap()).or_default().push(f);
    }
    let _ = writeln!(
        report,
        "{} of {} programs fail (first seed {}), in {} kinds:",
        failures.len(),
        cfg.n,
        cfg.seed,
        kinds.len()
    );
    for (kind, fs) in &kinds {
        let seeds: Vec<String> = fs.iter().take(12).map(|f| f.seed.to_string()).collect();
        let _ = writeln!(
            report,
            "  {kind}: {} programs, seeds {}{}",
            fs.len(),
            seeds.join(", "),
            if fs.len() > 12 { ", …" } else { "" }
        );
    }
    let _ = writeln!(
        report,
        "(rerun one with TAME_FUZZ_SEED=<seed> TAME_FUZZ_N=1 and the same features)\n"
    );
    let first_of_each: Vec<&Failure> = kinds.values().map(|fs| fs[0]).collect();
    for f in first_of_each.iter().take(3) {
        let _ = writeln!(
            report,
            "{}",
            describe(f.index, f.seed, &f.program, &f.verdict)
        );
    }
    if let Some(each) = cfg.reduce {
        report.push_str(REPRO_HEADER);
        let targets: Vec<&Failure> = if each {
            first_of_each
        } else {
            vec![&failures[0]]
        };
        for f in targets {
            let kind = f.verdict.kind().unwrap();
            progress!("reducing seed {} ({kind})", f.seed);
            match reduce::reduce(&runner, &f.program, &kind, f.verdict.clone()) {
                Ok((small, v)) => {
                    let text = repro(f.seed, &small, &v);
                    let _ = writeln!(report, "{text}");
                }
                Err(e) => {
                    let _ = writeln!(report, "reducing seed {} failed: {e}", f.seed);
                }
            }
        }
    }
    panic!("{report}");
}

fn describe(index: usize, seed: u64, p: &ast::Program, v: &Verdict) -> String {
    let mut s = format!(
        "---- program {index}, seed {seed}: {} ----\n{}",
        v.kind().unwrap_or_default(),
        module(p, Mode::Tamed)
    );
    match v {
        Verdict::Compile { rendered, .. } => {
            let _ = writeln!(s, "does not compile:\n{rendered}");
        }
        Verdict::Mismatch { expected, actual } => s.push_str(&run::show_logs(expected, actual)),
        Verdict::Generator(why) => {
            let _ = writeln!(s, "{why}\nplain version:\n{}", module(p, Mode::Plain));
        }
        Verdict::Pass => {}
    }
    s
}

/// A reduced failure, printed as a function and a test to keep as a regression test.
fn repro(seed: u64, p: &ast::Program, v: &Verdict) -> String {
    let name = format!("seed_{seed}");
    let tamed = module(p, Mode::Tamed)
        .replace("pub fn run()", &format!("fn {name}()"))
        .replace(
            "#[allow(unused_imports)]\nuse crate::w::{self, D, P, S, log};\n\n",
            "",
        );
    let mut s = format!(
        "==== reduced repro of seed {seed} ({}) ====\n{tamed}",
        v.kind().unwrap_or_default()
    );
    let test = |s: &mut String, expected: &[String]| {
        let expected = if expected.is_empty() {
            "Vec::<String>::new()".to_string()
        } else {
            format!("{expected:?}")
        };
        let _ = writeln!(
            s,
            "\n#[test]\nfn {name}_behaves_like_its_blocking_version() {{\n    assert_eq!(w::run_tamed({name}), {expected});\n}}\n"
        );
    };
    match v {
        Verdict::Mismatch { expected, actual } => {
            test(&mut s, expected);
            s.push_str(&run::show_logs(expected, actual));
        }
        Verdict::Compile {
            rendered, expected, ..
        } => {
            test(&mut s, expected);
            let _ = writeln!(s, "does not compile:\n{rendered}");
        }
        _ => {
            let _ = writeln!(s, "\n{v:?}\nplain version:\n{}", module(p, Mode::Plain));
        }
    }
    s
}

/// What a test file needs before the repros pasted into it.
const REPRO_HEADER: &str = "(a test file for these repros starts with:
    #[path = \"fuzz/w.rs\"]
    #[allow(dead_code)]
    mod w;
    #[allow(unused_imports)]
    use w::{D, P, S, log};
and once the macro is fixed, each repro below is a test for it)
";
