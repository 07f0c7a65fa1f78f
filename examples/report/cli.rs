//! The command line: what to measure, where to write the JSON and the plot.

/// How much the run measures.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Mode {
    /// Every op and type on the best ISA against `copy_from_slice` and the compiler's
    /// loop, and f32 on every ISA (serial): the tables, the headline and the plot.
    Headline,
    /// Everything: every ISA serial, `Threads::Auto` and in place, the compiler's loops,
    /// 4 KiB to 1 GiB, the targets, and the layout, width and threshold sweeps.
    Full,
}

pub struct Opts {
    pub mode: Mode,
    /// Fewer sizes and samples: the form CI runs.
    pub quick: bool,
    pub json: String,
    pub svg: String,
    /// `--sizes 16K,4M`: only these buffer sizes.
    pub sizes: Option<Vec<usize>>,
    /// `--types f32,bf16`: only these element types (`u8` for Int8Relu).
    pub types: Option<Vec<String>>,
    /// `--candle-only`: only the candle section (built with `--features candle-nn`).
    pub candle_only: bool,
    /// `--separate`: only the separate-buffers section.
    pub separate_only: bool,
    /// `--threads`: only the threads section.
    pub threads_only: bool,
}

impl Opts {
    /// Whether element type `t` is measured.
    pub fn wants(&self, t: &str) -> bool {
        self.types.as_ref().is_none_or(|v| v.iter().any(|x| x == t))
    }

    /// Whether the whole run was asked for (no selection of sizes or types): the
    /// sweeps belong to a whole run.
    pub fn whole(&self) -> bool {
        self.sizes.is_none() && self.types.is_none()
    }

    /// The buffer sizes of the tables.
    pub fn sizes(&self) -> Vec<usize> {
        if let Some(s) = &self.sizes {
            return s.clone();
        }
        match (self.mode, self.quick) {
            (_, true) => vec![4 << 10, 1 << 20, 16 << 20],
            (Mode::Headline, false) => vec![
                4 << 10,
                16 << 10,
                64 << 10,
                256 << 10,
                1 << 20,
                4 << 20,
                16 << 20,
                64 << 20,
                256 << 20,
            ],
            (Mode::Full, false) => full_sizes(),
        }
    }
}

/// The buffer sizes of a full run, 4 KiB to 1 GiB.
pub fn full_sizes() -> Vec<usize> {
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

/// The element types the report knows.
pub const TYPES: [&str; 5] = ["f32", "f64", "f16", "bf16", "u8"];

const USAGE: &str = "\
usage: cargo run --release --example report -- [OPTIONS]

  (no option)       oracle check; every op and type on the best ISA against
                    copy_from_slice and the compiler's loop, f32 on every ISA;
                    4 KiB to 256 MiB; tables, a markdown headline, JSON and SVG
  --full            also Threads::Auto and in-place cells on every ISA, up to
                    1 GiB, the targets, and the layout, width and threshold sweeps
  --quick           fewer sizes (4K, 1M, 16M) and samples (with --full: the
                    sweeps' short forms too)
  --sizes 4K,1M     only these buffer sizes (K, M, G or bytes); skips the sweeps
  --types f32,u8    only these types (f32, f64, f16, bf16, u8); skips the sweeps
  --candle-only     only the candle section: candle's relu and leaky_relu against
                    the crate through candle (needs --features candle-nn; with
                    it, a run without this option ends with that section too)
  --separate        only the separate-buffers section: every op on the best ISA
                    against the compiler's loop and copy_from_slice on buffers
                    allocated one by one, under several placements (median and
                    worst; the sizes up to 64 MiB; a whole --full run has it too)
  --threads         only the threads section: f32 relu, relu_grad and relu in
                    place (on fresh values) with Threads::Auto, split always,
                    serial, and a plain rayon loop (--full has it too)
  --json PATH       one JSON object per measured cell (default report.json)
  --svg PATH        the ratio plot (default report.svg)
  -h, --help        this text
";

/// The command that reproduces this run's measurements (the output paths left out).
pub fn command_line() -> String {
    let mut args = std::env::args().skip(1);
    let mut kept = Vec::new();
    while let Some(a) = args.next() {
        match a.as_str() {
            "--json" | "--svg" => {
                args.next();
            }
            "--bench" => {}
            _ => kept.push(a),
        }
    }
    let mut c = "cargo run --release --example report".to_string();
    if !kept.is_empty() {
        c += " -- ";
        c += &kept.join(" ");
    }
    c
}

/// `16K`, `4M`, `1G` or a plain byte count.
pub fn parse_size(s: &str) -> Option<usize> {
    let s = s.trim();
    let (num, shift) = match s.as_bytes().last()? {
        b'K' | b'k' => (&s[..s.len() - 1], 10),
        b'M' | b'm' => (&s[..s.len() - 1], 20),
        b'G' | b'g' => (&s[..s.len() - 1], 30),
        _ => (s, 0),
    };
    num.parse::<usize>()
        .ok()?
        .checked_mul(1 << shift)
        .filter(|&b| b > 0)
}

/// The options, or `None` after `--help` printed the usage.
pub fn opts() -> Option<Opts> {
    let mut o = Opts {
        mode: Mode::Headline,
        quick: false,
        json: "report.json".into(),
        svg: "report.svg".into(),
        sizes: None,
        types: None,
        candle_only: false,
        separate_only: false,
        threads_only: false,
    };
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "-h" | "--help" => {
                print!("{USAGE}");
                return None;
            }
            "--quick" => o.quick = true,
            "--full" => o.mode = Mode::Full,
            "--candle-only" => o.candle_only = true,
            "--separate" => o.separate_only = true,
            "--threads" => o.threads_only = true,
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
                let v: Vec<String> = v.split(',').map(|t| t.trim().to_string()).collect();
                for t in v.iter().filter(|t| !TYPES.contains(&t.as_str())) {
                    eprintln!("report: unknown type {t:?} in --types (known: {TYPES:?})");
                }
                o.types = Some(v);
            }
            "--bench" => {} // passed by `cargo bench`-style runners; ignored
            other => eprintln!("report: ignoring unknown argument {other:?} (see --help)"),
        }
    }
    Some(o)
}
