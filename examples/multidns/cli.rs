//! Command line of multidns: hand-parsed, with `--help`, and the
//! default server from /etc/resolv.conf.

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

use tame::dns::QueryType;

pub const USAGE: &str = "\
multidns: resolve many names at once, with a window of queries in flight

USAGE:
    multidns [OPTIONS] [@SERVER] [FILE|-|NAME...]

Resolves the NAMEs given, or reads one name per line from FILE, or from stdin if FILE is - or
absent (blank lines are skipped; names from a pipe or a terminal are resolved as they come).
An argument is a FILE if it exists or contains a /, else a NAME. A name in another script
is asked in its ASCII form (b\u{fc}cher.example as xn--bcher-kva.example). Prints one line per
name, in input order:
    name<TAB>addr,addr,...      the addresses found
    name<TAB>WORD               NXDOMAIN, NODATA, SERVFAIL, REFUSED, TIMEOUT,
                                TRUNCATED (too big for UDP, and asking over TCP failed),
                                UNREACHABLE (an ICMP error: the server's port is closed),
                                INVALID (a name that cannot be sent), ERROR (a send error)
                                or another response code (FORMERR, NOTIMP, ...)
and a summary line on stderr.

OPTIONS:
    --server IP:PORT, @IP:PORT
                            DNS server (port 53 if omitted)
                            [default: the first nameserver in /etc/resolv.conf]
    -w, --window N          most queries in flight at once, 1 to 16384 [default: 64]; no
                            more go out at once than the socket's receive buffer holds
                            replies (said on stderr if that is fewer)
    --timeout-ms N          how long each attempt waits for its reply [default: 1000]
    --retries N             attempts after the first, each with the same timeout [default: 2]
    -t, --type A|AAAA       record type to ask for [default: A]
    --max-held-mb N         answers wait to be printed in input order; while they take more
                            than N MiB, no new query starts (the earliest name still
                            pending is answered or times out first) [default: 16]
    -h, --help              print this help
    -V, --version           print the version

EXIT STATUS:
    0 every name was tried (whatever its outcome), 1 the run could not start or its output
    could not be written, 2 a usage error.
";

/// Most queries in flight: ids are 16 bits, and a random free id must stay easy to find.
pub const MAX_WINDOW: usize = 16_384;
/// Longest timeout accepted: an hour.
const MAX_TIMEOUT_MS: u64 = 3_600_000;
/// Most retries accepted.
const MAX_RETRIES: u64 = 100;

/// Where the names come from.
#[derive(Debug, Clone, PartialEq)]
pub enum Input {
    Stdin,
    File(PathBuf),
    /// Names given as arguments.
    Names(Vec<String>),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Options {
    /// `None`: the first nameserver of /etc/resolv.conf.
    pub server: Option<SocketAddr>,
    pub window: usize,
    pub timeout: Duration,
    pub retries: u32,
    pub qtype: QueryType,
    pub input: Input,
    /// Bytes of answers held for in-order output beyond which no new query starts.
    pub max_held: usize,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            server: None,
            window: 64,
            timeout: Duration::from_millis(1000),
            retries: 2,
            qtype: QueryType::A,
            input: Input::Stdin,
            max_held: 16 << 20,
        }
    }
}

/// What the command line asks for.
#[derive(Debug, PartialEq)]
pub enum Cli {
    Run(Options),
    Help,
    Version,
}

fn number(flag: &str, v: &str, min: u64, max: u64) -> Result<u64, String> {
    let n: u64 = v
        .parse()
        .map_err(|_| format!("{flag}: expected a whole number, got {v:?}"))?;
    if n < min || n > max {
        return Err(format!("{flag}: must be from {min} to {max}, got {n}"));
    }
    Ok(n)
}

/// `IP:PORT`, `[IPv6]:PORT`, or a bare IP (port 53); `flag` names the option in errors.
pub fn server_addr(flag: &str, v: &str) -> Result<SocketAddr, String> {
    let addr = v
        .parse::<SocketAddr>()
        .or_else(|_| v.parse::<IpAddr>().map(|ip| SocketAddr::new(ip, 53)))
        .map_err(|_| format!("{flag}: expected IP:PORT or IP, got {v:?}"))?;
    if addr.port() == 0 {
        return Err(format!("{flag}: port 0 is not a server port, got {v:?}"));
    }
    Ok(addr)
}

/// Whether a positional argument is a file of names rather than a name.
fn is_file(arg: &str) -> bool {
    arg.contains('/') || std::path::Path::new(arg).exists()
}

/// Parses the arguments after the program name.
pub fn parse(args: impl IntoIterator<Item = String>) -> Result<Cli, String> {
    let mut o = Options::default();
    let mut input = None;
    let mut names = Vec::new();
    let mut it = args.into_iter();
    while let Some(arg) = it.next() {
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
        if let Some(server) = flag.strip_prefix('@') {
            o.server = Some(server_addr(&flag, server)?);
            continue;
        }
        if flag == "-" || !flag.starts_with('-') {
            if flag != "-" && !is_file(&flag) {
                names.push(flag);
                continue;
            }
            if input.is_some() {
                return Err(format!("more than one input file: {flag:?} (see --help)"));
            }
            input = Some(if flag == "-" {
                Input::Stdin
            } else {
                Input::File(PathBuf::from(flag))
            });
            continue;
        }
        let mut value = || {
            inline
                .clone()
                .or_else(|| it.next())
                .ok_or_else(|| format!("{flag}: missing value"))
        };
        match flag.as_str() {
            "--server" => o.server = Some(server_addr(&flag, &value()?)?),
            "-w" | "--window" => {
                o.window = number(&flag, &value()?, 1, MAX_WINDOW as u64)? as usize;
            }
            "--timeout-ms" => {
                o.timeout =
                    Duration::from_millis(number("--timeout-ms", &value()?, 1, MAX_TIMEOUT_MS)?);
            }
            "--retries" => o.retries = number("--retries", &value()?, 0, MAX_RETRIES)? as u32,
            "--max-held-mb" => {
                o.max_held = (number("--max-held-mb", &value()?, 1, 1 << 20)? as usize) << 20
            }
            "-t" | "--type" => {
                let v = value()?;
                o.qtype = match v.to_ascii_uppercase().as_str() {
                    "A" => QueryType::A,
                    "AAAA" => QueryType::Aaaa,
                    _ => return Err(format!("{flag}: expected A or AAAA, got {v:?}")),
                };
            }
            other => return Err(format!("unknown option {other:?} (see --help)")),
        }
    }
    o.input = match (input, names.is_empty()) {
        (Some(_), false) => {
            return Err("give names or one input, not both (see --help)".into());
        }
        (Some(i), true) => i,
        (None, false) => Input::Names(names),
        (None, true) => Input::Stdin,
    };
    Ok(Cli::Run(o))
}

/// The first `nameserver` of a resolv.conf text, on port 53.
pub fn nameserver(resolv_conf: &str) -> Result<SocketAddr, String> {
    let line = resolv_conf
        .lines()
        .map(|l| l.split(['#', ';']).next().unwrap_or(""))
        .find_map(|l| {
            let mut words = l.split_whitespace();
            (words.next() == Some("nameserver")).then(|| words.next())
        });
    match line {
        Some(Some(ip)) => {
            // A link-local IPv6 server may carry its interface (`fe80::1%eth0`); only a
            // numeric interface index can be used here.
            let addr = ip
                .parse::<IpAddr>()
                .map(|ip| SocketAddr::new(ip, 53))
                .or_else(|_| format!("[{ip}]:53").parse::<SocketAddr>());
            addr.map_err(|_| format!("nameserver {ip:?} is not an IP address: use --server"))
        }
        Some(None) => Err("a nameserver line without an address: use --server".into()),
        None => Err("no nameserver line: use --server IP:PORT".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(s: &str) -> Vec<String> {
        s.split_whitespace().map(String::from).collect()
    }

    #[test]
    fn defaults_and_every_option() {
        assert_eq!(parse(args("")), Ok(Cli::Run(Options::default())));
        let Ok(Cli::Run(o)) = parse(args(
            "--server 127.0.0.1:5353 --window=8 --timeout-ms 250 --retries 0 --type aaaa data/names.txt",
        )) else {
            panic!()
        };
        assert_eq!(o.server, Some("127.0.0.1:5353".parse().unwrap()));
        assert_eq!(
            (o.window, o.timeout, o.retries, o.qtype),
            (8, Duration::from_millis(250), 0, QueryType::Aaaa)
        );
        assert_eq!(o.input, Input::File("data/names.txt".into()));
        let Ok(Cli::Run(o)) = parse(args("--server ::1 -")) else {
            panic!()
        };
        assert_eq!(o.server, Some("[::1]:53".parse().unwrap()));
        assert_eq!(o.input, Input::Stdin);
        assert_eq!(parse(args("--window 3 --help")), Ok(Cli::Help));
        assert_eq!(parse(args("-V")), Ok(Cli::Version));
        let Ok(Cli::Run(o)) = parse(args("@10.0.0.53 -w 9 -t AAAA a.example b.example")) else {
            panic!()
        };
        assert_eq!(o.server, Some("10.0.0.53:53".parse().unwrap()));
        assert_eq!((o.window, o.qtype), (9, QueryType::Aaaa));
        assert_eq!(
            o.input,
            Input::Names(vec!["a.example".into(), "b.example".into()])
        );
        let Ok(Cli::Run(o)) = parse(args("@[::1]:5353 ./names")) else {
            panic!()
        };
        assert_eq!(o.server, Some("[::1]:5353".parse().unwrap()));
        assert_eq!(o.input, Input::File("./names".into()));
    }

    #[test]
    fn bad_input_is_a_clear_error() {
        for (line, says) in [
            ("--window 0", "from 1 to 16384"),
            ("--window 16385", "from 1 to 16384"),
            ("--window many", "whole number"),
            ("--window", "missing value"),
            ("--timeout-ms 0", "--timeout-ms"),
            ("--retries -1", "whole number"),
            ("--type MX", "A or AAAA"),
            ("--server example.com:53", "IP:PORT"),
            ("--server 127.0.0.1:0", "port 0"),
            ("./a.txt ./b.txt", "more than one input"),
            ("./a.txt b.example", "not both"),
            ("@example.com", "@example.com: expected IP:PORT or IP"),
            ("-w 0", "-w: must be from 1 to 16384"),
            ("-t TXT", "-t: expected A or AAAA"),
            ("--frobnicate", "unknown option"),
        ] {
            let e = parse(args(line)).unwrap_err();
            assert!(e.contains(says), "{line}: {e}");
        }
    }

    #[test]
    fn the_first_nameserver_of_resolv_conf() {
        let conf =
            "# generated\nsearch example\nnameserver 10.0.0.53 # primary\nnameserver 10.0.0.54\n";
        assert_eq!(nameserver(conf), Ok("10.0.0.53:53".parse().unwrap()));
        assert_eq!(
            nameserver("nameserver fe80::1%2\n"),
            Ok("[fe80::1%2]:53".parse().unwrap())
        );
        assert!(
            nameserver("search x\n")
                .unwrap_err()
                .contains("no nameserver")
        );
        assert!(nameserver("").unwrap_err().contains("--server"));
        assert!(nameserver("nameserver\n").unwrap_err().contains("without"));
        assert!(
            nameserver("nameserver dns.example\n")
                .unwrap_err()
                .contains("not an IP")
        );
        assert!(nameserver("# nameserver 1.2.3.4\n").is_err());
    }
}
