//! Hostile inputs to the Caffe2 operator layer (`caffe2op_relu::ops`): shapes at the
//! limits of the address space in cost and shape inference, tensors too large to
//! exist, tensors with a zero dimension and empty nets, and operator arguments at
//! the edges of what each operator accepts.
//!
//! Overflow must be reported as `OpErrorKind::Overflow`, never as a wrapped number
//! or a panic; every refusal has the exact kind and leaves the workspace unchanged.

use crate::common;

use caffe2op_relu::ops::{
    DataType, NetDef, OpSchema, OperatorDef, Tensor, TensorShape, Workspace, numel, registered_ops,
    schema,
};
use caffe2op_relu::{OpErrorKind, QuantParams};
use common::bits;
use common::ops::kind;

// ---------------------------------------------------------------------------------
// Cost and tensor inference at the limits
// ---------------------------------------------------------------------------------

fn def_for(s: &OpSchema) -> OperatorDef {
    let d = OperatorDef::new(s.name());
    if s.is_gradient() {
        d.input("Y").input("dY").output("dX")
    } else {
        d.input("X").output("Y")
    }
}

fn dtypes_for(s: &OpSchema) -> &'static [DataType] {
    if quantized(s.name()) {
        &[DataType::U8]
    } else {
        &[DataType::F32, DataType::F64, DataType::F16, DataType::Bf16]
    }
}

/// The operators on quantized u8 tensors.
fn quantized(name: &str) -> bool {
    matches!(name, "Int8Relu" | "Int8LeakyRelu")
}

fn flops_per_elem(name: &str) -> u64 {
    match name {
        "Relu" | "Int8Relu" | "Int8LeakyRelu" => 0,
        "ReluGradient" => 1,
        _ => 2,
    }
}

/// The largest shapes that can exist (`isize::MAX` bytes) have exact costs; one
/// element more, or any product that overflows `usize`, is `OpErrorKind::Overflow`
/// from both cost and tensor inference — never a wrapped number or a panic.
#[test]
fn cost_and_inference_at_isize_max_bytes() {
    let mut cases = 0;
    // The fill operators' costs come from their `shape` argument (tests/ops/fill.rs);
    // PRelu's two inputs of different shapes have their own cases (tests/ops/prelu.rs).
    let family = |s: &&OpSchema| !s.is_filler() && !s.name().starts_with("PRelu");
    for s in registered_ops().iter().filter(family) {
        let def = def_for(s);
        for &dt in dtypes_for(s) {
            let item = dt.item_size();
            let max_n = isize::MAX as usize / item;
            let shapes = |dims: &[usize]| vec![TensorShape::new(dt, dims); s.num_inputs()];

            for dims in [vec![max_n], vec![1, max_n, 1], vec![max_n / 7, 7]] {
                let n = numel(&dims).unwrap() as u64;
                let c = s.cost(&def, &shapes(&dims)).unwrap();
                let bytes = n * item as u64;
                assert_eq!(
                    c.flops,
                    n * flops_per_elem(s.name()),
                    "{} {dims:?}",
                    s.name()
                );
                assert_eq!(c.bytes_written, bytes);
                assert_eq!(c.bytes_read, bytes * s.num_inputs() as u64);
                assert_eq!(c.params_bytes, 0);
                let out = s.infer(&def, &shapes(&dims)).unwrap();
                assert_eq!(out, vec![TensorShape::new(dt, dims.clone())]);
                cases += 1;
            }

            let too_big: Vec<Vec<usize>> = vec![
                vec![max_n + 1],
                vec![usize::MAX],
                vec![usize::MAX, 1],
                vec![usize::MAX, 2],
                vec![1 << 32, 1 << 32],
                vec![(max_n / 2) + 1, 2],
                vec![3; 64],
                vec![2; 63],
                vec![max_n / 1024 + 1, 1024],
            ];
            for dims in too_big {
                for e in [
                    s.cost(&def, &shapes(&dims)).unwrap_err(),
                    s.infer(&def, &shapes(&dims)).unwrap_err(),
                ] {
                    assert_eq!(
                        kind(&e),
                        OpErrorKind::Overflow,
                        "{} {dt} {dims:?}: {e}",
                        s.name()
                    );
                    assert!(e.to_string().contains(s.name()), "{e}");
                }
                cases += 1;
            }

            // A zero dimension makes any shape empty, however large the other dims.
            for dims in [vec![0, usize::MAX], vec![0], vec![5, 0, 7]] {
                let c = s.cost(&def, &shapes(&dims)).unwrap();
                assert_eq!((c.flops, c.bytes_read, c.bytes_written), (0, 0, 0));
                cases += 1;
            }
        }
    }
    // Eight float operators in four types, the two quantized ones in one.
    assert_eq!(cases, (4 * 8 + 2) * (3 + 9 + 3));
}

/// For gradients, `Y` fitting but `dY` not (and the other way round) is still an
/// overflow, not a shape mismatch computed on wrapped numbers.
#[test]
fn gradient_cost_with_one_input_too_big() {
    for name in ["ReluGradient", "ReluNGradient", "LeakyReluGradient"] {
        let s = schema(name).unwrap();
        let def = def_for(s);
        let ok = TensorShape::new(DataType::F32, [4]);
        let bad = TensorShape::new(DataType::F32, [usize::MAX / 2]);
        for shapes in [[ok.clone(), bad.clone()], [bad.clone(), ok.clone()]] {
            let e = s.cost(&def, &shapes).unwrap_err();
            assert_eq!(kind(&e), OpErrorKind::Overflow, "{name}: {e}");
        }
    }
}

/// Tensors that could not exist are refused before any allocation is attempted.
#[test]
fn impossible_tensors_are_refused_without_allocating() {
    let e = Tensor::full::<f32>([usize::MAX / 4 + 1], 0.0).unwrap_err();
    assert_eq!(kind(&e), OpErrorKind::Overflow);
    let e = Tensor::full::<f64>([1 << 62, 4], 0.0).unwrap_err();
    assert_eq!(kind(&e), OpErrorKind::Overflow);
    let e = Tensor::full::<half::f16>([usize::MAX, usize::MAX], half::f16::ZERO).unwrap_err();
    assert_eq!(kind(&e), OpErrorKind::Overflow);
    let e = Tensor::from_vec::<f32>([usize::MAX, 3], vec![]).unwrap_err();
    assert_eq!(kind(&e), OpErrorKind::Overflow);
    let e = Tensor::quantized(
        [1 << 40, 1 << 40],
        vec![],
        QuantParams {
            scale: 1.0,
            zero_point: 0,
        },
    )
    .unwrap_err();
    assert_eq!(kind(&e), OpErrorKind::Overflow);
    // The data must match the dims exactly.
    let e = Tensor::from_vec::<f32>([2, 3], vec![0.0; 5]).unwrap_err();
    assert_eq!(kind(&e), OpErrorKind::ShapeMismatch);
    let e = TensorShape::new(DataType::F64, [usize::MAX / 8 + 1])
        .byte_size()
        .unwrap_err();
    assert_eq!(kind(&e), OpErrorKind::Overflow);
    assert_eq!(
        TensorShape::new(DataType::U8, [isize::MAX as usize])
            .byte_size()
            .unwrap(),
        isize::MAX as usize
    );
}

// ---------------------------------------------------------------------------------
// Empty tensors and empty nets
// ---------------------------------------------------------------------------------

/// Empty tensors (a zero dim), scalars and empty nets through the operator layer.
#[test]
fn zero_length_tensors_and_empty_nets() {
    let q = QuantParams {
        scale: 0.5,
        zero_point: 9,
    };
    for dims in [vec![0], vec![3, 0], vec![0, 0, 0], vec![0, usize::MAX]] {
        let mut ws = Workspace::new();
        ws.feed_blob("X", Tensor::from_vec::<f32>(dims.clone(), vec![]).unwrap());
        ws.feed_blob("D", Tensor::from_vec::<f64>(dims.clone(), vec![]).unwrap());
        ws.feed_blob("Q", Tensor::quantized(dims.clone(), vec![], q).unwrap());
        let family = |s: &&OpSchema| !s.is_filler() && !s.name().starts_with("PRelu");
        for s in registered_ops().iter().filter(family) {
            for (x, dy) in [("X", "X"), ("D", "D"), ("Q", "Q")] {
                let def = if s.is_gradient() {
                    OperatorDef::new(s.name()).input(x).input(dy).output("O")
                } else {
                    OperatorDef::new(s.name()).input(x).output("O")
                };
                let want_ok = quantized(s.name()) == (x == "Q");
                let before = ws.clone();
                match ws.run_operator_once(&def) {
                    Ok(()) => {
                        assert!(want_ok, "{def} ran on {x}");
                        let o = ws.fetch_blob("O").unwrap();
                        assert_eq!((o.dims(), o.numel()), (&dims[..], 0));
                    }
                    Err(e) => {
                        assert!(!want_ok, "{def}: {e}");
                        assert_eq!(kind(&e), OpErrorKind::TypeMismatch, "{def}: {e}");
                        assert_eq!(ws, before);
                    }
                }
            }
        }
    }
    // Scalars (no dims: one element).
    let mut ws = Workspace::new();
    ws.feed_blob("X", Tensor::from_vec::<f32>([], vec![-3.0]).unwrap());
    ws.run_operator_once(&OperatorDef::new("Relu").input("X").output("X"))
        .unwrap();
    assert_eq!(
        ws.fetch_blob("X").unwrap().as_slice::<f32>().unwrap(),
        [0.0]
    );

    // Empty nets and empty messages.
    let before = ws.clone();
    ws.run_net(&NetDef::new("empty")).unwrap();
    let net = NetDef::from_bytes(&[]).unwrap();
    assert_eq!(net, NetDef::default());
    ws.run_net(&net).unwrap();
    assert_eq!(ws, before);
    let op = OperatorDef::from_bytes(&[]).unwrap();
    assert_eq!(op.op_type, "");
    let e = ws.run_operator_once(&op).unwrap_err();
    assert_eq!(kind(&e), OpErrorKind::UnknownOp);
    assert_eq!(ws, before);
}

// ---------------------------------------------------------------------------------
// Operator arguments at the edges
// ---------------------------------------------------------------------------------

/// Operator arguments at the edges: the refusal kind is exact and every blob is left
/// as it was.
#[test]
fn operator_arguments_at_the_edges() {
    let q = QuantParams {
        scale: 0.25,
        zero_point: 100,
    };
    let mut ws = Workspace::new();
    ws.feed_blob("X", Tensor::from_vec([3], vec![-1.0f32, 0.5, 9.0]).unwrap());
    ws.feed_blob("Q", Tensor::quantized([3], vec![1, 100, 250], q).unwrap());
    let cases: Vec<(OperatorDef, OpErrorKind)> = vec![
        (
            OperatorDef::new("ReluN")
                .input("X")
                .output("Y")
                .arg("n", f32::NAN),
            OpErrorKind::ArgumentValue,
        ),
        (
            OperatorDef::new("ReluN")
                .input("X")
                .output("Y")
                .arg("n", -0.0f32),
            OpErrorKind::ArgumentValue,
        ),
        (
            OperatorDef::new("ReluN")
                .input("X")
                .output("Y")
                .arg("n", 6i64),
            OpErrorKind::ArgumentType,
        ),
        (
            OperatorDef::new("ReluN")
                .input("X")
                .output("Y")
                .arg("n", "6"),
            OpErrorKind::ArgumentType,
        ),
        (
            OperatorDef::new("ReluN")
                .input("X")
                .output("Y")
                .arg("n", vec![6.0f32]),
            OpErrorKind::ArgumentType,
        ),
        (
            OperatorDef::new("LeakyRelu")
                .input("X")
                .output("Y")
                .arg("alpha", f32::INFINITY),
            OpErrorKind::ArgumentValue,
        ),
        (
            OperatorDef::new("LeakyRelu")
                .input("X")
                .output("Y")
                .arg("alpha", -1e-45f32),
            OpErrorKind::ArgumentValue,
        ),
        (
            OperatorDef::new("Int8Relu")
                .input("Q")
                .output("Y")
                .arg("Y_zero_point", 256i64),
            OpErrorKind::ArgumentValue,
        ),
        (
            OperatorDef::new("Int8Relu")
                .input("Q")
                .output("Y")
                .arg("Y_zero_point", -1i64),
            OpErrorKind::ArgumentValue,
        ),
        (
            OperatorDef::new("Int8Relu")
                .input("Q")
                .output("Y")
                .arg("Y_zero_point", i64::MIN),
            OpErrorKind::ArgumentValue,
        ),
        (
            OperatorDef::new("Int8Relu")
                .input("Q")
                .output("Y")
                .arg("Y_scale", 0.0f32),
            OpErrorKind::ArgumentValue,
        ),
        (
            OperatorDef::new("Int8Relu")
                .input("Q")
                .output("Y")
                .arg("Y_scale", f32::NAN),
            OpErrorKind::ArgumentValue,
        ),
        (
            OperatorDef::new("Int8Relu")
                .input("Q")
                .output("Y")
                .arg("Y_scale", -0.25f32),
            OpErrorKind::ArgumentValue,
        ),
        (
            OperatorDef::new("Int8Relu")
                .input("Q")
                .output("Y")
                .arg("Y_scale", 0.25f32)
                .arg("Y_zero_point", 100.0f32),
            OpErrorKind::ArgumentType,
        ),
        (
            OperatorDef::new("ReluGradient")
                .input("X")
                .input("X")
                .output("X"),
            OpErrorKind::InPlaceNotAllowed,
        ),
        (
            OperatorDef::new("Relu").input("X").input("X").output("Y"),
            OpErrorKind::InputCount,
        ),
        (
            OperatorDef::new("Relu").output("Y"),
            OpErrorKind::InputCount,
        ),
        (
            OperatorDef::new("Relu").input("X"),
            OpErrorKind::OutputCount,
        ),
        (
            OperatorDef::new("Relu").input("").output("Y"),
            OpErrorKind::MissingBlob,
        ),
        (
            OperatorDef::new("Relu").input("nope").output("Y"),
            OpErrorKind::MissingBlob,
        ),
        (
            OperatorDef::new("relu").input("X").output("Y"),
            OpErrorKind::UnknownOp,
        ),
        (
            OperatorDef::new("Relu\0").input("X").output("Y"),
            OpErrorKind::UnknownOp,
        ),
        (
            OperatorDef::new("Relu").input("Q").output("Y"),
            OpErrorKind::TypeMismatch,
        ),
        (
            OperatorDef::new("Int8Relu").input("X").output("Y"),
            OpErrorKind::TypeMismatch,
        ),
    ];
    let mut dup = OperatorDef::new("ReluN")
        .input("X")
        .output("Y")
        .arg("n", 6.0);
    dup.args.push(caffe2op_relu::ops::Argument::new("n", 1.0));
    let cases = cases.into_iter().chain([(dup, OpErrorKind::ArgumentValue)]);
    let before = ws.clone();
    for (def, want) in cases {
        let e = ws.run_operator_once(&def).unwrap_err();
        assert_eq!(kind(&e), want, "{def}: {e}");
        assert_eq!(ws, before, "{def}: refusal changed the workspace");
        let net = NetDef::new("n")
            .op(OperatorDef::new("Relu").input("X").output("Z"))
            .op(def.clone());
        let e = ws.run_net(&net).unwrap_err();
        assert_eq!(kind(&e), want, "net with {def}: {e}");
        assert_eq!(ws, before, "net with {def}: refusal changed the workspace");
    }
    // Accepted edges: a subnormal n and the largest f32 alpha on f32 data.
    ws.run_operator_once(
        &OperatorDef::new("ReluN")
            .input("X")
            .output("Y")
            .arg("n", 1e-45f32),
    )
    .unwrap();
    let y = ws.fetch_blob("Y").unwrap().as_slice::<f32>().unwrap();
    assert_eq!(bits(y), bits(&[0.0f32, 1e-45, 1e-45]));
    ws.run_operator_once(
        &OperatorDef::new("LeakyRelu")
            .input("X")
            .output("Y")
            .arg("alpha", f32::MAX),
    )
    .unwrap();
    let y = ws.fetch_blob("Y").unwrap().as_slice::<f32>().unwrap();
    assert_eq!(bits(y), bits(&[-f32::MAX, 0.5, 9.0]));
}
