//! Operator schemas (Caffe2's `OpSchema`) and the registry of the operators: the nine
//! of the ReLU family and the five fill operators of init nets.

use std::fmt;

use super::def::{ArgValue, OperatorDef};
use super::fill::{self, FillKind, FillSpec};
use super::tensor::{DataType, TensorShape};
use crate::activation::{Activation, Op};
use crate::error::{Error, OpErrorKind};
use crate::prelu::{Order, shape_of};
use crate::quantized::{Int8LeakyRelu, QuantParams};
use caffe2op_relu_kernels::ops::Rule;

/// The type of a schema argument.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ArgType {
    /// A float (Caffe2 field `f`). An int is refused, as in Caffe2: write `6.0`.
    Float,
    /// An integer (Caffe2 field `i`).
    Int,
    /// A list of floats (Caffe2 field `floats`).
    Floats,
    /// A list of integers (Caffe2 field `ints`).
    Ints,
    /// A byte string (Caffe2 field `s`).
    Bytes,
}

impl fmt::Display for ArgType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ArgType::Float => "float",
            ArgType::Int => "int",
            ArgType::Floats => "floats",
            ArgType::Ints => "ints",
            ArgType::Bytes => "string",
        })
    }
}

/// One argument of a schema: name, type, default and doc string.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ArgSchema {
    /// The argument's name.
    pub name: &'static str,
    /// Its type.
    pub ty: ArgType,
    /// The default used when the argument is absent, as text.
    pub default: &'static str,
    /// What it means.
    pub doc: &'static str,
}

/// One input or output of a schema: its conventional name and doc string.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IoSchema {
    /// The conventional blob name (`"X"`, `"dY"`, ...).
    pub name: &'static str,
    /// What it holds.
    pub doc: &'static str,
}

/// The cost of running an operator once (Caffe2's `OpSchema::Cost`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Cost {
    /// Floating-point (or integer) operations.
    pub flops: u64,
    /// Bytes read from the inputs.
    pub bytes_read: u64,
    /// Bytes written to the outputs.
    pub bytes_written: u64,
    /// Bytes of parameters (always 0 here).
    pub params_bytes: u64,
}

/// What an operator computes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Family {
    Forward(Op),
    Gradient(Op),
    Int8Relu,
    Int8LeakyRelu,
    Fill(FillKind),
    /// PRelu (inputs X, Slope).
    PRelu,
    /// PReluGradient (inputs Y, dY, X, W; outputs dX, dW).
    PReluGradient,
}

/// An operator's schema: counts, names, in-place pairs, arguments, docs, tensor and
/// cost inference.
#[derive(Debug)]
pub struct OpSchema {
    name: &'static str,
    doc: &'static str,
    family: Family,
    inputs: &'static [IoSchema],
    outputs: &'static [IoSchema],
    in_place: &'static [(usize, usize)],
    args: &'static [ArgSchema],
    /// flops per element.
    flops_per_elem: u64,
    cost_formula: &'static str,
}

/// The parsed, validated arguments of a definition.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Params {
    Act(Activation),
    Int8 {
        scale: Option<f32>,
        zero_point: Option<u8>,
    },
    /// Int8LeakyRelu's arguments (the input's quantization comes with the tensor).
    Int8Leaky {
        alpha: f32,
        y: QuantParams,
    },
    Fill(FillSpec),
    Prelu(Order),
}

pub(crate) fn op_error(op_type: &str, kind: OpErrorKind, detail: String) -> Error {
    Error::Operator {
        op_type: op_type.to_string(),
        kind,
        detail,
    }
}

const X: IoSchema = IoSchema {
    name: "X",
    doc: "input tensor",
};
const Y: IoSchema = IoSchema {
    name: "Y",
    doc: "output tensor, same type and shape as X",
};
const GY: IoSchema = IoSchema {
    name: "Y",
    doc: "the forward operator's output",
};
const DY: IoSchema = IoSchema {
    name: "dY",
    doc: "gradient of the loss w.r.t. Y (same type and shape as Y)",
};
const DX: IoSchema = IoSchema {
    name: "dX",
    doc: "gradient of the loss w.r.t. X (same type and shape as dY)",
};
const QX: IoSchema = IoSchema {
    name: "X",
    doc: "quantized u8 input tensor",
};
const QY: IoSchema = IoSchema {
    name: "Y",
    doc: "quantized u8 output, same shape, scale and zero point as X",
};
const QY_REQUANTIZED: IoSchema = IoSchema {
    name: "Y",
    doc: "quantized u8 output, same shape as X, with scale `Y_scale` and zero point \
          `Y_zero_point`",
};

const FILLED: IoSchema = IoSchema {
    name: "Y",
    doc: "the filled tensor",
};

const ARG_SHAPE: ArgSchema = ArgSchema {
    name: "shape",
    ty: ArgType::Ints,
    default: "[] (a scalar)",
    doc: "the output's dims, each >= 0 (a single int n means [n])",
};
const ARG_FLOAT_VALUES: ArgSchema = ArgSchema {
    name: "values",
    ty: ArgType::Floats,
    default: "[]",
    doc: "the elements, row-major",
};
const FILL_COST: &str = "flops 0, bytes_read 0, bytes_written N*s, params_bytes 0 (N from `shape`)";

const SLOPE: IoSchema = IoSchema {
    name: "Slope",
    doc: "the slopes: one per channel, or one shared by every channel (X's type)",
};
const PY: IoSchema = IoSchema {
    name: "Y",
    doc: "the forward operator's output (not read; must not be X)",
};
const PX: IoSchema = IoSchema {
    name: "X",
    doc: "the forward operator's input",
};
const PW: IoSchema = IoSchema {
    name: "W",
    doc: "the forward operator's slopes",
};
const PDX: IoSchema = IoSchema {
    name: "dX",
    doc: "gradient of the loss w.r.t. X (X's type and shape)",
};
const PDW: IoSchema = IoSchema {
    name: "dW",
    doc: "gradient of the loss w.r.t. W (W's type and shape), in a fixed summation order",
};
const ARG_ORDER: ArgSchema = ArgSchema {
    name: "order",
    ty: ArgType::Bytes,
    default: "NCHW",
    doc: "where the channel dimension is: NCHW (dims[1]) or NHWC (the last)",
};

const ARG_N: ArgSchema = ArgSchema {
    name: "n",
    ty: ArgType::Float,
    default: "6.0",
    doc: "the clipping value: > 0 and not NaN (+inf makes ReluN a Relu)",
};
const ARG_ALPHA: ArgSchema = ArgSchema {
    name: "alpha",
    ty: ArgType::Float,
    default: "0.01",
    doc: "the slope for x < 0: finite and >= 0",
};
const ARG_MIN: ArgSchema = ArgSchema {
    name: "min",
    ty: ArgType::Float,
    default: "the element type's lowest finite value",
    doc: "the lower bound: not NaN, <= max (-inf allowed)",
};
const ARG_MAX: ArgSchema = ArgSchema {
    name: "max",
    ty: ArgType::Float,
    default: "the element type's highest finite value",
    doc: "the upper bound: not NaN, >= min (+inf allowed)",
};
const ARG_Y_SCALE: ArgSchema = ArgSchema {
    name: "Y_scale",
    ty: ArgType::Float,
    default: "X's scale",
    doc: "output quantization scale; must equal X's",
};
const ARG_Y_ZERO_POINT: ArgSchema = ArgSchema {
    name: "Y_zero_point",
    ty: ArgType::Int,
    default: "X's zero point",
    doc: "output quantization zero point (0..=255); must equal X's",
};
const ARG_INT8_ALPHA: ArgSchema = ArgSchema {
    name: "alpha",
    ty: ArgType::Float,
    default: "0.01",
    doc: "the slope below the zero point: a normal number in (0, 1) (Caffe2's range)",
};
const ARG_Y_SCALE_OUT: ArgSchema = ArgSchema {
    name: "Y_scale",
    ty: ArgType::Float,
    default: "1.0",
    doc: "output quantization scale: a positive normal number, X's scale / Y_scale in \
          [2^-8, 2^8) (QNNPACK's range)",
};
const ARG_Y_ZERO_POINT_OUT: ArgSchema = ArgSchema {
    name: "Y_zero_point",
    ty: ArgType::Int,
    default: "0",
    doc: "output quantization zero point (0..=255)",
};

static SCHEMAS: [OpSchema; 17] = [
    OpSchema {
        name: "Relu",
        doc: "Y = max(X, 0) elementwise: x < 0 ? +0 : x (NaN and -0.0 pass through \
              unchanged).",
        family: Family::Forward(Op::Relu),
        inputs: &[X],
        outputs: &[Y],
        in_place: &[(0, 0)],
        args: &[],
        flops_per_elem: 0,
        cost_formula: "flops 0, bytes_read N*s, bytes_written N*s, params_bytes 0",
    },
    OpSchema {
        name: "ReluGradient",
        doc: "dX = Y > 0 ? dY : 0, from the forward output Y.",
        family: Family::Gradient(Op::Relu),
        inputs: &[GY, DY],
        outputs: &[DX],
        in_place: &[(1, 0)],
        args: &[],
        flops_per_elem: 1,
        cost_formula: "flops N, bytes_read 2N*s, bytes_written N*s, params_bytes 0",
    },
    OpSchema {
        name: "ReluN",
        doc: "Y = min(max(X, 0), n) elementwise (ReLU6 for n = 6): x < 0 ? +0 : x > n ? n \
              : x.",
        family: Family::Forward(Op::ReluN),
        inputs: &[X],
        outputs: &[Y],
        in_place: &[(0, 0)],
        args: &[ARG_N],
        flops_per_elem: 2,
        cost_formula: "flops 2N, bytes_read N*s, bytes_written N*s, params_bytes 0",
    },
    OpSchema {
        name: "ReluNGradient",
        doc: "dX = 0 < Y < n ? dY : 0, from the forward output Y.",
        family: Family::Gradient(Op::ReluN),
        inputs: &[GY, DY],
        outputs: &[DX],
        in_place: &[(1, 0)],
        args: &[ARG_N],
        flops_per_elem: 2,
        cost_formula: "flops 2N, bytes_read 2N*s, bytes_written N*s, params_bytes 0",
    },
    OpSchema {
        name: "LeakyRelu",
        doc: "Y = X < 0 ? alpha * X : X elementwise.",
        family: Family::Forward(Op::LeakyRelu),
        inputs: &[X],
        outputs: &[Y],
        in_place: &[(0, 0)],
        args: &[ARG_ALPHA],
        flops_per_elem: 2,
        cost_formula: "flops 2N, bytes_read N*s, bytes_written N*s, params_bytes 0",
    },
    OpSchema {
        name: "LeakyReluGradient",
        doc: "dX = Y > 0 ? dY : alpha * dY, from the forward output Y (Caffe2 tests Y >= 0; \
              the two agree for every alpha >= 0 except at Y = 0, where this is the \
              left derivative PyTorch also uses).",
        family: Family::Gradient(Op::LeakyRelu),
        inputs: &[GY, DY],
        outputs: &[DX],
        in_place: &[(1, 0)],
        args: &[ARG_ALPHA],
        flops_per_elem: 2,
        cost_formula: "flops 2N, bytes_read 2N*s, bytes_written N*s, params_bytes 0",
    },
    OpSchema {
        name: "Clip",
        doc: "Y = min(max(X, min), max) elementwise: x < min ? min : x > max ? max : x (NaN \
              passes through unchanged; a zero of either sign passes against a zero bound).",
        family: Family::Forward(Op::Clip),
        inputs: &[X],
        outputs: &[Y],
        in_place: &[(0, 0)],
        args: &[ARG_MIN, ARG_MAX],
        flops_per_elem: 2,
        cost_formula: "flops 2N, bytes_read N*s, bytes_written N*s, params_bytes 0",
    },
    OpSchema {
        name: "ClipGradient",
        doc: "dX = min < Y < max ? dY : 0, from the forward output Y.",
        family: Family::Gradient(Op::Clip),
        inputs: &[GY, DY],
        outputs: &[DX],
        in_place: &[(1, 0)],
        args: &[ARG_MIN, ARG_MAX],
        flops_per_elem: 2,
        cost_formula: "flops 2N, bytes_read 2N*s, bytes_written N*s, params_bytes 0",
    },
    OpSchema {
        name: "Int8Relu",
        doc: "Quantized relu: Y_q = max(X_q, zero_point); the scale and zero point carry \
              over unchanged.",
        family: Family::Int8Relu,
        inputs: &[QX],
        outputs: &[QY],
        in_place: &[(0, 0)],
        args: &[ARG_Y_SCALE, ARG_Y_ZERO_POINT],
        flops_per_elem: 0,
        cost_formula: "flops 0, bytes_read N, bytes_written N, params_bytes 0 (s = 1)",
    },
    OpSchema {
        name: "Int8LeakyRelu",
        doc: "Quantized leaky relu, requantized: Y_q = table[X_q], QNNPACK's 256-entry \
              table (x = X_scale / Y_scale * (i - X_zero_point); x < 0 ? alpha * x : x; \
              clamped to the u8 range, rounded half to even, plus Y_zero_point).",
        family: Family::Int8LeakyRelu,
        inputs: &[QX],
        outputs: &[QY_REQUANTIZED],
        in_place: &[(0, 0)],
        args: &[ARG_INT8_ALPHA, ARG_Y_SCALE_OUT, ARG_Y_ZERO_POINT_OUT],
        flops_per_elem: 0,
        cost_formula: "flops 0 (a table lookup), bytes_read N, bytes_written N, \
                       params_bytes 0 (s = 1)",
    },
    OpSchema {
        name: "GivenTensorFill",
        doc: "Y = the f32 `values`, in the dims `shape` (their count must be the product of \
              the dims). With `dtype` DOUBLE (13) or INT32 (2) it fills as \
              GivenTensorDoubleFill or GivenTensorIntFill. No gradient.",
        family: Family::Fill(FillKind::Given),
        inputs: &[],
        outputs: &[FILLED],
        in_place: &[],
        args: &[
            ARG_SHAPE,
            ARG_FLOAT_VALUES,
            ArgSchema {
                name: "dtype",
                ty: ArgType::Int,
                default: "FLOAT (1)",
                doc: "TensorProto data type: FLOAT (1), DOUBLE (13) or INT32 (2, values \
                      from `ints`)",
            },
        ],
        flops_per_elem: 0,
        cost_formula: FILL_COST,
    },
    OpSchema {
        name: "GivenTensorDoubleFill",
        doc: "Y = the `values` (f32 arguments, widened exactly) as an f64 tensor of dims \
              `shape`. No gradient.",
        family: Family::Fill(FillKind::GivenDouble),
        inputs: &[],
        outputs: &[FILLED],
        in_place: &[],
        args: &[ARG_SHAPE, ARG_FLOAT_VALUES],
        flops_per_elem: 0,
        cost_formula: FILL_COST,
    },
    OpSchema {
        name: "GivenTensorIntFill",
        doc: "Y = the `values` as an i32 tensor of dims `shape`. No gradient.",
        family: Family::Fill(FillKind::GivenInt),
        inputs: &[],
        outputs: &[FILLED],
        in_place: &[],
        args: &[
            ARG_SHAPE,
            ArgSchema {
                name: "values",
                ty: ArgType::Ints,
                default: "[]",
                doc: "the elements, row-major, each within int32",
            },
        ],
        flops_per_elem: 0,
        cost_formula: FILL_COST,
    },
    OpSchema {
        name: "ConstantFill",
        doc: "Y = `value` in every element of dims `shape`, of type `dtype`. The forms \
              that take the shape from an input (`input_as_shape`, `extra_shape`) are \
              refused. No gradient.",
        family: Family::Fill(FillKind::Constant),
        inputs: &[],
        outputs: &[FILLED],
        in_place: &[],
        args: &[
            ARG_SHAPE,
            ArgSchema {
                name: "value",
                ty: ArgType::Float,
                default: "0",
                doc: "the element value: a float for FLOAT and DOUBLE, an int for INT32",
            },
            ArgSchema {
                name: "dtype",
                ty: ArgType::Int,
                default: "the type of `value` (a float: FLOAT; an int: INT64, refused)",
                doc: "TensorProto data type: FLOAT (1), DOUBLE (13) or INT32 (2)",
            },
        ],
        flops_per_elem: 0,
        cost_formula: FILL_COST,
    },
    OpSchema {
        name: "Int8GivenTensorFill",
        doc: "Y = the bytes of the string `values` as a quantized u8 tensor of dims \
              `shape`, with scale `Y_scale` and zero point `Y_zero_point`. No gradient.",
        family: Family::Fill(FillKind::Int8Given),
        inputs: &[],
        outputs: &[FILLED],
        in_place: &[],
        args: &[
            ARG_SHAPE,
            ArgSchema {
                name: "values",
                ty: ArgType::Bytes,
                default: "\"\"",
                doc: "one byte per element, row-major",
            },
            ArgSchema {
                name: "Y_scale",
                ty: ArgType::Float,
                default: "1.0",
                doc: "quantization scale: finite and > 0",
            },
            ArgSchema {
                name: "Y_zero_point",
                ty: ArgType::Int,
                default: "0",
                doc: "quantization zero point, 0..=255",
            },
        ],
        flops_per_elem: 0,
        cost_formula: FILL_COST,
    },
    OpSchema {
        name: "PRelu",
        doc: "Y = X < 0 ? W[c] * X : X elementwise, W[c] the slope of the element's channel \
              (any finite value; NaN and -0.0 pass through unchanged).",
        family: Family::PRelu,
        inputs: &[X, SLOPE],
        outputs: &[Y],
        in_place: &[(0, 0)],
        args: &[ARG_ORDER],
        flops_per_elem: 2,
        cost_formula: "flops 2N, bytes_read (N + C)*s, bytes_written N*s, params_bytes 0 \
                       (C slopes)",
    },
    OpSchema {
        name: "PReluGradient",
        doc: "dX = X > 0 ? dY : W[c] * dY; dW[c] = the sum of X * dY over channel c's \
              positions where X is not > 0, in a fixed order (the same bits on every ISA \
              and thread count). Y is not read; a Y that is X (an in-place PRelu) is \
              refused, as in Caffe2.",
        family: Family::PReluGradient,
        inputs: &[PY, DY, PX, PW],
        outputs: &[PDX, PDW],
        in_place: &[],
        args: &[ARG_ORDER],
        flops_per_elem: 4,
        cost_formula: "flops 4N, bytes_read (2N + C)*s, bytes_written (N + C)*s, \
                       params_bytes 0 (Y is not read)",
    },
];

/// The schema registered under `op_type`, if any.
pub fn schema(op_type: &str) -> Option<&'static OpSchema> {
    SCHEMAS.iter().find(|s| s.name == op_type)
}

/// Every registered schema, in the order of SPEC §6 (Relu, ReluGradient, ReluN,
/// ReluNGradient, LeakyRelu, LeakyReluGradient), then Clip, ClipGradient, Int8Relu,
/// Int8LeakyRelu, the fill operators GivenTensorFill, GivenTensorDoubleFill,
/// GivenTensorIntFill, ConstantFill and Int8GivenTensorFill, then PRelu and
/// PReluGradient.
pub fn registered_ops() -> &'static [OpSchema] {
    &SCHEMAS
}

/// The schema of `op_type`, or an [`OpErrorKind::UnknownOp`] error naming it.
pub(crate) fn lookup(op_type: &str) -> Result<&'static OpSchema, Error> {
    schema(op_type).ok_or_else(|| {
        let known: Vec<&str> = SCHEMAS.iter().map(|s| s.name).collect();
        op_error(
            op_type,
            OpErrorKind::UnknownOp,
            format!(
                "no operator type `{op_type}` is registered (registered: {})",
                known.join(", ")
            ),
        )
    })
}

fn float_arg(def: &OperatorDef, schema: &OpSchema, name: &str) -> Result<Option<f32>, Error> {
    match def.get_arg(name) {
        None => Ok(None),
        Some(ArgValue::Float(v)) => Ok(Some(*v)),
        Some(other) => Err(op_error(
            schema.name,
            OpErrorKind::ArgumentType,
            format!(
                "argument `{name}` must be a float (Caffe2 field `f`), got {} {other} (field \
                 `{}`)",
                other.kind(),
                other.field()
            ),
        )),
    }
}

fn int_arg(def: &OperatorDef, schema: &OpSchema, name: &str) -> Result<Option<i64>, Error> {
    match def.get_arg(name) {
        None => Ok(None),
        Some(ArgValue::Int(v)) => Ok(Some(*v)),
        Some(other) => Err(op_error(
            schema.name,
            OpErrorKind::ArgumentType,
            format!(
                "argument `{name}` must be an int (Caffe2 field `i`), got {} {other} (field \
                 `{}`)",
                other.kind(),
                other.field()
            ),
        )),
    }
}

impl OpSchema {
    /// The operator type (`"Relu"`, ...).
    pub fn name(&self) -> &'static str {
        self.name
    }

    /// The doc string.
    pub fn doc(&self) -> &'static str {
        self.doc
    }

    /// The number of inputs (exact).
    pub fn num_inputs(&self) -> usize {
        self.inputs.len()
    }

    /// The number of outputs (exact).
    pub fn num_outputs(&self) -> usize {
        self.outputs.len()
    }

    /// The inputs, in order.
    pub fn inputs(&self) -> &'static [IoSchema] {
        self.inputs
    }

    /// The outputs, in order.
    pub fn outputs(&self) -> &'static [IoSchema] {
        self.outputs
    }

    /// The allowed in-place pairs `(input index, output index)`, Caffe2's
    /// `AllowInPlace({{i, o}})`.
    pub fn in_place_pairs(&self) -> &'static [(usize, usize)] {
        self.in_place
    }

    /// Whether output `output` may be the same blob as input `input`.
    pub fn allows_in_place(&self, input: usize, output: usize) -> bool {
        self.in_place.contains(&(input, output))
    }

    /// The arguments with their types, defaults and docs.
    pub fn args(&self) -> &'static [ArgSchema] {
        self.args
    }

    /// The cost formula as text (`N` elements of `s` bytes each).
    pub fn cost_formula(&self) -> &'static str {
        self.cost_formula
    }

    /// Whether this is a gradient operator.
    pub fn is_gradient(&self) -> bool {
        matches!(self.family, Family::Gradient(_) | Family::PReluGradient)
    }

    /// The type of the gradient operator of this forward operator (`"ReluGradient"`
    /// for `"Relu"`), or `None` when none is registered (gradients, the quantized
    /// ops).
    pub fn gradient_op(&self) -> Option<&'static str> {
        match self.family {
            Family::Forward(op) => Some(op.def().caffe2.1),
            Family::PRelu => Some("PReluGradient"),
            Family::Gradient(_)
            | Family::Int8Relu
            | Family::Int8LeakyRelu
            | Family::Fill(_)
            | Family::PReluGradient => None,
        }
    }

    /// Whether this is a fill operator (no inputs; the output comes from the
    /// arguments).
    pub fn is_filler(&self) -> bool {
        matches!(self.family, Family::Fill(_))
    }

    pub(crate) fn family(&self) -> Family {
        self.family
    }

    /// Checks a definition against the schema without looking at any tensor: the
    /// operator type, input and output counts, blob names, argument types and values,
    /// and in-place pairs. Unknown arguments are ignored, as in Caffe2.
    pub fn check_def(&self, def: &OperatorDef) -> Result<(), Error> {
        self.parse(def).map(|_| ())
    }

    pub(crate) fn parse(&self, def: &OperatorDef) -> Result<Params, Error> {
        let name = self.name;
        if def.op_type != name {
            return Err(op_error(
                &def.op_type,
                OpErrorKind::UnknownOp,
                format!(
                    "definition of type `{}` checked against schema `{name}`",
                    def.op_type
                ),
            ));
        }
        let names = |v: &[IoSchema]| v.iter().map(|io| io.name).collect::<Vec<_>>().join(", ");
        if self.is_filler() && !def.inputs.is_empty() {
            return Err(op_error(
                name,
                OpErrorKind::Unsupported,
                format!(
                    "the form with an input (the shape taken from {:?}) is not implemented; \
                     give the dims in the `shape` argument",
                    def.inputs
                ),
            ));
        }
        if def.inputs.len() != self.num_inputs() {
            return Err(op_error(
                name,
                OpErrorKind::InputCount,
                format!(
                    "takes {} input(s) ({}), got {}: {:?}",
                    self.num_inputs(),
                    names(self.inputs),
                    def.inputs.len(),
                    def.inputs
                ),
            ));
        }
        if def.outputs.len() != self.num_outputs() {
            return Err(op_error(
                name,
                OpErrorKind::OutputCount,
                format!(
                    "takes {} output(s) ({}), got {}: {:?}",
                    self.num_outputs(),
                    names(self.outputs),
                    def.outputs.len(),
                    def.outputs
                ),
            ));
        }
        for (role, list, ios) in [
            ("input", &def.inputs, self.inputs),
            ("output", &def.outputs, self.outputs),
        ] {
            if let Some(i) = list.iter().position(|b| b.is_empty()) {
                return Err(op_error(
                    name,
                    OpErrorKind::MissingBlob,
                    format!("{role} {i} ({}) has an empty blob name", ios[i].name),
                ));
            }
        }
        for (o, out) in def.outputs.iter().enumerate() {
            for (i, inp) in def.inputs.iter().enumerate() {
                if out == inp && !self.allows_in_place(i, o) {
                    let pairs: Vec<String> = self
                        .in_place
                        .iter()
                        .map(|(a, b)| format!("{{{a},{b}}}"))
                        .collect();
                    return Err(op_error(
                        name,
                        OpErrorKind::InPlaceNotAllowed,
                        format!(
                            "output {o} ({}) `{out}` is input {i} ({}); the allowed in-place \
                             pairs {{input,output}} are {}",
                            self.outputs[o].name,
                            self.inputs[i].name,
                            pairs.join(" ")
                        ),
                    ));
                }
            }
        }
        for (k, a) in def.args.iter().enumerate() {
            if def.args[..k].iter().any(|b| b.name == a.name) {
                return Err(op_error(
                    name,
                    OpErrorKind::ArgumentValue,
                    format!("argument `{}` is given more than once", a.name),
                ));
            }
        }
        if self.family == Family::PReluGradient && def.inputs[0] == def.inputs[2] {
            return Err(op_error(
                name,
                OpErrorKind::InPlaceNotAllowed,
                format!(
                    "input 0 (Y) `{}` is input 2 (X): cannot backpropagate through an \
                     in-place PRelu",
                    def.inputs[0]
                ),
            ));
        }
        if self.family == Family::PReluGradient && def.outputs[0] == def.outputs[1] {
            return Err(op_error(
                name,
                OpErrorKind::InPlaceNotAllowed,
                format!("outputs 0 (dX) and 1 (dW) are both `{}`", def.outputs[0]),
            ));
        }
        match self.family {
            Family::PRelu | Family::PReluGradient => {
                let order = match def.get_arg("order") {
                    None => Order::Nchw,
                    Some(ArgValue::Bytes(b)) => std::str::from_utf8(b)
                        .ok()
                        .and_then(|t| t.parse().ok())
                        .ok_or_else(|| {
                            op_error(
                                name,
                                OpErrorKind::ArgumentValue,
                                format!(
                                    "argument `order` = {:?} must be NCHW or NHWC",
                                    String::from_utf8_lossy(b)
                                ),
                            )
                        })?,
                    Some(other) => {
                        return Err(op_error(
                            name,
                            OpErrorKind::ArgumentType,
                            format!(
                                "argument `order` must be a string (Caffe2 field `s`), got {} \
                                 {other} (field `{}`)",
                                other.kind(),
                                other.field()
                            ),
                        ));
                    }
                };
                Ok(Params::Prelu(order))
            }
            // Each of the op's parameters (the registry's) from the argument of its
            // name. Defaults as Caffe2 stores them: an f32 (so an absent argument and
            // the same value written explicitly agree, for every element type), except
            // a bound's, which is the element type's own lowest or highest value.
            Family::Forward(op) | Family::Gradient(op) => {
                let mut values = Vec::with_capacity(op.def().params.len());
                for p in op.def().params {
                    let default = match p.default {
                        Some(d) if p.rule == Rule::Bound => d,
                        Some(d) => f64::from(d as f32),
                        None => f64::NAN,
                    };
                    values.push(float_arg(def, self, p.name)?.map_or(default, f64::from));
                }
                Activation::with_params(op, &values)
                    .map(Params::Act)
                    .map_err(|e| {
                        let arg = match &e {
                            Error::InvalidParameter { name, .. } => format!("`{name}`"),
                            Error::InvalidParameters { names: [a, b], .. } => {
                                format!("`{a}`, `{b}`")
                            }
                            _ => String::new(),
                        };
                        op_error(
                            name,
                            OpErrorKind::ArgumentValue,
                            format!("argument {arg}: {e}"),
                        )
                    })
            }
            Family::Int8Relu => {
                let scale = float_arg(def, self, "Y_scale")?;
                if let Some(s) = scale
                    && !(s.is_finite() && s > 0.0)
                {
                    return Err(op_error(
                        name,
                        OpErrorKind::ArgumentValue,
                        format!("argument `Y_scale` = {s:?} must be finite and > 0"),
                    ));
                }
                let zero_point = match int_arg(def, self, "Y_zero_point")? {
                    None => None,
                    Some(z) => Some(u8::try_from(z).map_err(|_| {
                        op_error(
                            name,
                            OpErrorKind::ArgumentValue,
                            format!("argument `Y_zero_point` = {z} is outside 0..=255"),
                        )
                    })?),
                };
                Ok(Params::Int8 { scale, zero_point })
            }
            Family::Int8LeakyRelu => {
                // Caffe2's defaults and its range for alpha, (0, 1); the rest of
                // QNNPACK's checks need the input's scale and run with the tensor.
                let alpha = float_arg(def, self, "alpha")?.unwrap_or(0.01);
                if !(alpha > 0.0 && alpha < 1.0) {
                    return Err(op_error(
                        name,
                        OpErrorKind::ArgumentValue,
                        format!("argument `alpha` = {alpha:?} must be in (0, 1)"),
                    ));
                }
                let scale = float_arg(def, self, "Y_scale")?.unwrap_or(1.0);
                let zero_point = match int_arg(def, self, "Y_zero_point")? {
                    None => 0,
                    Some(z) => u8::try_from(z).map_err(|_| {
                        op_error(
                            name,
                            OpErrorKind::ArgumentValue,
                            format!("argument `Y_zero_point` = {z} is outside 0..=255"),
                        )
                    })?,
                };
                let y = QuantParams { scale, zero_point };
                // Checked once against a stand-in input scale, so that a bad alpha or
                // Y_scale is refused with the definition, not at the first run.
                Int8LeakyRelu::new(alpha, y, y)
                    .map_err(|e| op_error(name, OpErrorKind::ArgumentValue, format!("{e}")))?;
                Ok(Params::Int8Leaky { alpha, y })
            }
            Family::Fill(kind) => fill::parse(kind, def, name).map(Params::Fill),
        }
    }

    /// A fill operator's input shapes: there are none.
    fn no_inputs(&self, shapes: &[TensorShape]) -> Result<(), Error> {
        if shapes.is_empty() {
            return Ok(());
        }
        Err(op_error(
            self.name,
            OpErrorKind::InputCount,
            format!("takes no input shapes, got {}", shapes.len()),
        ))
    }

    /// Checks the number of input shapes, and that each one's byte size fits.
    fn check_count_and_sizes(&self, shapes: &[TensorShape]) -> Result<(), Error> {
        let name = self.name;
        if shapes.len() != self.num_inputs() {
            return Err(op_error(
                name,
                OpErrorKind::InputCount,
                format!(
                    "takes {} input shape(s), got {}",
                    self.num_inputs(),
                    shapes.len()
                ),
            ));
        }
        for (s, io) in shapes.iter().zip(self.inputs) {
            s.byte_size().map_err(|e| match e {
                Error::Operator { kind, detail, .. } => {
                    op_error(name, kind, format!("input `{}`: {detail}", io.name))
                }
                other => other,
            })?;
        }
        Ok(())
    }

    /// Checks input shapes: count, element types, and (for gradients) that `Y` and `dY`
    /// agree in type and shape. Returns the shape every output takes.
    fn check_shapes(&self, shapes: &[TensorShape]) -> Result<TensorShape, Error> {
        let name = self.name;
        self.check_count_and_sizes(shapes)?;
        for (s, io) in shapes.iter().zip(self.inputs) {
            let ok = match self.family {
                Family::Int8Relu | Family::Int8LeakyRelu => s.dtype == DataType::U8,
                _ => s.dtype.is_float(),
            };
            if !ok {
                let want = match self.family {
                    Family::Int8Relu | Family::Int8LeakyRelu => "quantized u8",
                    _ => "f32, f64, f16 or bf16 (use Int8Relu for quantized u8)",
                };
                return Err(op_error(
                    name,
                    OpErrorKind::TypeMismatch,
                    format!("input `{}` is {}; {name} takes {want}", io.name, s.dtype),
                ));
            }
        }
        if let Family::Gradient(_) = self.family {
            let (y, dy) = (&shapes[0], &shapes[1]);
            if y.dtype != dy.dtype {
                return Err(op_error(
                    name,
                    OpErrorKind::TypeMismatch,
                    format!(
                        "`Y` is {} but `dY` is {}; they must agree",
                        y.dtype, dy.dtype
                    ),
                ));
            }
            if y.dims != dy.dims {
                return Err(op_error(
                    name,
                    OpErrorKind::ShapeMismatch,
                    format!(
                        "`Y` has dims {:?} but `dY` has dims {:?}; they must be identical",
                        y.dims, dy.dims
                    ),
                ));
            }
            Ok(dy.clone())
        } else {
            Ok(shapes[0].clone())
        }
    }

    /// PRelu's and PReluGradient's shape checks: every input a float of one type,
    /// `Y`, `dY` and `X` of one shape, the slope of 1 or `C` values. Returns the
    /// outputs' shapes, `N` and the slope count.
    fn prelu_shapes(
        &self,
        order: Order,
        shapes: &[TensorShape],
    ) -> Result<(Vec<TensorShape>, usize, usize), Error> {
        let name = self.name;
        self.check_count_and_sizes(shapes)?;
        for (s, io) in shapes.iter().zip(self.inputs) {
            if !s.dtype.is_float() || s.dtype != shapes[0].dtype {
                return Err(op_error(
                    name,
                    OpErrorKind::TypeMismatch,
                    format!(
                        "input `{}` is {}; {name} takes f32, f64, f16 or bf16, every input \
                         of one type (input `{}` is {})",
                        io.name, s.dtype, self.inputs[0].name, shapes[0].dtype
                    ),
                ));
            }
        }
        let (x, w) = if self.family == Family::PRelu {
            (&shapes[0], &shapes[1])
        } else {
            for (i, s) in [(0, &shapes[0]), (1, &shapes[1])] {
                if s.dims != shapes[2].dims {
                    return Err(op_error(
                        name,
                        OpErrorKind::ShapeMismatch,
                        format!(
                            "`{}` has dims {:?} but `X` has dims {:?}; they must be identical",
                            self.inputs[i].name, s.dims, shapes[2].dims
                        ),
                    ));
                }
            }
            (&shapes[2], &shapes[3])
        };
        let (n, c) = (x.numel()?, w.numel()?);
        shape_of(order, &x.dims, c, n).map_err(|e| {
            op_error(
                name,
                OpErrorKind::ShapeMismatch,
                format!(
                    "`X` {:?} and `{}` {:?} in order {order}: {e}",
                    x.dims,
                    self.inputs[1 + 2 * usize::from(self.family == Family::PReluGradient)].name,
                    w.dims
                ),
            )
        })?;
        let outs = if self.family == Family::PRelu {
            vec![x.clone()]
        } else {
            vec![x.clone(), w.clone()]
        };
        Ok((outs, n, c))
    }

    /// Tensor inference: the type and shape of each output, given the input shapes.
    /// Forward operators: identical to input 0; gradients: identical to input 1 (`dY`),
    /// after checking that `Y` and `dY` agree; fill operators: `shape` and the
    /// operator's type (no input shapes). The definition is checked too
    /// ([`OpSchema::check_def`]).
    pub fn infer(
        &self,
        def: &OperatorDef,
        shapes: &[TensorShape],
    ) -> Result<Vec<TensorShape>, Error> {
        match self.parse(def)? {
            Params::Fill(spec) => {
                self.no_inputs(shapes)?;
                return Ok(vec![spec.shape()]);
            }
            Params::Prelu(order) => return Ok(self.prelu_shapes(order, shapes)?.0),
            _ => {}
        }
        Ok(vec![self.check_shapes(shapes)?])
    }

    /// Cost inference (SPEC §6), with `N` the element count and `s` the real item size:
    /// every number is computed with checked arithmetic, and a shape whose byte size
    /// would exceed `isize::MAX` is refused with [`OpErrorKind::Overflow`]. The
    /// definition's arguments are not consulted (the cost does not depend on them),
    /// except by the fill operators, whose output is `shape` (checked with the whole
    /// definition): they read nothing, write `N*s` bytes and count no flops; and by
    /// PRelu and PReluGradient, whose `order` decides the channel count.
    pub fn cost(&self, def: &OperatorDef, shapes: &[TensorShape]) -> Result<Cost, Error> {
        if matches!(self.family, Family::PRelu | Family::PReluGradient) {
            return self.prelu_cost(def, shapes);
        }
        let out = if self.is_filler() {
            let out = self.infer(def, shapes)?.remove(0);
            let bytes = u64::try_from(out.byte_size()?).map_err(|_| {
                op_error(
                    self.name,
                    OpErrorKind::Overflow,
                    format!("the cost of dims {:?} overflows u64", out.dims),
                )
            })?;
            return Ok(Cost {
                flops: 0,
                bytes_read: 0,
                bytes_written: bytes,
                params_bytes: 0,
            });
        } else {
            self.check_shapes(shapes)?
        };
        let overflow = || {
            op_error(
                self.name,
                OpErrorKind::Overflow,
                format!("the cost of dims {:?} overflows u64", out.dims),
            )
        };
        let n = u64::try_from(out.numel()?).map_err(|_| overflow())?;
        let bytes = u64::try_from(out.byte_size()?).map_err(|_| overflow())?;
        let inputs = u64::try_from(self.num_inputs()).map_err(|_| overflow())?;
        Ok(Cost {
            flops: n.checked_mul(self.flops_per_elem).ok_or_else(overflow)?,
            bytes_read: bytes.checked_mul(inputs).ok_or_else(overflow)?,
            bytes_written: bytes,
            params_bytes: 0,
        })
    }
}

impl OpSchema {
    /// PRelu's and PReluGradient's cost (`N` elements, `C` slopes, `s` bytes each):
    /// each input byte the operator needs counted once (PReluGradient does not read
    /// `Y`); flops 2N forward (a compare and a product), 4N backward (those for dX,
    /// a product and a sum for dW). The definition's `order` decides the channel
    /// count the slope must match.
    fn prelu_cost(&self, def: &OperatorDef, shapes: &[TensorShape]) -> Result<Cost, Error> {
        let order = match self.parse(def)? {
            Params::Prelu(order) => order,
            _ => Order::Nchw,
        };
        let (outs, n, c) = self.prelu_shapes(order, shapes)?;
        let overflow = || {
            op_error(
                self.name,
                OpErrorKind::Overflow,
                format!("the cost of dims {:?} overflows u64", outs[0].dims),
            )
        };
        let s = outs[0].dtype.item_size() as u64;
        let n = u64::try_from(n).map_err(|_| overflow())?;
        let c = u64::try_from(c).map_err(|_| overflow())?;
        let bytes = |k: u64, extra: u64| {
            n.checked_mul(k)
                .and_then(|v| v.checked_add(extra))
                .and_then(|v| v.checked_mul(s))
                .ok_or_else(overflow)
        };
        let backward = self.family == Family::PReluGradient;
        Ok(Cost {
            flops: n.checked_mul(self.flops_per_elem).ok_or_else(overflow)?,
            bytes_read: bytes(if backward { 2 } else { 1 }, c)?,
            bytes_written: bytes(1, if backward { c } else { 0 })?,
            params_bytes: 0,
        })
    }
}

impl fmt::Display for OpSchema {
    /// The schema as the `caffe2_ops list` example prints it.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names = |v: &[IoSchema]| v.iter().map(|io| io.name).collect::<Vec<_>>().join(", ");
        writeln!(
            f,
            "{}: ({}) -> ({})",
            self.name,
            names(self.inputs),
            names(self.outputs)
        )?;
        writeln!(f, "  {}", self.doc)?;
        let pairs: Vec<String> = self
            .in_place
            .iter()
            .map(|(a, b)| format!("{{{a},{b}}}"))
            .collect();
        if pairs.is_empty() {
            writeln!(f, "  in-place pairs {{input,output}}: none")?;
        } else {
            writeln!(f, "  in-place pairs {{input,output}}: {}", pairs.join(" "))?;
        }
        if self.args.is_empty() {
            writeln!(f, "  arguments: none")?;
        }
        for a in self.args {
            writeln!(
                f,
                "  argument {}: {} (default {}) — {}",
                a.name, a.ty, a.default, a.doc
            )?;
        }
        write!(f, "  cost: {}", self.cost_formula)
    }
}
