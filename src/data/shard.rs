//! How a global batch is split across ranks. Every rank holds the whole split and visits the same
//! global batches in the same order (the epoch's permutation of (seed, epoch)); rank `r` of `w`
//! takes the batch's rows `[r·m/w, (r+1)·m/w)` (floor division), so the ranks' rows are the batch,
//! each once, and a rank may hold none of a short last batch.
use std::ops::Range;

use crate::tally::Reduce;

/// One rank's part of every batch (`Shard::WHOLE`: a single process's, the whole batch).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    pub rank: usize,
    pub world: usize,
}

impl Shard {
    /// The whole batch.
    pub const WHOLE: Shard = Shard { rank: 0, world: 1 };

    /// This process's part of a run over `processes`.
    pub fn of(processes: &dyn Reduce) -> Shard {
        Shard {
            rank: processes.rank(),
            world: processes.world_size(),
        }
    }

    /// Its rows of a batch of `len` rows.
    #[inline]
    pub fn range(&self, len: usize) -> Range<usize> {
        len * self.rank / self.world..len * (self.rank + 1) / self.world
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranks_cover_each_batch_once_short_last_included() {
        for world in 1..=4 {
            for len in 0..=11 {
                let ranges: Vec<_> = (0..world)
                    .map(|rank| Shard { rank, world }.range(len))
                    .collect();
                assert_eq!(ranges[0].start, 0);
                assert_eq!(ranges[world - 1].end, len);
                assert!(ranges.windows(2).all(|w| w[0].end == w[1].start));
            }
        }
        // A batch of 1 over 2 ranks: rank 0 holds nothing, rank 1 the sample.
        assert_eq!(Shard { rank: 0, world: 2 }.range(1), 0..0);
        assert_eq!(Shard { rank: 1, world: 2 }.range(1), 0..1);
    }
}
