//! PRelu's throughput next to `copy_from_slice`, f32, about 1 MiB per buffer, one
//! thread: the forward pass (x read, y written) and the backward pass (x and dy read,
//! dx and dw written; two passes over x and dy), for NCHW and NHWC shapes. Each
//! repetition times the copy, the forward and the backward call in turn (interleaved,
//! so the three see the same machine state); the medians of 400 are printed, in GB/s
//! of the bytes each call must move (copy and forward 2N*4, backward 3N*4).
//!
//! `cargo run --release --example prelu_bandwidth [ISA,ISA,...]` (default: the
//! dispatched ISA).

use std::hint::black_box;
use std::time::Instant;

use caffe2op_relu::{Isa, Order, Prelu, Threads};

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() {
    let n = 1 << 18;
    let x: Vec<f32> = (0..n)
        .map(|i| ((i * 7919) % 2001) as f32 / 1000.0 - 1.0)
        .collect();
    let dy: Vec<f32> = (0..n)
        .map(|i| ((i * 104_729) % 997) as f32 / 500.0 - 1.0)
        .collect();
    let mut y = vec![0.0f32; n];
    let mut dx = vec![0.0f32; n];
    let cases: Vec<(Order, Vec<usize>)> = vec![
        (Order::Nchw, vec![1, 64, 64, 64]),
        (Order::Nchw, vec![16, 64, 16, 16]),
        (Order::Nchw, vec![10, 512, 7, 7]),
        (Order::Nchw, vec![64, 1024, 2, 2]),
        (Order::Nchw, vec![64, 4096]),
        (Order::Nhwc, vec![64, 64, 64]),
        (Order::Nhwc, vec![1, 512, 512]),
        (Order::Nhwc, vec![87_381, 3]),
    ];
    let isas: Vec<Isa> = std::env::args().nth(1).map_or_else(
        || vec![Isa::dispatched()],
        |s| {
            s.split(',')
                .map(|t| t.parse().expect("an ISA name"))
                .collect()
        },
    );
    for isa in isas {
        for (order, dims) in &cases {
            let len: usize = dims.iter().product();
            let c = match order {
                Order::Nchw => dims[1],
                Order::Nhwc => dims[dims.len() - 1],
            };
            let w: Vec<f32> = (0..c).map(|i| 0.01 + i as f32 * 0.001).collect();
            let mut dw = vec![0.0f32; c];
            let p = Prelu::new(*order)
                .with_isa(isa)
                .expect("an available ISA")
                .with_threads(Threads::Serial);
            let (xs, ys) = (&x[..len], &mut y[..len]);
            let (mut tc, mut tf, mut tb) = (Vec::new(), Vec::new(), Vec::new());
            for _ in 0..400 {
                let t = Instant::now();
                ys.copy_from_slice(black_box(xs));
                black_box(&ys);
                tc.push(t.elapsed().as_nanos() as f64);
                let t = Instant::now();
                p.forward(black_box(xs), dims, &w, ys).unwrap();
                black_box(&ys);
                tf.push(t.elapsed().as_nanos() as f64);
                let t = Instant::now();
                p.backward(black_box(xs), &dy[..len], dims, &w, &mut dx[..len], &mut dw)
                    .unwrap();
                black_box(&dx);
                tb.push(t.elapsed().as_nanos() as f64);
            }
            let bytes = (len * 4) as f64;
            let copy = 2.0 * bytes / median(&mut tc);
            let fwd = 2.0 * bytes / median(&mut tf);
            let bwd = 3.0 * bytes / median(&mut tb);
            println!(
                "{isa:8} {order} {dims:?}: copy {copy:5.1} GB/s, forward {fwd:5.1} ({:.2}x), \
                 backward {bwd:5.1} ({:.2}x)",
                fwd / copy,
                bwd / copy
            );
        }
    }
}
