//! Arbitrary bytes -> (function, element type, ISA, length, start offset, parameter,
//! memory arrangement, threads, streaming threshold, values) -> one call of the safe
//! API, compared bit for bit with the scalar oracle. A refused call (invalid
//! parameter, length mismatch) must return exactly the expected error and leave every
//! buffer untouched; a call that runs must write exactly its output range.
#![no_main]

use std::cell::Cell;
use std::sync::OnceLock;

use caffe2op_relu::{
    Activation, Element, Error, Int8LeakyRelu, Isa, Kernel, Op, QuantParams, Threads,
};
use libfuzzer_sys::fuzz_target;

/// Reads the input front to back; zeros once it is exhausted.
struct Bytes<'a>(&'a [u8]);

impl Bytes<'_> {
    fn u8(&mut self) -> u8 {
        match self.0.split_first() {
            Some((&b, rest)) => {
                self.0 = rest;
                b
            }
            None => 0,
        }
    }
    fn u16(&mut self) -> u16 {
        u16::from_le_bytes([self.u8(), self.u8()])
    }
    fn u64(&mut self) -> u64 {
        let mut b = [0u8; 8];
        b.iter_mut().for_each(|x| *x = self.u8());
        u64::from_le_bytes(b)
    }
}

/// Element types built from raw little-endian bytes.
trait FuzzElem: Element {
    fn from_le(b: &[u8]) -> Self;
}

impl FuzzElem for f32 {
    fn from_le(b: &[u8]) -> f32 {
        f32::from_bits(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }
}
impl FuzzElem for f64 {
    fn from_le(b: &[u8]) -> f64 {
        let mut a = [0u8; 8];
        a.copy_from_slice(&b[..8]);
        f64::from_bits(u64::from_le_bytes(a))
    }
}
impl FuzzElem for half::f16 {
    fn from_le(b: &[u8]) -> half::f16 {
        half::f16::from_bits(u16::from_le_bytes([b[0], b[1]]))
    }
}
impl FuzzElem for half::bf16 {
    fn from_le(b: &[u8]) -> half::bf16 {
        half::bf16::from_bits(u16::from_le_bytes([b[0], b[1]]))
    }
}

/// Parameters worth hitting on purpose (selected by a flag), besides raw f64 bits.
const PARAMS: [f64; 16] = [
    6.0,
    0.01,
    0.0,
    -0.0,
    1.0,
    f64::INFINITY,
    1e-40,
    5e-324,
    65504.0,
    65520.0,
    3.4e38,
    f64::MAX,
    1e-8,
    0.5,
    f64::NAN,
    -1.0,
];

/// Values decoded from one byte each (flag): the kinks and specials.
fn special<T: Element>(b: u8, p: f64) -> T {
    let v = match b % 16 {
        0 => 0.0,
        1 => -0.0,
        2 => f64::INFINITY,
        3 => f64::NEG_INFINITY,
        4 => f64::NAN,
        5 => -f64::NAN,
        6 => p,
        7 => -p,
        8 => 1.0,
        9 => -1.0,
        10 => 5e-324,
        11 => -1e-40,
        12 => f64::MAX,
        13 => f64::MIN,
        14 => p * (1.0 + f64::EPSILON),
        _ => p * (1.0 - f64::EPSILON),
    };
    T::from_f64(v)
}

/// Inputs repeat with this period: lengths up to 2047 (the fuzzed part) are one
/// period; the long threaded lengths repeat it, so their oracle output is computed
/// for one period and tiled, and checked with byte comparisons (cheap under ASan).
const PERIOD: usize = 2048;

fn tile<T: Copy>(base: &[T], len: usize) -> Vec<T> {
    let mut v = Vec::with_capacity(len);
    while v.len() < len {
        let k = (len - v.len()).min(base.len());
        v.extend_from_slice(&base[..k]);
    }
    v
}

fn make<T: FuzzElem>(data: &[u8], len: usize, specials: bool, p: f64, salt: usize) -> Vec<T> {
    let sz = size_of::<T>();
    let base: Vec<T> = (0..len.min(PERIOD))
        .map(|i| {
            if data.is_empty() {
                T::from_f64(i as f64 - 3.0)
            } else if specials {
                special(data[(i + salt) % data.len()], p)
            } else {
                let mut b = [0u8; 8];
                for (k, x) in b.iter_mut().take(sz).enumerate() {
                    *x = data[(i * sz + k + salt) % data.len()];
                }
                T::from_le(&b)
            }
        })
        .collect();
    tile(&base, len)
}

fn pool() -> &'static rayon::ThreadPool {
    static POOL: OnceLock<rayon::ThreadPool> = OnceLock::new();
    POOL.get_or_init(|| {
        rayon::ThreadPoolBuilder::new()
            .num_threads(3)
            .build()
            .unwrap()
    })
}

/// The shortest power-of-two length that `Threads::Auto` splits across the pool for
/// element type `ty` (the parallel threshold is set to 0 in this process, so only the
/// minimum chunk size decides), plus 3 so the last chunk is ragged.
fn split_len(ty: u8) -> usize {
    fn find<T: Element>() -> usize {
        let k = Kernel::new(Activation::relu());
        pool().install(|| {
            let mut n = 1usize << 10;
            while k.pieces::<T>(n) < 2 && n < 1 << 26 {
                n *= 2;
            }
            n + 3
        })
    }
    static LENS: OnceLock<[usize; 4]> = OnceLock::new();
    LENS.get_or_init(|| {
        caffe2op_relu::tuning::set_parallel_min_bytes(0);
        [
            find::<f32>(),
            find::<f64>(),
            find::<half::f16>(),
            find::<half::bf16>(),
        ]
    })[ty as usize % 4]
}

struct Case {
    op: Op,
    backward: bool,
    isa: Isa,
    mode: u8,
    threads: Threads,
    one_liner: bool,
    param: f64,
    len: usize,
    off: usize,
    gap: usize,
    specials: bool,
}

const SENTINEL: f64 = -1234.5;

fn bytes<T: Element>(v: &[T]) -> &[u8] {
    bytemuck::cast_slice(v)
}

/// Checks `buf` equals `orig` outside `[start, start + want.len())` and, bit for bit,
/// `want` inside it.
fn check_window<T: Element>(buf: &[T], orig: &[T], start: usize, want: Option<&[T]>) {
    let n = want.map_or(0, <[T]>::len);
    assert!(
        bytes(&buf[..start]) == bytes(&orig[..start]),
        "wrote before the output"
    );
    assert!(
        bytes(&buf[start + n..]) == bytes(&orig[start + n..]),
        "wrote after the output"
    );
    if let Some(want) = want {
        let got = &buf[start..start + n];
        if bytes(got) != bytes(want) {
            let i = (0..n)
                .find(|&i| got[i].to_bits() != want[i].to_bits())
                .unwrap();
            panic!("element {i} of {n} = {:?}, oracle {:?}", got[i], want[i]);
        }
    }
}

fn forward_case<T: FuzzElem>(c: &Case, data: &[u8]) {
    let act = Activation::new(c.op, c.param);
    let x: Vec<T> = make(data, c.len, c.specials, c.param, 0);
    let n = c.len;
    let slack = 8;
    let sentinel = T::from_f64(SENTINEL);
    let act = match act {
        Ok(a) => a,
        Err(e) => {
            // Refused as given: only the one-liners can even be called with it.
            let mut y = vec![sentinel; n];
            let r = match c.op {
                Op::Relu => unreachable!("relu has no parameter"),
                Op::ReluN => caffe2op_relu::relu_n(&x, &mut y, c.param),
                Op::LeakyRelu => caffe2op_relu::leaky_relu(&x, &mut y, c.param),
                Op::Clip => caffe2op_relu::clip(&x, &mut y, c.param, c.param),
            };
            assert_eq!(format!("{:?}", r), format!("{:?}", Err::<(), _>(e)));
            assert!(y.iter().all(|v| v.to_bits() == sentinel.to_bits()));
            return;
        }
    };
    let k = Kernel::new(act)
        .with_isa(c.isa)
        .unwrap()
        .with_threads(c.threads);
    // The parameter is checked for T even when there are no elements.
    let expect: Result<Vec<T>, Error> = act.oracle_forward(T::from_f64(0.0)).and_then(|_| {
        let one: Vec<T> = x[..n.min(PERIOD)]
            .iter()
            .map(|&v| act.oracle_forward(v))
            .collect::<Result<_, _>>()?;
        Ok(tile(&one, n))
    });
    let mode = c.mode % 6;
    let mut buf = vec![sentinel; c.off + 2 * n + c.gap + slack];
    let orig = buf.clone();
    let (r, start) = match mode {
        0 => {
            let y = &mut buf[c.off..c.off + n];
            let r = if c.one_liner {
                match c.op {
                    Op::Relu => caffe2op_relu::relu(&x, y),
                    Op::ReluN => caffe2op_relu::relu_n(&x, y, c.param),
                    Op::LeakyRelu => caffe2op_relu::leaky_relu(&x, y, c.param),
                    Op::Clip => caffe2op_relu::clip(&x, y, c.param, c.param),
                }
            } else {
                k.forward(&x, y)
            };
            (r, c.off)
        }
        1 => {
            buf[c.off..c.off + n].copy_from_slice(&x);
            let before = buf.clone();
            let y = &mut buf[c.off..c.off + n];
            let r = if c.one_liner {
                match c.op {
                    Op::Relu => {
                        caffe2op_relu::relu_in_place(y);
                        Ok(())
                    }
                    Op::ReluN => caffe2op_relu::relu_n_in_place(y, c.param),
                    Op::LeakyRelu => caffe2op_relu::leaky_relu_in_place(y, c.param),
                    Op::Clip => caffe2op_relu::clip_in_place(y, c.param, c.param),
                }
            } else {
                k.forward_in_place(y)
            };
            return finish(r, &expect, &buf, &before, c.off);
        }
        2 => {
            buf[c.off..c.off + n].copy_from_slice(&x);
            let before = buf.clone();
            let r = {
                let cells = Cell::from_mut(&mut buf[c.off..c.off + n]).as_slice_of_cells();
                k.forward_aliased(cells, cells)
            };
            return finish(r, &expect, &buf, &before, c.off);
        }
        3 | 4 => {
            // x and y in one buffer, disjoint, `gap` apart (x first or y first).
            let (xs, ys) = if c.gap.is_multiple_of(2) {
                (c.off, c.off + n + c.gap)
            } else {
                (c.off + n + c.gap, c.off)
            };
            buf[xs..xs + n].copy_from_slice(&x);
            let before = buf.clone();
            let r = if mode == 3 {
                let cells = Cell::from_mut(&mut buf[..]).as_slice_of_cells();
                k.forward_aliased(&cells[xs..xs + n], &cells[ys..ys + n])
            } else {
                let p = buf.as_mut_ptr();
                // SAFETY: both ranges lie inside `buf` and are disjoint; nothing else
                // accesses `buf` during the call.
                unsafe { k.forward_raw(p.add(xs), p.add(ys), n) }
            };
            return finish(r, &expect, &buf, &before, ys);
        }
        _ => {
            // Length mismatch: y one longer (or one shorter when possible).
            let m = if n > 0 && c.gap % 2 == 1 {
                n - 1
            } else {
                n + 1
            };
            let r = k.forward(&x, &mut buf[c.off..c.off + m]);
            assert_eq!(
                r,
                Err(Error::LengthMismatch {
                    arg: "y",
                    expected: n,
                    found: m
                })
            );
            check_window(&buf, &orig, 0, None);
            return;
        }
    };
    finish(r, &expect, &buf, &orig, start);
}

/// Ok: `buf` is `before` with the oracle's output at `start`; Err: the oracle's error
/// and `buf` untouched.
fn finish<T: Element>(
    r: Result<(), Error>,
    expect: &Result<Vec<T>, Error>,
    buf: &[T],
    before: &[T],
    start: usize,
) {
    match (r, expect) {
        (Ok(()), Ok(want)) => check_window(buf, before, start, Some(want.as_slice())),
        (Err(e), Err(want)) => {
            assert_eq!(format!("{e:?}"), format!("{want:?}"));
            check_window(buf, before, 0, None);
        }
        (r, want) => panic!("call gave {r:?}, oracle {:?}", want.as_ref().map(|_| ())),
    }
}

fn backward_case<T: FuzzElem>(c: &Case, data: &[u8]) {
    let Ok(act) = Activation::new(c.op, c.param) else {
        // Refused as given: the one-liners refuse too and write nothing.
        let y: Vec<T> = make(data, c.len, c.specials, c.param, 0);
        let sentinel = T::from_f64(SENTINEL);
        let mut dx = vec![sentinel; c.len];
        let r = match c.op {
            Op::Relu => unreachable!(),
            Op::ReluN => caffe2op_relu::relu_n_grad(&y, &y, &mut dx, c.param),
            Op::LeakyRelu => caffe2op_relu::leaky_relu_grad(&y, &y, &mut dx, c.param),
            Op::Clip => caffe2op_relu::clip_grad(&y, &y, &mut dx, c.param, c.param),
        };
        assert!(matches!(r, Err(Error::InvalidParameter { .. })), "{r:?}");
        assert!(dx.iter().all(|v| v.to_bits() == sentinel.to_bits()));
        return;
    };
    let k = Kernel::new(act)
        .with_isa(c.isa)
        .unwrap()
        .with_threads(c.threads);
    let n = c.len;
    let y: Vec<T> = make(data, n, c.specials, c.param, 0);
    let dy: Vec<T> = make(data, n, c.specials, 1.0, 7);
    let zero = T::from_f64(0.0);
    let oracle = |ys: &[T], ds: &[T]| -> Result<Vec<T>, Error> {
        // The parameter is checked for T even when there are no elements.
        act.oracle_backward(zero, zero)?;
        let p = ys.len().min(PERIOD);
        let one: Vec<T> = ys[..p]
            .iter()
            .zip(&ds[..p])
            .map(|(&a, &b)| act.oracle_backward(a, b))
            .collect::<Result<_, _>>()?;
        Ok(tile(&one, ys.len()))
    };
    let expect = oracle(&y, &dy);
    let sentinel = T::from_f64(SENTINEL);
    // Three regions in one buffer: y at ys, dy at ds, dx at xs (as the mode says).
    let (ys, ds, xs) = (c.off, c.off + n + c.gap, c.off + 2 * (n + c.gap));
    let mut buf = vec![sentinel; c.off + 3 * (n + c.gap) + 8];
    buf[ys..ys + n].copy_from_slice(&y);
    buf[ds..ds + n].copy_from_slice(&dy);
    let before = buf.clone();
    match c.mode % 8 {
        0 => {
            let mut dx = vec![sentinel; n];
            let r = if c.one_liner {
                match c.op {
                    Op::Relu => caffe2op_relu::relu_grad(&y, &dy, &mut dx),
                    Op::ReluN => caffe2op_relu::relu_n_grad(&y, &dy, &mut dx, c.param),
                    Op::LeakyRelu => caffe2op_relu::leaky_relu_grad(&y, &dy, &mut dx, c.param),
                    Op::Clip => caffe2op_relu::clip_grad(&y, &dy, &mut dx, c.param, c.param),
                }
            } else {
                k.backward(&y, &dy, &mut dx)
            };
            finish(r, &expect, &dx, &vec![sentinel; n], 0);
        }
        1 => {
            let (yb, rest) = buf.split_at_mut(ds);
            let r = if c.one_liner && c.op == Op::Relu {
                caffe2op_relu::relu_grad_in_place(&yb[ys..ys + n], &mut rest[..n])
            } else {
                k.backward_in_place(&yb[ys..ys + n], &mut rest[..n])
            };
            finish(r, &expect, &buf, &before, ds);
        }
        m @ 2..=6 => {
            // Through the cells path (2..=5) or the raw path (6).
            let (yi, di, xi) = match m {
                2 => (ys, ds, ds), // dx = dy
                3 => (ys, ds, ys), // dx = y
                4 => (ds, ds, xs), // y = dy, dx disjoint
                _ => (ys, ds, xs), // all disjoint
            };
            let expect = if m == 4 { oracle(&dy, &dy) } else { expect };
            let r = if m == 6 {
                let p = buf.as_mut_ptr();
                // SAFETY: the three ranges lie inside `buf`, pairwise disjoint; nothing
                // else accesses `buf` during the call.
                unsafe { k.backward_raw(p.add(yi), p.add(di), p.add(xi), n) }
            } else {
                let cells = Cell::from_mut(&mut buf[..]).as_slice_of_cells();
                k.backward_aliased(&cells[yi..yi + n], &cells[di..di + n], &cells[xi..xi + n])
            };
            finish(r, &expect, &buf, &before, xi);
        }
        _ => {
            let m = if n > 0 && c.gap % 2 == 1 {
                n - 1
            } else {
                n + 1
            };
            let mut dx = vec![sentinel; m];
            let r = k.backward(&y, &dy, &mut dx);
            let want = Error::LengthMismatch {
                arg: "dx",
                expected: n,
                found: m,
            };
            assert_eq!(r, Err(want));
            assert!(dx.iter().all(|v| v.to_bits() == sentinel.to_bits()));
            if n > 0 {
                let mut dx = vec![sentinel; n];
                let r = k.backward(&y, &dy[..n - 1], &mut dx);
                let want = Error::LengthMismatch {
                    arg: "dy",
                    expected: n,
                    found: n - 1,
                };
                assert_eq!(r, Err(want));
                assert!(dx.iter().all(|v| v.to_bits() == sentinel.to_bits()));
            }
        }
    }
}

/// `n` input bytes: the fuzzer's data repeated, or 0, 1, 2, ... when it gave none.
fn byte_input(n: usize, data: &[u8]) -> Vec<u8> {
    (0..n)
        .map(|i| {
            if data.is_empty() {
                i as u8
            } else {
                data[i % data.len()]
            }
        })
        .collect()
}

fn int8_case(c: &Case, data: &[u8]) {
    let n = c.len;
    let zp = (c.param.to_bits() >> 3) as u8;
    let x = byte_input(n, data);
    let want: Vec<u8> = x
        .iter()
        .map(|&v| caffe2op_relu::int8_relu_oracle(v, zp))
        .collect();
    match c.mode % 3 {
        0 => {
            let mut y = vec![0xA5u8; n];
            caffe2op_relu::int8_relu_with_isa(&x, &mut y, zp, c.isa).unwrap();
            assert_eq!(y, want);
        }
        1 => {
            let mut y = x.clone();
            if c.one_liner {
                caffe2op_relu::int8_relu_in_place(&mut y, zp);
            } else {
                caffe2op_relu::int8_relu_in_place_with_isa(&mut y, zp, c.isa).unwrap();
            }
            assert_eq!(y, want);
        }
        _ => {
            let mut y = vec![0xA5u8; n + 1];
            let r = caffe2op_relu::int8_relu(&x, &mut y, zp);
            assert_eq!(
                r,
                Err(Error::LengthMismatch {
                    arg: "y",
                    expected: n,
                    found: n + 1
                })
            );
            assert!(y.iter().all(|&v| v == 0xA5));
        }
    }
}

/// Int8LeakyRelu with parameters drawn from the case (always valid ones) against its
/// table, out of place and in place, on the case's ISA and threads.
fn int8_leaky_case(c: &Case, data: &[u8]) {
    let n = c.len;
    let bits = c.param.to_bits();
    let alpha = ((bits >> 8) % 1000 + 1) as f32 / 1000.0;
    let sx = ((bits >> 20) % 5000 + 1) as f32 / 997.0;
    let sy = sx * ((bits >> 36) % 400 + 10) as f32 / 100.0;
    let xq = QuantParams {
        scale: sx,
        zero_point: bits as u8,
    };
    let yq = QuantParams {
        scale: sy,
        zero_point: (bits >> 56) as u8,
    };
    let op = Int8LeakyRelu::new(alpha, xq, yq).expect("valid parameters");
    let x = byte_input(n, data);
    let want: Vec<u8> = x.iter().map(|&v| op.table()[usize::from(v)]).collect();
    if c.mode % 2 == 0 {
        let mut y = vec![0xA5u8; n];
        op.forward_with(&x, &mut y, c.isa, c.threads).unwrap();
        assert_eq!(y, want);
    } else {
        let mut y = x.clone();
        op.forward_in_place_with(&mut y, c.isa, c.threads).unwrap();
        assert_eq!(y, want);
    }
}

fuzz_target!(|input: &[u8]| {
    split_len(0); // sets the parallel threshold to 0 on the first input
    let mut b = Bytes(input);
    let func = b.u8() % 8;
    let ty = b.u8() % 4;
    let isas = Isa::available();
    let isa = isas[b.u8() as usize % isas.len()];
    let mode = b.u8();
    let flags = b.u8();
    let raw_param = b.u64();
    let len = b.u16() as usize % 2048;
    let off_byte = b.u8();
    let off = off_byte as usize % 64;
    let gap = b.u8() as usize % 70;
    let data = b.0;

    let param = if flags & 0x10 != 0 {
        PARAMS[raw_param as usize % PARAMS.len()]
    } else {
        f64::from_bits(raw_param)
    };
    let op = Op::ALL[func as usize % Op::ALL.len()];
    // "big" (1 input in 32; each costs ~100 small ones): long enough for
    // Threads::Auto to split the call.
    let len = if flags & 0xC2 == 0xC2 && off_byte >> 6 == 3 {
        len + split_len(ty)
    } else {
        len
    };
    let c = Case {
        op,
        backward: (3..6).contains(&func),
        isa,
        mode,
        threads: if flags & 0x01 != 0 {
            Threads::Auto
        } else {
            Threads::Serial
        },
        one_liner: flags & 0x08 != 0,
        param,
        len,
        off,
        gap,
        specials: flags & 0x20 != 0,
    };
    let old = caffe2op_relu::tuning::stream_min_bytes();
    if flags & 0x04 != 0 {
        caffe2op_relu::tuning::set_stream_min_bytes(0);
    }
    pool().install(|| {
        if func == 6 {
            int8_case(&c, data);
        } else if func == 7 {
            int8_leaky_case(&c, data);
        } else {
            match (ty, c.backward) {
                (0, false) => forward_case::<f32>(&c, data),
                (1, false) => forward_case::<f64>(&c, data),
                (2, false) => forward_case::<half::f16>(&c, data),
                (_, false) => forward_case::<half::bf16>(&c, data),
                (0, true) => backward_case::<f32>(&c, data),
                (1, true) => backward_case::<f64>(&c, data),
                (2, true) => backward_case::<half::f16>(&c, data),
                (_, true) => backward_case::<half::bf16>(&c, data),
            }
        }
    });
    caffe2op_relu::tuning::set_stream_min_bytes(old);
});
