//! x86_64 kernels: AVX2 (256-bit) and AVX-512 (512-bit, masked tails).

/// [`Vector::leaky_shape`](crate::vector::Vector::leaky_shape) and
/// [`Vector::leaky`](crate::vector::Vector::leaky) for an x86 float register, from its
/// multiply, maximum and minimum intrinsics (`MAXPS`/`MINPS` and kin return their
/// second operand when either is NaN and between two zeros).
macro_rules! minmax_leaky {
    ($T:ty, $mul:ident, $max:ident, $min:ident) => {
        const LEAKY_SHAPES: bool = true;
        fn leaky_shape(a: $T) -> LeakyShape {
            LeakyShape::of(a)
        }
        #[inline(always)]
        unsafe fn leaky(self, a: Self, shape: LeakyShape) -> Self {
            // SAFETY: caller guarantees the ISA. `shape` orders the product against
            // the input (see `LeakyShape`); the input goes second, so NaN payloads
            // and -0.0 pass through. One product and one max/min, where the select
            // costs a compare and a blend besides the product.
            unsafe {
                match shape {
                    LeakyShape::Max => $max($mul(a, self), self),
                    LeakyShape::Min => $min($mul(a, self), self),
                    LeakyShape::Select => {
                        let (negative, product) = self.leaky_parts(a);
                        Self::select(negative, product, self)
                    }
                }
            }
        }
    };
}

pub mod avx2;
pub mod avx512;

/// Whether this CPU is an AMD family 19h part (Zen 3 and Zen 4; of these only Zen 4
/// has AVX-512, and it splits 512-bit operations into two 256-bit halves).
pub fn amd_family_19h() -> bool {
    // Miri cannot run CPUID (and detects no AVX-512 to choose a table for).
    if cfg!(miri) {
        return false;
    }
    // SAFETY: CPUID exists on every x86_64 CPU; leaves 0 and 1 always exist.
    #[allow(unused_unsafe)]
    let (vendor, signature) = unsafe {
        let l0 = core::arch::x86_64::__cpuid(0);
        ([l0.ebx, l0.edx, l0.ecx], core::arch::x86_64::__cpuid(1).eax)
    };
    let amd = vendor == [0x6874_7541, 0x6974_6e65, 0x444d_4163]; // "AuthenticAMD"
    let base = (signature >> 8) & 0xf;
    let family = if base == 0xf {
        base + ((signature >> 20) & 0xff)
    } else {
        base
    };
    amd && family == 0x19
}

/// The size in bytes of one core's level-2 cache on an Intel CPU (CPUID leaf 4, the
/// deterministic cache parameters), or `None` on other vendors, under Miri, or when
/// the CPU does not describe it.
pub fn intel_l2_bytes() -> Option<usize> {
    if cfg!(miri) {
        return None;
    }
    // SAFETY: CPUID exists on every x86_64 CPU; leaf 0 always exists, and leaf 4 is
    // only asked when leaf 0 says it exists.
    #[allow(unused_unsafe)]
    unsafe {
        let l0 = core::arch::x86_64::__cpuid(0);
        let intel = [l0.ebx, l0.edx, l0.ecx] == [0x756e_6547, 0x4965_6e69, 0x6c65_746e]; // "GenuineIntel"
        if !intel || l0.eax < 4 {
            return None;
        }
        // Subleaves list the caches until one of type 0 (none); a handful exist.
        for sub in 0..16 {
            let r = core::arch::x86_64::__cpuid_count(4, sub);
            let kind = r.eax & 0x1f;
            if kind == 0 {
                break;
            }
            let level = (r.eax >> 5) & 0x7;
            // Type 1 is data, 3 unified.
            if level == 2 && (kind == 1 || kind == 3) {
                let ways = ((r.ebx >> 22) & 0x3ff) as usize + 1;
                let partitions = ((r.ebx >> 12) & 0x3ff) as usize + 1;
                let line = (r.ebx & 0xfff) as usize + 1;
                let sets = r.ecx as usize + 1;
                return Some(ways * partitions * line * sets);
            }
        }
        None
    }
}
