//! Parameters that are valid as given but break the rule once rounded to f16 / bf16
//! (SPEC §3): refused with `Error::InvalidParameter` naming the argument, the value and
//! the type, on every entry point and every ISA, and nothing is written. Also: the
//! parameter is rounded once from f64 (correctly), and values that round to something
//! valid are accepted.

use std::cell::Cell;

use caffe2op_relu::{Activation, Element, Error, Isa, Kernel};

fn sentinel<T: Element>() -> T {
    T::from_f64(42.5)
}

fn untouched<T: Element>(v: &[T]) -> bool {
    v.iter().all(|x| x.to_bits() == sentinel::<T>().to_bits())
}

/// Every entry point of `k` refuses with `expect`, writing nothing.
fn refused_everywhere<T: Element>(k: &Kernel, expect: &Error) {
    let x = vec![T::from_f64(-3.0); 37];
    let mut y = vec![sentinel::<T>(); 37];
    assert_eq!(&k.forward(&x, &mut y).unwrap_err(), expect);
    assert!(untouched(&y));

    let mut z = vec![sentinel::<T>(); 37];
    assert_eq!(&k.forward_in_place(&mut z).unwrap_err(), expect);
    assert!(untouched(&z));

    let mut dx = vec![sentinel::<T>(); 37];
    assert_eq!(&k.backward(&x, &x, &mut dx).unwrap_err(), expect);
    assert!(untouched(&dx));

    let mut dy = vec![sentinel::<T>(); 37];
    assert_eq!(&k.backward_in_place(&x, &mut dy).unwrap_err(), expect);
    assert!(untouched(&dy));

    let mut w = vec![sentinel::<T>(); 37];
    let cells = Cell::from_mut(&mut w[..]).as_slice_of_cells();
    assert_eq!(&k.forward_aliased(cells, cells).unwrap_err(), expect);
    assert_eq!(
        &k.backward_aliased(cells, cells, cells).unwrap_err(),
        expect
    );
    assert!(untouched(&w));

    let mut r = vec![sentinel::<T>(); 37];
    let p = r.as_mut_ptr();
    // SAFETY: p is valid for 37 reads and writes; nothing else touches `r`.
    let e = unsafe { k.forward_raw(p, p, 37) }.unwrap_err();
    assert_eq!(&e, expect);
    // SAFETY: as above.
    let e = unsafe { k.backward_raw(p, p, p, 37) }.unwrap_err();
    assert_eq!(&e, expect);
    assert!(untouched(&r));
}

fn check<T: Element>(act: Activation, name: &'static str, reason: &'static str) {
    let expect = Error::InvalidParameter {
        name,
        value: act.param(),
        dtype: T::NAME,
        reason,
    };
    assert_eq!(act.param_as::<T>().unwrap_err(), expect);
    let msg = expect.to_string();
    assert!(msg.contains(name) && msg.contains(T::NAME), "{msg}");
    for isa in Isa::available() {
        let k = Kernel::new(act).with_isa(isa).unwrap();
        refused_everywhere::<T>(&k, &expect);
    }
    // The defaults too.
    refused_everywhere::<T>(&Kernel::new(act), &expect);
}

#[test]
fn n_rounding_to_zero_is_refused() {
    // Below half the smallest subnormal: 2^-25 = 2.98e-8 in f16, 2^-134 = 4.6e-41 in
    // bf16. Exactly half rounds to even, i.e. 0, too.
    for n in [1e-8, 2f64.powi(-25), 1e-30] {
        check::<half::f16>(Activation::relu_n(n).unwrap(), "n", "n must be > 0");
    }
    for n in [1e-42, 2f64.powi(-134), 1e-60] {
        check::<half::bf16>(Activation::relu_n(n).unwrap(), "n", "n must be > 0");
    }
    // Valid in f32 but not in f16: the refusal is per type.
    assert!(Activation::relu_n(1e-8).unwrap().param_as::<f32>().is_ok());
}

#[test]
fn alpha_rounding_to_infinity_is_refused() {
    // f16's largest finite is 65504; from 65520 on it rounds to infinity.
    for a in [65520.0, 70000.0, 1e10] {
        check::<half::f16>(
            Activation::leaky_relu(a).unwrap(),
            "alpha",
            "alpha must be finite",
        );
        assert!(
            Activation::leaky_relu(a)
                .unwrap()
                .param_as::<half::bf16>()
                .is_ok()
        );
    }
    // bf16's largest finite is 3.3895e38; 3.4e38 rounds up to infinity.
    for a in [3.4e38, 1e39, 1e300] {
        check::<half::bf16>(
            Activation::leaky_relu(a).unwrap(),
            "alpha",
            "alpha must be finite",
        );
    }
}

#[test]
fn values_that_round_to_valid_ones_are_accepted() {
    for (n, f16_bits) in [
        (65519.0, 0x7BFF),
        (1e-7, 0x0002),
        (2.99e-8, 0x0001),
        (6.0, 0x4600),
    ] {
        let a = Activation::relu_n(n).unwrap();
        assert_eq!(
            a.param_as::<half::f16>().unwrap().to_bits(),
            f16_bits,
            "{n}"
        );
    }
    let a = Activation::leaky_relu(65519.0).unwrap();
    assert_eq!(a.param_as::<half::f16>().unwrap().to_bits(), 0x7BFF);
    // alpha = 0 and n = +inf stay allowed in both types.
    assert!(
        Activation::leaky_relu(0.0)
            .unwrap()
            .param_as::<half::f16>()
            .is_ok()
    );
    assert!(
        Activation::relu_n(f64::INFINITY)
            .unwrap()
            .param_as::<half::bf16>()
            .is_ok()
    );
}

/// The parameter is rounded once from f64: 1 + 2^-11 + 2^-40 is above the midpoint of
/// 1 and 1 + 2^-10, so n is 1 + 2^-10 (going through f32 would tie to 1.0).
#[test]
fn parameter_is_rounded_once_from_f64() {
    let n = 1.0 + 2f64.powi(-11) + 2f64.powi(-40);
    let a = Activation::relu_n(n).unwrap();
    assert_eq!(a.param_as::<half::f16>().unwrap().to_bits(), 0x3C01);
    let a = Activation::relu_n(1.0 + 2f64.powi(-8) + 2f64.powi(-40)).unwrap();
    assert_eq!(a.param_as::<half::bf16>().unwrap().to_bits(), 0x3F81);
    // And the kernels clip at exactly that n: 1 + 2^-9 > n.
    let x = [half::f16::from_f64(1.0 + 2f64.powi(-9))];
    let mut y = [half::f16::ZERO];
    caffe2op_relu::relu_n(&x, &mut y, n).unwrap();
    assert_eq!(y[0].to_bits(), 0x3C01);
}

#[test]
fn length_mismatch_writes_nothing() {
    for isa in Isa::available() {
        let k = Kernel::new(Activation::relu6()).with_isa(isa).unwrap();
        let x = vec![half::bf16::from_f64(-1.0); 10];
        let mut y = vec![sentinel::<half::bf16>(); 9];
        assert_eq!(
            k.forward(&x, &mut y).unwrap_err(),
            Error::LengthMismatch {
                arg: "y",
                expected: 10,
                found: 9
            }
        );
        assert!(untouched(&y));
        let mut dx = vec![sentinel::<half::f16>(); 11];
        let xf = vec![half::f16::ONE; 10];
        assert!(k.backward(&xf, &xf, &mut dx).is_err());
        assert!(untouched(&dx));
    }
}
