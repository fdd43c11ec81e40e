"""Figures for a policy run (knobs, accuracy and bandwidth over time) and for gradcheck
(estimated vs measured accuracy change). Drawn with matplotlib's object API: no pyplot
state and no display needed."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pandas as pd
from matplotlib.figure import Figure

from oneadapt.knobs import knob_types
from oneadapt.storage import atomic_path


def _save(fig: Figure, path: Path) -> None:
    with atomic_path(Path(path)) as tmp:
        fig.savefig(tmp, format="png", dpi=120, bbox_inches="tight")


def plot_run(
    df: pd.DataFrame,
    path: Path,
    title: str = "",
    regimes: Sequence[tuple[int, int, str]] = (),
    max_kbps: float | None = None,
) -> None:
    """Stacked panels over time: each knob's value (every column of ``df`` that names a knob,
    drawn with the expensive end up), accuracy, and bandwidth (with a budget
    ``max_kbps``, the budget and the running mean it constrains). ``regimes``
    (start, end, name), known for the procedural scene, shade every panel and are named on
    the top one (those the run covers), so one can see whether the knobs follow the content."""
    kinds = [kind for name, kind in knob_types().items() if name in df.columns]
    fig = Figure(figsize=(10, 2.2 * (len(kinds) + 2)))
    axes = fig.subplots(len(kinds) + 2, 1, sharex=True)
    accuracy_ax, kbps_ax = axes[-2:]
    t = df["second"]
    covered = [(s, min(e, t.max() + 1), n) for s, e, n in regimes if s <= t.max()]
    for i, (start, end, name) in enumerate(covered):
        for ax in axes:
            ax.axvspan(start, end, color="0.5" if i % 2 else "0.85", alpha=0.15, lw=0)
        axes[0].text((start + end) / 2, 1.02, name, transform=axes[0].get_xaxis_transform(),
                     ha="center", va="bottom", fontsize=8)  # fmt: skip
    for ax, kind in zip(axes[: len(kinds)], kinds, strict=True):
        ax.step(t, df[kind.name], where="post", color="tab:blue")
        ax.set_yticks(sorted(df[kind.name].unique()))
        ax.set_ylabel(kind.title)
        ax.grid(alpha=0.3)
        if kind.cheaper_upward:
            ax.invert_yaxis()  # up = more expensive on every knob panel
    accuracy_ax.plot(t, df["accuracy"], color="tab:green", marker=".", lw=1)
    accuracy_ax.axhline(df["accuracy"].mean(), color="tab:green", ls="--", lw=0.8, label="mean")
    accuracy_ax.set_ylim(-0.02, 1.02)
    accuracy_ax.set_ylabel("accuracy (F1 vs reference)")
    accuracy_ax.legend(loc="lower right")
    kbps_ax.plot(t, df["kbps"], color="tab:red", marker=".", lw=1)
    kbps_ax.axhline(df["kbps"].mean(), color="tab:red", ls="--", lw=0.8, label="mean")
    if max_kbps is not None:
        kbps_ax.axhline(max_kbps, color="black", lw=1.2, label=f"budget {max_kbps:g}")
        running = df["kbps"].expanding().mean()
        kbps_ax.plot(t, running, color="tab:purple", lw=1.2, label="running mean")
    kbps_ax.set_ylabel("kbit/s")
    kbps_ax.set_xlabel("second")
    kbps_ax.legend(loc="upper right")
    for ax in (accuracy_ax, kbps_ax):
        ax.grid(alpha=0.3)
    summary = (
        f"mean accuracy {df['accuracy'].mean():.3f}, {df['kbps'].mean():.0f} kbit/s, "
        f"{df['frames_inferred'].mean():.1f} frames/s inferred"
    )
    fig.suptitle(f"{title}\n{summary}" if title else summary)
    fig.tight_layout()
    _save(fig, path)


def plot_gradcheck(result: dict, path: Path) -> None:
    """Scatter of estimated vs measured accuracy change, one colour per knob."""
    fig = Figure(figsize=(7, 6))
    ax = fig.subplots()
    records = result["records"]
    for knob in sorted({r["knob"] for r in records}):
        sel = [r for r in records if r["knob"] == knob]
        ax.scatter(
            [r["estimated"] for r in sel],
            [r["measured"] for r in sel],
            s=14,
            alpha=0.6,
            label=f"{knob} (n={len(sel)})",
        )
    ax.axhline(0, color="grey", lw=0.6)
    ax.axvline(0, color="grey", lw=0.6)
    ax.set_xlabel("estimated accuracy change (InputGrad x DNNGrad)")
    ax.set_ylabel("measured accuracy change (DNN on neighbour config)")

    def fmt(v: float | None) -> str:
        return "n/a" if v is None else f"{v:.3f}"

    agreement = ", ".join(f"{lam} {fmt(v)}" for lam, v in result["decision_agreement"].items())
    ax.set_title(
        f"mean cosine {fmt(result['mean_cosine'])} over {result['cosine_seconds']} seconds, "
        f"Pearson {fmt(result['pearson'])}\nscale ratio {fmt(result['scale_ratio'])}, "
        f"decision agreement at lambda {agreement}",
        fontsize=10,
    )
    ax.legend()
    ax.grid(alpha=0.3)
    _save(fig, path)
