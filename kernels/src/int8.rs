//! Quantized u8 kernels (Caffe2): Int8Relu, `y_q = max(x_q, zero_point)`, and a
//! 256-entry byte table, `y_q = table[x_q]`, which Int8LeakyRelu runs (its table is
//! QNNPACK's, built by [`crate::oracle::int8_leaky_relu_table`]).
//!
//! The float [`crate::vector::Vector`] has no unsigned-byte ops, so the u8 kernels have
//! a trait of their own, [`ByteVector`] (per ISA an unsigned max — `VPMAXUB`, `UMAX`,
//! `u8x16.max_u`, `wide`'s `u8x16::max` — and a table lookup), and one body,
//! `byte_body`, walked like [`crate::generic::unary`]: for long calls one full
//! register that aligns the output, blocks of four registers, single registers, then
//! one full register ending at `len` (a partial one for calls shorter than a
//! register); no byte outside `[0, len)` is read or written. It shares the float
//! kernels' conventions: the caller's `stream` flag asks for non-temporal stores, and
//! in place, ISAs with masked stores write only the bytes Int8Relu changes.

use core::mem::MaybeUninit;
use core::ptr;

use crate::UnaryFn;
use crate::generic::{
    ALIGN_MIN_REGISTERS, loop_index, page_offsets, page_offsets_down, stream_page, walk_down,
};

/// The u8 kernels of one ISA (a table of its own: u8 has no gradient and none of the
/// float ops).
#[derive(Clone, Copy)]
pub struct Int8Kernels {
    /// `dst[i] = max(src[i], zero_point)`; the contract of [`UnaryFn`], with the zero
    /// point as the first scalar parameter.
    pub int8_relu: UnaryFn<u8>,
    /// `dst[i] = table[src[i]]`; the contract of [`UnaryFn`], with a [`LutTable`] as
    /// the call's per-channel parameter ([`crate::ops::Channel`]): `values` points to
    /// the `LutTable` (whose first 256 bytes are the table) and `count` is 256. The
    /// table is indexed by value, not by position, so a call split into pieces
    /// passes every piece the same table.
    pub int8_lut: UnaryFn<u8>,
}

/// A 256-entry byte table: entry `i` is the output for input byte `i`.
pub type ByteTable = [u8; 256];

/// A SIMD register of `LANES` unsigned bytes.
///
/// # Safety
///
/// Implementations must be plain SIMD registers of exactly `LANES` bytes (the default
/// partial load/store spill through a stack copy of `Self`). Every method may only be
/// called on a CPU that supports the implementing ISA; pointer arguments must be valid
/// for the accesses each method's doc names.
#[allow(clippy::missing_safety_doc)]
pub unsafe trait ByteVector: Copy {
    /// Bytes per register.
    const LANES: usize;

    /// All lanes `x`.
    unsafe fn splat(x: u8) -> Self;
    /// Loads `LANES` bytes from `p`.
    unsafe fn load(p: *const u8) -> Self;
    /// Stores `LANES` bytes to `p`.
    unsafe fn store(self, p: *mut u8);
    /// Lane-wise unsigned maximum.
    unsafe fn max(self, o: Self) -> Self;

    /// A [`ByteTable`] in the form [`ByteVector::lookup`] reads (registers, or the
    /// bytes themselves).
    type Table: Copy;
    /// Prepares `t` for [`ByteVector::lookup`].
    unsafe fn table(t: &ByteTable) -> Self::Table;
    /// Lane-wise `t[x]`.
    unsafe fn lookup(self, t: &Self::Table) -> Self;

    /// Whether [`ByteVector::store_stream`] really bypasses the caches on this ISA.
    const STREAMS: bool = false;

    /// Stores `LANES` bytes to `p`, aligned to the register size, non-temporally where
    /// the ISA can; callers issue [`ByteVector::stream_fence`] after the last one.
    /// Default: a plain store.
    #[inline(always)]
    unsafe fn store_stream(self, p: *mut u8) {
        // SAFETY: forwarded from the caller.
        unsafe { self.store(p) }
    }

    /// Orders earlier non-temporal stores before any later store (SFENCE on x86).
    #[inline(always)]
    unsafe fn stream_fence() {}

    /// In place: `p[..LANES] = max(x, z)`, where `x` was loaded from `p`. Default: the
    /// whole register. ISAs with byte-masked stores override it to write `z` to the
    /// bytes below it only, so a buffer already at or above the zero point stays
    /// clean in the caches.
    #[inline(always)]
    unsafe fn put_in_place(x: Self, z: Self, p: *mut u8) {
        // SAFETY: forwarded from the caller (`p` valid for LANES writes).
        unsafe { x.max(z).store(p) }
    }

    /// Loads `n < LANES` bytes from `p`, touching nothing past `p + n`; the other lanes
    /// are 0.
    #[inline(always)]
    unsafe fn load_partial(p: *const u8, n: usize) -> Self {
        let mut buf = MaybeUninit::<Self>::uninit();
        let bp = buf.as_mut_ptr().cast::<u8>();
        // SAFETY: `buf` has exactly LANES bytes (trait contract), all zeroed before the
        // `n <= LANES` bytes are copied in, so the load reads initialised memory. The
        // caller guarantees `p` is valid for `n` reads.
        unsafe {
            ptr::write_bytes(bp, 0, Self::LANES);
            ptr::copy_nonoverlapping(p, bp, n);
            Self::load(bp)
        }
    }

    /// Stores the first `n < LANES` lanes to `p`, touching nothing past `p + n`.
    #[inline(always)]
    unsafe fn store_partial(self, p: *mut u8, n: usize) {
        let mut buf = MaybeUninit::<Self>::uninit();
        let bp = buf.as_mut_ptr().cast::<u8>();
        // SAFETY: `buf` holds LANES bytes, initialised by the store; the caller
        // guarantees `p` is valid for `n <= LANES` writes.
        unsafe {
            self.store(bp);
            ptr::copy_nonoverlapping(bp, p, n);
        }
    }
}

/// What a u8 kernel does to each register: [`MaxZero`] (Int8Relu) or [`Lookup`].
pub trait ByteMap<V: ByteVector>: Copy {
    /// The result for a register `x` of input.
    ///
    /// # Safety
    /// `V`'s ISA is available.
    unsafe fn apply(self, x: V) -> V;

    /// In place: stores the result for `x`, loaded from `p`, to `p`. Default: the whole
    /// register.
    ///
    /// # Safety
    /// `p` is valid for `LANES` writes; `V`'s ISA is available.
    #[inline(always)]
    unsafe fn put_in_place(self, x: V, p: *mut u8) {
        // SAFETY: forwarded from the caller.
        unsafe { self.apply(x).store(p) }
    }
}

/// Int8Relu: `max(x, zero_point)`, the zero point in every lane.
#[derive(Clone, Copy)]
pub struct MaxZero<V>(pub V);

impl<V: ByteVector> ByteMap<V> for MaxZero<V> {
    #[inline(always)]
    unsafe fn apply(self, x: V) -> V {
        // SAFETY: forwarded from the caller.
        unsafe { x.max(self.0) }
    }
    #[inline(always)]
    unsafe fn put_in_place(self, x: V, p: *mut u8) {
        // SAFETY: forwarded from the caller; ISAs with byte-masked stores write only
        // the bytes below the zero point.
        unsafe { V::put_in_place(x, self.0, p) }
    }
}

/// A table lookup, `t[x]`.
#[derive(Clone, Copy)]
pub struct Lookup<'a, V: ByteVector>(pub &'a V::Table);

impl<V: ByteVector> ByteMap<V> for Lookup<'_, V> {
    #[inline(always)]
    unsafe fn apply(self, x: V) -> V {
        // SAFETY: forwarded from the caller.
        unsafe { x.lookup(self.0) }
    }
}

/// `dst[i] = max(src[i], zero_point)` for `i < len`.
///
/// # Safety
/// The contract of [`UnaryFn`], with `V`'s ISA available.
#[inline(always)]
pub unsafe fn int8_relu<V: ByteVector>(
    src: *const u8,
    dst: *mut u8,
    len: usize,
    zero_point: u8,
    stream: bool,
) {
    // SAFETY: forwarded from the caller.
    unsafe { byte_map(src, dst, len, MaxZero(V::splat(zero_point)), stream) }
}

/// `dst[i] = table[src[i]]` for `i < len`.
///
/// # Safety
/// The contract of [`UnaryFn`], with `V`'s ISA available.
#[inline(always)]
pub unsafe fn int8_lut<V: ByteVector>(
    src: *const u8,
    dst: *mut u8,
    len: usize,
    table: &ByteTable,
    stream: bool,
) {
    // SAFETY: forwarded from the caller.
    unsafe {
        let t = V::table(table);
        byte_map::<V, _>(src, dst, len, Lookup(&t), stream)
    }
}

/// The table of an [`Int8Kernels::int8_lut`] call (the first field of its
/// [`LutTable`]).
///
/// # Safety
/// `p.channel.values` is valid for 256 reads (the contract of `int8_lut`).
#[inline(always)]
pub unsafe fn table_of(p: &crate::ops::Params<u8>) -> &ByteTable {
    debug_assert_eq!(p.channel.count, 256);
    // SAFETY: the caller guarantees 256 readable bytes at `values`, which live for
    // the call (the contract of `Channel`); `[u8; 256]` has alignment 1.
    unsafe { &*p.channel.values.cast::<ByteTable>() }
}

/// The whole [`LutTable`] of an [`Int8Kernels::int8_lut`] call.
///
/// # Safety
/// `p.channel.values` points to a `LutTable` that lives for the call (the contract
/// of `int8_lut`).
#[inline(always)]
pub unsafe fn lut_of(p: &crate::ops::Params<u8>) -> &LutTable {
    debug_assert_eq!(p.channel.count, 256);
    debug_assert!(p.channel.values.cast::<LutTable>().is_aligned());
    // SAFETY: the caller's promise; the pointer came from a `&LutTable`, so it is
    // aligned and the value initialised.
    unsafe { &*p.channel.values.cast::<LutTable>() }
}

/// A byte table as [`Int8Kernels::int8_lut`] takes it: the 256 entries and, where the
/// table has one, its [`Linear`] form, which the ISAs whose lookups are slow (AVX2:
/// sixteen shuffles per register; SIMD128: sixteen swizzles; NEON: four `TBL`/`TBX`
/// with four table registers) evaluate instead. `#[repr(C)]` with the table first,
/// so a kernel that only looks up reads the first 256 bytes ([`table_of`]).
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LutTable {
    table: ByteTable,
    linear: Option<Linear>,
    corrected: Option<Corrected>,
}

impl LutTable {
    /// `table`, looked up on every ISA.
    pub const fn new(table: ByteTable) -> LutTable {
        LutTable {
            table,
            linear: None,
            corrected: None,
        }
    }

    /// `table`, with its [`Linear`] form if [`Linear::fit`] finds one for these
    /// parameters, and unless that form is plain ([`Linear::is_plain`]), its
    /// [`Corrected`] form if [`Corrected::fit`] finds one.
    pub fn with_linear(
        table: ByteTable,
        x_zero_point: u8,
        y_zero_point: u8,
        slope: f64,
        neg_slope: f64,
    ) -> LutTable {
        let linear = Linear::fit(&table, x_zero_point, y_zero_point, slope, neg_slope);
        // A form with a fix costs NEON more than the corrected form (26 or 21
        // instructions per register against 20), so such tables keep both.
        let corrected = match linear {
            Some(l) if l.is_plain() => None,
            _ => Corrected::fit(&table, x_zero_point, y_zero_point, slope, neg_slope),
        };
        LutTable {
            table,
            linear,
            corrected,
        }
    }

    /// The entries.
    pub const fn table(&self) -> &ByteTable {
        &self.table
    }

    /// The linear form, which gives every entry of [`LutTable::table`] exactly.
    pub const fn linear(&self) -> Option<Linear> {
        self.linear
    }

    /// The corrected form of a table without a plain [`LutTable::linear`] one, which
    /// gives every entry exactly too. AVX2 and SIMD128 take it only for tables
    /// without a linear form; NEON takes it before a form with a fix.
    pub const fn corrected(&self) -> Option<Corrected> {
        self.corrected
    }
}

/// A plain [`Linear`] form that is one too high at some inputs, and a map of those
/// inputs: 256 bits, bit `x % 8` of byte `x / 8` set where the form's result for `x`
/// is one above the table's. A table without a [`Linear`] form (ties in a pattern of
/// more than 16 inputs, as a scale ratio of 17/16 makes) has one when the plain form
/// rounds every tie up and the table rounds some of them down, and nothing else
/// differs: every such table of a grid of 1952 short-ratio parameter sets did. A
/// kernel pays for the map ten instructions per register on AVX2, three of them
/// 16-byte shuffles (`VPSHUFB` twice on the byte index `x >> 3`, once on the bit
/// index `x & 7`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Corrected {
    /// A plain form (no fix, no offset).
    pub(crate) form: Linear,
    /// The inputs where `form` is one too high.
    pub(crate) bits: [u8; 32],
}

impl Corrected {
    /// The output for input byte `x`: the scalar model of the SIMD evaluation.
    pub fn eval(self, x: u8) -> u8 {
        self.form
            .eval(x)
            .wrapping_sub((self.bits[usize::from(x >> 3)] >> (x & 7)) & 1)
    }

    /// A plain form whose results are the table's or one above, with the map of the
    /// inputs where they are above, looked for near the real slopes (the multipliers
    /// of [`Linear::fit`]'s plain forms, up to three steps either side on each side
    /// of the zero point), or `None`. Every entry is checked with
    /// [`Corrected::eval`].
    pub fn fit(
        table: &ByteTable,
        x_zero_point: u8,
        y_zero_point: u8,
        slope: f64,
        neg_slope: f64,
    ) -> Option<Corrected> {
        let (base, scale) = Linear::base(x_zero_point, y_zero_point, slope, neg_slope)?;
        near(slope, scale, 32767, 3).find_map(|m| {
            near(neg_slope, scale, m, 3).find_map(|n| {
                let form = Linear {
                    slope: m as i16,
                    neg_slope: n as i16,
                    ..base
                };
                let mut bits = [0u8; 32];
                for x in 0..=255u8 {
                    match form.eval(x).wrapping_sub(table[usize::from(x)]) {
                        0 => {}
                        1 => bits[usize::from(x >> 3)] |= 1 << (x & 7),
                        _ => return None,
                    }
                }
                let c = Corrected { form, bits };
                (0..=255u8)
                    .all(|x| c.eval(x) == table[usize::from(x)])
                    .then_some(c)
            })
        })
    }
}

/// The nearest integer to a nonnegative `v` (core has no `f64::round`; the values
/// here stay below 2^24).
fn nearest(v: f64) -> i32 {
    (v + 0.5) as i32
}

/// Fixed-point multipliers near `real` (in units of `1 / scale`), nearest first, then
/// one step either side, up to `k` steps, within `0..=max`.
fn near(real: f64, scale: f64, max: i32, k: i32) -> impl Iterator<Item = i32> + Clone {
    let m0 = nearest(real * scale);
    (0..=2 * k)
        .map(move |i| m0 + if i % 2 == 0 { i / 2 } else { -(i + 1) / 2 })
        .filter(move |m| (0..=max).contains(m))
}

/// A two-slope byte map in 16-bit fixed point, which SIMD evaluates with a few
/// multiplies instead of a table: for input byte `x`,
///
/// ```text
/// d = (x - x_zero_point) << shift                       (i16)
/// e = d + neg_offset
/// q = max(mulhrs(d, slope), mulhrs(e, neg_slope))       mulhrs(a, b) = (a*b + 2^14) >> 15
/// y = saturate_u8(saturate_i16(q + y_zero_point))
/// y = y - fix(x)                                        (wrapping; see below)
/// ```
///
/// `mulhrs` is x86's `PMULHRSW` (Arm's `SQRDMULH`, WebAssembly's `q15mulr_sat`).
/// With `neg_slope <= slope` the max is the `slope` product above the zero point
/// and the `neg_slope` product below it: a leaky ReLU with requantization, rounded
/// half up.
///
/// The table rounds half to even, and its `f32` products may land on a tie that the
/// real product misses. Below the zero point the products are small and such ties
/// few; an offset of the negative side's origin (`neg_offset`, in units of
/// `2^-shift` input steps) moves its rounding points, so that one multiplier and
/// offset often meet all of them. Above it, where a tie falls on an odd number the
/// form is one too high, and such ties repeat with a period that divides 16 when the
/// scale ratio has a short binary expansion (1.25: every eighth input). So the form
/// may carry a **fix**, a 16-entry pattern subtracted from the result:
/// `i = sat_u8(sat_u8(x - fix_from) + fix_shift)` (unsigned saturating), then
/// `fix(x) = i < 128 ? fix[i % 16] : 0` — `VPSHUFB`'s rule, so a kernel pays a
/// saturating subtract, a saturating add, one shuffle and a subtract per register.
/// The shift moves the inputs whose result saturates at 255 to `i >= 128`, where
/// nothing is subtracted; inputs below `fix_from` all meet `fix[fix_shift % 16]`.
/// Ties below the zero point that repeat (an alpha of 0.5: every odd `d`) take a
/// second pattern the same way, `neg_fix`, indexed by
/// `sat_u8(sat_u8(fix_from - x) + neg_fix_shift)` (four more instructions).
/// [`Linear::fit`] only returns a form that reproduces a given table entry for entry
/// ([`Linear::eval`], the scalar model the SIMD code follows), so a kernel may use
/// either.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Linear {
    /// `x_zero_point << shift`.
    pub(crate) zero_in: i16,
    pub(crate) zero_out: i16,
    /// 0..=6, so `1 << shift` is a positive `i8` (`PMADDUBSW` multiplies by it).
    pub(crate) shift: u8,
    pub(crate) slope: i16,
    pub(crate) neg_slope: i16,
    /// `zero_in - neg_offset`: the origin of the negative side's `d`.
    pub(crate) zero_in_neg: i16,
    /// The fix's pattern (each entry 0 or 1; all 0 without a fix), its start and its
    /// shift (see above).
    pub(crate) fix: [u8; 16],
    pub(crate) fix_from: u8,
    pub(crate) fix_shift: u8,
    /// The negative side's pattern and shift (all 0 without one).
    pub(crate) neg_fix: [u8; 16],
    pub(crate) neg_fix_shift: u8,
}

impl Linear {
    /// The output for input byte `x`: the scalar model of the SIMD evaluation.
    pub fn eval(self, x: u8) -> u8 {
        self.eval_unfixed(x)
            .wrapping_sub(self.fix_of(x))
            .wrapping_sub(self.neg_fix_of(x))
    }

    /// Whether the form carries a fix or a negative offset, which cost a kernel six
    /// more instructions per register (it may leave them out otherwise).
    pub fn is_plain(self) -> bool {
        self.fix == [0; 16] && self.zero_in_neg == self.zero_in && !self.has_neg_fix()
    }

    /// Whether the form carries a fix below the zero point, four more instructions
    /// per register.
    pub fn has_neg_fix(self) -> bool {
        self.neg_fix != [0; 16]
    }

    /// The form without its fix.
    fn eval_unfixed(self, x: u8) -> u8 {
        let w = i16::from(x) << self.shift;
        let mulhrs = |d: i16, m: i16| ((i32::from(d) * i32::from(m) + (1 << 14)) >> 15) as i16;
        let q =
            mulhrs(w - self.zero_in, self.slope).max(mulhrs(w - self.zero_in_neg, self.neg_slope));
        q.saturating_add(self.zero_out).clamp(0, 255) as u8
    }

    /// What the fix subtracts at `x`.
    fn fix_of(self, x: u8) -> u8 {
        let i = x
            .saturating_sub(self.fix_from)
            .saturating_add(self.fix_shift);
        if i < 128 {
            self.fix[usize::from(i % 16)]
        } else {
            0
        }
    }

    /// What the negative side's fix subtracts at `x`.
    fn neg_fix_of(self, x: u8) -> u8 {
        let i = self
            .fix_from
            .saturating_sub(x)
            .saturating_add(self.neg_fix_shift);
        if i < 128 {
            self.neg_fix[usize::from(i % 16)]
        } else {
            0
        }
    }

    /// The fix that makes the form `l` (without a fix on that side) give `table` on
    /// one side of `l.fix_from` and at it (above it, or `below`), for the shift
    /// `shift`, if there is one: every entry one above the table's or equal, and
    /// equal wherever the fix cannot subtract or the pattern says 0.
    fn fix_for(l: Linear, table: &ByteTable, shift: u8, below: bool) -> Option<[u8; 16]> {
        let from = l.fix_from;
        let mut fix = [None::<u8>; 16];
        let side = if below { 0..=from } else { from..=255 };
        for x in side {
            let excess = l.eval(x).wrapping_sub(table[usize::from(x)]);
            if excess > 1 {
                return None;
            }
            let i = if below {
                from.saturating_sub(x)
            } else {
                x.saturating_sub(from)
            }
            .saturating_add(shift);
            if i >= 128 {
                if excess != 0 {
                    return None;
                }
                continue;
            }
            let slot = &mut fix[usize::from(i % 16)];
            if *slot.get_or_insert(excess) != excess {
                return None;
            }
        }
        Some(fix.map(|f| f.unwrap_or(0)))
    }

    /// The form's fixed parts for these zero points and slopes (multipliers 0, no
    /// fix, no offset), and the scale of its multipliers (`2^(15 - shift)`), or
    /// `None` for slopes outside `0 <= neg_slope <= slope < 2^8`. The shift is the
    /// smallest that keeps the multiplier of `slope` within i16, so the multipliers
    /// keep the most bits, and `|d| <= 255 << 6` stays within i16 too.
    fn base(
        x_zero_point: u8,
        y_zero_point: u8,
        slope: f64,
        neg_slope: f64,
    ) -> Option<(Linear, f64)> {
        if !(0.0 <= neg_slope && neg_slope <= slope && slope < 256.0) {
            return None;
        }
        let shift = (0..=6u8).find(|&s| nearest(slope * f64::from(1u32 << (15 - s))) <= 32767)?;
        let l = Linear {
            zero_in: i16::from(x_zero_point) << shift,
            zero_out: i16::from(y_zero_point),
            shift,
            slope: 0,
            neg_slope: 0,
            zero_in_neg: i16::from(x_zero_point) << shift,
            fix: [0; 16],
            fix_from: x_zero_point,
            fix_shift: 0,
            neg_fix: [0; 16],
            neg_fix_shift: 0,
        };
        Some((l, f64::from(1u32 << (15 - shift))))
    }

    /// A linear form that gives every entry of `table`, looked for near the real
    /// slopes `slope` (above `x_zero_point`) and `neg_slope` (below it), or `None`
    /// if there is none nearby: slopes outside `0 <= neg_slope <= slope < 2^8`, or a
    /// table that rounds ties to even in a pattern the form cannot express (ties
    /// below the zero point at every other step, as an alpha of 0.5 makes, or ties
    /// above it whose period does not divide 16). A plain form (no fix, no offset)
    /// first. Every entry is checked with [`Linear::eval`].
    pub fn fit(
        table: &ByteTable,
        x_zero_point: u8,
        y_zero_point: u8,
        slope: f64,
        neg_slope: f64,
    ) -> Option<Linear> {
        let (mut l, scale) = Linear::base(x_zero_point, y_zero_point, slope, neg_slope)?;
        let matches = |l: Linear, below: bool| {
            (0..=255u8)
                .filter(|&x| (x < x_zero_point) == below)
                .all(|x| l.eval(x) == table[usize::from(x)])
        };
        // Nearest first: the multiplier closest to the real slope, then one step
        // either side, up to `k`.
        let near = |real: f64, max: i32, k: i32| near(real, scale, max, k);
        // Above the zero point only `slope` counts (`d >= 0`, `neg_slope <= slope`),
        // below it only `neg_slope`; each is fitted alone. Above it, a form without
        // a fix first, then with one (any shift: the first that works).
        let plain = near(slope, 32767, 3)
            .map(|m| Linear {
                slope: m as i16,
                ..l
            })
            .find(|&c| matches(c, false));
        l = match plain {
            Some(c) => c,
            None => near(slope, 32767, 3).find_map(|m| {
                let c = Linear {
                    slope: m as i16,
                    ..l
                };
                (0..128u8).find_map(|shift| {
                    let fix = Linear::fix_for(c, table, shift, false)?;
                    Some(Linear {
                        fix,
                        fix_shift: shift,
                        ..c
                    })
                })
            })?,
        };
        // Below it, without an offset first, then with one of up to 64 steps either
        // way (`|e| <= 255 << 6 + 64 = 2^14` stays clear of `mulhrs`'s one
        // saturating case) and multipliers up to eight steps away.
        let below = |m: i32, offset: i16| Linear {
            neg_slope: m as i16,
            zero_in_neg: l.zero_in - offset,
            ..l
        };
        // Checked on both sides: the negative product must stay below the positive
        // one above the zero point.
        let all = |l: Linear| (0..=255u8).all(|x| l.eval(x) == table[usize::from(x)]);
        // Then, for ties that repeat below it, a fix there (no offset; any shift).
        near(neg_slope, i32::from(l.slope), 3)
            .map(|m| below(m, 0))
            .find(|&c| all(c))
            .or_else(|| {
                near(neg_slope, i32::from(l.slope), 8).find_map(|m| {
                    (1..=128)
                        .map(|i: i16| if i % 2 == 0 { i / 2 } else { -(i + 1) / 2 })
                        .map(|offset| below(m, offset))
                        .find(|&c| matches(c, true) && all(c))
                })
            })
            .or_else(|| {
                near(neg_slope, i32::from(l.slope), 3).find_map(|m| {
                    let c = below(m, 0);
                    (0..128u8).find_map(|shift| {
                        let neg_fix = Linear::fix_for(c, table, shift, true)?;
                        let f = Linear {
                            neg_fix,
                            neg_fix_shift: shift,
                            ..c
                        };
                        all(f).then_some(f)
                    })
                })
            })
    }
}

/// `m` over `[0, len)`, walked as the module docs say: in place, out of place, or
/// streaming.
///
/// # Safety
/// The contract of [`UnaryFn`], with `V`'s ISA available.
#[inline(always)]
pub(crate) unsafe fn byte_map<V: ByteVector, M: ByteMap<V>>(
    src: *const u8,
    dst: *mut u8,
    len: usize,
    m: M,
    stream: bool,
) {
    let in_place = core::ptr::eq(src, dst);
    // SAFETY: forwarded from the caller.
    unsafe {
        if in_place {
            byte_body::<V, M, false, true>(src, dst, len, m)
        } else if V::STREAMS && stream {
            byte_body::<V, M, true, false>(src, dst, len, m)
        } else {
            byte_body::<V, M, false, false>(src, dst, len, m)
        }
    }
}

/// One register's result at `p`: streaming when `NT`, through
/// [`ByteMap::put_in_place`] when `IN_PLACE`.
///
/// # Safety
/// `p` is valid for `LANES` writes (and register-aligned when `NT`); ISA available.
#[inline(always)]
unsafe fn put<V: ByteVector, M: ByteMap<V>, const NT: bool, const IN_PLACE: bool>(
    m: M,
    x: V,
    p: *mut u8,
) {
    // SAFETY: forwarded from the caller.
    unsafe {
        if IN_PLACE {
            m.put_in_place(x, p)
        } else if NT {
            m.apply(x).store_stream(p)
        } else {
            m.apply(x).store(p)
        }
    }
}

/// The walk of every u8 kernel.
///
/// A call of at least `ALIGN_MIN_REGISTERS` registers first aligns `dst` with one full
/// register, so no store in the main loop straddles two cache lines (buffers from the
/// allocator are often only 16-byte aligned); when the caller asks (`stream`) an
/// out-of-place call writes around the cache on ISAs with non-temporal stores.
///
/// # Safety
/// The contract of [`UnaryFn`], with `V`'s ISA available.
#[inline(always)]
unsafe fn byte_body<V: ByteVector, M: ByteMap<V>, const NT: bool, const IN_PLACE: bool>(
    src: *const u8,
    dst: *mut u8,
    len: usize,
    m: M,
) {
    let l = V::LANES;
    // SAFETY: every access is at an index `< len`: the partial register covers
    // `0..len` when `len < LANES`; otherwise the head and tail registers are at
    // `0..LANES` and `len - LANES..len` and the blocks inside `h..len - rem` (loop
    // conditions). The head and tail registers are loaded before anything is written
    // and stored last, so in place too they hold the input; every byte they share
    // with a block gets the same value twice (the map is a function of the input
    // byte alone). With NT the head (`h < LANES` bytes) makes `dst + h`
    // register-aligned, as `store_stream` requires, and the blocks of four pages
    // (each a whole number of registers, `blocks` of them from `h`, all ending by
    // `stop`, in either order) keep it so.
    // The ISA is the caller's promise.
    unsafe {
        if len < l {
            m.apply(V::load_partial(src, len)).store_partial(dst, len);
            return;
        }
        let h = if NT || len >= ALIGN_MIN_REGISTERS * l {
            match dst as usize % l {
                0 => 0,
                mis => l - mis,
            }
        } else {
            0
        };
        let rem = (len - h) % l;
        // Full registers over the ragged ends, loaded first (a load that partly
        // overlaps a store still in flight would wait for it).
        let head = if h > 0 { Some(V::load(src)) } else { None };
        let tail = if rem > 0 {
            Some(V::load(src.add(len - l)))
        } else {
            None
        };
        let stop = len - rem;
        let mut i = h;
        if NT {
            // The blocks of four pages, walked down where the output sits a little
            // above the input modulo 4 KiB (`walk_down`; the loads would otherwise
            // wait on the stores' 4 KiB images).
            let page = stream_page::<u8>();
            let blocks = (stop - i) / (4 * page);
            let down = walk_down(dst, &[src]);
            let mut b = 0;
            while b < blocks {
                let block = i + if down { blocks - 1 - b } else { b } * 4 * page;
                let mut j = 0;
                while j < page {
                    let o = if down {
                        page_offsets_down(src, block, page - l - j)
                    } else {
                        page_offsets(src, block, j)
                    };
                    let a = V::load(src.add(o[0]));
                    let b = V::load(src.add(o[1]));
                    let c = V::load(src.add(o[2]));
                    let d = V::load(src.add(o[3]));
                    put::<V, M, NT, IN_PLACE>(m, a, dst.add(o[0]));
                    put::<V, M, NT, IN_PLACE>(m, b, dst.add(o[1]));
                    put::<V, M, NT, IN_PLACE>(m, c, dst.add(o[2]));
                    put::<V, M, NT, IN_PLACE>(m, d, dst.add(o[3]));
                    j += l;
                }
                b += 1;
            }
            i += blocks * 4 * page;
        }
        while i + 4 * l <= stop {
            i = loop_index(i);
            let (s, t) = (src.add(i), dst.add(i));
            let a = V::load(s);
            let b = V::load(s.add(l));
            let c = V::load(s.add(2 * l));
            let d = V::load(s.add(3 * l));
            put::<V, M, NT, IN_PLACE>(m, a, t);
            put::<V, M, NT, IN_PLACE>(m, b, t.add(l));
            put::<V, M, NT, IN_PLACE>(m, c, t.add(2 * l));
            put::<V, M, NT, IN_PLACE>(m, d, t.add(3 * l));
            i += 4 * l;
        }
        while i < stop {
            put::<V, M, NT, IN_PLACE>(m, V::load(src.add(i)), dst.add(i));
            i += l;
        }
        if let Some(t) = tail {
            put::<V, M, false, IN_PLACE>(m, t, dst.add(len - l));
        }
        if let Some(v) = head {
            put::<V, M, false, IN_PLACE>(m, v, dst);
        }
        if NT {
            V::stream_fence();
        }
    }
}

/// Runs the [`Linear`] form `$l` over `[0, $len)` with the variant of the ISA's
/// `$Map<FULL, NEG>` it needs (plain; with the fix above the zero point and the
/// offset origin; with the fix below it too), in the module that defines `$Map`
/// (a macro, not a generic function, so that each ISA's target features reach the
/// code). Must be used inside an `unsafe` block meeting `byte_map`'s contract.
#[macro_export]
#[doc(hidden)]
macro_rules! run_linear_form {
    ($Map:ident, $l:expr, $src:expr, $dst:expr, $len:expr, $stream:expr) => {{
        let l: $crate::int8::Linear = $l;
        if l.is_plain() {
            $crate::int8::byte_map($src, $dst, $len, $Map::<false, false>::new(l), $stream)
        } else if l.has_neg_fix() {
            $crate::int8::byte_map($src, $dst, $len, $Map::<true, true>::new(l), $stream)
        } else {
            $crate::int8::byte_map($src, $dst, $len, $Map::<true, false>::new(l), $stream)
        }
    }};
}

/// Generates the `#[target_feature]` u8 entry points for one ISA (`int8_relu`,
/// `int8_lut`) and its `KERNELS` table ([`Int8Kernels`]). With `lut = path`, the
/// table's lookup is that function instead (an ISA that picks its lookup at run
/// time), and no `int8_lut` is generated.
///
/// Usage: `int8_entry_points!([target_feature(enable = "avx2")], ByteRegisterType);`
#[macro_export]
#[doc(hidden)]
macro_rules! int8_entry_points {
    ([$($attr:meta),*], $V:ty) => {
        $crate::int8_entry_points!(@relu [$($attr),*], $V);

        /// `dst[i] = table[src[i]]` (the table: [`Int8Kernels::int8_lut`]).
        ///
        /// # Safety
        /// See the crate docs ([`crate::UnaryFn`]) and [`Int8Kernels::int8_lut`].
        ///
        /// [`Int8Kernels::int8_lut`]: $crate::int8::Int8Kernels::int8_lut
        $(#[$attr])*
        pub unsafe fn int8_lut(
            src: *const u8,
            dst: *mut u8,
            len: usize,
            p: &$crate::ops::Params<u8>,
            stream: bool,
        ) {
            // SAFETY: forwarded from the caller (contract of `UnaryFn`, and the
            // table's 256 bytes at `p.channel.values`).
            unsafe {
                $crate::int8::int8_lut::<$V>(src, dst, len, $crate::int8::table_of(p), stream)
            }
        }

        /// This module's u8 table. Calling it requires the ISA.
        pub const KERNELS: $crate::int8::Int8Kernels =
            $crate::int8::Int8Kernels { int8_relu, int8_lut };
    };
    ([$($attr:meta),*], $V:ty, lut = $lut:path) => {
        $crate::int8_entry_points!(@relu [$($attr),*], $V);

        /// This module's u8 table. Calling it requires the ISA.
        pub const KERNELS: $crate::int8::Int8Kernels =
            $crate::int8::Int8Kernels { int8_relu, int8_lut: $lut };
    };
    (@relu [$($attr:meta),*], $V:ty) => {
        /// Int8Relu: `dst[i] = max(src[i], zero_point)`.
        ///
        /// # Safety
        /// See the crate docs ([`crate::UnaryFn`]).
        $(#[$attr])*
        pub unsafe fn int8_relu(
            src: *const u8,
            dst: *mut u8,
            len: usize,
            p: &$crate::ops::Params<u8>,
            stream: bool,
        ) {
            // SAFETY: forwarded from the caller (contract of `UnaryFn`).
            unsafe { $crate::int8::int8_relu::<$V>(src, dst, len, p.scalars[0], stream) }
        }
    };
}

#[cfg(test)]
mod tests {
    use super::{Corrected, Linear, LutTable};
    use crate::oracle::int8_leaky_relu_table;

    /// The form for `(alpha, x scale, x zero point, y scale, y zero point)`, fitted
    /// as `Int8LeakyRelu` fits it.
    fn fit(alpha: f32, sx: f32, zx: u8, sy: f32, zy: u8) -> Option<Linear> {
        let table = int8_leaky_relu_table(alpha, sx, zx, sy, zy);
        let slope = f64::from(sx / sy);
        Linear::fit(&table, zx, zy, slope, slope * f64::from(alpha))
    }

    /// Scales 0.05 and 0.043 make no exact ties: a plain form.
    #[test]
    fn plain_form_without_ties() {
        let l = fit(0.01, 0.05, 120, 0.043, 100).unwrap();
        assert!(l.is_plain());
    }

    /// Ratio 1.25 (0.05 / 0.04): above the zero point `1.25 * d` is a tie for every
    /// `d = 2 (mod 4)`, and half of them (`d = 2 (mod 8)`: 2.5, 12.5, ...) round to
    /// the even number below where the form rounds up, a pattern of period 8 the
    /// fix carries. Below it, `1.25 * d * 0.01` in `f32` is exactly -0.5 at
    /// `d = -40` (to 0, up) and -1.5 at `d = -120` (to -2, down): no single
    /// multiplier rounding half up meets both, an offset origin does.
    #[test]
    fn fix_and_offset_for_ties() {
        let table = int8_leaky_relu_table(0.01, 0.05, 120, 0.04, 100);
        // The ties, worked out by hand: x = 122 is d = 2 (2.5 -> 2), x = 126 is
        // d = 6 (7.5 -> 8), x = 0 is d = -120 (-1.5 -> -2), x = 80 is d = -40.
        assert_eq!(
            [table[122], table[126], table[0], table[80]],
            [102, 108, 98, 100]
        );
        let l = fit(0.01, 0.05, 120, 0.04, 100).unwrap();
        assert!(!l.is_plain());
        assert_ne!(l.fix, [0; 16]);
        assert_ne!(l.zero_in_neg, l.zero_in);
        for x in 0..=255u8 {
            assert_eq!(l.eval(x), table[usize::from(x)], "x = {x}");
        }
    }

    /// Alpha 0.5 with equal scales: `(x - 128) / 2` is a tie at every odd x below
    /// the zero point, rounding up and down in turn (-0.5 to 0, -1.5 to -2): a
    /// pattern of period 4 below the zero point, the negative side's fix.
    #[test]
    fn negative_fix_for_alternating_ties() {
        let table = int8_leaky_relu_table(0.5, 1.0, 128, 1.0, 128);
        // By hand: x = 127 is -0.5 (to 0: 128), x = 125 is -1.5 (to -2: 126).
        assert_eq!([table[127], table[125]], [128, 126]);
        let l = fit(0.5, 1.0, 128, 1.0, 128).unwrap();
        assert!(l.has_neg_fix() && !l.is_plain());
        for x in 0..=255u8 {
            assert_eq!(l.eval(x), table[usize::from(x)], "x = {x}");
        }
    }

    /// Ratio 1.0625 (17/16): `17 * d / 16` is a tie at every `d = 8 (mod 16)`, and
    /// which of them round down repeats every 32 inputs, longer than a fix; no form.
    #[test]
    fn no_form_for_ties_with_a_long_period() {
        assert_eq!(fit(0.01, 1.0625, 128, 1.0, 128), None);
    }

    /// Ratio 17/16 has no linear form but a corrected one: the plain form rounds the
    /// ties at `d = 8 + 16k` (`d * 17/16 = 8.5 + 17k`) up, the table to even, which
    /// is down for every other one of them (8.5 -> 8, 25.5 -> 26, 42.5 -> 42, ...).
    #[test]
    fn corrected_form_for_ties_with_a_long_period() {
        let table = int8_leaky_relu_table(0.01, 1.0625, 128, 1.0, 128);
        let c = Corrected::fit(&table, 128, 128, 1.0625, 0.010625).unwrap();
        for x in 0..=255u8 {
            assert_eq!(c.eval(x), table[usize::from(x)], "x = {x}");
        }
        // By hand: x = 136 is d = 8, 8.5 rounds to 8 (136); x = 152 is d = 24,
        // 25.5 rounds to 26 (154); x = 168 is d = 40, 42.5 to 42 (170).
        assert_eq!((table[136], table[152], table[168]), (136, 154, 170));
        let bit = |x: u8| (c.bits[usize::from(x >> 3)] >> (x & 7)) & 1;
        assert_eq!((bit(136), bit(152), bit(168)), (1, 0, 1));
    }

    /// Every set of a grid of short scale ratios (k/16, 0.25 to 4), alphas and zero
    /// points has a linear or a corrected form, and each gives its table.
    #[test]
    fn short_ratios_have_a_form() {
        let (mut linear, mut corrected) = (0, 0);
        for k in 4..=64u8 {
            let ratio = f32::from(k) / 16.0;
            for alpha in [0.01f32, 0.1, 0.125, 0.2, 0.25, 0.3, 0.5, 1.0] {
                for (zx, zy) in [(128u8, 128u8), (120, 100), (0, 0), (10, 200)] {
                    let table = int8_leaky_relu_table(alpha, ratio, zx, 1.0, zy);
                    let slope = f64::from(ratio);
                    let neg = slope * f64::from(alpha);
                    if let Some(l) = Linear::fit(&table, zx, zy, slope, neg) {
                        assert!((0..=255u8).all(|x| l.eval(x) == table[usize::from(x)]));
                        linear += 1;
                        // NEON takes the corrected form over a form with a fix.
                        let t = LutTable::with_linear(table, zx, zy, slope, neg);
                        assert_eq!(t.corrected().is_some(), !l.is_plain());
                        if let Some(c) = t.corrected() {
                            assert!((0..=255u8).all(|x| c.eval(x) == table[usize::from(x)]));
                        }
                    } else {
                        let c = Corrected::fit(&table, zx, zy, slope, neg)
                            .unwrap_or_else(|| panic!("{ratio} {alpha} {zx} {zy}"));
                        assert!((0..=255u8).all(|x| c.eval(x) == table[usize::from(x)]));
                        corrected += 1;
                    }
                }
            }
        }
        assert!(linear > 0 && corrected > 0, "{linear} {corrected}");
    }
}
