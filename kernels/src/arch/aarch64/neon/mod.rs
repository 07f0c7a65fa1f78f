//! NEON kernels: `float32x4_t` and `float64x2_t`.
//!
//! NEON's `vmaxq_f32(x, 0)` turns -0.0 into +0.0 and `vmaxnmq_f32` changes NaN, so
//! neither fits the oracle: every op is compare + bitwise select (FCMLT/FCMGT are false
//! for NaN). relu clears the lanes where `x < 0` (all-zero bits are +0.0). A call
//! shorter than one register goes through a stack copy of one register (the default in
//! [`Vector`]).

use core::arch::aarch64::*;

use crate::arch::{IsaDef, aarch64_has, no_tuning};

pub mod half;
pub mod u8;

/// The oracle's loops as the compiler vectorises them with this ISA's features.
pub mod autovec {
    crate::oracle_loops!([target_feature(enable = "neon")]);
}

/// The registry entry: NEON (always present on aarch64 Linux).
pub const ISA: IsaDef = IsaDef {
    name: "neon",
    detect: || aarch64_has!("neon"),
    tunable: no_tuning,
    tables: |_| &TABLES,
    autovec: &autovec::TABLES,
};

/// Every element type's kernels on NEON.
pub static TABLES: crate::Tables =
    crate::tables!(self::f32, self::f64, half::f16, half::bf16, self::u8);

use crate::vector::Vector;

// SAFETY: `float32x4_t` is a plain 16-byte register of 4 f32 lanes.
unsafe impl Vector for float32x4_t {
    type Elem = f32;
    type Mask = uint32x4_t;
    const LANES: usize = 4;

    #[inline(always)]
    unsafe fn splat(x: f32) -> Self {
        // SAFETY: caller guarantees NEON.
        unsafe { vdupq_n_f32(x) }
    }
    #[inline(always)]
    unsafe fn zero() -> Self {
        // SAFETY: caller guarantees NEON.
        unsafe { vdupq_n_f32(0.0) }
    }
    #[inline(always)]
    unsafe fn load(p: *const f32) -> Self {
        // SAFETY: caller guarantees 4 readable f32 at p (f32 alignment suffices).
        unsafe { vld1q_f32(p) }
    }
    #[inline(always)]
    unsafe fn store(self, p: *mut f32) {
        // SAFETY: caller guarantees 4 writable f32 at p.
        unsafe { vst1q_f32(p, self) }
    }
    #[inline(always)]
    unsafe fn lt(self, o: Self) -> uint32x4_t {
        // SAFETY: caller guarantees NEON.
        unsafe { vcltq_f32(self, o) }
    }
    #[inline(always)]
    unsafe fn gt(self, o: Self) -> uint32x4_t {
        // SAFETY: caller guarantees NEON.
        unsafe { vcgtq_f32(self, o) }
    }
    #[inline(always)]
    unsafe fn and(a: uint32x4_t, b: uint32x4_t) -> uint32x4_t {
        // SAFETY: caller guarantees NEON.
        unsafe { vandq_u32(a, b) }
    }
    #[inline(always)]
    unsafe fn select(m: uint32x4_t, t: Self, f: Self) -> Self {
        // SAFETY: caller guarantees NEON. BSL takes t's bits where m is set.
        unsafe { vbslq_f32(m, t, f) }
    }
    #[inline(always)]
    unsafe fn mul(self, o: Self) -> Self {
        // SAFETY: caller guarantees NEON.
        unsafe { vmulq_f32(self, o) }
    }
    #[inline(always)]
    unsafe fn keep(m: uint32x4_t, v: Self) -> Self {
        // SAFETY: caller guarantees NEON.
        unsafe { vreinterpretq_f32_u32(vandq_u32(m, vreinterpretq_u32_f32(v))) }
    }
    #[inline(always)]
    unsafe fn relu(self) -> Self {
        // SAFETY: caller guarantees NEON. Clear (BIC) the lanes where x < 0.
        unsafe {
            let neg = vcltq_f32(self, vdupq_n_f32(0.0));
            vreinterpretq_f32_u32(vbicq_u32(vreinterpretq_u32_f32(self), neg))
        }
    }
}

// SAFETY: `float64x2_t` is a plain 16-byte register of 2 f64 lanes.
unsafe impl Vector for float64x2_t {
    type Elem = f64;
    type Mask = uint64x2_t;
    const LANES: usize = 2;

    #[inline(always)]
    unsafe fn splat(x: f64) -> Self {
        // SAFETY: caller guarantees NEON.
        unsafe { vdupq_n_f64(x) }
    }
    #[inline(always)]
    unsafe fn zero() -> Self {
        // SAFETY: caller guarantees NEON.
        unsafe { vdupq_n_f64(0.0) }
    }
    #[inline(always)]
    unsafe fn load(p: *const f64) -> Self {
        // SAFETY: caller guarantees 2 readable f64 at p.
        unsafe { vld1q_f64(p) }
    }
    #[inline(always)]
    unsafe fn store(self, p: *mut f64) {
        // SAFETY: caller guarantees 2 writable f64 at p.
        unsafe { vst1q_f64(p, self) }
    }
    #[inline(always)]
    unsafe fn lt(self, o: Self) -> uint64x2_t {
        // SAFETY: caller guarantees NEON.
        unsafe { vcltq_f64(self, o) }
    }
    #[inline(always)]
    unsafe fn gt(self, o: Self) -> uint64x2_t {
        // SAFETY: caller guarantees NEON.
        unsafe { vcgtq_f64(self, o) }
    }
    #[inline(always)]
    unsafe fn and(a: uint64x2_t, b: uint64x2_t) -> uint64x2_t {
        // SAFETY: caller guarantees NEON.
        unsafe { vandq_u64(a, b) }
    }
    #[inline(always)]
    unsafe fn select(m: uint64x2_t, t: Self, f: Self) -> Self {
        // SAFETY: caller guarantees NEON.
        unsafe { vbslq_f64(m, t, f) }
    }
    #[inline(always)]
    unsafe fn mul(self, o: Self) -> Self {
        // SAFETY: caller guarantees NEON.
        unsafe { vmulq_f64(self, o) }
    }
    #[inline(always)]
    unsafe fn keep(m: uint64x2_t, v: Self) -> Self {
        // SAFETY: caller guarantees NEON.
        unsafe { vreinterpretq_f64_u64(vandq_u64(m, vreinterpretq_u64_f64(v))) }
    }
    #[inline(always)]
    unsafe fn relu(self) -> Self {
        // SAFETY: caller guarantees NEON. Clear the lanes where x < 0.
        unsafe {
            let neg = vcltq_f64(self, vdupq_n_f64(0.0));
            vreinterpretq_f64_u64(vbicq_u64(vreinterpretq_u64_f64(self), neg))
        }
    }
}

/// f32 kernels on NEON.
pub mod f32 {
    use core::arch::aarch64::float32x4_t;
    crate::kernel_entry_points!([target_feature(enable = "neon")], float32x4_t, f32);
}

/// f64 kernels on NEON.
pub mod f64 {
    use core::arch::aarch64::float64x2_t;
    crate::kernel_entry_points!([target_feature(enable = "neon")], float64x2_t, f64);
}
