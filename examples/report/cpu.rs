//! The machine: the CPU's name and features, the ISAs and what the dispatch chose, and
//! the two-core check of a full run.

use std::hint::black_box;
use std::time::{Duration, Instant};

use caffe2op_relu::{Isa, Kernel};

use crate::cells::Func;
use crate::measure::median;
use crate::tables::fmt_size;

/// Prints the CPU, its features, the ISAs available and the one each op dispatches to.
pub fn print_header(isas: &[Isa]) {
    println!("caffe2op-relu report: {}", crate::cli::command_line());
    println!(
        "CPU: {}  ({} rayon threads)",
        cpu_name(),
        rayon::current_num_threads()
    );
    println!("features: {}", features().join(" "));
    println!(
        "ISAs available: {}",
        isas.iter().map(|i| i.name()).collect::<Vec<_>>().join(", ")
    );
    if Isa::Avx512.is_available() {
        println!(
            "bf16 products on avx512: {}",
            if caffe2op_relu::tuning::avx512_bf16_narrowing() {
                "narrowed by VCVTNE2PS2BF16 (AVX512-BF16)"
            } else {
                "integer rounding"
            }
        );
        println!(
            "f16 products, compares and clip bounds on avx512: {}",
            if caffe2op_relu::tuning::avx512_fp16() {
                "VMULPH, VCMPPH, VMINPH/VMAXPH (AVX512-FP16)"
            } else {
                "through f32 (VCVTPH2PS/VCVTPS2PH) and integer compares"
            }
        );
        println!(
            "f32/f64 out of place on avx512 (leaky_relu_grad from 1 MiB): {} main loops",
            if caffe2op_relu::tuning::avx512_ymm_loops() {
                "256-bit (this core splits 512-bit accesses)"
            } else {
                "512-bit"
            }
        );
    } else {
        println!("avx512: not available here (the vector-width sweep of --full is left out)");
    }
    println!(
        "Threads::Auto splits calls on at least {} of buffers (this CPU's default: {}), in \
         place at least {}, the buffer written in place counted once (default: {})",
        fmt_size(caffe2op_relu::tuning::parallel_min_bytes()),
        fmt_size(caffe2op_relu::tuning::default_parallel_min_bytes()),
        fmt_size(caffe2op_relu::tuning::parallel_min_bytes_in_place()),
        fmt_size(caffe2op_relu::tuning::default_parallel_min_bytes_in_place())
    );
    let burst = caffe2op_relu::tuning::burst_min_bytes();
    if burst < caffe2op_relu::tuning::parallel_min_bytes() {
        println!(
            "  and out of place from {} when a call starts within 25 us of the previous \
             one's end (a burst: the pool's workers still awake)",
            fmt_size(burst)
        );
    }
    for f in Func::all() {
        let k = Kernel::new(f.act());
        println!("  {:<16} f32, f64, f16, bf16: {}", f.name(), k.isa());
    }
}

pub fn cpu_name() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|c| {
            c.lines()
                .find(|l| l.starts_with("model name"))
                .map(|l| l.split(':').nth(1).unwrap_or("").trim().to_string())
        })
        .unwrap_or_else(|| std::env::consts::ARCH.to_string())
}

fn features() -> Vec<&'static str> {
    #[allow(unused_mut)]
    let mut v = Vec::new();
    #[cfg(target_arch = "x86_64")]
    {
        macro_rules! f {
            ($($n:tt),*) => { $( if std::arch::is_x86_feature_detected!($n) { v.push($n); } )* };
        }
        f!(
            "sse4.2",
            "avx",
            "avx2",
            "fma",
            "f16c",
            "avx512f",
            "avx512bw",
            "avx512dq",
            "avx512vl",
            "avx512bf16",
            "avx512fp16",
            "avx512vbmi2",
            "avx512vnni"
        );
    }
    #[cfg(target_arch = "aarch64")]
    {
        macro_rules! f {
            ($($n:tt),*) => { $( if std::arch::is_aarch64_feature_detected!($n) { v.push($n); } )* };
        }
        f!("neon", "fp16", "bf16", "dotprod", "sve", "sve2");
    }
    v
}

/// Whether the pool's second core is there: ten `rayon::join`s of two copies of a
/// fixed integer loop (about 0.7 ms each), against the same twenty loops one after
/// the other on the caller's thread; the median ratio of 5 tries, after 20 ms of
/// joins that wake the pool. About 2.0 when the pool has two free cores; near 1.0
/// when the host lends this VM one core's time, as it now and then does on a shared
/// machine, and then the `+auto` cells of that stretch say little about the crate.
/// (A single join after a pause measures something else: on this VM an idle vCPU
/// took up to a few ms to be scheduled again, so the second loop often started only
/// when the first had ended.)
fn core_check() -> f64 {
    if rayon::current_num_threads() < 2 {
        return 1.0;
    }
    fn work() -> u64 {
        let mut h = black_box(0x9E37_79B9_7F4A_7C15u64);
        for i in 0..black_box(500_000u64) {
            h = (h ^ i).wrapping_mul(0x0000_0100_0000_01B3).rotate_left(5);
        }
        h
    }
    let warm = Instant::now();
    while warm.elapsed() < Duration::from_millis(20) {
        black_box(rayon::join(work, work));
    }
    let mut r: Vec<f64> = (0..5)
        .map(|_| {
            let t = Instant::now();
            for _ in 0..10 {
                black_box(rayon::join(work, work));
            }
            let split = t.elapsed().as_secs_f64();
            let t = Instant::now();
            for _ in 0..10 {
                black_box(work());
                black_box(work());
            }
            t.elapsed().as_secs_f64() / split
        })
        .collect();
    median(&mut r)
}

/// One size's entry of the two-core line: `4K 1.9x`.
pub fn core_entry(bytes: usize) -> String {
    format!("{} {:.1}x", fmt_size(bytes), core_check())
}

/// One type's two-core line, printed after the tables.
pub fn core_line(name: &str, entries: &[String]) -> String {
    format!("  {name:<5} {}", entries.join(", "))
}
