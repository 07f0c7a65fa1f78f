//! Support for the Caffe2 operator-layer tests (`caffe2op_relu::ops`): input values
//! for tensors of every float type the operators run on, the kind of an operator
//! error, and the check that a refused operator leaves the workspace as it was.
//!
//! Random inputs come from the shared [`Rng`]; results are compared with
//! [`assert_bits`](super::assert_bits) from the parent module.

use caffe2op_relu::Element;
use caffe2op_relu::ops::{OperatorDef, TensorElement, Workspace};
use caffe2op_relu::{Error, OpErrorKind};

use super::Rng;

/// The float element types the operators run on, with the inputs the operator tests
/// use: fixed specials around the ReLU6 bound, and random values.
pub trait OpElem: Element + TensorElement {
    /// ±0, ±1, values around 6, ±inf, extremes, subnormals and NaNs with payloads.
    fn specials() -> Vec<Self>;
    /// One time in four any bit pattern, otherwise a value in [-10, 10).
    fn random(rng: &mut Rng) -> Self;
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
        }
    };
}

op_elem_half!(f16);
op_elem_half!(bf16);

/// Tensor data of `n` elements: all of [`OpElem::specials`] first, then random
/// values. Never shorter than the specials, so every special is always covered.
pub fn op_values<T: OpElem>(rng: &mut Rng, n: usize) -> Vec<T> {
    let mut v = T::specials();
    while v.len() < n {
        v.push(T::random(rng));
    }
    v.truncate(n.max(T::specials().len()));
    v
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
