//! Quantized u8 Int8LeakyRelu (`y = table[x]`, QNNPACK's table) on every available ISA
//! against its table: the table itself against values worked out by hand and against
//! the properties its formula implies, every input byte under many parameter sets,
//! every length 0..=130 at every start offset within a cache line (out of place and in
//! place, the bytes around the output untouched), long, random-length, threaded and
//! streaming calls, and the refusals (nothing written).

mod common;

use caffe2op_relu::{Error, Int8LeakyRelu, Isa, QuantParams, Threads};
use common::{Rng, SHORT_SWEEPS, in_pool, light};

fn q(scale: f32, zero_point: u8) -> QuantParams {
    QuantParams { scale, zero_point }
}

/// Parameter sets: Caffe2's default slope, equal and unequal scales (the ratio at both
/// ends of QNNPACK's range), zero points at the ends and in the middle, a slope of 1,
/// and a few random ones.
fn param_sets() -> Vec<Int8LeakyRelu> {
    let mut v = vec![
        (0.01, q(1.0, 0), q(1.0, 0)),
        (0.01, q(0.5, 128), q(0.5, 128)),
        (0.25, q(0.1, 100), q(0.2, 30)),
        (0.5, q(1.0, 255), q(1.0 / 255.0, 3)),
        (1.0, q(0.02, 7), q(0.01, 250)),
        (0.999, q(2.0, 128), q(2.0f32 * 255.99, 0)),
        (f32::MIN_POSITIVE, q(1.0, 200), q(1.0, 20)),
        (0.3, q(1.0, 90), q(255.9, 90)),
        (0.75, q(255.9, 90), q(1.0, 90)),
        // Ratio 1.25: ties on both sides of the zero point (a form with a fix).
        (0.01, q(0.05, 120), q(0.04, 100)),
        (0.2, q(0.5, 128), q(0.4, 64)),
        // Alpha 0.5 (the negative side's fix) and ratio 17/16 (no form).
        (0.5, q(1.0, 128), q(1.0, 128)),
        (0.01, q(1.0625, 128), q(1.0, 128)),
    ];
    let mut rng = Rng(0x1ea4);
    let n = if light() { 4 } else { 24 };
    for _ in 0..n {
        let alpha = (rng.below(1000) + 1) as f32 / 1000.0;
        let sx = (rng.below(5000) + 1) as f32 / 997.0;
        let sy = sx * (rng.below(400) + 10) as f32 / 100.0;
        v.push((
            alpha,
            q(sx, rng.next_u64() as u8),
            q(sy, rng.next_u64() as u8),
        ));
    }
    v.into_iter()
        .map(|(a, x, y)| Int8LeakyRelu::new(a, x, y).unwrap())
        .collect()
}

fn expect(op: &Int8LeakyRelu, x: &[u8]) -> Vec<u8> {
    x.iter().map(|&v| op.table()[usize::from(v)]).collect()
}

/// Values worked out by hand from the formula (not from the implementation).
#[test]
fn table_by_hand() {
    // Same scales and zero point 128, alpha 1/4: above the zero point the identity,
    // below it the distance to 128 divided by 4, ties to even.
    let op = Int8LeakyRelu::new(0.25, q(0.5, 128), q(0.5, 128)).unwrap();
    let t = op.table();
    assert_eq!(t[0], 96); // -128 / 4 = -32
    assert_eq!(t[120], 126); // -8 / 4 = -2
    assert_eq!(t[126], 128); // -2 / 4 = -0.5 -> -0 (tie to even)
    assert_eq!(t[122], 126); // -6 / 4 = -1.5 -> -2 (tie to even)
    assert_eq!(t[118], 126); // -10 / 4 = -2.5 -> -2 (tie to even)
    assert_eq!(t[127], 128); // -0.25 -> 0
    assert_eq!(t[125], 127); // -0.75 -> -1
    for (i, &v) in t.iter().enumerate().skip(128) {
        assert_eq!(v, i as u8);
    }
    // Output scale twice the input's: values halve, ties to even; zero points 0.
    let op = Int8LeakyRelu::new(0.5, q(1.0, 0), q(2.0, 0)).unwrap();
    let t = op.table();
    assert_eq!(&t[..8], &[0, 0, 1, 2, 2, 2, 3, 4]); // 0, .5, 1, 1.5, 2, 2.5, 3, 3.5
    assert_eq!(t[255], 128); // 127.5 -> 128 (tie to even)
    // Output scale half the input's: values double and saturate at 255 - zero point.
    let op = Int8LeakyRelu::new(0.5, q(1.0, 10), q(0.5, 20)).unwrap();
    let t = op.table();
    assert_eq!(t[10], 20);
    assert_eq!(t[11], 22);
    assert_eq!(t[127], 254); // 2 * 117 = 234, + 20
    assert_eq!(t[128], 255); // 236 + 20 = 256, clamped to 235 + 20
    assert_eq!(t[255], 255);
    assert_eq!(t[0], 10); // 2 * -10 * 0.5 = -10, + 20
    // The clamp below: a zero point of 0 on the output leaves nothing below 0.
    let op = Int8LeakyRelu::new(1.0, q(1.0, 200), q(1.0, 0)).unwrap();
    let t = op.table();
    assert!(t[..=200].iter().all(|&b| b == 0));
    assert_eq!(t[201], 1);
}

/// What the formula implies for every parameter set: the table never decreases, the
/// input's zero point maps to the output's, inputs at or above it are the real value
/// requantized without the slope, and with equal quantizations those are the identity.
#[test]
fn table_properties() {
    for op in param_sets() {
        let t = op.table();
        let (x, y) = (op.input(), op.output());
        assert!(t.windows(2).all(|w| w[0] <= w[1]), "{op:?}");
        assert_eq!(t[usize::from(x.zero_point)], y.zero_point, "{op:?}");
        for (i, &v) in t.iter().enumerate().skip(usize::from(x.zero_point)) {
            // Real value over the output scale, in f64 (exact up to the f32 rounding
            // of the ratio and the product, which can move a result by one code only
            // at a tie).
            let real = f64::from(x.scale / y.scale) * (i as f64 - f64::from(x.zero_point));
            let want = (real.round() + f64::from(y.zero_point)).clamp(0.0, 255.0);
            assert!(
                (f64::from(v) - want).abs() <= 1.0,
                "{op:?} i {i}: {v} vs {want}"
            );
        }
        if x == y {
            for (i, &v) in t.iter().enumerate().skip(usize::from(x.zero_point)) {
                assert_eq!(v, i as u8, "{op:?}");
            }
        }
    }
}

/// All 256 values (in several orders) under every parameter set, every ISA, out of
/// place and in place.
#[test]
fn every_value_on_every_isa() {
    let ordered: Vec<u8> = (0..=255).collect();
    let scrambled: Vec<u8> = (0..=255u32).map(|i| (i * 167 + 13) as u8).collect();
    let repeated: Vec<u8> = (0..4096u32).map(|i| ((i * 97) >> 3) as u8).collect();
    for op in param_sets() {
        for isa in Isa::available() {
            for x in [&ordered, &scrambled, &repeated] {
                let want = expect(&op, x);
                let mut y = vec![0xA5; x.len()];
                op.forward_with(x, &mut y, isa, Threads::Serial).unwrap();
                assert_eq!(y, want, "{isa} {op:?}");
                let mut z = x.clone();
                op.forward_in_place_with(&mut z, isa, Threads::Serial)
                    .unwrap();
                assert_eq!(z, want, "{isa} {op:?} in place");
            }
        }
    }
}

/// The linear form (`has_linear_form`, which the AVX2 kernel evaluates instead of
/// looking up): calibration-like parameters have one, parameters whose table rounds
/// exact ties to even (which the form rounds up) have none, and the parameter sets
/// above hold both kinds. Then many random parameter sets, all 256 values on every
/// ISA: whichever path a set takes, the table's bytes.
#[test]
fn linear_form_or_lookup_same_bytes() {
    // 0.05 / 0.043 and 0.01 have no short binary expansion: no exact ties.
    assert!(
        Int8LeakyRelu::new(0.01, q(0.05, 120), q(0.043, 100))
            .unwrap()
            .has_linear_form()
    );
    // Ratio 1.25 (0.05 / 0.04): exact ties above the zero point every fourth input,
    // half of them rounded down to even; the form carries them as its fix.
    assert!(
        Int8LeakyRelu::new(0.01, q(0.05, 120), q(0.04, 100))
            .unwrap()
            .has_linear_form()
    );
    // Same scales, alpha 1/2: (i - 128) / 2 is an exact tie for every odd i below
    // 128, rounding up and down in turn; the form's fix below the zero point.
    assert!(
        Int8LeakyRelu::new(0.5, q(1.0, 128), q(1.0, 128))
            .unwrap()
            .has_linear_form()
    );
    // Ratio 17/16: ties at every 16th input whose rounding repeats every 32; no
    // linear form, but a corrected one (the ties the table rounds down mapped).
    let op = Int8LeakyRelu::new(0.01, q(1.0625, 128), q(1.0, 128)).unwrap();
    assert!(!op.has_linear_form() && op.has_corrected_form());
    let sets = param_sets();
    let linear = sets.iter().filter(|op| op.has_linear_form()).count();
    assert!(
        linear > 0 && linear < sets.len(),
        "{linear} of {}",
        sets.len()
    );

    let scrambled: Vec<u8> = (0..=255u32).map(|i| (i * 167 + 13) as u8).collect();
    let mut rng = Rng(0x11ea);
    let n = if light() { 40 } else { 400 };
    let mut linear = 0;
    for _ in 0..n {
        let alpha = (rng.below(999) + 1) as f32 / 1000.0;
        let sx = (rng.below(100_000) + 1) as f32 * 1e-5;
        let sy = (rng.below(100_000) + 1) as f32 * 1e-5;
        let Ok(op) = Int8LeakyRelu::new(
            alpha,
            q(sx, rng.next_u64() as u8),
            q(sy, rng.next_u64() as u8),
        ) else {
            continue; // a ratio outside QNNPACK's range
        };
        linear += usize::from(op.has_linear_form());
        let want = expect(&op, &scrambled);
        for isa in Isa::available() {
            let mut y = vec![0; 256];
            op.forward_with(&scrambled, &mut y, isa, Threads::Serial)
                .unwrap();
            assert_eq!(y, want, "{isa} {op:?}");
        }
    }
    // Random scales rarely make exact ties: most sets have the form.
    assert!(
        linear * 2 > n,
        "{linear} of {n} random sets with a linear form"
    );
}

/// Out of place and in place at `off` bytes past a cache line, with guard bytes
/// around the output that must stay put.
fn check_window(op: &Int8LeakyRelu, isa: Isa, x: &[u8], off: usize, want: &[u8]) {
    let len = x.len();
    let mut buf = vec![0x5Au8; len + 192];
    let s = (64 - buf.as_ptr() as usize % 64) % 64 + off;
    op.forward_with(x, &mut buf[s..s + len], isa, Threads::Serial)
        .unwrap();
    assert_eq!(&buf[s..s + len], want, "{isa} len {len} off {off}");
    assert!(buf[..s].iter().chain(&buf[s + len..]).all(|&b| b == 0x5A));
    buf[s..s + len].copy_from_slice(x);
    op.forward_in_place_with(&mut buf[s..s + len], isa, Threads::Serial)
        .unwrap();
    assert_eq!(&buf[s..s + len], want, "{isa} in place len {len} off {off}");
    assert!(buf[..s].iter().chain(&buf[s + len..]).all(|&b| b == 0x5A));
}

/// Every length 0..=130 at every start offset 0..=63 (short sweeps: fewer), out of
/// place and in place, plus calls long enough for the aligning head.
#[test]
fn every_length_and_offset() {
    let (lens, off_step) = if SHORT_SWEEPS {
        (0..=70usize, 5)
    } else {
        (0..=130usize, 1)
    };
    let ops = param_sets();
    let mut rng = Rng(0x1e4c);
    for isa in Isa::available() {
        for len in lens.clone().chain([511, 512, 513, 1025, 4099]) {
            let x: Vec<u8> = (0..len).map(|_| rng.next_u64() as u8).collect();
            let op = &ops[len % ops.len()];
            let want = expect(op, &x);
            let step = if len > 130 { 7 } else { off_step };
            for off in (0..64).step_by(step) {
                check_window(op, isa, &x, off, &want);
            }
        }
    }
}

#[test]
fn random_lengths() {
    let mut rng = Rng(0x1e9a);
    let ops = param_sets();
    let max = if light() { 20_000 } else { 300_000 };
    for i in 0..if light() { 8 } else { 30 } {
        let len = rng.below(max);
        let op = &ops[i % ops.len()];
        let x: Vec<u8> = (0..len).map(|_| rng.next_u64() as u8).collect();
        let want = expect(op, &x);
        for isa in Isa::available() {
            let mut y = vec![0; len];
            op.forward_with(&x, &mut y, isa, Threads::Serial).unwrap();
            assert_eq!(y, want, "{isa} len {len}");
        }
    }
}

/// Large enough for `Threads::Auto` to split, in a 4-thread pool; and the default
/// dispatch (`forward`, `forward_in_place`).
#[test]
fn threaded_path_and_default_dispatch() {
    // A lower threshold than the default keeps the threaded path cheap to test.
    caffe2op_relu::tuning::set_parallel_min_bytes(2 << 20);
    let len = 3 * (2 << 20) / 2 + 77;
    let mut rng = Rng(4);
    let x: Vec<u8> = (0..len).map(|_| rng.next_u64() as u8).collect();
    let ops = param_sets();
    in_pool(4, || {
        for op in &ops[..3] {
            let want = expect(op, &x);
            for isa in Isa::available() {
                let mut y = vec![0; len];
                op.forward_with(&x, &mut y, isa, Threads::Auto).unwrap();
                assert_eq!(y, want, "{isa}");
                let mut z = x.clone();
                op.forward_in_place_with(&mut z, isa, Threads::Auto)
                    .unwrap();
                assert_eq!(z, want, "{isa} in place");
            }
            let mut y = vec![0; len];
            op.forward(&x, &mut y).unwrap();
            assert_eq!(y, want);
            let mut z = x.clone();
            op.forward_in_place(&mut z);
            assert_eq!(z, want);
        }
    });
}

/// Every out-of-place call streams (threshold 0): aligning head, body, tail.
#[test]
fn streaming_stores() {
    caffe2op_relu::tuning::set_stream_min_bytes(0);
    let mut rng = Rng(0x5e);
    let ops = param_sets();
    for isa in Isa::available() {
        for len in (0..=300).step_by(7).chain([4099, 65_537]) {
            let x: Vec<u8> = (0..len).map(|_| rng.next_u64() as u8).collect();
            let op = &ops[len % ops.len()];
            let want = expect(op, &x);
            for off in (0..64).step_by(3) {
                let mut buf = vec![0x5Au8; len + 192];
                let s = (64 - buf.as_ptr() as usize % 64) % 64 + off;
                op.forward_with(&x, &mut buf[s..s + len], isa, Threads::Serial)
                    .unwrap();
                assert_eq!(&buf[s..s + len], &want[..], "{isa} len {len} off {off}");
                assert!(buf[..s].iter().chain(&buf[s + len..]).all(|&b| b == 0x5A));
            }
        }
    }
    caffe2op_relu::tuning::set_stream_min_bytes(caffe2op_relu::tuning::DEFAULT_STREAM_MIN_BYTES);
}

fn refused_param(r: Result<Int8LeakyRelu, Error>) -> &'static str {
    match r {
        Err(Error::InvalidParameter { name, .. }) => name,
        other => panic!("expected InvalidParameter, got {other:?}"),
    }
}

/// QNNPACK's refusals, each naming the parameter.
#[test]
fn parameters_refused_as_qnnpack() {
    let ok = q(1.0, 0);
    for alpha in [
        0.0,
        -0.0,
        -0.5,
        1.0000001,
        2.0,
        f32::NAN,
        f32::INFINITY,
        f32::from_bits(1), // subnormal
    ] {
        assert_eq!(
            refused_param(Int8LeakyRelu::new(alpha, ok, ok)),
            "alpha",
            "{alpha}"
        );
    }
    for s in [0.0, -1.0, f32::NAN, f32::INFINITY, f32::from_bits(7)] {
        assert_eq!(
            refused_param(Int8LeakyRelu::new(0.5, q(s, 0), ok)),
            "x_scale"
        );
        assert_eq!(
            refused_param(Int8LeakyRelu::new(0.5, ok, q(s, 0))),
            "y_scale"
        );
    }
    // The ratio: 2^8 and above, below 2^-8.
    for (sx, sy) in [(256.0, 1.0), (1.0, 256.1), (1e6, 1.0)] {
        assert_eq!(
            refused_param(Int8LeakyRelu::new(0.5, q(sx, 0), q(sy, 0))),
            "x_scale / y_scale",
            "{sx} {sy}"
        );
    }
    // Just inside both ends.
    assert!(Int8LeakyRelu::new(0.5, q(1.0, 0), q(256.0, 0)).is_ok());
    assert!(Int8LeakyRelu::new(0.5, q(255.99, 0), q(1.0, 0)).is_ok());
    assert!(Int8LeakyRelu::new(1.0, ok, ok).is_ok());
}

#[test]
fn refused_calls_write_nothing() {
    let op = Int8LeakyRelu::new(0.1, q(1.0, 100), q(1.0, 100)).unwrap();
    let x = vec![3u8; 10];
    for isa in Isa::available() {
        for n in [0usize, 9, 11] {
            let mut y = vec![0xEE; n];
            assert_eq!(
                op.forward_with(&x, &mut y, isa, Threads::Auto).unwrap_err(),
                Error::LengthMismatch {
                    arg: "y",
                    expected: 10,
                    found: n
                }
            );
            assert!(y.iter().all(|&b| b == 0xEE));
            assert!(op.forward(&x, &mut y).is_err());
            assert!(y.iter().all(|&b| b == 0xEE));
        }
    }
    for isa in Isa::ALL {
        if !isa.is_available() {
            let mut y = vec![0xEE; 10];
            assert_eq!(
                op.forward_with(&x, &mut y, isa, Threads::Auto).unwrap_err(),
                Error::IsaUnavailable { isa }
            );
            assert!(y.iter().all(|&b| b == 0xEE));
            let mut z = x.clone();
            assert_eq!(
                op.forward_in_place_with(&mut z, isa, Threads::Auto)
                    .unwrap_err(),
                Error::IsaUnavailable { isa }
            );
            assert_eq!(z, x);
        }
    }
}
