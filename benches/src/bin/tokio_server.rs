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

use web::File;

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
    let mut conn = web::Conn::new(READ_BUF);
    loop {
        // Answer every complete request already read.
        let web::Answered { close, queue_full } = conn.answer(SERVER, |t| files.get(t));
        if !conn.out.is_empty() {
            sock.write_all(&conn.out).await?;
            conn.out.clear();
        }
        if close {
            return sock.shutdown().await;
        }
        if queue_full {
            continue; // more pipelined requests are waiting: answer them before reading
        }
        // Read more.
        match tokio::time::timeout(web::IDLE, sock.read(conn.room())).await {
            Ok(Ok(0)) | Err(_) => return Ok(()), // closed by the client, or idle
            Ok(Ok(n)) => conn.filled(n),
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
