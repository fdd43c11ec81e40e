"""Configuration knobs: ordered value lists (expensive -> cheap) and their product space.

A :class:`Configuration` is one value per knob. The gradient policy moves along each
knob's list through a continuous position ``x`` in (0, 1] (1 = most expensive value).
"""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from oneadapt.errors import ConfigurationError

DEFAULT_QPS: tuple[int, ...] = (20, 25, 30, 35, 40, 45, 50)
DEFAULT_FPS: tuple[int, ...] = (10, 5, 3, 2, 1)
RESOLUTION_SCALES: tuple[float, ...] = (1.0, 0.75, 0.5, 0.375, 0.25)
MIN_HEIGHT = 16
"""The smallest height a configuration may have (one macroblock row)."""
PRESETS = ("ultrafast", "superfast", "veryfast", "faster", "fast", "medium", "slow")


@dataclass(frozen=True, order=True)
class Configuration:
    """What the camera does with one segment: H.264 QP, output height, frames per second."""

    qp: int
    height: int
    fps: int
    preset: str = "veryfast"

    def with_knob(self, name: str, value: int) -> Configuration:
        return dataclasses.replace(self, **{name: value})

    def label(self) -> str:
        return f"qp{self.qp}/{self.height}p/{self.fps}fps"


@dataclass(frozen=True)
class Knob:
    """One knob: its name (a :class:`Configuration` field) and values, expensive first."""

    name: str
    values: tuple[int, ...]

    def __post_init__(self) -> None:
        if len(self.values) == 0:
            raise ConfigurationError(f"knob {self.name} has no values.", "Give at least one value.")
        if len(set(self.values)) != len(self.values):
            raise ConfigurationError(
                f"knob {self.name} lists a value twice: {list(self.values)}.",
                "Give each value once.",
            )

    def index(self, value: int) -> int:
        try:
            return self.values.index(value)
        except ValueError:
            raise ConfigurationError(
                f"{value} is not a value of knob {self.name} {list(self.values)}.",
                "Pick one of the listed values.",
            ) from None

    def position(self, value: int) -> float:
        """Map a value to x in (0, 1]: 1 for the most expensive value, 1/len for the cheapest."""
        return 1.0 - self.index(value) / len(self.values)

    def value_at(self, x: float) -> int:
        """Inverse of :meth:`position`, rounding to the nearest list entry."""
        n = len(self.values)
        i = round((1.0 - x) * n)
        return self.values[min(max(i, 0), n - 1)]

    def cheaper(self, value: int) -> int | None:
        """The next cheaper value, or None at the cheap end."""
        i = self.index(value)
        return self.values[i + 1] if i + 1 < len(self.values) else None


def even(n: float) -> int:
    """Round down to an even integer >= 2 (H.264 with 4:2:0 needs even sizes)."""
    return max(2, int(n) // 2 * 2)


def resolution_ladder(source_height: int, scales: Sequence[float] = RESOLUTION_SCALES) -> tuple:
    """Heights from the source height down to about a quarter of it, even, distinct."""
    heights: list[int] = []
    for s in scales:
        h = even(source_height * s)
        if h not in heights and (h >= MIN_HEIGHT or not heights):
            heights.append(h)
    return tuple(heights)


@dataclass(frozen=True)
class ConfigSpace:
    """The knobs of one stream; the first value of every knob is the reference configuration."""

    qp: Knob
    height: Knob
    fps: Knob
    preset: str = "veryfast"

    @classmethod
    def default(
        cls,
        source_height: int,
        analysis_fps: int = 10,
        qps: Sequence[int] | None = None,
        heights: Sequence[int] | None = None,
        fps: Sequence[int] | None = None,
        preset: str = "veryfast",
    ) -> ConfigSpace:
        """Validated space for a source; ``None`` lists take the defaults."""
        qps = tuple(qps) if qps else DEFAULT_QPS
        heights = tuple(heights) if heights else resolution_ladder(source_height)
        fps_values = tuple(fps) if fps else tuple(f for f in DEFAULT_FPS if f <= analysis_fps)
        for q in qps:
            if not 0 <= q <= 51:
                raise ConfigurationError(
                    f"QP {q} is outside H.264's range 0..51.", "Use --qp 0..51."
                )
        for h in heights:
            if h < MIN_HEIGHT or h > source_height or h % 2:
                raise ConfigurationError(
                    f"height {h} is invalid for a {source_height}-pixel-high source.",
                    f"Use --res with even heights between {MIN_HEIGHT} and {source_height}.",
                )
        for f in fps_values:
            if not 1 <= f <= analysis_fps:
                raise ConfigurationError(
                    f"frame rate {f} is outside 1..{analysis_fps} (the analysis frame rate).",
                    f"Use --fps values between 1 and {analysis_fps}.",
                )
        if preset not in PRESETS:
            raise ConfigurationError(f"unknown x264 preset {preset!r}.", f"Use one of {PRESETS}.")
        # Expensive first: low QP, high resolution, high frame rate.
        return cls(
            qp=Knob("qp", tuple(sorted(qps))),
            height=Knob("height", tuple(sorted(heights, reverse=True))),
            fps=Knob("fps", tuple(sorted(fps_values, reverse=True))),
            preset=preset,
        )

    @property
    def knobs(self) -> tuple[Knob, ...]:
        return (self.qp, self.height, self.fps)

    def knob(self, name: str) -> Knob:
        return {k.name: k for k in self.knobs}[name]

    @property
    def reference(self) -> Configuration:
        return Configuration(
            self.qp.values[0], self.height.values[0], self.fps.values[0], self.preset
        )

    def grid(self) -> Iterator[Configuration]:
        for q, h, f in itertools.product(*(k.values for k in self.knobs)):
            yield Configuration(q, h, f, self.preset)

    def size(self) -> int:
        return len(self.qp.values) * len(self.height.values) * len(self.fps.values)

    def validate(self, config: Configuration) -> Configuration:
        for k in self.knobs:
            k.index(getattr(config, k.name))
        return config


def parse_fixed(spec: str, preset: str = "veryfast") -> Configuration:
    """``fixed:QP/HEIGHT/FPS`` (e.g. ``fixed:30/240/5``) -> that configuration.

    Here, beside :class:`Configuration`, rather than with the baselines, because the camera
    parses its ``--policy`` with it and must not import torch, which the baselines do."""
    _, _, body = spec.partition(":")
    parts = body.split("/") if body.isascii() else []  # int() refuses e.g. "²"
    if not spec.startswith("fixed:") or len(parts) != 3 or not all(p.isdigit() for p in parts):
        raise ConfigurationError(
            f"{spec!r} is not a fixed-configuration policy.",
            "Write fixed:QP/HEIGHT/FPS, e.g. fixed:30/240/5.",
        )
    qp, height, fps = (int(p) for p in parts)
    if not 0 <= qp <= 51 or height < MIN_HEIGHT or height % 2 or fps < 1:
        raise ConfigurationError(
            f"{spec!r} has an invalid value.",
            "Use a QP in 0..51, an even height >= 16 and a frame rate >= 1.",
        )
    return Configuration(qp, height, fps, preset)
