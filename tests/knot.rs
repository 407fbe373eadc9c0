//! knot, tested with real clients: the example runs as a child process on a free loopback
//! port, and curl, raw sockets, ab, wrk and headless Chromium talk to it.
//!
//! An outside program that is missing makes its test print `skipped: <prog> not installed`,
//! unless `CI=true`, where it fails (`.ci/run` installs them).
use std::fs;
use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Command, Output};
use std::thread;
use std::time::{Duration, Instant};

#[path = "util/knot.rs"]
mod knot;
#[path = "util/process.rs"]
mod process;
use knot::{Knot, TempDir, closed_within, connect, exchange, have, read_response, run, site};

/// curl with a time bound; `-sS` and `--max-time` always.
fn curl(args: &[&str]) -> Output {
    run(
        Command::new("curl")
            .args(["-sS", "--max-time", "20"])
            .args(args),
        Duration::from_secs(30),
    )
}

/// The status code curl saw (`-w %{http_code}`), body discarded.
fn curl_status(args: &[&str]) -> u16 {
    let mut a = vec!["-o", "/dev/null", "-w", "%{http_code}"];
    a.extend_from_slice(args);
    let out = curl(&a);
    String::from_utf8_lossy(&out.stdout)
        .trim()
        .parse()
        .unwrap_or(0)
}

/// curl's response headers (`-D -`) and body (`-o file`) for a GET.
fn curl_get(url: &str, extra: &[&str]) -> (String, Vec<u8>) {
    let dir = TempDir::new("curl");
    let body = dir.path().join("body");
    let mut a = vec!["-D", "-", "-o", body.to_str().unwrap()];
    a.extend_from_slice(extra);
    a.push(url);
    let out = curl(&a);
    assert!(
        out.status.success(),
        "curl {url}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let headers = String::from_utf8_lossy(&out.stdout).into_owned();
    (headers, fs::read(&body).unwrap_or_default())
}

fn header<'a>(headers: &'a str, name: &str) -> Option<&'a str> {
    headers.lines().find_map(|l| {
        let (n, v) = l.split_once(':')?;
        n.trim().eq_ignore_ascii_case(name).then(|| v.trim())
    })
}

#[test]
fn help_and_bad_options() {
    let bin = knot::binary();
    let out = run(Command::new(&bin).arg("--help"), Duration::from_secs(10));
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("--max-conns"));
    let out = run(
        Command::new(&bin).args(["--max-conns", "0"]),
        Duration::from_secs(10),
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("at least 1"));
    let out = run(
        Command::new(&bin).args(["--root", "/nonexistent/knot", "--addr", "127.0.0.1:1"]),
        Duration::from_secs(10),
    );
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("/nonexistent/knot"));
    // A file given as the root is refused at start, with a clear error.
    let file = site().join("hello.txt");
    let out = run(
        Command::new(&bin).args(["--root", file.to_str().unwrap(), "--addr", "127.0.0.1:1"]),
        Duration::from_secs(10),
    );
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("not a directory"), "{err}");
    // `--log=no` means no; `--log=maybe` is a usage error.
    let out = run(
        Command::new(&bin).args(["--log=maybe", "--addr", "127.0.0.1:1"]),
        Duration::from_secs(10),
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--log"));
    // `--backlog` out of 1..=65535: a usage error, one line that says what to write.
    for bad in ["0", "65536"] {
        let out = run(
            Command::new(&bin).args(["--backlog", bad, "--addr", "127.0.0.1:1"]),
            Duration::from_secs(10),
        );
        assert_eq!(out.status.code(), Some(2), "--backlog {bad}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.starts_with("knot: --backlog: must be at"), "{err}");
        assert_eq!(err.lines().count(), 1, "{err}");
    }
    assert!(
        String::from_utf8_lossy(
            &run(Command::new(&bin).arg("--help"), Duration::from_secs(10)).stdout
        )
        .contains("--backlog N")
    );
}

/// Every usage error exits 2 with one line on stderr that says what to write.
#[test]
fn usage_errors_exit_2_with_one_line_that_says_what_to_write() {
    let bin = knot::binary();
    for (args, says) in [
        (
            &["a", "b"][..],
            "knot: one directory to serve, got another: \"b\"",
        ),
        (
            &["a", "--root", "b"],
            "knot: one directory to serve, got another: --root \"b\"",
        ),
        (
            &["-p", "65536"],
            "knot: -p: expected a port, 0 to 65535, got \"65536\"",
        ),
        (&["--port"], "knot: --port: missing value"),
        (
            &["--addr", "127.0.0.1:99999"],
            "knot: --addr: expected a port",
        ),
        (&["--addr", ":x"], "knot: --addr: expected a port"),
        (
            &["--addr", "::1:8080"],
            "knot: --addr: an IPv6 address goes in brackets",
        ),
        (
            &["--addr", "http://x/"],
            "knot: --addr: expected IP:PORT, [IPv6]:PORT, :PORT or HOST:PORT",
        ),
        // `.invalid` never resolves (RFC 6761).
        (
            &["--addr", "nosuch.invalid:8080"],
            "knot: --addr: cannot resolve \"nosuch.invalid\"",
        ),
        (
            &["--idle-timeout", "1.5s"],
            "knot: --idle-timeout: expected a time such as 500ms, 10s",
        ),
        (
            &["--idle-timeout", "0ms"],
            "knot: --idle-timeout: must be at least 1ms",
        ),
        (
            &["--idle-timeout", "25h"],
            "knot: --idle-timeout: must be at most 24h (a day)",
        ),
        (
            &["--idle-timeout-ms", "0"],
            "knot: --idle-timeout-ms: must be at least 1",
        ),
        (
            &["--frobnicate"],
            "knot: unknown option \"--frobnicate\" (see --help)",
        ),
    ] {
        // (A resolver that cannot reach its server may take its full timeout.)
        let out = run(Command::new(&bin).args(args), Duration::from_secs(40));
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.starts_with(says), "{args:?}: {err}");
        assert_eq!(err.lines().count(), 1, "{args:?}: {err}");
        assert!(out.stdout.is_empty(), "{args:?}");
    }
}

#[test]
fn version_prints_knot_and_its_version() {
    for flag in ["-V", "--version"] {
        let out = run(
            Command::new(knot::binary()).args(["--max-conns", "3", flag]),
            Duration::from_secs(10),
        );
        assert!(out.status.success(), "{flag}");
        assert_eq!(
            String::from_utf8_lossy(&out.stdout),
            format!("knot {}\n", env!("CARGO_PKG_VERSION")),
            "{flag}"
        );
        assert!(out.stderr.is_empty(), "{flag}");
    }
}

/// `--help` shows the default root as the server would serve it from where it runs, and
/// that default serves the site from any directory.
#[test]
fn the_default_root_is_shown_as_it_is_served_from_anywhere() {
    let help = |dir: &std::path::Path| {
        let out = run(
            Command::new(knot::binary()).arg("--help").current_dir(dir),
            Duration::from_secs(10),
        );
        assert!(out.status.success());
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let repo = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let h = help(repo);
    assert!(h.contains("[default: examples/knot/site]"), "{h}");
    let elsewhere = TempDir::new("cwd");
    let h = help(elsewhere.path());
    assert!(
        h.contains(&format!("[default: {}]", site().display())),
        "{h}"
    );
    // No root given, run from another directory (every test server is): the shipped site.
    let mut k = Knot::start_on_port(|port| vec!["-p".into(), port.to_string()]);
    let r = exchange(k.addr, b"GET /hello.txt HTTP/1.0\r\n\r\n", false);
    assert_eq!(r.status, 200);
    assert_eq!(r.body, fs::read(site().join("hello.txt")).unwrap());
    assert!(k.alive());
}

/// `knot DIR -p PORT`, as `python -m http.server` and miniserve are run.
#[test]
fn port_and_the_directory_as_an_argument() {
    let dir = TempDir::new("positional");
    fs::write(dir.path().join("only-here.txt"), "positional\n").unwrap();
    let d = dir.path().to_str().unwrap().to_string();
    for form in ["-p", "--port"] {
        let k = Knot::start_on_port(|port| vec![d.clone(), form.into(), port.to_string()]);
        let r = exchange(k.addr, b"GET /only-here.txt HTTP/1.0\r\n\r\n", false);
        assert_eq!(
            (r.status, &r.body[..]),
            (200, &b"positional\n"[..]),
            "{form}"
        );
        let err = k.stderr();
        assert!(
            err.contains(&format!("at http://127.0.0.1:{}/", k.addr.port())),
            "{form}: {err}"
        );
    }
    // `--port=N` after the directory, and -p wins over the port of --addr.
    let k = Knot::start_on_port(|port| {
        vec![
            "--addr".into(),
            "127.0.0.1:1".into(),
            format!("--port={port}"),
            "--".into(),
            d.clone(),
        ]
    });
    let r = exchange(k.addr, b"GET /only-here.txt HTTP/1.0\r\n\r\n", false);
    assert_eq!(r.status, 200);
}

/// `--addr localhost:PORT` listens on localhost's first IPv4 address, 127.0.0.1.
#[test]
fn addr_localhost_port_is_its_loopback_address() {
    let k = Knot::start_on_port(|port| vec!["--addr".into(), format!("localhost:{port}")]);
    let err = k.stderr();
    assert!(
        err.contains(&format!("at http://127.0.0.1:{}/", k.addr.port())),
        "{err}"
    );
    let r = exchange(k.addr, b"GET /hello.txt HTTP/1.0\r\n\r\n", false);
    assert_eq!(r.status, 200);
}

#[test]
fn prints_its_url_and_logs_only_with_log() {
    let quiet = Knot::start(&[]);
    let loud = Knot::start(&["--log"]);
    for k in [&quiet, &loud] {
        exchange(k.addr, b"GET /hello.txt HTTP/1.0\r\n\r\n", false);
    }
    thread::sleep(Duration::from_millis(100));
    let q = quiet.stderr();
    assert!(q.contains(&format!("at http://{}/", quiet.addr)), "{q}");
    assert_eq!(
        q.lines().count(),
        1,
        "nothing per request without --log: {q}"
    );
    let l = loud.stderr();
    assert!(l.contains("\"GET /hello.txt HTTP/1.0\" 200 17"), "{l}");
}

#[test]
fn get_serves_every_file_with_its_type_and_length() {
    if have("curl").is_none() {
        return;
    }
    let k = Knot::start(&[]);
    for (path, file, ctype) in [
        ("/", "index.html", "text/html; charset=utf-8"),
        ("/index.html", "index.html", "text/html; charset=utf-8"),
        ("/about.html", "about.html", "text/html; charset=utf-8"),
        ("/style.css", "style.css", "text/css; charset=utf-8"),
        ("/hello.txt?x=1", "hello.txt", "text/plain; charset=utf-8"),
    ] {
        let want = fs::read(site().join(file)).unwrap();
        let (headers, body) = curl_get(&k.url(path), &[]);
        assert!(
            headers.starts_with("HTTP/1.1 200 OK\r\n"),
            "{path}: {headers}"
        );
        assert_eq!(header(&headers, "content-type"), Some(ctype), "{path}");
        assert_eq!(
            header(&headers, "content-length"),
            Some(want.len().to_string().as_str()),
            "{path}"
        );
        assert_eq!(body, want, "{path}");
    }
    // HTTP/1.0 too.
    let (headers, body) = curl_get(&k.url("/hello.txt"), &["--http1.0"]);
    assert!(headers.starts_with("HTTP/1.0 200 OK\r\n"), "{headers}");
    assert_eq!(body, fs::read(site().join("hello.txt")).unwrap());
}

#[test]
fn head_sends_the_headers_without_the_body() {
    if have("curl").is_none() {
        return;
    }
    let k = Knot::start(&[]);
    let out = curl(&["-I", &k.url("/about.html")]);
    let text = String::from_utf8_lossy(&out.stdout);
    let len = fs::metadata(site().join("about.html")).unwrap().len();
    assert!(text.starts_with("HTTP/1.1 200 OK\r\n"), "{text}");
    assert_eq!(
        header(&text, "content-length"),
        Some(len.to_string().as_str())
    );
    // On a raw connection, the response after a HEAD's must start right after its head.
    let mut s = connect(k.addr);
    s.write_all(
        b"HEAD /about.html HTTP/1.1\r\nHost: x\r\n\r\nGET /hello.txt HTTP/1.1\r\nHost: x\r\n\r\n",
    )
    .unwrap();
    let mut r = BufReader::new(s);
    let head = read_response(&mut r, true).unwrap();
    assert_eq!(head.status, 200);
    let next = read_response(&mut r, false).unwrap();
    assert_eq!(next.status, 200);
    assert_eq!(next.body, fs::read(site().join("hello.txt")).unwrap());
}

#[test]
fn missing_files_are_404() {
    if have("curl").is_none() {
        return;
    }
    let k = Knot::start(&[]);
    assert_eq!(curl_status(&[&k.url("/nope.html")]), 404);
    assert_eq!(curl_status(&[&k.url("/hello.txt/")]), 404);
    assert_eq!(curl_status(&["-I", &k.url("/nope.html")]), 404);
}

#[test]
fn other_methods_are_405_with_allow() {
    if have("curl").is_none() {
        return;
    }
    let k = Knot::start(&[]);
    for m in ["POST", "PUT", "DELETE", "OPTIONS"] {
        let (headers, _) = curl_get(&k.url("/index.html"), &["-X", m, "--data", "x=1"]);
        assert!(headers.starts_with("HTTP/1.1 405 "), "{m}: {headers}");
        assert_eq!(header(&headers, "allow"), Some("GET, HEAD"), "{m}");
    }
}

#[test]
fn malformed_requests_are_400_then_closed() {
    if have("curl").is_none() {
        return;
    }
    let k = Knot::start(&[]);
    assert_eq!(curl_status(&["-H", "Bad Header: x", &k.url("/")]), 400);
    for garbage in [
        &b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\r\n\r\n"[..],
        b"GET / HTTP/1.1\r\nContent-Length: nope\r\n\r\n",
        b"GET / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n",
        b"GET\0/ HTTP/1.1\r\n\r\n",
    ] {
        let mut s = connect(k.addr);
        s.write_all(garbage).unwrap();
        let mut r = BufReader::new(s.try_clone().unwrap());
        let resp = read_response(&mut r, false).unwrap();
        assert_eq!(resp.status, 400, "{garbage:?}");
        assert!(
            closed_within(&mut s, Duration::from_secs(5)),
            "closed after a 400"
        );
    }
}

#[test]
fn oversized_request_line_is_414_and_headers_431() {
    if have("curl").is_none() {
        return;
    }
    let k = Knot::start(&[]);
    let long = k.url(&format!("/{}", "a".repeat(9000)));
    assert_eq!(curl_status(&[&long]), 414);
    let big = format!("X-Big: {}", "b".repeat(20_000));
    assert_eq!(curl_status(&["-H", &big, &k.url("/")]), 431);
    let many: Vec<String> = (0..80).map(|i| format!("X-H{i}: v")).collect();
    let mut args: Vec<&str> = many.iter().flat_map(|h| ["-H", h.as_str()]).collect();
    let url = k.url("/");
    args.push(&url);
    assert_eq!(curl_status(&args), 431);
}

#[test]
fn keep_alive_reuses_one_connection() {
    if have("curl").is_none() {
        return;
    }
    let k = Knot::start(&[]);
    let out = curl(&[
        "-v",
        "-o",
        "/dev/null",
        "-o",
        "/dev/null",
        &k.url("/"),
        &k.url("/style.css"),
    ]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert!(err.contains("Re-using existing connection"), "{err}");
    // HTTP/1.0 asks for keep-alive explicitly and gets it.
    let mut s = connect(k.addr);
    let mut r = BufReader::new(s.try_clone().unwrap());
    for _ in 0..3 {
        s.write_all(b"GET /hello.txt HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
            .unwrap();
        let resp = read_response(&mut r, false).unwrap();
        assert_eq!(resp.status, 200);
        assert_eq!(resp.header("connection"), Some("keep-alive"));
    }
}

#[test]
fn pipelined_requests_are_answered_in_order() {
    let k = Knot::start(&[]);
    let mut s = connect(k.addr);
    s.write_all(
        b"GET /hello.txt HTTP/1.1\r\nHost: x\r\n\r\n\
          GET /missing HTTP/1.1\r\nHost: x\r\n\r\n\
          HEAD /about.html HTTP/1.1\r\nHost: x\r\n\r\n\
          GET /style.css HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    )
    .unwrap();
    let mut r = BufReader::new(s.try_clone().unwrap());
    let a = read_response(&mut r, false).unwrap();
    assert_eq!(a.status, 200);
    assert_eq!(a.body, fs::read(site().join("hello.txt")).unwrap());
    let b = read_response(&mut r, false).unwrap();
    assert_eq!(b.status, 404);
    let c = read_response(&mut r, true).unwrap();
    assert_eq!(c.status, 200);
    let d = read_response(&mut r, false).unwrap();
    assert_eq!(d.body, fs::read(site().join("style.css")).unwrap());
    let mut rest = Vec::new();
    r.read_to_end(&mut rest).unwrap();
    assert!(rest.is_empty(), "closed after `Connection: close`");
}

#[test]
fn many_pipelined_requests_in_one_write() {
    let k = Knot::start(&[]);
    let s = connect(k.addr);
    let n = 500;
    let req = b"GET /index.html HTTP/1.1\r\nHost: x\r\n\r\n".repeat(n);
    let w = s.try_clone().unwrap();
    let writer = thread::spawn(move || {
        let mut w = w;
        w.write_all(&req).unwrap();
    });
    let mut r = BufReader::new(s.try_clone().unwrap());
    let want = fs::read(site().join("index.html")).unwrap();
    for i in 0..n {
        let resp = read_response(&mut r, false).unwrap();
        assert_eq!(
            (resp.status, resp.body.len()),
            (200, want.len()),
            "response {i}"
        );
    }
    writer.join().unwrap();
    s.shutdown(std::net::Shutdown::Write).unwrap();
}

#[test]
fn never_serves_outside_the_root() {
    if have("curl").is_none() {
        return;
    }
    let dir = TempDir::new("traversal");
    let root = dir.path().join("root");
    fs::create_dir_all(root.join("sub")).unwrap();
    fs::write(root.join("index.html"), "inside").unwrap();
    fs::write(dir.path().join("secret.txt"), "TOP SECRET").unwrap();
    std::os::unix::fs::symlink(dir.path().join("secret.txt"), root.join("out")).unwrap();
    std::os::unix::fs::symlink(dir.path(), root.join("sub/up")).unwrap();
    let k = Knot::start(&["--root", root.to_str().unwrap()]);
    assert_eq!(curl_get(&k.url("/"), &[]).1, b"inside");
    for path in [
        "/../secret.txt",
        "/sub/../../secret.txt",
        "/%2e%2e/secret.txt",
        "/%2E%2E/secret.txt",
        "/..%2fsecret.txt",
        "/%2e%2e%2fsecret.txt",
        "/sub/%2e%2e/%2e%2e/secret.txt",
        "/..%5csecret.txt",
        "/out",
        "/sub/up/secret.txt",
    ] {
        let (headers, body) = curl_get(&k.url(path), &["--path-as-is"]);
        assert!(headers.starts_with("HTTP/1.1 404"), "{path}: {headers}");
        assert!(!String::from_utf8_lossy(&body).contains("SECRET"), "{path}");
    }
    // Dot segments are resolved inside the root: `/sub/../` is the root itself.
    let inside = exchange(k.addr, b"GET /sub/../index.html HTTP/1.0\r\n\r\n", false);
    assert_eq!(inside.status, 200);
    // The same requests on a raw socket, in case a client normalised anything.
    for path in ["/../secret.txt", "/%2e%2e/secret.txt", "/out"] {
        let req = format!("GET {path} HTTP/1.0\r\n\r\n");
        assert_eq!(
            exchange(k.addr, req.as_bytes(), false).status,
            404,
            "{path}"
        );
    }
}

#[test]
fn idle_connection_is_closed_after_the_timeout() {
    // Said in milliseconds, and with a unit: the same 300 ms.
    let ms = Knot::start(&["--idle-timeout-ms", "300"]);
    let k = Knot::start(&["--idle-timeout", "300ms"]);
    for k in [&ms, &k] {
        let t = Instant::now();
        let mut silent = connect(k.addr);
        assert!(closed_within(&mut silent, Duration::from_secs(5)));
        let took = t.elapsed();
        assert!(
            took >= Duration::from_millis(250) && took < Duration::from_secs(3),
            "closed after {took:?}"
        );
    }
    // A keep-alive connection that goes quiet after a request is closed too.
    let mut s = connect(k.addr);
    s.write_all(b"GET /hello.txt HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    let mut r = BufReader::new(s.try_clone().unwrap());
    assert_eq!(read_response(&mut r, false).unwrap().status, 200);
    assert!(closed_within(&mut s, Duration::from_secs(5)));
}

#[test]
fn slowloris_does_not_stop_service() {
    if have("curl").is_none() {
        return;
    }
    let idle = Duration::from_millis(4000);
    let k = Knot::start(&["--idle-timeout-ms", "4000"]);
    let start = Instant::now();
    // 100 connections that send nothing, 100 that send a never-ending head one byte at a time.
    let mut idle_conns: Vec<_> = (0..100).map(|_| connect(k.addr)).collect();
    let mut trickle: Vec<_> = (0..100).map(|_| connect(k.addr)).collect();
    let writers: Vec<_> = trickle.iter().map(|s| s.try_clone().unwrap()).collect();
    let stop = start + idle + Duration::from_secs(2);
    let dribbler = thread::spawn(move || {
        let head = b"GET / HTTP/1.1\r\nHost: x\r\nX-Slow: ";
        let mut writers = writers;
        let mut i = 0;
        while Instant::now() < stop {
            let b = head.get(i).copied().unwrap_or(b'z');
            for w in &mut writers {
                let _ = w.write(&[b]); // fails once the server closed it: fine
            }
            i += 1;
            thread::sleep(Duration::from_millis(50));
        }
    });
    // Meanwhile a normal client is served at once, again and again.
    let want = fs::read(site().join("index.html")).unwrap();
    let mut served = 0;
    while served == 0 || start.elapsed() < idle / 2 {
        let t = Instant::now();
        let (headers, body) = curl_get(&k.url("/"), &[]);
        assert!(headers.starts_with("HTTP/1.1 200"), "{headers}");
        assert_eq!(body, want);
        let took = t.elapsed();
        assert!(
            took < Duration::from_secs(2),
            "a normal request took {took:?}"
        );
        served += 1;
        thread::sleep(Duration::from_millis(100));
    }
    // The slow connections are still open before the idle timeout...
    if start.elapsed() < idle - Duration::from_millis(500) {
        assert!(!closed_within(
            &mut idle_conns[0],
            Duration::from_millis(10)
        ));
        assert!(!closed_within(&mut trickle[0], Duration::from_millis(10)));
    }
    // ... and all 200 are closed at it, the byte-at-a-time ones too (the whole head must
    // arrive within the timeout). Each opened after `start`, so none closes before
    // `start + idle`.
    let by = start + idle + Duration::from_secs(2);
    assert!(closed_within(&mut idle_conns[0], by - Instant::now()));
    assert!(
        start.elapsed() >= idle - Duration::from_millis(50),
        "closed early"
    );
    for s in idle_conns.iter_mut().chain(trickle.iter_mut()) {
        let left = by.saturating_duration_since(Instant::now());
        assert!(
            closed_within(s, left.max(Duration::from_millis(10))),
            "not closed at the idle timeout"
        );
    }
    dribbler.join().unwrap();
    // The server still serves.
    assert_eq!(curl_get(&k.url("/"), &[]).1, want);
}

#[test]
fn garbage_never_takes_the_server_down() {
    let mut k = Knot::start(&["--idle-timeout-ms", "500"]);
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = move || {
        x ^= x << 7;
        x ^= x >> 9;
        x
    };
    let prefixes: [&[u8]; 4] = [
        b"",
        b"GET /",
        b"GET / HTTP/1.1\r\n",
        b"HEAD /index.html HTTP/1.0\r\nX: ",
    ];
    for i in 0..200 {
        let mut msg = prefixes[i % prefixes.len()].to_vec();
        let len = (next() % 3000) as usize;
        msg.extend((0..len).map(|_| next() as u8));
        if i % 3 == 0 {
            msg.extend_from_slice(b"\r\n\r\n");
        }
        let mut s = connect(k.addr);
        let _ = s.write_all(&msg);
        // Either an answer and a close, or a close at the idle timeout; never a hang.
        assert!(closed_within(&mut s, Duration::from_secs(5)), "message {i}");
    }
    assert!(k.alive(), "{}", k.stderr());
    assert_eq!(
        exchange(k.addr, b"GET /hello.txt HTTP/1.0\r\n\r\n", false).status,
        200
    );
}

#[test]
fn max_conns_refuses_the_excess_and_recovers() {
    let k = Knot::start(&["--max-conns", "5"]);
    let mut held = Vec::new();
    for _ in 0..5 {
        // Busy connections (a request head on its way), which do not give way.
        let mut s = connect(k.addr);
        s.write_all(b"GET /hello.txt HTTP/1.1\r\nHost: x\r\n")
            .unwrap();
        held.push(s);
    }
    thread::sleep(Duration::from_millis(200));
    // The sixth is answered 503 (or just closed), at once.
    let mut sixth = connect(k.addr);
    let mut got = Vec::new();
    let _ = sixth.read_to_end(&mut got);
    let text = String::from_utf8_lossy(&got);
    assert!(
        text.is_empty() || text.starts_with("HTTP/1.1 503 "),
        "{text}"
    );
    // Close one: a new connection is served again.
    drop(held.pop());
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let mut s = connect(k.addr);
        s.write_all(b"GET /hello.txt HTTP/1.0\r\n\r\n").unwrap();
        match read_response(&mut BufReader::new(s), false) {
            Ok(r) if r.status == 200 => break,
            other => assert!(Instant::now() < deadline, "still refused: {other:?}"),
        }
        thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn out_of_file_descriptors_on_accept_is_survived() {
    // With at most 32 open files, connections beyond ~25 hit EMFILE on accept.
    let mut k = Knot::start_with(&[], Some(32));
    let hogs: Vec<_> = (0..60).map(|_| connect(k.addr)).collect();
    thread::sleep(Duration::from_millis(300));
    assert!(k.alive(), "knot died: {}", k.stderr());
    drop(hogs);
    // The backlog drains (the hogs are closed as they are accepted) and service resumes.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let mut s = connect(k.addr);
        s.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
        let _ = s.write_all(b"GET /hello.txt HTTP/1.0\r\n\r\n");
        if let Ok(r) = read_response(&mut BufReader::new(s), false) {
            assert_eq!(r.status, 200);
            break;
        }
        assert!(
            Instant::now() < deadline,
            "not served again: {}",
            k.stderr()
        );
    }
    assert!(k.alive());
    assert!(k.stderr().contains("accept:"), "{}", k.stderr());
}

#[test]
fn large_file_is_streamed_byte_for_byte() {
    if have("curl").is_none() {
        return;
    }
    let dir = TempDir::new("large");
    // 20 MiB of a non-repeating pattern (a shifted chunk would show).
    let mut data = Vec::with_capacity(20 << 20);
    let mut x: u32 = 1;
    while data.len() < 20 << 20 {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        data.extend_from_slice(&x.to_le_bytes());
    }
    fs::write(dir.path().join("big.bin"), &data).unwrap();
    let k = Knot::start(&["--root", dir.path().to_str().unwrap(), "--cache-mb", "1"]);
    let (headers, body) = curl_get(&k.url("/big.bin"), &[]);
    assert_eq!(header(&headers, "content-length"), Some("20971520"));
    assert_eq!(
        header(&headers, "content-type"),
        Some("application/octet-stream")
    );
    assert!(body == data, "streamed body differs");
    // Slow readers: the server waits for them instead of buffering. Four connections ask for
    // the file and read nothing for a while; the server's memory must not grow by anything
    // like 4 x 20 MiB (it holds one 64 KiB chunk per connection). A HEAD pipelined behind
    // each GET shows the stream ended exactly at the file's length.
    let before = k.rss_kib().expect("VmRSS of the server");
    let mut slow: Vec<_> = (0..4)
        .map(|_| {
            let mut s = connect(k.addr);
            s.write_all(
                b"GET /big.bin HTTP/1.1\r\nHost: x\r\n\r\nHEAD /big.bin HTTP/1.1\r\nHost: x\r\n\r\n",
            )
            .unwrap();
            s
        })
        .collect();
    thread::sleep(Duration::from_millis(500));
    let during = k.rss_kib().expect("VmRSS of the server");
    assert!(
        during < before + 8 * 1024,
        "server memory grew from {before} KiB to {during} KiB with 4 stalled readers"
    );
    for s in slow.drain(..) {
        let mut r = BufReader::new(s);
        let a = read_response(&mut r, false).unwrap();
        assert!(a.body == data, "streamed body differs for a slow reader");
        let b = read_response(&mut r, true).unwrap();
        assert_eq!(b.header("content-length"), Some("20971520"));
    }
}

#[test]
fn ab_keep_alive_load_has_no_errors() {
    if have("ab").is_none() {
        return;
    }
    let k = Knot::start(&[]);
    let out = run(
        Command::new("ab").args([
            "-q",
            "-n",
            "2000",
            "-c",
            "50",
            "-k",
            "-s",
            "20",
            &k.url("/index.html"),
        ]),
        Duration::from_secs(60),
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(text.contains("Complete requests:      2000"), "{text}");
    assert!(text.contains("Failed requests:        0"), "{text}");
    assert!(!text.contains("Non-2xx"), "{text}");
    assert!(text.contains("Keep-Alive requests:    2000"), "{text}");
    // And without keep-alive (HTTP/1.0, one connection per request).
    let out = run(
        Command::new("ab").args([
            "-q",
            "-n",
            "500",
            "-c",
            "20",
            "-s",
            "20",
            &k.url("/hello.txt"),
        ]),
        Duration::from_secs(60),
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("Failed requests:        0"), "{text}");
    assert!(!text.contains("Non-2xx"), "{text}");
}

#[test]
fn wrk_load_has_no_errors() {
    if have("wrk").is_none() {
        return;
    }
    let k = Knot::start(&[]);
    let out = run(
        Command::new("wrk").args([
            "-t1",
            "-c50",
            "-d2s",
            "--timeout",
            "5s",
            &k.url("/index.html"),
        ]),
        Duration::from_secs(30),
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!text.contains("Socket errors"), "{text}");
    assert!(!text.contains("Non-2xx"), "{text}");
    let requests: u64 = text
        .lines()
        .find_map(|l| {
            l.trim()
                .split_once(" requests in ")
                .map(|(n, _)| n.trim().parse().unwrap_or(0))
        })
        .unwrap_or(0);
    assert!(requests > 100, "{text}");
}

#[test]
fn chromium_renders_the_default_site() {
    if have("chromium").is_none() {
        return;
    }
    let k = Knot::start(&["--log"]);
    let chromium = |profile: &TempDir, extra: &[&str]| {
        let mut c = Command::new("chromium");
        c.args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-dev-shm-usage",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .args(extra)
        .arg(k.url("/"));
        run(&mut c, Duration::from_secs(90))
    };
    let profile = TempDir::new("chromium");
    let out = chromium(&profile, &["--dump-dom"]);
    let dom = String::from_utf8_lossy(&out.stdout);
    assert!(
        dom.contains(r#"<h1 id="title">knot is serving this page</h1>"#),
        "DOM: {dom}\nstderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let shots = TempDir::new("shot");
    let png = shots.path().join("knot.png");
    let profile = TempDir::new("chromium");
    let out = chromium(
        &profile,
        &[
            &format!("--screenshot={}", png.display()),
            "--window-size=800,600",
        ],
    );
    let bytes = fs::read(&png).unwrap_or_else(|e| {
        panic!(
            "no screenshot ({e}): {}",
            String::from_utf8_lossy(&out.stderr)
        )
    });
    assert!(bytes.starts_with(b"\x89PNG\r\n\x1a\n"), "not a PNG");
    assert!(bytes.len() > 10_000, "a blank page? {} bytes", bytes.len());
    // The browser fetched the page's stylesheet too: it rendered the page, not just the HTML.
    assert!(
        k.stderr().contains("\"GET /style.css HTTP/1.1\" 200"),
        "{}",
        k.stderr()
    );
}

#[test]
fn content_length_shapes_that_could_smuggle_a_request_are_400() {
    // Two lengths that differ (37, then 0), a sign, a list of two: a proxy in front that read
    // the other length would see the second request inside this one's body.
    let k = Knot::start(&[]);
    for head in [
        &b"GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 37\r\nContent-Length: 0\r\n\r\n"[..],
        b"GET / HTTP/1.1\r\nHost: x\r\nContent-Length: +37\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 37, 0\r\n\r\n",
    ] {
        let mut s = connect(k.addr);
        s.write_all(head).unwrap();
        s.write_all(b"GET /index.html HTTP/1.1\r\nHost: x\r\n\r\n")
            .unwrap();
        let mut r = BufReader::new(s.try_clone().unwrap());
        let resp = read_response(&mut r, false).unwrap();
        assert_eq!(resp.status, 400, "{}", String::from_utf8_lossy(head));
        assert!(
            closed_within(&mut s, Duration::from_secs(5)),
            "closed after the 400, the smuggled request unanswered"
        );
    }
}

#[test]
fn out_of_file_descriptors_an_existing_file_is_503_not_404() {
    // Root: one file that is streamed (larger than a quarter of a 1 MiB cache, so each
    // download holds its own descriptor while the client does not read) and small files,
    // each asked for once (never cached, so each needs an open).
    let dir = TempDir::new("nofds");
    fs::write(dir.path().join("big.bin"), vec![7u8; 32 << 20]).unwrap();
    for i in 0..4 {
        fs::write(dir.path().join(format!("s{i}.txt")), format!("small {i}")).unwrap();
    }
    let root = dir.path().to_str().unwrap();
    let mut k = Knot::start_with(&["--root", root, "--cache-mb", "1"], Some(40));
    // A keep-alive client, accepted while descriptors are left.
    let mut probe = connect(k.addr);
    probe
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    let mut reader = BufReader::new(probe.try_clone().unwrap());
    probe
        .write_all(b"GET /s0.txt HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    assert_eq!(read_response(&mut reader, false).unwrap().status, 200);
    // Slow readers of the big file until one is not served: knot has no descriptor left.
    let mut hogs = Vec::new();
    for _ in 0..64 {
        let mut h = connect(k.addr);
        h.set_read_timeout(Some(Duration::from_millis(500)))
            .unwrap();
        h.write_all(b"GET /big.bin HTTP/1.1\r\nHost: x\r\n\r\n")
            .unwrap();
        let mut first = [0u8; 1];
        let served = h.read(&mut first).is_ok_and(|n| n == 1);
        hogs.push(h);
        if !served {
            break;
        }
    }
    // The file exists; knot cannot open it now: 503, not 404.
    probe
        .write_all(b"GET /s1.txt HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    let r = read_response(&mut reader, false).unwrap();
    assert!(k.alive(), "knot died: {}", k.stderr());
    assert_eq!(r.status, 503, "{}", k.stderr());
    let said = k.stderr().matches("cannot read a file that exists").count();
    assert_eq!(said, 1, "reported once per burst: {}", k.stderr());
    drop(hogs);
}

#[test]
fn protocol_edges_close_host_and_absolute_form() {
    let k = Knot::start(&[]);
    // `close` wins over `keep-alive`.
    let mut s = connect(k.addr);
    s.write_all(b"GET /hello.txt HTTP/1.1\r\nHost: x\r\nConnection: close, keep-alive\r\n\r\n")
        .unwrap();
    let mut r = BufReader::new(s.try_clone().unwrap());
    assert_eq!(read_response(&mut r, false).unwrap().status, 200);
    assert!(closed_within(&mut s, Duration::from_secs(5)), "closed");
    // HTTP/1.1 without Host: 400.
    let resp = exchange(k.addr, b"GET /hello.txt HTTP/1.1\r\n\r\n", false);
    assert_eq!(resp.status, 400);
    // An absolute-form target is served as its path.
    let resp = exchange(
        k.addr,
        b"GET http://example.com/hello.txt HTTP/1.1\r\nHost: example.com\r\nConnection: close\r\n\r\n",
        false,
    );
    assert_eq!(resp.status, 200);
}

#[test]
fn a_directory_without_its_slash_is_a_301_to_it() {
    let dir = TempDir::new("redirect");
    fs::create_dir_all(dir.path().join("docs")).unwrap();
    fs::write(dir.path().join("docs/index.html"), "docs").unwrap();
    fs::write(dir.path().join("index.html"), "home").unwrap();
    let k = Knot::start(&["--root", dir.path().to_str().unwrap()]);
    let r = exchange(k.addr, b"GET /docs?v=2 HTTP/1.0\r\n\r\n", false);
    assert_eq!(r.status, 301);
    assert_eq!(r.header("location"), Some("/docs/?v=2"));
    let r = exchange(k.addr, b"GET /docs/ HTTP/1.0\r\n\r\n", false);
    assert_eq!(r.status, 200);
    assert_eq!(r.body, b"docs");
}

/// 100 kept-alive connections, each answered once, so that knot already waits on them; then
/// each sends `last` and its FIN in one go, in one readiness edge. knot must answer `last` if
/// it is a whole request (`answered`), see the end of the stream and close, not wait for more
/// until the idle timeout (10 s here).
fn a_close_that_arrives_with(last: &[u8], answered: bool) {
    let k = Knot::start(&["--idle-timeout-ms", "10000"]);
    let t0 = Instant::now();
    let mut conns = Vec::new();
    for _ in 0..100 {
        let mut s = connect(k.addr);
        s.write_all(b"GET /hello.txt HTTP/1.1\r\nHost: x\r\n\r\n")
            .unwrap();
        let mut r = BufReader::new(s.try_clone().unwrap());
        assert_eq!(read_response(&mut r, false).unwrap().status, 200);
        s.write_all(last).unwrap();
        s.shutdown(std::net::Shutdown::Write).unwrap();
        conns.push((s, r));
    }
    for (mut s, mut r) in conns {
        if answered {
            assert_eq!(read_response(&mut r, false).unwrap().status, 200);
        }
        assert!(
            closed_within(&mut s, Duration::from_secs(3)),
            "a connection was held after its client closed"
        );
    }
    assert!(t0.elapsed() < Duration::from_secs(8), "{:?}", t0.elapsed());
}

#[test]
fn a_close_that_arrives_with_a_partial_request_is_seen_at_once() {
    a_close_that_arrives_with(b"GET /hello.txt HTTP/1.1\r\nHo", false);
}

#[test]
fn a_close_that_arrives_with_a_whole_request_is_answered_and_seen_at_once() {
    // knot's read comes back short, so it waits instead of reading again: that wait must
    // still see the close.
    a_close_that_arrives_with(b"GET /hello.txt HTTP/1.1\r\nHost: x\r\n\r\n", true);
}

#[test]
fn at_max_conns_an_idle_keep_alive_connection_gives_way_to_a_newcomer() {
    let k = Knot::start(&["--max-conns", "2"]);
    let mut idle = Vec::new();
    for _ in 0..2 {
        let mut s = connect(k.addr);
        s.write_all(b"GET /hello.txt HTTP/1.1\r\nHost: x\r\n\r\n")
            .unwrap();
        let mut r = BufReader::new(s.try_clone().unwrap());
        assert_eq!(read_response(&mut r, false).unwrap().status, 200);
        idle.push(s); // kept alive, waiting for its next request
    }
    // A third client is served, not refused: the connection idle the longest is closed.
    let r = exchange(k.addr, b"GET /hello.txt HTTP/1.0\r\n\r\n", false);
    assert_eq!(r.status, 200);
    let mut oldest = idle.remove(0);
    assert!(
        closed_within(&mut oldest, Duration::from_secs(5)),
        "the oldest idle one closed"
    );
    // The other idle one still works.
    let mut s = idle.remove(0);
    s.write_all(b"GET /hello.txt HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    let mut r = BufReader::new(s.try_clone().unwrap());
    assert_eq!(read_response(&mut r, false).unwrap().status, 200);
}

#[test]
fn slow_readers_of_many_files_keep_memory_within_the_cache_bound() {
    // 10 files of 15 MiB, each under a quarter of the default 64 MiB cache, each asked for by
    // its own client that does not read (more than the socket buffers take): what knot holds
    // for their bodies must stay within 64 MiB. It held all 150 MiB before: a file read whole
    // stays pinned while its response waits.
    let dir = TempDir::new("membound");
    for i in 0..10 {
        fs::write(
            dir.path().join(format!("f{i}.bin")),
            vec![i as u8; 15 << 20],
        )
        .unwrap();
    }
    let k = Knot::start(&["--root", dir.path().to_str().unwrap()]);
    let before = k.rss_kib().expect("VmRSS of the server");
    let mut slow = Vec::new();
    for i in 0..10 {
        let mut s = connect(k.addr);
        let req = format!("GET /f{i}.bin HTTP/1.1\r\nHost: x\r\n\r\n");
        s.write_all(req.as_bytes()).unwrap();
        slow.push(s);
    }
    thread::sleep(Duration::from_millis(700));
    let during = k.rss_kib().expect("VmRSS of the server");
    let grew_mib = during.saturating_sub(before) / 1024;
    assert!(
        grew_mib < 100,
        "knot grew by {grew_mib} MiB serving 10 slow readers of 15 MiB files with a 64 MiB cache"
    );
    drop(slow);
}

#[test]
fn a_byte_range_is_206_and_one_past_the_end_is_416() {
    let dir = TempDir::new("range");
    let small: Vec<u8> = (0..1000u32).map(|i| (i % 251) as u8).collect();
    let big: Vec<u8> = (0..(3u32 << 20)).map(|i| (i % 253) as u8).collect();
    fs::write(dir.path().join("small.bin"), &small).unwrap();
    fs::write(dir.path().join("big.bin"), &big).unwrap(); // streamed with a 1 MiB cache
    let k = Knot::start(&["--root", dir.path().to_str().unwrap(), "--cache-mb", "1"]);
    for (path, body) in [("/small.bin", &small), ("/big.bin", &big)] {
        let len = body.len();
        for (spec, from, to) in [
            ("bytes=10-19", 10, 20),
            ("bytes=-7", len - 7, len),
            (&*format!("bytes={}-", len - 3), len - 3, len),
        ] {
            let req = format!("GET {path} HTTP/1.0\r\nRange: {spec}\r\n\r\n");
            let r = exchange(k.addr, req.as_bytes(), false);
            assert_eq!(r.status, 206, "{path} {spec}");
            assert_eq!(r.body, &body[from..to], "{path} {spec}");
            let want = format!("bytes {from}-{}/{len}", to - 1);
            assert_eq!(
                r.header("content-range"),
                Some(want.as_str()),
                "{path} {spec}"
            );
        }
        let req = format!("GET {path} HTTP/1.0\r\nRange: bytes={len}-\r\n\r\n");
        let r = exchange(k.addr, req.as_bytes(), false);
        assert_eq!(r.status, 416, "{path}");
        let want = format!("bytes */{len}");
        assert_eq!(r.header("content-range"), Some(want.as_str()));
    }
    // Without a Range, the whole file, and the server says it takes ranges.
    let r = exchange(k.addr, b"GET /small.bin HTTP/1.0\r\n\r\n", false);
    assert_eq!((r.status, r.body.len()), (200, 1000));
    assert_eq!(r.header("accept-ranges"), Some("bytes"));
}

#[test]
fn conditional_requests_get_304_when_the_copy_is_current() {
    let k = Knot::start(&[]);
    let r = exchange(k.addr, b"GET /hello.txt HTTP/1.0\r\n\r\n", false);
    assert_eq!(r.status, 200);
    let etag = r.header("etag").expect("an ETag").to_string();
    let modified = r
        .header("last-modified")
        .expect("a Last-Modified")
        .to_string();
    assert!(
        r.header("date").is_some_and(|d| d.ends_with(" GMT")),
        "a Date"
    );
    let ask = |headers: &str| {
        let req = format!("GET /hello.txt HTTP/1.0\r\n{headers}\r\n");
        exchange(k.addr, req.as_bytes(), false)
    };
    let r = ask(&format!("If-None-Match: {etag}\r\n"));
    assert_eq!((r.status, r.body.len()), (304, 0));
    assert_eq!(r.header("etag"), Some(etag.as_str()));
    let r = ask(&format!("If-Modified-Since: {modified}\r\n"));
    assert_eq!(r.status, 304);
    let r = ask("If-Modified-Since: Thu, 01 Jan 1970 00:00:00 GMT\r\n");
    assert_eq!(r.status, 200, "modified since 1970");
    let r = ask(&format!(
        "If-None-Match: \"other\"\r\nIf-Modified-Since: {modified}\r\n"
    ));
    assert_eq!(r.status, 200, "If-None-Match decides when present");
}

/// The listen backlog of the socket listening on `addr`, from `ss` (the Send-Q column of a
/// listening socket); `None` when ss is missing (skipped, or a failure under `CI=true`).
fn listen_backlog(addr: std::net::SocketAddr) -> Option<u32> {
    have("ss")?;
    let filter = format!("sport = :{}", addr.port());
    let out = run(
        Command::new("ss").args(["-Hltn", &filter]),
        Duration::from_secs(10),
    );
    let text = String::from_utf8_lossy(&out.stdout);
    let line = text
        .lines()
        .find(|l| l.contains(&addr.to_string()))
        .unwrap_or_else(|| panic!("no listener on {addr} in ss: {text}"));
    // State, Recv-Q, Send-Q (the backlog), local address, peer address.
    let send_q = line.split_whitespace().nth(2).expect("Send-Q column");
    Some(send_q.parse().expect("a number"))
}

/// Connections to `addr` whose handshake completes within 300 ms, out of `n` tried (each kept
/// open until all are tried).
fn handshakes(addr: std::net::SocketAddr, n: usize) -> usize {
    let conns: Vec<_> = (0..n)
        .filter_map(|_| {
            std::net::TcpStream::connect_timeout(&addr, Duration::from_millis(300)).ok()
        })
        .collect();
    conns.len()
}

#[test]
fn backlog_sets_the_kernel_queue_of_the_listener() {
    let somaxconn: u32 = fs::read_to_string("/proc/sys/net/core/somaxconn")
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(4096);
    let small = Knot::start(&["--backlog", "1"]);
    let default = Knot::start(&[]);
    if let Some(b) = listen_backlog(small.addr) {
        assert_eq!(b, 1, "--backlog 1");
        assert_eq!(
            listen_backlog(default.addr),
            Some(511.min(somaxconn)),
            "the default (the kernel caps it at net.core.somaxconn = {somaxconn})"
        );
    }
    // What a backlog does: while the server accepts nothing (stopped), the kernel completes
    // the handshakes of only backlog + 1 connections (Linux); the next SYNs are dropped. With
    // the default, all 5 complete.
    small.signal("STOP");
    default.signal("STOP");
    let (queued_small, queued_default) = (handshakes(small.addr, 5), handshakes(default.addr, 5));
    small.signal("CONT");
    default.signal("CONT");
    assert!(
        queued_small <= 2,
        "--backlog 1 queued {queued_small} connections"
    );
    assert_eq!(queued_default, 5);
    // And the server serves on.
    let r = exchange(small.addr, b"GET /hello.txt HTTP/1.0\r\n\r\n", false);
    assert_eq!(r.status, 200);
}

/// Found by fuzzing the head parser (`fuzz/`): a suffix range of an empty file is 416, not a
/// 206 of no bytes whose `Content-Range` ends before it starts (a debug build panicked there
/// and took the server down).
#[test]
fn a_suffix_range_of_an_empty_file_is_416() {
    let dir = TempDir::new("empty-range");
    fs::write(dir.path().join("empty.txt"), b"").unwrap();
    let k = Knot::start(&["--root", dir.path().to_str().unwrap()]);
    for spec in ["bytes=-7", "bytes=-1", "bytes=0-", "bytes=0-0"] {
        let req = format!("GET /empty.txt HTTP/1.0\r\nRange: {spec}\r\n\r\n");
        let r = exchange(k.addr, req.as_bytes(), false);
        assert_eq!(r.status, 416, "{spec}");
        assert_eq!(r.header("content-range"), Some("bytes */0"), "{spec}");
    }
    let r = exchange(k.addr, b"GET /empty.txt HTTP/1.0\r\n\r\n", false);
    assert_eq!((r.status, r.body.len()), (200, 0));
}

/// Found by fuzzing the head parser (`fuzz/`): an `If-Modified-Since` whose year has more
/// than four digits is not a date (ignored), where its seconds overflowed (a debug build
/// panicked and the server died).
#[test]
fn an_if_modified_since_past_the_year_9999_is_ignored() {
    let k = Knot::start(&[]);
    for (date, status) in [
        ("Sun, 06 Nov 999999999999991994 08:49:37 GMT", 200),
        ("Sun, 06 Nov 10000 08:49:37 GMT", 200),
        ("Fri, 31 Dec 9999 23:59:59 GMT", 304),
    ] {
        let req = format!("GET /hello.txt HTTP/1.0\r\nIf-Modified-Since: {date}\r\n\r\n");
        let r = exchange(k.addr, req.as_bytes(), false);
        assert_eq!(r.status, status, "{date}");
    }
}

/// Found by the property test of the head parser (`props.rs`): a range whose last byte is
/// the largest number a `u64` holds is a range to the end of the file, where one past it
/// overflowed (a debug build panicked and the server died).
#[test]
fn a_range_ending_at_u64_max_is_the_rest_of_the_file() {
    let k = Knot::start(&[]);
    let body = fs::read(site().join("hello.txt")).unwrap();
    let len = body.len();
    let req = format!(
        "GET /hello.txt HTTP/1.0\r\nRange: bytes=5-{}\r\n\r\n",
        u64::MAX
    );
    let r = exchange(k.addr, req.as_bytes(), false);
    assert_eq!(r.status, 206);
    assert_eq!(r.body, &body[5..]);
    let want = format!("bytes 5-{}/{len}", len - 1);
    assert_eq!(r.header("content-range"), Some(want.as_str()));
}

/// `n` bytes of a non-repeating pattern (a shifted or missing chunk would show).
fn pattern(n: usize) -> Vec<u8> {
    let mut data = Vec::with_capacity(n + 4);
    let mut x: u32 = 7;
    while data.len() < n {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        data.extend_from_slice(&x.to_le_bytes());
    }
    data.truncate(n);
    data
}

/// A directory with `big.bin` (`data`) and `hello.txt`, served by knot with a 1 MiB cache (so
/// big.bin is streamed, a chunk at a time) and `extra` options.
fn knot_with_a_big_file(data: &[u8], extra: &[&str]) -> (Knot, TempDir) {
    let dir = TempDir::new("drain");
    fs::write(dir.path().join("big.bin"), data).unwrap();
    fs::write(dir.path().join("hello.txt"), "hello\n").unwrap();
    let mut args = vec!["--root", dir.path().to_str().unwrap(), "--cache-mb", "1"];
    args.extend_from_slice(extra);
    (Knot::start(&args), dir)
}

/// Sends a GET for big.bin on a new connection and reads the response head: the body's length.
fn start_download(k: &Knot) -> (BufReader<std::net::TcpStream>, usize) {
    let mut s = connect(k.addr);
    s.write_all(b"GET /big.bin HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    let mut r = BufReader::new(s);
    let mut len = None;
    loop {
        let mut line = String::new();
        r.read_line(&mut line).unwrap();
        if line.trim_end().is_empty() {
            break;
        }
        if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
            len = v.trim().parse().ok();
        }
    }
    (r, len.expect("a Content-Length"))
}

/// Whether a new connection to `addr` is refused within `limit` (the listener was closed).
fn refused_within(addr: std::net::SocketAddr, limit: Duration) -> bool {
    let deadline = Instant::now() + limit;
    while Instant::now() < deadline {
        match std::net::TcpStream::connect_timeout(&addr, Duration::from_millis(300)) {
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionRefused => return true,
            _ => thread::sleep(Duration::from_millis(20)),
        }
    }
    false
}

#[test]
fn sigterm_stops_accepting_and_lets_a_download_finish_then_exits_0() {
    // 32 MiB: far more than the socket buffers hold, so the download is still under way when
    // the signal comes.
    let data = pattern(32 << 20);
    let (mut k, _dir) = knot_with_a_big_file(&data, &[]);
    // A keep-alive connection, idle after one request.
    let mut idle = connect(k.addr);
    idle.write_all(b"GET /hello.txt HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    let mut r = BufReader::new(idle.try_clone().unwrap());
    assert_eq!(read_response(&mut r, false).unwrap().status, 200);
    // A download, read slowly: the first 256 KiB, then the signal.
    let (mut dl, len) = start_download(&k);
    assert_eq!(len, data.len());
    let mut body = vec![0; 256 << 10];
    dl.read_exact(&mut body).unwrap();
    k.signal("TERM");
    // The idle connection is closed at once, and new connections are refused.
    assert!(
        closed_within(&mut idle, Duration::from_secs(3)),
        "idle connection still open"
    );
    assert!(
        refused_within(k.addr, Duration::from_secs(3)),
        "still accepting"
    );
    // The download goes on, at a slow pace, to its last byte; then the server closes it.
    let mut chunk = vec![0; 256 << 10];
    while body.len() < len {
        let n = dl.read(&mut chunk).expect("the download goes on");
        assert!(n > 0, "cut after {} of {len} bytes", body.len());
        body.extend_from_slice(&chunk[..n]);
        thread::sleep(Duration::from_millis(2));
    }
    assert!(body == data, "the body differs");
    assert_eq!(dl.read(&mut chunk).unwrap_or(0), 0, "closed after the body");
    let status = k.wait_exit(Duration::from_secs(10)).expect("knot exits");
    assert_eq!(status.code(), Some(0), "{status:?}; stderr: {}", k.stderr());
    let log = k.stderr();
    assert!(
        log.contains(
            "knot: SIGTERM: no longer accepting; closed 1 idle connection(s); draining 1 "
        ),
        "{log}"
    );
    assert!(log.contains("knot: drained in "), "{log}");
}

#[test]
fn the_grace_period_cuts_a_stalled_download_and_knot_still_exits_0() {
    let data = pattern(32 << 20);
    let (mut k, _dir) = knot_with_a_big_file(&data, &["--grace", "300ms"]);
    // A download whose client reads nothing more.
    let (mut dl, len) = start_download(&k);
    thread::sleep(Duration::from_millis(200)); // the server now waits for the socket
    let t0 = Instant::now();
    k.signal("INT");
    let status = k.wait_exit(Duration::from_secs(10)).expect("knot exits");
    let took = t0.elapsed();
    assert_eq!(status.code(), Some(0), "{status:?}; stderr: {}", k.stderr());
    assert!(
        took >= Duration::from_millis(250) && took < Duration::from_secs(3),
        "exited after {took:?}"
    );
    let log = k.stderr();
    assert!(log.contains("knot: SIGINT: no longer accepting"), "{log}");
    assert!(log.contains(": cut 1 connection(s); exiting"), "{log}");
    // The client gets what the socket buffers held, then the end: not the whole file.
    dl.get_ref()
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    let mut got = 0;
    let mut chunk = vec![0; 1 << 20];
    while let Ok(n @ 1..) = dl.read(&mut chunk) {
        got += n;
    }
    assert!(got < len, "the whole file arrived");
}

/// knot started with `args`, a stalled download, SIGTERM, and SIGINT once `drains` "draining"
/// lines are on stderr: the second signal ends knot at once, by SIGINT's default action.
fn a_second_signal_while_draining_ends_knot_at_once_with(args: &[&str], drains: usize) {
    let data = pattern(32 << 20);
    let (mut k, _dir) = knot_with_a_big_file(&data, args);
    let (_dl, _) = start_download(&k); // stalled: the drain would take the whole 10 s
    thread::sleep(Duration::from_millis(200));
    k.signal("TERM");
    let log_deadline = Instant::now() + Duration::from_secs(5);
    while k.stderr().matches("draining").count() < drains && Instant::now() < log_deadline {
        thread::sleep(Duration::from_millis(20));
    }
    thread::sleep(Duration::from_millis(100));
    let t0 = Instant::now();
    k.signal("INT");
    let status = k.wait_exit(Duration::from_secs(5)).expect("knot exits");
    use std::os::unix::process::ExitStatusExt;
    assert_eq!(
        status.signal(),
        Some(2),
        "{status:?}: SIGINT's default action"
    );
    assert!(t0.elapsed() < Duration::from_secs(3));
}

#[test]
fn a_second_signal_while_draining_ends_knot_at_once() {
    a_second_signal_while_draining_ends_knot_at_once_with(&[], 1);
}

// --workers: one loop per thread, each on its own SO_REUSEPORT listener.

/// The lines `knot: worker N: drained in T ms; answered M request(s)` of `log`: (N, M).
fn answered_by_worker(log: &str) -> Vec<(usize, u64)> {
    log.lines()
        .filter_map(|l| {
            let rest = l.strip_prefix("knot: worker ")?;
            let (n, rest) = rest.split_once(": drained in ")?;
            let m = rest.split_once("; answered ")?.1;
            let m = m.strip_suffix(" request(s)")?;
            Some((n.parse().ok()?, m.parse().ok()?))
        })
        .collect()
}

#[test]
fn every_worker_serves_and_all_drain_on_sigterm_then_knot_exits_0() {
    let mut k = Knot::start(&["--workers", "2"]);
    assert!(
        k.stderr()
            .contains(&format!("at http://{}/ with 2 workers", k.addr)),
        "{}",
        k.stderr()
    );
    // One request per connection, each from a port of its own: the kernel hashes each
    // connection's addresses and ports to pick a listener, so 200 connections all going to
    // one worker would be a 1 in 2^199 chance.
    let n = 200;
    for _ in 0..n {
        let r = exchange(k.addr, b"GET /hello.txt HTTP/1.0\r\n\r\n", false);
        assert_eq!(r.status, 200);
    }
    k.signal("TERM");
    let status = k.wait_exit(Duration::from_secs(10)).expect("knot exits");
    assert_eq!(status.code(), Some(0), "{status:?}; stderr: {}", k.stderr());
    let log = k.stderr();
    let mut by = answered_by_worker(&log);
    by.sort();
    assert_eq!(by.len(), 2, "one line per worker: {log}");
    assert_eq!((by[0].0, by[1].0), (1, 2), "{log}");
    assert!(
        by.iter().all(|&(_, m)| m > 0),
        "a worker served nothing: {log}"
    );
    assert_eq!(by[0].1 + by[1].1, n, "{log}");
    for w in 1..=2 {
        let said = format!("knot: worker {w}: SIGTERM: no longer accepting; closed 0 idle");
        assert!(log.contains(&said), "{log}");
    }
    assert!(
        log.ends_with("knot: every worker drained; exiting\n"),
        "{log}"
    );
}

#[test]
fn with_workers_sigterm_closes_every_listener_and_a_download_finishes() {
    let data = pattern(32 << 20);
    let (mut k, _dir) = knot_with_a_big_file(&data, &["--workers", "2"]);
    let (mut dl, len) = start_download(&k);
    let mut body = vec![0; 256 << 10];
    dl.read_exact(&mut body).unwrap();
    k.signal("TERM");
    // Both listeners are closed: every new connection is refused, whichever it would hash to.
    assert!(
        refused_within(k.addr, Duration::from_secs(3)),
        "still accepting"
    );
    for _ in 0..20 {
        assert!(
            refused_within(k.addr, Duration::from_millis(300)),
            "a listener is open"
        );
    }
    let mut chunk = vec![0; 256 << 10];
    while body.len() < len {
        let n = dl.read(&mut chunk).expect("the download goes on");
        assert!(n > 0, "cut after {} of {len} bytes", body.len());
        body.extend_from_slice(&chunk[..n]);
    }
    assert!(body == data, "the body differs");
    let status = k.wait_exit(Duration::from_secs(10)).expect("knot exits");
    assert_eq!(status.code(), Some(0), "{status:?}; stderr: {}", k.stderr());
    let log = k.stderr();
    // The worker that had the download drained it; the other had nothing to drain.
    let draining = |n: usize| {
        log.matches(&format!("idle connection(s); draining {n} "))
            .count()
    };
    assert_eq!((draining(1), draining(0)), (1, 1), "{log}");
    assert_eq!(answered_by_worker(&log).len(), 2, "{log}");
}

#[test]
fn with_workers_a_second_signal_while_draining_ends_knot_at_once() {
    // Each worker says it drains: both must have begun before the second signal.
    a_second_signal_while_draining_ends_knot_at_once_with(&["--workers", "2"], 2);
}

#[test]
fn max_conns_is_shared_among_the_workers() {
    // Two workers, one connection each. Connections that sent half a request are busy (not
    // evictable): the first on each worker holds its place, the others get a 503.
    let k = Knot::start(&["--workers", "2", "--max-conns", "2"]);
    let mut socks: Vec<_> = (0..20)
        .map(|_| {
            let mut s = connect(k.addr);
            s.write_all(b"GET /hello.txt HTTP/1.1\r\n").unwrap();
            s
        })
        .collect();
    let mut refused = 0;
    let mut held = 0;
    for s in &mut socks {
        s.set_read_timeout(Some(Duration::from_millis(500)))
            .unwrap();
        let mut buf = [0u8; 64];
        match s.read(&mut buf) {
            Ok(n) if buf[..n].starts_with(b"HTTP/1.1 503") => refused += 1,
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) =>
            {
                held += 1
            }
            other => panic!("{other:?}"),
        }
    }
    // All 20 hashed to one worker: a 1 in 2^19 chance; then only one would be held.
    assert_eq!((held, refused), (2, 18));
}

#[test]
fn the_default_is_one_worker_per_core() {
    let k = Knot::start_on_port(|port| vec!["-p".into(), port.to_string()]);
    // The test runs where knot runs: the same cores (CPU affinity).
    let cores = thread::available_parallelism().map_or(1, |n| n.get());
    let err = k.stderr();
    let url = format!("at http://{}/", k.addr);
    if cores == 1 {
        assert!(err.contains(&format!("{url}\n")), "{err}");
    } else {
        assert!(
            err.contains(&format!("{url} with {cores} workers\n")),
            "{err}"
        );
    }
}

#[test]
fn with_one_worker_the_first_line_names_no_workers() {
    let k = Knot::start(&["--workers", "1"]);
    let err = k.stderr();
    assert!(err.contains(&format!("at http://{}/\n", k.addr)), "{err}");
    assert!(
        !err.contains(" workers\n") && !err.contains("knot: worker"),
        "{err}"
    );
}

#[test]
fn a_second_knot_with_workers_shares_the_port_and_one_with_workers_1_is_refused() {
    let k = Knot::start(&["--workers", "2"]);
    let addr = k.addr.to_string();
    // --workers 1 binds without SO_REUSEPORT: the address is in use.
    let out = run(
        Command::new(knot::binary()).args(["--addr", &addr, "--workers", "1"]),
        Duration::from_secs(10),
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("Address already in use"), "{err}");
    // --workers 2 joins the group of listeners: it starts, and the two share the port.
    let mut second = Command::new(knot::binary())
        .args(["--addr", &addr, "--workers", "2"])
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut first_line = String::new();
    let stderr = second.stderr.take().unwrap();
    BufReader::new(stderr).read_line(&mut first_line).unwrap();
    let _ = second.kill();
    let _ = second.wait();
    assert!(
        first_line.contains(&format!("at http://{addr}/ with 2 workers")),
        "{first_line}"
    );
}
