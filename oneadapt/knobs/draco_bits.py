"""Draco position quantisation: bits per coordinate over a fixed cube around the sensor."""

from __future__ import annotations

from oneadapt.knobs.base import Stage
from oneadapt.knobs.lidar_knob import LidarKnob


class DracoBits(LidarKnob):
    """Quantisation bits per coordinate; fewer is cheaper."""

    name = "draco_bits"
    field = "bits"
    stage = Stage.ENCODER
    title = "Draco bits"
    example = "14,11,8"
    cheaper_upward = False
    default_rank = 2
