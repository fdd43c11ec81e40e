"""The embedded-default main job: everything on the project's own scene and detector.

A fresh machine has no data and no network, so the demo generates a procedural street
scene whose content changes regime every 10 to 30 seconds, and benches the gradient
policy against best-fixed, AWStream and Chameleon, each as a curve over a few lambdas,
with the built-in detector. It prints who needs the least bandwidth at each baseline's
accuracy, and plots oneadapt's knob trajectory with the scene's regimes shaded, all on a
small knob space so it finishes in a few minutes on two cores.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
from rich.console import Console
from rich.table import Table

from oneadapt.evaluate.bench import bench, cost_at_accuracy
from oneadapt.evaluate.plots import plot_run
from oneadapt.knobs import even, resolution_ladder
from oneadapt.media.scene import SceneSource
from oneadapt.models.builtin import load_builtin
from oneadapt.storage import prepare_output_dir

DEMO_SEED = 7
"""A scene seed the built-in model was not trained on."""
DEMO_QPS = (24, 36, 48)
DEMO_SCALES = (1.0, 0.5, 0.25)
DEMO_FPS = (10, 5, 2)
DEMO_LAMBDAS = (0.03, 0.1, 0.3)
DEMO_POLICIES = ("oneadapt", "best-fixed", "awstream", "chameleon")
TOLERANCE = 0.005
"""Accuracy below a baseline's that still counts as matching it."""


def verdict(points: pd.DataFrame) -> list[dict]:
    """For every baseline point: oneadapt's least kbit/s (on its upper envelope) reaching that
    point's accuracy minus :data:`TOLERANCE`, and who is cheaper."""
    ours = points[points["policy"] == "oneadapt"]
    rows = []
    for _, p in points[points["policy"] != "oneadapt"].iterrows():
        kbps = cost_at_accuracy(
            ours["kbps"].to_numpy(), ours["accuracy"].to_numpy(), p["accuracy"] - TOLERANCE
        )
        winner = "oneadapt" if kbps is not None and kbps <= p["kbps"] else p["policy"]
        rows.append({**p[["policy", "lambda", "accuracy", "kbps"]], "oneadapt_kbps": kbps,
                     "winner": winner})  # fmt: skip
    return rows


def verdict_table(rows: list[dict]) -> Table:
    table = Table(title="oneadapt against each baseline point at its accuracy")
    for header in ("baseline", "lambda", "accuracy", "its kbit/s", "oneadapt kbit/s", "winner"):
        table.add_column(header, justify="left" if header in ("baseline", "winner") else "right")
    for r in rows:
        ours = "never reaches it" if r["oneadapt_kbps"] is None else f"{r['oneadapt_kbps']:.1f}"
        table.add_row(
            r["policy"], f"{r['lambda']:g}", f"{r['accuracy']:.3f}", f"{r['kbps']:.1f}", ours,
            f"[bold]{r['winner']}[/]",
        )  # fmt: skip
    return table


def demo_scene(seconds: int = 60, seed: int = DEMO_SEED, height: int = 360) -> SceneSource:
    """The demo's procedural street scene (16:9 at ``height``)."""
    return SceneSource(seed=seed, seconds=seconds, width=even(height * 16 / 9), height=height)


def demo_knobs(scene: SceneSource) -> dict[str, tuple[int, ...]]:
    """The demo's small knob grid on ``scene``: 27 configurations."""
    return {
        "qp": DEMO_QPS,
        "height": tuple(resolution_ladder(scene.height, DEMO_SCALES)),
        "fps": DEMO_FPS,
    }


def run_demo(
    out: Path,
    seconds: int = 60,
    seed: int = DEMO_SEED,
    lambdas: Sequence[float] = DEMO_LAMBDAS,
    height: int = 360,
    console: Console | None = None,
) -> Path:
    """Bench every demo policy at every lambda on the scene; write the trajectory plot of
    oneadapt at the middle lambda; print the verdict; returns the results folder."""
    console = console or Console(stderr=True)
    out = prepare_output_dir(out)
    scene = demo_scene(seconds, seed, height)
    model = load_builtin()
    console.rule(
        f"{', '.join(DEMO_POLICIES)} at lambda {', '.join(f'{x:g}' for x in lambdas)} "
        f"on {seconds} s of {scene.name} ({scene.width}x{scene.height})"
    )
    summary = bench(
        [scene],
        model,
        DEMO_POLICIES,
        lambdas,
        out / "bench",
        seconds=seconds,
        knobs=demo_knobs(scene),
    )
    runs = pd.read_parquet(out / "bench" / "bench.parquet")
    middle = float(sorted(lambdas)[len(lambdas) // 2])
    trajectory = runs[(runs["policy"] == "oneadapt") & np.isclose(runs["lambda"], middle)]
    plot_run(
        trajectory.reset_index(drop=True),
        out / "trajectory.png",
        f"{scene.name} · oneadapt · lambda {middle:g}",
        scene.regimes,
    )
    rows = verdict(pd.DataFrame(summary["points"]))
    Console(width=120).print(verdict_table(rows))
    wins = sum(r["winner"] == "oneadapt" for r in rows)
    console.print(
        f"oneadapt needs no more bandwidth than the baseline at {wins} of {len(rows)} baseline "
        f"points; plots: {out / 'bench' / 'tradeoff_kbps.png'}, {out / 'trajectory.png'}"
    )
    return out
