//! The fill operators of an init net: their arguments, read and checked once when the
//! operator is created, and the tensor they write.
//!
//! Arguments and defaults as in Caffe2 (`given_tensor_fill_op`, `filler_op`,
//! `int8_given_tensor_fill_op`): `shape` (ints; absent or empty is a scalar, a single
//! int `n` is `[n]`), `values` as the type's argument field (`floats` for
//! `GivenTensorFill` and `GivenTensorDoubleFill`, whose values are `f32` widened to
//! `f64`; `ints` for `GivenTensorIntFill`, each fitting `i32`; the string `values` for
//! `Int8GivenTensorFill`, one byte per element), `ConstantFill`'s `value` (default 0)
//! and `dtype` (a `TensorProto.DataType`; absent, the type of `value`: a float is
//! `FLOAT`, an int `INT64`). Only the forms without an input are run: the shape comes
//! from `shape`, never from an input (`input_as_shape`, `extra_shape`).

use super::def::{ArgValue, OperatorDef};
use super::schema::op_error;
use super::tensor::{DataType, Tensor, TensorShape};
use super::tensor_proto::{code, type_name};
use crate::error::{Error, OpErrorKind};
use crate::quantized::QuantParams;

/// Which fill operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum FillKind {
    Given,
    GivenDouble,
    GivenInt,
    Constant,
    Int8Given,
}

/// The values a fill operator writes.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum FillValues {
    F32(Vec<f32>),
    F64(Vec<f64>),
    I32(Vec<i32>),
    U8(Vec<u8>, QuantParams),
    ConstF32(f32),
    ConstF64(f64),
    ConstI32(i32),
}

/// A checked fill: the output's dims and values (their count checked against the
/// dims, the byte size against `isize::MAX`).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct FillSpec {
    dims: Vec<usize>,
    values: FillValues,
}

impl FillSpec {
    pub(crate) fn dtype(&self) -> DataType {
        match self.values {
            FillValues::F32(_) | FillValues::ConstF32(_) => DataType::F32,
            FillValues::F64(_) | FillValues::ConstF64(_) => DataType::F64,
            FillValues::I32(_) | FillValues::ConstI32(_) => DataType::I32,
            FillValues::U8(..) => DataType::U8,
        }
    }

    pub(crate) fn shape(&self) -> TensorShape {
        TensorShape::new(self.dtype(), self.dims.clone())
    }

    pub(crate) fn quant(&self) -> Option<QuantParams> {
        match self.values {
            FillValues::U8(_, q) => Some(q),
            _ => None,
        }
    }

    /// The output tensor. A constant fill allocates its elements here; an allocation
    /// the system refuses is an [`OpErrorKind::Overflow`] error, not an abort.
    pub(crate) fn build(&self, op: &str) -> Result<Tensor, Error> {
        fn filled<T: Copy>(op: &str, n: usize, v: T) -> Result<Vec<T>, Error> {
            let mut out = Vec::new();
            out.try_reserve_exact(n).map_err(|e| {
                op_error(
                    op,
                    OpErrorKind::Overflow,
                    format!("cannot allocate {n} elements: {e}"),
                )
            })?;
            out.resize(n, v);
            Ok(out)
        }
        let dims = self.dims.clone();
        let n = self.shape().numel()?;
        match &self.values {
            FillValues::F32(v) => Tensor::from_vec(dims, v.clone()),
            FillValues::F64(v) => Tensor::from_vec(dims, v.clone()),
            FillValues::I32(v) => Tensor::from_i32(dims, v.clone()),
            FillValues::U8(v, q) => Tensor::quantized(dims, v.clone(), *q),
            FillValues::ConstF32(x) => Tensor::from_vec(dims, filled(op, n, *x)?),
            FillValues::ConstF64(x) => Tensor::from_vec(dims, filled(op, n, *x)?),
            FillValues::ConstI32(x) => Tensor::from_i32(dims, filled(op, n, *x)?),
        }
    }
}

fn wrong_type(op: &str, name: &str, want: &str, got: &ArgValue) -> Error {
    op_error(
        op,
        OpErrorKind::ArgumentType,
        format!(
            "argument `{name}` must be {want}, got {} {got} (field `{}`)",
            got.kind(),
            got.field()
        ),
    )
}

fn shape_arg(def: &OperatorDef, op: &str) -> Result<Vec<usize>, Error> {
    let raw: Vec<i64> = match def.get_arg("shape") {
        None | Some(ArgValue::Empty) => Vec::new(),
        Some(ArgValue::Ints(v)) => v.clone(),
        Some(ArgValue::Int(v)) => vec![*v],
        Some(other) => return Err(wrong_type(op, "shape", "a list of ints (`ints`)", other)),
    };
    raw.iter()
        .enumerate()
        .map(|(i, &d)| {
            if d < 0 {
                return Err(op_error(
                    op,
                    OpErrorKind::ArgumentValue,
                    format!("argument `shape`: dim {i} = {d} is negative"),
                ));
            }
            usize::try_from(d).map_err(|_| {
                op_error(
                    op,
                    OpErrorKind::Overflow,
                    format!("argument `shape`: dim {i} = {d} does not fit in usize"),
                )
            })
        })
        .collect()
}

fn floats(def: &OperatorDef, op: &str) -> Result<Vec<f32>, Error> {
    match def.get_arg("values") {
        None | Some(ArgValue::Empty) => Ok(Vec::new()),
        Some(ArgValue::Floats(v)) => Ok(v.clone()),
        Some(other) => Err(wrong_type(
            op,
            "values",
            "a list of floats (`floats`)",
            other,
        )),
    }
}

fn ints_i32(def: &OperatorDef, op: &str) -> Result<Vec<i32>, Error> {
    let v = match def.get_arg("values") {
        None | Some(ArgValue::Empty) => return Ok(Vec::new()),
        Some(ArgValue::Ints(v)) => v,
        Some(other) => return Err(wrong_type(op, "values", "a list of ints (`ints`)", other)),
    };
    v.iter()
        .enumerate()
        .map(|(i, &x)| {
            i32::try_from(x).map_err(|_| {
                op_error(
                    op,
                    OpErrorKind::ArgumentValue,
                    format!("argument `values`: value {i} = {x} does not fit in int32"),
                )
            })
        })
        .collect()
}

fn int_arg(def: &OperatorDef, op: &str, name: &str) -> Result<Option<i64>, Error> {
    match def.get_arg(name) {
        None => Ok(None),
        Some(ArgValue::Int(v)) => Ok(Some(*v)),
        Some(other) => Err(wrong_type(op, name, "an int (`i`)", other)),
    }
}

fn float_arg(def: &OperatorDef, op: &str, name: &str) -> Result<Option<f32>, Error> {
    match def.get_arg(name) {
        None => Ok(None),
        Some(ArgValue::Float(v)) => Ok(Some(*v)),
        Some(other) => Err(wrong_type(op, name, "a float (`f`)", other)),
    }
}

fn unsupported_dtype(op: &str, d: i64) -> Error {
    let kind = if type_name(d) == "unknown" {
        OpErrorKind::ArgumentValue
    } else {
        OpErrorKind::Unsupported
    };
    op_error(
        op,
        kind,
        format!(
            "argument `dtype` = {d} ({}): {op} here writes FLOAT (1), DOUBLE (13) or INT32 (2)",
            type_name(d)
        ),
    )
}

/// Reads and checks a fill operator's arguments.
pub(crate) fn parse(kind: FillKind, def: &OperatorDef, op: &str) -> Result<FillSpec, Error> {
    let dims = shape_arg(def, op)?;
    let values = match kind {
        FillKind::Given => match int_arg(def, op, "dtype")? {
            None => FillValues::F32(floats(def, op)?),
            Some(d) if d == i64::from(code::FLOAT) => FillValues::F32(floats(def, op)?),
            Some(d) if d == i64::from(code::DOUBLE) => {
                FillValues::F64(floats(def, op)?.into_iter().map(f64::from).collect())
            }
            Some(d) if d == i64::from(code::INT32) => FillValues::I32(ints_i32(def, op)?),
            Some(d) => return Err(unsupported_dtype(op, d)),
        },
        FillKind::GivenDouble => {
            FillValues::F64(floats(def, op)?.into_iter().map(f64::from).collect())
        }
        FillKind::GivenInt => FillValues::I32(ints_i32(def, op)?),
        FillKind::Constant => constant(def, op)?,
        FillKind::Int8Given => {
            let bytes = match def.get_arg("values") {
                None | Some(ArgValue::Empty) => Vec::new(),
                Some(ArgValue::Bytes(v)) => v.clone(),
                Some(other) => {
                    return Err(wrong_type(op, "values", "a string of bytes (`s`)", other));
                }
            };
            let scale = float_arg(def, op, "Y_scale")?.unwrap_or(1.0);
            if !(scale.is_finite() && scale > 0.0) {
                return Err(op_error(
                    op,
                    OpErrorKind::ArgumentValue,
                    format!("argument `Y_scale` = {scale:?} must be finite and > 0"),
                ));
            }
            let z = int_arg(def, op, "Y_zero_point")?.unwrap_or(0);
            let zero_point = u8::try_from(z).map_err(|_| {
                op_error(
                    op,
                    OpErrorKind::ArgumentValue,
                    format!("argument `Y_zero_point` = {z} is outside 0..=255"),
                )
            })?;
            FillValues::U8(bytes, QuantParams { scale, zero_point })
        }
    };
    let spec = FillSpec { dims, values };
    spec.shape().byte_size().map_err(|e| match e {
        Error::Operator { kind, detail, .. } => {
            op_error(op, kind, format!("argument `shape`: {detail}"))
        }
        other => other,
    })?;
    let n = spec.shape().numel()?;
    let given = match &spec.values {
        FillValues::F32(v) => Some(v.len()),
        FillValues::F64(v) => Some(v.len()),
        FillValues::I32(v) => Some(v.len()),
        FillValues::U8(v, _) => Some(v.len()),
        _ => None,
    };
    if let Some(len) = given
        && len != n
    {
        return Err(op_error(
            op,
            OpErrorKind::ShapeMismatch,
            format!(
                "argument `values` holds {len} values, but `shape` {:?} needs {n}",
                spec.dims
            ),
        ));
    }
    Ok(spec)
}

fn constant(def: &OperatorDef, op: &str) -> Result<FillValues, Error> {
    if let Some(v) = int_arg(def, op, "input_as_shape")?
        && v != 0
    {
        return Err(op_error(
            op,
            OpErrorKind::ArgumentValue,
            "argument `input_as_shape` needs an input holding the shape; this ConstantFill \
             takes none"
                .into(),
        ));
    }
    match def.get_arg("extra_shape") {
        None | Some(ArgValue::Empty) => {}
        Some(_) => {
            return Err(op_error(
                op,
                OpErrorKind::ArgumentValue,
                "argument `extra_shape` extends an input's shape; this ConstantFill takes \
                 no input"
                    .into(),
            ));
        }
    }
    let value = def.get_arg("value");
    let dtype = match int_arg(def, op, "dtype")? {
        Some(d) => d,
        None => match value {
            None | Some(ArgValue::Float(_)) => code::FLOAT.into(),
            Some(ArgValue::Int(_)) => 10, // INT64, as Caffe2 infers it
            Some(other) => return Err(wrong_type(op, "value", "a float or an int", other)),
        },
    };
    if dtype == i64::from(code::FLOAT) || dtype == i64::from(code::DOUBLE) {
        let v = match value {
            None => 0.0,
            Some(ArgValue::Float(v)) => *v,
            Some(other) => {
                return Err(wrong_type(
                    op,
                    "value",
                    &format!("a float (`f`) for dtype {}", type_name(dtype)),
                    other,
                ));
            }
        };
        Ok(if dtype == i64::from(code::FLOAT) {
            FillValues::ConstF32(v)
        } else {
            FillValues::ConstF64(f64::from(v))
        })
    } else if dtype == i64::from(code::INT32) {
        let v = match value {
            None => 0,
            Some(ArgValue::Int(v)) => *v,
            Some(other) => {
                return Err(wrong_type(
                    op,
                    "value",
                    "an int (`i`) for dtype INT32",
                    other,
                ));
            }
        };
        let v = i32::try_from(v).map_err(|_| {
            op_error(
                op,
                OpErrorKind::ArgumentValue,
                format!("argument `value` = {v} does not fit in int32"),
            )
        })?;
        Ok(FillValues::ConstI32(v))
    } else {
        Err(unsupported_dtype(op, dtype))
    }
}
