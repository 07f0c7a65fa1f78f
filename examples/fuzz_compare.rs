//! Fuzz-compare every available ISA against the scalar oracle, bit for bit: what a
//! user who distrusts SIMD kernels runs before relying on them.
//!
//! ```text
//! cargo run --release --example fuzz_compare                    # 2000 cases per cell
//! cargo run --release --example fuzz_compare -- --quick         # 60 cases per cell (CI)
//! cargo run --release --example fuzz_compare -- --isa avx2 --cases 100000 --seed 7
//! ```
//!
//! For each ISA this CPU can run (`Isa::available()`, or the one named by `--isa`),
//! each element type (`f32`, `f64`, `f16`, `bf16`, quantized `u8`) and each op, it
//! forces the ISA with `Kernel::with_isa` (serial, so the kernel itself is compared,
//! not the threading) and runs random cases: lengths 0..=300 and now and then up to
//! `--max-len`, start addresses at every offset within a cache line, parameters from
//! Caffe2's defaults to random ones, values that favour NaN payloads (quiet and
//! signalling), ±0, ±inf, subnormals and values at and around the kinks, in four
//! memory modes (out of place, in place, aliased same cells, aliased disjoint
//! cells), forward and backward. Every output element is compared with
//! `Activation::oracle_forward` / `oracle_backward` by its bits, and the elements
//! around the output must be untouched.
//!
//! Prints one line per ISA and type and exits with status 1 on the first
//! mismatches (each printed with the inputs that reproduce it), 2 on bad arguments.

use std::cell::Cell;
use std::process::ExitCode;
use std::time::Instant;

use caffe2op_relu::{Activation, Element, Isa, Kernel, Op, Threads};
use caffe2op_relu_kernels::ops::Rule;

struct Config {
    cases: usize,
    max_len: usize,
    seed: u64,
    isas: Vec<Isa>,
}

const USAGE: &str =
    "usage: fuzz_compare [--quick] [--cases N] [--max-len N] [--seed N] [--isa NAME]";

fn parse() -> Result<Config, String> {
    let mut cfg = Config {
        cases: 2000,
        max_len: 5000,
        seed: 0xC0FF_EE00,
        isas: Isa::available(),
    };
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let mut value = |name: &str| args.next().ok_or(format!("{name} needs a value"));
        match a.as_str() {
            "--quick" => {
                cfg.cases = 60;
                cfg.max_len = 1000;
            }
            "--cases" => {
                cfg.cases = value("--cases")?
                    .parse()
                    .map_err(|e| format!("--cases: {e}"))?
            }
            "--max-len" => {
                cfg.max_len = value("--max-len")?
                    .parse()
                    .map_err(|e| format!("--max-len: {e}"))?
            }
            "--seed" => {
                cfg.seed = value("--seed")?
                    .parse()
                    .map_err(|e| format!("--seed: {e}"))?
            }
            "--isa" => {
                let isa: Isa = value("--isa")?.parse().map_err(|e| format!("{e}"))?;
                cfg.isas = vec![isa.check().map_err(|e| e.to_string())?];
            }
            _ => return Err(format!("unknown argument {a:?}")),
        }
    }
    Ok(cfg)
}

fn main() -> ExitCode {
    let cfg = match parse() {
        Ok(c) => c,
        Err(e) => {
            eprintln!("fuzz_compare: {e}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    println!(
        "fuzz_compare: ISAs {:?} (detected best: {}), {} cases per ISA x type x op x \
         direction x mode, lengths up to {}, seed {}",
        cfg.isas.iter().map(|i| i.name()).collect::<Vec<_>>(),
        Isa::detected(),
        cfg.cases,
        cfg.max_len,
        cfg.seed
    );
    let t0 = Instant::now();
    let mut failures = 0;
    for &isa in &cfg.isas {
        failures += fuzz::<f32>(isa, &cfg);
        failures += fuzz::<f64>(isa, &cfg);
        failures += fuzz::<half::f16>(isa, &cfg);
        failures += fuzz::<half::bf16>(isa, &cfg);
        failures += fuzz_u8(isa, &cfg);
    }
    println!(
        "{} in {:.1} s",
        if failures == 0 {
            "all equal to the oracle".to_string()
        } else {
            format!("{failures} MISMATCHING CASES")
        },
        t0.elapsed().as_secs_f64()
    );
    if failures == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

/// splitmix64.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// Any bit pattern of `T`.
fn random_bits<T: Element>(rng: &mut Rng) -> T {
    let bytes = rng.next().to_le_bytes();
    bytemuck::pod_read_unaligned(&bytes[..size_of::<T>()])
}

/// A NaN (or infinity) of either sign with a random payload: the bits of +inf with
/// random bits OR-ed in (the exponent stays all ones).
fn random_nan<T: Element>(rng: &mut Rng) -> T {
    let inf = T::from_f64(f64::INFINITY);
    let r: T = random_bits(rng);
    let mut out = inf;
    let o: &mut [u8] = bytemuck::bytes_of_mut(&mut out);
    for (o, r) in o.iter_mut().zip(bytemuck::bytes_of(&r)) {
        *o |= r;
    }
    out
}

/// One test value for parameter `p`: specials, values near the kinks (0 and `p`),
/// NaNs with payloads, or raw bits.
fn value<T: Element>(rng: &mut Rng, p: f64) -> T {
    match rng.below(5) {
        0 => {
            let s = [
                0.0,
                -0.0,
                1.0,
                -1.0,
                f64::INFINITY,
                f64::NEG_INFINITY,
                p,
                -p,
                6.0,
                f64::MIN_POSITIVE,
                -1e-310,
                1e-45,
                f64::MAX,
            ];
            T::from_f64(s[rng.below(s.len())])
        }
        1 => T::from_f64((rng.unit() * 2.0 - 1.0) * if rng.below(2) == 0 { 1.0 } else { 1e-3 }),
        2 => {
            let p = if p.is_finite() { p } else { 1e30 };
            T::from_f64(p * (1.0 + (rng.unit() * 2.0 - 1.0) * 1e-3))
        }
        3 => random_nan(rng),
        _ => random_bits(rng),
    }
}

/// A random valid activation for `op` in `T` (Caffe2's default one time in four).
fn activation<T: Element>(rng: &mut Rng, op: Op) -> Activation {
    loop {
        // Each parameter by its rule (the op registry's).
        let mut params = Vec::new();
        for def in op.def().params {
            params.push(match (def.rule, rng.below(4)) {
                (_, 0) => def.default.unwrap_or(1.0),
                (Rule::Positive, 1) => [1.0, 0.5, f64::INFINITY, 3.0e38][rng.below(4)],
                (Rule::Positive, _) => rng.unit() * 100.0 + 1e-3,
                (Rule::FiniteNonNegative, 1) => [0.0, 1.0, 0.2, 1e-30][rng.below(4)],
                (Rule::FiniteNonNegative, _) => rng.unit() * 4.0,
                (_, 1) => [0.0, -1.0, 6.0, -3.0e38][rng.below(4)],
                (_, _) => rng.unit() * 200.0 - 100.0,
            });
        }
        if let Ok(a) = Activation::with_params(op, &params)
            && a.param_as::<T>().is_ok()
        {
            return a;
        }
    }
}

fn length(rng: &mut Rng, max_len: usize) -> usize {
    if rng.below(10) == 0 {
        rng.below(max_len + 1)
    } else {
        rng.below(301.min(max_len + 1))
    }
}

#[derive(Debug, Clone, Copy)]
enum Mode {
    OutOfPlace,
    InPlace,
    AliasedSame,
    AliasedDisjoint,
}

const MODES: [Mode; 4] = [
    Mode::OutOfPlace,
    Mode::InPlace,
    Mode::AliasedSame,
    Mode::AliasedDisjoint,
];

/// A buffer with `n` elements starting `off` elements past a 64-byte boundary plus a
/// guard zone after them, all of it `fill`; returns it and the start index.
fn buffer<T: Copy>(n: usize, off: usize, fill: T) -> (Vec<T>, usize) {
    let buf = vec![fill; n + 2 * 64 + off];
    let skip = (64 - buf.as_ptr() as usize % 64) % 64 / size_of::<T>();
    (buf, skip + off)
}

/// Runs one case; returns a description of the first mismatch, if any.
fn case<T: Element>(
    k: &Kernel,
    backward: bool,
    mode: Mode,
    a: &[T],
    b: &[T],
    off: usize,
) -> Option<String> {
    let act = k.activation();
    let n = a.len();
    let fill = T::from_f64(-1234.5);
    let expect: Vec<T> = if backward {
        a.iter()
            .zip(b)
            .map(|(&y, &dy)| act.oracle_backward(y, dy).unwrap())
            .collect()
    } else {
        a.iter().map(|&x| act.oracle_forward(x).unwrap()).collect()
    };
    // The output range, written in a guarded buffer; `b` is dy for backward calls.
    let (mut buf, s) = buffer(
        if matches!(mode, Mode::AliasedDisjoint) {
            3 * n
        } else {
            n
        },
        off,
        fill,
    );
    let r = match (mode, backward) {
        (Mode::OutOfPlace, false) => k.forward(a, &mut buf[s..s + n]),
        (Mode::OutOfPlace, true) => k.backward(a, b, &mut buf[s..s + n]),
        (Mode::InPlace, false) => {
            buf[s..s + n].copy_from_slice(a);
            k.forward_in_place(&mut buf[s..s + n])
        }
        (Mode::InPlace, true) => {
            buf[s..s + n].copy_from_slice(b);
            k.backward_in_place(a, &mut buf[s..s + n])
        }
        (Mode::AliasedSame, _) => {
            buf[s..s + n].copy_from_slice(if backward { b } else { a });
            let cells = Cell::from_mut(&mut buf[s..s + n]).as_slice_of_cells();
            if backward {
                let y: Vec<Cell<T>> = a.iter().map(|&v| Cell::new(v)).collect();
                k.backward_aliased(&y, cells, cells)
            } else {
                k.forward_aliased(cells, cells)
            }
        }
        (Mode::AliasedDisjoint, _) => {
            buf[s..s + n].copy_from_slice(a);
            buf[s + n..s + 2 * n].copy_from_slice(b);
            let cells = Cell::from_mut(&mut buf[s..s + 3 * n]).as_slice_of_cells();
            let (ins, out) = cells.split_at(2 * n);
            if backward {
                k.backward_aliased(&ins[..n], &ins[n..], out)
            } else {
                k.forward_aliased(&ins[..n], out)
            }
        }
    };
    if let Err(e) = r {
        return Some(format!("refused a valid call: {e}"));
    }
    let s0 = s;
    let s = if matches!(mode, Mode::AliasedDisjoint) {
        let inputs_kept = buf[s..s + n]
            .iter()
            .zip(a)
            .all(|(u, v)| u.to_bits() == v.to_bits())
            && buf[s + n..s + 2 * n]
                .iter()
                .zip(b)
                .all(|(u, v)| u.to_bits() == v.to_bits());
        if !inputs_kept {
            return Some("modified an input cell".to_string());
        }
        s + 2 * n
    } else {
        s
    };
    for i in 0..n {
        if buf[s + i].to_bits() != expect[i].to_bits() {
            let dy = if backward {
                format!(", dy {:?} ({:?})", b[i], b[i].to_bits())
            } else {
                String::new()
            };
            return Some(format!(
                "index {i} of {n}: input {:?} ({:?}){dy} -> got {:?} ({:?}), oracle {:?} ({:?})",
                a[i],
                a[i].to_bits(),
                buf[s + i],
                buf[s + i].to_bits(),
                expect[i],
                expect[i].to_bits()
            ));
        }
    }
    if let Some(i) = buf[s + n..]
        .iter()
        .position(|v| v.to_bits() != fill.to_bits())
    {
        return Some(format!(
            "wrote element {i} past the end of the output ({n} elements)"
        ));
    }
    if let Some(i) = buf[..s0].iter().position(|v| v.to_bits() != fill.to_bits()) {
        return Some(format!("wrote element {i} before the output"));
    }
    None
}

/// Fuzzes one ISA and element type; prints a summary line; returns the failures.
fn fuzz<T: Element>(isa: Isa, cfg: &Config) -> usize {
    let name = T::NAME
        .bytes()
        .fold(0u64, |h, c| h.wrapping_mul(31).wrapping_add(c.into()));
    let mut rng = Rng(cfg.seed ^ ((isa as u64) << 32) ^ name);
    let (mut cases, mut elements, mut failures) = (0usize, 0usize, 0usize);
    for op in Op::ALL {
        for backward in [false, true] {
            for mode in MODES {
                for _ in 0..cfg.cases {
                    let act = activation::<T>(&mut rng, op);
                    let k = Kernel::new(act)
                        .with_isa(isa)
                        .expect("only available ISAs are fuzzed")
                        .with_threads(Threads::Serial);
                    let n = length(&mut rng, cfg.max_len);
                    let off = rng.below(64 / size_of::<T>());
                    let p = act.param();
                    let a: Vec<T> = (0..n).map(|_| value(&mut rng, p)).collect();
                    // Backward inputs: half the time a real forward output.
                    let a = if backward && rng.below(2) == 0 {
                        a.iter().map(|&x| act.oracle_forward(x).unwrap()).collect()
                    } else {
                        a
                    };
                    let b: Vec<T> = (0..n).map(|_| value(&mut rng, p)).collect();
                    cases += 1;
                    elements += n;
                    if let Some(why) = case(&k, backward, mode, &a, &b, off) {
                        failures += 1;
                        if failures <= 5 {
                            println!(
                                "MISMATCH {isa} {} {act:?} {} {mode:?} offset {off}: {why}",
                                T::NAME,
                                if backward { "backward" } else { "forward" }
                            );
                        }
                    }
                }
            }
        }
    }
    println!(
        "{:>8} {:>5}: {cases:>7} cases, {elements:>10} elements, {failures} mismatches",
        isa.name(),
        T::NAME
    );
    failures
}

/// Int8Relu on a forced ISA (serial) against `int8_relu_oracle`, out of place and in
/// place.
fn fuzz_u8(isa: Isa, cfg: &Config) -> usize {
    let mut rng = Rng(cfg.seed ^ ((isa as u64) << 32) ^ 0x88);
    let (mut cases, mut elements, mut failures) = (0usize, 0usize, 0usize);
    for in_place in [false, true] {
        for _ in 0..cfg.cases * 4 {
            let n = length(&mut rng, cfg.max_len);
            let off = rng.below(64);
            let zp = match rng.below(4) {
                0 => 0,
                1 => 255,
                _ => rng.next() as u8,
            };
            let x: Vec<u8> = (0..n).map(|_| rng.next() as u8).collect();
            let (mut buf, s) = buffer(n, off, 0xA5u8);
            let r = if in_place {
                buf[s..s + n].copy_from_slice(&x);
                caffe2op_relu::int8_relu_in_place_with(&mut buf[s..s + n], zp, isa, Threads::Serial)
            } else {
                caffe2op_relu::int8_relu_with(&x, &mut buf[s..s + n], zp, isa, Threads::Serial)
            };
            cases += 1;
            elements += n;
            let bad = r.err().map(|e| format!("refused: {e}")).or_else(|| {
                let i =
                    (0..n).find(|&i| buf[s + i] != caffe2op_relu::int8_relu_oracle(x[i], zp))?;
                Some(format!(
                    "index {i} of {n}: x {} -> got {}, oracle {}",
                    x[i],
                    buf[s + i],
                    caffe2op_relu::int8_relu_oracle(x[i], zp)
                ))
            });
            let bad = bad.or_else(|| {
                let guard = buf[..s].iter().chain(&buf[s + n..]).any(|&v| v != 0xA5);
                guard.then(|| "wrote outside the output".to_string())
            });
            if let Some(why) = bad {
                failures += 1;
                if failures <= 5 {
                    println!(
                        "MISMATCH {isa} u8 zero_point {zp} in_place={in_place} offset {off}: {why}"
                    );
                }
            }
        }
    }
    println!(
        "{:>8} {:>5}: {cases:>7} cases, {elements:>10} elements, {failures} mismatches",
        isa.name(),
        "u8"
    );
    failures
}
