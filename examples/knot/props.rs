//! What knot's request-head parsing promises for any bytes a client sends, as checks that
//! panic with the promise broken. The fuzz target (`fuzz/fuzz_targets/knot_head.rs`) runs
//! them on libFuzzer's inputs, and a test in `http.rs` on generated and mutated requests.
//!
//! For the bytes at the start of a connection's buffer:
//! - parsing never panics, and parsing the same bytes again gives the same result;
//! - a complete head takes at most the bytes given and at most [`http::MAX_HEAD`], and the
//!   head alone parses to the same request;
//! - bytes arriving in pieces are answered as if they had arrived at once: before a complete
//!   head every prefix is `Partial`; an error seen on a prefix is still an error with more
//!   bytes; a head complete in a prefix is the head;
//! - what waits for more bytes is bounded: a `Partial` is at most `MAX_HEAD` bytes, with a
//!   request line of at most [`http::MAX_REQUEST_LINE`];
//! - an error is a 400, 414 or 431;
//! - an accepted request keeps the protocol rules knot states (one `Host` in HTTP/1.1, no
//!   `Transfer-Encoding`, one `Content-Length`, `close` wins, a body closes the connection);
//! - its target has no control byte or space (it goes into `Location` and the log);
//! - the path it names stays inside the root: only plain segments, no `..`, no NUL or
//!   backslash, and naming it again gives the same path;
//! - a byte range resolves, for any file length, to a non-empty span inside the file or to
//!   416, and to the span RFC 9110 §14.1.2 defines;
//! - an `If-Modified-Since` date read is one an IMF-fixdate can say (year 1970 to 9999), and
//!   written back it reads the same.

use std::path::{Component, Path};

use crate::files;
use crate::http::{self, ByteRange, Parse, Request, Status};

/// Checks every promise for the bytes `buf` at the start of a connection's buffer.
pub fn check_head(buf: &[u8]) {
    let parsed = http::parse(buf);
    assert_eq!(http::parse(buf), parsed, "the same bytes parse the same");
    assert_eq!(
        http::complete(buf),
        !buf.is_empty() && parsed != Parse::Partial,
        "complete() says whether parse() can answer now"
    );
    match &parsed {
        Parse::Partial => {
            assert!(
                buf.len() <= http::MAX_HEAD,
                "a partial head of {} bytes is held (more than MAX_HEAD)",
                buf.len()
            );
            let line = buf.iter().position(|&b| b == b'\n').unwrap_or(buf.len());
            assert!(
                line <= http::MAX_REQUEST_LINE,
                "a partial head with a request line of {line} bytes is held"
            );
        }
        Parse::Error(s) => assert!(
            matches!(
                s,
                Status::BadRequest | Status::UriTooLong | Status::HeadersTooLarge
            ),
            "a parse error answers {s:?}"
        ),
        Parse::Done(req) => check_request(buf, req),
    }
    check_pieces(buf, &parsed);
}

/// Bytes arriving in pieces: `buf` cut at a few places, each prefix parsed as if it were
/// all that had arrived so far.
fn check_pieces(buf: &[u8], whole: &Parse) {
    let n = buf.len();
    let mut cuts: Vec<usize> = (0..8).map(|i| n * i / 8).collect();
    cuts.extend([1, n.saturating_sub(1)]);
    let lines = buf.iter().enumerate().filter(|&(_, &b)| b == b'\n');
    cuts.extend(lines.take(8).flat_map(|(i, _)| [i, i + 1]));
    if let Parse::Done(req) = whole {
        cuts.extend([req.len - 1, req.len]);
    }
    for k in cuts.into_iter().filter(|&k| k < n) {
        let part = http::parse(&buf[..k]);
        match (&part, whole) {
            (_, Parse::Done(req)) if k < req.len => assert_eq!(
                part,
                Parse::Partial,
                "{k} bytes of a {}-byte head are not yet a head",
                req.len
            ),
            (_, Parse::Done(_)) => assert_eq!(&part, whole, "the head, then {k} - len bytes"),
            (Parse::Error(_), _) => assert!(
                matches!(whole, Parse::Error(_)),
                "an error on the first {k} bytes ({part:?}) became {whole:?} with more"
            ),
            (Parse::Done(_), _) => assert_eq!(&part, whole, "a head complete in {k} bytes"),
            (Parse::Partial, _) => {}
        }
    }
}

/// Checks an accepted request against the bytes it came from.
fn check_request(buf: &[u8], req: &Request) {
    assert!(
        0 < req.len && req.len <= buf.len() && req.len <= http::MAX_HEAD,
        "a head of {} bytes from {} bytes",
        req.len,
        buf.len()
    );
    let head = &buf[..req.len];
    assert!(head.ends_with(b"\n"), "a head ends with its empty line");
    assert_eq!(
        http::parse(head),
        Parse::Done(req.clone()),
        "the head alone says the same"
    );
    assert!(req.minor <= 1, "HTTP/1.{}", req.minor);

    // The protocol rules, against httparse's own reading of the head.
    let mut headers = [httparse::EMPTY_HEADER; http::MAX_HEADERS];
    let mut raw = httparse::Request::new(&mut headers);
    assert!(matches!(raw.parse(head), Ok(httparse::Status::Complete(_))));
    let hs = &*raw.headers;
    if req.minor == 1 {
        assert_eq!(
            named(hs, "host").count(),
            1,
            "HTTP/1.1 has exactly one Host"
        );
    }
    assert_eq!(
        named(hs, "transfer-encoding").count(),
        0,
        "no Transfer-Encoding"
    );
    let lengths: Vec<&[u8]> = named(hs, "content-length")
        .flat_map(|h| h.value.split(|&b| b == b','))
        .map(<[u8]>::trim_ascii)
        .collect();
    // One length, however often said (`037` is `37`).
    let value = |l: &[u8]| {
        l.iter()
            .skip_while(|&&c| c == b'0')
            .copied()
            .collect::<Vec<u8>>()
    };
    for l in &lengths {
        assert!(
            !l.is_empty() && l.iter().all(u8::is_ascii_digit),
            "a Content-Length of {:?}",
            l.escape_ascii().to_string()
        );
        assert_eq!(value(l), value(lengths[0]), "Content-Length values differ");
    }
    if lengths.first().is_some_and(|l| !value(l).is_empty()) {
        assert!(!req.keep_alive, "a request with a body closes");
    }
    let tokens = || {
        named(hs, "connection")
            .flat_map(|h| h.value.split(|&b| b == b','))
            .map(<[u8]>::trim_ascii)
    };
    if tokens().any(|t| t.eq_ignore_ascii_case(b"close")) {
        assert!(!req.keep_alive, "close wins");
    }
    if req.minor == 0 && !tokens().any(|t| t.eq_ignore_ascii_case(b"keep-alive")) {
        assert!(!req.keep_alive, "HTTP/1.0 closes unless asked");
    }

    // The target goes into a `Location` header and the log: no CR, LF or other control.
    assert!(
        !req.target.bytes().any(|b| b <= b' ' || b == 0x7f),
        "a target with a control byte or space: {:?}",
        req.target
    );
    if let Some(path) = raw.path {
        check_path(path);
    }
    check_path(&req.target);

    if let Some(r) = req.range {
        check_range(r);
    }
    if let Some(t) = req.if_modified_since {
        check_date(t);
    }
    // The conditions are read without trouble against any file.
    if let Some(v) = http::Validators::new(7, Some(std::time::UNIX_EPOCH)) {
        let _ = v.not_modified(req);
    }
}

/// The headers called `name`.
fn named<'a>(
    hs: &'a [httparse::Header<'a>],
    name: &'a str,
) -> impl Iterator<Item = &'a httparse::Header<'a>> {
    hs.iter().filter(move |h| h.name.eq_ignore_ascii_case(name))
}

/// The path a target names stays inside the root.
pub fn check_path(target: &str) {
    files::check_plain_key(target);
    let Some(rel) = files::relative(target) else {
        return; // refused: 404
    };
    for c in rel.components() {
        let Component::Normal(seg) = c else {
            panic!("{target:?} names {rel:?}, with a {c:?} component");
        };
        let seg = seg.to_string_lossy();
        assert!(
            !seg.contains(['\0', '\\', '/']),
            "{target:?} names the segment {seg:?}"
        );
    }
    let root = Path::new("/srv/root");
    assert!(
        root.join(&rel).starts_with(root),
        "{target:?} leaves the root"
    );
    // The path it names, named again, is the same path.
    let again = format!("/{}", rel.to_string_lossy());
    if !again.contains(['%', '?', '#']) {
        assert_eq!(
            files::relative(&again).as_ref(),
            Some(&rel),
            "{target:?} names {again:?}, which names another path"
        );
    }
}

/// A range resolves, for files of several lengths, as RFC 9110 §14.1.2 says.
pub fn check_range(r: ByteRange) {
    let (a, b) = match r {
        ByteRange::From(f, l) => {
            if let Some(l) = l {
                assert!(f <= l, "{r:?}: first after last");
            }
            (f, l.unwrap_or(f))
        }
        ByteRange::Last(n) => (n, n),
    };
    for len in [
        0,
        1,
        2,
        1000,
        a,
        a.saturating_add(1),
        b,
        b.saturating_add(1),
        u64::MAX,
    ] {
        let got = r.resolve(len);
        // The span RFC 9110 §14.1.2 defines, in u128 so that nothing overflows.
        let (len128, want) = (
            len as u128,
            match r {
                ByteRange::From(f, _) if f >= len => None,
                ByteRange::From(f, l) => Some((
                    f as u128,
                    l.map_or(len as u128, |l| (l as u128 + 1).min(len as u128)),
                )),
                ByteRange::Last(n) if n == 0 || len == 0 => None,
                ByteRange::Last(n) => Some(((len - n.min(len)) as u128, len as u128)),
            },
        );
        let got128 = got.map(|(s, e)| (s as u128, e as u128));
        assert_eq!(got128, want, "{r:?} of a {len}-byte file");
        if let Some((s, e)) = got128 {
            assert!(s < e && e <= len128, "{r:?} of {len} bytes: {s}..{e}");
        }
    }
}

/// A date read from `If-Modified-Since` is one an IMF-fixdate can say, and written back it
/// reads the same.
pub fn check_date(t: u64) {
    // 9999-12-31T23:59:60, the last second a four-digit year can say (a leap second).
    const END: u64 = 253_402_300_800;
    assert!(t <= END, "a date of {t} s is past the year 9999");
    let s = http::http_date(t);
    if t < END {
        assert_eq!(http::parse_http_date(&s), Some(t), "{s:?} reads back");
    }
}

/// Request heads for the property test: valid ones built from parts a client might send
/// (every header knot reads, with odd values), then mutated (bytes changed, inserted, deleted,
/// spans repeated, cut short).
#[cfg(test)]
#[path = "../../tests/util/splitmix.rs"]
mod splitmix;

#[cfg(test)]
pub mod generate {
    /// splitmix64, the program fuzzer's generator (`tests/util/splitmix.rs`): seeded, so a
    /// failure repeats.
    pub use super::splitmix::Rng;

    impl Rng {
        /// A number below `n` (> 0).
        pub fn below(&mut self, n: usize) -> usize {
            (self.next() % n as u64) as usize
        }
        pub fn one_in(&mut self, n: usize) -> bool {
            self.below(n) == 0
        }
        pub fn pick<'a>(&mut self, from: &[&'a str]) -> &'a str {
            from[self.below(from.len())]
        }
        /// A number of any size, small ones and the edges of `u64` more often.
        pub fn number(&mut self) -> String {
            match self.below(6) {
                0 => self.below(10).to_string(),
                1 => self.below(100_000).to_string(),
                2 => (u64::MAX - self.below(3) as u64).to_string(),
                3 => format!("{}0", u64::MAX), // past u64
                4 => format!("00{}", self.below(1000)),
                _ => self.next().to_string(),
            }
        }
    }

    const METHODS: &[&str] = &["GET", "HEAD", "POST", "get", "OPTIONS", "G T", ""];
    const TARGETS: &[&str] = &[
        "/",
        "/index.html",
        "/sub/../a.txt",
        "/../../etc/passwd",
        "/%2e%2e/%2e%2e/secret",
        "/%2E%2E%2fsecret",
        "/a/./b/.././../c",
        "/..%5csecret",
        "/%00",
        "/%zz",
        "/a%2",
        "/dir?x=1#frag",
        "http://example.com/a?b",
        "HTTPS://h:8080",
        "http://h?q/..",
        "*",
        "relative/path",
        "//double//slash",
        "/\u{e9}t\u{e9}",
        "/%c3%a9",
        "/sub/a.txt",
        "/a/b/",
        "/a.b/c..d/e.",
        "/.hidden",
        "/a/",
    ];
    const VERSIONS: &[&str] = &[
        "HTTP/1.1", "HTTP/1.0", "HTTP/2.0", "HTTP/1.2", "http/1.1", "",
    ];
    const CONNECTION: &[&str] = &[
        "close",
        "keep-alive",
        "Keep-Alive, close",
        "close, keep-alive",
        "upgrade",
        ",,",
        "",
    ];
    const DATES: &[&str] = &[
        "Sun, 06 Nov 1994 08:49:37 GMT",
        "Sunday, 06-Nov-94 08:49:37 GMT",
        "Sun Nov  6 08:49:37 1994",
        "Mon, 31 Feb 2000 23:59:60 GMT",
        "Fri, 31 Dec 9999 23:59:59 GMT",
        "Sat, 01 Jan 10000 00:00:00 GMT",
        "Thu, 01 Jan 1970 00:00:00 GMT",
        "Wed, 31 Dec 1969 23:59:59 GMT",
        "Sun, 06 Nov 999999999999991994 08:49:37 GMT",
        "Sun, 99 Nov 1994 99:99:99 GMT",
        "Sun, 06 Nov -1994 08:49:37 GMT",
        "Sun, 06 Nov 1994 08:49 GMT",
        "Sun, +6 Nov +1994 +8:+9:+7 GMT",
    ];

    /// One header line a client might send (without its line end).
    fn header(r: &mut Rng) -> String {
        match r.below(12) {
            0 => format!("Host: {}", r.pick(&["x", "example.com:80", "", "a b"])),
            1 => format!("Connection: {}", r.pick(CONNECTION)),
            2 => {
                let n = r.number();
                let v = match r.below(5) {
                    0 => format!("{n}, {n}"),
                    1 => format!("{n}, {}", r.number()),
                    2 => format!("{}{n}", r.pick(&["+", "-", " ", "0x"])),
                    _ => n,
                };
                format!("Content-Length: {v}")
            }
            3 | 4 => {
                let spec = match r.below(6) {
                    0 => format!("{}-{}", r.number(), r.number()),
                    1 => format!("{}-", r.number()),
                    2 => format!("-{}", r.number()),
                    3 => format!("{}-{},{}-", r.number(), r.number(), r.number()),
                    4 => format!(" {} - {} ", r.number(), r.number()),
                    _ => r.pick(&["-", "", "a-b", "+1-2", "0-0", "-0"]).to_string(),
                };
                let unit = r.pick(&["bytes=", "bytes=", "items=", "BYTES=", "bytes ="]);
                format!("Range: {unit}{spec}")
            }
            5 | 6 => format!("If-Modified-Since: {}", r.pick(DATES)),
            7 => format!(
                "If-None-Match: {}",
                r.pick(&["*", "\"a-1\"", "W/\"a-1\", \"b\"", "", ",,"])
            ),
            8 => "Transfer-Encoding: chunked".to_string(),
            9 => format!("X-Long: {}", "v".repeat(r.below(3) * 9000)),
            _ => format!("X-{}: {}", r.below(100), r.number()),
        }
    }

    /// A request head that a client might send, perhaps followed by the start of the next.
    pub fn request(r: &mut Rng) -> Vec<u8> {
        let eol = if r.one_in(8) { "\n" } else { "\r\n" };
        let mut target = r.pick(TARGETS).to_string();
        if r.one_in(20) {
            target = format!("/{}", "a".repeat(8 * 1024 + r.below(3) - 1));
        }
        let mut s = format!("{} {target} {}{eol}", r.pick(METHODS), r.pick(VERSIONS));
        if !r.one_in(5) {
            s += &format!("Host: x{eol}");
        }
        let n = if r.one_in(30) {
            60 + r.below(10)
        } else {
            r.below(6)
        };
        for _ in 0..n {
            s += &header(r);
            s += eol;
        }
        s += eol;
        if r.one_in(4) {
            s += "GET /next HTTP/1.1\r\nHost: x\r\n";
        }
        s.into_bytes()
    }

    /// `buf`, changed in a few places.
    pub fn mutate(r: &mut Rng, buf: &mut Vec<u8>) {
        const ODD: &[u8] = b"\0\r\n\t \x7f\x80\xff%.,:;-\"/";
        for _ in 0..1 + r.below(4) {
            let at = r.below(buf.len() + 1);
            match r.below(6) {
                0 if at < buf.len() => buf[at] = ODD[r.below(ODD.len())],
                1 => buf.insert(at, ODD[r.below(ODD.len())]),
                2 if at < buf.len() => {
                    let end = (at + 1 + r.below(16)).min(buf.len());
                    buf.drain(at..end);
                }
                3 if at < buf.len() => {
                    let end = (at + 1 + r.below(64)).min(buf.len());
                    let span = buf[at..end].to_vec();
                    buf.splice(at..at, span);
                }
                4 => buf.truncate(at),
                _ => {
                    let line = format!("{}\r\n", header(r));
                    buf.splice(at..at, line.into_bytes());
                }
            }
        }
    }
}
