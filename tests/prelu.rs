//! PRelu and its gradients on every available ISA against the oracle, bit for bit:
//! the kernels directly at every length up to 260 with every slope pattern (channels
//! last and first, few and many channels, every phase of a call's start), the safe
//! API on NCHW and NHWC shapes (C = 1, 3, 16, 17; H*W from 1 to a few hundred) out of
//! place, in place and aliased, the slope gradient for 1, 2, 3 and 8 threads, the
//! summation order worked by hand, and the refusals (nothing written).

mod common;

use std::cell::Cell;

use caffe2op_relu::{Element, Error, Isa, Order, Prelu, Threads};
use caffe2op_relu_kernels::ops::Channel;
use caffe2op_relu_kernels::prelu::{self as kp, DwElem, Shape};
use common::{Rng, TestElem, bits_eq, in_pool, light, offsets, values};

/// The slope of element `i` of a tensor of `shape` (the test's own index arithmetic).
fn slope_of<T: Copy>(w: &[T], shape: &Shape, i: usize) -> T {
    w[(i / shape.inner) % shape.count]
}

/// Slopes worth testing: negative, zero, above 1, subnormal, and random finite ones.
fn slopes<T: TestElem>(rng: &mut Rng, n: usize) -> Vec<T> {
    let fixed = [-0.25, 0.0, -0.0, 0.01, 1.0, 3.5, -7.0, 1e-40, -1e-310, 0.5];
    (0..n)
        .map(|_| {
            loop {
                let v = if rng.below(3) == 0 {
                    T::from_f64(fixed[rng.below(fixed.len())])
                } else {
                    let around = rng.uniform(-4.0, 4.0);
                    T::near(rng, around)
                };
                if v.to_f64().is_finite() {
                    break v;
                }
            }
        })
        .collect()
}

fn assert_same<T: Element>(got: &[T], want: &[T], what: &str) {
    for (i, (&g, &w)) in got.iter().zip(want).enumerate() {
        assert!(
            bits_eq(g, w),
            "{what}: element {i}: got {g:?} ({:?}), want {w:?} ({:?})",
            g.to_bits(),
            w.to_bits()
        );
    }
    assert_eq!(got.len(), want.len(), "{what}: length");
}

/// dW compares bit for bit, except that where the oracle's sum is NaN only NaN is
/// required (which NaN's payload a sum of two NaNs keeps is not specified).
fn assert_dw<T: Element>(got: &[T], want: &[T], what: &str) {
    for (c, (&g, &w)) in got.iter().zip(want).enumerate() {
        if w.to_f64().is_nan() {
            assert!(g.to_f64().is_nan(), "{what}: dw[{c}] = {g:?}, want NaN");
        } else {
            assert!(bits_eq(g, w), "{what}: dw[{c}] = {g:?}, want {w:?}");
        }
    }
}

fn oracle_forward<T: Element>(x: &[T], w: &[T], shape: &Shape) -> Vec<T> {
    (0..x.len())
        .map(|i| {
            T::from_kernel(kp::oracle(
                x[i].to_kernel(),
                slope_of(w, shape, i).to_kernel(),
            ))
        })
        .collect()
}

fn oracle_dx<T: Element>(x: &[T], dy: &[T], w: &[T], shape: &Shape) -> Vec<T> {
    (0..x.len())
        .map(|i| {
            let s = slope_of(w, shape, i).to_kernel();
            T::from_kernel(kp::oracle_grad(x[i].to_kernel(), dy[i].to_kernel(), s))
        })
        .collect()
}

fn oracle_dw<T: Element>(x: &[T], dy: &[T], shape: &Shape) -> Vec<T> {
    let xk: Vec<T::Kernel> = x.iter().map(|v| v.to_kernel()).collect();
    let gk: Vec<T::Kernel> = dy.iter().map(|v| v.to_kernel()).collect();
    let mut scratch = vec![<T::Kernel as DwElem>::ACC_ZERO; shape.blocks()];
    (0..shape.count)
        .map(|c| T::from_kernel(kp::dw_oracle(&xk, &gk, shape, c, &mut scratch)))
        .collect()
}

/// The worked example of `docs/DESIGN.md`: one channel of 17 contributions, 2^24 then
/// sixteen ones. Lane 0 adds 2^24 and 1 (ties to even: 2^24), lanes 1..15 hold 1;
/// the tree gives 2^24 + 1 -> 2^24, 2^24 + 2, 2^24 + 6, 2^24 + 14. A sum in memory
/// order would give 2^24, and the exact sum is 2^24 + 16.
#[test]
fn summation_order_worked_by_hand() {
    let mut x = vec![-1.0f32; 17];
    let mut dy = vec![-1.0f32; 17];
    dy[0] = -16_777_216.0;
    let shape = Shape {
        outer: 1,
        count: 1,
        inner: 17,
    };
    let want = 16_777_216.0f32 + 14.0;
    let mut scratch = [0.0f32; 1];
    assert_eq!(
        kp::dw_oracle(&x, &dy, &shape, 0, &mut scratch).to_bits(),
        want.to_bits()
    );
    for isa in Isa::available() {
        let mut dx = vec![0.0f32; 17];
        let mut dw = [0.0f32];
        Prelu::new(Order::Nchw)
            .with_isa(isa)
            .unwrap()
            .backward(&x, &dy, &[1, 1, 17], &[0.5], &mut dx, &mut dw)
            .unwrap();
        assert_eq!(dw[0].to_bits(), want.to_bits(), "{isa}");
    }
    // Positive x contribute nothing: the same sum with a positive element added
    // anywhere in the block's other lanes.
    x.push(3.0);
    dy.push(1e30);
    let shape = Shape { inner: 18, ..shape };
    let mut scratch = [0.0f32; 1];
    assert_eq!(
        kp::dw_oracle(&x, &dy, &shape, 0, &mut scratch).to_bits(),
        want.to_bits()
    );
}

/// Exact sums (small integers) do not depend on the order: the oracle's dW is then
/// the plain sum over the positions where x is not > 0, channel by channel, in both
/// layouts.
#[test]
fn oracle_dw_sums_the_right_positions() {
    let mut rng = Rng(7);
    for (outer, count, inner) in [(3, 4, 5), (2, 3, 300), (600, 5, 1), (1, 1, 1000)] {
        let n = outer * count * inner;
        let x: Vec<f64> = (0..n).map(|_| rng.below(9) as f64 - 4.0).collect();
        let dy: Vec<f64> = (0..n).map(|_| rng.below(7) as f64 - 3.0).collect();
        let shape = Shape {
            outer,
            count,
            inner,
        };
        let mut want = vec![0.0f64; count];
        for i in 0..n {
            // Small integers: never NaN, so `<= 0` is `not > 0`.
            if x[i] <= 0.0 {
                want[(i / inner) % count] += x[i] * dy[i];
            }
        }
        assert_eq!(oracle_dw(&x, &dy, &shape), want, "{shape:?}");
    }
}

/// The patterns the kernels walk: (channels, inner) pairs covering a shared slope,
/// channels last with few and many channels, channels first with short and long
/// planes, and patterns longer than the slope tile.
const PATTERNS: [(usize, usize); 10] = [
    (1, 1),
    (3, 1),
    (16, 1),
    (17, 1),
    (300, 1),
    (3, 5),
    (16, 17),
    (17, 64),
    (2, 700),
    (300, 3),
];

/// Calls the kernels of `isa` for `T` directly, with a call start anywhere in the
/// pattern, at every length up to 260 (light: 130) and every start address of a cache
/// line, out of place and in place.
fn kernels_sweep<T: TestElem>(isa: Isa, rng: &mut Rng) {
    let k = &T::table(isa.tables()).prelu;
    let max = if light() { 130 } else { 260 };
    for (count, inner) in PATTERNS {
        let w: Vec<T> = slopes(rng, count);
        let shape = Shape {
            outer: usize::MAX,
            count,
            inner,
        };
        let period = count * inner;
        let starts = [0, 1, period - 1, period / 2 + 3, 5 * period + 7];
        for len in 0..=max {
            let start = starts[len % starts.len()];
            let off = len % offsets::<T>().count();
            let x: Vec<T> = values(rng, len, 1.0);
            let dy: Vec<T> = values(rng, len, 1.0);
            let slope_at = |i: usize| slope_of(&w, &shape, start + i).to_kernel();
            let want_y: Vec<T> = (0..len)
                .map(|i| T::from_kernel(kp::oracle(x[i].to_kernel(), slope_at(i))))
                .collect();
            let want_dx: Vec<T> = (0..len)
                .map(|i| {
                    T::from_kernel(kp::oracle_grad(
                        x[i].to_kernel(),
                        dy[i].to_kernel(),
                        slope_at(i),
                    ))
                })
                .collect();
            let ch = Channel {
                values: w.as_ptr().cast::<T::Kernel>(),
                count,
                inner,
                start,
            };
            let ctx = format!(
                "{isa} {} count {count} inner {inner} len {len} start {start}",
                T::NAME
            );
            let fill = T::from_f64(-3.0);
            let mut buf = vec![fill; len + 32];
            let out = &mut buf[off..off + len];
            // SAFETY: `x` and `out` hold `len` elements and do not overlap; `w` holds
            // `count` slopes; `count` and `inner` are nonzero; `isa` is available.
            unsafe { (k.forward)(x.as_ptr().cast(), out.as_mut_ptr().cast(), len, &ch) };
            assert_same(&buf[off..off + len], &want_y, &format!("{ctx} forward"));
            assert!(
                buf[..off]
                    .iter()
                    .chain(&buf[off + len..])
                    .all(|v| bits_eq(*v, fill))
            );
            let io = &mut buf[off..off + len];
            io.copy_from_slice(&x);
            // SAFETY: as above, in place (the same range).
            unsafe { (k.forward)(io.as_ptr().cast(), io.as_mut_ptr().cast(), len, &ch) };
            assert_same(io, &want_y, &format!("{ctx} forward in place"));
            let out = &mut buf[off..off + len];
            // SAFETY: as above, with `dy` of `len` elements; `out` overlaps neither.
            unsafe {
                (k.backward)(
                    x.as_ptr().cast(),
                    dy.as_ptr().cast(),
                    out.as_mut_ptr().cast(),
                    len,
                    &ch,
                )
            };
            assert_same(out, &want_dx, &format!("{ctx} backward"));
            let io = &mut buf[off..off + len];
            io.copy_from_slice(&dy);
            // SAFETY: `dx` is exactly `dy`.
            unsafe {
                (k.backward)(
                    x.as_ptr().cast(),
                    io.as_ptr().cast(),
                    io.as_mut_ptr().cast(),
                    len,
                    &ch,
                )
            };
            assert_same(io, &want_dx, &format!("{ctx} backward, dx = dy"));
            let io = &mut buf[off..off + len];
            io.copy_from_slice(&x);
            // SAFETY: `dx` is exactly `x`.
            unsafe {
                (k.backward)(
                    io.as_ptr().cast(),
                    dy.as_ptr().cast(),
                    io.as_mut_ptr().cast(),
                    len,
                    &ch,
                )
            };
            assert_same(io, &want_dx, &format!("{ctx} backward, dx = x"));
            assert!(
                buf[..off]
                    .iter()
                    .chain(&buf[off + len..])
                    .all(|v| bits_eq(*v, fill))
            );
        }
    }
}

#[test]
fn kernels_every_length_and_pattern_on_every_isa() {
    let mut rng = Rng(11);
    for isa in Isa::available() {
        kernels_sweep::<f32>(isa, &mut rng);
        kernels_sweep::<f64>(isa, &mut rng);
        kernels_sweep::<half::f16>(isa, &mut rng);
        kernels_sweep::<half::bf16>(isa, &mut rng);
    }
}

/// Shapes for the safe API: NCHW and NHWC with C = 1, 3, 16, 17 and H*W from 1 to a
/// few hundred, a shared and a per-channel slope.
fn shapes(rng: &mut Rng) -> Vec<(Order, Vec<usize>)> {
    let hws: &[usize] = if light() {
        &[1, 7, 64, 301]
    } else {
        &[1, 2, 7, 16, 33, 64, 100, 255, 301]
    };
    let mut v = Vec::new();
    for &c in &[1usize, 3, 16, 17] {
        for &hw in hws {
            let n = 1 + rng.below(3);
            let (h, w) = if hw % 7 == 0 { (7, hw / 7) } else { (1, hw) };
            v.push((Order::Nchw, vec![n, c, h, w]));
            v.push((Order::Nhwc, vec![n, h, w, c]));
        }
        v.push((Order::Nchw, vec![5, c]));
        v.push((Order::Nhwc, vec![c]));
        v.push((Order::Nhwc, vec![9, c]));
    }
    // Many channels: rows in groups of 64 channels, and short runs gathered.
    v.push((Order::Nhwc, vec![300, 70]));
    v.push((Order::Nhwc, vec![2, 33, 129]));
    v.push((Order::Nchw, vec![5, 100, 3]));
    v.push((Order::Nchw, vec![300, 65, 1]));
    v.push((Order::Nchw, vec![40, 5, 4, 5]));
    v.push((Order::Nchw, vec![70, 3, 9]));
    v
}

fn channels(order: Order, dims: &[usize]) -> usize {
    match order {
        Order::Nchw => dims[1],
        Order::Nhwc => dims[dims.len() - 1],
    }
}

fn shape_for(order: Order, dims: &[usize], shared: bool) -> Shape {
    let len: usize = dims.iter().product();
    if shared {
        return Shape {
            outer: 1,
            count: 1,
            inner: len,
        };
    }
    match order {
        Order::Nchw => Shape {
            outer: dims[0],
            count: dims[1],
            inner: dims[2..].iter().product(),
        },
        Order::Nhwc => Shape {
            outer: len / dims[dims.len() - 1],
            count: dims[dims.len() - 1],
            inner: 1,
        },
    }
}

fn safe_api_sweep<T: TestElem>(isa: Isa, rng: &mut Rng) {
    for (order, dims) in shapes(rng) {
        for shared in [false, true] {
            let c = channels(order, &dims);
            let w: Vec<T> = slopes(rng, if shared { 1 } else { c });
            let shape = shape_for(order, &dims, shared);
            let len = dims.iter().product();
            let x: Vec<T> = values(rng, len, 1.0);
            let dy: Vec<T> = values(rng, len, 1.0);
            let p = Prelu::new(order)
                .with_isa(isa)
                .unwrap()
                .with_threads(Threads::Serial);
            let ctx = format!("{isa} {} {order} {dims:?} shared {shared}", T::NAME);
            let want_y = oracle_forward(&x, &w, &shape);
            let mut y = vec![T::default(); len];
            p.forward(&x, &dims, &w, &mut y).unwrap();
            assert_same(&y, &want_y, &ctx);
            let mut io = x.clone();
            p.forward_in_place(&mut io, &dims, &w).unwrap();
            assert_same(&io, &want_y, &format!("{ctx} in place"));
            let cells = Cell::from_mut(&mut io[..]).as_slice_of_cells();
            for (cell, &v) in cells.iter().zip(&x) {
                cell.set(v);
            }
            p.forward_aliased(cells, &dims, &w, cells).unwrap();
            assert_same(&io, &want_y, &format!("{ctx} aliased"));

            let want_dx = oracle_dx(&x, &dy, &w, &shape);
            let want_dw = oracle_dw(&x, &dy, &shape);
            let mut dx = vec![T::default(); len];
            let mut dw = vec![T::default(); w.len()];
            p.backward(&x, &dy, &dims, &w, &mut dx, &mut dw).unwrap();
            assert_same(&dx, &want_dx, &format!("{ctx} dx"));
            assert_dw(&dw, &want_dw, &format!("{ctx} dw"));
            // Finite inputs (zeros and subnormals included): dW has no NaN, so every
            // bit is compared.
            let finite = |v: Vec<T>, rng: &mut Rng| -> Vec<T> {
                v.into_iter()
                    .map(|e| {
                        // Mostly values of magnitudes 2^-12..2^12 (sums whose
                        // rounding depends on the order, no overflow), one in eight a
                        // finite special.
                        if e.to_f64().is_finite() && rng.below(8) == 0 {
                            e
                        } else {
                            let scale = (rng.below(25) as f64 - 12.0).exp2();
                            T::from_f64(rng.uniform(-1.0, 1.0) * scale)
                        }
                    })
                    .collect()
            };
            let xf = finite(values(rng, len, 1.0), rng);
            let gf = finite(values(rng, len, 1.0), rng);
            let mut dwf = vec![T::default(); w.len()];
            p.backward(&xf, &gf, &dims, &w, &mut dx, &mut dwf).unwrap();
            let want = oracle_dw(&xf, &gf, &shape);
            if want.iter().all(|v| !v.to_f64().is_nan()) {
                assert_same(&dwf, &want, &format!("{ctx} dw, finite inputs"));
            } else {
                assert_dw(&dwf, &want, &format!("{ctx} dw, finite inputs"));
            }
            // dx written over dy (aliased): dw is formed first, from the inputs.
            let mut g = dy.clone();
            let gc = Cell::from_mut(&mut g[..]).as_slice_of_cells();
            let xs: Vec<Cell<T>> = x.iter().map(|&v| Cell::new(v)).collect();
            let mut dw2 = vec![T::default(); w.len()];
            p.backward_aliased(&xs, gc, &dims, &w, gc, &mut dw2)
                .unwrap();
            assert_same(&g, &want_dx, &format!("{ctx} dx over dy"));
            assert_dw(&dw2, &want_dw, &format!("{ctx} dw (dx over dy)"));
        }
    }
}

#[test]
fn safe_api_nchw_and_nhwc_on_every_isa() {
    let mut rng = Rng(23);
    for isa in Isa::available() {
        safe_api_sweep::<f32>(isa, &mut rng);
        safe_api_sweep::<f64>(isa, &mut rng);
        safe_api_sweep::<half::f16>(isa, &mut rng);
        safe_api_sweep::<half::bf16>(isa, &mut rng);
    }
}

/// The slope gradient (and the forward and input gradient) of calls split across
/// 1, 2, 3 and 8 threads: the oracle's bits whatever the split.
fn threaded<T: TestElem>(isa: Isa, order: Order, dims: &[usize], rng: &mut Rng) {
    let c = channels(order, dims);
    let w: Vec<T> = slopes(rng, c);
    let shape = shape_for(order, dims, false);
    let len = dims.iter().product();
    // Finite values of mixed sign, so that the sums are not NaN.
    let x: Vec<T> = (0..len)
        .map(|_| T::from_f64(rng.uniform(-2.0, 1.0)))
        .collect();
    let dy: Vec<T> = (0..len)
        .map(|_| T::from_f64(rng.uniform(-1.0, 1.0)))
        .collect();
    let want_y = oracle_forward(&x, &w, &shape);
    let want_dx = oracle_dx(&x, &dy, &w, &shape);
    let want_dw = oracle_dw(&x, &dy, &shape);
    for threads in [1, 2, 3, 8] {
        let p = Prelu::new(order).with_isa(isa).unwrap();
        let ctx = format!("{isa} {} {order} {dims:?} {threads} threads", T::NAME);
        let (y, dx, dw) = in_pool(threads, || {
            let mut y = vec![T::default(); len];
            p.forward(&x, dims, &w, &mut y).unwrap();
            let mut dx = vec![T::default(); len];
            let mut dw = vec![T::default(); c];
            p.backward(&x, &dy, dims, &w, &mut dx, &mut dw).unwrap();
            (y, dx, dw)
        });
        assert_same(&y, &want_y, &ctx);
        assert_same(&dx, &want_dx, &ctx);
        assert_same(&dw, &want_dw, &format!("{ctx} dw"));
    }
}

#[test]
fn slope_gradient_is_the_same_for_every_thread_count() {
    // Split from 64 KiB moved (pieces are at least 1 MiB: a 4 MiB f32 tensor gives up
    // to 8 pieces).
    caffe2op_relu::tuning::set_parallel_min_bytes(64 << 10);
    let mut rng = Rng(5);
    let isas = common::threaded_isas();
    let (n, hw) = if light() {
        (2, 64 * 64)
    } else {
        (4, 128 * 128)
    };
    for isa in isas {
        threaded::<f32>(isa, Order::Nchw, &[n, 16, hw], &mut rng);
        threaded::<f32>(isa, Order::Nhwc, &[n, hw, 17], &mut rng);
        threaded::<f32>(isa, Order::Nchw, &[1, 3, hw * 5], &mut rng);
        threaded::<f32>(isa, Order::Nchw, &[n * 256, 40, 9], &mut rng);
        threaded::<f32>(isa, Order::Nhwc, &[n * 512, 130], &mut rng);
        if !light() {
            threaded::<f64>(isa, Order::Nhwc, &[n, hw, 3], &mut rng);
            threaded::<half::bf16>(isa, Order::Nchw, &[n, 17, hw], &mut rng);
        }
    }
}

/// Calls back to back, which split as a burst where the parallel threshold alone would
/// not (the burst threshold at 0; whether a call splits depends on timing, and other
/// tests here lower the parallel threshold): the oracle's bits, forward, input and
/// slope gradients.
#[test]
fn bursts_give_the_oracle_bits() {
    caffe2op_relu::tuning::set_burst_min_bytes(0);
    let mut rng = Rng(11);
    let dims = [2usize, 16, 64 * 64];
    let (order, c, len) = (Order::Nchw, 16, dims.iter().product::<usize>());
    let w: Vec<f32> = slopes(&mut rng, c);
    let shape = shape_for(order, &dims, false);
    let x: Vec<f32> = (0..len).map(|_| rng.uniform(-2.0, 1.0) as f32).collect();
    let dy: Vec<f32> = (0..len).map(|_| rng.uniform(-1.0, 1.0) as f32).collect();
    let p = Prelu::new(order);
    // Every output allocated first, so that the calls follow each other closely.
    let mut ys = vec![vec![0f32; len]; 4];
    let mut dxs = vec![vec![0f32; len]; 4];
    let mut dws = vec![vec![0f32; c]; 4];
    in_pool(2, || {
        for y in ys.iter_mut() {
            p.forward(&x, &dims, &w, y).unwrap();
        }
        for (dx, dw) in dxs.iter_mut().zip(dws.iter_mut()) {
            p.backward(&x, &dy, &dims, &w, dx, dw).unwrap();
        }
    });
    let (want_y, want_dx) = (
        oracle_forward(&x, &w, &shape),
        oracle_dx(&x, &dy, &w, &shape),
    );
    let want_dw = oracle_dw(&x, &dy, &shape);
    for k in 0..4 {
        assert_same(&ys[k], &want_y, "burst prelu forward");
        assert_same(&dxs[k], &want_dx, "burst prelu dx");
        assert_dw(&dws[k], &want_dw, "burst prelu dw");
    }
    caffe2op_relu::tuning::set_burst_min_bytes(caffe2op_relu::tuning::default_burst_min_bytes());
}

/// Every refusal names what was wrong and writes nothing.
#[test]
fn refusals_write_nothing() {
    let fill = -9.0f32;
    let p = Prelu::new(Order::Nchw);
    let q = Prelu::new(Order::Nhwc);
    let x = vec![-1.0f32; 24];
    let w3 = [0.5f32; 3];
    let cases: Vec<(Prelu, Vec<usize>, Vec<f32>, &str)> = vec![
        (p, vec![24], w3.to_vec(), "order NCHW needs at least 2"),
        (q, vec![], w3.to_vec(), "order NHWC needs at least 1"),
        (p, vec![2, 3, 5], w3.to_vec(), "describe 30 elements"),
        (p, vec![usize::MAX, 3, 2], w3.to_vec(), "overflows"),
        (
            p,
            vec![2, 3, 4],
            vec![0.5; 2],
            "1 (shared) or one per channel (3)",
        ),
        (q, vec![2, 3, 4], vec![0.5; 3], "one per channel (4)"),
        (p, vec![2, 3, 4], vec![0.5, f32::NAN, 0.1], "slope[1]"),
        (p, vec![2, 3, 4], vec![f32::INFINITY], "slope[0]"),
        (
            q,
            vec![2, 3, 4],
            vec![0.1, 0.2, 0.3, f32::NEG_INFINITY],
            "slope[3]",
        ),
    ];
    for (op, dims, w, msg) in &cases {
        let mut y = vec![fill; 24];
        let e = op.forward(&x, dims, w, &mut y).unwrap_err();
        assert!(e.to_string().contains(msg), "{e} should say {msg}");
        assert!(y.iter().all(|&v| v == fill));
        let mut io = x.clone();
        let e2 = op.forward_in_place(&mut io, dims, w).unwrap_err();
        assert_eq!(e2.to_string(), e.to_string());
        assert_eq!(io, x);
        let (mut dx, mut dw) = (vec![fill; 24], vec![fill; w.len()]);
        let e3 = op.backward(&x, &x, dims, w, &mut dx, &mut dw).unwrap_err();
        assert_eq!(e3.to_string(), e.to_string());
        assert!(dx.iter().chain(&dw).all(|&v| v == fill));
    }
    // The kinds.
    let mut y = vec![fill; 24];
    assert!(matches!(
        p.forward(&x, &[2, 3, 4], &[0.5, 0.5], &mut y),
        Err(Error::SlopeCount {
            channels: 3,
            found: 2
        })
    ));
    assert!(matches!(
        p.forward(&x, &[2, 3, 4], &[0.5, f32::NAN, 0.5], &mut y),
        Err(Error::InvalidSlope {
            index: 1,
            dtype: "f32",
            ..
        })
    ));
    assert!(matches!(
        p.forward(&x, &[2, 3], &w3, &mut y),
        Err(Error::InvalidShape { .. })
    ));
    // f16: a slope that is finite in f32 but infinite in f16 cannot be given (the
    // slope is a tensor of the element type); an infinite one is refused.
    let xh = vec![half::f16::from_f32(-1.0); 6];
    let mut yh = vec![half::f16::ONE; 6];
    let e = p.forward(
        &xh,
        &[1, 2, 3],
        &[half::f16::ONE, half::f16::INFINITY],
        &mut yh,
    );
    assert!(matches!(
        e,
        Err(Error::InvalidSlope {
            index: 1,
            dtype: "f16",
            ..
        })
    ));
    assert!(yh.iter().all(|v| *v == half::f16::ONE));
    // Lengths: y, dy, dx, dw.
    let mut short = vec![fill; 23];
    assert!(matches!(
        p.forward(&x, &[2, 3, 4], &w3, &mut short),
        Err(Error::LengthMismatch { arg: "y", .. })
    ));
    assert!(short.iter().all(|&v| v == fill));
    let (mut dx, mut dw) = (vec![fill; 24], vec![fill; 2]);
    assert!(matches!(
        p.backward(&x, &x, &[2, 3, 4], &w3, &mut dx, &mut dw),
        Err(Error::LengthMismatch { arg: "dw", .. })
    ));
    let mut dw = vec![fill; 3];
    assert!(matches!(
        p.backward(&x, &x[..23], &[2, 3, 4], &w3, &mut dx, &mut dw),
        Err(Error::LengthMismatch { arg: "dy", .. })
    ));
    assert!(dx.iter().chain(&dw).all(|&v| v == fill));
    // A partial overlap of y with x.
    let mut buf = [-1.0f32; 30];
    let cells = Cell::from_mut(&mut buf[..]).as_slice_of_cells();
    let e = p.forward_aliased(&cells[..24], &[2, 3, 4], &w3, &cells[3..27]);
    assert!(matches!(e, Err(Error::Overlap { .. })));
    assert!(buf.iter().all(|&v| v == -1.0));
    // An unavailable ISA.
    for isa in Isa::ALL {
        if !isa.is_available() {
            assert!(matches!(p.with_isa(isa), Err(Error::IsaUnavailable { .. })));
        }
    }
}

/// An empty tensor: nothing to write; dW is +0 per slope.
#[test]
fn empty_tensors() {
    let p = Prelu::new(Order::Nchw);
    let mut y: Vec<f32> = vec![];
    p.forward(&[], &[0, 3, 4], &[0.5; 3], &mut y).unwrap();
    let mut dw = vec![7.0f32; 3];
    p.backward(&[], &[], &[2, 3, 0], &[0.5; 3], &mut [], &mut dw)
        .unwrap();
    assert!(dw.iter().all(|v| v.to_bits() == 0));
}
