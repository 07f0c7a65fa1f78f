//! Criterion benches: one group per (function, element type), one benchmark per
//! variant (each ISA's kernel, the compiler-vectorised oracle per ISA, and
//! `copy_from_slice` of the same buffer size) and per buffer size, 4 KiB to 256 MiB.
//! Throughput is bytes read + written.
//!
//! `cargo bench -p caffe2op-relu-bench` runs everything (a few minutes: sample counts
//! are kept small because each sample at 256 MiB moves half a gigabyte);
//! `cargo bench -p caffe2op-relu-bench -- relu/f32` filters. The benches are a package
//! of their own so that the crate's test builds never compile criterion.

use std::hint::black_box;
use std::time::Duration;

use caffe2op_relu::{Activation, Element, Isa, Kernel, Op, Threads, autovec};
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};

const SIZES: [usize; 5] = [4 << 10, 64 << 10, 1 << 20, 16 << 20, 256 << 20];

fn act(op: Op) -> Activation {
    Activation::caffe2_default(op).expect("every op has Caffe2 defaults")
}

fn data<T: Element>(n: usize, seed: u64) -> Vec<T> {
    let mut s = seed;
    (0..n)
        .map(|_| {
            s = s
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            T::from_f64(((s >> 11) as f64 / (1u64 << 53) as f64 - 0.5) * 16.0)
        })
        .collect()
}

fn group<T: Element>(c: &mut Criterion, op: Op, grad: bool) {
    let name = format!(
        "{}{}/{}",
        op.name(),
        if grad { "_grad" } else { "" },
        T::NAME
    );
    let mut g = c.benchmark_group(name);
    g.sample_size(10)
        .warm_up_time(Duration::from_millis(100))
        .measurement_time(Duration::from_millis(400));
    let a = act(op);
    for bytes in SIZES {
        let n = bytes / size_of::<T>();
        let streams = if grad { 3 } else { 2 };
        g.throughput(Throughput::Bytes((streams * bytes) as u64));
        let x: Vec<T> = data(n, 1);
        let dy: Vec<T> = data(n, 2);
        let mut out: Vec<T> = vec![T::default(); n];
        for isa in Isa::available() {
            let k = Kernel::new(a)
                .with_isa(isa)
                .expect("available")
                .with_threads(Threads::Serial);
            g.bench_with_input(BenchmarkId::new(isa.name(), bytes), &bytes, |b, _| {
                b.iter(|| {
                    if grad {
                        k.backward(black_box(&x), black_box(&dy), &mut out)
                            .expect("valid");
                    } else {
                        k.forward(black_box(&x), &mut out).expect("valid");
                    }
                })
            });
            if isa != Isa::Portable {
                let id = BenchmarkId::new(format!("naive-{isa}"), bytes);
                g.bench_with_input(id, &bytes, |b, _| {
                    b.iter(|| {
                        if grad {
                            autovec::backward(isa, a, black_box(&x), black_box(&dy), &mut out)
                        } else {
                            autovec::forward(isa, a, black_box(&x), &mut out)
                        }
                        .expect("valid")
                    })
                });
            }
        }
        let auto = Kernel::new(a);
        // Default dispatch with `Threads::Auto` (the one-call API users get).
        g.bench_with_input(
            BenchmarkId::new(format!("{}+auto", auto.isa()), bytes),
            &bytes,
            |b, _| {
                b.iter(|| {
                    if grad {
                        auto.backward(black_box(&x), black_box(&dy), &mut out)
                            .expect("valid");
                    } else {
                        auto.forward(black_box(&x), &mut out).expect("valid");
                    }
                })
            },
        );
        // The roof: copying one buffer of the same size (2 x bytes moved); reported
        // with the same throughput unit so the ratio reads off directly.
        g.throughput(Throughput::Bytes((2 * bytes) as u64));
        g.bench_with_input(BenchmarkId::new("memcpy", bytes), &bytes, |b, _| {
            b.iter(|| out.copy_from_slice(black_box(&x)))
        });
    }
    g.finish();
}

fn all(c: &mut Criterion) {
    for op in Op::ALL {
        for grad in [false, true] {
            group::<f32>(c, op, grad);
            group::<f64>(c, op, grad);
            group::<half::f16>(c, op, grad);
            group::<half::bf16>(c, op, grad);
        }
    }
    int8(c);
}

/// Int8Relu (u8): each ISA, `Threads::Auto`, the naive loop and memcpy.
fn int8(c: &mut Criterion) {
    let mut g = c.benchmark_group("int8_relu/u8");
    g.sample_size(10)
        .warm_up_time(Duration::from_millis(100))
        .measurement_time(Duration::from_millis(400));
    for bytes in SIZES {
        g.throughput(Throughput::Bytes((2 * bytes) as u64));
        let x: Vec<u8> = (0..bytes)
            .map(|i| (i.wrapping_mul(2654435761) >> 7) as u8)
            .collect();
        let mut y = vec![0u8; bytes];
        for isa in Isa::available() {
            g.bench_with_input(BenchmarkId::new(isa.name(), bytes), &bytes, |b, _| {
                b.iter(|| {
                    caffe2op_relu::int8_relu_with(black_box(&x), &mut y, 128, isa, Threads::Serial)
                        .expect("valid")
                })
            });
        }
        g.bench_with_input(BenchmarkId::new("auto", bytes), &bytes, |b, _| {
            b.iter(|| caffe2op_relu::int8_relu(black_box(&x), &mut y, 128).expect("valid"))
        });
        g.bench_with_input(BenchmarkId::new("naive", bytes), &bytes, |b, _| {
            b.iter(|| {
                for (o, &v) in y.iter_mut().zip(black_box(&x)) {
                    *o = v.max(128);
                }
            })
        });
        g.bench_with_input(BenchmarkId::new("memcpy", bytes), &bytes, |b, _| {
            b.iter(|| y.copy_from_slice(black_box(&x)))
        });
    }
    g.finish();
}

criterion_group!(benches, all);
criterion_main!(benches);
