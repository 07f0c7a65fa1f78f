//! Out-of-place kernels walk up or down depending on where the output sits relative
//! to the inputs modulo 4 KiB (to keep clear of 4K aliasing). This places inputs and
//! outputs inside one allocation at chosen distances, so that both directions run
//! for every ISA, op and a range of lengths and alignments, and compares with the
//! oracle bit for bit; the gaps between the slices must stay untouched.

use crate::common;

use caffe2op_relu::Op;
use common::walk::{DISTANCES, backward, forward, lengths};
use common::*;

fn sweep<T: TestElem>() {
    let mut rng = Rng(0x3a1c ^ size_of::<T>() as u64);
    for op in Op::ALL {
        let act = activations(op, &mut rng)[0];
        for k in kernels_for(act) {
            for d in DISTANCES {
                for len in lengths() {
                    for x_off in [0, 1, 5] {
                        let x: Vec<T> = values_for(&mut rng, len, &act);
                        let dy: Vec<T> = values(&mut rng, len, 1.0);
                        forward(&k, &x, d, x_off);
                        backward(&k, &x, &dy, d, x_off);
                    }
                }
            }
        }
    }
}

#[test]
fn f32_both_directions() {
    sweep::<f32>();
}

#[test]
fn f64_both_directions() {
    sweep::<f64>();
}

#[test]
fn f16_both_directions() {
    sweep::<half::f16>();
}

#[test]
fn bf16_both_directions() {
    sweep::<half::bf16>();
}

/// Lengths around the bytes moved per call where the WebAssembly main loops change
/// the order of a turn's loads and stores (1 MiB; `generic::ONE_AT_A_TIME_MAX_BYTES`
/// in the kernels crate), forward (two buffers) and backward (three), walking up and
/// down. Elsewhere these are plain long calls.
fn around_one_mib<T: TestElem>() {
    let mut rng = Rng(0x1f3d ^ size_of::<T>() as u64);
    let s = size_of::<T>();
    let (two, three) = ((1 << 20) / (2 * s), (1 << 20) / (3 * s));
    for op in Op::ALL {
        let act = activations(op, &mut rng)[0];
        for k in kernels_for(act) {
            for d in [DISTANCES[0], DISTANCES[1]] {
                for len in [two - 1, two + 1, three - 1, three + 1] {
                    let x: Vec<T> = values_for(&mut rng, len, &act);
                    let dy: Vec<T> = values(&mut rng, len, 1.0);
                    forward(&k, &x, d, 0);
                    backward(&k, &x, &dy, d, 0);
                }
            }
        }
    }
}

#[test]
fn f32_around_one_mib() {
    around_one_mib::<f32>();
}

#[test]
fn f16_around_one_mib() {
    around_one_mib::<half::f16>();
}
