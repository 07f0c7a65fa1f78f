//! Instruction-set variants and the cached default choice. What each variant is (its
//! name, its detection, its tables) is the kernels crate's ISA registry
//! (`caffe2op_relu_kernels::ISAS`); this enum names its entries, in the same order.

use std::fmt;
use std::str::FromStr;
use std::sync::atomic::{AtomicPtr, AtomicU8, Ordering};

use caffe2op_relu_kernels::{self as k, IsaDef, Tables};

use crate::error::Error;
use crate::tuning;

/// One kernel variant. Every variant exists on every target; [`Isa::is_available`]
/// says whether it can run here.
///
/// `#[non_exhaustive]`: a new ISA is a new variant, not a breaking change; a `match`
/// on `Isa` outside this crate needs a wildcard arm.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum Isa {
    /// The oracle's slice loop, compiled for the baseline target.
    Scalar,
    /// The `wide` crate's portable SIMD (SSE2 on x86_64, NEON on aarch64, SIMD128 on
    /// wasm32 builds with `simd128`, scalar elsewhere).
    Portable,
    /// x86_64 AVX2 (256-bit).
    Avx2,
    /// x86_64 AVX-512 F + BW (512-bit, masked tails).
    Avx512,
    /// aarch64 NEON (128-bit).
    Neon,
    /// WebAssembly SIMD128 (128-bit): available in builds for `wasm32` whose target
    /// features include `simd128` (`-C target-feature=+simd128`); WebAssembly has no
    /// run-time detection.
    Simd128,
}

impl Isa {
    /// Every variant, from the most portable to the most specialised.
    pub const ALL: [Isa; 6] = [
        Isa::Scalar,
        Isa::Portable,
        Isa::Avx2,
        Isa::Avx512,
        Isa::Neon,
        Isa::Simd128,
    ];

    /// The lowercase name used by `Display`, `FromStr` and `CAFFE2OP_RELU_ISA`.
    pub const fn name(self) -> &'static str {
        k::ISA_DEFS[self as usize].name
    }

    /// The kernels crate's registry entry of this variant.
    #[doc(hidden)]
    pub fn def(self) -> &'static IsaDef {
        &k::ISAS[self as usize]
    }

    /// Whether this CPU and target can run the variant (detected once, then cached
    /// by the standard library's feature cache).
    pub fn is_available(self) -> bool {
        (self.def().detect)()
    }

    /// The variant's tables, with the tuning choices in force ([`crate::tuning`]).
    /// Having tables does not mean the CPU can run them: check
    /// [`Isa::is_available`] first.
    #[doc(hidden)]
    #[inline]
    pub fn tables(self) -> &'static Tables {
        // Cached per ISA (one relaxed load), as the default dispatch's: asking the
        // registry on every call cost a few nanoseconds, a tenth of a 4 KiB call.
        cached(&ISA_TABLES[self as usize], || {
            (self.def().tables)(tuning::current())
        })
    }

    /// The variants available here, from the most portable to the best.
    pub fn available() -> Vec<Isa> {
        Isa::ALL.into_iter().filter(|i| i.is_available()).collect()
    }

    /// The best variant this CPU supports (ignores `CAFFE2OP_RELU_ISA`): the last
    /// available one in registry order.
    pub fn detected() -> Isa {
        Isa::ALL
            .into_iter()
            .rev()
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
/// The tables of [`Isa::dispatched`] with the tuning in force: null until decided,
/// then always a `&'static Tables` (memchr's cached-pointer pattern).
static DISPATCHED_TABLES: AtomicPtr<Tables> = AtomicPtr::new(std::ptr::null_mut());

/// Each ISA's tables with the tuning in force, once asked for (null before).
static ISA_TABLES: [AtomicPtr<Tables>; 6] = [const { AtomicPtr::new(std::ptr::null_mut()) }; 6];

const _: () = assert!(Isa::ALL.len() == ISA_TABLES.len() && Isa::ALL.len() == k::ISA_DEFS.len());

/// The tables cached in `slot`, or `decide()`'s, stored there: one relaxed load once
/// decided. Racing first calls store the same answer. The deciding is out of line
/// ([`decide_into`]), so the load and its test are all a call inlines: with the
/// deciding inlined, the function that held it saved six registers on every call
/// (`Kernel::tables`, about a fifth of a 32-element bf16 relu call on Zen 4).
#[inline(always)]
fn cached(slot: &AtomicPtr<Tables>, decide: impl FnOnce() -> &'static Tables) -> &'static Tables {
    let p = slot.load(Ordering::Relaxed);
    if p.is_null() {
        return decide_into(slot, decide);
    }
    // SAFETY: the only non-null values ever stored are `&'static Tables` cast to a
    // pointer (in `decide_into`), and nothing writes through it.
    unsafe { &*p }
}

/// `decide()`'s tables, stored in `slot` ([`cached`]'s first call).
#[cold]
#[inline(never)]
fn decide_into(
    slot: &AtomicPtr<Tables>,
    decide: impl FnOnce() -> &'static Tables,
) -> &'static Tables {
    let t = decide();
    slot.store(std::ptr::from_ref(t).cast_mut(), Ordering::Relaxed);
    t
}

/// The tables of the default dispatch: one relaxed load once decided.
#[inline]
pub(crate) fn dispatched_tables() -> &'static Tables {
    cached(&DISPATCHED_TABLES, || Isa::dispatched().tables())
}

/// Forgets the cached tables after a tuning change, so the next call asks again
/// (calls already running finish with the tables they started with; a call deciding
/// at the same moment may keep the previous choice, which gives the same bits).
pub(crate) fn refresh_dispatch() {
    for slot in &ISA_TABLES {
        slot.store(std::ptr::null_mut(), Ordering::Relaxed);
    }
    DISPATCHED_TABLES.store(std::ptr::null_mut(), Ordering::Relaxed);
}

/// The environment variable that caps the default dispatch.
pub const ISA_ENV_VAR: &str = "CAFFE2OP_RELU_ISA";

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
            "unknown ISA name {:?} (expected one of {})",
            self.name,
            Isa::ALL.map(Isa::name).join(", ")
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
