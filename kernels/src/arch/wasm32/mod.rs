//! wasm32 kernels: SIMD128 (128-bit), in builds whose target features include
//! `simd128` (WebAssembly has no run-time feature detection).

pub mod simd128;
