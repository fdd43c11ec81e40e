"""Audio sample rate: the microphone resamples each second before Opus codes it; narrowband
(8 kHz) drops everything above 4 kHz, where fricatives live."""

from __future__ import annotations

import dataclasses

from oneadapt.knobs.base import Knob, Stage, StreamShape, Value

RATES: tuple[int, ...] = (16000, 8000)
"""The rates both Opus and Silero VAD take, most expensive first."""


class SampleRate(Knob):
    """Samples per second sent (Hz); fewer is cheaper."""

    name = "sample_rate"
    stage = Stage.SCALING
    title = "sample rate"
    example = "16000,8000"
    cheaper_upward = False
    default_rank = 0
    modality = "audio"
    may_blind = False  # narrowband speech is still speech to the VAD (its own 8 kHz network)

    @classmethod
    def defaults(cls, stream: StreamShape) -> tuple[Value, ...]:
        return RATES

    @classmethod
    def problem(cls, value: Value, stream: StreamShape | None) -> str | None:
        return None if value in RATES else f"not one of {', '.join(map(str, RATES))} Hz"

    @classmethod
    def apply(cls, value: Value, plan: object) -> object:
        return dataclasses.replace(plan, sample_rate=int(value))  # type: ignore[type-var]

    @classmethod
    def label(cls, value: Value) -> str:
        return f"{value / 1000:g}kHz"
