//! The optimizer's flags: `--optimizer` (a name, or PyTorch's spelling) and the keyword flags a
//! name takes (`--lr`, `--momentum`, `--beta1`, …).
use clap::Args;
use serde_json::{json, Value};
use tch_harness::optim::{OptimizerConfig, OptimizerKind};

use super::config_file::OptimizerFields;

/// Which optimizer, and its keywords as flags.
#[derive(Debug, Clone, Args)]
pub struct OptimizerArgs {
    /// Learning rate.
    #[arg(long, default_value_t = 0.05, allow_negative_numbers = true)]
    pub lr: f64,
    #[arg(long, default_value = "sgd", value_name = "NAME|SPEC", help = format!(
        "Optimizer: {}, with --lr and the optimizer flags below; or PyTorch's spelling, e.g. \
         \"Adadelta(lr=1.0, rho=0.9)\" or \"AdamW(lr=1e-3, betas=(0.9, 0.98))\", with \
         torch.optim's defaults for what it leaves out.",
        OptimizerKind::choices()
    ))]
    pub optimizer: String,
    /// SGD momentum.
    #[arg(long, default_value_t = 0.0, allow_negative_numbers = true)]
    pub momentum: f64,
    /// SGD dampening.
    #[arg(long, default_value_t = 0.0, allow_negative_numbers = true)]
    pub dampening: f64,
    /// SGD Nesterov momentum.
    #[arg(long)]
    pub nesterov: bool,
    /// Weight decay [default: 0.01 for adamw, 0 otherwise].
    #[arg(long, allow_negative_numbers = true)]
    pub weight_decay: Option<f64>,
    /// Adam/AdamW beta1.
    #[arg(long, default_value_t = 0.9, allow_negative_numbers = true)]
    pub beta1: f64,
    /// Adam/AdamW beta2.
    #[arg(long, default_value_t = 0.999, allow_negative_numbers = true)]
    pub beta2: f64,
    /// Adam/AdamW epsilon.
    #[arg(long, default_value_t = 1e-8, allow_negative_numbers = true)]
    pub eps: f64,
    /// Adam/AdamW AMSGrad variant.
    #[arg(long)]
    pub amsgrad: bool,
}

impl OptimizerArgs {
    /// `--optimizer` with its flags: a name (`adam`) takes `--lr` and the optimizer flags that
    /// name one of its keywords; PyTorch's spelling (`Adam(lr=1e-3, betas=(0.9, 0.98))`) takes
    /// its keywords only, PyTorch's defaults for the rest. `explicit` are the clap ids the
    /// command line gave: a keyword flag left at its default never replaces the optimizer's own
    /// default (`--eps`'s 1e-8 is Adam's, not Adadelta's 1e-6 or Adagrad's 1e-10).
    pub fn to_config(&self, explicit: &[String]) -> anyhow::Result<OptimizerConfig> {
        let flags = self.keyword_flags(explicit);
        self.check_finite()?;
        if self.optimizer.contains('(') || self.optimizer.parse::<OptimizerKind>().is_err() {
            if let Some((flag, key, ..)) = flags.iter().find(|f| f.3) {
                anyhow::bail!(
                    "{flag} cannot be combined with --optimizer {}: write {key}=… in it",
                    tch_harness::error::quote(&self.optimizer)
                );
            }
            return Ok(OptimizerConfig::parse_call(&self.optimizer)?);
        }
        let kind: OptimizerKind = self.optimizer.parse()?;
        let mut fields = match serde_json::to_value(OptimizerConfig::new(kind, self.lr))? {
            Value::Object(fields) => fields,
            _ => unreachable!("a configuration serialises to an object"),
        };
        for (flag, key, value, given) in flags {
            // `--lr` always applies: its default (0.05) is the harness's, documented as such.
            let given = given || key == "lr";
            match fields.get_mut(key) {
                Some(slot) if given && !value.is_null() => *slot = value,
                Some(_) => {}
                None if !given => {}
                None => anyhow::bail!("{flag} does not apply to --optimizer {kind}"),
            }
        }
        Ok(serde_json::from_value(Value::Object(fields))?)
    }

    /// A config file's optimizer, with the keyword flags given on the command line (`explicit`,
    /// clap ids) set in it: `--lr 0.1` changes its `lr`; a flag for a keyword it lacks is an error.
    pub fn edit(&self, fields: &mut OptimizerFields, explicit: &[String]) -> anyhow::Result<()> {
        self.check_finite()?;
        // Every keyword of the file's optimizer, PyTorch's defaults for those it leaves out.
        let full: OptimizerConfig = serde_json::from_value(Value::Object(fields.clone()))?;
        let Value::Object(full) = serde_json::to_value(&full)? else {
            unreachable!("a configuration serialises to an object")
        };
        *fields = full;
        let given = |id: &str| explicit.iter().any(|e| e == id);
        for (flag, key, mut value, flag_given) in self.keyword_flags(explicit) {
            if !flag_given {
                continue;
            }
            let ids = flag_ids(flag);
            let Some(slot) = fields.get_mut(key) else {
                anyhow::bail!(
                    "{flag} does not apply to the optimizer {} of --config",
                    fields["kind"]
                );
            };
            if key == "betas" {
                // Only the beta given changes.
                for (i, id) in ids.iter().enumerate() {
                    if !given(id) {
                        value[i] = slot[i].clone();
                    }
                }
            }
            *slot = value;
        }
        Ok(())
    }

    /// NaN and infinities cannot travel as JSON: they are refused here, as `validate` would.
    fn check_finite(&self) -> anyhow::Result<()> {
        let values = [
            ("learning rate", self.lr),
            ("momentum", self.momentum),
            ("dampening", self.dampening),
            ("weight decay", self.weight_decay.unwrap_or(0.0)),
            ("beta1", self.beta1),
            ("beta2", self.beta2),
            ("eps", self.eps),
        ];
        match values.iter().find(|(_, v)| !v.is_finite()) {
            Some((what, v)) => anyhow::bail!("invalid {what} (must be finite): {v}"),
            None => Ok(()),
        }
    }

    /// (flag, keyword, value as JSON, whether the command line gave the flag) for each keyword
    /// flag.
    fn keyword_flags(&self, explicit: &[String]) -> [(&'static str, &'static str, Value, bool); 8] {
        let flags = [
            ("--momentum", "momentum", json!(self.momentum)),
            ("--dampening", "dampening", json!(self.dampening)),
            ("--nesterov", "nesterov", json!(self.nesterov)),
            ("--weight-decay", "weight_decay", json!(self.weight_decay)),
            ("--beta1/--beta2", "betas", json!([self.beta1, self.beta2])),
            ("--eps", "eps", json!(self.eps)),
            ("--amsgrad", "amsgrad", json!(self.amsgrad)),
            ("--lr", "lr", json!(self.lr)),
        ];
        flags.map(|(flag, key, value)| {
            let given = flag_ids(flag).iter().any(|id| explicit.contains(id));
            (flag, key, value, given)
        })
    }
}

/// The clap ids of a keyword flag (`--beta1/--beta2`: both).
fn flag_ids(flag: &str) -> Vec<String> {
    flag.split('/').map(|f| f[2..].replace('-', "_")).collect()
}
