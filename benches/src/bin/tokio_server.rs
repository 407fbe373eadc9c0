//! tokio_server: a baseline of `benches/web.sh`: the static file server a tokio user writes,
//! on the `current_thread` runtime (one thread, like knot).
//!
//! One spawned task per connection: read into a buffer (with the idle timeout), answer every
//! complete request in it, `write_all` the answers, again. Loaded files are shared (`Arc`)
//! from a map filled at their first request.
//!
//! Run: `tokio_server --root DIR --addr 127.0.0.1:8080`.

#[path = "../web_baseline.rs"]
mod web;

use std::collections::HashMap;
use std::io;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use web::{File, Parsed};

const SERVER: &str = "tokio";
/// Size of a new connection's read buffer; it grows only for heads that do not fit.
const READ_BUF: usize = 4 * 1024;

/// Loaded files by request target, kept after their first request.
struct Files {
    root: PathBuf,
    map: Mutex<HashMap<String, Arc<File>>>,
}

impl Files {
    fn get(&self, target: &str) -> Option<Arc<File>> {
        if let Some(f) = self.map.lock().unwrap().get(target) {
            return Some(f.clone());
        }
        let loaded = web::load(&self.root, target)?;
        let file = Arc::new(loaded.file);
        if loaded.cache {
            let mut map = self.map.lock().unwrap();
            map.insert(target.to_string(), file.clone());
        }
        Some(file)
    }
}

async fn serve(mut sock: TcpStream, files: Arc<Files>) -> io::Result<()> {
    let mut input = vec![0u8; READ_BUF];
    let (mut start, mut end) = (0, 0);
    let mut out = Vec::new();
    loop {
        // Answer every complete request already read.
        let mut close = false;
        let mut queue_full = false;
        while start < end {
            if out.len() >= web::QUEUE_MAX {
                queue_full = true;
                break;
            }
            match web::parse(&input[start..end]) {
                Parsed::Partial => break,
                Parsed::Error(status) => {
                    web::error(&mut out, SERVER, status, 1, false, false);
                    close = true;
                    break;
                }
                Parsed::Request(req) => {
                    let file = match req.method {
                        web::Method::Other => None,
                        _ => files.get(req.target),
                    };
                    if web::respond(&mut out, SERVER, &req, file.as_deref()) {
                        out.extend_from_slice(&file.expect("a body means a file").body);
                    }
                    start += req.len;
                    if !req.keep_alive {
                        close = true;
                        break;
                    }
                }
            }
        }
        if !out.is_empty() {
            sock.write_all(&out).await?;
            out.clear();
        }
        if close {
            return sock.shutdown().await;
        }
        if queue_full {
            continue; // more pipelined requests are waiting: answer them before reading
        }
        // Read more.
        if start == end {
            (start, end) = (0, 0);
        } else if end == input.len() {
            if start > 0 {
                input.copy_within(start..end, 0);
                (start, end) = (0, end - start);
            } else if input.len() < 2 * web::MAX_HEAD {
                input.resize(2 * input.len(), 0);
            }
        }
        match tokio::time::timeout(web::IDLE, sock.read(&mut input[end..])).await {
            Ok(Ok(0)) | Err(_) => return Ok(()), // closed by the client, or idle
            Ok(Ok(n)) => end += n,
            Ok(Err(e)) => return Err(e),
        }
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let opts = web::options(
        "tokio_server",
        "a static file server on tokio current_thread (a baseline of benches/web.sh)",
    );
    let listener = match TcpListener::bind(opts.addr).await {
        Ok(l) => l,
        Err(e) => {
            eprintln!("tokio_server: cannot listen on {}: {e}", opts.addr);
            std::process::exit(1);
        }
    };
    eprintln!(
        "tokio_server: serving {} at http://{}/",
        opts.root.display(),
        listener.local_addr().unwrap_or(opts.addr)
    );
    let files = Arc::new(Files {
        root: opts.root,
        map: Mutex::new(HashMap::new()),
    });
    loop {
        match listener.accept().await {
            Ok((sock, _)) => {
                let _ = sock.set_nodelay(true);
                tokio::spawn(serve(sock, files.clone()));
            }
            Err(e) => {
                // Out of descriptors and the like: the connection waits in the backlog.
                eprintln!("tokio_server: accept: {e}");
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            }
        }
    }
}
