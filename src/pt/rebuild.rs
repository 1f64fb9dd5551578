//! What REDUCE and BINPERSID build: the whitelisted callables applied as data, never called.
//! `OrderedDict()` is an empty dict, `_rebuild_tensor_v2(storage, offset, size, stride, …)` a
//! [`TensorRef`], `_rebuild_parameter(tensor, …)` the tensor, and a persistent id
//! `('storage', torch.XStorage, key, location, numel)` a [`StorageRef`].
use super::value::{Global, StorageRef, TensorRef, Value};

/// REDUCE: the whitelisted callables, applied as data.
pub(super) fn reduce(callable: Value, args: Value) -> Result<Value, String> {
    let Value::Tuple(args) = args else {
        return Err(format!("REDUCE with {} arguments", args.type_name()));
    };
    let Value::Global(global) = callable else {
        return Err(format!("REDUCE of a {}", callable.type_name()));
    };
    match (global, args.as_slice()) {
        (Global::OrderedDict, []) => Ok(Value::Dict(Vec::new())),
        (
            Global::RebuildTensorV2,
            [Value::Storage(storage), Value::Int(offset), Value::Tuple(size), Value::Tuple(stride), _requires_grad, _hooks, ..],
        ) => Ok(Value::Tensor(TensorRef {
            storage: storage.clone(),
            offset: *offset,
            size: ints(size, "size")?,
            stride: ints(stride, "stride")?,
        })),
        (Global::RebuildParameter, [tensor @ Value::Tensor(_), ..]) => Ok(tensor.clone()),
        (global, _) => Err(format!("{global:?} called with unexpected arguments")),
    }
}

fn ints(items: &[Value], what: &str) -> Result<Vec<i64>, String> {
    items
        .iter()
        .map(|v| match v {
            Value::Int(i) => Ok(*i),
            other => Err(format!("a tensor {what} holding a {}", other.type_name())),
        })
        .collect()
}

/// BINPERSID's `('storage', torch.XStorage, key, location, numel)`.
pub(super) fn storage(pid: Value) -> Result<StorageRef, String> {
    match pid {
        Value::Tuple(items) => match items.as_slice() {
            [Value::Str(tag), Value::Global(Global::StorageType(kind)), Value::Str(key), Value::Str(_location), Value::Int(numel)]
                if tag == "storage" =>
            {
                Ok(StorageRef {
                    kind: *kind,
                    key: key.clone(),
                    numel: *numel,
                })
            }
            _ => Err("a persistent id that is not ('storage', type, key, location, numel)".into()),
        },
        other => Err(format!("a persistent id that is a {}", other.type_name())),
    }
}
