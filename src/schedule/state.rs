//! Schedulers' saved state as JSON objects tagged with the class name. Floats are JSON numbers
//! (shortest round-trip form; reading them back needs serde_json's `float_roundtrip`), except the
//! non-finite ones JSON lacks (ReduceLROnPlateau's `best` starts at inf), which are the strings
//! "inf", "-inf" and "nan".
use serde_json::{Map, Value as Json};

use crate::error::{Error, Result};

/// A float as JSON.
pub(super) fn float(x: f64) -> Json {
    match serde_json::Number::from_f64(x) {
        Some(n) => Json::Number(n),
        None if x.is_nan() => Json::from("nan"),
        None => Json::from(if x > 0.0 { "inf" } else { "-inf" }),
    }
}

/// Floats as a JSON array.
pub(super) fn floats(xs: &[f64]) -> Json {
    Json::Array(xs.iter().copied().map(float).collect())
}

/// A new state object of scheduler `name`.
pub(super) fn object(name: &str) -> Map<String, Json> {
    let mut m = Map::new();
    m.insert("scheduler".into(), Json::from(name));
    m
}

/// A saved state being read back into scheduler `name`, with errors naming it and the key.
pub(super) struct Saved<'s> {
    name: &'static str,
    obj: &'s Map<String, Json>,
}

impl<'s> Saved<'s> {
    /// Checks that `state` is an object saved by a `name`.
    pub(super) fn of(state: &'s Json, name: &'static str) -> Result<Self> {
        let obj = state
            .as_object()
            .ok_or_else(|| Error::Config(format!("{name} state: expected a JSON object")))?;
        match obj.get("scheduler").and_then(Json::as_str) {
            Some(n) if n == name => Ok(Saved { name, obj }),
            Some(n) => Err(Error::Config(format!(
                "{name} state: saved by a {n}, not a {name}"
            ))),
            None => Err(Error::Config(format!(
                "{name} state: no \"scheduler\" name"
            ))),
        }
    }

    fn bad(&self, key: &str, expected: &str) -> Error {
        Error::Config(format!(
            "{} state: \"{key}\" is missing or not {expected}",
            self.name
        ))
    }

    pub(super) fn int(&self, key: &str) -> Result<i64> {
        self.obj
            .get(key)
            .and_then(Json::as_i64)
            .ok_or_else(|| self.bad(key, "an integer"))
    }

    pub(super) fn float(&self, key: &str) -> Result<f64> {
        self.obj
            .get(key)
            .and_then(json_float)
            .ok_or_else(|| self.bad(key, "a float"))
    }

    /// A list of `n` floats (one per parameter group).
    pub(super) fn floats(&self, key: &str, n: usize) -> Result<Vec<f64>> {
        self.obj
            .get(key)
            .and_then(Json::as_array)
            .and_then(|a| a.iter().map(json_float).collect::<Option<Vec<f64>>>())
            .filter(|v| v.len() == n)
            .ok_or_else(|| self.bad(key, &format!("a list of {n} floats")))
    }

    /// A list of `n` states (a composite's children).
    pub(super) fn list(&self, key: &str, n: usize) -> Result<&'s [Json]> {
        self.obj
            .get(key)
            .and_then(Json::as_array)
            .filter(|a| a.len() == n)
            .map(Vec::as_slice)
            .ok_or_else(|| self.bad(key, &format!("a list of {n} states")))
    }
}

fn json_float(v: &Json) -> Option<f64> {
    match v.as_str() {
        Some("inf") => Some(f64::INFINITY),
        Some("-inf") => Some(f64::NEG_INFINITY),
        Some("nan") => Some(f64::NAN),
        Some(_) => None,
        None => v.as_f64(),
    }
}
