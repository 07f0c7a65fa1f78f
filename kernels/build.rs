//! Probes the compiler for the AVX-512 intrinsics (stable since Rust 1.89).
//!
//! This crate's MSRV (1.85) is below that, so an older compiler still builds the crate,
//! just without the AVX-512 module. The answer is also handed to the `caffe2op-relu`
//! crate through `links` metadata (`DEP_CAFFE2OP_RELU_KERNELS_AVX512`), so the safe
//! crate offers `Isa::Avx512` only when the kernels exist.

use std::process::Command;

fn main() {
    println!("cargo::rustc-check-cfg=cfg(caffe2op_relu_avx512)");
    println!("cargo::rerun-if-changed=build.rs");
    println!("cargo::rerun-if-env-changed=RUSTC");
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into());
    let minor = Command::new(rustc)
        .arg("--version")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|v| v.split_whitespace().nth(1).map(str::to_owned))
        .and_then(|v| v.split('.').nth(1).and_then(|m| m.parse::<u32>().ok()))
        .unwrap_or(0);
    let avx512 = minor >= 89;
    if avx512 {
        println!("cargo::rustc-cfg=caffe2op_relu_avx512");
    } else {
        println!(
            "cargo::warning=rustc 1.{minor} lacks stable AVX-512 intrinsics; building without \
             the AVX-512 kernels"
        );
    }
    println!("cargo::metadata=avx512={}", u8::from(avx512));
}
