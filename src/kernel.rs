//! The safe API: a [`Kernel`] is an activation plus an ISA choice and a threading
//! policy. Every entry point validates everything before the first store.

use std::cell::Cell;

use caffe2op_relu_kernels::ops::{
    BackwardOp, ForwardOp, VisitBackward, VisitForward, visit_backward, visit_forward,
};
use caffe2op_relu_kernels::{Kernels, Params};

use crate::activation::Activation;
use crate::element::Element;
use crate::error::Error;
use crate::exec::{self, Threads};
use crate::isa::{self, Isa};

/// An activation bound to an ISA choice and a threading policy.
///
/// Cheap to copy; `Send + Sync`. Building one does no detection work: the default
/// ISA is looked up (one relaxed atomic load) per call.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Kernel {
    act: Activation,
    isa: Option<Isa>,
    threads: Threads,
}

/// How an output range relates to an input range.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Alias {
    Same,
    Disjoint,
}

fn alias_of<T>(
    input: &'static str,
    in_ptr: *const T,
    output: &'static str,
    out_ptr: *const T,
    len: usize,
) -> Result<Alias, Error> {
    let (a, b) = (in_ptr as usize, out_ptr as usize);
    let bytes = len.saturating_mul(size_of::<T>());
    if a == b {
        Ok(Alias::Same)
    } else if len == 0 || a.saturating_add(bytes) <= b || b.saturating_add(bytes) <= a {
        Ok(Alias::Disjoint)
    } else {
        Err(Error::Overlap {
            input,
            output,
            input_addr: a,
            output_addr: b,
            len,
        })
    }
}

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

/// The oracle's loops for the calls short enough to run inline: one loop per op (a
/// visit of the registry), so each is vectorised on its own.
enum Inline<'a, T: Element> {
    Forward(&'a [T], &'a mut [T]),
    ForwardInPlace(&'a mut [T]),
    Backward(&'a [T], &'a [T], &'a mut [T]),
    BackwardInPlace(&'a [T], &'a mut [T]),
}

struct Visit<'a, T: Element>(Inline<'a, T>, Params<T::Kernel>);

impl<T: Element> VisitForward for Visit<'_, T> {
    type Output = ();
    #[inline(always)]
    fn visit<O: ForwardOp>(self) {
        let p = self.1;
        let f = |v: T| T::from_kernel(O::oracle(v.to_kernel(), &p));
        match self.0 {
            Inline::Forward(x, y) => y.iter_mut().zip(x).for_each(|(o, &v)| *o = f(v)),
            Inline::ForwardInPlace(x) => x.iter_mut().for_each(|v| *v = f(*v)),
            _ => {}
        }
    }
}

impl<T: Element> VisitBackward for Visit<'_, T> {
    type Output = ();
    #[inline(always)]
    fn visit<O: BackwardOp>(self) {
        let p = self.1;
        let f = |a: T, g: T| T::from_kernel(O::oracle(a.to_kernel(), g.to_kernel(), &p));
        match self.0 {
            Inline::Backward(y, dy, dx) => {
                for ((o, &a), &g) in dx.iter_mut().zip(y).zip(dy) {
                    *o = f(a, g);
                }
            }
            Inline::BackwardInPlace(y, dy) => {
                for (g, &a) in dy.iter_mut().zip(y) {
                    *g = f(a, *g);
                }
            }
            _ => {}
        }
    }
}

fn check_ptr<T>(arg: &'static str, p: *const T) -> Result<(), Error> {
    if p.is_null() {
        Err(Error::NullPointer { arg })
    } else if !(p as usize).is_multiple_of(align_of::<T>()) {
        Err(Error::Misaligned {
            arg,
            addr: p as usize,
            align: align_of::<T>(),
        })
    } else {
        Ok(())
    }
}

impl Kernel {
    /// The activation on the default ISA ([`Isa::dispatched`]) with [`Threads::Auto`].
    pub const fn new(act: Activation) -> Kernel {
        Kernel {
            act,
            isa: None,
            threads: Threads::Auto,
        }
    }

    /// Forces an ISA; [`Error::IsaUnavailable`] if this CPU cannot run it.
    pub fn with_isa(self, isa: Isa) -> Result<Kernel, Error> {
        Ok(Kernel {
            isa: Some(isa.check()?),
            ..self
        })
    }

    /// Sets the threading policy.
    pub const fn with_threads(self, threads: Threads) -> Kernel {
        Kernel { threads, ..self }
    }

    /// The ISA this kernel runs on (the forced one, or the default dispatch).
    #[inline]
    pub fn isa(&self) -> Isa {
        self.isa.unwrap_or_else(Isa::dispatched)
    }

    /// The activation.
    pub const fn activation(&self) -> Activation {
        self.act
    }

    /// The threading policy.
    pub const fn threads(&self) -> Threads {
        self.threads
    }

    /// How many pieces a forward call on `len` elements of `T` would be split into
    /// (pieces are handed to the current rayon pool, which may run several on one worker);
    /// 1 means serial on the calling thread.
    pub fn pieces<T: Element>(&self, len: usize) -> usize {
        exec::plan(len, size_of::<T>(), 2, self.threads).1
    }

    /// The kernels of `T` on this kernel's ISA: the cached tables of the default
    /// dispatch (one relaxed load), or the forced ISA's (checked available when it
    /// was forced).
    #[inline]
    fn table<T: Element>(&self) -> &'static Kernels<T::Kernel> {
        T::table(match self.isa {
            None => isa::dispatched_tables(),
            Some(isa) => isa.tables(),
        })
    }

    /// Whether a call on `len` elements runs the oracle inline ([`Element::INLINE_MAX`];
    /// only on the default dispatch, so a forced ISA always runs its own kernel).
    #[inline(always)]
    fn inline<T: Element>(&self, len: usize) -> bool {
        self.isa.is_none() && len <= T::INLINE_MAX
    }

    /// `y = act(x)`. Lengths must match.
    // Always inlined so that a short call with a constant activation (the one-liners)
    // is a plain loop at the call site; the kernel path is out of line.
    #[inline(always)]
    pub fn forward<T: Element>(&self, x: &[T], y: &mut [T]) -> Result<(), Error> {
        if self.inline::<T>(x.len()) && x.len() == y.len() {
            let p = self.act.params_as::<T>()?;
            visit_forward(self.act.op().forward(), Visit(Inline::Forward(x, y), p));
            return Ok(());
        }
        self.forward_kernel(x, y)
    }

    #[inline]
    fn forward_kernel<T: Element>(&self, x: &[T], y: &mut [T]) -> Result<(), Error> {
        check_len("y", x.len(), y.len())?;
        let p = self.act.params_as::<T>()?;
        // SAFETY: x and y are live, disjoint (one is &mut) and of equal length.
        unsafe { self.forward_unchecked(x.as_ptr(), y.as_mut_ptr(), x.len(), &p) };
        Ok(())
    }

    /// `x = act(x)`. Refused only if the parameter is invalid once rounded to `T`.
    #[inline(always)]
    pub fn forward_in_place<T: Element>(&self, x: &mut [T]) -> Result<(), Error> {
        if self.inline::<T>(x.len()) {
            let p = self.act.params_as::<T>()?;
            visit_forward(self.act.op().forward(), Visit(Inline::ForwardInPlace(x), p));
            return Ok(());
        }
        self.forward_in_place_kernel(x)
    }

    #[inline]
    fn forward_in_place_kernel<T: Element>(&self, x: &mut [T]) -> Result<(), Error> {
        let p = self.act.params_as::<T>()?;
        let ptr = x.as_mut_ptr();
        // SAFETY: src == dst, a live exclusive slice of x.len() elements.
        unsafe { self.forward_unchecked(ptr, ptr, x.len(), &p) };
        Ok(())
    }

    /// `dx = act'(y) * dy`, from the forward **output** `y`. Lengths must match.
    #[inline(always)]
    pub fn backward<T: Element>(&self, y: &[T], dy: &[T], dx: &mut [T]) -> Result<(), Error> {
        if self.inline::<T>(y.len()) && y.len() == dy.len() && y.len() == dx.len() {
            let p = self.act.params_as::<T>()?;
            visit_backward(
                self.act.op().backward(),
                Visit(Inline::Backward(y, dy, dx), p),
            );
            return Ok(());
        }
        self.backward_kernel(y, dy, dx)
    }

    #[inline]
    fn backward_kernel<T: Element>(&self, y: &[T], dy: &[T], dx: &mut [T]) -> Result<(), Error> {
        check_len("dy", y.len(), dy.len())?;
        check_len("dx", y.len(), dx.len())?;
        let p = self.act.params_as::<T>()?;
        // SAFETY: live slices of equal length; dx is exclusive so it overlaps neither.
        unsafe { self.backward_unchecked(y.as_ptr(), dy.as_ptr(), dx.as_mut_ptr(), y.len(), &p) };
        Ok(())
    }

    /// `dy = act'(y) * dy` (Caffe2's in-place pair {1, 0}: dX overwrites dY).
    #[inline(always)]
    pub fn backward_in_place<T: Element>(&self, y: &[T], dy: &mut [T]) -> Result<(), Error> {
        if self.inline::<T>(y.len()) && y.len() == dy.len() {
            let p = self.act.params_as::<T>()?;
            visit_backward(
                self.act.op().backward(),
                Visit(Inline::BackwardInPlace(y, dy), p),
            );
            return Ok(());
        }
        self.backward_in_place_kernel(y, dy)
    }

    #[inline]
    fn backward_in_place_kernel<T: Element>(&self, y: &[T], dy: &mut [T]) -> Result<(), Error> {
        check_len("dy", y.len(), dy.len())?;
        let p = self.act.params_as::<T>()?;
        let d = dy.as_mut_ptr();
        // SAFETY: dx == dy exactly; y is a distinct live slice of the same length.
        unsafe { self.backward_unchecked(y.as_ptr(), d, d, y.len(), &p) };
        Ok(())
    }

    /// `y = act(x)` on views that may alias. The same range runs in place, disjoint
    /// ranges run out of place, a partial overlap is [`Error::Overlap`].
    pub fn forward_aliased<T: Element>(&self, x: &[Cell<T>], y: &[Cell<T>]) -> Result<(), Error> {
        check_len("y", x.len(), y.len())?;
        let (xp, yp) = (x.as_ptr().cast::<T>(), y.as_ptr().cast::<T>().cast_mut());
        alias_of("x", xp, "y", yp, x.len())?;
        let p = self.act.params_as::<T>()?;
        // SAFETY: both views are live for the call and `Cell<T>` has `T`'s layout;
        // writing through a pointer derived from `&[Cell<T>]` is allowed (interior
        // mutability); the ranges are identical or disjoint (checked above); nothing
        // else can touch the cells while this thread is inside the call.
        unsafe { self.forward_unchecked(xp, yp, x.len(), &p) };
        Ok(())
    }

    /// `dx = act'(y) * dy` on views that may alias: `dx` may be exactly `dy` or `y`
    /// (or disjoint from both); `y` and `dy` may overlap each other freely.
    pub fn backward_aliased<T: Element>(
        &self,
        y: &[Cell<T>],
        dy: &[Cell<T>],
        dx: &[Cell<T>],
    ) -> Result<(), Error> {
        check_len("dy", y.len(), dy.len())?;
        check_len("dx", y.len(), dx.len())?;
        let (yp, dyp) = (y.as_ptr().cast::<T>(), dy.as_ptr().cast::<T>());
        let dxp = dx.as_ptr().cast::<T>().cast_mut();
        alias_of("y", yp, "dx", dxp, y.len())?;
        alias_of("dy", dyp, "dx", dxp, y.len())?;
        let p = self.act.params_as::<T>()?;
        // SAFETY: as in `forward_aliased`; dx equals or is disjoint from each input.
        unsafe { self.backward_unchecked(yp, dyp, dxp, y.len(), &p) };
        Ok(())
    }

    /// Raw-pointer twin of [`Kernel::forward_aliased`]: null, misaligned and partially
    /// overlapping pointers are refused with an error.
    ///
    /// # Safety
    /// If non-null and aligned, `x` must be valid for `len` reads and `y` for `len`
    /// writes for the duration of the call, with no other thread accessing them.
    pub unsafe fn forward_raw<T: Element>(
        &self,
        x: *const T,
        y: *mut T,
        len: usize,
    ) -> Result<(), Error> {
        check_ptr("x", x)?;
        check_ptr("y", y)?;
        alias_of("x", x, "y", y, len)?;
        let p = self.act.params_as::<T>()?;
        // SAFETY: validity is the caller's promise; aliasing was checked above.
        unsafe { self.forward_unchecked(x, y, len, &p) };
        Ok(())
    }

    /// Raw-pointer twin of [`Kernel::backward_aliased`].
    ///
    /// # Safety
    /// If non-null and aligned, `y` and `dy` must be valid for `len` reads and `dx` for
    /// `len` writes for the duration of the call, with no other thread accessing them.
    pub unsafe fn backward_raw<T: Element>(
        &self,
        y: *const T,
        dy: *const T,
        dx: *mut T,
        len: usize,
    ) -> Result<(), Error> {
        check_ptr("y", y)?;
        check_ptr("dy", dy)?;
        check_ptr("dx", dx)?;
        alias_of("y", y, "dx", dx, len)?;
        alias_of("dy", dy, "dx", dx, len)?;
        let p = self.act.params_as::<T>()?;
        // SAFETY: validity is the caller's promise; aliasing was checked above.
        unsafe { self.backward_unchecked(y, dy, dx, len, &p) };
        Ok(())
    }

    /// # Safety
    /// The [`caffe2op_relu_kernels::UnaryFn`] contract for `x`, `y`, `len`.
    #[inline]
    unsafe fn forward_unchecked<T: Element>(
        &self,
        x: *const T,
        y: *mut T,
        len: usize,
        p: &Params<T::Kernel>,
    ) {
        let f = self.table::<T>().forward(self.act.op().forward());
        // SAFETY: the table belongs to an available ISA (`table`); the range contract
        // is forwarded from the caller, and `T` and `T::Kernel` have the same layout
        // (`Element::Kernel`), so the casts keep it.
        unsafe { exec::run_unary(f, x.cast(), y.cast(), len, p, self.threads) }
    }

    /// # Safety
    /// The [`caffe2op_relu_kernels::BinaryFn`] contract for `y`, `dy`, `dx`, `len`.
    #[inline]
    unsafe fn backward_unchecked<T: Element>(
        &self,
        y: *const T,
        dy: *const T,
        dx: *mut T,
        len: usize,
        p: &Params<T::Kernel>,
    ) {
        let f = self.table::<T>().backward(self.act.op().backward());
        // SAFETY: as in `forward_unchecked`.
        unsafe { exec::run_binary(f, y.cast(), dy.cast(), dx.cast(), len, p, self.threads) }
    }
}
