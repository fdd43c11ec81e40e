"""InputGrad's measure (method.md section 3): per block of the DNN input, how much one coding
of a segment changes that input against another, in input units squared (pixel levels for
video). Every knob's estimate weights it by the server's DNNGrad map
(:func:`oneadapt.protocol.feedback.accuracy_at_stake`): the gradient steps of
:mod:`oneadapt.adapt.gradient_policy` and the closed-form step of the region knob
(:mod:`oneadapt.adapt.roi_step`). The DNN input of a coding is the sensor's
:meth:`~oneadapt.media.modality.Modality.view` of it (decoded frames, the waveform, the BEV
grid), on the grid of ``b``, the coding the map was computed on."""

from __future__ import annotations

import numpy as np

from oneadapt.media.codec import EncodedSegment, frame_owner
from oneadapt.media.modality import Modality, modality


def salient_squared_error(
    a: EncodedSegment,
    b: EncodedSegment,
    weights: np.ndarray,
    block: int,
    sensor: Modality | None = None,
) -> np.ndarray:
    """Per-block mean (a - b)^2 over items and channels, computed only on the block rows
    where ``weights`` is non-zero (elsewhere 0: the estimate ignores them) and once per
    distinct pair of shown items; ``sensor`` (default video) gives the DNN input views."""
    sensor = sensor or modality("video")
    view_a, view_b = sensor.view(a, b), sensor.view(b, b)
    frames, height, width, channels = view_a.shape
    hb, wb = weights.shape
    error = np.zeros((hb, wb))
    rows = np.flatnonzero((weights > 0).any(axis=1))
    if len(rows) == 0:
        return error
    pairs = np.stack([frame_owner(a.sent, frames), frame_owner(b.sent, frames)], axis=1)
    _, first, count = np.unique(pairs, axis=0, return_index=True, return_counts=True)
    pad = hb * block - height, wb * block - width
    cols = np.minimum(block, width - np.arange(wb) * block)
    share = count.astype(np.float32) / (channels * frames)
    exact = np.int16 if view_a.dtype == np.uint8 else np.float32  # uint8 differences
    for r in rows:
        y0, y1 = r * block, min((r + 1) * block, height)
        diff = np.subtract(view_a[first, y0:y1], view_b[first, y0:y1], dtype=exact)
        squared = np.square(diff, dtype=np.float32).sum(axis=3)  # [pairs, rows, W]
        per_pixel = np.pad(np.tensordot(share, squared, axes=1), ((0, 0), (0, pad[1])))
        sums = per_pixel.reshape(y1 - y0, wb, block).sum(axis=(0, 2))
        error[r] = sums / ((y1 - y0) * cols)
    return error
