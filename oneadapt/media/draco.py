"""Real point-cloud compression with Google Draco (through the ``DracoPy`` package).

Draco quantises coordinates to ``bits`` per axis and entropy-codes them; ``level``
(0-10) trades encoder CPU for bytes and does not change the decoded geometry. The
quantisation cube is fixed (+-102.4 m around the sensor) rather than the cloud's own
bounding cube, so ``bits`` means one absolute precision (11 bits: 0.1 m) whatever the
range cut: with a per-cloud cube, cutting the range made the steps finer and the
payload larger. Point order is not preserved: the BEV detector does not depend on it.
"""

from __future__ import annotations

import DracoPy
import numpy as np

from oneadapt.errors import ConfigurationError, MediaError

MIN_BITS, MAX_BITS = 1, 30
MIN_LEVEL, MAX_LEVEL = 0, 10
CUBE_HALF_M = 102.4
"""Points must lie within this distance of the sensor along every axis."""


def draco_encode(points: np.ndarray, bits: int, level: int) -> bytes:
    """Draco bytes of xyz ``points`` [N, 3]; an empty cloud is sent as zero bytes."""
    if not MIN_BITS <= bits <= MAX_BITS or not MIN_LEVEL <= level <= MAX_LEVEL:
        raise ConfigurationError(
            f"Draco quantisation {bits} bits, compression level {level} is invalid.",
            f"Use {MIN_BITS}-{MAX_BITS} bits and a level of {MIN_LEVEL}-{MAX_LEVEL}.",
        )
    if len(points) == 0:
        return b""
    points = np.ascontiguousarray(points, np.float32)
    if np.abs(points).max() >= CUBE_HALF_M:
        raise MediaError(
            f"points up to {np.abs(points).max():.1f} m from the sensor do not fit Draco's "
            f"+-{CUBE_HALF_M} m quantisation cube.",
            "Apply a range cut first (oneadapt.media.lidar.range_cut).",
        )
    return bytes(
        DracoPy.encode(
            points,
            quantization_bits=bits,
            compression_level=level,
            quantization_range=2 * CUBE_HALF_M,
            quantization_origin=np.full(3, -CUBE_HALF_M, np.float32),
        )
    )


def draco_decode(data: bytes) -> np.ndarray:
    """xyz float32 [N, 3] from :func:`draco_encode`'s bytes."""
    if not data:
        return np.zeros((0, 3), np.float32)
    try:
        cloud = DracoPy.decode(data)
    except Exception as exc:  # DracoPy raises several types for damaged input
        raise MediaError(
            f"{len(data)} bytes do not decode as a Draco point cloud ({exc}).",
            "Check that the sender encodes with oneadapt.media.draco.draco_encode.",
        ) from None
    return np.asarray(cloud.points, np.float32).reshape(-1, 3)
