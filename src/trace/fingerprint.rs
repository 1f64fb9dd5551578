//! A tensor's fingerprint: exact (a hash of its bytes) and sized (norm, sum, largest magnitude),
//! computed the same way by scripts/trace.py, so two traces compare bit for bit and a difference
//! can be told apart as last-bit drift or a real bug.
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use tch::{Device, Kind, Tensor};

use crate::error::Result;

/// Hex digits of SHA-256 kept: 64 bits, plenty to tell two tensors apart.
const HASH_DIGITS: usize = 16;

/// What the trace keeps of one tensor.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Fingerprint {
    pub name: String,
    /// The first 16 hex digits of SHA-256 over the tensor's contiguous little-endian bytes.
    pub sha: String,
    /// `t.double().norm()`.
    #[serde(with = "number_or_text")]
    pub norm: f64,
    /// `t.double().sum()`.
    #[serde(with = "number_or_text")]
    pub sum: f64,
    /// `t.double().abs().max()` (0 for an empty tensor).
    #[serde(with = "number_or_text")]
    pub max_abs: f64,
    /// Only in the initial state: dtype (PyTorch's name, e.g. `float32`) and shape.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dtype: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shape: Option<Vec<i64>>,
}

/// The first 16 hex digits of SHA-256 over `bytes`.
pub fn hash_bytes(bytes: &[u8]) -> String {
    let digest = Sha256::digest(bytes);
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    hex[..HASH_DIGITS].to_string()
}

/// The tensor's bytes in row-major order, on the host.
pub fn tensor_bytes(t: &Tensor) -> Result<Vec<u8>> {
    let t = t.f_to_device(Device::Cpu)?.f_contiguous()?;
    let numel = t.numel();
    let mut bytes = vec![0u8; numel * t.kind().elt_size_in_bytes()];
    t.f_copy_data_u8(&mut bytes, numel)?;
    Ok(bytes)
}

/// `t`'s fingerprint under `name`; `with_layout` adds dtype and shape.
pub fn fingerprint(name: &str, t: &Tensor, with_layout: bool) -> Result<Fingerprint> {
    let t = t.f_detach()?;
    let wide = t.f_to_kind(Kind::Double)?;
    let max_abs = if t.numel() == 0 {
        0.0
    } else {
        wide.f_abs()?.f_max()?.f_double_value(&[])?
    };
    Ok(Fingerprint {
        name: name.to_string(),
        sha: hash_bytes(&tensor_bytes(&t)?),
        norm: wide.f_norm()?.f_double_value(&[])?,
        sum: wide.f_sum(Kind::Double)?.f_double_value(&[])?,
        max_abs,
        dtype: with_layout.then(|| dtype_name(t.kind())),
        shape: with_layout.then(|| t.size()),
    })
}

/// PyTorch's name of a dtype (`torch.float32` → `float32`).
fn dtype_name(kind: Kind) -> String {
    match kind {
        Kind::Float => "float32".into(),
        Kind::Double => "float64".into(),
        Kind::Half => "float16".into(),
        Kind::BFloat16 => "bfloat16".into(),
        Kind::Int64 => "int64".into(),
        Kind::Int => "int32".into(),
        Kind::Int16 => "int16".into(),
        Kind::Int8 => "int8".into(),
        Kind::Uint8 => "uint8".into(),
        Kind::Bool => "bool".into(),
        other => format!("{other:?}").to_lowercase(),
    }
}

/// A finite `f64` as a JSON number; NaN and the infinities, which JSON lacks, as `"nan"`,
/// `"inf"` and `"-inf"` (scripts/trace.py writes the same).
pub(crate) mod number_or_text {
    use serde::de::Error as _;
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    #[derive(Serialize, Deserialize)]
    #[serde(untagged)]
    enum Form {
        Number(f64),
        Text(String),
    }

    pub fn serialize<S: Serializer>(v: &f64, s: S) -> Result<S::Ok, S::Error> {
        match *v {
            v if v.is_finite() => Form::Number(v),
            v if v.is_nan() => Form::Text("nan".into()),
            v if v > 0.0 => Form::Text("inf".into()),
            _ => Form::Text("-inf".into()),
        }
        .serialize(s)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
        match Form::deserialize(d)? {
            Form::Number(v) => Ok(v),
            Form::Text(t) => match t.as_str() {
                "nan" => Ok(f64::NAN),
                "inf" => Ok(f64::INFINITY),
                "-inf" => Ok(f64::NEG_INFINITY),
                other => Err(D::Error::custom(format!("not a number: {other:?}"))),
            },
        }
    }
}
