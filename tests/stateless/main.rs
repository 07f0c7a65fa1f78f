//! The test files that change no process-wide setting (no tuning knob, no ISA or
//! table switch, no environment variable, no global allocator, no child process), as
//! the modules of one test binary: each would otherwise be a binary of its own,
//! compiled and linked again in every CI configuration (native, sanitizer, aarch64,
//! WebAssembly). Files that do change such a setting stay binaries of their own.

#[path = "../common/mod.rs"]
mod common;

mod clip;
mod half_conversions;
mod half_exhaustive;
mod half_refusals;
mod half_vector_ops;
mod leaky_shape;
mod ndarray_oracle;
mod ndarray_refusals;
mod refusals;
mod round_trip;
mod walk_direction;
