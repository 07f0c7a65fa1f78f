//! `TensorProto` and `TensorProtos`: files encoded by hand from caffe2.proto's field
//! numbers (packed and unpacked, typed fields and `raw_data`) read into the tensors
//! they describe, the writer's bytes against Caffe2's conventions, round trips bit for
//! bit, and every refusal with its kind.

use crate::common;

use caffe2op_relu::OpErrorKind;
use caffe2op_relu::QuantParams;
use caffe2op_relu::ops::{DataType, Tensor, TensorProtos};
use common::ops::kind;
use common::proto::{I32, I64, LEN, VARINT, key, ld, varint};
use half::f16;

// caffe2.proto's TensorProto field numbers and DataType values.
const DIMS: u32 = 1;
const DATA_TYPE: u32 = 2;
const FLOAT_DATA: u32 = 3;
const INT32_DATA: u32 = 4;
const BYTE_DATA: u32 = 5;
const STRING_DATA: u32 = 6;
const NAME: u32 = 7;
const DEVICE_DETAIL: u32 = 8;
const DOUBLE_DATA: u32 = 9;
const INT64_DATA: u32 = 10;
const SEGMENT: u32 = 11;
const RAW_DATA: u32 = 13;
const DATA_FORMAT: u32 = 15;

const FLOAT: u64 = 1;
const INT32: u64 = 2;
const BYTE: u64 = 3;
const STRING: u64 = 4;
const UINT8: u64 = 6;
const INT64: u64 = 10;
const FLOAT16: u64 = 12;
const DOUBLE: u64 = 13;

/// A varint field.
fn vfield(field: u32, v: u64) -> Vec<u8> {
    let mut out = key(field, VARINT);
    out.extend(varint(v));
    out
}

/// int32/int64 values as protobuf writes them: negative values sign-extended to 64
/// bits (ten bytes).
fn int_varint(v: i64) -> Vec<u8> {
    varint(v as u64)
}

fn dims_unpacked(dims: &[i64]) -> Vec<u8> {
    dims.iter().flat_map(|&d| vfield(DIMS, d as u64)).collect()
}

fn dims_packed(dims: &[i64]) -> Vec<u8> {
    let payload: Vec<u8> = dims.iter().flat_map(|&d| int_varint(d)).collect();
    ld(DIMS, &payload)
}

fn f32_packed(v: &[u32]) -> Vec<u8> {
    let payload: Vec<u8> = v.iter().flat_map(|b| b.to_le_bytes()).collect();
    ld(FLOAT_DATA, &payload)
}

fn f32_unpacked(v: &[u32]) -> Vec<u8> {
    v.iter()
        .flat_map(|b| {
            let mut f = key(FLOAT_DATA, I32);
            f.extend(b.to_le_bytes());
            f
        })
        .collect()
}

fn f64_packed(v: &[u64]) -> Vec<u8> {
    let payload: Vec<u8> = v.iter().flat_map(|b| b.to_le_bytes()).collect();
    ld(DOUBLE_DATA, &payload)
}

fn f64_unpacked(v: &[u64]) -> Vec<u8> {
    v.iter()
        .flat_map(|b| {
            let mut f = key(DOUBLE_DATA, I64);
            f.extend(b.to_le_bytes());
            f
        })
        .collect()
}

fn i32_packed(v: &[i64]) -> Vec<u8> {
    let payload: Vec<u8> = v.iter().flat_map(|&x| int_varint(x)).collect();
    ld(INT32_DATA, &payload)
}

fn i32_unpacked(v: &[i64]) -> Vec<u8> {
    v.iter()
        .flat_map(|&x| vfield(INT32_DATA, x as u64))
        .collect()
}

fn cat(parts: &[Vec<u8>]) -> Vec<u8> {
    parts.concat()
}

fn protos(tensors: &[Vec<u8>]) -> Vec<u8> {
    tensors.iter().flat_map(|t| ld(1, t)).collect()
}

fn read_one(bytes: &[u8]) -> (String, Tensor) {
    Tensor::from_proto_bytes(bytes).unwrap_or_else(|e| panic!("{e}"))
}

fn refuse_one(bytes: &[u8], want: OpErrorKind) -> String {
    let e = Tensor::from_proto_bytes(bytes).expect_err("must be refused");
    assert_eq!(kind(&e), want, "{e}");
    // The same tensor inside a TensorProtos file, after a valid one, is refused too,
    // naming its index.
    let file = protos(&[
        cat(&[dims_unpacked(&[1]), f32_packed(&[0])]),
        bytes.to_vec(),
    ]);
    let e2 = TensorProtos::from_bytes(&file).expect_err("the file must be refused");
    assert_eq!(kind(&e2), want, "{e2}");
    if want != OpErrorKind::Decode || !e.to_string().contains("malformed") {
        assert!(e2.to_string().contains("#1"), "{e2}");
    }
    e.to_string()
}

// Values where encoders go wrong: NaN payloads (quiet and signalling), both zeros,
// subnormals, infinities, extremes.
const F32_BITS: [u32; 10] = [
    0x7fc0_0001,
    0x7f80_0001,
    0xffc1_2345,
    0x8000_0000,
    0x0000_0000,
    0x0000_0001,
    0x807f_ffff,
    0x7f80_0000,
    0xff80_0000,
    0x7f7f_ffff,
];
const F64_BITS: [u64; 8] = [
    0x7ff8_0000_0000_0001,
    0x7ff0_0000_0000_0001,
    0x8000_0000_0000_0000,
    0,
    1,
    0x800f_ffff_ffff_ffff,
    0xfff0_0000_0000_0000,
    0x7fef_ffff_ffff_ffff,
];
const F16_BITS: [u16; 8] = [
    0x7e01, 0x7c01, 0xfe55, 0x8000, 0x0000, 0x0001, 0x83ff, 0xfc00,
];
const I32_VALUES: [i32; 6] = [i32::MIN, -1, 0, 1, 1000, i32::MAX];
const U8_VALUES: [u8; 6] = [0, 1, 127, 128, 200, 255];

fn f32_tensor() -> Tensor {
    let v: Vec<f32> = F32_BITS.iter().map(|&b| f32::from_bits(b)).collect();
    Tensor::from_vec(vec![2, 5], v).unwrap()
}
fn f64_tensor() -> Tensor {
    let v: Vec<f64> = F64_BITS.iter().map(|&b| f64::from_bits(b)).collect();
    Tensor::from_vec(vec![8], v).unwrap()
}
fn f16_tensor() -> Tensor {
    let v: Vec<f16> = F16_BITS.iter().map(|&b| f16::from_bits(b)).collect();
    Tensor::from_vec(vec![2, 2, 2], v).unwrap()
}
fn i32_tensor() -> Tensor {
    Tensor::from_i32(vec![3, 2], I32_VALUES.to_vec()).unwrap()
}
fn u8_tensor(q: QuantParams) -> Tensor {
    Tensor::quantized(vec![6, 1], U8_VALUES.to_vec(), q).unwrap()
}
const UNIT: QuantParams = QuantParams {
    scale: 1.0,
    zero_point: 0,
};

/// Caffe2's own encoding of each tensor above (dims unpacked, data_type, the packed
/// typed field, name), written from the field numbers.
fn caffe2_encodings() -> Vec<(&'static str, Tensor, Vec<u8>)> {
    let name = |n: &str| ld(NAME, n.as_bytes());
    vec![
        (
            "f",
            f32_tensor(),
            cat(&[
                dims_unpacked(&[2, 5]),
                vfield(DATA_TYPE, FLOAT),
                f32_packed(&F32_BITS),
                name("f"),
            ]),
        ),
        (
            "d",
            f64_tensor(),
            cat(&[
                dims_unpacked(&[8]),
                vfield(DATA_TYPE, DOUBLE),
                name("d"),
                f64_packed(&F64_BITS),
            ]),
        ),
        (
            "h",
            f16_tensor(),
            cat(&[
                dims_unpacked(&[2, 2, 2]),
                vfield(DATA_TYPE, FLOAT16),
                i32_packed(&F16_BITS.map(i64::from)),
                name("h"),
            ]),
        ),
        (
            "i",
            i32_tensor(),
            cat(&[
                dims_unpacked(&[3, 2]),
                vfield(DATA_TYPE, INT32),
                i32_packed(&I32_VALUES.map(i64::from)),
                name("i"),
            ]),
        ),
        (
            "q",
            u8_tensor(UNIT),
            cat(&[
                dims_unpacked(&[6, 1]),
                vfield(DATA_TYPE, UINT8),
                ld(BYTE_DATA, &U8_VALUES),
                name("q"),
            ]),
        ),
    ]
}

#[test]
fn hand_encoded_caffe2_files_read_as_their_tensors_and_the_writer_matches_them() {
    for (name, want, bytes) in caffe2_encodings() {
        let (n, t) = read_one(&bytes);
        assert_eq!(n, name);
        assert!(t == want, "{name}: read {t:?}, want {want:?}");
        assert_eq!(
            want.to_proto_bytes(name).unwrap(),
            bytes,
            "{name}: the writer's bytes differ from Caffe2's encoding"
        );
    }
    // All of them as one TensorProtos file, in order.
    let all = caffe2_encodings();
    let file = protos(&all.iter().map(|(_, _, b)| b.clone()).collect::<Vec<_>>());
    let read = TensorProtos::from_bytes(&file).unwrap();
    assert_eq!(read.tensors.len(), all.len());
    for ((n, t), (name, want, _)) in read.tensors.iter().zip(&all) {
        assert_eq!(n, name);
        assert!(t == want, "{name}");
    }
    let written = TensorProtos {
        tensors: all
            .iter()
            .map(|(n, t, _)| (n.to_string(), t.clone()))
            .collect(),
    };
    assert_eq!(written.to_bytes().unwrap(), file);
}

#[test]
fn round_trips_bit_for_bit() {
    let q = QuantParams {
        scale: 0.25,
        zero_point: 3,
    };
    for t in [
        f32_tensor(),
        f64_tensor(),
        f16_tensor(),
        i32_tensor(),
        u8_tensor(q),
        Tensor::from_vec::<f32>(vec![0, 4], vec![]).unwrap(),
        Tensor::from_vec(vec![], vec![-0.0f64]).unwrap(),
        Tensor::from_i32(vec![3, 0], vec![]).unwrap(),
    ] {
        let bytes = t.to_proto_bytes("").unwrap();
        let (n, back) = read_one(&bytes);
        assert_eq!(n, "");
        assert_eq!(back.dims(), t.dims());
        assert!(back.data().bit_eq(t.data()), "{t:?} -> {back:?}");
        // The scale and zero point have no TensorProto field: u8 reads as scale 1,
        // zero point 0.
        if t.dtype() == DataType::U8 {
            let bq = back.quant().unwrap();
            assert_eq!((bq.scale.to_bits(), bq.zero_point), (1f32.to_bits(), 0));
        } else {
            assert!(back == t);
        }
    }
    let e = Tensor::from_vec(vec![1], vec![half::bf16::ONE])
        .unwrap()
        .to_proto_bytes("b")
        .unwrap_err();
    assert_eq!(kind(&e), OpErrorKind::Unsupported, "{e}");
}

#[test]
fn packed_and_unpacked_fields_read_alike() {
    let cases: Vec<(Tensor, Vec<Vec<u8>>)> = vec![
        (
            f32_tensor(),
            vec![
                cat(&[dims_unpacked(&[2, 5]), f32_packed(&F32_BITS)]),
                cat(&[dims_packed(&[2, 5]), f32_unpacked(&F32_BITS)]),
                // data_type absent: FLOAT, the default. Fields in any order, a packed
                // run split in two, unknown fields and device_detail skipped.
                cat(&[
                    f32_unpacked(&F32_BITS[..3]),
                    vfield(99, 5),
                    ld(DEVICE_DETAIL, &vfield(1, 0)),
                    f32_packed(&F32_BITS[3..]),
                    dims_packed(&[2]),
                    dims_unpacked(&[5]),
                ]),
            ],
        ),
        (
            f64_tensor(),
            vec![
                cat(&[
                    vfield(DATA_TYPE, DOUBLE),
                    dims_packed(&[8]),
                    f64_packed(&F64_BITS),
                ]),
                cat(&[
                    vfield(DATA_TYPE, DOUBLE),
                    dims_unpacked(&[8]),
                    f64_unpacked(&F64_BITS),
                ]),
            ],
        ),
        (
            f16_tensor(),
            vec![
                cat(&[
                    vfield(DATA_TYPE, FLOAT16),
                    dims_unpacked(&[2, 2, 2]),
                    i32_unpacked(&F16_BITS.map(i64::from)),
                ]),
                cat(&[
                    vfield(DATA_TYPE, FLOAT16),
                    dims_packed(&[2, 2, 2]),
                    i32_packed(&F16_BITS.map(i64::from)),
                ]),
            ],
        ),
        (
            i32_tensor(),
            vec![
                cat(&[
                    vfield(DATA_TYPE, INT32),
                    dims_unpacked(&[3, 2]),
                    i32_unpacked(&I32_VALUES.map(i64::from)),
                ]),
                cat(&[
                    vfield(DATA_TYPE, INT32),
                    dims_packed(&[3, 2]),
                    i32_packed(&I32_VALUES.map(i64::from)),
                ]),
            ],
        ),
        (
            // UINT8 in int32_data (older Caffe2 writers), and BYTE in byte_data.
            u8_tensor(UNIT),
            vec![
                cat(&[
                    vfield(DATA_TYPE, UINT8),
                    dims_unpacked(&[6, 1]),
                    i32_unpacked(&U8_VALUES.map(i64::from)),
                ]),
                cat(&[
                    vfield(DATA_TYPE, UINT8),
                    dims_packed(&[6, 1]),
                    i32_packed(&U8_VALUES.map(i64::from)),
                ]),
                cat(&[
                    vfield(DATA_TYPE, BYTE),
                    dims_packed(&[6, 1]),
                    ld(BYTE_DATA, &U8_VALUES),
                ]),
            ],
        ),
    ];
    for (want, encodings) in cases {
        for bytes in encodings {
            let (_, t) = read_one(&bytes);
            assert!(t == want, "{bytes:02x?}: read {t:?}, want {want:?}");
        }
    }
}

#[test]
fn raw_data_is_read_little_endian() {
    let raw = |ty: u64, dims: &[i64], payload: Vec<u8>| {
        cat(&[
            dims_unpacked(dims),
            vfield(DATA_TYPE, ty),
            ld(RAW_DATA, &payload),
        ])
    };
    let cases = [
        (
            f32_tensor(),
            raw(
                FLOAT,
                &[2, 5],
                F32_BITS.iter().flat_map(|b| b.to_le_bytes()).collect(),
            ),
        ),
        (
            f64_tensor(),
            raw(
                DOUBLE,
                &[8],
                F64_BITS.iter().flat_map(|b| b.to_le_bytes()).collect(),
            ),
        ),
        (
            f16_tensor(),
            raw(
                FLOAT16,
                &[2, 2, 2],
                F16_BITS.iter().flat_map(|b| b.to_le_bytes()).collect(),
            ),
        ),
        (
            // FLOAT16 also in byte_data, as raw bytes.
            f16_tensor(),
            cat(&[
                dims_unpacked(&[2, 2, 2]),
                vfield(DATA_TYPE, FLOAT16),
                ld(
                    BYTE_DATA,
                    &F16_BITS
                        .iter()
                        .flat_map(|b| b.to_le_bytes())
                        .collect::<Vec<_>>(),
                ),
            ]),
        ),
        (
            i32_tensor(),
            raw(
                INT32,
                &[3, 2],
                I32_VALUES.iter().flat_map(|b| b.to_le_bytes()).collect(),
            ),
        ),
        (u8_tensor(UNIT), raw(UINT8, &[6, 1], U8_VALUES.to_vec())),
    ];
    for (want, bytes) in cases {
        let (_, t) = read_one(&bytes);
        assert!(t == want, "read {t:?}, want {want:?}");
    }
}

#[test]
fn every_refusal_names_its_kind() {
    use OpErrorKind::*;
    let f1 = f32_packed(&[0]);
    let cases: Vec<(&str, Vec<u8>, OpErrorKind)> = vec![
        (
            "unknown data type",
            cat(&[vfield(DATA_TYPE, 99), dims_unpacked(&[1]), f1.clone()]),
            Unsupported,
        ),
        (
            "STRING",
            cat(&[vfield(DATA_TYPE, STRING), ld(STRING_DATA, b"x")]),
            Unsupported,
        ),
        (
            "INT64",
            cat(&[vfield(DATA_TYPE, INT64), ld(INT64_DATA, &[1])]),
            Unsupported,
        ),
        (
            "negative data type",
            cat(&[vfield(DATA_TYPE, u64::MAX), f1.clone()]),
            Unsupported,
        ),
        (
            "data_format FMT_BFLOAT16",
            cat(&[vfield(DATA_FORMAT, 1), ld(RAW_DATA, &[0, 0])]),
            Unsupported,
        ),
        (
            "segment",
            cat(&[ld(SEGMENT, &cat(&[vfield(1, 0), vfield(2, 1)])), f1.clone()]),
            Unsupported,
        ),
        (
            "fewer floats than dims",
            cat(&[dims_unpacked(&[2, 3]), f32_packed(&[0; 5])]),
            ShapeMismatch,
        ),
        (
            "more floats than dims",
            cat(&[dims_unpacked(&[2]), f32_packed(&[0; 3])]),
            ShapeMismatch,
        ),
        (
            "raw_data one byte short",
            cat(&[dims_unpacked(&[2]), ld(RAW_DATA, &[0; 7])]),
            ShapeMismatch,
        ),
        (
            "no data for a non-empty tensor",
            cat(&[dims_unpacked(&[3])]),
            ShapeMismatch,
        ),
        (
            // A 20-byte file claiming 2^40 elements: refused before any allocation of
            // that size (there is no data to hold them).
            "2^40 elements claimed",
            cat(&[
                dims_unpacked(&[1 << 40]),
                vfield(DATA_TYPE, FLOAT),
                f1.clone(),
            ]),
            ShapeMismatch,
        ),
        (
            "negative dim",
            cat(&[dims_unpacked(&[2, -3]), f1.clone()]),
            Decode,
        ),
        (
            "dims whose product overflows",
            cat(&[dims_unpacked(&[1 << 62, 1 << 62, 4]), f1.clone()]),
            Overflow,
        ),
        (
            "raw_data and float_data",
            cat(&[dims_unpacked(&[1]), f1.clone(), ld(RAW_DATA, &[0; 4])]),
            Decode,
        ),
        (
            "FLOAT in int32_data",
            cat(&[dims_unpacked(&[1]), i32_packed(&[1])]),
            Decode,
        ),
        (
            "DOUBLE in float_data",
            cat(&[vfield(DATA_TYPE, DOUBLE), dims_unpacked(&[1]), f1.clone()]),
            Decode,
        ),
        (
            "INT32 in byte_data",
            cat(&[
                vfield(DATA_TYPE, INT32),
                dims_unpacked(&[1]),
                ld(BYTE_DATA, &[1]),
            ]),
            Decode,
        ),
        (
            "FLOAT16 pattern above 0xffff",
            cat(&[
                vfield(DATA_TYPE, FLOAT16),
                dims_unpacked(&[1]),
                i32_packed(&[70000]),
            ]),
            Decode,
        ),
        (
            "FLOAT16 pattern negative",
            cat(&[
                vfield(DATA_TYPE, FLOAT16),
                dims_unpacked(&[1]),
                i32_packed(&[-1]),
            ]),
            Decode,
        ),
        (
            "UINT8 value 256 in int32_data",
            cat(&[
                vfield(DATA_TYPE, UINT8),
                dims_unpacked(&[1]),
                i32_packed(&[256]),
            ]),
            Decode,
        ),
        (
            "truncated packed floats",
            {
                let mut b = cat(&[dims_unpacked(&[2]), f32_packed(&[0, 0])]);
                b.pop();
                b
            },
            Decode,
        ),
        (
            "length prefix past the end",
            cat(&[key(RAW_DATA, LEN), varint(1 << 40), vec![0; 8]]),
            Decode,
        ),
        (
            "name not UTF-8",
            cat(&[ld(NAME, &[0xff, 0xfe]), f1.clone()]),
            Decode,
        ),
    ];
    for (what, bytes, want) in cases {
        let msg = refuse_one(&bytes, want);
        assert!(!msg.is_empty(), "{what}");
    }
    // The error names the tensor.
    let bad = cat(&[ld(NAME, b"weights"), dims_unpacked(&[2]), f1]);
    let file = protos(&[cat(&[dims_unpacked(&[1]), f32_packed(&[0])]), bad]);
    let e = TensorProtos::from_bytes(&file).unwrap_err();
    assert!(
        e.to_string().contains("#1") && e.to_string().contains("`weights`"),
        "{e}"
    );
}
