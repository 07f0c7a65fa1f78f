//! The non-temporal store path (taken by large out-of-place calls) against the
//! oracle: this binary sets the streaming threshold to 0 so that every out-of-place
//! call streams, then sweeps lengths, offsets (the aligning head) and modes.

mod common;

use caffe2op_relu::Op;
use common::*;

fn sweep<T: TestElem>() {
    caffe2op_relu::tuning::set_stream_min_bytes(0);
    let mut rng = Rng(0x5354_5245);
    for op in Op::ALL {
        let act = activations(op, &mut rng)[0];
        for k in kernels_for(act) {
            // Light runs (the sanitizer, qemu) leave out the longest call: 4200
            // elements already pass the aligning head, a block of four 4 KiB pages
            // (f32, f64), whole unrolled blocks and a tail.
            let long: &[usize] = if light() {
                &[1000, 4200]
            } else {
                &[1000, 4099, 65_537]
            };
            for len in small_lengths().chain(long.iter().copied()) {
                let x: Vec<T> = values_for(&mut rng, len, &act);
                let dy: Vec<T> = values(&mut rng, len, 1.0);
                for off in offsets::<T>() {
                    for mode in [Mode::OutOfPlace, Mode::AliasedDisjoint] {
                        check_forward(&k, &x, off, mode, "streaming");
                        check_backward(&k, &x, &dy, off, mode, "streaming");
                    }
                }
            }
        }
    }
    assert_eq!(
        caffe2op_relu::tuning::stream_min_bytes(),
        0,
        "another test changed the threshold"
    );
}

#[test]
fn streaming_stores_match_the_oracle() {
    sweep::<f32>();
    sweep::<f64>();
}
