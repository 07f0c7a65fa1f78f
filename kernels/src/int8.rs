//! Quantized u8 Int8Relu (Caffe2): `y_q = max(x_q, zero_point)`, forward only.
//!
//! The float [`crate::vector::Vector`] has no unsigned-byte `max`, so the u8 kernel has a
//! trait of its own, [`ByteVector`] (one unsigned max per ISA: `VPMAXUB`, `UMAX`,
//! `wide`'s `u8x16::max`), and one body, [`int8_relu`], walked like
//! [`crate::generic::unary`]: blocks of four registers, single registers, then one
//! full register ending at `len` (a partial one for calls shorter than a register);
//! no byte outside `[0, len)` is read or written. It shares the float
//! kernels' streaming convention: the caller's `stream` flag asks for non-temporal stores.

use core::mem::MaybeUninit;
use core::ptr;

use crate::UnaryFn;

/// The Int8Relu kernels of one ISA (a table of its own: u8 has no gradient and none of
/// the float ops).
#[derive(Clone, Copy)]
pub struct Int8Kernels {
    /// `dst[i] = max(src[i], zero_point)`; the contract of [`UnaryFn`], with the zero
    /// point as the parameter.
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
/// Like the float bodies, when the caller asks (`stream`) an out-of-place call writes
/// around the cache on ISAs with non-temporal stores, after a partial head that aligns
/// `dst`.
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
    let stream = V::STREAMS && stream && !core::ptr::eq(src, dst);
    // SAFETY: forwarded from the caller.
    unsafe {
        if stream {
            int8_relu_body::<V, true>(src, dst, len, zero_point)
        } else {
            int8_relu_body::<V, false>(src, dst, len, zero_point)
        }
    }
}

/// A full-register store, streaming when `NT`.
///
/// # Safety
/// `p` is valid for `LANES` writes (and register-aligned when `NT`); ISA available.
#[inline(always)]
unsafe fn put<V: ByteVector, const NT: bool>(v: V, p: *mut u8) {
    // SAFETY: forwarded from the caller.
    unsafe { if NT { v.store_stream(p) } else { v.store(p) } }
}

#[inline(always)]
unsafe fn int8_relu_body<V: ByteVector, const NT: bool>(
    src: *const u8,
    dst: *mut u8,
    len: usize,
    zero_point: u8,
) {
    let l = V::LANES;
    let mut i = 0;
    // SAFETY: every access is at an index `< len` (loop conditions, head, the full
    // tail register at `len - LANES` only when `len >= LANES`, partial tail), so
    // inside the ranges the caller vouched for; each block is loaded before it is
    // stored, so `dst == src` is fine, and the tail register is loaded before anything
    // is written, so in place too it holds the input and rewrites the bytes it shares
    // with the last block with the same values. With NT the head (`< LANES` bytes)
    // makes `dst + i` register-aligned, as `store_stream` requires. The ISA is the
    // caller's promise.
    unsafe {
        let z = V::splat(zero_point);
        // A call of at least one register ends with one full register that overlaps
        // the last block's (no partial register: masked moves or a stack copy cost
        // more than the whole register), loaded first (no load waits on a partly
        // overlapping store in flight).
        let tail = if len >= l {
            Some(V::load(src.add(len - l)))
        } else {
            None
        };
        if NT {
            let mis = dst as usize % l;
            let h = if mis == 0 { 0 } else { (l - mis).min(len) };
            if h > 0 {
                V::load_partial(src, h).max(z).store_partial(dst, h);
                i = h;
            }
        }
        while i + 4 * l <= len {
            let a = V::load(src.add(i));
            let b = V::load(src.add(i + l));
            let c = V::load(src.add(i + 2 * l));
            let d = V::load(src.add(i + 3 * l));
            put::<V, NT>(a.max(z), dst.add(i));
            put::<V, NT>(b.max(z), dst.add(i + l));
            put::<V, NT>(c.max(z), dst.add(i + 2 * l));
            put::<V, NT>(d.max(z), dst.add(i + 3 * l));
            i += 4 * l;
        }
        while i + l <= len {
            put::<V, NT>(V::load(src.add(i)).max(z), dst.add(i));
            i += l;
        }
        if i < len {
            if let Some(t) = tail {
                t.max(z).store(dst.add(len - l));
            } else {
                let n = len - i;
                V::load_partial(src.add(i), n)
                    .max(z)
                    .store_partial(dst.add(i), n);
            }
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
            zero_point: u8,
            stream: bool,
        ) {
            // SAFETY: forwarded from the caller (contract of `UnaryFn`).
            unsafe { $crate::int8::int8_relu::<$V>(src, dst, len, zero_point, stream) }
        }

        /// This module's Int8Relu table. Calling it requires the ISA.
        pub const KERNELS: $crate::int8::Int8Kernels = $crate::int8::Int8Kernels { int8_relu };
    };
}
