//! f16 and bf16 through the whole safe API, every available ISA x op x memory mode,
//! bit for bit against the oracle: every length 0..=130 at every start offset within a
//! cache line (every register width's tail and head), random lengths (quickcheck), the
//! threaded path, the non-temporal store path, `dx` aliasing `y`, and that a forced ISA
//! resolves to that ISA's own half-precision table.

mod common;

/// The parallel threshold the threaded tests set (see `threaded`).
const TEST_PARALLEL_MIN_BYTES: usize = 2 << 20;

use caffe2op_relu::{Activation, Element, Isa, Kernel, Op, Threads};
use caffe2op_relu_kernels as k;
use common::*;
use quickcheck::{QuickCheck, TestResult};

fn lengths() -> std::ops::RangeInclusive<usize> {
    if SHORT_SWEEPS { 0..=70 } else { 0..=130 }
}

fn sweep<T: TestElem>(grad: bool) {
    let mut rng = Rng(0x4a1f ^ u64::from(grad) ^ (T::NAME.len() as u64) << 8);
    let mut cases = 0usize;
    for op in Op::ALL {
        let acts = activations(op, &mut rng);
        for (ai, &act) in acts.iter().enumerate() {
            if act.param_as::<T>().is_err() {
                continue; // e.g. n = 1e-40 is 0 in f16: refused (tests/stateless/half_refusals.rs)
            }
            for k in kernels_for(act) {
                for mode in MODES {
                    for len in lengths() {
                        let x: Vec<T> = values_for(&mut rng, len, &act);
                        let dy: Vec<T> = values(&mut rng, len, 1.0);
                        for off in offsets::<T>().filter(|&o| ai < 2 || o == 0) {
                            if grad {
                                check_backward(&k, &x, &dy, off, mode, "sweep");
                            } else {
                                check_forward(&k, &x, off, mode, "sweep");
                            }
                            cases += 1;
                        }
                    }
                }
            }
        }
    }
    eprintln!("{} grad={grad}: {cases} calls", T::NAME);
}

#[test]
fn f16_forward_every_length_and_offset() {
    sweep::<half::f16>(false);
}

#[test]
fn bf16_forward_every_length_and_offset() {
    sweep::<half::bf16>(false);
}

#[test]
fn f16_backward_every_length_and_offset() {
    sweep::<half::f16>(true);
}

#[test]
fn bf16_backward_every_length_and_offset() {
    sweep::<half::bf16>(true);
}

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
    let acts: Vec<Activation> = activations(op, &mut rng)
        .into_iter()
        .filter(|a| a.param_as::<T>().is_ok())
        .collect();
    let act = acts[rng.below(acts.len())];
    let off = off as usize % (64 / size_of::<T>());
    let mode = MODES[mode as usize % MODES.len()];
    for k in kernels_for(act) {
        let x: Vec<T> = values_for(&mut rng, len, &act);
        if grad {
            let dy: Vec<T> = values(&mut rng, len, 1.0);
            check_backward(&k, &x, &dy, off, mode, "quickcheck");
        } else {
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
fn f16_random_lengths_quickcheck() {
    qc().quickcheck(random_case::<half::f16> as fn(u64, u32, u8, u8, u8, bool) -> TestResult);
}

#[test]
fn bf16_random_lengths_quickcheck() {
    qc().quickcheck(random_case::<half::bf16> as fn(u64, u32, u8, u8, u8, bool) -> TestResult);
}

/// Lengths big enough for `Threads::Auto` to split, in a 4-thread pool. Odd lengths
/// leave ragged chunks.
fn threaded<T: TestElem>() {
    let mut rng = Rng(0x7468_7265_6164);
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
fn f16_threaded_path() {
    threaded::<half::f16>();
}

#[test]
fn bf16_threaded_path() {
    threaded::<half::bf16>();
}

/// dx may be exactly y (not only dy).
fn dx_is_y<T: TestElem>() {
    let mut rng = Rng(77);
    for op in Op::ALL {
        for act in activations(op, &mut rng) {
            if act.param_as::<T>().is_err() {
                continue;
            }
            for k in kernels_for(act) {
                for len in [0usize, 1, 7, 33, 257, 1000] {
                    let y: Vec<T> = values_for(&mut rng, len, &act);
                    let dy: Vec<T> = values(&mut rng, len, 1.0);
                    let expect: Vec<u16> = y
                        .iter()
                        .zip(&dy)
                        .map(|(&a, &b)| bytemuck::cast(act.oracle_backward(a, b).unwrap()))
                        .collect();
                    let mut yv = y.clone();
                    let mut dv = dy.clone();
                    let yc = std::cell::Cell::from_mut(&mut yv[..]).as_slice_of_cells();
                    let dc = std::cell::Cell::from_mut(&mut dv[..]).as_slice_of_cells();
                    k.backward_aliased(yc, dc, yc).unwrap();
                    let got: Vec<u16> = yv.iter().map(|&v| bytemuck::cast(v)).collect();
                    assert_eq!(got, expect, "{} {act:?} {} len {len}", T::NAME, k.isa());
                }
            }
        }
    }
}

#[test]
fn backward_with_dx_equal_to_y() {
    dx_is_y::<half::f16>();
    dx_is_y::<half::bf16>();
}

/// Every out-of-place call streams in this test (threshold 0): the aligning head, the
/// non-temporal body and the tail. (Process-wide, but it changes no result, only the
/// store instruction, so the other tests in this binary are unaffected.)
#[test]
fn streaming_stores_match_the_oracle() {
    caffe2op_relu::tuning::set_stream_min_bytes(0);
    let mut rng = Rng(0x5354_5245_414d);
    fn run<T: TestElem>(rng: &mut Rng) {
        for op in Op::ALL {
            let act = activations(op, rng)[0];
            for k in kernels_for(act) {
                // NEON and SIMD128 have no non-temporal stores: in short sweeps a
                // sample suffices.
                let step = if SHORT_SWEEPS { 5 } else { 1 };
                for len in lengths().step_by(step).chain([1000, 4099]) {
                    let x: Vec<T> = values_for(rng, len, &act);
                    let dy: Vec<T> = values(rng, len, 1.0);
                    for off in offsets::<T>() {
                        for mode in [Mode::OutOfPlace, Mode::AliasedDisjoint] {
                            check_forward(&k, &x, off, mode, "streaming");
                            check_backward(&k, &x, &dy, off, mode, "streaming");
                        }
                    }
                }
            }
        }
    }
    run::<half::f16>(&mut rng);
    run::<half::bf16>(&mut rng);
    caffe2op_relu::tuning::set_stream_min_bytes(caffe2op_relu::tuning::DEFAULT_STREAM_MIN_BYTES);
}

fn table<T: Element>(isa: Isa) -> Vec<usize> {
    isa_table_addrs::<T>(isa)
}

/// A forced ISA runs that ISA's own half kernels: the safe crate's table for
/// `half::f16` is the kernels crate's table of that ISA (retyped), and the ISAs'
/// tables are all distinct.
#[test]
fn forced_isa_resolves_to_its_own_half_table() {
    assert_eq!(
        table::<half::f16>(Isa::Scalar),
        table_addrs(&k::arch::SCALAR.f16)
    );
    assert_eq!(
        table::<half::bf16>(Isa::Scalar),
        table_addrs(&k::arch::SCALAR.bf16)
    );
    #[cfg(target_arch = "x86_64")]
    {
        if Isa::Avx2.is_available() {
            assert_eq!(
                table::<half::f16>(Isa::Avx2),
                table_addrs(&k::arch::x86_64::avx2::TABLES.f16)
            );
            assert_eq!(
                table::<half::bf16>(Isa::Avx2),
                table_addrs(&k::arch::x86_64::avx2::TABLES.bf16)
            );
        }
        if Isa::Avx512.is_available() {
            let f16 = if caffe2op_relu::tuning::avx512_fp16() {
                &k::arch::x86_64::avx512::TABLES_FP16.f16
            } else {
                &k::arch::x86_64::avx512::TABLES.f16
            };
            assert_eq!(table::<half::f16>(Isa::Avx512), table_addrs(f16));
            let bf16 = if caffe2op_relu::tuning::avx512_bf16_narrowing() {
                &k::arch::x86_64::avx512::TABLES_BF16_NE.bf16
            } else {
                &k::arch::x86_64::avx512::TABLES.bf16
            };
            assert_eq!(table::<half::bf16>(Isa::Avx512), table_addrs(bf16));
        }
    }
    #[cfg(target_arch = "aarch64")]
    {
        assert!(Isa::Neon.is_available());
        assert_eq!(
            table::<half::f16>(Isa::Neon),
            table_addrs(&k::arch::aarch64::neon::TABLES.f16)
        );
        assert_eq!(
            table::<half::bf16>(Isa::Neon),
            table_addrs(&k::arch::aarch64::neon::TABLES.bf16)
        );
    }
    #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
    {
        assert!(Isa::Simd128.is_available());
        assert_eq!(
            table::<half::f16>(Isa::Simd128),
            table_addrs(&k::arch::wasm32::simd128::TABLES.f16)
        );
        assert_eq!(
            table::<half::bf16>(Isa::Simd128),
            table_addrs(&k::arch::wasm32::simd128::TABLES.bf16)
        );
    }
    for a in Isa::available() {
        for b in Isa::available() {
            if a != b {
                assert_ne!(table::<half::f16>(a), table::<half::f16>(b), "{a} vs {b}");
                assert_ne!(table::<half::bf16>(a), table::<half::bf16>(b), "{a} vs {b}");
            }
        }
    }
}
