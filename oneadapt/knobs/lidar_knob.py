"""Knobs that set one field of a LiDAR scan's coding (:class:`~oneadapt.media.lidar_codec.
LidarSettings`): their value lists are ``LIDAR_KNOB_VALUES`` and their validation is the
settings'; both are imported when used, since the codec pulls in torch and the knob
registry must not (the camera imports it)."""

from __future__ import annotations

import math
from typing import ClassVar

from oneadapt.errors import ConfigurationError
from oneadapt.knobs.base import Knob, StreamShape, Value


class LidarKnob(Knob):
    """A knob that is the ``field`` of ``LidarSettings``."""

    modality = "lidar"
    field: ClassVar[str]

    @classmethod
    def defaults(cls, stream: StreamShape) -> tuple[Value, ...]:
        from oneadapt.media.lidar_codec import LIDAR_KNOB_VALUES

        return LIDAR_KNOB_VALUES[cls.field]

    @classmethod
    def problem(cls, value: Value, stream: StreamShape | None) -> str | None:
        from oneadapt.media.lidar_codec import LidarSettings

        if not math.isfinite(value):
            return "not a finite number"
        try:
            LidarSettings().replace(**{cls.field: value})
        except ConfigurationError as exc:  # its fix says what is valid
            return exc.fix[0].lower() + exc.fix[1:].rstrip(".")
        return None

    @classmethod
    def apply(cls, value: Value, plan: object) -> object:
        return plan.replace(**{cls.field: value})  # type: ignore[attr-defined]
