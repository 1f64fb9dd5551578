//! The test suite, one crate (libtorch links are slow): each module one concern.
mod bits;
mod common;

mod accumulator;
mod cli;
mod compare;
mod compare_rows;
mod hardened;
mod init_parity;
mod nonfinite;
mod optim_parity;
mod optim_state;
mod order_parity;
mod resume;
