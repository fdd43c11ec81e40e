"""Draco compression level: encoder effort; the decoded points do not change, only the
bytes (not monotonically) and the sensor's CPU."""

from __future__ import annotations

from oneadapt.knobs.base import Stage
from oneadapt.knobs.lidar_knob import LidarKnob


class DracoLevel(LidarKnob):
    """Compression level 0-10, listed by effort (0 first: the reference)."""

    name = "draco_level"
    field = "level"
    stage = Stage.ENCODER
    title = "Draco level"
    example = "0,5,10"
    default_rank = 3
