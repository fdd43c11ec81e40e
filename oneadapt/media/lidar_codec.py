"""What a LiDAR sensor sends for a segment under its knobs, and what the server decodes.

The pipeline per scan is range cut -> voxel downsampling -> Draco; bandwidth is the
Draco bytes. :class:`LidarSettings` holds the four knob values and validates them; the
ordered value lists (most expensive first, as the gradient policy walks them) are in
:data:`LIDAR_KNOB_VALUES` until the open-knob ``Configuration`` absorbs them.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, fields

import numpy as np

from oneadapt.errors import ConfigurationError
from oneadapt.media.draco import (
    MAX_BITS,
    MAX_LEVEL,
    MIN_BITS,
    MIN_LEVEL,
    draco_decode,
    draco_encode,
)
from oneadapt.media.lidar import LidarSegment, range_cut, voxel_downsample

MAX_RANGE_M = 80.0
"""The widest range cut: returns beyond it are too sparse to detect on, and what it
keeps lies inside Draco's fixed quantisation cube (+-CUBE_HALF_M)."""
MAX_VOXEL_M = 10.0
"""The coarsest voxel: a cube wider than a bus leaves one point per object or fewer."""
LIDAR_KNOB_VALUES: dict[str, tuple[float, ...]] = {
    "max_range_m": (80.0, 50.0, 40.0, 30.0, 20.0),
    "voxel_m": (0.0, 0.1, 0.2, 0.3, 0.5),
    "bits": (14, 12, 11, 10, 9, 8),
    "level": (0, 3, 5, 7, 10),
}
"""Per knob, its values from most to least expensive in bytes; the compression level
is listed by encoder effort instead: it leaves the decoded points unchanged, and its bytes
are not monotonic (on these scans level 0 beats 3 and 5, and 7 equals 10)."""


@dataclass(frozen=True)
class LidarSettings:
    """One value per LiDAR knob; the defaults are the most expensive listed values
    except the compression level, whose cost is encoder CPU rather than accuracy."""

    max_range_m: float = 80.0
    voxel_m: float = 0.0
    bits: int = 14
    level: int = 7

    def __post_init__(self) -> None:
        if not 0 < self.max_range_m <= MAX_RANGE_M:
            raise ConfigurationError(
                f"LiDAR range cut {self.max_range_m} m is invalid.",
                f"Use a distance above 0 and at most {MAX_RANGE_M} m.",
            )
        if not (0 <= self.voxel_m <= MAX_VOXEL_M):
            raise ConfigurationError(
                f"LiDAR voxel size {self.voxel_m} m is invalid.",
                f"Use 0 (off) or a positive size of at most {MAX_VOXEL_M:g} m.",
            )
        if not (MIN_BITS <= self.bits <= MAX_BITS and MIN_LEVEL <= self.level <= MAX_LEVEL):
            raise ConfigurationError(
                f"Draco quantisation {self.bits} bits, level {self.level} is invalid.",
                f"Use {MIN_BITS}-{MAX_BITS} bits and a level of {MIN_LEVEL}-{MAX_LEVEL}.",
            )

    def replace(self, **values: float) -> LidarSettings:
        """A copy with some knobs changed (names as in :data:`LIDAR_KNOB_VALUES`)."""
        known = {f.name for f in fields(self)}
        unknown = set(values) - known
        if unknown:
            raise ConfigurationError(
                f"unknown LiDAR knob(s) {sorted(unknown)}.", f"Use {sorted(known)}."
            )
        current = {f.name: getattr(self, f.name) for f in fields(self)}
        current.update(values)
        return LidarSettings(
            float(current["max_range_m"]),
            float(current["voxel_m"]),
            int(current["bits"]),
            int(current["level"]),
        )


@dataclass
class EncodedLidar:
    """The Draco payload of every scan of a segment and the clouds the server decodes."""

    settings: LidarSettings
    payloads: list[bytes]
    decoded: list[np.ndarray]
    encode_seconds: float

    @property
    def num_bytes(self) -> int:
        return sum(len(p) for p in self.payloads)


def prepare_scan(points: np.ndarray, settings: LidarSettings) -> np.ndarray:
    """The geometric knobs: range cut, then voxel downsampling (what Draco then encodes)."""
    return voxel_downsample(range_cut(points, settings.max_range_m), settings.voxel_m)


def encode_lidar(segment: LidarSegment, settings: LidarSettings) -> EncodedLidar:
    """Encode every scan of ``segment`` under ``settings`` and decode it back."""
    start = time.perf_counter()
    payloads = [
        draco_encode(prepare_scan(s, settings), settings.bits, settings.level)
        for s in segment.scans
    ]
    seconds = time.perf_counter() - start
    return EncodedLidar(settings, payloads, [draco_decode(p) for p in payloads], seconds)
