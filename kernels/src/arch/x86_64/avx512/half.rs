//! AVX-512 (F + BW) kernels for the 16-bit floats: [`F16x32`], [`Bf16x32`] and
//! [`Bf16x32Ne`], 32 lanes in a `__m512i`, compare results in `__mmask32`: the
//! [`Lanes16`] operations of `__m512i`, on which [`Half`] writes the algorithm (see
//! [`crate::half_lanes`]).
//!
//! - Selects are `VPBLENDMW` and zero-masking moves; compares go to `k` registers.
//! - f16: AVX512F `VCVTPH2PS` / `VCVTPS2PH` (rounding immediate "nearest even"), exact
//!   with subnormals, NaN quieted with its payload kept.
//! - bf16: a 16-bit shift to widen (unpack with zero), integer round-to-nearest-even to
//!   narrow (a NaN product needs no path of its own, see `Lanes16::mul_bf16`),
//!   `VPACKUSDW` back.
//! - bf16 on CPUs with AVX512-BF16 ([`Bf16x32Ne`], the format [`Bf16Ne`]): products
//!   narrowed by `VCVTNE2PS2BF16`, which treats subnormal f32 as zero, so a register
//!   that may hold a subnormal product takes the integer rounding instead (leaky_relu
//!   tests a block of four registers at once, `block_offsets`).
//! - leaky_relu under a slope that is finite with its sign clear takes the product
//!   on the lanes from `-0.0` to `-inf` (`a * -0.0` is `-0.0`): one signed 16-bit
//!   compare (`product_lanes`) where the oracle's `x < 0` takes two.
//! - leaky_relu's select and the gradients' (`Format16::leaky_select`,
//!   `Vector::mul_unless`) are folded into the narrowing's last instruction under a
//!   mask: `VCVTPS2PH` (f16, per half), `VPACKUSDW` (bf16), the `VPERMW` after
//!   `VCVTNE2PS2BF16` (bf16 on AVX512-BF16).
//! - f16 on CPUs with AVX512-FP16 ([`F16x32Ph`], the format [`F16Ph`]): products,
//!   float compares, relu and the clip bounds are `VMULPH`, `VCMPPH`, `VMAXPH` and
//!   `VMINPH`.
//!
//! A call shorter than one register uses masked 16-bit loads and stores (`VMOVDQU16`
//! with a `k` mask): lanes outside the slice are never accessed. As for f32, large
//! out-of-place calls use non-temporal stores (`VMOVNTDQ`) and in-place forward calls
//! write only the lanes that change.

use core::arch::x86_64::*;

use crate::half::{Bf16, F16};
use crate::half_lanes::{
    Format16, Half, Lanes16, RoundTrip, negative, plain_slope, product_lanes, round_trip_loop,
};
use crate::vector::LeakyShape;

/// 32 binary16 values (bits) in a `__m512i`.
pub type F16x32 = Half<__m512i, F16>;

/// 32 bfloat16 values (bits) in a `__m512i`.
pub type Bf16x32 = Half<__m512i, Bf16>;

/// 32 bfloat16 values (bits) in a `__m512i`, for CPUs with AVX512-BF16 (and DQ): as
/// [`Bf16x32`] except that products are narrowed by `VCVTNE2PS2BF16`.
pub type Bf16x32Ne = Half<__m512i, Bf16Ne>;

/// The first `n < 32` bits set.
#[inline(always)]
fn tail_mask32(n: usize) -> __mmask32 {
    ((1u64 << n) - 1) as __mmask32
}

// SAFETY: `__m512i` is a plain 64-byte register of 32 lanes of 16 bits. Every method
// needs AVX512F and AVX512BW.
unsafe impl Lanes16 for __m512i {
    type Mask = __mmask32;
    const LANES: usize = 32;

    #[inline(always)]
    unsafe fn splat(x: u16) -> Self {
        // SAFETY: caller guarantees AVX512F.
        unsafe { _mm512_set1_epi16(x as i16) }
    }
    #[inline(always)]
    unsafe fn zero() -> Self {
        // SAFETY: caller guarantees AVX512F.
        unsafe { _mm512_setzero_si512() }
    }
    #[inline(always)]
    unsafe fn load(p: *const u16) -> Self {
        // SAFETY: caller guarantees 32 readable lanes (64 bytes) at p; no alignment
        // needed.
        unsafe { _mm512_loadu_si512(p.cast()) }
    }
    #[inline(always)]
    unsafe fn store(self, p: *mut u16) {
        // SAFETY: caller guarantees 32 writable lanes at p.
        unsafe { _mm512_storeu_si512(p.cast(), self) }
    }
    #[inline(always)]
    unsafe fn load_partial(p: *const u16, n: usize) -> Self {
        // SAFETY: only the first n < 32 lanes are enabled and accessed (masked lanes
        // never fault); the caller vouches for them. The rest read as 0.
        unsafe { _mm512_maskz_loadu_epi16(tail_mask32(n), p.cast()) }
    }
    #[inline(always)]
    unsafe fn store_partial(self, p: *mut u16, n: usize) {
        // SAFETY: as in `load_partial`, for writes.
        unsafe { _mm512_mask_storeu_epi16(p.cast(), tail_mask32(n), self) }
    }
    const STREAMS: bool = true;
    #[inline(always)]
    unsafe fn store_stream(self, p: *mut u16) {
        // SAFETY: the caller guarantees 32 writable lanes at p, 64-byte aligned
        // (VMOVNTDQ requires it).
        unsafe { _mm512_stream_si512(p.cast(), self) }
    }
    #[inline(always)]
    unsafe fn stream_fence() {
        // SAFETY: SFENCE is available on every x86_64 CPU.
        unsafe { _mm_sfence() }
    }
    const MASKED_STORE: bool = true;
    #[inline(always)]
    unsafe fn store_masked(self, p: *mut u16, m: __mmask32) {
        // SAFETY: the caller guarantees 32 writable lanes at p; only the lanes
        // selected by m are written (VMOVDQU16 with a k mask).
        unsafe { _mm512_mask_storeu_epi16(p.cast(), m, self) }
    }
    #[inline(always)]
    unsafe fn add(a: Self, b: Self) -> Self {
        // SAFETY: caller guarantees AVX512BW.
        unsafe { _mm512_add_epi16(a, b) }
    }
    #[inline(always)]
    unsafe fn sub(a: Self, b: Self) -> Self {
        // SAFETY: caller guarantees AVX512BW.
        unsafe { _mm512_sub_epi16(a, b) }
    }
    #[inline(always)]
    unsafe fn and(a: Self, b: Self) -> Self {
        // SAFETY: caller guarantees AVX512F.
        unsafe { _mm512_and_si512(a, b) }
    }
    #[inline(always)]
    unsafe fn xor(a: Self, b: Self) -> Self {
        // SAFETY: caller guarantees AVX512F.
        unsafe { _mm512_xor_si512(a, b) }
    }
    #[inline(always)]
    unsafe fn min_u16(a: Self, b: Self) -> Self {
        // SAFETY: caller guarantees AVX512BW.
        unsafe { _mm512_min_epu16(a, b) }
    }
    #[inline(always)]
    unsafe fn min_i16(a: Self, b: Self) -> Self {
        // SAFETY: caller guarantees AVX512BW.
        unsafe { _mm512_min_epi16(a, b) }
    }
    #[inline(always)]
    unsafe fn lt_i16(a: Self, b: Self) -> __mmask32 {
        // SAFETY: caller guarantees AVX512BW.
        unsafe { _mm512_cmplt_epi16_mask(a, b) }
    }
    #[inline(always)]
    unsafe fn gt_i16(a: Self, b: Self) -> __mmask32 {
        // SAFETY: caller guarantees AVX512BW.
        unsafe { _mm512_cmpgt_epi16_mask(a, b) }
    }
    #[inline(always)]
    unsafe fn mask_and(a: __mmask32, b: __mmask32) -> __mmask32 {
        a & b
    }
    #[inline(always)]
    unsafe fn select(m: __mmask32, t: Self, f: Self) -> Self {
        // SAFETY: caller guarantees AVX512BW. The blend takes its second vector where
        // the mask bit is set.
        unsafe { _mm512_mask_blend_epi16(m, f, t) }
    }
    #[inline(always)]
    unsafe fn clear(m: __mmask32, v: Self) -> Self {
        // SAFETY: caller guarantees AVX512BW; zero-masking writes 0 where m is set.
        unsafe { _mm512_maskz_mov_epi16(!m, v) }
    }
    #[inline(always)]
    unsafe fn keep(m: __mmask32, v: Self) -> Self {
        // SAFETY: caller guarantees AVX512BW; zero-masking writes 0 where m is clear.
        unsafe { _mm512_maskz_mov_epi16(m, v) }
    }
    #[inline(always)]
    unsafe fn all(m: __mmask32) -> bool {
        m == u32::MAX
    }
    /// binary16 product, formed in f32 and rounded once.
    #[inline(always)]
    unsafe fn mul_f16(a: Self, b: Self) -> Self {
        // SAFETY: caller guarantees AVX512F.
        unsafe {
            let ((al, ah), (bl, bh)) = (widen_f16(a), widen_f16(b));
            let lo = _mm512_cvtps_ph::<_MM_FROUND_TO_NEAREST_INT>(_mm512_mul_ps(al, bl));
            let hi = _mm512_cvtps_ph::<_MM_FROUND_TO_NEAREST_INT>(_mm512_mul_ps(ah, bh));
            _mm512_inserti64x4::<1>(_mm512_castsi256_si512(lo), hi)
        }
    }
    /// leaky_relu for binary16 with the select in the narrowing: each half's
    /// `VCVTPS2PH` merge-masked into that half of `x` under the lanes that take the
    /// product (`leaky_select_f16_as`), where the parts take an integer compare
    /// pair on `x` and a `VPBLENDMW`.
    #[inline(always)]
    unsafe fn leaky_select_f16(x: Self, a: Self) -> Self {
        // SAFETY: caller guarantees AVX512F + BW.
        unsafe {
            if plain_slope(a, F16::INFINITY_BITS) {
                leaky_select_f16_as::<true>(x, a)
            } else {
                leaky_select_f16_as::<false>(x, a)
            }
        }
    }
    /// [`Lanes16::leaky_select_f16`] of four registers, the slope tested once.
    #[inline(always)]
    unsafe fn leaky_select4_f16(x: [Self; 4], a: Self) -> [Self; 4] {
        // SAFETY: caller guarantees AVX512F + BW.
        unsafe {
            if plain_slope(a, F16::INFINITY_BITS) {
                [
                    leaky_select_f16_as::<true>(x[0], a),
                    leaky_select_f16_as::<true>(x[1], a),
                    leaky_select_f16_as::<true>(x[2], a),
                    leaky_select_f16_as::<true>(x[3], a),
                ]
            } else {
                [
                    leaky_select_f16_as::<false>(x[0], a),
                    leaky_select_f16_as::<false>(x[1], a),
                    leaky_select_f16_as::<false>(x[2], a),
                    leaky_select_f16_as::<false>(x[3], a),
                ]
            }
        }
    }
    /// `keep ? other : a * b` for binary16, each half's `VCVTPS2PH` merge-masked
    /// into that half of `other` (the mask's two 16-lane halves, inverted).
    #[inline(always)]
    unsafe fn mul_unless_f16(a: Self, b: Self, keep: __mmask32, other: Self) -> Self {
        // SAFETY: caller guarantees AVX512F.
        unsafe {
            let ((al, ah), (bl, bh)) = (widen_f16(a), widen_f16(b));
            let m = !keep;
            let halves = [m as u16, (m >> 16) as u16];
            narrow_f16_into(_mm512_mul_ps(al, bl), _mm512_mul_ps(ah, bh), halves, other)
        }
    }
    /// bfloat16 product, formed in f32 and rounded once (integer rounding).
    #[inline(always)]
    unsafe fn mul_bf16(a: Self, b: Self) -> Self {
        // SAFETY: caller guarantees AVX512F + BW.
        unsafe {
            let (lo, hi) = bf16_products(a, b);
            _mm512_packus_epi32(lo, hi)
        }
    }
    /// leaky_relu for bfloat16 with the select in the narrowing: `VPACKUSDW`
    /// merge-masked into `x` under the product lanes (`product_lanes` under a
    /// `plain_slope`, else `x < 0`), for a `VPBLENDMW`.
    #[inline(always)]
    unsafe fn leaky_select_bf16(x: Self, a: Self) -> Self {
        // SAFETY: caller guarantees AVX512F + BW.
        unsafe {
            if plain_slope(a, Bf16::INFINITY_BITS) {
                mul_bf16_into(a, x, product_lanes(x, Bf16::INFINITY_BITS), x)
            } else {
                mul_bf16_into(a, x, negative(x, Bf16::INFINITY_BITS), x)
            }
        }
    }
    #[inline(always)]
    unsafe fn leaky_select4_bf16(x: [Self; 4], a: Self) -> [Self; 4] {
        // SAFETY: caller guarantees AVX512F + BW.
        unsafe {
            let inf = Bf16::INFINITY_BITS;
            if plain_slope(a, inf) {
                return [
                    mul_bf16_into(a, x[0], product_lanes(x[0], inf), x[0]),
                    mul_bf16_into(a, x[1], product_lanes(x[1], inf), x[1]),
                    mul_bf16_into(a, x[2], product_lanes(x[2], inf), x[2]),
                    mul_bf16_into(a, x[3], product_lanes(x[3], inf), x[3]),
                ];
            }
            [
                mul_bf16_into(a, x[0], negative(x[0], inf), x[0]),
                mul_bf16_into(a, x[1], negative(x[1], inf), x[1]),
                mul_bf16_into(a, x[2], negative(x[2], inf), x[2]),
                mul_bf16_into(a, x[3], negative(x[3], inf), x[3]),
            ]
        }
    }
    /// `keep ? other : a * b` for bfloat16, `VPACKUSDW` merge-masked into `other`.
    #[inline(always)]
    unsafe fn mul_unless_bf16(a: Self, b: Self, keep: __mmask32, other: Self) -> Self {
        // SAFETY: caller guarantees AVX512F + BW.
        unsafe { mul_bf16_into(a, b, !keep, other) }
    }

    /// The shifted signed minimum of the default, with the negatives found by one
    /// unsigned compare of the shifted bits (they are its unsigned top,
    /// `0x8001 + c..`) and kept out of the minimum by its merge mask, which writes
    /// `c` there (so they come back as +0). The compiled loop has four instructions
    /// per register where the default compiles to five (a second add, for the
    /// signed range test of `x`). Measured on this crate's AVX-512 host (Xeon,
    /// AVX512-FP16 class), f16 relu_n through the table entry, best of 300 samples
    /// in 6 alternated runs: 147 -> 178 GB/s at 4 KiB and 143 -> 179 GB/s at 16 KiB,
    /// out of place and in place alike.
    #[inline(always)]
    unsafe fn relu_n_fused(x: Self, n: Self, inf: u16) -> Self {
        // SAFETY: caller guarantees AVX512F + BW.
        unsafe {
            let c = _mm512_set1_epi16((0x7FFF - inf) as i16);
            let t = _mm512_add_epi16(x, c);
            let first_negative = _mm512_set1_epi16((0x8001 + (0x7FFF - inf)) as i16);
            let negative = _mm512_cmpge_epu16_mask(t, first_negative);
            let clipped = _mm512_mask_min_epi16(c, !negative, t, _mm512_add_epi16(n, c));
            _mm512_sub_epi16(clipped, c)
        }
    }
}

/// bfloat16 whose products are narrowed by AVX512-BF16 (`mul_bf16_ne`): the format
/// of [`Bf16x32Ne`]. Its leaky_relu parts test whether a product may be subnormal
/// before forming it (`leaky_parts_ne`, `leaky_parts4_ne`).
pub struct Bf16Ne;

// The methods need AVX512F, BW, DQ and BF16 (the `bf16_ne` entry points enable them).
impl Format16<__m512i> for Bf16Ne {
    type Elem = Bf16;
    #[inline(always)]
    unsafe fn mul(a: __m512i, b: __m512i) -> __m512i {
        // SAFETY: caller guarantees AVX512F + BW + DQ + BF16.
        unsafe { mul_bf16_ne(a, b) }
    }
    #[inline(always)]
    unsafe fn leaky_parts(x: __m512i, a: __m512i) -> (__mmask32, __m512i) {
        // SAFETY: caller guarantees AVX512F + BW + DQ + BF16.
        unsafe { leaky_parts_ne(x, a) }
    }
    #[inline(always)]
    unsafe fn leaky_parts4(x: [__m512i; 4], a: __m512i) -> [(__mmask32, __m512i); 4] {
        // SAFETY: caller guarantees AVX512F + BW + DQ + BF16.
        unsafe { leaky_parts4_ne(x, a) }
    }
    #[inline(always)]
    unsafe fn mul_unless(a: __m512i, b: __m512i, keep: __mmask32, other: __m512i) -> __m512i {
        // SAFETY: caller guarantees AVX512F + BW + DQ + BF16.
        unsafe { mul_unless_ne(a, b, keep, other) }
    }
    #[inline(always)]
    unsafe fn leaky_select(x: __m512i, a: __m512i) -> __m512i {
        // SAFETY: caller guarantees AVX512F + BW + DQ + BF16.
        unsafe { leaky_select_ne(x, a) }
    }
    #[inline(always)]
    unsafe fn leaky_select4(x: [__m512i; 4], a: __m512i) -> [__m512i; 4] {
        // SAFETY: caller guarantees AVX512F + BW + DQ + BF16.
        unsafe { leaky_select4_ne(x, a) }
    }
}

/// f32 products of two bfloat16 values, rounded to bfloat16 (nearest even) as
/// `(x + 0x7fff + lsb) >> 16`, in the low 16 bits of each 32-bit lane (no NaN path:
/// see [`Lanes16::mul_bf16`]).
#[inline(always)]
unsafe fn round_bf16_product(p: __m512) -> __m512i {
    // SAFETY: caller guarantees AVX512F.
    unsafe {
        let x = _mm512_castps_si512(p);
        let lsb = _mm512_and_si512(_mm512_srli_epi32::<16>(x), _mm512_set1_epi32(1));
        let bias = _mm512_add_epi32(lsb, _mm512_set1_epi32(0x7FFF));
        _mm512_srli_epi32::<16>(_mm512_add_epi32(x, bias))
    }
}

/// The two 16-lane halves of a register of binary16, widened to f32 (`VCVTPH2PS`,
/// exact).
#[inline(always)]
unsafe fn widen_f16(v: __m512i) -> (__m512, __m512) {
    // SAFETY: caller guarantees AVX512F.
    unsafe {
        (
            _mm512_cvtph_ps(_mm512_castsi512_si256(v)),
            _mm512_cvtph_ps(_mm512_extracti64x4_epi64::<1>(v)),
        )
    }
}

/// leaky_relu for binary16, the products narrowed into `x` (each half's
/// `VCVTPS2PH` merge-masked into that half). With `PLAIN` (the caller has checked
/// [`plain_slope`]) the lanes that take the product are `x` below `0xfc01` as
/// `i16`, `-0.0` to `-inf`: one 16-bit compare for the register. Otherwise the
/// oracle's `x < 0` on the widened halves (`VCMPPS`, false for NaN and `-0.0`).
#[inline(always)]
unsafe fn leaky_select_f16_as<const PLAIN: bool>(x: __m512i, a: __m512i) -> __m512i {
    // SAFETY: caller guarantees AVX512F + BW.
    unsafe {
        let ((al, ah), (wl, wh)) = (widen_f16(a), widen_f16(x));
        let m = if PLAIN {
            let m = product_lanes(x, F16::INFINITY_BITS);
            [m as u16, (m >> 16) as u16]
        } else {
            let zero = _mm512_setzero_ps();
            [
                _mm512_cmp_ps_mask::<_CMP_LT_OQ>(wl, zero),
                _mm512_cmp_ps_mask::<_CMP_LT_OQ>(wh, zero),
            ]
        };
        narrow_f16_into(_mm512_mul_ps(al, wl), _mm512_mul_ps(ah, wh), m, x)
    }
}

/// The f32 values `lo` and `hi` narrowed to binary16 (`VCVTPS2PH`, nearest even) on
/// the lanes of `m[0]` and `m[1]` (one mask per 16-lane half), `into`'s lanes on the
/// others: each narrowing merges into its half of `into`.
#[inline(always)]
unsafe fn narrow_f16_into(lo: __m512, hi: __m512, m: [__mmask16; 2], into: __m512i) -> __m512i {
    // SAFETY: caller guarantees AVX512F.
    unsafe {
        let (il, ih) = (
            _mm512_castsi512_si256(into),
            _mm512_extracti64x4_epi64::<1>(into),
        );
        let lo = _mm512_mask_cvtps_ph::<_MM_FROUND_TO_NEAREST_INT>(il, m[0], lo);
        let hi = _mm512_mask_cvtps_ph::<_MM_FROUND_TO_NEAREST_INT>(ih, m[1], hi);
        _mm512_inserti64x4::<1>(_mm512_castsi256_si512(lo), hi)
    }
}

/// `m ? a * b : into` per lane for bfloat16 with the integer rounding: `VPACKUSDW`
/// merge-masked into `into` (leaky_relu's select and the gradient's).
#[inline(always)]
unsafe fn mul_bf16_into(a: __m512i, b: __m512i, m: __mmask32, into: __m512i) -> __m512i {
    // SAFETY: caller guarantees AVX512F + BW.
    unsafe {
        let (lo, hi) = bf16_products(a, b);
        _mm512_mask_packus_epi32(into, m, lo, hi)
    }
}

/// The bfloat16 products of [`Lanes16::mul_bf16`] on `__m512i` before the narrowing:
/// each rounded in the low word of its 32-bit lane, the lower four words of each
/// 128-bit lane in `lo` and the upper four in `hi` (the unpacks' order, the same for
/// both operands), which `VPACKUSDW` (inputs in `0..=0xffff`) puts back in place.
#[inline(always)]
unsafe fn bf16_products(a: __m512i, b: __m512i) -> (__m512i, __m512i) {
    // SAFETY: caller guarantees AVX512F + BW.
    unsafe {
        let z = _mm512_setzero_si512();
        let al = _mm512_castsi512_ps(_mm512_unpacklo_epi16(z, a));
        let ah = _mm512_castsi512_ps(_mm512_unpackhi_epi16(z, a));
        let bl = _mm512_castsi512_ps(_mm512_unpacklo_epi16(z, b));
        let bh = _mm512_castsi512_ps(_mm512_unpackhi_epi16(z, b));
        (
            round_bf16_product(_mm512_mul_ps(al, bl)),
            round_bf16_product(_mm512_mul_ps(ah, bh)),
        )
    }
}

/// `VPERMW` indices that interleave words 0..16 (even lanes) with words 16..32 (odd).
const INTERLEAVE: [u16; 32] = {
    let mut t = [0u16; 32];
    let mut i = 0;
    while i < 16 {
        t[2 * i] = i as u16;
        t[2 * i + 1] = 16 + i as u16;
        i += 1;
    }
    t
};

/// bfloat16 product, formed in f32 and narrowed by AVX512-BF16's `VCVTNE2PS2BF16`.
///
/// Each 32-bit lane holds two bf16 values: the even word is widened by a left shift
/// and the odd word by masking the low half, so nothing is shuffled on the way in.
/// `VCVTNE2PS2BF16` writes the even products to words 0..16 and the odd ones to words
/// 16..32; one `VPERMW` puts them back in place.
///
/// The instruction rounds to nearest even and quiets a NaN exactly as the oracle
/// narrows, but it reads a subnormal `f32` as zero (whatever MXCSR says). bf16 and
/// f32 share their exponent range, so only a subnormal product can differ: a
/// register holding one (`VFPCLASSPS`, class "denormal") takes the integer rounding
/// of `Lanes16::mul_bf16` instead. Products of bf16 values are exact in f32 unless
/// they are subnormal, so that is rare in practice.
#[inline(always)]
unsafe fn mul_bf16_ne(a: __m512i, b: __m512i) -> __m512i {
    // SAFETY: caller guarantees AVX512F + BW + DQ + BF16.
    unsafe {
        let Some((even, odd)) = normal_products(a, b) else {
            return <__m512i as Lanes16>::mul_bf16(a, b);
        };
        narrow_ne(even, odd)
    }
}

/// [`products_f32`], or `None` if a product is subnormal (`VFPCLASSPS`, class
/// "denormal"), which `VCVTNE2PS2BF16` would read as zero.
#[inline(always)]
unsafe fn normal_products(a: __m512i, b: __m512i) -> Option<(__m512, __m512)> {
    // SAFETY: caller guarantees AVX512F + DQ.
    unsafe {
        let (even, odd) = products_f32(a, b);
        const DENORMAL: i32 = 0x20;
        let subnormal =
            _mm512_fpclass_ps_mask::<DENORMAL>(even) | _mm512_fpclass_ps_mask::<DENORMAL>(odd);
        (subnormal == 0).then_some((even, odd))
    }
}

/// The even and odd f32 products of [`mul_bf16_ne`], narrowed by `VCVTNE2PS2BF16` and
/// put back in lane order; exact unless a product is subnormal.
#[inline(always)]
unsafe fn narrow_ne(even: __m512, odd: __m512) -> __m512i {
    // SAFETY: caller guarantees AVX512BW + BF16; INTERLEAVE is 64 readable bytes;
    // `__m512bh` and `__m512i` are both 64-byte vectors of plain bits.
    unsafe {
        let packed: __m512i = core::mem::transmute(_mm512_cvtne2ps_pbh(odd, even));
        let idx = _mm512_loadu_si512(INTERLEAVE.as_ptr().cast());
        _mm512_permutexvar_epi16(idx, packed)
    }
}

/// Per lane of a bf16 `a`: a bound `m >= 1` such that `a * x` can be subnormal in f32
/// only if `1 <= |x| < m` (magnitude bits). For a normal `a` with biased exponent
/// `e`, `|a| >= 2^(e - 127)`, so an `x` with biased exponent at least `128 - e` gives
/// a product of at least `2^-126`, which is normal: `m = max(128 - e, 1) << 7`. A zero,
/// infinite or NaN `a` never gives a subnormal product (`m = 1`); a subnormal `a` may
/// with any finite `x` (`m = inf`).
#[inline(always)]
unsafe fn subnormal_product_bound(a: __m512i) -> __m512i {
    // SAFETY: caller guarantees AVX512F + BW.
    unsafe {
        let one = _mm512_set1_epi16(1);
        let mag = _mm512_and_si512(a, _mm512_set1_epi16(0x7FFF));
        let e = _mm512_srli_epi16::<7>(mag);
        let normal = _mm512_slli_epi16::<7>(_mm512_max_epi16(
            _mm512_sub_epi16(_mm512_set1_epi16(128), e),
            one,
        ));
        let subnormal_a = _mm512_cmpeq_epi16_mask(e, _mm512_setzero_si512())
            & _mm512_cmpneq_epi16_mask(mag, _mm512_setzero_si512());
        let special = _mm512_cmpeq_epi16_mask(mag, _mm512_setzero_si512())
            | _mm512_cmpeq_epi16_mask(e, _mm512_set1_epi16(0xFF));
        let m = _mm512_mask_mov_epi16(normal, special, one);
        _mm512_mask_mov_epi16(m, subnormal_a, _mm512_set1_epi16(0x7F80))
    }
}

/// `Lanes16::mul_bf16` out of line, for the rare registers that need it (registers that may
/// hold a subnormal product), so the hot loop does not carry its code.
#[cold]
#[inline(never)]
#[target_feature(enable = "avx512f,avx512bw")]
unsafe fn mul_bf16_cold(a: __m512i, b: __m512i) -> __m512i {
    // SAFETY: the target features are enabled on this function.
    unsafe { <__m512i as Lanes16>::mul_bf16(a, b) }
}

/// leaky_relu's parts for [`Bf16x32Ne`]: the negative lanes of `x`, and `a * x`
/// narrowed by `VCVTNE2PS2BF16` unless a negative lane's product may be subnormal
/// ([`subnormal_product_bound`], tested on `x` with one compare, where testing the
/// products takes two `VFPCLASSPS`), in which case the integer rounding.
#[inline(always)]
unsafe fn leaky_parts_ne(x: __m512i, a: __m512i) -> (__mmask32, __m512i) {
    // SAFETY: caller guarantees AVX512F + BW + DQ + BF16.
    unsafe {
        let one = _mm512_set1_epi16(1);
        let inf = Bf16::INFINITY_BITS;
        // Negative lanes are the bits 0x8001..=0x8000 | inf: `off = x - 0x8001` is
        // `|x| - 1` there, and at least `0x7fff` on every other lane.
        let off = _mm512_sub_epi16(x, _mm512_set1_epi16(0x8001u16 as i16));
        let negative = _mm512_cmple_epu16_mask(off, _mm512_set1_epi16((inf - 1) as i16));
        let bound = _mm512_sub_epi16(subnormal_product_bound(a), one);
        if _mm512_cmplt_epu16_mask(off, bound) != 0 {
            return (negative, mul_bf16_cold(a, x));
        }
        (negative, product_ne(x, a))
    }
}

/// `a * x` narrowed by `VCVTNE2PS2BF16`, without the subnormal test: exact only when
/// no lane's product is subnormal in f32.
#[inline(always)]
unsafe fn product_ne(x: __m512i, a: __m512i) -> __m512i {
    // SAFETY: caller guarantees AVX512F + BW + BF16.
    unsafe {
        let (even, odd) = products_f32(a, x);
        narrow_ne(even, odd)
    }
}

/// The exact f32 products of the even and of the odd bf16 words of `a` and `b` (see
/// [`mul_bf16_ne`]: widened by a shift and by a mask, nothing shuffled).
#[inline(always)]
unsafe fn products_f32(a: __m512i, b: __m512i) -> (__m512, __m512) {
    // SAFETY: caller guarantees AVX512F.
    unsafe {
        let high = _mm512_set1_epi32(0xFFFF_0000u32 as i32);
        let even = _mm512_mul_ps(
            _mm512_castsi512_ps(_mm512_slli_epi32::<16>(a)),
            _mm512_castsi512_ps(_mm512_slli_epi32::<16>(b)),
        );
        let odd = _mm512_mul_ps(
            _mm512_castsi512_ps(_mm512_and_si512(a, high)),
            _mm512_castsi512_ps(_mm512_and_si512(b, high)),
        );
        (even, odd)
    }
}

/// [`leaky_parts_ne`] for a block of four registers, with one subnormal-product test
/// for the four: the smallest `|x| - 1` of the four registers' lanes against the
/// bound: three unsigned minimums, one compare and one branch for the four (a test
/// per register measured 64-66 GB/s at 16 KiB, the block test 70-71). If it fails,
/// each register takes its own test, so only a register that may hold a subnormal
/// product is narrowed in integers.
#[inline(always)]
unsafe fn leaky_parts4_ne(x: [__m512i; 4], a: __m512i) -> [(__mmask32, __m512i); 4] {
    // SAFETY: caller guarantees AVX512F + BW + DQ + BF16.
    unsafe {
        let Some(off) = block_offsets(x, a) else {
            return [
                leaky_parts_ne(x[0], a),
                leaky_parts_ne(x[1], a),
                leaky_parts_ne(x[2], a),
                leaky_parts_ne(x[3], a),
            ];
        };
        let last = _mm512_set1_epi16((Bf16::INFINITY_BITS - 1) as i16);
        [
            (_mm512_cmple_epu16_mask(off[0], last), product_ne(x[0], a)),
            (_mm512_cmple_epu16_mask(off[1], last), product_ne(x[1], a)),
            (_mm512_cmple_epu16_mask(off[2], last), product_ne(x[2], a)),
            (_mm512_cmple_epu16_mask(off[3], last), product_ne(x[3], a)),
        ]
    }
}

/// The block test of [`leaky_parts4_ne`] and [`leaky_select4_ne`]: `x - 0x8001` per
/// register (`|x| - 1` on the negative lanes, at least `0x7fff` on the others), or
/// `None` if a negative lane of the four registers may give a subnormal product
/// with `a` ([`subnormal_product_bound`]).
#[inline(always)]
unsafe fn block_offsets(x: [__m512i; 4], a: __m512i) -> Option<[__m512i; 4]> {
    // SAFETY: caller guarantees AVX512F + BW.
    unsafe {
        let bias = _mm512_set1_epi16(0x8001u16 as i16);
        let off = [
            _mm512_sub_epi16(x[0], bias),
            _mm512_sub_epi16(x[1], bias),
            _mm512_sub_epi16(x[2], bias),
            _mm512_sub_epi16(x[3], bias),
        ];
        let least = _mm512_min_epu16(
            _mm512_min_epu16(off[0], off[1]),
            _mm512_min_epu16(off[2], off[3]),
        );
        let bound = _mm512_sub_epi16(subnormal_product_bound(a), _mm512_set1_epi16(1));
        (_mm512_cmplt_epu16_mask(least, bound) == 0).then_some(off)
    }
}

/// leaky_relu by the select for [`Bf16x32Ne`], with the select folded into the
/// `VPERMW` that puts the narrowed products back in place (merging under the
/// negative lanes' mask into `x`): one `VPBLENDMW` fewer per register than
/// [`leaky_parts_ne`] and a select (bf16 leaky_relu on Zen 4 at 64 KiB: 71-72 ->
/// 77-78 GB/s). Widening in word order instead (two zero-masking `VPERMW`s, or a
/// `VPERMQ` and two unpacks), which lets `VCVTNE2PS2BF16` itself merge into `x`
/// with no permute after it, ran slower there (66-67 and 74-75 GB/s). A register
/// whose negative lanes may give a subnormal product takes [`leaky_parts_ne`]'s
/// integer rounding.
#[inline(always)]
unsafe fn leaky_select_ne(x: __m512i, a: __m512i) -> __m512i {
    // SAFETY: caller guarantees AVX512F + BW + DQ + BF16.
    unsafe {
        let off = _mm512_sub_epi16(x, _mm512_set1_epi16(0x8001u16 as i16));
        let bound = _mm512_sub_epi16(subnormal_product_bound(a), _mm512_set1_epi16(1));
        if _mm512_cmplt_epu16_mask(off, bound) != 0 {
            let (negative, product) = leaky_parts_ne(x, a);
            return _mm512_mask_mov_epi16(x, negative, product);
        }
        let last = _mm512_set1_epi16((Bf16::INFINITY_BITS - 1) as i16);
        merge_products(x, a, _mm512_cmple_epu16_mask(off, last))
    }
}

/// `a * x` on the lanes of `negative`, `x` on the others (the products narrowed by
/// `VCVTNE2PS2BF16`, the permute after it merging into `x`): exact unless a
/// negative lane's product is subnormal in f32.
#[inline(always)]
unsafe fn merge_products(x: __m512i, a: __m512i, negative: __mmask32) -> __m512i {
    // SAFETY: caller guarantees AVX512F + BW + BF16.
    unsafe {
        let (even, odd) = products_f32(a, x);
        narrow_into(even, odd, negative, x)
    }
}

/// [`narrow_ne`] on the lanes of `m`, `into` on the others: the permute that puts
/// the narrowed products back in place merges into `into`.
#[inline(always)]
unsafe fn narrow_into(even: __m512, odd: __m512, m: __mmask32, into: __m512i) -> __m512i {
    // SAFETY: caller guarantees AVX512BW + BF16; INTERLEAVE is 64 readable bytes;
    // `__m512bh` and `__m512i` are both 64-byte vectors of plain bits.
    unsafe {
        let packed: __m512i = core::mem::transmute(_mm512_cvtne2ps_pbh(odd, even));
        let idx = _mm512_loadu_si512(INTERLEAVE.as_ptr().cast());
        _mm512_mask_permutexvar_epi16(into, m, idx, packed)
    }
}

/// `keep ? other : a * b` for [`Bf16x32Ne`] (the gradients' product and select),
/// the select folded into [`narrow_into`]'s permute; a register holding a subnormal
/// product takes the integer rounding and a select, as [`mul_bf16_ne`] does.
#[inline(always)]
unsafe fn mul_unless_ne(a: __m512i, b: __m512i, keep: __mmask32, other: __m512i) -> __m512i {
    // SAFETY: caller guarantees AVX512F + BW + DQ + BF16.
    unsafe {
        let Some((even, odd)) = normal_products(a, b) else {
            return _mm512_mask_mov_epi16(mul_bf16_cold(a, b), keep, other);
        };
        narrow_into(even, odd, !keep, other)
    }
}

/// [`leaky_select_ne`] for a block of four registers, with one subnormal-product
/// test for the four, as [`leaky_parts4_ne`] has. The test first takes the signed
/// minimum of the four registers' bits, the negative lane nearest zero at each
/// position: when no lane lies from `-0.0` up to the bound, no product is subnormal
/// and no lane is `-0.0`, so the product lanes are [`product_lanes`], one compare
/// per register (the `-0.0` lanes it takes are absent, whatever the slope). A block
/// whose minimum lies there takes the offsets' test. bf16 leaky_relu on Zen 4 at
/// 64 KiB: 78 -> 87 GB/s.
#[inline(always)]
unsafe fn leaky_select4_ne(x: [__m512i; 4], a: __m512i) -> [__m512i; 4] {
    // SAFETY: caller guarantees AVX512F + BW + DQ + BF16.
    unsafe {
        let inf = Bf16::INFINITY_BITS;
        let least = _mm512_min_epi16(_mm512_min_epi16(x[0], x[1]), _mm512_min_epi16(x[2], x[3]));
        let from_minus_zero = _mm512_sub_epi16(least, _mm512_set1_epi16(0x8000u16 as i16));
        // The bound is at least 1, so a -0.0 lane (0 here) always fails.
        if _mm512_cmplt_epu16_mask(from_minus_zero, subnormal_product_bound(a)) == 0 {
            return [
                merge_products(x[0], a, product_lanes(x[0], inf)),
                merge_products(x[1], a, product_lanes(x[1], inf)),
                merge_products(x[2], a, product_lanes(x[2], inf)),
                merge_products(x[3], a, product_lanes(x[3], inf)),
            ];
        }
        let Some(off) = block_offsets(x, a) else {
            return [
                leaky_select_ne(x[0], a),
                leaky_select_ne(x[1], a),
                leaky_select_ne(x[2], a),
                leaky_select_ne(x[3], a),
            ];
        };
        let last = _mm512_set1_epi16((Bf16::INFINITY_BITS - 1) as i16);
        [
            merge_products(x[0], a, _mm512_cmple_epu16_mask(off[0], last)),
            merge_products(x[1], a, _mm512_cmple_epu16_mask(off[1], last)),
            merge_products(x[2], a, _mm512_cmple_epu16_mask(off[2], last)),
            merge_products(x[3], a, _mm512_cmple_epu16_mask(off[3], last)),
        ]
    }
}

/// binary16 computed by AVX512-FP16 ([`F16x32Ph`]): products, compares, relu and
/// the clip bounds are single `*PH` instructions on the 32 lanes, where the default
/// format widens to f32 and back for a product and compares in integers.
///
/// Each gives the oracle's bits: the product of two binary16 values is exact in f32
/// (11 + 11 significand bits, exponents well inside f32's normal range), so the
/// oracle's one rounding of it to binary16 is the correctly rounded binary16
/// product, which is what `VMULPH` returns, subnormals included (the FP16
/// instructions ignore MXCSR's DAZ and FTZ). A NaN operand comes back quieted with
/// its payload, as the oracle's widen-multiply-narrow keeps it, the first operand's
/// when both are NaN, as `VMULPS` does. `VMINPH`/`VMAXPH` return their second
/// operand when either is NaN or both are zeros, as `VMINPS`/`VMAXPS` do, so the
/// clip bounds take the f32 kernels' operand order. The instructions are written
/// as inline assembly: Rust's `_mm512_*_ph` intrinsics are not stable.
pub struct F16Ph;

/// 32 binary16 values (bits) in a `__m512i`, computed by AVX512-FP16 ([`F16Ph`]).
pub type F16x32Ph = Half<__m512i, F16Ph>;

// The methods need AVX512F, BW and FP16 (the `f16_ph` entry points enable them).
impl Format16<__m512i> for F16Ph {
    type Elem = F16;
    #[inline(always)]
    unsafe fn mul(a: __m512i, b: __m512i) -> __m512i {
        // SAFETY: caller guarantees AVX512F + BW + FP16.
        unsafe { ph::binary::<{ ph::MUL }>(a, b) }
    }
    #[inline(always)]
    unsafe fn lt(a: __m512i, b: __m512i) -> __mmask32 {
        // SAFETY: caller guarantees AVX512F + BW + FP16.
        unsafe { ph::less(a, b) }
    }
    const LEAKY_SHAPES: bool = true;
    #[inline(always)]
    unsafe fn leaky_minmax(x: __m512i, a: __m512i, shape: LeakyShape) -> __m512i {
        // SAFETY: caller guarantees AVX512F + BW + FP16. As the f32 kernels' shapes
        // (`vector::LeakyShape`): for a nonzero `a <= 1`, `a * x >= x` exactly where
        // x < 0, so the maximum; for `a > 1` the minimum; `x` second, so a NaN and
        // -0.0 pass through.
        unsafe {
            let product = ph::binary::<{ ph::MUL }>(a, x);
            match shape {
                LeakyShape::Max => ph::binary::<{ ph::MAX }>(product, x),
                LeakyShape::Min => ph::binary::<{ ph::MIN }>(product, x),
                LeakyShape::Select => _mm512_mask_blend_epi16(Self::negative(x), x, product),
            }
        }
    }
    #[inline(always)]
    unsafe fn negative(x: __m512i) -> __mmask32 {
        // SAFETY: caller guarantees AVX512F + BW + FP16.
        unsafe { ph::less(x, _mm512_setzero_si512()) }
    }
    #[inline(always)]
    unsafe fn positive(x: __m512i) -> __mmask32 {
        // SAFETY: caller guarantees AVX512F + BW + FP16.
        unsafe { ph::less(_mm512_setzero_si512(), x) }
    }
    #[inline(always)]
    unsafe fn relu(x: __m512i) -> __m512i {
        // SAFETY: caller guarantees AVX512F + BW + FP16. `max(+0, x)` is x where x is
        // NaN or a zero, +0 where x < 0: the oracle's relu in one instruction.
        unsafe { ph::binary::<{ ph::MAX }>(_mm512_setzero_si512(), x) }
    }
    #[inline(always)]
    unsafe fn relu_n_fused(x: __m512i, n: __m512i) -> __m512i {
        // SAFETY: caller guarantees AVX512F + BW + FP16. The relu, then the clip
        // above (a NaN passes both as the second operand).
        unsafe { Self::clip_above(Self::relu(x), n) }
    }
    #[inline(always)]
    unsafe fn clip_above(x: __m512i, n: __m512i) -> __m512i {
        // SAFETY: caller guarantees AVX512F + BW + FP16. `min(n, x)` is x where x is
        // NaN or equal to n (F16Ph's docs).
        unsafe { ph::binary::<{ ph::MIN }>(n, x) }
    }
    #[inline(always)]
    unsafe fn clip_below(x: __m512i, n: __m512i) -> __m512i {
        // SAFETY: caller guarantees AVX512F + BW + FP16. `max(n, x)` is x where x is
        // NaN or equal to n.
        unsafe { ph::binary::<{ ph::MAX }>(n, x) }
    }
    const CLIP_FORMS: bool = false;
}

/// The AVX512-FP16 instructions of [`F16Ph`], one `asm!` each (pure: the optimiser
/// may hoist or merge them like any arithmetic).
mod ph {
    use core::arch::asm;
    use core::arch::x86_64::{__m512i, __mmask32};

    /// `VMULPH`.
    pub const MUL: u8 = 0;
    /// `VMINPH`.
    pub const MIN: u8 = 1;
    /// `VMAXPH`.
    pub const MAX: u8 = 2;

    /// `OP a, b` on 32 binary16 lanes (Intel operand order: `a` is the first source).
    #[inline]
    #[target_feature(enable = "avx512f,avx512bw,avx512fp16")]
    pub unsafe fn binary<const OP: u8>(a: __m512i, b: __m512i) -> __m512i {
        let r: __m512i;
        // SAFETY: the target features are enabled on this function; the instructions
        // read and write registers only.
        unsafe {
            match OP {
                MUL => asm!("vmulph {r}, {a}, {b}", r = lateout(zmm_reg) r,
                    a = in(zmm_reg) a, b = in(zmm_reg) b,
                    options(pure, nomem, nostack, preserves_flags)),
                MIN => asm!("vminph {r}, {a}, {b}", r = lateout(zmm_reg) r,
                    a = in(zmm_reg) a, b = in(zmm_reg) b,
                    options(pure, nomem, nostack, preserves_flags)),
                _ => asm!("vmaxph {r}, {a}, {b}", r = lateout(zmm_reg) r,
                    a = in(zmm_reg) a, b = in(zmm_reg) b,
                    options(pure, nomem, nostack, preserves_flags)),
            }
        }
        r
    }

    /// `a < b` per lane, false where either is NaN (`VCMPPH`, predicate `LT_OQ`).
    #[inline]
    #[target_feature(enable = "avx512f,avx512bw,avx512fp16")]
    pub unsafe fn less(a: __m512i, b: __m512i) -> __mmask32 {
        let m: __mmask32;
        // SAFETY: the target features are enabled on this function; the instruction
        // reads and writes registers only.
        unsafe {
            asm!("vcmpph {m}, {a}, {b}, 0x11", m = lateout(kreg) m,
                a = in(zmm_reg) a, b = in(zmm_reg) b,
                options(pure, nomem, nostack, preserves_flags));
        }
        m
    }
}

/// binary16 kernels on AVX-512.
pub mod f16 {
    use super::F16x32;
    use crate::half::F16;
    crate::kernel_entry_points!([target_feature(enable = "avx512f,avx512bw")], F16x32, F16);
}

/// bfloat16 kernels on AVX-512.
pub mod bf16 {
    use super::Bf16x32;
    use crate::half::Bf16;
    crate::kernel_entry_points!([target_feature(enable = "avx512f,avx512bw")], Bf16x32, Bf16);
}

/// bfloat16 kernels on AVX-512 with AVX512-BF16 (products narrowed by
/// `VCVTNE2PS2BF16`). Only leaky_relu and its gradient multiply: the other ops are
/// selects, the same code as [`bf16`]'s, and the table takes [`bf16`]'s entries for
/// them.
pub mod bf16_ne {
    use super::Bf16x32Ne;
    use crate::half::Bf16;
    use crate::ops::{Backward, Forward, LeakyRelu, LeakyReluGrad};
    crate::kernel_entry_points!(
        @fns
        [target_feature(
            enable = "avx512f,avx512bw,avx512dq,avx512bf16"
        )],
        Bf16x32Ne,
        Bf16,
        Bf16x32Ne
    );
    crate::kernel_entry_points!(
        @prelu
        [target_feature(
            enable = "avx512f,avx512bw,avx512dq,avx512bf16"
        )],
        Bf16x32Ne,
        Bf16
    );

    /// [`super::bf16::KERNELS`] with this module's leaky_relu, its gradient and
    /// PRelu (the other ops form no product).
    pub const KERNELS: crate::Kernels<Bf16> = {
        let mut k = super::bf16::KERNELS;
        k.forward[Forward::LeakyRelu as usize] = forward::<LeakyRelu>;
        k.backward[Backward::LeakyReluGrad as usize] = backward::<LeakyReluGrad>;
        k.prelu.forward = prelu_forward;
        k.prelu.backward = prelu_backward;
        k.prelu.dw = prelu_dw;
        k
    };
}

/// binary16 kernels on AVX-512 with AVX512-FP16 ([`F16x32Ph`]).
pub mod f16_ph {
    use super::F16x32Ph;
    use crate::half::F16;
    crate::kernel_entry_points!(
        [target_feature(enable = "avx512f,avx512bw,avx512fp16")],
        F16x32Ph,
        F16
    );
}

impl RoundTrip<__m512i> for F16 {
    #[inline(always)]
    unsafe fn round_trip(x: __m512i) -> __m512i {
        // SAFETY: caller guarantees AVX512F.
        unsafe {
            let lo = _mm512_cvtph_ps(_mm512_castsi512_si256(x));
            let hi = _mm512_cvtph_ps(_mm512_extracti64x4_epi64::<1>(x));
            let lo = _mm512_cvtps_ph::<_MM_FROUND_TO_NEAREST_INT>(lo);
            let hi = _mm512_cvtps_ph::<_MM_FROUND_TO_NEAREST_INT>(hi);
            _mm512_inserti64x4::<1>(_mm512_castsi256_si512(lo), hi)
        }
    }
}

impl RoundTrip<__m512i> for Bf16 {
    #[inline(always)]
    unsafe fn round_trip(x: __m512i) -> __m512i {
        // SAFETY: caller guarantees AVX512F + BW (the unpack and pack of `mul_bf16`).
        unsafe {
            let z = _mm512_setzero_si512();
            let lo = opaque(_mm512_castsi512_ps(_mm512_unpacklo_epi16(z, x)));
            let hi = opaque(_mm512_castsi512_ps(_mm512_unpackhi_epi16(z, x)));
            _mm512_packus_epi32(round_bf16_product(lo), round_bf16_product(hi))
        }
    }
}

impl RoundTrip<__m512i> for Bf16Ne {
    #[inline(always)]
    unsafe fn round_trip(x: __m512i) -> __m512i {
        // SAFETY: caller guarantees AVX512F + BW + BF16: the widening of
        // `products_f32` and the narrowing of `narrow_ne` (without the subnormal test
        // of the products, which is not a conversion).
        unsafe {
            let even = _mm512_castsi512_ps(_mm512_slli_epi32::<16>(x));
            let odd = _mm512_castsi512_ps(_mm512_and_si512(
                x,
                _mm512_set1_epi32(0xFFFF_0000u32 as i32),
            ));
            narrow_ne(even, odd)
        }
    }
}

/// `v` unchanged, hidden from the optimiser: the integer rounding of an f32 whose
/// low 16 bits are known to be zero folds away, and a round trip must convert as a
/// product's narrowing does.
#[inline]
#[target_feature(enable = "avx512f")]
unsafe fn opaque(mut v: __m512) -> __m512 {
    // SAFETY: the feature is enabled here; an empty instruction template leaves the
    // register as it is.
    unsafe {
        core::arch::asm!("/* {0} */", inout(zmm_reg) v, options(pure, nomem, nostack, preserves_flags));
    }
    v
}

/// The conversion round trips of the 16-bit products on AVX-512 ([`RoundTrip`]):
/// the roofs the report measures the f16 and bf16 products against.
pub mod round_trip {
    use super::*;

    /// f16 widened by `VCVTPH2PS` and narrowed by `VCVTPS2PH`, `x` into `y`.
    ///
    /// # Safety
    /// The CPU supports AVX512F and BW.
    #[target_feature(enable = "avx512f,avx512bw")]
    pub unsafe fn f16(x: &[F16], y: &mut [F16]) {
        // SAFETY: the features are enabled here.
        unsafe { round_trip_loop::<__m512i, F16>(x, y) }
    }

    /// bf16 widened by unpacking and narrowed by integer rounding, `x` into `y`.
    ///
    /// # Safety
    /// The CPU supports AVX512F and BW.
    #[target_feature(enable = "avx512f,avx512bw")]
    pub unsafe fn bf16(x: &[Bf16], y: &mut [Bf16]) {
        // SAFETY: the features are enabled here.
        unsafe { round_trip_loop::<__m512i, Bf16>(x, y) }
    }

    /// bf16 widened by shifts and narrowed by `VCVTNE2PS2BF16`, `x` into `y`.
    ///
    /// # Safety
    /// The CPU supports AVX512F, BW, DQ and BF16.
    #[target_feature(enable = "avx512f,avx512bw,avx512dq,avx512bf16")]
    pub unsafe fn bf16_ne(x: &[Bf16], y: &mut [Bf16]) {
        // SAFETY: the features are enabled here.
        unsafe { round_trip_loop::<__m512i, Bf16Ne>(x, y) }
    }
}
