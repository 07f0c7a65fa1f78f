//! AVX-512 kernels: `__m512` (16 x f32) and `__m512d` (8 x f64).
//!
//! Comparisons produce `k` mask registers; a call shorter than one register uses masked
//! loads and stores (lanes whose mask bit is clear are never accessed, and never
//! fault). relu is `max(0, x)` with zero first, as on AVX2: NaN and -0.0 pass through.
//! relu_n's gradient tests `0 < y < n` as one range of the bits (positive floats order
//! as their bits).
//!
//! `Isa::Avx512` means AVX512F + AVX512BW (the 16-bit and 8-bit element types need BW).
//!
//! # 256-bit main loops (`f32::ymm`, `f64::ymm`)
//!
//! Cores that execute each 512-bit load and store as two 256-bit halves (AMD Zen 4)
//! gain nothing from `zmm` registers in a loop bound by memory, and lose where the
//! input and the output sit at different offsets within a cache line: every `zmm`
//! load then straddles two lines. On the Zen 4 machine of `docs/PERFORMANCE.md`,
//! f32 relu at 4-16 KiB ran 5-12% slower on `zmm` than the same loop on `ymm` with
//! such offsets, and the gradients ran up to 15% slower at 1-64 MiB whatever the
//! offsets (the report's width sweep).
//! The `ymm` tables run the forward ops and the relu and relu_n gradients on the
//! AVX2 vectors (compiled in these AVX-512 functions) when a call is at least
//! [`NARROW_MIN_REGISTERS`](crate::generic::NARROW_MIN_REGISTERS) registers long,
//! and keep `zmm` where it pays: shorter calls (one masked register, where AVX2's
//! `VMASKMOV` is slow on AMD), forward calls in place above
//! [`NARROW_IN_PLACE_MAX_BYTES`](crate::generic::NARROW_IN_PLACE_MAX_BYTES)
//! (masked stores that leave unchanged lanes unwritten led by up to 5% in L2 and
//! L3, and trailed by up to 18% in L1) and leaky_relu's gradient below
//! [`LEAKY_GRAD_NARROW_MIN_BYTES`](crate::generic::LEAKY_GRAD_NARROW_MIN_BYTES)
//! per buffer (a compare, a product and a blend per register: the halved
//! instruction count wins in L1; bound by memory, `ymm` leads in place by 5-28%).
//! These tables also enable AVX512VL, so that the compiler keeps 256-bit compares
//! and blends on `ymm` with mask registers (without it, it widened a blend to
//! `zmm`, which ran 25% slower). Both tables give the oracle's bits; the safe crate
//! picks one per CPU ([`crate::arch::x86_64::amd_family_19h`]).

use core::arch::x86_64::*;

use crate::Tables;
use crate::arch::{IsaDef, Tuning, x86_has};
use crate::vector::{LeakyShape, Vector};

pub mod half;
pub mod u8;

/// The oracle's loops as the compiler vectorises them with this ISA's features.
pub mod autovec {
    crate::oracle_loops!([target_feature(
        enable = "avx,avx2,fma,avx512f,avx512bw,avx512vl"
    )]);
}

/// The registry entry: AVX512F + AVX512BW (the 16-bit and 8-bit element types need
/// BW), with three tuning choices ([`Tuning`]).
pub const ISA: IsaDef = IsaDef {
    name: "avx512",
    detect: || x86_has!("avx512f", "avx512bw"),
    tunable: || Tuning {
        avx512_ymm_loops: x86_has!("avx512f", "avx512bw", "avx512vl"),
        avx512_bf16_narrowing: x86_has!("avx512f", "avx512bw", "avx512dq", "avx512bf16"),
        avx512_fp16: x86_has!("avx512f", "avx512bw", "avx512fp16"),
    },
    tables: |t| match (t.avx512_ymm_loops, t.avx512_bf16_narrowing, t.avx512_fp16) {
        (false, false, false) => &TABLES,
        (false, true, false) => &TABLES_BF16_NE,
        (true, false, false) => &TABLES_YMM,
        (true, true, false) => &TABLES_YMM_BF16_NE,
        (false, false, true) => &TABLES_FP16,
        (false, true, true) => &TABLES_BF16_NE_FP16,
        (true, false, true) => &TABLES_YMM_FP16,
        (true, true, true) => &TABLES_YMM_BF16_NE_FP16,
    },
    autovec: &autovec::TABLES,
};

/// Every element type on AVX-512, 512-bit main loops.
pub static TABLES: Tables = crate::tables!(self::f32, self::f64, half::f16, half::bf16, self::u8);
/// [`TABLES`] with bf16 products narrowed by AVX512-BF16.
pub static TABLES_BF16_NE: Tables =
    crate::tables!(self::f32, self::f64, half::f16, half::bf16_ne, self::u8);
/// 256-bit main loops for f32, f64 and u8 (module docs).
pub static TABLES_YMM: Tables = crate::tables!(f32::ymm, f64::ymm, half::f16, half::bf16, u8::ymm);
/// [`TABLES_YMM`] with bf16 products narrowed by AVX512-BF16.
pub static TABLES_YMM_BF16_NE: Tables =
    crate::tables!(f32::ymm, f64::ymm, half::f16, half::bf16_ne, u8::ymm);
/// [`TABLES`] with f16 computed by AVX512-FP16.
pub static TABLES_FP16: Tables =
    crate::tables!(self::f32, self::f64, half::f16_ph, half::bf16, self::u8);
/// [`TABLES_BF16_NE`] with f16 computed by AVX512-FP16.
pub static TABLES_BF16_NE_FP16: Tables =
    crate::tables!(self::f32, self::f64, half::f16_ph, half::bf16_ne, self::u8);
/// [`TABLES_YMM`] with f16 computed by AVX512-FP16.
pub static TABLES_YMM_FP16: Tables =
    crate::tables!(f32::ymm, f64::ymm, half::f16_ph, half::bf16, u8::ymm);
/// [`TABLES_YMM_BF16_NE`] with f16 computed by AVX512-FP16.
pub static TABLES_YMM_BF16_NE_FP16: Tables =
    crate::tables!(f32::ymm, f64::ymm, half::f16_ph, half::bf16_ne, u8::ymm);

// SAFETY: `__m512` is a plain 64-byte register of 16 f32 lanes.
unsafe impl Vector for __m512 {
    type Elem = f32;
    type Mask = __mmask16;
    const LANES: usize = 16;

    #[inline(always)]
    unsafe fn splat(x: f32) -> Self {
        // SAFETY: caller guarantees AVX512F.
        unsafe { _mm512_set1_ps(x) }
    }
    #[inline(always)]
    unsafe fn zero() -> Self {
        // SAFETY: caller guarantees AVX512F.
        unsafe { _mm512_setzero_ps() }
    }
    #[inline(always)]
    unsafe fn load(p: *const f32) -> Self {
        // SAFETY: caller guarantees 16 readable f32 at p; no alignment needed.
        unsafe { _mm512_loadu_ps(p) }
    }
    #[inline(always)]
    unsafe fn store(self, p: *mut f32) {
        // SAFETY: caller guarantees 16 writable f32 at p; no alignment needed.
        unsafe { _mm512_storeu_ps(p, self) }
    }
    const STREAMS: bool = true;
    #[inline(always)]
    unsafe fn store_stream(self, p: *mut f32) {
        // SAFETY: the caller guarantees LANES writable elements at p, 64-byte aligned
        // (VMOVNTPS requires it).
        unsafe { _mm512_stream_ps(p, self) }
    }
    #[inline(always)]
    unsafe fn stream_fence() {
        // SAFETY: SFENCE is available on every x86_64 CPU.
        unsafe { _mm_sfence() }
    }
    const MASKED_STORE: bool = true;
    #[inline(always)]
    unsafe fn store_masked(self, p: *mut f32, m: __mmask16) {
        // SAFETY: the caller guarantees LANES writable elements at p; lanes whose
        // mask bit is clear are not accessed.
        unsafe { _mm512_mask_storeu_ps(p, m, self) }
    }
    #[inline(always)]
    unsafe fn load_partial(p: *const f32, n: usize) -> Self {
        // SAFETY: only the first n < 16 lanes are enabled and accessed; the caller
        // vouches for them. Disabled lanes read as +0.
        unsafe { _mm512_maskz_loadu_ps(tail_mask16(n), p) }
    }
    #[inline(always)]
    unsafe fn store_partial(self, p: *mut f32, n: usize) {
        // SAFETY: as in `load_partial`, for writes.
        unsafe { _mm512_mask_storeu_ps(p, tail_mask16(n), self) }
    }
    #[inline(always)]
    unsafe fn lt(self, o: Self) -> __mmask16 {
        // SAFETY: caller guarantees AVX512F.
        unsafe { _mm512_cmp_ps_mask::<_CMP_LT_OQ>(self, o) }
    }
    #[inline(always)]
    unsafe fn gt(self, o: Self) -> __mmask16 {
        // SAFETY: caller guarantees AVX512F.
        unsafe { _mm512_cmp_ps_mask::<_CMP_GT_OQ>(self, o) }
    }
    #[inline(always)]
    unsafe fn and(a: __mmask16, b: __mmask16) -> __mmask16 {
        a & b
    }
    #[inline(always)]
    unsafe fn select(m: __mmask16, t: Self, f: Self) -> Self {
        // SAFETY: caller guarantees AVX512F. mask_blend takes its second vector
        // where the mask bit is set.
        unsafe { _mm512_mask_blend_ps(m, f, t) }
    }
    #[inline(always)]
    unsafe fn mul(self, o: Self) -> Self {
        // SAFETY: caller guarantees AVX512F.
        unsafe { _mm512_mul_ps(self, o) }
    }
    #[inline(always)]
    unsafe fn keep(m: __mmask16, v: Self) -> Self {
        // SAFETY: caller guarantees AVX512F; zero-masking writes +0 bits.
        unsafe { _mm512_maskz_mov_ps(m, v) }
    }
    #[inline(always)]
    unsafe fn relu(self) -> Self {
        // SAFETY: caller guarantees AVX512F. Zero first (module docs).
        unsafe { _mm512_max_ps(_mm512_setzero_ps(), self) }
    }
    #[inline(always)]
    unsafe fn clip_above(self, n: Self) -> Self {
        // SAFETY: caller guarantees AVX512F. `min(n, x)` returns x when x is NaN.
        unsafe { _mm512_min_ps(n, self) }
    }
    #[inline(always)]
    unsafe fn clip_below(self, n: Self) -> Self {
        // SAFETY: caller guarantees the ISA. `max(n, x)` returns its second operand,
        // x, when x is NaN or equal to n (zeros of either sign included), so it is
        // `x < n ? n : x`.
        unsafe { _mm512_max_ps(n, self) }
    }
    #[inline(always)]
    unsafe fn in_open(self, n: Self) -> __mmask16 {
        // SAFETY: caller guarantees AVX512F. When n is in (0, +inf] in every lane
        // (relu_n's splat; the test is loop-invariant), 0 < y < n is the bits of y in
        // 1..bits(n): positive floats order as their bits, and every sign-set or NaN
        // pattern lies above bits(n). One subtract and one unsigned compare, where two
        // float compares cost twice as much here.
        unsafe {
            let z = _mm512_setzero_ps();
            if _mm512_cmp_ps_mask::<_CMP_GT_OQ>(n, z) == u16::MAX {
                let one = _mm512_set1_epi32(1);
                let below = _mm512_sub_epi32(_mm512_castps_si512(self), one);
                _mm512_cmplt_epu32_mask(below, _mm512_sub_epi32(_mm512_castps_si512(n), one))
            } else {
                self.gt(z) & self.lt(n)
            }
        }
    }
    minmax_leaky!(f32, _mm512_mul_ps, _mm512_max_ps, _mm512_min_ps);
}

// SAFETY: `__m512d` is a plain 64-byte register of 8 f64 lanes.
unsafe impl Vector for __m512d {
    type Elem = f64;
    type Mask = __mmask8;
    const LANES: usize = 8;

    #[inline(always)]
    unsafe fn splat(x: f64) -> Self {
        // SAFETY: caller guarantees AVX512F.
        unsafe { _mm512_set1_pd(x) }
    }
    #[inline(always)]
    unsafe fn zero() -> Self {
        // SAFETY: caller guarantees AVX512F.
        unsafe { _mm512_setzero_pd() }
    }
    #[inline(always)]
    unsafe fn load(p: *const f64) -> Self {
        // SAFETY: caller guarantees 8 readable f64 at p.
        unsafe { _mm512_loadu_pd(p) }
    }
    #[inline(always)]
    unsafe fn store(self, p: *mut f64) {
        // SAFETY: caller guarantees 8 writable f64 at p.
        unsafe { _mm512_storeu_pd(p, self) }
    }
    const STREAMS: bool = true;
    #[inline(always)]
    unsafe fn store_stream(self, p: *mut f64) {
        // SAFETY: the caller guarantees LANES writable elements at p, 64-byte aligned
        // (VMOVNTPD requires it).
        unsafe { _mm512_stream_pd(p, self) }
    }
    #[inline(always)]
    unsafe fn stream_fence() {
        // SAFETY: SFENCE is available on every x86_64 CPU.
        unsafe { _mm_sfence() }
    }
    const MASKED_STORE: bool = true;
    #[inline(always)]
    unsafe fn store_masked(self, p: *mut f64, m: __mmask8) {
        // SAFETY: the caller guarantees LANES writable elements at p; lanes whose
        // mask bit is clear are not accessed.
        unsafe { _mm512_mask_storeu_pd(p, m, self) }
    }
    #[inline(always)]
    unsafe fn load_partial(p: *const f64, n: usize) -> Self {
        // SAFETY: only the first n < 8 lanes are enabled and accessed.
        unsafe { _mm512_maskz_loadu_pd(tail_mask8(n), p) }
    }
    #[inline(always)]
    unsafe fn store_partial(self, p: *mut f64, n: usize) {
        // SAFETY: as in `load_partial`, for writes.
        unsafe { _mm512_mask_storeu_pd(p, tail_mask8(n), self) }
    }
    #[inline(always)]
    unsafe fn lt(self, o: Self) -> __mmask8 {
        // SAFETY: caller guarantees AVX512F.
        unsafe { _mm512_cmp_pd_mask::<_CMP_LT_OQ>(self, o) }
    }
    #[inline(always)]
    unsafe fn gt(self, o: Self) -> __mmask8 {
        // SAFETY: caller guarantees AVX512F.
        unsafe { _mm512_cmp_pd_mask::<_CMP_GT_OQ>(self, o) }
    }
    #[inline(always)]
    unsafe fn and(a: __mmask8, b: __mmask8) -> __mmask8 {
        a & b
    }
    #[inline(always)]
    unsafe fn select(m: __mmask8, t: Self, f: Self) -> Self {
        // SAFETY: caller guarantees AVX512F.
        unsafe { _mm512_mask_blend_pd(m, f, t) }
    }
    #[inline(always)]
    unsafe fn mul(self, o: Self) -> Self {
        // SAFETY: caller guarantees AVX512F.
        unsafe { _mm512_mul_pd(self, o) }
    }
    #[inline(always)]
    unsafe fn keep(m: __mmask8, v: Self) -> Self {
        // SAFETY: caller guarantees AVX512F.
        unsafe { _mm512_maskz_mov_pd(m, v) }
    }
    #[inline(always)]
    unsafe fn relu(self) -> Self {
        // SAFETY: caller guarantees AVX512F. Zero first (module docs).
        unsafe { _mm512_max_pd(_mm512_setzero_pd(), self) }
    }
    #[inline(always)]
    unsafe fn clip_above(self, n: Self) -> Self {
        // SAFETY: caller guarantees AVX512F.
        unsafe { _mm512_min_pd(n, self) }
    }
    #[inline(always)]
    unsafe fn clip_below(self, n: Self) -> Self {
        // SAFETY: caller guarantees the ISA. `max(n, x)` returns its second operand,
        // x, when x is NaN or equal to n (zeros of either sign included), so it is
        // `x < n ? n : x`.
        unsafe { _mm512_max_pd(n, self) }
    }
    #[inline(always)]
    unsafe fn in_open(self, n: Self) -> __mmask8 {
        // SAFETY: caller guarantees AVX512F. When n is in (0, +inf] in every lane
        // (relu_n's splat; the test is loop-invariant), 0 < y < n is the bits of y in
        // 1..bits(n): positive floats order as their bits, and every sign-set or NaN
        // pattern lies above bits(n). One subtract and one unsigned compare, where two
        // float compares cost twice as much here.
        unsafe {
            let z = _mm512_setzero_pd();
            if _mm512_cmp_pd_mask::<_CMP_GT_OQ>(n, z) == u8::MAX {
                let one = _mm512_set1_epi64(1);
                let below = _mm512_sub_epi64(_mm512_castpd_si512(self), one);
                _mm512_cmplt_epu64_mask(below, _mm512_sub_epi64(_mm512_castpd_si512(n), one))
            } else {
                self.gt(z) & self.lt(n)
            }
        }
    }
    minmax_leaky!(f64, _mm512_mul_pd, _mm512_max_pd, _mm512_min_pd);
}

/// The first `n < 16` bits set.
#[inline(always)]
fn tail_mask16(n: usize) -> __mmask16 {
    ((1u32 << n) - 1) as __mmask16
}

/// The first `n < 8` bits set.
#[inline(always)]
fn tail_mask8(n: usize) -> __mmask8 {
    ((1u32 << n) - 1) as __mmask8
}

/// f32 kernels on AVX-512.
pub mod f32 {
    use core::arch::x86_64::__m512;
    crate::kernel_entry_points!([target_feature(enable = "avx512f,avx512bw")], __m512, f32);

    /// The same kernels with 256-bit main loops out of place (module docs); PRelu's
    /// are the 512-bit ones.
    pub mod ymm {
        use super::{prelu_backward, prelu_dw, prelu_forward};
        use core::arch::x86_64::{__m256, __m512};
        crate::kernel_entry_points!(
            @fns
            [target_feature(enable = "avx512f,avx512bw,avx512vl")],
            __m512,
            f32,
            __m256
        );

        /// Every op of this module.
        pub const KERNELS: crate::Kernels<f32> = crate::kernels_table!(forward, backward);
    }
}

/// f64 kernels on AVX-512.
pub mod f64 {
    use core::arch::x86_64::__m512d;
    crate::kernel_entry_points!([target_feature(enable = "avx512f,avx512bw")], __m512d, f64);

    /// The same kernels with 256-bit main loops out of place (module docs); PRelu's
    /// are the 512-bit ones.
    pub mod ymm {
        use super::{prelu_backward, prelu_dw, prelu_forward};
        use core::arch::x86_64::{__m256d, __m512d};
        crate::kernel_entry_points!(
            @fns
            [target_feature(enable = "avx512f,avx512bw,avx512vl")],
            __m512d,
            f64,
            __m256d
        );

        /// Every op of this module.
        pub const KERNELS: crate::Kernels<f64> = crate::kernels_table!(forward, backward);
    }
}
