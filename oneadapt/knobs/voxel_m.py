"""LiDAR voxel size: one centroid per occupied cube; thins the dense near field first."""

from __future__ import annotations

from oneadapt.knobs.base import Stage
from oneadapt.knobs.lidar_knob import LidarKnob


class VoxelSize(LidarKnob):
    """Voxel edge in metres (0: off); larger is cheaper."""

    name = "voxel_m"
    field = "voxel_m"
    stage = Stage.SCALING
    title = "voxel size"
    example = "0,0.1,0.2,0.5"
    convert = float
    default_rank = 0
