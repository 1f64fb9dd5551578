//! The callbacks' pure decisions on hand-made records: Lightning's rules at their edges.
use super::*;
use crate::run_state::EpochRecord;

fn record(epoch: usize, eval_loss: f64) -> EpochRecord {
    EpochRecord {
        epoch,
        train_loss: 1.0,
        eval_loss: Some(eval_loss),
        eval_accuracy: None,
        eval_metrics: Default::default(),
        train_samples: 10,
        train_count: None,
        eval_count: None,
        batches: 2,
        skipped_batches: 0,
        lr: Some(0.1),
        lrs: None,
        grad_norm_max: None,
        ema_eval_loss: None,
        ema_eval_accuracy: None,
        swa_eval_loss: None,
        swa_eval_accuracy: None,
        loss_scale: None,
        skipped_steps: None,
        rank_step_ms: None,
        rank_sync_ms: None,
        grad_buckets: None,
        grad_buckets_in_backward: None,
        seconds: 0.0,
        train_seconds: 0.0,
        elapsed_seconds: 0.0,
    }
}

/// The epoch early stopping ends after, for `spec` over `losses`.
fn stops_after(spec: &str, losses: &[f64]) -> Option<usize> {
    let spec = EarlyStoppingSpec::parse(spec).unwrap();
    let mut state = spec.start();
    for (i, &loss) in losses.iter().enumerate() {
        spec.update(&mut state, &record(i + 1, loss)).unwrap();
        if let Some(stopped) = &state.stopped {
            return Some(stopped.epoch);
        }
    }
    None
}

#[test]
fn early_stopping_edges() {
    let es = |kw: &str| format!("EarlyStopping(monitor='eval_loss', {kw})");
    // min_delta: an improvement must beat the best by it (Lightning flips its sign for min).
    assert_eq!(
        stops_after(&es("patience=1, min_delta=0.1"), &[1.0, 0.95]),
        Some(2)
    );
    assert_eq!(
        stops_after(&es("patience=1, min_delta=0.1"), &[1.0, 0.85]),
        None
    );
    // patience=0 stops at the first epoch without improvement; a tie is no improvement.
    assert_eq!(stops_after(&es("patience=0"), &[1.0, 1.0]), Some(2));
    // check_finite stops on NaN at once; without it, NaN never improves.
    assert_eq!(stops_after(&es("patience=5"), &[1.0, f64::NAN]), Some(2));
    assert_eq!(
        stops_after(
            &es("patience=2, check_finite=False"),
            &[1.0, f64::NAN, f64::NAN]
        ),
        Some(3)
    );
    // Thresholds: reached (better than) stops; diverged (worse than) stops.
    assert_eq!(
        stops_after(&es("stopping_threshold=0.5"), &[1.0, 0.5, 0.4]),
        Some(3)
    );
    assert_eq!(
        stops_after(&es("divergence_threshold=2.0"), &[1.0, 2.5]),
        Some(2)
    );
    // mode='max' on a rising then falling metric.
    assert_eq!(
        stops_after(&es("mode='max', patience=2"), &[0.1, 0.2, 0.15, 0.19]),
        Some(4)
    );
}

/// The kept files of `ModelCheckpoint(spec)` over `losses`, as (epoch, score).
fn kept(spec: &str, losses: &[f64]) -> Vec<(usize, f64)> {
    let spec = ModelCheckpointSpec::parse(spec).unwrap();
    let mut state = ModelCheckpointState::default();
    for (i, &loss) in losses.iter().enumerate() {
        spec.update(&mut state, &record(i + 1, loss), 2 * (i as u64 + 1))
            .unwrap();
    }
    state.kept.iter().map(|k| (k.epoch, k.score)).collect()
}

#[test]
fn top_k_edges() {
    let mc = |kw: &str| format!("ModelCheckpoint(monitor='eval_loss', {kw})");
    // Ties: the first kept among the worst goes; a tie with the worst does not enter.
    assert_eq!(
        kept(&mc("save_top_k=2"), &[0.5, 0.5, 0.4, 0.5]),
        vec![(2, 0.5), (3, 0.4)]
    );
    // NaN does not enter a full top k; below k it enters as the worst (+inf for min).
    assert_eq!(kept(&mc("save_top_k=1"), &[0.5, f64::NAN]), vec![(1, 0.5)]);
    assert_eq!(
        kept(&mc("save_top_k=2"), &[f64::NAN]),
        vec![(1, f64::INFINITY)]
    );
    // -1 keeps every file; every_n_epochs skips the others.
    assert_eq!(kept(&mc("save_top_k=-1"), &[3.0, 2.0, 1.0]).len(), 3);
    assert_eq!(
        kept(&mc("save_top_k=-1, every_n_epochs=2"), &[3.0, 2.0, 1.0]),
        vec![(2, 2.0)]
    );
    assert!(kept(&mc("save_top_k=0"), &[3.0]).is_empty());
}

#[test]
fn file_names_as_lightning_formats_them() {
    let name = |spec: &str| {
        let spec = ModelCheckpointSpec::parse(spec).unwrap();
        let mut state = ModelCheckpointState::default();
        spec.update(&mut state, &record(3, 0.123456), 42).unwrap();
        spec.update(&mut state, &record(3, 0.123456), 42).unwrap();
        state
            .kept
            .iter()
            .map(|k| k.file.clone())
            .collect::<Vec<_>>()
    };
    assert_eq!(
        name("ModelCheckpoint(monitor='eval_loss', save_top_k=-1)"),
        ["epoch=3-eval_loss=0.1235", "epoch=3-eval_loss=0.1235-v1"]
    );
    assert_eq!(
        name("ModelCheckpoint(monitor='eval_loss', filename='m-{epoch:03d}-{step}', save_top_k=1)"),
        ["m-epoch=003-step=42"]
    );
    assert_eq!(
        name("ModelCheckpoint(filename='{epoch}_{eval_loss:.2f}', auto_insert_metric_name=False)"),
        ["3_0.12"]
    );
}
