//! Clip's own rules: the bounds' refusals (as given and once rounded to a type),
//! each naming the bounds and writing nothing; the semantics at the edges written out
//! by hand; clip(+0, n) against relu_n's oracle; the edge bounds the sweeps over
//! every op leave out.

use std::cell::Cell;

use crate::common;

use caffe2op_relu::{Activation, Error, Kernel, Op};
use common::*;

/// Every entry point a refused clip call could write through, on `T`, from
/// `Kernel::new(act)` on every available ISA: each must return `want` and leave its
/// output as it was.
fn refused_everywhere<T: TestElem>(act: Activation, want: &Error) {
    let mut rng = Rng(0xc119);
    let x: Vec<T> = values(&mut rng, 77, 1.0);
    let fill: Vec<T> = values(&mut rng, 77, 1.0);
    for k in kernels_for(act).into_iter().chain([Kernel::new(act)]) {
        let what = format!("{act:?} {} {}", T::NAME, k.isa());
        let mut y = fill.clone();
        assert_eq!(&k.forward(&x, &mut y).unwrap_err(), want, "{what}");
        assert_eq!(bits(&y), bits(&fill), "{what}: forward wrote");
        assert_eq!(&k.forward_in_place(&mut y).unwrap_err(), want, "{what}");
        assert_eq!(bits(&y), bits(&fill), "{what}: in place wrote");
        let cells = Cell::from_mut(&mut y[..]).as_slice_of_cells();
        assert_eq!(&k.forward_aliased(cells, cells).unwrap_err(), want);
        assert_eq!(bits(&y), bits(&fill), "{what}: aliased wrote");
        assert_eq!(&k.backward(&x, &x, &mut y).unwrap_err(), want, "{what}");
        assert_eq!(bits(&y), bits(&fill), "{what}: backward wrote");
        assert_eq!(&k.backward_in_place(&x, &mut y).unwrap_err(), want);
        assert_eq!(bits(&y), bits(&fill), "{what}: backward in place wrote");
        assert_eq!(&act.oracle_forward(x[0]).unwrap_err(), want, "{what}");
    }
}

#[test]
fn bounds_refused_as_given_name_the_bounds_and_write_nothing() {
    let nan = |name: &'static str, value: f64| Error::InvalidParameter {
        name,
        value,
        dtype: "f64",
        reason: if name == "min" {
            "min must not be NaN"
        } else {
            "max must not be NaN"
        },
    };
    let order = |min: f64, max: f64| Error::InvalidParameters {
        names: ["min", "max"],
        values: [min, max],
        dtype: "f64",
        reason: "min must be <= max",
    };
    let cases = [
        (2.0, 1.0, order(2.0, 1.0)),
        (
            f64::INFINITY,
            f64::NEG_INFINITY,
            order(f64::INFINITY, f64::NEG_INFINITY),
        ),
        (f64::INFINITY, 0.0, order(f64::INFINITY, 0.0)),
        (f64::MAX, f64::MIN, order(f64::MAX, f64::MIN)),
        (f64::NAN, 1.0, nan("min", f64::NAN)),
        (0.0, f64::NAN, nan("max", f64::NAN)),
    ];
    for (min, max, want) in cases {
        // `Error` holds the NaN, so compare the messages (NaN != NaN).
        let e = Activation::clip(min, max).unwrap_err();
        assert_eq!(e.to_string(), want.to_string(), "clip({min}, {max})");
        let e = Activation::with_params(Op::Clip, &[min, max]).unwrap_err();
        assert_eq!(e.to_string(), want.to_string());
        let x = [1.0f32, -3.0, f32::NAN];
        let mut y = [7.0f32; 3];
        let e = caffe2op_relu::clip(&x, &mut y, min, max).unwrap_err();
        assert_eq!(e.to_string(), want.to_string());
        let e = caffe2op_relu::clip_in_place(&mut y, min, max).unwrap_err();
        assert_eq!(e.to_string(), want.to_string());
        let e = caffe2op_relu::clip_grad(&x, &x, &mut y, min, max).unwrap_err();
        assert_eq!(e.to_string(), want.to_string());
        assert_eq!(
            y.map(f32::to_bits),
            [7.0f32.to_bits(); 3],
            "clip({min}, {max}) wrote"
        );
    }
    // The generator's hostile pairs are all refused, as given or in some type.
    for (min, max) in bound_pairs_refused() {
        let refused_somewhere = match Activation::clip(min, max) {
            Err(_) => true,
            Ok(a) => a.params_in::<f32>().is_err() || a.params_in::<half::f16>().is_err(),
        };
        assert!(refused_somewhere, "clip({min}, {max})");
    }
}

/// Bounds valid in `f64` that rounding reverses: `1e300` is `+inf` in f32, f16 and
/// bf16, above the type's highest finite value that `f64::MAX` stands for (and the
/// same below); 70000 is `+inf` in f16 only.
#[test]
fn bounds_reversed_by_rounding_are_refused_per_type() {
    let cases: [(f64, f64, &[&str]); 3] = [
        (1e300, f64::MAX, &["f32", "f16", "bf16"]),
        (f64::MIN, -1e300, &["f32", "f16", "bf16"]),
        (70000.0, f64::MAX, &["f16"]),
    ];
    for (min, max, types) in cases {
        let act = Activation::clip(min, max).unwrap();
        let want = |dtype| Error::InvalidParameters {
            names: ["min", "max"],
            values: [min, max],
            dtype,
            reason: "min must be <= max",
        };
        for (name, ok) in [
            ("f64", act.params_in::<f64>().is_ok()),
            ("f32", act.params_in::<f32>().is_ok()),
            ("f16", act.params_in::<half::f16>().is_ok()),
            ("bf16", act.params_in::<half::bf16>().is_ok()),
        ] {
            assert_eq!(ok, !types.contains(&name), "clip({min}, {max}) in {name}");
        }
        if types.contains(&"f32") {
            refused_everywhere::<f32>(act, &want("f32"));
            refused_everywhere::<half::bf16>(act, &want("bf16"));
        }
        refused_everywhere::<half::f16>(act, &want("f16"));
    }
}

/// Runs forward and backward of `act` on every ISA and the default dispatch, and
/// checks both against values written out from the definition.
fn check_by_hand<T: TestElem>(act: Activation, x: &[T], want: &[T], dy: &[T], dx: &[T]) {
    for k in kernels_for(act).into_iter().chain([Kernel::new(act)]) {
        let what = format!("{act:?} {} {}", T::NAME, k.isa());
        let mut y = vec![T::from_f64(9.0); x.len()];
        k.forward(x, &mut y).unwrap();
        assert_bits(&y, want, &format!("{what} forward"));
        let mut got = vec![T::from_f64(9.0); x.len()];
        k.backward(x, dy, &mut got).unwrap();
        assert_bits(&got, dx, &format!("{what} backward"));
    }
}

fn edges<T: TestElem>() {
    let f = T::from_f64;
    // A negative quiet NaN (a passed-through value keeps every bit).
    let (nan, z, nz) = (f(f64::from_bits(0xfff8_0000_0000_0123)), f(0.0), f(-0.0));
    let (inf, ninf) = (f(f64::INFINITY), f(f64::NEG_INFINITY));
    let one = f(1.0);
    // hardtanh: bounds returned strictly outside, NaN and both zeros pass.
    let x = [f(-2.0), f(-1.0), nz, z, f(0.5), one, f(3.0), nan, ninf, inf];
    let want = [f(-1.0), f(-1.0), nz, z, f(0.5), one, one, nan, f(-1.0), one];
    // dX = Y > min && Y < max ? dY : +0 (+0 where the test fails, whatever dY's sign).
    let dy = [f(-5.0); 10];
    let dx = [z, z, f(-5.0), f(-5.0), f(-5.0), z, z, z, z, z];
    check_by_hand(Activation::clip(-1.0, 1.0).unwrap(), &x, &want, &dy, &dx);

    // Zeros of both signs as bounds: the bound returned carries its own sign.
    let want = [nz, nz, nz, z, z, z, z, nan, nz, z];
    let dx = [z; 10];
    check_by_hand(Activation::clip(-0.0, 0.0).unwrap(), &x, &want, &dy, &dx);
    let want = [z, z, nz, z, nz, nz, nz, nan, z, nz];
    check_by_hand(Activation::clip(0.0, -0.0).unwrap(), &x, &want, &dy, &dx);

    // Caffe2's defaults: the type's lowest and highest finite values, so the
    // infinities are clipped and the extremes themselves have no gradient.
    let (lo, hi) = (T::LOWEST, T::HIGHEST);
    let x = [ninf, lo, f(-1.0), nz, hi, inf, nan];
    let want = [lo, lo, f(-1.0), nz, hi, hi, nan];
    let dy = [f(3.0); 7];
    let dx = [z, z, f(3.0), f(3.0), z, z, z];
    let act = Activation::caffe2_default(Op::Clip).unwrap();
    assert_eq!(act, Activation::clip(f64::MIN, f64::MAX).unwrap());
    check_by_hand(act, &x, &want, &dy, &dx);
}

#[test]
fn edges_by_hand_f32() {
    edges::<f32>();
}

#[test]
fn edges_by_hand_f64() {
    edges::<f64>();
}

#[test]
fn edges_by_hand_f16() {
    edges::<half::f16>();
}

#[test]
fn edges_by_hand_bf16() {
    edges::<half::bf16>();
}

/// clip(+0, n) is relu_n(n) for every `n > 0`, bit for bit (relu_n's oracle is a
/// definition of its own), forward and backward, on every ISA.
fn zero_min_is_relu_n<T: TestElem>() {
    let mut rng = Rng(0x7e1);
    for n in [6.0, 0.5, 1e-3, f64::INFINITY] {
        let clip = Activation::clip(0.0, n).unwrap();
        let relu_n = Activation::relu_n(n).unwrap();
        let x: Vec<T> = values(&mut rng, 1000, n);
        let dy: Vec<T> = values(&mut rng, 1000, 1.0);
        let want: Vec<T> = x
            .iter()
            .map(|&v| relu_n.oracle_forward(v).unwrap())
            .collect();
        let dx: Vec<T> = x
            .iter()
            .zip(&dy)
            .map(|(&a, &b)| relu_n.oracle_backward(a, b).unwrap())
            .collect();
        check_by_hand(clip, &x, &want, &dy, &dx);
    }
}

#[test]
fn zero_min_is_relu_n_every_type() {
    zero_min_is_relu_n::<f32>();
    zero_min_is_relu_n::<f64>();
    zero_min_is_relu_n::<half::f16>();
    zero_min_is_relu_n::<half::bf16>();
}

/// The edge pairs of bounds that the sweeps over every op leave out: every ISA,
/// every memory mode, lengths up to 70 at two offsets, against the oracle.
fn edge_bounds<T: TestElem>() {
    let mut rng = Rng(0xed6e ^ size_of::<T>() as u64);
    for (min, max) in bound_pairs_edges() {
        let act = Activation::clip(min, max).unwrap();
        for k in kernels_for(act) {
            for mode in MODES {
                for len in 0..=70 {
                    let x: Vec<T> = values_for(&mut rng, len, &act);
                    let dy: Vec<T> = values(&mut rng, len, 1.0);
                    for off in [0, 3] {
                        check_forward(&k, &x, off, mode, "clip edges");
                        check_backward(&k, &x, &dy, off, mode, "clip edges");
                    }
                }
            }
        }
    }
}

#[test]
fn edge_bounds_every_isa_and_type() {
    edge_bounds::<f32>();
    edge_bounds::<f64>();
    edge_bounds::<half::f16>();
    edge_bounds::<half::bf16>();
}
