//! `CAFFE2OP_RELU_ISA` caps the default dispatch; an unknown or unavailable name is
//! reported once and ignored. The choice is cached per process, so each case runs
//! this test binary again as a child process with the variable set.

// The child-process checks are x86_64-only; elsewhere their helpers go unused.
#![cfg_attr(not(target_arch = "x86_64"), allow(dead_code, unused_imports))]

use std::process::Command;

use caffe2op_relu::{Activation, ISA_ENV_VAR, Isa, Kernel};

const CHILD: &str = "CAFFE2OP_RELU_TEST_EXPECT";

/// The child side: asserts the dispatched ISA equals the one the parent expects.
#[test]
fn child_checks_dispatch() {
    let Ok(expect) = std::env::var(CHILD) else {
        return;
    };
    let expect: Isa = expect.parse().unwrap();
    assert_eq!(Isa::dispatched(), expect);
    assert_eq!(Kernel::new(Activation::relu()).isa(), expect);
    let mut x = vec![-1.0f32, 2.0, -0.0];
    caffe2op_relu::relu_in_place(&mut x);
    assert_eq!(x.map_bits(), [0, 2.0f32.to_bits(), (-0.0f32).to_bits()]);
}

trait MapBits {
    fn map_bits(&self) -> [u32; 3];
}
impl MapBits for Vec<f32> {
    fn map_bits(&self) -> [u32; 3] {
        [self[0].to_bits(), self[1].to_bits(), self[2].to_bits()]
    }
}

fn run_child(value: &str, expect: Isa) -> String {
    let out = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "child_checks_dispatch",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(ISA_ENV_VAR, value)
        .env(CHILD, expect.name())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(
        out.status.success(),
        "{ISA_ENV_VAR}={value}: child failed: {stderr}"
    );
    stderr
}

// Re-executing the test binary needs a native one; under qemu-user the child would
// not start, so this runs on x86_64 only.
#[cfg(target_arch = "x86_64")]
#[test]
fn env_var_caps_and_bad_names_are_ignored() {
    let best = Isa::detected();
    for isa in Isa::available() {
        let err = run_child(isa.name(), isa);
        assert!(!err.contains("caffe2op-relu:"), "unexpected warning: {err}");
    }
    let err = run_child("bogus", best);
    assert!(err.contains("bogus"), "no warning for a bad name: {err}");
    assert_eq!(
        err.matches("caffe2op-relu:").count(),
        1,
        "warned more than once: {err}"
    );
    let err = run_child("neon", best);
    assert!(err.contains("not available"), "{err}");
}
