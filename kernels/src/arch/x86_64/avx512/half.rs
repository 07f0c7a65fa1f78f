//! AVX-512 (F + BW) kernels for the 16-bit floats: [`F16x32`], [`Bf16x32`] and
//! [`Bf16x32Ne`], 32 lanes in a `__m512i`, compare results in `__mmask32`.
//!
//! The same scheme as [`super::super::avx2::half`]: integer-only compares on the order key
//! `sign ? -|x| : |x|` (NaN lanes false), bitwise selects (`VPBLENDMW`, zero-masking
//! moves), and the product formed in `f32` and rounded once. What the kernel bodies
//! actually ask (`x < 0`, `y > 0`, `0 < y < n`, relu then the clip at a splatted
//! non-negative `n`) takes shortcuts on the raw bits: a wrapping subtract and one
//! unsigned `VPCMPUW` for each range, and relu_n fused into one shifted signed minimum
//! (`relu_n`). A compare into a `k` register costs twice an add on this kind of core,
//! so the shortcuts count compares. Each is chosen by a test of the right-hand side
//! that LLVM folds or hoists (a branch joining `k` masks costs nothing here, unlike
//! AVX2's vector masks); any other right-hand side takes the general compare.
//! - f16: AVX512F `VCVTPH2PS` / `VCVTPS2PH` (rounding immediate "nearest even"), exact
//!   with subnormals, NaN quieted with its payload kept.
//! - bf16: a 16-bit shift to widen (unpack with zero), integer round-to-nearest-even to
//!   narrow (a NaN product needs no path of its own, see `round_bf16_product`),
//!   `VPACKUSDW` back.
//! - bf16 on CPUs with AVX512-BF16 ([`Bf16x32Ne`]): products narrowed by
//!   `VCVTNE2PS2BF16`, which treats subnormal f32 as zero, so a register that may hold
//!   a subnormal product takes the integer rounding instead (leaky_relu tests a block
//!   of four registers at once, `leaky_parts4_ne`).
//!
//! A call shorter than one register uses masked 16-bit loads and stores (`VMOVDQU16`
//! with a `k` mask): lanes outside the slice are never accessed. As for f32, large
//! out-of-place calls use non-temporal stores (`VMOVNTDQ`) and in-place forward calls
//! write only the lanes that change.

use core::arch::x86_64::*;

use crate::half::{Bf16, F16};
use crate::vector::Vector;

/// 32 binary16 values (bits) in a `__m512i`.
#[derive(Clone, Copy)]
#[repr(transparent)]
pub struct F16x32(__m512i);

/// 32 bfloat16 values (bits) in a `__m512i`.
#[derive(Clone, Copy)]
#[repr(transparent)]
pub struct Bf16x32(__m512i);

/// 32 bfloat16 values (bits) in a `__m512i`, for CPUs with AVX512-BF16 (and DQ):
/// as [`Bf16x32`] except that products are narrowed by `VCVTNE2PS2BF16`.
#[derive(Clone, Copy)]
#[repr(transparent)]
pub struct Bf16x32Ne(__m512i);

/// The order key `sign ? -|x| : |x|` of each 16-bit lane.
#[inline(always)]
unsafe fn order_key(v: __m512i) -> __m512i {
    // SAFETY: caller guarantees AVX512F + BW.
    unsafe {
        let mag = _mm512_and_si512(v, _mm512_set1_epi16(0x7FFF));
        let neg = _mm512_srai_epi16::<15>(v);
        _mm512_sub_epi16(_mm512_xor_si512(mag, neg), neg)
    }
}

/// The lanes that are not NaN (`|x| <= inf`).
#[inline(always)]
unsafe fn ordered(v: __m512i, inf: u16) -> __mmask32 {
    // SAFETY: caller guarantees AVX512F + BW.
    unsafe {
        let mag = _mm512_and_si512(v, _mm512_set1_epi16(0x7FFF));
        _mm512_cmple_epu16_mask(mag, _mm512_set1_epi16(inf as i16))
    }
}

/// IEEE `a < b` per lane (false if either is NaN).
#[inline(always)]
unsafe fn less(a: __m512i, b: __m512i, inf: u16) -> __mmask32 {
    // SAFETY: caller guarantees AVX512F + BW.
    unsafe {
        _mm512_cmplt_epi16_mask(order_key(a), order_key(b)) & ordered(a, inf) & ordered(b, inf)
    }
}

/// IEEE `a < b` per lane, with fast paths for what the kernel bodies compare against:
/// `b` a positive non-NaN in every lane (a splatted `n`: then `a < b` is the signed
/// compare of the bits, minus the negative NaNs) and `b = ±0` (then it is
/// [`negative`]). The choice tests `b` alone, which is a constant (folded) or
/// loop-invariant (hoisted) in every body; any other `b` takes the general [`less`].
#[inline(always)]
unsafe fn lt_fast(a: __m512i, b: __m512i, inf: u16) -> __mmask32 {
    // SAFETY: caller guarantees AVX512F + BW.
    unsafe {
        let z = _mm512_setzero_si512();
        let inf_v = _mm512_set1_epi16(inf as i16);
        let b_positive = _mm512_mask_cmple_epi16_mask(_mm512_cmpgt_epi16_mask(b, z), b, inf_v);
        if b_positive == u32::MAX {
            // Sign-set a (all <= -0 < b) are negative as i16; +NaN a are above inf >= b.
            let not_neg_nan = _mm512_cmple_epu16_mask(a, _mm512_set1_epi16((0x8000 | inf) as i16));
            _mm512_mask_cmplt_epi16_mask(not_neg_nan, a, b)
        } else if _mm512_test_epi16_mask(b, _mm512_set1_epi16(0x7FFF)) == 0 {
            negative(a, inf)
        } else {
            less(a, b, inf)
        }
    }
}

/// The lanes where `b` is in `+0..=+inf` (bits `0..=inf`).
#[inline(always)]
unsafe fn non_negative(b: __m512i, inf: u16) -> __mmask32 {
    // SAFETY: caller guarantees AVX512F + BW.
    unsafe { _mm512_cmple_epu16_mask(b, _mm512_set1_epi16(inf as i16)) }
}

/// IEEE `a > b` per lane, with a fast path for `b` in `+0..=+inf` in every lane (the
/// zero constant, a splatted `n`): then `a > b` exactly when the bits of `a` are in
/// `b + 1..=inf`, one wrapping subtract and one unsigned compare (a compare into a
/// mask register costs twice a subtract on this kind of core). As in [`lt_fast`], the
/// test is on `b` alone.
#[inline(always)]
unsafe fn gt_fast(a: __m512i, b: __m512i, inf: u16) -> __mmask32 {
    // SAFETY: caller guarantees AVX512F + BW.
    unsafe {
        if non_negative(b, inf) == u32::MAX {
            let one = _mm512_set1_epi16(1);
            let width = _mm512_sub_epi16(_mm512_set1_epi16(inf as i16), b);
            let off = _mm512_sub_epi16(a, _mm512_add_epi16(b, one));
            _mm512_cmplt_epu16_mask(off, width)
        } else {
            less(b, a, inf)
        }
    }
}

/// `0 < y < n` per lane. When `n` is in `+min..=+inf` in every lane (relu_n's splatted
/// `n`), that is the bits of `y` in `1..n`: one subtract and one unsigned compare.
#[inline(always)]
unsafe fn in_open(y: __m512i, n: __m512i, inf: u16) -> __mmask32 {
    // SAFETY: caller guarantees AVX512F + BW.
    unsafe {
        let one = _mm512_set1_epi16(1);
        let n_positive = _mm512_mask_cmpge_epu16_mask(non_negative(n, inf), n, one);
        if n_positive == u32::MAX {
            _mm512_cmplt_epu16_mask(_mm512_sub_epi16(y, one), _mm512_sub_epi16(n, one))
        } else {
            less(_mm512_setzero_si512(), y, inf) & less(y, n, inf)
        }
    }
}

/// relu then the clip at `n`, fused when `n` is in `+0..=+inf` in every lane.
///
/// Adding `c = 0x7fff - inf` (wrapping) moves `+0..=+inf` to `c..=i16::MAX`, the
/// negatives (`0x8001..=0x8000 | inf`) to the top of the unsigned range, and the
/// NaNs and -0.0 to the bits in between, which are below `c` or negative as i16. So
/// one unsigned compare finds the negatives, one signed minimum clips the rest at
/// `n + c` (NaN and -0.0 stay), and subtracting `c` undoes the shift. The negatives
/// take `c`, which comes back as +0. Four instructions, one of them a compare, where
/// relu followed by the clip takes five, two of them compares.
#[inline(always)]
unsafe fn relu_n(x: __m512i, n: __m512i, inf: u16) -> __m512i {
    // SAFETY: caller guarantees AVX512F + BW.
    unsafe {
        if non_negative(n, inf) == u32::MAX {
            let c = _mm512_set1_epi16((0x7FFF - inf) as i16);
            let t = _mm512_add_epi16(x, c);
            let first_negative = _mm512_set1_epi16((0x8001 + (0x7FFF - inf)) as i16);
            let negative = _mm512_cmpge_epu16_mask(t, first_negative);
            let clipped = _mm512_mask_min_epi16(c, !negative, t, _mm512_add_epi16(n, c));
            _mm512_sub_epi16(clipped, c)
        } else {
            let r = _mm512_maskz_mov_epi16(!negative(x, inf), x);
            clip_above(r, n, inf)
        }
    }
}

/// The lanes where `x < 0`: bits in `0x8001..=0x8000 | inf` (one wrapping subtract and
/// one unsigned compare).
#[inline(always)]
unsafe fn negative(v: __m512i, inf: u16) -> __mmask32 {
    // SAFETY: caller guarantees AVX512F + BW.
    unsafe {
        let off = _mm512_sub_epi16(v, _mm512_set1_epi16(0x8001u16 as i16));
        _mm512_cmple_epu16_mask(off, _mm512_set1_epi16((inf - 1) as i16))
    }
}

/// `x > n ? n : x` per lane. When `n` is in `+0..=+inf` in every lane (relu_n's
/// splatted `n`; the test is loop-invariant), this is a signed minimum of the bits on
/// the lanes that are not positive NaNs (sign-set `x` are negative as i16, so below
/// `n`, and stay); otherwise a blend on the general [`less`].
#[inline(always)]
unsafe fn clip_above(x: __m512i, n: __m512i, inf: u16) -> __m512i {
    // SAFETY: caller guarantees AVX512F + BW.
    unsafe {
        let inf_v = _mm512_set1_epi16(inf as i16);
        let n_nonneg = _mm512_mask_cmple_epi16_mask(
            _mm512_cmpge_epi16_mask(n, _mm512_setzero_si512()),
            n,
            inf_v,
        );
        if n_nonneg == u32::MAX {
            let pos_nan = _mm512_cmpgt_epi16_mask(x, inf_v);
            _mm512_mask_min_epi16(x, !pos_nan, x, n)
        } else {
            _mm512_mask_blend_epi16(less(n, x, inf), x, n)
        }
    }
}

/// binary16 product, formed in f32 and rounded once.
#[inline(always)]
unsafe fn mul_f16(a: __m512i, b: __m512i) -> __m512i {
    // SAFETY: caller guarantees AVX512F.
    unsafe {
        let al = _mm512_cvtph_ps(_mm512_castsi512_si256(a));
        let ah = _mm512_cvtph_ps(_mm512_extracti64x4_epi64::<1>(a));
        let bl = _mm512_cvtph_ps(_mm512_castsi512_si256(b));
        let bh = _mm512_cvtph_ps(_mm512_extracti64x4_epi64::<1>(b));
        let lo = _mm512_cvtps_ph::<_MM_FROUND_TO_NEAREST_INT>(_mm512_mul_ps(al, bl));
        let hi = _mm512_cvtps_ph::<_MM_FROUND_TO_NEAREST_INT>(_mm512_mul_ps(ah, bh));
        _mm512_inserti64x4::<1>(_mm512_castsi256_si512(lo), hi)
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
unsafe fn round_bf16_product(p: __m512) -> __m512i {
    // SAFETY: caller guarantees AVX512F.
    unsafe {
        let x = _mm512_castps_si512(p);
        let lsb = _mm512_and_si512(_mm512_srli_epi32::<16>(x), _mm512_set1_epi32(1));
        let bias = _mm512_add_epi32(lsb, _mm512_set1_epi32(0x7FFF));
        _mm512_srli_epi32::<16>(_mm512_add_epi32(x, bias))
    }
}

/// bfloat16 product, formed in f32 and rounded once (integer rounding).
#[inline(always)]
unsafe fn mul_bf16(a: __m512i, b: __m512i) -> __m512i {
    // SAFETY: caller guarantees AVX512F + BW. As on AVX2: the in-lane unpack order is
    // the same for both operands and PACKUSDW (inputs in 0..=0xffff) restores it.
    unsafe {
        let z = _mm512_setzero_si512();
        let al = _mm512_castsi512_ps(_mm512_unpacklo_epi16(z, a));
        let ah = _mm512_castsi512_ps(_mm512_unpackhi_epi16(z, a));
        let bl = _mm512_castsi512_ps(_mm512_unpacklo_epi16(z, b));
        let bh = _mm512_castsi512_ps(_mm512_unpackhi_epi16(z, b));
        let lo = round_bf16_product(_mm512_mul_ps(al, bl));
        let hi = round_bf16_product(_mm512_mul_ps(ah, bh));
        _mm512_packus_epi32(lo, hi)
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
/// of [`mul_bf16`] instead. Products of bf16 values are exact in f32 unless they are
/// subnormal, so that is rare in practice.
#[inline(always)]
unsafe fn mul_bf16_ne(a: __m512i, b: __m512i) -> __m512i {
    // SAFETY: caller guarantees AVX512F + BW + DQ + BF16.
    unsafe {
        let (even, odd) = products_f32(a, b);
        const DENORMAL: i32 = 0x20;
        let subnormal =
            _mm512_fpclass_ps_mask::<DENORMAL>(even) | _mm512_fpclass_ps_mask::<DENORMAL>(odd);
        if subnormal != 0 {
            return mul_bf16(a, b);
        }
        narrow_ne(even, odd)
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

/// [`mul_bf16`] out of line, for the rare registers that need it (registers that may
/// hold a subnormal product), so the hot loop does not carry its code.
#[cold]
#[inline(never)]
#[target_feature(enable = "avx512f,avx512bw")]
unsafe fn mul_bf16_cold(a: __m512i, b: __m512i) -> __m512i {
    // SAFETY: the target features are enabled on this function.
    unsafe { mul_bf16(a, b) }
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
        if _mm512_cmplt_epu16_mask(least, bound) != 0 {
            return [
                leaky_parts_ne(x[0], a),
                leaky_parts_ne(x[1], a),
                leaky_parts_ne(x[2], a),
                leaky_parts_ne(x[3], a),
            ];
        }
        let last = _mm512_set1_epi16((Bf16::INFINITY_BITS - 1) as i16);
        [
            (_mm512_cmple_epu16_mask(off[0], last), product_ne(x[0], a)),
            (_mm512_cmple_epu16_mask(off[1], last), product_ne(x[1], a)),
            (_mm512_cmple_epu16_mask(off[2], last), product_ne(x[2], a)),
            (_mm512_cmple_epu16_mask(off[3], last), product_ne(x[3], a)),
        ]
    }
}

/// The first `n < 32` bits set.
#[inline(always)]
fn tail_mask32(n: usize) -> __mmask32 {
    ((1u64 << n) - 1) as __mmask32
}

/// leaky_relu's parts for [`F16x32`]: the negative lanes and the product.
#[inline(always)]
unsafe fn leaky_parts_f16(x: __m512i, a: __m512i) -> (__mmask32, __m512i) {
    // SAFETY: caller guarantees AVX512F + BW.
    unsafe { (negative(x, F16::INFINITY_BITS), mul_f16(a, x)) }
}

/// leaky_relu's parts for [`Bf16x32`]: the negative lanes and the product.
#[inline(always)]
unsafe fn leaky_parts_bf16(x: __m512i, a: __m512i) -> (__mmask32, __m512i) {
    // SAFETY: caller guarantees AVX512F + BW.
    unsafe { (negative(x, Bf16::INFINITY_BITS), mul_bf16(a, x)) }
}

macro_rules! half_vector {
    ($V:ident, $T:ident, $mul:ident, $leaky:ident $(, $leaky4:ident)?) => {
        // SAFETY: `$V` is a transparent 64-byte register of 32 lanes of the 2-byte `$T`.
        unsafe impl Vector for $V {
            type Elem = $T;
            type Mask = __mmask32;
            const LANES: usize = 32;

            #[inline(always)]
            unsafe fn splat(x: $T) -> Self {
                // SAFETY: caller guarantees AVX512F.
                $V(unsafe { _mm512_set1_epi16(x.0 as i16) })
            }
            #[inline(always)]
            unsafe fn zero() -> Self {
                // SAFETY: caller guarantees AVX512F; +0.0 is all-zero bits.
                $V(unsafe { _mm512_setzero_si512() })
            }
            #[inline(always)]
            unsafe fn load(p: *const $T) -> Self {
                // SAFETY: caller guarantees 32 readable elements (64 bytes) at p; no
                // alignment needed.
                $V(unsafe { _mm512_loadu_si512(p.cast()) })
            }
            #[inline(always)]
            unsafe fn store(self, p: *mut $T) {
                // SAFETY: caller guarantees 32 writable elements at p.
                unsafe { _mm512_storeu_si512(p.cast(), self.0) }
            }
            const STREAMS: bool = true;
            #[inline(always)]
            unsafe fn store_stream(self, p: *mut $T) {
                // SAFETY: the caller guarantees 32 writable elements at p, 64-byte
                // aligned (VMOVNTDQ requires it).
                unsafe { _mm512_stream_si512(p.cast(), self.0) }
            }
            #[inline(always)]
            unsafe fn stream_fence() {
                // SAFETY: SFENCE is available on every x86_64 CPU.
                unsafe { _mm_sfence() }
            }
            const MASKED_STORE: bool = true;
            #[inline(always)]
            unsafe fn store_masked(self, p: *mut $T, m: __mmask32) {
                // SAFETY: the caller guarantees 32 writable elements at p; only the
                // lanes selected by m are written (VMOVDQU16 with a k mask).
                unsafe { _mm512_mask_storeu_epi16(p.cast(), m, self.0) }
            }
            #[inline(always)]
            unsafe fn load_partial(p: *const $T, n: usize) -> Self {
                // SAFETY: only the first n < 32 lanes are enabled and accessed (masked
                // lanes never fault); the caller vouches for them. The rest read as 0.
                $V(unsafe { _mm512_maskz_loadu_epi16(tail_mask32(n), p.cast()) })
            }
            #[inline(always)]
            unsafe fn store_partial(self, p: *mut $T, n: usize) {
                // SAFETY: as in `load_partial`, for writes.
                unsafe { _mm512_mask_storeu_epi16(p.cast(), tail_mask32(n), self.0) }
            }
            #[inline(always)]
            unsafe fn lt(self, o: Self) -> __mmask32 {
                // SAFETY: caller guarantees AVX512F + BW.
                unsafe { lt_fast(self.0, o.0, $T::INFINITY_BITS) }
            }
            #[inline(always)]
            unsafe fn gt(self, o: Self) -> __mmask32 {
                // SAFETY: caller guarantees AVX512F + BW.
                unsafe { gt_fast(self.0, o.0, $T::INFINITY_BITS) }
            }
            #[inline(always)]
            unsafe fn and(a: __mmask32, b: __mmask32) -> __mmask32 {
                a & b
            }
            #[inline(always)]
            unsafe fn select(m: __mmask32, t: Self, f: Self) -> Self {
                // SAFETY: caller guarantees AVX512BW. The blend takes its second
                // vector where the mask bit is set.
                $V(unsafe { _mm512_mask_blend_epi16(m, f.0, t.0) })
            }
            #[inline(always)]
            unsafe fn mul(self, o: Self) -> Self {
                // SAFETY: forwarded from the caller (the entry point enables the ISA).
                $V(unsafe { $mul(self.0, o.0) })
            }
            #[inline(always)]
            unsafe fn keep(m: __mmask32, v: Self) -> Self {
                // SAFETY: caller guarantees AVX512BW; zero-masking writes +0 bits.
                $V(unsafe { _mm512_maskz_mov_epi16(m, v.0) })
            }
            #[inline(always)]
            unsafe fn clip_above(self, n: Self) -> Self {
                // SAFETY: caller guarantees AVX512F + BW.
                $V(unsafe { clip_above(self.0, n.0, $T::INFINITY_BITS) })
            }
            #[inline(always)]
            unsafe fn relu(self) -> Self {
                // SAFETY: caller guarantees AVX512F + BW. Keep the lanes not < 0.
                $V(unsafe { _mm512_maskz_mov_epi16(!negative(self.0, $T::INFINITY_BITS), self.0) })
            }
            #[inline(always)]
            unsafe fn relu_n(self, n: Self) -> Self {
                // SAFETY: caller guarantees AVX512F + BW.
                $V(unsafe { relu_n(self.0, n.0, $T::INFINITY_BITS) })
            }
            #[inline(always)]
            unsafe fn leaky_parts(self, a: Self) -> (__mmask32, Self) {
                // SAFETY: forwarded from the caller (the entry point enables the ISA).
                let (negative, product) = unsafe { $leaky(self.0, a.0) };
                (negative, $V(product))
            }
            $(
            #[inline(always)]
            unsafe fn leaky_parts4(x: [Self; 4], a: Self) -> [(__mmask32, Self); 4] {
                // SAFETY: forwarded from the caller (the entry point enables the ISA).
                let p = unsafe { $leaky4([x[0].0, x[1].0, x[2].0, x[3].0], a.0) };
                [
                    (p[0].0, $V(p[0].1)),
                    (p[1].0, $V(p[1].1)),
                    (p[2].0, $V(p[2].1)),
                    (p[3].0, $V(p[3].1)),
                ]
            }
            )?
            #[inline(always)]
            unsafe fn in_open(self, n: Self) -> __mmask32 {
                // SAFETY: caller guarantees AVX512F + BW.
                unsafe { in_open(self.0, n.0, $T::INFINITY_BITS) }
            }
        }
    };
}

half_vector!(F16x32, F16, mul_f16, leaky_parts_f16);
half_vector!(Bf16x32, Bf16, mul_bf16, leaky_parts_bf16);
half_vector!(
    Bf16x32Ne,
    Bf16,
    mul_bf16_ne,
    leaky_parts_ne,
    leaky_parts4_ne
);

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
/// `VCVTNE2PS2BF16`; the selects are the same code as [`bf16`]'s).
pub mod bf16_ne {
    use super::Bf16x32Ne;
    use crate::half::Bf16;
    crate::kernel_entry_points!(
        [target_feature(
            enable = "avx512f,avx512bw,avx512dq,avx512bf16"
        )],
        Bf16x32Ne,
        Bf16
    );
}
