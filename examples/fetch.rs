//! Fetches http://HOST[:PORT]/PATH URLs, all at once: `fetch URL...`.
use std::{io, net::SocketAddr, rc::Rc, time::Duration};
use tame::net::{BufReader, connect, write_all};
use tame::{Event, TimedOut, tamed};

/// GETs `url` over HTTP/1.0: the status line, and the length of the body (to the end).
#[tamed]
fn get(url: String, done: Event<io::Result<(String, usize)>>) {
    let (host, port, path): (String, u16, String) = {
        let rest = url.strip_prefix("http://").unwrap_or_default();
        let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
        let (host, port) = authority.rsplit_once(':').unwrap_or((authority, "80"));
        let port = port.parse().unwrap_or(0); // 0: refused at once
        (host.into(), port, path.max("/").into()) // "" (no path) is "/"
    };
    let (mut ips, mut conn, mut sent) = (Ok(vec![]), Err(io::ErrorKind::NotFound.into()), Ok(0));
    twait! { tame::dns::lookup(&host, mkevent!(ips)); }
    let addrs: Vec<SocketAddr> = ips.iter().flatten().map(|ip| (*ip, port).into()).collect();
    twait! { connect(&addrs[..], mkevent!(conn)); }
    let stream = match (ips, conn) {
        (Err(e), _) | (_, Err(e)) => return done.trigger(Err(e)),
        (Ok(_), Ok(s)) => Rc::new(s),
    };
    let request = format!("GET {path} HTTP/1.0\r\nHost: {host}\r\n\r\n");
    twait! { write_all(stream.clone(), request, mkevent!(sent)); }
    let reader = BufReader::new(stream);
    let (mut line, mut status, mut body) = (sent.map(|_| vec![b'-']), None, None);
    while line.as_ref().is_ok_and(|l| !l.is_empty()) {
        twait! { reader.read_until(b'\n', mkevent!(line)); }
        let Ok(l) = &line else { break };
        match (&status, body) {
            (None, _) => status = Some(String::from_utf8_lossy(l.trim_ascii_end()).into_owned()),
            (_, Some(n)) => body = Some(n + l.len()),
            (_, None) => body = l.trim_ascii_end().is_empty().then_some(0),
        }
    }
    done.trigger(line.map(|_| (status.unwrap_or_default(), body.unwrap_or(0))));
}

#[tame::main]
fn main() {
    let urls: Vec<String> = std::env::args().skip(1).collect();
    if urls.is_empty() || urls[0] == "-h" || urls[0] == "--help" {
        return println!("usage: fetch URL...   (http://HOST[:PORT]/PATH, fetched in parallel)");
    }
    for url in urls {
        let shown = url.clone();
        let report = Event::from_fn(move |res: Result<io::Result<(String, usize)>, TimedOut>| {
            match res.unwrap_or_else(|t| Err(io::Error::new(io::ErrorKind::TimedOut, t))) {
                Ok((status, n)) => println!("{n} bytes, {status}: {shown}"),
                Err(e) => println!("error, {e}: {shown}"),
            }
        });
        get(url, tame::add_timeout(Duration::from_secs(10), report));
    }
}
