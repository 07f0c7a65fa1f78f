//! Tails at the very end (and start) of an allocation, for AddressSanitizer.
//!
//! Every input and output below is its own heap allocation of exactly the slice's
//! size (`Box<[T]>` built from `Vec::with_capacity(len)`), optionally preceded by a
//! few guard elements in the same allocation: the slice ends exactly where the
//! allocation ends. Under `-Zsanitizer=address` (see `.ci/trust.sh`) a kernel that
//! reads or writes one element past the end of a slice, or before its start, is
//! reported by ASan. Without ASan the test still checks every result bit for bit
//! against the oracle and that the guard elements before the slice are untouched.
//!
//! Covered: every available ISA (forced) x element type (f32, f64, f16, bf16, and u8
//! for Int8Relu) x function (3 forward, 3 backward) x memory arrangement (out of
//! place, in place, aliased same, aliased disjoint; backward also dx == y and
//! y == dy) x length 0..=130 x start offset {0, 1, 3} within the allocation, with
//! default and zero non-temporal store thresholds (so the streaming path's aligning
//! head and masked tail are covered at small lengths too).

mod common;

use std::cell::Cell;
use std::sync::Mutex;

use caffe2op_relu::{Activation, Isa, Kernel, Op, Threads};
use common::{Rng, TestElem, activations, bits, values, values_for};

/// Lengths 0..=130 cross every tail size of every vector width (4..64 lanes) and
/// the 4-register unrolled block of the widest one.
const MAX_LEN: usize = 130;
/// Start offsets (elements) inside the allocation: 0 puts the slice start at the
/// allocation start (a head underread is caught too); the others misalign it.
const OFFSETS: [usize; 3] = [0, 1, 3];

/// The stream threshold is process-wide: tests that change it take this lock.
static STREAM_LOCK: Mutex<()> = Mutex::new(());

/// A fresh allocation of exactly `guard.len() + data.len()` elements holding `guard`
/// then `data`; the data is `[guard.len()..]`, ending at the allocation's end.
fn exact<T: Copy>(guard: &[T], data: &[T]) -> Box<[T]> {
    let mut v = Vec::with_capacity(guard.len() + data.len());
    v.extend_from_slice(guard);
    v.extend_from_slice(data);
    debug_assert_eq!(v.capacity(), v.len());
    v.into_boxed_slice()
}

/// The activations each function is tested with: Caffe2's default and the last
/// (random) one of the shared list, which follows the op registry's parameter rules.
fn acts(op: Op) -> Vec<Activation> {
    let mut list = activations(op, &mut Rng(0xa5a5 ^ op as u64));
    let last = list.pop();
    list.truncate(1);
    list.extend(last);
    list
}

#[derive(Debug, Clone, Copy)]
enum Fwd {
    OutOfPlace,
    InPlace,
    AliasedSame,
    AliasedDisjoint,
}

#[derive(Debug, Clone, Copy)]
enum Bwd {
    OutOfPlace,
    InPlace,
    /// `backward_aliased(y, dy, dx = dy)`
    DxIsDy,
    /// `backward_aliased(y, dy, dx = y)`
    DxIsY,
    /// `backward_aliased(y, dy = y, dx)` with dx disjoint
    YIsDy,
    /// three disjoint allocations through `backward_aliased`
    Disjoint,
}

const FWD: [Fwd; 4] = [
    Fwd::OutOfPlace,
    Fwd::InPlace,
    Fwd::AliasedSame,
    Fwd::AliasedDisjoint,
];
const BWD: [Bwd; 6] = [
    Bwd::OutOfPlace,
    Bwd::InPlace,
    Bwd::DxIsDy,
    Bwd::DxIsY,
    Bwd::YIsDy,
    Bwd::Disjoint,
];

/// Runs the forward op of `k` on `x` in `mode` (every buffer exact-size, the slice at
/// offset `off`) and checks the result and the guard elements.
fn forward_case<T: TestElem>(k: &Kernel, x: &[T], off: usize, mode: Fwd, ctx: &str) {
    let act = k.activation();
    let n = x.len();
    let guard = vec![T::from_f64(-7.25); off];
    let expect: Vec<T::Bits> = x
        .iter()
        .map(|&v| act.oracle_forward(v).unwrap().to_bits())
        .collect();
    let fill = vec![T::from_f64(1234.5); n];
    let out: Box<[T]> = match mode {
        Fwd::OutOfPlace => {
            let xb = exact(&guard, x);
            let mut yb = exact(&guard, &fill);
            k.forward(&xb[off..], &mut yb[off..]).unwrap();
            assert_eq!(bits(&xb[off..]), bits(x), "{ctx}: input modified");
            yb
        }
        Fwd::InPlace => {
            let mut xb = exact(&guard, x);
            k.forward_in_place(&mut xb[off..]).unwrap();
            xb
        }
        Fwd::AliasedSame => {
            let mut xb = exact(&guard, x);
            let c = Cell::from_mut(&mut xb[off..]).as_slice_of_cells();
            k.forward_aliased(c, c).unwrap();
            xb
        }
        Fwd::AliasedDisjoint => {
            let mut xb = exact(&guard, x);
            let mut yb = exact(&guard, &fill);
            let xc = Cell::from_mut(&mut xb[off..]).as_slice_of_cells();
            let yc = Cell::from_mut(&mut yb[off..]).as_slice_of_cells();
            k.forward_aliased(xc, yc).unwrap();
            assert_eq!(bits(&xb[off..]), bits(x), "{ctx}: input modified");
            yb
        }
    };
    assert_eq!(
        bits(&out[..off]),
        bits(&guard),
        "{ctx}: wrote before the start"
    );
    assert_eq!(
        bits(&out[off..]),
        expect,
        "{ctx}: {} {act:?} isa={} {mode:?} len={n} off={off}",
        T::NAME,
        k.isa()
    );
}

/// As [`forward_case`], for the backward op.
fn backward_case<T: TestElem>(k: &Kernel, y: &[T], dy: &[T], off: usize, mode: Bwd, ctx: &str) {
    let act = k.activation();
    let n = y.len();
    let guard = vec![T::from_f64(-7.25); off];
    // With y == dy the kernel sees dy's values as y too.
    let y_eff = if matches!(mode, Bwd::YIsDy) { dy } else { y };
    let expect: Vec<T::Bits> = y_eff
        .iter()
        .zip(dy)
        .map(|(&a, &b)| act.oracle_backward(a, b).unwrap().to_bits())
        .collect();
    let fill = vec![T::from_f64(1234.5); n];
    let out: Box<[T]> = match mode {
        Bwd::OutOfPlace => {
            let yb = exact(&guard, y);
            let db = exact(&guard, dy);
            let mut xb = exact(&guard, &fill);
            k.backward(&yb[off..], &db[off..], &mut xb[off..]).unwrap();
            assert_eq!(bits(&yb[off..]), bits(y), "{ctx}: y modified");
            assert_eq!(bits(&db[off..]), bits(dy), "{ctx}: dy modified");
            xb
        }
        Bwd::InPlace => {
            let yb = exact(&guard, y);
            let mut db = exact(&guard, dy);
            k.backward_in_place(&yb[off..], &mut db[off..]).unwrap();
            assert_eq!(bits(&yb[off..]), bits(y), "{ctx}: y modified");
            db
        }
        Bwd::DxIsDy => {
            let mut yb = exact(&guard, y);
            let mut db = exact(&guard, dy);
            let yc = Cell::from_mut(&mut yb[off..]).as_slice_of_cells();
            let dc = Cell::from_mut(&mut db[off..]).as_slice_of_cells();
            k.backward_aliased(yc, dc, dc).unwrap();
            db
        }
        Bwd::DxIsY => {
            let mut yb = exact(&guard, y);
            let mut db = exact(&guard, dy);
            let yc = Cell::from_mut(&mut yb[off..]).as_slice_of_cells();
            let dc = Cell::from_mut(&mut db[off..]).as_slice_of_cells();
            k.backward_aliased(yc, dc, yc).unwrap();
            yb
        }
        Bwd::YIsDy => {
            let mut db = exact(&guard, dy);
            let mut xb = exact(&guard, &fill);
            let dc = Cell::from_mut(&mut db[off..]).as_slice_of_cells();
            let xc = Cell::from_mut(&mut xb[off..]).as_slice_of_cells();
            k.backward_aliased(dc, dc, xc).unwrap();
            xb
        }
        Bwd::Disjoint => {
            let mut yb = exact(&guard, y);
            let mut db = exact(&guard, dy);
            let mut xb = exact(&guard, &fill);
            let yc = Cell::from_mut(&mut yb[off..]).as_slice_of_cells();
            let dc = Cell::from_mut(&mut db[off..]).as_slice_of_cells();
            let xc = Cell::from_mut(&mut xb[off..]).as_slice_of_cells();
            k.backward_aliased(yc, dc, xc).unwrap();
            xb
        }
    };
    assert_eq!(
        bits(&out[..off]),
        bits(&guard),
        "{ctx}: wrote before the start"
    );
    assert_eq!(
        bits(&out[off..]),
        expect,
        "{ctx}: {} {act:?} isa={} {mode:?} len={n} off={off}",
        T::NAME,
        k.isa()
    );
}

/// Every ISA x function x arrangement x length x offset for one element type, with
/// the given non-temporal store threshold. Returns the number of calls checked.
fn sweep<T: TestElem>(seed: u64) -> usize {
    let mut rng = Rng(seed);
    let mut calls = 0;
    for isa in Isa::available() {
        for op in Op::ALL {
            for act in acts(op) {
                let k = Kernel::new(act)
                    .with_isa(isa)
                    .unwrap()
                    .with_threads(Threads::Serial);
                for len in 0..=MAX_LEN {
                    let x: Vec<T> = values_for(&mut rng, len, &act);
                    let dy: Vec<T> = values(&mut rng, len, 1.0);
                    for off in OFFSETS {
                        for mode in FWD {
                            forward_case(&k, &x, off, mode, "asan_tails");
                            calls += 1;
                        }
                        for mode in BWD {
                            backward_case(&k, &x, &dy, off, mode, "asan_tails");
                            calls += 1;
                        }
                    }
                }
            }
        }
    }
    calls
}

/// The sweep with the default stream threshold, then with 0 (every out-of-place call
/// of an ISA with streaming stores takes the aligning-head + NT path).
fn both_thresholds<T: TestElem>(seed: u64) {
    let _g = STREAM_LOCK.lock().unwrap_or_else(|e| e.into_inner());
    let old = caffe2op_relu::tuning::stream_min_bytes();
    let a = sweep::<T>(seed);
    caffe2op_relu::tuning::set_stream_min_bytes(0);
    let b = sweep::<T>(seed ^ 1);
    caffe2op_relu::tuning::set_stream_min_bytes(old);
    // 7 activations (relu's one, two of each other op) x 131 lengths x 3 offsets x 10
    // arrangements per ISA.
    let per_isa = 7 * (MAX_LEN + 1) * OFFSETS.len() * (FWD.len() + BWD.len());
    assert_eq!(a + b, 2 * per_isa * Isa::available().len());
}

#[test]
fn f32_tails_at_allocation_end() {
    both_thresholds::<f32>(0xa5a0_0032);
}

#[test]
fn f64_tails_at_allocation_end() {
    both_thresholds::<f64>(0xa5a0_0064);
}

#[test]
fn f16_tails_at_allocation_end() {
    both_thresholds::<half::f16>(0xa5a0_0016);
}

#[test]
fn bf16_tails_at_allocation_end() {
    both_thresholds::<half::bf16>(0xa5a0_0b16);
}

/// Int8Relu (u8): out of place and in place, every ISA, length and offset, several
/// zero points.
#[test]
fn u8_tails_at_allocation_end() {
    let _g = STREAM_LOCK.lock().unwrap_or_else(|e| e.into_inner());
    let old = caffe2op_relu::tuning::stream_min_bytes();
    let mut rng = Rng(0xa5a0_0008);
    let mut calls = 0;
    for stream in [old, 0] {
        caffe2op_relu::tuning::set_stream_min_bytes(stream);
        for isa in Isa::available() {
            for zp in [0u8, 1, 128, 254, 255] {
                for len in 0..=MAX_LEN {
                    let x: Vec<u8> = (0..len).map(|_| rng.next_u64() as u8).collect();
                    let expect: Vec<u8> = x
                        .iter()
                        .map(|&v| caffe2op_relu::int8_relu_oracle(v, zp))
                        .collect();
                    for off in OFFSETS {
                        let guard = vec![0xA5u8; off];
                        let xb = exact(&guard, &x);
                        let mut yb = exact(&guard, &vec![0x5Au8; len]);
                        caffe2op_relu::int8_relu_with_isa(&xb[off..], &mut yb[off..], zp, isa)
                            .unwrap();
                        assert_eq!(&yb[..off], &guard[..], "{isa} zp={zp} len={len}");
                        assert_eq!(&yb[off..], &expect[..], "{isa} zp={zp} len={len} off={off}");
                        assert_eq!(&xb[off..], &x[..], "input modified");

                        let mut xb = exact(&guard, &x);
                        caffe2op_relu::int8_relu_in_place_with_isa(&mut xb[off..], zp, isa)
                            .unwrap();
                        assert_eq!(&xb[..off], &guard[..], "{isa} zp={zp} len={len}");
                        assert_eq!(&xb[off..], &expect[..], "{isa} in place len={len}");
                        calls += 2;
                    }
                }
            }
        }
    }
    caffe2op_relu::tuning::set_stream_min_bytes(old);
    assert_eq!(
        calls,
        2 * Isa::available().len() * 5 * (MAX_LEN + 1) * OFFSETS.len() * 2
    );
}
