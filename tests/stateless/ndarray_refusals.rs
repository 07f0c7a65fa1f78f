//! Refusals of the `ndarray` entry points: the exact error (naming the argument and
//! both shapes, or the parameter), and nothing written, in every call form.
#![cfg(feature = "ndarray")]

use caffe2op_relu::{Activation, Element, Error, Kernel, nd};
use ndarray::{Array, ArrayD, IxDyn, ShapeBuilder, s};

fn shape_err(arg: &'static str, expected: &[usize], found: &[usize]) -> Error {
    Error::ShapeMismatch {
        arg,
        expected: expected.to_vec(),
        found: found.to_vec(),
    }
}

/// A buffer of distinct values, to detect any write.
fn marked<T: Element>(shape: &[usize], seed: f64) -> ArrayD<T> {
    let n = shape.iter().product::<usize>();
    ArrayD::from_shape_vec(
        IxDyn(shape),
        (0..n).map(|i| T::from_f64(seed - i as f64)).collect(),
    )
    .unwrap()
}

fn same_bits<T: Element>(a: &ArrayD<T>, b: &ArrayD<T>) -> bool {
    a.shape() == b.shape() && a.iter().zip(b).all(|(x, y)| x.to_bits() == y.to_bits())
}

/// Pairs of shapes that differ: same length but another shape, another rank, another
/// length, empty against non-empty.
const MISMATCHES: [(&[usize], &[usize]); 7] = [
    (&[2, 3], &[3, 2]),
    (&[6], &[2, 3]),
    (&[2, 3], &[6]),
    (&[2, 3], &[2, 4]),
    (&[0, 3], &[3, 0]),
    (&[0], &[1]),
    (&[], &[1]),
];

fn shape_mismatches<T: Element>() {
    for k in [
        Kernel::new(Activation::relu()),
        Kernel::new(Activation::relu_n(6.0).unwrap()),
        Kernel::new(Activation::leaky_relu(0.01).unwrap()),
    ] {
        for (a, b) in MISMATCHES {
            // forward: y has the wrong shape.
            let x = marked::<T>(a, 5.0);
            let y0 = marked::<T>(b, 9.0);
            let mut y = y0.clone();
            assert_eq!(k.forward_array(&x, &mut y), Err(shape_err("y", a, b)));
            assert!(same_bits(&y, &y0), "forward wrote into a refused y");

            // backward: dy wrong, dx wrong, both wrong (dy is reported first).
            let (y_in, dy_ok, dx_ok) = (
                marked::<T>(a, 1.0),
                marked::<T>(a, 2.0),
                marked::<T>(a, 3.0),
            );
            let dy_bad = marked::<T>(b, 4.0);
            let mut dx = dx_ok.clone();
            assert_eq!(
                k.backward_array(&y_in, &dy_bad, &mut dx),
                Err(shape_err("dy", a, b))
            );
            assert!(same_bits(&dx, &dx_ok), "backward wrote with a refused dy");
            let mut dx = marked::<T>(b, 3.0);
            let dx0 = dx.clone();
            assert_eq!(
                k.backward_array(&y_in, &dy_ok, &mut dx),
                Err(shape_err("dx", a, b))
            );
            assert!(same_bits(&dx, &dx0), "backward wrote into a refused dx");
            assert_eq!(
                k.backward_array(&y_in, &dy_bad, &mut dx),
                Err(shape_err("dy", a, b))
            );
            assert!(same_bits(&dx, &dx0));

            // backward in place: dy wrong.
            let mut dy = dy_bad.clone();
            assert_eq!(
                k.backward_array_in_place(&y_in, &mut dy),
                Err(shape_err("dy", a, b))
            );
            assert!(
                same_bits(&dy, &dy_bad),
                "backward_in_place wrote into a refused dy"
            );
        }
    }
}

#[test]
fn shape_mismatch_every_type() {
    shape_mismatches::<f32>();
    shape_mismatches::<f64>();
    shape_mismatches::<half::f16>();
    shape_mismatches::<half::bf16>();
}

#[test]
fn shape_mismatch_message_names_both_shapes() {
    let k = Kernel::new(Activation::relu());
    let x = Array::<f32, _>::zeros((2, 3));
    let mut y = Array::<f32, _>::zeros((3, 2));
    let e = k.forward_array(&x, &mut y).unwrap_err();
    assert_eq!(
        e.to_string(),
        "shape mismatch: `y` has shape [3, 2], expected [2, 3] (the shape of the first input)"
    );
    let dy = Array::<f32, _>::zeros((2, 4));
    let mut dx = Array::<f32, _>::zeros((2, 3));
    let e = k.backward_array(&x, &dy, &mut dx).unwrap_err();
    assert_eq!(
        e.to_string(),
        "shape mismatch: `dy` has shape [2, 4], expected [2, 3] (the shape of the first input)"
    );
    let e: Box<dyn std::error::Error> = Box::new(e);
    assert!(e.to_string().contains("`dy`"));
}

/// Views (strided, transposed) are refused on their view shape, not their buffer's.
#[test]
fn views_are_checked_on_their_own_shape() {
    let k = Kernel::new(Activation::relu());
    let x = marked::<f32>(&[4, 6], 3.0);
    let mut buf = marked::<f32>(&[4, 6], 7.0);
    let buf0 = buf.clone();
    // x[..;2, ..] is 2x6; the transposed output is 6x4.
    let xs = x.slice(s![..;2, ..]).into_dyn();
    assert_eq!(
        k.forward_array(&xs, &mut buf.view_mut().reversed_axes()),
        Err(shape_err("y", &[2, 6], &[6, 4]))
    );
    assert_eq!(
        k.forward_array(&xs, &mut buf.slice_mut(s![.., ..;2]).into_dyn()),
        Err(shape_err("y", &[2, 6], &[4, 3]))
    );
    assert!(same_bits(&buf, &buf0));
    // The matching view is accepted.
    k.forward_array(&xs, &mut buf.slice_mut(s![1..3, ..]).into_dyn())
        .unwrap();
    assert!(!same_bits(&buf, &buf0));
}

/// A parameter that breaks its rule once rounded to `T` is refused before any write,
/// in every call form and layout (contiguous and strided).
#[test]
fn invalid_rounded_parameter_writes_nothing() {
    let cases: [(Activation, &str); 3] = [
        // n = 1e-50 is 0 in f32, f16 and bf16; alpha = 1e300 is inf in all three.
        (Activation::relu_n(1e-50).unwrap(), "n"),
        (Activation::leaky_relu(1e300).unwrap(), "alpha"),
        (Activation::relu_n(1e-10).unwrap(), "n"),
    ];
    for (act, name) in cases {
        check_param_refusal::<f32>(act, name, act.param() != 1e-10);
        check_param_refusal::<half::f16>(act, name, true);
        check_param_refusal::<half::bf16>(act, name, act.param() != 1e-10);
        check_param_refusal::<f64>(act, name, false);
    }
}

fn check_param_refusal<T: Element>(act: Activation, name: &str, refused: bool) {
    let k = Kernel::new(act);
    for f_order in [false, true] {
        let x = marked::<T>(&[3, 4], 1.0);
        let y0 = {
            let mut y = ArrayD::from_elem(IxDyn(&[3, 8]).set_f(f_order), T::from_f64(7.0));
            y.assign(&marked::<T>(&[3, 8], 9.0));
            y
        };
        let mut y = y0.clone();
        let run = |res: Result<(), Error>, what: &str, y: &ArrayD<T>| {
            if refused {
                match res {
                    Err(Error::InvalidParameter { name: n, dtype, .. }) => {
                        assert_eq!((n, dtype), (name, T::NAME), "{what}");
                    }
                    other => panic!("{what} {}: expected a refusal, got {other:?}", T::NAME),
                }
                assert!(same_bits(y, &y0), "{what} {}: refused call wrote", T::NAME);
            } else {
                res.unwrap();
            }
        };
        // Strided (every other column) and whole outputs.
        let r = k.forward_array(&x, &mut y.slice_mut(s![.., ..;2]).into_dyn());
        run(r, "forward strided", &y);
        let r = k.forward_array(&marked::<T>(&[3, 8], 1.0), &mut y);
        run(r, "forward", &y);
        let r = k.forward_array_in_place(&mut y);
        run(r, "forward_in_place", &y);
        let r = k.forward_array_in_place(&mut y.slice_mut(s![..;-1, 1..;3]).into_dyn());
        run(r, "forward_in_place strided", &y);
        let yy = marked::<T>(&[3, 8], 2.0);
        let dy = marked::<T>(&[3, 8], 3.0);
        let r = k.backward_array(&yy, &dy, &mut y);
        run(r, "backward", &y);
        let r = k.backward_array_in_place(&yy, &mut y);
        run(r, "backward_in_place", &y);
        let r = k.backward_array_in_place(&yy.t(), &mut y.view_mut().reversed_axes());
        run(r, "backward_in_place transposed", &y);
    }
}

#[test]
fn int8_relu_shape_mismatch_writes_nothing() {
    let x = Array::from_shape_vec((2, 3), vec![1u8, 2, 3, 200, 201, 202]).unwrap();
    let mut y = Array::from_elem((3, 2), 77u8);
    assert_eq!(
        nd::int8_relu(&x, &mut y, 128),
        Err(shape_err("y", &[2, 3], &[3, 2]))
    );
    assert!(y.iter().all(|&v| v == 77));
    // Same view shape is accepted, even transposed.
    nd::int8_relu(&x, &mut y.view_mut().reversed_axes(), 128).unwrap();
    assert_eq!(y, ndarray::array![[128, 200], [128, 201], [128, 202]]);
}
