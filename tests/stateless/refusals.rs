//! Every refusal of the slice API: the right error, naming the argument and value,
//! and nothing written.

use std::cell::Cell;

use caffe2op_relu::{Activation, Error, Isa, Kernel};

const SENTINEL: f32 = 42.5;

fn kernels() -> Vec<Kernel> {
    let acts = [
        Activation::relu(),
        Activation::relu6(),
        Activation::leaky_relu(0.2).unwrap(),
    ];
    acts.into_iter()
        .flat_map(|a| {
            Isa::available()
                .into_iter()
                .map(move |i| Kernel::new(a).with_isa(i).unwrap())
        })
        .collect()
}

fn untouched(v: &[f32]) -> bool {
    v.iter().all(|x| x.to_bits() == SENTINEL.to_bits())
}

#[test]
fn length_mismatch_forward_and_backward() {
    for k in kernels() {
        let x = vec![-1.0f32; 10];
        for n in [0usize, 9, 11] {
            let mut y = vec![SENTINEL; n];
            let e = k.forward(&x, &mut y).unwrap_err();
            assert_eq!(
                e,
                Error::LengthMismatch {
                    arg: "y",
                    expected: 10,
                    found: n
                }
            );
            assert!(e.to_string().contains("`y`") && e.to_string().contains(&n.to_string()));
            assert!(untouched(&y));

            let dy = vec![1.0f32; n];
            let mut dx = vec![SENTINEL; 10];
            let e = k.backward(&x, &dy, &mut dx).unwrap_err();
            assert_eq!(
                e,
                Error::LengthMismatch {
                    arg: "dy",
                    expected: 10,
                    found: n
                }
            );
            assert!(untouched(&dx));

            let dy = vec![1.0f32; 10];
            let mut dx = vec![SENTINEL; n];
            let e = k.backward(&x, &dy, &mut dx).unwrap_err();
            assert_eq!(
                e,
                Error::LengthMismatch {
                    arg: "dx",
                    expected: 10,
                    found: n
                }
            );
            assert!(untouched(&dx));

            let mut d = vec![SENTINEL; n];
            let e = k.backward_in_place(&x, &mut d).unwrap_err();
            assert_eq!(
                e,
                Error::LengthMismatch {
                    arg: "dy",
                    expected: 10,
                    found: n
                }
            );
            assert!(untouched(&d));
        }
    }
}

#[test]
fn invalid_parameters_as_given() {
    for n in [0.0, -0.0, -1.0, f64::NAN, f64::NEG_INFINITY] {
        let e = Activation::relu_n(n).unwrap_err();
        let Error::InvalidParameter {
            name: "n",
            value,
            dtype: "f64",
            ..
        } = e
        else {
            panic!("{e:?}")
        };
        assert!(value.to_bits() == n.to_bits());
        assert!(e.to_string().contains("`n`"), "{e}");
    }
    for a in [-0.01, -1e-300, f64::NAN, f64::INFINITY, f64::NEG_INFINITY] {
        let e = Activation::leaky_relu(a).unwrap_err();
        let Error::InvalidParameter {
            name: "alpha",
            value,
            ..
        } = e
        else {
            panic!("{e:?}")
        };
        assert!(value.to_bits() == a.to_bits());
        assert!(e.to_string().contains("`alpha`"), "{e}");
    }
    assert!(Activation::relu_n(f64::INFINITY).is_ok());
    assert!(Activation::leaky_relu(0.0).is_ok());
    assert!(Activation::leaky_relu(-0.0).is_ok());
    // The one-liners refuse the same way, writing nothing.
    let mut y = vec![SENTINEL; 4];
    assert!(caffe2op_relu::relu_n(&[1.0f32; 4], &mut y, -1.0).is_err());
    assert!(caffe2op_relu::leaky_relu(&[1.0f32; 4], &mut y, f64::NAN).is_err());
    assert!(untouched(&y));
}

/// A parameter valid in f64 that rounds to an invalid value in the element type is
/// refused by every entry point, which writes nothing.
#[test]
fn parameters_that_round_to_invalid_values() {
    let cases = [
        (Activation::relu_n(1e-50).unwrap(), "n", "must be > 0"),
        (Activation::leaky_relu(1e300).unwrap(), "alpha", "finite"),
    ];
    for (act, name, why) in cases {
        for isa in Isa::available() {
            let k = Kernel::new(act).with_isa(isa).unwrap();
            let x = vec![-3.0f32; 40];
            let mut y = vec![SENTINEL; 40];
            let check = |e: Error| {
                let Error::InvalidParameter {
                    name: n,
                    dtype: "f32",
                    reason,
                    ..
                } = e
                else {
                    panic!("{e:?}")
                };
                assert_eq!(n, name);
                assert!(reason.contains(why), "{reason}");
            };
            check(k.forward(&x, &mut y).unwrap_err());
            assert!(untouched(&y));
            check(k.forward_in_place(&mut y).unwrap_err());
            assert!(untouched(&y));
            check(k.backward(&x, &x, &mut y).unwrap_err());
            assert!(untouched(&y));
            check(k.backward_in_place(&x, &mut y).unwrap_err());
            assert!(untouched(&y));
            let cells = Cell::from_mut(&mut y[..]).as_slice_of_cells();
            check(k.forward_aliased(cells, cells).unwrap_err());
            check(k.backward_aliased(cells, cells, cells).unwrap_err());
            assert!(untouched(&y));
            // f64 is fine with both.
            let mut y64 = vec![0.0f64; 40];
            k.forward(&vec![-3.0f64; 40], &mut y64).unwrap();
        }
    }
}

#[test]
fn partial_overlap_is_refused_and_writes_nothing() {
    for k in kernels() {
        for shift in [1usize, 3, 15, 16, 17, 31] {
            let mut buf = vec![SENTINEL; 100];
            let cells = Cell::from_mut(&mut buf[..]).as_slice_of_cells();
            let a = &cells[0..32];
            let b = &cells[shift..shift + 32];
            let e = k.forward_aliased(a, b).unwrap_err();
            assert!(
                matches!(
                    e,
                    Error::Overlap {
                        input: "x",
                        output: "y",
                        len: 32,
                        ..
                    }
                ),
                "{e:?}"
            );
            assert!(e.to_string().contains("overlaps"));
            let e = k.forward_aliased(b, a).unwrap_err();
            assert!(matches!(e, Error::Overlap { .. }));
            // Backward: dx overlapping y or dy partially.
            let far = &cells[64..96];
            let e = k.backward_aliased(a, far, b).unwrap_err();
            assert!(
                matches!(
                    e,
                    Error::Overlap {
                        input: "y",
                        output: "dx",
                        ..
                    }
                ),
                "{e:?}"
            );
            let e = k.backward_aliased(far, a, b).unwrap_err();
            assert!(
                matches!(
                    e,
                    Error::Overlap {
                        input: "dy",
                        output: "dx",
                        ..
                    }
                ),
                "{e:?}"
            );
            assert!(untouched(&buf));
        }
        // y and dy may overlap each other: they are only read.
        let mut buf = vec![1.0f32; 80];
        let cells = Cell::from_mut(&mut buf[..]).as_slice_of_cells();
        k.backward_aliased(&cells[0..32], &cells[5..37], &cells[40..72])
            .unwrap();
    }
}

#[test]
fn raw_pointer_refusals() {
    let k = Kernel::new(Activation::relu());
    let x = [-1.0f32; 16];
    let mut y = vec![SENTINEL; 16];
    let mut bytes = vec![0u8; 128];
    let mis = bytes
        .as_mut_ptr()
        .wrapping_add(usize::from((bytes.as_ptr() as usize).is_multiple_of(4)));
    // SAFETY: every call below is refused before any access, as the test checks; the
    // valid pointers point into live vectors of 16 elements.
    unsafe {
        let e = k
            .forward_raw(std::ptr::null(), y.as_mut_ptr(), 16)
            .unwrap_err();
        assert_eq!(e, Error::NullPointer { arg: "x" });
        let e = k
            .forward_raw(x.as_ptr(), std::ptr::null_mut(), 16)
            .unwrap_err();
        assert_eq!(e, Error::NullPointer { arg: "y" });
        let e = k
            .forward_raw(mis.cast::<f32>(), y.as_mut_ptr(), 4)
            .unwrap_err();
        assert!(
            matches!(
                e,
                Error::Misaligned {
                    arg: "x",
                    align: 4,
                    ..
                }
            ),
            "{e:?}"
        );
        let e = k.forward_raw(x.as_ptr(), mis.cast::<f32>(), 4).unwrap_err();
        assert!(matches!(e, Error::Misaligned { arg: "y", .. }), "{e:?}");
        let p = y.as_mut_ptr();
        let e = k.forward_raw(p, p.add(1), 8).unwrap_err();
        assert!(matches!(e, Error::Overlap { .. }), "{e:?}");
        let e = k
            .backward_raw(x.as_ptr(), std::ptr::null(), p, 16)
            .unwrap_err();
        assert_eq!(e, Error::NullPointer { arg: "dy" });
        let e = k
            .backward_raw(x.as_ptr(), x.as_ptr(), mis.cast::<f32>(), 4)
            .unwrap_err();
        assert!(matches!(e, Error::Misaligned { arg: "dx", .. }), "{e:?}");
        let e = k.backward_raw(p.add(2), x.as_ptr(), p, 8).unwrap_err();
        assert!(matches!(e, Error::Overlap { input: "y", .. }), "{e:?}");
    }
    assert!(untouched(&y));
    assert!(bytes.iter().all(|&b| b == 0));
    // The raw path runs in place and out of place when the pointers allow it.
    let mut z = vec![-2.0f32, 3.0, -0.0, f32::NAN];
    // SAFETY: z is live and holds 4 elements.
    unsafe { k.forward_raw(z.as_ptr(), z.as_mut_ptr(), 4).unwrap() };
    assert_eq!(z[0].to_bits(), 0.0f32.to_bits());
    assert_eq!(z[2].to_bits(), (-0.0f32).to_bits());
    assert!(z[3].is_nan());
}

#[test]
fn zero_length_is_fine_everywhere() {
    for k in kernels() {
        let mut e: [f32; 0] = [];
        k.forward(&[], &mut e).unwrap();
        k.forward_in_place(&mut e).unwrap();
        k.backward(&[], &[], &mut e).unwrap();
        k.backward_in_place(&[], &mut e).unwrap();
        let c: &[Cell<f32>] = &[];
        k.forward_aliased(c, c).unwrap();
        k.backward_aliased(c, c, c).unwrap();
    }
}

/// The free functions with parameters, on short slices (run inline when their
/// parameters pass quick tests) and long ones, in every float type: the refusal of a
/// kernel built from the same activation, with nothing written, or that kernel's
/// output bit for bit (and the oracle's), for parameters the quick tests accept and
/// for those they leave to the full checks (a `-0.0` slope, clip bounds of
/// `f64::MIN`/`f64::MAX`).
#[test]
fn free_functions_with_parameters_match_kernels() {
    let runs = free_functions_match::<f32>(&[1, 8, 64, 65, 300])
        + free_functions_match::<f64>(&[1, 32, 33, 100])
        + free_functions_match::<half::f16>(&[1, 4, 5, 40])
        + free_functions_match::<half::bf16>(&[1, 8, 32, 33, 100, 128, 129]);
    assert!(runs > 300, "{runs}");
}

fn free_functions_match<T: caffe2op_relu::Element + std::fmt::Debug>(lens: &[usize]) -> usize {
    use caffe2op_relu::Op;
    let cases: &[(Op, &[f64])] = &[
        (Op::ReluN, &[6.0]),
        (Op::ReluN, &[-1.0]),
        (Op::ReluN, &[f64::NAN]),
        (Op::ReluN, &[1e-50]),
        (Op::ReluN, &[f64::INFINITY]),
        (Op::LeakyRelu, &[0.01]),
        (Op::LeakyRelu, &[-0.0]),
        (Op::LeakyRelu, &[-0.01]),
        (Op::LeakyRelu, &[1e300]),
        (Op::LeakyRelu, &[f64::NAN]),
        // Rounding to infinity in f16 / bf16 (refused), to a subnormal (accepted).
        (Op::LeakyRelu, &[65520.0]),
        (Op::LeakyRelu, &[3.3961776e38]),
        (Op::LeakyRelu, &[3e-5]),
        (Op::LeakyRelu, &[1e-39]),
        (Op::Clip, &[-1.0, 1.0]),
        (Op::Clip, &[1.0 + 1e-10, 1.0]),
        (Op::Clip, &[1.0, 1.0 + 1e-10]),
        (Op::Clip, &[1e300, f64::MAX]),
        (Op::Clip, &[f64::MIN, -1e300]),
        (Op::Clip, &[f64::MIN, f64::MAX]),
        (Op::Clip, &[f64::NAN, 1.0]),
        (Op::Clip, &[-0.0, 0.0]),
    ];
    // `mode`: 0 forward, 1 in place, 2 backward.
    let free = |op: Op, p: &[f64], mode: u8, x: &[T], y: &mut [T]| match (op, mode) {
        (Op::ReluN, 0) => caffe2op_relu::relu_n(x, y, p[0]),
        (Op::ReluN, 1) => caffe2op_relu::relu_n_in_place(y, p[0]),
        (Op::ReluN, _) => caffe2op_relu::relu_n_grad(x, x, y, p[0]),
        (Op::LeakyRelu, 0) => caffe2op_relu::leaky_relu(x, y, p[0]),
        (Op::LeakyRelu, 1) => caffe2op_relu::leaky_relu_in_place(y, p[0]),
        (Op::LeakyRelu, _) => caffe2op_relu::leaky_relu_grad(x, x, y, p[0]),
        (Op::Clip, 0) => caffe2op_relu::clip(x, y, p[0], p[1]),
        (Op::Clip, 1) => caffe2op_relu::clip_in_place(y, p[0], p[1]),
        (_, _) => caffe2op_relu::clip_grad(x, x, y, p[0], p[1]),
    };
    let bits = |v: T| v.to_f64().to_bits();
    let mut runs = 0;
    for &len in lens {
        let x: Vec<T> = (0..len)
            .map(|i| T::from_f64(i as f64 * 0.37 - 20.0))
            .collect();
        for &(op, p) in cases {
            for mode in 0..3u8 {
                let before = if mode == 1 {
                    x.clone()
                } else {
                    vec![T::from_f64(SENTINEL.into()); len]
                };
                let (mut y, mut want_y) = (before.clone(), before.clone());
                let got = free(op, p, mode, &x, &mut y);
                let want = Activation::with_params(op, p).and_then(|a| {
                    let k = Kernel::new(a);
                    match mode {
                        0 => k.forward(&x, &mut want_y),
                        1 => k.forward_in_place(&mut want_y),
                        _ => k.backward(&x, &x, &mut want_y),
                    }
                });
                let what = format!("{} {op:?} {p:?} mode {mode} len {len}", T::NAME);
                match (&got, &want) {
                    (Ok(()), Ok(())) => {
                        runs += 1;
                        let a = Activation::with_params(op, p).unwrap();
                        for (i, (&v, &w)) in y.iter().zip(&want_y).enumerate() {
                            let o = match mode {
                                2 => a.oracle_backward(x[i], x[i]).unwrap(),
                                _ => a.oracle_forward(x[i]).unwrap(),
                            };
                            assert!(
                                bits(v) == bits(w) && bits(v) == bits(o),
                                "{what} at {i}: {v:?} {w:?} {o:?}"
                            );
                        }
                    }
                    _ => {
                        // Debug text: a NaN parameter in the error is not `==` itself.
                        assert_eq!(format!("{got:?}"), format!("{want:?}"), "{what}");
                        assert!(got.is_err());
                        assert!(
                            y.iter().zip(&before).all(|(&a, &b)| bits(a) == bits(b)),
                            "{what}: written"
                        );
                    }
                }
            }
        }
    }
    runs
}
