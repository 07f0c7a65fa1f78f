//! x86_64 kernels: AVX2 (256-bit) and AVX-512 (512-bit, masked tails).

pub mod avx2;
pub mod avx2_half;
pub mod avx2_u8;
// Built only by rustc >= 1.89 (see build.rs), so clippy may assume that version here.
#[cfg(caffe2op_relu_avx512)]
#[clippy::msrv = "1.89"]
pub mod avx512;
#[cfg(caffe2op_relu_avx512)]
#[clippy::msrv = "1.89"]
pub mod avx512_half;
#[cfg(caffe2op_relu_avx512)]
#[clippy::msrv = "1.89"]
pub mod avx512_u8;
