"""Real point-cloud compression with Google Draco (through the ``DracoPy`` package).

Draco quantises coordinates to ``bits`` per axis over the cloud's bounding cube (so a
range cut also makes the quantisation finer) and entropy-codes them; ``level`` (0-10)
trades encoder CPU for bytes and does not change the decoded geometry. Point order is
not preserved: the BEV detector does not depend on it.
"""

from __future__ import annotations

import DracoPy
import numpy as np

from oneadapt.errors import ConfigurationError, MediaError

MIN_BITS, MAX_BITS = 1, 30
MIN_LEVEL, MAX_LEVEL = 0, 10


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
    return bytes(DracoPy.encode(points, quantization_bits=bits, compression_level=level))


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
