//! Which rows of the global batch a forward pass holds. In a data-parallel run each rank holds
//! rows `[start, end)` of a batch of `global` rows; a layer that draws random numbers per row
//! (dropout) draws for the whole global batch, as one process would, and keeps its own rows, so
//! N processes draw one process's masks and their generators stay in step.
use std::cell::Cell;

/// A rank's rows of a global batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BatchRows {
    pub global: i64,
    pub start: i64,
    pub end: i64,
}

thread_local! {
    static ROWS: Cell<Option<BatchRows>> = const { Cell::new(None) };
}

/// Runs `f` (a forward pass over `rows` of a global batch) with the rows known to the layers.
pub fn with_batch_rows<T>(rows: BatchRows, f: impl FnOnce() -> T) -> T {
    let before = ROWS.with(|r| r.replace(Some(rows)));
    let result = f();
    ROWS.with(|r| r.set(before));
    result
}

/// The rows of the forward pass in progress, when it holds part of a larger batch.
pub(crate) fn current_rows() -> Option<BatchRows> {
    ROWS.with(|r| r.get())
        .filter(|r| r.start != 0 || r.end != r.global)
}
