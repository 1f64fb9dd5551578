//! The switches are process-wide: these tests take one lock and put PyTorch's defaults back.
use std::sync::Mutex;

use tch::{Kind, Tensor};

use super::*;

static GLOBAL_CONTEXT: Mutex<()> = Mutex::new(());

/// Runs `f` holding the lock; the defaults are set again afterwards, even when `f` panics.
fn with_switches(f: impl FnOnce()) {
    let _lock = GLOBAL_CONTEXT.lock().unwrap_or_else(|e| e.into_inner());
    let had_workspace = std::env::var_os(CUBLAS_WORKSPACE_CONFIG).is_some();
    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f));
    apply(&Backends::default()).unwrap();
    if !had_workspace {
        std::env::remove_var(CUBLAS_WORKSPACE_CONFIG);
    }
    if let Err(panic) = outcome {
        std::panic::resume_unwind(panic);
    }
}

#[test]
fn what_is_set_is_what_libtorch_reads_back() {
    with_switches(|| {
        let asked = Backends {
            deterministic: true,
            cudnn_benchmark: false,
            cudnn_allow_tf32: false,
            float32_matmul_precision: MatmulPrecision::Medium,
        };
        apply(&asked).unwrap();
        let got = state().unwrap();
        assert!(got.deterministic_algorithms && got.cudnn_deterministic);
        assert!(!got.deterministic_warn_only, "errors, not warnings");
        assert!(!got.cudnn_benchmark && !got.cudnn_allow_tf32);
        assert_eq!(got.float32_matmul_precision, MatmulPrecision::Medium);
        assert!(got.cublas_workspace_config.is_some());

        let loose = Backends {
            deterministic: false,
            cudnn_benchmark: true,
            cudnn_allow_tf32: true,
            float32_matmul_precision: MatmulPrecision::High,
        };
        apply(&loose).unwrap();
        let got = state().unwrap();
        assert!(!got.deterministic_algorithms && !got.cudnn_deterministic);
        assert!(got.cudnn_benchmark && got.cudnn_allow_tf32);
        assert_eq!(got.float32_matmul_precision, MatmulPrecision::High);
    });
}

#[test]
fn a_workspace_the_user_set_is_kept() {
    with_switches(|| {
        std::env::set_var(CUBLAS_WORKSPACE_CONFIG, ":16:8");
        let deterministic = Backends {
            deterministic: true,
            ..Backends::default()
        };
        apply(&deterministic).unwrap();
        assert_eq!(
            state().unwrap().cublas_workspace_config.as_deref(),
            Some(":16:8")
        );
        std::env::remove_var(CUBLAS_WORKSPACE_CONFIG);
    });
}

#[test]
fn deterministic_with_benchmark_is_refused_in_one_line() {
    let both = Backends {
        deterministic: true,
        cudnn_benchmark: true,
        ..Backends::default()
    };
    let err = both.check().unwrap_err().to_string();
    assert!(err.contains("--cudnn-benchmark"), "{err}");
    assert_eq!(err.lines().count(), 1);
}

/// A real libtorch error of deterministic mode: `put_(accumulate=False)` has no deterministic
/// kernel on any device (torch.use_deterministic_algorithms' list), so it fails on the CPU too.
/// As the binary prints it (`{:#}`): one line naming the op and the flag.
#[test]
fn an_op_without_a_deterministic_kernel_is_one_line_naming_it() {
    with_switches(|| {
        let index = Tensor::from_slice(&[0i64]);
        let source = Tensor::from_slice(&[1f32]);
        let mut target = Tensor::zeros([3], (Kind::Float, tch::Device::Cpu));
        let _ = target
            .f_put_(&index, &source, false)
            .expect("allowed outside deterministic mode");
        apply(&Backends {
            deterministic: true,
            ..Backends::default()
        })
        .unwrap();
        let torch = target
            .f_put_(&index, &source, false)
            .expect_err("put_ has no deterministic implementation");
        assert!(
            torch.to_string().lines().count() > 1,
            "libtorch's own text is several lines: {torch}"
        );
        let printed = format!("{:#}", anyhow::Error::from(Error::from(torch)));
        assert_eq!(printed.lines().count(), 1, "{printed}");
        assert!(
            printed.starts_with("libtorch: put_ does not have a deterministic implementation"),
            "{printed}"
        );
        assert!(printed.contains("--deterministic false"), "{printed}");
    });
}
