//! The test suite, one crate (libtorch links are slow): each module one concern.
mod common;
mod own_fixture;

mod accumulator;
mod own_experiment;
mod own_experiment_cli;
mod own_experiment_errors;
mod own_experiment_files;
