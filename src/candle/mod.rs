//! [`candle`](https://docs.rs/candle-core/0.11) support (cargo feature `candle`): the
//! family on candle CPU tensors, with autograd.
//!
//! | call | slice twin |
//! |---|---|
//! | [`relu`]`(&x)`, [`relu_n`]`(&x, n)`, [`leaky_relu`]`(&x, alpha)`, [`clip`]`(&x, min, max)` | [`crate::relu`], ... |
//! | [`relu_in_place`]`(&x)`, [`relu_n_in_place`]`(&x, n)`, [`leaky_relu_in_place`]`(&x, alpha)`, [`clip_in_place`]`(&x, min, max)` | [`crate::relu_in_place`], ... |
//! | [`Kernel::forward_tensor`]`(&x)` | [`Kernel::forward`] |
//! | [`Kernel::forward_tensor_in_place`]`(&x)` | [`Kernel::forward_in_place`] |
//! | [`Kernel::backward_tensor`]`(&y, &dy)` | [`Kernel::backward`] |
//! | [`prelu`]`(&x, &slope)`, [`prelu_in_place`]`(&x, &slope)` (NCHW) | [`crate::prelu`], [`crate::prelu_in_place`] |
//! | [`Prelu::forward_tensor`](crate::Prelu::forward_tensor)`(&x, &slope)`, [`Prelu::forward_tensor_in_place`](crate::Prelu::forward_tensor_in_place) | [`crate::Prelu::forward`], ... |
//! | [`Prelu::backward_tensor`](crate::Prelu::backward_tensor)`(&x, &dy, &slope)` | [`crate::Prelu::backward`] |
//!
//! [`Kernel`] also implements [`candle_core::Module`], so `x.apply(&kernel)` works in a
//! candle model. The element types are candle's `F32`, `F64`, `F16` and `BF16`; the
//! results are the oracle's, bit for bit, like every other entry point of the crate.
//!
//! # Autograd
//!
//! The allocating forms are candle custom ops ([`candle_core::CustomOp1`]) whose
//! backward pass runs the crate's gradient kernel from the forward **output** (the
//! crate's gradients are defined from `y`, as Caffe2's are): `x.backward()` through
//! them gives `dx = act'(y) * dy`. So a model trained with candle's optimisers can use
//! them in place of `Tensor::relu`, `Tensor::clamp` or `candle_nn::ops::leaky_relu`.
//! Where the two differ (the gradient at exactly zero, NaN inputs, `-0.0`) is in
//! `docs/DESIGN.md`. PRelu ([`prelu`]) is a [`candle_core::CustomOp2`] whose backward
//! pass gives both `dx` and the slope's gradient from the forward **input**, as
//! Caffe2's PReluGradient does ([`Prelu::backward_tensor`](crate::Prelu::backward_tensor)).
//! The in-place forms are [`candle_core::InplaceOp1`]s (PRelu's an `InplaceOp2`) and,
//! like every in-place op of candle, record no gradient.
//!
//! # Layouts
//!
//! - A contiguous tensor (any start offset in its storage) goes to the slice kernels in
//!   one call; the allocating forms write the new storage once (it is not zeroed
//!   first), with plain stores whatever its size (streaming stores would send the
//!   lines of memory just handed over, which sit in the cache, to DRAM twice).
//! - A strided view (a transposed, narrowed or broadcast tensor) is walked block by
//!   block: the trailing dimensions that are contiguous in every argument form one
//!   kernel call each (a narrowed matrix runs one call per row); when the innermost
//!   dimension itself is strided, element by element with the oracle. Nothing is copied
//!   into a temporary tensor. The output of an allocating form is contiguous.
//!
//! # Threads
//!
//! With [`Threads::Auto`](crate::Threads::Auto) a call on a candle tensor is split
//! across **candle's own CPU pool**, the one its elementwise ops use (sized by
//! `CANDLE_NUM_THREADS`, else `RAYON_NUM_THREADS`, else the physical cores), not
//! rayon's: from 64 Ki elements, where candle's own ops split, and in place from a
//! 1 MiB buffer as well. candle's workers wait spinning for a while after each call,
//! so a split right after another op costs little; after they have gone to sleep, the
//! first split waits for the OS to wake them, as candle's own ops do.
//! [`Threads::Serial`](crate::Threads::Serial) keeps every call on the caller's thread.
//!
//! # Refusals
//!
//! Every refusal is a [`candle_core::Error`] whose message names the op and what was
//! wrong, and a refused call writes nothing and does not panic:
//!
//! - a parameter the crate refuses (`alpha` NaN or negative, `n <= 0`, or one that
//!   rounding to the tensor's type breaks, such as `n = 1e-50` in `f32`);
//! - a dtype other than `f32`, `f64`, `f16`, `bf16`;
//! - a tensor on another device than the CPU: the crate's kernels are CPU code, and
//!   candle's own ops do not give the crate's results (see `docs/DESIGN.md`), so the
//!   message names the device instead of falling back to them;
//! - for [`Kernel::backward_tensor`], `dy` of another shape or dtype than `y`.
//!
//! # Example
//!
//! ```
//! use caffe2op_relu::candle::{self, candle_core};
//! use candle_core::{Device, Tensor, Var};
//!
//! let x = Var::new(&[-2.0f32, -0.5, 0.5, 8.0], &Device::Cpu)?;
//! let y = candle::relu_n(&x, 6.0)?;
//! assert_eq!(y.to_vec1::<f32>()?, [0.0, 0.0, 0.5, 6.0]);
//!
//! // Autograd: d(sum(y))/dx, from the forward output y.
//! let grads = y.sum_all()?.backward()?;
//! assert_eq!(grads.get(&x).unwrap().to_vec1::<f32>()?, [0.0, 0.0, 1.0, 0.0]);
//!
//! // In place, on a strided view (every other column of a 2x4 matrix).
//! let m = Tensor::arange(-4.0f64, 4.0, &Device::Cpu)?.reshape((2, 4))?;
//! candle::leaky_relu_in_place(&m.narrow(1, 0, 2)?, 0.5)?;
//! assert_eq!(m.to_vec2::<f64>()?, [[-2.0, -1.5, -2.0, -1.0], [0.0, 1.0, 2.0, 3.0]]);
//!
//! // A refused parameter names itself; nothing is written.
//! let err = candle::leaky_relu_in_place(&m, f64::NAN).unwrap_err();
//! assert!(err.to_string().contains("invalid `alpha` = NaN"));
//! assert_eq!(m.to_vec2::<f64>()?[0], [-2.0, -1.5, -2.0, -1.0]);
//! # Ok::<(), candle_core::Error>(())
//! ```

use candle_core::backend::BackendStorage;
use candle_core::{
    CpuStorage, CustomOp1, CustomOp2, DType, InplaceOp1, Layout, Shape, Tensor, WithDType,
};

use crate::activation::{Activation, Op};
use crate::element::Element;
use crate::error::Error;
use crate::kernel::Kernel;

/// The `candle-core` crate this feature is built against (0.11), for matching versions.
pub use candle_core;

/// `relu(x)` into a new tensor, with autograd (feature `candle`).
pub fn relu(x: &Tensor) -> candle_core::Result<Tensor> {
    Kernel::new(Activation::relu()).forward_tensor(x)
}

/// `relu_n(x; n)` into a new tensor, with autograd (feature `candle`).
pub fn relu_n(x: &Tensor, n: f64) -> candle_core::Result<Tensor> {
    kernel(Op::ReluN, n)?.forward_tensor(x)
}

/// `leaky_relu(x; alpha)` into a new tensor, with autograd (feature `candle`).
pub fn leaky_relu(x: &Tensor, alpha: f64) -> candle_core::Result<Tensor> {
    kernel(Op::LeakyRelu, alpha)?.forward_tensor(x)
}

/// `clip(x; min, max)` into a new tensor, with autograd (feature `candle`).
pub fn clip(x: &Tensor, min: f64, max: f64) -> candle_core::Result<Tensor> {
    clip_kernel(min, max)?.forward_tensor(x)
}

/// `x = relu(x)` in place (feature `candle`; no gradient is recorded).
pub fn relu_in_place(x: &Tensor) -> candle_core::Result<()> {
    Kernel::new(Activation::relu()).forward_tensor_in_place(x)
}

/// `x = relu_n(x; n)` in place (feature `candle`; no gradient is recorded).
pub fn relu_n_in_place(x: &Tensor, n: f64) -> candle_core::Result<()> {
    kernel(Op::ReluN, n)?.forward_tensor_in_place(x)
}

/// `x = leaky_relu(x; alpha)` in place (feature `candle`; no gradient is recorded).
pub fn leaky_relu_in_place(x: &Tensor, alpha: f64) -> candle_core::Result<()> {
    kernel(Op::LeakyRelu, alpha)?.forward_tensor_in_place(x)
}

/// `x = clip(x; min, max)` in place (feature `candle`; no gradient is recorded).
pub fn clip_in_place(x: &Tensor, min: f64, max: f64) -> candle_core::Result<()> {
    clip_kernel(min, max)?.forward_tensor_in_place(x)
}

fn clip_kernel(min: f64, max: f64) -> candle_core::Result<Kernel> {
    Activation::for_one_call(Op::Clip, &[min, max])
        .map(Kernel::new)
        .map_err(|e| refused(Op::Clip, &e))
}

fn kernel(op: Op, param: f64) -> candle_core::Result<Kernel> {
    Activation::for_one_call(op, &[param])
        .map(Kernel::new)
        .map_err(|e| refused(op, &e))
}

/// What a candle error names: an activation op, or PRelu.
pub(crate) trait Label: Copy {
    fn label(self) -> &'static str;
}

impl Label for Op {
    fn label(self) -> &'static str {
        self.name()
    }
}

/// The crate's refusal as a candle error naming the op.
pub(crate) fn refused(op: impl Label, e: &Error) -> candle_core::Error {
    candle_core::Error::Msg(format!("caffe2op_relu::candle {}: {e}", op.label()))
}

pub(crate) fn msg(op: impl Label, what: std::fmt::Arguments<'_>) -> candle_core::Error {
    candle_core::Error::Msg(format!("caffe2op_relu::candle {}: {what}", op.label()))
}

/// Refuses a tensor that is not on the CPU or not of a supported dtype.
pub(crate) fn check(op: impl Label, arg: &str, t: &Tensor) -> candle_core::Result<()> {
    if !t.device().is_cpu() {
        return Err(msg(
            op,
            format_args!(
                "`{arg}` is on {:?}; only CPU tensors are supported (move it with \
                 `to_device(&Device::Cpu)`, or use candle's own op)",
                t.device().location()
            ),
        ));
    }
    match t.dtype() {
        DType::F32 | DType::F64 | DType::F16 | DType::BF16 => Ok(()),
        other => Err(msg(
            op,
            format_args!("`{arg}` has dtype {other:?}; supported: f32, f64, f16, bf16"),
        )),
    }
}

#[cfg_attr(docsrs, doc(cfg(feature = "candle")))]
impl Kernel {
    /// `act(x)` into a new contiguous tensor, with autograd (feature `candle`): the
    /// backward pass is the crate's gradient kernel from the output. `x` may have any
    /// layout; see the [module docs](crate::candle) for how it is walked and what is
    /// refused.
    ///
    /// ```
    /// use caffe2op_relu::{Activation, Kernel, candle::candle_core};
    /// use candle_core::{Device, Tensor};
    ///
    /// let k = Kernel::new(Activation::leaky_relu(0.25)?);
    /// let x = Tensor::new(&[[-4.0f32, 1.0], [2.0, -8.0]], &Device::Cpu)?;
    /// let y = k.forward_tensor(&x.t()?)?; // a transposed view
    /// assert_eq!(y.to_vec2::<f32>()?, [[-1.0, 2.0], [1.0, -2.0]]);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn forward_tensor(&self, x: &Tensor) -> candle_core::Result<Tensor> {
        let op = self.activation().op();
        check(op, "x", x)?;
        if x.track_op() {
            x.apply_op1(Forward(self.on_candle_pool()))
        } else {
            // No graph to record: the same op without the shared box that
            // `apply_op1` allocates for the backward pass.
            x.apply_op1_no_bwd(&Forward(self.on_candle_pool()))
        }
    }

    /// `x = act(x)` in place on a tensor of any layout (feature `candle`). Records no
    /// gradient (candle's in-place ops have no backward pass). A tensor whose layout
    /// reaches one element twice (a broadcast) is refused by candle.
    pub fn forward_tensor_in_place(&self, x: &Tensor) -> candle_core::Result<()> {
        let op = self.activation().op();
        check(op, "x", x)?;
        x.inplace_op1(&InPlace(self.on_candle_pool()))
    }

    /// `dx = act'(y) * dy` from the forward **output** `y` into a new contiguous tensor
    /// (feature `candle`); `dy` must have `y`'s shape and dtype, and either may have
    /// any layout. This is the backward pass of [`Kernel::forward_tensor`]; it records
    /// no gradient of its own.
    pub fn backward_tensor(&self, y: &Tensor, dy: &Tensor) -> candle_core::Result<Tensor> {
        let op = self.activation().op();
        check(op, "y", y)?;
        check(op, "dy", dy)?;
        if y.dims() != dy.dims() {
            return Err(msg(
                op,
                format_args!(
                    "`dy` has shape {:?}, expected {:?} (the shape of `y`)",
                    dy.dims(),
                    y.dims()
                ),
            ));
        }
        if y.dtype() != dy.dtype() {
            return Err(msg(
                op,
                format_args!(
                    "`dy` has dtype {:?}, expected {:?} (the dtype of `y`)",
                    dy.dtype(),
                    y.dtype()
                ),
            ));
        }
        y.apply_op2_no_bwd(dy, &Backward(self.on_candle_pool()))
    }
}

/// `y = act(x)` on a whole tensor (feature `candle`): `x.apply(&kernel)`.
#[cfg_attr(docsrs, doc(cfg(feature = "candle")))]
impl candle_core::Module for Kernel {
    fn forward(&self, xs: &Tensor) -> candle_core::Result<Tensor> {
        self.forward_tensor(xs)
    }
}

/// The forward op (allocating, with a backward pass).
struct Forward(Kernel);
/// The forward op in place.
struct InPlace(Kernel);
/// The backward op: `(y, dy) -> dx`.
struct Backward(Kernel);

/// Runs `$body` with `$T` bound to the element type of the `CpuStorage` variant, and
/// `$v` to its vector; other variants are refused.
macro_rules! per_dtype {
    ($op:expr, $s:expr, |$v:ident: $T:ident| $body:expr) => {
        match $s {
            CpuStorage::F32($v) => {
                type $T = f32;
                $body
            }
            CpuStorage::F64($v) => {
                type $T = f64;
                $body
            }
            CpuStorage::F16($v) => {
                type $T = half::f16;
                $body
            }
            CpuStorage::BF16($v) => {
                type $T = half::bf16;
                $body
            }
            other => Err(msg(
                $op,
                format_args!(
                    "dtype {:?} is not supported (f32, f64, f16, bf16)",
                    other.dtype()
                ),
            )),
        }
    };
}

impl CustomOp1 for Forward {
    fn name(&self) -> &'static str {
        self.0.activation().op().name()
    }

    fn cpu_fwd(&self, s: &CpuStorage, l: &Layout) -> candle_core::Result<(CpuStorage, Shape)> {
        let k = &self.0;
        let op = k.activation().op();
        let out = per_dtype!(op, s, |v: T| forward_into_new::<T>(k, v, l).map(store));
        Ok((out?, l.shape().clone()))
    }

    fn bwd(&self, _x: &Tensor, y: &Tensor, dy: &Tensor) -> candle_core::Result<Option<Tensor>> {
        self.0.backward_tensor(y, dy).map(Some)
    }
}

impl InplaceOp1 for InPlace {
    fn name(&self) -> &'static str {
        self.0.activation().op().name()
    }

    fn cpu_fwd(&self, s: &mut CpuStorage, l: &Layout) -> candle_core::Result<()> {
        let k = &self.0;
        let op = k.activation().op();
        per_dtype!(op, s, |v: T| forward_in_place::<T>(k, v, l))
    }
}

impl CustomOp2 for Backward {
    fn name(&self) -> &'static str {
        match self.0.activation().op() {
            Op::Relu => "relu_grad",
            Op::ReluN => "relu_n_grad",
            Op::LeakyRelu => "leaky_relu_grad",
            Op::Clip => "clip_grad",
        }
    }

    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
    ) -> candle_core::Result<(CpuStorage, Shape)> {
        let k = &self.0;
        let op = k.activation().op();
        let out = match (s1, s2) {
            (CpuStorage::F32(y), CpuStorage::F32(dy)) => {
                backward_into_new(k, y, l1, dy, l2).map(store)
            }
            (CpuStorage::F64(y), CpuStorage::F64(dy)) => {
                backward_into_new(k, y, l1, dy, l2).map(store)
            }
            (CpuStorage::F16(y), CpuStorage::F16(dy)) => {
                backward_into_new(k, y, l1, dy, l2).map(store)
            }
            (CpuStorage::BF16(y), CpuStorage::BF16(dy)) => {
                backward_into_new(k, y, l1, dy, l2).map(store)
            }
            _ => Err(msg(
                op,
                format_args!(
                    "`y` ({:?}) and `dy` ({:?}): the dtypes must be equal and one of f32, \
                     f64, f16, bf16",
                    s1.dtype(),
                    s2.dtype()
                ),
            )),
        };
        Ok((out?, l1.shape().clone()))
    }
}

/// Outputs from this many bytes ask the OS for huge pages ([`advise_huge_pages`]).
const HUGE_PAGES_MIN_BYTES: usize = 4 << 20;

/// Asks Linux to back the 2 MiB pages inside a new output buffer with transparent
/// huge pages (`madvise(MADV_HUGEPAGE)`), before anything is written to it.
///
/// A fresh allocation of tens of MiB is new memory from the OS, and with 4 KiB pages
/// writing it once costs a page fault per 4 KiB, which bounds the allocating ops at
/// DRAM sizes (candle's own ops pay the same). With huge pages it is one fault per
/// 2 MiB. The advice changes neither the contents nor the validity of the memory; where
/// transparent huge pages are off (`never`), or on other systems, it does nothing.
pub(crate) fn advise_huge_pages<T>(buf: &mut [std::mem::MaybeUninit<T>]) {
    let bytes = size_of_val(buf);
    if bytes < HUGE_PAGES_MIN_BYTES {
        return;
    }
    #[cfg(target_os = "linux")]
    {
        const HUGE: usize = 2 << 20;
        let start = buf.as_mut_ptr() as usize;
        let (lo, hi) = (start.next_multiple_of(HUGE), (start + bytes) / HUGE * HUGE);
        if hi > lo {
            // SAFETY: `lo..hi` lies inside `buf`, memory this call owns exclusively
            // (the spare capacity of a new vector), and is aligned to the page size.
            // MADV_HUGEPAGE only changes how the kernel backs the pages when they
            // are first touched; it reads and writes nothing. A failure (an old
            // kernel, THP compiled out) leaves the memory as it was, so its result
            // is ignored.
            unsafe {
                libc::madvise(lo as *mut libc::c_void, hi - lo, libc::MADV_HUGEPAGE);
            }
        }
    }
}

/// A vector as candle's storage of its dtype.
pub(crate) fn store<T: WithDType>(v: Vec<T>) -> CpuStorage {
    T::to_cpu_storage_owned(v)
}

/// The elements of `v` that a contiguous layout `l` covers, or `None` if `l` is not
/// contiguous. A layout that does not fit its storage is refused (candle never makes
/// one; checked so that no slice index can panic).
pub(crate) fn contiguous<'a, T>(
    op: impl Label,
    v: &'a [T],
    l: &Layout,
) -> candle_core::Result<Option<&'a [T]>> {
    match l.contiguous_offsets() {
        None => Ok(None),
        Some((a, b)) => v
            .get(a..b)
            .map(Some)
            .ok_or_else(|| out_of_range(op, a, b, v.len())),
    }
}

pub(crate) fn out_of_range(op: impl Label, a: usize, b: usize, len: usize) -> candle_core::Error {
    msg(
        op,
        format_args!("the layout reaches elements {a}..{b} of a storage of {len}"),
    )
}

fn forward_into_new<T: Element>(k: &Kernel, v: &[T], l: &Layout) -> candle_core::Result<Vec<T>> {
    let op = k.activation().op();
    let p = k
        .activation()
        .params_in::<T>()
        .map_err(|e| refused(op, &e))?;
    if let Some(x) = contiguous(op, v, l)? {
        return k.forward_vec(x).map_err(|e| refused(op, &e));
    }
    let mut out = vec![T::default(); l.shape().elem_count()];
    let mut o = 0;
    walk(
        l.dims(),
        [l.stride()],
        [l.start_offset()],
        [v.len()],
        |[i], n| {
            let y = &mut out[o..o + n];
            o += n;
            if n == 1 {
                y[0] = T::oracle_forward_with(op, v[i], p);
                Ok(())
            } else {
                k.forward(&v[i..i + n], y)
            }
        },
    )
    .map_err(|e| e.into_candle(op))?;
    Ok(out)
}

fn forward_in_place<T: Element>(k: &Kernel, v: &mut [T], l: &Layout) -> candle_core::Result<()> {
    let op = k.activation().op();
    // Checked once before the first store, so a refusal writes nothing.
    let p = k
        .activation()
        .params_in::<T>()
        .map_err(|e| refused(op, &e))?;
    // A contiguous layout reaches every element once; the overlap test (which
    // allocates, and which candle's `inplace_op1` has made already) is for the others.
    if let Some((a, b)) = l.contiguous_offsets() {
        let len = v.len();
        let x = v.get_mut(a..b).ok_or_else(|| out_of_range(op, a, b, len))?;
        return k.forward_in_place(x).map_err(|e| refused(op, &e));
    }
    if l.has_internal_overlap() {
        return Err(msg(
            op,
            format_args!("the layout reaches an element twice (a broadcast); not in place"),
        ));
    }
    let len = v.len();
    walk(
        l.dims(),
        [l.stride()],
        [l.start_offset()],
        [len],
        |[i], n| {
            if n == 1 {
                v[i] = T::oracle_forward_with(op, v[i], p);
                Ok(())
            } else {
                k.forward_in_place(&mut v[i..i + n])
            }
        },
    )
    .map_err(|e| e.into_candle(op))
}

fn backward_into_new<T: Element>(
    k: &Kernel,
    y: &[T],
    ly: &Layout,
    dy: &[T],
    ldy: &Layout,
) -> candle_core::Result<Vec<T>> {
    let op = k.activation().op();
    let p = k
        .activation()
        .params_in::<T>()
        .map_err(|e| refused(op, &e))?;
    if ly.dims() != ldy.dims() {
        return Err(msg(
            op,
            format_args!(
                "`dy` has shape {:?}, expected {:?} (the shape of `y`)",
                ldy.dims(),
                ly.dims()
            ),
        ));
    }
    if let (Some(ys), Some(dys)) = (contiguous(op, y, ly)?, contiguous(op, dy, ldy)?) {
        return k.backward_vec(ys, dys).map_err(|e| refused(op, &e));
    }
    let mut out = vec![T::default(); ly.shape().elem_count()];
    let mut o = 0;
    walk(
        ly.dims(),
        [ly.stride(), ldy.stride()],
        [ly.start_offset(), ldy.start_offset()],
        [y.len(), dy.len()],
        |[i, j], n| {
            let dx = &mut out[o..o + n];
            o += n;
            if n == 1 {
                dx[0] = T::oracle_backward_with(op, y[i], dy[j], p);
                Ok(())
            } else {
                k.backward(&y[i..i + n], &dy[j..j + n], dx)
            }
        },
    )
    .map_err(|e| e.into_candle(op))?;
    Ok(out)
}

/// Why a walk stopped.
pub(crate) enum WalkError {
    /// A layout reaches outside its storage (candle never makes one).
    Range { a: usize, b: usize, len: usize },
    /// A refusal of the crate.
    Crate(Error),
}

impl From<Error> for WalkError {
    fn from(e: Error) -> WalkError {
        WalkError::Crate(e)
    }
}

impl WalkError {
    pub(crate) fn into_candle(self, op: impl Label) -> candle_core::Error {
        match self {
            WalkError::Range { a, b, len } => out_of_range(op, a, b, len),
            WalkError::Crate(e) => refused(op, &e),
        }
    }
}

/// The number of leading dimensions of `dims` that are not part of the contiguous
/// (row-major) tail of a layout with `stride`: `dims[k..]` is one contiguous block.
/// Dimensions of size 1 fit any stride.
fn contiguous_tail(dims: &[usize], stride: &[usize]) -> usize {
    let mut expect = 1usize;
    let mut k = dims.len();
    while k > 0 {
        let (d, s) = (dims[k - 1], stride[k - 1]);
        if d != 1 && s != expect {
            break;
        }
        expect = expect.saturating_mul(d);
        k -= 1;
    }
    k
}

/// Calls `f(offsets, n)` for each block of `n` elements that is contiguous in all `N`
/// layouts (same `dims`, strides `strides`, first elements at `starts`), in row-major
/// order of the blocks. `n` is the product of the dimensions contiguous in every
/// layout (1 when the innermost one is strided in some layout). Before the first call,
/// every layout's last element is checked to lie in its storage (`lens`), so the
/// slices `f` takes cannot go out of range.
pub(crate) fn walk<const N: usize>(
    dims: &[usize],
    strides: [&[usize]; N],
    starts: [usize; N],
    lens: [usize; N],
    mut f: impl FnMut([usize; N], usize) -> Result<(), Error>,
) -> Result<(), WalkError> {
    if dims.contains(&0) {
        return Ok(());
    }
    // The last element each layout reaches, checked against its storage.
    for n in 0..N {
        let mut last = starts[n];
        for (&d, &s) in dims.iter().zip(strides[n]) {
            last = (d - 1)
                .checked_mul(s)
                .and_then(|v| last.checked_add(v))
                .ok_or(WalkError::Range {
                    a: starts[n],
                    b: usize::MAX,
                    len: lens[n],
                })?;
        }
        if last >= lens[n] {
            return Err(WalkError::Range {
                a: starts[n],
                b: last + 1,
                len: lens[n],
            });
        }
    }
    let k = strides
        .iter()
        .map(|s| contiguous_tail(dims, s))
        .max()
        .unwrap_or(0);
    let block: usize = dims[k..].iter().product();
    let outer = &dims[..k];
    let mut idx = vec![0usize; k];
    let mut off = starts;
    loop {
        f(off, block)?;
        // Next block: an odometer over the outer dimensions.
        let mut i = k;
        loop {
            if i == 0 {
                return Ok(());
            }
            i -= 1;
            idx[i] += 1;
            if idx[i] < outer[i] {
                for n in 0..N {
                    off[n] += strides[n][i];
                }
                break;
            }
            for n in 0..N {
                off[n] -= strides[n][i] * (outer[i] - 1);
            }
            idx[i] = 0;
        }
    }
}

mod prelu;
pub use prelu::{prelu, prelu_in_place};
