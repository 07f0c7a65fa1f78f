//! Quantized u8 Int8Relu (Caffe2): `y_q = max(x_q, zero_point)`, forward only.
//!
//! The float [`crate::vector::Vector`] has no unsigned-byte `max`, so the u8 kernel has a
//! trait of its own, [`ByteVector`] (one unsigned max per ISA: `VPMAXUB`, `UMAX`,
//! `u8x16.max_u`, `wide`'s `u8x16::max`), and one body, [`int8_relu`], walked like
//! [`crate::generic::unary`]: for long calls one full register that aligns the output,
//! blocks of four registers, single registers, then one full register ending at `len`
//! (a partial one for calls shorter than a register); no byte outside `[0, len)` is
//! read or written. It shares the float kernels' conventions: the caller's `stream`
//! flag asks for non-temporal stores, and in place, ISAs with masked stores write only
//! the bytes that change.

use core::mem::MaybeUninit;
use core::ptr;

use crate::UnaryFn;
use crate::generic::ALIGN_MIN_REGISTERS;

/// The Int8Relu kernels of one ISA (a table of its own: u8 has no gradient and none of
/// the float ops).
#[derive(Clone, Copy)]
pub struct Int8Kernels {
    /// `dst[i] = max(src[i], zero_point)`; the contract of [`UnaryFn`], with the zero
    /// point as the first scalar parameter.
    pub int8_relu: UnaryFn<u8>,
}

/// A SIMD register of `LANES` unsigned bytes.
///
/// # Safety
///
/// Implementations must be plain SIMD registers of exactly `LANES` bytes (the default
/// partial load/store spill through a stack copy of `Self`). Every method may only be
/// called on a CPU that supports the implementing ISA; pointer arguments must be valid
/// for the accesses each method's doc names.
#[allow(clippy::missing_safety_doc)]
pub unsafe trait ByteVector: Copy {
    /// Bytes per register.
    const LANES: usize;

    /// All lanes `x`.
    unsafe fn splat(x: u8) -> Self;
    /// Loads `LANES` bytes from `p`.
    unsafe fn load(p: *const u8) -> Self;
    /// Stores `LANES` bytes to `p`.
    unsafe fn store(self, p: *mut u8);
    /// Lane-wise unsigned maximum.
    unsafe fn max(self, o: Self) -> Self;

    /// Whether [`ByteVector::store_stream`] really bypasses the caches on this ISA.
    const STREAMS: bool = false;

    /// Stores `LANES` bytes to `p`, aligned to the register size, non-temporally where
    /// the ISA can; callers issue [`ByteVector::stream_fence`] after the last one.
    /// Default: a plain store.
    #[inline(always)]
    unsafe fn store_stream(self, p: *mut u8) {
        // SAFETY: forwarded from the caller.
        unsafe { self.store(p) }
    }

    /// Orders earlier non-temporal stores before any later store (SFENCE on x86).
    #[inline(always)]
    unsafe fn stream_fence() {}

    /// In place: `p[..LANES] = max(x, z)`, where `x` was loaded from `p`. Default: the
    /// whole register. ISAs with byte-masked stores override it to write `z` to the
    /// bytes below it only, so a buffer already at or above the zero point stays
    /// clean in the caches.
    #[inline(always)]
    unsafe fn put_in_place(x: Self, z: Self, p: *mut u8) {
        // SAFETY: forwarded from the caller (`p` valid for LANES writes).
        unsafe { x.max(z).store(p) }
    }

    /// Loads `n < LANES` bytes from `p`, touching nothing past `p + n`; the other lanes
    /// are 0.
    #[inline(always)]
    unsafe fn load_partial(p: *const u8, n: usize) -> Self {
        let mut buf = MaybeUninit::<Self>::uninit();
        let bp = buf.as_mut_ptr().cast::<u8>();
        // SAFETY: `buf` has exactly LANES bytes (trait contract), all zeroed before the
        // `n <= LANES` bytes are copied in, so the load reads initialised memory. The
        // caller guarantees `p` is valid for `n` reads.
        unsafe {
            ptr::write_bytes(bp, 0, Self::LANES);
            ptr::copy_nonoverlapping(p, bp, n);
            Self::load(bp)
        }
    }

    /// Stores the first `n < LANES` lanes to `p`, touching nothing past `p + n`.
    #[inline(always)]
    unsafe fn store_partial(self, p: *mut u8, n: usize) {
        let mut buf = MaybeUninit::<Self>::uninit();
        let bp = buf.as_mut_ptr().cast::<u8>();
        // SAFETY: `buf` holds LANES bytes, initialised by the store; the caller
        // guarantees `p` is valid for `n <= LANES` writes.
        unsafe {
            self.store(bp);
            ptr::copy_nonoverlapping(bp, p, n);
        }
    }
}

/// `dst[i] = max(src[i], zero_point)` for `i < len`.
///
/// Walked like the float bodies: a call of at least `ALIGN_MIN_REGISTERS` registers
/// first aligns `dst` with one full register, so no store in the main loop straddles
/// two cache lines (buffers from the allocator are often only 16-byte aligned);
/// when the caller asks (`stream`) an out-of-place call writes around the cache on
/// ISAs with non-temporal stores; in place, ISAs with byte-masked stores write only
/// the bytes that change ([`ByteVector::put_in_place`]).
///
/// # Safety
/// The contract of [`UnaryFn`], with `V`'s ISA available.
#[inline(always)]
pub unsafe fn int8_relu<V: ByteVector>(
    src: *const u8,
    dst: *mut u8,
    len: usize,
    zero_point: u8,
    stream: bool,
) {
    let in_place = core::ptr::eq(src, dst);
    // SAFETY: forwarded from the caller.
    unsafe {
        if in_place {
            int8_relu_body::<V, false, true>(src, dst, len, zero_point)
        } else if V::STREAMS && stream {
            int8_relu_body::<V, true, false>(src, dst, len, zero_point)
        } else {
            int8_relu_body::<V, false, false>(src, dst, len, zero_point)
        }
    }
}

/// One register's result at `p`: streaming when `NT`, only the changed bytes when
/// `IN_PLACE`.
///
/// # Safety
/// `p` is valid for `LANES` writes (and register-aligned when `NT`); ISA available.
#[inline(always)]
unsafe fn put<V: ByteVector, const NT: bool, const IN_PLACE: bool>(x: V, z: V, p: *mut u8) {
    // SAFETY: forwarded from the caller.
    unsafe {
        if IN_PLACE {
            V::put_in_place(x, z, p)
        } else if NT {
            x.max(z).store_stream(p)
        } else {
            x.max(z).store(p)
        }
    }
}

#[inline(always)]
unsafe fn int8_relu_body<V: ByteVector, const NT: bool, const IN_PLACE: bool>(
    src: *const u8,
    dst: *mut u8,
    len: usize,
    zero_point: u8,
) {
    let l = V::LANES;
    // SAFETY: every access is at an index `< len`: the partial register covers
    // `0..len` when `len < LANES`; otherwise the head and tail registers are at
    // `0..LANES` and `len - LANES..len` and the blocks inside `h..len - rem` (loop
    // conditions). The head and tail registers are loaded before anything is written
    // and stored last, so in place too they hold the input; every byte they share
    // with a block gets the same value twice (and `max` with the zero point is
    // idempotent besides). With NT the head (`h < LANES` bytes) makes `dst + h`
    // register-aligned, as `store_stream` requires. The ISA is the caller's promise.
    unsafe {
        let z = V::splat(zero_point);
        if len < l {
            V::load_partial(src, len).max(z).store_partial(dst, len);
            return;
        }
        let h = if NT || len >= ALIGN_MIN_REGISTERS * l {
            match dst as usize % l {
                0 => 0,
                mis => l - mis,
            }
        } else {
            0
        };
        let rem = (len - h) % l;
        // Full registers over the ragged ends, loaded first (a load that partly
        // overlaps a store still in flight would wait for it).
        let head = if h > 0 { Some(V::load(src)) } else { None };
        let tail = if rem > 0 {
            Some(V::load(src.add(len - l)))
        } else {
            None
        };
        let stop = len - rem;
        let mut i = h;
        while i + 4 * l <= stop {
            let a = V::load(src.add(i));
            let b = V::load(src.add(i + l));
            let c = V::load(src.add(i + 2 * l));
            let d = V::load(src.add(i + 3 * l));
            put::<V, NT, IN_PLACE>(a, z, dst.add(i));
            put::<V, NT, IN_PLACE>(b, z, dst.add(i + l));
            put::<V, NT, IN_PLACE>(c, z, dst.add(i + 2 * l));
            put::<V, NT, IN_PLACE>(d, z, dst.add(i + 3 * l));
            i += 4 * l;
        }
        while i < stop {
            put::<V, NT, IN_PLACE>(V::load(src.add(i)), z, dst.add(i));
            i += l;
        }
        if let Some(t) = tail {
            put::<V, false, IN_PLACE>(t, z, dst.add(len - l));
        }
        if let Some(v) = head {
            put::<V, false, IN_PLACE>(v, z, dst);
        }
        if NT {
            V::stream_fence();
        }
    }
}

/// Generates the `#[target_feature]` Int8Relu entry point for one ISA and its
/// `KERNELS` table ([`Int8Kernels`]).
///
/// Usage: `int8_entry_points!([target_feature(enable = "avx2")], ByteRegisterType);`
#[macro_export]
#[doc(hidden)]
macro_rules! int8_entry_points {
    ([$($attr:meta),*], $V:ty) => {
        /// Int8Relu: `dst[i] = max(src[i], zero_point)`.
        ///
        /// # Safety
        /// See the crate docs ([`crate::UnaryFn`]).
        $(#[$attr])*
        pub unsafe fn int8_relu(
            src: *const u8,
            dst: *mut u8,
            len: usize,
            p: &$crate::ops::Params<u8>,
            stream: bool,
        ) {
            // SAFETY: forwarded from the caller (contract of `UnaryFn`).
            unsafe { $crate::int8::int8_relu::<$V>(src, dst, len, p.scalars[0], stream) }
        }

        /// This module's Int8Relu table. Calling it requires the ISA.
        pub const KERNELS: $crate::int8::Int8Kernels = $crate::int8::Int8Kernels { int8_relu };
    };
}
