//! An f64 in JSON with its infinities and NaN (JSON numbers have none): a number, or the
//! strings "inf", "-inf", "nan". Lightning's best score starts at ±inf.
use serde::{Deserialize, Deserializer, Serialize, Serializer};

#[derive(Serialize, Deserialize)]
#[serde(untagged)]
enum Form {
    Number(f64),
    Text(String),
}

pub fn serialize<S: Serializer>(v: &f64, s: S) -> Result<S::Ok, S::Error> {
    match *v {
        v if v.is_nan() => Form::Text("nan".into()),
        f64::INFINITY => Form::Text("inf".into()),
        f64::NEG_INFINITY => Form::Text("-inf".into()),
        v => Form::Number(v),
    }
    .serialize(s)
}

pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
    match Form::deserialize(d)? {
        Form::Number(v) => Ok(v),
        Form::Text(t) => match t.as_str() {
            "inf" => Ok(f64::INFINITY),
            "-inf" => Ok(f64::NEG_INFINITY),
            "nan" => Ok(f64::NAN),
            _ => Err(serde::de::Error::custom(format!(
                "expected a number, got \"{t}\""
            ))),
        },
    }
}
