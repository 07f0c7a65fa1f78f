//! NEON Int8Relu: `UMAX` on 16 bytes (`uint8x16_t`); the tail goes through a stack copy
//! of one register. Int8LeakyRelu's table: its plain [`Linear`] form where it has
//! one ([`LinearMap`]), else its [`Corrected`] form ([`CorrectedMap`]), else four
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

/// A plain [`Linear`] form ([`Linear::is_plain`]) in registers, applied to 16 bytes:
/// each half widened and shifted in one `UMULL` (by `1 << shift`, at most 64, so
/// `x << shift` fits 16 bits), then [`Linear::eval`]'s steps lane for lane (`SUB`,
/// two `SQRDMULH`, `SMAX`, `SQADD`), and `SQXTUN`/`SQXTUN2` (which saturate to
/// `0..=255`) put the halves back as bytes: 14 instructions per register.
/// `SQRDMULH` is `(2ab + 2^15) >> 16`, which is `mulhrs`'s `(ab + 2^14) >> 15`,
/// saturated only for `-2^15 * -2^15`, which cannot occur (`x << shift` and the
/// origin are at most `2^14` apart).
///
/// Forms with a fix are not evaluated here: [`crate::int8::LutTable::with_linear`]
/// also fits a [`Corrected`] form for their tables (every such table of the
/// short-ratio grid has one), 20 instructions per register against the fixes' 21 or
/// 26, and the kernel takes that, or looks up. Where `TBX` with four
/// table registers is slow (2.5-4 cycles in LLVM's Neoverse N1, N2 and V1 models, whose lookups
/// then run at 1.0-2.2x the scalar table loop) the arithmetic wins;
/// `tools/neon_mca.py` and `docs/PERFORMANCE.md` have the figures.
#[derive(Clone, Copy)]
pub struct LinearMap {
    unit: uint8x16_t,
    zero_in: int16x8_t,
    zero_out: int16x8_t,
    slope: int16x8_t,
    neg_slope: int16x8_t,
}

impl LinearMap {
    /// `l`, a plain form, in registers.
    ///
    /// # Safety
    /// NEON is available.
    #[inline(always)]
    pub unsafe fn new(l: Linear) -> LinearMap {
        debug_assert!(l.is_plain());
        // SAFETY: NEON is the caller's promise; no memory is accessed.
        unsafe {
            LinearMap {
                unit: vdupq_n_u8(1 << l.shift),
                zero_in: vdupq_n_s16(l.zero_in),
                zero_out: vdupq_n_s16(l.zero_out),
                slope: vdupq_n_s16(l.slope),
                neg_slope: vdupq_n_s16(l.neg_slope),
            }
        }
    }

    /// [`Linear::eval`] before the narrowing, on eight 16-bit lanes holding
    /// `x << shift`.
    #[inline(always)]
    unsafe fn half(self, w: uint16x8_t) -> int16x8_t {
        // SAFETY: NEON is the caller's promise; no memory is accessed.
        unsafe {
            let d = vsubq_s16(vreinterpretq_s16_u16(w), self.zero_in);
            let q = vmaxq_s16(
                vqrdmulhq_s16(d, self.slope),
                vqrdmulhq_s16(d, self.neg_slope),
            );
            vqaddq_s16(q, self.zero_out)
        }
    }
}

impl ByteMap<uint8x16_t> for LinearMap {
    #[inline(always)]
    unsafe fn apply(self, x: uint8x16_t) -> uint8x16_t {
        // SAFETY: NEON is the caller's promise; no memory is accessed.
        unsafe {
            let lo = self.half(vmull_u8(vget_low_u8(x), vget_low_u8(self.unit)));
            let hi = self.half(vmull_high_u8(x, self.unit));
            vqmovun_high_s16(vqmovun_s16(lo), hi)
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
    form: LinearMap,
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
/// the table's plain [`Linear`] form where it has one ([`LinearMap`]), else its
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
            (Some(l), _) if l.is_plain() => {
                crate::int8::byte_map(src, dst, len, LinearMap::new(l), stream)
            }
            (_, Some(c)) => crate::int8::byte_map(src, dst, len, CorrectedMap::new(c), stream),
            _ => crate::int8::int8_lut::<uint8x16_t>(src, dst, len, t.table(), stream),
        }
    }
}
