//! relu_n, `x < 0 ? +0 : x > n ? n : x` (ReLU clipped at `n`; ReLU6 by default), and
//! its gradient, `y > 0 && y < n ? dy : +0`.

use super::{Backward, BackwardOp, Forward, ForwardOp, OpDef, Params, Real, param};
use crate::generic::{BinaryOp, UnaryOp, unary_split};
use crate::vector::Vector;

/// The registry entry.
pub(super) const DEF: OpDef = OpDef {
    name: "relu_n",
    forward: Forward::ReluN,
    backward: Backward::ReluNGrad,
    params: &[param!("n", Some(6.0), Positive)],
    cross: &[],
    caffe2: ("ReluN", "ReluNGradient"),
    products: false,
};

/// relu_n: `x < 0 ? +0 : x > n ? n : x`, `n = scalars[0]`.
#[derive(Clone, Copy, Debug)]
pub struct ReluN;

/// relu_n's gradient: `y > 0 && y < n ? dy : +0`.
#[derive(Clone, Copy, Debug)]
pub struct ReluNGrad;

/// relu_n on registers, holding `n` splatted and the zero of [`Vector::relu_zero`].
#[derive(Clone, Copy, Debug)]
pub struct Formula<V>(V, V);

/// relu_n on registers for an `n` in `+0..=+inf` ([`Vector::relu_n_fused`]),
/// holding `n` splatted.
#[derive(Clone, Copy, Debug)]
pub struct FusedFormula<V>(V);

/// relu_n's gradient on registers, holding `n` splatted.
#[derive(Clone, Copy, Debug)]
pub struct GradFormula<V>(V);

impl ForwardOp for ReluN {
    const OP: Forward = Forward::ReluN;

    /// Written as two selects: as one chain of branches the compiler left f64's
    /// slice loop branchy and scalar (2.3 GB/s at 1 MiB on random data, against 89).
    /// The oracle's unit test checks it against the chain.
    #[inline]
    fn oracle<T: Real>(x: T, p: &Params<T>) -> T {
        let n = p.scalars[0];
        let clipped = if x.gt(n) { n } else { x };
        if x.is_negative() { T::ZERO } else { clipped }
    }

    type Formula<V: Vector> = Formula<V>;

    #[inline(always)]
    unsafe fn formula<V: Vector>(p: &Params<V::Elem>) -> Formula<V> {
        // SAFETY: forwarded from the caller (ISA available).
        unsafe { Formula(V::splat(p.scalars[0]), V::relu_zero()) }
    }

    /// The fused formula (`relu_n_fused` per register) where the type has one for this
    /// `n` ([`Vector::relu_n_fuses`], tested once here rather than per register), else
    /// the general one.
    #[inline(always)]
    unsafe fn run<W: Vector, N: Vector<Elem = W::Elem>>(
        src: *const W::Elem,
        dst: *mut W::Elem,
        len: usize,
        p: &Params<W::Elem>,
        stream: bool,
    ) {
        let n = p.scalars[0];
        // SAFETY: forwarded from the caller (contract of `UnaryFn`, ISA available).
        // `relu_n_fuses` holding means `n` is in `+0..=+inf`, which is all that
        // `relu_n_fused` asks of it, whatever the vector type.
        unsafe {
            if W::RELU_N_FUSED && W::relu_n_fuses(n) {
                let (w, v) = (FusedFormula(W::splat(n)), FusedFormula(N::splat(n)));
                unary_split::<W, N, _, _>(src, dst, len, w, v, stream)
            } else {
                let (w, v) = (Self::formula::<W>(p), Self::formula::<N>(p));
                unary_split::<W, N, _, _>(src, dst, len, w, v, stream)
            }
        }
    }
}

impl<V: Vector> UnaryOp<V> for Formula<V> {
    #[inline(always)]
    unsafe fn apply(self, x: V) -> V {
        // SAFETY: forwarded from the caller. relu first, then the clip: NaN passes
        // both; n > 0 so a clipped value is never -0.0.
        unsafe { x.relu_n_with(self.0, self.1) }
    }
}

impl<V: Vector> UnaryOp<V> for FusedFormula<V> {
    #[inline(always)]
    unsafe fn apply(self, x: V) -> V {
        // SAFETY: forwarded from the caller; `n` is in `+0..=+inf` (`ReluN::run`).
        unsafe { x.relu_n_fused(self.0) }
    }
}

impl BackwardOp for ReluNGrad {
    const OP: Backward = Backward::ReluNGrad;

    #[inline]
    fn oracle<T: Real>(y: T, dy: T, p: &Params<T>) -> T {
        // Both tests are evaluated (`&`, not `&&`): under a short circuit the load of
        // `n` and the second test stayed branches in the slice loop (f32 at 4 KiB:
        // 14 GB/s against 65).
        let n = p.scalars[0];
        if y.is_positive() & y.lt(n) {
            dy
        } else {
            T::ZERO
        }
    }

    type Formula<V: Vector> = GradFormula<V>;

    #[inline(always)]
    unsafe fn formula<V: Vector>(p: &Params<V::Elem>) -> GradFormula<V> {
        // SAFETY: forwarded from the caller (ISA available).
        GradFormula(unsafe { V::splat(p.scalars[0]) })
    }
}

impl<V: Vector> BinaryOp<V> for GradFormula<V> {
    #[inline(always)]
    unsafe fn apply(self, y: V, dy: V) -> V {
        // SAFETY: forwarded from the caller.
        unsafe { V::keep(y.in_open(self.0), dy) }
    }
}
