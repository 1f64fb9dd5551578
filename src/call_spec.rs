//! PyTorch's call spelling, `Name(kw=value, ...)`, as configs write schedulers and optimizers
//! (`StepLR(step_size=1, gamma=0.7)`, `AdamW(lr=1e-3, betas=(0.9, 0.98))`), so that a setting is
//! copied from a Python script unchanged.
//!
//! Values are Python literals: ints and floats (kept apart, as PyTorch's arithmetic differs),
//! `True`/`False`/`None`, quoted strings, tuples, lists and nested calls; `inf`, `nan` and
//! `float('inf')` for the infinities. Only keywords: the optimizer, PyTorch's first positional
//! argument, is implied.
use std::fmt;

use crate::error::{Error, Result};

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

/// A recursive-descent parser over the text; `pos` is a byte offset.
struct Parser<'a> {
    text: &'a str,
    pos: usize,
}

impl<'a> Parser<'a> {
    /// A one-line error with the 1-based column (in characters) and the whole spec.
    fn error(&self, at: usize, problem: &str) -> Error {
        let column = self.text[..at].chars().count() + 1;
        let shown: String = self
            .text
            .chars()
            .map(|c| if c.is_whitespace() { ' ' } else { c })
            .collect();
        Error::Config(format!(
            "invalid call spec `{}`: {problem} at column {column}",
            crate::error::quote(shown.trim())
        ))
    }

    fn peek(&self) -> Option<char> {
        self.text[self.pos..].chars().next()
    }

    fn skip_ws(&mut self) {
        while let Some(c) = self.peek().filter(|c| c.is_whitespace()) {
            self.pos += c.len_utf8();
        }
    }

    /// Whether `c` comes next, after optional whitespace.
    fn at(&mut self, c: char) -> bool {
        self.skip_ws();
        self.peek() == Some(c)
    }

    /// Consumes `c` after optional whitespace.
    fn eat(&mut self, c: char) -> bool {
        let found = self.at(c);
        if found {
            self.pos += c.len_utf8();
        }
        found
    }

    /// A Python identifier (ASCII), if one starts here.
    fn ident(&mut self) -> Option<&'a str> {
        let start = self.pos;
        let rest = &self.text[start..];
        let first = rest.chars().next()?;
        if !(first.is_ascii_alphabetic() || first == '_') {
            return None;
        }
        let len = rest
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(rest.len());
        self.pos += len;
        Some(&self.text[start..start + len])
    }

    /// After `name`: either `(kw=value, ...)` or nothing (no keywords).
    fn call(&mut self, name: &str) -> Result<CallSpec> {
        let mut call = CallSpec {
            name: name.to_string(),
            kwargs: Vec::new(),
        };
        if !self.eat('(') {
            return Ok(call);
        }
        loop {
            if self.eat(')') {
                return Ok(call);
            }
            self.skip_ws();
            let at = self.pos;
            let key = self.ident();
            let Some(key) = key.filter(|_| self.eat('=')) else {
                return Err(self.error(
                    at,
                    "expected keyword=value (positional arguments are not supported)",
                ));
            };
            if call.get(key).is_some() {
                return Err(self.error(at, &format!("keyword {key} repeated")));
            }
            let value = self.value()?;
            call.kwargs.push((key.to_string(), value));
            if !self.eat(',') && !self.at(')') {
                return Err(self.error(self.pos, "expected ',' or ')'"));
            }
        }
    }

    fn value(&mut self) -> Result<Value> {
        self.skip_ws();
        let at = self.pos;
        match self.peek() {
            Some('\'' | '"') => self.string().map(Value::Str),
            Some('(') => {
                self.pos += 1;
                let (items, trailing_comma) = self.sequence(')')?;
                // `(x)` is x; `(x,)` and `()` are tuples, as in Python.
                if items.len() == 1 && !trailing_comma {
                    Ok(items.into_iter().next().unwrap_or(Value::None))
                } else {
                    Ok(Value::Tuple(items))
                }
            }
            Some('[') => {
                self.pos += 1;
                Ok(Value::List(self.sequence(']')?.0))
            }
            Some(c @ ('+' | '-')) => {
                self.pos += 1;
                match self.value()? {
                    Value::Int(i) if c == '-' => i
                        .checked_neg()
                        .map(Value::Int)
                        .ok_or_else(|| self.error(at, "integer out of range")),
                    Value::Float(x) if c == '-' => Ok(Value::Float(-x)),
                    v @ (Value::Int(_) | Value::Float(_)) => Ok(v),
                    _ => Err(self.error(at, &format!("'{c}' before something not a number"))),
                }
            }
            Some(c) if c.is_ascii_digit() || c == '.' => self.number(),
            Some(c) if c.is_ascii_alphabetic() || c == '_' => {
                let name = self.ident().unwrap_or_default();
                match name {
                    "True" => Ok(Value::Bool(true)),
                    "False" => Ok(Value::Bool(false)),
                    "None" => Ok(Value::None),
                    "inf" => Ok(Value::Float(f64::INFINITY)),
                    "nan" => Ok(Value::Float(f64::NAN)),
                    "float" if self.eat('(') => self.float_call(at),
                    _ if self.at('(') => Ok(Value::Call(self.call(name)?)),
                    _ => Err(self.error(
                        at,
                        &format!("unknown name {name} (a call needs parentheses: {name}(...))"),
                    )),
                }
            }
            Some(c) => Err(self.error(at, &format!("unexpected '{c}'"))),
            None => Err(self.error(at, "expected a value, found the end")),
        }
    }

    /// Comma-separated values up to `close`; returns them and whether a comma ended the list.
    fn sequence(&mut self, close: char) -> Result<(Vec<Value>, bool)> {
        let mut items = Vec::new();
        let mut trailing_comma = false;
        loop {
            if self.eat(close) {
                return Ok((items, trailing_comma));
            }
            items.push(self.value()?);
            trailing_comma = self.eat(',');
            if !trailing_comma && !self.at(close) {
                return Err(self.error(self.pos, &format!("expected ',' or '{close}'")));
            }
        }
    }

    /// `float('inf')`, `float("-inf")`, `float('nan')` or `float('1e-3')`, after `float(`.
    fn float_call(&mut self, at: usize) -> Result<Value> {
        self.skip_ws();
        let s = self.string()?;
        if !self.eat(')') {
            return Err(self.error(self.pos, "expected ')'"));
        }
        let t = s.trim().to_ascii_lowercase();
        let (sign, body) = match t.strip_prefix('-') {
            Some(b) => (-1.0, b),
            None => (1.0, t.strip_prefix('+').unwrap_or(&t)),
        };
        let x = match body {
            "inf" | "infinity" => f64::INFINITY,
            "nan" => f64::NAN,
            _ if body.starts_with(|c: char| c.is_ascii_digit() || c == '.') => body
                .replace('_', "")
                .parse::<f64>()
                .map_err(|_| self.error(at, &format!("float() cannot convert '{s}'")))?,
            _ => return Err(self.error(at, &format!("float() cannot convert '{s}'"))),
        };
        Ok(Value::Float(sign * x))
    }

    /// A quoted string with Python's common escapes.
    fn string(&mut self) -> Result<String> {
        let at = self.pos;
        let Some(quote) = self.peek().filter(|c| *c == '\'' || *c == '"') else {
            return Err(self.error(at, "expected a quoted string"));
        };
        self.pos += 1;
        let mut out = String::new();
        let mut chars = self.text[self.pos..].char_indices();
        while let Some((i, c)) = chars.next() {
            match c {
                c if c == quote => {
                    self.pos += i + 1;
                    return Ok(out);
                }
                '\\' => match chars.next() {
                    Some((_, e @ ('\\' | '\'' | '"'))) => out.push(e),
                    Some((_, 'n')) => out.push('\n'),
                    Some((_, 't')) => out.push('\t'),
                    _ => return Err(self.error(self.pos + i, "unsupported escape in string")),
                },
                c => out.push(c),
            }
        }
        Err(self.error(at, "unterminated string"))
    }

    /// A decimal int or float in Python's syntax (`5`, `1_000`, `0.5`, `.5`, `5.`, `1e-3`).
    fn number(&mut self) -> Result<Value> {
        let at = self.pos;
        let bytes = self.text.as_bytes();
        let digits = |p: &mut usize| {
            while *p < bytes.len() && (bytes[*p].is_ascii_digit() || bytes[*p] == b'_') {
                *p += 1;
            }
        };
        let mut end = at;
        digits(&mut end);
        let mut is_float = false;
        if end < bytes.len() && bytes[end] == b'.' {
            is_float = true;
            end += 1;
            digits(&mut end);
        }
        if end < bytes.len() && matches!(bytes[end], b'e' | b'E') {
            is_float = true;
            end += 1;
            if end < bytes.len() && matches!(bytes[end], b'+' | b'-') {
                end += 1;
            }
            digits(&mut end);
        }
        let token = &self.text[at..end];
        self.pos = end;
        let b = token.as_bytes();
        let digit = |i: usize| i < b.len() && b[i].is_ascii_digit();
        let bad_underscore =
            (0..b.len()).any(|i| b[i] == b'_' && !(i > 0 && digit(i - 1) && digit(i + 1)));
        let mantissa_digits = token
            .split(['e', 'E'])
            .next()
            .is_some_and(|m| m.bytes().any(|c| c.is_ascii_digit()));
        let exponent_ok =
            !token.contains(['e', 'E']) || token.ends_with(|c: char| c.is_ascii_digit());
        if bad_underscore || !mantissa_digits || !exponent_ok {
            return Err(self.error(at, &format!("invalid number {token}")));
        }
        if end < bytes.len() && (bytes[end].is_ascii_alphabetic() || bytes[end] == b'_') {
            return Err(self.error(end, &format!("invalid number {token}…")));
        }
        let clean = token.replace('_', "");
        if is_float {
            clean
                .parse::<f64>()
                .map(Value::Float)
                .map_err(|_| self.error(at, &format!("invalid number {token}")))
        } else {
            clean
                .parse::<i64>()
                .map(Value::Int)
                .map_err(|_| self.error(at, &format!("integer {token} out of range")))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &str) -> CallSpec {
        CallSpec::parse(s).unwrap_or_else(|e| panic!("{s}: {e}"))
    }

    fn err(s: &str) -> String {
        CallSpec::parse(s).unwrap_err().to_string()
    }

    #[test]
    fn values() {
        let c = parse("AdamW(lr=1e-3, betas=(0.9, 0.98), weight_decay=0.1, amsgrad=False)");
        assert_eq!(c.name, "AdamW");
        assert_eq!(c.get("lr"), Some(&Value::Float(1e-3)));
        assert_eq!(c.f64_pair("betas").unwrap(), Some((0.9, 0.98)));
        assert_eq!(c.bool("amsgrad").unwrap(), Some(false));
        let c = parse("X(a=-2, b=.5, c=5., d=1_000, e=+3, f='s\\'q', g=\"d\", h=None, i=(1,), j=(2), k=[], l=())");
        let want = [
            Value::Int(-2),
            Value::Float(0.5),
            Value::Float(5.0),
            Value::Int(1000),
            Value::Int(3),
            Value::Str("s'q".into()),
            Value::Str("d".into()),
            Value::None,
            Value::Tuple(vec![Value::Int(1)]),
            Value::Int(2),
            Value::List(vec![]),
            Value::Tuple(vec![]),
        ];
        for ((_, got), want) in c.kwargs.iter().zip(&want) {
            assert_eq!(got, want);
        }
        let c = parse("X(a=inf, b=-inf, c=float('-inf'), d=float(\"nan\"), e=-0.0, f=1E+2)");
        assert_eq!(c.f64("a").unwrap(), Some(f64::INFINITY));
        assert_eq!(c.f64("b").unwrap(), Some(f64::NEG_INFINITY));
        assert_eq!(c.f64("c").unwrap(), Some(f64::NEG_INFINITY));
        assert!(c.f64("d").unwrap().unwrap().is_nan());
        assert_eq!(
            c.f64("e").unwrap().map(f64::to_bits),
            Some((-0.0f64).to_bits())
        );
        assert_eq!(c.get("f"), Some(&Value::Float(100.0)));
        let c = parse("Adafactor(eps=(None, 1e-3))");
        let eps = c
            .typed("eps", "a pair", |v| match v.items()? {
                [a, b] => Some((a.as_f64(), b.as_f64()?)),
                _ => None,
            })
            .unwrap();
        assert_eq!(eps, Some((None, 1e-3)));
    }

    #[test]
    fn nested_and_bare() {
        let c = parse(
            "SequentialLR(schedulers=[LinearLR(start_factor=0.1, total_iters=5), \
             CosineAnnealingLR(T_max=95)], milestones=[5])",
        );
        let kids = c.calls("schedulers").unwrap().unwrap();
        assert_eq!(kids[0].name, "LinearLR");
        assert_eq!(kids[1].usize("T_max").unwrap(), Some(95));
        assert_eq!(c.usize_list("milestones").unwrap(), Some(vec![5]));
        assert_eq!(parse("  StepLR  ").kwargs, vec![]);
        assert_eq!(parse("StepLR()").kwargs, vec![]);
        assert_eq!(
            parse("CyclicLR(mode='triangular2',)").str("mode").unwrap(),
            Some("triangular2")
        );
    }

    #[test]
    fn display_round_trips() {
        let text =
            "S(a=1, b=0.1, c=1e-07, d=float('-inf'), e=(1,), f=[X(g='h\\'')], i=None, j=True)";
        let c = parse(text);
        assert_eq!(parse(&c.to_string()), c);
        assert_eq!(
            c.to_string(),
            "S(a=1, b=0.1, c=1e-7, d=float('-inf'), e=(1,), f=[X(g='h\\'')], i=None, j=True)"
        );
    }

    #[test]
    fn int_and_float_stay_apart() {
        let c = parse("StepLR(step_size=1.0, gamma=1)");
        assert_eq!(c.f64("gamma").unwrap(), Some(1.0));
        let e = c.usize("step_size").unwrap_err().to_string();
        assert_eq!(
            e,
            "StepLR: step_size must be a non-negative integer, got 1.0 (float)"
        );
        let e = parse("StepLR(gamma=True)")
            .f64("gamma")
            .unwrap_err()
            .to_string();
        assert_eq!(e, "StepLR: gamma must be a float, got True (bool)");
    }

    #[test]
    fn keywords() {
        let c = parse("StepLR(step_size=1, gama=0.7)");
        let e = c
            .check_keywords(&["step_size", "gamma", "last_epoch"])
            .unwrap_err();
        assert_eq!(
            e.to_string(),
            "unknown keyword 'gama' for StepLR (valid: step_size, gamma, last_epoch)"
        );
        let e = parse("StepLR(gamma=0.7)")
            .required("step_size", CallSpec::usize)
            .unwrap_err();
        assert_eq!(e.to_string(), "StepLR: missing keyword step_size");
    }

    #[test]
    fn syntax_errors() {
        for (text, needle) in [
            (
                "StepLR(1, gamma=0.7)",
                "positional arguments are not supported) at column 8",
            ),
            (
                "StepLR(step_size=1 gamma=0.7)",
                "expected ',' or ')' at column 20",
            ),
            (
                "StepLR(step_size=1, step_size=2)",
                "keyword step_size repeated",
            ),
            ("StepLR(step_size=1", "expected ',' or ')' at column 19"),
            (
                "StepLR(gamma=0.7) x",
                "unexpected text after the call at column 19",
            ),
            ("StepLR(gamma=1e)", "invalid number 1e at column 14"),
            ("StepLR(gamma=1__0)", "invalid number 1__0"),
            ("StepLR(gamma=12abc)", "invalid number 12"),
            ("StepLR(gamma=foo)", "unknown name foo"),
            ("StepLR(mode='x)", "unterminated string"),
            ("StepLR(a=[1, 2)", "expected ',' or ']'"),
            ("StepLR(a=-'x')", "'-' before something not a number"),
            ("StepLR(a=99999999999999999999)", "out of range"),
            ("", "expected a name such as StepLR at column 1"),
            ("3(a=1)", "expected a name"),
        ] {
            let e = err(text);
            assert!(e.contains(needle), "{text}: {e}");
            assert!(!e.contains('\n'), "{e}");
        }
    }
}
