"""LiDAR range cut: far returns are sparse, costly and rarely detectable."""

from __future__ import annotations

from oneadapt.knobs.base import Stage
from oneadapt.knobs.lidar_knob import LidarKnob


class RangeCut(LidarKnob):
    """Horizontal distance in metres beyond which returns are dropped; shorter is cheaper."""

    name = "max_range_m"
    field = "max_range_m"
    stage = Stage.CROP
    title = "range cut"
    example = "80,50,30"
    convert = float
    cheaper_upward = False
    default_rank = 1
