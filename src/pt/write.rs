//! Writing a state_dict as `torch.save(model.state_dict(), path)` does (torch/serialization.py
//! `_save`, caffe2 `PyTorchFileWriter`): a pickle protocol 2 `OrderedDict` of
//! `_rebuild_tensor_v2(storage, 0, size, stride, False, OrderedDict())`, one storage per tensor,
//! in a zip whose entries are stored uncompressed with their data 64-byte aligned (torch's "FB"
//! padding field), beside `.format_version`, `.storage_alignment`, `byteorder` and `version`.
use std::io::{Cursor, Write};
use std::path::Path;

use tch::Tensor;
use zip::write::FileOptions;
use zip::{CompressionMethod, ZipWriter};

use super::value::Global;
use crate::atomic::write_atomic;
use crate::error::{Error, Result};
use crate::tensor_io::host_bytes;

/// torch's `kFieldAlignment`: where each entry's data starts.
const ALIGNMENT: u64 = 64;
/// What torch 2.x writes as `version` (the archive format PyTorchStreamReader checks).
const ARCHIVE_VERSION: &[u8] = b"3\n";

/// Writes named tensors as a `.pth` file `torch.load(path, weights_only=True)` reads, atomically.
pub fn write_state_dict(path: &Path, tensors: &[(String, Tensor)]) -> Result<()> {
    let stem = path
        .file_stem()
        .and_then(|s| s.to_str())
        .unwrap_or("archive");
    write_atomic(path, &serialize_state_dict(tensors, stem, path)?)
}

/// The bytes of such a file; `archive` is the folder name inside the zip (torch: the stem).
pub fn serialize_state_dict(
    tensors: &[(String, Tensor)],
    archive: &str,
    origin: &Path,
) -> Result<Vec<u8>> {
    let mut storages = Vec::with_capacity(tensors.len());
    let mut pickle = Pickle::default();
    pickle.ordered_dict_start();
    for (index, (name, tensor)) in tensors.iter().enumerate() {
        let (cpu, data) = host_bytes(tensor)?;
        let storage = Global::storage_name(cpu.kind()).ok_or_else(|| {
            Error::Data(format!(
                "tensor '{name}' has dtype {:?}, which torch.save storages cannot hold here",
                cpu.kind()
            ))
        })?;
        pickle.tensor(
            name,
            storage,
            &index.to_string(),
            &cpu.size(),
            &cpu.stride(),
            cpu.numel(),
        );
        storages.push(data);
    }
    pickle.ordered_dict_end();
    zip_archive(archive, &pickle.bytes, &storages)
        .map_err(|e| Error::file(origin, format!("cannot write the zip archive ({e})")))
}

/// The archive's entries in torch's order, each aligned as `PyTorchFileWriter` aligns them.
fn zip_archive(
    archive: &str,
    pickle: &[u8],
    storages: &[Vec<u8>],
) -> zip::result::ZipResult<Vec<u8>> {
    let mut zip = ZipWriter::new(Cursor::new(Vec::new()));
    let mut record = |name: String, data: &[u8]| -> zip::result::ZipResult<()> {
        let options = FileOptions::default().compression_method(CompressionMethod::Stored);
        let data_start = zip.start_file_with_extra_data(format!("{archive}/{name}"), options)?;
        // torch's getPadding: an extra field "FB" whose 'Z' bytes push the data to a multiple of 64.
        let pad = (ALIGNMENT - (data_start + 4) % ALIGNMENT) % ALIGNMENT;
        zip.write_all(b"FB")?;
        zip.write_all(&(pad as u16).to_le_bytes())?;
        zip.write_all(&vec![b'Z'; pad as usize])?;
        zip.end_local_start_central_extra_data()?;
        zip.end_extra_data()?;
        zip.write_all(data)?;
        Ok(())
    };
    record("data.pkl".into(), pickle)?;
    record(".format_version".into(), b"1")?;
    record(
        ".storage_alignment".into(),
        ALIGNMENT.to_string().as_bytes(),
    )?;
    record("byteorder".into(), b"little")?;
    for (key, data) in storages.iter().enumerate() {
        record(format!("data/{key}"), data)?;
    }
    record("version".into(), ARCHIVE_VERSION)?;
    Ok(zip.finish()?.into_inner())
}

/// A protocol 2 pickle, opcode by opcode, as Python's pickler emits a state_dict (without the
/// memo, which loading does not need).
#[derive(Default)]
struct Pickle {
    bytes: Vec<u8>,
}

impl Pickle {
    fn ordered_dict_start(&mut self) {
        self.bytes.extend_from_slice(&[0x80, 2]); // PROTO 2
        self.ordered_dict();
        self.bytes.push(b'('); // MARK: the items, then SETITEMS
    }

    fn ordered_dict_end(&mut self) {
        self.bytes.extend_from_slice(b"u."); // SETITEMS, STOP
    }

    /// `collections.OrderedDict()`.
    fn ordered_dict(&mut self) {
        self.global("collections", "OrderedDict");
        self.bytes.extend_from_slice(b")R"); // EMPTY_TUPLE, REDUCE
    }

    /// `name`, `_rebuild_tensor_v2(('storage', torch.<storage>, key, 'cpu', numel), 0, size,
    /// stride, False, OrderedDict())`.
    fn tensor(
        &mut self,
        name: &str,
        storage: &str,
        key: &str,
        size: &[i64],
        stride: &[i64],
        numel: usize,
    ) {
        self.text(name);
        self.global("torch._utils", "_rebuild_tensor_v2");
        self.bytes.extend_from_slice(b"(("); // MARK args, MARK persistent id
        self.text("storage");
        self.global("torch", storage);
        self.text(key);
        self.text("cpu");
        self.int(numel as i64);
        self.bytes.extend_from_slice(b"tQ"); // TUPLE, BINPERSID
        self.int(0);
        self.tuple(size);
        self.tuple(stride);
        self.bytes.push(0x89); // NEWFALSE: requires_grad
        self.ordered_dict(); // backward_hooks
        self.bytes.extend_from_slice(b"tR"); // TUPLE, REDUCE
    }

    fn global(&mut self, module: &str, name: &str) {
        self.bytes.push(b'c');
        self.bytes
            .extend_from_slice(format!("{module}\n{name}\n").as_bytes());
    }

    fn text(&mut self, text: &str) {
        self.bytes.push(b'X'); // BINUNICODE
        self.bytes
            .extend_from_slice(&(text.len() as u32).to_le_bytes());
        self.bytes.extend_from_slice(text.as_bytes());
    }

    fn int(&mut self, value: i64) {
        match value {
            0..=0xff => self.bytes.extend_from_slice(&[b'K', value as u8]),
            0x100..=0xffff => {
                self.bytes.push(b'M');
                self.bytes.extend_from_slice(&(value as u16).to_le_bytes());
            }
            _ if i32::try_from(value).is_ok() => {
                self.bytes.push(b'J');
                self.bytes.extend_from_slice(&(value as i32).to_le_bytes());
            }
            _ => {
                self.bytes.extend_from_slice(&[0x8a, 8]); // LONG1, 8 bytes
                self.bytes.extend_from_slice(&value.to_le_bytes());
            }
        }
    }

    fn tuple(&mut self, items: &[i64]) {
        match items.len() {
            0 => self.bytes.push(b')'),
            n @ 1..=3 => {
                items.iter().for_each(|&i| self.int(i));
                self.bytes.push(0x84 + n as u8); // TUPLE1..3
            }
            _ => {
                self.bytes.push(b'(');
                items.iter().for_each(|&i| self.int(i));
                self.bytes.push(b't');
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use tch::{Kind, Tensor};

    use super::serialize_state_dict;
    use crate::pt::parse_state_dict;

    /// Every storage type, a 0-d and an empty tensor, a transposed input: written, then read back
    /// by the reader (which PyTorch's own files test) to the same bits, shapes and dtypes.
    #[test]
    fn every_dtype_round_trips_through_the_reader() {
        let base = Tensor::arange(12, (Kind::Float, tch::Device::Cpu)) - 5.5;
        let mut named: Vec<(String, Tensor)> = [
            Kind::Float,
            Kind::Double,
            Kind::Half,
            Kind::BFloat16,
            Kind::Int64,
            Kind::Int,
            Kind::Int16,
            Kind::Int8,
            Kind::Uint8,
            Kind::Bool,
        ]
        .iter()
        .map(|&k| (format!("{k:?}"), base.reshape([3, 4]).to_kind(k)))
        .collect();
        named.push(("transposed".into(), base.reshape([3, 4]).tr()));
        named.push(("scalar".into(), Tensor::from(2.5f64)));
        named.push((
            "empty".into(),
            Tensor::zeros([0, 3], (Kind::Float, tch::Device::Cpu)),
        ));
        let bytes = serialize_state_dict(&named, "model", Path::new("model.pth")).unwrap();
        let back = parse_state_dict(&bytes, None, Path::new("model.pth")).unwrap();
        assert_eq!(back.len(), named.len());
        for ((name, want), (got_name, got)) in named.iter().zip(&back) {
            assert_eq!(name, got_name);
            assert_eq!(
                (got.kind(), got.size()),
                (want.kind(), want.size()),
                "{name}"
            );
            let (_, want_bytes) = crate::tensor_io::host_bytes(want).unwrap();
            let (_, got_bytes) = crate::tensor_io::host_bytes(got).unwrap();
            assert_eq!(got_bytes, want_bytes, "{name}");
        }
    }
}
