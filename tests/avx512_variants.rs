//! The AVX-512 16-bit variants chosen per process, each side against the oracle:
//! bf16 products narrowed by AVX512-BF16's `VCVTNE2PS2BF16` or by integer rounding
//! (`CAFFE2OP_RELU_AVX512BF16=0`), and f16 computed by AVX512-FP16's `*PH`
//! instructions or through f32 and integer compares (`CAFFE2OP_RELU_AVX512FP16=0`).
//! The choices are cached per process, so each side runs this test binary again as a
//! child process and checks the ops the variant changes on every bit pattern of the
//! type: leaky_relu and its gradient for both, and for f16 also clip and its gradient
//! and PRelu with its input gradient.

// The child-process checks are x86_64-only; elsewhere their helpers go unused.
#![cfg_attr(not(target_arch = "x86_64"), allow(dead_code, unused_imports))]

mod common;

use caffe2op_relu::tuning::{BF16_ENV_VAR, FP16_ENV_VAR, avx512_bf16_narrowing, avx512_fp16};
use caffe2op_relu::{Activation, Element, Isa, Kernel, Order, Prelu, Threads};
use caffe2op_relu_kernels::prelu as kp;
use common::*;
use half::{bf16, f16};

/// Set in a child: the variant under test and the choice it must find in force.
const CHILD: &str = "CAFFE2OP_RELU_TEST_AVX512_VARIANT";

/// Every bit pattern of a 16-bit type, and the same patterns scrambled.
fn patterns<T: Element>(from: fn(u16) -> T) -> (Vec<T>, Vec<T>) {
    let all = (0..=u16::MAX).map(from).collect();
    let scrambled = (0..=u16::MAX as u32)
        .map(|i| from((i.wrapping_mul(40_503) ^ 0x5a5a) as u16))
        .collect();
    (all, scrambled)
}

/// leaky_relu and its gradient on every pattern, out of place, in place and aliased.
fn check_leaky<T: TestElem>(all: &[T], scrambled: &[T], alphas: &[f64], what: &str) {
    for &alpha in alphas {
        let k = avx512(Activation::leaky_relu(alpha).unwrap());
        check_all(&k, all, scrambled, what);
    }
}

fn avx512(act: Activation) -> Kernel {
    Kernel::new(act)
        .with_isa(Isa::Avx512)
        .unwrap()
        .with_threads(Threads::Serial)
}

/// Forward and backward of `k` on the patterns, every mode.
fn check_all<T: TestElem>(k: &Kernel, all: &[T], scrambled: &[T], what: &str) {
    for mode in MODES {
        check_forward(k, all, 1, mode, what);
        check_forward(k, scrambled, 0, mode, what);
        check_backward(k, all, scrambled, 3, mode, what);
        check_backward(k, scrambled, all, 0, mode, what);
        let negative_y = vec![T::from_f64(-1.0); all.len()];
        check_backward(k, &negative_y, all, 2, mode, what);
    }
}

fn bf16_side() {
    assert_eq!(avx512_bf16_narrowing().to_string(), child_expect());
    let (all, scrambled) = patterns(bf16::from_bits);
    // The default, 0, -0 (whose product with -0.0 is +0.0: the kernels' one-compare
    // product lanes do not apply), 1, a subnormal, tiny (subnormal products), huge
    // (overflow).
    let alphas = [0.01, 0.0, -0.0, 1.0, 1e-39, 1e-30, 1e30, 3e38];
    check_leaky(&all, &scrambled, &alphas, "bf16 narrowing");
}

fn fp16_side() {
    assert_eq!(avx512_fp16().to_string(), child_expect());
    let (all, scrambled) = patterns(f16::from_bits);
    // The default, 0, -0 (as for bf16), 1, a subnormal, tiny (subnormal products), huge
    // (overflow), and one whose products round (0.1 is not a binary16 value).
    let alphas = [0.01, 0.0, -0.0, 1.0, 1e-7, 1e-3, 60000.0, 0.1];
    check_leaky(&all, &scrambled, &alphas, "f16 arithmetic");
    // Bounds of both signs, zeros of both signs, equal bounds, the type's extremes.
    for (lo, hi) in [
        (-1.0, 1.0),
        (0.0, 6.0),
        (-0.0, 0.0),
        (-3.5, -0.5),
        (0.25, 0.25),
        (-65504.0, 65504.0),
        (f64::NEG_INFINITY, f64::INFINITY),
        (1e-7, 2e-7),
    ] {
        let k = avx512(Activation::clip(lo, hi).unwrap());
        check_all(&k, &all, &scrambled, "f16 arithmetic clip");
    }
    // PRelu: four channels of 16384 elements, each channel's slope a different kind.
    let w = [-0.25, 0.1, 3e-5, 700.0].map(f16::from_f64);
    let p = Prelu::new(Order::Nchw)
        .with_isa(Isa::Avx512)
        .unwrap()
        .with_threads(Threads::Serial);
    let dims = [1, 4, 16384];
    let slope = |i: usize| w[i / 16384].to_kernel();
    let mut y = vec![f16::ZERO; all.len()];
    p.forward(&all, &dims, &w, &mut y).unwrap();
    for (i, (&x, &got)) in all.iter().zip(&y).enumerate() {
        let want = f16::from_kernel(kp::oracle(x.to_kernel(), slope(i)));
        assert!(
            bits_eq(got, want),
            "prelu {i}: {x:?} -> {got:?}, want {want:?}"
        );
    }
    let (mut dx, mut dw) = (vec![f16::ZERO; all.len()], [f16::ZERO; 4]);
    p.backward(&scrambled, &all, &dims, &w, &mut dx, &mut dw)
        .unwrap();
    for (i, ((&x, &g), &got)) in scrambled.iter().zip(&all).zip(&dx).enumerate() {
        let want = f16::from_kernel(kp::oracle_grad(x.to_kernel(), g.to_kernel(), slope(i)));
        assert!(
            bits_eq(got, want),
            "prelu dx {i}: {x:?}, {g:?} -> {got:?}, want {want:?}"
        );
    }
}

/// The child's expected choice (`true`/`false`), after the variant's name.
fn child_expect() -> String {
    let v = std::env::var(CHILD).unwrap();
    v.split_once('=').unwrap().1.to_string()
}

/// The child side: the expected table is in use and matches the oracle.
#[test]
fn child_checks_variant() {
    let Ok(v) = std::env::var(CHILD) else {
        return;
    };
    match v.split_once('=').unwrap().0 {
        "bf16" => bf16_side(),
        "fp16" => fp16_side(),
        other => panic!("unknown variant {other}"),
    }
}

fn run_child(variant: &str, env_var: &str, env: Option<&str>, expect: bool) {
    let mut cmd = std::process::Command::new(std::env::current_exe().unwrap());
    cmd.args(["--exact", "child_checks_variant", "--test-threads=1"])
        .env(CHILD, format!("{variant}={expect}"))
        .env_remove(env_var);
    if let Some(v) = env {
        cmd.env(env_var, v);
    }
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "{env_var}={env:?}: child failed: {}",
        String::from_utf8_lossy(&out.stdout)
    );
}

// Re-executing the test binary needs a native one (not qemu-user): x86_64 only, where
// the AVX-512 tables exist.
#[cfg(target_arch = "x86_64")]
#[test]
fn both_bf16_product_paths_match_the_oracle() {
    if !Isa::Avx512.is_available() {
        return;
    }
    let native = std::arch::is_x86_feature_detected!("avx512bf16")
        && std::arch::is_x86_feature_detected!("avx512dq");
    run_child("bf16", BF16_ENV_VAR, None, native);
    run_child("bf16", BF16_ENV_VAR, Some("1"), native);
    run_child("bf16", BF16_ENV_VAR, Some("0"), false);
}

#[cfg(target_arch = "x86_64")]
#[test]
fn both_f16_arithmetic_paths_match_the_oracle() {
    if !Isa::Avx512.is_available() {
        return;
    }
    let native = std::arch::is_x86_feature_detected!("avx512fp16");
    run_child("fp16", FP16_ENV_VAR, None, native);
    run_child("fp16", FP16_ENV_VAR, Some("0"), false);
}
