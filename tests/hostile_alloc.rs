//! Malformed protobuf must not make the reader allocate what a length prefix claims,
//! nor what a tensor's dims or a fill operator's `shape` claim before the data is there.
//!
//! This test binary installs a counting global allocator (the only `unsafe` here: a
//! `GlobalAlloc` impl must be an `unsafe impl`) that records the largest single
//! allocation and the peak of live bytes. Each case decodes a short hostile message
//! and checks both numbers stay small: a 20-byte message claiming a 2^40-byte field
//! is refused without asking the allocator for anything near 2^40 bytes.
//!
//! The binary holds a single test, so nothing else allocates while it measures
//! (libtest's main thread only waits).

mod common;

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

use caffe2op_relu::ops::{NetDef, OperatorDef, Tensor, TensorProtos, Workspace};
use caffe2op_relu::{Error, OpErrorKind};
use common::proto::{LEN, VARINT, key, ld, varint};

struct Counting;

static LARGEST: AtomicUsize = AtomicUsize::new(0);
static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

fn record_alloc(size: usize) {
    LARGEST.fetch_max(size, Ordering::Relaxed);
    let live = LIVE.fetch_add(size, Ordering::Relaxed) + size;
    PEAK.fetch_max(live, Ordering::Relaxed);
}

// SAFETY: every method forwards to `System` with the caller's arguments unchanged,
// so `System`'s guarantees (valid, aligned, sized blocks; dealloc/realloc only of
// blocks it returned) are ours; the bookkeeping only touches atomics and never
// allocates.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        record_alloc(layout.size());
        // SAFETY: forwarded from our caller (non-zero-size layout).
        unsafe { System.alloc(layout) }
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        record_alloc(layout.size());
        // SAFETY: as in `alloc`.
        unsafe { System.alloc_zeroed(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
        // SAFETY: `ptr` was returned by `System` for `layout` (our alloc forwards).
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
        record_alloc(new_size);
        // SAFETY: as in `dealloc`; `new_size` is the caller's valid new size.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOC: Counting = Counting;

/// Runs `f`, returning its result with the largest single allocation and the peak of
/// live bytes above the starting level during the call.
fn measure<R>(f: impl FnOnce() -> R) -> (R, usize, usize) {
    LARGEST.store(0, Ordering::Relaxed);
    let base = LIVE.load(Ordering::Relaxed);
    PEAK.store(base, Ordering::Relaxed);
    let r = f();
    let largest = LARGEST.load(Ordering::Relaxed);
    let peak = PEAK.load(Ordering::Relaxed).saturating_sub(base);
    (r, largest, peak)
}

/// A length-delimited field `field` claiming `claim` bytes, followed by `pad` bytes.
fn claiming(field: u32, claim: u64, pad: usize) -> Vec<u8> {
    let mut v = key(field, LEN);
    v.extend(varint(claim));
    v.extend(std::iter::repeat_n(b'x', pad));
    v
}

fn is_decode(e: &Error) -> bool {
    matches!(
        e,
        Error::Operator {
            kind: OpErrorKind::Decode,
            ..
        }
    )
}

/// The limit for one hostile decode: no single allocation and no peak over 64 KiB
/// for messages of at most a few hundred bytes (what a real decoder needs for its
/// message structs and the error text), nowhere near the claimed sizes.
const SMALL: usize = 64 << 10;

#[test]
fn hostile_length_prefixes_allocate_nothing_large() {
    let mut cases = 0;
    let (mut worst_largest, mut worst_peak) = (0, 0);
    for claim in [
        1u64 << 20,
        1 << 31,
        1 << 32,
        1 << 40,
        1 << 50,
        1 << 62,
        u64::MAX,
    ] {
        // 20-byte messages (key + up to 10 varint bytes + padding), at the top level
        // and nested in every length-delimited position that allocates: strings,
        // bytes, packed floats/ints, sub-messages.
        let net_msgs: Vec<Vec<u8>> = vec![
            claiming(1, claim, 8),                 // NetDef.name (string)
            claiming(2, claim, 8),                 // NetDef.op (message)
            claiming(5, claim, 8),                 // NetDef.device_option (bytes)
            claiming(7, claim, 8),                 // NetDef.external_input
            ld(2, &claiming(1, claim, 4)),         // OperatorDef.input
            ld(2, &claiming(6, claim, 4)),         // OperatorDef.device_option
            ld(6, &claiming(5, claim, 4)),         // Argument.floats (packed)
            ld(6, &claiming(6, claim, 4)),         // Argument.ints (packed)
            ld(6, &claiming(7, claim, 4)),         // Argument.strings
            ld(6, &claiming(10, claim, 4)),        // Argument.t (opaque)
            ld(6, &ld(8, &claiming(2, claim, 2))), // a nested net's op
        ];
        for bytes in &net_msgs {
            assert!(bytes.len() <= 24, "{}", bytes.len());
            let (r, largest, peak) = measure(|| NetDef::from_bytes(bytes));
            worst_largest = worst_largest.max(largest);
            worst_peak = worst_peak.max(peak);
            let e = r.expect_err("a claim past the end must be refused");
            assert!(is_decode(&e), "{e}");
            assert!(
                largest <= SMALL && peak <= SMALL,
                "claim {claim}: largest allocation {largest} B, peak {peak} B for {} bytes",
                bytes.len()
            );
            cases += 1;
        }
        let op_msgs: Vec<Vec<u8>> = vec![
            claiming(1, claim, 8),
            claiming(4, claim, 8),
            claiming(5, claim, 8),
            ld(5, &claiming(5, claim, 4)),
            ld(5, &claiming(9, claim, 4)),
        ];
        for bytes in &op_msgs {
            let (r, largest, peak) = measure(|| OperatorDef::from_bytes(bytes));
            worst_largest = worst_largest.max(largest);
            worst_peak = worst_peak.max(peak);
            assert!(is_decode(&r.unwrap_err()));
            assert!(largest <= SMALL && peak <= SMALL, "{largest} {peak}");
            cases += 1;
        }
    }
    assert_eq!(cases, 7 * (11 + 5));

    // Tensors: a length prefix past the end in every data field, and dims claiming
    // 2^40 (or an overflowing count of) elements with one float of data: refused
    // before anything of the claimed size is allocated.
    let vfield = |field: u32, v: u64| {
        let mut out = key(field, VARINT);
        out.extend(varint(v));
        out
    };
    let one_float = ld(3, &[0, 0, 0x80, 0x3f]);
    let mut tensor_msgs: Vec<Vec<u8>> = Vec::new();
    for claim in [1u64 << 31, 1 << 40, u64::MAX] {
        for field in [1u32, 3, 4, 5, 6, 9, 10, 13] {
            tensor_msgs.push(claiming(field, claim, 8));
        }
    }
    for dims in [
        vec![1u64 << 40],
        vec![1 << 20, 1 << 20],
        vec![1 << 62, 1 << 62, 4],
    ] {
        let mut t: Vec<u8> = dims.iter().flat_map(|&d| vfield(1, d)).collect();
        t.extend(vfield(2, 1));
        t.extend(&one_float);
        tensor_msgs.push(t);
    }
    for bytes in &tensor_msgs {
        assert!(bytes.len() <= 32, "{}", bytes.len());
        let (r, largest, peak) = measure(|| Tensor::from_proto_bytes(bytes));
        assert!(r.is_err());
        let (r2, largest2, peak2) = measure(|| TensorProtos::from_bytes(&ld(1, bytes)));
        assert!(r2.is_err());
        assert!(
            largest.max(largest2) <= SMALL && peak.max(peak2) <= SMALL,
            "{bytes:02x?}: largest allocation {largest} B, peak {peak} B"
        );
    }
    // A fill operator whose `shape` claims 2^40 elements and gives one value: refused
    // when the net is checked, before any tensor is built.
    let net = NetDef::new("init").op(OperatorDef::new("GivenTensorFill")
        .output("W")
        .arg("shape", vec![1i64 << 40])
        .arg("values", vec![1.0f32]));
    let bytes = net.to_bytes().unwrap();
    let mut ws = Workspace::new();
    let (r, largest, peak) = measure(|| NetDef::from_bytes(&bytes).and_then(|n| ws.run_net(&n)));
    assert!(r.is_err());
    assert!(ws.is_empty());
    assert!(largest <= SMALL && peak <= SMALL, "{largest} {peak}");
    eprintln!(
        "hostile length prefixes: largest single allocation {worst_largest} B, peak {worst_peak} B"
    );

    // Many empty sub-messages: memory stays linear in the input size (the reader's
    // message structs, a few hundred bytes per two-byte `op {}`), with no single
    // allocation beyond the growth of one vector of them.
    for n in [1_000usize, 20_000] {
        let bytes: Vec<u8> = std::iter::repeat_n([0x12u8, 0x00], n).flatten().collect();
        let (r, largest, peak) = measure(|| NetDef::from_bytes(&bytes));
        let net = r.unwrap();
        assert_eq!(net.ops.len(), n);
        drop(net);
        let per_input_byte = peak / bytes.len();
        eprintln!(
            "{n} empty ops ({} B): peak {peak} B, largest {largest} B",
            bytes.len()
        );
        assert!(
            per_input_byte <= 512,
            "{n} empty ops: peak {peak} B = {per_input_byte} B per input byte"
        );
        assert!(largest <= 512 * bytes.len(), "{largest}");
    }

    // The same bound for many empty packed-float arguments and long varint runs.
    let mut arg = Vec::new();
    for _ in 0..5_000 {
        arg.extend(ld(5, &[]));
    }
    let bytes = ld(6, &arg);
    let (r, _largest, peak) = measure(|| NetDef::from_bytes(&bytes));
    r.unwrap();
    assert!(peak <= 512 * bytes.len() + SMALL, "{peak}");
}
