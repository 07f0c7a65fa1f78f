//! Which function of the family, with its checked parameter.

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
        match self {
            Op::Relu => "relu",
            Op::ReluN => "relu_n",
            Op::LeakyRelu => "leaky_relu",
        }
    }
}

/// A validated activation: an [`Op`] and its parameter.
///
/// Parameters are checked when the activation is built (as `f64`) and again when a
/// call converts them to its element type, since rounding can break the rule (for
/// example `n = 1e-50` is `0.0` in `f32`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Activation {
    op: Op,
    param: f64,
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
            param: 0.0,
        }
    }

    /// `relu_n(x; n)`: ReLU clipped at `n`. `n` must be `> 0` and not NaN (`+inf` is
    /// allowed and makes it relu).
    pub fn relu_n(n: f64) -> Result<Activation, Error> {
        check_n(n, n, "f64")?;
        Ok(Activation {
            op: Op::ReluN,
            param: n,
        })
    }

    /// ReLU6, Caffe2's default ReluN.
    pub const fn relu6() -> Activation {
        Activation {
            op: Op::ReluN,
            param: DEFAULT_N,
        }
    }

    /// `leaky_relu(x; alpha)`. `alpha` must be finite and `>= 0` (the backward pass
    /// works from the forward output, which is only invertible for `alpha >= 0`).
    pub fn leaky_relu(alpha: f64) -> Result<Activation, Error> {
        check_alpha(alpha, alpha, "f64")?;
        Ok(Activation {
            op: Op::LeakyRelu,
            param: alpha,
        })
    }

    /// Builds an activation from an op and its parameter (ignored for relu).
    pub fn new(op: Op, param: f64) -> Result<Activation, Error> {
        match op {
            Op::Relu => Ok(Activation::relu()),
            Op::ReluN => Activation::relu_n(param),
            Op::LeakyRelu => Activation::leaky_relu(param),
        }
    }

    /// The op.
    pub const fn op(&self) -> Op {
        self.op
    }

    /// The parameter as given (`n`, `alpha`, or 0 for relu).
    pub const fn param(&self) -> f64 {
        self.param
    }

    /// The parameter rounded to `T`, refused if rounding breaks its rule.
    #[inline]
    pub fn param_as<T: Element>(&self) -> Result<T, Error> {
        let p = T::from_f64(self.param);
        match self.op {
            Op::Relu => {}
            Op::ReluN => check_n(p.to_f64(), self.param, T::NAME)?,
            Op::LeakyRelu => check_alpha(p.to_f64(), self.param, T::NAME)?,
        }
        Ok(p)
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

fn check_n(rounded: f64, given: f64, dtype: &'static str) -> Result<(), Error> {
    let reason = if rounded.is_nan() {
        "n must not be NaN"
    } else if rounded <= 0.0 {
        "n must be > 0"
    } else {
        return Ok(());
    };
    Err(Error::InvalidParameter {
        name: "n",
        value: given,
        dtype,
        reason,
    })
}

fn check_alpha(rounded: f64, given: f64, dtype: &'static str) -> Result<(), Error> {
    let reason = if rounded.is_nan() {
        "alpha must not be NaN"
    } else if rounded.is_infinite() {
        "alpha must be finite"
    } else if rounded < 0.0 {
        "alpha must be >= 0"
    } else {
        return Ok(());
    };
    Err(Error::InvalidParameter {
        name: "alpha",
        value: given,
        dtype,
        reason,
    })
}
