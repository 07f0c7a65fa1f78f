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

    /// Calls on the default dispatch with at most this many elements run the oracle
    /// inline instead of a kernel: up to 256 bytes, the compiler's loop at the call
    /// site beats the dispatch and the call (measured, f32 relu at 64 elements: 5.8
    /// against 7.1 ns; f64 at 32: even). A forced ISA always runs its kernel.
    #[doc(hidden)]
    const INLINE_MAX: usize;

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
            const INLINE_MAX: usize = 256 / size_of::<$T>();

            #[inline]
            fn kernels(isa: Isa) -> Option<Kernels<$T>> {
                match isa {
                    Isa::Scalar => Some(k::oracle::$T::KERNELS),
                    Isa::Portable => Some(crate::portable::$T::KERNELS),
                    #[cfg(target_arch = "x86_64")]
                    Isa::Avx2 => Some(k::x86_64::avx2::$T::KERNELS),
                    #[cfg(all(target_arch = "x86_64", caffe2op_relu_avx512))]
                    Isa::Avx512 => Some(if crate::isa::avx512_ymm_loops() {
                        k::x86_64::avx512::$T::ymm::KERNELS
                    } else {
                        k::x86_64::avx512::$T::KERNELS
                    }),
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

/// The kernels crate's table for its bit newtype `A`, retyped for `half`'s type `B`.
///
/// Both `half::f16`/`half::bf16` and the kernels crate's `F16`/`Bf16` are
/// `#[repr(transparent)]` over `u16`.
macro_rules! retype_kernels {
    ($t:expr, $A:ty => $B:ty) => {{
        use k::{BinaryFn, UnaryFn};
        let t: Kernels<$A> = $t;
        // SAFETY: `$A` and `$B` are both `#[repr(transparent)]` wrappers of `u16`, so each
        // is ABI-compatible with `u16` and hence with the other; raw pointers are
        // ABI-compatible whatever they point to. Function pointers whose signatures
        // differ only in ABI-compatible argument types may be called through each other
        // (std docs of `fn`, "ABI compatibility"), and fn pointers all have one size. The
        // kernels' contract (valid ranges, ISA available) is unchanged: a `*const $B` to
        // `len` readable elements is a `*const $A` to `len` readable elements.
        unsafe {
            use core::mem::transmute;
            Kernels::<$B> {
                relu: transmute::<UnaryFn<$A>, UnaryFn<$B>>(t.relu),
                relu_n: transmute::<UnaryFn<$A>, UnaryFn<$B>>(t.relu_n),
                leaky_relu: transmute::<UnaryFn<$A>, UnaryFn<$B>>(t.leaky_relu),
                relu_grad: transmute::<BinaryFn<$A>, BinaryFn<$B>>(t.relu_grad),
                relu_n_grad: transmute::<BinaryFn<$A>, BinaryFn<$B>>(t.relu_n_grad),
                leaky_relu_grad: transmute::<BinaryFn<$A>, BinaryFn<$B>>(t.leaky_relu_grad),
            }
        }
    }};
}

/// `half::f16` / `half::bf16`: the kernels crate works on its own bit newtypes
/// (`k::half::F16` / `Bf16`, the oracle written in bits); this maps the types.
macro_rules! half_element {
    ($T:ident, $K:ident, avx512: $avx512:expr) => {
        impl sealed::Sealed for half::$T {}

        impl Element for half::$T {
            const NAME: &'static str = stringify!($T);
            type Bits = u16;
            // The oracle's products convert in software: always use the kernels.
            const INLINE_MAX: usize = 0;

            #[inline]
            fn kernels(isa: Isa) -> Option<Kernels<half::$T>> {
                let t: Kernels<k::half::$K> = match isa {
                    Isa::Scalar => k::oracle::$T::KERNELS,
                    Isa::Portable => crate::portable::$T::KERNELS,
                    #[cfg(target_arch = "x86_64")]
                    Isa::Avx2 => k::x86_64::avx2_half::$T::KERNELS,
                    #[cfg(all(target_arch = "x86_64", caffe2op_relu_avx512))]
                    Isa::Avx512 => $avx512,
                    #[cfg(target_arch = "aarch64")]
                    Isa::Neon => k::aarch64::neon_half::$T::KERNELS,
                    #[allow(unreachable_patterns)]
                    _ => return None,
                };
                Some(retype_kernels!(t, k::half::$K => half::$T))
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

            #[inline]
            fn oracle_forward(op: Op, x: half::$T, p: half::$T) -> half::$T {
                use k::oracle::$T as o;
                let (x, p) = (k::half::$K(x.to_bits()), k::half::$K(p.to_bits()));
                let r = match op {
                    Op::Relu => o::relu(x),
                    Op::ReluN => o::relu_n(x, p),
                    Op::LeakyRelu => o::leaky_relu(x, p),
                };
                half::$T::from_bits(r.0)
            }

            #[inline]
            fn oracle_backward(op: Op, y: half::$T, dy: half::$T, p: half::$T) -> half::$T {
                use k::oracle::$T as o;
                let (y, dy) = (k::half::$K(y.to_bits()), k::half::$K(dy.to_bits()));
                let p = k::half::$K(p.to_bits());
                let r = match op {
                    Op::Relu => o::relu_grad(y, dy),
                    Op::ReluN => o::relu_n_grad(y, dy, p),
                    Op::LeakyRelu => o::leaky_relu_grad(y, dy, p),
                };
                half::$T::from_bits(r.0)
            }
        }
    };
}

half_element!(f16, F16, avx512: k::x86_64::avx512_half::f16::KERNELS);
half_element!(bf16, Bf16, avx512: bf16_avx512());

/// The AVX-512 bf16 table: the AVX512-BF16 one when [`crate::avx512_bf16_narrowing`].
#[cfg(all(target_arch = "x86_64", caffe2op_relu_avx512))]
fn bf16_avx512() -> Kernels<k::half::Bf16> {
    if crate::isa::avx512_bf16_narrowing() {
        k::x86_64::avx512_half::bf16_ne::KERNELS
    } else {
        k::x86_64::avx512_half::bf16::KERNELS
    }
}
