//! Nothing but a home for `benches/relu.rs` (run with `cargo bench -p caffe2op-relu-bench`).
