//! Named tensors in safetensors files: the interchange format with PyTorch (state_dicts, data,
//! checkpoints). Reading validates everything before a tensor is built, so a truncated or corrupt
//! file is an error naming the file, never a crash.
use std::collections::HashMap;
use std::path::Path;

use safetensors::tensor::{Dtype, SafeTensors, TensorView};
use tch::{Device, Kind, Tensor};

use crate::atomic::write_atomic;
use crate::error::{Error, Result};

/// Tensors in file order, with their names.
pub type NamedTensors = Vec<(String, Tensor)>;

/// Reads every tensor of a safetensors file (to the CPU).
pub fn read_tensors(path: &Path) -> Result<NamedTensors> {
    let bytes =
        crate::bounded::read(path, crate::bounded::DATA_LIMIT).map_err(|e| Error::file(path, e))?;
    parse_tensors(&bytes, path)
}

/// Reads a state_dict file, by content: a torch.save zip (`.pt`, `.pth`, `.bin`; with `key`, the
/// entry of a checkpoint dict holding it), else safetensors. Content, not the extension, decides:
/// both kinds of file are saved under every name in the wild.
pub fn read_state_dict(path: &Path, key: Option<&str>) -> Result<NamedTensors> {
    let bytes =
        crate::bounded::read(path, crate::bounded::DATA_LIMIT).map_err(|e| Error::file(path, e))?;
    if crate::pt::is_zip(&bytes) {
        return crate::pt::parse_state_dict(&bytes, key, path);
    }
    if crate::pt::is_legacy_pickle(&bytes) {
        return Err(Error::file(path, "a torch.save file in the legacy format (before PyTorch 1.6), which is not read; save it again with a current torch.save"));
    }
    if let Some(key) = key {
        return Err(Error::file(
            path,
            format!(
                "--init-key {} applies to a torch.save file (.pt/.pth), and this is not one",
                crate::error::quote(key)
            ),
        ));
    }
    parse_tensors(&bytes, path)
}

/// Parses safetensors bytes; `origin` names the source in errors.
pub fn parse_tensors(bytes: &[u8], origin: &Path) -> Result<NamedTensors> {
    let file = SafeTensors::deserialize(bytes)
        .map_err(|e| Error::file(origin, format!("not a valid safetensors file ({e})")))?;
    let mut named = Vec::new();
    for (name, view) in file.tensors() {
        named.push((name.clone(), tensor_from_view(&view, &name, origin)?));
    }
    named.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(named)
}

/// Writes named tensors atomically (temporary file, fsync, rename).
pub fn write_tensors(
    path: &Path,
    tensors: &[(String, Tensor)],
    metadata: Option<HashMap<String, String>>,
) -> Result<()> {
    write_atomic(path, &serialize_tensors(tensors, metadata, path)?)
}

/// The safetensors bytes of named tensors (copied to the host); `origin` names the file in errors.
pub fn serialize_tensors(
    tensors: &[(String, Tensor)],
    metadata: Option<HashMap<String, String>>,
    origin: &Path,
) -> Result<Vec<u8>> {
    let mut buffers = Vec::with_capacity(tensors.len());
    for (name, tensor) in tensors {
        let (cpu, data) = host_bytes(tensor)?;
        let dtype = dtype_of(cpu.kind()).ok_or_else(|| {
            Error::Data(format!(
                "tensor '{name}' has dtype {:?}, which safetensors cannot hold",
                cpu.kind()
            ))
        })?;
        let shape: Vec<usize> = cpu.size().iter().map(|&d| d as usize).collect();
        buffers.push((name.clone(), dtype, shape, data));
    }
    let views = buffers
        .iter()
        .map(|(name, dtype, shape, data)| {
            TensorView::new(*dtype, shape.clone(), data)
                .map(|view| (name.clone(), view))
                .map_err(|e| Error::Data(format!("tensor '{name}': {e}")))
        })
        .collect::<Result<Vec<_>>>()?;
    safetensors::serialize(views, &metadata)
        .map_err(|e| Error::file(origin, format!("cannot serialise tensors ({e})")))
}

/// A tensor's contiguous copy on the host and its raw (little-endian) bytes.
pub(crate) fn host_bytes(tensor: &Tensor) -> Result<(Tensor, Vec<u8>)> {
    let cpu = tensor.f_to_device(Device::Cpu)?.f_contiguous()?;
    let numel = cpu.numel();
    let mut data = vec![0u8; numel * cpu.kind().elt_size_in_bytes()];
    cpu.f_copy_data_u8(&mut data, numel)?;
    Ok((cpu, data))
}

fn tensor_from_view(view: &TensorView<'_>, name: &str, origin: &Path) -> Result<Tensor> {
    let kind = kind_of(view.dtype()).ok_or_else(|| {
        Error::file(
            origin,
            format!("tensor '{name}' has unsupported dtype {:?}", view.dtype()),
        )
    })?;
    let shape: Vec<i64> = view.shape().iter().map(|&d| d as i64).collect();
    Tensor::f_from_data_size(view.data(), &shape, kind)
        .map_err(|e| Error::file(origin, format!("tensor '{name}': {e}")))
}

fn kind_of(dtype: Dtype) -> Option<Kind> {
    Some(match dtype {
        Dtype::F32 => Kind::Float,
        Dtype::F64 => Kind::Double,
        Dtype::F16 => Kind::Half,
        Dtype::BF16 => Kind::BFloat16,
        Dtype::I64 => Kind::Int64,
        Dtype::I32 => Kind::Int,
        Dtype::I16 => Kind::Int16,
        Dtype::I8 => Kind::Int8,
        Dtype::U8 => Kind::Uint8,
        Dtype::BOOL => Kind::Bool,
        _ => return None,
    })
}

fn dtype_of(kind: Kind) -> Option<Dtype> {
    Some(match kind {
        Kind::Float => Dtype::F32,
        Kind::Double => Dtype::F64,
        Kind::Half => Dtype::F16,
        Kind::BFloat16 => Dtype::BF16,
        Kind::Int64 => Dtype::I64,
        Kind::Int => Dtype::I32,
        Kind::Int16 => Dtype::I16,
        Kind::Int8 => Dtype::I8,
        Kind::Uint8 => Dtype::U8,
        Kind::Bool => Dtype::BOOL,
        _ => return None,
    })
}
