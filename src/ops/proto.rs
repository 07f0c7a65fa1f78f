//! Caffe2's protobuf wire format for `Argument`, `OperatorDef` and `NetDef`.
//!
//! The message structs are written by hand from caffe2.proto's public field numbers
//! (proto2; repeated scalars unpacked, as Caffe2 writes them — packed input is read
//! too). Sub-messages this crate does not interpret (`DeviceOption`, `TensorProto`,
//! `QTensorProto`, `PartitionInfo`) are declared as `bytes` fields: a length-delimited
//! message and a `bytes` field share the wire type, so they are carried through a
//! round trip byte for byte without being parsed. Fields unknown to this schema are
//! skipped on reading (and so not written back).
//!
//! Reading never allocates from an unchecked length prefix: `prost` checks every
//! length against the bytes that remain before reading, and limits message nesting to
//! 100 levels (so a hostile file cannot overflow the stack). Inputs over 2 GiB (the
//! protobuf message limit) are refused. Memory use stays linear in the input size:
//! at worst a few hundred bytes per two-byte empty sub-message, as with any protobuf
//! runtime.

use prost::Message;

use super::def::{ArgValue, Argument, NetDef, OperatorDef};
use crate::error::{Error, OpErrorKind};

/// The deepest nesting of nets inside net-valued arguments that [`NetDef::to_bytes`]
/// writes and [`NetDef::from_bytes`] is guaranteed to read back (each level costs
/// three of the reader's 100 levels of message nesting: net, operator, argument).
pub const MAX_NET_NESTING: usize = 30;

#[derive(Clone, PartialEq, Message)]
pub(crate) struct PArgument {
    #[prost(string, optional, tag = "1")]
    pub name: Option<String>,
    #[prost(float, optional, tag = "2")]
    pub f: Option<f32>,
    #[prost(int64, optional, tag = "3")]
    pub i: Option<i64>,
    #[prost(bytes = "vec", optional, tag = "4")]
    pub s: Option<Vec<u8>>,
    #[prost(float, repeated, packed = "false", tag = "5")]
    pub floats: Vec<f32>,
    #[prost(int64, repeated, packed = "false", tag = "6")]
    pub ints: Vec<i64>,
    #[prost(bytes = "vec", repeated, tag = "7")]
    pub strings: Vec<Vec<u8>>,
    #[prost(message, optional, boxed, tag = "8")]
    pub n: Option<Box<PNetDef>>,
    #[prost(message, repeated, tag = "9")]
    pub nets: Vec<PNetDef>,
    /// `TensorProto t = 10`, opaque.
    #[prost(bytes = "vec", optional, tag = "10")]
    pub t: Option<Vec<u8>>,
    /// `repeated TensorProto tensors = 11`, opaque.
    #[prost(bytes = "vec", repeated, tag = "11")]
    pub tensors: Vec<Vec<u8>>,
    /// `repeated QTensorProto qtensors = 12`, opaque.
    #[prost(bytes = "vec", repeated, tag = "12")]
    pub qtensors: Vec<Vec<u8>>,
}

#[derive(Clone, PartialEq, Message)]
pub(crate) struct POperatorDef {
    #[prost(string, repeated, tag = "1")]
    pub input: Vec<String>,
    #[prost(string, repeated, tag = "2")]
    pub output: Vec<String>,
    #[prost(string, optional, tag = "3")]
    pub name: Option<String>,
    #[prost(string, optional, tag = "4")]
    pub r#type: Option<String>,
    #[prost(message, repeated, tag = "5")]
    pub arg: Vec<PArgument>,
    /// `DeviceOption device_option = 6`, opaque.
    #[prost(bytes = "vec", optional, tag = "6")]
    pub device_option: Option<Vec<u8>>,
    #[prost(string, optional, tag = "7")]
    pub engine: Option<String>,
    #[prost(string, repeated, tag = "8")]
    pub control_input: Vec<String>,
    #[prost(bool, optional, tag = "9")]
    pub is_gradient_op: Option<bool>,
    #[prost(string, optional, tag = "10")]
    pub debug_info: Option<String>,
    #[prost(string, optional, tag = "11")]
    pub domain: Option<String>,
    #[prost(int64, optional, tag = "12")]
    pub op_version: Option<i64>,
}

#[derive(Clone, PartialEq, Message)]
pub(crate) struct PNetDef {
    #[prost(string, optional, tag = "1")]
    pub name: Option<String>,
    #[prost(message, repeated, tag = "2")]
    pub op: Vec<POperatorDef>,
    #[prost(string, optional, tag = "3")]
    pub r#type: Option<String>,
    #[prost(int32, optional, tag = "4")]
    pub num_workers: Option<i32>,
    /// `DeviceOption device_option = 5`, opaque.
    #[prost(bytes = "vec", optional, tag = "5")]
    pub device_option: Option<Vec<u8>>,
    #[prost(message, repeated, tag = "6")]
    pub arg: Vec<PArgument>,
    #[prost(string, repeated, tag = "7")]
    pub external_input: Vec<String>,
    #[prost(string, repeated, tag = "8")]
    pub external_output: Vec<String>,
    /// `repeated PartitionInfo partition_info = 9`, opaque.
    #[prost(bytes = "vec", repeated, tag = "9")]
    pub partition_info: Vec<Vec<u8>>,
}

fn decode_error(what: &str, detail: impl std::fmt::Display) -> Error {
    Error::Operator {
        op_type: String::new(),
        kind: OpErrorKind::Decode,
        detail: format!("malformed {what}: {detail}"),
    }
}

fn non_empty(s: String) -> Option<String> {
    (!s.is_empty()).then_some(s)
}

// ---- reading ----

fn arg_from_proto(p: PArgument, where_: &str) -> Result<Argument, Error> {
    let name = p.name.unwrap_or_default();
    let mut values = Vec::new();
    if let Some(v) = p.f {
        values.push(ArgValue::Float(v));
    }
    if let Some(v) = p.i {
        values.push(ArgValue::Int(v));
    }
    if let Some(v) = p.s {
        values.push(ArgValue::Bytes(v));
    }
    if !p.floats.is_empty() {
        values.push(ArgValue::Floats(p.floats));
    }
    if !p.ints.is_empty() {
        values.push(ArgValue::Ints(p.ints));
    }
    if !p.strings.is_empty() {
        values.push(ArgValue::Strings(p.strings));
    }
    if let Some(n) = p.n {
        values.push(ArgValue::Net(Box::new(net_from_proto(*n)?)));
    }
    if !p.nets.is_empty() {
        let nets = p
            .nets
            .into_iter()
            .map(net_from_proto)
            .collect::<Result<_, _>>()?;
        values.push(ArgValue::Nets(nets));
    }
    if let Some(t) = p.t {
        values.push(ArgValue::Tensor(t));
    }
    if !p.tensors.is_empty() {
        values.push(ArgValue::Tensors(p.tensors));
    }
    if !p.qtensors.is_empty() {
        values.push(ArgValue::QTensors(p.qtensors));
    }
    match values.len() {
        0 => Ok(Argument {
            name,
            value: ArgValue::Empty,
        }),
        1 => Ok(Argument {
            name,
            value: values.remove(0),
        }),
        _ => {
            let fields: Vec<&str> = values.iter().map(ArgValue::field).collect();
            Err(decode_error(
                "Argument",
                format!(
                    "argument `{name}` of {where_} sets {} value fields ({}); an argument \
                     holds exactly one",
                    fields.len(),
                    fields.join(", ")
                ),
            ))
        }
    }
}

fn op_from_proto(p: POperatorDef) -> Result<OperatorDef, Error> {
    let op_type = p.r#type.unwrap_or_default();
    let where_ = format!("operator `{op_type}`");
    let args = p
        .arg
        .into_iter()
        .map(|a| arg_from_proto(a, &where_))
        .collect::<Result<_, _>>()?;
    Ok(OperatorDef {
        op_type,
        name: p.name.unwrap_or_default(),
        inputs: p.input,
        outputs: p.output,
        args,
        engine: p.engine.unwrap_or_default(),
        device_option: p.device_option,
        control_inputs: p.control_input,
        is_gradient_op: p.is_gradient_op.unwrap_or(false),
        debug_info: p.debug_info.unwrap_or_default(),
        domain: p.domain.unwrap_or_default(),
        op_version: p.op_version,
    })
}

fn net_from_proto(p: PNetDef) -> Result<NetDef, Error> {
    let name = p.name.unwrap_or_default();
    let where_ = format!("net `{name}`");
    Ok(NetDef {
        ops: p
            .op
            .into_iter()
            .map(op_from_proto)
            .collect::<Result<_, _>>()?,
        args: p
            .arg
            .into_iter()
            .map(|a| arg_from_proto(a, &where_))
            .collect::<Result<_, _>>()?,
        name,
        net_type: p.r#type.unwrap_or_default(),
        num_workers: p.num_workers,
        device_option: p.device_option,
        external_inputs: p.external_input,
        external_outputs: p.external_output,
        partition_info: p.partition_info,
    })
}

/// Protobuf messages are limited to 2 GiB (the C++ runtime refuses larger ones).
fn check_size(what: &str, bytes: &[u8]) -> Result<(), Error> {
    if bytes.len() > i32::MAX as usize {
        return Err(decode_error(
            what,
            format!(
                "{} bytes exceed the protobuf message limit of 2 GiB",
                bytes.len()
            ),
        ));
    }
    Ok(())
}

pub(crate) fn decode_net(bytes: &[u8]) -> Result<NetDef, Error> {
    check_size("NetDef", bytes)?;
    let p = PNetDef::decode(bytes).map_err(|e| decode_error("NetDef", e))?;
    net_from_proto(p)
}

pub(crate) fn decode_operator(bytes: &[u8]) -> Result<OperatorDef, Error> {
    check_size("OperatorDef", bytes)?;
    let p = POperatorDef::decode(bytes).map_err(|e| decode_error("OperatorDef", e))?;
    op_from_proto(p)
}

// ---- writing ----

/// Whether nets nest deeper than `budget` levels below this one.
fn too_deep_args(args: &[Argument], budget: usize) -> bool {
    args.iter().any(|a| match &a.value {
        ArgValue::Net(n) => too_deep_net(n, budget),
        ArgValue::Nets(ns) => ns.iter().any(|n| too_deep_net(n, budget)),
        _ => false,
    })
}

fn too_deep_net(net: &NetDef, budget: usize) -> bool {
    match budget.checked_sub(1) {
        None => true,
        Some(b) => too_deep_args(&net.args, b) || net.ops.iter().any(|o| too_deep_args(&o.args, b)),
    }
}

fn nesting_error(what: &str) -> Error {
    Error::Operator {
        op_type: String::new(),
        kind: OpErrorKind::Overflow,
        detail: format!(
            "{what} nests nets in arguments deeper than {MAX_NET_NESTING} levels, which the \
             reader refuses"
        ),
    }
}

fn arg_to_proto(a: &Argument) -> PArgument {
    let mut p = PArgument {
        name: Some(a.name.clone()),
        ..PArgument::default()
    };
    match &a.value {
        ArgValue::Float(v) => p.f = Some(*v),
        ArgValue::Int(v) => p.i = Some(*v),
        ArgValue::Bytes(v) => p.s = Some(v.clone()),
        ArgValue::Floats(v) => p.floats = v.clone(),
        ArgValue::Ints(v) => p.ints = v.clone(),
        ArgValue::Strings(v) => p.strings = v.clone(),
        ArgValue::Net(n) => p.n = Some(Box::new(net_to_proto(n))),
        ArgValue::Nets(n) => p.nets = n.iter().map(net_to_proto).collect(),
        ArgValue::Tensor(t) => p.t = Some(t.clone()),
        ArgValue::Tensors(t) => p.tensors = t.clone(),
        ArgValue::QTensors(t) => p.qtensors = t.clone(),
        ArgValue::Empty => {}
    }
    p
}

fn op_to_proto(o: &OperatorDef) -> POperatorDef {
    POperatorDef {
        input: o.inputs.clone(),
        output: o.outputs.clone(),
        name: non_empty(o.name.clone()),
        r#type: Some(o.op_type.clone()),
        arg: o.args.iter().map(arg_to_proto).collect(),
        device_option: o.device_option.clone(),
        engine: non_empty(o.engine.clone()),
        control_input: o.control_inputs.clone(),
        is_gradient_op: o.is_gradient_op.then_some(true),
        debug_info: non_empty(o.debug_info.clone()),
        domain: non_empty(o.domain.clone()),
        op_version: o.op_version,
    }
}

fn net_to_proto(n: &NetDef) -> PNetDef {
    PNetDef {
        name: non_empty(n.name.clone()),
        op: n.ops.iter().map(op_to_proto).collect(),
        r#type: non_empty(n.net_type.clone()),
        num_workers: n.num_workers,
        device_option: n.device_option.clone(),
        arg: n.args.iter().map(arg_to_proto).collect(),
        external_input: n.external_inputs.clone(),
        external_output: n.external_outputs.clone(),
        partition_info: n.partition_info.clone(),
    }
}

pub(crate) fn encode_net(n: &NetDef) -> Result<Vec<u8>, Error> {
    if too_deep_net(n, MAX_NET_NESTING + 1) {
        return Err(nesting_error(&format!("net `{}`", n.name)));
    }
    Ok(net_to_proto(n).encode_to_vec())
}

pub(crate) fn encode_operator(o: &OperatorDef) -> Result<Vec<u8>, Error> {
    if too_deep_args(&o.args, MAX_NET_NESTING) {
        return Err(nesting_error(&format!("operator `{}`", o.op_type)));
    }
    Ok(op_to_proto(o).encode_to_vec())
}
