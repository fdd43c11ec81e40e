"""Opus target bitrate: the microphone's main bandwidth/quality trade-off."""

from __future__ import annotations

import dataclasses

from oneadapt.knobs.base import Knob, Stage, StreamShape, Value, out_of_range

BITRATES: tuple[int, ...] = (32000, 24000, 16000, 12000, 8000, 6000)
"""bit/s, most expensive first (libopus's speech range)."""


class Bitrate(Knob):
    """Opus target bitrate in bit/s (VoIP mode); lower is cheaper."""

    name = "bitrate"
    stage = Stage.ENCODER
    title = "Opus bitrate"
    example = "32000,16000,8000"
    cheaper_upward = False
    default_rank = 1
    modality = "audio"

    @classmethod
    def defaults(cls, stream: StreamShape) -> tuple[Value, ...]:
        return BITRATES

    @classmethod
    def problem(cls, value: Value, stream: StreamShape | None) -> str | None:
        return out_of_range(value, 6000, 510000, " (Opus's range, bit/s)")

    @classmethod
    def apply(cls, value: Value, plan: object) -> object:
        return dataclasses.replace(plan, bitrate=int(value))  # type: ignore[type-var]

    @classmethod
    def label(cls, value: Value) -> str:
        return f"{value / 1000:g}kbps"
