//! AVX2 kernels: `__m256` (8 x f32) and `__m256d` (4 x f64).
//!
//! relu is `max(0, x)` with the zero as the *first* operand: VMAXPS returns its second
//! operand when either is NaN or both are zero, so NaN payloads and -0.0 pass through
//! exactly as in the oracle. The relu_n clip is `min(n, t)` for the same reason.
//! A call shorter than one register uses VMASKMOVPS/VMASKMOVPD, which do not access
//! masked-off lanes.

use core::arch::x86_64::*;

use crate::arch::{IsaDef, no_tuning, x86_has};
use crate::vector::{LeakyShape, Vector};

pub mod half;
pub mod u8;

/// The oracle's loops as the compiler vectorises them with this ISA's features.
pub mod autovec {
    crate::oracle_loops!([target_feature(enable = "avx,avx2,fma")]);
}

/// The registry entry: AVX2 with F16C (the f16 kernels' conversions; every AVX2 CPU
/// has it).
pub const ISA: IsaDef = IsaDef {
    name: "avx2",
    detect: || x86_has!("avx2", "f16c"),
    tunable: no_tuning,
    tables: |_| &TABLES,
    autovec: &autovec::TABLES,
};

/// Every element type's kernels on AVX2.
pub static TABLES: crate::Tables =
    crate::tables!(self::f32, self::f64, half::f16, half::bf16, self::u8);

// SAFETY: `__m256` is a plain 32-byte register of 8 f32 lanes.
unsafe impl Vector for __m256 {
    type Elem = f32;
    type Mask = __m256;
    const LANES: usize = 8;

    #[inline(always)]
    unsafe fn splat(x: f32) -> Self {
        // SAFETY: caller guarantees AVX2 (implies AVX).
        unsafe { _mm256_set1_ps(x) }
    }
    #[inline(always)]
    unsafe fn zero() -> Self {
        // SAFETY: caller guarantees AVX2.
        unsafe { _mm256_setzero_ps() }
    }
    #[inline(always)]
    unsafe fn load(p: *const f32) -> Self {
        // SAFETY: caller guarantees 8 readable f32 at p; loadu needs no alignment.
        unsafe { _mm256_loadu_ps(p) }
    }
    #[inline(always)]
    unsafe fn store(self, p: *mut f32) {
        // SAFETY: caller guarantees 8 writable f32 at p; storeu needs no alignment.
        unsafe { _mm256_storeu_ps(p, self) }
    }
    const STREAMS: bool = true;
    #[inline(always)]
    unsafe fn store_stream(self, p: *mut f32) {
        // SAFETY: the caller guarantees LANES writable elements at p, 32-byte aligned
        // (VMOVNTPS requires it).
        unsafe { _mm256_stream_ps(p, self) }
    }
    #[inline(always)]
    unsafe fn stream_fence() {
        // SAFETY: SFENCE is available on every x86_64 CPU.
        unsafe { _mm_sfence() }
    }
    #[inline(always)]
    unsafe fn load_partial(p: *const f32, n: usize) -> Self {
        // SAFETY: VMASKMOVPS does not access lanes whose mask bit is clear; the mask
        // enables exactly the first n < 8 lanes, which the caller vouches for.
        unsafe { _mm256_maskload_ps(p, lane_mask32(n)) }
    }
    #[inline(always)]
    unsafe fn store_partial(self, p: *mut f32, n: usize) {
        // SAFETY: as in `load_partial`, for writes.
        unsafe { _mm256_maskstore_ps(p, lane_mask32(n), self) }
    }
    #[inline(always)]
    unsafe fn lt(self, o: Self) -> __m256 {
        // SAFETY: caller guarantees AVX2.
        unsafe { _mm256_cmp_ps::<_CMP_LT_OQ>(self, o) }
    }
    #[inline(always)]
    unsafe fn gt(self, o: Self) -> __m256 {
        // SAFETY: caller guarantees AVX2.
        unsafe { _mm256_cmp_ps::<_CMP_GT_OQ>(self, o) }
    }
    #[inline(always)]
    unsafe fn and(a: __m256, b: __m256) -> __m256 {
        // SAFETY: caller guarantees AVX2.
        unsafe { _mm256_and_ps(a, b) }
    }
    #[inline(always)]
    unsafe fn select(m: __m256, t: Self, f: Self) -> Self {
        // SAFETY: caller guarantees AVX2. blendv picks its second source where the
        // mask's sign bit is set; compare masks are all-ones or all-zeros.
        unsafe { _mm256_blendv_ps(f, t, m) }
    }
    #[inline(always)]
    unsafe fn mul(self, o: Self) -> Self {
        // SAFETY: caller guarantees AVX2.
        unsafe { _mm256_mul_ps(self, o) }
    }
    #[inline(always)]
    unsafe fn keep(m: __m256, v: Self) -> Self {
        // SAFETY: caller guarantees AVX2; +0.0 is all-zero bits.
        unsafe { _mm256_and_ps(m, v) }
    }
    #[inline(always)]
    unsafe fn relu(self) -> Self {
        // SAFETY: caller guarantees AVX2. Operand order matters (module docs).
        unsafe { _mm256_max_ps(_mm256_setzero_ps(), self) }
    }
    #[inline(always)]
    unsafe fn clip_above(self, n: Self) -> Self {
        // SAFETY: caller guarantees AVX2. `min(n, x)` returns x when x is NaN.
        unsafe { _mm256_min_ps(n, self) }
    }
    #[inline(always)]
    unsafe fn clip_below(self, n: Self) -> Self {
        // SAFETY: caller guarantees the ISA. `max(n, x)` returns its second operand,
        // x, when x is NaN or equal to n (zeros of either sign included), so it is
        // `x < n ? n : x`.
        unsafe { _mm256_max_ps(n, self) }
    }
    minmax_leaky!(f32, _mm256_mul_ps, _mm256_max_ps, _mm256_min_ps);
}

// SAFETY: `__m256d` is a plain 32-byte register of 4 f64 lanes.
unsafe impl Vector for __m256d {
    type Elem = f64;
    type Mask = __m256d;
    const LANES: usize = 4;

    #[inline(always)]
    unsafe fn splat(x: f64) -> Self {
        // SAFETY: caller guarantees AVX2.
        unsafe { _mm256_set1_pd(x) }
    }
    #[inline(always)]
    unsafe fn zero() -> Self {
        // SAFETY: caller guarantees AVX2.
        unsafe { _mm256_setzero_pd() }
    }
    #[inline(always)]
    unsafe fn load(p: *const f64) -> Self {
        // SAFETY: caller guarantees 4 readable f64 at p.
        unsafe { _mm256_loadu_pd(p) }
    }
    #[inline(always)]
    unsafe fn store(self, p: *mut f64) {
        // SAFETY: caller guarantees 4 writable f64 at p.
        unsafe { _mm256_storeu_pd(p, self) }
    }
    const STREAMS: bool = true;
    #[inline(always)]
    unsafe fn store_stream(self, p: *mut f64) {
        // SAFETY: the caller guarantees LANES writable elements at p, 32-byte aligned
        // (VMOVNTPD requires it).
        unsafe { _mm256_stream_pd(p, self) }
    }
    #[inline(always)]
    unsafe fn stream_fence() {
        // SAFETY: SFENCE is available on every x86_64 CPU.
        unsafe { _mm_sfence() }
    }
    #[inline(always)]
    unsafe fn load_partial(p: *const f64, n: usize) -> Self {
        // SAFETY: VMASKMOVPD touches only the first n < 4 lanes (mask), which the
        // caller vouches for.
        unsafe { _mm256_maskload_pd(p, lane_mask64(n)) }
    }
    #[inline(always)]
    unsafe fn store_partial(self, p: *mut f64, n: usize) {
        // SAFETY: as in `load_partial`, for writes.
        unsafe { _mm256_maskstore_pd(p, lane_mask64(n), self) }
    }
    #[inline(always)]
    unsafe fn lt(self, o: Self) -> __m256d {
        // SAFETY: caller guarantees AVX2.
        unsafe { _mm256_cmp_pd::<_CMP_LT_OQ>(self, o) }
    }
    #[inline(always)]
    unsafe fn gt(self, o: Self) -> __m256d {
        // SAFETY: caller guarantees AVX2.
        unsafe { _mm256_cmp_pd::<_CMP_GT_OQ>(self, o) }
    }
    #[inline(always)]
    unsafe fn and(a: __m256d, b: __m256d) -> __m256d {
        // SAFETY: caller guarantees AVX2.
        unsafe { _mm256_and_pd(a, b) }
    }
    #[inline(always)]
    unsafe fn select(m: __m256d, t: Self, f: Self) -> Self {
        // SAFETY: caller guarantees AVX2.
        unsafe { _mm256_blendv_pd(f, t, m) }
    }
    #[inline(always)]
    unsafe fn mul(self, o: Self) -> Self {
        // SAFETY: caller guarantees AVX2.
        unsafe { _mm256_mul_pd(self, o) }
    }
    #[inline(always)]
    unsafe fn keep(m: __m256d, v: Self) -> Self {
        // SAFETY: caller guarantees AVX2.
        unsafe { _mm256_and_pd(m, v) }
    }
    #[inline(always)]
    unsafe fn relu(self) -> Self {
        // SAFETY: caller guarantees AVX2. Operand order matters (module docs).
        unsafe { _mm256_max_pd(_mm256_setzero_pd(), self) }
    }
    #[inline(always)]
    unsafe fn clip_above(self, n: Self) -> Self {
        // SAFETY: caller guarantees AVX2.
        unsafe { _mm256_min_pd(n, self) }
    }
    #[inline(always)]
    unsafe fn clip_below(self, n: Self) -> Self {
        // SAFETY: caller guarantees the ISA. `max(n, x)` returns its second operand,
        // x, when x is NaN or equal to n (zeros of either sign included), so it is
        // `x < n ? n : x`.
        unsafe { _mm256_max_pd(n, self) }
    }
    minmax_leaky!(f64, _mm256_mul_pd, _mm256_max_pd, _mm256_min_pd);
}

/// Lanes `0..n` of eight 32-bit lanes set to all-ones.
#[inline(always)]
unsafe fn lane_mask32(n: usize) -> __m256i {
    // SAFETY: caller guarantees AVX2. n < 8 fits in i32.
    unsafe {
        let idx = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
        _mm256_cmpgt_epi32(_mm256_set1_epi32(n as i32), idx)
    }
}

/// Lanes `0..n` of four 64-bit lanes set to all-ones.
#[inline(always)]
unsafe fn lane_mask64(n: usize) -> __m256i {
    // SAFETY: caller guarantees AVX2. n < 4 fits in i64.
    unsafe {
        let idx = _mm256_setr_epi64x(0, 1, 2, 3);
        _mm256_cmpgt_epi64(_mm256_set1_epi64x(n as i64), idx)
    }
}

/// f32 kernels on AVX2.
pub mod f32 {
    use core::arch::x86_64::__m256;
    crate::kernel_entry_points!([target_feature(enable = "avx2")], __m256, f32);
}

/// f64 kernels on AVX2.
pub mod f64 {
    use core::arch::x86_64::__m256d;
    crate::kernel_entry_points!([target_feature(enable = "avx2")], __m256d, f64);
}
