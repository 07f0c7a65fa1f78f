//! The op registry: every op of the family defined once, as data and as code.
//!
//! An op lives in one file of this folder (`relu.rs`, `relu_n.rs`, `leaky_relu.rs`,
//! `clip.rs`):
//! its marker types implement [`ForwardOp`] and [`BackwardOp`], which carry the
//! oracle's element function (generic over [`Real`]) and the vector formula
//! (generic over [`Vector`]); its [`OpDef`] gives its name, its Caffe2 operator names
//! and its parameters with their rules. This file lists the ops once: the
//! [`Forward`] and [`Backward`] indices that kernel tables are indexed by, [`OPS`],
//! the oracle dispatch ([`oracle_forward`], [`oracle_backward`]), the visitors that
//! turn an op chosen at run time into a type ([`visit_forward`], [`visit_backward`])
//! and the table builder (`kernels_table!`) every ISA folder calls.
//!
//! # Adding an op
//! 1. A file here with its marker types, `ForwardOp`/`BackwardOp` impls and `OpDef`.
//! 2. In this file: a variant of [`Forward`] and of [`Backward`], its `OpDef` in
//!    [`OPS`], its arm in the oracle and visitor functions and its entry in
//!    `kernels_table!`.
//!
//! Every ISA's tables then have the op (through the generic loop bodies), and the safe
//! crate, the tests, the benches and the report iterate [`OPS`].

use crate::generic::{BinaryOp, UnaryOp, binary_split, unary_split};
use crate::half::{Bf16, F16};
use crate::vector::Vector;

mod clip;
mod leaky_relu;
mod relu;
mod relu_n;

pub use clip::{Clip, ClipGrad};
pub use leaky_relu::{LeakyRelu, LeakyReluGrad};
pub use relu::{Relu, ReluGrad};
pub use relu_n::{ReluN, ReluNGrad};

/// A float element type as the oracle sees it: IEEE comparisons and one correctly
/// rounded product. The oracle's element functions are written once over this trait;
/// for the 16-bit types every comparison and the product go through an exact
/// widening to `f32` (see [`crate::half`]).
pub trait Real: Copy + Send + Sync + 'static {
    /// `+0`.
    const ZERO: Self;
    /// IEEE `self < o` (false where either is NaN).
    fn lt(self, o: Self) -> bool;
    /// IEEE `self > o` (false where either is NaN).
    fn gt(self, o: Self) -> bool;
    /// The product `self * o`, rounded once to the type (nearest, ties to even).
    fn mul(self, o: Self) -> Self;
    /// `self < 0`.
    #[inline(always)]
    fn is_negative(self) -> bool {
        self.lt(Self::ZERO)
    }
    /// `self > 0`.
    #[inline(always)]
    fn is_positive(self) -> bool {
        self.gt(Self::ZERO)
    }
}

macro_rules! native_real {
    ($T:ty) => {
        impl Real for $T {
            const ZERO: $T = 0.0;
            #[inline(always)]
            fn lt(self, o: $T) -> bool {
                self < o
            }
            #[inline(always)]
            fn gt(self, o: $T) -> bool {
                self > o
            }
            #[inline(always)]
            fn mul(self, o: $T) -> $T {
                self * o
            }
        }
    };
}
native_real!(f32);
native_real!(f64);

macro_rules! half_real {
    ($T:ident, $widen:ident) => {
        impl Real for $T {
            const ZERO: $T = $T::ZERO;
            #[inline(always)]
            fn lt(self, o: $T) -> bool {
                self.$widen() < o.$widen()
            }
            #[inline(always)]
            fn gt(self, o: $T) -> bool {
                self.$widen() > o.$widen()
            }
            /// One `f32` product of the exact widenings, rounded once: exact in `f32`
            /// for `F16` (11-bit significands, exponents far inside `f32`'s range), and
            /// for `Bf16` the `f32` product every bf16 library computes.
            #[inline(always)]
            fn mul(self, o: $T) -> $T {
                $T::from_f32(self.$widen() * o.$widen())
            }
            #[inline(always)]
            fn is_negative(self) -> bool {
                self.$widen() < 0.0
            }
            #[inline(always)]
            fn is_positive(self) -> bool {
                self.$widen() > 0.0
            }
        }
    };
}
half_real!(F16, to_f32);
half_real!(Bf16, to_f32_for_arithmetic);

/// How many scalar parameters an op may take (Clip's `min` and `max` need two).
pub const MAX_SCALARS: usize = 2;

/// The parameters of one kernel call.
///
/// `scalars` are the op's scalar parameters in the order of its [`OpDef::params`]
/// (slots an op does not use hold any value). `channel` is a per-channel parameter
/// (a learned slope per channel, say) for ops that take one; others ignore it.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Params<T> {
    /// The scalar parameters.
    pub scalars: [T; MAX_SCALARS],
    /// The per-channel parameter, or [`Channel::NONE`].
    pub channel: Channel<T>,
}

impl<T: Copy> Params<T> {
    /// One scalar parameter (also in the unused slot), no per-channel one.
    #[inline(always)]
    pub const fn scalar(p: T) -> Params<T> {
        Params {
            scalars: [p; MAX_SCALARS],
            channel: Channel::NONE,
        }
    }

    /// The parameters of the part of a call that starts `by` elements in (only the
    /// per-channel parameter depends on the position).
    #[inline(always)]
    pub const fn offset(self, by: usize) -> Params<T> {
        Params {
            scalars: self.scalars,
            channel: Channel {
                start: self.channel.start.wrapping_add(by),
                ..self.channel
            },
        }
    }
}

/// A per-channel parameter: element `i` of a call uses
/// `values[((start + i) / inner) % count]` (`inner` is 1 for a channels-last layout,
/// and the product of the spatial dimensions for channels-first).
///
/// A kernel of an op that reads it may assume `values` is valid for `count` reads
/// and that `count` and `inner` are not zero; nothing reads it for other ops.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Channel<T> {
    /// The per-channel values.
    pub values: *const T,
    /// How many there are.
    pub count: usize,
    /// Consecutive elements that share one channel.
    pub inner: usize,
    /// The position of the call's first element in the whole tensor.
    pub start: usize,
}

impl<T> Channel<T> {
    /// No per-channel parameter.
    pub const NONE: Channel<T> = Channel {
        values: core::ptr::null(),
        count: 0,
        inner: 0,
        start: 0,
    };
}

// SAFETY: a `Channel` is a read-only view: kernels only read `values`, and the safe
// crate keeps the values alive and unmodified for the whole call, across every
// thread a call is split over.
unsafe impl<T: Sync> Send for Channel<T> {}
// SAFETY: as above.
unsafe impl<T: Sync> Sync for Channel<T> {}

/// The forward kernels of a table, in table order ([`crate::Kernels::forward`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[repr(u8)]
pub enum Forward {
    /// [`Relu`]
    Relu,
    /// [`ReluN`]
    ReluN,
    /// [`LeakyRelu`]
    LeakyRelu,
    /// [`Clip`]
    Clip,
}

/// The backward kernels of a table, in table order ([`crate::Kernels::backward`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[repr(u8)]
pub enum Backward {
    /// [`ReluGrad`]
    ReluGrad,
    /// [`ReluNGrad`]
    ReluNGrad,
    /// [`LeakyReluGrad`]
    LeakyReluGrad,
    /// [`ClipGrad`]
    ClipGrad,
}

impl Forward {
    /// How many forward kernels a table has.
    pub const COUNT: usize = 4;
    /// Every forward kernel, in table order.
    pub const ALL: [Forward; Forward::COUNT] = [
        Forward::Relu,
        Forward::ReluN,
        Forward::LeakyRelu,
        Forward::Clip,
    ];
}

impl Backward {
    /// How many backward kernels a table has.
    pub const COUNT: usize = 4;
    /// Every backward kernel, in table order.
    pub const ALL: [Backward; Backward::COUNT] = [
        Backward::ReluGrad,
        Backward::ReluNGrad,
        Backward::LeakyReluGrad,
        Backward::ClipGrad,
    ];
}

/// What a parameter's value must satisfy (checked by the safe crate, as given and
/// again once rounded to the element type of a call).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rule {
    /// `> 0` and not NaN (`+inf` allowed).
    Positive,
    /// Finite and `>= 0`.
    FiniteNonNegative,
    /// Any value but NaN (infinities allowed).
    NotNan,
    /// Any finite value.
    Finite,
    /// A bound: any value but NaN (infinities allowed). `f64::MIN` and `f64::MAX`
    /// (Caffe2's defaults of Clip's `min` and `max`) stand for the lowest and highest
    /// finite values of a call's element type; any other value rounds to the type
    /// to nearest, ties to even, as every parameter does.
    Bound,
}

impl Rule {
    /// A quick sufficient test: `true` only where [`ParamDef::refusal`] is `None`,
    /// which decides the values this answers `false` for (only `-0.0`, for
    /// [`Rule::FiniteNonNegative`], is answered `false` and accepted there). One compare
    /// of the value or its bits, for the calls that check a parameter each time.
    #[inline(always)]
    pub fn quick_accept(self, v: f64) -> bool {
        // Bit tests where two float compares would be merged by LLVM into a class
        // test of a dozen integer instructions.
        const INF: u64 = 0x7ff0_0000_0000_0000;
        match self {
            Rule::Positive => v > 0.0,
            // `+0.0` up to the largest finite value.
            Rule::FiniteNonNegative => v.to_bits() < INF,
            Rule::NotNan | Rule::Bound => !v.is_nan(),
            Rule::Finite => v.to_bits() << 1 < INF << 1,
        }
    }

    /// [`Rule::quick_accept`] of a 16-bit float (either format) given by its bits,
    /// `inf` those of its `+infinity`: one integer compare where widening to `f64`
    /// takes a conversion. Both formats put the sign in the top bit, and their
    /// magnitudes order as their low 15 bits do.
    #[inline(always)]
    pub fn quick_accept_bits16(self, bits: u16, inf: u16) -> bool {
        match self {
            // The smallest positive value up to `+infinity`.
            Rule::Positive => bits.wrapping_sub(1) < inf,
            Rule::FiniteNonNegative => bits < inf,
            Rule::NotNan | Rule::Bound => bits & 0x7FFF <= inf,
            Rule::Finite => bits & 0x7FFF < inf,
        }
    }
}

/// A rule between two parameters of an op, checked after each parameter's own rule
/// (as given, and again once rounded to the element type of a call).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cross {
    /// `params[low] <= params[high]` (IEEE: `-0.0 <= +0.0` and `+0.0 <= -0.0` both
    /// hold).
    NotAbove {
        /// The index of the lower parameter in [`OpDef::params`].
        low: usize,
        /// The index of the higher one.
        high: usize,
        /// What a refusal says.
        reason: &'static str,
    },
}

impl Cross {
    /// The indices of the two parameters the rule relates.
    pub const fn params(&self) -> (usize, usize) {
        match *self {
            Cross::NotAbove { low, high, .. } => (low, high),
        }
    }

    /// A quick sufficient test: `true` only where [`Cross::refusal`] is `None` and
    /// neither value is NaN (so it also stands for a [`Rule::NotNan`] or
    /// [`Rule::Bound`] of either parameter).
    #[inline(always)]
    pub fn quick_holds(&self, values: &[f64]) -> bool {
        match *self {
            Cross::NotAbove { low, high, .. } => values[low] <= values[high],
        }
    }

    /// Why `values` (every parameter of the op, in [`OpDef::params`] order) break this
    /// rule, or `None` when they satisfy it.
    pub fn refusal(&self, values: &[f64]) -> Option<&'static str> {
        match *self {
            Cross::NotAbove { low, high, reason } => (values[low] > values[high]).then_some(reason),
        }
    }
}

/// One parameter of an op.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ParamDef {
    /// Its name (Caffe2's argument name where it has one).
    pub name: &'static str,
    /// Its default, where Caffe2 has one.
    pub default: Option<f64>,
    /// The rule its value must satisfy.
    pub rule: Rule,
    /// What a refusal says, per broken part of the rule: NaN, not `> 0`, infinite,
    /// negative (built by `param!` from the name).
    pub reasons: [&'static str; 4],
}

impl ParamDef {
    /// Why `v` breaks this parameter's rule, or `None` when it satisfies it.
    pub fn refusal(&self, v: f64) -> Option<&'static str> {
        let [nan, not_positive, infinite, negative] = self.reasons;
        match self.rule {
            _ if v.is_nan() => Some(nan),
            Rule::Positive if v <= 0.0 => Some(not_positive),
            Rule::FiniteNonNegative | Rule::Finite if v.is_infinite() => Some(infinite),
            Rule::FiniteNonNegative if v < 0.0 => Some(negative),
            _ => None,
        }
    }
}

/// A [`ParamDef`]: `param!("n", Some(6.0), Positive)`.
macro_rules! param {
    ($name:literal, $default:expr, $rule:ident) => {
        $crate::ops::ParamDef {
            name: $name,
            default: $default,
            rule: $crate::ops::Rule::$rule,
            reasons: [
                concat!($name, " must not be NaN"),
                concat!($name, " must be > 0"),
                concat!($name, " must be finite"),
                concat!($name, " must be >= 0"),
            ],
        }
    };
}
use param;

/// One op of the family: its forward kernel, its backward kernel and its parameters.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct OpDef {
    /// Lowercase name (`"relu"`, `"relu_n"`, `"leaky_relu"`, `"clip"`).
    pub name: &'static str,
    /// The forward kernel.
    pub forward: Forward,
    /// The backward kernel (from the forward output `y` and `dy`).
    pub backward: Backward,
    /// Its scalar parameters, in [`Params::scalars`] order.
    pub params: &'static [ParamDef],
    /// Rules between its parameters (each parameter's own rule is in its
    /// [`ParamDef`]).
    pub cross: &'static [Cross],
    /// Caffe2's forward and gradient operator names.
    pub caffe2: (&'static str, &'static str),
    /// Whether its oracle forms products (leaky_relu's `a * x`, forward and
    /// backward), which the 16-bit types narrow in software: their short calls of such
    /// an op run inline up to a shorter length than those of an op that only compares
    /// and selects.
    pub products: bool,
}

/// Every op, in [`Forward`] order.
pub const OPS: [OpDef; 4] = [relu::DEF, relu_n::DEF, leaky_relu::DEF, clip::DEF];

impl Forward {
    /// The op this kernel is the forward pass of.
    pub const fn def(self) -> &'static OpDef {
        &OPS[self as usize]
    }
}

/// A forward op: `dst[i] = op(src[i]; params)`.
pub trait ForwardOp: Copy + 'static {
    /// Its index in the tables.
    const OP: Forward;

    /// The oracle on one element: the definition every kernel matches bit for bit.
    fn oracle<T: Real>(x: T, p: &Params<T>) -> T;

    /// The vector formula on registers of `V`.
    type Formula<V: Vector>: UnaryOp<V>;

    /// The formula for the parameters of a call (splats them once).
    ///
    /// # Safety
    /// The running CPU supports `V`'s ISA.
    unsafe fn formula<V: Vector>(p: &Params<V::Elem>) -> Self::Formula<V>;

    /// A whole call on the vector types `W` (wide) and `N` (narrow) of one ISA. The
    /// default runs [`unary_split`] on the formula; an op may pick among several
    /// loops once per call.
    ///
    /// # Safety
    /// The contract of [`crate::UnaryFn`], with the ISA of `W` and `N` available.
    #[inline(always)]
    unsafe fn run<W: Vector, N: Vector<Elem = W::Elem>>(
        src: *const W::Elem,
        dst: *mut W::Elem,
        len: usize,
        p: &Params<W::Elem>,
        stream: bool,
    ) {
        // SAFETY: forwarded from the caller.
        unsafe {
            let (w, n) = (Self::formula::<W>(p), Self::formula::<N>(p));
            unary_split::<W, N, _, _>(src, dst, len, w, n, stream)
        }
    }
}

/// A backward op: `dx[i] = op_grad(y[i], dy[i]; params)`, from the forward output.
pub trait BackwardOp: Copy + 'static {
    /// Its index in the tables.
    const OP: Backward;

    /// From how many bytes per buffer the narrow vector of a table runs the main loop
    /// ([`binary_split`]).
    const NARROW_MIN_BYTES: usize = 0;

    /// The oracle on one element.
    fn oracle<T: Real>(y: T, dy: T, p: &Params<T>) -> T;

    /// The vector formula on registers of `V`.
    type Formula<V: Vector>: BinaryOp<V>;

    /// The formula for the parameters of a call.
    ///
    /// # Safety
    /// The running CPU supports `V`'s ISA.
    unsafe fn formula<V: Vector>(p: &Params<V::Elem>) -> Self::Formula<V>;

    /// A whole call, as [`ForwardOp::run`].
    ///
    /// # Safety
    /// The contract of [`crate::BinaryFn`], with the ISA of `W` and `N` available.
    #[inline(always)]
    unsafe fn run<W: Vector, N: Vector<Elem = W::Elem>>(
        y: *const W::Elem,
        dy: *const W::Elem,
        dx: *mut W::Elem,
        len: usize,
        p: &Params<W::Elem>,
        stream: bool,
    ) {
        // SAFETY: forwarded from the caller.
        unsafe {
            let (w, n) = (Self::formula::<W>(p), Self::formula::<N>(p));
            binary_split::<W, N, _, _>(y, dy, dx, len, w, n, Self::NARROW_MIN_BYTES, stream)
        }
    }
}

/// Something to do with one forward op, chosen at run time: [`visit_forward`] calls
/// `visit::<O>` with the op's type, so the caller's code is compiled once per op (a
/// loop per op, with the op's formula inlined) without listing the ops.
pub trait VisitForward {
    /// What the visit returns.
    type Output;
    /// The visit, with the op as a type.
    fn visit<O: ForwardOp>(self) -> Self::Output;
}

/// The backward twin of [`VisitForward`].
pub trait VisitBackward {
    /// What the visit returns.
    type Output;
    /// The visit, with the op as a type.
    fn visit<O: BackwardOp>(self) -> Self::Output;
}

/// Calls `v.visit::<O>()` with `O` the type of `op`.
#[inline(always)]
pub fn visit_forward<V: VisitForward>(op: Forward, v: V) -> V::Output {
    match op {
        Forward::Relu => v.visit::<Relu>(),
        Forward::ReluN => v.visit::<ReluN>(),
        Forward::LeakyRelu => v.visit::<LeakyRelu>(),
        Forward::Clip => v.visit::<Clip>(),
    }
}

/// Calls `v.visit::<O>()` with `O` the type of `op`.
#[inline(always)]
pub fn visit_backward<V: VisitBackward>(op: Backward, v: V) -> V::Output {
    match op {
        Backward::ReluGrad => v.visit::<ReluGrad>(),
        Backward::ReluNGrad => v.visit::<ReluNGrad>(),
        Backward::LeakyReluGrad => v.visit::<LeakyReluGrad>(),
        Backward::ClipGrad => v.visit::<ClipGrad>(),
    }
}

/// The oracle of a forward kernel on one element.
#[inline(always)]
pub fn oracle_forward<T: Real>(op: Forward, x: T, p: &Params<T>) -> T {
    match op {
        Forward::Relu => Relu::oracle(x, p),
        Forward::ReluN => ReluN::oracle(x, p),
        Forward::LeakyRelu => LeakyRelu::oracle(x, p),
        Forward::Clip => Clip::oracle(x, p),
    }
}

/// The oracle of a backward kernel on one element (`y` is the forward output).
#[inline(always)]
pub fn oracle_backward<T: Real>(op: Backward, y: T, dy: T, p: &Params<T>) -> T {
    match op {
        Backward::ReluGrad => ReluGrad::oracle(y, dy, p),
        Backward::ReluNGrad => ReluNGrad::oracle(y, dy, p),
        Backward::LeakyReluGrad => LeakyReluGrad::oracle(y, dy, p),
        Backward::ClipGrad => ClipGrad::oracle(y, dy, p),
    }
}

/// A [`crate::Kernels`] table from two generic entry points, `$fwd::<O: ForwardOp>`
/// and `$bwd::<O: BackwardOp>`: the one list of the ops' kernels in table order. PRelu's
/// entry points are the module's `prelu_forward`, `prelu_backward` and `prelu_dw`.
#[macro_export]
#[doc(hidden)]
macro_rules! kernels_table {
    ($fwd:ident, $bwd:ident) => {
        $crate::Kernels {
            forward: [
                $fwd::<$crate::ops::Relu>,
                $fwd::<$crate::ops::ReluN>,
                $fwd::<$crate::ops::LeakyRelu>,
                $fwd::<$crate::ops::Clip>,
            ],
            backward: [
                $bwd::<$crate::ops::ReluGrad>,
                $bwd::<$crate::ops::ReluNGrad>,
                $bwd::<$crate::ops::LeakyReluGrad>,
                $bwd::<$crate::ops::ClipGrad>,
            ],
            prelu: $crate::prelu::PreluKernels {
                forward: prelu_forward,
                backward: prelu_backward,
                dw: prelu_dw,
            },
        }
    };
}

// The table order of `kernels_table!`, `OPS` and the oracle dispatch is the enums'.
const _: () = {
    assert!(Relu::OP as usize == 0 && ReluN::OP as usize == 1 && LeakyRelu::OP as usize == 2);
    assert!(ReluGrad::OP as usize == 0 && ReluNGrad::OP as usize == 1);
    assert!(LeakyReluGrad::OP as usize == 2);
    assert!(Clip::OP as usize == 3 && ClipGrad::OP as usize == 3);
    let mut i = 0;
    while i < OPS.len() {
        assert!(OPS[i].forward as usize == i && OPS[i].backward as usize == i);
        i += 1;
    }
};

#[cfg(test)]
mod tests {
    use super::*;

    const EVERY_RULE: [Rule; 5] = [
        Rule::Positive,
        Rule::FiniteNonNegative,
        Rule::NotNan,
        Rule::Finite,
        Rule::Bound,
    ];

    /// `quick_accept` says yes exactly where `refusal` finds nothing, for every rule,
    /// but for `-0.0` under `FiniteNonNegative` (accepted, left to `refusal`).
    #[test]
    fn quick_accept_is_refusal_but_for_negative_zero() {
        let values = [
            0.0,
            -0.0,
            f64::from_bits(1),
            -f64::from_bits(1),
            1e-300,
            1.0,
            -1.0,
            f64::MAX,
            f64::MIN,
            f64::INFINITY,
            f64::NEG_INFINITY,
            f64::NAN,
            -f64::NAN,
        ];
        for rule in EVERY_RULE {
            let def = ParamDef {
                name: "p",
                default: None,
                rule,
                reasons: ["nan", "not positive", "infinite", "negative"],
            };
            for v in values {
                let exact = def.refusal(v).is_none();
                let left = rule == Rule::FiniteNonNegative && v.to_bits() == (-0.0f64).to_bits();
                assert_eq!(rule.quick_accept(v), exact && !left, "{rule:?} {v:?}");
            }
        }
    }

    /// bf16's compares and products widen a NaN without quieting it; on every
    /// pattern, against partners of every kind (a NaN of each kind among them), they
    /// answer as the quieting widening does.
    #[test]
    fn bf16_arithmetic_is_that_of_the_quieting_widening() {
        let partners = [
            0x3C24, 0xC020, 0x0000, 0x8000, 0x7F80, 0xFF80, 0x0001, 0x7F81, 0xFFC1,
        ];
        for h in 0..=u16::MAX {
            for p in partners {
                let (x, a) = (Bf16(h), Bf16(p));
                let (xf, af) = (x.to_f32(), a.to_f32());
                assert_eq!(x.mul(a).0, Bf16::from_f32(xf * af).0, "{h:#06x} {p:#06x}");
                assert_eq!(x.lt(a), xf < af, "{h:#06x} {p:#06x}");
                assert_eq!(x.gt(a), xf > af, "{h:#06x} {p:#06x}");
            }
            let x = Bf16(h);
            assert_eq!(x.is_negative(), x.to_f32() < 0.0, "{h:#06x}");
            assert_eq!(x.is_positive(), x.to_f32() > 0.0, "{h:#06x}");
        }
    }

    /// The 16-bit form answers as `quick_accept` of the widened value, on every
    /// pattern of both formats.
    #[test]
    fn quick_accept_bits16_is_quick_accept_of_the_value() {
        for rule in EVERY_RULE {
            for h in 0..=u16::MAX {
                let f = f64::from(F16(h).to_f32());
                let b = f64::from(Bf16(h).to_f32());
                assert_eq!(
                    rule.quick_accept_bits16(h, F16::INFINITY_BITS),
                    rule.quick_accept(f),
                    "{rule:?} f16 {h:#06x}"
                );
                assert_eq!(
                    rule.quick_accept_bits16(h, Bf16::INFINITY_BITS),
                    rule.quick_accept(b),
                    "{rule:?} bf16 {h:#06x}"
                );
            }
        }
    }
}
