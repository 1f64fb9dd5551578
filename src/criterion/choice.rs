//! The loss an experiment trains with: a built-in one by its name, whose options come from the
//! run's configuration, or a port's own [`LossFn`], built by the port with its options.
use std::fmt;
use std::rc::Rc;

use tch::Device;

use super::{Loss, LossFn, LossOptions};
use crate::error::Result;

/// What [`Experiment::loss`](crate::Experiment) holds.
#[derive(Debug, Clone)]
pub enum LossChoice {
    /// `--loss NAME`: built with the configuration's [`LossOptions`].
    Builtin(Loss),
    /// A port's own loss; it takes none of the configuration's options (unless its
    /// [`LossFn::accepts`] says so).
    Own(Rc<dyn LossFn>),
}

impl LossChoice {
    /// A port's own loss, e.g. `LossChoice::own(FocalLoss { gamma: 2.0 })`.
    pub fn own(loss: impl LossFn + 'static) -> LossChoice {
        LossChoice::Own(Rc::new(loss))
    }

    /// The name errors and summaries give it.
    pub fn name(&self) -> &str {
        match self {
            LossChoice::Builtin(loss) => loss.name(),
            LossChoice::Own(loss) => loss.name(),
        }
    }

    /// The loss with `options`, its tensors on `device`; the options are not checked here
    /// (see [`LossOptions::check_against`]). A port's own loss was built with its own.
    pub fn build(&self, options: &LossOptions, device: Device) -> Result<Rc<dyn LossFn>> {
        Ok(match self {
            LossChoice::Builtin(loss) => Rc::from(loss.build(options, device)?),
            LossChoice::Own(loss) => loss.clone(),
        })
    }
}

impl From<Loss> for LossChoice {
    fn from(loss: Loss) -> LossChoice {
        LossChoice::Builtin(loss)
    }
}

impl fmt::Display for LossChoice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}
