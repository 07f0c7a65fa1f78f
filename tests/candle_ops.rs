//! The `candle` entry points against the oracle, bit for bit, on every available ISA
//! and element type (f32, f64, f16, bf16): contiguous tensors, tensors at an offset
//! in their storage, narrowed rows (one kernel call per row), transposed and permuted
//! views (the innermost dimension strided: element by element), broadcast inputs,
//! empty and size-1 shapes; allocating, in place (the rest of the storage must keep
//! its bits), backward with independent layouts of `y` and `dy`, and autograd through
//! candle's `backward()`. Refusals (parameters, dtypes, shapes) must name what was
//! wrong and write nothing. With the `candle-nn` feature, a two-layer MLP trained with
//! candle-nn's SGD must end with the same parameters, bit for bit, whether its
//! activation is candle's or the crate's.
#![cfg(feature = "candle")]

mod common;

use caffe2op_relu::candle::{self as cr, candle_core};
use caffe2op_relu::{Activation, Element, Kernel, Op};
use candle_core::{DType, Device, Module, Tensor, Var, WithDType};
use common::{Rng, TestElem, activations, assert_bits, kernels_for, values};

/// Element types under test: the crate's and candle's at once.
trait Elem: TestElem + WithDType {}
impl<T: TestElem + WithDType> Elem for T {}

/// `Element::to_f64` (candle's `WithDType` has a method of the same name).
fn fl<T: Element>(v: T) -> f64 {
    v.to_f64()
}

/// `Element::from_f64`.
fn from<T: Element>(v: f64) -> T {
    T::from_f64(v)
}

/// How a logical tensor sits in its storage: the storage holds `lead` elements first,
/// then a row-major array whose dimensions are the logical ones in the order `perm`,
/// its last dimension `pad` longer; the view narrows that dimension and permutes the
/// axes back.
#[derive(Debug, Clone)]
struct Spec {
    name: &'static str,
    perm: Vec<usize>,
    pad: usize,
    lead: usize,
}

fn specs(ndim: usize) -> Vec<Spec> {
    let id: Vec<usize> = (0..ndim).collect();
    let rev: Vec<usize> = (0..ndim).rev().collect();
    let mut v = vec![
        Spec {
            name: "contiguous",
            perm: id.clone(),
            pad: 0,
            lead: 0,
        },
        Spec {
            name: "offset",
            perm: id.clone(),
            pad: 0,
            lead: 5,
        },
        Spec {
            name: "rows",
            perm: id.clone(),
            pad: 3,
            lead: 1,
        },
        Spec {
            name: "transposed",
            perm: rev.clone(),
            pad: 0,
            lead: 0,
        },
        Spec {
            name: "transposed+padded",
            perm: rev,
            pad: 2,
            lead: 3,
        },
    ];
    if ndim == 3 {
        v.push(Spec {
            name: "permuted(1,0,2)",
            perm: vec![1, 0, 2],
            pad: 1,
            lead: 2,
        });
    }
    v
}

/// The shapes every layout is tried on.
const SHAPES: [&[usize]; 6] = [&[3, 67], &[2, 3, 41], &[1, 1], &[5, 1], &[0, 5], &[300]];

/// A storage tensor (flat) and a view of it whose logical row-major elements are
/// `vals`; the other elements of the storage are `fill`.
fn place<T: Elem>(vals: &[T], dims: &[usize], s: &Spec, fill: T) -> (Tensor, Tensor) {
    let nd = dims.len();
    let perm = if s.perm.len() == nd {
        s.perm.clone()
    } else {
        (0..nd).collect()
    };
    // The base array's dimensions (last one padded) and row-major strides.
    let mut bd: Vec<usize> = perm.iter().map(|&p| dims[p]).collect();
    bd[nd - 1] += s.pad;
    let mut bs = vec![1usize; nd];
    for j in (0..nd.saturating_sub(1)).rev() {
        bs[j] = bs[j + 1] * bd[j + 1];
    }
    let total: usize = bd.iter().product();
    let mut storage = vec![fill; s.lead + total];
    // Every logical index, row-major.
    let n: usize = dims.iter().product();
    let mut idx = vec![0usize; nd];
    for &v in vals.iter().take(n) {
        let flat: usize = (0..nd).map(|j| idx[perm[j]] * bs[j]).sum();
        storage[s.lead + flat] = v;
        for i in (0..nd).rev() {
            idx[i] += 1;
            if idx[i] < dims[i] {
                break;
            }
            idx[i] = 0;
        }
    }
    let dev = Device::Cpu;
    let flat = Tensor::from_vec(storage, s.lead + total, &dev).unwrap();
    let mut view = flat.narrow(0, s.lead, total).unwrap().reshape(bd).unwrap();
    view = view.narrow(nd - 1, 0, dims[perm[nd - 1]]).unwrap();
    // Back to the logical order: view dim i is base dim j with perm[j] == i.
    let inv: Vec<usize> = (0..nd)
        .map(|i| perm.iter().position(|&p| p == i).unwrap())
        .collect();
    let view = view.permute(inv).unwrap();
    assert_eq!(view.dims(), dims, "{}", s.name);
    (flat, view)
}

/// The logical elements of a tensor of any layout, in row-major order.
fn elems<T: Elem>(t: &Tensor) -> Vec<T> {
    t.flatten_all().unwrap().to_vec1::<T>().unwrap()
}

/// The kernels to test for `act`: every available ISA (serial) and the default
/// dispatch with `Threads::Auto`.
fn kernels(act: Activation) -> Vec<Kernel> {
    let mut v = kernels_for(act);
    v.push(Kernel::new(act));
    v
}

fn forward_layouts<T: Elem>(seed: u64) {
    let mut rng = Rng(seed ^ size_of::<T>() as u64);
    let fill = from::<T>(-77.0);
    for op in Op::ALL {
        for act in activations(op, &mut rng) {
            let Ok(p) = act.params_in::<T>() else {
                continue; // refused in T: see `refusals_write_nothing`
            };
            for k in kernels(act) {
                for dims in SHAPES {
                    let n: usize = dims.iter().product();
                    let x: Vec<T> = values(&mut rng, n, act.param());
                    let want: Vec<T> = x
                        .iter()
                        .map(|&v| T::oracle_forward_with(op, v, p))
                        .collect();
                    for s in specs(dims.len()) {
                        let ctx = format!("{} {act:?} {:?} {dims:?} {}", T::NAME, k.isa(), s.name);
                        // Allocating: a new contiguous tensor; the input keeps its bits.
                        let (flat, view) = place(&x, dims, &s, fill);
                        let before = flat.to_vec1::<T>().unwrap();
                        let y = k.forward_tensor(&view).unwrap();
                        assert!(y.is_contiguous(), "{ctx}");
                        assert_eq!(y.dims(), dims, "{ctx}");
                        assert_bits(&elems::<T>(&y), &want, &format!("{ctx} forward"));
                        assert_bits(&flat.to_vec1::<T>().unwrap(), &before, &ctx);
                        // In place: the view holds the results, the rest of the storage
                        // keeps its bits. (candle refuses some empty views in place, a
                        // zero stride in an empty dimension; nothing to write either way.)
                        let r = k.forward_tensor_in_place(&view);
                        if n > 0 {
                            r.unwrap();
                        }
                        assert_bits(&elems::<T>(&view), &want, &format!("{ctx} in place"));
                        let (expect, _) = place(&want, dims, &s, fill);
                        assert_bits(
                            &flat.to_vec1::<T>().unwrap(),
                            &expect.to_vec1::<T>().unwrap(),
                            &format!("{ctx} in place, whole storage"),
                        );
                    }
                }
            }
        }
    }
}

fn backward_layouts<T: Elem>(seed: u64) {
    let mut rng = Rng(seed ^ size_of::<T>() as u64);
    let fill = from::<T>(-77.0);
    for op in Op::ALL {
        for act in activations(op, &mut rng) {
            let Ok(p) = act.params_in::<T>() else {
                continue;
            };
            for k in kernels(act) {
                for dims in SHAPES {
                    let n: usize = dims.iter().product();
                    let y: Vec<T> = values(&mut rng, n, act.param());
                    let dy: Vec<T> = values(&mut rng, n, 1.0);
                    let want: Vec<T> = y
                        .iter()
                        .zip(&dy)
                        .map(|(&a, &g)| T::oracle_backward_with(op, a, g, p))
                        .collect();
                    let sp = specs(dims.len());
                    // Every layout of y with two layouts of dy (rotated), so contiguous
                    // y meets strided dy and the other way round.
                    for (i, sy) in sp.iter().enumerate() {
                        for sdy in [&sp[(i + 1) % sp.len()], &sp[(i + 3) % sp.len()]] {
                            let ctx = format!(
                                "{} {act:?} {:?} {dims:?} y {} dy {}",
                                T::NAME,
                                k.isa(),
                                sy.name,
                                sdy.name
                            );
                            let (_, yv) = place(&y, dims, sy, fill);
                            let (_, dyv) = place(&dy, dims, sdy, fill);
                            let dx = k.backward_tensor(&yv, &dyv).unwrap();
                            assert!(dx.is_contiguous(), "{ctx}");
                            assert_bits(&elems::<T>(&dx), &want, &ctx);
                        }
                        // Both contiguous at once (the slice kernels' path).
                        let (_, yv) = place(&y, dims, sy, fill);
                        let (_, dyv) = place(&dy, dims, sy, fill);
                        let dx = k.backward_tensor(&yv, &dyv).unwrap();
                        assert_bits(&elems::<T>(&dx), &want, &format!("{op:?} same layouts"));
                    }
                }
            }
        }
    }
}

#[test]
fn f32_forward_every_layout() {
    forward_layouts::<f32>(0xca01);
}

#[test]
fn f64_forward_every_layout() {
    forward_layouts::<f64>(0xca02);
}

#[test]
fn f16_forward_every_layout() {
    forward_layouts::<half::f16>(0xca03);
}

#[test]
fn bf16_forward_every_layout() {
    forward_layouts::<half::bf16>(0xca04);
}

#[test]
fn f32_backward_every_layout() {
    backward_layouts::<f32>(0xcb01);
}

#[test]
fn f64_backward_every_layout() {
    backward_layouts::<f64>(0xcb02);
}

#[test]
fn f16_backward_every_layout() {
    backward_layouts::<half::f16>(0xcb03);
}

#[test]
fn bf16_backward_every_layout() {
    backward_layouts::<half::bf16>(0xcb04);
}

/// Broadcast inputs (stride 0): along the rows (blocks of a row each) and along the
/// columns (element by element), forward and backward.
fn broadcast<T: Elem>() {
    let mut rng = Rng(0xb0ad ^ size_of::<T>() as u64);
    let dev = Device::Cpu;
    for op in Op::ALL {
        for act in activations(op, &mut rng) {
            let Ok(p) = act.params_in::<T>() else {
                continue;
            };
            let row: Vec<T> = values(&mut rng, 37, act.param());
            let col: Vec<T> = values(&mut rng, 4, act.param());
            let dy: Vec<T> = values(&mut rng, 4 * 37, 1.0);
            let rows = Tensor::from_vec(row.clone(), (1, 37), &dev).unwrap();
            let cols = Tensor::from_vec(col.clone(), (4, 1), &dev).unwrap();
            let dyt = Tensor::from_vec(dy.clone(), (4, 37), &dev).unwrap();
            for k in kernels(act) {
                let ctx = format!("{} {act:?} {:?}", T::NAME, k.isa());
                for (src, logical) in [
                    (rows.broadcast_as((4, 37)).unwrap(), {
                        let v: Vec<T> = (0..4).flat_map(|_| row.iter().copied()).collect();
                        v
                    }),
                    (cols.broadcast_as((4, 37)).unwrap(), {
                        let v: Vec<T> = col.iter().flat_map(|&c| [c; 37]).collect();
                        v
                    }),
                ] {
                    let want: Vec<T> = logical
                        .iter()
                        .map(|&v| T::oracle_forward_with(op, v, p))
                        .collect();
                    let y = k.forward_tensor(&src).unwrap();
                    assert_bits(&elems::<T>(&y), &want, &format!("{ctx} forward"));
                    let want: Vec<T> = logical
                        .iter()
                        .zip(&dy)
                        .map(|(&a, &g)| T::oracle_backward_with(op, a, g, p))
                        .collect();
                    let dx = k.backward_tensor(&src, &dyt).unwrap();
                    assert_bits(&elems::<T>(&dx), &want, &format!("{ctx} backward, y"));
                    // dy broadcast instead.
                    let dx = k.backward_tensor(&dyt, &src).unwrap();
                    let want: Vec<T> = dy
                        .iter()
                        .zip(&logical)
                        .map(|(&a, &g)| T::oracle_backward_with(op, a, g, p))
                        .collect();
                    assert_bits(&elems::<T>(&dx), &want, &format!("{ctx} backward, dy"));
                    // In place on a broadcast is refused by candle, and writes nothing.
                    let before = elems::<T>(&rows);
                    assert!(k.forward_tensor_in_place(&src).is_err(), "{ctx}");
                    assert_bits(&elems::<T>(&rows), &before, &ctx);
                }
            }
        }
    }
}

#[test]
fn broadcast_inputs_every_type() {
    broadcast::<f32>();
    broadcast::<f64>();
    broadcast::<half::f16>();
    broadcast::<half::bf16>();
}

/// Autograd: `sum(op(x) * w)` has `dL/dy = w`, so `x`'s gradient must be the crate's
/// gradient oracle from the forward output, plus candle's zero start (`0 + g`, which
/// turns `-0.0` into `+0.0`). `w` also reaches the op transposed, so candle hands
/// the backward pass a strided `dy`.
fn autograd<T: Elem>() {
    let mut rng = Rng(0xa07 ^ size_of::<T>() as u64);
    let dev = Device::Cpu;
    let (r, c) = (5, 43);
    for op in Op::ALL {
        for act in activations(op, &mut rng) {
            let Ok(p) = act.params_in::<T>() else {
                continue;
            };
            let k = Kernel::new(act);
            let x: Vec<T> = values(&mut rng, r * c, act.param());
            // Finite weights: `1 * w` must be `w` exactly.
            let w: Vec<T> = (0..r * c)
                .map(|_| from::<T>(rng.uniform(-4.0, 4.0)))
                .collect();
            let xv = Var::from_tensor(&Tensor::from_vec(x.clone(), (r, c), &dev).unwrap()).unwrap();
            let wt = Tensor::from_vec(w.clone(), (c, r), &dev).unwrap();
            for transposed in [false, true] {
                let ctx = format!("{} {act:?} transposed {transposed}", T::NAME);
                let y = k.forward_tensor(&xv).unwrap();
                let (loss, dy) = if transposed {
                    // dy arrives as wt.t(): strided.
                    let l = (y.t().unwrap() * &wt).unwrap().sum_all().unwrap();
                    (l, elems::<T>(&wt.t().unwrap()))
                } else {
                    let wr = Tensor::from_vec(w.clone(), (r, c), &dev).unwrap();
                    ((&y * &wr).unwrap().sum_all().unwrap(), w.clone())
                };
                let grads = loss.backward().unwrap();
                let got = elems::<T>(grads.get(xv.as_tensor()).unwrap());
                let ys = elems::<T>(&y);
                for (i, ((&g, &yi), &d)) in got.iter().zip(&ys).zip(&dy).enumerate() {
                    let want = T::oracle_backward_with(op, yi, d, p);
                    let want = if fl(want) == 0.0 {
                        from::<T>(0.0)
                    } else {
                        want
                    };
                    let same =
                        g.to_bits() == want.to_bits() || (fl(g).is_nan() && fl(want).is_nan());
                    assert!(
                        same,
                        "{ctx} [{i}]: got {g:?}, want {want:?} (y {yi:?}, dy {d:?})"
                    );
                }
            }
        }
    }
}

#[test]
fn autograd_every_type() {
    autograd::<f32>();
    autograd::<f64>();
    autograd::<half::f16>();
    autograd::<half::bf16>();
}

/// The one-line functions and `Module` are the kernels of the same activation.
#[test]
fn free_functions_and_module() {
    let mut rng = Rng(0xf1);
    let x: Vec<f32> = values(&mut rng, 1000, 6.0);
    let t = Tensor::from_vec(x.clone(), (10, 100), &Device::Cpu).unwrap();
    type F = fn(&Tensor) -> candle_core::Result<Tensor>;
    let cases: [(Activation, F); 4] = [
        (Activation::relu(), |t| cr::relu(t)),
        (Activation::relu_n(6.0).unwrap(), |t| cr::relu_n(t, 6.0)),
        (Activation::leaky_relu(0.1).unwrap(), |t| {
            cr::leaky_relu(t, 0.1)
        }),
        (Activation::clip(-1.0, 1.0).unwrap(), |t| {
            cr::clip(t, -1.0, 1.0)
        }),
    ];
    for (act, f) in cases {
        let want: Vec<f32> = x.iter().map(|&v| act.oracle_forward(v).unwrap()).collect();
        assert_bits(&elems::<f32>(&f(&t).unwrap()), &want, "free fn");
        assert_bits(
            &elems::<f32>(&t.apply(&Kernel::new(act)).unwrap()),
            &want,
            "Module",
        );
        assert_bits(
            &elems::<f32>(&Module::forward(&Kernel::new(act), &t).unwrap()),
            &want,
            "Module::forward",
        );
        let u = t.copy().unwrap();
        match act.op() {
            Op::Relu => cr::relu_in_place(&u).unwrap(),
            Op::ReluN => cr::relu_n_in_place(&u, 6.0).unwrap(),
            Op::LeakyRelu => cr::leaky_relu_in_place(&u, 0.1).unwrap(),
            Op::Clip => cr::clip_in_place(&u, -1.0, 1.0).unwrap(),
        }
        assert_bits(&elems::<f32>(&u), &want, "in-place free fn");
    }
}

/// Calls large enough to be split across candle's pool (from 64 Ki elements out of
/// place, from a 1 MiB buffer in place) give the oracle's bits, just below and above
/// those lengths and far above them.
#[test]
fn threaded_calls() {
    let mut rng = Rng(0x7e);
    let act = Activation::leaky_relu(0.5).unwrap();
    let k = Kernel::new(act);
    for n in [
        (64 << 10) - 1,
        64 << 10,
        (64 << 10) + 17,
        (1 << 18) + 5,
        3 << 20,
    ] {
        let x: Vec<f32> = values(&mut rng, n, 0.5);
        let dy: Vec<f32> = values(&mut rng, n, 1.0);
        let want: Vec<f32> = x.iter().map(|&v| act.oracle_forward(v).unwrap()).collect();
        let wantg: Vec<f32> = want
            .iter()
            .zip(&dy)
            .map(|(&a, &g)| act.oracle_backward(a, g).unwrap())
            .collect();
        let t = Tensor::from_vec(x.clone(), n, &Device::Cpu).unwrap();
        let y = k.forward_tensor(&t).unwrap();
        assert_bits(&elems::<f32>(&y), &want, &format!("threaded forward, {n}"));
        let dyt = Tensor::from_vec(dy.clone(), n, &Device::Cpu).unwrap();
        let dx = k.backward_tensor(&y, &dyt).unwrap();
        assert_bits(
            &elems::<f32>(&dx),
            &wantg,
            &format!("threaded backward, {n}"),
        );
        k.forward_tensor_in_place(&t).unwrap();
        assert_bits(&elems::<f32>(&t), &want, &format!("threaded in place, {n}"));
    }
}

/// Every refusal names what was wrong, and a refused call writes nothing.
#[test]
fn refusals_write_nothing() {
    let dev = Device::Cpu;
    let x: Vec<f32> = vec![-1.0, 2.0, -3.0, 4.0];
    let t = Tensor::from_vec(x.clone(), (2, 2), &dev).unwrap();
    let unchanged = |t: &Tensor| assert_bits(&elems::<f32>(t), &x, "refused call wrote");

    let e = cr::leaky_relu_in_place(&t, f64::NAN)
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("leaky_relu") && e.contains("invalid `alpha` = NaN"),
        "{e}"
    );
    unchanged(&t);
    let e = cr::leaky_relu(&t, -0.5).unwrap_err().to_string();
    assert!(e.contains("invalid `alpha` = -0.5"), "{e}");
    let e = cr::relu_n_in_place(&t, 0.0).unwrap_err().to_string();
    assert!(
        e.contains("relu_n") && e.contains("invalid `n` = 0.0"),
        "{e}"
    );
    unchanged(&t);
    let e = cr::relu_n_in_place(&t, f64::NAN).unwrap_err().to_string();
    assert!(e.contains("invalid `n` = NaN"), "{e}");
    unchanged(&t);

    // Valid as f64, refused once rounded to the tensor's type: f32 and a strided view
    // (the walk checks before its first store), f16 where 1e-10 is 0.
    let k = Kernel::new(Activation::relu_n(1e-50).unwrap());
    let e = k.forward_tensor_in_place(&t).unwrap_err().to_string();
    assert!(e.contains("invalid `n` = 1e-50 (as f32)"), "{e}");
    let e = k
        .forward_tensor_in_place(&t.t().unwrap())
        .unwrap_err()
        .to_string();
    assert!(e.contains("invalid `n` = 1e-50 (as f32)"), "{e}");
    let e = k.forward_tensor(&t.t().unwrap()).unwrap_err().to_string();
    assert!(e.contains("invalid `n` = 1e-50 (as f32)"), "{e}");
    unchanged(&t);
    let y = Tensor::new(&[1.0f32, 0.0], &dev).unwrap();
    let e = k.backward_tensor(&y, &y).unwrap_err().to_string();
    assert!(e.contains("relu_n") && e.contains("(as f32)"), "{e}");
    let h = t.to_dtype(DType::F16).unwrap();
    let hb = elems::<half::f16>(&h);
    let k16 = Kernel::new(Activation::relu_n(1e-10).unwrap());
    let e = k16.forward_tensor_in_place(&h).unwrap_err().to_string();
    assert!(e.contains("invalid `n` = 1e-10 (as f16)"), "{e}");
    assert_bits(&elems::<half::f16>(&h), &hb, "f16 refusal wrote");
    assert!(k16.forward_tensor(&t).is_ok()); // fine in f32

    // dtypes without kernels.
    for dt in [DType::U8, DType::U32, DType::I64] {
        let u = t.abs().unwrap().to_dtype(dt).unwrap();
        let before = u
            .to_dtype(DType::F64)
            .unwrap()
            .flatten_all()
            .unwrap()
            .to_vec1::<f64>()
            .unwrap();
        let e = cr::relu(&u).unwrap_err().to_string();
        assert!(e.contains(&format!("{dt:?}")) && e.contains("relu"), "{e}");
        let e = cr::relu_in_place(&u).unwrap_err().to_string();
        assert!(e.contains(&format!("{dt:?}")), "{e}");
        let after = u
            .to_dtype(DType::F64)
            .unwrap()
            .flatten_all()
            .unwrap()
            .to_vec1::<f64>()
            .unwrap();
        assert_eq!(before, after, "{dt:?}");
    }

    // backward: dy of another shape or dtype.
    let k = Kernel::new(Activation::relu());
    let e = k
        .backward_tensor(&t, &Tensor::zeros((4, 1), DType::F32, &dev).unwrap())
        .unwrap_err()
        .to_string();
    assert!(e.contains("`dy` has shape [4, 1], expected [2, 2]"), "{e}");
    let e = k
        .backward_tensor(&t, &Tensor::zeros((2, 2), DType::F64, &dev).unwrap())
        .unwrap_err()
        .to_string();
    assert!(e.contains("`dy` has dtype F64, expected F32"), "{e}");
}

/// Two-layer MLPs trained with candle-nn's SGD, once with candle's activation and once
/// with the crate's, end with the same parameters bit for bit. The semantics agree
/// here because no pre-activation is exactly zero or NaN (checked at every step;
/// `docs/DESIGN.md` lists where they differ).
#[cfg(feature = "candle-nn")]
mod mlp {
    use super::*;
    use candle_nn::optim::{Optimizer, SGD};

    type Act = fn(&Tensor) -> candle_core::Result<Tensor>;

    /// Trains `steps` SGD steps; returns the parameters and every pre-activation seen.
    fn train<T: Elem>(act: Act, steps: usize) -> (Vec<Vec<T>>, Vec<Vec<T>>) {
        let dev = Device::Cpu;
        let mut rng = Rng(0x31f);
        let mut rand = |n: usize, scale: f64| -> Vec<T> {
            (0..n)
                .map(|_| from::<T>(rng.uniform(-scale, scale)))
                .collect()
        };
        let (batch, inp, hid, out) = (16, 8, 32, 4);
        let var = |v: Vec<T>, shape: (usize, usize)| {
            Var::from_tensor(&Tensor::from_vec(v, shape, &dev).unwrap()).unwrap()
        };
        let w1 = var(rand(hid * inp, 0.5), (hid, inp));
        let b1 = var(rand(hid, 0.1), (1, hid));
        let w2 = var(rand(out * hid, 0.5), (out, hid));
        let b2 = var(rand(out, 0.1), (1, out));
        let x = Tensor::from_vec(rand(batch * inp, 1.0), (batch, inp), &dev).unwrap();
        let target = Tensor::from_vec(rand(batch * out, 1.0), (batch, out), &dev).unwrap();
        let params = [w1.clone(), b1.clone(), w2.clone(), b2.clone()];
        let mut opt = SGD::new(params.to_vec(), 0.05).unwrap();
        let mut pre = Vec::new();
        for _ in 0..steps {
            let z = x
                .matmul(&w1.t().unwrap())
                .unwrap()
                .broadcast_add(&b1)
                .unwrap();
            pre.push(elems::<T>(&z));
            let h = act(&z).unwrap();
            let o = h
                .matmul(&w2.t().unwrap())
                .unwrap()
                .broadcast_add(&b2)
                .unwrap();
            let loss = (o - &target).unwrap().sqr().unwrap().mean_all().unwrap();
            opt.backward_step(&loss).unwrap();
        }
        (params.iter().map(|p| elems::<T>(p)).collect(), pre)
    }

    fn same_training<T: Elem>(theirs: Act, ours: Act, what: &str) {
        let steps = 6;
        let (init, _) = train::<T>(ours, 0);
        let (a, pre) = train::<T>(theirs, steps);
        let (b, pre_b) = train::<T>(ours, steps);
        // Where the semantics agree: no pre-activation exactly 0 or NaN.
        for (s, z) in pre.iter().enumerate() {
            assert!(
                z.iter().all(|&v| fl(v) != 0.0 && !fl(v).is_nan()),
                "{what}: step {s} has a pre-activation at 0 or NaN"
            );
        }
        for (i, (pa, pb)) in a.iter().zip(&b).enumerate() {
            assert_bits(pb, pa, &format!("{what} {}: parameter {i}", T::NAME));
        }
        for (s, (za, zb)) in pre.iter().zip(&pre_b).enumerate() {
            assert_bits(zb, za, &format!("{what}: pre-activations of step {s}"));
        }
        // The training moved every parameter tensor (so the gradients flowed).
        for (i, (p0, p)) in init.iter().zip(&a).enumerate() {
            assert_ne!(
                common::bits(p0),
                common::bits(p),
                "{what}: parameter {i} never moved"
            );
        }
    }

    #[test]
    fn relu_mlp_matches_candle() {
        same_training::<f32>(|t| t.relu(), cr::relu, "relu");
        same_training::<f64>(|t| t.relu(), cr::relu, "relu");
    }

    #[test]
    fn leaky_relu_mlp_matches_candle_nn() {
        same_training::<f32>(
            |t| candle_nn::ops::leaky_relu(t, 0.125),
            |t| cr::leaky_relu(t, 0.125),
            "leaky_relu",
        );
        same_training::<f64>(
            |t| candle_nn::ops::leaky_relu(t, 0.01),
            |t| cr::leaky_relu(t, 0.01),
            "leaky_relu",
        );
    }
}

/// PRelu on tensors (NCHW: channels on dimension 1) against the kernels crate's PRelu
/// oracles, on every layout of `specs`, with slopes of `C` values and of one, a
/// strided slope, autograd for both inputs, and refusals that write nothing.
mod prelu_tensors {
    use super::*;
    use caffe2op_relu::{Order, Prelu};
    use caffe2op_relu_kernels::prelu::{self as kp, DwElem, Shape};

    /// NCHW as PRelu sees it: `N x C x (the rest)`, or one shared slope.
    fn shape(dims: &[usize], slopes: usize) -> Shape {
        let n: usize = dims.iter().product();
        if slopes == 1 {
            return Shape {
                outer: 1,
                count: 1,
                inner: n,
            };
        }
        Shape {
            outer: dims[0],
            count: dims[1],
            inner: dims[2..].iter().product(),
        }
    }

    fn slope_at<T: Copy>(w: &[T], s: &Shape, i: usize) -> T {
        w[(i / s.inner) % s.count]
    }

    fn want_forward<T: Element>(x: &[T], w: &[T], s: &Shape) -> Vec<T> {
        (0..x.len())
            .map(|i| T::from_kernel(kp::oracle(x[i].to_kernel(), slope_at(w, s, i).to_kernel())))
            .collect()
    }

    fn want_dx<T: Element>(x: &[T], dy: &[T], w: &[T], s: &Shape) -> Vec<T> {
        (0..x.len())
            .map(|i| {
                let wk = slope_at(w, s, i).to_kernel();
                T::from_kernel(kp::oracle_grad(x[i].to_kernel(), dy[i].to_kernel(), wk))
            })
            .collect()
    }

    fn want_dw<T: Element>(x: &[T], dy: &[T], s: &Shape) -> Vec<T> {
        let xk: Vec<T::Kernel> = x.iter().map(|v| v.to_kernel()).collect();
        let gk: Vec<T::Kernel> = dy.iter().map(|v| v.to_kernel()).collect();
        let mut scratch = vec![<T::Kernel as DwElem>::ACC_ZERO; s.blocks()];
        (0..s.count)
            .map(|c| T::from_kernel(kp::dw_oracle(&xk, &gk, s, c, &mut scratch)))
            .collect()
    }

    /// Bits, except that any NaN matches any NaN and (with `zeros`) `-0.0` matches
    /// `+0.0` (candle's gradient store starts from `0 + g`).
    fn same<T: Element>(got: &[T], want: &[T], zeros: bool, what: &str) {
        assert_eq!(got.len(), want.len(), "{what}: lengths");
        for (i, (&g, &w)) in got.iter().zip(want).enumerate() {
            let ok = g.to_bits() == w.to_bits()
                || (fl(g).is_nan() && fl(w).is_nan())
                || (zeros && fl(g) == 0.0 && fl(w) == 0.0);
            assert!(ok, "{what}[{i}]: got {g:?}, want {w:?}");
        }
    }

    /// Finite slopes (learned values: any sign).
    fn slopes<T: Elem>(rng: &mut Rng, n: usize) -> Vec<T> {
        (0..n).map(|_| from::<T>(rng.uniform(-2.0, 2.0))).collect()
    }

    fn layouts<T: Elem>() {
        let mut rng = Rng(0x9e1 ^ size_of::<T>() as u64);
        let fill = from::<T>(-77.0);
        let dev = Device::Cpu;
        for dims in [&[2usize, 3, 41][..], &[3, 67], &[1, 1], &[4, 5, 2]] {
            let n: usize = dims.iter().product();
            for count in [dims[1], 1] {
                let x: Vec<T> = values(&mut rng, n, 1.0);
                let w: Vec<T> = slopes(&mut rng, count);
                let s = shape(dims, count);
                let want = want_forward(&x, &w, &s);
                // The slope as given, and strided (every other element of a longer one).
                let wide: Vec<T> = w.iter().flat_map(|&v| [v, fill]).collect();
                let strided = Tensor::from_vec(wide, (count, 2), &dev)
                    .unwrap()
                    .narrow(1, 0, 1)
                    .unwrap()
                    .squeeze(1)
                    .unwrap();
                let plain = Tensor::from_vec(w.clone(), count, &dev).unwrap();
                for (slope, sname) in [(&plain, "slope"), (&strided, "strided slope")] {
                    for sp in specs(dims.len()) {
                        let ctx = format!("{} {dims:?} C={count} {} {sname}", T::NAME, sp.name);
                        let (flat, view) = place(&x, dims, &sp, fill);
                        let before = flat.to_vec1::<T>().unwrap();
                        let y = cr::prelu(&view, slope).unwrap();
                        assert_eq!(y.dims(), dims, "{ctx}");
                        assert_bits(&elems::<T>(&y), &want, &format!("{ctx} forward"));
                        assert_bits(&flat.to_vec1::<T>().unwrap(), &before, &ctx);
                        cr::prelu_in_place(&view, slope).unwrap();
                        let (expect, _) = place(&want, dims, &sp, fill);
                        assert_bits(
                            &flat.to_vec1::<T>().unwrap(),
                            &expect.to_vec1::<T>().unwrap(),
                            &format!("{ctx} in place, whole storage"),
                        );
                        // The gradients of a strided x, directly.
                        let (_, view) = place(&x, dims, &sp, fill);
                        let dy: Vec<T> = values(&mut rng, n, 1.0);
                        let dyt = Tensor::from_vec(dy.clone(), dims, &dev).unwrap();
                        let (dx, dw) = Prelu::new(Order::Nchw)
                            .backward_tensor(&view, &dyt, slope)
                            .unwrap();
                        assert_bits(&elems::<T>(&dx), &want_dx(&x, &dy, &w, &s), &ctx);
                        assert_eq!(dw.dims(), slope.dims(), "{ctx}");
                        same(&elems::<T>(&dw), &want_dw(&x, &dy, &s), false, &ctx);
                    }
                }
            }
        }
    }

    #[test]
    fn every_layout_and_type() {
        layouts::<f32>();
        layouts::<f64>();
        layouts::<half::f16>();
        layouts::<half::bf16>();
    }

    /// `sum(prelu(x, w) * g)`: x's gradient is the dx oracle and w's the dw oracle with
    /// `dy = g`.
    fn autograd<T: Elem>() {
        let mut rng = Rng(0xa9 ^ size_of::<T>() as u64);
        let dev = Device::Cpu;
        let dims = [3usize, 4, 37];
        let n: usize = dims.iter().product();
        // Finite inputs, so that the sums are numbers.
        let x: Vec<T> = (0..n).map(|_| from::<T>(rng.uniform(-4.0, 4.0))).collect();
        let g: Vec<T> = (0..n).map(|_| from::<T>(rng.uniform(-1.0, 1.0))).collect();
        let w: Vec<T> = slopes(&mut rng, dims[1]);
        let s = shape(&dims, dims[1]);
        let xv = Var::from_tensor(&Tensor::from_vec(x.clone(), &dims[..], &dev).unwrap()).unwrap();
        let wv = Var::from_tensor(&Tensor::from_vec(w.clone(), dims[1], &dev).unwrap()).unwrap();
        let gt = Tensor::from_vec(g.clone(), &dims[..], &dev).unwrap();
        let y = cr::prelu(&xv, &wv).unwrap();
        assert_bits(&elems::<T>(&y), &want_forward(&x, &w, &s), "forward");
        let grads = (&y * &gt).unwrap().sum_all().unwrap().backward().unwrap();
        let dx = elems::<T>(grads.get(xv.as_tensor()).unwrap());
        let dw = elems::<T>(grads.get(wv.as_tensor()).unwrap());
        same(
            &dx,
            &want_dx(&x, &g, &w, &s),
            true,
            &format!("{} dx", T::NAME),
        );
        same(&dw, &want_dw(&x, &g, &s), true, &format!("{} dw", T::NAME));
    }

    #[test]
    fn autograd_both_inputs_every_type() {
        autograd::<f32>();
        autograd::<f64>();
        autograd::<half::f16>();
        autograd::<half::bf16>();
    }

    #[test]
    fn refusals_write_nothing() {
        let dev = Device::Cpu;
        let x: Vec<f32> = vec![-1.0, 2.0, -3.0, 4.0, -5.0, 6.0];
        let t = Tensor::from_vec(x.clone(), (2, 3), &dev).unwrap();
        let unchanged = |t: &Tensor| assert_bits(&elems::<f32>(t), &x, "refused call wrote");
        let w2 = Tensor::new(&[0.5f32, 0.5], &dev).unwrap();
        let e = cr::prelu_in_place(&t, &w2).unwrap_err().to_string();
        assert!(e.contains("prelu") && e.contains("slope"), "{e}");
        unchanged(&t);
        // Transposed, C is 2: three slopes are refused by the strided walk before its
        // first block is written.
        let w3 = Tensor::new(&[0.5f32, 0.5, 0.5], &dev).unwrap();
        let e = cr::prelu_in_place(&t.t().unwrap(), &w3)
            .unwrap_err()
            .to_string();
        assert!(e.contains("prelu") && e.contains("slope"), "{e}");
        unchanged(&t);
        let wnan = Tensor::new(&[0.5f32, f32::NAN, 0.1], &dev).unwrap();
        let e = cr::prelu_in_place(&t, &wnan).unwrap_err().to_string();
        assert!(e.contains("prelu") && e.contains("NaN"), "{e}");
        unchanged(&t);
        let w64 = Tensor::new(&[0.5f64, 0.5, 0.5], &dev).unwrap();
        let e = cr::prelu(&t, &w64).unwrap_err().to_string();
        assert!(e.contains("dtype"), "{e}");
        let flat = Tensor::from_vec(x.clone(), 6, &dev).unwrap();
        let w1 = Tensor::new(&[0.5f32], &dev).unwrap();
        let e = cr::prelu(&flat, &w1).unwrap_err().to_string();
        assert!(e.contains("NCHW"), "{e}");
        let ti = Tensor::new(&[[1u32, 2], [3, 4]], &dev).unwrap();
        let e = cr::prelu(&ti, &w1).unwrap_err().to_string();
        assert!(e.contains("dtype"), "{e}");
        let dy = Tensor::zeros((3, 2), DType::F32, &dev).unwrap();
        let e = Prelu::new(Order::Nchw)
            .backward_tensor(&t, &dy, &Tensor::new(&[0.5f32, 0.5, 0.5], &dev).unwrap())
            .unwrap_err()
            .to_string();
        assert!(e.contains("`dy`"), "{e}");
    }
}
