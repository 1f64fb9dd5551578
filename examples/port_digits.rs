//! A hand-written Rust port of `examples/port_digits.py` — its own tch loop, not the harness's —
//! and the porting guide's worked example of the divergence locator (docs/porting.md). It traces
//! every optimizer step into `trace.jsonl` as scripts/trace.py does on the Python side, so
//! `tch-harness diff` names the first step and tensor where the two part.
//!
//! ```sh
//! .venv/bin/python examples/port_digits.py runs/digits-python
//! cargo run --release --example port_digits -- runs/digits-rust                      # identical
//! cargo run --release --example port_digits -- runs/digits-rust --break last-batch   # or tch-init, adam-eps
//! cargo run --release -- diff runs/digits-rust runs/digits-python
//! ```
//!
//! `--break` puts back one of three mistakes ports make: tch's `Iter2` default, which drops the
//! short last batch; tch's own `nn::linear` initialisation instead of PyTorch's; Adam's epsilon
//! inside the square root instead of after it.
use std::io::Write;
use std::path::Path;

use tch::data::Iter2;
use tch::nn::VarStore;
use tch::{Device, Tensor};
use tch_harness::data::{digits, epoch_order};
use tch_harness::model::{linear, LinearConfig};
use tch_harness::trace::Tracer;
use tch_harness::Result;

// The Python script's constants.
const EPOCHS: usize = 3;
const BATCH_SIZE: i64 = 64;
const LR: f64 = 1e-3;
const BETAS: (f64, f64) = (0.9, 0.999);
const EPS: f64 = 1e-8;
const SEED: u64 = 0;

/// The mistake `--break` puts in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Break {
    None,
    /// `Iter2` without `return_smaller_last_batch()`: 1,347 samples in batches of 64 lose 3.
    LastBatch,
    /// `tch::nn::linear`: Kaiming-uniform with another bound, and the bias drawn first.
    TchInit,
    /// `sqrt(v̂ + eps)` instead of `sqrt(v̂) + eps`.
    AdamEps,
}

impl Break {
    /// The `--break` value.
    pub fn parse(name: &str) -> Option<Break> {
        match name {
            "last-batch" => Some(Break::LastBatch),
            "tch-init" => Some(Break::TchInit),
            "adam-eps" => Some(Break::AdamEps),
            _ => None,
        }
    }
}

/// `DigitsNet`: fc1 (64 → 32), ReLU, fc2 (32 → 10), as `(weight, bias)` pairs in model order.
fn digits_net(vs: &VarStore, bug: Break) -> Result<Vec<(Tensor, Tensor)>> {
    let root = vs.root();
    [("fc1", 64, 32), ("fc2", 32, 10)]
        .into_iter()
        .map(|(name, n_in, n_out)| {
            let path = &root / name;
            Ok(if bug == Break::TchInit {
                let layer = tch::nn::linear(&path, n_in, n_out, Default::default());
                (layer.ws, layer.bs.expect("a bias"))
            } else {
                let layer = linear(&path, n_in, n_out, LinearConfig::default())?;
                (layer.weight, layer.bias.expect("a bias"))
            })
        })
        .collect()
}

fn forward(layers: &[(Tensor, Tensor)], xs: &Tensor) -> Result<Tensor> {
    let hidden = xs.f_linear(&layers[0].0, Some(&layers[0].1))?.f_relu()?;
    Ok(hidden.f_linear(&layers[1].0, Some(&layers[1].1))?)
}

/// torch.optim.Adam's single-tensor update (foreach=False), written out.
struct Adam {
    step: f64,
    moments: Vec<(Tensor, Tensor)>,
    eps_inside_sqrt: bool,
}

impl Adam {
    fn new(params: &[Tensor], eps_inside_sqrt: bool) -> Adam {
        let moments = params
            .iter()
            .map(|p| (p.zeros_like(), p.zeros_like()))
            .collect();
        Adam {
            step: 0.0,
            moments,
            eps_inside_sqrt,
        }
    }

    fn step(&mut self, params: &mut [Tensor]) -> Result<()> {
        self.step += 1.0;
        let (b1, b2) = BETAS;
        let step_size = LR / (1.0 - b1.powf(self.step));
        let bias_correction2_sqrt = (1.0 - b2.powf(self.step)).sqrt();
        tch::no_grad(|| {
            for (param, (exp_avg, exp_avg_sq)) in params.iter_mut().zip(&mut self.moments) {
                let grad = param.grad();
                let _ = exp_avg.f_lerp_(&grad, 1.0 - b1)?;
                let _ = exp_avg_sq.f_mul_scalar_(b2)?;
                let _ = exp_avg_sq.f_addcmul_(&grad.f_mul_scalar(1.0 - b2)?, &grad)?;
                let denom = if self.eps_inside_sqrt {
                    exp_avg_sq
                        .f_add_scalar(EPS)?
                        .f_sqrt()?
                        .f_div_scalar(bias_correction2_sqrt)?
                } else {
                    exp_avg_sq
                        .f_sqrt()?
                        .f_div_scalar(bias_correction2_sqrt)?
                        .f_add_scalar(EPS)?
                };
                let _ = param.f_addcdiv_(&exp_avg.f_mul_scalar(-step_size)?, &denom)?;
            }
            Ok(())
        })
    }
}

/// Trains the port into `out` with `bug` in it.
pub fn run(out: &Path, bug: Break) -> Result<()> {
    std::fs::create_dir_all(out).map_err(|e| tch_harness::Error::file(out, e))?;
    tch::set_num_threads(1);
    tch::manual_seed(SEED as i64); // torch.manual_seed(SEED), right before the model is built
    let data = digits()?;
    let (x, y) = (&data.train.inputs, &data.train.targets);
    let vs = VarStore::new(Device::Cpu);
    let layers = digits_net(&vs, bug)?;
    let names = ["fc1.weight", "fc1.bias", "fc2.weight", "fc2.bias"].map(String::from);
    let mut params: Vec<Tensor> = layers
        .iter()
        .flat_map(|(w, b)| [w.shallow_clone(), b.shallow_clone()])
        .collect();
    // The same tensors under their state_dict names, for the trace.
    let named: Vec<(String, Tensor)> = names
        .iter()
        .cloned()
        .zip(params.iter().map(Tensor::shallow_clone))
        .collect();
    let mut optimizer = Adam::new(&params, bug == Break::AdamEps);
    let mut tracer = Tracer::create(&out.join("trace.jsonl"))?;
    tracer.start(&named)?;
    let mut metrics = std::fs::File::create(out.join("metrics.jsonl"))
        .map_err(|e| tch_harness::Error::file(out, e))?;
    let n = x.size()[0];
    for epoch in 1..=EPOCHS {
        let order = epoch_order(n as usize, SEED, epoch); // EpochShuffle's order
        let mut batches = Iter2::f_new(
            &x.index_select(0, &order),
            &y.index_select(0, &order),
            BATCH_SIZE,
        )?;
        if bug != Break::LastBatch {
            batches.return_smaller_last_batch(); // DataLoader keeps it; Iter2 drops it unless told
        }
        let (mut total_loss, mut seen, mut batch) = (0.0, 0, 0);
        for (inputs, targets) in &mut batches {
            for p in &mut params {
                p.zero_grad();
            }
            let outputs = forward(&layers, &inputs)?;
            let loss = outputs.f_cross_entropy_loss::<Tensor>(
                &targets,
                None,
                tch::Reduction::Mean,
                -100,
                0.0,
            )?; // batch mean
            loss.f_backward()?;
            optimizer.step(&mut params)?;
            let batch_size = inputs.size()[0];
            let indices = order.narrow(0, seen, batch_size);
            batch += 1;
            seen += batch_size;
            let value = loss.f_double_value(&[])?;
            tracer.step(&named, &[value], &indices, epoch, batch)?;
            total_loss += value * batch_size as f64; // batch sum
        }
        let average_loss = total_loss / n as f64; // NOT / batches
        let record = serde_json::json!({"epoch": epoch, "train_loss": average_loss,
            "train_samples": seen, "batches": batch});
        writeln!(metrics, "{record}").map_err(|e| tch_harness::Error::file(out, e))?;
        println!("epoch {epoch:>3}/{EPOCHS}  train_loss {average_loss:.6}  batches {batch}");
    }
    tracer.finish()
}

#[allow(dead_code)] // the test suite includes this file and calls `run`
fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let out = args
        .next()
        .unwrap_or_else(|| "runs/port-digits-rust".into());
    let bug = match (args.next().as_deref(), args.next()) {
        (None, _) => Break::None,
        (Some("--break"), Some(kind)) => Break::parse(&kind).ok_or_else(|| {
            anyhow::anyhow!("--break takes last-batch, tch-init or adam-eps, got {kind}")
        })?,
        _ => anyhow::bail!("usage: port_digits [OUT] [--break last-batch|tch-init|adam-eps]"),
    };
    run(Path::new(&out), bug)?;
    Ok(())
}
