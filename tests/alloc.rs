//! Heap allocations per frame in preprocessing + ONNX Runtime inference, counted by a global
//! allocator. Only Rust-side allocations are visible here; ONNX Runtime's C++ allocations go
//! through its own arena (see docs/inference.md).

#![cfg(feature = "ort")]

mod util;

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicU64, Ordering};

use pilotnet_brain::driving::pilot::NetworkPilot;
use pilotnet_brain::inference::backend::BackendConfig;

struct Counting;

static ALLOCATIONS: AtomicU64 = AtomicU64::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

#[test]
fn preprocessing_and_ort_inference_allocate_nothing_per_frame() {
    let dir = util::testnet();
    let frame = util::load_png(&dir.join("frame.png"));
    let mut pilot = NetworkPilot::open(&dir.join("pilotnet_dls.onnx"), &BackendConfig::default())
        .expect("test network loads");
    for _ in 0..10 {
        pilot.infer(&frame).unwrap();
    }
    const FRAMES: u64 = 200;
    let before = ALLOCATIONS.load(Ordering::Relaxed);
    let mut sum = 0.0f32;
    for _ in 0..FRAMES {
        sum += pilot.infer(&frame).unwrap()[0];
    }
    let allocations = ALLOCATIONS.load(Ordering::Relaxed) - before;
    assert!(sum.is_finite());
    eprintln!("{allocations} heap allocations in {FRAMES} frames");
    assert_eq!(
        allocations, 0,
        "{allocations} allocations in {FRAMES} frames"
    );
}
