//! Operator and net definitions (Caffe2's `Argument`, `OperatorDef`, `NetDef`).

use std::fmt;

/// The value of a named operator argument: exactly one of the value fields of
/// Caffe2's `Argument` message.
///
/// Caffe2's `s`/`strings` fields are `bytes`, so string values are byte vectors here
/// (`ArgValue::from("text")` builds one). Tensor-valued arguments are kept as their
/// encoded `TensorProto`/`QTensorProto` bytes: this crate does not interpret them,
/// but they survive a protobuf round trip.
#[derive(Debug, Clone, PartialEq)]
pub enum ArgValue {
    /// `f`: one float.
    Float(f32),
    /// `i`: one integer.
    Int(i64),
    /// `s`: one byte string.
    Bytes(Vec<u8>),
    /// `floats`: a list of floats.
    Floats(Vec<f32>),
    /// `ints`: a list of integers.
    Ints(Vec<i64>),
    /// `strings`: a list of byte strings.
    Strings(Vec<Vec<u8>>),
    /// `n`: a nested net.
    Net(Box<NetDef>),
    /// `nets`: a list of nested nets.
    Nets(Vec<NetDef>),
    /// `t`: one tensor, as its encoded `TensorProto` bytes.
    Tensor(Vec<u8>),
    /// `tensors`: tensors, as encoded `TensorProto` bytes.
    Tensors(Vec<Vec<u8>>),
    /// `qtensors`: quantized tensors, as encoded `QTensorProto` bytes.
    QTensors(Vec<Vec<u8>>),
    /// No value field set. On the wire an empty list is indistinguishable from this,
    /// so an empty list of any kind is read back as `Empty`.
    Empty,
}

impl ArgValue {
    /// The Caffe2 field name of the value (`"f"`, `"i"`, `"s"`, `"floats"`, ...), or
    /// `"none"` for [`ArgValue::Empty`].
    pub const fn field(&self) -> &'static str {
        match self {
            ArgValue::Float(_) => "f",
            ArgValue::Int(_) => "i",
            ArgValue::Bytes(_) => "s",
            ArgValue::Floats(_) => "floats",
            ArgValue::Ints(_) => "ints",
            ArgValue::Strings(_) => "strings",
            ArgValue::Net(_) => "n",
            ArgValue::Nets(_) => "nets",
            ArgValue::Tensor(_) => "t",
            ArgValue::Tensors(_) => "tensors",
            ArgValue::QTensors(_) => "qtensors",
            ArgValue::Empty => "none",
        }
    }

    /// A short description of the kind of value (`"float"`, `"int"`, ...).
    pub const fn kind(&self) -> &'static str {
        match self {
            ArgValue::Float(_) => "float",
            ArgValue::Int(_) => "int",
            ArgValue::Bytes(_) => "string",
            ArgValue::Floats(_) => "list of floats",
            ArgValue::Ints(_) => "list of ints",
            ArgValue::Strings(_) => "list of strings",
            ArgValue::Net(_) => "net",
            ArgValue::Nets(_) => "list of nets",
            ArgValue::Tensor(_) => "tensor",
            ArgValue::Tensors(_) => "list of tensors",
            ArgValue::QTensors(_) => "list of quantized tensors",
            ArgValue::Empty => "no value",
        }
    }
}

impl fmt::Display for ArgValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ArgValue::Float(v) => write!(f, "{v:?}"),
            ArgValue::Int(v) => write!(f, "{v}"),
            ArgValue::Bytes(v) => write!(f, "{:?}", String::from_utf8_lossy(v)),
            ArgValue::Floats(v) => write!(f, "{v:?}"),
            ArgValue::Ints(v) => write!(f, "{v:?}"),
            ArgValue::Strings(v) => {
                let s: Vec<_> = v.iter().map(|b| String::from_utf8_lossy(b)).collect();
                write!(f, "{s:?}")
            }
            ArgValue::Net(n) => write!(f, "<net {:?}, {} ops>", n.name, n.ops.len()),
            ArgValue::Nets(n) => write!(f, "<{} nets>", n.len()),
            ArgValue::Tensor(b) => write!(f, "<tensor, {} bytes>", b.len()),
            ArgValue::Tensors(t) => write!(f, "<{} tensors>", t.len()),
            ArgValue::QTensors(t) => write!(f, "<{} quantized tensors>", t.len()),
            ArgValue::Empty => f.write_str("<none>"),
        }
    }
}

/// `6.0` becomes `ArgValue::Float(6.0)`: the wire format stores `f32`, so an `f64`
/// is rounded to nearest once, here.
impl From<f64> for ArgValue {
    fn from(v: f64) -> ArgValue {
        ArgValue::Float(v as f32)
    }
}
impl From<f32> for ArgValue {
    fn from(v: f32) -> ArgValue {
        ArgValue::Float(v)
    }
}
impl From<i64> for ArgValue {
    fn from(v: i64) -> ArgValue {
        ArgValue::Int(v)
    }
}
impl From<i32> for ArgValue {
    fn from(v: i32) -> ArgValue {
        ArgValue::Int(v.into())
    }
}
impl From<&str> for ArgValue {
    fn from(v: &str) -> ArgValue {
        ArgValue::Bytes(v.as_bytes().to_vec())
    }
}
impl From<Vec<f32>> for ArgValue {
    fn from(v: Vec<f32>) -> ArgValue {
        ArgValue::Floats(v)
    }
}
impl From<Vec<i64>> for ArgValue {
    fn from(v: Vec<i64>) -> ArgValue {
        ArgValue::Ints(v)
    }
}
impl From<NetDef> for ArgValue {
    fn from(v: NetDef) -> ArgValue {
        ArgValue::Net(Box::new(v))
    }
}

/// A named argument of an operator or net (Caffe2's `Argument`).
#[derive(Debug, Clone, PartialEq)]
pub struct Argument {
    /// The argument's name (`"n"`, `"alpha"`, ...).
    pub name: String,
    /// Its value.
    pub value: ArgValue,
}

impl Argument {
    /// An argument `name = value`.
    pub fn new(name: impl Into<String>, value: impl Into<ArgValue>) -> Argument {
        Argument {
            name: name.into(),
            value: value.into(),
        }
    }
}

impl fmt::Display for Argument {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}={}", self.name, self.value)
    }
}

/// One operator of a net (Caffe2's `OperatorDef`): its type, the blobs it reads and
/// writes, and its arguments. Every field of the message is kept, so a definition of
/// any operator type survives a protobuf round trip.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct OperatorDef {
    /// The operator type (`"Relu"`, `"ReluNGradient"`, ...): the registry key.
    pub op_type: String,
    /// The operator's name (optional, for messages).
    pub name: String,
    /// Input blob names, in schema order.
    pub inputs: Vec<String>,
    /// Output blob names, in schema order. An output that names an input runs in
    /// place (if the schema allows that pair).
    pub outputs: Vec<String>,
    /// Arguments.
    pub args: Vec<Argument>,
    /// The engine: here, optionally the name of an [`crate::Isa`] (`"avx2"`, ...) to
    /// force; an unknown or unavailable engine falls back to the default dispatch, as
    /// Caffe2 falls back to the default engine.
    pub engine: String,
    /// The encoded `DeviceOption` message, kept opaque (this crate runs on the CPU).
    pub device_option: Option<Vec<u8>>,
    /// Control-dependency inputs (scheduling only; not read).
    pub control_inputs: Vec<String>,
    /// Set on definitions made by a gradient maker.
    pub is_gradient_op: bool,
    /// Free-form debug information.
    pub debug_info: String,
    /// The operator domain (newer caffe2.proto; empty for Caffe2's own ops).
    pub domain: String,
    /// The operator version (newer caffe2.proto; `None` when absent).
    pub op_version: Option<i64>,
}

impl OperatorDef {
    /// A definition of type `op_type` with no inputs, outputs or arguments yet.
    pub fn new(op_type: impl Into<String>) -> OperatorDef {
        OperatorDef {
            op_type: op_type.into(),
            ..OperatorDef::default()
        }
    }

    /// Appends an input blob.
    pub fn input(mut self, blob: impl Into<String>) -> OperatorDef {
        self.inputs.push(blob.into());
        self
    }

    /// Appends an output blob.
    pub fn output(mut self, blob: impl Into<String>) -> OperatorDef {
        self.outputs.push(blob.into());
        self
    }

    /// Sets argument `name` (replacing an argument of the same name).
    pub fn arg(mut self, name: impl Into<String>, value: impl Into<ArgValue>) -> OperatorDef {
        let a = Argument::new(name, value);
        match self.args.iter_mut().find(|b| b.name == a.name) {
            Some(b) => *b = a,
            None => self.args.push(a),
        }
        self
    }

    /// Sets the operator's name.
    pub fn named(mut self, name: impl Into<String>) -> OperatorDef {
        self.name = name.into();
        self
    }

    /// Sets the engine (an ISA name such as `"avx2"` forces that ISA when available).
    pub fn engine(mut self, engine: impl Into<String>) -> OperatorDef {
        self.engine = engine.into();
        self
    }

    /// The first argument called `name`.
    pub fn get_arg(&self, name: &str) -> Option<&ArgValue> {
        self.args.iter().find(|a| a.name == name).map(|a| &a.value)
    }

    /// Reads a definition from Caffe2's protobuf wire format (an `OperatorDef`
    /// message). Malformed bytes are refused with [`crate::OpErrorKind::Decode`].
    pub fn from_bytes(bytes: &[u8]) -> Result<OperatorDef, crate::Error> {
        super::proto::decode_operator(bytes)
    }

    /// Writes the definition in Caffe2's protobuf wire format. Refused only when a
    /// nested net argument is deeper than [`super::MAX_NET_NESTING`] (the reader
    /// would refuse it).
    pub fn to_bytes(&self) -> Result<Vec<u8>, crate::Error> {
        super::proto::encode_operator(self)
    }
}

impl fmt::Display for OperatorDef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}({}) -> ({})",
            self.op_type,
            self.inputs.join(", "),
            self.outputs.join(", ")
        )?;
        if !self.args.is_empty() {
            let a: Vec<String> = self.args.iter().map(|a| a.to_string()).collect();
            write!(f, " [{}]", a.join(", "))?;
        }
        Ok(())
    }
}

/// A net: a name and operators run in order (Caffe2's `NetDef`). Every field of the
/// message is kept for round trips; only `ops` is read when running.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct NetDef {
    /// The net's name.
    pub name: String,
    /// The operators, run in this order.
    pub ops: Vec<OperatorDef>,
    /// The net type (`"simple"`, `"dag"`, ...); every type runs sequentially here.
    pub net_type: String,
    /// Deprecated `num_workers` (kept for round trips).
    pub num_workers: Option<i32>,
    /// The encoded `DeviceOption` message, kept opaque.
    pub device_option: Option<Vec<u8>>,
    /// Net-level arguments.
    pub args: Vec<Argument>,
    /// Blobs the net expects to exist before it runs.
    pub external_inputs: Vec<String>,
    /// Blobs the net produces for its caller.
    pub external_outputs: Vec<String>,
    /// Encoded `PartitionInfo` messages, kept opaque.
    pub partition_info: Vec<Vec<u8>>,
}

impl NetDef {
    /// An empty net called `name`.
    pub fn new(name: impl Into<String>) -> NetDef {
        NetDef {
            name: name.into(),
            ..NetDef::default()
        }
    }

    /// Appends an operator.
    pub fn op(mut self, op: OperatorDef) -> NetDef {
        self.ops.push(op);
        self
    }

    /// Reads a net from Caffe2's protobuf wire format (a `NetDef` message, e.g. a
    /// `predict_net.pb` file). Malformed bytes are refused with
    /// [`crate::OpErrorKind::Decode`]; operators of any type are kept (unknown types
    /// are refused when run, by name).
    pub fn from_bytes(bytes: &[u8]) -> Result<NetDef, crate::Error> {
        super::proto::decode_net(bytes)
    }

    /// Writes the net in Caffe2's protobuf wire format. Refused only when nested net
    /// arguments are deeper than [`super::MAX_NET_NESTING`].
    pub fn to_bytes(&self) -> Result<Vec<u8>, crate::Error> {
        super::proto::encode_net(self)
    }
}

impl fmt::Display for NetDef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "net {:?} ({} ops)", self.name, self.ops.len())?;
        for (i, op) in self.ops.iter().enumerate() {
            writeln!(f, "  #{i}: {op}")?;
        }
        Ok(())
    }
}
