//! Nets: a forward+backward net checked against the oracle and finite differences,
//! and refused nets leaving the workspace unchanged.

use crate::common;

use caffe2op_relu::ops::{NetDef, OperatorDef, Tensor, Workspace, backward_net, with_gradients};
use caffe2op_relu::{Activation, OpErrorKind};
use common::ops::{OpElem, kind, op_values};
use common::{Rng, assert_bits};

const N_ARG: f64 = 6.0;
const ALPHA: f32 = 0.1;

fn forward_net(in_place: bool) -> NetDef {
    if in_place {
        // Only the first op may run in place: a later in-place op would overwrite the
        // output an earlier op's gradient reads.
        NetDef::new("fwd")
            .op(OperatorDef::new("Relu").input("X").output("A"))
            .op(OperatorDef::new("ReluN")
                .input("A")
                .output("B")
                .arg("n", N_ARG))
            .op(OperatorDef::new("LeakyRelu")
                .input("B")
                .output("B2")
                .arg("alpha", ALPHA))
    } else {
        NetDef::new("fwd")
            .op(OperatorDef::new("Relu").input("X").output("A"))
            .op(OperatorDef::new("ReluN")
                .input("A")
                .output("B")
                .arg("n", N_ARG))
            .op(OperatorDef::new("LeakyRelu")
                .input("B")
                .output("C")
                .arg("alpha", ALPHA))
    }
}

/// Runs forward + backward through the net and through the oracle, element by element,
/// and compares every blob bit for bit.
fn oracle_chain<T: OpElem>(in_place: bool) {
    let mut rng = Rng(0xc4a1);
    let n = 999;
    let x: Vec<T> = op_values::<T>(&mut rng, n);
    let dout: Vec<T> = (0..n).map(|_| T::random(&mut rng)).collect();
    let fwd = forward_net(in_place);
    let out = fwd.ops[2].outputs[0].clone();
    let mut ws = Workspace::new();
    ws.feed_blob("X", Tensor::from_vec(vec![n], x.clone()).unwrap());
    ws.feed_blob(
        format!("{out}_grad"),
        Tensor::from_vec(vec![n], dout.clone()).unwrap(),
    );
    ws.run_net(&with_gradients(&fwd).unwrap()).unwrap();

    let relu = Activation::relu();
    let relun = Activation::relu_n(N_ARG).unwrap();
    let leaky = Activation::leaky_relu(f64::from(ALPHA)).unwrap();
    let a: Vec<T> = x.iter().map(|&v| relu.oracle_forward(v).unwrap()).collect();
    let b: Vec<T> = a
        .iter()
        .map(|&v| relun.oracle_forward(v).unwrap())
        .collect();
    let c: Vec<T> = b
        .iter()
        .map(|&v| leaky.oracle_forward(v).unwrap())
        .collect();
    let db: Vec<T> = c
        .iter()
        .zip(&dout)
        .map(|(&y, &d)| leaky.oracle_backward(y, d).unwrap())
        .collect();
    let da: Vec<T> = b
        .iter()
        .zip(&db)
        .map(|(&y, &d)| relun.oracle_backward(y, d).unwrap())
        .collect();
    let dx: Vec<T> = a
        .iter()
        .zip(&da)
        .map(|(&y, &d)| relu.oracle_backward(y, d).unwrap())
        .collect();
    let get = |name: &str| {
        ws.fetch_blob(name)
            .unwrap()
            .as_slice::<T>()
            .unwrap()
            .to_vec()
    };
    assert_bits(&get("A"), &a, "A");
    assert_bits(&get("B"), &b, "B");
    assert_bits(&get(&out), &c, "C");
    assert_bits(&get("B_grad"), &db, "B_grad");
    assert_bits(&get("A_grad"), &da, "A_grad");
    assert_bits(&get("X_grad"), &dx, "X_grad");
    assert_bits(&get("X"), &x, "X");
}

#[test]
fn forward_backward_net_matches_the_oracle_f32() {
    oracle_chain::<f32>(false);
    oracle_chain::<f32>(true);
}

#[test]
fn forward_backward_net_matches_the_oracle_f64() {
    oracle_chain::<f64>(false);
    oracle_chain::<f64>(true);
}

/// `(x, weights) -> (sum_i w_i * out_i, dX)` through `fwd` and its backward net.
fn loss_and_grad(fwd: &NetDef, x: &[f64], w: &[f64]) -> (Vec<f64>, Vec<f64>) {
    let n = x.len();
    let out = fwd.ops.last().unwrap().outputs[0].clone();
    let mut ws = Workspace::new();
    ws.feed_blob("X", Tensor::from_vec(vec![n], x.to_vec()).unwrap());
    ws.run_net(fwd).unwrap();
    let y = ws
        .fetch_blob(&out)
        .unwrap()
        .as_slice::<f64>()
        .unwrap()
        .to_vec();
    ws.feed_blob(
        format!("{out}_grad"),
        Tensor::from_vec(vec![n], w.to_vec()).unwrap(),
    );
    ws.run_net(&backward_net(fwd).unwrap()).unwrap();
    let dx = ws
        .fetch_blob("X_grad")
        .unwrap()
        .as_slice::<f64>()
        .unwrap()
        .to_vec();
    let contrib = y.iter().zip(w).map(|(a, b)| a * b).collect();
    (contrib, dx)
}

/// Central differences, element by element (every op is elementwise, so perturbing
/// every element at once gives each element's partial derivative), at points at
/// least `gap` away from every kink.
fn finite_difference_check(fwd: &NetDef, kinks: &[f64], lo: f64, hi: f64) {
    let mut rng = Rng(0xfd);
    let n = 4000;
    let (h, gap) = (1e-5, 1e-3);
    let mut x = Vec::with_capacity(n);
    while x.len() < n {
        let v = rng.uniform(lo, hi);
        if kinks.iter().all(|k| (v - k).abs() > gap) {
            x.push(v);
        }
    }
    let w: Vec<f64> = (0..n).map(|_| rng.uniform(-2.0, 2.0)).collect();
    let (_, dx) = loss_and_grad(fwd, &x, &w);
    let plus: Vec<f64> = x.iter().map(|v| v + h).collect();
    let minus: Vec<f64> = x.iter().map(|v| v - h).collect();
    let (lp, _) = loss_and_grad(fwd, &plus, &w);
    let (lm, _) = loss_and_grad(fwd, &minus, &w);
    let mut seen_slopes = std::collections::BTreeSet::new();
    for i in 0..n {
        let numeric = (lp[i] - lm[i]) / (2.0 * h);
        let tol = 1e-6 * (1.0 + dx[i].abs());
        assert!(
            (numeric - dx[i]).abs() <= tol,
            "x = {}: finite difference {numeric} vs backward {}",
            x[i],
            dx[i]
        );
        if w[i] != 0.0 {
            seen_slopes.insert(((dx[i] / w[i]) * 1e6).round() as i64);
        }
    }
    assert!(
        seen_slopes.len() >= 2,
        "the points must cover several linear pieces: {seen_slopes:?}"
    );
}

#[test]
fn chain_gradient_matches_finite_differences() {
    finite_difference_check(&forward_net(false), &[0.0, N_ARG], -10.0, 10.0);
}

#[test]
fn leaky_relu_gradient_matches_finite_differences() {
    // LeakyRelu before ReluN, so that alpha's branch reaches the output.
    let net = NetDef::new("leaky_first")
        .op(OperatorDef::new("LeakyRelu")
            .input("X")
            .output("A")
            .arg("alpha", 0.3))
        .op(OperatorDef::new("ReluN")
            .input("A")
            .output("B")
            .arg("n", f32::INFINITY));
    finite_difference_check(&net, &[0.0], -10.0, 10.0);
    let net = NetDef::new("leaky_in_place")
        .op(OperatorDef::new("LeakyRelu")
            .input("X")
            .output("X")
            .arg("alpha", 0.3))
        .op(OperatorDef::new("ReluN")
            .input("X")
            .output("B")
            .arg("n", 2.5));
    finite_difference_check(&net, &[0.0, 2.5], -5.0, 5.0);
}

fn start() -> Workspace {
    let mut ws = Workspace::new();
    ws.feed_blob(
        "X",
        Tensor::from_vec(vec![2, 2], vec![-1.0f32, 2.0, 9.0, -0.0]).unwrap(),
    );
    ws.feed_blob("Xt", Tensor::from_vec(vec![4, 1], vec![1.0f32; 4]).unwrap());
    ws
}

#[test]
fn a_refused_net_leaves_every_blob_as_it_was() {
    use OpErrorKind::*;
    let in_place = |op: &str| OperatorDef::new(op).input("X").output("X");
    let cases: Vec<(NetDef, OpErrorKind, &str)> = vec![
        // The third op's input is missing: the in-place first op must not have run.
        (
            NetDef::new("n1")
                .op(in_place("Relu"))
                .op(OperatorDef::new("ReluN").input("X").output("Y"))
                .op(OperatorDef::new("LeakyRelu").input("Z").output("W")),
            MissingBlob,
            "op #2",
        ),
        // The gradient's shape check fails on a blob an earlier op produced.
        (
            NetDef::new("n2")
                .op(in_place("LeakyRelu"))
                .op(OperatorDef::new("ReluN").input("X").output("Y"))
                .op(OperatorDef::new("ReluNGradient")
                    .input("Y")
                    .input("Xt")
                    .output("Xt")),
            ShapeMismatch,
            "op #2",
        ),
        // Unknown operator types are refused by name, before anything runs.
        (
            NetDef::new("n3")
                .op(in_place("Relu"))
                .op(OperatorDef::new("Softmax").input("X").output("X")),
            UnknownOp,
            "Softmax",
        ),
        // A later op's invalid argument.
        (
            NetDef::new("n4")
                .op(in_place("Relu"))
                .op(in_place("ReluN").arg("n", 0.0)),
            ArgumentValue,
            "op #1",
        ),
        // A type that becomes wrong: Int8Relu on a float blob.
        (
            NetDef::new("n5")
                .op(in_place("ReluN"))
                .op(in_place("Int8Relu")),
            TypeMismatch,
            "op #1",
        ),
    ];
    for (net, want, needle) in cases {
        let mut ws = start();
        let before = ws.clone();
        let e = ws.run_net(&net).unwrap_err();
        assert_eq!(kind(&e), want, "{e}");
        assert!(
            e.to_string().contains(needle) && e.to_string().contains(&net.name),
            "{e}"
        );
        assert!(ws == before, "net {} changed the workspace", net.name);
    }
}

#[test]
fn later_ops_see_the_blobs_earlier_ops_make() {
    // Op #1 reads a blob that only op #0 creates, and op #2 overwrites an f64 blob with
    // the f32 one: the net's checks follow the blobs as they will be.
    let mut ws = start();
    ws.feed_blob("B", Tensor::from_vec(vec![1], vec![5.0f64]).unwrap());
    let net = NetDef::new("flow")
        .op(OperatorDef::new("Relu").input("X").output("A"))
        .op(OperatorDef::new("ReluN")
            .input("A")
            .output("B")
            .arg("n", 1.0))
        .op(OperatorDef::new("ReluGradient")
            .input("B")
            .input("A")
            .output("A"));
    ws.run_net(&net).unwrap();
    let b = ws.fetch_blob("B").unwrap();
    assert_eq!(b.as_slice::<f32>().unwrap(), [0.0, 1.0, 1.0, -0.0]);
    // A = relu(X) = [0, 2, 9, -0]; dA where B > 0: [0, 2, 9, 0].
    assert_eq!(
        ws.fetch_blob("A").unwrap().as_slice::<f32>().unwrap(),
        [0.0, 2.0, 9.0, 0.0]
    );
}

#[test]
fn empty_net_runs() {
    let mut ws = start();
    ws.run_net(&NetDef::new("empty")).unwrap();
    assert!(ws == start());
}
