//! relu, `x < 0 ? +0 : x`, and its gradient, `y > 0 ? dy : +0`.

use super::{Backward, BackwardOp, Forward, ForwardOp, OpDef, Params, Real};
use crate::generic::{BinaryOp, UnaryOp};
use crate::vector::Vector;

/// The registry entry.
pub(super) const DEF: OpDef = OpDef {
    name: "relu",
    forward: Forward::Relu,
    backward: Backward::ReluGrad,
    params: &[],
    cross: &[],
    caffe2: ("Relu", "ReluGradient"),
    products: false,
};

/// relu: `x < 0 ? +0 : x` (NaN and -0.0 pass through with their bits).
#[derive(Clone, Copy, Debug)]
pub struct Relu;

/// relu on registers, holding the zero of [`Vector::relu_zero`].
#[derive(Clone, Copy, Debug)]
pub struct Formula<V>(V);

/// relu's gradient: `y > 0 ? dy : +0`.
#[derive(Clone, Copy, Debug)]
pub struct ReluGrad;

impl ForwardOp for Relu {
    const OP: Forward = Forward::Relu;

    #[inline]
    fn oracle<T: Real>(x: T, _p: &Params<T>) -> T {
        if x.is_negative() { T::ZERO } else { x }
    }

    type Formula<V: Vector> = Formula<V>;

    #[inline(always)]
    unsafe fn formula<V: Vector>(_p: &Params<V::Elem>) -> Formula<V> {
        // SAFETY: forwarded from the caller (ISA available).
        Formula(unsafe { V::relu_zero() })
    }
}

impl<V: Vector> UnaryOp<V> for Formula<V> {
    #[inline(always)]
    unsafe fn apply(self, x: V) -> V {
        // SAFETY: forwarded from the caller.
        unsafe { x.relu_with(self.0) }
    }
    #[inline(always)]
    unsafe fn apply_in_place(self, x: V, p: *mut V::Elem) {
        // SAFETY: forwarded from the caller. Only lanes with x < 0 change (to +0).
        unsafe {
            if V::MASKED_STORE {
                V::zero().store_masked(p, x.negative())
            } else {
                x.relu_with(self.0).store(p)
            }
        }
    }
}

impl BackwardOp for ReluGrad {
    const OP: Backward = Backward::ReluGrad;

    #[inline]
    fn oracle<T: Real>(y: T, dy: T, _p: &Params<T>) -> T {
        if y.is_positive() { dy } else { T::ZERO }
    }

    type Formula<V: Vector> = ReluGrad;

    #[inline(always)]
    unsafe fn formula<V: Vector>(_p: &Params<V::Elem>) -> ReluGrad {
        ReluGrad
    }
}

impl<V: Vector> BinaryOp<V> for ReluGrad {
    #[inline(always)]
    unsafe fn apply(self, y: V, dy: V) -> V {
        // SAFETY: forwarded from the caller.
        unsafe { V::keep(y.positive(), dy) }
    }
}
