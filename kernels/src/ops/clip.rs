//! clip, `x < min ? min : x > max ? max : x` (Caffe2's Clip; relu_n is clip(+0, n),
//! hardtanh clip(-1, 1)), and its gradient, `y > min && y < max ? dy : +0`.
//!
//! A bound is returned only where `x` lies strictly outside `[min, max]`: a NaN `x`
//! passes with its bits (both tests are false), and so does a zero of either sign
//! against a zero bound (`-0.0 < +0.0` is false), as in relu_n. Where `min` and `max`
//! are zeros of different signs, the bound returned is the one given, with its sign.

use super::{Backward, BackwardOp, Cross, Forward, ForwardOp, OpDef, Params, Real, param};
use crate::generic::{BinaryOp, UnaryOp, unary_split};
use crate::vector::Vector;

/// The registry entry. Caffe2's defaults are the element type's lowest and highest
/// finite values ([`super::Rule::Bound`]: `f64::MIN` and `f64::MAX` stand for them).
pub(super) const DEF: OpDef = OpDef {
    name: "clip",
    forward: Forward::Clip,
    backward: Backward::ClipGrad,
    params: &[
        param!("min", Some(f64::MIN), Bound),
        param!("max", Some(f64::MAX), Bound),
    ],
    cross: &[Cross::NotAbove {
        low: 0,
        high: 1,
        reason: "min must be <= max",
    }],
    caffe2: ("Clip", "ClipGradient"),
    products: false,
};

/// clip: `x < min ? min : x > max ? max : x`, `min = scalars[0]`, `max = scalars[1]`.
#[derive(Clone, Copy, Debug)]
pub struct Clip;

/// clip's gradient: `y > min && y < max ? dy : +0`.
#[derive(Clone, Copy, Debug)]
pub struct ClipGrad;

/// clip on registers, holding `min` and `max` splatted; `LOW` and `HIGH` are
/// [`Vector::clip_forms`] of them (both false for a type without forms).
#[derive(Clone, Copy, Debug)]
pub struct Formula<V, const LOW: bool = false, const HIGH: bool = false>(V, V);

/// clip on registers in the type's one-pass form ([`Vector::clip_fused`]), holding
/// `min` and `max` splatted, for bounds of which [`Vector::clip_fuses`] holds.
#[derive(Clone, Copy, Debug)]
pub struct Fused<V>(V, V);

/// clip's gradient on registers, holding the bounds as [`Vector::clip_pass_bounds`]
/// builds them (for most types `min` and `max` splatted).
#[derive(Clone, Copy, Debug)]
pub struct GradFormula<V>(V, V);

impl ForwardOp for Clip {
    const OP: Forward = Forward::Clip;

    /// Two selects, as relu_n's oracle (so the slice loops vectorise). With
    /// `min <= max` the two tests never both hold, so their order does not matter.
    #[inline]
    fn oracle<T: Real>(x: T, p: &Params<T>) -> T {
        let [min, max] = p.scalars;
        let clipped = if x.gt(max) { max } else { x };
        if x.lt(min) { min } else { clipped }
    }

    type Formula<V: Vector> = Formula<V>;

    #[inline(always)]
    unsafe fn formula<V: Vector>(p: &Params<V::Elem>) -> Formula<V> {
        // SAFETY: forwarded from the caller (ISA available).
        unsafe { Formula(V::splat(p.scalars[0]), V::splat(p.scalars[1])) }
    }

    /// One loop per pair of bound forms ([`Vector::clip_forms`]), picked once per
    /// call: the 16-bit floats test their bounds in integers, in a form that depends
    /// on the bounds' signs; tested in every register, the test stayed in the loop
    /// under WebAssembly (f16 clip at 20-22 GB/s, 38-42 with the forms fixed per
    /// call, wasmtime on Zen 4). A type without forms answers `(false, false)`, a
    /// constant, so it compiles the one loop. Bounds with the type's one-pass form
    /// ([`Vector::clip_fuses`]: for the 16-bit floats a negative or `-0` `min` and a
    /// non-negative `max`) take a loop of their own.
    #[inline(always)]
    unsafe fn run<W: Vector, N: Vector<Elem = W::Elem>>(
        src: *const W::Elem,
        dst: *mut W::Elem,
        len: usize,
        p: &Params<W::Elem>,
        stream: bool,
    ) {
        // SAFETY: forwarded from the caller (contract of `UnaryFn`, ISA available);
        // `clip_fuses` and `clip_forms` say which forms hold for these bounds.
        unsafe {
            let [min, max] = p.scalars;
            if W::clip_fuses(min, max) {
                let w = Fused(W::splat(min), W::splat(max));
                let n = Fused(N::splat(min), N::splat(max));
                return unary_split::<W, N, _, _>(src, dst, len, w, n, stream);
            }
            match W::clip_forms(min, max) {
                (true, true) => run_forms::<W, N, true, true>(src, dst, len, p, stream),
                (true, false) => run_forms::<W, N, true, false>(src, dst, len, p, stream),
                (false, true) => run_forms::<W, N, false, true>(src, dst, len, p, stream),
                (false, false) => run_forms::<W, N, false, false>(src, dst, len, p, stream),
            }
        }
    }
}

/// A clip call with its bounds' forms fixed ([`Vector::clip_forms`]).
///
/// # Safety
/// The contract of [`crate::UnaryFn`], with the ISA of `W` and `N` available, and
/// `LOW`, `HIGH` what `W::clip_forms` says of the bounds.
#[inline(always)]
unsafe fn run_forms<W: Vector, N: Vector<Elem = W::Elem>, const LOW: bool, const HIGH: bool>(
    src: *const W::Elem,
    dst: *mut W::Elem,
    len: usize,
    p: &Params<W::Elem>,
    stream: bool,
) {
    let [min, max] = p.scalars;
    // SAFETY: forwarded from the caller.
    unsafe {
        let w = Formula::<W, LOW, HIGH>(W::splat(min), W::splat(max));
        let n = Formula::<N, LOW, HIGH>(N::splat(min), N::splat(max));
        unary_split::<W, N, _, _>(src, dst, len, w, n, stream)
    }
}

impl<V: Vector, const LOW: bool, const HIGH: bool> UnaryOp<V> for Formula<V, LOW, HIGH> {
    #[inline(always)]
    unsafe fn apply(self, x: V) -> V {
        // SAFETY: forwarded from the caller. The lower bound, then the upper one on
        // that result: it differs from x only where x < min, and there it is min,
        // which is not above max (`min <= max`, the op's rule), so the second test
        // leaves it; elsewhere both tests are the oracle's, on x itself. Two
        // instructions on x86 (`max`, then `min`), where a select on x's own test
        // was three. For a type without forms the `_as` methods are `clip_below`
        // and `clip_above`; with them, `run` set the consts from `clip_forms` of
        // these bounds (both false, the general forms, from `formula`).
        unsafe { x.clip_below_as::<LOW>(self.0).clip_above_as::<HIGH>(self.1) }
    }
}

impl<V: Vector> UnaryOp<V> for Fused<V> {
    #[inline(always)]
    unsafe fn apply(self, x: V) -> V {
        // SAFETY: forwarded from the caller; `run` built this formula only for bounds
        // of which `clip_fuses` holds.
        unsafe { x.clip_fused(self.0, self.1) }
    }
}

impl BackwardOp for ClipGrad {
    const OP: Backward = Backward::ClipGrad;

    #[inline]
    fn oracle<T: Real>(y: T, dy: T, p: &Params<T>) -> T {
        // Both tests evaluated (`&`), as relu_n's gradient, so the loop stays
        // branch-free.
        let [min, max] = p.scalars;
        if y.gt(min) & y.lt(max) { dy } else { T::ZERO }
    }

    type Formula<V: Vector> = GradFormula<V>;

    #[inline(always)]
    unsafe fn formula<V: Vector>(p: &Params<V::Elem>) -> GradFormula<V> {
        // SAFETY: forwarded from the caller (ISA available).
        unsafe {
            let (lo, hi) = V::clip_pass_bounds(p.scalars[0], p.scalars[1]);
            GradFormula(lo, hi)
        }
    }
}

impl<V: Vector> BinaryOp<V> for GradFormula<V> {
    #[inline(always)]
    unsafe fn apply(self, y: V, dy: V) -> V {
        // SAFETY: forwarded from the caller.
        unsafe { V::keep(y.clip_pass((self.0, self.1)), dy) }
    }
}
