"""A stream's configuration space: its knobs, and the configurations they span."""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass

from oneadapt.errors import ConfigurationError
from oneadapt.knobs.base import Knob, StreamShape, Value
from oneadapt.knobs.configuration import Configuration
from oneadapt.knobs.registry import default_knobs, knob_type, knob_types

KnobLists = Mapping[str, Sequence[Value] | None]
"""Values per knob name, as a command line gives them (None: the knob's defaults)."""


@dataclass(frozen=True)
class ConfigSpace:
    """The knobs of one stream; the first value of every knob is the reference configuration."""

    knobs: tuple[Knob, ...]

    def __post_init__(self) -> None:
        names = [k.name for k in self.knobs]
        if len(set(names)) != len(names):
            raise ConfigurationError(f"a space names a knob twice: {names}.", "Name each once.")

    @classmethod
    def default(
        cls, source_height: int, analysis_fps: int = 10, **values: Sequence[Value] | None
    ) -> ConfigSpace:
        """:meth:`build` for a source ``source_height`` pixels high analysed at
        ``analysis_fps``; knob value lists by name, e.g. ``qp=(20, 30)``."""
        return cls.build(StreamShape(source_height, analysis_fps), values)

    @classmethod
    def build(
        cls, stream: StreamShape, values: KnobLists | None = None, modality: str = "video"
    ) -> ConfigSpace:
        """The ``modality``'s default knobs, then any other knob ``values`` names, in the
        order given; every value checked for ``stream``, each knob's list sorted expensive
        first. A knob of another modality is a :class:`ConfigurationError`."""
        values = values or {}
        kinds = default_knobs(modality)
        kinds += [knob_type(name) for name in values if knob_type(name) not in kinds]
        knobs = tuple(kind.build(stream, values.get(kind.name)) for kind in kinds)
        foreign = [k.name for k in kinds if k.modality != modality]
        if foreign:
            own = [k.name for k in knob_types().values() if k.modality == modality]
            raise ConfigurationError(
                f"knob(s) {', '.join(foreign)} do not act on {modality} sources.",
                f"Use the {modality} knobs: {', '.join(own)}.",
            )
        return cls(knobs)

    @property
    def names(self) -> tuple[str, ...]:
        """The knobs' names: the configuration columns of every table."""
        return tuple(k.name for k in self.knobs)

    def knob(self, name: str) -> Knob:
        return {k.name: k for k in self.knobs}[name]

    @property
    def reference(self) -> Configuration:
        return Configuration({k.name: k.values[0] for k in self.knobs})

    def grid(self) -> Iterator[Configuration]:
        for values in itertools.product(*(k.values for k in self.knobs)):
            yield Configuration(dict(zip(self.names, values, strict=True)))

    def size(self) -> int:
        return math.prod(len(k.values) for k in self.knobs)

    def validate(self, config: Configuration) -> Configuration:
        """``config`` if it gives every knob of the space one of its values."""
        if set(config) != set(self.names):
            raise ConfigurationError(
                f"configuration {config.label()} does not set the knobs {list(self.names)}.",
                "Give one value to every knob of the space.",
            )
        for k in self.knobs:
            k.index(config[k.name])
        return config

    def fixed(self, config: Configuration) -> Configuration:
        """A ``fixed:`` policy's configuration (:func:`parse_fixed`), the knobs it does not
        name at the reference's values; a knob the space lacks (another sensor's, or one the
        run does not vary) is refused rather than silently dropped."""
        foreign = [name for name in config if name not in self.names]
        if foreign:
            raise ConfigurationError(
                f"fixed: names knob(s) {', '.join(foreign)}, which this run does not have.",
                f"Name knobs of its space: {', '.join(self.names)}.",
            )
        return self.complete(config)

    def complete(self, config: Configuration) -> Configuration:
        """``config`` with the knobs of the space it does not set at the reference's values."""
        return Configuration({**self.reference, **config})


def parse_fixed(spec: str) -> Configuration:
    """``fixed:NAME=VALUE,...`` (e.g. ``fixed:bitrate=16000,sample_rate=8000``), or for the
    default video knobs ``fixed:QP/HEIGHT/FPS`` (``fixed:30/240/5``): known knobs, each once,
    each value valid on some stream. Which knobs a run has is its space's to check
    (:meth:`ConfigSpace.fixed`): the spec is parsed before any source is opened.

    Here, beside :class:`Configuration`, rather than with the baselines, because the camera
    parses its ``--policy`` with it and must not import torch, which the baselines do."""
    usage = (
        "Write fixed:NAME=VALUE,... (e.g. fixed:qp=30,height=240,fps=5 or "
        "fixed:bitrate=16000,sample_rate=8000) or fixed:QP/HEIGHT/FPS (e.g. fixed:30/240/5)."
    )
    prefix, _, body = spec.partition(":")
    if "=" in body:
        items = [item.partition("=") for item in body.split(",")]
        pairs = [(name, text) for name, equals, text in items if equals]
        pairs = pairs if len(pairs) == len(items) else []
    else:  # the shorthand: the default video knobs' values, in their order
        shorthand, parts = default_knobs(), body.split("/")
        pairs = [(k.name, part) for k, part in zip(shorthand, parts, strict=False)]
        pairs = pairs if len(parts) == len(shorthand) else []
    if prefix != "fixed" or not pairs:
        raise ConfigurationError(f"{spec!r} is not a fixed-configuration policy.", usage)
    values: dict[str, Value] = {}
    for name, text in pairs:
        try:
            kind = knob_type(name.strip())
        except ConfigurationError as exc:
            raise ConfigurationError(f"{spec!r}: {exc.problem}", exc.fix) from None
        if kind.name in values:
            raise ConfigurationError(f"{spec!r} names knob {kind.name} twice.", usage)
        try:  # int() and float() also take other scripts' digits ("٣"): ASCII only
            values[kind.name] = kind.check(kind.parse(text if text.isascii() else "?"))
        except (ValueError, OverflowError):
            raise ConfigurationError(
                f"{spec!r}: {text.strip()!r} is not a value of knob {kind.name}.", usage
            ) from None
        except ConfigurationError as exc:
            raise ConfigurationError(
                f"{spec!r} has an invalid value: {exc.problem}", usage
            ) from None
    return Configuration(values)
