//! The test suite, one crate (libtorch links are slow): each module one concern.
mod common;
mod own_fixture;

mod accumulator;
mod own_experiment;
