//! The main job: `cargo run --release --example report [-- --full] [--quick]
//! [--json PATH] [--svg PATH] [--sizes 4K,16K,4M] [--types f32,f64,f16,bf16,u8]`
//! (`--help` lists the options).
//!
//! 1. prints the CPU, its detected features and the ISA chosen for each op;
//! 2. checks every available ISA against the oracle on random and special values (a
//!    mismatch makes the run exit non-zero);
//! 3. measures throughput (GB/s = bytes read + written per second) next to
//!    `copy_from_slice` of the same buffer size (the roof) and next to the compiler's
//!    own loop for the same ISA, all interleaved round by round so machine noise hits
//!    every column alike. By default: every op and type on the best ISA, and f32 on
//!    every ISA, serial, 4 KiB to 256 MiB, each cell's fastest sample. `--full`: every
//!    ISA serial, with `Threads::Auto` and in place, 4 KiB to 1 GiB, each cell's
//!    median sample, then the targets and the sweeps;
//! 4. prints the tables and a markdown headline, writes one JSON object per measured
//!    cell and an SVG plot of the ratios;
//! 5. Int8LeakyRelu's table lookup on every ISA against the scalar table loop and
//!    `copy_from_slice` (with the u8 type);
//! 6. in a whole `--full` run (or alone with `--separate`): every op on the best ISA on
//!    separately allocated buffers under several placements, median and worst;
//! 7. built with `--features candle-nn`: candle's own relu and leaky_relu against the
//!    crate through `caffe2op_relu::candle` (f32, the same sizes; `--candle-only`
//!    measures only this section).

#[cfg(feature = "candle-nn")]
mod candle;
mod cells;
mod cli;
mod cpu;
mod int8_leaky;
mod measure;
mod oracle;
mod progress;
mod separate;
mod svg;
mod sweeps;
mod tables;
mod targets;

use std::process::ExitCode;
use std::time::Instant;

use caffe2op_relu::{Element, Isa};

use cells::{Cell, Func, Kind};
use cli::{Mode, Opts};
use measure::{Row, Sampling};
use progress::Progress;
use tables::fmt_size;

/// The largest buffer measured for the types other than f32.
const CAP_OTHERS: usize = 256 << 20;

/// The largest buffer measured for `dtype`.
fn cap(dtype: &str) -> usize {
    if dtype == "f32" {
        usize::MAX
    } else {
        CAP_OTHERS
    }
}

/// A rough cost of measuring `cells` cells (plus memcpy) at `bytes` per buffer, for the
/// progress bar: a few ms per cell in cache, about a tenth of a second per cell at
/// 256 MiB.
fn cost(cells: usize, bytes: usize) -> u64 {
    ((cells + 1) as f64 * (18.0 + 100.0 * bytes as f64 / f64::from(256u32 << 20))) as u64
}

/// One run: what it measures and what it has collected.
struct Run<'a> {
    o: &'a Opts,
    isas: Vec<Isa>,
    best: Isa,
    sizes: Vec<usize>,
    rows: Vec<Row>,
    /// Where the buffers of each table size sat (address mod 4096).
    placements: Vec<String>,
    /// The two-core check of each type (full runs).
    cores: Vec<String>,
    progress: Progress,
}

impl Run<'_> {
    fn full(&self) -> bool {
        self.o.mode == Mode::Full
    }

    fn sampling(&self, bytes: usize) -> Sampling {
        if self.full() {
            Sampling::full(bytes, self.o.quick)
        } else {
            Sampling::headline(self.o.quick)
        }
    }

    /// The sizes measured for a type whose buffers stop at `cap` bytes.
    fn sizes_up_to(&self, cap: usize) -> Vec<usize> {
        self.sizes.iter().copied().filter(|&b| b <= cap).collect()
    }

    /// The cells measured for `dtype` (besides memcpy).
    fn cells(&self, dtype: &str) -> Vec<Cell> {
        let mut cells = match (self.full(), dtype) {
            (true, "u8") => cells::int8(&self.isas, true),
            (false, "u8") => cells::int8(&[self.best], false),
            (true, _) => cells::full(&self.isas),
            (false, "f32") => cells::headline(&self.isas),
            (false, _) => cells::headline(&[self.best]),
        };
        if matches!(dtype, "f16" | "bf16") && self.full() && self.o.quick {
            // The compiler's f16/bf16 loops convert in software (up to 20x slower than
            // the kernels): in the quick full run they would take much of the run.
            cells.retain(|c| !matches!(c.kind, Kind::Naive | Kind::NaiveInPlace));
        }
        if matches!(dtype, "f16" | "bf16") {
            let isas = if self.full() {
                &self.isas[..]
            } else {
                &[self.best][..]
            };
            cells.extend(cells::round_trips(isas));
        }
        cells
    }

    /// The cost of the whole run, for the progress bar.
    fn total_cost(&self) -> u64 {
        cli::TYPES
            .iter()
            .filter(|t| self.o.wants(t))
            .map(|&t| {
                let n = self.cells(t).len();
                self.sizes_up_to(cap(t))
                    .iter()
                    .map(|&b| cost(n, b))
                    .sum::<u64>()
            })
            .sum()
    }

    /// Measures one float type at every size.
    fn float<T: Element>(&mut self) {
        if !self.o.wants(T::NAME) {
            return;
        }
        let cells = self.cells(T::NAME);
        let mut checks = Vec::new();
        for b in self.sizes_up_to(cap(T::NAME)) {
            self.progress.start(format!(
                "{} {}: {} cells",
                T::NAME,
                fmt_size(b),
                cells.len() + 1
            ));
            if self.full() {
                checks.push(cpu::core_entry(b));
            }
            let n = b / size_of::<T>();
            let rows = measure::measure::<T>(&cells, n, self.sampling(b), &mut self.placements);
            self.rows.extend(rows);
            self.progress.done(cost(cells.len(), b));
        }
        if self.full() {
            self.cores.push(cpu::core_line(T::NAME, &checks));
        }
    }

    /// Measures Int8Relu at every size.
    fn int8(&mut self) {
        if !self.o.wants("u8") {
            return;
        }
        let cells = self.cells("u8");
        let mut checks = Vec::new();
        for b in self.sizes_up_to(cap("u8")) {
            self.progress
                .start(format!("u8 {}: {} cells", fmt_size(b), cells.len() + 1));
            if self.full() {
                checks.push(cpu::core_entry(b));
            }
            let rows = measure::measure_int8(&cells, b, self.sampling(b), &mut self.placements);
            self.rows.extend(rows);
            self.progress.done(cost(cells.len(), b));
        }
        if self.full() && !checks.is_empty() {
            self.cores.push(cpu::core_line("u8", &checks));
        }
    }

    /// The full run's sections after the tables: placements, the two-core check, the
    /// targets, and (for a whole run) the sweeps.
    fn full_sections(&self) {
        // In cache, where two buffers sit relative to each other moves a copy by up to
        // 2x (4K aliasing: an output 16-64 bytes above its input modulo 4096); the
        // layout sweep measures chosen distances.
        println!(
            "\nbuffer placement in the tables above (address mod 4096; forward and memcpy \
             read x and write y, in place uses y, backward reads y and dy and writes dx)"
        );
        for p in &self.placements {
            println!("  {p}");
        }
        println!(
            "\ntwo-core check before each table size (copies of a fixed integer loop, in pairs \
             on two rayon threads against one after the other on one: about 2x when both cores \
             are free; where it is near 1x the host had lent this VM about one core's time \
             then, and that size's +auto cells say little about the crate)"
        );
        for c in &self.cores {
            println!("{c}");
        }
        targets::targets(&self.rows, self.best);
        if self.o.whole() {
            // The sweeps belong to a whole run, not to a selection.
            separate_sections(self.o, self.best, &self.sizes);
            sweeps::small_calls(self.best);
            sweeps::layouts(&self.isas, self.o.quick);
            sweeps::widths(self.o.quick);
            sweeps::thresholds(self.best, self.o.quick);
        }
    }
}

/// The separate-buffers section of each wanted float type, at the run's sizes up to
/// 64 MiB, and the cells whose worst placement fell below 1.0x.
fn separate_sections(o: &Opts, best: Isa, sizes: &[usize]) {
    let sizes: Vec<usize> = sizes.iter().copied().filter(|&b| b <= 64 << 20).collect();
    let mut below = Vec::new();
    for t in ["f32", "f64", "f16", "bf16"]
        .into_iter()
        .filter(|t| o.wants(t))
    {
        below.extend(match t {
            "f32" => separate::section::<f32>(best, &sizes, o.quick),
            "f64" => separate::section::<f64>(best, &sizes, o.quick),
            "f16" => separate::section::<half::f16>(best, &sizes, o.quick),
            _ => separate::section::<half::bf16>(best, &sizes, o.quick),
        });
    }
    if below.is_empty() {
        println!(
            "
separate buffers: every worst placement at least 1.0x"
        );
    } else {
        println!(
            "
separate buffers, worst placement below 1.0x: {}",
            below.join("; ")
        );
    }
}

fn main() -> ExitCode {
    let Some(o) = cli::opts() else {
        return ExitCode::SUCCESS;
    };
    let isas = Isa::available();
    let best = Isa::detected();
    cpu::print_header(&isas);

    let (checked, bad) = oracle::check(&isas);
    println!(
        "oracle check: {checked} elements compared over every ISA x function x type x threads, \
         {bad} mismatches"
    );
    if bad != 0 {
        eprintln!("report: MISMATCH against the oracle");
        return ExitCode::FAILURE;
    }

    let sizes = o.sizes();
    if o.candle_only {
        #[cfg(feature = "candle-nn")]
        candle::section(&sizes, o.quick);
        #[cfg(not(feature = "candle-nn"))]
        eprintln!("report: --candle-only needs the example built with --features candle-nn");
        return ExitCode::SUCCESS;
    }
    if o.separate_only {
        separate_sections(&o, best, &sizes);
        return ExitCode::SUCCESS;
    }
    if o.threads_only {
        sweeps::threads(best, o.quick);
        return ExitCode::SUCCESS;
    }
    let mut run = Run {
        o: &o,
        isas,
        best,
        progress: Progress::new(),
        sizes,
        rows: Vec::new(),
        placements: Vec::new(),
        cores: Vec::new(),
    };
    run.progress.set_total(run.total_cost());
    let t0 = Instant::now();
    run.float::<f32>();
    run.float::<f64>();
    run.float::<half::f16>();
    run.float::<half::bf16>();
    run.int8();
    run.progress.finish();

    for dtype in ["f32", "f64", "f16", "bf16"] {
        for f in Func::all() {
            tables::print_table(&run.rows, dtype, f, &run.sizes, run.sampling(0).stat);
        }
    }
    tables::print_table(
        &run.rows,
        "u8",
        Func::all()[0],
        &run.sizes,
        run.sampling(0).stat,
    );
    if o.wants("u8") {
        int8_leaky::section(&run.isas, &run.sizes, o.quick);
    }
    if run.full() {
        run.full_sections();
    }
    #[cfg(feature = "candle-nn")]
    if o.wants("f32") {
        candle::section(&run.sizes, o.quick);
    }
    if !run.rows.is_empty() {
        println!(
            "\nheadline (markdown)\n\n{}",
            tables::headline(&run.rows, best, run.sampling(0).stat)
        );
    }
    println!("measured in {:.0} s", t0.elapsed().as_secs_f64());

    let json: String = run
        .rows
        .iter()
        .map(|r| tables::json_line(r) + "\n")
        .collect();
    match std::fs::write(&o.json, json) {
        Ok(()) => println!("wrote {} ({} cells)", o.json, run.rows.len()),
        Err(e) => eprintln!("report: cannot write {}: {e}", o.json),
    }
    match std::fs::write(
        &o.svg,
        svg::plot(&run.rows, &cpu::cpu_name(), &cli::command_line()),
    ) {
        Ok(()) => println!("wrote {}", o.svg),
        Err(e) => eprintln!("report: cannot write {}: {e}", o.svg),
    }
    ExitCode::SUCCESS
}
