//! The epoch order: `data::epoch_order(n, seed, epoch)` is the order in which the reference
//! script's `EpochShuffle` sampler, inside a real `DataLoader`, hands out the samples.
use std::collections::BTreeMap;

use tch_harness::data::{epoch_order, shuffle_seed};

use crate::common::{global_rng, run_python};

const SIZES: [usize; 6] = [1, 7, 64, 426, 1000, 1347];
const SEEDS: [u64; 5] = [0, 1, 12345, (1 << 63) + 12345, u64::MAX];
const EPOCHS: usize = 5;

/// For each n, seed and epoch (`argv[1]`, JSON), the sample indices a DataLoader over
/// `TensorDataset(torch.arange(n))` yields with reference.py's sampler, and reference.py's
/// `shuffle_seed`, as JSON keyed `"n/seed/epoch"` and `"seed/epoch"`.
const REFERENCE_ORDER: &str = r#"
import json, sys
sys.path.insert(0, "scripts")
import torch
from torch.utils.data import DataLoader, TensorDataset
from reference import EpochShuffle, shuffle_seed

spec = json.loads(sys.argv[1])
orders, seeds = {}, {}
for n in spec["sizes"]:
    dataset = TensorDataset(torch.arange(n))
    for seed in spec["seeds"]:
        sampler = EpochShuffle(n, seed)
        loader = DataLoader(dataset, batch_size=64, sampler=sampler, generator=torch.Generator())
        for epoch in range(1, spec["epochs"] + 1):
            sampler.epoch = epoch
            orders[f"{n}/{seed}/{epoch}"] = [i for (batch,) in loader for i in batch.tolist()]
            seeds[f"{seed}/{epoch}"] = shuffle_seed(seed, epoch)
print(json.dumps({"orders": orders, "seeds": seeds}))
"#;

#[derive(serde::Deserialize)]
struct Reference {
    orders: BTreeMap<String, Vec<i64>>,
    seeds: BTreeMap<String, u64>,
}

#[test]
fn epoch_order_matches_reference_dataloader() {
    let spec = serde_json::json!({ "sizes": SIZES, "seeds": SEEDS, "epochs": EPOCHS });
    let out = run_python(REFERENCE_ORDER, &[&spec.to_string()]);
    let reference: Reference = serde_json::from_str(&out).unwrap();
    assert_eq!(reference.orders.len(), SIZES.len() * SEEDS.len() * EPOCHS);
    for seed in SEEDS {
        for epoch in 1..=EPOCHS {
            let want = reference.seeds[&format!("{seed}/{epoch}")];
            assert_eq!(
                shuffle_seed(seed, epoch),
                want,
                "shuffle_seed({seed}, {epoch})"
            );
        }
    }
    for n in SIZES {
        for seed in SEEDS {
            let mut previous: Option<Vec<i64>> = None;
            for epoch in 1..=EPOCHS {
                let ours: Vec<i64> = {
                    let _rng = global_rng();
                    Vec::try_from(&epoch_order(n, seed, epoch)).unwrap()
                };
                let want = &reference.orders[&format!("{n}/{seed}/{epoch}")];
                assert_eq!(&ours, want, "n {n}, seed {seed}, epoch {epoch}");
                let mut sorted = ours.clone();
                sorted.sort();
                assert_eq!(sorted, (0..n as i64).collect::<Vec<_>>(), "a permutation");
                if n > 7 {
                    assert_ne!(previous.as_ref(), Some(&ours), "epochs {epoch} and before");
                }
                previous = Some(ours);
            }
        }
    }
}
