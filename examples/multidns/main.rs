//! multidns: the paper's windowed parallel resolver, as a real DNS client.
//!
//! Run: `cargo run --release --example multidns -- --server 127.0.0.1:53 names.txt`.
//! `--help` lists the options. The book chapter "multidns"
//! walks through it (the parts between the ANCHOR lines below).
//!
//! The shape: [`resolver::Resolver`] owns one UDP socket and the table of queries in flight;
//! [`multidns_win`] keeps at most `--window` names in flight, each resolved by
//! [`lookup_retrying`] (a [`Resolver::lookup`](resolver::Resolver::lookup) under
//! `add_timeout`, retried), and prints the answers in input order as they come.

mod cli;
mod resolver;

use std::fs;
use std::io::{self, BufWriter, IsTerminal, Read, Write};
use std::process::ExitCode;
use std::rc::Rc;
use std::time::{Duration, Instant};

use tame::{Event, Rendezvous, TimedOut, tamed};

use resolver::{Answer, DnsError, Resolver, Stats};

/// How often the progress line is redrawn.
const PROGRESS_EVERY: Duration = Duration::from_millis(100);

fn main() -> ExitCode {
    let opts = match cli::parse(std::env::args().skip(1)) {
        Ok(cli::Cli::Run(o)) => o,
        Ok(cli::Cli::Help) => {
            print!("{}", cli::USAGE);
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            eprintln!("multidns: {e}");
            return ExitCode::from(2);
        }
    };
    let server = match opts.server {
        Some(s) => s,
        None => match fs::read_to_string("/etc/resolv.conf") {
            Ok(text) => match cli::nameserver(&text) {
                Ok(s) => s,
                Err(e) => {
                    eprintln!("multidns: /etc/resolv.conf: {e}");
                    return ExitCode::FAILURE;
                }
            },
            Err(e) => {
                eprintln!("multidns: /etc/resolv.conf: {e}; use --server IP:PORT");
                return ExitCode::FAILURE;
            }
        },
    };
    let names = match read_names(&opts.input) {
        Ok(n) => n,
        Err(e) => {
            eprintln!("multidns: {e}");
            return ExitCode::FAILURE;
        }
    };
    let res = match Resolver::new(server, opts.qtype) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("multidns: cannot open a UDP socket for {server}: {e}");
            return ExitCode::FAILURE;
        }
    };

    let names = Rc::new(names);
    let printer = Printer::new(names.clone(), res.clone());
    let finished: Rendezvous<(), Printer> = Rendezvous::new();
    let cfg = Config {
        window: opts.window,
        timeout: opts.timeout,
        retries: opts.retries,
        max_held: opts.max_held,
    };
    tame::run(|| multidns_win(res.clone(), names, cfg, printer, finished.event(())));
    let Some(((), printer)) = finished.try_join() else {
        eprintln!("multidns: the run ended without its result");
        return ExitCode::FAILURE;
    };
    printer.finish()
}

/// Reads the names, one per line; blank lines are skipped, surrounding space trimmed.
/// A line that is not UTF-8 is kept (lossily) and reported as `INVALID`.
fn read_names(input: &cli::Input) -> Result<Vec<String>, String> {
    let bytes = match input {
        cli::Input::Stdin => {
            let mut b = Vec::new();
            io::stdin()
                .lock()
                .read_to_end(&mut b)
                .map_err(|e| format!("stdin: {e}"))?;
            b
        }
        cli::Input::File(p) => fs::read(p).map_err(|e| format!("{}: {e}", p.display()))?,
    };
    Ok(bytes
        .split(|&b| b == b'\n')
        .map(|l| String::from_utf8_lossy(l).trim().to_string())
        .filter(|l| !l.is_empty())
        .collect())
}

/// The knobs of one run: the window, and each name's timeout and retries.
#[derive(Clone, Copy)]
struct Config {
    window: usize,
    /// Bytes of answers held for in-order output beyond which no new query starts.
    max_held: usize,
    timeout: Duration,
    retries: u32,
}

// ANCHOR: window
/// The paper's `multidns_win`, for real: at most `cfg.window` names in flight. Each answer is
/// handed to `out` as it arrives; `out` prints the answers in input order.
#[tamed]
fn multidns_win(
    res: Resolver,
    names: Rc<Vec<String>>,
    cfg: Config,
    mut out: Printer,
    done: Event<Printer>,
) {
    let r: Rendezvous<usize, Answer> = Rendezvous::new();
    let (mut sent, mut received) = (0, 0);
    while received < names.len() {
        // At most `window` in flight, and no new query while the answers waiting for an
        // earlier, slower name take more than `max_held` (memory stays bounded).
        if sent < names.len() && sent - received < cfg.window && out.held_bytes() < cfg.max_held {
            lookup_retrying(res.clone(), names[sent].clone(), cfg, mkevent!(r, sent));
            sent += 1;
        } else if let Some((i, answer)) = twait!(r) {
            out.answer(i, answer);
            received += 1;
        } else {
            break; // every lookup triggers its event, so this is never reached
        }
    }
    done.trigger(out);
}
// ANCHOR_END: window

// ANCHOR: retry
/// One name: up to `1 + cfg.retries` attempts, each a fresh query bounded by `cfg.timeout`.
#[tamed]
fn lookup_retrying(res: Resolver, name: String, cfg: Config, done: Event<Answer>) {
    for _attempt in 0..=cfg.retries {
        let mut got = Err(TimedOut);
        twait! { res.lookup(&name, tame::add_timeout(cfg.timeout, mkevent!(got))); }
        if let Ok(answer) = got {
            return done.trigger(answer);
        }
        // Timed out: add_timeout cancelled the query's event, so the resolver forgot it,
        // and a late reply to it will be ignored. Try again with a new id.
    }
    done.trigger(Err(DnsError::Timeout));
}
// ANCHOR_END: retry

/// How the names came out.
#[derive(Debug, Default, Clone, Copy)]
struct Tally {
    addresses: usize,
    nxdomain: usize,
    /// Any other reply: NODATA, SERVFAIL, REFUSED, TRUNCATED, another response code.
    other_reply: usize,
    timeouts: usize,
    /// INVALID and ERROR: no query went out, or it could not.
    not_sent: usize,
}

impl Tally {
    fn add(&mut self, a: &Answer) {
        match a {
            Ok(_) => self.addresses += 1,
            Err(DnsError::NxDomain) => self.nxdomain += 1,
            Err(DnsError::Timeout) => self.timeouts += 1,
            Err(DnsError::InvalidName | DnsError::Send(_) | DnsError::TooManyQueries) => {
                self.not_sent += 1
            }
            Err(_) => self.other_reply += 1,
        }
    }
    fn answered(&self) -> usize {
        self.addresses + self.nxdomain + self.other_reply
    }
}

/// What an answer held for printing takes: its addresses (the compact result, not the reply).
fn answer_bytes(a: &Answer) -> usize {
    std::mem::size_of::<Answer>()
        + a.as_ref().map_or(0, |v| {
            v.capacity() * std::mem::size_of::<std::net::IpAddr>()
        })
}

/// Prints answers in input order: an answer that comes early waits in `held` until every
/// name before it is printed. Also keeps the tally and draws the progress line.
struct Printer {
    names: Rc<Vec<String>>,
    held: Vec<Option<Answer>>,
    /// Heap and inline bytes of the answers in `held`.
    held_bytes: usize,
    /// The first name not printed yet.
    next: usize,
    out: BufWriter<io::Stdout>,
    /// The first write error; nothing more is written after it.
    error: Option<io::Error>,
    tally: Tally,
    res: Resolver,
    start: Instant,
    /// When the progress line was last drawn; `None` when stderr is not a terminal.
    progress: Option<Instant>,
    /// The first send error, reported once on stderr.
    send_error: Option<io::ErrorKind>,
}

impl Printer {
    fn new(names: Rc<Vec<String>>, res: Resolver) -> Printer {
        let start = Instant::now();
        Printer {
            held: vec![None; names.len()],
            held_bytes: 0,
            names,
            next: 0,
            out: BufWriter::with_capacity(64 * 1024, io::stdout()),
            error: None,
            tally: Tally::default(),
            res,
            start,
            progress: io::stderr().is_terminal().then(|| start - PROGRESS_EVERY),
            send_error: None,
        }
    }

    /// Takes the answer for name `i`, and prints every answer now next in line.
    fn answer(&mut self, i: usize, a: Answer) {
        self.tally.add(&a);
        if let Err(DnsError::Send(kind)) = a {
            self.send_error.get_or_insert(kind);
        }
        self.held_bytes += answer_bytes(&a);
        self.held[i] = Some(a);
        while let Some(a) = self.held.get_mut(self.next).and_then(Option::take) {
            self.held_bytes -= answer_bytes(&a);
            if self.error.is_none() {
                let r = write_line(&mut self.out, &self.names[self.next], &a);
                if let Err(e) = r {
                    self.error = Some(e);
                }
            }
            self.next += 1;
        }
        if let Some(last) = self.progress {
            let now = tame::now();
            if now.duration_since(last) >= PROGRESS_EVERY {
                self.progress = Some(now);
                self.draw_progress();
            }
        }
    }

    /// Bytes the answers waiting to be printed take.
    fn held_bytes(&self) -> usize {
        self.held_bytes
    }

    fn draw_progress(&self) {
        let t = &self.tally;
        let done = t.answered() + t.timeouts + t.not_sent;
        let secs = self.start.elapsed().as_secs_f64().max(1e-9);
        let _ = write!(
            io::stderr(),
            "\r{done}/{} names, {} in flight, {} timed out, {:.0} names/s\x1b[K",
            self.names.len(),
            self.res.in_flight(),
            t.timeouts,
            done as f64 / secs
        );
    }

    /// Flushes the output, prints the summary line, and says how the run ends.
    fn finish(mut self) -> ExitCode {
        let secs = self.start.elapsed().as_secs_f64();
        if self.error.is_none()
            && let Err(e) = self.out.flush()
        {
            self.error = Some(e);
        }
        let mut err = io::stderr().lock();
        if self.progress.is_some() {
            let _ = write!(err, "\r\x1b[K");
        }
        if let Some(kind) = self.send_error {
            let _ = writeln!(
                err,
                "multidns: sending to {}: {}",
                self.res.server(),
                io::Error::from(kind)
            );
        }
        let _ = writeln!(
            err,
            "{}",
            summary(&self.tally, self.names.len(), secs, &self.res.stats())
        );
        match self.error {
            None if self.next == self.names.len() => ExitCode::SUCCESS,
            None => {
                let _ = writeln!(
                    err,
                    "multidns: {} names got no answer",
                    self.names.len() - self.next
                );
                ExitCode::FAILURE
            }
            // A closed pipe (`multidns … | head`) is the reader's choice: no message.
            Some(e) if e.kind() == io::ErrorKind::BrokenPipe => ExitCode::FAILURE,
            Some(e) => {
                let _ = writeln!(err, "multidns: writing the answers: {e}");
                ExitCode::FAILURE
            }
        }
    }
}

/// `name<TAB>addr,addr,…` or `name<TAB>WORD`.
fn write_line(out: &mut impl Write, name: &str, a: &Answer) -> io::Result<()> {
    // A name with a tab, a NUL or another control character (INVALID anyway) is written
    // escaped (`a\tb`), so that every output line keeps its two tab-separated fields.
    if name.chars().any(char::is_control) {
        write!(out, "{}", name.escape_debug())?;
    } else {
        out.write_all(name.as_bytes())?;
    }
    out.write_all(b"\t")?;
    match a {
        Ok(addrs) => {
            for (k, ip) in addrs.iter().enumerate() {
                if k > 0 {
                    out.write_all(b",")?;
                }
                write!(out, "{ip}")?;
            }
        }
        Err(e) => write!(out, "{e}")?,
    }
    out.write_all(b"\n")
}

/// The summary line: counts, queries sent (retries included), time, rate, and the datagrams
/// ignored (if any).
fn summary(t: &Tally, names: usize, secs: f64, stats: &Stats) -> String {
    let mut s = format!(
        "multidns: {names} names, {} answered ({} with addresses, {} NXDOMAIN, {} other), \
         {} timed out, {} not sent, {} queries, {secs:.3} s, {:.0} names/s",
        t.answered(),
        t.addresses,
        t.nxdomain,
        t.other_reply,
        t.timeouts,
        t.not_sent,
        stats.sent,
        names as f64 / secs.max(1e-9),
    );
    if stats.ignored() > 0 {
        s += &format!(
            "; ignored {} datagrams ({} from another address, {} with an unknown id, \
             {} with another question, {} malformed)",
            stats.ignored(),
            stats.wrong_source,
            stats.unknown_id,
            stats.wrong_question,
            stats.malformed
        );
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::IpAddr;

    fn ip(s: &str) -> IpAddr {
        s.parse().expect("an IP address")
    }

    #[test]
    fn lines_and_summary_have_the_documented_form() {
        let mut out = Vec::new();
        write_line(&mut out, "a.example", &Ok(vec![ip("10.0.0.1"), ip("::1")])).unwrap();
        write_line(&mut out, "b.example", &Err(DnsError::NxDomain)).unwrap();
        write_line(&mut out, "c.example", &Err(DnsError::Timeout)).unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "a.example\t10.0.0.1,::1\nb.example\tNXDOMAIN\nc.example\tTIMEOUT\n"
        );
        let mut t = Tally::default();
        for a in [
            Ok(vec![ip("10.0.0.1")]),
            Err(DnsError::NxDomain),
            Err(DnsError::ServFail),
            Err(DnsError::Timeout),
            Err(DnsError::InvalidName),
        ] {
            t.add(&a);
        }
        let stats = Stats {
            sent: 6,
            ..Stats::default()
        };
        let s = summary(&t, 5, 0.5, &stats);
        assert_eq!(
            s,
            "multidns: 5 names, 3 answered (1 with addresses, 1 NXDOMAIN, 1 other), \
             1 timed out, 1 not sent, 6 queries, 0.500 s, 10 names/s"
        );
        let stats = Stats {
            unknown_id: 2,
            malformed: 1,
            ..Stats::default()
        };
        assert!(summary(&t, 5, 0.5, &stats).ends_with(
            "; ignored 3 datagrams (0 from another address, 2 with an unknown id, \
             0 with another question, 1 malformed)"
        ));
    }
}
