//! The correctness check: every available ISA, serial and `Threads::Auto`, against the
//! scalar oracle bit for bit, on random values and the special ones.

use caffe2op_relu::{Element, Isa, Kernel, Threads};

use crate::cells::Func;
use crate::measure::fill;

/// Elements compared and mismatches for float type `T`.
fn check_float<T: Element>(isas: &[Isa]) -> (usize, usize) {
    let n = 4099;
    let mut x: Vec<T> = fill(n, 7, 20.0);
    // Special values: the bit patterns where SIMD max/min and selects go wrong.
    let specials = [
        0.0,
        -0.0,
        f64::INFINITY,
        f64::NEG_INFINITY,
        f64::NAN,
        -f64::NAN,
        6.0,
        -6.0,
        1e-310,
        -1e-310,
    ];
    for (i, s) in specials.iter().enumerate() {
        x[i * 3] = T::from_f64(*s);
    }
    let dy: Vec<T> = fill(n, 8, 3.0);
    let (mut checked, mut bad) = (0, 0);
    for f in Func::all() {
        let act = f.act();
        let expect: Vec<T> = if f.grad {
            x.iter()
                .zip(&dy)
                .map(|(&a, &b)| act.oracle_backward(a, b).unwrap())
                .collect()
        } else {
            x.iter().map(|&a| act.oracle_forward(a).unwrap()).collect()
        };
        for &isa in isas {
            for threads in [Threads::Serial, Threads::Auto] {
                let k = Kernel::new(act)
                    .with_isa(isa)
                    .unwrap()
                    .with_threads(threads);
                let mut out = vec![T::default(); n];
                if f.grad {
                    k.backward(&x, &dy, &mut out).unwrap();
                } else {
                    k.forward(&x, &mut out).unwrap();
                }
                checked += n;
                bad += out
                    .iter()
                    .zip(&expect)
                    .filter(|(a, b)| a.to_bits() != b.to_bits())
                    .count();
            }
        }
    }
    (checked, bad)
}

/// Elements compared and mismatches for Int8Relu over every byte and six zero points.
fn check_int8(isas: &[Isa]) -> (usize, usize) {
    let x: Vec<u8> = (0..=255u8).cycle().take(4099).collect();
    let (mut checked, mut bad) = (0, 0);
    for &isa in isas {
        for zp in [0u8, 1, 127, 128, 200, 255] {
            let mut y = vec![0u8; x.len()];
            caffe2op_relu::int8_relu_with(&x, &mut y, zp, isa, Threads::Auto).unwrap();
            checked += y.len();
            bad += y
                .iter()
                .zip(&x)
                .filter(|&(&o, &i)| o != caffe2op_relu::int8_relu_oracle(i, zp))
                .count();
        }
    }
    (checked, bad)
}

/// Elements compared and mismatches over every ISA x function x type x threads.
pub fn check(isas: &[Isa]) -> (usize, usize) {
    [
        check_float::<f32>(isas),
        check_float::<f64>(isas),
        check_float::<half::f16>(isas),
        check_float::<half::bf16>(isas),
        check_int8(isas),
    ]
    .iter()
    .fold((0, 0), |a, c| (a.0 + c.0, a.1 + c.1))
}
