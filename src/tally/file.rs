//! A tally in a file: a stopped epoch's partial loss in a checkpoint.
use serde::{Deserialize, Serialize};

use super::Tally;

/// In a file a tally is `{"sum": …, "count": …, "samples": …}` (a stopped epoch's partial loss);
/// files from before counts were not samples have no `samples` (it is then the count).
#[derive(Serialize, Deserialize)]
struct TallyFile {
    sum: f64,
    count: f64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    samples: Option<u64>,
}

impl Serialize for Tally {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        let sum = self.sum().map_err(serde::ser::Error::custom)?;
        TallyFile {
            sum,
            count: self.count,
            samples: Some(self.samples),
        }
        .serialize(s)
    }
}

impl<'de> Deserialize<'de> for Tally {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        let file = TallyFile::deserialize(d)?;
        let samples = file.samples.unwrap_or(file.count as u64);
        Ok(Tally::from_parts(file.sum, file.count, samples))
    }
}
