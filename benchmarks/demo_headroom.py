"""How much any adaptive policy could save on the demo's scene: the bandwidth that the best
fixed configuration (chosen in hindsight), the best configuration per content regime and
the best configuration per second need to reach a target accuracy.

Every configuration of the demo's knob grid is measured on every second of the scene with
the true accuracy (the built-in detector's output at the reference configuration), so the
figures bound what adaptation can win there: a scene whose regimes all want the same
configuration leaves nothing to adapt, whatever the policy.

- ``fixed``: the cheapest single configuration whose mean accuracy reaches the target;
- ``per regime``: one configuration per regime of the scene (an oracle that knows where the
  regimes start), the least kbit/s whose mean accuracy reaches the target;
- ``per second``: one configuration per second, likewise (the bench's oracle).

The two oracles trade accuracy against kbit/s with one price per kbit/s, swept (so they
find the points on the convex hull of each unit's trade-off).

Usage: ``python benchmarks/demo_headroom.py [--seed 7] [--seconds 60] [--targets 0.9,0.95]``
(about 3 minutes on two cores for the default 60 s).
"""

from __future__ import annotations

import argparse

import numpy as np
import pandas as pd

from oneadapt.adapt.profiler import Profiler
from oneadapt.demo import DEMO_SEED, TOLERANCE, demo_knobs, demo_scene
from oneadapt.inference_cache import Detector, InferenceCache
from oneadapt.knobs import ConfigSpace
from oneadapt.models.builtin import load_builtin
from oneadapt.tasks.detection import DetectionTask

PRICES = np.geomspace(1e-5, 0.05, 200)
"""Prices per kbit/s swept by the oracles (accuracy per kbit/s)."""


def profile_scene(seed: int, seconds: int) -> pd.DataFrame:
    """Accuracy and kbit/s of every demo configuration on every second, with its regime."""
    scene = demo_scene(seconds, seed)
    space = ConfigSpace.default(scene.height, analysis_fps=scene.fps, **demo_knobs(scene))
    model = load_builtin()
    task = DetectionTask.for_model(model.class_names)
    profiler = Profiler(Detector(model, InferenceCache()), task, space.reference)
    regime = {
        s: f"{name} {start}-{end} s"
        for start, end, name in scene.regimes
        for s in range(start, end)
    }
    rows = []
    for segment in scene.segments(seconds):
        for config in space.grid():
            p = profiler.measure(segment, config)
            rows.append(
                {
                    "second": segment.index,
                    "regime": regime[segment.index],
                    "config": config.label(),
                    "accuracy": p.accuracy,
                    "kbps": p.bytes * 8 / 1000,
                }
            )
    return pd.DataFrame(rows)


def least_kbps(points: list[tuple[float, float]], target: float) -> float | None:
    """The least kbit/s among (accuracy, kbit/s) points reaching ``target`` - TOLERANCE."""
    ok = [kbps for accuracy, kbps in points if accuracy >= target - TOLERANCE]
    return min(ok) if ok else None


def oracle_points(df: pd.DataFrame, unit: str) -> list[tuple[float, float]]:
    """(mean accuracy, mean kbit/s) of the best configuration per ``unit`` (``regime`` or
    ``second``) at each price in :data:`PRICES`."""
    per_unit = df.groupby([unit, "config"])[["accuracy", "kbps"]].mean().reset_index()
    weight = df.groupby(unit)["second"].nunique()
    points = []
    for price in PRICES:
        score = per_unit["accuracy"] - price * per_unit["kbps"]
        best = per_unit.loc[score.groupby(per_unit[unit]).idxmax()].set_index(unit)
        w = weight.loc[best.index]
        points.append(
            (
                float(np.average(best["accuracy"], weights=w)),
                float(np.average(best["kbps"], weights=w)),
            )
        )
    return points


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seed", type=int, default=DEMO_SEED)
    parser.add_argument("--seconds", type=int, default=60)
    parser.add_argument("--targets", default="0.9,0.95")
    args = parser.parse_args()
    df = profile_scene(args.seed, args.seconds)
    print("regimes:", ", ".join(df.drop_duplicates("regime")["regime"]))
    fixed = df.groupby("config")[["accuracy", "kbps"]].mean()
    fixed_points = list(zip(fixed["accuracy"], fixed["kbps"], strict=True))
    regime_points, second_points = oracle_points(df, "regime"), oracle_points(df, "second")
    print(f"{'target':>7} {'fixed':>9} {'per regime':>11} {'per second':>11}  (kbit/s)")
    for target in (float(t) for t in args.targets.split(",")):
        cells = [least_kbps(p, target) for p in (fixed_points, regime_points, second_points)]
        text = ["never" if c is None else f"{c:.1f}" for c in cells]
        print(f"{target:>7g} {text[0]:>9} {text[1]:>11} {text[2]:>11}")


if __name__ == "__main__":
    main()
