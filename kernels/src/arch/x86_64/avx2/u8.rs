//! AVX2 u8 kernels on 32 bytes (`__m256i`): Int8Relu by `VPMAXUB`, table lookups by
//! sixteen `VPSHUFB`s over XOR-chained slices ([`lookup`]); the tail goes through a stack copy of one register
//! (AVX2 has no byte-masked moves).

use core::arch::x86_64::*;

use crate::int8::{ByteTable, ByteVector};

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
    type Table = Slices;
    #[inline(always)]
    unsafe fn table(t: &ByteTable) -> Slices {
        // SAFETY: caller guarantees AVX2.
        unsafe { slices(t) }
    }
    #[inline(always)]
    unsafe fn lookup(self, t: &Slices) -> Self {
        // SAFETY: caller guarantees AVX2.
        unsafe { lookup(self, t) }
    }
}

/// A [`ByteTable`] for [`lookup`]: two halves of eight 16-byte slices, each slice in
/// both 128-bit lanes (`VPSHUFB` looks up within a lane), each slice but a half's
/// first stored XORed with the slice before it (`d[k] = t[k - 1] ^ t[k]`).
#[derive(Clone, Copy)]
pub struct Slices {
    d: [__m256i; 16],
    /// 16 in every byte, hidden from the optimiser ([`core::hint::black_box`]): as
    /// a known constant, LLVM turns the chain of subtractions in [`lookup`] into one
    /// addition of a different constant per slice, each a `VPBROADCASTB` from memory,
    /// which takes the shuffle port `VPSHUFB` needs (measured: AVX2 lookups ran at
    /// the scalar table loop's speed).
    step: __m256i,
}

/// `t` as [`Slices`].
///
/// # Safety
/// AVX2 is available.
#[inline(always)]
pub unsafe fn slices(t: &ByteTable) -> Slices {
    // SAFETY: each slice reads 16 of the table's 256 bytes; AVX2 is the caller's
    // promise.
    let raw: [__m256i; 16] = core::array::from_fn(|k| unsafe {
        _mm256_broadcastsi128_si256(_mm_loadu_si128(t.as_ptr().add(16 * k).cast()))
    });
    let d = core::array::from_fn(|k| {
        if k % 8 == 0 {
            raw[k]
        } else {
            // SAFETY: as above.
            unsafe { _mm256_xor_si256(raw[k - 1], raw[k]) }
        }
    });
    // SAFETY: as above.
    let step = core::hint::black_box(unsafe { _mm256_set1_epi8(16) });
    Slices { d, step }
}

/// Lane-wise `t[x]` by sixteen `VPSHUFB`s.
///
/// `VPSHUFB` gives 0 where an index byte has its top bit set, and otherwise looks up
/// its low four bits. Take the lower half (bytes below 128) with index `i = x` and the
/// slices `d[0..8]`: lookup k uses `i - 16k`, whose low nibble is always `x`'s, and
/// whose top bit is clear exactly while `16k <= x` (for `x < 128`). So a lane with
/// `x` in slice s (`16s <= x < 16s + 16`) gathers `d[0] ^ d[1] ^ ... ^ d[s]` at its
/// low nibble, which telescopes to slice s's entry, and every later lookup adds 0.
/// The upper half runs the same on `x ^ 0x80` with `d[8..16]`; the top bit of `x`
/// picks between the halves (the other half's result in a lane is discarded).
///
/// # Safety
/// AVX2 is available.
#[inline(always)]
pub unsafe fn lookup(x: __m256i, t: &Slices) -> __m256i {
    // SAFETY: AVX2 is the caller's promise; no memory is accessed.
    unsafe {
        let step = t.step;
        let half = |mut i: __m256i, d: &[__m256i]| {
            let mut r = _mm256_shuffle_epi8(d[0], i);
            for dk in &d[1..] {
                i = _mm256_sub_epi8(i, step);
                r = _mm256_xor_si256(r, _mm256_shuffle_epi8(*dk, i));
            }
            r
        };
        let lo = half(x, &t.d[..8]);
        let hi = half(_mm256_xor_si256(x, _mm256_set1_epi8(i8::MIN)), &t.d[8..]);
        _mm256_blendv_epi8(lo, hi, x)
    }
}

crate::int8_entry_points!([target_feature(enable = "avx2")], __m256i);
