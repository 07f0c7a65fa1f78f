//! AVX2 kernels for the 16-bit floats: [`F16x16`] and [`Bf16x16`], 16 lanes in a
//! `__m256i`.
//!
//! - **Compares are integer-only.** A 16-bit float is sign-magnitude, so its *order key*
//!   `sign ? -|x| : |x|` (an `i16`, one `VPSIGNW`; ±0 both map to 0) orders non-NaN
//!   values exactly as IEEE does; a lane compares true only if neither side is NaN
//!   (`|x| > inf bits`). relu tests `x < 0` directly on the bits (`0x8001 <= x <= 0x8000
//!   | inf`), and the clip has a shortcut for a non-negative `n` (`clip_above`).
//!   Compares are branch-free otherwise: on AVX2 a branch that joins two compare masks
//!   makes LLVM round-trip the mask through bytes.
//! - **Selects are bitwise** (`VPBLENDVB`, `VPAND`/`VPANDN` on whole 16-bit lanes), so a
//!   passed-through value keeps its bits, NaN payloads and -0.0 included.
//! - **The product** `a * x` is formed in `f32` and rounded once:
//!   - f16: F16C `VCVTPH2PS` (exact, honours subnormals) and `VCVTPS2PH` with the
//!     rounding immediate "nearest even" (produces subnormals, ignores MXCSR.FTZ; a NaN
//!     is quieted with its top payload bits kept). Hence `avx2,f16c`.
//!   - bf16: widening is a 16-bit shift (`VPUNPCKLWD`/`VPUNPCKHWD` with zero); narrowing
//!     is integer round-to-nearest-even on the `f32` bits (`x + 0x7fff + lsb`, NaN
//!     quieted instead), then `VPACKUSDW` (which undoes the unpack order). No AVX512-BF16
//!     `VCVTNEPS2BF16`: it flushes subnormals.
//! - `x < 0`, `y > 0` and `0 < y < n` are ranges of bits, each tested by one wrapping
//!   add and one signed compare (`in_range`; for `0 < y < n` against a limit computed
//!   once per call), and relu_n is fused into one shifted signed minimum (`relu_n`).
//! - A call shorter than one register goes through a stack copy of one register (AVX2
//!   has no 16-bit masked moves).
//!   Large out-of-place calls use non-temporal stores (`VMOVNTDQ`), as for f32.

use core::arch::x86_64::*;

use crate::half::{Bf16, F16};
use crate::vector::Vector;

/// 16 binary16 values (bits) in a `__m256i`.
#[derive(Clone, Copy)]
#[repr(transparent)]
pub struct F16x16(__m256i);

/// 16 bfloat16 values (bits) in a `__m256i`.
#[derive(Clone, Copy)]
#[repr(transparent)]
pub struct Bf16x16(__m256i);

/// The order key `sign ? -|x| : |x|` of each 16-bit lane (`VPSIGNW` negates `|x|`
/// where the bits, read as i16, are negative: exactly the sign-set lanes).
#[inline(always)]
unsafe fn order_key(v: __m256i) -> __m256i {
    // SAFETY: caller guarantees AVX2.
    unsafe { _mm256_sign_epi16(_mm256_and_si256(v, _mm256_set1_epi16(0x7FFF)), v) }
}

/// All-ones in the lanes that are not NaN (`|x| <= inf`).
#[inline(always)]
unsafe fn ordered(v: __m256i, inf: u16) -> __m256i {
    // SAFETY: caller guarantees AVX2. |x| and inf + 1 are both in 0..=0x7fff, so the
    // signed compare is the unsigned one.
    unsafe {
        let mag = _mm256_and_si256(v, _mm256_set1_epi16(0x7FFF));
        _mm256_cmpgt_epi16(_mm256_set1_epi16((inf + 1) as i16), mag)
    }
}

/// IEEE `a < b` per lane (false if either is NaN).
#[inline(always)]
unsafe fn less(a: __m256i, b: __m256i, inf: u16) -> __m256i {
    // SAFETY: caller guarantees AVX2.
    unsafe {
        let lt = _mm256_cmpgt_epi16(order_key(b), order_key(a));
        _mm256_and_si256(lt, _mm256_and_si256(ordered(a, inf), ordered(b, inf)))
    }
}

/// All-ones where the bits of `v`, read as u16, are in `lo..=hi` (a range narrower
/// than `0x7fff`): a wrapping add moves `lo` to `i16::MIN`, so the range becomes the
/// bottom of the signed order and one signed compare finds it. Two instructions where
/// two bounds take three, or, as LLVM rewrites them, an unsigned minimum, an equality
/// test and an and.
#[inline(always)]
unsafe fn in_range(v: __m256i, lo: u16, hi: u16) -> __m256i {
    debug_assert!(lo <= hi && hi - lo < 0x7FFF);
    // SAFETY: caller guarantees AVX2.
    unsafe {
        let moved = _mm256_add_epi16(v, _mm256_set1_epi16(0x8000u16.wrapping_sub(lo) as i16));
        // `lo..=hi` moved is `i16::MIN..=i16::MIN + (hi - lo)`, so `moved` is in it
        // exactly when it is below `i16::MIN + (hi - lo) + 1` (no overflow: the
        // range is narrower than 0x7fff).
        let above = i16::MIN + (hi.wrapping_sub(lo) as i16) + 1;
        _mm256_cmpgt_epi16(_mm256_set1_epi16(above), moved)
    }
}

/// All-ones where `x < 0`: bits in `0x8001..=0x8000 | inf` (not -0.0, not NaN).
#[inline(always)]
unsafe fn negative(v: __m256i, inf: u16) -> __m256i {
    // SAFETY: caller guarantees AVX2.
    unsafe { in_range(v, 0x8001, 0x8000 | inf) }
}

/// Whether every lane of `n` is in `+0..=+inf` (bits `0..=inf`, all below `0x8000`, so
/// two signed compares give the range).
#[inline(always)]
unsafe fn all_non_negative(n: __m256i, inf: u16) -> bool {
    // SAFETY: caller guarantees AVX2.
    unsafe {
        let in_range = _mm256_and_si256(
            _mm256_cmpgt_epi16(n, _mm256_set1_epi16(-1)),
            _mm256_cmpgt_epi16(_mm256_set1_epi16((inf + 1) as i16), n),
        );
        _mm256_movemask_epi8(in_range) == -1
    }
}

/// `x > n ? n : x` per lane. When `n` is in `+0..=+inf` in every lane (relu_n's
/// splatted `n`; the test is loop-invariant), this is the signed minimum of the bits
/// with the positive NaNs put back; otherwise a blend on the general [`less`]. The two
/// branches end in different instructions, so LLVM cannot sink one blend below the
/// join, which would join compare masks (a round trip through bytes on AVX2).
#[inline(always)]
unsafe fn clip_above(x: __m256i, n: __m256i, inf: u16) -> __m256i {
    // SAFETY: caller guarantees AVX2.
    unsafe {
        if all_non_negative(n, inf) {
            // Signed min clips the positive x above n and keeps every sign-set x
            // (negative as i16, so below n); only the positive NaNs must be put back.
            let clipped = _mm256_min_epi16(x, n);
            let pos_nan = _mm256_cmpgt_epi16(x, _mm256_set1_epi16(inf as i16));
            _mm256_blendv_epi8(clipped, x, pos_nan)
        } else {
            _mm256_blendv_epi8(x, n, less(n, x, inf))
        }
    }
}

/// All-ones where `x > 0`: bits in `1..=inf`.
#[inline(always)]
unsafe fn positive(v: __m256i, inf: u16) -> __m256i {
    // SAFETY: caller guarantees AVX2.
    unsafe { in_range(v, 1, inf) }
}

/// All-ones where `0 < y < n`, for any `n`: the bits of `y` in `1..n` when `n` is in
/// `+min..=+inf`, and no lane otherwise (`n` is zero, negative or NaN). As in
/// [`in_range`], adding `0x7fff` moves `1` to `i16::MIN`; the limit `i16::MIN + n - 1`
/// (`i16::MIN` where the range is empty, so no lane is below it) depends on `n` alone,
/// so it is computed once per call. Two instructions per register where two general
/// compares take a dozen.
#[inline(always)]
unsafe fn in_open(y: __m256i, n: __m256i, inf: u16) -> __m256i {
    // SAFETY: caller guarantees AVX2.
    unsafe {
        let min = _mm256_set1_epi16(i16::MIN);
        let moved_n = _mm256_add_epi16(n, _mm256_set1_epi16(i16::MIN.wrapping_sub(1)));
        let limit = _mm256_blendv_epi8(min, moved_n, positive(n, inf));
        let moved = _mm256_add_epi16(y, _mm256_set1_epi16(0x7FFF));
        _mm256_cmpgt_epi16(limit, moved)
    }
}

/// relu then the clip at `n`, fused as on AVX-512 (`avx512_half::relu_n`): add
/// `c = 0x7fff - inf` so that the negatives are the unsigned top of the range and
/// NaN and -0.0 sit below `c` or are negative as i16; one signed minimum clips at
/// `n + c`; subtracting `c` undoes the shift, and the negatives are cleared. AVX2 has
/// no unsigned compare: `t >= first` is `max_u(t, first) == t`. When some lane of `n`
/// is not in `+0..=+inf`, relu followed by the clip (the test is loop-invariant).
#[inline(always)]
unsafe fn relu_n(x: __m256i, n: __m256i, inf: u16) -> __m256i {
    // SAFETY: caller guarantees AVX2.
    unsafe {
        if all_non_negative(n, inf) {
            let c = _mm256_set1_epi16((0x7FFF - inf) as i16);
            let first_negative = _mm256_set1_epi16((0x8001 + (0x7FFF - inf)) as i16);
            let t = _mm256_add_epi16(x, c);
            let negative = _mm256_cmpeq_epi16(_mm256_max_epu16(t, first_negative), t);
            let clipped = _mm256_sub_epi16(_mm256_min_epi16(t, _mm256_add_epi16(n, c)), c);
            _mm256_andnot_si256(negative, clipped)
        } else {
            clip_above(_mm256_andnot_si256(negative(x, inf), x), n, inf)
        }
    }
}

/// binary16 product, formed in f32 and rounded once (F16C).
#[inline(always)]
unsafe fn mul_f16(a: __m256i, b: __m256i) -> __m256i {
    // SAFETY: caller guarantees AVX2 and F16C.
    unsafe {
        let al = _mm256_cvtph_ps(_mm256_castsi256_si128(a));
        let ah = _mm256_cvtph_ps(_mm256_extracti128_si256::<1>(a));
        let bl = _mm256_cvtph_ps(_mm256_castsi256_si128(b));
        let bh = _mm256_cvtph_ps(_mm256_extracti128_si256::<1>(b));
        let lo = _mm256_cvtps_ph::<_MM_FROUND_TO_NEAREST_INT>(_mm256_mul_ps(al, bl));
        let hi = _mm256_cvtps_ph::<_MM_FROUND_TO_NEAREST_INT>(_mm256_mul_ps(ah, bh));
        _mm256_set_m128i(hi, lo)
    }
}

/// f32 products of two bfloat16 values, rounded to bfloat16 (nearest even), in the
/// low 16 bits of each 32-bit lane.
///
/// No NaN path: a NaN product of two bf16 values is a quieted operand or the default
/// NaN, whose low 16 bits are zero, so `x + 0x7fff + lsb` cannot carry into the top
/// half and the result is `x >> 16` with the quiet bit set, the oracle's NaN narrowing.
/// (No lane overflows: the largest non-NaN magnitude is 0x7f80_0000.)
#[inline(always)]
unsafe fn round_bf16_product(p: __m256) -> __m256i {
    // SAFETY: caller guarantees AVX2.
    unsafe {
        let x = _mm256_castps_si256(p);
        let lsb = _mm256_and_si256(_mm256_srli_epi32::<16>(x), _mm256_set1_epi32(1));
        let bias = _mm256_add_epi32(lsb, _mm256_set1_epi32(0x7FFF));
        _mm256_srli_epi32::<16>(_mm256_add_epi32(x, bias))
    }
}

/// bfloat16 product, formed in f32 and rounded once (integer rounding).
#[inline(always)]
unsafe fn mul_bf16(a: __m256i, b: __m256i) -> __m256i {
    // SAFETY: caller guarantees AVX2. Unpacking with zero as the low half puts each
    // bf16 in the top of a 32-bit lane (its exact f32); the unpack order (per 128-bit
    // half: elements 0-3 / 4-7) is the same for a and b, and PACKUSDW of the results
    // (all in 0..=0xffff, so no saturation) restores it.
    unsafe {
        let z = _mm256_setzero_si256();
        let al = _mm256_castsi256_ps(_mm256_unpacklo_epi16(z, a));
        let ah = _mm256_castsi256_ps(_mm256_unpackhi_epi16(z, a));
        let bl = _mm256_castsi256_ps(_mm256_unpacklo_epi16(z, b));
        let bh = _mm256_castsi256_ps(_mm256_unpackhi_epi16(z, b));
        let lo = round_bf16_product(_mm256_mul_ps(al, bl));
        let hi = round_bf16_product(_mm256_mul_ps(ah, bh));
        _mm256_packus_epi32(lo, hi)
    }
}

macro_rules! half_vector {
    ($V:ident, $T:ident, $mul:ident) => {
        // SAFETY: `$V` is a transparent 32-byte register of 16 lanes of the 2-byte `$T`.
        unsafe impl Vector for $V {
            type Elem = $T;
            type Mask = __m256i;
            const LANES: usize = 16;

            #[inline(always)]
            unsafe fn splat(x: $T) -> Self {
                // SAFETY: caller guarantees AVX2.
                $V(unsafe { _mm256_set1_epi16(x.0 as i16) })
            }
            #[inline(always)]
            unsafe fn zero() -> Self {
                // SAFETY: caller guarantees AVX2; +0.0 is all-zero bits.
                $V(unsafe { _mm256_setzero_si256() })
            }
            #[inline(always)]
            unsafe fn load(p: *const $T) -> Self {
                // SAFETY: caller guarantees 16 readable elements (32 bytes) at p; loadu
                // needs no alignment.
                $V(unsafe { _mm256_loadu_si256(p.cast()) })
            }
            #[inline(always)]
            unsafe fn store(self, p: *mut $T) {
                // SAFETY: caller guarantees 16 writable elements at p.
                unsafe { _mm256_storeu_si256(p.cast(), self.0) }
            }
            const STREAMS: bool = true;
            #[inline(always)]
            unsafe fn store_stream(self, p: *mut $T) {
                // SAFETY: the caller guarantees 16 writable elements at p, 32-byte
                // aligned (VMOVNTDQ requires it).
                unsafe { _mm256_stream_si256(p.cast(), self.0) }
            }
            #[inline(always)]
            unsafe fn stream_fence() {
                // SAFETY: SFENCE is available on every x86_64 CPU.
                unsafe { _mm_sfence() }
            }
            #[inline(always)]
            unsafe fn lt(self, o: Self) -> __m256i {
                // SAFETY: caller guarantees AVX2.
                unsafe { less(self.0, o.0, $T::INFINITY_BITS) }
            }
            #[inline(always)]
            unsafe fn gt(self, o: Self) -> __m256i {
                // SAFETY: caller guarantees AVX2.
                unsafe { less(o.0, self.0, $T::INFINITY_BITS) }
            }
            #[inline(always)]
            unsafe fn and(a: __m256i, b: __m256i) -> __m256i {
                // SAFETY: caller guarantees AVX2.
                unsafe { _mm256_and_si256(a, b) }
            }
            #[inline(always)]
            unsafe fn select(m: __m256i, t: Self, f: Self) -> Self {
                // SAFETY: caller guarantees AVX2. Masks are all-ones or all-zeros per
                // 16-bit lane, so the byte blend moves whole lanes.
                $V(unsafe { _mm256_blendv_epi8(f.0, t.0, m) })
            }
            #[inline(always)]
            unsafe fn mul(self, o: Self) -> Self {
                // SAFETY: forwarded from the caller (the entry point enables the ISA).
                $V(unsafe { $mul(self.0, o.0) })
            }
            #[inline(always)]
            unsafe fn keep(m: __m256i, v: Self) -> Self {
                // SAFETY: caller guarantees AVX2.
                $V(unsafe { _mm256_and_si256(m, v.0) })
            }
            #[inline(always)]
            unsafe fn relu(self) -> Self {
                // SAFETY: caller guarantees AVX2. Clear the lanes where x < 0.
                $V(unsafe { _mm256_andnot_si256(negative(self.0, $T::INFINITY_BITS), self.0) })
            }
            #[inline(always)]
            unsafe fn clip_above(self, n: Self) -> Self {
                // SAFETY: caller guarantees AVX2.
                $V(unsafe { clip_above(self.0, n.0, $T::INFINITY_BITS) })
            }
            #[inline(always)]
            unsafe fn relu_n(self, n: Self) -> Self {
                // SAFETY: caller guarantees AVX2.
                $V(unsafe { relu_n(self.0, n.0, $T::INFINITY_BITS) })
            }
            #[inline(always)]
            unsafe fn leaky_parts(self, a: Self) -> (__m256i, Self) {
                // SAFETY: forwarded from the caller (the entry point enables the ISA).
                unsafe { (negative(self.0, $T::INFINITY_BITS), $V($mul(a.0, self.0))) }
            }
            #[inline(always)]
            unsafe fn positive(self) -> __m256i {
                // SAFETY: caller guarantees AVX2.
                unsafe { positive(self.0, $T::INFINITY_BITS) }
            }
            #[inline(always)]
            unsafe fn in_open(self, n: Self) -> __m256i {
                // SAFETY: caller guarantees AVX2.
                unsafe { in_open(self.0, n.0, $T::INFINITY_BITS) }
            }
        }
    };
}

half_vector!(F16x16, F16, mul_f16);
half_vector!(Bf16x16, Bf16, mul_bf16);

/// binary16 kernels on AVX2 + F16C.
pub mod f16 {
    use super::F16x16;
    use crate::half::F16;
    crate::kernel_entry_points!([target_feature(enable = "avx2,f16c")], F16x16, F16);
}

/// bfloat16 kernels on AVX2.
pub mod bf16 {
    use super::Bf16x16;
    use crate::half::Bf16;
    crate::kernel_entry_points!([target_feature(enable = "avx2")], Bf16x16, Bf16);
}
