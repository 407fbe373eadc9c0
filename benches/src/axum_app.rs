//! What the two axum baselines of `benches/web.sh` share: the static file server a Rust user
//! would pick instead of writing one, axum with tower-http's `ServeDir`, whatever the runtime.
//!
//! Its answers carry more headers than knot's (`Last-Modified`, `Accept-Ranges`, ...) and the
//! same bodies; `ServeDir` reads the file from disk on every request (it has no cache), as
//! its users get it. Accepted connections get `TCP_NODELAY`, as in every other server of
//! web.sh and as axum's documentation shows (`tap_io`): without it, a head and a body written
//! apart wait for the client's delayed ACK, about 40 ms per request.

use std::net::SocketAddr;
use std::path::Path;

use axum::Router;
use axum::serve::ListenerExt;
use tower_http::services::ServeDir;

/// Serves `root` at `addr` until the process is killed; `name` is the binary's, for messages.
pub async fn serve(name: &str, root: &Path, addr: SocketAddr) {
    let app = Router::new().fallback_service(ServeDir::new(root));
    let listener = match tokio::net::TcpListener::bind(addr).await {
        Ok(l) => l.tap_io(|tcp| {
            let _ = tcp.set_nodelay(true);
        }),
        Err(e) => {
            eprintln!("{name}: cannot listen on {addr}: {e}");
            std::process::exit(1);
        }
    };
    eprintln!(
        "{name}: serving {} at http://{}/",
        root.display(),
        axum::serve::Listener::local_addr(&listener).unwrap_or(addr)
    );
    if let Err(e) = axum::serve(listener, app).await {
        eprintln!("{name}: {e}");
        std::process::exit(1);
    }
}
