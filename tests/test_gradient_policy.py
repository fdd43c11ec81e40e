"""The gradient policy on a real clip, real encodes and a real detector: lambda = 0 keeps
the expensive end, a huge lambda walks every knob to cheaper values."""

from __future__ import annotations

import numpy as np
import pytest

from oneadapt.adapt.gradient_policy import (
    GradientPolicy,
    InputGrad,
    block_squared_error,
    weighted_rms,
)
from oneadapt.adapt.policy import PolicyContext
from oneadapt.evaluate.run import run_policy


def _run(yolox_highway, lam: float, seconds: int):
    detector, task, source, space = yolox_highway
    policy = GradientPolicy(PolicyContext(space, detector, task), lam=lam)
    df = run_policy(source, policy, detector, task, space, seconds=seconds, progress=False)
    return df, policy, space


def test_lambda_zero_stays_at_the_expensive_end(yolox_highway) -> None:
    df, policy, space = _run(yolox_highway, 0.0, 3)
    assert policy.current() == space.reference
    assert (df["qp"] == space.qp.values[0]).all()
    assert (df["height"] == space.height.values[0]).all()
    assert (df["fps"] == space.fps.values[0]).all()
    # Overheads the method promises: one backward pass every other second (the default
    # DNNGrad interval) and a tiny feedback message only then, <= 1 encode per knob.
    assert df["backward_passes"].tolist() == [1, 0, 1]
    assert (df["camera_encodes"] <= len(space.knobs)).all()
    assert df["feedback_bytes"].iloc[[0, 2]].between(1, 2048).all()
    assert df["feedback_bytes"].iloc[1] == 0


def test_huge_lambda_moves_every_knob_to_cheaper_values(yolox_highway) -> None:
    df, policy, space = _run(yolox_highway, 100.0, 4)
    last = policy.current()
    for knob in space.knobs:
        assert knob.index(getattr(last, knob.name)) >= 2, knob.name
    assert df["bytes"].iloc[-1] < df["bytes"].iloc[0] / 4
    assert all(g < 0 for g in policy.last_gradients.values())


def test_squared_error_does_not_overflow_and_weights_normalise() -> None:
    a = np.zeros((2, 32, 32, 3), np.uint8)
    b = np.full_like(a, 255)
    error = block_squared_error(a, b, 16)
    assert error.shape == (2, 2)
    assert np.allclose(error, 255.0**2)
    weights = np.array([[1.0, 0.0], [0.0, 0.0]])
    assert weighted_rms(error, weights) == pytest.approx(255.0)
    assert weighted_rms(error, 7 * weights) == pytest.approx(255.0)
    assert weighted_rms(error, np.zeros((2, 2))) == pytest.approx(255.0)


def test_accuracy_change_is_negative_towards_the_cheaper_value() -> None:
    cheaper = InputGrad("qp", 20, 25, True, 4.0, 100, 80, 10, 10)
    dearer = InputGrad("qp", 50, 45, False, 4.0, 100, 120, 10, 10)
    assert cheaper.accuracy_change(0.01) == pytest.approx(-0.04)
    assert dearer.accuracy_change(0.01) == pytest.approx(0.04)
