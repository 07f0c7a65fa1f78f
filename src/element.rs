//! The element types the kernels run on, and the bridge to each type's kernel tables.

use std::fmt::Debug;

use caffe2op_relu_kernels as k;
use k::Kernels;

use crate::activation::Op;
use crate::isa::Isa;

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

    /// The kernel table of `isa` for this type, or `None` when `isa` is not compiled
    /// for this target. Having a table does not mean the CPU can run it: check
    /// [`Isa::is_available`] first.
    #[doc(hidden)]
    fn kernels(isa: Isa) -> Option<Kernels<Self>>;

    /// Rounds an `f64` to this type (to nearest, ties to even).
    fn from_f64(v: f64) -> Self;
    /// Widens to `f64` (exact for every supported type).
    fn to_f64(self) -> f64;
    /// The raw bits.
    fn to_bits(self) -> Self::Bits {
        bytemuck::cast(self)
    }
    /// From raw bits.
    fn from_bits(bits: Self::Bits) -> Self {
        bytemuck::cast(bits)
    }

    /// The oracle of a forward op (SPEC §3) on one element; `p` is `n` or `alpha`.
    fn oracle_forward(op: Op, x: Self, p: Self) -> Self;
    /// The oracle of a backward op on one element (`y` is the forward output).
    fn oracle_backward(op: Op, y: Self, dy: Self, p: Self) -> Self;
}

macro_rules! float_element {
    ($T:ident, $Bits:ty) => {
        impl sealed::Sealed for $T {}

        impl Element for $T {
            const NAME: &'static str = stringify!($T);
            type Bits = $Bits;

            fn kernels(isa: Isa) -> Option<Kernels<$T>> {
                match isa {
                    Isa::Scalar => Some(k::oracle::$T::KERNELS),
                    Isa::Portable => Some(crate::portable::$T::KERNELS),
                    #[cfg(target_arch = "x86_64")]
                    Isa::Avx2 => Some(k::x86_64::avx2::$T::KERNELS),
                    #[cfg(all(target_arch = "x86_64", caffe2op_relu_avx512))]
                    Isa::Avx512 => Some(k::x86_64::avx512::$T::KERNELS),
                    #[cfg(target_arch = "aarch64")]
                    Isa::Neon => Some(k::aarch64::neon::$T::KERNELS),
                    #[allow(unreachable_patterns)]
                    _ => None,
                }
            }

            #[inline]
            fn from_f64(v: f64) -> $T {
                v as $T
            }
            #[inline]
            fn to_f64(self) -> f64 {
                self as f64
            }

            #[inline]
            fn oracle_forward(op: Op, x: $T, p: $T) -> $T {
                use k::oracle::$T as o;
                match op {
                    Op::Relu => o::relu(x),
                    Op::ReluN => o::relu_n(x, p),
                    Op::LeakyRelu => o::leaky_relu(x, p),
                }
            }

            #[inline]
            fn oracle_backward(op: Op, y: $T, dy: $T, p: $T) -> $T {
                use k::oracle::$T as o;
                match op {
                    Op::Relu => o::relu_grad(y, dy),
                    Op::ReluN => o::relu_n_grad(y, dy, p),
                    Op::LeakyRelu => o::leaky_relu_grad(y, dy, p),
                }
            }
        }
    };
}

float_element!(f32, u32);
float_element!(f64, u64);
