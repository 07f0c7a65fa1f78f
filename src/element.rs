//! The element types the kernels run on, and the bridge to each type's kernel tables.

use std::fmt::Debug;

use caffe2op_relu_kernels::{self as k, Kernels, Params, Tables};
use k::ops::{Channel, MAX_SCALARS, OpDef, Rule};
use k::prelu::DwElem;

use crate::activation::Op;

mod sealed {
    pub trait Sealed {}
}

/// An element type the crate has kernels for: `f32`, `f64` (and the half types).
///
/// Sealed: the kernels crate must have a table per ISA for every implementor.
pub trait Element:
    sealed::Sealed + Copy + PartialEq + Debug + Default + Send + Sync + bytemuck::Pod + 'static
{
    /// The type's name (`"f32"`, ...), as used in messages and the report.
    const NAME: &'static str;
    /// The same-size unsigned integer, for bit-level comparisons.
    type Bits: Copy + Eq + Debug + bytemuck::Pod;

    /// The kernels crate's view of this type: itself, or its bit newtype for the
    /// 16-bit floats. Same size, alignment and bits, so a pointer to one is a pointer
    /// to the other.
    #[doc(hidden)]
    type Kernel: DwElem + Debug;

    /// This type's kernels in one ISA's tables.
    #[doc(hidden)]
    fn table(t: &'static Tables) -> &'static Kernels<Self::Kernel>;

    /// The same bits as the kernels crate's type.
    #[doc(hidden)]
    fn to_kernel(self) -> Self::Kernel;
    /// From the kernels crate's type (the same bits).
    #[doc(hidden)]
    fn from_kernel(k: Self::Kernel) -> Self;

    /// Calls on the default dispatch with at most this many elements run the oracle
    /// inline instead of a kernel: up to 256 bytes, the compiler's loop at the call
    /// site beats the dispatch and the call (measured, f32 relu at 64 elements: 5.8
    /// against 7.1 ns; f64 at 32: even). The 16-bit types convert in software in the
    /// oracle, so theirs is where its loop stops beating the kernel path for the ops
    /// that form products (bf16: 32 elements, f16: 4; [`Element::inline_max`] gives
    /// each op's: bf16 runs the others inline up to 256 bytes too). A forced ISA
    /// always runs its kernel.
    #[doc(hidden)]
    const INLINE_MAX: usize;

    /// [`Element::INLINE_MAX`] for the op `def`: bf16 runs the ops that only compare
    /// and select (no product to narrow in software) inline further; f16 does not
    /// (its inline loop pays for each element after the last full register).
    #[doc(hidden)]
    #[inline(always)]
    fn inline_max(def: &OpDef) -> usize {
        let _ = def;
        Self::INLINE_MAX
    }

    /// The lowest finite value (`-MAX`).
    const LOWEST: Self;
    /// The highest finite value (`MAX`).
    const HIGHEST: Self;

    /// Rounds an `f64` to this type (to nearest, ties to even).
    fn from_f64(v: f64) -> Self;
    /// Widens to `f64` (exact for every supported type).
    fn to_f64(self) -> f64;
    /// A shortcut for a parameter whose rule asks for a positive value
    /// ([`Rule::Positive`], [`Rule::FiniteNonNegative`]): `v` rounded to this type
    /// where it is positive and rounds to a normal finite value (which both rules
    /// accept), in fewer instructions than rounding and testing; `None` (always, for a
    /// type without a shortcut) leaves `v` to the general path.
    #[doc(hidden)]
    #[inline(always)]
    fn positive_param(rule: Rule, v: f64) -> Option<Self> {
        let _ = (rule, v);
        None
    }
    /// [`Rule::quick_accept`] of this value, from its bits where that is cheaper than
    /// widening it.
    #[doc(hidden)]
    #[inline(always)]
    fn quick_accept(self, rule: Rule) -> bool {
        rule.quick_accept(self.to_f64())
    }
    /// The raw bits.
    fn to_bits(self) -> Self::Bits {
        bytemuck::cast(self)
    }
    /// From raw bits.
    fn from_bits(bits: Self::Bits) -> Self {
        bytemuck::cast(bits)
    }

    /// The oracle of a forward op (SPEC §3) on one element, for an op of at most one
    /// parameter; `p` is `n` or `alpha`. [`Element::oracle_forward_with`] takes every
    /// parameter.
    fn oracle_forward(op: Op, x: Self, p: Self) -> Self {
        Self::oracle_forward_with(op, x, [p; MAX_SCALARS])
    }
    /// The oracle of a backward op on one element (`y` is the forward output), for an
    /// op of at most one parameter.
    fn oracle_backward(op: Op, y: Self, dy: Self, p: Self) -> Self {
        Self::oracle_backward_with(op, y, dy, [p; MAX_SCALARS])
    }
    /// The oracle of a forward op on one element; `p` holds the op's parameters in
    /// registry order (Clip's `[min, max]`, as [`crate::Activation::params_in`]
    /// gives them).
    fn oracle_forward_with(op: Op, x: Self, p: [Self; MAX_SCALARS]) -> Self {
        let p = Params {
            scalars: p.map(Self::to_kernel),
            channel: Channel::NONE,
        };
        Self::from_kernel(k::ops::oracle_forward(op.forward(), x.to_kernel(), &p))
    }
    /// The oracle of a backward op on one element, with every parameter.
    fn oracle_backward_with(op: Op, y: Self, dy: Self, p: [Self; MAX_SCALARS]) -> Self {
        let p = Params {
            scalars: p.map(Self::to_kernel),
            channel: Channel::NONE,
        };
        let (y, dy) = (y.to_kernel(), dy.to_kernel());
        Self::from_kernel(k::ops::oracle_backward(op.backward(), y, dy, &p))
    }
}

/// The safe crate's type and the kernels crate's are the same in memory.
macro_rules! same_layout {
    ($A:ty, $B:ty) => {
        const _: () =
            assert!(size_of::<$A>() == size_of::<$B>() && align_of::<$A>() == align_of::<$B>());
    };
}

macro_rules! float_element {
    ($T:ident, $Bits:ty) => {
        impl sealed::Sealed for $T {}

        impl Element for $T {
            const NAME: &'static str = stringify!($T);
            type Bits = $Bits;
            type Kernel = $T;
            const INLINE_MAX: usize = 256 / size_of::<$T>();
            const LOWEST: $T = $T::MIN;
            const HIGHEST: $T = $T::MAX;

            #[inline(always)]
            fn table(t: &'static Tables) -> &'static Kernels<$T> {
                &t.$T
            }
            #[inline(always)]
            fn to_kernel(self) -> $T {
                self
            }
            #[inline(always)]
            fn from_kernel(k: $T) -> $T {
                k
            }
            #[inline]
            fn from_f64(v: f64) -> $T {
                v as $T
            }
            #[inline]
            fn to_f64(self) -> f64 {
                self as f64
            }
        }
    };
}

float_element!(f32, u32);
float_element!(f64, u64);

/// `half::f16` / `half::bf16`: the kernels crate works on its own bit newtypes
/// (`k::half::F16` / `Bf16`, the oracle written in bits); both are
/// `#[repr(transparent)]` over `u16`.
macro_rules! half_element {
    ($T:ident, $K:ident, $inline:expr, $inline_selects:expr) => {
        impl sealed::Sealed for half::$T {}
        same_layout!(half::$T, k::half::$K);

        impl Element for half::$T {
            const NAME: &'static str = stringify!($T);
            type Bits = u16;
            type Kernel = k::half::$K;
            const INLINE_MAX: usize = $inline;
            const LOWEST: half::$T = half::$T::MIN;
            const HIGHEST: half::$T = half::$T::MAX;

            #[inline(always)]
            fn table(t: &'static Tables) -> &'static Kernels<k::half::$K> {
                &t.$T
            }
            #[inline(always)]
            fn to_kernel(self) -> k::half::$K {
                k::half::$K(self.to_bits())
            }
            #[inline(always)]
            fn from_kernel(v: k::half::$K) -> half::$T {
                half::$T::from_bits(v.0)
            }

            /// One correctly rounded step (not `half`'s `from_f64`, which rounds twice
            /// on some paths; see the kernels crate's `half` module).
            #[inline]
            fn from_f64(v: f64) -> half::$T {
                half::$T::from_bits(k::half::$K::from_f64(v).0)
            }
            #[inline]
            fn to_f64(self) -> f64 {
                f64::from(k::half::$K(self.to_bits()).to_f32())
            }
            #[inline(always)]
            fn inline_max(def: &OpDef) -> usize {
                if def.products {
                    $inline
                } else {
                    $inline_selects
                }
            }
            #[inline(always)]
            fn positive_param(rule: Rule, v: f64) -> Option<half::$T> {
                match rule {
                    Rule::Positive | Rule::FiniteNonNegative => {
                        k::half::$K::from_f64_positive_normal(v).map(Self::from_kernel)
                    }
                    _ => None,
                }
            }
            #[inline(always)]
            fn quick_accept(self, rule: Rule) -> bool {
                rule.quick_accept_bits16(self.to_bits(), k::half::$K::INFINITY_BITS)
            }
        }
    };
}

// Short enough to run inline (`Element::INLINE_MAX`, then the length for the ops
// without products): up to where leaky_relu's inline loop (its product narrows in
// software) stops beating the kernel path, and where relu's does. Zen 4, ns per call
// inline against the kernel path (best of three runs): bf16 leaky_relu at 24 / 32 /
// 40 / 48 elements 10.5 / 13.8 / 16.7 / 19.8 against 14.8 / 15.4 / 15.8 / 17.9, relu
// at 33 / 64 / 96 / 128 elements 4.6 / 5.7 / 7.6 / 10.1 against 9.2-10.6 (256 bytes,
// as for f32); f16 (whose widening and narrowing take more instructions, and whose
// inline loop pays about 1.4 ns for each element after the last full register)
// leaky_relu at 3 / 4 / 5 elements 11.6 / 15.3 / 17.3 against 14.7-14.9, relu 6.2 /
// 7.6 / 8.9 against 9.2.
half_element!(f16, F16, 4, 4);
half_element!(bf16, Bf16, 32, 128);
