//! Caffe2's ReLU family — **Relu**, **ReluN** (clipped; ReLU6 by default),
//! **LeakyRelu**, their **gradients** and the quantized **Int8Relu** — as kernels
//! hand-vectorised for AVX2, AVX-512 and NEON, chosen at run time by CPU feature
//! detection, and for WebAssembly SIMD128 (in builds that enable it), split across
//! threads with rayon for large inputs, and **bit for bit equal** to a scalar oracle on
//! every ISA.
//!
//! ```
//! use caffe2op_relu::{Activation, Kernel};
//!
//! let k = Kernel::new(Activation::relu_n(6.0)?); // best ISA, Threads::Auto
//! let x = [-1.5f32, 0.0, 3.0, 7.0];
//! let mut y = [0.0f32; 4];
//! k.forward(&x, &mut y)?;
//! assert_eq!(y, [0.0, 0.0, 3.0, 6.0]);
//!
//! let mut dy = [1.0f32; 4];
//! k.backward_in_place(&y, &mut dy)?; // the gradient from the forward *output*
//! assert_eq!(dy, [0.0, 0.0, 1.0, 0.0]);
//! # Ok::<(), caffe2op_relu::Error>(())
//! ```
//!
//! # Semantics (the oracle)
//!
//! `0` means `+0.0`. Every ISA produces exactly these bits, for every element type.
//!
//! | function | definition | NaN in | -0.0 in |
//! |---|---|---|---|
//! | relu(x) | `x < 0 ? 0 : x` | same bits out | -0.0 out |
//! | relu_n(x; n) | `x < 0 ? 0 : x > n ? n : x` | same bits out | -0.0 out |
//! | leaky_relu(x; a) | `x < 0 ? a * x : x` | same bits out | -0.0 out |
//! | clip(x; min, max) | `x < min ? min : x > max ? max : x` | same bits out | -0.0 out (also against a zero bound) |
//! | relu_grad(y, dy) | `y > 0 ? dy : 0` | y NaN → 0 | y -0.0 → 0 |
//! | relu_n_grad(y, dy; n) | `y > 0 && y < n ? dy : 0` | y NaN → 0 | → 0 |
//! | leaky_relu_grad(y, dy; a) | `y > 0 ? dy : a * dy` | y NaN → a·dy | → a·dy |
//! | clip_grad(y, dy; min, max) | `y > min && y < max ? dy : 0` | y NaN → 0 | as any value between the bounds |
//! | int8_relu(x_q; zero_point) | `max(x_q, zero_point)` (`u8`; scale and zero point carried over) | — | — |
//!
//! - Gradients take the forward **output** `y` (Caffe2's convention), so the forward
//!   output may overwrite its input and training still works.
//! - A passed-through value keeps its exact bits (NaN payloads, the signalling bit,
//!   -0.0): the kernels select, they never do arithmetic on it. `a * x` and `a * dy`
//!   are one IEEE multiplication in the element type, rounded to nearest-even; for
//!   `f16`/`bf16` the product is formed in `f32` (exactly) and rounded once.
//! - Parameters: `n > 0`, not NaN (`+inf` allowed: relu_n is then relu); `alpha`
//!   finite and `>= 0`; clip's `min` and `max` not NaN (infinities allowed) and
//!   `min <= max`. Defaults [`DEFAULT_N`] = 6, [`DEFAULT_ALPHA`] = 0.01, and for clip
//!   the element type's lowest and highest finite values (written `f64::MIN` and
//!   `f64::MAX`). A parameter is rounded to the element type once per call; if the
//!   rounded value breaks the rule (`n = 1e-50` is `0` in `f32`; `min = f64::MIN`
//!   with `max = -1e300` in `f32`, whose bounds become `f32::MIN > -inf`) the call
//!   is refused.
//! - The oracle itself is public: [`Activation::oracle_forward`] and
//!   [`Activation::oracle_backward`] (and [`Element::oracle_forward`] /
//!   [`Element::oracle_backward`] with a parameter already in `T`), and
//!   [`int8_relu_oracle`].
//!
//! Differences from Caffe2 (`LeakyReluGradient` tests `y >= 0`, `LeakyRelu` writes
//! `+0` for a `-0` product) and PyTorch are listed in the README.
//!
//! # Entry points
//!
//! | task | entry point |
//! |---|---|
//! | one call, default ISA | [`relu`], [`relu_in_place`], [`relu_n`], [`relu_n_in_place`], [`leaky_relu`], [`leaky_relu_in_place`], [`relu_grad`], [`relu_grad_in_place`], [`relu_n_grad`], [`leaky_relu_grad`], [`clip`], [`clip_in_place`], [`clip_grad`] |
//! | choose the function | [`Activation::relu`], [`relu_n`](Activation::relu_n), [`relu6`](Activation::relu6), [`leaky_relu`](Activation::leaky_relu), [`clip`](Activation::clip), [`new`](Activation::new)`(`[`Op`]`, param)` |
//! | a reusable kernel | [`Kernel::new`], [`forward`](Kernel::forward), [`forward_in_place`](Kernel::forward_in_place), [`backward`](Kernel::backward), [`backward_in_place`](Kernel::backward_in_place) |
//! | force an ISA | [`Kernel::with_isa`], [`Isa::available`], [`Isa::detected`], [`Isa::dispatched`], [`ISA_ENV_VAR`] |
//! | threading | [`Kernel::with_threads`], [`Threads`], [`Kernel::pieces`], [`parallel_min_bytes`](tuning::parallel_min_bytes), [`set_parallel_min_bytes`](tuning::set_parallel_min_bytes), [`burst_min_bytes`](tuning::burst_min_bytes), [`set_burst_min_bytes`](tuning::set_burst_min_bytes) |
//! | streaming stores | [`stream_min_bytes`](tuning::stream_min_bytes), [`set_stream_min_bytes`](tuning::set_stream_min_bytes), [`DEFAULT_STREAM_MIN_BYTES`](tuning::DEFAULT_STREAM_MIN_BYTES) |
//! | views that may alias | [`Kernel::forward_aliased`], [`Kernel::backward_aliased`] |
//! | raw pointers | [`Kernel::forward_raw`], [`Kernel::backward_raw`] (`unsafe`, checked for null, alignment and overlap) |
//! | quantized `u8` | [`int8_relu`], [`int8_relu_in_place`], [`int8_relu_with_isa`], [`int8_relu_in_place_with_isa`], [`int8_relu_with`], [`int8_relu_in_place_with`] (ISA and [`Threads`]), [`QuantParams`] |
//! | `ndarray` arrays (feature `ndarray`) | `Kernel::forward_array`, `forward_array_in_place`, `backward_array`, `backward_array_in_place`, `nd::int8_relu`: see the `nd` module |
//! | compiler-vectorised baselines | [`autovec`] |
//! | Caffe2 operators, nets, protobuf | [`ops`] |
//!
//! ## One-liners
//!
//! ```
//! let x = [-2.0f32, -0.0, 0.5, 8.0];
//! let mut y = [0.0f32; 4];
//! caffe2op_relu::relu(&x, &mut y)?;
//! assert_eq!(y.map(f32::to_bits), [0.0f32, -0.0, 0.5, 8.0].map(f32::to_bits));
//! caffe2op_relu::relu_n(&x, &mut y, 6.0)?;
//! assert_eq!(y, [0.0, 0.0, 0.5, 6.0]);
//! caffe2op_relu::leaky_relu(&x, &mut y, 0.25)?;
//! assert_eq!(y, [-0.5, -0.0, 0.5, 8.0]);
//!
//! let mut z = x;
//! caffe2op_relu::relu_in_place(&mut z); // relu has no parameter: cannot fail
//! caffe2op_relu::relu_n_in_place(&mut z, 6.0)?;
//! caffe2op_relu::leaky_relu_in_place(&mut z, 0.01)?;
//! assert_eq!(z, [0.0, 0.0, 0.5, 6.0]);
//!
//! // Gradients from the forward output y.
//! let (out, dy) = ([0.0f64, 0.5, 6.0], [1.0f64, 2.0, 3.0]);
//! let mut dx = [0.0f64; 3];
//! caffe2op_relu::relu_grad(&out, &dy, &mut dx)?;
//! assert_eq!(dx, [0.0, 2.0, 3.0]);
//! caffe2op_relu::relu_n_grad(&out, &dy, &mut dx, 6.0)?;
//! assert_eq!(dx, [0.0, 2.0, 0.0]);
//! caffe2op_relu::leaky_relu_grad(&out, &dy, &mut dx, 0.5)?;
//! assert_eq!(dx, [0.5, 2.0, 3.0]);
//! let mut d = dy;
//! caffe2op_relu::relu_grad_in_place(&out, &mut d)?; // dx overwrites dy
//! assert_eq!(d, [0.0, 2.0, 3.0]);
//! # Ok::<(), caffe2op_relu::Error>(())
//! ```
//!
//! ## A kernel, every element type
//!
//! A [`Kernel`] is an [`Activation`] bound to an ISA choice and a threading policy;
//! it is `Copy`, and one kernel serves every [`Element`] type: `f32`, `f64`,
//! [`half::f16`] and [`half::bf16`].
//!
//! ```
//! use caffe2op_relu::{Activation, Kernel};
//! use half::{bf16, f16};
//!
//! let k = Kernel::new(Activation::leaky_relu(0.125)?);
//! let x = [f16::from_f32(-8.0), f16::from_f32(3.5)];
//! let mut y = [f16::ZERO; 2];
//! k.forward(&x, &mut y)?;
//! assert_eq!(y, [f16::from_f32(-1.0), f16::from_f32(3.5)]);
//!
//! let mut b = [bf16::from_f32(-2.0), bf16::NAN];
//! k.forward_in_place(&mut b)?;
//! assert_eq!(b[0], bf16::from_f32(-0.25));
//! assert!(b[1].is_nan()); // NaN passes through with its bits
//!
//! let (out, dy) = ([0.0f64, 1.0], [4.0f64, 4.0]);
//! let mut dx = [0.0f64; 2];
//! k.backward(&out, &dy, &mut dx)?;
//! assert_eq!(dx, [0.5, 4.0]);
//! # Ok::<(), caffe2op_relu::Error>(())
//! ```
//!
//! ## Choosing the ISA
//!
//! The default dispatch picks the best ISA this CPU runs ([`Isa::detected`]: AVX-512 >
//! AVX2 > NEON > portable > scalar; SIMD128 > portable > scalar in WebAssembly builds
//! with `simd128`), once, cached; `CAFFE2OP_RELU_ISA=<name>` in the
//! environment caps it ([`ISA_ENV_VAR`]). [`Kernel::with_isa`] forces one and is
//! refused with [`Error::IsaUnavailable`] when the CPU cannot run it. Every [`Isa`]
//! variant exists on every target. Within [`Isa::Avx512`], bf16 products are narrowed
//! with AVX512-BF16 when the CPU has it ([`avx512_bf16_narrowing`](tuning::avx512_bf16_narrowing);
//! `CAFFE2OP_RELU_AVX512BF16=0` turns that off, [`BF16_ENV_VAR`](tuning::BF16_ENV_VAR)), f16 products,
//! compares and clip bounds run on AVX512-FP16 when the CPU has it
//! ([`avx512_fp16`](tuning::avx512_fp16); `CAFFE2OP_RELU_AVX512FP16=0` turns that off), and on cores that
//! split 512-bit accesses in two (AMD Zen 4) the f32/f64 forward ops, relu_grad and
//! relu_n_grad run their out-of-place main loops on 256-bit registers, and Int8Relu
//! all of its calls ([`avx512_ymm_loops`](tuning::avx512_ymm_loops); `CAFFE2OP_RELU_AVX512_YMM=0` or `1`
//! overrides, [`AVX512_YMM_ENV_VAR`](tuning::AVX512_YMM_ENV_VAR)).
//!
//! ```
//! use caffe2op_relu::{Activation, Error, Isa, Kernel};
//!
//! let x: Vec<f32> = (0..100).map(|i| i as f32 - 50.0).collect();
//! let want: Vec<f32> = x.iter().map(|&v| Activation::relu6().oracle_forward(v).unwrap()).collect();
//! for isa in Isa::available() {
//!     let mut y = vec![0.0f32; x.len()];
//!     Kernel::new(Activation::relu6()).with_isa(isa)?.forward(&x, &mut y)?;
//!     assert_eq!(y, want, "{isa}");
//! }
//! let neon: Isa = "neon".parse().unwrap();
//! if !neon.is_available() {
//!     let err = Kernel::new(Activation::relu()).with_isa(neon).unwrap_err();
//!     assert_eq!(err, Error::IsaUnavailable { isa: Isa::Neon });
//! }
//! assert!(Isa::available().contains(&Isa::dispatched()));
//! # Ok::<(), caffe2op_relu::Error>(())
//! ```
//!
//! ## Threads
//!
//! [`Threads::Auto`] (the default) splits a call that moves at least
//! [`parallel_min_bytes`](tuning::parallel_min_bytes) across rayon's *current* pool, so `pool.install(..)`
//! decides the threads; smaller calls never touch rayon, except in bursts: an
//! out-of-place call that moves at least [`burst_min_bytes`](tuning::burst_min_bytes) (on AMD Zen 4
//! 768 KiB; elsewhere off by default) and starts within 25 µs of the end of the
//! previous such call splits too, the pool's workers most likely still awake. A split
//! call makes up to eight pieces per thread of the pool; the calling thread takes them
//! from the top while the pool takes them from the bottom. [`Threads::Serial`] never
//! splits. [`Kernel::pieces`] tells how a call that is not part of a burst would be
//! split. On WebAssembly targets without threads (`wasm32-wasip1`,
//! `wasm32-unknown-unknown`) every call runs on the caller's thread, whatever the
//! policy.
//!
//! ```
//! use caffe2op_relu::{Activation, Kernel, Threads};
//!
//! let k = Kernel::new(Activation::relu());
//! let pool = rayon::ThreadPoolBuilder::new().num_threads(2).build().unwrap();
//! let n = 4 << 20; // 16 MiB of f32 each way: above the parallel threshold
//! let (x, mut y) = (vec![-1.0f32; n], vec![1.0f32; n]);
//! pool.install(|| {
//!     assert!(k.pieces::<f32>(n) > 1); // split across the pool's threads
//!     k.forward(&x, &mut y)
//! })?;
//! assert!(y.iter().all(|&v| v == 0.0));
//! let one = rayon::ThreadPoolBuilder::new().num_threads(1).build().unwrap();
//! assert_eq!(one.install(|| k.pieces::<f32>(n)), 1); // a one-thread pool: serial
//! assert_eq!(k.with_threads(Threads::Serial).pieces::<f32>(n), 1);
//! assert_eq!(k.pieces::<f32>(16), 1); // small calls stay on the caller's thread
//! # Ok::<(), caffe2op_relu::Error>(())
//! ```
//!
//! ## Views that may alias
//!
//! Safe Rust cannot pass the same buffer as `&[T]` and `&mut [T]`; the aliased entry
//! points take `&[Cell<T>]` views instead. The same range runs in place, disjoint
//! ranges run out of place, and a partial overlap is refused with [`Error::Overlap`].
//!
//! ```
//! use std::cell::Cell;
//! use caffe2op_relu::{Activation, Error, Kernel};
//!
//! let k = Kernel::new(Activation::relu());
//! let mut buf = [-1.0f32, 2.0, -3.0, 4.0, 0.0, 0.0];
//! let cells = Cell::from_mut(&mut buf[..]).as_slice_of_cells();
//! k.forward_aliased(&cells[0..2], &cells[4..6])?; // disjoint: out of place
//! k.forward_aliased(&cells[2..4], &cells[2..4])?; // identical: in place
//! let err = k.forward_aliased(&cells[0..4], &cells[1..5]).unwrap_err();
//! assert!(matches!(err, Error::Overlap { .. }));
//! k.backward_aliased(&cells[0..2], &cells[2..4], &cells[2..4])?; // dx is dy
//! assert_eq!(buf, [-1.0, 2.0, 0.0, 4.0, 0.0, 2.0]);
//! # Ok::<(), caffe2op_relu::Error>(())
//! ```
//!
//! The raw-pointer twins check what they can (null, alignment, partial overlap) and
//! leave validity to the caller:
//!
//! ```
//! use caffe2op_relu::{Activation, Error, Kernel};
//!
//! let k = Kernel::new(Activation::relu());
//! let mut v = [-1.0f32, 2.0];
//! let p = v.as_mut_ptr();
//! // SAFETY: p is valid for 2 reads and writes, and nothing else uses v meanwhile.
//! unsafe { k.forward_raw(p, p, 2)? };
//! assert_eq!(v, [0.0, 2.0]);
//! // SAFETY: null is checked before any access.
//! let err = unsafe { k.forward_raw(std::ptr::null(), p, 2) }.unwrap_err();
//! assert_eq!(err, Error::NullPointer { arg: "x" });
//! # Ok::<(), caffe2op_relu::Error>(())
//! ```
//!
//! ## Quantized `u8` (Int8Relu)
//!
//! ```
//! use caffe2op_relu::{Isa, QuantParams, Threads};
//!
//! let q = QuantParams { scale: 0.05, zero_point: 128 }; // real = 0.05 * (x_q - 128)
//! let x = [0u8, 127, 128, 129, 255];
//! let mut y = [0u8; 5];
//! caffe2op_relu::int8_relu(&x, &mut y, q.zero_point)?;
//! assert_eq!(y, [128, 128, 128, 129, 255]); // y keeps x's scale and zero point
//! caffe2op_relu::int8_relu_with_isa(&x, &mut y, q.zero_point, Isa::Scalar)?;
//! caffe2op_relu::int8_relu_with(&x, &mut y, q.zero_point, Isa::dispatched(), Threads::Serial)?;
//! let mut z = x;
//! caffe2op_relu::int8_relu_in_place(&mut z, q.zero_point);
//! caffe2op_relu::int8_relu_in_place_with_isa(&mut z, q.zero_point, Isa::Portable)?;
//! caffe2op_relu::int8_relu_in_place_with(&mut z, q.zero_point, Isa::Scalar, Threads::Auto)?;
//! assert_eq!(z, y);
//! assert_eq!(caffe2op_relu::int8_relu_oracle(3, 128), 128);
//! # Ok::<(), caffe2op_relu::Error>(())
//! ```
//!
//! ## Errors
//!
//! Every refusal is an [`Error`] that names the offending argument and its value, and
//! a refused call has written nothing: everything is validated before the first store.
//!
//! ```
//! use caffe2op_relu::{Activation, Error, Kernel};
//!
//! assert!(matches!(Activation::relu_n(0.0), Err(Error::InvalidParameter { name: "n", .. })));
//! let k = Kernel::new(Activation::relu_n(1e-50)?); // valid as f64 ...
//! let mut y = [7.0f32; 2];
//! let err = k.forward(&[1.0f32, 2.0], &mut y).unwrap_err(); // ... but 0 in f32
//! assert_eq!(err.to_string(), "invalid `n` = 1e-50 (as f32): n must be > 0");
//! assert_eq!(y, [7.0, 7.0]); // untouched
//! let err = k.forward(&[1.0f64], &mut [0.0f64; 2]).unwrap_err();
//! assert_eq!(err, Error::LengthMismatch { arg: "y", expected: 1, found: 2 });
//! # Ok::<(), caffe2op_relu::Error>(())
//! ```
//!
//! ## Baselines, operators, arrays
//!
//! - [`autovec`]: the oracle's loops as the compiler vectorises them for each ISA
//!   (compiled with its target features), the baseline the hand kernels are measured
//!   against.
//! - [`ops`]: Caffe2's operator layer — schemas, registry, cost and shape inference,
//!   gradient makers, a workspace of named tensors, nets, and Caffe2's protobuf
//!   `NetDef`/`OperatorDef` format.
//! - `nd` (feature `ndarray`): every [`Kernel`] entry point on `ndarray` arrays and
//!   views of any dimension and layout, contiguous ones straight to the kernels.
//! - `candle` (feature `candle`): the family on candle CPU tensors of any layout, as
//!   custom ops with autograd (the backward pass is the crate's gradient kernel).
//!
//! # Cargo features
//!
//! | feature | default | what it adds |
//! |---|---|---|
//! | `ndarray` | no | the `nd` module and the `Kernel::*_array` methods, on [`ndarray`](https://docs.rs/ndarray/0.17) 0.17 |
//! | `candle` | no | the `candle` module, the `Kernel::*_tensor` methods and `candle_core::Module` for `Kernel`, on [`candle-core`](https://docs.rs/candle-core/0.11) 0.11 CPU tensors, with autograd |
//! | `candle-nn` | no | `candle` plus candle-nn, used only by the crate's candle tests and the report's candle section |
//!
//! # Safety and layout
//!
//! All SIMD code lives in the crate `caffe2op-relu-kernels` (the op and ISA
//! registries, `no_std` without its `std` feature); this crate validates slices and
//! parameters, picks the ISA's tables, and only then calls a kernel, in one module
//! (see `docs/DESIGN.md`).
//! The minimum supported Rust version is 1.89 (`wide` 1.7 requires it).
#![deny(unsafe_op_in_unsafe_fn)]
#![deny(missing_docs)]
#![cfg_attr(docsrs, feature(doc_cfg))]

mod activation;
pub mod autovec;
#[cfg(feature = "candle")]
#[cfg_attr(docsrs, doc(cfg(feature = "candle")))]
pub mod candle;
mod element;
mod error;
mod exec;
mod isa;
mod kernel;
#[cfg(feature = "ndarray")]
#[cfg_attr(docsrs, doc(cfg(feature = "ndarray")))]
pub mod nd;
pub mod ops;
mod prelu;
mod quantized;
pub mod tuning;

pub use activation::{Activation, DEFAULT_ALPHA, DEFAULT_N, Op};
pub use element::Element;
pub use error::{Error, OpErrorKind};
pub use exec::Threads;
pub use isa::{ISA_ENV_VAR, Isa, ParseIsaError};
pub use kernel::Kernel;
use kernel::Once;
pub use prelu::{Order, Prelu, prelu, prelu_grad, prelu_in_place};
pub use quantized::{
    Int8LeakyRelu, QuantParams, int8_relu, int8_relu_in_place, int8_relu_in_place_with,
    int8_relu_in_place_with_isa, int8_relu_oracle, int8_relu_with, int8_relu_with_isa,
};

/// The kernel of [`relu`] and its relatives, a constant: a call passes the kernel
/// path a reference to it, where a kernel built in the call would be written to the
/// stack on every call, short ones included.
const RELU: Kernel = Kernel::new(Activation::relu());

/// `y = relu(x)` on the default ISA.
#[inline]
pub fn relu<T: Element>(x: &[T], y: &mut [T]) -> Result<(), Error> {
    RELU.forward(x, y)
}

/// `x = relu(x)` on the default ISA (cannot fail: relu has no parameter).
#[inline]
pub fn relu_in_place<T: Element>(x: &mut [T]) {
    let _infallible = RELU.forward_in_place(x);
}

/// `y = relu_n(x; n)`.
#[inline]
pub fn relu_n<T: Element>(x: &[T], y: &mut [T], n: f64) -> Result<(), Error> {
    Once::new(Op::ReluN, [n]).forward(x, y)
}

/// `x = relu_n(x; n)`.
#[inline]
pub fn relu_n_in_place<T: Element>(x: &mut [T], n: f64) -> Result<(), Error> {
    Once::new(Op::ReluN, [n]).forward_in_place(x)
}

/// `y = leaky_relu(x; alpha)`.
#[inline]
pub fn leaky_relu<T: Element>(x: &[T], y: &mut [T], alpha: f64) -> Result<(), Error> {
    Once::new(Op::LeakyRelu, [alpha]).forward(x, y)
}

/// `x = leaky_relu(x; alpha)`.
#[inline]
pub fn leaky_relu_in_place<T: Element>(x: &mut [T], alpha: f64) -> Result<(), Error> {
    Once::new(Op::LeakyRelu, [alpha]).forward_in_place(x)
}

/// `dx = relu'(y) * dy`, from the forward output `y`.
#[inline]
pub fn relu_grad<T: Element>(y: &[T], dy: &[T], dx: &mut [T]) -> Result<(), Error> {
    RELU.backward(y, dy, dx)
}

/// `dy = relu'(y) * dy`.
#[inline]
pub fn relu_grad_in_place<T: Element>(y: &[T], dy: &mut [T]) -> Result<(), Error> {
    RELU.backward_in_place(y, dy)
}

/// `dx = relu_n'(y) * dy`.
#[inline]
pub fn relu_n_grad<T: Element>(y: &[T], dy: &[T], dx: &mut [T], n: f64) -> Result<(), Error> {
    Once::new(Op::ReluN, [n]).backward(y, dy, dx)
}

/// `dx = leaky_relu'(y) * dy`.
#[inline]
pub fn leaky_relu_grad<T: Element>(
    y: &[T],
    dy: &[T],
    dx: &mut [T],
    alpha: f64,
) -> Result<(), Error> {
    Once::new(Op::LeakyRelu, [alpha]).backward(y, dy, dx)
}

/// `y = clip(x; min, max)`: `x < min ? min : x > max ? max : x`.
#[inline]
pub fn clip<T: Element>(x: &[T], y: &mut [T], min: f64, max: f64) -> Result<(), Error> {
    Once::new(Op::Clip, [min, max]).forward(x, y)
}

/// `x = clip(x; min, max)`.
#[inline]
pub fn clip_in_place<T: Element>(x: &mut [T], min: f64, max: f64) -> Result<(), Error> {
    Once::new(Op::Clip, [min, max]).forward_in_place(x)
}

/// `dx = clip'(y) * dy`: `y > min && y < max ? dy : 0`, from the forward output `y`.
#[inline]
pub fn clip_grad<T: Element>(
    y: &[T],
    dy: &[T],
    dx: &mut [T],
    min: f64,
    max: f64,
) -> Result<(), Error> {
    Once::new(Op::Clip, [min, max]).backward(y, dy, dx)
}

// The tuning knobs' 0.1 paths, kept for compatibility.

/// Moved to [`tuning::PARALLEL_MIN_BYTES`].
#[deprecated(since = "0.2.0", note = "use `tuning::PARALLEL_MIN_BYTES`")]
pub const PARALLEL_MIN_BYTES: usize = tuning::PARALLEL_MIN_BYTES;
/// Moved to [`tuning::DEFAULT_STREAM_MIN_BYTES`].
#[deprecated(since = "0.2.0", note = "use `tuning::DEFAULT_STREAM_MIN_BYTES`")]
pub const DEFAULT_STREAM_MIN_BYTES: usize = tuning::DEFAULT_STREAM_MIN_BYTES;
/// Moved to [`tuning::AVX512_YMM_ENV_VAR`].
#[deprecated(since = "0.2.0", note = "use `tuning::AVX512_YMM_ENV_VAR`")]
pub const AVX512_YMM_ENV_VAR: &str = tuning::AVX512_YMM_ENV_VAR;
/// Moved to [`tuning::BF16_ENV_VAR`].
#[deprecated(since = "0.2.0", note = "use `tuning::BF16_ENV_VAR`")]
pub const BF16_ENV_VAR: &str = tuning::BF16_ENV_VAR;

/// Moved to [`tuning::parallel_min_bytes`].
#[deprecated(since = "0.2.0", note = "use `tuning::parallel_min_bytes`")]
pub fn parallel_min_bytes() -> usize {
    tuning::parallel_min_bytes()
}
/// Moved to [`tuning::set_parallel_min_bytes`].
#[deprecated(since = "0.2.0", note = "use `tuning::set_parallel_min_bytes`")]
pub fn set_parallel_min_bytes(bytes: usize) {
    tuning::set_parallel_min_bytes(bytes)
}
/// Moved to [`tuning::stream_min_bytes`].
#[deprecated(since = "0.2.0", note = "use `tuning::stream_min_bytes`")]
pub fn stream_min_bytes() -> usize {
    tuning::stream_min_bytes()
}
/// Moved to [`tuning::set_stream_min_bytes`].
#[deprecated(since = "0.2.0", note = "use `tuning::set_stream_min_bytes`")]
pub fn set_stream_min_bytes(bytes: usize) {
    tuning::set_stream_min_bytes(bytes)
}
/// Moved to [`tuning::avx512_ymm_loops`].
#[deprecated(since = "0.2.0", note = "use `tuning::avx512_ymm_loops`")]
pub fn avx512_ymm_loops() -> bool {
    tuning::avx512_ymm_loops()
}
/// Moved to [`tuning::set_avx512_ymm_loops`].
#[deprecated(since = "0.2.0", note = "use `tuning::set_avx512_ymm_loops`")]
pub fn set_avx512_ymm_loops(on: bool) {
    tuning::set_avx512_ymm_loops(on)
}
/// Moved to [`tuning::avx512_bf16_narrowing`].
#[deprecated(since = "0.2.0", note = "use `tuning::avx512_bf16_narrowing`")]
pub fn avx512_bf16_narrowing() -> bool {
    tuning::avx512_bf16_narrowing()
}
