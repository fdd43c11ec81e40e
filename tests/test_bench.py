"""The benchmark harness end to end (real encodes, YOLOX, 3 seconds at 5 fps, 2 x 2 x 2 grid)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from oneadapt.errors import OneAdaptError
from oneadapt.evaluate.bench import bench, cost_at_accuracy
from oneadapt.evaluate.report import render_report

# The budgeted variant is listed first: bench must still run oneadapt before it.
POLICIES = [
    "awstream@budget",
    "oneadapt",
    "fixed:40/120/2",
    "best-fixed",
    "awstream",
    "chameleon",
    "oracle",
]
LAMBDAS = [0.05, 1.0]
OUTPUTS = ("bench.parquet", "summary.json", "tradeoff_kbps.png", "tradeoff_dnn.png", "report.md")


@pytest.fixture(scope="module")
def bench_dir(onnx_and_clip: tuple[Path, Path], tmp_path_factory: pytest.TempPathFactory) -> Path:
    model, video = onnx_and_clip
    out = tmp_path_factory.mktemp("bench")
    bench(
        [str(video)],
        str(model),
        POLICIES,
        LAMBDAS,
        out,
        seconds=3,
        analysis_fps=5,
        progress=False,
        knobs={"qp": (24, 40), "height": (240, 120), "fps": (5, 2)},
        max_kbps=(20.0,),
    )
    return out


def test_bench_writes_every_output_with_the_required_keys(bench_dir: Path) -> None:
    for name in OUTPUTS:
        assert (bench_dir / name).stat().st_size > 0, name
    summary = json.loads((bench_dir / "summary.json").read_text())
    budget_mode = [p for p in summary["points"] if p["policy"] == "oneadapt@max-kbps"]
    assert [p["lambda"] for p in budget_mode] == [20.0]  # the budget, in the lambda column
    assert summary["meta"]["max_kbps"] == [20.0]
    assert len(summary["points"]) == len(POLICIES) * len(LAMBDAS) + 1
    point_keys = {"video", "policy", "lambda", "accuracy", "kbps", "dnn_frames_per_s"}
    assert all(point_keys | {"overhead_frames_per_s"} <= p.keys() for p in summary["points"])
    assert len(summary["matched"]) == 3 * (len(POLICIES) + 1)
    matched_keys = {"target_accuracy", "policy", "kbps", "dnn_frames_per_s"}
    ratio_keys = {"kbps_ratio_to_oneadapt", "dnn_ratio_to_oneadapt"}
    assert all(matched_keys | ratio_keys <= m.keys() for m in summary["matched"])
    for m in summary["matched"]:
        if m["policy"] == "oneadapt" and m["kbps"] is not None:
            assert m["kbps_ratio_to_oneadapt"] == pytest.approx(1.0)

    df = pd.read_parquet(bench_dir / "bench.parquet")
    assert len(df) == (len(POLICIES) * len(LAMBDAS) + 1) * 3  # + one budget-mode point
    for column in ("video", "policy", "lambda", "second", "accuracy", "kbps", "objective"):
        assert column in df.columns
    charged = df.groupby("policy")["profiling_inferences"].sum()
    assert charged["awstream"] > 0 and charged["chameleon"] > 0
    assert charged["fixed:40/120/2"] == 0 and charged["oracle"] == 0
    oneadapt = df[df["policy"] == "oneadapt"]
    assert (oneadapt["backward_passes"] == 1).all()  # one DNNGrad pass a second (default)
    offline = {
        (p["policy"], p["lambda"]): p["offline_profiling_inferences"] for p in summary["points"]
    }
    assert offline[("oracle", 1.0)] > 0 and offline[("best-fixed", 1.0)] > 0


def test_budgeted_baseline_gets_oneadapts_measured_overhead(bench_dir: Path) -> None:
    summary = json.loads((bench_dir / "summary.json").read_text())
    overhead = {
        p["lambda"]: p["overhead_frames_per_s"]
        for p in summary["points"]
        if p["policy"] == "oneadapt"
    }
    budgets = summary["meta"]["profiling_budgets"]
    assert [(b["policy"], b["lambda"]) for b in budgets] == [
        ("awstream@budget", lam) for lam in LAMBDAS
    ]
    for b in budgets:
        assert b["basis"] == "oneadapt overhead"
        assert (
            b["inferences_per_s"] == pytest.approx(overhead[b["lambda"]])
            and overhead[b["lambda"]] > 0
        )
    df = pd.read_parquet(bench_dir / "bench.parquet")
    for b in budgets:
        run = df[(df["policy"] == "awstream@budget") & (df["lambda"] == b["lambda"])]
        # A budget of about one frame per second cannot finish a 28-inference profile in 3 s:
        # whole inferences are charged as the budget accrues, the reference stays in use.
        accrued = [int(np.floor(b["inferences_per_s"] * (k + 1) + 1e-9)) for k in range(3)]
        assert run["profiling_inferences"].cumsum().tolist() == accrued
        assert run["camera_encodes"].iloc[0] > 0
        assert ((run["qp"] == 24) & (run["height"] == 240) & (run["fps"] == 5)).all()
    oneadapt = [m for m in summary["matched"] if m["policy"] == "oneadapt"]
    assert all("kbps_ratio_to_best_budgeted" in m for m in oneadapt)
    report = (bench_dir / "report.md").read_text()
    assert "awstream@budget" in report and "oneadapt against the best baseline" in report


def test_bench_budget_without_oneadapt_and_validation(
    onnx_and_clip: tuple[Path, Path], tmp_path: Path
) -> None:
    model, video = (str(p) for p in onnx_and_clip)
    with pytest.raises(OneAdaptError, match="budget"):
        bench([video], model, ["awstream@budget"], [1.0], tmp_path / "bad", profiling_budget=0)
    assert not (tmp_path / "bad").exists()
    small = {
        "knobs": {"qp": (40,), "height": (240, 120), "fps": (2,)},
        "seconds": 2,
        "analysis_fps": 5,
    }
    summary = bench(
        [video], model, ["chameleon@budget"], [1.0], tmp_path / "a", progress=False, **small
    )
    (budget,) = summary["meta"]["profiling_budgets"]
    ratio, every = summary["meta"]["backward_frame_equivalents"], summary["meta"]["dnngrad_every"]
    assert budget["basis"] == "DNNGrad interval"
    assert budget["inferences_per_s"] == pytest.approx(ratio / every)
    given = bench(
        [video],
        model,
        ["chameleon@budget"],
        [1.0],
        tmp_path / "b",
        progress=False,
        profiling_budget=3.0,
        **small,
    )
    assert given["meta"]["profiling_budgets"][0]["inferences_per_s"] == 3.0
    assert given["meta"]["profiling_budget"] == 3.0


def test_oracle_objective_bounds_every_policy_every_second(bench_dir: Path) -> None:
    df = pd.read_parquet(bench_dir / "bench.parquet")
    key = ["video", "lambda", "second"]
    oracle = df[df["policy"] == "oracle"].set_index(key)["objective"]
    lambda_runs = df[~df["policy"].isin(["oracle", "oneadapt@max-kbps"])]  # no lambda there
    others = lambda_runs.join(oracle.rename("bound"), on=key)
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
