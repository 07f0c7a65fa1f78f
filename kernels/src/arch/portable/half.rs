//! The 16-bit floats on `wide`: [`F16x8`] and [`Bf16x8`], 8 lanes in a
//! `wide::u16x8`: the [`Lanes16`] operations of `u16x8`, on which [`Half`] writes the
//! algorithm (see [`crate::half_lanes`]).
//!
//! `wide` itself is safe code; the only unsafe here is the raw-pointer load and store.
//! Compares are signed (`PCMPGTW` on baseline x86_64), selects bitwise. The product is
//! formed in f32 and rounded once, with the conversions done in integer lanes (plus
//! one exact f32 subtraction to renormalise f16 subnormals, and one f32 addition of
//! 0.5 that rounds f16 subnormal results at exactly 2^-24).

use wide::{f32x8, i16x8, u16x8, u32x8};

use crate::half::{Bf16, F16};
use crate::half_lanes::{Half, Lanes16};

/// 8 binary16 values (bits) in a `wide::u16x8`.
pub type F16x8 = Half<u16x8, F16>;

/// 8 bfloat16 values (bits) in a `wide::u16x8`.
pub type Bf16x8 = Half<u16x8, Bf16>;

// SAFETY: `u16x8` is a plain, fully initialised 16-byte value of 8 u16 lanes; no method
// needs a CPU feature beyond the target's baseline.
unsafe impl Lanes16 for u16x8 {
    type Mask = u16x8;
    const LANES: usize = 8;

    #[inline(always)]
    unsafe fn splat(x: u16) -> Self {
        u16x8::splat(x)
    }
    #[inline(always)]
    unsafe fn zero() -> Self {
        u16x8::ZERO
    }
    #[inline(always)]
    unsafe fn load(p: *const u16) -> Self {
        // SAFETY: the caller guarantees 8 readable lanes at p; read_unaligned needs no
        // alignment.
        u16x8::new(unsafe { p.cast::<[u16; 8]>().read_unaligned() })
    }
    #[inline(always)]
    unsafe fn store(self, p: *mut u16) {
        // SAFETY: the caller guarantees 8 writable lanes at p.
        unsafe { p.cast::<[u16; 8]>().write_unaligned(self.to_array()) }
    }
    #[inline(always)]
    unsafe fn add(a: Self, b: Self) -> Self {
        a + b
    }
    #[inline(always)]
    unsafe fn sub(a: Self, b: Self) -> Self {
        a - b
    }
    #[inline(always)]
    unsafe fn and(a: Self, b: Self) -> Self {
        a & b
    }
    #[inline(always)]
    unsafe fn xor(a: Self, b: Self) -> Self {
        a ^ b
    }
    #[inline(always)]
    unsafe fn min_u16(a: Self, b: Self) -> Self {
        a.min(b)
    }
    /// The signed-minimum form where the unsigned minimum is not one instruction
    /// (x86-64's SSE2 baseline has `PMINSW` only): measured on Zen 4, f16 relu_n at
    /// 64 KiB ran at 58 GB/s with the default form, 66 with this one.
    #[cfg(all(target_arch = "x86_64", not(target_feature = "sse4.1")))]
    #[inline(always)]
    unsafe fn relu_n_fused(x: Self, n: Self, inf: u16) -> Self {
        // SAFETY: no feature beyond the baseline is needed.
        unsafe { crate::half_lanes::relu_n_signed_min(x, n, inf) }
    }
    #[inline(always)]
    unsafe fn min_i16(a: Self, b: Self) -> Self {
        a.cast_signed().min(b.cast_signed()).cast_unsigned()
    }
    #[inline(always)]
    unsafe fn lt_i16(a: Self, b: Self) -> u16x8 {
        a.cast_signed().simd_lt(b.cast_signed()).cast_unsigned()
    }
    #[inline(always)]
    unsafe fn gt_i16(a: Self, b: Self) -> u16x8 {
        a.cast_signed().simd_gt(b.cast_signed()).cast_unsigned()
    }
    #[inline(always)]
    unsafe fn mask_and(a: u16x8, b: u16x8) -> u16x8 {
        a & b
    }
    #[inline(always)]
    unsafe fn select(m: u16x8, t: Self, f: Self) -> Self {
        // `bitselect` is pure bitwise logic, so every bit of t and f survives.
        m.bitselect(t, f)
    }
    #[inline(always)]
    unsafe fn clear(m: u16x8, v: Self) -> Self {
        v & !m
    }
    #[inline(always)]
    unsafe fn keep(m: u16x8, v: Self) -> Self {
        m & v
    }
    #[inline(always)]
    unsafe fn all(m: u16x8) -> bool {
        m.all()
    }
    #[inline(always)]
    unsafe fn mul_f16(a: Self, b: Self) -> Self {
        let p = f16_to_f32(u32x8::from(a)) * f16_to_f32(u32x8::from(b));
        narrow_u32(f32_to_f16(p))
    }
    #[inline(always)]
    unsafe fn mul_bf16(a: Self, b: Self) -> Self {
        let wa: f32x8 = bytemuck::cast(u32x8::from(a) << 16u32);
        let wb: f32x8 = bytemuck::cast(u32x8::from(b) << 16u32);
        narrow_u32(round_bf16_product(wa * wb))
    }
}

/// u32 lanes holding 16-bit patterns in their low halves, back to 16-bit lanes.
#[inline(always)]
fn narrow_u32(v: u32x8) -> u16x8 {
    i16x8::from_i32x8_truncate(v.cast_signed()).cast_unsigned()
}

/// Exact binary16 -> f32 (each lane zero-extended in a u32).
#[inline(always)]
fn f16_to_f32(h: u32x8) -> f32x8 {
    let shifted_exp = u32x8::splat(0x7C00 << 13u32);
    let o = (h & u32x8::splat(0x7FFF)) << 13u32;
    let exp = o & shifted_exp;
    // Rebias 15 -> 127; inf/NaN get another +112 (exponent all-ones, payload kept).
    let o = o + u32x8::splat((127 - 15) << 23u32);
    let o = o + (exp.simd_eq(shifted_exp) & u32x8::splat((128 - 16) << 23u32));
    // Zero/subnormal: (2^-14 + m * 2^-24) - 2^-14 = m * 2^-24, exactly.
    let biased: f32x8 = bytemuck::cast(o + u32x8::splat(1 << 23u32));
    let renorm: u32x8 = bytemuck::cast(biased - f32x8::splat(f32::from_bits(113 << 23u32)));
    let o = exp.simd_eq(u32x8::ZERO).bitselect(renorm, o);
    bytemuck::cast(o | ((h & u32x8::splat(0x8000)) << 16u32))
}

/// f32 -> binary16 bits (round to nearest even; NaN quieted with its payload kept;
/// overflow to infinity), in the low half of each u32 lane.
#[inline(always)]
fn f32_to_f16(f: f32x8) -> u32x8 {
    let x: u32x8 = bytemuck::cast(f);
    let sign = x & u32x8::splat(0x8000_0000);
    let a = x ^ sign;
    let payload = (a >> 13u32) & u32x8::splat(0x3FF);
    let nan = payload | u32x8::splat(0x7E00);
    let big = a
        .simd_gt(u32x8::splat(0x7F80_0000))
        .bitselect(nan, u32x8::splat(0x7C00));
    // An f16 subnormal: adding 0.5 (ulp 2^-24) rounds at the subnormal quantum.
    let sum: u32x8 = bytemuck::cast(bytemuck::cast::<u32x8, f32x8>(a) + f32x8::splat(0.5));
    let sub = sum - u32x8::splat(126 << 23u32);
    // Normal: rebias 127 -> 15 and round to nearest even at bit 13.
    let odd = (a >> 13u32) & u32x8::splat(1);
    let rebias = u32x8::splat((((15 - 127) << 23u32) as u32).wrapping_add(0xFFF));
    let normal = (a + rebias + odd) >> 13u32;
    let r = a.simd_ge(u32x8::splat((127 + 16) << 23u32)).bitselect(
        big,
        a.simd_lt(u32x8::splat(113 << 23u32)).bitselect(sub, normal),
    );
    r | (sign >> 16u32)
}

/// f32 products of two bfloat16 values, rounded to bfloat16 (nearest even) as
/// `(x + 0x7fff + lsb) >> 16`, in the low 16 bits of each 32-bit lane (no NaN path:
/// see [`Lanes16::mul_bf16`]).
#[inline(always)]
fn round_bf16_product(f: f32x8) -> u32x8 {
    let x: u32x8 = bytemuck::cast(f);
    let lsb = (x >> 16u32) & u32x8::splat(1);
    (x + lsb + u32x8::splat(0x7FFF)) >> 16u32
}

/// Portable binary16 kernels.
pub mod f16 {
    use super::F16x8;
    use crate::half::F16;
    crate::kernel_entry_points!([inline], F16x8, F16);
}

/// Portable bfloat16 kernels.
pub mod bf16 {
    use super::Bf16x8;
    use crate::half::Bf16;
    crate::kernel_entry_points!([inline], Bf16x8, Bf16);
}
