//! The two 16-bit float formats as bit newtypes, and their conversions written by hand.
//!
//! This crate has no dependencies, so it cannot name `half::f16`; the safe crate maps
//! `half::f16` to [`F16`] and `half::bf16` to [`Bf16`] (all three are
//! `#[repr(transparent)]` over `u16`).
//!
//! These conversions are the oracle's, and every ISA must produce the same bits:
//!
//! - **Widening** ([`F16::to_f32`], [`Bf16::to_f32`]) is exact. A NaN widens to the quiet
//!   NaN with the same sign and payload (the quiet bit set), as F16C `VCVTPH2PS`, ARM
//!   `FCVTL` and `half`'s `to_f32` do. (The kernels only widen to compare and to
//!   multiply, and a product of a NaN is quiet either way, so the quiet bit of a widened
//!   NaN never shows in a kernel's output.)
//! - **Narrowing** ([`F16::from_f32`], [`Bf16::from_f32`], and the `from_f64` twins used
//!   for parameters) rounds once to nearest, ties to even, with gradual underflow
//!   (subnormal results are produced, never flushed; subnormal inputs are honoured) and
//!   overflow to infinity. A NaN narrows to a quiet NaN with the same sign and the top
//!   bits of its payload (`sign | exponent all-ones | quiet bit | payload >> shift`), as
//!   F16C `VCVTPS2PH` and ARM `FCVTN` do with default-NaN mode off.
//!
//! Neither `half::f16::from_f64` nor `half::bf16::from_f64` is used for parameters: the
//! first goes through `f32` on x86 with F16C (two roundings), and the software fallbacks
//! of both drop the low 32 bits of the `f64` before rounding (a wrong tie break).

/// An IEEE 754 binary16 value, as its bits (the kernels' view of `half::f16`).
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default, Hash)]
#[repr(transparent)]
pub struct F16(pub u16);

/// A bfloat16 value (the top half of an `f32`), as its bits (the kernels' view of
/// `half::bf16`).
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default, Hash)]
#[repr(transparent)]
pub struct Bf16(pub u16);

/// A binary interchange format: exponent and mantissa field widths.
#[derive(Clone, Copy)]
struct Format {
    exp_bits: u32,
    man_bits: u32,
}

const BINARY16: Format = Format {
    exp_bits: 5,
    man_bits: 10,
};
const BFLOAT16: Format = Format {
    exp_bits: 8,
    man_bits: 7,
};
const BINARY32: Format = Format {
    exp_bits: 8,
    man_bits: 23,
};
const BINARY64: Format = Format {
    exp_bits: 11,
    man_bits: 52,
};

impl Format {
    const fn bias(self) -> i32 {
        (1 << (self.exp_bits - 1)) - 1
    }
    const fn max_exp(self) -> u64 {
        (1 << self.exp_bits) - 1
    }
}

/// `v / 2^s` rounded to nearest, ties to even.
const fn shift_round_even(v: u64, s: u32) -> u64 {
    if s == 0 {
        return v;
    }
    if s >= 64 {
        // v < 2^64 <= 2^s, so v / 2^s < 1/2 unless s == 64 and v > 2^63; our
        // significands have at most 53 bits, so this is always below one half.
        return 0;
    }
    let q = v >> s;
    let rem = v & ((1 << s) - 1);
    let half = 1 << (s - 1);
    if rem > half || (rem == half && q & 1 == 1) {
        q + 1
    } else {
        q
    }
}

/// Rounds the value with bits `x` in format `src` to the 16-bit format `dst` (round to
/// nearest, ties to even; gradual underflow; overflow to infinity; NaN quieted with
/// its top payload bits kept).
const fn narrow(x: u64, src: Format, dst: Format) -> u16 {
    let sign = (x >> (src.exp_bits + src.man_bits)) & 1;
    let exp = (x >> src.man_bits) & src.max_exp();
    let man = x & ((1 << src.man_bits) - 1);
    let sign_out = sign << (dst.exp_bits + dst.man_bits);
    let inf_out = dst.max_exp() << dst.man_bits;
    if exp == src.max_exp() {
        if man == 0 {
            return (sign_out | inf_out) as u16;
        }
        let quiet = 1 << (dst.man_bits - 1);
        let payload = man >> (src.man_bits - dst.man_bits);
        return (sign_out | inf_out | quiet | payload) as u16;
    }
    if exp == 0 && man == 0 {
        return sign_out as u16;
    }
    // value = sig * 2^e, sig an integer.
    let (sig, e) = if exp == 0 {
        (man, 1 - src.bias() - src.man_bits as i32)
    } else {
        (
            man | (1 << src.man_bits),
            exp as i32 - src.bias() - src.man_bits as i32,
        )
    };
    // The unbiased exponent of the value, and its biased exponent in `dst`.
    let top = e + (64 - sig.leading_zeros() as i32) - 1;
    let d = top + dst.bias();
    if d >= dst.max_exp() as i32 {
        return (sign_out | inf_out) as u16;
    }
    // The weight of one unit in the last place of the result: that of a normal with
    // exponent `top`, or of the subnormals.
    let quantum = if d >= 1 {
        top - dst.man_bits as i32
    } else {
        1 - dst.bias() - dst.man_bits as i32
    };
    // Every conversion here goes to fewer mantissa bits and a range no wider than the
    // source's, so the shift is never negative.
    let shift = quantum - e;
    let k = shift_round_even(sig, if shift < 0 { 0 } else { shift as u32 });
    // k includes the implicit bit for a normal result: (d - 1) << m plus k is the
    // field layout, and a rounding carry moves into the exponent (up to infinity).
    let base = if d >= 1 { d as u64 - 1 } else { 0 };
    (sign_out | ((base << dst.man_bits) + k)) as u16
}

/// Widens the 16-bit format `src` to `f32` bits, exactly; NaN is quieted.
const fn widen(h: u16, src: Format) -> u32 {
    let h = h as u32;
    let sign = (h >> (src.exp_bits + src.man_bits)) << 31;
    let exp = (h >> src.man_bits) & ((1 << src.exp_bits) - 1);
    let man = h & ((1 << src.man_bits) - 1);
    let shift = BINARY32.man_bits - src.man_bits;
    if exp == (1 << src.exp_bits) - 1 {
        let quiet = if man == 0 { 0 } else { 1 << 22 };
        return sign | 0x7F80_0000 | quiet | (man << shift);
    }
    if exp == 0 {
        if man == 0 {
            return sign;
        }
        // Subnormal: value = man * 2^(1 - bias - m). Normalise it.
        let lead = 31 - man.leading_zeros(); // position of the top set bit
        let e32 = (1 - src.bias() - src.man_bits as i32) + lead as i32 + BINARY32.bias();
        if e32 >= 1 {
            let frac = (man << (BINARY32.man_bits - lead)) & 0x007F_FFFF;
            return sign | ((e32 as u32) << 23) | frac;
        }
        // Still subnormal in f32 (bfloat16 shares f32's range): same field layout.
        return sign | (man << shift);
    }
    let e32 = exp as i32 - src.bias() + BINARY32.bias();
    sign | ((e32 as u32) << 23) | (man << shift)
}

impl F16 {
    /// +0.0
    pub const ZERO: F16 = F16(0);
    /// The bits of +infinity.
    pub const INFINITY_BITS: u16 = 0x7C00;

    /// Exact widening (NaN quieted).
    #[inline]
    pub const fn to_f32(self) -> f32 {
        f32::from_bits(widen(self.0, BINARY16))
    }

    /// Round to nearest even (see the module docs).
    #[inline]
    pub const fn from_f32(v: f32) -> F16 {
        F16(narrow(v.to_bits() as u64, BINARY32, BINARY16))
    }

    /// Round to nearest even, in one step from `f64` (see the module docs).
    #[inline]
    pub const fn from_f64(v: f64) -> F16 {
        F16(narrow(v.to_bits(), BINARY64, BINARY16))
    }
}

impl Bf16 {
    /// +0.0
    pub const ZERO: Bf16 = Bf16(0);
    /// The bits of +infinity.
    pub const INFINITY_BITS: u16 = 0x7F80;

    /// Exact widening (NaN quieted).
    #[inline]
    pub const fn to_f32(self) -> f32 {
        f32::from_bits(widen(self.0, BFLOAT16))
    }

    /// Round to nearest even (see the module docs).
    #[inline]
    pub const fn from_f32(v: f32) -> Bf16 {
        Bf16(narrow(v.to_bits() as u64, BINARY32, BFLOAT16))
    }

    /// Round to nearest even, in one step from `f64` (see the module docs).
    #[inline]
    pub const fn from_f64(v: f64) -> Bf16 {
        Bf16(narrow(v.to_bits(), BINARY64, BFLOAT16))
    }
}
