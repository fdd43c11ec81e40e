"""A configuration: what the camera does with one segment, one value per knob."""

from __future__ import annotations

from collections.abc import Iterator, Mapping

from oneadapt.knobs.base import Value
from oneadapt.knobs.registry import knob_type


class Configuration(Mapping[str, Value]):
    """An immutable mapping from knob name to value, e.g. ``Configuration(qp=30, height=240,
    fps=5)``. Hashable (policies memoise and compare configurations); two are equal when they
    give the same knobs the same values."""

    __slots__ = ("_values",)

    def __init__(self, values: Mapping[str, Value] | None = None, /, **named: Value) -> None:
        self._values: dict[str, Value] = {**(values or {}), **named}

    def __getitem__(self, name: str) -> Value:
        return self._values[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)

    def __hash__(self) -> int:
        return hash(frozenset(self._values.items()))

    def __repr__(self) -> str:
        return f"Configuration({', '.join(f'{k}={v!r}' for k, v in self.items())})"

    def with_knob(self, name: str, value: Value) -> Configuration:
        """The same configuration with knob ``name`` (which it has) at ``value``."""
        if name not in self._values:
            raise KeyError(name)
        return Configuration(self._values, **{name: value})

    def label(self) -> str:
        """Short text for progress lines and tables, e.g. ``qp30/240p/5fps``."""
        return "/".join(knob_type(name).label(value) for name, value in self.items())
