//! AVX2 u8 kernels on 32 bytes (`__m256i`): Int8Relu by `VPMAXUB`; tables by their
//! [`Linear`] form where they have one ([`LinearMap`]: two `VPMADDUBSW`s and four
//! `VPMULHRSW`s per register, and a fix by one `VPSHUFB`), else by sixteen `VPSHUFB`s over XOR-chained slices
//! ([`lookup`]); the tail goes through a stack copy of one register (AVX2 has no
//! byte-masked moves).

use core::arch::x86_64::*;

use crate::int8::{ByteMap, ByteTable, ByteVector, Corrected, Linear};

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
        let lo = lookup_half(x, &t.d[..8], t.step);
        let hi = lookup_half(
            _mm256_xor_si256(x, _mm256_set1_epi8(i8::MIN)),
            &t.d[8..],
            t.step,
        );
        _mm256_blendv_epi8(lo, hi, x)
    }
}

/// One half of [`lookup`]: eight `VPSHUFB`s over `d`, the index stepping down by
/// `step`. A function, not a closure: a closure is compiled without its caller's
/// target features, and when LLVM did not inline it every intrinsic in it became a
/// call (0.1 GB/s).
///
/// # Safety
/// AVX2 is available.
#[inline(always)]
unsafe fn lookup_half(mut i: __m256i, d: &[__m256i], step: __m256i) -> __m256i {
    // SAFETY: AVX2 is the caller's promise; no memory is accessed.
    unsafe {
        let mut r = _mm256_shuffle_epi8(d[0], i);
        for dk in &d[1..] {
            i = _mm256_sub_epi8(i, step);
            r = _mm256_xor_si256(r, _mm256_shuffle_epi8(*dk, i));
        }
        r
    }
}

/// A [`Linear`] form in registers, applied to 32 bytes at a time.
///
/// `VPMADDUBSW` against `(1 << shift, 0)` pairs widens the even bytes to 16 bits and
/// shifts them in one instruction (`(0, 1 << shift)`: the odd bytes); each half then
/// takes [`Linear::eval`]'s steps lane for lane (`VPSUBW`, two `VPMULHRSW`,
/// `VPMAXSW`, `VPADDSW`), and `VPACKUSWB` (which saturates to u8) and one `VPSHUFB`
/// interleave the halves back into byte order within each 128-bit lane: 14
/// instructions per register. `FULL` forms (not [`Linear::is_plain`]) take the
/// negative side from its own origin (one `VPSUBW` per half) and subtract the fix
/// (`VPSUBUSB`, `VPADDUSB`, `VPSHUFB`, `VPSUBB`): 20. `NEG` forms
/// ([`Linear::has_neg_fix`]) subtract the negative side's fix too: 24.
#[derive(Clone, Copy)]
pub struct LinearMap<const FULL: bool, const NEG: bool> {
    even: __m256i,
    odd: __m256i,
    zero_in: __m256i,
    zero_in_neg: __m256i,
    zero_out: __m256i,
    slope: __m256i,
    neg_slope: __m256i,
    interleave: __m256i,
    fix: __m256i,
    fix_from: __m256i,
    fix_shift: __m256i,
    neg_fix: __m256i,
    neg_fix_shift: __m256i,
}

impl<const FULL: bool, const NEG: bool> LinearMap<FULL, NEG> {
    /// `l` in registers.
    ///
    /// # Safety
    /// AVX2 is available.
    #[inline(always)]
    pub unsafe fn new(l: Linear) -> LinearMap<FULL, NEG> {
        let unit = 1i16 << l.shift; // at most 64: fits the i8 PMADDUBSW multiplies by
        // SAFETY: AVX2 is the caller's promise; the fix patterns are 16 readable bytes.
        unsafe {
            LinearMap {
                even: _mm256_set1_epi16(unit),
                odd: _mm256_set1_epi16(unit << 8),
                zero_in: _mm256_set1_epi16(l.zero_in),
                zero_in_neg: _mm256_set1_epi16(l.zero_in_neg),
                zero_out: _mm256_set1_epi16(l.zero_out),
                slope: _mm256_set1_epi16(l.slope),
                neg_slope: _mm256_set1_epi16(l.neg_slope),
                interleave: _mm256_setr_epi8(
                    0, 8, 1, 9, 2, 10, 3, 11, 4, 12, 5, 13, 6, 14, 7, 15, 0, 8, 1, 9, 2, 10, 3, 11,
                    4, 12, 5, 13, 6, 14, 7, 15,
                ),
                fix: _mm256_broadcastsi128_si256(_mm_loadu_si128(l.fix.as_ptr().cast())),
                fix_from: _mm256_set1_epi8(l.fix_from as i8),
                fix_shift: _mm256_set1_epi8(l.fix_shift as i8),
                neg_fix: _mm256_broadcastsi128_si256(_mm_loadu_si128(l.neg_fix.as_ptr().cast())),
                neg_fix_shift: _mm256_set1_epi8(l.neg_fix_shift as i8),
            }
        }
    }

    /// [`Linear::eval`] without the fix on sixteen 16-bit lanes holding `x << shift`.
    #[inline(always)]
    unsafe fn half(self, w: __m256i) -> __m256i {
        // SAFETY: AVX2 is the caller's promise; no memory is accessed.
        unsafe {
            let d = _mm256_sub_epi16(w, self.zero_in);
            let e = if FULL {
                _mm256_sub_epi16(w, self.zero_in_neg)
            } else {
                d
            };
            let q = _mm256_max_epi16(
                _mm256_mulhrs_epi16(d, self.slope),
                _mm256_mulhrs_epi16(e, self.neg_slope),
            );
            _mm256_adds_epi16(q, self.zero_out)
        }
    }
}

impl<const FULL: bool, const NEG: bool> ByteMap<__m256i> for LinearMap<FULL, NEG> {
    #[inline(always)]
    unsafe fn apply(self, x: __m256i) -> __m256i {
        // SAFETY: AVX2 is the caller's promise; no memory is accessed. PMADDUBSW
        // multiplies x's unsigned bytes by the signed bytes of `even`/`odd` and adds
        // pairs: x * (1 << shift) + 0, at most 255 * 64, so it never saturates.
        unsafe {
            let e = self.half(_mm256_maddubs_epi16(x, self.even));
            let o = self.half(_mm256_maddubs_epi16(x, self.odd));
            // Per 128-bit lane: 8 even results, then 8 odd ones; interleaved back.
            let y = _mm256_shuffle_epi8(_mm256_packus_epi16(e, o), self.interleave);
            if !FULL {
                return y;
            }
            // The fix's index; VPSHUFB gives 0 where its top bit is set, as
            // `Linear::eval` does.
            let i = _mm256_adds_epu8(_mm256_subs_epu8(x, self.fix_from), self.fix_shift);
            let y = _mm256_sub_epi8(y, _mm256_shuffle_epi8(self.fix, i));
            if !NEG {
                return y;
            }
            let j = _mm256_adds_epu8(_mm256_subs_epu8(self.fix_from, x), self.neg_fix_shift);
            _mm256_sub_epi8(y, _mm256_shuffle_epi8(self.neg_fix, j))
        }
    }
}

/// A [`Corrected`] form in registers: the plain [`LinearMap`], then one subtracted
/// where the form's map has the input's bit. The map's byte `x >> 3` comes from two
/// `VPSHUFB`s, one per 16-byte half of the map (each in both 128-bit lanes), on
/// `(x >> 3) & 15`, the top bit of `x` picking the half (`VPBLENDVB`); the bit
/// `1 << (x & 7)` from a third; `VPAND` and `VPCMPEQB` turn it into 0 or -1, which
/// `VPADDB` adds: ten instructions more than the plain form's fourteen.
#[derive(Clone, Copy)]
pub struct CorrectedMap {
    form: LinearMap<false, false>,
    low: __m256i,
    high: __m256i,
    powers: __m256i,
    fifteen: __m256i,
    seven: __m256i,
}

impl CorrectedMap {
    /// `c` in registers.
    ///
    /// # Safety
    /// AVX2 is available.
    #[inline(always)]
    pub unsafe fn new(c: Corrected) -> CorrectedMap {
        // SAFETY: AVX2 is the caller's promise; the two halves of the map are 16
        // readable bytes each.
        unsafe {
            CorrectedMap {
                form: LinearMap::new(c.form),
                low: _mm256_broadcastsi128_si256(_mm_loadu_si128(c.bits.as_ptr().cast())),
                high: _mm256_broadcastsi128_si256(_mm_loadu_si128(c.bits[16..].as_ptr().cast())),
                powers: _mm256_setr_epi8(
                    1, 2, 4, 8, 16, 32, 64, -128, 0, 0, 0, 0, 0, 0, 0, 0, 1, 2, 4, 8, 16, 32, 64,
                    -128, 0, 0, 0, 0, 0, 0, 0, 0,
                ),
                fifteen: _mm256_set1_epi8(15),
                seven: _mm256_set1_epi8(7),
            }
        }
    }
}

impl ByteMap<__m256i> for CorrectedMap {
    #[inline(always)]
    unsafe fn apply(self, x: __m256i) -> __m256i {
        // SAFETY: AVX2 is the caller's promise; no memory is accessed. Every shuffle
        // index has its top bit clear (masked to 15 or 7), so each looks up.
        unsafe {
            let y = self.form.apply(x);
            // `>> 3` on 16-bit lanes brings a neighbour's bits into the top of each
            // byte; the mask drops them.
            let byte_index = _mm256_and_si256(_mm256_srli_epi16::<3>(x), self.fifteen);
            let byte = _mm256_blendv_epi8(
                _mm256_shuffle_epi8(self.low, byte_index),
                _mm256_shuffle_epi8(self.high, byte_index),
                x,
            );
            let bit = _mm256_shuffle_epi8(self.powers, _mm256_and_si256(x, self.seven));
            let set = _mm256_cmpeq_epi8(_mm256_and_si256(byte, bit), bit);
            _mm256_add_epi8(y, set)
        }
    }
}

crate::int8_entry_points!([target_feature(enable = "avx2")], __m256i, lut = int8_lut);

/// The AVX2 table kernel ([`Int8Kernels::int8_lut`](crate::int8::Int8Kernels::int8_lut)):
/// the table's [`Linear`] form where it has one ([`LinearMap`]), else its
/// [`Corrected`] form ([`CorrectedMap`]), else [`lookup`].
/// Also AVX-512's on CPUs without AVX512VBMI.
///
/// # Safety
/// The contract of [`crate::UnaryFn`] and of `int8_lut`; AVX2 available.
#[target_feature(enable = "avx2")]
pub unsafe fn int8_lut(
    src: *const u8,
    dst: *mut u8,
    len: usize,
    p: &crate::ops::Params<u8>,
    stream: bool,
) {
    // SAFETY: forwarded from the caller (the `LutTable` at `p.channel.values`, AVX2).
    unsafe {
        let t = crate::int8::lut_of(p);
        match (t.linear(), t.corrected()) {
            (Some(l), _) => crate::run_linear_form!(LinearMap, l, src, dst, len, stream),
            (None, Some(c)) => crate::int8::byte_map(src, dst, len, CorrectedMap::new(c), stream),
            (None, None) => crate::int8::int8_lut::<__m256i>(src, dst, len, t.table(), stream),
        }
    }
}
