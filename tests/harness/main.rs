//! The test suite, one crate (libtorch links are slow): each module one concern.
mod common;

mod accumulator;
mod device_data;
mod loss_sync;
mod scripts;
