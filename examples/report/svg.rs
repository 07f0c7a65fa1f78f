//! The plot: per function a panel of ratios against buffer size (log axis), one line
//! per ISA; the upper block against `copy_from_slice`, the lower against the
//! compiler's own loop for the same ISA. The absolute GB/s stay in the JSON and tables.

use std::fmt::Write as _;

use caffe2op_relu::{Isa, Threads};

use crate::cells::{Func, Kind, loop_isa};
use crate::measure::Row;
use crate::tables::{fmt_size, gbps, sizes_of};

/// One colour per ISA, by its place in `Isa::ALL`.
const COLORS: [&str; 8] = [
    "#7f7f7f", "#2ca02c", "#1f77b4", "#d62728", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2",
];

fn color(isa: Isa) -> &'static str {
    let i = Isa::ALL.iter().position(|&x| x == isa).unwrap_or(0);
    COLORS[i % COLORS.len()]
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// The ratio of `isa`'s serial kernel to memcpy (`vs_loop` false) or to its compiler
/// loop (true), for `f` on `dtype` at `bytes`.
fn ratio(rows: &[Row], dtype: &str, f: Func, isa: Isa, bytes: usize, vs_loop: bool) -> Option<f64> {
    let s = Threads::Serial;
    let int8 = dtype == "u8";
    let hand = if int8 { Kind::Int8 } else { Kind::Hand };
    let h = gbps(rows, dtype, f, hand, isa, s, bytes)?;
    let base = match (vs_loop, int8) {
        (false, _) => gbps(rows, dtype, f, Kind::Memcpy, Isa::Scalar, s, bytes),
        (true, false) => gbps(rows, dtype, f, Kind::Naive, loop_isa(isa), s, bytes),
        (true, true) => gbps(rows, dtype, f, Kind::Int8Naive, Isa::Scalar, s, bytes),
    }?;
    Some(h / base)
}

/// A tick step and the top of a linear axis from 0 that holds `max`.
fn axis(max: f64) -> (f64, f64) {
    let step = if max <= 3.0 {
        0.5
    } else if max <= 6.0 {
        1.0
    } else {
        (max / 6.0).ceil()
    };
    let top = ((max * 1.05) / step).ceil().max(1.0) * step;
    (step, top.max(1.5))
}

const PW: f64 = 270.0; // plot width
const PH: f64 = 150.0; // plot height
const COL: f64 = 330.0; // column stride
const LEFT: f64 = 60.0; // left edge of the first plot
const ROW: f64 = 210.0; // row stride inside a block

/// The SVG: f32 (or the first type measured), every ISA with serial cells.
pub fn plot(rows: &[Row], cpu: &str, command: &str) -> String {
    let dtype = if rows.iter().any(|r| r.dtype == "f32") {
        "f32"
    } else {
        rows.first().map_or("f32", |r| r.dtype)
    };
    let sizes = sizes_of(rows, dtype);
    let funcs: Vec<Func> = if dtype == "u8" {
        vec![Func::all()[0]]
    } else {
        Func::all()
    };
    let hand = if dtype == "u8" {
        Kind::Int8
    } else {
        Kind::Hand
    };
    let isas: Vec<Isa> = Isa::ALL
        .into_iter()
        .filter(|&i| {
            rows.iter().any(|r| {
                r.dtype == dtype
                    && r.cell.kind == hand
                    && r.cell.isa == i
                    && r.cell.threads == Threads::Serial
            })
        })
        .collect();
    let block_rows = funcs.len().div_ceil(3) as f64;
    let block_h = 40.0 + block_rows * ROW;
    let (w, h) = (LEFT + 2.0 * COL + PW + 20.0, 100.0 + 2.0 * block_h);
    let mut s = String::new();
    let _ = writeln!(
        s,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{w}\" height=\"{h}\" viewBox=\"0 0 {w} {h}\" font-family=\"sans-serif\" font-size=\"11\">"
    );
    let _ = writeln!(s, "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>");
    let _ = writeln!(
        s,
        "<text x=\"20\" y=\"26\" font-size=\"17\" font-weight=\"bold\">caffe2op-relu: {dtype}, 1 thread, throughput as a ratio (higher is better)</text>"
    );
    let _ = writeln!(
        s,
        "<text x=\"20\" y=\"46\" fill=\"#555\">{}, {} rayon threads; {}; the GB/s are in the JSON and the text output</text>",
        escape(cpu),
        rayon::current_num_threads(),
        escape(command)
    );
    // Legend: one entry per ISA, then the reference line.
    let mut lx = 20.0;
    for &isa in &isas {
        let _ = writeln!(
            s,
            "<line x1=\"{lx}\" y1=\"66\" x2=\"{}\" y2=\"66\" stroke=\"{}\" stroke-width=\"3\"/><text x=\"{}\" y=\"70\" font-size=\"12\">{}</text>",
            lx + 22.0,
            color(isa),
            lx + 27.0,
            isa.name()
        );
        lx += 40.0 + 7.5 * isa.name().len() as f64;
    }
    let _ = writeln!(
        s,
        "<line x1=\"{lx}\" y1=\"66\" x2=\"{}\" y2=\"66\" stroke=\"#000\" stroke-dasharray=\"4,3\"/><text x=\"{}\" y=\"70\" font-size=\"12\">1.0 = as fast as the baseline</text>",
        lx + 22.0,
        lx + 27.0
    );
    let blocks = [
        (false, "against copy_from_slice of the same buffer size".to_string()),
        (
            true,
            "against the compiler's own loop (the oracle) built for the same ISA; scalar and portable: the baseline target's"
                .to_string(),
        ),
    ];
    let lo = sizes.first().map_or(12.0, |&b| (b as f64).log2());
    let hi = sizes
        .last()
        .map_or(lo + 1.0, |&b| (b as f64).log2())
        .max(lo + 1.0);
    let px = |ox: f64, b: usize| ox + 8.0 + ((b as f64).log2() - lo) / (hi - lo) * (PW - 16.0);
    for (bi, (vs_loop, title)) in blocks.iter().enumerate() {
        let top = 100.0 + bi as f64 * block_h;
        let _ = writeln!(
            s,
            "<text x=\"20\" y=\"{}\" font-size=\"14\" font-weight=\"bold\">{}</text>",
            top + 8.0,
            escape(title)
        );
        let mut max: f64 = 1.0;
        for &f in &funcs {
            for &i in &isas {
                for &b in &sizes {
                    if let Some(r) = ratio(rows, dtype, f, i, b, *vs_loop) {
                        max = max.max(r);
                    }
                }
            }
        }
        let (step, ytop) = axis(max);
        for (pi, &f) in funcs.iter().enumerate() {
            let ox = LEFT + (pi % 3) as f64 * COL;
            let oy = top + 40.0 + (pi / 3) as f64 * ROW;
            let py = |r: f64| oy + PH - r / ytop * PH;
            let name = if dtype == "u8" {
                "int8_relu".into()
            } else {
                f.name()
            };
            let _ = writeln!(
                s,
                "<text x=\"{ox}\" y=\"{}\" font-size=\"13\">{name}</text>",
                oy - 7.0
            );
            let _ = writeln!(
                s,
                "<rect x=\"{ox}\" y=\"{oy}\" width=\"{PW}\" height=\"{PH}\" fill=\"#fafafa\" stroke=\"#bbb\"/>"
            );
            let mut k = 0.0;
            while k <= ytop + 1e-9 {
                let y = py(k);
                let _ = writeln!(
                    s,
                    "<line x1=\"{ox}\" y1=\"{y:.1}\" x2=\"{}\" y2=\"{y:.1}\" stroke=\"#e4e4e4\"/><text x=\"{}\" y=\"{:.1}\" text-anchor=\"end\" fill=\"#444\">{k:.1}x</text>",
                    ox + PW,
                    ox - 5.0,
                    y + 4.0
                );
                k += step;
            }
            let mut last = f64::MIN;
            for &b in &sizes {
                let x = px(ox, b);
                let _ = writeln!(
                    s,
                    "<line x1=\"{x:.1}\" y1=\"{}\" x2=\"{x:.1}\" y2=\"{}\" stroke=\"#bbb\"/>",
                    oy + PH,
                    oy + PH + 4.0
                );
                // Skip a label that would overlap the previous one.
                if x - last < 34.0 {
                    continue;
                }
                last = x;
                let _ = writeln!(
                    s,
                    "<text x=\"{x:.1}\" y=\"{}\" text-anchor=\"middle\" fill=\"#444\">{}</text>",
                    oy + PH + 16.0,
                    fmt_size(b)
                );
            }
            let y1 = py(1.0);
            let _ = writeln!(
                s,
                "<line x1=\"{ox}\" y1=\"{y1:.1}\" x2=\"{}\" y2=\"{y1:.1}\" stroke=\"#000\" stroke-dasharray=\"4,3\"/>",
                ox + PW
            );
            for &isa in &isas {
                let pts: Vec<(f64, f64)> = sizes
                    .iter()
                    .filter_map(|&b| {
                        ratio(rows, dtype, f, isa, b, *vs_loop).map(|r| (px(ox, b), py(r)))
                    })
                    .collect();
                if pts.is_empty() {
                    continue;
                }
                let c = color(isa);
                let d: Vec<String> = pts.iter().map(|(x, y)| format!("{x:.1},{y:.1}")).collect();
                let _ = writeln!(
                    s,
                    "<polyline points=\"{}\" fill=\"none\" stroke=\"{c}\" stroke-width=\"2\" stroke-linejoin=\"round\"/>",
                    d.join(" ")
                );
                for (x, y) in pts {
                    let _ = writeln!(
                        s,
                        "<circle cx=\"{x:.1}\" cy=\"{y:.1}\" r=\"2.5\" fill=\"{c}\"/>"
                    );
                }
            }
        }
    }
    let _ = writeln!(
        s,
        "<text x=\"{}\" y=\"{}\" text-anchor=\"middle\" fill=\"#444\">buffer size per array (log scale)</text>",
        w / 2.0,
        h - 12.0
    );
    s.push_str("</svg>\n");
    s
}
