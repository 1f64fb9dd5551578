//! When a tally's sum is read back from the device.
use crate::names::named_enum;

named_enum! {
    /// `--loss-sync`: when the running loss is read back from the device.
    ///
    /// `batch` (the default) is the seed's `total_loss += loss.item() * batch_size`: one read per
    /// batch, which on CUDA is a device-to-host copy and a synchronisation. `epoch` adds
    /// `loss * batch_size` on the device and reads the sum once, when the epoch ends. Both give
    /// the same bits (see `tally`); on the CPU `batch` is the cheaper one.
    #[derive(Default)]
    pub enum LossSync: "invalid --loss-sync" {
        /// Read every batch's loss (`loss.item()`), as the seed does.
        #[default]
        Batch = "batch",
        /// Keep the sum on the device; read it once per epoch.
        Epoch = "epoch",
    }
}
