"""B-frame bias: how readily x264 makes a frame a B-frame (x264 ``--b-bias``).

B-frames are the cheapest frames, so a higher bias trades quality for bytes. Measured on
two clips at QP 30: the bias acts between about -20 (no B-frames) and +20, hardly beyond (a
1-second segment of 10 frames leaves few frames to decide on), by a few percent of the bytes,
and not strictly monotonically within one second (a first B-frame can cost a few bytes).
"""

from __future__ import annotations

from oneadapt.knobs.base import StreamShape, Value, out_of_range
from oneadapt.knobs.encoder import B_FRAMES, EncoderKnob


class BBias(EncoderKnob):
    """libx264 ``b-bias``; larger is more B-frames and cheaper."""

    name = "b_bias"
    title = "B-frame bias"
    example = "-20,-10,0,10,20"
    option_name = "b-bias"
    requires = B_FRAMES

    @classmethod
    def defaults(cls, stream: StreamShape) -> tuple[Value, ...]:
        return (-20, -10, 0, 10, 20)

    @classmethod
    def problem(cls, value: Value, stream: StreamShape | None) -> str | None:
        return out_of_range(value, -100, 100, " (x264's range)")
