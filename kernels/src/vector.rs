//! The per-ISA vector abstraction every kernel body is written against.
//!
//! Each method is a thin `#[inline(always)]` wrapper around one or two intrinsics.
//! Because the wrappers are always inlined into a `#[target_feature]` entry point,
//! the intrinsics end up compiled for that ISA (the memchr pattern).

use core::mem::MaybeUninit;
use core::ptr;

/// A SIMD register of `LANES` elements of type `Elem`, with a comparison mask type.
///
/// # Safety
///
/// Implementations must be plain SIMD registers whose size is exactly
/// `LANES * size_of::<Elem>()` bytes (the default partial load/store methods spill
/// through a stack copy of `Self`). Every method may only be called on a CPU that
/// supports the implementing ISA; pointer arguments must be valid for the accesses
/// each method's doc names. (This section covers every method below.)
#[allow(clippy::missing_safety_doc)]
pub unsafe trait Vector: Copy {
    /// The element type.
    type Elem: Copy;
    /// The result of a lane-wise comparison.
    type Mask: Copy;
    /// Number of elements per register.
    const LANES: usize;

    /// All lanes set to `x`.
    unsafe fn splat(x: Self::Elem) -> Self;
    /// All lanes `+0`.
    unsafe fn zero() -> Self;
    /// Loads `LANES` elements from `p` (no alignment needed).
    unsafe fn load(p: *const Self::Elem) -> Self;
    /// Stores `LANES` elements to `p` (no alignment needed).
    unsafe fn store(self, p: *mut Self::Elem);

    /// Loads `n < LANES` elements from `p`, touching no memory past `p + n`.
    /// The other lanes are `+0`.
    #[inline(always)]
    unsafe fn load_partial(p: *const Self::Elem, n: usize) -> Self {
        let mut buf = MaybeUninit::<Self>::uninit();
        let bp = buf.as_mut_ptr().cast::<Self::Elem>();
        // SAFETY: `buf` has room for exactly LANES elements (trait contract); it is
        // fully initialised by the zero store before the `n <= LANES` elements are
        // copied over it, so the final load reads initialised memory. The caller
        // guarantees `p` is valid for `n` reads.
        unsafe {
            Self::zero().store(bp);
            ptr::copy_nonoverlapping(p, bp, n);
            Self::load(bp)
        }
    }

    /// Stores the first `n < LANES` lanes to `p`, touching no memory past `p + n`.
    #[inline(always)]
    unsafe fn store_partial(self, p: *mut Self::Elem, n: usize) {
        let mut buf = MaybeUninit::<Self>::uninit();
        let bp = buf.as_mut_ptr().cast::<Self::Elem>();
        // SAFETY: `buf` holds LANES elements and is initialised by the store; the
        // caller guarantees `p` is valid for `n <= LANES` writes.
        unsafe {
            self.store(bp);
            ptr::copy_nonoverlapping(bp, p, n);
        }
    }

    /// Stores `LANES` elements to `p`, which must be aligned to the register size,
    /// bypassing the caches where the ISA can (non-temporal). Callers issue
    /// [`Vector::stream_fence`] after the last such store. Default: a plain store.
    #[inline(always)]
    unsafe fn store_stream(self, p: *mut Self::Elem) {
        // SAFETY: forwarded from the caller.
        unsafe { self.store(p) }
    }

    /// Whether [`Vector::store_stream`] really bypasses the caches on this ISA.
    const STREAMS: bool = false;

    /// Orders earlier non-temporal stores before any later store (SFENCE on x86).
    #[inline(always)]
    unsafe fn stream_fence() {}

    /// Whether [`Vector::store_masked`] is a real masked store (AVX-512), cheap enough
    /// that in-place kernels can write only the lanes that change.
    const MASKED_STORE: bool = false;

    /// Stores the lanes of `self` selected by `m` to `p` (`LANES` elements valid for
    /// reads and writes); the other lanes of memory keep their bits. Default: a
    /// read-modify-write of the whole register.
    #[inline(always)]
    unsafe fn store_masked(self, p: *mut Self::Elem, m: Self::Mask) {
        // SAFETY: forwarded from the caller (p valid for LANES reads and writes).
        unsafe { Self::select(m, self, Self::load(p)).store(p) }
    }

    /// Lane-wise `self < o` (false when either is NaN).
    unsafe fn lt(self, o: Self) -> Self::Mask;
    /// Lane-wise `self > o` (false when either is NaN).
    unsafe fn gt(self, o: Self) -> Self::Mask;
    /// Lane-wise AND of two masks.
    unsafe fn and(a: Self::Mask, b: Self::Mask) -> Self::Mask;
    /// Lane-wise `m ? t : f`, bit for bit.
    unsafe fn select(m: Self::Mask, t: Self, f: Self) -> Self;
    /// Lane-wise IEEE multiplication, round to nearest-even.
    unsafe fn mul(self, o: Self) -> Self;

    /// `keep ? other : self * o` per lane ([`Vector::mul`] then [`Vector::select`]),
    /// the gradients' product and select; a type may fold the select into the
    /// product's last instruction. Default: the two.
    #[inline(always)]
    unsafe fn mul_unless(self, o: Self, keep: Self::Mask, other: Self) -> Self {
        // SAFETY: forwarded from the caller (ISA available).
        unsafe { Self::select(keep, other, self.mul(o)) }
    }

    /// Lane-wise `self < 0` (false for NaN and -0.0). A type may test it more cheaply
    /// than a general [`Vector::lt`].
    #[inline(always)]
    unsafe fn negative(self) -> Self::Mask {
        // SAFETY: forwarded from the caller (ISA available).
        unsafe { self.lt(Self::zero()) }
    }

    /// `m ? v : +0`.
    #[inline(always)]
    unsafe fn keep(m: Self::Mask, v: Self) -> Self {
        // SAFETY: forwarded from the caller (ISA available).
        unsafe { Self::select(m, v, Self::zero()) }
    }

    /// The oracle's relu: `self < 0 ? +0 : self` (NaN and -0.0 pass through unchanged).
    #[inline(always)]
    unsafe fn relu(self) -> Self {
        // SAFETY: forwarded from the caller (ISA available).
        unsafe { Self::select(self.negative(), Self::zero(), self) }
    }

    /// The zero register that the relu and relu_n formulas hold, made once per call
    /// and handed to [`Vector::relu_with`] and [`Vector::relu_n_with`]. Default:
    /// [`Vector::zero`]. A type whose relu is a maximum against zero makes it
    /// opaque, where the optimiser would rewrite a maximum against a known zero into
    /// a compare and a mask.
    #[inline(always)]
    unsafe fn relu_zero() -> Self {
        // SAFETY: forwarded from the caller (ISA available).
        unsafe { Self::zero() }
    }

    /// [`Vector::relu`], given [`Vector::relu_zero`]. Default: [`Vector::relu`].
    #[inline(always)]
    unsafe fn relu_with(self, zero: Self) -> Self {
        let _ = zero;
        // SAFETY: forwarded from the caller (ISA available).
        unsafe { self.relu() }
    }

    /// [`Vector::relu_n`], given [`Vector::relu_zero`]. Default: [`Vector::relu_n`].
    #[inline(always)]
    unsafe fn relu_n_with(self, n: Self, zero: Self) -> Self {
        let _ = zero;
        // SAFETY: forwarded from the caller (ISA available).
        unsafe { self.relu_n(n) }
    }

    /// `self > n ? n : self` (NaN passes through unchanged).
    #[inline(always)]
    unsafe fn clip_above(self, n: Self) -> Self {
        // SAFETY: forwarded from the caller (ISA available).
        unsafe { Self::select(self.gt(n), n, self) }
    }

    /// `self < n ? n : self` (NaN passes through unchanged): clip's lower bound.
    #[inline(always)]
    unsafe fn clip_below(self, n: Self) -> Self {
        // SAFETY: forwarded from the caller (ISA available).
        unsafe { Self::select(self.lt(n), n, self) }
    }

    /// `self.relu().clip_above(n)`, bit for bit, for any `n` (the oracle's relu_n when
    /// `n > 0`). A type may fuse the two.
    #[inline(always)]
    unsafe fn relu_n(self, n: Self) -> Self {
        // SAFETY: forwarded from the caller (ISA available).
        unsafe { self.relu().clip_above(n) }
    }

    /// Whether [`Vector::relu_n_fused`] is a path of its own. Where it is not, the
    /// relu_n kernels hold one loop body (not a second, identical one for the fused
    /// form), and [`Vector::relu_n_fuses`] is never asked. Default: false.
    const RELU_N_FUSED: bool = false;

    /// Whether relu_n at `n` may take [`Vector::relu_n_fused`]: whether `n` is in
    /// `+0..=+inf` (not NaN, not -0.0) for a type that has such a path. Decided once
    /// per call, so the kernel's loop holds one form only. Default: false.
    fn relu_n_fuses(n: Self::Elem) -> bool {
        let _ = n;
        false
    }

    /// [`Vector::relu_n`] for an `n` in `+0..=+inf` in every lane (where
    /// [`Vector::relu_n_fuses`] holds), without testing `n`. Default: `relu_n`.
    #[inline(always)]
    unsafe fn relu_n_fused(self, n: Self) -> Self {
        // SAFETY: forwarded from the caller (ISA available).
        unsafe { self.relu_n(n) }
    }

    /// leaky_relu's two parts: the lanes where `self < 0`, and `a * self`. Only those
    /// lanes of the product are used, so a type may leave the others with any value
    /// (and may use the mask to pick a cheaper way to form the product).
    #[inline(always)]
    unsafe fn leaky_parts(self, a: Self) -> (Self::Mask, Self) {
        // SAFETY: forwarded from the caller (ISA available).
        unsafe { (self.negative(), a.mul(self)) }
    }

    /// [`Vector::leaky_parts`] of four registers (the generic bodies' blocks). A type
    /// whose product needs a check before it is formed may check the four at once.
    #[inline(always)]
    unsafe fn leaky_parts4(x: [Self; 4], a: Self) -> [(Self::Mask, Self); 4] {
        // SAFETY: forwarded from the caller (ISA available).
        unsafe {
            [
                x[0].leaky_parts(a),
                x[1].leaky_parts(a),
                x[2].leaky_parts(a),
                x[3].leaky_parts(a),
            ]
        }
    }

    /// Whether [`Vector::leaky`] has forms other than the select. Where it has not,
    /// the leaky_relu kernels hold one loop body (not one per [`LeakyShape`], all the
    /// same code), and [`Vector::leaky_shape`] is never asked. Default: false.
    const LEAKY_SHAPES: bool = false;

    /// How [`Vector::leaky`] forms leaky_relu for the parameter `a` (decided once per
    /// call). Default: [`LeakyShape::Select`].
    fn leaky_shape(a: Self::Elem) -> LeakyShape {
        let _ = a;
        LeakyShape::Select
    }

    /// The oracle's leaky_relu, `self < 0 ? a * self : self`, bit for bit, in the
    /// form `shape` names (from [`Vector::leaky_shape`] of `a`'s lanes). Default: the
    /// product selected by the sign test of [`Vector::leaky_parts`].
    #[inline(always)]
    unsafe fn leaky(self, a: Self, shape: LeakyShape) -> Self {
        let _ = shape;
        // SAFETY: forwarded from the caller (ISA available).
        unsafe {
            let (negative, product) = self.leaky_parts(a);
            Self::select(negative, product, self)
        }
    }

    /// [`Vector::leaky`] of four registers: for [`LeakyShape::Select`],
    /// [`Vector::leaky_parts4`] and four selects; otherwise `leaky` per register.
    #[inline(always)]
    unsafe fn leaky4(x: [Self; 4], a: Self, shape: LeakyShape) -> [Self; 4] {
        // SAFETY: forwarded from the caller (ISA available).
        unsafe {
            if shape == LeakyShape::Select {
                let p = Self::leaky_parts4(x, a);
                [
                    Self::select(p[0].0, p[0].1, x[0]),
                    Self::select(p[1].0, p[1].1, x[1]),
                    Self::select(p[2].0, p[2].1, x[2]),
                    Self::select(p[3].0, p[3].1, x[3]),
                ]
            } else {
                [
                    x[0].leaky(a, shape),
                    x[1].leaky(a, shape),
                    x[2].leaky(a, shape),
                    x[3].leaky(a, shape),
                ]
            }
        }
    }

    /// Lane-wise `self > 0` (false for NaN). A type may test it more cheaply than a
    /// general [`Vector::gt`].
    #[inline(always)]
    unsafe fn positive(self) -> Self::Mask {
        // SAFETY: forwarded from the caller (ISA available).
        unsafe { self.gt(Self::zero()) }
    }

    /// Lane-wise `0 < self && self < n` (false where either is NaN). A type may test
    /// the open interval in one go.
    #[inline(always)]
    unsafe fn in_open(self, n: Self) -> Self::Mask {
        // SAFETY: forwarded from the caller (ISA available).
        unsafe { Self::and(self.gt(Self::zero()), self.lt(n)) }
    }

    /// clip's gradient bounds as [`Vector::clip_pass`] takes them, built once per call.
    /// Default: `min` and `max` splatted.
    #[inline(always)]
    unsafe fn clip_pass_bounds(min: Self::Elem, max: Self::Elem) -> (Self, Self) {
        // SAFETY: forwarded from the caller (ISA available).
        unsafe { (Self::splat(min), Self::splat(max)) }
    }

    /// Lane-wise `min < self && self < max` (false where any is NaN), with the bounds
    /// from [`Vector::clip_pass_bounds`]. Default: two compares.
    #[inline(always)]
    unsafe fn clip_pass(self, bounds: (Self, Self)) -> Self::Mask {
        // SAFETY: forwarded from the caller (ISA available).
        unsafe { Self::and(self.gt(bounds.0), self.lt(bounds.1)) }
    }

    /// For clip's splatted bounds: whether `min` is a zero or negative number, and
    /// whether `max` is a zero or positive one (neither NaN), where the type has
    /// cheaper forms of [`Vector::clip_below_as`] and [`Vector::clip_above_as`]. A
    /// clip call asks once and runs a loop per answer, rather than testing the
    /// bounds in every register (a test the compiler may leave inside the loop).
    /// Default: `(false, false)` (no forms).
    fn clip_forms(min: Self::Elem, max: Self::Elem) -> (bool, bool) {
        let _ = (min, max);
        (false, false)
    }

    /// Whether clip's splatted bounds have the type's one-pass form
    /// ([`Vector::clip_fused`]). Default: `false`.
    fn clip_fuses(min: Self::Elem, max: Self::Elem) -> bool {
        let _ = (min, max);
        false
    }

    /// `x` clipped to `[min, max]` where [`Vector::clip_fuses`] holds for every lane
    /// of the bounds. Default: [`Vector::clip_below`], then [`Vector::clip_above`].
    #[inline(always)]
    unsafe fn clip_fused(self, min: Self, max: Self) -> Self {
        // SAFETY: forwarded from the caller (ISA available).
        unsafe { self.clip_below(min).clip_above(max) }
    }

    /// [`Vector::clip_below`] where `LOW` is the first of [`Vector::clip_forms`] for
    /// every lane of `n`. Default: [`Vector::clip_below`].
    #[inline(always)]
    unsafe fn clip_below_as<const LOW: bool>(self, n: Self) -> Self {
        // SAFETY: forwarded from the caller (ISA available).
        unsafe { self.clip_below(n) }
    }

    /// [`Vector::clip_above`] where `HIGH` is the second of [`Vector::clip_forms`] for
    /// every lane of `n`. Default: [`Vector::clip_above`].
    #[inline(always)]
    unsafe fn clip_above_as<const HIGH: bool>(self, n: Self) -> Self {
        // SAFETY: forwarded from the caller (ISA available).
        unsafe { self.clip_above(n) }
    }
}

/// How a float type forms leaky_relu, `x < 0 ? a * x : x`, for one parameter `a`.
///
/// When `a` is nonzero and at most 1, `a * x >= x` for `x < 0` and `a * x <= x` for
/// `x >= 0` (a rounded product cannot cross the representable `x`; for a negative
/// `a` the signs alone decide), so the formula is the larger of the two; for `a > 1`
/// it is the smaller. The product of a zero `a` (or a NaN one) does not order that
/// way (`0 * -inf` is NaN), so those keep the select.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LeakyShape {
    /// `x < 0` selects the product.
    Select,
    /// `max(a * x, x)`, with `x` where either is NaN or both are zeros.
    Max,
    /// `min(a * x, x)`, likewise.
    Min,
}

impl LeakyShape {
    /// The shape for `a` (widened to `f64`, which is exact).
    pub fn of(a: impl Into<f64>) -> LeakyShape {
        let a: f64 = a.into();
        if a > 1.0 {
            LeakyShape::Min
        } else if a != 0.0 && a <= 1.0 {
            LeakyShape::Max
        } else {
            LeakyShape::Select
        }
    }
}
