//! Sample-weighted metric state: a sum and a count, never an average of per-batch averages.
mod accuracy;
mod loss;

pub use accuracy::{count_correct_binary, count_correct_classes, Accuracy};
pub use loss::LossAccumulator;
