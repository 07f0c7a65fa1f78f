//! Which function of the family, with its checked parameters. What each op is (its
//! kernels, its parameters and their rules) is the kernels crate's op registry
//! (`caffe2op_relu_kernels::OPS`); [`Op`] names its entries, in the same order.

use caffe2op_relu_kernels::ops::{self as reg, MAX_SCALARS, OpDef, ParamDef, Rule};
use caffe2op_relu_kernels::{Backward, Forward, Params};

use crate::element::Element;
use crate::error::Error;

/// The functions of the family (each has a forward and a backward form).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Op {
    /// `relu(x) = x < 0 ? 0 : x`
    Relu,
    /// `relu_n(x; n) = x < 0 ? 0 : x > n ? n : x`
    ReluN,
    /// `leaky_relu(x; a) = x < 0 ? a * x : x`
    LeakyRelu,
    /// `clip(x; min, max) = x < min ? min : x > max ? max : x`
    Clip,
}

impl Op {
    /// Every op.
    pub const ALL: [Op; 4] = [Op::Relu, Op::ReluN, Op::LeakyRelu, Op::Clip];

    /// Lowercase name (`"relu"`, `"relu_n"`, `"leaky_relu"`, `"clip"`).
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

/// A validated activation: an [`Op`] and its parameters.
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

    /// `clip(x; min, max)`: `x < min ? min : x > max ? max : x` (Caffe2's Clip). The
    /// bounds must not be NaN and `min <= max` must hold, as given and once rounded
    /// to a call's element type. `f64::MIN` and `f64::MAX` stand for the element
    /// type's lowest and highest finite values (Caffe2's defaults,
    /// [`Activation::caffe2_default`]`(Op::Clip)`); `-inf` and `+inf` are allowed.
    pub fn clip(min: f64, max: f64) -> Result<Activation, Error> {
        Activation::with_params(Op::Clip, &[min, max])
    }

    /// Builds an activation from an op and its parameter (ignored for relu; both
    /// bounds of clip).
    pub fn new(op: Op, param: f64) -> Result<Activation, Error> {
        Activation::with_params(op, &[param; MAX_SCALARS][..op.def().params.len()])
    }

    /// The op with Caffe2's default parameters (ReLU6 for relu_n, `alpha = 0.01` for
    /// leaky_relu, the element type's lowest and highest finite values for clip);
    /// `None` for an op with a parameter that has no default.
    pub fn caffe2_default(op: Op) -> Option<Activation> {
        let defs = op.def().params;
        let mut values = [0.0; MAX_SCALARS];
        for (v, def) in values.iter_mut().zip(defs) {
            *v = def.default?;
        }
        Activation::with_params(op, &values[..defs.len()]).ok()
    }

    /// Builds an activation from an op and its parameters, in the order of the
    /// registry's `OpDef::params` (each checked against its rule, then the rules
    /// between them, `OpDef::cross`).
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
        check_cross(op.def(), &all, &all, "f64")?;
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
        let def = self.op.def();
        let mut out = [T::default().to_kernel(); MAX_SCALARS];
        let mut rounded = [0.0; MAX_SCALARS];
        for (((slot, r), def), &given) in out
            .iter_mut()
            .zip(&mut rounded)
            .zip(def.params)
            .zip(&self.params)
        {
            let p = round::<T>(def, given);
            *r = p.to_f64();
            check(def, *r, given, T::NAME)?;
            *slot = p.to_kernel();
        }
        if !def.cross.is_empty() {
            check_cross(def, &rounded, &self.params, T::NAME)?;
        }
        Ok(Params {
            scalars: out,
            channel: caffe2op_relu_kernels::ops::Channel::NONE,
        })
    }

    /// Every parameter rounded to `T`, in registry order (unused slots `+0`);
    /// refused if rounding breaks a rule.
    pub fn params_in<T: Element>(&self) -> Result<[T; MAX_SCALARS], Error> {
        Ok(self.params_as::<T>()?.scalars.map(T::from_kernel))
    }

    /// The oracle on one element (the definition every kernel matches bit for bit).
    pub fn oracle_forward<T: Element>(&self, x: T) -> Result<T, Error> {
        Ok(T::oracle_forward_with(self.op, x, self.params_in::<T>()?))
    }

    /// The oracle of the backward op on one element, from the forward output `y`.
    pub fn oracle_backward<T: Element>(&self, y: T, dy: T) -> Result<T, Error> {
        Ok(T::oracle_backward_with(
            self.op,
            y,
            dy,
            self.params_in::<T>()?,
        ))
    }
}

/// A parameter as a call of element type `T` uses it: rounded to nearest, except a
/// [`Rule::Bound`] of `f64::MIN` or `f64::MAX`, which stands for `T`'s lowest or
/// highest finite value.
#[inline]
fn round<T: Element>(def: &ParamDef, given: f64) -> T {
    match def.rule {
        Rule::Bound if given == f64::MIN => T::LOWEST,
        Rule::Bound if given == f64::MAX => T::HIGHEST,
        _ => T::from_f64(given),
    }
}

/// Checks the rules between an op's parameters (`rounded` are the values a call will
/// use, `given` the ones the caller gave, for the message).
fn check_cross(
    def: &OpDef,
    rounded: &[f64; MAX_SCALARS],
    given: &[f64; MAX_SCALARS],
    dtype: &'static str,
) -> Result<(), Error> {
    for rule in def.cross {
        if let Some(reason) = rule.refusal(rounded) {
            let (a, b) = rule.params();
            return Err(Error::InvalidParameters {
                names: [def.params[a].name, def.params[b].name],
                values: [given[a], given[b]],
                dtype,
                reason,
            });
        }
    }
    Ok(())
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
