//! Hostile `TensorProtos` bytes: every truncation and every single-byte corruption of
//! a valid file (each data type, packed, unpacked and raw), random bytes, and length
//! prefixes claiming far more than the file holds. Each must read or be refused with
//! an operator-layer error of a reading kind, never a panic; whatever reads writes
//! back and reads again as the same tensors.

use crate::common;

use caffe2op_relu::OpErrorKind;
use caffe2op_relu::ops::TensorProtos;
use common::Rng;
use common::ops::kind;
use common::proto::{I32, LEN, VARINT, key, ld, varint};

fn vfield(field: u32, v: u64) -> Vec<u8> {
    let mut out = key(field, VARINT);
    out.extend(varint(v));
    out
}

/// A valid file: one tensor of each data type, in the encodings a reader must accept.
fn valid_file() -> Vec<u8> {
    let tensors: Vec<Vec<u8>> = vec![
        // FLOAT, packed, named.
        [
            vfield(1, 2),
            vfield(1, 2),
            vfield(2, 1),
            ld(
                3,
                &[
                    0, 0, 0x80, 0x7f, 1, 0, 0xc0, 0x7f, 0, 0, 0, 0x80, 1, 0, 0, 0,
                ],
            ),
            ld(7, b"w"),
        ]
        .concat(),
        // FLOAT, unpacked.
        [vfield(1, 1), key(3, I32), vec![0, 0, 0x80, 0x3f]].concat(),
        // DOUBLE, raw.
        [
            vfield(1, 1),
            vfield(2, 13),
            ld(13, &[1, 0, 0, 0, 0, 0, 0xf8, 0x7f]),
        ]
        .concat(),
        // FLOAT16 in int32_data.
        [
            vfield(1, 3),
            vfield(2, 12),
            ld(4, &[0x80, 0x80, 0x02, 1, 0xff, 0xff, 0x03]),
        ]
        .concat(),
        // UINT8 in byte_data.
        [
            vfield(1, 3),
            vfield(2, 6),
            ld(5, &[0, 128, 255]),
            ld(7, b"q"),
        ]
        .concat(),
        // INT32, negative values as ten-byte varints.
        [
            vfield(1, 2),
            vfield(2, 2),
            ld(4, &[[0xff; 9].as_slice(), &[1], &[5]].concat()),
        ]
        .concat(),
    ];
    tensors.iter().flat_map(|t| ld(1, t)).collect()
}

/// Reads `bytes`; a refusal must be an operator error of a reading kind, and what
/// reads must write and read back to the same tensors.
fn check(bytes: &[u8]) -> bool {
    match TensorProtos::from_bytes(bytes) {
        Ok(file) => {
            let again = file.to_bytes().expect("a file that reads writes back");
            let back = TensorProtos::from_bytes(&again).expect("written file reads");
            assert_eq!(back.tensors.len(), file.tensors.len());
            for ((n1, t1), (n2, t2)) in file.tensors.iter().zip(&back.tensors) {
                assert_eq!(n1, n2);
                assert_eq!(t1.dims(), t2.dims());
                assert!(t1.data().bit_eq(t2.data()), "{n1}");
            }
            true
        }
        Err(e) => {
            let k = kind(&e);
            assert!(
                matches!(
                    k,
                    OpErrorKind::Decode
                        | OpErrorKind::Unsupported
                        | OpErrorKind::ShapeMismatch
                        | OpErrorKind::Overflow
                ),
                "{k:?}: {e}"
            );
            false
        }
    }
}

#[test]
fn the_valid_file_reads() {
    let file = TensorProtos::from_bytes(&valid_file()).unwrap();
    assert_eq!(file.tensors.len(), 6);
    assert_eq!(file.tensors[0].0, "w");
    assert_eq!(file.tensors[3].1.as_slice::<half::f16>().unwrap().len(), 3);
    assert_eq!(file.tensors[5].1.as_i32().unwrap(), &[-1, 5]);
}

#[test]
fn truncations_and_single_byte_corruptions_never_panic() {
    let file = valid_file();
    let mut read = 0;
    for len in 0..file.len() {
        read += usize::from(check(&file[..len]));
    }
    for i in 0..file.len() {
        for v in [0x00, 0x01, 0x7f, 0x80, 0xff, file[i] ^ 0x01, file[i] ^ 0x80] {
            let mut b = file.clone();
            b[i] = v;
            read += usize::from(check(&b));
        }
    }
    // Some prefixes (whole tensors) and many corruptions (values) still read.
    assert!(read > 0);
}

#[test]
fn random_bytes_and_lying_lengths_never_panic() {
    let mut rng = Rng(0x7e45_0a11);
    for _ in 0..2000 {
        let n = rng.below(64);
        let b: Vec<u8> = (0..n).map(|_| rng.next_u64() as u8).collect();
        check(&b);
        // The same bytes as one tensor's payload.
        check(&ld(1, &b));
    }
    for claim in [1u64 << 31, 1 << 40, u64::MAX] {
        for field in [3u32, 4, 5, 9, 13] {
            let inner = [
                vfield(1, 1 << 40),
                key(field, LEN),
                varint(claim),
                vec![0; 12],
            ]
            .concat();
            assert!(!check(&ld(1, &inner)));
            let outer = [key(1, LEN), varint(claim), inner].concat();
            assert!(!check(&outer));
        }
    }
}
