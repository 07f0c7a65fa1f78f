//! The 16-bit floats' [`Vector`] impl, written once: [`Half`] over the 16-bit integer
//! register operations of [`Lanes16`], which each ISA supplies, and a [`Format16`]
//! that names the element type (binary16 or bfloat16, a [`Float16`]) and the product.
//!
//! The scheme, the same on every ISA:
//!
//! - **Compares are integer-only.** A 16-bit float is sign-magnitude, so its order key
//!   `sign ? -|x| : |x|` (an `i16`; ±0 both map to 0) orders the non-NaN values exactly
//!   as IEEE does, and a lane compares true only if neither side is NaN
//!   (`|x| > inf bits`). What the kernel bodies ask is cheaper: `x < 0`, `y > 0` and
//!   `0 < y < n` are ranges of the bits, each one wrapping add and one signed compare
//!   (`in_range`; signed, because AVX2 has no unsigned 16-bit compare).
//! - **Selects are bitwise**, so a value passed through keeps its bits, NaN payloads and
//!   -0.0 included. relu clears the negative lanes; relu_n is fused into one shifted
//!   signed minimum when `n` is in `+0..=+inf` ([`Lanes16::relu_n_fused`]).
//! - **The product** `a * x` is formed in `f32` from the exact widenings and rounded
//!   once, to nearest even, with gradual underflow: [`Lanes16::mul_f16`] and
//!   [`Lanes16::mul_bf16`], the one part written per ISA (F16C and AVX-512
//!   conversions on x86, integer conversions on NEON and `wide`).

use core::marker::PhantomData;
use core::mem::MaybeUninit;
use core::ptr;

use crate::half::{Bf16, F16};
use crate::vector::{LeakyShape, Vector};

/// A SIMD register of `LANES` 16-bit integer lanes, with the operations [`Half`] is
/// written with. Each method is one or two instructions, always inlined.
///
/// # Safety
///
/// Implementations must be plain SIMD registers of exactly `LANES * 2` bytes (the
/// default partial load/store methods spill through a stack copy of `Self`). Every
/// method may only be called on a CPU that supports the implementing ISA (for
/// [`Lanes16::mul_f16`], whatever its conversions need besides, as its impl says);
/// pointer arguments must be valid for the accesses each method's doc names. A mask
/// holds one truth value per lane. (This section covers every method below.)
#[allow(clippy::missing_safety_doc)]
pub unsafe trait Lanes16: Copy {
    /// The result of a lane-wise comparison.
    type Mask: Copy;
    /// Number of 16-bit lanes.
    const LANES: usize;

    /// All lanes set to `x`.
    unsafe fn splat(x: u16) -> Self;
    /// All lanes 0.
    unsafe fn zero() -> Self;
    /// Loads `LANES` lanes from `p` (no alignment needed).
    unsafe fn load(p: *const u16) -> Self;
    /// Stores `LANES` lanes to `p` (no alignment needed).
    unsafe fn store(self, p: *mut u16);

    /// Loads `n < LANES` lanes from `p`, touching no memory past `p + n`; the other
    /// lanes are 0. Default: through a stack copy of one register.
    #[inline(always)]
    unsafe fn load_partial(p: *const u16, n: usize) -> Self {
        let mut buf = MaybeUninit::<Self>::uninit();
        let bp = buf.as_mut_ptr().cast::<u16>();
        // SAFETY: `buf` has room for exactly LANES lanes (trait contract) and is fully
        // initialised by the zero store before the `n <= LANES` lanes are copied over
        // it. The caller guarantees `p` is valid for `n` reads.
        unsafe {
            Self::zero().store(bp);
            ptr::copy_nonoverlapping(p, bp, n);
            Self::load(bp)
        }
    }

    /// Stores the first `n < LANES` lanes to `p`, touching no memory past `p + n`.
    /// Default: through a stack copy of one register.
    #[inline(always)]
    unsafe fn store_partial(self, p: *mut u16, n: usize) {
        let mut buf = MaybeUninit::<Self>::uninit();
        let bp = buf.as_mut_ptr().cast::<u16>();
        // SAFETY: `buf` holds LANES lanes and is initialised by the store; the caller
        // guarantees `p` is valid for `n <= LANES` writes.
        unsafe {
            self.store(bp);
            ptr::copy_nonoverlapping(bp, p, n);
        }
    }

    /// Whether [`Lanes16::store_stream`] bypasses the caches ([`Vector::STREAMS`]).
    const STREAMS: bool = false;

    /// [`Vector::store_stream`]: `p` aligned to the register size. Default: a plain
    /// store.
    #[inline(always)]
    unsafe fn store_stream(self, p: *mut u16) {
        // SAFETY: forwarded from the caller.
        unsafe { self.store(p) }
    }

    /// [`Vector::stream_fence`]. Default: nothing.
    #[inline(always)]
    unsafe fn stream_fence() {}

    /// Whether [`Lanes16::store_masked`] is a real masked store
    /// ([`Vector::MASKED_STORE`]).
    const MASKED_STORE: bool = false;

    /// Stores the lanes selected by `m` to `p` (`LANES` lanes valid for reads and
    /// writes); the others keep their bits. Default: a read-modify-write.
    #[inline(always)]
    unsafe fn store_masked(self, p: *mut u16, m: Self::Mask) {
        // SAFETY: forwarded from the caller (p valid for LANES reads and writes).
        unsafe { Self::select(m, self, Self::load(p)).store(p) }
    }

    /// Lane-wise wrapping `a + b`.
    unsafe fn add(a: Self, b: Self) -> Self;
    /// Lane-wise wrapping `a - b`.
    unsafe fn sub(a: Self, b: Self) -> Self;
    /// Bitwise `a & b`.
    unsafe fn and(a: Self, b: Self) -> Self;
    /// Bitwise `a ^ b`.
    unsafe fn xor(a: Self, b: Self) -> Self;

    /// The sign-split order key of each lane, as an `i16`: the bits where the sign is
    /// clear, and `x ^ 0x7fff`, that is `-1 - |x|`, where it is set. It orders every
    /// number as IEEE does, except that `-0` (key `-1`) lies just below `+0` (key
    /// `0`); the NaNs lie beyond both infinities (clip's gradient, `key_range`).
    /// Default: a compare (or shift) for the sign, a mask and a xor, three
    /// instructions without a select (a `v128.bitselect` is three under wasmtime).
    #[inline(always)]
    unsafe fn split_key(x: Self) -> Self {
        // SAFETY: forwarded from the caller (ISA available).
        unsafe {
            Self::xor(
                x,
                Self::keep(Self::lt_i16(x, Self::zero()), Self::splat(0x7FFF)),
            )
        }
    }
    /// Lane-wise minimum of the lanes read as `i16`.
    unsafe fn min_i16(a: Self, b: Self) -> Self;
    /// Lane-wise minimum of the lanes read as `u16`.
    unsafe fn min_u16(a: Self, b: Self) -> Self;
    /// Lane-wise `a < b` of the lanes read as `i16`.
    unsafe fn lt_i16(a: Self, b: Self) -> Self::Mask;
    /// Lane-wise `a > b` of the lanes read as `i16`.
    unsafe fn gt_i16(a: Self, b: Self) -> Self::Mask;
    /// Lane-wise AND of two masks.
    unsafe fn mask_and(a: Self::Mask, b: Self::Mask) -> Self::Mask;
    /// Lane-wise `m ? t : f`, bit for bit.
    unsafe fn select(m: Self::Mask, t: Self, f: Self) -> Self;
    /// `m ? 0 : v`.
    unsafe fn clear(m: Self::Mask, v: Self) -> Self;
    /// `m ? v : 0`.
    unsafe fn keep(m: Self::Mask, v: Self) -> Self;
    /// Whether `m` holds in every lane.
    unsafe fn all(m: Self::Mask) -> bool;

    /// The binary16 product of the lanes, formed in `f32` from the exact widenings and
    /// rounded once to nearest even (subnormals produced, overflow to infinity, a NaN
    /// quieted with its top payload bits kept: [`F16::from_f32`]).
    unsafe fn mul_f16(a: Self, b: Self) -> Self;
    /// The bfloat16 product of the lanes, likewise ([`Bf16::from_f32`]).
    ///
    /// The rounding of the `f32` product `x` can be the integer one on its bits,
    /// `(x + 0x7fff + lsb) >> 16`, with no NaN path: a NaN product of two bf16 values
    /// is a quieted operand or the default NaN, whose low 16 bits are zero, so the
    /// sum cannot carry into the top half and the result is `x >> 16` with the quiet
    /// bit set, the oracle's NaN narrowing. (No lane overflows: the largest non-NaN
    /// magnitude is `0x7f80_0000`.)
    unsafe fn mul_bf16(a: Self, b: Self) -> Self;

    /// leaky_relu's parts for binary16 ([`Format16::leaky_parts`] of [`F16`]): the
    /// lanes where `x < 0`, and `a * x` wherever they hold (other lanes may hold
    /// anything). Default: every lane's [`Lanes16::mul_f16`].
    #[inline(always)]
    unsafe fn leaky_parts_f16(x: Self, a: Self) -> (Self::Mask, Self) {
        // SAFETY: forwarded from the caller (ISA available).
        unsafe { (negative(x, F16::INFINITY_BITS), Self::mul_f16(a, x)) }
    }

    /// leaky_relu by the select for binary16 ([`Format16::leaky_select`] of [`F16`]).
    /// Default: [`Lanes16::leaky_parts_f16`] and a select.
    #[inline(always)]
    unsafe fn leaky_select_f16(x: Self, a: Self) -> Self {
        // SAFETY: forwarded from the caller (ISA available).
        unsafe {
            let (negative, product) = Self::leaky_parts_f16(x, a);
            Self::select(negative, product, x)
        }
    }

    /// [`Lanes16::leaky_select_f16`] of four registers. Default: the four registers'
    /// [`Lanes16::leaky_parts_f16`], then the four selects.
    #[inline(always)]
    unsafe fn leaky_select4_f16(x: [Self; 4], a: Self) -> [Self; 4] {
        // SAFETY: forwarded from the caller (ISA available).
        unsafe {
            let p = [
                Self::leaky_parts_f16(x[0], a),
                Self::leaky_parts_f16(x[1], a),
                Self::leaky_parts_f16(x[2], a),
                Self::leaky_parts_f16(x[3], a),
            ];
            [
                Self::select(p[0].0, p[0].1, x[0]),
                Self::select(p[1].0, p[1].1, x[1]),
                Self::select(p[2].0, p[2].1, x[2]),
                Self::select(p[3].0, p[3].1, x[3]),
            ]
        }
    }

    /// `keep ? other : a * b` for binary16 ([`Format16::mul_unless`] of [`F16`]).
    /// Default: [`Lanes16::mul_f16`] and a select.
    #[inline(always)]
    unsafe fn mul_unless_f16(a: Self, b: Self, keep: Self::Mask, other: Self) -> Self {
        // SAFETY: forwarded from the caller (ISA available).
        unsafe { Self::select(keep, other, Self::mul_f16(a, b)) }
    }

    /// leaky_relu by the select for bfloat16 ([`Format16::leaky_select`] of
    /// [`Bf16`]). Default: the negative lanes, [`Lanes16::mul_bf16`] and a select.
    #[inline(always)]
    unsafe fn leaky_select_bf16(x: Self, a: Self) -> Self {
        // SAFETY: forwarded from the caller (ISA available).
        unsafe {
            let negative = negative(x, Bf16::INFINITY_BITS);
            Self::select(negative, Self::mul_bf16(a, x), x)
        }
    }

    /// [`Lanes16::leaky_select_bf16`] of four registers. Default: the four
    /// registers' masks and products, then the four selects.
    #[inline(always)]
    unsafe fn leaky_select4_bf16(x: [Self; 4], a: Self) -> [Self; 4] {
        // SAFETY: forwarded from the caller (ISA available).
        unsafe {
            let inf = Bf16::INFINITY_BITS;
            let p = [
                (negative(x[0], inf), Self::mul_bf16(a, x[0])),
                (negative(x[1], inf), Self::mul_bf16(a, x[1])),
                (negative(x[2], inf), Self::mul_bf16(a, x[2])),
                (negative(x[3], inf), Self::mul_bf16(a, x[3])),
            ];
            [
                Self::select(p[0].0, p[0].1, x[0]),
                Self::select(p[1].0, p[1].1, x[1]),
                Self::select(p[2].0, p[2].1, x[2]),
                Self::select(p[3].0, p[3].1, x[3]),
            ]
        }
    }

    /// `keep ? other : a * b` for bfloat16 ([`Format16::mul_unless`] of [`Bf16`]).
    /// Default: [`Lanes16::mul_bf16`] and a select.
    #[inline(always)]
    unsafe fn mul_unless_bf16(a: Self, b: Self, keep: Self::Mask, other: Self) -> Self {
        // SAFETY: forwarded from the caller (ISA available).
        unsafe { Self::select(keep, other, Self::mul_bf16(a, b)) }
    }

    /// relu then the clip at `n`, for `n` in `+0..=+inf` in every lane (bits
    /// `0..=inf`), `inf` the format's infinity.
    ///
    /// Subtracting `inf + 1` (wrapping), as the one-pass clip does (`clip_both`),
    /// moves the bits so that, read as `u16`, `+0..=+inf` are the largest values, in
    /// order, above every NaN and negative, and, read as `i16`, the numbers below `-0`
    /// are exactly the values above `-0`'s moved bits (`0x7fff - inf`; the positive
    /// NaNs lie below, the positive numbers and negative NaNs are negative). So one
    /// unsigned minimum with the moved `n` clips exactly the values above `n`, one
    /// signed compare finds exactly the lanes where `x < 0`, and the sum that moves
    /// back is cleared there: five instructions (the moved `n` is loop-invariant),
    /// where relu and the clip each take three. (A minimum cannot write relu's `+0`
    /// itself: the positive NaNs sit between `+0` and the negatives in every
    /// rotation of the bits.)
    #[inline(always)]
    unsafe fn relu_n_fused(x: Self, n: Self, inf: u16) -> Self {
        // SAFETY: forwarded from the caller (ISA available).
        unsafe {
            let shift = Self::splat(inf.wrapping_add(1));
            let moved = Self::sub(x, shift);
            let negative = Self::gt_i16(moved, Self::splat(0x7FFF - inf));
            let clipped = Self::min_u16(moved, Self::sub(n, shift));
            Self::clear(negative, Self::add(clipped, shift))
        }
    }
}

/// [`Lanes16::relu_n_fused`] with a signed minimum, for registers whose unsigned
/// 16-bit minimum is not one instruction (SSE2, the portable build's x86-64 baseline):
/// adding `c = 0x7fff - inf` (wrapping) moves `+0..=+inf` to `c..=i16::MAX` and the
/// positive NaNs and -0.0 to negative `i16`s, the negative NaNs to `0..c`, so a signed
/// minimum with `n + c` clips exactly the values above `n`; subtracting `c` moves
/// back, and the lanes where `x < 0` are cleared. Six instructions.
#[cfg(all(target_arch = "x86_64", not(target_feature = "sse4.1")))]
#[inline(always)]
pub(crate) unsafe fn relu_n_signed_min<L: Lanes16>(x: L, n: L, inf: u16) -> L {
    // SAFETY: forwarded from the caller (ISA available).
    unsafe {
        let c = L::splat(0x7FFF - inf);
        let t = L::add(x, c);
        let clipped = L::sub(L::min_i16(t, L::add(n, c)), c);
        L::clear(negative(x, inf), clipped)
    }
}

/// A 16-bit float element type: its bits, and those of `+inf`.
///
/// # Safety
///
/// The type must be `#[repr(transparent)]` over `u16`: registers are loaded and
/// stored through pointer casts.
pub unsafe trait Float16: Copy + 'static {
    /// The bits of `+inf`.
    const INFINITY_BITS: u16;
    /// The bits of `self`.
    fn bits(self) -> u16;
    /// The value, exactly.
    fn to_f32(self) -> f32;
}

// SAFETY: `F16` is `#[repr(transparent)]` over `u16`.
unsafe impl Float16 for F16 {
    const INFINITY_BITS: u16 = F16::INFINITY_BITS;
    #[inline(always)]
    fn bits(self) -> u16 {
        self.0
    }
    #[inline(always)]
    fn to_f32(self) -> f32 {
        F16::to_f32(self)
    }
}

// SAFETY: `Bf16` is `#[repr(transparent)]` over `u16`.
unsafe impl Float16 for Bf16 {
    const INFINITY_BITS: u16 = Bf16::INFINITY_BITS;
    #[inline(always)]
    fn bits(self) -> u16 {
        self.0
    }
    #[inline(always)]
    fn to_f32(self) -> f32 {
        Bf16::to_f32(self)
    }
}

/// A 16-bit float format on the lanes `L`: its element type and how it forms
/// products. [`F16`] and [`Bf16`] are formats on every [`Lanes16`] (their product is
/// the lanes' own); an ISA may add a format of its own that forms the product
/// another way (AVX-512's `Bf16Ne`).
///
/// # Safety
///
/// The methods have [`Lanes16`]'s contract: the CPU supports the ISA of `L` (and
/// what the format's product needs besides).
#[allow(clippy::missing_safety_doc)]
pub trait Format16<L: Lanes16>: 'static {
    /// The element type.
    type Elem: Float16;

    /// The product of the lanes, formed in `f32` and rounded once
    /// ([`Vector::mul`]).
    unsafe fn mul(a: L, b: L) -> L;

    /// `keep ? other : a * b` per lane ([`Vector::mul_unless`]). Default: the
    /// product and a select.
    #[inline(always)]
    unsafe fn mul_unless(a: L, b: L, keep: L::Mask, other: L) -> L {
        // SAFETY: forwarded from the caller (ISA available).
        unsafe { L::select(keep, other, Self::mul(a, b)) }
    }

    /// leaky_relu's parts ([`Vector::leaky_parts`]): the lanes where `x < 0`, and
    /// `a * x`.
    #[inline(always)]
    unsafe fn leaky_parts(x: L, a: L) -> (L::Mask, L) {
        // SAFETY: forwarded from the caller (ISA available).
        unsafe { (Self::negative(x), Self::mul(a, x)) }
    }

    /// `x < 0` per lane ([`Vector::negative`]). Default: a range of the bits.
    #[inline(always)]
    unsafe fn negative(x: L) -> L::Mask {
        // SAFETY: forwarded from the caller (ISA available).
        unsafe { negative(x, Self::Elem::INFINITY_BITS) }
    }

    /// `x > 0` per lane ([`Vector::positive`]). Default: a range of the bits.
    #[inline(always)]
    unsafe fn positive(x: L) -> L::Mask {
        // SAFETY: forwarded from the caller (ISA available).
        unsafe { positive(x, Self::Elem::INFINITY_BITS) }
    }

    /// The oracle's relu ([`Vector::relu`]). Default: the negative lanes cleared.
    #[inline(always)]
    unsafe fn relu(x: L) -> L {
        // SAFETY: forwarded from the caller (ISA available).
        unsafe { L::clear(Self::negative(x), x) }
    }

    /// relu_n for an `n` in `+0..=+inf` ([`Vector::relu_n_fused`]). Default:
    /// [`Lanes16::relu_n_fused`].
    #[inline(always)]
    unsafe fn relu_n_fused(x: L, n: L) -> L {
        // SAFETY: forwarded from the caller (ISA available).
        unsafe { L::relu_n_fused(x, n, Self::Elem::INFINITY_BITS) }
    }

    /// IEEE `a < b` per lane, false where either is NaN ([`Vector::lt`]). Default:
    /// integer compares of the order keys.
    #[inline(always)]
    unsafe fn lt(a: L, b: L) -> L::Mask {
        // SAFETY: forwarded from the caller (ISA available).
        unsafe { less(a, b, Self::Elem::INFINITY_BITS) }
    }

    /// `x > n ? n : x` per lane, a NaN `x` passing through ([`Vector::clip_above`]).
    #[inline(always)]
    unsafe fn clip_above(x: L, n: L) -> L {
        // SAFETY: forwarded from the caller (ISA available).
        unsafe { clip_above(x, n, Self::Elem::INFINITY_BITS) }
    }

    /// `x < n ? n : x` per lane, a NaN `x` passing through ([`Vector::clip_below`]).
    #[inline(always)]
    unsafe fn clip_below(x: L, n: L) -> L {
        // SAFETY: forwarded from the caller (ISA available).
        unsafe { clip_below(x, n, Self::Elem::INFINITY_BITS) }
    }

    /// Whether the clip bounds take the integer forms of [`Vector::clip_forms`] (those
    /// of the default `clip_above` and `clip_below`, which test the bound in every
    /// register). A format whose bounds are single instructions sets it false.
    const CLIP_FORMS: bool = true;

    /// [`Format16::leaky_parts`] of four registers ([`Vector::leaky_parts4`]).
    #[inline(always)]
    unsafe fn leaky_parts4(x: [L; 4], a: L) -> [(L::Mask, L); 4] {
        // SAFETY: forwarded from the caller (ISA available).
        unsafe {
            [
                Self::leaky_parts(x[0], a),
                Self::leaky_parts(x[1], a),
                Self::leaky_parts(x[2], a),
                Self::leaky_parts(x[3], a),
            ]
        }
    }

    /// leaky_relu by the select ([`Vector::leaky`] for [`LeakyShape::Select`]).
    /// Default: [`Format16::leaky_parts`] and a select; a format whose product ends
    /// in an instruction that can merge under a mask may fold the select into it.
    #[inline(always)]
    unsafe fn leaky_select(x: L, a: L) -> L {
        // SAFETY: forwarded from the caller (ISA available).
        unsafe {
            let (negative, product) = Self::leaky_parts(x, a);
            L::select(negative, product, x)
        }
    }

    /// [`Format16::leaky_select`] of four registers ([`Vector::leaky4`]). Default:
    /// [`Format16::leaky_parts4`] and four selects.
    #[inline(always)]
    unsafe fn leaky_select4(x: [L; 4], a: L) -> [L; 4] {
        // SAFETY: forwarded from the caller (ISA available).
        unsafe {
            let p = Self::leaky_parts4(x, a);
            [
                L::select(p[0].0, p[0].1, x[0]),
                L::select(p[1].0, p[1].1, x[1]),
                L::select(p[2].0, p[2].1, x[2]),
                L::select(p[3].0, p[3].1, x[3]),
            ]
        }
    }

    /// Whether [`Format16::leaky_minmax`] exists ([`Vector::LEAKY_SHAPES`]).
    /// Default: false.
    const LEAKY_SHAPES: bool = false;

    /// leaky_relu as a product and a maximum ([`LeakyShape::Max`]) or minimum
    /// ([`LeakyShape::Min`]), with `x` the second operand ([`Vector::leaky`]); only
    /// called where [`Format16::LEAKY_SHAPES`]. Default: the select.
    #[inline(always)]
    unsafe fn leaky_minmax(x: L, a: L, shape: LeakyShape) -> L {
        let _ = shape;
        // SAFETY: forwarded from the caller (ISA available).
        unsafe {
            let (negative, product) = Self::leaky_parts(x, a);
            L::select(negative, product, x)
        }
    }
}

impl<L: Lanes16> Format16<L> for F16 {
    type Elem = F16;
    #[inline(always)]
    unsafe fn mul(a: L, b: L) -> L {
        // SAFETY: forwarded from the caller (ISA available).
        unsafe { L::mul_f16(a, b) }
    }
    #[inline(always)]
    unsafe fn leaky_parts(x: L, a: L) -> (L::Mask, L) {
        // SAFETY: forwarded from the caller (ISA available).
        unsafe { L::leaky_parts_f16(x, a) }
    }
    #[inline(always)]
    unsafe fn mul_unless(a: L, b: L, keep: L::Mask, other: L) -> L {
        // SAFETY: forwarded from the caller (ISA available).
        unsafe { L::mul_unless_f16(a, b, keep, other) }
    }
    #[inline(always)]
    unsafe fn leaky_select(x: L, a: L) -> L {
        // SAFETY: forwarded from the caller (ISA available).
        unsafe { L::leaky_select_f16(x, a) }
    }
    #[inline(always)]
    unsafe fn leaky_select4(x: [L; 4], a: L) -> [L; 4] {
        // SAFETY: forwarded from the caller (ISA available).
        unsafe { L::leaky_select4_f16(x, a) }
    }
}

impl<L: Lanes16> Format16<L> for Bf16 {
    type Elem = Bf16;
    #[inline(always)]
    unsafe fn mul(a: L, b: L) -> L {
        // SAFETY: forwarded from the caller (ISA available).
        unsafe { L::mul_bf16(a, b) }
    }
    #[inline(always)]
    unsafe fn mul_unless(a: L, b: L, keep: L::Mask, other: L) -> L {
        // SAFETY: forwarded from the caller (ISA available).
        unsafe { L::mul_unless_bf16(a, b, keep, other) }
    }
    #[inline(always)]
    unsafe fn leaky_select(x: L, a: L) -> L {
        // SAFETY: forwarded from the caller (ISA available).
        unsafe { L::leaky_select_bf16(x, a) }
    }
    #[inline(always)]
    unsafe fn leaky_select4(x: [L; 4], a: L) -> [L; 4] {
        // SAFETY: forwarded from the caller (ISA available).
        unsafe { L::leaky_select4_bf16(x, a) }
    }
}

/// A format's conversion round trip on `L`: widen to `f32` and narrow back, the way
/// its products do, with nothing between. Not an op: the roof that the 16-bit
/// products are measured against (the report's `convert-only-*` rows), since every
/// product pays these conversions.
///
/// # Safety
///
/// As [`Format16`]: the CPU supports the ISA of `L` and the conversions.
#[allow(clippy::missing_safety_doc)]
pub trait RoundTrip<L: Lanes16>: Format16<L> {
    /// `x` widened to `f32` and narrowed back: the bits of `x` for every number the
    /// narrowing handles (a format may read a subnormal `f32` as zero where its
    /// products test for one), a NaN of the same sign for a NaN.
    unsafe fn round_trip(x: L) -> L;
}

/// [`RoundTrip::round_trip`] over `x` into `y` (the shorter length of the two), whole
/// registers then one partial register.
///
/// # Safety
///
/// The CPU supports the ISA of `L` and `F`'s conversions.
#[inline(always)]
#[cfg_attr(not(target_arch = "x86_64"), allow(dead_code))] // only x86 has round trips
pub(crate) unsafe fn round_trip_loop<L: Lanes16, F: RoundTrip<L>>(
    x: &[F::Elem],
    y: &mut [F::Elem],
) {
    let n = x.len().min(y.len());
    let (xp, yp) = (x.as_ptr().cast::<u16>(), y.as_mut_ptr().cast::<u16>());
    let mut i = 0;
    // SAFETY: each access covers lanes i..i + LANES (or the last n - i) of both slices,
    // inside their first n elements; elements are transparent `u16`s (`Float16`).
    unsafe {
        while i + L::LANES <= n {
            F::round_trip(L::load(xp.add(i))).store(yp.add(i));
            i += L::LANES;
        }
        if i < n {
            F::round_trip(L::load_partial(xp.add(i), n - i)).store_partial(yp.add(i), n - i);
        }
    }
}

/// Where the bits of `v` are in `lo..=hi` (a range narrower than `0x7fff`): a wrapping
/// add moves `lo` to `i16::MIN`, so the range becomes the bottom of the signed order,
/// below `i16::MIN + (hi - lo) + 1`, and one signed compare finds it.
#[inline(always)]
pub(crate) unsafe fn in_range<L: Lanes16>(v: L, lo: u16, hi: u16) -> L::Mask {
    debug_assert!(lo <= hi && hi - lo < 0x7FFF);
    let above = (i16::MIN + (hi - lo) as i16 + 1) as u16;
    // SAFETY: forwarded from the caller (ISA available).
    unsafe {
        L::lt_i16(
            L::add(v, L::splat(0x8000u16.wrapping_sub(lo))),
            L::splat(above),
        )
    }
}

/// Where `x < 0`: bits in `0x8001..=0x8000 | inf` (not -0.0, not NaN).
#[inline(always)]
pub(crate) unsafe fn negative<L: Lanes16>(x: L, inf: u16) -> L::Mask {
    // SAFETY: forwarded from the caller (ISA available).
    unsafe { in_range(x, 0x8001, 0x8000 | inf) }
}

/// Whether every lane of leaky_relu's slope `a` is finite with its sign clear (bits
/// `0..inf`: every slope the crate accepts but `-0.0`). Then
/// `a * -0.0` is `-0.0`, so the `-0.0` lanes may take the product with the negative
/// ones ([`product_lanes`]).
#[cfg(target_arch = "x86_64")]
#[inline(always)]
pub(crate) unsafe fn plain_slope<L: Lanes16>(a: L, inf: u16) -> bool {
    // SAFETY: forwarded from the caller (ISA available).
    unsafe { L::all(in_range(a, 0, inf - 1)) }
}

/// leaky_relu's product lanes under a [`plain_slope`]: `-0.0..=-inf`, the bits
/// `0x8000..=0x8000 | inf`, which as `i16` are those below `0x8001 | inf`: one signed
/// compare, where `x < 0` ([`negative`]) takes an add and a compare. Used by the
/// AVX-512 kernels, whose compares write mask registers (on AVX2 it measured no
/// faster: `docs/PERFORMANCE.md`).
#[cfg(target_arch = "x86_64")]
#[inline(always)]
pub(crate) unsafe fn product_lanes<L: Lanes16>(x: L, inf: u16) -> L::Mask {
    // SAFETY: forwarded from the caller (ISA available).
    unsafe { L::lt_i16(x, L::splat(0x8001 | inf)) }
}

/// Where `x > 0`: bits in `1..=inf`.
#[inline(always)]
pub(crate) unsafe fn positive<L: Lanes16>(x: L, inf: u16) -> L::Mask {
    // SAFETY: forwarded from the caller (ISA available).
    unsafe { in_range(x, 1, inf) }
}

/// Whether every lane of `n` is in `+0..=+inf` (bits `0..=inf`).
#[inline(always)]
pub(crate) unsafe fn all_non_negative<L: Lanes16>(n: L, inf: u16) -> bool {
    // SAFETY: forwarded from the caller (ISA available).
    unsafe { L::all(in_range(n, 0, inf)) }
}

/// The order key `sign ? -|x| : |x|` of each lane, as an `i16`: a sign-set `x` is
/// `0x8000 | |x|`, and `0x8000 - x` wraps to `-|x|`.
#[inline(always)]
unsafe fn order_key<L: Lanes16>(x: L) -> L {
    // SAFETY: forwarded from the caller (ISA available).
    unsafe {
        let sign_set = L::lt_i16(x, L::zero());
        L::select(sign_set, L::sub(L::splat(0x8000), x), x)
    }
}

/// The open interval of sign-split keys ([`Lanes16::split_key`]) that holds exactly
/// the `y` with IEEE's `min < y < max` (bit patterns, not NaN), as `(bias, limit)`: a
/// lane's key `k` is inside exactly when `k + bias < limit` as `i16`. The keys order numbers
/// as IEEE does, and NaNs lie beyond both infinities; only the zeros differ (`-0`
/// below `+0`), so a zero bound takes the key that leaves both zeros out: `+0`'s as
/// the lower bound, `-0`'s as the upper. One wrapping add and one signed compare per
/// register, where two general compares take a dozen instructions. `bias` moves the
/// first key inside, `key(min) + 1`, to `i16::MIN`; the interval is at most
/// `2 * inf` keys wide, so its end, `i16::MIN + width`, is an `i16` (`i16::MIN`
/// itself when it is empty).
fn key_range(min: u16, max: u16) -> (u16, u16) {
    let key = |b: u16| -> i32 {
        if b & 0x8000 != 0 {
            -1 - i32::from(b & 0x7FFF)
        } else {
            i32::from(b)
        }
    };
    let lo = if min & 0x7FFF == 0 { 0 } else { key(min) };
    let hi = if max & 0x7FFF == 0 { -1 } else { key(max) };
    let width = (hi - lo - 1).max(0);
    // Both wrap to 16 bits on purpose: `bias` as a wrapping addend, `limit` as the
    // `i16` `i16::MIN + width`.
    let bias = (0x8000 - (lo + 1)) as u16;
    let limit = (0x8000 + width) as u16;
    (bias, limit)
}

/// Where `x` is not NaN (`|x| <= inf`; both sides of the compare are non-negative
/// `i16`s).
#[inline(always)]
unsafe fn ordered<L: Lanes16>(x: L, inf: u16) -> L::Mask {
    // SAFETY: forwarded from the caller (ISA available).
    unsafe { L::lt_i16(L::and(x, L::splat(0x7FFF)), L::splat(inf + 1)) }
}

/// IEEE `a < b` per lane (false where either is NaN).
#[inline(always)]
unsafe fn less<L: Lanes16>(a: L, b: L, inf: u16) -> L::Mask {
    // SAFETY: forwarded from the caller (ISA available).
    unsafe {
        let lt = L::lt_i16(order_key(a), order_key(b));
        L::mask_and(lt, L::mask_and(ordered(a, inf), ordered(b, inf)))
    }
}

/// `x > n ? n : x` per lane. When `n` is in `+0..=+inf` in every lane (a splatted
/// parameter: the test is loop-invariant), the signed minimum of the bits clips the
/// positive `x` above `n` and keeps every sign-set `x` (negative as `i16`, so below
/// `n`); only the positive NaNs are put back. Otherwise a select on the general
/// [`less`].
#[inline(always)]
unsafe fn clip_above<L: Lanes16>(x: L, n: L, inf: u16) -> L {
    // SAFETY: forwarded from the caller (ISA available).
    unsafe {
        if all_non_negative(n, inf) {
            clip_above_min(x, n, inf)
        } else {
            clip_above_general(x, n, inf)
        }
    }
}

/// [`clip_above`] for an `n` in `+0..=+inf` in every lane: the signed minimum.
#[inline(always)]
unsafe fn clip_above_min<L: Lanes16>(x: L, n: L, inf: u16) -> L {
    // SAFETY: forwarded from the caller (ISA available).
    unsafe {
        let positive_nan = L::gt_i16(x, L::splat(inf));
        L::select(positive_nan, x, L::min_i16(x, n))
    }
}

/// [`clip_above`] for any `n`: a select on [`less`].
#[inline(always)]
unsafe fn clip_above_general<L: Lanes16>(x: L, n: L, inf: u16) -> L {
    // SAFETY: forwarded from the caller (ISA available).
    unsafe { L::select(less(n, x, inf), n, x) }
}

/// `x < n ? n : x` per lane. When every lane of `n` is a zero or a negative number
/// (a splatted lower bound, as clip's usually is: the test is loop-invariant), the
/// lanes below it are a range of the bits: with +0 taken as -0, the sign-set patterns
/// of larger magnitude than `n` up to -inf, `bits(n) + 1..=0x8000 | inf`, NaNs
/// excluded. The range depends on `n` alone, so each register costs one wrapping add
/// and one signed compare (as [`in_range`], with the bounds in registers) and the
/// select, where the general [`less`] compares order keys. Otherwise a select on
/// [`less`].
#[inline(always)]
unsafe fn clip_below<L: Lanes16>(x: L, n: L, inf: u16) -> L {
    // SAFETY: forwarded from the caller (ISA available).
    unsafe {
        let signed = zero_as_negative(n);
        let negative_or_zero = L::mask_and(L::lt_i16(signed, L::zero()), ordered(signed, inf));
        if L::all(negative_or_zero) {
            clip_below_range(x, n, inf)
        } else {
            clip_below_general(x, n, inf)
        }
    }
}

/// `n` with a +0 lane taken as -0 (bits `0x8000`).
#[inline(always)]
unsafe fn zero_as_negative<L: Lanes16>(n: L) -> L {
    // SAFETY: forwarded from the caller (ISA available).
    unsafe {
        let zero = L::mask_and(L::lt_i16(n, L::splat(1)), L::gt_i16(n, L::splat(0xFFFF)));
        L::select(zero, L::splat(0x8000), n)
    }
}

/// [`clip_below`] for an `n` that is a zero or a negative number in every lane: one
/// range of the bits.
#[inline(always)]
unsafe fn clip_below_range<L: Lanes16>(x: L, n: L, inf: u16) -> L {
    // SAFETY: forwarded from the caller (ISA available).
    unsafe {
        // The range `lo..=hi`, `lo = bits + 1`, `hi = 0x8000 | inf`, moved so that
        // `lo` is `i16::MIN`; at most `0x7f7f` wide.
        let lo = L::add(zero_as_negative(n), L::splat(1));
        let bias = L::sub(L::splat(0x8000), lo);
        let above = L::sub(L::splat(inf.wrapping_add(1)), lo);
        let below = L::lt_i16(L::add(x, bias), above);
        L::select(below, n, x)
    }
}

/// `x` clipped to `[min, max]` for a `min` in `-inf..=-0` and a `max` in `+0..=+inf`
/// (every lane), in four instructions. Subtracting `inf + 1` (wrapping) moves the bit
/// patterns so that, read as `i16`, the negative numbers are the largest values, in
/// order of magnitude (`-0` the least), above the positive NaNs, the positive numbers
/// and the negative NaNs; and, read as `u16`, the positive numbers are the largest, in
/// order (`+0` the least), above everything else. So the signed minimum with the moved
/// `min` replaces exactly the negatives of larger magnitude than `min` (`x < min`),
/// the unsigned minimum with the moved `max` exactly the positives above `max`
/// (`x > max`), and moving back gives the oracle's bits; NaNs and zeros that are not
/// strictly outside pass unchanged. A `+0` lower bound is not of this form: its
/// replaced lanes are the negatives below `-0`, which a minimum would set to `-0`.
#[inline(always)]
unsafe fn clip_both<L: Lanes16>(x: L, min: L, max: L, inf: u16) -> L {
    // SAFETY: forwarded from the caller (ISA available).
    unsafe {
        let shift = L::splat(inf.wrapping_add(1));
        let moved = L::sub(x, shift);
        let above_min = L::min_i16(moved, L::sub(min, shift));
        let inside = L::min_u16(above_min, L::sub(max, shift));
        L::add(inside, shift)
    }
}

/// [`clip_below`] for any `n`: a select on [`less`].
#[inline(always)]
unsafe fn clip_below_general<L: Lanes16>(x: L, n: L, inf: u16) -> L {
    // SAFETY: forwarded from the caller (ISA available).
    unsafe { L::select(less(x, n, inf), n, x) }
}

/// `0 < y < n` per lane, for any `n`, branch-free: the bits of `y` in `1..n` when `n`
/// is in `+min..=+inf`, and no lane otherwise (`n` zero, negative or NaN). As in
/// [`in_range`] with `lo = 1`, adding `0x7fff` moves `1` to `i16::MIN`; the limit,
/// `i16::MIN + n - 1` (`n + 0x7fff`) or `i16::MIN` where the range is empty, depends
/// on `n` alone, so it is computed once per call.
#[inline(always)]
unsafe fn in_open<L: Lanes16>(y: L, n: L, inf: u16) -> L::Mask {
    // SAFETY: forwarded from the caller (ISA available).
    unsafe {
        let moved_n = L::add(n, L::splat(0x7FFF));
        let limit = L::select(positive(n, inf), moved_n, L::splat(0x8000));
        L::lt_i16(L::add(y, L::splat(0x7FFF)), limit)
    }
}

/// A register of 16-bit floats of the format `F` in the lanes `L`.
#[repr(transparent)]
pub struct Half<L, F>(L, PhantomData<F>);

impl<L: Copy, F> Clone for Half<L, F> {
    #[inline(always)]
    fn clone(&self) -> Self {
        *self
    }
}

impl<L: Copy, F> Copy for Half<L, F> {}

impl<L: Lanes16, F: Format16<L>> Half<L, F> {
    /// The bits of `+inf` in the format.
    const INF: u16 = F::Elem::INFINITY_BITS;

    #[inline(always)]
    fn new(lanes: L) -> Self {
        Half(lanes, PhantomData)
    }
}

// SAFETY: `Half` is a transparent `L`, a plain register of `L::LANES` 16-bit lanes
// (`Lanes16`'s contract), and `F::Elem` is a transparent `u16` (`Float16`'s), so the
// register is exactly `LANES * size_of::<Elem>()` bytes and element pointers cast to
// `u16` pointers address the same lanes. Every method forwards the ISA requirement.
unsafe impl<L: Lanes16, F: Format16<L>> Vector for Half<L, F> {
    type Elem = F::Elem;
    type Mask = L::Mask;
    const LANES: usize = L::LANES;

    #[inline(always)]
    unsafe fn splat(x: F::Elem) -> Self {
        // SAFETY: forwarded from the caller (ISA available).
        Self::new(unsafe { L::splat(x.bits()) })
    }
    #[inline(always)]
    unsafe fn zero() -> Self {
        // SAFETY: forwarded from the caller; +0 is all-zero bits.
        Self::new(unsafe { L::zero() })
    }
    #[inline(always)]
    unsafe fn load(p: *const F::Elem) -> Self {
        // SAFETY: the caller guarantees LANES readable elements at p, each a `u16`.
        Self::new(unsafe { L::load(p.cast()) })
    }
    #[inline(always)]
    unsafe fn store(self, p: *mut F::Elem) {
        // SAFETY: the caller guarantees LANES writable elements at p.
        unsafe { self.0.store(p.cast()) }
    }
    #[inline(always)]
    unsafe fn load_partial(p: *const F::Elem, n: usize) -> Self {
        // SAFETY: the caller guarantees n readable elements at p.
        Self::new(unsafe { L::load_partial(p.cast(), n) })
    }
    #[inline(always)]
    unsafe fn store_partial(self, p: *mut F::Elem, n: usize) {
        // SAFETY: the caller guarantees n writable elements at p.
        unsafe { self.0.store_partial(p.cast(), n) }
    }
    const STREAMS: bool = L::STREAMS;
    #[inline(always)]
    unsafe fn store_stream(self, p: *mut F::Elem) {
        // SAFETY: the caller guarantees LANES writable elements at p, aligned to the
        // register size.
        unsafe { self.0.store_stream(p.cast()) }
    }
    #[inline(always)]
    unsafe fn stream_fence() {
        // SAFETY: forwarded from the caller (ISA available).
        unsafe { L::stream_fence() }
    }
    const MASKED_STORE: bool = L::MASKED_STORE;
    #[inline(always)]
    unsafe fn store_masked(self, p: *mut F::Elem, m: L::Mask) {
        // SAFETY: the caller guarantees LANES readable and writable elements at p.
        unsafe { self.0.store_masked(p.cast(), m) }
    }

    #[inline(always)]
    unsafe fn lt(self, o: Self) -> L::Mask {
        // SAFETY: forwarded from the caller (ISA available).
        unsafe { F::lt(self.0, o.0) }
    }
    #[inline(always)]
    unsafe fn gt(self, o: Self) -> L::Mask {
        // SAFETY: forwarded from the caller (ISA available).
        unsafe { F::lt(o.0, self.0) }
    }
    #[inline(always)]
    unsafe fn and(a: L::Mask, b: L::Mask) -> L::Mask {
        // SAFETY: forwarded from the caller (ISA available).
        unsafe { L::mask_and(a, b) }
    }
    #[inline(always)]
    unsafe fn select(m: L::Mask, t: Self, f: Self) -> Self {
        // SAFETY: forwarded from the caller (ISA available).
        Self::new(unsafe { L::select(m, t.0, f.0) })
    }
    #[inline(always)]
    unsafe fn mul(self, o: Self) -> Self {
        // SAFETY: forwarded from the caller (ISA available).
        Self::new(unsafe { F::mul(self.0, o.0) })
    }
    #[inline(always)]
    unsafe fn mul_unless(self, o: Self, keep: L::Mask, other: Self) -> Self {
        // SAFETY: forwarded from the caller (ISA available).
        Self::new(unsafe { F::mul_unless(self.0, o.0, keep, other.0) })
    }
    #[inline(always)]
    unsafe fn keep(m: L::Mask, v: Self) -> Self {
        // SAFETY: forwarded from the caller (ISA available).
        Self::new(unsafe { L::keep(m, v.0) })
    }
    #[inline(always)]
    unsafe fn negative(self) -> L::Mask {
        // SAFETY: forwarded from the caller (ISA available).
        unsafe { F::negative(self.0) }
    }
    #[inline(always)]
    unsafe fn relu(self) -> Self {
        // SAFETY: forwarded from the caller (ISA available).
        Self::new(unsafe { F::relu(self.0) })
    }
    #[inline(always)]
    unsafe fn clip_above(self, n: Self) -> Self {
        // SAFETY: forwarded from the caller (ISA available).
        Self::new(unsafe { F::clip_above(self.0, n.0) })
    }
    #[inline(always)]
    unsafe fn clip_below(self, n: Self) -> Self {
        // SAFETY: forwarded from the caller (ISA available).
        Self::new(unsafe { F::clip_below(self.0, n.0) })
    }
    /// A lower bound of +0 counts as -0 (`x < +0` and `x < -0` hold for the same
    /// `x`), so it has the range form. A format without the integer forms
    /// ([`Format16::CLIP_FORMS`] false) answers `(false, false)`.
    fn clip_forms(min: F::Elem, max: F::Elem) -> (bool, bool) {
        if !F::CLIP_FORMS {
            return (false, false);
        }
        let low = match min.bits() {
            0 => 0x8000,
            b => b,
        };
        (
            (0x8000..=0x8000 | Self::INF).contains(&low),
            max.bits() <= Self::INF,
        )
    }
    #[inline(always)]
    unsafe fn clip_pass_bounds(min: F::Elem, max: F::Elem) -> (Self, Self) {
        // SAFETY: forwarded from the caller (ISA available).
        unsafe {
            if !F::CLIP_FORMS {
                return (Self::splat(min), Self::splat(max));
            }
            let (bias, limit) = key_range(min.bits(), max.bits());
            (Self::new(L::splat(bias)), Self::new(L::splat(limit)))
        }
    }
    #[inline(always)]
    unsafe fn clip_pass(self, bounds: (Self, Self)) -> L::Mask {
        // SAFETY: forwarded from the caller (ISA available); with `CLIP_FORMS` the
        // bounds are `key_range`'s.
        unsafe {
            if !F::CLIP_FORMS {
                return L::mask_and(self.gt(bounds.0), self.lt(bounds.1));
            }
            let moved = L::add(L::split_key(self.0), bounds.0.0);
            L::lt_i16(moved, bounds.1.0)
        }
    }
    fn clip_fuses(min: F::Elem, max: F::Elem) -> bool {
        F::CLIP_FORMS
            && (0x8000..=0x8000 | Self::INF).contains(&min.bits())
            && max.bits() <= Self::INF
    }
    #[inline(always)]
    unsafe fn clip_fused(self, min: Self, max: Self) -> Self {
        // SAFETY: forwarded from the caller (ISA available); `clip_fuses` held for
        // the bounds, which `clip_both` needs.
        unsafe { Self::new(clip_both(self.0, min.0, max.0, Self::INF)) }
    }
    #[inline(always)]
    unsafe fn clip_below_as<const LOW: bool>(self, n: Self) -> Self {
        // SAFETY: forwarded from the caller (ISA available); with `LOW` every lane of
        // `n` is a zero or a negative number, which the range form needs.
        unsafe {
            if !F::CLIP_FORMS {
                self.clip_below(n)
            } else if LOW {
                Self::new(clip_below_range(self.0, n.0, Self::INF))
            } else {
                Self::new(clip_below_general(self.0, n.0, Self::INF))
            }
        }
    }
    #[inline(always)]
    unsafe fn clip_above_as<const HIGH: bool>(self, n: Self) -> Self {
        // SAFETY: forwarded from the caller (ISA available); with `HIGH` every lane
        // of `n` is in `+0..=+inf`, which the minimum form needs.
        unsafe {
            if !F::CLIP_FORMS {
                self.clip_above(n)
            } else if HIGH {
                Self::new(clip_above_min(self.0, n.0, Self::INF))
            } else {
                Self::new(clip_above_general(self.0, n.0, Self::INF))
            }
        }
    }
    /// Fused where every lane of `n` is in `+0..=+inf`, else relu then the clip. The
    /// relu_n kernels test their parameter once per call instead
    /// ([`Vector::relu_n_fuses`]) and run [`Vector::relu_n_fused`] in the loop.
    #[inline(always)]
    unsafe fn relu_n(self, n: Self) -> Self {
        // SAFETY: forwarded from the caller (ISA available).
        unsafe {
            if all_non_negative(n.0, Self::INF) {
                self.relu_n_fused(n)
            } else {
                self.relu().clip_above(n)
            }
        }
    }
    const RELU_N_FUSED: bool = true;
    #[inline(always)]
    fn relu_n_fuses(n: F::Elem) -> bool {
        n.bits() <= Self::INF
    }
    #[inline(always)]
    unsafe fn relu_n_fused(self, n: Self) -> Self {
        // SAFETY: forwarded from the caller (ISA available).
        Self::new(unsafe { F::relu_n_fused(self.0, n.0) })
    }
    const LEAKY_SHAPES: bool = F::LEAKY_SHAPES;
    fn leaky_shape(a: F::Elem) -> LeakyShape {
        if F::LEAKY_SHAPES {
            LeakyShape::of(a.to_f32())
        } else {
            LeakyShape::Select
        }
    }
    #[inline(always)]
    unsafe fn leaky(self, a: Self, shape: LeakyShape) -> Self {
        // SAFETY: forwarded from the caller (ISA available).
        unsafe {
            if F::LEAKY_SHAPES && shape != LeakyShape::Select {
                Self::new(F::leaky_minmax(self.0, a.0, shape))
            } else {
                Self::new(F::leaky_select(self.0, a.0))
            }
        }
    }
    #[inline(always)]
    unsafe fn leaky4(x: [Self; 4], a: Self, shape: LeakyShape) -> [Self; 4] {
        // SAFETY: forwarded from the caller (ISA available).
        unsafe {
            if F::LEAKY_SHAPES && shape != LeakyShape::Select {
                [
                    x[0].leaky(a, shape),
                    x[1].leaky(a, shape),
                    x[2].leaky(a, shape),
                    x[3].leaky(a, shape),
                ]
            } else {
                let y = F::leaky_select4([x[0].0, x[1].0, x[2].0, x[3].0], a.0);
                [
                    Self::new(y[0]),
                    Self::new(y[1]),
                    Self::new(y[2]),
                    Self::new(y[3]),
                ]
            }
        }
    }
    #[inline(always)]
    unsafe fn leaky_parts(self, a: Self) -> (L::Mask, Self) {
        // SAFETY: forwarded from the caller (ISA available).
        let (negative, product) = unsafe { F::leaky_parts(self.0, a.0) };
        (negative, Self::new(product))
    }
    #[inline(always)]
    unsafe fn leaky_parts4(x: [Self; 4], a: Self) -> [(L::Mask, Self); 4] {
        // SAFETY: forwarded from the caller (ISA available).
        let p = unsafe { F::leaky_parts4([x[0].0, x[1].0, x[2].0, x[3].0], a.0) };
        [
            (p[0].0, Self::new(p[0].1)),
            (p[1].0, Self::new(p[1].1)),
            (p[2].0, Self::new(p[2].1)),
            (p[3].0, Self::new(p[3].1)),
        ]
    }
    #[inline(always)]
    unsafe fn positive(self) -> L::Mask {
        // SAFETY: forwarded from the caller (ISA available).
        unsafe { F::positive(self.0) }
    }
    #[inline(always)]
    unsafe fn in_open(self, n: Self) -> L::Mask {
        // SAFETY: forwarded from the caller (ISA available).
        unsafe { in_open(self.0, n.0, Self::INF) }
    }
}
