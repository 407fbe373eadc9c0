//! knot's request-head parsing on any bytes: `http::parse` and what it calls (header rules,
//! `Range`, `If-Modified-Since`), and the path a target names (`files::relative`). The
//! promises checked are listed in `examples/knot/props.rs`, which the knot tests run too.
#![no_main]
#![allow(dead_code)]

#[path = "../../examples/knot/files.rs"]
mod files;
#[path = "../../examples/knot/http.rs"]
mod http;
#[path = "../../examples/knot/props.rs"]
mod props;

libfuzzer_sys::fuzz_target!(|data: &[u8]| props::check_head(data));
