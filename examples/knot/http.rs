//! HTTP/1.x request parsing (httparse) and response heads.
//!
//! Only what a static file server needs: GET and HEAD, HTTP/1.0 and 1.1, keep-alive, and a
//! defined status for everything else (400 malformed, 405 other methods, 414 request line too
//! long, 431 headers too large).

/// Longest request line accepted (414 beyond).
pub const MAX_REQUEST_LINE: usize = 8 * 1024;
/// Largest request head (request line + headers) accepted (431 beyond).
pub const MAX_HEAD: usize = 16 * 1024;
/// Most headers accepted (431 beyond).
pub const MAX_HEADERS: usize = 64;

/// Response status codes knot sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Ok = 200,
    PartialContent = 206,
    MovedPermanently = 301,
    NotModified = 304,
    BadRequest = 400,
    NotFound = 404,
    MethodNotAllowed = 405,
    UriTooLong = 414,
    RangeNotSatisfiable = 416,
    HeadersTooLarge = 431,
    Unavailable = 503,
}

impl Status {
    pub fn code(self) -> u16 {
        self as u16
    }
    pub fn reason(self) -> &'static str {
        match self {
            Status::Ok => "OK",
            Status::PartialContent => "Partial Content",
            Status::RangeNotSatisfiable => "Range Not Satisfiable",
            Status::MovedPermanently => "Moved Permanently",
            Status::NotModified => "Not Modified",
            Status::BadRequest => "Bad Request",
            Status::NotFound => "Not Found",
            Status::MethodNotAllowed => "Method Not Allowed",
            Status::UriTooLong => "URI Too Long",
            Status::HeadersTooLarge => "Request Header Fields Too Large",
            Status::Unavailable => "Service Unavailable",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    Get,
    Head,
    Other,
}

impl Method {
    /// The method's name, for the log (`-` for the ones knot does not serve).
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Head => "HEAD",
            Method::Other => "-",
        }
    }
}

/// One parsed request head.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    pub method: Method,
    /// The request target as sent (path and query), for logging.
    pub target: String,
    /// HTTP/1.`minor`.
    pub minor: u8,
    /// Whether the connection stays open after the response.
    pub keep_alive: bool,
    /// Bytes of the buffer this head (and any body it declared) takes.
    pub len: usize,
    /// A `Range: bytes=…` header with one range, if any (another shape is ignored, and the
    /// whole file sent, as RFC 9110 §14.2 allows).
    pub range: Option<ByteRange>,
    /// `If-None-Match`, as sent.
    pub if_none_match: Option<String>,
    /// `If-Modified-Since`, read as seconds since the epoch (an unreadable date is ignored).
    pub if_modified_since: Option<u64>,
}

/// One byte range asked for: `first-last`, `first-`, or the last `n` bytes (`-n`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ByteRange {
    From(u64, Option<u64>),
    Last(u64),
}

impl ByteRange {
    /// `Range: bytes=…` with a single range; `None` for anything else.
    fn parse(v: &[u8]) -> Option<ByteRange> {
        let v = std::str::from_utf8(v).ok()?.trim();
        let spec = v.strip_prefix("bytes=")?.trim();
        if spec.contains(',') {
            return None; // several ranges: the whole file instead
        }
        let (a, b) = spec.split_once('-')?;
        let num = |s: &str| -> Option<u64> {
            (!s.is_empty() && s.bytes().all(|c| c.is_ascii_digit())).then(|| s.parse().ok())?
        };
        match (a.trim(), b.trim()) {
            ("", n) => num(n).map(ByteRange::Last),
            (f, "") => num(f).map(|f| ByteRange::From(f, None)),
            (f, l) => {
                let (f, l) = (num(f)?, num(l)?);
                (f <= l).then_some(ByteRange::From(f, Some(l)))
            }
        }
    }

    /// The bytes `start..end` of a file of `len` bytes this range asks for; `None` when it
    /// cannot be satisfied (416).
    pub fn resolve(self, len: u64) -> Option<(u64, u64)> {
        match self {
            ByteRange::From(f, _) if f >= len => None,
            // (A last byte past the end is the end: `saturating_add` for `u64::MAX`.)
            ByteRange::From(f, l) => Some((f, l.map_or(len, |l| l.saturating_add(1).min(len)))),
            // No suffix of an empty file has a byte in it (RFC 9110 §14.1.3).
            ByteRange::Last(n) if n == 0 || len == 0 => None,
            ByteRange::Last(n) => Some((len.saturating_sub(n), len)),
        }
    }
}

#[derive(Debug, PartialEq, Eq)]
pub enum Parse {
    /// Need more bytes.
    Partial,
    /// A complete request head at the start of the buffer.
    Done(Request),
    /// Malformed or oversized: answer with this status and close.
    Error(Status),
}

/// Parses the request head at the start of `buf`.
pub fn parse(buf: &[u8]) -> Parse {
    if buf.is_empty() {
        return Parse::Partial; // (between requests: the usual case, and the cheapest)
    }
    let line_end = buf.iter().position(|&b| b == b'\n');
    if line_end.unwrap_or(buf.len()) > MAX_REQUEST_LINE {
        return Parse::Error(Status::UriTooLong);
    }
    // Left uninitialised: httparse writes the headers it finds, and `req.headers` is those
    // only (writing 64 empty ones first cost more than parsing a short head).
    let mut headers = [const { std::mem::MaybeUninit::uninit() }; MAX_HEADERS];
    let mut req = httparse::Request::new(&mut []);
    let n = match req.parse_with_uninit_headers(buf, &mut headers) {
        Ok(httparse::Status::Complete(n)) => n,
        Ok(httparse::Status::Partial) => {
            return if buf.len() > MAX_HEAD {
                Parse::Error(Status::HeadersTooLarge)
            } else {
                Parse::Partial
            };
        }
        Err(httparse::Error::TooManyHeaders) => return Parse::Error(Status::HeadersTooLarge),
        Err(_) => return Parse::Error(Status::BadRequest),
    };
    if n > MAX_HEAD {
        return Parse::Error(Status::HeadersTooLarge);
    }
    let (Some(method), Some(target), Some(minor)) = (req.method, req.path, req.version) else {
        return Parse::Error(Status::BadRequest);
    };
    let method = match method {
        "GET" => Method::Get,
        "HEAD" => Method::Head,
        _ => Method::Other,
    };
    let mut keep_alive = minor == 1;
    let (mut close, mut keep) = (false, false);
    let mut hosts = 0;
    let mut range = None;
    let (mut if_none_match, mut if_modified_since) = (None, None);
    let mut body: Option<u64> = None;
    for h in req.headers.iter() {
        if h.name.eq_ignore_ascii_case("connection") {
            for token in h.value.split(|&b| b == b',') {
                let t = token.trim_ascii();
                close |= t.eq_ignore_ascii_case(b"close");
                keep |= t.eq_ignore_ascii_case(b"keep-alive");
            }
        } else if h.name.eq_ignore_ascii_case("host") {
            hosts += 1;
        } else if h.name.eq_ignore_ascii_case("range") {
            range = ByteRange::parse(h.value);
        } else if h.name.eq_ignore_ascii_case("if-none-match") {
            if_none_match = std::str::from_utf8(h.value).ok().map(str::to_string);
        } else if h.name.eq_ignore_ascii_case("if-modified-since") {
            if_modified_since = std::str::from_utf8(h.value).ok().and_then(parse_http_date);
        } else if h.name.eq_ignore_ascii_case("content-length") {
            // RFC 9112 §6.3: digits only (no sign), and every value of every Content-Length
            // field the same (`37, 37` is one length; `37` then `0` is two: a request smuggled
            // past a proxy that reads the other one). Anything else is 400.
            for item in h.value.split(|&b| b == b',') {
                let item = item.trim_ascii();
                let Some(len) = content_length(item) else {
                    return Parse::Error(Status::BadRequest);
                };
                if body.is_some_and(|b| b != len) {
                    return Parse::Error(Status::BadRequest);
                }
                body = Some(len);
            }
        } else if h.name.eq_ignore_ascii_case("transfer-encoding") {
            // A GET or HEAD server has no use for a request body it cannot delimit cheaply.
            return Parse::Error(Status::BadRequest);
        }
    }
    // `close` wins over `keep-alive`, whatever their order (RFC 9112 §9.6).
    if close {
        keep_alive = false;
    } else if keep {
        keep_alive = true;
    }
    // An HTTP/1.1 request has exactly one Host (RFC 9112 §3.2).
    if minor == 1 && hosts != 1 {
        return Parse::Error(Status::BadRequest);
    }
    if body.is_some_and(|b| b > 0) {
        // We do not read request bodies: answer, then close instead of skipping it.
        keep_alive = false;
    }
    Parse::Done(Request {
        method,
        target: origin_form(target).to_string(),
        minor,
        keep_alive,
        len: n,
        range,
        if_none_match,
        if_modified_since,
    })
}

/// The path and query of a request target: an absolute-form target (`http://host/a?b`, as
/// sent to a proxy) is served as its origin form (`/a?b`); others are as sent.
fn origin_form(target: &str) -> &str {
    if target.starts_with('/') {
        return target; // the usual origin form, at no cost
    }
    let starts = |p: &str| {
        target
            .get(..p.len())
            .is_some_and(|t| t.eq_ignore_ascii_case(p))
    };
    let rest = if starts("http://") {
        &target[7..]
    } else if starts("https://") {
        &target[8..]
    } else {
        return target;
    };
    match rest.find(['/', '?']) {
        Some(i) if rest[i..].starts_with('/') => &rest[i..],
        Some(_) | None => "/",
    }
}

/// A Content-Length value: one or more ASCII digits that fit in a `u64`; `None` otherwise.
fn content_length(v: &[u8]) -> Option<u64> {
    if v.is_empty() || !v.iter().all(u8::is_ascii_digit) {
        return None;
    }
    std::str::from_utf8(v).ok()?.parse().ok()
}

/// Whether `buf` starts with something [`parse`] can answer now (a complete head or an
/// error), so a response to it can be queued without reading more.
pub fn complete(buf: &[u8]) -> bool {
    !buf.is_empty() && parse(buf) != Parse::Partial
}

/// Content-Type by file extension.
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

/// Appends a response head to `out`.
pub fn head(out: &mut Vec<u8>, status: Status, minor: u8, ctype: &str, len: u64, keep_alive: bool) {
    // Pushed piece by piece, not through `write!`: the formatting machinery was a tenth of
    // knot's instructions per request.
    status_line(out, minor, status.code(), status.reason());
    out.extend_from_slice(b"Server: knot\r\nDate: ");
    write_date(out);
    out.extend_from_slice(b"\r\nContent-Type: ");
    out.extend_from_slice(ctype.as_bytes());
    out.extend_from_slice(b"\r\nContent-Length: ");
    push_decimal(out, len);
    out.extend_from_slice(b"\r\n");
    if status == Status::MethodNotAllowed {
        out.extend_from_slice(b"Allow: GET, HEAD\r\n");
    }
    if status == Status::Ok || status == Status::PartialContent {
        out.extend_from_slice(b"Accept-Ranges: bytes\r\n");
    }
    match (keep_alive, minor) {
        (true, 0) => out.extend_from_slice(b"Connection: keep-alive\r\n"),
        (false, 1) => out.extend_from_slice(b"Connection: close\r\n"),
        _ => {}
    }
    out.extend_from_slice(b"\r\n");
}

/// `HTTP/1.MINOR CODE REASON\r\n`.
fn status_line(out: &mut Vec<u8>, minor: u8, code: u16, reason: &str) {
    out.extend_from_slice(b"HTTP/1.");
    if minor <= 9 && (100..=999).contains(&code) {
        // The only case (HTTP/1.0 or 1.1, a three-digit status), in one push.
        let d = |n: u16| b'0' + (n % 10) as u8;
        out.extend_from_slice(&[
            d(minor.into()),
            b' ',
            d(code / 100),
            d(code / 10),
            d(code),
            b' ',
        ]);
    } else {
        push_decimal(out, minor.into());
        out.push(b' ');
        push_decimal(out, code.into());
        out.push(b' ');
    }
    out.extend_from_slice(reason.as_bytes());
    out.extend_from_slice(b"\r\n");
}

/// Appends `n` in decimal.
pub fn push_decimal(out: &mut Vec<u8>, mut n: u64) {
    let mut digits = [0u8; 20]; // u64::MAX has 20
    let mut i = digits.len();
    loop {
        i -= 1;
        digits[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    out.extend_from_slice(&digits[i..]);
}

/// A file's validators: its entity tag and last modification (seconds since the epoch).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Validators {
    pub etag: String,
    pub modified: u64,
    /// The `ETag` and `Last-Modified` header lines, made once.
    lines: String,
}

impl Validators {
    /// From a file's length and modification time: `"LEN-MTIME"` in hex, a strong tag (the
    /// bytes change with either, as far as a static file server can tell).
    pub fn new(len: u64, modified: Option<std::time::SystemTime>) -> Option<Validators> {
        let m = modified?
            .duration_since(std::time::UNIX_EPOCH)
            .ok()?
            .as_secs();
        let etag = format!("\"{len:x}-{m:x}\"");
        let lines = format!("ETag: {etag}\r\nLast-Modified: {}\r\n", http_date(m));
        Some(Validators {
            etag,
            modified: m,
            lines,
        })
    }

    /// Whether the request's conditions say the client's copy is current (304): an
    /// `If-None-Match` that lists this tag (or `*`); without one, an `If-Modified-Since` at
    /// or after the file's time (RFC 9110 §13.2.2).
    pub fn not_modified(&self, req: &Request) -> bool {
        match &req.if_none_match {
            Some(list) => list.split(',').map(str::trim).any(|t| {
                t == "*" || t == self.etag || t.strip_prefix("W/") == Some(self.etag.as_str())
            }),
            None => req
                .if_modified_since
                .is_some_and(|since| self.modified <= since),
        }
    }
}

/// Appends a `304 Not Modified` (no body); returns 0.
pub fn not_modified(out: &mut Vec<u8>, minor: u8, v: &Validators, keep_alive: bool) -> u64 {
    status_line(out, minor, 304, "Not Modified");
    out.extend_from_slice(b"Server: knot\r\nDate: ");
    write_date(out);
    out.extend_from_slice(b"\r\n");
    out.extend_from_slice(v.lines.as_bytes());
    match (keep_alive, minor) {
        (true, 0) => out.extend_from_slice(b"Connection: keep-alive\r\n"),
        (false, 1) => out.extend_from_slice(b"Connection: close\r\n"),
        _ => {}
    }
    out.extend_from_slice(b"\r\n");
    0
}

/// Adds `v`'s header lines to the response head that ends `out` (before its empty line).
pub fn add_validators(out: &mut Vec<u8>, v: &Validators) {
    debug_assert!(out.ends_with(b"\r\n\r\n"));
    out.truncate(out.len() - 2);
    out.extend_from_slice(v.lines.as_bytes());
    out.extend_from_slice(b"\r\n");
}

/// Appends the current time as an HTTP date (formatted once per second).
fn write_date(out: &mut Vec<u8>) {
    // The wall clock from the loop's cached clock (no system call per response): the wall
    // time at the first call, plus the loop time elapsed since. The text is made once per
    // second; until the next second begins, a response costs one comparison of instants.
    thread_local! {
        static BASE: (std::time::Instant, u64) = (
            tame::now(),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_secs()),
        );
        static CACHE: std::cell::RefCell<(Option<std::time::Instant>, String)> =
            const { std::cell::RefCell::new((None, String::new())) };
    }
    let now = tame::now();
    CACHE.with(|c| {
        let mut c = c.borrow_mut();
        if c.0.is_none_or(|next| now >= next) {
            let (at, wall) = BASE.with(|b| *b);
            let since = now.saturating_duration_since(at).as_secs();
            let next = at + std::time::Duration::from_secs(since + 1);
            *c = (Some(next), http_date(wall + since));
        }
        out.extend_from_slice(c.1.as_bytes());
    })
}

const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];
const WEEKDAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];

/// Seconds since the epoch as an IMF-fixdate (`Sun, 06 Nov 1994 08:49:37 GMT`).
pub fn http_date(secs: u64) -> String {
    let days = secs / 86_400;
    let (y, m, d) = civil_from_days(days as i64);
    let t = secs % 86_400;
    format!(
        "{}, {d:02} {} {y:04} {:02}:{:02}:{:02} GMT",
        WEEKDAYS[(days % 7) as usize],
        MONTHS[m as usize - 1],
        t / 3600,
        t / 60 % 60,
        t % 60
    )
}

/// An IMF-fixdate as seconds since the epoch; `None` for another shape, or a year outside
/// 1970 to 9999.
pub fn parse_http_date(s: &str) -> Option<u64> {
    let p: Vec<&str> = s.split_whitespace().collect();
    let [_, day, mon, year, time, "GMT"] = p.as_slice() else {
        return None;
    };
    let d: u32 = day.parse().ok()?;
    let m = MONTHS.iter().position(|x| x == mon)? as u32 + 1;
    let y: i64 = year.parse().ok()?;
    let hms: Vec<u64> = time
        .split(':')
        .map(|x| x.parse().ok())
        .collect::<Option<_>>()?;
    let [h, mi, se] = hms.as_slice() else {
        return None;
    };
    // An IMF-fixdate's year has four digits (RFC 9110 §5.6.7); a longer one would overflow
    // the seconds.
    if !(1..=31).contains(&d) || *h > 23 || *mi > 59 || *se > 60 || !(1970..=9999).contains(&y) {
        return None;
    }
    let days = days_from_civil(y, m, d);
    Some(days as u64 * 86_400 + h * 3600 + mi * 60 + se)
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m as i64 + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d as i64 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The date of a day count since 1970-01-01 (the inverse of `days_from_civil`).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// Appends the head of a `206 Partial Content` for bytes `start..end` of a `total`-byte file.
pub fn partial_head(
    out: &mut Vec<u8>,
    minor: u8,
    ctype: &str,
    (start, end, total): (u64, u64, u64),
    keep_alive: bool,
) {
    let mut h = Vec::new();
    head(
        &mut h,
        Status::PartialContent,
        minor,
        ctype,
        end - start,
        keep_alive,
    );
    splice_header(
        out,
        h,
        &format!("Content-Range: bytes {start}-{}/{total}", end - 1),
    );
}

/// Appends a `416 Range Not Satisfiable` for a `total`-byte file; returns the body length.
pub fn unsatisfiable(
    out: &mut Vec<u8>,
    minor: u8,
    total: u64,
    keep_alive: bool,
    head_only: bool,
) -> u64 {
    let mut h = Vec::new();
    let len = error(
        &mut h,
        Status::RangeNotSatisfiable,
        minor,
        keep_alive,
        head_only,
    );
    splice_header(out, h, &format!("Content-Range: bytes */{total}"));
    len
}

/// Appends `response` to `out` with `line` added as the last header.
fn splice_header(out: &mut Vec<u8>, response: Vec<u8>, line: &str) {
    let end = response
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map_or(response.len(), |i| i + 2);
    out.extend_from_slice(&response[..end]);
    out.extend_from_slice(line.as_bytes());
    out.extend_from_slice(b"\r\n");
    out.extend_from_slice(&response[end..]);
}

/// Appends a `301 Moved Permanently` to `location` (small HTML body; none for HEAD); returns
/// the body length.
pub fn moved(
    out: &mut Vec<u8>,
    location: &str,
    minor: u8,
    keep_alive: bool,
    head_only: bool,
) -> u64 {
    let mut head_part = Vec::new();
    let len = error(
        &mut head_part,
        Status::MovedPermanently,
        minor,
        keep_alive,
        head_only,
    );
    // The head ends with an empty line: put `Location` just before it.
    let end = head_part
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map_or(head_part.len(), |i| i + 2);
    out.extend_from_slice(&head_part[..end]);
    out.extend_from_slice(format!("Location: {location}\r\n").as_bytes());
    out.extend_from_slice(&head_part[end..]);
    len
}

/// Appends a complete error response (small HTML body; none for HEAD); returns the body length.
pub fn error(
    out: &mut Vec<u8>,
    status: Status,
    minor: u8,
    keep_alive: bool,
    head_only: bool,
) -> u64 {
    let body = format!(
        "<!doctype html><title>{0} {1}</title><h1>{0} {1}</h1>\n",
        status.code(),
        status.reason()
    );
    head(
        out,
        status,
        minor,
        "text/html; charset=utf-8",
        body.len() as u64,
        keep_alive,
    );
    if !head_only {
        out.extend_from_slice(body.as_bytes());
    }
    body.len() as u64
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn done(s: &str) -> Request {
        match parse(s.as_bytes()) {
            Parse::Done(r) => r,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn decimals_are_written_as_format_writes_them() {
        for n in [0, 7, 9, 10, 99, 100, 1_048_576, u64::MAX - 1, u64::MAX] {
            let mut out = b"x".to_vec();
            push_decimal(&mut out, n);
            assert_eq!(out, format!("x{n}").into_bytes());
        }
    }

    #[test]
    fn status_lines_are_written_as_format_writes_them() {
        let statuses = [
            Status::Ok,
            Status::PartialContent,
            Status::NotModified,
            Status::UriTooLong,
            Status::Unavailable,
        ];
        for (minor, s) in [0u8, 1, 12]
            .into_iter()
            .flat_map(|m| statuses.map(|s| (m, s)))
        {
            let mut out = Vec::new();
            status_line(&mut out, minor, s.code(), s.reason());
            let want = format!("HTTP/1.{minor} {} {}\r\n", s.code(), s.reason());
            assert_eq!(String::from_utf8(out).unwrap(), want);
        }
        let mut out = Vec::new();
        status_line(&mut out, 1, 1000, "Odd");
        assert_eq!(out, b"HTTP/1.1 1000 Odd\r\n");
    }

    #[test]
    fn a_head_is_the_status_line_then_its_headers() {
        let mut out = Vec::new();
        head(&mut out, Status::Ok, 1, "text/html", 1234, true);
        let text = String::from_utf8(out).unwrap();
        assert!(
            text.starts_with("HTTP/1.1 200 OK\r\nServer: knot\r\nDate: "),
            "{text}"
        );
        assert!(
            text.ends_with("\r\nContent-Type: text/html\r\nContent-Length: 1234\r\nAccept-Ranges: bytes\r\n\r\n"),
            "{text}"
        );
        let mut out = Vec::new();
        head(&mut out, Status::NotFound, 0, "text/plain", 0, false);
        assert!(out.starts_with(b"HTTP/1.0 404 Not Found\r\n"));
    }

    #[test]
    fn get_1_1_keeps_alive_by_default() {
        let r = done("GET /a.html HTTP/1.1\r\nHost: x\r\n\r\nGET /b");
        assert_eq!((r.method, r.minor, r.keep_alive), (Method::Get, 1, true));
        assert_eq!(r.target, "/a.html");
        assert_eq!(r.len, "GET /a.html HTTP/1.1\r\nHost: x\r\n\r\n".len());
    }

    #[test]
    fn http_1_0_closes_unless_asked() {
        assert!(!done("GET / HTTP/1.0\r\n\r\n").keep_alive);
        assert!(done("HEAD / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n").keep_alive);
        assert!(!done("GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").keep_alive);
        // `close` wins, whatever comes with it.
        for c in ["close, keep-alive", "keep-alive, close"] {
            let r = format!("GET / HTTP/1.1\r\nHost: x\r\nConnection: {c}\r\n\r\n");
            assert!(!done(&r).keep_alive, "{c}");
        }
    }

    #[test]
    fn partial_until_the_blank_line() {
        assert_eq!(parse(b"GET / HTTP/1.1\r\nHost: x\r\n"), Parse::Partial);
        assert_eq!(parse(b""), Parse::Partial);
    }

    #[test]
    fn malformed_is_400() {
        assert_eq!(
            parse(b"GET\0/ HTTP/1.1\r\n\r\n"),
            Parse::Error(Status::BadRequest)
        );
        assert_eq!(
            parse(b"\x16\x03\x01\x02\x00\x01\x00"),
            Parse::Error(Status::BadRequest)
        );
        assert_eq!(
            parse(b"GET / HTTP/1.1\r\nContent-Length: x\r\n\r\n"),
            Parse::Error(Status::BadRequest)
        );
        assert_eq!(
            parse(b"GET / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"),
            Parse::Error(Status::BadRequest)
        );
    }

    #[test]
    fn one_byte_range_is_read_and_resolved() {
        let r = |v: &str| ByteRange::parse(v.as_bytes());
        assert_eq!(r("bytes=0-99"), Some(ByteRange::From(0, Some(99))));
        assert_eq!(r("bytes=100-"), Some(ByteRange::From(100, None)));
        assert_eq!(r("bytes=-20"), Some(ByteRange::Last(20)));
        for bad in [
            "bytes=5-1",
            "bytes=0-1,3-4",
            "items=0-1",
            "bytes=-",
            "bytes=+1-2",
            "bytes=a-b",
        ] {
            assert_eq!(r(bad), None, "{bad}");
        }
        let len = 1000;
        assert_eq!(r("bytes=0-99").unwrap().resolve(len), Some((0, 100)));
        assert_eq!(r("bytes=990-2000").unwrap().resolve(len), Some((990, 1000)));
        assert_eq!(r("bytes=-20").unwrap().resolve(len), Some((980, 1000)));
        assert_eq!(r("bytes=-5000").unwrap().resolve(len), Some((0, 1000)));
        assert_eq!(
            r("bytes=1000-").unwrap().resolve(len),
            None,
            "starts past the end"
        );
        assert_eq!(r("bytes=-0").unwrap().resolve(len), None);
        // Found by fuzzing: a suffix of an empty file has no byte to send (416), where it
        // resolved to the empty span 0..0.
        assert_eq!(r("bytes=-7").unwrap().resolve(0), None);
        assert_eq!(r("bytes=0-").unwrap().resolve(0), None);
        // Found by the property test: a last byte of u64::MAX overflowed one past it.
        let to_max = r(&format!("bytes=5-{}", u64::MAX)).unwrap();
        assert_eq!(to_max.resolve(len), Some((5, 1000)));
        assert_eq!(to_max.resolve(u64::MAX), Some((5, u64::MAX)));
    }

    #[test]
    fn http_dates_are_imf_fixdates_both_ways() {
        assert_eq!(http_date(784_111_777), "Sun, 06 Nov 1994 08:49:37 GMT");
        assert_eq!(http_date(0), "Thu, 01 Jan 1970 00:00:00 GMT");
        assert_eq!(http_date(951_782_400), "Tue, 29 Feb 2000 00:00:00 GMT");
        assert_eq!(
            parse_http_date("Fri, 31 Dec 9999 23:59:59 GMT"),
            Some(253_402_300_799)
        );
        for t in [0, 784_111_777, 951_782_400, 1_700_000_000, 4_102_444_800] {
            assert_eq!(parse_http_date(&http_date(t)), Some(t), "{t}");
        }
        for bad in [
            "Sunday, 06-Nov-94 08:49:37 GMT",
            "Sun Nov  6 08:49:37 1994",
            "",
            "Sun, 06 Nov 1994 25:00:00 GMT",
            // Found by fuzzing: a year of more than four digits overflowed the seconds.
            "Sun, 15 Nov 999999999999991994 08:49:37 GMT",
            "Sat, 01 Jan 10000 00:00:00 GMT",
        ] {
            assert_eq!(parse_http_date(bad), None, "{bad}");
        }
    }

    #[test]
    fn conditions_decide_not_modified() {
        let v =
            Validators::new(10, Some(std::time::UNIX_EPOCH + Duration::from_secs(1000))).unwrap();
        let req = |inm: Option<&str>, ims: Option<u64>| Request {
            if_none_match: inm.map(str::to_string),
            if_modified_since: ims,
            ..done("GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        };
        assert!(v.not_modified(&req(Some(&v.etag), None)));
        assert!(v.not_modified(&req(Some(&format!("\"x\", W/{}", v.etag)), None)));
        assert!(v.not_modified(&req(Some("*"), None)));
        assert!(
            !v.not_modified(&req(Some("\"other\""), Some(5000))),
            "If-None-Match decides"
        );
        assert!(v.not_modified(&req(None, Some(1000))));
        assert!(!v.not_modified(&req(None, Some(999))));
        assert!(!v.not_modified(&req(None, None)));
    }

    #[test]
    fn http_1_1_needs_exactly_one_host() {
        for r in [
            "GET / HTTP/1.1\r\n\r\n",
            "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n",
        ] {
            assert_eq!(
                parse(r.as_bytes()),
                Parse::Error(Status::BadRequest),
                "{r:?}"
            );
        }
        assert!(matches!(parse(b"GET / HTTP/1.0\r\n\r\n"), Parse::Done(_)));
    }

    #[test]
    fn an_absolute_form_target_is_served_as_its_path() {
        for (sent, served) in [
            ("http://example.com/a.html?x=1", "/a.html?x=1"),
            ("HTTP://example.com:8080/b", "/b"),
            ("https://example.com", "/"),
            ("/plain", "/plain"),
        ] {
            let r = format!("GET {sent} HTTP/1.1\r\nHost: x\r\n\r\n");
            assert_eq!(done(&r).target, served, "{sent}");
        }
    }

    #[test]
    fn content_length_shapes_rfc_9112_rejects_are_400() {
        let bad = [
            "Content-Length: 37\r\nContent-Length: 0",
            "Content-Length: +37",
            "Content-Length: -1",
            "Content-Length: 37, 0",
            "Content-Length: ",
            "Content-Length: 3 7",
            "Content-Length: 0x25",
            "Content-Length: 99999999999999999999999",
        ];
        for h in bad {
            let r = format!("GET / HTTP/1.1\r\nHost: x\r\n{h}\r\n\r\n");
            assert_eq!(parse(r.as_bytes()), Parse::Error(Status::BadRequest), "{h}");
        }
        // One length, said twice, is one length (the request is answered, then closed: knot
        // does not read bodies).
        for h in [
            "Content-Length: 37, 37",
            "Content-Length: 37\r\nContent-Length: 37",
        ] {
            let r = format!("GET / HTTP/1.1\r\nHost: x\r\n{h}\r\n\r\n");
            match parse(r.as_bytes()) {
                Parse::Done(req) => assert!(!req.keep_alive, "{h}"),
                other => panic!("{h}: {other:?}"),
            }
        }
        let zero = "GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n";
        assert!(matches!(parse(zero.as_bytes()), Parse::Done(r) if r.keep_alive));
    }

    #[test]
    fn oversized_request_line_is_414_and_headers_431() {
        let long = format!("GET /{} HTTP/1.1\r\n\r\n", "a".repeat(MAX_REQUEST_LINE));
        assert_eq!(parse(long.as_bytes()), Parse::Error(Status::UriTooLong));
        let partial_long = format!("GET /{}", "a".repeat(MAX_REQUEST_LINE + 1));
        assert_eq!(
            parse(partial_long.as_bytes()),
            Parse::Error(Status::UriTooLong)
        );
        let many: String = (0..MAX_HEADERS + 1)
            .map(|i| format!("X-{i}: v\r\n"))
            .collect();
        let r = format!("GET / HTTP/1.1\r\n{many}\r\n");
        assert_eq!(parse(r.as_bytes()), Parse::Error(Status::HeadersTooLarge));
        let big = format!("GET / HTTP/1.1\r\nX: {}\r\n", "v".repeat(MAX_HEAD));
        assert_eq!(parse(big.as_bytes()), Parse::Error(Status::HeadersTooLarge));
    }

    #[test]
    fn other_methods_parse_and_a_body_closes() {
        let r = done("POST /x HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc");
        assert_eq!(r.method, Method::Other);
        assert!(!r.keep_alive);
    }

    #[test]
    fn heads_say_what_they_must() {
        let mut v = Vec::new();
        error(&mut v, Status::MethodNotAllowed, 1, false, false);
        let s = String::from_utf8(v).unwrap();
        assert!(s.starts_with("HTTP/1.1 405 Method Not Allowed\r\n"));
        assert!(s.contains("Allow: GET, HEAD\r\n"));
        assert!(s.contains("Connection: close\r\n"));
        let body = s.split("\r\n\r\n").nth(1).unwrap();
        assert!(s.contains(&format!("Content-Length: {}\r\n", body.len())));
    }

    /// The promises of `props.rs` (the fuzz target's), on 4,000 generated request heads and on
    /// each after one and two rounds of mutation: a bounded, repeatable run in `cargo test`.
    #[test]
    fn generated_and_mutated_heads_keep_the_parsing_promises() {
        use crate::props::generate::{Rng, mutate, request};
        let mut r = Rng::new(0x6b6e_6f74);
        for i in 0..4000 {
            let mut buf = request(&mut r);
            for round in 0..3 {
                let run = std::panic::catch_unwind(|| crate::props::check_head(&buf));
                if let Err(e) = run {
                    let why = e
                        .downcast_ref::<String>()
                        .cloned()
                        .or_else(|| e.downcast_ref::<&str>().map(|s| s.to_string()));
                    panic!(
                        "head {i}, mutation {round}: {why:?}\ninput: b\"{}\"",
                        buf.escape_ascii()
                    );
                }
                mutate(&mut r, &mut buf);
            }
        }
    }

    #[test]
    fn content_types_by_extension() {
        assert_eq!(content_type("/x/INDEX.HTML"), "text/html; charset=utf-8");
        assert_eq!(content_type("/a.png"), "image/png");
        assert_eq!(content_type("/noext"), "application/octet-stream");
    }
}
