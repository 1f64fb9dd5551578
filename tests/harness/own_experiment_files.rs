//! Unreadable data files and malformed model files: one clean error each, no run directory.
use crate::common::{assert_clean_error, run_bin, tempdir};
use crate::own_experiment_errors::assert_train_fails_on;
use crate::own_fixture::{fixture, path};

#[test]
fn unreadable_data_files_give_clean_errors() {
    let dir = tempdir();
    let model = fixture().model("mse");
    let missing = path(&dir.path().join("nope.safetensors"));
    assert_train_fails_on(
        &model,
        &missing,
        "mse",
        &["nope.safetensors", "No such file"],
    );
    let junk = dir.path().join("junk.safetensors");
    std::fs::write(&junk, b"\x10\x00\x00\x00\x00\x00\x00\x00not json at all").unwrap();
    assert_train_fails_on(
        &model,
        &path(&junk),
        "mse",
        &["junk.safetensors: not a valid safetensors file"],
    );
    let good = std::fs::read(fixture().data("mse")).unwrap();
    let truncated = dir.path().join("truncated.safetensors");
    std::fs::write(&truncated, &good[..good.len() / 2]).unwrap();
    assert_train_fails_on(
        &model,
        &path(&truncated),
        "mse",
        &["truncated.safetensors: not a valid safetensors file"],
    );
}

#[test]
fn malformed_model_files_give_clean_errors() {
    let fx = fixture();
    let dir = tempdir();
    let data = fx.data("mse");
    let good = std::fs::read(fx.model("mse")).unwrap();
    let write = |name: &str, bytes: &[u8]| {
        let p = dir.path().join(name);
        std::fs::write(&p, bytes).unwrap();
        path(&p)
    };
    let cases = [
        (
            path(&dir.path().join("missing.pt")),
            "missing.pt: No such file",
        ),
        (write("empty.pt", b""), "empty.pt: not a TorchScript module"),
        (
            write("truncated.pt", &good[..good.len() / 2]),
            "truncated.pt: not a TorchScript module",
        ),
        (
            write("tail.pt", &good[good.len() / 2..]),
            "tail.pt: not a TorchScript module",
        ),
        (
            write("random.pt", &pseudo_random_bytes(4096)),
            "random.pt: not a TorchScript module",
        ),
        (
            path(&fx.dir.join("bad/state_dict.pt")),
            "state_dict.pt: not a TorchScript module",
        ),
        (
            path(&fx.dir.join("bad/tuple.pt")),
            "forward did not return a tensor",
        ),
    ];
    for (model, needle) in &cases {
        assert_train_fails_on(model, &data, "mse", &[needle]);
        let out = run_bin(&["eval", "--model", model, "--data", &data, "--loss", "mse"]);
        assert_clean_error(&out, needle);
    }
}

fn pseudo_random_bytes(n: usize) -> Vec<u8> {
    let mut state = 0x2545_f491_4f6c_dd1du64;
    (0..n)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state >> 24) as u8
        })
        .collect()
}
