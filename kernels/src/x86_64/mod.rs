//! x86_64 kernels: AVX2 (256-bit) and AVX-512 (512-bit, masked tails).

pub mod avx2;
pub mod avx512;
