//! `--data` files that are not valid safetensors or hold nothing usable: damaged copies,
//! hand-made headers that lie, a directory and a missing file.
use super::corrupt::corruptions;
use super::own_cases::{file_name, Cases, Task};
use crate::own_fixture::path;

/// A safetensors file from a raw header: 8 bytes of length, the header, `data_len` zero bytes.
fn raw_safetensors(header: &str, data_len: usize) -> Vec<u8> {
    let mut bytes = (header.len() as u64).to_le_bytes().to_vec();
    bytes.extend_from_slice(header.as_bytes());
    bytes.resize(bytes.len() + data_len, 0);
    bytes
}

/// One tensor's header entry: dtype, shape (as JSON) and data offsets.
type Entry<'a> = (&'a str, &'a str, [usize; 2]);

/// A file of `inputs` and `targets` whose header says what the entries say, whatever the data.
fn crafted(inputs: Entry<'_>, targets: Entry<'_>, data_len: usize) -> Vec<u8> {
    let entry = |(dtype, shape, [from, to]): Entry<'_>| {
        format!(r#"{{"dtype":"{dtype}","shape":{shape},"data_offsets":[{from},{to}]}}"#)
    };
    let header = format!(
        r#"{{"inputs":{},"targets":{}}}"#,
        entry(inputs),
        entry(targets)
    );
    raw_safetensors(&header, data_len)
}

/// Truncated, random and header-damaged data files, and hand-made headers that lie.
pub(super) fn damaged_data_cases(cases: &mut Cases, model: &str, valid: &str) {
    let bytes = std::fs::read(valid).unwrap();
    for (i, (name, damaged)) in corruptions(&bytes, 5, 5).into_iter().enumerate() {
        let data = cases.file(&format!("data-{name}.safetensors"), &damaged);
        let needle = format!("{}: not a valid safetensors file", file_name(&data));
        let task = Task::new(model, &data, "mse");
        cases.add(&format!("--data {name}"), task, &needle, i % 5 == 2);
    }
    // Two samples of five features: 40 bytes of inputs, then 8 of targets.
    let (x, y) = (("F32", "[2,5]", [0, 40]), ("F32", "[2,1]", [40, 48]));
    let mut too_long = crafted(x, y, 48);
    let header_len = too_long.len() as u64 - 48;
    too_long[..8].copy_from_slice(&(header_len + 100).to_le_bytes());
    let mut huge = crafted(x, y, 48);
    huge[..8].copy_from_slice(&u64::MAX.to_le_bytes());
    let invalid: Vec<(&str, Vec<u8>)> = vec![
        ("header-longer-than-file", too_long),
        ("header-length-max", huge),
        ("header-not-object", raw_safetensors("[1, 2, 3]", 0)),
        ("header-not-json", raw_safetensors("{\"inputs\": ", 48)),
        ("data-missing", crafted(x, y, 20)),
        ("trailing-bytes", crafted(x, y, 60)),
        ("shape-vs-bytes", crafted(("F32", "[2,6]", [0, 40]), y, 48)),
        ("unknown-dtype", crafted(("Q4", "[2,5]", [0, 40]), y, 48)),
        ("negative-dim", crafted(("F32", "[-2,5]", [0, 40]), y, 48)),
        (
            "overlapping-offsets",
            crafted(x, ("F32", "[2,1]", [0, 8]), 48),
        ),
        (
            "gap-between-tensors",
            crafted(x, ("F32", "[2,1]", [48, 56]), 56),
        ),
        (
            "shape-overflow",
            crafted(("F32", "[4611686018427387904,4]", [0, 40]), y, 48),
        ),
    ];
    for (i, (name, bytes)) in invalid.into_iter().enumerate() {
        let data = cases.file(&format!("data-{name}.safetensors"), &bytes);
        let needle = format!("{}: not a valid safetensors file", file_name(&data));
        let task = Task::new(model, &data, "mse");
        cases.add(&format!("--data {name}"), task, &needle, i % 6 == 0);
    }
    // Valid safetensors that hold nothing usable.
    let unusable: Vec<(&str, Vec<u8>, &str)> = vec![
        (
            "no-tensors",
            raw_safetensors("{}", 0),
            "missing tensor 'inputs' (the file holds no tensors)",
        ),
        (
            "metadata-only",
            raw_safetensors(r#"{"__metadata__":{"format":"pt"}}"#, 0),
            "missing tensor 'inputs' (the file holds no tensors)",
        ),
        (
            "u16-inputs",
            crafted(("U16", "[2,5]", [0, 20]), ("F32", "[2,1]", [20, 28]), 28),
            "tensor 'inputs' has unsupported dtype U16",
        ),
        (
            "f8-targets",
            crafted(x, ("F8_E4M3", "[2,1]", [40, 42]), 42),
            "tensor 'targets' has unsupported dtype F8_E4M3",
        ),
    ];
    for (i, (name, bytes, needle)) in unusable.into_iter().enumerate() {
        let data = cases.file(&format!("data-{name}.safetensors"), &bytes);
        let task = Task::new(model, &data, "mse");
        cases.add(&format!("--data {name}"), task, needle, i % 2 == 0);
    }
    // A directory and a missing file.
    let folder = cases.dir.join("files").join("a-folder.safetensors");
    std::fs::create_dir_all(&folder).unwrap();
    let folder = path(&folder);
    let missing = path(&cases.dir.join("files").join("missing.safetensors"));
    cases.both(
        "--data directory",
        Task::new(model, &folder, "mse"),
        "a-folder.safetensors: is a directory",
    );
    cases.both(
        "--data missing",
        Task::new(model, &missing, "mse"),
        "missing.safetensors: No such file",
    );
}
