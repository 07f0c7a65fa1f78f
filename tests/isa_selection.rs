//! The ISA a kernel reports is the ISA whose code runs: forced ISAs resolve to that
//! ISA's kernel table, and the default dispatch picks the best available one.

mod common;

use caffe2op_relu::{Activation, Error, Isa, Kernel};
use caffe2op_relu_kernels as k;
use common::{isa_table_addrs, table_addrs};

#[test]
fn forced_isa_is_reported_and_resolves_to_its_own_table() {
    for isa in Isa::available() {
        let kern = Kernel::new(Activation::relu()).with_isa(isa).unwrap();
        assert_eq!(kern.isa(), isa);
        // Every available ISA has distinct entry points for f32 and f64.
        for other in Isa::available() {
            if other != isa {
                assert_ne!(
                    isa_table_addrs::<f32>(isa),
                    isa_table_addrs::<f32>(other),
                    "{isa} vs {other}"
                );
                assert_ne!(
                    isa_table_addrs::<f64>(isa),
                    isa_table_addrs::<f64>(other),
                    "{isa} vs {other}"
                );
            }
        }
    }
    assert_eq!(
        isa_table_addrs::<f32>(Isa::Scalar),
        table_addrs(&k::arch::SCALAR.f32)
    );
    #[cfg(target_arch = "x86_64")]
    {
        if Isa::Avx512.is_available() {
            // The 256-bit main loops where the CPU prefers them (`avx512_ymm_loops`).
            let (t32, t64) = if caffe2op_relu::tuning::avx512_ymm_loops() {
                (
                    &k::arch::x86_64::avx512::TABLES_YMM.f32,
                    &k::arch::x86_64::avx512::TABLES_YMM.f64,
                )
            } else {
                (
                    &k::arch::x86_64::avx512::TABLES.f32,
                    &k::arch::x86_64::avx512::TABLES.f64,
                )
            };
            assert_eq!(isa_table_addrs::<f32>(Isa::Avx512), table_addrs(t32));
            assert_eq!(isa_table_addrs::<f64>(Isa::Avx512), table_addrs(t64));
        }
        if Isa::Avx2.is_available() {
            assert_eq!(
                isa_table_addrs::<f32>(Isa::Avx2),
                table_addrs(&k::arch::x86_64::avx2::TABLES.f32)
            );
            assert_eq!(
                isa_table_addrs::<f64>(Isa::Avx2),
                table_addrs(&k::arch::x86_64::avx2::TABLES.f64)
            );
        }
    }
}

#[test]
fn unavailable_isa_is_refused() {
    for isa in Isa::ALL {
        let r = Kernel::new(Activation::relu()).with_isa(isa);
        if isa.is_available() {
            assert!(r.is_ok());
        } else {
            assert_eq!(r.unwrap_err(), Error::IsaUnavailable { isa });
        }
    }
    #[cfg(target_arch = "x86_64")]
    {
        let e = Kernel::new(Activation::relu())
            .with_isa(Isa::Neon)
            .unwrap_err();
        assert!(e.to_string().contains("neon"), "{e}");
    }
}

#[test]
fn names_round_trip() {
    for isa in Isa::ALL {
        assert_eq!(isa.to_string().parse::<Isa>().unwrap(), isa);
        assert_eq!(isa.to_string().to_uppercase().parse::<Isa>().unwrap(), isa);
    }
    assert!("sse9".parse::<Isa>().is_err());
    assert_eq!(
        Isa::ALL.map(|i| i.name()),
        ["scalar", "portable", "avx2", "avx512", "neon", "simd128"]
    );
}

#[test]
fn detected_is_the_best_available() {
    let avail = Isa::available();
    assert!(avail.contains(&Isa::Scalar) && avail.contains(&Isa::Portable));
    assert!(avail.contains(&Isa::detected()));
    #[cfg(not(all(target_arch = "wasm32", target_feature = "simd128")))]
    assert!(!Isa::Simd128.is_available());
    #[cfg(target_arch = "x86_64")]
    {
        assert!(!Isa::Neon.is_available());
        if Isa::Avx512.is_available() {
            assert_eq!(Isa::detected(), Isa::Avx512);
        } else if Isa::Avx2.is_available() {
            assert_eq!(Isa::detected(), Isa::Avx2);
        }
    }
}

/// On aarch64 (under qemu in CI) NEON must be selected and compared, not skipped.
#[cfg(target_arch = "aarch64")]
#[test]
fn neon_is_selected_on_aarch64() {
    assert!(Isa::Neon.is_available());
    assert_eq!(Isa::detected(), Isa::Neon);
    assert!(Isa::available().contains(&Isa::Neon));
    assert_eq!(
        isa_table_addrs::<f32>(Isa::Neon),
        table_addrs(&k::arch::aarch64::neon::TABLES.f32)
    );
    assert_eq!(
        isa_table_addrs::<f64>(Isa::Neon),
        table_addrs(&k::arch::aarch64::neon::TABLES.f64)
    );
    if std::env::var(caffe2op_relu::ISA_ENV_VAR).is_err() {
        assert_eq!(Kernel::new(Activation::relu()).isa(), Isa::Neon);
    }
}

/// In a WebAssembly build with `simd128` (under a WASI runtime in CI), SIMD128 must be
/// selected and compared, not skipped.
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
#[test]
fn simd128_is_selected_on_wasm_with_simd128() {
    assert!(Isa::Simd128.is_available());
    assert_eq!(Isa::detected(), Isa::Simd128);
    assert_eq!(Isa::available(), [Isa::Scalar, Isa::Portable, Isa::Simd128]);
    assert_eq!(
        isa_table_addrs::<f32>(Isa::Simd128),
        table_addrs(&k::arch::wasm32::simd128::TABLES.f32)
    );
    assert_eq!(
        isa_table_addrs::<f64>(Isa::Simd128),
        table_addrs(&k::arch::wasm32::simd128::TABLES.f64)
    );
    if std::env::var(caffe2op_relu::ISA_ENV_VAR).is_err() {
        assert_eq!(Kernel::new(Activation::relu()).isa(), Isa::Simd128);
    }
}

/// In a WebAssembly build without `simd128`, the scalar and portable ISAs only.
#[cfg(all(target_arch = "wasm32", not(target_feature = "simd128")))]
#[test]
fn wasm_without_simd128_has_scalar_and_portable() {
    assert_eq!(Isa::available(), [Isa::Scalar, Isa::Portable]);
    assert_eq!(Isa::detected(), Isa::Portable);
    let e = Kernel::new(Activation::relu())
        .with_isa(Isa::Simd128)
        .unwrap_err();
    assert_eq!(e, Error::IsaUnavailable { isa: Isa::Simd128 });
}
