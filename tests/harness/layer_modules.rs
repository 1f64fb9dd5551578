//! The porting kit's layers are tch `nn::Module`s (batch norm and dropout `nn::ModuleT`s), so they
//! compose with `nn::seq()` and `nn::seq_t()`: a stack of them gives, bit for bit, what calling
//! each layer's own `forward` gives (their numbers against PyTorch are `layer_parity`'s).
use tch::nn::{self, ModuleT, VarStore};
use tch::{Device, Kind, Tensor};
use tch_harness::model::functional::{flatten, relu};
use tch_harness::model::{
    batch_norm2d, conv2d, dropout, embedding, layer_norm, linear, BatchNorm, BatchNormConfig,
    Conv2d, Conv2dConfig, Dropout, Embedding, EmbeddingConfig, LayerNorm, LayerNormConfig, Linear,
    LinearConfig,
};

use crate::bits::assert_bits_eq;
use crate::common::global_rng;

/// conv → batch norm → ReLU → flatten → dropout → linear → layer norm.
struct Stack {
    conv: Conv2d,
    bn: BatchNorm,
    dropout: Dropout,
    fc: Linear,
    ln: LayerNorm,
}

/// The stack under `vs`, drawn after `manual_seed(seed)` (so two calls build equal stacks).
fn stack(vs: &VarStore, seed: i64) -> Stack {
    tch::manual_seed(seed);
    let root = vs.root();
    let same = Conv2dConfig {
        padding: 1,
        ..Default::default()
    };
    Stack {
        conv: conv2d(&(&root / "conv"), 2, 4, 3, same).unwrap(),
        bn: batch_norm2d(&(&root / "bn"), 4, BatchNormConfig::default()).unwrap(),
        dropout: dropout(0.3).unwrap(),
        fc: linear(&(&root / "fc"), 4 * 5 * 5, 6, LinearConfig::default()).unwrap(),
        ln: layer_norm(&(&root / "ln"), &[6], LayerNormConfig::default()).unwrap(),
    }
}

impl Stack {
    /// Each layer's own (fallible) forward, in turn.
    fn forward_t(&self, xs: &Tensor, train: bool) -> Tensor {
        let x = self.bn.forward_t(&self.conv.forward(xs).unwrap(), train);
        let x = flatten(&relu(&x.unwrap()).unwrap(), 1, -1).unwrap();
        let x = self.dropout.forward_t(&x, train).unwrap();
        self.ln.forward(&self.fc.forward(&x).unwrap()).unwrap()
    }

    /// The same layers moved into `nn::seq_t()`.
    fn into_seq_t(self) -> nn::SequentialT {
        nn::seq_t()
            .add(self.conv)
            .add(self.bn)
            .add_fn(|x| relu(x).unwrap())
            .add_fn(|x| flatten(x, 1, -1).unwrap())
            .add(self.dropout)
            .add(self.fc)
            .add(self.ln)
    }
}

#[test]
fn layers_compose_in_seq_t_as_their_own_forward_in_train_and_eval_mode() {
    let _rng = global_rng();
    let (own_vs, seq_vs) = (VarStore::new(Device::Cpu), VarStore::new(Device::Cpu));
    let own = stack(&own_vs, 7);
    let seq = stack(&seq_vs, 7).into_seq_t();
    let xs = Tensor::randn([3, 2, 5, 5], (Kind::Float, Device::Cpu));
    // Eval first: batch norm's running statistics are still the initial ones on both sides.
    let want = own.forward_t(&xs, false);
    assert_bits_eq("eval", &seq.forward_t(&xs, false), &want);
    for step in 0..2 {
        // Dropout draws its mask from the global generator: the same seed, the same mask.
        tch::manual_seed(100 + step);
        let want = own.forward_t(&xs, true);
        tch::manual_seed(100 + step);
        let got = seq.forward_t(&xs, true);
        assert_bits_eq(&format!("train, step {step}"), &got, &want);
    }
    // Both updated their running statistics alike in the two training passes.
    assert_bits_eq(
        "eval after",
        &seq.forward_t(&xs, false),
        &own.forward_t(&xs, false),
    );
    let ones = Tensor::ones([1000], (Kind::Float, Device::Cpu));
    let dropped = own.dropout.forward_t(&ones, true).unwrap();
    let zeros = dropped.eq(0.0).sum(Kind::Int64).int64_value(&[]);
    assert!(zeros > 0, "dropout drops in training mode");
}

#[test]
fn layers_compose_in_seq_as_their_own_forward() {
    let _rng = global_rng();
    let build = |vs: &VarStore| -> (Embedding, Linear, LayerNorm) {
        tch::manual_seed(11);
        let root = vs.root();
        let config = EmbeddingConfig {
            padding_idx: Some(0),
        };
        (
            embedding(&(&root / "embed"), 9, 4, config).unwrap(),
            linear(&(&root / "fc"), 4, 3, LinearConfig::default()).unwrap(),
            layer_norm(&(&root / "ln"), &[3], LayerNormConfig::default()).unwrap(),
        )
    };
    let (own_vs, seq_vs) = (VarStore::new(Device::Cpu), VarStore::new(Device::Cpu));
    let (embed, fc, ln) = build(&own_vs);
    let (seq_embed, seq_fc, seq_ln) = build(&seq_vs);
    let seq = nn::seq().add(seq_embed).add(seq_fc).add(seq_ln);
    let tokens = Tensor::from_slice(&[0i64, 3, 8, 1, 0, 5]).view([2, 3]);
    let want = ln
        .forward(&fc.forward(&embed.forward(&tokens).unwrap()).unwrap())
        .unwrap();
    assert_bits_eq("seq", &nn::Module::forward(&seq, &tokens), &want);
    assert_eq!(want.size(), [2, 3, 3]);
}
