//! Command line of knot: hand-parsed, with `--help`.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

pub const USAGE: &str = "\
knot: a single-threaded static web server on the tame event loop

USAGE:
    knot [OPTIONS]

OPTIONS:
    --root DIR              directory to serve (a file is refused) [default: examples/knot/site]
    --addr IP:PORT          address to listen on [default: 127.0.0.1:8080]
    --cache-mb N            in-memory file cache size in MiB [default: 64]
    --idle-timeout-ms N     close a connection idle this long [default: 10000]
    --max-conns N           most connections open at once [default: 10000]
    --backlog N             connections the kernel queues before knot accepts them,
                            1 to 65535 (the kernel caps it at net.core.somaxconn) [default: 511]
    --log[=yes|no]          one line per request on stderr [default: no]
    -h, --help              print this help
";

/// Longest idle timeout accepted: a day (deadlines are computed as now + timeout).
const MAX_IDLE_MS: u64 = 86_400_000;
/// Largest `--backlog` accepted (the kernel's own limit, `net.core.somaxconn`, is at most
/// this on Linux).
const MAX_BACKLOG: u64 = 65_535;

#[derive(Debug, Clone, PartialEq)]
pub struct Options {
    pub root: PathBuf,
    pub addr: SocketAddr,
    pub cache_bytes: usize,
    pub idle: Duration,
    pub max_conns: usize,
    /// The listen backlog: connections the kernel completes and queues until accepted.
    pub backlog: i32,
    pub log: bool,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            root: PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/examples/knot/site")),
            addr: "127.0.0.1:8080".parse().expect("valid default address"),
            cache_bytes: 64 << 20,
            idle: Duration::from_millis(10_000),
            max_conns: 10_000,
            // nginx's default on Linux.
            backlog: 511,
            log: false,
        }
    }
}

/// What the command line asks for.
#[derive(Debug, PartialEq)]
pub enum Cli {
    Run(Options),
    Help,
}

fn number(flag: &str, v: &str, min: u64) -> Result<u64, String> {
    let n: u64 = v
        .parse()
        .map_err(|_| format!("{flag}: expected a whole number, got {v:?}"))?;
    if n < min {
        return Err(format!("{flag}: must be at least {min}, got {n}"));
    }
    Ok(n)
}

/// Parses the arguments after the program name.
pub fn parse(args: impl IntoIterator<Item = String>) -> Result<Cli, String> {
    let mut o = Options::default();
    let mut it = args.into_iter();
    while let Some(flag) = it.next() {
        let (flag, inline) = match flag.split_once('=') {
            Some((f, v)) if f.starts_with("--") => (f.to_string(), Some(v.to_string())),
            _ => (flag, None),
        };
        if flag == "-h" || flag == "--help" {
            return Ok(Cli::Help);
        }
        if flag == "--log" {
            o.log = match inline.as_deref() {
                None | Some("yes" | "true" | "1") => true,
                Some("no" | "false" | "0") => false,
                Some(v) => return Err(format!("--log: expected no value (or yes/no), got {v:?}")),
            };
            continue;
        }
        let mut value = || {
            inline
                .clone()
                .or_else(|| it.next())
                .ok_or_else(|| format!("{flag}: missing value"))
        };
        match flag.as_str() {
            "--root" => o.root = PathBuf::from(value()?),
            "--addr" => {
                let v = value()?;
                o.addr = v
                    .parse()
                    .map_err(|_| format!("--addr: expected IP:PORT, got {v:?}"))?;
            }
            "--cache-mb" => {
                let n = number("--cache-mb", &value()?, 0)?;
                o.cache_bytes = usize::try_from(n.saturating_mul(1 << 20))
                    .map_err(|_| "--cache-mb: too large".to_string())?;
            }
            "--idle-timeout-ms" => {
                let ms = number("--idle-timeout-ms", &value()?, 1)?;
                if ms > MAX_IDLE_MS {
                    return Err(format!(
                        "--idle-timeout-ms: must be at most {MAX_IDLE_MS} (a day), got {ms}"
                    ));
                }
                o.idle = Duration::from_millis(ms)
            }
            "--max-conns" => {
                o.max_conns = usize::try_from(number("--max-conns", &value()?, 1)?)
                    .map_err(|_| "--max-conns: too large".to_string())?
            }
            "--backlog" => {
                let n = number("--backlog", &value()?, 1)?;
                if n > MAX_BACKLOG {
                    return Err(format!("--backlog: must be at most {MAX_BACKLOG}, got {n}"));
                }
                o.backlog = n as i32;
            }
            other => return Err(format!("unknown option {other:?} (see --help)")),
        }
    }
    Ok(Cli::Run(o))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(s: &str) -> Vec<String> {
        s.split_whitespace().map(String::from).collect()
    }

    #[test]
    fn log_takes_no_value_or_yes_or_no() {
        let parse1 = |a: &str| parse([a.to_string()]);
        for (arg, want) in [
            ("--log", true),
            ("--log=yes", true),
            ("--log=no", false),
            ("--log=0", false),
        ] {
            match parse1(arg) {
                Ok(Cli::Run(o)) => assert_eq!(o.log, want, "{arg}"),
                other => panic!("{arg}: {:?}", other.is_ok()),
            }
        }
        assert!(parse1("--log=maybe").is_err());
    }

    #[test]
    fn defaults_and_every_option() {
        assert_eq!(parse(args("")), Ok(Cli::Run(Options::default())));
        let Ok(Cli::Run(o)) = parse(args(
            "--root /tmp --addr 127.0.0.1:9 --cache-mb=2 --idle-timeout-ms 5 --max-conns 3 --log \
             --backlog 7",
        )) else {
            panic!()
        };
        assert_eq!(o.backlog, 7);
        assert_eq!(o.root, PathBuf::from("/tmp"));
        assert_eq!(o.addr, "127.0.0.1:9".parse().unwrap());
        assert_eq!(
            (o.cache_bytes, o.idle, o.max_conns, o.log),
            (2 << 20, Duration::from_millis(5), 3, true)
        );
        assert_eq!(parse(args("--help")), Ok(Cli::Help));
    }

    #[test]
    fn bad_input_is_a_clear_error() {
        assert!(parse(args("--addr nope")).unwrap_err().contains("IP:PORT"));
        assert!(
            parse(args("--max-conns 0"))
                .unwrap_err()
                .contains("at least 1")
        );
        assert!(
            parse(args("--cache-mb"))
                .unwrap_err()
                .contains("missing value")
        );
        assert!(
            parse(args("--frobnicate"))
                .unwrap_err()
                .contains("unknown option")
        );
    }

    #[test]
    fn backlog_is_1_to_65535() {
        let backlog = |a: &str| match parse(args(a)) {
            Ok(Cli::Run(o)) => Ok(o.backlog),
            Ok(Cli::Help) => panic!("{a}"),
            Err(e) => Err(e),
        };
        assert_eq!(backlog(""), Ok(511), "nginx's default");
        assert_eq!(backlog("--backlog 1"), Ok(1));
        assert_eq!(backlog("--backlog=65535"), Ok(65_535));
        for (a, says) in [
            ("--backlog 0", "--backlog: must be at least 1, got 0"),
            (
                "--backlog 65536",
                "--backlog: must be at most 65535, got 65536",
            ),
            (
                "--backlog -1",
                "--backlog: expected a whole number, got \"-1\"",
            ),
            (
                "--backlog 1e3",
                "--backlog: expected a whole number, got \"1e3\"",
            ),
            (
                "--backlog 99999999999999999999",
                "--backlog: expected a whole number",
            ),
            ("--backlog", "--backlog: missing value"),
        ] {
            let e = backlog(a).unwrap_err();
            assert!(e.starts_with(says), "{a}: {e}");
            assert!(!e.contains('\n'), "one line: {e:?}");
        }
    }
}
