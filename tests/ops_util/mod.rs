//! Shared support for the operator-layer tests (`tests/ops_*.rs`).
#![allow(dead_code)]

use caffe2op_relu::Element;
use caffe2op_relu::ops::{OperatorDef, TensorElement, Workspace};
use caffe2op_relu::{Error, OpErrorKind};

/// splitmix64.
pub struct Rng(pub u64);

impl Rng {
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    /// Uniform in [lo, hi).
    pub fn uniform(&mut self, lo: f64, hi: f64) -> f64 {
        let u = (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64;
        lo + (hi - lo) * u
    }
}

/// The float element types the operators run on today.
pub trait OpElem: Element + TensorElement {
    fn specials() -> Vec<Self>;
    fn random(rng: &mut Rng) -> Self;
    fn bits_u64(self) -> u64;
}

macro_rules! op_elem {
    ($T:ident, $B:ident, $snan:expr, $qnan:expr) => {
        impl OpElem for $T {
            fn specials() -> Vec<$T> {
                vec![
                    0.0,
                    -0.0,
                    1.0,
                    -1.0,
                    0.5,
                    -0.5,
                    6.0,
                    5.999,
                    6.001,
                    7.0,
                    -6.0,
                    0.01,
                    $T::INFINITY,
                    $T::NEG_INFINITY,
                    $T::MAX,
                    $T::MIN,
                    $T::MIN_POSITIVE,
                    -$T::MIN_POSITIVE,
                    $T::from_bits(1),
                    $T::from_bits(1 | (1 << ($B::BITS - 1))),
                    $T::NAN,
                    -$T::NAN,
                    $T::from_bits($snan),
                    $T::from_bits($qnan),
                    $T::from_bits($snan | (1 << ($B::BITS - 1))),
                ]
            }
            fn random(rng: &mut Rng) -> $T {
                match rng.next_u64() % 4 {
                    0 => $T::from_bits(rng.next_u64() as $B),
                    _ => rng.uniform(-10.0, 10.0) as $T,
                }
            }
            fn bits_u64(self) -> u64 {
                self.to_bits() as u64
            }
        }
    };
}

op_elem!(f32, u32, 0x7F80_0001, 0x7FC0_1234);
op_elem!(f64, u64, 0x7FF0_0000_0000_0001, 0x7FF8_0000_0000_1234);

macro_rules! op_elem_half {
    ($T:ident) => {
        impl OpElem for half::$T {
            fn specials() -> Vec<half::$T> {
                let mut v: Vec<half::$T> = [
                    0.0, -0.0, 1.0, -1.0, 0.5, -0.5, 6.0, 5.99, 6.01, 7.0, -6.0, 0.01, 1e-6, -1e-6,
                ]
                .into_iter()
                .map(<half::$T as Element>::from_f64)
                .collect();
                // ±inf, quiet and signalling NaNs with payloads, ±smallest subnormal.
                for bits in [0x7c00u16, 0xfc00, 0x7e00, 0x7c01, 0xfe5a, 0x0001, 0x8001] {
                    v.push(half::$T::from_bits(bits));
                }
                v
            }
            fn random(rng: &mut Rng) -> half::$T {
                match rng.next_u64() % 4 {
                    0 => half::$T::from_bits(rng.next_u64() as u16),
                    _ => <half::$T as Element>::from_f64(rng.uniform(-10.0, 10.0)),
                }
            }
            fn bits_u64(self) -> u64 {
                self.to_bits() as u64
            }
        }
    };
}

op_elem_half!(f16);
op_elem_half!(bf16);

/// `specials` then `n - specials.len()` random values.
pub fn values<T: OpElem>(rng: &mut Rng, n: usize) -> Vec<T> {
    let mut v = T::specials();
    while v.len() < n {
        v.push(T::random(rng));
    }
    v.truncate(n.max(T::specials().len()));
    v
}

/// Asserts bitwise equality with a message naming the first difference.
pub fn assert_bits<T: OpElem>(got: &[T], want: &[T], what: &str) {
    assert_eq!(got.len(), want.len(), "{what}: lengths");
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        assert_eq!(
            g.bits_u64(),
            w.bits_u64(),
            "{what}[{i}]: got {g:?}, want {w:?}"
        );
    }
}

/// The kind of an operator-layer error (panics on other errors).
pub fn kind(e: &Error) -> OpErrorKind {
    match e {
        Error::Operator { kind, .. } => *kind,
        other => panic!("expected an operator error, got {other:?}"),
    }
}

/// Runs `def`, expects a refusal of `want`, and checks that the workspace did not
/// change. Returns the error's message.
pub fn refused(ws: &mut Workspace, def: &OperatorDef, want: OpErrorKind) -> String {
    let before = ws.clone();
    let e = ws
        .run_operator_once(def)
        .expect_err("the operator must be refused");
    assert_eq!(kind(&e), want, "{e}");
    assert!(
        *ws == before,
        "a refused operator changed the workspace: {e}"
    );
    e.to_string()
}
