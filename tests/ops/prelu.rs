//! PRelu and PReluGradient in the operator layer: schemas, tensor and cost inference,
//! the gradient maker, runs against the oracle (NCHW and NHWC, shared and per-channel
//! slopes, in place), a backward net, and the refusals (the workspace unchanged).

use crate::common;

use caffe2op_relu::OpErrorKind;
use caffe2op_relu::ops::{
    ArgType, Cost, DataType, NetDef, OperatorDef, Tensor, TensorElement, TensorShape, Workspace,
    backward_net, gradient_defs, schema,
};
use caffe2op_relu_kernels::prelu::{self as kp, DwElem, Shape};
use common::ops::{OpElem, kind, op_values, refused};
use common::{Rng, assert_bits};

#[test]
fn schemas() {
    let p = schema("PRelu").unwrap();
    assert_eq!((p.num_inputs(), p.num_outputs()), (2, 1));
    assert_eq!(p.in_place_pairs(), &[(0, 0)]);
    assert_eq!(p.gradient_op(), Some("PReluGradient"));
    assert!(!p.is_gradient());
    let a = &p.args()[0];
    assert_eq!((a.name, a.ty, a.default), ("order", ArgType::Bytes, "NCHW"));
    let g = schema("PReluGradient").unwrap();
    let names: Vec<&str> = g.inputs().iter().map(|io| io.name).collect();
    assert_eq!(names, ["Y", "dY", "X", "W"]);
    let names: Vec<&str> = g.outputs().iter().map(|io| io.name).collect();
    assert_eq!(names, ["dX", "dW"]);
    assert!(g.in_place_pairs().is_empty());
    assert!(g.is_gradient());
    assert_eq!(g.gradient_op(), None);
}

fn fwd(order: &str) -> OperatorDef {
    OperatorDef::new("PRelu")
        .input("X")
        .input("W")
        .output("Y")
        .arg("order", order)
}

fn grad(order: &str) -> OperatorDef {
    OperatorDef::new("PReluGradient")
        .input("Y")
        .input("dY")
        .input("X")
        .input("W")
        .output("dX")
        .output("dW")
        .arg("order", order)
}

#[test]
fn inference_and_cost() {
    let x = TensorShape::new(DataType::F64, [2, 3, 4, 5]);
    let w3 = TensorShape::new(DataType::F64, [3]);
    let w5 = TensorShape::new(DataType::F64, [5]);
    let one = TensorShape::new(DataType::F64, [1]);
    let p = schema("PRelu").unwrap();
    let g = schema("PReluGradient").unwrap();
    // N = 120 elements of 8 bytes; C = 3 (NCHW), 5 (NHWC) or 1 (shared).
    for (order, w, c) in [("NCHW", &w3, 3u64), ("NHWC", &w5, 5), ("NCHW", &one, 1)] {
        let shapes = [x.clone(), w.clone()];
        assert_eq!(p.infer(&fwd(order), &shapes).unwrap(), vec![x.clone()]);
        let cost = p.cost(&fwd(order), &shapes).unwrap();
        let want = Cost {
            flops: 240,
            bytes_read: (120 + c) * 8,
            bytes_written: 960,
            params_bytes: 0,
        };
        assert_eq!(cost, want, "{order} C = {c}");
        let shapes = [x.clone(), x.clone(), x.clone(), w.clone()];
        assert_eq!(
            g.infer(&grad(order), &shapes).unwrap(),
            vec![x.clone(), w.clone()]
        );
        let cost = g.cost(&grad(order), &shapes).unwrap();
        let want = Cost {
            flops: 480,
            bytes_read: (240 + c) * 8,
            bytes_written: (120 + c) * 8,
            params_bytes: 0,
        };
        assert_eq!(cost, want, "{order} C = {c}");
    }
    // The slope must match the order's channel dimension.
    let e = p.infer(&fwd("NHWC"), &[x.clone(), w3.clone()]).unwrap_err();
    assert_eq!(kind(&e), OpErrorKind::ShapeMismatch, "{e}");
    let e = p.infer(&fwd("NCHW"), &[x.clone(), w5.clone()]).unwrap_err();
    assert_eq!(kind(&e), OpErrorKind::ShapeMismatch, "{e}");
    // NCHW needs two dimensions.
    let v = TensorShape::new(DataType::F64, [7]);
    let e = p
        .infer(&fwd("NCHW"), &[v.clone(), one.clone()])
        .unwrap_err();
    assert_eq!(kind(&e), OpErrorKind::ShapeMismatch, "{e}");
    assert!(p.infer(&fwd("NHWC"), &[v, one.clone()]).is_ok());
    // One type for every input.
    let w32 = TensorShape::new(DataType::F32, [3]);
    let e = p.infer(&fwd("NCHW"), &[x.clone(), w32]).unwrap_err();
    assert_eq!(kind(&e), OpErrorKind::TypeMismatch, "{e}");
    // Y, dY and X of one shape.
    let other = TensorShape::new(DataType::F64, [2, 3, 20]);
    let e = g
        .infer(&grad("NCHW"), &[x.clone(), other, x.clone(), w3.clone()])
        .unwrap_err();
    assert_eq!(kind(&e), OpErrorKind::ShapeMismatch, "{e}");
    // Costs that overflow are refused, not wrapped.
    let huge = TensorShape::new(DataType::F64, [1, 1, isize::MAX as usize / 8]);
    let e = g
        .cost(&grad("NCHW"), &[huge.clone(), huge.clone(), huge, one])
        .map(|c| c.bytes_read);
    assert!(e.is_ok() || kind(&e.unwrap_err()) == OpErrorKind::Overflow);
}

#[test]
fn definition_refusals() {
    let cases: Vec<(OperatorDef, OpErrorKind, &str)> = vec![
        (fwd("NCWH"), OpErrorKind::ArgumentValue, "NCHW or NHWC"),
        (
            OperatorDef::new("PRelu")
                .input("X")
                .input("W")
                .output("Y")
                .arg("order", 1),
            OpErrorKind::ArgumentType,
            "must be a string",
        ),
        (
            OperatorDef::new("PRelu").input("X").input("W").output("W"),
            OpErrorKind::InPlaceNotAllowed,
            "input 1 (Slope)",
        ),
        (
            OperatorDef::new("PReluGradient")
                .input("X")
                .input("dY")
                .input("X")
                .input("W")
                .output("dX")
                .output("dW"),
            OpErrorKind::InPlaceNotAllowed,
            "in-place PRelu",
        ),
        (
            OperatorDef::new("PReluGradient")
                .input("Y")
                .input("dY")
                .input("X")
                .input("W")
                .output("dY")
                .output("dW"),
            OpErrorKind::InPlaceNotAllowed,
            "`dY`",
        ),
        (
            OperatorDef::new("PReluGradient")
                .input("Y")
                .input("dY")
                .input("X")
                .input("W")
                .output("G")
                .output("G"),
            OpErrorKind::InPlaceNotAllowed,
            "both `G`",
        ),
        (
            OperatorDef::new("PRelu").input("X").output("Y"),
            OpErrorKind::InputCount,
            "takes 2 input(s)",
        ),
    ];
    for (def, want, msg) in cases {
        let e = schema(&def.op_type).unwrap().check_def(&def).unwrap_err();
        assert_eq!(kind(&e), want, "{def}: {e}");
        assert!(e.to_string().contains(msg), "{e} should say {msg}");
    }
}

#[test]
fn gradient_maker_wires_y_dy_x_w() {
    let g = gradient_defs(&fwd("NHWC").engine("avx2")).unwrap();
    assert_eq!(g.len(), 1);
    let g = &g[0];
    assert_eq!(g.op_type, "PReluGradient");
    assert_eq!(g.inputs, ["Y", "Y_grad", "X", "W"]);
    assert_eq!(g.outputs, ["X_grad", "W_grad"]);
    assert_eq!(g.engine, "avx2");
    assert!(g.is_gradient_op);
    assert_eq!(g.args, fwd("NHWC").args);
    // An in-place PRelu has no gradient (its input is gone), as in Caffe2.
    let inplace = OperatorDef::new("PRelu").input("X").input("W").output("X");
    let e = gradient_defs(&inplace).unwrap_err();
    assert_eq!(kind(&e), OpErrorKind::InPlaceNotAllowed, "{e}");
}

fn shape_for(order: &str, dims: &[usize], c: usize) -> Shape {
    let len: usize = dims.iter().product();
    if c == 1 {
        return Shape {
            outer: 1,
            count: 1,
            inner: len,
        };
    }
    if order == "NCHW" {
        Shape {
            outer: dims[0],
            count: c,
            inner: dims[2..].iter().product(),
        }
    } else {
        Shape {
            outer: len / c,
            count: c,
            inner: 1,
        }
    }
}

fn run_one<T: OpElem + TensorElement>(order: &str, dims: &[usize], c: usize, rng: &mut Rng) {
    let n: usize = dims.iter().product();
    let x: Vec<T> = op_values(rng, n);
    let x = &x[x.len() - n..];
    let dy: Vec<T> = op_values(rng, n);
    let dy = &dy[dy.len() - n..];
    let w: Vec<T> = (0..c)
        .map(|_| T::from_f64(rng.uniform(-2.0, 3.0)))
        .collect();
    let shape = shape_for(order, dims, c);
    let slope = |i: usize| w[(i / shape.inner) % shape.count].to_kernel();
    let want_y: Vec<T> = (0..n)
        .map(|i| T::from_kernel(kp::oracle(x[i].to_kernel(), slope(i))))
        .collect();
    let want_dx: Vec<T> = (0..n)
        .map(|i| {
            T::from_kernel(kp::oracle_grad(
                x[i].to_kernel(),
                dy[i].to_kernel(),
                slope(i),
            ))
        })
        .collect();
    let xk: Vec<T::Kernel> = x.iter().map(|v| v.to_kernel()).collect();
    let gk: Vec<T::Kernel> = dy.iter().map(|v| v.to_kernel()).collect();
    let mut scratch = vec![<T::Kernel as DwElem>::ACC_ZERO; shape.blocks()];
    let want_dw: Vec<T> = (0..c)
        .map(|k| T::from_kernel(kp::dw_oracle(&xk, &gk, &shape, k, &mut scratch)))
        .collect();
    let ctx = format!("{} {order} {dims:?} C {c}", T::NAME);

    let mut ws = Workspace::new();
    ws.feed_blob("X", Tensor::from_vec(dims.to_vec(), x.to_vec()).unwrap());
    ws.feed_blob("W", Tensor::from_vec(vec![c], w.clone()).unwrap());
    ws.feed_blob(
        "Y_grad",
        Tensor::from_vec(dims.to_vec(), dy.to_vec()).unwrap(),
    );
    ws.run_operator_once(&fwd(order)).unwrap();
    let y = ws.fetch_blob("Y").unwrap();
    assert_eq!(y.dims(), dims);
    assert_bits(y.as_slice::<T>().unwrap(), &want_y, &ctx);
    let g = gradient_defs(&fwd(order)).unwrap();
    ws.run_operator_once(&g[0]).unwrap();
    assert_bits(
        ws.fetch_blob("X_grad").unwrap().as_slice::<T>().unwrap(),
        &want_dx,
        &format!("{ctx} dX"),
    );
    let dw = ws.fetch_blob("W_grad").unwrap();
    assert_eq!(dw.dims(), &[c]);
    for (k, (&got, &want)) in dw.as_slice::<T>().unwrap().iter().zip(&want_dw).enumerate() {
        let same =
            got.to_bits() == want.to_bits() || (got.to_f64().is_nan() && want.to_f64().is_nan());
        assert!(same, "{ctx} dW[{k}]: got {got:?}, want {want:?}");
    }
    // In place {0,0}.
    let inplace = OperatorDef::new("PRelu")
        .input("X")
        .input("W")
        .output("X")
        .arg("order", order);
    ws.run_operator_once(&inplace).unwrap();
    assert_bits(
        ws.fetch_blob("X").unwrap().as_slice::<T>().unwrap(),
        &want_y,
        &format!("{ctx} in place"),
    );
}

#[test]
fn runs_match_the_oracle() {
    let mut rng = Rng(31);
    for (order, dims, c) in [
        ("NCHW", vec![2, 3, 4, 5], 3),
        ("NCHW", vec![2, 3, 4, 5], 1),
        ("NHWC", vec![2, 4, 5, 3], 3),
        ("NHWC", vec![40, 17], 17),
        ("NCHW", vec![3, 16], 16),
        ("NCHW", vec![1, 2, 700], 2),
    ] {
        run_one::<f32>(order, &dims, c, &mut rng);
        run_one::<f64>(order, &dims, c, &mut rng);
        run_one::<half::f16>(order, &dims, c, &mut rng);
        run_one::<half::bf16>(order, &dims, c, &mut rng);
    }
}

#[test]
fn run_refusals_leave_the_workspace_unchanged() {
    let mut ws = Workspace::new();
    ws.feed_blob(
        "X",
        Tensor::from_vec(vec![2, 3, 2], vec![-1.0f32; 12]).unwrap(),
    );
    ws.feed_blob(
        "W",
        Tensor::from_vec(vec![3], vec![0.5f32, f32::NAN, 0.1]).unwrap(),
    );
    ws.feed_blob("Y", Tensor::from_vec(vec![1], vec![9.0f32]).unwrap());
    ws.feed_blob(
        "dY",
        Tensor::from_vec(vec![2, 3, 2], vec![1.0f32; 12]).unwrap(),
    );
    // A NaN slope: refused, naming the blob and index.
    let m = refused(&mut ws, &fwd("NCHW"), OpErrorKind::ArgumentValue);
    assert!(m.contains("`W`") && m.contains("slope[1]"), "{m}");
    let inplace = OperatorDef::new("PRelu").input("X").input("W").output("X");
    refused(&mut ws, &inplace, OpErrorKind::ArgumentValue);
    ws.feed_blob(
        "Y",
        Tensor::from_vec(vec![2, 3, 2], vec![1.0f32; 12]).unwrap(),
    );
    ws.feed_blob("dX", Tensor::from_vec(vec![1], vec![5.0f32]).unwrap());
    let m = refused(&mut ws, &grad("NCHW"), OpErrorKind::ArgumentValue);
    assert!(m.contains("slope[1]"), "{m}");
    // A slope of the wrong length, a wrong type, a missing blob.
    ws.feed_blob("W", Tensor::from_vec(vec![2], vec![0.5f32, 0.5]).unwrap());
    refused(&mut ws, &fwd("NCHW"), OpErrorKind::ShapeMismatch);
    refused(&mut ws, &grad("NCHW"), OpErrorKind::ShapeMismatch);
    ws.feed_blob("W", Tensor::from_vec(vec![3], vec![0.5f64; 3]).unwrap());
    refused(&mut ws, &fwd("NCHW"), OpErrorKind::TypeMismatch);
    let missing = OperatorDef::new("PRelu").input("X").input("V").output("Y");
    refused(&mut ws, &missing, OpErrorKind::MissingBlob);
}

/// A net with PRelu: its backward net reads X and W, and a net that feeds dW to a
/// later operator is checked in full before it runs.
#[test]
fn backward_net_of_prelu() {
    let net = NetDef::new("p")
        .op(fwd("NHWC"))
        .op(OperatorDef::new("Relu").input("Y").output("Z"));
    let back = backward_net(&net).unwrap();
    assert_eq!(back.ops.len(), 2);
    assert_eq!(back.ops[1].op_type, "PReluGradient");
    for b in ["X", "W", "Y", "Z_grad"] {
        assert!(back.external_inputs.iter().any(|e| e == b), "{b}: {back:?}");
    }
    for b in ["X_grad", "W_grad"] {
        assert!(
            back.external_outputs.iter().any(|e| e == b),
            "{b}: {back:?}"
        );
    }
    let mut ws = Workspace::new();
    let x: Vec<f32> = (0..24).map(|i| i as f32 - 12.0).collect();
    ws.feed_blob("X", Tensor::from_vec(vec![8, 3], x.clone()).unwrap());
    ws.feed_blob(
        "W",
        Tensor::from_vec(vec![3], vec![0.25f32, -1.0, 2.0]).unwrap(),
    );
    ws.run_net(&net).unwrap();
    ws.feed_blob(
        "Z_grad",
        Tensor::from_vec(vec![8, 3], vec![1.0f32; 24]).unwrap(),
    );
    ws.run_net(&back).unwrap();
    // Small integers and exact products: dW[c] is the plain sum of x over c's x <= 0
    // positions where relu passes the gradient (y > 0).
    let w = [0.25f32, -1.0, 2.0];
    let mut want = [0.0f32; 3];
    for (i, &v) in x.iter().enumerate() {
        let y = if v < 0.0 { w[i % 3] * v } else { v };
        if v <= 0.0 && y > 0.0 {
            want[i % 3] += v;
        }
    }
    let dw = ws
        .fetch_blob("W_grad")
        .unwrap()
        .as_slice::<f32>()
        .unwrap()
        .to_vec();
    assert_eq!(dw, want);
    // PRelu whose input a later operator overwrites: no backward net.
    let net = NetDef::new("q")
        .op(fwd("NCHW"))
        .op(OperatorDef::new("Relu").input("Y").output("X"));
    let e = backward_net(&net).unwrap_err();
    assert_eq!(kind(&e), OpErrorKind::InPlaceNotAllowed, "{e}");
}

/// A non-finite slope that is in the workspace before a net runs (an init net's
/// weights) refuses the net while it is planned: the operators before the PRelu do
/// not run, and every blob stays as it was. A slope that an earlier operator of the
/// same net writes is checked when the PRelu runs, and the blobs the operators
/// before it wrote are put back.
#[test]
fn a_non_finite_slope_refuses_the_net_before_it_runs() {
    for bad in [f32::NAN, f32::INFINITY, f32::NEG_INFINITY] {
        let mut ws = Workspace::new();
        ws.feed_blob(
            "X",
            Tensor::from_vec(vec![1, 2, 3], vec![-1.0f32, 2.0, -3.0, 4.0, -5.0, 6.0]).unwrap(),
        );
        ws.feed_blob("W", Tensor::from_vec(vec![2], vec![0.5f32, bad]).unwrap());
        let net = NetDef::new("n")
            .op(OperatorDef::new("Relu").input("X").output("R"))
            .op(OperatorDef::new("PRelu").input("X").input("W").output("P"));
        let before = ws.clone();
        let e = ws.run_net(&net).unwrap_err();
        assert_eq!(kind(&e), OpErrorKind::ArgumentValue, "{e}");
        assert!(e.to_string().contains("slope[1]"), "{e}");
        assert_eq!(ws, before, "slope {bad}");
        assert!(ws.fetch_blob("R").is_err());

        // The slope written by the net itself (relu passes NaN and +inf through):
        // refused when the PRelu runs, after two operators have run.
        ws.feed_blob(
            "S",
            Tensor::from_vec(vec![2], vec![1.0f32, bad.abs()]).unwrap(),
        );
        ws.feed_blob("R", Tensor::from_vec(vec![1], vec![42.0f32]).unwrap());
        let net = NetDef::new("m")
            .op(OperatorDef::new("Relu").input("S").output("V"))
            .op(OperatorDef::new("Relu").input("X").output("R"))
            .op(OperatorDef::new("PRelu").input("X").input("V").output("X"));
        let before = ws.clone();
        let e = ws.run_net(&net).unwrap_err();
        assert_eq!(kind(&e), OpErrorKind::ArgumentValue, "{e}");
        assert_eq!(ws, before, "slope {bad} written by the net");
    }
}
