//! Every available ISA x op x element type x memory mode against the scalar oracle,
//! bit for bit: every length up to 260 at every start offset within a cache line,
//! random lengths up to ~100k (quickcheck), and lengths that take the threaded path.

mod common;

/// The parallel threshold the threaded tests set (see `threaded`).
const TEST_PARALLEL_MIN_BYTES: usize = 2 << 20;

use caffe2op_relu::{Activation, Kernel, Op, Threads};
use common::*;
use quickcheck::{QuickCheck, TestResult};

fn sweep_forward<T: TestElem>() {
    let mut rng = Rng(0x5eed_0001 ^ size_of::<T>() as u64);
    for op in Op::ALL {
        let acts = activations(op, &mut rng);
        for (ai, &act) in acts.iter().enumerate() {
            // The full length x offset sweep for the first two parameters of each op;
            // every parameter still gets every length at offset 0.
            for k in kernels_for(act) {
                for mode in MODES {
                    for len in small_lengths() {
                        let x: Vec<T> = values_for(&mut rng, len, &act);
                        for off in offsets::<T>().filter(|&o| ai < 2 || o == 0) {
                            check_forward(&k, &x, off, mode, "sweep");
                        }
                    }
                }
            }
        }
    }
}

fn sweep_backward<T: TestElem>() {
    let mut rng = Rng(0x5eed_0002 ^ size_of::<T>() as u64);
    for op in Op::ALL {
        let acts = activations(op, &mut rng);
        for (ai, &act) in acts.iter().enumerate() {
            for k in kernels_for(act) {
                for mode in MODES {
                    for len in small_lengths() {
                        let y: Vec<T> = values_for(&mut rng, len, &act);
                        let dy: Vec<T> = values(&mut rng, len, 1.0);
                        for off in offsets::<T>().filter(|&o| ai < 2 || o == 0) {
                            check_backward(&k, &y, &dy, off, mode, "sweep");
                        }
                    }
                }
            }
        }
    }
}

#[test]
fn f32_forward_every_length_and_offset() {
    sweep_forward::<f32>();
}

#[test]
fn f64_forward_every_length_and_offset() {
    sweep_forward::<f64>();
}

#[test]
fn f32_backward_every_length_and_offset() {
    sweep_backward::<f32>();
}

#[test]
fn f64_backward_every_length_and_offset() {
    sweep_backward::<f64>();
}

/// One random case: a random op/parameter/length/offset/mode on every ISA.
fn random_case<T: TestElem>(
    seed: u64,
    len: u32,
    off: u8,
    op: u8,
    mode: u8,
    grad: bool,
) -> TestResult {
    let max = if light() { 8_000 } else { 100_000 };
    let len = len as usize % max;
    let mut rng = Rng(seed);
    let op = Op::ALL[op as usize % Op::ALL.len()];
    let acts = activations(op, &mut rng);
    let act = acts[rng.below(acts.len())];
    let off = off as usize % (64 / size_of::<T>());
    let mode = MODES[mode as usize % MODES.len()];
    for k in kernels_for(act) {
        if grad {
            let y: Vec<T> = values_for(&mut rng, len, &act);
            let dy: Vec<T> = values(&mut rng, len, 1.0);
            check_backward(&k, &y, &dy, off, mode, "quickcheck");
        } else {
            let x: Vec<T> = values_for(&mut rng, len, &act);
            check_forward(&k, &x, off, mode, "quickcheck");
        }
    }
    TestResult::passed()
}

fn qc() -> QuickCheck {
    let tests = if light() { 20 } else { 60 };
    QuickCheck::new().tests(tests).max_tests(tests * 2)
}

#[test]
fn f32_random_lengths_quickcheck() {
    qc().quickcheck(random_case::<f32> as fn(u64, u32, u8, u8, u8, bool) -> TestResult);
}

#[test]
fn f64_random_lengths_quickcheck() {
    qc().quickcheck(random_case::<f64> as fn(u64, u32, u8, u8, u8, bool) -> TestResult);
}

/// Lengths big enough for `Threads::Auto` to split, in a 4-thread pool (so the
/// parallel path runs even on a 1-core CI machine). Odd lengths leave ragged chunks.
fn threaded<T: TestElem>() {
    let mut rng = Rng(0x7472_6561_6473);
    // The default threshold is tuned for speed (tens of MiB); a lower one keeps the
    // threaded path cheap to test. Results do not depend on it.
    caffe2op_relu::tuning::set_parallel_min_bytes(TEST_PARALLEL_MIN_BYTES);
    let len = 3 * TEST_PARALLEL_MIN_BYTES / size_of::<T>() / 2 + 13;
    in_pool(4, || {
        for op in Op::ALL {
            let act = activations(op, &mut rng)[0];
            for isa in threaded_isas() {
                let k = Kernel::new(act).with_isa(isa).unwrap();
                assert_eq!(k.threads(), Threads::Auto);
                assert_splits::<T>(&k, len);
                let x: Vec<T> = values_for(&mut rng, len, &act);
                let dy: Vec<T> = values(&mut rng, len, 1.0);
                // Light runs: two modes (one out of place, one in place).
                let modes = if light() { &MODES[..2] } else { &MODES[..] };
                for &mode in modes {
                    check_forward(&k, &x, 1, mode, "threaded");
                    check_backward(&k, &x, &dy, 3, mode, "threaded");
                }
            }
        }
    });
}

#[test]
fn f32_threaded_path() {
    threaded::<f32>();
}

#[test]
fn f64_threaded_path() {
    threaded::<f64>();
}

#[test]
fn serial_and_small_calls_are_one_piece() {
    let k = Kernel::new(Activation::relu());
    assert_eq!(k.pieces::<f32>(1000), 1);
    let s = k.with_threads(Threads::Serial);
    assert_eq!(s.pieces::<f32>(1 << 26), 1);
}

/// dx may be exactly y (not only dy): the kernels load a block before storing it.
#[test]
fn backward_with_dx_equal_to_y() {
    let mut rng = Rng(99);
    for op in Op::ALL {
        for act in activations(op, &mut rng) {
            for k in kernels_for(act) {
                for len in [0usize, 1, 7, 33, 257, 1000] {
                    let y: Vec<f32> = values_for(&mut rng, len, &act);
                    let dy: Vec<f32> = values(&mut rng, len, 1.0);
                    let expect: Vec<u32> = y
                        .iter()
                        .zip(&dy)
                        .map(|(&a, &b)| act.oracle_backward(a, b).unwrap().to_bits())
                        .collect();
                    let mut yv = y.clone();
                    let mut dv = dy.clone();
                    let yc = std::cell::Cell::from_mut(&mut yv[..]).as_slice_of_cells();
                    let dc = std::cell::Cell::from_mut(&mut dv[..]).as_slice_of_cells();
                    k.backward_aliased(yc, dc, yc).unwrap();
                    let got: Vec<u32> = yv.iter().map(|v| v.to_bits()).collect();
                    assert_eq!(got, expect, "{act:?} {} len {len}", k.isa());
                }
            }
        }
    }
}

/// The default dispatch (`Kernel::new`, no forced ISA) runs short calls inline and
/// longer ones on a kernel: both sides of that switch, in every mode, against the oracle.
fn default_dispatch_short_calls<T: TestElem>() {
    let mut rng = Rng(0x5eed_0003 ^ size_of::<T>() as u64);
    for op in Op::ALL {
        for act in activations(op, &mut rng) {
            for k in [
                Kernel::new(act),
                Kernel::new(act).with_threads(Threads::Serial),
            ] {
                for len in 0..=80 {
                    let x: Vec<T> = values_for(&mut rng, len, &act);
                    let dy: Vec<T> = values(&mut rng, len, 1.0);
                    for mode in MODES {
                        for off in [0, 1] {
                            check_forward(&k, &x, off, mode, "default dispatch");
                            check_backward(&k, &x, &dy, off, mode, "default dispatch");
                        }
                    }
                }
            }
        }
    }
}

#[test]
fn f32_default_dispatch_short_calls() {
    default_dispatch_short_calls::<f32>();
}

#[test]
fn f64_default_dispatch_short_calls() {
    default_dispatch_short_calls::<f64>();
}
