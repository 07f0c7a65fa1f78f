//! AVX-512 (BW) u8 kernels: Int8Relu by `VPMAXUB` on 64 bytes (`__m512i`), table
//! lookups by `VPERMI2B` where the CPU has AVX512VBMI ([`int8_lut`]); the tail is a
//! byte-masked load and store (`VMOVDQU8` with a `k` mask), so bytes outside the slice
//! are never accessed.

use core::arch::x86_64::*;

use crate::arch::x86_64::avx2::u8 as avx2_u8;
use crate::int8::{ByteTable, ByteVector};

/// The first `n < 64` bits set.
#[inline(always)]
fn tail_mask64(n: usize) -> __mmask64 {
    (1u64 << n) - 1
}

// SAFETY: `__m512i` is a plain 64-byte register.
unsafe impl ByteVector for __m512i {
    const LANES: usize = 64;

    #[inline(always)]
    unsafe fn splat(x: u8) -> Self {
        // SAFETY: caller guarantees AVX512F.
        unsafe { _mm512_set1_epi8(x as i8) }
    }
    #[inline(always)]
    unsafe fn load(p: *const u8) -> Self {
        // SAFETY: caller guarantees 64 readable bytes at p; no alignment needed.
        unsafe { _mm512_loadu_si512(p.cast()) }
    }
    #[inline(always)]
    unsafe fn store(self, p: *mut u8) {
        // SAFETY: caller guarantees 64 writable bytes at p.
        unsafe { _mm512_storeu_si512(p.cast(), self) }
    }
    const STREAMS: bool = true;
    #[inline(always)]
    unsafe fn store_stream(self, p: *mut u8) {
        // SAFETY: the caller guarantees 64 writable bytes at p, 64-byte aligned
        // (VMOVNTDQ requires it).
        unsafe { _mm512_stream_si512(p.cast(), self) }
    }
    #[inline(always)]
    unsafe fn stream_fence() {
        // SAFETY: SFENCE is available on every x86_64 CPU.
        unsafe { _mm_sfence() }
    }
    #[inline(always)]
    unsafe fn put_in_place(x: Self, z: Self, p: *mut u8) {
        // SAFETY: the caller guarantees 64 writable bytes at p and AVX512BW; only
        // the bytes with x < z are written (VMOVDQU8 with a k mask).
        unsafe { _mm512_mask_storeu_epi8(p.cast(), _mm512_cmplt_epu8_mask(x, z), z) }
    }
    #[inline(always)]
    unsafe fn max(self, o: Self) -> Self {
        // SAFETY: caller guarantees AVX512BW.
        unsafe { _mm512_max_epu8(self, o) }
    }
    /// The table as four 64-byte registers.
    type Table = [__m512i; 4];
    #[inline(always)]
    unsafe fn table(t: &ByteTable) -> Self::Table {
        // SAFETY: each register reads 64 of the table's 256 bytes; the caller
        // guarantees AVX512F.
        core::array::from_fn(|q| unsafe { _mm512_loadu_si512(t.as_ptr().add(64 * q).cast()) })
    }
    /// Needs AVX512VBMI besides (`VPERMI2B`): only `int8_lut_vbmi` calls it.
    #[inline(always)]
    unsafe fn lookup(self, t: &Self::Table) -> Self {
        // SAFETY: the caller guarantees AVX512BW and AVX512VBMI. `VPERMI2B` looks up
        // the low seven bits of each byte in a 128-byte pair of registers; bit 7
        // picks the pair.
        unsafe {
            let lo = _mm512_permutex2var_epi8(t[0], self, t[1]);
            let hi = _mm512_permutex2var_epi8(t[2], self, t[3]);
            _mm512_mask_blend_epi8(_mm512_movepi8_mask(self), lo, hi)
        }
    }
    #[inline(always)]
    unsafe fn load_partial(p: *const u8, n: usize) -> Self {
        // SAFETY: only the first n < 64 bytes are enabled and accessed; the caller
        // vouches for them. The others read as 0.
        unsafe { _mm512_maskz_loadu_epi8(tail_mask64(n), p.cast()) }
    }
    #[inline(always)]
    unsafe fn store_partial(self, p: *mut u8, n: usize) {
        // SAFETY: as in `load_partial`, for writes.
        unsafe { _mm512_mask_storeu_epi8(p.cast(), tail_mask64(n), self) }
    }
}

crate::int8_entry_points!(
    [target_feature(enable = "avx512f,avx512bw")],
    __m512i,
    lut = int8_lut
);

/// The AVX-512 table lookup: `VPERMI2B` on 64 bytes where the CPU has AVX512VBMI
/// (Intel from Ice Lake, AMD from Zen 4), else AVX2's sixteen `VPSHUFB`s (AVX-512
/// CPUs without VBMI, Skylake-SP to Cascade Lake: `VPSHUFB` on `zmm` would take as
/// many shuffles per byte).
///
/// # Safety
/// The contract of [`crate::UnaryFn`] and of
/// [`Int8Kernels::int8_lut`](crate::int8::Int8Kernels::int8_lut), AVX512F + AVX512BW
/// available.
pub unsafe fn int8_lut(
    src: *const u8,
    dst: *mut u8,
    len: usize,
    p: &crate::ops::Params<u8>,
    stream: bool,
) {
    // SAFETY: forwarded from the caller; VBMI is asked of the CPU first, and AVX2
    // comes with AVX512F.
    unsafe {
        if crate::arch::x86_has!("avx512vbmi") {
            int8_lut_vbmi(src, dst, len, p, stream)
        } else {
            crate::arch::x86_64::avx2::u8::int8_lut(src, dst, len, p, stream)
        }
    }
}

/// [`int8_lut`] with AVX512VBMI.
///
/// # Safety
/// As [`int8_lut`], and AVX512VBMI available.
#[target_feature(enable = "avx512f,avx512bw,avx512vbmi")]
unsafe fn int8_lut_vbmi(
    src: *const u8,
    dst: *mut u8,
    len: usize,
    p: &crate::ops::Params<u8>,
    stream: bool,
) {
    // SAFETY: forwarded from the caller.
    unsafe { crate::int8::int8_lut::<__m512i>(src, dst, len, crate::int8::table_of(p), stream) }
}

/// 32 bytes in a `__m256i`, with AVX512VL + BW's byte-masked moves for the tail and
/// in place: the 256-bit form of this module's kernel (see [`ymm`]).
#[derive(Clone, Copy)]
#[repr(transparent)]
pub struct U8x32(__m256i);

// SAFETY: `U8x32` is a transparent plain 32-byte register.
unsafe impl ByteVector for U8x32 {
    const LANES: usize = 32;

    #[inline(always)]
    unsafe fn splat(x: u8) -> Self {
        // SAFETY: caller guarantees AVX (implied by AVX512F).
        U8x32(unsafe { _mm256_set1_epi8(x as i8) })
    }
    #[inline(always)]
    unsafe fn load(p: *const u8) -> Self {
        // SAFETY: caller guarantees 32 readable bytes at p; no alignment needed.
        U8x32(unsafe { _mm256_loadu_si256(p.cast()) })
    }
    #[inline(always)]
    unsafe fn store(self, p: *mut u8) {
        // SAFETY: caller guarantees 32 writable bytes at p.
        unsafe { _mm256_storeu_si256(p.cast(), self.0) }
    }
    const STREAMS: bool = true;
    #[inline(always)]
    unsafe fn store_stream(self, p: *mut u8) {
        // SAFETY: the caller guarantees 32 writable bytes at p, 32-byte aligned
        // (VMOVNTDQ requires it).
        unsafe { _mm256_stream_si256(p.cast(), self.0) }
    }
    #[inline(always)]
    unsafe fn stream_fence() {
        // SAFETY: SFENCE is available on every x86_64 CPU.
        unsafe { _mm_sfence() }
    }
    #[inline(always)]
    unsafe fn put_in_place(x: Self, z: Self, p: *mut u8) {
        // SAFETY: the caller guarantees 32 writable bytes at p and AVX512VL + BW; only
        // the bytes with x < z are written (VMOVDQU8 with a k mask).
        unsafe { _mm256_mask_storeu_epi8(p.cast(), _mm256_cmplt_epu8_mask(x.0, z.0), z.0) }
    }
    #[inline(always)]
    unsafe fn max(self, o: Self) -> Self {
        // SAFETY: caller guarantees AVX2 (implied by AVX512F).
        U8x32(unsafe { _mm256_max_epu8(self.0, o.0) })
    }
    type Table = avx2_u8::Slices;
    #[inline(always)]
    unsafe fn table(t: &ByteTable) -> Self::Table {
        // SAFETY: caller guarantees AVX2 (implied by AVX512F).
        unsafe { avx2_u8::slices(t) }
    }
    #[inline(always)]
    unsafe fn lookup(self, t: &Self::Table) -> Self {
        // SAFETY: caller guarantees AVX2 (implied by AVX512F).
        U8x32(unsafe { avx2_u8::lookup(self.0, t) })
    }
    #[inline(always)]
    unsafe fn load_partial(p: *const u8, n: usize) -> Self {
        // SAFETY: only the first n < 32 bytes are enabled and accessed (AVX512VL +
        // BW); the caller vouches for them. The others read as 0.
        U8x32(unsafe { _mm256_maskz_loadu_epi8(((1u64 << n) - 1) as __mmask32, p.cast()) })
    }
    #[inline(always)]
    unsafe fn store_partial(self, p: *mut u8, n: usize) {
        // SAFETY: as in `load_partial`, for writes.
        unsafe { _mm256_mask_storeu_epi8(p.cast(), ((1u64 << n) - 1) as __mmask32, self.0) }
    }
}

/// Int8Relu on 256-bit registers inside AVX-512 code (AVX512VL), for cores that split
/// 512-bit loads and stores in two (the float kernels' `ymm` tables, for the same
/// reason).
pub mod ymm {
    use super::U8x32;
    crate::int8_entry_points!(
        [target_feature(enable = "avx512f,avx512bw,avx512vl")],
        U8x32,
        lut = super::int8_lut
    );
}
