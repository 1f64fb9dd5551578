//! Sample-weighted metric state: a sum and a count, never an average of per-batch averages.
mod accuracy;
mod device_loss;
mod epoch_accuracy;
mod loss;
mod loss_sync;
mod running;

pub use accuracy::{
    correct_binary, correct_classes, count_correct_binary, count_correct_classes, Accuracy,
};
pub use device_loss::DeviceLossAccumulator;
pub use epoch_accuracy::EpochAccuracy;
pub use loss::LossAccumulator;
pub use loss_sync::{BatchLoss, EpochLoss, LossSync};
pub use running::RunningLoss;
