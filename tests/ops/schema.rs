//! Schemas, the registry, tensor inference and cost inference (SPEC §6).

use crate::common;

use caffe2op_relu::OpErrorKind;
use caffe2op_relu::ops::{ArgType, DataType, OperatorDef, TensorShape, registered_ops, schema};
use common::ops::kind;

const NAMES: [&str; 10] = [
    "Relu",
    "ReluGradient",
    "ReluN",
    "ReluNGradient",
    "LeakyRelu",
    "LeakyReluGradient",
    "Clip",
    "ClipGradient",
    "Int8Relu",
    "Int8LeakyRelu",
];

/// The fill operators, registered after the family.
const FILLS: [&str; 5] = [
    "GivenTensorFill",
    "GivenTensorDoubleFill",
    "GivenTensorIntFill",
    "ConstantFill",
    "Int8GivenTensorFill",
];

/// PRelu and its gradient, registered after the fill operators.
const PRELU: [&str; 2] = ["PRelu", "PReluGradient"];

fn def_for(op: &str) -> OperatorDef {
    let s = schema(op).unwrap();
    let mut d = OperatorDef::new(op);
    for io in s.inputs() {
        d = d.input(io.name);
    }
    for io in s.outputs() {
        d = d.output(format!("{}_out", io.name));
    }
    d
}

#[test]
fn registry_lists_the_family_then_the_fills_then_prelu_in_order() {
    let names: Vec<&str> = registered_ops().iter().map(|s| s.name()).collect();
    assert_eq!(names, [&NAMES[..], &FILLS[..], &PRELU[..]].concat());
    for n in NAMES.into_iter().chain(PRELU) {
        assert_eq!(schema(n).unwrap().name(), n);
        assert!(!schema(n).unwrap().is_filler());
    }
    for n in FILLS {
        let s = schema(n).unwrap();
        assert!(s.is_filler() && !s.is_gradient());
        assert_eq!((s.num_inputs(), s.num_outputs()), (0, 1));
        assert!(s.in_place_pairs().is_empty());
        assert_eq!(s.gradient_op(), None);
    }
    assert!(schema("Softmax").is_none());
    assert!(
        schema("relu").is_none(),
        "lookup is case-sensitive, as in Caffe2"
    );
}

#[test]
fn counts_names_and_in_place_pairs() {
    // (op, inputs, outputs, in-place pairs)
    type Row = (
        &'static str,
        &'static [&'static str],
        &'static [&'static str],
        &'static [(usize, usize)],
    );
    let table: [Row; 10] = [
        ("Relu", &["X"], &["Y"], &[(0, 0)]),
        ("ReluGradient", &["Y", "dY"], &["dX"], &[(1, 0)]),
        ("ReluN", &["X"], &["Y"], &[(0, 0)]),
        ("ReluNGradient", &["Y", "dY"], &["dX"], &[(1, 0)]),
        ("LeakyRelu", &["X"], &["Y"], &[(0, 0)]),
        ("LeakyReluGradient", &["Y", "dY"], &["dX"], &[(1, 0)]),
        ("Clip", &["X"], &["Y"], &[(0, 0)]),
        ("ClipGradient", &["Y", "dY"], &["dX"], &[(1, 0)]),
        ("Int8Relu", &["X"], &["Y"], &[(0, 0)]),
        ("Int8LeakyRelu", &["X"], &["Y"], &[(0, 0)]),
    ];
    for (op, ins, outs, pairs) in table {
        let s = schema(op).unwrap();
        assert_eq!(s.num_inputs(), ins.len(), "{op}");
        assert_eq!(s.num_outputs(), outs.len(), "{op}");
        assert_eq!(
            s.inputs().iter().map(|i| i.name).collect::<Vec<_>>(),
            ins,
            "{op}"
        );
        assert_eq!(
            s.outputs().iter().map(|i| i.name).collect::<Vec<_>>(),
            outs,
            "{op}"
        );
        assert_eq!(s.in_place_pairs(), pairs, "{op}");
        assert!(!s.doc().is_empty());
        for i in 0..ins.len() {
            assert_eq!(s.allows_in_place(i, 0), pairs.contains(&(i, 0)), "{op} {i}");
        }
        assert_eq!(s.is_gradient(), op.ends_with("Gradient"));
    }
}

#[test]
fn arguments_types_and_defaults() {
    type Row = (
        &'static str,
        &'static [(&'static str, ArgType, &'static str)],
    );
    const BOUNDS: &[(&str, ArgType, &str)] = &[
        (
            "min",
            ArgType::Float,
            "the element type's lowest finite value",
        ),
        (
            "max",
            ArgType::Float,
            "the element type's highest finite value",
        ),
    ];
    let table: [Row; 10] = [
        ("Relu", &[]),
        ("ReluGradient", &[]),
        ("ReluN", &[("n", ArgType::Float, "6.0")]),
        ("ReluNGradient", &[("n", ArgType::Float, "6.0")]),
        ("LeakyRelu", &[("alpha", ArgType::Float, "0.01")]),
        ("LeakyReluGradient", &[("alpha", ArgType::Float, "0.01")]),
        ("Clip", BOUNDS),
        ("ClipGradient", BOUNDS),
        (
            "Int8Relu",
            &[
                ("Y_scale", ArgType::Float, "X's scale"),
                ("Y_zero_point", ArgType::Int, "X's zero point"),
            ],
        ),
        (
            "Int8LeakyRelu",
            &[
                ("alpha", ArgType::Float, "0.01"),
                ("Y_scale", ArgType::Float, "1.0"),
                ("Y_zero_point", ArgType::Int, "0"),
            ],
        ),
    ];
    for (op, args) in table {
        let got: Vec<_> = schema(op)
            .unwrap()
            .args()
            .iter()
            .map(|a| (a.name, a.ty, a.default))
            .collect();
        assert_eq!(got, args, "{op}");
        for a in schema(op).unwrap().args() {
            assert!(!a.doc.is_empty());
        }
    }
}

#[test]
fn gradient_op_names() {
    let g: Vec<_> = NAMES
        .iter()
        .map(|n| schema(n).unwrap().gradient_op())
        .collect();
    assert_eq!(
        g,
        [
            Some("ReluGradient"),
            None,
            Some("ReluNGradient"),
            None,
            Some("LeakyReluGradient"),
            None,
            Some("ClipGradient"),
            None,
            None,
            None
        ]
    );
}

/// SPEC §6: (op, flops per element, inputs read) with bytes = N * s per tensor.
const COST_TABLE: [(&str, u64, u64); 7] = [
    ("Relu", 0, 1),
    ("ReluGradient", 1, 2),
    ("ReluN", 2, 1),
    ("ReluNGradient", 2, 2),
    ("LeakyRelu", 2, 1),
    ("LeakyReluGradient", 2, 2),
    ("Int8Relu", 0, 1),
];

#[test]
fn cost_numbers_for_every_op_and_type() {
    let dims = vec![3usize, 5, 7];
    let n = 105u64;
    for (op, flops, reads) in COST_TABLE {
        let s = schema(op).unwrap();
        let types: &[(DataType, u64)] = if op == "Int8Relu" {
            &[(DataType::U8, 1)]
        } else {
            &[
                (DataType::F32, 4),
                (DataType::F64, 8),
                (DataType::F16, 2),
                (DataType::Bf16, 2),
            ]
        };
        for &(dt, size) in types {
            let shapes = vec![TensorShape::new(dt, dims.clone()); s.num_inputs()];
            let c = s.cost(&def_for(op), &shapes).unwrap();
            assert_eq!(c.flops, flops * n, "{op} {dt}");
            assert_eq!(c.bytes_read, reads * n * size, "{op} {dt}");
            assert_eq!(c.bytes_written, n * size, "{op} {dt}");
            assert_eq!(c.params_bytes, 0, "{op} {dt}");
        }
    }
}

#[test]
fn cost_matches_caffe2_for_f32_forward_ops() {
    // Caffe2's PointwiseCostInference<k>: flops k*N, read N*4, written N*4.
    for (op, k) in [("Relu", 0), ("ReluN", 2), ("LeakyRelu", 2)] {
        let c = schema(op)
            .unwrap()
            .cost(&def_for(op), &[TensorShape::new(DataType::F32, [10, 10])])
            .unwrap();
        assert_eq!(
            (c.flops, c.bytes_read, c.bytes_written, c.params_bytes),
            (k * 100, 400, 400, 0)
        );
    }
}

#[test]
fn cost_of_empty_and_scalar_shapes() {
    let s = schema("ReluNGradient").unwrap();
    let z = TensorShape::new(DataType::F64, [4, 0, 9]);
    let c = s.cost(&def_for("ReluNGradient"), &[z.clone(), z]).unwrap();
    assert_eq!((c.flops, c.bytes_read, c.bytes_written), (0, 0, 0));
    let scalar = TensorShape::new(DataType::F64, []);
    let c = s
        .cost(&def_for("ReluNGradient"), &[scalar.clone(), scalar])
        .unwrap();
    assert_eq!((c.flops, c.bytes_read, c.bytes_written), (2, 16, 8));
}

#[test]
fn cost_overflow_is_an_error() {
    let big = isize::MAX as usize;
    let cases: [(&str, DataType, Vec<usize>); 5] = [
        ("Relu", DataType::F32, vec![big, 2]),
        ("Relu", DataType::F32, vec![usize::MAX, usize::MAX]),
        ("LeakyRelu", DataType::F64, vec![big / 8 + 1]),
        ("ReluN", DataType::F16, vec![big / 2 + 1]),
        ("Int8Relu", DataType::U8, vec![big, 2]),
    ];
    for (op, dt, dims) in cases {
        let s = schema(op).unwrap();
        let e = s
            .cost(&def_for(op), &[TensorShape::new(dt, dims.clone())])
            .unwrap_err();
        assert_eq!(kind(&e), OpErrorKind::Overflow, "{op} {dims:?}: {e}");
        assert!(e.to_string().contains(&format!("{dims:?}")), "{e}");
        let e = s
            .infer(&def_for(op), &[TensorShape::new(dt, dims.clone())])
            .unwrap_err();
        assert_eq!(kind(&e), OpErrorKind::Overflow, "{op} {dims:?}: {e}");
    }
    // The largest shapes that can exist still have a cost.
    let c = schema("Int8Relu")
        .unwrap()
        .cost(
            &def_for("Int8Relu"),
            &[TensorShape::new(DataType::U8, [big])],
        )
        .unwrap();
    assert_eq!((c.bytes_read, c.bytes_written), (big as u64, big as u64));
    let g = TensorShape::new(DataType::F64, [big / 8]);
    let c = schema("LeakyReluGradient")
        .unwrap()
        .cost(&def_for("LeakyReluGradient"), &[g.clone(), g])
        .unwrap();
    assert_eq!(c.bytes_read, (big / 8) as u64 * 16);
    assert_eq!(c.flops, (big / 8) as u64 * 2);
}

#[test]
fn cost_and_inference_refuse_bad_shapes() {
    let f32s = |d: &[usize]| TensorShape::new(DataType::F32, d);
    let relu = schema("Relu").unwrap();
    let e = relu.cost(&def_for("Relu"), &[]).unwrap_err();
    assert_eq!(kind(&e), OpErrorKind::InputCount);
    let e = relu
        .cost(&def_for("Relu"), &[TensorShape::new(DataType::U8, [3])])
        .unwrap_err();
    assert_eq!(kind(&e), OpErrorKind::TypeMismatch);
    assert!(e.to_string().contains("Int8Relu"), "{e}");
    let i8 = schema("Int8Relu").unwrap();
    let e = i8.infer(&def_for("Int8Relu"), &[f32s(&[3])]).unwrap_err();
    assert_eq!(kind(&e), OpErrorKind::TypeMismatch);
    let g = schema("ReluGradient").unwrap();
    let e = g
        .cost(&def_for("ReluGradient"), &[f32s(&[2, 3]), f32s(&[3, 2])])
        .unwrap_err();
    assert_eq!(kind(&e), OpErrorKind::ShapeMismatch);
    assert!(
        e.to_string().contains("[2, 3]") && e.to_string().contains("[3, 2]"),
        "{e}"
    );
    let e = g
        .infer(
            &def_for("ReluGradient"),
            &[f32s(&[6]), TensorShape::new(DataType::F64, [6])],
        )
        .unwrap_err();
    assert_eq!(kind(&e), OpErrorKind::TypeMismatch);
}

#[test]
fn tensor_inference_identical_type_and_shape() {
    // PReluGradient's two outputs are in `prelu.rs`.
    for op in NAMES {
        let s = schema(op).unwrap();
        let dt = if op.starts_with("Int8") {
            DataType::U8
        } else {
            DataType::Bf16
        };
        let shape = TensorShape::new(dt, [2, 0, 5]);
        let out = s
            .infer(&def_for(op), &vec![shape.clone(); s.num_inputs()])
            .unwrap();
        assert_eq!(out, vec![shape], "{op}");
    }
}

#[test]
fn check_def_refusals_name_the_argument_and_value() {
    let cases: Vec<(OperatorDef, OpErrorKind, &str)> = vec![
        (
            OperatorDef::new("ReluN").input("X").output("Y").arg("n", 6),
            OpErrorKind::ArgumentType,
            "`n`",
        ),
        (
            OperatorDef::new("ReluN")
                .input("X")
                .output("Y")
                .arg("n", 0.0),
            OpErrorKind::ArgumentValue,
            "n",
        ),
        (
            OperatorDef::new("ReluN")
                .input("X")
                .output("Y")
                .arg("n", -1.0),
            OpErrorKind::ArgumentValue,
            "-1",
        ),
        (
            OperatorDef::new("ReluN")
                .input("X")
                .output("Y")
                .arg("n", f32::NAN),
            OpErrorKind::ArgumentValue,
            "NaN",
        ),
        (
            OperatorDef::new("ReluN")
                .input("X")
                .output("Y")
                .arg("n", 1e-50),
            OpErrorKind::ArgumentValue,
            "n",
        ),
        (
            OperatorDef::new("ReluNGradient")
                .input("Y")
                .input("dY")
                .output("dX")
                .arg("n", "six"),
            OpErrorKind::ArgumentType,
            "string",
        ),
        (
            OperatorDef::new("LeakyRelu")
                .input("X")
                .output("Y")
                .arg("alpha", -0.5),
            OpErrorKind::ArgumentValue,
            "-0.5",
        ),
        (
            OperatorDef::new("LeakyRelu")
                .input("X")
                .output("Y")
                .arg("alpha", f32::INFINITY),
            OpErrorKind::ArgumentValue,
            "inf",
        ),
        (
            OperatorDef::new("LeakyRelu")
                .input("X")
                .output("Y")
                .arg("alpha", 1e300),
            OpErrorKind::ArgumentValue,
            "inf",
        ),
        (
            OperatorDef::new("LeakyReluGradient")
                .input("Y")
                .input("dY")
                .output("dX")
                .arg("alpha", vec![0.1f32]),
            OpErrorKind::ArgumentType,
            "list of floats",
        ),
        (
            OperatorDef::new("Int8Relu")
                .input("X")
                .output("Y")
                .arg("Y_zero_point", 256),
            OpErrorKind::ArgumentValue,
            "256",
        ),
        (
            OperatorDef::new("Int8Relu")
                .input("X")
                .output("Y")
                .arg("Y_zero_point", -1),
            OpErrorKind::ArgumentValue,
            "-1",
        ),
        (
            OperatorDef::new("Int8Relu")
                .input("X")
                .output("Y")
                .arg("Y_zero_point", 1.0),
            OpErrorKind::ArgumentType,
            "Y_zero_point",
        ),
        (
            OperatorDef::new("Int8Relu")
                .input("X")
                .output("Y")
                .arg("Y_scale", 0.0),
            OpErrorKind::ArgumentValue,
            "Y_scale",
        ),
        (
            OperatorDef::new("Int8Relu")
                .input("X")
                .output("Y")
                .arg("Y_scale", 3),
            OpErrorKind::ArgumentType,
            "Y_scale",
        ),
        (
            OperatorDef::new("Relu").input("X").output("Y").output("Z"),
            OpErrorKind::OutputCount,
            "\"Z\"",
        ),
        (
            OperatorDef::new("Relu").output("Y"),
            OpErrorKind::InputCount,
            "got 0",
        ),
        (
            OperatorDef::new("ReluGradient").input("Y").output("dX"),
            OpErrorKind::InputCount,
            "Y, dY",
        ),
        (
            OperatorDef::new("Relu").input("").output("Y"),
            OpErrorKind::MissingBlob,
            "empty",
        ),
        (
            OperatorDef::new("ReluGradient")
                .input("A")
                .input("dA")
                .output("A"),
            OpErrorKind::InPlaceNotAllowed,
            "{1,0}",
        ),
        (
            OperatorDef::new("LeakyReluGradient")
                .input("A")
                .input("A")
                .output("A"),
            OpErrorKind::InPlaceNotAllowed,
            "`A`",
        ),
    ];
    for (def, want, needle) in cases {
        let s = schema(&def.op_type).unwrap();
        let e = s.check_def(&def).unwrap_err();
        assert_eq!(kind(&e), want, "{def}: {e}");
        assert!(
            e.to_string().contains(needle),
            "{def}: `{e}` lacks `{needle}`"
        );
        assert!(e.to_string().contains(&def.op_type), "{e}");
    }
    // Duplicate argument names (possible in a decoded definition).
    let mut d = OperatorDef::new("ReluN")
        .input("X")
        .output("Y")
        .arg("n", 2.0);
    d.args.push(d.args[0].clone());
    let e = schema("ReluN").unwrap().check_def(&d).unwrap_err();
    assert_eq!(kind(&e), OpErrorKind::ArgumentValue);
    assert!(e.to_string().contains("more than once"), "{e}");
}

#[test]
fn check_def_accepts_valid_definitions() {
    let ok = [
        OperatorDef::new("Relu").input("X").output("X"),
        OperatorDef::new("ReluN")
            .input("X")
            .output("Y")
            .arg("n", f32::INFINITY),
        OperatorDef::new("LeakyRelu")
            .input("X")
            .output("X")
            .arg("alpha", 0.0),
        OperatorDef::new("LeakyRelu")
            .input("X")
            .output("Y")
            .arg("unknown_arg", "ignored"),
        OperatorDef::new("ReluGradient")
            .input("Y")
            .input("dY")
            .output("dY"),
        OperatorDef::new("ReluGradient")
            .input("Y")
            .input("Y")
            .output("dX"),
        OperatorDef::new("Int8Relu")
            .input("X")
            .output("X")
            .arg("Y_scale", 0.5)
            .arg("Y_zero_point", 255),
    ];
    for d in ok {
        schema(&d.op_type)
            .unwrap()
            .check_def(&d)
            .unwrap_or_else(|e| panic!("{d}: {e}"));
    }
}

#[test]
fn display_lists_everything() {
    let text = schema("ReluN").unwrap().to_string();
    for needle in [
        "ReluN: (X) -> (Y)",
        "{0,0}",
        "argument n: float (default 6.0)",
        "flops 2N",
    ] {
        assert!(text.contains(needle), "{text}");
    }
    let text = schema("LeakyReluGradient").unwrap().to_string();
    assert!(
        text.contains("(Y, dY) -> (dX)") && text.contains("{1,0}"),
        "{text}"
    );
}

#[test]
fn numel_with_a_zero_dim_is_zero_in_any_order() {
    use caffe2op_relu::ops::numel;
    for dims in [[usize::MAX, 2, 0], [0, usize::MAX, 2], [2, 0, usize::MAX]] {
        assert_eq!(numel(&dims).unwrap(), 0, "{dims:?}");
    }
    let e = numel(&[usize::MAX, 2, 1]).unwrap_err();
    assert_eq!(kind(&e), OpErrorKind::Overflow);
}
