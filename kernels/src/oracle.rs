//! The scalar oracle: the definition of every function, one element at a time.
//!
//! These functions *are* the semantics of the crate (SPEC §3). Every vector kernel is
//! tested against them bit for bit. They only compare and select, except for the
//! single IEEE multiplication of leaky_relu and its gradient, so a passed-through value
//! (NaN payloads, the signalling bit, -0.0) keeps its exact bits.
//!
//! The element functions themselves live with their ops ([`crate::ops`], over
//! [`crate::ops::Real`]); this module holds their slice loops (`KERNELS`), the
//! `Isa::Scalar` variant: that code as the compiler sees fit to compile it for the
//! baseline target.

/// The ranges of a forward call as slices, for the slice loops of `oracle_loops!`.
///
/// The two cases the contract allows get a loop each, over slices, so the compiler
/// knows how the ranges relate and can vectorise the oracle's selects: a loop over
/// raw pointers that might alias was left scalar and branchy in place (f32 relu_n
/// in place at 1 MiB: 9 GB/s, relu 28, u8 7; over slices 96-115). The loops call the
/// element function directly, not through a closure: a closure around a large
/// element function (f16 leaky_relu) stayed a call per element in the functions
/// compiled for AVX2 and AVX-512.
pub enum UnarySlices<'a, T> {
    /// `dst == src`.
    InPlace(&'a mut [T]),
    /// Disjoint ranges (the output claimed uninitialised).
    Apart(&'a [T], &'a mut [core::mem::MaybeUninit<T>]),
}

/// [`UnarySlices`] of a call (`InPlace` of an empty slice when `len == 0`).
///
/// # Safety
/// The contract of [`crate::UnaryFn`], for the lifetime `'a`.
#[inline(always)]
pub unsafe fn unary_slices<'a, T>(src: *const T, dst: *mut T, len: usize) -> UnarySlices<'a, T> {
    if len == 0 {
        return UnarySlices::InPlace(&mut []);
    }
    if core::ptr::eq(src, dst) {
        // SAFETY: in place: `dst` is valid for `len` reads and writes, aligned and
        // not null (`len > 0`), and nothing else touches it during the call.
        UnarySlices::InPlace(unsafe { core::slice::from_raw_parts_mut(dst, len) })
    } else {
        // SAFETY: `src` is valid for `len` reads and `dst` for `len` writes, both
        // aligned and not null, and the two ranges do not overlap (the contract
        // allows no other case). `MaybeUninit` claims nothing about `dst`'s contents.
        unsafe {
            UnarySlices::Apart(
                core::slice::from_raw_parts(src, len),
                core::slice::from_raw_parts_mut(dst.cast::<core::mem::MaybeUninit<T>>(), len),
            )
        }
    }
}

/// `dst[i] = $f(src[i])` over [`UnarySlices`], the element function called directly
/// in each of the two loops.
#[macro_export]
#[doc(hidden)]
macro_rules! map_unary {
    ($slices:expr, |$x:ident| $f:expr) => {
        match $slices {
            $crate::oracle::UnarySlices::InPlace(v) => {
                for e in v {
                    let $x = *e;
                    *e = $f;
                }
            }
            $crate::oracle::UnarySlices::Apart(s, d) => {
                for (o, &$x) in d.iter_mut().zip(s) {
                    o.write($f);
                }
            }
        }
    };
}

/// `dx[i] = f(y[i], dy[i])` for `i < len`: the loop of every scalar backward
/// kernel. When `dx` is neither input it overlaps neither, and the loop runs over
/// slices (as in [`unary_slices`]). In place (`dx` is `y` or `dy`, which may also
/// overlap each other) the inputs are copied out a chunk at a time, each chunk before
/// any of it is written, and the same slice loop runs on the copies. `f` is called
/// from that one loop only: with a second call site, the compiler kept f16's
/// leaky_relu_grad out of line and its loop scalar (0.5 GB/s).
///
/// # Safety
/// The contract of [`crate::BinaryFn`].
#[inline(always)]
pub unsafe fn map_binary<T: Copy, Z: Zip>(
    y: *const T,
    dy: *const T,
    dx: *mut T,
    len: usize,
    f: impl Fn(T, T) -> T,
) {
    if len == 0 {
        return;
    }
    if core::ptr::eq(y, dx) || core::ptr::eq(dy, dx) {
        const CHUNK: usize = 256;
        // SAFETY: `len > 0`, so `y` is valid for one read.
        let first = unsafe { y.read() };
        let (mut a, mut b) = ([first; CHUNK], [first; CHUNK]);
        let mut start = 0;
        while start < len {
            let m = CHUNK.min(len - start);
            for i in 0..m {
                // SAFETY: `start + i < len`, inside both input ranges; nothing of
                // this chunk of `dx` has been written yet.
                unsafe {
                    a[i] = y.add(start + i).read();
                    b[i] = dy.add(start + i).read();
                }
            }
            // SAFETY: `dx + start` is valid for `m` writes (`start + m <= len`),
            // aligned and not null; no reference into the three ranges is live (the
            // inputs were copied into `a` and `b` by raw reads).
            let d = unsafe {
                core::slice::from_raw_parts_mut(
                    dx.add(start).cast::<core::mem::MaybeUninit<T>>(),
                    m,
                )
            };
            // SAFETY: forwarded from the caller (the ISA of `Z`).
            unsafe { Z::zip(&a[..m], &b[..m], d, &f) };
            start += m;
        }
    } else {
        // SAFETY: `y` and `dy` are valid for `len` reads and `dx` for `len` writes,
        // all aligned and not null; `dx` overlaps neither input (the contract), and
        // the inputs are only read, so they may overlap each other.
        let (a, b, d) = unsafe {
            (
                core::slice::from_raw_parts(y, len),
                core::slice::from_raw_parts(dy, len),
                core::slice::from_raw_parts_mut(dx.cast::<core::mem::MaybeUninit<T>>(), len),
            )
        };
        // SAFETY: forwarded from the caller (the ISA of `Z`).
        unsafe { Z::zip(a, b, d, &f) };
    }
}

/// [`map_binary`]'s one loop, `d[i] = f(a[i], b[i])` over the shortest of the three,
/// compiled for one ISA. Not inlined, so `f` has one call site and is inlined there.
pub trait Zip {
    /// The loop.
    ///
    /// # Safety
    /// The running CPU supports the implementation's ISA.
    unsafe fn zip<T: Copy, F: Fn(T, T) -> T>(
        a: &[T],
        b: &[T],
        d: &mut [core::mem::MaybeUninit<T>],
        f: &F,
    );
}

/// [`Zip`] for the baseline target.
pub struct BaselineZip;

impl Zip for BaselineZip {
    #[inline(never)]
    unsafe fn zip<T: Copy, F: Fn(T, T) -> T>(
        a: &[T],
        b: &[T],
        d: &mut [core::mem::MaybeUninit<T>],
        f: &F,
    ) {
        for (o, (&u, &v)) in d.iter_mut().zip(a.iter().zip(b)) {
            o.write(f(u, v));
        }
    }
}

/// The oracle's slice loops for every element type, generic over the op, compiled
/// with the given attributes, as modules `f32`, `f64`, `f16`, `bf16` and `u8` (each
/// with a `KERNELS` table) and a [`crate::Tables`] named `TABLES`. With no target
/// feature this is the `scalar` ISA; an ISA folder instantiates it with its own
/// features as the compiler's vectorisation of the oracle on that ISA (the baseline
/// its hand-written kernels are measured against). Every loop is `#[inline(never)]`:
/// small functions are otherwise copied into every crate that names them in
/// optimised builds.
///
/// Usage: `oracle_loops!([target_feature(enable = "avx2,fma")]);`
#[macro_export]
#[doc(hidden)]
macro_rules! oracle_loops {
    ([$($attr:meta),*]) => {
        /// [`Zip`]($crate::oracle::Zip) compiled with this module's attributes.
        pub struct LoopZip;

        impl $crate::oracle::Zip for LoopZip {
            #[inline(never)]
            $(#[$attr])*
            unsafe fn zip<T: Copy, F: Fn(T, T) -> T>(
                a: &[T],
                b: &[T],
                d: &mut [core::mem::MaybeUninit<T>],
                f: &F,
            ) {
                for (o, (&u, &v)) in d.iter_mut().zip(a.iter().zip(b)) {
                    o.write(f(u, v));
                }
            }
        }

        $crate::oracle_loops!(@type [$($attr),*], f32, f32);
        $crate::oracle_loops!(@type [$($attr),*], f64, f64);
        $crate::oracle_loops!(@type [$($attr),*], f16, $crate::half::F16);
        $crate::oracle_loops!(@type [$($attr),*], bf16, $crate::half::Bf16);

        /// The oracle's u8 loops.
        pub mod u8 {
            /// Int8Relu, byte by byte.
            ///
            /// # Safety
            /// Contract of [`crate::UnaryFn`].
            #[inline(never)]
            $(#[$attr])*
            pub unsafe fn int8_relu(
                src: *const u8,
                dst: *mut u8,
                len: usize,
                p: &$crate::ops::Params<u8>,
                _stream: bool,
            ) {
                let zero_point = p.scalars[0];
                // SAFETY: forwarded from the caller.
                let slices = unsafe { $crate::oracle::unary_slices(src, dst, len) };
                $crate::map_unary!(slices, |x| $crate::oracle::int8_relu(x, zero_point));
            }

            /// A byte table, byte by byte (`dst[i] = table[src[i]]`; the table:
            /// [`Int8Kernels::int8_lut`]($crate::int8::Int8Kernels::int8_lut)).
            ///
            /// # Safety
            /// Contract of [`crate::UnaryFn`], and the table's 256 bytes at
            /// `p.channel.values`.
            #[inline(never)]
            $(#[$attr])*
            pub unsafe fn int8_lut(
                src: *const u8,
                dst: *mut u8,
                len: usize,
                p: &$crate::ops::Params<u8>,
                _stream: bool,
            ) {
                // SAFETY: forwarded from the caller.
                let (t, slices) = unsafe {
                    ($crate::int8::table_of(p), $crate::oracle::unary_slices(src, dst, len))
                };
                $crate::map_unary!(slices, |x| t[x as usize]);
            }

            /// The u8 table.
            pub const KERNELS: $crate::int8::Int8Kernels =
                $crate::int8::Int8Kernels { int8_relu, int8_lut };
        }

        /// Every element type's loops.
        pub static TABLES: $crate::Tables =
            $crate::tables!(self::f32, self::f64, self::f16, self::bf16, self::u8);
    };
    (@type [$($attr:meta),*], $m:ident, $T:ty) => {
        /// The oracle's slice loops for this element type.
        pub mod $m {
            use $crate::ops::{BackwardOp, ForwardOp, Params};

            /// The forward op `O`, element by element.
            ///
            /// # Safety
            /// Contract of [`crate::UnaryFn`].
            #[inline(never)]
            $(#[$attr])*
            pub unsafe fn forward<O: ForwardOp>(
                src: *const $T,
                dst: *mut $T,
                len: usize,
                p: &Params<$T>,
                _stream: bool,
            ) {
                let p = *p;
                // SAFETY: forwarded from the caller.
                let slices = unsafe { $crate::oracle::unary_slices(src, dst, len) };
                $crate::map_unary!(slices, |x| O::oracle(x, &p));
            }

            /// The backward op `O`, element by element.
            ///
            /// # Safety
            /// Contract of [`crate::BinaryFn`].
            #[inline(never)]
            $(#[$attr])*
            pub unsafe fn backward<O: BackwardOp>(
                y: *const $T,
                dy: *const $T,
                dx: *mut $T,
                len: usize,
                p: &Params<$T>,
                _stream: bool,
            ) {
                let p = *p;
                let f = move |u, v| O::oracle(u, v, &p);
                // SAFETY: forwarded from the caller (with the module's ISA).
                unsafe { $crate::oracle::map_binary::<_, super::LoopZip>(y, dy, dx, len, f) }
            }

            // PRelu's loops: the scalar ISA's, in every table of oracle loops.
            use $crate::oracle::prelu_loops::$m::{prelu_backward, prelu_dw, prelu_forward};

            /// This type's table.
            pub const KERNELS: $crate::Kernels<$T> = $crate::kernels_table!(forward, backward);
        }
    };
}

/// PRelu's oracle loops for every element type, compiled once for the baseline
/// target: the scalar ISA's PRelu, and the PRelu entries of every ISA's table of
/// oracle loops (the compiler's-loop baseline is measured for the registry's ops).
pub mod prelu_loops {
    macro_rules! prelu_loops {
        ($m:ident, $T:ty) => {
            /// PRelu's oracle loops for this element type.
            pub mod $m {
                /// PRelu forward, element by element.
                ///
                /// # Safety
                /// See [`crate::prelu::PreluFn`].
                #[inline(never)]
                pub unsafe fn prelu_forward(
                    x: *const $T,
                    y: *mut $T,
                    len: usize,
                    ch: &$crate::ops::Channel<$T>,
                ) {
                    // SAFETY: forwarded from the caller.
                    unsafe { $crate::prelu::forward_scalar(x, y, len, ch) }
                }

                /// PRelu's input gradient, element by element.
                ///
                /// # Safety
                /// See [`crate::prelu::PreluGradFn`].
                #[inline(never)]
                pub unsafe fn prelu_backward(
                    x: *const $T,
                    dy: *const $T,
                    dx: *mut $T,
                    len: usize,
                    ch: &$crate::ops::Channel<$T>,
                ) {
                    // SAFETY: forwarded from the caller.
                    unsafe { $crate::prelu::backward_scalar(x, dy, dx, len, ch) }
                }

                $crate::prelu_dw_entry!([inline(never)], $T);
            }
        };
    }
    prelu_loops!(f32, f32);
    prelu_loops!(f64, f64);
    prelu_loops!(f16, crate::half::F16);
    prelu_loops!(bf16, crate::half::Bf16);
}

/// The `scalar` ISA: the oracle's loops for the baseline target.
pub mod scalar {
    crate::oracle_loops!([]);
}

/// The oracle of Int8Relu (Caffe2): `x < zero_point ? zero_point : x`.
#[inline]
pub fn int8_relu(x: u8, zero_point: u8) -> u8 {
    if x < zero_point { zero_point } else { x }
}

/// The output range of an Int8LeakyRelu table (QNNPACK's `output_min`, `output_max`):
/// every u8 code, as Caffe2's operator asks.
const INT8_LEAKY_OUT: (i32, i32) = (0, 255);

/// Int8LeakyRelu's table (Caffe2's `Int8LeakyRelu`, which builds QNNPACK's table):
/// for each input byte `i`, in `f32` arithmetic,
///
/// ```text
/// x = (x_scale / y_scale) * (i - x_zero_point)
/// y = x < 0 ? x * alpha : x
/// y = clamp(y, 0 - y_zero_point, 255 - y_zero_point)
/// table[i] = round_half_even(y) + y_zero_point
/// ```
///
/// The scale ratio is one `f32` division, rounded once, and each product is rounded
/// once (no fused multiply-add), as in QNNPACK's C. The parameters are the caller's to
/// check (the safe crate refuses what QNNPACK refuses); for any finite ones the result
/// is defined (the clamp keeps `y` within ±255, so the rounding is exact).
pub fn int8_leaky_relu_table(
    alpha: f32,
    x_scale: f32,
    x_zero_point: u8,
    y_scale: f32,
    y_zero_point: u8,
) -> [u8; 256] {
    let ratio = x_scale / y_scale;
    let zp_out = i32::from(y_zero_point);
    let lo = (INT8_LEAKY_OUT.0 - zp_out) as f32;
    let hi = (INT8_LEAKY_OUT.1 - zp_out) as f32;
    let mut t = [0u8; 256];
    for (i, e) in t.iter_mut().enumerate() {
        let x = ratio * (i as i32 - i32::from(x_zero_point)) as f32;
        let mut y = if x < 0.0 { x * alpha } else { x };
        if y < lo {
            y = lo;
        }
        if y > hi {
            y = hi;
        }
        // `y` is within [-255, 255], so it is in range and `round_half_even` exact.
        *e = (round_half_even(y) as i32 + zp_out) as u8;
    }
    t
}

/// Rounds `y` to the nearest integer, ties to even (C's `lrintf` in the default
/// rounding mode), for `|y| <= 2^22`: adding and subtracting 1.5 * 2^23 leaves no
/// fraction bits, and Rust's float arithmetic rounds to nearest, ties to even. A NaN
/// stays NaN (callers never pass one).
#[inline]
fn round_half_even(y: f32) -> f32 {
    const SHIFT: f32 = 12_582_912.0; // 1.5 * 2^23
    (y + SHIFT) - SHIFT
}

#[cfg(test)]
mod tests {
    use crate::ops::{ForwardOp, Params, Real, ReluN};

    fn relu_n<T: Real>(x: T, n: T) -> T {
        ReluN::oracle(x, &Params::scalar(n))
    }

    macro_rules! chain {
        ($name:ident, $T:ty) => {
            /// SPEC §3's relu_n, as written there.
            fn $name(x: $T, n: $T) -> $T {
                if x < 0.0 {
                    0.0
                } else if x > n {
                    n
                } else {
                    x
                }
            }
        };
    }
    chain!(chain64, f64);
    chain!(chain32, f32);

    /// relu_n is written as two selects (which the compiler vectorises); it must be
    /// the chain SPEC §3 gives, `x < 0 ? 0 : x > n ? n : x`, bit for bit, for every
    /// pair of special and ordinary values, negative and NaN `n` included.
    #[test]
    fn relu_n_is_the_spec_chain() {
        let specials = [
            0.0,
            -0.0,
            1.0,
            -1.0,
            6.0,
            5.999,
            6.001,
            -6.0,
            f64::INFINITY,
            f64::NEG_INFINITY,
            f64::NAN,
            -f64::NAN,
            f64::from_bits(0x7ff0_0000_0000_0001), // signalling NaN
            f64::from_bits(1),                     // smallest subnormal
            -f64::from_bits(1),
            f64::MAX,
            f64::MIN,
        ];
        let specials32 = specials.map(|v| v as f32).into_iter().chain([
            f32::from_bits(0x7f80_0001), // signalling NaN
            f32::from_bits(0xffc0_1234), // negative NaN with a payload
            f32::from_bits(1),           // smallest subnormal
        ]);
        for &x in &specials {
            for &n in &specials {
                let got = relu_n(x, n).to_bits();
                assert_eq!(got, chain64(x, n).to_bits(), "f64 x={x} n={n}");
            }
        }
        for x in specials32.clone() {
            for n in specials32.clone() {
                let got = relu_n(x, n).to_bits();
                assert_eq!(got, chain32(x, n).to_bits(), "f32 x={x} n={n}");
            }
        }
    }
}
