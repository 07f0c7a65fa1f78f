//! clip, `x < min ? min : x > max ? max : x` (Caffe2's Clip; relu_n is clip(+0, n),
//! hardtanh clip(-1, 1)), and its gradient, `y > min && y < max ? dy : +0`.
//!
//! A bound is returned only where `x` lies strictly outside `[min, max]`: a NaN `x`
//! passes with its bits (both tests are false), and so does a zero of either sign
//! against a zero bound (`-0.0 < +0.0` is false), as in relu_n. Where `min` and `max`
//! are zeros of different signs, the bound returned is the one given, with its sign.

use super::{Backward, BackwardOp, Cross, Forward, ForwardOp, OpDef, Params, Real, param};
use crate::generic::{BinaryOp, UnaryOp};
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
};

/// clip: `x < min ? min : x > max ? max : x`, `min = scalars[0]`, `max = scalars[1]`.
#[derive(Clone, Copy, Debug)]
pub struct Clip;

/// clip's gradient: `y > min && y < max ? dy : +0`.
#[derive(Clone, Copy, Debug)]
pub struct ClipGrad;

/// clip on registers, holding `min` and `max` splatted.
#[derive(Clone, Copy, Debug)]
pub struct Formula<V>(V, V);

/// clip's gradient on registers, holding `min` and `max` splatted.
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
}

impl<V: Vector> UnaryOp<V> for Formula<V> {
    #[inline(always)]
    unsafe fn apply(self, x: V) -> V {
        // SAFETY: forwarded from the caller. The lower bound, then the upper one on
        // that result: it differs from x only where x < min, and there it is min,
        // which is not above max (`min <= max`, the op's rule), so the second test
        // leaves it; elsewhere both tests are the oracle's, on x itself. Two
        // instructions on x86 (`max`, then `min`), where a select on x's own test
        // was three.
        unsafe { x.clip_below(self.0).clip_above(self.1) }
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
        unsafe { GradFormula(V::splat(p.scalars[0]), V::splat(p.scalars[1])) }
    }
}

impl<V: Vector> BinaryOp<V> for GradFormula<V> {
    #[inline(always)]
    unsafe fn apply(self, y: V, dy: V) -> V {
        // SAFETY: forwarded from the caller.
        unsafe { V::keep(V::and(y.gt(self.0), y.lt(self.1)), dy) }
    }
}
