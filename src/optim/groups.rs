//! Parameter groups, the way transformer recipes build their optimizer: parameters picked by
//! name pattern (or by dimension) get their own settings — no weight decay on biases and norms —
//! or another optimizer altogether — Muon for 2-D weights, AdamW for the rest.
//!
//! `--param-group "SELECT: SPEC"`: `SELECT` is `*.bias|*norm*` (state_dict-name patterns, `*` any
//! run, `?` one character, `|` between alternatives) or `ndim=2`; `SPEC` is keywords for the
//! main optimizer (`weight_decay=0.0, lr=1e-3`) or a whole optimizer (`Muon(lr=0.02)`). A
//! parameter belongs to the first group that selects it, else to the main optimizer (group 0).
//! In PyTorch terms, group 0 is the first entry of `param_groups`, then the groups in order;
//! every group's update is its own, so each is an optimizer of its own here.
use serde::{Deserialize, Serialize};
use serde_json::Value;
use tch::Tensor;

use super::{optimizer, Optimizer, OptimizerConfig};
use crate::error::{Error, Result};
use crate::tensor_io::NamedTensors;

/// One group: which parameters, and the optimizer (with every setting) they get.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ParamGroup {
    /// `*.bias|*norm*` or `ndim=2`.
    pub params: String,
    pub optimizer: OptimizerConfig,
}

impl ParamGroup {
    /// `"SELECT: SPEC"` on top of the main optimizer `base`.
    pub fn parse(text: &str, base: &OptimizerConfig) -> Result<ParamGroup> {
        let bad = |why: &str| {
            Error::Config(format!(
                "--param-group {:?}: {why}",
                crate::error::quote(text)
            ))
        };
        let (select, spec) = text
            .split_once(':')
            .ok_or_else(|| bad("expected SELECT: SPEC, e.g. \"*.bias: weight_decay=0.0\""))?;
        let (select, spec) = (select.trim(), spec.trim());
        if select.is_empty() {
            return Err(bad("no parameters selected"));
        }
        let optimizer = if spec.contains('(') {
            OptimizerConfig::parse_call(spec).map_err(|e| bad(&e.to_string()))?
        } else {
            let name = base.kind().torch_name();
            base.with_keywords(&format!("{name}({spec})"))
                .map_err(|e| bad(&e.to_string()))?
        };
        Ok(ParamGroup {
            params: select.to_string(),
            optimizer,
        })
    }

    /// Whether the parameter `name` of shape `size` is in this group.
    pub fn selects(&self, name: &str, size: &[i64]) -> bool {
        match self.params.strip_prefix("ndim=") {
            Some(n) => n.trim().parse::<usize>() == Ok(size.len()),
            None => self.params.split('|').any(|p| glob(p.trim(), name)),
        }
    }
}

/// `*` matches any run of characters, `?` one; everything else itself.
fn glob(pattern: &str, text: &str) -> bool {
    let (p, t): (Vec<char>, Vec<char>) = (pattern.chars().collect(), text.chars().collect());
    // matched[i][j]: p[..i] matches t[..j]
    let mut matched = vec![vec![false; t.len() + 1]; p.len() + 1];
    matched[0][0] = true;
    for i in 1..=p.len() {
        matched[i][0] = matched[i - 1][0] && p[i - 1] == '*';
        for j in 1..=t.len() {
            matched[i][j] = match p[i - 1] {
                '*' => matched[i - 1][j] || matched[i][j - 1],
                '?' => matched[i - 1][j - 1],
                c => matched[i - 1][j - 1] && c == t[j - 1],
            };
        }
    }
    matched[p.len()][t.len()]
}

/// The main optimizer and the groups, each over its parameters, as one optimizer.
pub struct Grouped {
    groups: Vec<Box<dyn Optimizer>>,
}

/// Splits `params` (in `model.parameters()` order) between `main` and `groups`, and builds each.
pub fn grouped(
    main: &OptimizerConfig,
    groups: &[ParamGroup],
    params: Vec<(String, Tensor)>,
) -> Result<Box<dyn Optimizer>> {
    let mut members: Vec<Vec<(String, Tensor)>> = (0..=groups.len()).map(|_| Vec::new()).collect();
    for (name, p) in params {
        let at = groups
            .iter()
            .position(|g| g.selects(&name, &p.size()))
            .map_or(0, |i| i + 1);
        members[at].push((name, p));
    }
    for (group, picked) in groups.iter().zip(&members[1..]) {
        if picked.is_empty() {
            return Err(Error::Config(format!(
                "--param-group {:?} selects no parameter",
                group.params
            )));
        }
    }
    let configs = std::iter::once(main).chain(groups.iter().map(|g| &g.optimizer));
    let groups = configs
        .zip(members)
        .filter(|(_, picked)| !picked.is_empty())
        .map(|(config, picked)| optimizer(config, picked))
        .collect::<Result<Vec<_>>>()?;
    Ok(Box::new(Grouped { groups }))
}

impl Optimizer for Grouped {
    fn zero_grad(&mut self) -> Result<()> {
        self.groups.iter_mut().try_for_each(|g| g.zero_grad())
    }

    fn step(&mut self) -> Result<()> {
        self.groups.iter_mut().try_for_each(|g| g.step())
    }

    fn lr(&self) -> f64 {
        self.groups[0].lr()
    }

    fn set_lr(&mut self, lr: f64) -> Result<()> {
        self.groups.iter_mut().try_for_each(|g| g.set_lr(lr))
    }

    fn lrs(&self) -> Vec<f64> {
        self.groups.iter().map(|g| g.lr()).collect()
    }

    fn set_lrs(&mut self, lrs: &[f64]) -> Result<()> {
        self.groups
            .iter_mut()
            .zip(lrs)
            .try_for_each(|(g, &lr)| g.set_lr(lr))
    }

    fn momentum(&self) -> Option<super::Momentum> {
        self.groups[0].momentum()
    }

    fn set_momentum(&mut self, value: f64) -> Result<()> {
        self.groups
            .iter_mut()
            .try_for_each(|g| g.set_momentum(value))
    }

    fn momentums(&self) -> Vec<Option<super::Momentum>> {
        self.groups.iter().map(|g| g.momentum()).collect()
    }

    fn set_momentums(&mut self, values: &[f64]) -> Result<()> {
        self.groups
            .iter_mut()
            .zip(values)
            .try_for_each(|(g, &m)| g.set_momentum(m))
    }

    fn state(&self) -> NamedTensors {
        self.groups.iter().flat_map(|g| g.state()).collect()
    }

    fn load_state(&mut self, state: &NamedTensors) -> Result<()> {
        self.groups.iter_mut().try_for_each(|g| g.load_state(state))
    }
}

impl OptimizerConfig {
    /// This optimizer with the keywords of `call` (its own class name) over its settings.
    fn with_keywords(&self, call: &str) -> Result<OptimizerConfig> {
        let given = OptimizerConfig::parse_call(call)?;
        let (Ok(Value::Object(mut fields)), Ok(Value::Object(keywords))) =
            (serde_json::to_value(self), serde_json::to_value(&given))
        else {
            unreachable!("configurations serialise to objects")
        };
        let spec = crate::call_spec::CallSpec::parse(call)?;
        for (key, _) in &spec.kwargs {
            fields.insert(key.clone(), keywords[key].clone());
        }
        serde_json::from_value(Value::Object(fields)).map_err(|e| Error::Config(e.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::glob;

    #[test]
    fn glob_patterns() {
        assert!(glob("*.bias", "fc1.bias"));
        assert!(!glob("*.bias", "fc1.weight"));
        assert!(glob("*norm*", "layers.0.norm1.weight"));
        assert!(glob("fc?.weight", "fc2.weight"));
        assert!(!glob("fc?.weight", "fc12.weight"));
        assert!(glob("*", ""));
    }
}
