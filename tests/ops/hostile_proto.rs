//! Hostile protobuf: bytes that no encoder would write, fed to the `NetDef` and
//! `OperatorDef` decoders. Wrong wire types for every known field, length prefixes
//! claiming up to 2^64 - 1 bytes, nesting far past the reader's depth limit,
//! truncated or oversized scalars, and every short message and single-byte
//! corruption of a valid net.
//!
//! Each must decode or fail with a clean `OpErrorKind::Decode` (never a panic or a
//! stack overflow), and whatever decodes must run or be refused without changing the
//! workspace. (How much the decoder allocates for such input is measured separately
//! in `hostile_alloc.rs`, under a counting global allocator.)

use crate::common;

use caffe2op_relu::OpErrorKind;
use caffe2op_relu::ops::{NetDef, OperatorDef, Tensor, Workspace};
use common::ops::kind;
use common::proto::{EGROUP, I32, I64, LEN, SGROUP, VARINT, key, ld, varint};

/// A field of the given wire type with a small well-formed payload.
fn field_with_wire(field: u32, wire: u8) -> Vec<u8> {
    let mut v = key(field, wire);
    match wire {
        VARINT => v.extend(varint(300)),
        I64 => v.extend([1u8; 8]),
        LEN => v.extend([2, b'a', b'b']),
        SGROUP => v.extend(key(field, EGROUP)),
        I32 => v.extend([1u8; 4]),
        _ => {}
    }
    v
}

/// The wire type each field of each message must have (caffe2.proto; repeated
/// floats/ints may also come packed, i.e. as LEN).
fn expected_wires(msg: &str) -> Vec<(u32, &'static [u8])> {
    match msg {
        "NetDef" => vec![
            (1, &[LEN]),
            (2, &[LEN]),
            (3, &[LEN]),
            (4, &[VARINT]),
            (5, &[LEN]),
            (6, &[LEN]),
            (7, &[LEN]),
            (8, &[LEN]),
            (9, &[LEN]),
        ],
        "OperatorDef" => vec![
            (1, &[LEN]),
            (2, &[LEN]),
            (3, &[LEN]),
            (4, &[LEN]),
            (5, &[LEN]),
            (6, &[LEN]),
            (7, &[LEN]),
            (8, &[LEN]),
            (9, &[VARINT]),
            (10, &[LEN]),
            (11, &[LEN]),
            (12, &[VARINT]),
        ],
        "Argument" => vec![
            (1, &[LEN]),
            (2, &[I32]),
            (3, &[VARINT]),
            (4, &[LEN]),
            (5, &[I32, LEN]),
            (6, &[VARINT, LEN]),
            (7, &[LEN]),
            (8, &[LEN]),
            (9, &[LEN]),
            (10, &[LEN]),
            (11, &[LEN]),
            (12, &[LEN]),
        ],
        _ => unreachable!(),
    }
}

/// Every known field of NetDef, OperatorDef and Argument with every wrong wire type
/// is a clean `Decode` error; with its right wire type the same bytes decode.
/// Argument and OperatorDef are reached through a NetDef (`arg` = 6, `op` = 2).
#[test]
fn wrong_wire_types_are_refused_for_every_field() {
    let mut refused = 0;
    for msg in ["NetDef", "OperatorDef", "Argument"] {
        let wrap = |inner: Vec<u8>| -> Vec<u8> {
            match msg {
                "NetDef" => inner,
                "OperatorDef" => ld(2, &inner),
                _ => ld(6, &inner),
            }
        };
        for (field, right) in expected_wires(msg) {
            for wire in [VARINT, I64, LEN, SGROUP, I32] {
                let bytes = wrap(field_with_wire(field, wire));
                let r = NetDef::from_bytes(&bytes);
                if right.contains(&wire) {
                    // Payloads `ab` are not valid sub-messages or UTF-8 for every
                    // field, so a right wire type may still fail to decode; it must
                    // never be anything but a clean Decode error.
                    if let Err(e) = r {
                        assert_eq!(kind(&e), OpErrorKind::Decode, "{msg}.{field}: {e}");
                    }
                } else {
                    let e = r.expect_err(&format!("{msg}.{field} with wire type {wire}"));
                    assert_eq!(kind(&e), OpErrorKind::Decode, "{msg}.{field}: {e}");
                    refused += 1;
                }
            }
            // Wire types 6 and 7 do not exist.
            for wire in [6u8, 7] {
                let e = NetDef::from_bytes(&wrap(key(field, wire))).unwrap_err();
                assert_eq!(kind(&e), OpErrorKind::Decode);
                refused += 1;
            }
        }
    }
    assert!(refused > 120, "{refused}");
}

/// Length prefixes that claim more than the input holds, at every size up to 2^64-1,
/// in every length-delimited position (top-level, nested, packed repeated).
#[test]
fn huge_length_prefixes_are_refused() {
    for claim in [
        4u64,
        1 << 20,
        (1 << 31) - 1,
        1 << 31,
        1 << 32,
        1 << 40,
        1 << 62,
        u64::MAX,
    ] {
        let prefix = |field: u32| {
            let mut v = key(field, LEN);
            v.extend(varint(claim));
            v.extend(b"abc");
            v
        };
        // Read as a NetDef.
        let net_cases = [
            prefix(1),                         // NetDef.name
            prefix(2),                         // NetDef.op
            ld(2, &prefix(1)),                 // OperatorDef.input
            ld(6, &prefix(5)),                 // Argument.floats, packed
            ld(6, &prefix(6)),                 // Argument.ints, packed
            ld(6, &prefix(8)),                 // Argument.n
            ld(2, &ld(5, &ld(8, &prefix(2)))), // a nested net's op
        ];
        for bytes in net_cases {
            let e = NetDef::from_bytes(&bytes).unwrap_err();
            assert_eq!(kind(&e), OpErrorKind::Decode, "claim {claim}: {e}");
        }
        // Read as an OperatorDef.
        let op_cases = [
            prefix(1),                 // OperatorDef.input
            prefix(4),                 // OperatorDef.type
            prefix(6),                 // OperatorDef.device_option (opaque bytes)
            ld(5, &prefix(5)),         // Argument.floats, packed
            ld(5, &prefix(9)),         // Argument.nets
            ld(5, &ld(8, &prefix(2))), // a nested net's op
        ];
        for bytes in op_cases {
            let e = OperatorDef::from_bytes(&bytes).unwrap_err();
            assert_eq!(kind(&e), OpErrorKind::Decode, "claim {claim}: {e}");
        }
    }
}

/// Nesting far past the reader's limit (nets inside arguments inside operators...)
/// is refused, not a stack overflow: 5,000 levels would need megabytes of stack if
/// the reader recursed without a limit. (Each level here is two messages, a NetDef
/// and an Argument; the reader allows 100 nested messages.)
#[test]
fn deep_nesting_is_refused_without_overflowing_the_stack() {
    for depth in [60usize, 200, 5_000] {
        // net { arg { n: net { arg { n: ... } } } }
        let mut bytes = ld(1, b"leaf");
        for _ in 0..depth {
            bytes = ld(6, &ld(8, &bytes));
        }
        let e = NetDef::from_bytes(&bytes).unwrap_err();
        assert_eq!(kind(&e), OpErrorKind::Decode, "depth {depth}");
        // The same through an unknown field: skipped without recursion or refused.
        let mut bytes = ld(1, b"leaf");
        for _ in 0..depth {
            let mut g = key(15, SGROUP);
            g.extend(bytes);
            g.extend(key(15, EGROUP));
            bytes = g;
        }
        if let Err(e) = NetDef::from_bytes(&bytes) {
            assert_eq!(kind(&e), OpErrorKind::Decode);
        }
    }
}

/// Packed repeated floats whose byte length is not a multiple of 4, truncated
/// fixed-width values, and varints past 64 bits are refused.
#[test]
fn malformed_scalars_are_refused() {
    let mut packed_floats = key(5, LEN);
    packed_floats.extend(varint(6));
    packed_floats.extend([0u8; 6]);
    let cases: Vec<Vec<u8>> = vec![
        ld(6, &packed_floats),
        ld(6, &[0x15, 0, 0, 0]), // Argument.f: 3 of 4 bytes
        [key(4, VARINT), vec![0xff; 10], vec![0x7f]].concat(), // 11-byte varint
        [key(4, VARINT), vec![0xff; 9], vec![0x02]].concat(), // > 2^64
        vec![0x80],              // unterminated key varint
        vec![0x00],              // field 0
        [key(0x1fff_ffff + 1, VARINT), vec![0]].concat(), // field number > 2^29 - 1
        vec![(1 << 3) | EGROUP], // unmatched end group
        key(15, SGROUP),         // unterminated group
    ];
    for bytes in cases {
        let e = NetDef::from_bytes(&bytes).expect_err(&format!("{bytes:x?}"));
        assert_eq!(kind(&e), OpErrorKind::Decode, "{bytes:x?}: {e}");
    }
}

/// Every one- and two-byte message, and every single-byte corruption of a valid
/// net, decodes or is a clean Decode error; whatever decodes also runs (or is
/// refused) on a workspace without changing it on refusal.
#[test]
fn every_short_message_and_byte_flip() {
    let mut inputs: Vec<Vec<u8>> = (0..=255u8).map(|b| vec![b]).collect();
    for a in 0..=255u8 {
        for b in (0..=255u8).step_by(5) {
            inputs.push(vec![a, b]);
        }
    }
    let valid = NetDef::new("n")
        .op(OperatorDef::new("ReluN")
            .input("X")
            .output("Y")
            .arg("n", 2.0))
        .op(OperatorDef::new("LeakyRelu")
            .input("Y")
            .output("Y")
            .arg("alpha", 0.5))
        .to_bytes()
        .unwrap();
    for i in 0..valid.len() {
        for flip in [0x01u8, 0x02, 0x04, 0x08, 0x10, 0x20, 0x40, 0x80, 0xff] {
            let mut v = valid.clone();
            v[i] ^= flip;
            inputs.push(v);
        }
    }
    let mut ws = Workspace::new();
    ws.feed_blob(
        "X",
        Tensor::from_vec([4], vec![-2.0f32, -0.0, 1.0, 9.0]).unwrap(),
    );
    let mut decoded = 0;
    for bytes in &inputs {
        match NetDef::from_bytes(bytes) {
            Ok(net) => {
                decoded += 1;
                let mut w = ws.clone();
                if let Err(e) = w.run_net(&net) {
                    assert_eq!(w, ws, "refused net changed the workspace: {e}");
                }
            }
            Err(e) => assert_eq!(kind(&e), OpErrorKind::Decode),
        }
        if let Err(e) = OperatorDef::from_bytes(bytes) {
            assert_eq!(kind(&e), OpErrorKind::Decode);
        }
    }
    assert!(decoded > 100, "{decoded}");
}
