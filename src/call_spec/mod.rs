//! PyTorch's call spelling, `Name(kw=value, ...)`, as configs write schedulers and optimizers
//! (`StepLR(step_size=1, gamma=0.7)`, `AdamW(lr=1e-3, betas=(0.9, 0.98))`), so that a setting is
//! copied from a Python script unchanged.
//!
//! Values are Python literals: ints and floats (kept apart, as PyTorch's arithmetic differs),
//! `True`/`False`/`None`, quoted strings, tuples, lists and nested calls; `inf`, `nan` and
//! `float('inf')` for the infinities. Only keywords: the optimizer, PyTorch's first positional
//! argument, is implied.
mod parser;

use std::fmt;

use crate::error::{Error, Result};
use parser::Parser;

/// A Python literal in a call spec.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Int(i64),
    Float(f64),
    Bool(bool),
    None,
    Str(String),
    Tuple(Vec<Value>),
    List(Vec<Value>),
    Call(CallSpec),
}

impl Value {
    /// A number as Python converts it to a float (an int exactly up to 2^53); not a bool.
    pub fn as_f64(&self) -> Option<f64> {
        match *self {
            Value::Int(i) => Some(i as f64),
            Value::Float(x) => Some(x),
            _ => None,
        }
    }

    /// An int (not a float, even an integral one, and not a bool).
    pub fn as_i64(&self) -> Option<i64> {
        match *self {
            Value::Int(i) => Some(i),
            _ => None,
        }
    }

    /// A non-negative int.
    pub fn as_usize(&self) -> Option<usize> {
        self.as_i64().and_then(|i| usize::try_from(i).ok())
    }

    pub fn as_bool(&self) -> Option<bool> {
        match *self {
            Value::Bool(b) => Some(b),
            _ => None,
        }
    }

    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::Str(s) => Some(s),
            _ => None,
        }
    }

    pub fn as_call(&self) -> Option<&CallSpec> {
        match self {
            Value::Call(c) => Some(c),
            _ => None,
        }
    }

    /// The elements of a tuple or a list (Python accepts either as a sequence).
    pub fn items(&self) -> Option<&[Value]> {
        match self {
            Value::Tuple(v) | Value::List(v) => Some(v),
            _ => None,
        }
    }

    /// Every element converted by `f`, or `None` if this is no sequence or one element fails.
    pub fn items_as<'s, T>(&'s self, f: impl Fn(&'s Value) -> Option<T>) -> Option<Vec<T>> {
        self.items()?.iter().map(f).collect()
    }

    /// The Python type's name, for error messages.
    /// The value as JSON: numbers, booleans, `null`, strings, arrays (tuples and lists alike);
    /// a nested call as its Python text.
    pub fn to_json(&self) -> serde_json::Value {
        use serde_json::Value as Json;
        match self {
            Value::Int(i) => Json::from(*i),
            Value::Float(f) => Json::from(*f),
            Value::Bool(b) => Json::Bool(*b),
            Value::None => Json::Null,
            Value::Str(s) => Json::String(s.clone()),
            Value::Tuple(items) | Value::List(items) => {
                Json::Array(items.iter().map(Value::to_json).collect())
            }
            Value::Call(call) => Json::String(call.to_string()),
        }
    }

    pub fn type_name(&self) -> &'static str {
        match self {
            Value::Int(_) => "int",
            Value::Float(_) => "float",
            Value::Bool(_) => "bool",
            Value::None => "None",
            Value::Str(_) => "str",
            Value::Tuple(_) => "tuple",
            Value::List(_) => "list",
            Value::Call(_) => "call",
        }
    }
}

/// Python source for the value (floats in shortest round-trip form, so `eval` gives the same bits).
impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fn seq(f: &mut fmt::Formatter<'_>, items: &[Value]) -> fmt::Result {
            for (i, v) in items.iter().enumerate() {
                if i > 0 {
                    f.write_str(", ")?;
                }
                write!(f, "{v}")?;
            }
            Ok(())
        }
        match self {
            Value::Int(i) => write!(f, "{i}"),
            Value::Float(x) if x.is_nan() => f.write_str("float('nan')"),
            Value::Float(x) if x.is_infinite() => {
                write!(f, "float('{}inf')", if *x < 0.0 { "-" } else { "" })
            }
            Value::Float(x) => write!(f, "{x:?}"),
            Value::Bool(b) => f.write_str(if *b { "True" } else { "False" }),
            Value::None => f.write_str("None"),
            Value::Str(s) => {
                f.write_str("'")?;
                for c in s.chars() {
                    match c {
                        '\\' => f.write_str("\\\\")?,
                        '\'' => f.write_str("\\'")?,
                        '\n' => f.write_str("\\n")?,
                        '\t' => f.write_str("\\t")?,
                        c => write!(f, "{c}")?,
                    }
                }
                f.write_str("'")
            }
            Value::Tuple(v) => {
                f.write_str("(")?;
                seq(f, v)?;
                f.write_str(if v.len() == 1 { ",)" } else { ")" })
            }
            Value::List(v) => {
                f.write_str("[")?;
                seq(f, v)?;
                f.write_str("]")
            }
            Value::Call(c) => write!(f, "{c}"),
        }
    }
}

/// `Name(kw=value, ...)`: a class's name and its keyword arguments in the order written.
#[derive(Debug, Clone, PartialEq)]
pub struct CallSpec {
    pub name: String,
    pub kwargs: Vec<(String, Value)>,
}

impl fmt::Display for CallSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}(", self.name)?;
        for (i, (k, v)) in self.kwargs.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            write!(f, "{k}={v}")?;
        }
        f.write_str(")")
    }
}

impl std::str::FromStr for CallSpec {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        CallSpec::parse(s)
    }
}

impl CallSpec {
    /// Parses `Name(kw=value, ...)`; a bare `Name` has no keywords.
    pub fn parse(text: &str) -> Result<CallSpec> {
        let mut p = Parser { text, pos: 0 };
        p.skip_ws();
        let start = p.pos;
        let Some(name) = p.ident() else {
            return Err(p.error(start, "expected a name such as StepLR"));
        };
        let call = p.call(name)?;
        p.skip_ws();
        if p.pos < text.len() {
            return Err(p.error(p.pos, "unexpected text after the call"));
        }
        Ok(call)
    }

    /// The value given for `key`, if any.
    pub fn get(&self, key: &str) -> Option<&Value> {
        self.kwargs.iter().find(|(k, _)| k == key).map(|(_, v)| v)
    }

    /// Whether `key` is given as `None` (the same as leaving it out, for keywords whose default is
    /// `None`).
    pub fn is_none(&self, key: &str) -> bool {
        matches!(self.get(key), Some(Value::None))
    }

    /// Rejects keywords outside `valid`, listing them with the valid ones.
    pub fn check_keywords(&self, valid: &[&str]) -> Result<()> {
        let unknown: Vec<String> = self
            .kwargs
            .iter()
            .filter(|(k, _)| !valid.contains(&k.as_str()))
            .map(|(k, _)| format!("'{k}'"))
            .collect();
        if unknown.is_empty() {
            return Ok(());
        }
        Err(Error::Config(format!(
            "unknown keyword{} {} for {} (valid: {})",
            if unknown.len() > 1 { "s" } else { "" },
            unknown.join(", "),
            self.name,
            valid.join(", ")
        )))
    }

    /// `key`'s value converted by `convert`, `None` when absent; a value `convert` refuses is an
    /// error naming the keyword and `expected` (e.g. "a float").
    pub fn typed<'s, T>(
        &'s self,
        key: &str,
        expected: &str,
        convert: impl Fn(&'s Value) -> Option<T>,
    ) -> Result<Option<T>> {
        let Some(v) = self.get(key) else {
            return Ok(None);
        };
        match convert(v) {
            Some(t) => Ok(Some(t)),
            None => Err(self.error(&format!(
                "{key} must be {expected}, got {v} ({})",
                v.type_name()
            ))),
        }
    }

    /// The value of `key`, which must be given: `spec.required("step_size", CallSpec::usize)`.
    pub fn required<'s, T>(
        &'s self,
        key: &str,
        get: impl FnOnce(&'s Self, &str) -> Result<Option<T>>,
    ) -> Result<T> {
        get(self, key)?.ok_or_else(|| self.error(&format!("missing keyword {key}")))
    }

    /// An int or a float, as a float.
    pub fn f64(&self, key: &str) -> Result<Option<f64>> {
        self.typed(key, "a float", Value::as_f64)
    }

    pub fn i64(&self, key: &str) -> Result<Option<i64>> {
        self.typed(key, "an integer", Value::as_i64)
    }

    pub fn usize(&self, key: &str) -> Result<Option<usize>> {
        self.typed(key, "a non-negative integer", Value::as_usize)
    }

    pub fn bool(&self, key: &str) -> Result<Option<bool>> {
        self.typed(key, "True or False", Value::as_bool)
    }

    pub fn str(&self, key: &str) -> Result<Option<&str>> {
        self.typed(key, "a string", Value::as_str)
    }

    /// A tuple or list of two numbers, e.g. `betas=(0.9, 0.999)`.
    pub fn f64_pair(&self, key: &str) -> Result<Option<(f64, f64)>> {
        self.typed(key, "a pair of floats", |v| {
            match v.items_as(Value::as_f64)?[..] {
                [a, b] => Some((a, b)),
                _ => None,
            }
        })
    }

    /// A tuple or list of numbers.
    pub fn f64_list(&self, key: &str) -> Result<Option<Vec<f64>>> {
        self.typed(key, "a list of floats", |v| v.items_as(Value::as_f64))
    }

    /// A tuple or list of non-negative ints, e.g. `milestones=[30, 80]`.
    pub fn usize_list(&self, key: &str) -> Result<Option<Vec<usize>>> {
        self.typed(key, "a list of non-negative integers", |v| {
            v.items_as(Value::as_usize)
        })
    }

    /// A tuple or list of calls, e.g. `schedulers=[LinearLR(...), CosineAnnealingLR(...)]`.
    pub fn calls(&self, key: &str) -> Result<Option<Vec<&CallSpec>>> {
        self.typed(key, "a list of calls", |v| v.items_as(Value::as_call))
    }

    /// A configuration error prefixed with this call's name.
    pub fn error(&self, message: &str) -> Error {
        Error::Config(format!("{}: {message}", crate::error::quote(&self.name)))
    }
}

#[cfg(test)]
mod tests;
