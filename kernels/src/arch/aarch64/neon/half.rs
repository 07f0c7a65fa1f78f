//! NEON kernels for the 16-bit floats: [`F16x8`] and [`Bf16x8`], 8 lanes in a
//! `uint16x8_t`: the [`Lanes16`] operations of `uint16x8_t`, on which [`Half`] writes
//! the algorithm (see [`crate::half_lanes`]). Plain ARMv8.0 AdvSIMD: no FEAT_FP16, no
//! FEAT_BF16, and no half-float intrinsics (so any aarch64 CPU and any supported
//! compiler).
//!
//! - Selects are bitwise (`BSL`, `AND`, `BIC`); compares are `CMGT` on `i16`.
//! - **The product** is one `FMUL` on the exactly widened operands, rounded once:
//!   - f16 → f32: integer rebias of exponent and mantissa; a subnormal is renormalised
//!     by the exact subtraction `(2^-14 + m·2^-24) - 2^-14` (an f32 normal, so even
//!     FPCR.FZ could not touch it); inf/NaN get exponent 0xff (payload kept).
//!   - f32 → f16: integer round-to-nearest-even for results in f16's normal range
//!     (`x + 0xfff + lsb` after rebiasing), and for f16 subnormals one `FADD` of 0.5,
//!     whose ulp (2^-24) is the f16 subnormal quantum, so the FPU rounds to nearest
//!     even at exactly the right place; NaN becomes `sign | 0x7e00 | payload >> 13`,
//!     overflow infinity.
//!   - bf16: `SHLL #16` to widen, integer round-to-nearest-even and `SHRN #16` to narrow
//!     (a NaN product needs no path of its own, see [`Lanes16::mul_bf16`]).
//! - A call shorter than one register goes through a stack copy of one register (the
//!   default in [`Lanes16`]).

use core::arch::aarch64::*;

use crate::half::{Bf16, F16};
use crate::half_lanes::{Half, Lanes16};

/// 8 binary16 values (bits) in a `uint16x8_t`.
pub type F16x8 = Half<uint16x8_t, F16>;

/// 8 bfloat16 values (bits) in a `uint16x8_t`.
pub type Bf16x8 = Half<uint16x8_t, Bf16>;

// SAFETY: `uint16x8_t` is a plain 16-byte register of 8 lanes of 16 bits. Every
// method needs NEON.
unsafe impl Lanes16 for uint16x8_t {
    type Mask = uint16x8_t;
    const LANES: usize = 8;

    #[inline(always)]
    unsafe fn splat(x: u16) -> Self {
        // SAFETY: caller guarantees NEON.
        unsafe { vdupq_n_u16(x) }
    }
    #[inline(always)]
    unsafe fn zero() -> Self {
        // SAFETY: caller guarantees NEON.
        unsafe { vdupq_n_u16(0) }
    }
    #[inline(always)]
    unsafe fn load(p: *const u16) -> Self {
        // SAFETY: caller guarantees 8 readable lanes at p.
        unsafe { vld1q_u16(p) }
    }
    #[inline(always)]
    unsafe fn store(self, p: *mut u16) {
        // SAFETY: caller guarantees 8 writable lanes at p.
        unsafe { vst1q_u16(p, self) }
    }
    #[inline(always)]
    unsafe fn add(a: Self, b: Self) -> Self {
        // SAFETY: caller guarantees NEON.
        unsafe { vaddq_u16(a, b) }
    }
    #[inline(always)]
    unsafe fn sub(a: Self, b: Self) -> Self {
        // SAFETY: caller guarantees NEON.
        unsafe { vsubq_u16(a, b) }
    }
    #[inline(always)]
    unsafe fn and(a: Self, b: Self) -> Self {
        // SAFETY: caller guarantees NEON.
        unsafe { vandq_u16(a, b) }
    }
    #[inline(always)]
    unsafe fn xor(a: Self, b: Self) -> Self {
        // SAFETY: caller guarantees NEON.
        unsafe { veorq_u16(a, b) }
    }
    #[inline(always)]
    unsafe fn min_u16(a: Self, b: Self) -> Self {
        // SAFETY: caller guarantees NEON.
        unsafe { vminq_u16(a, b) }
    }
    #[inline(always)]
    unsafe fn min_i16(a: Self, b: Self) -> Self {
        // SAFETY: caller guarantees NEON.
        unsafe {
            let m = vminq_s16(vreinterpretq_s16_u16(a), vreinterpretq_s16_u16(b));
            vreinterpretq_u16_s16(m)
        }
    }
    #[inline(always)]
    unsafe fn lt_i16(a: Self, b: Self) -> uint16x8_t {
        // SAFETY: caller guarantees NEON.
        unsafe { vcltq_s16(vreinterpretq_s16_u16(a), vreinterpretq_s16_u16(b)) }
    }
    #[inline(always)]
    unsafe fn gt_i16(a: Self, b: Self) -> uint16x8_t {
        // SAFETY: caller guarantees NEON.
        unsafe { vcgtq_s16(vreinterpretq_s16_u16(a), vreinterpretq_s16_u16(b)) }
    }
    #[inline(always)]
    unsafe fn mask_and(a: uint16x8_t, b: uint16x8_t) -> uint16x8_t {
        // SAFETY: caller guarantees NEON.
        unsafe { vandq_u16(a, b) }
    }
    #[inline(always)]
    unsafe fn select(m: uint16x8_t, t: Self, f: Self) -> Self {
        // SAFETY: caller guarantees NEON. BSL takes t's bits where m is set.
        unsafe { vbslq_u16(m, t, f) }
    }
    #[inline(always)]
    unsafe fn clear(m: uint16x8_t, v: Self) -> Self {
        // SAFETY: caller guarantees NEON. BIC clears the bits set in m.
        unsafe { vbicq_u16(v, m) }
    }
    #[inline(always)]
    unsafe fn keep(m: uint16x8_t, v: Self) -> Self {
        // SAFETY: caller guarantees NEON.
        unsafe { vandq_u16(m, v) }
    }
    #[inline(always)]
    unsafe fn all(m: uint16x8_t) -> bool {
        // SAFETY: caller guarantees NEON.
        unsafe { vminvq_u16(m) == u16::MAX }
    }
    /// binary16 product, formed in f32 and rounded once.
    #[inline(always)]
    unsafe fn mul_f16(a: Self, b: Self) -> Self {
        // SAFETY: caller guarantees NEON.
        unsafe {
            let al = f16_to_f32(vmovl_u16(vget_low_u16(a)));
            let ah = f16_to_f32(vmovl_high_u16(a));
            let bl = f16_to_f32(vmovl_u16(vget_low_u16(b)));
            let bh = f16_to_f32(vmovl_high_u16(b));
            let lo = f32_to_f16(vmulq_f32(al, bl));
            let hi = f32_to_f16(vmulq_f32(ah, bh));
            vmovn_high_u32(vmovn_u32(lo), hi)
        }
    }
    /// bfloat16 product, formed in f32 and rounded once (integer rounding).
    #[inline(always)]
    unsafe fn mul_bf16(a: Self, b: Self) -> Self {
        // SAFETY: caller guarantees NEON.
        unsafe {
            let al = vreinterpretq_f32_u32(vshll_n_u16::<16>(vget_low_u16(a)));
            let ah = vreinterpretq_f32_u32(vshll_high_n_u16::<16>(a));
            let bl = vreinterpretq_f32_u32(vshll_n_u16::<16>(vget_low_u16(b)));
            let bh = vreinterpretq_f32_u32(vshll_high_n_u16::<16>(b));
            let lo = round_bf16_product(vmulq_f32(al, bl));
            let hi = round_bf16_product(vmulq_f32(ah, bh));
            vshrn_high_n_u32::<16>(vshrn_n_u32::<16>(lo), hi)
        }
    }
}

/// Exact binary16 -> f32 of four lanes (each zero-extended in a u32 lane).
#[inline(always)]
unsafe fn f16_to_f32(h: uint32x4_t) -> float32x4_t {
    // SAFETY: caller guarantees NEON.
    unsafe {
        let shifted_exp = vdupq_n_u32(0x7C00 << 13);
        let o = vshlq_n_u32::<13>(vandq_u32(h, vdupq_n_u32(0x7FFF)));
        let exp = vandq_u32(o, shifted_exp);
        // Rebias 15 -> 127.
        let o = vaddq_u32(o, vdupq_n_u32((127 - 15) << 23));
        // Inf/NaN: exponent all-ones (another +128-16).
        let special = vceqq_u32(exp, shifted_exp);
        let o = vaddq_u32(o, vandq_u32(special, vdupq_n_u32((128 - 16) << 23)));
        // Zero/subnormal: (2^-14 + m * 2^-24) - 2^-14 = m * 2^-24, exactly.
        let tiny = vceqq_u32(exp, vdupq_n_u32(0));
        let biased = vreinterpretq_f32_u32(vaddq_u32(o, vdupq_n_u32(1 << 23)));
        let renorm = vsubq_f32(biased, vdupq_n_f32(f32::from_bits(113 << 23)));
        let o = vbslq_u32(tiny, vreinterpretq_u32_f32(renorm), o);
        let sign = vshlq_n_u32::<16>(vandq_u32(h, vdupq_n_u32(0x8000)));
        vreinterpretq_f32_u32(vorrq_u32(o, sign))
    }
}

/// f32 -> binary16 bits (round to nearest even), in the low half of each u32 lane.
#[inline(always)]
unsafe fn f32_to_f16(f: float32x4_t) -> uint32x4_t {
    // SAFETY: caller guarantees NEON.
    unsafe {
        let x = vreinterpretq_u32_f32(f);
        let sign = vandq_u32(x, vdupq_n_u32(0x8000_0000));
        let a = veorq_u32(x, sign);
        // |f| >= 65536: infinity, or NaN with its payload (quieted).
        let is_nan = vcgtq_u32(a, vdupq_n_u32(0x7F80_0000));
        let payload = vandq_u32(vshrq_n_u32::<13>(a), vdupq_n_u32(0x3FF));
        let nan = vorrq_u32(payload, vdupq_n_u32(0x7E00));
        let big = vbslq_u32(is_nan, nan, vdupq_n_u32(0x7C00));
        // |f| < 2^-14: an f16 subnormal or zero; adding 0.5 rounds at 2^-24.
        let sum = vaddq_f32(vreinterpretq_f32_u32(a), vdupq_n_f32(0.5));
        let sub = vsubq_u32(vreinterpretq_u32_f32(sum), vdupq_n_u32(126 << 23));
        // Normal range: rebias 127 -> 15, then round to nearest even at bit 13 (a carry
        // moves into the exponent, up to infinity).
        let odd = vandq_u32(vshrq_n_u32::<13>(a), vdupq_n_u32(1));
        let rebias = vdupq_n_u32((((15 - 127) << 23) as u32).wrapping_add(0xFFF));
        let normal = vshrq_n_u32::<13>(vaddq_u32(vaddq_u32(a, rebias), odd));
        let is_big = vcgeq_u32(a, vdupq_n_u32((127 + 16) << 23));
        let is_sub = vcltq_u32(a, vdupq_n_u32(113 << 23));
        let r = vbslq_u32(is_big, big, vbslq_u32(is_sub, sub, normal));
        vorrq_u32(r, vshrq_n_u32::<16>(sign))
    }
}

/// f32 products of two bfloat16 values, rounded to bfloat16 (nearest even) by adding
/// `0x7fff + lsb`, still in the top half of each 32-bit lane (no NaN path: see
/// [`Lanes16::mul_bf16`]).
#[inline(always)]
unsafe fn round_bf16_product(p: float32x4_t) -> uint32x4_t {
    // SAFETY: caller guarantees NEON.
    unsafe {
        let x = vreinterpretq_u32_f32(p);
        let lsb = vandq_u32(vshrq_n_u32::<16>(x), vdupq_n_u32(1));
        vaddq_u32(x, vaddq_u32(lsb, vdupq_n_u32(0x7FFF)))
    }
}

/// binary16 kernels on NEON.
pub mod f16 {
    use super::F16x8;
    use crate::half::F16;
    crate::kernel_entry_points!([target_feature(enable = "neon")], F16x8, F16);
}

/// bfloat16 kernels on NEON.
pub mod bf16 {
    use super::Bf16x8;
    use crate::half::Bf16;
    crate::kernel_entry_points!([target_feature(enable = "neon")], Bf16x8, Bf16);
}
