//! aarch64 kernels: NEON (128-bit, always present on aarch64 Linux).

pub mod neon;
