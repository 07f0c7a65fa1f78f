//! The 16-bit float `Vector` impls of each hand-written ISA, one method at a time, on
//! arbitrary registers: `lt`, `gt`, `positive`, `clip_above`, `clip_below`, `relu`,
//! `relu_n`, `in_open`,
//! `mul`, `leaky_parts` and `leaky_parts4` against IEEE
//! semantics computed through the oracle's exact widening.
//!
//! The kernel bodies only ever compare against `+0` and a splatted positive `n`, which
//! the ISAs serve with shortcuts; the exhaustive tests cover those. This test also
//! reaches the general paths (negative, NaN, -0 and mixed-lane right-hand sides), which
//! no kernel call takes today, so that `Vector`'s contract holds for any future body.

#![allow(dead_code)]

use crate::common;

use caffe2op_relu_kernels::half::{Bf16, F16};
use caffe2op_relu_kernels::vector::Vector;
use common::Rng;

/// What a 16-bit float type needs here.
trait Half: Copy {
    fn bits(self) -> u16;
    fn from_bits(b: u16) -> Self;
    fn widen(self) -> f32;
    fn narrow(v: f32) -> Self;
}

impl Half for F16 {
    fn bits(self) -> u16 {
        self.0
    }
    fn from_bits(b: u16) -> Self {
        F16(b)
    }
    fn widen(self) -> f32 {
        self.to_f32()
    }
    fn narrow(v: f32) -> Self {
        F16::from_f32(v)
    }
}

impl Half for Bf16 {
    fn bits(self) -> u16 {
        self.0
    }
    fn from_bits(b: u16) -> Self {
        Bf16(b)
    }
    fn widen(self) -> f32 {
        self.to_f32()
    }
    fn narrow(v: f32) -> Self {
        Bf16::from_f32(v)
    }
}

/// Interesting 16-bit patterns for both formats: zeros, ones, infinities, NaNs of both
/// signs, subnormals, extremes.
const SPECIALS: [u16; 22] = [
    0x0000, 0x8000, 0x3C00, 0xBC00, 0x3F80, 0xBF80, 0x7C00, 0xFC00, 0x7F80, 0xFF80, 0x7E00, 0xFE00,
    0x7C01, 0xFC01, 0x7FC0, 0xFFC1, 0x0001, 0x8001, 0x7BFF, 0xFBFF, 0x7F7F, 0xFF7F,
];

fn pattern(rng: &mut Rng) -> u16 {
    match rng.below(3) {
        0 => SPECIALS[rng.below(SPECIALS.len())],
        _ => rng.next_u64() as u16,
    }
}

/// Results of one register's worth of every op, as bits.
struct Out {
    lt: Vec<u16>,
    gt: Vec<u16>,
    positive: Vec<u16>,
    clip: Vec<u16>,
    clip_below: Vec<u16>,
    relu: Vec<u16>,
    relu_n: Vec<u16>,
    in_open: Vec<u16>,
    mul: Vec<u16>,
    leaky_mask: Vec<u16>,
    leaky_product: Vec<u16>,
    /// `leaky_parts4([b, a, b, -a], b)`: the masks and products of `a` and of `a` with
    /// every sign flipped, one after the other (all four registers differ, so each
    /// one's lanes must reach the block's shared test).
    leaky4_mask: Vec<u16>,
    leaky4_product: Vec<u16>,
}

/// Runs the ops of `V` on `a` and `b` (each `V::LANES` elements).
///
/// # Safety
/// The CPU supports `V`'s ISA (the callers enable it with `target_feature` and check).
#[inline(always)]
unsafe fn run<V: Vector>(a: &[V::Elem], b: &[V::Elem], ones: V::Elem) -> Out
where
    V::Elem: Half,
{
    let n = V::LANES;
    let mut out = Out {
        lt: vec![0; n],
        gt: vec![0; n],
        positive: vec![0; n],
        clip: vec![0; n],
        clip_below: vec![0; n],
        relu: vec![0; n],
        relu_n: vec![0; n],
        in_open: vec![0; n],
        mul: vec![0; n],
        leaky_mask: vec![0; n],
        leaky_product: vec![0; n],
        leaky4_mask: Vec::new(),
        leaky4_product: Vec::new(),
    };
    let mut tmp = vec![V::Elem::from_bits(0); n];
    let mut dump = |v: V, into: &mut Vec<u16>| {
        // SAFETY: `tmp` holds LANES elements.
        unsafe { v.store(tmp.as_mut_ptr()) };
        *into = tmp.iter().map(|e| e.bits()).collect();
    };
    // SAFETY: the slices hold LANES elements each; the ISA is the caller's promise.
    unsafe {
        let (va, vb) = (V::load(a.as_ptr()), V::load(b.as_ptr()));
        let (one, zero) = (V::splat(ones), V::zero());
        dump(V::select(va.lt(vb), one, zero), &mut out.lt);
        dump(V::select(va.gt(vb), one, zero), &mut out.gt);
        dump(V::select(va.positive(), one, zero), &mut out.positive);
        dump(va.clip_above(vb), &mut out.clip);
        dump(va.clip_below(vb), &mut out.clip_below);
        dump(va.relu(), &mut out.relu);
        dump(va.relu_n(vb), &mut out.relu_n);
        dump(V::select(va.in_open(vb), one, zero), &mut out.in_open);
        dump(va.mul(vb), &mut out.mul);
        let (negative, product) = va.leaky_parts(vb);
        dump(V::select(negative, one, zero), &mut out.leaky_mask);
        dump(product, &mut out.leaky_product);
        let flipped: Vec<V::Elem> = a
            .iter()
            .map(|e| V::Elem::from_bits(e.bits() ^ 0x8000))
            .collect();
        let parts = V::leaky_parts4([vb, va, vb, V::load(flipped.as_ptr())], vb);
        for (negative, product) in [parts[1], parts[3]] {
            let mut part = Vec::new();
            dump(V::select(negative, one, zero), &mut part);
            out.leaky4_mask.extend(&part);
            dump(product, &mut part);
            out.leaky4_product.extend(&part);
        }
    }
    out
}

fn check<T: Half>(isa: &str, a: &[T], b: &[T], out: &Out) {
    for i in 0..a.len() {
        let (x, y) = (a[i].widen(), b[i].widen());
        let (xb, yb) = (a[i].bits(), b[i].bits());
        let ctx = format!("{isa} lane {i}: a {xb:#06x} b {yb:#06x}");
        assert_eq!(out.lt[i] == 0xFFFF, x < y, "lt {ctx}");
        assert!(out.lt[i] == 0 || out.lt[i] == 0xFFFF, "lt mask {ctx}");
        assert_eq!(out.gt[i] == 0xFFFF, x > y, "gt {ctx}");
        assert_eq!(out.positive[i] == 0xFFFF, x > 0.0, "positive {ctx}");
        let clip = if x > y { yb } else { xb };
        assert_eq!(out.clip[i], clip, "clip_above {ctx}");
        let clip_below = if x < y { yb } else { xb };
        assert_eq!(out.clip_below[i], clip_below, "clip_below {ctx}");
        let relu = if x < 0.0 { 0 } else { xb };
        assert_eq!(out.relu[i], relu, "relu {ctx}");
        // relu, then the clip (for a negative n this is not the oracle's relu_n, whose
        // n is positive, but it is what `Vector::relu_n` promises for any n).
        let r = if x < 0.0 { 0.0 } else { x };
        let relu_n = if r > y { yb } else { relu };
        assert_eq!(out.relu_n[i], relu_n, "relu_n {ctx}");
        assert_eq!(out.in_open[i] == 0xFFFF, 0.0 < x && x < y, "in_open {ctx}");
        // Both NaN: which payload survives is the hardware's choice of operand order,
        // which no kernel relies on (the parameter is never NaN).
        if !(x.is_nan() && y.is_nan()) {
            assert_eq!(out.mul[i], T::narrow(x * y).bits(), "mul {ctx}");
        }
        // leaky_relu's parts with alpha = b: the mask is x < 0, and the product is
        // only promised on those lanes.
        assert_eq!(out.leaky_mask[i] == 0xFFFF, x < 0.0, "leaky mask {ctx}");
        if x < 0.0 && !y.is_nan() {
            assert_eq!(
                out.leaky_product[i],
                T::narrow(y * x).bits(),
                "leaky product {ctx}"
            );
        }
        let minus_x = T::from_bits(xb ^ 0x8000).widen();
        for (k, x) in [(i, x), (i + a.len(), minus_x)] {
            assert_eq!(out.leaky4_mask[k] == 0xFFFF, x < 0.0, "leaky4 mask {ctx}");
            if x < 0.0 && !y.is_nan() {
                assert_eq!(
                    out.leaky4_product[k],
                    T::narrow(y * x).bits(),
                    "leaky4 product {ctx}"
                );
            }
        }
    }
}

/// Registers of random lanes, with `b` sometimes one splatted value (like a parameter)
/// of any sign, and sometimes equal to `a` lane by lane or with the signs flipped.
fn sweep<T: Half>(lanes: usize, rounds: usize, mut f: impl FnMut(&[T], &[T]) -> Out, isa: &str) {
    let mut rng = Rng(0xc0de ^ lanes as u64);
    for r in 0..rounds {
        let a: Vec<T> = (0..lanes)
            .map(|_| T::from_bits(pattern(&mut rng)))
            .collect();
        let b: Vec<T> = match r % 4 {
            0 => vec![T::from_bits(pattern(&mut rng)); lanes],
            1 => a.iter().map(|v| T::from_bits(v.bits() ^ 0x8000)).collect(),
            2 => a.clone(),
            _ => (0..lanes)
                .map(|_| T::from_bits(pattern(&mut rng)))
                .collect(),
        };
        let out = f(&a, &b);
        check(isa, &a, &b, &out);
    }
}

fn rounds() -> usize {
    if common::light() { 3_000 } else { 40_000 }
}

#[cfg(target_arch = "x86_64")]
mod x86 {
    use super::*;
    use caffe2op_relu_kernels::arch::x86_64::avx2::half::{Bf16x16, F16x16};

    #[target_feature(enable = "avx2,f16c")]
    unsafe fn avx2_f16(a: &[F16], b: &[F16]) -> Out {
        // SAFETY: this function is only called after detecting AVX2 and F16C.
        unsafe { run::<F16x16>(a, b, F16(0xFFFF)) }
    }

    #[target_feature(enable = "avx2")]
    unsafe fn avx2_bf16(a: &[Bf16], b: &[Bf16]) -> Out {
        // SAFETY: this function is only called after detecting AVX2.
        unsafe { run::<Bf16x16>(a, b, Bf16(0xFFFF)) }
    }

    #[test]
    fn avx2_half_vector_ops() {
        if !(is_x86_feature_detected!("avx2") && is_x86_feature_detected!("f16c")) {
            return;
        }
        // SAFETY: AVX2 and F16C detected above.
        sweep::<F16>(16, rounds(), |a, b| unsafe { avx2_f16(a, b) }, "avx2 f16");
        // SAFETY: as above.
        sweep::<Bf16>(16, rounds(), |a, b| unsafe { avx2_bf16(a, b) }, "avx2 bf16");
    }
    mod avx512 {
        use super::*;
        use caffe2op_relu_kernels::arch::x86_64::avx512::half::{
            Bf16x32, Bf16x32Ne, F16x32, F16x32Ph,
        };

        #[target_feature(enable = "avx512f,avx512bw")]
        unsafe fn f16(a: &[F16], b: &[F16]) -> Out {
            // SAFETY: only called after detecting AVX512F and AVX512BW.
            unsafe { run::<F16x32>(a, b, F16(0xFFFF)) }
        }

        #[target_feature(enable = "avx512f,avx512bw")]
        unsafe fn bf16(a: &[Bf16], b: &[Bf16]) -> Out {
            // SAFETY: only called after detecting AVX512F and AVX512BW.
            unsafe { run::<Bf16x32>(a, b, Bf16(0xFFFF)) }
        }

        #[target_feature(enable = "avx512f,avx512bw,avx512fp16")]
        unsafe fn f16_ph(a: &[F16], b: &[F16]) -> Out {
            // SAFETY: only called after detecting AVX512F, BW and FP16.
            unsafe { run::<F16x32Ph>(a, b, F16(0xFFFF)) }
        }

        #[target_feature(enable = "avx512f,avx512bw,avx512dq,avx512bf16")]
        unsafe fn bf16_ne(a: &[Bf16], b: &[Bf16]) -> Out {
            // SAFETY: only called after detecting AVX512F, BW, DQ and BF16.
            unsafe { run::<Bf16x32Ne>(a, b, Bf16(0xFFFF)) }
        }

        #[test]
        fn avx512_half_vector_ops() {
            if !(is_x86_feature_detected!("avx512f") && is_x86_feature_detected!("avx512bw")) {
                return;
            }
            // SAFETY: AVX512F and AVX512BW detected above.
            sweep::<F16>(32, rounds(), |a, b| unsafe { f16(a, b) }, "avx512 f16");
            // SAFETY: as above.
            sweep::<Bf16>(32, rounds(), |a, b| unsafe { bf16(a, b) }, "avx512 bf16");
            if is_x86_feature_detected!("avx512dq") && is_x86_feature_detected!("avx512bf16") {
                // SAFETY: AVX512F, BW, DQ and BF16 detected.
                sweep::<Bf16>(
                    32,
                    rounds(),
                    |a, b| unsafe { bf16_ne(a, b) },
                    "avx512 bf16 ne",
                );
            }
            if is_x86_feature_detected!("avx512fp16") {
                // SAFETY: AVX512F, BW and FP16 detected.
                sweep::<F16>(
                    32,
                    rounds(),
                    |a, b| unsafe { f16_ph(a, b) },
                    "avx512 f16 ph",
                );
            }
        }
    }
}

#[cfg(target_arch = "aarch64")]
mod arm {
    use super::*;
    use caffe2op_relu_kernels::arch::aarch64::neon::half::{Bf16x8, F16x8};

    #[test]
    fn neon_half_vector_ops() {
        assert!(std::arch::is_aarch64_feature_detected!("neon"));
        // SAFETY: NEON is present (asserted above; it is part of aarch64 Linux).
        sweep::<F16>(
            8,
            rounds(),
            |a, b| unsafe { run::<F16x8>(a, b, F16(0xFFFF)) },
            "neon f16",
        );
        // SAFETY: as above.
        sweep::<Bf16>(
            8,
            rounds(),
            |a, b| unsafe { run::<Bf16x8>(a, b, Bf16(0xFFFF)) },
            "neon bf16",
        );
    }
}

#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
mod wasm {
    use super::*;
    use caffe2op_relu_kernels::arch::wasm32::simd128::half::{Bf16x16, F16x16};

    #[test]
    fn simd128_half_vector_ops() {
        // SAFETY: the build has SIMD128 (this module's cfg), so every engine that runs
        // the module has it.
        sweep::<F16>(
            16,
            rounds(),
            |a, b| unsafe { run::<F16x16>(a, b, F16(0xFFFF)) },
            "simd128 f16",
        );
        // SAFETY: as above.
        sweep::<Bf16>(
            16,
            rounds(),
            |a, b| unsafe { run::<Bf16x16>(a, b, Bf16(0xFFFF)) },
            "simd128 bf16",
        );
    }
}
