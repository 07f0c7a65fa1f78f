//! Forwards the kernels crate's compiler probe (see `kernels/build.rs`): the cfg
//! `caffe2op_relu_avx512` is set when the AVX-512 kernels were compiled, so that
//! `Isa::Avx512` refers to code that exists.

fn main() {
    println!("cargo::rustc-check-cfg=cfg(caffe2op_relu_avx512)");
    println!("cargo::rerun-if-changed=build.rs");
    println!("cargo::rerun-if-env-changed=DEP_CAFFE2OP_RELU_KERNELS_AVX512");
    if std::env::var("DEP_CAFFE2OP_RELU_KERNELS_AVX512").as_deref() == Ok("1") {
        println!("cargo::rustc-cfg=caffe2op_relu_avx512");
    }
}
