//! The kernel bodies, written once for every ISA.
//!
//! A body walks the slices in blocks of four registers, then single registers, then
//! the tail: for a call at least one register long, one full register ending at
//! `len` that overlaps the last one (out of place the input is unchanged, so the
//! overlap gets the same values again; in place the head and tail registers are
//! loaded before the main loop writes anything and stored after it); for a shorter
//! call, one partial register (masked on AVX-512 and AVX2, a stack copy on the
//! others). No element outside `[0, len)` is ever read or written. In place
//! (`dst == src`) each block is loaded before it is stored.
//!
//! What each op computes on a register (its formula, a [`UnaryOp`] or [`BinaryOp`])
//! lives with the op in [`crate::ops`].

use core::sync::atomic::{Ordering, compiler_fence};

use crate::vector::Vector;

/// One forward formula applied to a register.
pub trait UnaryOp<V: Vector>: Copy {
    /// The formula.
    ///
    /// # Safety
    /// The running CPU supports `V`'s ISA.
    unsafe fn apply(self, x: V) -> V;

    /// In place: writes `apply(x)` back to `p`, where `x` was loaded. With a cheap
    /// masked store, only the lanes that change are written, so a cache line whose
    /// values all pass through is never dirtied (and never written back to DRAM).
    ///
    /// # Safety
    /// `p` is valid for `LANES` reads and writes; the CPU supports `V`'s ISA.
    #[inline(always)]
    unsafe fn apply_in_place(self, x: V, p: *mut V::Elem) {
        // SAFETY: forwarded from the caller.
        unsafe { self.apply(x).store(p) }
    }

    /// [`UnaryOp::apply`] on a block of four registers.
    ///
    /// # Safety
    /// The running CPU supports `V`'s ISA.
    #[inline(always)]
    unsafe fn apply4(self, x: [V; 4]) -> [V; 4] {
        // SAFETY: forwarded from the caller.
        unsafe {
            [
                self.apply(x[0]),
                self.apply(x[1]),
                self.apply(x[2]),
                self.apply(x[3]),
            ]
        }
    }

    /// [`UnaryOp::apply_in_place`] on a block of four registers loaded from `p`.
    ///
    /// # Safety
    /// `p` is valid for `4 * LANES` reads and writes; the CPU supports `V`'s ISA.
    #[inline(always)]
    unsafe fn apply_in_place4(self, x: [V; 4], p: *mut V::Elem) {
        let l = V::LANES;
        // SAFETY: forwarded from the caller; register `k` is `p[k * LANES..][..LANES]`.
        unsafe {
            self.apply_in_place(x[0], p);
            self.apply_in_place(x[1], p.add(l));
            self.apply_in_place(x[2], p.add(2 * l));
            self.apply_in_place(x[3], p.add(3 * l));
        }
    }
}

/// One backward formula applied to registers of `y` and `dy`.
pub trait BinaryOp<V: Vector>: Copy {
    /// The formula.
    ///
    /// # Safety
    /// The running CPU supports `V`'s ISA.
    unsafe fn apply(self, y: V, dy: V) -> V;
}

/// Calls of at least this many registers align their output before the main loop
/// (measured: at 4 registers the aligning head cost more than it saved).
pub(crate) const ALIGN_MIN_REGISTERS: usize = 16;

/// Elements to process before `dst` is aligned to a whole register (0 if it is).
#[inline(always)]
fn head_len<V: Vector>(dst: *const V::Elem, len: usize) -> usize {
    let vbytes = V::LANES * size_of::<V::Elem>();
    let mis = dst as usize % vbytes;
    if mis == 0 {
        0
    } else {
        ((vbytes - mis) / size_of::<V::Elem>()).min(len)
    }
}

/// `i`, hidden from the optimiser on WebAssembly: the main loops' index passes
/// through it once a turn.
///
/// LLVM's loop strength reduction rewrites a loop's `base + i + k` addresses as
/// plain byte offsets from a new base and drops their in-bounds flag, and the
/// WebAssembly back end folds a constant into a load's or store's `offset`
/// immediate only under that flag. Each of the main loops' 16 to 24 accesses then
/// cost an `i32.add` of its own (on x86, wasmtime makes it an `lea` before each
/// `vmovdqu`, which a 32-bit address space needs, since the add may wrap). With the
/// index opaque there is no induction variable to rewrite: the accesses keep their
/// constant offsets, for one stack store and load of the index per turn.
/// Elsewhere `i` itself.
#[inline(always)]
pub(crate) fn loop_index(i: usize) -> usize {
    #[cfg(target_arch = "wasm32")]
    {
        core::hint::black_box(i)
    }
    #[cfg(not(target_arch = "wasm32"))]
    {
        i
    }
}

/// The page of the streaming loops' blocks: 4 KiB, the unit the hardware prefetchers
/// follow.
const PAGE_BYTES: usize = 4096;

/// Elements of `E` in one page of a streaming block ([`page_offsets`]).
#[inline(always)]
pub(crate) const fn stream_page<E>() -> usize {
    PAGE_BYTES / size_of::<E>()
}

/// The streaming main loops walk blocks of four 4 KiB pages, one register from each
/// of the four in turn: this gives the four offsets `block + q * page + j` and
/// prefetches each page's line 512 bytes ahead (above, walking up).
///
/// One pass over a DRAM-sized buffer from one core is bound by how many cache lines it
/// has in flight: reading four pages at once keeps four prefetch streams busy instead
/// of one (glibc's `memcpy` walks large copies the same way). On the Sapphire Rapids
/// host it took Int8LeakyRelu at 256 MiB from 0.78x `memcpy` to 1.0x
/// (`docs/PERFORMANCE.md`). The loops are written out in each body rather than taking
/// a closure: a closure is compiled without the kernel's target features, and its
/// SIMD calls then stay calls.
#[inline(always)]
pub(crate) fn page_offsets<E>(src: *const E, block: usize, j: usize) -> [usize; 4] {
    let o = four_pages::<E>(block, j);
    for &o in &o {
        prefetch(src.wrapping_add(o + 512 / size_of::<E>()));
    }
    o
}

/// [`page_offsets`] for the loops that walk down: the same offsets, each page's line
/// 512 bytes below prefetched.
#[inline(always)]
pub(crate) fn page_offsets_down<E>(src: *const E, block: usize, j: usize) -> [usize; 4] {
    let o = four_pages::<E>(block, j);
    for &o in &o {
        prefetch(src.wrapping_add(o).wrapping_sub(512 / size_of::<E>()));
    }
    o
}

/// `block + q * page + j` for the four pages `q` of a streaming block.
#[inline(always)]
fn four_pages<E>(block: usize, j: usize) -> [usize; 4] {
    let page = stream_page::<E>();
    [
        block + j,
        block + page + j,
        block + 2 * page + j,
        block + 3 * page + j,
    ]
}

/// A software prefetch of the line at `p` into every cache level (x86_64 only; a
/// no-op elsewhere). `p` need not be in bounds.
#[inline(always)]
fn prefetch<E>(p: *const E) {
    // SAFETY: PREFETCHT0 (SSE, in every x86_64) is a hint: it changes nothing the
    // program can observe and cannot fault; callers form `p` with `wrapping_*`
    // without claiming it is in bounds.
    #[cfg(target_arch = "x86_64")]
    unsafe {
        core::arch::x86_64::_mm_prefetch::<{ core::arch::x86_64::_MM_HINT_T0 }>(p.cast())
    };
    #[cfg(not(target_arch = "x86_64"))]
    let _ = p; // other targets: no software prefetch
}

/// A full-register store, streaming when `NT`.
///
/// # Safety
/// `p` is valid for `LANES` writes (and register-aligned when `NT`); ISA available.
#[inline(always)]
unsafe fn put<V: Vector, const NT: bool>(v: V, p: *mut V::Elem) {
    // SAFETY: forwarded from the caller.
    unsafe { if NT { v.store_stream(p) } else { v.store(p) } }
}

/// Calls that move fewer bytes than this (inputs and output) take the main loops'
/// turns one register at a time, each loaded, computed and stored before the next
/// is loaded; larger calls, and every call outside WebAssembly, load a turn's four
/// registers (of each input) first. wasmtime (Cranelift) keeps the order in which
/// a turn's loads and stores are written and has 16 `xmm` registers: with the loads
/// first, all of them stay live through the arithmetic, and in L1 and L2 that ran
/// slower even where nothing spilled. From the L3 up the loads-first order led.
/// Measured under wasmtime 51 on Zen 4 (1 MiB of L2), GB/s, the two orders:
///
/// | cell | loads first | one at a time |
/// |---|--:|--:|
/// | f16 relu, 64 KiB | 100 | 108-110 |
/// | f32 relu_n_grad, 64 KiB | 99-102 | 107-108 |
/// | f32 relu_n_grad, 256 KiB | 89-90 | 96-99 |
/// | f32 relu, 256 KiB | 115 | 116 |
/// | f32 relu, 512 KiB | 94 | 90 |
/// | f32 relu_grad, 512 KiB | 96 | 88 |
/// | f32 relu, 1 MiB | 95-98 | 86-89 |
///
/// Native compilers schedule the loads themselves. The in-place loops keep the
/// loads-first order everywhere ([`in_place_blocks`]; under wasmtime not measured
/// the other way).
#[cfg(target_arch = "wasm32")]
const ONE_AT_A_TIME_MAX_BYTES: usize = 1 << 20;

/// Whether a call that moves `bytes` takes its turns one register at a time
/// ([`ONE_AT_A_TIME_MAX_BYTES`]).
#[cfg(target_arch = "wasm32")]
#[inline(always)]
fn one_at_a_time(bytes: usize) -> bool {
    bytes < ONE_AT_A_TIME_MAX_BYTES
}

/// One turn of the out-of-place main loops: `t[..4 * LANES] = op(s[..4 * LANES])`,
/// the four registers loaded first unless `single` (then one at a time, from the top
/// where `down`; see [`ONE_AT_A_TIME_MAX_BYTES`]).
///
/// # Safety
/// `s` and `t` are valid for `4 * LANES` reads and writes, `t` register-aligned when
/// `NT`; `t` does not overlap `s`; `V`'s ISA is available.
#[inline(always)]
unsafe fn unary_turn<V: Vector, O: UnaryOp<V>, const NT: bool>(
    s: *const V::Elem,
    t: *mut V::Elem,
    op: O,
    single: bool,
    down: bool,
) {
    let l = V::LANES;
    // SAFETY: register `k` is `[k * LANES..][..LANES]` of both, inside the ranges
    // the caller vouches for.
    unsafe {
        if !single {
            let a = V::load(s);
            let b = V::load(s.add(l));
            let c = V::load(s.add(2 * l));
            let d = V::load(s.add(3 * l));
            let [a, b, c, d] = op.apply4([a, b, c, d]);
            put::<V, NT>(a, t);
            put::<V, NT>(b, t.add(l));
            put::<V, NT>(c, t.add(2 * l));
            put::<V, NT>(d, t.add(3 * l));
        } else {
            for j in 0..4 {
                let k = if down { 3 - j } else { j };
                put::<V, NT>(op.apply(V::load(s.add(k * l))), t.add(k * l));
            }
        }
    }
}

/// One turn of the backward main loops: `t[..4 * LANES] = op(a[..], g[..])`, all
/// eight registers loaded first unless `single`, else each register of `t` computed
/// from its two loads and stored before the next pair is loaded (from the top where
/// `down`). Either way `t` may equal `a` or `g`: register `k` of both is loaded
/// before register `k` of `t` is written, and no other is.
///
/// # Safety
/// `a` and `g` are valid for `4 * LANES` reads and `t` for as many writes,
/// register-aligned when `NT`; `t` equals `a` or `g` or overlaps neither; `V`'s ISA
/// is available.
#[inline(always)]
unsafe fn binary_turn<V: Vector, O: BinaryOp<V>, const NT: bool>(
    a: *const V::Elem,
    g: *const V::Elem,
    t: *mut V::Elem,
    op: O,
    single: bool,
    down: bool,
) {
    let l = V::LANES;
    // SAFETY: register `k` is `[k * LANES..][..LANES]` of each, inside the ranges
    // the caller vouches for; every register of `t` is stored after the same
    // register of `a` and `g` is loaded.
    unsafe {
        if !single {
            let y0 = V::load(a);
            let y1 = V::load(a.add(l));
            let y2 = V::load(a.add(2 * l));
            let y3 = V::load(a.add(3 * l));
            let g0 = V::load(g);
            let g1 = V::load(g.add(l));
            let g2 = V::load(g.add(2 * l));
            let g3 = V::load(g.add(3 * l));
            put::<V, NT>(op.apply(y0, g0), t);
            put::<V, NT>(op.apply(y1, g1), t.add(l));
            put::<V, NT>(op.apply(y2, g2), t.add(2 * l));
            put::<V, NT>(op.apply(y3, g3), t.add(3 * l));
        } else {
            for j in 0..4 {
                let k = if down { 3 - j } else { j };
                let v = op.apply(V::load(a.add(k * l)), V::load(g.add(k * l)));
                put::<V, NT>(v, t.add(k * l));
            }
        }
    }
}

/// One register at each of the four offsets `o` (a step of the streaming loops' page
/// blocks): four loads, [`UnaryOp::apply4`], four stores.
///
/// # Safety
/// `src` and `dst` are valid for `LANES` reads and writes at each offset (`dst`
/// register-aligned there when `NT`); `V`'s ISA is available.
#[inline(always)]
unsafe fn four_registers<V: Vector, O: UnaryOp<V>, const NT: bool>(
    src: *const V::Elem,
    dst: *mut V::Elem,
    o: [usize; 4],
    op: O,
) {
    // SAFETY: forwarded from the caller.
    unsafe {
        let x = [
            V::load(src.add(o[0])),
            V::load(src.add(o[1])),
            V::load(src.add(o[2])),
            V::load(src.add(o[3])),
        ];
        let [a, b, c, d] = op.apply4(x);
        put::<V, NT>(a, dst.add(o[0]));
        put::<V, NT>(b, dst.add(o[1]));
        put::<V, NT>(c, dst.add(o[2]));
        put::<V, NT>(d, dst.add(o[3]));
    }
}

/// `dst[i] = op(src[i])` for `i < len`.
///
/// # Safety
/// The contract of [`crate::UnaryFn`], with `V`'s ISA available.
#[inline(always)]
pub unsafe fn unary<V: Vector, O: UnaryOp<V>>(
    src: *const V::Elem,
    dst: *mut V::Elem,
    len: usize,
    op: O,
    stream: bool,
) {
    // SAFETY: forwarded from the caller.
    unsafe {
        if core::ptr::eq(src, dst) {
            in_place_body::<V, O>(dst, len, op)
        } else if len >= 4 * V::LANES && walk_down(dst, &[src]) {
            if V::STREAMS && stream {
                unary_down::<V, O, true>(src, dst, len, op)
            } else {
                unary_down::<V, O, false>(src, dst, len, op)
            }
        } else if V::STREAMS && stream {
            unary_body::<V, O, true>(src, dst, len, op)
        } else {
            unary_body::<V, O, false>(src, dst, len, op)
        }
    }
}

/// Calls at least this many wide registers long take the narrow vector in
/// [`unary_split`] and [`binary_split`]; shorter ones keep the wide one's masked
/// partial register (the narrow AVX2 one, VMASKMOV, is slow on AMD).
pub const NARROW_MIN_REGISTERS: usize = 4;

/// In place, [`unary_split`] takes the narrow vector only up to this many bytes (the
/// L1 data cache of the core that wants narrow loops). Measured there (AMD family
/// 19h, f32 and f64, the report's cells, two builds run alternately): at 4 KiB the
/// 256-bit loop with plain stores ran 1.02-1.22x the 512-bit one with masked stores
/// (f32 1.14-1.18x), at 16-64 KiB the two were level, and at 1-4 MiB the 512-bit
/// loop led by up to 5% (relu_n and leaky_relu).
pub const NARROW_IN_PLACE_MAX_BYTES: usize = 32 << 10;

/// leaky_relu's gradient takes the narrow vector in [`binary_split`] only from this
/// many bytes per buffer. In L1 its compare, product and blend per register cost
/// more on twice the registers than the narrower accesses save (f32 at 4 KiB: 0.93x
/// on `ymm`). Bound by memory, the narrow loop led (AMD family 19h, the report's
/// cells, two builds run alternately, 3 runs each: in place 1.05-1.28x at 16-256 MiB,
/// out of place level to 1.03x); at 256 KiB-4 MiB the two were level, so the bound
/// sits there.
pub const LEAKY_GRAD_NARROW_MIN_BYTES: usize = 1 << 20;

/// [`unary`] with two vector types of one ISA: calls at least
/// [`NARROW_MIN_REGISTERS`] wide registers long run on `N`, except in place above
/// [`NARROW_IN_PLACE_MAX_BYTES`]; the rest on `W`. With `N` as wide as `W` this is
/// `unary::<W>` (the test is a constant). The AVX-512 tables for cores that split
/// 512-bit accesses in two use it with 256-bit main loops (see `x86_64::avx512`).
///
/// # Safety
/// The contract of [`crate::UnaryFn`], with the ISA of both `W` and `N` available.
#[inline(always)]
pub unsafe fn unary_split<W, N, OW, ON>(
    src: *const W::Elem,
    dst: *mut W::Elem,
    len: usize,
    wide: OW,
    narrow: ON,
    stream: bool,
) where
    W: Vector,
    N: Vector<Elem = W::Elem>,
    OW: UnaryOp<W>,
    ON: UnaryOp<N>,
{
    // SAFETY: forwarded from the caller; both bodies meet `UnaryFn`'s contract.
    unsafe {
        let fits = !core::ptr::eq(src, dst)
            || len.saturating_mul(size_of::<W::Elem>()) <= NARROW_IN_PLACE_MAX_BYTES;
        if N::LANES < W::LANES && fits && len >= NARROW_MIN_REGISTERS * W::LANES {
            unary::<N, ON>(src, dst, len, narrow, stream)
        } else {
            unary::<W, OW>(src, dst, len, wide, stream)
        }
    }
}

/// Whether an out-of-place loop should walk from the end down, to keep clear of
/// 4 KiB aliasing.
///
/// A load whose address equals a recent, not yet committed store's in the low 12 bits
/// is held back as if it depended on it. Walking up, the loads run ahead of the
/// stores by at most a few hundred bytes; they meet the stores' 4 KiB images when the
/// output sits a little above an input modulo 4 KiB (`(dst - src) mod 4096` small),
/// and walking down they meet them when it sits a little below. This picks the
/// direction whose nearest meeting is further away (measured on the reference
/// machine: 16 KiB buffers with `dst - src = 384 mod 4096` ran at 0.6x memcpy walking
/// up, and at memcpy's speed walking down).
#[inline(always)]
pub(crate) fn walk_down<T>(dst: *const T, inputs: &[*const T]) -> bool {
    const PAGE: usize = 4096;
    let (mut up, mut down) = (PAGE, PAGE);
    for &src in inputs {
        let d = (dst as usize).wrapping_sub(src as usize) % PAGE;
        if d != 0 {
            up = up.min(d);
            down = down.min(PAGE - d);
        }
    }
    up < down
}

/// The boundary the out-of-place loops align the output to: a 64-byte cache
/// line, or a register where one is wider. With registers narrower than a line
/// (SIMD128 and NEON: 16 bytes; AVX2: 32), each block of four registers then writes
/// whole lines. Measured under wasmtime on the Sapphire Rapids host (f32, 1 MiB
/// buffers, the output 16-48 bytes past a line and the input on one): aligned to
/// 16-byte registers the relu kernel ran at 19-23 GB/s against 25-28 with the output
/// on a line, where the compiler's loop ran at 20-22 either way.
#[inline(always)]
const fn line_elems<V: Vector>() -> usize {
    let line = 64 / size_of::<V::Elem>();
    if V::LANES > line { V::LANES } else { line }
}

/// Elements before the first line boundary of `dst` ([`line_elems`]), at most `len`.
#[inline(always)]
fn head_to_line<V: Vector>(dst: *const V::Elem, len: usize) -> usize {
    let bytes = line_elems::<V>() * size_of::<V::Elem>();
    let mis = dst as usize % bytes;
    if mis == 0 {
        0
    } else {
        ((bytes - mis) / size_of::<V::Elem>()).min(len)
    }
}

/// Elements of `end` past the last line boundary below it ([`line_elems`]).
#[inline(always)]
fn top_to_line<V: Vector>(end: *const V::Elem) -> usize {
    end as usize % (line_elems::<V>() * size_of::<V::Elem>()) / size_of::<V::Elem>()
}

/// `unary_body` walking down (see [`walk_down`]): full registers down from `len`
/// over the part above the output's last line boundary ([`top_to_line`]), then
/// line-aligned blocks of the output downwards (with `NT`, streaming, first in
/// blocks of four pages as in [`page_offsets`], walked down), then one full
/// register at 0. `dst` must not overlap `src`, and `len >= 4 * LANES`.
#[inline(always)]
unsafe fn unary_down<V: Vector, O: UnaryOp<V>, const NT: bool>(
    src: *const V::Elem,
    dst: *mut V::Elem,
    len: usize,
    op: O,
) {
    let l = V::LANES;
    #[cfg(target_arch = "wasm32")]
    let single = one_at_a_time(len.saturating_mul(2 * size_of::<V::Elem>()));
    // Every register is at least 16 bytes, so a line is at most four of them.
    debug_assert!(line_elems::<V>() <= 4 * l && len >= 4 * l);
    // SAFETY: every access is a full register at an index in `0..=len - LANES`: the
    // top registers start at `len - LANES - c` for `c` a multiple of LANES below
    // `top < line_elems <= 4 * LANES`, so at `len - 4 * LANES >= 0` or above; `i`
    // only decreases and stays a multiple-of-LANES step above 0. So every access is
    // inside the caller's ranges; `dst` overlaps no input, so elements written twice
    // (the top and bottom registers overlap the blocks) get the same value both
    // times. With NT, `dst + i` is line-aligned after the top (and so
    // register-aligned, as `store_stream` requires) and every block below keeps it
    // so (a page is a whole number of lines); a four-page block is only taken while
    // it starts at or above 0. The top and the register at 0 use plain stores.
    unsafe {
        let mut i = len;
        let top = top_to_line::<V>(dst.add(len));
        if top != 0 {
            let mut c = 0;
            while c < top {
                let j = len - l - c;
                op.apply(V::load(src.add(j))).store(dst.add(j));
                c += l;
            }
            i = len - top;
        }
        if NT {
            let page = stream_page::<V::Elem>();
            while i >= 4 * page {
                i -= 4 * page;
                let mut j = page;
                while j > 0 {
                    j -= l;
                    four_registers::<V, O, NT>(src, dst, page_offsets_down(src, i, j), op);
                }
            }
        }
        // A loop of its own, so that each turn's form is a constant; it leaves no
        // whole turn to the next one.
        #[cfg(target_arch = "wasm32")]
        if single {
            while i >= 4 * l {
                i = loop_index(i) - 4 * l;
                unary_turn::<V, O, NT>(src.add(i), dst.add(i), op, true, true);
            }
        }
        while i >= 4 * l {
            i = loop_index(i) - 4 * l;
            unary_turn::<V, O, NT>(src.add(i), dst.add(i), op, false, true);
        }
        while i >= l {
            i -= l;
            put::<V, NT>(op.apply(V::load(src.add(i))), dst.add(i));
        }
        if i > 0 {
            op.apply(V::load(src)).store(dst);
        }
        if NT {
            V::stream_fence();
        }
    }
}

/// Out of place (`dst` does not overlap `src`; in place is [`in_place_body`]). A call
/// of at least one register handles its unaligned head and its tail with full
/// registers that overlap the main loop's (recomputing a few elements from the
/// unchanged input, which gives the same values again) instead of partial ones: no
/// masked or stack-copied access, which on some CPUs costs more than the whole
/// register (measured here: ~5 ns per masked tail on AVX-512, and AVX2's VMASKMOV is
/// slow on AMD).
#[inline(always)]
unsafe fn unary_body<V: Vector, O: UnaryOp<V>, const NT: bool>(
    src: *const V::Elem,
    dst: *mut V::Elem,
    len: usize,
    op: O,
) {
    let l = V::LANES;
    #[cfg(target_arch = "wasm32")]
    let single = one_at_a_time(len.saturating_mul(2 * size_of::<V::Elem>()));
    let mut i = 0;
    // SAFETY: every access below is at an index `< len` (the loop conditions, the
    // head and the partial tail guarantee it; the full-register head and tail are
    // only taken when `len >= LANES`, the head's registers starting at most at
    // `len - LANES` and the tail at `len - LANES`),
    // so it stays inside the ranges the caller vouched for. `dst` does not overlap
    // `src`, so elements written twice get the same value both times, computed from
    // the unchanged `src`. With NT, the head (`h` elements, less than a line) makes
    // `dst + i` line- and so register-aligned, as `store_stream` requires, and the
    // page blocks keep it so (a page is a whole number of registers); a block of
    // four pages is only taken while it ends at or before `len`.
    unsafe {
        // Align the output to a cache line first ([`line_elems`]; a whole register
        // where registers are wider): a store that straddles two cache lines costs
        // two, and buffers from the allocator are often only 16-byte aligned.
        // Streaming stores require register alignment. Short calls skip this.
        if NT || len >= ALIGN_MIN_REGISTERS * l {
            let h = head_to_line::<V>(dst, len);
            if h > 0 {
                if len >= l {
                    // Full registers from 0 up over the head, the last one at most
                    // at `len - LANES`.
                    let mut j = 0;
                    while j < h {
                        let k = j.min(len - l);
                        op.apply(V::load(src.add(k))).store(dst.add(k));
                        j += l;
                    }
                } else {
                    op.apply(V::load_partial(src, h)).store_partial(dst, h);
                }
                i = h;
            }
        }
        if NT {
            let page = stream_page::<V::Elem>();
            while i + 4 * page <= len {
                let mut j = 0;
                while j < page {
                    four_registers::<V, O, NT>(src, dst, page_offsets(src, i, j), op);
                    j += l;
                }
                i += 4 * page;
            }
        }
        // A loop of its own, so that each turn's form is a constant; it leaves no
        // whole turn to the next one.
        #[cfg(target_arch = "wasm32")]
        if single {
            while i + 4 * l <= len {
                i = loop_index(i);
                unary_turn::<V, O, NT>(src.add(i), dst.add(i), op, true, false);
                i += 4 * l;
            }
        }
        while i + 4 * l <= len {
            i = loop_index(i);
            unary_turn::<V, O, NT>(src.add(i), dst.add(i), op, false, false);
            i += 4 * l;
        }
        while i + l <= len {
            put::<V, NT>(op.apply(V::load(src.add(i))), dst.add(i));
            i += l;
        }
        if i < len {
            if len >= l {
                let j = len - l;
                op.apply(V::load(src.add(j))).store(dst.add(j));
            } else {
                let n = len - i;
                op.apply(V::load_partial(src.add(i), n))
                    .store_partial(dst.add(i), n);
            }
        }
        if NT {
            V::stream_fence();
        }
    }
}

/// `x[i] = op(x[i])` for `i < len`, writing only the lanes that change
/// ([`UnaryOp::apply_in_place`]).
#[inline(always)]
unsafe fn in_place_body<V: Vector, O: UnaryOp<V>>(x: *mut V::Elem, len: usize, op: O) {
    let l = V::LANES;
    // SAFETY: all indices are `< len`, inside the caller's range (full-register head
    // and tail only when `len >= LANES`, at `0..LANES` and `len - LANES..len`). The
    // head and tail registers are loaded before anything is written, so the lanes
    // they share with the main loop's registers are computed from the same input
    // and written twice with the same value; every other register is loaded before
    // it is written back. The head (`h < LANES` elements) aligns the rest, as in
    // `unary_body`.
    unsafe {
        if len < l {
            op.apply(V::load_partial(x, len)).store_partial(x, len);
            return;
        }
        let h = if len >= ALIGN_MIN_REGISTERS * l {
            head_len::<V>(x, len)
        } else {
            0
        };
        let rem = (len - h) % l;
        // The ragged ends as full registers that overlap the main loop's: loaded
        // first, while the input is untouched, and written back last. (Loading a
        // register that partly overlaps a store still in flight would wait for that
        // store: there is no store-to-load forwarding across registers.)
        let head = if h > 0 { Some(V::load(x)) } else { None };
        let tail = if rem != 0 {
            Some(V::load(x.add(len - l)))
        } else {
            None
        };
        in_place_blocks::<V, O>(x, h, len - rem, op);
        if let Some(t) = tail {
            op.apply_in_place(t, x.add(len - l));
        }
        if let Some(v) = head {
            op.apply_in_place(v, x);
        }
    }
}

/// Whole registers of `x[start..stop]` in place, from `start`; returns where it
/// stopped (the last whole register's end).
///
/// # Safety
/// `x[start..stop]` is valid for reads and writes; the CPU supports `V`'s ISA.
#[inline(always)]
unsafe fn in_place_blocks<V: Vector, O: UnaryOp<V>>(
    x: *mut V::Elem,
    start: usize,
    stop: usize,
    op: O,
) -> usize {
    let l = V::LANES;
    let mut i = start;
    // SAFETY: every register is inside `start..stop` (the loop conditions), which the
    // caller vouches for, and is loaded before it is written back.
    unsafe {
        while i + 4 * l <= stop {
            i = loop_index(i);
            let p = x.add(i);
            let a = V::load(p);
            let b = V::load(p.add(l));
            let c = V::load(p.add(2 * l));
            let d = V::load(p.add(3 * l));
            // Keep the four loads ahead of the four stores. The compiler sees that
            // they touch different registers' worth of `x` and would otherwise sink
            // each load to its use, between the stores, which measured 4-20% slower
            // in L2 and L3 (f32 relu_n in place at 8 MiB 158 -> 188 GB/s, f64 relu_n
            // at 4 MiB 177 -> 195). Out of place the loads stay first anyway: the
            // compiler cannot tell `src` and `dst` apart. No instruction is emitted.
            compiler_fence(Ordering::SeqCst);
            op.apply_in_place4([a, b, c, d], p);
            i += 4 * l;
        }
        while i + l <= stop {
            op.apply_in_place(V::load(x.add(i)), x.add(i));
            i += l;
        }
    }
    i
}

/// `dx[i] = op(y[i], dy[i])` for `i < len`.
///
/// # Safety
/// The contract of [`crate::BinaryFn`], with `V`'s ISA available.
#[inline(always)]
pub unsafe fn binary<V: Vector, O: BinaryOp<V>>(
    y: *const V::Elem,
    dy: *const V::Elem,
    dx: *mut V::Elem,
    len: usize,
    op: O,
    stream: bool,
) {
    let distinct = !core::ptr::eq(y, dx) && !core::ptr::eq(dy, dx);
    // SAFETY: forwarded from the caller (streaming stores and walking down only where
    // `dx` is neither input, as `binary_body::<_, _, true>` and `binary_down` require).
    unsafe {
        if V::STREAMS && stream && distinct {
            binary_body::<V, O, true>(y, dy, dx, len, op)
        } else if distinct && len >= 4 * V::LANES && walk_down(dx, &[y, dy]) {
            binary_down::<V, O>(y, dy, dx, len, op)
        } else {
            binary_body::<V, O, false>(y, dy, dx, len, op)
        }
    }
}

/// [`binary`] with two vector types, as [`unary_split`]: `N` when the call is at
/// least [`NARROW_MIN_REGISTERS`] wide registers and `narrow_min_bytes` bytes per
/// buffer long, in place or not, `W` otherwise. (In place, measured as for
/// [`NARROW_IN_PLACE_MAX_BYTES`]: the 256-bit loop ran 1.03-1.16x the 512-bit one at
/// 4-16 KiB, level to 1.04x at 32 KiB-1 MiB, and 1.04-1.25x at 16-64 MiB.)
///
/// # Safety
/// The contract of [`crate::BinaryFn`], with the ISA of both `W` and `N` available.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
pub unsafe fn binary_split<W, N, OW, ON>(
    y: *const W::Elem,
    dy: *const W::Elem,
    dx: *mut W::Elem,
    len: usize,
    wide: OW,
    narrow: ON,
    narrow_min_bytes: usize,
    stream: bool,
) where
    W: Vector,
    N: Vector<Elem = W::Elem>,
    OW: BinaryOp<W>,
    ON: BinaryOp<N>,
{
    // SAFETY: forwarded from the caller; both bodies meet `BinaryFn`'s contract.
    unsafe {
        if N::LANES < W::LANES
            && len >= NARROW_MIN_REGISTERS * W::LANES
            && len.saturating_mul(size_of::<W::Elem>()) >= narrow_min_bytes
        {
            binary::<N, ON>(y, dy, dx, len, narrow, stream)
        } else {
            binary::<W, OW>(y, dy, dx, len, wide, stream)
        }
    }
}

/// `binary_body` walking down, as [`unary_down`]: `dx` overlaps neither input, and
/// `len >= 4 * LANES`.
#[inline(always)]
unsafe fn binary_down<V: Vector, O: BinaryOp<V>>(
    y: *const V::Elem,
    dy: *const V::Elem,
    dx: *mut V::Elem,
    len: usize,
    op: O,
) {
    let l = V::LANES;
    #[cfg(target_arch = "wasm32")]
    let single = one_at_a_time(len.saturating_mul(3 * size_of::<V::Elem>()));
    debug_assert!(line_elems::<V>() <= 4 * l && len >= 4 * l);
    // SAFETY: as in `unary_down`: full registers at indices in `0..=len - LANES`
    // only, and `dx` overlaps neither input, so the overlapping top and bottom
    // registers write the same values again.
    unsafe {
        let mut i = len;
        let top = top_to_line::<V>(dx.add(len));
        if top != 0 {
            let mut c = 0;
            while c < top {
                let j = len - l - c;
                op.apply(V::load(y.add(j)), V::load(dy.add(j)))
                    .store(dx.add(j));
                c += l;
            }
            i = len - top;
        }
        // A loop of its own, so that each turn's form is a constant; it leaves no
        // whole turn to the next one.
        #[cfg(target_arch = "wasm32")]
        if single {
            while i >= 4 * l {
                i = loop_index(i) - 4 * l;
                binary_turn::<V, O, false>(y.add(i), dy.add(i), dx.add(i), op, true, true);
            }
        }
        while i >= 4 * l {
            i = loop_index(i) - 4 * l;
            binary_turn::<V, O, false>(y.add(i), dy.add(i), dx.add(i), op, false, true);
        }
        while i >= l {
            i -= l;
            op.apply(V::load(y.add(i)), V::load(dy.add(i)))
                .store(dx.add(i));
        }
        if i > 0 {
            op.apply(V::load(y), V::load(dy)).store(dx);
        }
    }
}

/// With `NT` (streaming stores; `dx` must overlap neither input) the head and the tail
/// are overlapping full registers written as they are computed, as in [`unary_body`].
/// Without, `dx` may also equal `y` or `dy`: the ragged ends are full registers
/// computed before the main loop writes anything and stored after it, as in
/// [`in_place_body`]. (One form for every out-of-place and in-place call keeps the
/// number of loop bodies per kernel down; the two orders cost the same.)
#[inline(always)]
unsafe fn binary_body<V: Vector, O: BinaryOp<V>, const NT: bool>(
    y: *const V::Elem,
    dy: *const V::Elem,
    dx: *mut V::Elem,
    len: usize,
    op: O,
) {
    let l = V::LANES;
    #[cfg(target_arch = "wasm32")]
    let single = one_at_a_time(len.saturating_mul(3 * size_of::<V::Elem>()));
    let mut i = 0;
    // `dx` overlaps neither input.
    let distinct = NT;
    // SAFETY: as in `unary_body`: all indices are `< len` (full-register head and
    // tail only when `len >= LANES`, the head's registers at most at `len - LANES`;
    // recomputed from the unchanged inputs when `dx` overlaps neither, or computed
    // before anything is written otherwise, so elements written twice get the same
    // value), and every block of `y` and `dy`
    // is loaded before the same block of `dx` is stored, so `dx` may equal either;
    // with NT the head aligns `dx + i` for the streaming stores.
    unsafe {
        // Align the output to a line first, as in `unary_body`. Without NT the head
        // registers are stored last instead (below).
        let mut h = 0;
        if NT || len >= ALIGN_MIN_REGISTERS * l {
            h = head_to_line::<V>(dx, len);
            if h > 0 && distinct && len >= l {
                let mut j = 0;
                while j < h {
                    let k = j.min(len - l);
                    op.apply(V::load(y.add(k)), V::load(dy.add(k)))
                        .store(dx.add(k));
                    j += l;
                }
            } else if h > 0 && NT {
                op.apply(V::load_partial(y, h), V::load_partial(dy, h))
                    .store_partial(dx, h);
            }
            i = h;
        }
        // Without NT the ragged ends are full registers as well, computed before the
        // main loop writes anything (so from the untouched inputs) and stored after
        // it, as in `in_place_body`: the head takes up to four (a line of the
        // narrowest registers), at `0, LANES, ..` below `h` (the last at most at
        // `len - LANES`).
        let ends = !distinct && len >= l;
        let heads = if ends { h.div_ceil(l) } else { 0 };
        debug_assert!(heads <= 4);
        let mut head = [V::zero(); 4];
        for (k, r) in head.iter_mut().enumerate().take(heads) {
            let j = (k * l).min(len - l);
            *r = op.apply(V::load(y.add(j)), V::load(dy.add(j)));
        }
        let tail = (ends && !(len - h).is_multiple_of(l)).then(|| {
            let j = len - l;
            op.apply(V::load(y.add(j)), V::load(dy.add(j)))
        });
        // A loop of its own, so that each turn's form is a constant; it leaves no
        // whole turn to the next one.
        #[cfg(target_arch = "wasm32")]
        if single {
            while i + 4 * l <= len {
                i = loop_index(i);
                binary_turn::<V, O, NT>(y.add(i), dy.add(i), dx.add(i), op, true, false);
                i += 4 * l;
            }
        }
        while i + 4 * l <= len {
            i = loop_index(i);
            binary_turn::<V, O, NT>(y.add(i), dy.add(i), dx.add(i), op, false, false);
            i += 4 * l;
        }
        while i + l <= len {
            put::<V, NT>(op.apply(V::load(y.add(i)), V::load(dy.add(i))), dx.add(i));
            i += l;
        }
        if i < len {
            if distinct && len >= l {
                let j = len - l;
                op.apply(V::load(y.add(j)), V::load(dy.add(j)))
                    .store(dx.add(j));
            } else if let Some(t) = tail {
                t.store(dx.add(len - l));
            } else {
                let n = len - i;
                op.apply(V::load_partial(y.add(i), n), V::load_partial(dy.add(i), n))
                    .store_partial(dx.add(i), n);
            }
        }
        for (k, r) in head.iter().enumerate().take(heads) {
            r.store(dx.add((k * l).min(len - l)));
        }
        if NT {
            V::stream_fence();
        }
    }
}

/// Generates the `#[target_feature]` entry points of one (ISA, element type), generic
/// over the op, and the `KERNELS` table that lists them ([`crate::kernels_table`]).
///
/// Usage: `kernel_entry_points!([target_feature(enable = "avx2")], __m256, f32);`
/// inside the module that should hold them (`[inline]` for no extra feature). A fourth
/// type, a narrower vector of the same element type whose ISA the attributes enable,
/// runs the main loops of the forward ops (in place only up to
/// [`NARROW_IN_PLACE_MAX_BYTES`](crate::generic::NARROW_IN_PLACE_MAX_BYTES)) and of
/// the backward ops from their
/// [`NARROW_MIN_BYTES`](crate::ops::BackwardOp::NARROW_MIN_BYTES) per buffer
/// ([`unary_split`](crate::generic::unary_split),
/// [`binary_split`](crate::generic::binary_split)).
#[macro_export]
#[doc(hidden)]
macro_rules! kernel_entry_points {
    ([$($attr:meta),*], $V:ty, $T:ty) => {
        $crate::kernel_entry_points!([$($attr),*], $V, $T, $V);
    };
    ([$($attr:meta),*], $V:ty, $T:ty, $N:ty) => {
        $crate::kernel_entry_points!(@fns [$($attr),*], $V, $T, $N);
        $crate::kernel_entry_points!(@prelu [$($attr),*], $V, $T);

        /// Every op of this module. Calling any of them requires the ISA.
        pub const KERNELS: $crate::Kernels<$T> = $crate::kernels_table!(forward, backward);
    };
    // The generic entry points alone (a module that builds its table otherwise).
    (@fns [$($attr:meta),*], $V:ty, $T:ty, $N:ty) => {
        /// The forward op `O` on this module's ISA and type.
        ///
        /// # Safety
        /// See the crate docs ([`crate::UnaryFn`]).
        $(#[$attr])*
        pub unsafe fn forward<O: $crate::ops::ForwardOp>(
            src: *const $T,
            dst: *mut $T,
            len: usize,
            p: &$crate::ops::Params<$T>,
            stream: bool,
        ) {
            // SAFETY: forwarded from the caller (contract of `UnaryFn`).
            unsafe { O::run::<$V, $N>(src, dst, len, p, stream) }
        }

        /// The backward op `O` on this module's ISA and type.
        ///
        /// # Safety
        /// See the crate docs ([`crate::BinaryFn`]).
        $(#[$attr])*
        pub unsafe fn backward<O: $crate::ops::BackwardOp>(
            y: *const $T,
            dy: *const $T,
            dx: *mut $T,
            len: usize,
            p: &$crate::ops::Params<$T>,
            stream: bool,
        ) {
            // SAFETY: forwarded from the caller (contract of `BinaryFn`).
            unsafe { O::run::<$V, $N>(y, dy, dx, len, p, stream) }
        }
    };
    // PRelu's entry points (on the wide vector), for a module with a table.
    (@prelu [$($attr:meta),*], $V:ty, $T:ty) => {
        /// PRelu forward on this module's ISA and type (on the wide vector).
        ///
        /// # Safety
        /// See [`crate::prelu::PreluFn`].
        $(#[$attr])*
        pub unsafe fn prelu_forward(
            x: *const $T,
            y: *mut $T,
            len: usize,
            ch: &$crate::ops::Channel<$T>,
        ) {
            // SAFETY: forwarded from the caller (contract of `PreluFn`).
            unsafe { $crate::prelu::forward::<$V>(x, y, len, ch) }
        }

        /// PRelu's input gradient on this module's ISA and type.
        ///
        /// # Safety
        /// See [`crate::prelu::PreluGradFn`].
        $(#[$attr])*
        pub unsafe fn prelu_backward(
            x: *const $T,
            dy: *const $T,
            dx: *mut $T,
            len: usize,
            ch: &$crate::ops::Channel<$T>,
        ) {
            // SAFETY: forwarded from the caller (contract of `PreluGradFn`).
            unsafe { $crate::prelu::backward::<$V>(x, dy, dx, len, ch) }
        }

        $crate::prelu_dw_entry!([$($attr),*], $T);
    };
}
