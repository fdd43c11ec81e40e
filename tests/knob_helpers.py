"""What the knob tests share: a knob's bytes at each of its default values on a segment."""

from __future__ import annotations

from oneadapt.knobs import ConfigSpace
from oneadapt.media.codec import encode
from oneadapt.media.sources import Segment

QP = 30
"""The QP the other knobs are measured at (a mid-list operating point)."""


def bytes_at_each_value(segment: Segment, name: str) -> list[int]:
    """Encoded (and decodable) bytes of ``segment`` at each default value of knob ``name``,
    expensive first, the other knobs at QP 30, full size and every frame."""
    space = ConfigSpace.default(segment.height, segment.fps, **{"qp": (QP,), name: None})
    base = space.reference
    sizes = []
    for value in space.knob(name).values:
        encoded = encode(segment, base.with_knob(name, value))
        assert len(encoded.decoded) == len(segment)
        sizes.append(encoded.num_bytes)
    return sizes
