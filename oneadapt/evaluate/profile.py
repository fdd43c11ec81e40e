"""Profile a configuration grid: every configuration over every second, measured for real.

This is what profiling-based adaptation (AWStream, Chameleon) pays for, and what the
gradient policy avoids; it is also how the trade-off space of a clip is charted.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from rich.table import Table

from oneadapt.console import Progress
from oneadapt.evaluate.measure import measure
from oneadapt.inference_cache import Detector
from oneadapt.knobs import ConfigSpace, knob_type
from oneadapt.media.modality import Modality
from oneadapt.media.sources import Source
from oneadapt.storage import atomic_path
from oneadapt.tasks.base import Task

MEANS = ["accuracy", "kbps", "frames_inferred", "dnn_seconds", "encode_seconds"]


def profile(
    source: Source,
    detector: Detector,
    task: Task,
    space: ConfigSpace,
    seconds: int | None = None,
    progress: bool = True,
    sensor: Modality | None = None,
) -> pd.DataFrame:
    """One row per (second, configuration): accuracy vs the reference, bytes, DNN work;
    ``sensor`` codes the segments (default video)."""
    rows = []
    configs = list(space.grid())
    reference_config = space.reference
    total = (seconds or 0) * len(configs) or None
    with Progress(disable=not progress, transient=True) as bar:
        task_id = bar.add_task(f"profiling {len(configs)} configurations", total=total)
        for segment in source.segments(seconds):
            reference = measure(segment, reference_config, detector, task, None, sensor=sensor)
            for config in configs:
                m = (
                    reference
                    if config == reference_config
                    else measure(
                        segment, config, detector, task, reference.detections, sensor=sensor
                    )
                )
                rows.append({"second": segment.index, **m.row()})
                bar.advance(task_id)
    df = pd.DataFrame(rows)
    df["kbps"] = df["bytes"] * 8 / 1000.0
    return df


def summarize(df: pd.DataFrame, knobs: Sequence[str]) -> pd.DataFrame:
    """Mean over seconds per configuration (a value of each of ``knobs``), with its
    Pareto-optimality (accuracy vs kbit/s)."""
    mean = df.groupby(list(knobs), as_index=False)[MEANS].mean()
    mean["pareto"] = pareto_mask(mean["kbps"].to_numpy(), mean["accuracy"].to_numpy())
    return mean.sort_values("kbps", ignore_index=True)


def pareto_mask(cost: np.ndarray, value: np.ndarray) -> np.ndarray:
    """True where no other point has lower-or-equal cost and strictly higher value
    (or equal value at strictly lower cost)."""
    better = ((cost[None, :] <= cost[:, None]) & (value[None, :] > value[:, None])) | (
        (cost[None, :] < cost[:, None]) & (value[None, :] >= value[:, None])
    )
    return ~better.any(axis=1)


def plot_profile(summary: pd.DataFrame, knobs: Sequence[str], path: Path, title: str) -> None:
    """Accuracy against kbit/s per configuration, the Pareto front marked; colour shows the
    first of ``knobs``, marker size the last."""
    fig = Figure(figsize=(8, 5.5), dpi=120)
    ax = fig.subplots()
    colour, size = knobs[0], knobs[-1]
    sc = ax.scatter(
        summary["kbps"],
        summary["accuracy"],
        c=summary[colour],
        cmap="viridis_r",
        s=12 + 28 * summary[size].rank(pct=True),  # any sign, any scale
        alpha=0.75,
        edgecolors="none",
    )
    front = summary[summary["pareto"]].sort_values("kbps")
    ax.plot(
        front["kbps"], front["accuracy"], "-o", color="crimson", ms=4, lw=1.5, label="Pareto front"
    )
    for _, r in front.iterrows():
        ax.annotate(
            "/".join(f"{r[k]:g}" for k in knobs),
            (r.kbps, r.accuracy),
            fontsize=6,
            xytext=(3, -8),
            textcoords="offset points",
            color="crimson",
        )
    ax.set_xscale("log")
    ax.set_xlabel("bandwidth (kbit/s, log scale)")
    ax.set_ylabel("accuracy (F1 vs reference)")
    ax.set_title(title)
    ax.grid(alpha=0.3, which="both")
    fig.colorbar(
        sc, ax=ax, label=f"{knob_type(colour).title} (marker size: {knob_type(size).title})"
    )
    ax.legend(loc="lower right")
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png")


def write_profile_outputs(
    df: pd.DataFrame, knobs: Sequence[str], out_dir: Path, title: str
) -> pd.DataFrame:
    """``profile.parquet`` (all rows) and ``profile.png``; returns the per-configuration summary."""
    summary = summarize(df, knobs)
    with atomic_path(out_dir / "profile.parquet") as tmp:
        df.to_parquet(tmp, index=False)
    plot_profile(summary, knobs, out_dir / "profile.png", title)
    return summary


def pareto_table(summary: pd.DataFrame, knobs: Sequence[str], title: str) -> Table:
    """The Pareto-optimal configurations of :func:`summarize` as a printable table."""
    table = Table(title=title)
    for col in (*(knob_type(k).title for k in knobs), "accuracy", "kbit/s", "frames/s", "DNN s/s"):
        table.add_column(col, justify="right")
    for _, r in summary[summary["pareto"]].iterrows():
        table.add_row(*(f"{r[k]:g}" for k in knobs), *figures(r))
    return table


def knob_table(summary: pd.DataFrame, space: ConfigSpace, title: str) -> Table:
    """Each knob with several values at each of them, every other knob at the reference's
    value: what the knob alone does to accuracy and bandwidth."""
    table = Table(title=title)
    for col in ("knob", "value", "accuracy", "kbit/s", "frames/s", "DNN s/s"):
        table.add_column(col, justify="right")
    reference = space.reference
    for knob in (k for k in space.knobs if len(k.values) > 1):
        others = [n for n in space.names if n != knob.name]
        alone = summary[(summary[others] == pd.Series({n: reference[n] for n in others})).all(1)]
        for _, r in alone.set_index(knob.name).loc[list(knob.values)].reset_index().iterrows():
            table.add_row(knob.name, f"{r[knob.name]:g}", *figures(r))
    return table


def figures(row: pd.Series) -> list[str]:
    """A summary row's accuracy, kbit/s, frames and DNN seconds per second, as table cells."""
    return [
        f"{row.accuracy:.3f}",
        f"{row.kbps:.1f}",
        f"{row.frames_inferred:.1f}",
        f"{row.dnn_seconds:.3f}",
    ]
