"""Draws the loss curves of a `tch-harness compare` run (harness and PyTorch reference) or of a
`tch-harness diff` (run A and run B): train and eval loss per epoch, from compare.json.

    .venv/bin/python scripts/plot_compare.py runs/compare-…/compare.json runs/compare-…/losses.png
"""
import json
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.ticker import MaxNLocator  # noqa: E402


# compare's two sides, as the legend names them.
LEGEND = {"harness": "harness (tch-rs)", "reference": "reference (PyTorch)"}


def series(rows, key, side):
    points = [(r["epoch"], r[key][side]) for r in rows if r[key][side] is not None]
    return [p[0] for p in points], [p[1] for p in points]


def main():
    if len(sys.argv) != 3:
        raise SystemExit("usage: plot_compare.py COMPARE_JSON OUT_PNG")
    with open(sys.argv[1]) as f:
        report = json.load(f)
    rows = report["rows"]
    labels = report.get("labels", {})
    legend = {side: labels.get(side, side) for side in LEGEND}
    legend = {side: LEGEND[side] if name == side else name for side, name in legend.items()}
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2), sharex=True)
    for ax, key, title in zip(axes, ["train_loss", "eval_loss"], ["train loss", "eval loss"]):
        for side, style in [("harness", dict(lw=2.5, alpha=0.6)),
                            ("reference", dict(lw=1.2, ls="--", marker="o", ms=4))]:
            x, y = series(rows, key, side)
            ax.plot(x, y, label=legend[side], **style)
        ax.set_title(title)
        ax.set_xlabel("epoch")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.grid(alpha=0.3)
        ax.legend()
    max_rel = report["max_rel_diff"]
    verdict = "passed" if report["passed"] else "FAILED"
    shown = "inf" if max_rel is None else f"{max_rel:.3g}"
    optimizer = report.get("config", {}).get("optimizer", {}).get("kind", "")
    title = report.get("title") or f"{report.get('experiment', '')} {optimizer}"
    fig.suptitle(f"{title}: max relative difference {shown} "
                 f"(tolerance {report['tolerance']:g}) {verdict}")
    fig.tight_layout()
    fig.savefig(sys.argv[2], dpi=100)


if __name__ == "__main__":
    main()
