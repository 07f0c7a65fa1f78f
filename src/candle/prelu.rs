//! PRelu on candle tensors: [`prelu`], [`prelu_in_place`] and [`Prelu`]'s tensor
//! methods, with autograd for both inputs.

use std::borrow::Cow;

use candle_core::{CpuStorage, CustomOp2, CustomOp3, InplaceOp2, Layout, Shape, Tensor};

use super::{Label, check, contiguous, msg, refused, store, walk};
use crate::element::Element;
use crate::exec::Unary;
use crate::prelu::{Order, Prelu};

/// The name PRelu's candle errors carry.
#[derive(Clone, Copy)]
struct Name;

impl Label for Name {
    fn label(self) -> &'static str {
        "prelu"
    }
}

/// `prelu(x; slope)` into a new tensor, channels on dimension 1 (NCHW, as Caffe2's
/// default and candle-nn's `PReLU`), with autograd for `x` and `slope` (feature
/// `candle`). `slope` holds 1 or `C` finite values, in any shape and layout.
///
/// ```
/// use caffe2op_relu::candle::{self, candle_core};
/// use candle_core::{Device, Tensor, Var};
///
/// let x = Var::new(&[[-2.0f32, 4.0], [-8.0, 1.0]], &Device::Cpu)?; // N = 2, C = 2
/// let w = Var::new(&[0.5f32, 0.25], &Device::Cpu)?;
/// let y = candle::prelu(&x, &w)?;
/// assert_eq!(y.to_vec2::<f32>()?, [[-1.0, 4.0], [-4.0, 1.0]]);
/// let g = y.sum_all()?.backward()?;
/// // dw[c]: the sum of x * dy where x is not > 0; channel 0 holds -2 and -8.
/// assert_eq!(g.get(&w).unwrap().to_vec1::<f32>()?, [-10.0, 0.0]);
/// # Ok::<(), candle_core::Error>(())
/// ```
pub fn prelu(x: &Tensor, slope: &Tensor) -> candle_core::Result<Tensor> {
    Prelu::new(Order::Nchw).forward_tensor(x, slope)
}

/// `x = prelu(x; slope)` in place, NCHW (feature `candle`; no gradient is recorded).
pub fn prelu_in_place(x: &Tensor, slope: &Tensor) -> candle_core::Result<()> {
    Prelu::new(Order::Nchw).forward_tensor_in_place(x, slope)
}

#[cfg_attr(docsrs, doc(cfg(feature = "candle")))]
impl Prelu {
    /// `prelu(x; slope)` in this layout into a new contiguous tensor, with autograd
    /// (feature `candle`): the backward pass is [`Prelu::backward_tensor`], so both
    /// `x` and `slope` get gradients. `x` may have any layout (walked as the module
    /// docs say); `slope` holds 1 or `C` values.
    pub fn forward_tensor(&self, x: &Tensor, slope: &Tensor) -> candle_core::Result<Tensor> {
        check_args(x, slope)?;
        if x.track_op() || slope.track_op() {
            x.apply_op2(slope, Forward(self.on_candle_pool()))
        } else {
            x.apply_op2_no_bwd(slope, &Forward(self.on_candle_pool()))
        }
    }

    /// `x = prelu(x; slope)` in place on a tensor of any layout (feature `candle`).
    /// Records no gradient. A layout that reaches one element twice is refused.
    pub fn forward_tensor_in_place(&self, x: &Tensor, slope: &Tensor) -> candle_core::Result<()> {
        check_args(x, slope)?;
        x.inplace_op2(slope, &InPlace(self.on_candle_pool()))
    }

    /// The gradients from the forward **input** `x` (feature `candle`):
    /// `dx = x > 0 ? dy : slope[c] * dy` (`x`'s shape) and `dw`, one sum per slope
    /// value in the crate's fixed order (`slope`'s shape), bit-identical on every ISA
    /// and thread count. `dy` must have `x`'s shape and dtype. A strided `x` or `dy`
    /// is first made contiguous (a copy): the fixed summation order runs over the
    /// elements in row-major order. Records no gradient of its own.
    pub fn backward_tensor(
        &self,
        x: &Tensor,
        dy: &Tensor,
        slope: &Tensor,
    ) -> candle_core::Result<(Tensor, Tensor)> {
        check_args(x, slope)?;
        check(Name, "dy", dy)?;
        if dy.dims() != x.dims() || dy.dtype() != x.dtype() {
            return Err(msg(
                Name,
                format_args!(
                    "`dy` is {:?} {:?}, expected {:?} {:?} (the shape and dtype of `x`)",
                    dy.dtype(),
                    dy.dims(),
                    x.dtype(),
                    x.dims()
                ),
            ));
        }
        let (x, dy) = (x.contiguous()?, dy.contiguous()?);
        let dx = x.apply_op3_no_bwd(&dy, slope, &Grad(self.on_candle_pool(), Part::Dx))?;
        let dw = x.apply_op3_no_bwd(&dy, slope, &Grad(self.on_candle_pool(), Part::Dw))?;
        Ok((dx, dw))
    }
}

/// Refuses `x` or `slope` off the CPU, of another dtype than the supported ones, or
/// of different dtypes.
fn check_args(x: &Tensor, slope: &Tensor) -> candle_core::Result<()> {
    check(Name, "x", x)?;
    check(Name, "slope", slope)?;
    if x.dtype() != slope.dtype() {
        return Err(msg(
            Name,
            format_args!(
                "`slope` has dtype {:?}, expected {:?} (the dtype of `x`)",
                slope.dtype(),
                x.dtype()
            ),
        ));
    }
    Ok(())
}

/// The forward op (allocating, with a backward pass for both inputs).
struct Forward(Prelu);
/// The forward op in place.
struct InPlace(Prelu);
/// One of the gradients: `(x, dy, slope) -> dx` or `-> dw`.
struct Grad(Prelu, Part);

#[derive(Clone, Copy, PartialEq, Eq)]
enum Part {
    Dx,
    Dw,
}

/// The slope's values in row-major order: borrowed when its layout is contiguous,
/// gathered (1 or `C` values) otherwise.
fn slope_values<'a, T: Copy>(v: &'a [T], l: &Layout) -> candle_core::Result<Cow<'a, [T]>> {
    if let Some(s) = contiguous(Name, v, l)? {
        return Ok(Cow::Borrowed(s));
    }
    let mut out = Vec::with_capacity(l.shape().elem_count());
    walk(
        l.dims(),
        [l.stride()],
        [l.start_offset()],
        [v.len()],
        |[i], n| {
            out.extend_from_slice(&v[i..i + n]);
            Ok(())
        },
    )
    .map_err(|e| e.into_candle(Name))?;
    Ok(Cow::Owned(out))
}

fn forward_into_new<T: Element>(
    p: &Prelu,
    v: &[T],
    l: &Layout,
    w: &[T],
    lw: &Layout,
) -> candle_core::Result<Vec<T>> {
    let w = slope_values(w, lw)?;
    let dims = l.dims();
    let mut out = vec![T::default(); l.shape().elem_count()];
    if let Some(x) = contiguous(Name, v, l)? {
        p.forward(x, dims, &w, &mut out)
            .map_err(|e| refused(Name, &e))?;
        return Ok(out);
    }
    // Block by block, each call told where its block starts in the whole tensor (the
    // channel of an element follows from its position).
    let mut o = 0;
    walk(
        dims,
        [l.stride()],
        [l.start_offset()],
        [v.len()],
        |[i], n| {
            let r = Unary::slices(&v[i..i + n], &mut out[o..o + n])?;
            p.forward_part(r, dims, &w, o)?;
            o += n;
            Ok(())
        },
    )
    .map_err(|e| e.into_candle(Name))?;
    Ok(out)
}

fn forward_in_place<T: Element>(
    p: &Prelu,
    v: &mut [T],
    l: &Layout,
    w: &[T],
    lw: &Layout,
) -> candle_core::Result<()> {
    let w = slope_values(w, lw)?;
    // A contiguous layout reaches every element once (see the activations'
    // `forward_in_place`); the overlap test, which allocates, is for the others.
    if !l.is_contiguous() && l.has_internal_overlap() {
        return Err(msg(
            Name,
            format_args!("the layout reaches an element twice (a broadcast); not in place"),
        ));
    }
    let dims = l.dims();
    let len = v.len();
    // Every block's call makes the same checks (on the whole tensor's dims and the
    // slope) before it writes, so a refusal comes at the first block, before anything
    // is written.
    let mut o = 0;
    walk(dims, [l.stride()], [l.start_offset()], [len], |[i], n| {
        p.forward_part(Unary::in_place(&mut v[i..i + n]), dims, &w, o)?;
        o += n;
        Ok(())
    })
    .map_err(|e| e.into_candle(Name))
}

fn grad_into_new<T: Element>(
    g: &Grad,
    (x, lx): (&[T], &Layout),
    (dy, ldy): (&[T], &Layout),
    (w, lw): (&[T], &Layout),
) -> candle_core::Result<Vec<T>> {
    let w = slope_values(w, lw)?;
    let (Some(x), Some(dy)) = (contiguous(Name, x, lx)?, contiguous(Name, dy, ldy)?) else {
        // `backward_tensor` passes contiguous tensors only.
        return Err(msg(
            Name,
            format_args!("the gradient kernels take contiguous `x` and `dy`"),
        ));
    };
    let dims = lx.dims();
    let r = match g.1 {
        Part::Dx => {
            let mut dx = vec![T::default(); x.len()];
            g.0.backward_dx(x, dy, dims, &w, &mut dx).map(|()| dx)
        }
        Part::Dw => {
            let mut dw = vec![T::default(); w.len()];
            g.0.backward_dw(x, dy, dims, &w, &mut dw).map(|()| dw)
        }
    };
    r.map_err(|e| refused(Name, &e))
}

/// Runs `$body` with `$T` bound to the element type shared by the storages `$s`
/// (each bound to its vector as `$v`); mixed or unsupported dtypes are refused.
macro_rules! same_dtype {
    (($($s:expr => $v:ident),+), |$T:ident| $body:expr) => {
        match ($($s),+) {
            ($(CpuStorage::F32($v)),+) => {
                type $T = f32;
                $body
            }
            ($(CpuStorage::F64($v)),+) => {
                type $T = f64;
                $body
            }
            ($(CpuStorage::F16($v)),+) => {
                type $T = half::f16;
                $body
            }
            ($(CpuStorage::BF16($v)),+) => {
                type $T = half::bf16;
                $body
            }
            _ => Err(msg(
                Name,
                format_args!("the dtypes must be equal and one of f32, f64, f16, bf16"),
            )),
        }
    };
}

impl CustomOp2 for Forward {
    fn name(&self) -> &'static str {
        "prelu"
    }

    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
    ) -> candle_core::Result<(CpuStorage, Shape)> {
        let out = same_dtype!((s1 => x, s2 => w), |T| {
            forward_into_new::<T>(&self.0, x, l1, w, l2).map(store)
        })?;
        Ok((out, l1.shape().clone()))
    }

    fn bwd(
        &self,
        x: &Tensor,
        slope: &Tensor,
        _y: &Tensor,
        dy: &Tensor,
    ) -> candle_core::Result<(Option<Tensor>, Option<Tensor>)> {
        let (dx, dw) = self.0.backward_tensor(x, dy, slope)?;
        Ok((Some(dx), Some(dw)))
    }
}

impl InplaceOp2 for InPlace {
    fn name(&self) -> &'static str {
        "prelu"
    }

    fn cpu_fwd(
        &self,
        s1: &mut CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
    ) -> candle_core::Result<()> {
        same_dtype!((s1 => x, s2 => w), |T| forward_in_place::<T>(&self.0, x, l1, w, l2))
    }
}

impl CustomOp3 for Grad {
    fn name(&self) -> &'static str {
        match self.1 {
            Part::Dx => "prelu_grad_x",
            Part::Dw => "prelu_grad_slope",
        }
    }

    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
        s3: &CpuStorage,
        l3: &Layout,
    ) -> candle_core::Result<(CpuStorage, Shape)> {
        let out = same_dtype!((s1 => x, s2 => dy, s3 => w), |T| {
            grad_into_new::<T>(self, (x, l1), (dy, l2), (w, l3)).map(store)
        })?;
        let shape = match self.1 {
            Part::Dx => l1.shape().clone(),
            Part::Dw => l3.shape().clone(),
        };
        Ok((out, shape))
    }
}
