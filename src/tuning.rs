//! Every tuning knob in one place: the thread and streaming thresholds, and the
//! choices among an ISA's variants (all of which give the oracle's bits).
//!
//! The knobs are process-wide and meant for tuning and benchmarking; the defaults
//! are measured (see `docs/PERFORMANCE.md`).

use std::sync::OnceLock;
use std::sync::atomic::{AtomicU8, AtomicUsize, Ordering};

use caffe2op_relu_kernels::Tuning;

use crate::isa::{self, Isa};

/// The default of [`parallel_min_bytes`] on CPUs without a measured default of their
/// own (AMD Zen 3 among those measured): `Threads::Auto` goes parallel when one call
/// touches at least this many bytes of its buffers (inputs + output; a buffer written
/// in place counts once).
pub const PARALLEL_MIN_BYTES: usize = 8 << 20;

/// The default of [`parallel_min_bytes`] on AMD Zen 4 (family 19h with AVX-512), 8 MiB:
/// the smallest call that gains from two cores even when the pool's workers are
/// asleep. A split wakes a worker (about 12 µs of the caller's time on the 2-vCPU VM,
/// the worker starting about 30 µs later), and a call after the workers had slept
/// ran f32 relu at 0.62-0.77x the serial speed at 1 MiB per buffer, 0.87-0.94x at
/// 2 MiB and 1.08-1.11x at 4 MiB. Back to back, with the workers awake, two cores
/// ran 1.15-1.77x as fast as one from 128 KiB per buffer: calls from
/// [`burst_min_bytes`] that follow another within `exec::BURST_WINDOW_NS` split too
/// (`docs/PERFORMANCE.md`).
pub const PARALLEL_MIN_BYTES_ZEN4: usize = 8 << 20;

/// The default of [`burst_min_bytes`] on AMD Zen 4, 768 KiB moved: called back to
/// back, f32 relu_grad at 256 KiB per buffer (768 KiB moved) ran 1.45-1.49x as fast
/// in two threads as in one and relu at 512 KiB 1.53-1.72x, where relu at 256 KiB
/// (512 KiB moved) read 0.92-1.28x between runs (`docs/PERFORMANCE.md`).
pub const BURST_MIN_BYTES_ZEN4: usize = 768 << 10;

/// The default of [`parallel_min_bytes_in_place`] on AMD Zen 4, 16 MiB: f32 relu in
/// place on values the calling thread had just written ran at 0.32-0.66x in two
/// threads what it ran in one at 1-4 MiB and 0.65-1.30x at 8 MiB
/// (`docs/PERFORMANCE.md`).
pub const PARALLEL_MIN_BYTES_IN_PLACE_ZEN4: usize = 16 << 20;

/// The default of [`parallel_min_bytes`] on Intel CPUs whose cores have at least 2 MiB
/// of L2 each, 1.5 MiB (measured on a Sapphire Rapids-class server core): one core
/// read its L3 at a third of its L2's rate there, so a call that outgrows about three
/// quarters of one L2 ran 1.4-2.0x as fast in two (f32 relu at 768 KiB and relu_grad
/// at 512 KiB per buffer, `docs/PERFORMANCE.md`), where a call on 1 MiB of buffers
/// gained little (0.98-1.11x).
pub const PARALLEL_MIN_BYTES_LARGE_L2: usize = 3 << 19;

/// The default of [`parallel_min_bytes_in_place`] on the CPUs of
/// [`PARALLEL_MIN_BYTES_LARGE_L2`]: 2 MiB, the size of one core's L2. An in-place call
/// on a buffer that fits there most likely finds it in the calling core's L2 (its
/// caller has just written it), and a second core would pull its half out of that
/// cache: f32 relu in place at 1.5 MiB, on values the calling thread had just
/// written, ran at 0.78-0.92x in two threads what it ran in one, and at 1.18-1.77x
/// from 2 MiB (`docs/PERFORMANCE.md`).
pub const PARALLEL_MIN_BYTES_IN_PLACE_LARGE_L2: usize = 2 << 20;

/// Not set yet: decided from the CPU on first use.
const UNSET: usize = usize::MAX;
static PARALLEL_MIN: AtomicUsize = AtomicUsize::new(UNSET);
static PARALLEL_MIN_IN_PLACE: AtomicUsize = AtomicUsize::new(UNSET);
static BURST_MIN: AtomicUsize = AtomicUsize::new(UNSET);

/// The current parallel threshold in bytes of buffers per call (inputs + output, a
/// buffer written in place counted once): what
/// [`set_parallel_min_bytes`] set, else [`default_parallel_min_bytes`].
#[inline]
pub fn parallel_min_bytes() -> usize {
    threshold(&PARALLEL_MIN, default_parallel_min_bytes)
}

/// The parallel threshold of a call that writes one of its inputs in place (bytes of
/// its distinct buffers, the one written in place counted once): what
/// [`set_parallel_min_bytes`] or [`set_parallel_min_bytes_in_place`] set last, else
/// [`default_parallel_min_bytes_in_place`].
#[inline]
pub fn parallel_min_bytes_in_place() -> usize {
    threshold(&PARALLEL_MIN_IN_PLACE, default_parallel_min_bytes_in_place)
}

/// The threshold of calls in a burst (bytes moved, inputs + output): a
/// `Threads::Auto` call out of place that moves at least this much, and less than
/// [`parallel_min_bytes`], is split when it starts within `exec::BURST_WINDOW_NS` (25 µs)
/// of the end of the previous such call, the pool's workers most likely still awake
/// from it; otherwise it runs on the caller's thread. What [`set_burst_min_bytes`]
/// set, else [`default_burst_min_bytes`]. In-place calls do not take part (on values
/// the caller has just written a split loses at these sizes).
#[inline]
pub fn burst_min_bytes() -> usize {
    threshold(&BURST_MIN, default_burst_min_bytes)
}

/// This CPU's default [`burst_min_bytes`]: [`BURST_MIN_BYTES_ZEN4`] on AMD Zen 4, where
/// it was measured; elsewhere `usize::MAX - 1` (no call is split below
/// [`parallel_min_bytes`]).
pub fn default_burst_min_bytes() -> usize {
    if zen4() {
        BURST_MIN_BYTES_ZEN4
    } else {
        UNSET - 1
    }
}

/// Sets [`burst_min_bytes`] (process-wide; for tuning and benchmarking). `usize::MAX`
/// (taken as `usize::MAX - 1`) turns bursts off: calls below [`parallel_min_bytes`]
/// then always run on the caller's thread.
pub fn set_burst_min_bytes(bytes: usize) {
    BURST_MIN.store(bytes.min(UNSET - 1), Ordering::Relaxed);
}

/// The value of a threshold knob: what was set, else `default()`, decided once.
#[inline]
fn threshold(knob: &AtomicUsize, default: fn() -> usize) -> usize {
    match knob.load(Ordering::Relaxed) {
        UNSET => decide(knob, default),
        v => v,
    }
}

#[cold]
fn decide(knob: &AtomicUsize, default: fn() -> usize) -> usize {
    // A racing setter wins over the default.
    let _ = knob.compare_exchange(UNSET, default(), Ordering::Relaxed, Ordering::Relaxed);
    knob.load(Ordering::Relaxed)
}

/// Whether this is an Intel CPU whose cores have at least 2 MiB of L2 each.
fn large_intel_l2() -> bool {
    #[cfg(target_arch = "x86_64")]
    if caffe2op_relu_kernels::arch::x86_64::intel_l2_bytes().is_some_and(|b| b >= 2 << 20) {
        return true;
    }
    false
}

/// Whether this is an AMD Zen 4 CPU (family 19h with AVX-512F; Zen 3, the same
/// family, has no AVX-512).
fn zen4() -> bool {
    #[cfg(target_arch = "x86_64")]
    if caffe2op_relu_kernels::arch::x86_64::amd_family_19h()
        && std::arch::is_x86_feature_detected!("avx512f")
    {
        return true;
    }
    false
}

/// This CPU's default parallel threshold: [`PARALLEL_MIN_BYTES_LARGE_L2`] on an Intel
/// CPU with at least 2 MiB of L2 per core, [`PARALLEL_MIN_BYTES_ZEN4`] on AMD Zen 4,
/// else [`PARALLEL_MIN_BYTES`].
pub fn default_parallel_min_bytes() -> usize {
    if large_intel_l2() {
        PARALLEL_MIN_BYTES_LARGE_L2
    } else if zen4() {
        PARALLEL_MIN_BYTES_ZEN4
    } else {
        PARALLEL_MIN_BYTES
    }
}

/// This CPU's default parallel threshold for in-place calls:
/// [`PARALLEL_MIN_BYTES_IN_PLACE_LARGE_L2`] on an Intel CPU with at least 2 MiB of L2
/// per core, [`PARALLEL_MIN_BYTES_IN_PLACE_ZEN4`] on AMD Zen 4, else
/// [`PARALLEL_MIN_BYTES`] (as out of place).
pub fn default_parallel_min_bytes_in_place() -> usize {
    if large_intel_l2() {
        PARALLEL_MIN_BYTES_IN_PLACE_LARGE_L2
    } else if zen4() {
        PARALLEL_MIN_BYTES_IN_PLACE_ZEN4
    } else {
        PARALLEL_MIN_BYTES
    }
}

/// Sets the parallel threshold of every call, in place or not (process-wide; for
/// tuning and benchmarking). `usize::MAX` is taken as `usize::MAX - 1` (no call moves
/// that much either way).
pub fn set_parallel_min_bytes(bytes: usize) {
    PARALLEL_MIN.store(bytes.min(UNSET - 1), Ordering::Relaxed);
    PARALLEL_MIN_IN_PLACE.store(bytes.min(UNSET - 1), Ordering::Relaxed);
}

/// Sets the parallel threshold of in-place calls only (process-wide; for tuning and
/// benchmarking), as [`set_parallel_min_bytes`] does for every call.
pub fn set_parallel_min_bytes_in_place(bytes: usize) {
    PARALLEL_MIN_IN_PLACE.store(bytes.min(UNSET - 1), Ordering::Relaxed);
}

/// The default of [`stream_min_bytes`]: out-of-place calls that move at least this many
/// bytes (inputs + output) on one thread use non-temporal (streaming) stores on ISAs
/// that have them (AVX2, AVX-512); a forward call split across threads streams from
/// 5/4 of it, a split backward call from the threshold itself.
/// Once the buffers no longer fit in the last-level cache, writing around it saves the
/// read-for-ownership of every output line; below that, streaming would evict data the
/// next call wants. Several cores read and write the last-level cache at several
/// times one core's rate, while a streaming call runs at the rate DRAM takes its one
/// output stream, times the number of streams. So a split forward call (one input per
/// output) gains from keeping its output cached up to a larger size, though not past
/// the cache's own size (30 MiB by default, against a 32 MiB L3); a split backward
/// call (two inputs per output) streams as soon as a serial one does.
pub const DEFAULT_STREAM_MIN_BYTES: usize = 24 << 20;

static STREAM_MIN: AtomicUsize = AtomicUsize::new(DEFAULT_STREAM_MIN_BYTES);

/// The current non-temporal store threshold, in bytes one call moves (inputs + output,
/// the whole call however it is split across threads) on one thread; a forward call
/// split across threads streams from 5/4 of it, a split backward call from the
/// threshold itself. In place never streams.
#[inline]
pub fn stream_min_bytes() -> usize {
    STREAM_MIN.load(Ordering::Relaxed)
}

/// Sets the non-temporal store threshold (process-wide; for tuning and benchmarking).
pub fn set_stream_min_bytes(bytes: usize) {
    STREAM_MIN.store(bytes, Ordering::Relaxed);
}

/// The environment variable that turns off the AVX512-BF16 narrowing of bf16 products
/// on [`Isa::Avx512`] when set to `0` (read once per process; see
/// [`avx512_bf16_narrowing`]).
pub const BF16_ENV_VAR: &str = "CAFFE2OP_RELU_AVX512BF16";

/// Whether the [`Isa::Avx512`] bf16 kernels narrow products (leaky_relu and its
/// gradient) with AVX512-BF16's `VCVTNE2PS2BF16`: true when this CPU has AVX512-BF16
/// and DQ (besides F and BW) and [`BF16_ENV_VAR`] is not `0`. Both forms give the
/// oracle's bits; the other rounds in integer arithmetic. Decided once and cached.
pub fn avx512_bf16_narrowing() -> bool {
    static ON: OnceLock<bool> = OnceLock::new();
    *ON.get_or_init(|| {
        let off = std::env::var_os(BF16_ENV_VAR).is_some_and(|v| v == "0");
        !off && supported().avx512_bf16_narrowing
    })
}

/// The environment variable that turns off the AVX512-FP16 f16 arithmetic on
/// [`Isa::Avx512`] when set to `0` (read once per process; see [`avx512_fp16`]).
pub const FP16_ENV_VAR: &str = "CAFFE2OP_RELU_AVX512FP16";

/// Whether the [`Isa::Avx512`] f16 kernels compute with AVX512-FP16: products
/// (leaky_relu, PRelu and their gradients), float compares (the gradients), relu,
/// relu_n and the clip bounds as single `VMULPH`, `VCMPPH`, `VMAXPH`/`VMINPH`
/// instructions, where the other form widens each product to f32 and back and
/// compares in integers. True when this CPU has AVX512-FP16 (besides F and BW) and
/// [`FP16_ENV_VAR`] is not `0`. Both forms give the oracle's bits. Decided once and
/// cached.
pub fn avx512_fp16() -> bool {
    static ON: OnceLock<bool> = OnceLock::new();
    *ON.get_or_init(|| {
        let off = std::env::var_os(FP16_ENV_VAR).is_some_and(|v| v == "0");
        !off && supported().avx512_fp16
    })
}

/// The environment variable that sets whether the [`Isa::Avx512`] f32, f64 and u8
/// kernels run their main loops on 256-bit registers: `1` on, `0` off, unset
/// or anything else: decided by the CPU (see [`avx512_ymm_loops`]).
pub const AVX512_YMM_ENV_VAR: &str = "CAFFE2OP_RELU_AVX512_YMM";

const UNDECIDED: u8 = u8::MAX;
static YMM_LOOPS: AtomicU8 = AtomicU8::new(UNDECIDED);

/// Whether the [`Isa::Avx512`] f32 and f64 kernels run calls of four 512-bit
/// registers and more on 256-bit registers: every forward op (in place up to 32 KiB),
/// relu_grad and relu_n_grad, and leaky_relu_grad from 1 MiB per buffer; the rest
/// stay on 512-bit ones.
/// Needs AVX512VL as well. On by default on AMD family 19h (Zen 4), whose cores
/// split every 512-bit access in two: there the 256-bit loops measured 5-12% faster
/// in L1 when input and output sit at different offsets within a cache line, and up
/// to 8% faster for the gradients at 4-256 MiB. [`AVX512_YMM_ENV_VAR`] overrides the
/// CPU's default when the process first asks; [`set_avx512_ymm_loops`] at any time.
/// The same switch picks Int8Relu's 256-bit AVX-512 table (every call, in place
/// included: its masked tails and stores exist at that width with AVX512VL).
/// Both forms give the oracle's bits. One relaxed atomic load once decided.
#[inline]
pub fn avx512_ymm_loops() -> bool {
    match YMM_LOOPS.load(Ordering::Relaxed) {
        UNDECIDED => decide_ymm_loops(),
        v => v == 1,
    }
}

#[cold]
fn decide_ymm_loops() -> bool {
    // The CPU is asked for its family only where the choice exists.
    let on = supported().avx512_ymm_loops
        && match std::env::var(AVX512_YMM_ENV_VAR).as_deref() {
            Ok("1") => true,
            Ok("0") => false,
            _ => ymm_loops_preferred(),
        };
    // A racing setter wins over the default.
    let _ = YMM_LOOPS.compare_exchange(UNDECIDED, on as u8, Ordering::Relaxed, Ordering::Relaxed);
    YMM_LOOPS.load(Ordering::Relaxed) == 1
}

/// Turns the 256-bit main loops of [`avx512_ymm_loops`] on or off for the whole
/// process (for benchmarking the two against each other; calls already running
/// finish with the table they started with). On a CPU without AVX512VL they stay
/// off.
pub fn set_avx512_ymm_loops(on: bool) {
    YMM_LOOPS.store(
        (on && supported().avx512_ymm_loops) as u8,
        Ordering::Relaxed,
    );
    isa::refresh_dispatch();
}

#[cfg(target_arch = "x86_64")]
fn ymm_loops_preferred() -> bool {
    caffe2op_relu_kernels::arch::x86_64::amd_family_19h()
}

#[cfg(not(target_arch = "x86_64"))]
fn ymm_loops_preferred() -> bool {
    false
}

/// The choices this CPU supports (the AVX-512 ones only where AVX-512 runs).
fn supported() -> Tuning {
    let def = Isa::Avx512.def();
    if (def.detect)() {
        (def.tunable)()
    } else {
        Tuning::default()
    }
}

/// The choices in force now, for the tables of any ISA.
#[inline]
pub(crate) fn current() -> Tuning {
    Tuning {
        avx512_ymm_loops: avx512_ymm_loops(),
        avx512_bf16_narrowing: avx512_bf16_narrowing(),
        avx512_fp16: avx512_fp16(),
    }
}
