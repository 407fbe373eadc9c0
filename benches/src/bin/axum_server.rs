//! axum_server: a baseline of `benches/web.sh`: axum with tower-http's `ServeDir` on tokio's
//! `current_thread` runtime (one thread, like knot with `--workers 1`).
//!
//! Run: `axum_server --root DIR --addr 127.0.0.1:8080`.

#[path = "../axum_app.rs"]
mod app;
#[path = "../web_baseline.rs"]
mod web;

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let about = "axum + tower-http ServeDir on tokio current_thread (a baseline of benches/web.sh)";
    let opts = web::options("axum_server", about);
    app::serve("axum_server", &opts.root, opts.addr).await;
}
