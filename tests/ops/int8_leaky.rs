//! Int8LeakyRelu through the operator layer: outputs and their quantization against
//! the safe API's table (the oracle), in place, Caffe2's defaults, and the refusals
//! (nothing in the workspace changes).

use caffe2op_relu::ops::{OperatorDef, Tensor, Workspace, schema};
use caffe2op_relu::{Error, Int8LeakyRelu, OpErrorKind, QuantParams};

fn q(scale: f32, zero_point: u8) -> QuantParams {
    QuantParams { scale, zero_point }
}

fn input() -> Vec<u8> {
    (0..=255u8)
        .chain((0..300u32).map(|i| (i * 73 % 256) as u8))
        .collect()
}

fn kind(e: &Error) -> OpErrorKind {
    match e {
        Error::Operator { kind, .. } => *kind,
        other => panic!("not an operator error: {other:?}"),
    }
}

fn leaky(alpha: f32, y: QuantParams, x: &str, out: &str) -> OperatorDef {
    OperatorDef::new("Int8LeakyRelu")
        .input(x)
        .output(out)
        .arg("alpha", alpha)
        .arg("Y_scale", y.scale)
        .arg("Y_zero_point", i64::from(y.zero_point))
}

#[test]
fn outputs_and_quantization_match_the_table() {
    let xq = q(0.05, 120);
    for (alpha, yq) in [(0.01, q(0.05, 120)), (0.3, q(0.1, 40)), (0.9, q(0.02, 250))] {
        let want = Int8LeakyRelu::new(alpha, xq, yq).unwrap();
        let x = input();
        let expect: Vec<u8> = x.iter().map(|&v| want.table()[usize::from(v)]).collect();
        let mut ws = Workspace::new();
        ws.feed_blob("X", Tensor::quantized([x.len()], x.clone(), xq).unwrap());
        ws.run_operator_once(&leaky(alpha, yq, "X", "Y")).unwrap();
        let y = ws.fetch_blob("Y").unwrap();
        assert_eq!(y.as_u8().unwrap(), &expect[..]);
        assert_eq!(y.quant(), Some(yq));
        assert_eq!(y.dims(), &[x.len()]);
        // In place ({0,0}): the same bytes, the output's quantization.
        ws.run_operator_once(&leaky(alpha, yq, "X", "X")).unwrap();
        let t = ws.fetch_blob("X").unwrap();
        assert_eq!(t.as_u8().unwrap(), &expect[..]);
        assert_eq!(t.quant(), Some(yq));
    }
}

/// Caffe2's defaults: alpha 0.01, Y_scale 1, Y_zero_point 0.
#[test]
fn caffe2_defaults() {
    let xq = q(0.5, 100);
    let want = Int8LeakyRelu::new(0.01, xq, q(1.0, 0)).unwrap();
    let x = input();
    let mut ws = Workspace::new();
    ws.feed_blob("X", Tensor::quantized([x.len()], x.clone(), xq).unwrap());
    let def = OperatorDef::new("Int8LeakyRelu").input("X").output("Y");
    ws.run_operator_once(&def).unwrap();
    let y = ws.fetch_blob("Y").unwrap();
    let expect: Vec<u8> = x.iter().map(|&v| want.table()[usize::from(v)]).collect();
    assert_eq!(y.as_u8().unwrap(), &expect[..]);
    assert_eq!(y.quant(), Some(q(1.0, 0)));
    let s = schema("Int8LeakyRelu").unwrap();
    assert_eq!(s.gradient_op(), None);
}

/// Refused arguments (Caffe2's alpha range (0, 1), QNNPACK's scales and ratio) and
/// inputs: the right error kind, and the workspace exactly as it was.
#[test]
fn refusals_change_nothing() {
    let xq = q(1.0, 7);
    let x = input();
    let mut ws = Workspace::new();
    ws.feed_blob("X", Tensor::quantized([x.len()], x.clone(), xq).unwrap());
    ws.feed_blob(
        "F",
        Tensor::from_vec::<f32>([3], vec![1.0, -2.0, 3.0]).unwrap(),
    );
    ws.feed_blob("Y", Tensor::quantized([2], vec![9, 9], xq).unwrap());
    let cases = [
        (leaky(1.0, xq, "X", "Y"), OpErrorKind::ArgumentValue),
        (leaky(0.0, xq, "X", "Y"), OpErrorKind::ArgumentValue),
        (leaky(-0.5, xq, "X", "Y"), OpErrorKind::ArgumentValue),
        (leaky(f32::NAN, xq, "X", "Y"), OpErrorKind::ArgumentValue),
        (
            leaky(f32::from_bits(1), xq, "X", "Y"),
            OpErrorKind::ArgumentValue,
        ),
        (leaky(0.5, q(0.0, 0), "X", "Y"), OpErrorKind::ArgumentValue),
        (
            leaky(0.5, q(f32::INFINITY, 0), "X", "Y"),
            OpErrorKind::ArgumentValue,
        ),
        // X's scale / Y_scale = 256 and 1/1000: outside QNNPACK's [2^-8, 2^8).
        (
            leaky(0.5, q(1.0 / 256.0, 0), "X", "Y"),
            OpErrorKind::ArgumentValue,
        ),
        (
            leaky(0.5, q(1000.0, 0), "X", "Y"),
            OpErrorKind::ArgumentValue,
        ),
        (
            leaky(0.5, q(1000.0, 0), "X", "X"),
            OpErrorKind::ArgumentValue,
        ),
        (
            OperatorDef::new("Int8LeakyRelu")
                .input("X")
                .output("Y")
                .arg("Y_zero_point", 256i64),
            OpErrorKind::ArgumentValue,
        ),
        (leaky(0.5, xq, "F", "Y"), OpErrorKind::TypeMismatch),
        (leaky(0.5, xq, "Missing", "Y"), OpErrorKind::MissingBlob),
    ];
    for (def, want) in cases {
        let before = ws.clone();
        let e = ws.run_operator_once(&def).unwrap_err();
        assert_eq!(kind(&e), want, "{def}: {e}");
        assert_eq!(ws, before, "{def}");
    }
}
