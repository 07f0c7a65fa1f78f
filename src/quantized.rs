//! Quantized u8 (Caffe2 Int8Relu): `y_q = max(x_q, zero_point)`.
//!
//! Dispatched like the float kernels: one [`Int8Kernels`] table per ISA (the oracle's
//! loop, `wide`, AVX2 `VPMAXUB`, AVX-512 `VPMAXUB` with masked tails, NEON `UMAX`), the
//! default ISA from [`Isa::dispatched`] (cached, capped by `CAFFE2OP_RELU_ISA`), and
//! large calls split across the current rayon pool like every other kernel.

use caffe2op_relu_kernels::{self as k, Params};

use crate::error::Error;
use crate::exec::{self, Threads};
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
    k::oracle::u8::int8_relu(x, zero_point)
}

/// # Safety
/// `src` valid for `len` reads, `dst` for `len` writes, `dst == src` or disjoint;
/// `isa` available on this CPU.
unsafe fn run(
    isa: Isa,
    src: *const u8,
    dst: *mut u8,
    len: usize,
    zero_point: u8,
    threads: Threads,
) {
    let f = isa.tables().u8.int8_relu;
    // SAFETY: forwarded from the caller (the `UnaryFn` contract).
    unsafe { exec::run_unary(f, src, dst, len, &Params::scalar(zero_point), threads) }
}

/// `y[i] = max(x[i], zero_point)` (Int8Relu; scale and zero point carry over), on the
/// default ISA. Lengths must match; a refused call writes nothing.
pub fn int8_relu(x: &[u8], y: &mut [u8], zero_point: u8) -> Result<(), Error> {
    int8_relu_with_isa(x, y, zero_point, Isa::dispatched())
}

/// In-place Int8Relu on the default ISA.
pub fn int8_relu_in_place(x: &mut [u8], zero_point: u8) {
    let isa = Isa::dispatched();
    let p = x.as_mut_ptr();
    // SAFETY: src == dst, a live exclusive slice of x.len() bytes; the dispatched ISA
    // is available by construction.
    unsafe { run(isa, p, p, x.len(), zero_point, Threads::Auto) }
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
    let isa = isa.check()?;
    if x.len() != y.len() {
        return Err(Error::LengthMismatch {
            arg: "y",
            expected: x.len(),
            found: y.len(),
        });
    }
    // SAFETY: x and y are live, disjoint (y is &mut) and of equal length; `isa` was
    // checked above.
    unsafe {
        run(
            isa,
            x.as_ptr(),
            y.as_mut_ptr(),
            x.len(),
            zero_point,
            threads,
        )
    };
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
    let isa = isa.check()?;
    let p = x.as_mut_ptr();
    // SAFETY: src == dst, a live exclusive slice of x.len() bytes; `isa` was checked.
    unsafe { run(isa, p, p, x.len(), zero_point, threads) };
    Ok(())
}
