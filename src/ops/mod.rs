//! The Caffe2 operator layer (SPEC §6): schemas, a registry, cost and tensor
//! inference, gradient makers, in-place rules, a workspace of named tensors, nets, and
//! Caffe2's protobuf wire format.
//!
//! | operator | inputs -> outputs | arguments | in place |
//! |---|---|---|---|
//! | `Relu` | X -> Y | — | {0,0} |
//! | `ReluGradient` | Y, dY -> dX | — | {1,0} |
//! | `ReluN` | X -> Y | `n` (float, 6) | {0,0} |
//! | `ReluNGradient` | Y, dY -> dX | `n` | {1,0} |
//! | `LeakyRelu` | X -> Y | `alpha` (float, 0.01) | {0,0} |
//! | `LeakyReluGradient` | Y, dY -> dX | `alpha` | {1,0} |
//! | `Clip` | X -> Y | `min`, `max` (float, the type's lowest and highest) | {0,0} |
//! | `ClipGradient` | Y, dY -> dX | `min`, `max` | {1,0} |
//! | `Int8Relu` | X -> Y | `Y_scale`, `Y_zero_point` | {0,0} |
//! | `Int8LeakyRelu` | X -> Y | `alpha` (float, 0.01), `Y_scale` (1), `Y_zero_point` (0) | {0,0} |
//! | `GivenTensorFill` | -> Y (f32) | `shape`, `values` (floats), `dtype` | — |
//! | `GivenTensorDoubleFill` | -> Y (f64) | `shape`, `values` (floats) | — |
//! | `GivenTensorIntFill` | -> Y (i32) | `shape`, `values` (ints) | — |
//! | `ConstantFill` | -> Y | `shape`, `value`, `dtype` (FLOAT, DOUBLE, INT32) | — |
//! | `Int8GivenTensorFill` | -> Y (u8) | `shape`, `values` (string), `Y_scale`, `Y_zero_point` | — |
//!
//! Tensors are read and written as Caffe2's `TensorProto`/`TensorProtos`
//! ([`Tensor::from_proto_bytes`], [`TensorProtos`]).
//!
//! ```
//! use caffe2op_relu::ops::{OperatorDef, Tensor, Workspace, gradient_defs, schema};
//!
//! let mut ws = Workspace::new();
//! ws.feed_blob("X", Tensor::from_vec(vec![2, 2], vec![-1.0f32, 0.5, 7.0, -0.0])?);
//! let def = OperatorDef::new("ReluN").input("X").output("Y").arg("n", 6.0);
//! ws.run_operator_once(&def)?;
//! let y = ws.fetch_blob("Y")?.as_slice::<f32>().unwrap();
//! assert_eq!(y, [0.0, 0.5, 6.0, -0.0]);
//!
//! let cost = schema("ReluN").unwrap().cost(&def, &[ws.fetch_blob("X")?.shape()])?;
//! assert_eq!((cost.flops, cost.bytes_read, cost.bytes_written), (8, 16, 16));
//!
//! let grad = &gradient_defs(&def)?[0];
//! assert_eq!(grad.op_type, "ReluNGradient");
//! assert_eq!(grad.inputs, ["Y", "Y_grad"]);
//! assert_eq!(grad.outputs, ["X_grad"]);
//! # Ok::<(), caffe2op_relu::Error>(())
//! ```

mod def;
mod fill;
mod gradient;
mod operator;
mod proto;
mod schema;
mod tensor;
mod tensor_proto;
mod workspace;

pub use def::{ArgValue, Argument, NetDef, OperatorDef};
pub use gradient::{backward_net, grad_name, gradient_defs, with_gradients};
pub use operator::Operator;
pub use proto::MAX_NET_NESTING;
pub use schema::{ArgSchema, ArgType, Cost, IoSchema, OpSchema, registered_ops, schema};
pub use tensor::{DataType, Tensor, TensorData, TensorElement, TensorShape, numel};
pub use tensor_proto::TensorProtos;
pub use workspace::Workspace;
