//! PRelu (Caffe2's `PRelu` and `PReluGradient`): leaky_relu with one slope per
//! channel, learned (so any finite value, negative included).
//!
//! - forward: `y = x < 0 ? w[c] * x : x` (NaN and -0.0 pass through with their bits);
//! - input gradient, from the forward **input** `x`: `dx = x > 0 ? dy : w[c] * dy`;
//! - slope gradient: `dw[c]` = the sum of `x * dy` over channel `c`'s positions where
//!   `x` is not `> 0` (a NaN `x` included), in a fixed order (see `docs/DESIGN.md`), so
//!   that it has the same bits on every ISA and for every thread count.
//!
//! The channel dimension is `dims[1]` ([`Order::Nchw`], Caffe2's default) or the last
//! one ([`Order::Nhwc`]); a slope of one value is shared by every channel.

use std::cell::Cell;
use std::fmt;
use std::str::FromStr;

use caffe2op_relu_kernels::prelu::Shape;

use crate::element::Element;
use crate::error::Error;
use crate::exec::{self, Binary, Exec, Pool, Runnable, Slopes, Threads, Unary, check_len};
use crate::isa::Isa;

/// Where the channel dimension is (Caffe2's `order` argument).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Order {
    /// Channels first: `dims[1]` (at least two dimensions).
    #[default]
    Nchw,
    /// Channels last: the last dimension (at least one).
    Nhwc,
}

impl fmt::Display for Order {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Order::Nchw => "NCHW",
            Order::Nhwc => "NHWC",
        })
    }
}

impl FromStr for Order {
    type Err = String;
    /// `"NCHW"` or `"NHWC"`, as Caffe2 spells them.
    fn from_str(s: &str) -> Result<Order, String> {
        match s {
            "NCHW" => Ok(Order::Nchw),
            "NHWC" => Ok(Order::Nhwc),
            _ => Err(format!("unknown order `{s}` (NCHW or NHWC)")),
        }
    }
}

/// The channel count of `dims` in `order`, and the kernels' view of a tensor of `len`
/// elements with a slope of `slope_len` values; `None` for an empty tensor.
pub(crate) fn shape_of(
    order: Order,
    dims: &[usize],
    slope_len: usize,
    len: usize,
) -> Result<(usize, Option<Shape>), Error> {
    let bad = |reason: String| Error::InvalidShape {
        arg: "x",
        dims: dims.to_vec(),
        reason,
    };
    let product = |d: &[usize]| d.iter().try_fold(1usize, |a, &b| a.checked_mul(b));
    let rank = if order == Order::Nchw { 2 } else { 1 };
    if dims.len() < rank {
        return Err(bad(format!(
            "order {order} needs at least {rank} dimension(s)"
        )));
    }
    // Any zero dim means no elements, whatever the others (as the operator layer's
    // tensors count them).
    let numel = if dims.contains(&0) {
        Some(0)
    } else {
        product(dims)
    }
    .ok_or_else(|| bad("the element count overflows usize".into()))?;
    if numel != len {
        return Err(bad(format!(
            "they describe {numel} elements, the data has {len}"
        )));
    }
    let (outer, channels, inner) = match order {
        Order::Nchw => (dims[0], dims[1], product(&dims[2..]).unwrap_or(0)),
        Order::Nhwc => {
            let last = dims.len() - 1;
            (product(&dims[..last]).unwrap_or(0), dims[last], 1)
        }
    };
    if slope_len != 1 && slope_len != channels {
        return Err(Error::SlopeCount {
            channels,
            found: slope_len,
        });
    }
    if len == 0 {
        return Ok((channels, None));
    }
    let shape = if slope_len == 1 {
        Shape {
            outer: 1,
            count: 1,
            inner: len,
        }
    } else {
        Shape {
            outer,
            count: channels,
            inner,
        }
    };
    Ok((channels, Some(shape)))
}

/// Refuses a slope value that is not finite, naming the first.
pub(crate) fn check_slope<T: Element>(slope: &[T]) -> Result<(), Error> {
    match slope.iter().position(|w| !w.to_f64().is_finite()) {
        None => Ok(()),
        Some(index) => Err(Error::InvalidSlope {
            index,
            value: slope[index].to_f64(),
            dtype: T::NAME,
        }),
    }
}

/// PRelu bound to a layout, an ISA choice and a threading policy.
///
/// Every call checks, before anything is written: that `dims` describe the data and
/// have the layout's channel dimension, that the slope holds 1 or `C` values, all
/// finite, and the other lengths and overlaps, as [`crate::Kernel`] does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Prelu {
    order: Order,
    isa: Option<Isa>,
    threads: Threads,
    /// Whose threads split a call: rayon's, or candle's for calls on its tensors.
    pool: Pool,
}

impl Prelu {
    /// PRelu for `order` on the default ISA with [`Threads::Auto`].
    pub const fn new(order: Order) -> Prelu {
        Prelu {
            order,
            isa: None,
            threads: Threads::Auto,
            pool: Pool::Rayon,
        }
    }

    /// Forces an ISA; [`Error::IsaUnavailable`] if this CPU cannot run it.
    pub fn with_isa(self, isa: Isa) -> Result<Prelu, Error> {
        Ok(Prelu {
            isa: Some(isa.check()?),
            ..self
        })
    }

    /// Sets the threading policy.
    pub const fn with_threads(self, threads: Threads) -> Prelu {
        Prelu { threads, ..self }
    }

    /// The layout.
    pub const fn order(&self) -> Order {
        self.order
    }

    /// The ISA this runs on (the forced one, or the default dispatch).
    pub fn isa(&self) -> Isa {
        self.isa.unwrap_or_else(Isa::dispatched)
    }

    /// The threading policy.
    pub const fn threads(&self) -> Threads {
        self.threads
    }

    /// How a call runs (its output is never one allocated by the call's kernel).
    fn exec(&self) -> Exec {
        Exec {
            threads: self.threads,
            pool: self.pool,
            fresh: false,
        }
    }

    /// This PRelu with its calls split across candle's CPU pool rather than rayon's
    /// (the calls on candle tensors).
    #[cfg(feature = "candle")]
    pub(crate) const fn on_candle_pool(self) -> Prelu {
        Prelu {
            pool: Pool::Candle,
            ..self
        }
    }

    fn tables(&self) -> Runnable {
        match self.isa {
            None => Runnable::dispatched(),
            // SAFETY: a forced ISA is only ever set by `with_isa`, which checked it.
            Some(isa) => unsafe { Runnable::checked(isa) },
        }
    }

    /// The kernels' shape after every check on `dims` and the slope.
    fn check<T: Element>(
        &self,
        dims: &[usize],
        slope: &[T],
        len: usize,
    ) -> Result<Option<Shape>, Error> {
        let (_, shape) = shape_of(self.order, dims, slope.len(), len)?;
        check_slope(slope)?;
        Ok(shape)
    }

    /// `y = prelu(x)`; `x` has dims `dims`; `y` has `x`'s length.
    pub fn forward<T: Element>(
        &self,
        x: &[T],
        dims: &[usize],
        slope: &[T],
        y: &mut [T],
    ) -> Result<(), Error> {
        let shape = self.check(dims, slope, x.len())?;
        let r = Unary::slices(x, y)?;
        self.run_forward(r, slope, shape);
        Ok(())
    }

    /// `x = prelu(x)` (Caffe2's in-place pair {0, 0}).
    pub fn forward_in_place<T: Element>(
        &self,
        x: &mut [T],
        dims: &[usize],
        slope: &[T],
    ) -> Result<(), Error> {
        let shape = self.check(dims, slope, x.len())?;
        self.run_forward(Unary::in_place(x), slope, shape);
        Ok(())
    }

    /// `y = prelu(x)` on views that may alias: the same range runs in place, disjoint
    /// ranges out of place, a partial overlap is [`Error::Overlap`].
    pub fn forward_aliased<T: Element>(
        &self,
        x: &[Cell<T>],
        dims: &[usize],
        slope: &[T],
        y: &[Cell<T>],
    ) -> Result<(), Error> {
        let shape = self.check(dims, slope, x.len())?;
        let r = Unary::cells(x, y)?;
        self.run_forward(r, slope, shape);
        Ok(())
    }

    /// The gradients, from the forward **input** `x`: `dx = x > 0 ? dy : w[c] * dy`
    /// and `dw` (one value per slope value) in the fixed summation order. `dy` and
    /// `dx` have `x`'s length, `dw` the slope's.
    pub fn backward<T: Element>(
        &self,
        x: &[T],
        dy: &[T],
        dims: &[usize],
        slope: &[T],
        dx: &mut [T],
        dw: &mut [T],
    ) -> Result<(), Error> {
        let shape = self.check(dims, slope, x.len())?;
        check_len("dw", slope.len(), dw.len())?;
        let r = Binary::slices(x, dy, dx)?;
        self.run_dw(x, dy, slope, dw, shape);
        self.run_dx(r, slope, shape);
        Ok(())
    }

    /// [`Prelu::backward`] on views that may alias: `dx` may be exactly `x` or `dy`
    /// (or disjoint from both); `x` and `dy` may overlap each other freely. `dw` is
    /// computed before `dx` is written.
    #[allow(clippy::too_many_arguments)]
    pub fn backward_aliased<T: Element>(
        &self,
        x: &[Cell<T>],
        dy: &[Cell<T>],
        dims: &[usize],
        slope: &[T],
        dx: &[Cell<T>],
        dw: &mut [T],
    ) -> Result<(), Error> {
        let shape = self.check(dims, slope, x.len())?;
        check_len("dw", slope.len(), dw.len())?;
        let r = Binary::cells(x, dy, dx)?;
        {
            // Read-only views for the slope gradient, which runs before `dx` is
            // written. They live only in this block: `dx` may be `x` or `dy`, and it is
            // written after the block, through `r`'s raw pointers.
            // SAFETY: `Cell<T>` has `T`'s layout; nothing writes through the cells
            // while these views exist (`run_dw` writes only `dw`, a `&mut` slice of its
            // own).
            let (xs, dys) = unsafe {
                (
                    std::slice::from_raw_parts(x.as_ptr().cast::<T>(), x.len()),
                    std::slice::from_raw_parts(dy.as_ptr().cast::<T>(), dy.len()),
                )
            };
            self.run_dw(xs, dys, slope, dw, shape);
        }
        self.run_dx(r, slope, shape);
        Ok(())
    }

    /// The forward kernel on part of a tensor: `r` covers the `r.len` elements that
    /// start `base` elements into a tensor of dims `dims` (row-major), out of place or
    /// in place. Checked as [`Prelu::forward`], against the whole tensor.
    #[cfg(feature = "candle")]
    pub(crate) fn forward_part<T: Element>(
        &self,
        r: Unary<'_, T>,
        dims: &[usize],
        slope: &[T],
        base: usize,
    ) -> Result<(), Error> {
        let total = dims
            .iter()
            .try_fold(1usize, |a, &d| a.checked_mul(d))
            .unwrap_or(usize::MAX);
        let shape = self.check(dims, slope, total)?;
        let Some(shape) = shape else { return Ok(()) };
        let s = Slopes::new(slope, shape).expect("checked shape").at(base);
        exec::prelu_forward(self.tables(), r, &s, self.exec());
        Ok(())
    }

    /// The input gradient alone ([`Prelu::backward`]'s `dx`).
    #[cfg(feature = "candle")]
    pub(crate) fn backward_dx<T: Element>(
        &self,
        x: &[T],
        dy: &[T],
        dims: &[usize],
        slope: &[T],
        dx: &mut [T],
    ) -> Result<(), Error> {
        let shape = self.check(dims, slope, x.len())?;
        let r = Binary::slices(x, dy, dx)?;
        self.run_dx(r, slope, shape);
        Ok(())
    }

    /// The slope gradient alone ([`Prelu::backward`]'s `dw`).
    #[cfg(feature = "candle")]
    pub(crate) fn backward_dw<T: Element>(
        &self,
        x: &[T],
        dy: &[T],
        dims: &[usize],
        slope: &[T],
        dw: &mut [T],
    ) -> Result<(), Error> {
        let shape = self.check(dims, slope, x.len())?;
        check_len("dy", x.len(), dy.len())?;
        check_len("dw", slope.len(), dw.len())?;
        self.run_dw(x, dy, slope, dw, shape);
        Ok(())
    }

    fn run_forward<T: Element>(&self, r: Unary<'_, T>, slope: &[T], shape: Option<Shape>) {
        let Some(shape) = shape else { return };
        let s = Slopes::new(slope, shape).expect("checked shape");
        exec::prelu_forward(self.tables(), r, &s, self.exec());
    }

    /// The slope gradient (no element: zeros).
    fn run_dw<T: Element>(
        &self,
        x: &[T],
        dy: &[T],
        slope: &[T],
        dw: &mut [T],
        shape: Option<Shape>,
    ) {
        let Some(shape) = shape else {
            dw.fill(T::from_f64(0.0));
            return;
        };
        let s = Slopes::new(slope, shape).expect("checked shape");
        exec::prelu_dw(self.tables(), x, dy, &s, dw, self.exec());
    }

    /// The input gradient.
    fn run_dx<T: Element>(&self, r: Binary<'_, T>, slope: &[T], shape: Option<Shape>) {
        let Some(shape) = shape else { return };
        let s = Slopes::new(slope, shape).expect("checked shape");
        exec::prelu_backward(self.tables(), r, &s, self.exec());
    }
}

/// `y = prelu(x)` in NCHW on the default ISA.
pub fn prelu<T: Element>(x: &[T], dims: &[usize], slope: &[T], y: &mut [T]) -> Result<(), Error> {
    Prelu::new(Order::Nchw).forward(x, dims, slope, y)
}

/// `x = prelu(x)` in NCHW on the default ISA.
pub fn prelu_in_place<T: Element>(x: &mut [T], dims: &[usize], slope: &[T]) -> Result<(), Error> {
    Prelu::new(Order::Nchw).forward_in_place(x, dims, slope)
}

/// PRelu's gradients in NCHW on the default ISA ([`Prelu::backward`]).
pub fn prelu_grad<T: Element>(
    x: &[T],
    dy: &[T],
    dims: &[usize],
    slope: &[T],
    dx: &mut [T],
    dw: &mut [T],
) -> Result<(), Error> {
    Prelu::new(Order::Nchw).backward(x, dy, dims, slope, dx, dw)
}
