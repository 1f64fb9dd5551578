//! Bit-for-bit tensor comparison: same dtype, same shape, same bytes. `allclose` would hide the
//! last-bit drift these tests exist to catch (and `==` would call -0.0 and 0.0 equal).
#![allow(dead_code)]

use tch::{Device, Kind, Tensor};

/// The tensor's bytes, in row-major order.
pub fn raw_bytes(t: &Tensor) -> Vec<u8> {
    let t = t.to_device(Device::Cpu).contiguous();
    let numel = t.numel();
    let mut bytes = vec![0u8; numel * t.kind().elt_size_in_bytes()];
    t.copy_data_u8(&mut bytes, numel);
    bytes
}

/// Whether two tensors have the same dtype, shape and bits.
pub fn same_bits(a: &Tensor, b: &Tensor) -> bool {
    a.kind() == b.kind() && a.size() == b.size() && raw_bytes(a) == raw_bytes(b)
}

/// Panics, saying how far apart they are, unless `actual` and `expected` are bit-identical.
pub fn assert_bits_eq(what: &str, actual: &Tensor, expected: &Tensor) {
    assert_eq!(actual.kind(), expected.kind(), "{what}: dtype");
    assert_eq!(actual.size(), expected.size(), "{what}: shape");
    if raw_bytes(actual) == raw_bytes(expected) {
        return;
    }
    let (a, e) = (
        actual.to_kind(Kind::Double).flatten(0, -1),
        expected.to_kind(Kind::Double).flatten(0, -1),
    );
    let a: Vec<f64> = Vec::try_from(&a).expect("f64 values");
    let e: Vec<f64> = Vec::try_from(&e).expect("f64 values");
    let differing: Vec<usize> = (0..a.len())
        .filter(|&i| a[i].to_bits() != e[i].to_bits())
        .collect();
    let max_abs = differing
        .iter()
        .map(|&i| (a[i] - e[i]).abs())
        .fold(0.0, f64::max);
    let first = differing[0];
    panic!(
        "{what}: {} of {} elements differ (max abs diff {max_abs:e}); first at {first}: {:e} vs {:e}",
        differing.len(),
        a.len(),
        a[first],
        e[first]
    );
}

/// Asserts two named tensor lists hold the same names with bit-identical tensors.
pub fn assert_named_bits_eq(
    what: &str,
    actual: &[(String, Tensor)],
    expected: &[(String, Tensor)],
) {
    let names = |v: &[(String, Tensor)]| {
        let mut n: Vec<String> = v.iter().map(|(n, _)| n.clone()).collect();
        n.sort();
        n
    };
    assert_eq!(names(actual), names(expected), "{what}: names");
    for (name, a) in actual {
        let e = &expected
            .iter()
            .find(|(n, _)| n == name)
            .expect("same names")
            .1;
        assert_bits_eq(&format!("{what}: {name}"), a, e);
    }
}
