//! Quantized u8 (Caffe2 Int8Relu): `y_q = max(x_q, zero_point)`.

use crate::error::Error;

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
    if x < zero_point { zero_point } else { x }
}

/// `y[i] = max(x[i], zero_point)` (Int8Relu; scale and zero point carry over).
pub fn int8_relu(x: &[u8], y: &mut [u8], zero_point: u8) -> Result<(), Error> {
    if x.len() != y.len() {
        return Err(Error::LengthMismatch {
            arg: "y",
            expected: x.len(),
            found: y.len(),
        });
    }
    for (o, &i) in y.iter_mut().zip(x) {
        *o = int8_relu_oracle(i, zero_point);
    }
    Ok(())
}

/// In-place Int8Relu.
pub fn int8_relu_in_place(x: &mut [u8], zero_point: u8) {
    for v in x {
        *v = int8_relu_oracle(*v, zero_point);
    }
}
