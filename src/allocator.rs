//! The C allocator's settings for a training process. glibc serves large blocks (over its dynamic
//! threshold, and always over 32 MiB) with a fresh `mmap` and unmaps them on free, so every step's
//! activations and gradients fault in new zeroed pages and are charged to the memory cgroup
//! again. Measured on the ConvNet bench (`scripts/bench_ddp.sh`): 8–10 % of a step in page faults,
//! more with two processes, whose faults contend in the shared cgroup. Keeping freed memory in the
//! heap lets the next step reuse it; PyTorch's CPU tuning guide reaches the same end by preloading
//! jemalloc or tcmalloc. A process whose `GLIBC_TUNABLES` sets malloc options keeps its own.
use std::sync::Once;

/// Large blocks from the heap, never unmapped, and freed memory kept (glibc only; elsewhere, and
/// when the user has tuned malloc through `GLIBC_TUNABLES`, nothing is changed). Once per process.
pub fn keep_freed_memory() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let tuned = std::env::var("GLIBC_TUNABLES").is_ok_and(|t| t.contains("glibc.malloc."));
        if !tuned {
            set_glibc_options();
        }
    });
}

#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn set_glibc_options() {
    // SAFETY: mallopt only changes the allocator's parameters; it is called before the training
    // threads start, and glibc takes its own lock for it.
    unsafe {
        libc::mallopt(libc::M_MMAP_MAX, 0);
        libc::mallopt(libc::M_TRIM_THRESHOLD, i32::MAX);
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn set_glibc_options() {}
