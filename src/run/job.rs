//! A run's place in a data-parallel job: joining the c10d group the torchrun environment names,
//! rank 0's weights for everyone, and the sink that checks after every epoch that the ranks'
//! parameters are still one model before rank 0 alone writes the run directory.
use std::rc::Rc;
use std::time::Duration;

use tch::Device;

use super::recorder::Recorder;
use crate::checkpoint::CheckpointActions;
use crate::distributed::{
    has_nccl, Backend, GradSync, ProcessGroup, ReduceOp, WorldEnv, BUCKET_CAP_MB,
    FIRST_BUCKET_BYTES,
};
use crate::error::{Error, Result};
use crate::experiment::Experiment;
use crate::interrupt::StopFlag;
use crate::run_state::RunState;
use crate::tensor_io::NamedTensors;
use crate::trace::{hash_bytes, tensor_bytes};
use crate::train::{RunSink, Step};

/// How a data-parallel run joins its group (used only when the torchrun variables are set).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DistConfig {
    /// `None`: NCCL for CUDA, Gloo for the CPU (PyTorch's default).
    pub backend: Option<Backend>,
    /// How long joining, and any collective, may wait for the other ranks.
    pub timeout: Duration,
}

impl Default for DistConfig {
    fn default() -> Self {
        DistConfig {
            backend: None,
            timeout: Duration::from_secs(300),
        }
    }
}

/// The job this process is a rank of (`None`: a single process), from the environment.
pub(crate) fn world() -> Result<Option<WorldEnv>> {
    WorldEnv::from_env()
}

/// Refuses a backend this build or device cannot run (NCCL needs CUDA and a build with NCCL).
pub fn check_backend(backend: Backend, device: Device) -> Result<()> {
    if backend == Backend::Nccl {
        if !has_nccl() {
            return Err(Error::Config(
                "--backend nccl: this build has no NCCL backend (it needs the CUDA and NCCL headers that scripts/setup.sh installs); use --backend gloo".into(),
            ));
        }
        if !device.is_cuda() {
            return Err(Error::Config(
                "--backend nccl runs on GPUs: use --device cuda, or --backend gloo".into(),
            ));
        }
    }
    Ok(())
}

/// The device of a rank: `auto` on a machine with GPUs takes the local rank's.
pub(crate) fn rank_device(device: Device, auto: bool, world: Option<&WorldEnv>) -> Device {
    match (device, world) {
        (Device::Cuda(_), Some(env)) if auto => {
            Device::Cuda(env.local_rank % tch::Cuda::device_count().max(1) as usize)
        }
        _ => device,
    }
}

/// Joins the group, on `device`'s default backend unless `dist` names one.
pub(crate) fn join(env: &WorldEnv, dist: &DistConfig, device: Device) -> Result<Rc<ProcessGroup>> {
    let backend = dist
        .backend
        .unwrap_or_else(|| Backend::default_for(device.is_cuda()));
    check_backend(backend, device)?;
    Ok(Rc::new(ProcessGroup::join(env, backend, dist.timeout)?))
}

/// Rank 0's initial weights (parameters and buffers) on every rank, as DDP starts.
pub(crate) fn share_weights(group: &ProcessGroup, experiment: &Experiment) -> Result<()> {
    let tensors: Vec<_> = experiment
        .state_dict()
        .into_iter()
        .map(|(_, t)| t)
        .collect();
    group.broadcast(&tensors, 0)
}

/// The step's gradient all-reduce over `group`, and rank 0's buffers for every rank unless
/// SyncBatchNorm (`sync_batchnorm`) keeps them equal on every rank already.
pub(crate) fn sync_step(
    step: Step,
    group: &Rc<ProcessGroup>,
    experiment: &Experiment,
    stop: &StopFlag,
    stop_on_nonfinite: bool,
    sync_batchnorm: bool,
    bucket_cap_mb: Option<f64>,
) -> Result<Step> {
    let params = experiment.parameters_in_model_order();
    let shared = match sync_batchnorm && experiment.model.torchscript().is_none() {
        true => Vec::new(),
        false => buffers(experiment),
    };
    // As DDP: int(bucket_cap_mb * 1024 * 1024), the first bucket smaller only by default.
    let caps = match bucket_cap_mb {
        None => (FIRST_BUCKET_BYTES, (BUCKET_CAP_MB * 1048576.0) as usize),
        Some(mb) => ((mb * 1048576.0) as usize, (mb * 1048576.0) as usize),
    };
    let sync = GradSync::new(
        group.clone(),
        &params,
        caps,
        stop.clone(),
        stop_on_nonfinite,
    )?
    .with_buffers(shared);
    Ok(step.with_sync(sync))
}

/// The state_dict's tensors that are not trained (batch norm's running statistics).
pub(crate) fn buffers(experiment: &Experiment) -> Vec<tch::Tensor> {
    let params: Vec<String> = experiment
        .parameters()
        .into_iter()
        .map(|(n, _)| n)
        .collect();
    experiment
        .state_dict()
        .into_iter()
        .filter(|(name, _)| !params.contains(name))
        .map(|(_, t)| t)
        .collect()
}

/// What a model with buffers changes without SyncBatchNorm: they are statistics of each rank's
/// own rows.
pub(crate) fn buffers_warning(experiment: &Experiment, sync_batchnorm: bool) -> Option<String> {
    if experiment.model.torchscript().is_some() {
        // tch cannot reach a module's buffers: they stay each rank's own.
        return Some("warning: a TorchScript module's buffers (batch norm), if it has any, are each process's own statistics: such a model's losses are not one process's".into());
    }
    (!sync_batchnorm && !buffers(experiment).is_empty()).then(|| {
        format!(
            "warning: {} has buffers (batch norm) and --sync-batchnorm is off: each process normalises with its own rows' statistics and rank 0's running statistics are kept, as DDP without SyncBatchNorm, so its losses are not one process's",
            experiment.name
        )
    })
}

/// The sink of a data-parallel run: every rank checks its replica, rank 0 records.
pub(crate) struct JobSink<'a> {
    pub group: &'a ProcessGroup,
    /// Rank 0's recorder; `None` on the other ranks.
    pub recorder: Option<&'a mut Recorder>,
}

impl JobSink<'_> {
    /// An error unless every rank holds the same weights (a hash of every tensor's bytes, its
    /// maximum and minimum over the ranks: two small collectives per epoch).
    fn check_replicas(&self, experiment: &Experiment) -> Result<()> {
        let hash = weights_hash(&experiment.state_dict())?;
        let mut values = [hash, -hash];
        self.group.all_reduce_f64(&mut values, ReduceOp::Max)?;
        if values[0] != -values[1] {
            return Err(Error::Distributed(
                "the ranks' parameters differ after this epoch (they must stay one model)".into(),
            ));
        }
        Ok(())
    }
}

impl RunSink for JobSink<'_> {
    fn epoch_done(
        &mut self,
        experiment: &Experiment,
        step: &Step,
        state: &RunState,
        actions: CheckpointActions,
    ) -> Result<()> {
        self.check_replicas(experiment)?;
        match &mut self.recorder {
            Some(recorder) => recorder.epoch_done(experiment, step, state, actions),
            None => Ok(()),
        }
    }

    fn stopped(&mut self, experiment: &Experiment, step: &Step, state: &RunState) -> Result<()> {
        match &mut self.recorder {
            Some(recorder) => recorder.stopped(experiment, step, state),
            None => Ok(()),
        }
    }

    fn last_checkpoint(&self) -> String {
        match &self.recorder {
            Some(recorder) => recorder.last_checkpoint(),
            None => "see rank 0".to_string(),
        }
    }
}

/// 52 bits of SHA-256 over every tensor's bytes, as a float64 that collectives carry exactly.
fn weights_hash(tensors: &NamedTensors) -> Result<f64> {
    let mut bytes = Vec::new();
    for (_, tensor) in tensors {
        bytes.extend(tensor_bytes(tensor)?);
    }
    let hex = hash_bytes(&bytes);
    Ok(u64::from_str_radix(&hex[..13], 16).unwrap_or(0) as f64)
}
