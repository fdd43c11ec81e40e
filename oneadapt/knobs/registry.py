"""Every knob the project has, found by importing each module of this package: a new knob
is a new module, and nothing else has to list it."""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Mapping
from functools import cache
from typing import TypeVar

from oneadapt.errors import ConfigurationError
from oneadapt.knobs.base import Knob, StreamShape, Value

PlanT = TypeVar("PlanT")

PACKAGE = __name__.rpartition(".")[0]


@cache
def knob_types() -> dict[str, type[Knob]]:
    """Knob classes by name: the default space's in their order, then the others by name."""
    package = importlib.import_module(PACKAGE)
    for module in pkgutil.iter_modules(package.__path__):
        importlib.import_module(f"{PACKAGE}.{module.name}")
    found: dict[str, type[Knob]] = {}
    pending = list(Knob.__subclasses__())
    while pending:
        kind = pending.pop()
        pending.extend(kind.__subclasses__())
        if "name" in vars(kind) and kind.__module__.startswith(f"{PACKAGE}."):
            found[kind.name] = kind
    ranked = sorted(
        found.values(), key=lambda k: (k.default_rank is None, k.default_rank or 0, k.name)
    )
    return {k.name: k for k in ranked}


def knob_type(name: str) -> type[Knob]:
    """The knob called ``name``, or a :class:`ConfigurationError` listing the known ones."""
    try:
        return knob_types()[name]
    except KeyError:
        raise ConfigurationError(
            f"unknown knob {name!r}.", f"Use one of {', '.join(knob_types())}."
        ) from None


def default_knobs(modality: str = "video") -> list[type[Knob]]:
    """The knobs of a ``modality``'s space that names no others, in their order."""
    return [
        k for k in knob_types().values() if k.default_rank is not None and k.modality == modality
    ]


def apply_knobs(
    config: Mapping[str, Value], plan: PlanT, stream: StreamShape | None = None
) -> PlanT:
    """``plan`` with every knob of ``config`` applied in turn, each value checked first: how
    every modality turns a configuration into its coding plan."""
    for name, value in config.items():
        kind = knob_type(name)
        plan = kind.apply(kind.check(value, stream), plan)
    return plan
