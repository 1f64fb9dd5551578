//! Does the model fit its data and criterion? Checked before any training (and before the run
//! directory exists): one probe forward pass of one sample, in evaluation mode and without
//! gradients, gives the output shape and dtype, and with it the number of classes (output
//! dimension 1); a second pass of two samples checks that the output has one row per sample.
use tch::Tensor;

use super::Experiment;
use crate::criterion::{check_targets, is_float, target_shape, LossFn, LossOptions, Targets};
use crate::data::Split;
use crate::error::{Error, Result};

impl Experiment {
    /// Checks the outputs of the model against the criterion (with its `options`) and every
    /// split's targets: dtype, per-sample shape, class range (the ignore index aside), the number
    /// of class weights and positive weights. Sets `classes` for class-index losses.
    pub fn check_task(&mut self, options: &LossOptions) -> Result<()> {
        let output = self.probe(1)?;
        let loss = self.loss.build(options, self.device())?;
        let loss = loss.as_ref();
        let out = output.size();
        let sample = self.data.train.inputs.size();
        if !is_float(output.kind()) || out.first() != Some(&1) {
            return Err(Error::Data(format!(
                "the model turns one sample of 'inputs' {sample:?} into {:?} {out:?}; \
                 the loss needs a float tensor [1, …]",
                output.kind()
            )));
        }
        // One row per sample: a model that reduces over the batch (`.mean(0, keepdim=True)`)
        // passes the one-sample probe but gives [1, …] for every batch.
        if self.data.train.len() >= 2 {
            let two = self.probe(2)?.size();
            if two.first() != Some(&2) || two[1..] != out[1..] {
                return Err(Error::Data(format!(
                    "the model turns one sample of 'inputs' {sample:?} into {out:?} but two into \
                     {two:?}; it must return one row per sample"
                )));
            }
        }
        self.classes = None;
        if let Targets::ClassIndices { .. } = loss.targets() {
            if out.len() < 2 {
                return Err(Error::Data(format!(
                    "--loss {} needs model outputs [N, C, …] (C classes) but one sample of \
                     'inputs' {sample:?} gives {out:?}",
                    loss.name()
                )));
            }
            self.classes = Some(out[1]);
        }
        options.check_against(loss, self.classes)?;
        options.check_pos_weight(&out)?;
        let output = (out.as_slice(), output.kind());
        let check = |split: &Split, keys| check_split(split, keys, loss, output, self.classes);
        check(&self.data.train, ("inputs", "targets"))?;
        if let Some(eval) = &self.data.eval {
            check(eval, ("eval_inputs", "eval_targets"))?;
        }
        Ok(())
    }

    /// Checks that training can change the model's output: a pass of (up to) two training
    /// samples, in evaluation mode but with gradients, must give an output that requires grad.
    /// Without one (no parameters, all frozen with `requires_grad=False`, or an output detached
    /// in `forward`), the first backward pass would fail after the run directory was made.
    pub fn check_trainable(&mut self) -> Result<()> {
        let n = (self.data.train.len() as i64).min(2);
        let batch = self.data.train.inputs.f_slice(0, 0, n, 1)?;
        self.model.set_train(false);
        let output = self.model.forward_t(&batch, false)?;
        if output.requires_grad() {
            return Ok(());
        }
        Err(Error::Data(format!(
            "the model's output does not depend on any trainable parameter ({} parameters, {} \
             with requires_grad): there is nothing to train",
            self.vs.variables().len(),
            self.vs.trainable_variables().len()
        )))
    }

    /// The model's output for the first `n` training samples, in evaluation mode (a batch-norm
    /// layer neither fails on one sample nor updates its statistics).
    fn probe(&mut self, n: i64) -> Result<Tensor> {
        let inputs = &self.data.train.inputs;
        let batch = inputs.f_slice(0, 0, n, 1)?;
        self.model.set_train(false);
        let model = &self.model;
        let what = if n == 1 { "one sample" } else { "two samples" };
        tch::no_grad(|| model.forward_t(&batch, false)).map_err(|e| {
            Error::Data(format!(
                "the model fails on {what} {:?} of 'inputs' {:?}: {e}",
                batch.size(),
                inputs.size()
            ))
        })
    }
}

/// One split's targets against the probe's output shape `out` (`[1, …]`) and dtype.
fn check_split(
    split: &Split,
    (inputs_key, targets_key): (&str, &str),
    loss: &dyn LossFn,
    (out, output_kind): (&[i64], tch::Kind),
    classes: Option<i64>,
) -> Result<()> {
    let inputs = split.inputs.size();
    let targets = split.targets.size();
    check_targets(loss, &split.targets, targets_key, classes, output_kind)?;
    let expected = target_shape(loss, out);
    if targets[1..] != *expected {
        let mut wanted = vec!["N".to_string()];
        wanted.extend(expected.iter().map(|d| d.to_string()));
        return Err(Error::Data(format!(
            "'{targets_key}' {targets:?} does not fit the model's output {out:?} for one sample of \
             '{inputs_key}' {inputs:?}: --loss {} needs targets [{}]",
            loss.name(),
            wanted.join(", ")
        )));
    }
    Ok(())
}
