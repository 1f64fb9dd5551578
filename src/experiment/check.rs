//! Does the model fit its data and criterion? Checked before any training (and before the run
//! directory exists): one probe forward pass of one sample, in evaluation mode and without
//! gradients, gives the output shape, and with it the number of classes (output dimension 1).
use tch::Tensor;

use super::Experiment;
use crate::criterion::{is_float, Loss};
use crate::data::Split;
use crate::error::{Error, Result};

impl Experiment {
    /// Checks the outputs of the model against the criterion and every split's targets: dtype,
    /// per-sample shape and class range. Sets `classes` for class-index losses.
    pub fn check_task(&mut self) -> Result<()> {
        let output = self.probe()?;
        let loss = self.loss;
        let out = output.size();
        let sample = self.data.train.inputs.size();
        if !is_float(output.kind()) || out.first() != Some(&1) {
            return Err(Error::Data(format!(
                "the model turns one sample of 'inputs' {sample:?} into {:?} {out:?}; \
                 the loss needs a float tensor [1, …]",
                output.kind()
            )));
        }
        self.classes = None;
        if loss.takes_class_indices() {
            if out.len() < 2 {
                return Err(Error::Data(format!(
                    "--loss {loss} needs model outputs [N, C, …] (C classes) but one sample of \
                     'inputs' {sample:?} gives {out:?}"
                )));
            }
            self.classes = Some(out[1]);
        }
        check_split(
            &self.data.train,
            ("inputs", "targets"),
            loss,
            &out,
            self.classes,
        )?;
        if let Some(eval) = &self.data.eval {
            let keys = ("eval_inputs", "eval_targets");
            check_split(eval, keys, loss, &out, self.classes)?;
        }
        Ok(())
    }

    /// The model's output for the first training sample, in evaluation mode (a batch-norm layer
    /// neither fails on one sample nor updates its statistics).
    fn probe(&mut self) -> Result<Tensor> {
        let inputs = &self.data.train.inputs;
        let one = inputs.f_slice(0, 0, 1, 1)?;
        self.model.set_train(false);
        let model = &self.model;
        tch::no_grad(|| model.forward_t(&one, false)).map_err(|e| {
            Error::Data(format!(
                "the model fails on one sample {:?} of 'inputs' {:?}: {e}",
                one.size(),
                inputs.size()
            ))
        })
    }
}

/// One split's targets against the probe's output shape `out` (`[1, …]`).
fn check_split(
    split: &Split,
    (inputs_key, targets_key): (&str, &str),
    loss: Loss,
    out: &[i64],
    classes: Option<i64>,
) -> Result<()> {
    let inputs = split.inputs.size();
    let targets = split.targets.size();
    loss.check_targets(&split.targets, targets_key, classes)?;
    let expected: &[i64] = if loss.takes_class_indices() {
        &out[2..]
    } else {
        &out[1..]
    };
    if targets[1..] != *expected {
        let mut wanted = vec!["N".to_string()];
        wanted.extend(expected.iter().map(|d| d.to_string()));
        return Err(Error::Data(format!(
            "'{targets_key}' {targets:?} does not fit the model's output {out:?} for one sample of \
             '{inputs_key}' {inputs:?}: --loss {loss} needs targets [{}]",
            wanted.join(", ")
        )));
    }
    Ok(())
}
