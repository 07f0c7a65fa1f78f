//! The aliasing-checked paths (`forward_raw`/`backward_raw` and the `&[Cell<T>]`
//! twins) with arbitrary, possibly overlapping ranges inside one buffer, plus null and
//! misaligned pointers. The expected outcome is computed here from the element
//! indices alone: Ok (and the oracle's result, everything else in the buffer
//! untouched) exactly when the output range equals or misses each input range;
//! otherwise exactly `Error::Overlap` for the first offending pair, and nothing
//! written. Null and misaligned pointers are refused first, in argument order.
#![no_main]

use std::cell::Cell;

use caffe2op_relu::{Activation, Element, Error, Isa, Kernel, Op, Threads};
use libfuzzer_sys::fuzz_target;

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
}

trait FuzzElem: Element {
    fn from_u64(v: u64) -> Self;
}
impl FuzzElem for f32 {
    fn from_u64(v: u64) -> f32 {
        f32::from_bits(v as u32)
    }
}
impl FuzzElem for f64 {
    fn from_u64(v: u64) -> f64 {
        f64::from_bits(v)
    }
}
impl FuzzElem for half::f16 {
    fn from_u64(v: u64) -> half::f16 {
        half::f16::from_bits(v as u16)
    }
}
impl FuzzElem for half::bf16 {
    fn from_u64(v: u64) -> half::bf16 {
        half::bf16::from_bits(v as u16)
    }
}

/// splitmix64, seeded from the input: the buffer's contents.
fn fill<T: FuzzElem>(seed: u64, n: usize) -> Vec<T> {
    let mut s = seed;
    (0..n)
        .map(|i| {
            s = s.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut z = s;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            z ^= z >> 31;
            match i % 5 {
                0 => T::from_f64((z % 17) as f64 - 8.0),
                1 => T::from_f64(if z.is_multiple_of(2) { -0.0 } else { 0.0 }),
                _ => T::from_u64(z),
            }
        })
        .collect()
}

fn bits<T: Element>(v: &[T]) -> Vec<T::Bits> {
    v.iter().map(|x| x.to_bits()).collect()
}

/// Whether `[s, s+len)` may be the output `[o, o+len)`'s input: same or disjoint.
fn allowed(s: usize, o: usize, len: usize) -> bool {
    s == o || s + len <= o || o + len <= s
}

#[derive(Clone, Copy)]
enum Bad {
    None,
    Null(usize),
    Misaligned(usize),
}

fn case<T: FuzzElem>(
    k: &Kernel,
    backward: bool,
    r: [usize; 3],
    len: usize,
    total: usize,
    bad: Bad,
    seed: u64,
) {
    let orig: Vec<T> = fill(seed, total);
    let act = k.activation();
    let sz = size_of::<T>();
    let [a, c, o] = r; // input y/x at a, dy at c, output at o

    // The raw path.
    let mut buf = orig.clone();
    let base = buf.as_mut_ptr();
    let mut ptrs: Vec<*mut T> = [a, c, o].iter().map(|&i| base.wrapping_add(i)).collect();
    let names: &[&str] = if backward {
        &["y", "dy", "dx"]
    } else {
        &["x", "y"]
    };
    let mut expect_bad = None;
    match bad {
        Bad::None => {}
        Bad::Null(i) => {
            let i = i % names.len();
            ptrs[if backward || i == 0 { i } else { 2 }] = std::ptr::null_mut();
            expect_bad = Some(Error::NullPointer { arg: names[i] });
        }
        Bad::Misaligned(i) if align_of::<T>() > 1 => {
            let i = i % names.len();
            let slot = if backward || i == 0 { i } else { 2 };
            let p = ptrs[slot].cast::<u8>().wrapping_add(1).cast::<T>();
            ptrs[slot] = p;
            expect_bad = Some(Error::Misaligned {
                arg: names[i],
                addr: p as usize,
                align: align_of::<T>(),
            });
        }
        Bad::Misaligned(_) => {}
    }
    let addr = |i: usize| base as usize + i * sz;
    // The expected outcome, from indices alone.
    let overlap = if !allowed(a, o, len) {
        Some(Error::Overlap {
            input: names[0],
            output: if backward { "dx" } else { "y" },
            input_addr: addr(a),
            output_addr: addr(o),
            len,
        })
    } else if backward && !allowed(c, o, len) {
        Some(Error::Overlap {
            input: "dy",
            output: "dx",
            input_addr: addr(c),
            output_addr: addr(o),
            len,
        })
    } else {
        None
    };
    let param_err = if backward {
        act.oracle_backward(T::from_f64(1.0), T::from_f64(1.0))
            .err()
    } else {
        act.oracle_forward(T::from_f64(1.0)).err()
    };
    let expect_err = expect_bad.clone().or(overlap.clone()).or(param_err.clone());
    let mut want = orig.clone();
    if expect_err.is_none() {
        for i in 0..len {
            want[o + i] = if backward {
                act.oracle_backward(orig[a + i], orig[c + i]).unwrap()
            } else {
                act.oracle_forward(orig[a + i]).unwrap()
            };
        }
    }
    // SAFETY: non-null, aligned pointers point at ranges of `len` elements inside
    // `buf` (the harness keeps every start + len <= total), which nothing else
    // accesses during the call; a null or misaligned pointer is refused before any
    // access.
    let got = unsafe {
        if backward {
            k.backward_raw(ptrs[0], ptrs[1], ptrs[2], len)
        } else {
            k.forward_raw(ptrs[0], ptrs[2], len)
        }
    };
    match (&got, &expect_err) {
        (Ok(()), None) => {}
        (Err(e), Some(w)) => assert_eq!(format!("{e:?}"), format!("{w:?}")),
        _ => panic!("raw: got {got:?}, expected {expect_err:?} (a={a} c={c} o={o} len={len})"),
    }
    assert!(
        bits(&buf) == bits(&want),
        "raw: buffer differs (a={a} c={c} o={o} len={len})"
    );

    // The same ranges through the safe cells path (no bad pointers there).
    let mut buf = orig.clone();
    let got = {
        let cells = Cell::from_mut(&mut buf[..]).as_slice_of_cells();
        let (x, d, y) = (&cells[a..a + len], &cells[c..c + len], &cells[o..o + len]);
        if backward {
            k.backward_aliased(x, d, y)
        } else {
            k.forward_aliased(x, y)
        }
    };
    let expect_err = overlap.or(param_err);
    let mut want = orig.clone();
    if expect_err.is_none() {
        for i in 0..len {
            want[o + i] = if backward {
                act.oracle_backward(orig[a + i], orig[c + i]).unwrap()
            } else {
                act.oracle_forward(orig[a + i]).unwrap()
            };
        }
    }
    match (&got, &expect_err) {
        (Ok(()), None) => {}
        (
            Err(Error::Overlap {
                input,
                output,
                len: l,
                ..
            }),
            Some(Error::Overlap {
                input: wi,
                output: wo,
                len: wl,
                ..
            }),
        ) => {
            // The cells path reports the same pair (its addresses are of `buf`'s copy).
            assert_eq!((input, output, l), (wi, wo, wl));
        }
        (Err(e), Some(w)) => assert_eq!(format!("{e:?}"), format!("{w:?}")),
        _ => panic!("cells: got {got:?}, expected {expect_err:?}"),
    }
    assert!(bits(&buf) == bits(&want), "cells: buffer differs");
}

const PARAMS: [f64; 6] = [6.0, 0.01, 1e-40, 3.4e38, 65520.0, 0.5];

fuzz_target!(|input: &[u8]| {
    let mut b = Bytes(input);
    let sel = b.u8();
    let backward = sel & 1 != 0;
    let op = Op::ALL[(sel as usize >> 1) % Op::ALL.len()];
    let ty = (sel >> 3) % 4;
    let isas = Isa::available();
    let isa = isas[b.u8() as usize % isas.len()];
    let param = PARAMS[b.u8() as usize % PARAMS.len()];
    let total = 1 + b.u16() as usize % 320;
    let len = b.u16() as usize % (total + 1);
    let room = total - len + 1;
    let r = [
        b.u16() as usize % room,
        b.u16() as usize % room,
        b.u16() as usize % room,
    ];
    let badsel = b.u8();
    let bad = match badsel % 8 {
        6 => Bad::Null((badsel >> 3) as usize),
        7 => Bad::Misaligned((badsel >> 3) as usize),
        _ => Bad::None,
    };
    let seed = u64::from(b.u16()) | u64::from(b.u16()) << 16;
    let Ok(act) = Activation::new(op, param) else {
        return;
    };
    let k = Kernel::new(act)
        .with_isa(isa)
        .unwrap()
        .with_threads(if badsel & 0x40 != 0 {
            Threads::Auto
        } else {
            Threads::Serial
        });
    match ty {
        0 => case::<f32>(&k, backward, r, len, total, bad, seed),
        1 => case::<f64>(&k, backward, r, len, total, bad, seed),
        2 => case::<half::f16>(&k, backward, r, len, total, bad, seed),
        _ => case::<half::bf16>(&k, backward, r, len, total, bad, seed),
    }
});
