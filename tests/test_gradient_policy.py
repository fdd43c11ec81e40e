"""The gradient policy on a real clip, real encodes and a real detector: lambda = 0 keeps
the expensive end, a huge lambda walks every knob to cheaper values."""

from __future__ import annotations

from oneadapt.adapt.gradient_policy import GradientPolicy
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
    # Overheads the method promises: one backward pass, <= 1 encode per knob, tiny feedback.
    assert (df["backward_passes"] == 1).all()
    assert (df["camera_encodes"] <= len(space.knobs)).all()
    assert (df["feedback_bytes"].between(1, 2048)).all()


def test_huge_lambda_moves_every_knob_to_cheaper_values(yolox_highway) -> None:
    df, policy, space = _run(yolox_highway, 100.0, 4)
    last = policy.current()
    for knob in space.knobs:
        assert knob.index(getattr(last, knob.name)) >= 2, knob.name
    assert df["bytes"].iloc[-1] < df["bytes"].iloc[0] / 4
    assert all(g < 0 for g in policy.last_gradients.values())
