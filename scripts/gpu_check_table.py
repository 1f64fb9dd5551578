"""scripts/gpu-check.sh's two helpers.

    gpu_check_table.py eval EVAL_JSON METRICS_JSONL OUT_JSON
        `tch-harness eval --json` of PyTorch's weights against PyTorch's own last epoch (its
        eval_loss and eval_accuracy) at tolerance 0; writes OUT_JSON in compare.json's fields
        (`max_rel_diff`, `passed`, `rows`); exit status 1 on any difference.

    gpu_check_table.py table TMP DEVICE GPU TORCH EPOCHS NAME...
        One Markdown table of the checks in TMP/NAME/ (rc, seconds, log, skip, cmp/compare.json);
        exit status 1 when any check failed or differed (a skipped check is neither a pass nor a
        failure).
"""
import json
import os
import sys


def rel(a, b):
    """|a - b| / max(|a|, |b|), as `compare` computes it (0 when both are 0)."""
    scale = max(abs(a), abs(b))
    return 0.0 if a == b else abs(a - b) / scale


def eval_check(eval_json, metrics, out):
    harness = json.load(open(eval_json))
    last = [json.loads(line) for line in open(metrics) if line.strip()][-1]
    rows = [{"what": key, "harness": harness[key], "reference": last[f"eval_{key}"],
             "rel_diff": rel(harness[key], last[f"eval_{key}"])}
            for key in ("loss", "accuracy") if key in harness]
    worst = max(r["rel_diff"] for r in rows)
    report = {"command": "gpu-check eval", "tolerance": 0.0, "max_rel_diff": worst,
              "passed": worst == 0.0, "rows": rows}
    os.makedirs(os.path.dirname(out), exist_ok=True)
    with open(out, "w") as f:
        json.dump(report, f, indent=2)
    for r in rows:
        print(f"eval {r['what']}: harness {r['harness']!r} reference {r['reference']!r} "
              f"rel {r['rel_diff']:.3g}")
    return 0 if report["passed"] else 1


def read(path, default=None):
    try:
        with open(path) as f:
            return f.read().strip()
    except OSError:
        return default


def traces(report):
    """The traces' verdict from compare.json's `divergence`."""
    d = report.get("divergence")
    if d is None:
        return "-"
    first = d.get("first")
    if first is None:
        return f"identical through step {d['identical_through']}"
    where = " ".join(str(x) for x in (first["what"], first.get("tensor")) if x)
    return f"step {first['step']}: {where}"


def last_error(log):
    """The line that says why a check failed: the last `error:` line, else the last line."""
    lines = [line.strip() for line in (read(log, "") or "").splitlines() if line.strip()]
    errors = [line for line in lines if "error" in line.lower()]
    line = (errors or lines or ["no output"])[-1]
    return line if len(line) <= 160 else line[:157] + "..."


def row(tmp, name):
    """(result, max rel diff, traces, seconds, note) of one check."""
    d = os.path.join(tmp, name)
    seconds = read(os.path.join(d, "seconds"), "-")
    skip = read(os.path.join(d, "skip"))
    if skip is not None:
        return "skipped", "-", "-", "-", skip
    rc = read(os.path.join(d, "rc"), "none")
    report = None
    if os.path.exists(os.path.join(d, "cmp", "compare.json")):
        report = json.load(open(os.path.join(d, "cmp", "compare.json")))
    diff = f"{report['max_rel_diff']:.3g}" if report else "-"
    trace = traces(report) if report else "-"
    if rc in ("124", "137"):
        return "FAIL", diff, trace, seconds, "timed out"
    if rc == "0" and report and report["passed"] and report["max_rel_diff"] == 0.0:
        return "pass", diff, trace, seconds, ""
    return "FAIL", diff, trace, seconds, last_error(os.path.join(d, "log"))


def table(tmp, device, gpu, torch_version, epochs, names):
    where = f"{device} ({gpu})" if gpu else device
    print(f"\ngpu-check on {where}, torch {torch_version}, tolerance 0, {epochs} epoch(s) per check\n")
    print("| check | result | max rel diff | traces | seconds | note |")
    print("|---|---|---|---|---|---|")
    counts = {"pass": 0, "FAIL": 0, "skipped": 0}
    for name in names:
        result, diff, trace, seconds, note = row(tmp, name)
        counts[result] += 1
        print(f"| {name} | {result} | {diff} | {trace} | {seconds} | {note.replace('|', '/')} |")
    print(f"\ngpu-check: {counts['pass']} passed, {counts['FAIL']} failed, "
          f"{counts['skipped']} skipped on {device}")
    return 1 if counts["FAIL"] else 0


if __name__ == "__main__":
    if len(sys.argv) == 5 and sys.argv[1] == "eval":
        sys.exit(eval_check(*sys.argv[2:]))
    if len(sys.argv) >= 7 and sys.argv[1] == "table":
        sys.exit(table(*sys.argv[2:7], sys.argv[7:]))
    sys.exit(__doc__)
