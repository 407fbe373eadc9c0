//! A global allocator that counts, per thread, the allocations made through it (reallocations
//! included), and can record the size of the next one. It delegates every call to the system
//! allocator unchanged. Used by `tests/cost.rs` and `tame-rt/tests/alloc.rs`.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

struct Counting;

thread_local! {
    static ALLOCS: Cell<u64> = const { Cell::new(0) };
    /// When set, the size of the next allocation is recorded in FIRST and ARMED is cleared.
    static ARMED: Cell<bool> = const { Cell::new(false) };
    static FIRST: Cell<usize> = const { Cell::new(0) };
}

// SAFETY: delegates every call to the system allocator unchanged; only counts allocations.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        let _ = ALLOCS.try_with(|c| c.set(c.get() + 1));
        if ARMED.try_with(|a| a.replace(false)).unwrap_or(false) {
            let _ = FIRST.try_with(|f| f.set(l.size()));
        }
        // SAFETY: same contract as our caller's.
        unsafe { System.alloc(l) }
    }
    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        // SAFETY: same contract as our caller's.
        unsafe { System.dealloc(p, l) }
    }
    unsafe fn realloc(&self, p: *mut u8, l: Layout, n: usize) -> *mut u8 {
        let _ = ALLOCS.try_with(|c| c.set(c.get() + 1));
        // SAFETY: same contract as our caller's.
        unsafe { System.realloc(p, l, n) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// Allocations made on this thread so far.
pub fn allocs() -> u64 {
    ALLOCS.with(|c| c.get())
}

/// Runs `f` and returns the size of the first allocation it made (0 if none).
#[allow(dead_code)]
pub fn size_of_first_allocation(f: impl FnOnce()) -> usize {
    FIRST.with(|s| s.set(0));
    ARMED.with(|a| a.set(true));
    f();
    ARMED.with(|a| a.set(false));
    FIRST.with(|s| s.get())
}
