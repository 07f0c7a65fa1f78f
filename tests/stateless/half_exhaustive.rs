//! f16 and bf16, every available ISA, bit for bit against the oracle:
//! - every forward op on **all 65,536 bit patterns**, for several `n`/`alpha` each
//!   (ordinary, subnormal-range, huge, infinite n, alpha 0) and several clip bounds
//!   (the defaults, hardtanh, zeros of both signs, subnormal and extreme bounds), out
//!   of place, in place and through both aliased forms;
//! - every backward op on a dense sample: every `y` pattern against a permuted `dy`
//!   (each pattern once), and every `dy` pattern against each of the `y` values where
//!   the ops branch (so the product `a * dy` is checked for all 65,536 `dy`).

use crate::common;

use caffe2op_relu::{Activation, Element, Isa, Op};
use caffe2op_relu_kernels::ops::Rule;
use common::*;

/// The activations of the exhaustive sweeps (fewer in light runs: under qemu, under
/// the sanitizer).
fn acts<T: Element>(op: Op) -> Vec<Activation> {
    let f16 = T::NAME == "f16";
    let full = !light();
    if op.def().cross.is_empty() {
        let v = params::<T>(op);
        let n = if full { v.len() } else { v.len().min(4) };
        return v[..n].iter().map(|&p| act(op, p)).collect();
    }
    // Two bounds: the defaults (the type's extremes), hardtanh, zeros of both signs,
    // a subnormal against an extreme, equal bounds, infinite bounds, a negative
    // subnormal against `+0`, and a `-0` lower bound (the one-pass form of the 16-bit
    // floats takes the pairs with a `min` in `-inf..=-0` and a `max` in `+0..=+inf`).
    // (clip(+0, n) is relu_n, whose sweep is above; `clip.rs` checks the two agree.)
    let tiny = if f16 { 1e-7 } else { 1e-39 };
    let huge = if f16 { 65504.0 } else { 3e38 };
    let pairs = [
        (f64::MIN, f64::MAX),
        (-1.0, 1.0),
        (-0.0, 0.0),
        (-huge, tiny),
        (tiny, tiny),
        (f64::NEG_INFINITY, f64::INFINITY),
        (-tiny, 0.0),
        (-0.0, 6.0),
    ];
    let n = if full { pairs.len() } else { 3 };
    pairs[..n]
        .iter()
        .map(|&(lo, hi)| Activation::clip(lo, hi).unwrap())
        .collect()
}

/// Parameters for the exhaustive sweeps of a one-parameter op.
fn params<T: Element>(op: Op) -> Vec<f64> {
    let f16 = T::NAME == "f16";
    // By the rule of the op's (first) parameter, from the op registry.
    let rule = op.def().params.first().map(|p| p.rule);
    let v: Vec<f64> = match (rule, f16) {
        (None, _) => vec![0.0],
        // n: ReLU6, 1, a subnormal, the smallest normal, the largest finite, +inf.
        (Some(Rule::Positive), true) => {
            vec![6.0, 1.0, 1e-7, 6.103515625e-5, 65504.0, f64::INFINITY]
        }
        (Some(Rule::Positive), false) => vec![6.0, 1.0, 1e-39, 1.2e-38, 3.3e38, f64::INFINITY],
        // alpha: the default, 0, 1, a subnormal, tiny, huge (products overflow).
        (Some(Rule::FiniteNonNegative), true) => {
            vec![0.01, 0.0, 1.0, 1e-7, 3e-3, 300.0, 65504.0]
        }
        (Some(Rule::FiniteNonNegative), false) => {
            vec![0.01, 0.0, 1.0, 1e-39, 1e-30, 1e30, 3e38]
        }
        // Any sign: both of the above and their negatives.
        (Some(Rule::NotNan | Rule::Finite | Rule::Bound), true) => {
            vec![6.0, -1.0, 1e-7, -65504.0, 0.0]
        }
        (Some(Rule::NotNan | Rule::Finite | Rule::Bound), false) => {
            vec![6.0, -1.0, 1e-39, -3e38, 0.0]
        }
    };
    v
}

fn act(op: Op, p: f64) -> Activation {
    Activation::new(op, p).unwrap()
}

/// All 65,536 patterns, in order and in a scrambled order (so that neighbouring
/// patterns also meet in different lanes and in the tail).
fn all_patterns<T: Element<Bits = u16>>() -> [Vec<T>; 2] {
    let ordered: Vec<T> = (0..=u16::MAX).map(T::from_bits).collect();
    let scrambled: Vec<T> = (0..=u16::MAX as u32)
        .map(|i| T::from_bits((i.wrapping_mul(40_503) ^ 0x5a5a) as u16))
        .collect();
    [ordered, scrambled]
}

fn forward_exhaustive<T: TestElem + Element<Bits = u16>>() {
    let inputs = all_patterns::<T>();
    let mut cases = 0usize;
    for op in Op::ALL {
        for a in acts::<T>(op) {
            for k in kernels_for(a) {
                for mode in MODES {
                    for (i, x) in inputs.iter().enumerate() {
                        check_forward(&k, x, i, mode, "exhaustive");
                        cases += x.len();
                    }
                }
            }
        }
    }
    eprintln!("{}: {cases} forward cases", T::NAME);
}

fn backward_dense<T: TestElem + Element<Bits = u16>>() {
    let [ordered, scrambled] = all_patterns::<T>();
    let mut cases = 0usize;
    for op in Op::ALL {
        for a in acts::<T>(op) {
            // Where the ops branch: ±0, ±1, NaN, ±inf, each parameter (as the type
            // holds it) and its neighbours, the smallest subnormal.
            let count = op.def().params.len();
            let mut ys: Vec<T> = Vec::new();
            for p in &a.params_in::<T>().unwrap()[..count.max(1)] {
                for v in T::specials(p.to_f64()) {
                    if !ys.iter().any(|w| w.to_bits() == v.to_bits()) {
                        ys.push(v);
                    }
                }
            }
            if light() {
                ys.truncate(8);
            }
            for k in kernels_for(a) {
                for mode in MODES {
                    // Every y once, every dy once.
                    check_backward(&k, &ordered, &scrambled, 3, mode, "dense y");
                    cases += ordered.len();
                }
                // Every dy against each branching y.
                for (j, &y0) in ys.iter().enumerate() {
                    let y = vec![y0; ordered.len()];
                    let mode = MODES[j % MODES.len()];
                    check_backward(&k, &y, &ordered, j % 7, mode, "dense dy");
                    cases += ordered.len();
                }
            }
        }
    }
    eprintln!("{}: {cases} backward cases", T::NAME);
}

#[test]
fn f16_every_pattern_every_forward_op() {
    forward_exhaustive::<half::f16>();
}

#[test]
fn bf16_every_pattern_every_forward_op() {
    forward_exhaustive::<half::bf16>();
}

#[test]
fn f16_dense_backward() {
    backward_dense::<half::f16>();
}

#[test]
fn bf16_dense_backward() {
    backward_dense::<half::bf16>();
}

/// On aarch64 the NEON kernels must be among those compared.
#[test]
fn neon_is_compared_on_aarch64() {
    if cfg!(target_arch = "aarch64") {
        assert!(Isa::available().contains(&Isa::Neon));
        let k = kernels_for(Activation::relu());
        assert!(k.iter().any(|k| k.isa() == Isa::Neon));
    }
}
