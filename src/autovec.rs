//! The oracle's loops as the compiler vectorises them for each ISA: the baseline the
//! hand-written kernels are measured against ("the naive loop compiled for that ISA")
//! in the report and the benches, and a correct path for any element type.
//!
//! Each ISA folder of the kernels crate compiles the oracle's slice loops with its own
//! target features (`IsaDef::autovec`); a caller picks the ISA with [`Isa`] (refused
//! with [`Error::IsaUnavailable`] when the CPU lacks it). `Isa::Scalar` and
//! `Isa::Portable` mean the loops compiled for the baseline target. Calls run on the
//! caller's thread.
//!
//! [`round_trip`] is the other baseline: the 16-bit types' conversions to `f32` and
//! back with nothing between, the roof of their products on the x86 ISAs.

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
    exec::forward(t, act.op().forward(), r, &p, Threads::Serial.into());
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
        Threads::Serial.into(),
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
    exec::backward(t, act.op().backward(), r, &p, Threads::Serial.into());
    Ok(())
}

/// `y = x` through the conversions of `isa`'s f16 or bf16 products: each element
/// widened to `f32` and narrowed back the way the kernels' products do (F16C or
/// AVX-512 `VCVTPH2PS`/`VCVTPS2PH`; for bf16 a shift, and integer rounding or
/// AVX512-BF16's `VCVTNE2PS2BF16`, as [`crate::tuning::avx512_bf16_narrowing`]
/// picks), nothing else. So not every pattern comes back: a NaN stays a NaN of its
/// sign (the integer rounding leaves a signalling one unquieted, as products need no
/// NaN path), and `VCVTNE2PS2BF16` reads a subnormal as zero (the kernels test
/// their products for subnormals; this loop does not). The roof of leaky_relu and
/// its gradient on 16-bit types, measured by the report. Lengths must match. [`Error::IsaUnavailable`] when the
/// CPU lacks `isa` or `isa` has no such loop for `T` ([`has_round_trip`]).
pub fn round_trip<T: Element>(isa: Isa, x: &[T], y: &mut [T]) -> Result<(), Error> {
    if !has_round_trip::<T>(isa) {
        return Err(Error::IsaUnavailable { isa });
    }
    exec::check_len("y", x.len(), y.len())?;
    exec::round_trip(isa, x, y)
}

/// Whether [`round_trip`] runs for `T` on `isa` here: f16 and bf16 on
/// [`Isa::Avx2`] and [`Isa::Avx512`], where the CPU has them.
pub fn has_round_trip<T: Element>(isa: Isa) -> bool {
    matches!(T::NAME, "f16" | "bf16")
        && matches!(isa, Isa::Avx2 | Isa::Avx512)
        && isa.is_available()
}
