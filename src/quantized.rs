//! Quantized u8 (Caffe2 Int8Relu): `y_q = max(x_q, zero_point)`.
//!
//! Dispatched like the float kernels: one [`Int8Kernels`] table per ISA (the oracle's
//! loop, `wide`, AVX2 `VPMAXUB`, AVX-512 `VPMAXUB` with masked tails, NEON `UMAX`,
//! SIMD128 `u8x16.max_u`), the
//! default ISA from [`Isa::dispatched`] (cached, capped by `CAFFE2OP_RELU_ISA`), and
//! large calls split across the current rayon pool like every other kernel.

use caffe2op_relu_kernels as k;

use crate::error::Error;
use crate::exec::{self, Runnable, Threads, Unary};
use crate::isa::Isa;

/// Scale and zero point of a quantized u8 tensor (`real = scale * (q - zero_point)`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct QuantParams {
    /// Real value of one quantization step.
    pub scale: f32,
    /// The u8 code of real 0.
    pub zero_point: u8,
}

/// The oracle of Int8Relu on one element.
#[inline]
pub fn int8_relu_oracle(x: u8, zero_point: u8) -> u8 {
    k::oracle::int8_relu(x, zero_point)
}

/// `y[i] = max(x[i], zero_point)` (Int8Relu; scale and zero point carry over), on the
/// default ISA. Lengths must match; a refused call writes nothing.
pub fn int8_relu(x: &[u8], y: &mut [u8], zero_point: u8) -> Result<(), Error> {
    int8_relu_with_isa(x, y, zero_point, Isa::dispatched())
}

/// In-place Int8Relu on the default ISA.
pub fn int8_relu_in_place(x: &mut [u8], zero_point: u8) {
    let t = Runnable::dispatched();
    exec::int8_relu(t, Unary::in_place(x), zero_point, Threads::Auto)
}

/// [`int8_relu`] on a forced ISA ([`Error::IsaUnavailable`] if this CPU cannot run it),
/// for comparing every variant.
pub fn int8_relu_with_isa(x: &[u8], y: &mut [u8], zero_point: u8, isa: Isa) -> Result<(), Error> {
    int8_relu_with(x, y, zero_point, isa, Threads::Auto)
}

/// [`int8_relu`] on a forced ISA with a threading policy.
pub fn int8_relu_with(
    x: &[u8],
    y: &mut [u8],
    zero_point: u8,
    isa: Isa,
    threads: Threads,
) -> Result<(), Error> {
    let t = Runnable::of(isa)?;
    exec::int8_relu(t, Unary::slices(x, y)?, zero_point, threads);
    Ok(())
}

/// [`int8_relu_in_place`] on a forced ISA.
pub fn int8_relu_in_place_with_isa(x: &mut [u8], zero_point: u8, isa: Isa) -> Result<(), Error> {
    int8_relu_in_place_with(x, zero_point, isa, Threads::Auto)
}

/// [`int8_relu_in_place`] on a forced ISA with a threading policy.
pub fn int8_relu_in_place_with(
    x: &mut [u8],
    zero_point: u8,
    isa: Isa,
    threads: Threads,
) -> Result<(), Error> {
    let t = Runnable::of(isa)?;
    exec::int8_relu(t, Unary::in_place(x), zero_point, threads);
    Ok(())
}
