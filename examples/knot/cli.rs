//! Command line of knot: hand-parsed, with `--help` and `--version`.

use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, ToSocketAddrs};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// `--help`'s text; `{root}` is the default root as [`usage`] shows it.
const USAGE: &str = "\
knot: a static web server on the tame event loop, one loop per worker thread

USAGE:
    knot [OPTIONS] [DIR]

ARGUMENTS:
    DIR                     directory to serve (a file is refused); --root DIR says the same
                            [default: {root}]

OPTIONS:
    --addr ADDR             where to listen [default: 127.0.0.1:8080]; ADDR is one of
                              IP:PORT, [IPv6]:PORT  that address and port
                              :PORT                 every IPv4 interface (0.0.0.0), as nginx's
                                                    `listen PORT`
                              HOST:PORT             HOST's first IPv4 address, else its first
                                                    (localhost:8080 is 127.0.0.1:8080)
                              IP, [IPv6], HOST      that, on port 8080 or -p's
    -p, --port N            port to listen on, 0 to 65535 (0: one the kernel picks), on the
                            IP of --addr; wins over a port in --addr [default: 8080]
    --root DIR              directory to serve, as DIR
    --cache-mb N            in-memory file cache size in MiB, shared evenly by the workers
                            (each caches on its own) [default: 64]
    --idle-timeout TIME     close a connection idle this long: 500ms, 10s, 2m or 1h; a bare
                            number is seconds (as nginx reads one); 1ms to 24h [default: 10s]
    --idle-timeout-ms N     the same, in milliseconds
    --grace TIME            on SIGINT or SIGTERM, stop accepting, close idle connections and
                            give the responses under way this long to finish, then cut them
                            and exit; TIME as for --idle-timeout [default: 10s]
    --max-conns N           most connections open at once; the workers share it evenly
                            (each gets at least 1) [default: 10000]
    --backlog N             connections the kernel queues before knot accepts them,
                            1 to 65535 (the kernel caps it at net.core.somaxconn) [default: 511]
    --workers N             event loops, one per thread, 1 to 1024, each accepting on its
                            own listener on the same address (SO_REUSEPORT: the kernel spreads
                            connections by address and port); sharing nothing but the options
                            and the root [default: the number of cores knot may run on]
    --log[=yes|no]          one line per request on stderr [default: no]
    -h, --help              print this help
    -V, --version           print the version

SIGNALS:
    SIGINT (Ctrl-C) or SIGTERM: drain as --grace says, then exit 0. A second one while
    draining ends knot at once (the signal's default action). With --workers 2 or more, the
    main thread catches the signal and every worker drains; knot exits once all have.

EXIT STATUS:
    0 after --help or --version, or once drained after SIGINT or SIGTERM; 1 the server could
    not start (the directory or the address); 2 a usage error.
";

/// `--help`'s text, with the default root as this process would serve it: relative to the
/// current directory when it lies under it (`examples/knot/site` from the repository's
/// root), else the full path.
pub fn usage() -> String {
    let root = default_root();
    let shown = std::env::current_dir()
        .ok()
        .and_then(|cwd| root.strip_prefix(cwd).ok().map(Path::to_path_buf))
        .map(|rel| match rel.as_os_str().is_empty() {
            true => PathBuf::from("."),
            false => rel,
        })
        .unwrap_or(root);
    USAGE.replace("{root}", &shown.display().to_string())
}

/// The site shipped with knot, where it was compiled: the root when none is given.
pub fn default_root() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/examples/knot/site"))
}

/// The port when neither `--addr` nor `-p` gives one.
const DEFAULT_PORT: u16 = 8080;
/// Longest idle timeout or grace period accepted: a day (deadlines are computed as now +
/// timeout).
const MAX_IDLE_MS: u64 = 86_400_000;
/// Largest `--backlog` accepted (the kernel's own limit, `net.core.somaxconn`, is at most
/// this on Linux).
const MAX_BACKLOG: u64 = 65_535;
/// Largest `--workers` accepted.
const MAX_WORKERS: u64 = 1024;
/// The forms `--addr` takes, for its errors.
const ADDR_FORMS: &str = "IP:PORT, [IPv6]:PORT, :PORT or HOST:PORT";
/// The forms `--idle-timeout` takes, for its errors.
const TIME_FORMS: &str = "500ms, 10s, 2m or 1h (a bare number is seconds)";

#[derive(Debug, Clone, PartialEq)]
pub struct Options {
    pub root: PathBuf,
    pub addr: SocketAddr,
    pub cache_bytes: usize,
    pub idle: Duration,
    /// How long responses under way may take to finish after SIGINT or SIGTERM.
    pub grace: Duration,
    pub max_conns: usize,
    /// The listen backlog: connections the kernel completes and queues until accepted.
    pub backlog: i32,
    /// Event loops, one per thread, each with its own listener (`SO_REUSEPORT`).
    pub workers: usize,
    pub log: bool,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            root: default_root(),
            addr: SocketAddr::new(Ipv4Addr::LOCALHOST.into(), DEFAULT_PORT),
            cache_bytes: 64 << 20,
            idle: Duration::from_millis(10_000),
            grace: Duration::from_millis(10_000),
            max_conns: 10_000,
            // nginx's default on Linux.
            backlog: 511,
            workers: default_workers(),
            log: false,
        }
    }
}

/// `--workers` when none is given: the number of cores this process may run on (its CPU
/// affinity, as `taskset` sets it), 1 if that cannot be told.
pub fn default_workers() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get().min(MAX_WORKERS as usize))
}

/// What the command line asks for.
#[derive(Debug, PartialEq)]
pub enum Cli {
    Run(Options),
    Help,
    Version,
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

fn port(flag: &str, v: &str) -> Result<u16, String> {
    v.parse()
        .map_err(|_| format!("{flag}: expected a port, 0 to 65535, got {v:?}"))
}

/// `500ms`, `10s`, `2m`, `1h`, or a bare number of seconds (as nginx reads one), 1 ms to a
/// day.
fn duration(flag: &str, v: &str) -> Result<Duration, String> {
    let digits = v.find(|c: char| !c.is_ascii_digit()).unwrap_or(v.len());
    let (n, unit) = v.split_at(digits);
    let ms_per = match (n.is_empty(), unit) {
        (false, "ms") => 1,
        (false, "" | "s") => 1_000,
        (false, "m") => 60_000,
        (false, "h") => 3_600_000,
        _ => {
            let e = format!("{flag}: expected a time such as {TIME_FORMS}, got {v:?}");
            return Err(e);
        }
    };
    // Digits only: a number that does not parse overflowed, and is past the bound anyway.
    let ms = n
        .parse::<u64>()
        .map_or(u64::MAX, |n| n.saturating_mul(ms_per));
    if ms == 0 {
        return Err(format!("{flag}: must be at least 1ms, got {v:?}"));
    }
    if ms > MAX_IDLE_MS {
        return Err(format!("{flag}: must be at most 24h (a day), got {v:?}"));
    }
    Ok(Duration::from_millis(ms))
}

/// The addresses a host name resolves to (the system's resolver: /etc/hosts, DNS).
fn lookup(host: &str) -> io::Result<Vec<IpAddr>> {
    Ok((host, 0).to_socket_addrs()?.map(|a| a.ip()).collect())
}

/// What `--addr` says: an IP, and the port if it gives one.
fn addr(
    v: &str,
    resolve: &dyn Fn(&str) -> io::Result<Vec<IpAddr>>,
) -> Result<(IpAddr, Option<u16>), String> {
    let bad = || format!("--addr: expected {ADDR_FORMS}, got {v:?}");
    if let Some(p) = v.strip_prefix(':')
        && !p.contains(':')
    {
        return Ok((Ipv4Addr::UNSPECIFIED.into(), Some(port("--addr", p)?)));
    }
    if let Ok(a) = v.parse::<SocketAddr>() {
        return Ok((a.ip(), Some(a.port())));
    }
    if let Some(ip) = v.strip_prefix('[').and_then(|r| r.strip_suffix(']')) {
        return ip
            .parse::<Ipv6Addr>()
            .map(|ip| (ip.into(), None))
            .map_err(|_| bad());
    }
    if let Ok(ip) = v.parse::<Ipv4Addr>() {
        return Ok((ip.into(), None));
    }
    if v.matches(':').count() > 1 && v.chars().all(|c| c.is_ascii_hexdigit() || ":.".contains(c)) {
        // `::1:8080` would read as the IPv6 address ::1:8080 with no port.
        return Err(format!(
            "--addr: an IPv6 address goes in brackets, as [::1]:8080 or [::1], got {v:?}"
        ));
    }
    // A URL, or a stray space or bracket: no host name.
    if v.contains(|c: char| c == '/' || c == '[' || c == ']' || c.is_whitespace()) {
        return Err(bad());
    }
    let (host, p) = match v.rsplit_once(':') {
        Some((host, p)) => (host, Some(port("--addr", p)?)),
        None => (v, None),
    };
    if host.is_empty() {
        return Err(bad());
    }
    let ips = resolve(host).map_err(|e| format!("--addr: cannot resolve {host:?}: {e}"))?;
    let ip = ips
        .iter()
        .find(|ip| ip.is_ipv4())
        .or(ips.first())
        .ok_or_else(|| format!("--addr: {host:?} resolves to no address"))?;
    Ok((*ip, p))
}

/// Parses the arguments after the program name.
pub fn parse(args: impl IntoIterator<Item = String>) -> Result<Cli, String> {
    parse_with(args, &lookup)
}

/// [`parse`], with `resolve` for the host names in `--addr`.
fn parse_with(
    args: impl IntoIterator<Item = String>,
    resolve: &dyn Fn(&str) -> io::Result<Vec<IpAddr>>,
) -> Result<Cli, String> {
    let mut o = Options::default();
    let mut root_given = false;
    let mut ip = o.addr.ip();
    let mut addr_port = None;
    let mut port_flag = None;
    let mut options_end = false;
    let mut it = args.into_iter();
    while let Some(arg) = it.next() {
        if options_end || !arg.starts_with('-') || arg == "-" {
            // The directory to serve.
            if root_given {
                return Err(format!(
                    "one directory to serve, got another: {arg:?} (give DIR or --root DIR, once)"
                ));
            }
            o.root = PathBuf::from(arg);
            root_given = true;
            continue;
        }
        if arg == "--" {
            options_end = true;
            continue;
        }
        let (flag, inline) = match arg.split_once('=') {
            Some((f, v)) if f.starts_with("--") => (f.to_string(), Some(v.to_string())),
            _ => (arg, None),
        };
        if flag == "-h" || flag == "--help" {
            return Ok(Cli::Help);
        }
        if flag == "-V" || flag == "--version" {
            return Ok(Cli::Version);
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
            "--root" => {
                let v = value()?;
                if root_given {
                    return Err(format!(
                        "one directory to serve, got another: --root {v:?} (give DIR or --root \
                         DIR, once)"
                    ));
                }
                o.root = PathBuf::from(v);
                root_given = true;
            }
            "--addr" => (ip, addr_port) = addr(&value()?, resolve)?,
            "-p" | "--port" => port_flag = Some(port(&flag, &value()?)?),
            "--cache-mb" => {
                let n = number("--cache-mb", &value()?, 0)?;
                o.cache_bytes = usize::try_from(n.saturating_mul(1 << 20))
                    .map_err(|_| "--cache-mb: too large".to_string())?;
            }
            "--idle-timeout" => o.idle = duration("--idle-timeout", &value()?)?,
            "--grace" => o.grace = duration("--grace", &value()?)?,
            "--idle-timeout-ms" => {
                let v = value()?;
                let ms = number("--idle-timeout-ms", &v, 1)?;
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
            "--workers" => {
                let n = number("--workers", &value()?, 1)?;
                if n > MAX_WORKERS {
                    return Err(format!("--workers: must be at most {MAX_WORKERS}, got {n}"));
                }
                o.workers = n as usize;
            }
            other => return Err(format!("unknown option {other:?} (see --help)")),
        }
    }
    let port = port_flag.or(addr_port).unwrap_or(DEFAULT_PORT);
    o.addr = SocketAddr::new(ip, port);
    Ok(Cli::Run(o))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(s: &str) -> Vec<String> {
        s.split_whitespace().map(String::from).collect()
    }

    /// The options `a` asks for (it must ask to run).
    fn run(a: &str) -> Options {
        match parse_with(args(a), &fake_lookup) {
            Ok(Cli::Run(o)) => o,
            other => panic!("{a}: {other:?}"),
        }
    }

    /// The error `a` is, which must be one line.
    fn error(a: &str) -> String {
        let e = parse_with(args(a), &fake_lookup).expect_err(a);
        assert!(!e.contains('\n'), "one line: {e:?}");
        e
    }

    /// A resolver that knows three names.
    fn fake_lookup(host: &str) -> io::Result<Vec<IpAddr>> {
        let ips: &[&str] = match host {
            "localhost" => &["::1", "127.0.0.1"],
            "v6only.test" => &["::1"],
            "empty.test" => &[],
            _ => return Err(io::Error::other("Name or service not known")),
        };
        Ok(ips.iter().map(|ip| ip.parse().unwrap()).collect())
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
        let o = run(
            "--root /tmp --addr 127.0.0.1:9 --cache-mb=2 --idle-timeout-ms 5 --max-conns 3 --log \
             --backlog 7 --workers 3",
        );
        assert_eq!(o.backlog, 7);
        assert_eq!(o.workers, 3);
        assert_eq!(o.root, PathBuf::from("/tmp"));
        assert_eq!(o.addr, "127.0.0.1:9".parse().unwrap());
        assert_eq!(
            (o.cache_bytes, o.idle, o.max_conns, o.log),
            (2 << 20, Duration::from_millis(5), 3, true)
        );
        assert_eq!(parse(args("--help")), Ok(Cli::Help));
        assert_eq!(parse(args("-h")), Ok(Cli::Help));
        assert_eq!(parse(args("-V")), Ok(Cli::Version));
        assert_eq!(parse(args("--version")), Ok(Cli::Version));
        assert_eq!(parse(args("--max-conns 3 -V")), Ok(Cli::Version));
    }

    #[test]
    fn bad_input_is_a_clear_error() {
        assert!(error("--addr a/b").contains("IP:PORT"));
        assert!(error("--max-conns 0").contains("at least 1"));
        assert!(error("--cache-mb").contains("missing value"));
        assert!(error("--frobnicate").contains("unknown option"));
        assert!(error("-x").contains("unknown option"));
    }

    #[test]
    fn the_root_is_an_argument_or_root() {
        assert_eq!(run("/srv/www").root, PathBuf::from("/srv/www"));
        assert_eq!(run("--log site -p 1").root, PathBuf::from("site"));
        assert_eq!(run("--root=/srv").root, PathBuf::from("/srv"));
        // After `--`, a directory may start with `-`.
        assert_eq!(run("-- -www").root, PathBuf::from("-www"));
        assert_eq!(run("-").root, PathBuf::from("-"));
        assert_eq!(run("").root, default_root());
        for (a, says) in [
            ("a b", "one directory to serve, got another: \"b\""),
            (
                "a --root b",
                "one directory to serve, got another: --root \"b\"",
            ),
            ("--root a b", "one directory to serve, got another: \"b\""),
            (
                "--root a --root b",
                "one directory to serve, got another: --root \"b\"",
            ),
            ("-- a b", "one directory to serve, got another: \"b\""),
        ] {
            let e = error(a);
            assert!(e.starts_with(says), "{a}: {e}");
            assert!(e.contains("give DIR or --root DIR, once"), "{a}: {e}");
        }
    }

    #[test]
    fn addr_forms() {
        let addr = |a: &str| run(a).addr.to_string();
        assert_eq!(addr(""), "127.0.0.1:8080");
        assert_eq!(addr("--addr 10.1.2.3:80"), "10.1.2.3:80");
        assert_eq!(addr("--addr [::1]:8080"), "[::1]:8080");
        assert_eq!(addr("--addr=[::]:8080"), "[::]:8080");
        // `:PORT`: every IPv4 interface, as nginx's `listen PORT`.
        assert_eq!(addr("--addr :8080"), "0.0.0.0:8080");
        assert_eq!(addr("--addr :0"), "0.0.0.0:0");
        // A name: its first IPv4 address, else its first.
        assert_eq!(addr("--addr localhost:8080"), "127.0.0.1:8080");
        assert_eq!(addr("--addr v6only.test:81"), "[::1]:81");
        // An address without a port: port 8080, or -p's.
        assert_eq!(addr("--addr 0.0.0.0"), "0.0.0.0:8080");
        assert_eq!(addr("--addr [::1]"), "[::1]:8080");
        assert_eq!(addr("--addr localhost"), "127.0.0.1:8080");
        // Later --addr replaces an earlier one, port and all.
        assert_eq!(addr("--addr 10.0.0.1:81 --addr 10.0.0.2"), "10.0.0.2:8080");
    }

    #[test]
    fn port_keeps_the_ip_and_wins_over_the_port_of_addr() {
        let addr = |a: &str| run(a).addr.to_string();
        assert_eq!(addr("-p 8000"), "127.0.0.1:8000");
        assert_eq!(addr("--port 8000"), "127.0.0.1:8000");
        assert_eq!(addr("--port=8000"), "127.0.0.1:8000");
        assert_eq!(addr("-p 0"), "127.0.0.1:0");
        assert_eq!(addr("-p 65535"), "127.0.0.1:65535");
        assert_eq!(addr("--addr 0.0.0.0 -p 8000"), "0.0.0.0:8000");
        assert_eq!(addr("-p 8000 --addr [::1]"), "[::1]:8000");
        assert_eq!(addr("--addr 10.0.0.1:81 -p 82"), "10.0.0.1:82");
        assert_eq!(addr("-p 82 --addr 10.0.0.1:81"), "10.0.0.1:82");
        assert_eq!(addr("-p 82 --addr :81"), "0.0.0.0:82");
        assert_eq!(addr("-p 82 --addr localhost"), "127.0.0.1:82");
    }

    #[test]
    fn bad_addresses_and_ports_say_what_to_write() {
        for (a, says) in [
            (
                "--addr ::1:8080",
                "--addr: an IPv6 address goes in brackets, as [::1]:8080 or [::1], got \"::1:8080\"",
            ),
            ("--addr ::", "--addr: an IPv6 address goes in brackets"),
            (
                "--addr 127.0.0.1:99999",
                "--addr: expected a port, 0 to 65535, got \"99999\"",
            ),
            (
                "--addr :x",
                "--addr: expected a port, 0 to 65535, got \"x\"",
            ),
            ("--addr :", "--addr: expected a port, 0 to 65535, got \"\""),
            (
                "--addr localhost:http",
                "--addr: expected a port, 0 to 65535, got \"http\"",
            ),
            (
                "--addr nosuch.invalid:80",
                "--addr: cannot resolve \"nosuch.invalid\": Name or service not known",
            ),
            (
                "--addr empty.test:80",
                "--addr: \"empty.test\" resolves to no address",
            ),
            (
                "--addr http://127.0.0.1:80",
                "--addr: expected IP:PORT, [IPv6]:PORT, :PORT or HOST:PORT, got \"http://127.0.0.1:80\"",
            ),
            ("--addr [zz]", "--addr: expected IP:PORT"),
            ("--addr [::1]:", "--addr: expected IP:PORT"),
            ("--addr http://x/", "--addr: expected IP:PORT"),
            ("--addr [zz]:80", "--addr: expected IP:PORT"),
            ("--addr", "--addr: missing value"),
            ("-p 65536", "-p: expected a port, 0 to 65535, got \"65536\""),
            ("-p -1", "-p: expected a port, 0 to 65535, got \"-1\""),
            ("--port x", "--port: expected a port, 0 to 65535, got \"x\""),
            ("--port", "--port: missing value"),
            ("-p", "-p: missing value"),
        ] {
            let e = error(a);
            assert!(e.starts_with(says), "{a}: {e}");
        }
    }

    #[test]
    fn a_space_is_no_host_name() {
        let e = addr("local host:80", &fake_lookup).unwrap_err();
        assert!(e.starts_with("--addr: expected IP:PORT"), "{e}");
    }

    #[test]
    fn the_system_resolver_finds_localhost() {
        let Ok(Cli::Run(o)) = parse(args("--addr localhost:9")) else {
            panic!()
        };
        assert!(o.addr.ip().is_loopback(), "{}", o.addr);
        assert_eq!(o.addr.port(), 9);
    }

    #[test]
    fn idle_timeout_takes_units_and_a_bare_number_is_seconds() {
        let idle = |a: &str| run(a).idle;
        let ms = Duration::from_millis;
        assert_eq!(idle(""), ms(10_000));
        assert_eq!(idle("--idle-timeout 500ms"), ms(500));
        assert_eq!(idle("--idle-timeout 10s"), ms(10_000));
        assert_eq!(idle("--idle-timeout=2m"), ms(120_000));
        assert_eq!(idle("--idle-timeout 1h"), ms(3_600_000));
        assert_eq!(idle("--idle-timeout 10"), ms(10_000), "seconds, as nginx");
        assert_eq!(idle("--idle-timeout 1ms"), ms(1));
        assert_eq!(idle("--idle-timeout 24h"), ms(86_400_000));
        assert_eq!(idle("--idle-timeout 1440m"), ms(86_400_000));
        assert_eq!(idle("--idle-timeout 86400"), ms(86_400_000));
        assert_eq!(idle("--idle-timeout-ms 300"), ms(300));
        // The last one said wins.
        assert_eq!(idle("--idle-timeout 2s --idle-timeout-ms 300"), ms(300));
        assert_eq!(idle("--idle-timeout-ms 300 --idle-timeout 2s"), ms(2000));
        let forms = "expected a time such as 500ms, 10s, 2m or 1h (a bare number is seconds)";
        for (a, says) in [
            (
                "--idle-timeout 0",
                "--idle-timeout: must be at least 1ms, got \"0\"",
            ),
            ("--idle-timeout 0ms", "--idle-timeout: must be at least 1ms"),
            (
                "--idle-timeout 25h",
                "--idle-timeout: must be at most 24h (a day), got \"25h\"",
            ),
            (
                "--idle-timeout 86401",
                "--idle-timeout: must be at most 24h",
            ),
            (
                "--idle-timeout 86400001ms",
                "--idle-timeout: must be at most 24h",
            ),
            (
                "--idle-timeout 99999999999999999999s",
                "--idle-timeout: must be at most 24h",
            ),
            (
                "--idle-timeout 18446744073709551615h",
                "--idle-timeout: must be at most 24h",
            ),
            ("--idle-timeout 1.5s", forms),
            ("--idle-timeout 10S", forms),
            ("--idle-timeout 10x", forms),
            ("--idle-timeout s", forms),
            ("--idle-timeout -1s", forms),
            ("--idle-timeout 1d", forms),
            ("--idle-timeout", "--idle-timeout: missing value"),
            (
                "--idle-timeout-ms 0",
                "--idle-timeout-ms: must be at least 1, got 0",
            ),
            (
                "--idle-timeout-ms 86400001",
                "--idle-timeout-ms: must be at most 86400000 (a day)",
            ),
            (
                "--idle-timeout-ms 1s",
                "--idle-timeout-ms: expected a whole number",
            ),
        ] {
            let e = error(a);
            assert!(e.contains(says), "{a}: {e}");
            assert!(
                e.starts_with(a.split_whitespace().next().unwrap()),
                "{a}: {e}"
            );
        }
    }

    #[test]
    fn grace_takes_the_units_of_idle_timeout() {
        let grace = |a: &str| run(a).grace;
        let ms = Duration::from_millis;
        assert_eq!(grace(""), ms(10_000));
        assert_eq!(grace("--grace 300ms"), ms(300));
        assert_eq!(grace("--grace=2m"), ms(120_000));
        assert_eq!(grace("--grace 5"), ms(5_000), "seconds, as a bare number");
        assert_eq!(grace("--grace 24h"), ms(86_400_000));
        // Independent of --idle-timeout.
        assert_eq!(run("--idle-timeout 1s --grace 3s").idle, ms(1_000));
        for (a, says) in [
            ("--grace 0", "--grace: must be at least 1ms, got \"0\""),
            (
                "--grace 25h",
                "--grace: must be at most 24h (a day), got \"25h\"",
            ),
            (
                "--grace 1.5s",
                "--grace: expected a time such as 500ms, 10s, 2m or 1h",
            ),
            ("--grace", "--grace: missing value"),
        ] {
            let e = error(a);
            assert!(e.starts_with(says), "{a}: {e}");
        }
    }

    #[test]
    fn help_shows_the_default_root_as_it_will_be_served() {
        // `cargo test` runs in the package's directory: the site is shown relative to it.
        let help = usage();
        assert!(help.contains("[default: examples/knot/site]"), "{help}");
        assert!(!help.contains('{'), "{help}");
        assert!(default_root().is_absolute() && default_root().is_dir());
        for line in help.lines() {
            assert!(line.len() <= 96, "a long line: {line:?}");
        }
        for option in [
            "--addr",
            "-p, --port",
            "--root",
            "--idle-timeout TIME",
            "--idle-timeout-ms",
            "--grace TIME",
            "--workers N",
            "SO_REUSEPORT",
            "SIGTERM",
            "-V, --version",
            ":PORT",
            "HOST:PORT",
            "[IPv6]:PORT",
        ] {
            assert!(help.contains(option), "{option}");
        }
    }

    #[test]
    fn backlog_is_1_to_65535() {
        let backlog = |a: &str| match parse(args(a)) {
            Ok(Cli::Run(o)) => Ok(o.backlog),
            Ok(other) => panic!("{a}: {other:?}"),
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

    #[test]
    fn workers_is_1_to_1024_and_defaults_to_the_cores() {
        let workers = |a: &str| {
            parse(args(a)).map(|c| match c {
                Cli::Run(o) => o.workers,
                other => panic!("{a}: {other:?}"),
            })
        };
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        assert_eq!(workers(""), Ok(cores));
        assert_eq!(workers("--workers 1"), Ok(1));
        assert_eq!(workers("--workers=1024"), Ok(1024));
        // The last one said wins.
        assert_eq!(workers("--workers 4 --workers 2"), Ok(2));
        for (a, says) in [
            ("--workers 0", "--workers: must be at least 1, got 0"),
            (
                "--workers 1025",
                "--workers: must be at most 1024, got 1025",
            ),
            (
                "--workers -1",
                "--workers: expected a whole number, got \"-1\"",
            ),
            (
                "--workers two",
                "--workers: expected a whole number, got \"two\"",
            ),
            ("--workers", "--workers: missing value"),
        ] {
            let e = workers(a).unwrap_err();
            assert!(e.starts_with(says), "{a}: {e}");
            assert!(!e.contains('\n'), "one line: {e:?}");
        }
    }
}
