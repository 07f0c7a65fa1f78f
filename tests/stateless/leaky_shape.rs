//! The x86 and SIMD128 f32/f64 kernels form leaky_relu as `max(a * x, x)` or
//! `min(a * x, x)` depending on `a` (`vector::LeakyShape`), falling back to the select
//! for a zero or NaN `a`. The safe API only passes a finite `a >= 0`; the kernels'
//! contract covers any `a`, so this calls every x86 and SIMD128 f32/f64 table directly
//! with negative, zero, subnormal, huge, infinite and NaN parameters on values full
//! of specials, and compares with the oracle bit for bit; and the AVX512-FP16 f16
//! table, which forms the same shapes, on every f16 pattern.
#![cfg_attr(
    not(any(
        target_arch = "x86_64",
        all(target_arch = "wasm32", target_feature = "simd128")
    )),
    allow(dead_code, unused_imports)
)]

use crate::common;

use caffe2op_relu_kernels::ops::{ForwardOp, LeakyRelu};
use caffe2op_relu_kernels::vector::LeakyShape;
use caffe2op_relu_kernels::{Forward, Kernels, Params};
use common::*;

#[test]
fn shapes() {
    assert_eq!(LeakyShape::of(0.5), LeakyShape::Max);
    assert_eq!(LeakyShape::of(1.0), LeakyShape::Max);
    assert_eq!(LeakyShape::of(-3.0), LeakyShape::Max);
    assert_eq!(LeakyShape::of(f64::NEG_INFINITY), LeakyShape::Max);
    assert_eq!(LeakyShape::of(1.5), LeakyShape::Min);
    assert_eq!(LeakyShape::of(f64::INFINITY), LeakyShape::Min);
    assert_eq!(LeakyShape::of(0.0), LeakyShape::Select);
    assert_eq!(LeakyShape::of(-0.0), LeakyShape::Select);
    assert_eq!(LeakyShape::of(f64::NAN), LeakyShape::Select);
}

const ALPHAS: [f64; 17] = [
    f64::NEG_INFINITY,
    -2.5,
    -1.0,
    -0.5,
    -1e-30,
    -0.0,
    0.0,
    1e-45,
    1e-30,
    0.01,
    0.5,
    1.0,
    1.000_000_1,
    3.5,
    1e30,
    f64::INFINITY,
    f64::NAN,
];

macro_rules! check_type {
    ($name:ident, $T:ident) => {
        fn $name(tables: &[(&str, &Kernels<$T>)]) {
            let mut rng = Rng(0x1eaf ^ size_of::<$T>() as u64);
            for &a in &ALPHAS {
                let a = a as $T;
                let p = Params::scalar(a);
                for len in [1usize, 7, 16, 33, 64, 65, 200, 1000] {
                    let mut x: Vec<$T> = values(&mut rng, len, 1.0);
                    if len > 8 {
                        x[3] = $T::NEG_INFINITY;
                        x[5] = $T::INFINITY;
                        x[6] = -0.0;
                    }
                    for (name, t) in tables {
                        let mut y = vec![0 as $T; len];
                        // SAFETY: x and y are live, disjoint and `len` long; the table
                        // belongs to an ISA this CPU runs (checked by the caller).
                        unsafe {
                            t.forward(Forward::LeakyRelu)(
                                x.as_ptr(),
                                y.as_mut_ptr(),
                                len,
                                &p,
                                false,
                            )
                        };
                        for i in 0..len {
                            let want = LeakyRelu::oracle(x[i], &p);
                            assert_eq!(
                                y[i].to_bits(),
                                want.to_bits(),
                                "{name} a={a:e} len={len} i={i}: x={:e} ({:#x})",
                                x[i],
                                x[i].to_bits()
                            );
                        }
                    }
                }
            }
        }
    };
}

check_type!(check_f32, f32);
check_type!(check_f64, f64);

#[cfg(target_arch = "x86_64")]
#[test]
fn every_x86_float_table_matches_the_oracle_for_any_alpha() {
    use caffe2op_relu_kernels::arch::x86_64 as x;
    let mut t32 = Vec::new();
    let mut t64 = Vec::new();
    if std::arch::is_x86_feature_detected!("avx2") {
        t32.push(("avx2", &x::avx2::TABLES.f32));
        t64.push(("avx2", &x::avx2::TABLES.f64));
    }
    if std::arch::is_x86_feature_detected!("avx512f")
        && std::arch::is_x86_feature_detected!("avx512bw")
    {
        t32.push(("avx512", &x::avx512::TABLES.f32));
        t64.push(("avx512", &x::avx512::TABLES.f64));
        if std::arch::is_x86_feature_detected!("avx512vl") {
            t32.push(("avx512 ymm", &x::avx512::TABLES_YMM.f32));
            t64.push(("avx512 ymm", &x::avx512::TABLES_YMM.f64));
        }
    }
    check_f32(&t32);
    check_f64(&t64);
}

/// SIMD128 forms the max and min shapes with the pseudo-maximum and minimum.
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
#[test]
fn simd128_float_tables_match_the_oracle_for_any_alpha() {
    use caffe2op_relu_kernels::arch::wasm32::simd128::TABLES;
    check_f32(&[("simd128", &TABLES.f32)]);
    check_f64(&[("simd128", &TABLES.f64)]);
}

/// The AVX512-FP16 f16 table forms the shapes with `VMULPH` and `VMAXPH`/`VMINPH`:
/// every f16 pattern, every parameter above (rounded to f16), against the oracle.
#[cfg(target_arch = "x86_64")]
#[test]
fn avx512_fp16_f16_table_matches_the_oracle_for_any_alpha() {
    use caffe2op_relu_kernels::arch::x86_64::avx512::TABLES_FP16;
    use caffe2op_relu_kernels::half::F16;
    if !(std::arch::is_x86_feature_detected!("avx512f")
        && std::arch::is_x86_feature_detected!("avx512bw")
        && std::arch::is_x86_feature_detected!("avx512fp16"))
    {
        return;
    }
    let x: Vec<F16> = (0..=u16::MAX).map(F16).collect();
    let mut y = vec![F16(0); x.len()];
    for &a in &ALPHAS {
        let p = Params::scalar(F16::from_f64(a));
        // SAFETY: x and y are live, disjoint and as long as `x`; the CPU has
        // AVX512F, BW and FP16 (checked above).
        unsafe {
            TABLES_FP16.f16.forward(Forward::LeakyRelu)(
                x.as_ptr(),
                y.as_mut_ptr(),
                x.len(),
                &p,
                false,
            )
        };
        for (i, (&v, &got)) in x.iter().zip(&y).enumerate() {
            let want = LeakyRelu::oracle(v, &p);
            assert_eq!(got.0, want.0, "fp16 a={a:e} x={i:#06x}");
        }
    }
}
