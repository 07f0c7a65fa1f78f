//! The oracle's loops as the compiler vectorises them, one copy per target
//! (`multiversion`). This is the baseline hand-written kernels are measured against
//! ("the naive loop compiled for that ISA") in the report and the benches, and a
//! correct, reasonably fast path for any element type.
//!
//! Each variant is a multiversioned function with a single target: it runs that
//! target's code when the CPU has it, so a caller picks the ISA with [`Isa`] (refused
//! with [`Error::IsaUnavailable`] when the CPU lacks it). `Isa::Scalar` and
//! `Isa::Portable` mean the loop compiled for the baseline target.

use multiversion::multiversion;

use crate::activation::{Activation, Op};
use crate::element::Element;
use crate::error::Error;
use crate::isa::Isa;

macro_rules! loops {
    ($fwd:ident, $fwd_ip:ident, $bwd:ident, $($targets:tt)*) => {
        $($targets)*
        fn $fwd<T: Element>(op: Op, x: &[T], y: &mut [T], p: T) {
            match op {
                Op::Relu => y.iter_mut().zip(x).for_each(|(o, &v)| *o = T::oracle_forward(Op::Relu, v, p)),
                Op::ReluN => y.iter_mut().zip(x).for_each(|(o, &v)| *o = T::oracle_forward(Op::ReluN, v, p)),
                Op::LeakyRelu => y.iter_mut().zip(x).for_each(|(o, &v)| *o = T::oracle_forward(Op::LeakyRelu, v, p)),
            }
        }
        $($targets)*
        fn $fwd_ip<T: Element>(op: Op, x: &mut [T], p: T) {
            match op {
                Op::Relu => x.iter_mut().for_each(|v| *v = T::oracle_forward(Op::Relu, *v, p)),
                Op::ReluN => x.iter_mut().for_each(|v| *v = T::oracle_forward(Op::ReluN, *v, p)),
                Op::LeakyRelu => x.iter_mut().for_each(|v| *v = T::oracle_forward(Op::LeakyRelu, *v, p)),
            }
        }
        $($targets)*
        fn $bwd<T: Element>(op: Op, y: &[T], dy: &[T], dx: &mut [T], p: T) {
            let it = dx.iter_mut().zip(y.iter().zip(dy));
            match op {
                Op::Relu => it.for_each(|(o, (&a, &b))| *o = T::oracle_backward(Op::Relu, a, b, p)),
                Op::ReluN => it.for_each(|(o, (&a, &b))| *o = T::oracle_backward(Op::ReluN, a, b, p)),
                Op::LeakyRelu => it.for_each(|(o, (&a, &b))| *o = T::oracle_backward(Op::LeakyRelu, a, b, p)),
            }
        }
    };
}

loops!(fwd_base, fwd_ip_base, bwd_base,);
loops!(fwd_avx2, fwd_ip_avx2, bwd_avx2, #[multiversion(targets("x86_64+avx+avx2+fma"))]);
loops!(
    fwd_avx512,
    fwd_ip_avx512,
    bwd_avx512,
    #[multiversion(targets("x86_64+avx+avx2+fma+avx512f+avx512bw+avx512vl"))]
);
// NEON is in aarch64's baseline, so multiversion's NEON copy of each loop is never
// called (the plain one already is that code): allow it to go unused.
loops!(
    fwd_neon,
    fwd_ip_neon,
    bwd_neon,
    #[allow(dead_code)]
    #[multiversion(targets("aarch64+neon"))]
);

fn check_len(arg: &'static str, expected: usize, found: usize) -> Result<(), Error> {
    if expected == found {
        Ok(())
    } else {
        Err(Error::LengthMismatch {
            arg,
            expected,
            found,
        })
    }
}

/// `y = act(x)` with the compiler-vectorised oracle loop for `isa`.
pub fn forward<T: Element>(isa: Isa, act: Activation, x: &[T], y: &mut [T]) -> Result<(), Error> {
    check_len("y", x.len(), y.len())?;
    let p = act.param_as::<T>()?;
    match isa.check()? {
        Isa::Avx2 => fwd_avx2(act.op(), x, y, p),
        Isa::Avx512 => fwd_avx512(act.op(), x, y, p),
        Isa::Neon => fwd_neon(act.op(), x, y, p),
        Isa::Scalar | Isa::Portable => fwd_base(act.op(), x, y, p),
    }
    Ok(())
}

/// `x = act(x)` with the compiler-vectorised oracle loop for `isa`.
pub fn forward_in_place<T: Element>(isa: Isa, act: Activation, x: &mut [T]) -> Result<(), Error> {
    let p = act.param_as::<T>()?;
    match isa.check()? {
        Isa::Avx2 => fwd_ip_avx2(act.op(), x, p),
        Isa::Avx512 => fwd_ip_avx512(act.op(), x, p),
        Isa::Neon => fwd_ip_neon(act.op(), x, p),
        Isa::Scalar | Isa::Portable => fwd_ip_base(act.op(), x, p),
    }
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
    check_len("dy", y.len(), dy.len())?;
    check_len("dx", y.len(), dx.len())?;
    let p = act.param_as::<T>()?;
    match isa.check()? {
        Isa::Avx2 => bwd_avx2(act.op(), y, dy, dx, p),
        Isa::Avx512 => bwd_avx512(act.op(), y, dy, dx, p),
        Isa::Neon => bwd_neon(act.op(), y, dy, dx, p),
        Isa::Scalar | Isa::Portable => bwd_base(act.op(), y, dy, dx, p),
    }
    Ok(())
}
