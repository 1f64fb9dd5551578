//! Reading what `torch.save(model.state_dict(), path)` writes: a zip archive `<name>/data.pkl`
//! (the pickle, run by the restricted unpickler), `<name>/data/<key>` (each storage's raw
//! little-endian bytes) and `<name>/byteorder`. Only the chosen entry's tensors are read from the
//! archive; each is rebuilt as PyTorch does, a view (offset, strides) of its storage, then copied
//! out contiguous.
use std::collections::HashMap;
use std::io::{Cursor, Read};
use std::path::Path;

use tch::Tensor;
use zip::ZipArchive;

use super::pickle::unpickle;
use super::value::{TensorRef, Value};
use crate::error::{quote, Error, Result};
use crate::tensor_io::NamedTensors;

type Archive<'a> = ZipArchive<Cursor<&'a [u8]>>;

/// The state_dict in `bytes` (a torch.save zip); with `key`, the entry of that name in a
/// checkpoint dict (`{"model": state_dict, …}`). `origin` names the file in errors.
pub fn parse_state_dict(bytes: &[u8], key: Option<&str>, origin: &Path) -> Result<NamedTensors> {
    let fail = |message: String| Error::file(origin, message);
    let mut archive = ZipArchive::new(Cursor::new(bytes))
        .map_err(|e| fail(format!("not a valid torch.save zip archive ({e})")))?;
    let prefix = archive_prefix(&archive).map_err(fail)?;
    let constants = format!("{prefix}constants.pkl");
    if archive.file_names().any(|name| name == constants) {
        return Err(fail(
            "a TorchScript archive (torch.jit.save), not a state_dict: pass it as --model, or \
             save model.state_dict() with torch.save for --init"
                .into(),
        ));
    }
    if let Ok(order) = entry(&mut archive, &format!("{prefix}byteorder")) {
        if order != b"little" {
            return Err(fail(format!(
                "byteorder '{}' is not supported (only little-endian files)",
                String::from_utf8_lossy(&order)
            )));
        }
    }
    let pickle = entry(&mut archive, &format!("{prefix}data.pkl")).map_err(fail)?;
    let value = unpickle(&pickle).map_err(|e| fail(format!("data.pkl: {e}")))?;
    let chosen = select(value, key).map_err(fail)?;
    let mut storages = HashMap::new();
    let mut named = Vec::new();
    for (name, tensor) in chosen {
        let tensor = rebuild(&mut archive, &prefix, &tensor, &mut storages)
            .map_err(|e| fail(format!("tensor '{}': {e}", quote(&name))))?;
        named.push((name, tensor));
    }
    Ok(named)
}

/// `<name>/` of the archive's `<name>/data.pkl` (torch names it after the file's stem).
fn archive_prefix(archive: &Archive<'_>) -> std::result::Result<String, String> {
    let mut pickles = archive.file_names().filter_map(|name| {
        let prefix = name.strip_suffix("data.pkl")?;
        (prefix.ends_with('/') && prefix.matches('/').count() == 1).then(|| prefix.to_string())
    });
    match (pickles.next(), pickles.next()) {
        (Some(prefix), None) => Ok(prefix),
        (None, _) => Err("no <name>/data.pkl in the zip: not a torch.save file".into()),
        (Some(_), Some(_)) => Err("more than one <name>/data.pkl in the zip".into()),
    }
}

/// The whole content of one archive entry (its CRC checked by the zip reader).
fn entry(archive: &mut Archive<'_>, name: &str) -> std::result::Result<Vec<u8>, String> {
    let mut file = archive.by_name(name).map_err(|e| format!("{name}: {e}"))?;
    let mut bytes = Vec::with_capacity(file.size().min(1 << 30) as usize);
    file.read_to_end(&mut bytes)
        .map_err(|e| format!("{name}: cannot read ({e})"))?;
    Ok(bytes)
}

/// The `name → tensor` pairs of the state_dict, chosen by `key` in a checkpoint dict.
fn select(
    value: Value,
    key: Option<&str>,
) -> std::result::Result<Vec<(String, TensorRef)>, String> {
    let value = match key {
        None => value,
        Some(key) => {
            let Value::Dict(pairs) = value else {
                return Err(format!(
                    "--init-key {}: the file holds a {}, not a dict",
                    quote(key),
                    value.type_name()
                ));
            };
            let keys = string_keys(&pairs);
            let found = pairs
                .into_iter()
                .find(|(k, _)| matches!(k, Value::Str(s) if s == key));
            let (_, value) = found.ok_or_else(|| {
                format!(
                    "--init-key {}: no such entry (entries: {})",
                    quote(key),
                    quote(&keys)
                )
            })?;
            value
        }
    };
    let Value::Dict(pairs) = value else {
        return Err(format!("holds a {}, not a state_dict", value.type_name()));
    };
    let keys = string_keys(&pairs);
    pairs
        .into_iter()
        .map(|(name, value)| match (name, value) {
            (Value::Str(name), Value::Tensor(t)) => Ok((name, t)),
            (Value::Str(name), other) if key.is_none() => Err(format!(
                "entry '{}' is a {}, not a tensor: a checkpoint dict? choose its state_dict with \
                 --init-key (entries: {})",
                quote(&name),
                other.type_name(),
                quote(&keys)
            )),
            (name, other) => Err(format!(
                "entry {} is a {}, not a tensor",
                quote(&format!("{name:?}")),
                other.type_name()
            )),
        })
        .collect()
}

fn string_keys(pairs: &[(Value, Value)]) -> String {
    let keys: Vec<String> = pairs
        .iter()
        .map(|(k, _)| match k {
            Value::Str(s) => s.clone(),
            other => format!("{other:?}"),
        })
        .collect();
    keys.join(", ")
}

/// The tensor a `_rebuild_tensor_v2` describes, contiguous; storages are read once and shared.
fn rebuild(
    archive: &mut Archive<'_>,
    prefix: &str,
    tensor: &TensorRef,
    storages: &mut HashMap<String, Tensor>,
) -> std::result::Result<Tensor, String> {
    let storage = &tensor.storage;
    if !storages.contains_key(&storage.key) {
        let bytes = entry(archive, &format!("{prefix}data/{}", storage.key))?;
        let width = storage.kind.elt_size_in_bytes();
        let expected = usize::try_from(storage.numel)
            .ok()
            .and_then(|n| n.checked_mul(width));
        if expected != Some(bytes.len()) {
            return Err(format!(
                "storage data/{} has {} bytes, but {} elements of {:?} were declared",
                storage.key,
                bytes.len(),
                storage.numel,
                storage.kind
            ));
        }
        let flat = Tensor::f_from_data_size(&bytes, &[storage.numel], storage.kind)
            .map_err(|e| e.to_string())?;
        storages.insert(storage.key.clone(), flat);
    }
    check_view(tensor)?;
    let flat = &storages[&storage.key];
    flat.f_as_strided(&tensor.size, &tensor.stride, Some(tensor.offset))
        .and_then(|view| view.f_contiguous())
        .map_err(|e| e.to_string())
}

/// The view stays inside its storage: checked here so that a hostile file cannot make libtorch
/// read outside it.
fn check_view(t: &TensorRef) -> std::result::Result<(), String> {
    let bad = || {
        format!(
            "view (offset {}, size {:?}, stride {:?}) does not fit its storage of {} elements",
            t.offset, t.size, t.stride, t.storage.numel
        )
    };
    if t.size.len() != t.stride.len() || t.offset < 0 {
        return Err(bad());
    }
    if t.size.iter().chain(&t.stride).any(|&d| d < 0) {
        return Err(bad());
    }
    if t.size.contains(&0) {
        return Ok(());
    }
    let mut last = Some(t.offset);
    for (&size, &stride) in t.size.iter().zip(&t.stride) {
        last = last.and_then(|l| l.checked_add((size - 1).checked_mul(stride)?));
    }
    match last {
        Some(last) if last < t.storage.numel => Ok(()),
        _ => Err(bad()),
    }
}

#[cfg(test)]
mod tests {
    use tch::Kind;

    use super::check_view;
    use crate::pt::value::{StorageRef, TensorRef};

    fn view(offset: i64, size: &[i64], stride: &[i64]) -> TensorRef {
        let storage = StorageRef {
            kind: Kind::Float,
            key: "0".into(),
            numel: 12,
        };
        TensorRef {
            storage,
            offset,
            size: size.to_vec(),
            stride: stride.to_vec(),
        }
    }

    /// A hostile view must not make libtorch read outside the storage.
    #[test]
    fn views_must_stay_inside_their_storage() {
        assert!(check_view(&view(0, &[3, 4], &[4, 1])).is_ok());
        assert!(check_view(&view(0, &[4, 3], &[1, 4])).is_ok()); // transposed
        assert!(check_view(&view(11, &[], &[])).is_ok()); // 0-d, last element
        assert!(check_view(&view(500, &[0, 4], &[4, 1])).is_ok()); // empty reads nothing
        for bad in [
            view(1, &[3, 4], &[4, 1]),
            view(12, &[], &[]),
            view(-1, &[2], &[1]),
            view(0, &[2], &[-1]),
            view(0, &[2, 2], &[1]),
            view(0, &[2], &[i64::MAX]),
        ] {
            let error = check_view(&bad).unwrap_err();
            assert!(error.contains("does not fit its storage"), "{error}");
        }
    }
}
