//! A restricted unpickler for `data.pkl`: the opcodes `torch.save` writes (protocol 2, plus the
//! few of protocols 3–5 a state_dict can use), building [`Value`]s. GLOBAL resolves only the
//! whitelist of [`Global::named`]; REDUCE applies only `OrderedDict()` and the tensor rebuild
//! functions, as data: nothing is executed. Any other opcode is an error naming it.
use super::rebuild::{reduce, storage};
use super::value::{Global, Value};

/// Containers nested deeper than this are refused (a state_dict nests two or three levels; a
/// hostile pickle could nest millions, and dropping that would overflow the stack).
const MAX_DEPTH: usize = 64;
/// How many values BINGET may copy in all (memo copies could otherwise double at every step).
const COPY_BUDGET: usize = 1 << 22;

/// Runs the pickle program in `bytes`; the value STOP returns, or a one-line error.
pub fn unpickle(bytes: &[u8]) -> Result<Value, String> {
    let mut vm = Machine {
        bytes,
        at: 0,
        stack: Vec::new(),
        marks: Vec::new(),
        memo: std::collections::HashMap::new(),
        copied: 0,
    };
    vm.run()
}

struct Machine<'a> {
    bytes: &'a [u8],
    at: usize,
    stack: Vec<Value>,
    /// Stack lengths at each MARK (CPython's metastack).
    marks: Vec<usize>,
    memo: std::collections::HashMap<u32, Value>,
    copied: usize,
}

impl<'a> Machine<'a> {
    fn run(&mut self) -> Result<Value, String> {
        loop {
            let at = self.at;
            let op = self.take(1)?[0];
            self.step(op)
                .map_err(|e| format!("pickle opcode 0x{op:02x} at byte {at}: {e}"))?;
            if op == b'.' {
                return self.pop();
            }
        }
    }

    fn step(&mut self, op: u8) -> Result<(), String> {
        match op {
            0x80 => match self.take(1)?[0] {
                2..=5 => {}
                p => return Err(format!("pickle protocol {p} is not one torch.save writes")),
            },
            0x95 => {
                self.take(8)?; // FRAME: a length hint only
            }
            b'.' => {}
            b'(' => self.marks.push(self.stack.len()),
            b')' => self.push(Value::Tuple(Vec::new()))?,
            b']' => self.push(Value::List(Vec::new()))?,
            b'}' => self.push(Value::Dict(Vec::new()))?,
            b't' => {
                let items = self.pop_mark()?;
                self.push(Value::Tuple(items))?
            }
            b'l' => {
                let items = self.pop_mark()?;
                self.push(Value::List(items))?
            }
            0x85..=0x87 => {
                let n = usize::from(op - 0x84);
                let items = self.pop_n(n)?;
                self.push(Value::Tuple(items))?
            }
            b'a' => {
                let item = self.pop()?;
                self.extend(vec![item])?
            }
            b'e' => {
                let items = self.pop_mark()?;
                self.extend(items)?
            }
            b's' => {
                let pair = self.pop_n(2)?;
                self.set_items(pair)?
            }
            b'u' => {
                let items = self.pop_mark()?;
                self.set_items(items)?
            }
            b'N' => self.push(Value::None)?,
            0x88 => self.push(Value::Bool(true))?,
            0x89 => self.push(Value::Bool(false))?,
            b'K' | b'M' | b'J' => {
                let value = match op {
                    b'K' => i64::from(self.take(1)?[0]),
                    b'M' => i64::from(self.u16()?),
                    _ => i64::from(self.u32()? as i32),
                };
                self.push(Value::Int(value))?
            }
            0x8a => {
                let n = usize::from(self.take(1)?[0]);
                let value = long(self.take(n)?)?;
                self.push(Value::Int(value))?
            }
            b'G' => {
                let raw: [u8; 8] = self.take(8)?.try_into().expect("8 bytes");
                self.push(Value::Float(f64::from_be_bytes(raw)))?
            }
            b'X' => self.text(|m| m.u32().map(|n| n as usize))?,
            0x8c => self.text(|m| m.take(1).map(|b| usize::from(b[0])))?,
            b'B' => {
                let n = self.u32()? as usize;
                let bytes = self.take(n)?.to_vec();
                self.push(Value::Bytes(bytes))?
            }
            b'C' => {
                let n = usize::from(self.take(1)?[0]);
                let bytes = self.take(n)?.to_vec();
                self.push(Value::Bytes(bytes))?
            }
            b'q' => {
                let key = u32::from(self.take(1)?[0]);
                self.put(key)?
            }
            b'r' => {
                let key = self.u32()?;
                self.put(key)?
            }
            0x94 => self.put(self.memo.len() as u32)?,
            b'h' => {
                let key = u32::from(self.take(1)?[0]);
                self.get(key)?
            }
            b'j' => {
                let key = self.u32()?;
                self.get(key)?
            }
            b'c' => {
                let module = self.line()?;
                let name = self.line()?;
                self.push(Value::Global(Global::named(&module, &name)?))?
            }
            0x93 => match self.pop_n(2)?.as_slice() {
                [Value::Str(module), Value::Str(name)] => {
                    self.push(Value::Global(Global::named(module, name)?))?
                }
                _ => return Err("STACK_GLOBAL needs two strings".into()),
            },
            b'R' => {
                let args = self.pop()?;
                let callable = self.pop()?;
                self.push(reduce(callable, args)?)?
            }
            b'b' => {
                // OrderedDict's state (`_metadata`, the modules' versions): not needed to load.
                let _state = self.pop()?;
                match self.stack.last() {
                    Some(Value::Dict(_)) => {}
                    other => return Err(format!("BUILD on a {}", type_of(other))),
                }
            }
            b'Q' => {
                let pid = self.pop()?;
                self.push(Value::Storage(storage(pid)?))?
            }
            _ => return Err("not an opcode a state_dict pickle uses".into()),
        }
        Ok(())
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8], String> {
        let end = self.at.checked_add(n).filter(|&e| e <= self.bytes.len());
        let end =
            end.ok_or_else(|| format!("truncated: needs {n} more bytes at byte {}", self.at))?;
        let slice = &self.bytes[self.at..end];
        self.at = end;
        Ok(slice)
    }

    fn u16(&mut self) -> Result<u16, String> {
        Ok(u16::from_le_bytes(self.take(2)?.try_into().expect("2")))
    }

    fn u32(&mut self) -> Result<u32, String> {
        Ok(u32::from_le_bytes(self.take(4)?.try_into().expect("4")))
    }

    /// A newline-terminated ASCII line (GLOBAL's operands).
    fn line(&mut self) -> Result<String, String> {
        let rest = &self.bytes[self.at..];
        let n = rest.iter().take(256).position(|&b| b == b'\n');
        let n = n.ok_or("a GLOBAL name without its newline")?;
        Ok(String::from_utf8_lossy(&self.take(n + 1)?[..n]).into_owned())
    }

    fn text(&mut self, len: impl Fn(&mut Self) -> Result<usize, String>) -> Result<(), String> {
        let n = len(self)?;
        let text = std::str::from_utf8(self.take(n)?).map_err(|_| "a string that is not UTF-8")?;
        self.push(Value::Str(text.to_string()))
    }
}

fn type_of(value: Option<&Value>) -> &'static str {
    value.map_or("empty stack", Value::type_name)
}

/// LONG1's little-endian two's complement integer (at most 8 bytes here).
fn long(bytes: &[u8]) -> Result<i64, String> {
    if bytes.len() > 8 {
        return Err("an integer wider than 64 bits".into());
    }
    let negative = bytes.last().is_some_and(|&b| b & 0x80 != 0);
    let mut raw = [if negative { 0xff } else { 0 }; 8];
    raw[..bytes.len()].copy_from_slice(bytes);
    Ok(i64::from_le_bytes(raw))
}

#[path = "pickle_stack.rs"]
mod stack;

#[cfg(test)]
#[path = "pickle_tests.rs"]
mod tests;
