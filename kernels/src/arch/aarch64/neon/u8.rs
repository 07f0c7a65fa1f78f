//! NEON Int8Relu: `UMAX` on 16 bytes (`uint8x16_t`); the tail goes through a stack copy
//! of one register.

use core::arch::aarch64::*;

use crate::int8::ByteVector;

// SAFETY: `uint8x16_t` is a plain 16-byte register.
unsafe impl ByteVector for uint8x16_t {
    const LANES: usize = 16;

    #[inline(always)]
    unsafe fn splat(x: u8) -> Self {
        // SAFETY: caller guarantees NEON.
        unsafe { vdupq_n_u8(x) }
    }
    #[inline(always)]
    unsafe fn load(p: *const u8) -> Self {
        // SAFETY: caller guarantees 16 readable bytes at p.
        unsafe { vld1q_u8(p) }
    }
    #[inline(always)]
    unsafe fn store(self, p: *mut u8) {
        // SAFETY: caller guarantees 16 writable bytes at p.
        unsafe { vst1q_u8(p, self) }
    }
    #[inline(always)]
    unsafe fn max(self, o: Self) -> Self {
        // SAFETY: caller guarantees NEON.
        unsafe { vmaxq_u8(self, o) }
    }
}

crate::int8_entry_points!([target_feature(enable = "neon")], uint8x16_t);
