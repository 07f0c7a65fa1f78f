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
/// `f32`, the format the fast conversions are tested against the generic ones in.
#[cfg(test)]
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

/// `v` rounded to nearest even into `dst` by integer arithmetic on its bits, where the
/// result is a normal number of `dst` or rounds up to its infinity: `None` below
/// `dst`'s smallest normal, from twice its largest finite value up (infinity
/// included), and for NaN. There the `f64`'s exponent field is a normal one of `dst`
/// moved by the difference of the biases, so dropping the low mantissa bits with the
/// integer rounding (a carry moves into the exponent, up to infinity) and rebiasing
/// is the rounding; a dozen integer instructions for a call's parameters (`0.01` as a
/// 16-bit slope), against two float conversions and a compare for the other paths.
#[inline]
const fn narrow_f64_normal(v: f64, dst: Format) -> Option<u16> {
    let x = v.to_bits();
    let mag = x & !(1 << 63);
    let shift = BINARY64.man_bits - dst.man_bits;
    let rebias = (BINARY64.bias() - dst.bias()) as u64;
    let lowest = (rebias + 1) << BINARY64.man_bits;
    let beyond = (rebias + dst.max_exp()) << BINARY64.man_bits;
    if mag.wrapping_sub(lowest) >= beyond - lowest {
        return None;
    }
    let rounded = (mag + (1 << (shift - 1)) - 1 + ((mag >> shift) & 1)) >> shift;
    let sign = (x >> 48) & 0x8000;
    Some((sign | (rounded - (rebias << dst.man_bits))) as u16)
}

/// `v` rounded to nearest even into `dst` where `v` is positive, at least `dst`'s
/// smallest normal and below the midpoint between its largest finite value and
/// infinity (so the result is a positive finite normal): `None` elsewhere. One range
/// compare of the bits, sign included, and the integer rounding of
/// [`narrow_f64_normal`] with the rebias folded in: the shortest path for a
/// parameter that must be positive (a slope, a clip at `n`).
#[inline]
const fn narrow_f64_positive_normal(v: f64, dst: Format) -> Option<u16> {
    let x = v.to_bits();
    let shift = BINARY64.man_bits - dst.man_bits;
    let rebias = (BINARY64.bias() - dst.bias()) as u64;
    let lowest = (rebias + 1) << BINARY64.man_bits;
    let first_infinite = ((rebias + dst.max_exp()) << BINARY64.man_bits) - (1 << (shift - 1));
    if x.wrapping_sub(lowest) >= first_infinite - lowest {
        return None;
    }
    let biased = x - (rebias << BINARY64.man_bits);
    Some(((biased + (1 << (shift - 1)) - 1 + ((x >> shift) & 1)) >> shift) as u16)
}

/// The bits of `v` rounded to `f32` to odd (toward zero, with the last bit set where
/// that dropped anything; `None` for NaN, whose payload a cast may change). Rounding
/// that to nearest even into a format with at least two fewer significant bits, as
/// binary16 and bfloat16 have, gives `v` rounded to nearest even in one step: the odd
/// bit stands for the dropped part, and no value it stands for is a midpoint of the
/// narrower format. A few instructions where [`narrow`] from `f64` is a call: the
/// values [`narrow_f64_normal`] leaves (zero, subnormal results) take this.
#[inline]
const fn round_to_odd_f32(v: f64) -> Option<u32> {
    if v.is_nan() {
        return None;
    }
    let r = v as f32;
    let bits = r.to_bits();
    if r as f64 == v {
        return Some(bits);
    }
    // One step toward zero where the cast rounded away (`r` is never zero here, and
    // an infinity steps to the largest finite value).
    let toward_zero = if (r as f64).abs() > v.abs() {
        bits - 1
    } else {
        bits
    };
    Some(toward_zero | 1)
}

/// `f32` bits to binary16, rounded to nearest even: what [`narrow`] gives from
/// `BINARY32` (unit-tested against it), written with selects only, so the oracle's
/// slice loops vectorise. From binary16's smallest normal up, the integer rounding of
/// the low 13 bits (a carry moves into the exponent, up to infinity, where `min`
/// stops it) and a rebias by 112; below it the fixed quantum `2^-24` is applied by
/// adding `0.5` in `f32` (the sum's unit in the last place is `2^-24`, and its
/// rounding is to nearest even, the one Rust's float arithmetic assumes), which
/// leaves the result in the sum's low bits.
#[inline]
const fn narrow_f32_f16(x: u32) -> u16 {
    let sign = ((x >> 16) & 0x8000) as u16;
    let mag = x & 0x7FFF_FFFF;
    let bits = if mag > 0x7F80_0000 {
        0x7E00 | ((mag >> 13) & 0x03FF)
    } else if mag >= 0x3880_0000 {
        let rounded = (mag + 0x0FFF + ((mag >> 13) & 1)) >> 13;
        let r = rounded - (112 << 10);
        if r > 0x7C00 { 0x7C00 } else { r }
    } else {
        (f32::from_bits(mag) + 0.5).to_bits() - 0x3F00_0000
    };
    sign | bits as u16
}

/// `f32` bits to bfloat16, rounded to nearest even: what [`narrow`] gives from
/// `BINARY32` (unit-tested against it), without branches: the integer rounding of the
/// low 16 bits (a carry moves into the exponent, up to infinity), and a NaN's top
/// payload bits with the quiet bit set.
#[inline]
const fn narrow_f32_bf16(x: u32) -> u16 {
    if x & 0x7FFF_FFFF > 0x7F80_0000 {
        ((x >> 16) | 0x0040) as u16
    } else {
        ((x + 0x7FFF + ((x >> 16) & 1)) >> 16) as u16
    }
}

/// binary16 to `f32` bits, exactly, NaN quieted: what `widen` gives for
/// `BINARY16` (a unit test compares every pattern), written with selects only, so the
/// oracle's slice loops vectorise. Normal values move up by 13 bits and the exponent
/// bias grows by 112; a subnormal `m * 2^-24` is formed as an `f32` product, exact
/// (an integer below 2^10 times a power of two, both normal, so no flush-to-zero mode
/// can touch it).
#[inline]
const fn widen_f16(h: u16) -> u32 {
    const TWO_POW_MINUS_24: f32 = 1.0 / 16_777_216.0;
    let h = h as u32;
    let sign = (h & 0x8000) << 16;
    let mag = h & 0x7FFF;
    let bits = if mag >= 0x7C00 {
        let quiet = if mag > 0x7C00 { 0x0040_0000 } else { 0 };
        0x7F80_0000 | quiet | ((mag & 0x03FF) << 13)
    } else if mag >= 0x0400 {
        (mag << 13) + (112 << 23)
    } else {
        (mag as f32 * TWO_POW_MINUS_24).to_bits()
    };
    sign | bits
}

/// bfloat16 to `f32` bits, exactly, NaN quieted: what `widen` gives for `BFLOAT16`
/// (a unit test compares every pattern), without branches: the top half of an `f32`.
#[inline]
const fn widen_bf16(h: u16) -> u32 {
    let quiet = if h & 0x7FFF > 0x7F80 { 0x0040_0000 } else { 0 };
    ((h as u32) << 16) | quiet
}

/// Widens the 16-bit format `src` to `f32` bits, exactly; NaN is quieted. The
/// definition that [`widen_f16`] and [`widen_bf16`] are tested against.
#[cfg(test)]
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
        f32::from_bits(widen_f16(self.0))
    }

    /// Round to nearest even (see the module docs).
    #[inline]
    pub const fn from_f32(v: f32) -> F16 {
        F16(narrow_f32_f16(v.to_bits()))
    }

    /// [`F16::from_f64`] where `v` is positive and that is a finite normal value;
    /// `None` elsewhere. Fewer instructions, for parameters that must be positive.
    #[inline]
    pub const fn from_f64_positive_normal(v: f64) -> Option<F16> {
        match narrow_f64_positive_normal(v, BINARY16) {
            Some(bits) => Some(F16(bits)),
            None => None,
        }
    }

    /// Round to nearest even, in one step from `f64` (see the module docs).
    #[inline]
    pub const fn from_f64(v: f64) -> F16 {
        if let Some(bits) = narrow_f64_normal(v, BINARY16) {
            return F16(bits);
        }
        match round_to_odd_f32(v) {
            Some(bits) => F16(narrow_f32_f16(bits)),
            None => F16(narrow(v.to_bits(), BINARY64, BINARY16)),
        }
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
        f32::from_bits(widen_bf16(self.0))
    }

    /// The value as an `f32` for compares and products, a NaN left signaling where
    /// [`Bf16::to_f32`] quiets it: one shift. The oracle's results are those of the
    /// quieting widening, as compares do not look at the quiet bit and a product of a
    /// signaling NaN is its quieted self (IEEE 754's NaN propagation, which x86 and
    /// Arm follow).
    #[inline(always)]
    pub const fn to_f32_for_arithmetic(self) -> f32 {
        f32::from_bits((self.0 as u32) << 16)
    }

    /// Round to nearest even (see the module docs).
    #[inline]
    pub const fn from_f32(v: f32) -> Bf16 {
        Bf16(narrow_f32_bf16(v.to_bits()))
    }

    /// [`Bf16::from_f64`] where `v` is positive and that is a finite normal value;
    /// `None` elsewhere. Fewer instructions, for parameters that must be positive.
    #[inline]
    pub const fn from_f64_positive_normal(v: f64) -> Option<Bf16> {
        match narrow_f64_positive_normal(v, BFLOAT16) {
            Some(bits) => Some(Bf16(bits)),
            None => None,
        }
    }

    /// Round to nearest even, in one step from `f64` (see the module docs).
    #[inline]
    pub const fn from_f64(v: f64) -> Bf16 {
        if let Some(bits) = narrow_f64_normal(v, BFLOAT16) {
            return Bf16(bits);
        }
        match round_to_odd_f32(v) {
            Some(bits) => Bf16(narrow_f32_bf16(bits)),
            None => Bf16(narrow(v.to_bits(), BINARY64, BFLOAT16)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fast_widening_is_the_generic_one_on_every_pattern() {
        for h in 0..=u16::MAX {
            assert_eq!(widen_f16(h), widen(h, BINARY16), "f16 {h:#06x}");
            assert_eq!(widen_bf16(h), widen(h, BFLOAT16), "bf16 {h:#06x}");
        }
    }

    fn check_narrowing(x: u32) {
        let (f, b) = (narrow_f32_f16(x), narrow_f32_bf16(x));
        assert_eq!(
            f,
            narrow(x as u64, BINARY32, BINARY16),
            "f32 {x:#010x} -> f16"
        );
        assert_eq!(
            b,
            narrow(x as u64, BINARY32, BFLOAT16),
            "f32 {x:#010x} -> bf16"
        );
    }

    #[test]
    fn fast_narrowing_is_the_generic_one() {
        // Around every 16-bit value of both formats, both signs: the value, its
        // neighbours up to 4 f32 units away, and the midpoints to the next value (and
        // theirs), where the rounding decides.
        for h in 0..u16::MAX {
            for (w, next) in [
                (widen_f16(h), widen_f16(h + 1)),
                (widen_bf16(h), widen_bf16(h + 1)),
            ] {
                let (a, b) = (f32::from_bits(w) as f64, f32::from_bits(next) as f64);
                let mid = ((a + b) / 2.0) as f32;
                // A non-finite midpoint (next to infinity or NaN) is replaced by `w`.
                let m = if mid.is_finite() { mid.to_bits() } else { w };
                for base in [w, m] {
                    for d in 0..=4u32 {
                        check_narrowing(base.wrapping_add(d));
                        check_narrowing(base.wrapping_sub(d));
                    }
                }
            }
        }
        // And a stride through all 2^32 patterns.
        let mut x = 0u32;
        loop {
            check_narrowing(x);
            match x.checked_add(997) {
                Some(n) => x = n,
                None => break,
            }
        }
    }

    #[test]
    fn from_f64_is_the_generic_one_step_rounding() {
        // Values exact in f32 and values just off them, around every 16-bit value
        // and its midpoints, both formats (normal results by integer rounding, the
        // rest to odd through f32). And the positive-normal path: the same bits,
        // exactly where the value is at least the smallest normal and rounds to a
        // positive finite value.
        let check = |v: f64| {
            let (f, b) = (
                narrow(v.to_bits(), BINARY64, BINARY16),
                narrow(v.to_bits(), BINARY64, BFLOAT16),
            );
            assert_eq!(F16::from_f64(v).0, f, "{v:e} -> f16");
            assert_eq!(Bf16::from_f64(v).0, b, "{v:e} -> bf16");
            let f_normal = v >= 2f64.powi(-14) && f < F16::INFINITY_BITS;
            let b_normal = v >= 2f64.powi(-126) && b < Bf16::INFINITY_BITS;
            assert_eq!(
                F16::from_f64_positive_normal(v).map(|h| h.0),
                f_normal.then_some(f),
                "{v:e} -> f16, positive normal"
            );
            assert_eq!(
                Bf16::from_f64_positive_normal(v).map(|h| h.0),
                b_normal.then_some(b),
                "{v:e} -> bf16, positive normal"
            );
        };
        for h in 0..u16::MAX {
            for (w, next) in [
                (widen_f16(h), widen_f16(h + 1)),
                (widen_bf16(h), widen_bf16(h + 1)),
            ] {
                let (a, b) = (f32::from_bits(w) as f64, f32::from_bits(next) as f64);
                for v in [a, (a + b) / 2.0] {
                    check(v);
                    check(f64::from_bits(v.to_bits() + 1));
                    check(f64::from_bits(v.to_bits().wrapping_sub(1)));
                }
            }
        }
        for v in [
            0.01,
            6.0,
            1e-50,
            1e300,
            f64::MIN_POSITIVE,
            f64::NAN,
            -f64::NAN,
            f64::INFINITY,
            f64::MAX,
            3.4028235e38,
            3.4028236e38,
            65520.0,
            65519.99999999999,
            // bfloat16's midpoint between its largest finite value and infinity, and
            // the two ends of the integer path's range in both formats.
            (2.0 - 1.0 / 256.0) * 2f64.powi(127),
            2f64.powi(128),
            2f64.powi(16),
            2f64.powi(-14),
            2f64.powi(-126),
            1e-40,
            1.5e-45,
            7e-46,
            1e-320,
        ] {
            check(v);
            check(-v);
            check(f64::from_bits(v.to_bits() + 1));
            check(f64::from_bits(v.to_bits().wrapping_sub(1)));
        }
    }
}
