"""Knobs that are libx264 options, passed through PyAV's codec options."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import ClassVar

from oneadapt.knobs.base import EncodePlan, Knob, Stage, Value

B_FRAMES: Mapping[str, str] = {"bf": "3"}
"""What a knob that shapes B-frames adds: the camera's ``tune=zerolatency`` turns B-frames
off, and without them such a knob changes nothing. B-frames add no latency here, since every
1-second segment is encoded whole."""


class EncoderKnob(Knob):
    """A knob that sets one libx264 option (``option_name``) to its value."""

    stage = Stage.ENCODER
    option_name: ClassVar[str]
    requires: ClassVar[Mapping[str, str]] = {}
    """Other options the knob only acts with (:data:`B_FRAMES`)."""

    @classmethod
    def apply(cls, value: Value, plan: EncodePlan) -> EncodePlan:
        options = {**plan.options, **cls.requires, cls.option_name: str(value)}
        return dataclasses.replace(plan, options=options)
