//! The oracle's loops as the compiler vectorises them for each ISA: the baseline the
//! hand-written kernels are measured against ("the naive loop compiled for that ISA")
//! in the report and the benches, and a correct path for any element type.
//!
//! Each ISA folder of the kernels crate compiles the oracle's slice loops with its own
//! target features (`IsaDef::autovec`); a caller picks the ISA with [`Isa`] (refused
//! with [`Error::IsaUnavailable`] when the CPU lacks it). `Isa::Scalar` and
//! `Isa::Portable` mean the loops compiled for the baseline target. Calls run on the
//! caller's thread.

use crate::activation::Activation;
use crate::element::Element;
use crate::error::Error;
use crate::exec::{self, Binary, Runnable, Threads, Unary};
use crate::isa::Isa;

/// `y = act(x)` with the compiler-vectorised oracle loop for `isa`.
pub fn forward<T: Element>(isa: Isa, act: Activation, x: &[T], y: &mut [T]) -> Result<(), Error> {
    let r = Unary::slices(x, y)?;
    let p = act.params_as::<T>()?;
    let t = Runnable::autovec(isa)?;
    exec::forward(t, act.op().forward(), r, &p, Threads::Serial);
    Ok(())
}

/// `x = act(x)` with the compiler-vectorised oracle loop for `isa`.
pub fn forward_in_place<T: Element>(isa: Isa, act: Activation, x: &mut [T]) -> Result<(), Error> {
    let p = act.params_as::<T>()?;
    let t = Runnable::autovec(isa)?;
    exec::forward(
        t,
        act.op().forward(),
        Unary::in_place(x),
        &p,
        Threads::Serial,
    );
    Ok(())
}

/// `dx = act'(y) * dy` with the compiler-vectorised oracle loop for `isa`.
pub fn backward<T: Element>(
    isa: Isa,
    act: Activation,
    y: &[T],
    dy: &[T],
    dx: &mut [T],
) -> Result<(), Error> {
    let r = Binary::slices(y, dy, dx)?;
    let p = act.params_as::<T>()?;
    let t = Runnable::autovec(isa)?;
    exec::backward(t, act.op().backward(), r, &p, Threads::Serial);
    Ok(())
}
