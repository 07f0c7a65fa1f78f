//! [`ndarray`] support (cargo feature `ndarray`): every entry point of [`Kernel`] on
//! arrays and views of any dimension, memory order and stride.
//!
//! | call | slice twin |
//! |---|---|
//! | [`Kernel::forward_array`]`(&x, &mut y)` | [`Kernel::forward`] |
//! | [`Kernel::forward_array_in_place`]`(&mut x)` | [`Kernel::forward_in_place`] |
//! | [`Kernel::backward_array`]`(&y, &dy, &mut dx)` | [`Kernel::backward`] |
//! | [`Kernel::backward_array_in_place`]`(&y, &mut dy)` | [`Kernel::backward_in_place`] |
//! | [`nd::int8_relu`](int8_relu)`(&x, &mut y, zero_point)` | [`crate::int8_relu`] |
//! | [`nd::int8_relu_in_place`](int8_relu_in_place)`(&mut x, zero_point)` | [`crate::int8_relu_in_place`] |
//!
//! The arguments are [`ArrayRef`]s, so `&array`, `&view`, `&mut array` and
//! `&mut view_mut` (and `ArcArray`, `CowArray`) all coerce. Every element type of the
//! crate works ([`Element`]: `f32`, `f64`, `half::f16`, `half::bf16`; `u8` for
//! Int8Relu), in any dimension (`Ix0` to `IxDyn`).
//!
//! # How an array is walked
//!
//! The results are the oracle's, bit for bit, whatever the layout; only the speed
//! depends on it. Nothing is ever copied into a temporary array.
//!
//! - **Contiguous** arrays, in C or Fortran order or any other axis order, even with
//!   reversed axes, go to the slice kernels in one call (through
//!   [`ArrayRef::as_slice_memory_order`]) when every argument has the same strides,
//!   so element `i` of each slice is the same logical element. Large calls are then
//!   split across threads exactly like the slice API ([`Threads`](crate::Threads)).
//! - **Otherwise** the call is split along the axis with the largest output stride,
//!   recursively, and every sub-block that is contiguous with equal strides in all
//!   arguments goes to the slice kernels: a view that keeps whole rows (such as
//!   `a.slice(s![..;2, ..])`, or a C-order input with a C-order output of a
//!   different row pitch) runs one kernel call per contiguous row or block.
//! - What is left, one-dimensional lanes that are strided in some argument, or whose
//!   arguments disagree on the direction (an input in C order with an output in
//!   Fortran order, a reversed input with a forward output), is computed element by
//!   element with the oracle ([`Element::oracle_forward`] and
//!   [`Element::oracle_backward`]) through [`ndarray::Zip`].
//!
//! # Refusals
//!
//! Like the slice API, a refused call writes nothing: every shape and the parameter
//! (rounded to `T`) are checked before the first store. An output or a second input
//! whose shape differs from the first input's is [`Error::ShapeMismatch`], naming the
//! argument and both shapes; arrays of the same shape but different dimension types
//! (`Ix2` and `IxDyn`) are brought to one type with `.into_dyn()` first.
//!
//! # Example: one hidden layer, forward and backward
//!
//! ```
//! use caffe2op_relu::{Activation, Kernel};
//! use ndarray::{Array2, array, s};
//!
//! let k = Kernel::new(Activation::relu6());
//! let z = array![[-1.0f32, 0.5, 7.0], [2.0, -0.0, 6.0]];
//! let mut h = Array2::zeros(z.raw_dim());
//! k.forward_array(&z, &mut h)?; // contiguous: one slice-kernel call
//! assert_eq!(h, array![[0.0, 0.5, 6.0], [2.0, 0.0, 6.0]]);
//!
//! // Backward from the forward output, with dh overwritten by dz (Caffe2's {1, 0}).
//! let mut dh = Array2::from_elem(h.raw_dim(), 1.0f32);
//! k.backward_array_in_place(&h, &mut dh)?;
//! assert_eq!(dh, array![[0.0, 1.0, 0.0], [1.0, 0.0, 0.0]]);
//!
//! // Views of any layout: a transposed (Fortran-order) input and a strided output.
//! let mut wide = Array2::<f32>::zeros((3, 4));
//! k.forward_array(&z.t(), &mut wide.slice_mut(s![.., ..;2]))?;
//! assert_eq!(wide.column(0), array![0.0, 0.5, 6.0]);
//! assert_eq!(wide.column(2), array![2.0, 0.0, 6.0]);
//! assert_eq!(wide.column(1), array![0.0, 0.0, 0.0]); // untouched
//!
//! // A shape mismatch names both shapes and writes nothing.
//! let err = k.forward_array(&z, &mut Array2::<f32>::zeros((3, 2))).unwrap_err();
//! assert_eq!(
//!     err.to_string(),
//!     "shape mismatch: `y` has shape [3, 2], expected [2, 3] (the shape of the first input)"
//! );
//! # Ok::<(), caffe2op_relu::Error>(())
//! ```

use ndarray::{ArrayRef, ArrayViewD, ArrayViewMutD, Axis, Dimension, Zip};

use crate::element::Element;
use crate::error::Error;
use crate::kernel::Kernel;

/// The `ndarray` crate this feature is built against (0.17), for matching versions.
pub use ndarray;

#[cfg_attr(docsrs, doc(cfg(feature = "ndarray")))]
impl Kernel {
    /// `y = act(x)` on arrays of any dimension and layout (feature `ndarray`).
    ///
    /// Shapes must be equal ([`Error::ShapeMismatch`] otherwise); a refused call writes
    /// nothing. Contiguous arrays with equal strides run as one slice call, other
    /// layouts as described in the [module docs](crate::nd#how-an-array-is-walked).
    ///
    /// ```
    /// use caffe2op_relu::{Activation, Kernel};
    /// use ndarray::{Array3, ShapeBuilder};
    ///
    /// let x = Array3::from_shape_fn((2, 3, 4), |(i, j, k)| i as f64 - j as f64 + k as f64 / 4.0);
    /// let mut y = Array3::zeros((2, 3, 4).f()); // Fortran order: element by element
    /// Kernel::new(Activation::leaky_relu(0.1)?).forward_array(&x, &mut y)?;
    /// assert_eq!(y[[0, 2, 0]], 0.1 * -2.0);
    /// assert_eq!(y[[1, 0, 3]], 1.75);
    /// # Ok::<(), caffe2op_relu::Error>(())
    /// ```
    pub fn forward_array<T: Element, D: Dimension>(
        &self,
        x: &ArrayRef<T, D>,
        y: &mut ArrayRef<T, D>,
    ) -> Result<(), Error> {
        check_shape("y", x.shape(), y.shape())?;
        let (op, p) = (self.activation().op(), self.activation().params_in::<T>()?);
        zip2(
            x.view().into_dyn(),
            y.view_mut().into_dyn(),
            &mut |xs, ys| self.forward(xs, ys),
            &|v, _| T::oracle_forward_with(op, v, p),
        )
    }

    /// `x = act(x)` on an array or view of any dimension and layout (feature
    /// `ndarray`). Refused, writing nothing, only if the parameter is invalid once
    /// rounded to `T`.
    ///
    /// ```
    /// use caffe2op_relu::{Activation, Kernel};
    /// use ndarray::{array, s};
    ///
    /// let mut a = array![[-1.0f32, 2.0], [3.0, -4.0], [-5.0, 6.0]];
    /// // Every other row, bottom to top: rows 2 and 0.
    /// Kernel::new(Activation::relu()).forward_array_in_place(&mut a.slice_mut(s![..;-2, ..]))?;
    /// assert_eq!(a, array![[0.0, 2.0], [3.0, -4.0], [0.0, 6.0]]);
    /// # Ok::<(), caffe2op_relu::Error>(())
    /// ```
    pub fn forward_array_in_place<T: Element, D: Dimension>(
        &self,
        x: &mut ArrayRef<T, D>,
    ) -> Result<(), Error> {
        let (op, p) = (self.activation().op(), self.activation().params_in::<T>()?);
        zip1(
            x.view_mut().into_dyn(),
            &mut |s| self.forward_in_place(s),
            &|v| T::oracle_forward_with(op, v, p),
        )
    }

    /// `dx = act'(y) * dy` from the forward **output** `y`, on arrays of any dimension
    /// and layout (feature `ndarray`). `dy` and `dx` must have `y`'s shape.
    ///
    /// ```
    /// use caffe2op_relu::{Activation, Kernel};
    /// use ndarray::{Array2, array};
    ///
    /// let y = array![[0.0f32, 0.5], [6.0, 3.0]]; // a relu6 output
    /// let dy = array![[1.0f32, 2.0], [3.0, 4.0]];
    /// let mut dx = Array2::zeros((2, 2));
    /// Kernel::new(Activation::relu6()).backward_array(&y, &dy, &mut dx)?;
    /// assert_eq!(dx, array![[0.0, 2.0], [0.0, 4.0]]);
    /// # Ok::<(), caffe2op_relu::Error>(())
    /// ```
    pub fn backward_array<T: Element, D: Dimension>(
        &self,
        y: &ArrayRef<T, D>,
        dy: &ArrayRef<T, D>,
        dx: &mut ArrayRef<T, D>,
    ) -> Result<(), Error> {
        check_shape("dy", y.shape(), dy.shape())?;
        check_shape("dx", y.shape(), dx.shape())?;
        let (op, p) = (self.activation().op(), self.activation().params_in::<T>()?);
        zip3(
            y.view().into_dyn(),
            dy.view().into_dyn(),
            dx.view_mut().into_dyn(),
            &mut |ys, dys, dxs| self.backward(ys, dys, dxs),
            &|a, b| T::oracle_backward_with(op, a, b, p),
        )
    }

    /// `dy = act'(y) * dy` (Caffe2's in-place pair {1, 0}: dX overwrites dY) on arrays
    /// of any dimension and layout (feature `ndarray`). `dy` must have `y`'s shape.
    ///
    /// ```
    /// use caffe2op_relu::{Activation, Kernel};
    /// use ndarray::array;
    ///
    /// let y = array![0.0f64, 2.0, 0.0];
    /// let mut dy = array![5.0f64, 5.0, -5.0];
    /// Kernel::new(Activation::relu()).backward_array_in_place(&y, &mut dy)?;
    /// assert_eq!(dy, array![0.0, 5.0, 0.0]);
    /// # Ok::<(), caffe2op_relu::Error>(())
    /// ```
    pub fn backward_array_in_place<T: Element, D: Dimension>(
        &self,
        y: &ArrayRef<T, D>,
        dy: &mut ArrayRef<T, D>,
    ) -> Result<(), Error> {
        check_shape("dy", y.shape(), dy.shape())?;
        let (op, p) = (self.activation().op(), self.activation().params_in::<T>()?);
        zip2(
            y.view().into_dyn(),
            dy.view_mut().into_dyn(),
            &mut |ys, dys| self.backward_in_place(ys, dys),
            &|a, b| T::oracle_backward_with(op, a, b, p),
        )
    }
}

/// Int8Relu, `y = max(x, zero_point)`, on `u8` arrays of any dimension and layout, on
/// the default ISA (the array twin of [`crate::int8_relu`]). Shapes must be equal
/// ([`Error::ShapeMismatch`] otherwise); a refused call writes nothing.
///
/// ```
/// use caffe2op_relu::nd;
/// use ndarray::{Array2, array};
///
/// let x = array![[3u8, 128, 200], [127, 0, 129]];
/// let mut y = Array2::zeros((2, 3));
/// nd::int8_relu(&x, &mut y, 128)?;
/// assert_eq!(y, array![[128, 128, 200], [128, 128, 129]]);
/// # Ok::<(), caffe2op_relu::Error>(())
/// ```
pub fn int8_relu<D: Dimension>(
    x: &ArrayRef<u8, D>,
    y: &mut ArrayRef<u8, D>,
    zero_point: u8,
) -> Result<(), Error> {
    check_shape("y", x.shape(), y.shape())?;
    zip2(
        x.view().into_dyn(),
        y.view_mut().into_dyn(),
        &mut |xs, ys| crate::int8_relu(xs, ys, zero_point),
        &|v, _| crate::int8_relu_oracle(v, zero_point),
    )
}

/// In-place Int8Relu on a `u8` array or view of any dimension and layout, on the
/// default ISA (the array twin of [`crate::int8_relu_in_place`]).
///
/// ```
/// use caffe2op_relu::nd;
/// use ndarray::array;
///
/// let mut q = array![[3u8, 200], [127, 129]];
/// nd::int8_relu_in_place(&mut q.view_mut().reversed_axes(), 128); // Fortran order
/// assert_eq!(q, array![[128, 200], [128, 129]]);
/// ```
pub fn int8_relu_in_place<D: Dimension>(x: &mut ArrayRef<u8, D>, zero_point: u8) {
    let _infallible = zip1(
        x.view_mut().into_dyn(),
        &mut |s| {
            crate::int8_relu_in_place(s, zero_point);
            Ok(())
        },
        &|v| crate::int8_relu_oracle(v, zero_point),
    );
}

fn check_shape(arg: &'static str, expected: &[usize], found: &[usize]) -> Result<(), Error> {
    if expected == found {
        Ok(())
    } else {
        Err(Error::ShapeMismatch {
            arg,
            expected: expected.to_vec(),
            found: found.to_vec(),
        })
    }
}

/// Whether arrays of `shape` with these strides map each logical index to the same
/// position of their `as_slice_memory_order` slices (axes of length 1 do not count).
fn same_strides(shape: &[usize], a: &[isize], b: &[isize]) -> bool {
    shape
        .iter()
        .zip(a.iter().zip(b))
        .all(|(&n, (&s, &t))| n <= 1 || s == t)
}

/// The axis to split a non-contiguous call along: the one with the largest output
/// stride, so that the axes left for the sub-blocks are the output's fastest ones.
/// Only called with every axis longer than 1.
fn split_axis(strides: &[isize]) -> Axis {
    let mut best = 0;
    for (i, s) in strides.iter().enumerate() {
        if s.unsigned_abs() > strides[best].unsigned_abs() {
            best = i;
        }
    }
    Axis(best)
}

/// The axes of length 1 of `shape`, last first (so that removing them one by one
/// keeps the remaining indices valid).
fn unit_axes(shape: &[usize]) -> Vec<Axis> {
    (0..shape.len())
        .rev()
        .filter(|&i| shape[i] == 1)
        .map(Axis)
        .collect()
}

/// One read-only argument and the output: `run` on slices that are the same logical
/// elements, `one(a, old_out)` element by element elsewhere.
fn zip2<T: Copy, F, G>(
    mut a: ArrayViewD<'_, T>,
    mut out: ArrayViewMutD<'_, T>,
    run: &mut F,
    one: &G,
) -> Result<(), Error>
where
    F: FnMut(&[T], &mut [T]) -> Result<(), Error>,
    G: Fn(T, T) -> T,
{
    if out.is_empty() {
        return Ok(());
    }
    if same_strides(out.shape(), a.strides(), out.strides()) {
        let sa = a.as_slice_memory_order();
        if let (Some(sa), Some(so)) = (sa, out.as_slice_memory_order_mut()) {
            return run(sa, so);
        }
    }
    if out.ndim() > 1 {
        for axis in unit_axes(out.shape()) {
            a = a.index_axis_move(axis, 0);
            out = out.index_axis_move(axis, 0);
        }
    }
    if out.ndim() <= 1 {
        Zip::from(out).and(a).for_each(|o, &v| *o = one(v, *o));
        return Ok(());
    }
    let axis = split_axis(out.strides());
    for (a, out) in a.axis_iter(axis).zip(out.axis_iter_mut(axis)) {
        zip2(a, out, run, one)?;
    }
    Ok(())
}

/// The output alone (in place): as [`zip2`].
fn zip1<T: Copy, F, G>(mut out: ArrayViewMutD<'_, T>, run: &mut F, one: &G) -> Result<(), Error>
where
    F: FnMut(&mut [T]) -> Result<(), Error>,
    G: Fn(T) -> T,
{
    if out.is_empty() {
        return Ok(());
    }
    if let Some(so) = out.as_slice_memory_order_mut() {
        return run(so);
    }
    if out.ndim() > 1 {
        for axis in unit_axes(out.shape()) {
            out = out.index_axis_move(axis, 0);
        }
    }
    if out.ndim() <= 1 {
        out.map_inplace(|o| *o = one(*o));
        return Ok(());
    }
    let axis = split_axis(out.strides());
    for out in out.axis_iter_mut(axis) {
        zip1(out, run, one)?;
    }
    Ok(())
}

/// Two read-only arguments and the output: as [`zip2`].
fn zip3<T: Copy, F, G>(
    mut a: ArrayViewD<'_, T>,
    mut b: ArrayViewD<'_, T>,
    mut out: ArrayViewMutD<'_, T>,
    run: &mut F,
    one: &G,
) -> Result<(), Error>
where
    F: FnMut(&[T], &[T], &mut [T]) -> Result<(), Error>,
    G: Fn(T, T) -> T,
{
    if out.is_empty() {
        return Ok(());
    }
    if same_strides(out.shape(), a.strides(), out.strides())
        && same_strides(out.shape(), b.strides(), out.strides())
    {
        let (sa, sb) = (a.as_slice_memory_order(), b.as_slice_memory_order());
        if let (Some(sa), Some(sb), Some(so)) = (sa, sb, out.as_slice_memory_order_mut()) {
            return run(sa, sb, so);
        }
    }
    if out.ndim() > 1 {
        for axis in unit_axes(out.shape()) {
            a = a.index_axis_move(axis, 0);
            b = b.index_axis_move(axis, 0);
            out = out.index_axis_move(axis, 0);
        }
    }
    if out.ndim() <= 1 {
        Zip::from(out)
            .and(a)
            .and(b)
            .for_each(|o, &u, &v| *o = one(u, v));
        return Ok(());
    }
    let axis = split_axis(out.strides());
    for ((a, b), out) in a
        .axis_iter(axis)
        .zip(b.axis_iter(axis))
        .zip(out.axis_iter_mut(axis))
    {
        zip3(a, b, out, run, one)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    //! How arrays are walked: which parts go to the slice kernels (`run`) and which
    //! are done element by element (`one`). The results are checked bit for bit by
    //! `tests/stateless/ndarray_oracle.rs`; these tests pin the structure (no copies, one call
    //! per contiguous block).

    use std::cell::{Cell, RefCell};

    use ndarray::{Array, ArrayD, IxDyn, ShapeBuilder, s};

    use super::*;

    /// Runs `zip2` with counting closures: the lengths of the slice calls and the
    /// number of elements done one by one. `run` negates, `one` negates too, so the
    /// result is checked as well.
    fn walk2(a: ArrayViewD<'_, f32>, mut out: ArrayViewMutD<'_, f32>) -> (Vec<usize>, usize) {
        let runs = RefCell::new(Vec::new());
        let ones = Cell::new(0);
        let expect = a.mapv(|v| -v);
        zip2(
            a.view(),
            out.view_mut(),
            &mut |x, y| {
                runs.borrow_mut().push(x.len());
                y.iter_mut().zip(x).for_each(|(o, &v)| *o = -v);
                Ok(())
            },
            &|v, _| {
                ones.set(ones.get() + 1);
                -v
            },
        )
        .unwrap();
        assert_eq!(out, expect);
        (runs.into_inner(), ones.get())
    }

    fn iota(shape: &[usize]) -> ArrayD<f32> {
        let n = shape.iter().product::<usize>();
        Array::from_shape_vec(IxDyn(shape), (0..n).map(|i| i as f32 + 1.0).collect()).unwrap()
    }

    /// The same values in Fortran order.
    fn fortran(x: &ArrayD<f32>) -> ArrayD<f32> {
        let mut f = ArrayD::zeros(x.raw_dim().f());
        f.assign(x);
        f
    }

    #[test]
    fn contiguous_same_order_is_one_call() {
        for f_order in [false, true] {
            let x = iota(&[3, 4, 5]);
            let x = if f_order { fortran(&x) } else { x };
            assert_eq!(x.is_standard_layout(), !f_order);
            let mut y = ArrayD::zeros(IxDyn(x.shape()).set_f(f_order));
            assert_eq!(walk2(x.view(), y.view_mut()), (vec![60], 0), "f={f_order}");
        }
        // Both reversed along an axis: still contiguous with equal strides.
        let x = iota(&[4, 5]);
        let mut y = ArrayD::zeros(IxDyn(&[4, 5]));
        let xr = x.slice(s![..;-1, ..]).into_dyn();
        let yr = y.slice_mut(s![..;-1, ..]).into_dyn();
        assert_eq!(walk2(xr, yr), (vec![20], 0));
    }

    #[test]
    fn whole_rows_and_blocks_are_one_call_each() {
        // Every other row of a C-order matrix into a C-order output: one call per row.
        let big = iota(&[8, 5]);
        let mut y = ArrayD::zeros(IxDyn(&[4, 5]));
        let x = big.slice(s![..;2, ..]).into_dyn();
        assert_eq!(walk2(x, y.view_mut()), (vec![5; 4], 0));
        // Reversed rows into forward rows: per row still contiguous.
        let x = big.slice(s![..;-1, ..]).into_dyn();
        let mut y = ArrayD::zeros(IxDyn(&[8, 5]));
        assert_eq!(walk2(x, y.view_mut()), (vec![5; 8], 0));
        // Fortran order, every other column: one call per column (the split follows
        // the output's largest stride, not axis 0).
        let big = fortran(&iota(&[4, 10]));
        let x = big.slice(s![.., ..;2]).into_dyn();
        let mut y = fortran(&ArrayD::zeros(IxDyn(&[4, 5])));
        assert_eq!(walk2(x, y.view_mut()), (vec![4; 5], 0));
        // 3-D, every other plane: one call per (contiguous) plane.
        let big = iota(&[6, 3, 4]);
        let x = big.slice(s![..;2, .., ..]).into_dyn();
        let mut y = ArrayD::zeros(IxDyn(&[3, 3, 4]));
        assert_eq!(walk2(x, y.view_mut()), (vec![12; 3], 0));
    }

    #[test]
    fn strided_and_mixed_orders_go_element_by_element() {
        // Inner stride 2.
        let big = iota(&[4, 10]);
        let x = big.slice(s![.., ..;2]).into_dyn();
        let mut y = ArrayD::zeros(IxDyn(&[4, 5]));
        assert_eq!(walk2(x, y.view_mut()), (vec![], 20));
        // C-order input, Fortran-order output.
        let x = iota(&[3, 4]);
        let mut y = ArrayD::zeros(IxDyn(&[3, 4]).f());
        assert_eq!(walk2(x.view(), y.view_mut()), (vec![], 12));
        // Reversed inner axis against a forward one.
        let x = iota(&[3, 4]);
        let mut y = ArrayD::zeros(IxDyn(&[3, 4]));
        assert_eq!(
            walk2(x.slice(s![.., ..;-1]).into_dyn(), y.view_mut()),
            (vec![], 12)
        );
    }

    #[test]
    fn unit_axes_do_not_split_calls() {
        // (5, 1) column of a strided matrix against a contiguous output: the unit axis
        // is dropped, leaving one strided lane (element by element), not 5 calls of 1.
        let big = iota(&[5, 3]);
        let x = big.slice(s![.., 1..2]).into_dyn();
        let mut y = ArrayD::zeros(IxDyn(&[5, 1]));
        assert_eq!(walk2(x, y.view_mut()), (vec![], 5));
        // (1, 4, 1, 3) planes of a larger array: one block of 12 after dropping axes.
        let big = iota(&[2, 4, 1, 3]);
        let x = big.slice(s![1..2, .., .., ..]).into_dyn();
        let mut y = ArrayD::zeros(IxDyn(&[1, 4, 1, 3]));
        assert_eq!(walk2(x, y.view_mut()), (vec![12], 0));
    }

    #[test]
    fn empty_and_zero_dim() {
        let x = iota(&[3, 0, 2]);
        let mut y = ArrayD::zeros(IxDyn(&[3, 0, 2]));
        assert_eq!(walk2(x.view(), y.view_mut()), (vec![], 0));
        let x = iota(&[]);
        let mut y = ArrayD::zeros(IxDyn(&[]));
        assert_eq!(walk2(x.view(), y.view_mut()), (vec![1], 0));
    }

    #[test]
    fn in_place_and_three_way_walks() {
        let mut big = iota(&[6, 4]);
        let runs = RefCell::new(Vec::new());
        zip1(
            big.slice_mut(s![..;3, ..]).into_dyn(),
            &mut |s: &mut [f32]| {
                runs.borrow_mut().push(s.len());
                Ok(())
            },
            &|_| unreachable!("rows are contiguous"),
        )
        .unwrap();
        assert_eq!(runs.take(), vec![4, 4]);
        let ones = Cell::new(0);
        zip1(
            big.slice_mut(s![.., ..;2]).into_dyn(),
            &mut |_: &mut [f32]| unreachable!("columns are strided"),
            &|v| {
                ones.set(ones.get() + 1);
                v
            },
        )
        .unwrap();
        assert_eq!(ones.get(), 12);
        // Backward: y Fortran, dy and dx C: element by element; all C: one call.
        let (y, dy) = (iota(&[3, 4]), iota(&[3, 4]));
        let yf = fortran(&y);
        let mut dx = ArrayD::zeros(IxDyn(&[3, 4]));
        let calls = Cell::new((0, 0));
        let count = |run: bool| {
            let (r, o) = calls.get();
            calls.set(if run { (r + 1, o) } else { (r, o + 1) });
        };
        let mut run = |_: &[f32], _: &[f32], _: &mut [f32]| {
            count(true);
            Ok(())
        };
        let one = |a: f32, _| {
            count(false);
            a
        };
        zip3(yf.view(), dy.view(), dx.view_mut(), &mut run, &one).unwrap();
        assert_eq!(calls.take(), (0, 12));
        zip3(y.view(), dy.view(), dx.view_mut(), &mut run, &one).unwrap();
        assert_eq!(calls.take(), (1, 0));
    }
}
