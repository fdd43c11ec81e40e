"""I/P quantiser factor: how much finer than P-frames the camera codes each segment's I-frame.

FFmpeg's ``i_qfactor`` sets x264's I/P ratio to ``1 / i_qfactor``, so an I-frame's QP is the
P-frames' QP plus ``6 * log2(i_qfactor)`` (x264's default ratio 1.4 is ``i_qfactor`` 0.71).
Every 1-second segment starts with an I-frame, which is most of a short segment's bytes, and
later frames predict from it.
"""

from __future__ import annotations

from oneadapt.knobs.base import StreamShape, Value, out_of_range
from oneadapt.knobs.encoder import EncoderKnob


class IQFactor(EncoderKnob):
    """``i_qfactor``; larger is a coarser I-frame and cheaper."""

    name = "i_qfactor"
    title = "I/P quantiser factor"
    example = "0.5,0.71,1,1.4"
    option_name = "i_qfactor"
    convert = float

    @classmethod
    def defaults(cls, stream: StreamShape) -> tuple[Value, ...]:
        return (0.5, 0.71, 1.0, 1.4)

    @classmethod
    def problem(cls, value: Value, stream: StreamShape | None) -> str | None:
        # FFmpeg ignores a factor <= 0; 0.25..4 spans I-frame QP offsets of -12..+12.
        return out_of_range(value, 0.25, 4.0)
