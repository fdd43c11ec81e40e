"""LiDAR scans: KITTI velodyne files, 1-second segments, and the two geometric knobs.

A scan is float32 xyz [N, 3] in metres in the sensor frame (x forward, y left, z up).
Reflectance is dropped on reading: the BEV detector does not use it, so the sensor has
no reason to stream it. The knobs that act before compression live here because they
are plain geometry: a range cut (drop returns beyond a horizontal distance) and voxel
downsampling (one centroid per occupied cube).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from oneadapt.errors import MediaError
from oneadapt.tasks.lidar_detection import Boxes3D

SCAN_RATE = 10
"""Scans per second of a spinning LiDAR (KITTI's HDL-64E runs at 10 Hz)."""
KITTI_POINT_BYTES = 16
"""float32 x, y, z, reflectance."""
MAX_ABS_COORD_M = 1000.0
"""Coordinates beyond this are not LiDAR returns but a misread file."""


@dataclass
class LidarSegment:
    """One second of scans: ``scans`` float32 [N_i, 3] each, ``timestamps`` in seconds."""

    index: int
    scans: list[np.ndarray]
    timestamps: np.ndarray
    rate: int
    ground_truth: list[Boxes3D] | None = field(default=None, repr=False)
    """Exact boxes per scan where the source knows them (procedural scene), else None."""

    def __len__(self) -> int:
        return len(self.scans)


def read_kitti_bin(path: str | Path) -> np.ndarray:
    """xyz [N, 3] float32 of a KITTI velodyne ``.bin`` file (little-endian x, y, z, r)."""
    path = Path(path)
    fix = "Pass a KITTI velodyne .bin file (float32 x, y, z, reflectance per point)."
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise MediaError(
            f"LiDAR file {path} cannot be read ({exc.strerror or exc}).", fix
        ) from None
    if not data or len(data) % KITTI_POINT_BYTES:
        raise MediaError(
            f"{path} is not a KITTI scan: {len(data)} bytes is not a whole, non-zero number "
            f"of {KITTI_POINT_BYTES}-byte points.",
            fix,
        )
    xyz = np.frombuffer(data, "<f4").reshape(-1, 4)[:, :3].astype(np.float32)
    if not np.isfinite(xyz).all() or np.abs(xyz).max() > MAX_ABS_COORD_M:
        raise MediaError(
            f"{path} is not a KITTI scan: it holds non-finite coordinates or coordinates "
            f"beyond {MAX_ABS_COORD_M:.0f} m.",
            fix,
        )
    return xyz


class KittiSource:
    """KITTI scans as segments of one scan each: the object-benchmark files are unrelated
    snapshots, not a sequence, so no segment pretends they were taken a second apart."""

    rate = SCAN_RATE
    modality = "lidar"
    regimes: list[tuple[int, int, str]] = []
    """No known content regimes (real scans)."""

    def __init__(self, paths: Sequence[str | Path]) -> None:
        if not paths:
            raise MediaError("no KITTI .bin files were given.", "Pass at least one .bin file.")
        self.paths = [Path(p) for p in paths]
        for path in self.paths:
            if not path.is_file():
                raise MediaError(f"LiDAR file {path} does not exist.", "Check the path.")
        self.name = "kitti-" + "-".join(p.stem for p in self.paths)

    def segments(self, max_seconds: int | None = None) -> Iterator[LidarSegment]:
        paths = self.paths if max_seconds is None else self.paths[:max_seconds]
        for i, path in enumerate(paths):
            yield LidarSegment(i, [read_kitti_bin(path)], np.array([float(i)]), self.rate)


def range_cut(points: np.ndarray, max_range_m: float) -> np.ndarray:
    """Returns within ``max_range_m`` horizontally: far returns are sparse and costly."""
    keep = np.hypot(points[:, 0], points[:, 1]) <= max_range_m
    return points[keep]


def voxel_downsample(points: np.ndarray, voxel_m: float) -> np.ndarray:
    """One point (the centroid) per occupied ``voxel_m`` cube; 0 leaves the scan as it is.

    Near the sensor many returns fall in one cube, far away few do: downsampling thins
    the dense near field, where objects keep enough points, more than the sparse far one.
    """
    if voxel_m <= 0 or len(points) == 0:
        return points
    keys = np.floor(points / voxel_m).astype(np.int64)
    _, inverse, counts = np.unique(keys, axis=0, return_inverse=True, return_counts=True)
    sums = np.zeros((len(counts), 3), np.float64)
    np.add.at(sums, inverse.ravel(), points)
    return (sums / counts[:, None]).astype(np.float32)
