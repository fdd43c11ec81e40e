"""Resolution: the height the camera scales each frame to before encoding (aspect kept)."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

from oneadapt.knobs.base import EncodePlan, Knob, Stage, StreamShape, Value

RESOLUTION_SCALES: tuple[float, ...] = (1.0, 0.75, 0.5, 0.375, 0.25)
MIN_HEIGHT = 16
"""The smallest height a configuration may have (one macroblock row)."""


def even(n: float) -> int:
    """Round down to an even integer >= 2 (H.264 with 4:2:0 needs even sizes)."""
    return max(2, int(n) // 2 * 2)


def resolution_ladder(
    source_height: int, scales: Sequence[float] = RESOLUTION_SCALES
) -> tuple[int, ...]:
    """Heights from the source height down to about a quarter of it, even, distinct."""
    heights: list[int] = []
    for s in scales:
        h = even(source_height * s)
        if h not in heights and (h >= MIN_HEIGHT or not heights):
            heights.append(h)
    return tuple(heights)


def output_size(width: int, height: int, target_height: int) -> tuple[int, int]:
    """Encoded (width, height) for a target height: even dimensions, aspect kept."""
    h = even(min(target_height, height))
    return even(width * h / height), h


class Height(Knob):
    """Output height in pixels; smaller is cheaper."""

    name = "height"
    stage = Stage.SCALING
    title = "height"
    flag = "--res"
    example = "720,540,360"
    cheaper_upward = False
    default_rank = 1

    @classmethod
    def defaults(cls, stream: StreamShape) -> tuple[Value, ...]:
        return resolution_ladder(stream.height)

    @classmethod
    def problem(cls, value: Value, stream: StreamShape | None) -> str | None:
        highest = stream.height if stream else None
        if value < MIN_HEIGHT or value % 2 or (highest is not None and value > highest):
            source = f" of a {highest}-pixel-high source" if highest else ""
            return f"not an even height from {MIN_HEIGHT} to the height{source}"
        return None

    @classmethod
    def apply(cls, value: Value, plan: EncodePlan) -> EncodePlan:
        width, height = output_size(plan.width, plan.height, int(value))
        return dataclasses.replace(plan, width=width, height=height)

    @classmethod
    def label(cls, value: Value) -> str:
        return f"{value}p"
