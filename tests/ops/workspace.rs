//! Running operators on a workspace: results against the oracle bit for bit, in-place
//! rules, and every refusal leaving the workspace unchanged.

use crate::common;

use caffe2op_relu::ops::{DataType, OperatorDef, Tensor, Workspace};
use caffe2op_relu::{Activation, Error, Isa, Op, OpErrorKind, QuantParams, int8_relu_oracle};
use common::ops::{OpElem, kind, op_values, refused};
use common::{Rng, assert_bits};
use half::{bf16, f16};

const N: usize = 1000;

fn forward_case<T: OpElem>(op: &str, args: &[(&str, f64)], act: Activation) {
    let mut rng = Rng(0x5eed ^ N as u64);
    let x = op_values::<T>(&mut rng, N);
    let want: Vec<T> = x.iter().map(|&v| act.oracle_forward(v).unwrap()).collect();
    for in_place in [false, true] {
        let mut ws = Workspace::new();
        ws.feed_blob("X", Tensor::from_vec(vec![10, N / 10], x.clone()).unwrap());
        let out = if in_place { "X" } else { "Y" };
        let mut def = OperatorDef::new(op).input("X").output(out);
        for &(name, v) in args {
            def = def.arg(name, v);
        }
        let o = ws.create_operator(&def).unwrap();
        assert_eq!(o.is_in_place(), in_place);
        ws.run_operator_once(&def).unwrap();
        let y = ws.fetch_blob(out).unwrap();
        assert_eq!(y.dims(), [10, N / 10]);
        assert_bits(
            y.as_slice::<T>().unwrap(),
            &want,
            &format!("{op} {} in_place={in_place}", T::NAME),
        );
        if !in_place {
            assert_bits(
                ws.fetch_blob("X").unwrap().as_slice::<T>().unwrap(),
                &x,
                "X untouched",
            );
        }
    }
}

fn backward_case<T: OpElem>(op: &str, args: &[(&str, f64)], act: Activation) {
    let mut rng = Rng(0xbac ^ N as u64);
    // Y: forward outputs (and specials, including NaN and -0.0); dY: anything.
    let y = op_values::<T>(&mut rng, N);
    let dy: Vec<T> = (0..N).map(|_| T::random(&mut rng)).collect();
    let want: Vec<T> = y
        .iter()
        .zip(&dy)
        .map(|(&a, &b)| act.oracle_backward(a, b).unwrap())
        .collect();
    for in_place in [false, true] {
        let mut ws = Workspace::new();
        ws.feed_blob("Y", Tensor::from_vec(vec![N], y.clone()).unwrap());
        ws.feed_blob("Y_grad", Tensor::from_vec(vec![N], dy.clone()).unwrap());
        let out = if in_place { "Y_grad" } else { "X_grad" };
        let mut def = OperatorDef::new(op).input("Y").input("Y_grad").output(out);
        for &(name, v) in args {
            def = def.arg(name, v);
        }
        ws.run_operator_once(&def).unwrap();
        let dx = ws.fetch_blob(out).unwrap();
        assert_bits(
            dx.as_slice::<T>().unwrap(),
            &want,
            &format!("{op} {} in_place={in_place}", T::NAME),
        );
        assert_bits(
            ws.fetch_blob("Y").unwrap().as_slice::<T>().unwrap(),
            &y,
            "Y untouched",
        );
    }
}

fn all_ops<T: OpElem>() {
    let alpha = f64::from(0.2f32);
    // Clip: the defaults (the type's extremes), hardtanh, one bound given, zeros.
    let clip_default = Activation::caffe2_default(Op::Clip).unwrap();
    forward_case::<T>("Clip", &[], clip_default);
    let hardtanh = Activation::clip(-1.0, 1.0).unwrap();
    forward_case::<T>("Clip", &[("min", -1.0), ("max", 1.0)], hardtanh);
    forward_case::<T>(
        "Clip",
        &[("max", 6.0)],
        Activation::clip(f64::MIN, 6.0).unwrap(),
    );
    let zeros = Activation::clip(-0.0, 0.0).unwrap();
    forward_case::<T>("Clip", &[("min", -0.0), ("max", 0.0)], zeros);
    backward_case::<T>("ClipGradient", &[], clip_default);
    backward_case::<T>("ClipGradient", &[("min", -1.0), ("max", 1.0)], hardtanh);
    let low = Activation::clip(-0.75, f64::MAX).unwrap();
    backward_case::<T>("ClipGradient", &[("min", -0.75)], low);
    forward_case::<T>("Relu", &[], Activation::relu());
    forward_case::<T>("ReluN", &[], Activation::relu_n(6.0).unwrap());
    forward_case::<T>("ReluN", &[("n", 0.75)], Activation::relu_n(0.75).unwrap());
    forward_case::<T>(
        "ReluN",
        &[("n", f64::INFINITY)],
        Activation::relu_n(f64::INFINITY).unwrap(),
    );
    forward_case::<T>(
        "LeakyRelu",
        &[],
        Activation::leaky_relu(f64::from(0.01f32)).unwrap(),
    );
    forward_case::<T>(
        "LeakyRelu",
        &[("alpha", 0.2)],
        Activation::leaky_relu(alpha).unwrap(),
    );
    forward_case::<T>(
        "LeakyRelu",
        &[("alpha", 0.0)],
        Activation::leaky_relu(0.0).unwrap(),
    );
    backward_case::<T>("ReluGradient", &[], Activation::relu());
    backward_case::<T>("ReluNGradient", &[], Activation::relu_n(6.0).unwrap());
    backward_case::<T>(
        "ReluNGradient",
        &[("n", 0.75)],
        Activation::relu_n(0.75).unwrap(),
    );
    backward_case::<T>(
        "LeakyReluGradient",
        &[],
        Activation::leaky_relu(f64::from(0.01f32)).unwrap(),
    );
    backward_case::<T>(
        "LeakyReluGradient",
        &[("alpha", 0.2)],
        Activation::leaky_relu(alpha).unwrap(),
    );
}

#[test]
fn f32_operators_match_the_oracle_bit_for_bit() {
    all_ops::<f32>();
}

#[test]
fn f64_operators_match_the_oracle_bit_for_bit() {
    all_ops::<f64>();
}

#[test]
fn f16_operators_match_the_oracle_bit_for_bit() {
    all_ops::<half::f16>();
}

#[test]
fn bf16_operators_match_the_oracle_bit_for_bit() {
    all_ops::<half::bf16>();
}

#[test]
fn large_tensors_take_the_threaded_path_and_still_match() {
    // 4 Mi f32 = 16 MiB, above the threading threshold.
    let n = 1 << 22;
    let mut rng = Rng(7);
    let x: Vec<f32> = (0..n).map(|_| f32::random(&mut rng)).collect();
    let act = Activation::relu_n(6.0).unwrap();
    let mut ws = Workspace::new();
    ws.feed_blob("X", Tensor::from_vec(vec![n], x.clone()).unwrap());
    ws.run_operator_once(&OperatorDef::new("ReluN").input("X").output("X"))
        .unwrap();
    let want: Vec<f32> = x.iter().map(|&v| act.oracle_forward(v).unwrap()).collect();
    assert_bits(
        ws.fetch_blob("X").unwrap().as_slice::<f32>().unwrap(),
        &want,
        "ReluN 4Mi",
    );
}

#[test]
fn every_available_engine_gives_the_oracle_bits() {
    let mut rng = Rng(11);
    let x = op_values::<f32>(&mut rng, 257);
    let act = Activation::leaky_relu(f64::from(0.3f32)).unwrap();
    let want: Vec<f32> = x.iter().map(|&v| act.oracle_forward(v).unwrap()).collect();
    for engine in [
        "",
        "no-such-engine",
        "scalar",
        "portable",
        "avx2",
        "avx512",
        "neon",
        "simd128",
    ] {
        let mut ws = Workspace::new();
        ws.feed_blob("X", Tensor::from_vec(vec![257], x.clone()).unwrap());
        let def = OperatorDef::new("LeakyRelu")
            .input("X")
            .output("Y")
            .arg("alpha", 0.3)
            .engine(engine);
        let op = ws.create_operator(&def).unwrap();
        if let Ok(isa) = engine.parse::<Isa>()
            && isa.is_available()
        {
            assert_eq!(op.kernel().unwrap().isa(), isa, "engine {engine}");
        }
        ws.run_operator_once(&def).unwrap();
        assert_bits(
            ws.fetch_blob("Y").unwrap().as_slice::<f32>().unwrap(),
            &want,
            engine,
        );
    }
}

#[test]
fn output_replaces_an_existing_blob_of_any_type_and_shape() {
    let x = vec![-2.0f64, -0.0, 3.0, 9.0, f64::NAN, 1.5];
    let want: Vec<f64> = x
        .iter()
        .map(|&v| Activation::relu6().oracle_forward(v).unwrap())
        .collect();
    let olds = [
        Tensor::from_vec(vec![6], vec![1.0f64; 6]).unwrap(), // same type and length: reused
        Tensor::from_vec(vec![2, 2], vec![1.0f32; 4]).unwrap(),
        Tensor::quantized(
            vec![3],
            vec![1, 2, 3],
            QuantParams {
                scale: 0.5,
                zero_point: 2,
            },
        )
        .unwrap(),
    ];
    for old in olds {
        let mut ws = Workspace::new();
        ws.feed_blob("X", Tensor::from_vec(vec![2, 3], x.clone()).unwrap());
        ws.feed_blob("Y", old);
        ws.run_operator_once(&OperatorDef::new("ReluN").input("X").output("Y"))
            .unwrap();
        let y = ws.fetch_blob("Y").unwrap();
        assert_eq!(
            (y.dims(), y.dtype(), y.quant()),
            (&[2usize, 3][..], DataType::F64, None)
        );
        assert_bits(y.as_slice::<f64>().unwrap(), &want, "Y");
    }
}

#[test]
fn int8_relu_matches_the_oracle_and_carries_quantization() {
    let x: Vec<u8> = (0..=255).collect();
    for zp in [0u8, 1, 127, 128, 254, 255] {
        let q = QuantParams {
            scale: 0.125,
            zero_point: zp,
        };
        let want: Vec<u8> = x.iter().map(|&v| int8_relu_oracle(v, zp)).collect();
        for (out, args) in [("Y", false), ("X", false), ("Y", true), ("X", true)] {
            let mut ws = Workspace::new();
            ws.feed_blob("X", Tensor::quantized(vec![16, 16], x.clone(), q).unwrap());
            let mut def = OperatorDef::new("Int8Relu").input("X").output(out);
            if args {
                def = def.arg("Y_scale", 0.125).arg("Y_zero_point", i64::from(zp));
            }
            ws.run_operator_once(&def).unwrap();
            let y = ws.fetch_blob(out).unwrap();
            assert_eq!(y.as_u8().unwrap(), want, "zp {zp} out {out}");
            assert_eq!(y.quant(), Some(q));
            assert_eq!(y.dims(), [16, 16]);
        }
    }
}

#[test]
fn int8_relu_refuses_mismatching_quantization() {
    let q = QuantParams {
        scale: 0.5,
        zero_point: 10,
    };
    let mut ws = Workspace::new();
    ws.feed_blob(
        "X",
        Tensor::quantized(vec![4], vec![0, 9, 10, 200], q).unwrap(),
    );
    ws.feed_blob("Y", Tensor::quantized(vec![1], vec![7], q).unwrap());
    for (def, arg) in [
        (
            OperatorDef::new("Int8Relu")
                .input("X")
                .output("Y")
                .arg("Y_scale", 0.25),
            "Y_scale",
        ),
        (
            OperatorDef::new("Int8Relu")
                .input("X")
                .output("X")
                .arg("Y_zero_point", 11),
            "Y_zero_point",
        ),
        (
            OperatorDef::new("Int8Relu")
                .input("X")
                .output("Y")
                .arg("Y_scale", 0.5)
                .arg("Y_zero_point", 0),
            "Y_zero_point",
        ),
    ] {
        let before = ws.clone();
        let e = ws.run_operator_once(&def).unwrap_err();
        assert!(
            matches!(e, Error::QuantizationMismatch { arg: a, .. } if a == arg),
            "{e:?}"
        );
        assert!(ws == before);
    }
    // A float tensor into Int8Relu, a quantized one into Relu.
    ws.feed_blob("F", Tensor::from_vec(vec![2], vec![1.0f32, -1.0]).unwrap());
    refused(
        &mut ws,
        &OperatorDef::new("Int8Relu").input("F").output("Y"),
        OpErrorKind::TypeMismatch,
    );
    let msg = refused(
        &mut ws,
        &OperatorDef::new("Relu").input("X").output("Y"),
        OpErrorKind::TypeMismatch,
    );
    assert!(msg.contains("Int8Relu"), "{msg}");
}

fn populated() -> Workspace {
    let mut ws = Workspace::new();
    ws.feed_blob(
        "X",
        Tensor::from_vec(vec![2, 3], vec![-1.0f32, 2.0, f32::NAN, -0.0, 7.0, 0.5]).unwrap(),
    );
    ws.feed_blob(
        "X64",
        Tensor::from_vec(vec![2, 3], vec![-1.0f64, 2.0, 3.0, -0.0, 7.0, 0.5]).unwrap(),
    );
    ws.feed_blob(
        "Y",
        Tensor::from_vec(vec![2, 3], vec![0.0f32, 2.0, 3.0, 0.0, 6.0, 0.5]).unwrap(),
    );
    ws.feed_blob("dY", Tensor::from_vec(vec![2, 3], vec![1.0f32; 6]).unwrap());
    ws.feed_blob(
        "dY_t",
        Tensor::from_vec(vec![3, 2], vec![1.0f32; 6]).unwrap(),
    );
    ws.feed_blob(
        "dY_64",
        Tensor::from_vec(vec![2, 3], vec![1.0f64; 6]).unwrap(),
    );
    ws.feed_blob("out", Tensor::from_vec(vec![1], vec![42.0f32]).unwrap());
    ws.feed_blob(
        "H",
        Tensor::from_vec(vec![2], vec![f16::from_f32(-1.0), f16::ONE]).unwrap(),
    );
    ws.feed_blob(
        "B",
        Tensor::from_vec(vec![2], vec![bf16::from_f32(-1.0), bf16::ONE]).unwrap(),
    );
    ws
}

#[test]
fn every_refusal_leaves_the_workspace_unchanged() {
    use OpErrorKind::*;
    let cases: Vec<(OperatorDef, OpErrorKind, &str)> = vec![
        (
            OperatorDef::new("Softmax").input("X").output("out"),
            UnknownOp,
            "`Softmax`",
        ),
        (
            OperatorDef::new("Relu").input("X").input("Y").output("out"),
            InputCount,
            "got 2",
        ),
        (OperatorDef::new("Relu").input("X"), OutputCount, "got 0"),
        (
            OperatorDef::new("Relu").input("nope").output("out"),
            MissingBlob,
            "`nope`",
        ),
        (
            OperatorDef::new("ReluGradient")
                .input("Y")
                .input("nope")
                .output("out"),
            MissingBlob,
            "input 1 (dY) `nope`",
        ),
        (
            OperatorDef::new("ReluGradient")
                .input("Y")
                .input("dY_64")
                .output("out"),
            TypeMismatch,
            "f64",
        ),
        (
            OperatorDef::new("ReluGradient")
                .input("Y")
                .input("dY_t")
                .output("out"),
            ShapeMismatch,
            "[3, 2]",
        ),
        (
            OperatorDef::new("ReluGradient")
                .input("Y")
                .input("dY_t")
                .output("dY_t"),
            ShapeMismatch,
            "[2, 3]",
        ),
        (
            OperatorDef::new("ReluN")
                .input("X")
                .output("out")
                .arg("n", 6),
            ArgumentType,
            "`n`",
        ),
        (
            OperatorDef::new("ReluN")
                .input("X")
                .output("X")
                .arg("n", -6.0),
            ArgumentValue,
            "-6",
        ),
        (
            OperatorDef::new("LeakyRelu")
                .input("X64")
                .output("X64")
                .arg("alpha", f32::NAN),
            ArgumentValue,
            "NaN",
        ),
        (
            OperatorDef::new("ReluGradient")
                .input("Y")
                .input("dY")
                .output("Y"),
            InPlaceNotAllowed,
            "{1,0}",
        ),
        (
            OperatorDef::new("LeakyReluGradient")
                .input("Y")
                .input("Y")
                .output("Y"),
            InPlaceNotAllowed,
            "`Y`",
        ),
        (
            OperatorDef::new("Clip")
                .input("X")
                .output("X")
                .arg("min", 2.0)
                .arg("max", 1.0),
            ArgumentValue,
            "`min` = 2.0, `max` = 1.0",
        ),
        (
            OperatorDef::new("Clip")
                .input("X")
                .output("out")
                .arg("min", f32::NAN),
            ArgumentValue,
            "`min` = NaN",
        ),
        (
            OperatorDef::new("ClipGradient")
                .input("Y")
                .input("dY")
                .output("dY")
                .arg("max", f32::NEG_INFINITY),
            ArgumentValue,
            "min must be <= max",
        ),
        (
            OperatorDef::new("ClipGradient")
                .input("Y")
                .input("dY")
                .output("Y"),
            InPlaceNotAllowed,
            "{1,0}",
        ),
    ];
    for (def, want, needle) in cases {
        let mut ws = populated();
        let msg = refused(&mut ws, &def, want);
        assert!(msg.contains(needle), "{def}: `{msg}` lacks `{needle}`");
        assert!(ws.create_operator(&def).is_err());
    }
}

#[test]
fn half_types_are_stored_and_inferred() {
    // f16/bf16 tensors live in the workspace, go through tensor and cost inference,
    // and run.
    let ws = populated();
    for b in ["H", "B"] {
        let t = ws.fetch_blob(b).unwrap();
        let def = OperatorDef::new("Relu").input(b).output("Y");
        let s = caffe2op_relu::ops::schema("Relu").unwrap();
        assert_eq!(s.infer(&def, &[t.shape()]).unwrap(), vec![t.shape()]);
        assert_eq!(s.cost(&def, &[t.shape()]).unwrap().bytes_read, 4);
        let mut ws2 = ws.clone();
        ws2.run_operator_once(&def).unwrap();
        assert_eq!(ws2.fetch_blob("Y").unwrap().dtype(), t.dtype());
    }
}

#[test]
fn create_operator_checks_blobs_without_running() {
    let ws = populated();
    let op = ws
        .create_operator(&OperatorDef::new("ReluN").input("X").output("X"))
        .unwrap();
    assert!(op.is_in_place());
    assert_eq!(op.schema().name(), "ReluN");
    assert_eq!(op.check(&ws).unwrap(), ws.fetch_blob("X").unwrap().shape());
    assert!(ws == populated(), "creating an operator must not run it");
    let e = ws
        .create_operator(&OperatorDef::new("ReluN").input("Q").output("X"))
        .unwrap_err();
    assert_eq!(kind(&e), OpErrorKind::MissingBlob);
}

#[test]
fn workspace_blob_management() {
    let mut ws = populated();
    assert_eq!(ws.len(), 9);
    assert!(ws.has_blob("X") && !ws.has_blob("x"));
    let names: Vec<&str> = ws.blob_names().collect();
    let mut sorted = names.clone();
    sorted.sort_unstable();
    assert_eq!(names, sorted);
    let e = ws.fetch_blob("missing").unwrap_err();
    assert_eq!(kind(&e), OpErrorKind::MissingBlob);
    assert!(e.to_string().contains("`missing`"));
    let old = ws
        .feed_blob("X", Tensor::full(vec![1], 1.0f32).unwrap())
        .unwrap();
    assert_eq!(old.dims(), [2, 3]);
    assert!(ws.remove_blob("X").is_some() && !ws.has_blob("X"));
    assert!(!ws.is_empty());
}

#[test]
fn tensor_construction_checks_shapes() {
    let e = Tensor::from_vec(vec![2, 3], vec![0.0f32; 5]).unwrap_err();
    assert_eq!(kind(&e), OpErrorKind::ShapeMismatch);
    assert!(
        e.to_string().contains("[2, 3]") && e.to_string().contains('5'),
        "{e}"
    );
    let e = Tensor::from_vec(vec![usize::MAX, 2], Vec::<f64>::new()).unwrap_err();
    assert_eq!(kind(&e), OpErrorKind::Overflow);
    let e = Tensor::quantized(
        vec![1],
        vec![0],
        QuantParams {
            scale: f32::NAN,
            zero_point: 0,
        },
    )
    .unwrap_err();
    assert_eq!(kind(&e), OpErrorKind::ArgumentValue);
    let s = Tensor::from_vec(Vec::<usize>::new(), vec![3.0f64]).unwrap();
    assert_eq!((s.numel(), s.dims().len()), (1, 0));
    let e = Tensor::full(vec![usize::MAX / 2], 0.0f32).unwrap_err();
    assert_eq!(kind(&e), OpErrorKind::Overflow);
    let z = Tensor::from_vec(vec![0, 5], Vec::<f32>::new()).unwrap();
    assert_eq!(z.numel(), 0);
    // Bitwise equality: NaN equals itself, 0.0 differs from -0.0.
    let a = Tensor::from_vec(vec![1], vec![f32::NAN]).unwrap();
    assert!(a == a.clone());
    assert!(Tensor::full(vec![1], 0.0f32).unwrap() != Tensor::full(vec![1], -0.0f32).unwrap());
    assert_eq!(a.into_vec::<f64>().unwrap_err().dtype(), DataType::F32);
}

#[test]
fn empty_tensors_run() {
    let mut ws = Workspace::new();
    ws.feed_blob("X", Tensor::from_vec(vec![0], Vec::<f32>::new()).unwrap());
    ws.run_operator_once(&OperatorDef::new("LeakyRelu").input("X").output("Y"))
        .unwrap();
    assert_eq!(ws.fetch_blob("Y").unwrap().numel(), 0);
}

/// Bounds valid as given but reversed once rounded to the tensor's type (70000 is
/// `+inf` in f16, above its highest finite value, the default `max`): refused before
/// anything is written, naming both bounds and the type.
#[test]
fn clip_bounds_reversed_by_rounding_are_refused() {
    for op in ["Clip", "ClipGradient"] {
        let mut def = OperatorDef::new(op).input("H");
        if op == "ClipGradient" {
            def = def.input("H");
        }
        let def = def.output("out").arg("min", 70000.0);
        let mut ws = populated();
        let before = ws.clone();
        let e = ws.run_operator_once(&def).unwrap_err();
        assert!(
            matches!(
                e,
                Error::InvalidParameters {
                    names: ["min", "max"],
                    dtype: "f16",
                    ..
                }
            ),
            "{op}: {e:?}"
        );
        assert!(
            ws == before,
            "{op}: a refused operator changed the workspace"
        );
        // The same bounds are valid for bf16, whose range holds 70000.
        let def = OperatorDef::new("Clip")
            .input("B")
            .output("out")
            .arg("min", 70000.0);
        ws.run_operator_once(&def).unwrap();
    }
}
