#[tamed]
fn tamed_fast(n: u64, out: Rc<Cell<u64>>) {
    let mut sum = 0u64;
    for i in 0..n {
        twait! { mkevent!().trigger(()); }
        sum = sum.wrapping_add(i);
    }
    out.set(sum);
}
