//! `--out` must be new or an empty folder (issue 24, item 5): init weights inside it, someone's
//! checkpoint, any non-empty folder are refused with one line, and nothing is written.
use crate::common::{assert_clean_error, run_bin, tempdir};

#[test]
fn out_must_be_new_or_empty() {
    let dir = tempdir();
    let pre = dir.path().join("pre");
    std::fs::create_dir_all(pre.join("checkpoints")).unwrap();
    let src = dir.path().join("src");
    let made = run_bin(&[
        "train",
        "--epochs",
        "1",
        "--device",
        "cpu",
        "--out",
        src.to_str().unwrap(),
    ]);
    assert!(made.status.success(), "{}", crate::common::text(&made));
    std::fs::copy(src.join("model.safetensors"), pre.join("model.safetensors")).unwrap();
    let weights = std::fs::read(pre.join("model.safetensors")).unwrap();
    std::fs::write(pre.join("checkpoints/last.safetensors"), b"someone's").unwrap();
    let other = dir.path().join("other");
    std::fs::create_dir_all(&other).unwrap();
    std::fs::write(other.join("notes.txt"), b"mine").unwrap();
    let init = pre.join("model.safetensors");
    for (out, extra) in [
        (&pre, vec!["--init", init.to_str().unwrap()]),
        (&pre, vec![]),
        (&other, vec![]),
    ] {
        let mut args = vec!["train", "--epochs", "1", "--device", "cpu"];
        args.extend(["--out", out.to_str().unwrap()]);
        args.extend(extra);
        let result = run_bin(&args);
        assert_clean_error(&result, "not an empty folder");
        assert_eq!(
            String::from_utf8_lossy(&result.stderr)
                .trim()
                .lines()
                .count(),
            1
        );
    }
    assert_eq!(std::fs::read(&init).unwrap(), weights);
    assert_eq!(
        std::fs::read(pre.join("checkpoints/last.safetensors")).unwrap(),
        b"someone's"
    );
    assert_eq!(std::fs::read_dir(&other).unwrap().count(), 1);
    // An existing empty folder is fine.
    let empty = dir.path().join("empty");
    std::fs::create_dir_all(&empty).unwrap();
    let ok = run_bin(&[
        "train",
        "--epochs",
        "1",
        "--device",
        "cpu",
        "--out",
        empty.to_str().unwrap(),
    ]);
    assert!(ok.status.success(), "{}", crate::common::text(&ok));
}
