//! The safe crate's call boundary, small enough to run under Miri (`.ci/miri.sh`).
//!
//! Every entry point that turns references or pointers into kernel ranges: slices,
//! in place, `Cell` views that alias, raw pointers (valid and refused), calls split
//! across rayon threads, Int8Relu, the `ndarray` views and the operator workspace.
//! Each result is compared with the oracle bit for bit, and each refusal is checked
//! for its error and for leaving the output untouched. The same tests run natively,
//! on every ISA this CPU has; under Miri the ISAs are those Miri can execute (the
//! scalar loops and the portable kernels).

mod common;

use std::cell::Cell;
use std::sync::Mutex;

use caffe2op_relu::tuning::{
    parallel_min_bytes, parallel_min_bytes_in_place, set_parallel_min_bytes,
};
use caffe2op_relu::{Activation, Element, Error, Isa, Kernel, Op, Threads};
use common::{Rng, TestElem, assert_splits, bits, in_pool, values};

/// Lengths that cross each register width's tail (4 to 64 lanes) and its unrolled
/// block. Under Miri (which runs the scalar loops and the portable kernels: 4 to 16
/// lanes) the longest is 33: past a block of four f64 registers, two u8 registers and
/// one block of f32 or 16-bit ones, into a tail each time.
const LENS: &[usize] = if cfg!(miri) {
    &[0, 1, 7, 33]
} else {
    &[0, 1, 7, 17, 33, 70]
};

/// `got` against the oracle's `want`, bit for bit. Under Miri a NaN produced by float
/// arithmetic (a product of leaky_relu or its gradient, in the kernel or in the
/// oracle) gets a payload Miri picks at random, as Rust's semantics allow, so there
/// any NaN matches any NaN; natively every bit counts.
fn assert_bits<T: Element>(got: &[T], want: &[T], what: &str) {
    if !cfg!(miri) {
        return common::assert_bits(got, want, what);
    }
    assert_eq!(got.len(), want.len(), "{what}: length");
    for (i, (&g, &w)) in got.iter().zip(want).enumerate() {
        let both_nan = g.to_f64().is_nan() && w.to_f64().is_nan();
        assert!(
            both_nan || g.to_bits() == w.to_bits(),
            "{what}[{i}]: got {g:?}, want {w:?}"
        );
    }
}

/// The parallel threshold is process-wide: tests that change it take this lock.
static THRESHOLD: Mutex<()> = Mutex::new(());

fn kernels(op: Op) -> Vec<Kernel> {
    let act = Activation::caffe2_default(op).unwrap();
    let mut out = vec![Kernel::new(act)];
    for isa in Isa::available() {
        out.push(Kernel::new(act).with_isa(isa).unwrap());
    }
    out
}

fn forward_want<T: Element>(k: &Kernel, x: &[T]) -> Vec<T> {
    let act = k.activation();
    x.iter().map(|&v| act.oracle_forward(v).unwrap()).collect()
}

fn backward_want<T: Element>(k: &Kernel, y: &[T], dy: &[T]) -> Vec<T> {
    let act = k.activation();
    y.iter()
        .zip(dy)
        .map(|(&a, &b)| act.oracle_backward(a, b).unwrap())
        .collect()
}

fn slices_forward<T: TestElem>() {
    let mut rng = Rng(0xb0 ^ size_of::<T>() as u64);
    for op in Op::ALL {
        for k in kernels(op) {
            for &len in LENS {
                let x: Vec<T> = values(&mut rng, len, k.activation().param());
                let mut y = vec![T::default(); len];
                k.forward(&x, &mut y).unwrap();
                let want = forward_want(&k, &x);
                assert_bits(&y, &want, &format!("{} {op:?} {}", T::NAME, k.isa()));
                let mut z = x.clone();
                k.forward_in_place(&mut z).unwrap();
                assert_bits(&z, &want, "in place");
            }
        }
    }
}

fn slices_backward<T: TestElem>() {
    let mut rng = Rng(0xb1 ^ size_of::<T>() as u64);
    for op in Op::ALL {
        for k in kernels(op) {
            for &len in LENS {
                let y: Vec<T> = values(&mut rng, len, k.activation().param());
                let dy: Vec<T> = values(&mut rng, len, 1.0);
                let want = backward_want(&k, &y, &dy);
                let mut dx = vec![T::default(); len];
                k.backward(&y, &dy, &mut dx).unwrap();
                assert_bits(&dx, &want, &format!("{} {op:?} {}", T::NAME, k.isa()));
                let mut d = dy.clone();
                k.backward_in_place(&y, &mut d).unwrap();
                assert_bits(&d, &want, "in place");
            }
        }
    }
}

#[test]
fn forward_on_slices_f32() {
    slices_forward::<f32>();
}

#[test]
fn forward_on_slices_f64() {
    slices_forward::<f64>();
}

#[test]
fn forward_on_slices_f16() {
    slices_forward::<half::f16>();
}

#[test]
fn forward_on_slices_bf16() {
    slices_forward::<half::bf16>();
}

#[test]
fn backward_on_slices_f32() {
    slices_backward::<f32>();
}

#[test]
fn backward_on_slices_f16() {
    slices_backward::<half::f16>();
}

#[test]
fn backward_on_slices_bf16() {
    slices_backward::<half::bf16>();
}

#[test]
fn forward_on_cells_same_and_disjoint() {
    let mut rng = Rng(0xce11);
    for k in kernels(Op::LeakyRelu) {
        let x: Vec<f32> = values(&mut rng, 40, 0.01);
        let want = forward_want(&k, &x);
        // The same range: in place through shared views.
        let mut buf = x.clone();
        let cells = Cell::from_mut(&mut buf[..]).as_slice_of_cells();
        k.forward_aliased(cells, cells).unwrap();
        assert_bits(&buf, &want, "same range");
        // Disjoint halves of one buffer.
        let mut buf = x.clone();
        buf.extend(vec![0.0f32; 40]);
        let cells = Cell::from_mut(&mut buf[..]).as_slice_of_cells();
        k.forward_aliased(&cells[..40], &cells[40..]).unwrap();
        assert_bits(&buf[40..], &want, "disjoint");
        assert_bits(&buf[..40], &x, "input untouched");
    }
}

#[test]
fn partial_overlap_is_refused_and_writes_nothing() {
    let k = Kernel::new(Activation::relu());
    let mut rng = Rng(0x0e1a);
    let x: Vec<f64> = values(&mut rng, 48, 0.0);
    let mut buf = x.clone();
    let cells = Cell::from_mut(&mut buf[..]).as_slice_of_cells();
    let err = k.forward_aliased(&cells[..40], &cells[8..]).unwrap_err();
    assert!(matches!(err, Error::Overlap { .. }), "{err}");
    let err = k
        .backward_aliased(&cells[..40], &cells[..40], &cells[1..41])
        .unwrap_err();
    assert!(matches!(err, Error::Overlap { .. }), "{err}");
    assert_eq!(bits(&buf), bits(&x));
}

#[test]
fn backward_on_cells_every_allowed_alias() {
    let mut rng = Rng(0xba11);
    for k in kernels(Op::ReluN) {
        let y: Vec<f32> = values(&mut rng, 37, 6.0);
        let dy: Vec<f32> = values(&mut rng, 37, 1.0);
        let want = backward_want(&k, &y, &dy);
        // dx == dy.
        let (mut a, mut b) = (y.clone(), dy.clone());
        let (yc, dyc) = (
            Cell::from_mut(&mut a[..]).as_slice_of_cells(),
            Cell::from_mut(&mut b[..]).as_slice_of_cells(),
        );
        k.backward_aliased(yc, dyc, dyc).unwrap();
        assert_bits(&b, &want, "dx == dy");
        // dx == y.
        let (mut a, mut b) = (y.clone(), dy.clone());
        let (yc, dyc) = (
            Cell::from_mut(&mut a[..]).as_slice_of_cells(),
            Cell::from_mut(&mut b[..]).as_slice_of_cells(),
        );
        k.backward_aliased(yc, dyc, yc).unwrap();
        assert_bits(&a, &want, "dx == y");
        // y and dy overlapping each other (only read), dx elsewhere.
        let mut joint = y.clone();
        joint.extend_from_slice(&dy[..5]);
        let want = backward_want(&k, &joint[..37], &joint[5..42]);
        let mut out = vec![0.0f32; 37];
        let jc = Cell::from_mut(&mut joint[..]).as_slice_of_cells();
        let oc = Cell::from_mut(&mut out[..]).as_slice_of_cells();
        k.backward_aliased(&jc[..37], &jc[5..42], oc).unwrap();
        assert_bits(&out, &want, "y and dy overlap");
    }
}

#[test]
fn raw_pointers_valid_and_refused() {
    let k = Kernel::new(Activation::relu6());
    let mut rng = Rng(0x5a);
    let x: Vec<f32> = values(&mut rng, 33, 6.0);
    let want = forward_want(&k, &x);
    let mut y = vec![0.0f32; 33];
    // SAFETY: x and y are live for the call, 33 elements each, and disjoint.
    unsafe { k.forward_raw(x.as_ptr(), y.as_mut_ptr(), 33) }.unwrap();
    assert_bits(&y, &want, "raw");
    // In place through one pointer.
    let mut z = x.clone();
    let p = z.as_mut_ptr();
    // SAFETY: p is valid for 33 reads and writes.
    unsafe { k.forward_raw(p, p, 33) }.unwrap();
    assert_bits(&z, &want, "raw in place");
    // Refusals write nothing.
    let before = bits(&y);
    // SAFETY: a null pointer is refused before any access.
    let e = unsafe { k.forward_raw(std::ptr::null(), y.as_mut_ptr(), 33) }.unwrap_err();
    assert_eq!(e, Error::NullPointer { arg: "x" });
    let misaligned = x.as_ptr().cast::<u8>().wrapping_add(1).cast::<f32>();
    // SAFETY: a misaligned pointer is refused before any access.
    let e = unsafe { k.forward_raw(misaligned, y.as_mut_ptr(), 32) }.unwrap_err();
    assert!(matches!(e, Error::Misaligned { arg: "x", .. }), "{e}");
    let yp = y.as_mut_ptr();
    // SAFETY: a partial overlap is refused before any access.
    let e = unsafe { k.forward_raw(yp, yp.wrapping_add(1), 32) }.unwrap_err();
    assert!(matches!(e, Error::Overlap { .. }), "{e}");
    assert_eq!(bits(&y), before);
}

#[test]
fn raw_backward_valid_and_refused() {
    let k = Kernel::new(Activation::leaky_relu(0.2).unwrap());
    let mut rng = Rng(0x5b);
    let y: Vec<f64> = values(&mut rng, 21, 0.2);
    let dy: Vec<f64> = values(&mut rng, 21, 1.0);
    let want = backward_want(&k, &y, &dy);
    let mut dx = vec![0.0f64; 21];
    // SAFETY: three live, disjoint buffers of 21 elements.
    unsafe { k.backward_raw(y.as_ptr(), dy.as_ptr(), dx.as_mut_ptr(), 21) }.unwrap();
    assert_bits(&dx, &want, "raw backward");
    let before = bits(&dx);
    // SAFETY: a null output is refused before any access.
    let e = unsafe { k.backward_raw(y.as_ptr(), dy.as_ptr(), std::ptr::null_mut(), 21) };
    assert_eq!(e.unwrap_err(), Error::NullPointer { arg: "dx" });
    assert_eq!(bits(&dx), before);
}

#[test]
fn refused_parameters_and_lengths_write_nothing() {
    let x = vec![-1.0f32, 2.0, 7.0];
    let mut y = vec![9.0f32; 3];
    // n rounds to 0 in f16: refused for f16 only.
    let k = Kernel::new(Activation::relu_n(1e-10).unwrap());
    let xh: Vec<half::f16> = x.iter().map(|&v| half::f16::from_f32(v)).collect();
    let mut yh = vec![half::f16::from_f32(9.0); 3];
    let e = k.forward(&xh, &mut yh).unwrap_err();
    assert!(
        matches!(e, Error::InvalidParameter { name: "n", .. }),
        "{e}"
    );
    assert!(yh.iter().all(|v| v.to_f32() == 9.0));
    let e = k.forward(&x, &mut y[..2]).unwrap_err();
    assert!(matches!(e, Error::LengthMismatch { arg: "y", .. }), "{e}");
    assert_eq!(y, [9.0; 3]);
    let e = Activation::with_params(Op::ReluN, &[]).unwrap_err();
    assert!(
        matches!(e, Error::ParameterCount { expected: 1, .. }),
        "{e}"
    );
}

/// The parallel threshold: the CPU's default until set, what was set after
/// (`usize::MAX` one below, so that it never reads as "not set"), and the default
/// one of the two measured values.
#[test]
fn parallel_threshold_default_and_override() {
    let _guard = THRESHOLD.lock().unwrap();
    let old = parallel_min_bytes();
    let default = caffe2op_relu::tuning::default_parallel_min_bytes();
    assert!(
        [
            caffe2op_relu::tuning::PARALLEL_MIN_BYTES,
            caffe2op_relu::tuning::PARALLEL_MIN_BYTES_LARGE_L2,
            caffe2op_relu::tuning::PARALLEL_MIN_BYTES_ZEN4
        ]
        .contains(&default)
    );
    let old_in_place = parallel_min_bytes_in_place();
    let default_in_place = caffe2op_relu::tuning::default_parallel_min_bytes_in_place();
    assert!(
        [
            caffe2op_relu::tuning::PARALLEL_MIN_BYTES,
            caffe2op_relu::tuning::PARALLEL_MIN_BYTES_IN_PLACE_LARGE_L2,
            caffe2op_relu::tuning::PARALLEL_MIN_BYTES_IN_PLACE_ZEN4
        ]
        .contains(&default_in_place)
    );
    set_parallel_min_bytes(usize::MAX);
    assert_eq!(parallel_min_bytes(), usize::MAX - 1);
    assert_eq!(parallel_min_bytes_in_place(), usize::MAX - 1);
    set_parallel_min_bytes(12345);
    assert_eq!(parallel_min_bytes(), 12345);
    assert_eq!(parallel_min_bytes_in_place(), 12345);
    caffe2op_relu::tuning::set_parallel_min_bytes_in_place(678);
    assert_eq!(parallel_min_bytes(), 12345);
    assert_eq!(parallel_min_bytes_in_place(), 678);
    set_parallel_min_bytes(old);
    caffe2op_relu::tuning::set_parallel_min_bytes_in_place(old_in_place);
}

/// The burst threshold: the CPU's default until set (the measured value, or none), what
/// was set after (`usize::MAX` one below).
#[test]
fn burst_threshold_default_and_override() {
    use caffe2op_relu::tuning::{
        BURST_MIN_BYTES_ZEN4, burst_min_bytes, default_burst_min_bytes, set_burst_min_bytes,
    };
    let _guard = THRESHOLD.lock().unwrap();
    let old = burst_min_bytes();
    assert!([BURST_MIN_BYTES_ZEN4, usize::MAX - 1].contains(&default_burst_min_bytes()));
    set_burst_min_bytes(usize::MAX);
    assert_eq!(burst_min_bytes(), usize::MAX - 1);
    set_burst_min_bytes(4096);
    assert_eq!(burst_min_bytes(), 4096);
    set_burst_min_bytes(old);
}

/// Calls back to back below the parallel threshold and above the burst threshold: the
/// later ones split when they start within the window of the previous one's end (on
/// timing alone, so the test cannot tell which did), and every one gives the oracle's
/// bits, forward and backward, out of place and in place (which never takes part).
#[test]
fn threads_auto_bursts_match() {
    use caffe2op_relu::tuning::{burst_min_bytes, set_burst_min_bytes};
    let _guard = THRESHOLD.lock().unwrap();
    let (old, old_burst) = (parallel_min_bytes(), burst_min_bytes());
    set_parallel_min_bytes(usize::MAX);
    set_burst_min_bytes(0);
    let len = if cfg!(miri) { 300 } else { 200_003 };
    let mut rng = Rng(0xb0b5);
    let x: Vec<f32> = values(&mut rng, len, 0.01);
    let dy: Vec<f32> = values(&mut rng, len, 1.0);
    for op in Op::ALL {
        let k = Kernel::new(Activation::caffe2_default(op).unwrap()).with_threads(Threads::Auto);
        let want_y = forward_want(&k, &x);
        let want_dx = backward_want(&k, &want_y, &dy);
        // Every output allocated first, so that the calls follow each other closely.
        let mut ys = vec![vec![0.0f32; len]; 4];
        let mut dxs = vec![vec![0.0f32; len]; 4];
        let mut zs = vec![x.clone(); 2];
        in_pool(2, || {
            for y in ys.iter_mut() {
                k.forward(&x, y).unwrap();
            }
            for dx in dxs.iter_mut() {
                k.backward(&want_y, &dy, dx).unwrap();
            }
            for z in zs.iter_mut() {
                k.forward_in_place(z).unwrap();
            }
        });
        for y in ys.iter().chain(&zs) {
            assert_bits(y, &want_y, "burst forward");
        }
        for dx in &dxs {
            assert_bits(dx, &want_dx, "burst backward");
        }
    }
    set_parallel_min_bytes(old);
    set_burst_min_bytes(old_burst);
}

#[test]
fn threads_auto_splits_and_matches() {
    let _guard = THRESHOLD.lock().unwrap();
    let old = parallel_min_bytes();
    set_parallel_min_bytes(0);
    // Enough elements for two pieces of the smallest chunk (`exec`'s
    // MIN_CHUNK_BYTES: 1 KiB under Miri, 512 KiB natively), in place and out of place,
    // forward and backward.
    let len = if cfg!(miri) { 300 } else { 600_000 };
    let mut rng = Rng(0x7437);
    let x: Vec<f32> = values(&mut rng, len, 0.01);
    let dy: Vec<f32> = values(&mut rng, len, 1.0);
    for op in Op::ALL {
        let k = Kernel::new(Activation::caffe2_default(op).unwrap()).with_threads(Threads::Auto);
        in_pool(2, || {
            assert_splits::<f32>(&k, len);
            let mut y = vec![0.0f32; len];
            k.forward(&x, &mut y).unwrap();
            assert_bits(&y, &forward_want(&k, &x), "split forward");
            let mut z = x.clone();
            k.forward_in_place(&mut z).unwrap();
            assert_bits(&z, &y, "split forward in place");
            let mut dx = vec![0.0f32; len];
            k.backward(&y, &dy, &mut dx).unwrap();
            assert_bits(&dx, &backward_want(&k, &y, &dy), "split backward");
            let mut d = dy.clone();
            k.backward_in_place(&y, &mut d).unwrap();
            assert_bits(&d, &dx, "split backward in place");
        });
    }
    set_parallel_min_bytes(old);
}

#[test]
fn int8_relu_slices_and_in_place() {
    let mut rng = Rng(0x18);
    for isa in Isa::available() {
        for &len in LENS {
            let x: Vec<u8> = (0..len).map(|_| rng.below(256) as u8).collect();
            let zp = rng.below(256) as u8;
            let want: Vec<u8> = x
                .iter()
                .map(|&v| caffe2op_relu::int8_relu_oracle(v, zp))
                .collect();
            let mut y = vec![0u8; len];
            caffe2op_relu::int8_relu_with_isa(&x, &mut y, zp, isa).unwrap();
            assert_eq!(y, want, "{isa} len {len}");
            let mut z = x.clone();
            caffe2op_relu::int8_relu_in_place_with_isa(&mut z, zp, isa).unwrap();
            assert_eq!(z, want, "{isa} in place len {len}");
        }
    }
    let mut short = vec![7u8; 2];
    let e = caffe2op_relu::int8_relu(&[1, 2, 3], &mut short, 0).unwrap_err();
    assert!(matches!(e, Error::LengthMismatch { .. }), "{e}");
    assert_eq!(short, [7, 7]);
}

#[test]
fn compiler_loops_match_the_oracle() {
    let mut rng = Rng(0xa7);
    for op in Op::ALL {
        let act = Activation::caffe2_default(op).unwrap();
        let k = Kernel::new(act);
        for isa in Isa::available() {
            let x: Vec<f32> = values(&mut rng, 45, act.param());
            let dy: Vec<f32> = values(&mut rng, 45, 1.0);
            let mut y = vec![0.0f32; 45];
            caffe2op_relu::autovec::forward(isa, act, &x, &mut y).unwrap();
            assert_bits(&y, &forward_want(&k, &x), "autovec forward");
            let mut z = x.clone();
            caffe2op_relu::autovec::forward_in_place(isa, act, &mut z).unwrap();
            assert_bits(&z, &y, "autovec in place");
            let mut dx = vec![0.0f32; 45];
            caffe2op_relu::autovec::backward(isa, act, &y, &dy, &mut dx).unwrap();
            assert_bits(&dx, &backward_want(&k, &y, &dy), "autovec backward");
        }
    }
}

#[cfg(feature = "ndarray")]
#[test]
fn ndarray_views_strided_and_contiguous() {
    use ndarray::{Array2, s};
    let k = Kernel::new(Activation::leaky_relu(0.5).unwrap());
    let mut rng = Rng(0x4d);
    let data: Vec<f32> = values(&mut rng, 6 * 9, 0.5);
    let a = Array2::from_shape_vec((6, 9), data).unwrap();
    for view in [
        a.view(),
        a.slice(s![.., ..;2]),
        a.slice(s![1..;2, ..]),
        a.t(),
    ] {
        let mut out = ndarray::Array::zeros(view.raw_dim());
        k.forward_array(&view, &mut out).unwrap();
        for (o, &v) in out.iter().zip(view.iter()) {
            let want: f32 = k.activation().oracle_forward(v).unwrap();
            assert_eq!(o.to_bits(), want.to_bits());
        }
    }
    let mut b = a.clone();
    k.forward_array_in_place(&mut b.slice_mut(s![.., 1..;3]))
        .unwrap();
    for ((i, j), &v) in b.indexed_iter() {
        let x = a[(i, j)];
        let want = if j % 3 == 1 {
            k.activation().oracle_forward(x).unwrap()
        } else {
            x
        };
        assert_eq!(v.to_bits(), want.to_bits(), "({i}, {j})");
    }
}

#[test]
fn operator_workspace_forward_and_gradient() {
    use caffe2op_relu::ops::{OperatorDef, Tensor, Workspace};
    let mut rng = Rng(0x0b5);
    let x: Vec<f32> = values(&mut rng, 24, 6.0);
    let dy: Vec<f32> = values(&mut rng, 24, 1.0);
    let act = Activation::relu6();
    let mut ws = Workspace::new();
    ws.feed_blob("X", Tensor::from_vec(vec![4, 6], x.clone()).unwrap());
    ws.feed_blob("dY", Tensor::from_vec(vec![4, 6], dy.clone()).unwrap());
    ws.run_operator_once(&OperatorDef::new("ReluN").input("X").output("Y"))
        .unwrap();
    let y = ws
        .fetch_blob("Y")
        .unwrap()
        .as_slice::<f32>()
        .unwrap()
        .to_vec();
    let want: Vec<f32> = x.iter().map(|&v| act.oracle_forward(v).unwrap()).collect();
    assert_bits(&y, &want, "ReluN");
    // The gradient in place over dY (Caffe2's pair {1, 0}).
    let def = OperatorDef::new("ReluNGradient")
        .input("Y")
        .input("dY")
        .output("dY");
    ws.run_operator_once(&def).unwrap();
    let dx = ws
        .fetch_blob("dY")
        .unwrap()
        .as_slice::<f32>()
        .unwrap()
        .to_vec();
    let want: Vec<f32> = y
        .iter()
        .zip(&dy)
        .map(|(&a, &b)| act.oracle_backward(a, b).unwrap())
        .collect();
    assert_bits(&dx, &want, "ReluNGradient in place");
    // A refused operator (a negative n) leaves the workspace as it was.
    let bad = OperatorDef::new("ReluN")
        .input("X")
        .output("X")
        .arg("n", -1.0);
    assert!(ws.run_operator_once(&bad).is_err());
    let x_after = ws
        .fetch_blob("X")
        .unwrap()
        .as_slice::<f32>()
        .unwrap()
        .to_vec();
    assert_bits(&x_after, &x, "X untouched after a refusal");
}

#[test]
fn dispatch_reports_an_available_isa() {
    let isa = Isa::dispatched();
    assert!(isa.is_available());
    assert_eq!(Kernel::new(Activation::relu()).isa(), isa);
    assert!(Isa::available().contains(&isa));
    for isa in Isa::ALL {
        assert_eq!(isa.name().parse::<Isa>().unwrap(), isa);
        if !isa.is_available() {
            let e = Kernel::new(Activation::relu()).with_isa(isa).unwrap_err();
            assert_eq!(e, Error::IsaUnavailable { isa });
        }
    }
}

/// PRelu's aliasing entry points: the forward in place through `Cell` views, and the
/// backward with `dx` exactly `x`, exactly `dy`, or disjoint (the slope gradient reads
/// `x` and `dy` before `dx` is written), each against the slice form, bit for bit
/// (`tests/prelu.rs` holds the slice form to the oracle). Under Miri this is where the
/// read-only views of the slope gradient meet the writes of the input gradient.
#[test]
fn prelu_cells_every_allowed_alias() {
    let dims = [2usize, 3, 5];
    let n: usize = dims.iter().product();
    let mut rng = Rng(0x9e1);
    let slope: Vec<f32> = vec![0.25, -1.5, 3.0];
    let x: Vec<f32> = values(&mut rng, n, 4.0);
    let dy: Vec<f32> = values(&mut rng, n, 1.0);
    for isa in Isa::available() {
        let p = caffe2op_relu::Prelu::new(caffe2op_relu::Order::Nchw)
            .with_isa(isa)
            .unwrap();
        let mut y = vec![0.0f32; n];
        p.forward(&x, &dims, &slope, &mut y).unwrap();
        let mut buf = x.clone();
        let c = Cell::from_mut(&mut buf[..]).as_slice_of_cells();
        p.forward_aliased(c, &dims, &slope, c).unwrap();
        assert_bits(&buf, &y, &format!("{isa} prelu forward, same cells"));

        let (mut dx, mut dw) = (vec![0.0f32; n], vec![0.0f32; 3]);
        p.backward(&x, &dy, &dims, &slope, &mut dx, &mut dw)
            .unwrap();
        for alias in ["x", "dy", "none"] {
            let (mut xb, mut db, mut out) = (x.clone(), dy.clone(), vec![7.0f32; n]);
            let mut dw2 = vec![0.0f32; 3];
            let xc = Cell::from_mut(&mut xb[..]).as_slice_of_cells();
            let dc = Cell::from_mut(&mut db[..]).as_slice_of_cells();
            let oc = Cell::from_mut(&mut out[..]).as_slice_of_cells();
            let dxc = match alias {
                "x" => xc,
                "dy" => dc,
                _ => oc,
            };
            p.backward_aliased(xc, dc, &dims, &slope, dxc, &mut dw2)
                .unwrap();
            let got = match alias {
                "x" => &xb,
                "dy" => &db,
                _ => &out,
            };
            assert_bits(got, &dx, &format!("{isa} prelu dx = {alias}"));
            assert_bits(&dw2, &dw, &format!("{isa} prelu dw, dx = {alias}"));
        }
    }
}
