//! `autovec::round_trip`, the conversion-only roof of the 16-bit products: every
//! f16 and bf16 pattern widened and narrowed as the oracle does (`to_f32`, then
//! `from_f32`; a NaN only has to stay a NaN of the same sign, as the integer
//! rounding of bf16 leaves a signalling NaN unquieted, and AVX512-BF16's narrowing
//! reads a subnormal as zero), at every length up to a few
//! registers (the partial last register), on every ISA that has the loop; and the
//! refusals, which write nothing.

use caffe2op_relu::tuning::avx512_bf16_narrowing;
use caffe2op_relu::{Element, Error, Isa, autovec};
use caffe2op_relu_kernels::half::{Bf16, F16};
use half::{bf16, f16};

/// Whether `got` is what the round trip may give for the pattern whose oracle
/// result is `want`: the same bits, or for a NaN any NaN of the same sign, or with
/// `flush` (bf16 narrowed by `VCVTNE2PS2BF16`, which reads a subnormal as zero) for a
/// subnormal the zero of its sign.
fn same(got: u16, want: u16, inf: u16, flush: bool) -> bool {
    let nan = |b: u16| b & 0x7FFF > inf;
    let subnormal = want & 0x7FFF != 0 && want & inf == 0;
    got == want
        || (nan(want) && nan(got) && (got ^ want) & 0x8000 == 0)
        || (flush && subnormal && got == want & 0x8000)
}

fn check<T: Element>(from: fn(u16) -> T, oracle: fn(u16) -> u16, bits: fn(T) -> u16, inf: u16) {
    let all: Vec<T> = (0..=u16::MAX).map(from).collect();
    let want: Vec<u16> = (0..=u16::MAX).map(oracle).collect();
    for isa in Isa::available() {
        if !autovec::has_round_trip::<T>(isa) {
            continue;
        }
        let flush = T::NAME == "bf16" && isa == Isa::Avx512 && avx512_bf16_narrowing();
        let mut y = vec![from(0x1234); all.len()];
        autovec::round_trip(isa, &all, &mut y).unwrap();
        for (i, &v) in y.iter().enumerate() {
            assert!(
                same(bits(v), want[i], inf, flush),
                "{isa} {}: {i:#06x}",
                T::NAME
            );
        }
        // Every length up to three 512-bit registers, starting at an odd element;
        // the element past the end keeps its fill.
        for n in 0..100 {
            let x = &all[0x7bf1..0x7bf1 + n];
            let mut y = vec![from(0x1234); n + 1];
            autovec::round_trip(isa, x, &mut y[..n]).unwrap();
            for (i, &v) in y[..n].iter().enumerate() {
                let ok = same(bits(v), want[0x7bf1 + i], inf, flush);
                assert!(ok, "{isa} {} length {n}", T::NAME);
            }
            assert_eq!(
                bits(y[n]),
                0x1234,
                "{isa} {} length {n}: wrote past",
                T::NAME
            );
        }
    }
}

#[test]
fn round_trips_are_the_oracle_conversions() {
    check(
        f16::from_bits,
        |b| F16::from_f32(F16(b).to_f32()).0,
        f16::to_bits,
        0x7C00,
    );
    check(
        bf16::from_bits,
        |b| Bf16::from_f32(Bf16(b).to_f32()).0,
        bf16::to_bits,
        0x7F80,
    );
}

#[test]
fn round_trip_refusals_write_nothing() {
    let x = [f16::ONE; 8];
    for isa in Isa::ALL {
        let mut short = [f16::ZERO; 7];
        let mut y32 = [0.0f32; 8];
        if autovec::has_round_trip::<f16>(isa) {
            assert!(matches!(
                autovec::round_trip(isa, &x, &mut short),
                Err(Error::LengthMismatch {
                    arg: "y",
                    expected: 8,
                    found: 7
                })
            ));
        } else {
            assert_eq!(
                autovec::round_trip(isa, &x, &mut short),
                Err(Error::IsaUnavailable { isa })
            );
        }
        assert_eq!(short, [f16::ZERO; 7], "{isa}");
        assert_eq!(
            autovec::round_trip(isa, &[1.0f32; 8], &mut y32),
            Err(Error::IsaUnavailable { isa })
        );
        assert_eq!(y32, [0.0; 8], "{isa}");
    }
}
