//! The unsafe core of `caffe2op-relu`: the op registry with its scalar oracle, and
//! the hand-vectorised kernels of every ISA.
//!
//! Layout (after memchr):
//! - [`ops`]: the op registry. Each op is defined once: name, parameters, oracle
//!   element function and vector formula.
//! - [`generic`] and [`vector`]: the loop bodies, written once over the small
//!   [`vector::Vector`] trait; [`int8`] likewise for bytes; [`half`] the 16-bit
//!   formats' conversions, and [`half_lanes`] their `Vector` impl, written once over
//!   each ISA's 16-bit integer lanes.
//! - [`arch`]: one folder per ISA (`arch/x86_64/avx2`, `arch/x86_64/avx512`,
//!   `arch/aarch64/neon`, `arch/wasm32/simd128`, `arch/portable`), each one set of
//!   [`Tables`] covering every element type, listed once in the ISA registry
//!   [`arch::ISAS`].
//! - [`oracle`]: the oracle's slice loops, the `scalar` ISA.
//! - [`prelu`]: PRelu, whose slope is a tensor (one value per channel), outside the
//!   registry of scalar-parameter ops; its kernels are a third part of each table.
//!
//! Without the `std` feature this crate is `no_std` and knows nothing about run-time
//! CPU detection (an ISA is then available when the build enables its features;
//! WebAssembly's SIMD128 is decided by the build in either case).
//! Every SIMD entry point is an `unsafe fn` whose first safety condition is "the
//! running CPU supports this ISA". The safe crate `caffe2op-relu` asks the registry,
//! validates slices and parameters, and only then calls in here.
//!
//! # Safety contract shared by every kernel in a [`Kernels`] table
//!
//! For a [`UnaryFn`] `f(src, dst, len, params, stream)`:
//! - `src` is valid for `len` reads and `dst` for `len` writes of `T`, both aligned;
//! - `dst == src` (in place) or the two ranges do not overlap at all;
//! - the op's per-channel parameter, if it reads one, is valid (see [`ops::Channel`]);
//! - the running CPU supports the ISA the table belongs to.
//!
//! For a [`BinaryFn`] `f(y, dy, dx, len, params, stream)`: `y` and `dy` are valid for
//! `len` reads, `dx` for `len` writes; `dx` equals `y` or `dy` exactly or overlaps
//! neither; `y` and `dy` may overlap each other freely (they are only read).
#![cfg_attr(not(feature = "std"), no_std)]
#![deny(unsafe_op_in_unsafe_fn)]
#![warn(missing_docs)]

pub mod arch;
pub mod generic;
pub mod half;
pub mod half_lanes;
pub mod int8;
pub mod ops;
pub mod oracle;
pub mod prelu;
pub mod vector;

pub use arch::{ISA_DEFS, ISAS, IsaDef, Tuning};
pub use ops::{Backward, Forward, OPS, OpDef, Params};

/// An elementwise forward kernel: `dst[i] = op(src[i]; params)`.
///
/// `stream` asks for non-temporal stores (writing around the cache): honoured by ISAs
/// that have them when `dst != src`, ignored otherwise; it never changes the result.
pub type UnaryFn<T> =
    unsafe fn(src: *const T, dst: *mut T, len: usize, params: &Params<T>, stream: bool);

/// An elementwise backward kernel: `dx[i] = op_grad(y[i], dy[i]; params)`.
///
/// `stream` as for [`UnaryFn`] (honoured when `dx` is neither `y` nor `dy`).
pub type BinaryFn<T> =
    unsafe fn(y: *const T, dy: *const T, dx: *mut T, len: usize, params: &Params<T>, stream: bool);

/// Every op's kernels for one element type and one ISA, indexed by op
/// ([`Forward`], [`Backward`]).
#[derive(Clone, Copy)]
pub struct Kernels<T: 'static> {
    /// The forward kernels, in [`Forward`] order.
    pub forward: [UnaryFn<T>; Forward::COUNT],
    /// The backward kernels, in [`Backward`] order.
    pub backward: [BinaryFn<T>; Backward::COUNT],
    /// PRelu's kernels (a per-channel slope; see [`prelu`]).
    pub prelu: prelu::PreluKernels<T>,
}

impl<T> Kernels<T> {
    /// The forward kernel of `op`.
    #[inline(always)]
    pub fn forward(&self, op: Forward) -> UnaryFn<T> {
        self.forward[op as usize]
    }

    /// The backward kernel of `op`.
    #[inline(always)]
    pub fn backward(&self, op: Backward) -> BinaryFn<T> {
        self.backward[op as usize]
    }
}

/// One ISA's kernels for every element type.
pub struct Tables {
    /// `f32`.
    pub f32: Kernels<f32>,
    /// `f64`.
    pub f64: Kernels<f64>,
    /// binary16.
    pub f16: Kernels<half::F16>,
    /// bfloat16.
    pub bf16: Kernels<half::Bf16>,
    /// Quantized u8 (Int8Relu).
    pub u8: int8::Int8Kernels,
}

/// A [`Tables`] from the modules of one ISA folder, each holding a `KERNELS` table.
#[macro_export]
#[doc(hidden)]
macro_rules! tables {
    ($f32:path, $f64:path, $f16:path, $bf16:path, $u8:path) => {
        $crate::Tables {
            f32: {
                use $f32 as m;
                m::KERNELS
            },
            f64: {
                use $f64 as m;
                m::KERNELS
            },
            f16: {
                use $f16 as m;
                m::KERNELS
            },
            bf16: {
                use $bf16 as m;
                m::KERNELS
            },
            u8: {
                use $u8 as m;
                m::KERNELS
            },
        }
    };
}
