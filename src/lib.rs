//! Caffe2's ReLU family — Relu, ReluN (ReLU6), LeakyRelu, their gradients and the
//! quantized Int8Relu — as bit-exact, runtime-dispatched SIMD kernels.
#![deny(unsafe_op_in_unsafe_fn)]
#![warn(missing_docs)]

mod activation;
pub mod autovec;
mod element;
mod error;
mod exec;
mod isa;
mod kernel;
pub mod ops;
mod portable;
mod quantized;

pub use activation::{Activation, DEFAULT_ALPHA, DEFAULT_N, Op};
pub use caffe2op_relu_kernels::generic::DEFAULT_STREAM_MIN_BYTES;
pub use element::Element;
pub use error::{Error, OpErrorKind};
pub use exec::{
    PARALLEL_MIN_BYTES, Threads, parallel_min_bytes, set_parallel_min_bytes, set_stream_min_bytes,
    stream_min_bytes,
};
pub use isa::{ISA_ENV_VAR, Isa, ParseIsaError};
pub use kernel::Kernel;
pub use quantized::{
    QuantParams, int8_relu, int8_relu_in_place, int8_relu_in_place_with_isa, int8_relu_oracle,
    int8_relu_with_isa,
};

/// `y = relu(x)` on the default ISA.
#[inline]
pub fn relu<T: Element>(x: &[T], y: &mut [T]) -> Result<(), Error> {
    Kernel::new(Activation::relu()).forward(x, y)
}

/// `x = relu(x)` on the default ISA (cannot fail: relu has no parameter).
#[inline]
pub fn relu_in_place<T: Element>(x: &mut [T]) {
    let _infallible = Kernel::new(Activation::relu()).forward_in_place(x);
}

/// `y = relu_n(x; n)`.
#[inline]
pub fn relu_n<T: Element>(x: &[T], y: &mut [T], n: f64) -> Result<(), Error> {
    Kernel::new(Activation::relu_n(n)?).forward(x, y)
}

/// `x = relu_n(x; n)`.
#[inline]
pub fn relu_n_in_place<T: Element>(x: &mut [T], n: f64) -> Result<(), Error> {
    Kernel::new(Activation::relu_n(n)?).forward_in_place(x)
}

/// `y = leaky_relu(x; alpha)`.
#[inline]
pub fn leaky_relu<T: Element>(x: &[T], y: &mut [T], alpha: f64) -> Result<(), Error> {
    Kernel::new(Activation::leaky_relu(alpha)?).forward(x, y)
}

/// `x = leaky_relu(x; alpha)`.
#[inline]
pub fn leaky_relu_in_place<T: Element>(x: &mut [T], alpha: f64) -> Result<(), Error> {
    Kernel::new(Activation::leaky_relu(alpha)?).forward_in_place(x)
}

/// `dx = relu'(y) * dy`, from the forward output `y`.
#[inline]
pub fn relu_grad<T: Element>(y: &[T], dy: &[T], dx: &mut [T]) -> Result<(), Error> {
    Kernel::new(Activation::relu()).backward(y, dy, dx)
}

/// `dy = relu'(y) * dy`.
#[inline]
pub fn relu_grad_in_place<T: Element>(y: &[T], dy: &mut [T]) -> Result<(), Error> {
    Kernel::new(Activation::relu()).backward_in_place(y, dy)
}

/// `dx = relu_n'(y) * dy`.
#[inline]
pub fn relu_n_grad<T: Element>(y: &[T], dy: &[T], dx: &mut [T], n: f64) -> Result<(), Error> {
    Kernel::new(Activation::relu_n(n)?).backward(y, dy, dx)
}

/// `dx = leaky_relu'(y) * dy`.
#[inline]
pub fn leaky_relu_grad<T: Element>(
    y: &[T],
    dy: &[T],
    dx: &mut [T],
    alpha: f64,
) -> Result<(), Error> {
    Kernel::new(Activation::leaky_relu(alpha)?).backward(y, dy, dx)
}
