//! AVX-512 (BW) Int8Relu: `VPMAXUB` on 64 bytes (`__m512i`); the tail is a byte-masked
//! load and store (`VMOVDQU8` with a `k` mask), so bytes outside the slice are never
//! accessed.

use core::arch::x86_64::*;

use crate::int8::ByteVector;

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
    unsafe fn max(self, o: Self) -> Self {
        // SAFETY: caller guarantees AVX512BW.
        unsafe { _mm512_max_epu8(self, o) }
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

crate::int8_entry_points!([target_feature(enable = "avx512f,avx512bw")], __m512i);
