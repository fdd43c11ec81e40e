"""H.264's quantisation parameter: the encoder's main bandwidth/quality trade-off."""

from __future__ import annotations

from oneadapt.knobs.base import StreamShape, Value, out_of_range
from oneadapt.knobs.encoder import EncoderKnob

DEFAULT_QPS: tuple[int, ...] = (20, 25, 30, 35, 40, 45, 50)


class QP(EncoderKnob):
    """Constant QP for every frame (libx264 ``qp``); larger is coarser and cheaper."""

    name = "qp"
    title = "QP"
    flag = "--qp"
    example = "20,30,40,50"
    option_name = "qp"
    default_rank = 0

    @classmethod
    def defaults(cls, stream: StreamShape) -> tuple[Value, ...]:
        return DEFAULT_QPS

    @classmethod
    def problem(cls, value: Value, stream: StreamShape | None) -> str | None:
        return out_of_range(value, 0, 51, " (H.264's range)")
