//! Concurrency: racing first calls (the cached ISA dispatch), calls from inside rayon
//! pools of different sizes and from inside `par_iter` bodies, a kernel shared by
//! many threads, process-wide thresholds changed while calls run, and the
//! `Send + Sync` guarantees of the public types.
//!
//! The dispatch cache is per process, so the first-call race and the thread-count
//! check run in a fresh child process (this test binary re-executed with a filter
//! and an environment variable, as `env_cap.rs` does), where they are the only code
//! that touches the crate.

// Every test here needs threads or child processes, which WebAssembly
// (`wasm32-wasip1`) has not; `Threads::Auto` without threads is checked by the
// threaded tests of `oracle_match`, `boundary` and `int8_relu`.
#![cfg(not(target_family = "wasm"))]
// The child-process checks are x86_64-only; elsewhere their helpers go unused.
#![cfg_attr(not(target_arch = "x86_64"), allow(dead_code, unused_imports))]

mod common;

use std::process::Command;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Barrier};

use caffe2op_relu::ops::{
    Cost, NetDef, OpSchema, Operator, OperatorDef, Tensor, TensorShape, Workspace,
};
use caffe2op_relu::{
    Activation, Error, ISA_ENV_VAR, Isa, Kernel, Op, ParseIsaError, QuantParams, Threads,
};
use common::{Rng, TestElem, bits, light, threaded_isas, values, values_for};
use rayon::prelude::*;

// ---------------------------------------------------------------------------------
// Send + Sync, checked at compile time
// ---------------------------------------------------------------------------------

const fn send_sync<T: Send + Sync>() {}

const _: () = {
    send_sync::<Kernel>();
    send_sync::<Activation>();
    send_sync::<Error>();
    send_sync::<Isa>();
    send_sync::<Threads>();
    send_sync::<Op>();
    send_sync::<QuantParams>();
    send_sync::<ParseIsaError>();
    send_sync::<Workspace>();
    send_sync::<Tensor>();
    send_sync::<TensorShape>();
    send_sync::<OperatorDef>();
    send_sync::<NetDef>();
    send_sync::<Operator>();
    send_sync::<&'static OpSchema>();
    send_sync::<Cost>();
};

// ---------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------

fn acts() -> [Activation; 3] {
    [
        Activation::relu(),
        Activation::relu_n(2.5).unwrap(),
        Activation::leaky_relu(0.125).unwrap(),
    ]
}

/// Pool sizes the in-process tests call from: 1, 2, 3 and 8 threads; in light runs
/// (ASan, qemu), 1 and 3 (no split, and an odd split with each ISA on f32).
fn pool_sizes() -> &'static [usize] {
    if light() { &[1, 3] } else { &[1, 2, 3, 8] }
}

/// A length whose calls `Threads::Auto` splits (when the pool has several threads).
fn big_len<T>() -> usize {
    // A lower threshold than the default keeps the threaded path cheap to test.
    caffe2op_relu::tuning::set_parallel_min_bytes(2 << 20);
    3 * (2 << 20) / size_of::<T>() / 2 + 13
}

/// Forward, in place, backward and backward in place of `k` on `x`/`dy`, each
/// compared bit for bit with the oracle.
fn check_all<T: TestElem>(k: &Kernel, x: &[T], dy: &[T], ctx: &str) {
    let act = k.activation();
    let fwd: Vec<T::Bits> = x
        .iter()
        .map(|&v| act.oracle_forward(v).unwrap().to_bits())
        .collect();
    let bwd: Vec<T::Bits> = x
        .iter()
        .zip(dy)
        .map(|(&a, &b)| act.oracle_backward(a, b).unwrap().to_bits())
        .collect();
    let mut y = vec![T::from_f64(9.0); x.len()];
    k.forward(x, &mut y).unwrap();
    assert!(bits(&y) == fwd, "{ctx}: forward {act:?} {}", k.isa());
    let mut y = x.to_vec();
    k.forward_in_place(&mut y).unwrap();
    assert!(bits(&y) == fwd, "{ctx}: forward_in_place {act:?}");
    let mut d = vec![T::from_f64(9.0); x.len()];
    k.backward(x, dy, &mut d).unwrap();
    assert!(bits(&d) == bwd, "{ctx}: backward {act:?}");
    let mut d = dy.to_vec();
    k.backward_in_place(x, &mut d).unwrap();
    assert!(bits(&d) == bwd, "{ctx}: backward_in_place {act:?}");
}

// ---------------------------------------------------------------------------------
// Child processes: the first-call race and the thread count
// ---------------------------------------------------------------------------------

const CHILD: &str = "CAFFE2OP_RELU_CONCURRENCY_CHILD";
const EXPECT: &str = "CAFFE2OP_RELU_CONCURRENCY_EXPECT";
const RACERS: usize = 16;

/// The child side. Does nothing unless the parent set `CHILD`.
#[test]
fn child_process() {
    let Ok(mode) = std::env::var(CHILD) else {
        return;
    };
    match mode.as_str() {
        "first_call" => first_call_race(),
        "threads" => pools_start_no_threads(),
        other => panic!("unknown child mode {other}"),
    }
}

/// `RACERS` threads released at once by a barrier, each making this process's first
/// call into the crate through a different entry point; all must compute exact
/// results and agree on the dispatched ISA (the one the parent expects).
fn first_call_race() {
    let expect: Isa = std::env::var(EXPECT).unwrap().parse().unwrap();
    let barrier = Arc::new(Barrier::new(RACERS));
    let handles: Vec<_> = (0..RACERS)
        .map(|t| {
            let b = Arc::clone(&barrier);
            std::thread::spawn(move || {
                let x: Vec<f32> = (0..37)
                    .map(|i| match i % 9 {
                        0 => f32::NAN,
                        1 => -0.0,
                        2 => f32::from_bits(0x7f80_0001), // signalling NaN
                        _ => (i as f32 - 18.0) * 0.75,
                    })
                    .collect();
                let relu = Activation::relu();
                let expect_relu: Vec<u32> = x
                    .iter()
                    .map(|&v| relu.oracle_forward(v).unwrap().to_bits())
                    .collect();
                let q: Vec<u8> = (0..53).map(|i| (i * 5) as u8).collect();
                let mut y = vec![7.0f32; x.len()];
                b.wait();
                // Every racer's first call, through different entry points.
                match t % 4 {
                    0 => caffe2op_relu::relu(&x, &mut y).unwrap(),
                    1 => {
                        y.copy_from_slice(&x);
                        caffe2op_relu::relu_in_place(&mut y);
                    }
                    2 => Kernel::new(relu).forward(&x, &mut y).unwrap(),
                    _ => {
                        let mut qy = vec![0u8; q.len()];
                        caffe2op_relu::int8_relu(&q, &mut qy, 100).unwrap();
                        let want: Vec<u8> = q.iter().map(|&v| v.max(100)).collect();
                        assert_eq!(qy, want);
                        caffe2op_relu::relu(&x, &mut y).unwrap();
                    }
                }
                assert_eq!(bits(&y), expect_relu, "racer {t}");
                (Isa::dispatched(), Kernel::new(relu).isa())
            })
        })
        .collect();
    for h in handles {
        let (a, b) = h.join().unwrap();
        assert_eq!((a, b), (expect, expect));
    }
}

fn thread_count() -> usize {
    std::fs::read_dir("/proc/self/task").unwrap().count()
}

/// Calls from inside the pools of `pool_sizes` (including from `par_iter`
/// bodies) run on those pools: no thread is started, in particular not rayon's
/// global pool. Then a call outside any pool does start the global pool, which shows
/// the count would have seen it.
fn pools_start_no_threads() {
    let pools: Vec<rayon::ThreadPool> = pool_sizes()
        .iter()
        .map(|&n| {
            rayon::ThreadPoolBuilder::new()
                .num_threads(n)
                .build()
                .unwrap()
        })
        .collect();
    let len = big_len::<f32>();
    let mut rng = Rng(0x7e7e);
    let x: Vec<f32> = values(&mut rng, len, 2.5);
    let dy: Vec<f32> = values(&mut rng, len, 1.0);
    let before = thread_count();
    for pool in &pools {
        pool.install(|| {
            for act in acts() {
                check_all(&Kernel::new(act), &x, &dy, "pool");
            }
            (0..4).into_par_iter().for_each(|i| {
                check_all(&Kernel::new(acts()[i % 3]), &x, &dy, "par_iter in pool");
            });
        });
    }
    let after = thread_count();
    assert_eq!(after, before, "calls inside pools started threads");
    // Outside any pool, a large call runs on the global pool (RAYON_NUM_THREADS=5 in
    // this child): the count sees its threads.
    check_all(&Kernel::new(Activation::relu()), &x, &dy, "global pool");
    assert_eq!(
        thread_count(),
        before + 5,
        "the global pool did not show up"
    );
}

/// Runs the child `mode` with `env`, returning its stderr; panics if it failed.
fn run_child(mode: &str, env: &[(&str, &str)]) -> String {
    let mut cmd = Command::new(std::env::current_exe().unwrap());
    cmd.args([
        "--exact",
        "child_process",
        "--nocapture",
        "--test-threads=1",
    ])
    .env(CHILD, mode)
    .env_remove(ISA_ENV_VAR);
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(
        out.status.success(),
        "child {mode} {env:?} failed:\n{}\n{stderr}",
        String::from_utf8_lossy(&out.stdout)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("1 passed"),
        "child {mode} did not run its test: {stdout}"
    );
    stderr
}

// Re-executing the test binary needs a native one (not qemu-user): x86_64 only.
#[cfg(target_arch = "x86_64")]
#[test]
fn racing_first_calls_in_fresh_processes() {
    let best = Isa::detected();
    for _round in 0..3 {
        // No override: everyone gets the detected ISA, nobody warns.
        let err = run_child("first_call", &[(EXPECT, best.name())]);
        assert!(!err.contains("caffe2op-relu:"), "unexpected warning: {err}");
        // Each available ISA as the cap.
        for isa in Isa::available() {
            let err = run_child(
                "first_call",
                &[(EXPECT, isa.name()), (ISA_ENV_VAR, isa.name())],
            );
            assert!(!err.contains("caffe2op-relu:"), "unexpected warning: {err}");
        }
        // A bad name and an unavailable ISA: 16 racing first calls, one warning.
        for bad in ["bogus", "neon"] {
            let err = run_child("first_call", &[(EXPECT, best.name()), (ISA_ENV_VAR, bad)]);
            assert_eq!(
                err.matches("caffe2op-relu:").count(),
                1,
                "{bad}: warned other than once: {err}"
            );
        }
    }
}

#[cfg(all(target_arch = "x86_64", target_os = "linux"))]
#[test]
fn calls_inside_pools_start_no_threads() {
    run_child("threads", &[("RAYON_NUM_THREADS", "5")]);
}

// ---------------------------------------------------------------------------------
// In-process tests
// ---------------------------------------------------------------------------------

fn in_pools<T: TestElem>() {
    let len = big_len::<T>();
    let mut rng = Rng(0x9001 ^ size_of::<T>() as u64);
    let x: Vec<T> = values(&mut rng, len, 2.5);
    let dy: Vec<T> = values(&mut rng, len, 1.0);
    for &size in pool_sizes() {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(size)
            .build()
            .unwrap();
        pool.install(|| {
            assert_eq!(rayon::current_num_threads(), size);
            for act in acts() {
                // Every ISA in one pool size (f32 only); the default dispatch otherwise.
                let isas = if size == 3 && size_of::<T>() == 4 {
                    threaded_isas()
                } else {
                    vec![Isa::dispatched()]
                };
                for isa in isas {
                    let k = Kernel::new(act).with_isa(isa).unwrap();
                    // Work is split only in a pool with more than one thread (the
                    // pieces then run on that pool's workers: see the thread count
                    // checked in `calls_inside_pools_start_no_threads`).
                    let pieces = k.pieces::<T>(len);
                    assert!(pieces >= 1, "{pieces} pieces");
                    assert!(size > 1 || pieces == 1, "{pieces} pieces in a pool of 1");
                    check_all(&k, &x, &dy, &format!("pool of {size}"));
                }
            }
        });
    }
}

#[test]
fn calls_inside_pools_of_every_size_f32() {
    in_pools::<f32>();
}

#[test]
fn calls_inside_pools_of_every_size_f64() {
    in_pools::<f64>();
}

#[test]
fn calls_inside_pools_of_every_size_f16() {
    in_pools::<half::f16>();
}

/// Threaded calls from inside `par_iter` bodies (nested parallelism in one pool, and
/// on the global pool): no deadlock, exact results, every body runs.
#[test]
fn calls_from_par_iter_bodies() {
    let len = big_len::<f32>();
    let mut rng = Rng(0xbeef);
    let x: Vec<f32> = values(&mut rng, len, 2.5);
    let dy: Vec<f32> = values(&mut rng, len, 1.0);
    let done = AtomicUsize::new(0);
    let body = |i: usize| {
        let k = Kernel::new(acts()[i % 3]);
        check_all(&k, &x, &dy, &format!("par_iter body {i}"));
        done.fetch_add(1, Ordering::Relaxed);
    };
    for &size in pool_sizes() {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(size)
            .build()
            .unwrap();
        pool.install(|| (0..6).into_par_iter().for_each(body));
    }
    (0..4).into_par_iter().for_each(body);
    // Two levels of nesting: par_iter bodies that run par_iters of calls.
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(3)
        .build()
        .unwrap();
    pool.install(|| {
        (0..3)
            .into_par_iter()
            .for_each(|i| (0..2).into_par_iter().for_each(|j| body(i * 2 + j)))
    });
    assert_eq!(done.load(Ordering::Relaxed), pool_sizes().len() * 6 + 4 + 6);
}

/// One `Kernel` value shared by reference between many threads, every ISA, small
/// and threaded lengths, every element type.
#[test]
fn one_kernel_shared_by_many_threads() {
    for act in acts() {
        let ks: Vec<Kernel> = Isa::available()
            .into_iter()
            .map(|i| Kernel::new(act).with_isa(i).unwrap())
            .collect();
        std::thread::scope(|s| {
            for t in 0..8usize {
                let ks = &ks;
                s.spawn(move || {
                    let mut rng = Rng(t as u64 * 31 + 1);
                    for (n, k) in ks.iter().enumerate() {
                        let len = [0usize, 1, 17, 100, 1000, 4099][(t + n) % 6];
                        let x: Vec<f32> = values_for(&mut rng, len, &act);
                        let dy: Vec<f32> = values(&mut rng, len, 1.0);
                        check_all(k, &x, &dy, "shared f32");
                        let x: Vec<half::bf16> = values_for(&mut rng, len, &act);
                        let dy: Vec<half::bf16> = values(&mut rng, len, 1.0);
                        check_all(k, &x, &dy, "shared bf16");
                        let x: Vec<f64> = values_for(&mut rng, len, &act);
                        let dy: Vec<f64> = values(&mut rng, len, 1.0);
                        check_all(k, &x, &dy, "shared f64");
                    }
                });
            }
        });
    }
}

/// The process-wide parallel and streaming thresholds changed back and forth while
/// other threads run calls at lengths where the changes switch paths (serial vs
/// split, cached vs streaming stores): results stay exact. Bounded: the toggler
/// stops when the workers are done.
#[test]
fn thresholds_changed_while_calls_run() {
    let (par0, stream0) = (
        caffe2op_relu::tuning::parallel_min_bytes(),
        caffe2op_relu::tuning::stream_min_bytes(),
    );
    // 200k f32: 1.6 MB moved by a forward call, serial at the default parallel
    // threshold (2 MiB) and split at 0; an 800 kB output streams at threshold 0.
    let len = 200_000;
    let mut rng = Rng(0x7099);
    let x: Vec<f32> = values(&mut rng, len, 2.5);
    let dy: Vec<f32> = values(&mut rng, len, 1.0);
    let stop = AtomicBool::new(false);
    let flips = AtomicUsize::new(0);
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(4)
        .build()
        .unwrap();
    std::thread::scope(|s| {
        s.spawn(|| {
            let mut i = 0usize;
            while !stop.load(Ordering::Relaxed) {
                caffe2op_relu::tuning::set_parallel_min_bytes(if i.is_multiple_of(2) {
                    0
                } else {
                    par0
                });
                caffe2op_relu::tuning::set_stream_min_bytes(if i.is_multiple_of(3) {
                    0
                } else {
                    stream0
                });
                i += 1;
                std::thread::yield_now();
            }
            flips.store(i, Ordering::Relaxed);
        });
        let workers: Vec<_> = (0..3)
            .map(|w| {
                let (x, dy, pool) = (&x, &dy, &pool);
                s.spawn(move || {
                    pool.install(|| {
                        for r in 0..4 {
                            for act in acts() {
                                let isas = Isa::available();
                                let k = Kernel::new(act).with_isa(isas[(w + r) % isas.len()]);
                                check_all(&k.unwrap(), x, dy, "thresholds toggled");
                            }
                        }
                    })
                })
            })
            .collect();
        for w in workers {
            w.join().unwrap();
        }
        stop.store(true, Ordering::Relaxed);
    });
    caffe2op_relu::tuning::set_parallel_min_bytes(par0);
    caffe2op_relu::tuning::set_stream_min_bytes(stream0);
    assert!(flips.load(Ordering::Relaxed) > 0);
}

/// Independent workspaces running the same net on many threads at once give the
/// same blobs as one thread does.
#[test]
fn workspaces_on_many_threads() {
    let net = NetDef::new("n")
        .op(OperatorDef::new("ReluN")
            .input("X")
            .output("Y")
            .arg("n", 3.0))
        .op(OperatorDef::new("LeakyRelu")
            .input("Y")
            .output("Z")
            .arg("alpha", 0.5))
        .op(OperatorDef::new("LeakyReluGradient")
            .input("Z")
            .input("X")
            .output("G")
            .arg("alpha", 0.5));
    let mut rng = Rng(3);
    let x: Vec<f32> = values(&mut rng, 5000, 3.0);
    let mut reference = Workspace::new();
    reference.feed_blob("X", Tensor::from_vec([50, 100], x).unwrap());
    let base = reference.clone();
    reference.run_net(&net).unwrap();
    let results: Vec<Workspace> = std::thread::scope(|s| {
        let hs: Vec<_> = (0..8)
            .map(|_| {
                let (mut ws, net) = (base.clone(), &net);
                s.spawn(move || {
                    ws.run_net(net).unwrap();
                    ws
                })
            })
            .collect();
        hs.into_iter().map(|h| h.join().unwrap()).collect()
    });
    for ws in results {
        assert!(ws == reference);
    }
    // A workspace moves between threads.
    let moved = std::thread::spawn(move || {
        let mut ws = base;
        ws.run_net(&net).unwrap();
        ws
    })
    .join()
    .unwrap();
    assert!(moved == reference);
}
