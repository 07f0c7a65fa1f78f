//! Support code shared by every integration test binary.
//!
//! This file holds what all layers use: one deterministic RNG, value generators that
//! favour the bit patterns where SIMD kernels go wrong, the bit-for-bit comparison
//! helpers, and the harness that runs a `Kernel` in each memory arrangement against
//! the scalar oracle. The submodules add what only some tests need:
//!
//! - [`ops`]: inputs and checks for the Caffe2 operator layer (`caffe2op_relu::ops`);
//! - [`proto`]: hand encoding of protobuf wire bytes, for the decoding tests;
//! - [`walk`]: buffer layouts that make out-of-place kernels walk up or down.
//!
//! Each test binary compiles this whole module but calls only part of it, hence the
//! crate-wide `dead_code` allowance below.
#![allow(dead_code)]

use std::cell::Cell;

use caffe2op_relu::{Activation, Element, Isa, Kernel, Op, Threads};
use caffe2op_relu_kernels::ops::Rule;

pub mod ops;
pub mod proto;
pub mod walk;

/// splitmix64: deterministic, seedable, good enough to spray bit patterns. The one
/// random source of the test suite (the kernel and the operator tests alike).
pub struct Rng(pub u64);

impl Rng {
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    /// Roughly uniform in `0..n` (modulo bias is irrelevant here).
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }
    /// Uniform in [lo, hi), from the top 53 bits of the next draw.
    pub fn uniform(&mut self, lo: f64, hi: f64) -> f64 {
        let u = (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64;
        lo + (hi - lo) * u
    }
}

/// Element types under test, with their interesting values.
pub trait TestElem: Element {
    /// Any bit pattern.
    fn random_bits(rng: &mut Rng) -> Self;
    /// Values with a small magnitude around 0 and around `p`.
    fn near(rng: &mut Rng, p: f64) -> Self;
    /// Specials: ±0, ±inf, quiet and signalling NaNs with payloads, subnormals,
    /// extremes, and the values at and around the parameter `p`.
    fn specials(p: f64) -> Vec<Self>;
}

macro_rules! float_test_elem {
    ($T:ident, $B:ident, $exp_bits:expr, $quiet:expr) => {
        impl TestElem for $T {
            fn random_bits(rng: &mut Rng) -> $T {
                $T::from_bits(rng.next_u64() as $B)
            }
            fn near(rng: &mut Rng, p: f64) -> $T {
                let r = (rng.next_u64() % 2001) as f64 / 1000.0 - 1.0;
                let base = if rng.next_u64() % 2 == 0 { 0.0 } else { p };
                <$T>::from_f64(base + r * if base == 0.0 { 1.0 } else { p.abs().min(1e30) })
            }
            fn specials(p: f64) -> Vec<$T> {
                let pt = <$T>::from_f64(p);
                let v = vec![
                    0.0,
                    -0.0,
                    1.0,
                    -1.0,
                    $T::INFINITY,
                    $T::NEG_INFINITY,
                    $T::NAN,
                    -$T::NAN,
                    $T::from_bits($exp_bits | $quiet | 1),
                    $T::from_bits($exp_bits | 1),
                    $T::from_bits($exp_bits | 0x5a),
                    $T::from_bits(!0),
                    -$T::from_bits($exp_bits | 3),
                    $T::MIN_POSITIVE,
                    -$T::MIN_POSITIVE,
                    $T::from_bits(1),
                    -$T::from_bits(1),
                    $T::from_bits($quiet - 1),
                    $T::MAX,
                    $T::MIN,
                    $T::EPSILON,
                    pt,
                    -pt,
                    pt.next_up(),
                    pt.next_down(),
                    6.0,
                    0.01,
                ];
                v
            }
        }
    };
}

float_test_elem!(f32, u32, 0x7f80_0000u32, 0x0040_0000u32);
float_test_elem!(f64, u64, 0x7ff0_0000_0000_0000u64, 0x0008_0000_0000_0000u64);

/// The 16-bit floats: the same specials, built from bits (`half` has no `next_up`).
macro_rules! half_test_elem {
    ($T:ident, $exp_bits:expr, $quiet:expr) => {
        impl TestElem for half::$T {
            fn random_bits(rng: &mut Rng) -> half::$T {
                half::$T::from_bits(rng.next_u64() as u16)
            }
            fn near(rng: &mut Rng, p: f64) -> half::$T {
                let r = (rng.next_u64() % 2001) as f64 / 1000.0 - 1.0;
                let base = if rng.next_u64() % 2 == 0 { 0.0 } else { p };
                <half::$T as Element>::from_f64(
                    base + r * if base == 0.0 { 1.0 } else { p.abs().min(1e30) },
                )
            }
            fn specials(p: f64) -> Vec<half::$T> {
                type H = half::$T;
                let b = H::from_bits;
                // The neighbours of a value in value order (through ±0).
                let up = |v: H| {
                    let x = v.to_bits();
                    if x == 0x8000 || x == 0 {
                        b(1)
                    } else if x & 0x8000 == 0 {
                        b(x + 1)
                    } else {
                        b(x - 1)
                    }
                };
                let down = |v: H| {
                    let x = v.to_bits();
                    if x == 0x8000 || x == 0 {
                        b(0x8001)
                    } else if x & 0x8000 == 0 {
                        b(x - 1)
                    } else {
                        b(x + 1)
                    }
                };
                let pt = <H as Element>::from_f64(p);
                vec![
                    H::ZERO,
                    H::NEG_ZERO,
                    H::ONE,
                    H::NEG_ONE,
                    H::INFINITY,
                    H::NEG_INFINITY,
                    H::NAN,
                    -H::NAN,
                    b($exp_bits | $quiet | 1),
                    b($exp_bits | 1),
                    b($exp_bits | 0x5a),
                    b(!0),
                    -b($exp_bits | 3),
                    H::MIN_POSITIVE,
                    -H::MIN_POSITIVE,
                    b(1),
                    -b(1),
                    b($quiet - 1),
                    H::MAX,
                    H::MIN,
                    H::EPSILON,
                    pt,
                    -pt,
                    up(pt),
                    down(pt),
                    <H as Element>::from_f64(6.0),
                    <H as Element>::from_f64(0.01),
                ]
            }
        }
    };
}

half_test_elem!(f16, 0x7c00u16, 0x0200u16);
half_test_elem!(bf16, 0x7f80u16, 0x0040u16);

/// A buffer of `len` test values: a mix of specials, near-kink values and raw bits.
pub fn values<T: TestElem>(rng: &mut Rng, len: usize, p: f64) -> Vec<T> {
    let specials = T::specials(p);
    (0..len)
        .map(|_| match rng.below(4) {
            0 => specials[rng.below(specials.len())],
            1 => T::near(rng, p),
            _ => T::random_bits(rng),
        })
        .collect()
}

/// A buffer of `len` test values for `act` on `T`: as [`values`], around each of its
/// parameters as a call on `T` uses them (the kinks of a two-parameter op are at
/// both), element by element.
pub fn values_for<T: TestElem>(rng: &mut Rng, len: usize, act: &Activation) -> Vec<T> {
    let count = act.op().def().params.len();
    if count < 2 {
        return values(rng, len, act.param());
    }
    // The parameters as `T` holds them (a bound's `f64::MIN` is `T`'s lowest).
    let ps: Vec<f64> = match act.params_in::<T>() {
        Ok(r) => r[..count].iter().map(|v| v.to_f64()).collect(),
        Err(_) => act.params()[..count].to_vec(),
    };
    let specials: Vec<Vec<T>> = ps.iter().map(|&p| T::specials(p)).collect();
    (0..len)
        .map(|_| {
            let k = rng.below(count);
            match rng.below(4) {
                0 => specials[k][rng.below(specials[k].len())],
                1 => T::near(rng, ps[k]),
                _ => T::random_bits(rng),
            }
        })
        .collect()
}

/// Values to try for a parameter with this rule: edges of the rule and a random one
/// (some may break the rule once rounded to a narrow type; calls refuse those).
fn param_samples(rule: Rule, rng: &mut Rng) -> Vec<f64> {
    match rule {
        Rule::Positive => vec![
            6.0,
            1.0,
            0.5,
            1e-3,
            f64::INFINITY,
            3.4e38,
            1e-40,
            (rng.below(1000) + 1) as f64 / 7.0,
        ],
        Rule::FiniteNonNegative => vec![
            0.01,
            0.0,
            -0.0,
            1.0,
            0.2,
            3.5,
            1e-30,
            (rng.below(1000)) as f64 / 13.0,
        ],
        Rule::NotNan | Rule::Finite | Rule::Bound => vec![
            0.0,
            -0.0,
            -1.0,
            1.0,
            6.0,
            -3.4e38,
            3.4e38,
            (rng.below(2000) as f64 - 1000.0) / 7.0,
        ],
    }
}

/// Pairs of bounds `(min, max)` to try for an op with a rule between two parameters
/// (Clip's `min <= max`): valid ones (ordinary, equal, zeros of both signs,
/// infinite, subnormal, a default's stand-in with a given other bound, a random
/// pair) and hostile ones (reversed, NaN, `+inf > -inf`, and pairs valid in `f64`
/// that a narrower type's rounding reverses). The hostile ones are refused when an
/// activation is built or when a call rounds them ([`bound_pairs_refused`]).
pub fn bound_pairs(rng: &mut Rng) -> Vec<(f64, f64)> {
    let a = (rng.below(2000) as f64 - 1000.0) / 7.0;
    let b = a + rng.below(1000) as f64 / 13.0;
    // Four valid pairs with the default (every sweep over the ops runs each of them,
    // so the list is short; `bound_pairs_edges` are swept on short lengths in
    // `stateless/clip.rs`, and clip(+0, n) is checked there against relu_n's oracle).
    let mut v = vec![(-1.0, 1.0), (-0.0, 0.0), (f64::MIN, 2.0)];
    v.extend(bound_pairs_refused());
    // Last, so that tests taking "the default and the last" get a random valid pair.
    v.push((a, b));
    v
}

/// More valid pairs of bounds: a negative interval ending at -0.0, zeros in the
/// other order, equal bounds, an infinite bound, subnormal bounds, f16's lowest value.
pub fn bound_pairs_edges() -> Vec<(f64, f64)> {
    vec![
        (-6.0, -0.0),
        (0.0, -0.0),
        (1.5, 1.5),
        (f64::NEG_INFINITY, 0.5),
        (1e-40, 1e-30),
        (-65504.0, 1e-7),
        (f64::NEG_INFINITY, f64::INFINITY),
    ]
}

/// The hostile pairs of [`bound_pairs`]: the first five are refused as given, the
/// others are valid in `f64` and refused once rounded to some narrower type.
pub fn bound_pairs_refused() -> Vec<(f64, f64)> {
    vec![
        (2.0, 1.0),
        (f64::NAN, 1.0),
        (0.0, f64::NAN),
        (f64::INFINITY, f64::NEG_INFINITY),
        (f64::INFINITY, 0.0),
        // f64::MAX stands for the type's highest finite value, below 1e300's `+inf`.
        (1e300, f64::MAX),
        (f64::MIN, -1e300),
        // Above f16's largest finite value (65504): `+inf > f16::MAX` in f16 only.
        (70000.0, f64::MAX),
    ]
}

/// The activations to test for one op: Caffe2's defaults, then edges and a random
/// value of each parameter's rule (from the op registry), the valid ones. An op with
/// a rule between its parameters takes the pairs of [`bound_pairs`] that every
/// element type accepts (the others are the refusal tests').
pub fn activations(op: Op, rng: &mut Rng) -> Vec<Activation> {
    let defs = op.def().params;
    let mut out: Vec<Activation> = Activation::caffe2_default(op).into_iter().collect();
    if defs.is_empty() {
        return out;
    }
    if !op.def().cross.is_empty() {
        out.extend(
            bound_pairs(rng)
                .into_iter()
                .filter_map(|(lo, hi)| Activation::with_params(op, &[lo, hi]).ok())
                .filter(|a| {
                    a.params_in::<f32>().is_ok()
                        && a.params_in::<half::f16>().is_ok()
                        && a.params_in::<half::bf16>().is_ok()
                }),
        );
        return out;
    }
    let samples: Vec<Vec<f64>> = defs.iter().map(|d| param_samples(d.rule, rng)).collect();
    // The i-th sample of every parameter together (a second parameter's list is
    // rotated by one, so pairs differ from a plain diagonal).
    for i in 0..samples[0].len() {
        let values: Vec<f64> = samples
            .iter()
            .enumerate()
            .map(|(k, s)| s[(i + k) % s.len()])
            .collect();
        if let Ok(act) = Activation::with_params(op, &values) {
            out.push(act);
        }
    }
    out
}

// ---------------------------------------------------------------------------------
// Bit-for-bit comparison
// ---------------------------------------------------------------------------------

/// Whether two values have the same bits (so NaN payloads and the sign of zero count).
pub fn bits_eq<T: Element>(a: T, b: T) -> bool {
    a.to_bits() == b.to_bits()
}

/// The raw bits of every element, for `assert_eq!` on whole buffers.
pub fn bits<T: Element>(v: &[T]) -> Vec<T::Bits> {
    v.iter().map(|x| x.to_bits()).collect()
}

/// Asserts that `got` and `want` have the same length and the same bits element by
/// element; the message names `what`, the first differing index and both values.
pub fn assert_bits<T: Element>(got: &[T], want: &[T], what: &str) {
    assert_eq!(got.len(), want.len(), "{what}: lengths");
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        assert_eq!(
            g.to_bits(),
            w.to_bits(),
            "{what}[{i}]: got {g:?}, want {w:?}"
        );
    }
}

// ---------------------------------------------------------------------------------
// The oracle harness for `Kernel`
// ---------------------------------------------------------------------------------

/// Which memory arrangement a call uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// `forward(&x, &mut y)` / `backward(&y, &dy, &mut dx)`
    OutOfPlace,
    /// `forward_in_place` / `backward_in_place`
    InPlace,
    /// `forward_aliased` / `backward_aliased` with the output the same cells as the input
    AliasedSame,
    /// `forward_aliased` / `backward_aliased` with disjoint cells
    AliasedDisjoint,
}

pub const MODES: [Mode; 4] = [
    Mode::OutOfPlace,
    Mode::InPlace,
    Mode::AliasedSame,
    Mode::AliasedDisjoint,
];

/// A buffer holding `data` at element index `start`, where `start`'s address is
/// `off` elements past a 64-byte boundary; the rest is filled with `fill`.
pub fn place<T: Element>(data: &[T], off: usize, fill: T) -> (Vec<T>, usize) {
    let mut buf = vec![fill; data.len() + 64 + off];
    let base = buf.as_ptr() as usize;
    let skip = (64 - base % 64) % 64 / size_of::<T>();
    let start = skip + off;
    buf[start..start + data.len()].copy_from_slice(data);
    (buf, start)
}

/// Runs the forward op of `k` on `x` (placed `off` elements past a 64-byte boundary)
/// in `mode` and compares every element with the oracle, bit for bit. Panics with a
/// precise description otherwise. Also checks nothing past the output was written.
pub fn check_forward<T: TestElem>(k: &Kernel, x: &[T], off: usize, mode: Mode, ctx: &str) {
    let act = k.activation();
    let n = x.len();
    let fill = T::from_f64(1234.5);
    // The oracle with the parameters rounded once (`Activation::oracle_forward`
    // rounds and checks them per element).
    let (op, p) = (act.op(), act.params_in::<T>().unwrap());
    let expect: Vec<T> = x
        .iter()
        .map(|&v| T::oracle_forward_with(op, v, p))
        .collect();
    let (buf, s) = match mode {
        Mode::OutOfPlace => {
            let (mut y, s) = place(&vec![fill; n], off, fill);
            k.forward(x, &mut y[s..s + n]).unwrap();
            (y, s)
        }
        Mode::InPlace => {
            let (mut y, s) = place(x, off, fill);
            k.forward_in_place(&mut y[s..s + n]).unwrap();
            (y, s)
        }
        Mode::AliasedSame => {
            let (mut y, s) = place(x, off, fill);
            let cells = Cell::from_mut(&mut y[s..s + n]).as_slice_of_cells();
            k.forward_aliased(cells, cells).unwrap();
            (y, s)
        }
        Mode::AliasedDisjoint => {
            let mut data = x.to_vec();
            data.extend(std::iter::repeat_n(fill, n));
            let (mut y, s) = place(&data, off, fill);
            let cells = Cell::from_mut(&mut y[s..s + 2 * n]).as_slice_of_cells();
            let (a, b) = cells.split_at(n);
            k.forward_aliased(a, b).unwrap();
            for (i, &orig) in x.iter().enumerate() {
                assert!(bits_eq(orig, y[s + i]), "{ctx}: input {i} modified");
            }
            (y, s + n)
        }
    };
    check_untouched(&buf, s, n, fill, ctx);
    compare(&expect, &buf[s..s + n], x, None, k, mode, ctx);
}

/// As [`check_forward`], for the backward op (`dx` placed `off` past a boundary).
pub fn check_backward<T: TestElem>(
    k: &Kernel,
    y: &[T],
    dy: &[T],
    off: usize,
    mode: Mode,
    ctx: &str,
) {
    let act = k.activation();
    let n = y.len();
    let fill = T::from_f64(1234.5);
    let (op, p) = (act.op(), act.params_in::<T>().unwrap());
    let expect: Vec<T> = y
        .iter()
        .zip(dy)
        .map(|(&a, &b)| T::oracle_backward_with(op, a, b, p))
        .collect();
    let (buf, s) = match mode {
        Mode::OutOfPlace => {
            let (mut dx, s) = place(&vec![fill; n], off, fill);
            k.backward(y, dy, &mut dx[s..s + n]).unwrap();
            (dx, s)
        }
        Mode::InPlace => {
            let (mut d, s) = place(dy, off, fill);
            k.backward_in_place(y, &mut d[s..s + n]).unwrap();
            (d, s)
        }
        Mode::AliasedSame => {
            let (mut d, s) = place(dy, off, fill);
            let mut yv = y.to_vec();
            let yc = Cell::from_mut(&mut yv[..]).as_slice_of_cells();
            let dc = Cell::from_mut(&mut d[s..s + n]).as_slice_of_cells();
            k.backward_aliased(yc, dc, dc).unwrap();
            (d, s)
        }
        Mode::AliasedDisjoint => {
            let mut data = y.to_vec();
            data.extend_from_slice(dy);
            data.extend(std::iter::repeat_n(fill, n));
            let (mut b, s) = place(&data, off, fill);
            let cells = Cell::from_mut(&mut b[s..s + 3 * n]).as_slice_of_cells();
            let (yc, rest) = cells.split_at(n);
            let (dc, xc) = rest.split_at(n);
            k.backward_aliased(yc, dc, xc).unwrap();
            (b, s + 2 * n)
        }
    };
    check_untouched(&buf, s, n, fill, ctx);
    compare(&expect, &buf[s..s + n], y, Some(dy), k, mode, ctx);
}

/// Everything after the output window still holds `fill` (no write past the end).
fn check_untouched<T: Element>(buf: &[T], s: usize, n: usize, fill: T, ctx: &str) {
    for (i, &v) in buf[s + n..].iter().enumerate() {
        assert!(
            bits_eq(v, fill),
            "{ctx}: wrote element {i} past the end of the output"
        );
    }
}

fn compare<T: Element>(
    expect: &[T],
    got: &[T],
    a: &[T],
    b: Option<&[T]>,
    k: &Kernel,
    mode: Mode,
    ctx: &str,
) {
    assert_eq!(expect.len(), got.len());
    for i in 0..expect.len() {
        if !bits_eq(expect[i], got[i]) {
            panic!(
                "{ctx}: {} {:?} isa={} mode={mode:?} len={} index {i}: input {:?} ({:?}){} \
                 -> got {:?} ({:?}), oracle {:?} ({:?})",
                T::NAME,
                k.activation(),
                k.isa(),
                expect.len(),
                a[i],
                a[i].to_bits(),
                b.map(|b| format!(", dy {:?} ({:?})", b[i], b[i].to_bits()))
                    .unwrap_or_default(),
                got[i],
                got[i].to_bits(),
                expect[i],
                expect[i].to_bits(),
            );
        }
    }
}

/// Every available ISA as a serial kernel for `act`.
pub fn kernels_for(act: Activation) -> Vec<Kernel> {
    Isa::available()
        .into_iter()
        .map(|isa| {
            Kernel::new(act)
                .with_isa(isa)
                .unwrap()
                .with_threads(Threads::Serial)
        })
        .collect()
}

/// Whether the sweeps are shortened: on aarch64 (run under qemu in CI) and on
/// WebAssembly (run under a runtime, in CI twice). Both have 128-bit registers only,
/// and the shorter lengths still cover every head, block of four registers and tail
/// of those.
pub const SHORT_SWEEPS: bool = cfg!(any(target_arch = "aarch64", target_family = "wasm"));

/// The environment variable that asks for [`light`] runs (`.ci/trust.sh` sets it for
/// the AddressSanitizer build, where every call runs several times slower).
pub const LIGHT_ENV: &str = "CAFFE2OP_RELU_TEST_LIGHT";

/// Whether the costliest sweeps are cut down: under [`SHORT_SWEEPS`], and when
/// [`LIGHT_ENV`] is set. The sweeps of every short length at every offset, where heads
/// and tails are, stay as they are (up to 260 elements unless [`SHORT_SWEEPS`]); what
/// shrinks is the number of random long calls and their maximum length, the memory
/// modes and ISAs of the multi-megabyte threaded calls ([`threaded_isas`]), the
/// longest streaming call, the random shapes and parameters of
/// the `ndarray` layouts, and the parameters and rounds of the 16-bit sweeps.
pub fn light() -> bool {
    SHORT_SWEEPS || std::env::var_os(LIGHT_ENV).is_some()
}

/// The ISAs the multi-megabyte threaded calls run on: every available one, or in
/// light runs the default dispatch only. The split into pieces is the same code for
/// every ISA, and each ISA's kernels meet every length and offset in the sweeps of
/// short calls.
pub fn threaded_isas() -> Vec<caffe2op_relu::Isa> {
    if light() {
        vec![caffe2op_relu::Isa::dispatched()]
    } else {
        caffe2op_relu::Isa::available()
    }
}

/// Lengths to sweep: every length up to 260 (short sweeps: up to 130).
pub fn small_lengths() -> std::ops::RangeInclusive<usize> {
    if SHORT_SWEEPS { 0..=130 } else { 0..=260 }
}

/// Element offsets covering start addresses 0..=63 bytes past an aligned base.
pub fn offsets<T>() -> impl Iterator<Item = usize> {
    0..64 / size_of::<T>()
}

/// The entry points of a kernel table as addresses, forward ops then backward ops
/// (to tell tables apart).
pub fn table_addrs<T>(t: &caffe2op_relu_kernels::Kernels<T>) -> Vec<usize> {
    let fwd = t.forward.iter().map(|&f| f as usize);
    fwd.chain(t.backward.iter().map(|&f| f as usize)).collect()
}

/// [`table_addrs`] of the table the safe crate uses for `T` on `isa`.
pub fn isa_table_addrs<T: Element>(isa: Isa) -> Vec<usize> {
    table_addrs(T::table(isa.tables()))
}

/// Int8Relu on `isa` into a window of a 64-byte aligned buffer starting `off` bytes
/// past a line, out of place and then in place, against `want`; the bytes around
/// the window must keep their fill.
pub fn check_int8_window(isa: Isa, x: &[u8], zp: u8, off: usize, want: &[u8]) {
    let len = x.len();
    let mut buf = vec![0x5Au8; len + 192];
    let s = (64 - buf.as_ptr() as usize % 64) % 64 + off;
    caffe2op_relu::int8_relu_with_isa(x, &mut buf[s..s + len], zp, isa).unwrap();
    assert_eq!(&buf[s..s + len], want, "{isa} len {len} off {off} zp {zp}");
    assert!(buf[..s].iter().chain(&buf[s + len..]).all(|&b| b == 0x5A));
    buf[s..s + len].copy_from_slice(x);
    caffe2op_relu::int8_relu_in_place_with_isa(&mut buf[s..s + len], zp, isa).unwrap();
    assert_eq!(
        &buf[s..s + len],
        want,
        "{isa} in place len {len} off {off} zp {zp}"
    );
    assert!(buf[..s].iter().chain(&buf[s + len..]).all(|&b| b == 0x5A));
}

/// Whether this target has threads: not WebAssembly without the `atomics` feature
/// (`wasm32-wasip1`), where no rayon pool can be built and `Threads::Auto` runs every
/// call on the caller's thread.
pub const HAS_THREADS: bool = !cfg!(all(target_family = "wasm", not(target_feature = "atomics")));

/// Runs `f` inside a new rayon pool of `threads` threads; without threads
/// ([`HAS_THREADS`]), on the caller's thread, where `Threads::Auto` must not split.
pub fn in_pool<R: Send>(threads: usize, f: impl FnOnce() -> R + Send) -> R {
    if HAS_THREADS {
        rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap()
            .install(f)
    } else {
        f()
    }
}

/// Asserts that a call of `len` elements of `T` is split by `k` where the target has
/// threads (the caller has lowered the parallel threshold), and runs as one piece
/// where it has none.
pub fn assert_splits<T: Element>(k: &Kernel, len: usize) {
    let pieces = k.pieces::<T>(len);
    if HAS_THREADS {
        assert!(
            pieces > 1,
            "{len} elements should be split, got {pieces} piece(s)"
        );
    } else {
        assert_eq!(pieces, 1, "{len} elements: no threads, so one piece");
    }
}
