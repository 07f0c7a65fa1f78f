//! aarch64 kernels: NEON (128-bit, always present on aarch64 Linux).

pub mod neon;
pub mod neon_half;
pub mod neon_u8;
