//! The oracle's hand-written 16-bit float conversions (kernels crate, `half` module)
//! against the `half` crate, independently of any kernel:
//! - widening: all 2^16 patterns of each type, bit for bit (NaN quieted, as `half`);
//! - f32 -> 16-bit: every value next to every 16-bit value and midpoint, plus a strided
//!   and a random sample of all 2^32 f32 patterns, against `half::{f16,bf16}::from_f32`;
//! - f64 -> 16-bit (parameters): against a reference that rounds to odd into f32 (which
//!   makes the second rounding correct) and then uses `half`'s `from_f32`. `half`'s own
//!   `from_f64` is *not* the reference: it rounds twice on some paths (see below).

use crate::common;

use caffe2op_relu_kernels::half::{Bf16, F16};
use common::Rng;

fn scale(n: u64) -> u64 {
    if common::light() { n / 16 } else { n }
}

#[test]
fn f16_widening_all_patterns_match_half() {
    for b in 0..=u16::MAX {
        let ours = F16(b).to_f32().to_bits();
        let theirs = half::f16::from_bits(b).to_f32().to_bits();
        assert_eq!(
            ours, theirs,
            "f16 {b:#06x}: {ours:#010x} vs half {theirs:#010x}"
        );
        // And exactly the value: f64 via f32 equals half's direct f64 widening.
        let v = half::f16::from_bits(b).to_f64();
        if !v.is_nan() {
            assert_eq!(f64::from(F16(b).to_f32()), v, "f16 {b:#06x}");
        }
    }
}

#[test]
fn bf16_widening_all_patterns_match_half() {
    for b in 0..=u16::MAX {
        let ours = Bf16(b).to_f32().to_bits();
        let theirs = half::bf16::from_bits(b).to_f32().to_bits();
        assert_eq!(
            ours, theirs,
            "bf16 {b:#06x}: {ours:#010x} vs half {theirs:#010x}"
        );
    }
}

fn check_f32(v: f32) {
    let f = F16::from_f32(v).0;
    let hf = half::f16::from_f32(v).to_bits();
    assert_eq!(
        f,
        hf,
        "f32 {v:e} ({:#010x}) -> f16 {f:#06x}, half {hf:#06x}",
        v.to_bits()
    );
    let g = Bf16::from_f32(v).0;
    let hg = half::bf16::from_f32(v).to_bits();
    assert_eq!(
        g,
        hg,
        "f32 {v:e} ({:#010x}) -> bf16 {g:#06x}, half {hg:#06x}",
        v.to_bits()
    );
}

/// Every 16-bit value, its f32 neighbours, and the exact midpoints to the next value
/// with their neighbours: where round-to-nearest-even can go wrong.
#[test]
fn narrowing_at_every_value_and_midpoint_matches_half() {
    let mut n = 0u64;
    for b in 0..=u16::MAX {
        for w in [F16(b).to_f32(), Bf16(b).to_f32()] {
            if w.is_nan() {
                continue;
            }
            let next = f32::from_bits(w.to_bits() + 1);
            for m in [w, (w + next) / 2.0] {
                for d in -3i32..=3 {
                    let x = m.to_bits().wrapping_add_signed(d);
                    check_f32(f32::from_bits(x));
                    n += 1;
                }
            }
        }
        // The f16 midpoints computed exactly in f64 (f32's own midpoint of two f16
        // neighbours is exact too, but make it independent of f32 arithmetic).
        let lo = f64::from(F16(b & 0x7FFF).to_f32());
        let hi = f64::from(F16((b & 0x7FFF) + 1).to_f32());
        if lo.is_finite() && hi.is_finite() {
            let mid = ((lo + hi) / 2.0) as f32;
            for s in [1.0f32, -1.0] {
                for d in -2i32..=2 {
                    check_f32(f32::from_bits((s * mid).to_bits().wrapping_add_signed(d)));
                    n += 1;
                }
            }
        }
    }
    assert!(n > 1_000_000);
}

#[test]
fn narrowing_strided_and_random_f32_matches_half() {
    // A stride coprime with 2^32 walks every region of the bit space.
    let count = scale(1 << 24);
    let stride = (u32::MAX as u64 / count) as u32 | 1;
    let mut x = 0u32;
    for _ in 0..count {
        check_f32(f32::from_bits(x));
        x = x.wrapping_add(stride);
    }
    let mut rng = Rng(0x0f16_0b16);
    for _ in 0..scale(1 << 22) {
        check_f32(f32::from_bits(rng.next_u64() as u32));
    }
    // NaNs of every payload, both signs, quiet and signalling.
    for p in 1..=0x7F_FFFFu32 {
        if p % 97 == 1 || !(0x2000..=0x7F_E000).contains(&p) {
            check_f32(f32::from_bits(0x7F80_0000 | p));
            check_f32(f32::from_bits(0xFF80_0000 | p));
        }
    }
}

/// `v` rounded to f32 by round-to-odd: exact if representable, else the truncation
/// toward zero with its last bit set. A second rounding to a format with at least two
/// bits fewer precision (f16: 11, bf16: 8 against f32's 24, over a wider range) is then
/// correctly rounded.
fn round_to_odd_f32(v: f64) -> f32 {
    let r = v as f32;
    if f64::from(r) == v {
        return r;
    }
    let mut bits = r.to_bits();
    if f64::from(r).abs() > v.abs() {
        bits -= 1; // one step toward zero (r is never 0 here), inf -> MAX
    }
    f32::from_bits(bits | 1)
}

fn check_f64(v: f64) {
    let f = F16::from_f64(v).0;
    let g = Bf16::from_f64(v).0;
    if v.is_nan() {
        // Quiet, sign kept.
        assert_eq!(f & 0x7E00, 0x7E00, "{v:?}");
        assert_eq!(g & 0x7FC0, 0x7FC0, "{v:?}");
        assert_eq!(f >> 15, (v.to_bits() >> 63) as u16);
        return;
    }
    let o = round_to_odd_f32(v);
    let hf = half::f16::from_f32(o).to_bits();
    let hg = half::bf16::from_f32(o).to_bits();
    assert_eq!(
        f,
        hf,
        "f64 {v:e} ({:#018x}) -> f16 {f:#06x}, reference {hf:#06x}",
        v.to_bits()
    );
    assert_eq!(
        g,
        hg,
        "f64 {v:e} ({:#018x}) -> bf16 {g:#06x}, reference {hg:#06x}",
        v.to_bits()
    );
}

#[test]
fn f64_narrowing_rounds_once() {
    let mut rng = Rng(0xf64);
    // Every 16-bit value and midpoint, nudged by tiny amounts that a double rounding
    // through f32 (or a truncated sticky bit) would lose.
    for b in 0..=0x7FFFu16 {
        for w in [F16(b).to_f32(), Bf16(b).to_f32()] {
            if !w.is_finite() {
                continue;
            }
            let lo = f64::from(w);
            let next = f64::from(f32::from_bits(w.to_bits() + 1));
            for m in [lo, (lo + next) / 2.0] {
                for s in [1.0, -1.0] {
                    let m = s * m;
                    for d in [-3i64, -1, 0, 1, 3, 1 << 20, -(1 << 20)] {
                        check_f64(f64::from_bits(m.to_bits().wrapping_add_signed(d)));
                    }
                }
            }
        }
        // The exact f16 midpoint plus 2^-29 ulp: the case `half` gets wrong.
        let lo = f64::from(F16(b).to_f32());
        let hi = f64::from(F16(b + 1).to_f32());
        if hi.is_finite() {
            let mid = (lo + hi) / 2.0;
            check_f64(mid);
            check_f64(f64::from_bits(mid.to_bits() + 1));
            check_f64(f64::from_bits(mid.to_bits() - 1));
        }
    }
    // Random f64 in and around both ranges, and anywhere.
    for _ in 0..scale(1 << 21) {
        let x = rng.next_u64();
        let exp = 1023 + (rng.below(330) as u64) - 170; // 2^-170 .. 2^160
        check_f64(f64::from_bits((x & 0x800F_FFFF_FFFF_FFFF) | (exp << 52)));
        check_f64(f64::from_bits(x));
    }
    for v in [
        0.0,
        -0.0,
        f64::INFINITY,
        f64::NEG_INFINITY,
        f64::MAX,
        f64::MIN_POSITIVE,
        5e-324,
    ] {
        check_f64(v);
    }
}

/// The documented reason for not using `half::f16::from_f64`: 1 + 2^-11 + 2^-40 is
/// above the midpoint of 1 and 1 + 2^-10, so it rounds up; rounding through f32 first
/// lands exactly on the midpoint and ties to even (1.0).
#[test]
fn one_rounding_from_f64_where_two_would_differ() {
    let v = 1.0 + 2f64.powi(-11) + 2f64.powi(-40);
    assert_eq!(F16::from_f64(v).0, 0x3C01);
    assert_eq!(
        F16::from_f32(v as f32).0,
        0x3C00,
        "double rounding would give 1.0"
    );
    let w = 1.0 + 2f64.powi(-8) + 2f64.powi(-40);
    assert_eq!(Bf16::from_f64(w).0, 0x3F81);
    assert_eq!(Bf16::from_f32(1.0 + 2f32.powi(-8)).0, 0x3F80);
}
