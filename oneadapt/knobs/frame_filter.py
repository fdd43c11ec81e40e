"""Frame-filtering thresholds (Reducto-style, method.md section 4): one knob per feature.

A frame is sent iff every enabled feature's difference to the last sent frame reaches its
threshold (:mod:`oneadapt.media.frame_filter`), so the features decide jointly: each knob
only records its threshold in the plan (:attr:`EncodePlan.filters`) and the codec selects
the frames once, from all of them, among those the frame rate keeps. Threshold 0 sends
every frame; a larger one sends fewer, and the server reuses the last sent frame's output.
"""

from __future__ import annotations

import dataclasses
from typing import ClassVar

from oneadapt.knobs.base import EncodePlan, Knob, Stage, StreamShape, Value, out_of_range

DEFAULT_THRESHOLDS: tuple[float, ...] = (0.0, 0.02, 0.04, 0.06, 0.1)
"""Fractions of the frame. On the motorway clip consecutive frames at 10 fps differ by 0.03
to 0.09 (pixel, 10th to 90th percentile), on the Intel car and person clips by 0 (repeated
frames) to 0.08; a difference to the last sent frame saturates near twice the moving
objects' share of the frame (the motorway's first second sends 10, 9, 6, 3, 1 frames at
these pixel thresholds), so the list runs from every frame to about one a second."""


class FrameFilterKnob(Knob):
    """The threshold of one frame-difference feature (``feature``); larger is cheaper."""

    stage = Stage.FRAME_FILTER
    convert = float
    example = "0,0.02,0.04,0.1"
    feature: ClassVar[str]
    """The feature of :mod:`oneadapt.media.frame_filter` it thresholds."""

    @classmethod
    def defaults(cls, stream: StreamShape) -> tuple[Value, ...]:
        return DEFAULT_THRESHOLDS

    @classmethod
    def problem(cls, value: Value, stream: StreamShape | None) -> str | None:
        return out_of_range(value, 0, 1, " (a fraction of the frame)")

    @classmethod
    def apply(cls, value: Value, plan: EncodePlan) -> EncodePlan:
        return dataclasses.replace(plan, filters={**plan.filters, cls.feature: float(value)})
