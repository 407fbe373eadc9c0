//! The examples the book includes run, and do what the book says.
use std::io::{Read, Write};
use std::time::Duration;

#[path = "../examples/echo.rs"]
#[allow(dead_code)]
mod echo;
#[path = "../examples/hello.rs"]
mod hello;
#[path = "../examples/networking.rs"]
mod networking;
#[path = "../examples/per_thread.rs"]
mod per_thread;
#[path = "../examples/pipe.rs"]
mod pipe;
#[path = "util/process.rs"]
mod process;
#[path = "../examples/rendezvous.rs"]
mod rendezvous;
#[cfg(feature = "dns")]
#[path = "../examples/resolve.rs"]
#[allow(dead_code)]
mod resolve;
#[path = "../examples/scheduling.rs"]
mod scheduling;
#[path = "../examples/stack_ripping.rs"]
mod stack_ripping;
#[path = "../examples/tutorial.rs"]
mod tutorial;
#[path = "../examples/virtual_time.rs"]
mod virtual_time;

#[test]
fn tutorial_listings_run_as_described() {
    // On the virtual clock: its 200 ms of timers take no real time, and the order in which
    // the versions finish, printed on the real clock, is checked exactly.
    tame::set_clock(tame::Clock::Virtual);
    tutorial::main(); // asserts every result it prints
}

#[test]
fn hello_runs() {
    hello::main();
}

#[test]
fn both_halves_of_the_stack_ripping_example_agree() {
    stack_ripping::main();
}

#[test]
fn scheduling_rules_hold_as_the_book_shows() {
    scheduling::main();
}

#[test]
fn networking_listings_run_as_described() {
    networking::main(); // asserts every result it prints
}

#[test]
fn rendezvous_listings_run_as_described() {
    tame::set_clock(tame::Clock::Virtual); // its 200 ms of timers take no real time
    rendezvous::main();
}

#[test]
#[cfg(target_os = "linux")] // the listing compares errno numbers
fn the_pipe_listings_read_in_order_and_close_cancels() {
    pipe::main();
}

#[test]
fn the_watchdog_on_the_virtual_clock_gives_up_at_90_seconds_exactly() {
    virtual_time::main(); // asserts the outcome and the virtual time it came at
}

#[test]
fn echo_server_echoes_and_closes_idle_connections() {
    let listener = tame::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let server = std::thread::spawn(move || {
        // Serve exactly two connections, then stop: accept_loop itself runs forever.
        tame::run(move || {
            let l = std::rc::Rc::new(listener);
            let mut served = 0;
            while served < 2 {
                match l.try_accept() {
                    Ok((c, peer)) => {
                        echo::echo(c, peer, Duration::from_millis(200));
                        served += 1;
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(5)),
                }
            }
        })
    });
    // Connection 1: echo round trip.
    let mut a = std::net::TcpStream::connect(addr).unwrap();
    a.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    a.write_all(b"hello tame").unwrap();
    let mut buf = [0u8; 10];
    a.read_exact(&mut buf).unwrap();
    assert_eq!(&buf, b"hello tame");
    // Connection 2: silent, so the server closes it at the idle timeout.
    let mut b = std::net::TcpStream::connect(addr).unwrap();
    b.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let t0 = std::time::Instant::now();
    drop(a);
    assert_eq!(b.read(&mut buf).unwrap(), 0, "closed by the server");
    assert!(t0.elapsed() >= Duration::from_millis(150));
    server.join().unwrap();
}

#[test]
fn one_loop_per_thread_every_loop_answers_and_each_stops_when_told() {
    use std::io::Write;
    let (addr, loops) = per_thread::spawn_loops("127.0.0.1:0".parse().unwrap(), 3).unwrap();
    assert_ne!(addr.port(), 0, "the port the first listener got");
    // 300 connections, each from a port of its own: the kernel's hash spreads them. That one
    // of three loops gets none is a chance of about 3 * (2/3)^300.
    let mut by_loop = [0u64; 3];
    for _ in 0..300 {
        by_loop[per_thread::who_answers(addr).unwrap()] += 1;
    }
    assert!(by_loop.iter().all(|&n| n > 0), "{by_loop:?}");
    for (id, mut l) in loops.into_iter().enumerate() {
        l.stop.write_all(b"x").unwrap();
        // Each loop's `run` returns once told, with its own count.
        assert_eq!(l.thread.join().unwrap(), by_loop[id], "loop {id}");
    }
    // Every listener is closed.
    assert!(std::net::TcpStream::connect(addr).is_err());
}

#[test]
fn the_per_thread_example_runs() {
    per_thread::main();
}

#[cfg(feature = "dns")]
#[test]
fn resolve_looks_names_up_at_once_and_keeps_their_order() {
    // No DNS server is needed: an address is its own answer, localhost is answered by
    // /etc/hosts or by the localhost rule, and a name that cannot be sent fails at once.
    let names = ["192.0.2.1", "localhost", "b\u{fc}cher.example", "::1"].map(String::from);
    let r = tame::Rendezvous::<(), Vec<resolve::Outcome>>::new();
    tame::run(|| resolve::resolve_all(names.to_vec(), Duration::from_secs(3), r.event(())));
    let ((), out) = r.try_join().unwrap();
    let got: Vec<&str> = out.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(got, names);
    assert_eq!(
        out[0].1.as_ref().unwrap(),
        &["192.0.2.1".parse::<std::net::IpAddr>().unwrap()]
    );
    assert!(out[1].1.as_ref().unwrap().iter().all(|ip| ip.is_loopback()));
    assert_eq!(
        out[2].1.as_ref().unwrap_err().kind(),
        std::io::ErrorKind::InvalidInput
    );
    assert_eq!(
        out[3].1.as_ref().unwrap(),
        &["::1".parse::<std::net::IpAddr>().unwrap()]
    );
}

/// The line-echo server as a child process on a free loopback port (`127.0.0.1:0`; it prints
/// the address it got), with `--idle-ms 300`; killed by its PID and reaped on drop.
struct LineEcho {
    child: std::process::Child,
    addr: std::net::SocketAddr,
}

impl LineEcho {
    fn start() -> LineEcho {
        use std::io::BufRead;
        let mut child = std::process::Command::new(process::example_binary("line_echo"))
            .args(["127.0.0.1:0", "--idle-ms", "300"])
            .stdin(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("spawn line_echo");
        let stderr = child.stderr.take().expect("piped");
        // The first line names the address; read it on a thread, so a silent child cannot
        // hang the test.
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut line = String::new();
            let _ = std::io::BufReader::new(stderr).read_line(&mut line);
            let _ = tx.send(line);
        });
        let line = rx.recv_timeout(Duration::from_secs(10)).unwrap_or_default();
        let addr = line
            .trim()
            .strip_prefix("line_echo: listening on ")
            .and_then(|a| a.parse().ok());
        let Some(addr) = addr else {
            let _ = child.kill();
            let _ = child.wait();
            panic!("line_echo did not say where it listens: {line:?}");
        };
        LineEcho { child, addr }
    }
}

impl Drop for LineEcho {
    fn drop(&mut self) {
        let _ = self.child.kill(); // SIGKILL to its PID
        let _ = process::wait_bounded(&mut self.child, Duration::from_secs(5));
    }
}

#[test]
fn line_echo_echoes_lines_and_closes_idle_connections() {
    let server = LineEcho::start();
    let mut a = std::net::TcpStream::connect(server.addr).unwrap();
    a.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let mut a_in = std::io::BufReader::new(a.try_clone().unwrap());
    let mut line = String::new();
    // Two lines in one write come back as two lines; a line in two pieces comes back whole.
    a.write_all(b"hello\nworld\n").unwrap();
    for want in ["hello\n", "world\n"] {
        line.clear();
        std::io::BufRead::read_line(&mut a_in, &mut line).unwrap();
        assert_eq!(line, want);
    }
    a.write_all(b"par").unwrap();
    std::thread::sleep(Duration::from_millis(100));
    a.write_all(b"tial\n").unwrap();
    line.clear();
    std::io::BufRead::read_line(&mut a_in, &mut line).unwrap();
    assert_eq!(line, "partial\n");
    // Silent for the idle time: closed by the server.
    let t0 = std::time::Instant::now();
    line.clear();
    assert_eq!(
        std::io::BufRead::read_line(&mut a_in, &mut line).unwrap(),
        0
    );
    let waited = t0.elapsed();
    assert!(
        waited >= Duration::from_millis(250),
        "closed after {waited:?}"
    );
    assert!(waited < Duration::from_secs(4), "closed after {waited:?}");
    // Another client is served all the same.
    let mut b = std::net::TcpStream::connect(server.addr).unwrap();
    b.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    b.write_all(b"again\n").unwrap();
    let mut got = [0u8; 6];
    b.read_exact(&mut got).unwrap();
    assert_eq!(&got, b"again\n");
}

#[test]
fn line_echo_help_and_bad_arguments() {
    let bin = process::example_binary("line_echo");
    let out = process::run_bounded(
        std::process::Command::new(&bin).arg("--help"),
        None,
        Duration::from_secs(10),
    );
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("usage: line_echo"));
    for bad in [
        &["--bogus"][..],
        &["--idle-ms", "soon"],
        &["not an address"],
    ] {
        let out = process::run_bounded(
            std::process::Command::new(&bin).args(bad),
            None,
            Duration::from_secs(10),
        );
        assert_eq!(out.status.code(), Some(2), "{bad:?}");
        assert!(String::from_utf8_lossy(&out.stderr).starts_with("line_echo: "));
    }
}

#[cfg(feature = "dns")]
/// A tiny HTTP/1.0 server on a thread, for `fetch`: `/small` (100 bytes), `/binary` (100 KiB
/// of every byte value), anything else 404; it stops after `n` requests or 20 s.
fn http_server(n: usize) -> (std::net::SocketAddr, std::thread::JoinHandle<()>) {
    use std::io::{BufRead, Write};
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap();
    l.set_nonblocking(true).unwrap();
    let t = std::thread::spawn(move || {
        let deadline = std::time::Instant::now() + Duration::from_secs(20);
        let mut served = 0;
        while served < n && std::time::Instant::now() < deadline {
            let Ok((s, _)) = l.accept() else {
                std::thread::sleep(Duration::from_millis(5));
                continue;
            };
            s.set_nonblocking(false).unwrap();
            s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
            let mut r = std::io::BufReader::new(s.try_clone().unwrap());
            let mut request = String::new();
            let _ = r.read_line(&mut request);
            let mut h = String::new();
            while r.read_line(&mut h).is_ok_and(|k| k > 2) {
                h.clear();
            }
            let (status, body): (&str, Vec<u8>) = match request.split(' ').nth(1) {
                Some("/small") => ("200 OK", vec![b'x'; 100]),
                Some("/binary") => ("200 OK", (0..102_400).map(|i| (i % 256) as u8).collect()),
                _ => ("404 Not Found", b"no such file\n".to_vec()),
            };
            let mut s = s;
            let head = format!(
                "HTTP/1.0 {status}\r\nContent-Length: {}\r\n\r\n",
                body.len()
            );
            let _ = s
                .write_all(head.as_bytes())
                .and_then(|()| s.write_all(&body));
            served += 1;
        }
    });
    (addr, t)
}

#[cfg(feature = "dns")]
#[test]
fn fetch_gets_urls_in_parallel_by_name_and_by_address() {
    let (addr, server) = http_server(4);
    let port = addr.port();
    let urls = [
        format!("http://localhost:{port}/small"),
        format!("http://127.0.0.1:{port}/binary"),
        format!("http://127.0.0.1:{port}/missing"),
        format!("http://localhost:{port}"),
        "http://127.0.0.1:1/refused".to_string(),
    ];
    let out = process::run_bounded(
        std::process::Command::new(process::example_binary("fetch")).args(&urls),
        None,
        Duration::from_secs(30),
    );
    assert!(out.status.success(), "{out:?}");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let mut lines: Vec<&str> = stdout.lines().collect();
    lines.sort();
    let want = [
        format!("100 bytes, HTTP/1.0 200 OK: {}", urls[0]),
        format!("102400 bytes, HTTP/1.0 200 OK: {}", urls[1]),
        format!("13 bytes, HTTP/1.0 404 Not Found: {}", urls[2]),
        format!("13 bytes, HTTP/1.0 404 Not Found: {}", urls[3]),
    ];
    for w in &want {
        assert!(lines.contains(&w.as_str()), "{w:?} not in {lines:?}");
    }
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("error, ") && l.ends_with(&urls[4])),
        "{lines:?}"
    );
    assert_eq!(lines.len(), 5, "{lines:?}");
    server.join().unwrap();
}

#[cfg(feature = "dns")]
#[test]
fn fetch_says_how_to_use_it() {
    let out = process::run_bounded(
        std::process::Command::new(process::example_binary("fetch")).arg("--help"),
        None,
        Duration::from_secs(30),
    );
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("usage: fetch URL..."));
}
