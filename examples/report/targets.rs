//! The targets section of a full run: the worst ratio of each performance target over
//! the sizes measured, per type and function, and whether it holds.

use caffe2op_relu::{Isa, Threads};

use crate::cells::{Func, Kind, own_compiler_loop};
use crate::measure::Row;
use crate::tables::{gbps, sizes_of};

/// Checks the performance targets of the README against the measured rows and prints
/// one line per (type, function): the worst ratio of each target and whether it holds.
pub fn targets(rows: &[Row], best: Isa) {
    let find = |dtype: &str, f: Func, kind: Kind, isa: Isa, threads: Threads, bytes: usize| {
        gbps(rows, dtype, f, kind, isa, threads, bytes)
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
        let sizes = sizes_of(rows, dtype);
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
    let sizes = sizes_of(rows, "u8");
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
