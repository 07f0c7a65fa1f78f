//! The call boundary: the only place the safe crate calls a kernel.
//!
//! A kernel's contract has three parts, and each has a type here that can only be
//! built once its part is checked: [`Runnable`] (tables of an ISA this CPU runs),
//! [`Unary`] and [`Binary`] (ranges of equal length that are identical or disjoint
//! as the kernels require, built from slices, `Cell` views or checked raw pointers).
//! [`forward`], [`backward`] and [`int8_relu`] take them and run the kernel serially
//! or split across the current rayon pool.

use std::cell::Cell;
use std::marker::PhantomData;
#[cfg(feature = "candle")]
use std::mem::MaybeUninit;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Instant;

use caffe2op_relu_kernels::ops::Channel;
use caffe2op_relu_kernels::prelu::{Shape, dw_finish};
use caffe2op_relu_kernels::{Backward, BinaryFn, Forward, Params, Tables, UnaryFn};

use crate::element::Element;
use crate::error::Error;
use crate::isa::{self, Isa};

#[cfg(test)]
use crate::tuning::DEFAULT_STREAM_MIN_BYTES;
use crate::tuning::{
    burst_min_bytes, parallel_min_bytes, parallel_min_bytes_in_place, stream_min_bytes,
};

/// The tables of an ISA this CPU can run.
#[derive(Clone, Copy)]
pub(crate) struct Runnable(&'static Tables);

impl Runnable {
    /// The default dispatch's tables (its ISA is available by construction).
    #[inline]
    pub(crate) fn dispatched() -> Runnable {
        Runnable(isa::dispatched_tables())
    }

    /// `isa`'s tables with the tuning in force, or [`Error::IsaUnavailable`].
    #[inline]
    pub(crate) fn of(isa: Isa) -> Result<Runnable, Error> {
        Ok(Runnable(isa.check()?.tables()))
    }

    /// `isa`'s tables with the tuning in force, without asking the CPU again.
    ///
    /// # Safety
    /// `isa` is available ([`Isa::is_available`]).
    #[inline]
    pub(crate) unsafe fn checked(isa: Isa) -> Runnable {
        Runnable(isa.tables())
    }

    /// The oracle's loops as the compiler vectorises them for `isa`, or
    /// [`Error::IsaUnavailable`].
    pub(crate) fn autovec(isa: Isa) -> Result<Runnable, Error> {
        Ok(Runnable(isa.check()?.def().autovec))
    }
}

/// How an output range relates to an input range.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Alias {
    Same,
    Disjoint,
}

fn alias_of<T>(
    input: &'static str,
    in_ptr: *const T,
    output: &'static str,
    out_ptr: *const T,
    len: usize,
) -> Result<Alias, Error> {
    let (a, b) = (in_ptr as usize, out_ptr as usize);
    let bytes = len.saturating_mul(size_of::<T>());
    if a == b {
        Ok(Alias::Same)
    } else if len == 0 || a.saturating_add(bytes) <= b || b.saturating_add(bytes) <= a {
        Ok(Alias::Disjoint)
    } else {
        Err(Error::Overlap {
            input,
            output,
            input_addr: a,
            output_addr: b,
            len,
        })
    }
}

pub(crate) fn check_len(arg: &'static str, expected: usize, found: usize) -> Result<(), Error> {
    if expected == found {
        Ok(())
    } else {
        Err(Error::LengthMismatch {
            arg,
            expected,
            found,
        })
    }
}

fn check_ptr<T>(arg: &'static str, p: *const T) -> Result<(), Error> {
    if p.is_null() {
        Err(Error::NullPointer { arg })
    } else if !(p as usize).is_multiple_of(align_of::<T>()) {
        Err(Error::Misaligned {
            arg,
            addr: p as usize,
            align: align_of::<T>(),
        })
    } else {
        Ok(())
    }
}

/// The ranges of a forward call, meeting [`UnaryFn`]'s range contract for `'a`: `src`
/// valid for `len` reads and `dst` for `len` writes, both aligned, and `dst == src`
/// or disjoint from it.
pub(crate) struct Unary<'a, T> {
    src: *const T,
    dst: *mut T,
    len: usize,
    _ranges: PhantomData<&'a [Cell<T>]>,
}

impl<'a, T> Unary<'a, T> {
    /// `y = f(x)`; lengths must match.
    pub(crate) fn slices(x: &'a [T], y: &'a mut [T]) -> Result<Self, Error> {
        check_len("y", x.len(), y.len())?;
        // Disjoint: `y` is an exclusive borrow.
        Ok(Unary::new(x.as_ptr(), y.as_mut_ptr(), x.len()))
    }

    /// `y = f(x)` into memory not initialised yet: the kernels only store to the
    /// output of a call whose ranges are disjoint, never load from it, and
    /// `MaybeUninit<T>` has `T`'s layout. Lengths must match.
    #[cfg(feature = "candle")]
    pub(crate) fn uninit(x: &'a [T], y: &'a mut [MaybeUninit<T>]) -> Result<Self, Error> {
        check_len("y", x.len(), y.len())?;
        // Disjoint: `y` is an exclusive borrow.
        Ok(Unary::new(x.as_ptr(), y.as_mut_ptr().cast(), x.len()))
    }

    /// `x = f(x)`.
    pub(crate) fn in_place(x: &'a mut [T]) -> Self {
        let p = x.as_mut_ptr();
        Unary::new(p, p, x.len())
    }

    /// `y = f(x)` on views that may alias: the same range or disjoint ones; a partial
    /// overlap is [`Error::Overlap`]. Writing through a pointer derived from
    /// `&[Cell<T>]` is allowed (interior mutability; `Cell<T>` has `T`'s layout).
    pub(crate) fn cells(x: &'a [Cell<T>], y: &'a [Cell<T>]) -> Result<Self, Error> {
        check_len("y", x.len(), y.len())?;
        let (xp, yp) = (x.as_ptr().cast::<T>(), y.as_ptr().cast::<T>().cast_mut());
        alias_of("x", xp, "y", yp, x.len())?;
        Ok(Unary::new(xp, yp, x.len()))
    }

    /// Raw pointers, refused when null, misaligned or partially overlapping.
    ///
    /// # Safety
    /// If non-null and aligned, `x` is valid for `len` reads and `y` for `len` writes
    /// for `'a`, with no other thread accessing them.
    pub(crate) unsafe fn raw(x: *const T, y: *mut T, len: usize) -> Result<Self, Error> {
        check_ptr("x", x)?;
        check_ptr("y", y)?;
        alias_of("x", x, "y", y, len)?;
        Ok(Unary::new(x, y, len))
    }

    /// The distinct buffers the call touches, for the thread threshold: two, or one in
    /// place (see [`run_unary`]).
    fn buffers(&self) -> Buffers {
        unary_buffers(self.src, self.dst)
    }

    fn new(src: *const T, dst: *mut T, len: usize) -> Self {
        Unary {
            src,
            dst,
            len,
            _ranges: PhantomData,
        }
    }
}

/// The ranges of a backward call, meeting [`BinaryFn`]'s range contract for `'a`: `y`
/// and `dy` valid for `len` reads, `dx` for `len` writes; `dx` equals `y` or `dy`
/// exactly or overlaps neither.
pub(crate) struct Binary<'a, T> {
    y: *const T,
    dy: *const T,
    dx: *mut T,
    len: usize,
    _ranges: PhantomData<&'a [Cell<T>]>,
}

impl<'a, T> Binary<'a, T> {
    /// `dx = f(y, dy)`; lengths must match.
    pub(crate) fn slices(y: &'a [T], dy: &'a [T], dx: &'a mut [T]) -> Result<Self, Error> {
        check_len("dy", y.len(), dy.len())?;
        check_len("dx", y.len(), dx.len())?;
        // `dx` is an exclusive borrow, so it overlaps neither input.
        Ok(Binary::new(
            y.as_ptr(),
            dy.as_ptr(),
            dx.as_mut_ptr(),
            y.len(),
        ))
    }

    /// `dx = f(y, dy)` into memory not initialised yet (as [`Unary::uninit`]).
    #[cfg(feature = "candle")]
    pub(crate) fn uninit(
        y: &'a [T],
        dy: &'a [T],
        dx: &'a mut [MaybeUninit<T>],
    ) -> Result<Self, Error> {
        check_len("dy", y.len(), dy.len())?;
        check_len("dx", y.len(), dx.len())?;
        // `dx` is an exclusive borrow, so it overlaps neither input.
        Ok(Binary::new(
            y.as_ptr(),
            dy.as_ptr(),
            dx.as_mut_ptr().cast(),
            y.len(),
        ))
    }

    /// `dy = f(y, dy)`.
    pub(crate) fn in_place(y: &'a [T], dy: &'a mut [T]) -> Result<Self, Error> {
        check_len("dy", y.len(), dy.len())?;
        let d = dy.as_mut_ptr();
        Ok(Binary::new(y.as_ptr(), d, d, y.len()))
    }

    /// On views that may alias: `dx` exactly `y` or `dy`, or disjoint from each; `y`
    /// and `dy` may overlap each other freely (they are only read).
    pub(crate) fn cells(
        y: &'a [Cell<T>],
        dy: &'a [Cell<T>],
        dx: &'a [Cell<T>],
    ) -> Result<Self, Error> {
        check_len("dy", y.len(), dy.len())?;
        check_len("dx", y.len(), dx.len())?;
        let (yp, dyp) = (y.as_ptr().cast::<T>(), dy.as_ptr().cast::<T>());
        let dxp = dx.as_ptr().cast::<T>().cast_mut();
        alias_of("y", yp, "dx", dxp, y.len())?;
        alias_of("dy", dyp, "dx", dxp, y.len())?;
        Ok(Binary::new(yp, dyp, dxp, y.len()))
    }

    /// Raw pointers, refused when null, misaligned or partially overlapping.
    ///
    /// # Safety
    /// If non-null and aligned, `y` and `dy` are valid for `len` reads and `dx` for
    /// `len` writes for `'a`, with no other thread accessing them.
    pub(crate) unsafe fn raw(
        y: *const T,
        dy: *const T,
        dx: *mut T,
        len: usize,
    ) -> Result<Self, Error> {
        check_ptr("y", y)?;
        check_ptr("dy", dy)?;
        check_ptr("dx", dx)?;
        alias_of("y", y, "dx", dx, len)?;
        alias_of("dy", dy, "dx", dx, len)?;
        Ok(Binary::new(y, dy, dx, len))
    }

    /// The distinct buffers the call touches: three, or two when `dx` is `y` or `dy`.
    fn buffers(&self) -> Buffers {
        binary_buffers(self.y, self.dy, self.dx)
    }

    fn new(y: *const T, dy: *const T, dx: *mut T, len: usize) -> Self {
        Binary {
            y,
            dy,
            dx,
            len,
            _ranges: PhantomData,
        }
    }
}

/// Runs the forward kernel of `op` for `T` from `t` over `r`.
#[inline]
pub(crate) fn forward<T: Element>(
    t: Runnable,
    op: Forward,
    r: Unary<'_, T>,
    p: &Params<T::Kernel>,
    exec: Exec,
) {
    let f = T::table(t.0).forward(op);
    // SAFETY: `f` belongs to the tables of an ISA this CPU runs (`Runnable`); `r`
    // meets the range contract (its constructors), and `T` and `T::Kernel` have one
    // layout (`Element::Kernel`), so the cast ranges meet it too. The parameters'
    // per-channel slot is only read by ops that take one, and `Params` from an
    // `Activation` has none.
    unsafe { run_unary(f, r.src.cast(), r.dst.cast(), r.len, p, exec) }
}

/// Runs the backward kernel of `op` for `T` from `t` over `r`.
#[inline]
pub(crate) fn backward<T: Element>(
    t: Runnable,
    op: Backward,
    r: Binary<'_, T>,
    p: &Params<T::Kernel>,
    exec: Exec,
) {
    let f = T::table(t.0).backward(op);
    // SAFETY: as in `forward`.
    unsafe { run_binary(f, r.y.cast(), r.dy.cast(), r.dx.cast(), r.len, p, exec) }
}

/// Runs Int8Relu from `t` over `r`.
pub(crate) fn int8_relu(t: Runnable, r: Unary<'_, u8>, zero_point: u8, exec: Exec) {
    let f = t.0.u8.int8_relu;
    let p = Params::scalar(zero_point);
    // SAFETY: as in `forward` (the zero point is its one scalar parameter).
    unsafe { run_unary(f, r.src, r.dst, r.len, &p, exec) }
}

/// PRelu's slopes, checked for a call: `values` holds `shape.count` values, and the
/// shape's `count` and `inner` are nonzero (an empty call never builds one).
pub(crate) struct Slopes<'a, T> {
    values: &'a [T],
    shape: Shape,
    /// The position of the call's first element in the whole tensor.
    base: usize,
}

impl<'a, T> Slopes<'a, T> {
    /// `None` unless `values.len() == shape.count` and `count`, `inner` are nonzero.
    pub(crate) fn new(values: &'a [T], shape: Shape) -> Option<Self> {
        (values.len() == shape.count && shape.count > 0 && shape.inner > 0).then_some(Slopes {
            values,
            shape,
            base: 0,
        })
    }

    /// For a call on the part of the tensor that starts `base` elements in.
    #[cfg(feature = "candle")]
    pub(crate) fn at(self, base: usize) -> Self {
        Slopes { base, ..self }
    }

    fn channel<K>(&self, start: usize) -> Channel<K> {
        Channel {
            values: self.values.as_ptr().cast(),
            count: self.shape.count,
            inner: self.shape.inner,
            start: self.base + start,
        }
    }
}

/// Runs `piece(start, n)` over `[0, len)` split as [`plan_call`] says for `buffers` of
/// `elem_size`-byte elements (a call of a burst, too): serially, or in pieces across
/// the current pool.
fn split(
    len: usize,
    elem_size: usize,
    buffers: Buffers,
    exec: Exec,
    piece: impl Fn(usize, usize) + Sync,
) {
    let ((chunk, chunks), tracked) = plan_call(len, elem_size, buffers, exec);
    if chunks <= 1 {
        piece(0, len);
        burst_end(tracked);
        return;
    }
    for_each_piece(exec.pool, chunks, |c| {
        let start = c * chunk;
        piece(start, chunk.min(len - start));
    });
    burst_end(tracked);
}

/// Runs PRelu's forward kernel for `T` from `t` over `r` (the whole tensor `s`
/// describes).
pub(crate) fn prelu_forward<T: Element>(
    t: Runnable,
    r: Unary<'_, T>,
    s: &Slopes<'_, T>,
    exec: Exec,
) {
    let f = T::table(t.0).prelu.forward;
    let (x, y) = (SendPtr(r.src.cast_mut()), SendPtr(r.dst));
    split(r.len, size_of::<T>(), r.buffers(), exec, |start, n| {
        let (x, y) = (x, y);
        let ch = s.channel::<T::Kernel>(start);
        // SAFETY: `f` belongs to the tables of an ISA this CPU runs; `[start, start + n)`
        // lies inside the ranges `r` vouches for (pieces are disjoint, and an in-place
        // call stays in place piece by piece); `T` and `T::Kernel` share one layout;
        // the slopes are valid for `count` reads for the whole call, with `count` and
        // `inner` nonzero (`Slopes`).
        unsafe { f(x.0.add(start).cast(), y.0.add(start).cast(), n, &ch) }
    });
}

/// Runs PRelu's input-gradient kernel: `r` is `(x, dy, dx)`.
pub(crate) fn prelu_backward<T: Element>(
    t: Runnable,
    r: Binary<'_, T>,
    s: &Slopes<'_, T>,
    exec: Exec,
) {
    let f = T::table(t.0).prelu.backward;
    let (x, dy, dx) = (
        SendPtr(r.y.cast_mut()),
        SendPtr(r.dy.cast_mut()),
        SendPtr(r.dx),
    );
    split(r.len, size_of::<T>(), r.buffers(), exec, |start, n| {
        let (x, dy, dx) = (x, dy, dx);
        let ch = s.channel::<T::Kernel>(start);
        // SAFETY: as in `prelu_forward`; exact aliasing of `dx` with `x` or `dy` is kept
        // piece by piece.
        unsafe {
            f(
                x.0.add(start).cast(),
                dy.0.add(start).cast(),
                dx.0.add(start).cast(),
                n,
                &ch,
            )
        }
    });
}

/// Runs PRelu's slope-gradient kernel over `x` and `dy` (the whole tensor `s`
/// describes) and writes one value per slope to `dw`: the block sums are split across
/// threads in whole blocks (each block's sum depends on nothing else), then each
/// channel's are summed in the fixed order.
pub(crate) fn prelu_dw<T: Element>(
    t: Runnable,
    x: &[T],
    dy: &[T],
    s: &Slopes<'_, T>,
    dw: &mut [T],
    exec: Exec,
) {
    let f = T::table(t.0).prelu.dw;
    let shape = s.shape;
    let len = shape.per_channel() * shape.count;
    assert!(x.len() == len && dy.len() == len && dw.len() == shape.count);
    let nb = shape.blocks();
    let mut sums = vec![0.0f64; shape.count * nb];
    let units = shape.dw_units();
    // Split the units as a call on the elements would be split.
    let (_, chunks) = plan(len, size_of::<T>(), Buffers::separate(2), exec);
    let per = units.div_ceil(chunks.max(1)).max(1);
    let pieces = units.div_ceil(per);
    let out = SendPtr(sums.as_mut_ptr());
    let (xp, dyp) = (
        SendPtr(x.as_ptr().cast_mut()),
        SendPtr(dy.as_ptr().cast_mut()),
    );
    let piece = |p: usize| {
        let (out, xp, dyp) = (out, xp, dyp);
        let first = p * per;
        let last = units.min(first + per);
        // SAFETY: `f` belongs to the tables of an ISA this CPU runs; `x` and `dy` hold
        // the whole tensor (asserted above); `sums` holds `count * blocks` values and
        // the pieces' units write disjoint ones (`DwFn`); `first <= last <= units`.
        unsafe { f(xp.0.cast(), dyp.0.cast(), &shape, first, last, out.0) }
    };
    if pieces <= 1 {
        piece(0);
    } else {
        for_each_piece(exec.pool, pieces, piece);
    }
    for (c, w) in dw.iter_mut().enumerate() {
        *w = T::from_kernel(dw_finish::<T::Kernel>(&mut sums[c * nb..(c + 1) * nb]));
    }
}

/// Runs the table lookup `dst[i] = table[src[i]]` (Int8LeakyRelu) from `t` over `r`.
pub(crate) fn int8_lut(
    t: Runnable,
    r: Unary<'_, u8>,
    table: &caffe2op_relu_kernels::int8::LutTable,
    exec: Exec,
) {
    let f = t.0.u8.int8_lut;
    let p = Params {
        scalars: [0; caffe2op_relu_kernels::ops::MAX_SCALARS],
        channel: caffe2op_relu_kernels::ops::Channel {
            values: core::ptr::from_ref(table).cast::<u8>(),
            count: 256,
            inner: 1,
            start: 0,
        },
    };
    // SAFETY: as in `forward`; the table (the kernel's per-channel parameter, read by
    // value, not by position) is borrowed for the whole call, every piece included.
    unsafe { run_unary(f, r.src, r.dst, r.len, &p, exec) }
}

/// Whether large calls may use several threads.
///
/// On WebAssembly targets without threads (`wasm32-wasip1`, `wasm32-unknown-unknown`:
/// no `atomics` target feature) there is only the caller's thread, and both policies
/// run every call there, without asking rayon; nothing fails.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Threads {
    /// Split calls that move at least [`crate::tuning::parallel_min_bytes`] across the current rayon
    /// pool (so `pool.install(..)` controls it); smaller calls run on the caller's
    /// thread and never touch rayon, except in bursts: a call out of place that moves
    /// at least [`crate::tuning::burst_min_bytes`] splits when it starts within 25 µs of
    /// the end of the previous such call (from any thread), the pool's workers most
    /// likely still awake from it. Serial on WebAssembly without threads. Calls on
    /// candle tensors (feature `candle`) split across candle's pool instead, as the
    /// `candle` module says.
    #[default]
    Auto,
    /// Always run on the caller's thread.
    Serial,
}

/// Whether a call on `len` elements of `elem_size` bytes over `buffers` (inputs +
/// output), run as `chunks` pieces, should use streaming stores: never in place or into
/// an output allocated for the call ([`Exec::fresh`]); otherwise from
/// [`stream_min_bytes`] on one thread; when split, from 5/4 of it for one input (forward)
/// and from the threshold itself for two (backward). Measured on the Zen 4 machine of
/// `docs/PERFORMANCE.md`, f32 and f64 on AVX-512 with 2 threads, in the report's shuffled
/// cells at 24 MiB moved: relu at 12 MiB buffers ran at 55-80 GB/s with plain stores
/// against 46-53 streaming; the gradients at 8 MiB at 38-88 plain (the L3 is shared with
/// other tenants) against 60-80 streaming. Streaming moves about three times the rate
/// DRAM takes the output at when there are two inputs, twice with one.
#[inline]
fn non_temporal(exec: Exec, buffers: Buffers, len: usize, elem_size: usize, chunks: usize) -> bool {
    !buffers.in_place && !exec.fresh && stream(len, elem_size, buffers.count, chunks)
}

/// Whether a call out of place on `len` elements of `elem_size` bytes over `streams`
/// buffers should stream, as [`non_temporal`] says.
#[inline]
fn stream(len: usize, elem_size: usize, streams: usize, chunks: usize) -> bool {
    let bytes = len.saturating_mul(elem_size).saturating_mul(streams);
    let min = stream_min_bytes();
    let min = if chunks > 1 && streams < 3 {
        min.saturating_add(min / 4)
    } else {
        min
    };
    bytes >= min
}

/// The smallest piece of work (bytes moved) of a split call: about 0.3 µs at L2 speed,
/// against one compare-and-swap and a kernel entry per piece, and a small fraction of
/// the smallest default threshold ([`crate::tuning::PARALLEL_MIN_BYTES_LARGE_L2`],
/// 1.5 MiB), so a call at any default threshold splits into several pieces per worker. Under Miri, 1 KiB, so that the boundary
/// tests split calls small enough to interpret (the splitting code is the same).
const MIN_CHUNK_BYTES: usize = if cfg!(miri) { 1 << 10 } else { 32 << 10 };

/// Pieces per worker: eight. The caller takes pieces from the top and the workers from
/// the bottom ([`on_rayon`]), so in the steady state each core gets the same pieces
/// from call to call (its L2 keeps them), and a worker that starts late (woken from
/// sleep) finds most of its share already done by the caller instead of making the
/// caller wait for a whole half.
const PIECES_PER_WORKER: usize = 8;

/// A pointer that may cross threads. Each thread touches a disjoint sub-range of it.
#[derive(Clone, Copy)]
struct SendPtr<T>(*mut T);
// SAFETY: the pointers are only dereferenced inside the kernels, on disjoint chunks
// of ranges the caller of `run_*` vouched for; the calling thread blocks until every
// chunk is done, so no other access to the ranges happens meanwhile.
unsafe impl<T> Send for SendPtr<T> {}
// SAFETY: as above.
unsafe impl<T> Sync for SendPtr<T> {}

/// Runs `piece(c)` for every `c < chunks` and returns when all are done. The calling
/// thread starts on the last piece at once, while the pool (the current one, see
/// [`Threads::Auto`]) takes the others: nobody waits for a worker to wake before work
/// starts, and the caller keeps the same piece from call to call, so a buffer that
/// is processed repeatedly stays in that core's cache. The last piece because a
/// buffer written front to back by the calling thread (the previous layer's output)
/// has its end in that thread's cache: on the Sapphire Rapids-class host, f32 relu
/// in place on values the caller had just written, two threads, ran at 0.76-1.03x a
/// rayon loop over the same two halves at 4-16 MiB with the caller on the first piece
/// and 0.98-1.02x on the last (`docs/PERFORMANCE.md`).
fn for_each_piece(pool: Pool, chunks: usize, piece: impl Fn(usize) + Sync) {
    #[cfg(feature = "candle")]
    if pool == Pool::Candle {
        // candle's pool hands the pieces out one at a time to its workers and the
        // caller; called from one of its own workers, it runs them all there.
        candle_core::utils::barrier_pool().execute_chunked(chunks, |r| r.for_each(&piece));
        return;
    }
    let _ = pool;
    on_rayon(chunks, &piece);
}

/// The pieces of a call split on rayon's pool not taken yet, `lo..hi` (packed in one
/// word, `hi` in the upper half), shared by the caller and the jobs it spawns; and the
/// count of pieces finished.
struct Shared {
    ends: AtomicU64,
    done: AtomicUsize,
}

impl Shared {
    /// Takes the lowest piece left (the workers' end), if any.
    fn take_low(&self) -> Option<usize> {
        self.take(|lo, hi| (lo, pack(lo + 1, hi)))
    }

    /// Takes the highest piece left (the caller's end), if any.
    fn take_high(&self) -> Option<usize> {
        self.take(|lo, hi| (hi - 1, pack(lo, hi - 1)))
    }

    /// Takes the piece `pick` chooses from a non-empty `lo..hi`, and leaves the rest.
    fn take(&self, pick: impl Fn(u64, u64) -> (u64, u64)) -> Option<usize> {
        let mut cur = self.ends.load(Ordering::Relaxed);
        loop {
            let (lo, hi) = (cur & u64::from(u32::MAX), cur >> 32);
            if lo >= hi {
                return None;
            }
            let (c, next) = pick(lo, hi);
            match self
                .ends
                .compare_exchange_weak(cur, next, Ordering::Relaxed, Ordering::Relaxed)
            {
                // `c < hi <= u32::MAX`: a piece index.
                Ok(_) => return Some(c as usize),
                Err(seen) => cur = seen,
            }
        }
    }
}

/// `lo..hi` as one word.
fn pack(lo: u64, hi: u64) -> u64 {
    lo | hi << 32
}

/// A piece function with its lifetime erased, for jobs that may start after the
/// call has returned. Only dereferenced for a piece taken from [`Shared`], which the
/// call waits for (see [`on_rayon`]).
#[derive(Clone, Copy)]
struct PieceFn(*const (dyn Fn(usize) + Sync));
// SAFETY: the function it points to is `Sync`, and it is only called while the call
// that owns it waits for the piece to finish.
unsafe impl Send for PieceFn {}

/// Aborts the process if dropped while its thread unwinds: a piece of a split call
/// must not unwind past the call while other threads may still run its pieces. The
/// pieces are kernel calls, which do not panic.
struct AbortOnUnwind;

impl Drop for AbortOnUnwind {
    fn drop(&mut self) {
        if std::thread::panicking() {
            std::process::abort();
        }
    }
}

/// [`for_each_piece`] on the current rayon pool. The caller spawns one job per other
/// worker (`rayon::spawn`, so `pool.install(..)` decides the pool), then takes pieces
/// from the top while the jobs take them from the bottom, and spins until the pieces
/// the jobs took are done; jobs that start after every piece is taken return without
/// touching anything. It never sleeps on a latch: a scope's join blocks the caller in
/// the kernel until a worker wakes it, which on the Zen 4 VM cost more than the split
/// saved below 2 MiB buffers (f32 relu, over serial: 0.29-0.30x at 256 KiB and
/// 0.88-0.90x at 1 MiB with `in_place_scope`; `docs/PERFORMANCE.md`). Called from a
/// worker of the pool, it runs every piece the other workers do not take.
fn on_rayon(chunks: usize, piece: &(dyn Fn(usize) + Sync)) {
    // `plan` makes at most `workers * PIECES_PER_WORKER` pieces.
    let shared = Arc::new(Shared {
        ends: AtomicU64::new(pack(0, chunks as u64)),
        done: AtomicUsize::new(0),
    });
    // SAFETY: only the lifetime changes (the same fat pointer). A job dereferences it
    // only for a piece it took from `shared`, and this function returns only once
    // `shared.done` counts every piece, so never after `piece` is gone.
    let f = PieceFn(unsafe {
        core::mem::transmute::<
            *const (dyn Fn(usize) + Sync + '_),
            *const (dyn Fn(usize) + Sync + 'static),
        >(piece)
    });
    let helpers = rayon::current_num_threads().min(chunks) - 1;
    for _ in 0..helpers {
        let shared = Arc::clone(&shared);
        rayon::spawn(move || {
            // The whole `PieceFn` (a closure would capture only its pointer field).
            let f = f;
            let _abort = AbortOnUnwind;
            while let Some(c) = shared.take_low() {
                // SAFETY: piece `c` was taken by this job alone, and the call that
                // owns the function does not return before `done` counts it.
                unsafe { (*f.0)(c) };
                shared.done.fetch_add(1, Ordering::Release);
            }
        });
    }
    let _abort = AbortOnUnwind;
    while let Some(c) = shared.take_high() {
        piece(c);
        shared.done.fetch_add(1, Ordering::Release);
    }
    let mut spins = 0u32;
    while shared.done.load(Ordering::Acquire) < chunks {
        if spins < SPINS_BEFORE_YIELD {
            spins += 1;
            core::hint::spin_loop();
        } else {
            std::thread::yield_now();
        }
    }
}

/// Spins of the caller of a split call waiting for a worker's last piece before it
/// yields its core between checks: the worker is already running that piece.
const SPINS_BEFORE_YIELD: u32 = 1 << 14;

/// Whether this target has no threads at all: WebAssembly without the `atomics`
/// feature (`wasm32-wasip1`, `wasm32-unknown-unknown`), where spawning one fails. rayon
/// would fall back to a pool of the calling thread there; the plan does not ask it.
const NO_THREADS: bool = cfg!(all(target_family = "wasm", not(target_feature = "atomics")));

/// Splits `len` elements into `(chunk_len, chunks)`; `chunks == 1` means serial. The
/// plan of a call that does not follow another in a burst ([`plan_call`]).
#[inline]
pub(crate) fn plan(len: usize, elem_size: usize, buffers: Buffers, exec: Exec) -> (usize, usize) {
    plan_with(len, elem_size, buffers, exec, false)
}

/// [`plan`], for a call that follows another within [`BURST_WINDOW_NS`] where `warm`:
/// out of place on rayon's pool it then splits from [`burst_min_bytes`].
#[inline]
fn plan_with(
    len: usize,
    elem_size: usize,
    buffers: Buffers,
    exec: Exec,
    warm: bool,
) -> (usize, usize) {
    let bytes = len.saturating_mul(elem_size).saturating_mul(buffers.count);
    let (min, min_chunk) = match exec.pool {
        Pool::Rayon if buffers.in_place => (parallel_min_bytes_in_place(), MIN_CHUNK_BYTES),
        Pool::Rayon if warm => (parallel_min_bytes().min(burst_min_bytes()), MIN_CHUNK_BYTES),
        Pool::Rayon => (parallel_min_bytes(), MIN_CHUNK_BYTES),
        #[cfg(feature = "candle")]
        Pool::Candle => candle_min_bytes(elem_size, buffers),
    };
    if NO_THREADS || exec.threads == Threads::Serial || len == 0 || bytes < min {
        return (len, 1);
    }
    let workers = exec.pool.workers();
    if workers < 2 {
        return (len, 1);
    }
    let pieces = (bytes / min_chunk).clamp(1, workers * PIECES_PER_WORKER);
    // Chunk lengths are whole cache lines (64 bytes) so threads never share one.
    let line = (64 / elem_size).max(1);
    let chunk = len.div_ceil(pieces).div_ceil(line) * line;
    (chunk, len.div_ceil(chunk))
}

/// A call of a burst starts at most this long (ns) after the previous one ended: then
/// the pool's workers are most likely still awake from it. rayon's idle workers look
/// for work for a while before they sleep; on the Zen 4 VM a split call still found
/// them awake 45 µs after the previous split (f32 relu at 128 KiB per buffer, 1.20x
/// serial) and asleep after 70 µs (0.44x), and a relu_grad call 50 µs after one (0.86x
/// at 256 KiB), so the window keeps well inside that (`docs/PERFORMANCE.md`).
pub(crate) const BURST_WINDOW_NS: u64 = 25_000;

/// When the last call that took part in bursts ended, in ns from [`clock_ns`]'s epoch
/// (0: none yet). Shared by every thread: calls from several threads make one stream
/// of calls for the pool.
static BURST_LAST_END: AtomicU64 = AtomicU64::new(0);

/// Nanoseconds from the first call that asked, plus one (so never 0).
fn clock_ns() -> u64 {
    static EPOCH: OnceLock<Instant> = OnceLock::new();
    let ns = EPOCH.get_or_init(Instant::now).elapsed().as_nanos();
    u64::try_from(ns).unwrap_or(u64::MAX - 1) + 1
}

/// The plan of a call about to run ([`plan`]), and whether the call takes part in
/// bursts: a `Threads::Auto` call out of place on rayon's pool that moves at least
/// [`burst_min_bytes`]. Such a call splits from that size too when it starts within
/// [`BURST_WINDOW_NS`] of the previous one's end ([`burst_end`] records it): calls
/// back to back keep the workers awake, and two cores ran them 1.15-1.77x as fast
/// as one where a call after the workers had gone to sleep lost (0.17-0.77x at 128
/// KiB-1 MiB per buffer on the Zen 4 VM). The first call of a burst runs alone.
///
/// A call that moves less than [`MIN_CHUNK_BYTES`] is one piece on any pool and at
/// any threshold, and below [`burst_min_bytes`] it takes no part in bursts: that
/// answer is inlined into the caller, the rest ([`plan_call_general`]) is not.
#[inline(always)]
fn plan_call(len: usize, elem_size: usize, buffers: Buffers, exec: Exec) -> ((usize, usize), bool) {
    let bytes = len.saturating_mul(elem_size).saturating_mul(buffers.count);
    if bytes < MIN_CHUNK_BYTES && bytes < burst_min_bytes() {
        return ((len, 1), false);
    }
    plan_call_general(len, elem_size, buffers, exec)
}

/// [`plan_call`] beyond its small-call answer.
#[inline(never)]
fn plan_call_general(
    len: usize,
    elem_size: usize,
    buffers: Buffers,
    exec: Exec,
) -> ((usize, usize), bool) {
    let bytes = len.saturating_mul(elem_size).saturating_mul(buffers.count);
    let tracked = !NO_THREADS
        && exec.threads == Threads::Auto
        && exec.pool == Pool::Rayon
        && !buffers.in_place
        && bytes >= burst_min_bytes();
    let warm = tracked && follows(BURST_LAST_END.load(Ordering::Relaxed), clock_ns());
    (plan_with(len, elem_size, buffers, exec, warm), tracked)
}

/// Whether a call starting at `now` follows one that ended at `last` (both from
/// [`clock_ns`]; `last` 0 for none) within [`BURST_WINDOW_NS`].
fn follows(last: u64, now: u64) -> bool {
    last != 0 && now.saturating_sub(last) <= BURST_WINDOW_NS
}

/// Records the end of a call that takes part in bursts (`tracked`, from [`plan_call`]).
#[inline]
fn burst_end(tracked: bool) {
    if tracked {
        BURST_LAST_END.store(clock_ns(), Ordering::Relaxed);
    }
}

/// Whose threads run the pieces of a split call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) enum Pool {
    /// The current rayon pool ([`Threads::Auto`]).
    #[default]
    Rayon,
    /// candle's CPU pool (`candle_core::utils::barrier_pool`, sized by
    /// `CANDLE_NUM_THREADS`): calls on candle tensors.
    #[cfg(feature = "candle")]
    Candle,
}

impl Pool {
    /// The threads a split call may use, the caller's included.
    fn workers(self) -> usize {
        match self {
            Pool::Rayon => rayon::current_num_threads(),
            #[cfg(feature = "candle")]
            Pool::Candle => candle_core::utils::barrier_pool().n_workers() + 1,
        }
    }
}

/// How one call runs: its threading policy, whose threads split it, and whether its
/// output is memory allocated for the call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Exec {
    pub(crate) threads: Threads,
    pub(crate) pool: Pool,
    /// The output was allocated for this call, so it is written with plain stores
    /// whatever its size: memory the OS has just handed over was zeroed by the page
    /// fault and sits in the cache, and memory the allocator hands back was freed
    /// by a recent call; a streaming store would write each line to DRAM a second
    /// time instead of overwriting it in the cache.
    pub(crate) fresh: bool,
}

impl From<Threads> for Exec {
    #[inline]
    fn from(threads: Threads) -> Exec {
        Exec {
            threads,
            pool: Pool::Rayon,
            fresh: false,
        }
    }
}

/// candle's pool: the thread threshold (bytes moved) and the smallest piece of a call
/// on `buffers` of `elem_size`-byte elements. Out of place a call splits where candle's
/// own elementwise ops split, from [`CANDLE_PARALLEL_MIN_ELEMENTS`]: candle's workers
/// wait spinning for a while after a call, so a split right after another costs far
/// less than on rayon's pool, but a split after the workers have gone to sleep waits
/// for the OS to wake them (0.65 ms on the Zen 4 VM of `docs/PERFORMANCE.md`, for
/// candle's own relu as for this crate), and splitting no smaller call than candle
/// does keeps that cost where candle's ops pay it too. In place from a buffer of
/// [`CANDLE_PARALLEL_MIN_BYTES_IN_PLACE`] as well: values the caller has just written
/// sit in its own cache, and the other core gains less.
#[cfg(feature = "candle")]
fn candle_min_bytes(elem_size: usize, buffers: Buffers) -> (usize, usize) {
    let min = CANDLE_PARALLEL_MIN_ELEMENTS
        .saturating_mul(elem_size)
        .saturating_mul(buffers.count);
    let min = if buffers.in_place {
        min.max(CANDLE_PARALLEL_MIN_BYTES_IN_PLACE)
    } else {
        min
    };
    (min, min / 2)
}

/// Calls on candle's pool split from this many elements (candle-core 0.11's
/// `PAR_ELEMWISE_MIN`, the length from which its elementwise ops use the same pool).
#[cfg(feature = "candle")]
const CANDLE_PARALLEL_MIN_ELEMENTS: usize = 64 << 10;
/// Calls in place on candle's pool split from a buffer this large.
#[cfg(feature = "candle")]
const CANDLE_PARALLEL_MIN_BYTES_IN_PLACE: usize = 1 << 20;

/// The distinct buffers a call touches, for the thread threshold, and whether it
/// writes one of them in place (which has a threshold of its own,
/// [`parallel_min_bytes_in_place`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Buffers {
    pub(crate) count: usize,
    pub(crate) in_place: bool,
}

impl Buffers {
    /// `count` distinct buffers, none written in place.
    pub(crate) const fn separate(count: usize) -> Buffers {
        Buffers {
            count,
            in_place: false,
        }
    }
}

/// The distinct buffers a forward call touches: two, or one in place.
fn unary_buffers<T>(src: *const T, dst: *const T) -> Buffers {
    if core::ptr::eq(src, dst) {
        Buffers {
            count: 1,
            in_place: true,
        }
    } else {
        Buffers::separate(2)
    }
}

/// The distinct buffers a backward call touches: three, or two when `dx` is `y` or `dy`.
fn binary_buffers<T>(y: *const T, dy: *const T, dx: *const T) -> Buffers {
    if core::ptr::eq(y, dx) || core::ptr::eq(dy, dx) {
        Buffers {
            count: 2,
            in_place: true,
        }
    } else {
        Buffers::separate(3)
    }
}

/// Runs `f` over `[0, len)`, possibly in parallel chunks: split as [`plan`] says for
/// the buffers the call touches, two out of place and one in place, against the
/// in-place threshold in place. The thresholds are about where one core's L2
/// overflows, and in place that is where the buffer itself outgrows it. Measured on
/// the Sapphire Rapids-class host (f32 leaky_relu in place, one thread against two),
/// on a buffer the calling thread had just written: 0.46-0.59x at 512 KiB-1 MiB (the
/// second core pulls its half out of the first one's cache), 0.77-0.80x at 1.5 MiB,
/// 1.03-1.26x from 2 MiB; called again and again on one buffer (each core keeps its
/// half) 1.11-1.45x at 768 KiB-1.5 MiB, 1.7-2.6x from 2 MiB. So that host splits in
/// place from 2 MiB: a buffer the caller has just written is the common case.
///
/// # Safety
/// The contract of [`UnaryFn`] for `f`, `src`, `dst`, `len` (including: `f`'s ISA is
/// available on this CPU).
#[inline]
unsafe fn run_unary<T: Send + Sync + Copy>(
    f: UnaryFn<T>,
    src: *const T,
    dst: *mut T,
    len: usize,
    params: &Params<T>,
    exec: Exec,
) {
    let buffers = unary_buffers(src, dst);
    let ((chunk, chunks), tracked) = plan_call(len, size_of::<T>(), buffers, exec);
    let nt = non_temporal(exec, buffers, len, size_of::<T>(), chunks);
    if chunks <= 1 {
        // SAFETY: forwarded from the caller.
        unsafe { f(src, dst, len, params, nt) };
        burst_end(tracked);
        return;
    }
    let params = *params;
    let (s, d) = (SendPtr(src.cast_mut()), SendPtr(dst));
    for_each_piece(exec.pool, chunks, move |c| {
        let (s, d) = (s, d);
        let start = c * chunk;
        let n = chunk.min(len - start);
        // SAFETY: [start, start + n) is inside [0, len); chunks are disjoint, and an
        // in-place call (dst == src) stays in place chunk by chunk.
        unsafe { f(s.0.add(start), d.0.add(start), n, &params.offset(start), nt) }
    });
    burst_end(tracked);
}

/// Runs the backward kernel `f` over `[0, len)`, possibly in parallel chunks.
///
/// # Safety
/// The contract of [`BinaryFn`] for `f`, `y`, `dy`, `dx`, `len`.
#[inline]
unsafe fn run_binary<T: Send + Sync + Copy>(
    f: BinaryFn<T>,
    y: *const T,
    dy: *const T,
    dx: *mut T,
    len: usize,
    params: &Params<T>,
    exec: Exec,
) {
    let buffers = binary_buffers(y, dy, dx);
    let ((chunk, chunks), tracked) = plan_call(len, size_of::<T>(), buffers, exec);
    let nt = non_temporal(exec, buffers, len, size_of::<T>(), chunks);
    if chunks <= 1 {
        // SAFETY: forwarded from the caller.
        unsafe { f(y, dy, dx, len, params, nt) };
        burst_end(tracked);
        return;
    }
    let params = *params;
    let (y, dy, dx) = (SendPtr(y.cast_mut()), SendPtr(dy.cast_mut()), SendPtr(dx));
    for_each_piece(exec.pool, chunks, move |c| {
        let (y, dy, dx) = (y, dy, dx);
        let start = c * chunk;
        let n = chunk.min(len - start);
        // SAFETY: as in `run_unary`; exact aliasing of dx with y or dy is preserved
        // chunk by chunk.
        unsafe {
            f(
                y.0.add(start),
                dy.0.add(start),
                dx.0.add(start),
                n,
                &params.offset(start),
                nt,
            )
        }
    });
    burst_end(tracked);
}

/// `autovec::round_trip` past its checks (`isa` runs here and has the loop for `T`;
/// equal lengths): the kernels crate's conversion round trip on the slices viewed as
/// its 16-bit types.
#[cfg(target_arch = "x86_64")]
pub(crate) fn round_trip<T: Element>(isa: Isa, x: &[T], y: &mut [T]) -> Result<(), Error> {
    use caffe2op_relu_kernels::arch::x86_64::{avx2, avx512};
    use caffe2op_relu_kernels::half::{Bf16, F16};
    use std::any::TypeId;

    let (f16, bf16) = (
        TypeId::of::<T::Kernel>() == TypeId::of::<F16>(),
        TypeId::of::<T::Kernel>() == TypeId::of::<Bf16>(),
    );
    let n = x.len();
    // SAFETY (both casts): `T::Kernel` is the named type, which has `T`'s size,
    // alignment and bits (`Element::Kernel`); `y` is an exclusive borrow, so the two
    // views do not overlap.
    let as_f16 = |x: &[T], y: &mut [T]| unsafe {
        (
            std::slice::from_raw_parts(x.as_ptr().cast::<F16>(), n),
            std::slice::from_raw_parts_mut(y.as_mut_ptr().cast::<F16>(), n),
        )
    };
    // SAFETY: as above.
    let as_bf16 = |x: &[T], y: &mut [T]| unsafe {
        (
            std::slice::from_raw_parts(x.as_ptr().cast::<Bf16>(), n),
            std::slice::from_raw_parts_mut(y.as_mut_ptr().cast::<Bf16>(), n),
        )
    };
    // SAFETY (each call): the caller checked that this CPU runs `isa`
    // (`autovec::has_round_trip`; AVX2 means AVX2 + F16C in the registry's
    // detection), and AVX512-BF16 narrowing is on only where the CPU has it.
    unsafe {
        match isa {
            Isa::Avx2 if f16 => {
                let (x, y) = as_f16(x, y);
                avx2::half::round_trip::f16(x, y)
            }
            Isa::Avx2 if bf16 => {
                let (x, y) = as_bf16(x, y);
                avx2::half::round_trip::bf16(x, y)
            }
            Isa::Avx512 if f16 => {
                let (x, y) = as_f16(x, y);
                avx512::half::round_trip::f16(x, y)
            }
            Isa::Avx512 if bf16 => {
                let (x, y) = as_bf16(x, y);
                if crate::tuning::avx512_bf16_narrowing() {
                    avx512::half::round_trip::bf16_ne(x, y)
                } else {
                    avx512::half::round_trip::bf16(x, y)
                }
            }
            _ => return Err(Error::IsaUnavailable { isa }),
        }
    }
    Ok(())
}

#[cfg(not(target_arch = "x86_64"))]
pub(crate) fn round_trip<T: Element>(isa: Isa, _: &[T], _: &mut [T]) -> Result<(), Error> {
    Err(Error::IsaUnavailable { isa })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plan_covers_everything_in_whole_lines() {
        for len in [0usize, 1, 15, 16, 17, 1 << 20, (1 << 22) + 3, 10_000_019] {
            let (chunk, chunks) = plan(len, 4, Buffers::separate(2), Threads::Auto.into());
            assert!(chunks == 1 || chunk % 16 == 0);
            assert!(chunk * chunks >= len);
            assert!(chunks == 1 || chunk * (chunks - 1) < len);
        }
        assert_eq!(
            plan(1 << 24, 4, Buffers::separate(2), Threads::Serial.into()).1,
            1
        );
    }

    /// A call follows another when it starts within the window after the other's end,
    /// and never when no call has ended yet.
    #[test]
    fn bursts_follow_within_the_window() {
        assert!(!follows(0, 1));
        assert!(!follows(0, BURST_WINDOW_NS));
        assert!(follows(1, 1));
        assert!(follows(1000, 1000 + BURST_WINDOW_NS));
        assert!(!follows(1000, 1001 + BURST_WINDOW_NS));
        // A clock read before the other call's end (another thread's) follows it.
        assert!(follows(5000, 4000));
    }

    /// A call that follows another splits from the burst threshold, out of place with
    /// `Threads::Auto` on rayon's pool only; a call that does not keeps the plain plan.
    #[test]
    fn warm_calls_split_from_the_burst_threshold() {
        let (burst, min) = (burst_min_bytes(), parallel_min_bytes());
        let two = Buffers::separate(2);
        let auto: Exec = Threads::Auto.into();
        if NO_THREADS || Pool::Rayon.workers() < 2 || burst >= min {
            // No bursts below the threshold here: a warm call plans as a cold one.
            for len in [1 << 10, 1 << 16, 1 << 20, 1 << 24] {
                assert_eq!(plan_with(len, 4, two, auto, true), plan(len, 4, two, auto));
            }
            return;
        }
        // f32 forward: 8 bytes moved per element.
        let at = burst.div_ceil(8);
        assert!(plan_with(at, 4, two, auto, true).1 > 1);
        assert_eq!(plan_with(at, 4, two, auto, false).1, 1);
        assert_eq!(plan_with(at - 1, 4, two, auto, true).1, 1);
        assert_eq!(plan_with(at, 4, two, Threads::Serial.into(), true).1, 1);
        let one = Buffers {
            count: 1,
            in_place: true,
        };
        assert_eq!(
            plan_with(2 * at, 4, one, auto, true),
            plan(2 * at, 4, one, auto)
        );
    }

    /// The thread threshold counts the buffers a call touches: an in-place buffer once.
    #[test]
    fn in_place_buffers_count_once() {
        let x = vec![1.0f32; 8];
        let mut y = vec![0.0f32; 8];
        let mut z = vec![0.0f32; 8];
        let in_place = |count| Buffers {
            count,
            in_place: true,
        };
        assert_eq!(
            Unary::slices(&x, &mut y).unwrap().buffers(),
            Buffers::separate(2)
        );
        assert_eq!(Unary::in_place(&mut y).buffers(), in_place(1));
        assert_eq!(
            Binary::slices(&x, &y, &mut z).unwrap().buffers(),
            Buffers::separate(3)
        );
        assert_eq!(Binary::in_place(&x, &mut z).unwrap().buffers(), in_place(2));
    }

    /// In place a call is split from the in-place threshold, counting its buffer
    /// once; out of place from the other one, counting both buffers.
    #[test]
    fn in_place_calls_have_their_own_threshold() {
        // Nothing in this test binary changes the thresholds.
        let (min, min_in_place) = (parallel_min_bytes(), parallel_min_bytes_in_place());
        assert_eq!(min, crate::tuning::default_parallel_min_bytes());
        assert_eq!(
            min_in_place,
            crate::tuning::default_parallel_min_bytes_in_place()
        );
        if NO_THREADS || rayon::current_num_threads() < 2 {
            return;
        }
        let one = Buffers {
            count: 1,
            in_place: true,
        };
        let len = min_in_place / 4;
        assert_eq!(plan(len - 16, 4, one, Threads::Auto.into()).1, 1);
        assert!(plan(len, 4, one, Threads::Auto.into()).1 > 1);
        let len = min / 8;
        assert_eq!(
            plan(len - 16, 4, Buffers::separate(2), Threads::Auto.into()).1,
            1
        );
        assert!(plan(len, 4, Buffers::separate(2), Threads::Auto.into()).1 > 1);
    }

    /// Without threads a call above the threshold stays whole, and so runs serially.
    #[cfg(all(target_family = "wasm", not(target_feature = "atomics")))]
    #[test]
    fn auto_is_serial_without_threads() {
        let len = 1 << 24;
        assert!(len * 8 >= parallel_min_bytes());
        assert_eq!(
            plan(len, 4, Buffers::separate(2), Threads::Auto.into()),
            (len, 1)
        );
    }

    #[test]
    fn split_forward_calls_stream_from_five_quarters_of_the_threshold() {
        // Nothing in this test binary changes the threshold.
        let min = DEFAULT_STREAM_MIN_BYTES;
        assert_eq!(stream_min_bytes(), min);
        // f32 forward: 8 bytes of traffic per element.
        let at = |bytes: usize| bytes / 8;
        assert!(stream(at(min), 4, 2, 1));
        assert!(!stream(at(min) - 1, 4, 2, 1));
        assert!(!stream(at(min), 4, 2, 2));
        assert!(!stream(at(min + min / 4) - 1, 4, 2, 2));
        assert!(stream(at(min + min / 4), 4, 2, 2));
        assert!(stream(at(min + min / 4), 4, 2, 8));
        // Saturating: an enormous call streams, whatever the split.
        assert!(stream(usize::MAX, 8, 3, 2));
    }

    #[test]
    fn split_backward_calls_stream_from_the_threshold() {
        let min = DEFAULT_STREAM_MIN_BYTES;
        assert_eq!(stream_min_bytes(), min);
        // f64 backward: 24 bytes of traffic per element.
        let at = |bytes: usize| bytes / 24;
        for chunks in [1, 2, 8] {
            assert!(stream(at(min), 8, 3, chunks));
            assert!(!stream(at(min) - 1, 8, 3, chunks));
        }
    }

    /// An output allocated for the call is written with plain stores at any size, out
    /// of place forward and backward, split or not; other outputs still stream.
    #[test]
    fn fresh_outputs_never_stream() {
        let fresh = Exec {
            fresh: true,
            ..Threads::Auto.into()
        };
        let big = DEFAULT_STREAM_MIN_BYTES;
        for buffers in [Buffers::separate(2), Buffers::separate(3)] {
            for chunks in [1, 2, 8] {
                assert!(!non_temporal(fresh, buffers, big, 8, chunks));
                assert!(non_temporal(Threads::Auto.into(), buffers, big, 8, chunks));
            }
        }
    }

    /// On candle's pool a call splits where candle's elementwise ops do (64 Ki elements,
    /// whatever the type), in place from a 1 MiB buffer as well; `Threads::Serial` stays
    /// whole.
    #[cfg(feature = "candle")]
    #[test]
    fn candle_pool_splits_where_candle_does() {
        let on = |threads| Exec {
            threads,
            pool: Pool::Candle,
            fresh: true,
        };
        let auto = on(Threads::Auto);
        if NO_THREADS || Pool::Candle.workers() < 2 {
            assert_eq!(plan(1 << 24, 4, Buffers::separate(2), auto).1, 1);
            return;
        }
        let min = CANDLE_PARALLEL_MIN_ELEMENTS;
        for elem in [2, 4, 8] {
            for buffers in [Buffers::separate(2), Buffers::separate(3)] {
                assert_eq!(plan(min - 1, elem, buffers, auto).1, 1);
                assert!(plan(min, elem, buffers, auto).1 > 1);
                assert_eq!(plan(min, elem, buffers, on(Threads::Serial)).1, 1);
            }
        }
        let one = Buffers {
            count: 1,
            in_place: true,
        };
        let len = CANDLE_PARALLEL_MIN_BYTES_IN_PLACE / 4;
        assert_eq!(plan(len - 1, 4, one, auto).1, 1);
        assert!(plan(len, 4, one, auto).1 > 1);
    }
}
