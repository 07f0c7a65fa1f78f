//! The operator layer on arbitrary bytes: `NetDef::from_bytes` (and
//! `OperatorDef::from_bytes`); whatever decodes is re-encoded (a fixed point after one
//! round), run through cost and tensor inference, the gradient makers and the
//! backward net builder, and run in a `Workspace` holding small deterministic tensors
//! (init nets of fill operators included). The same bytes are read as a `TensorProtos`
//! file: what reads writes back to bytes that read as the same tensors and write back
//! unchanged; a refusal is an operator-layer error of a reading kind.
//!
//! Never a panic. A refused net leaves every blob exactly as it was; a net that runs
//! leaves exactly the blobs a shadow evaluation computes with the scalar oracle, op by
//! op (so every result is bit for bit the oracle's).
#![no_main]

use std::collections::BTreeMap;

use caffe2op_relu::ops::{
    ArgValue, DataType, NetDef, OperatorDef, Tensor, TensorElement, TensorProtos, Workspace,
    backward_net, gradient_defs, schema,
};
use caffe2op_relu::{
    Activation, DEFAULT_ALPHA, DEFAULT_N, Element, Error, Int8LeakyRelu, Isa, OpErrorKind, Order,
    Prelu, QuantParams, Threads,
};
use libfuzzer_sys::fuzz_target;

fn workspace() -> Workspace {
    let mut ws = Workspace::new();
    let vals = [
        -2.0f32,
        -0.0,
        0.0,
        f32::NAN,
        1.5,
        7.0,
        f32::INFINITY,
        -1e-40,
        6.0,
    ];
    let f = |n: usize, k: usize| -> Vec<f32> {
        (0..n).map(|i| vals[(i * 5 + k) % vals.len()]).collect()
    };
    ws.feed_blob("X", Tensor::from_vec([2, 3], f(6, 0)).unwrap());
    ws.feed_blob("Y", Tensor::from_vec([2, 3], f(6, 1)).unwrap());
    ws.feed_blob("dY", Tensor::from_vec([2, 3], f(6, 2)).unwrap());
    ws.feed_blob("Z", Tensor::from_vec([3, 2], f(6, 3)).unwrap());
    ws.feed_blob("E", Tensor::from_vec::<f32>([0, 4], vec![]).unwrap());
    ws.feed_blob("S", Tensor::from_vec([], vec![-3.5f32]).unwrap());
    let d: Vec<f64> = f(4, 4).into_iter().map(f64::from).collect();
    ws.feed_blob("D", Tensor::from_vec([4], d).unwrap());
    let h: Vec<half::f16> = f(3, 5).into_iter().map(half::f16::from_f32).collect();
    ws.feed_blob("H", Tensor::from_vec([3], h).unwrap());
    let b: Vec<half::bf16> = f(3, 6).into_iter().map(half::bf16::from_f32).collect();
    ws.feed_blob("B", Tensor::from_vec([3], b).unwrap());
    let q = QuantParams {
        scale: 0.5,
        zero_point: 10,
    };
    ws.feed_blob(
        "Q",
        Tensor::quantized([5], vec![0, 9, 10, 11, 255], q).unwrap(),
    );
    ws
}

fn param(def: &OperatorDef, name: &str, default: f64) -> f64 {
    match def.get_arg(name) {
        Some(ArgValue::Float(v)) => f64::from(*v),
        None => f64::from(default as f32),
        Some(other) => panic!("a net that ran had argument {name} = {other:?}"),
    }
}

fn forward<T: Element + TensorElement>(x: &Tensor, act: Activation) -> Tensor {
    let xs = x.as_slice::<T>().expect("shadow: input type");
    let out: Vec<T> = xs.iter().map(|&v| act.oracle_forward(v).unwrap()).collect();
    Tensor::from_vec(x.dims().to_vec(), out).unwrap()
}

fn backward<T: Element + TensorElement>(y: &Tensor, dy: &Tensor, act: Activation) -> Tensor {
    let ys = y.as_slice::<T>().expect("shadow: Y type");
    let ds = dy.as_slice::<T>().expect("shadow: dY type");
    assert_eq!(ys.len(), ds.len(), "shadow: Y and dY lengths");
    let out: Vec<T> = ys
        .iter()
        .zip(ds)
        .map(|(&a, &b)| act.oracle_backward(a, b).unwrap())
        .collect();
    Tensor::from_vec(dy.dims().to_vec(), out).unwrap()
}

/// PRelu and PReluGradient on the scalar ISA (the oracle's loops). Where a slope's
/// gradient is NaN, which NaN's payload a sum keeps is not specified: a NaN there
/// takes the operator's own (its engine's ISA), any other value must match.
fn shadow_prelu(blobs: &mut BTreeMap<String, Tensor>, def: &OperatorDef) {
    let order: Order = match def.get_arg("order") {
        None => Order::Nchw,
        Some(ArgValue::Bytes(b)) => std::str::from_utf8(b)
            .ok()
            .and_then(|t| t.parse().ok())
            .expect("a PRelu that ran had a valid order"),
        Some(other) => panic!("a PRelu that ran had order = {other:?}"),
    };
    let x = if def.op_type == "PRelu" {
        &def.inputs[0]
    } else {
        &def.inputs[2]
    };
    match blobs.get(x).expect("shadow: PRelu input").dtype() {
        DataType::F32 => shadow_prelu_typed::<f32>(blobs, def, order),
        DataType::F64 => shadow_prelu_typed::<f64>(blobs, def, order),
        DataType::F16 => shadow_prelu_typed::<half::f16>(blobs, def, order),
        DataType::Bf16 => shadow_prelu_typed::<half::bf16>(blobs, def, order),
        other => panic!("a PRelu that ran had a {other} input"),
    }
}

fn shadow_prelu_typed<T: TensorElement + Element>(
    blobs: &mut BTreeMap<String, Tensor>,
    def: &OperatorDef,
    order: Order,
) {
    let get = |b: &str| blobs.get(b).expect("shadow: PRelu blob").clone();
    let scalar = Prelu::new(order)
        .with_isa(Isa::Scalar)
        .unwrap()
        .with_threads(Threads::Serial);
    if def.op_type == "PRelu" {
        let (x, w) = (get(&def.inputs[0]), get(&def.inputs[1]));
        let mut y = vec![T::default(); x.numel()];
        let (xs, ws) = (x.as_slice::<T>().unwrap(), w.as_slice::<T>().unwrap());
        scalar
            .forward(xs, x.dims(), ws, &mut y)
            .expect("shadow: PRelu ran");
        blobs.insert(
            def.outputs[0].clone(),
            Tensor::from_vec(x.dims().to_vec(), y).unwrap(),
        );
        return;
    }
    let (dy, x, w) = (
        get(&def.inputs[1]),
        get(&def.inputs[2]),
        get(&def.inputs[3]),
    );
    let (xs, ds, ws) = (
        x.as_slice::<T>().unwrap(),
        dy.as_slice::<T>().unwrap(),
        w.as_slice::<T>().unwrap(),
    );
    let mut dx = vec![T::default(); x.numel()];
    let mut dw = vec![T::default(); ws.len()];
    scalar
        .backward(xs, ds, x.dims(), ws, &mut dx, &mut dw)
        .expect("shadow: PReluGradient ran");
    let own = Prelu::new(order);
    let own = def
        .engine
        .parse::<Isa>()
        .ok()
        .and_then(|i| own.with_isa(i).ok())
        .unwrap_or(own);
    let (mut dx2, mut dw2) = (dx.clone(), dw.clone());
    own.backward(xs, ds, x.dims(), ws, &mut dx2, &mut dw2)
        .expect("shadow: PReluGradient ran");
    for (a, b) in dw.iter_mut().zip(dw2) {
        if a.to_f64().is_nan() && b.to_f64().is_nan() {
            *a = b;
        }
    }
    blobs.insert(
        def.outputs[0].clone(),
        Tensor::from_vec(x.dims().to_vec(), dx).unwrap(),
    );
    blobs.insert(
        def.outputs[1].clone(),
        Tensor::from_vec(w.dims().to_vec(), dw).unwrap(),
    );
}

/// Evaluates a net that ran, op by op, with the oracle. A fill operator is run alone
/// in an empty workspace (it reads no blob): the fill operators are checked against
/// their arguments by `tests/ops/fill.rs`; here, that a net of them runs as they do.
fn shadow(blobs: &mut BTreeMap<String, Tensor>, net: &NetDef) {
    for def in &net.ops {
        if schema(&def.op_type).is_some_and(|s| s.is_filler()) {
            let mut alone = Workspace::new();
            alone
                .run_operator_once(def)
                .expect("shadow: a fill that ran in the net");
            let y = &def.outputs[0];
            let t = alone.remove_blob(y).expect("shadow: fill output");
            blobs.insert(y.clone(), t);
            continue;
        }
        let get = |b: &str| {
            blobs
                .get(b)
                .unwrap_or_else(|| panic!("shadow: no blob {b}"))
        };
        if def.op_type.starts_with("PRelu") {
            shadow_prelu(blobs, def);
            continue;
        }
        if def.op_type == "Int8LeakyRelu" {
            // Its oracle is its table, from the arguments (Caffe2's defaults) and the
            // input's quantization.
            let x = get(&def.inputs[0]);
            let xq = x
                .quant()
                .expect("shadow: Int8LeakyRelu input has no quantization");
            let zero_point = match def.get_arg("Y_zero_point") {
                None => 0,
                Some(ArgValue::Int(z)) => u8::try_from(*z).expect("shadow: Y_zero_point"),
                Some(other) => panic!("a net that ran had Y_zero_point = {other:?}"),
            };
            let yq = QuantParams {
                scale: param(def, "Y_scale", 1.0) as f32,
                zero_point,
            };
            let op = Int8LeakyRelu::new(param(def, "alpha", 0.01) as f32, xq, yq)
                .expect("shadow: a refused Int8LeakyRelu ran");
            let ys: Vec<u8> = x
                .as_u8()
                .unwrap()
                .iter()
                .map(|&v| op.table()[usize::from(v)])
                .collect();
            let out = Tensor::quantized(x.dims().to_vec(), ys, yq).unwrap();
            blobs.insert(def.outputs[0].clone(), out);
            continue;
        }
        let (op, grad) = match def.op_type.as_str() {
            "Relu" => (Some(Activation::relu()), false),
            "ReluGradient" => (Some(Activation::relu()), true),
            "ReluN" | "ReluNGradient" => (
                Some(Activation::relu_n(param(def, "n", DEFAULT_N)).unwrap()),
                def.op_type.ends_with("Gradient"),
            ),
            "LeakyRelu" | "LeakyReluGradient" => (
                Some(Activation::leaky_relu(param(def, "alpha", DEFAULT_ALPHA)).unwrap()),
                def.op_type.ends_with("Gradient"),
            ),
            "Clip" | "ClipGradient" => {
                // An absent bound is the element type's extreme (`f64::MIN`/`MAX`
                // stand for it), not the f32 rounding of a number.
                let bound = |name, default| match def.get_arg(name) {
                    None => default,
                    Some(_) => param(def, name, default),
                };
                let (min, max) = (bound("min", f64::MIN), bound("max", f64::MAX));
                (
                    Some(Activation::clip(min, max).unwrap()),
                    def.op_type.ends_with("Gradient"),
                )
            }
            "Int8Relu" => (None, false),
            other => panic!("a net that ran had operator type {other}"),
        };
        let out = match op {
            None => {
                let x = get(&def.inputs[0]);
                let q = x
                    .quant()
                    .expect("shadow: Int8Relu input has no quantization");
                let ys: Vec<u8> = x
                    .as_u8()
                    .unwrap()
                    .iter()
                    .map(|&v| caffe2op_relu::int8_relu_oracle(v, q.zero_point))
                    .collect();
                Tensor::quantized(x.dims().to_vec(), ys, q).unwrap()
            }
            Some(act) if grad => {
                let (y, dy) = (get(&def.inputs[0]), get(&def.inputs[1]));
                match dy.dtype() {
                    DataType::F32 => backward::<f32>(y, dy, act),
                    DataType::F64 => backward::<f64>(y, dy, act),
                    DataType::F16 => backward::<half::f16>(y, dy, act),
                    DataType::Bf16 => backward::<half::bf16>(y, dy, act),
                    DataType::U8 | DataType::I32 => panic!("a gradient ran on {}", dy.dtype()),
                }
            }
            Some(act) => {
                let x = get(&def.inputs[0]);
                match x.dtype() {
                    DataType::F32 => forward::<f32>(x, act),
                    DataType::F64 => forward::<f64>(x, act),
                    DataType::F16 => forward::<half::f16>(x, act),
                    DataType::Bf16 => forward::<half::bf16>(x, act),
                    DataType::U8 | DataType::I32 => panic!("a float op ran on {}", x.dtype()),
                }
            }
        };
        blobs.insert(def.outputs[0].clone(), out);
    }
}

fn snapshot(ws: &Workspace) -> BTreeMap<String, Tensor> {
    ws.blobs()
        .map(|(k, v)| (k.to_string(), v.clone()))
        .collect()
}

/// The refusals the operator layer may give: its own errors, and the core's
/// parameter and quantization refusals (which name the argument and value).
fn is_op_error(e: &Error) -> bool {
    matches!(
        e,
        Error::Operator { .. }
            | Error::QuantizationMismatch { .. }
            | Error::InvalidParameter { .. }
    )
}

fn exercise_def(def: &OperatorDef, ws: &Workspace) {
    if let Some(s) = schema(&def.op_type) {
        let shapes: Vec<_> = def
            .inputs
            .iter()
            .filter_map(|b| ws.fetch_blob(b).ok().map(Tensor::shape))
            .collect();
        match s.cost(def, &shapes) {
            Ok(c) => assert_eq!(c.bytes_read, c.bytes_written * s.num_inputs() as u64),
            Err(e) => assert!(is_op_error(&e), "{e:?}"),
        }
        if let Err(e) = s.infer(def, &shapes) {
            assert!(is_op_error(&e), "{e:?}");
        }
    }
    if let Err(e) = gradient_defs(def) {
        assert!(is_op_error(&e), "{e:?}");
    }
}

/// Whether a fill operator of the net asks for more than 1 MiB (a fill allocates what
/// its `shape` says, as in Caffe2; the fuzzer's memory limit is not the point here).
fn fills_too_much(net: &NetDef) -> bool {
    net.ops.iter().any(|d| {
        schema(&d.op_type).is_some_and(|s| {
            s.is_filler() && s.cost(d, &[]).is_ok_and(|c| c.bytes_written > 1 << 20)
        })
    })
}

fn run_net(net: &NetDef) {
    let mut ws = workspace();
    let before = snapshot(&ws);
    for def in &net.ops {
        exercise_def(def, &ws);
    }
    if fills_too_much(net) {
        return;
    }
    match backward_net(net) {
        Ok(g) => {
            let _ = g.to_bytes();
        }
        Err(e) => assert!(is_op_error(&e), "{e:?}"),
    }
    match ws.run_net(net) {
        Ok(()) => {
            let mut want = before;
            shadow(&mut want, net);
            let got = snapshot(&ws);
            assert!(
                got == want,
                "net ran but blobs differ from the oracle's:\n{net}"
            );
        }
        Err(e) => {
            assert!(is_op_error(&e), "{e:?}");
            assert!(snapshot(&ws) == before, "refused net changed blobs: {e}");
        }
    }
}

fn tensor_protos(data: &[u8]) {
    match TensorProtos::from_bytes(data) {
        Ok(file) => {
            let bytes = file.to_bytes().expect("a file that reads writes back");
            let again = TensorProtos::from_bytes(&bytes).expect("the written file reads");
            assert!(again == file, "tensors changed in a round trip");
            assert_eq!(again.to_bytes().unwrap(), bytes, "not a fixed point");
        }
        Err(e) => assert!(
            matches!(
                e,
                Error::Operator {
                    kind: OpErrorKind::Decode
                        | OpErrorKind::Unsupported
                        | OpErrorKind::ShapeMismatch
                        | OpErrorKind::Overflow,
                    ..
                }
            ),
            "{e:?}"
        ),
    }
}

fuzz_target!(|data: &[u8]| {
    tensor_protos(data);
    match NetDef::from_bytes(data) {
        Ok(net) => {
            // Re-encoding is refused only for nesting beyond MAX_NET_NESTING; what it
            // writes decodes, and re-encodes to the same bytes.
            if let Ok(bytes) = net.to_bytes() {
                let again = NetDef::from_bytes(&bytes).expect("re-encoded net decodes");
                assert_eq!(again.to_bytes().unwrap(), bytes, "not a fixed point");
            }
            run_net(&net);
        }
        Err(e) => assert!(
            matches!(
                e,
                Error::Operator {
                    kind: OpErrorKind::Decode,
                    ..
                }
            ),
            "{e:?}"
        ),
    }
    if let Ok(def) = OperatorDef::from_bytes(data) {
        if let Ok(bytes) = def.to_bytes() {
            let again = OperatorDef::from_bytes(&bytes).expect("re-encoded op decodes");
            assert_eq!(again.to_bytes().unwrap(), bytes);
        }
        if fills_too_much(&NetDef::new("one").op(def.clone())) {
            return;
        }
        let mut ws = workspace();
        let before = snapshot(&ws);
        match ws.run_operator_once(&def) {
            Ok(()) => {
                let mut want = before;
                shadow(&mut want, &NetDef::new("one").op(def));
                assert!(snapshot(&ws) == want, "operator ran but blobs differ");
            }
            Err(e) => {
                assert!(is_op_error(&e), "{e:?}");
                assert!(snapshot(&ws) == before);
            }
        }
    }
});
