//! multidns: the paper's windowed parallel resolver, as a real DNS client.
//!
//! Run: `cargo run --release --example multidns -- --server 127.0.0.1:53 names.txt`.
//! `--help` lists the options. The book chapter "multidns"
//! walks through it (the parts between the ANCHOR lines below).
//!
//! The shape: a [`tame::dns::Resolver`] owns the UDP socket and the table of queries in
//! flight, and resolves each name with its timeout and retries
//! ([`Resolver::resolve`](tame::dns::Resolver::resolve)); [`multidns_win`] keeps at most
//! `--window` names in flight, and prints the answers in input order as they come.

mod cli;

use std::collections::VecDeque;
use std::fs;
use std::io::{self, BufWriter, IsTerminal, Read, Write};
use std::os::fd::AsFd;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use tame::dns::{Answer, DnsError, QueryType, Resolver, Stats};
use tame::{Event, Rendezvous, tamed};

/// How often the progress line is redrawn.
const PROGRESS_EVERY: Duration = Duration::from_millis(100);

fn main() -> ExitCode {
    let opts = match cli::parse(std::env::args().skip(1)) {
        Ok(cli::Cli::Run(o)) => o,
        Ok(cli::Cli::Help) => {
            print!("{}", cli::USAGE);
            return ExitCode::SUCCESS;
        }
        Ok(cli::Cli::Version) => {
            println!("multidns {}", env!("CARGO_PKG_VERSION"));
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
    let names = match Names::open(&opts.input) {
        Ok(n) => n,
        Err(e) => {
            eprintln!("multidns: {e}");
            return ExitCode::FAILURE;
        }
    };
    let mut config = tame::dns::Config::default();
    config.nameservers = vec![server];
    config.timeout = opts.timeout;
    config.attempts = opts.retries + 1;
    config.window = opts.window;
    let res = match Resolver::new(config) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("multidns: cannot open a UDP socket for {server}: {e}");
            return ExitCode::FAILURE;
        }
    };
    if res.room() < opts.window {
        eprintln!(
            "multidns: the socket's receive buffer holds about {} replies: at most {} queries \
             go out at once, the rest of the window waits its turn (raise net.core.rmem_max \
             for more)",
            res.room(),
            res.room()
        );
    }

    let printer = Printer::new(res.clone());
    let finished: Rendezvous<(), Printer> = Rendezvous::new();
    let cfg = Config {
        window: opts.window,
        qtype: opts.qtype,
        max_held: opts.max_held,
    };
    tame::run(|| multidns_win(res.clone(), names, cfg, printer, finished.event(())));
    let Some(((), printer)) = finished.try_join() else {
        eprintln!("multidns: the run ended without its result");
        return ExitCode::FAILURE;
    };
    printer.finish()
}

/// Bytes read from the input at a time.
const CHUNK: usize = 64 * 1024;
/// Longest line kept whole; a longer one (INVALID anyway: a name has at most 253
/// characters) is cut here.
const MAX_LINE: usize = 4096;

/// The names, read as they come: one per line, blank lines skipped, surrounding space
/// trimmed. A line that is not UTF-8 is kept (lossily) and reported as `INVALID`.
///
/// A file is read a chunk at a time. Stdin is read without blocking: a pipe or a terminal
/// hands over names as they are written, and each is resolved at once, while the rest of the
/// input is still to come.
struct Names {
    source: Source,
    /// Bytes read past the last complete line.
    partial: Vec<u8>,
    /// The read buffer, kept from one chunk to the next.
    chunk: Vec<u8>,
    /// Names read and not taken yet.
    ready: VecDeque<String>,
    eof: bool,
}

enum Source {
    File(fs::File),
    /// Names given as arguments, one per line.
    Args(io::Cursor<Vec<u8>>),
    /// A duplicate of stdin, non-blocking while multidns runs (blocking again when dropped:
    /// the flag belongs to the terminal or pipe the shell shares).
    Stdin(mio::unix::pipe::Receiver),
}

/// What [`Names::fill`] found.
#[derive(Debug, PartialEq)]
enum Fill {
    /// Bytes were read (maybe no complete line yet), or the input ended.
    Read,
    /// Nothing to read now: wait for [`Names::readable`].
    Wait,
}

impl Names {
    fn open(input: &cli::Input) -> Result<Names, String> {
        let source = match input {
            cli::Input::File(p) => {
                Source::File(fs::File::open(p).map_err(|e| format!("{}: {e}", p.display()))?)
            }
            cli::Input::Names(names) => {
                let mut lines = Vec::new();
                for n in names {
                    lines.extend_from_slice(n.as_bytes());
                    lines.push(b'\n');
                }
                Source::Args(io::Cursor::new(lines))
            }
            cli::Input::Stdin => {
                let fd = io::stdin()
                    .as_fd()
                    .try_clone_to_owned()
                    .map_err(|e| format!("stdin: {e}"))?;
                let pipe = mio::unix::pipe::Receiver::from(fd);
                pipe.set_nonblocking(true)
                    .map_err(|e| format!("stdin: {e}"))?;
                Source::Stdin(pipe)
            }
        };
        Ok(Names {
            source,
            partial: Vec::new(),
            chunk: vec![0u8; CHUNK],
            ready: VecDeque::new(),
            eof: false,
        })
    }

    /// The next name, if one has been read.
    fn take(&mut self) -> Option<String> {
        self.ready.pop_front()
    }

    /// Whether every name has been read and taken.
    fn done(&self) -> bool {
        self.eof && self.ready.is_empty()
    }

    /// Reads one chunk of input (nothing if names are waiting or the input ended).
    fn fill(&mut self) -> Result<Fill, String> {
        if !self.ready.is_empty() || self.eof {
            return Ok(Fill::Read);
        }
        let mut chunk = std::mem::take(&mut self.chunk);
        let read = match &mut self.source {
            Source::File(f) => f.read(&mut chunk),
            Source::Args(a) => a.read(&mut chunk),
            Source::Stdin(p) => p.read(&mut chunk),
        };
        let n = self.split(&chunk, read);
        self.chunk = chunk;
        n
    }

    /// Files the lines of what `read` put in `chunk`.
    fn split(&mut self, chunk: &[u8], read: io::Result<usize>) -> Result<Fill, String> {
        let n = match read {
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(Fill::Wait),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => return Ok(Fill::Read),
            Err(e) => return Err(format!("reading the names: {e}")),
        };
        if n == 0 {
            self.eof = true;
            let last = std::mem::take(&mut self.partial);
            self.push_line(&last);
            if let Source::Stdin(p) = &self.source {
                tame::deregister(p);
            }
            return Ok(Fill::Read);
        }
        let mut rest = &chunk[..n];
        while let Some(end) = rest.iter().position(|&b| b == b'\n') {
            if self.partial.is_empty() {
                self.push_line(&rest[..end]);
            } else {
                self.keep(&rest[..end]);
                let line = std::mem::take(&mut self.partial);
                self.push_line(&line);
            }
            rest = &rest[end + 1..];
        }
        self.keep(rest);
        Ok(Fill::Read)
    }

    /// Keeps the start of an unfinished line, up to [`MAX_LINE`] bytes.
    fn keep(&mut self, bytes: &[u8]) {
        let room = MAX_LINE.saturating_sub(self.partial.len());
        self.partial
            .extend_from_slice(&bytes[..bytes.len().min(room)]);
    }

    fn push_line(&mut self, line: &[u8]) {
        let line = &line[..line.len().min(MAX_LINE)];
        let name = String::from_utf8_lossy(line).trim().to_string();
        if !name.is_empty() {
            self.ready.push_back(name);
        }
    }

    /// Triggers `e` when more input may be read.
    fn readable(&self, e: Event<()>) {
        match &self.source {
            Source::Stdin(p) => tame::readable(p, e),
            Source::File(_) | Source::Args(_) => e.trigger(()),
        }
    }
}

impl Drop for Names {
    fn drop(&mut self) {
        if let Source::Stdin(p) = &self.source {
            if !self.eof {
                tame::deregister(p);
            }
            let _ = p.set_nonblocking(false);
        }
    }
}

/// The knobs of one run: the window, and the record type asked for (each name's timeout
/// and retries are the resolver's).
#[derive(Clone, Copy)]
struct Config {
    window: usize,
    qtype: QueryType,
    /// Bytes of answers held for in-order output beyond which no new query starts.
    max_held: usize,
}

// ANCHOR: window
/// The paper's `multidns_win`, for real: at most `cfg.window` names in flight. Each answer is
/// handed to `out` as it arrives; `out` prints the answers in input order.
#[tamed]
fn multidns_win(
    res: Resolver,
    mut names: Names,
    cfg: Config,
    mut out: Printer,
    done: Event<Printer>,
) {
    let r: Rendezvous<usize, Answer> = Rendezvous::new();
    let (mut sent, mut received) = (0, 0);
    loop {
        // At most `window` in flight, and no new query while the answers waiting for an
        // earlier, slower name take more than `max_held` (memory stays bounded).
        let room = sent - received < cfg.window && out.held_bytes() < cfg.max_held;
        let more = if room { names.fill() } else { Ok(Fill::Read) };
        if let Err(e) = &more {
            out.input_error(e);
            names.eof = true;
        }
        out.more_to_come = !names.done();
        if room && let Some(name) = names.take() {
            resolve(&res, &name, cfg.qtype, mkevent!(r, sent));
            out.asked(name);
            sent += 1;
        } else if received < sent {
            // Input that comes meanwhile is read after this answer: a name behind those in
            // flight cannot be printed before them anyway.
            let Some((i, answer)) = twait!(r) else {
                break; // every lookup triggers its event, so this is never reached
            };
            out.answer(i, answer);
            received += 1;
        } else if names.done() {
            break;
        } else if more == Ok(Fill::Wait) {
            // Nothing in flight, and no whole line yet: show what is answered, and wait for
            // the input (a name typed at a terminal, or trickling through a pipe).
            out.flush();
            twait! { names.readable(mkevent!()); }
        }
    }
    done.trigger(out);
}
// ANCHOR_END: window

// ANCHOR: resolve
/// Resolves one name: a name in another script is asked in its ASCII form (UTS 46 mapping,
/// then punycode: `bücher.example` as `xn--bcher-kva.example`, as browsers do), since
/// `tame::dns` takes ASCII names only.
fn resolve(res: &Resolver, name: &str, qtype: QueryType, done: Event<Answer>) {
    if name.is_ascii() {
        return res.resolve(name, qtype, done);
    }
    match idna::domain_to_ascii(name) {
        Ok(ascii) => res.resolve(&ascii, qtype, done),
        Err(_) => done.trigger(Err(DnsError::InvalidName)),
    }
}
// ANCHOR_END: resolve

/// How the names came out.
#[derive(Debug, Default, Clone, Copy)]
struct Tally {
    addresses: usize,
    nxdomain: usize,
    /// Any other reply: NODATA, SERVFAIL, REFUSED, TRUNCATED, another response code.
    other_reply: usize,
    timeouts: usize,
    /// INVALID, ERROR and UNREACHABLE: no query went out, or none could reach the server.
    not_sent: usize,
}

impl Tally {
    fn add(&mut self, a: &Answer) {
        match a {
            Ok(_) => self.addresses += 1,
            Err(DnsError::NxDomain) => self.nxdomain += 1,
            Err(DnsError::Timeout) => self.timeouts += 1,
            Err(
                DnsError::InvalidName
                | DnsError::Send(_)
                | DnsError::TooManyQueries
                | DnsError::Unreachable(_),
            ) => self.not_sent += 1,
            Err(_) => self.other_reply += 1,
        }
    }
    fn answered(&self) -> usize {
        self.addresses + self.nxdomain + self.other_reply
    }
}

/// What a name held for printing takes: its text, and its answer once it has one (the
/// compact result, not the reply).
fn held_size(name: &str, a: Option<&Answer>) -> usize {
    std::mem::size_of::<(String, Option<Answer>)>()
        + name.len()
        + a.and_then(|a| a.as_ref().ok()).map_or(0, |v| {
            v.capacity() * std::mem::size_of::<std::net::IpAddr>()
        })
}

/// Prints answers in input order: an answer that comes early waits in `held` until every
/// name before it is printed. Also keeps the tally and draws the progress line.
struct Printer {
    /// The names asked and not printed yet, from name number `next` on, each with its
    /// answer once it came.
    held: VecDeque<(String, Option<Answer>)>,
    /// Bytes the entries of `held` take (see [`held_size`]).
    held_bytes: usize,
    /// The first name not printed yet.
    next: usize,
    /// Names asked so far.
    asked: usize,
    /// Whether more names may come (the progress line says `+`).
    more_to_come: bool,
    out: BufWriter<io::Stdout>,
    /// The first write error; nothing more is written after it.
    error: Option<io::Error>,
    /// The first error reading the input.
    input_error: Option<String>,
    tally: Tally,
    res: Resolver,
    start: Instant,
    /// When the progress line was last drawn; `None` when stderr is not a terminal.
    progress: Option<Instant>,
    /// The first send error, reported once on stderr.
    send_error: Option<io::ErrorKind>,
    /// Why the server could not be reached, reported once on stderr.
    unreachable: Option<io::ErrorKind>,
}

impl Printer {
    fn new(res: Resolver) -> Printer {
        let start = Instant::now();
        Printer {
            held: VecDeque::new(),
            held_bytes: 0,
            next: 0,
            asked: 0,
            more_to_come: true,
            out: BufWriter::with_capacity(64 * 1024, io::stdout()),
            error: None,
            input_error: None,
            tally: Tally::default(),
            res,
            start,
            progress: io::stderr().is_terminal().then(|| start - PROGRESS_EVERY),
            send_error: None,
            unreachable: None,
        }
    }

    /// Name number `self.asked` was asked: its line comes in its turn.
    fn asked(&mut self, name: String) {
        self.held_bytes += held_size(&name, None);
        self.held.push_back((name, None));
        self.asked += 1;
    }

    /// The input could not be read to its end: said once, after the summary.
    fn input_error(&mut self, e: &str) {
        self.input_error.get_or_insert_with(|| e.to_string());
    }

    /// Takes the answer for name `i`, and prints every answer now next in line.
    fn answer(&mut self, i: usize, a: Answer) {
        self.tally.add(&a);
        match a {
            Err(DnsError::Send(kind)) => {
                self.send_error.get_or_insert(kind);
            }
            Err(DnsError::Unreachable(kind)) => {
                self.unreachable.get_or_insert(kind);
            }
            _ => {}
        }
        let Some((name, slot)) = self.held.get_mut(i - self.next) else {
            return;
        };
        self.held_bytes += held_size(name, Some(&a)) - held_size(name, None);
        *slot = Some(a);
        while self.held.front().is_some_and(|(_, a)| a.is_some()) {
            let Some((name, Some(a))) = self.held.pop_front() else {
                break;
            };
            self.held_bytes -= held_size(&name, Some(&a));
            if self.error.is_none() {
                let r = write_line(&mut self.out, &name, &a);
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

    /// Writes out the lines printed so far (they are buffered in 64 KiB blocks).
    fn flush(&mut self) {
        if self.error.is_none()
            && let Err(e) = self.out.flush()
        {
            self.error = Some(e);
        }
    }

    /// Bytes the names and answers waiting to be printed take.
    fn held_bytes(&self) -> usize {
        self.held_bytes
    }

    fn draw_progress(&self) {
        let t = &self.tally;
        let done = t.answered() + t.timeouts + t.not_sent;
        let secs = self.start.elapsed().as_secs_f64().max(1e-9);
        let _ = write!(
            io::stderr(),
            "\r{done}/{}{} names, {} in flight, {} timed out, {:.0} names/s\x1b[K",
            self.asked,
            if self.more_to_come { "+" } else { "" },
            self.res.in_flight(),
            t.timeouts,
            done as f64 / secs
        );
    }

    /// Flushes the output, prints the summary line, and says how the run ends.
    fn finish(mut self) -> ExitCode {
        let secs = self.start.elapsed().as_secs_f64();
        self.flush();
        let mut err = io::stderr().lock();
        if self.progress.is_some() {
            let _ = write!(err, "\r\x1b[K");
        }
        if let Some(kind) = self.send_error {
            let _ = writeln!(
                err,
                "multidns: sending to {}: {}",
                self.res.nameservers()[0],
                io::Error::from(kind)
            );
        }
        if let Some(kind) = self.unreachable {
            let _ = writeln!(
                err,
                "multidns: {} is unreachable: {} (an ICMP error came back)",
                self.res.nameservers()[0],
                io::Error::from(kind)
            );
        }
        let _ = writeln!(
            err,
            "{}",
            summary(&self.tally, self.asked, secs, &self.res.stats())
        );
        if let Some(e) = &self.input_error {
            let _ = writeln!(err, "multidns: {e}");
            return ExitCode::FAILURE;
        }
        match self.error {
            None if self.next == self.asked => ExitCode::SUCCESS,
            None => {
                let left = (self.asked - self.next) as u64;
                let _ = writeln!(
                    err,
                    "multidns: {} no answer",
                    count(left, "name got", "names got")
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
        Err(e) => out.write_all(word(e).as_bytes())?,
    }
    out.write_all(b"\n")
}

/// The word printed for a name without addresses.
fn word(e: &DnsError) -> String {
    match e {
        DnsError::NxDomain => "NXDOMAIN".into(),
        DnsError::NoData => "NODATA".into(),
        DnsError::ServFail => "SERVFAIL".into(),
        DnsError::Refused => "REFUSED".into(),
        DnsError::Rcode(n) => tame::dns::rcode_name(*n),
        DnsError::Truncated => "TRUNCATED".into(),
        DnsError::Unreachable(_) => "UNREACHABLE".into(),
        DnsError::Timeout => "TIMEOUT".into(),
        DnsError::InvalidName => "INVALID".into(),
        _ => "ERROR".into(),
    }
}

/// `n` and the word for one or for many.
fn count(n: u64, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// The summary line: counts, queries sent (retries included), time, rate, and the datagrams
/// ignored (if any).
fn summary(t: &Tally, names: usize, secs: f64, stats: &Stats) -> String {
    let mut s = format!(
        "multidns: {}, {} answered ({} with addresses, {} NXDOMAIN, {} other), \
         {} timed out, {} not sent, {}, {secs:.3} s, {:.0} names/s",
        count(names as u64, "name", "names"),
        t.answered(),
        t.addresses,
        t.nxdomain,
        t.other_reply,
        t.timeouts,
        t.not_sent,
        count(stats.sent, "query", "queries"),
        names as f64 / secs.max(1e-9),
    );
    if stats.over_tcp > 0 {
        s += &format!(
            "; {} asked again over TCP",
            count(stats.over_tcp, "truncated reply", "truncated replies")
        );
    }
    if stats.late > 0 {
        s += &format!(
            "; {} late, to an earlier attempt",
            count(stats.late, "reply came", "replies came")
        );
    }
    if stats.ignored() > 0 {
        s += &format!(
            "; ignored {} ({} with an unknown id, {} with another question, {} malformed)",
            count(stats.ignored(), "datagram", "datagrams"),
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
            "; ignored 3 datagrams (2 with an unknown id, 0 with another question, 1 malformed)"
        ));
    }
}
