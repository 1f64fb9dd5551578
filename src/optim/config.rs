//! Optimizer hyper-parameters: one configuration per optimizer, with PyTorch's keyword names and
//! defaults, so that `scripts/reference.py` passes them to `torch.optim` as they are. In a file the
//! optimizer is `{"kind": "sgd", "lr": 0.05, "momentum": 0.9, …}`; missing keys take PyTorch's
//! defaults (a setting added later does not break older runs), unknown ones are an error.
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::checks;
use super::{
    AdadeltaConfig, AdafactorConfig, AdagradConfig, AdamConfig, AdamaxConfig, AsgdConfig,
    MuonConfig, NAdamConfig, RAdamConfig, RMSpropConfig, RpropConfig, SgdConfig,
};
use crate::call_spec::CallSpec;
use crate::error::{Error, Result};
use crate::names::named_enum;

/// Declares the optimizers from one table — variant, configuration type, name in files and on
/// the command line, `torch.optim` class name — as [`OptimizerKind`] and [`OptimizerConfig`].
macro_rules! optimizers {
    ($( $(#[$doc:meta])* $Variant:ident($Config:ty) = $name:literal, $torch:literal; )+) => {
        named_enum! {
            /// Which update rule.
            pub enum OptimizerKind: "unknown optimizer" {
                $( $(#[$doc])* $Variant = $name, )+
            }
        }

        /// An optimizer and its hyper-parameters (PyTorch's keyword names).
        #[derive(Debug, Clone, PartialEq, Serialize)]
        #[serde(tag = "kind", rename_all = "lowercase")]
        pub enum OptimizerConfig {
            $( $Variant($Config), )+
        }

        impl OptimizerKind {
            /// The `torch.optim` class: `SGD`, `AdamW`, `RMSprop`, …
            pub fn torch_name(self) -> &'static str {
                match self {
                    $( OptimizerKind::$Variant => $torch, )+
                }
            }
        }

        impl OptimizerConfig {
            /// Which optimizer.
            pub fn kind(&self) -> OptimizerKind {
                match self {
                    $( OptimizerConfig::$Variant(_) => OptimizerKind::$Variant, )+
                }
            }

            /// The initial learning rate.
            pub fn lr(&self) -> f64 {
                match self {
                    $( OptimizerConfig::$Variant(c) => c.lr, )+
                }
            }

            /// Sets the initial learning rate.
            pub fn set_lr(&mut self, lr: f64) {
                match self {
                    $( OptimizerConfig::$Variant(c) => c.lr = lr, )+
                }
            }

            /// The checks `torch.optim`'s constructor makes, as one-line errors.
            pub fn validate(&self) -> Result<()> {
                check_lr(self.lr())?;
                check_float32_range(self)?;
                match self {
                    $( OptimizerConfig::$Variant(c) => c.validate(), )+
                }
            }

            /// `kind` with the keywords in `fields`, PyTorch's defaults for the others.
            fn from_fields(kind: OptimizerKind, fields: Map<String, Value>) -> serde_json::Result<Self> {
                let fields = Value::Object(fields);
                match kind {
                    $( OptimizerKind::$Variant => serde_json::from_value(fields).map(OptimizerConfig::$Variant), )+
                }
            }
        }
    };
}

optimizers! {
    /// `torch.optim.SGD`.
    Sgd(SgdConfig) = "sgd", "SGD";
    /// `torch.optim.Adam`.
    Adam(AdamConfig) = "adam", "Adam";
    /// `torch.optim.AdamW` (decoupled weight decay, default 0.01).
    AdamW(AdamConfig) = "adamw", "AdamW";
    Adadelta(AdadeltaConfig) = "adadelta", "Adadelta";
    Adafactor(AdafactorConfig) = "adafactor", "Adafactor";
    Adagrad(AdagradConfig) = "adagrad", "Adagrad";
    Adamax(AdamaxConfig) = "adamax", "Adamax";
    Asgd(AsgdConfig) = "asgd", "ASGD";
    Muon(MuonConfig) = "muon", "Muon";
    NAdam(NAdamConfig) = "nadam", "NAdam";
    RAdam(RAdamConfig) = "radam", "RAdam";
    RMSprop(RMSpropConfig) = "rmsprop", "RMSprop";
    Rprop(RpropConfig) = "rprop", "Rprop";
}

impl OptimizerConfig {
    /// PyTorch's defaults for `kind` at learning rate `lr`.
    pub fn new(kind: OptimizerKind, lr: f64) -> Self {
        let mut config = Self::from_fields(kind, Map::new()).expect("every field has a default");
        if let OptimizerConfig::AdamW(c) = &mut config {
            c.weight_decay = 0.01;
        }
        config.set_lr(lr);
        config
    }

    /// PyTorch's spelling, `Adadelta(lr=1.0, rho=0.9)` or `AdamW(betas=(0.9, 0.98))` (the class
    /// name in any case; a bare name takes every default): an unknown optimizer or keyword is an
    /// error listing the valid ones.
    pub fn parse_call(text: &str) -> Result<Self> {
        let call = CallSpec::parse(text).map_err(|e| {
            Error::Config(format!("--optimizer {}: {e}", crate::error::quote(text)))
        })?;
        let kind = OptimizerKind::ALL
            .iter()
            .copied()
            .find(|k| k.torch_name().eq_ignore_ascii_case(&call.name))
            .ok_or_else(|| {
                let names: Vec<_> = OptimizerKind::ALL.iter().map(|k| k.torch_name()).collect();
                Error::Config(format!(
                    "unknown optimizer '{}' (expected {})",
                    crate::error::quote(&call.name),
                    crate::names::choices(names.into_iter())
                ))
            })?;
        let mut fields = Map::new();
        fields.insert("kind".into(), Value::String(kind.name().into()));
        for (key, value) in &call.kwargs {
            if value.as_f64().is_some_and(|v| !v.is_finite()) {
                return Err(Error::Config(format!(
                    "--optimizer {}: {key}={value} is not a finite number",
                    crate::error::quote(text)
                )));
            }
            fields.insert(key.clone(), value.to_json());
        }
        let config = Self::from_json(Value::Object(fields)).map_err(|e| {
            Error::Config(format!("--optimizer {}: {e}", crate::error::quote(text)))
        })?;
        config.validate()?;
        Ok(config)
    }

    /// The configuration in a `config.json`: `{"kind": …, keywords…}` with PyTorch's defaults for
    /// what is missing, or the flat form of the first releases (every optimizer's fields in one
    /// object, with `beta1`/`beta2`).
    fn from_json(value: Value) -> Result<Self> {
        let Value::Object(mut fields) = value else {
            return Err(Error::Config("the optimizer must be a JSON object".into()));
        };
        let kind: OptimizerKind = match fields.remove("kind") {
            Some(Value::String(name)) => name.parse()?,
            _ => return Err(Error::Config("the optimizer has no \"kind\"".into())),
        };
        if fields.contains_key("beta1") {
            fields = from_flat(kind, fields);
        }
        let Ok(Value::Object(mut full)) = serde_json::to_value(OptimizerConfig::new(kind, 1e-3))
        else {
            unreachable!("a configuration serialises to an object")
        };
        // PyTorch's default learning rate, unless given.
        if !fields.contains_key("lr") {
            full.remove("lr");
        }
        full.remove("kind");
        full.extend(fields);
        let parsed = Self::from_fields(kind, full);
        parsed.map_err(|e| Error::Config(format!("optimizer {kind}: {e}")))
    }
}

/// The keywords of `kind` from the first releases' flat object.
fn from_flat(kind: OptimizerKind, mut flat: Map<String, Value>) -> Map<String, Value> {
    let mut take = |key: &str| flat.remove(key).unwrap_or(Value::Null);
    let mut fields = Map::new();
    fields.insert("lr".into(), take("lr"));
    fields.insert("weight_decay".into(), take("weight_decay"));
    let (beta1, beta2) = (take("beta1"), take("beta2"));
    match kind {
        OptimizerKind::Sgd => {
            for key in ["momentum", "dampening", "nesterov"] {
                fields.insert(key.into(), take(key));
            }
        }
        _ => {
            fields.insert("betas".into(), Value::Array(vec![beta1, beta2]));
            for key in ["eps", "amsgrad"] {
                fields.insert(key.into(), take(key));
            }
        }
    }
    fields
}

impl<'de> Deserialize<'de> for OptimizerConfig {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        OptimizerConfig::from_json(Value::deserialize(d)?).map_err(serde::de::Error::custom)
    }
}

/// The largest magnitude a float32 holds: a hyper-parameter beyond it cannot become the
/// float32 scalar the step multiplies by (libtorch refuses the conversion mid-training).
pub const FLOAT32_MAX: f64 = f32::MAX as f64;

/// Every number of `config` (as its `config.json` keys) within ±[`FLOAT32_MAX`], checked when
/// the configuration is read rather than at the first step.
fn check_float32_range(config: &OptimizerConfig) -> Result<()> {
    let Ok(Value::Object(fields)) = serde_json::to_value(config) else {
        return Ok(());
    };
    for (key, value) in &fields {
        let numbers: Vec<&Value> = match value {
            Value::Array(items) => items.iter().collect(),
            other => vec![other],
        };
        for v in numbers.into_iter().filter_map(Value::as_f64) {
            if v.is_finite() && v.abs() > FLOAT32_MAX {
                return Err(Error::Config(format!(
                    "optimizer {key}={v:e} is out of range (|{key}| must be at most {FLOAT32_MAX:e}, float32's largest value)"
                )));
            }
        }
    }
    Ok(())
}

fn check_lr(lr: f64) -> Result<()> {
    if !lr.is_finite() || lr < 0.0 {
        return Err(checks::invalid(
            "learning rate (must be finite and >= 0)",
            lr,
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_keys_take_pytorch_defaults_and_unknown_ones_are_errors() {
        let c: OptimizerConfig = serde_json::from_str(r#"{"kind": "adamw", "lr": 0.1}"#).unwrap();
        assert_eq!(c, OptimizerConfig::new(OptimizerKind::AdamW, 0.1));
        let e = serde_json::from_str::<OptimizerConfig>(r#"{"kind": "sgd", "momentun": 0.9}"#)
            .unwrap_err()
            .to_string();
        assert!(e.contains("unknown field `momentun`"), "{e}");
        let e = serde_json::from_str::<OptimizerConfig>(r#"{"kind": "lbfgs"}"#)
            .unwrap_err()
            .to_string();
        assert!(e.contains("unknown optimizer 'lbfgs'"), "{e}");
    }

    #[test]
    fn the_first_releases_flat_form_still_reads() {
        let flat = r#"{"kind": "adam", "lr": 0.001, "momentum": 0.0, "dampening": 0.0,
            "nesterov": false, "weight_decay": 0.0, "beta1": 0.8, "beta2": 0.99, "eps": 1e-7,
            "amsgrad": true}"#;
        let c: OptimizerConfig = serde_json::from_str(flat).unwrap();
        let expected = AdamConfig {
            lr: 0.001,
            betas: (0.8, 0.99),
            eps: 1e-7,
            amsgrad: true,
            ..AdamConfig::default()
        };
        assert_eq!(c, OptimizerConfig::Adam(expected));
        let sgd = flat
            .replace("\"adam\"", "\"sgd\"")
            .replace("\"momentum\": 0.0", "\"momentum\": 0.9");
        let c: OptimizerConfig = serde_json::from_str(&sgd).unwrap();
        let OptimizerConfig::Sgd(sgd) = c else {
            panic!("{c:?}")
        };
        assert_eq!((sgd.lr, sgd.momentum), (0.001, 0.9));
        // And back: the current form round-trips.
        let text = serde_json::to_string(&OptimizerConfig::Sgd(sgd.clone())).unwrap();
        assert_eq!(
            serde_json::from_str::<OptimizerConfig>(&text).unwrap(),
            OptimizerConfig::Sgd(sgd)
        );
    }
}
