//! NEON kernels for the 16-bit floats: [`F16x8`] and [`Bf16x8`], 8 lanes in a
//! `uint16x8_t`. Plain ARMv8.0 AdvSIMD: no FEAT_FP16, no FEAT_BF16, and no half-float
//! intrinsics (so any aarch64 CPU and any supported compiler).
//!
//! - **Compares are integer-only**, on the order key `sign ? -|x| : |x|` (`CMGT` on
//!   `i16`), false where either side is NaN (`|x| > inf bits`, `CMHI`). relu clears
//!   (`BIC`) the lanes whose bits are in `0x8001..=0x8000 | inf`, i.e. `x < 0`; the
//!   clip has a shortcut for a non-negative `n` (`clip_above`).
//! - **Selects are bitwise** (`BSL`, `AND`), so passed-through bits are kept exactly.
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
//!     (a NaN product needs no path of its own, see [`round_bf16_product`]).
//! - `x < 0`, `y > 0` and `0 < y < n` are ranges of the bits (one subtract, one
//!   unsigned compare), and relu_n is fused into one shifted signed minimum (`relu_n`).
//! - A call shorter than one register goes through a stack copy of one register (the
//!   default in [`Vector`]).

use core::arch::aarch64::*;

use crate::half::{Bf16, F16};
use crate::vector::Vector;

/// 8 binary16 values (bits) in a `uint16x8_t`.
#[derive(Clone, Copy)]
#[repr(transparent)]
pub struct F16x8(uint16x8_t);

/// 8 bfloat16 values (bits) in a `uint16x8_t`.
#[derive(Clone, Copy)]
#[repr(transparent)]
pub struct Bf16x8(uint16x8_t);

/// The order key `sign ? -|x| : |x|` of each 16-bit lane.
#[inline(always)]
unsafe fn order_key(v: uint16x8_t) -> int16x8_t {
    // SAFETY: caller guarantees NEON.
    unsafe {
        let s = vreinterpretq_s16_u16(v);
        let mag = vreinterpretq_s16_u16(vandq_u16(v, vdupq_n_u16(0x7FFF)));
        let neg = vshrq_n_s16::<15>(s);
        vsubq_s16(veorq_s16(mag, neg), neg)
    }
}

/// All-ones in the lanes that are not NaN (`|x| <= inf`).
#[inline(always)]
unsafe fn ordered(v: uint16x8_t, inf: u16) -> uint16x8_t {
    // SAFETY: caller guarantees NEON.
    unsafe { vcleq_u16(vandq_u16(v, vdupq_n_u16(0x7FFF)), vdupq_n_u16(inf)) }
}

/// IEEE `a < b` per lane (false if either is NaN).
#[inline(always)]
unsafe fn less(a: uint16x8_t, b: uint16x8_t, inf: u16) -> uint16x8_t {
    // SAFETY: caller guarantees NEON.
    unsafe {
        let lt = vcltq_s16(order_key(a), order_key(b));
        vandq_u16(lt, vandq_u16(ordered(a, inf), ordered(b, inf)))
    }
}

/// All-ones where `x < 0`: bits in `0x8001..=0x8000 | inf`.
#[inline(always)]
unsafe fn negative(v: uint16x8_t, inf: u16) -> uint16x8_t {
    // SAFETY: caller guarantees NEON. One wrapping subtract, one unsigned compare.
    unsafe { vcleq_u16(vsubq_u16(v, vdupq_n_u16(0x8001)), vdupq_n_u16(inf - 1)) }
}

/// Whether every lane of `n` is in `+0..=+inf` (bits `0..=inf`).
#[inline(always)]
unsafe fn all_non_negative(n: uint16x8_t, inf: u16) -> bool {
    // SAFETY: caller guarantees NEON.
    unsafe { vminvq_u16(vcleq_u16(n, vdupq_n_u16(inf))) == u16::MAX }
}

/// `x > n ? n : x` per lane. When `n` is in `+0..=+inf` in every lane (relu_n's
/// splatted `n`; the test is loop-invariant), this is the signed minimum of the bits
/// with the positive NaNs put back; otherwise a select on the general [`less`]. The two
/// branches end differently, so the join is on data, not on compare masks.
#[inline(always)]
unsafe fn clip_above(x: uint16x8_t, n: uint16x8_t, inf: u16) -> uint16x8_t {
    // SAFETY: caller guarantees NEON.
    unsafe {
        let (sx, sn) = (vreinterpretq_s16_u16(x), vreinterpretq_s16_u16(n));
        let inf_v = vdupq_n_s16(inf as i16);
        if all_non_negative(n, inf) {
            // Signed min clips the positive x above n and keeps every sign-set x
            // (negative as i16, so below n); only the positive NaNs must be put back.
            let clipped = vreinterpretq_u16_s16(vminq_s16(sx, sn));
            vbslq_u16(vcgtq_s16(sx, inf_v), x, clipped)
        } else {
            vbslq_u16(less(n, x, inf), n, x)
        }
    }
}

/// All-ones where `x > 0`: bits in `1..=inf` (one subtract, one unsigned compare).
#[inline(always)]
unsafe fn positive(v: uint16x8_t, inf: u16) -> uint16x8_t {
    // SAFETY: caller guarantees NEON.
    unsafe { vcltq_u16(vsubq_u16(v, vdupq_n_u16(1)), vdupq_n_u16(inf)) }
}

/// All-ones where `0 < y < n`. When `n` is in `+min..=+inf` in every lane (relu_n's
/// splatted `n`; the test is loop-invariant), the bits of `y` in `1..n`: one subtract
/// and one unsigned compare; otherwise the two general compares.
#[inline(always)]
unsafe fn in_open(y: uint16x8_t, n: uint16x8_t, inf: u16) -> uint16x8_t {
    // SAFETY: caller guarantees NEON.
    unsafe {
        let one = vdupq_n_u16(1);
        if vminvq_u16(positive(n, inf)) == u16::MAX {
            vcltq_u16(vsubq_u16(y, one), vsubq_u16(n, one))
        } else {
            vandq_u16(less(vdupq_n_u16(0), y, inf), less(y, n, inf))
        }
    }
}

/// relu then the clip at `n`, fused when `n` is in `+0..=+inf` in every lane (as in
/// `x86_64::avx512_half::relu_n`): adding `c = 0x7fff - inf` puts the negatives at the
/// unsigned top and NaN and -0.0 below `c` or negative as i16, so one unsigned compare
/// finds the negatives, one signed minimum clips at `n + c`, and subtracting `c` and
/// clearing the negatives finishes. Five instructions where relu and the clip take six.
#[inline(always)]
unsafe fn relu_n(x: uint16x8_t, n: uint16x8_t, inf: u16) -> uint16x8_t {
    // SAFETY: caller guarantees NEON.
    unsafe {
        if all_non_negative(n, inf) {
            let c = vdupq_n_u16(0x7FFF - inf);
            let t = vaddq_u16(x, c);
            let negative = vcgeq_u16(t, vdupq_n_u16(0x8001 + (0x7FFF - inf)));
            let h = vreinterpretq_s16_u16(vaddq_u16(n, c));
            let clipped = vreinterpretq_u16_s16(vminq_s16(vreinterpretq_s16_u16(t), h));
            vbicq_u16(vsubq_u16(clipped, c), negative)
        } else {
            clip_above(vbicq_u16(x, negative(x, inf)), n, inf)
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

/// binary16 product, formed in f32 and rounded once.
#[inline(always)]
unsafe fn mul_f16(a: uint16x8_t, b: uint16x8_t) -> uint16x8_t {
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

/// f32 products of two bfloat16 values, rounded to bfloat16 (nearest even), still in the
/// top half of each 32-bit lane.
///
/// No NaN path: a NaN product of two bf16 values is a quieted operand or the default
/// NaN, whose low 16 bits are zero, so `x + 0x7fff + lsb` cannot carry into the top
/// half and the result is `x >> 16` with the quiet bit set, the oracle's NaN narrowing.
/// (No lane overflows: the largest non-NaN magnitude is 0x7f80_0000.)
#[inline(always)]
unsafe fn round_bf16_product(p: float32x4_t) -> uint32x4_t {
    // SAFETY: caller guarantees NEON.
    unsafe {
        let x = vreinterpretq_u32_f32(p);
        let lsb = vandq_u32(vshrq_n_u32::<16>(x), vdupq_n_u32(1));
        vaddq_u32(x, vaddq_u32(lsb, vdupq_n_u32(0x7FFF)))
    }
}

/// bfloat16 product, formed in f32 and rounded once (integer rounding).
#[inline(always)]
unsafe fn mul_bf16(a: uint16x8_t, b: uint16x8_t) -> uint16x8_t {
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

macro_rules! half_vector {
    ($V:ident, $T:ident, $mul:ident) => {
        // SAFETY: `$V` is a transparent 16-byte register of 8 lanes of the 2-byte `$T`.
        unsafe impl Vector for $V {
            type Elem = $T;
            type Mask = uint16x8_t;
            const LANES: usize = 8;

            #[inline(always)]
            unsafe fn splat(x: $T) -> Self {
                // SAFETY: caller guarantees NEON.
                $V(unsafe { vdupq_n_u16(x.0) })
            }
            #[inline(always)]
            unsafe fn zero() -> Self {
                // SAFETY: caller guarantees NEON; +0.0 is all-zero bits.
                $V(unsafe { vdupq_n_u16(0) })
            }
            #[inline(always)]
            unsafe fn load(p: *const $T) -> Self {
                // SAFETY: caller guarantees 8 readable elements at p; `$T` has u16's
                // size and alignment (repr(transparent)).
                $V(unsafe { vld1q_u16(p.cast()) })
            }
            #[inline(always)]
            unsafe fn store(self, p: *mut $T) {
                // SAFETY: caller guarantees 8 writable elements at p.
                unsafe { vst1q_u16(p.cast(), self.0) }
            }
            #[inline(always)]
            unsafe fn lt(self, o: Self) -> uint16x8_t {
                // SAFETY: caller guarantees NEON.
                unsafe { less(self.0, o.0, $T::INFINITY_BITS) }
            }
            #[inline(always)]
            unsafe fn gt(self, o: Self) -> uint16x8_t {
                // SAFETY: caller guarantees NEON.
                unsafe { less(o.0, self.0, $T::INFINITY_BITS) }
            }
            #[inline(always)]
            unsafe fn and(a: uint16x8_t, b: uint16x8_t) -> uint16x8_t {
                // SAFETY: caller guarantees NEON.
                unsafe { vandq_u16(a, b) }
            }
            #[inline(always)]
            unsafe fn select(m: uint16x8_t, t: Self, f: Self) -> Self {
                // SAFETY: caller guarantees NEON. BSL takes t's bits where m is set.
                $V(unsafe { vbslq_u16(m, t.0, f.0) })
            }
            #[inline(always)]
            unsafe fn mul(self, o: Self) -> Self {
                // SAFETY: caller guarantees NEON.
                $V(unsafe { $mul(self.0, o.0) })
            }
            #[inline(always)]
            unsafe fn keep(m: uint16x8_t, v: Self) -> Self {
                // SAFETY: caller guarantees NEON.
                $V(unsafe { vandq_u16(m, v.0) })
            }
            #[inline(always)]
            unsafe fn relu(self) -> Self {
                // SAFETY: caller guarantees NEON. Clear (BIC) the lanes where x < 0.
                $V(unsafe { vbicq_u16(self.0, negative(self.0, $T::INFINITY_BITS)) })
            }
            #[inline(always)]
            unsafe fn clip_above(self, n: Self) -> Self {
                // SAFETY: caller guarantees NEON.
                $V(unsafe { clip_above(self.0, n.0, $T::INFINITY_BITS) })
            }
            #[inline(always)]
            unsafe fn relu_n(self, n: Self) -> Self {
                // SAFETY: caller guarantees NEON.
                $V(unsafe { relu_n(self.0, n.0, $T::INFINITY_BITS) })
            }
            #[inline(always)]
            unsafe fn leaky_parts(self, a: Self) -> (uint16x8_t, Self) {
                // SAFETY: caller guarantees NEON.
                unsafe { (negative(self.0, $T::INFINITY_BITS), $V($mul(a.0, self.0))) }
            }
            #[inline(always)]
            unsafe fn positive(self) -> uint16x8_t {
                // SAFETY: caller guarantees NEON.
                unsafe { positive(self.0, $T::INFINITY_BITS) }
            }
            #[inline(always)]
            unsafe fn in_open(self, n: Self) -> uint16x8_t {
                // SAFETY: caller guarantees NEON.
                unsafe { in_open(self.0, n.0, $T::INFINITY_BITS) }
            }
        }
    };
}

half_vector!(F16x8, F16, mul_f16);
half_vector!(Bf16x8, Bf16, mul_bf16);

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
