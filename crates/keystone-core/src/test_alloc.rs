//! Test builds only: the global allocator, wrapped to count the bytes each thread holds, so a
//! test can compare what a structure says it uses with what it allocated. Each allocation is
//! charged 16 bytes more than it asked for, as glibc's malloc does (its chunk header and
//! rounding), since that is what the process pays.

#![allow(unsafe_code, reason = "a GlobalAlloc is an unsafe trait; this only forwards to System")]

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

const PER_ALLOCATION_BYTES: isize = 16;

thread_local! {
    static HELD: Cell<isize> = const { Cell::new(0) };
}

pub struct Counting;

fn charge(delta: isize) {
    // `try_with`: a thread being torn down has no counter left; nothing to record then.
    let _ = HELD.try_with(|h| h.set(h.get() + delta));
}

fn cost(layout: Layout) -> isize {
    isize::try_from(layout.size()).unwrap_or(isize::MAX) + PER_ALLOCATION_BYTES
}

// SAFETY: every method forwards to `System` with the caller's arguments unchanged; counting
// touches only a thread-local integer and never allocates.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        charge(cost(layout));
        // SAFETY: same contract as ours.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        charge(-cost(layout));
        // SAFETY: same contract as ours.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        charge(cost(layout));
        // SAFETY: same contract as ours.
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        charge(isize::try_from(new_size).unwrap_or(isize::MAX) - isize::try_from(layout.size()).unwrap_or(0));
        // SAFETY: same contract as ours.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static COUNTING: Counting = Counting;

/// Bytes the calling thread has allocated and not freed, allocator bookkeeping included.
pub fn held_bytes() -> isize {
    HELD.with(Cell::get)
}

/// Charges memory the calling thread maps (whole pages) or unmaps, which the allocator never sees.
pub fn charge_mapped(bytes: isize) {
    charge(bytes);
}
