//! The ISA registry: one folder per ISA, each exporting one set of [`Tables`] that
//! covers every element type, and [`ISAS`], the one list of them.
//!
//! # Adding an ISA
//! 1. A folder here (`arch/<target>/<isa>/`): `Vector` impls for its registers (the
//!    16-bit float types: a [`crate::half_lanes::Lanes16`] impl for its 16-bit
//!    integer register, used through [`crate::half_lanes::Half`]), one
//!    `kernel_entry_points!` per element type and one `int8_entry_points!`, and an
//!    `ISA` constant ([`IsaDef`]) with its detection and its [`Tables`].
//! 2. Its entry in [`ISAS`] (and a variant of the safe crate's `Isa`, in the same
//!    position).

use crate::Tables;

#[cfg(target_arch = "aarch64")]
pub mod aarch64;
pub mod portable;
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
pub mod wasm32;
#[cfg(target_arch = "x86_64")]
pub mod x86_64;

/// Run-time choices among an ISA's variants. Every variant gives the oracle's bits;
/// they differ in speed only. An ISA without variants ignores them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Tuning {
    /// AVX-512 tables whose main loops run on 256-bit registers (see
    /// `arch::x86_64::avx512`); needs AVX512VL.
    pub avx512_ymm_loops: bool,
    /// AVX-512 bf16 products narrowed with AVX512-BF16's `VCVTNE2PS2BF16`; needs
    /// AVX512-BF16 and DQ.
    pub avx512_bf16_narrowing: bool,
    /// AVX-512 f16 products, float compares and clip bounds computed by
    /// AVX512-FP16's `*PH` instructions; needs AVX512-FP16.
    pub avx512_fp16: bool,
}

/// One ISA: its name, whether this CPU can run it, and its tables.
pub struct IsaDef {
    /// Lowercase name (`"avx2"`), as the safe crate's `Isa` displays and parses it.
    pub name: &'static str,
    /// Whether the running CPU (and this build) can run it. With the `std` feature the
    /// CPU is asked at run time; without it, the build's target features decide.
    pub detect: fn() -> bool,
    /// Which [`Tuning`] choices this CPU supports (only meaningful where `detect`).
    pub tunable: fn() -> Tuning,
    /// The tables for the given choices (those the CPU does not support are ignored).
    /// For an ISA this build lacks: the scalar tables, never to be called as its own.
    pub tables: fn(Tuning) -> &'static Tables,
    /// The oracle's loops as the compiler vectorises them for this ISA (the baseline
    /// its kernels are measured against); the baseline target's for `scalar` and
    /// `portable`.
    pub autovec: &'static Tables,
}

impl IsaDef {
    /// An ISA that this build does not have: never available.
    pub const fn missing(name: &'static str) -> IsaDef {
        IsaDef {
            name,
            detect: never,
            tunable: no_tuning,
            tables: scalar_tables,
            autovec: &SCALAR,
        }
    }
}

fn never() -> bool {
    false
}

/// No [`Tuning`] choice: for ISAs without variants.
pub fn no_tuning() -> Tuning {
    Tuning::default()
}

fn always() -> bool {
    true
}

fn scalar_tables(_: Tuning) -> &'static Tables {
    &SCALAR
}

/// The oracle's slice loops for every type (`scalar`).
pub use crate::oracle::scalar::TABLES as SCALAR;

/// `scalar`: the oracle's slice loops, compiled for the baseline target.
pub const SCALAR_ISA: IsaDef = IsaDef {
    name: "scalar",
    detect: always,
    tunable: no_tuning,
    tables: scalar_tables,
    autovec: &SCALAR,
};

#[cfg(target_arch = "x86_64")]
const AVX2: IsaDef = x86_64::avx2::ISA;
#[cfg(not(target_arch = "x86_64"))]
const AVX2: IsaDef = IsaDef::missing("avx2");

#[cfg(target_arch = "x86_64")]
const AVX512: IsaDef = x86_64::avx512::ISA;
#[cfg(not(target_arch = "x86_64"))]
const AVX512: IsaDef = IsaDef::missing("avx512");

#[cfg(target_arch = "aarch64")]
const NEON: IsaDef = aarch64::neon::ISA;
#[cfg(not(target_arch = "aarch64"))]
const NEON: IsaDef = IsaDef::missing("neon");

#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
const SIMD128: IsaDef = wasm32::simd128::ISA;
#[cfg(not(all(target_arch = "wasm32", target_feature = "simd128")))]
const SIMD128: IsaDef = IsaDef::missing("simd128");

/// Every ISA, from the most portable to the most specialised; the safe crate's `Isa`
/// has one variant per entry, in this order. Every entry exists on every target
/// (one this build lacks is [`IsaDef::missing`]: never detected).
pub static ISAS: [IsaDef; 6] = ISA_DEFS;

/// [`ISAS`] as a constant, for `const fn`s that read a name.
pub const ISA_DEFS: [IsaDef; 6] = [SCALAR_ISA, portable::ISA, AVX2, AVX512, NEON, SIMD128];

/// Asks the CPU for x86 features: at run time with `std`, else from the build.
#[cfg(target_arch = "x86_64")]
macro_rules! x86_has {
    ($($f:tt),+) => {{
        #[cfg(feature = "std")]
        let on = true $(&& std::arch::is_x86_feature_detected!($f))+;
        #[cfg(not(feature = "std"))]
        let on = true $(&& cfg!(target_feature = $f))+;
        on
    }};
}
#[cfg(target_arch = "x86_64")]
pub(crate) use x86_has;

/// Asks the CPU for aarch64 features, as [`x86_has`].
#[cfg(target_arch = "aarch64")]
macro_rules! aarch64_has {
    ($($f:tt),+) => {{
        #[cfg(feature = "std")]
        let on = true $(&& std::arch::is_aarch64_feature_detected!($f))+;
        #[cfg(not(feature = "std"))]
        let on = true $(&& cfg!(target_feature = $f))+;
        on
    }};
}
#[cfg(target_arch = "aarch64")]
pub(crate) use aarch64_has;
