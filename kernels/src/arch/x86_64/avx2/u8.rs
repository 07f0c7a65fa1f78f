//! AVX2 Int8Relu: `VPMAXUB` on 32 bytes (`__m256i`); the tail goes through a stack copy
//! of one register (AVX2 has no byte-masked moves).

use core::arch::x86_64::*;

use crate::int8::ByteVector;

// SAFETY: `__m256i` is a plain 32-byte register.
unsafe impl ByteVector for __m256i {
    const LANES: usize = 32;

    #[inline(always)]
    unsafe fn splat(x: u8) -> Self {
        // SAFETY: caller guarantees AVX2.
        unsafe { _mm256_set1_epi8(x as i8) }
    }
    #[inline(always)]
    unsafe fn load(p: *const u8) -> Self {
        // SAFETY: caller guarantees 32 readable bytes at p; loadu needs no alignment.
        unsafe { _mm256_loadu_si256(p.cast()) }
    }
    #[inline(always)]
    unsafe fn store(self, p: *mut u8) {
        // SAFETY: caller guarantees 32 writable bytes at p.
        unsafe { _mm256_storeu_si256(p.cast(), self) }
    }
    const STREAMS: bool = true;
    #[inline(always)]
    unsafe fn store_stream(self, p: *mut u8) {
        // SAFETY: the caller guarantees 32 writable bytes at p, 32-byte aligned
        // (VMOVNTDQ requires it).
        unsafe { _mm256_stream_si256(p.cast(), self) }
    }
    #[inline(always)]
    unsafe fn stream_fence() {
        // SAFETY: SFENCE is available on every x86_64 CPU.
        unsafe { _mm_sfence() }
    }
    #[inline(always)]
    unsafe fn max(self, o: Self) -> Self {
        // SAFETY: caller guarantees AVX2.
        unsafe { _mm256_max_epu8(self, o) }
    }
}

crate::int8_entry_points!([target_feature(enable = "avx2")], __m256i);
