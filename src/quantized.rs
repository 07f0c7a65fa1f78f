//! Quantized u8 (Caffe2): Int8Relu, `y_q = max(x_q, zero_point)`, and Int8LeakyRelu,
//! `y_q = table[x_q]` with QNNPACK's 256-entry table ([`Int8LeakyRelu`]).
//!
//! Dispatched like the float kernels: one [`Int8Kernels`] table per ISA (the oracle's
//! loops; `wide`; AVX2 `VPMAXUB` and `VPSHUFB` lookups; AVX-512 `VPMAXUB` with masked
//! tails and `VPERMI2B` lookups where the CPU has AVX512VBMI; NEON `UMAX` and `TBL`;
//! SIMD128 `u8x16.max_u` and `i8x16.swizzle`), the default ISA from
//! [`Isa::dispatched`] (cached, capped by `CAFFE2OP_RELU_ISA`), and large calls split
//! across the current rayon pool like every other kernel.
//!
//! [`Int8Kernels`]: caffe2op_relu_kernels::int8::Int8Kernels

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
    exec::int8_relu(t, Unary::in_place(x), zero_point, Threads::Auto.into())
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
    exec::int8_relu(t, Unary::slices(x, y)?, zero_point, threads.into());
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
    exec::int8_relu(t, Unary::in_place(x), zero_point, threads.into());
    Ok(())
}

/// Int8LeakyRelu (Caffe2's `Int8LeakyRelu`, as it runs on QNNPACK): `y_q = table[x_q]`,
/// where the 256-entry table holds, for each input code `i`, in `f32` arithmetic,
///
/// ```text
/// x = (x.scale / y.scale) * (i - x.zero_point)
/// y = x < 0 ? x * alpha : x
/// table[i] = round_half_even(clamp(y, -y.zero_point, 255 - y.zero_point)) + y.zero_point
/// ```
///
/// bit for bit QNNPACK's table (`pytorch_qnnp_create_leaky_relu_nc_q8` with the output
/// range 0..=255, as Caffe2 calls it). Every ISA gives the table's bytes.
///
/// ```
/// use caffe2op_relu::{Int8LeakyRelu, QuantParams};
/// let q = QuantParams { scale: 0.5, zero_point: 128 };
/// let op = Int8LeakyRelu::new(0.25, q, q)?;
/// let x = [0u8, 120, 128, 200];
/// let mut y = [0u8; 4];
/// op.forward(&x, &mut y)?;
/// // Below the zero point the distance to it shrinks by alpha: (0 - 128) * 0.25 = -32.
/// assert_eq!(y, [96, 126, 128, 200]);
/// # Ok::<(), caffe2op_relu::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Int8LeakyRelu {
    alpha: f32,
    x: QuantParams,
    y: QuantParams,
    lut: k::int8::LutTable,
}

impl Int8LeakyRelu {
    /// The op for slope `alpha`, input quantization `x` and output quantization `y`.
    ///
    /// Refused ([`Error::InvalidParameter`]) as QNNPACK refuses them: `alpha` not a
    /// normal number in (0, 1]; a scale that is not a positive normal number; a ratio
    /// `x.scale / y.scale` (as `f32`) outside [2^-8, 2^8). Caffe2's operator refuses
    /// `alpha = 1` besides; the operator layer does too.
    pub fn new(alpha: f32, x: QuantParams, y: QuantParams) -> Result<Self, Error> {
        let bad = |name, value: f32, reason| {
            Err(Error::InvalidParameter {
                name,
                value: f64::from(value),
                dtype: "f32",
                reason,
            })
        };
        if !(alpha.is_normal() && alpha > 0.0 && alpha <= 1.0) {
            return bad("alpha", alpha, "must be a normal number in (0, 1]");
        }
        for (name, s) in [("x_scale", x.scale), ("y_scale", y.scale)] {
            if !(s.is_normal() && s > 0.0) {
                return bad(name, s, "must be a positive normal number");
            }
        }
        let ratio = x.scale / y.scale;
        if !((1.0 / 256.0)..256.0).contains(&ratio) {
            return bad(
                "x_scale / y_scale",
                ratio,
                "must be in [2^-8, 2^8) (QNNPACK's range)",
            );
        }
        let table =
            k::oracle::int8_leaky_relu_table(alpha, x.scale, x.zero_point, y.scale, y.zero_point);
        let slope = f64::from(ratio);
        let lut = k::int8::LutTable::with_linear(
            table,
            x.zero_point,
            y.zero_point,
            slope,
            slope * f64::from(alpha),
        );
        Ok(Int8LeakyRelu { alpha, x, y, lut })
    }

    /// The slope below the zero point.
    pub fn alpha(&self) -> f32 {
        self.alpha
    }

    /// The input's quantization.
    pub fn input(&self) -> QuantParams {
        self.x
    }

    /// The output's quantization.
    pub fn output(&self) -> QuantParams {
        self.y
    }

    /// The table: entry `i` is the output code for input code `i` (the oracle).
    pub fn table(&self) -> &[u8; 256] {
        self.lut.table()
    }

    /// Whether the table is also a 16-bit fixed-point formula (two slopes, rounded
    /// half up, with a 16-entry correction for ties that repeat), checked entry by
    /// entry when the op was made, which the AVX2 and SIMD128 kernels evaluate
    /// instead of looking up: two to four times as fast (NEON evaluates a form
    /// without that correction, and takes the corrected form for the others). Parameters whose table
    /// rounds ties to even in a pattern the formula cannot follow (a scale ratio of
    /// 17/16: ties every 16 inputs, rounding in a pattern of 32) have none, and
    /// most of them have a corrected form instead
    /// ([`Int8LeakyRelu::has_corrected_form`]). Every ISA gives the table's bytes
    /// either way.
    pub fn has_linear_form(&self) -> bool {
        self.lut.linear().is_some()
    }

    /// Whether the table, without a linear form free of a correction for repeating
    /// ties, is the formula without that correction, rounded down by one at the
    /// inputs a 256-bit map names (checked entry by entry when the op was made).
    /// Without a linear form the AVX2 and SIMD128 kernels evaluate it instead of
    /// looking up: ten more instructions per 32 bytes than the plain formula on
    /// AVX2, about twice as fast as its lookups on Zen 4 (SIMD128: 1.8x the scalar
    /// table loop). NEON evaluates it wherever the table has one and no plain linear
    /// form. AVX-512 looks up.
    pub fn has_corrected_form(&self) -> bool {
        self.lut.corrected().is_some()
    }

    /// `y[i] = table[x[i]]` on the default ISA. Lengths must match, and `y` may not
    /// partly overlap `x`; a refused call writes nothing.
    pub fn forward(&self, x: &[u8], y: &mut [u8]) -> Result<(), Error> {
        self.forward_with(x, y, Isa::dispatched(), Threads::Auto)
    }

    /// In place on the default ISA.
    pub fn forward_in_place(&self, x: &mut [u8]) {
        exec::int8_lut(
            Runnable::dispatched(),
            Unary::in_place(x),
            &self.lut,
            Threads::Auto.into(),
        )
    }

    /// [`Int8LeakyRelu::forward`] on a forced ISA ([`Error::IsaUnavailable`] if this CPU
    /// cannot run it) with a threading policy.
    pub fn forward_with(
        &self,
        x: &[u8],
        y: &mut [u8],
        isa: Isa,
        threads: Threads,
    ) -> Result<(), Error> {
        let t = Runnable::of(isa)?;
        exec::int8_lut(t, Unary::slices(x, y)?, &self.lut, threads.into());
        Ok(())
    }

    /// [`Int8LeakyRelu::forward_in_place`] on a forced ISA with a threading policy.
    pub fn forward_in_place_with(
        &self,
        x: &mut [u8],
        isa: Isa,
        threads: Threads,
    ) -> Result<(), Error> {
        let t = Runnable::of(isa)?;
        exec::int8_lut(t, Unary::in_place(x), &self.lut, threads.into());
        Ok(())
    }
}
