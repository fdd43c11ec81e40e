"""The gradient policy on a real clip, real encodes and a real detector: lambda = 0 keeps
the expensive end, a huge lambda walks every knob to cheaper values."""

from __future__ import annotations

import numpy as np
import pytest

from oneadapt.adapt import gradient_policy
from oneadapt.adapt.gradient_policy import (
    GradientPolicy,
    InputGrad,
    StepEstimates,
    floor_position,
    settle,
)
from oneadapt.adapt.inputgrad import salient_squared_error
from oneadapt.adapt.policy import Feedback, Overhead, PolicyContext
from oneadapt.adapt.rate_cap import WINDOW
from oneadapt.evaluate.run import run_policy
from oneadapt.knobs import ConfigSpace, Configuration
from oneadapt.knobs.qp import QP
from oneadapt.knobs.sample_rate import SampleRate
from oneadapt.media.codec import EncodedSegment, encode, frame_owner
from oneadapt.protocol.feedback import FeedbackMap, accuracy_at_stake


def _run(yolox_highway, lam: float, seconds: int, max_kbps: float | None = None):
    detector, task, source, space = yolox_highway
    policy = GradientPolicy(PolicyContext(space, detector, task), lam=lam, max_kbps=max_kbps)
    df = run_policy(source, policy, detector, task, space, seconds=seconds, progress=False)
    return df, policy, space


def _indices(df, space) -> dict[str, list[int]]:
    return {k.name: [k.index(v) for v in df[k.name]] for k in space.knobs}


def test_lambda_zero_only_climbs_toward_the_expensive_end(yolox_highway) -> None:
    df, policy, space = _run(yolox_highway, 0.0, 4)
    for name, path in _indices(df, space).items():
        assert path == sorted(path, reverse=True), name  # never a cheaper value
        assert path[-1] < path[0], name  # every knob climbed from the middle of its list
    # Overheads the method promises: one backward pass a second (the default DNNGrad
    # interval) and a tiny feedback message; one encode per neighbour of each picture knob
    # and one per neighbouring frame rate (bytes only) once the server measured staleness
    # (from the first second's reply on), plus the reference's one encode on the first second.
    assert df["backward_passes"].tolist() == [1, 1, 1, 1]
    assert df["camera_encodes"].iloc[0] == 2 * len(space.knobs) + 1
    assert (df["camera_encodes"].iloc[1:] <= 2 * len(space.knobs)).all()
    assert df["feedback_bytes"].between(1, 2048).all()


def test_huge_lambda_moves_every_knob_to_cheaper_values(yolox_highway, shared_data) -> None:
    """The threefold byte drop is the motorway clip's figure: shared data only."""
    df, policy, space = _run(yolox_highway, 100.0, 4)
    last = policy.current()
    for knob in space.knobs:
        assert knob.index(last[knob.name]) >= 2, knob.name
    assert df["bytes"].iloc[-1] < df["bytes"].iloc[0] / 3
    assert all(g < 0 for g in policy.last_gradients.values())


def test_a_bandwidth_budget_caps_every_second_at_what_its_windows_have_left(
    yolox_highway,
) -> None:
    free, _, _ = _run(yolox_highway, 0.03, 6)
    assert free["kbps"].max() > 40  # climbing from the middle of the lists at a low lambda
    df, policy, space = _run(yolox_highway, 0.03, 6, max_kbps=30.0)
    spent = df["kbps"].tolist()
    for t in range(len(spent)):  # every window so far within the budget
        assert sum(spent[max(t - WINDOW + 1, 0) : t + 1]) <= WINDOW * 30.0 + 1e-9, t
    assert max(spent) < free["kbps"].max()  # the camera stepped knobs down
    assert (df["qp"] > free["qp"]).any()  # QP first
    assert df["camera_encodes"].sum() > free["camera_encodes"].sum()  # its compresses charged
    df, policy, space = _run(yolox_highway, 0.01, 3, max_kbps=1e6)
    assert policy.lam < 0.01 * 0.25  # lowered by e^-1 for every second far under it
    for name, path in _indices(df, space).items():
        assert path == [0, 0, 0], name  # a budget it fits keeps the reference


@pytest.mark.parametrize(("lam", "shares"), [(0.0, [0.25, 0.5, 1.0]), (100.0, [0.25, 0.1, 0.1])])
def test_the_region_knob_takes_its_closed_form_step(yolox_highway, lam, shares) -> None:
    detector, task, source, space = yolox_highway
    space = ConfigSpace.default(source.height, source.fps, roi=None)
    policy = GradientPolicy(PolicyContext(space, detector, task), lam=lam)
    df = run_policy(source, policy, detector, task, space, seconds=3, progress=False)
    assert df["roi"].tolist() == shares  # one list value a second, never below the floor
    assert policy.saliency() is not None and policy.saliency().shape == (15, 20)


def _encoded(frames: np.ndarray, sent: list[int]) -> EncodedSegment:
    shown = frames[sent][frame_owner(np.array(sent), len(frames))]
    return EncodedSegment(Configuration(qp=20, height=32, fps=10), b"", np.array(sent), 0.0, shown)


def test_squared_error_is_exact_on_salient_rows_and_counts_repeated_frames() -> None:
    a = np.zeros((4, 32, 32, 3), np.uint8)
    b = np.full_like(a, 255)
    a[1] = 255  # frame 1 agrees, the other three differ by 255
    weights = np.array([[1.0, 0.0], [0.0, 0.0]])
    error = salient_squared_error(_encoded(a, [0, 1, 2, 3]), _encoded(b, [0, 1, 2, 3]), weights, 16)
    assert error.shape == (2, 2)
    assert np.allclose(error[0], 0.75 * 255.0**2)  # the salient row, every block in it
    assert np.allclose(error[1], 0.0)  # no weight there: not computed
    # A 1-in-2 stream of b shows b's frames 0, 0, 2, 2: still three frames differ; and a
    # 1-in-2 stream of a repeats its frame 0 over frame 1, so all four differ.
    error = salient_squared_error(_encoded(a, [0, 1, 2, 3]), _encoded(b, [0, 2]), weights, 16)
    assert np.allclose(error[0], 0.75 * 255.0**2)
    error = salient_squared_error(_encoded(a, [0, 2]), _encoded(b, [0, 1, 2, 3]), weights, 16)
    assert np.allclose(error[0], 255.0**2)


def test_accuracy_at_stake_is_zero_without_gradient_and_scales_with_it() -> None:
    error = np.full((2, 2), 100.0)
    assert accuracy_at_stake(error, np.zeros((2, 2)), 16) == 0.0
    weights = np.array([[0.001, 0.0], [0.0, 0.0]])
    assert accuracy_at_stake(error, weights, 16) == pytest.approx(16 * 0.001 * 10.0)
    assert accuracy_at_stake(error, 3 * weights, 16) == pytest.approx(3 * 16 * 0.001 * 10.0)
    # A frame loses at most all its accuracy: a count in units of one pixel (a segmentation
    # output with nothing of interest) that moves by 30 reads as 1, not 30.
    assert accuracy_at_stake(error, 1000 * weights, 16) == 1.0


def test_accuracy_change_is_negative_towards_the_cheaper_value() -> None:
    cheaper = InputGrad("qp", 20, 25, True, 0.04, 100, 80, 10, 10)
    dearer = InputGrad("qp", 50, 45, False, 0.04, 100, 120, 10, 10)
    assert cheaper.accuracy_change == pytest.approx(-0.04)
    assert dearer.accuracy_change == pytest.approx(0.04)


def test_a_value_changes_only_when_the_position_moves_clearly_away() -> None:
    knob = QP((24, 32, 40, 48))  # positions 1, 0.75, 0.5, 0.25
    assert settle(knob, 32, 0.75 + 0.18) == 32  # less than 0.75 values above: stays
    assert settle(knob, 32, 0.75 - 0.18) == 32
    assert settle(knob, 32, 0.95) == 24  # 0.8 values up: the nearest value
    assert settle(knob, 32, 0.25) == 48  # a multi-value jump


def test_the_policy_only_probes_the_cheapest_value_of_a_knob_that_may_blind() -> None:
    qp, rate = QP((20, 30, 40)), SampleRate((16000, 8000))
    assert floor_position(qp) == qp.position(30)  # QP 40 is only ever a probe
    assert floor_position(rate) == rate.position(8000)  # narrowband speech is still speech


def test_one_sample_row_blocks_count_their_samples_not_a_square() -> None:
    """An audio map's blocks span one row: 16 samples, not 16 x 16 pixels."""
    error, weights = np.full((1, 4), 0.01), np.full((1, 4), 0.1)
    square = accuracy_at_stake(error, weights, 16)
    assert accuracy_at_stake(error, weights, 16, rows=1) == pytest.approx(square / 4)


def test_a_step_s_estimate_is_a_running_average_fed_from_both_of_its_ends() -> None:
    estimates = StepEstimates(weight=0.3)
    down = InputGrad("qp", 32, 40, True, 0.1, 100, 60, 10, 10)  # at 32: what 40 would lose
    assert estimates.update(down).accuracy_loss == pytest.approx(0.1)
    up = InputGrad("qp", 40, 32, False, 0.5, 60, 100, 10, 10)  # at 40: what 32 would buy
    blended = estimates.update(up)
    assert blended.accuracy_loss == pytest.approx(0.3 * 0.5 + 0.7 * 0.1)
    assert blended.accuracy_change == pytest.approx(0.22)  # still the dearer side's gain
    assert (blended.value, blended.neighbour, blended.bytes) == (40, 32, 60)
    other = InputGrad("qp", 40, 48, True, 0.9, 60, 40, 10, 10)  # another step: its own
    assert estimates.update(other).accuracy_loss == pytest.approx(0.9)
    height = InputGrad("height", 32, 40, True, 0.0, 100, 60, 10, 10)  # another knob
    assert estimates.update(height).accuracy_loss == 0.0


def test_every_picture_knob_estimated_better_dearer_moves_up_at_once(
    video_segment, monkeypatch
) -> None:
    space = ConfigSpace.default(video_segment.height, 10, fps=(10,))
    policy = GradientPolicy(PolicyContext(space), lam=0.1)
    config = policy.current()
    encoded = encode(video_segment, config)
    policy.reference_bytes = encode(video_segment, space.reference).num_bytes

    def probes(segment, current, knobs, *args, **kwargs):  # each dearer value buys 0.5
        found = []
        for knob in knobs:
            value = current.config[knob.name]
            i = knob.index(value)
            found.append(
                InputGrad(knob.name, value, knob.values[i + 1], True, 0.5, 100, 90, 10, 10)
            )
            found.append(
                InputGrad(knob.name, value, knob.values[i - 1], False, 0.5, 100, 110, 10, 10)
            )
        return found, Overhead()

    monkeypatch.setattr(gradient_policy, "probe_knobs", probes)
    size = video_segment.frames.shape[1:3]
    grad = FeedbackMap.quantize(0, 16, size, np.ones((size[0] // 16, size[1] // 16)))
    policy.observe(Feedback(0, config, video_segment, encoded, grad))
    picture = [k for k in space.knobs if not k.stage.selects_frames]
    assert len(picture) == 2
    for knob in picture:  # both, not only the one whose step buys accuracy cheapest
        assert knob.index(policy.current()[knob.name]) == knob.index(config[knob.name]) - 1
