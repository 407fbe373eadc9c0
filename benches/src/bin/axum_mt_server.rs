//! axum_mt_server: a baseline of `benches/web.sh`: axum with tower-http's `ServeDir` on tokio's
//! multi-thread runtime (as `#[tokio::main]` makes it: one worker thread per core it may run
//! on; pinned to one core by web.sh, that is one worker, plus the work-stealing machinery).
//!
//! Run: `axum_mt_server --root DIR --addr 127.0.0.1:8080`.

#[path = "../axum_app.rs"]
mod app;
#[path = "../web_baseline.rs"]
mod web;

#[tokio::main(flavor = "multi_thread")]
async fn main() {
    let about = "axum + tower-http ServeDir on tokio multi-thread (a baseline of benches/web.sh)";
    let opts = web::options("axum_mt_server", about);
    app::serve("axum_mt_server", &opts.root, opts.addr).await;
}
