//! The scalar oracle: the definition of every function, one element at a time.
//!
//! These functions *are* the semantics of the crate (SPEC §3). Every vector kernel is
//! tested against them bit for bit. They only compare and select, except for the
//! single IEEE multiplication of leaky_relu and its gradient, so a passed-through value
//! (NaN payloads, the signalling bit, -0.0) keeps its exact bits.
//!
//! The slice loops at the bottom (`KERNELS`) are the `Isa::Scalar` variant: this code
//! as the compiler sees fit to compile it for the baseline target.

macro_rules! float_oracle {
    ($T:ident) => {
        /// The oracle for this element type.
        pub mod $T {
            /// `x < 0 ? +0 : x`
            #[inline]
            pub fn relu(x: $T) -> $T {
                if x < 0.0 { 0.0 } else { x }
            }

            /// `x < 0 ? +0 : x > n ? n : x`
            #[inline]
            pub fn relu_n(x: $T, n: $T) -> $T {
                if x < 0.0 {
                    0.0
                } else if x > n {
                    n
                } else {
                    x
                }
            }

            /// `x < 0 ? a * x : x`
            #[inline]
            pub fn leaky_relu(x: $T, a: $T) -> $T {
                if x < 0.0 { a * x } else { x }
            }

            /// `y > 0 ? dy : +0`
            #[inline]
            pub fn relu_grad(y: $T, dy: $T) -> $T {
                if y > 0.0 { dy } else { 0.0 }
            }

            /// `y > 0 && y < n ? dy : +0`
            #[inline]
            pub fn relu_n_grad(y: $T, dy: $T, n: $T) -> $T {
                if y > 0.0 && y < n { dy } else { 0.0 }
            }

            /// `y > 0 ? dy : a * dy`
            #[inline]
            pub fn leaky_relu_grad(y: $T, dy: $T, a: $T) -> $T {
                if y > 0.0 { dy } else { a * dy }
            }

            $crate::oracle::slice_kernels!($T);
        }
    };
}

/// Slice loops over the element functions of the enclosing module, as a `KERNELS`
/// table (the `Isa::Scalar` variant). Each is `#[inline(never)]`: small functions
/// are otherwise copied into every crate that names them in optimised builds, and a
/// table built here and one built in a test would then hold different addresses.
macro_rules! slice_kernels {
    ($T:ty) => {
        /// Slice form of [`relu`].
        ///
        /// # Safety
        /// Contract of [`crate::UnaryFn`].
        #[inline(never)]
        pub unsafe fn relu_slice(src: *const $T, dst: *mut $T, len: usize, _p: $T, _stream: bool) {
            for i in 0..len {
                // SAFETY: i < len, inside both ranges; each element is read before
                // it is written, so dst == src is fine.
                unsafe { dst.add(i).write(relu(src.add(i).read())) }
            }
        }
        /// Slice form of [`relu_n`].
        ///
        /// # Safety
        /// Contract of [`crate::UnaryFn`].
        #[inline(never)]
        pub unsafe fn relu_n_slice(src: *const $T, dst: *mut $T, len: usize, n: $T, _stream: bool) {
            for i in 0..len {
                // SAFETY: as in `relu_slice`.
                unsafe { dst.add(i).write(relu_n(src.add(i).read(), n)) }
            }
        }
        /// Slice form of [`leaky_relu`].
        ///
        /// # Safety
        /// Contract of [`crate::UnaryFn`].
        #[inline(never)]
        pub unsafe fn leaky_relu_slice(
            src: *const $T,
            dst: *mut $T,
            len: usize,
            a: $T,
            _stream: bool,
        ) {
            for i in 0..len {
                // SAFETY: as in `relu_slice`.
                unsafe { dst.add(i).write(leaky_relu(src.add(i).read(), a)) }
            }
        }
        /// Slice form of [`relu_grad`].
        ///
        /// # Safety
        /// Contract of [`crate::BinaryFn`].
        #[inline(never)]
        pub unsafe fn relu_grad_slice(
            y: *const $T,
            dy: *const $T,
            dx: *mut $T,
            len: usize,
            _p: $T,
            _stream: bool,
        ) {
            for i in 0..len {
                // SAFETY: i < len, inside all three ranges; both inputs are read
                // before dx[i] is written, so dx may equal y or dy.
                unsafe {
                    dx.add(i)
                        .write(relu_grad(y.add(i).read(), dy.add(i).read()))
                }
            }
        }
        /// Slice form of [`relu_n_grad`].
        ///
        /// # Safety
        /// Contract of [`crate::BinaryFn`].
        #[inline(never)]
        pub unsafe fn relu_n_grad_slice(
            y: *const $T,
            dy: *const $T,
            dx: *mut $T,
            len: usize,
            n: $T,
            _stream: bool,
        ) {
            for i in 0..len {
                // SAFETY: as in `relu_grad_slice`.
                unsafe {
                    dx.add(i)
                        .write(relu_n_grad(y.add(i).read(), dy.add(i).read(), n))
                }
            }
        }
        /// Slice form of [`leaky_relu_grad`].
        ///
        /// # Safety
        /// Contract of [`crate::BinaryFn`].
        #[inline(never)]
        pub unsafe fn leaky_relu_grad_slice(
            y: *const $T,
            dy: *const $T,
            dx: *mut $T,
            len: usize,
            a: $T,
            _stream: bool,
        ) {
            for i in 0..len {
                // SAFETY: as in `relu_grad_slice`.
                unsafe {
                    dx.add(i)
                        .write(leaky_relu_grad(y.add(i).read(), dy.add(i).read(), a))
                }
            }
        }
        /// The scalar variant's table.
        pub const KERNELS: $crate::Kernels<$T> = $crate::Kernels {
            relu: relu_slice,
            relu_n: relu_n_slice,
            leaky_relu: leaky_relu_slice,
            relu_grad: relu_grad_slice,
            relu_n_grad: relu_n_grad_slice,
            leaky_relu_grad: leaky_relu_grad_slice,
        };
    };
}
pub(crate) use slice_kernels;

float_oracle!(f32);
float_oracle!(f64);

/// The oracle for a 16-bit float type (`F16`, `Bf16`), written in bits.
///
/// Comparisons widen exactly to `f32` (so NaN compares false and -0.0 equals +0.0, as
/// in IEEE); a passed-through value is returned as the same bits. The one product,
/// `a * x` (or `a * dy`), is one `f32` multiplication of the widened operands, rounded
/// once to the type by [`crate::half`]'s round-to-nearest-even: exact in `f32` for
/// `F16` (11-bit significands, exponents far inside `f32`'s range) and for `Bf16` too
/// unless the product falls below `f32`'s normal range (then it is the `f32` product,
/// which every bf16 library computes, rounded to bf16).
macro_rules! half_oracle {
    ($m:ident, $T:ident) => {
        /// The oracle for this element type (bit newtype of [`crate::half`]).
        pub mod $m {
            use crate::half::$T;

            /// `x < 0 ? +0 : x`
            #[inline]
            pub fn relu(x: $T) -> $T {
                if x.to_f32() < 0.0 { $T::ZERO } else { x }
            }

            /// `x < 0 ? +0 : x > n ? n : x`
            #[inline]
            pub fn relu_n(x: $T, n: $T) -> $T {
                let xf = x.to_f32();
                if xf < 0.0 {
                    $T::ZERO
                } else if xf > n.to_f32() {
                    n
                } else {
                    x
                }
            }

            /// `x < 0 ? a * x : x`, the product formed in `f32` and rounded once.
            #[inline]
            pub fn leaky_relu(x: $T, a: $T) -> $T {
                let xf = x.to_f32();
                if xf < 0.0 {
                    $T::from_f32(a.to_f32() * xf)
                } else {
                    x
                }
            }

            /// `y > 0 ? dy : +0`
            #[inline]
            pub fn relu_grad(y: $T, dy: $T) -> $T {
                if y.to_f32() > 0.0 { dy } else { $T::ZERO }
            }

            /// `y > 0 && y < n ? dy : +0`
            #[inline]
            pub fn relu_n_grad(y: $T, dy: $T, n: $T) -> $T {
                let yf = y.to_f32();
                if yf > 0.0 && yf < n.to_f32() {
                    dy
                } else {
                    $T::ZERO
                }
            }

            /// `y > 0 ? dy : a * dy`, the product formed in `f32` and rounded once.
            #[inline]
            pub fn leaky_relu_grad(y: $T, dy: $T, a: $T) -> $T {
                if y.to_f32() > 0.0 {
                    dy
                } else {
                    $T::from_f32(a.to_f32() * dy.to_f32())
                }
            }

            $crate::oracle::slice_kernels!($T);
        }
    };
}

half_oracle!(f16, F16);
half_oracle!(bf16, Bf16);

/// The oracle of quantized Int8Relu (Caffe2): `y_q = max(x_q, zero_point)`.
pub mod u8 {
    /// `x < zero_point ? zero_point : x`
    #[inline]
    pub fn int8_relu(x: u8, zero_point: u8) -> u8 {
        if x < zero_point { zero_point } else { x }
    }

    /// Slice form of [`int8_relu`].
    ///
    /// # Safety
    /// Contract of [`crate::UnaryFn`].
    #[inline(never)]
    pub unsafe fn int8_relu_slice(
        src: *const u8,
        dst: *mut u8,
        len: usize,
        zero_point: u8,
        _stream: bool,
    ) {
        for i in 0..len {
            // SAFETY: i < len, inside both ranges; each element is read before it is
            // written, so dst == src is fine.
            unsafe { dst.add(i).write(int8_relu(src.add(i).read(), zero_point)) }
        }
    }

    /// The scalar variant's table.
    pub const KERNELS: crate::int8::Int8Kernels = crate::int8::Int8Kernels {
        int8_relu: int8_relu_slice,
    };
}
