//! SIMD128 Int8Relu: `u8x16.max_u` on 16 bytes; the tail goes through a stack copy of
//! one register.

use core::arch::wasm32::*;

use crate::int8::ByteVector;

/// 16 unsigned bytes in a `v128`.
#[derive(Clone, Copy)]
#[repr(transparent)]
pub struct U8x16(v128);

// SAFETY: `U8x16` is a transparent `v128`, a plain 16-byte register. The build has
// SIMD128 (this module exists only then), so every method may be called; the pointer
// methods' callers vouch for the accesses.
unsafe impl ByteVector for U8x16 {
    const LANES: usize = 16;

    #[inline(always)]
    unsafe fn splat(x: u8) -> Self {
        U8x16(u8x16_splat(x))
    }
    #[inline(always)]
    unsafe fn load(p: *const u8) -> Self {
        // SAFETY: the caller guarantees 16 readable bytes at p; `v128.load` needs no
        // alignment.
        U8x16(unsafe { v128_load(p.cast()) })
    }
    #[inline(always)]
    unsafe fn store(self, p: *mut u8) {
        // SAFETY: the caller guarantees 16 writable bytes at p.
        unsafe { v128_store(p.cast(), self.0) }
    }
    #[inline(always)]
    unsafe fn max(self, o: Self) -> Self {
        U8x16(u8x16_max(self.0, o.0))
    }
    /// Sixteen 16-byte slices of the table.
    type Table = [v128; 16];
    #[inline(always)]
    unsafe fn table(t: &crate::int8::ByteTable) -> Self::Table {
        // SAFETY: each slice reads 16 of the table's 256 bytes.
        core::array::from_fn(|k| unsafe { v128_load(t.as_ptr().add(16 * k).cast()) })
    }
    #[inline(always)]
    unsafe fn lookup(self, t: &Self::Table) -> Self {
        // `i8x16.swizzle` gives 0 for an index of 16 or more: slice k answers the
        // lanes whose byte minus 16k (wrapping) is below 16, those in [16k, 16k + 16),
        // and every lane is answered by exactly one slice.
        let mut r = u8x16_swizzle(t[0], self.0);
        for (k, s) in t.iter().enumerate().skip(1) {
            let i = u8x16_sub(self.0, u8x16_splat(16 * k as u8));
            r = v128_or(r, u8x16_swizzle(*s, i));
        }
        U8x16(r)
    }
}

crate::int8_entry_points!([target_feature(enable = "simd128")], U8x16);
