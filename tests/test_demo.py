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
    profile = pd.read_parquet(out / "profile" / "profile.parquet")
    assert len(profile) == 3 * 3 * 3 * 3  # seconds x QPs x heights x frame rates
    summary = json.loads((out / "bench" / "summary.json").read_text())
    assert {p["policy"] for p in summary["points"]} == {"oneadapt", "best-fixed"}
    runs = pd.read_parquet(out / "bench" / "bench.parquet")
    oneadapt = runs[runs.policy == "oneadapt"]
    assert oneadapt.backward_passes.tolist() == [1, 0, 1]  # DNNGrad every other second
    for name in ("profile/profile.png", "bench/tradeoff_kbps.png", "bench/report.md"):
        assert (out / name).stat().st_size > 0
