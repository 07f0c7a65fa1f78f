//! The candle section (built with `--features candle-nn`): candle's own `Tensor::relu`
//! and `candle_nn::ops::leaky_relu` against the crate through candle
//! (`caffe2op_relu::candle`), allocating and in place, on f32 CPU tensors of each
//! table size. The cells of one size are measured interleaved, in a new order each
//! round, like the report's other tables; each cell's fastest sample counts. Both
//! sides run with their defaults on this machine's threads (candle's CPU backend,
//! the crate's `Threads::Auto`).
//!
//! GB/s = bytes read + written per second (2 x the buffer for each forward op). The
//! allocating cells include the new tensor's allocation, first-touch page faults and
//! release, on both sides; the in-place cells run each call on a fresh copy of the
//! input (made untimed), each call timed alone.

use std::hint::black_box;
use std::time::Instant;

use caffe2op_relu::candle::{self as cr, candle_core};
use candle_core::{Device, Tensor};

use crate::measure::{SHUFFLE_SEED, fill, shuffle};
use crate::tables::fmt_size;

/// leaky_relu's slope in every cell (Caffe2's default).
const ALPHA: f64 = 0.01;

#[derive(Clone, Copy, PartialEq, Eq)]
enum Cell {
    CandleRelu,
    CrateRelu,
    CrateReluInPlace,
    CandleLeaky,
    CrateLeaky,
    CrateLeakyInPlace,
}

const CELLS: [Cell; 6] = [
    Cell::CandleRelu,
    Cell::CrateRelu,
    Cell::CrateReluInPlace,
    Cell::CandleLeaky,
    Cell::CrateLeaky,
    Cell::CrateLeakyInPlace,
];

impl Cell {
    fn in_place(self) -> bool {
        matches!(self, Cell::CrateReluInPlace | Cell::CrateLeakyInPlace)
    }
}

struct Bufs {
    x: Tensor,
    /// The in-place cells' tensor, a fresh copy of `x` before each call.
    y: Tensor,
}

impl Bufs {
    fn restore(&mut self) -> candle_core::Result<()> {
        self.y = self.x.copy()?;
        Ok(())
    }

    fn call(&self, c: Cell) -> candle_core::Result<()> {
        match c {
            Cell::CandleRelu => drop(black_box(self.x.relu()?)),
            Cell::CrateRelu => drop(black_box(cr::relu(&self.x)?)),
            Cell::CrateReluInPlace => cr::relu_in_place(&self.y)?,
            Cell::CandleLeaky => drop(black_box(candle_nn::ops::leaky_relu(&self.x, ALPHA)?)),
            Cell::CrateLeaky => drop(black_box(cr::leaky_relu(&self.x, ALPHA)?)),
            Cell::CrateLeakyInPlace => cr::leaky_relu_in_place(&self.y, ALPHA)?,
        }
        black_box(&self.y);
        Ok(())
    }
}

/// Each cell's fastest sample at `n` f32 elements, in GB/s.
fn measure(n: usize, quick: bool) -> candle_core::Result<Vec<f64>> {
    let x = Tensor::from_vec(fill::<f32>(n, 1, 16.0), n, &Device::Cpu)?;
    let mut b = Bufs { y: x.copy()?, x };
    let min_sample = if quick { 0.7e-3 } else { 2e-3 };
    let (min_samples, max_samples, budget) = if quick { (3, 3, 0.0) } else { (3, 11, 0.8) };
    // Calibration: repetitions per sample so one lasts at least `min_sample`; a call
    // that alone lasts several samples' worth is its own sample.
    let mut reps = Vec::new();
    let mut round = 0.0;
    for c in CELLS {
        b.restore()?;
        b.call(c)?;
        let t = Instant::now();
        b.call(c)?;
        let one = t.elapsed().as_secs_f64().max(1e-9);
        let r = (min_sample / one).ceil().clamp(1.0, 1e6) as u32;
        round += one * f64::from(r);
        reps.push(r);
    }
    let samples = ((budget / round) as usize).clamp(min_samples, max_samples);
    let mut best = [f64::INFINITY; CELLS.len()];
    let mut order: Vec<usize> = (0..CELLS.len()).collect();
    let mut seed = SHUFFLE_SEED;
    for _ in 0..samples {
        shuffle(&mut order, &mut seed);
        for &i in &order {
            let c = CELLS[i];
            let secs = if c.in_place() {
                // Each call on a fresh copy (restored untimed, the call timed alone):
                // repeated on one tensor, relu would meet its own output, with
                // nothing left to change (see the report's `measure::Fresh`). The
                // clock's own cost (about 20 ns) stays in, against the crate.
                let mut secs = 0.0;
                for _ in 0..reps[i] {
                    b.restore()?;
                    let t = Instant::now();
                    b.call(c)?;
                    secs += t.elapsed().as_secs_f64();
                }
                secs
            } else {
                let t = Instant::now();
                for _ in 0..reps[i] {
                    b.call(c)?;
                }
                t.elapsed().as_secs_f64()
            };
            best[i] = best[i].min(secs / f64::from(reps[i]));
        }
    }
    let bytes = (2 * n * size_of::<f32>()) as f64;
    Ok(best.iter().map(|s| bytes / s / 1e9).collect())
}

/// Measures every size and prints the table, its ratios and the targets
/// (at least 3x candle's own op from 64 MiB, 1.5x at 4-64 KiB, never behind).
pub fn section(sizes: &[usize], quick: bool) {
    println!(
        "\ncandle: f32 CPU tensors, candle's own ops against the crate through \
         caffe2op_relu::candle (GB/s = bytes read + written, fastest sample; \
         leaky_relu alpha = {ALPHA}; x = ratio to candle's op)\n"
    );
    println!(
        "| buffer | candle relu | crate relu | x | crate relu in place | x | \
         candle-nn leaky_relu | crate leaky_relu | x | crate leaky_relu in place | x |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|---|");
    if cfg!(debug_assertions) {
        // The CI's quick run uses the test profile, where candle's crates are built at
        // opt-level 0 (Cargo.toml): the section runs, but its figures mean nothing.
        println!("| (not a release build: candle is unoptimised here; the figures mean nothing) |");
    }
    let mut misses = Vec::new();
    for &bytes in sizes {
        let n = bytes / size_of::<f32>();
        let g = match measure(n, quick) {
            Ok(g) => g,
            Err(e) => {
                println!("| {} | candle error: {e} |", fmt_size(bytes));
                continue;
            }
        };
        let r = |i: usize, base: usize| g[i] / g[base];
        println!(
            "| {} | {:.1} | {:.1} | {:.2} | {:.1} | {:.2} | {:.1} | {:.1} | {:.2} | {:.1} | {:.2} |",
            fmt_size(bytes),
            g[0],
            g[1],
            r(1, 0),
            g[2],
            r(2, 0),
            g[3],
            g[4],
            r(4, 3),
            g[5],
            r(5, 3)
        );
        let want = if bytes >= 64 << 20 {
            3.0
        } else if bytes <= 64 << 10 {
            1.5
        } else {
            1.0
        };
        for (name, ratio) in [
            ("relu", r(1, 0)),
            ("relu in place", r(2, 0)),
            ("leaky_relu", r(4, 3)),
            ("leaky_relu in place", r(5, 3)),
        ] {
            if ratio < want {
                misses.push(format!(
                    "{name} at {}: {ratio:.2}x (target {want}x)",
                    fmt_size(bytes)
                ));
            }
        }
    }
    if misses.is_empty() {
        println!("\ncandle targets: all met");
    } else {
        println!("\ncandle targets missed: {}", misses.join("; "));
    }
}
