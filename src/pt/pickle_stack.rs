//! The unpickler's stack, marks and memo (CPython's `Unpickler` keeps the same three): every
//! push is checked for depth, every pop against the current MARK, every memo copy against the
//! copy budget.
use super::{Machine, COPY_BUDGET, MAX_DEPTH};
use crate::pt::value::Value;

impl Machine<'_> {
    pub(super) fn push(&mut self, value: Value) -> Result<(), String> {
        if value.depth() > MAX_DEPTH {
            return Err(format!("containers nested deeper than {MAX_DEPTH}"));
        }
        self.stack.push(value);
        Ok(())
    }

    pub(super) fn pop(&mut self) -> Result<Value, String> {
        let floor = self.marks.last().copied().unwrap_or(0);
        if self.stack.len() <= floor {
            return Err("stack underflow".into());
        }
        Ok(self.stack.pop().expect("checked"))
    }

    pub(super) fn pop_n(&mut self, n: usize) -> Result<Vec<Value>, String> {
        let floor = self.marks.last().copied().unwrap_or(0);
        if self.stack.len() < floor + n {
            return Err("stack underflow".into());
        }
        Ok(self.stack.split_off(self.stack.len() - n))
    }

    pub(super) fn pop_mark(&mut self) -> Result<Vec<Value>, String> {
        let mark = self.marks.pop().ok_or("no MARK to pop to")?;
        Ok(self.stack.split_off(mark))
    }

    pub(super) fn top(&mut self) -> Result<&mut Value, String> {
        let floor = self.marks.last().copied().unwrap_or(0);
        if self.stack.len() <= floor {
            return Err("stack underflow".into());
        }
        Ok(self.stack.last_mut().expect("checked"))
    }

    pub(super) fn extend(&mut self, items: Vec<Value>) -> Result<(), String> {
        check_depth(&items)?;
        match self.top()? {
            Value::List(list) => {
                list.extend(items);
                Ok(())
            }
            other => Err(format!("APPEND to a {}", other.type_name())),
        }
    }

    pub(super) fn set_items(&mut self, items: Vec<Value>) -> Result<(), String> {
        if items.len() % 2 != 0 {
            return Err("SETITEMS with an odd number of values".into());
        }
        check_depth(&items)?;
        let Value::Dict(pairs) = self.top()? else {
            return Err("SETITEM on something that is not a dict".into());
        };
        let mut items = items.into_iter();
        while let (Some(key), Some(value)) = (items.next(), items.next()) {
            match pairs.iter_mut().find(|(k, _)| *k == key) {
                Some(pair) => pair.1 = value,
                None => pairs.push((key, value)),
            }
        }
        Ok(())
    }

    pub(super) fn put(&mut self, key: u32) -> Result<(), String> {
        let value = self.top()?.clone();
        self.copied += value.nodes();
        self.memo.insert(key, value);
        self.budget()
    }

    pub(super) fn get(&mut self, key: u32) -> Result<(), String> {
        let value = self
            .memo
            .get(&key)
            .ok_or(format!("memo {key} was never set"))?;
        self.copied += value.nodes();
        let value = value.clone();
        self.budget()?;
        self.push(value)
    }

    fn budget(&self) -> Result<(), String> {
        match self.copied > COPY_BUDGET {
            true => Err(format!(
                "more than {COPY_BUDGET} values copied through the memo"
            )),
            false => Ok(()),
        }
    }
}

fn check_depth(items: &[Value]) -> Result<(), String> {
    match items.iter().any(|v| v.depth() >= MAX_DEPTH) {
        true => Err(format!("containers nested deeper than {MAX_DEPTH}")),
        false => Ok(()),
    }
}
