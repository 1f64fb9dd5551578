//! When to write which checkpoint: a pure function, so the policy is tested without files.

/// What to write after an epoch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CheckpointActions {
    /// Replace `last.safetensors`.
    pub save_last: bool,
    /// Replace `best.safetensors`.
    pub save_best: bool,
}

/// After epoch `epoch` of `epochs`: the last checkpoint every `every` epochs, at the final epoch
/// and whenever the run is stopping; the best one whenever the eval loss improves on `best`.
pub fn checkpoint_actions(
    epoch: usize,
    epochs: usize,
    every: usize,
    eval_loss: Option<f64>,
    best: Option<f64>,
    stopping: bool,
) -> CheckpointActions {
    let improved = match (eval_loss, best) {
        (Some(loss), Some(best)) => loss < best,
        (Some(loss), None) => loss.is_finite(),
        (None, _) => false,
    };
    CheckpointActions {
        save_last: stopping || epoch == epochs || (every > 0 && epoch % every == 0),
        save_best: improved,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn last_every_n_epochs_at_the_end_and_when_stopping() {
        let saved: Vec<usize> = (1..=10)
            .filter(|&e| checkpoint_actions(e, 10, 3, None, None, false).save_last)
            .collect();
        assert_eq!(saved, vec![3, 6, 9, 10]);
        assert!(checkpoint_actions(4, 10, 3, None, None, true).save_last);
        assert!(checkpoint_actions(1, 10, 1, None, None, false).save_last);
    }

    #[test]
    fn best_only_when_the_eval_loss_improves() {
        assert!(checkpoint_actions(1, 5, 1, Some(0.5), None, false).save_best);
        assert!(checkpoint_actions(2, 5, 1, Some(0.4), Some(0.5), false).save_best);
        assert!(!checkpoint_actions(3, 5, 1, Some(0.5), Some(0.4), false).save_best);
        assert!(!checkpoint_actions(3, 5, 1, Some(f64::NAN), None, false).save_best);
        assert!(!checkpoint_actions(3, 5, 1, None, Some(0.4), false).save_best);
    }
}
