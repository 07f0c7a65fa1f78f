//! Tensors (dims + typed data) and tensor shapes (dims + element type).

use std::fmt;

use half::{bf16, f16};

use crate::error::{Error, OpErrorKind};
use crate::quantized::QuantParams;

/// The element type of a tensor (Caffe2's `TensorProto.DataType`, restricted to the
/// types this crate has operators for).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DataType {
    /// `f32` (Caffe2 `FLOAT`).
    F32,
    /// `f64` (Caffe2 `DOUBLE`).
    F64,
    /// `half::f16` (Caffe2 `FLOAT16`).
    F16,
    /// `half::bf16` (bfloat16; no Caffe2 tensor type of its own).
    Bf16,
    /// Quantized `u8` with a scale and zero point (Caffe2 `Int8TensorCPU`).
    U8,
    /// `i32` (Caffe2 `INT32`): what `GivenTensorIntFill` and `ConstantFill` with
    /// `dtype = INT32` write, and what a `TensorProto` of type `INT32` reads as. No
    /// activation operator takes it.
    I32,
}

impl DataType {
    /// Every data type.
    pub const ALL: [DataType; 6] = [
        DataType::F32,
        DataType::F64,
        DataType::F16,
        DataType::Bf16,
        DataType::U8,
        DataType::I32,
    ];

    /// The size of one element in bytes (the `s` of the cost formulas).
    pub const fn item_size(self) -> usize {
        match self {
            DataType::F32 | DataType::I32 => 4,
            DataType::F64 => 8,
            DataType::F16 | DataType::Bf16 => 2,
            DataType::U8 => 1,
        }
    }

    /// Short name: `"f32"`, `"f64"`, `"f16"`, `"bf16"`, `"u8"`, `"i32"`.
    pub const fn name(self) -> &'static str {
        match self {
            DataType::F32 => "f32",
            DataType::F64 => "f64",
            DataType::F16 => "f16",
            DataType::Bf16 => "bf16",
            DataType::U8 => "u8",
            DataType::I32 => "i32",
        }
    }

    /// Whether this is one of the floating-point types (the types of Relu, ReluN,
    /// LeakyRelu and their gradients).
    pub const fn is_float(self) -> bool {
        !matches!(self, DataType::U8 | DataType::I32)
    }
}

impl fmt::Display for DataType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The typed storage of a [`Tensor`]. Its length always equals the product of the
/// tensor's dims (a [`Tensor`] only hands out shared references to it, and mutable
/// access only as fixed-length slices).
#[derive(Debug, Clone)]
pub enum TensorData {
    /// `f32` elements.
    F32(Vec<f32>),
    /// `f64` elements.
    F64(Vec<f64>),
    /// `f16` elements.
    F16(Vec<f16>),
    /// `bf16` elements.
    Bf16(Vec<bf16>),
    /// Quantized `u8` codes (the scale and zero point live on the [`Tensor`]).
    U8(Vec<u8>),
    /// `i32` elements.
    I32(Vec<i32>),
}

impl TensorData {
    /// The element type.
    pub const fn dtype(&self) -> DataType {
        match self {
            TensorData::F32(_) => DataType::F32,
            TensorData::F64(_) => DataType::F64,
            TensorData::F16(_) => DataType::F16,
            TensorData::Bf16(_) => DataType::Bf16,
            TensorData::U8(_) => DataType::U8,
            TensorData::I32(_) => DataType::I32,
        }
    }

    /// The number of elements.
    pub fn len(&self) -> usize {
        match self {
            TensorData::F32(v) => v.len(),
            TensorData::F64(v) => v.len(),
            TensorData::F16(v) => v.len(),
            TensorData::Bf16(v) => v.len(),
            TensorData::U8(v) => v.len(),
            TensorData::I32(v) => v.len(),
        }
    }

    /// Whether there are no elements.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The raw bytes, little-endian element by element (for checksums and bit-level
    /// comparisons; independent of the host's byte order).
    pub fn to_le_bytes(&self) -> Vec<u8> {
        match self {
            TensorData::F32(v) => v.iter().flat_map(|x| x.to_bits().to_le_bytes()).collect(),
            TensorData::F64(v) => v.iter().flat_map(|x| x.to_bits().to_le_bytes()).collect(),
            TensorData::F16(v) => v.iter().flat_map(|x| x.to_bits().to_le_bytes()).collect(),
            TensorData::Bf16(v) => v.iter().flat_map(|x| x.to_bits().to_le_bytes()).collect(),
            TensorData::U8(v) => v.clone(),
            TensorData::I32(v) => v.iter().flat_map(|x| x.to_le_bytes()).collect(),
        }
    }

    /// Bitwise equality: same type, same length, every element's bits equal (so a NaN
    /// equals itself and `0.0` differs from `-0.0`).
    pub fn bit_eq(&self, other: &TensorData) -> bool {
        fn eq<T, B: PartialEq>(a: &[T], b: &[T], bits: impl Fn(&T) -> B) -> bool {
            a.len() == b.len() && a.iter().zip(b).all(|(x, y)| bits(x) == bits(y))
        }
        match (self, other) {
            (TensorData::F32(a), TensorData::F32(b)) => eq(a, b, |x| x.to_bits()),
            (TensorData::F64(a), TensorData::F64(b)) => eq(a, b, |x| x.to_bits()),
            (TensorData::F16(a), TensorData::F16(b)) => eq(a, b, |x| x.to_bits()),
            (TensorData::Bf16(a), TensorData::Bf16(b)) => eq(a, b, |x| x.to_bits()),
            (TensorData::U8(a), TensorData::U8(b)) => a == b,
            (TensorData::I32(a), TensorData::I32(b)) => a == b,
            _ => false,
        }
    }
}

mod sealed {
    pub trait Sealed {}
    impl Sealed for f32 {}
    impl Sealed for f64 {}
    impl Sealed for half::f16 {}
    impl Sealed for half::bf16 {}
}

/// A floating-point element type a [`Tensor`] can hold: `f32`, `f64`, `half::f16`,
/// `half::bf16` (quantized `u8` tensors are built with [`Tensor::quantized`]).
///
/// Sealed: implemented for exactly those four types.
pub trait TensorElement: sealed::Sealed + Copy + Default + fmt::Debug + 'static {
    /// The tensor data type of this element type.
    const DTYPE: DataType;
    /// Wraps a vector as tensor data.
    fn wrap(v: Vec<Self>) -> TensorData;
    /// A view of the data if it holds this type.
    fn view(d: &TensorData) -> Option<&[Self]>;
    /// A mutable view of the data if it holds this type.
    fn view_mut(d: &mut TensorData) -> Option<&mut [Self]>;
    /// The vector back if the data holds this type, the data unchanged otherwise.
    fn unwrap(d: TensorData) -> Result<Vec<Self>, TensorData>;
}

macro_rules! tensor_element {
    ($T:ty, $V:ident) => {
        impl TensorElement for $T {
            const DTYPE: DataType = DataType::$V;
            fn wrap(v: Vec<$T>) -> TensorData {
                TensorData::$V(v)
            }
            fn view(d: &TensorData) -> Option<&[$T]> {
                match d {
                    TensorData::$V(v) => Some(v),
                    _ => None,
                }
            }
            fn view_mut(d: &mut TensorData) -> Option<&mut [$T]> {
                match d {
                    TensorData::$V(v) => Some(v),
                    _ => None,
                }
            }
            fn unwrap(d: TensorData) -> Result<Vec<$T>, TensorData> {
                match d {
                    TensorData::$V(v) => Ok(v),
                    other => Err(other),
                }
            }
        }
    };
}

tensor_element!(f32, F32);
tensor_element!(f64, F64);
tensor_element!(f16, F16);
tensor_element!(bf16, Bf16);

/// The number of elements of `dims` (1 for no dims: a scalar; 0 when any dim is 0,
/// whatever the others), refused with
/// [`OpErrorKind::Overflow`] if the product overflows `usize`.
pub fn numel(dims: &[usize]) -> Result<usize, Error> {
    // Any zero dim means no elements, whatever the order of the others.
    if dims.contains(&0) {
        return Ok(0);
    }
    dims.iter()
        .try_fold(1usize, |acc, &d| acc.checked_mul(d))
        .ok_or_else(|| Error::Operator {
            op_type: String::new(),
            kind: OpErrorKind::Overflow,
            detail: format!("the element count of dims {dims:?} overflows usize"),
        })
}

/// The dims and element type of a tensor (Caffe2's `TensorShape`): what tensor and
/// cost inference work on.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct TensorShape {
    /// The dimensions, outermost first.
    pub dims: Vec<usize>,
    /// The element type.
    pub dtype: DataType,
}

impl TensorShape {
    /// A shape of `dtype` with `dims`.
    pub fn new(dtype: DataType, dims: impl Into<Vec<usize>>) -> TensorShape {
        TensorShape {
            dims: dims.into(),
            dtype,
        }
    }

    /// The element count, or an [`OpErrorKind::Overflow`] error.
    pub fn numel(&self) -> Result<usize, Error> {
        numel(&self.dims)
    }

    /// The byte size (`numel * item_size`), refused with [`OpErrorKind::Overflow`]
    /// when it exceeds `isize::MAX` (no tensor of that shape can exist).
    pub fn byte_size(&self) -> Result<usize, Error> {
        let n = self.numel()?;
        n.checked_mul(self.dtype.item_size())
            .filter(|&b| b <= isize::MAX as usize)
            .ok_or_else(|| Error::Operator {
                op_type: String::new(),
                kind: OpErrorKind::Overflow,
                detail: format!(
                    "a {} tensor of dims {:?} would need more than isize::MAX bytes",
                    self.dtype, self.dims
                ),
            })
    }
}

impl fmt::Display for TensorShape {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}{:?}", self.dtype, self.dims)
    }
}

/// A tensor: dims plus typed data of exactly `product(dims)` elements, and for
/// quantized `u8` data its scale and zero point.
///
/// Equality (`==`) is bitwise: dims, type, quantization parameters and every
/// element's bits (a NaN equals itself, `0.0 != -0.0`) — the sense in which a blob is
/// "exactly as it was".
#[derive(Debug, Clone)]
pub struct Tensor {
    dims: Vec<usize>,
    data: TensorData,
    quant: Option<QuantParams>,
}

fn shape_error(dims: &[usize], n: usize, len: usize) -> Error {
    Error::Operator {
        op_type: String::new(),
        kind: OpErrorKind::ShapeMismatch,
        detail: format!("dims {dims:?} hold {n} elements but the data has {len}"),
    }
}

impl Tensor {
    /// A floating-point tensor. Refused ([`OpErrorKind::ShapeMismatch`]) unless
    /// `data.len()` is the product of `dims` (1 for empty dims: a scalar).
    pub fn from_vec<T: TensorElement>(
        dims: impl Into<Vec<usize>>,
        data: Vec<T>,
    ) -> Result<Tensor, Error> {
        Tensor::checked(dims.into(), T::wrap(data), None)
    }

    /// A floating-point tensor of `dims` filled with `value`. Refused with
    /// [`OpErrorKind::Overflow`] when the byte size would exceed `isize::MAX`.
    pub fn full<T: TensorElement>(dims: impl Into<Vec<usize>>, value: T) -> Result<Tensor, Error> {
        let shape = TensorShape {
            dims: dims.into(),
            dtype: T::DTYPE,
        };
        shape.byte_size()?;
        let n = shape.numel()?;
        let dims = shape.dims;
        Ok(Tensor {
            dims,
            data: T::wrap(vec![value; n]),
            quant: None,
        })
    }

    /// A quantized `u8` tensor (`real = scale * (q - zero_point)`). Refused unless
    /// `data.len()` is the product of `dims` and `scale` is finite and `> 0`.
    pub fn quantized(
        dims: impl Into<Vec<usize>>,
        data: Vec<u8>,
        quant: QuantParams,
    ) -> Result<Tensor, Error> {
        let dims = dims.into();
        if !(quant.scale.is_finite() && quant.scale > 0.0) {
            return Err(Error::Operator {
                op_type: String::new(),
                kind: OpErrorKind::ArgumentValue,
                detail: format!(
                    "quantization scale = {:?} must be finite and > 0",
                    quant.scale
                ),
            });
        }
        Tensor::checked(dims, TensorData::U8(data), Some(quant))
    }

    /// A tensor of `data` in `dims`, refused ([`OpErrorKind::ShapeMismatch`]) unless
    /// `data.len()` is the product of `dims`.
    fn checked(
        dims: Vec<usize>,
        data: TensorData,
        quant: Option<QuantParams>,
    ) -> Result<Tensor, Error> {
        let n = numel(&dims)?;
        if n != data.len() {
            return Err(shape_error(&dims, n, data.len()));
        }
        Ok(Tensor { dims, data, quant })
    }

    /// An `i32` tensor. Refused ([`OpErrorKind::ShapeMismatch`]) unless `data.len()`
    /// is the product of `dims`.
    pub fn from_i32(dims: impl Into<Vec<usize>>, data: Vec<i32>) -> Result<Tensor, Error> {
        Tensor::checked(dims.into(), TensorData::I32(data), None)
    }

    /// The dims, outermost first.
    pub fn dims(&self) -> &[usize] {
        &self.dims
    }

    /// The element count (`product(dims)`).
    pub fn numel(&self) -> usize {
        self.data.len()
    }

    /// The element type.
    pub fn dtype(&self) -> DataType {
        self.data.dtype()
    }

    /// Dims and element type.
    pub fn shape(&self) -> TensorShape {
        TensorShape {
            dims: self.dims.clone(),
            dtype: self.dtype(),
        }
    }

    /// The typed data.
    pub fn data(&self) -> &TensorData {
        &self.data
    }

    /// The elements if the tensor holds `T`.
    pub fn as_slice<T: TensorElement>(&self) -> Option<&[T]> {
        T::view(&self.data)
    }

    /// The elements, mutably, if the tensor holds `T` (the length cannot change).
    pub fn as_mut_slice<T: TensorElement>(&mut self) -> Option<&mut [T]> {
        T::view_mut(&mut self.data)
    }

    /// The quantized codes, if this is a `u8` tensor.
    pub fn as_u8(&self) -> Option<&[u8]> {
        match &self.data {
            TensorData::U8(v) => Some(v),
            _ => None,
        }
    }

    /// The elements, if this is an `i32` tensor.
    pub fn as_i32(&self) -> Option<&[i32]> {
        match &self.data {
            TensorData::I32(v) => Some(v),
            _ => None,
        }
    }

    /// The scale and zero point of a quantized tensor (`None` for float tensors).
    pub fn quant(&self) -> Option<QuantParams> {
        self.quant
    }

    /// The data as a vector of `T`, or the tensor back if it holds another type.
    pub fn into_vec<T: TensorElement>(self) -> Result<Vec<T>, Tensor> {
        let Tensor { dims, data, quant } = self;
        T::unwrap(data).map_err(|data| Tensor { dims, data, quant })
    }

    pub(crate) fn from_parts(
        dims: Vec<usize>,
        data: TensorData,
        quant: Option<QuantParams>,
    ) -> Tensor {
        debug_assert_eq!(numel(&dims).ok(), Some(data.len()));
        Tensor { dims, data, quant }
    }

    pub(crate) fn into_parts(self) -> (Vec<usize>, TensorData, Option<QuantParams>) {
        (self.dims, self.data, self.quant)
    }

    pub(crate) fn data_mut(&mut self) -> &mut TensorData {
        &mut self.data
    }
}

impl PartialEq for Tensor {
    fn eq(&self, other: &Tensor) -> bool {
        self.dims == other.dims
            && self.data.bit_eq(&other.data)
            && match (self.quant, other.quant) {
                (None, None) => true,
                (Some(a), Some(b)) => {
                    a.scale.to_bits() == b.scale.to_bits() && a.zero_point == b.zero_point
                }
                _ => false,
            }
    }
}
