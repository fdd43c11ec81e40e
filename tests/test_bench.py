"""The benchmark harness end to end (real encodes, YOLOX, 3 seconds at 5 fps, 2 x 2 x 2 grid)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from oneadapt.evaluate.bench import bench, cost_at_accuracy
from oneadapt.evaluate.report import render_report

POLICIES = ["oneadapt", "fixed:40/120/2", "best-fixed", "awstream", "chameleon", "oracle"]
LAMBDAS = [0.05, 1.0]
OUTPUTS = ("bench.parquet", "summary.json", "tradeoff_kbps.png", "tradeoff_dnn.png", "report.md")


@pytest.fixture(scope="module")
def bench_dir(shared_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("bench")
    bench(
        [str(shared_data / "videos" / "bgslibrary_video02_highway_cctv.avi")],
        str(shared_data / "models" / "yolox_nano_416x416.onnx"),
        POLICIES,
        LAMBDAS,
        out,
        seconds=3,
        analysis_fps=5,
        progress=False,
        qps=(24, 40),
        heights=(240, 120),
        fps=(5, 2),
    )
    return out


def test_bench_writes_every_output_with_the_required_keys(bench_dir: Path) -> None:
    for name in OUTPUTS:
        assert (bench_dir / name).stat().st_size > 0, name
    summary = json.loads((bench_dir / "summary.json").read_text())
    assert len(summary["points"]) == len(POLICIES) * len(LAMBDAS)
    point_keys = {"video", "policy", "lambda", "accuracy", "kbps", "dnn_frames_per_s"}
    assert all(point_keys | {"overhead_frames_per_s"} <= p.keys() for p in summary["points"])
    assert len(summary["matched"]) == 3 * len(POLICIES)
    matched_keys = {"target_accuracy", "policy", "kbps", "dnn_frames_per_s"}
    ratio_keys = {"kbps_ratio_to_oneadapt", "dnn_ratio_to_oneadapt"}
    assert all(matched_keys | ratio_keys <= m.keys() for m in summary["matched"])
    for m in summary["matched"]:
        if m["policy"] == "oneadapt" and m["kbps"] is not None:
            assert m["kbps_ratio_to_oneadapt"] == pytest.approx(1.0)

    df = pd.read_parquet(bench_dir / "bench.parquet")
    assert len(df) == len(POLICIES) * len(LAMBDAS) * 3
    for column in ("video", "policy", "lambda", "second", "accuracy", "kbps", "objective"):
        assert column in df.columns
    charged = df.groupby("policy")["profiling_inferences"].sum()
    assert charged["awstream"] > 0 and charged["chameleon"] > 0
    assert charged["fixed:40/120/2"] == 0 and charged["oracle"] == 0
    oneadapt = df[df["policy"] == "oneadapt"]
    assert (oneadapt["backward_passes"] == (oneadapt["second"] % 2 == 0)).all()
    offline = {
        (p["policy"], p["lambda"]): p["offline_profiling_inferences"] for p in summary["points"]
    }
    assert offline[("oracle", 1.0)] > 0 and offline[("best-fixed", 1.0)] > 0


def test_oracle_objective_bounds_every_policy_every_second(bench_dir: Path) -> None:
    df = pd.read_parquet(bench_dir / "bench.parquet")
    key = ["video", "lambda", "second"]
    oracle = df[df["policy"] == "oracle"].set_index(key)["objective"]
    others = df[df["policy"] != "oracle"].join(oracle.rename("bound"), on=key)
    assert others["bound"].notna().all()
    assert (others["objective"] <= others["bound"] + 1e-9).all(), others[
        others["objective"] > others["bound"]
    ]


def test_report_re_renders_from_saved_files(bench_dir: Path) -> None:
    written = (bench_dir / "report.md").read_text()
    for name in ("tradeoff_kbps.png", "tradeoff_dnn.png", "report.md"):
        (bench_dir / name).unlink()
    assert render_report(bench_dir) == bench_dir / "report.md"
    assert (bench_dir / "report.md").read_text() == written
    assert (bench_dir / "tradeoff_kbps.png").stat().st_size > 0
    assert "| target accuracy |" in written and "oracle" in written


def test_cost_at_accuracy_reads_the_upper_envelope() -> None:
    cost = np.array([100.0, 250.0, 200.0, 300.0])
    acc = np.array([0.80, 0.85, 0.90, 0.95])  # (250, 0.85) is dominated by (200, 0.90)
    assert cost_at_accuracy(cost, acc, 0.85) == pytest.approx(150.0)
    assert cost_at_accuracy(cost, acc, 0.95) == pytest.approx(300.0)
    assert cost_at_accuracy(cost, acc, 0.5) == pytest.approx(100.0)
    assert cost_at_accuracy(cost, acc, 0.97) is None
