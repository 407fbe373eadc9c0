//! thread_server: a baseline of `benches/web.sh`: the static file server a thread user
//! writes with `std::net`: one thread per connection, blocking reads and writes.
//!
//! Each accepted connection gets a `thread::spawn` with the standard library's default stack
//! (2 MiB reserved; only the pages a thread touches count in its resident memory). The
//! thread reads into a buffer (with the idle timeout as a socket read timeout), answers every
//! complete request in it, `write_all`s the answers, again. Loaded files are shared (`Arc`)
//! from a map filled at their first request, behind a `RwLock`.
//!
//! Run: `thread_server --root DIR --addr 127.0.0.1:8080`.

#[path = "../web_baseline.rs"]
mod web;

use std::collections::HashMap;
use std::io::{self, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::path::PathBuf;
use std::sync::{Arc, RwLock};
use std::thread;
use std::time::Duration;

use web::File;

const SERVER: &str = "threads";
/// Size of a new connection's read buffer; it grows only for heads that do not fit.
const READ_BUF: usize = 4 * 1024;

/// Loaded files by request target, kept after their first request.
struct Files {
    root: PathBuf,
    map: RwLock<HashMap<String, Arc<File>>>,
}

impl Files {
    fn get(&self, target: &str) -> Option<Arc<File>> {
        if let Some(f) = self.map.read().unwrap().get(target) {
            return Some(f.clone());
        }
        let loaded = web::load(&self.root, target)?;
        let file = Arc::new(loaded.file);
        if loaded.cache {
            let mut map = self.map.write().unwrap();
            map.insert(target.to_string(), file.clone());
        }
        Some(file)
    }
}

fn serve(mut sock: TcpStream, files: &Files) -> io::Result<()> {
    sock.set_read_timeout(Some(web::IDLE))?;
    sock.set_write_timeout(Some(web::IDLE))?;
    let mut conn = web::Conn::new(READ_BUF);
    loop {
        // Answer every complete request already read.
        let web::Answered { close, queue_full } = conn.answer(SERVER, |t| files.get(t));
        if !conn.out.is_empty() {
            sock.write_all(&conn.out)?;
            conn.out.clear();
        }
        if close {
            return sock.shutdown(Shutdown::Write);
        }
        if queue_full {
            continue; // more pipelined requests are waiting: answer them before reading
        }
        // Read more.
        match sock.read(conn.room()) {
            Ok(0) => return Ok(()),
            Ok(n) => conn.filled(n),
            // The read timeout: the connection was idle.
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                ) =>
            {
                return Ok(());
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
}

fn main() {
    let opts = web::options(
        "thread_server",
        "a static file server with a thread per connection (a baseline of benches/web.sh)",
    );
    let listener = TcpListener::bind(opts.addr).unwrap_or_else(|e| {
        eprintln!("thread_server: cannot listen on {}: {e}", opts.addr);
        std::process::exit(1);
    });
    eprintln!(
        "thread_server: serving {} at http://{}/",
        opts.root.display(),
        listener.local_addr().unwrap_or(opts.addr)
    );
    let files = Arc::new(Files {
        root: opts.root,
        map: RwLock::new(HashMap::new()),
    });
    for sock in listener.incoming() {
        match sock {
            Ok(sock) => {
                let _ = sock.set_nodelay(true);
                let files = files.clone();
                // Out of threads: the connection is dropped (closed), the server goes on.
                if let Err(e) = thread::Builder::new().spawn(move || serve(sock, &files)) {
                    eprintln!("thread_server: spawn: {e}");
                }
            }
            Err(e) => {
                // Out of descriptors and the like: the connection waits in the backlog.
                eprintln!("thread_server: accept: {e}");
                thread::sleep(Duration::from_millis(50));
            }
        }
    }
}
