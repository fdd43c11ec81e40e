"""Render a benchmark's plots and Markdown report from its saved files.

:func:`oneadapt.evaluate.bench.bench` calls :func:`render_report` after writing
``bench.parquet`` and ``summary.json``, so a report re-rendered later from those files is
identical to the one the benchmark wrote.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pyarrow
from matplotlib.figure import Figure

from oneadapt.errors import StateError
from oneadapt.storage import atomic_path, atomic_write_text

CURVE_COLUMNS = ["accuracy", "kbps", "dnn_frames_per_s", "overhead_frames_per_s"]


def mean_curves(points: pd.DataFrame) -> pd.DataFrame:
    """Mean over videos of every (policy, lambda) point: one trade-off curve per policy."""
    return points.groupby(["policy", "lambda"], as_index=False, sort=True)[CURVE_COLUMNS].mean()


def plot_tradeoff(curves: pd.DataFrame, x: str, xlabel: str, path: Path, title: str) -> None:
    """Accuracy against one resource, one curve per policy, one point per lambda."""
    fig = Figure(figsize=(7.5, 5.0), dpi=120)
    ax = fig.subplots()
    for policy, group in curves.groupby("policy", sort=True):
        g = group.sort_values(x)
        label = f"{policy} (upper bound)" if policy == "oracle" else policy
        ax.plot(g[x], g["accuracy"], "-o", ms=4, lw=1.3, label=label)
        # One label per distinct point: lambdas that led to the same point share it.
        for (cost, acc), same in g.groupby([x, "accuracy"], sort=False):
            lams = ",".join(f"{lam:g}" for lam in same["lambda"])
            ax.annotate(
                f"λ={lams}", (cost, acc), fontsize=6, xytext=(3, 3), textcoords="offset points"
            )
    ax.set_xlabel(xlabel)
    ax.set_ylabel("accuracy (F1 vs reference, mean per second)")
    ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend(loc="lower right", fontsize=8)
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png")


def _cell(value: object, digits: int = 3) -> str:
    if value is None or (isinstance(value, float) and value != value):
        return "–"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)


def markdown_table(rows: list[dict], columns: list[tuple[str, str, int]]) -> str:
    """A Markdown table of ``rows``; ``columns`` are (key, header, decimal digits)."""
    lines = [
        "| " + " | ".join(h for _, h, _ in columns) + " |",
        "|" + "|".join("---" for _ in columns) + "|",
    ]
    for row in rows:
        lines.append("| " + " | ".join(_cell(row.get(k), d) for k, _, d in columns) + " |")
    return "\n".join(lines)


def budget_lines(meta: dict) -> list[str]:
    """The spare-GPU budgets the ``@budget`` baselines ran under, one line per policy and
    video (one value, or the range over lambdas), with where each came from."""
    lines = []
    rows = pd.DataFrame(meta.get("profiling_budgets", []))
    if rows.empty:
        return lines
    for (policy, video, basis), g in rows.groupby(["policy", "video", "basis"], sort=False):
        low, high = g["inferences_per_s"].min(), g["inferences_per_s"].max()
        value = f"{low:.2f}" if low == high else f"{low:.2f} to {high:.2f} (by lambda)"
        lines.append(f"- profiling budget of {policy} on {video}: {value} inferences/s ({basis})")
    return lines


def oneadapt_against_best(matched: list[dict]) -> list[str]:
    """oneadapt's matched cost over the best baseline of each group, as a Markdown section
    (empty when oneadapt was not benchmarked)."""
    rows = [m for m in matched if m["policy"] == "oneadapt"]
    if not rows:
        return []
    return [
        "",
        "## oneadapt against the best baseline (oneadapt's cost ÷ the least baseline cost at "
        "the same accuracy; below 1: oneadapt is cheaper)",
        "",
        markdown_table(
            rows,
            [
                ("target_accuracy", "target accuracy", 2),
                (
                    "kbps_ratio_to_best_baseline",
                    "kbit/s ÷ best unbudgeted baseline run",
                    2,
                ),
                ("kbps_ratio_to_best_budgeted", "kbit/s ÷ best @budget", 2),
                ("dnn_ratio_to_best_profiling", "DNN ÷ best profiling baseline run", 2),
                ("dnn_ratio_to_best_budgeted", "DNN ÷ best @budget", 2),
            ],
        ),
    ]


def report_markdown(summary: dict, df: pd.DataFrame) -> str:
    """The matched-accuracy comparison and every measured point, as Markdown."""
    meta = summary.get("meta", {})
    seconds = df.groupby("video")["second"].nunique().to_dict()
    lines = [
        "# Benchmark: every policy through the same harness",
        "",
        f"- videos: {', '.join(f'{v} ({n} s)' for v, n in seconds.items())}",
        f"- model: {meta.get('model', '?')}; lambdas: {meta.get('lambdas', '?')}",
        f"- knob grid: {meta.get('space', '?')}",
        f"- DNN frames/s = frames inferred + profiling inferences + backward passes x "
        f"{_cell(meta.get('backward_frame_equivalents'), 2)} (one backward pass timed "
        "against one forward pass of the detector, same framework and frame; the forward "
        "pass is that frame's inference)",
        "- the oracle is an upper bound (exhaustive per-second search with the true accuracy), "
        "not a deployable method; its search and best-fixed's one-time offline profiling are "
        "not charged (column `offline inferences`)",
        "- `@budget` variants re-profile under a spare-GPU budget: a profile of P inferences "
        "takes ceil(P / budget) s, during which the old configuration stays in use; every "
        "profiling baseline skips seconds whose reference holds no object of interest",
        *budget_lines(meta),
        f"- wall time: {_cell(meta.get('wall_seconds'), 1)} s",
        "",
        "## Matched accuracy (mean over videos; cost read off each policy's upper envelope)",
        "",
        markdown_table(
            summary["matched"],
            [
                ("target_accuracy", "target accuracy", 2),
                ("policy", "policy", 0),
                ("kbps", "kbit/s", 1),
                ("dnn_frames_per_s", "DNN frames/s", 2),
                ("kbps_ratio_to_oneadapt", "kbit/s ÷ oneadapt", 2),
                ("dnn_ratio_to_oneadapt", "DNN ÷ oneadapt", 2),
            ],
        ),
        *oneadapt_against_best(summary["matched"]),
        "",
        "## Points (one per video, policy and lambda; means per second)",
        "",
        markdown_table(
            summary["points"],
            [
                ("video", "video", 0),
                ("policy", "policy", 0),
                ("lambda", "lambda", 3),
                ("accuracy", "accuracy", 3),
                ("kbps", "kbit/s", 1),
                ("dnn_frames_per_s", "DNN frames/s", 2),
                ("overhead_frames_per_s", "overhead frames/s", 2),
                ("camera_encodes_per_s", "extra encodes/s", 2),
                ("objective", "objective", 3),
                ("offline_profiling_inferences", "offline inferences", 0),
            ],
        ),
        "",
        "![accuracy vs bandwidth](tradeoff_kbps.png)",
        "",
        "![accuracy vs DNN work](tradeoff_dnn.png)",
        "",
    ]
    return "\n".join(lines)


def load_bench(out_dir: Path) -> tuple[dict, pd.DataFrame]:
    """``summary.json`` and ``bench.parquet`` of a finished benchmark; a directory that is
    missing, not a benchmark's, unfinished or damaged raises :class:`StateError`."""
    out_dir = Path(out_dir)
    fix = "Pass a directory written by a finished `oneadapt bench` (or rerun the bench)."
    if not out_dir.is_dir():
        what = "is not a directory" if out_dir.exists() else "does not exist"
        raise StateError(f"{out_dir} {what}.", fix)
    missing = [n for n in ("summary.json", "bench.parquet") if not (out_dir / n).is_file()]
    if missing:
        raise StateError(f"{out_dir} holds no finished benchmark (no {' or '.join(missing)}).", fix)
    try:
        summary = json.loads((out_dir / "summary.json").read_text())
        df = pd.read_parquet(out_dir / "bench.parquet")
        columns = set(pd.DataFrame(summary["points"]).columns)
        if not isinstance(summary["matched"], list) or not {"policy", "lambda"} <= columns:
            raise ValueError("summary.json lacks the points or the matched comparison")
        if not set(CURVE_COLUMNS) <= columns or "video" not in df:
            raise ValueError("the points lack the measured columns")
    except (OSError, ValueError, KeyError, TypeError, pyarrow.ArrowException) as exc:
        raise StateError(f"the benchmark results in {out_dir} are damaged ({exc}).", fix) from None
    return summary, df


def render_report(out_dir: Path) -> Path:
    """Re-render ``tradeoff_kbps.png``, ``tradeoff_dnn.png`` and ``report.md`` in ``out_dir``
    from its ``bench.parquet`` and ``summary.json``; returns the report's path."""
    out_dir = Path(out_dir)
    summary, df = load_bench(out_dir)
    curves = mean_curves(pd.DataFrame(summary["points"]))
    title = (
        f"{summary.get('meta', {}).get('model', '')} · mean over {df['video'].nunique()} video(s)"
    )
    plot_tradeoff(curves, "kbps", "bandwidth (kbit/s)", out_dir / "tradeoff_kbps.png", title)
    plot_tradeoff(
        curves,
        "dnn_frames_per_s",
        "DNN work (frames/s incl. adaptation overhead)",
        out_dir / "tradeoff_dnn.png",
        title,
    )
    path = out_dir / "report.md"
    atomic_write_text(path, report_markdown(summary, df))
    return path
