//! A Python literal in a call spec, and its Python source.
use std::fmt;

use super::CallSpec;

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
