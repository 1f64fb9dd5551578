//! The test suite, one crate (libtorch links are slow): each module one concern.
mod bits;
mod common;
mod own_fixture;

mod accumulator;
mod cli;
mod compare;
mod compare_own;
mod compare_rows;
mod device_data;
mod hardened;
mod init_parity;
mod loss_sync;
mod nonfinite;
mod optim_more_cases;
mod optim_parity;
mod optim_parity_more;
mod optim_state;
mod optim_state_more;
mod order_parity;
mod own_experiment;
mod own_experiment_cli;
mod own_experiment_errors;
mod own_experiment_files;
mod port_example;
mod resume;
mod scripts;
