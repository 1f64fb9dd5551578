//! The restricted unpickler on hand-written opcode streams (what `pickletools.dis` shows for
//! `torch.save` output), and on streams it must refuse.
use tch::Kind;

use super::unpickle;
use crate::pt::value::{StorageRef, TensorRef, Value};

fn text(s: &str) -> Vec<u8> {
    let mut out = vec![b'X'];
    out.extend_from_slice(&(s.len() as u32).to_le_bytes());
    out.extend_from_slice(s.as_bytes());
    out
}

fn program(parts: &[&[u8]]) -> Vec<u8> {
    let mut out = vec![0x80, 2];
    parts.iter().for_each(|p| out.extend_from_slice(p));
    out.push(b'.');
    out
}

#[test]
fn scalars_as_python_reads_them() {
    // pickle.dumps((5, 300, -2, -129, 1.5, True, None), protocol=2)
    let long = [0x8a, 2, 0x7f, 0xff]; // LONG1 -129
    let float = [b'G', 0x3f, 0xf8, 0, 0, 0, 0, 0, 0]; // 1.5, big-endian
    let bytes = program(&[
        b"(K\x05M\x2c\x01J\xfe\xff\xff\xff",
        &long,
        &float,
        b"\x88Nt",
    ]);
    let want = Value::Tuple(vec![
        Value::Int(5),
        Value::Int(300),
        Value::Int(-2),
        Value::Int(-129),
        Value::Float(1.5),
        Value::Bool(true),
        Value::None,
    ]);
    assert_eq!(unpickle(&bytes).unwrap(), want);
}

#[test]
fn dicts_lists_and_the_memo() {
    // {"a": [1, 2], "b": <memo 0 = [1, 2]>}, then "a" set again: the last value wins.
    let bytes = program(&[
        b"}(",
        &text("a"),
        b"](K\x01K\x02eq\x00",
        &text("b"),
        b"h\x00u",
        &text("a"),
        b"K\x07s",
    ]);
    let list = Value::List(vec![Value::Int(1), Value::Int(2)]);
    let want = Value::Dict(vec![
        (Value::Str("a".into()), Value::Int(7)),
        (Value::Str("b".into()), list),
    ]);
    assert_eq!(unpickle(&bytes).unwrap(), want);
}

#[test]
fn a_state_dict_entry_becomes_a_tensor_reference() {
    // OrderedDict([("w", _rebuild_tensor_v2(('storage', torch.FloatStorage, '0', 'cpu', 6),
    //               2, (2, 2), (1, 2), False, OrderedDict()))]), with `_metadata` by BUILD.
    let bytes = program(&[
        b"ccollections\nOrderedDict\nq\x00)Rq\x01(",
        &text("w"),
        b"ctorch._utils\n_rebuild_tensor_v2\n((",
        &text("storage"),
        b"ctorch\nFloatStorage\n",
        &text("0"),
        &text("cpu"),
        b"K\x06tQK\x02K\x02K\x02\x86K\x01K\x02\x86\x89h\x00)RtRu}",
        &text("_metadata"),
        b"}sb",
    ]);
    let tensor = TensorRef {
        storage: StorageRef {
            kind: Kind::Float,
            key: "0".into(),
            numel: 6,
        },
        offset: 2,
        size: vec![2, 2],
        stride: vec![1, 2],
    };
    let want = Value::Dict(vec![(Value::Str("w".into()), Value::Tensor(tensor))]);
    assert_eq!(unpickle(&bytes).unwrap(), want);
}

#[test]
fn globals_outside_the_whitelist_are_refused() {
    for (module, name) in [("os", "system"), ("builtins", "eval"), ("torch", "load")] {
        // (module.name)("touch PWNED") — refused at GLOBAL, before any REDUCE.
        let global = format!("c{module}\n{name}\n");
        let bytes = program(&[global.as_bytes(), &text("touch PWNED"), b"\x85R"]);
        let error = unpickle(&bytes).unwrap_err();
        assert!(
            error.contains(&format!("refused global {module}.{name}")),
            "{error}"
        );
    }
    // STACK_GLOBAL spells it with two strings: the same refusal.
    let bytes = program(&[&text("posix"), &text("system"), b"\x93"]);
    assert!(unpickle(&bytes)
        .unwrap_err()
        .contains("refused global posix.system"));
}

#[test]
fn reduce_applies_only_what_it_knows() {
    // A storage type called as a function, and a string "called".
    let storage_call = program(&[b"ctorch\nFloatStorage\n)R"]);
    assert!(unpickle(&storage_call)
        .unwrap_err()
        .contains("unexpected arguments"));
    let string_call = program(&[&text("x"), b")R"]);
    assert!(unpickle(&string_call)
        .unwrap_err()
        .contains("REDUCE of a str"));
    // A persistent id that is not a storage.
    let pid = program(&[&text("file"), b"\x85Q"]);
    assert!(unpickle(&pid).unwrap_err().contains("persistent id"));
}

#[test]
fn broken_streams_are_errors_not_panics() {
    let cases: &[(&[u8], &str)] = &[
        (b"\x80\x02X\xff\x00\x00\x00ab", "truncated"),
        (b"\x80\x02", "truncated"),
        (b"\x80\x02t.", "no MARK"),
        (b"\x80\x02s.", "underflow"),
        (b"\x80\x02h\x05.", "memo 5 was never set"),
        (b"\x80\x02i.", "not an opcode"),
        (b"\x80\x09.", "protocol 9"),
        (b"\x80\x02K\x01K\x02a.", "APPEND to a int"),
        (b"\x80\x02cos\nsys", "without its newline"),
    ];
    for (bytes, needle) in cases {
        let error = unpickle(bytes).unwrap_err();
        assert!(error.contains(needle), "{bytes:?}: {error}");
        assert!(!error.contains('\n'), "one line: {error}");
    }
}

#[test]
fn deep_nesting_and_memo_bombs_are_refused() {
    // 100k nested lists: refused at depth 64 instead of overflowing the stack on drop.
    let mut deep = vec![0x80, 2];
    deep.extend(vec![b']'; 100_000]);
    deep.extend(vec![b'a'; 99_999]);
    deep.push(b'.');
    assert!(unpickle(&deep).unwrap_err().contains("nested deeper"));
    // A list put in the memo and appended to itself, doubling each time.
    let mut bomb = b"\x80\x02](K\x01K\x01K\x01K\x01K\x01K\x01K\x01K\x01eq\x00".to_vec();
    for _ in 0..40 {
        bomb.extend_from_slice(b"(h\x00h\x00lq\x00");
    }
    bomb.push(b'.');
    let error = unpickle(&bomb).unwrap_err();
    assert!(
        error.contains("copied") || error.contains("nested"),
        "{error}"
    );
}
