//! The portable variant: the generic bodies instantiated on the `wide` crate's SIMD
//! types (SSE2 on baseline x86_64, NEON on aarch64, plain arrays elsewhere). This is
//! what runs on targets without hand-written kernels.
//!
//! `wide` itself is safe code; the only unsafe here is the raw-pointer load/store that
//! the shared kernel bodies need, and the `#[inline]` entry points that forward the
//! kernels crate's contract.

use crate::arch::{IsaDef, no_tuning};
use crate::vector::Vector;

/// The registry entry: runs on every CPU of the target.
pub const ISA: IsaDef = IsaDef {
    name: "portable",
    compiled: true,
    detect: || true,
    tunable: no_tuning,
    tables: |_| &TABLES,
    autovec: &crate::arch::SCALAR,
};

/// Every element type's portable kernels.
pub static TABLES: crate::Tables =
    crate::tables!(self::f32, self::f64, self::f16, self::bf16, self::u8);

macro_rules! wide_vector {
    ($name:ident, $W:ident, $T:ident, $lanes:literal) => {
        /// A `wide` register as a kernels-crate [`Vector`].
        #[derive(Clone, Copy)]
        #[repr(transparent)]
        pub struct $name(wide::$W);

        // SAFETY: `wide::$W` is a plain, fully initialised SIMD value of exactly
        // $lanes lanes of $T (it is `Pod`), and it needs no CPU feature beyond the
        // target's baseline, so every method may be called on any CPU.
        unsafe impl Vector for $name {
            type Elem = $T;
            type Mask = wide::$W;
            const LANES: usize = $lanes;

            #[inline(always)]
            unsafe fn splat(x: $T) -> Self {
                $name(wide::$W::splat(x))
            }
            #[inline(always)]
            unsafe fn zero() -> Self {
                $name(wide::$W::ZERO)
            }
            #[inline(always)]
            unsafe fn load(p: *const $T) -> Self {
                // SAFETY: the caller guarantees $lanes readable elements at p;
                // read_unaligned needs no alignment.
                $name(wide::$W::new(unsafe {
                    p.cast::<[$T; $lanes]>().read_unaligned()
                }))
            }
            #[inline(always)]
            unsafe fn store(self, p: *mut $T) {
                // SAFETY: the caller guarantees $lanes writable elements at p.
                unsafe { p.cast::<[$T; $lanes]>().write_unaligned(self.0.to_array()) }
            }
            #[inline(always)]
            unsafe fn lt(self, o: Self) -> wide::$W {
                self.0.simd_lt(o.0)
            }
            #[inline(always)]
            unsafe fn gt(self, o: Self) -> wide::$W {
                self.0.simd_gt(o.0)
            }
            #[inline(always)]
            unsafe fn and(a: wide::$W, b: wide::$W) -> wide::$W {
                a & b
            }
            #[inline(always)]
            unsafe fn select(m: wide::$W, t: Self, f: Self) -> Self {
                // `bitselect` is pure bitwise logic, so every bit of t/f survives.
                $name(m.bitselect(t.0, f.0))
            }
            #[inline(always)]
            unsafe fn mul(self, o: Self) -> Self {
                $name(self.0 * o.0)
            }
            #[inline(always)]
            unsafe fn keep(m: wide::$W, v: Self) -> Self {
                $name(m & v.0)
            }
        }

        /// Portable kernels for this element type.
        pub mod $T {
            use super::$name;
            // "" enables no extra feature: the portable kernels run on any CPU.
            crate::kernel_entry_points!([inline], $name, $T);
        }
    };
}

wide_vector!(F32x8, f32x8, f32, 8);
wide_vector!(F64x4, f64x4, f64, 4);

// ---------------------------------------------------------------------------------
// The 16-bit floats and quantized u8 on `wide`.
//
// Same scheme as the hand-written ISAs (see the kernels crate's `avx2_half` and
// `neon_half`): integer-only compares on the order key `sign ? -|x| : |x|` (false where
// either side is NaN), bitwise selects, and the product formed in f32 and rounded once,
// with the conversions done in integer lanes (plus one exact f32 subtraction to
// renormalise f16 subnormals, and one f32 addition of 0.5 that rounds f16 subnormal
// results at exactly 2^-24). Every result must equal the oracle's, bit for bit.

use crate::half::{Bf16, F16};
use crate::int8::ByteVector;
use wide::{f32x8, i16x8, u16x8, u32x8};

/// The order key `sign ? -|x| : |x|` of each 16-bit float lane (±0 both map to 0).
#[inline(always)]
fn order_key(v: u16x8) -> i16x8 {
    let mag = (v & u16x8::splat(0x7FFF)).cast_signed();
    let neg = v.cast_signed() >> 15u32;
    (mag ^ neg) - neg
}

/// All-ones in the lanes that are not NaN (`|x| <= inf`).
#[inline(always)]
fn ordered(v: u16x8, inf: u16) -> u16x8 {
    (v & u16x8::splat(0x7FFF)).simd_le(u16x8::splat(inf))
}

/// IEEE `a < b` per lane (false if either is NaN).
#[inline(always)]
fn less(a: u16x8, b: u16x8, inf: u16) -> u16x8 {
    order_key(a).simd_lt(order_key(b)).cast_unsigned() & ordered(a, inf) & ordered(b, inf)
}

/// All-ones where `x < 0`: bits in `0x8001..=0x8000 | inf`.
#[inline(always)]
fn negative(v: u16x8, inf: u16) -> u16x8 {
    (v - u16x8::splat(0x8001)).simd_le(u16x8::splat(inf - 1))
}

/// u32 lanes holding 16-bit patterns in their low halves, back to 16-bit lanes.
#[inline(always)]
fn narrow_u32(v: u32x8) -> u16x8 {
    i16x8::from_i32x8_truncate(v.cast_signed()).cast_unsigned()
}

/// Exact binary16 -> f32 (each lane zero-extended in a u32).
#[inline(always)]
fn f16_to_f32(h: u32x8) -> f32x8 {
    let shifted_exp = u32x8::splat(0x7C00 << 13u32);
    let o = (h & u32x8::splat(0x7FFF)) << 13u32;
    let exp = o & shifted_exp;
    // Rebias 15 -> 127; inf/NaN get another +112 (exponent all-ones, payload kept).
    let o = o + u32x8::splat((127 - 15) << 23u32);
    let o = o + (exp.simd_eq(shifted_exp) & u32x8::splat((128 - 16) << 23u32));
    // Zero/subnormal: (2^-14 + m * 2^-24) - 2^-14 = m * 2^-24, exactly.
    let biased: f32x8 = bytemuck::cast(o + u32x8::splat(1 << 23u32));
    let renorm: u32x8 = bytemuck::cast(biased - f32x8::splat(f32::from_bits(113 << 23u32)));
    let o = exp.simd_eq(u32x8::ZERO).bitselect(renorm, o);
    bytemuck::cast(o | ((h & u32x8::splat(0x8000)) << 16u32))
}

/// f32 -> binary16 bits (round to nearest even; NaN quieted with its payload kept;
/// overflow to infinity), in the low half of each u32 lane.
#[inline(always)]
fn f32_to_f16(f: f32x8) -> u32x8 {
    let x: u32x8 = bytemuck::cast(f);
    let sign = x & u32x8::splat(0x8000_0000);
    let a = x ^ sign;
    let payload = (a >> 13u32) & u32x8::splat(0x3FF);
    let nan = payload | u32x8::splat(0x7E00);
    let big = a
        .simd_gt(u32x8::splat(0x7F80_0000))
        .bitselect(nan, u32x8::splat(0x7C00));
    // An f16 subnormal: adding 0.5 (ulp 2^-24) rounds at the subnormal quantum.
    let sum: u32x8 = bytemuck::cast(bytemuck::cast::<u32x8, f32x8>(a) + f32x8::splat(0.5));
    let sub = sum - u32x8::splat(126 << 23u32);
    // Normal: rebias 127 -> 15 and round to nearest even at bit 13.
    let odd = (a >> 13u32) & u32x8::splat(1);
    let rebias = u32x8::splat((((15 - 127) << 23u32) as u32).wrapping_add(0xFFF));
    let normal = (a + rebias + odd) >> 13u32;
    let r = a.simd_ge(u32x8::splat((127 + 16) << 23u32)).bitselect(
        big,
        a.simd_lt(u32x8::splat(113 << 23u32)).bitselect(sub, normal),
    );
    r | (sign >> 16u32)
}

/// f32 products of two bfloat16 values, rounded to bfloat16 (nearest even), in the
/// low 16 bits of each 32-bit lane.
///
/// No NaN path: a NaN product of two bf16 values is a quieted operand or the default
/// NaN, whose low 16 bits are zero, so `x + 0x7fff + lsb` cannot carry into the top
/// half and the result is `x >> 16` with the quiet bit set, the oracle's NaN narrowing.
/// (No lane overflows: the largest non-NaN magnitude is 0x7f80_0000.)
#[inline(always)]
fn round_bf16_product(f: f32x8) -> u32x8 {
    let x: u32x8 = bytemuck::cast(f);
    let lsb = (x >> 16u32) & u32x8::splat(1);
    (x + lsb + u32x8::splat(0x7FFF)) >> 16u32
}

#[inline(always)]
fn mul_f16(a: u16x8, b: u16x8) -> u16x8 {
    let p = f16_to_f32(u32x8::from(a)) * f16_to_f32(u32x8::from(b));
    narrow_u32(f32_to_f16(p))
}

#[inline(always)]
fn mul_bf16(a: u16x8, b: u16x8) -> u16x8 {
    let wa: f32x8 = bytemuck::cast(u32x8::from(a) << 16u32);
    let wb: f32x8 = bytemuck::cast(u32x8::from(b) << 16u32);
    narrow_u32(round_bf16_product(wa * wb))
}

macro_rules! wide_half_vector {
    ($name:ident, $T:ident, $mod:ident, $mul:ident) => {
        /// 8 lanes of a 16-bit float (as bits) in a `wide::u16x8`.
        #[derive(Clone, Copy)]
        #[repr(transparent)]
        pub struct $name(u16x8);

        // SAFETY: `u16x8` is a plain, fully initialised 16-byte value of 8 u16 lanes and
        // `$T` is a transparent u16, so the register is exactly LANES * size_of::<$T>()
        // bytes; no method needs a CPU feature beyond the target's baseline.
        unsafe impl Vector for $name {
            type Elem = $T;
            type Mask = u16x8;
            const LANES: usize = 8;

            #[inline(always)]
            unsafe fn splat(x: $T) -> Self {
                $name(u16x8::splat(x.0))
            }
            #[inline(always)]
            unsafe fn zero() -> Self {
                $name(u16x8::ZERO)
            }
            #[inline(always)]
            unsafe fn load(p: *const $T) -> Self {
                // SAFETY: the caller guarantees 8 readable elements at p; `$T` is a
                // transparent u16; read_unaligned needs no alignment.
                $name(u16x8::new(unsafe { p.cast::<[u16; 8]>().read_unaligned() }))
            }
            #[inline(always)]
            unsafe fn store(self, p: *mut $T) {
                // SAFETY: the caller guarantees 8 writable elements at p.
                unsafe { p.cast::<[u16; 8]>().write_unaligned(self.0.to_array()) }
            }
            #[inline(always)]
            unsafe fn lt(self, o: Self) -> u16x8 {
                less(self.0, o.0, $T::INFINITY_BITS)
            }
            #[inline(always)]
            unsafe fn gt(self, o: Self) -> u16x8 {
                less(o.0, self.0, $T::INFINITY_BITS)
            }
            #[inline(always)]
            unsafe fn and(a: u16x8, b: u16x8) -> u16x8 {
                a & b
            }
            #[inline(always)]
            unsafe fn select(m: u16x8, t: Self, f: Self) -> Self {
                // `bitselect` is pure bitwise logic, so every bit of t/f survives.
                $name(m.bitselect(t.0, f.0))
            }
            #[inline(always)]
            unsafe fn mul(self, o: Self) -> Self {
                $name($mul(self.0, o.0))
            }
            #[inline(always)]
            unsafe fn keep(m: u16x8, v: Self) -> Self {
                $name(m & v.0)
            }
            #[inline(always)]
            unsafe fn relu(self) -> Self {
                $name(self.0 & !negative(self.0, $T::INFINITY_BITS))
            }
        }

        /// Portable kernels for this 16-bit float type.
        pub mod $mod {
            use super::$name;
            use crate::half::$T;
            crate::kernel_entry_points!([inline], $name, $T);
        }
    };
}

wide_half_vector!(F16x8, F16, f16, mul_f16);
wide_half_vector!(Bf16x8, Bf16, bf16, mul_bf16);

/// 16 bytes in a `wide::u8x16`, for Int8Relu.
#[derive(Clone, Copy)]
#[repr(transparent)]
pub struct U8x16(wide::u8x16);

// SAFETY: `u8x16` is a plain, fully initialised 16-byte value; no method needs a CPU
// feature beyond the target's baseline.
unsafe impl ByteVector for U8x16 {
    const LANES: usize = 16;

    #[inline(always)]
    unsafe fn splat(x: u8) -> Self {
        U8x16(wide::u8x16::splat(x))
    }
    #[inline(always)]
    unsafe fn load(p: *const u8) -> Self {
        // SAFETY: the caller guarantees 16 readable bytes at p.
        U8x16(wide::u8x16::new(unsafe {
            p.cast::<[u8; 16]>().read_unaligned()
        }))
    }
    #[inline(always)]
    unsafe fn store(self, p: *mut u8) {
        // SAFETY: the caller guarantees 16 writable bytes at p.
        unsafe { p.cast::<[u8; 16]>().write_unaligned(self.0.to_array()) }
    }
    #[inline(always)]
    unsafe fn max(self, o: Self) -> Self {
        U8x16(self.0.max(o.0))
    }
}

/// Portable Int8Relu.
pub mod u8 {
    use super::U8x16;
    crate::int8_entry_points!([inline], U8x16);
}
