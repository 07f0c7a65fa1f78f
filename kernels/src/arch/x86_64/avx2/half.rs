//! AVX2 kernels for the 16-bit floats: [`F16x16`] and [`Bf16x16`], 16 lanes in a
//! `__m256i`, compare results as vector masks: the [`Lanes16`] operations of
//! `__m256i`, on which [`Half`] writes the algorithm (see [`crate::half_lanes`]).
//!
//! - Selects are `VPBLENDVB`, `VPAND` and `VPANDN` on whole 16-bit lanes; compares are
//!   the signed `VPCMPGTW` (AVX2 has no unsigned 16-bit compare).
//! - **The product** `a * x` is formed in `f32` and rounded once:
//!   - f16: F16C `VCVTPH2PS` (exact, honours subnormals) and `VCVTPS2PH` with the
//!     rounding immediate "nearest even" (produces subnormals, ignores MXCSR.FTZ; a NaN
//!     is quieted with its top payload bits kept). Hence `avx2,f16c`.
//!   - bf16: widening is a 16-bit shift (`VPUNPCKLWD`/`VPUNPCKHWD` with zero); narrowing
//!     is integer round-to-nearest-even on the `f32` bits (`x + 0x7fff + lsb`, NaN
//!     quieted instead), then `VPACKUSDW` (which undoes the unpack order). No AVX512-BF16
//!     `VCVTNEPS2BF16`: it flushes subnormals.
//! - A call shorter than one register goes through a stack copy of one register (AVX2
//!   has no 16-bit masked moves). Large out-of-place calls use non-temporal stores
//!   (`VMOVNTDQ`), as for f32.

use core::arch::x86_64::*;

use crate::half::{Bf16, F16};
use crate::half_lanes::{Half, Lanes16, RoundTrip, round_trip_loop};

/// 16 binary16 values (bits) in a `__m256i`.
pub type F16x16 = Half<__m256i, F16>;

/// 16 bfloat16 values (bits) in a `__m256i`.
pub type Bf16x16 = Half<__m256i, Bf16>;

// SAFETY: `__m256i` is a plain 32-byte register of 16 lanes of 16 bits. Every method
// needs AVX2; `mul_f16` needs F16C besides (the f16 entry points enable both).
unsafe impl Lanes16 for __m256i {
    type Mask = __m256i;
    const LANES: usize = 16;

    #[inline(always)]
    unsafe fn splat(x: u16) -> Self {
        // SAFETY: caller guarantees AVX2.
        unsafe { _mm256_set1_epi16(x as i16) }
    }
    #[inline(always)]
    unsafe fn zero() -> Self {
        // SAFETY: caller guarantees AVX2.
        unsafe { _mm256_setzero_si256() }
    }
    #[inline(always)]
    unsafe fn load(p: *const u16) -> Self {
        // SAFETY: caller guarantees 16 readable lanes (32 bytes) at p; loadu needs no
        // alignment.
        unsafe { _mm256_loadu_si256(p.cast()) }
    }
    #[inline(always)]
    unsafe fn store(self, p: *mut u16) {
        // SAFETY: caller guarantees 16 writable lanes at p.
        unsafe { _mm256_storeu_si256(p.cast(), self) }
    }
    const STREAMS: bool = true;
    #[inline(always)]
    unsafe fn store_stream(self, p: *mut u16) {
        // SAFETY: the caller guarantees 16 writable lanes at p, 32-byte aligned
        // (VMOVNTDQ requires it).
        unsafe { _mm256_stream_si256(p.cast(), self) }
    }
    #[inline(always)]
    unsafe fn stream_fence() {
        // SAFETY: SFENCE is available on every x86_64 CPU.
        unsafe { _mm_sfence() }
    }
    #[inline(always)]
    unsafe fn add(a: Self, b: Self) -> Self {
        // SAFETY: caller guarantees AVX2.
        unsafe { _mm256_add_epi16(a, b) }
    }
    #[inline(always)]
    unsafe fn sub(a: Self, b: Self) -> Self {
        // SAFETY: caller guarantees AVX2.
        unsafe { _mm256_sub_epi16(a, b) }
    }
    #[inline(always)]
    unsafe fn and(a: Self, b: Self) -> Self {
        // SAFETY: caller guarantees AVX2.
        unsafe { _mm256_and_si256(a, b) }
    }
    #[inline(always)]
    unsafe fn xor(a: Self, b: Self) -> Self {
        // SAFETY: caller guarantees AVX2.
        unsafe { _mm256_xor_si256(a, b) }
    }
    #[inline(always)]
    unsafe fn min_u16(a: Self, b: Self) -> Self {
        // SAFETY: caller guarantees AVX2.
        unsafe { _mm256_min_epu16(a, b) }
    }
    #[inline(always)]
    unsafe fn min_i16(a: Self, b: Self) -> Self {
        // SAFETY: caller guarantees AVX2.
        unsafe { _mm256_min_epi16(a, b) }
    }
    #[inline(always)]
    unsafe fn lt_i16(a: Self, b: Self) -> __m256i {
        // SAFETY: caller guarantees AVX2.
        unsafe { _mm256_cmpgt_epi16(b, a) }
    }
    #[inline(always)]
    unsafe fn gt_i16(a: Self, b: Self) -> __m256i {
        // SAFETY: caller guarantees AVX2.
        unsafe { _mm256_cmpgt_epi16(a, b) }
    }
    #[inline(always)]
    unsafe fn mask_and(a: __m256i, b: __m256i) -> __m256i {
        // SAFETY: caller guarantees AVX2.
        unsafe { _mm256_and_si256(a, b) }
    }
    #[inline(always)]
    unsafe fn select(m: __m256i, t: Self, f: Self) -> Self {
        // SAFETY: caller guarantees AVX2. Masks are all-ones or all-zeros per 16-bit
        // lane, so the byte blend moves whole lanes.
        unsafe { _mm256_blendv_epi8(f, t, m) }
    }
    #[inline(always)]
    unsafe fn clear(m: __m256i, v: Self) -> Self {
        // SAFETY: caller guarantees AVX2.
        unsafe { _mm256_andnot_si256(m, v) }
    }
    #[inline(always)]
    unsafe fn keep(m: __m256i, v: Self) -> Self {
        // SAFETY: caller guarantees AVX2.
        unsafe { _mm256_and_si256(m, v) }
    }
    #[inline(always)]
    unsafe fn all(m: __m256i) -> bool {
        // SAFETY: caller guarantees AVX2.
        unsafe { _mm256_movemask_epi8(m) == -1 }
    }
    /// binary16 product, formed in f32 and rounded once (F16C).
    #[inline(always)]
    unsafe fn mul_f16(a: Self, b: Self) -> Self {
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
    /// bfloat16 product, formed in f32 and rounded once (integer rounding).
    #[inline(always)]
    unsafe fn mul_bf16(a: Self, b: Self) -> Self {
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
}

/// f32 products of two bfloat16 values, rounded to bfloat16 (nearest even) as
/// `(x + 0x7fff + lsb) >> 16`, in the low 16 bits of each 32-bit lane (no NaN path:
/// see [`Lanes16::mul_bf16`]).
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

impl RoundTrip<__m256i> for F16 {
    #[inline(always)]
    unsafe fn round_trip(x: __m256i) -> __m256i {
        // SAFETY: caller guarantees AVX2 and F16C.
        unsafe {
            let lo = _mm256_cvtph_ps(_mm256_castsi256_si128(x));
            let hi = _mm256_cvtph_ps(_mm256_extracti128_si256::<1>(x));
            _mm256_set_m128i(
                _mm256_cvtps_ph::<_MM_FROUND_TO_NEAREST_INT>(hi),
                _mm256_cvtps_ph::<_MM_FROUND_TO_NEAREST_INT>(lo),
            )
        }
    }
}

impl RoundTrip<__m256i> for Bf16 {
    #[inline(always)]
    unsafe fn round_trip(x: __m256i) -> __m256i {
        // SAFETY: caller guarantees AVX2 (the unpack and pack of `mul_bf16`).
        unsafe {
            let z = _mm256_setzero_si256();
            let lo = opaque(_mm256_castsi256_ps(_mm256_unpacklo_epi16(z, x)));
            let hi = opaque(_mm256_castsi256_ps(_mm256_unpackhi_epi16(z, x)));
            _mm256_packus_epi32(round_bf16_product(lo), round_bf16_product(hi))
        }
    }
}

/// `v` unchanged, hidden from the optimiser: the integer rounding of an f32 whose
/// low 16 bits are known to be zero folds away, and a round trip must convert as a
/// product's narrowing does.
#[inline]
#[target_feature(enable = "avx")]
unsafe fn opaque(mut v: __m256) -> __m256 {
    // SAFETY: the feature is enabled here; an empty instruction template leaves the
    // register as it is.
    unsafe {
        core::arch::asm!("/* {0} */", inout(ymm_reg) v, options(pure, nomem, nostack, preserves_flags));
    }
    v
}

/// The conversion round trips of the 16-bit products on AVX2 ([`RoundTrip`]): the
/// roofs the report measures the f16 and bf16 products against.
pub mod round_trip {
    use super::*;

    /// f16 widened by F16C and narrowed back, `x` into `y`.
    ///
    /// # Safety
    /// The CPU supports AVX2 and F16C.
    #[target_feature(enable = "avx2,f16c")]
    pub unsafe fn f16(x: &[F16], y: &mut [F16]) {
        // SAFETY: the features are enabled here.
        unsafe { round_trip_loop::<__m256i, F16>(x, y) }
    }

    /// bf16 widened by unpacking and narrowed by integer rounding, `x` into `y`.
    ///
    /// # Safety
    /// The CPU supports AVX2.
    #[target_feature(enable = "avx2")]
    pub unsafe fn bf16(x: &[Bf16], y: &mut [Bf16]) {
        // SAFETY: the feature is enabled here.
        unsafe { round_trip_loop::<__m256i, Bf16>(x, y) }
    }
}
