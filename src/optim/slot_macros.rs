//! The boilerplate of an optimizer on [`Slots`](super::slots::Slots), written once: its
//! per-parameter state (`slot_state!`) and its struct, constructor and `impl Optimizer`
//! (`slot_optimizer!`). What stays in each optimizer's file is its options and its update.

/// `struct State` with the given fields, each an `f32` (saved as a 0-dimensional float32 tensor,
/// as PyTorch keeps `step`) or a `Tensor` shaped like its parameter, and its `SlotState` for the
/// options `$config`: the entries are saved under the fields' names, in order, and a parameter
/// whose first entry was not saved has no state (it had no step yet).
macro_rules! slot_state {
    ($config:ty {
        $(#[$first_meta:meta])* $first:ident: $first_ty:ty
        $(, $(#[$meta:meta])* $field:ident: $ty:ty)* $(,)?
    }) => {
        /// One parameter's state, as `optimizer.state[p]` holds it in Python.
        struct State {
            $(#[$first_meta])*
            $first: $first_ty,
            $($(#[$meta])* $field: $ty,)*
        }

        impl $crate::optim::slots::SlotState for State {
            type Config = $config;

            fn named(&self) -> Vec<(&'static str, tch::Tensor)> {
                use $crate::optim::slots::Entry;
                vec![
                    (stringify!($first), self.$first.to_saved()),
                    $((stringify!($field), self.$field.to_saved()),)*
                ]
            }

            fn load(
                saved: &$crate::optim::slots::Saved<'_>,
                _: &$config,
            ) -> $crate::error::Result<Option<Self>> {
                use $crate::optim::slots::Entry;
                if !saved.has(stringify!($first)) {
                    return Ok(None);
                }
                Ok(Some(State {
                    $first: Entry::from_saved(saved, stringify!($first))?,
                    $($field: Entry::from_saved(saved, stringify!($field))?,)*
                }))
            }
        }

        impl State {
            /// Every entry zero (the `f32`s) or `zeros_like(param)` (the tensors).
            #[allow(dead_code)] // for the optimizers whose state starts so
            fn zeros(param: &tch::Tensor) -> $crate::error::Result<State> {
                use $crate::optim::slots::Entry;
                Ok(State {
                    $first: Entry::zero_like(param)?,
                    $($field: Entry::zero_like(param)?,)*
                })
            }
        }
    };
}
pub(super) use slot_state;

/// `impl Optimizer` for a struct with fields `config` (having `lr` and `validate()`) and
/// `slots: Slots<_>`, and an inherent `fn update(&mut self) -> Result<()>` doing one step.
/// `set_lr` changes what `param_groups[0]["lr"]` holds in Python: the next step reads it.
///
/// `slot_optimizer!(/// doc\n Name(Config))` also declares that struct, over `Slots<State>`, with
/// `Name::new(config, params)`, which validates the options and makes no state yet.
macro_rules! slot_optimizer {
    ($(#[$doc:meta])* $name:ident($config:ty)) => {
        $(#[$doc])*
        pub struct $name {
            config: $config,
            slots: $crate::optim::slots::Slots<State>,
        }

        impl $name {
            #[doc = concat!("`", stringify!($name), "` over `params` (sorted by name).")]
            pub fn new(
                config: &$config,
                params: Vec<(String, tch::Tensor)>,
            ) -> $crate::error::Result<Self> {
                config.validate()?;
                Ok($name {
                    config: config.clone(),
                    slots: $crate::optim::slots::Slots::new(params),
                })
            }
        }

        $crate::optim::slot_macros::slot_optimizer!($name);
    };
    ($name:ident) => {
        impl $crate::optim::Optimizer for $name {
            fn zero_grad(&mut self) -> $crate::error::Result<()> {
                self.slots.zero_grad()
            }

            fn step(&mut self) -> $crate::error::Result<()> {
                self.update()
            }

            fn lr(&self) -> f64 {
                self.config.lr
            }

            fn set_lr(&mut self, lr: f64) -> $crate::error::Result<()> {
                let mut config = self.config.clone();
                config.lr = lr;
                config.validate()?;
                self.config = config;
                Ok(())
            }

            fn momentum(&self) -> Option<$crate::optim::Momentum> {
                $crate::optim::hyper::CycledMomentum::momentum(&self.config)
            }

            fn set_momentum(&mut self, value: f64) -> $crate::error::Result<()> {
                $crate::optim::hyper::CycledMomentum::set_momentum(&mut self.config, value)
            }

            fn state(&self) -> $crate::tensor_io::NamedTensors {
                self.slots.state()
            }

            fn load_state(
                &mut self,
                state: &$crate::tensor_io::NamedTensors,
            ) -> $crate::error::Result<()> {
                self.slots.load_state(state, &self.config)
            }
        }
    };
}
pub(super) use slot_optimizer;
