"""What the knob tests share: a knob's bytes at each of its default values on a segment."""

from __future__ import annotations

import numpy as np

from oneadapt.knobs import ConfigSpace
from oneadapt.media.codec import encode
from oneadapt.media.sources import Segment
from oneadapt.protocol.feedback import block_mean

QP = 30
"""The QP the other knobs are measured at (a mid-list operating point)."""


def bytes_at_each_value(segment: Segment, name: str) -> list[int]:
    """Encoded (and decodable) bytes of ``segment`` at each default value of knob ``name``,
    expensive first, the other knobs at QP 30, full size and every frame, with
    :func:`edge_saliency` for a knob that spends quality by region."""
    space = ConfigSpace.default(segment.height, segment.fps, **{"qp": (QP,), name: None})
    base = space.reference
    saliency = edge_saliency(segment)
    sizes = []
    for value in space.knob(name).values:
        encoded = encode(segment, base.with_knob(name, value), saliency=saliency)
        assert len(encoded.decoded) == len(segment)
        sizes.append(encoded.num_bytes)
    return sizes


def edge_saliency(segment: Segment) -> np.ndarray:
    """A stand-in for a DNNGrad map, for the knobs that spend quality by region: each 16x16
    block's mean luma-gradient magnitude in the segment's first frame."""
    luma = segment.frames[0].astype(np.float32).mean(axis=2)
    edges = np.abs(np.diff(luma, axis=0, append=luma[-1:])) + np.abs(
        np.diff(luma, axis=1, append=luma[:, -1:])
    )
    return block_mean(edges, 16)
