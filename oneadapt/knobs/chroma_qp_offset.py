"""Chroma QP offset: how much coarser than luma the camera codes colour (x264
``--chroma-qp-offset``). Detectors lean on luma edges more than on colour, so colour is a
place to save bytes.
"""

from __future__ import annotations

from oneadapt.knobs.base import StreamShape, Value, out_of_range
from oneadapt.knobs.encoder import EncoderKnob


class ChromaQPOffset(EncoderKnob):
    """libx264 ``chromaoffset``; larger is coarser colour and cheaper."""

    name = "chroma_qp_offset"
    title = "chroma QP offset"
    example = "0,4,8,12"
    option_name = "chromaoffset"

    @classmethod
    def defaults(cls, stream: StreamShape) -> tuple[Value, ...]:
        return (0, 4, 8, 12)

    @classmethod
    def problem(cls, value: Value, stream: StreamShape | None) -> str | None:
        return out_of_range(value, -12, 12, " (x264's range)")
