//! Which function of the family, with its checked parameters. What each op is (its
//! kernels, its parameters and their rules) is the kernels crate's op registry
//! (`caffe2op_relu_kernels::OPS`); [`Op`] names its entries, in the same order.

use caffe2op_relu_kernels::ops::{self as reg, MAX_SCALARS, OpDef, ParamDef};
use caffe2op_relu_kernels::{Backward, Forward, Params};

use crate::element::Element;
use crate::error::Error;

/// The three functions of the family (each has a forward and a backward form).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Op {
    /// `relu(x) = x < 0 ? 0 : x`
    Relu,
    /// `relu_n(x; n) = x < 0 ? 0 : x > n ? n : x`
    ReluN,
    /// `leaky_relu(x; a) = x < 0 ? a * x : x`
    LeakyRelu,
}

impl Op {
    /// Every op.
    pub const ALL: [Op; 3] = [Op::Relu, Op::ReluN, Op::LeakyRelu];

    /// Lowercase name (`"relu"`, `"relu_n"`, `"leaky_relu"`).
    pub const fn name(self) -> &'static str {
        reg::OPS[self as usize].name
    }

    /// The kernels crate's registry entry of this op.
    #[doc(hidden)]
    pub const fn def(self) -> &'static OpDef {
        &reg::OPS[self as usize]
    }

    /// The op's forward kernel (its index in a kernel table).
    #[doc(hidden)]
    pub const fn forward(self) -> Forward {
        self.def().forward
    }

    /// The op's backward kernel (its index in a kernel table).
    #[doc(hidden)]
    pub const fn backward(self) -> Backward {
        self.def().backward
    }
}

const _: () = assert!(Op::ALL.len() == reg::OPS.len());

/// A validated activation: an [`Op`] and its parameter.
///
/// Parameters are checked when the activation is built (as `f64`) and again when a
/// call converts them to its element type, since rounding can break the rule (for
/// example `n = 1e-50` is `0.0` in `f32`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Activation {
    op: Op,
    /// The op's scalar parameters in registry order; unused slots are 0.
    params: [f64; MAX_SCALARS],
}

/// Caffe2's default `n` of ReluN (ReLU6).
pub const DEFAULT_N: f64 = 6.0;
/// Caffe2's default `alpha` of LeakyRelu.
pub const DEFAULT_ALPHA: f64 = 0.01;

impl Activation {
    /// `relu(x) = x < 0 ? 0 : x`.
    pub const fn relu() -> Activation {
        Activation {
            op: Op::Relu,
            params: [0.0; MAX_SCALARS],
        }
    }

    /// `relu_n(x; n)`: ReLU clipped at `n`. `n` must be `> 0` and not NaN (`+inf` is
    /// allowed and makes it relu).
    pub fn relu_n(n: f64) -> Result<Activation, Error> {
        Activation::with_params(Op::ReluN, &[n])
    }

    /// ReLU6, Caffe2's default ReluN.
    pub const fn relu6() -> Activation {
        Activation {
            op: Op::ReluN,
            params: [DEFAULT_N, 0.0],
        }
    }

    /// `leaky_relu(x; alpha)`. `alpha` must be finite and `>= 0` (the backward pass
    /// works from the forward output, which is only invertible for `alpha >= 0`).
    pub fn leaky_relu(alpha: f64) -> Result<Activation, Error> {
        Activation::with_params(Op::LeakyRelu, &[alpha])
    }

    /// Builds an activation from an op and its parameter (ignored for relu).
    pub fn new(op: Op, param: f64) -> Result<Activation, Error> {
        Activation::with_params(op, &[param; MAX_SCALARS][..op.def().params.len()])
    }

    /// The op with Caffe2's default parameters (ReLU6 for relu_n, `alpha = 0.01` for
    /// leaky_relu); `None` for an op with a parameter that has no default.
    pub fn caffe2_default(op: Op) -> Option<Activation> {
        let defs = op.def().params;
        let mut values = [0.0; MAX_SCALARS];
        for (v, def) in values.iter_mut().zip(defs) {
            *v = def.default?;
        }
        Activation::with_params(op, &values[..defs.len()]).ok()
    }

    /// Builds an activation from an op and its parameters, in the order of the
    /// registry's `OpDef::params` (each checked against its rule).
    pub fn with_params(op: Op, params: &[f64]) -> Result<Activation, Error> {
        let defs = op.def().params;
        if params.len() != defs.len() {
            return Err(Error::ParameterCount {
                op: op.name(),
                expected: defs.len(),
                found: params.len(),
            });
        }
        let mut all = [0.0; MAX_SCALARS];
        for (i, (&v, def)) in params.iter().zip(defs).enumerate() {
            check(def, v, v, "f64")?;
            all[i] = v;
        }
        Ok(Activation { op, params: all })
    }

    /// The op.
    pub const fn op(&self) -> Op {
        self.op
    }

    /// The (first) parameter as given (`n`, `alpha`, or 0 for relu).
    pub const fn param(&self) -> f64 {
        self.params[0]
    }

    /// Every parameter as given, in registry order (unused slots 0).
    pub const fn params(&self) -> [f64; MAX_SCALARS] {
        self.params
    }

    /// The (first) parameter rounded to `T`, refused if rounding breaks its rule.
    #[inline]
    pub fn param_as<T: Element>(&self) -> Result<T, Error> {
        Ok(T::from_kernel(self.params_as::<T>()?.scalars[0]))
    }

    /// Every parameter rounded to `T`, as the kernels take them; refused if rounding
    /// breaks a rule.
    #[inline]
    pub(crate) fn params_as<T: Element>(&self) -> Result<Params<T::Kernel>, Error> {
        // Only the op's own parameters are rounded (the other slots stay 0): a call
        // pays for nothing it does not use (relu rounds nothing).
        let mut out = [T::default().to_kernel(); MAX_SCALARS];
        for ((slot, def), &given) in out.iter_mut().zip(self.op.def().params).zip(&self.params) {
            let p = T::from_f64(given);
            check(def, p.to_f64(), given, T::NAME)?;
            *slot = p.to_kernel();
        }
        Ok(Params {
            scalars: out,
            channel: caffe2op_relu_kernels::ops::Channel::NONE,
        })
    }

    /// The oracle on one element (the definition every kernel matches bit for bit).
    pub fn oracle_forward<T: Element>(&self, x: T) -> Result<T, Error> {
        Ok(T::oracle_forward(self.op, x, self.param_as::<T>()?))
    }

    /// The oracle of the backward op on one element, from the forward output `y`.
    pub fn oracle_backward<T: Element>(&self, y: T, dy: T) -> Result<T, Error> {
        Ok(T::oracle_backward(self.op, y, dy, self.param_as::<T>()?))
    }
}

/// Checks one parameter against its rule (`rounded` is the value a call will use,
/// `given` the one the caller gave, for the message).
fn check(def: &ParamDef, rounded: f64, given: f64, dtype: &'static str) -> Result<(), Error> {
    match def.refusal(rounded) {
        None => Ok(()),
        Some(reason) => Err(Error::InvalidParameter {
            name: def.name,
            value: given,
            dtype,
            reason,
        }),
    }
}
