//! The Int8LeakyRelu section: `Int8LeakyRelu` (requantized to a different scale and
//! zero point, with a table that has a plain linear form, two whose forms carry a fix
//! for ties, and one that has none) on every available ISA,
//! serial, out of place; the best ISA in place and with `Threads::Auto`; the scalar
//! table loop (the `scalar` ISA: the oracle's `table[x]` loop as the compiler builds it
//! for the baseline target); and `copy_from_slice` of the same buffers. The cells of
//! one size are measured interleaved, in a new order each round, like the report's
//! other tables; each cell's fastest sample counts.
//!
//! GB/s = bytes read + written per second (2 x the buffer).

use std::hint::black_box;
use std::time::Instant;

use caffe2op_relu::{Int8LeakyRelu, Isa, QuantParams, Threads};

use crate::measure::{SHUFFLE_SEED, shuffle};
use crate::tables::fmt_size;

#[derive(Clone, Copy, PartialEq, Eq)]
enum Cell {
    Memcpy,
    Lut(Isa, Threads, bool),
}

impl Cell {
    fn label(self) -> String {
        match self {
            Cell::Memcpy => "memcpy".into(),
            Cell::Lut(Isa::Scalar, _, _) => "scalar table loop".into(),
            Cell::Lut(isa, Threads::Auto, _) => format!("{isa}+auto"),
            Cell::Lut(isa, _, true) => format!("{isa} in-place"),
            Cell::Lut(isa, _, false) => format!("{isa}"),
        }
    }
}

fn cells(isas: &[Isa]) -> Vec<Cell> {
    let mut v = vec![Cell::Memcpy];
    for &isa in isas {
        v.push(Cell::Lut(isa, Threads::Serial, false));
    }
    let best = *isas.last().expect("the scalar ISA is always available");
    v.push(Cell::Lut(best, Threads::Serial, true));
    v.push(Cell::Lut(best, Threads::Auto, false));
    v
}

/// Each cell's fastest sample at `n` bytes, in GB/s.
fn measure(op: &Int8LeakyRelu, cells: &[Cell], n: usize, quick: bool) -> Vec<f64> {
    let x: Vec<u8> = (0..n)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    let mut y = vec![0u8; n];
    let mut z = x.clone();
    let call = |c: Cell, y: &mut [u8], z: &mut [u8]| match c {
        Cell::Memcpy => y.copy_from_slice(&x),
        Cell::Lut(isa, t, true) => op.forward_in_place_with(z, isa, t).unwrap(),
        Cell::Lut(isa, t, false) => op.forward_with(&x, y, isa, t).unwrap(),
    };
    let min_sample = if quick { 0.7e-3 } else { 2e-3 };
    let (min_samples, max_samples, budget) = if quick { (3, 3, 0.0) } else { (3, 11, 0.8) };
    let mut reps = Vec::new();
    let mut round = 0.0;
    for &c in cells {
        call(c, &mut y, &mut z);
        let t = Instant::now();
        call(c, &mut y, &mut z);
        let one = t.elapsed().as_secs_f64().max(1e-9);
        let r = (min_sample / one).ceil().clamp(1.0, 1e6) as u32;
        round += one * f64::from(r);
        reps.push(r);
    }
    let samples = ((budget / round) as usize).clamp(min_samples, max_samples);
    let mut best = vec![f64::INFINITY; cells.len()];
    let mut order: Vec<usize> = (0..cells.len()).collect();
    let mut seed = SHUFFLE_SEED;
    for _ in 0..samples {
        shuffle(&mut order, &mut seed);
        for &i in &order {
            let t = Instant::now();
            for _ in 0..reps[i] {
                call(cells[i], &mut y, &mut z);
                black_box((&mut y, &mut z));
            }
            best[i] = best[i].min(t.elapsed().as_secs_f64() / f64::from(reps[i]));
        }
    }
    best.iter().map(|s| (2 * n) as f64 / s / 1e9).collect()
}

/// Measures every size and prints the tables, the ratios and the targets, for four
/// parameter sets: one whose table has a plain linear form (calibration-like scales;
/// AVX2 and SIMD128 evaluate it), one whose form needs the fix for ties above the zero
/// point (a scale ratio of 1.25), one that needs it below (alpha 0.5) and one without a
/// linear form (a ratio of 17/16), which AVX2 and SIMD128 evaluate as its corrected
/// form. Targets: AVX2 and AVX-512 at least 4x the scalar table loop in L1 (up to 32
/// KiB), NEON 2x; the best ISA at least `copy_from_slice` from 16 MiB.
pub fn section(isas: &[Isa], sizes: &[usize], quick: bool) {
    let q = |scale, zero_point| QuantParams { scale, zero_point };
    let sets = [
        ("a plain linear form", 0.01, q(0.05, 120), q(0.043, 100)),
        (
            "ratio 1.25, exact ties: a linear form with a fix",
            0.01,
            q(0.05, 120),
            q(0.04, 100),
        ),
        (
            "alpha 0.5, equal scales, ties below the zero point: a form with a fix there",
            0.5,
            q(1.0, 128),
            q(1.0, 128),
        ),
        (
            "ratio 17/16, ties repeating every 32 inputs: a corrected form",
            0.01,
            q(1.0625, 128),
            q(1.0, 128),
        ),
    ];
    let mut misses = Vec::new();
    for (name, alpha, x, y) in sets {
        let op = Int8LeakyRelu::new(alpha, x, y).expect("valid parameters");
        let form = match (op.has_linear_form(), op.has_corrected_form()) {
            (true, false) => "the AVX2, SIMD128 and NEON kernels evaluate the form",
            (true, true) => "the AVX2 and SIMD128 kernels evaluate the form, NEON a corrected form",
            (false, true) => {
                "no linear form: the AVX2, SIMD128 and NEON kernels evaluate the corrected form"
            }
            (false, false) => "no linear form: every kernel looks up",
        };
        println!(
            "\nInt8LeakyRelu, {name} (alpha {alpha}, x scale {} zero point {}, y scale {} \
             zero point {}; {form}): GB/s = bytes read + written, fastest sample; x = ratio \
             to the scalar table loop and to memcpy\n",
            x.scale, x.zero_point, y.scale, y.zero_point
        );
        table(&op, name, isas, sizes, quick, &mut misses);
    }
    if misses.is_empty() {
        println!("\nInt8LeakyRelu targets: all met");
    } else {
        println!("\nInt8LeakyRelu targets missed: {}", misses.join("; "));
    }
}

/// One parameter set's table; the targets it misses go to `misses`.
fn table(
    op: &Int8LeakyRelu,
    name: &str,
    isas: &[Isa],
    sizes: &[usize],
    quick: bool,
    misses: &mut Vec<String>,
) {
    let cells = cells(isas);
    let best = *isas.last().expect("the scalar ISA is always available");
    let head: Vec<String> = cells.iter().map(|c| c.label()).collect();
    // A ratio to the scalar table loop for every SIMD ISA, serial, out of place.
    let simd: Vec<(Isa, usize)> = cells
        .iter()
        .enumerate()
        .filter_map(|(i, &c)| match c {
            Cell::Lut(isa, Threads::Serial, false)
                if !matches!(isa, Isa::Scalar | Isa::Portable) =>
            {
                Some((isa, i))
            }
            _ => None,
        })
        .collect();
    let ratios: Vec<String> = simd
        .iter()
        .map(|(isa, _)| format!("{isa} / scalar"))
        .collect();
    println!(
        "| buffer | {} | {} | {best} / memcpy |",
        head.join(" | "),
        ratios.join(" | ")
    );
    println!(
        "|---{}{}|---|",
        "|---".repeat(cells.len()),
        "|---".repeat(simd.len())
    );
    let i_scalar = cells
        .iter()
        .position(|&c| c == Cell::Lut(Isa::Scalar, Threads::Serial, false))
        .expect("scalar cell");
    let i_best = cells
        .iter()
        .position(|&c| c == Cell::Lut(best, Threads::Serial, false))
        .expect("best cell");
    for &bytes in sizes {
        let g = measure(op, &cells, bytes, quick);
        let vs_copy = g[i_best] / g[0];
        let row: Vec<String> = g.iter().map(|v| format!("{v:.1}")).collect();
        let vs_scalar: Vec<String> = simd
            .iter()
            .map(|&(_, i)| format!("{:.2}", g[i] / g[i_scalar]))
            .collect();
        println!(
            "| {} | {} | {} | {vs_copy:.2} |",
            fmt_size(bytes),
            row.join(" | "),
            vs_scalar.join(" | ")
        );
        for (i, &c) in cells.iter().enumerate() {
            let want = match c {
                Cell::Lut(Isa::Avx2 | Isa::Avx512, Threads::Serial, false) => 4.0,
                Cell::Lut(Isa::Neon, Threads::Serial, false) => 2.0,
                _ => continue,
            };
            let x = g[i] / g[i_scalar];
            if bytes <= 32 << 10 && x < want {
                misses.push(format!(
                    "{} at {} ({name}): {x:.2}x the scalar table loop (target {want}x)",
                    c.label(),
                    fmt_size(bytes)
                ));
            }
        }
        if bytes >= 16 << 20 && vs_copy < 1.0 {
            misses.push(format!(
                "{best} at {} ({name}): {vs_copy:.2}x memcpy (target 1.0x)",
                fmt_size(bytes)
            ));
        }
    }
}
