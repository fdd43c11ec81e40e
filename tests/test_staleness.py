"""The frame-rate knob's estimate: the server measures how fast its outputs go stale, the
camera turns the rate into the accuracy each frame rate loses, and the rate travels in the
DNNGrad message."""

from __future__ import annotations

import numpy as np
import pytest

from oneadapt.adapt.gradient_policy import floor_position, staleness_loss, start_value
from oneadapt.adapt.staleness import StalenessMeter
from oneadapt.errors import ProtocolError
from oneadapt.knobs import ConfigSpace
from oneadapt.protocol.feedback import FeedbackMap
from oneadapt.tasks.detection import Detections, DetectionTask

TASK = DetectionTask((0,))


def _car(x: float) -> Detections:
    return Detections.from_array(np.array([[x, 10, x + 20, 30, 0.9, 0]], np.float32))


def _segment(xs: list[float]) -> list[Detections]:
    return [_car(x) for x in xs]


def test_a_still_scene_loses_nothing_and_a_fast_one_everything_per_frame_apart() -> None:
    meter = StalenessMeter(TASK)
    sent = np.array([0, 2])
    meter.observe(0, sent, 4, _segment([0, 0, 0, 0]))
    meter.observe(1, sent, 4, _segment([0, 0, 0, 0]))
    assert meter.take() == 0.0
    # Each sent frame's box is 100 px from the last sent one: every pair scores F1 0, and
    # the pairs are 2 frames apart (also across the segment boundary).
    meter.observe(2, sent, 4, _segment([100, 100, 200, 200]))
    meter.observe(3, sent, 4, _segment([300, 300, 400, 400]))
    assert meter.take() == pytest.approx(1 / 2)
    assert meter.take() is None  # nothing seen since


def test_a_lost_second_makes_no_pair() -> None:
    meter = StalenessMeter(TASK)
    meter.observe(0, np.array([3]), 4, _segment([0, 0, 0, 0]))
    meter.observe(5, np.array([0]), 4, _segment([500, 0, 0, 0]))
    assert meter.take() is None


def test_staleness_loss_grows_with_the_frames_skipped_and_saturates() -> None:
    every = np.arange(10)
    assert staleness_loss(0.1, every, 10) == 0.0
    assert staleness_loss(0.1, np.array([0, 2, 4, 6, 8]), 10) == pytest.approx(0.05)
    assert staleness_loss(0.1, np.array([0, 5]), 10) == pytest.approx(0.2)
    assert staleness_loss(1.0, np.array([0, 5]), 10) == pytest.approx(0.8)  # min(1, age)


def test_the_rate_travels_in_the_feedback_message() -> None:
    values = np.ones((2, 3))
    sent = FeedbackMap.quantize(4, 16, (32, 48), values, staleness=0.123)
    back = FeedbackMap.from_bytes(sent.to_bytes())
    assert back.staleness == sent.staleness == pytest.approx(0.123, rel=1e-6)
    unknown = FeedbackMap.from_bytes(FeedbackMap.quantize(4, 16, (32, 48), values).to_bytes())
    assert unknown.staleness is None
    bad = FeedbackMap(4, 16, 32, 48, 1.0, np.zeros((2, 3), np.uint8), staleness=2.0)
    with pytest.raises(ProtocolError):
        FeedbackMap.from_bytes(bad.to_bytes())


def test_only_picture_knobs_keep_their_cheapest_value_as_a_probe() -> None:
    space = ConfigSpace.default(720, qps=(24, 32, 40, 48), fps=(10, 5, 2))
    assert floor_position(space.fps) == space.fps.position(2)
    assert floor_position(space.qp) == space.qp.position(40)
    assert floor_position(space.height) == space.height.position(space.height.values[-2])
    assert [start_value(k) for k in space.knobs] == [32, 360, 5]
