//! The crate's single error type.
//!
//! Every refusal names the offending argument and its value. A call that returns an
//! error has written nothing: all checks run before the first store.

use std::fmt;

use crate::isa::Isa;

/// Why a call was refused.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Error {
    /// A slice's length differs from the length of the first input.
    LengthMismatch {
        /// The argument whose length is wrong (`"y"`, `"dy"`, `"dx"`, ...).
        arg: &'static str,
        /// The length of the first input.
        expected: usize,
        /// The length of `arg`.
        found: usize,
    },
    /// An array's shape differs from the shape of the first input (returned by the
    /// entry points of the `ndarray` feature, such as `Kernel::forward_array`).
    ShapeMismatch {
        /// The argument whose shape is wrong (`"y"`, `"dy"`, `"dx"`).
        arg: &'static str,
        /// The shape of the first input (`x`, or `y` for a backward call).
        expected: Vec<usize>,
        /// The shape of `arg`.
        found: Vec<usize>,
    },
    /// An output overlaps an input without being exactly the same range.
    Overlap {
        /// The input argument.
        input: &'static str,
        /// The output argument.
        output: &'static str,
        /// Byte address of the input's start.
        input_addr: usize,
        /// Byte address of the output's start.
        output_addr: usize,
        /// Length in elements of both.
        len: usize,
    },
    /// The requested ISA is not available on this CPU (or this target).
    IsaUnavailable {
        /// The ISA asked for.
        isa: Isa,
    },
    /// A parameter (`n` or `alpha`) is invalid, as given or after rounding to the
    /// element type.
    InvalidParameter {
        /// `"n"` or `"alpha"`.
        name: &'static str,
        /// The value as given (before rounding).
        value: f64,
        /// The element type it was converted to (`"f64"` when checked as given).
        dtype: &'static str,
        /// What rule it breaks.
        reason: &'static str,
    },
    /// Two parameters break a rule between them (Clip's `min <= max`), as given or
    /// once rounded to the element type of a call.
    InvalidParameters {
        /// Their names (`["min", "max"]`).
        names: [&'static str; 2],
        /// Their values as given (before rounding).
        values: [f64; 2],
        /// The element type they were converted to (`"f64"` when checked as given).
        dtype: &'static str,
        /// What rule they break.
        reason: &'static str,
    },
    /// An op was given the wrong number of parameters.
    ParameterCount {
        /// The op's name.
        op: &'static str,
        /// How many it takes.
        expected: usize,
        /// How many it was given.
        found: usize,
    },
    /// A raw pointer is null.
    NullPointer {
        /// The argument.
        arg: &'static str,
    },
    /// A raw pointer is not aligned for its element type.
    Misaligned {
        /// The argument.
        arg: &'static str,
        /// Its address.
        addr: usize,
        /// The alignment required.
        align: usize,
    },
    /// Quantization parameters of an output differ from the input's (Int8Relu carries
    /// scale and zero point over unchanged).
    QuantizationMismatch {
        /// `"scale"` or `"zero_point"`.
        arg: &'static str,
        /// The input's value.
        expected: String,
        /// The value given for the output.
        found: String,
    },
    /// PRelu: the dims do not describe the data (too few dimensions for the layout,
    /// a product that overflows, or an element count other than the data's length).
    InvalidShape {
        /// The argument the dims describe (`"x"`).
        arg: &'static str,
        /// The dims as given.
        dims: Vec<usize>,
        /// What is wrong.
        reason: String,
    },
    /// PRelu: the slope holds neither one value nor one per channel.
    SlopeCount {
        /// The channels of the input (its channel dimension).
        channels: usize,
        /// The slope's length.
        found: usize,
    },
    /// PRelu: a slope value is not finite.
    InvalidSlope {
        /// Its index in the slope.
        index: usize,
        /// Its value (widened to `f64`).
        value: f64,
        /// The element type.
        dtype: &'static str,
    },
    /// Operator layer: a refusal, with the operator type and the reason.
    Operator {
        /// The operator type (e.g. `"ReluN"`), or `""` when not known yet.
        op_type: String,
        /// What kind of refusal.
        kind: OpErrorKind,
        /// Names and values involved, for the message.
        detail: String,
    },
}

/// The kinds of operator-layer refusals (SPEC §5).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum OpErrorKind {
    /// No schema is registered under this type.
    UnknownOp,
    /// Wrong number of inputs.
    InputCount,
    /// Wrong number of outputs.
    OutputCount,
    /// A named blob is not in the workspace.
    MissingBlob,
    /// Element types differ where they must agree.
    TypeMismatch,
    /// Shapes differ where they must agree (or a tensor's data does not fit its dims).
    ShapeMismatch,
    /// An argument has the wrong type.
    ArgumentType,
    /// An argument has an invalid value.
    ArgumentValue,
    /// An output names an input in a pair the schema does not allow in place.
    InPlaceNotAllowed,
    /// Malformed protobuf bytes.
    Decode,
    /// Arithmetic overflow in cost or shape computations.
    Overflow,
    /// Well-formed input this crate does not implement: a `TensorProto` data type,
    /// data format or segment it cannot hold, or an operator form (a fill operator's
    /// shape taken from an input) it does not run.
    Unsupported,
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::LengthMismatch {
                arg,
                expected,
                found,
            } => write!(
                f,
                "length mismatch: `{arg}` has {found} elements, expected {expected}"
            ),
            Error::ShapeMismatch {
                arg,
                expected,
                found,
            } => write!(
                f,
                "shape mismatch: `{arg}` has shape {found:?}, expected {expected:?} (the \
                 shape of the first input)"
            ),
            Error::Overlap {
                input,
                output,
                input_addr,
                output_addr,
                len,
            } => write!(
                f,
                "`{output}` (at {output_addr:#x}) partially overlaps `{input}` (at \
                 {input_addr:#x}), {len} elements each; only identical or disjoint ranges \
                 are allowed"
            ),
            Error::IsaUnavailable { isa } => {
                write!(f, "ISA `{isa}` is not available on this CPU/target")
            }
            Error::InvalidParameter {
                name,
                value,
                dtype,
                reason,
            } => {
                write!(f, "invalid `{name}` = {value:?} (as {dtype}): {reason}")
            }
            Error::InvalidParameters {
                names: [a, b],
                values: [va, vb],
                dtype,
                reason,
            } => write!(
                f,
                "invalid `{a}` = {va:?}, `{b}` = {vb:?} (as {dtype}): {reason}"
            ),
            Error::ParameterCount {
                op,
                expected,
                found,
            } => write!(f, "`{op}` takes {expected} parameter(s), got {found}"),
            Error::NullPointer { arg } => write!(f, "`{arg}` is a null pointer"),
            Error::Misaligned { arg, addr, align } => {
                write!(f, "`{arg}` at {addr:#x} is not aligned to {align} bytes")
            }
            Error::QuantizationMismatch {
                arg,
                expected,
                found,
            } => write!(
                f,
                "quantization mismatch: output `{arg}` is {found}, input has {expected}"
            ),
            Error::InvalidShape { arg, dims, reason } => {
                write!(f, "invalid shape for `{arg}`: dims {dims:?}: {reason}")
            }
            Error::SlopeCount { channels, found } => write!(
                f,
                "`slope` has {found} values; it must hold 1 (shared) or one per channel \
                 ({channels})"
            ),
            Error::InvalidSlope {
                index,
                value,
                dtype,
            } => write!(
                f,
                "invalid `slope[{index}]` = {value:?} (as {dtype}): a slope must be finite"
            ),
            Error::Operator {
                op_type,
                kind,
                detail,
            } => {
                if op_type.is_empty() {
                    write!(f, "{kind:?}: {detail}")
                } else {
                    write!(f, "operator `{op_type}`: {kind:?}: {detail}")
                }
            }
        }
    }
}

impl std::error::Error for Error {}
