//! The safe API: a [`Kernel`] is an activation plus an ISA choice and a threading
//! policy. Every entry point validates everything before the first store.

use std::cell::Cell;

use caffe2op_relu_kernels::Params;
use caffe2op_relu_kernels::ops::{
    BackwardOp, ForwardOp, MAX_SCALARS, VisitBackward, VisitForward, visit_backward, visit_forward,
};

use crate::activation::{Activation, Op};
use crate::element::Element;
use crate::error::Error;
use crate::exec::{self, Binary, Exec, Pool, Runnable, Threads, Unary};
use crate::isa::Isa;

/// An activation bound to an ISA choice and a threading policy.
///
/// Cheap to copy; `Send + Sync`. Building one does no detection work: the default
/// ISA is looked up (one relaxed atomic load) per call.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Kernel {
    act: Activation,
    isa: Option<Isa>,
    threads: Threads,
    /// Whose threads split a call: rayon's, or candle's for calls on its tensors.
    pool: Pool,
}

/// The oracle's loops for the calls short enough to run inline: one loop per op (a
/// visit of the registry), so each is vectorised on its own.
enum InlineForward<'a, T: Element> {
    Copy(&'a [T], &'a mut [T]),
    InPlace(&'a mut [T]),
}

/// The backward twin of [`InlineForward`].
enum InlineBackward<'a, T: Element> {
    Copy(&'a [T], &'a [T], &'a mut [T]),
    InPlace(&'a [T], &'a mut [T]),
}

struct Visit<I, P>(I, P);

impl<T: Element> VisitForward for Visit<InlineForward<'_, T>, Params<T::Kernel>> {
    type Output = ();
    #[inline(always)]
    fn visit<O: ForwardOp>(self) {
        let p = self.1;
        let f = |v: T| T::from_kernel(O::oracle(v.to_kernel(), &p));
        match self.0 {
            InlineForward::Copy(x, y) => y.iter_mut().zip(x).for_each(|(o, &v)| *o = f(v)),
            InlineForward::InPlace(x) => x.iter_mut().for_each(|v| *v = f(*v)),
        }
    }
}

impl<T: Element> VisitBackward for Visit<InlineBackward<'_, T>, Params<T::Kernel>> {
    type Output = ();
    #[inline(always)]
    fn visit<O: BackwardOp>(self) {
        let p = self.1;
        let f = |a: T, g: T| T::from_kernel(O::oracle(a.to_kernel(), g.to_kernel(), &p));
        match self.0 {
            InlineBackward::Copy(y, dy, dx) => {
                for ((o, &a), &g) in dx.iter_mut().zip(y).zip(dy) {
                    *o = f(a, g);
                }
            }
            InlineBackward::InPlace(y, dy) => {
                for (g, &a) in dy.iter_mut().zip(y) {
                    *g = f(a, *g);
                }
            }
        }
    }
}

/// A call short enough to run inline: `act`'s parameters rounded to `T` (or the
/// refusal), then the op's oracle loop.
#[inline(always)]
fn inline_forward<T: Element>(act: &Activation, call: InlineForward<'_, T>) -> Result<(), Error> {
    let p = act.params_as::<T>()?;
    visit_forward(act.op().forward(), Visit(call, p));
    Ok(())
}

/// The backward twin of [`inline_forward`].
#[inline(always)]
fn inline_backward<T: Element>(act: &Activation, call: InlineBackward<'_, T>) -> Result<(), Error> {
    let p = act.params_as::<T>()?;
    visit_backward(act.op().backward(), Visit(call, p));
    Ok(())
}

/// A call of a free function with parameters (`leaky_relu`, `clip` and the others):
/// [`Kernel`]'s calls on the default ISA with [`Threads::Auto`], for an activation
/// made for the call. A call longer than the op's [`Element::inline_max`] checks its
/// parameters and calls the kernel path, a kernel built in that branch only: one
/// built before the length test would be written to the stack on every call, short
/// ones included (the kernel path takes its address), as LLVM does not sink those
/// stores into the branch that needs them. A short call whose parameters pass the
/// quick tests ([`Activation::quick_params`]) runs the oracle inline and touches no
/// memory but the slices; one whose parameters do not goes out of line to the full
/// checks, with the op and the parameters as scalars (in registers): a refusal
/// worked out in line would keep registers saved on every call.
#[derive(Clone, Copy)]
pub(crate) struct Once {
    op: Op,
    /// The parameters in the registry's slots (unused ones 0).
    params: [f64; MAX_SCALARS],
}

impl Once {
    /// `op` with its parameters in registry order (checked by the call).
    #[inline(always)]
    pub(crate) fn new<const N: usize>(op: Op, given: [f64; N]) -> Once {
        const { assert!(N <= MAX_SCALARS) };
        let mut params = [0.0; MAX_SCALARS];
        params[..N].copy_from_slice(&given);
        Once { op, params }
    }

    /// The checked activation, or the refusal of a parameter.
    #[inline(always)]
    fn full(op: Op, params: [f64; MAX_SCALARS]) -> Result<Kernel, Error> {
        let n = op.def().params.len();
        Ok(Kernel::new(Activation::for_one_call(op, &params[..n])?))
    }

    /// The parameters for a short call (`None`: the full checks decide).
    #[inline(always)]
    fn quick<T: Element>(self) -> Option<Params<T::Kernel>> {
        let n = self.op.def().params.len();
        Activation::quick_params::<T>(self.op, &self.params[..n])
    }

    /// [`Kernel::forward`].
    #[inline(always)]
    pub(crate) fn forward<T: Element>(self, x: &[T], y: &mut [T]) -> Result<(), Error> {
        if x.len() > T::inline_max(self.op.def()) || x.len() != y.len() {
            return Once::full(self.op, self.params)?.forward_kernel(x, y);
        }
        if let Some(p) = self.quick::<T>() {
            visit_forward(self.op.forward(), Visit(InlineForward::Copy(x, y), p));
            return Ok(());
        }
        let [a, b] = self.params;
        Once::forward_full(self.op, a, b, x, y)
    }

    #[inline(never)]
    fn forward_full<T: Element>(op: Op, a: f64, b: f64, x: &[T], y: &mut [T]) -> Result<(), Error> {
        Once::full(op, [a, b])?.forward(x, y)
    }

    /// [`Kernel::forward_in_place`].
    #[inline(always)]
    pub(crate) fn forward_in_place<T: Element>(self, x: &mut [T]) -> Result<(), Error> {
        if x.len() > T::inline_max(self.op.def()) {
            return Once::full(self.op, self.params)?.forward_in_place_kernel(x);
        }
        if let Some(p) = self.quick::<T>() {
            visit_forward(self.op.forward(), Visit(InlineForward::InPlace(x), p));
            return Ok(());
        }
        let [a, b] = self.params;
        Once::forward_in_place_full(self.op, a, b, x)
    }

    #[inline(never)]
    fn forward_in_place_full<T: Element>(op: Op, a: f64, b: f64, x: &mut [T]) -> Result<(), Error> {
        Once::full(op, [a, b])?.forward_in_place(x)
    }

    /// [`Kernel::backward`].
    #[inline(always)]
    pub(crate) fn backward<T: Element>(self, y: &[T], dy: &[T], dx: &mut [T]) -> Result<(), Error> {
        if y.len() > T::inline_max(self.op.def()) || y.len() != dy.len() || y.len() != dx.len() {
            return Once::full(self.op, self.params)?.backward_kernel(y, dy, dx);
        }
        if let Some(p) = self.quick::<T>() {
            visit_backward(
                self.op.backward(),
                Visit(InlineBackward::Copy(y, dy, dx), p),
            );
            return Ok(());
        }
        let [a, b] = self.params;
        Once::backward_full(self.op, a, b, y, dy, dx)
    }

    #[inline(never)]
    fn backward_full<T: Element>(
        op: Op,
        a: f64,
        b: f64,
        y: &[T],
        dy: &[T],
        dx: &mut [T],
    ) -> Result<(), Error> {
        Once::full(op, [a, b])?.backward(y, dy, dx)
    }
}

impl Kernel {
    /// The activation on the default ISA ([`Isa::dispatched`]) with [`Threads::Auto`].
    pub const fn new(act: Activation) -> Kernel {
        Kernel {
            act,
            isa: None,
            threads: Threads::Auto,
            pool: Pool::Rayon,
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

    /// How many pieces a forward call out of place on `len` elements of `T` would be
    /// split into (pieces are handed to the current rayon pool, which may run several on
    /// one worker); 1 means serial on the calling thread. In place a call has a
    /// threshold of its own ([`crate::tuning::parallel_min_bytes_in_place`]), against
    /// which its one buffer counts once. The count is that of a call outside a burst
    /// ([`Threads::Auto`]): one that follows another closely may split from
    /// [`crate::tuning::burst_min_bytes`].
    pub fn pieces<T: Element>(&self, len: usize) -> usize {
        exec::plan(
            len,
            size_of::<T>(),
            exec::Buffers::separate(2),
            self.exec(false),
        )
        .1
    }

    /// The tables of this kernel's ISA: the cached ones of the default dispatch (one
    /// relaxed load), or the forced ISA's.
    #[inline]
    fn tables(&self) -> Runnable {
        match self.isa {
            None => Runnable::dispatched(),
            // SAFETY: a forced ISA is only ever set by `with_isa`, which checked it.
            Some(isa) => unsafe { Runnable::checked(isa) },
        }
    }

    /// Whether a call on `len` elements runs the oracle inline ([`Element::inline_max`];
    /// only on the default dispatch, so a forced ISA always runs its own kernel).
    #[inline(always)]
    fn inline<T: Element>(&self, len: usize) -> bool {
        self.isa.is_none() && len <= T::inline_max(self.act.op().def())
    }

    /// `y = act(x)`. Lengths must match.
    // Always inlined so that a short call with a constant activation (the one-liners)
    // is a plain loop at the call site; the kernel path is out of line, and never
    // inlined: inlined, its frame (six saved registers, 248 bytes of stack on x86_64)
    // would be set up on every call, short ones included (f32 relu of one element
    // measured 1.8x a plain loop's time that way on Zen 4).
    #[inline(always)]
    pub fn forward<T: Element>(&self, x: &[T], y: &mut [T]) -> Result<(), Error> {
        if self.inline::<T>(x.len()) && x.len() == y.len() {
            return inline_forward(&self.act, InlineForward::Copy(x, y));
        }
        self.forward_kernel(x, y)
    }

    #[inline(never)]
    fn forward_kernel<T: Element>(&self, x: &[T], y: &mut [T]) -> Result<(), Error> {
        self.run_forward(Unary::slices(x, y)?)
    }

    /// `x = act(x)`. Refused only if the parameter is invalid once rounded to `T`.
    #[inline(always)]
    pub fn forward_in_place<T: Element>(&self, x: &mut [T]) -> Result<(), Error> {
        if self.inline::<T>(x.len()) {
            return inline_forward(&self.act, InlineForward::InPlace(x));
        }
        self.forward_in_place_kernel(x)
    }

    #[inline(never)]
    fn forward_in_place_kernel<T: Element>(&self, x: &mut [T]) -> Result<(), Error> {
        self.run_forward(Unary::in_place(x))
    }

    /// `dx = act'(y) * dy`, from the forward **output** `y`. Lengths must match.
    #[inline(always)]
    pub fn backward<T: Element>(&self, y: &[T], dy: &[T], dx: &mut [T]) -> Result<(), Error> {
        if self.inline::<T>(y.len()) && y.len() == dy.len() && y.len() == dx.len() {
            return inline_backward(&self.act, InlineBackward::Copy(y, dy, dx));
        }
        self.backward_kernel(y, dy, dx)
    }

    #[inline(never)]
    fn backward_kernel<T: Element>(&self, y: &[T], dy: &[T], dx: &mut [T]) -> Result<(), Error> {
        self.run_backward(Binary::slices(y, dy, dx)?)
    }

    /// `dy = act'(y) * dy` (Caffe2's in-place pair {1, 0}: dX overwrites dY).
    #[inline(always)]
    pub fn backward_in_place<T: Element>(&self, y: &[T], dy: &mut [T]) -> Result<(), Error> {
        if self.inline::<T>(y.len()) && y.len() == dy.len() {
            return inline_backward(&self.act, InlineBackward::InPlace(y, dy));
        }
        self.backward_in_place_kernel(y, dy)
    }

    #[inline(never)]
    fn backward_in_place_kernel<T: Element>(&self, y: &[T], dy: &mut [T]) -> Result<(), Error> {
        self.run_backward(Binary::in_place(y, dy)?)
    }

    /// `y = act(x)` on views that may alias. The same range runs in place, disjoint
    /// ranges run out of place, a partial overlap is [`Error::Overlap`].
    pub fn forward_aliased<T: Element>(&self, x: &[Cell<T>], y: &[Cell<T>]) -> Result<(), Error> {
        self.run_forward(Unary::cells(x, y)?)
    }

    /// `dx = act'(y) * dy` on views that may alias: `dx` may be exactly `dy` or `y`
    /// (or disjoint from both); `y` and `dy` may overlap each other freely.
    pub fn backward_aliased<T: Element>(
        &self,
        y: &[Cell<T>],
        dy: &[Cell<T>],
        dx: &[Cell<T>],
    ) -> Result<(), Error> {
        self.run_backward(Binary::cells(y, dy, dx)?)
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
        // SAFETY: the caller's promise is `Unary::raw`'s.
        self.run_forward(unsafe { Unary::raw(x, y, len)? })
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
        // SAFETY: the caller's promise is `Binary::raw`'s.
        self.run_backward(unsafe { Binary::raw(y, dy, dx, len)? })
    }

    /// `act(x)` into a new vector (feature `candle`): the kernel stores straight into
    /// the vector's unused capacity, so the output is written once, not zeroed first.
    #[cfg(feature = "candle")]
    #[inline]
    pub(crate) fn forward_vec<T: Element>(&self, x: &[T]) -> Result<Vec<T>, Error> {
        let n = x.len();
        if self.inline::<T>(n) {
            let mut v = vec![T::default(); n];
            self.forward(x, &mut v)?;
            return Ok(v);
        }
        let mut v = Vec::with_capacity(n);
        crate::candle::advise_huge_pages(&mut v.spare_capacity_mut()[..n]);
        self.run_forward_into(Unary::uninit(x, &mut v.spare_capacity_mut()[..n])?, true)?;
        // SAFETY: the capacity is at least `n`, and the kernel has stored all `n`
        // elements (a forward kernel writes `dst[i]` for every `i < len`; the call
        // returned `Ok`, so it ran).
        unsafe { v.set_len(n) };
        Ok(v)
    }

    /// `act'(y) * dy` into a new vector (feature `candle`), as [`Kernel::forward_vec`].
    #[cfg(feature = "candle")]
    #[inline]
    pub(crate) fn backward_vec<T: Element>(&self, y: &[T], dy: &[T]) -> Result<Vec<T>, Error> {
        let n = y.len();
        if self.inline::<T>(n) {
            let mut v = vec![T::default(); n];
            self.backward(y, dy, &mut v)?;
            return Ok(v);
        }
        let mut v = Vec::with_capacity(n);
        crate::candle::advise_huge_pages(&mut v.spare_capacity_mut()[..n]);
        self.run_backward_into(
            Binary::uninit(y, dy, &mut v.spare_capacity_mut()[..n])?,
            true,
        )?;
        // SAFETY: as in `forward_vec` (a backward kernel writes `dx[i]` for every
        // `i < len`).
        unsafe { v.set_len(n) };
        Ok(v)
    }

    /// The forward kernel over checked ranges: the parameters are checked (rounded to
    /// `T`) before anything is written.
    #[inline]
    fn run_forward<T: Element>(&self, r: Unary<'_, T>) -> Result<(), Error> {
        self.run_forward_into(r, false)
    }

    /// [`Kernel::run_forward`] into an output allocated for the call (`fresh`) or not.
    #[inline]
    fn run_forward_into<T: Element>(&self, r: Unary<'_, T>, fresh: bool) -> Result<(), Error> {
        let p = self.act.params_as::<T>()?;
        let t = self.tables();
        exec::forward(t, self.act.op().forward(), r, &p, self.exec(fresh));
        Ok(())
    }

    /// How a call runs, its output allocated for it (`fresh`) or not.
    #[inline]
    fn exec(&self, fresh: bool) -> Exec {
        Exec {
            threads: self.threads,
            pool: self.pool,
            fresh,
        }
    }

    /// This kernel with its calls split across candle's CPU pool rather than rayon's
    /// (the calls on candle tensors).
    #[cfg(feature = "candle")]
    pub(crate) const fn on_candle_pool(self) -> Kernel {
        Kernel {
            pool: Pool::Candle,
            ..self
        }
    }

    /// The backward kernel over checked ranges.
    #[inline]
    fn run_backward<T: Element>(&self, r: Binary<'_, T>) -> Result<(), Error> {
        self.run_backward_into(r, false)
    }

    /// [`Kernel::run_backward`] into an output allocated for the call (`fresh`) or not.
    #[inline]
    fn run_backward_into<T: Element>(&self, r: Binary<'_, T>, fresh: bool) -> Result<(), Error> {
        let p = self.act.params_as::<T>()?;
        let t = self.tables();
        exec::backward(t, self.act.op().backward(), r, &p, self.exec(fresh));
        Ok(())
    }
}
