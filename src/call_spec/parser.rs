//! The recursive-descent parser behind `CallSpec::parse`.
use super::{CallSpec, Value};
use crate::error::{Error, Result};

/// A recursive-descent parser over the text; `pos` is a byte offset.
pub(super) struct Parser<'a> {
    pub(super) text: &'a str,
    pub(super) pos: usize,
}

impl<'a> Parser<'a> {
    /// A one-line error with the 1-based column (in characters) and the whole spec.
    pub(super) fn error(&self, at: usize, problem: &str) -> Error {
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

    pub(super) fn peek(&self) -> Option<char> {
        self.text[self.pos..].chars().next()
    }

    pub(super) fn skip_ws(&mut self) {
        while let Some(c) = self.peek().filter(|c| c.is_whitespace()) {
            self.pos += c.len_utf8();
        }
    }

    /// Whether `c` comes next, after optional whitespace.
    pub(super) fn at(&mut self, c: char) -> bool {
        self.skip_ws();
        self.peek() == Some(c)
    }

    /// Consumes `c` after optional whitespace.
    pub(super) fn eat(&mut self, c: char) -> bool {
        let found = self.at(c);
        if found {
            self.pos += c.len_utf8();
        }
        found
    }

    /// A Python identifier (ASCII), if one starts here.
    pub(super) fn ident(&mut self) -> Option<&'a str> {
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
    pub(super) fn call(&mut self, name: &str) -> Result<CallSpec> {
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

    pub(super) fn value(&mut self) -> Result<Value> {
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
    pub(super) fn sequence(&mut self, close: char) -> Result<(Vec<Value>, bool)> {
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
    pub(super) fn float_call(&mut self, at: usize) -> Result<Value> {
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
    pub(super) fn string(&mut self) -> Result<String> {
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
    pub(super) fn number(&mut self) -> Result<Value> {
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
