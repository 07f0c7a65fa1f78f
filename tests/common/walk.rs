//! Placing inputs and outputs inside one allocation at chosen distances modulo
//! 4 KiB, so that out-of-place kernels walk up or down (see `tests/stateless/walk_direction.rs`).

use caffe2op_relu::{Element, Kernel};

use super::TestElem;

/// Distances (bytes, modulo 4096) between output and input: small ones walk down,
/// ones just below 4096 walk up, 0 and 2048 sit on the boundaries.
pub const DISTANCES: [usize; 7] = [0, 64, 384, 2048, 2112, 3712, 4032];

pub fn lengths() -> impl Iterator<Item = usize> {
    // Around 4 registers of every ISA (where walking down starts), and longer.
    [
        1, 15, 31, 63, 64, 65, 127, 128, 129, 200, 255, 256, 257, 1000, 4099,
    ]
    .into_iter()
}

/// Element offsets of `x` and `out` in one buffer: `out - x = len + gap` elements,
/// where `gap` is chosen so that the byte distance is `d` modulo 4096.
pub fn layout<T: Element>(len: usize, d: usize, x_off: usize) -> (usize, usize, usize) {
    let s = size_of::<T>();
    let page = 4096 / s;
    let want = d / s;
    let gap = (want + page - len % page) % page + page; // at least one page of gap
    let out = x_off + len + gap;
    (x_off, out, out + len + page)
}

pub fn forward<T: TestElem>(k: &Kernel, x: &[T], d: usize, x_off: usize) {
    let act = k.activation();
    let n = x.len();
    let (xo, oo, total) = layout::<T>(n, d, x_off);
    let fill = T::from_f64(1234.5);
    let mut buf = vec![fill; total];
    buf[xo..xo + n].copy_from_slice(x);
    let (a, b) = buf.split_at_mut(oo);
    k.forward(&a[xo..xo + n], &mut b[..n]).unwrap();
    for (i, (&v, &got)) in x.iter().zip(&buf[oo..oo + n]).enumerate() {
        let want = act.oracle_forward(v).unwrap();
        assert_eq!(
            got.to_bits(),
            want.to_bits(),
            "{} {act:?} {} len {n} d {d}: element {i}",
            T::NAME,
            k.isa()
        );
    }
    let outside = buf[..xo]
        .iter()
        .chain(&buf[xo + n..oo])
        .chain(&buf[oo + n..]);
    assert!(outside.into_iter().all(|v| v.to_bits() == fill.to_bits()));
}

pub fn backward<T: TestElem>(k: &Kernel, y: &[T], dy: &[T], d: usize, x_off: usize) {
    let act = k.activation();
    let n = y.len();
    // y at x_off, dx at distance d above it, dy one page above dx's end.
    let (yo, xo, dyo) = layout::<T>(n, d, x_off);
    let fill = T::from_f64(1234.5);
    let mut buf = vec![fill; dyo + n];
    buf[yo..yo + n].copy_from_slice(y);
    buf[dyo..dyo + n].copy_from_slice(dy);
    let (a, rest) = buf.split_at_mut(xo);
    let (dx, c) = rest.split_at_mut(dyo - xo);
    k.backward(&a[yo..yo + n], &c[..n], &mut dx[..n]).unwrap();
    for i in 0..n {
        let want = act.oracle_backward(y[i], dy[i]).unwrap();
        assert_eq!(
            buf[xo + i].to_bits(),
            want.to_bits(),
            "{} {act:?} {} backward len {n} d {d}: element {i}",
            T::NAME,
            k.isa()
        );
    }
    assert!(
        buf[yo + n..xo]
            .iter()
            .all(|v| v.to_bits() == fill.to_bits())
    );
    assert!(
        buf[xo + n..dyo]
            .iter()
            .all(|v| v.to_bits() == fill.to_bits())
    );
}
