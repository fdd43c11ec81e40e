"""The gradient policy on a real clip, real encodes and a real detector: lambda = 0 keeps
the expensive end, a huge lambda walks every knob to cheaper values."""

from __future__ import annotations

from pathlib import Path

import pytest

from oneadapt.adapt.gradient_policy import GradientPolicy
from oneadapt.adapt.policy import PolicyContext
from oneadapt.evaluate.run import run_policy
from oneadapt.inference_cache import Detector
from oneadapt.knobs import ConfigSpace
from oneadapt.media.sources import VideoSource
from oneadapt.models.registry import load_model
from oneadapt.tasks.detection import DetectionTask


@pytest.fixture(scope="module")
def setup(shared_data: Path):
    """YOLOX and the motorway clip (320x240) at 5 fps with its default knob space."""
    model = load_model(str(shared_data / "models" / "yolox_nano_416x416.onnx"))
    source = VideoSource(shared_data / "videos" / "bgslibrary_video02_highway_cctv.avi", fps=5)
    space = ConfigSpace.default(source.height, analysis_fps=source.fps)
    return Detector(model), DetectionTask.for_model(model.class_names), source, space


def _run(setup, lam: float, seconds: int):
    detector, task, source, space = setup
    policy = GradientPolicy(PolicyContext(space, detector, task), lam=lam)
    df = run_policy(source, policy, detector, task, space, seconds=seconds, progress=False)
    return df, policy, space


def test_lambda_zero_stays_at_the_expensive_end(setup) -> None:
    df, policy, space = _run(setup, 0.0, 3)
    assert policy.current() == space.reference
    assert (df["qp"] == space.qp.values[0]).all()
    assert (df["height"] == space.height.values[0]).all()
    assert (df["fps"] == space.fps.values[0]).all()
    # Overheads the method promises: one backward pass, <= 1 encode per knob, tiny feedback.
    assert (df["backward_passes"] == 1).all()
    assert (df["camera_encodes"] <= len(space.knobs)).all()
    assert (df["feedback_bytes"].between(1, 2048)).all()


def test_huge_lambda_moves_every_knob_to_cheaper_values(setup) -> None:
    df, policy, space = _run(setup, 100.0, 4)
    last = policy.current()
    for knob in space.knobs:
        assert knob.index(getattr(last, knob.name)) >= 2, knob.name
    assert df["bytes"].iloc[-1] < df["bytes"].iloc[0] / 4
    assert all(g < 0 for g in policy.last_gradients.values())
