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
    /// The table as four quarters of four registers each (`TBL` with four registers
    /// looks up 64 bytes).
    type Table = [uint8x16x4_t; 4];
    #[inline(always)]
    unsafe fn table(t: &crate::int8::ByteTable) -> Self::Table {
        // SAFETY: each quarter reads 64 of the table's 256 bytes; the caller
        // guarantees NEON.
        core::array::from_fn(|q| unsafe { vld1q_u8_x4(t.as_ptr().add(64 * q)) })
    }
    #[inline(always)]
    unsafe fn lookup(self, t: &Self::Table) -> Self {
        // SAFETY: caller guarantees NEON. `TBL` gives 0 and `TBX` keeps the
        // destination lane for an index of 64 or more: quarter q answers the lanes
        // whose byte minus 64q (wrapping) is below 64, those in [64q, 64q + 64), and
        // every lane is answered by exactly one quarter.
        unsafe {
            let q64 = vdupq_n_u8(64);
            let mut i = self;
            let mut r = vqtbl4q_u8(t[0], i);
            i = vsubq_u8(i, q64);
            r = vqtbx4q_u8(r, t[1], i);
            i = vsubq_u8(i, q64);
            r = vqtbx4q_u8(r, t[2], i);
            i = vsubq_u8(i, q64);
            vqtbx4q_u8(r, t[3], i)
        }
    }
}

crate::int8_entry_points!([target_feature(enable = "neon")], uint8x16_t);
