//! The two AVX-512 bf16 tables: products narrowed by AVX512-BF16's `VCVTNE2PS2BF16`
//! (used when the CPU has it) and by integer rounding (`CAFFE2OP_RELU_AVX512BF16=0`).
//! The choice is cached per process, so each side runs this test binary again as a
//! child process and checks leaky_relu and its gradient, the ops with products, on
//! every bf16 bit pattern against the oracle.

// The child-process checks are x86_64-only; elsewhere their helpers go unused.
#![cfg_attr(not(target_arch = "x86_64"), allow(dead_code, unused_imports))]

mod common;

use caffe2op_relu::tuning::{BF16_ENV_VAR, avx512_bf16_narrowing};
use caffe2op_relu::{Activation, Isa, Kernel, Threads};
use common::*;
use half::bf16;

const CHILD: &str = "CAFFE2OP_RELU_TEST_BF16_NARROWING";

/// The child side: the expected table is in use and matches the oracle.
#[test]
fn child_checks_products() {
    let Ok(expect) = std::env::var(CHILD) else {
        return;
    };
    assert_eq!(avx512_bf16_narrowing().to_string(), expect);
    let all: Vec<bf16> = (0..=u16::MAX).map(bf16::from_bits).collect();
    let scrambled: Vec<bf16> = (0..=u16::MAX as u32)
        .map(|i| bf16::from_bits((i.wrapping_mul(40_503) ^ 0x5a5a) as u16))
        .collect();
    // The default, 0, 1, a subnormal, tiny (subnormal products), huge (overflow).
    for alpha in [0.01, 0.0, 1.0, 1e-39, 1e-30, 1e30, 3e38] {
        let k = Kernel::new(Activation::leaky_relu(alpha).unwrap())
            .with_isa(Isa::Avx512)
            .unwrap()
            .with_threads(Threads::Serial);
        for mode in MODES {
            check_forward(&k, &all, 1, mode, "bf16 narrowing");
            check_forward(&k, &scrambled, 0, mode, "bf16 narrowing");
            check_backward(&k, &all, &scrambled, 3, mode, "bf16 narrowing");
            check_backward(&k, &scrambled, &all, 0, mode, "bf16 narrowing");
            let negative_y = vec![bf16::from_f32(-1.0); all.len()];
            check_backward(&k, &negative_y, &all, 2, mode, "bf16 narrowing");
        }
    }
}

fn run_child(env: Option<&str>, expect: bool) {
    let mut cmd = std::process::Command::new(std::env::current_exe().unwrap());
    cmd.args(["--exact", "child_checks_products", "--test-threads=1"])
        .env(CHILD, expect.to_string())
        .env_remove(BF16_ENV_VAR);
    if let Some(v) = env {
        cmd.env(BF16_ENV_VAR, v);
    }
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "{BF16_ENV_VAR}={env:?}: child failed: {}",
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
    run_child(None, native);
    run_child(Some("1"), native);
    run_child(Some("0"), false);
}
