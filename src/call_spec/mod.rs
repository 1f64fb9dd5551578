//! PyTorch's call spelling, `Name(kw=value, ...)`, as configs write schedulers and optimizers
//! (`StepLR(step_size=1, gamma=0.7)`, `AdamW(lr=1e-3, betas=(0.9, 0.98))`), so that a setting is
//! copied from a Python script unchanged.
//!
//! Values are Python literals: ints and floats (kept apart, as PyTorch's arithmetic differs),
//! `True`/`False`/`None`, quoted strings, tuples, lists and nested calls; `inf`, `nan` and
//! `float('inf')` for the infinities. Only keywords: the optimizer, PyTorch's first positional
//! argument, is implied.
mod parser;
mod value;

use std::fmt;

use crate::error::{Error, Result};
use parser::Parser;
pub use value::Value;

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
