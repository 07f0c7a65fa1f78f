//! Gradient makers and backward nets.

use crate::common;

use caffe2op_relu::OpErrorKind;
use caffe2op_relu::ops::{
    ArgValue, Argument, NetDef, OperatorDef, backward_net, grad_name, gradient_defs, schema,
    with_gradients,
};
use common::ops::kind;

fn expected(op_type: &str, ins: [&str; 2], out: &str, args: Vec<Argument>) -> OperatorDef {
    OperatorDef {
        op_type: op_type.into(),
        inputs: ins.iter().map(|s| s.to_string()).collect(),
        outputs: vec![out.to_string()],
        args,
        is_gradient_op: true,
        ..OperatorDef::default()
    }
}

#[test]
fn gradient_definitions_follow_caffe2() {
    let relu = OperatorDef::new("Relu")
        .input("data")
        .output("act")
        .named("relu1");
    assert_eq!(
        gradient_defs(&relu).unwrap(),
        vec![expected(
            "ReluGradient",
            ["act", "act_grad"],
            "data_grad",
            vec![]
        )]
    );
    let relun = OperatorDef::new("ReluN")
        .input("a")
        .output("b")
        .arg("n", 3.5);
    assert_eq!(
        gradient_defs(&relun).unwrap(),
        vec![expected(
            "ReluNGradient",
            ["b", "b_grad"],
            "a_grad",
            vec![Argument::new("n", 3.5f32)]
        )]
    );
    // Clip's maker: ClipGradient from Y and dY, both bounds copied.
    let clip = OperatorDef::new("Clip")
        .input("x")
        .output("y")
        .arg("min", -1.0)
        .arg("max", 1.0);
    assert_eq!(
        gradient_defs(&clip).unwrap(),
        vec![expected(
            "ClipGradient",
            ["y", "y_grad"],
            "x_grad",
            vec![Argument::new("min", -1.0f32), Argument::new("max", 1.0f32)]
        )]
    );
    // Every argument is copied, including ones the operator does not read; so are the
    // engine and the device option.
    let mut leaky = OperatorDef::new("LeakyRelu")
        .input("x")
        .output("y")
        .arg("alpha", 0.25)
        .arg("note", "kept")
        .engine("scalar");
    leaky.device_option = Some(vec![0x08, 0x00]);
    let mut want = expected(
        "LeakyReluGradient",
        ["y", "y_grad"],
        "x_grad",
        vec![
            Argument::new("alpha", 0.25f32),
            Argument::new("note", ArgValue::from("kept")),
        ],
    );
    want.engine = "scalar".into();
    want.device_option = Some(vec![0x08, 0x00]);
    assert_eq!(gradient_defs(&leaky).unwrap(), vec![want]);
    assert_eq!(grad_name("w"), "w_grad");
}

#[test]
fn gradient_of_an_in_place_op_runs_in_place() {
    for op in ["Relu", "ReluN", "LeakyRelu"] {
        let def = OperatorDef::new(op).input("X").output("X");
        let g = gradient_defs(&def).unwrap();
        assert_eq!(g[0].inputs, ["X", "X_grad"]);
        assert_eq!(g[0].outputs, ["X_grad"]);
        // dX overwrites dY: the pair {1,0} the gradient schema allows.
        schema(&g[0].op_type).unwrap().check_def(&g[0]).unwrap();
        assert_eq!(g[0].op_type, format!("{op}Gradient"));
    }
}

#[test]
fn operators_without_gradients_are_refused() {
    for def in [
        OperatorDef::new("Int8Relu").input("X").output("Y"),
        OperatorDef::new("ReluGradient")
            .input("Y")
            .input("dY")
            .output("dX"),
        OperatorDef::new("LeakyReluGradient")
            .input("Y")
            .input("dY")
            .output("dX"),
    ] {
        let e = gradient_defs(&def).unwrap_err();
        assert_eq!(kind(&e), OpErrorKind::UnknownOp, "{e}");
        assert!(e.to_string().contains("no gradient"), "{e}");
    }
    let e = gradient_defs(&OperatorDef::new("Conv").input("X").output("Y")).unwrap_err();
    assert_eq!(kind(&e), OpErrorKind::UnknownOp);
    // Invalid definitions are refused before a gradient is made.
    let e = gradient_defs(
        &OperatorDef::new("ReluN")
            .input("X")
            .output("Y")
            .arg("n", -1.0),
    )
    .unwrap_err();
    assert_eq!(kind(&e), OpErrorKind::ArgumentValue);
    let e = gradient_defs(&OperatorDef::new("Relu").input("X")).unwrap_err();
    assert_eq!(kind(&e), OpErrorKind::OutputCount);
}

fn chain() -> NetDef {
    NetDef::new("fwd")
        .op(OperatorDef::new("Relu").input("X").output("A"))
        .op(OperatorDef::new("ReluN")
            .input("A")
            .output("B")
            .arg("n", 6.0))
        .op(OperatorDef::new("LeakyRelu")
            .input("B")
            .output("C")
            .arg("alpha", 0.1))
}

#[test]
fn backward_net_of_a_chain() {
    let b = backward_net(&chain()).unwrap();
    assert_eq!(b.name, "fwd_grad");
    let ops: Vec<String> = b.ops.iter().map(|o| o.to_string()).collect();
    assert_eq!(
        ops,
        [
            "LeakyReluGradient(C, C_grad) -> (B_grad) [alpha=0.1]",
            "ReluNGradient(B, B_grad) -> (A_grad) [n=6.0]",
            "ReluGradient(A, A_grad) -> (X_grad)",
        ]
    );
    assert_eq!(b.external_inputs, ["C_grad", "C", "B", "A"]);
    assert_eq!(b.external_outputs, ["X_grad"]);
    let all = with_gradients(&chain()).unwrap();
    assert_eq!(all.ops.len(), 6);
    assert_eq!(all.external_inputs, ["C_grad"]);
    assert_eq!(all.external_outputs, ["X_grad"]);
}

#[test]
fn backward_net_of_in_place_ops_on_distinct_blobs() {
    let net = NetDef::new("ip")
        .op(OperatorDef::new("Relu").input("X").output("Y"))
        .op(OperatorDef::new("LeakyRelu").input("Z").output("Z"));
    let b = backward_net(&net).unwrap();
    let ops: Vec<String> = b.ops.iter().map(|o| o.to_string()).collect();
    assert_eq!(
        ops,
        [
            "LeakyReluGradient(Z, Z_grad) -> (Z_grad)",
            "ReluGradient(Y, Y_grad) -> (X_grad)"
        ]
    );
    assert_eq!(b.external_inputs, ["Z_grad", "Y_grad", "Z", "Y"]);
    assert_eq!(b.external_outputs, ["X_grad", "Z_grad"]);
}

#[test]
fn backward_net_refusals() {
    // An in-place op overwrites the output a gradient needs.
    let net = NetDef::new("ow")
        .op(OperatorDef::new("Relu").input("X").output("X"))
        .op(OperatorDef::new("ReluN").input("X").output("X"));
    let e = backward_net(&net).unwrap_err();
    assert_eq!(kind(&e), OpErrorKind::InPlaceNotAllowed, "{e}");
    assert!(e.to_string().contains("op #1 (ReluN) overwrites"), "{e}");
    // A blob feeding two ops would need a Sum of gradients.
    let net = NetDef::new("fan")
        .op(OperatorDef::new("Relu").input("X").output("A"))
        .op(OperatorDef::new("ReluN").input("X").output("B"));
    let e = backward_net(&net).unwrap_err();
    assert_eq!(kind(&e), OpErrorKind::UnknownOp, "{e}");
    assert!(
        e.to_string().contains("`X` feeds ops [0, 1]") && e.to_string().contains("Sum"),
        "{e}"
    );
    // A gradient name that is also a forward blob.
    let net = NetDef::new("clash").op(OperatorDef::new("Relu").input("A").output("A_grad"));
    let e = backward_net(&net).unwrap_err();
    assert_eq!(kind(&e), OpErrorKind::ArgumentValue, "{e}");
    // An op without a gradient, named with its index.
    let net = chain().op(OperatorDef::new("Int8Relu").input("C").output("D"));
    let e = backward_net(&net).unwrap_err();
    assert_eq!(kind(&e), OpErrorKind::UnknownOp);
    assert!(e.to_string().contains("op #3"), "{e}");
}
