//! leaky_relu, `x < 0 ? a * x : x`, and its gradient, `y > 0 ? dy : a * dy`.

use super::{Backward, BackwardOp, Forward, ForwardOp, OpDef, Params, Real, param};
use crate::generic::{BinaryOp, LEAKY_GRAD_NARROW_MIN_BYTES, UnaryOp, unary_split};
use crate::vector::{LeakyShape, Vector};

/// The registry entry.
pub(super) const DEF: OpDef = OpDef {
    name: "leaky_relu",
    forward: Forward::LeakyRelu,
    backward: Backward::LeakyReluGrad,
    params: &[param!("alpha", Some(0.01), FiniteNonNegative)],
    cross: &[],
    caffe2: ("LeakyRelu", "LeakyReluGradient"),
    products: true,
};

/// leaky_relu: `x < 0 ? a * x : x`, `a = scalars[0]`, the product rounded once.
#[derive(Clone, Copy, Debug)]
pub struct LeakyRelu;

/// leaky_relu's gradient: `y > 0 ? dy : a * dy`.
#[derive(Clone, Copy, Debug)]
pub struct LeakyReluGrad;

/// leaky_relu on registers, holding `a` splatted and [`Vector::leaky_shape`] of it.
#[derive(Clone, Copy, Debug)]
pub struct Formula<V>(V, LeakyShape);

/// leaky_relu's gradient on registers, holding `a` splatted.
#[derive(Clone, Copy, Debug)]
pub struct GradFormula<V>(V);

impl ForwardOp for LeakyRelu {
    const OP: Forward = Forward::LeakyRelu;

    #[inline]
    /// The product is formed for every element and then selected (as the vector
    /// kernels do): formed only under the test, the f16 slice loop stayed branchy
    /// (0.6 GB/s against 1.4 at 16 KiB, on random signs).
    fn oracle<T: Real>(x: T, p: &Params<T>) -> T {
        let product = p.scalars[0].mul(x);
        if x.is_negative() { product } else { x }
    }

    type Formula<V: Vector> = Formula<V>;

    #[inline(always)]
    unsafe fn formula<V: Vector>(p: &Params<V::Elem>) -> Formula<V> {
        let a = p.scalars[0];
        // SAFETY: forwarded from the caller (ISA available).
        Formula(unsafe { V::splat(a) }, V::leaky_shape(a))
    }

    /// One loop per shape, the shape a constant in each: left to the optimiser, the
    /// test of the shape stayed inside the loop (f32 on 256-bit registers at 4 KiB:
    /// 0.84x the 512-bit loop). A type that keeps the select (`Vector::leaky`'s
    /// default; `Vector::LEAKY_SHAPES` false) has the one loop.
    #[inline(always)]
    unsafe fn run<W: Vector, N: Vector<Elem = W::Elem>>(
        src: *const W::Elem,
        dst: *mut W::Elem,
        len: usize,
        p: &Params<W::Elem>,
        stream: bool,
    ) {
        let a = p.scalars[0];
        // SAFETY: forwarded from the caller (contract of `UnaryFn`, ISA available).
        unsafe {
            let (w, n) = (W::splat(a), N::splat(a));
            if !W::LEAKY_SHAPES {
                let s = LeakyShape::Select;
                return unary_split::<W, N, _, _>(
                    src,
                    dst,
                    len,
                    Formula(w, s),
                    Formula(n, s),
                    stream,
                );
            }
            match W::leaky_shape(a) {
                LeakyShape::Max => {
                    let s = LeakyShape::Max;
                    unary_split::<W, N, _, _>(src, dst, len, Formula(w, s), Formula(n, s), stream)
                }
                LeakyShape::Min => {
                    let s = LeakyShape::Min;
                    unary_split::<W, N, _, _>(src, dst, len, Formula(w, s), Formula(n, s), stream)
                }
                LeakyShape::Select => {
                    let s = LeakyShape::Select;
                    unary_split::<W, N, _, _>(src, dst, len, Formula(w, s), Formula(n, s), stream)
                }
            }
        }
    }
}

impl<V: Vector> UnaryOp<V> for Formula<V> {
    #[inline(always)]
    unsafe fn apply(self, x: V) -> V {
        // SAFETY: forwarded from the caller; `leaky` gives the oracle's bits (NaN and
        // -0.0 included).
        unsafe { x.leaky(self.0, self.1) }
    }
    #[inline(always)]
    unsafe fn apply_in_place(self, x: V, p: *mut V::Elem) {
        // SAFETY: forwarded from the caller. Only lanes with x < 0 change.
        unsafe {
            if V::MASKED_STORE {
                let (negative, product) = x.leaky_parts(self.0);
                product.store_masked(p, negative)
            } else {
                self.apply(x).store(p)
            }
        }
    }
    #[inline(always)]
    unsafe fn apply4(self, x: [V; 4]) -> [V; 4] {
        // SAFETY: forwarded from the caller; as in `apply`, per register.
        unsafe { V::leaky4(x, self.0, self.1) }
    }
    #[inline(always)]
    unsafe fn apply_in_place4(self, x: [V; 4], p: *mut V::Elem) {
        // SAFETY: forwarded from the caller; register `k` is `p[k * LANES..][..LANES]`,
        // and with a masked store only its lanes with x < 0 change. Without one, the
        // block is `apply4`'s (the max/min form where the type has it).
        unsafe {
            if V::MASKED_STORE {
                let parts = V::leaky_parts4(x, self.0);
                for (k, (negative, product)) in parts.into_iter().enumerate() {
                    product.store_masked(p.add(k * V::LANES), negative)
                }
            } else {
                for (k, v) in self.apply4(x).into_iter().enumerate() {
                    v.store(p.add(k * V::LANES))
                }
            }
        }
    }
}

impl BackwardOp for LeakyReluGrad {
    const OP: Backward = Backward::LeakyReluGrad;

    /// Products stay on the wide vector below 1 MiB per buffer
    /// ([`LEAKY_GRAD_NARROW_MIN_BYTES`]).
    const NARROW_MIN_BYTES: usize = LEAKY_GRAD_NARROW_MIN_BYTES;

    /// The product is formed for every element and then selected, as the vector
    /// kernels do.
    #[inline]
    fn oracle<T: Real>(y: T, dy: T, p: &Params<T>) -> T {
        let product = p.scalars[0].mul(dy);
        if y.is_positive() { dy } else { product }
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
        unsafe { self.0.mul_unless(dy, y.positive(), dy) }
    }
}
