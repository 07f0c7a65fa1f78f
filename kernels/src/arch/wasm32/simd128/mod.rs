//! WebAssembly SIMD128 kernels: [`F32x8`] and [`F64x4`], each two `v128`s (one
//! register type for every lane shape), so that one turn of the kernels' four-register
//! main loops moves 128 bytes: under wasmtime on Zen 4 the forward kernels ran about
//! 10% faster in L1 and L2 than with one `v128` per register (each turn of the loop
//! costs the engine's address arithmetic and branch; `docs/PERFORMANCE.md`).
//!
//! WebAssembly validates a module's instructions before it runs, so there is nothing
//! to detect: this folder is compiled only when the build's target features include
//! `simd128`, and then every engine that loads the module runs it.
//!
//! `f32x4.min`/`max` return a canonical NaN for a NaN lane and order -0.0 below +0.0,
//! so they cannot give the oracle's bits. The pseudo-minimum and maximum can:
//! the specification defines `pmin(a, b)` as `b < a ? b : a` and `pmax(a, b)` as
//! `a < b ? b : a`, a compare and a select of the operands' bits, deterministic on
//! every engine (no relaxed-SIMD instruction is used anywhere). So:
//!
//! - relu, `x < 0 ? +0 : x`, is `pmax(x, +0)`;
//! - the clip at `n`, `x > n ? n : x`, is `pmin(x, n)`, and clip's lower bound `m`,
//!   `x < m ? m : x`, is `pmax(x, m)`;
//! - leaky_relu's max and min shapes ([`LeakyShape`]), `p > x ? p : x` and
//!   `p < x ? p : x` for the product `p`, are `pmax(x, p)` and `pmin(x, p)`;
//! - everything else is a compare and `v128.bitselect`.
//!
//! On x86 engines each pseudo-min/max is one `MINPD`/`MAXPD` (`MINPS`/`MAXPS`) with its
//! operands in the order that returns `x` for NaN and equal zeros, where it reaches the
//! engine as one. LLVM keeps the f64x2 ones; for f32x4 it usually moves the select onto
//! the integer lanes of `v128` (its type in Rust) and emits a compare and
//! `v128.bitselect` instead, the same bits at the cost of one more instruction. relu
//! against the constant zero would become a compare and `v128.andnot` for both types,
//! so the relu and relu_n formulas hold a zero made opaque once per call
//! ([`Vector::relu_zero`]) and take the maximum against it.
//!
//! A call shorter than one register goes through a stack copy of one register (the
//! default in [`Vector`]). The intrinsics are safe functions in a build with
//! `simd128`; only the loads and stores through raw pointers need `unsafe`.

use core::arch::wasm32::*;

use crate::arch::{IsaDef, no_tuning};
use crate::vector::{LeakyShape, Vector};

pub mod half;
pub mod u8;

/// The oracle's loops as the compiler vectorises them with this ISA's features.
pub mod autovec {
    crate::oracle_loops!([target_feature(enable = "simd128")]);
}

/// The registry entry: SIMD128, present in every build whose target features include
/// it (the module would not validate otherwise), so `detect` is constant.
pub const ISA: IsaDef = IsaDef {
    name: "simd128",
    detect: || true,
    tunable: no_tuning,
    tables: |_| &TABLES,
    autovec: &autovec::TABLES,
};

/// Every element type's kernels on SIMD128.
pub static TABLES: crate::Tables =
    crate::tables!(self::f32, self::f64, half::f16, half::bf16, self::u8);

/// 8 f32 lanes in two `v128`s (see the module docs for why two).
#[derive(Clone, Copy)]
pub struct F32x8(v128, v128);

/// 4 f64 lanes in two `v128`s.
#[derive(Clone, Copy)]
pub struct F64x4(v128, v128);

/// The [`Vector`] impl of a float pair of `v128`s, from the lane operations of one
/// `v128` (`$lanes` lanes each), applied to both halves.
macro_rules! float_vector {
    ($name:ident, $T:ty, $lanes:literal, $splat:ident, $lt:ident, $gt:ident, $mul:ident,
     $pmin:ident, $pmax:ident, $load:ident, $store:ident) => {
        // SAFETY: `$name` is two `v128`s, plain 16-byte registers of $lanes lanes of
        // $T each, the first holding the lower lanes. The build has SIMD128 (this
        // module exists only then), so every method may be called; the pointer
        // methods' callers vouch for the accesses.
        unsafe impl Vector for $name {
            type Elem = $T;
            type Mask = (v128, v128);
            const LANES: usize = 2 * $lanes;

            #[inline(always)]
            unsafe fn splat(x: $T) -> Self {
                $name($splat(x), $splat(x))
            }
            #[inline(always)]
            unsafe fn zero() -> Self {
                $name(i64x2_splat(0), i64x2_splat(0))
            }
            #[inline(always)]
            unsafe fn load(p: *const $T) -> Self {
                // SAFETY: the caller guarantees 2 * $lanes readable elements (32
                // bytes) at p; the loads need no alignment.
                unsafe { $name($load(p), $load(p.add($lanes))) }
            }
            #[inline(always)]
            unsafe fn store(self, p: *mut $T) {
                // SAFETY: the caller guarantees 2 * $lanes writable elements at p;
                // the stores need no alignment.
                unsafe {
                    $store(p, self.0);
                    $store(p.add($lanes), self.1);
                }
            }
            #[inline(always)]
            unsafe fn lt(self, o: Self) -> (v128, v128) {
                ($lt(self.0, o.0), $lt(self.1, o.1))
            }
            #[inline(always)]
            unsafe fn gt(self, o: Self) -> (v128, v128) {
                ($gt(self.0, o.0), $gt(self.1, o.1))
            }
            #[inline(always)]
            unsafe fn and(a: (v128, v128), b: (v128, v128)) -> (v128, v128) {
                (v128_and(a.0, b.0), v128_and(a.1, b.1))
            }
            #[inline(always)]
            unsafe fn select(m: (v128, v128), t: Self, f: Self) -> Self {
                // Bitwise: t's bits where m is set, f's elsewhere.
                $name(v128_bitselect(t.0, f.0, m.0), v128_bitselect(t.1, f.1, m.1))
            }
            #[inline(always)]
            unsafe fn mul(self, o: Self) -> Self {
                $name($mul(self.0, o.0), $mul(self.1, o.1))
            }
            #[inline(always)]
            unsafe fn keep(m: (v128, v128), v: Self) -> Self {
                // +0 is all-zero bits.
                $name(v128_and(m.0, v.0), v128_and(m.1, v.1))
            }
            #[inline(always)]
            unsafe fn relu(self) -> Self {
                // `x < +0 ? +0 : x` (module docs): NaN and -0.0 keep their bits.
                let z = i64x2_splat(0);
                $name($pmax(self.0, z), $pmax(self.1, z))
            }
            #[inline(always)]
            unsafe fn relu_zero() -> Self {
                // A zero the optimiser cannot see through (one stack round trip per
                // call), so that `relu_with` stays one `pmax` per `v128`.
                let z: $T = core::hint::black_box(0.0);
                $name($splat(z), $splat(z))
            }
            #[inline(always)]
            unsafe fn relu_with(self, zero: Self) -> Self {
                // As `relu`, against the opaque zero of `relu_zero`.
                $name($pmax(self.0, zero.0), $pmax(self.1, zero.1))
            }
            #[inline(always)]
            unsafe fn relu_n_with(self, n: Self, zero: Self) -> Self {
                // relu, then the clip at `n` (`n > 0`, so a clipped lane is never
                // -0.0): two pseudo-min/max per `v128`.
                $name(
                    $pmin($pmax(self.0, zero.0), n.0),
                    $pmin($pmax(self.1, zero.1), n.1),
                )
            }
            #[inline(always)]
            unsafe fn clip_above(self, n: Self) -> Self {
                // `n < x ? n : x`: a NaN x keeps its bits.
                $name($pmin(self.0, n.0), $pmin(self.1, n.1))
            }
            #[inline(always)]
            unsafe fn clip_below(self, n: Self) -> Self {
                // `x < n ? n : x`: a NaN x keeps its bits, and so does an x equal
                // to n (-0.0 against a bound of +0.0 included).
                $name($pmax(self.0, n.0), $pmax(self.1, n.1))
            }
            const LEAKY_SHAPES: bool = true;
            fn leaky_shape(a: $T) -> LeakyShape {
                LeakyShape::of(a)
            }
            #[inline(always)]
            unsafe fn leaky(self, a: Self, shape: LeakyShape) -> Self {
                // `shape` orders the product against x (see `LeakyShape`); x goes
                // first, so it is kept where the compare is false (NaN, equal
                // values, both zeros). One product and one pseudo-min/max, where the
                // select costs a compare and a bitselect besides the product.
                // SAFETY: forwarded from the caller (SIMD128 available).
                unsafe {
                    match shape {
                        LeakyShape::Max => $name(
                            $pmax(self.0, $mul(a.0, self.0)),
                            $pmax(self.1, $mul(a.1, self.1)),
                        ),
                        LeakyShape::Min => $name(
                            $pmin(self.0, $mul(a.0, self.0)),
                            $pmin(self.1, $mul(a.1, self.1)),
                        ),
                        LeakyShape::Select => {
                            let (negative, product) = self.leaky_parts(a);
                            Self::select(negative, product, self)
                        }
                    }
                }
            }
        }
    };
}

/// Four f32 lanes from `p` (16 bytes, no alignment needed), read as floats: LLVM
/// emits the same `v128.load`, but the value stays an `f32` vector in its IR. Loaded
/// as a `v128` (four `i32` lanes there), a `pmin`/`pmax` of it becomes a select whose
/// operands are casts, which LLVM moves onto the integer lanes, where it is emitted
/// as a compare and a `v128.bitselect` (two instructions for one).
///
/// # Safety
/// 16 readable bytes at `p`.
#[inline(always)]
unsafe fn load_f32x4(p: *const f32) -> v128 {
    // SAFETY: the caller's promise; `read_unaligned` needs no alignment. Loading and
    // moving floats into lanes keeps their bits (only arithmetic may change a NaN).
    let a: [f32; 4] = unsafe { core::ptr::read_unaligned(p.cast()) };
    f32x4(a[0], a[1], a[2], a[3])
}

/// Stores four f32 lanes at `p` as floats (see [`load_f32x4`]).
///
/// # Safety
/// 16 writable bytes at `p`.
#[inline(always)]
unsafe fn store_f32x4(p: *mut f32, v: v128) {
    let a = [
        f32x4_extract_lane::<0>(v),
        f32x4_extract_lane::<1>(v),
        f32x4_extract_lane::<2>(v),
        f32x4_extract_lane::<3>(v),
    ];
    // SAFETY: the caller's promise; `write_unaligned` needs no alignment.
    unsafe { core::ptr::write_unaligned(p.cast(), a) }
}

/// Two f64 lanes from `p` as a `v128` (its f64x2 `pmin`/`pmax` stay single
/// instructions either way).
///
/// # Safety
/// 16 readable bytes at `p`.
#[inline(always)]
unsafe fn load_f64x2(p: *const f64) -> v128 {
    // SAFETY: the caller's promise; `v128.load` needs no alignment.
    unsafe { v128_load(p.cast()) }
}

/// Stores two f64 lanes at `p`.
///
/// # Safety
/// 16 writable bytes at `p`.
#[inline(always)]
unsafe fn store_f64x2(p: *mut f64, v: v128) {
    // SAFETY: the caller's promise; `v128.store` needs no alignment.
    unsafe { v128_store(p.cast(), v) }
}

float_vector!(
    F32x8,
    f32,
    4,
    f32x4_splat,
    f32x4_lt,
    f32x4_gt,
    f32x4_mul,
    f32x4_pmin,
    f32x4_pmax,
    load_f32x4,
    store_f32x4
);
float_vector!(
    F64x4,
    f64,
    2,
    f64x2_splat,
    f64x2_lt,
    f64x2_gt,
    f64x2_mul,
    f64x2_pmin,
    f64x2_pmax,
    load_f64x2,
    store_f64x2
);

/// f32 kernels on SIMD128.
pub mod f32 {
    use super::F32x8;
    crate::kernel_entry_points!([target_feature(enable = "simd128")], F32x8, f32);
}

/// f64 kernels on SIMD128.
pub mod f64 {
    use super::F64x4;
    crate::kernel_entry_points!([target_feature(enable = "simd128")], F64x4, f64);
}
