//! The `ndarray` entry points against the oracle, bit for bit, on every available ISA
//! and element type: 0-D to 4-D arrays (0-size included) in C and Fortran order,
//! transposed, with permuted axes, strided (`..;2` outer and inner, `..;-3`),
//! reversed (one axis, every axis) and broadcast (inputs), every input layout
//! against every output layout. Outputs that are views into a larger buffer must
//! leave the rest of the buffer untouched.
#![cfg(feature = "ndarray")]

use crate::common;

use caffe2op_relu::{Activation, Element, Kernel, Op, Threads, nd};
use common::{Rng, TestElem, activations, kernels_for, light, values};
use ndarray::{ArrayD, ArrayViewD, ArrayViewMutD, Dimension, IxDyn, ShapeBuilder, Slice};

/// How a logical array of some shape sits in its backing buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Layout {
    /// The whole buffer, C order.
    C,
    /// The whole buffer, Fortran order.
    F,
    /// A C-order buffer of the reversed shape, seen through `reversed_axes` (the
    /// transpose of a matrix).
    Transposed,
    /// A C-order buffer with the axes rotated, seen through `permuted_axes`.
    Permuted,
    /// Every other index of axis 0 (`1..;2`) of a buffer twice as long there.
    StepOuter,
    /// Every other index of the last axis (`..;2`).
    StepInner,
    /// Every third index of axis 0, backwards (`..;-3`).
    StepRev,
    /// Axis 0 reversed (`..;-1`).
    RevOuter,
    /// Every axis reversed.
    RevAll,
    /// Axis 0 of length 1 in the buffer, broadcast (stride 0). Inputs only.
    Broadcast,
}

use Layout::*;

const INPUTS: [Layout; 10] = [
    C, F, Transposed, Permuted, StepOuter, StepInner, StepRev, RevOuter, RevAll, Broadcast,
];
const OUTPUTS: [Layout; 9] = [
    C, F, Transposed, Permuted, StepOuter, StepInner, StepRev, RevOuter, RevAll,
];

/// A backing buffer and the layout through which it is seen with `shape`.
#[derive(Clone)]
struct Backing<T> {
    buf: ArrayD<T>,
    layout: Layout,
    shape: Vec<usize>,
}

/// The slice of axis `d` (of `ndim`) that `layout` takes.
fn slicing(layout: Layout, d: ndarray::AxisDescription, ndim: usize) -> Slice {
    let axis = d.axis.index();
    match layout {
        StepOuter if axis == 0 => Slice::new(d.len.min(1) as isize, None, 2),
        StepInner if axis + 1 == ndim => Slice::new(0, None, 2),
        StepRev if axis == 0 => Slice::new(0, None, -3),
        RevOuter if axis == 0 => Slice::new(0, None, -1),
        RevAll => Slice::new(0, None, -1),
        _ => Slice::from(..),
    }
}

/// `permuted_axes` argument that turns the rotated buffer back into `shape`.
fn unrotate(ndim: usize) -> Vec<usize> {
    (0..ndim).map(|j| (j + ndim - 1) % ndim).collect()
}

impl<T: Clone> Backing<T> {
    fn new(shape: &[usize], layout: Layout, fill: T) -> Backing<T> {
        let nd = shape.len();
        let mut bs = shape.to_vec();
        let buf = match layout {
            C | RevOuter | RevAll => ArrayD::from_elem(IxDyn(&bs), fill),
            F => ArrayD::from_elem(IxDyn(&bs).f(), fill),
            Transposed => {
                bs.reverse();
                ArrayD::from_elem(IxDyn(&bs), fill)
            }
            Permuted => {
                bs.rotate_left(nd.min(1));
                ArrayD::from_elem(IxDyn(&bs), fill)
            }
            StepOuter | StepRev | Broadcast | StepInner => {
                if nd > 0 {
                    let ax = if layout == StepInner { nd - 1 } else { 0 };
                    bs[ax] = match layout {
                        StepOuter | StepInner => 2 * bs[ax],
                        StepRev => (3 * bs[ax]).saturating_sub(2),
                        _ => 1,
                    };
                }
                ArrayD::from_elem(IxDyn(&bs), fill)
            }
        };
        Backing {
            buf,
            layout,
            shape: shape.to_vec(),
        }
    }

    fn view(&self) -> ArrayViewD<'_, T> {
        let nd = self.buf.ndim();
        let v = match self.layout {
            Transposed => self.buf.view().reversed_axes(),
            Permuted => self.buf.view().permuted_axes(unrotate(nd)),
            Broadcast => self.buf.broadcast(IxDyn(&self.shape)).unwrap(),
            _ => self.buf.slice_each_axis(|d| slicing(self.layout, d, nd)),
        };
        assert_eq!(v.shape(), self.shape, "{:?}", self.layout);
        v
    }

    fn view_mut(&mut self) -> ArrayViewMutD<'_, T> {
        let nd = self.buf.ndim();
        let layout = self.layout;
        let v = self.buf.view_mut();
        let v = match layout {
            Transposed => v.reversed_axes(),
            Permuted => v.permuted_axes(unrotate(nd)),
            Broadcast => panic!("a broadcast view cannot be written"),
            _ => v.slice_each_axis_inplace_mut(nd, layout),
        };
        assert_eq!(v.shape(), self.shape, "{layout:?}");
        v
    }
}

/// `slice_each_axis` for a mutable view (which has no such consuming method).
trait SliceMut<'a, T> {
    fn slice_each_axis_inplace_mut(self, nd: usize, layout: Layout) -> ArrayViewMutD<'a, T>;
}

impl<'a, T> SliceMut<'a, T> for ArrayViewMutD<'a, T> {
    fn slice_each_axis_inplace_mut(mut self, nd: usize, layout: Layout) -> ArrayViewMutD<'a, T> {
        self.slice_each_axis_inplace(|d| slicing(layout, d, nd));
        self
    }
}

impl<T: TestElem> Backing<T> {
    /// A buffer of random test values (every element, so broadcast inputs repeat them).
    fn random(shape: &[usize], layout: Layout, rng: &mut Rng, p: f64) -> Backing<T> {
        let mut b = Backing::new(shape, layout, T::from_f64(0.0));
        let v = values::<T>(rng, b.buf.len(), p);
        b.buf.iter_mut().zip(v).for_each(|(o, v)| *o = v);
        b
    }
}

/// Which elements of the buffer the view covers.
fn mask<T: Clone>(b: &Backing<T>) -> ArrayD<bool> {
    let mut m = Backing::new(&b.shape, b.layout, false);
    m.view_mut().fill(true);
    assert_eq!(m.buf.strides(), b.buf.strides());
    m.buf
}

/// `got` equals `expect` bit for bit, and every buffer element outside the view is
/// unchanged from `before`.
fn check<T: Element>(
    got: &Backing<T>,
    before: &Backing<T>,
    expect: &ArrayD<T>,
    ctx: &dyn Fn() -> String,
) {
    let view = got.view();
    assert_eq!(view.shape(), expect.shape());
    for ((idx, &g), &e) in view.indexed_iter().zip(expect.iter()) {
        if g.to_bits() != e.to_bits() {
            panic!(
                "{}: index {:?}: got {g:?} ({:?}), oracle {e:?} ({:?})",
                ctx(),
                idx.slice(),
                g.to_bits(),
                e.to_bits()
            );
        }
    }
    for ((&in_view, &g), &b) in mask(got).iter().zip(got.buf.iter()).zip(before.buf.iter()) {
        assert!(
            in_view || g.to_bits() == b.to_bits(),
            "{}: wrote outside the view",
            ctx()
        );
    }
}

/// The shapes to test: 0-D to 4-D, fixed edge cases and random ones.
fn shapes(rng: &mut Rng) -> Vec<Vec<usize>> {
    let mut v: Vec<Vec<usize>> = vec![
        vec![],
        vec![0],
        vec![1],
        vec![37],
        vec![3, 0],
        vec![1, 1],
        vec![1, 19],
        vec![19, 1],
        vec![7, 13],
        vec![2, 3, 4],
        vec![1, 0, 3],
        vec![2, 3, 4, 5],
        vec![3, 1, 2, 1],
    ];
    // Random shapes too, except in light runs (qemu, the sanitizer), where every case
    // is several times slower.
    let random = if light() { 0 } else { 2 };
    for nd in 1..=4 {
        let max = [0, 70, 12, 6, 4][nd];
        for _ in 0..random {
            v.push((0..nd).map(|_| rng.below(max + 1)).collect());
        }
    }
    v
}

/// A floor on the cases each test runs, so that a broken generator cannot pass by
/// testing nothing.
fn min_cases() -> usize {
    if light() { 3_000 } else { 10_000 }
}

/// The kernels to test: every available ISA (serial) and the default dispatch.
fn all_kernels(act: Activation) -> Vec<Kernel> {
    let mut v = kernels_for(act);
    v.push(Kernel::new(act));
    v
}

/// Two activations per op: Caffe2's default and a random one (only the default in
/// light runs).
fn some_activations(rng: &mut Rng) -> Vec<Activation> {
    Op::ALL
        .into_iter()
        .flat_map(|op| {
            let all = activations(op, rng);
            let mut v = vec![all[0]];
            if all.len() > 1 && !light() {
                v.push(all[all.len() - 1]);
            }
            v
        })
        .collect()
}

fn forward_every_layout<T: TestElem>(seed: u64) -> usize {
    let mut rng = Rng(seed);
    let mut cases = 0;
    for shape in shapes(&mut rng) {
        for act in some_activations(&mut rng) {
            let p = act.param();
            for k in all_kernels(act) {
                for xl in INPUTS {
                    let x = Backing::<T>::random(&shape, xl, &mut rng, p);
                    let expect = x.view().mapv(|v| act.oracle_forward(v).unwrap());
                    for yl in OUTPUTS {
                        let ctx = || {
                            format!(
                                "forward {} {act:?} isa={} shape={shape:?} x={xl:?} y={yl:?}",
                                T::NAME,
                                k.isa()
                            )
                        };
                        let before = Backing::<T>::random(&shape, yl, &mut rng, p);
                        let mut y = before.clone();
                        k.forward_array(&x.view(), &mut y.view_mut())
                            .unwrap_or_else(|e| panic!("{}: {e}", ctx()));
                        check(&y, &before, &expect, &ctx);
                        cases += 1;
                    }
                }
                // In place, on every writable layout.
                for xl in OUTPUTS {
                    let ctx = || {
                        format!(
                            "forward_in_place {} {act:?} isa={} shape={shape:?} x={xl:?}",
                            T::NAME,
                            k.isa()
                        )
                    };
                    let before = Backing::<T>::random(&shape, xl, &mut rng, p);
                    let expect = before.view().mapv(|v| act.oracle_forward(v).unwrap());
                    let mut x = before.clone();
                    k.forward_array_in_place(&mut x.view_mut())
                        .unwrap_or_else(|e| panic!("{}: {e}", ctx()));
                    check(&x, &before, &expect, &ctx);
                    cases += 1;
                }
            }
        }
    }
    cases
}

fn backward_every_layout<T: TestElem>(seed: u64) -> usize {
    let mut rng = Rng(seed);
    let mut cases = 0;
    for shape in shapes(&mut rng) {
        for act in some_activations(&mut rng) {
            let p = act.param();
            for k in all_kernels(act) {
                for yl in INPUTS {
                    let y = Backing::<T>::random(&shape, yl, &mut rng, p);
                    for dxl in OUTPUTS {
                        // dy's layout: dx's (all three agree, the fast path, when y's
                        // does too) and a random one.
                        for dyl in [dxl, INPUTS[rng.below(INPUTS.len())]] {
                            let ctx = || {
                                format!(
                                    "backward {} {act:?} isa={} shape={shape:?} y={yl:?} \
                                     dy={dyl:?} dx={dxl:?}",
                                    T::NAME,
                                    k.isa()
                                )
                            };
                            let dy = Backing::<T>::random(&shape, dyl, &mut rng, p);
                            let expect = oracle_backward(act, &y.view(), &dy.view());
                            let before = Backing::<T>::random(&shape, dxl, &mut rng, p);
                            let mut dx = before.clone();
                            k.backward_array(&y.view(), &dy.view(), &mut dx.view_mut())
                                .unwrap_or_else(|e| panic!("{}: {e}", ctx()));
                            check(&dx, &before, &expect, &ctx);
                            cases += 1;
                        }
                        // In place: dx overwrites dy (in layout dxl).
                        let ctx = || {
                            format!(
                                "backward_in_place {} {act:?} isa={} shape={shape:?} y={yl:?} \
                                 dy={dxl:?}",
                                T::NAME,
                                k.isa()
                            )
                        };
                        let before = Backing::<T>::random(&shape, dxl, &mut rng, p);
                        let expect = oracle_backward(act, &y.view(), &before.view());
                        let mut dy = before.clone();
                        k.backward_array_in_place(&y.view(), &mut dy.view_mut())
                            .unwrap_or_else(|e| panic!("{}: {e}", ctx()));
                        check(&dy, &before, &expect, &ctx);
                        cases += 1;
                    }
                }
            }
        }
    }
    cases
}

fn oracle_backward<T: Element>(
    act: Activation,
    y: &ArrayViewD<'_, T>,
    dy: &ArrayViewD<'_, T>,
) -> ArrayD<T> {
    let mut out = y.to_owned();
    out.zip_mut_with(dy, |o, &d| *o = act.oracle_backward(*o, d).unwrap());
    out
}

macro_rules! per_type {
    ($($name:ident: $T:ty),* $(,)?) => {$(
        mod $name {
            use super::*;

            #[test]
            fn forward_every_layout_pair() {
                let cases = forward_every_layout::<$T>(0x5eed_0001);
                eprintln!("{cases} forward cases");
                assert!(cases > min_cases(), "{cases}");
            }

            #[test]
            fn backward_every_layout_pair() {
                let cases = backward_every_layout::<$T>(0x5eed_0002);
                eprintln!("{cases} backward cases");
                assert!(cases > min_cases(), "{cases}");
            }
        }
    )*};
}

per_type!(f32_: f32, f64_: f64, f16_: half::f16, bf16_: half::bf16);

#[test]
fn int8_relu_every_layout_pair() {
    let mut rng = Rng(0x5eed_0003);
    let mut cases = 0;
    for shape in shapes(&mut rng) {
        for zp in [0u8, 1, 127, 128, 200, 255] {
            for xl in INPUTS {
                let mut x = Backing::<u8>::new(&shape, xl, 0);
                x.buf.iter_mut().for_each(|v| *v = rng.next_u64() as u8);
                let expect = x.view().mapv(|v| caffe2op_relu::int8_relu_oracle(v, zp));
                for yl in OUTPUTS {
                    let ctx = || format!("int8_relu zp={zp} shape={shape:?} x={xl:?} y={yl:?}");
                    let mut before = Backing::<u8>::new(&shape, yl, 0);
                    before
                        .buf
                        .iter_mut()
                        .for_each(|v| *v = rng.next_u64() as u8);
                    let mut y = before.clone();
                    nd::int8_relu(&x.view(), &mut y.view_mut(), zp).unwrap();
                    check_u8(&y, &before, &expect, &ctx);
                    cases += 1;
                }
            }
            for xl in OUTPUTS {
                let ctx = || format!("int8_relu_in_place zp={zp} shape={shape:?} x={xl:?}");
                let mut before = Backing::<u8>::new(&shape, xl, 0);
                before
                    .buf
                    .iter_mut()
                    .for_each(|v| *v = rng.next_u64() as u8);
                let expect = before
                    .view()
                    .mapv(|v| caffe2op_relu::int8_relu_oracle(v, zp));
                let mut x = before.clone();
                nd::int8_relu_in_place(&mut x.view_mut(), zp);
                check_u8(&x, &before, &expect, &ctx);
                cases += 1;
            }
        }
    }
    eprintln!("{cases} int8 cases");
    assert!(cases > min_cases(), "{cases}");
}

fn check_u8(
    got: &Backing<u8>,
    before: &Backing<u8>,
    expect: &ArrayD<u8>,
    ctx: &dyn Fn() -> String,
) {
    assert_eq!(got.view(), expect.view(), "{}", ctx());
    for ((&in_view, &g), &b) in mask(got).iter().zip(got.buf.iter()).zip(before.buf.iter()) {
        assert!(in_view || g == b, "{}: wrote outside the view", ctx());
    }
}

/// The fixed-dimension types (`Ix1`..`Ix4`) and plain `Array`/`ArrayView` arguments
/// reach the same code: spot checks with `s![]` slicing, as a user writes it.
#[test]
fn fixed_dimension_types_and_s_macro() {
    use ndarray::{Array1, Array2, Array3, Array4, s};
    let mut rng = Rng(0x5eed_0004);
    let k = Kernel::new(Activation::leaky_relu(0.25).unwrap());
    let a = Activation::leaky_relu(0.25).unwrap();

    let x1 = Array1::from(values::<f32>(&mut rng, 40, 0.25));
    let mut y1 = Array1::<f32>::zeros(20);
    k.forward_array(&x1.slice(s![..;-2]), &mut y1).unwrap();
    for (i, &v) in y1.iter().enumerate() {
        let e = a.oracle_forward(x1[39 - 2 * i]).unwrap();
        assert_eq!(v.to_bits(), e.to_bits(), "1-D index {i}");
    }

    let x2 = Array2::from_shape_vec((6, 8), values::<f64>(&mut rng, 48, 0.25)).unwrap();
    let mut y2 = Array2::<f64>::zeros((8, 3));
    k.forward_array(&x2.slice(s![..;2, ..]).t(), &mut y2)
        .unwrap();
    for ((i, j), &v) in y2.indexed_iter() {
        let e = a.oracle_forward(x2[[2 * j, i]]).unwrap();
        assert_eq!(v.to_bits(), e.to_bits(), "2-D index {i},{j}");
    }

    let x3 = Array3::from_shape_vec((3, 4, 5), values::<half::f16>(&mut rng, 60, 0.25)).unwrap();
    let mut y3 = x3.clone();
    k.forward_array_in_place(&mut y3.slice_mut(s![.., 1..3, ..;-1]))
        .unwrap();
    for ((i, j, l), &v) in y3.indexed_iter() {
        let e = if (1..3).contains(&j) {
            a.oracle_forward(x3[[i, j, l]]).unwrap()
        } else {
            x3[[i, j, l]]
        };
        assert_eq!(v.to_bits(), e.to_bits(), "3-D index {i},{j},{l}");
    }

    let y4 =
        Array4::from_shape_vec((2, 3, 2, 2), values::<half::bf16>(&mut rng, 24, 0.25)).unwrap();
    let dy4 =
        Array4::from_shape_vec((2, 3, 2, 2), values::<half::bf16>(&mut rng, 24, 0.25)).unwrap();
    let mut dx4 = Array4::from_elem((2, 3, 2, 2).f(), half::bf16::ZERO);
    k.backward_array(&y4, &dy4.view(), &mut dx4).unwrap();
    for (idx, &v) in dx4.indexed_iter() {
        let e = a.oracle_backward(y4[idx], dy4[idx]).unwrap();
        assert_eq!(v.to_bits(), e.to_bits(), "4-D index {idx:?}");
    }
}

/// Large arrays, contiguous and row-strided, under `Threads::Auto` (big enough to
/// be split across the rayon pool) equal the serial oracle.
#[test]
fn large_arrays_threaded() {
    let mut rng = Rng(0x5eed_0005);
    let act = Activation::relu_n(6.0).unwrap();
    // 2 or 8 MiB per array: above the parallel threshold either way.
    let cols = if light() { 1 << 16 } else { 1 << 18 };
    let rows = 4;
    let x = ArrayD::from_shape_vec(
        IxDyn(&[2 * rows, cols]),
        values::<f32>(&mut rng, 2 * rows * cols, 6.0),
    )
    .unwrap();
    let xs = x.slice_each_axis(|d| {
        if d.axis.index() == 0 {
            Slice::new(0, None, 2)
        } else {
            Slice::from(..)
        }
    });
    for k in [
        Kernel::new(act),
        Kernel::new(act).with_threads(Threads::Serial),
    ] {
        assert!(k.pieces::<f32>(x.len()) >= 1);
        for f_order in [false, true] {
            let mut y = ArrayD::<f32>::zeros(IxDyn(&[2 * rows, cols]).set_f(f_order));
            k.forward_array(&x, &mut y).unwrap();
            for (g, &v) in y.iter().zip(x.iter()) {
                assert_eq!(g.to_bits(), act.oracle_forward(v).unwrap().to_bits());
            }
        }
        let mut y = ArrayD::<f32>::zeros(IxDyn(&[rows, cols]));
        k.forward_array(&xs, &mut y).unwrap();
        for (g, &v) in y.iter().zip(xs.iter()) {
            assert_eq!(g.to_bits(), act.oracle_forward(v).unwrap().to_bits());
        }
        let mut dx = ArrayD::<f32>::zeros(IxDyn(&[rows, cols]));
        k.backward_array(&y, &xs, &mut dx).unwrap();
        for ((g, &a), &b) in dx.iter().zip(y.iter()).zip(xs.iter()) {
            assert_eq!(g.to_bits(), act.oracle_backward(a, b).unwrap().to_bits());
        }
    }
}
