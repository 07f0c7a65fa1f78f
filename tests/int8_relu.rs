//! Quantized u8 Int8Relu (`y = max(x, zero_point)`) on every available ISA against the
//! oracle: every (x, zero point) pair, every zero point at every length 0..=130 and
//! every start offset within a cache line (out of place and in place), the threaded and
//! the non-temporal paths, and the refusals (nothing written).

mod common;

use caffe2op_relu::{
    Error, Isa, int8_relu, int8_relu_in_place, int8_relu_in_place_with_isa, int8_relu_oracle,
    int8_relu_with_isa,
};
use common::{Rng, SHORT_SWEEPS, check_int8_window, in_pool, light};

fn expect(x: &[u8], zp: u8) -> Vec<u8> {
    x.iter().map(|&v| int8_relu_oracle(v, zp)).collect()
}

#[test]
fn oracle_is_max() {
    for x in 0..=255u8 {
        for zp in 0..=255u8 {
            assert_eq!(int8_relu_oracle(x, zp), x.max(zp));
        }
    }
}

/// All 256 x values (in several orders) against all 256 zero points, every ISA, out of
/// place and in place.
#[test]
fn every_value_and_zero_point_on_every_isa() {
    let ordered: Vec<u8> = (0..=255).collect();
    let scrambled: Vec<u8> = (0..=255u32).map(|i| (i * 167 + 13) as u8).collect();
    let repeated: Vec<u8> = (0..4096u32).map(|i| ((i * 97) >> 3) as u8).collect();
    let mut cases = 0usize;
    for isa in Isa::available() {
        for zp in 0..=255u8 {
            for x in [&ordered, &scrambled, &repeated] {
                let want = expect(x, zp);
                let mut y = vec![0xA5; x.len()];
                int8_relu_with_isa(x, &mut y, zp, isa).unwrap();
                assert_eq!(y, want, "{isa} zp {zp}");
                let mut z = x.clone();
                int8_relu_in_place_with_isa(&mut z, zp, isa).unwrap();
                assert_eq!(z, want, "{isa} zp {zp} in place");
                cases += 2 * x.len();
            }
        }
    }
    eprintln!("{cases} element cases");
}

/// Every length 0..=130 at every start offset 0..=63 (short sweeps: fewer), every zero point
/// (short sweeps and light runs: a stride, 0 and 255 included), out of place and in
/// place; bytes around the output stay put.
#[test]
fn every_length_offset_and_zero_point() {
    let (lens, off_step, zp_step) = if SHORT_SWEEPS {
        (0..=70usize, 5, 17)
    } else if light() {
        (0..=130usize, 1, 17)
    } else {
        (0..=130usize, 1, 1)
    };
    let mut rng = Rng(0x1a7e);
    let mut calls = 0usize;
    for isa in Isa::available() {
        for len in lens.clone() {
            let x: Vec<u8> = (0..len).map(|_| rng.next_u64() as u8).collect();
            for zp in (0..=255u8).step_by(zp_step) {
                let want = expect(&x, zp);
                for off in (0..64).step_by(off_step) {
                    check_int8_window(isa, &x, zp, off, &want);
                    calls += 2;
                }
            }
        }
    }
    eprintln!("{calls} calls");
}

/// Calls long enough for the head that aligns the output (16 registers and more) at
/// every start offset within a cache line (short sweeps: a stride), out of place and in
/// place, on every ISA.
#[test]
fn long_calls_at_every_offset() {
    let (lens, off_step): (&[usize], usize) = if SHORT_SWEEPS {
        (&[255, 256, 257, 1031], 7)
    } else {
        (&[511, 512, 513, 1023, 1024, 1025, 1100, 2049, 4099], 1)
    };
    let mut rng = Rng(0x10a6);
    for isa in Isa::available() {
        for &len in lens {
            let x: Vec<u8> = (0..len).map(|_| rng.next_u64() as u8).collect();
            for zp in [0u8, 128, rng.next_u64() as u8, 255] {
                let want = expect(&x, zp);
                for off in (0..64).step_by(off_step) {
                    check_int8_window(isa, &x, zp, off, &want);
                }
            }
        }
    }
}

#[test]
fn random_lengths() {
    let mut rng = Rng(0x9a9a);
    let max = if light() { 20_000 } else { 300_000 };
    for _ in 0..if light() { 10 } else { 40 } {
        let len = rng.below(max);
        let zp = rng.next_u64() as u8;
        let x: Vec<u8> = (0..len).map(|_| rng.next_u64() as u8).collect();
        let want = expect(&x, zp);
        for isa in Isa::available() {
            let mut y = vec![0; len];
            int8_relu_with_isa(&x, &mut y, zp, isa).unwrap();
            assert_eq!(y, want, "{isa} len {len}");
        }
    }
}

/// Large enough for `Threads::Auto` to split, in a 4-thread pool; and the default
/// dispatch (`int8_relu`, `int8_relu_in_place`).
#[test]
fn threaded_path_and_default_dispatch() {
    // A lower threshold than the default keeps the threaded path cheap to test.
    caffe2op_relu::tuning::set_parallel_min_bytes(2 << 20);
    let len = 3 * (2 << 20) / 2 + 77;
    let mut rng = Rng(3);
    let x: Vec<u8> = (0..len).map(|_| rng.next_u64() as u8).collect();
    in_pool(4, || {
        for zp in [0u8, 1, 128, 200, 255] {
            let want = expect(&x, zp);
            for isa in Isa::available() {
                let mut y = vec![0; len];
                int8_relu_with_isa(&x, &mut y, zp, isa).unwrap();
                assert_eq!(y, want, "{isa} zp {zp}");
                let mut z = x.clone();
                int8_relu_in_place_with_isa(&mut z, zp, isa).unwrap();
                assert_eq!(z, want, "{isa} zp {zp} in place");
            }
            let mut y = vec![0; len];
            int8_relu(&x, &mut y, zp).unwrap();
            assert_eq!(y, want);
            let mut z = x.clone();
            int8_relu_in_place(&mut z, zp);
            assert_eq!(z, want);
        }
    });
}

/// Every out-of-place call streams (threshold 0): aligning head, body, tail.
#[test]
fn streaming_stores() {
    caffe2op_relu::tuning::set_stream_min_bytes(0);
    let mut rng = Rng(0x57);
    for isa in Isa::available() {
        for len in (0..=300).chain([4099, 65_537]) {
            let x: Vec<u8> = (0..len).map(|_| rng.next_u64() as u8).collect();
            let zp = rng.next_u64() as u8;
            let want = expect(&x, zp);
            for off in 0..64 {
                let mut buf = vec![0x5Au8; len + 192];
                let base = (64 - buf.as_ptr() as usize % 64) % 64;
                let s = base + off;
                int8_relu_with_isa(&x, &mut buf[s..s + len], zp, isa).unwrap();
                assert_eq!(&buf[s..s + len], &want[..], "{isa} len {len} off {off}");
                assert!(buf[..s].iter().chain(&buf[s + len..]).all(|&b| b == 0x5A));
            }
        }
    }
    // The output a little above the input modulo 4 KiB (the streaming blocks walk
    // down) and a little below (they walk up), in one allocation.
    for isa in Isa::available() {
        let len = 65_537;
        let x: Vec<u8> = (0..len).map(|_| rng.next_u64() as u8).collect();
        let zp = rng.next_u64() as u8;
        let want = expect(&x, zp);
        for d in [16usize, 48, 1040, 4080] {
            let mut buf = vec![0x5Au8; 2 * len + 3 * 4096];
            let s = (4096 - buf.as_ptr() as usize % 4096) % 4096;
            // `y` starts `d` bytes past the first page boundary after `x`'s end.
            let t = (s + len).next_multiple_of(4096) + d;
            let (lo, hi) = buf.split_at_mut(t);
            lo[s..s + len].copy_from_slice(&x);
            int8_relu_with_isa(&lo[s..s + len], &mut hi[..len], zp, isa).unwrap();
            assert_eq!(&buf[t..t + len], &want[..], "{isa} d {d}");
            assert!(
                buf[s + len..t]
                    .iter()
                    .chain(&buf[t + len..])
                    .all(|&b| b == 0x5A)
            );
        }
    }
    caffe2op_relu::tuning::set_stream_min_bytes(caffe2op_relu::tuning::DEFAULT_STREAM_MIN_BYTES);
}

#[test]
fn refusals_write_nothing() {
    let x = vec![3u8; 10];
    for isa in Isa::available() {
        for n in [0usize, 9, 11] {
            let mut y = vec![0xEE; n];
            assert_eq!(
                int8_relu_with_isa(&x, &mut y, 7, isa).unwrap_err(),
                Error::LengthMismatch {
                    arg: "y",
                    expected: 10,
                    found: n
                }
            );
            assert!(y.iter().all(|&b| b == 0xEE));
            assert!(int8_relu(&x, &mut y, 7).is_err());
            assert!(y.iter().all(|&b| b == 0xEE));
        }
    }
    for isa in Isa::ALL {
        if !isa.is_available() {
            let mut y = vec![0xEE; 10];
            assert_eq!(
                int8_relu_with_isa(&x, &mut y, 7, isa).unwrap_err(),
                Error::IsaUnavailable { isa }
            );
            assert!(y.iter().all(|&b| b == 0xEE));
            let mut z = vec![0xEE; 10];
            assert!(int8_relu_in_place_with_isa(&mut z, 255, isa).is_err());
            assert!(z.iter().all(|&b| b == 0xEE));
        }
    }
}
