//! The two AVX-512 f32/f64 and u8 tables: 512-bit main loops, and 256-bit ones for
//! cores that split 512-bit accesses in two (`avx512_ymm_loops`). Whichever the CPU
//! defaults to, each is switched on in turn and checked against the oracle bit for
//! bit: every op, short and long calls at every alignment, every memory mode, in
//! place on both sides of the in-place width bound, both walking directions and
//! streaming stores. The switch is per process, so this file holds a single test.

mod common;

use caffe2op_relu::tuning::{avx512_ymm_loops, set_avx512_ymm_loops, set_stream_min_bytes};
use caffe2op_relu::{Isa, Kernel, Op, Threads};
use caffe2op_relu_kernels::generic::{LEAKY_GRAD_NARROW_MIN_BYTES, NARROW_IN_PLACE_MAX_BYTES};
use common::*;

fn check<T: TestElem>(k: &Kernel, rng: &mut Rng) {
    let act = k.activation();
    for len in small_lengths() {
        let x: Vec<T> = values_for(rng, len, &act);
        let dy: Vec<T> = values(rng, len, 1.0);
        for off in offsets::<T>() {
            check_forward(k, &x, off, Mode::OutOfPlace, "ymm switch");
            check_backward(k, &x, &dy, off, Mode::OutOfPlace, "ymm switch");
        }
        for mode in MODES {
            check_forward(k, &x, 1, mode, "ymm switch");
            check_backward(k, &x, &dy, 1, mode, "ymm switch");
        }
    }
    for d in common::walk::DISTANCES {
        for len in common::walk::lengths() {
            let x: Vec<T> = values_for(rng, len, &act);
            let dy: Vec<T> = values(rng, len, 1.0);
            common::walk::forward(k, &x, d, 3);
            common::walk::backward(k, &x, &dy, d, 3);
        }
    }
    // In place around the size where the forward ops go back to 512-bit registers,
    // with the aligning head at several offsets.
    let edge = NARROW_IN_PLACE_MAX_BYTES / size_of::<T>();
    for len in [edge - 1, edge, edge + 1, edge + 19] {
        let x: Vec<T> = values_for(rng, len, &act);
        let dy: Vec<T> = values(rng, len, 1.0);
        for off in [0, 1, 3] {
            for mode in [Mode::InPlace, Mode::AliasedSame] {
                check_forward(k, &x, off, mode, "ymm switch, in place");
                check_backward(k, &x, &dy, off, mode, "ymm switch, in place");
            }
        }
    }
    // leaky_relu's gradient around the size where it moves to 256-bit registers,
    // in every memory mode.
    if act.op() == Op::LeakyRelu {
        let edge = LEAKY_GRAD_NARROW_MIN_BYTES / size_of::<T>();
        for len in [edge - 1, edge, edge + 1, edge + 19] {
            let y: Vec<T> = values_for(rng, len, &act);
            let dy: Vec<T> = values(rng, len, 1.0);
            for off in [0, 3] {
                for mode in MODES {
                    check_backward(k, &y, &dy, off, mode, "ymm switch, leaky_relu_grad edge");
                }
            }
        }
    }
    // Streaming stores on every out-of-place call, then back to the default.
    set_stream_min_bytes(0);
    for len in [64, 65, 1000, 4099] {
        let x: Vec<T> = values_for(rng, len, &act);
        let dy: Vec<T> = values(rng, len, 1.0);
        for off in [0, 1, 3] {
            check_forward(k, &x, off, Mode::OutOfPlace, "ymm switch, streaming");
            check_backward(k, &x, &dy, off, Mode::OutOfPlace, "ymm switch, streaming");
        }
    }
    set_stream_min_bytes(caffe2op_relu::tuning::DEFAULT_STREAM_MIN_BYTES);
}

/// Int8Relu on the AVX-512 table the switch selects: short and long calls (with and
/// without the aligning head) at every offset in a line, out of place and in place,
/// then streaming stores.
fn check_int8(rng: &mut Rng) {
    let lens = (0..=70).chain([127, 128, 129, 511, 512, 513, 1024, 1025, 2049, 4099]);
    for len in lens {
        let x: Vec<u8> = (0..len).map(|_| rng.next_u64() as u8).collect();
        let zp = rng.next_u64() as u8;
        let want: Vec<u8> = x.iter().map(|&v| v.max(zp)).collect();
        for off in 0..64 {
            check_int8_window(Isa::Avx512, &x, zp, off, &want);
        }
        set_stream_min_bytes(0);
        for off in [0, 1, 31, 33] {
            check_int8_window(Isa::Avx512, &x, zp, off, &want);
        }
        set_stream_min_bytes(caffe2op_relu::tuning::DEFAULT_STREAM_MIN_BYTES);
    }
}

#[test]
fn both_avx512_tables_match_the_oracle() {
    let avx512 = Isa::Avx512.is_available();
    #[cfg(target_arch = "x86_64")]
    let vl = avx512 && std::arch::is_x86_feature_detected!("avx512vl");
    #[cfg(not(target_arch = "x86_64"))]
    let vl = false;
    let mut rng = Rng(0x9a77);
    let mut tables = Vec::new();
    for on in [false, true] {
        set_avx512_ymm_loops(on);
        // Without AVX-512 (or VL) the switch cannot turn the 256-bit tables on.
        assert_eq!(avx512_ymm_loops(), on && vl);
        if !avx512 {
            continue;
        }
        tables.push((
            isa_table_addrs::<f32>(Isa::Avx512),
            isa_table_addrs::<f64>(Isa::Avx512),
        ));
        for op in Op::ALL {
            // Light runs (ASan): the default and one more parameter set per op; the
            // lengths, offsets and memory modes, where the accesses are, stay.
            let acts = activations(op, &mut rng);
            let keep = if light() { 2 } else { acts.len() };
            for act in acts.into_iter().take(keep) {
                let k = Kernel::new(act)
                    .with_isa(Isa::Avx512)
                    .unwrap()
                    .with_threads(Threads::Serial);
                check::<f32>(&k, &mut rng);
                check::<f64>(&k, &mut rng);
            }
        }
        check_int8(&mut rng);
    }
    // The switch really changed the table: relu and relu_grad differ.
    if vl {
        let (off, on) = (&tables[0], &tables[1]);
        assert_ne!(off.0[0], on.0[0]);
        assert_ne!(off.0[3], on.0[3]);
        assert_ne!(off.1[0], on.1[0]);
        assert_ne!(off.1[3], on.1[3]);
    }
}
