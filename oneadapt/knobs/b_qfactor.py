"""P/B quantiser factor: how much coarser than P-frames the camera codes B-frames.

FFmpeg's ``b_qfactor`` is x264's P/B ratio: a B-frame's QP is the P-frames' QP plus
``6 * log2(b_qfactor)`` (FFmpeg's default is 1.25). B-frames are only predicted from, never
predicted by, so coarser B-frames save bytes without the error spreading to other frames.
"""

from __future__ import annotations

from oneadapt.knobs.base import StreamShape, Value, out_of_range
from oneadapt.knobs.encoder import B_FRAMES, EncoderKnob


class BQFactor(EncoderKnob):
    """``b_qfactor``; larger is coarser B-frames and cheaper."""

    name = "b_qfactor"
    title = "P/B quantiser factor"
    example = "1,1.25,1.5,2"
    option_name = "b_qfactor"
    requires = B_FRAMES
    convert = float

    @classmethod
    def defaults(cls, stream: StreamShape) -> tuple[Value, ...]:
        return (1.0, 1.25, 1.5, 2.0)

    @classmethod
    def problem(cls, value: Value, stream: StreamShape | None) -> str | None:
        # FFmpeg ignores a factor <= 0; 0.25..4 spans B-frame QP offsets of -12..+12.
        return out_of_range(value, 0.25, 4.0)
