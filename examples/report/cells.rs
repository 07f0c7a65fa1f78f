//! What is measured: the six functions, the kinds of cell (the crate's kernel, the
//! compiler's loop, `copy_from_slice`, Int8Relu) and the cell sets of each mode.

use caffe2op_relu::{Activation, Isa, Kernel, Op, Threads};

/// Whether the ISA registry gives `isa` a compiler loop of its own (its features'
/// vectorisation of the oracle), not the baseline target's: the ISAs with
/// hand-written kernels to compare against it.
pub fn own_compiler_loop(isa: Isa) -> bool {
    !std::ptr::eq(isa.def().autovec, &caffe2op_relu_kernels::arch::SCALAR)
}

/// The ISA whose compiler loop is `isa`'s baseline: its own, or the baseline
/// target's (`scalar`) for the ISAs without one.
pub fn loop_isa(isa: Isa) -> Isa {
    if own_compiler_loop(isa) {
        isa
    } else {
        Isa::Scalar
    }
}

/// The six functions.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Func {
    pub op: Op,
    pub grad: bool,
}

impl Func {
    /// Every op of the registry, forward then backward.
    pub fn all() -> Vec<Func> {
        let fwd = Op::ALL.map(|op| Func { op, grad: false });
        fwd.into_iter()
            .chain(Op::ALL.map(|op| Func { op, grad: true }))
            .collect()
    }
    pub fn name(self) -> String {
        if self.grad {
            format!("{}_grad", self.op.name())
        } else {
            self.op.name().to_string()
        }
    }
    pub fn act(self) -> Activation {
        Activation::caffe2_default(self.op).expect("every op has Caffe2 defaults")
    }
    /// Buffers streamed per element (inputs + output).
    pub fn streams(self) -> usize {
        if self.grad { 3 } else { 2 }
    }
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Kind {
    /// The crate's kernel, out of place.
    Hand,
    /// The crate's kernel, in place (forward: x = f(x); backward: dy = f'(y) dy).
    HandInPlace,
    /// The compiler-vectorised oracle for the ISA, out of place.
    Naive,
    /// The compiler-vectorised oracle for the ISA, in place.
    NaiveInPlace,
    /// `copy_from_slice` of one buffer.
    Memcpy,
    /// Int8Relu (u8), out of place.
    Int8,
    /// Int8Relu in place.
    Int8InPlace,
    /// The naive Int8Relu loop.
    Int8Naive,
    /// The 16-bit types' conversions alone, widen and narrow (`autovec::round_trip`):
    /// the roof of their products, in the leaky_relu and leaky_relu_grad tables
    /// (the gradient's row converts dy into dx, so it moves two buffers, not three).
    RoundTrip,
}

impl Kind {
    /// Whether the cell's call overwrites its own input, so that calls repeated on one
    /// buffer see the previous call's output (for relu, relu_n, clip and Int8Relu:
    /// values with nothing left to change).
    pub fn in_place(self) -> bool {
        matches!(
            self,
            Kind::HandInPlace | Kind::NaiveInPlace | Kind::Int8InPlace
        )
    }
}

#[derive(Clone, Copy, Debug)]
pub struct Cell {
    pub func: Func,
    pub kind: Kind,
    pub isa: Isa,
    pub threads: Threads,
    /// The kernel the cell calls, built once: the timed loop measures calls, not the
    /// building of a `Kernel` (a few ns, which moved 4 KiB results by up to 20%).
    pub kernel: Kernel,
}

impl Cell {
    pub fn new(func: Func, kind: Kind, isa: Isa, threads: Threads) -> Cell {
        let kernel = Kernel::new(func.act())
            .with_threads(threads)
            .with_isa(isa)
            .expect("only available ISAs are measured");
        Cell {
            func,
            kind,
            isa,
            threads,
            kernel,
        }
    }

    /// `copy_from_slice`, the roof every table compares with.
    pub fn memcpy() -> Cell {
        Cell::new(Func::all()[0], Kind::Memcpy, Isa::Scalar, Threads::Serial)
    }

    pub fn label(&self) -> String {
        let t = if self.threads == Threads::Auto {
            "+auto"
        } else {
            ""
        };
        match self.kind {
            Kind::Hand => format!("{}{t}", self.isa),
            Kind::HandInPlace => format!("{} in-place{t}", self.isa),
            Kind::Naive => format!("naive-{}", self.isa),
            Kind::NaiveInPlace => format!("naive-{} in-place", self.isa),
            Kind::Memcpy => "memcpy".into(),
            Kind::Int8 => format!("{}{t}", self.isa),
            Kind::Int8InPlace => format!("{} in-place", self.isa),
            Kind::Int8Naive => "naive-scalar".into(),
            Kind::RoundTrip => format!("convert-only-{}", self.isa),
        }
    }

    /// Bytes moved by one call on `n` elements of `s` bytes.
    pub fn bytes_moved(&self, n: usize, s: usize) -> usize {
        match self.kind {
            Kind::Memcpy | Kind::Int8 | Kind::Int8InPlace | Kind::Int8Naive | Kind::RoundTrip => {
                2 * n * s
            }
            _ => self.func.streams() * n * s,
        }
    }
}

/// The full run's float cells: each ISA serial, `Threads::Auto` and in place, and the
/// compiler's loops (out of place and in place) of the ISAs that have one and of the
/// baseline target.
pub fn full(isas: &[Isa]) -> Vec<Cell> {
    let mut v = Vec::new();
    for func in Func::all() {
        for &isa in isas {
            for threads in [Threads::Serial, Threads::Auto] {
                v.push(Cell::new(func, Kind::Hand, isa, threads));
            }
            v.push(Cell::new(func, Kind::HandInPlace, isa, Threads::Serial));
            if isa == Isa::Scalar || own_compiler_loop(isa) {
                v.push(Cell::new(func, Kind::Naive, isa, Threads::Serial));
                if !func.grad {
                    v.push(Cell::new(func, Kind::NaiveInPlace, isa, Threads::Serial));
                }
            }
        }
    }
    v
}

/// The headline's float cells, serial and out of place: each ISA in `isas` and the
/// compiler's loop each of them is compared with.
pub fn headline(isas: &[Isa]) -> Vec<Cell> {
    let mut v = Vec::new();
    for func in Func::all() {
        for &isa in isas {
            v.push(Cell::new(func, Kind::Hand, isa, Threads::Serial));
        }
        let mut loops: Vec<Isa> = isas.iter().map(|&i| loop_isa(i)).collect();
        loops.sort_unstable();
        loops.dedup();
        for isa in loops {
            v.push(Cell::new(func, Kind::Naive, isa, Threads::Serial));
        }
    }
    v
}

/// Int8Relu cells: each ISA in `isas` serial (with `more`: `Threads::Auto` and in
/// place too), and the naive loop.
pub fn int8(isas: &[Isa], more: bool) -> Vec<Cell> {
    let func = Func::all()[0];
    let mut v = Vec::new();
    for &isa in isas {
        v.push(Cell::new(func, Kind::Int8, isa, Threads::Serial));
        if more {
            v.push(Cell::new(func, Kind::Int8, isa, Threads::Auto));
            v.push(Cell::new(func, Kind::Int8InPlace, isa, Threads::Serial));
        }
    }
    v.push(Cell::new(
        func,
        Kind::Int8Naive,
        Isa::Scalar,
        Threads::Serial,
    ));
    v
}

/// The conversion-only cells of a 16-bit type: for leaky_relu and its gradient (the
/// ops with products), on each of `isas` that has the loop.
pub fn round_trips(isas: &[Isa]) -> Vec<Cell> {
    let mut v = Vec::new();
    for func in Func::all() {
        if func.op != Op::LeakyRelu {
            continue;
        }
        for &isa in isas {
            if matches!(isa, Isa::Avx2 | Isa::Avx512) {
                v.push(Cell::new(func, Kind::RoundTrip, isa, Threads::Serial));
            }
        }
    }
    v
}
