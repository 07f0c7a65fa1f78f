//! The main job: `cargo run --release --example report [-- --quick] [--json PATH] [--svg PATH]
//! [--sizes 4K,16K,4M] [--types f32,f64,f16,bf16,u8]`
//!
//! 1. prints the CPU, its detected features and the ISA chosen for each op and type;
//! 2. checks every available ISA against the oracle on random and special values;
//! 3. measures throughput (GB/s = bytes read + written per second) of every op x type
//!    x ISA, serial and `Threads::Auto`, next to `copy_from_slice` of the same buffer
//!    size (the roof) and next to the compiler-vectorised oracle loop for each ISA,
//!    all interleaved round by round so machine noise hits every column alike;
//! 4. writes one JSON object per measured cell and an SVG plot.

use std::fmt::Write as _;
use std::hint::black_box;
use std::time::{Duration, Instant};

use caffe2op_relu::{Activation, Element, Isa, Kernel, Op, Threads, autovec};

// ---------------------------------------------------------------------------------
// Options

struct Opts {
    quick: bool,
    json: String,
    svg: String,
    /// `--sizes 16K,4M`: only these buffer sizes.
    sizes: Option<Vec<usize>>,
    /// `--types f32,bf16`: only these element types (`u8` for Int8Relu).
    types: Option<Vec<String>>,
}

/// `16K`, `4M`, `1G` or a plain byte count.
fn parse_size(s: &str) -> Option<usize> {
    let s = s.trim();
    let (num, shift) = match s.as_bytes().last()? {
        b'K' | b'k' => (&s[..s.len() - 1], 10),
        b'M' | b'm' => (&s[..s.len() - 1], 20),
        b'G' | b'g' => (&s[..s.len() - 1], 30),
        _ => (s, 0),
    };
    num.parse::<usize>().ok()?.checked_mul(1 << shift)
}

fn opts() -> Opts {
    let mut o = Opts {
        quick: false,
        json: "report.json".into(),
        svg: "report.svg".into(),
        sizes: None,
        types: None,
    };
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--quick" => o.quick = true,
            "--json" => o.json = args.next().unwrap_or(o.json),
            "--svg" => o.svg = args.next().unwrap_or(o.svg),
            "--sizes" => {
                let v: Option<Vec<usize>> = args
                    .next()
                    .unwrap_or_default()
                    .split(',')
                    .map(parse_size)
                    .collect();
                match v {
                    Some(v) if !v.is_empty() => o.sizes = Some(v),
                    _ => eprintln!("report: --sizes wants e.g. 4K,16K,4M; ignored"),
                }
            }
            "--types" => {
                let v = args.next().unwrap_or_default();
                o.types = Some(v.split(',').map(|t| t.trim().to_string()).collect());
            }
            "--bench" => {} // passed by `cargo bench`-style runners; ignored
            other => eprintln!("report: ignoring unknown argument {other:?}"),
        }
    }
    o
}

// ---------------------------------------------------------------------------------
// What is measured

/// Whether the ISA registry gives `isa` a compiler loop of its own (its features'
/// vectorisation of the oracle), not the baseline target's: the ISAs with
/// hand-written kernels to compare against it.
fn own_compiler_loop(isa: Isa) -> bool {
    !std::ptr::eq(isa.def().autovec, &caffe2op_relu_kernels::arch::SCALAR)
}

/// The six functions.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
struct Func {
    op: Op,
    grad: bool,
}

impl Func {
    /// Every op of the registry, forward then backward.
    fn all() -> Vec<Func> {
        let fwd = Op::ALL.map(|op| Func { op, grad: false });
        fwd.into_iter()
            .chain(Op::ALL.map(|op| Func { op, grad: true }))
            .collect()
    }
    fn name(self) -> String {
        if self.grad {
            format!("{}_grad", self.op.name())
        } else {
            self.op.name().to_string()
        }
    }
    fn act(self) -> Activation {
        Activation::caffe2_default(self.op).expect("every op has Caffe2 defaults")
    }
    /// Buffers streamed per element (inputs + output).
    fn streams(self) -> usize {
        if self.grad { 3 } else { 2 }
    }
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Kind {
    /// The crate's kernel, out of place.
    Hand,
    /// The crate's kernel, in place (forward: x = f(x); backward: dy = f'(y) dy).
    HandInPlace,
    /// The compiler-vectorised oracle for the ISA, out of place.
    Naive,
    /// The compiler-vectorised oracle for the ISA, in place.
    NaiveInPlace,
    /// `copy_from_slice` of one buffer.
    Memcpy,
    /// Int8Relu (u8), out of place.
    Int8,
    /// Int8Relu in place.
    Int8InPlace,
    /// The naive Int8Relu loop.
    Int8Naive,
}

#[derive(Clone, Copy, Debug)]
struct Cell {
    func: Func,
    kind: Kind,
    isa: Isa,
    threads: Threads,
    /// The kernel the cell calls, built once: the timed loop measures calls, not the
    /// building of a `Kernel` (a few ns, which moved 4 KiB results by up to 20%).
    kernel: Kernel,
}

impl Cell {
    fn new(func: Func, kind: Kind, isa: Isa, threads: Threads) -> Cell {
        let kernel = Kernel::new(func.act())
            .with_threads(threads)
            .with_isa(isa)
            .expect("only available ISAs are measured");
        Cell {
            func,
            kind,
            isa,
            threads,
            kernel,
        }
    }

    fn label(&self) -> String {
        let t = if self.threads == Threads::Auto {
            "+auto"
        } else {
            ""
        };
        match self.kind {
            Kind::Hand => format!("{}{t}", self.isa),
            Kind::HandInPlace => format!("{} in-place{t}", self.isa),
            Kind::Naive => format!("naive-{}", self.isa),
            Kind::NaiveInPlace => format!("naive-{} in-place", self.isa),
            Kind::Memcpy => "memcpy".into(),
            Kind::Int8 => format!("{}{t}", self.isa),
            Kind::Int8InPlace => format!("{} in-place", self.isa),
            Kind::Int8Naive => "naive-scalar".into(),
        }
    }
}

/// What `measure_with` asks of a cell: one call (timed), or the reset of its
/// buffers before a sample (untimed; only in-place cells have one).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Step {
    Restore,
    Call,
}

struct Bufs<T> {
    x: Vec<T>,
    y: Vec<T>,
    dy: Vec<T>,
    dx: Vec<T>,
}

fn fill<T: Element>(n: usize, seed: u64, scale: f64) -> Vec<T> {
    let mut s = seed;
    (0..n)
        .map(|_| {
            s = s
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            T::from_f64(((s >> 11) as f64 / (1u64 << 53) as f64 - 0.5) * scale)
        })
        .collect()
}

impl<T: Element> Bufs<T> {
    fn new(n: usize) -> Self {
        Bufs {
            x: fill(n, 1, 16.0),
            y: fill(n, 2, 16.0),
            dy: fill(n, 3, 2.0),
            dx: fill(n, 4, 2.0),
        }
    }

    /// One call of `cell`, or (`Step::Restore`) the in-place cells' buffer reset.
    fn run(&mut self, c: &Cell, step: Step) {
        if step == Step::Restore {
            // An in-place cell starts each sample from the original input, whatever
            // the cell before it left there (the output of another op, or leaky_relu
            // applied a thousand times over).
            match (c.kind, c.func.grad) {
                (Kind::HandInPlace | Kind::NaiveInPlace, false) => self.y.copy_from_slice(&self.x),
                (Kind::HandInPlace, true) => self.dx.copy_from_slice(&self.dy),
                _ => {}
            }
            return;
        }
        let k = c.kernel;
        let act = k.activation();
        let r = match (c.kind, c.func.grad) {
            // The same source and destination as the forward kernel: the relative
            // alignment of two buffers moves L1-resident copies by up to 30%, so
            // both columns get the same pair.
            (Kind::Memcpy, _) => {
                self.y.copy_from_slice(&self.x);
                Ok(())
            }
            (Kind::Hand, false) => k.forward(&self.x, &mut self.y),
            (Kind::HandInPlace, false) => k.forward_in_place(&mut self.y),
            (Kind::Naive, false) => autovec::forward(c.isa, act, &self.x, &mut self.y),
            (Kind::NaiveInPlace, false) => autovec::forward_in_place(c.isa, act, &mut self.y),
            (Kind::Hand, true) => k.backward(&self.y, &self.dy, &mut self.dx),
            (Kind::HandInPlace, true) => k.backward_in_place(&self.y, &mut self.dx),
            (Kind::Naive, true) => autovec::backward(c.isa, act, &self.y, &self.dy, &mut self.dx),
            (Kind::NaiveInPlace, true) | (Kind::Int8 | Kind::Int8InPlace | Kind::Int8Naive, _) => {
                Ok(())
            }
        };
        r.expect("valid call");
        black_box(&mut self.y);
        black_box(&mut self.dx);
    }
}

/// Bytes moved by one call.
fn bytes_moved(c: &Cell, n: usize, s: usize) -> usize {
    match c.kind {
        Kind::Memcpy | Kind::Int8 | Kind::Int8InPlace | Kind::Int8Naive => 2 * n * s,
        _ => c.func.streams() * n * s,
    }
}

fn cells_for(funcs: &[Func], isas: &[Isa]) -> Vec<Cell> {
    let mut v = Vec::new();
    for &func in funcs {
        for &isa in isas {
            for threads in [Threads::Serial, Threads::Auto] {
                v.push(Cell::new(func, Kind::Hand, isa, threads));
            }
            v.push(Cell::new(func, Kind::HandInPlace, isa, Threads::Serial));
            if isa == Isa::Scalar || own_compiler_loop(isa) {
                v.push(Cell::new(func, Kind::Naive, isa, Threads::Serial));
                if !func.grad {
                    v.push(Cell::new(func, Kind::NaiveInPlace, isa, Threads::Serial));
                }
            }
        }
    }
    v
}

struct Row {
    dtype: &'static str,
    cell: Cell,
    bytes: usize,
    gbps: f64,
    memcpy_gbps: f64,
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

/// How many samples each cell takes, and the least time a sample lasts.
#[derive(Clone, Copy)]
struct Sampling {
    samples: usize,
    min_sample: Duration,
}

/// Measures every cell (plus memcpy) at `n` elements, interleaved round by round.
fn measure<T: Element>(
    cells: &[Cell],
    n: usize,
    sampling: Sampling,
    placements: &mut Vec<String>,
) -> Vec<Row> {
    let mut bufs = Bufs::<T>::new(n);
    let at = |p: *const T| p as usize % 4096;
    placements.push(format!(
        "{:<5} {:>5}: x {:>4}  y {:>4}  dy {:>4}  dx {:>4}",
        T::NAME,
        fmt_size(n * size_of::<T>()),
        at(bufs.x.as_ptr()),
        at(bufs.y.as_ptr()),
        at(bufs.dy.as_ptr()),
        at(bufs.dx.as_ptr())
    ));
    measure_with(T::NAME, size_of::<T>(), cells, n, sampling, |c, step| {
        bufs.run(c, step)
    })
}

/// Measures `cells` (plus memcpy first) with `run`, interleaved round by round.
fn measure_with(
    dtype: &'static str,
    elem: usize,
    cells: &[Cell],
    n: usize,
    Sampling {
        samples,
        min_sample,
    }: Sampling,
    mut run: impl FnMut(&Cell, Step),
) -> Vec<Row> {
    let memcpy = Cell::new(Func::all()[0], Kind::Memcpy, Isa::Scalar, Threads::Serial);
    let mut all: Vec<Cell> = vec![memcpy];
    all.extend_from_slice(cells);
    // Calibrate: repetitions per sample so one sample lasts about `min_sample`.
    let reps: Vec<u32> = all
        .iter()
        .map(|c| {
            run(c, Step::Restore);
            run(c, Step::Call);
            let t = Instant::now();
            run(c, Step::Call);
            let one = t.elapsed().as_secs_f64().max(1e-9);
            (min_sample.as_secs_f64() / one).ceil().clamp(1.0, 1e6) as u32
        })
        .collect();
    let mut times: Vec<Vec<f64>> = vec![Vec::with_capacity(samples); all.len()];
    let mut order: Vec<usize> = (0..all.len()).collect();
    let mut seed = 0x9E37_79B9_7F4A_7C15u64;
    for _ in 0..samples {
        // A new order each round (a seeded shuffle), so no cell always follows the
        // same neighbour: the one before it leaves the caches, and for the in-place
        // cells the buffer, in its own state.
        for j in (1..order.len()).rev() {
            seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            order.swap(j, ((seed >> 33) % (j as u64 + 1)) as usize);
        }
        for &i in &order {
            run(&all[i], Step::Restore);
            let t = Instant::now();
            for _ in 0..reps[i] {
                run(&all[i], Step::Call);
            }
            times[i].push(t.elapsed().as_secs_f64() / reps[i] as f64);
        }
    }
    let gbps: Vec<f64> = all
        .iter()
        .zip(times.iter_mut())
        .map(|(c, t)| bytes_moved(c, n, elem) as f64 / median(t) / 1e9)
        .collect();
    let memcpy_gbps = gbps[0];
    all.iter()
        .zip(gbps)
        .map(|(c, g)| Row {
            dtype,
            cell: *c,
            bytes: n * elem,
            gbps: g,
            memcpy_gbps,
        })
        .collect()
}

/// Int8Relu cells: each ISA serial, `Threads::Auto` and in place, and the naive loop.
fn int8_cells(isas: &[Isa]) -> Vec<Cell> {
    let func = Func::all()[0];
    let mut v = Vec::new();
    for &isa in isas {
        for threads in [Threads::Serial, Threads::Auto] {
            v.push(Cell::new(func, Kind::Int8, isa, threads));
        }
        v.push(Cell::new(func, Kind::Int8InPlace, isa, Threads::Serial));
    }
    v.push(Cell::new(
        func,
        Kind::Int8Naive,
        Isa::Scalar,
        Threads::Serial,
    ));
    v
}

/// The naive Int8Relu loop (baseline target).
#[inline(never)]
fn naive_int8(x: &[u8], y: &mut [u8], zp: u8) {
    for (o, &v) in y.iter_mut().zip(x) {
        *o = v.max(zp);
    }
}

/// Measures the Int8Relu cells (plus memcpy) at `n` bytes, interleaved round by round.
fn measure_int8(
    cells: &[Cell],
    n: usize,
    sampling: Sampling,
    placements: &mut Vec<String>,
) -> Vec<Row> {
    let x: Vec<u8> = (0..n)
        .map(|i| (i.wrapping_mul(2654435761) >> 7) as u8)
        .collect();
    let mut y = vec![0u8; n];
    placements.push(format!(
        "u8    {:>5}: x {:>4}  y {:>4}",
        fmt_size(n),
        x.as_ptr() as usize % 4096,
        y.as_ptr() as usize % 4096
    ));
    let zp = 128;
    measure_with("u8", 1, cells, n, sampling, |c, step| {
        if step == Step::Restore {
            if c.kind == Kind::Int8InPlace {
                y.copy_from_slice(&x);
            }
            return;
        }
        let r = match c.kind {
            Kind::Memcpy => {
                y.copy_from_slice(&x);
                Ok(())
            }
            Kind::Int8 => caffe2op_relu::int8_relu_with(&x, &mut y, zp, c.isa, c.threads),
            Kind::Int8InPlace => {
                caffe2op_relu::int8_relu_in_place_with(&mut y, zp, c.isa, c.threads)
            }
            _ => {
                naive_int8(&x, &mut y, zp);
                Ok(())
            }
        };
        r.expect("valid call");
        black_box(&mut y);
    })
}

// ---------------------------------------------------------------------------------
// Correctness check against the oracle

fn check_oracle<T: Element>(isas: &[Isa]) -> (usize, usize) {
    let n = 4099;
    let mut x: Vec<T> = fill(n, 7, 20.0);
    // Special values: the bit patterns where SIMD max/min and selects go wrong.
    let specials = [
        0.0,
        -0.0,
        f64::INFINITY,
        f64::NEG_INFINITY,
        f64::NAN,
        -f64::NAN,
        6.0,
        -6.0,
        1e-310,
        -1e-310,
    ];
    for (i, s) in specials.iter().enumerate() {
        x[i * 3] = T::from_f64(*s);
    }
    let dy: Vec<T> = fill(n, 8, 3.0);
    let (mut checked, mut bad) = (0, 0);
    for f in Func::all() {
        let act = f.act();
        let expect: Vec<T> = if f.grad {
            x.iter()
                .zip(&dy)
                .map(|(&a, &b)| act.oracle_backward(a, b).unwrap())
                .collect()
        } else {
            x.iter().map(|&a| act.oracle_forward(a).unwrap()).collect()
        };
        for &isa in isas {
            for threads in [Threads::Serial, Threads::Auto] {
                let k = Kernel::new(act)
                    .with_isa(isa)
                    .unwrap()
                    .with_threads(threads);
                let mut out = vec![T::default(); n];
                if f.grad {
                    k.backward(&x, &dy, &mut out).unwrap();
                } else {
                    k.forward(&x, &mut out).unwrap();
                }
                checked += n;
                bad += out
                    .iter()
                    .zip(&expect)
                    .filter(|(a, b)| a.to_bits() != b.to_bits())
                    .count();
            }
        }
    }
    (checked, bad)
}

fn check_int8(isas: &[Isa]) -> (usize, usize) {
    let x: Vec<u8> = (0..=255u8).cycle().take(4099).collect();
    let (mut checked, mut bad) = (0, 0);
    for &isa in isas {
        for zp in [0u8, 1, 127, 128, 200, 255] {
            let mut y = vec![0u8; x.len()];
            caffe2op_relu::int8_relu_with(&x, &mut y, zp, isa, Threads::Auto).unwrap();
            checked += y.len();
            bad += y
                .iter()
                .zip(&x)
                .filter(|&(&o, &i)| o != caffe2op_relu::int8_relu_oracle(i, zp))
                .count();
        }
    }
    (checked, bad)
}

// ---------------------------------------------------------------------------------
// Output

fn fmt_size(b: usize) -> String {
    if b >= 1 << 30 {
        format!("{}G", b >> 30)
    } else if b >= 1 << 20 {
        format!("{}M", b >> 20)
    } else {
        format!("{}K", b >> 10)
    }
}

fn print_table(rows: &[Row], dtype: &str, func: Func, sizes: &[usize]) {
    let sel: Vec<&Row> = rows
        .iter()
        .filter(|r| r.dtype == dtype && (r.cell.kind == Kind::Memcpy || r.cell.func == func))
        .collect();
    if sel.is_empty() {
        return; // a type left out by --types
    }
    let mut labels: Vec<String> = Vec::new();
    for r in &sel {
        let l = r.cell.label();
        if !labels.contains(&l) {
            labels.push(l);
        }
    }
    println!(
        "\n{dtype} {}  (GB/s, x = ratio to memcpy of the same buffer size)",
        func.name()
    );
    print!("{:<24}", "variant \\ buffer");
    for s in sizes {
        print!("{:>15}", fmt_size(*s));
    }
    println!();
    for l in labels {
        print!("{l:<24}");
        for &s in sizes {
            match sel.iter().find(|r| r.cell.label() == l && r.bytes == s) {
                Some(r) => print!("{:>8.1} {:>5.2}x", r.gbps, r.gbps / r.memcpy_gbps),
                None => print!("{:>15}", "-"),
            }
        }
        println!();
    }
}

/// Checks the performance targets of the README against the measured rows and prints
/// one line per (type, function): the worst ratio of each target and whether it holds.
fn targets(rows: &[Row], best: Isa) {
    let find = |dtype: &str, f: Func, kind: Kind, isa: Isa, threads: Threads, bytes: usize| {
        rows.iter()
            .find(|r| {
                r.dtype == dtype
                    && r.bytes == bytes
                    && r.cell.kind == kind
                    && r.cell.isa == isa
                    && r.cell.threads == threads
                    && (kind == Kind::Memcpy || r.cell.func == f)
            })
            .map(|r| r.gbps)
    };
    println!(
        "\ntargets ({best}, serial unless noted; worst ratio over sizes; big = 64 MiB and above)"
    );
    println!(
        "{:<22} {:>15} {:>15} {:>15} {:>15} {:>19}",
        "type function",
        "fwd/memcpy",
        "fwd big/memcpy",
        "in-place/naive",
        "hand/naive",
        "auto/serial (best)"
    );
    for dtype in ["f32", "f64", "f16", "bf16"] {
        let mut sizes: Vec<usize> = rows
            .iter()
            .filter(|r| r.dtype == dtype)
            .map(|r| r.bytes)
            .collect();
        sizes.sort_unstable();
        sizes.dedup();
        if sizes.is_empty() {
            // Not measured in this run (`--types`).
            continue;
        }
        for f in Func::all() {
            let ratio = |a: Option<f64>, b: Option<f64>| a.zip(b).map(|(a, b)| a / b);
            let mut w = Worst::default();
            for &b in &sizes {
                let hand = find(dtype, f, Kind::Hand, best, Threads::Serial, b);
                let base = if f.grad {
                    find(dtype, f, Kind::Naive, best, Threads::Serial, b)
                } else {
                    find(dtype, f, Kind::Memcpy, Isa::Scalar, Threads::Serial, b)
                };
                // Forward: vs memcpy; backward: vs the naive loop for the same ISA.
                w.forward(b, ratio(hand, base));
                if !f.grad {
                    let ip = find(dtype, f, Kind::HandInPlace, best, Threads::Serial, b);
                    let nip = find(dtype, f, Kind::NaiveInPlace, best, Threads::Serial, b);
                    least(&mut w.inplace, ratio(ip, nip));
                }
                for isa in Isa::ALL.into_iter().filter(|&i| own_compiler_loop(i)) {
                    let h = find(dtype, f, Kind::Hand, isa, Threads::Serial, b);
                    let n = find(dtype, f, Kind::Naive, isa, Threads::Serial, b);
                    least(&mut w.naive, ratio(h, n));
                }
                w.auto(
                    b,
                    ratio(find(dtype, f, Kind::Hand, best, Threads::Auto, b), hand),
                );
            }
            let big_need = if f.grad { 1.3 } else { 1.4 };
            target_row(&format!("{dtype} {}", f.name()), &w, big_need);
        }
    }
    // Int8Relu: the same columns; its naive loop is the one scalar loop (the compiler
    // vectorises it for the baseline target), and it has no naive in-place cell.
    let mut sizes: Vec<usize> = rows
        .iter()
        .filter(|r| r.dtype == "u8")
        .map(|r| r.bytes)
        .collect();
    sizes.sort_unstable();
    sizes.dedup();
    if !sizes.is_empty() {
        let f = Func::all()[0];
        let ratio = |a: Option<f64>, b: Option<f64>| a.zip(b).map(|(a, b)| a / b);
        let mut w = Worst::default();
        for &b in &sizes {
            let hand = find("u8", f, Kind::Int8, best, Threads::Serial, b);
            let memcpy = find("u8", f, Kind::Memcpy, Isa::Scalar, Threads::Serial, b);
            w.forward(b, ratio(hand, memcpy));
            let naive = find("u8", f, Kind::Int8Naive, Isa::Scalar, Threads::Serial, b);
            least(&mut w.naive, ratio(hand, naive));
            w.auto(
                b,
                ratio(find("u8", f, Kind::Int8, best, Threads::Auto, b), hand),
            );
        }
        target_row("u8 int8_relu", &w, 1.4);
    }
    println!("(backward rows: columns 1-2 compare with the naive backward loop for the same ISA;");
    println!(" int8_relu's naive loop is the scalar one, vectorised by the compiler for x86-64)");
}

/// The worst ratios of one row of the targets section over the sizes measured (and
/// `Threads::Auto`'s best against serial in 1-16 MiB); `None` where no cell was
/// measured, or the row has no such column.
#[derive(Default)]
struct Worst {
    fwd: Option<f64>,
    big: Option<f64>,
    inplace: Option<f64>,
    naive: Option<f64>,
    auto_min: Option<f64>,
    auto_best: Option<f64>,
}

/// Lowers `slot` to `r` (if there is an `r`).
fn least(slot: &mut Option<f64>, r: Option<f64>) {
    if let Some(r) = r {
        *slot = Some(slot.map_or(r, |m| m.min(r)));
    }
}

impl Worst {
    /// The forward (or backward) ratio at `bytes` per buffer.
    fn forward(&mut self, bytes: usize, r: Option<f64>) {
        least(&mut self.fwd, r);
        if bytes >= 64 << 20 {
            least(&mut self.big, r);
        }
    }

    /// `Threads::Auto` over serial at `bytes` per buffer.
    fn auto(&mut self, bytes: usize, r: Option<f64>) {
        least(&mut self.auto_min, r);
        if let Some(r) = r.filter(|_| (1 << 20..=16 << 20).contains(&bytes)) {
            self.auto_best = Some(self.auto_best.map_or(r, |m| m.max(r)));
        }
    }
}

/// One row of the targets section: each worst ratio against its target, then
/// `Threads::Auto`'s worst and best (1-16 MiB) ratios to serial; `-` where a row
/// has no cell.
fn target_row(name: &str, w: &Worst, big_need: f64) {
    let mark = |ok: bool| if ok { "ok " } else { "SHORT" };
    let show = |v: Option<f64>, need: f64| match v {
        Some(v) => format!("{v:>5.2} {}", mark(v >= need)),
        None => "     -".to_string(),
    };
    let auto = match (w.auto_min, w.auto_best) {
        (Some(lo), Some(hi)) => format!(
            "{lo:>6.2} {} ({hi:.2} {})",
            mark(lo >= 0.95),
            mark(hi >= 1.6)
        ),
        (Some(lo), None) => format!("{lo:>6.2} {} (-)", mark(lo >= 0.95)),
        _ => format!("{:>6}", "-"),
    };
    println!(
        "{:<22} {:>15} {:>15} {:>15} {:>15} {auto}",
        name,
        show(w.fwd, 1.0),
        show(w.big, big_need),
        show(w.inplace, 1.0),
        show(w.naive, 1.0),
    );
}

fn json_line(r: &Row) -> String {
    let c = &r.cell;
    let isa = match c.kind {
        Kind::Naive | Kind::NaiveInPlace => format!("naive-{}", c.isa),
        Kind::Int8Naive => "naive-scalar".into(),
        Kind::Memcpy => "memcpy".into(),
        _ => c.isa.to_string(),
    };
    let op = match c.kind {
        Kind::Memcpy => "memcpy".to_string(),
        Kind::Int8 | Kind::Int8Naive => "int8_relu".to_string(),
        Kind::Int8InPlace => "int8_relu_in_place".to_string(),
        Kind::HandInPlace | Kind::NaiveInPlace => format!("{}_in_place", c.func.name()),
        _ => c.func.name(),
    };
    let threads = if c.threads == Threads::Auto {
        rayon::current_num_threads()
    } else {
        1
    };
    format!(
        "{{\"op\":\"{op}\",\"dtype\":\"{}\",\"isa\":\"{isa}\",\"threads\":{threads},\"bytes\":{},\"gbps\":{:.3},\"memcpy_gbps\":{:.3},\"ratio\":{:.4}}}",
        r.dtype,
        r.bytes,
        r.gbps,
        r.memcpy_gbps,
        r.gbps / r.memcpy_gbps
    )
}

fn svg(rows: &[Row], sizes: &[usize], isas: &[Isa]) -> String {
    let funcs = Func::all();
    let (pw, ph, ml, mt) = (420.0, 260.0, 55.0, 30.0);
    let (w, h) = (3.0 * (pw + 20.0) + 20.0, 2.0 * (ph + 70.0) + 40.0);
    let mut s = String::new();
    let _ = writeln!(
        s,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{w}\" height=\"{h}\" font-family=\"sans-serif\" font-size=\"11\">"
    );
    let _ = writeln!(s, "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>");
    let _ = writeln!(
        s,
        "<text x=\"20\" y=\"20\" font-size=\"14\">caffe2op-relu, f32, 1 thread: GB/s (read + written) vs buffer size; black = memcpy</text>"
    );
    let colors = ["#888888", "#1f77b4", "#d62728", "#2ca02c", "#9467bd"];
    let max_g = rows
        .iter()
        .filter(|r| r.dtype == "f32")
        .map(|r| r.gbps)
        .fold(1.0, f64::max)
        * 1.05;
    let lo = (sizes[0] as f64).log2();
    let hi = (*sizes.last().unwrap() as f64).log2().max(lo + 1.0);
    for (pi, f) in funcs.iter().enumerate() {
        let ox = 20.0 + (pi % 3) as f64 * (pw + 20.0);
        let oy = 40.0 + (pi / 3) as f64 * (ph + 70.0);
        let px = |b: usize| ox + ml + ((b as f64).log2() - lo) / (hi - lo) * (pw - ml - 10.0);
        let py = |g: f64| oy + mt + (1.0 - g / max_g) * (ph - mt - 25.0);
        let _ = writeln!(
            s,
            "<text x=\"{}\" y=\"{}\" font-size=\"13\">{}</text>",
            ox + ml,
            oy + 15.0,
            f.name()
        );
        let _ = writeln!(
            s,
            "<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"none\" stroke=\"#ccc\"/>",
            ox + ml,
            oy + mt,
            pw - ml - 10.0,
            ph - mt - 25.0
        );
        for k in 0..=4 {
            let g = max_g * k as f64 / 4.0;
            let _ = writeln!(
                s,
                "<text x=\"{}\" y=\"{}\" text-anchor=\"end\">{g:.0}</text>",
                ox + ml - 4.0,
                py(g) + 4.0
            );
        }
        let mut last_label = f64::MIN;
        for &b in sizes {
            // Skip a label that would overlap the previous one (e.g. 8M next to 4M).
            if px(b) - last_label < 28.0 {
                continue;
            }
            last_label = px(b);
            let _ = writeln!(
                s,
                "<text x=\"{}\" y=\"{}\" text-anchor=\"middle\">{}</text>",
                px(b),
                oy + ph - 8.0,
                fmt_size(b)
            );
        }
        let mut line = |pts: Vec<(usize, f64)>, color: &str, dash: &str, label: &str, li: usize| {
            if pts.is_empty() {
                return;
            }
            let d: Vec<String> = pts
                .iter()
                .map(|&(b, g)| format!("{:.1},{:.1}", px(b), py(g)))
                .collect();
            let _ = writeln!(
                s,
                "<polyline points=\"{}\" fill=\"none\" stroke=\"{color}\" stroke-width=\"2\" stroke-dasharray=\"{dash}\"/>",
                d.join(" ")
            );
            let _ = writeln!(
                s,
                "<text x=\"{}\" y=\"{}\" fill=\"{color}\">{label}</text>",
                ox + pw - 120.0,
                oy + mt + 14.0 + 13.0 * li as f64
            );
        };
        let pick = |kind: Kind, isa: Option<Isa>| -> Vec<(usize, f64)> {
            sizes
                .iter()
                .filter_map(|&b| {
                    rows.iter()
                        .find(|r| {
                            r.dtype == "f32"
                                && r.bytes == b
                                && r.cell.kind == kind
                                && r.cell.threads == Threads::Serial
                                && (kind == Kind::Memcpy
                                    || (r.cell.func == *f && Some(r.cell.isa) == isa))
                        })
                        .map(|r| (b, r.gbps))
                })
                .collect()
        };
        line(pick(Kind::Memcpy, None), "#000000", "", "memcpy", 0);
        for (ii, &isa) in isas.iter().enumerate() {
            line(
                pick(Kind::Hand, Some(isa)),
                colors[ii % colors.len()],
                "",
                isa.name(),
                ii + 1,
            );
        }
        if let Some(&best) = isas.last() {
            line(
                pick(Kind::Naive, Some(best)),
                "#ff7f0e",
                "5,3",
                &format!("naive-{best}"),
                isas.len() + 1,
            );
        }
    }
    s.push_str("</svg>\n");
    s
}

fn cpu_name() -> String {
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
fn core_entry(bytes: usize) -> String {
    format!("{} {:.1}x", fmt_size(bytes), core_check())
}

/// One type's two-core line, printed after the tables.
fn core_line(name: &str, entries: &[String]) -> String {
    format!("  {name:<5} {}", entries.join(", "))
}

// ---------------------------------------------------------------------------------

/// Samples per cell and the least time per sample, by buffer size. In cache and in
/// L3 the other tenants of this kind of shared machine come and go within a round,
/// so those sizes take 11 samples (with 7, the median of a cell was now and then one
/// taken in a busy spell; 2 ms samples instead of 4 amortised a call's cold start,
/// such as waking the pool's second thread, over too few calls); DRAM sizes take
/// fewer.
fn sampling(bytes: usize, quick: bool) -> Sampling {
    let (samples, min_us) = if quick {
        (3, 700)
    } else if bytes >= 256 << 20 {
        (5, 1000)
    } else if bytes > 16 << 20 {
        (7, 4000)
    } else {
        (11, 4000)
    };
    Sampling {
        samples,
        min_sample: Duration::from_micros(min_us),
    }
}

fn run_type<T: Element>(
    rows: &mut Vec<Row>,
    placements: &mut Vec<String>,
    cores: &mut Vec<String>,
    sizes: &[usize],
    isas: &[Isa],
    quick: bool,
    dtype_sizes_cap: usize,
) {
    let all_cells = cells_for(&Func::all(), isas);
    let mut checks = Vec::new();
    for &b in sizes.iter().filter(|&&b| b <= dtype_sizes_cap) {
        checks.push(core_entry(b));
        let mut cells = all_cells.clone();
        if size_of::<T>() == 2 && quick {
            // The compiler's f16/bf16 loops convert in software (up to 20x slower than the
            // kernels): in quick mode they would take much of the run.
            cells.retain(|c| !matches!(c.kind, Kind::Naive | Kind::NaiveInPlace));
        }
        let n = b / size_of::<T>();
        let t = Instant::now();
        rows.extend(measure::<T>(&cells, n, sampling(b, quick), placements));
        eprintln!(
            "  {} {:>5}: {} cells in {:.1} s",
            T::NAME,
            fmt_size(b),
            cells.len() + 1,
            t.elapsed().as_secs_f64()
        );
    }
    cores.push(core_line(T::NAME, &checks));
}

/// The naive loop, called directly (baseline target, no dispatch, no checks).
#[inline(never)]
fn naive_relu(x: &[f32], y: &mut [f32]) {
    for (o, &v) in y.iter_mut().zip(x) {
        *o = if v < 0.0 { 0.0 } else { v };
    }
}

/// Time per call (ns) for tiny inputs: the crate's default entry vs the naive loop.
fn small_calls(isa: Isa) {
    println!(
        "\nsmall inputs (f32 relu, out of place): ns per call, crate default dispatch ({isa}; up to 256 bytes the oracle inline) vs a direct call of the naive loop"
    );
    for n in [1usize, 8, 64] {
        let x: Vec<f32> = fill(n, 5, 4.0);
        let mut y = vec![0.0f32; n];
        let reps = 2_000_000u32;
        let mut best = [f64::MAX; 2];
        for _ in 0..5 {
            let t = Instant::now();
            for _ in 0..reps {
                caffe2op_relu::relu(black_box(&x), black_box(&mut y)).unwrap();
            }
            best[0] = best[0].min(t.elapsed().as_secs_f64() / reps as f64 * 1e9);
            let t = Instant::now();
            for _ in 0..reps {
                naive_relu(black_box(&x), black_box(&mut y));
            }
            best[1] = best[1].min(t.elapsed().as_secs_f64() / reps as f64 * 1e9);
        }
        println!(
            "  n = {n:>3}: crate {:>6.2} ns, naive {:>6.2} ns, ratio {:.2}",
            best[0],
            best[1],
            best[0] / best[1]
        );
    }
}

/// In-cache copies depend on where the output sits relative to the input (4 KiB
/// aliasing, cache-line splits): f32 relu at 4 KiB and 16 KiB with the output placed
/// `d` bytes above the input modulo 4096, in one allocation, next to
/// `copy_from_slice` between the same two ranges.
fn layouts(isas: &[Isa], quick: bool) {
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
fn widths(quick: bool) {
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
fn thresholds(isa: Isa, quick: bool) {
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
    let saved = caffe2op_relu::tuning::parallel_min_bytes();
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
    caffe2op_relu::tuning::set_parallel_min_bytes(saved);

    let sizes: Vec<usize> = if quick {
        vec![1 << 20, 4 << 20]
    } else {
        vec![
            64 << 10,
            128 << 10,
            256 << 10,
            512 << 10,
            1 << 20,
            2 << 20,
            4 << 20,
            6 << 20,
            8 << 20,
            12 << 20,
            16 << 20,
            64 << 20,
        ]
    };
    println!(
        "\nthreads, f32 relu on {isa}: GB/s with {} rayon threads / serial (ratio)",
        rayon::current_num_threads()
    );
    let saved = caffe2op_relu::tuning::parallel_min_bytes();
    caffe2op_relu::tuning::set_parallel_min_bytes(0);
    for &b in &sizes {
        let n = b / 4;
        let x: Vec<f32> = fill(n, 1, 16.0);
        let mut y = vec![0.0f32; n];
        let k = Kernel::new(Activation::relu()).with_isa(isa).unwrap();
        let ks = k.with_threads(Threads::Serial);
        let reps = (((32 << 20) / b).max(1)) as u32;
        let (ta, ts) = ab(if quick { 3 } else { 9 }, reps, |a| {
            if a {
                k.forward(&x, &mut y).unwrap()
            } else {
                ks.forward(&x, &mut y).unwrap()
            }
        });
        let bytes = 2.0 * b as f64;
        println!(
            "{:>8} {:>7.1} /{:>6.1} ({:.2}x)",
            fmt_size(b),
            bytes / ta / 1e9,
            bytes / ts / 1e9,
            ts / ta
        );
    }
    caffe2op_relu::tuning::set_parallel_min_bytes(saved);
}

/// The buffer sizes of a full run, 4 KiB to 1 GiB.
fn full_sizes() -> Vec<usize> {
    vec![
        4 << 10,
        16 << 10,
        64 << 10,
        256 << 10,
        1 << 20,
        4 << 20,
        8 << 20,
        16 << 20,
        64 << 20,
        256 << 20,
        1 << 30,
    ]
}

fn main() {
    let o = opts();
    let isas = Isa::available();
    println!("caffe2op-relu report");
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
            "f32/f64 out of place on avx512 (leaky_relu_grad from 1 MiB): {} main loops",
            if caffe2op_relu::tuning::avx512_ymm_loops() {
                "256-bit (this core splits 512-bit accesses)"
            } else {
                "512-bit"
            }
        );
    } else {
        println!("avx512: not on this CPU (its cells and the vector-width section are left out)");
    }
    for f in Func::all() {
        let k = Kernel::new(f.act());
        println!("  {:<16} f32, f64, f16, bf16: {}", f.name(), k.isa());
    }

    let checks = [
        check_oracle::<f32>(&isas),
        check_oracle::<f64>(&isas),
        check_oracle::<half::f16>(&isas),
        check_oracle::<half::bf16>(&isas),
        check_int8(&isas),
    ];
    let (checked, bad) = checks.iter().fold((0, 0), |a, c| (a.0 + c.0, a.1 + c.1));
    println!(
        "oracle check: {checked} elements compared over every ISA x function x type x threads, \
         {bad} mismatches"
    );
    if bad != 0 {
        eprintln!("report: MISMATCH against the oracle");
        std::process::exit(1);
    }

    let sizes: Vec<usize> = if o.quick {
        vec![4 << 10, 1 << 20, 16 << 20]
    } else {
        full_sizes()
    };
    let sizes = o.sizes.clone().unwrap_or(sizes);
    let wants = |t: &str| o.types.as_ref().is_none_or(|v| v.iter().any(|x| x == t));
    let mut rows = Vec::new();
    let mut placements = Vec::new();
    let mut cores = Vec::new();
    let t0 = Instant::now();
    if wants("f32") {
        run_type::<f32>(
            &mut rows,
            &mut placements,
            &mut cores,
            &sizes,
            &isas,
            o.quick,
            usize::MAX,
        );
    }
    if wants("f64") {
        run_type::<f64>(
            &mut rows,
            &mut placements,
            &mut cores,
            &sizes,
            &isas,
            o.quick,
            256 << 20,
        );
    }
    if wants("f16") {
        run_type::<half::f16>(
            &mut rows,
            &mut placements,
            &mut cores,
            &sizes,
            &isas,
            o.quick,
            256 << 20,
        );
    }
    if wants("bf16") {
        run_type::<half::bf16>(
            &mut rows,
            &mut placements,
            &mut cores,
            &sizes,
            &isas,
            o.quick,
            256 << 20,
        );
    }
    let cells8 = int8_cells(&isas);
    let mut u8_cores = Vec::new();
    for &b in sizes.iter().filter(|&&b| b <= 256 << 20 && wants("u8")) {
        u8_cores.push(core_entry(b));
        rows.extend(measure_int8(
            &cells8,
            b,
            sampling(b, o.quick),
            &mut placements,
        ));
    }

    for dtype in ["f32", "f64", "f16", "bf16"] {
        for f in Func::all() {
            print_table(&rows, dtype, f, &sizes);
        }
    }
    print_table(&rows, "u8", Func::all()[0], &sizes);
    // In cache, where two buffers sit relative to each other moves a copy by up to
    // 2x (4K aliasing: an output 16-64 bytes above its input modulo 4096); the
    // layout section below measures chosen distances.
    println!(
        "\nbuffer placement in the tables above (address mod 4096; forward and memcpy read x and write y, in place uses y, backward reads y and dy and writes dx)"
    );
    for p in &placements {
        println!("  {p}");
    }
    if !u8_cores.is_empty() {
        cores.push(core_line("u8", &u8_cores));
    }
    println!(
        "\ntwo-core check before each table size (copies of a fixed integer loop, in pairs \
         on two rayon threads against one after the other on one: about 2x when both cores \
         are free; where it is near 1x the host had lent this VM about one core's time \
         then, and that size's +auto cells say little about the crate)"
    );
    for c in &cores {
        println!("{c}");
    }
    targets(&rows, Isa::detected());
    small_calls(*isas.last().unwrap());
    if o.sizes.is_none() && o.types.is_none() {
        layouts(&isas, o.quick);
        widths(o.quick);
    }
    if o.sizes.is_none() && o.types.is_none() {
        // The threshold sweeps belong to a whole run, not to a selection.
        thresholds(*isas.last().unwrap(), o.quick);
    }
    println!("\nmeasured in {:.0} s", t0.elapsed().as_secs_f64());

    let json: String = rows.iter().map(|r| json_line(r) + "\n").collect();
    match std::fs::write(&o.json, json) {
        Ok(()) => println!("wrote {} ({} cells)", o.json, rows.len()),
        Err(e) => eprintln!("report: cannot write {}: {e}", o.json),
    }
    match std::fs::write(&o.svg, svg(&rows, &sizes, &isas)) {
        Ok(()) => println!("wrote {}", o.svg),
        Err(e) => eprintln!("report: cannot write {}: {e}", o.svg),
    }
}
