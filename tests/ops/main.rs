//! The operator layer's tests (schemas, workspace, nets, gradients, protobuf nets and
//! tensors, fill operators, and the hostile inputs of each), as the modules of one
//! test binary. The layer is safe code over the crate's public calls and changes no
//! process-wide setting, so its tests run natively only, side by side in one process.

#[path = "../common/mod.rs"]
mod common;

mod fill;
mod gradient;
mod hostile_ops;
mod hostile_proto;
mod hostile_tensor_proto;
mod int8_leaky;
mod net;
mod prelu;
mod proto;
mod schema;
mod tensor_proto;
mod workspace;
