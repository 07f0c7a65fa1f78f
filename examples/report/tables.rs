//! The text output: the GB/s tables, the markdown headline and the JSON lines.

use std::fmt::Write as _;

use caffe2op_relu::{Isa, Threads};

use crate::cells::{Func, Kind, loop_isa};
use crate::measure::{Row, Stat};

/// `4K`, `16M`, `1G`.
pub fn fmt_size(b: usize) -> String {
    // The largest unit that gives a whole number (1.5 MiB is `1536K`).
    if b >= 1 << 30 && b.is_multiple_of(1 << 30) {
        format!("{}G", b >> 30)
    } else if b >= 1 << 20 && b.is_multiple_of(1 << 20) {
        format!("{}M", b >> 20)
    } else if b.is_multiple_of(1 << 10) {
        format!("{}K", b >> 10)
    } else {
        format!("{b}B")
    }
}

/// `4 KiB`, `16 MiB`, `1 GiB`, `100 B`.
fn fmt_size_long(b: usize) -> String {
    let s = fmt_size(b);
    let (num, unit) = s.split_at(s.len() - 1);
    if unit == "B" {
        format!("{num} B")
    } else {
        format!("{num} {unit}iB")
    }
}

/// The buffer sizes measured for `dtype`, ascending.
pub fn sizes_of(rows: &[Row], dtype: &str) -> Vec<usize> {
    let mut sizes: Vec<usize> = rows
        .iter()
        .filter(|r| r.dtype == dtype)
        .map(|r| r.bytes)
        .collect();
    sizes.sort_unstable();
    sizes.dedup();
    sizes
}

/// GB/s of the serial cell of `kind` on `isa` for `func` (any func for memcpy).
pub fn gbps(
    rows: &[Row],
    dtype: &str,
    func: Func,
    kind: Kind,
    isa: Isa,
    threads: Threads,
    bytes: usize,
) -> Option<f64> {
    rows.iter()
        .find(|r| {
            r.dtype == dtype
                && r.bytes == bytes
                && r.cell.kind == kind
                && r.cell.threads == threads
                && (kind == Kind::Memcpy || (r.cell.func == func && r.cell.isa == isa))
        })
        .map(|r| r.gbps)
}

/// One table: every variant measured for `dtype` and `func`, GB/s and the ratio to
/// memcpy, one column per buffer size.
pub fn print_table(rows: &[Row], dtype: &str, func: Func, sizes: &[usize], stat: Stat) {
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
    let name = if dtype == "u8" {
        "int8_relu".to_string()
    } else {
        func.name()
    };
    println!(
        "\n{dtype} {name}  (GB/s of the {} sample, x = ratio to memcpy of the same buffer size)",
        stat.name()
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

/// `best`'s serial kernel over memcpy and over its compiler loop, for one function of
/// `dtype` at `bytes` (Int8Relu's loop is the naive one).
fn ratios(
    rows: &[Row],
    dtype: &str,
    f: Func,
    best: Isa,
    bytes: usize,
) -> (Option<f64>, Option<f64>) {
    let s = Threads::Serial;
    let (hand, naive) = if dtype == "u8" {
        (
            gbps(rows, dtype, f, Kind::Int8, best, s, bytes),
            gbps(rows, dtype, f, Kind::Int8Naive, Isa::Scalar, s, bytes),
        )
    } else {
        (
            gbps(rows, dtype, f, Kind::Hand, best, s, bytes),
            gbps(rows, dtype, f, Kind::Naive, loop_isa(best), s, bytes),
        )
    };
    let memcpy = gbps(rows, dtype, f, Kind::Memcpy, Isa::Scalar, s, bytes);
    (
        hand.zip(memcpy).map(|(a, b)| a / b),
        hand.zip(naive).map(|(a, b)| a / b),
    )
}

/// `1.23x`, or `1.10-1.45x` for a range, or `-`.
fn fmt_range(v: &[f64]) -> String {
    let lo = v.iter().copied().fold(f64::INFINITY, f64::min);
    let hi = v.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    if v.is_empty() {
        "-".into()
    } else if format!("{lo:.2}") == format!("{hi:.2}") {
        format!("{lo:.2}x")
    } else {
        format!("{lo:.2}–{hi:.2}x")
    }
}

/// The headline in markdown: `best` against `copy_from_slice` and against the
/// compiler's loop at 4 KiB, 1 MiB and 256 MiB (where the run measured other sizes:
/// the smallest, a middle and the largest): one row per op for f32, then one row per
/// other type (the range over its ops).
pub fn headline(rows: &[Row], best: Isa, stat: Stat) -> String {
    let all = sizes_of(rows, rows.first().map_or("f32", |r| r.dtype));
    let wanted = [4 << 10, 1 << 20, 256 << 20];
    let sizes: Vec<usize> = if wanted.iter().all(|b| all.contains(b)) {
        wanted.to_vec()
    } else if all.len() > 3 {
        vec![all[0], all[all.len() / 2], all[all.len() - 1]]
    } else {
        all
    };
    let lp = loop_isa(best);
    let mut s = String::new();
    let head = |s: &mut String, first: &str| {
        let _ = write!(s, "| {first} |");
        for &b in &sizes {
            let z = fmt_size_long(b);
            let _ = write!(s, " {z}: vs copy | {z}: vs loop |");
        }
        s.push_str("\n|---|");
        s.push_str(&"--:|".repeat(2 * sizes.len()));
        s.push('\n');
    };
    if rows.iter().any(|r| r.dtype == "f32") {
        head(&mut s, &format!("f32 on {best}, 1 thread"));
        for f in Func::all() {
            let _ = write!(s, "| {} |", f.name());
            for &b in &sizes {
                let (m, n) = ratios(rows, "f32", f, best, b);
                let _ = write!(s, " {} | {} |", fmt_range(&opt(m)), fmt_range(&opt(n)));
            }
            s.push('\n');
        }
        let _ = write!(s, "| copy_from_slice, GB/s |");
        for &b in &sizes {
            let g = gbps(
                rows,
                "f32",
                Func::all()[0],
                Kind::Memcpy,
                Isa::Scalar,
                Threads::Serial,
                b,
            );
            let _ = write!(s, " {} | |", g.map_or("-".into(), |g| format!("{g:.1}")));
        }
        s.push('\n');
    }
    let others: Vec<&str> = ["f64", "f16", "bf16", "u8"]
        .into_iter()
        .filter(|t| rows.iter().any(|r| r.dtype == *t))
        .collect();
    if !others.is_empty() {
        if !s.is_empty() {
            s.push('\n');
        }
        head(
            &mut s,
            &format!("type on {best}, 1 thread (range over the ops)"),
        );
        for &t in &others {
            let name = if t == "u8" { "u8 int8_relu" } else { t };
            let _ = write!(s, "| {name} |");
            let funcs = if t == "u8" {
                vec![Func::all()[0]]
            } else {
                Func::all()
            };
            for &b in &sizes {
                let (mut m, mut n) = (Vec::new(), Vec::new());
                for &f in &funcs {
                    let (a, c) = ratios(rows, t, f, best, b);
                    m.extend(a);
                    n.extend(c);
                }
                let _ = write!(s, " {} | {} |", fmt_range(&m), fmt_range(&n));
            }
            s.push('\n');
        }
    }
    let _ = writeln!(
        s,
        "\nvs copy: GB/s (bytes read + written, {} of the samples) over `copy_from_slice` of \
         the same buffer size; vs loop: over the compiler's own loop (the oracle) built for \
         {lp}{}.",
        stat.name(),
        if others.contains(&"u8") {
            " (int8_relu: the plain loop for the baseline target)"
        } else {
            ""
        }
    );
    s
}

fn opt(v: Option<f64>) -> Vec<f64> {
    v.into_iter().collect()
}

/// One measured cell as a JSON object on one line.
pub fn json_line(r: &Row) -> String {
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
        "{{\"op\":\"{op}\",\"dtype\":\"{}\",\"isa\":\"{isa}\",\"threads\":{threads},\"bytes\":{},\"gbps\":{},\"memcpy_gbps\":{},\"ratio\":{}}}",
        r.dtype,
        r.bytes,
        json_num(r.gbps, 3),
        json_num(r.memcpy_gbps, 3),
        json_num(r.gbps / r.memcpy_gbps, 4)
    )
}

/// A JSON number with `digits` decimals, or `null` for a cell without a rate (an
/// in-place cell whose copy took all of its time: `measure::Fresh`).
fn json_num(x: f64, digits: usize) -> String {
    if x.is_finite() {
        format!("{x:.digits$}")
    } else {
        "null".into()
    }
}
