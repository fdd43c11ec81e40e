"""The run loop writes one row per second with every required column, and its three files."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from oneadapt.adapt.policy import FixedPolicy
from oneadapt.evaluate.run import columns, run_policy, write_run_outputs
from oneadapt.knobs import Configuration


def test_fixed_policy_run_writes_parquet_plot_and_summary(yolox_highway, tmp_path: Path) -> None:
    detector, task, source, space = yolox_highway
    config = Configuration(qp=35, height=120, fps=2)
    df = run_policy(source, FixedPolicy(config), detector, task, space, seconds=2, progress=False)
    required = {
        "second",
        "qp",
        "height",
        "fps",
        "accuracy",
        "bytes",
        "frames_inferred",
        "backward_passes",
        "camera_encodes",
        "feedback_bytes",
        "dnn_seconds",
        "camera_seconds",
        "profiling_inferences",
        "kbps",
    }
    assert required <= set(df.columns) and list(df.columns) == columns(space)
    assert list(df["second"]) == [0, 1]
    assert (df["qp"] == 35).all() and (df["frames_inferred"] == 2).all()
    assert (df["backward_passes"] == 0).all() and (df["feedback_bytes"] == 0).all()
    assert df["accuracy"].between(0, 1).all()
    assert (df["kbps"] == df["bytes"] * 8 / 1000).all()

    write_run_outputs(df, tmp_path / "out", title="fixed")
    back = pd.read_parquet(tmp_path / "out" / "run.parquet")
    pd.testing.assert_frame_equal(back, df)
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert summary["seconds"] == 2 and summary["accuracy"] == pytest.approx(df["accuracy"].mean())
    assert (tmp_path / "out" / "run.png").stat().st_size > 10_000
    assert not list((tmp_path / "out").glob(".*.tmp"))


def test_dnngrad_forward_pass_is_the_inference_of_its_frame(yolox_highway) -> None:
    """The back-propagated frame is not inferred a second time: only the backward is extra."""
    from oneadapt.adapt.gradient_policy import GradientPolicy
    from oneadapt.adapt.policy import PolicyContext
    from oneadapt.inference_cache import Detector

    detector, task, source, space = yolox_highway
    inferred: list[int] = []

    class Counting(type(detector.model)):  # the real model, counting what it infers
        def infer(self, frames):
            inferred.append(len(frames))
            return super().infer(frames)

    model = Counting.__new__(Counting)
    model.__dict__.update(detector.model.__dict__)
    policy = GradientPolicy(PolicyContext(space), lam=0.1)
    df = run_policy(source, policy, Detector(model), task, space, seconds=1, progress=False)
    assert df["qp"].iloc[0] != space.reference["qp"]  # the policy starts mid-list
    assert df["backward_passes"].iloc[0] == 1
    # The streamed frames but the back-propagated one, and the reference's frames (which
    # only the evaluation infers, to score the second).
    assert sum(inferred) == df["frames_inferred"].iloc[0] - 1 + space.reference["fps"]
    assert df["dnn_seconds"].iloc[0] > 0
