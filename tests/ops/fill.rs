//! The fill operators of init nets: the values written against the arguments given,
//! their schemas' inference and cost, every refusal (with the workspace unchanged), and
//! an init + predict net read from files against the same operators run directly.

use crate::common;

use caffe2op_relu::OpErrorKind;
use caffe2op_relu::QuantParams;
use caffe2op_relu::ops::{
    ArgValue, DataType, NetDef, OperatorDef, Tensor, TensorProtos, TensorShape, Workspace, schema,
};
use common::ops::{kind, refused};

/// f32 argument values where a copy could go wrong: NaN payloads, both zeros,
/// subnormals, infinities.
fn special_f32() -> Vec<f32> {
    [
        0x7fc0_0001u32,
        0x7f80_0001,
        0xffc1_2345,
        0x8000_0000,
        0,
        1,
        0x807f_ffff,
        0x7f80_0000,
        0xff80_0000,
        0x3fc0_0000,
    ]
    .map(f32::from_bits)
    .to_vec()
}

fn run(def: &OperatorDef) -> Tensor {
    let mut ws = Workspace::new();
    ws.run_operator_once(def)
        .unwrap_or_else(|e| panic!("{def}: {e}"));
    assert_eq!(ws.len(), 1);
    ws.remove_blob(&def.outputs[0]).unwrap()
}

#[test]
fn given_tensor_fills_write_their_arguments() {
    let vals = special_f32();
    let t = run(&OperatorDef::new("GivenTensorFill")
        .output("W")
        .arg("shape", vec![2i64, 5])
        .arg("values", vals.clone()));
    assert_eq!((t.dtype(), t.dims()), (DataType::F32, &[2usize, 5][..]));
    let got: Vec<u32> = t
        .as_slice::<f32>()
        .unwrap()
        .iter()
        .map(|x| x.to_bits())
        .collect();
    let want: Vec<u32> = vals.iter().map(|x| x.to_bits()).collect();
    assert_eq!(got, want);

    // Doubles: the f32 arguments widened (exact, NaN payloads kept in the high bits).
    for def in [
        OperatorDef::new("GivenTensorDoubleFill"),
        OperatorDef::new("GivenTensorFill").arg("dtype", 13i64),
    ] {
        let t = run(&def
            .output("D")
            .arg("shape", vec![10i64])
            .arg("values", vals.clone()));
        assert_eq!((t.dtype(), t.dims()), (DataType::F64, &[10usize][..]));
        for (g, v) in t.as_slice::<f64>().unwrap().iter().zip(&vals) {
            let w = f64::from(*v);
            assert!(
                g.to_bits() == w.to_bits() || (g.is_nan() && w.is_nan()),
                "{g:?} vs {v:?}"
            );
            if !v.is_nan() {
                assert_eq!(g.to_bits(), w.to_bits());
            }
        }
    }

    let ints = vec![i64::from(i32::MIN), -1, 0, 7, i64::from(i32::MAX), 42];
    for def in [
        OperatorDef::new("GivenTensorIntFill"),
        OperatorDef::new("GivenTensorFill").arg("dtype", 2i64),
    ] {
        let t = run(&def
            .output("I")
            .arg("shape", vec![3i64, 2])
            .arg("values", ints.clone()));
        assert_eq!((t.dtype(), t.dims()), (DataType::I32, &[3usize, 2][..]));
        let want: Vec<i32> = ints.iter().map(|&v| v as i32).collect();
        assert_eq!(t.as_i32().unwrap(), &want[..]);
    }

    let bytes = vec![0u8, 1, 127, 128, 255, 3];
    let t = run(&OperatorDef::new("Int8GivenTensorFill")
        .output("Q")
        .arg("shape", vec![2i64, 3])
        .arg("values", ArgValue::Bytes(bytes.clone()))
        .arg("Y_scale", 0.125f32)
        .arg("Y_zero_point", 200i64));
    assert_eq!((t.dtype(), t.dims()), (DataType::U8, &[2usize, 3][..]));
    assert_eq!(t.as_u8().unwrap(), &bytes[..]);
    let q = t.quant().unwrap();
    assert_eq!((q.scale.to_bits(), q.zero_point), (0.125f32.to_bits(), 200));
    // Caffe2's defaults: scale 1, zero point 0.
    let t = run(&OperatorDef::new("Int8GivenTensorFill")
        .output("Q")
        .arg("shape", vec![1i64])
        .arg("values", ArgValue::Bytes(vec![9])));
    let q = t.quant().unwrap();
    assert_eq!((q.scale.to_bits(), q.zero_point), (1f32.to_bits(), 0));

    // No shape: a scalar (one value); an empty shape list reads the same.
    for def in [
        OperatorDef::new("GivenTensorFill"),
        OperatorDef::new("GivenTensorFill").arg("shape", ArgValue::Empty),
    ] {
        let t = run(&def.output("S").arg("values", vec![-0.0f32]));
        assert_eq!(t.dims(), &[] as &[usize]);
        assert_eq!(t.as_slice::<f32>().unwrap()[0].to_bits(), 0x8000_0000);
    }
    // A single int shape is [n]; zero elements need no values.
    let t = run(&OperatorDef::new("GivenTensorFill")
        .output("S")
        .arg("shape", 2i64)
        .arg("values", vec![1.0f32, 2.0]));
    assert_eq!(t.dims(), &[2]);
    let t = run(&OperatorDef::new("GivenTensorIntFill")
        .output("E")
        .arg("shape", vec![4i64, 0]));
    assert_eq!((t.dims(), t.numel()), (&[4usize, 0][..], 0));
}

#[test]
fn constant_fill_writes_its_value_in_its_type() {
    let v = f32::from_bits(0x7fc0_0abc);
    let cases: Vec<(OperatorDef, DataType)> = vec![
        (
            OperatorDef::new("ConstantFill").arg("value", v),
            DataType::F32,
        ),
        (
            OperatorDef::new("ConstantFill")
                .arg("value", v)
                .arg("dtype", 1i64),
            DataType::F32,
        ),
        (
            OperatorDef::new("ConstantFill")
                .arg("value", v)
                .arg("dtype", 13i64),
            DataType::F64,
        ),
    ];
    for (def, dt) in cases {
        let t = run(&def.output("C").arg("shape", vec![2i64, 3]));
        assert_eq!((t.dtype(), t.dims()), (dt, &[2usize, 3][..]));
        match dt {
            DataType::F32 => {
                assert!(
                    t.as_slice::<f32>()
                        .unwrap()
                        .iter()
                        .all(|x| x.to_bits() == v.to_bits())
                );
            }
            _ => {
                let w = f64::from(v);
                assert!(
                    t.as_slice::<f64>()
                        .unwrap()
                        .iter()
                        .all(|x| x.is_nan() == w.is_nan())
                );
            }
        }
    }
    let t = run(&OperatorDef::new("ConstantFill")
        .output("C")
        .arg("shape", vec![5i64])
        .arg("dtype", 2i64)
        .arg("value", -7i64));
    assert_eq!(t.as_i32().unwrap(), &[-7; 5]);
    // Defaults: FLOAT, 0.0 (+0).
    let t = run(&OperatorDef::new("ConstantFill")
        .output("C")
        .arg("shape", vec![3i64]));
    assert_eq!(t.dtype(), DataType::F32);
    assert!(
        t.as_slice::<f32>()
            .unwrap()
            .iter()
            .all(|x| x.to_bits() == 0)
    );
    let t = run(&OperatorDef::new("ConstantFill")
        .output("C")
        .arg("shape", vec![2i64])
        .arg("dtype", 2i64));
    assert_eq!(t.as_i32().unwrap(), &[0, 0]);
}

#[test]
fn fill_schemas_infer_shapes_and_honest_costs() {
    let cases: Vec<(OperatorDef, TensorShape)> = vec![
        (
            OperatorDef::new("GivenTensorFill")
                .output("Y")
                .arg("shape", vec![2i64, 3])
                .arg("values", vec![0.0f32; 6]),
            TensorShape::new(DataType::F32, [2, 3]),
        ),
        (
            OperatorDef::new("GivenTensorDoubleFill")
                .output("Y")
                .arg("shape", vec![4i64])
                .arg("values", vec![0.0f32; 4]),
            TensorShape::new(DataType::F64, [4]),
        ),
        (
            OperatorDef::new("GivenTensorIntFill")
                .output("Y")
                .arg("shape", vec![5i64])
                .arg("values", vec![0i64; 5]),
            TensorShape::new(DataType::I32, [5]),
        ),
        (
            OperatorDef::new("ConstantFill")
                .output("Y")
                .arg("shape", vec![1000i64, 1000])
                .arg("dtype", 13i64),
            TensorShape::new(DataType::F64, [1000, 1000]),
        ),
        (
            OperatorDef::new("Int8GivenTensorFill")
                .output("Y")
                .arg("shape", vec![3i64])
                .arg("values", ArgValue::Bytes(vec![1, 2, 3])),
            TensorShape::new(DataType::U8, [3]),
        ),
    ];
    for (def, want) in cases {
        let s = schema(&def.op_type).unwrap();
        assert_eq!(s.infer(&def, &[]).unwrap(), vec![want.clone()]);
        let c = s.cost(&def, &[]).unwrap();
        let n: usize = want.dims.iter().product();
        assert_eq!(
            (c.flops, c.bytes_read, c.bytes_written, c.params_bytes),
            (0, 0, (n * want.dtype.item_size()) as u64, 0),
            "{def}"
        );
        let e = s.cost(&def, std::slice::from_ref(&want)).unwrap_err();
        assert_eq!(kind(&e), OpErrorKind::InputCount, "{e}");
        assert!(caffe2op_relu::ops::gradient_defs(&def).is_err());
    }
    // A shape that cannot exist is refused by inference and cost alike.
    let big = OperatorDef::new("ConstantFill")
        .output("Y")
        .arg("shape", vec![1i64 << 62, 4]);
    let s = schema("ConstantFill").unwrap();
    assert_eq!(
        kind(&s.infer(&big, &[]).unwrap_err()),
        OpErrorKind::Overflow
    );
    assert_eq!(kind(&s.cost(&big, &[]).unwrap_err()), OpErrorKind::Overflow);
}

#[test]
fn refused_fills_leave_the_workspace_unchanged() {
    use OpErrorKind::*;
    let g = || OperatorDef::new("GivenTensorFill").output("Y");
    let c = || OperatorDef::new("ConstantFill").output("Y");
    let q = || {
        OperatorDef::new("Int8GivenTensorFill")
            .output("Y")
            .arg("shape", vec![2i64])
            .arg("values", ArgValue::Bytes(vec![1, 2]))
    };
    let cases: Vec<(OperatorDef, OpErrorKind)> = vec![
        (
            g().arg("shape", vec![2i64, 3])
                .arg("values", vec![0.0f32; 5]),
            ShapeMismatch,
        ),
        (
            g().arg("shape", vec![2i64]).arg("values", vec![0.0f32; 3]),
            ShapeMismatch,
        ),
        (g().arg("values", vec![0.0f32; 2]), ShapeMismatch),
        (
            g().arg("shape", vec![2i64, -1])
                .arg("values", vec![0.0f32; 2]),
            ArgumentValue,
        ),
        (g().arg("shape", vec![1i64 << 62, 1 << 62]), Overflow),
        (
            g().arg("shape", vec![2i64]).arg("values", vec![1i64, 2]),
            ArgumentType,
        ),
        (g().arg("shape", vec![2.0f32]), ArgumentType),
        (g().arg("dtype", 99i64), ArgumentValue),
        (g().arg("dtype", 10i64), Unsupported),
        (g().arg("dtype", 1.0f32), ArgumentType),
        (g().input("X").arg("values", vec![1.0f32]), Unsupported),
        (
            OperatorDef::new("GivenTensorIntFill")
                .output("Y")
                .arg("shape", vec![1i64])
                .arg("values", vec![1i64 << 31]),
            ArgumentValue,
        ),
        (
            OperatorDef::new("GivenTensorDoubleFill")
                .output("Y")
                .arg("shape", vec![1i64])
                .arg("values", vec![1i64]),
            ArgumentType,
        ),
        (c().arg("value", 3i64), Unsupported),
        (c().arg("dtype", 2i64).arg("value", 1.5f32), ArgumentType),
        (c().arg("dtype", 1i64).arg("value", 1i64), ArgumentType),
        (
            c().arg("dtype", 2i64).arg("value", 1i64 << 40),
            ArgumentValue,
        ),
        (c().arg("dtype", 0i64), Unsupported),
        (c().arg("dtype", 12i64), Unsupported),
        (c().arg("dtype", 6i64), Unsupported),
        (c().arg("dtype", -5i64), ArgumentValue),
        (c().arg("value", ArgValue::from("x")), ArgumentType),
        (c().arg("input_as_shape", 1i64), ArgumentValue),
        (c().arg("extra_shape", vec![2i64]), ArgumentValue),
        (c().input("S").arg("input_as_shape", 1i64), Unsupported),
        (
            c().arg("shape", vec![i64::MAX / 2, 4]).arg("dtype", 13i64),
            Overflow,
        ),
        (q().arg("Y_scale", 0.0f32), ArgumentValue),
        (q().arg("Y_scale", -1.0f32), ArgumentValue),
        (q().arg("Y_scale", f32::NAN), ArgumentValue),
        (q().arg("Y_scale", f32::INFINITY), ArgumentValue),
        (q().arg("Y_zero_point", 256i64), ArgumentValue),
        (q().arg("Y_zero_point", -1i64), ArgumentValue),
        (q().arg("Y_zero_point", 1.0f32), ArgumentType),
        (
            OperatorDef::new("Int8GivenTensorFill")
                .output("Y")
                .arg("shape", vec![3i64])
                .arg("values", ArgValue::Bytes(vec![1, 2])),
            ShapeMismatch,
        ),
        (
            OperatorDef::new("Int8GivenTensorFill")
                .output("Y")
                .arg("shape", vec![2i64])
                .arg("values", vec![1.0f32, 2.0]),
            ArgumentType,
        ),
        (OperatorDef::new("ConstantFill"), OutputCount),
    ];
    for (def, want) in cases {
        // The output blob exists beforehand, and so does another: neither changes.
        let mut ws = Workspace::new();
        ws.feed_blob("Y", Tensor::from_vec(vec![2], vec![1.0f32, -0.0]).unwrap());
        ws.feed_blob("X", Tensor::from_i32(vec![1], vec![5]).unwrap());
        refused(&mut ws, &def, want);
        // In a net after a fill that is valid: nothing of the net is written.
        let net = NetDef::new("n")
            .op(OperatorDef::new("ConstantFill")
                .output("Z")
                .arg("shape", vec![2i64]))
            .op(def.clone());
        let before = ws.clone();
        let e = ws.run_net(&net).unwrap_err();
        assert_eq!(kind(&e), want, "{def}: {e}");
        assert!(ws == before, "{def}: a refused net changed the workspace");
    }
}

#[test]
fn activations_refuse_i32_tensors() {
    let mut ws = Workspace::new();
    ws.feed_blob("I", Tensor::from_i32(vec![2], vec![-1, 1]).unwrap());
    for op in ["Relu", "ReluN", "LeakyRelu", "Clip", "Int8Relu"] {
        let def = OperatorDef::new(op).input("I").output("O");
        refused(&mut ws, &def, OpErrorKind::TypeMismatch);
    }
    let def = OperatorDef::new("ReluGradient")
        .input("I")
        .input("I")
        .output("O");
    refused(&mut ws, &def, OpErrorKind::TypeMismatch);
}

/// An init net, a predict net and an inputs file, each encoded and read back, against
/// the predict net's operators run one by one on tensors built from the same values.
#[test]
fn init_and_predict_nets_from_files_match_the_operators_run_directly() {
    let w: Vec<f32> = special_f32();
    let d: Vec<f32> = vec![-3.0, 0.25, 9.5, -0.0];
    let qv: Vec<u8> = vec![0, 100, 128, 255];
    let x: Vec<f64> = vec![-2.0, -0.0, 0.5, f64::NAN, 6.5, 5e-324];
    let init = NetDef::new("init")
        .op(OperatorDef::new("GivenTensorFill")
            .output("W")
            .arg("shape", vec![2i64, 5])
            .arg("values", w.clone()))
        .op(OperatorDef::new("GivenTensorDoubleFill")
            .output("D")
            .arg("shape", vec![4i64])
            .arg("values", d.clone()))
        .op(OperatorDef::new("ConstantFill")
            .output("C")
            .arg("shape", vec![3i64])
            .arg("value", 6.5f32))
        .op(OperatorDef::new("Int8GivenTensorFill")
            .output("Q")
            .arg("shape", vec![4i64])
            .arg("values", ArgValue::Bytes(qv.clone()))
            .arg("Y_scale", 0.05f32)
            .arg("Y_zero_point", 128i64));
    let predict_ops = vec![
        OperatorDef::new("LeakyRelu")
            .input("W")
            .output("WL")
            .arg("alpha", 0.25f32),
        OperatorDef::new("Clip")
            .input("D")
            .output("DC")
            .arg("min", -1.0f32)
            .arg("max", 2.0f32),
        OperatorDef::new("ReluN").input("C").output("CN"),
        OperatorDef::new("Int8Relu").input("Q").output("QR"),
        OperatorDef::new("Relu").input("X").output("XR"),
        OperatorDef::new("ReluN")
            .input("XR")
            .output("XR")
            .arg("n", 0.5f32),
    ];
    let mut predict = NetDef::new("predict");
    for op in &predict_ops {
        predict = predict.op(op.clone());
    }
    predict.external_outputs = ["WL", "DC", "CN", "QR", "XR"].map(String::from).to_vec();
    let inputs = TensorProtos {
        tensors: vec![("X".into(), Tensor::from_vec(vec![3, 2], x.clone()).unwrap())],
    };

    // From files.
    let init = NetDef::from_bytes(&init.to_bytes().unwrap()).unwrap();
    let predict = NetDef::from_bytes(&predict.to_bytes().unwrap()).unwrap();
    let inputs = TensorProtos::from_bytes(&inputs.to_bytes().unwrap()).unwrap();
    let mut ws = Workspace::new();
    ws.run_net(&init).unwrap();
    for (name, t) in inputs.tensors {
        ws.feed_blob(name, t);
    }
    ws.run_net(&predict).unwrap();

    // Directly, from the values.
    let mut direct = Workspace::new();
    direct.feed_blob("W", Tensor::from_vec(vec![2, 5], w).unwrap());
    direct.feed_blob(
        "D",
        Tensor::from_vec(vec![4], d.iter().map(|&v| f64::from(v)).collect()).unwrap(),
    );
    direct.feed_blob("C", Tensor::from_vec(vec![3], vec![6.5f32; 3]).unwrap());
    let q = QuantParams {
        scale: 0.05,
        zero_point: 128,
    };
    direct.feed_blob("Q", Tensor::quantized(vec![4], qv, q).unwrap());
    direct.feed_blob("X", Tensor::from_vec(vec![3, 2], x).unwrap());
    for op in &predict_ops {
        direct.run_operator_once(op).unwrap();
    }
    assert!(
        ws == direct,
        "the nets from files differ from the operators run directly"
    );

    // Saved outputs read back: the same bits (u8 without its quantization).
    let saved = TensorProtos {
        tensors: predict
            .external_outputs
            .iter()
            .map(|n| (n.clone(), ws.fetch_blob(n).unwrap().clone()))
            .collect(),
    };
    let back = TensorProtos::from_bytes(&saved.to_bytes().unwrap()).unwrap();
    assert_eq!(back.tensors.len(), 5);
    for (name, t) in &back.tensors {
        let want = direct.fetch_blob(name).unwrap();
        assert_eq!(t.dims(), want.dims(), "{name}");
        assert!(t.data().bit_eq(want.data()), "{name}");
    }
}
