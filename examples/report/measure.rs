//! Timing: the buffers, the calibration of repetitions, and the rounds in which every
//! cell of one buffer size takes a sample, in a new order each round, so that machine
//! noise hits every column alike.

use std::hint::black_box;
use std::time::{Duration, Instant};

use caffe2op_relu::{Element, autovec};

use crate::cells::{Cell, Kind};
use crate::tables::fmt_size;

/// One measured cell at one buffer size.
pub struct Row {
    pub dtype: &'static str,
    pub cell: Cell,
    /// Bytes per buffer.
    pub bytes: usize,
    pub gbps: f64,
    /// `copy_from_slice` of the same buffer size, measured in the same rounds.
    pub memcpy_gbps: f64,
}

pub fn median(v: &mut [f64]) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

/// Which sample of a cell its GB/s come from.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Stat {
    /// The median sample.
    Median,
    /// The fastest sample: other work on the machine only ever adds time, and on a
    /// busy machine (more runnable threads than cores) it lands in most 2 ms samples,
    /// the median's included, while a few samples still run undisturbed.
    Best,
}

impl Stat {
    pub fn name(self) -> &'static str {
        match self {
            Stat::Median => "median",
            Stat::Best => "fastest",
        }
    }
}

/// How many samples each cell takes, the least time a sample lasts, and which sample
/// counts.
#[derive(Clone, Copy)]
pub struct Sampling {
    pub stat: Stat,
    pub min_samples: usize,
    pub max_samples: usize,
    pub min_sample: Duration,
    /// What one buffer size's rounds may take together: as many samples as fit
    /// between `min_samples` and `max_samples` (estimated from the calibration).
    pub budget: Duration,
}

impl Sampling {
    /// The full run's: in cache and in L3 the other tenants of a shared machine come
    /// and go within a round, so those sizes take 11 samples (with 7, the median of a
    /// cell was now and then one taken in a busy spell; 2 ms samples instead of 4
    /// amortised a call's cold start, such as waking the pool's second thread, over too
    /// few calls); DRAM sizes take fewer.
    pub fn full(bytes: usize, quick: bool) -> Sampling {
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
            stat: Stat::Median,
            min_samples: samples,
            max_samples: samples,
            min_sample: Duration::from_micros(min_us),
            budget: Duration::ZERO,
        }
    }

    /// The headline run's: serial cells only (no pool to wake), 2 ms samples, 3 to 11
    /// of them within about 0.6 s a size (DRAM sizes, where one call lasts several
    /// samples' worth, take the 3), the fastest counting.
    pub fn headline(quick: bool) -> Sampling {
        if quick {
            return Sampling {
                stat: Stat::Best,
                ..Sampling::full(0, true)
            };
        }
        Sampling {
            stat: Stat::Best,
            min_samples: 3,
            max_samples: 11,
            min_sample: Duration::from_millis(2),
            budget: Duration::from_millis(600),
        }
    }
}

/// What `measure_with` asks of a cell: one call, or the reset of its buffers to the
/// original input (only in-place cells have one; it copies one buffer of the call's
/// size, as the memcpy cell does).
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Step {
    Restore,
    Call,
}

/// `n` values in `[-scale/2, scale/2)` from a seeded generator; past 16 Ki elements
/// the first 16 Ki repeat (filling 256 MiB buffers value by value took seconds).
pub fn fill<T: Element>(n: usize, seed: u64, scale: f64) -> Vec<T> {
    const PERIOD: usize = 16 << 10;
    let mut s = seed;
    let mut v: Vec<T> = (0..n.min(PERIOD))
        .map(|_| {
            s = s
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            T::from_f64(((s >> 11) as f64 / (1u64 << 53) as f64 - 0.5) * scale)
        })
        .collect();
    v.reserve_exact(n - v.len());
    while v.len() < n {
        let k = (n - v.len()).min(PERIOD);
        v.extend_from_within(..k);
    }
    v
}

struct Bufs<T> {
    x: Vec<T>,
    y: Vec<T>,
    dy: Vec<T>,
    dx: Vec<T>,
    /// Allocations of `gap` bytes between the buffers, kept for as long as they are.
    _gaps: [Vec<u8>; 3],
}

impl<T: Element> Bufs<T> {
    /// The four buffers, each a `Vec` of its own, allocated in order with `gap` bytes
    /// allocated between each two (0: none).
    fn new(n: usize, gap: usize) -> Self {
        let x = fill(n, 1, 16.0);
        let g0 = vec![0u8; gap];
        let y = fill(n, 2, 16.0);
        let g1 = vec![0u8; gap];
        let dy = fill(n, 3, 2.0);
        let g2 = vec![0u8; gap];
        let dx = fill(n, 4, 2.0);
        Bufs {
            x,
            y,
            dy,
            dx,
            _gaps: [g0, g1, g2],
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
            (Kind::RoundTrip, false) => autovec::round_trip(c.isa, &self.x, &mut self.y),
            (Kind::RoundTrip, true) => autovec::round_trip(c.isa, &self.dy, &mut self.dx),
            (Kind::NaiveInPlace, true) | (Kind::Int8 | Kind::Int8InPlace | Kind::Int8Naive, _) => {
                Ok(())
            }
        };
        r.expect("valid call");
        black_box(&mut self.y);
        black_box(&mut self.dx);
    }
}

/// Measures every float cell (plus memcpy) at `n` elements, interleaved round by
/// round; notes where the buffers sit in `placements`.
pub fn measure<T: Element>(
    cells: &[Cell],
    n: usize,
    sampling: Sampling,
    placements: &mut Vec<String>,
) -> Vec<Row> {
    measure_spaced::<T>(cells, n, sampling, placements, 0)
}

/// [`measure`] with `gap` bytes allocated between each two buffers.
pub fn measure_spaced<T: Element>(
    cells: &[Cell],
    n: usize,
    sampling: Sampling,
    placements: &mut Vec<String>,
    gap: usize,
) -> Vec<Row> {
    let mut bufs = Bufs::<T>::new(n, gap);
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

/// A cell's calibration: repetitions per sample, the estimated seconds of one sample,
/// and the calibration call's time when that call is already a sample.
struct Calibration {
    reps: u32,
    sample: f64,
    first: Option<f64>,
}

/// Repetitions per sample for each cell so one sample lasts about `min` seconds. A call
/// that alone lasts several samples' worth streams from memory: it needs no warm-up,
/// one call is a sample, and the calibration call is the cell's first sample.
fn calibrate(all: &[Cell], min: f64, run: &mut impl FnMut(&Cell, Step)) -> Vec<Calibration> {
    all.iter()
        .map(|c| {
            run(c, Step::Restore);
            let t = Instant::now();
            run(c, Step::Call);
            let first = t.elapsed().as_secs_f64();
            if first >= 4.0 * min {
                return Calibration {
                    reps: 1,
                    sample: first,
                    first: Some(first),
                };
            }
            let t = Instant::now();
            run(c, Step::Call);
            let one = t.elapsed().as_secs_f64().max(1e-9);
            let reps = (min / one).ceil().clamp(1.0, 1e6) as u32;
            Calibration {
                reps,
                sample: one * f64::from(reps),
                first: None,
            }
        })
        .collect()
}

/// The first state of [`shuffle`]'s generator.
pub const SHUFFLE_SEED: u64 = 0x9E37_79B9_7F4A_7C15;

/// Puts the cells of one round in a new order (a seeded Fisher-Yates shuffle), so that
/// no cell always follows the same neighbour: the one before it leaves the caches, and
/// for the in-place cells the buffer, in its own state.
pub fn shuffle(order: &mut [usize], seed: &mut u64) {
    for j in (1..order.len()).rev() {
        *seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        order.swap(j, ((*seed >> 33) % (j as u64 + 1)) as usize);
    }
}

/// How an in-place cell's calls get values not yet activated. A user's in-place call
/// meets values not yet activated; repeated on one buffer, relu, relu_n, clip and
/// Int8Relu would meet their own output from the second call on, with nothing left to
/// change, which flatters a kernel that writes only the lanes that change (f32 relu on
/// AVX-512 at 256 KiB-1 MiB: 1.5-1.8x the compiler's in-place loop on its own output,
/// 1.0x on fresh values).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Fresh {
    /// Not in place, or one call per sample: the input is restored before the sample.
    Sample,
    /// The input is restored before every call, untimed; each call is timed alone
    /// (calls of at least [`TIMED_ALONE_SECS`]).
    Timed,
    /// The input is restored before every call inside the timing, and the time of
    /// as many restores alone (the least over the samples, each timed right after a
    /// sample of the calls) is taken off: calls too short to time alone.
    Subtracted,
}

/// In-place calls at least this long are timed one by one ([`Fresh::Timed`]): the
/// clock's own cost (about 20 ns) is then under 2% of a call.
const TIMED_ALONE_SECS: f64 = 1e-6;

impl Fresh {
    fn of(c: &Cell, cal: &Calibration) -> Fresh {
        if !c.kind.in_place() || cal.reps == 1 {
            Fresh::Sample
        } else if cal.sample / f64::from(cal.reps) >= TIMED_ALONE_SECS {
            Fresh::Timed
        } else {
            Fresh::Subtracted
        }
    }
}

/// Measures `cells` (plus memcpy first) with `run`, interleaved round by round.
pub fn measure_with(
    dtype: &'static str,
    elem: usize,
    cells: &[Cell],
    n: usize,
    sampling: Sampling,
    mut run: impl FnMut(&Cell, Step),
) -> Vec<Row> {
    let mut all: Vec<Cell> = vec![Cell::memcpy()];
    all.extend_from_slice(cells);
    let cal = calibrate(&all, sampling.min_sample.as_secs_f64(), &mut run);
    let round: f64 = cal.iter().map(|c| c.sample).sum();
    let samples = ((sampling.budget.as_secs_f64() / round) as usize)
        .clamp(sampling.min_samples, sampling.max_samples);
    let mut times: Vec<Vec<f64>> = cal.iter().map(|c| c.first.into_iter().collect()).collect();
    // Per cell, the least time of its restores alone ([`Fresh::Subtracted`]).
    let mut restore = vec![f64::INFINITY; all.len()];
    let mut order: Vec<usize> = (0..all.len()).collect();
    let mut seed = SHUFFLE_SEED;
    for _ in 0..samples {
        shuffle(&mut order, &mut seed);
        for &i in &order {
            if times[i].len() == samples {
                continue; // its calibration call was its first sample
            }
            let reps = cal[i].reps;
            let c = &all[i];
            let secs = match Fresh::of(c, &cal[i]) {
                Fresh::Sample => {
                    run(c, Step::Restore);
                    let t = Instant::now();
                    for _ in 0..reps {
                        run(c, Step::Call);
                    }
                    t.elapsed().as_secs_f64()
                }
                Fresh::Timed => {
                    let mut secs = 0.0;
                    for _ in 0..reps {
                        run(c, Step::Restore);
                        let t = Instant::now();
                        run(c, Step::Call);
                        secs += t.elapsed().as_secs_f64();
                    }
                    secs
                }
                Fresh::Subtracted => {
                    let t = Instant::now();
                    for _ in 0..reps {
                        run(c, Step::Restore);
                        run(c, Step::Call);
                    }
                    let both = t.elapsed().as_secs_f64();
                    let t = Instant::now();
                    for _ in 0..reps {
                        run(c, Step::Restore);
                    }
                    restore[i] = restore[i].min(t.elapsed().as_secs_f64() / f64::from(reps));
                    both
                }
            };
            times[i].push(secs / f64::from(reps));
        }
    }
    let stat = |t: &mut Vec<f64>| match sampling.stat {
        Stat::Median => median(t),
        Stat::Best => t.iter().copied().fold(f64::INFINITY, f64::min),
    };
    let gbps: Vec<f64> = all
        .iter()
        .zip(times.iter_mut())
        .zip(&restore)
        .map(|((c, t), &restore)| {
            // The restores' share, where the cell timed them (the least: a sample of
            // restores alone disturbed by the machine would otherwise leave a
            // difference near zero).
            let secs = stat(t) - if restore.is_finite() { restore } else { 0.0 };
            if secs > 0.0 {
                c.bytes_moved(n, elem) as f64 / secs / 1e9
            } else {
                f64::NAN // the restores took all of it: noise, not a rate
            }
        })
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

/// The naive Int8Relu loop (baseline target).
#[inline(never)]
fn naive_int8(x: &[u8], y: &mut [u8], zp: u8) {
    for (o, &v) in y.iter_mut().zip(x) {
        *o = v.max(zp);
    }
}

/// Measures the Int8Relu cells (plus memcpy) at `n` bytes, interleaved round by round.
pub fn measure_int8(
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
