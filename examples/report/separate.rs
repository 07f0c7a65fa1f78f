//! The separate-buffers section (`--separate`; also part of a whole `--full` run): every
//! op's forward (out of place and in place) and backward on the best ISA, next to the
//! compiler's loop for that ISA and `copy_from_slice`, on buffers that are each a `Vec`
//! of their own, as a user's are, under several placements. Before each placement the
//! buffers are allocated again with a different number of bytes allocated between each
//! two, which moves where the allocator puts them relative to each other (the distance
//! modulo 4096 decides 4K aliasing; the offset in a cache line, split stores). Buffers
//! the allocator serves from `mmap` (glibc: from 128 KiB, or once freed blocks raised
//! its threshold, from up to 32 MiB) start 16 bytes into a page whatever the gap, as
//! users get them. Each cell is measured as in the main tables (interleaved with
//! memcpy, fastest sample); the table gives the median and the worst ratio over the
//! placements.

use caffe2op_relu::{Element, Isa, Threads};

use crate::cells::{Cell, Func, Kind, own_compiler_loop};
use crate::measure::{Row, Sampling, measure_spaced, median};
use crate::tables::fmt_size;

/// Bytes allocated between each two buffers, one placement each.
const GAPS: [usize; 6] = [0, 16, 48, 1040, 2064, 3120];

/// The cells of one op: the crate forward, in place and backward, and the compiler's
/// loops (forward out of place and in place, backward) where the ISA has its own.
fn cells(best: Isa) -> Vec<Cell> {
    let mut v = Vec::new();
    for func in Func::all() {
        v.push(Cell::new(func, Kind::Hand, best, Threads::Serial));
        if !func.grad {
            v.push(Cell::new(func, Kind::HandInPlace, best, Threads::Serial));
        }
        if own_compiler_loop(best) {
            v.push(Cell::new(func, Kind::Naive, best, Threads::Serial));
            if !func.grad {
                v.push(Cell::new(func, Kind::NaiveInPlace, best, Threads::Serial));
            }
        }
    }
    v
}

/// One ratio over the placements: "median (worst)".
struct Spread {
    median: f64,
    worst: f64,
}

impl Spread {
    fn of(mut v: Vec<f64>) -> Option<Spread> {
        if v.is_empty() {
            return None;
        }
        let worst = v.iter().copied().fold(f64::INFINITY, f64::min);
        Some(Spread {
            median: median(&mut v),
            worst,
        })
    }
    fn show(s: &Option<Spread>) -> String {
        match s {
            Some(s) => format!("{:.2} ({:.2})", s.median, s.worst),
            None => "-".into(),
        }
    }
}

/// Measures and prints one type's table; returns the cells whose worst placement fell
/// below 1.0x.
pub fn section<T: Element>(best: Isa, sizes: &[usize], quick: bool) -> Vec<String> {
    let cells = cells(best);
    let gaps: &[usize] = if quick { &GAPS[..3] } else { &GAPS };
    // Per placement, the rows of every cell at every size.
    let mut rows: Vec<Row> = Vec::new();
    let mut placements = Vec::new();
    for &bytes in sizes {
        for &gap in gaps {
            let n = bytes / size_of::<T>();
            rows.extend(measure_spaced::<T>(
                &cells,
                n,
                Sampling::headline(quick),
                &mut placements,
                gap,
            ));
        }
    }
    println!(
        "\nseparate buffers: {} on {best}, one thread, {} placements; ratio median (worst): \
         forward / memcpy, and each crate cell / the compiler's loop for {best}",
        T::NAME,
        gaps.len()
    );
    println!("| op | buffer | fwd / memcpy | fwd / loop | in place / loop | bwd / loop |");
    println!("|---|---|--:|--:|--:|--:|");
    let mut below = Vec::new();
    for op in caffe2op_relu::Op::ALL {
        for &bytes in sizes {
            // Rows of one (function, kind) at this size, in placement order.
            let gbps = |grad: bool, kind: Kind| -> Vec<f64> {
                rows.iter()
                    .filter(|r| {
                        r.bytes == bytes && r.cell.func == Func { op, grad } && r.cell.kind == kind
                    })
                    .map(|r| r.gbps)
                    .collect()
            };
            let memcpy: Vec<f64> = rows
                .iter()
                .filter(|r| {
                    r.bytes == bytes
                        && r.cell.func == Func { op, grad: false }
                        && r.cell.kind == Kind::Hand
                })
                .map(|r| r.memcpy_gbps)
                .collect();
            let ratio = |a: Vec<f64>, b: Vec<f64>| {
                Spread::of(a.iter().zip(&b).map(|(a, b)| a / b).collect())
            };
            let cols = [
                ("forward / memcpy", ratio(gbps(false, Kind::Hand), memcpy)),
                (
                    "forward / loop",
                    ratio(gbps(false, Kind::Hand), gbps(false, Kind::Naive)),
                ),
                (
                    "in place / loop",
                    ratio(
                        gbps(false, Kind::HandInPlace),
                        gbps(false, Kind::NaiveInPlace),
                    ),
                ),
                (
                    "backward / loop",
                    ratio(gbps(true, Kind::Hand), gbps(true, Kind::Naive)),
                ),
            ];
            println!(
                "| {} | {} | {} |",
                op.name(),
                fmt_size(bytes),
                cols.iter()
                    .map(|(_, s)| Spread::show(s))
                    .collect::<Vec<_>>()
                    .join(" | ")
            );
            for (name, s) in &cols {
                if let Some(s) = s
                    && s.worst < 1.0
                {
                    below.push(format!(
                        "{} {} {} {name}: {:.2}",
                        T::NAME,
                        op.name(),
                        fmt_size(bytes),
                        s.worst
                    ));
                }
            }
        }
    }
    below
}
