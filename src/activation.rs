//! Which function of the family, with its checked parameters. What each op is (its
//! kernels, its parameters and their rules) is the kernels crate's op registry
//! (`caffe2op_relu_kernels::OPS`); [`Op`] names its entries, in the same order.

use core::any::Any;

use caffe2op_relu_kernels::half::{Bf16, F16};
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
#[derive(Clone, Copy)]
pub struct Activation {
    op: Op,
    /// The op's scalar parameters in registry order; unused slots are 0.
    params: [f64; MAX_SCALARS],
    /// The same, rounded to each element type.
    ready: Ready,
}

/// Equal when the op and the parameters as given are (the rounded copies follow from
/// them, or are computed per call by an activation built for one call).
impl PartialEq for Activation {
    fn eq(&self, other: &Activation) -> bool {
        self.op == other.op && self.params == other.params
    }
}

impl core::fmt::Debug for Activation {
    /// The op and the parameters as given (the rounded copies follow from them).
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Activation")
            .field("op", &self.op)
            .field("params", &self.params)
            .finish()
    }
}

/// An activation's parameters rounded to each element type and checked, once, when
/// it is built: a call reads them instead of rounding and checking again through the
/// registry's rules, which cost relu_n, leaky_relu and clip 8-13 ns a call (at 4 KiB
/// as much as a third of the call). `None` where rounding breaks a rule: a call in
/// that type computes the refusal ([`Activation::params_as`]).
#[derive(Debug, Clone, Copy, PartialEq)]
struct Ready {
    f32: Option<[f32; MAX_SCALARS]>,
    f64: Option<[f64; MAX_SCALARS]>,
    f16: Option<[F16; MAX_SCALARS]>,
    bf16: Option<[Bf16; MAX_SCALARS]>,
}

impl Ready {
    /// No copy in any type: every call rounds and checks its type's parameters
    /// (what `None` means for a type whose rounding breaks a rule). For activations
    /// built for one call (the free functions), where rounding for all four types
    /// up front cost more than the call (about 60 ns).
    const PER_CALL: Ready = Ready {
        f32: None,
        f64: None,
        f16: None,
        bf16: None,
    };

    /// Parameters that every element type holds exactly and that break no rule in
    /// any (relu's zeros, ReLU6's 6).
    const fn exact(p: [f64; MAX_SCALARS]) -> Ready {
        const fn f16(v: f64) -> F16 {
            F16(half::f16::from_f64_const(v).to_bits())
        }
        const fn bf16(v: f64) -> Bf16 {
            Bf16(half::bf16::from_f64_const(v).to_bits())
        }
        Ready {
            f32: Some([p[0] as f32, p[1] as f32]),
            f64: Some(p),
            f16: Some([f16(p[0]), f16(p[1])]),
            bf16: Some([bf16(p[0]), bf16(p[1])]),
        }
    }

    /// Every type's rounding of `a`'s parameters ([`Activation::round_params`]).
    fn of(a: &Activation) -> Ready {
        Ready {
            f32: a.round_params::<f32>().ok().map(|p| p.scalars),
            f64: a.round_params::<f64>().ok().map(|p| p.scalars),
            f16: a.round_params::<half::f16>().ok().map(|p| p.scalars),
            bf16: a.round_params::<half::bf16>().ok().map(|p| p.scalars),
        }
    }

    /// `T`'s parameters, if they passed (a type test the compiler resolves).
    #[inline(always)]
    fn get<T: Element>(&self) -> Option<[T::Kernel; MAX_SCALARS]> {
        let all: [&dyn Any; 4] = [&self.f32, &self.f64, &self.f16, &self.bf16];
        all.into_iter()
            .find_map(|a| a.downcast_ref::<Option<[T::Kernel; MAX_SCALARS]>>())
            .copied()
            .flatten()
    }
}

/// Caffe2's default `n` of ReluN (ReLU6).
pub const DEFAULT_N: f64 = 6.0;
/// Caffe2's default `alpha` of LeakyRelu.
pub const DEFAULT_ALPHA: f64 = 0.01;

impl Activation {
    /// `relu(x) = x < 0 ? 0 : x`.
    pub const fn relu() -> Activation {
        // A constant item, so that the 16-bit roundings of `Ready::exact` (software
        // conversions) run at compile time, not in every call of a `const fn`
        // evaluated at run time (a one-element `relu` call took 13 ns, 8x the loop).
        const RELU: Activation = Activation {
            op: Op::Relu,
            params: [0.0; MAX_SCALARS],
            ready: Ready::exact([0.0; MAX_SCALARS]),
        };
        RELU
    }

    /// `relu_n(x; n)`: ReLU clipped at `n`. `n` must be `> 0` and not NaN (`+inf` is
    /// allowed and makes it relu).
    pub fn relu_n(n: f64) -> Result<Activation, Error> {
        Activation::with_params(Op::ReluN, &[n])
    }

    /// ReLU6, Caffe2's default ReluN.
    pub const fn relu6() -> Activation {
        // A constant item, as in `relu`.
        const RELU6: Activation = Activation {
            op: Op::ReluN,
            params: [DEFAULT_N, 0.0],
            ready: Ready::exact([DEFAULT_N, 0.0]),
        };
        RELU6
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
        let mut a = Activation::for_one_call(op, params)?;
        a.ready = Ready::of(&a);
        Ok(a)
    }

    /// [`Activation::with_params`] for an activation used by one call: the same
    /// checks, but no rounded copies, which a single call would not repay; the call
    /// rounds and checks its own type's parameters.
    #[inline(always)]
    pub(crate) fn for_one_call(op: Op, params: &[f64]) -> Result<Activation, Error> {
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
        Ok(Activation {
            op,
            params: all,
            ready: Ready::PER_CALL,
        })
    }

    /// `op`'s parameters `given` rounded to `T` for a short call, where each rounded
    /// value passes [`Rule::quick_accept`] and the rules between the parameters pass
    /// [`Cross::quick_holds`] as given and as rounded: then they are the parameters that
    /// [`Activation::for_one_call`] and [`Activation::params_as`] give. `None` where a
    /// test says no, for the full checks to decide (and name the refusal).
    ///
    /// Only the rounded values are tested against their rules: rounding to nearest is
    /// monotonic and keeps the sign, NaN and infinity, so a value that breaks its rule
    /// as given (NaN, infinite, negative, `<= 0`) rounds to one that fails the quick
    /// test too. The rules between parameters are tested both ways: rounding can make
    /// two misordered values equal, and the `f64::MIN`/`f64::MAX` stand-ins of a
    /// bound can misorder two ordered ones.
    #[inline(always)]
    pub(crate) fn quick_params<T: Element>(op: Op, given: &[f64]) -> Option<Params<T::Kernel>> {
        let def = op.def();
        if given.len() != def.params.len() {
            return None;
        }
        let mut out = [T::default().to_kernel(); MAX_SCALARS];
        let (mut all, mut rounded) = ([0.0; MAX_SCALARS], [0.0; MAX_SCALARS]);
        for (i, (param, &v)) in def.params.iter().zip(given).enumerate() {
            // A positive value rounded in one step where the type has a shortcut;
            // else rounded and tested.
            let p = match T::positive_param(param.rule, v) {
                Some(p) => p,
                None => {
                    let p = round::<T>(param, v);
                    // A rule that only refuses NaN is left to the rules between
                    // parameters where one covers this parameter
                    // ([`Cross::quick_holds`]).
                    let covered = matches!(param.rule, Rule::NotNan | Rule::Bound)
                        && def
                            .cross
                            .iter()
                            .any(|c| c.params().0 == i || c.params().1 == i);
                    if !covered && !p.quick_accept(param.rule) {
                        return None;
                    }
                    p
                }
            };
            (all[i], rounded[i]) = (v, p.to_f64());
            out[i] = p.to_kernel();
        }
        for rule in def.cross {
            if !(rule.quick_holds(&all) && rule.quick_holds(&rounded)) {
                return None;
            }
        }
        Some(Params {
            scalars: out,
            channel: caffe2op_relu_kernels::ops::Channel::NONE,
        })
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
        match self.ready.get::<T>() {
            Some(scalars) => Ok(Params {
                scalars,
                channel: caffe2op_relu_kernels::ops::Channel::NONE,
            }),
            None => self.round_params::<T>(),
        }
    }

    /// [`Activation::params_as`] computed: each parameter rounded to `T` and checked
    /// against its rule, then the rules between them.
    #[inline(always)]
    fn round_params<T: Element>(&self) -> Result<Params<T::Kernel>, Error> {
        // Only the op's own parameters are rounded (the other slots stay 0): a call
        // pays for nothing it does not use (relu rounds nothing).
        let def = self.op.def();
        let mut out = [T::default().to_kernel(); MAX_SCALARS];
        let mut rounded = [0.0; MAX_SCALARS];
        // A loop of constant length, unrolled, so that the slots stay in registers
        // where the op is known only at run time (a kernel's): written one by one to
        // the stack and read back whole, a 16-bit type's pair stalled the load on
        // store forwarding (a third of a short f16 call's dispatch, Zen 4).
        for i in 0..MAX_SCALARS {
            let (Some(pd), Some(&given)) = (def.params.get(i), self.params.get(i)) else {
                continue;
            };
            let p = round::<T>(pd, given);
            rounded[i] = p.to_f64();
            check(pd, rounded[i], given, T::NAME)?;
            out[i] = p.to_kernel();
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
    // One compare for the common case (a bound that stands for itself).
    match def.rule {
        Rule::Bound if given.abs() == f64::MAX => {
            if given < 0.0 {
                T::LOWEST
            } else {
                T::HIGHEST
            }
        }
        _ => T::from_f64(given),
    }
}

/// Checks the rules between an op's parameters (`rounded` are the values a call will
/// use, `given` the ones the caller gave, for the message).
#[inline]
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
#[inline]
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

#[cfg(test)]
mod tests {
    use super::*;

    /// `T`'s parameters as a call reads them (the cache) and as computed, bit for bit
    /// (or both refused).
    fn same_as_computed<T: Element>(a: &Activation) {
        let cached = a.ready.get::<T>();
        let computed = a.round_params::<T>().ok().map(|p| p.scalars);
        let bits = |v: Option<[T::Kernel; MAX_SCALARS]>| {
            v.map(|s| s.map(|k| T::from_kernel(k).to_f64().to_bits()))
        };
        assert_eq!(bits(cached), bits(computed), "{} {a:?}", T::NAME);
        assert_eq!(
            a.params_as::<T>()
                .ok()
                .map(|p| p.scalars)
                .map(|s| s.map(|k| T::from_kernel(k).to_f64().to_bits())),
            bits(computed),
            "{} {a:?}",
            T::NAME
        );
    }

    /// The cache of rounded parameters holds what the rules compute, for every type:
    /// relu and ReLU6 (built in `const` code), and parameters that round differently
    /// per type, some of them refused in the narrow types only.
    #[test]
    fn cached_parameters_are_the_computed_ones() {
        let mut all = vec![Activation::relu(), Activation::relu6()];
        for v in [6.0, 1e-50, 1e-6, 0.1, 70000.0, 3.0e38, 1e300, f64::INFINITY] {
            all.extend(Activation::relu_n(v));
            all.extend(Activation::leaky_relu(v));
        }
        for (lo, hi) in [
            (-1.0, 1.0),
            (f64::MIN, f64::MAX),
            (1e300, f64::MAX),
            (70000.0, f64::MAX),
            (-0.0, 0.0),
            (0.1, 0.1 + 1e-12),
            (f64::NEG_INFINITY, 1e-50),
        ] {
            all.extend(Activation::clip(lo, hi));
        }
        assert!(all.len() > 20);
        for a in &all {
            same_as_computed::<f32>(a);
            same_as_computed::<f64>(a);
            same_as_computed::<half::f16>(a);
            same_as_computed::<half::bf16>(a);
        }
        // Refused in a narrow type only: the cache holds no value there.
        let a = Activation::relu_n(1e-50).unwrap();
        assert!(a.ready.get::<f64>().is_some() && a.ready.get::<f32>().is_none());
        // Built for one call: no copies, the same parameters (or refusal) per type,
        // and equal to the cached activation.
        for a in &all {
            let one = Activation::for_one_call(a.op, &a.params[..a.op.def().params.len()]).unwrap();
            assert!(one.ready == Ready::PER_CALL && one == *a, "{a:?}");
            fn bits<T: Element>(a: &Activation) -> Option<[u64; MAX_SCALARS]> {
                let p = a.params_as::<T>().ok()?;
                Some(p.scalars.map(|k| T::from_kernel(k).to_f64().to_bits()))
            }
            assert_eq!(bits::<f32>(&one), bits::<f32>(a), "{a:?}");
            assert_eq!(bits::<f64>(&one), bits::<f64>(a), "{a:?}");
            assert_eq!(bits::<half::f16>(&one), bits::<half::f16>(a), "{a:?}");
            assert_eq!(bits::<half::bf16>(&one), bits::<half::bf16>(a), "{a:?}");
        }
        assert_eq!(
            Activation::for_one_call(Op::ReluN, &[0.0]).unwrap_err(),
            Activation::relu_n(0.0).unwrap_err()
        );
    }

    /// The short calls' quick parameters are the full path's wherever they are given,
    /// bit for bit, over values each rule accepts or refuses as given or only once
    /// rounded (and they are given for the plain values, so the quick path runs).
    #[test]
    fn quick_parameters_are_the_full_ones() {
        fn same<T: Element>(op: Op, given: &[f64]) -> bool {
            let bits =
                |p: Params<T::Kernel>| p.scalars.map(|k| T::from_kernel(k).to_f64().to_bits());
            let full = Activation::for_one_call(op, given).and_then(|a| a.params_as::<T>());
            match Activation::quick_params::<T>(op, given) {
                Some(q) => {
                    assert_eq!(
                        Some(bits(q)),
                        full.ok().map(bits),
                        "{op:?} {given:?} {}",
                        T::NAME
                    );
                    true
                }
                None => false,
            }
        }
        let values = [
            0.0,
            -0.0,
            1e-50,
            -1e-50,
            1e-6,
            0.01,
            0.1,
            1.0,
            6.0,
            -1.0,
            70000.0,
            // Around the ends of the 16-bit types' positive-normal shortcut.
            65519.99,
            65520.0,
            3.3961776e38,
            6.1035e-5,
            6.1036e-5,
            1.1754942e-38,
            1.1754944e-38,
            3.0e38,
            3.5e38,
            1e300,
            f64::MAX,
            f64::MIN,
            f64::INFINITY,
            f64::NEG_INFINITY,
            f64::NAN,
            -f64::NAN,
        ];
        let mut quick = 0;
        for op in [Op::ReluN, Op::LeakyRelu] {
            for &v in &values {
                let r = [
                    same::<f32>(op, &[v]),
                    same::<f64>(op, &[v]),
                    same::<half::f16>(op, &[v]),
                    same::<half::bf16>(op, &[v]),
                ];
                quick += r.iter().filter(|&&q| q).count();
            }
        }
        for &lo in &values {
            for &hi in &values {
                for q in [
                    same::<f32>(Op::Clip, &[lo, hi]),
                    same::<f64>(Op::Clip, &[lo, hi]),
                    same::<half::f16>(Op::Clip, &[lo, hi]),
                    same::<half::bf16>(Op::Clip, &[lo, hi]),
                ] {
                    quick += usize::from(q);
                }
            }
        }
        // A wrong count is left to the full path.
        assert!(!same::<f32>(Op::Clip, &[1.0]) && !same::<f32>(Op::LeakyRelu, &[0.1, 0.2]));
        for (op, p) in [
            (Op::LeakyRelu, &[0.01][..]),
            (Op::ReluN, &[6.0]),
            (Op::Clip, &[-1.0, 1.0]),
        ] {
            assert!(same::<f32>(op, p) && same::<f64>(op, p), "{op:?}");
        }
        assert!(quick > 400, "{quick}");
    }
}
