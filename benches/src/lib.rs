//! Benchmarks of tame live in `benches/` (criterion); this crate has no library code.
