//! Caffe2's `TensorProto` and `TensorProtos` messages, read into and written from
//! [`Tensor`]s.
//!
//! Field numbers are caffe2.proto's: `dims = 1` (int64), `data_type = 2`,
//! `float_data = 3`, `int32_data = 4`, `byte_data = 5`, `string_data = 6`,
//! `name = 7`, `device_detail = 8`, `double_data = 9`, `int64_data = 10`,
//! `segment = 11`, `raw_data = 13`, `data_format = 15`; `TensorProtos` is
//! `repeated TensorProto protos = 1`.
//!
//! Reading accepts each repeated scalar field packed or unpacked (as any protobuf
//! reader must), and the data of each supported type in the field Caffe2's writers use
//! or in `raw_data` (little-endian):
//!
//! | `data_type` | tensor | typed field | also accepted |
//! |---|---|---|---|
//! | `FLOAT` (1, the default) | `f32` | `float_data` | `raw_data` |
//! | `DOUBLE` (13) | `f64` | `double_data` | `raw_data` |
//! | `FLOAT16` (12) | `f16` | `int32_data` (the 16-bit patterns, 0..=65535) | `byte_data`, `raw_data` (2 bytes each, little-endian) |
//! | `UINT8` (6), `BYTE` (3) | quantized `u8`, scale 1, zero point 0 | `byte_data` | `int32_data` (0..=255), `raw_data` |
//! | `INT32` (2) | `i32` | `int32_data` | `raw_data` |
//!
//! Everything else is refused, naming the tensor (its index in the file and its
//! name): another data type ([`OpErrorKind::Unsupported`]), a `data_format` other than
//! 0 or a `segment` (a chunk of a larger tensor; [`OpErrorKind::Unsupported`]), a
//! negative dim ([`OpErrorKind::Decode`]), dims whose element count overflows
//! ([`OpErrorKind::Overflow`]), data in a field that does not belong to the type or
//! in two fields at once ([`OpErrorKind::Decode`]), an element count that differs from
//! the dims' product ([`OpErrorKind::ShapeMismatch`]), an `int32_data` value outside
//! the type's range ([`OpErrorKind::Decode`]), and malformed wire bytes
//! ([`OpErrorKind::Decode`]). `device_detail` is skipped (this crate runs on the CPU).
//!
//! No allocation is sized by the dims: a tensor's elements are allocated only once
//! the data read from the file is seen to hold exactly that many, and `prost` checks
//! every length prefix against the bytes that remain.
//!
//! Writing follows Caffe2's own serializer: dims unpacked, `data_type` always set,
//! `f32` in `float_data`, `f64` in `double_data`, `f16` as its bit patterns in
//! `int32_data`, `u8` in `byte_data` as `UINT8`, `i32` in `int32_data` (the typed
//! fields packed, as caffe2.proto declares them). A quantized tensor's scale and zero
//! point have no field in `TensorProto` and are not written. `bf16` has no Caffe2 data
//! type and is refused ([`OpErrorKind::Unsupported`]).

use half::f16;
use prost::Message;

use super::tensor::{DataType, Tensor, TensorData, numel};
use crate::error::{Error, OpErrorKind};
use crate::quantized::QuantParams;

/// caffe2.proto's `TensorProto.DataType` values.
pub(crate) mod code {
    pub const FLOAT: i32 = 1;
    pub const INT32: i32 = 2;
    pub const BYTE: i32 = 3;
    pub const UINT8: i32 = 6;
    pub const FLOAT16: i32 = 12;
    pub const DOUBLE: i32 = 13;
}

/// The name of a `TensorProto.DataType` value, for messages.
pub(crate) fn type_name(c: i64) -> &'static str {
    match c {
        0 => "UNDEFINED",
        1 => "FLOAT",
        2 => "INT32",
        3 => "BYTE",
        4 => "STRING",
        5 => "BOOL",
        6 => "UINT8",
        7 => "INT8",
        8 => "UINT16",
        9 => "INT16",
        10 => "INT64",
        12 => "FLOAT16",
        13 => "DOUBLE",
        14 => "ZERO_COLLISION_HASH",
        15 => "REBATCHING_BUFFER",
        _ => "unknown",
    }
}

#[derive(Clone, PartialEq, Message)]
struct PTensorProto {
    #[prost(int64, repeated, packed = "false", tag = "1")]
    dims: Vec<i64>,
    #[prost(int32, optional, tag = "2")]
    data_type: Option<i32>,
    #[prost(float, repeated, packed = "true", tag = "3")]
    float_data: Vec<f32>,
    #[prost(int32, repeated, packed = "true", tag = "4")]
    int32_data: Vec<i32>,
    #[prost(bytes = "vec", optional, tag = "5")]
    byte_data: Option<Vec<u8>>,
    #[prost(bytes = "vec", repeated, tag = "6")]
    string_data: Vec<Vec<u8>>,
    #[prost(string, optional, tag = "7")]
    name: Option<String>,
    /// `DeviceOption device_detail = 8`, opaque and ignored.
    #[prost(bytes = "vec", optional, tag = "8")]
    device_detail: Option<Vec<u8>>,
    #[prost(double, repeated, packed = "true", tag = "9")]
    double_data: Vec<f64>,
    #[prost(int64, repeated, packed = "true", tag = "10")]
    int64_data: Vec<i64>,
    /// `Segment segment = 11`, opaque: only its presence is read (and refused).
    #[prost(bytes = "vec", optional, tag = "11")]
    segment: Option<Vec<u8>>,
    #[prost(bytes = "vec", optional, tag = "13")]
    raw_data: Option<Vec<u8>>,
    #[prost(uint32, optional, tag = "15")]
    data_format: Option<u32>,
}

#[derive(Clone, PartialEq, Message)]
struct PTensorProtos {
    #[prost(message, repeated, tag = "1")]
    protos: Vec<PTensorProto>,
}

fn error(kind: OpErrorKind, detail: String) -> Error {
    Error::Operator {
        op_type: String::new(),
        kind,
        detail,
    }
}

/// The data fields of a `TensorProto`, for choosing the one that holds the elements.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Field {
    Float,
    Int32,
    Byte,
    String,
    Double,
    Int64,
    Raw,
}

impl Field {
    const fn name(self) -> &'static str {
        match self {
            Field::Float => "float_data",
            Field::Int32 => "int32_data",
            Field::Byte => "byte_data",
            Field::String => "string_data",
            Field::Double => "double_data",
            Field::Int64 => "int64_data",
            Field::Raw => "raw_data",
        }
    }
}

/// The elements `data` holds as little-endian `N`-byte groups, refused unless there
/// are exactly `n` of them.
fn le_chunks<'a, const N: usize>(
    data: &'a [u8],
    n: usize,
    field: Field,
    what: &str,
) -> Result<impl Iterator<Item = [u8; N]> + 'a, Error> {
    if n.checked_mul(N) != Some(data.len()) {
        return Err(error(
            OpErrorKind::ShapeMismatch,
            format!(
                "{what}: {} holds {} bytes, but the dims need {n} elements of {N} bytes",
                field.name(),
                data.len()
            ),
        ));
    }
    Ok(data.chunks_exact(N).map(|c| {
        let mut a = [0u8; N];
        a.copy_from_slice(c);
        a
    }))
}

fn count_check(len: usize, n: usize, field: Field, what: &str) -> Result<(), Error> {
    if len != n {
        return Err(error(
            OpErrorKind::ShapeMismatch,
            format!(
                "{what}: {} holds {len} elements, but the dims need {n}",
                field.name()
            ),
        ));
    }
    Ok(())
}

/// `int32_data` values as `T`, each checked to lie in `T`'s range.
fn narrow<T: TryFrom<i32>>(v: &[i32], ty: &str, what: &str) -> Result<Vec<T>, Error> {
    v.iter()
        .enumerate()
        .map(|(i, &x)| {
            T::try_from(x).map_err(|_| {
                error(
                    OpErrorKind::Decode,
                    format!("{what}: int32_data[{i}] = {x} is outside the range of {ty}"),
                )
            })
        })
        .collect()
}

fn tensor_from_proto(p: PTensorProto, index: usize) -> Result<(String, Tensor), Error> {
    let name = p.name.unwrap_or_default();
    let what = if name.is_empty() {
        format!("TensorProto #{index}")
    } else {
        format!("TensorProto #{index} `{name}`")
    };
    if let Some(f) = p.data_format
        && f != 0
    {
        return Err(error(
            OpErrorKind::Unsupported,
            format!(
                "{what}: data_format {f} is not read (only 0, FMT_PROTOBUF; 1 is \
                 FMT_BFLOAT16)"
            ),
        ));
    }
    if p.segment.is_some() {
        return Err(error(
            OpErrorKind::Unsupported,
            format!(
                "{what}: has a segment (a chunk of a larger tensor); only whole tensors are read"
            ),
        ));
    }
    let mut dims = Vec::new();
    for (i, &d) in p.dims.iter().enumerate() {
        if d < 0 {
            return Err(error(
                OpErrorKind::Decode,
                format!("{what}: dims[{i}] = {d} is negative"),
            ));
        }
        dims.push(usize::try_from(d).map_err(|_| {
            error(
                OpErrorKind::Overflow,
                format!("{what}: dims[{i}] = {d} does not fit in usize"),
            )
        })?);
    }
    let n = numel(&dims).map_err(|_| {
        error(
            OpErrorKind::Overflow,
            format!("{what}: the element count of dims {dims:?} overflows usize"),
        )
    })?;
    let c = p.data_type.unwrap_or(code::FLOAT);
    let dtype = match c {
        code::FLOAT => DataType::F32,
        code::DOUBLE => DataType::F64,
        code::FLOAT16 => DataType::F16,
        code::UINT8 | code::BYTE => DataType::U8,
        code::INT32 => DataType::I32,
        other => {
            return Err(error(
                OpErrorKind::Unsupported,
                format!(
                    "{what}: data type {other} ({}) is not supported (FLOAT, DOUBLE, \
                     FLOAT16, UINT8, BYTE and INT32 are)",
                    type_name(other.into())
                ),
            ));
        }
    };
    let byte_data = p.byte_data.unwrap_or_default();
    let raw_data = p.raw_data.unwrap_or_default();
    let present: Vec<Field> = [
        (Field::Float, p.float_data.is_empty()),
        (Field::Int32, p.int32_data.is_empty()),
        (Field::Byte, byte_data.is_empty()),
        (Field::String, p.string_data.is_empty()),
        (Field::Double, p.double_data.is_empty()),
        (Field::Int64, p.int64_data.is_empty()),
        (Field::Raw, raw_data.is_empty()),
    ]
    .into_iter()
    .filter_map(|(f, empty)| (!empty).then_some(f))
    .collect();
    let allowed: &[Field] = match dtype {
        DataType::F32 => &[Field::Float, Field::Raw],
        DataType::F64 => &[Field::Double, Field::Raw],
        DataType::F16 => &[Field::Int32, Field::Byte, Field::Raw],
        DataType::U8 => &[Field::Byte, Field::Int32, Field::Raw],
        _ => &[Field::Int32, Field::Raw],
    };
    let ty = type_name(c.into());
    let field = match present[..] {
        [] => None,
        [f] if allowed.contains(&f) => Some(f),
        [f] => {
            let names: Vec<&str> = allowed.iter().map(|f| f.name()).collect();
            return Err(error(
                OpErrorKind::Decode,
                format!(
                    "{what}: a {ty} tensor holds its data in {}, not {}",
                    names.join(" or "),
                    f.name()
                ),
            ));
        }
        _ => {
            let names: Vec<&str> = present.iter().map(|f| f.name()).collect();
            return Err(error(
                OpErrorKind::Decode,
                format!(
                    "{what}: data in more than one field ({}); a tensor's data is in one",
                    names.join(", ")
                ),
            ));
        }
    };
    let data = match (dtype, field) {
        (_, None) => {
            if n != 0 {
                return Err(error(
                    OpErrorKind::ShapeMismatch,
                    format!("{what}: no data, but the dims {dims:?} need {n} elements"),
                ));
            }
            match dtype {
                DataType::F32 => TensorData::F32(Vec::new()),
                DataType::F64 => TensorData::F64(Vec::new()),
                DataType::F16 => TensorData::F16(Vec::new()),
                DataType::U8 => TensorData::U8(Vec::new()),
                _ => TensorData::I32(Vec::new()),
            }
        }
        (DataType::F32, Some(Field::Float)) => {
            count_check(p.float_data.len(), n, Field::Float, &what)?;
            TensorData::F32(p.float_data)
        }
        (DataType::F64, Some(Field::Double)) => {
            count_check(p.double_data.len(), n, Field::Double, &what)?;
            TensorData::F64(p.double_data)
        }
        (DataType::F16, Some(Field::Int32)) => {
            count_check(p.int32_data.len(), n, Field::Int32, &what)?;
            let bits: Vec<u16> = narrow(&p.int32_data, "a 16-bit pattern", &what)?;
            TensorData::F16(bits.into_iter().map(f16::from_bits).collect())
        }
        (DataType::U8, Some(Field::Int32)) => {
            count_check(p.int32_data.len(), n, Field::Int32, &what)?;
            TensorData::U8(narrow(&p.int32_data, "UINT8", &what)?)
        }
        (DataType::I32, Some(Field::Int32)) => {
            count_check(p.int32_data.len(), n, Field::Int32, &what)?;
            TensorData::I32(p.int32_data)
        }
        (DataType::U8, Some(f)) => {
            let bytes = if f == Field::Byte {
                byte_data
            } else {
                raw_data
            };
            count_check(bytes.len(), n, f, &what)?;
            TensorData::U8(bytes)
        }
        (DataType::F16, Some(f)) => {
            let bytes = if f == Field::Byte {
                &byte_data
            } else {
                &raw_data
            };
            let it = le_chunks::<2>(bytes, n, f, &what)?;
            TensorData::F16(it.map(|b| f16::from_bits(u16::from_le_bytes(b))).collect())
        }
        (DataType::F32, Some(f)) => {
            let it = le_chunks::<4>(&raw_data, n, f, &what)?;
            TensorData::F32(it.map(f32::from_le_bytes).collect())
        }
        (DataType::F64, Some(f)) => {
            let it = le_chunks::<8>(&raw_data, n, f, &what)?;
            TensorData::F64(it.map(f64::from_le_bytes).collect())
        }
        (_, Some(f)) => {
            let it = le_chunks::<4>(&raw_data, n, f, &what)?;
            TensorData::I32(it.map(i32::from_le_bytes).collect())
        }
    };
    let quant = matches!(data, TensorData::U8(_)).then_some(QuantParams {
        scale: 1.0,
        zero_point: 0,
    });
    Ok((name, Tensor::from_parts(dims, data, quant)))
}

fn tensor_to_proto(name: &str, t: &Tensor) -> Result<PTensorProto, Error> {
    let what = format!("tensor `{name}`");
    let dims = t
        .dims()
        .iter()
        .map(|&d| {
            i64::try_from(d).map_err(|_| {
                error(
                    OpErrorKind::Overflow,
                    format!("{what}: dim {d} does not fit in int64"),
                )
            })
        })
        .collect::<Result<Vec<i64>, Error>>()?;
    let mut p = PTensorProto {
        dims,
        name: (!name.is_empty()).then(|| name.to_string()),
        ..PTensorProto::default()
    };
    match t.data() {
        TensorData::F32(v) => {
            p.data_type = Some(code::FLOAT);
            p.float_data = v.clone();
        }
        TensorData::F64(v) => {
            p.data_type = Some(code::DOUBLE);
            p.double_data = v.clone();
        }
        TensorData::F16(v) => {
            p.data_type = Some(code::FLOAT16);
            p.int32_data = v.iter().map(|x| i32::from(x.to_bits())).collect();
        }
        TensorData::U8(v) => {
            p.data_type = Some(code::UINT8);
            p.byte_data = Some(v.clone());
        }
        TensorData::I32(v) => {
            p.data_type = Some(code::INT32);
            p.int32_data = v.clone();
        }
        TensorData::Bf16(_) => {
            return Err(error(
                OpErrorKind::Unsupported,
                format!("{what}: bf16 has no TensorProto data type"),
            ));
        }
    }
    Ok(p)
}

/// Protobuf messages are limited to 2 GiB (the C++ runtime refuses larger ones).
fn size_check(kind: OpErrorKind, what: &str, len: usize) -> Result<(), Error> {
    if len > i32::MAX as usize {
        return Err(error(
            kind,
            format!("{what}: {len} bytes exceed the protobuf message limit of 2 GiB"),
        ));
    }
    Ok(())
}

impl Tensor {
    /// Reads one encoded `TensorProto`: its name (empty when absent) and the tensor.
    /// See the module notes for what is read and refused.
    pub fn from_proto_bytes(bytes: &[u8]) -> Result<(String, Tensor), Error> {
        size_check(OpErrorKind::Decode, "TensorProto", bytes.len())?;
        let p = PTensorProto::decode(bytes)
            .map_err(|e| error(OpErrorKind::Decode, format!("malformed TensorProto: {e}")))?;
        tensor_from_proto(p, 0)
    }

    /// Writes the tensor as one `TensorProto` named `name` (no name field when empty),
    /// with Caffe2's conventions; a quantized tensor's scale and zero point are not
    /// written. Refused for `bf16` and for messages over 2 GiB.
    pub fn to_proto_bytes(&self, name: &str) -> Result<Vec<u8>, Error> {
        let p = tensor_to_proto(name, self)?;
        size_check(
            OpErrorKind::Overflow,
            &format!("tensor `{name}`"),
            p.encoded_len(),
        )?;
        Ok(p.encode_to_vec())
    }
}

/// The contents of a `TensorProtos` message (a file of named tensors, Caffe2's format
/// for a model's inputs and outputs): the tensors in file order, each with its name.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TensorProtos {
    /// `(name, tensor)` pairs in order; names need not be unique.
    pub tensors: Vec<(String, Tensor)>,
}

impl TensorProtos {
    /// Reads an encoded `TensorProtos` message. The first tensor refused refuses the
    /// whole message; the error names its index and name.
    pub fn from_bytes(bytes: &[u8]) -> Result<TensorProtos, Error> {
        size_check(OpErrorKind::Decode, "TensorProtos", bytes.len())?;
        let p = PTensorProtos::decode(bytes)
            .map_err(|e| error(OpErrorKind::Decode, format!("malformed TensorProtos: {e}")))?;
        let tensors = p
            .protos
            .into_iter()
            .enumerate()
            .map(|(i, t)| tensor_from_proto(t, i))
            .collect::<Result<_, _>>()?;
        Ok(TensorProtos { tensors })
    }

    /// Writes the tensors as one `TensorProtos` message (see
    /// [`Tensor::to_proto_bytes`] for each tensor's encoding).
    pub fn to_bytes(&self) -> Result<Vec<u8>, Error> {
        let protos = self
            .tensors
            .iter()
            .map(|(n, t)| tensor_to_proto(n, t))
            .collect::<Result<Vec<_>, _>>()?;
        let p = PTensorProtos { protos };
        size_check(OpErrorKind::Overflow, "TensorProtos", p.encoded_len())?;
        Ok(p.encode_to_vec())
    }
}
