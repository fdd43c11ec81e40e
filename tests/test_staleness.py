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


def test_the_loss_is_measured_per_age_and_spans_segments() -> None:
    meter = StalenessMeter(TASK, max_age=2)
    sent = np.array([0, 2])
    meter.observe(0, sent, 4, _segment([0, 0, 0, 0]))
    meter.observe(1, sent, 4, _segment([0, 0, 0, 0]))
    assert meter.take() == (pytest.approx(np.nan, nan_ok=True), 0.0)  # no pair 1 frame apart
    # Every sent frame's box is 100 px from the last one: pairs 2 frames apart (also across
    # the segment boundary) score F1 0.
    meter.observe(2, sent, 4, _segment([100, 100, 200, 200]))
    meter.observe(3, sent, 4, _segment([300, 300, 400, 400]))
    assert meter.take()[1] == 1.0
    assert meter.take() is None  # nothing seen since


def test_a_box_that_moves_a_little_counts_until_its_overlap_is_lost() -> None:
    meter = StalenessMeter(TASK, max_age=4)
    meter.observe(0, np.arange(8), 8, _segment([2.0 * i for i in range(8)]))  # 2 px a frame
    # A 20-px box 2, 4, 6 px away still overlaps by IoU >= 0.5; 8 px away (IoU 0.43) it is
    # lost: F1 is a step in the displacement, which one age could not tell.
    assert meter.take() == (0.0, 0.0, 0.0, 1.0)


def test_a_lost_second_makes_no_pair() -> None:
    meter = StalenessMeter(TASK, max_age=4)
    meter.observe(0, np.array([3]), 4, _segment([0, 0, 0, 0]))
    meter.observe(5, np.array([0]), 4, _segment([500, 0, 0, 0]))
    assert meter.take() is None


def test_a_stream_that_restarts_pairs_only_its_new_frames() -> None:
    """A camera restarted under the same stream id sends second 0 again: its frames continue
    nothing the meter holds (before, a negative age indexed the curve and the server
    answered INTERNAL until the new seconds passed the old ones)."""
    meter = StalenessMeter(TASK, max_age=4)
    for second in range(3):
        meter.observe(second, np.array([0, 2]), 4, _segment([0, 0, 0, 0]))
    assert meter.take() is not None
    meter.observe(0, np.array([0, 2]), 4, _segment([0, 0, 100, 100]))
    np.testing.assert_array_equal(meter.take(), [np.nan, 1.0, np.nan, np.nan])  # its one pair


def test_staleness_loss_reads_the_curve_at_each_frames_age() -> None:
    curve = (0.0, 0.2, np.nan, 0.6)
    assert staleness_loss(curve, np.arange(10), 10) == 0.0
    assert staleness_loss(curve, np.array([0, 2, 4, 6, 8]), 10) == pytest.approx(0.0)
    # ages 0..4 twice: 0, 0, 0.2, 0.4 (between 0.2 and 0.6), 0.6
    assert staleness_loss(curve, np.array([0, 5]), 10) == pytest.approx(1.2 / 5)
    # beyond the last measured age: proportional (0.15 a frame), at most 1
    assert staleness_loss(curve, np.array([0]), 10) == pytest.approx(
        (0 + 0 + 0.2 + 0.4 + 0.6 + 0.75 + 0.9 + 1 + 1 + 1) / 10
    )


def test_the_curve_travels_in_the_feedback_message() -> None:
    values = np.ones((2, 3))
    sent = FeedbackMap.quantize(4, 16, (32, 48), values, staleness=(np.nan, 0.123))
    back = FeedbackMap.from_bytes(sent.to_bytes())
    assert np.isnan(back.staleness[0]) and back.staleness[1] == pytest.approx(0.123, rel=1e-6)
    assert back.staleness[1] == sent.staleness[1]  # float32 on both sides
    unknown = FeedbackMap.from_bytes(FeedbackMap.quantize(4, 16, (32, 48), values).to_bytes())
    assert unknown.staleness is None
    bad = FeedbackMap(4, 16, 32, 48, 1.0, np.zeros((2, 3), np.uint8), staleness=(2.0,))
    with pytest.raises(ProtocolError):
        FeedbackMap.from_bytes(bad.to_bytes())
    with pytest.raises(ProtocolError):  # truncated inside the curve
        FeedbackMap.from_bytes(sent.to_bytes()[:31])


def test_only_picture_knobs_keep_their_cheapest_value_as_a_probe() -> None:
    space = ConfigSpace.default(720, qp=(24, 32, 40, 48), fps=(10, 5, 2))
    assert floor_position(space.knob("fps")) == space.knob("fps").position(2)
    assert floor_position(space.knob("qp")) == space.knob("qp").position(40)
    height = space.knob("height")
    assert floor_position(height) == height.position(height.values[-2])
    assert [start_value(k) for k in space.knobs] == [32, 360, 5]


def test_the_server_measures_staleness_even_at_one_frame_a_segment() -> None:
    """At the cheapest frame rate sent frames are a whole segment apart: the server must
    still pair them, or the frame rate could never climb back."""
    from oneadapt.adapt.gradients import DNNGradServer
    from oneadapt.knobs import Configuration
    from oneadapt.media.codec import EncodedSegment

    server = DNNGradServer(model=None, task=TASK)  # record() needs no model
    frames = np.zeros((10, 16, 16, 3), np.uint8)
    for second in range(3):
        encoded = EncodedSegment(
            Configuration(qp=30, height=16, fps=1), b"", np.array([0]), 0.0, frames
        )
        server.record(second, encoded, _segment([100.0 * second] * 10))
    assert server._staleness.take()[9] == 1.0  # pairs 10 frames apart, both lost
