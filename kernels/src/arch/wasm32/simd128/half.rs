//! SIMD128 kernels for the 16-bit floats: [`F16x16`] and [`Bf16x16`], 16 lanes in a
//! [`U16x16`] (two `v128`s): the [`Lanes16`] operations of `i16x8`/`u16x8`, on which [`Half`] writes
//! the algorithm (see [`crate::half_lanes`]). WebAssembly has no half-float
//! instructions, so the conversions are integer ones, as on NEON.
//!
//! - Selects are `v128.bitselect`, `v128.and` and `v128.andnot`; compares are
//!   `i16x8.lt_s`/`gt_s`.
//! - **The product** is one `f32x4.mul` on the exactly widened operands, rounded once:
//!   - f16 → f32: integer rebias of exponent and mantissa; a subnormal is renormalised
//!     by the exact subtraction `(2^-14 + m·2^-24) - 2^-14` (WebAssembly floats have
//!     no flush-to-zero mode); inf/NaN get exponent 0xff (payload kept).
//!   - f32 → f16: integer round-to-nearest-even for results in f16's normal range,
//!     and for f16 subnormals one `f32x4.add` of 0.5, whose ulp (2^-24) is the f16
//!     subnormal quantum, so the addition rounds to nearest even at exactly the right
//!     place; NaN becomes `sign | 0x7e00 | payload >> 13`, overflow infinity.
//!   - f16 products of normal factors with a normal f16 product below 2^16 (most,
//!     in most data) take a short path: one factor widened by a shift alone (an f32
//!     `2^112` times too small, which leaves the product's exponent field the
//!     binary16 one), the exact f32 product narrowed by one integer rounding
//!     ([`Domain`], [`product_f16`]);
//!     a register with a lane outside takes the conversions above, out of line.
//!   - bf16: each 32-bit lane as two f32s, the even word widened by a 16-bit shift
//!     left and the odd by masking the low half; integer round-to-nearest-even, then a
//!     16-bit shift right of the even products and a word blend with the odd ones put
//!     the words back (a NaN product needs no path of its own, see
//!     [`Lanes16::mul_bf16`]).
//! - A call shorter than one register goes through a stack copy of one register (the
//!   default in [`Lanes16`]).

use core::arch::wasm32::*;

use crate::half::{Bf16, F16};
use crate::half_lanes::{Half, Lanes16};

/// 16 lanes of 16 bits in two `v128`s, the first holding the lower 8: one turn of
/// the kernels' four-register loops then moves 128 bytes (as `F32x8` does for f32;
/// see the [parent module](super)).
#[derive(Clone, Copy)]
pub struct U16x16(v128, v128);

/// 16 binary16 values (bits) in a [`U16x16`].
pub type F16x16 = Half<U16x16, F16>;

/// 16 bfloat16 values (bits) in a [`U16x16`].
pub type Bf16x16 = Half<U16x16, Bf16>;

// SAFETY: `U16x16` is two `v128`s, plain 16-byte registers of 8 lanes of 16 bits
// each. The build has SIMD128 (this module exists only then), so every method may be
// called; the pointer methods' callers vouch for the accesses.
unsafe impl Lanes16 for U16x16 {
    type Mask = (v128, v128);
    const LANES: usize = 16;

    #[inline(always)]
    unsafe fn splat(x: u16) -> Self {
        U16x16(u16x8_splat(x), u16x8_splat(x))
    }
    #[inline(always)]
    unsafe fn zero() -> Self {
        U16x16(i64x2_splat(0), i64x2_splat(0))
    }
    #[inline(always)]
    unsafe fn load(p: *const u16) -> Self {
        // SAFETY: the caller guarantees 16 readable lanes (32 bytes) at p;
        // `v128.load` needs no alignment.
        unsafe { U16x16(v128_load(p.cast()), v128_load(p.add(8).cast())) }
    }
    #[inline(always)]
    unsafe fn store(self, p: *mut u16) {
        // SAFETY: the caller guarantees 16 writable lanes at p.
        unsafe {
            v128_store(p.cast(), self.0);
            v128_store(p.add(8).cast(), self.1);
        }
    }
    #[inline(always)]
    unsafe fn add(a: Self, b: Self) -> Self {
        U16x16(i16x8_add(a.0, b.0), i16x8_add(a.1, b.1))
    }
    #[inline(always)]
    unsafe fn sub(a: Self, b: Self) -> Self {
        U16x16(i16x8_sub(a.0, b.0), i16x8_sub(a.1, b.1))
    }
    #[inline(always)]
    unsafe fn and(a: Self, b: Self) -> Self {
        U16x16(v128_and(a.0, b.0), v128_and(a.1, b.1))
    }
    #[inline(always)]
    unsafe fn xor(a: Self, b: Self) -> Self {
        U16x16(v128_xor(a.0, b.0), v128_xor(a.1, b.1))
    }
    #[inline(always)]
    unsafe fn min_u16(a: Self, b: Self) -> Self {
        U16x16(u16x8_min(a.0, b.0), u16x8_min(a.1, b.1))
    }
    #[inline(always)]
    unsafe fn min_i16(a: Self, b: Self) -> Self {
        U16x16(i16x8_min(a.0, b.0), i16x8_min(a.1, b.1))
    }
    #[inline(always)]
    unsafe fn lt_i16(a: Self, b: Self) -> (v128, v128) {
        (i16x8_lt(a.0, b.0), i16x8_lt(a.1, b.1))
    }
    #[inline(always)]
    unsafe fn gt_i16(a: Self, b: Self) -> (v128, v128) {
        (i16x8_gt(a.0, b.0), i16x8_gt(a.1, b.1))
    }
    #[inline(always)]
    unsafe fn mask_and(a: (v128, v128), b: (v128, v128)) -> (v128, v128) {
        (v128_and(a.0, b.0), v128_and(a.1, b.1))
    }
    #[inline(always)]
    unsafe fn select(m: (v128, v128), t: Self, f: Self) -> Self {
        // Bitwise: t's bits where m is set, f's elsewhere.
        U16x16(v128_bitselect(t.0, f.0, m.0), v128_bitselect(t.1, f.1, m.1))
    }
    #[inline(always)]
    unsafe fn clear(m: (v128, v128), v: Self) -> Self {
        // `v & !m`.
        U16x16(v128_andnot(v.0, m.0), v128_andnot(v.1, m.1))
    }
    #[inline(always)]
    unsafe fn keep(m: (v128, v128), v: Self) -> Self {
        U16x16(v128_and(m.0, v.0), v128_and(m.1, v.1))
    }
    #[inline(always)]
    unsafe fn all(m: (v128, v128)) -> bool {
        i16x8_all_true(v128_and(m.0, m.1))
    }
    /// binary16 product, formed in f32 and rounded once: [`product_f16`] where every
    /// lane is in its domain ([`Domain`]), else the general conversions of
    /// [`mul_f16`].
    #[inline(always)]
    unsafe fn mul_f16(a: Self, b: Self) -> Self {
        let (d0, d1) = (Domain::of(a.0), Domain::of(a.1));
        let mask = u16x8_splat(0x7FFF);
        let (m0, m1) = (v128_and(b.0, mask), v128_and(b.1, mask));
        let outside = v128_or(d0.outside(m0), d1.outside(m1));
        if v128_any_true(outside) {
            return mul_f16_general(a, b);
        }
        let (s0, s1) = (
            v128_and(v128_xor(a.0, b.0), u16x8_splat(0x8000)),
            v128_and(v128_xor(a.1, b.1), u16x8_splat(0x8000)),
        );
        U16x16(product_f16(d0.a, m0, s0), product_f16(d1.a, m1, s1))
    }
    /// As the default, with [`product_f16`] unless a negative lane of `x` is outside
    /// its domain (the other lanes' products are not used). The negative lanes in
    /// the domain are one range of the bits, so one add and one compare find them,
    /// and they are all of `x`'s negative lanes exactly when the two masks agree.
    #[inline(always)]
    unsafe fn leaky_parts_f16(x: Self, a: Self) -> ((v128, v128), Self) {
        // SAFETY: the build has SIMD128 (this module exists only then).
        let negative = unsafe { crate::half_lanes::negative(x, F16::INFINITY_BITS) };
        let (d0, d1) = (Domain::of(a.0), Domain::of(a.1));
        let outside = v128_or(
            v128_xor(negative.0, d0.negative_inside(x.0)),
            v128_xor(negative.1, d1.negative_inside(x.1)),
        );
        if v128_any_true(outside) {
            return (negative, mul_f16_general(a, x));
        }
        // The product's sign on a negative lane: set, unless `a` is negative.
        let mask = u16x8_splat(0x7FFF);
        let (s0, s1) = (
            v128_andnot(u16x8_splat(0x8000), a.0),
            v128_andnot(u16x8_splat(0x8000), a.1),
        );
        let product = U16x16(
            product_f16(d0.a, v128_and(x.0, mask), s0),
            product_f16(d1.a, v128_and(x.1, mask), s1),
        );
        (negative, product)
    }
    /// bfloat16 product, formed in f32 and rounded once (integer rounding).
    #[inline(always)]
    unsafe fn mul_bf16(a: Self, b: Self) -> Self {
        U16x16(mul_bf16(a.0, b.0), mul_bf16(a.1, b.1))
    }
}

/// The binary16 product of 8 lanes, formed in f32 and rounded once.
#[inline(always)]
fn mul_f16(a: v128, b: v128) -> v128 {
    let al = f16_to_f32(u32x4_extend_low_u16x8(a));
    let ah = f16_to_f32(u32x4_extend_high_u16x8(a));
    let bl = f16_to_f32(u32x4_extend_low_u16x8(b));
    let bh = f16_to_f32(u32x4_extend_high_u16x8(b));
    let lo = f32_to_f16(f32x4_mul(al, bl));
    let hi = f32_to_f16(f32x4_mul(ah, bh));
    // Every lane is at most 0xffff, so the saturating narrow keeps it.
    u16x8_narrow_i32x4(lo, hi)
}

/// Per lane of a binary16 `a`: the magnitudes `lo..=hi` (bits) of the normal `b`
/// for which [`product_f16`] is exact, as a bias and a limit that find them with one
/// add and one signed compare, and `a`'s magnitude widened to f32. With `a`'s biased
/// exponent `e` in `1..=30` and `b`'s `e_b`, `|a * b|` lies in
/// `2^(e + e_b - 30)..2^(e + e_b - 28)`: a normal f16 (at least `2^-14`) when
/// `e_b >= 16 - e`, and below `2^16` (where the integer rounding gives a normal
/// result or, by its carry, infinity) when `e_b <= 44 - e`. Where `a` is zero,
/// subnormal, infinite or NaN the range is empty: the bias and limits there put every
/// magnitude outside and no negative `x` inside, so no separate test of `a` runs
/// per register. Everything here depends on `a` alone: loop-invariant where `a` is
/// (leaky_relu's slope, outside the loop).
#[derive(Clone, Copy)]
struct Domain {
    /// `0x8000 - lo`: moves `lo` to `i16::MIN` (0 where the range is empty).
    bias: v128,
    /// `i16::MIN + (hi - lo) + 1`: the moved magnitudes below it are inside
    /// (`i16::MIN` where the range is empty).
    limit: v128,
    /// `limit - 1`: the moved magnitudes above it are outside (-1 where the range is
    /// empty, which every moved magnitude, `0..=0x7fff`, is above).
    above: v128,
    /// `|a|` as f32 bits in each 32-bit lane (low four lanes, high four lanes).
    a: (v128, v128),
}

impl Domain {
    #[inline(always)]
    fn of(a: v128) -> Domain {
        let m = v128_and(a, u16x8_splat(0x7FFF));
        let e = u16x8_shr(m, 10);
        let lo = i16x8_shl(i16x8_max(i16x8_sub(i16x8_splat(16), e), i16x8_splat(1)), 10);
        let top = i16x8_min(i16x8_sub(i16x8_splat(44), e), i16x8_splat(30));
        let hi = v128_or(i16x8_shl(top, 10), i16x8_splat(0x3FF));
        let normal = v128_and(i16x8_gt(e, i16x8_splat(0)), i16x8_lt(e, i16x8_splat(31)));
        let limit = i16x8_add(i16x8_sub(hi, lo), u16x8_splat(0x8001));
        Domain {
            bias: v128_and(i16x8_sub(u16x8_splat(0x8000), lo), normal),
            limit: v128_bitselect(limit, u16x8_splat(0x8000), normal),
            above: v128_bitselect(i16x8_sub(limit, i16x8_splat(1)), i16x8_splat(-1), normal),
            a: (
                widen_normal(u32x4_extend_low_u16x8(m)),
                widen_normal(u32x4_extend_high_u16x8(m)),
            ),
        }
    }

    /// The lanes whose magnitude bits `m` are outside `lo..=hi`.
    #[inline(always)]
    fn outside(self, m: v128) -> v128 {
        i16x8_gt(i16x8_add(m, self.bias), self.above)
    }

    /// The lanes of `x` that are negative with magnitude in `lo..=hi`: the bits
    /// `0x8000 | lo..=0x8000 | hi`, moved by the same bias (`0x8000` wraps away).
    #[inline(always)]
    fn negative_inside(self, x: v128) -> v128 {
        i16x8_lt(
            i16x8_add(x, i16x8_add(self.bias, u16x8_splat(0x8000))),
            self.limit,
        )
    }
}

/// [`mul_f16`] of both halves, out of line: the registers that leave
/// [`product_f16`]'s domain are rare in most data, and the loop stays short without
/// this code.
#[inline(always)]
fn mul_f16_general(a: U16x16, b: U16x16) -> U16x16 {
    U16x16(mul_f16_cold(a.0, b.0), mul_f16_cold(a.1, b.1))
}

/// [`mul_f16`] out of line, on single `v128`s: WebAssembly passes and returns those
/// as values, where a [`U16x16`] would go through the stack in memory, stored on
/// every turn of the loop that might call.
#[cold]
#[inline(never)]
fn mul_f16_cold(a: v128, b: v128) -> v128 {
    mul_f16(a, b)
}

/// The binary16 product of `a` (its magnitude widened, [`Domain::a`]) and the
/// magnitudes `m` (bits, inside `a`'s [`Domain`]), with the sign bits `sign`. Both
/// factors are normal. `m` moved up 13 bits is an f32 whose exponent field is the
/// binary16 one: the value `|b| * 2^-112`, a normal f32 (the biased exponent is at
/// least 1), exact. The product `|a * b| * 2^-112` (22 significant bits, exact in
/// f32; at least `2^-126`, so normal, since `|a * b|` is at least `2^-14` in the
/// domain) then carries the binary16 exponent in its f32 exponent field, and the one
/// rounding is the narrowing's: integer round-to-nearest-even at bit 13, whose carry
/// may reach infinity, correctly. No rebias is added on either side.
#[inline(always)]
fn product_f16(a: (v128, v128), m: v128, sign: v128) -> v128 {
    let lo = narrow_product(f32x4_mul(a.0, u32x4_shl(u32x4_extend_low_u16x8(m), 13)));
    let hi = narrow_product(f32x4_mul(a.1, u32x4_shl(u32x4_extend_high_u16x8(m), 13)));
    // Every lane is at most 0x7c00, so the signed saturating narrow keeps it.
    v128_or(i16x8_narrow_i32x4(lo, hi), sign)
}

/// A normal binary16 magnitude (zero-extended in a 32-bit lane) as f32 bits.
#[inline(always)]
fn widen_normal(m: v128) -> v128 {
    i32x4_add(u32x4_shl(m, 13), u32x4_splat((127 - 15) << 23))
}

/// A product scaled by `2^-112` ([`product_f16`]: its f32 exponent field is the
/// binary16 one, `1..=30`) rounded to binary16 bits (nearest even), in the low half
/// of each 32-bit lane. The last shift is arithmetic (the sum is below `2^31`, so
/// either gives the same bits): after a logical one LLVM knows the lanes are not
/// negative and turns the signed narrowing that follows into an `i32x4.min_s` and
/// an unsigned one, two instructions more per `v128`.
#[inline(always)]
fn narrow_product(p: v128) -> v128 {
    let odd = v128_and(u32x4_shr(p, 13), u32x4_splat(1));
    i32x4_shr(i32x4_add(i32x4_add(p, u32x4_splat(0xFFF)), odd), 13)
}

/// The bfloat16 product of 8 lanes, formed in f32 and rounded once (integer
/// rounding). Each 32-bit lane holds two bf16 values and is its own pair of f32s:
/// the even (low) word widens by a shift left, the odd (high) word by masking the
/// low half, and the rounded products go back by a shift right of the even ones and
/// a blend of 16-bit words (`i16x8.shuffle` with every word in place, one `PBLENDW`
/// under wasmtime where a mask and an `or` took two), so nothing is extended or
/// narrowed.
#[inline(always)]
fn mul_bf16(a: v128, b: v128) -> v128 {
    let high = u32x4_splat(0xFFFF_0000);
    let even = f32x4_mul(u32x4_shl(a, 16), u32x4_shl(b, 16));
    let odd = f32x4_mul(v128_and(a, high), v128_and(b, high));
    // The even words from the first, the odd from the second: a blend.
    i16x8_shuffle::<0, 9, 2, 11, 4, 13, 6, 15>(
        u32x4_shr(round_bf16_product(even), 16),
        round_bf16_product(odd),
    )
}

/// Exact binary16 -> f32 of four lanes (each zero-extended in a 32-bit lane).
#[inline(always)]
fn f16_to_f32(h: v128) -> v128 {
    let shifted_exp = u32x4_splat(0x7C00 << 13);
    let o = u32x4_shl(v128_and(h, u32x4_splat(0x7FFF)), 13);
    let exp = v128_and(o, shifted_exp);
    // Rebias 15 -> 127.
    let o = i32x4_add(o, u32x4_splat((127 - 15) << 23));
    // Inf/NaN: exponent all-ones (another +128-16).
    let special = i32x4_eq(exp, shifted_exp);
    let o = i32x4_add(o, v128_and(special, u32x4_splat((128 - 16) << 23)));
    // Zero/subnormal: (2^-14 + m * 2^-24) - 2^-14 = m * 2^-24, exactly.
    let tiny = i32x4_eq(exp, i64x2_splat(0));
    let biased = i32x4_add(o, u32x4_splat(1 << 23));
    let renorm = f32x4_sub(biased, f32x4_splat(f32::from_bits(113 << 23)));
    let o = v128_bitselect(renorm, o, tiny);
    let sign = u32x4_shl(v128_and(h, u32x4_splat(0x8000)), 16);
    v128_or(o, sign)
}

/// f32 -> binary16 bits (round to nearest even), in the low half of each 32-bit lane.
#[inline(always)]
fn f32_to_f16(x: v128) -> v128 {
    let sign = v128_and(x, u32x4_splat(0x8000_0000));
    // |x| as bits: below 2^31, so the signed compares below order it correctly.
    let a = v128_xor(x, sign);
    // |x| >= 65536: infinity, or NaN with its payload (quieted).
    let is_nan = i32x4_gt(a, u32x4_splat(0x7F80_0000));
    let payload = v128_and(u32x4_shr(a, 13), u32x4_splat(0x3FF));
    let nan = v128_or(payload, u32x4_splat(0x7E00));
    let big = v128_bitselect(nan, u32x4_splat(0x7C00), is_nan);
    // |x| < 2^-14: an f16 subnormal or zero; adding 0.5 rounds at 2^-24.
    let sum = f32x4_add(a, f32x4_splat(0.5));
    let sub = i32x4_sub(sum, u32x4_splat(126 << 23));
    // Normal range: rebias 127 -> 15, then round to nearest even at bit 13 (a carry
    // moves into the exponent, up to infinity).
    let odd = v128_and(u32x4_shr(a, 13), u32x4_splat(1));
    let rebias = u32x4_splat((((15 - 127) << 23) as u32).wrapping_add(0xFFF));
    let normal = u32x4_shr(i32x4_add(i32x4_add(a, rebias), odd), 13);
    let is_big = i32x4_ge(a, u32x4_splat((127 + 16) << 23));
    let is_sub = i32x4_lt(a, u32x4_splat(113 << 23));
    let r = v128_bitselect(big, v128_bitselect(sub, normal, is_sub), is_big);
    v128_or(r, u32x4_shr(sign, 16))
}

/// f32 products of two bfloat16 values, rounded to bfloat16 (nearest even) by adding
/// `0x7fff + lsb`, still in the top half of each 32-bit lane (no NaN path: see
/// [`Lanes16::mul_bf16`]).
#[inline(always)]
fn round_bf16_product(p: v128) -> v128 {
    let lsb = v128_and(u32x4_shr(p, 16), u32x4_splat(1));
    i32x4_add(p, i32x4_add(lsb, u32x4_splat(0x7FFF)))
}

/// binary16 kernels on SIMD128.
pub mod f16 {
    use super::F16x16;
    use crate::half::F16;
    crate::kernel_entry_points!([target_feature(enable = "simd128")], F16x16, F16);
}

/// bfloat16 kernels on SIMD128.
pub mod bf16 {
    use super::Bf16x16;
    use crate::half::Bf16;
    crate::kernel_entry_points!([target_feature(enable = "simd128")], Bf16x16, Bf16);
}
