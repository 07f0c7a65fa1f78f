//! The sweeps of a full run: calls on tiny inputs, output placement in cache, the
//! AVX-512 main-loop width, and the streaming and threading thresholds.

use std::hint::black_box;
use std::time::Instant;

use caffe2op_relu::{Activation, Element, Isa, Kernel, Threads, autovec};
use rayon::prelude::*;

use crate::cells::own_compiler_loop;
use crate::cli::full_sizes;
use crate::measure::{SHUFFLE_SEED, fill, median, shuffle};
use crate::tables::fmt_size;

/// The naive loops, called directly (baseline target, no dispatch, no checks).
#[inline(never)]
fn naive_relu(x: &[f32], y: &mut [f32]) {
    for (o, &v) in y.iter_mut().zip(x) {
        *o = if v < 0.0 { 0.0 } else { v };
    }
}

#[inline(never)]
fn naive_leaky_relu(x: &[f32], y: &mut [f32], alpha: f32) {
    for (o, &v) in y.iter_mut().zip(x) {
        *o = if v < 0.0 { alpha * v } else { v };
    }
}

/// The naive 16-bit loop a user of `half` writes (its types' own compare and
/// product, the slope already in the type).
#[inline(never)]
fn naive_leaky_relu_16<T: Copy + PartialOrd + Default + std::ops::Mul<Output = T>>(
    x: &[T],
    y: &mut [T],
    alpha: T,
) {
    for (o, &v) in y.iter_mut().zip(x) {
        *o = if v < T::default() { alpha * v } else { v };
    }
}

#[inline(never)]
fn naive_clip(x: &[f32], y: &mut [f32], lo: f32, hi: f32) {
    for (o, &v) in y.iter_mut().zip(x) {
        *o = if v < lo {
            lo
        } else if v > hi {
            hi
        } else {
            v
        };
    }
}

/// Time per call (ns) for tiny inputs: the crate's free functions (relu, and
/// leaky_relu and clip, whose parameters each call checks and rounds) vs the naive
/// loops.
pub fn small_calls(isa: Isa) {
    println!(
        "\nsmall inputs (out of place): ns per call of the free functions, crate default dispatch ({isa}; the oracle inline up to 256 bytes of f32; 16-bit leaky_relu up to 32 bf16, 4 f16) vs a direct call of the naive loop"
    );
    small_call_rows(
        "relu",
        |x, y| caffe2op_relu::relu(black_box(x), black_box(y)).unwrap(),
        |x, y| naive_relu(black_box(x), black_box(y)),
    );
    small_call_rows(
        "leaky_relu(0.01)",
        |x, y| caffe2op_relu::leaky_relu(black_box(x), black_box(y), black_box(0.01)).unwrap(),
        |x, y| naive_leaky_relu(black_box(x), black_box(y), black_box(0.01)),
    );
    small_call_rows(
        "clip(-1, 1)",
        |x, y| {
            caffe2op_relu::clip(black_box(x), black_box(y), black_box(-1.0), black_box(1.0))
                .unwrap()
        },
        |x, y| naive_clip(black_box(x), black_box(y), black_box(-1.0), black_box(1.0)),
    );
    small_call_rows(
        "bf16 leaky_relu",
        |x, y| caffe2op_relu::leaky_relu(black_box(x), black_box(y), black_box(0.01)).unwrap(),
        |x, y| {
            naive_leaky_relu_16(
                black_box(x),
                black_box(y),
                black_box(half::bf16::from_f32(0.01)),
            )
        },
    );
    small_call_rows(
        "f16 leaky_relu",
        |x, y| caffe2op_relu::leaky_relu(black_box(x), black_box(y), black_box(0.01)).unwrap(),
        |x, y| {
            naive_leaky_relu_16(
                black_box(x),
                black_box(y),
                black_box(half::f16::from_f32(0.01)),
            )
        },
    );
}

/// The most a small call may take, as a multiple of the naive loop's time.
const SMALL_CALL_TARGET: f64 = 1.5;

/// One op's rows of [`small_calls`]: both closures are inlined into their timing
/// loops, so the crate's call sits at its call site as in a user's code, and the
/// naive loop is one direct call.
fn small_call_rows<T: Element>(
    name: &str,
    krate: impl Fn(&[T], &mut [T]),
    naive: impl Fn(&[T], &mut [T]),
) {
    for n in [1usize, 8, 64] {
        let x: Vec<T> = fill(n, 5, 4.0);
        let mut y = vec![T::default(); n];
        let reps = 2_000_000u32;
        let mut best = [f64::MAX; 2];
        for _ in 0..5 {
            let t = Instant::now();
            for _ in 0..reps {
                krate(&x, &mut y);
            }
            best[0] = best[0].min(t.elapsed().as_secs_f64() / reps as f64 * 1e9);
            let t = Instant::now();
            for _ in 0..reps {
                naive(&x, &mut y);
            }
            best[1] = best[1].min(t.elapsed().as_secs_f64() / reps as f64 * 1e9);
        }
        let ratio = best[0] / best[1];
        println!(
            "  {name:<16} n = {n:>3}: crate {:>6.2} ns, naive {:>6.2} ns, ratio {ratio:.2}{}",
            best[0],
            best[1],
            if ratio > SMALL_CALL_TARGET {
                " (above the 1.5x target)"
            } else {
                ""
            }
        );
    }
}

/// In-cache copies depend on where the output sits relative to the input (4 KiB
/// aliasing, cache-line splits): f32 relu at 4 KiB and 16 KiB with the output placed
/// `d` bytes above the input modulo 4096, in one allocation, next to
/// `copy_from_slice` between the same two ranges.
pub fn layouts(isas: &[Isa], quick: bool) {
    type Variant = (String, Box<dyn Fn(&[f32], &mut [f32])>);
    let kernels: Vec<Variant> = isas
        .iter()
        .filter(|&&i| own_compiler_loop(i))
        .flat_map(|&isa| {
            let k = Kernel::new(Activation::relu())
                .with_isa(isa)
                .unwrap()
                .with_threads(Threads::Serial);
            let act = Activation::relu();
            [
                (
                    isa.to_string(),
                    Box::new(move |x: &[f32], y: &mut [f32]| k.forward(x, y).unwrap())
                        as Box<dyn Fn(&[f32], &mut [f32])>,
                ),
                (
                    format!("naive-{isa}"),
                    Box::new(move |x: &[f32], y: &mut [f32]| {
                        autovec::forward(isa, act, x, y).unwrap()
                    }),
                ),
            ]
        })
        .collect();
    if kernels.is_empty() {
        return; // no ISA here has a compiler loop of its own to compare
    }
    let ds: &[usize] = if quick {
        &[0, 16, 384, 4032]
    } else {
        &[0, 16, 64, 384, 1024, 2048, 3072, 4032, 4080]
    };
    println!(
        "\nlayout: f32 relu, GB/s (ratio to memcpy), output d bytes above the input mod 4096, input 16 bytes past a line"
    );
    for b in [4usize << 10, 16 << 10] {
        let n = b / 4;
        let mut buf: Vec<f32> = fill(3 * n + 4096, 9, 16.0);
        let x0 = (16 - (buf.as_ptr() as usize % 64) / 4) % 16 + 4;
        print!("{:>6} {:>5}", fmt_size(b), "d");
        print!(" {:>14}", "memcpy");
        for (name, _) in &kernels {
            print!(" {name:>14}");
        }
        println!();
        let mut worst = vec![f64::MAX; kernels.len()];
        for &d in ds {
            let y0 = x0 + n + 1024 + d / 4 - n % 1024;
            let (a, rest) = buf.split_at_mut(y0);
            let (x, y) = (&a[x0..x0 + n], &mut rest[..n]);
            let reps = ((2 << 20) / b) as u32;
            let mut t = vec![Vec::new(); kernels.len() + 1];
            for _ in 0..if quick { 3 } else { 7 } {
                let s = Instant::now();
                for _ in 0..reps {
                    black_box(&mut *y).copy_from_slice(black_box(x));
                }
                t[0].push(s.elapsed().as_secs_f64() / reps as f64);
                for (j, (_, f)) in kernels.iter().enumerate() {
                    let s = Instant::now();
                    for _ in 0..reps {
                        f(black_box(x), black_box(&mut *y));
                    }
                    t[j + 1].push(s.elapsed().as_secs_f64() / reps as f64);
                }
            }
            let g: Vec<f64> = t
                .iter_mut()
                .map(|v| 2.0 * b as f64 / median(v) / 1e9)
                .collect();
            print!("{:>6} {d:>5} {:>14.1}", "", g[0]);
            for j in 0..kernels.len() {
                let r = g[j + 1] / g[0];
                worst[j] = worst[j].min(r);
                print!(" {:>7.1} ({r:.2})", g[j + 1]);
            }
            println!();
        }
        print!("{:>6} {:>5} {:>14}", "", "worst", "");
        for w in worst {
            print!(" {:>14}", format!("({w:.2})"));
        }
        println!();
    }
}

/// The measurements behind `avx512_ymm_loops`: f32 on AVX-512 with 256-bit and with
/// 512-bit main loops, interleaved. In L1 and L2 the figure is the geometric mean
/// over output placements (as in the layout table), since there the placement
/// decides more than the width.
pub fn widths(quick: bool) {
    let default = caffe2op_relu::tuning::avx512_ymm_loops();
    caffe2op_relu::tuning::set_avx512_ymm_loops(true);
    if !Isa::Avx512.is_available() || !caffe2op_relu::tuning::avx512_ymm_loops() {
        caffe2op_relu::tuning::set_avx512_ymm_loops(default);
        return;
    }
    let sizes: Vec<usize> = if quick {
        vec![16 << 10, 4 << 20]
    } else {
        full_sizes()
            .into_iter()
            .filter(|&b| b <= 256 << 20)
            .collect()
    };
    let funcs = [
        Activation::relu(),
        Activation::relu_n(6.0).unwrap(),
        Activation::leaky_relu(0.01).unwrap(),
    ];
    println!(
        "
vector width, f32 on avx512: GB/s with 256-bit / 512-bit main loops (ratio); \
         up to 256K the geometric mean over 8 output placements (default here: {})",
        if default { "256-bit" } else { "512-bit" }
    );
    println!(
        "{:>8} {:>22} {:>22} {:>22} {:>22} {:>22}",
        "buffer", "relu", "leaky_relu", "relu_grad", "relu_n_grad", "leaky_relu_grad (*)"
    );
    for &b in &sizes {
        let n = b / 4;
        let placements: Vec<usize> = if b <= 256 << 10 && !quick {
            (0..8).map(|k| k * 528).collect()
        } else {
            vec![0]
        };
        let mut buf: Vec<f32> = fill(3 * n + 8192, 11, 16.0);
        let dy: Vec<f32> = fill(n, 12, 2.0);
        let reps = (((32 << 20) / b).max(1)) as u32;
        let mut line = format!("{:>8}", fmt_size(b));
        for (act, grad) in [
            (funcs[0], false),
            (funcs[2], false),
            (funcs[0], true),
            (funcs[1], true),
            (funcs[2], true),
        ] {
            let k = Kernel::new(act)
                .with_isa(Isa::Avx512)
                .unwrap()
                .with_threads(Threads::Serial);
            let (mut l256, mut l512) = (0.0, 0.0);
            for &d in &placements {
                let x0 = (16 - (buf.as_ptr() as usize % 64) / 4) % 16 + 4;
                let y0 = x0 + n + 1024 + d / 4 - n % 1024;
                let (a, rest) = buf.split_at_mut(y0);
                let (x, y) = (&a[x0..x0 + n], &mut rest[..n]);
                let (t256, t512) = ab(if quick { 3 } else { 7 }, reps, |w| {
                    caffe2op_relu::tuning::set_avx512_ymm_loops(w);
                    if grad {
                        k.backward(x, &dy, &mut *y).unwrap()
                    } else {
                        k.forward(x, &mut *y).unwrap()
                    }
                });
                l256 += t256.ln();
                l512 += t512.ln();
            }
            let m = placements.len() as f64;
            let bytes = (if grad { 3 } else { 2 } * b) as f64;
            let (g256, g512) = (
                bytes / (l256 / m).exp() / 1e9,
                bytes / (l512 / m).exp() / 1e9,
            );
            line += &format!(
                " {:>22}",
                format!("{g256:.1} /{g512:>6.1} ({:.2}x)", g256 / g512)
            );
        }
        println!("{line}");
    }
    println!(
        "(*) below 1M runs the same 512-bit loop either way (two copies at different \
         addresses): its spread there is the code-placement noise"
    );
    caffe2op_relu::tuning::set_avx512_ymm_loops(default);
}

/// Measures `a` and `b` alternately, `samples` rounds; returns median seconds of each.
/// `f(true)` is variant a, `f(false)` variant b.
fn ab(samples: usize, reps: u32, mut f: impl FnMut(bool)) -> (f64, f64) {
    let (mut ta, mut tb) = (Vec::new(), Vec::new());
    for _ in 0..samples {
        for (which, times) in [(true, &mut ta), (false, &mut tb)] {
            let t = Instant::now();
            for _ in 0..reps {
                f(which);
            }
            times.push(t.elapsed().as_secs_f64() / reps as f64);
        }
    }
    (median(&mut ta), median(&mut tb))
}

/// The measurements behind the two thresholds: non-temporal stores on/off (on one
/// thread and split across the pool) and `Threads::Auto` on/off, per buffer size, f32
/// on the best ISA.
pub fn thresholds(isa: Isa, quick: bool) {
    let sizes: Vec<usize> = if quick {
        vec![8 << 20, 64 << 20]
    } else {
        vec![
            1 << 20,
            2 << 20,
            4 << 20,
            8 << 20,
            12 << 20,
            16 << 20,
            24 << 20,
            32 << 20,
            64 << 20,
            256 << 20,
        ]
    };
    let workers = rayon::current_num_threads();
    println!(
        "\nnon-temporal stores, f32 on {isa}: GB/s with / without (ratio), on 1 thread and \
         split across {workers} rayon threads"
    );
    println!(
        "{:>8} {:>24} {:>24} {:>24} {:>24}",
        "buffer",
        "relu, 1 thread",
        "relu_grad, 1 thread",
        format!("relu, {workers} threads"),
        format!("relu_grad, {workers} threads")
    );
    let saved = Thresholds::save();
    caffe2op_relu::tuning::set_parallel_min_bytes(0);
    for &b in &sizes {
        let n = b / 4;
        let x: Vec<f32> = fill(n, 1, 16.0);
        let dy: Vec<f32> = fill(n, 2, 2.0);
        let mut y = vec![0.0f32; n];
        let k = Kernel::new(Activation::relu()).with_isa(isa).unwrap();
        let reps = (((64 << 20) / b).max(1)) as u32;
        let mut cell = |grad: bool, threads: Threads| {
            let k = k.with_threads(threads);
            let mut run = |nt: bool| {
                caffe2op_relu::tuning::set_stream_min_bytes(if nt { 0 } else { usize::MAX });
                if grad {
                    k.backward(&x, &dy, &mut y).unwrap()
                } else {
                    k.forward(&x, &mut y).unwrap()
                }
            };
            let (t_nt, t_plain) = ab(if quick { 3 } else { 7 }, reps, &mut run);
            let bytes = (if grad { 3 } else { 2 } * b) as f64;
            let (g1, g2) = (bytes / t_nt / 1e9, bytes / t_plain / 1e9);
            format!("{g1:>7.1} /{g2:>6.1} ({:.2}x)", g1 / g2)
        };
        let (c1, c2) = (cell(false, Threads::Serial), cell(true, Threads::Serial));
        let (c3, c4) = if workers > 1 {
            (cell(false, Threads::Auto), cell(true, Threads::Auto))
        } else {
            ("-".into(), "-".into())
        };
        println!("{:>8} {c1:>24} {c2:>24} {c3:>24} {c4:>24}", fmt_size(b));
    }
    caffe2op_relu::tuning::set_stream_min_bytes(caffe2op_relu::tuning::DEFAULT_STREAM_MIN_BYTES);
    saved.restore();

    threads(isa, quick);
}

/// `Threads::Auto` against one thread and against a plain rayon loop, f32 relu and
/// relu_grad on `isa`, per buffer size: the crate with its threshold
/// (`Threads::Auto`), the same with every call split (threshold 0), one thread, and
/// the compiler's loop for `isa` over `par_chunks` of an equal share per thread (what
/// a user writes with rayon). The four interleaved, medians.
pub fn threads(isa: Isa, quick: bool) {
    let workers = rayon::current_num_threads();
    if workers < 2 {
        println!("\nthreads: one rayon thread here, no thread sweep");
        return;
    }
    let sizes: Vec<usize> = if quick {
        vec![256 << 10, 1 << 20, 4 << 20, 16 << 20]
    } else {
        vec![
            64 << 10,
            256 << 10,
            512 << 10,
            768 << 10,
            1 << 20,
            1536 << 10,
            2 << 20,
            4 << 20,
            8 << 20,
            16 << 20,
            64 << 20,
            256 << 20,
        ]
    };
    let act = Activation::relu();
    let saved = Thresholds::save();
    for grad in [false, true] {
        println!(
            "\nthreads, f32 {} on {isa} ({workers} rayon threads): GB/s, medians of \
             interleaved samples; auto = Threads::Auto (split from {} of buffers, from {} in \
             bursts: a sample's calls are back to back), split = every call split, rayon = the \
             compiler's loop over par_chunks",
            if grad { "relu_grad" } else { "relu" },
            fmt_size(saved.0),
            fmt_size(caffe2op_relu::tuning::burst_min_bytes().min(saved.0))
        );
        println!(
            "{:>8} {:>8} {:>8} {:>8} {:>8} {:>12} {:>12} {:>12}",
            "buffer",
            "serial",
            "auto",
            "split",
            "rayon",
            "auto/serial",
            "auto/rayon",
            "split/serial"
        );
        for &b in &sizes {
            let n = b / 4;
            let x: Vec<f32> = fill(n, 1, 16.0);
            let dy: Vec<f32> = fill(n, 2, 2.0);
            let mut y = vec![0.0f32; n];
            let k = Kernel::new(act).with_isa(isa).unwrap();
            let ks = k.with_threads(Threads::Serial);
            let chunk = n.div_ceil(workers);
            let call = |k: &Kernel, y: &mut [f32]| {
                if grad {
                    k.backward(&x, &dy, y).unwrap()
                } else {
                    k.forward(&x, y).unwrap()
                }
            };
            let reps = (((32 << 20) / b).max(1)) as u32;
            let t = interleaved(if quick { 5 } else { 11 }, reps, 4, |v| match v {
                0 => call(&ks, &mut y),
                1 => call(&k, &mut y),
                2 => saved.split_every_call(|| call(&k, &mut y)),
                _ if grad => x
                    .par_chunks(chunk)
                    .zip(dy.par_chunks(chunk))
                    .zip(y.par_chunks_mut(chunk))
                    .for_each(|((x, dy), y)| autovec::backward(isa, act, x, dy, y).unwrap()),
                _ => x
                    .par_chunks(chunk)
                    .zip(y.par_chunks_mut(chunk))
                    .for_each(|(x, y)| autovec::forward(isa, act, x, y).unwrap()),
            });
            let bytes = (if grad { 3 } else { 2 } * b) as f64;
            threads_row(b, t.map(|t| bytes / t / 1e9));
        }
    }
    println!(
        "\nthreads, f32 relu in place on {isa}, each call on values the calling thread has \
         just written (restored untimed, each call timed alone): GB/s, medians; columns as \
         above, auto splitting from {} in place",
        fmt_size(saved.1)
    );
    println!(
        "{:>8} {:>8} {:>8} {:>8} {:>8} {:>12} {:>12} {:>12}",
        "buffer", "serial", "auto", "split", "rayon", "auto/serial", "auto/rayon", "split/serial"
    );
    for &b in &sizes {
        let n = b / 4;
        let x: Vec<f32> = fill(n, 1, 16.0);
        let mut y = x.clone();
        let k = Kernel::new(act).with_isa(isa).unwrap();
        let ks = k.with_threads(Threads::Serial);
        let chunk = n.div_ceil(workers);
        let reps = (((32 << 20) / b).clamp(1, 256)) as u32;
        let t = interleaved_fresh(
            if quick { 5 } else { 11 },
            reps,
            &mut y,
            |y| y.copy_from_slice(&x),
            |v, y| match v {
                0 => ks.forward_in_place(y).unwrap(),
                1 => k.forward_in_place(y).unwrap(),
                2 => saved.split_every_call(|| k.forward_in_place(y).unwrap()),
                _ => y
                    .par_chunks_mut(chunk)
                    .for_each(|y| autovec::forward_in_place(isa, act, y).unwrap()),
            },
        );
        threads_row(b, t.map(|t| 2.0 * b as f64 / t / 1e9));
    }
}

/// One row of the threads tables: GB/s of serial, auto, split and rayon, and ratios.
fn threads_row(b: usize, g: [f64; 4]) {
    println!(
        "{:>8} {:>8.1} {:>8.1} {:>8.1} {:>8.1} {:>11.2}x {:>11.2}x {:>11.2}x",
        fmt_size(b),
        g[0],
        g[1],
        g[2],
        g[3],
        g[1] / g[0],
        g[1] / g[3],
        g[2] / g[0]
    );
}

/// [`interleaved`] for in-place calls on fresh values: before every call `restore`
/// rewrites the buffer (untimed), and each call is timed alone.
fn interleaved_fresh(
    samples: usize,
    reps: u32,
    y: &mut [f32],
    restore: impl Fn(&mut [f32]),
    mut f: impl FnMut(usize, &mut [f32]),
) -> [f64; 4] {
    let mut times = vec![Vec::new(); 4];
    let mut order: Vec<usize> = (0..4).collect();
    let mut seed = SHUFFLE_SEED;
    for _ in 0..samples {
        shuffle(&mut order, &mut seed);
        for &v in &order {
            let mut secs = 0.0;
            for _ in 0..reps {
                restore(y);
                let t = Instant::now();
                f(v, y);
                secs += t.elapsed().as_secs_f64();
            }
            times[v].push(secs / f64::from(reps));
        }
    }
    let mut out = [f64::NAN; 4];
    for (o, t) in out.iter_mut().zip(&mut times) {
        *o = median(t);
    }
    out
}

/// Measures `variants` variants, `samples` rounds of `reps` calls each, in a new
/// order each round (the variant before leaves the caches in its own state: a serial
/// call leaves the whole buffer in one core's L2, a split one half in each), and
/// returns each one's median seconds per call.
fn interleaved(samples: usize, reps: u32, variants: usize, mut f: impl FnMut(usize)) -> [f64; 4] {
    let mut times = vec![Vec::new(); variants];
    let mut order: Vec<usize> = (0..variants).collect();
    let mut seed = SHUFFLE_SEED;
    for _ in 0..samples {
        shuffle(&mut order, &mut seed);
        for &v in &order {
            // One untimed call leaves the caches as this variant keeps them.
            f(v);
            let t = Instant::now();
            for _ in 0..reps {
                f(v);
            }
            times[v].push(t.elapsed().as_secs_f64() / reps as f64);
        }
    }
    let mut out = [f64::NAN; 4];
    for (o, t) in out.iter_mut().zip(&mut times) {
        *o = median(t);
    }
    out
}

/// The two thread thresholds (out of place, in place), saved to be restored.
#[derive(Clone, Copy)]
struct Thresholds(usize, usize);

impl Thresholds {
    fn save() -> Thresholds {
        Thresholds(
            caffe2op_relu::tuning::parallel_min_bytes(),
            caffe2op_relu::tuning::parallel_min_bytes_in_place(),
        )
    }

    fn restore(self) {
        caffe2op_relu::tuning::set_parallel_min_bytes(self.0);
        caffe2op_relu::tuning::set_parallel_min_bytes_in_place(self.1);
    }

    /// `f` with every call split, then these thresholds back.
    fn split_every_call<R>(self, f: impl FnOnce() -> R) -> R {
        caffe2op_relu::tuning::set_parallel_min_bytes(0);
        let r = f();
        self.restore();
        r
    }
}
