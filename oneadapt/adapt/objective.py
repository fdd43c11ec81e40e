"""The one objective every policy maximises: ``accuracy - lambda * resource``.

``resource`` is the cost as a fraction of the reference configuration's (bandwidth plus
weighted GPU frames), so a given lambda means the same trade-off for every policy and clip.
"""

from __future__ import annotations

import numpy as np

DEFAULT_GPU_WEIGHT = 1.0
"""Weight of the GPU term in :func:`resource`."""


def resource(
    num_bytes: float,
    frames: float,
    reference_bytes: float,
    reference_frames: float,
    gpu_weight: float = DEFAULT_GPU_WEIGHT,
) -> float:
    """Cost as a fraction of the reference configuration's: bandwidth plus weighted GPU frames
    (scalars or arrays)."""
    return num_bytes / np.maximum(reference_bytes, 1) + gpu_weight * frames / np.maximum(
        reference_frames, 1
    )


def objective(
    accuracy: float,
    num_bytes: float,
    frames: float,
    reference_bytes: float,
    reference_frames: float,
    lam: float,
    gpu_weight: float = DEFAULT_GPU_WEIGHT,
) -> float:
    """What every policy maximises: ``accuracy - lam * resource``."""
    return accuracy - lam * resource(
        num_bytes, frames, reference_bytes, reference_frames, gpu_weight
    )
