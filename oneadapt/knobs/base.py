"""What a knob is: an ordered value list (expensive -> cheap) that validates its own values
and says where in the camera's pipeline it acts.

Every knob is a subclass of :class:`Knob` in its own module of this package (found by
:mod:`oneadapt.knobs.registry`); everything that lists knobs (spaces, tables, plots, Parquet
columns, grids, the CLI's ``--knob``) iterates over them, so adding a knob is adding a module.
The gradient policy moves along each knob's list through a continuous position ``x`` in
(0, 1] (1 = most expensive value).
"""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from oneadapt.errors import ConfigurationError

Value = int | float
"""A knob value (kept as the knob's own type: QP 30, an I/P factor 0.71)."""


class Stage(enum.Enum):
    """Where a knob acts on a segment. A knob changes one :class:`EncodePlan` field group:
    encoder parameters (``options``), scaling (``width``, ``height``), temporal sampling
    (``rate``, ``sent``), frame filtering (``filters``, which narrow ``sent``) or the
    region-of-interest map (``high_quality``)."""

    ENCODER = "encoder parameter"
    SCALING = "scaling"
    CROP = "crop"
    TEMPORAL = "temporal sampling"
    FRAME_FILTER = "frame filter"
    ROI = "ROI map"

    @property
    def selects_frames(self) -> bool:
        """Whether the knob decides which frames are sent: its cost is outputs reused on
        unsent frames, not a distorted picture."""
        return self in (Stage.TEMPORAL, Stage.FRAME_FILTER)


@dataclass(frozen=True)
class StreamShape:
    """What a knob's valid values depend on: the raw stream's height and the analysis frame
    rate (a segment's frames per second)."""

    height: int
    fps: int


@dataclass(frozen=True)
class EncodePlan:
    """How the camera encodes one segment: the knobs of a configuration each change their
    part of it, starting from the raw segment (all frames, full size, x264 defaults)."""

    width: int
    height: int
    rate: int
    """Frames per second of the encoded stream."""
    sent: np.ndarray
    """Indices of the segment's frames that are encoded."""
    options: Mapping[str, str]
    """libx264 options (PyAV codec options)."""
    frames: int
    """Frames in the raw segment."""
    fps: int
    """Frames per second of the raw segment."""
    filters: Mapping[str, float]
    """Frame-filter thresholds by feature (:mod:`oneadapt.media.frame_filter`); of the
    frames ``rate`` keeps, those that differ too little from the last sent one are not sent."""
    blocks: tuple[int, int]
    """The raw frame's grid of 16x16 blocks (rows, columns): that of ``saliency`` and
    ``high_quality``."""
    saliency: np.ndarray | None = None
    """How much each 16x16 block of the raw frame matters to the DNN (on the grid ``blocks``,
    e.g. the server's last DNNGrad map), for knobs that spend quality by region; None: the
    camera has no such map yet."""
    high_quality: np.ndarray | None = None
    """Which 16x16 blocks of the raw frame keep the encoder's quality (bool, the grid of
    ``saliency``); the others are coded coarser (:mod:`oneadapt.media.roi`). None: no
    region-of-interest coding at all (the encoder's usual rate control)."""


@dataclass(frozen=True)
class Knob:
    """One knob of a space: its values, most expensive first. Subclasses say which knob.

    The class attributes describe the knob; the instance holds the values a space uses.
    """

    values: tuple[Value, ...]

    name: ClassVar[str]
    """Its key in a :class:`Configuration` and its column in every table."""
    stage: ClassVar[Stage]
    title: ClassVar[str]
    """How error messages and axes name it."""
    flag: ClassVar[str | None] = None
    """A command-line shorthand for ``--knob NAME=...`` (``--qp``), if any."""
    example: ClassVar[str]
    """A value list for help and error messages, e.g. ``20,30,40``."""
    convert: ClassVar[type] = int
    """The type of its values (``int(text)`` or ``float(text)`` parses one)."""
    cheaper_upward: ClassVar[bool] = True
    """Whether a larger value is cheaper (QP) rather than dearer (height)."""
    default_rank: ClassVar[int | None] = None
    """Its place in the default space; None: only in a space that asks for it."""
    modality: ClassVar[str] = "video"
    """The sensor whose segments it acts on (:mod:`oneadapt.media.modality`)."""
    may_blind: ClassVar[bool] = True
    """Whether its cheapest value may leave the DNN unable to see new content (then the
    gradient policy only probes that value, :func:`~oneadapt.adapt.gradient_policy.
    floor_position`)."""

    def __post_init__(self) -> None:
        if len(self.values) == 0:
            raise ConfigurationError(f"knob {self.name} has no values.", "Give at least one value.")
        if len(set(self.values)) != len(self.values):
            raise ConfigurationError(
                f"knob {self.name} lists a value twice: {list(self.values)}.",
                "Give each value once.",
            )

    # What a subclass defines.

    @classmethod
    def defaults(cls, stream: StreamShape) -> tuple[Value, ...]:
        """The values of a space that names the knob without values."""
        raise NotImplementedError

    @classmethod
    def problem(cls, value: Value, stream: StreamShape | None) -> str | None:
        """What is wrong with ``value`` (None: nothing); ``stream`` None checks only what
        holds for every stream."""
        raise NotImplementedError

    @classmethod
    def apply(cls, value: Value, plan: Any) -> Any:
        """``plan`` with this knob at ``value`` (the modality's plan: an :class:`EncodePlan`
        for video)."""
        raise NotImplementedError

    @classmethod
    def label(cls, value: Value) -> str:
        """The value in a configuration's short label."""
        return f"{cls.name}{value:g}"

    # Shared by every knob.

    @classmethod
    def option(cls) -> str:
        """The command-line option that sets it."""
        return cls.flag or f"--knob {cls.name}"

    @classmethod
    def usage(cls) -> str:
        """An example of that option."""
        return f"{cls.flag} {cls.example}" if cls.flag else f"--knob {cls.name}={cls.example}"

    @classmethod
    def check(cls, value: Value, stream: StreamShape | None = None) -> Value:
        """``value`` if it is valid (:meth:`problem`), else a :class:`ConfigurationError`."""
        problem = cls.problem(value, stream)
        if problem is not None:
            raise ConfigurationError(
                f"{cls.title} {value} is invalid: {problem}.", f"Write e.g. {cls.usage()}."
            )
        return value

    @classmethod
    def parse(cls, text: str) -> Value:
        """One value from text (ValueError if it is not a number of the knob's type)."""
        return cls.convert(text)

    @classmethod
    def build(cls, stream: StreamShape, values: Sequence[Value] | None = None) -> Knob:
        """The knob over ``values`` (None: :meth:`defaults`), each checked, expensive first."""
        chosen = tuple(values) if values else cls.defaults(stream)
        for value in chosen:
            cls.check(value, stream)
        return cls(tuple(sorted(chosen, reverse=not cls.cheaper_upward)))

    def index(self, value: Value) -> int:
        try:
            return self.values.index(value)
        except ValueError:
            raise ConfigurationError(
                f"{value} is not a value of knob {self.name} {list(self.values)}.",
                "Pick one of the listed values.",
            ) from None

    def position(self, value: Value) -> float:
        """Map a value to x in (0, 1]: 1 for the most expensive value, 1/len for the cheapest."""
        return 1.0 - self.index(value) / len(self.values)

    def value_at(self, x: float) -> Value:
        """Inverse of :meth:`position`, rounding to the nearest list entry."""
        n = len(self.values)
        i = round((1.0 - x) * n)
        return self.values[min(max(i, 0), n - 1)]

    def cheaper(self, value: Value) -> Value | None:
        """The next cheaper value, or None at the cheap end."""
        i = self.index(value)
        return self.values[i + 1] if i + 1 < len(self.values) else None

    def with_values(self, values: Sequence[Value]) -> Knob:
        """The same knob over other values of its list (a downsampled grid)."""
        return dataclasses.replace(self, values=tuple(values))


def out_of_range(value: Value, low: Value, high: Value, why: str = "") -> str | None:
    """The problem of a value outside ``low..high`` (NaN included), else None."""
    if low <= value <= high:
        return None
    return f"outside {low}..{high}{why}"
