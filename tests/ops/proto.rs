//! Caffe2's protobuf wire format: round trips, a net encoded by hand from the field
//! numbers of caffe2.proto, and malformed input.

use crate::common;

use caffe2op_relu::ops::{
    ArgValue, Argument, MAX_NET_NESTING, NetDef, OperatorDef, Tensor, Workspace,
};
use caffe2op_relu::{Activation, OpErrorKind};
use common::assert_bits;
use common::ops::kind;
use quickcheck::{QuickCheck, TestResult};

// ---- hand encoding: key = field number << 3 | wire type ----

const VARINT: u8 = 0;
const FIXED32: u8 = 5;
const LEN: u8 = 2;

fn key(field: u8, wire: u8) -> u8 {
    assert!(field < 16, "one-byte keys only");
    (field << 3) | wire
}

fn varint(mut v: u64) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let b = (v & 0x7F) as u8;
        v >>= 7;
        if v == 0 {
            out.push(b);
            return out;
        }
        out.push(b | 0x80);
    }
}

/// A length-delimited field.
fn ld(field: u8, payload: &[u8]) -> Vec<u8> {
    let mut out = vec![key(field, LEN)];
    out.extend(varint(payload.len() as u64));
    out.extend_from_slice(payload);
    out
}

fn f32_field(field: u8, v: f32) -> Vec<u8> {
    let mut out = vec![key(field, FIXED32)];
    out.extend(v.to_le_bytes());
    out
}

fn int_field(field: u8, v: u64) -> Vec<u8> {
    let mut out = vec![key(field, VARINT)];
    out.extend(varint(v));
    out
}

fn cat(parts: &[Vec<u8>]) -> Vec<u8> {
    parts.concat()
}

// caffe2.proto field numbers.
// Argument: name 1, f 2, i 3, s 4, floats 5, ints 6, strings 7, n 8, nets 9, t 10,
//           tensors 11, qtensors 12.
// OperatorDef: input 1, output 2, name 3, type 4, arg 5, device_option 6, engine 7,
//              control_input 8, is_gradient_op 9, debug_info 10, domain 11, op_version 12.
// NetDef: name 1, op 2, type 3, num_workers 4, device_option 5, arg 6,
//         external_input 7, external_output 8, partition_info 9.

fn hand_net() -> Vec<u8> {
    let relun = cat(&[
        ld(1, b"X"),
        ld(2, b"Y"),
        ld(4, b"ReluN"),
        ld(5, &cat(&[ld(1, b"n"), f32_field(2, 3.0)])),
    ]);
    let leaky = cat(&[
        ld(1, b"Y"),
        ld(2, b"Y"),
        ld(3, b"leaky1"),
        ld(4, b"LeakyRelu"),
        ld(5, &cat(&[ld(1, b"alpha"), f32_field(2, 0.25)])),
        ld(7, b"scalar"),
    ]);
    let softmax = cat(&[
        ld(1, b"Y"),
        ld(2, b"P"),
        ld(4, b"Softmax"),
        ld(5, &cat(&[ld(1, b"axis"), int_field(3, 1)])),
        ld(6, &int_field(1, 0)), // DeviceOption { device_type: CPU }
    ]);
    cat(&[
        ld(1, b"relu_net"),
        ld(2, &relun),
        ld(2, &leaky),
        ld(2, &softmax),
        ld(3, b"simple"),
        ld(7, b"X"),
        ld(8, b"P"),
    ])
}

#[test]
fn hand_written_bytes_are_literally_what_the_helpers_make() {
    // The first operator, byte by byte, as a check on the helpers themselves.
    let op: &[u8] = &[
        0x0A, 0x01, b'X', // input (1, LEN) "X"
        0x12, 0x01, b'Y', // output (2, LEN) "Y"
        0x22, 0x05, b'R', b'e', b'l', b'u', b'N', // type (4, LEN) "ReluN"
        0x2A, 0x08, // arg (5, LEN), 8 bytes:
        0x0A, 0x01, b'n', // name (1, LEN) "n"
        0x15, 0x00, 0x00, 0x40, 0x40, // f (2, FIXED32) 3.0f32
    ];
    let relun = cat(&[
        ld(1, b"X"),
        ld(2, b"Y"),
        ld(4, b"ReluN"),
        ld(5, &cat(&[ld(1, b"n"), f32_field(2, 3.0)])),
    ]);
    assert_eq!(relun, op);
    let def = OperatorDef::from_bytes(op).unwrap();
    assert_eq!(
        def,
        OperatorDef::new("ReluN")
            .input("X")
            .output("Y")
            .arg("n", 3.0)
    );
    assert_eq!(def.to_bytes().unwrap(), op);
}

#[test]
fn hand_encoded_net_decodes_runs_and_reencodes_byte_for_byte() {
    let bytes = hand_net();
    let net = NetDef::from_bytes(&bytes).unwrap();
    assert_eq!(net.name, "relu_net");
    assert_eq!(net.net_type, "simple");
    assert_eq!(net.external_inputs, ["X"]);
    assert_eq!(net.external_outputs, ["P"]);
    assert_eq!(net.ops.len(), 3);
    assert_eq!(
        net.ops[0],
        OperatorDef::new("ReluN")
            .input("X")
            .output("Y")
            .arg("n", 3.0)
    );
    assert_eq!(
        net.ops[1],
        OperatorDef::new("LeakyRelu")
            .input("Y")
            .output("Y")
            .named("leaky1")
            .arg("alpha", 0.25)
            .engine("scalar")
    );
    assert_eq!(net.ops[2].op_type, "Softmax");
    assert_eq!(net.ops[2].args, [Argument::new("axis", 1i64)]);
    assert_eq!(net.ops[2].device_option.as_deref(), Some(&[0x08, 0x00][..]));
    // Unknown operator types survive the round trip, byte for byte.
    assert_eq!(net.to_bytes().unwrap(), bytes);

    // Running it: Softmax is refused by name, before anything runs.
    let x: Vec<f32> = vec![-4.0, -0.0, 0.5, 2.0, 3.0, 5.0, f32::NAN, f32::NEG_INFINITY];
    let mut ws = Workspace::new();
    ws.feed_blob("X", Tensor::from_vec(vec![2, 4], x.clone()).unwrap());
    let before = ws.clone();
    let e = ws.run_net(&net).unwrap_err();
    assert_eq!(kind(&e), OpErrorKind::UnknownOp);
    assert!(
        e.to_string().contains("`Softmax`") && e.to_string().contains("op #2"),
        "{e}"
    );
    assert!(ws == before);

    // Without it, the ReLU-family operators of the file run and match the oracle.
    let mut net = net;
    net.ops.truncate(2);
    ws.run_net(&net).unwrap();
    let (relun, leaky) = (
        Activation::relu_n(3.0).unwrap(),
        Activation::leaky_relu(0.25).unwrap(),
    );
    let want: Vec<f32> = x
        .iter()
        .map(|&v| {
            leaky
                .oracle_forward(relun.oracle_forward(v).unwrap())
                .unwrap()
        })
        .collect();
    assert_bits(
        ws.fetch_blob("Y").unwrap().as_slice::<f32>().unwrap(),
        &want,
        "Y",
    );
}

#[test]
fn packed_and_unpacked_repeated_fields_both_read() {
    let unpacked = cat(&[ld(1, b"v"), f32_field(5, 1.5), f32_field(5, -2.0)]);
    let mut packed_payload = 1.5f32.to_le_bytes().to_vec();
    packed_payload.extend((-2.0f32).to_le_bytes());
    let packed = cat(&[ld(1, b"v"), ld(5, &packed_payload)]);
    for arg in [unpacked.clone(), packed] {
        let op = OperatorDef::from_bytes(&cat(&[ld(4, b"Foo"), ld(5, &arg)])).unwrap();
        assert_eq!(op.args, [Argument::new("v", vec![1.5f32, -2.0])]);
    }
    // Written back unpacked, as Caffe2 writes proto2 repeated scalars.
    let op = OperatorDef::from_bytes(&cat(&[ld(4, b"Foo"), ld(5, &unpacked)])).unwrap();
    assert_eq!(
        op.to_bytes().unwrap(),
        cat(&[ld(4, b"Foo"), ld(5, &unpacked)])
    );
}

fn everything() -> NetDef {
    let inner = NetDef::new("inner").op(OperatorDef::new("Relu").input("a").output("a"));
    let mut op = OperatorDef::new("Weird")
        .input("x")
        .input("y")
        .output("z")
        .named("w")
        .engine("avx2")
        .arg("f", 1.25)
        .arg("i", -7i64)
        .arg("s", "bytes\u{0}\u{ff}")
        .arg("floats", vec![1.0f32, f32::INFINITY])
        .arg("ints", vec![i64::MIN, 0, i64::MAX])
        .arg(
            "strings",
            ArgValue::Strings(vec![b"a".to_vec(), vec![0xFF, 0x00]]),
        )
        .arg("n", inner.clone())
        .arg(
            "nets",
            ArgValue::Nets(vec![inner.clone(), NetDef::new("other")]),
        )
        .arg("t", ArgValue::Tensor(vec![0x08, 0x02, 0x10, 0x01]))
        .arg("tensors", ArgValue::Tensors(vec![vec![0x08, 0x03], vec![]]))
        .arg("qtensors", ArgValue::QTensors(vec![vec![0x08, 0x01]]))
        .arg("empty", ArgValue::Empty);
    op.device_option = Some(vec![0x08, 0x01, 0x10, 0x02]);
    op.control_inputs = vec!["c".into()];
    op.is_gradient_op = true;
    op.debug_info = "dbg".into();
    op.domain = "dom".into();
    op.op_version = Some(3);
    NetDef {
        name: "all".into(),
        ops: vec![op, OperatorDef::new("Relu").input("X").output("Y")],
        net_type: "dag".into(),
        num_workers: Some(4),
        device_option: Some(vec![0x08, 0x00]),
        args: vec![Argument::new("net_arg", 2i64)],
        external_inputs: vec!["X".into(), "x".into()],
        external_outputs: vec!["Y".into()],
        partition_info: vec![vec![0x0A, 0x01, b'p']],
    }
}

#[test]
fn every_field_round_trips() {
    let net = everything();
    let bytes = net.to_bytes().unwrap();
    let back = NetDef::from_bytes(&bytes).unwrap();
    assert_eq!(back, net);
    assert_eq!(back.to_bytes().unwrap(), bytes);
    for op in &net.ops {
        assert_eq!(
            &OperatorDef::from_bytes(&op.to_bytes().unwrap()).unwrap(),
            op
        );
    }
    // An empty list has no type on the wire: it reads back as Empty.
    let op = OperatorDef::new("Relu").arg("l", Vec::<i64>::new());
    let back = OperatorDef::from_bytes(&op.to_bytes().unwrap()).unwrap();
    assert_eq!(back.args[0].value, ArgValue::Empty);
    // The empty message is an empty NetDef.
    assert_eq!(NetDef::from_bytes(&[]).unwrap(), NetDef::default());
}

fn nested(depth: usize) -> NetDef {
    let mut net = NetDef::new("leaf");
    for d in 0..depth {
        net = NetDef::new(format!("level{d}")).op(OperatorDef::new("If").arg("then_net", net));
    }
    net
}

#[test]
fn nesting_up_to_the_limit_round_trips_and_deeper_is_refused() {
    let net = nested(MAX_NET_NESTING);
    assert_eq!(NetDef::from_bytes(&net.to_bytes().unwrap()).unwrap(), net);
    let e = nested(MAX_NET_NESTING + 1).to_bytes().unwrap_err();
    assert_eq!(kind(&e), OpErrorKind::Overflow, "{e}");
    // Hand-made bytes nesting deeper than the reader's limit: refused, no stack overflow.
    let mut bytes = ld(1, b"leaf");
    for _ in 0..200 {
        let arg = cat(&[ld(1, b"then_net"), ld(8, &bytes)]);
        let op = cat(&[ld(4, b"If"), ld(5, &arg)]);
        bytes = ld(2, &op);
    }
    let e = NetDef::from_bytes(&bytes).unwrap_err();
    assert_eq!(kind(&e), OpErrorKind::Decode, "{e}");
}

#[test]
fn malformed_bytes_are_refused() {
    let cases: Vec<(&str, Vec<u8>)> = vec![
        (
            "length prefix far past the end",
            cat(&[vec![key(2, LEN)], varint(u64::MAX >> 1)]),
        ),
        (
            "length prefix one past the end",
            vec![key(1, LEN), 0x03, b'a', b'b'],
        ),
        (
            "varint longer than ten bytes",
            cat(&[vec![key(4, VARINT)], vec![0xFF; 11]]),
        ),
        ("unterminated varint", vec![key(4, VARINT), 0x80]),
        ("wire type 7", vec![(1 << 3) | 7]),
        ("field number 0", vec![0x00, 0x00]),
        ("invalid UTF-8 in name", cat(&[ld(1, &[0xC3, 0x28])])),
        (
            "truncated fixed32",
            cat(&[vec![key(2, LEN)], varint(4), ld(5, &[0x15, 0x00])]),
        ),
        (
            "argument with two values",
            ld(
                2,
                &cat(&[
                    ld(4, b"ReluN"),
                    ld(5, &cat(&[ld(1, b"n"), f32_field(2, 1.0), int_field(3, 1)])),
                ]),
            ),
        ),
        ("op with an invalid UTF-8 input", ld(2, &ld(1, &[0xFF]))),
        ("end group without start", vec![(1 << 3) | 4]),
    ];
    for (what, bytes) in cases {
        let e = NetDef::from_bytes(&bytes).expect_err(what);
        assert_eq!(kind(&e), OpErrorKind::Decode, "{what}: {e}");
        assert!(e.to_string().contains("malformed"), "{what}: {e}");
    }
    let e = NetDef::from_bytes(&ld(
        2,
        &cat(&[
            ld(4, b"ReluN"),
            ld(5, &cat(&[ld(1, b"n"), f32_field(2, 1.0), int_field(3, 1)])),
        ]),
    ))
    .unwrap_err();
    assert!(
        e.to_string().contains("`n`") && e.to_string().contains("f, i"),
        "{e}"
    );
}

#[test]
fn unknown_fields_are_skipped() {
    // Field 15 (varint) and field 14 (length-delimited) are not in caffe2.proto.
    let bytes = cat(&[ld(1, b"n"), int_field(15, 300), ld(14, b"zzz"), ld(7, b"X")]);
    let net = NetDef::from_bytes(&bytes).unwrap();
    assert_eq!(
        (net.name.as_str(), net.external_inputs.as_slice()),
        ("n", &["X".to_string()][..])
    );
}

#[test]
fn every_truncation_of_a_valid_net_decodes_or_is_refused() {
    let bytes = everything().to_bytes().unwrap();
    for cut in 0..bytes.len() {
        match NetDef::from_bytes(&bytes[..cut]) {
            Ok(_) => {}
            Err(e) => assert_eq!(kind(&e), OpErrorKind::Decode, "cut {cut}: {e}"),
        }
    }
}

#[test]
fn random_and_mutated_bytes_never_panic() {
    fn random(bytes: Vec<u8>) -> TestResult {
        match NetDef::from_bytes(&bytes) {
            Ok(net) => TestResult::from_bool(net.to_bytes().is_ok()),
            Err(e) => TestResult::from_bool(kind(&e) == OpErrorKind::Decode),
        }
    }
    fn mutated(flips: Vec<(usize, u8)>) -> TestResult {
        let mut bytes = hand_net();
        let n = bytes.len();
        for (i, b) in flips {
            bytes[i % n] ^= b;
        }
        match NetDef::from_bytes(&bytes) {
            Ok(net) => {
                // Whatever decodes re-encodes and decodes to the same thing.
                let again = NetDef::from_bytes(&net.to_bytes().unwrap()).unwrap();
                TestResult::from_bool(again == net || format!("{again:?}") == format!("{net:?}"))
            }
            Err(e) => TestResult::from_bool(kind(&e) == OpErrorKind::Decode),
        }
    }
    QuickCheck::new()
        .tests(2000)
        .quickcheck(random as fn(Vec<u8>) -> TestResult);
    QuickCheck::new()
        .tests(2000)
        .quickcheck(mutated as fn(Vec<(usize, u8)>) -> TestResult);
}
