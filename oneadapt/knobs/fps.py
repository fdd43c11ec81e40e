"""Frame rate: how many of a segment's frames per second the camera encodes and sends; an
unsent frame reuses the last sent frame's output on the server."""

from __future__ import annotations

import dataclasses
import math

import numpy as np

from oneadapt.knobs.base import EncodePlan, Knob, Stage, StreamShape, Value, out_of_range

DEFAULT_FPS: tuple[int, ...] = (10, 5, 3, 2, 1)


def sent_frames(num_frames: int, analysis_fps: int, fps: int) -> np.ndarray:
    """Indices of the frames kept when subsampling ``analysis_fps`` to ``fps``, evenly spaced."""
    count = max(1, min(num_frames, round(num_frames * fps / analysis_fps)))
    return np.unique(np.floor(np.arange(count) * num_frames / count).astype(int))


class FrameRate(Knob):
    """Frames per second sent, at most the analysis frame rate; fewer is cheaper."""

    name = "fps"
    stage = Stage.TEMPORAL
    title = "frame rate"
    flag = "--fps"
    example = "10,5,2,1"
    cheaper_upward = False
    default_rank = 2

    @classmethod
    def defaults(cls, stream: StreamShape) -> tuple[Value, ...]:
        return tuple(f for f in DEFAULT_FPS if f <= stream.fps)

    @classmethod
    def problem(cls, value: Value, stream: StreamShape | None) -> str | None:
        if stream is None:
            return out_of_range(value, 1, math.inf)
        return out_of_range(value, 1, stream.fps, " (the analysis frame rate)")

    @classmethod
    def apply(cls, value: Value, plan: EncodePlan) -> EncodePlan:
        rate = int(value)
        return dataclasses.replace(plan, rate=rate, sent=sent_frames(plan.frames, plan.fps, rate))

    @classmethod
    def label(cls, value: Value) -> str:
        return f"{value}fps"
