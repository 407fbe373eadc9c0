//! What the three baseline web servers of `benches/web.sh` share: the command line, HTTP
//! parsing (httparse) and response heads, and loading a file from under the root.
//!
//! Each server (`src/bin/{mio,tokio,thread}_server.rs`) includes this file with `#[path]` and
//! owns its own connection handling and its own cache of loaded files. They answer like knot
//! (same status lines, `Content-Type`, `Content-Length` and error bodies; `Server:` names the
//! baseline), so wrk sees the same bytes from every server.

#![allow(dead_code)] // each server uses a different part of it

use std::fs;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Longest request head accepted (431 beyond), as in knot.
pub const MAX_HEAD: usize = 16 * 1024;
/// Most headers accepted (431 beyond), as in knot.
pub const MAX_HEADERS: usize = 64;
/// Files up to this size are kept in memory after their first request; larger ones are read
/// from disk on each request (the benchmark serves 1 KiB and 14 KiB files).
pub const CACHE_MAX: u64 = 1 << 20;
/// A connection that sends nothing for this long is closed (knot's default).
pub const IDLE: Duration = Duration::from_secs(10);
/// Answers to pipelined requests are queued up to this many bytes before they are written.
pub const QUEUE_MAX: usize = 64 * 1024;

/// The command line every baseline takes.
pub struct Options {
    pub root: PathBuf,
    pub addr: SocketAddr,
}

/// Parses `--root DIR --addr IP:PORT` (and `--help`); exits on `--help` or an error.
pub fn options(name: &str, about: &str) -> Options {
    let usage = format!(
        "{name}: {about}\n\nUSAGE:\n    {name} --root DIR [--addr IP:PORT]\n\nOPTIONS:\n    \
         --root DIR        directory to serve (required)\n    \
         --addr IP:PORT    address to listen on [default: 127.0.0.1:8080]\n    \
         -h, --help        print this help\n"
    );
    let fail = |msg: String| -> ! {
        eprintln!("{name}: {msg} (see --help)");
        std::process::exit(2)
    };
    let mut root = None;
    let mut addr: SocketAddr = "127.0.0.1:8080".parse().expect("valid default address");
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let (flag, inline) = match flag.split_once('=') {
            Some((f, v)) if f.starts_with("--") => (f.to_string(), Some(v.to_string())),
            _ => (flag, None),
        };
        if flag == "-h" || flag == "--help" {
            print!("{usage}");
            std::process::exit(0);
        }
        let value = inline
            .or_else(|| args.next())
            .unwrap_or_else(|| fail(format!("{flag}: missing value")));
        match flag.as_str() {
            "--root" => root = Some(PathBuf::from(value)),
            "--addr" => {
                addr = value
                    .parse()
                    .unwrap_or_else(|_| fail(format!("--addr: expected IP:PORT, got {value:?}")))
            }
            other => fail(format!("unknown option {other:?}")),
        }
    }
    let root = root.unwrap_or_else(|| fail("--root is required".into()));
    let root = root
        .canonicalize()
        .unwrap_or_else(|e| fail(format!("--root {}: {e}", root.display())));
    Options { root, addr }
}

/// A file ready to be sent: the head lines that depend on it, and its contents.
pub struct File {
    /// `Content-Type: …\r\nContent-Length: …\r\n`, formatted once.
    pub head: Box<[u8]>,
    pub body: Box<[u8]>,
}

/// A loaded file, and whether it may be kept for later requests.
pub struct Loaded {
    pub file: File,
    pub cache: bool,
}

/// Reads the file `target` names under `root` (a directory serves its `index.html`);
/// `None` for anything that is not a regular file inside the root.
pub fn load(root: &Path, target: &str) -> Option<Loaded> {
    let path = target.split(['?', '#']).next().unwrap_or("");
    if !path.starts_with('/') {
        return None;
    }
    let decoded = String::from_utf8(percent_decode(path)?).ok()?;
    if decoded.contains(['\0', '\\']) || decoded.split('/').any(|s| s == "..") {
        return None;
    }
    let mut full = root
        .join(decoded.trim_start_matches('/'))
        .canonicalize()
        .ok()?;
    if full.is_dir() {
        full = full.join("index.html").canonicalize().ok()?;
    } else if path.ends_with('/') {
        return None; // `/file.txt/` names a directory that does not exist
    }
    if !full.starts_with(root) || !full.is_file() {
        return None; // a symlink led out of the root
    }
    let body = fs::read(&full).ok()?.into_boxed_slice();
    let head = format!(
        "Content-Type: {}\r\nContent-Length: {}\r\n",
        content_type(&full.to_string_lossy()),
        body.len()
    );
    Some(Loaded {
        cache: body.len() as u64 <= CACHE_MAX,
        file: File {
            head: head.into_bytes().into_boxed_slice(),
            body,
        },
    })
}

fn percent_decode(s: &str) -> Option<Vec<u8>> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            let hex = |c: u8| (c as char).to_digit(16);
            out.push((hex(*b.get(i + 1)?)? * 16 + hex(*b.get(i + 2)?)?) as u8);
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    Some(out)
}

/// Content-Type by file extension (the same table as knot's).
pub fn content_type(path: &str) -> &'static str {
    let ext = path.rsplit_once('.').map(|(_, e)| e).unwrap_or("");
    match ext.to_ascii_lowercase().as_str() {
        "html" | "htm" => "text/html; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "js" | "mjs" => "text/javascript; charset=utf-8",
        "json" => "application/json",
        "txt" | "md" => "text/plain; charset=utf-8",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "gif" => "image/gif",
        "ico" => "image/x-icon",
        "webp" => "image/webp",
        "woff" => "font/woff",
        "woff2" => "font/woff2",
        "wasm" => "application/wasm",
        "pdf" => "application/pdf",
        "xml" => "application/xml",
        _ => "application/octet-stream",
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Method {
    Get,
    Head,
    Other,
}

/// One parsed request head; `target` borrows from the input buffer.
pub struct Request<'a> {
    pub method: Method,
    pub target: &'a str,
    pub minor: u8,
    pub keep_alive: bool,
    /// Bytes of the input this head takes.
    pub len: usize,
}

pub enum Parsed<'a> {
    /// Need more bytes.
    Partial,
    Request(Request<'a>),
    /// Malformed or oversized: answer with this status and close.
    Error(u16),
}

/// Parses the request head at the start of `buf`.
pub fn parse(buf: &[u8]) -> Parsed<'_> {
    let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut req = httparse::Request::new(&mut headers);
    let len = match req.parse(buf) {
        Ok(httparse::Status::Complete(n)) if n <= MAX_HEAD => n,
        Ok(httparse::Status::Partial) if buf.len() <= MAX_HEAD => return Parsed::Partial,
        Ok(_) | Err(httparse::Error::TooManyHeaders) => return Parsed::Error(431),
        Err(_) => return Parsed::Error(400),
    };
    let (Some(method), Some(target), Some(minor)) = (req.method, req.path, req.version) else {
        return Parsed::Error(400);
    };
    let method = match method {
        "GET" => Method::Get,
        "HEAD" => Method::Head,
        _ => Method::Other,
    };
    let mut keep_alive = minor == 1;
    for h in req.headers.iter() {
        if h.name.eq_ignore_ascii_case("connection") {
            for token in h.value.split(|&b| b == b',') {
                let t = token.trim_ascii();
                if t.eq_ignore_ascii_case(b"close") {
                    keep_alive = false;
                } else if t.eq_ignore_ascii_case(b"keep-alive") {
                    keep_alive = true;
                }
            }
        } else if h.name.eq_ignore_ascii_case("content-length") {
            match std::str::from_utf8(h.value).map(|v| v.trim().parse::<u64>()) {
                Ok(Ok(0)) => {}
                Ok(Ok(_)) => keep_alive = false, // a body is not read: answer, then close
                _ => return Parsed::Error(400),
            }
        } else if h.name.eq_ignore_ascii_case("transfer-encoding") {
            return Parsed::Error(400);
        }
    }
    Parsed::Request(Request {
        method,
        target,
        minor,
        keep_alive,
        len,
    })
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        400 => "Bad Request",
        404 => "Not Found",
        405 => "Method Not Allowed",
        431 => "Request Header Fields Too Large",
        _ => "Internal Server Error",
    }
}

/// Appends a response head: status line, `Server`, the file's own lines, `Connection` when
/// it differs from the version's default, the blank line.
pub fn head(
    out: &mut Vec<u8>,
    server: &str,
    status: u16,
    minor: u8,
    keep_alive: bool,
    lines: &[u8],
) {
    out.extend_from_slice(if minor == 0 {
        b"HTTP/1.0 "
    } else {
        b"HTTP/1.1 "
    });
    let mut code = [0u8; 3];
    code[0] = b'0' + (status / 100) as u8;
    code[1] = b'0' + (status / 10 % 10) as u8;
    code[2] = b'0' + (status % 10) as u8;
    out.extend_from_slice(&code);
    out.push(b' ');
    out.extend_from_slice(reason(status).as_bytes());
    out.extend_from_slice(b"\r\nServer: ");
    out.extend_from_slice(server.as_bytes());
    out.extend_from_slice(b"\r\n");
    out.extend_from_slice(lines);
    if status == 405 {
        out.extend_from_slice(b"Allow: GET, HEAD\r\n");
    }
    match (keep_alive, minor) {
        (true, 0) => out.extend_from_slice(b"Connection: keep-alive\r\n"),
        (false, 1) => out.extend_from_slice(b"Connection: close\r\n"),
        _ => {}
    }
    out.extend_from_slice(b"\r\n");
}

/// Appends a complete error answer (knot's small HTML body; none for HEAD).
pub fn error(
    out: &mut Vec<u8>,
    server: &str,
    status: u16,
    minor: u8,
    keep_alive: bool,
    head_only: bool,
) {
    let body = format!(
        "<!doctype html><title>{0} {1}</title><h1>{0} {1}</h1>\n",
        status,
        reason(status)
    );
    let lines = format!(
        "Content-Type: text/html; charset=utf-8\r\nContent-Length: {}\r\n",
        body.len()
    );
    head(out, server, status, minor, keep_alive, lines.as_bytes());
    if !head_only {
        out.extend_from_slice(body.as_bytes());
    }
}

/// Appends the answer to `req` to `out`, except the body of a found file: returns whether the
/// caller must send `file.body` next.
pub fn respond(out: &mut Vec<u8>, server: &str, req: &Request<'_>, file: Option<&File>) -> bool {
    let head_only = req.method == Method::Head;
    match (req.method, file) {
        (Method::Other, _) => {
            error(out, server, 405, req.minor, req.keep_alive, false);
            false
        }
        (_, None) => {
            error(out, server, 404, req.minor, req.keep_alive, head_only);
            false
        }
        (_, Some(f)) => {
            head(out, server, 200, req.minor, req.keep_alive, &f.head);
            !head_only
        }
    }
}

/// A blocking-style connection's buffers (the thread and tokio servers): bytes read and not
/// yet parsed (`input[start..end]`), and answers not yet written (`out`).
pub struct Conn {
    input: Vec<u8>,
    start: usize,
    end: usize,
    pub out: Vec<u8>,
}

/// What to do after [`Conn::answer`].
pub struct Answered {
    /// The connection closes once `out` is written (an error, or no keep-alive).
    pub close: bool,
    /// `out` is full and more complete requests wait: write, then answer again before reading.
    pub queue_full: bool,
}

impl Conn {
    /// Empty buffers; `read_buf` is the read buffer's first size (it grows only for heads that
    /// do not fit).
    pub fn new(read_buf: usize) -> Conn {
        Conn {
            input: vec![0u8; read_buf],
            start: 0,
            end: 0,
            out: Vec::new(),
        }
    }

    /// Answers every complete request already read, appending to `out`; `get` looks a
    /// request target up in the server's file cache.
    pub fn answer(
        &mut self,
        server: &str,
        mut get: impl FnMut(&str) -> Option<std::sync::Arc<File>>,
    ) -> Answered {
        let mut done = Answered {
            close: false,
            queue_full: false,
        };
        while self.start < self.end {
            if self.out.len() >= QUEUE_MAX {
                done.queue_full = true;
                break;
            }
            match parse(&self.input[self.start..self.end]) {
                Parsed::Partial => break,
                Parsed::Error(status) => {
                    error(&mut self.out, server, status, 1, false, false);
                    done.close = true;
                    break;
                }
                Parsed::Request(req) => {
                    let file = match req.method {
                        Method::Other => None,
                        _ => get(req.target),
                    };
                    if respond(&mut self.out, server, &req, file.as_deref()) {
                        let body = &file.expect("a body means a file").body;
                        self.out.extend_from_slice(body);
                    }
                    self.start += req.len;
                    if !req.keep_alive {
                        done.close = true;
                        break;
                    }
                }
            }
        }
        done
    }

    /// Room to read into after the unparsed bytes (compacting or growing the buffer first).
    pub fn room(&mut self) -> &mut [u8] {
        if self.start == self.end {
            (self.start, self.end) = (0, 0);
        } else if self.end == self.input.len() {
            if self.start > 0 {
                self.input.copy_within(self.start..self.end, 0);
                (self.start, self.end) = (0, self.end - self.start);
            } else if self.input.len() < 2 * MAX_HEAD {
                self.input.resize(2 * self.input.len(), 0);
            }
        }
        &mut self.input[self.end..]
    }

    /// `n` bytes were read into [`room`](Conn::room).
    pub fn filled(&mut self, n: usize) {
        self.end += n;
    }
}
