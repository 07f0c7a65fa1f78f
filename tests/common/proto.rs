//! Hand encoding of protobuf wire bytes, for tests that feed the decoder messages the
//! crate's own encoder would never write (wrong wire types, lying length prefixes,
//! deep nesting). Field numbers are those of caffe2.proto.

/// The wire types of the protobuf encoding (6 and 7 are unassigned).
pub const VARINT: u8 = 0;
pub const I64: u8 = 1;
pub const LEN: u8 = 2;
pub const SGROUP: u8 = 3;
pub const EGROUP: u8 = 4;
pub const I32: u8 = 5;

/// `v` as a base-128 varint, least significant group first.
pub fn varint(mut v: u64) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let b = (v & 0x7f) as u8;
        v >>= 7;
        if v == 0 {
            out.push(b);
            return out;
        }
        out.push(b | 0x80);
    }
}

/// The key of a field: its number and wire type, as a varint (any field number).
pub fn key(field: u32, wire: u8) -> Vec<u8> {
    varint(u64::from(field) << 3 | u64::from(wire))
}

/// A length-delimited field holding `payload`, with a truthful length prefix.
pub fn ld(field: u32, payload: &[u8]) -> Vec<u8> {
    let mut v = key(field, LEN);
    v.extend(varint(payload.len() as u64));
    v.extend_from_slice(payload);
    v
}
