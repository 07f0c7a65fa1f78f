//! The portable variant: the generic bodies instantiated on the `wide` crate's SIMD
//! types (SSE2 on baseline x86_64, NEON on aarch64, plain arrays elsewhere). This is
//! what runs on targets without hand-written kernels.
//!
//! `wide` itself is safe code; the only unsafe here is the raw-pointer load/store that
//! the shared kernel bodies need, and the `#[inline]` entry points that forward the
//! kernels crate's contract.

use crate::arch::{IsaDef, no_tuning};
use crate::int8::ByteVector;
use crate::vector::Vector;

pub mod half;

/// The registry entry: runs on every CPU of the target.
pub const ISA: IsaDef = IsaDef {
    name: "portable",
    detect: || true,
    tunable: no_tuning,
    tables: |_| &TABLES,
    autovec: &crate::arch::SCALAR,
};

/// Every element type's portable kernels.
pub static TABLES: crate::Tables =
    crate::tables!(self::f32, self::f64, half::f16, half::bf16, self::u8);

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
// Quantized u8 on `wide`.

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
    /// `wide` has no byte shuffle: the table stays in memory, one lookup per lane.
    type Table = crate::int8::ByteTable;
    #[inline(always)]
    unsafe fn table(t: &crate::int8::ByteTable) -> Self::Table {
        *t
    }
    #[inline(always)]
    unsafe fn lookup(self, t: &Self::Table) -> Self {
        U8x16(wide::u8x16::new(
            self.0.to_array().map(|b| t[usize::from(b)]),
        ))
    }
}

/// Portable Int8Relu.
pub mod u8 {
    use super::U8x16;
    crate::int8_entry_points!([inline], U8x16);
}
