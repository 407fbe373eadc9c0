fn main() {
    tame::tvars! { let x: u32 = 0; }
}
