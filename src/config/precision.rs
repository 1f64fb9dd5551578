//! `--precision`: Lightning's spelling of what the forward pass and the criterion compute in.
//! `32` is plain float32; the two mixed ones run them under `torch.autocast(device.type,
//! dtype=…)` (see `crate::autocast`), with the weights, gradients and optimizer kept in float32.
use tch::Kind;

use crate::names::named_enum;

named_enum! {
    /// The precision of the forward pass and the criterion.
    #[derive(Default)]
    pub enum Precision: "unknown --precision" {
        /// float32 throughout, no autocast.
        #[default]
        Full = "32",
        /// Autocast to bfloat16.
        Bf16Mixed = "bf16-mixed",
        /// Autocast to float16 (Lightning pairs it with a GradScaler).
        F16Mixed = "16-mixed",
    }
}

impl Precision {
    /// The dtype autocast casts to; `None` when there is no autocast.
    pub fn autocast_kind(self) -> Option<Kind> {
        match self {
            Precision::Full => None,
            Precision::Bf16Mixed => Some(Kind::BFloat16),
            Precision::F16Mixed => Some(Kind::Half),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lightning_spellings_parse_and_others_are_named_in_the_error() {
        assert_eq!("32".parse::<Precision>().unwrap(), Precision::Full);
        assert_eq!(
            "bf16-mixed".parse::<Precision>().unwrap(),
            Precision::Bf16Mixed
        );
        assert_eq!(
            "16-mixed".parse::<Precision>().unwrap(),
            Precision::F16Mixed
        );
        let error = "fp16".parse::<Precision>().unwrap_err().to_string();
        assert_eq!(
            error,
            "unknown --precision 'fp16' (expected 32, bf16-mixed or 16-mixed)"
        );
        assert_eq!(Precision::default().autocast_kind(), None);
        assert_eq!(Precision::F16Mixed.autocast_kind(), Some(Kind::Half));
    }
}
