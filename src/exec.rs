//! Running a kernel over raw ranges: serially, or split across the current rayon pool.
//!
//! This file and `quantized.rs` hold the few lines of the safe crate that call into the
//! unsafe kernels; everything above them works on validated slices.

use caffe2op_relu_kernels::{BinaryFn, Params, UnaryFn};

#[cfg(test)]
use crate::tuning::DEFAULT_STREAM_MIN_BYTES;
use crate::tuning::{parallel_min_bytes, stream_min_bytes};

/// Whether large calls may use several threads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Threads {
    /// Split calls that move at least [`crate::tuning::parallel_min_bytes`] across the current rayon
    /// pool (so `pool.install(..)` controls it); smaller calls run on the caller's
    /// thread and never touch rayon.
    #[default]
    Auto,
    /// Always run on the caller's thread.
    Serial,
}

/// Whether a call on `len` elements of `elem_size` bytes over `streams` buffers
/// (inputs + output), run as `chunks` pieces, should use streaming stores: from
/// [`stream_min_bytes`] on one thread; when split, from 5/4 of it for one input
/// (forward) and from the threshold itself for two (backward). Measured on the
/// reference machine, f32 and f64 on AVX-512 with 2 threads, in the report's shuffled
/// cells at 24 MiB moved: relu at 12 MiB buffers ran at 55-80 GB/s with plain stores
/// against 46-53 streaming; the gradients at 8 MiB at 38-88 plain (the L3 is shared
/// with other tenants) against 60-80 streaming. Streaming moves about three times
/// the rate DRAM takes the output at when there are two inputs, twice with one.
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

/// The smallest piece of work (bytes moved) handed to one thread: about 10 µs at
/// cache speed, so rayon's per-task cost (about 1 µs) stays small.
const MIN_CHUNK_BYTES: usize = 1 << 20;

/// Pieces per worker: one. Measured on the reference machine (README), one piece per
/// core with the caller taking the first beats finer pieces handed out by work
/// stealing: which core gets which piece then changes from call to call, and the data
/// a core has in its own L2 from the last call goes unused.
const PIECES_PER_WORKER: usize = 1;

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
/// thread starts on piece 0 at once, while the pool (the current one, see
/// [`Threads::Auto`]) takes the others: nobody waits for a worker to wake before work
/// starts, and the caller keeps the same piece from call to call, so a buffer that
/// is processed repeatedly stays in that core's cache.
fn for_each_piece(chunks: usize, piece: impl Fn(usize) + Sync) {
    let piece = &piece;
    rayon::in_place_scope(|s| {
        for c in 1..chunks {
            s.spawn(move |_| piece(c));
        }
        piece(0);
    });
}

/// Splits `len` elements into `(chunk_len, chunks)`; `chunks == 1` means serial.
#[inline]
pub(crate) fn plan(
    len: usize,
    elem_size: usize,
    streams: usize,
    threads: Threads,
) -> (usize, usize) {
    let bytes = len.saturating_mul(elem_size).saturating_mul(streams);
    if threads == Threads::Serial || len == 0 || bytes < parallel_min_bytes() {
        return (len, 1);
    }
    let workers = rayon::current_num_threads();
    if workers < 2 {
        return (len, 1);
    }
    let pieces = (bytes / MIN_CHUNK_BYTES).clamp(1, workers * PIECES_PER_WORKER);
    // Chunk lengths are whole cache lines (64 bytes) so threads never share one.
    let line = (64 / elem_size).max(1);
    let chunk = len.div_ceil(pieces).div_ceil(line) * line;
    (chunk, len.div_ceil(chunk))
}

/// Runs `f` over `[0, len)`, possibly in parallel chunks.
///
/// # Safety
/// The contract of [`UnaryFn`] for `f`, `src`, `dst`, `len` (including: `f`'s ISA is
/// available on this CPU).
#[inline]
pub(crate) unsafe fn run_unary<T: Send + Sync + Copy>(
    f: UnaryFn<T>,
    src: *const T,
    dst: *mut T,
    len: usize,
    params: &Params<T>,
    threads: Threads,
) {
    let (chunk, chunks) = plan(len, size_of::<T>(), 2, threads);
    let nt = !std::ptr::eq(src, dst) && stream(len, size_of::<T>(), 2, chunks);
    if chunks <= 1 {
        // SAFETY: forwarded from the caller.
        unsafe { f(src, dst, len, params, nt) };
        return;
    }
    let params = *params;
    let (s, d) = (SendPtr(src.cast_mut()), SendPtr(dst));
    for_each_piece(chunks, move |c| {
        let (s, d) = (s, d);
        let start = c * chunk;
        let n = chunk.min(len - start);
        // SAFETY: [start, start + n) is inside [0, len); chunks are disjoint, and an
        // in-place call (dst == src) stays in place chunk by chunk.
        unsafe { f(s.0.add(start), d.0.add(start), n, &params.offset(start), nt) }
    });
}

/// Runs the backward kernel `f` over `[0, len)`, possibly in parallel chunks.
///
/// # Safety
/// The contract of [`BinaryFn`] for `f`, `y`, `dy`, `dx`, `len`.
#[inline]
pub(crate) unsafe fn run_binary<T: Send + Sync + Copy>(
    f: BinaryFn<T>,
    y: *const T,
    dy: *const T,
    dx: *mut T,
    len: usize,
    params: &Params<T>,
    threads: Threads,
) {
    let (chunk, chunks) = plan(len, size_of::<T>(), 3, threads);
    let nt =
        !std::ptr::eq(y, dx) && !std::ptr::eq(dy, dx) && stream(len, size_of::<T>(), 3, chunks);
    if chunks <= 1 {
        // SAFETY: forwarded from the caller.
        unsafe { f(y, dy, dx, len, params, nt) };
        return;
    }
    let params = *params;
    let (y, dy, dx) = (SendPtr(y.cast_mut()), SendPtr(dy.cast_mut()), SendPtr(dx));
    for_each_piece(chunks, move |c| {
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
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plan_covers_everything_in_whole_lines() {
        for len in [0usize, 1, 15, 16, 17, 1 << 20, (1 << 22) + 3, 10_000_019] {
            let (chunk, chunks) = plan(len, 4, 2, Threads::Auto);
            assert!(chunks == 1 || chunk % 16 == 0);
            assert!(chunk * chunks >= len);
            assert!(chunks == 1 || chunk * (chunks - 1) < len);
        }
        assert_eq!(plan(1 << 24, 4, 2, Threads::Serial).1, 1);
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
}
