"""The main job end to end on the embedded default: no shared data, no downloads."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pandas as pd


def test_demo_runs_on_a_short_scene(tmp_path):
    env = {**os.environ, "ONEADAPT_DATA": str(tmp_path / "no-shared-data")}
    out = tmp_path / "demo"
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "oneadapt",
            "demo",
            "--seconds",
            "3",
            "--height",
            "144",
            "--out",
            str(out),
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=900,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert f"results in {out.resolve()}" in result.stderr.replace("\n", "")
    assert "oneadapt against each baseline point at its accuracy" in result.stdout
    summary = json.loads((out / "bench" / "summary.json").read_text())
    points = pd.DataFrame(summary["points"])
    assert set(points["policy"]) == {"oneadapt", "best-fixed", "awstream", "chameleon"}
    assert sorted(points.groupby("policy").size().unique()) == [3]  # a curve of 3 lambdas each
    runs = pd.read_parquet(out / "bench" / "bench.parquet")
    oneadapt = runs[(runs.policy == "oneadapt") & (runs["lambda"] == 0.1)]
    assert oneadapt.backward_passes.tolist() == [1, 1, 1]  # DNNGrad every second
    for name in ("trajectory.png", "bench/tradeoff_kbps.png", "bench/report.md"):
        assert (out / name).stat().st_size > 0
