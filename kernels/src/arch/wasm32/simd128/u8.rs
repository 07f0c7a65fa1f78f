//! SIMD128 Int8Relu: `u8x16.max_u` on 16 bytes, two `v128`s per register
//! ([`U8x32`]); the tail goes through a stack copy of one register. Int8LeakyRelu's
//! table: its [`Linear`] form where it has one ([`LinearMap`]), else its
//! [`Corrected`] form ([`CorrectedMap`]), else the scalar table loop (sixteen
//! `i8x16.swizzle`s per 16 bytes, [`U8x32`]'s lookup, measured 0.44-0.49x that loop
//! under wasmtime).

use core::arch::wasm32::*;

use crate::int8::{ByteMap, ByteVector, Corrected, Linear};

/// 32 unsigned bytes in two `v128`s, the first holding the lower 16: one turn of the
/// u8 walk's four-register loop then moves 128 bytes (as `F32x8` does for f32; see
/// the [parent module](super)).
#[derive(Clone, Copy)]
pub struct U8x32(v128, v128);

// SAFETY: `U8x32` is two `v128`s, plain 16-byte registers. The build has SIMD128
// (this module exists only then), so every method may be called; the pointer methods'
// callers vouch for the accesses.
unsafe impl ByteVector for U8x32 {
    const LANES: usize = 32;

    #[inline(always)]
    unsafe fn splat(x: u8) -> Self {
        U8x32(u8x16_splat(x), u8x16_splat(x))
    }
    #[inline(always)]
    unsafe fn load(p: *const u8) -> Self {
        // SAFETY: the caller guarantees 32 readable bytes at p; `v128.load` needs no
        // alignment.
        unsafe { U8x32(v128_load(p.cast()), v128_load(p.add(16).cast())) }
    }
    #[inline(always)]
    unsafe fn store(self, p: *mut u8) {
        // SAFETY: the caller guarantees 32 writable bytes at p.
        unsafe {
            v128_store(p.cast(), self.0);
            v128_store(p.add(16).cast(), self.1);
        }
    }
    #[inline(always)]
    unsafe fn max(self, o: Self) -> Self {
        U8x32(u8x16_max(self.0, o.0), u8x16_max(self.1, o.1))
    }
    /// Sixteen 16-byte slices of the table.
    type Table = [v128; 16];
    #[inline(always)]
    unsafe fn table(t: &crate::int8::ByteTable) -> Self::Table {
        // SAFETY: each slice reads 16 of the table's 256 bytes.
        core::array::from_fn(|k| unsafe { v128_load(t.as_ptr().add(16 * k).cast()) })
    }
    #[inline(always)]
    unsafe fn lookup(self, t: &Self::Table) -> Self {
        U8x32(lookup16(self.0, t), lookup16(self.1, t))
    }
}

/// `t[x]` for 16 bytes by sixteen `i8x16.swizzle`s: `i8x16.swizzle` gives 0 for an
/// index of 16 or more, so slice k answers the lanes whose byte minus 16k (wrapping)
/// is below 16, those in [16k, 16k + 16), and every lane is answered by exactly one
/// slice.
#[inline(always)]
fn lookup16(x: v128, t: &[v128; 16]) -> v128 {
    let mut r = u8x16_swizzle(t[0], x);
    for (k, s) in t.iter().enumerate().skip(1) {
        let i = u8x16_sub(x, u8x16_splat(16 * k as u8));
        r = v128_or(r, u8x16_swizzle(*s, i));
    }
    r
}

/// A [`Linear`] form in registers, applied to 16 bytes at a time: each half widened
/// to 16 bits (`u16x8.extend_*_u8x16`) and shifted (multiplied by `1 << shift`),
/// then [`Linear::eval`]'s steps lane for lane (`i16x8.sub`, two `i16x8.q15mulr_sat_s`, `i16x8.max_s`,
/// `i16x8.add_sat_s`, onto the output's zero point less 128), and `i8x16.narrow_i16x8_s`
/// (which saturates to `-128..=127`) and an `xor` of the top bit put the halves back
/// in order as bytes. `q15mulr_sat_s` is `(a * b + 2^14) >> 15`, `PMULHRSW`'s
/// rounding, saturated only for `-2^15 * -2^15`, which cannot occur: `x << shift`
/// and the origins are at most `2^14` apart. About 15 instructions per 16 bytes,
/// where the lookups take 46. `FULL` forms (not [`Linear::is_plain`]) take the
/// negative side from its own origin and subtract the fix (`i8x16.swizzle` on the
/// index with its top bit kept, so that an index from 128 gives 0 as `VPSHUFB`'s
/// does): six more. `NEG` forms ([`Linear::has_neg_fix`]) subtract the negative
/// side's fix too: four more.
#[derive(Clone, Copy)]
pub struct LinearMap<const FULL: bool, const NEG: bool> {
    /// `1 << shift` in every lane: the shift as a multiplication, whose operand is a
    /// register (a shift by a run-time count cost wasmtime a mask and a move into a
    /// vector register before every `PSLLW`).
    scale: v128,
    zero_in: v128,
    zero_in_neg: v128,
    zero_out: v128,
    slope: v128,
    neg_slope: v128,
    fix: v128,
    fix_from: v128,
    fix_shift: v128,
    neg_fix: v128,
    neg_fix_shift: v128,
}

/// A 16-byte pattern as a register.
#[inline(always)]
fn pattern(p: [u8; 16]) -> v128 {
    u8x16(
        p[0], p[1], p[2], p[3], p[4], p[5], p[6], p[7], p[8], p[9], p[10], p[11], p[12], p[13],
        p[14], p[15],
    )
}

impl<const FULL: bool, const NEG: bool> LinearMap<FULL, NEG> {
    /// `l` in registers.
    #[inline(always)]
    pub fn new(l: Linear) -> LinearMap<FULL, NEG> {
        LinearMap {
            scale: i16x8_splat(1 << l.shift),
            zero_in: i16x8_splat(l.zero_in),
            zero_in_neg: i16x8_splat(l.zero_in_neg),
            zero_out: i16x8_splat(l.zero_out - 128),
            slope: i16x8_splat(l.slope),
            neg_slope: i16x8_splat(l.neg_slope),
            fix: pattern(l.fix),
            fix_from: u8x16_splat(l.fix_from),
            fix_shift: u8x16_splat(l.fix_shift),
            neg_fix: pattern(l.neg_fix),
            neg_fix_shift: u8x16_splat(l.neg_fix_shift),
        }
    }

    /// [`Linear::eval`] without the fix on eight 16-bit lanes holding `x`, less 128.
    #[inline(always)]
    fn half(self, w: v128) -> v128 {
        // `x << shift` (at most 255 << 6, no overflow).
        let w = i16x8_mul(w, self.scale);
        let d = i16x8_sub(w, self.zero_in);
        let e = if FULL {
            i16x8_sub(w, self.zero_in_neg)
        } else {
            d
        };
        let q = i16x8_max(
            i16x8_q15mulr_sat(d, self.slope),
            i16x8_q15mulr_sat(e, self.neg_slope),
        );
        i16x8_add_sat(q, self.zero_out)
    }
}

impl<const FULL: bool, const NEG: bool> LinearMap<FULL, NEG> {
    /// The form on 16 bytes.
    #[inline(always)]
    fn apply16(self, x: v128) -> v128 {
        let lo = self.half(u16x8_extend_low_u8x16(x));
        let hi = self.half(u16x8_extend_high_u8x16(x));
        // `u8x16.narrow_i16x8_u` would clamp to `0..=255` itself, but LLVM puts an
        // `i16x8.max_s` and `i16x8.min_s` before it; the signed narrow of the values
        // moved down by 128 (in `zero_out`, which moves `add_sat`'s saturation only
        // where the narrow saturates anyway) and an `xor` of the top bit give the
        // same bytes in two instructions instead of four.
        let y = v128_xor(i8x16_narrow_i16x8(lo, hi), u8x16_splat(0x80));
        if !FULL {
            return y;
        }
        let top = u8x16_splat(0x8F);
        let i = u8x16_add_sat(u8x16_sub_sat(x, self.fix_from), self.fix_shift);
        let y = i8x16_sub(y, i8x16_swizzle(self.fix, v128_and(i, top)));
        if !NEG {
            return y;
        }
        let j = u8x16_add_sat(u8x16_sub_sat(self.fix_from, x), self.neg_fix_shift);
        i8x16_sub(y, i8x16_swizzle(self.neg_fix, v128_and(j, top)))
    }
}

impl<const FULL: bool, const NEG: bool> ByteMap<U8x32> for LinearMap<FULL, NEG> {
    #[inline(always)]
    unsafe fn apply(self, x: U8x32) -> U8x32 {
        U8x32(self.apply16(x.0), self.apply16(x.1))
    }
}

/// A [`Corrected`] form in registers: the plain [`LinearMap`], then one subtracted
/// where the form's map has the input's bit. The map's byte `x >> 3` is the OR of two
/// `i8x16.swizzle`s, one per 16-byte half of the map (a swizzle gives 0 for an index
/// from 16, so each half answers only its own inputs), the bit `1 << (x & 7)` a
/// third; `v128.and` and `i8x16.eq` turn it into 0 or -1, which `i8x16.add` adds.
#[derive(Clone, Copy)]
pub struct CorrectedMap {
    form: LinearMap<false, false>,
    low: v128,
    high: v128,
    powers: v128,
}

impl CorrectedMap {
    /// `c` in registers.
    #[inline(always)]
    pub fn new(c: Corrected) -> CorrectedMap {
        let mut low = [0u8; 16];
        let mut high = [0u8; 16];
        low.copy_from_slice(&c.bits[..16]);
        high.copy_from_slice(&c.bits[16..]);
        CorrectedMap {
            form: LinearMap::new(c.form),
            low: pattern(low),
            high: pattern(high),
            powers: pattern([1, 2, 4, 8, 16, 32, 64, 128, 0, 0, 0, 0, 0, 0, 0, 0]),
        }
    }

    /// The form on 16 bytes.
    #[inline(always)]
    fn apply16(self, x: v128) -> v128 {
        let y = self.form.apply16(x);
        let byte_index = u8x16_shr(x, 3);
        let byte = v128_or(
            u8x16_swizzle(self.low, byte_index),
            u8x16_swizzle(self.high, u8x16_sub(byte_index, u8x16_splat(16))),
        );
        let bit = u8x16_swizzle(self.powers, v128_and(x, u8x16_splat(7)));
        let set = i8x16_eq(v128_and(byte, bit), bit);
        i8x16_add(y, set)
    }
}

impl ByteMap<U8x32> for CorrectedMap {
    #[inline(always)]
    unsafe fn apply(self, x: U8x32) -> U8x32 {
        U8x32(self.apply16(x.0), self.apply16(x.1))
    }
}

crate::int8_entry_points!([target_feature(enable = "simd128")], U8x32, lut = int8_lut);

/// The SIMD128 table kernel ([`Int8Kernels::int8_lut`](crate::int8::Int8Kernels::int8_lut)):
/// the table's [`Linear`] form where it has one ([`LinearMap`]), else its
/// [`Corrected`] form ([`CorrectedMap`]), else the scalar table loop, which beats
/// sixteen swizzles per register here (module docs).
///
/// # Safety
/// The contract of [`crate::UnaryFn`] and of `int8_lut`.
#[target_feature(enable = "simd128")]
pub unsafe fn int8_lut(
    src: *const u8,
    dst: *mut u8,
    len: usize,
    p: &crate::ops::Params<u8>,
    stream: bool,
) {
    // SAFETY: forwarded from the caller (the `LutTable` at `p.channel.values`).
    unsafe {
        let t = crate::int8::lut_of(p);
        match (t.linear(), t.corrected()) {
            (Some(l), _) => crate::run_linear_form!(LinearMap, l, src, dst, len, stream),
            (None, Some(c)) => crate::int8::byte_map(src, dst, len, CorrectedMap::new(c), stream),
            (None, None) => crate::oracle::scalar::u8::int8_lut(src, dst, len, p, stream),
        }
    }
}
