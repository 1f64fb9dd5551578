//! The test suite, one crate (libtorch links are slow): each module one concern.
mod common;

mod accumulator;
mod cli;
mod hardened;
mod nonfinite;
mod resume;
