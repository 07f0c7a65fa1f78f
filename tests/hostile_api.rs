//! Hostile inputs to the safe API (`Kernel`, the free functions, the `&[Cell<T>]`
//! and raw-pointer entry points): zero-length calls of every kind, null and
//! misaligned pointers, overlapping ranges, activation parameters at every rounding
//! edge of every element type, and a zero parallel threshold with extreme lengths.
//!
//! A refusal must be the exact `Error` value and leave every output as it was; an
//! accepted call must match the scalar oracle bit for bit, on every available ISA,
//! serial and threaded.

mod common;

use std::cell::Cell;
use std::ptr::NonNull;

use caffe2op_relu::{Activation, Element, Error, Isa, Kernel, Op};
use common::{Rng, TestElem, bits, in_pool, values};

/// Every available ISA, serial and threaded.
fn kernels(act: Activation) -> Vec<Kernel> {
    Isa::available()
        .into_iter()
        .flat_map(|i| {
            let k = Kernel::new(act).with_isa(i).unwrap();
            [k, k.with_threads(caffe2op_relu::Threads::Serial)]
        })
        .collect()
}

// ---------------------------------------------------------------------------------
// Zero-length everything
// ---------------------------------------------------------------------------------

fn zero_length_slices<T: TestElem>() -> usize {
    let mut calls = 0;
    let acts = [
        Activation::relu(),
        Activation::relu6(),
        Activation::leaky_relu(0.01).unwrap(),
    ];
    for act in acts {
        for k in kernels(act) {
            let e: [T; 0] = [];
            let mut m: [T; 0] = [];
            let mut m2: [T; 0] = [];
            k.forward(&e, &mut m).unwrap();
            k.forward_in_place(&mut m).unwrap();
            k.backward(&e, &e, &mut m).unwrap();
            k.backward_in_place(&e, &mut m).unwrap();
            let c = Cell::from_mut(&mut m[..]).as_slice_of_cells();
            let c2 = Cell::from_mut(&mut m2[..]).as_slice_of_cells();
            k.forward_aliased(c, c).unwrap();
            k.forward_aliased(c, c2).unwrap();
            k.backward_aliased(c, c, c).unwrap();
            k.backward_aliased(c, c2, c2).unwrap();
            let d = NonNull::<T>::dangling().as_ptr();
            // SAFETY: a dangling, aligned, non-null pointer is valid for 0 reads and
            // writes; nothing else accesses it.
            unsafe {
                k.forward_raw(d, d, 0).unwrap();
                k.backward_raw(d, d, d, 0).unwrap();
            }
            // Length mismatches against an empty input are still refused.
            let mut one = [T::from_f64(5.0)];
            assert_eq!(
                k.forward(&e, &mut one).unwrap_err(),
                Error::LengthMismatch {
                    arg: "y",
                    expected: 0,
                    found: 1
                }
            );
            assert_eq!(one[0].to_bits(), T::from_f64(5.0).to_bits());
            calls += 11;
        }
    }
    calls
}

#[test]
fn zero_length_slices_every_isa_type_and_mode() {
    let n = zero_length_slices::<f32>()
        + zero_length_slices::<f64>()
        + zero_length_slices::<half::f16>()
        + zero_length_slices::<half::bf16>();
    assert_eq!(n, 4 * 3 * 2 * Isa::available().len() * 11);

    let (e, mut m) = ([0f32; 0], [0f32; 0]);
    caffe2op_relu::relu(&e, &mut m).unwrap();
    caffe2op_relu::relu_in_place(&mut m);
    caffe2op_relu::relu_n(&e, &mut m, 6.0).unwrap();
    caffe2op_relu::relu_n_in_place(&mut m, 6.0).unwrap();
    caffe2op_relu::leaky_relu(&e, &mut m, 0.01).unwrap();
    caffe2op_relu::leaky_relu_in_place(&mut m, 0.01).unwrap();
    caffe2op_relu::relu_grad(&e, &e, &mut m).unwrap();
    caffe2op_relu::relu_grad_in_place(&e, &mut m).unwrap();
    caffe2op_relu::relu_n_grad(&e, &e, &mut m, 6.0).unwrap();
    caffe2op_relu::leaky_relu_grad(&e, &e, &mut m, 0.01).unwrap();
    for isa in Isa::available() {
        let (e, mut m) = ([0u8; 0], [0u8; 0]);
        caffe2op_relu::int8_relu_with_isa(&e, &mut m, 7, isa).unwrap();
        caffe2op_relu::int8_relu_in_place_with_isa(&mut m, 7, isa).unwrap();
    }
    caffe2op_relu::int8_relu(&[], &mut [], 3).unwrap();
    caffe2op_relu::int8_relu_in_place(&mut [], 3);
    assert_eq!(Kernel::new(Activation::relu()).pieces::<f32>(0), 1);
}

/// Null pointers are refused whatever the length (even 0).
#[test]
fn null_pointers_are_refused_at_any_length() {
    let k = Kernel::new(Activation::relu());
    let mut buf = [1.5f32; 4];
    let p = buf.as_mut_ptr();
    let null = std::ptr::null_mut::<f32>();
    for len in [0usize, 1, 4, usize::MAX] {
        // SAFETY: every call below passes a null pointer, which the raw API refuses
        // before touching any range (its contract asks nothing of a null pointer).
        unsafe {
            assert_eq!(
                k.forward_raw(null, p, len),
                Err(Error::NullPointer { arg: "x" })
            );
            assert_eq!(
                k.forward_raw(p, null, len),
                Err(Error::NullPointer { arg: "y" })
            );
            assert_eq!(
                k.backward_raw(null, p, p, len),
                Err(Error::NullPointer { arg: "y" })
            );
            assert_eq!(
                k.backward_raw(p, null, p, len),
                Err(Error::NullPointer { arg: "dy" })
            );
            assert_eq!(
                k.backward_raw(p, p, null, len),
                Err(Error::NullPointer { arg: "dx" })
            );
        }
    }
    assert_eq!(buf, [1.5f32; 4]);
}

// ---------------------------------------------------------------------------------
// Raw pointers: null, misaligned, overlapping
// ---------------------------------------------------------------------------------

/// Misaligned pointers, for every argument position and every misalignment, are
/// refused with the address and the alignment, and nothing is read or written.
fn misaligned<T: Element>() -> usize {
    let align = align_of::<T>();
    let mut backing = [0x5a5a_5a5a_5a5a_5a5au64; 8];
    let base = backing.as_mut_ptr().cast::<u8>();
    let good = base.cast::<T>();
    let mut n = 0;
    for k in kernels(Activation::leaky_relu(0.5).unwrap()) {
        for off in 1..align {
            // A pointer `off` bytes past an aligned one: never aligned for T.
            let bad = base.wrapping_add(off).cast::<T>();
            let mis = |arg| Error::Misaligned {
                arg,
                addr: bad as usize,
                align,
            };
            for len in [0usize, 1, 7] {
                // SAFETY: every call passes one misaligned pointer, refused before any
                // access; the aligned ones point into `backing` (64 bytes), enough for
                // 7 elements of any T, and nothing else accesses it.
                unsafe {
                    assert_eq!(k.forward_raw(bad, good, len), Err(mis("x")));
                    assert_eq!(k.forward_raw(good, bad, len), Err(mis("y")));
                    assert_eq!(k.backward_raw(bad, good, good, len), Err(mis("y")));
                    assert_eq!(k.backward_raw(good, bad, good, len), Err(mis("dy")));
                    assert_eq!(k.backward_raw(good, good, bad, len), Err(mis("dx")));
                    // A null pointer is reported before a misaligned one after it, and
                    // a misaligned one before a null one after it.
                    assert_eq!(
                        k.forward_raw(std::ptr::null(), bad, len),
                        Err(Error::NullPointer { arg: "x" })
                    );
                    assert_eq!(k.forward_raw(bad, std::ptr::null_mut(), len), Err(mis("x")));
                }
                n += 7;
            }
            // Misaligned with a length no allocation could have: still just refused.
            // SAFETY: refused before any access (misaligned).
            unsafe {
                assert_eq!(k.forward_raw(bad, good, usize::MAX), Err(mis("x")));
            }
        }
    }
    assert!(backing.iter().all(|&w| w == 0x5a5a_5a5a_5a5a_5a5a));
    n
}

#[test]
fn misaligned_pointers_are_refused() {
    let n = misaligned::<f32>()
        + misaligned::<f64>()
        + misaligned::<half::f16>()
        + misaligned::<half::bf16>();
    // (3 + 7 + 1 + 1) misalignments x 3 lengths x 7 calls per kernel.
    assert_eq!(n, 2 * Isa::available().len() * (3 + 7 + 1 + 1) * 3 * 7);
    // u8 has alignment 1: there is no misaligned u8 pointer.
}

/// Forward through the raw path with `x` at element `a` and `y` at element `b` of one
/// buffer: identical or disjoint ranges run (and match the oracle), anything else is
/// `Error::Overlap` naming both addresses, and the buffer is untouched.
fn raw_overlap_forward<T: TestElem>() -> usize {
    let mut rng = Rng(0x0e1a);
    let mut n = 0;
    for k in kernels(Activation::relu_n(2.5).unwrap()) {
        for len in [1usize, 2, 5, 16, 33] {
            let total = 3 * len + 8;
            for a in [0, len / 2, len + 3] {
                for b in 0..=(a + 2 * len).min(total - len) {
                    let orig: Vec<T> = values(&mut rng, total, 2.5);
                    let mut buf = orig.clone();
                    let p = buf.as_mut_ptr();
                    // SAFETY: [a, a+len) and [b, b+len) lie inside `buf`, which
                    // nothing else accesses during the call.
                    let r = unsafe { k.forward_raw(p.add(a), p.add(b), len) };
                    let disjoint = a + len <= b || b + len <= a;
                    if a == b || disjoint {
                        r.unwrap();
                        let mut expect = orig.clone();
                        for i in 0..len {
                            expect[b + i] = k.activation().oracle_forward(orig[a + i]).unwrap();
                        }
                        assert_eq!(bits(&buf), bits(&expect), "a={a} b={b} len={len}");
                    } else {
                        let esize = size_of::<T>();
                        assert_eq!(
                            r,
                            Err(Error::Overlap {
                                input: "x",
                                output: "y",
                                input_addr: p as usize + a * esize,
                                output_addr: p as usize + b * esize,
                                len
                            })
                        );
                        assert_eq!(bits(&buf), bits(&orig), "refusal wrote: a={a} b={b}");
                    }
                    n += 1;
                }
            }
        }
    }
    n
}

#[test]
fn overlapping_raw_forward_ranges() {
    let n = raw_overlap_forward::<f32>()
        + raw_overlap_forward::<f64>()
        + raw_overlap_forward::<half::f16>()
        + raw_overlap_forward::<half::bf16>();
    assert!(n > 1000, "{n}");
}

/// Backward through the raw path with `y`, `dy`, `dx` at arbitrary element offsets of
/// one buffer: runs exactly when `dx` equals or misses each of `y` and `dy` (which may
/// overlap each other freely), else `Error::Overlap` naming the first offending pair.
#[test]
fn overlapping_raw_backward_ranges() {
    let mut rng = Rng(0xbac0);
    let mut ran = 0;
    let mut refused = 0;
    for act in [
        Activation::relu(),
        Activation::relu_n(3.0).unwrap(),
        Activation::leaky_relu(0.25).unwrap(),
    ] {
        for k in kernels(act) {
            for len in [1usize, 3, 9, 20] {
                let total = 3 * len + 4;
                let starts: Vec<usize> = vec![0, 1, len - 1, len, len + 1, 2 * len, 2 * len + 4];
                for &a in &starts {
                    for &c in &starts {
                        for &b in &starts {
                            let orig: Vec<f32> = values(&mut rng, total, act.param());
                            let mut buf = orig.clone();
                            let p = buf.as_mut_ptr();
                            // SAFETY: every start is at most 2*len + 4, so each range of
                            // len elements lies inside `buf` (3*len + 4 elements).
                            let r = unsafe { k.backward_raw(p.add(a), p.add(c), p.add(b), len) };
                            let ok = |s: usize| s == b || s + len <= b || b + len <= s;
                            let addr = |s: usize| p as usize + 4 * s;
                            if ok(a) && ok(c) {
                                r.unwrap();
                                let mut expect = orig.clone();
                                for i in 0..len {
                                    expect[b + i] =
                                        act.oracle_backward(orig[a + i], orig[c + i]).unwrap();
                                }
                                assert_eq!(bits(&buf), bits(&expect), "y={a} dy={c} dx={b}");
                                ran += 1;
                            } else {
                                let (input, s) = if ok(a) { ("dy", c) } else { ("y", a) };
                                assert_eq!(
                                    r,
                                    Err(Error::Overlap {
                                        input,
                                        output: "dx",
                                        input_addr: addr(s),
                                        output_addr: addr(b),
                                        len
                                    }),
                                    "y={a} dy={c} dx={b} len={len}"
                                );
                                assert_eq!(bits(&buf), bits(&orig));
                                refused += 1;
                            }
                        }
                    }
                }
            }
        }
    }
    assert!(ran > 500 && refused > 500, "{ran} {refused}");
}

/// The same through the safe `&[Cell<T>]` path: partial overlaps refused, nothing
/// written, including when the parameter would also be refused (overlap is checked
/// first) and for every element type.
fn cells_overlap<T: TestElem>() {
    let bad_n = Activation::relu_n(1e-300).unwrap(); // 0 in every type but f64
    for act in [Activation::relu(), bad_n] {
        for k in kernels(act) {
            let orig: Vec<T> = values(&mut Rng(7), 40, 1.0);
            let mut buf = orig.clone();
            let c = Cell::from_mut(&mut buf[..]).as_slice_of_cells();
            for d in 1..16 {
                let e = k.forward_aliased(&c[0..16], &c[d..d + 16]).unwrap_err();
                assert!(matches!(e, Error::Overlap { len: 16, .. }), "{e:?}");
                let e = k.forward_aliased(&c[d..d + 16], &c[0..16]).unwrap_err();
                assert!(matches!(e, Error::Overlap { .. }), "{e:?}");
                let e = k
                    .backward_aliased(&c[0..16], &c[20..36], &c[d..d + 16])
                    .unwrap_err();
                assert!(
                    matches!(
                        e,
                        Error::Overlap {
                            input: "y",
                            output: "dx",
                            ..
                        }
                    ),
                    "{e:?}"
                );
                let e = k
                    .backward_aliased(&c[d..d + 16], &c[0..16], &c[d..d + 16])
                    .unwrap_err();
                assert!(
                    matches!(
                        e,
                        Error::Overlap {
                            input: "dy",
                            output: "dx",
                            ..
                        }
                    ),
                    "{e:?}"
                );
            }
            assert_eq!(bits(&buf), bits(&orig));
        }
    }
}

#[test]
fn overlapping_cells_every_type() {
    cells_overlap::<f32>();
    cells_overlap::<f64>();
    cells_overlap::<half::f16>();
    cells_overlap::<half::bf16>();
}

// ---------------------------------------------------------------------------------
// Parameters at every edge
// ---------------------------------------------------------------------------------

/// What a parameter value does for one element type.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Outcome {
    /// Accepted, and finite and valid once rounded to the type.
    Ok,
    /// Accepted and rounds to +inf in this type (relu_n then equals relu).
    OkInf,
    /// Refused for this type with this reason.
    Refused(&'static str),
}

use Outcome::{Ok as Y, OkInf as Inf, Refused as R};

const N0: Outcome = R("n must be > 0");
const AINF: Outcome = R("alpha must be finite");

/// `n` values and what they do in f64, f32, f16, bf16 (worked out from the formats:
/// f32 min subnormal 2^-149, f16 2^-24, bf16 2^-133; f16 max 65504, ties to even).
fn n_table() -> Vec<(f64, [Outcome; 4])> {
    let p = |e: i32| 2f64.powi(e);
    vec![
        (6.0, [Y, Y, Y, Y]),
        (5e-324, [Y, N0, N0, N0]),
        (1e-40, [Y, Y, N0, Y]),
        (p(-149), [Y, Y, N0, N0]),
        // Exactly half the f32 minimum: a tie, rounds to even (0): refused.
        (p(-150), [Y, N0, N0, N0]),
        // A hair above half: rounds up to the minimum subnormal.
        (p(-150) * (1.0 + p(-52)), [Y, Y, N0, N0]),
        (p(-134), [Y, Y, N0, N0]),
        (p(-134) * (1.0 + p(-40)), [Y, Y, N0, Y]),
        (p(-25), [Y, Y, N0, Y]),
        (p(-25) * (1.0 + p(-10)), [Y, Y, Y, Y]),
        (p(-24), [Y, Y, Y, Y]),
        (1e-8, [Y, Y, N0, Y]),
        (65504.0, [Y, Y, Y, Y]),
        // The tie between f16's max and 2^16: rounds to even, i.e. +inf. Allowed.
        (65520.0, [Y, Y, Inf, Y]),
        (1e39, [Y, Inf, Inf, Inf]),
        (f64::MAX, [Y, Inf, Inf, Inf]),
        (f64::INFINITY, [Inf, Inf, Inf, Inf]),
    ]
}

/// `alpha` values and what they do in f64, f32, f16, bf16.
fn alpha_table() -> Vec<(f64, [Outcome; 4])> {
    vec![
        (0.0, [Y, Y, Y, Y]),
        (-0.0, [Y, Y, Y, Y]),
        (5e-324, [Y, Y, Y, Y]),
        (1e-45, [Y, Y, Y, Y]),
        (0.01, [Y, Y, Y, Y]),
        (65504.0, [Y, Y, Y, Y]),
        (65519.99, [Y, Y, Y, Y]),
        (65520.0, [Y, Y, AINF, Y]),
        (3.0e38, [Y, Y, AINF, Y]),
        (3.4e38, [Y, Y, AINF, AINF]),
        (3.5e38, [Y, AINF, AINF, AINF]),
        (f64::MAX, [Y, AINF, AINF, AINF]),
    ]
}

/// Values refused as given (checked in f64 when the activation is built).
#[test]
fn parameters_refused_as_given() {
    for (n, reason) in [
        (0.0, "n must be > 0"),
        (-0.0, "n must be > 0"),
        (-5e-324, "n must be > 0"),
        (f64::NEG_INFINITY, "n must be > 0"),
        (f64::NAN, "n must not be NaN"),
        (-f64::NAN, "n must not be NaN"),
    ] {
        let e = Activation::relu_n(n).unwrap_err();
        match e {
            Error::InvalidParameter {
                name: "n",
                value,
                dtype: "f64",
                reason: r,
            } => {
                assert_eq!(value.to_bits(), n.to_bits());
                assert_eq!(r, reason);
            }
            other => panic!("{n}: {other:?}"),
        }
        let mut y = [1.0f32; 3];
        assert!(caffe2op_relu::relu_n(&[-1.0f32; 3], &mut y, n).is_err());
        assert_eq!(y, [1.0; 3]);
    }
    for (a, reason) in [
        (-5e-324, "alpha must be >= 0"),
        (-1.0, "alpha must be >= 0"),
        (f64::INFINITY, "alpha must be finite"),
        (f64::NEG_INFINITY, "alpha must be finite"),
        (f64::NAN, "alpha must not be NaN"),
    ] {
        let e = Activation::leaky_relu(a).unwrap_err();
        assert!(
            matches!(e, Error::InvalidParameter { name: "alpha", dtype: "f64", reason: r, .. } if r == reason),
            "{a}: {e:?}"
        );
        assert!(e.to_string().contains("alpha"), "{e}");
    }
}

/// One parameter on one element type: every ISA and every entry point either matches
/// the oracle bit for bit (and, for `n` that rounds to inf, equals relu) or returns
/// exactly the expected `InvalidParameter` and writes nothing.
fn param_case<T: TestElem>(act: Activation, outcome: Outcome) -> usize {
    let mut rng = Rng(act.param().to_bits());
    let mut x: Vec<T> = T::specials(act.param());
    x.extend(values::<T>(&mut rng, 97, act.param()));
    let dy: Vec<T> = values(&mut rng, x.len(), 1.0);
    let n = x.len();
    let fill = T::from_f64(77.0);
    let mut calls = 0;
    for k in kernels(act) {
        let mut outs: Vec<(&str, Result<(), Error>, Vec<T>)> = Vec::new();
        let mut y = vec![fill; n];
        outs.push(("forward", k.forward(&x, &mut y), y));
        let mut y = x.clone();
        let r = k.forward_in_place(&mut y);
        outs.push(("forward_in_place", r, y));
        let mut y = x.clone();
        let r = {
            let c = Cell::from_mut(&mut y[..]).as_slice_of_cells();
            k.forward_aliased(c, c)
        };
        outs.push(("forward_aliased", r, y));
        let mut y = vec![fill; n];
        let r = {
            let xp = x.as_ptr();
            // SAFETY: x and y are live, distinct vectors of n elements; nothing else
            // accesses them during the call.
            unsafe { k.forward_raw(xp, y.as_mut_ptr(), n) }
        };
        outs.push(("forward_raw", r, y));
        let mut d = vec![fill; n];
        outs.push(("backward", k.backward(&x, &dy, &mut d), d));
        let mut d = dy.clone();
        let r = k.backward_in_place(&x, &mut d);
        outs.push(("backward_in_place", r, d));

        for (what, r, got) in outs {
            let backward = what.starts_with("backward");
            match outcome {
                R(reason) => {
                    assert_eq!(
                        r,
                        Err(Error::InvalidParameter {
                            name: if act.op() == Op::ReluN { "n" } else { "alpha" },
                            value: act.param(),
                            dtype: T::NAME,
                            reason,
                        }),
                        "{what} {} {:?} {}",
                        T::NAME,
                        act,
                        k.isa()
                    );
                    let untouched: Vec<T> = match what {
                        "forward" | "forward_raw" | "backward" => vec![fill; n],
                        "backward_in_place" => dy.clone(),
                        _ => x.clone(),
                    };
                    assert_eq!(bits(&got), bits(&untouched), "{what}: refusal wrote");
                }
                Y | Inf => {
                    r.unwrap_or_else(|e| panic!("{what} {} {act:?}: {e}", T::NAME));
                    let expect: Vec<T::Bits> = if backward {
                        x.iter()
                            .zip(&dy)
                            .map(|(&a, &b)| act.oracle_backward(a, b).unwrap().to_bits())
                            .collect()
                    } else {
                        x.iter()
                            .map(|&v| act.oracle_forward(v).unwrap().to_bits())
                            .collect()
                    };
                    assert_eq!(bits(&got), expect, "{what} {} {act:?} {}", T::NAME, k.isa());
                    if outcome == Inf && act.op() == Op::ReluN {
                        // n = +inf: the forward op is relu; the gradient is relu's
                        // except at y = +inf, where `y < n` fails (SPEC §3).
                        let relu = Activation::relu();
                        let want: Vec<T::Bits> = if backward {
                            x.iter()
                                .zip(&dy)
                                .map(|(&a, &b)| {
                                    if a.to_f64() == f64::INFINITY {
                                        T::from_f64(0.0).to_bits()
                                    } else {
                                        relu.oracle_backward(a, b).unwrap().to_bits()
                                    }
                                })
                                .collect()
                        } else {
                            x.iter()
                                .map(|&v| relu.oracle_forward(v).unwrap().to_bits())
                                .collect()
                        };
                        assert_eq!(bits(&got), want, "{what}: n = inf is not relu");
                    }
                }
            }
            calls += 1;
        }
        // What the parameter rounds to, where it is accepted.
        if outcome == Inf {
            assert_eq!(T::from_f64(act.param()).to_f64(), f64::INFINITY);
        } else if outcome == Y && act.op() == Op::ReluN {
            let p = T::from_f64(act.param()).to_f64();
            assert!(
                p > 0.0 && p.is_finite(),
                "{} n={} -> {p}",
                T::NAME,
                act.param()
            );
        }
    }
    calls
}

fn run_table(op: Op, table: Vec<(f64, [Outcome; 4])>) -> usize {
    let mut calls = 0;
    for (p, [o64, o32, o16, ob16]) in table {
        let act = Activation::new(op, p).unwrap();
        calls += param_case::<f64>(act, o64);
        calls += param_case::<f32>(act, o32);
        calls += param_case::<half::f16>(act, o16);
        calls += param_case::<half::bf16>(act, ob16);
    }
    calls
}

#[test]
fn n_at_every_rounding_edge() {
    let rows = n_table().len();
    let calls = run_table(Op::ReluN, n_table());
    assert_eq!(calls, rows * 4 * 2 * Isa::available().len() * 6);
}

#[test]
fn alpha_at_every_rounding_edge() {
    let rows = alpha_table().len();
    let calls = run_table(Op::LeakyRelu, alpha_table());
    assert_eq!(calls, rows * 4 * 2 * Isa::available().len() * 6);
}

// ---------------------------------------------------------------------------------
// Threading at the extremes
// ---------------------------------------------------------------------------------

/// Regression (found by the `kernels_vs_oracle` fuzz target): with the parallel
/// threshold at 0, a zero-length `Threads::Auto` call inside a multi-thread pool
/// divided by zero while planning its chunks. Also: `pieces` at absurd lengths.
#[test]
fn zero_parallel_threshold_and_extreme_lengths() {
    let old = caffe2op_relu::tuning::parallel_min_bytes();
    caffe2op_relu::tuning::set_parallel_min_bytes(0);
    in_pool(3, || {
        for act in [
            Activation::relu(),
            Activation::relu6(),
            Activation::leaky_relu(0.01).unwrap(),
        ] {
            for isa in Isa::available() {
                let k = Kernel::new(act).with_isa(isa).unwrap();
                assert_eq!(k.pieces::<f32>(0), 1);
                let (e, mut m) = ([0f32; 0], [0f32; 0]);
                k.forward(&e, &mut m).unwrap();
                k.forward_in_place(&mut m).unwrap();
                k.backward(&e, &e, &mut m).unwrap();
                k.backward_in_place(&e, &mut m).unwrap();
                let (e, mut m) = ([half::f16::ZERO; 0], [half::f16::ZERO; 0]);
                k.forward(&e, &mut m).unwrap();
                caffe2op_relu::int8_relu_with_isa(&[], &mut [], 1, isa).unwrap();
                // A one-element call takes the parallel path's planning too.
                let mut one = [-1.0f64];
                k.forward_in_place(&mut one).unwrap();
                assert_eq!(
                    one[0].to_bits(),
                    act.oracle_forward(-1.0f64).unwrap().to_bits()
                );
                for len in [usize::MAX, usize::MAX / 2, isize::MAX as usize] {
                    // No overflow or panic; a bounded number of pieces.
                    let p = k.pieces::<f64>(len);
                    assert!((1..=1024).contains(&p), "{len}: {p}");
                }
            }
        }
        caffe2op_relu::relu_in_place::<f32>(&mut []);
    });
    caffe2op_relu::tuning::set_parallel_min_bytes(old);
}
