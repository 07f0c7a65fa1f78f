//! One op under a custom rayon pool: `Threads::Auto` splits a large call across the
//! pool that is current when the call is made, so `pool.install(..)` decides how many
//! threads a call may use (and keeps it off rayon's global pool).
//!
//! ```text
//! cargo run --release --example custom_pool                 # 64 MiB of f32, pools of 1, 2, 4 threads
//! cargo run --release --example custom_pool -- --quick      # 32 MiB (CI)
//! cargo run --release --example custom_pool -- --threads 8  # a pool of 8 threads too
//! ```
//!
//! For each pool it prints how many pieces the call is split into
//! (`Kernel::pieces`, asked from inside the pool: the same plan the call uses), the
//! best time of a few runs and the throughput, and checks the output against the
//! oracle bit for bit. A serial kernel (`Threads::Serial`) is the baseline: it never
//! touches rayon, whatever the pool. It fails if a one-thread pool splits the call,
//! or a larger pool does not (every size it runs is above the parallel threshold).

use std::process::ExitCode;
use std::time::{Duration, Instant};

use caffe2op_relu::{Activation, Kernel, Threads};

fn main() -> ExitCode {
    let mut bytes = 64usize << 20;
    let mut pools = vec![1usize, 2, 4];
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--quick" => bytes = 32 << 20,
            "--threads" => match args.next().map(|v| v.parse::<usize>()) {
                Some(Ok(n)) if n > 0 => pools.push(n),
                _ => {
                    eprintln!("custom_pool: --threads needs a positive number");
                    return ExitCode::from(2);
                }
            },
            _ => {
                eprintln!("usage: custom_pool [--quick] [--threads N]");
                return ExitCode::from(2);
            }
        }
    }
    match run(bytes, &pools) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("custom_pool: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run(bytes: usize, pools: &[usize]) -> Result<(), String> {
    let act = Activation::relu_n(6.0).map_err(|e| e.to_string())?;
    let len = bytes / size_of::<f32>();
    let x: Vec<f32> = (0..len).map(|i| (i % 1000) as f32 / 50.0 - 10.0).collect();
    let mut y = vec![0.0f32; len];
    let auto = Kernel::new(act);
    if 2 * bytes < caffe2op_relu::tuning::parallel_min_bytes() {
        return Err("the call is below the parallel threshold: nothing to split".into());
    }
    let serial = Kernel::new(act).with_threads(Threads::Serial);
    println!(
        "relu_n(6) on {len} f32 ({} MiB in, {} MiB out) on {}; parallel above {} KiB moved \
         per call; {} CPUs",
        bytes >> 20,
        bytes >> 20,
        auto.isa(),
        caffe2op_relu::tuning::parallel_min_bytes() >> 10,
        std::thread::available_parallelism().map_or(1, |n| n.get())
    );

    let reps = 5;
    let t = best_of(reps, || serial.forward(&x, &mut y)).map_err(|e| e.to_string())?;
    check(&x, &y, act)?;
    report("Threads::Serial", serial.pieces::<f32>(len), t, 2 * bytes);

    for &n in pools {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(n)
            .thread_name(move |i| format!("relu-pool{n}-{i}"))
            .build()
            .map_err(|e| e.to_string())?;
        y.fill(0.0);
        let (pieces, t) = pool.install(|| {
            // Inside `install`, rayon's current pool is `pool`: the plan and the split
            // both use its thread count.
            let pieces = auto.pieces::<f32>(len);
            let t = best_of(reps, || auto.forward(&x, &mut y));
            (pieces, t)
        });
        let t = t.map_err(|e| e.to_string())?;
        check(&x, &y, act)?;
        // A one-thread pool runs the call serially; a larger one splits it (the call
        // moves more than the parallel threshold, checked above).
        if (n == 1) != (pieces == 1) {
            return Err(format!("{pieces} pieces on a pool of {n} threads"));
        }
        report(&format!("pool of {n}"), pieces, t, 2 * bytes);
    }
    println!("outputs equal the oracle; only the one-thread pool ran serially");
    Ok(())
}

/// The best wall time of `reps` runs of `f`.
fn best_of(
    reps: usize,
    mut f: impl FnMut() -> Result<(), caffe2op_relu::Error>,
) -> Result<Duration, caffe2op_relu::Error> {
    let mut best = Duration::MAX;
    for _ in 0..reps {
        let t0 = Instant::now();
        f()?;
        best = best.min(t0.elapsed());
    }
    Ok(best)
}

fn check(x: &[f32], y: &[f32], act: Activation) -> Result<(), String> {
    for (i, (&a, &b)) in x.iter().zip(y).enumerate() {
        let want = act.oracle_forward(a).map_err(|e| e.to_string())?;
        if want.to_bits() != b.to_bits() {
            return Err(format!("y[{i}] = {b:?}, oracle {want:?} (x = {a:?})"));
        }
    }
    Ok(())
}

fn report(name: &str, pieces: usize, t: Duration, moved: usize) {
    println!(
        "{name:>16}: {pieces:>2} pieces, best {:>8.3} ms, {:>6.2} GB/s",
        t.as_secs_f64() * 1e3,
        moved as f64 / t.as_secs_f64() / 1e9
    );
}
