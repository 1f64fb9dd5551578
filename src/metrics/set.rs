//! The metrics a run asked for, as evaluation holds them: built and checked against the
//! criterion (class-index targets only) before training, updated per batch, summed over the
//! processes in one collective, and valued once.
use std::collections::BTreeMap;

use tch::{Device, Tensor};

use super::{ClassCounts, Metric, MetricSpec, Perplexity, TopKAccuracy};
use crate::config::TrainConfig;
use crate::criterion::{Criterion, Loss, Targets, DEFAULT_IGNORE_INDEX};
use crate::error::{Error, Result};
use crate::experiment::Experiment;
use crate::tally::Reduce;

/// A metric's value by its name (`metrics.jsonl`'s `eval_metrics`); a metric with nothing
/// counted (every target ignored) is left out.
pub type MetricValues = BTreeMap<String, f64>;

/// The metrics of one pass over a split.
#[derive(Debug, Default)]
pub struct MetricSet {
    metrics: Vec<Box<dyn Metric>>,
}

impl MetricSet {
    /// `specs` for `criterion`'s outputs of `classes` classes, their sums on `device`; an error
    /// for a loss without class-index targets, a `k` above the classes, or perplexity for a loss
    /// that is neither cross-entropy (logits) nor nll (log-probabilities).
    pub fn new(
        specs: &[MetricSpec],
        criterion: &Criterion,
        classes: Option<i64>,
        device: Device,
    ) -> Result<MetricSet> {
        let Some(spec) = specs.first() else {
            return Ok(MetricSet::default());
        };
        let loss = criterion.loss().name().to_string();
        let (Targets::ClassIndices { ignore_index }, Some(classes)) =
            (criterion.loss().targets(), classes)
        else {
            return Err(Error::Config(format!(
                "--metrics {spec} needs class-index targets (--loss cross-entropy or nll), not --loss {loss}"
            )));
        };
        let ignore_index = ignore_index.unwrap_or(DEFAULT_IGNORE_INDEX);
        let mut metrics: Vec<Box<dyn Metric>> = Vec::new();
        for spec in specs.iter().copied() {
            metrics.push(match spec {
                MetricSpec::TopK(k) if k > classes => {
                    return Err(Error::Config(format!(
                        "--metrics {spec}: k = {k} is more than the model's {classes} classes"
                    )))
                }
                MetricSpec::TopK(k) => Box::new(TopKAccuracy::new(k, ignore_index, device)?),
                MetricSpec::Class(average, stat) => Box::new(ClassCounts::new(
                    average,
                    stat,
                    classes,
                    ignore_index,
                    device,
                )?),
                MetricSpec::Perplexity => {
                    let logits = match loss.as_str() {
                        l if l == Loss::CrossEntropy.name() => true,
                        l if l == Loss::Nll.name() => false,
                        _ => {
                            return Err(Error::Config(format!(
                            "--metrics perplexity needs a token-level --loss cross-entropy or nll, not --loss {loss}"
                        )))
                        }
                    };
                    Box::new(Perplexity::new(logits, ignore_index, device)?)
                }
            });
        }
        Ok(MetricSet { metrics })
    }

    /// Whether no metric was asked for.
    pub fn is_empty(&self) -> bool {
        self.metrics.is_empty()
    }

    /// Adds a batch to every metric.
    pub fn update(&mut self, outputs: &Tensor, targets: &Tensor) -> Result<()> {
        for metric in &mut self.metrics {
            metric.update(outputs, targets)?;
        }
        Ok(())
    }

    /// Every metric's value from its sums over `processes` (one collective for all of them).
    pub fn values(&self, processes: &dyn Reduce) -> Result<MetricValues> {
        let states = self
            .metrics
            .iter()
            .map(|m| m.state())
            .collect::<Result<Vec<_>>>()?;
        let mut flat: Vec<f64> = states.concat();
        if processes.world_size() > 1 && !flat.is_empty() {
            processes.sum_f64(&mut flat)?;
        }
        let mut values = MetricValues::new();
        let mut at = 0;
        for (metric, state) in self.metrics.iter().zip(&states) {
            let summed = &flat[at..at + state.len()];
            at += state.len();
            if let Some(value) = metric.value(summed) {
                values.insert(metric.spec().to_string(), value);
            }
        }
        Ok(values)
    }
}

/// An error unless `config`'s `--metrics` fit `experiment`'s loss and classes: checked before a
/// run directory is made.
pub fn check(config: &TrainConfig, experiment: &Experiment, device: Device) -> Result<()> {
    let (specs, classes) = (config.training().metrics(), experiment.classes);
    if specs.is_empty() {
        return Ok(());
    }
    let options = config.experiment().loss_options();
    let criterion = Criterion::new(&experiment.loss, options, classes, device)?;
    MetricSet::new(specs, &criterion, classes, device).map(drop)
}
