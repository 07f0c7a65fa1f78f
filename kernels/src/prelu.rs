//! PRelu (Caffe2's `PRelu` and `PReluGradient`): leaky_relu with one learned slope
//! per channel.
//!
//! - forward: `y = x < 0 ? w[c] * x : x` (leaky_relu's oracle with `a = w[c]`: NaN
//!   and -0.0 pass with their bits; the product rounded once);
//! - input gradient, from the forward **input**: `dx = x > 0 ? dy : w[c] * dy`
//!   (leaky_relu's gradient oracle with `x` in place of `y`);
//! - slope gradient: `dw[c]` = the sum of `x * dy` over channel `c`'s positions where
//!   `x` is not `> 0` (NaN included), in the fixed order of [`dw_oracle`], which every
//!   ISA and every thread split follows bit for bit.
//!
//! A tensor is `outer x count x inner` elements ([`Shape`]): NCHW is `N x C x (H*W)`,
//! NHWC `(N*H*W) x C x 1`, a shared slope (one value for every channel) `1 x 1 x len`.
//! Channel `c`'s sequence, in memory order, is element `k = o * inner + i` at index
//! `o * count * inner + c * inner + i`.
//!
//! The forward and input-gradient kernels are one loop each, written over
//! [`Vector`], reading the slopes from a second stream: the slope values themselves
//! (NHWC with many channels) or a stack tile of the call's slope pattern, built once
//! per call where the pattern repeats within the tile (NHWC with few channels, NCHW
//! with short planes) and filled with splatted registers per run otherwise. The slope
//! gradient is plain code over the element type, with `DW_LANES` independent partial
//! sums, compiled inside each ISA's entry point so that the compiler vectorises it
//! (the partial sums are independent chains, so vectorising them changes no bit).

use core::mem::MaybeUninit;

use crate::half::{Bf16, F16};
use crate::ops::{BackwardOp, ForwardOp};
use crate::ops::{Channel, LeakyRelu, LeakyReluGrad, Params, Real};
use crate::vector::Vector;

/// The partial sums of a block (lane `j` sums the block's elements `j`, `j + 16`, ...).
pub const DW_LANES: usize = 16;
/// The elements of a channel's sequence per block.
pub const DW_BLOCK: usize = 256;

/// The slope tile's length in elements (plus [`TILE_SLACK`]).
const TILE: usize = 512;
/// Room past the tile for a full register of the widest vector type (64 lanes).
const TILE_SLACK: usize = 64;

/// A tensor's layout as PRelu sees it: `outer x count x inner` elements, `count`
/// channels (the slope's length).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Shape {
    /// The dimensions before the channel one (NCHW: `N`; NHWC: `N*H*W`; shared: 1).
    pub outer: usize,
    /// The channels (the slope's length; 1 for a shared slope).
    pub count: usize,
    /// The elements after the channel dimension (NCHW: `H*W`; NHWC: 1; shared: len).
    pub inner: usize,
}

impl Shape {
    /// The length of one channel's sequence (`outer * inner`).
    pub const fn per_channel(&self) -> usize {
        self.outer * self.inner
    }

    /// The blocks of one channel's sequence.
    pub const fn blocks(&self) -> usize {
        self.per_channel().div_ceil(DW_BLOCK)
    }

    /// Whether the slope gradient walks rows of channels (channels-last, several
    /// channels) rather than each channel's runs.
    pub const fn by_rows(&self) -> bool {
        self.inner == 1 && self.count > 1
    }

    /// How many work units the slope gradient has ([`DwFn`]): a block of rows for
    /// every channel at once ([`Shape::by_rows`]), else one channel's block.
    pub const fn dw_units(&self) -> usize {
        if self.by_rows() {
            self.blocks()
        } else {
            self.count * self.blocks()
        }
    }

    /// The index of element `k` of channel `c`'s sequence.
    #[inline(always)]
    pub const fn index(&self, c: usize, k: usize) -> usize {
        (k / self.inner) * self.count * self.inner + c * self.inner + k % self.inner
    }
}

/// The forward kernel: `y[i] = prelu(x[i]; slope of element i)` for `i < len`, where
/// element `i` uses `ch.values[((ch.start + i) / ch.inner) % ch.count]`.
///
/// # Safety
/// `x` valid for `len` reads, `y` for `len` writes, both aligned; `y == x` or disjoint;
/// `ch.values` valid for `ch.count` reads, `ch.count` and `ch.inner` nonzero; the CPU
/// runs the table's ISA.
pub type PreluFn<T> = unsafe fn(x: *const T, y: *mut T, len: usize, ch: &Channel<T>);

/// The input-gradient kernel: `dx[i] = prelu_grad(x[i], dy[i]; slope of element i)`.
///
/// # Safety
/// As [`PreluFn`], with `dy` valid for `len` reads; `dx` equals `x` or `dy` exactly or
/// overlaps neither.
pub type PreluGradFn<T> =
    unsafe fn(x: *const T, dy: *const T, dx: *mut T, len: usize, ch: &Channel<T>);

/// The slope-gradient kernel: the block sums of work units `first..last` of
/// `shape` ([`Shape::dw_units`]), each written to `out[c * shape.blocks() + b]` for
/// channel `c`'s block `b`, widened to `f64` (exactly) from the sum's type
/// ([`DwElem::Acc`]). By rows, unit `b` is block `b` of every channel; with runs
/// shorter than 64, unit `u` is block `u / count` of channel `u % count`; otherwise
/// block `u % blocks` of channel `u / blocks`. (Each unit's sums depend on its
/// elements only, so any split of the units gives the same sums.)
///
/// # Safety
/// `x` and `dy` valid for `outer * count * inner` reads; `out` valid for
/// `count * blocks` writes, not overlapping them; `first <= last <= dw_units`; the
/// CPU runs the table's ISA.
pub type DwFn<T> =
    unsafe fn(x: *const T, dy: *const T, shape: &Shape, first: usize, last: usize, out: *mut f64);

/// PRelu's kernels for one element type and one ISA.
#[derive(Clone, Copy)]
pub struct PreluKernels<T: 'static> {
    /// [`PreluFn`].
    pub forward: PreluFn<T>,
    /// [`PreluGradFn`].
    pub backward: PreluGradFn<T>,
    /// [`DwFn`].
    pub dw: DwFn<T>,
}

/// The oracle's forward: leaky_relu's with `a = w`.
#[inline(always)]
pub fn oracle<T: Real>(x: T, w: T) -> T {
    LeakyRelu::oracle(x, &Params::scalar(w))
}

/// The oracle's input gradient, from the forward input `x`: leaky_relu's gradient
/// oracle with `x` in place of `y`, `x > 0 ? dy : w * dy`.
#[inline(always)]
pub fn oracle_grad<T: Real>(x: T, dy: T, w: T) -> T {
    LeakyReluGrad::oracle(x, dy, &Params::scalar(w))
}

/// An element type's slope-gradient arithmetic: the type the sums are formed in
/// (`f32` for f32, f16 and bf16; `f64` for f64), each position's contribution, and
/// the one rounding at the end.
pub trait DwElem: Real {
    /// The type of the sums.
    type Acc: Copy + core::ops::Add<Output = Self::Acc> + Send + Sync + 'static;
    /// `+0` in [`DwElem::Acc`].
    const ACC_ZERO: Self::Acc;
    /// `x > 0 ? +0 : x * dy`, the product formed in [`DwElem::Acc`] (exact there for
    /// the 16-bit types; one rounding for f32 and f64).
    fn contribution(x: Self, dy: Self) -> Self::Acc;
    /// The sum rounded once to the element type (nearest, ties to even).
    fn narrow(a: Self::Acc) -> Self;
    /// Widens a sum to `f64` (exact).
    fn acc_to_f64(a: Self::Acc) -> f64;
    /// Back from [`DwElem::acc_to_f64`] (exact for the values it gives).
    fn acc_from_f64(v: f64) -> Self::Acc;
}

impl DwElem for f32 {
    type Acc = f32;
    const ACC_ZERO: f32 = 0.0;
    #[inline(always)]
    fn contribution(x: f32, dy: f32) -> f32 {
        let p = x * dy;
        if x > 0.0 { 0.0 } else { p }
    }
    #[inline(always)]
    fn narrow(a: f32) -> f32 {
        a
    }
    #[inline(always)]
    fn acc_to_f64(a: f32) -> f64 {
        f64::from(a)
    }
    #[inline(always)]
    fn acc_from_f64(v: f64) -> f32 {
        v as f32
    }
}

impl DwElem for f64 {
    type Acc = f64;
    const ACC_ZERO: f64 = 0.0;
    #[inline(always)]
    fn contribution(x: f64, dy: f64) -> f64 {
        let p = x * dy;
        if x > 0.0 { 0.0 } else { p }
    }
    #[inline(always)]
    fn narrow(a: f64) -> f64 {
        a
    }
    #[inline(always)]
    fn acc_to_f64(a: f64) -> f64 {
        a
    }
    #[inline(always)]
    fn acc_from_f64(v: f64) -> f64 {
        v
    }
}

macro_rules! half_dw {
    ($T:ident) => {
        impl DwElem for $T {
            type Acc = f32;
            const ACC_ZERO: f32 = 0.0;
            #[inline(always)]
            fn contribution(x: $T, dy: $T) -> f32 {
                let x = x.to_f32();
                let p = x * dy.to_f32();
                if x > 0.0 { 0.0 } else { p }
            }
            #[inline(always)]
            fn narrow(a: f32) -> $T {
                $T::from_f32(a)
            }
            #[inline(always)]
            fn acc_to_f64(a: f32) -> f64 {
                f64::from(a)
            }
            #[inline(always)]
            fn acc_from_f64(v: f64) -> f32 {
                v as f32
            }
        }
    };
}
half_dw!(F16);
half_dw!(Bf16);

/// The fixed tree that sums a block's partial sums: `p[j] + p[j + 8]` for `j < 8`,
/// then `+ p[j + 4]` for `j < 4`, `+ p[j + 2]` for `j < 2`, and `p[0] + p[1]`.
#[inline(always)]
pub fn lane_tree<A: Copy + core::ops::Add<Output = A>>(mut p: [A; DW_LANES]) -> A {
    let mut half = DW_LANES / 2;
    while half >= 1 {
        for j in 0..half {
            p[j] = p[j] + p[j + half];
        }
        half /= 2;
    }
    p[0]
}

/// Sums `s` pairwise, level by level, in place: each level replaces `s[i]` by
/// `s[2i] + s[2i + 1]` (an odd last element is carried up unchanged) until one is
/// left. An empty slice sums to `zero`.
pub fn pairwise<A: Copy + core::ops::Add<Output = A>>(s: &mut [A], zero: A) -> A {
    let mut n = s.len();
    if n == 0 {
        return zero;
    }
    while n > 1 {
        let half = n / 2;
        for i in 0..half {
            s[i] = s[2 * i] + s[2 * i + 1];
        }
        if n % 2 == 1 {
            s[half] = s[n - 1];
        }
        n = n.div_ceil(2);
    }
    s[0]
}

/// The oracle's slope gradient of channel `c`: its sequence (in memory order, see the
/// module docs) cut into blocks of [`DW_BLOCK`]; in a block, partial sum `j` (of
/// [`DW_LANES`], each starting at `+0`) adds the block's elements `j`, `j + 16`, ...
/// in order, and [`lane_tree`] sums the partials; the block sums, in block order, are
/// summed by [`pairwise`]; the result is rounded once to `T`. `blocks` is scratch of
/// `shape.blocks()` sums (it holds the block sums on return, before the pairwise sum).
///
/// # Panics
/// If `x`, `dy` or `blocks` is shorter than the shape needs (a test helper's
/// contract).
pub fn dw_oracle<T: DwElem>(
    x: &[T],
    dy: &[T],
    shape: &Shape,
    c: usize,
    blocks: &mut [T::Acc],
) -> T {
    let m = shape.per_channel();
    let nb = shape.blocks();
    for (b, out) in blocks[..nb].iter_mut().enumerate() {
        let mut lanes = [T::ACC_ZERO; DW_LANES];
        for k in b * DW_BLOCK..m.min((b + 1) * DW_BLOCK) {
            let i = shape.index(c, k);
            lanes[k % DW_LANES] = lanes[k % DW_LANES] + T::contribution(x[i], dy[i]);
        }
        *out = lane_tree(lanes);
    }
    T::narrow(pairwise(&mut blocks[..nb], T::ACC_ZERO))
}

/// Combines one channel's block sums as [`DwFn`] wrote them (`f64`), as
/// [`dw_oracle`] does, in place, and rounds once to `T`.
pub fn dw_finish<T: DwElem>(blocks: &mut [f64]) -> T {
    for v in blocks.iter_mut() {
        // Keep the sums in the accumulation type: f64 holds them exactly.
        *v = T::acc_to_f64(T::acc_from_f64(*v));
    }
    let mut n = blocks.len();
    if n == 0 {
        return T::narrow(T::ACC_ZERO);
    }
    let add = |a: f64, b: f64| T::acc_from_f64(a) + T::acc_from_f64(b);
    while n > 1 {
        let half = n / 2;
        for i in 0..half {
            blocks[i] = T::acc_to_f64(add(blocks[2 * i], blocks[2 * i + 1]));
        }
        if n % 2 == 1 {
            blocks[half] = blocks[n - 1];
        }
        n = n.div_ceil(2);
    }
    T::narrow(T::acc_from_f64(blocks[0]))
}

// ---------------------------------------------------------------------------------
// Kernels.

/// Walks a call of `len` elements in segments, handing each to `seg(offset, n, s)`
/// with `s` valid for `n` reads of the segment's slopes. `seg` has one call site, so
/// a kernel holds one copy of its loop.
///
/// # Safety
/// `ch` as in [`PreluFn`]; `V`'s ISA is available; `seg` only reads `s[..n]`.
#[inline(always)]
unsafe fn walk_slopes<V: Vector>(
    len: usize,
    ch: &Channel<V::Elem>,
    mut seg: impl FnMut(usize, usize, *const V::Elem),
) {
    let (w, count, inner) = (ch.values, ch.count, ch.inner);
    let mut tile = [MaybeUninit::<V::Elem>::uninit(); TILE + TILE_SLACK];
    let t = tile.as_mut_ptr().cast::<V::Elem>();
    let l = V::LANES;
    debug_assert!(l <= TILE_SLACK);
    // SAFETY: `w[..count]` is readable (caller); every tile store is a full register
    // starting below `TILE`, so it ends below `TILE + LANES <= TILE + TILE_SLACK`;
    // every segment handed to `seg` reads only tile elements stored before (or `w`).
    unsafe {
        let period = count.saturating_mul(inner);
        // The pattern repeats every `period` elements: a tile of whole periods, in
        // the call's phase, serves every segment.
        let periodic = period <= TILE / 2;
        let seglen = if periodic {
            TILE / period * period
        } else {
            TILE
        };
        if periodic {
            fill::<V>(t, ch, ch.start, seglen);
        }
        // The channel whose slope fills the whole tile, if any.
        let mut held = usize::MAX;
        let mut off = 0;
        while off < len {
            let pos = ch.start.wrapping_add(off);
            let mut n = seglen.min(len - off);
            let mut s = t.cast_const();
            if periodic {
                // The tile as built.
            } else if inner == 1 {
                // Channels last with many channels: the slopes are the second stream.
                let c = pos % count;
                n = n.min(count - c);
                s = w.add(c);
            } else if n <= inner - pos % inner {
                // Inside one run: its slope splatted over the tile, kept while the
                // channel stays the same.
                let c = pos / inner % count;
                if held != c {
                    splat::<V>(t, 0, TILE, *w.add(c));
                    held = c;
                }
            } else {
                fill::<V>(t, ch, pos, n);
                held = usize::MAX;
            }
            seg(off, n, s);
            off += n;
        }
    }
}

/// Splats `v` over `t[a..a + k]` (and up to a register past it). A function, not a
/// closure: a closure is compiled without the kernel's target features, and one that
/// LLVM does not inline calls every intrinsic in it.
///
/// # Safety
/// `V`'s ISA is available; `t[a..a + k]` rounded up to whole registers is writable.
#[inline(always)]
unsafe fn splat<V: Vector>(t: *mut V::Elem, a: usize, k: usize, v: V::Elem) {
    // SAFETY: the caller's promise: every store lies in the range it vouches for.
    unsafe {
        let r = V::splat(v);
        let mut q = 0;
        while q < k {
            r.store(t.add(a + q));
            q += V::LANES;
        }
    }
}

/// Fills `t[..n]` with the slopes of positions `pos..pos + n`, run by run (two
/// divisions per fill; the channel then steps run by run).
///
/// # Safety
/// As [`splat`] for `t[..n]`; `ch` as in [`PreluFn`].
#[inline(always)]
unsafe fn fill<V: Vector>(t: *mut V::Elem, ch: &Channel<V::Elem>, pos: usize, n: usize) {
    let (w, count, inner) = (ch.values, ch.count, ch.inner);
    let (mut within, mut c) = (pos % inner, pos / inner % count);
    let mut a = 0;
    while a < n {
        let run = (inner - within).min(n - a);
        // SAFETY: `c < count`, so `w.add(c)` is readable; `t[a..a + run]` lies in
        // `t[..n]`.
        unsafe { splat::<V>(t, a, run, *w.add(c)) };
        a += run;
        within = 0;
        c += 1;
        if c == count {
            c = 0;
        }
    }
}

/// PRelu forward on registers of `V`, for the tables ([`PreluFn`]).
///
/// # Safety
/// [`PreluFn`]'s contract, with `V`'s ISA available.
#[inline(always)]
pub unsafe fn forward<V: Vector>(
    x: *const V::Elem,
    y: *mut V::Elem,
    len: usize,
    ch: &Channel<V::Elem>,
) {
    let l = V::LANES;
    // SAFETY: each segment is `[off, off + n)` inside `[0, len)` (`walk_slopes`), with
    // `s` valid for `n` reads; every register below lies inside the segment (the
    // loop condition, and a partial register for the rest), and is loaded before its
    // store, so `y == x` is fine; the ISA is available (caller).
    unsafe {
        walk_slopes::<V>(len, ch, |off, n, s| {
            let (x, y) = (x.add(off), y.add(off));
            let mut i = 0;
            while i + l <= n {
                let v = V::load(x.add(i));
                let w = V::load(s.add(i));
                V::select(v.negative(), w.mul(v), v).store(y.add(i));
                i += l;
            }
            if i < n {
                let r = n - i;
                let v = V::load_partial(x.add(i), r);
                let w = V::load_partial(s.add(i), r);
                V::select(v.negative(), w.mul(v), v).store_partial(y.add(i), r);
            }
        })
    }
}

/// PRelu's input gradient on registers of `V` ([`PreluGradFn`]).
///
/// # Safety
/// [`PreluGradFn`]'s contract, with `V`'s ISA available.
#[inline(always)]
pub unsafe fn backward<V: Vector>(
    x: *const V::Elem,
    dy: *const V::Elem,
    dx: *mut V::Elem,
    len: usize,
    ch: &Channel<V::Elem>,
) {
    let l = V::LANES;
    // SAFETY: as in `forward`; both inputs of a register are loaded before its store,
    // so `dx` may equal `x` or `dy`.
    unsafe {
        walk_slopes::<V>(len, ch, |off, n, s| {
            let (x, dy, dx) = (x.add(off), dy.add(off), dx.add(off));
            let mut i = 0;
            while i + l <= n {
                let v = V::load(x.add(i));
                let g = V::load(dy.add(i));
                let w = V::load(s.add(i));
                w.mul_unless(g, v.positive(), g).store(dx.add(i));
                i += l;
            }
            if i < n {
                let r = n - i;
                let v = V::load_partial(x.add(i), r);
                let g = V::load_partial(dy.add(i), r);
                let w = V::load_partial(s.add(i), r);
                w.mul_unless(g, v.positive(), g).store_partial(dx.add(i), r);
            }
        })
    }
}

/// Adds a contiguous piece of a channel's sequence whose first element has lane
/// `phase` to the partial sums.
///
/// # Safety
/// `x` and `dy` valid for `n` reads.
#[inline(always)]
unsafe fn add_piece<T: DwElem>(
    lanes: &mut [T::Acc; DW_LANES],
    x: *const T,
    dy: *const T,
    n: usize,
    phase: usize,
) {
    // Rotated so that the piece's element `j` adds to position `j % 16`.
    lanes.rotate_left(phase);
    let mut j = 0;
    // SAFETY: every read is at an index below `n` (loop conditions).
    unsafe {
        while j + DW_LANES <= n {
            for (q, lane) in lanes.iter_mut().enumerate() {
                *lane = *lane + T::contribution(*x.add(j + q), *dy.add(j + q));
            }
            j += DW_LANES;
        }
        for (q, lane) in lanes.iter_mut().enumerate().take(n - j) {
            *lane = *lane + T::contribution(*x.add(j + q), *dy.add(j + q));
        }
    }
    lanes.rotate_right(phase);
}

/// Calls `visit(index, n, k)` for the runs of channel `c`'s elements `start..end`
/// (a run: `n` consecutive elements in memory, `k` its first element's position in
/// the channel's sequence), stepping from run to run without dividing.
#[inline(always)]
fn for_runs(
    shape: &Shape,
    c: usize,
    start: usize,
    end: usize,
    mut visit: impl FnMut(usize, usize, usize),
) {
    let inner = shape.inner;
    let row = shape.count * inner;
    let mut i = start % inner;
    let mut run = (start / inner) * row + c * inner;
    let mut k = start;
    while k < end {
        let n = (inner - i).min(end - k);
        visit(run + i, n, k);
        k += n;
        i = 0;
        run += row;
    }
}

/// Channels handled at once by the row walk.
const ROW_CHANNELS: usize = 64;

/// Runs shorter than this are gathered into a block buffer by the slope gradient.
const GATHER_BELOW: usize = 64;

/// Whether the slope gradient's units of `shape` go block-major (`u = b * count + c`:
/// neighbouring channels of one block, which share cache lines when runs are short)
/// rather than channel-major (`u = c * blocks + b`).
#[inline(always)]
const fn block_major(shape: &Shape) -> bool {
    !shape.by_rows() && shape.inner < GATHER_BELOW
}

/// The slope gradient's block sums ([`DwFn`]), generic over the element type.
///
/// # Safety
/// [`DwFn`]'s contract.
#[inline(always)]
pub unsafe fn dw<T: DwElem>(
    x: *const T,
    dy: *const T,
    shape: &Shape,
    first: usize,
    last: usize,
    out: *mut f64,
) {
    let (m, nb, count) = (shape.per_channel(), shape.blocks(), shape.count);
    // SAFETY: every element read is `shape.index(c, k)` for `c < count`, `k < m`, inside
    // the tensor (caller); every store is `out[c * nb + b]` for `b < nb`; the buffers
    // on the stack are indexed below their lengths (`cc <= ROW_CHANNELS`, `n <=
    // DW_BLOCK`).
    unsafe {
        if shape.by_rows() {
            // Row `k` holds element `k` of every channel; a block of rows is a block
            // of every channel. Channels in groups of up to 64; partial `j` of the
            // group's channel `q` is `acc[j * cc + q]`, so with every channel in one
            // group, 16 consecutive rows (from a multiple of 16) are 16 * cc
            // consecutive elements that add to `acc` in memory order.
            for b in first..last {
                let (start, end) = (b * DW_BLOCK, m.min((b + 1) * DW_BLOCK));
                let mut c0 = 0;
                while c0 < count {
                    let cc = ROW_CHANNELS.min(count - c0);
                    let mut acc = [T::ACC_ZERO; DW_LANES * ROW_CHANNELS];
                    let mut k = start;
                    if cc == count {
                        let span = DW_LANES * cc;
                        while k + DW_LANES <= end {
                            let (xr, gr) = (x.add(k * count), dy.add(k * count));
                            for (j, a) in acc[..span].iter_mut().enumerate() {
                                *a = *a + T::contribution(*xr.add(j), *gr.add(j));
                            }
                            k += DW_LANES;
                        }
                    }
                    while k < end {
                        let lane = k % DW_LANES;
                        let (xr, gr) = (x.add(k * count + c0), dy.add(k * count + c0));
                        let row = &mut acc[lane * cc..(lane + 1) * cc];
                        for (q, a) in row.iter_mut().enumerate() {
                            *a = *a + T::contribution(*xr.add(q), *gr.add(q));
                        }
                        k += 1;
                    }
                    // `lane_tree` for every channel of the group at once.
                    let mut half = DW_LANES / 2;
                    while half >= 1 {
                        let (low, high) = acc.split_at_mut(half * cc);
                        for (a, &h) in low.iter_mut().zip(&high[..half * cc]) {
                            *a = *a + h;
                        }
                        half /= 2;
                    }
                    for (q, &sum) in acc[..cc].iter().enumerate() {
                        *out.add((c0 + q) * nb + b) = T::acc_to_f64(sum);
                    }
                    c0 += cc;
                }
            }
        } else if block_major(shape) {
            // Short runs: a block's runs gathered into a buffer, then summed in order.
            let inner = shape.inner;
            let mut xs = [MaybeUninit::<T>::uninit(); DW_BLOCK];
            let mut gs = [MaybeUninit::<T>::uninit(); DW_BLOCK];
            for u in first..last {
                let (b, c) = (u / count, u % count);
                let (start, end) = (b * DW_BLOCK, m.min((b + 1) * DW_BLOCK));
                if inner < DW_LANES {
                    // Runs shorter than a lane row: element by element, the lane
                    // stepping along (a block starts at lane 0).
                    let mut lanes = [T::ACC_ZERO; DW_LANES];
                    let mut lane = 0;
                    for_runs(shape, c, start, end, |i, n, _| {
                        for q in 0..n {
                            let v = T::contribution(*x.add(i + q), *dy.add(i + q));
                            lanes[lane] = lanes[lane] + v;
                            lane = (lane + 1) % DW_LANES;
                        }
                    });
                    *out.add(c * nb + b) = T::acc_to_f64(lane_tree(lanes));
                    continue;
                }
                for_runs(shape, c, start, end, |i, n, k| {
                    let at = k - start;
                    core::ptr::copy_nonoverlapping(x.add(i), xs.as_mut_ptr().add(at).cast(), n);
                    core::ptr::copy_nonoverlapping(dy.add(i), gs.as_mut_ptr().add(at).cast(), n);
                });
                let mut lanes = [T::ACC_ZERO; DW_LANES];
                let (xb, gb) = (xs.as_ptr().cast::<T>(), gs.as_ptr().cast::<T>());
                add_piece::<T>(&mut lanes, xb, gb, end - start, 0);
                *out.add(c * nb + b) = T::acc_to_f64(lane_tree(lanes));
            }
        } else {
            for u in first..last {
                let (c, b) = (u / nb, u % nb);
                let mut lanes = [T::ACC_ZERO; DW_LANES];
                let start = b * DW_BLOCK;
                for_runs(shape, c, start, m.min(start + DW_BLOCK), |i, n, k| {
                    add_piece::<T>(&mut lanes, x.add(i), dy.add(i), n, k % DW_LANES);
                });
                *out.add(c * nb + b) = T::acc_to_f64(lane_tree(lanes));
            }
        }
    }
}

/// The scalar ISA's PRelu forward: the oracle element by element.
///
/// # Safety
/// [`PreluFn`]'s contract.
#[inline(always)]
pub unsafe fn forward_scalar<T: Real>(x: *const T, y: *mut T, len: usize, ch: &Channel<T>) {
    // SAFETY: indices below `len` and slope indices below `count` (caller's ranges);
    // each element is read before it is written, so `y == x` is fine.
    unsafe {
        for i in 0..len {
            let w = *ch
                .values
                .add(ch.start.wrapping_add(i) / ch.inner % ch.count);
            *y.add(i) = oracle(*x.add(i), w);
        }
    }
}

/// The scalar ISA's PRelu input gradient: the oracle element by element.
///
/// # Safety
/// [`PreluGradFn`]'s contract.
#[inline(always)]
pub unsafe fn backward_scalar<T: Real>(
    x: *const T,
    dy: *const T,
    dx: *mut T,
    len: usize,
    ch: &Channel<T>,
) {
    // SAFETY: as in `forward_scalar`.
    unsafe {
        for i in 0..len {
            let w = *ch
                .values
                .add(ch.start.wrapping_add(i) / ch.inner % ch.count);
            *dx.add(i) = oracle_grad(*x.add(i), *dy.add(i), w);
        }
    }
}

/// The slope-gradient entry point `prelu_dw` of one (ISA, element type), compiled with
/// the given attributes (the ISA's target features), so that the compiler vectorises
/// [`dw`]'s independent partial sums for it.
#[macro_export]
#[doc(hidden)]
macro_rules! prelu_dw_entry {
    ([$($attr:meta),*], $T:ty) => {
        /// PRelu's slope gradient (block sums) on this module's ISA and type.
        ///
        /// # Safety
        /// See [`crate::prelu::DwFn`].
        $(#[$attr])*
        pub unsafe fn prelu_dw(
            x: *const $T,
            dy: *const $T,
            shape: &$crate::prelu::Shape,
            first: usize,
            last: usize,
            out: *mut f64,
        ) {
            // SAFETY: forwarded from the caller (contract of `DwFn`).
            unsafe { $crate::prelu::dw::<$T>(x, dy, shape, first, last, out) }
        }
    };
}
