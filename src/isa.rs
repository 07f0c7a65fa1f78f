//! Instruction-set variants, CPU feature detection and the cached default choice.

use std::fmt;
use std::str::FromStr;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU8, Ordering};

use crate::error::Error;

/// One kernel variant. Every variant exists on every target; [`Isa::is_available`]
/// says whether it can run here.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Isa {
    /// The oracle's slice loop, compiled for the baseline target.
    Scalar,
    /// The `wide` crate's portable SIMD (SSE2 on x86_64, NEON on aarch64, scalar
    /// elsewhere).
    Portable,
    /// x86_64 AVX2 (256-bit).
    Avx2,
    /// x86_64 AVX-512 F + BW (512-bit, masked tails).
    Avx512,
    /// aarch64 NEON (128-bit).
    Neon,
}

impl Isa {
    /// Every variant, from the most portable to the most specialised.
    pub const ALL: [Isa; 5] = [
        Isa::Scalar,
        Isa::Portable,
        Isa::Avx2,
        Isa::Avx512,
        Isa::Neon,
    ];

    /// The lowercase name used by `Display`, `FromStr` and `CAFFE2OP_RELU_ISA`.
    pub const fn name(self) -> &'static str {
        match self {
            Isa::Scalar => "scalar",
            Isa::Portable => "portable",
            Isa::Avx2 => "avx2",
            Isa::Avx512 => "avx512",
            Isa::Neon => "neon",
        }
    }

    /// Whether this CPU and target can run the variant (detected once, then cached
    /// by the standard library's feature cache).
    pub fn is_available(self) -> bool {
        match self {
            Isa::Scalar | Isa::Portable => true,
            #[cfg(target_arch = "x86_64")]
            Isa::Avx2 => {
                // F16C: the f16 kernels' conversions (every AVX2 CPU has it).
                std::arch::is_x86_feature_detected!("avx2")
                    && std::arch::is_x86_feature_detected!("f16c")
            }
            #[cfg(all(target_arch = "x86_64", caffe2op_relu_avx512))]
            Isa::Avx512 => {
                std::arch::is_x86_feature_detected!("avx512f")
                    && std::arch::is_x86_feature_detected!("avx512bw")
            }
            #[cfg(target_arch = "aarch64")]
            Isa::Neon => std::arch::is_aarch64_feature_detected!("neon"),
            #[allow(unreachable_patterns)]
            _ => false,
        }
    }

    /// The variants available here, from the most portable to the best.
    pub fn available() -> Vec<Isa> {
        Isa::ALL.into_iter().filter(|i| i.is_available()).collect()
    }

    /// The best variant this CPU supports (ignores `CAFFE2OP_RELU_ISA`).
    pub fn detected() -> Isa {
        [Isa::Avx512, Isa::Avx2, Isa::Neon, Isa::Portable]
            .into_iter()
            .find(|i| i.is_available())
            .unwrap_or(Isa::Scalar)
    }

    /// `Ok(self)` when available, else [`Error::IsaUnavailable`].
    pub fn check(self) -> Result<Isa, Error> {
        if self.is_available() {
            Ok(self)
        } else {
            Err(Error::IsaUnavailable { isa: self })
        }
    }

    /// The variant the default dispatch uses: [`Isa::detected`], or the one named by
    /// `CAFFE2OP_RELU_ISA` when that is available. Decided on the first call and cached;
    /// afterwards this is one relaxed atomic load.
    #[inline]
    pub fn dispatched() -> Isa {
        match DISPATCHED.load(Ordering::Relaxed) {
            UNDECIDED => decide_dispatch(),
            v => Isa::ALL[v as usize],
        }
    }

    fn index(self) -> u8 {
        self as u8
    }
}

const UNDECIDED: u8 = u8::MAX;
static DISPATCHED: AtomicU8 = AtomicU8::new(UNDECIDED);

/// The environment variable that caps the default dispatch.
pub const ISA_ENV_VAR: &str = "CAFFE2OP_RELU_ISA";

/// The environment variable that turns off the AVX512-BF16 narrowing of bf16 products
/// on [`Isa::Avx512`] when set to `0` (read once per process; see
/// [`avx512_bf16_narrowing`]).
pub const BF16_ENV_VAR: &str = "CAFFE2OP_RELU_AVX512BF16";

/// Whether the [`Isa::Avx512`] bf16 kernels narrow products (leaky_relu and its
/// gradient) with AVX512-BF16's `VCVTNE2PS2BF16`: true when this CPU has AVX512-BF16
/// and DQ (besides F and BW) and [`BF16_ENV_VAR`] is not `0`. Both forms give the
/// oracle's bits; the other rounds in integer arithmetic. Decided once and cached.
pub fn avx512_bf16_narrowing() -> bool {
    static ON: OnceLock<bool> = OnceLock::new();
    *ON.get_or_init(|| {
        let off = std::env::var_os(BF16_ENV_VAR).is_some_and(|v| v == "0");
        !off && bf16_narrowing_available()
    })
}

#[cfg(all(target_arch = "x86_64", caffe2op_relu_avx512))]
fn bf16_narrowing_available() -> bool {
    Isa::Avx512.is_available()
        && std::arch::is_x86_feature_detected!("avx512dq")
        && std::arch::is_x86_feature_detected!("avx512bf16")
}

#[cfg(not(all(target_arch = "x86_64", caffe2op_relu_avx512)))]
fn bf16_narrowing_available() -> bool {
    false
}

/// The environment variable that sets whether the [`Isa::Avx512`] f32, f64 and u8
/// kernels run their main loops on 256-bit registers: `1` on, `0` off, unset
/// or anything else: decided by the CPU (see [`avx512_ymm_loops`]).
pub const AVX512_YMM_ENV_VAR: &str = "CAFFE2OP_RELU_AVX512_YMM";

static YMM_LOOPS: AtomicU8 = AtomicU8::new(UNDECIDED);

/// Whether the [`Isa::Avx512`] f32 and f64 kernels run calls of four 512-bit
/// registers and more on 256-bit registers: every forward op (in place up to 32 KiB),
/// relu_grad and relu_n_grad, and leaky_relu_grad from 1 MiB per buffer; the rest
/// stay on 512-bit ones.
/// Needs AVX512VL as well. On by default on AMD family 19h (Zen 4), whose cores
/// split every 512-bit access in two: there the 256-bit loops measured 5-12% faster
/// in L1 when input and output sit at different offsets within a cache line, and up
/// to 8% faster for the gradients at 4-256 MiB. [`AVX512_YMM_ENV_VAR`] overrides the
/// CPU's default when the process first asks; [`set_avx512_ymm_loops`] at any time.
/// The same switch picks Int8Relu's 256-bit AVX-512 table (every call, in place
/// included: its masked tails and stores exist at that width with AVX512VL).
/// Both forms give the oracle's bits. One relaxed atomic load once decided.
#[inline]
pub fn avx512_ymm_loops() -> bool {
    // The decision (request and availability together) is cached, so a call that
    // looks up its table pays one relaxed load.
    match YMM_LOOPS.load(Ordering::Relaxed) {
        UNDECIDED => decide_ymm_loops(),
        v => v == 1,
    }
}

#[cold]
fn decide_ymm_loops() -> bool {
    let on = match std::env::var(AVX512_YMM_ENV_VAR).as_deref() {
        Ok("1") => true,
        Ok("0") => false,
        _ => ymm_loops_preferred(),
    };
    // A racing setter wins over the default.
    let _ = YMM_LOOPS.compare_exchange(
        UNDECIDED,
        (on && ymm_loops_available()) as u8,
        Ordering::Relaxed,
        Ordering::Relaxed,
    );
    YMM_LOOPS.load(Ordering::Relaxed) == 1
}

/// Turns the 256-bit main loops of [`avx512_ymm_loops`] on or off for the whole
/// process (for benchmarking the two against each other; calls already running
/// finish with the table they started with). On a CPU without AVX512VL they stay
/// off.
pub fn set_avx512_ymm_loops(on: bool) {
    YMM_LOOPS.store((on && ymm_loops_available()) as u8, Ordering::Relaxed);
}

#[cfg(all(target_arch = "x86_64", caffe2op_relu_avx512))]
fn ymm_loops_preferred() -> bool {
    caffe2op_relu_kernels::x86_64::amd_family_19h()
}

#[cfg(not(all(target_arch = "x86_64", caffe2op_relu_avx512)))]
fn ymm_loops_preferred() -> bool {
    false
}

/// Whether the 256-bit tables can run here: AVX-512 with VL.
#[cfg(all(target_arch = "x86_64", caffe2op_relu_avx512))]
fn ymm_loops_available() -> bool {
    Isa::Avx512.is_available() && std::arch::is_x86_feature_detected!("avx512vl")
}

#[cfg(not(all(target_arch = "x86_64", caffe2op_relu_avx512)))]
fn ymm_loops_available() -> bool {
    false
}

#[cold]
fn decide_dispatch() -> Isa {
    let best = Isa::detected();
    let chosen = match std::env::var(ISA_ENV_VAR) {
        Err(std::env::VarError::NotPresent) => best,
        Err(std::env::VarError::NotUnicode(v)) => {
            warn_once(&format!(
                "{ISA_ENV_VAR}={v:?} is not valid UTF-8; using {best}"
            ));
            best
        }
        Ok(name) => match name.trim().parse::<Isa>() {
            Ok(isa) if isa.is_available() => isa,
            Ok(isa) => {
                warn_once(&format!(
                    "{ISA_ENV_VAR}={name}: `{isa}` is not available on this CPU; using {best}"
                ));
                best
            }
            Err(e) => {
                warn_once(&format!("{ISA_ENV_VAR}={name}: {e}; using {best}"));
                best
            }
        },
    };
    // Racing first calls all compute the same answer; whoever stores first wins and
    // only that thread prints the warning (see `warn_once`).
    DISPATCHED.store(chosen.index(), Ordering::Relaxed);
    chosen
}

fn warn_once(msg: &str) {
    static WARNED: std::sync::Once = std::sync::Once::new();
    WARNED.call_once(|| eprintln!("caffe2op-relu: {msg}"));
}

impl fmt::Display for Isa {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The error of parsing an [`Isa`] name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseIsaError {
    /// The name that did not parse.
    pub name: String,
}

impl fmt::Display for ParseIsaError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "unknown ISA name {:?} (expected one of scalar, portable, avx2, avx512, neon)",
            self.name
        )
    }
}

impl std::error::Error for ParseIsaError {}

impl FromStr for Isa {
    type Err = ParseIsaError;

    fn from_str(s: &str) -> Result<Isa, ParseIsaError> {
        Isa::ALL
            .into_iter()
            .find(|i| i.name().eq_ignore_ascii_case(s))
            .ok_or_else(|| ParseIsaError {
                name: s.to_string(),
            })
    }
}
