//! splitmix64: a small seeded generator, so that a failure repeats from its seed. The program
//! fuzzer (`tests/fuzz/generate.rs`) and knot's property tests (`examples/knot/props.rs`) each
//! include this file and add, in their own `impl`, the ways they draw from it.

pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
}
