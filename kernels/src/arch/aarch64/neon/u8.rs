//! NEON Int8Relu: `UMAX` on 16 bytes (`uint8x16_t`); the tail goes through a stack copy
//! of one register. Int8LeakyRelu's table: its [`Linear`] form where it has one
//! ([`LinearMap`]), else its [`Corrected`] form ([`CorrectedMap`]), else four
//! 64-byte lookups (`TBL` and three `TBX` with four table registers each).

use core::arch::aarch64::*;

use crate::int8::{ByteMap, ByteVector, Corrected, Linear};

// SAFETY: `uint8x16_t` is a plain 16-byte register.
unsafe impl ByteVector for uint8x16_t {
    const LANES: usize = 16;

    #[inline(always)]
    unsafe fn splat(x: u8) -> Self {
        // SAFETY: caller guarantees NEON.
        unsafe { vdupq_n_u8(x) }
    }
    #[inline(always)]
    unsafe fn load(p: *const u8) -> Self {
        // SAFETY: caller guarantees 16 readable bytes at p.
        unsafe { vld1q_u8(p) }
    }
    #[inline(always)]
    unsafe fn store(self, p: *mut u8) {
        // SAFETY: caller guarantees 16 writable bytes at p.
        unsafe { vst1q_u8(p, self) }
    }
    #[inline(always)]
    unsafe fn max(self, o: Self) -> Self {
        // SAFETY: caller guarantees NEON.
        unsafe { vmaxq_u8(self, o) }
    }
    /// The table as four quarters of four registers each (`TBL` with four registers
    /// looks up 64 bytes).
    type Table = [uint8x16x4_t; 4];
    #[inline(always)]
    unsafe fn table(t: &crate::int8::ByteTable) -> Self::Table {
        // SAFETY: each quarter reads 64 of the table's 256 bytes; the caller
        // guarantees NEON.
        core::array::from_fn(|q| unsafe { vld1q_u8_x4(t.as_ptr().add(64 * q)) })
    }
    #[inline(always)]
    unsafe fn lookup(self, t: &Self::Table) -> Self {
        // SAFETY: caller guarantees NEON. `TBL` gives 0 and `TBX` keeps the
        // destination lane for an index of 64 or more: quarter q answers the lanes
        // whose byte minus 64q (wrapping) is below 64, those in [64q, 64q + 64), and
        // every lane is answered by exactly one quarter.
        unsafe {
            let q64 = vdupq_n_u8(64);
            let mut i = self;
            let mut r = vqtbl4q_u8(t[0], i);
            i = vsubq_u8(i, q64);
            r = vqtbx4q_u8(r, t[1], i);
            i = vsubq_u8(i, q64);
            r = vqtbx4q_u8(r, t[2], i);
            i = vsubq_u8(i, q64);
            vqtbx4q_u8(r, t[3], i)
        }
    }
}

/// A [`Linear`] form in registers, applied to 16 bytes: each half widened and shifted
/// in one `UMULL` (by `1 << shift`, at most 64, so `x << shift` fits 16 bits), then
/// [`Linear::eval`]'s steps lane for lane (`SUB`, two `SQRDMULH`, `SMAX`, `SQADD`), and
/// `SQXTUN`/`SQXTUN2` (which saturate to `0..=255`) put the halves back as bytes: 14
/// instructions per register. `SQRDMULH` is `(2ab + 2^15) >> 16`, which is `mulhrs`'s
/// `(ab + 2^14) >> 15`, saturated only for `-2^15 * -2^15`, which cannot occur
/// (`x << shift` and the origins are at most `2^14` apart). `FULL` forms (not
/// [`Linear::is_plain`]) take the negative side from its own origin and subtract the
/// fix (`UQSUB`, `UQADD`, `AND`, `TBL` with one register, `SUB`: `TBL` gives 0 for an
/// index from 16, and the mask keeps the index's top bit, so an index from 128 gives
/// 0 as [`Linear::eval`] asks): 21. `NEG` forms ([`Linear::has_neg_fix`]) subtract the
/// negative side's fix too: 26.
///
/// Where `TBX` with four table registers is slow (2.5-4 cycles in LLVM's Neoverse
/// models, whose lookups then run at 1.0-2.2x the scalar table loop) the arithmetic
/// wins; `tools/neon_mca.py` and `docs/PERFORMANCE.md` have the figures.
#[derive(Clone, Copy)]
pub struct LinearMap<const FULL: bool, const NEG: bool> {
    unit: uint8x16_t,
    zero_in: int16x8_t,
    zero_in_neg: int16x8_t,
    zero_out: int16x8_t,
    slope: int16x8_t,
    neg_slope: int16x8_t,
    fix: uint8x16_t,
    fix_from: uint8x16_t,
    fix_shift: uint8x16_t,
    neg_fix: uint8x16_t,
    neg_fix_shift: uint8x16_t,
}

impl<const FULL: bool, const NEG: bool> LinearMap<FULL, NEG> {
    /// `l` in registers.
    ///
    /// # Safety
    /// NEON is available.
    #[inline(always)]
    pub unsafe fn new(l: Linear) -> LinearMap<FULL, NEG> {
        // SAFETY: NEON is the caller's promise; the fix patterns are 16 readable
        // bytes each.
        unsafe {
            LinearMap {
                unit: vdupq_n_u8(1 << l.shift),
                zero_in: vdupq_n_s16(l.zero_in),
                zero_in_neg: vdupq_n_s16(l.zero_in_neg),
                zero_out: vdupq_n_s16(l.zero_out),
                slope: vdupq_n_s16(l.slope),
                neg_slope: vdupq_n_s16(l.neg_slope),
                fix: vld1q_u8(l.fix.as_ptr()),
                fix_from: vdupq_n_u8(l.fix_from),
                fix_shift: vdupq_n_u8(l.fix_shift),
                neg_fix: vld1q_u8(l.neg_fix.as_ptr()),
                neg_fix_shift: vdupq_n_u8(l.neg_fix_shift),
            }
        }
    }

    /// [`Linear::eval`] without the fix and the final narrowing, on eight 16-bit
    /// lanes holding `x << shift`.
    #[inline(always)]
    unsafe fn half(self, w: uint16x8_t) -> int16x8_t {
        // SAFETY: NEON is the caller's promise; no memory is accessed.
        unsafe {
            let w = vreinterpretq_s16_u16(w);
            let d = vsubq_s16(w, self.zero_in);
            let e = if FULL {
                vsubq_s16(w, self.zero_in_neg)
            } else {
                d
            };
            let q = vmaxq_s16(
                vqrdmulhq_s16(d, self.slope),
                vqrdmulhq_s16(e, self.neg_slope),
            );
            vqaddq_s16(q, self.zero_out)
        }
    }
}

impl<const FULL: bool, const NEG: bool> ByteMap<uint8x16_t> for LinearMap<FULL, NEG> {
    #[inline(always)]
    unsafe fn apply(self, x: uint8x16_t) -> uint8x16_t {
        // SAFETY: NEON is the caller's promise; no memory is accessed.
        unsafe {
            let lo = self.half(vmull_u8(vget_low_u8(x), vget_low_u8(self.unit)));
            let hi = self.half(vmull_high_u8(x, self.unit));
            let y = vqmovun_high_s16(vqmovun_s16(lo), hi);
            if !FULL {
                return y;
            }
            let top = vdupq_n_u8(0x8F);
            let i = vqaddq_u8(vqsubq_u8(x, self.fix_from), self.fix_shift);
            let y = vsubq_u8(y, vqtbl1q_u8(self.fix, vandq_u8(i, top)));
            if !NEG {
                return y;
            }
            let j = vqaddq_u8(vqsubq_u8(self.fix_from, x), self.neg_fix_shift);
            vsubq_u8(y, vqtbl1q_u8(self.neg_fix, vandq_u8(j, top)))
        }
    }
}

/// A [`Corrected`] form in registers: the plain [`LinearMap`], then one subtracted
/// where the form's map has the input's bit. The map's byte `x >> 3` is one `TBL`
/// with the map's two halves as its table (an index below 32), the bit
/// `1 << (x & 7)` a `USHL` of 1 by `x & 7`, and `CMTST` turns byte and bit into 0 or
/// -1, which `ADD` adds: six instructions more than the plain form's fourteen.
#[derive(Clone, Copy)]
pub struct CorrectedMap {
    form: LinearMap<false, false>,
    map: uint8x16x2_t,
}

impl CorrectedMap {
    /// `c` in registers.
    ///
    /// # Safety
    /// NEON is available.
    #[inline(always)]
    pub unsafe fn new(c: Corrected) -> CorrectedMap {
        // SAFETY: NEON is the caller's promise; the map is 32 readable bytes.
        unsafe {
            CorrectedMap {
                form: LinearMap::new(c.form),
                map: vld1q_u8_x2(c.bits.as_ptr()),
            }
        }
    }
}

impl ByteMap<uint8x16_t> for CorrectedMap {
    #[inline(always)]
    unsafe fn apply(self, x: uint8x16_t) -> uint8x16_t {
        // SAFETY: NEON is the caller's promise; no memory is accessed.
        unsafe {
            let y = self.form.apply(x);
            let byte = vqtbl2q_u8(self.map, vshrq_n_u8::<3>(x));
            let shift = vreinterpretq_s8_u8(vandq_u8(x, vdupq_n_u8(7)));
            let bit = vshlq_u8(vdupq_n_u8(1), shift);
            vaddq_u8(y, vtstq_u8(byte, bit))
        }
    }
}

crate::int8_entry_points!(
    [target_feature(enable = "neon")],
    uint8x16_t,
    lut = int8_lut
);

/// The NEON table kernel ([`Int8Kernels::int8_lut`](crate::int8::Int8Kernels::int8_lut)):
/// the table's [`Linear`] form where it has one ([`LinearMap`]), else its
/// [`Corrected`] form ([`CorrectedMap`]), else the four-`TBL` lookup.
///
/// # Safety
/// The contract of [`crate::UnaryFn`] and of `int8_lut`; NEON available.
#[target_feature(enable = "neon")]
pub unsafe fn int8_lut(
    src: *const u8,
    dst: *mut u8,
    len: usize,
    p: &crate::ops::Params<u8>,
    stream: bool,
) {
    // SAFETY: forwarded from the caller (the `LutTable` at `p.channel.values`, NEON).
    unsafe {
        let t = crate::int8::lut_of(p);
        match (t.linear(), t.corrected()) {
            (Some(l), _) => crate::run_linear_form!(LinearMap, l, src, dst, len, stream),
            (None, Some(c)) => crate::int8::byte_map(src, dst, len, CorrectedMap::new(c), stream),
            (None, None) => crate::int8::int8_lut::<uint8x16_t>(src, dst, len, t.table(), stream),
        }
    }
}
